/* bench_moderate.c — the moderator's one pass against the detectors run separately.
 *
 * bench_moderate LEXICON TAKEDOWN_SOURCE CORPUS...: the lexicon (a plain list, every entry folded, as
 * bench_matcher and bench_pii read it), 1,000 takedowns cut from TAKEDOWN_SOURCE (300 code points each, so that
 * the shingle table is the size a busy provider would have), and per corpus, in 4 KiB chunks with the hold-back
 * asked after each chunk as the gateway does:
 *   - lexicon alone (hg_scanner_feed), PII alone (hg_pii_scanner_feed), takedowns alone
 *     (hg_takedown_scanner_feed): three decodings and foldings of the same text;
 *   - the moderator (hg_moderator_feed, output direction: lexicon + PII + takedowns on one normalized view);
 *   - the normalized view alone, and the view feeding the lexicon alone (hg_scanner_feed_view): the lexicon's
 *     share of the one pass is the difference.
 * Best of 3 rounds, by wall time (CPU time with HG_BENCH_CPU_TIME set); the three separate passes and the one pass run
 * back to back within a round. It prints MB/s, the one pass over the sum of the separate times, and the target (one
 * pass >= 150 MB/s on the Chinese corpus, and below the sum) as met or NOT met. It checks that the one pass finds as
 * many lexicon and PII hits as the separate passes. A measurement: being slow never makes it fail; a failed scan
 * exits 1. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hegui/hegui.h"

#define CHUNK 4096
#define ROUNDS 3
#define TAKEDOWNS 1000
#define TAKEDOWN_CHARS 300

/* Wall time; with HG_BENCH_CPU_TIME set, the process's CPU time instead (the bench runs on one thread), which other
 * work on a shared machine disturbs less. */
