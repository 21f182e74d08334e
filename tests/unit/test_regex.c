/* test_regex.c — operator regex rules: the analyzer's bounds and refusals on a table of patterns, matching on
 * folded text with exact source spans, the streaming contract (thousands of random cuttings of random texts give
 * the one-shot hits, and no hit covers a byte hold_from had released), a differential check against a naive
 * reference that runs PCRE2 over the whole folded text in one go, and the edges (stop, errors, reset, bounds). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define PCRE2_CODE_UNIT_WIDTH 32
#include <pcre2.h>

#include "rules/regex_internal.h"
#include "test_util.h"

typedef struct regex_hits {
  hg_regex_hit *v;
  size_t n, cap;
} regex_hits;

static int collect(void *ctx, const hg_regex_hit *h) {
  regex_hits *l = ctx;
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 16;
    l->v = realloc(l->v, l->cap * sizeof *l->v);
    if (!l->v) abort();
  }
  l->v[l->n++] = *h;
  return 0;
}

static hg_regex_set *build_one(const char *pattern, hg_error *err) {
  hg_regex_rule r = {"t", pattern, HG_CAT_CUSTOM, HG_ACTION_BLOCK};
  hg_regex_set *set = NULL;
  hg_regex_set_build(&r, 1, &set, err);
  return set;
}

static hg_regex_set *build_rules(const char *const *patterns, size_t n) {
  hg_regex_rule rules[64];
  char names[64][24];
  for (size_t i = 0; i < n; i++) {
    snprintf(names[i], sizeof names[i], "r%zu", i);
    rules[i] = (hg_regex_rule){names[i], patterns[i], HG_CAT_CUSTOM, HG_ACTION_REVIEW};
  }
  hg_regex_set *set;
  hg_error err;
  if (hg_regex_set_build(rules, n, &set, &err)) {
    fprintf(stderr, "build: %s\n", err.message);
    abort();
  }
  return set;
}

/* ---- the analyzer ---------------------------------------------------------------------------------------- */

typedef struct bounded_case {
  const char *pattern;
  size_t window;
} bounded_case;

static const bounded_case bounded[] = {
    {"abc", 3},
    {"qq\\d{5,11}", 13},
    {"\\bqq\\d{5,11}\\b", 15}, /* one behind, one ahead */
    {"a|bcd", 3},
    {"(ab){2,3}", 6},
    {"a{3}", 3},
    {"a??b", 2},
    {"a{1,3}?b", 4},
    {"a{1,3}+b", 4},
    {"(?>a{1,3})b", 4},
    {"(?<=ab)c", 3},
    {"(?<=(?<!b)a)c", 3}, /* nested lookbehind: two back (PCRE2's own figure says one) */
    {"c(?=de)", 3},
    {"c(?!d{1,4})", 5},
    {"a$", 3},     /* $ may be a newline that ends the text: two positions */
    {"(?m)a$", 2}, /* under (?m) only the next one */
    {"a\\z", 2},
    {"a\\Z", 3},
    {"^ab", 3},
    {"(?m)^ab", 3},
    {"\\Aab", 3},
    {"(a{1,3})\\1", 6},
    {"(?<n>ab)\\k<n>", 4},
    {"(?P<n>ab)(?P=n)", 4},
    {"(a)(b)\\g{-1}\\g1", 4},
    {"a\\R", 3},
    {"[]a]b", 2},
    {"[^]a]", 1},
    {"[[:alpha:]]{2}", 2},
    {"[\\]]x", 2},
    {"[\\Q]\\E]", 1},
    {"\\x{4e2d}\\p{Han}{1,2}", 3},
    {"\\Qa+b\\E", 3},
    {"a(?#note)b", 2},
    {"a(?#note){2}", 2},
    {"(?i)QQ\\d", 3},
    {"[[:<:]]ab", 3},
    {"(?:ab|c){0,2}x", 5},
    {"a(?=b{1,4}(?<=cb))", 7}, /* PCRE2 counts the lookbehind's two from where it stands: the larger is kept */
    {"(?<=a(?=bcd))x", 4},
    {"\\d{2}(?!\\d)", 3},
    {"(?i:a)b", 2},
    {"(?n)(a)(?<x>b)\\k<x>", 3},
    {"\\N{2}", 2},
    {"a{256}", 256},
    {"\\18", 2}, /* octal \1, then a literal 8 */
    {"\\.\\-", 2},
};

