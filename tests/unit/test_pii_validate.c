/* test_pii_validate.c — the PII validators against published examples and against small independent
 * implementations of each check algorithm written here from the standards (powers of 2 mod 11, powers of 3 mod
 * 31, the Taiwan letter mnemonic), so a shared mistake in a weight table cannot pass both. Every number here is
 * synthetic or a published specimen; none belongs to a real person. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hegui/pii.h"

#define S(lit) (lit), (sizeof(lit) - 1)

/* ---- independent reference implementations -------------------------------------------------------------- */

/* GB 11643: weight of the i-th of 17 digits is 2^(17-i) mod 11; the check value c satisfies sum + c = 1 mod 11. */
static char ref_cn_id_check(const char *body17) {
  unsigned sum = 0;
  for (int i = 0; i < 17; i++) {
    unsigned w = 1;
    for (int k = 0; k < 17 - i; k++)
      w = w * 2 % 11;
    sum += (unsigned)(body17[i] - '0') * w;
  }
  unsigned c = (12 - sum % 11) % 11;
  return c == 10 ? 'X' : (char)('0' + c);
}

/* Builds an 18-character ID from a six-digit region, an eight-digit birth date and a three-digit sequence. */
static void make_cn_id(char out[19], const char *region, const char *yyyymmdd, const char *sequence) {
  snprintf(out, 19, "%.6s%.8s%.3s", region, yyyymmdd, sequence);
  out[17] = ref_cn_id_check(out);
  out[18] = '\0';
}

static int cn_id(const char *s, unsigned today) { return hg_cn_id_valid(s, strlen(s), today, NULL); }

/* GB 32100: weight of position i is 3^i mod 31; check value is (31 - sum mod 31) mod 31. */
static const char uscc_chars[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
static char ref_uscc_check(const char *body17) {
  unsigned sum = 0, w = 1;
  for (int i = 0; i < 17; i++, w = w * 3 % 31)
    sum += (unsigned)(strchr(uscc_chars, body17[i]) - uscc_chars) * w;
  return uscc_chars[(31 - sum % 31) % 31];
}

/* Hong Kong: the check value c satisfies sum + c = 0 mod 11 over nine positions weighted 9..1. */
static char ref_hk_check(const char *body) {
  size_t letters = strlen(body) - 6;
  unsigned values[8], n = 0;
  if (letters == 1) values[n++] = 36;
  for (size_t i = 0; i < strlen(body); i++)
    values[n++] = i < letters ? (unsigned)(body[i] - 'A' + 10) : (unsigned)(body[i] - '0');
  unsigned sum = 0;
  for (unsigned i = 0; i < 8; i++)
    sum += values[i] * (9 - i);
  unsigned c = (11 - sum % 11) % 11;
  return c == 10 ? 'A' : (char)('0' + c);
}

/* Taiwan: the mnemonic order of area letters, valued 10, 11, ... in this order. */
static char ref_tw_check(const char *body9) {
  static const char order[] = "ABCDEFGHJKLMNPQRSTUVXYWZIO";
  unsigned area = (unsigned)(strchr(order, body9[0]) - order) + 10;
  unsigned sum = area / 10 + area % 10 * 9;
  for (int i = 1; i <= 8; i++)
    sum += (unsigned)(body9[i] - '0') * (unsigned)(9 - i);
  return (char)('0' + (10 - sum % 10) % 10);
}

/* Luhn: appends the digit that makes the doubled-alternate sum a multiple of ten. */
static void luhn_complete(char *digits) {
  size_t n = strlen(digits);
  unsigned sum = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned d = (unsigned)(digits[n - 1 - i] - '0');
    if (i % 2 == 0) d = d * 2 / 10 + d * 2 % 10; /* these positions double once the check digit is appended */
    sum += d;
  }
  digits[n] = (char)('0' + (10 - sum % 10) % 10);
  digits[n + 1] = '\0';
}

/* ---- type names ----------------------------------------------------------------------------------------- */