static double now_s(void) {
  static int cpu = -1;
  if (cpu < 0) cpu = getenv("HG_BENCH_CPU_TIME") != NULL;
  struct timespec ts;
  clock_gettime(cpu ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *read_whole(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) {
    fclose(f);
    free(b);
    return NULL;
  }
  fclose(f);
  b[n] = 0;
  *len = (size_t)n;
  return b;
}

static hg_lexicon *load_lexicon(const char *path) {
  size_t len;
  char *file = read_whole(path, &len);
  if (!file) return NULL;
  hg_lexicon_source *src;
  if (hg_lexicon_source_new(&src)) return NULL;
  for (char *p = file, *end = file + len; p < end;) {
    char *nl = memchr(p, '\n', (size_t)(end - p)), *line = p, *le = nl ? nl : end;
    p = nl ? nl + 1 : end;
    while (line < le && (*line == ' ' || *line == '\t' || *line == '\r'))
      line++;
    while (le > line && (le[-1] == ' ' || le[-1] == '\t' || le[-1] == '\r'))
      le--;
    if (line == le || *line == '#') continue;
    hg_entry_info e = {line, (size_t)(le - line), HG_CAT_A1H, 3, HG_ACTION_BLOCK, HG_MODE_FOLDED};
    hg_lexicon_source_add_entry(src, &e, NULL); /* lines the parser refuses are skipped, as in bench_matcher */
  }
  hg_lexicon *lex = NULL;
  hg_error err;
  hg_error_clear(&err);
  if (hg_lexicon_compile(src, NULL, &lex, &err)) fprintf(stderr, "bench_moderate: %s\n", err.message);
  hg_lexicon_source_free(src);
  free(file);
  return lex;
}

/* TAKEDOWNS slices of TAKEDOWN_CHARS code points from evenly spaced places of the source text. */
static hg_takedown_set *load_takedowns(const char *path) {
  size_t len;
  char *text = read_whole(path, &len);
  if (!text) return NULL;
  hg_takedown_entry *e = calloc(TAKEDOWNS, sizeof *e);
  size_t n = 0;
  for (size_t k = 0; k < TAKEDOWNS && e; k++) {
    size_t at = len / TAKEDOWNS * k;
    while (at < len && ((unsigned char)text[at] & 0xC0) == 0x80)
      at++;
    size_t end = at, chars = 0;
    while (end < len && chars < TAKEDOWN_CHARS) {
      end++;
      while (end < len && ((unsigned char)text[end] & 0xC0) == 0x80)
        end++;
      chars++;
    }
    e[n++] = (hg_takedown_entry){(int64_t)k + 1, text + at, end - at};
  }
  hg_takedown_set *set = NULL;
  hg_error err;
  hg_error_clear(&err);
  if (hg_takedown_set_build(e, n, NULL, &set, &err)) fprintf(stderr, "bench_moderate: takedowns: %s\n", err.message);
  free(e);
  free(text);
  return set;
}

static size_t lex_hits, pii_hits;
static int count_lex(void *ctx, const hg_hit *h) {
  (void)ctx, (void)h;
  lex_hits++;
  return 0;
}
static int count_pii(void *ctx, const hg_pii_hit *h) {
  (void)ctx, (void)h;
  pii_hits++;
  return 0;
}

typedef struct pass {
  double best_s;
  size_t lex, pii, reasons;
  int64_t takedown;
} pass;

static void keep_best(pass *p, double s) {
  if (p->best_s == 0 || s < p->best_s) p->best_s = s;
}

static int run_lexicon(hg_lexicon *lex, const char *t, size_t len, pass *p) {
  hg_scanner *sc;
  if (hg_scanner_new(lex, count_lex, NULL, &sc)) return -1;
  lex_hits = 0;
  size_t hold = 0;
  double t0 = now_s();
  for (size_t i = 0; i < len; i += CHUNK) {
    if (hg_scanner_feed(sc, t + i, len - i < CHUNK ? len - i : CHUNK, NULL)) return -1;
    hold += hg_scanner_pending_suffix_len(sc);
  }
  hg_scanner_finish(sc, NULL);
  keep_best(p, now_s() - t0);
  p->lex = lex_hits + (hold == (size_t)-1);
  hg_scanner_free(sc);
  return 0;
}

static int run_pii(const hg_pii_options *o, const char *t, size_t len, pass *p) {
  hg_pii_scanner *sc;
  if (hg_pii_scanner_new(o, count_pii, NULL, &sc)) return -1;
  pii_hits = 0;
  size_t hold = 0;
  double t0 = now_s();
  for (size_t i = 0; i < len; i += CHUNK) {
    if (hg_pii_scanner_feed(sc, t + i, len - i < CHUNK ? len - i : CHUNK, NULL)) return -1;
    hold += hg_pii_scanner_pending_suffix_len(sc);
  }
  hg_pii_scanner_finish(sc, NULL);
  keep_best(p, now_s() - t0);
  p->pii = pii_hits + (hold == (size_t)-1);
  hg_pii_scanner_free(sc);
  return 0;
}

static int run_takedowns(hg_takedown_set *set, const char *t, size_t len, pass *p) {
  hg_takedown_scanner *sc;
  if (hg_takedown_scanner_new(set, &sc)) return -1;
  int64_t id = 0;
  double t0 = now_s();
  for (size_t i = 0; i < len && !id; i += CHUNK)
    if (hg_takedown_scanner_feed(sc, t + i, len - i < CHUNK ? len - i : CHUNK, &id, NULL)) return -1;
  keep_best(p, now_s() - t0);
  p->takedown = id;
  hg_takedown_scanner_free(sc);
  return 0;
}

/* The normalized view alone (hg_normalizer, what the one pass decodes and folds once), and the view feeding the
 * lexicon scanner alone (hg_scanner_feed_view, the moderator's lexicon path): the lexicon's share of the one pass
 * is the difference. with_lexicon 0 measures the view alone. */
static int run_view(hg_lexicon *lex, int with_lexicon, const char *t, size_t len, pass *p) {
  hg_normalizer *nz;
  hg_scanner *sc = NULL;
  if (hg_normalizer_new(&nz)) return -1;
  if (with_lexicon && hg_scanner_new(lex, count_lex, NULL, &sc)) return -1;
  lex_hits = 0;
  size_t hold = 0, recs = 0;
  double t0 = now_s();
  for (size_t i = 0; i < len; i += CHUNK) {
    const hg_norm_char *v;
    size_t n;
    if (hg_normalizer_feed(nz, t + i, len - i < CHUNK ? len - i : CHUNK, &v, &n, NULL)) return -1;
    recs += n;
    if (sc) {
      if (hg_scanner_feed_view(sc, v, n, hg_normalizer_offset(nz), NULL)) return -1;
      hold += hg_scanner_pending_suffix_len(sc);
    }
  }
  if (hg_normalizer_finish(nz, NULL) || (sc && hg_scanner_finish(sc, NULL))) return -1;
  keep_best(p, now_s() - t0);
  p->lex = lex_hits + (hold == (size_t)-1) + (recs == (size_t)-1);
  hg_scanner_free(sc);
  hg_normalizer_free(nz);
  return 0;
}

static int run_moderator(hg_policy *pol, hg_lexicon *lex, hg_takedown_set *set, const char *t, size_t len, pass *p) {
  hg_moderator *m;
  if (hg_moderator_new(pol, HG_DIR_OUTPUT, lex, set, &m, NULL)) return -1;
  size_t nl = 0, np = 0, hold = 0;
  double t0 = now_s();
  for (size_t i = 0; i < len; i += CHUNK) {
    if (hg_moderator_feed(m, t + i, len - i < CHUNK ? len - i : CHUNK, NULL)) return -1;
    hold += hg_moderator_pending_suffix_len(m);
    size_t n;
    const hg_reason *r = hg_moderator_reasons(m, &n);
    for (size_t k = 0; k < n; k++) {
      nl += r[k].detector == HG_DETECTOR_LEXICON;
      np += r[k].detector == HG_DETECTOR_PII;
    }
    hg_moderator_forget_reasons(m);
  }
  hg_moderator_finish(m, NULL);
  size_t n;
  const hg_reason *r = hg_moderator_reasons(m, &n);
  for (size_t k = 0; k < n; k++) {
    nl += r[k].detector == HG_DETECTOR_LEXICON;
    np += r[k].detector == HG_DETECTOR_PII;
  }
  keep_best(p, now_s() - t0);
  p->lex = nl + (hold == (size_t)-1);
  p->pii = np;
  p->reasons = hg_moderator_reason_total(m);
  hg_moderator_free(m);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: bench_moderate LEXICON TAKEDOWN_SOURCE CORPUS...\n");
    return 2;
  }
  hg_lexicon *lex = load_lexicon(argv[1]);
  hg_takedown_set *set = load_takedowns(argv[2]);
  if (!lex || !set) {
    fprintf(stderr, "bench_moderate: cannot load %s or %s: %s\n", argv[1], argv[2], strerror(errno));
    return 1;
  }
  hg_policy_config pc;
  hg_policy_config_init(&pc);
  pc.pii.today_yyyymmdd = 20260101;
  hg_policy *pol, *pol_cls = NULL;
  if (hg_policy_new(&pc, &pol, NULL)) return 1;
  /* the same policy with the built-in classifier judging every sentence (docs/moderation.md) */
  if (!hg_classifier_builtin(&pc.classifier, NULL)) {
    if (hg_policy_new(&pc, &pol_cls, NULL)) pol_cls = NULL;
    hg_classifier_unref(pc.classifier);
    pc.classifier = NULL;
  }
  printf("bench_moderate: lexicon %zu entries, %zu takedowns of %d code points, %d KiB chunks, best of %d by %s\n",
         hg_lexicon_entry_count(lex), hg_takedown_set_count(set), TAKEDOWN_CHARS, CHUNK / 1024, ROUNDS,
         getenv("HG_BENCH_CPU_TIME") ? "CPU time" : "wall time");
  printf("%-16s %10s %10s %10s %10s %10s %12s %10s\n", "corpus", "lexicon", "pii", "takedowns", "sum", "one pass",
         "1-pass/sum", "target");
  int rc = 0;
  for (int c = 3; c < argc; c++) {
    size_t len;
    char *t = read_whole(argv[c], &len);
    if (!t) {
      fprintf(stderr, "bench_moderate: cannot read %s\n", argv[c]);
      return 1;
    }
    pass lx = {0}, pi = {0}, td = {0}, one = {0};
    if (getenv("HG_BENCH_ONE_PASS_ONLY")) { /* for profiling the one pass alone */
      if (run_moderator(pol, lex, set, t, len, &one)) return 1;
      printf("%-16s one pass %.1f MB/s\n", argv[c], (double)len / 1e6 / one.best_s);
      free(t);
      continue;
    }
    for (int r = 0; r < ROUNDS; r++)
      if (run_lexicon(lex, t, len, &lx) || run_pii(&pc.pii, t, len, &pi) || run_takedowns(set, t, len, &td) ||
          run_moderator(pol, lex, set, t, len, &one)) {
        fprintf(stderr, "bench_moderate: a scan failed on %s\n", argv[c]);
        return 1;
      }
    double mb = (double)len / 1e6, sum = lx.best_s + pi.best_s + td.best_s;
    const char *name = strrchr(argv[c], '/') ? strrchr(argv[c], '/') + 1 : argv[c];
    int zh = strstr(name, "zh") != NULL;
    double one_mbs = mb / one.best_s;
    const char *target = one.best_s < sum && (!zh || one_mbs >= 150.0) ? "met" : "NOT met";
    printf("%-16.16s %8.1f   %8.1f   %8.1f   %8.1f   %8.1f   %10.2f   %s%s\n", name, mb / lx.best_s, mb / pi.best_s,
           mb / td.best_s, mb / sum, one_mbs, one.best_s / sum, target, zh ? " (>=150 MB/s, < sum)" : " (< sum)");
    pass vw = {0}, vl = {0};
    for (int r = 0; r < ROUNDS; r++)
      if (run_view(lex, 0, t, len, &vw) || run_view(lex, 1, t, len, &vl)) {
        fprintf(stderr, "bench_moderate: a view scan failed on %s\n", argv[c]);
        return 1;
      }
    printf("  over the view: view alone %.1f MB/s, view + lexicon %.1f MB/s, the lexicon's share %.2f ms/MB "
           "(%.1f MB/s)\n",
           mb / vw.best_s, mb / vl.best_s, (vl.best_s - vw.best_s) * 1e3 / mb,
           vl.best_s > vw.best_s ? mb / (vl.best_s - vw.best_s) : 0.0);
    if (vl.lex != lx.lex) {
      printf("  WARNING: the lexicon over the view found %zu hits, over the bytes %zu\n", vl.lex, lx.lex);
      rc = 1;
    }
    if (pol_cls) {
      pass cl = {0};
      for (int r = 0; r < ROUNDS; r++)
        if (run_moderator(pol_cls, lex, set, t, len, &cl)) return 1;
      printf("  with the classifier (built-in model, %zu labels, every sentence): one pass %.1f MB/s, %.2f of the "
             "pass without it\n",
             hg_classifier_label_count(hg_policy_classifier(pol_cls)), mb / cl.best_s, one.best_s / cl.best_s);
    }
    if (one.lex != lx.lex || one.pii != pi.pii) {
      printf("  WARNING: the one pass found %zu lexicon / %zu PII hits, the separate passes %zu / %zu\n", one.lex,
             one.pii, lx.lex, pi.pii);
      rc = 1;
    } else {
      printf("  hits: %zu lexicon, %zu PII (same in both); takedown matched: %s\n", lx.lex, pi.pii,
             td.takedown ? "yes" : "no");
    }
    free(t);
  }
  hg_policy_unref(pol);
  hg_policy_unref(pol_cls);
  hg_takedown_set_unref(set);
  hg_lexicon_unref(lex);
  return rc;
}
