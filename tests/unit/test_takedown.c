/* test_takedown.c — reported content must not come back: a reported answer is found again verbatim, in Traditional
 * script, in full width, with punctuation and spacing changed, inside a longer answer and when 60% of it is copied;
 * unrelated text and text sharing one sentence are not flagged. Thousands of random cuttings of a stream (inside
 * UTF-8 sequences too) decide exactly as one buffer does, at the same code point. Short takedowns, empty sets and
 * invalid UTF-8 (in a takedown, naming its id, and in a stream) are covered too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hegui/takedown.h"
#include "hegui/text.h"

/* The reported answer (194 folded code points). */
static const char *reported =
    "人工智能（AI）技术的快速发展给社会带来了深刻的变化。在医疗领域，智能诊断系统能够帮助医生更早地发现疾病，"
    "提高治疗效果。在教育领域，个性化学习平台可以根据学生的特点调整教学内容和进度。然而，这些技术也引发了关于隐私"
    "保护、算法偏见和就业结构的广泛讨论。2023年，多个国家相继出台了相关法规，要求企业在开发和使用人工智能时遵守"
    "透明、公平和负责任的原则。专家认为，只有在技术创新与社会责任之间找到平衡，人工智能才能真正造福人类。";

/* The same answer in Traditional script, with Taiwan's word for "algorithm" (演算法): the word change costs a few
 * shingles, the script costs none. */
static const char *traditional =
    "人工智能（AI）技術的快速發展給社會帶來了深刻的變化。在醫療領域，智能診斷系統能夠幫助醫生更早地發現疾病，"
    "提高治療效果。在教育領域，個性化學習平臺可以根據學生的特點調整教學內容和進度。然而，這些技術也引發了關於隱私"
    "保護、演算法偏見和就業結構的廣泛討論。2023年，多個國家相繼出臺了相關法規，要求企業在開發和使用人工智能時遵守"
    "透明、公平和負責任的原則。專家認為，只有在技術創新與社會責任之間找到平衡，人工智能才能真正造福人類。";

static const char *unrelated =
    "红烧肉是一道经典的家常菜。先将五花肉切成均匀的方块，冷水下锅焯去血沫，再用少许油把冰糖炒出焦糖色。随后放入肉"
    "块翻炒上色，加入姜片、葱段、八角和桂皮，倒入料酒和生抽，再加开水没过肉块。大火烧开后转小火慢炖一个小时，最后"
    "大火收汁，撒上葱花即可出锅。做好的红烧肉色泽红亮，肥而不腻，入口即化。";

static const char *one_sentence = "在医疗领域，智能诊断系统能够帮助医生更早地发现疾病，提高治疗效果。";

enum { ID_REPORTED = 101, ID_RECIPE = 102, ID_SHORT = 103, ID_OTHER = 104 };

static const char *other_takedown =
    "月球是地球唯一的天然卫星，它的引力影响着海洋的潮汐。月相的变化来自太阳、地球和月球三者相对位置的改变，"
    "从新月到满月大约需要两周时间。";

static hg_takedown_set *standard_set(void) {
  hg_takedown_entry e[] = {
      {ID_OTHER, other_takedown, strlen(other_takedown)},
      {ID_REPORTED, reported, strlen(reported)},
      {ID_SHORT, "机密文件", strlen("机密文件")},
  };
  hg_takedown_set *set;
  hg_error err;
  if (hg_takedown_set_build(e, 3, NULL, &set, &err)) fail_msg("build: %s", err.message);
  return set;
}

static int64_t match(hg_takedown_set *set, const char *text) {
  int64_t id = -1;
  hg_error err;
  if (hg_takedown_match(set, text, strlen(text), &id, &err)) fail_msg("match: %s", err.message);
  return id;
}

/* Code points of a UTF-8 string; the caller frees. */
static uint32_t *code_points(const char *s, size_t *n) {
  size_t len = strlen(s);
  uint32_t *v = malloc((len + 1) * sizeof *v);
  *n = 0;
  for (size_t i = 0; i < len;) {
    int k = hg_utf8_decode((const uint8_t *)s + i, len - i, &v[*n]);
    assert_true(k > 0);
    i += (size_t)k;
    (*n)++;
  }
  return v;
}