static void type_names_and_labels(void **state) {
  (void)state;
  static const char *const names[] = {
      "cn_id",       "mobile",          "landline",      "bank_card", "payment_card", "uscc",  "passport",
      "hkmo_permit", "tw_permit",       "hk_id",         "mo_id",     "tw_id",        "email", "ipv4",
      "ipv6",        "url_credentials", "license_plate", "secret",    "person_name"};
  static const char *const labels[] = {"ID_NUMBER",   "PHONE",         "LANDLINE",    "BANK_CARD",  "PAYMENT_CARD",
                                       "CREDIT_CODE", "PASSPORT",      "HKMO_PERMIT", "TW_PERMIT",  "HK_ID",
                                       "MO_ID",       "TW_ID",         "EMAIL",       "IP_ADDRESS", "IP_ADDRESS",
                                       "URL",         "LICENSE_PLATE", "SECRET",      "PERSON"};
  assert_int_equal(sizeof names / sizeof names[0], HG_PII_TYPE_COUNT);
  assert_int_equal(sizeof labels / sizeof labels[0], HG_PII_TYPE_COUNT);
  for (int t = 0; t < HG_PII_TYPE_COUNT; t++) {
    assert_string_equal(hg_pii_type_name((hg_pii_type)t), names[t]);
    assert_string_equal(hg_pii_type_label((hg_pii_type)t), labels[t]);
    hg_pii_type parsed = HG_PII_TYPE_COUNT;
    assert_int_equal(hg_pii_type_parse(names[t], &parsed), HG_OK);
    assert_int_equal(parsed, t);
  }
  hg_pii_type parsed;
  assert_int_equal(hg_pii_type_parse("CN_ID", &parsed), HG_OK);
  assert_int_equal(parsed, HG_PII_CN_ID);
  assert_int_equal(hg_pii_type_parse("Url_Credentials", &parsed), HG_OK);
  assert_int_equal(parsed, HG_PII_URL_CREDENTIALS);
  assert_int_equal(hg_pii_type_parse("cn_i", &parsed), HG_ERR_PARSE);
  assert_int_equal(hg_pii_type_parse("cn_idx", &parsed), HG_ERR_PARSE);
  assert_int_equal(hg_pii_type_parse("", &parsed), HG_ERR_PARSE);
  assert_int_equal(hg_pii_type_parse("ID_NUMBER", &parsed), HG_ERR_PARSE); /* labels are not names */
  assert_int_equal(hg_pii_type_parse(NULL, &parsed), HG_ERR_INVALID);
  assert_int_equal(hg_pii_type_parse("email", NULL), HG_ERR_INVALID);
  assert_string_equal(hg_pii_type_name(HG_PII_TYPE_COUNT), "unknown");
  assert_string_equal(hg_pii_type_label((hg_pii_type)-1), "UNKNOWN");
}

/* ---- resident identity card ----------------------------------------------------------------------------- */

static void cn_id_textbook_example(void **state) {
  (void)state;
  hg_cn_id_info info;
  assert_int_equal(hg_cn_id_valid(S("11010519491231002X"), 0, &info), 1);
  assert_int_equal(info.region, 110105);
  assert_int_equal(info.year, 1949);
  assert_int_equal(info.month, 12);
  assert_int_equal(info.day, 31);
  assert_int_equal(info.female, 1); /* sequence 002: the 17th digit is even */
  assert_int_equal(cn_id("11010519491231002x", 0), 1);
  assert_int_equal(cn_id("11010519491231002X", 20240101), 1);
  /* the reference agrees with the standard's example */
  assert_int_equal(ref_cn_id_check("11010519491231002"), 'X');

  /* every other check character is wrong */
  const char *checks = "0123456789Yy";
  for (const char *c = checks; *c; c++) {
    char s[19] = "11010519491231002X";
    s[17] = *c;
    assert_int_equal(cn_id(s, 0), 0);
  }
  /* a wrong check clears info */
  info.region = 1;
  assert_int_equal(hg_cn_id_valid(S("110105194912310021"), 0, &info), 0);
  assert_int_equal(info.region, 0);
  assert_int_equal(info.year, 0);

  assert_int_equal(cn_id("11010519491231002", 0), 0);   /* 17 */
  assert_int_equal(cn_id("11010519491231002X1", 0), 0); /* 19 */
  assert_int_equal(cn_id("", 0), 0);
  assert_int_equal(hg_cn_id_valid(NULL, 18, 0, NULL), 0);
  assert_int_equal(cn_id("1101051949123100XX", 0), 0); /* X only as the check character */
  assert_int_equal(cn_id("11010519491231 02X", 0), 0);
  /* length is honoured: the valid number followed by junk, checked over its 18 bytes only */
  assert_int_equal(hg_cn_id_valid("11010519491231002X9999", 18, 0, NULL), 1);
}