typedef struct refused_case {
  const char *pattern;
  hg_status status;
  size_t offset;
  const char *says;
} refused_case;

static const refused_case refused[] = {
    {"phone+", HG_ERR_PARSE, 5, "rule 't': pattern is unbounded at offset 5 ('+'); write {1,20} instead"},
    {"a*", HG_ERR_PARSE, 1, "('*'); write {0,20} instead"},
    {"ab{2,}", HG_ERR_PARSE, 2, "('{2,}'); write {2,22} instead"},
    {"a+?", HG_ERR_PARSE, 1, "('+?'); write {1,20}? instead"},
    {"(a{2})++", HG_ERR_PARSE, 6, "unbounded"},
    {"(a)(?1)", HG_ERR_PARSE, 3, "recursion"},
    {"a(?R)", HG_ERR_PARSE, 1, "recursion"},
    {"(?<n>a)\\g<n>", HG_ERR_PARSE, 7, "subroutine"},
    {"a\\X", HG_ERR_PARSE, 1, "grapheme"},
    {"a?", HG_ERR_PARSE, 0, "empty string"},
    {"(?=a)", HG_ERR_PARSE, 0, "empty string"},
    {"a{0,3}", HG_ERR_PARSE, 0, "empty string"},
    {"\\1(a)", HG_ERR_PARSE, 0, "not closed"},
    {"x(a\\1)", HG_ERR_PARSE, 3, "not closed"},
    {"(?J)(?:(?<n>a)\\k<n>(?<n>bbbb)){2}", HG_ERR_PARSE, 19, "repeats a name"},
    {"a{,3}", HG_ERR_PARSE, 1, "not a quantifier"},
    {"a{ 1}", HG_ERR_PARSE, 1, "not a quantifier"},
    {"{x}", HG_ERR_PARSE, 0, "literal brace"},
    {"x\\Ky", HG_ERR_PARSE, 1, "\\K"},
    {"\\Gx", HG_ERR_PARSE, 0, "\\G"},
    {"(*COMMIT)a", HG_ERR_PARSE, 0, "backtracking verbs"},
    {"(?x)a b", HG_ERR_PARSE, 2, "extended mode"},
    {"(?|(a)|(b))", HG_ERR_PARSE, 0, "branch reset"},
    {"(a)(?(1)b|c)", HG_ERR_PARSE, 3, "conditional"},
    {"(?C1)a", HG_ERR_PARSE, 0, "callout"},
    {"ab(", HG_ERR_PARSE, 3, "invalid pattern at offset 3: missing closing parenthesis"},
    {"a{3,1}", HG_ERR_PARSE, 5, "numbers out of order"},
    {"台灣", HG_ERR_PARSE, 3, "'灣' at offset 3 never occurs in folded text (it folds to '湾')"},
    {"QQ\\d", HG_ERR_PARSE, 0, "folds to 'q'"},
    {"ａb", HG_ERR_PARSE, 0, "folds to 'a'"},
    {"x\\x{FF21}", HG_ERR_PARSE, 1, "folds to 'a'"},
    {"a\\x{200B}", HG_ERR_PARSE, 1, "folding removes it"},
    {"a{257}", HG_ERR_LIMIT, 0, "257 code points"},
    {"\\b[a-z]{1,255}\\b", HG_ERR_LIMIT, 0, "over the limit of 256"},
};

static void analyzer_bounds(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof bounded / sizeof *bounded; i++) {
    hg_error err;
    hg_regex_set *set = build_one(bounded[i].pattern, &err);
    if (!set) fail_msg("'%s' refused: %s", bounded[i].pattern, err.message);
    if (hg_regex_set_window(set) != bounded[i].window)
      fail_msg("'%s': window %zu, expected %zu", bounded[i].pattern, hg_regex_set_window(set), bounded[i].window);
    assert_int_equal(hg_regex_set_rule_window(set, 0), bounded[i].window);
    hg_regex_set_unref(set);
  }
}

static void analyzer_refusals(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
    hg_error err;
    memset(&err, 0, sizeof err);
    hg_regex_set *set = build_one(refused[i].pattern, &err);
    if (set) fail_msg("'%s' accepted, window %zu", refused[i].pattern, hg_regex_set_window(set));
    if (err.status != refused[i].status || err.offset != refused[i].offset || err.line != 1 ||
        !strstr(err.message, refused[i].says))
      fail_msg("'%s': status %d offset %zu line %zu message \"%s\"; expected status %d offset %zu with \"%s\"",
               refused[i].pattern, err.status, err.offset, err.line, err.message, refused[i].status, refused[i].offset,
               refused[i].says);
  }
}

