/* test_text.c — strict UTF-8 and every fold class: width, case, Traditional->Simplified, variants, number and
 * letter styles, homoglyphs of Latin letters, noise and ignorable classes, pinyin, and the normalized view's
 * offsets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hegui/text.h"
#include "text/utf8_inline.h"

static void decode_valid(void **state) {
  (void)state;
  uint32_t cp;
  assert_int_equal(hg_utf8_decode((const uint8_t *)"A", 1, &cp), 1);
  assert_int_equal(cp, 'A');
  assert_int_equal(hg_utf8_decode((const uint8_t *)"\xC3\xA9", 2, &cp), 2);
  assert_int_equal(cp, 0xE9);
  assert_int_equal(hg_utf8_decode((const uint8_t *)"\xE4\xB8\xAD", 3, &cp), 3);
  assert_int_equal(cp, 0x4E2D);
  assert_int_equal(hg_utf8_decode((const uint8_t *)"\xF0\x9F\x98\x80", 4, &cp), 4);
  assert_int_equal(cp, 0x1F600);
  assert_int_equal(hg_utf8_decode((const uint8_t *)"\xF4\x8F\xBF\xBF", 4, &cp), 4);
  assert_int_equal(cp, 0x10FFFF);
}

static void decode_invalid_and_incomplete(void **state) {
  (void)state;
  uint32_t cp;
  /* incomplete but possibly valid */
  assert_int_equal(hg_utf8_decode((const uint8_t *)"\xE4\xB8", 2, &cp), 0);
  assert_int_equal(hg_utf8_decode((const uint8_t *)"\xF0\x9F", 2, &cp), 0);
  assert_int_equal(hg_utf8_decode((const uint8_t *)"\xC3", 1, &cp), 0);
  /* never valid */
  assert_int_equal(hg_utf8_decode((const uint8_t *)"\x80", 1, &cp), -1);             /* stray continuation */
  assert_int_equal(hg_utf8_decode((const uint8_t *)"\xC0\xAF", 2, &cp), -1);         /* overlong */
  assert_int_equal(hg_utf8_decode((const uint8_t *)"\xE0\x80\xAF", 3, &cp), -1);     /* overlong */
  assert_int_equal(hg_utf8_decode((const uint8_t *)"\xE0\x80", 2, &cp), -1);         /* overlong, early */
  assert_int_equal(hg_utf8_decode((const uint8_t *)"\xED\xA0\x80", 3, &cp), -1);     /* surrogate */
  assert_int_equal(hg_utf8_decode((const uint8_t *)"\xED\xA0", 2, &cp), -1);         /* surrogate, early */
  assert_int_equal(hg_utf8_decode((const uint8_t *)"\xF4\x90\x80\x80", 4, &cp), -1); /* > U+10FFFF */
  assert_int_equal(hg_utf8_decode((const uint8_t *)"\xF5", 1, &cp), -1);
  assert_int_equal(hg_utf8_decode((const uint8_t *)"\xFF", 1, &cp), -1);
  assert_int_equal(hg_utf8_decode((const uint8_t *)"\xE4\x41\xAD", 3, &cp), -1);
  size_t bad = 0;
  assert_int_equal(hg_utf8_validate("ok\xE4\xB8\xAD\xFFz", 7, &bad), HG_ERR_UTF8);
  assert_int_equal(bad, 5);
  assert_int_equal(hg_utf8_validate("abc\xE4\xB8", 5, &bad), HG_ERR_UTF8); /* truncated at the end */
  assert_int_equal(bad, 3);
  assert_int_equal(hg_utf8_validate("", 0, &bad), HG_OK);
}

/* The reference: Unicode's table of well-formed byte sequences (Table 3-7), read literally, one sequence at a time.
 * Returns the offset of the first byte that does not start a well-formed sequence, or len. */
