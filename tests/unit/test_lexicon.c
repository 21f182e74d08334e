/* test_lexicon.c — lexicon parsing and its errors, every match mode and rule (exact, folded, noise with its
 * limit and line breaks, collapse, pinyin, homophone, homoglyphs, whole words, digit boundaries, allowlists),
 * images saved and mapped back, corrupt images refused, and the slot that swaps lexicons under running scans. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_util.h"

/* scans text and checks the hits as "start-end:mode:entrytext" joined by spaces */
static void expect_hits(hg_lexicon *lex, const char *text, const char *want) {
  hit_list l = scan_all(lex, text);
  char got[2048] = "";
  for (size_t i = 0; i < l.n; i++) {
    hg_entry_info e;
    hg_lexicon_entry(lex, l.v[i].entry, &e);
    char one[256];
    snprintf(one, sizeof one, "%s%zu-%zu:%s:%s", i ? " " : "", l.v[i].start, l.v[i].end, hg_mode_name(l.v[i].mode),
             e.text);
    strncat(got, one, sizeof got - strlen(got) - 1);
  }
  free(l.v);
  if (strcmp(got, want) != 0) fail_msg("scan(%s)\n  got  '%s'\n  want '%s'", text, got, want);
}

static hg_status parse(const char *text, hg_error *err) {
  hg_lexicon_source *src;
  hg_lexicon_source_new(&src);
  hg_status st = hg_lexicon_source_add_text(src, text, strlen(text), "t.tsv", NULL, err);
  hg_lexicon_source_free(src);
  return st;
}

static void parse_formats(void **state) {
  (void)state;
  hg_lexicon_source *src;
  hg_error err;
  hg_lexicon_source_new(&src);
  const char *text = "\xEF\xBB\xBF# comment\r\n"
                     "plain entry\r\n"
                     "\n"
                     "台独\tA1c\t5\tblock\tfolded,noise\n"
                     "坏词\ta.1.h\n"
                     "好词\tcustom\t\tallow\n"
                     "plain entry\n";
  assert_int_equal(hg_lexicon_source_add_text(src, text, strlen(text), "t", NULL, &err), HG_OK);
  assert_int_equal(hg_lexicon_source_count(src), 4);
  assert_int_equal(hg_lexicon_source_duplicates(src), 1);
  hg_lexicon *lex;
  assert_int_equal(hg_lexicon_compile(src, NULL, &lex, &err), HG_OK);
  hg_entry_info e;
  assert_int_equal(hg_lexicon_entry(lex, 0, &e), HG_OK);
  assert_string_equal(e.text, "plain entry");
  assert_int_equal(e.category, HG_CAT_CUSTOM);
  assert_int_equal(e.modes, HG_MODE_FOLDED);
  assert_int_equal(hg_lexicon_entry(lex, 1, &e), HG_OK);
  assert_int_equal(e.category, HG_CAT_A1C);
  assert_int_equal(e.severity, 5);
  assert_int_equal(e.modes, HG_MODE_FOLDED | HG_MODE_NOISE);
  assert_int_equal(hg_lexicon_entry(lex, 2, &e), HG_OK);
  assert_int_equal(e.category, HG_CAT_A1H);
  assert_int_equal(hg_lexicon_entry(lex, 3, &e), HG_OK);
  assert_int_equal(e.action, HG_ACTION_ALLOW);
  assert_int_equal(e.severity, 3);
  assert_int_equal(hg_lexicon_entry(lex, 4, &e), HG_ERR_INVALID);
  hg_lexicon_stats s;
  hg_lexicon_stats_get(lex, &s);
  assert_int_equal(s.total, 3);
  assert_int_equal(s.allow, 1);
  assert_int_equal(s.per_category[HG_CAT_A1C], 1);
  assert_false(hg_lexicon_stats_meets_tc260(&s));
  hg_lexicon_unref(lex);
  hg_lexicon_source_free(src);
}

