/* test_pii.c — the PII detector and operators: every type found in realistic text, full-width and separated
 * forms, boundaries (an ID inside a longer digit run is not an ID), overlapping types, invalid check characters
 * refused, invalid UTF-8, streaming identical to one-shot under random cuts with nothing released too early,
 * and each operator (mask, placeholder with its vault, keyed hash, seal, drop). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hegui/pii.h"

typedef struct hits {
  hg_pii_hit v[256];
  size_t n;
  size_t released;
  int violation;
} hits;

static int collect(void *ctx, const hg_pii_hit *h) {
  hits *l = ctx;
  if (h->start < l->released) l->violation = 1;
  if (l->n < 256) l->v[l->n++] = *h;
  return 0;
}

static hg_pii_options opts(int names) {
  hg_pii_options o;
  hg_pii_options_init(&o);
  o.today_yyyymmdd = 20261129;
  if (names) o.types |= 1ull << HG_PII_PERSON_NAME;
  return o;
}

/* scans and renders hits as "type:text" joined by spaces */
static void expect(const char *text, const char *want) {
  hits l = {0};
  hg_pii_options o = opts(0);
  hg_error err;
  assert_int_equal(hg_pii_scan(&o, text, strlen(text), collect, &l, &err), HG_OK);
  char got[2048] = "";
  for (size_t i = 0; i < l.n; i++) {
    char one[300];
    snprintf(one, sizeof one, "%s%s:%.*s", i ? " " : "", hg_pii_type_name(l.v[i].type),
             (int)(l.v[i].end - l.v[i].start), text + l.v[i].start);
    strncat(got, one, sizeof got - strlen(got) - 1);
  }
  if (strcmp(got, want)) fail_msg("pii(%s)\n  got  '%s'\n  want '%s'", text, got, want);
}

static void resident_ids(void **state) {
  (void)state;
  expect("身份证号11010519491231002X。", "cn_id:11010519491231002X");
  expect("身份证号11010519491231002x", "cn_id:11010519491231002x");
  expect("身份证号110105194912310021", "");                        /* wrong check character */
  expect("号码110105194902300027", "");                            /* 30 February */
  expect("ID 110105491231002 old style", "cn_id:110105491231002"); /* legacy 15 digits */
  expect("订单号9911010519491231002X12", "");                      /* inside a longer run */
  expect("订单号 A11010519491231002X", "");                        /* glued to a letter */
  expect("１１０１０５１９４９１２３１００２Ｘ", "cn_id:１１０１０５１９４９１２３１００２Ｘ"); /* full width */
}

static void phones(void **state) {
  (void)state;
  expect("手机13812345678", "mobile:13812345678");
  expect("电话 138 1234 5678 或 139-1234-5678", "mobile:138 1234 5678 mobile:139-1234-5678");
  expect("call +86 138 1234 5678 now", "mobile:+86 138 1234 5678");
  expect("0086 13812345678", "mobile:0086 13812345678");
  expect("１３８－１２３４－５６７８", "mobile:１３８－１２３４－５６７８");
  expect("13812345678 13912345678", "mobile:13812345678 mobile:13912345678");
  expect("12812345678", "");  /* no such prefix */
  expect("138123456789", ""); /* twelve digits */
  expect("座机010-62345678", "landline:010-62345678");
  expect("电话0755-86001234", "landline:0755-86001234");
  expect("座机：(025)87442505", "landline:(025)87442505");
  expect("电话 024 971 50 30", "");             /* groups of two are not a mainland landline */
  expect("call +1-984-182-0190", "");           /* another country */
  expect("x+1 and 1+1=2, a+b+13812345678", ""); /* a '+' glued to a word once looped forever */
}

static void cards_and_codes(void **state) {
  (void)state;
  expect("卡号6222021234567894", "bank_card:6222021234567894");
  expect("卡号 6222 0212 3456 7894 谢谢", "bank_card:6222 0212 3456 7894");
  expect("卡号6222021234567895", ""); /* Luhn fails */
  expect("visa 4111111111111111", "payment_card:4111111111111111");
  expect("统一社会信用代码91350100M000100Y43", "uscc:91350100M000100Y43");
  expect("统一社会信用代码91350100M000100Y44", "");
}

static void documents(void **state) {
  (void)state;
  expect("HKID A123456(3)", "hk_id:A123456(3)");
  expect("HKID A123456(4)", "");
  expect("台湾身分证 A123456789", "tw_id:A123456789");
  expect("台湾身分证 A123456788", "");
  expect("护照号码E12345678", "passport:E12345678");
  expect("回乡证H12345678", "hkmo_permit:H12345678");
  expect("台胞证12345678", "tw_permit:12345678");
  expect("编号12345678", ""); /* eight digits alone are nothing */
  expect("车牌京A·12345和粤BD12345", "license_plate:京A·12345 license_plate:粤BD12345");
  expect("北A12345", ""); /* not a province abbreviation */
}

