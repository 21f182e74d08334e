/* label.c — the implicit label of GB 45438-2025 Appendix E, signed so that anyone with hegui's public key can
 * tell whether a label and the text it travels with are the ones hegui produced.
 *
 * The signature (Ed25519, in ReservedCode1) covers one canonical message built from the label's fields and the
 * SHA-256 of the content; see signed_message() for its exact form. Keys live in the data directory as raw bytes. */
#include "base/file.h"
#include "base/json.h"
#include "base/sha256.h"
#include "hegui/label.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "hegui/text.h"

#define LABEL_VALUE_MAX 256
/* A label may arrive as a string holding JSON, inside a member named like "aigc", inside a response; a few levels
 * cover every form hegui and the standard's carriers produce, and the bound keeps a hostile input from recursing. */
#define LABEL_NESTING_MAX 4

static const char SIGNED_DOMAIN[] = "hegui-aigc-v1";

int hg_label_value_valid(const char *value) {
  if (!value || !*value) return 0;
  size_t n = 0;
  for (const unsigned char *p = (const unsigned char *)value; *p; p++, n++) {
    if (n >= LABEL_VALUE_MAX) return 0;
    if (*p < 0x21 || *p > 0x7E || *p == '"' || *p == '\\') return 0;
  }
  return 1;
}

int hg_label_notice_valid(const char *notice) {
  if (!notice || !*notice) return 0;
  if (hg_utf8_validate(notice, strlen(notice), NULL) != HG_OK) return 0;
  int names_ai = strstr(notice, "人工智能") || strstr(notice, "AI");
  int says_made = strstr(notice, "生成") || strstr(notice, "合成");
  return names_ai && says_made;
}

/* ---- keys ------------------------------------------------------------------------------------------------- */

static int sodium_ready(void) { return sodium_init() >= 0; }

/* Reads up to cap bytes; callers pass one byte more than they expect so that a file too long shows in *got. */
static hg_status read_small_file(const char *path, uint8_t *buf, size_t cap, size_t *got, hg_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return hg_fail(err, errno == ENOENT ? HG_ERR_NOT_FOUND : HG_ERR_IO, 0, 0, "%s: %s", path, strerror(errno));
  *got = fread(buf, 1, cap, f);
  int bad = ferror(f);
  fclose(f);
  if (bad) return hg_fail(err, HG_ERR_IO, 0, 0, "%s: read error", path);
  return HG_OK;
}

/* mkdir -p: the data directory may be configured a few levels below one that exists */
static hg_status make_dir(const char *dir, hg_error *err) {
  char path[1024];
  size_t len = strlen(dir);
  if (len >= sizeof path) return hg_fail(err, HG_ERR_INVALID, 0, 0, "%s: path too long", dir);
  memcpy(path, dir, len + 1);
  for (size_t i = 1; i <= len; i++) {
    if (path[i] != '/' && path[i] != '\0') continue;
    char saved = path[i];
    path[i] = '\0';
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
      return hg_fail(err, HG_ERR_IO, 0, 0, "%s: cannot create directory: %s", path, strerror(errno));
    path[i] = saved;
  }
  struct stat st;
  if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) return HG_OK;
  return hg_fail(err, HG_ERR_IO, 0, 0, "%s: not a directory", dir);
}

/* Loads an existing secret key and checks it against label.pub, writing label.pub again when it is missing. */
static hg_status load_existing(const char *key_path, const char *pub_path, uint8_t pk[HG_LABEL_PUBLIC_KEY_BYTES],
                               uint8_t sk[HG_LABEL_SECRET_KEY_BYTES], hg_error *err) {
  struct stat st;
  if (stat(key_path, &st) != 0) return hg_fail(err, HG_ERR_IO, 0, 0, "%s: %s", key_path, strerror(errno));
  /* a signing key others can read is a key others can forge labels with */
  if (st.st_mode & 077)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "%s: readable by others (mode %03o); run chmod 600 on it", key_path,
                   (unsigned)(st.st_mode & 0777));
  uint8_t buf[HG_LABEL_SECRET_KEY_BYTES + 1];
  size_t got;
  hg_status s = read_small_file(key_path, buf, sizeof buf, &got, err);
  if (s) return s;
  if (got != HG_LABEL_SECRET_KEY_BYTES) {
    sodium_memzero(buf, sizeof buf);
    return hg_fail(err, HG_ERR_CORRUPT, 0, 0, "%s: expected %d bytes of Ed25519 secret key, found %zu%s", key_path,
                   HG_LABEL_SECRET_KEY_BYTES, got, got > HG_LABEL_SECRET_KEY_BYTES ? " or more" : "");
  }
  memcpy(sk, buf, HG_LABEL_SECRET_KEY_BYTES);
  sodium_memzero(buf, sizeof buf);
  crypto_sign_ed25519_sk_to_pk(pk, sk);

  uint8_t on_disk[HG_LABEL_PUBLIC_KEY_BYTES + 1];
  s = read_small_file(pub_path, on_disk, sizeof on_disk, &got, err);
  if (s == HG_ERR_NOT_FOUND) return hg_file_write_atomic_mode(pub_path, pk, HG_LABEL_PUBLIC_KEY_BYTES, 0644, 0, err);
  if (s) return s;
  if (got != HG_LABEL_PUBLIC_KEY_BYTES || memcmp(on_disk, pk, HG_LABEL_PUBLIC_KEY_BYTES) != 0)
    return hg_fail(err, HG_ERR_CORRUPT, 0, 0, "%s does not belong to %s; remove it and it will be written again",
                   pub_path, key_path);
  return HG_OK;
}