static void rule_arguments(void **state) {
  (void)state;
  hg_error err;
  hg_regex_set *set;
  hg_regex_rule dup[2] = {{"same", "ab", HG_CAT_A1A, HG_ACTION_BLOCK}, {"same", "cd", HG_CAT_A1A, HG_ACTION_LOG}};
  assert_int_equal(hg_regex_set_build(dup, 2, &set, &err), HG_ERR_INVALID);
  assert_int_equal(err.line, 2);
  assert_non_null(strstr(err.message, "'same' appears twice"));
  hg_regex_rule bad[] = {{NULL, "ab", HG_CAT_A1A, HG_ACTION_BLOCK},
                         {"x", NULL, HG_CAT_A1A, HG_ACTION_BLOCK},
                         {"x", "ab", HG_CATEGORY_COUNT, HG_ACTION_BLOCK},
                         {"x", "ab", HG_CAT_A1A, HG_ACTION_ALLOW},
                         {"x", "a\xff", HG_CAT_A1A, HG_ACTION_BLOCK}};
  hg_status expect[] = {HG_ERR_INVALID, HG_ERR_INVALID, HG_ERR_INVALID, HG_ERR_INVALID, HG_ERR_UTF8};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    assert_int_equal(hg_regex_set_build(&bad[i], 1, &set, &err), expect[i]);
  /* the second rule's error names it and its number */
  hg_regex_rule two[2] = {{"ok", "ab", HG_CAT_A1A, HG_ACTION_BLOCK},
                          {"phone-ish", "1\\d+", HG_CAT_PII, HG_ACTION_REDACT}};
  assert_int_equal(hg_regex_set_build(two, 2, &set, &err), HG_ERR_PARSE);
  assert_int_equal(err.line, 2);
  assert_string_equal(err.message, "rule 'phone-ish': pattern is unbounded at offset 3 ('+'); write {1,20} instead");
  /* an empty set is a set that finds nothing */
  assert_int_equal(hg_regex_set_build(NULL, 0, &set, &err), HG_OK);
  assert_int_equal(hg_regex_set_count(set), 0);
  regex_hits hits = {0};
  assert_int_equal(hg_regex_scan(set, "abc", 3, collect, &hits, &err), HG_OK);
  assert_int_equal(hits.n, 0);
  hg_regex_set_unref(set);
  /* the set keeps its own copies */
  char name[] = "copy", pat[] = "ab";
  hg_regex_rule r = {name, pat, HG_CAT_A2B, HG_ACTION_REVIEW};
  assert_int_equal(hg_regex_set_build(&r, 1, &set, &err), HG_OK);
  name[0] = pat[0] = 'x';
  assert_string_equal(hg_regex_set_rule(set, 0)->name, "copy");
  assert_string_equal(hg_regex_set_rule(set, 0)->pattern, "ab");
  assert_int_equal(hg_regex_set_rule(set, 0)->category, HG_CAT_A2B);
  assert_null(hg_regex_set_rule(set, 1));
  hg_regex_set_unref(set);
}

/* ---- matching on folded text ----------------------------------------------------------------------------- */

static void folded_matching(void **state) {
  (void)state;
  hg_regex_set *set = build_one("qq\\d{5,11}", NULL);
  assert_non_null(set);
  print_message("JIT for %zu of %zu rules\n", hg_regex_set_jit_count(set), hg_regex_set_count(set));
  regex_hits hits = {0};
  const char *t1 = "ＱＱ１２３４５６"; /* 8 full-width code points, 3 bytes each */
  assert_int_equal(hg_regex_scan(set, t1, strlen(t1), collect, &hits, NULL), HG_OK);
  assert_int_equal(hits.n, 1);
  assert_int_equal(hits.v[0].rule, 0);
  assert_int_equal(hits.v[0].start, 0);
  assert_int_equal(hits.v[0].end, 24);
  hits.n = 0;
  const char *t2 = "加我Ｑq１２３４５６７吧，或者 qq 12345"; /* the second has a space: no hit */
  assert_int_equal(hg_regex_scan(set, t2, strlen(t2), collect, &hits, NULL), HG_OK);
  assert_int_equal(hits.n, 1);
  assert_int_equal(hits.v[0].start, 6);
  assert_int_equal(hits.v[0].end, 6 + 3 + 1 + 7 * 3);
  free(hits.v);
  hg_regex_set_unref(set);
}