static void cn_id_synthetic_and_sex(void **state) {
  (void)state;
  char id[19];
  hg_cn_id_info info;
  /* every sequence code: the check from the reference is accepted, the sex follows the 17th digit */
  for (int seq = 0; seq < 1000; seq++) {
    char seq_text[4];
    snprintf(seq_text, sizeof seq_text, "%03d", seq);
    make_cn_id(id, "440305", "19880808", seq_text);
    assert_int_equal(hg_cn_id_valid(id, 18, 0, &info), 1);
    assert_int_equal(info.region, 440305);
    assert_int_equal(info.female, (seq % 10) % 2 == 0);
    /* and any single change of the check character is caught */
    id[17] = id[17] == '0' ? '1' : '0';
    assert_int_equal(cn_id(id, 0), 0);
  }
  /* a transposition of two different body digits changes the weighted sum, so the check catches it */
  make_cn_id(id, "440305", "19880808", "123");
  char swapped[19];
  memcpy(swapped, id, sizeof swapped);
  swapped[14] = id[15];
  swapped[15] = id[14];
  assert_int_equal(cn_id(swapped, 0), 0);
}

static void cn_id_birth_dates(void **state) {
  (void)state;
  char id[19];
  struct {
    const char *date;
    int valid;
  } cases[] = {
      {"20000229", 1},                                   /* divisible by 400: leap */
      {"19960229", 1}, {"20240229", 1}, {"19000229", 0}, /* divisible by 100, not 400: common */
      {"20230229", 0}, {"20230228", 1}, {"19880230", 0}, {"19880231", 0}, {"19880431", 0},
      {"19880430", 1}, {"19881231", 1}, {"19881232", 0}, {"19881301", 0}, {"19880001", 0},
      {"19880100", 0}, {"19000101", 1}, {"18991231", 0}, /* before 1900 */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    make_cn_id(id, "310104", cases[i].date, "456");
    if (cn_id(id, 0) != cases[i].valid) fail_msg("%s: want %d", id, cases[i].valid);
  }

  /* future dates, only when today is given */
  make_cn_id(id, "310104", "20240102", "456");
  assert_int_equal(cn_id(id, 20240101), 0);
  assert_int_equal(cn_id(id, 20240102), 1); /* born today */
  assert_int_equal(cn_id(id, 20240103), 1);
  make_cn_id(id, "310104", "20990101", "456");
  assert_int_equal(cn_id(id, 0), 1);
  assert_int_equal(cn_id(id, 20260101), 0);
}

