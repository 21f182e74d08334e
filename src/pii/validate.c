/* validate.c — the check-character and format validators for Chinese identifiers (resident ID, USCC, HK / Macao /
 * Taiwan IDs, mainland mobile numbers) and payment cards, plus the type names and placeholder labels.
 *
 * Every validator is a pure function over ASCII bytes with an explicit length: the detector calls them on folded
 * candidate spans, so they never read past `len`, never allocate and never look at the locale. A validator
 * answers one question (is this a well-formed number of that kind?) and leaves confidence to the detector. */
#include <stddef.h>

#include "hegui/pii.h"

/* ---- type names ----------------------------------------------------------------------------------------- */

/* Indexed by hg_pii_type; names are API (config files and reports use them), so they never change. */
static const char *const type_names[HG_PII_TYPE_COUNT] = {
    "cn_id",       "mobile",          "landline",      "bank_card", "payment_card", "uscc",  "passport",
    "hkmo_permit", "tw_permit",       "hk_id",         "mo_id",     "tw_id",        "email", "ipv4",
    "ipv6",        "url_credentials", "license_plate", "secret",    "person_name"};

/* IPv4 and IPv6 share a label on purpose: a placeholder tells the model what kind of thing was there, and the
 * address family is not worth a second vocabulary word. */
static const char *const type_labels[HG_PII_TYPE_COUNT] = {
    "ID_NUMBER",   "PHONE",     "LANDLINE",      "BANK_CARD", "PAYMENT_CARD", "CREDIT_CODE", "PASSPORT",
    "HKMO_PERMIT", "TW_PERMIT", "HK_ID",         "MO_ID",     "TW_ID",        "EMAIL",       "IP_ADDRESS",
    "IP_ADDRESS",  "URL",       "LICENSE_PLATE", "SECRET",    "PERSON"};

_Static_assert(sizeof type_names / sizeof type_names[0] == HG_PII_TYPE_COUNT, "a name for every hg_pii_type");
_Static_assert(sizeof type_labels / sizeof type_labels[0] == HG_PII_TYPE_COUNT, "a label for every hg_pii_type");

const char *hg_pii_type_name(hg_pii_type type) {
  return (unsigned)type < HG_PII_TYPE_COUNT ? type_names[type] : "unknown";
}

const char *hg_pii_type_label(hg_pii_type type) {
  return (unsigned)type < HG_PII_TYPE_COUNT ? type_labels[type] : "UNKNOWN";
}

/* ASCII-only case folding: <ctype.h> depends on the locale, and these inputs are ASCII by contract. */
static int ascii_upper(int c) { return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c; }

static int ascii_equal_nocase(const char *a, const char *b) {
  for (; *a && *b; a++, b++)
    if (ascii_upper((unsigned char)*a) != ascii_upper((unsigned char)*b)) return 0;
  return *a == *b;
}

hg_status hg_pii_type_parse(const char *name, hg_pii_type *out) {
  if (!name || !out) return HG_ERR_INVALID;
  for (int t = 0; t < HG_PII_TYPE_COUNT; t++) {
    if (ascii_equal_nocase(name, type_names[t])) {
      *out = (hg_pii_type)t;
      return HG_OK;
    }
  }
  return HG_ERR_PARSE;
}

/* ---- small helpers -------------------------------------------------------------------------------------- */

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int all_digits(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (!is_digit(s[i])) return 0;
  return 1;
}

/* Callers have checked the bytes are digits and len <= 9, so this cannot overflow. */
static unsigned digits_value(const char *s, size_t len) {
  unsigned v = 0;
  for (size_t i = 0; i < len; i++)
    v = v * 10 + (unsigned)(s[i] - '0');
  return v;
}

static int is_leap_year(unsigned year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

static unsigned days_in_month(unsigned year, unsigned month) {
  static const unsigned days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && is_leap_year(year)) return 29;
  return days[month - 1];
}

/* ---- resident identity card (GB 11643-1999) ------------------------------------------------------------- */

/* Provincial-level codes in use, as listed in GB/T 2260 (71 is Taiwan's entry there). 81/82/83 are the
 * residence permits for Hong Kong, Macao and Taiwan residents (2018), which use the same 18-character layout and
 * check digit, so the detector must accept them as identity numbers too. */
static int cn_province_in_use(unsigned code) {
  return (code >= 11 && code <= 15) || (code >= 21 && code <= 23) || (code >= 31 && code <= 37) ||
         (code >= 41 && code <= 46) || (code >= 50 && code <= 54) || (code >= 61 && code <= 65) || code == 71 ||
         code == 81 || code == 82 || code == 83;
}