/* ---- streaming ------------------------------------------------------------------------------------------- */

static const char *const stream_rules[] = {
    "qq\\d{5,11}",
    "\\b1[3-9]\\d{9}\\b",
    "(?<=微信):?[a-z0-9_]{3,12}",
    "法.{0,3}轮.{0,3}功",
    "(?m)^代开\\S{0,6}$",
    "(?i)vx\\s?\\d{4,8}",
    "(ab|a)\\1",
    "\\d{2}(?!\\d)",
    "[[:<:]]free",
    "(?<!\\d)64(?!\\d)",
    "\\Aabc",
    "x\\z",
    "end\\Z",
    "a$",
    "b{1,3}?c{0,2}",
    "(?<=(?<!b)a)c",
    "[^\\n]{3}\\n",
    "(?<=\\d{3})x{1,2}",
    "a\\n(?m)^[bc]",
};
#define N_STREAM_RULES (sizeof stream_rules / sizeof *stream_rules)

static const char *pieces[] = {
    "qq",   "ＱＱ", "1",  "2",    "3",   "7",   "13812345678", "１３９", "微信", ":",  "：", "abc",
    "a",    "b",    "c",  "x",    "end", "\n",  "代开",        "發票",   "法",   "轮", "輪", "功",
    "free", "Free", "64", "1964", "vx",  "VX ", "⑩",           "ﬁ",      " ",    "，", "。", "\xE2\x80\x8B",
    "ab",   "aab",  "ba", "中",   "国",  "😀",   "_z9",
};

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint64_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static size_t random_text(char *buf, size_t cap, size_t max_len) {
  size_t n = 0, target = 1 + next_rand() % max_len;
  while (n < target) {
    const char *p = pieces[next_rand() % (sizeof pieces / sizeof *pieces)];
    size_t l = strlen(p);
    if (n + l >= cap) break;
    memcpy(buf + n, p, l);
    n += l;
  }
  return n;
}

typedef struct stream_check {
  regex_hits hits;
  size_t released; /* bytes before this are final */
  int violation;
} stream_check;

static int check_hit(void *ctx, const hg_regex_hit *h) {
  stream_check *c = ctx;
  if (h->start < c->released) c->violation = 1;
  return collect(&c->hits, h);
}

static int same_hit(const hg_regex_hit *a, const hg_regex_hit *b) {
  return a->rule == b->rule && a->start == b->start && a->end == b->end;
}

static int same_hits(const regex_hits *a, const regex_hits *b) {
  if (a->n != b->n) return 0;
  for (size_t i = 0; i < a->n; i++)
    if (!same_hit(&a->v[i], &b->v[i])) return 0;
  return 1;
}

/* Feeds a view cut at random places; returns the hits and checks hold_from as it goes. */
static void stream_view(hg_regex_set *set, const hg_norm_char *view, size_t n, int style, stream_check *c) {
  hg_regex_scanner *sc;
  hg_error err;
  assert_int_equal(hg_regex_scanner_new(set, check_hit, c, &sc), HG_OK);
  size_t pos = 0;
  while (pos < n) {
    size_t step = style == 0 ? 1 : style == 1 ? 1 + next_rand() % 7 : 1 + next_rand() % 300;
    if (step > n - pos) step = n - pos;
    if (hg_regex_scanner_feed(sc, view + pos, step, &err)) fail_msg("feed: %s", err.message);
    pos += step;
    /* hold_from is exact where a part ends with its source code point (see hegui/regex.h) */
    if (pos == n || view[pos].src_start >= view[pos - 1].src_end) {
      size_t hold = hg_regex_scanner_hold_from(sc);
      size_t released = hold == SIZE_MAX ? view[pos - 1].src_end : hold;
      assert_true(released <= view[pos - 1].src_end);
      assert_true(released >= c->released); /* released bytes never come back */
      c->released = released;
    }
  }
  if (hg_regex_scanner_finish(sc, &err)) fail_msg("finish: %s", err.message);
  assert_int_equal(hg_regex_scanner_hold_from(sc), SIZE_MAX);
  hg_regex_scanner_free(sc);
}