static void cn_id_provinces(void **state) {
  (void)state;
  /* written out as a list rather than ranges, to disagree with the implementation if either is mistyped */
  static const int in_use[] = {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43,
                               44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83};
  for (int province = 0; province <= 99; province++) {
    int want = 0;
    for (size_t i = 0; i < sizeof in_use / sizeof in_use[0]; i++)
      want |= in_use[i] == province;
    char region[7], id[19];
    snprintf(region, sizeof region, "%02d0101", province);
    make_cn_id(id, region, "19900615", "321");
    if (cn_id(id, 0) != want) fail_msg("province %02d: want %d", province, want);
    /* same in the legacy form */
    char legacy[16];
    snprintf(legacy, sizeof legacy, "%.6s900615321", region);
    if (cn_id(legacy, 0) != want) fail_msg("legacy province %02d: want %d", province, want);
  }
  /* residence permits for Hong Kong, Macao and Taiwan residents */
  char id[19];
  make_cn_id(id, "810000", "19900615", "001");
  assert_int_equal(cn_id(id, 0), 1);
  make_cn_id(id, "830000", "19900615", "001");
  assert_int_equal(cn_id(id, 0), 1);
  make_cn_id(id, "990101", "19900615", "001");
  assert_int_equal(cn_id(id, 0), 0);
}

static void cn_id_legacy_15(void **state) {
  (void)state;
  hg_cn_id_info info;
  assert_int_equal(hg_cn_id_valid(S("110105491231002"), 0, &info), 1);
  assert_int_equal(info.region, 110105);
  assert_int_equal(info.year, 1949);
  assert_int_equal(info.month, 12);
  assert_int_equal(info.day, 31);
  assert_int_equal(info.female, 1); /* 15th digit 2 */
  assert_int_equal(hg_cn_id_valid(S("110105491231003"), 0, &info), 1);
  assert_int_equal(info.female, 0);
  assert_int_equal(cn_id("110105960229003", 0), 1); /* 1996 is a leap year */
  assert_int_equal(cn_id("110105000229003", 0), 0); /* 1900 is not */
  assert_int_equal(cn_id("110105490230002", 0), 0);
  assert_int_equal(cn_id("110105491301002", 0), 0);
  assert_int_equal(cn_id("990105491231002", 0), 0);
  assert_int_equal(cn_id("11010549123100X", 0), 0); /* no check character in the legacy form */
  assert_int_equal(cn_id("11010549123100", 0), 0);
  assert_int_equal(cn_id("1101054912310021", 0), 0);
  assert_int_equal(cn_id("110105491231002", 19491230), 0); /* born after "today" */
}

static void cn_id_age(void **state) {
  (void)state;
  assert_int_equal(hg_cn_id_age(S("11010519491231002X"), 20241230), 74);
  assert_int_equal(hg_cn_id_age(S("11010519491231002X"), 20241231), 75);
  assert_int_equal(hg_cn_id_age(S("11010519491231002X"), 20250101), 75);
  assert_int_equal(hg_cn_id_age(S("11010519491231002X"), 19491231), 0);
  assert_int_equal(hg_cn_id_age(S("11010519491231002X"), 19491230), -1); /* not born yet */
  assert_int_equal(hg_cn_id_age(S("11010519491231002X"), 0), -1);        /* no date to measure against */
  assert_int_equal(hg_cn_id_age(S("110105194912310021"), 20240101), -1); /* wrong check */
  assert_int_equal(hg_cn_id_age(S("110105491231002"), 20241231), 75);
  char id[19];
  make_cn_id(id, "500101", "20000229", "777");
  assert_int_equal(hg_cn_id_age(id, 18, 20230228), 22);
  assert_int_equal(hg_cn_id_age(id, 18, 20230301), 23);
  assert_int_equal(hg_cn_id_age(id, 18, 20240228), 23);
  assert_int_equal(hg_cn_id_age(id, 18, 20240229), 24);
}

/* ---- payment cards -------------------------------------------------------------------------------------- */

