/* test_stream.c — the streaming contract. For thousands of random ways of cutting random texts (cuts inside
 * UTF-8 sequences included), a stream reports exactly the hits of a one-shot scan, in the same order; no hit
 * ever covers a byte that pending_suffix_len had already released (texts with entries split over lines and written
 * with homoglyphs included); hold-back stays bounded on long noise runs, line breaks included;
 * and a large input streams in bounded memory with the expected count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_util.h"

static const char *lexicon_text = "法轮功\tA1h\t5\tblock\tfolded,noise,collapse,pinyin\n"
                                  "冰毒\tA1h\t5\tblock\tfolded,noise,homophone\n"
                                  "大麻\tA1h\t4\tblock\n"
                                  "大麻哈鱼\tcustom\t1\tallow\n"
                                  "national\tcustom\t2\tblock\tfolded,noise\n"
                                  "cocaine\tA1h\t4\tblock\texact,folded\n"
                                  "64\tA1a\t3\tblock\n"
                                  "08宪章\tA1a\t4\tblock\tfolded,noise\n"
                                  "台独\tA1c\t5\tblock\tfolded,noise\n"
                                  "台独分子\tA1c\t5\tblock\n"
                                  "独分\tcustom\t1\tblock\n"
                                  "ab\tcustom\t1\tblock\tcollapse\n"
                                  "代开发票\tA1h\t4\tblock\texact\n";

static const char *pieces[] = {
    "法轮功",
    "法 * 轮 _ 功",
    "法法轮轮功",
    "falungong",
    "fa lun gong",
    "flg",
    "冰毒",
    "兵读",
    "冰·毒",
    "大麻",
    "大麻哈鱼",
    "大麻哈魚",
    "national",
    "International",
    "ＮＡＴＩＯＮＡＬ",
    "cocaine",
    "ＣＯＣＡＩＮＥ",
    "64",
    "1964",
    "⑥④",
    "08宪章",
    "台独",
    "台獨",
    "台独分子",
    "独分",
    "aabbb",
    "ab",
    "代开发票",
    "代開發票",
    "\xE2\x80\x8B",
    "😀",
    " ",
    "，",
    "。",

    "a",
    "7",
    "中",
    "国",
    "的",
    "人",
    "⑩",
    "ﬁ",
    "\n",
    "   ",
    /* line breaks are noise: entries split over lines, CR LF cut between its two bytes */
    "法\n轮\n功",
    "冰\r\n毒",
    "冰\r",
    "\n毒",
    "台\xE2\x80\xA8独",
    "\r\n",
    "\r",
    "\xC2\x85",
    /* homoglyphs: "cocaine" with a Cyrillic o, in Cyrillic capitals but the N, "national" with Greek alphas */
    "cоcaine",
    "СОСАІNЕ",
    "nαtionαl",
};

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static size_t random_text(char *buf, size_t cap) {
  size_t n = 0;
  size_t target = 50 + next_rand() % 600;
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
  hit_list hits;
  size_t released; /* bytes before this are final */
  int violation;
} stream_check;

static int check_hit(void *ctx, const hg_hit *h) {
  stream_check *c = ctx;
  if (h->start < c->released) c->violation = 1;
  return collect_hit(&c->hits, h);
}

static void random_cuts_match_one_shot(void **state) {
  (void)state;
  hg_lexicon *lex = lex_from_text(lexicon_text, 3);
  char text[4096];
  size_t total_cuttings = 0, total_hits = 0, split_hits = 0;
  for (int t = 0; t < 300; t++) {
    size_t len = random_text(text, sizeof text);
    hit_list one = {0};
    assert_int_equal(hg_lexicon_scan(lex, text, len, collect_hit, &one, NULL), HG_OK);
    total_hits += one.n;
    for (size_t i = 0; i < one.n; i++) /* hits that span a line break */
      if (memchr(text + one.v[i].start, '\n', one.v[i].end - one.v[i].start) ||
          memchr(text + one.v[i].start, '\r', one.v[i].end - one.v[i].start))
        split_hits++;
    for (int k = 0; k < 12; k++) {
      stream_check c = {0};
      hg_scanner *sc;
      assert_int_equal(hg_scanner_new(lex, check_hit, &c, &sc), HG_OK);
      size_t pos = 0;
      int style = k % 3; /* byte by byte, small random, large random */
      while (pos < len) {
        size_t step = style == 0 ? 1 : style == 1 ? 1 + next_rand() % 7 : 1 + next_rand() % 200;
        if (step > len - pos) step = len - pos;
        assert_int_equal(hg_scanner_feed(sc, text + pos, step, NULL), HG_OK);
        pos += step;
        size_t pending = hg_scanner_pending_suffix_len(sc);
        assert_true(pending <= pos);
        size_t rel = pos - pending;
        assert_true(rel >= c.released); /* released bytes never come back */
        c.released = rel;
      }
      assert_int_equal(hg_scanner_finish(sc, NULL), HG_OK);
      hg_scanner_free(sc);
      if (c.violation) fail_msg("a hit covered released bytes (text %d, cutting %d)", t, k);
      if (c.hits.n != one.n || (one.n && memcmp(c.hits.v, one.v, one.n * sizeof *one.v)))
        fail_msg("stream and one-shot differ: %zu vs %zu hits (text %d, cutting %d)", c.hits.n, one.n, t, k);
      free(c.hits.v);
      total_cuttings++;
    }
    free(one.v);
  }
  print_message("%zu cuttings of 300 texts, %zu one-shot hits (%zu over a line break), all identical\n", total_cuttings,
                total_hits, split_hits);
  assert_true(total_hits > 1000); /* the texts do exercise the lexicon */
  assert_true(split_hits > 100);  /* and entries split over lines */
  hg_lexicon_unref(lex);
}