static void random_cuts_match_one_shot(void **state) {
  (void)state;
  hg_regex_set *set = build_rules(stream_rules, N_STREAM_RULES);
  char text[4096];
  size_t cuttings = 0, total_hits = 0, rules_hit[N_STREAM_RULES] = {0};
  for (int t = 0; t < 400; t++) {
    size_t len = random_text(text, sizeof text, t % 4 ? 400 : 40);
    regex_hits one = {0};
    hg_error err;
    if (hg_regex_scan(set, text, len, collect, &one, &err)) fail_msg("scan: %s", err.message);
    total_hits += one.n;
    for (size_t i = 0; i < one.n; i++)
      rules_hit[one.v[i].rule]++;
    hg_norm_char *view;
    size_t n;
    assert_int_equal(hg_normalize(text, len, &view, &n, NULL), HG_OK);
    for (int k = 0; k < 9; k++) {
      stream_check c = {0};
      stream_view(set, view, n, k % 3, &c);
      if (c.violation) fail_msg("a hit covered released bytes (text %d, cutting %d)", t, k);
      if (!same_hits(&c.hits, &one))
        fail_msg("stream and one-shot differ: %zu vs %zu hits (text %d, cutting %d)", c.hits.n, one.n, t, k);
      free(c.hits.v);
      cuttings++;
    }
    free(view);
    free(one.v);
  }
  print_message("%zu cuttings of 400 texts, %zu one-shot hits, all identical\n", cuttings, total_hits);
  for (size_t r = 0; r < N_STREAM_RULES; r++)
    if (!rules_hit[r]) fail_msg("rule %zu ('%s') never hit: the texts do not exercise it", r, stream_rules[r]);
  hg_regex_set_unref(set);
}

/* ---- a naive reference: PCRE2 over the whole folded text in one go --------------------------------------- */

typedef struct ref_hit {
  size_t vstart, vend;
  uint32_t rule;
} ref_hit;

static int ref_before(const void *a, const void *b) {
  const ref_hit *x = a, *y = b;
  if (x->vstart != y->vstart) return x->vstart < y->vstart ? -1 : 1;
  if (x->vend != y->vend) return x->vend > y->vend ? -1 : 1;
  return x->rule < y->rule ? -1 : x->rule > y->rule;
}

static pcre2_code **reference_compile(const char *const *patterns, size_t n) {
  pcre2_code **codes = calloc(n, sizeof *codes);
  pcre2_compile_context *cctx = pcre2_compile_context_create(NULL);
  pcre2_set_newline(cctx, HG_REGEX_PCRE2_NEWLINE);
  pcre2_set_bsr(cctx, HG_REGEX_PCRE2_BSR);
  for (size_t r = 0; r < n; r++) {
    /* the patterns are ASCII or already folded, so their code points are just decoded */
    uint32_t cps[256];
    size_t k = 0;
    const uint8_t *s = (const uint8_t *)patterns[r];
    for (size_t i = 0; s[i];) {
      int l = hg_utf8_decode(s + i, strlen((const char *)s + i), &cps[k++]);
      i += (size_t)l;
    }
    int code;
    PCRE2_SIZE at;
    codes[r] = pcre2_compile(cps, k, HG_REGEX_PCRE2_OPTIONS, &code, &at, cctx);
    assert_non_null(codes[r]);
  }
  pcre2_compile_context_free(cctx);
  return codes;
}

static regex_hits reference_scan(pcre2_code **codes, size_t nrules, const char *text, size_t len) {
  hg_norm_char *view;
  size_t n;
  assert_int_equal(hg_normalize(text, len, &view, &n, NULL), HG_OK);
  uint32_t *cps = malloc((n + 1) * sizeof *cps);
  for (size_t i = 0; i < n; i++)
    cps[i] = view[i].cp;
  ref_hit *found = NULL;
  size_t nf = 0, cap = 0;
  pcre2_match_data *md = pcre2_match_data_create(1, NULL);
  for (size_t r = 0; r < nrules; r++) {
    size_t pos = 0;
    for (;;) {
      int rc = pcre2_match(codes[r], cps, n, pos, 0, md, NULL);
      if (rc == PCRE2_ERROR_NOMATCH) break;
      assert_true(rc >= 0);
      PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
      if (nf == cap) found = realloc(found, (cap = cap ? cap * 2 : 16) * sizeof *found);
      found[nf++] = (ref_hit){ov[0], ov[1], (uint32_t)r};
      pos = ov[1];
    }
  }
  pcre2_match_data_free(md);
  if (nf) qsort(found, nf, sizeof *found, ref_before);
  regex_hits out = {0};
  for (size_t i = 0; i < nf; i++) {
    hg_regex_hit h = {found[i].rule, view[found[i].vstart].src_start, view[found[i].vend - 1].src_end};
    collect(&out, &h);
  }
  free(found);
  free(cps);
  free(view);
  return out;
}