static char *encode(const uint32_t *v, size_t n) {
  char *s = malloc(n * 4 + 1), *o = s;
  for (size_t i = 0; i < n; i++)
    o += hg_utf8_encode(v[i], o);
  *o = 0;
  return s;
}

/* Code points [from, to) of s as a new string. */
static char *slice(const char *s, size_t from, size_t to) {
  size_t n;
  uint32_t *v = code_points(s, &n);
  if (to > n) to = n;
  char *out = encode(v + from, to - from);
  free(v);
  return out;
}

static char *concat3(const char *a, const char *b, const char *c) {
  size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
  char *s = malloc(la + lb + lc + 1);
  memcpy(s, a, la);
  memcpy(s + la, b, lb);
  memcpy(s + la + lb, c, lc + 1);
  return s;
}

/* Full width for ASCII, other punctuation, and a space after every fifth character. */
static char *disguise(const char *s) {
  size_t n;
  uint32_t *v = code_points(s, &n);
  uint32_t *o = malloc(n * 3 * sizeof *o);
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t cp = v[i];
    if (cp >= 0x21 && cp <= 0x7E) cp += 0xFEE0;
    if (cp == 0xFF0C) { /* ， */
      o[m++] = ' ';
      cp = 0x2026;             /* … */
    } else if (cp == 0x3002) { /* 。 */
      cp = '!';
    } else if (cp == 0x3001) { /* 、 */
      cp = '/';
    }
    o[m++] = cp;
    if (i % 5 == 4) o[m++] = ' ';
  }
  char *out = encode(o, m);
  free(v);
  free(o);
  return out;
}

static void reported_answer_comes_back(void **state) {
  (void)state;
  hg_takedown_set *set = standard_set();
  assert_int_equal(hg_takedown_set_count(set), 3);
  assert_int_equal(match(set, reported), ID_REPORTED);
  assert_int_equal(match(set, traditional), ID_REPORTED);
  char *disguised = disguise(reported);
  assert_int_equal(match(set, disguised), ID_REPORTED);
  char *disguised_traditional = disguise(traditional);
  assert_int_equal(match(set, disguised_traditional), ID_REPORTED);
  char *embedded = concat3("好的，下面是我对这个问题的回答，希望对你有帮助。\n\n", reported,
                           "\n\n如果你还有其他问题，欢迎继续提问。我可以进一步解释每个领域的具体例子。");
  assert_int_equal(match(set, embedded), ID_REPORTED);
  size_t n;
  free(code_points(reported, &n));
  char *head = slice(reported, 0, n * 6 / 10);
  assert_int_equal(match(set, head), ID_REPORTED);
  char *middle = slice(reported, n * 2 / 10, n * 8 / 10);
  char *middle_embedded = concat3(unrelated, middle, "以上就是全部内容。");
  assert_int_equal(match(set, middle_embedded), ID_REPORTED);
  free(disguised);
  free(disguised_traditional);
  free(embedded);
  free(head);
  free(middle);
  free(middle_embedded);
  hg_takedown_set_unref(set);
}

static void unrelated_text_is_not_flagged(void **state) {
  (void)state;
  hg_takedown_set *set = standard_set();
  assert_int_equal(match(set, unrelated), 0);
  assert_int_equal(match(set, ""), 0);
  /* one shared sentence: about 25 shingles, well above min_shingles but far below half of the answer's */
  char *shares_one = concat3(unrelated, one_sentence, "这句话在很多文章里都出现过。");
  assert_int_equal(match(set, shares_one), 0);
  size_t n;
  free(code_points(reported, &n));
  char *too_little = slice(reported, 0, n * 4 / 10);
  assert_int_equal(match(set, too_little), 0);
  hg_takedown_set_unref(set);

  /* with a low ratio the same sentence is enough: it is the ratio that keeps common sentences from matching */
  hg_takedown_options o;
  hg_takedown_options_init(&o);
  o.min_ratio = 0.1f;
  hg_takedown_entry e = {ID_REPORTED, reported, strlen(reported)};
  assert_int_equal(hg_takedown_set_build(&e, 1, &o, &set, NULL), HG_OK);
  assert_int_equal(match(set, shares_one), ID_REPORTED);
  hg_takedown_set_unref(set);
  free(shares_one);
  free(too_little);
}