static void network_and_secrets(void **state) {
  (void)state;
  expect("mail zhang.san@example.com.", "email:zhang.san@example.com");
  expect("ip 192.168.1.10, not 1.2.3.4.5 or 256.1.1.1", "ipv4:192.168.1.10");
  expect("v6 2001:db8::8a2e:370:7334 at 12:30:45", "ipv6:2001:db8::8a2e:370:7334");
  expect("db postgres://bob:s3cret@db.example.com:5432/x", "url_credentials:postgres://bob:s3cret@db.example.com:5432");
  expect("key sk-abcdefghijklmnopqrstuvwx123", "secret:sk-abcdefghijklmnopqrstuvwx123");
  expect("AKIAIOSFODNN7EXAMPLE", "secret:AKIAIOSFODNN7EXAMPLE");
  expect("token ghp_0123456789abcdefghijklmnopqrstuvwxyz", "secret:ghp_0123456789abcdefghijklmnopqrstuvwxyz");
  expect("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
         "secret:eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U");
  const char *pem = "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nabcdef==\n-----END RSA PRIVATE "
                    "KEY-----\ndone";
  expect(pem, "secret:-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nabcdef==\n-----END RSA PRIVATE KEY-----");
}

static void overlaps_keep_the_longest(void **state) {
  (void)state;
  /* the e-mail inside URL credentials is part of the URL; a phone number inside an ID is part of the ID */
  expect("https://user:pass@mail.example.com/", "url_credentials:https://user:pass@mail.example.com");
  expect("ID 11010519491231002X", "cn_id:11010519491231002X");
}

static void names_experimental(void **state) {
  (void)state;
  hits l = {0};
  hg_pii_options o = opts(1);
  const char *t = "我叫王小明，请联系李先生。";
  assert_int_equal(hg_pii_scan(&o, t, strlen(t), collect, &l, NULL), HG_OK);
  assert_int_equal(l.n, 2);
  assert_int_equal(l.v[0].type, HG_PII_PERSON_NAME);
  assert_memory_equal(t + l.v[0].start, "王小明", l.v[0].end - l.v[0].start);
  assert_memory_equal(t + l.v[1].start, "李", l.v[1].end - l.v[1].start);
  l.n = 0;
  o = opts(0); /* off by default */
  assert_int_equal(hg_pii_scan(&o, t, strlen(t), collect, &l, NULL), HG_OK);
  assert_int_equal(l.n, 0);
}

static void invalid_utf8(void **state) {
  (void)state;
  hg_error err;
  hits l = {0};
  hg_pii_options o = opts(0);
  assert_int_equal(hg_pii_scan(&o, "13812345678 \xff", 13, collect, &l, &err), HG_ERR_UTF8);
  assert_int_equal(err.offset, 12);
  assert_int_equal(hg_pii_scan(&o, "abc\xe4\xb8", 5, collect, &l, &err), HG_ERR_UTF8);
}

static const char *pieces[] = {"身份证号",
                               "11010519491231002X",
                               "手机",
                               "138 1234 5678",
                               "+86 139-1234-5678",
                               "卡号",
                               "6222021234567894",
                               "邮箱",
                               "zhang.san@example.com",
                               " ",
                               "，",
                               "。",
                               "\n",
                               "车牌",
                               "京A·12345",
                               "粤BD12345",
                               "192.168.1.10",
                               "sk-abcdefghijklmnopqrstuvwx123",
                               "我叫王小明",
                               "李先生",
                               "A123456(3)",
                               "１３８１２３４５６７８",
                               "x",
                               "7",
                               "中",
                               "https://u:p@h.com/",
                               "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----",
                               "2001:db8::1",
                               "\xE2\x80\x8B"};