static void parse_errors_name_the_line(void **state) {
  (void)state;
  hg_error err;
  assert_int_equal(parse("ok\nbad\tZ9\n", &err), HG_ERR_PARSE);
  assert_int_equal(err.line, 2);
  assert_non_null(strstr(err.message, "t.tsv:2"));
  assert_non_null(strstr(err.message, "unknown risk category 'Z9'"));
  assert_int_equal(parse("a\tA1a\t9\n", &err), HG_ERR_PARSE);
  assert_non_null(strstr(err.message, "severity"));
  assert_int_equal(parse("a\tA1a\t1\tnuke\n", &err), HG_ERR_PARSE);
  assert_non_null(strstr(err.message, "action"));
  assert_int_equal(parse("a\tA1a\t1\tblock\tfuzzy\n", &err), HG_ERR_PARSE);
  assert_non_null(strstr(err.message, "modes"));
  assert_int_equal(parse("a\tA1a\t1\tblock\tfolded\textra\n", &err), HG_ERR_PARSE);
  assert_int_equal(parse("x\n!!!\n", &err), HG_ERR_PARSE);
  assert_int_equal(err.line, 2);
  assert_non_null(strstr(err.message, "no letters"));
  assert_int_equal(parse("ok\n\xC0\xAF\n", &err), HG_ERR_UTF8);
  assert_int_equal(err.line, 2);
  char longer[1200];
  memset(longer, 'a', 1100); /* over 4 x HG_ENTRY_MAX_CHARS bytes */
  longer[1100] = 0;
  assert_int_equal(parse(longer, &err), HG_ERR_LIMIT);
  char chars257[258], chars256[257];
  for (int i = 0; i < 257; i++)
    chars257[i] = "ab"[i % 2];
  chars257[257] = 0;
  assert_int_equal(parse(chars257, &err), HG_ERR_LIMIT);
  memcpy(chars256, chars257, 256);
  chars256[256] = 0;
  assert_int_equal(parse(chars256, &err), HG_OK);
  assert_int_equal(parse("", &err), HG_OK);
  /* a failed add leaves the source unchanged */
  hg_lexicon_source *src;
  hg_lexicon_source_new(&src);
  assert_int_equal(hg_lexicon_source_add_text(src, "one\n", 4, "a", NULL, &err), HG_OK);
  assert_int_equal(hg_lexicon_source_add_text(src, "two\nthree\tBAD\n", 14, "b", NULL, &err), HG_ERR_PARSE);
  assert_int_equal(hg_lexicon_source_count(src), 1);
  assert_int_equal(hg_lexicon_source_add_text(src, "two\n", 4, "c", NULL, &err), HG_OK);
  assert_int_equal(hg_lexicon_source_count(src), 2);
  hg_lexicon_source_free(src);
  hg_category c;
  assert_int_equal(hg_category_parse("A5b", 3, &c), HG_OK);
  assert_int_equal(c, HG_CAT_A5B);
  assert_int_equal(hg_category_parse("A6a", 3, &c), HG_ERR_PARSE);
  assert_string_equal(hg_category_code(HG_CAT_A2I), "A2i");
}

static void mode_exact_vs_folded(void **state) {
  (void)state;
  hg_lexicon *lex = lex_from_text("坏蛋\tA1h\t3\tblock\texact\nＸＸ\tcustom\t3\tblock\texact\n好人\t\t\t\tfolded\n", 3);
  expect_hits(lex, "坏蛋 壞蛋", "0-6:exact:坏蛋");
  expect_hits(lex, "ＸＸ xx", "0-6:exact:ＸＸ");
  expect_hits(lex, "好人 好 人 ＨＯＯ", "0-6:folded:好人");
  hg_lexicon_unref(lex);
  lex = lex_from_text("坏蛋\tA1h\t3\tblock\texact,folded\n", 3);
  expect_hits(lex, "坏蛋壞蛋", "0-6:exact:坏蛋 6-12:folded:坏蛋");
  hg_lexicon_unref(lex);
}