static void differential_against_whole_text(void **state) {
  (void)state;
  hg_regex_set *set = build_rules(stream_rules, N_STREAM_RULES);
  pcre2_code **codes = reference_compile(stream_rules, N_STREAM_RULES);
  static char text[1 << 16];
  size_t total = 0;
  for (int t = 0; t < 300; t++) {
    size_t len = random_text(text, sizeof text, t % 10 ? 600 : 30000); /* some texts span several slices */
    regex_hits mine = {0};
    assert_int_equal(hg_regex_scan(set, text, len, collect, &mine, NULL), HG_OK);
    regex_hits ref = reference_scan(codes, N_STREAM_RULES, text, len);
    if (!same_hits(&mine, &ref)) {
      size_t i = 0;
      while (i < mine.n && i < ref.n && same_hit(&mine.v[i], &ref.v[i]))
        i++;
      fail_msg("text %d: %zu hits, reference %zu; first difference at %zu: rule %u [%zu,%zu) vs rule %u [%zu,%zu)", t,
               mine.n, ref.n, i, i < mine.n ? mine.v[i].rule : 0, i < mine.n ? mine.v[i].start : 0,
               i < mine.n ? mine.v[i].end : 0, i < ref.n ? ref.v[i].rule : 0, i < ref.n ? ref.v[i].start : 0,
               i < ref.n ? ref.v[i].end : 0);
    }
    total += ref.n;
    free(mine.v);
    free(ref.v);
  }
  print_message("300 texts, %zu hits, identical to PCRE2 over the whole folded text\n", total);
  for (size_t r = 0; r < N_STREAM_RULES; r++)
    pcre2_code_free(codes[r]);
  free(codes);
  hg_regex_set_unref(set);
}

/* ---- deterministic streaming edges ----------------------------------------------------------------------- */

typedef struct feeder {
  hg_regex_scanner *sc;
  size_t offset; /* source bytes fed so far */
} feeder;

/* Normalizes a piece of source text and feeds it, its spans shifted to the stream's offsets. */
static hg_status feed_text(feeder *f, const char *s, hg_error *err) {
  hg_norm_char *v;
  size_t n, len = strlen(s);
  assert_int_equal(hg_normalize(s, len, &v, &n, NULL), HG_OK);
  for (size_t i = 0; i < n; i++) {
    v[i].src_start += f->offset;
    v[i].src_end += f->offset;
  }
  f->offset += len;
  hg_status st = hg_regex_scanner_feed(f->sc, v, n, err);
  free(v);
  return st;
}

static void early_reports_and_hold(void **state) {
  (void)state;
  const char *rules[] = {"qq\\d{5,11}", "a$"};
  hg_regex_set *set = build_rules(rules, 2);
  regex_hits hits = {0};
  feeder f = {0};
  assert_int_equal(hg_regex_scanner_new(set, collect, &hits, &f.sc), HG_OK);
  assert_int_equal(hg_regex_scanner_hold_from(f.sc), SIZE_MAX);
  assert_int_equal(feed_text(&f, "xx ", NULL), HG_OK);
  assert_int_equal(hg_regex_scanner_hold_from(f.sc), SIZE_MAX); /* nothing here can start a hit */
  assert_int_equal(feed_text(&f, "qq123", NULL), HG_OK);
  assert_int_equal(hg_regex_scanner_hold_from(f.sc), 3);
  assert_int_equal(feed_text(&f, "45", NULL), HG_OK);
  assert_int_equal(hits.n, 0); /* a sixth digit could still follow */
  assert_int_equal(feed_text(&f, "x", NULL), HG_OK);
  assert_int_equal(hits.n, 1); /* decided by the 'x', reported before the end */
  assert_int_equal(hits.v[0].start, 3);
  assert_int_equal(hits.v[0].end, 10);
  assert_int_equal(hg_regex_scanner_hold_from(f.sc), SIZE_MAX);
  /* eleven digits are the most: certain at the last one */
  assert_int_equal(feed_text(&f, "ＱＱ12345678901", NULL), HG_OK);
  assert_int_equal(hits.n, 2);
  /* `a$`: a newline may be the last character, so "a\n" waits for what follows */
  size_t at = f.offset;
  assert_int_equal(feed_text(&f, "a", NULL), HG_OK);
  assert_int_equal(hg_regex_scanner_hold_from(f.sc), at);
  assert_int_equal(feed_text(&f, "\n", NULL), HG_OK);
  assert_int_equal(hg_regex_scanner_hold_from(f.sc), at);
  assert_int_equal(feed_text(&f, "b", NULL), HG_OK);
  assert_int_equal(hg_regex_scanner_hold_from(f.sc), SIZE_MAX);
  assert_int_equal(hits.n, 2);
  at = f.offset;
  assert_int_equal(feed_text(&f, "a\n", NULL), HG_OK);
  assert_int_equal(hg_regex_scanner_finish(f.sc, NULL), HG_OK);
  assert_int_equal(hits.n, 3);
  assert_int_equal(hits.v[2].rule, 1);
  assert_int_equal(hits.v[2].start, at);
  assert_int_equal(hits.v[2].end, at + 1);
  hg_regex_scanner_free(f.sc);
  free(hits.v);
  hg_regex_set_unref(set);
}