static void pending_is_minimal_on_clean_text(void **state) {
  (void)state;
  hg_lexicon *lex = lex_from_text(lexicon_text, 3);
  hg_scanner *sc;
  assert_int_equal(hg_scanner_new(lex, NULL, NULL, &sc), HG_OK);
  assert_int_equal(hg_scanner_feed(sc, "hello world 你好", strlen("hello world 你好"), NULL), HG_OK);
  assert_int_equal(hg_scanner_pending_suffix_len(sc), 0);
  assert_int_equal(hg_scanner_feed(sc, "法轮", 6, NULL), HG_OK);
  assert_int_equal(hg_scanner_pending_suffix_len(sc), 6);        /* could still become 法轮功 */
  assert_int_equal(hg_scanner_feed(sc, "\xE5", 1, NULL), HG_OK); /* first byte of a character */
  assert_int_equal(hg_scanner_pending_suffix_len(sc), 7);
  assert_int_equal(hg_scanner_feed(sc, "\xA5\xBD", 2, NULL), HG_OK); /* 好: the prefix is dead */
  assert_int_equal(hg_scanner_pending_suffix_len(sc), 0);
  /* a long noise run ends a live prefix: hold-back stays bounded */
  assert_int_equal(hg_scanner_feed(sc, "法", 3, NULL), HG_OK);
  for (int i = 0; i < 10000; i++)
    assert_int_equal(hg_scanner_feed(sc, " ", 1, NULL), HG_OK);
  assert_int_equal(hg_scanner_pending_suffix_len(sc), 0);
  /* line breaks are noise too: within max_noise the prefix stays live, past it the hold-back ends */
  assert_int_equal(hg_scanner_feed(sc, "法\r\n", 5, NULL), HG_OK);
  assert_int_equal(hg_scanner_pending_suffix_len(sc), 5);
  for (int i = 0; i < 10000; i++)
    assert_int_equal(hg_scanner_feed(sc, "\r\n", 2, NULL), HG_OK);
  assert_int_equal(hg_scanner_pending_suffix_len(sc), 0);
  /* a Latin word waits for the next character (whole-word rule) */
  assert_int_equal(hg_scanner_feed(sc, "national", 8, NULL), HG_OK);
  assert_int_equal(hg_scanner_pending_suffix_len(sc), 8);
  assert_int_equal(hg_scanner_feed(sc, "s", 1, NULL), HG_OK);
  assert_int_equal(hg_scanner_pending_suffix_len(sc), 0);
  assert_int_equal(hg_scanner_finish(sc, NULL), HG_OK);
  hg_scanner_free(sc);
  hg_lexicon_unref(lex);
}

static void errors_in_stream(hg_lexicon *lex);

/* A lexicon whose keys are all in the FOLD lane: hg_scanner_feed runs it through fold_run. */
static const char *fold_only_text = "法轮功\tA1h\t5\tblock\tfolded,noise\n"
                                    "中华\tcustom\t3\tblock\tfolded\n"
                                    "abc\tcustom\t3\tblock\tfolded\n";

static void errors_in_streams(void **state) {
  (void)state;
  /* the general path, the byte path of an all-exact lexicon, the folded path of an all-folded one */
  errors_in_stream(lex_from_text(lexicon_text, 3));
  errors_in_stream(lex_from_text("中华\tcustom\t3\tblock\texact\nabc\tcustom\t3\tblock\texact\n", 3));
  errors_in_stream(lex_from_text(fold_only_text, 3));
}

/* A live prefix ends after exactly max_noise + 1 noise code points (CR LF counting as one), on every path: the
 * hold-back is the prefix and its noise up to there, and nothing after. */
static void noise_run_ends_prefix_exactly(void **state) {
  (void)state;
  const char *lexicons[] = {lexicon_text, fold_only_text};
  for (size_t li = 0; li < 2; li++) {
    hg_lexicon *lex = lex_from_text(lexicons[li], 3);
    for (int crlf = 0; crlf < 2; crlf++)
      for (size_t k = 0; k <= 6; k++)
        for (int bytewise = 0; bytewise < 2; bytewise++) {
          char text[64] = "法";
          for (size_t i = 0; i < k; i++)
            strcat(text, crlf ? "\r\n" : " ");
          hg_scanner *sc;
          assert_int_equal(hg_scanner_new(lex, NULL, NULL, &sc), HG_OK);
          size_t n = strlen(text);
          for (size_t i = 0; i < n; i += bytewise ? 1 : n)
            assert_int_equal(hg_scanner_feed(sc, text + i, bytewise ? 1 : n, NULL), HG_OK);
          size_t want = k <= 3 ? n : 0;
          if (hg_scanner_pending_suffix_len(sc) != want)
            fail_msg("lexicon %zu, %zu %s, %s: pending %zu, want %zu", li, k, crlf ? "CR LF" : "spaces",
                     bytewise ? "byte by byte" : "one chunk", hg_scanner_pending_suffix_len(sc), want);
          hg_scanner_free(sc);
        }
    hg_lexicon_unref(lex);
  }
}

static void errors_in_stream(hg_lexicon *lex) {
  hg_scanner *sc;
  hg_error err;
  assert_int_equal(hg_scanner_new(lex, NULL, NULL, &sc), HG_OK);
  assert_int_equal(hg_scanner_feed(sc, "中华\xFF", 7, &err), HG_ERR_UTF8); /* inside a chunk */
  assert_int_equal(err.offset, 6);
  hg_scanner_reset(sc);
  assert_int_equal(hg_scanner_feed(sc, "abc\xE4", 4, &err), HG_OK);
  assert_int_equal(hg_scanner_feed(sc, "\x41", 1, &err), HG_ERR_UTF8);
  assert_int_equal(err.offset, 3);
  assert_int_equal(hg_scanner_feed(sc, "x", 1, &err), HG_ERR_INVALID); /* stays stopped */
  hg_scanner_reset(sc);
  assert_int_equal(hg_scanner_feed(sc, "ok", 2, &err), HG_OK);
  assert_int_equal(hg_scanner_finish(sc, &err), HG_OK);
  hg_scanner_reset(sc);
  assert_int_equal(hg_scanner_feed(sc, "\xF0\x9F\x98", 3, &err), HG_OK);
  assert_int_equal(hg_scanner_finish(sc, &err), HG_ERR_UTF8);
  hg_scanner_free(sc);
  hg_lexicon_unref(lex);
}

static int count_hit(void *ctx, const hg_hit *h) {
  (void)h;
  ++*(size_t *)ctx;
  return 0;
}

static void large_input_bounded(void **state) {
  (void)state;
  hg_lexicon *lex = lex_from_text(lexicon_text, 3);
  const char *block = "这是一段普通的文字，其中提到法 轮 功和冰毒，还有 International 与 national 两个词。\n";
  size_t bl = strlen(block), per_block = 0, total = 0;
  assert_int_equal(hg_lexicon_scan(lex, block, bl, count_hit, &per_block, NULL), HG_OK);
  assert_int_equal(per_block, 3);
  hg_scanner *sc;
  assert_int_equal(hg_scanner_new(lex, count_hit, &total, &sc), HG_OK);
  size_t reps = (16u << 20) / bl; /* 16 MB */
  char chunk[1 << 16];
  size_t fill = 0, max_pending = 0;
  for (size_t r = 0; r < reps; r++) {
    if (fill + bl > sizeof chunk) {
      assert_int_equal(hg_scanner_feed(sc, chunk, fill, NULL), HG_OK);
      size_t p = hg_scanner_pending_suffix_len(sc);
      if (p > max_pending) max_pending = p;
      fill = 0;
    }
    memcpy(chunk + fill, block, bl);
    fill += bl;
  }
  assert_int_equal(hg_scanner_feed(sc, chunk, fill, NULL), HG_OK);
  assert_int_equal(hg_scanner_finish(sc, NULL), HG_OK);
  assert_int_equal(total, reps * per_block);
  assert_true(max_pending < 64);
  print_message("%zu MB streamed, %zu hits, largest hold-back %zu bytes\n", reps * bl >> 20, total, max_pending);
  hg_scanner_free(sc);
  hg_lexicon_unref(lex);
}