static uint64_t rng = 0x1234567887654321ull;
static uint64_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static void random_cuts_match_one_shot(void **state) {
  (void)state;
  hg_pii_options o = opts(1);
  char text[4096];
  size_t total_hits = 0, cuttings = 0;
  for (int t = 0; t < 250; t++) {
    size_t len = 0, target = 40 + next_rand() % 500;
    while (len < target) {
      const char *p = pieces[next_rand() % (sizeof pieces / sizeof *pieces)];
      size_t l = strlen(p);
      if (len + l >= sizeof text) break;
      memcpy(text + len, p, l);
      len += l;
    }
    hits one = {0};
    assert_int_equal(hg_pii_scan(&o, text, len, collect, &one, NULL), HG_OK);
    total_hits += one.n;
    for (int k = 0; k < 10; k++) {
      hits st = {0};
      hg_pii_scanner *sc;
      assert_int_equal(hg_pii_scanner_new(&o, collect, &st, &sc), HG_OK);
      for (size_t pos = 0; pos < len;) {
        size_t step = k % 2 ? 1 + next_rand() % 9 : 1 + next_rand() % 300;
        if (step > len - pos) step = len - pos;
        assert_int_equal(hg_pii_scanner_feed(sc, text + pos, step, NULL), HG_OK);
        pos += step;
        size_t rel = pos - hg_pii_scanner_pending_suffix_len(sc);
        assert_true(rel >= st.released);
        st.released = rel;
      }
      assert_int_equal(hg_pii_scanner_finish(sc, NULL), HG_OK);
      hg_pii_scanner_free(sc);
      if (st.violation) fail_msg("a hit covered released bytes (text %d cutting %d)", t, k);
      int same = st.n == one.n;
      for (size_t h = 0; same && h < one.n; h++)
        same = st.v[h].type == one.v[h].type && st.v[h].start == one.v[h].start && st.v[h].end == one.v[h].end &&
               st.v[h].confidence == one.v[h].confidence;
      if (!same) {
        for (size_t h = 0; h < one.n || h < st.n; h++)
          print_message("  %zu: one %s %zu-%zu | stream %s %zu-%zu\n", h,
                        h < one.n ? hg_pii_type_name(one.v[h].type) : "-", h < one.n ? one.v[h].start : 0,
                        h < one.n ? one.v[h].end : 0, h < st.n ? hg_pii_type_name(st.v[h].type) : "-",
                        h < st.n ? st.v[h].start : 0, h < st.n ? st.v[h].end : 0);
        fail_msg("stream and one-shot differ: %zu vs %zu hits (text %d cutting %d)", st.n, one.n, t, k);
      }
      cuttings++;
    }
  }
  print_message("%zu cuttings, %zu one-shot hits, all identical\n", cuttings, total_hits);
  assert_true(total_hits > 500);
}

static size_t random_pieces(char *text, size_t cap, size_t target) {
  size_t len = 0;
  while (len < target) {
    const char *p = pieces[next_rand() % (sizeof pieces / sizeof *pieces)];
    size_t l = strlen(p);
    if (len + l >= cap) break;
    memcpy(text + len, p, l);
    len += l;
  }
  return len;
}

static int same_hits(const hits *a, const hits *b) {
  if (a->n != b->n) return 0;
  for (size_t h = 0; h < a->n; h++)
    if (a->v[h].type != b->v[h].type || a->v[h].start != b->v[h].start || a->v[h].end != b->v[h].end ||
        a->v[h].confidence != b->v[h].confidence)
      return 0;
  return 1;
}

/* A reset scanner is a new one: one scanner reused over 300 texts (left finished, half fed with its windows full,
 * or failed on bad UTF-8 before each reset) reports what a fresh scanner reports for each text. The reset clears
 * counters only, so a window read past its counter would show here as old text's characters. */
static void reset_equals_new(void **state) {
  (void)state;
  hg_pii_options o = opts(1);
  char text[4096];
  size_t total = 0;
  hits got = {0};
  hg_pii_scanner *sc;
  assert_int_equal(hg_pii_scanner_new(&o, collect, &got, &sc), HG_OK);
  for (int t = 0; t < 300; t++) {
    size_t len = random_pieces(text, sizeof text, 40 + next_rand() % 800);
    hg_pii_scanner_reset(sc);
    memset(&got, 0, sizeof got);
    assert_int_equal(hg_pii_scanner_feed(sc, text, len, NULL), HG_OK);
    assert_int_equal(hg_pii_scanner_finish(sc, NULL), HG_OK);
    hits want = {0};
    assert_int_equal(hg_pii_scan(&o, text, len, collect, &want, NULL), HG_OK);
    if (!same_hits(&got, &want)) fail_msg("text %d: reset scanner %zu hits, fresh %zu", t, got.n, want.n);
    total += want.n;
    switch (next_rand() % 3) { /* the state the next reset must undo */
    case 0: break;             /* finished */
    case 1:                    /* half fed: the run, the context and the Han window hold text */
      len = random_pieces(text, sizeof text, 200 + next_rand() % 800);
      assert_int_equal(hg_pii_scanner_feed(sc, text, len / 2, NULL), HG_OK);
      break;
    default: /* failed on a cut sequence, a private-key block open */
      static const char bad[] = "-----BEGIN RSA PRIVATE KEY-----\n\xe4\xb8(";
      assert_int_equal(hg_pii_scanner_feed(sc, bad, sizeof bad - 1, NULL), HG_ERR_UTF8);
    }
  }
  hg_pii_scanner_free(sc);
  print_message("%zu hits, a reset scanner equal to a fresh one on 300 texts\n", total);
  assert_true(total > 500);
}