static void repeated_shingles_count_once(void **state) {
  (void)state;
  /* A slogan ten times, then a line of verse: 89 windows, but only 8 distinct ones in the slogan (its rotations)
   * and 16 more through the verse, so the takedown has 24 shingles and needs 12. Counted with repeats, the slogan
   * alone would pass for a copy and the verse would be lost in it. */
  const char *text = "好好学习天天向上。好好学习天天向上。好好学习天天向上。好好学习天天向上。好好学习天天向上。"
                     "好好学习天天向上。好好学习天天向上。好好学习天天向上。好好学习天天向上。好好学习天天向上。"
                     "春眠不觉晓，处处闻啼鸟。夜来风雨声，花";
  hg_takedown_entry e = {7, text, strlen(text)};
  hg_takedown_set *set;
  assert_int_equal(hg_takedown_set_build(&e, 1, NULL, &set, NULL), HG_OK);
  assert_int_equal(match(set, "好学习天天向上春眠不觉晓，处处闻啼鸟。夜来风雨声，花"), 7); /* 16 of 24 */
  assert_int_equal(match(set, "好好学习天天向上！好好学习天天向上！好好学习天天向上！好好学习天天向上！"), 0); /* 8 */
  assert_int_equal(match(set, "春眠不觉晓，处处闻啼鸟。夜来风雨声"), 0);                                       /* 8 */
  hg_takedown_set_unref(set);
}

static void long_takedown_is_sampled(void **state) {
  (void)state;
  /* 9000 pseudo-random ideographs: more shingles than a takedown keeps, and the sample still measures the ratio */
  uint64_t rng = 12345;
  size_t n = 9000;
  uint32_t *v = malloc(n * sizeof *v);
  for (size_t i = 0; i < n; i++) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    v[i] = 0x4E00 + (uint32_t)((rng >> 33) % 0x5000);
  }
  char *text = encode(v, n);
  hg_takedown_entry e = {9, text, strlen(text)};
  hg_takedown_set *set;
  assert_int_equal(hg_takedown_set_build(&e, 1, NULL, &set, NULL), HG_OK);
  char *most = encode(v + 1000, 6000);
  char *some = encode(v + 2000, 3000);
  assert_int_equal(match(set, most), 9);
  assert_int_equal(match(set, some), 0);
  free(most);
  free(some);
  free(text);
  free(v);
  hg_takedown_set_unref(set);
}

static void shared_shingles_count_for_each_takedown(void **state) {
  (void)state;
  /* two reports of variants of one answer: both share its first part, and an answer with only that part matches
   * both at the same code point; the earlier entry is the one reported, however the stream is cut */
  char *a = concat3(reported, "以上是我的看法。", "");
  char *b = concat3(reported, "仅供大家来参考。", ""); /* as long as a: the same threshold */
  hg_takedown_entry e[] = {{501, b, strlen(b)}, {502, a, strlen(a)}};
  hg_takedown_set *set;
  assert_int_equal(hg_takedown_set_build(e, 2, NULL, &set, NULL), HG_OK);
  assert_int_equal(match(set, reported), 501);
  assert_int_equal(match(set, a), 501); /* 502 is wholly there, but 501 reaches half first */
  size_t n;
  free(code_points(reported, &n));
  char *half = slice(reported, 0, n / 2 + 10);
  assert_int_equal(match(set, half), 501);
  hg_takedown_set_unref(set);
  hg_takedown_entry swapped[] = {{502, a, strlen(a)}, {501, b, strlen(b)}};
  assert_int_equal(hg_takedown_set_build(swapped, 2, NULL, &set, NULL), HG_OK);
  assert_int_equal(match(set, half), 502);
  hg_takedown_set_unref(set);
  free(half);
  free(a);
  free(b);
}

static uint64_t rng_state = 88172645463325252ull;
static uint64_t next_rand(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

/* Shortest byte prefix the one-shot scan matches (the match is monotone in the prefix), or 0. */
static size_t first_match_prefix(hg_takedown_set *set, const char *text, size_t len, int64_t *id) {
  int64_t got;
  hg_takedown_match(set, text, len, id, NULL);
  if (!*id) return 0;
  size_t lo = 0, hi = len; /* prefix lo does not match, hi does */
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    hg_takedown_match(set, text, mid, &got, NULL);
    if (got) {
      assert_int_equal(got, *id);
      hi = mid;
    } else {
      lo = mid;
    }
  }
  return hi;
}