/* ---- the start filter and the ASCII fast path against a naive reference ----------------------------------------
 * While every lane is at its root the scanner skips positions where its start filter says no key can begin, ASCII
 * 32 bytes at a time. Keys here share prefixes deeper than the filter looks (8 bytes, 5 symbols), end on every
 * depth, and the texts mix long ASCII runs, CJK, noise and entries cut anywhere. The reference is written from the
 * rules: a key matches where its bytes (exact) or folded code points (folded) stand, with the word and digit rules
 * at its edges; it knows nothing of automata or filters. */

static const char *const naive_entries[] = {
    "中华人民共和国宪法",
    "中华人民共和国",
    "中华人民",
    "中华",
    "人民法院",
    "法院",
    "共和",
    "宪法第一条第二款",
    "毒",
    "the",
    "then",
    "thereafter",
    "theory",
    "abcdefghijkl",
    "abcdefgh",
    "abc",
    "xyzzy",
    "foobarbazqux",
    "foo",
    "a4u人体",
    "人体a",
    "q",
    "z9",
    "1989",
    "民共和国宪法修正案",
};

static const char *const naive_pieces[] = {
    "中华人民共和国宪法",
    "中华人民共和",
    "中华人民共和国宪法修正案",
    "人民法院",
    "法院",
    "中华",
    "中",
    "华",
    "人",
    "民",
    "宪法第一条第二款",
    "宪法第一条第三款",
    "毒",
    "的",
    "和",
    "国",
    "。",
    "，",
    " ",
    "  ",
    "The theory thereafter then there ",
    "abcdefghijklmnop ",
    "ABCDEFGH ",
    "abcdefgh",
    "abc",
    " xyzzy ",
    "XYZZY",
    "foobarbazqux",
    "foobarbaz ",
    "foo.",
    "a4u人体",
    "A4U人体",
    "人体a",
    "人体ab",
    " q ",
    "Q",
    "z9 ",
    "z99",
    " 1989 ",
    "19890",
    "the quick brown fox jumps over the lazy dog and then some more plain English text here ",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore ",
    "0123456789012345678901234567890123456789 ",
    "民共和国宪法修正案",
    "😀",
    "é",
    "ﬀ",
};

typedef struct naive_key {
  const char *text;
  size_t len;
  uint32_t cps[32];
  size_t ncp;
  unsigned start_rule, end_rule; /* 0, or the class flag the neighbour must not have */
} naive_key;

static unsigned edge_flag(unsigned flags) {
  if (flags & HG_CHAR_DIGIT) return HG_CHAR_DIGIT;
  if (flags & HG_CHAR_WORD) return HG_CHAR_WORD;
  return 0;
}

static void naive_key_init(naive_key *k, const char *text) {
  hg_norm_char *v;
  size_t n;
  assert_int_equal(hg_normalize(text, strlen(text), &v, &n, NULL), HG_OK);
  assert_true(n > 0 && n <= 32);
  k->text = text;
  k->len = strlen(text);
  k->ncp = n;
  for (size_t i = 0; i < n; i++)
    k->cps[i] = v[i].cp;
  k->start_rule = edge_flag(v[0].flags);
  k->end_rule = edge_flag(v[n - 1].flags);
  free(v);
}

static int hit_order(const void *a, const void *b) {
  const hg_hit *x = a, *y = b;
  if (x->start != y->start) return x->start < y->start ? -1 : 1;
  if (x->end != y->end) return x->end > y->end ? -1 : 1;
  return x->entry < y->entry ? -1 : x->entry > y->entry;
}

/* Every hit of every key in text, by the rules alone. */
static hit_list naive_scan(const naive_key *keys, size_t nkeys, const char *text, size_t len, int exact) {
  hg_norm_char *v;
  size_t n;
  assert_int_equal(hg_normalize(text, len, &v, &n, NULL), HG_OK);
  hit_list out = {0};
  for (size_t i = 0; i < n; i++) {
    unsigned before = i ? v[i - 1].flags : 0;
    for (size_t e = 0; e < nkeys; e++) {
      const naive_key *k = &keys[e];
      size_t last; /* index of the key's last code point in v */
      if (exact) {
        if (len - v[i].src_start < k->len || memcmp(text + v[i].src_start, k->text, k->len)) continue;
        size_t end = v[i].src_start + k->len;
        for (last = i; last < n && v[last].src_end < end; last++)
          ;
        if (last == n || v[last].src_end != end) continue;
      } else {
        if (n - i < k->ncp) continue;
        size_t j = 0;
        while (j < k->ncp && v[i + j].cp == k->cps[j])
          j++;
        if (j < k->ncp) continue;
        last = i + k->ncp - 1;
      }
      unsigned after = last + 1 < n ? v[last + 1].flags : 0;
      if ((before & k->start_rule) || (after & k->end_rule)) continue;
      hg_hit h = {(uint32_t)e, exact ? HG_MODE_EXACT : HG_MODE_FOLDED, v[i].src_start, v[last].src_end};
      collect_hit(&out, &h);
    }
  }
  free(v);
  if (out.n) qsort(out.v, out.n, sizeof *out.v, hit_order);
  return out;
}

static void expect_same_hits(const hit_list *want, const hit_list *got, const char *how, int t) {
  if (want->n == got->n && (!want->n || !memcmp(want->v, got->v, want->n * sizeof *want->v))) return;
  for (size_t i = 0; i < want->n || i < got->n; i++) {
    if (i < want->n && i < got->n && !memcmp(&want->v[i], &got->v[i], sizeof *want->v)) continue;
    if (i < want->n) print_message("want entry %u [%zu,%zu)\n", want->v[i].entry, want->v[i].start, want->v[i].end);
    if (i < got->n) print_message("got  entry %u [%zu,%zu)\n", got->v[i].entry, got->v[i].start, got->v[i].end);
    break;
  }
  fail_msg("%s: %zu hits, the reference %zu (text %d)", how, got->n, want->n, t);
}