static size_t naive_bad_offset(const uint8_t *s, size_t len) {
  static const struct {
    uint8_t lo[4], hi[4];
    int n;
  } rows[] = {{{0x00}, {0x7F}, 1},
              {{0xC2, 0x80}, {0xDF, 0xBF}, 2},
              {{0xE0, 0xA0, 0x80}, {0xE0, 0xBF, 0xBF}, 3},
              {{0xE1, 0x80, 0x80}, {0xEC, 0xBF, 0xBF}, 3},
              {{0xED, 0x80, 0x80}, {0xED, 0x9F, 0xBF}, 3},
              {{0xEE, 0x80, 0x80}, {0xEF, 0xBF, 0xBF}, 3},
              {{0xF0, 0x90, 0x80, 0x80}, {0xF0, 0xBF, 0xBF, 0xBF}, 4},
              {{0xF1, 0x80, 0x80, 0x80}, {0xF3, 0xBF, 0xBF, 0xBF}, 4},
              {{0xF4, 0x80, 0x80, 0x80}, {0xF4, 0x8F, 0xBF, 0xBF}, 4}};
  size_t i = 0;
  while (i < len) {
    int ok = 0;
    for (size_t r = 0; r < sizeof rows / sizeof *rows && !ok; r++) {
      if (len - i < (size_t)rows[r].n) continue;
      ok = rows[r].n;
      for (int k = 0; k < rows[r].n; k++)
        if (s[i + k] < rows[r].lo[k] || s[i + k] > rows[r].hi[k]) ok = 0;
    }
    if (!ok) return i;
    i += (size_t)ok;
  }
  return len;
}

/* hg_utf8_decode_fast (the normalizer's and the lexicon's loops) must give exactly what hg_utf8_decode gives: the
 * length (1-4, 0 cut, -1 invalid) and the code point, for every lead byte, continuation bytes at and around each
 * boundary of Unicode's table, and every length the buffer can end at. */
static void decode_fast_matches_strict(void **state) {
  (void)state;
  static const uint8_t follow[] = {0x00, 0x41, 0x7F, 0x80, 0x81, 0x8F, 0x90, 0x9F, 0xA0, 0xBE, 0xBF, 0xC0, 0xC2, 0xFF};
  size_t nf = sizeof follow, checked = 0, fast_cases = 0;
  for (unsigned b0 = 0; b0 < 256; b0++)
    for (size_t i = 0; i < nf; i++)
      for (size_t j = 0; j < nf; j++)
        for (size_t k = 0; k < nf; k += 3)
          for (size_t len = 1; len <= 4; len++) {
            uint8_t s[4] = {(uint8_t)b0, follow[i], follow[j], follow[k]};
            uint32_t a = 0xFFFFFFFFu, b = 0xFFFFFFFFu;
            int ra = hg_utf8_decode_fast(s, len, &a), rb = hg_utf8_decode(s, len, &b);
            if (ra != rb || (ra > 0 && a != b))
              fail_msg("%02X %02X %02X %02X len %zu: fast %d U+%04X, strict %d U+%04X", s[0], s[1], s[2], s[3], len, ra,
                       a, rb, b);
            checked++;
            fast_cases += len >= 3 && b0 >= 0xE1 && b0 <= 0xEF && b0 != 0xED && ra == 3;
          }
  print_message("%zu sequences, %zu of them on the inline path, alike\n", checked, fast_cases);
  assert_true(fast_cases > 1000);
}

/* hg_utf8_validate against the reference on random texts built from ASCII runs, Han, other sequences and bad or cut
 * bytes at every alignment of its eight-byte and three-byte steps. */
static void validate_matches_table(void **state) {
  (void)state;
  static const char *const pieces[] = {"a",
                                       "abcdefgh",
                                       "中",
                                       "文字",
                                       "é",
                                       "\xF0\x9F\x98\x80",
                                       "\x7F",
                                       "\x80",
                                       "\xBF",
                                       "\xC0\xAF",
                                       "\xC2",
                                       "\xE0\x9F\xBF",
                                       "\xE0\xA0\x80",
                                       "\xED\x9F\xBF",
                                       "\xED\xA0\x80",
                                       "\xEF\xBF\xBF",
                                       "\xE4\xB8",
                                       "\xF4\x90\x80\x80",
                                       "\xF5",
                                       "\xFF",
                                       "\xE1\x41\x80",
                                       "\xE1\x80"};
  uint64_t x = 0x9E3779B97F4A7C15ull;
  uint8_t buf[256];
  size_t bad_texts = 0;
  for (int t = 0; t < 200000; t++) {
    size_t n = 0;
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    size_t k = x % 24;
    for (size_t j = 0; j < k; j++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      /* mostly valid pieces, so that a bad one sits after runs of every length */
      size_t pi = (x >> 8) % 8 ? (x >> 16) % 6 : (x >> 16) % (sizeof pieces / sizeof *pieces);
      size_t l = strlen(pieces[pi]);
      if (n + l > sizeof buf) break;
      memcpy(buf + n, pieces[pi], l);
      n += l;
    }
    size_t want = naive_bad_offset(buf, n), got = n;
    hg_status st = hg_utf8_validate((const char *)buf, n, &got);
    if ((st == HG_OK) != (want == n) || (st != HG_OK && got != want))
      fail_msg("text %d (%zu bytes): validate %d at %zu, the table says %zu", t, n, (int)st, got, want);
    bad_texts += want != n;
  }
  print_message("200000 texts, %zu of them not UTF-8, all as the table says\n", bad_texts);
  assert_true(bad_texts > 10000);
}

