/* test_label.c — the implicit label of GB 45438 Appendix E as hegui writes and checks it: the seven fields in
 * order, a signature that breaks when one byte of the text, a label field or the signature changes or another
 * key checks it, the wrapped, unwrapped and in-response forms, the key files, and the value and notice rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "hegui/label.h"

static const char TEXT[] = "人工智能生成的回答：北京是中国的首都。";

typedef struct keys {
  char dir[64];
  uint8_t pk[HG_LABEL_PUBLIC_KEY_BYTES], sk[HG_LABEL_SECRET_KEY_BYTES];
} keys;

static int setup(void **state) {
  keys *k = calloc(1, sizeof *k);
  strcpy(k->dir, "/tmp/hg-label-XXXXXX");
  if (!mkdtemp(k->dir)) return -1;
  hg_error err;
  if (hg_label_keys_load(k->dir, k->pk, k->sk, &err) != HG_OK) {
    fprintf(stderr, "keys: %s\n", err.message);
    return -1;
  }
  *state = k;
  return 0;
}

static void remove_dir(const char *dir) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

static int teardown(void **state) {
  keys *k = *state;
  remove_dir(k->dir);
  free(k);
  return 0;
}

static char *make(const keys *k, const char *id, const char *text) {
  char *json = NULL;
  hg_error err;
  hg_status s = hg_label_make("hegui", id, text, strlen(text), k->sk, &json, &err);
  if (s) fail_msg("hg_label_make: %s", err.message);
  return json;
}

static hg_status verify(const keys *k, const char *json, const char *text, hg_error *err) {
  return hg_label_verify(json, strlen(json), text, strlen(text), k->pk, err);
}

/* replaces the first occurrence of from in s (which must be there) */
static char *replaced(const char *s, const char *from, const char *to) {
  const char *at = strstr(s, from);
  assert_non_null(at);
  char *out = malloc(strlen(s) + strlen(to) + 1);
  sprintf(out, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
  return out;
}

static void round_trip(void **state) {
  keys *k = *state;
  char *json = make(k, "chatcmpl-123", TEXT);
  /* Appendix E field order, Label 1, the propagator repeating the producer, an empty ReservedCode2 */
  const char *sig = strstr(json, "\"ReservedCode1\":\"");
  assert_non_null(sig);
  sig += strlen("\"ReservedCode1\":\"");
  size_t sig_len = strcspn(sig, "\"");
  assert_int_equal(sig_len, 86);
  char want[512];
  snprintf(want, sizeof want,
           "{\"Label\":\"1\",\"ContentProducer\":\"hegui\",\"ProduceID\":\"chatcmpl-123\",\"ReservedCode1\":\"%.86s\","
           "\"ContentPropagator\":\"hegui\",\"PropagateID\":\"chatcmpl-123\",\"ReservedCode2\":\"\"}",
           sig);
  assert_string_equal(json, want);
  char sig_value[87];
  memcpy(sig_value, sig, 86);
  sig_value[86] = '\0';
  assert_true(hg_label_value_valid(sig_value));

  hg_error err;
  assert_int_equal(verify(k, json, TEXT, &err), HG_OK);
  /* empty content is content too */
  char *empty = make(k, "id-empty", "");
  assert_int_equal(verify(k, empty, "", &err), HG_OK);
  assert_int_equal(verify(k, empty, " ", &err), HG_ERR_CORRUPT);
  free(empty);
  free(json);
}

static void changed_content_refused(void **state) {
  keys *k = *state;
  char *json = make(k, "chatcmpl-123", TEXT);
  char text[sizeof TEXT];
  memcpy(text, TEXT, sizeof TEXT);
  hg_error err;
  for (size_t i = 0; i < sizeof TEXT - 1; i += 7) {
    text[i] ^= 1;
    assert_int_equal(verify(k, json, text, &err), HG_ERR_CORRUPT);
    text[i] ^= 1;
  }
  assert_int_equal(hg_label_verify(json, strlen(json), TEXT, strlen(TEXT) - 1, k->pk, &err), HG_ERR_CORRUPT);
  assert_non_null(strstr(err.message, "does not match"));
  assert_int_equal(verify(k, json, TEXT, &err), HG_OK);
  free(json);
}

static void changed_fields_refused(void **state) {
  keys *k = *state;
  char *json = make(k, "chatcmpl-123", TEXT);
  hg_error err;
  static const char *const edits[][2] = {
      {"\"ProduceID\":\"chatcmpl-123\"", "\"ProduceID\":\"chatcmpl-124\""},
      {"\"Label\":\"1\"", "\"Label\":\"2\""},
      {"\"ContentProducer\":\"hegui\"", "\"ContentProducer\":\"hegu1\""},
      {"\"ContentPropagator\":\"hegui\"", "\"ContentPropagator\":\"other\""},
      {"\"PropagateID\":\"chatcmpl-123\"", "\"PropagateID\":\"x\""},
  };
  for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
    char *bad = replaced(json, edits[i][0], edits[i][1]);
    assert_int_equal(verify(k, bad, TEXT, &err), HG_ERR_CORRUPT);
    free(bad);
  }
  /* ReservedCode2 is not signed: a later hash or a propagator's note may go there */
  char *rc2 = replaced(json, "\"ReservedCode2\":\"\"", "\"ReservedCode2\":\"note\"");
  assert_int_equal(verify(k, rc2, TEXT, &err), HG_OK);
  free(rc2);
  /* a value that could change the signed message's line structure is refused before it is checked */
  char *newline = replaced(json, "\"ProduceID\":\"chatcmpl-123\"", "\"ProduceID\":\"chatcmpl\\n123\"");
  assert_int_equal(verify(k, newline, TEXT, &err), HG_ERR_CORRUPT);
  assert_non_null(strstr(err.message, "ProduceID"));
  free(newline);
  char *nul = replaced(json, "\"ProduceID\":\"chatcmpl-123\"", "\"ProduceID\":\"chatcmpl-123\\u0000x\"");
  assert_int_equal(verify(k, nul, TEXT, &err), HG_ERR_PARSE); /* jansson refuses \u0000 outright */
  free(nul);
  free(json);
}