/* MOD 11-2: weight i is 2^(17-i) mod 11, the check character makes the weighted sum (with X = 10) = 1 mod 11. */
static char cn_id_check_char(const char *s) {
  static const unsigned weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  unsigned sum = 0;
  for (int i = 0; i < 17; i++)
    sum += (unsigned)(s[i] - '0') * weights[i];
  return "10X98765432"[sum % 11];
}

/* Parses and checks either form; fills *out only when the number is valid. */
static int cn_id_parse(const char *s, size_t len, unsigned today_yyyymmdd, hg_cn_id_info *out) {
  if (!s) return 0;
  unsigned year, month, day;
  int sequence_digit;
  if (len == 18) {
    if (!all_digits(s, 17)) return 0;
    char check = (char)ascii_upper((unsigned char)s[17]);
    if (check != cn_id_check_char(s)) return 0;
    year = digits_value(s + 6, 4);
    month = digits_value(s + 10, 2);
    day = digits_value(s + 12, 2);
    sequence_digit = s[16] - '0';
  } else if (len == 15) {
    /* The legacy form predates 2000 births, so its two-digit year is always 19yy. */
    if (!all_digits(s, 15)) return 0;
    year = 1900 + digits_value(s + 6, 2);
    month = digits_value(s + 8, 2);
    day = digits_value(s + 10, 2);
    sequence_digit = s[14] - '0';
  } else {
    return 0;
  }
  if (!cn_province_in_use(digits_value(s, 2))) return 0;
  if (year < 1900 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) return 0;
  if (today_yyyymmdd && year * 10000 + month * 100 + day > today_yyyymmdd) return 0;
  if (out) {
    out->region = digits_value(s, 6);
    out->year = year;
    out->month = month;
    out->day = day;
    out->female = sequence_digit % 2 == 0;
  }
  return 1;
}

int hg_cn_id_valid(const char *s, size_t len, unsigned today_yyyymmdd, hg_cn_id_info *info) {
  hg_cn_id_info parsed;
  int ok = cn_id_parse(s, len, today_yyyymmdd, &parsed);
  if (info) *info = ok ? parsed : (hg_cn_id_info){0};
  return ok;
}

/* A birthday counts on the day itself; someone born on 29 February turns a year older on 1 March in common
 * years, since 28 February still precedes the birthday. */
int hg_cn_id_age(const char *s, size_t len, unsigned today_yyyymmdd) {
  hg_cn_id_info info;
  if (today_yyyymmdd == 0 || !cn_id_parse(s, len, today_yyyymmdd, &info)) return -1;
  unsigned year = today_yyyymmdd / 10000, month_day = today_yyyymmdd % 10000;
  int age = (int)(year - info.year);
  if (month_day < info.month * 100 + info.day) age--;
  return age;
}

/* ---- payment cards -------------------------------------------------------------------------------------- */