static void start_filter_matches_naive(void **state) {
  (void)state;
  size_t nkeys = sizeof naive_entries / sizeof *naive_entries;
  naive_key keys[sizeof naive_entries / sizeof *naive_entries];
  for (size_t e = 0; e < nkeys; e++)
    naive_key_init(&keys[e], naive_entries[e]);
  size_t total = 0;
  for (int exact = 0; exact < 2; exact++) {
    char src[4096];
    size_t o = 0;
    for (size_t e = 0; e < nkeys; e++)
      o += (size_t)snprintf(src + o, sizeof src - o, "%s\tcustom\t3\tblock\t%s\n", naive_entries[e],
                            exact ? "exact" : "folded");
    hg_lexicon *lex = lex_from_text(src, 3);
    char text[8192];
    for (int t = 0; t < 400; t++) {
      size_t len = 0, target = 100 + next_rand() % 3000;
      while (len < target) {
        const char *p = naive_pieces[next_rand() % (sizeof naive_pieces / sizeof *naive_pieces)];
        size_t l = strlen(p);
        if (len + l >= sizeof text) break;
        memcpy(text + len, p, l);
        len += l;
      }
      hit_list want = naive_scan(keys, nkeys, text, len, exact), one = {0}, bytes = {0}, cut = {0}, view = {0};
      total += want.n;
      assert_int_equal(hg_lexicon_scan(lex, text, len, collect_hit, &one, NULL), HG_OK);
      expect_same_hits(&want, &one, exact ? "exact one-shot" : "folded one-shot", t);
      hg_scanner *sc;
      assert_int_equal(hg_scanner_new(lex, collect_hit, &bytes, &sc), HG_OK);
      for (size_t i = 0; i < len; i++) /* byte by byte: the filter never sees past a chunk */
        assert_int_equal(hg_scanner_feed(sc, text + i, 1, NULL), HG_OK);
      assert_int_equal(hg_scanner_finish(sc, NULL), HG_OK);
      expect_same_hits(&want, &bytes, "byte by byte", t);
      hg_scanner_reset(sc);
      hg_scanner_free(sc);
      assert_int_equal(hg_scanner_new(lex, collect_hit, &cut, &sc), HG_OK);
      for (size_t pos = 0; pos < len;) { /* cuts inside ASCII runs, CJK sequences and keys */
        size_t step = 1 + next_rand() % 80;
        if (step > len - pos) step = len - pos;
        assert_int_equal(hg_scanner_feed(sc, text + pos, step, NULL), HG_OK);
        pos += step;
      }
      assert_int_equal(hg_scanner_finish(sc, NULL), HG_OK);
      hg_scanner_free(sc);
      expect_same_hits(&want, &cut, "random cuts", t);
      hg_normalizer *nz;
      assert_int_equal(hg_normalizer_new(&nz), HG_OK);
      assert_int_equal(hg_scanner_new(lex, collect_hit, &view, &sc), HG_OK);
      const hg_norm_char *rec;
      size_t nrec;
      assert_int_equal(hg_normalizer_feed(nz, text, len, &rec, &nrec, NULL), HG_OK);
      assert_int_equal(hg_scanner_feed_view(sc, rec, nrec, len, NULL), HG_OK);
      assert_int_equal(hg_scanner_finish(sc, NULL), HG_OK);
      hg_scanner_free(sc);
      hg_normalizer_free(nz);
      expect_same_hits(&want, &view, "normalized view", t);
      free(want.v);
      free(one.v);
      free(bytes.v);
      free(cut.v);
      free(view.v);
    }
    hg_lexicon_unref(lex);
  }
  print_message("%zu reference hits over 800 texts, found alike one-shot, byte by byte, cut and from the view\n",
                total);
  assert_true(total > 5000);
}

/* ---- the start filter over the normalized view -------------------------------------------------------------
 * The moderator feeds the scanner a normalized view (hg_scanner_feed_view), where the filter walks the records'
 * folded units and re-encodes the source code points for the byte lane. The same reference as above, with more
 * keys and pieces for what only the view has to handle: code points that fold to several (ﬃ, ⑩), to nothing
 * (a zero-width space inside a key) or to one non-ASCII unit that folds to ASCII (①⑨⑧⑨, ＴＨＥＯＲＹ). The view is
 * fed whole, one byte of text at a time (one code point's records per call: the filter never sees past them) and
 * in random cuts, and the byte path the same random cuts: every way gives the reference's hits, and no hit starts
 * in bytes that pending_suffix_len had released. */

static const char *const view_entries[] = {"10", "office", "fifo", "中华人"};

static const char *const view_pieces[] = {
    "oﬃce ",
    "office",
    "ﬁfo",
    "ﬁ",
    "⑩",
    "⑩0",
    " 10 ",
    "①⑨⑧⑨",
    "ＴＨＥＯＲＹ ",
    "ｘｙｚｚｙ",
    "中\xE2\x80\x8B华",
    "\xE2\x80\x8B",
    "中华\r\n人民",
    "\r\n",
    "\r",
    "中华人",
};

static void feed_view_cuts(hg_lexicon *lex, const char *text, size_t len, int how, stream_check *c) {
  hg_normalizer *nz;
  hg_scanner *sc;
  assert_int_equal(hg_normalizer_new(&nz), HG_OK);
  assert_int_equal(hg_scanner_new(lex, check_hit, c, &sc), HG_OK);
  for (size_t pos = 0; pos < len;) {
    size_t step = how == 0 ? len : how == 1 ? 1 : 1 + next_rand() % 80;
    if (step > len - pos) step = len - pos;
    const hg_norm_char *rec;
    size_t nrec;
    assert_int_equal(hg_normalizer_feed(nz, text + pos, step, &rec, &nrec, NULL), HG_OK);
    pos += step;
    assert_int_equal(hg_scanner_feed_view(sc, rec, nrec, hg_normalizer_offset(nz), NULL), HG_OK);
    assert_int_equal(hg_scanner_offset(sc), pos);
    size_t pend = hg_scanner_pending_suffix_len(sc);
    assert_true(pend <= pos);
    assert_true(pos - pend >= c->released); /* released bytes never come back */
    c->released = pos - pend;
  }
  assert_int_equal(hg_normalizer_finish(nz, NULL), HG_OK);
  assert_int_equal(hg_scanner_finish(sc, NULL), HG_OK);
  hg_scanner_free(sc);
  hg_normalizer_free(nz);
}