static void random_cuts_decide_like_one_shot(void **state) {
  (void)state;
  hg_takedown_set *set = standard_set();
  size_t n;
  free(code_points(reported, &n));
  char *texts[9];
  texts[0] = strdup(reported);
  texts[1] = strdup(traditional);
  texts[2] = disguise(traditional);
  texts[3] = concat3(unrelated, reported, unrelated);
  texts[4] = slice(reported, n * 3 / 10, n * 9 / 10);
  texts[5] = strdup(unrelated);
  texts[6] = concat3(unrelated, one_sentence, unrelated);
  texts[7] = concat3(unrelated, "这是一份机 密·文 件的副本", unrelated);
  texts[8] = concat3(other_takedown, reported, "");
  const int64_t expected[9] = {ID_REPORTED, ID_REPORTED, ID_REPORTED, ID_REPORTED, ID_REPORTED,
                               0,           0,           ID_SHORT,    ID_OTHER};
  size_t cuttings = 0;
  for (int t = 0; t < 9; t++) {
    size_t len = strlen(texts[t]);
    int64_t one;
    size_t prefix = first_match_prefix(set, texts[t], len, &one);
    assert_int_equal(one, expected[t]);
    for (int k = 0; k < 450; k++) {
      hg_takedown_scanner *sc;
      assert_int_equal(hg_takedown_scanner_new(set, &sc), HG_OK);
      size_t pos = 0;
      int64_t first = 0;
      int style = k % 3; /* byte by byte, small random, large random */
      while (pos < len) {
        size_t step = style == 0 ? 1 : style == 1 ? 1 + next_rand() % 7 : 1 + next_rand() % 300;
        if (step > len - pos) step = len - pos;
        int64_t id;
        hg_error err;
        if (hg_takedown_scanner_feed(sc, texts[t] + pos, step, &id, &err)) fail_msg("feed: %s", err.message);
        if (id && !first) {
          first = id;
          /* the chunk that completes the matching code point is the one that reports it: never later */
          if (!(pos < prefix && prefix <= pos + step))
            fail_msg("text %d cutting %d: reported after byte %zu, one-shot needs %zu", t, k, pos + step, prefix);
        }
        if (first) assert_int_equal(id, first); /* a decision stays */
        pos += step;
      }
      hg_takedown_scanner_free(sc);
      if (first != one)
        fail_msg("text %d cutting %d: stream says %lld, one-shot %lld", t, k, (long long)first, (long long)one);
      cuttings++;
    }
  }
  print_message("%zu cuttings of 9 texts, all decided as one-shot\n", cuttings);
  for (int t = 0; t < 9; t++)
    free(texts[t]);
  hg_takedown_set_unref(set);
}

static void short_takedowns_must_appear_whole(void **state) {
  (void)state;
  hg_takedown_set *set = standard_set();
  assert_int_equal(match(set, "这是一份机密文件的副本"), ID_SHORT);
  assert_int_equal(match(set, "这是一份機密文件的副本"), ID_SHORT);
  assert_int_equal(match(set, "机 密 · 文 件"), ID_SHORT);
  assert_int_equal(match(set, "这是一份机密的文件"), 0);
  assert_int_equal(match(set, "机密"), 0);
  assert_int_equal(match(set, "文件机密"), 0);
  hg_takedown_set_unref(set);

  /* one code point, exactly one shingle, and Latin text folded by case and width */
  hg_takedown_entry e[] = {{1, "鑫", 3}, {2, "一二三四五六七八", strlen("一二三四五六七八")}, {3, "Top Secret", 10}};
  assert_int_equal(hg_takedown_set_build(e, 3, NULL, &set, NULL), HG_OK);
  assert_int_equal(match(set, "金鑫"), 1);
  assert_int_equal(match(set, "零一二三四五六七八九"), 2);
  assert_int_equal(match(set, "一二三四五六七"), 0);
  assert_int_equal(match(set, "this is ＴＯＰ-ＳＥＣＲＥＴ!"), 3);
  assert_int_equal(match(set, "top secre"), 0);
  hg_takedown_set_unref(set);
}