static void mode_noise_limit(void **state) {
  (void)state;
  hg_lexicon *lex = lex_from_text("法轮功\tA1h\t5\tblock\tfolded,noise\n", 3);
  expect_hits(lex, "法轮功", "0-9:folded:法轮功");
  expect_hits(lex, "法 * 轮 _ 功", "0-15:noise:法轮功");
  expect_hits(lex, "法...轮功", "0-12:noise:法轮功");
  expect_hits(lex, "法....轮功", "");                           /* four noise code points: over the limit of 3 */
  expect_hits(lex, "法\xE2\x80\x8B轮功", "0-12:folded:法轮功"); /* zero-width: not even noise */
  expect_hits(lex, "法x轮功", "");                              /* a letter is not noise */
  hg_lexicon_unref(lex);
  lex = lex_from_text("法轮功\tA1h\t5\tblock\tfolded\n", 3);
  expect_hits(lex, "法 轮功", "");
  hg_lexicon_unref(lex);
  lex = lex_from_text("法轮功\tA1h\t5\tblock\tnoise\n", 3);
  expect_hits(lex, "法\t轮功", "0-10:noise:法轮功");
  hg_lexicon_unref(lex);
  lex = lex_from_text("法轮功\tA1h\t5\tblock\tnoise\n", 0);
  expect_hits(lex, "法 轮功", "");
  hg_lexicon_unref(lex);
  lex = lex_from_text("法轮功\tA1h\t5\tblock\tnoise\n", 8);
  expect_hits(lex, "法        轮功", "0-17:noise:法轮功");
  hg_lexicon_unref(lex);
}

/* A line break is noise like a space: it counts against max_noise, and CR LF counts once. */
static void line_breaks_are_noise(void **state) {
  (void)state;
  hg_lexicon *lex = lex_from_text("法轮功\tA1h\t5\tblock\tnoise\n冰毒\tA1h\t5\tblock\tfolded,noise\n", 3);
  expect_hits(lex, "法\n轮\n功", "0-11:noise:法轮功");
  expect_hits(lex, "法 轮 功", "0-11:noise:法轮功"); /* the same as with spaces */
  expect_hits(lex, "冰\n毒", "0-7:noise:冰毒");
  expect_hits(lex, "冰\r\n毒", "0-8:noise:冰毒");
  expect_hits(lex, "冰\r毒", "0-7:noise:冰毒");
  expect_hits(lex, "冰\v毒 冰\f毒", "0-7:noise:冰毒 8-15:noise:冰毒");
  expect_hits(lex, "冰\xC2\x85毒", "0-8:noise:冰毒");     /* NEL */
  expect_hits(lex, "冰\xE2\x80\xA8毒", "0-9:noise:冰毒"); /* LINE SEPARATOR */
  expect_hits(lex, "冰\xE2\x80\xA9毒", "0-9:noise:冰毒"); /* PARAGRAPH SEPARATOR */
  /* within max_noise (3), whatever the line-ending convention: CR LF is one line break */
  expect_hits(lex, "冰\n\n\n毒", "0-9:noise:冰毒");
  expect_hits(lex, "冰\r\n\r\n\r\n毒", "0-12:noise:冰毒");
  expect_hits(lex, "冰 \r\n 毒", "0-10:noise:冰毒");
  expect_hits(lex, "冰\n\r毒", "0-8:noise:冰毒"); /* LF CR is two line breaks, still within */
  expect_hits(lex, "冰\n\n\n\n毒", "");
  expect_hits(lex, "冰\r\n\r\n\r\n\r\n毒", "");
  expect_hits(lex, "冰\r\r\n\r\n\r\n毒", ""); /* a lone CR and three CR LF: four */
  expect_hits(lex, "冰 \r\n  毒", "");        /* two spaces and a line break: four */
  expect_hits(lex, "冰\r\n\n\n毒", "0-10:noise:冰毒");
  expect_hits(lex, "冰\r\n\n\n\n毒", "");
  hg_lexicon_unref(lex);
  /* folded mode still allows no noise, and max_noise 0 no line break */
  lex = lex_from_text("冰毒\t\t\t\tfolded\n", 3);
  expect_hits(lex, "冰\n毒", "");
  hg_lexicon_unref(lex);
  /* a plain line of two or more ideographs is folded + noise (docs/lexicon.md); Latin and one ideograph are not */
  lex = lex_from_text("冰毒\nhello world\n坏\n", 3);
  expect_hits(lex, "冰\n毒 hel lo world 坏", "0-7:noise:冰毒 21-24:folded:坏");
  hg_lexicon_unref(lex);
  lex = lex_from_text("冰毒\tA1h\t5\tblock\tnoise\n", 0);
  expect_hits(lex, "冰\n毒", "");
  expect_hits(lex, "冰毒", "0-6:noise:冰毒");
  hg_lexicon_unref(lex);
  /* where an entry has a space of its own, a line break may stand for it (a wrapped line) */
  lex = lex_from_text("child porn\tA1f\n", 3);
  expect_hits(lex, "child\nporn", "0-10:folded:child porn");
  expect_hits(lex, "child\r\nporn", "0-11:folded:child porn");
  hg_lexicon_unref(lex);
}