static void view_start_filter_matches_naive(void **state) {
  (void)state;
  enum { NE = sizeof naive_entries / sizeof *naive_entries, NV = sizeof view_entries / sizeof *view_entries };
  enum { NP = sizeof naive_pieces / sizeof *naive_pieces, NVP = sizeof view_pieces / sizeof *view_pieces };
  const char *entries[NE + NV];
  naive_key keys[NE + NV];
  for (size_t e = 0; e < NE + NV; e++) {
    entries[e] = e < NE ? naive_entries[e] : view_entries[e - NE];
    naive_key_init(&keys[e], entries[e]);
  }
  size_t total = 0, released = 0;
  for (int exact = 0; exact < 2; exact++) {
    char src[4096];
    size_t o = 0;
    for (size_t e = 0; e < NE + NV; e++)
      o += (size_t)snprintf(src + o, sizeof src - o, "%s\tcustom\t3\tblock\t%s\n", entries[e],
                            exact ? "exact" : "folded");
    hg_lexicon *lex = lex_from_text(src, 3);
    char text[8192];
    for (int t = 0; t < 400; t++) {
      size_t len = 0, target = 100 + next_rand() % 3000;
      while (len < target) {
        size_t k = next_rand() % (NP + NVP);
        const char *p = k < NP ? naive_pieces[k] : view_pieces[k - NP];
        size_t l = strlen(p);
        if (len + l >= sizeof text) break;
        memcpy(text + len, p, l);
        len += l;
      }
      hit_list want = naive_scan(keys, NE + NV, text, len, exact);
      total += want.n;
      static const char *const hows[] = {"view whole", "view byte by byte", "view in random cuts"};
      for (int how = 0; how < 3; how++) {
        stream_check c = {0};
        feed_view_cuts(lex, text, len, how, &c);
        expect_same_hits(&want, &c.hits, hows[how], t);
        assert_false(c.violation);
        released += c.released;
        free(c.hits.v);
      }
      stream_check b = {0}; /* the byte path, in random cuts of its own */
      hg_scanner *sc;
      assert_int_equal(hg_scanner_new(lex, check_hit, &b, &sc), HG_OK);
      for (size_t pos = 0; pos < len;) {
        size_t step = 1 + next_rand() % 80;
        if (step > len - pos) step = len - pos;
        assert_int_equal(hg_scanner_feed(sc, text + pos, step, NULL), HG_OK);
        pos += step;
        assert_true(pos - hg_scanner_pending_suffix_len(sc) >= b.released);
        b.released = pos - hg_scanner_pending_suffix_len(sc);
      }
      assert_int_equal(hg_scanner_finish(sc, NULL), HG_OK);
      hg_scanner_free(sc);
      expect_same_hits(&want, &b.hits, "bytes in random cuts", t);
      assert_false(b.violation);
      free(b.hits.v);
      free(want.v);
    }
    hg_lexicon_unref(lex);
  }
  print_message("%zu reference hits over 800 texts, found alike from the view whole, byte by byte and cut, and from "
                "bytes cut\n",
                total);
  assert_true(total > 5000);
  assert_true(released > 0);
}

/* ---- the exact byte path against memmem ------------------------------------------------------------------------
 * A lexicon whose entries are all exact is scanned over raw bytes (exact_chunk) and one with folded entries too
 * steps its byte lane one code point at a time; neither decodes classes unless a key's rule asks. The reference
 * finds each entry's bytes with memmem and applies the rules as documented: a key whose first (last) letter or digit
 * is a word character or digit refuses a neighbour of that class, where the neighbour is the nearest character that
 * folds to something (DEL, a zero-width space, a soft hyphen are passed over; the text's ends are boundaries), a
 * key that begins with a letter does not begin inside a word, and an allowlist entry's hit hides the hits it
 * covers. Texts are built from fragments of the entries, cut inside keys, with those characters between them;
 * each is scanned one-shot, byte by byte and in random cuts, where no hit may start in bytes already released. */

static const char *const exact_entries[] = {
    "中华人民共和国",
    "中华人民",
    "人民共和",
    "共和国宪法",
    "宪法",
    "法院",
    "中",
    "民法典",
    "the",
    "then",
    "64",
    "1989",
    "b\x7f",
    "法\xE2\x80\x8B轮",
    "naïve",
    "über",
    "сок",
    "😀笑",
    "-x",
    "x-",
    "a\u00ADb",
    "ﬀ",
    "第23条",
    "23",
    "é",
};
/* allowlist entries (exact) in the lexicons that have them */
static const char *const exact_allow[] = {"中华人民共和国宪法", "the end", "6400"};
/* folded entries of the mixed lexicon: their hits are left out of the comparison (no allowlist is folded) */
static const char *const exact_folded[] = {"人民", "theory", "共和"};

static const char *const exact_pieces[] = {
    "中华人民共和国宪法",
    "中华人民共",
    "人民共和国",
    "和国宪",
    "民法典",
    "中",
    "华",
    "人",
    "民",
    "法",
    "院",
    "。",
    "，",
    " ",
    "the",
    "The",
    "then",
    "other",
    "thexyz",
    "64",
    "640",
    "6400",
    "1989",
    "19890",
    "b",
    "\x7f",
    "q",
    "\xE2\x80\x8B",
    "\xC2\xAD",
    "a",
    "naïve",
    "naïveté",
    "über",
    "Über",
    "сок",
    "сокол",
    "😀",
    "笑",
    "-",
    "x",
    "ﬀ",
    "ﬀi",
    "第",
    "23",
    "条",
    "é",
    "e\xCC\x81",
    "\r\n",
    "the end",
    "end",
};

typedef struct xref_cp {
  size_t start, end;
  int ignorable;
  unsigned first, last; /* class of the first and last code point it folds to */
} xref_cp;

static size_t xref_cps(const char *text, size_t len, xref_cp *out) {
  size_t n = 0;
  for (size_t i = 0; i < len;) {
    uint32_t cp, f[HG_FOLD_MAX];
    int r = hg_utf8_decode((const uint8_t *)text + i, len - i, &cp);
    assert_true(r > 0);
    size_t nf = hg_fold(cp, f);
    out[n] = (xref_cp){i, i + (size_t)r, nf == 0, nf ? hg_char_flags(f[0]) : 0, nf ? hg_char_flags(f[nf - 1]) : 0};
    n++;
    i += (size_t)r;
  }
  return n;
}