static void operators(void **state) {
  (void)state;
  hg_pii_options o = opts(0);
  hg_redact_options ro;
  hg_redact_options_init(&ro);
  const char *t = "电话13812345678，再打13812345678或13912345678。";
  char *out;
  size_t n, count;
  hg_error err;
  assert_int_equal(hg_pii_redact(&o, &ro, NULL, t, strlen(t), &out, &n, &count, &err), HG_OK);
  assert_string_equal(out, "电话*******5678，再打*******5678或*******5678。");
  assert_int_equal(count, 3);
  free(out);
  ro.keep_first = 3;
  assert_int_equal(hg_pii_redact(&o, &ro, NULL, "手机138-1234-5678", 20, &out, &n, &count, &err), HG_OK);
  assert_string_equal(out, "手机138-****-5678");
  free(out);
  /* placeholders: the same value, the same placeholder; restored in the answer */
  hg_vault *v;
  assert_int_equal(hg_vault_new(&v), HG_OK);
  ro.op = HG_REDACT_PLACEHOLDER;
  assert_int_equal(hg_pii_redact(&o, &ro, v, t, strlen(t), &out, &n, &count, &err), HG_OK);
  assert_string_equal(out, "电话<PHONE_1>，再打<PHONE_1>或<PHONE_2>。");
  free(out);
  assert_int_equal(hg_vault_count(v), 2);
  const char *answer = "I will call <PHONE_2> and <PHONE_1>, not <PHONE_3>.";
  assert_int_equal(hg_vault_restore(v, answer, strlen(answer), &out, &n), HG_OK);
  assert_string_equal(out, "I will call 13912345678 and 13812345678, not <PHONE_3>.");
  free(out);
  assert_int_equal(hg_vault_pending_len("call <PHO", 9), 4);
  assert_int_equal(hg_vault_pending_len("call <PHONE_1>", 14), 0);
  assert_int_equal(hg_vault_pending_len("a < b", 5), 0);
  hg_vault_free(v);
  /* keyed hash: stable for one key, different for another; needs a key */
  uint8_t key[HG_REDACT_KEY_BYTES], key2[HG_REDACT_KEY_BYTES];
  memset(key, 7, sizeof key);
  memset(key2, 8, sizeof key2);
  ro.op = HG_REDACT_HASH;
  assert_int_equal(hg_redact_value(&ro, NULL, HG_PII_MOBILE, "13812345678", 11, &out, &n, &err), HG_ERR_INVALID);
  ro.key = key;
  char *a, *b, *c;
  assert_int_equal(hg_redact_value(&ro, NULL, HG_PII_MOBILE, "13812345678", 11, &a, &n, &err), HG_OK);
  assert_int_equal(hg_redact_value(&ro, NULL, HG_PII_MOBILE, "13812345678", 11, &b, &n, &err), HG_OK);
  ro.key = key2;
  assert_int_equal(hg_redact_value(&ro, NULL, HG_PII_MOBILE, "13812345678", 11, &c, &n, &err), HG_OK);
  assert_string_equal(a, b);
  assert_string_not_equal(a, c);
  assert_int_equal(strncmp(a, "<PHONE#", 7), 0);
  assert_null(strstr(a, "5678"));
  free(a);
  free(b);
  free(c);
  /* seal: only the key opens it, and any change is detected */
  ro.op = HG_REDACT_SEAL;
  ro.key = key;
  assert_int_equal(hg_redact_value(&ro, NULL, HG_PII_CN_ID, "11010519491231002X", 18, &a, &n, &err), HG_OK);
  assert_int_equal(strncmp(a, "<ID_NUMBER$", 11), 0);
  const char *tok = a + 11;
  size_t tl = strlen(tok) - 1;
  assert_int_equal(hg_unseal(key, tok, tl, &b, &n, &err), HG_OK);
  assert_string_equal(b, "11010519491231002X");
  free(b);
  assert_int_equal(hg_unseal(key2, tok, tl, &b, &n, &err), HG_ERR_CORRUPT);
  a[15] = a[15] == 'A' ? 'B' : 'A';
  assert_int_equal(hg_unseal(key, tok, tl, &b, &n, &err), HG_ERR_CORRUPT);
  free(a);
  ro.op = HG_REDACT_DROP;
  assert_int_equal(hg_pii_redact(&o, &ro, NULL, "x 13812345678 y", 15, &out, &n, &count, &err), HG_OK);
  assert_string_equal(out, "x  y");
  free(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(resident_ids),
      cmocka_unit_test(phones),
      cmocka_unit_test(cards_and_codes),
      cmocka_unit_test(documents),
      cmocka_unit_test(network_and_secrets),
      cmocka_unit_test(overlaps_keep_the_longest),
      cmocka_unit_test(names_experimental),
      cmocka_unit_test(invalid_utf8),
      cmocka_unit_test(random_cuts_match_one_shot),
      cmocka_unit_test(reset_equals_new),
      cmocka_unit_test(operators),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