static void luhn(void **state) {
  (void)state;
  assert_int_equal(hg_luhn_valid(S("4111111111111111")), 1);
  assert_int_equal(hg_luhn_valid(S("4111111111111112")), 0);
  assert_int_equal(hg_luhn_valid(S("4111111111111121")), 0); /* adjacent transposition */
  assert_int_equal(hg_luhn_valid(S("79927398713")), 1);      /* the classic worked example */
  for (char c = '0'; c <= '9'; c++) {
    char s[] = "7992739871x";
    s[10] = c;
    assert_int_equal(hg_luhn_valid(S(s)), c == '3');
  }
  assert_int_equal(hg_luhn_valid(S("18")), 1);
  assert_int_equal(hg_luhn_valid(S("0")), 0); /* a lone check digit checks nothing */
  assert_int_equal(hg_luhn_valid(S("")), 0);
  assert_int_equal(hg_luhn_valid(S("4111 1111 1111 1111")), 0);
  assert_int_equal(hg_luhn_valid(S("411111111111111a")), 0);
  assert_int_equal(hg_luhn_valid(NULL, 4), 0);
  /* the reference completion always produces valid numbers and every other last digit is invalid */
  char buf[24];
  for (unsigned n = 0; n < 2000; n++) {
    snprintf(buf, sizeof buf, "62%013u", n * 7919u);
    luhn_complete(buf);
    assert_int_equal(hg_luhn_valid(buf, 16), 1);
    buf[15] = (char)('0' + (buf[15] - '0' + 1 + n % 9) % 10);
    assert_int_equal(hg_luhn_valid(buf, 16), 0);
  }
}

static int card(const char *s) { return hg_card_type(s, strlen(s)); }