static int stop_after_first(void *ctx, const hg_regex_hit *h) {
  (void)h;
  ++*(size_t *)ctx;
  return 1;
}

static void stop_errors_reset(void **state) {
  (void)state;
  const char *rules[] = {"ab"};
  hg_regex_set *set = build_rules(rules, 1);
  size_t calls = 0;
  hg_error err;
  feeder f = {0};
  assert_int_equal(hg_regex_scanner_new(set, stop_after_first, &calls, &f.sc), HG_OK);
  assert_int_equal(feed_text(&f, "ab ab ab", NULL), HG_OK);
  assert_int_equal(feed_text(&f, "ab", NULL), HG_OK); /* ignored */
  assert_int_equal(hg_regex_scanner_finish(f.sc, NULL), HG_OK);
  assert_int_equal(calls, 1);
  assert_int_equal(hg_regex_scanner_hold_from(f.sc), SIZE_MAX);
  assert_int_equal(hg_regex_scanner_finish(f.sc, &err), HG_ERR_INVALID); /* finished */
  hg_regex_scanner_reset(f.sc);
  hg_norm_char bad = {0xD800, 0, 0, 3, 0xD800};
  assert_int_equal(hg_regex_scanner_feed(f.sc, &bad, 1, &err), HG_ERR_INVALID);
  assert_non_null(strstr(err.message, "U+D800"));
  hg_norm_char good = {'a', 0, 0, 1, 'a'};
  assert_int_equal(hg_regex_scanner_feed(f.sc, &good, 1, &err), HG_ERR_INVALID); /* stays stopped */
  hg_regex_scanner_reset(f.sc);
  hg_norm_char backwards[2] = {{'a', 0, 5, 6, 'a'}, {'b', 0, 2, 3, 'b'}};
  assert_int_equal(hg_regex_scanner_feed(f.sc, backwards, 2, &err), HG_ERR_INVALID);
  assert_non_null(strstr(err.message, "backwards"));
  hg_regex_scanner_reset(f.sc);
  calls = 0;
  hg_norm_char shared[2] = {{'a', 0, 7, 10, 0x2473}, {'b', 0, 7, 10, 0x2473}}; /* one source code point folded to two */
  assert_int_equal(hg_regex_scanner_feed(f.sc, shared, 2, &err), HG_OK);
  assert_int_equal(hg_regex_scanner_finish(f.sc, &err), HG_OK);
  assert_int_equal(calls, 1);
  hg_regex_scanner_free(f.sc);
  assert_int_equal(hg_regex_scan(set, "a\xE4", 2, collect, &(regex_hits){0}, &err), HG_ERR_UTF8);
  hg_regex_set_unref(set);
  /* bounded but exponential: the step limit ends the scan and names the rule */
  const char *redos[] = {"(a|a){1,40}b"};
  set = build_rules(redos, 1);
  char as[64];
  memset(as, 'a', sizeof as - 1);
  as[sizeof as - 1] = 0;
  assert_int_equal(hg_regex_scan(set, as, strlen(as), collect, &(regex_hits){0}, &err), HG_ERR_LIMIT);
  assert_non_null(strstr(err.message, "rule 'r0': the search took too many steps"));
  hg_regex_set_unref(set);
}