static void entry_with_spaces(void **state) {
  (void)state;
  hg_lexicon *lex = lex_from_text("child porn\tA1f\n", 3);
  expect_hits(lex, "child porn", "0-10:folded:child porn");
  expect_hits(lex, "CHILD  PORN", "0-11:folded:child porn");
  expect_hits(lex, "child\n \tporn", "0-12:folded:child porn"); /* max_noise (3) noise characters where the space is */
  expect_hits(lex, "child \n \tporn", "");
  expect_hits(lex, "childporn", "");
  hg_lexicon_unref(lex);
}

static void mode_collapse(void **state) {
  (void)state;
  hg_lexicon *lex = lex_from_text("法轮功\tA1h\t5\tblock\tcollapse\n哈哈\n", 3);
  expect_hits(lex, "法法法轮轮功功", "0-18:collapse:法轮功"); /* ends where the match completes */
  expect_hits(lex, "法轮功", "0-9:collapse:法轮功");
  expect_hits(lex, "法，法轮功", "6-15:collapse:法轮功"); /* only direct repeats collapse */
  expect_hits(lex, "哈哈哈", "0-6:folded:哈哈 3-9:folded:哈哈");
  hg_lexicon_unref(lex);
  lex = lex_from_text("ab\tcustom\t3\tblock\tcollapse\n", 3);
  expect_hits(lex, "aabbb c", "0-3:collapse:ab"); /* the rest of the run of b does not break the word end */
  expect_hits(lex, "aabbbc", "");
  hg_lexicon_unref(lex);
  /* an entry that would collapse to one character gets no collapse key */
  lex = lex_from_text("回回\tcustom\t3\tblock\tcollapse\n", 3);
  expect_hits(lex, "回 回回", "4-10:folded:回回");
  hg_lexicon_unref(lex);
}

static void mode_pinyin(void **state) {
  (void)state;
  hg_lexicon *lex = lex_from_text("法轮功\tA1h\t5\tblock\tfolded,pinyin\n", 3);
  expect_hits(lex, "练falungong的人", "3-12:pinyin:法轮功");
  expect_hits(lex, "fa lun gong", "0-11:pinyin:法轮功");
  expect_hits(lex, "FaLunGong", "0-9:pinyin:法轮功");
  expect_hits(lex, "ｆｌｇ", "0-9:pinyin:法轮功");
  expect_hits(lex, "flgx", ""); /* whole words only */
  expect_hits(lex, "afalungong", "");
  hg_lexicon_unref(lex);
  /* two-character entries get full pinyin but no initials: "md" is a file suffix, not a disguise */
  lex = lex_from_text("买单\tcustom\t3\tblock\tpinyin\n", 3);
  expect_hits(lex, "maidan readme.md", "0-6:pinyin:买单");
  hg_lexicon_unref(lex);
}

static void mode_homophone(void **state) {
  (void)state;
  hg_lexicon *lex = lex_from_text("冰毒\tA1h\t5\tblock\tfolded,homophone\n", 3);
  expect_hits(lex, "买冰毒", "3-9:folded:冰毒");
  expect_hits(lex, "买兵读", "3-9:homophone:冰毒"); /* bing du, other characters */
  expect_hits(lex, "买兵", "");
  hg_lexicon_unref(lex);
  /* off by default */
  lex = lex_from_text("冰毒\n", 3);
  expect_hits(lex, "兵读", "");
  hg_lexicon_unref(lex);
}