static void encode_roundtrip(void **state) {
  (void)state;
  char buf[4];
  for (uint32_t cp = 0; cp <= 0x10FFFF; cp += (cp < 0x3000 ? 1 : 97)) {
    size_t n = hg_utf8_encode(cp, buf);
    if (cp >= 0xD800 && cp <= 0xDFFF) {
      assert_int_equal(n, 0);
      continue;
    }
    uint32_t back;
    assert_int_equal(hg_utf8_decode((const uint8_t *)buf, n, &back), (int)n);
    assert_int_equal(back, cp);
  }
}

/* folds a UTF-8 string and compares with the expected UTF-8 */
static void expect_fold(const char *in, const char *want, int skip_noise) {
  char *out;
  size_t len;
  assert_int_equal(hg_fold_text(in, strlen(in), skip_noise, &out, &len, NULL), HG_OK);
  if (strcmp(out, want) != 0) fail_msg("fold(%s) = '%s', want '%s'", in, out, want);
  free(out);
}

static void fold_width_and_case(void **state) {
  (void)state;
  expect_fold("ＡＢＣ１２３ｘｙｚ", "abc123xyz", 0);
  expect_fold("HeLLo WORLD", "hello world", 0);
  expect_fold("ｱｲ", "アイ", 0); /* half-width katakana */
  expect_fold("Straße", "strasse", 0);
  expect_fold("ΣΔΣ", "σδσ", 0);     /* Greek letters that look like no Latin one (Α folds on to a, see homoglyphs) */
  expect_fold("！，。", "!,。", 0); /* full-width punctuation folds to ASCII (and stays noise) */
}

static void fold_traditional_and_variants(void **state) {
  (void)state;
  expect_fold("車馬龍門", "车马龙门", 0);
  expect_fold("國際電視臺", "国际电视台", 0);
  expect_fold("\xEF\xA4\x80", "岂", 0); /* U+F900 compatibility ideograph -> U+8C48 豈 -> simplified 岂 */
  expect_fold("⼀", "一", 0);           /* U+2F00 KANGXI RADICAL ONE */
  /* Unihan lists some variant pairs both ways (税 <-> 稅) and some as chains (誌 -> 志 -> U+225BD); folding must
   * settle on the form OpenCC gives, for the traditional and the simplified spelling alike */
  expect_fold("稅務永恆雜誌脫衣", "税务永恒杂志脱衣", 0);
  expect_fold("税务永恒杂志脱衣", "税务永恒杂志脱衣", 0);
  expect_fold("發髮", "发发", 0);
}

static void fold_number_styles(void **state) {
  (void)state;
  expect_fold("①②⑳", "1220", 0);
  expect_fold("⑴⒈❶➀⓵", "11111", 0);
  expect_fold("㈠㊀", "一一", 0);
  expect_fold("¹²³₄", "1234", 0);
  expect_fold("⑩", "10", 0);
  expect_fold("Ⅻ", "xii", 0);
  expect_fold("٣", "3", 0);
}

static void fold_letter_styles(void **state) {
  (void)state;
  expect_fold("Ⓐⓑ", "ab", 0);
  expect_fold("\xF0\x9D\x90\x80\xF0\x9D\x91\x8F", "ab", 0); /* mathematical bold A, italic b */
  expect_fold("ﬁ", "fi", 0);
  expect_fold("é", "e", 0);
  expect_fold("⒜", "a", 0);
}

