/* fuzz_idv.c — libFuzzer target for what reaches identity code from outside: any bytes as a verification provider's
 * answer (two configurations, three statuses) give a result in range and a reason that is printable, valid UTF-8
 * and at most 255 bytes; any bytes as a sealed text, and as the JSON inside a well-sealed text, either open to
 * fields that fit and seal again to the same, or are HG_ERR_CORRUPT; any bytes as typed fields (split at tabs)
 * either are refused or normalise to fields that check, seal and open again unchanged. The seed sealed.txt was
 * sealed with the key below. */
#include <jansson.h>
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hegui/identity.h"
#include "hegui/pii.h"
#include "hegui/store.h"
#include "hegui/text.h"

static const uint8_t key[HG_IDENTITY_KEY_BYTES] = {1, 2, 3};

static int terminated(const char *s, size_t size) { return memchr(s, '\0', size) != NULL; }

static void check_reason(const char reason[256]) {
  if (!terminated(reason, 256)) abort();
  size_t len = strlen(reason), bad;
  if (len > 255 || hg_utf8_validate(reason, len, &bad) != HG_OK) abort();
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)reason[i] < 0x20 || reason[i] == 0x7F) abort();
}

static void check_response(const hg_idv_config *c, const uint8_t *data, size_t size) {
  static const long statuses[] = {200, 503, 302};
  for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
    hg_idv_result r = (hg_idv_result)77;
    char reason[256];
    memset(reason, 'Z', sizeof reason);
    hg_status st = hg_idv_parse_response(c, statuses[i], (const char *)data, size, &r, reason, NULL);
    if (r != HG_IDV_VERIFIED && r != HG_IDV_REJECTED && r != HG_IDV_UNDECIDED) abort();
    int expected_error =
        (st == HG_ERR_PARSE && statuses[i] == 200) || (st == HG_ERR_LIMIT && size > HG_IDV_RESPONSE_MAX);
    if (st != HG_OK && !expected_error) abort();
    if (st != HG_OK && r != HG_IDV_UNDECIDED) abort();
    if (statuses[i] != 200 && r != HG_IDV_UNDECIDED) abort(); /* an error status is never a verdict */
    check_reason(reason);
  }
}

/* Opened fields fit and are sealed again to text that opens to the same fields. */
static void check_reseal(const hg_identity_fields *f) {
  if (!terminated(f->name, sizeof f->name) || !terminated(f->id_number, sizeof f->id_number) ||
      !terminated(f->phone, sizeof f->phone) || !f->name[0])
    abort();
  char sealed[HG_IDENTITY_SEALED_MAX];
  hg_identity_fields back;
  if (hg_identity_seal(key, f, sealed, sizeof sealed, NULL) != HG_OK) abort();
  if (hg_identity_unseal(key, sealed, &back, NULL) != HG_OK) abort();
  if (memcmp(f, &back, sizeof back) != 0) abort();
}

static void check_unseal(const char *text) {
  hg_identity_fields f;
  hg_status st = hg_identity_unseal(key, text, &f, NULL);
  if (st == HG_OK)
    check_reseal(&f);
  else if (st != HG_ERR_CORRUPT)
    abort();
}

/* The bytes as the plaintext of a properly sealed text, so that the checks after decryption are reached. */
static void check_sealed_content(const uint8_t *data, size_t size) {
  if (size > 1500) return;
  uint8_t box[crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + 1500];
  char text[4 + sizeof box * 4 / 3 + 4];
  memset(box, 7, crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, data, size, box, key);
  memcpy(text, "v1.", 3);
  sodium_bin2base64(text + 3, sizeof text - 3, box, crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + size,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  check_unseal(text);
}

/* The bytes as three typed fields separated by tabs. */
static void check_typed(const char *text) {
  char *copy = strdup(text);
  if (!copy) abort();
  char *name = copy, *id = strchr(name, '\t'), *phone = NULL;
  if (id) *id++ = '\0', phone = strchr(id, '\t');
  if (phone) *phone++ = '\0';
  hg_identity_fields f;
  int64_t adult = 0;
  if (hg_identity_fields_set(&f, name, id, phone, NULL) == HG_OK &&
      hg_identity_check(&f, 20250601, &adult, NULL) == HG_OK) {
    if (!hg_cn_id_valid(f.id_number, strlen(f.id_number), 20250601, NULL) || strlen(f.id_number) != 18) abort();
    if (f.phone[0] && !hg_cn_mobile_valid(f.phone, strlen(f.phone))) abort();
    hg_identity_fields again = f;
    if (hg_identity_check(&again, 20250601, NULL, NULL) != HG_OK || memcmp(&again, &f, sizeof f)) abort();
    check_reseal(&f);
    hg_idv_config c;
    hg_idv_config_init(&c);
    char *body = hg_idv_request_body(&c, &f);
    json_t *parsed = body ? json_loads(body, 0, NULL) : NULL;
    if (!json_is_object(parsed)) abort();
    json_decref(parsed);
    free(body);
  }
  free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static hg_idv_config plain, nested;
  static int ready;
  if (!ready) {
    if (sodium_init() < 0) abort();
    hg_idv_config_init(&plain);
    hg_idv_config_init(&nested);
    strcpy(nested.result_path, "data.items.0.verdict");
    strcpy(nested.verified_value, "1");
    strcpy(nested.rejected_value, "false");
    strcpy(nested.reason_path, "data.msg");
    ready = 1;
  }
  check_response(&plain, data, size);
  check_response(&nested, data, size);

  char *text = malloc(size + 1);
  if (!text) abort();
  memcpy(text, data, size);
  text[size] = '\0';
  check_unseal(text);
  check_sealed_content(data, size);
  check_typed(text);

  /* the fields filled straight from the bytes, with or without NULs where they belong */
  hg_identity_fields raw;
  memset(&raw, 0, sizeof raw);
  memcpy(&raw, data, size < sizeof raw ? size : sizeof raw);
  hg_identity_check(&raw, 20250601, NULL, NULL);
  free(text);
  return 0;
}
