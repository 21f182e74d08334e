/* hegui/identity.h — real-name identity (draft Art. 9): the identity fields a user submits, checked with the PII
 * validators, sealed at rest with a key the database never sees, and the protocol spoken to an identity-
 * verification provider over HTTP (the request a provider gets and how its answer is read are configuration, so
 * any provider that takes JSON and answers JSON can be used). The HTTP call itself lives in the gateway. */
#ifndef HEGUI_IDENTITY_H
#define HEGUI_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "hegui/config.h"
#include "hegui/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HG_IDENTITY_KEY_BYTES 32

/* Loads the sealing key. The environment variable HEGUI_IDENTITY_KEY (64 hex characters) wins when set and not
 * empty; otherwise the file at path (64 hex characters, an optional newline). When the file does not exist and
 * create != 0, a new random key is written there (mode 0600, directory must exist); without create that is
 * HG_ERR_NOT_FOUND. A file group or others have any access to (HG_ERR_INVALID, "run chmod 600"), a wrong length or
 * bad hex (HG_ERR_PARSE) are errors that say so. */
hg_status hg_identity_key_load(const char *path, int create, uint8_t key[HG_IDENTITY_KEY_BYTES], hg_error *err);

typedef struct hg_identity_fields {
  char name[128];     /* real name, UTF-8, 1-127 bytes, no control characters */
  char id_number[19]; /* resident ID number (GB 11643), 18 characters, check digit upper-case */
  char phone[16];     /* mainland mobile number, 11 digits, "" = not given */
} hg_identity_fields;

/* Fills f from what a user typed (each may be NULL for ""), normalised as hg_identity_check describes. Typed forms
 * are often longer than the fields: full-width digits take three bytes each and "+86 138-0013-8000" is 17, so raw
 * input goes through here rather than into the fields directly. Refuses what cannot become a valid field (with
 * hg_identity_check's messages: bad UTF-8, control characters, wrong length or characters, a phone that is not a
 * mainland mobile number); the ID number's check digit, birth date and region are left to hg_identity_check. */
hg_status hg_identity_fields_set(hg_identity_fields *f, const char *name, const char *id_number, const char *phone,
                                 hg_error *err);

/* Checks the fields and normalises them in place (surrounding spaces trimmed, full-width digits and letters
 * folded, 'x' -> 'X', +86/0086 and separators removed from the phone). The ID number must be valid by
 * hg_cn_id_valid on today_yyyymmdd (0: no upper bound; the legacy 15-digit form is refused: it cannot carry a check
 * digit) and the phone, when given, a valid mainland mobile number. *adult_from_ms (may be NULL) gets the moment the
 * holder turns 18: 00:00 China Standard Time (UTC+8) of the 18th birthday (29 February births: 1 March in common
 * years). Errors name the field: "id_number: the check digit does not match"; f is unchanged when refused. */
hg_status hg_identity_check(hg_identity_fields *f, unsigned today_yyyymmdd, int64_t *adult_from_ms, hg_error *err);

/* Seals the fields: printable text ("v1." + base64 of nonce | secretbox of a JSON object), at most cap bytes with
 * the NUL; HG_ERR_LIMIT when cap is too small (HG_IDENTITY_SEALED_MAX of store.h always suffices). What unseal
 * would refuse is not sealed: an empty name or a field without its NUL (HG_ERR_INVALID), bytes that are not UTF-8
 * (HG_ERR_UTF8). docs/identity.md describes the format. */
hg_status hg_identity_seal(const uint8_t key[HG_IDENTITY_KEY_BYTES], const hg_identity_fields *f, char *out, size_t cap,
                           hg_error *err);
/* Opens what hg_identity_seal made. HG_ERR_CORRUPT when the text is malformed or was sealed with another key or
 * changed. */
hg_status hg_identity_unseal(const uint8_t key[HG_IDENTITY_KEY_BYTES], const char *sealed, hg_identity_fields *out,
                             hg_error *err);

/* ---- the verification provider's protocol ---- */

/* hg_idv_config, the provider's settings, is in hegui/config.h (settings are the lower layer). */

#define HG_IDV_RESPONSE_MAX (1u << 20) /* bytes of a provider's answer that are read; a longer one is HG_ERR_LIMIT */

typedef enum hg_idv_result {
  HG_IDV_VERIFIED,
  HG_IDV_REJECTED,
  HG_IDV_UNDECIDED /* the provider answered neither (another verdict, or an error status): try again later */
} hg_idv_result;

/* The JSON request body for the fields (malloc-ed, NUL-terminated), NULL when out of memory. */
char *hg_idv_request_body(const hg_idv_config *c, const hg_identity_fields *f);

/* Reads a provider's answer. HTTP 2xx with a JSON object whose result_path holds verified_value or rejected_value
 * gives that result; any other verdict, or any status but 2xx (4xx, 5xx, an unfollowed 3xx), gives HG_IDV_UNDECIDED
 * with the reason saying why. len > HG_IDV_RESPONSE_MAX is HG_ERR_LIMIT.
 * A 2xx body that is not a JSON object, or has no result_path, is HG_ERR_PARSE. reason (256 bytes, may be NULL)
 * gets the provider's reason (printable, truncated) or hegui's own description. */
hg_status hg_idv_parse_response(const hg_idv_config *c, long http_status, const char *body, size_t len,
                                hg_idv_result *out, char reason[256], hg_error *err);

#ifdef __cplusplus
}
#endif
#endif
