/* label_cmd.c — `hegui label verify-text` and `hegui label show-key`: check, away from the gateway, that a text and
 * its implicit label (GB 45438 Appendix E) are the ones hegui signed, from a saved API response or from the label
 * and text given apart. Exit status: 0 verified, 1 does not verify (or no label), 2 error. */
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "hegui/label.h"

#define INPUT_MAX ((size_t)256 << 20) /* a response or text file larger than this is not one hegui produced */

static char *read_whole_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    cli_error("%s: %s", path, strerror(errno));
    return NULL;
  }
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  if (!buf) cli_error("out of memory");
  while (buf) {
    n += fread(buf + n, 1, cap - n, f);
    if (n < cap || ferror(f)) break;
    if (cap >= INPUT_MAX) {
      cli_error("%s: larger than %zu MiB", path, INPUT_MAX >> 20);
      free(buf);
      buf = NULL;
      break;
    }
    char *bigger = realloc(buf, cap * 2);
    if (!bigger) {
      cli_error("out of memory");
      free(buf);
    }
    buf = bigger;
    cap *= 2;
  }
  int bad = ferror(f);
  fclose(f);
  if (buf && bad) {
    cli_error("%s: read error", path);
    free(buf);
    return NULL;
  }
  if (!buf) return NULL;
  *len = n;
  return buf;
}

/* The text an OpenAI response carries: choices[0].message.content (chat) or choices[0].text (completions). */
static const char *response_content(json_t *response, size_t *len) {
  json_t *choice = json_array_get(json_object_get(response, "choices"), 0);
  json_t *content = json_object_get(json_object_get(choice, "message"), "content");
  if (!json_is_string(content)) content = json_object_get(choice, "text");
  if (!json_is_string(content)) return NULL;
  *len = json_string_length(content);
  return json_string_value(content);
}

/* For the success line only: the verifier has already found the label, this just finds it again to name it. */
static json_t *find_label_for_display(json_t *node, int depth) {
  if (depth > 4 || !json_is_object(node)) return NULL;
  if (json_object_get(node, "Label")) return node;
  const char *key;
  json_t *value;
  json_object_foreach(node, key, value) {
    for (const char *p = key; *p; p++)
      if (!strncasecmp(p, "aigc", 4)) return find_label_for_display(value, depth + 1);
  }
  return NULL;
}

static void print_verified(const char *label_json, size_t label_len, size_t content_len) {
  json_t *root = json_loadb(label_json, label_len, 0, NULL);
  json_t *label = find_label_for_display(root, 0);
  const char *producer = json_string_value(json_object_get(label, "ContentProducer"));
  const char *id = json_string_value(json_object_get(label, "ProduceID"));
  if (producer && id)
    printf("label verified: ContentProducer=%s ProduceID=%s, %zu bytes of content\n", producer, id, content_len);
  else
    printf("label verified: %zu bytes of content\n", content_len);
  json_decref(root);
}

static int verify_text(int argc, char **argv) {
  const char *data_dir = NULL, *key_file = NULL, *response = NULL, *label = NULL, *text = NULL, *file = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char **slot = !strcmp(a, "--data-dir")     ? &data_dir
                        : !strcmp(a, "--public-key") ? &key_file
                        : !strcmp(a, "--response")   ? &response
                        : !strcmp(a, "--label")      ? &label
                        : !strcmp(a, "--text")       ? &text
                        : !strcmp(a, "--file")       ? &file
                                                     : NULL;
    if (!slot) {
      cli_error("label verify-text: unknown option '%s'", a);
      return EXIT_ERROR;
    }
    if (i + 1 >= argc) {
      cli_error("label verify-text: %s needs a value", a);
      return EXIT_ERROR;
    }
    *slot = argv[++i];
  }
  if (!data_dir == !key_file) {
    cli_error("label verify-text: give one of --data-dir DIR or --public-key FILE");
    return EXIT_ERROR;
  }
  if (response ? (label || text || file) : (!label || !text == !file)) {
    cli_error("label verify-text: give --response FILE, or --label JSON with one of --text TEXT or --file PATH");
    return EXIT_ERROR;
  }

  /* with --data-dir the public key is read, never created: verifying must not make a key pair appear */
  char pub_path[1024];
  if (data_dir && (size_t)snprintf(pub_path, sizeof pub_path, "%s/label.pub", data_dir) >= sizeof pub_path) {
    cli_error("%s: path too long", data_dir);
    return EXIT_ERROR;
  }
  uint8_t pk[HG_LABEL_PUBLIC_KEY_BYTES];
  hg_error err;
  hg_error_clear(&err);
  if (hg_label_public_key_read(data_dir ? pub_path : key_file, pk, &err)) {
    cli_error("%s", err.message);
    return EXIT_ERROR;
  }

  int rc = EXIT_ERROR;
  char *file_data = NULL;
  json_t *resp = NULL;
  const char *content = text, *label_json = label;
  size_t content_len = text ? strlen(text) : 0, label_len = label ? strlen(label) : 0;
  if (response) {
    if (!(file_data = read_whole_file(response, &label_len))) goto done;
    json_error_t jerr;
    resp = json_loadb(file_data, label_len, 0, &jerr);
    if (!resp) {
      cli_error("%s:%d: not JSON: %s", response, jerr.line, jerr.text);
      goto done;
    }
    if (!(content = response_content(resp, &content_len))) {
      cli_error("%s: no choices[0].message.content or choices[0].text string", response);
      goto done;
    }
    label_json = file_data; /* the verifier finds the response's "aigc" member itself */
  } else if (file) {
    if (!(file_data = read_whole_file(file, &content_len))) goto done;
    content = file_data;
  }

  hg_status st = hg_label_verify(label_json, label_len, content, content_len, pk, &err);
  if (st == HG_OK) {
    print_verified(label_json, label_len, content_len);
    rc = 0;
  } else if (st == HG_ERR_CORRUPT || st == HG_ERR_PARSE) {
    printf("label does NOT verify: %s\n", err.message);
    rc = 1;
  } else {
    cli_error("%s", err.message);
  }
done:
  json_decref(resp);
  free(file_data);
  return rc;
}

static int show_key(int argc, char **argv) {
  if (argc != 3 || strcmp(argv[1], "--data-dir") != 0) {
    cli_error("usage: hegui label show-key --data-dir DIR");
    return EXIT_ERROR;
  }
  uint8_t pk[HG_LABEL_PUBLIC_KEY_BYTES], sk[HG_LABEL_SECRET_KEY_BYTES];
  hg_error err;
  hg_error_clear(&err);
  int failed = hg_label_keys_load(argv[2], pk, sk, &err) != HG_OK;
  sodium_memzero(sk, sizeof sk);
  if (failed) {
    cli_error("%s", err.message);
    return EXIT_ERROR;
  }
  for (size_t i = 0; i < sizeof pk; i++)
    printf("%02x", pk[i]);
  putchar('\n');
  return 0;
}

int cmd_label(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "verify-text")) return verify_text(argc - 1, argv + 1);
  if (argc >= 2 && !strcmp(argv[1], "show-key")) return show_key(argc - 1, argv + 1);
  if (argc >= 2 && (!strcmp(argv[1], "add") || !strcmp(argv[1], "read") || !strcmp(argv[1], "verify")))
    return cmd_label_files(argc - 1, argv + 1);
  cli_error("usage: hegui label add|read|verify [OPTIONS] FILE... | hegui label verify-text ... | hegui label "
            "show-key --data-dir DIR (try 'hegui help')");
  return EXIT_ERROR;
}
