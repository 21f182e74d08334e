/* hegui/pii.h — personal information: validators built for Chinese data, a streaming detector, and the
 * operators that remove or protect what it finds (mask, typed placeholders with a per-request vault, keyed hash,
 * reversible sealing, drop).
 *
 * Detection runs on the folded text (full-width digits, ideographic spaces and dashes are plain ones), so
 * "１３８－１２３４－５６７８" is a phone number; every hit maps back to exact source bytes. Checksummed types are
 * only reported when their check character is right. Like the lexicon scanner, the detector streams: it reports a
 * hit as soon as it is certain and says how many trailing bytes could still become part of one. */
#ifndef HEGUI_PII_H
#define HEGUI_PII_H

#include <stddef.h>
#include <stdint.h>

#include "hegui/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hg_pii_type {
  HG_PII_CN_ID,        /* resident identity card number, 18 (GB 11643 MOD 11-2) or legacy 15 digits */
  HG_PII_MOBILE,       /* mainland mobile number, +86 / 0086 optional */
  HG_PII_LANDLINE,     /* mainland landline with area code */
  HG_PII_BANK_CARD,    /* UnionPay card (62 prefix, Luhn) */
  HG_PII_PAYMENT_CARD, /* other payment cards (Luhn + IIN ranges: Visa, Mastercard, Amex, JCB, ...) */
  HG_PII_USCC,         /* unified social credit code (GB 32100 check character) */
  HG_PII_PASSPORT,     /* PRC passport */
  HG_PII_HKMO_PERMIT,  /* Mainland Travel Permit for Hong Kong and Macao Residents */
  HG_PII_TW_PERMIT,    /* Mainland Travel Permit for Taiwan Residents */
  HG_PII_HK_ID,        /* Hong Kong identity card (check digit) */
  HG_PII_MO_ID,        /* Macao identity card */
  HG_PII_TW_ID,        /* Taiwan national identification number (check digit) */
  HG_PII_EMAIL,
  HG_PII_IPV4,
  HG_PII_IPV6,
  HG_PII_URL_CREDENTIALS, /* URL with user:password@ */
  HG_PII_LICENSE_PLATE,   /* mainland vehicle plate, new-energy plates included */
  HG_PII_SECRET,          /* API keys and tokens by well-known prefixes, JWTs, private-key blocks */
  HG_PII_PERSON_NAME,     /* Chinese person name (surname list + context; experimental) */
  HG_PII_TYPE_COUNT
} hg_pii_type;

/* Short type name: "cn_id", "mobile", ... */
const char *hg_pii_type_name(hg_pii_type type);
/* Placeholder label: "ID_NUMBER", "PHONE", ... (as in <PHONE_1>) */
const char *hg_pii_type_label(hg_pii_type type);
/* Parses a type name; HG_ERR_PARSE when unknown. */
hg_status hg_pii_type_parse(const char *name, hg_pii_type *out);

/* ---- validators: pure functions over ASCII (callers fold first) ------------------------------------------- */

typedef struct hg_cn_id_info {
  unsigned region;           /* the six-digit administrative division code */
  unsigned year, month, day; /* date of birth */
  int female;                /* from the sequence code's parity */
} hg_cn_id_info;

/* Resident ID: 18 characters (17 digits + check digit or 'X'/'x', GB 11643 MOD 11-2) or the legacy 15 digits
 * (born 19yy); the birth date must exist and not be in the future of `today_yyyymmdd` (0: no upper bound), and
 * the province code must be one in use. Returns 1 when valid; info may be NULL. */
int hg_cn_id_valid(const char *s, size_t len, unsigned today_yyyymmdd, hg_cn_id_info *info);
/* Age in whole years on date yyyymmdd for a valid ID, -1 otherwise. */
int hg_cn_id_age(const char *s, size_t len, unsigned today_yyyymmdd);
/* Luhn check over a string of ASCII digits. */
int hg_luhn_valid(const char *digits, size_t len);
/* Classifies a card number (digits only): HG_PII_BANK_CARD for UnionPay, HG_PII_PAYMENT_CARD for the other
 * schemes' IIN ranges and lengths, both with Luhn; -1 when it is not a card number. */
int hg_card_type(const char *digits, size_t len);
/* Unified social credit code: 18 characters from 0-9 A-H J-N P-R T U W-Y, GB 32100 check character. */
int hg_uscc_valid(const char *s, size_t len);
/* Hong Kong ID without brackets or with them: A123456(3), AB987654(A). */
int hg_hk_id_valid(const char *s, size_t len);
/* Taiwan ID: letter + 9 digits with its check digit (A123456789). */
int hg_tw_id_valid(const char *s, size_t len);
/* Macao ID: 1/5/7 + 6 digits + (check digit) — format only, the check algorithm is not published. */
int hg_mo_id_valid(const char *s, size_t len);
/* Mainland mobile number as 11 digits (1[3-9]...), after any +86/0086 prefix is removed. */
int hg_cn_mobile_valid(const char *digits, size_t len);

/* ---- detection -------------------------------------------------------------------------------------------- */