/* the edge rules of an entry as a class the neighbour must not have: its first/last folded unit that is not noise */
static void xref_rules(const char *e, unsigned *start_rule, unsigned *end_rule) {
  xref_cp cps[64];
  size_t n = xref_cps(e, strlen(e), cps);
  *start_rule = *end_rule = 0;
  int have_first = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t cp, f[HG_FOLD_MAX];
    hg_utf8_decode((const uint8_t *)e + cps[i].start, cps[i].end - cps[i].start, &cp);
    size_t nf = hg_fold(cp, f);
    for (size_t k = 0; k < nf; k++) {
      unsigned fl = hg_char_flags(f[k]);
      if (fl & HG_CHAR_NOISE) continue;
      unsigned rule = edge_flag(fl);
      if (!have_first) *start_rule = rule, have_first = 1;
      *end_rule = rule;
    }
  }
}

typedef struct xref_hit {
  hg_hit hit;
  int allow;
} xref_hit;

static hit_list xref_scan(const char *const *entries, const int *allow, size_t nent, const char *text, size_t len) {
  static xref_cp cps[8192];
  size_t n = xref_cps(text, len, cps);
  static xref_hit found[65536];
  size_t nf = 0;
  for (size_t e = 0; e < nent; e++) {
    size_t el = strlen(entries[e]);
    unsigned sr, er;
    xref_rules(entries[e], &sr, &er);
    for (const char *p = text; (p = memmem(p, len - (size_t)(p - text), entries[e], el)); p++) {
      size_t start = (size_t)(p - text), end = start + el, i = 0;
      while (i < n && cps[i].start < start)
        i++;
      assert_true(i < n && cps[i].start == start); /* a lead byte starts a code point */
      unsigned before_first = 0, before_last = 0, after = 0;
      for (size_t k = i; k-- > 0;)
        if (!cps[k].ignorable) {
          before_first = cps[k].first;
          before_last = cps[k].last;
          break;
        }
      size_t j = i;
      while (j < n && cps[j].end <= end)
        j++;
      for (size_t k = j; k < n; k++)
        if (!cps[k].ignorable) {
          after = cps[k].first;
          break;
        }
      if ((before_first & sr) || (after & er)) continue;
      if (!cps[i].ignorable && (cps[i].first & (HG_CHAR_WORD | HG_CHAR_DIGIT)) == HG_CHAR_WORD &&
          (before_last & HG_CHAR_WORD))
        continue; /* a letter inside a word begins no key */
      assert_true(nf < sizeof found / sizeof *found);
      found[nf++] = (xref_hit){{(uint32_t)e, HG_MODE_EXACT, start, end}, allow[e]};
    }
  }
  hit_list out = {0};
  for (size_t a = 0; a < nf; a++) {
    if (found[a].allow) continue;
    int hidden = 0;
    for (size_t b = 0; b < nf && !hidden; b++)
      hidden = found[b].allow && found[b].hit.start <= found[a].hit.start && found[a].hit.end <= found[b].hit.end;
    if (!hidden) collect_hit(&out, &found[a].hit);
  }
  if (out.n) qsort(out.v, out.n, sizeof *out.v, hit_order);
  return out;
}

/* hits of the entries below nkeep, sorted as the reference sorts them */
static void xref_keep(hit_list *l, size_t nkeep) {
  size_t k = 0;
  for (size_t i = 0; i < l->n; i++)
    if (l->v[i].entry < nkeep) l->v[k++] = l->v[i];
  l->n = k;
  if (l->n) qsort(l->v, l->n, sizeof *l->v, hit_order);
}

/* Feeds text to sc in random cuts (round 0: up to 7 bytes, 1: up to 40, 2: up to 300; inside UTF-8 sequences, keys and
 * ASCII runs), taking the scanner's pending suffix after each as what is released (check_hit fails a hit inside it),
 * then finishes. */
static void feed_in_cuts(hg_scanner *sc, const char *text, size_t len, int round, stream_check *c) {
  for (size_t pos = 0; pos < len;) {
    size_t step = 1 + next_rand() % (round == 0 ? 7 : round == 1 ? 40 : 300);
    if (step > len - pos) step = len - pos;
    assert_int_equal(hg_scanner_feed(sc, text + pos, step, NULL), HG_OK);
    pos += step;
    size_t pend = hg_scanner_pending_suffix_len(sc);
    assert_true(pend <= pos);
    c->released = pos - pend;
  }
  assert_int_equal(hg_scanner_finish(sc, NULL), HG_OK);
  assert_false(c->violation);
}

static void exact_path_matches_naive(void **state) {
  (void)state;
  const char *entries[64];
  int allow[64];
  size_t total = 0;
  for (int variant = 0; variant < 3; variant++) { /* all exact; all exact with allowlist; mixed with allowlist */
    hg_lexicon_source *src;
    assert_int_equal(hg_lexicon_source_new(&src), HG_OK);
    size_t nent = 0;
    for (size_t i = 0; i < sizeof exact_entries / sizeof *exact_entries; i++, nent++) {
      entries[nent] = exact_entries[i];
      allow[nent] = 0;
    }
    for (size_t i = 0; variant > 0 && i < sizeof exact_allow / sizeof *exact_allow; i++, nent++) {
      entries[nent] = exact_allow[i];
      allow[nent] = 1;
    }
    size_t nexact = nent;
    for (size_t i = 0; i < nexact; i++) {
      hg_entry_info ei = {
          entries[i],   strlen(entries[i]), HG_CAT_CUSTOM, 3, allow[i] ? HG_ACTION_ALLOW : HG_ACTION_BLOCK,
          HG_MODE_EXACT};
      assert_int_equal(hg_lexicon_source_add_entry(src, &ei, NULL), HG_OK);
    }
    for (size_t i = 0; variant == 2 && i < sizeof exact_folded / sizeof *exact_folded; i++) {
      hg_entry_info ei = {exact_folded[i], strlen(exact_folded[i]), HG_CAT_CUSTOM, 3, HG_ACTION_BLOCK, HG_MODE_FOLDED};
      assert_int_equal(hg_lexicon_source_add_entry(src, &ei, NULL), HG_OK);
    }
    hg_compile_options o;
    hg_compile_options_init(&o);
    hg_lexicon *lex;
    assert_int_equal(hg_lexicon_compile(src, &o, &lex, NULL), HG_OK);
    hg_lexicon_source_free(src);
    char text[6000];
    for (int t = 0; t < 300; t++) {
      size_t len = 0, target = 20 + next_rand() % 2000;
      while (len < target) {
        const char *p = exact_pieces[next_rand() % (sizeof exact_pieces / sizeof *exact_pieces)];
        size_t l = strlen(p);
        if (len + l >= sizeof text) break;
        memcpy(text + len, p, l);
        len += l;
      }
      hit_list want = xref_scan(entries, allow, nexact, text, len), one = {0}, bytes = {0};
      total += want.n;
      assert_int_equal(hg_lexicon_scan(lex, text, len, collect_hit, &one, NULL), HG_OK);
      xref_keep(&one, nexact);
      expect_same_hits(&want, &one, variant == 2 ? "mixed one-shot" : "exact one-shot", t);
      hg_scanner *sc;
      assert_int_equal(hg_scanner_new(lex, collect_hit, &bytes, &sc), HG_OK);
      for (size_t i = 0; i < len; i++)
        assert_int_equal(hg_scanner_feed(sc, text + i, 1, NULL), HG_OK);
      assert_int_equal(hg_scanner_finish(sc, NULL), HG_OK);
      xref_keep(&bytes, nexact);
      expect_same_hits(&want, &bytes, "byte by byte", t);
      for (int round = 0; round < 3; round++) {
        stream_check c = {0};
        hg_scanner_reset(sc);
        hg_scanner_free(sc);
        assert_int_equal(hg_scanner_new(lex, check_hit, &c, &sc), HG_OK);
        feed_in_cuts(sc, text, len, round, &c);
        xref_keep(&c.hits, nexact);
        expect_same_hits(&want, &c.hits, "random cuts", t);
        free(c.hits.v);
      }
      hg_scanner_free(sc);
      free(want.v);
      free(one.v);
      free(bytes.v);
    }
    hg_lexicon_unref(lex);
  }
  print_message("%zu reference hits over 900 texts, found alike one-shot, byte by byte and in random cuts\n", total);
  assert_true(total > 20000);
}