static void changed_signature_refused(void **state) {
  keys *k = *state;
  char *json = make(k, "chatcmpl-123", TEXT);
  char *sig = strstr(json, "\"ReservedCode1\":\"") + strlen("\"ReservedCode1\":\"");
  hg_error err;
  for (size_t i = 0; i < 86; i += 5) {
    char saved = sig[i];
    sig[i] = saved == 'A' ? 'B' : 'A';
    assert_int_equal(verify(k, json, TEXT, &err), HG_ERR_CORRUPT);
    sig[i] = saved;
  }
  assert_int_equal(verify(k, json, TEXT, &err), HG_OK);
  /* truncated, empty and missing signatures */
  char *shorter = replaced(json, "\",\"ContentPropagator", "AAAA\",\"ContentPropagator");
  assert_int_equal(verify(k, shorter, TEXT, &err), HG_ERR_CORRUPT);
  free(shorter);
  char sig_copy[87];
  memcpy(sig_copy, sig, 86);
  sig_copy[86] = '\0';
  char *empty = replaced(json, sig_copy, "");
  assert_int_equal(verify(k, empty, TEXT, &err), HG_ERR_CORRUPT);
  assert_non_null(strstr(err.message, "no signature"));
  free(empty);
  /* readers also take the padded form */
  char padded[90];
  snprintf(padded, sizeof padded, "%s==", sig_copy);
  char *with_padding = replaced(json, sig_copy, padded);
  assert_int_equal(verify(k, with_padding, TEXT, &err), HG_OK);
  free(with_padding);
  free(json);
}

static void other_key_refused(void **state) {
  keys *k = *state;
  char *json = make(k, "chatcmpl-123", TEXT);
  keys *other;
  assert_int_equal(setup((void **)&other), 0);
  assert_memory_not_equal(other->pk, k->pk, sizeof k->pk);
  hg_error err;
  assert_int_equal(verify(other, json, TEXT, &err), HG_ERR_CORRUPT);
  teardown((void **)&other);
  free(json);
}

