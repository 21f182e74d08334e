/* fuzz_scan.c — differential libFuzzer target for the streaming scanner: any input, cut into chunks chosen by
 * the input itself, must give exactly the hits of a one-shot scan (or the same UTF-8 error), and no hit may
 * cover bytes that pending_suffix_len had already released. Inputs whose first byte has its top bit set use a
 * lexicon of exact entries only, which hg_scanner_feed scans on its byte path (exact_chunk); its hits must also be
 * those of the general path, reached through the normalized view (hg_scanner_feed_view). Inputs whose first byte
 * has the next bit set (and not the top one) use a lexicon whose entries are all folded, which hg_scanner_feed
 * scans with fold_run; the same comparison with the view applies. Aborts on any difference. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hegui/hegui.h"

static hg_lexicon *compile_text(const char *text, size_t len) {
  hg_lexicon_source *src;
  hg_lexicon *lex;
  if (hg_lexicon_source_new(&src) || hg_lexicon_source_add_text(src, text, len, "fuzz", NULL, NULL) ||
      hg_lexicon_compile(src, NULL, &lex, NULL))
    abort();
  hg_lexicon_source_free(src);
  return lex;
}

static hg_lexicon *lexicon(void) {
  static hg_lexicon *lex;
  if (lex) return lex;
  static const char src_text[] = "法轮功\tA1h\t5\tblock\tfolded,noise,collapse,pinyin\n"
                                 "冰毒\tA1h\t5\tblock\tfolded,noise,homophone\n"
                                 "大麻\tA1h\t4\tblock\n大麻哈鱼\tcustom\t1\tallow\n"
                                 "national\tcustom\t2\tblock\tfolded,noise\n"
                                 "cocaine\tA1h\t4\tblock\texact,folded\n64\n08宪章\tA1a\t4\tblock\tall\n"
                                 "ab\tcustom\t1\tblock\tcollapse\naa\nabc\tcustom\t1\tallow\n";
  return lex = compile_text(src_text, sizeof src_text - 1);
}

/* exact entries only: shared prefixes, word/digit rules, characters that fold to nothing or to several, allowlist */
static hg_lexicon *exact_lexicon(void) {
  static hg_lexicon *lex;
  if (lex) return lex;
  static const char *const entries[] = {"中华人民共和国",
                                        "中华人民",
                                        "人民共和",
                                        "共和国宪法",
                                        "宪法",
                                        "the",
                                        "then",
                                        "64",
                                        "b\x7f",
                                        "法\xE2\x80\x8B轮",
                                        "naïve",
                                        "ﬀ",
                                        "-x",
                                        "a\u00ADb",
                                        "😀笑",
                                        "中华人民共和国宪法",
                                        "6400"};
  hg_lexicon_source *src;
  if (hg_lexicon_source_new(&src)) abort();
  for (size_t i = 0; i < sizeof entries / sizeof *entries; i++) {
    hg_entry_info e = {entries[i],   strlen(entries[i]), HG_CAT_CUSTOM, 3, i >= 15 ? HG_ACTION_ALLOW : HG_ACTION_BLOCK,
                       HG_MODE_EXACT};
    if (hg_lexicon_source_add_entry(src, &e, NULL)) abort();
  }
  if (hg_lexicon_compile(src, NULL, &lex, NULL)) abort();
  hg_lexicon_source_free(src);
  return lex;
}

/* folded entries only (every key in the FOLD lane): with and without noise, Han and Latin, an entry with a space,
 * word and digit rules, characters that fold to several (ß), allowlist entries; Latin keys for the ASCII start
 * filter (one letter, a digit end, a Chinese continuation, longer than its deep paths) */