typedef struct hg_pii_hit {
  hg_pii_type type;
  size_t start, end; /* byte span in the whole input stream */
  float confidence;  /* 0..1; context words (身份证, 手机, card, phone, ...) raise it */
} hg_pii_hit;

typedef struct hg_pii_options {
  uint64_t types;          /* bit (1 << hg_pii_type) per type to detect; default all but HG_PII_PERSON_NAME */
  float min_confidence;    /* hits below are not reported; default 0.5 */
  unsigned today_yyyymmdd; /* for birth dates in the future; 0 = the current date */
} hg_pii_options;
void hg_pii_options_init(hg_pii_options *o);

typedef int (*hg_pii_fn)(void *ctx, const hg_pii_hit *hit);

typedef struct hg_pii_scanner hg_pii_scanner;
hg_status hg_pii_scanner_new(const hg_pii_options *options, hg_pii_fn on_hit, void *ctx, hg_pii_scanner **out);
hg_status hg_pii_scanner_feed(hg_pii_scanner *sc, const char *chunk, size_t len, hg_error *err);
/* Feeds records of a normalized view (hegui/text.h) instead of bytes; see hg_scanner_feed_view. */
typedef struct hg_norm_char hg_norm_char;
hg_status hg_pii_scanner_feed_view(hg_pii_scanner *sc, const hg_norm_char *v, size_t n, size_t stream_bytes,
                                   hg_error *err);
hg_status hg_pii_scanner_finish(hg_pii_scanner *sc, hg_error *err);
size_t hg_pii_scanner_pending_suffix_len(const hg_pii_scanner *sc);
size_t hg_pii_scanner_offset(const hg_pii_scanner *sc);
void hg_pii_scanner_reset(hg_pii_scanner *sc);
void hg_pii_scanner_free(hg_pii_scanner *sc);
hg_status hg_pii_scan(const hg_pii_options *options, const char *text, size_t len, hg_pii_fn on_hit, void *ctx,
                      hg_error *err);

/* ---- operators ---------------------------------------------------------------------------------------------- */

typedef enum hg_redact_op {
  HG_REDACT_MASK,        /* replace characters with '*', keeping keep_first/keep_last of them */
  HG_REDACT_PLACEHOLDER, /* typed placeholder <PHONE_1>; the vault remembers the value for restoring */
  HG_REDACT_HASH,        /* keyed BLAKE2b of the value: <PHONE#3f2a...>, stable for one key */
  HG_REDACT_SEAL,        /* authenticated encryption of the value: <PHONE$token>, opened only with the key */
  HG_REDACT_DROP         /* remove the value */
} hg_redact_op;

#define HG_REDACT_KEY_BYTES 32

typedef struct hg_redact_options {
  hg_redact_op op;
  unsigned keep_first, keep_last; /* mask: code points left as they are at each end (default 0 and 4) */
  const uint8_t *key;             /* hash and seal: HG_REDACT_KEY_BYTES bytes */
} hg_redact_options;
void hg_redact_options_init(hg_redact_options *o);
/* Names an operator ("mask", "placeholder", "hash", "seal", "drop"); HG_ERR_PARSE when unknown. */
hg_status hg_redact_op_parse(const char *name, hg_redact_op *out);

/* A per-request vault: the same value always gets the same placeholder within it, and placeholders in later
 * text (the model's answer) are turned back into the values. */
typedef struct hg_vault hg_vault;
hg_status hg_vault_new(hg_vault **out);
void hg_vault_free(hg_vault *vault);
size_t hg_vault_count(const hg_vault *vault);
/* The placeholder for a value, created on first use; written NUL-terminated into out. */
hg_status hg_vault_placeholder(hg_vault *vault, hg_pii_type type, const char *value, size_t len, char *out, size_t cap);
/* Replaces every placeholder of the vault found in text by its value; *out is malloc-ed. Unknown placeholders
 * stay as they are. */
hg_status hg_vault_restore(const hg_vault *vault, const char *text, size_t len, char **out, size_t *out_len);
/* For streamed answers: how many trailing bytes of text could be the start of a placeholder ("<PHO"), to be
 * held back until more text arrives. */
size_t hg_vault_pending_len(const char *text, size_t len);

/* The replacement of one hit's text under an operator; *out is malloc-ed. */
hg_status hg_redact_value(const hg_redact_options *options, hg_vault *vault, hg_pii_type type, const char *value,
                          size_t len, char **out, size_t *out_len, hg_error *err);
/* Opens a sealed value (the token inside <TYPE$token>); *out is malloc-ed. HG_ERR_CORRUPT when the token was not
 * sealed with this key or was changed. */
hg_status hg_unseal(const uint8_t key[HG_REDACT_KEY_BYTES], const char *token, size_t len, char **out, size_t *out_len,
                    hg_error *err);
/* Detects and redacts a whole text; *out is malloc-ed; *count receives the number of hits replaced. */
hg_status hg_pii_redact(const hg_pii_options *detect, const hg_redact_options *options, hg_vault *vault,
                        const char *text, size_t len, char **out, size_t *out_len, size_t *count, hg_error *err);

#ifdef __cplusplus
}
#endif
#endif