static void wrapped_and_unwrapped(void **state) {
  keys *k = *state;
  char *json = make(k, "chatcmpl-123", TEXT);
  hg_error err;
  char buf[2048];
  snprintf(buf, sizeof buf, "{\"AIGC\":%s}", json);
  assert_int_equal(verify(k, buf, TEXT, &err), HG_OK);
  snprintf(buf, sizeof buf, "  {\"AIGC\" : %s }\n", json);
  assert_int_equal(verify(k, buf, TEXT, &err), HG_OK);
  /* an OpenAI response with an "aigc" member */
  snprintf(buf, sizeof buf,
           "{\"id\":\"chatcmpl-123\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":"
           "{\"role\":\"assistant\",\"content\":\"...\"}}],\"aigc\":%s}",
           json);
  assert_int_equal(verify(k, buf, TEXT, &err), HG_OK);
  snprintf(buf, sizeof buf, "{\"id\":\"x\",\"aigc\":{\"AIGC\":%s}}", json);
  assert_int_equal(verify(k, buf, TEXT, &err), HG_OK);
  /* a carrier that stores the label as a JSON string (XMP, PNG tEXt) */
  char *escaped = malloc(strlen(json) * 2 + 1), *o = escaped;
  for (const char *p = json; *p; p++) {
    if (*p == '"') *o++ = '\\';
    *o++ = *p;
  }
  *o = '\0';
  snprintf(buf, sizeof buf, "{\"AIGC\":\"%s\"}", escaped);
  free(escaped);
  assert_int_equal(verify(k, buf, TEXT, &err), HG_OK);
  free(json);

  /* things that are not one label */
  static const char *const not_labels[] = {
      "",
      "not json",
      "[1,2]",
      "\"x\"",
      "{}",
      "{\"id\":\"x\"}",
      "{\"AIGC\":5}",
      "{\"AIGC\":\"{\"}",
      "{\"AIGC\":{\"AIGC\":{\"AIGC\":{\"AIGC\":{\"AIGC\":{\"AIGC\":{}}}}}}}",
      "{\"Label\":\"1\",\"Label\":\"1\"}", /* duplicates would let two readers disagree */
      "{\"AIGC\":{},\"aigc\":{}}",
      "{\"Label\":1}",
  };
  for (size_t i = 0; i < sizeof not_labels / sizeof not_labels[0]; i++) {
    hg_status s = verify(k, not_labels[i], TEXT, &err);
    if (s != HG_ERR_PARSE) fail_msg("'%s': status %d, want HG_ERR_PARSE", not_labels[i], (int)s);
  }
}

static void value_rules(void **state) {
  (void)state;
  assert_true(hg_label_value_valid("hegui"));
  assert_true(hg_label_value_valid("chatcmpl-AbC_123.x/y:z!#$%&'()*+,;<=>?@[]^`{|}~"));
  assert_false(hg_label_value_valid(NULL));
  assert_false(hg_label_value_valid(""));
  assert_false(hg_label_value_valid("a b"));
  assert_false(hg_label_value_valid("a\"b"));
  assert_false(hg_label_value_valid("a\\b"));
  assert_false(hg_label_value_valid("合规"));
  assert_false(hg_label_value_valid("caf\xC3\xA9"));
  assert_false(hg_label_value_valid("a\nb"));
  assert_false(hg_label_value_valid("a\tb"));
  assert_false(hg_label_value_valid("a\x7F"));
  char longest[258];
  memset(longest, 'x', 256);
  longest[256] = '\0';
  assert_true(hg_label_value_valid(longest));
  longest[256] = 'x';
  longest[257] = '\0';
  assert_false(hg_label_value_valid(longest));

  /* writers are strict */
  keys k;
  memset(k.sk, 0, sizeof k.sk);
  char *json = (char *)1;
  hg_error err;
  assert_int_equal(hg_label_make("he gui", "id", "t", 1, k.sk, &json, &err), HG_ERR_INVALID);
  assert_null(json);
  assert_non_null(strstr(err.message, "ContentProducer"));
  assert_int_equal(hg_label_make("hegui", "", "t", 1, k.sk, &json, &err), HG_ERR_INVALID);
  assert_non_null(strstr(err.message, "ProduceID"));
  assert_int_equal(hg_label_make("hegui", "id\"", "t", 1, k.sk, &json, &err), HG_ERR_INVALID);
}

static void notice_rules(void **state) {
  (void)state;
  assert_true(hg_label_notice_valid("本内容由人工智能生成"));
  assert_true(hg_label_notice_valid("AI合成"));
  assert_true(hg_label_notice_valid("以上内容由AI生成，仅供参考"));
  assert_true(hg_label_notice_valid("人工智能合成内容"));
  assert_false(hg_label_notice_valid("由模型生成"));
  assert_false(hg_label_notice_valid("本内容由人工智能提供"));
  assert_false(hg_label_notice_valid("ai生成")); /* the standard's wording is "AI" */
  assert_false(hg_label_notice_valid(""));
  assert_false(hg_label_notice_valid(NULL));
  assert_false(hg_label_notice_valid("AI\xFF生成"));
}