static void empty_set_matches_nothing(void **state) {
  (void)state;
  hg_takedown_set *set;
  assert_int_equal(hg_takedown_set_build(NULL, 0, NULL, &set, NULL), HG_OK);
  assert_int_equal(hg_takedown_set_count(set), 0);
  assert_int_equal(match(set, reported), 0);
  hg_takedown_scanner *sc;
  int64_t id = -1;
  assert_int_equal(hg_takedown_scanner_new(set, &sc), HG_OK);
  assert_int_equal(hg_takedown_scanner_feed(sc, reported, strlen(reported), &id, NULL), HG_OK);
  assert_int_equal(id, 0);
  assert_int_equal(hg_takedown_scanner_feed(sc, "\xFF", 1, &id, NULL), HG_ERR_UTF8); /* still validated */
  hg_takedown_scanner_free(sc);
  hg_takedown_set_unref(set);
}

static void bad_takedowns_are_named(void **state) {
  (void)state;
  hg_takedown_set *set = NULL;
  hg_error err;
  hg_takedown_entry bad_utf8[] = {{1, "正常的文本", strlen("正常的文本")}, {4242, "abc\xE4\xB8z", 6}};
  assert_int_equal(hg_takedown_set_build(bad_utf8, 2, NULL, &set, &err), HG_ERR_UTF8);
  assert_null(set);
  assert_non_null(strstr(err.message, "4242"));
  assert_int_equal(err.offset, 3);
  hg_takedown_entry truncated[] = {{77, "中\xE4\xB8", 5}};
  assert_int_equal(hg_takedown_set_build(truncated, 1, NULL, &set, &err), HG_ERR_UTF8);
  assert_non_null(strstr(err.message, "77"));
  hg_takedown_entry no_letters[] = {{1, "正常的文本", strlen("正常的文本")},
                                    {5150, "。。。！？ ……", strlen("。。。！？ ……")}};
  assert_int_equal(hg_takedown_set_build(no_letters, 2, NULL, &set, &err), HG_ERR_INVALID);
  assert_non_null(strstr(err.message, "5150"));
  hg_takedown_entry empty[] = {{31, "", 0}};
  assert_int_equal(hg_takedown_set_build(empty, 1, NULL, &set, &err), HG_ERR_INVALID);
  assert_non_null(strstr(err.message, "31"));
  hg_takedown_entry zero_id[] = {{0, "正常的文本", strlen("正常的文本")}};
  assert_int_equal(hg_takedown_set_build(zero_id, 1, NULL, &set, &err), HG_ERR_INVALID);

  hg_takedown_entry fine[] = {{1, "正常的文本", strlen("正常的文本")}};
  hg_takedown_options o;
  hg_takedown_options_init(&o);
  assert_int_equal(o.shingle_chars, 8);
  assert_int_equal(o.min_shingles, 4);
  o.shingle_chars = 0;
  assert_int_equal(hg_takedown_set_build(fine, 1, &o, &set, &err), HG_ERR_INVALID);
  o.shingle_chars = 1000;
  assert_int_equal(hg_takedown_set_build(fine, 1, &o, &set, &err), HG_ERR_INVALID);
  hg_takedown_options_init(&o);
  o.min_ratio = 1.5f;
  assert_int_equal(hg_takedown_set_build(fine, 1, &o, &set, &err), HG_ERR_INVALID);
  o.min_ratio = NAN;
  assert_int_equal(hg_takedown_set_build(fine, 1, &o, &set, &err), HG_ERR_INVALID);
}