hg_status hg_label_keys_load(const char *dir, uint8_t pk[HG_LABEL_PUBLIC_KEY_BYTES],
                             uint8_t sk[HG_LABEL_SECRET_KEY_BYTES], hg_error *err) {
  if (!dir || !*dir || !pk || !sk) return hg_fail(err, HG_ERR_INVALID, 0, 0, "label keys: no directory given");
  if (!sodium_ready()) return hg_fail(err, HG_ERR_INVALID, 0, 0, "libsodium failed to initialise");
  char key_path[1024], pub_path[1024];
  if ((size_t)snprintf(key_path, sizeof key_path, "%s/label.key", dir) >= sizeof key_path ||
      (size_t)snprintf(pub_path, sizeof pub_path, "%s/label.pub", dir) >= sizeof pub_path)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "%s: path too long", dir);
  hg_status s = make_dir(dir, err);
  if (s) return s;
  if (access(key_path, F_OK) == 0) return load_existing(key_path, pub_path, pk, sk, err);
  if (errno != ENOENT) return hg_fail(err, HG_ERR_IO, 0, 0, "%s: %s", key_path, strerror(errno));
  /* a public key without its secret key is someone's published key: replacing it silently would make every label
   * signed before unverifiable */
  if (access(pub_path, F_OK) == 0)
    return hg_fail(err, HG_ERR_INVALID, 0, 0,
                   "%s exists but %s does not; restore the secret key, or remove %s to create a new key pair", pub_path,
                   key_path, pub_path);

  crypto_sign_keypair(pk, sk);
  s = hg_file_write_atomic_mode(key_path, sk, HG_LABEL_SECRET_KEY_BYTES, 0600, HG_FILE_EXCLUSIVE, err);
  if (s == HG_ERR_CONFLICT) { /* another process created the key first: use that one */
    hg_error_clear(err);
    return load_existing(key_path, pub_path, pk, sk, err);
  }
  if (s) return s;
  return hg_file_write_atomic_mode(pub_path, pk, HG_LABEL_PUBLIC_KEY_BYTES, 0644, 0, err);
}