static void key_files(void **state) {
  keys *k = *state;
  char path[128];
  struct stat st;
  snprintf(path, sizeof path, "%s/label.key", k->dir);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(st.st_size, HG_LABEL_SECRET_KEY_BYTES);
  snprintf(path, sizeof path, "%s/label.pub", k->dir);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_size, HG_LABEL_PUBLIC_KEY_BYTES);

  /* loading again gives the same pair */
  uint8_t pk[HG_LABEL_PUBLIC_KEY_BYTES], sk[HG_LABEL_SECRET_KEY_BYTES];
  hg_error err;
  assert_int_equal(hg_label_keys_load(k->dir, pk, sk, &err), HG_OK);
  assert_memory_equal(pk, k->pk, sizeof pk);
  assert_memory_equal(sk, k->sk, sizeof sk);
  assert_int_equal(hg_label_public_key_read(path, pk, &err), HG_OK);
  assert_memory_equal(pk, k->pk, sizeof pk);

  /* the public key as hex, as `hegui label show-key` prints it */
  char hex_path[128];
  snprintf(hex_path, sizeof hex_path, "%s/pub.hex", k->dir);
  FILE *f = fopen(hex_path, "w");
  for (size_t i = 0; i < sizeof pk; i++)
    fprintf(f, "%02X", k->pk[i]);
  fputc('\n', f);
  fclose(f);
  memset(pk, 0, sizeof pk);
  assert_int_equal(hg_label_public_key_read(hex_path, pk, &err), HG_OK);
  assert_memory_equal(pk, k->pk, sizeof pk);
  f = fopen(hex_path, "w");
  fputs("not a key\n", f);
  fclose(f);
  assert_int_equal(hg_label_public_key_read(hex_path, pk, &err), HG_ERR_PARSE);
  snprintf(hex_path, sizeof hex_path, "%s/missing.pub", k->dir);
  assert_int_not_equal(hg_label_public_key_read(hex_path, pk, &err), HG_OK);

  /* a lost label.pub is written again from the secret key */
  assert_int_equal(unlink(path), 0);
  assert_int_equal(hg_label_keys_load(k->dir, pk, sk, &err), HG_OK);
  assert_memory_equal(pk, k->pk, sizeof pk);
  assert_int_equal(stat(path, &st), 0);

  /* a key readable by others is refused */
  char key_path[128];
  snprintf(key_path, sizeof key_path, "%s/label.key", k->dir);
  assert_int_equal(chmod(key_path, 0644), 0);
  assert_int_equal(hg_label_keys_load(k->dir, pk, sk, &err), HG_ERR_INVALID);
  assert_non_null(strstr(err.message, "chmod 600"));
  assert_int_equal(chmod(key_path, 0600), 0);

  /* a label.pub from another pair is refused */
  keys *other;
  assert_int_equal(setup((void **)&other), 0);
  char other_pub[128];
  snprintf(other_pub, sizeof other_pub, "%s/label.pub", other->dir);
  assert_int_equal(rename(other_pub, path), 0);
  assert_int_equal(hg_label_keys_load(k->dir, pk, sk, &err), HG_ERR_CORRUPT);
  /* and a label.pub without its secret key is never replaced by a new pair */
  char other_key[128];
  snprintf(other_key, sizeof other_key, "%s/label.key", other->dir);
  assert_int_equal(unlink(other_key), 0);
  assert_int_equal(rename(path, other_pub), 0);
  assert_int_equal(hg_label_keys_load(other->dir, pk, sk, &err), HG_ERR_INVALID);
  assert_non_null(strstr(err.message, "label.key does not"));
  teardown((void **)&other);
  assert_int_equal(hg_label_keys_load(k->dir, pk, sk, &err), HG_OK); /* label.pub written again */
  assert_memory_equal(pk, k->pk, sizeof pk);

  /* a truncated secret key */
  f = fopen(key_path, "w");
  fputs("short", f);
  fclose(f);
  assert_int_equal(hg_label_keys_load(k->dir, pk, sk, &err), HG_ERR_CORRUPT);

  /* the directory is created, parents included */
  char nested[128];
  snprintf(nested, sizeof nested, "%s/a/b", k->dir);
  assert_int_equal(hg_label_keys_load(nested, pk, sk, &err), HG_OK);
  assert_int_equal(stat(nested, &st), 0);
  assert_true(S_ISDIR(st.st_mode));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(changed_content_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(changed_fields_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(changed_signature_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(other_key_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(wrapped_and_unwrapped, setup, teardown),
      cmocka_unit_test(value_rules),
      cmocka_unit_test(notice_rules),
      cmocka_unit_test_setup_teardown(key_files, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