int hg_luhn_valid(const char *digits, size_t len) {
  /* One digit is only a check digit with nothing to check: not a number anyone would call Luhn-valid. */
  if (!digits || len < 2 || !all_digits(digits, len)) return 0;
  unsigned sum = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned d = (unsigned)(digits[len - 1 - i] - '0');
    if (i % 2 == 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 == 0;
}

/* Issuer ranges are stated on the leading digits, so the prefix is compared as a number of `width` digits. */
static int prefix_in(const char *digits, size_t width, unsigned low, unsigned high) {
  unsigned p = digits_value(digits, width);
  return p >= low && p <= high;
}

static int other_scheme_matches(const char *d, size_t len) {
  if (d[0] == '4') return len == 13 || len == 16 || len == 19;                  /* Visa */
  if (prefix_in(d, 2, 51, 55) || prefix_in(d, 4, 2221, 2720)) return len == 16; /* Mastercard */
  if (prefix_in(d, 2, 34, 34) || prefix_in(d, 2, 37, 37)) return len == 15;     /* Amex */
  int long_card = len >= 16 && len <= 19;
  if (prefix_in(d, 4, 3528, 3589)) return long_card; /* JCB */
  if (prefix_in(d, 4, 6011, 6011) || prefix_in(d, 3, 644, 649) || prefix_in(d, 2, 65, 65))
    return long_card;                                                                  /* Discover */
  if (prefix_in(d, 3, 300, 305) || prefix_in(d, 2, 36, 36) || prefix_in(d, 2, 38, 39)) /* Diners */
    return len >= 14 && len <= 19;
  return 0;
}

int hg_card_type(const char *digits, size_t len) {
  /* Shortest card is 13 digits (old Visa), longest 19; also keeps every prefix read within bounds. */
  if (!digits || len < 13 || len > 19 || !all_digits(digits, len)) return -1;
  /* UnionPay goes first: 622126-622925 is also a Discover range (co-branded), and in China it is a bank card. */
  if (digits[0] == '6' && digits[1] == '2') return len >= 16 && hg_luhn_valid(digits, len) ? HG_PII_BANK_CARD : -1;
  if (other_scheme_matches(digits, len) && hg_luhn_valid(digits, len)) return HG_PII_PAYMENT_CARD;
  return -1;
}

/* ---- unified social credit code (GB 32100-2015) --------------------------------------------------------- */

/* The code's alphabet leaves out I, O, S, V and Z, which read too much like 1, 0, 5, U and 2. */
static const char uscc_alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

static int uscc_value(int c) {
  c = ascii_upper(c);
  for (int i = 0; i < 31; i++)
    if (uscc_alphabet[i] == c) return i;
  return -1;
}

int hg_uscc_valid(const char *s, size_t len) {
  /* Weight i is 3^i mod 31. */
  static const unsigned weights[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
  if (!s || len != 18) return 0;
  unsigned sum = 0;
  for (int i = 0; i < 17; i++) {
    int v = uscc_value((unsigned char)s[i]);
    if (v < 0) return 0;
    sum += (unsigned)v * weights[i];
  }
  /* The registration authority code is never 0; without this rule a run of zeros would pass. */
  if (s[0] == '0') return 0;
  unsigned check = (31 - sum % 31) % 31;
  return uscc_value((unsigned char)s[17]) == (int)check;
}

/* ---- Hong Kong, Macao and Taiwan identity cards --------------------------------------------------------- */

static int is_letter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

/* Splits "X(C)" or "XC" at the end of s into the check character; returns the body length or 0. */
static size_t split_check_char(const char *s, size_t len, char *check) {
  if (len >= 4 && s[len - 3] == '(' && s[len - 1] == ')') {
    *check = s[len - 2];
    return len - 3;
  }
  if (len >= 2 && s[len - 1] != ')') {
    *check = s[len - 1];
    return len - 1;
  }
  return 0;
}

int hg_hk_id_valid(const char *s, size_t len) {
  if (!s) return 0;
  char check;
  size_t body = split_check_char(s, len, &check);
  if (body != 7 && body != 8) return 0;
  size_t letters = body - 6;
  for (size_t i = 0; i < letters; i++)
    if (!is_letter(s[i])) return 0;
  if (!all_digits(s + letters, 6)) return 0;
  /* Eight positions weighted 9..2; a one-letter prefix stands behind a blank worth 36. Letters are A=10..Z=35. */
  unsigned sum = letters == 1 ? 36 * 9 : 0;
  unsigned position = letters == 1 ? 1 : 0; /* index among the eight weighted positions */
  for (size_t i = 0; i < body; i++, position++) {
    unsigned v = is_letter(s[i]) ? (unsigned)(ascii_upper((unsigned char)s[i]) - 'A' + 10) : (unsigned)(s[i] - '0');
    sum += v * (9 - position);
  }
  int c = ascii_upper((unsigned char)check);
  unsigned check_value;
  if (is_digit((char)c))
    check_value = (unsigned)(c - '0');
  else if (c == 'A')
    check_value = 10;
  else
    return 0;
  return (sum + check_value) % 11 == 0;
}

int hg_tw_id_valid(const char *s, size_t len) {
  /* Letter values follow the issuing-area order, with I, O, W, X, Y, Z added late and so numbered out of turn. */
  static const unsigned char letter_values[26] = {10, 11, 12, 13, 14, 15, 16, 17, 34, 18, 19, 20, 21,
                                                  22, 35, 23, 24, 25, 26, 27, 28, 29, 32, 30, 31, 33};
  if (!s || len != 10 || !is_letter(s[0]) || !all_digits(s + 1, 9)) return 0;
  /* 1/2 is the sex on national IDs; 8/9 are the 2021 resident certificate numbers for foreigners. */
  if (s[1] != '1' && s[1] != '2' && s[1] != '8' && s[1] != '9') return 0;
  unsigned area = letter_values[ascii_upper((unsigned char)s[0]) - 'A'];
  unsigned sum = area / 10 + (area % 10) * 9;
  for (int i = 1; i <= 8; i++)
    sum += (unsigned)(s[i] - '0') * (unsigned)(9 - i);
  sum += (unsigned)(s[9] - '0');
  return sum % 10 == 0;
}

int hg_mo_id_valid(const char *s, size_t len) {
  if (!s) return 0;
  char check;
  size_t body = split_check_char(s, len, &check);
  if (body != 7 || !all_digits(s, 7) || !is_digit(check)) return 0;
  return s[0] == '1' || s[0] == '5' || s[0] == '7';
}

/* ---- mainland mobile numbers ---------------------------------------------------------------------------- */

int hg_cn_mobile_valid(const char *digits, size_t len) {
  /* Second digits 0-2 have never been allocated to mobile networks; 3-9 all are (19x and 16x since 2017). */
  return digits && len == 11 && all_digits(digits, 11) && digits[0] == '1' && digits[1] >= '3';
}