static void whole_word_and_digit_rules(void **state) {
  (void)state;
  hg_lexicon *lex = lex_from_text("national\nav\n64\n08宪章\n", 3);
  expect_hits(lex, "International", "");
  expect_hits(lex, "national parks", "0-8:folded:national");
  expect_hits(lex, "the National.", "4-12:folded:national");
  expect_hits(lex, "看AV", "3-5:folded:av");
  expect_hits(lex, "JAVA", "");
  expect_hits(lex, "1964", "");
  expect_hits(lex, "640", "");
  expect_hits(lex, "六四 64 年", "7-9:folded:64");
  expect_hits(lex, "abc64", "3-5:folded:64"); /* digits need only a digit boundary */
  expect_hits(lex, "2008宪章", "");
  expect_hits(lex, "零8宪章 08宪章", "11-19:folded:08宪章");
  expect_hits(lex, "在08宪章", "3-11:folded:08宪章");
  expect_hits(lex, "⑥④", "0-6:folded:64");
  expect_hits(lex, "⑩④", ""); /* 10 4: the 4 follows a digit */
  hg_lexicon_unref(lex);
}

/* Homoglyphs of Latin letters fold to them, so a Cyrillic or Greek o does not hide an entry; the whole-word rule
 * still holds, because a folded homoglyph is a word character like the letter it stands for. */
static void homoglyphs(void **state) {
  (void)state;
  /* the look-alikes are written as they are; the comments say which script each one is from */
  hg_lexicon *lex = lex_from_text("cocaine\tA1h\t4\tblock\n", 3);
  expect_hits(lex, "cоcaine", "0-8:folded:cocaine");          /* Cyrillic o */
  expect_hits(lex, "cοcaine", "0-8:folded:cocaine");          /* Greek omicron */
  expect_hits(lex, "сосаіnе", "0-13:folded:cocaine");         /* Cyrillic but the n */
  expect_hits(lex, "СОСАІNЕ", "0-13:folded:cocaine");         /* the same in capitals */
  expect_hits(lex, "buy cоcaine now", "4-12:folded:cocaine"); /* byte offsets are the source's */
  expect_hits(lex, "cоcaines", "");                           /* whole words only */
  expect_hits(lex, "reсоcaine", "");                          /* a Cyrillic letter is a letter */
  expect_hits(lex, "жcоcaine", "");                           /* after Cyrillic zhe */
  expect_hits(lex, "可卡因cоcaine。", "9-17:folded:cocaine"); /* Han and punctuation are edges */
  expect_hits(lex, "c0caine", "");                            /* Latin look-alikes do not fold */
  hg_lexicon_unref(lex);
  /* the entry may be written with homoglyphs too: both sides fold the same way */
  lex = lex_from_text("cоcaine\tA1h\t4\tblock\n", 3);
  expect_hits(lex, "cocaine", "0-7:folded:cоcaine");
  hg_lexicon_unref(lex);
  /* exact mode stays exact */
  lex = lex_from_text("cocaine\tA1h\t4\tblock\texact\n", 3);
  expect_hits(lex, "cоcaine", "");
  hg_lexicon_unref(lex);
  /* a digit entry: Cyrillic be looks like 6 */
  lex = lex_from_text("64\tA1a\n", 3);
  expect_hits(lex, "б4 бб", "0-3:folded:64");
  hg_lexicon_unref(lex);
}

static void allowlist(void **state) {
  (void)state;
  hg_lexicon *lex = lex_from_text("大麻\tA1h\t4\tblock\n大麻哈鱼\tcustom\t1\tallow\n麻哈\tA1h\n", 3);
  expect_hits(lex, "大麻哈鱼很好吃", "");
  expect_hits(lex, "大麻和大麻哈鱼", "0-6:folded:大麻");
  expect_hits(lex, "大麻哈", "0-6:folded:大麻 3-9:folded:麻哈");
  expect_hits(lex, "大麻哈魚", ""); /* the allowlist entry folds too */
  hg_lexicon_unref(lex);
}

