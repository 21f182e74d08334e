/* test_identity.c — real-name identity (hegui/identity.h): the sealing key from the environment or a file, the
 * normalising and checking of typed fields, the moment of coming of age, sealing and its refusals, and the
 * reading of a verification provider's answers. Every ID number here is synthetic: a date and a sequence with the
 * MOD 11-2 check digit computed below, independently of the library's own. */
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
#include <sodium.h>

#include "hegui/identity.h"
#include "hegui/store.h"

#define TODAY 20250601u

/* ---- helpers ----------------------------------------------------------------------------------------------- */

/* GB 11643: the i-th of 17 digits weighs 2^(17-i) mod 11; the check value c makes sum + c = 1 mod 11. */
static void make_id(char out[19], const char *region6, const char *birth8, const char *sequence3) {
  snprintf(out, 19, "%.6s%.8s%.3s", region6, birth8, sequence3);
  unsigned sum = 0;
  for (int i = 0; i < 17; i++) {
    unsigned w = 1;
    for (int k = 0; k < 17 - i; k++)
      w = w * 2 % 11;
    sum += (unsigned)(out[i] - '0') * w;
  }
  unsigned c = (12 - sum % 11) % 11;
  out[17] = c == 10 ? 'X' : (char)('0' + c);
  out[18] = '\0';
}

/* The first sequence number from 000 on whose check character is X. */
static void make_id_with_x(char out[19], const char *region6, const char *birth8) {
  for (int s = 0; s < 1000; s++) {
    char seq[4];
    snprintf(seq, sizeof seq, "%03d", s);
    make_id(out, region6, birth8, seq);
    if (out[17] == 'X') return;
  }
  fail_msg("no sequence gives X");
}

static hg_identity_fields fields(const char *name, const char *id, const char *phone) {
  hg_identity_fields f;
  memset(&f, 0, sizeof f);
  snprintf(f.name, sizeof f.name, "%s", name);
  snprintf(f.id_number, sizeof f.id_number, "%s", id);
  snprintf(f.phone, sizeof f.phone, "%s", phone);
  return f;
}

static char tmpdir[64];

static int make_tmpdir(void **state) {
  (void)state;
  snprintf(tmpdir, sizeof tmpdir, "/tmp/hegui-identity-XXXXXX");
  unsetenv("HEGUI_IDENTITY_KEY");
  return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  unsetenv("HEGUI_IDENTITY_KEY");
  return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text, mode_t mode) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  assert_int_equal(chmod(path, mode), 0);
}