static int hex_value(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

hg_status hg_label_public_key_read(const char *path, uint8_t pk[HG_LABEL_PUBLIC_KEY_BYTES], hg_error *err) {
  if (!path || !pk) return hg_fail(err, HG_ERR_INVALID, 0, 0, "public key: no file given");
  uint8_t buf[160];
  size_t got;
  hg_status s = read_small_file(path, buf, sizeof buf, &got, err);
  if (s) return s;
  if (got == HG_LABEL_PUBLIC_KEY_BYTES) {
    memcpy(pk, buf, HG_LABEL_PUBLIC_KEY_BYTES);
    return HG_OK;
  }
  /* hex, as printed by `hegui label show-key`, with surrounding white space tolerated */
  size_t start = 0, end = got;
  while (start < end && strchr(" \t\r\n", buf[start]))
    start++;
  while (end > start && strchr(" \t\r\n", buf[end - 1]))
    end--;
  if (end - start == 2 * HG_LABEL_PUBLIC_KEY_BYTES) {
    int ok = 1;
    for (size_t i = 0; i < HG_LABEL_PUBLIC_KEY_BYTES && ok; i++) {
      int hi = hex_value(buf[start + 2 * i]), lo = hex_value(buf[start + 2 * i + 1]);
      ok = hi >= 0 && lo >= 0;
      pk[i] = (uint8_t)(hi * 16 + lo);
    }
    if (ok) return HG_OK;
  }
  return hg_fail(err, HG_ERR_PARSE, 0, 0, "%s: expected an Ed25519 public key (32 raw bytes or 64 hex digits)", path);
}

/* ---- signing ---------------------------------------------------------------------------------------------- */

/* The signed message, one field per line in a fixed order:
 *   hegui-aigc-v1 \n Label \n ContentProducer \n ProduceID \n ContentPropagator \n PropagateID \n hex(SHA-256(content))
 * Values never hold a newline (hg_label_value_valid), so no two labels map to the same message. The domain line
 * keeps the signature from meaning anything outside hegui labels and leaves room for a v2. ReservedCode2 is not
 * covered: it is free for a later hash or a propagator's own note. */
static char *signed_message(const char *const values[5], const char *content, size_t len, size_t *msg_len) {
  char hex[2 * HG_SHA256_BYTES + 1];
  hg_sha256_hex(content ? content : "", len, hex);
  size_t n = sizeof SIGNED_DOMAIN + sizeof hex;
  for (int i = 0; i < 5; i++)
    n += strlen(values[i]) + 1;
  char *msg = malloc(n);
  if (!msg) return NULL;
  int w = snprintf(msg, n, "%s\n%s\n%s\n%s\n%s\n%s\n%s", SIGNED_DOMAIN, values[0], values[1], values[2], values[3],
                   values[4], hex);
  *msg_len = (size_t)w;
  return msg;
}

hg_status hg_label_make(const char *producer, const char *produce_id, const char *content, size_t len,
                        const uint8_t sk[HG_LABEL_SECRET_KEY_BYTES], char **json, hg_error *err) {
  if (!json || !sk || (!content && len)) return hg_fail(err, HG_ERR_INVALID, 0, 0, "label: bad arguments");
  *json = NULL;
  if (!hg_label_value_valid(producer))
    return hg_fail(err, HG_ERR_INVALID, 0, 0,
                   "label: ContentProducer must be 1-256 printable ASCII bytes without space, '\"' or '\\'");
  if (!hg_label_value_valid(produce_id))
    return hg_fail(err, HG_ERR_INVALID, 0, 0,
                   "label: ProduceID must be 1-256 printable ASCII bytes without space, '\"' or '\\'");
  if (!sodium_ready()) return hg_fail(err, HG_ERR_INVALID, 0, 0, "libsodium failed to initialise");

  /* on first write the propagator is the producer (GB 45438 Appendix E) */
  const char *values[5] = {"1", producer, produce_id, producer, produce_id};
  size_t msg_len;
  char *msg = signed_message(values, content, len, &msg_len);
  if (!msg) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  uint8_t sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, NULL, (const unsigned char *)msg, msg_len, sk);
  free(msg);
  char sig_b64[sodium_base64_ENCODED_LEN(crypto_sign_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(sig_b64, sizeof sig_b64, sig, sizeof sig, sodium_base64_VARIANT_URLSAFE_NO_PADDING);

  /* Appendix E's field order; jansson keeps insertion order. ReservedCode2 is written as "": the standard reserves
   * it and lets it be empty, although an empty value is not one hg_label_value_valid accepts for the others. */
  json_t *obj = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Label", values[0], "ContentProducer", producer,
                          "ProduceID", produce_id, "ReservedCode1", sig_b64, "ContentPropagator", values[3],
                          "PropagateID", values[4], "ReservedCode2", "");
  if (!obj) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  *json = hg_json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(obj);
  if (!*json) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  return HG_OK;
}

/* ---- verification ----------------------------------------------------------------------------------------- */

static int has_aigc_in_name(const char *key) {
  for (const char *p = key; *p; p++)
    if (!strncasecmp(p, "aigc", 4)) return 1;
  return 0;
}

/* Finds the label object: the object itself when it has a Label member, else the one member whose name contains
 * "AIGC" (any case: {"AIGC":{...}}, a response's "aigc"), whose value may also be a JSON string. */
static hg_status find_label(json_t *node, int depth, json_t **owned, json_t **label, hg_error *err) {
  if (depth > LABEL_NESTING_MAX) return hg_fail(err, HG_ERR_PARSE, 0, 0, "label nested too deeply");
  if (json_is_string(node)) {
    json_error_t jerr;
    json_t *inner = hg_json_loadb(json_string_value(node), json_string_length(node), JSON_REJECT_DUPLICATES, &jerr);
    if (!inner) return hg_fail(err, HG_ERR_PARSE, 0, 0, "label string is not JSON: %s", jerr.text);
    /* owned holds every document parsed here so that the caller can release them all */
    json_array_append_new(*owned, inner);
    node = inner;
  }
  if (!json_is_object(node)) return hg_fail(err, HG_ERR_PARSE, 0, 0, "label is not a JSON object");
  if (json_object_get(node, "Label")) {
    *label = node;
    return HG_OK;
  }
  json_t *found = NULL;
  const char *key;
  json_t *value;
  json_object_foreach(node, key, value) {
    if (!has_aigc_in_name(key)) continue;
    if (found) return hg_fail(err, HG_ERR_PARSE, 0, 0, "more than one AIGC label (a file carries exactly one)");
    found = value;
  }
  if (!found) return hg_fail(err, HG_ERR_PARSE, 0, 0, "no AIGC label found (no \"Label\" or \"AIGC\" member)");
  return find_label(found, depth + 1, owned, label, err);
}

static hg_status label_field(json_t *label, const char *name, const char **out, hg_error *err) {
  json_t *v = json_object_get(label, name);
  if (!v) return hg_fail(err, HG_ERR_PARSE, 0, 0, "label has no %s", name);
  if (!json_is_string(v)) return hg_fail(err, HG_ERR_PARSE, 0, 0, "label field %s is not a string", name);
  *out = json_string_value(v);
  /* a NUL inside the JSON string would let two different values print alike */
  if (strlen(*out) != json_string_length(v) || !hg_label_value_valid(*out))
    return hg_fail(err, HG_ERR_CORRUPT, 0, 0, "label field %s holds bytes a label value may not", name);
  return HG_OK;
}

static hg_status verify_label(json_t *label, const char *content, size_t len, const uint8_t *pk, hg_error *err) {
  static const char *const names[5] = {"Label", "ContentProducer", "ProduceID", "ContentPropagator", "PropagateID"};
  const char *values[5], *sig_text;
  hg_status s;
  for (int i = 0; i < 5; i++)
    if ((s = label_field(label, names[i], &values[i], err))) return s;
  json_t *rc1 = json_object_get(label, "ReservedCode1");
  if (!json_is_string(rc1) || json_string_length(rc1) == 0)
    return hg_fail(err, HG_ERR_CORRUPT, 0, 0, "label carries no signature (ReservedCode1 is missing or empty)");
  sig_text = json_string_value(rc1);
  uint8_t sig[crypto_sign_BYTES];
  size_t sig_len = 0;
  size_t text_len = json_string_length(rc1);
  /* writers emit base64url without padding; readers also take it padded */
  if (sodium_base642bin(sig, sizeof sig, sig_text, text_len, NULL, &sig_len, NULL,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 &&
      sodium_base642bin(sig, sizeof sig, sig_text, text_len, NULL, &sig_len, NULL, sodium_base64_VARIANT_URLSAFE) != 0)
    return hg_fail(err, HG_ERR_CORRUPT, 0, 0, "ReservedCode1 is not a base64url Ed25519 signature");
  if (sig_len != crypto_sign_BYTES)
    return hg_fail(err, HG_ERR_CORRUPT, 0, 0, "ReservedCode1 holds %zu bytes, an Ed25519 signature has %d", sig_len,
                   crypto_sign_BYTES);
  size_t msg_len;
  char *msg = signed_message(values, content, len, &msg_len);
  if (!msg) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  int bad = crypto_sign_verify_detached(sig, (const unsigned char *)msg, msg_len, pk);
  free(msg);
  if (bad)
    return hg_fail(err, HG_ERR_CORRUPT, 0, 0,
                   "the signature does not match: the content or the label was changed, or another key signed it");
  return HG_OK;
}

hg_status hg_label_verify(const char *label_json, size_t label_len, const char *content, size_t len,
                          const uint8_t pk[HG_LABEL_PUBLIC_KEY_BYTES], hg_error *err) {
  if (!label_json || !pk || (!content && len)) return hg_fail(err, HG_ERR_INVALID, 0, 0, "label: bad arguments");
  if (!sodium_ready()) return hg_fail(err, HG_ERR_INVALID, 0, 0, "libsodium failed to initialise");
  json_error_t jerr;
  /* duplicate members would let two readers see two different labels in one text */
  json_t *root = hg_json_loadb(label_json, label_len, JSON_REJECT_DUPLICATES, &jerr);
  if (!root)
    return hg_fail(err, HG_ERR_PARSE, (size_t)(jerr.line > 0 ? jerr.line : 0), (size_t)(jerr.position),
                   "label is not valid JSON: %s", jerr.text);
  json_t *owned = json_array();
  json_t *label = NULL;
  hg_status s = owned ? find_label(root, 0, &owned, &label, err) : hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  if (!s) s = verify_label(label, content, len, pk, err);
  json_decref(owned);
  json_decref(root);
  return s;
}