static void large_stream_bounded(void **state) {
  (void)state;
  const char *rules[] = {"qq\\d{5,11}", "\\b1[3-9]\\d{9}\\b", "(?<=微信):?[a-z0-9_]{3,12}"};
  hg_regex_set *set = build_rules(rules, 3);
  const char *block = "这是一段普通的文字，联系ＱＱ１２３４５６７，或者 13812345678，微信：abc_123 。\n";
  size_t bl = strlen(block), per_block = 0, total = 0;
  regex_hits hits = {0};
  assert_int_equal(hg_regex_scan(set, block, bl, collect, &hits, NULL), HG_OK);
  per_block = hits.n;
  assert_int_equal(per_block, 3);
  free(hits.v);
  hg_norm_char *v;
  size_t n;
  assert_int_equal(hg_normalize(block, bl, &v, &n, NULL), HG_OK);
  hg_regex_scanner *sc;
  hits = (regex_hits){0};
  assert_int_equal(hg_regex_scanner_new(set, collect, &hits, &sc), HG_OK);
  size_t reps = (4u << 20) / bl, max_held = 0, offset = 0;
  for (size_t r = 0; r < reps; r++) {
    hg_norm_char shifted[256];
    assert_true(n <= 256);
    for (size_t i = 0; i < n; i++) {
      shifted[i] = v[i];
      shifted[i].src_start += offset;
      shifted[i].src_end += offset;
    }
    assert_int_equal(hg_regex_scanner_feed(sc, shifted, n, NULL), HG_OK);
    offset += bl;
    size_t hold = hg_regex_scanner_hold_from(sc);
    if (hold != SIZE_MAX && offset - hold > max_held) max_held = offset - hold;
    total += hits.n;
    hits.n = 0;
  }
  assert_int_equal(hg_regex_scanner_finish(sc, NULL), HG_OK);
  total += hits.n;
  assert_int_equal(total, reps * per_block);
  assert_true(max_held <= hg_regex_set_window(set) * 4);
  print_message("%zu MB streamed, %zu hits, largest hold-back %zu bytes (window %zu code points)\n", reps * bl >> 20,
                total, max_held, hg_regex_set_window(set));
  hg_regex_scanner_free(sc);
  free(hits.v);
  free(v);
  hg_regex_set_unref(set);
}

typedef struct thread_job {
  hg_regex_set *set;
  const char *text;
  size_t hits;
} thread_job;

static void *scan_many(void *arg) {
  thread_job *job = arg;
  for (int i = 0; i < 40; i++) {
    regex_hits hits = {0};
    if (hg_regex_scan(job->set, job->text, strlen(job->text), collect, &hits, NULL)) abort();
    job->hits += hits.n;
    free(hits.v);
  }
  return NULL;
}

/* One set, several threads, each with its own scanner: same hits everywhere (and clean under the sanitizers). */
static void shared_by_threads(void **state) {
  (void)state;
  hg_regex_set *set = build_rules(stream_rules, N_STREAM_RULES);
  char text[8192];
  size_t len = random_text(text, sizeof text - 1, 2000);
  text[len] = 0;
  regex_hits one = {0};
  assert_int_equal(hg_regex_scan(set, text, len, collect, &one, NULL), HG_OK);
  pthread_t threads[4];
  thread_job jobs[4];
  for (int t = 0; t < 4; t++) {
    jobs[t] = (thread_job){hg_regex_set_ref(set), text, 0};
    assert_int_equal(pthread_create(&threads[t], NULL, scan_many, &jobs[t]), 0);
  }
  hg_regex_set_unref(set); /* the threads' references keep it alive */
  for (int t = 0; t < 4; t++) {
    pthread_join(threads[t], NULL);
    assert_int_equal(jobs[t].hits, 40 * one.n);
    hg_regex_set_unref(jobs[t].set);
  }
  free(one.v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(analyzer_bounds),
      cmocka_unit_test(analyzer_refusals),
      cmocka_unit_test(rule_arguments),
      cmocka_unit_test(folded_matching),
      cmocka_unit_test(early_reports_and_hold),
      cmocka_unit_test(stop_errors_reset),
      cmocka_unit_test(random_cuts_match_one_shot),
      cmocka_unit_test(differential_against_whole_text),
      cmocka_unit_test(large_stream_bounded),
      cmocka_unit_test(shared_by_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