/* Folded+noise matching against a reference built from the public fold alone: each code point of the text is
 * folded with hg_fold and classed with hg_char_flags; noise is dropped; each entry, folded the same way, is searched
 * by brute force with at most max_noise noise code points between two of its characters; the offsets are the
 * source bytes of the first and last matched code points. Entries are Han only, so no word rule applies; the
 * modes of the hits are not compared (a match without noise may be reported by either lane). */
static const char *const folded_entries[] = {"法轮功", "人民",   "民主",   "宪法修正案",
                                             "六四",   "天安门", "共和国", "台独"};
static const char *const folded_pieces[] = {"法轮功", "法 輪，功", "人民",   "民 主",     "天★安*門", "憲法，修正　案",
                                            "六 四",  "共和國",    "台**獨", "法  ,  轮",

                                            "法",     "輪",        "轮",     "功",        "人",       "民",
                                            "主",     "憲",        "宪",     "法",        "修",       "正",
                                            "案",     "六",        "四",     "天",        "安",       "門",
                                            "门",     "共",        "和",     "國",        "国",       "台",
                                            "獨",     "独",        " ",      "，",        "★",        "*",
                                            "。",     "x",         "1",      "的",        "是",       "\n",
                                            "!"};

typedef struct fref_cp {
  uint32_t sym; /* folded code point, 0 for noise or a code point that folds to nothing or to several */
  int noise;
  size_t start, end;
} fref_cp;

static size_t fref_fold(const char *text, size_t len, fref_cp *out) {
  size_t n = 0;
  for (size_t i = 0; i < len;) {
    uint32_t cp, f[HG_FOLD_MAX];
    int l = hg_utf8_decode((const uint8_t *)text + i, len - i, &cp);
    assert_true(l > 0);
    size_t nf = hg_fold(cp, f);
    if (nf) { /* pieces fold to one code point or to nothing */
      assert_int_equal(nf, 1);
      out[n++] = (fref_cp){f[0], (hg_char_flags(f[0]) & HG_CHAR_NOISE) != 0, i, i + (size_t)l};
    }
    i += (size_t)l;
  }
  return n;
}

/* entries: the lexicon's, in order; an entry's word and digit rules are those of its first and last folded code
 * point (edge_flag), checked against the folded code point before and after the match, noise included. */
static hit_list fref_scan(const char *const *entries, size_t nentries, const char *text, size_t len,
                          unsigned max_noise) {
  static fref_cp t[8192];
  size_t n = fref_fold(text, len, t);
  hit_list out = {0};
  for (size_t e = 0; e < nentries; e++) {
    fref_cp k[32];
    size_t nk = fref_fold(entries[e], strlen(entries[e]), k);
    unsigned start_rule = edge_flag(hg_char_flags(k[0].sym)), end_rule = edge_flag(hg_char_flags(k[nk - 1].sym));
    for (size_t i = 0; i < n; i++) {
      if (t[i].noise || t[i].sym != k[0].sym) continue;
      size_t p = i, j = 1;
      for (; j < nk; j++) {
        size_t q = p + 1, gap = 0;
        while (q < n && t[q].noise && gap < max_noise)
          q++, gap++;
        if (q >= n || t[q].noise || t[q].sym != k[j].sym) break;
        p = q;
      }
      if (j < nk) continue;
      if ((i && (hg_char_flags(t[i - 1].sym) & start_rule)) || (p + 1 < n && (hg_char_flags(t[p + 1].sym) & end_rule)))
        continue;
      hg_hit h = {(uint32_t)e, 0, t[i].start, t[p].end};
      collect_hit(&out, &h);
    }
  }
  if (out.n) qsort(out.v, out.n, sizeof *out.v, hit_order);
  return out;
}

/* modes cleared and repeats of one (entry, start, end) dropped */
static void fref_norm(hit_list *l) {
  for (size_t i = 0; i < l->n; i++)
    l->v[i].mode = 0;
  if (l->n) qsort(l->v, l->n, sizeof *l->v, hit_order);
  size_t k = 0;
  for (size_t i = 0; i < l->n; i++)
    if (!k || memcmp(&l->v[k - 1], &l->v[i], sizeof *l->v)) l->v[k++] = l->v[i];
  l->n = k;
}