static void fold_noise_and_ignorable(void **state) {
  (void)state;
  expect_fold("法\xE2\x80\x8B轮", "法轮", 0); /* zero-width space leaves no trace */
  expect_fold("法\xEF\xB8\x8F轮", "法轮", 0); /* variation selector */
  expect_fold("a\xC2\xAD"
              "b",
              "ab", 0); /* soft hyphen */
  expect_fold("法 * 轮 _ 功", "法轮功", 1);
  expect_fold("法😀轮✓功…", "法轮功", 1);
  expect_fold("法·轮—功", "法轮功", 1);
  uint32_t f[HG_FOLD_MAX];
  assert_int_equal(hg_fold(0x200B, f), 0);
  assert_int_equal(hg_fold(0x1F600, f), 1);
  assert_true(hg_char_flags(f[0]) & HG_CHAR_NOISE);
  assert_true(hg_char_flags(' ') & HG_CHAR_NOISE);
  assert_true(hg_char_flags(0x3002) & HG_CHAR_NOISE); /* 。 */
  assert_true(hg_char_flags('a') & HG_CHAR_WORD);
  assert_true(hg_char_flags('7') & HG_CHAR_DIGIT);
  assert_true(hg_char_flags(0x4E2D) & HG_CHAR_HAN);
  assert_false(hg_char_flags(0x4E2D) & HG_CHAR_WORD);
  assert_false(hg_char_flags(0x4E2D) & HG_CHAR_NOISE);
}

/* Homoglyphs (UTS #39 skeletons) of Latin letters and digits in other scripts fold to that letter or digit. */
static void fold_homoglyphs(void **state) {
  (void)state;
  uint32_t f[HG_FOLD_MAX];
  assert_int_equal(hg_fold(0x043E, f), 1); /* CYRILLIC SMALL LETTER O */
  assert_int_equal(f[0], 'o');
  assert_int_equal(hg_char_flags(f[0]) & (HG_CHAR_WORD | HG_CHAR_NOISE), HG_CHAR_WORD);
  assert_int_equal(hg_fold(0x03BF, f), 1); /* GREEK SMALL LETTER OMICRON */
  assert_int_equal(f[0], 'o');
  expect_fold("\xD0\x9E\xCE\x9F", "oo", 0);         /* their capitals follow them */
  expect_fold("сосаіnе", "cocaine", 0);             /* Cyrillic с о с а і, Latin n, Cyrillic е */
  expect_fold("СОСАІNЕ", "cocaine", 0);             /* Cyrillic capital I looks like I and folds with its small i */
  expect_fold("ΑΙΟΡ αιορ", "aiop aiop", 0);         /* Greek */
  expect_fold("\xE1\x8E\xAA\xEA\xAD\xBA", "aa", 0); /* CHEROKEE LETTER GO and its small form */
  expect_fold("օս", "ou", 0);                       /* Armenian */
  expect_fold("℮", "e", 0);                         /* ESTIMATED SYMBOL, a letterlike symbol */
  expect_fold("ёЁ", "ee", 0);                       /* the mark goes, the base letter folds */
  expect_fold("б", "6", 0);                         /* looks like a digit: a digit, for 64 and 8964 */
  assert_true(hg_char_flags('6') & HG_CHAR_DIGIT);
  /* refused: Greek nu looks like v but its capital like N, so neither is a Latin letter */
  expect_fold("νΝ", "νν", 0);
  /* symbols stay noise: a separator that became a letter could no longer be stepped over */
  expect_fold("×∨", "×∨", 0);
  assert_true(hg_char_flags(0xD7) & HG_CHAR_NOISE);
  /* Latin letters never fold into other Latin letters: l, I, 1, 0, O, m, dotless i, alpha-shaped a */
  expect_fold("lI10Om", "li10om", 0);
  expect_fold("ıɑ", "ıɑ", 0);
  /* Han, Kana, Hangul and Bopomofo are never folded by shape: 〇 (a Han numeral) looks like O, katakana ロ and
   * ニ like the Han 口 and 二, the jamo ᄁ like two ᄀ */
  expect_fold("〇口ロ二ニ一丨ᄁㄖ", "〇口ロ二ニ一丨ᄁㄖ", 0);
  /* existing folds stay: a Devanagari zero looks like o but is the digit 0 */
  expect_fold("०", "0", 0);
  expect_fold("ｏⓞ", "oo", 0);
}

static void fold_is_idempotent(void **state) {
  (void)state;
  uint32_t f[HG_FOLD_MAX], g[HG_FOLD_MAX];
  for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    size_t n = hg_fold(cp, f);
    for (size_t i = 0; i < n; i++) {
      size_t m = hg_fold(f[i], g);
      if (m != 1 || g[0] != f[i]) fail_msg("fold not idempotent at U+%04X", cp);
    }
  }
}