static hg_lexicon *folded_lexicon(void) {
  static hg_lexicon *lex;
  if (lex) return lex;
  static const char src_text[] =
      "法轮功\tA1h\t5\tblock\tfolded,noise\n"
      "中华人民\tcustom\t3\tblock\tfolded\n人民共和\tcustom\t3\tblock\tfolded,noise\n"
      "大麻\tA1h\t4\tblock\tfolded,noise\n大麻哈鱼\tcustom\t1\tallow\tfolded,noise\n"
      "child porn\tA1f\t5\tblock\tfolded\n"
      "national\tcustom\t2\tblock\tfolded,noise\n"
      "strasse\tcustom\t2\tblock\tfolded\n"
      "64\tcustom\t2\tblock\tfolded\nab\tcustom\t1\tblock\tfolded,noise\n"
      "b\tcustom\t1\tblock\tfolded,noise\nq9\tcustom\t1\tblock\tfolded,noise\n"
      "happy水\tcustom\t1\tblock\tfolded,noise\nabcdefghijkl\tcustom\t1\tblock\tfolded,noise\n"
      "ass\tcustom\t1\tblock\tfolded,noise\nassess\tcustom\t1\tallow\tfolded,noise\n";
  return lex = compile_text(src_text, sizeof src_text - 1);
}

typedef struct run {
  hg_hit hits[4096];
  size_t n;
  size_t released;
  int violation;
} run;

static int on_hit(void *ctx, const hg_hit *h) {
  run *r = ctx;
  if (h->start < r->released) r->violation = 1;
  if (r->n < 4096) r->hits[r->n++] = *h;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  unsigned seed = data[0];
  const char *text = (const char *)data + 1;
  size_t len = size - 1;
  int own_path = (seed & 0xC0) != 0; /* an all-exact or all-folded lexicon: checked against the view's path too */
  hg_lexicon *lex = seed & 0x80 ? exact_lexicon() : seed & 0x40 ? folded_lexicon() : lexicon();
  static run one, streamed, viewed;
  memset(&one, 0, sizeof one);
  memset(&streamed, 0, sizeof streamed);
  hg_error e1, e2;
  hg_status s1 = hg_lexicon_scan(lex, text, len, on_hit, &one, &e1);
  hg_scanner *sc;
  if (s1 == HG_OK && own_path) { /* the general path, through the view, cut the same way */
    memset(&viewed, 0, sizeof viewed);
    hg_normalizer *nz;
    if (hg_normalizer_new(&nz)) return 0;
    if (hg_scanner_new(lex, on_hit, &viewed, &sc)) abort();
    for (size_t pos = 0; pos < len;) {
      size_t step = 1 + (seed * 31u + pos * 7u) % (seed % 16 + 1);
      if (step > len - pos) step = len - pos;
      const hg_norm_char *rec;
      size_t nrec;
      if (hg_normalizer_feed(nz, text + pos, step, &rec, &nrec, NULL)) abort();
      pos += step;
      if (hg_scanner_feed_view(sc, rec, nrec, pos, NULL)) abort();
    }
    if (hg_normalizer_finish(nz, NULL) || hg_scanner_finish(sc, NULL)) abort();
    hg_scanner_free(sc);
    hg_normalizer_free(nz);
    if (one.n != viewed.n || memcmp(one.hits, viewed.hits, one.n * sizeof *one.hits)) abort();
  }
  if (hg_scanner_new(lex, on_hit, &streamed, &sc)) return 0;
  hg_status s2 = HG_OK;
  size_t pos = 0;
  while (pos < len && !s2) {
    size_t step = 1 + (seed * 31u + pos * 7u) % (seed % 16 + 1);
    if (step > len - pos) step = len - pos;
    s2 = hg_scanner_feed(sc, text + pos, step, &e2);
    pos += step;
    if (!s2) {
      size_t released = hg_scanner_offset(sc) - hg_scanner_pending_suffix_len(sc);
      if (released < streamed.released) abort();
      streamed.released = released;
    }
  }
  if (!s2) s2 = hg_scanner_finish(sc, &e2);
  hg_scanner_free(sc);
  if (s1 != s2) abort();
  if (s1 == HG_ERR_UTF8 && e1.offset != e2.offset) abort();
  if (!s1 && (one.n != streamed.n || memcmp(one.hits, streamed.hits, one.n * sizeof *one.hits))) abort();
  if (streamed.violation) abort();
  return 0;
}