static const char hex_a[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
static const char hex_b[] = "FFEEDDCCBBAA99887766554433221100ffeeddccbbaa99887766554433221100";

/* ---- the key ----------------------------------------------------------------------------------------------- */

static void key_from_file_and_env(void **state) {
  (void)state;
  char path[128];
  snprintf(path, sizeof path, "%s/a.key", tmpdir);
  write_file(path, hex_a, 0600);
  uint8_t key[HG_IDENTITY_KEY_BYTES];
  hg_error err;
  assert_int_equal(hg_identity_key_load(path, 0, key, &err), HG_OK);
  for (int i = 0; i < 32; i++)
    assert_int_equal(key[i], i);

  /* a line end after the hex is fine, both kinds */
  write_file(path, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\r\n", 0600);
  assert_int_equal(hg_identity_key_load(path, 0, key, &err), HG_OK);
  assert_int_equal(key[31], 31);

  /* the environment wins over the file, upper-case hex included */
  setenv("HEGUI_IDENTITY_KEY", hex_b, 1);
  assert_int_equal(hg_identity_key_load(path, 0, key, &err), HG_OK);
  assert_int_equal(key[0], 0xFF);
  assert_int_equal(key[15], 0x00);
  assert_int_equal(key[16], 0xFF);
  /* even with no file at all */
  assert_int_equal(hg_identity_key_load(NULL, 0, key, &err), HG_OK);
  /* and a bad value in the environment is an error, not a fall-back to the file */
  setenv("HEGUI_IDENTITY_KEY", "abc", 1);
  assert_int_equal(hg_identity_key_load(path, 0, key, &err), HG_ERR_PARSE);
  assert_non_null(strstr(err.message, "HEGUI_IDENTITY_KEY: expected 64 hex characters, found 3"));
  unsetenv("HEGUI_IDENTITY_KEY");
  assert_int_equal(hg_identity_key_load(NULL, 0, key, &err), HG_ERR_INVALID);
  assert_non_null(strstr(err.message, "HEGUI_IDENTITY_KEY"));
}

static void key_created_0600(void **state) {
  (void)state;
  char path[128];
  snprintf(path, sizeof path, "%s/new.key", tmpdir);
  uint8_t key[HG_IDENTITY_KEY_BYTES], again[HG_IDENTITY_KEY_BYTES];
  hg_error err;
  assert_int_equal(hg_identity_key_load(path, 0, key, &err), HG_ERR_NOT_FOUND);
  assert_non_null(strstr(err.message, path));
  mode_t old = umask(0); /* the mode must not depend on a permissive umask */
  assert_int_equal(hg_identity_key_load(path, 1, key, &err), HG_OK);
  umask(old);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(st.st_size, 65);
  FILE *f = fopen(path, "rb");
  char text[80] = {0};
  assert_int_equal(fread(text, 1, sizeof text, f), 65);
  fclose(f);
  assert_int_equal(text[64], '\n');
  assert_int_equal(strspn(text, "0123456789abcdef"), 64);
  /* loading again, with or without create, gives the same key */
  assert_int_equal(hg_identity_key_load(path, 1, again, &err), HG_OK);
  assert_memory_equal(key, again, sizeof key);
  assert_int_equal(hg_identity_key_load(path, 0, again, &err), HG_OK);
  assert_memory_equal(key, again, sizeof key);
  /* no temporary file left behind */
  char tmp[160];
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  assert_int_not_equal(access(tmp, F_OK), 0);
  /* the directory must exist */
  snprintf(path, sizeof path, "%s/no/such/dir.key", tmpdir);
  assert_int_equal(hg_identity_key_load(path, 1, key, &err), HG_ERR_IO);
}

static void key_refused(void **state) {
  (void)state;
  char path[128];
  snprintf(path, sizeof path, "%s/bad.key", tmpdir);
  uint8_t key[HG_IDENTITY_KEY_BYTES];
  hg_error err;
  write_file(path, hex_a, 0644);
  assert_int_equal(hg_identity_key_load(path, 1, key, &err), HG_ERR_INVALID);
  assert_non_null(strstr(err.message, "chmod 600"));
  assert_non_null(strstr(err.message, "644"));
  write_file(path, hex_a, 0640);
  assert_int_equal(hg_identity_key_load(path, 0, key, &err), HG_ERR_INVALID);
  write_file(path, hex_a, 0604);
  assert_int_equal(hg_identity_key_load(path, 0, key, &err), HG_ERR_INVALID);

  write_file(path, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g", 0600);
  assert_int_equal(hg_identity_key_load(path, 0, key, &err), HG_ERR_PARSE);
  assert_non_null(strstr(err.message, "character 64 is not a hex digit"));
  write_file(path, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1", 0600);
  assert_int_equal(hg_identity_key_load(path, 0, key, &err), HG_ERR_PARSE);
  assert_non_null(strstr(err.message, "expected 64 hex characters, found 63"));
  write_file(path, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f00", 0600);
  assert_int_equal(hg_identity_key_load(path, 0, key, &err), HG_ERR_PARSE);
  write_file(path, "", 0600);
  assert_int_equal(hg_identity_key_load(path, 1, key, &err), HG_ERR_PARSE); /* empty is not missing */
  /* a 32-byte raw key is not the format */
  write_file(path, "0123456789abcdef0123456789abcdef", 0600);
  assert_int_equal(hg_identity_key_load(path, 0, key, &err), HG_ERR_PARSE);
  /* a directory is not a key */
  assert_int_equal(hg_identity_key_load(tmpdir, 0, key, &err), HG_ERR_IO);
}

/* ---- checking the fields ----------------------------------------------------------------------------------- */

static void check_valid_and_normalised(void **state) {
  (void)state;
  char id[19];
  make_id(id, "110101", "19900307", "123");
  hg_identity_fields f = fields("  张三 ", id, "");
  int64_t adult = 0;
  hg_error err;
  assert_int_equal(hg_identity_check(&f, TODAY, &adult, &err), HG_OK);
  assert_string_equal(f.name, "张三");
  assert_string_equal(f.id_number, id);
  assert_string_equal(f.phone, "");
  assert_true(adult == INT64_C(1204819200000)); /* 2008-03-07 00:00 +08:00 */
  /* checking again changes nothing; a NULL adult_from_ms is fine */
  hg_identity_fields copy = f;
  assert_int_equal(hg_identity_check(&f, TODAY, NULL, &err), HG_OK);
  assert_memory_equal(&copy, &f, sizeof f);

  /* lower-case x */
  char x_id[19], lower[19];
  make_id_with_x(x_id, "310104", "20040229");
  snprintf(lower, sizeof lower, "%s", x_id);
  lower[17] = 'x';
  f = fields("李四", lower, "13800138000");
  assert_int_equal(hg_identity_check(&f, TODAY, &adult, &err), HG_OK);
  assert_string_equal(f.id_number, x_id);
  assert_string_equal(f.phone, "13800138000");

  /* a birth today is fine; the day before the 18th birthday is still a minor's */
  make_id(id, "440305", "20250601", "001");
  f = fields("王五", id, "");
  assert_int_equal(hg_identity_check(&f, TODAY, &adult, &err), HG_OK);
  /* today 0: no upper bound on the birth date */
  make_id(id, "440305", "20990101", "001");
  f = fields("王五", id, "");
  assert_int_equal(hg_identity_check(&f, 0, NULL, &err), HG_OK);
}

static void set_full_width_and_typed_forms(void **state) {
  (void)state;
  char id[19], x_id[19];
  make_id(id, "110101", "19900307", "123");
  make_id_with_x(x_id, "310104", "20040229");
  /* full-width digits take three bytes each: only the raw-input setter can take them */
  char typed[128] = "\xE3\x80\x80"; /* an ideographic space */
  for (int i = 0; i < 17; i++) {
    char fw[4] = {(char)0xEF, (char)0xBC, (char)(0x90 + (x_id[i] - '0')), 0}; /* U+FF10 + digit */
    strcat(typed, fw);
  }
  strcat(typed, "\xEF\xBD\x98 "); /* U+FF58 full-width x, a space */
  hg_identity_fields f;
  hg_error err;
  assert_int_equal(hg_identity_fields_set(&f, " 李四\xE3\x80\x80", typed, "+86 138-0013-8000", &err), HG_OK);
  assert_string_equal(f.name, "李四");
  assert_string_equal(f.id_number, x_id);
  assert_string_equal(f.phone, "13800138000");
  int64_t adult;
  assert_int_equal(hg_identity_check(&f, TODAY, &adult, &err), HG_OK);
  assert_string_equal(f.id_number, x_id);

  /* upper-case full-width X too (U+FF38) */
  char typed_upper[24];
  snprintf(typed_upper, sizeof typed_upper, "%.17s\xEF\xBC\xB8", x_id);
  assert_int_equal(hg_identity_fields_set(&f, "李四", typed_upper, NULL, &err), HG_OK);
  assert_string_equal(f.id_number, x_id);
  assert_string_equal(f.phone, "");

  /* the phone forms */
  static const char *const phones[] = {
      "13800138000",     "+86 138-0013-8000",   "+8613800138000", "0086 13800138000", "0086-138-0013-8000",
      "86 13800138000",  "(+86) 138 0013 8000", "138.0013.8000",  "138—0013—8000",    "＋８６１３８００１３８０００",
      " 138 0013 8000 ",
  };
  for (size_t i = 0; i < sizeof phones / sizeof phones[0]; i++) {
    assert_int_equal(hg_identity_fields_set(&f, "张三", id, phones[i], &err), HG_OK);
    assert_string_equal(f.phone, "13800138000");
  }
  /* 19x and 16x numbers */
  assert_int_equal(hg_identity_fields_set(&f, "张三", id, "19912345678", &err), HG_OK);
  assert_int_equal(hg_identity_fields_set(&f, "张三", id, "   ", &err), HG_OK);
  assert_string_equal(f.phone, "");
  /* an in-place check folds what fits: separators within the field's 15 bytes */
  f = fields("张三", id, "138-0013-8000");
  assert_int_equal(hg_identity_check(&f, TODAY, NULL, &err), HG_OK);
  assert_string_equal(f.phone, "13800138000");
}

static void expect_refused(const char *name, const char *id, const char *phone, hg_status status, const char *message) {
  hg_identity_fields f, before;
  memset(&f, 0x5A, sizeof f);
  before = f;
  hg_error err;
  hg_error_clear(&err);
  hg_status st = hg_identity_fields_set(&f, name, id, phone, &err);
  if (st == HG_OK) {
    st = hg_identity_check(&f, TODAY, NULL, &err);
  } else {
    assert_memory_equal(&f, &before, sizeof f); /* a refused set leaves the fields as they were */
  }
  if (st != status || !strstr(err.message, message))
    fail_msg("%s / %s / %s: got %d \"%s\", expected %d \"%s\"", name, id, phone ? phone : "(null)", st, err.message,
             status, message);
}

static void check_refusals(void **state) {
  (void)state;
  char id[19], bad[19], date[19], future[19], region[19];
  make_id(id, "110101", "19900307", "123");
  snprintf(bad, sizeof bad, "%s", id);
  bad[17] = bad[17] == '0' ? '1' : '0';
  make_id(date, "110101", "19900230", "123");   /* no 30 February */
  make_id(future, "110101", "20250602", "123"); /* tomorrow */
  make_id(region, "990101", "19900307", "123"); /* no province 99 */

  expect_refused("张三", bad, "", HG_ERR_INVALID, "id_number: the check digit does not match");
  expect_refused("张三", date, "", HG_ERR_INVALID, "id_number: 1990-02-30 is not a possible birth date");
  char no_leap[19];
  make_id(no_leap, "110101", "19000229", "123"); /* 1900 was not a leap year */
  expect_refused("张三", no_leap, "", HG_ERR_INVALID, "is not a possible birth date");
  make_id(no_leap, "110101", "18991231", "123");
  expect_refused("张三", no_leap, "", HG_ERR_INVALID, "is not a possible birth date");
  expect_refused("张三", future, "", HG_ERR_INVALID, "id_number: the birth date 2025-06-02 is in the future");
  expect_refused("张三", region, "", HG_ERR_INVALID, "id_number: the region code 990101 is not one in use");
  expect_refused("张三", "110101900307123", "", HG_ERR_INVALID, "15-digit form is not accepted");
  expect_refused("张三", "11010119900307123", "", HG_ERR_INVALID, "expected 18 characters, found 17");
  expect_refused("张三", "", "", HG_ERR_INVALID, "id_number: missing");
  expect_refused("张三", NULL, "", HG_ERR_INVALID, "id_number: missing");
  expect_refused("张三", "11010119900307123Y", "", HG_ERR_INVALID, "only digits and a final X");
  expect_refused("张三", "1101011990X307123X", "", HG_ERR_INVALID, "only digits and a final X");
  expect_refused("张三", "110101 19900307 123", "", HG_ERR_INVALID, "id_number: expected 18 characters");
  expect_refused("张三", "11010119900307123\xE4\xB8\x80", "", HG_ERR_INVALID, "U+4E00 is not allowed");
  expect_refused("张三", "1101011990030712\xff", "", HG_ERR_UTF8, "id_number: not valid UTF-8");

  expect_refused("张三", id, "12345678901", HG_ERR_INVALID, "phone: not a mainland mobile number");
  expect_refused("张三", id, "1380013800", HG_ERR_INVALID, "phone: not a mainland mobile number");
  expect_refused("张三", id, "138001380001", HG_ERR_INVALID, "phone: not a mainland mobile number");
  expect_refused("张三", id, "138-0013-80a0", HG_ERR_INVALID, "phone: only digits");
  expect_refused("张三", id, "+1 415 555 0100", HG_ERR_INVALID, "phone: only mainland numbers");
  expect_refused("张三", id, "+", HG_ERR_INVALID, "phone: only mainland numbers");
  expect_refused("张三", id, "+86", HG_ERR_INVALID, "phone: not a mainland mobile number");
  expect_refused("张三", id, "138+00138000", HG_ERR_INVALID, "phone: only digits");
  expect_refused("张三", id, "010-62345678", HG_ERR_INVALID, "phone: not a mainland mobile number");
  expect_refused("张三", id, "( ) -", HG_ERR_INVALID, "phone: not a mainland mobile number");

  expect_refused("", id, "", HG_ERR_INVALID, "name: missing");
  expect_refused(NULL, id, "", HG_ERR_INVALID, "name: missing");
  expect_refused(" \t\xE3\x80\x80 ", id, "", HG_ERR_INVALID, "name: missing");
  expect_refused("张\x01三", id, "", HG_ERR_INVALID, "name: control character U+0001");
  expect_refused("张三\x7f", id, "", HG_ERR_INVALID, "name: control character U+007F");
  expect_refused("张\xC2\x85三", id, "", HG_ERR_INVALID, "name: control character U+0085");
  expect_refused("\xE2\x80\xAE"
                 "三张",
                 id, "", HG_ERR_INVALID, "name: control character U+202E");
  expect_refused("张\n三", id, "", HG_ERR_INVALID, "name: control character U+000A");
  expect_refused("张\xE2\x80\x8B三", id, "", HG_ERR_INVALID, "name: control character U+200B");
  expect_refused("\xEF\xBB\xBF张三", id, "", HG_ERR_INVALID, "name: control character U+FEFF");
  expect_refused("张\xE4\xB8", id, "", HG_ERR_UTF8, "name: not valid UTF-8");
  char long_name[200];
  memset(long_name, 'a', 128);
  long_name[128] = '\0';
  expect_refused(long_name, id, "", HG_ERR_LIMIT, "name: longer than 127 bytes");
  long_name[127] = '\0';
  hg_identity_fields f;
  hg_error err;
  assert_int_equal(hg_identity_fields_set(&f, long_name, id, "", &err), HG_OK);
  assert_int_equal(strlen(f.name), 127);
  /* a name with a middle dot, as Uyghur names are written in Chinese, is a name */
  assert_int_equal(hg_identity_fields_set(&f, "阿卜杜·买买提", id, "", &err), HG_OK);

  /* fields filled to the brim with no NUL are refused, never read past */
  memset(&f, 'A', sizeof f);
  assert_int_equal(hg_identity_check(&f, TODAY, NULL, &err), HG_ERR_LIMIT);
  f = fields("张三", id, "");
  memset(f.id_number, '1', sizeof f.id_number);
  assert_int_not_equal(hg_identity_check(&f, TODAY, NULL, &err), HG_OK);
  f = fields("张三", id, "");
  memset(f.phone, '1', sizeof f.phone);
  assert_int_not_equal(hg_identity_check(&f, TODAY, NULL, &err), HG_OK);
  /* a refused check leaves the fields as they were */
  f = fields(" 张三 ", bad, "");
  hg_identity_fields before = f;
  assert_int_equal(hg_identity_check(&f, TODAY, NULL, &err), HG_ERR_INVALID);
  assert_memory_equal(&f, &before, sizeof f);
}

static int64_t adult_of(const char *birth8) {
  char id[19];
  make_id(id, "320102", birth8, "201");
  hg_identity_fields f = fields("赵六", id, "");
  int64_t adult = 0;
  hg_error err;
  if (hg_identity_check(&f, 0, &adult, &err)) fail_msg("%s: %s", id, err.message);
  return adult;
}

static void adult_from_exact(void **state) {
  (void)state;
  /* expected values: 00:00 at UTC+8 of the 18th birthday, computed apart with Python's datetime */
  assert_true(adult_of("20000101") == INT64_C(1514736000000)); /* 2018-01-01 */
  assert_true(adult_of("19900307") == INT64_C(1204819200000)); /* 2008-03-07 */
  assert_true(adult_of("20061231") == INT64_C(1735574400000)); /* 2024-12-31 */
  assert_true(adult_of("19491231") == INT64_C(-63273600000));  /* 1967-12-31, before 1970 */
  assert_true(adult_of("20000228") == INT64_C(1519747200000)); /* 2018-02-28 */
  /* born on 29 February: 18 years later is a common year, so 1 March */
  assert_true(adult_of("20040229") == INT64_C(1646064000000)); /* 2022-03-01 */
  assert_true(adult_of("20000229") == adult_of("20000301"));
  /* one day is 86 400 000 ms, whatever the year */
  assert_true(adult_of("20000102") - adult_of("20000101") == INT64_C(86400000));
  assert_true(adult_of("20010101") - adult_of("20001231") == INT64_C(86400000));
}

/* ---- sealing ----------------------------------------------------------------------------------------------- */

static const uint8_t seal_key[HG_IDENTITY_KEY_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};

static void seal_round_trip(void **state) {
  (void)state;
  char id[19];
  make_id(id, "110101", "19900307", "123");
  hg_identity_fields f = fields("张三", id, "13800138000"), back;
  char sealed[HG_IDENTITY_SEALED_MAX], again[HG_IDENTITY_SEALED_MAX];
  hg_error err;
  assert_int_equal(hg_identity_seal(seal_key, &f, sealed, sizeof sealed, &err), HG_OK);
  assert_memory_equal(sealed, "v1.", 3);
  for (const char *p = sealed; *p; p++)
    assert_true(*p > 0x20 && *p < 0x7F);
  assert_null(strstr(sealed, id)); /* not in clear, obviously */
  assert_int_equal(hg_identity_unseal(seal_key, sealed, &back, &err), HG_OK);
  assert_memory_equal(&f, &back, sizeof f);
  /* a fresh nonce every time */
  assert_int_equal(hg_identity_seal(seal_key, &f, again, sizeof again, &err), HG_OK);
  assert_string_not_equal(sealed, again);
  /* the length says little about the name: names of 2 and 20 bytes seal to the same length */
  hg_identity_fields longer = fields("欧阳娜娜娜娜娜", id, "13800138000");
  assert_int_equal(hg_identity_seal(seal_key, &longer, again, sizeof again, &err), HG_OK);
  assert_int_equal(strlen(again), strlen(sealed));

  /* exactly enough room, and one byte less */
  size_t need = strlen(sealed) + 1;
  char *tight = malloc(need);
  assert_int_equal(hg_identity_seal(seal_key, &f, tight, need, &err), HG_OK);
  assert_int_equal(hg_identity_seal(seal_key, &f, tight, need - 1, &err), HG_ERR_LIMIT);
  free(tight);

  /* the worst case fits HG_IDENTITY_SEALED_MAX: every field full of characters JSON must escape */
  hg_identity_fields worst;
  memset(&worst, 0, sizeof worst);
  memset(worst.name, 0x01, sizeof worst.name - 1);
  memset(worst.id_number, '"', sizeof worst.id_number - 1);
  memset(worst.phone, '\\', sizeof worst.phone - 1);
  assert_int_equal(hg_identity_seal(seal_key, &worst, sealed, sizeof sealed, &err), HG_OK);
  assert_int_equal(hg_identity_unseal(seal_key, sealed, &back, &err), HG_OK);
  assert_memory_equal(&worst, &back, sizeof worst);

  /* what cannot be unsealed is not sealed either */
  hg_identity_fields empty = fields("", id, "");
  assert_int_equal(hg_identity_seal(seal_key, &empty, sealed, sizeof sealed, &err), HG_ERR_INVALID);
  hg_identity_fields unterminated = f;
  memset(unterminated.phone, '1', sizeof unterminated.phone);
  assert_int_equal(hg_identity_seal(seal_key, &unterminated, sealed, sizeof sealed, &err), HG_ERR_INVALID);
  hg_identity_fields not_utf8 = fields("\xff", id, "");
  assert_int_equal(hg_identity_seal(seal_key, &not_utf8, sealed, sizeof sealed, &err), HG_ERR_UTF8);
}

static void expect_corrupt(const uint8_t *key, const char *sealed) {
  hg_identity_fields out;
  memset(&out, 0x5A, sizeof out);
  hg_error err;
  hg_status st = hg_identity_unseal(key, sealed, &out, &err);
  if (st != HG_ERR_CORRUPT) fail_msg("unseal of \"%.60s\" gave %d, not HG_ERR_CORRUPT", sealed, st);
  hg_identity_fields zero;
  memset(&zero, 0, sizeof zero);
  assert_memory_equal(&out, &zero, sizeof out); /* nothing half-opened is left in out */
}

/* Seals any plaintext in the v1 layout, as hg_identity_seal would if its JSON were this. */
static void seal_raw(const char *plain, char *out, size_t cap) {
  size_t len = strlen(plain), box_len = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + len;
  uint8_t *box = malloc(box_len);
  randombytes_buf(box, crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, (const uint8_t *)plain, len, box, seal_key);
  memcpy(out, "v1.", 3);
  sodium_bin2base64(out + 3, cap - 3, box, box_len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  free(box);
}

static void unseal_refusals(void **state) {
  (void)state;
  assert_true(sodium_init() >= 0);
  char id[19];
  make_id(id, "110101", "19900307", "123");
  hg_identity_fields f = fields("张三", id, "13800138000");
  char sealed[HG_IDENTITY_SEALED_MAX], changed[HG_IDENTITY_SEALED_MAX + 8];
  hg_error err;
  assert_int_equal(hg_identity_seal(seal_key, &f, sealed, sizeof sealed, &err), HG_OK);
  size_t len = strlen(sealed);

  uint8_t other_key[HG_IDENTITY_KEY_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 11};
  expect_corrupt(other_key, sealed);

  /* every single changed character, anywhere, is noticed */
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (size_t i = 0; i < len; i++) {
    memcpy(changed, sealed, len + 1);
    changed[i] = changed[i] == 'A' ? 'B' : (changed[i] == 'v' ? 'w' : 'A');
    if (i == len - 1) changed[i] = b64[(strchr(b64, sealed[i]) - b64 + 16) % 64]; /* change the last one's value */
    expect_corrupt(seal_key, changed);
  }
  /* truncated at every length */
  for (size_t n = 0; n < len; n++) {
    memcpy(changed, sealed, n);
    changed[n] = '\0';
    expect_corrupt(seal_key, changed);
  }
  /* and longer */
  snprintf(changed, sizeof changed, "%sAAAA", sealed);
  expect_corrupt(seal_key, changed);
  snprintf(changed, sizeof changed, "%s=", sealed);
  expect_corrupt(seal_key, changed);
  expect_corrupt(seal_key, "");
  expect_corrupt(seal_key, "v1.");
  expect_corrupt(seal_key, "hello");
  expect_corrupt(seal_key, "v2.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  expect_corrupt(seal_key, "v1.!!!!");
  expect_corrupt(seal_key, "v1.AAAA AAAA");
  char *huge = malloc(100000);
  memset(huge, 'A', 99999);
  memcpy(huge, "v1.", 3);
  huge[99999] = '\0';
  expect_corrupt(seal_key, huge);
  free(huge);

  /* well sealed, with content that is not what hg_identity_seal writes */
  char long_name[300] = "{\"name\":\"";
  memset(long_name + strlen(long_name), 'a', 128);
  strcat(long_name, "\",\"id_number\":\"11010119900307123X\",\"phone\":\"\"}");
  static const char *const contents[] = {
      "{\"name\":\"张三\",\"id_number\":\"1101011990030712345\",\"phone\":\"\"}", /* 19 characters */
      "{\"name\":\"张三\",\"id_number\":\"11010119900307123X\",\"phone\":\"1380013800012345\"}",
      "{\"name\":\"张\\u0000三\",\"id_number\":\"11010119900307123X\",\"phone\":\"\"}", /* a NUL inside */
      "{\"name\":\"\",\"id_number\":\"11010119900307123X\",\"phone\":\"\"}",
      "{\"name\":\"张三\",\"id_number\":\"11010119900307123X\"}",
      "{\"name\":\"张三\",\"id_number\":\"11010119900307123X\",\"phone\":\"\",\"extra\":1}",
      "{\"name\":\"张三\",\"id_number\":\"11010119900307123X\",\"phone\":null}",
      "{\"name\":\"张三\",\"name\":\"李四\",\"id_number\":\"11010119900307123X\"}",
      "[\"张三\",\"11010119900307123X\",\"\"]",
      "\"张三\"",
      "",
      "{\"name\":\"张三\",\"id_number\":\"11010119900307123X\",\"phone\":\"\"",
      "{\"name\":\"张三\",\"id_number\":\"11010119900307123X\",\"phone\":\"\"} x",
  };
  char raw[HG_IDENTITY_SEALED_MAX];
  for (size_t i = 0; i < sizeof contents / sizeof contents[0]; i++) {
    seal_raw(contents[i], raw, sizeof raw);
    expect_corrupt(seal_key, raw);
  }
  seal_raw(long_name, raw, sizeof raw);
  expect_corrupt(seal_key, raw);
  /* the same layout with proper content opens, white space after the object included */
  seal_raw("{\"phone\":\"\",\"name\":\"张三\",\"id_number\":\"11010119900307123X\"}   ", raw, sizeof raw);
  hg_identity_fields back;
  assert_int_equal(hg_identity_unseal(seal_key, raw, &back, &err), HG_OK);
  assert_string_equal(back.name, "张三");
  assert_string_equal(back.id_number, "11010119900307123X");
  long_name[strlen("{\"name\":\"") + 127] = '"';
  memmove(long_name + strlen("{\"name\":\"") + 128, long_name + strlen("{\"name\":\"") + 129,
          strlen(long_name + strlen("{\"name\":\"") + 129) + 1);
  seal_raw(long_name, raw, sizeof raw); /* 127 bytes: fits */
  assert_int_equal(hg_identity_unseal(seal_key, raw, &back, &err), HG_OK);
  assert_int_equal(strlen(back.name), 127);
}

/* ---- the provider's protocol ------------------------------------------------------------------------------- */

static void request_body(void **state) {
  (void)state;
  hg_idv_config c;
  hg_idv_config_init(&c);
  assert_string_equal(c.url, "");
  assert_int_equal(c.timeout_ms, 5000);
  assert_string_equal(c.result_path, "result");
  assert_string_equal(c.verified_value, "verified");
  assert_string_equal(c.rejected_value, "rejected");
  assert_string_equal(c.reason_path, "reason");
  hg_identity_fields f = fields("张\"三", "11010119900307123X", "13800138000");
  char *body = hg_idv_request_body(&c, &f);
  assert_string_equal(body, "{\"name\":\"张\\\"三\",\"id_number\":\"11010119900307123X\",\"phone\":\"13800138000\"}");
  free(body);
  f.phone[0] = '\0'; /* not given: not sent */
  body = hg_idv_request_body(&c, &f);
  assert_string_equal(body, "{\"name\":\"张\\\"三\",\"id_number\":\"11010119900307123X\"}");
  free(body);
  snprintf(c.field_name, sizeof c.field_name, "realName");
  snprintf(c.field_id_number, sizeof c.field_id_number, "idCard");
  snprintf(c.field_phone, sizeof c.field_phone, "%s", "");
  snprintf(f.phone, sizeof f.phone, "13800138000");
  body = hg_idv_request_body(&c, &f);
  assert_string_equal(body, "{\"realName\":\"张\\\"三\",\"idCard\":\"11010119900307123X\"}");
  free(body);
  hg_identity_fields bad = fields("\xff", "11010119900307123X", "");
  assert_null(hg_idv_request_body(&c, &bad));
}

static hg_idv_result parse(const hg_idv_config *c, long status, const char *body, hg_status want_status, char *reason) {
  hg_idv_result r = (hg_idv_result)99;
  hg_error err;
  hg_error_clear(&err);
  hg_status st = hg_idv_parse_response(c, status, body, strlen(body), &r, reason, &err);
  if (st != want_status) fail_msg("%ld %s: status %d (%s), expected %d", status, body, st, err.message, want_status);
  return r;
}

static void parse_response(void **state) {
  (void)state;
  hg_idv_config c;
  hg_idv_config_init(&c);
  char reason[256];

  assert_int_equal(parse(&c, 200, "{\"result\":\"verified\"}", HG_OK, reason), HG_IDV_VERIFIED);
  assert_string_equal(reason, "verified by the provider");
  assert_int_equal(
      parse(&c, 200, "{\"result\":\"rejected\",\"reason\":\"name and ID number do not match\"}", HG_OK, reason),
      HG_IDV_REJECTED);
  assert_string_equal(reason, "name and ID number do not match");
  assert_int_equal(parse(&c, 200, "{\"result\":\"rejected\"}", HG_OK, reason), HG_IDV_REJECTED);
  assert_string_equal(reason, "rejected by the provider");
  assert_int_equal(parse(&c, 201, " {\"result\" : \"verified\", \"other\": [1, {\"x\": null}]} \n", HG_OK, NULL),
                   HG_IDV_VERIFIED);
  /* another verdict: undecided, saying which */
  assert_int_equal(parse(&c, 200, "{\"result\":\"pending\",\"reason\":\"queued\"}", HG_OK, reason), HG_IDV_UNDECIDED);
  assert_string_equal(reason, "provider answered neither verified nor rejected: \"pending\": queued");
  assert_int_equal(parse(&c, 200, "{\"result\":\"Verified\"}", HG_OK, reason), HG_IDV_UNDECIDED); /* exact match */
  assert_int_equal(parse(&c, 200, "{\"result\":true}", HG_OK, reason), HG_IDV_UNDECIDED);
  assert_string_equal(reason, "provider answered neither verified nor rejected: \"true\"");

  /* error statuses: undecided, with the provider's reason when there is one */
  assert_int_equal(parse(&c, 503, "", HG_OK, reason), HG_IDV_UNDECIDED);
  assert_string_equal(reason, "provider answered HTTP 503");
  assert_int_equal(parse(&c, 503, "<html>Service Unavailable</html>", HG_OK, reason), HG_IDV_UNDECIDED);
  assert_string_equal(reason, "provider answered HTTP 503");
  assert_int_equal(parse(&c, 503, "{\"reason\":\"busy\"}", HG_OK, reason), HG_IDV_UNDECIDED);
  assert_string_equal(reason, "provider answered HTTP 503: busy");
  /* even a verdict in an error answer is not taken */
  assert_int_equal(parse(&c, 400, "{\"result\":\"verified\"}", HG_OK, reason), HG_IDV_UNDECIDED);
  assert_string_equal(reason, "provider answered HTTP 400");
  assert_int_equal(parse(&c, 302, "{\"result\":\"verified\"}", HG_OK, reason), HG_IDV_UNDECIDED);
  assert_string_equal(reason, "provider answered HTTP 302");

  /* a 2xx that is not an answer */
  assert_int_equal(parse(&c, 200, "OK", HG_ERR_PARSE, reason), HG_IDV_UNDECIDED);
  assert_non_null(strstr(reason, "not a JSON object"));
  assert_int_equal(parse(&c, 200, "", HG_ERR_PARSE, reason), HG_IDV_UNDECIDED);
  assert_int_equal(parse(&c, 200, "[{\"result\":\"verified\"}]", HG_ERR_PARSE, reason), HG_IDV_UNDECIDED);
  assert_int_equal(parse(&c, 200, "\"verified\"", HG_ERR_PARSE, reason), HG_IDV_UNDECIDED);
  assert_int_equal(parse(&c, 200, "{\"status\":\"verified\"}", HG_ERR_PARSE, reason), HG_IDV_UNDECIDED);
  assert_string_equal(reason, "the provider's answer has nothing at 'result'");
  assert_int_equal(parse(&c, 200, "{\"result\":{\"v\":1}}", HG_ERR_PARSE, reason), HG_IDV_UNDECIDED);
  assert_int_equal(parse(&c, 200, "{\"result\":[\"verified\"]}", HG_ERR_PARSE, reason), HG_IDV_UNDECIDED);
  /* duplicate members are ambiguous: which verdict would count? */
  assert_int_equal(parse(&c, 200, "{\"result\":\"rejected\",\"result\":\"verified\"}", HG_ERR_PARSE, reason),
                   HG_IDV_UNDECIDED);
  hg_idv_result r;
  hg_error err;
  static const char with_nul[] = "{\"result\":\"verified\"}\0{}";
  assert_int_equal(hg_idv_parse_response(&c, 200, with_nul, sizeof with_nul - 1, &r, reason, &err), HG_ERR_PARSE);
  assert_int_equal(hg_idv_parse_response(&c, 200, "{\"result\":\"verified\"}", 10, &r, reason, &err), HG_ERR_PARSE);

  /* nested paths, and array indices */
  snprintf(c.result_path, sizeof c.result_path, "data.result");
  snprintf(c.reason_path, sizeof c.reason_path, "data.detail.message");
  assert_int_equal(parse(&c, 200, "{\"code\":0,\"data\":{\"result\":\"rejected\",\"detail\":{\"message\":\"不一致\"}}}",
                         HG_OK, reason),
                   HG_IDV_REJECTED);
  assert_string_equal(reason, "不一致");
  assert_int_equal(parse(&c, 200, "{\"data\":{\"result\":\"verified\"}}", HG_OK, reason), HG_IDV_VERIFIED);
  assert_int_equal(parse(&c, 200, "{\"result\":\"verified\"}", HG_ERR_PARSE, reason), HG_IDV_UNDECIDED);
  assert_string_equal(reason, "the provider's answer has nothing at 'data.result'");
  assert_int_equal(parse(&c, 200, "{\"data\":\"verified\"}", HG_ERR_PARSE, reason), HG_IDV_UNDECIDED);
  snprintf(c.result_path, sizeof c.result_path, "items.1.status");
  assert_int_equal(parse(&c, 200, "{\"items\":[{\"status\":\"rejected\"},{\"status\":\"verified\"}]}", HG_OK, reason),
                   HG_IDV_VERIFIED);
  assert_int_equal(parse(&c, 200, "{\"items\":[{\"status\":\"verified\"}]}", HG_ERR_PARSE, reason), HG_IDV_UNDECIDED);
  snprintf(c.result_path, sizeof c.result_path, "data..result");
  assert_int_equal(parse(&c, 200, "{\"data\":{\"result\":\"verified\"}}", HG_ERR_PARSE, reason), HG_IDV_UNDECIDED);
  snprintf(c.result_path, sizeof c.result_path, "%s", "");
  assert_int_equal(parse(&c, 200, "{\"data\":{\"result\":\"verified\"}}", HG_ERR_PARSE, reason), HG_IDV_UNDECIDED);

  /* numbers and booleans, compared by their JSON text */
  hg_idv_config_init(&c);
  snprintf(c.result_path, sizeof c.result_path, "data.verify_result");
  snprintf(c.verified_value, sizeof c.verified_value, "1");
  snprintf(c.rejected_value, sizeof c.rejected_value, "2");
  snprintf(c.reason_path, sizeof c.reason_path, "msg");
  assert_int_equal(parse(&c, 200, "{\"data\":{\"verify_result\":1},\"msg\":\"一致\"}", HG_OK, reason), HG_IDV_VERIFIED);
  assert_string_equal(reason, "一致");
  assert_int_equal(parse(&c, 200, "{\"data\":{\"verify_result\":2}}", HG_OK, reason), HG_IDV_REJECTED);
  assert_int_equal(parse(&c, 200, "{\"data\":{\"verify_result\":\"1\"}}", HG_OK, reason), HG_IDV_VERIFIED);
  assert_int_equal(parse(&c, 200, "{\"data\":{\"verify_result\":3},\"msg\":\"无记录\"}", HG_OK, reason),
                   HG_IDV_UNDECIDED);
  assert_string_equal(reason, "provider answered neither verified nor rejected: \"3\": 无记录");
  assert_int_equal(parse(&c, 200, "{\"data\":{\"verify_result\":1.5}}", HG_OK, reason), HG_IDV_UNDECIDED);
  assert_int_equal(parse(&c, 200, "{\"data\":{\"verify_result\":null}}", HG_OK, reason), HG_IDV_UNDECIDED);
  assert_int_equal(parse(&c, 200, "{\"data\":{\"verify_result\":11}}", HG_OK, reason), HG_IDV_UNDECIDED);
  /* a numeric reason is shown as its text */
  assert_int_equal(parse(&c, 200, "{\"data\":{\"verify_result\":2},\"msg\":4001}", HG_OK, reason), HG_IDV_REJECTED);
  assert_string_equal(reason, "4001");
  snprintf(c.result_path, sizeof c.result_path, "match");
  snprintf(c.verified_value, sizeof c.verified_value, "true");
  snprintf(c.rejected_value, sizeof c.rejected_value, "false");
  snprintf(c.reason_path, sizeof c.reason_path, "%s", ""); /* no reason path: hegui's own words */
  assert_int_equal(parse(&c, 200, "{\"match\":true,\"reason\":\"ignored\"}", HG_OK, reason), HG_IDV_VERIFIED);
  assert_string_equal(reason, "verified by the provider");
  assert_int_equal(parse(&c, 200, "{\"match\":false}", HG_OK, reason), HG_IDV_REJECTED);
  assert_int_equal(parse(&c, 200, "{\"match\":\"true\"}", HG_OK, reason), HG_IDV_VERIFIED);
  assert_int_equal(parse(&c, 200, "{\"match\":1}", HG_OK, reason), HG_IDV_UNDECIDED);
}

static void parse_response_bounds(void **state) {
  (void)state;
  hg_idv_config c;
  hg_idv_config_init(&c);
  char reason[256];
  /* the provider's reason made printable */
  assert_int_equal(
      parse(&c, 200, "{\"result\":\"rejected\",\"reason\":\"bad\\u0007\\nline\\u202e\\u0085x\"}", HG_OK, reason),
      HG_IDV_REJECTED);
  assert_string_equal(reason, "bad  line  x");
  /* and cut to 255 bytes at a character boundary */
  size_t n = 0;
  char *body = malloc(8000);
  n += (size_t)sprintf(body, "{\"result\":\"rejected\",\"reason\":\"");
  for (int i = 0; i < 1000; i++)
    n += (size_t)sprintf(body + n, "中");
  sprintf(body + n, "\"}");
  memset(reason, 'Z', sizeof reason);
  assert_int_equal(parse(&c, 200, body, HG_OK, reason), HG_IDV_REJECTED);
  assert_int_equal(strlen(reason), 255); /* 85 characters of 3 bytes */
  assert_memory_equal(reason, "中中", 6);
  /* a long unknown verdict and a long reason, and an error status with a long reason: never past 255 */
  n = (size_t)sprintf(body, "{\"result\":\"");
  for (int i = 0; i < 300; i++)
    body[n++] = 'v';
  n += (size_t)sprintf(body + n, "\",\"reason\":\"");
  for (int i = 0; i < 300; i++)
    n += (size_t)sprintf(body + n, "é");
  sprintf(body + n, "\"}");
  assert_int_equal(parse(&c, 200, body, HG_OK, reason), HG_IDV_UNDECIDED);
  assert_true(strlen(reason) <= 255);
  assert_int_equal(parse(&c, 500, body, HG_OK, reason), HG_IDV_UNDECIDED);
  assert_true(strlen(reason) <= 255);
  assert_memory_equal(reason, "provider answered HTTP 500: ", 28);
  assert_int_equal((unsigned char)reason[strlen(reason) - 1], 0xA9); /* whole characters only: é is C3 A9 */
  free(body);

  /* bodies up to 1 MiB are read; beyond is HG_ERR_LIMIT */
  size_t big = HG_IDV_RESPONSE_MAX;
  char *huge = malloc(big + 2);
  memset(huge, ' ', big + 1);
  memcpy(huge, "{\"result\":\"verified\"}", 21);
  hg_idv_result r;
  hg_error err;
  assert_int_equal(hg_idv_parse_response(&c, 200, huge, big, &r, reason, &err), HG_OK);
  assert_int_equal(r, HG_IDV_VERIFIED);
  assert_int_equal(hg_idv_parse_response(&c, 200, huge, big + 1, &r, reason, &err), HG_ERR_LIMIT);
  assert_int_equal(r, HG_IDV_UNDECIDED);
  assert_int_equal(hg_idv_parse_response(&c, 503, huge, big + 1, &r, reason, &err), HG_ERR_LIMIT);
  free(huge);
  /* bad arguments */
  assert_int_equal(hg_idv_parse_response(&c, 200, NULL, 3, &r, reason, &err), HG_ERR_INVALID);
  assert_int_equal(hg_idv_parse_response(NULL, 200, "{}", 2, &r, reason, &err), HG_ERR_INVALID);
  hg_idv_config broken;
  memset(&broken, 'a', sizeof broken);
  assert_int_equal(hg_idv_parse_response(&broken, 200, "{}", 2, &r, reason, &err), HG_ERR_INVALID);
  hg_identity_fields f = fields("张三", "11010119900307123X", "");
  assert_null(hg_idv_request_body(&broken, &f));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(key_from_file_and_env, make_tmpdir, remove_tmpdir),
      cmocka_unit_test_setup_teardown(key_created_0600, make_tmpdir, remove_tmpdir),
      cmocka_unit_test_setup_teardown(key_refused, make_tmpdir, remove_tmpdir),
      cmocka_unit_test(check_valid_and_normalised),
      cmocka_unit_test(set_full_width_and_typed_forms),
      cmocka_unit_test(check_refusals),
      cmocka_unit_test(adult_from_exact),
      cmocka_unit_test(seal_round_trip),
      cmocka_unit_test(unseal_refusals),
      cmocka_unit_test(request_body),
      cmocka_unit_test(parse_response),
      cmocka_unit_test(parse_response_bounds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