static void pinyin_readings(void **state) {
  (void)state;
  assert_string_equal(hg_pinyin(0x4E2D), "zhong"); /* 中 */
  assert_string_equal(hg_pinyin(0x5973), "nv");    /* 女 */
  assert_string_equal(hg_pinyin(0x8ECA), "che");   /* 車 (via its fold 车) */
  assert_null(hg_pinyin('a'));
  assert_true(hg_pinyin_count() > 300);
  assert_int_equal(hg_pinyin_id(0x4E2D), hg_pinyin_id(0x949F)); /* 中 and 钟 share zhong */
  assert_string_equal(hg_pinyin(0x8E1A), "lun");                /* 踚 */
}

static void normalized_view_offsets(void **state) {
  (void)state;
  const char *t = "Ａ\xE2\x80\x8B⑩車";
  hg_norm_char *v;
  size_t n;
  assert_int_equal(hg_normalize(t, strlen(t), &v, &n, NULL), HG_OK);
  assert_int_equal(n, 4);
  assert_int_equal(v[0].cp, 'a');
  assert_int_equal(v[0].src_start, 0);
  assert_int_equal(v[0].src_end, 3);
  assert_int_equal(v[1].cp, '1');
  assert_int_equal(v[1].src_start, 6); /* after the 3-byte zero-width space */
  assert_int_equal(v[1].src_end, 9);
  assert_int_equal(v[2].cp, '0');
  assert_int_equal(v[2].src_start, 6);
  assert_int_equal(v[3].cp, 0x8F66); /* 车 */
  assert_int_equal(v[3].src_start, 9);
  assert_int_equal(v[3].src_end, 12);
  free(v);
  hg_error err;
  assert_int_equal(hg_normalize("ab\xC0", 3, &v, &n, &err), HG_ERR_UTF8);
  assert_int_equal(err.offset, 2);
  assert_non_null(strstr(err.message, "offset 2"));
}

/* The streaming view decodes like hg_utf8_decode (it has its own path for three-byte sequences): every three-byte
 * lead with every second byte and a good or bad third byte, cut after each byte too. */
static void normalizer_decodes_like_utf8_decode(void **state) {
  (void)state;
  hg_normalizer *nz;
  assert_int_equal(hg_normalizer_new(&nz), HG_OK);
  for (unsigned b0 = 0xE0; b0 <= 0xEF; b0++)
    for (unsigned b1 = 0x70; b1 <= 0xC5; b1++)
      for (unsigned b2 = 0x70; b2 <= 0xC5; b2 += 3)
        for (size_t cut = 0; cut <= 3; cut++) {
          uint8_t in[4] = {(uint8_t)b0, (uint8_t)b1, (uint8_t)b2, 'x'};
          uint32_t want_cp = 0;
          int want = hg_utf8_decode(in, 4, &want_cp);
          hg_normalizer_reset(nz);
          const hg_norm_char *v;
          size_t n, total = 0;
          uint32_t got_cp = 0;
          hg_status st = hg_normalizer_feed(nz, (const char *)in, cut, &v, &n, NULL);
          if (!st && n) got_cp = v[0].src_cp, total += n;
          if (!st) {
            st = hg_normalizer_feed(nz, (const char *)in + cut, 4 - cut, &v, &n, NULL);
            if (!st && n && !total) got_cp = v[0].src_cp;
          }
          if (want < 0) {
            if (st != HG_ERR_UTF8)
              fail_msg("%02X %02X %02X cut %zu: accepted, hg_utf8_decode refuses", b0, b1, b2, cut);
          } else {
            if (st != HG_OK) fail_msg("%02X %02X %02X cut %zu: refused, hg_utf8_decode accepts", b0, b1, b2, cut);
            assert_int_equal(got_cp, want_cp);
          }
        }
  hg_normalizer_free(nz);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(decode_valid),
      cmocka_unit_test(decode_invalid_and_incomplete),
      cmocka_unit_test(encode_roundtrip),
      cmocka_unit_test(validate_matches_table),
      cmocka_unit_test(decode_fast_matches_strict),
      cmocka_unit_test(fold_width_and_case),
      cmocka_unit_test(fold_traditional_and_variants),
      cmocka_unit_test(fold_number_styles),
      cmocka_unit_test(fold_letter_styles),
      cmocka_unit_test(fold_noise_and_ignorable),
      cmocka_unit_test(fold_homoglyphs),
      cmocka_unit_test(fold_is_idempotent),
      cmocka_unit_test(pinyin_readings),
      cmocka_unit_test(normalized_view_offsets),
      cmocka_unit_test(normalizer_decodes_like_utf8_decode),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