static void card_types(void **state) {
  (void)state;
  /* UnionPay: a synthetic number built on a 622202 prefix, at every length 16-19 */
  assert_int_equal(card("6222020200112230"), HG_PII_BANK_CARD);    /* 16 */
  assert_int_equal(card("62220202001122334"), -1);                 /* 17, check digit not completed */
  assert_int_equal(card("622202020011223349"), HG_PII_BANK_CARD);  /* 18 */
  assert_int_equal(card("6222020200112233446"), HG_PII_BANK_CARD); /* 19 */
  assert_int_equal(card("6222020200112231"), -1);                  /* Luhn fails */
  assert_int_equal(card("6222020200112233445"), -1);
  char buf[24];
  for (int len = 12; len <= 21; len++) {
    snprintf(buf, sizeof buf, "%.*s", len - 1, "62148300123456789012345");
    luhn_complete(buf);
    int want = len >= 16 && len <= 19 ? HG_PII_BANK_CARD : -1;
    if (card(buf) != want) fail_msg("%s: want %d", buf, want);
  }

  /* other schemes, with the schemes' own published test numbers */
  assert_int_equal(card("4111111111111111"), HG_PII_PAYMENT_CARD); /* Visa 16 */
  assert_int_equal(card("4222222222222"), HG_PII_PAYMENT_CARD);    /* Visa 13 */
  assert_int_equal(card("5555555555554444"), HG_PII_PAYMENT_CARD); /* Mastercard */
  assert_int_equal(card("2221000000000009"), HG_PII_PAYMENT_CARD); /* Mastercard 2-series, lower end */
  assert_int_equal(card("2720999999999996"), HG_PII_PAYMENT_CARD); /* upper end */
  assert_int_equal(card("378282246310005"), HG_PII_PAYMENT_CARD);  /* Amex */
  assert_int_equal(card("371449635398431"), HG_PII_PAYMENT_CARD);
  assert_int_equal(card("3530111333300000"), HG_PII_PAYMENT_CARD); /* JCB */
  assert_int_equal(card("3566002020360505"), HG_PII_PAYMENT_CARD);
  assert_int_equal(card("6011111111111117"), HG_PII_PAYMENT_CARD); /* Discover */
  assert_int_equal(card("6011000990139424"), HG_PII_PAYMENT_CARD);
  assert_int_equal(card("30569309025904"), HG_PII_PAYMENT_CARD); /* Diners 14 */
  assert_int_equal(card("38520000023237"), HG_PII_PAYMENT_CARD);
  assert_int_equal(card("36227206271667"), HG_PII_PAYMENT_CARD);

  /* prefix x length table, each number completed by the reference Luhn */
  struct {
    const char *prefix;
    int len, want;
  } cases[] = {
      {"4", 13, HG_PII_PAYMENT_CARD},
      {"4", 16, HG_PII_PAYMENT_CARD},
      {"4", 19, HG_PII_PAYMENT_CARD},
      {"4", 14, -1},
      {"4", 15, -1},
      {"4", 17, -1},
      {"4", 18, -1},
      {"51", 16, HG_PII_PAYMENT_CARD},
      {"55", 16, HG_PII_PAYMENT_CARD},
      {"50", 16, -1},
      {"56", 16, -1},
      {"55", 15, -1},
      {"55", 19, -1},
      {"2221", 16, HG_PII_PAYMENT_CARD},
      {"2720", 16, HG_PII_PAYMENT_CARD},
      {"2220", 16, -1},
      {"2721", 16, -1},
      {"34", 15, HG_PII_PAYMENT_CARD},
      {"37", 15, HG_PII_PAYMENT_CARD},
      {"34", 16, -1},
      {"35", 15, -1},
      {"3528", 16, HG_PII_PAYMENT_CARD},
      {"3589", 19, HG_PII_PAYMENT_CARD},
      {"3527", 16, -1},
      {"3590", 16, -1},
      {"3528", 15, -1},
      {"6011", 16, HG_PII_PAYMENT_CARD},
      {"6011", 19, HG_PII_PAYMENT_CARD},
      {"644", 16, HG_PII_PAYMENT_CARD},
      {"649", 17, HG_PII_PAYMENT_CARD},
      {"65", 16, HG_PII_PAYMENT_CARD},
      {"643", 16, -1},
      {"6012", 16, -1},
      {"65", 15, -1},
      {"300", 14, HG_PII_PAYMENT_CARD},
      {"305", 19, HG_PII_PAYMENT_CARD},
      {"36", 14, HG_PII_PAYMENT_CARD},
      {"38", 15, HG_PII_PAYMENT_CARD},
      {"39", 16, HG_PII_PAYMENT_CARD},
      {"306", 14, -1},
      {"36", 13, -1},
      {"1", 16, -1},
      {"9", 16, -1},
      {"0", 16, -1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    snprintf(buf, sizeof buf, "%s%.*s", cases[i].prefix, cases[i].len - 1 - (int)strlen(cases[i].prefix),
             "1234567890123456789");
    luhn_complete(buf);
    assert_int_equal((int)strlen(buf), cases[i].len);
    if (card(buf) != cases[i].want) fail_msg("%s: want %d", buf, cases[i].want);
    /* with a wrong check digit nothing is a card */
    buf[cases[i].len - 1] = (char)('0' + (buf[cases[i].len - 1] - '0' + 5) % 10);
    assert_int_equal(card(buf), -1);
  }

  assert_int_equal(card("4111-1111-1111-1111"), -1);
  assert_int_equal(card("411111111111111x"), -1);
  assert_int_equal(card(""), -1);
  assert_int_equal(card("41111111111111111111"), -1); /* 20 digits */
  assert_int_equal(hg_card_type(NULL, 16), -1);
}

/* ---- unified social credit code ------------------------------------------------------------------------- */

static int uscc(const char *s) { return hg_uscc_valid(s, strlen(s)); }

static void uscc_codes(void **state) {
  (void)state;
  assert_int_equal(uscc("91350100M000100Y43"), 1);
  assert_int_equal(uscc("91350100m000100y43"), 1);
  assert_int_equal(ref_uscc_check("91350100M000100Y4"), '3');
  for (const char *c = uscc_chars; *c; c++) {
    char s[] = "91350100M000100Y43";
    s[17] = *c;
    assert_int_equal(uscc(s), *c == '3');
  }
  assert_int_equal(uscc("91350100M000100Y4"), 0);
  assert_int_equal(uscc("91350100M000100Y433"), 0);
  assert_int_equal(uscc(""), 0);
  assert_int_equal(hg_uscc_valid(NULL, 18), 0);

  /* synthetic codes; the leading authority code may be any character of the set but 0 */
  char s[19];
  for (const char *c = uscc_chars; *c; c++) {
    snprintf(s, sizeof s, "%c1110000MA01234%c5", *c, c[1] ? c[1] : 'Y');
    s[17] = ref_uscc_check(s);
    s[18] = '\0';
    assert_int_equal(uscc(s), *c != '0');
  }
  /* letters outside the set (I, O, S, V, Z) are rejected even where the sum would work out */
  const char *excluded = "IOSVZ";
  for (const char *c = excluded; *c; c++) {
    snprintf(s, sizeof s, "91110000MA0123%c45", *c);
    s[18] = '\0';
    for (const char *check = uscc_chars; *check; check++) {
      s[17] = *check;
      assert_int_equal(uscc(s), 0);
    }
  }
  assert_int_equal(uscc("91350100M000100Y4 "), 0);
  assert_int_equal(uscc("91350100-000100Y43"), 0);
}

/* ---- Hong Kong, Macao, Taiwan --------------------------------------------------------------------------- */

static int hk(const char *s) { return hg_hk_id_valid(s, strlen(s)); }

static void hk_ids(void **state) {
  (void)state;
  assert_int_equal(hk("A123456(3)"), 1);
  assert_int_equal(hk("A1234563"), 1);
  assert_int_equal(ref_hk_check("A123456"), '3');
  assert_int_equal(hk("AB987654(3)"), 1);
  assert_int_equal(hk("AB987654(A)"), 0); /* the header's shape example; its check is 3 */
  assert_int_equal(hk("G123456(A)"), 1);  /* check value 10 */
  assert_int_equal(hk("G123456A"), 1);
  assert_int_equal(hk("a123456(3)"), 1); /* folded text is lower case */
  assert_int_equal(hk("g123456(a)"), 1);
  const char *checks = "0123456789A";
  for (const char *c = checks; *c; c++) {
    char s[] = "A123456(x)";
    s[8] = *c;
    assert_int_equal(hk(s), *c == '3');
  }
  assert_int_equal(hk("A123456(3"), 0);
  assert_int_equal(hk("A1234563)"), 0);
  assert_int_equal(hk("A123456()"), 0);
  assert_int_equal(hk("A123456[3]"), 0);
  assert_int_equal(hk("A12345(6)"), 0);    /* five digits */
  assert_int_equal(hk("A1234567(3)"), 0);  /* seven digits */
  assert_int_equal(hk("ABC123456(3)"), 0); /* three letters */
  assert_int_equal(hk("1123456(3)"), 0);
  assert_int_equal(hk("A123456(B)"), 0);
  assert_int_equal(hk(""), 0);
  assert_int_equal(hg_hk_id_valid(NULL, 10), 0);

  /* the reference check over one- and two-letter prefixes; this reaches every check value 0..A */
  int seen[11] = {0};
  char body[9], s[12];
  for (int i = 0; i < 2 * 26 * 40; i++) {
    int two = i % 2;
    char first = (char)('A' + (i / 2) % 26);
    if (two)
      snprintf(body, sizeof body, "%c%c%06d", first, (char)('Z' - (i / 3) % 26), i * 127 % 1000000);
    else
      snprintf(body, sizeof body, "%c%06d", first, i * 131 % 1000000);
    char check = ref_hk_check(body);
    seen[check == 'A' ? 10 : check - '0'] = 1;
    snprintf(s, sizeof s, "%s(%c)", body, check);
    if (!hk(s)) fail_msg("%s should be valid", s);
    snprintf(s, sizeof s, "%s%c", body, check);
    assert_int_equal(hk(s), 1);
    s[strlen(s) - 1] = check == '0' ? 'A' : '0';
    assert_int_equal(hk(s), 0);
  }
  for (int v = 0; v <= 10; v++)
    assert_true(seen[v]);
}

static int tw(const char *s) { return hg_tw_id_valid(s, strlen(s)); }

static void tw_ids(void **state) {
  (void)state;
  assert_int_equal(tw("A123456789"), 1);
  assert_int_equal(tw("a123456789"), 1);
  assert_int_equal(ref_tw_check("A12345678"), '9');
  for (char c = '0'; c <= '9'; c++) {
    char s[] = "A12345678x";
    s[9] = c;
    assert_int_equal(tw(s), c == '9');
  }
  assert_int_equal(tw("A12345678"), 0);
  assert_int_equal(tw("A1234567890"), 0);
  assert_int_equal(tw("1123456789"), 0);
  assert_int_equal(tw("AB23456789"), 0);
  assert_int_equal(tw(""), 0);
  assert_int_equal(hg_tw_id_valid(NULL, 10), 0);

  /* every letter and every allowed second digit; others are rejected even with a matching check */
  char s[11];
  for (char letter = 'A'; letter <= 'Z'; letter++) {
    for (char second = '0'; second <= '9'; second++) {
      snprintf(s, sizeof s, "%c%c2468013", letter, second);
      s[9] = ref_tw_check(s);
      s[10] = '\0';
      int want = second == '1' || second == '2' || second == '8' || second == '9';
      if (tw(s) != want) fail_msg("%s: want %d", s, want);
      s[9] = (char)('0' + (s[9] - '0' + 3) % 10);
      assert_int_equal(tw(s), 0);
    }
  }
}

static int mo(const char *s) { return hg_mo_id_valid(s, strlen(s)); }

static void mo_ids(void **state) {
  (void)state;
  assert_int_equal(mo("1234567(8)"), 1);
  assert_int_equal(mo("12345678"), 1);
  assert_int_equal(mo("5234567(0)"), 1);
  assert_int_equal(mo("7000000(9)"), 1);
  for (char first = '0'; first <= '9'; first++) {
    char s[] = "x234567(8)";
    s[0] = first;
    assert_int_equal(mo(s), first == '1' || first == '5' || first == '7');
  }
  assert_int_equal(mo("1234567(A)"), 0);
  assert_int_equal(mo("1234567(8"), 0);
  assert_int_equal(mo("12345678)"), 0);
  assert_int_equal(mo("1234567"), 0);
  assert_int_equal(mo("123456789"), 0);
  assert_int_equal(mo("123456(7)"), 0);
  assert_int_equal(mo("12345a7(8)"), 0);
  assert_int_equal(mo(""), 0);
  assert_int_equal(hg_mo_id_valid(NULL, 8), 0);
}

/* ---- mobile numbers ------------------------------------------------------------------------------------- */

static int mobile(const char *s) { return hg_cn_mobile_valid(s, strlen(s)); }

static void mobile_numbers(void **state) {
  (void)state;
  for (char second = '0'; second <= '9'; second++) {
    char s[] = "1x812345678";
    s[1] = second;
    assert_int_equal(mobile(s), second >= '3');
  }
  assert_int_equal(mobile("19912345678"), 1);
  assert_int_equal(mobile("23812345678"), 0);
  assert_int_equal(mobile("1381234567"), 0);
  assert_int_equal(mobile("138123456789"), 0);
  assert_int_equal(mobile("138-1234-5678"), 0);
  assert_int_equal(mobile("+8613812345678"), 0); /* the prefix is the caller's to strip */
  assert_int_equal(mobile("1381234567a"), 0);
  assert_int_equal(mobile(""), 0);
  assert_int_equal(hg_cn_mobile_valid(NULL, 11), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(type_names_and_labels),
      cmocka_unit_test(cn_id_textbook_example),
      cmocka_unit_test(cn_id_synthetic_and_sex),
      cmocka_unit_test(cn_id_birth_dates),
      cmocka_unit_test(cn_id_provinces),
      cmocka_unit_test(cn_id_legacy_15),
      cmocka_unit_test(cn_id_age),
      cmocka_unit_test(luhn),
      cmocka_unit_test(card_types),
      cmocka_unit_test(uscc_codes),
      cmocka_unit_test(hk_ids),
      cmocka_unit_test(tw_ids),
      cmocka_unit_test(mo_ids),
      cmocka_unit_test(mobile_numbers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