static void overlapping_and_nested(void **state) {
  (void)state;
  hg_lexicon *lex = lex_from_text("abc\nbc\nb\nabcd\n", 3);
  expect_hits(lex, "abcd", "0-4:folded:abcd");
  hg_lexicon_unref(lex);
  lex = lex_from_text("中国\n国人\n中国人民\n", 3);
  expect_hits(lex, "中国人民", "0-12:folded:中国人民 0-6:folded:中国 3-9:folded:国人");
  hg_lexicon_unref(lex);
}

static void empty_lexicon_and_input(void **state) {
  (void)state;
  hg_lexicon *lex = lex_from_text("", 3);
  expect_hits(lex, "anything at all 任何", "");
  hg_lexicon_unref(lex);
  lex = lex_from_text("x\n", 3);
  expect_hits(lex, "", "");
  hg_error err;
  hit_list l = {0};
  assert_int_equal(hg_lexicon_scan(lex, "x\xFF", 2, collect_hit, &l, &err), HG_ERR_UTF8);
  assert_int_equal(err.offset, 1);
  assert_int_equal(hg_lexicon_scan(lex, "x \xE4\xB8", 4, collect_hit, &l, &err), HG_ERR_UTF8);
  assert_non_null(strstr(err.message, "ends inside"));
  free(l.v);
  hg_lexicon_unref(lex);
}

static char *tmp_path(const char *name) {
  static char buf[256];
  snprintf(buf, sizeof buf, "/tmp/hegui-test-%ld-%s", (long)getpid(), name);
  return buf;
}

static void image_roundtrip(void **state) {
  (void)state;
  hg_lexicon *lex = lex_from_text("法轮功\tA1h\t5\tblock\tall\nnational\n大麻哈鱼\tcustom\t1\tallow\n", 3);
  const char *path = tmp_path("img");
  hg_error err;
  assert_int_equal(hg_lexicon_save(lex, path, &err), HG_OK);
  hg_lexicon *mapped;
  assert_int_equal(hg_lexicon_open(path, &mapped, &err), HG_OK);
  size_t a, b;
  const void *ia = hg_lexicon_image(lex, &a), *ib = hg_lexicon_image(mapped, &b);
  assert_int_equal(a, b);
  assert_memory_equal(ia, ib, a);
  const char *t = "法 轮 功 falungong national 冰 法法轮功 发伦功";
  hit_list x = scan_all(lex, t), y = scan_all(mapped, t);
  assert_int_equal(x.n, y.n);
  assert_true(x.n >= 4);
  assert_memory_equal(x.v, y.v, x.n * sizeof *x.v);
  free(x.v);
  free(y.v);
  hg_lexicon *copy;
  assert_int_equal(hg_lexicon_from_image(ia, a, &copy, &err), HG_OK);
  hg_lexicon_unref(copy);
  hg_lexicon_unref(mapped);
  hg_lexicon_unref(lex);
  unlink(path);
}

static void corrupt_images_refused(void **state) {
  (void)state;
  hg_lexicon *lex = lex_from_text("法轮功\tA1h\t5\tblock\tall\nnational\n", 3);
  size_t len;
  const unsigned char *img = hg_lexicon_image(lex, &len);
  unsigned char *buf = malloc(len);
  hg_error err;
  hg_lexicon *bad;
  /* every truncation is refused */
  for (size_t cut = 0; cut < len; cut += (cut < 256 ? 1 : 97)) {
    assert_int_equal(hg_lexicon_from_image(img, cut, &bad, &err), HG_ERR_CORRUPT);
  }
  assert_non_null(strstr(err.message, "truncated"));
  /* flipping any byte is refused (the header by its checks, the body by the checksum) */
  for (size_t i = 0; i < len; i += (i < 512 ? 1 : 61)) {
    memcpy(buf, img, len);
    buf[i] ^= 0x5A;
    hg_status st = hg_lexicon_from_image(buf, len, &bad, &err);
    if (st == HG_OK) { /* only padding bytes inside the header may be unused */
      fail_msg("flipping byte %zu was accepted", i);
    }
    assert_int_equal(st, HG_ERR_CORRUPT);
  }
  memcpy(buf, img, len);
  buf[8] = 99; /* version */
  assert_int_equal(hg_lexicon_from_image(buf, len, &bad, &err), HG_ERR_CORRUPT);
  assert_non_null(strstr(err.message, "version"));
  memcpy(buf, img, len);
  buf[0] = 'X';
  assert_int_equal(hg_lexicon_from_image(buf, len, &bad, &err), HG_ERR_CORRUPT);
  assert_non_null(strstr(err.message, "magic"));
  /* a truncated file on disk */
  const char *path = tmp_path("trunc");
  FILE *f = fopen(path, "wb");
  fwrite(img, 1, len / 2, f);
  fclose(f);
  assert_int_equal(hg_lexicon_open(path, &bad, &err), HG_ERR_CORRUPT);
  assert_non_null(strstr(err.message, path));
  unlink(path);
  assert_int_equal(hg_lexicon_open("/nonexistent/lexicon", &bad, &err), HG_ERR_IO);
  free(buf);
  hg_lexicon_unref(lex);
}