static void folded_noise_matches_naive(const char *const *entries, size_t nentries, const char *const *pieces,
                                       size_t npieces, size_t min_hits) {
  hg_lexicon_source *src;
  assert_int_equal(hg_lexicon_source_new(&src), HG_OK);
  for (size_t i = 0; i < nentries; i++) {
    hg_entry_info ei = {entries[i], strlen(entries[i]), HG_CAT_CUSTOM,
                        3,          HG_ACTION_BLOCK,    HG_MODE_FOLDED | HG_MODE_NOISE};
    assert_int_equal(hg_lexicon_source_add_entry(src, &ei, NULL), HG_OK);
  }
  hg_compile_options o;
  hg_compile_options_init(&o);
  hg_lexicon *lex;
  assert_int_equal(hg_lexicon_compile(src, &o, &lex, NULL), HG_OK);
  hg_lexicon_source_free(src);
  unsigned max_noise = hg_lexicon_max_noise(lex);
  char text[6000];
  size_t total = 0;
  for (int t = 0; t < 300; t++) {
    size_t len = 0, target = 20 + next_rand() % 2000;
    while (len < target) {
      const char *p = pieces[next_rand() % npieces];
      size_t l = strlen(p);
      if (len + l >= sizeof text) break;
      memcpy(text + len, p, l);
      len += l;
    }
    hit_list want = fref_scan(entries, nentries, text, len, max_noise), one = {0}, bytes = {0};
    total += want.n;
    assert_int_equal(hg_lexicon_scan(lex, text, len, collect_hit, &one, NULL), HG_OK);
    fref_norm(&one);
    expect_same_hits(&want, &one, "folded one-shot", t);
    hg_scanner *sc;
    assert_int_equal(hg_scanner_new(lex, collect_hit, &bytes, &sc), HG_OK);
    for (size_t i = 0; i < len; i++)
      assert_int_equal(hg_scanner_feed(sc, text + i, 1, NULL), HG_OK);
    assert_int_equal(hg_scanner_finish(sc, NULL), HG_OK);
    fref_norm(&bytes);
    expect_same_hits(&want, &bytes, "folded byte by byte", t);
    for (int round = 0; round < 3; round++) {
      stream_check c = {0};
      hg_scanner_free(sc);
      assert_int_equal(hg_scanner_new(lex, check_hit, &c, &sc), HG_OK);
      feed_in_cuts(sc, text, len, round, &c);
      fref_norm(&c.hits);
      expect_same_hits(&want, &c.hits, "folded random cuts", t);
      free(c.hits.v);
    }
    hg_scanner_free(sc);
    hit_list view = {0}; /* the moderator's path */
    hg_normalizer *nz;
    assert_int_equal(hg_normalizer_new(&nz), HG_OK);
    assert_int_equal(hg_scanner_new(lex, collect_hit, &view, &sc), HG_OK);
    const hg_norm_char *rec;
    size_t nrec;
    assert_int_equal(hg_normalizer_feed(nz, text, len, &rec, &nrec, NULL), HG_OK);
    assert_int_equal(hg_scanner_feed_view(sc, rec, nrec, len, NULL), HG_OK);
    assert_int_equal(hg_scanner_finish(sc, NULL), HG_OK);
    hg_scanner_free(sc);
    hg_normalizer_free(nz);
    fref_norm(&view);
    expect_same_hits(&want, &view, "folded normalized view", t);
    free(view.v);
    free(want.v);
    free(one.v);
    free(bytes.v);
  }
  hg_lexicon_unref(lex);
  print_message(
      "%zu reference hits over 300 texts, found alike one-shot, byte by byte, in random cuts and from the view\n",
      total);
  assert_true(total > min_hits);
}

static void folded_path_matches_naive(void **state) {
  (void)state;
  folded_noise_matches_naive(folded_entries, sizeof folded_entries / sizeof *folded_entries, folded_pieces,
                             sizeof folded_pieces / sizeof *folded_pieces, 10000);
}

/* The same for Latin entries in English-like text, where the scanner's ASCII start filter (ascii_start.c) decides
 * most word starts from its tables: keys of one letter ("b", which every word beginning with b starts but only a
 * word of its own ends), keys ending on a digit (whose rule lets a letter follow), Latin keys that go on in Chinese
 * ("happy水"), keys longer than the filter's deep paths, keys sharing long prefixes with ordinary words; and text
 * where noise (spaces, punctuation, curly quotes, line breaks) splits them. */
static const char *const latin_entries[] = {
    "b",           "q9",     "sb",  "happy水", "eight仙", "assess", "ass",  "abcdefghijklmn",
    "abcdefghijk", "youare", "the", "them",    "1989",    "x1y",    "shou", "litter"};
/* short pieces weigh most, so that noise splits keys often ("a ss", "y,o u") */
static const char *const latin_pieces[] = {"a",           "s",          "s",       "b",
                                           "y",           "o",          "u",       "q",
                                           "9",           "e",          "t",       "h",
                                           "m",           " ",          " ",       "  ",
                                           ",",           ".",          "’",       "“",
                                           "—",           "\n",         "-",       "_",
                                           "by",          "be",         "B",       "q9",
                                           "q9x",         "q99",        "Q9",      "sb",
                                           "sbx",         "happy",      "happy水", "水",
                                           "eight",       "仙",         "ass",     "assess",
                                           "assume",      "as",         "ss",      "abcdefghijklmn",
                                           "abcdefghijk", "abcdefghij", "you",     "are",
                                           "your",        "the",        "them",    "then",
                                           "1989",        "19890",      "x1y",     "x1",
                                           "shou",        "should",     "litter",  "little",
                                           "lit",         "7",          "的",      "é"};

/* letters of the keys, noise and a zero-width space (which folds to nothing) alone: keys split in every way, on
 * every path of the filter */
static const char *const latin_letters[] = {"a", "s", "b", "y", "o", "u",  "q",     "9",
                                            "e", " ", " ", ",", "’", "\n", "\u200b"};

static void latin_path_matches_naive(void **state) {
  (void)state;
  folded_noise_matches_naive(latin_entries, sizeof latin_entries / sizeof *latin_entries, latin_pieces,
                             sizeof latin_pieces / sizeof *latin_pieces, 3000);
  folded_noise_matches_naive(latin_entries, sizeof latin_entries / sizeof *latin_entries, latin_letters,
                             sizeof latin_letters / sizeof *latin_letters, 2000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(random_cuts_match_one_shot),
      cmocka_unit_test(pending_is_minimal_on_clean_text),
      cmocka_unit_test(errors_in_streams),
      cmocka_unit_test(large_input_bounded),
      cmocka_unit_test(start_filter_matches_naive),
      cmocka_unit_test(view_start_filter_matches_naive),
      cmocka_unit_test(exact_path_matches_naive),
      cmocka_unit_test(folded_path_matches_naive),
      cmocka_unit_test(noise_run_ends_prefix_exactly),
      cmocka_unit_test(latin_path_matches_naive),
  };
  if (getenv("HG_TEST_FILTER")) cmocka_set_test_filter(getenv("HG_TEST_FILTER")); /* one test of this slow file */
  return cmocka_run_group_tests(tests, NULL, NULL);
}