static void invalid_utf8_in_a_stream(void **state) {
  (void)state;
  hg_takedown_set *set = standard_set();
  hg_takedown_scanner *sc;
  hg_error err;
  int64_t id;
  assert_int_equal(hg_takedown_scanner_new(set, &sc), HG_OK);
  assert_int_equal(hg_takedown_scanner_feed(sc, "abc\xE4", 4, &id, &err), HG_OK);
  assert_int_equal(hg_takedown_scanner_feed(sc, "\xB8", 1, &id, &err), HG_OK);
  assert_int_equal(hg_takedown_scanner_feed(sc, "\x41", 1, &id, &err), HG_ERR_UTF8);
  assert_int_equal(err.offset, 3);
  assert_int_equal(id, 0);
  assert_int_equal(hg_takedown_scanner_feed(sc, "x", 1, &id, &err), HG_ERR_INVALID); /* stays stopped */
  hg_takedown_scanner_free(sc);

  assert_int_equal(hg_takedown_scanner_new(set, &sc), HG_OK);
  assert_int_equal(hg_takedown_scanner_feed(sc, "中文", 6, &id, &err), HG_OK);
  assert_int_equal(hg_takedown_scanner_feed(sc, "ok\xC0\x80", 4, &id, &err), HG_ERR_UTF8); /* overlong */
  assert_int_equal(err.offset, 8);
  hg_takedown_scanner_free(sc);

  /* one-shot: the text is complete, so a sequence cut at its end is an error too */
  assert_int_equal(hg_takedown_match(set, "中\xE4\xB8", 5, &id, &err), HG_ERR_UTF8);
  assert_int_equal(err.offset, 3);
  assert_int_equal(hg_takedown_match(set, "\xFF", 1, &id, &err), HG_ERR_UTF8);
  assert_int_equal(err.offset, 0);
  /* a match found before bad bytes stands, as it does in a stream */
  char *then_bad = concat3(reported, "\xFF", "");
  assert_int_equal(hg_takedown_match(set, then_bad, strlen(then_bad), &id, &err), HG_OK);
  assert_int_equal(id, ID_REPORTED);
  free(then_bad);
  hg_takedown_set_unref(set);
}

static void scanners_keep_their_set(void **state) {
  (void)state;
  hg_takedown_set *set = standard_set();
  hg_takedown_scanner *sc;
  assert_int_equal(hg_takedown_scanner_new(set, &sc), HG_OK);
  hg_takedown_set_unref(set); /* the scanner's reference keeps it alive */
  int64_t id;
  assert_int_equal(hg_takedown_scanner_feed(sc, reported, strlen(reported), &id, NULL), HG_OK);
  assert_int_equal(id, ID_REPORTED);
  assert_int_equal(hg_takedown_scanner_feed(sc, "更多内容", strlen("更多内容"), &id, NULL), HG_OK);
  assert_int_equal(id, ID_REPORTED); /* a decision stays */
  hg_takedown_scanner_free(sc);
}

static void *scan_many(void *arg) {
  hg_takedown_set *set = arg;
  for (int i = 0; i < 200; i++) {
    hg_takedown_scanner *sc;
    if (hg_takedown_scanner_new(set, &sc)) return (void *)1;
    int64_t a, b;
    if (hg_takedown_scanner_feed(sc, traditional, strlen(traditional), &a, NULL)) return (void *)1;
    hg_takedown_scanner_free(sc);
    if (hg_takedown_match(set, unrelated, strlen(unrelated), &b, NULL)) return (void *)1;
    if (a != ID_REPORTED || b != 0) return (void *)1;
  }
  hg_takedown_set_unref(set);
  return NULL;
}

static void threads_share_a_set(void **state) {
  (void)state;
  hg_takedown_set *set = standard_set();
  pthread_t th[4];
  for (int i = 0; i < 4; i++)
    assert_int_equal(pthread_create(&th[i], NULL, scan_many, hg_takedown_set_ref(set)), 0);
  hg_takedown_set_unref(set);
  for (int i = 0; i < 4; i++) {
    void *r;
    pthread_join(th[i], &r);
    assert_null(r);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(reported_answer_comes_back),
      cmocka_unit_test(unrelated_text_is_not_flagged),
      cmocka_unit_test(repeated_shingles_count_once),
      cmocka_unit_test(long_takedown_is_sampled),
      cmocka_unit_test(shared_shingles_count_for_each_takedown),
      cmocka_unit_test(random_cuts_decide_like_one_shot),
      cmocka_unit_test(short_takedowns_must_appear_whole),
      cmocka_unit_test(empty_set_matches_nothing),
      cmocka_unit_test(bad_takedowns_are_named),
      cmocka_unit_test(invalid_utf8_in_a_stream),
      cmocka_unit_test(scanners_keep_their_set),
      cmocka_unit_test(threads_share_a_set),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