static void slot_swaps_under_scans(void **state) {
  (void)state;
  hg_lexicon *a = lex_from_text("alpha\n", 3), *b = lex_from_text("beta\n", 3);
  hg_lexicon_slot *slot;
  assert_int_equal(hg_lexicon_slot_new(a, &slot), HG_OK);
  hg_lexicon_unref(a);
  hg_lexicon *held = hg_lexicon_slot_acquire(slot); /* a scan in progress holds alpha */
  hg_scanner *sc;
  hit_list l = {0};
  assert_int_equal(hg_scanner_new(held, collect_hit, &l, &sc), HG_OK);
  assert_int_equal(hg_scanner_feed(sc, "alpha be", 8, NULL), HG_OK);
  hg_lexicon_slot_replace(slot, b);
  hg_lexicon_unref(b);
  hg_lexicon_unref(held); /* the scanner keeps its own reference */
  assert_int_equal(hg_scanner_feed(sc, "ta alpha", 8, NULL), HG_OK);
  assert_int_equal(hg_scanner_finish(sc, NULL), HG_OK);
  hg_scanner_free(sc);
  assert_int_equal(l.n, 2); /* both alphas, on the old lexicon */
  free(l.v);
  hg_lexicon *now = hg_lexicon_slot_acquire(slot);
  hit_list m = scan_all(now, "alpha beta");
  assert_int_equal(m.n, 1);
  assert_int_equal(m.v[0].start, 6);
  free(m.v);
  hg_lexicon_unref(now);
  hg_lexicon_slot_free(slot);
}

static int stop_after_one(void *ctx, const hg_hit *h) {
  (void)h;
  ++*(int *)ctx;
  return 1;
}

static void callback_can_stop(void **state) {
  (void)state;
  hg_lexicon *lex = lex_from_text("x\n", 3);
  int n = 0;
  assert_int_equal(hg_lexicon_scan(lex, "x x x x", 7, stop_after_one, &n, NULL), HG_OK);
  assert_int_equal(n, 1);
  hg_lexicon_unref(lex);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(parse_formats),
      cmocka_unit_test(parse_errors_name_the_line),
      cmocka_unit_test(mode_exact_vs_folded),
      cmocka_unit_test(mode_noise_limit),
      cmocka_unit_test(line_breaks_are_noise),
      cmocka_unit_test(entry_with_spaces),
      cmocka_unit_test(mode_collapse),
      cmocka_unit_test(mode_pinyin),
      cmocka_unit_test(mode_homophone),
      cmocka_unit_test(whole_word_and_digit_rules),
      cmocka_unit_test(homoglyphs),
      cmocka_unit_test(allowlist),
      cmocka_unit_test(overlapping_and_nested),
      cmocka_unit_test(empty_lexicon_and_input),
      cmocka_unit_test(image_roundtrip),
      cmocka_unit_test(corrupt_images_refused),
      cmocka_unit_test(slot_swaps_under_scans),
      cmocka_unit_test(callback_can_stop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
