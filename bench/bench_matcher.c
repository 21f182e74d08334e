/* bench_matcher.c — how fast hegui's matcher compiles and scans a real lexicon, measured in the same process as
 * Hyperscan scanning the same entries as exact literals, so both see the same machine, memory and bytes.
 * Per engine: compile time, image size, states, RSS; per corpus: one-shot and 4 KiB-streaming MB/s (best of 3)
 * and hit counts. Then the ratios the project targets, each marked met or not. Being slow is reported, never
 * turned into a failing exit status: this is a measurement, not a test. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "hegui/lexicon.h"
#include "hegui/text.h"

#ifndef HG_HAVE_HYPERSCAN
#define HG_HAVE_HYPERSCAN 0
#endif
#if HG_HAVE_HYPERSCAN
#include <hs.h>
#endif

#define REPEATS 3
#define LONG_RUN_S 20.0 /* a run longer than this is not repeated: the bench must finish, and noise is small */
#define CHUNK_BYTES 4096
#define MB 1e6 /* decimal megabyte, for MB/s and sizes alike */

#define TARGET_NOISE_VS_HS 1.0
#define TARGET_EXACT_VS_HS 1.5
/* issue 16's target for English text, both modes; a corpus counts as such when nine bytes in ten are ASCII */
#define TARGET_LATIN_VS_HS 0.5
#define LATIN_ASCII_SHARE 0.9
#define TARGET_STREAM_VS_ONESHOT 0.9
#define TARGET_COMPILE_S 1.0
#define TARGET_IMAGE_MB 32.0

enum { ENG_EXACT, ENG_FOLDED, ENG_NOISE, ENG_HS, ENG_COUNT };

typedef struct entry_list {
  char *file; /* the lexicon bytes; entries point into it */
  const char **text;
  size_t *len;
  unsigned char *edge_ruled; /* 1 when hegui applies a word or digit boundary rule at either end */
  size_t count, lines, rejected, duplicates, comments;
} entry_list;

typedef struct corpus {
  const char *path, *name;
  char *data;
  size_t len;
} corpus;

typedef struct scan_fig {
  int ok, stream_ok;
  double oneshot_s, stream_s; /* best of the runs */
  int oneshot_runs, stream_runs;
  size_t hits, stream_hits, noise_hits, max_pending;
  /* exact-mode cross-check: hits split by whether the entry has an edge rule */
  int split_ok;
  size_t hits_ruled, hits_unruled;
  char error[200];
} scan_fig;

typedef struct engine {
  const char *name, *modes_name;
  unsigned modes;
  int is_hs, ok;
  double compile_s;
  size_t image_bytes, states, skipped;
  long rss_kept_kb, rss_peak_kb; /* -1 when /proc is not there to ask */
  scan_fig *scan;
  char error[400];
} engine;

typedef struct ratio {
  char name[96], corpus[96];
  double value, target;
  int at_most; /* target is a ceiling rather than a floor */
  int available;
} ratio;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fail_msg(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail_msg(char *buf, size_t size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, size, fmt, ap);
  va_end(ap);
}

/* ---- memory: Linux /proc gives current and peak RSS, and lets the peak be reset per phase ---- */

static long proc_status_kb(const char *field) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  long kb = -1;
  size_t n = strlen(field);
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, field, n)) {
      kb = strtol(line + n, NULL, 10);
      break;
    }
  fclose(f);
  return kb;
}

/* Resetting the peak also resets what getrusage reports as ru_maxrss, so the peak so far is kept here first. */
static long peak_before_resets_kb = -1;

static int reset_peak_rss(void) {
  long hwm = proc_status_kb("VmHWM:");
  if (hwm > peak_before_resets_kb) peak_before_resets_kb = hwm;
  FILE *f = fopen("/proc/self/clear_refs", "w");
  if (!f) return 0;
  int ok = fputs("5", f) >= 0;
  return fclose(f) == 0 && ok;
}

static long max_rss_kb(void) {
  struct rusage ru;
  long kb = getrusage(RUSAGE_SELF, &ru) ? -1 : ru.ru_maxrss;
  return kb > peak_before_resets_kb ? kb : peak_before_resets_kb;
}

/* ---- input ---- */

static char *read_whole(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  struct stat st;
  char *buf = NULL;
  if (fstat(fileno(f), &st) == 0 && st.st_size >= 0 && (buf = malloc((size_t)st.st_size + 1))) {
    *len = fread(buf, 1, (size_t)st.st_size, f);
    if (ferror(f) || *len != (size_t)st.st_size) {
      free(buf);
      buf = NULL;
    } else {
      buf[*len] = 0;
    }
  }
  int saved = errno;
  fclose(f);
  errno = saved;
  return buf;
}

static int is_trim(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* hegui flags a boundary rule when the first or last letter-or-digit of the folded entry is a word or digit
 * character; such entries are where hegui and a plain literal matcher are expected to disagree. */
static int entry_edge_ruled(const char *text, size_t len) {
  hg_norm_char *v;
  size_t n;
  if (hg_normalize(text, len, &v, &n, NULL)) return 0;
  unsigned first = 0, last = 0;
  for (size_t i = 0; i < n; i++)
    if (!(v[i].flags & HG_CHAR_NOISE)) {
      first = v[i].flags;
      break;
    }
  for (size_t i = n; i-- > 0;)
    if (!(v[i].flags & HG_CHAR_NOISE)) {
      last = v[i].flags;
      break;
    }
  free(v);
  return ((first | last) & (HG_CHAR_WORD | HG_CHAR_DIGIT)) != 0;
}

/* Reads a plain list the way hegui would (BOM, surrounding blanks and '#' comment lines ignored) and keeps only
 * what hegui accepts, once each, so that every engine compiles exactly the same entries. */
static int load_entries(const char *path, entry_list *el) {
  memset(el, 0, sizeof *el);
  size_t len;
  if (!(el->file = read_whole(path, &len))) {
    fprintf(stderr, "bench_matcher: cannot read lexicon %s: %s\n", path, strerror(errno));
    return -1;
  }
  size_t cap = 1024;
  el->text = malloc(cap * sizeof *el->text);
  el->len = malloc(cap * sizeof *el->len);
  hg_lexicon_source *probe;
  if (!el->text || !el->len || hg_lexicon_source_new(&probe)) {
    fprintf(stderr, "bench_matcher: out of memory\n");
    return -1;
  }
  const char *p = el->file, *end = el->file + len;
  if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) p += 3;
  size_t shown = 0;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *line = p, *line_end = nl ? nl : end;
    p = nl ? nl + 1 : end;
    el->lines++;
    while (line < line_end && is_trim(*line))
      line++;
    while (line_end > line && is_trim(line_end[-1]))
      line_end--;
    if (line == line_end) continue;
    if (*line == '#') {
      el->comments++;
      continue;
    }
    hg_entry_info e = {line, (size_t)(line_end - line), HG_CAT_CUSTOM, 3, HG_ACTION_BLOCK, HG_MODE_FOLDED};
    size_t before = hg_lexicon_source_count(probe);
    hg_error err;
    hg_error_clear(&err);
    if (hg_lexicon_source_add_entry(probe, &e, &err)) {
      if (shown++ < 3) printf("  rejected line %zu: %s\n", el->lines, err.message);
      el->rejected++;
      continue;
    }
    if (hg_lexicon_source_count(probe) == before) {
      el->duplicates++;
      continue;
    }
    if (el->count == cap) {
      cap *= 2;
      const char **nt = realloc(el->text, cap * sizeof *nt);
      if (nt) el->text = nt;
      size_t *nlen = realloc(el->len, cap * sizeof *nlen);
      if (nlen) el->len = nlen;
      if (!nt || !nlen) {
        fprintf(stderr, "bench_matcher: out of memory\n");
        hg_lexicon_source_free(probe);
        return -1;
      }
    }
    el->text[el->count] = e.text;
    el->len[el->count] = e.text_len;
    el->count++;
  }
  hg_lexicon_source_free(probe);
  if (!(el->edge_ruled = malloc(el->count + 1))) return -1;
  for (size_t i = 0; i < el->count; i++)
    el->edge_ruled[i] = (unsigned char)entry_edge_ruled(el->text[i], el->len[i]);
  return 0;
}

/* ---- hegui ---- */

typedef struct hit_count {
  size_t total, noise;
  const unsigned char *edge_ruled; /* set only for the untimed cross-check pass */
  size_t ruled, unruled;
} hit_count;

static int on_hit(void *ctx, const hg_hit *hit) {
  hit_count *c = ctx;
  c->total++;
  c->noise += hit->mode == HG_MODE_NOISE;
  return 0;
}

static int on_hit_split(void *ctx, const hg_hit *hit) {
  hit_count *c = ctx;
  c->total++;
  if (c->edge_ruled[hit->entry])
    c->ruled++;
  else
    c->unruled++;
  return 0;
}

static hg_lexicon *compile_hegui(const entry_list *el, engine *eng) {
  long rss0 = proc_status_kb("VmRSS:");
  int peak_ok = reset_peak_rss();
  hg_compile_options opt;
  hg_compile_options_init(&opt);
  hg_source_defaults d;
  hg_source_defaults_init(&d);
  hg_error err;
  hg_error_clear(&err);
  hg_lexicon *lex = NULL;
  hg_lexicon_source *src;
  /* Source building is timed with the compile: a gateway loading a list pays for both. */
  double t0 = now_s();
  if (hg_lexicon_source_new(&src)) {
    fail_msg(eng->error, sizeof eng->error, "out of memory");
    return NULL;
  }
  for (size_t i = 0; i < el->count; i++) {
    hg_entry_info e = {el->text[i], el->len[i], d.category, d.severity, d.action, eng->modes};
    if (hg_lexicon_source_add_entry(src, &e, &err)) {
      fail_msg(eng->error, sizeof eng->error, "entry %zu was accepted before but not now: %s", i, err.message);
      hg_lexicon_source_free(src);
      return NULL;
    }
  }
  hg_status st = hg_lexicon_compile(src, &opt, &lex, &err);
  eng->compile_s = now_s() - t0;
  hg_lexicon_source_free(src);
  if (st) {
    fail_msg(eng->error, sizeof eng->error, "compile failed: %s", err.message);
    return NULL;
  }
  long rss1 = proc_status_kb("VmRSS:"), hwm = proc_status_kb("VmHWM:");
  eng->rss_kept_kb = rss0 >= 0 && rss1 >= 0 ? rss1 - rss0 : -1;
  eng->rss_peak_kb = peak_ok && rss0 >= 0 && hwm >= 0 ? hwm - rss0 : -1;
  hg_lexicon_image(lex, &eng->image_bytes);
  hg_lexicon_stats stats;
  hg_lexicon_stats_get(lex, &stats);
  eng->states = stats.states;
  eng->ok = 1;
  return lex;
}

/* The cross-check relies on hit.entry being the index in our list; compile keeps source order. */
static int same_order(hg_lexicon *lex, const entry_list *el) {
  if (hg_lexicon_entry_count(lex) != el->count) return 0;
  for (size_t i = 0; i < el->count; i++) {
    hg_entry_info e;
    if (hg_lexicon_entry(lex, i, &e) || e.text_len != el->len[i] || memcmp(e.text, el->text[i], e.text_len)) return 0;
  }
  return 1;
}

static void scan_hegui(hg_lexicon *lex, const corpus *c, scan_fig *f) {
  hg_error err;
  f->ok = f->stream_ok = 1;
  f->oneshot_s = f->stream_s = 1e300;
  for (int r = 0; r < REPEATS && f->ok; r++) {
    hit_count hc = {0};
    hg_error_clear(&err);
    double t0 = now_s();
    hg_status st = hg_lexicon_scan(lex, c->data, c->len, on_hit, &hc, &err);
    double t = now_s() - t0;
    if (st) {
      f->ok = 0;
      fail_msg(f->error, sizeof f->error, "one-shot scan: %s", err.message);
      break;
    }
    f->oneshot_runs++;
    if (t < f->oneshot_s) f->oneshot_s = t;
    f->hits = hc.total;
    f->noise_hits = hc.noise;
    if (t > LONG_RUN_S) break;
  }
  for (int r = 0; r < REPEATS && f->stream_ok; r++) {
    hit_count hc = {0};
    hg_error_clear(&err);
    size_t max_pending = 0;
    double t0 = now_s();
    hg_scanner *sc;
    hg_status st = hg_scanner_new(lex, on_hit, &hc, &sc);
    for (size_t off = 0; !st && off < c->len; off += CHUNK_BYTES) {
      size_t n = c->len - off < CHUNK_BYTES ? c->len - off : CHUNK_BYTES;
      st = hg_scanner_feed(sc, c->data + off, n, &err);
      /* a gateway asks after every chunk how much it must hold back before forwarding */
      size_t pending = hg_scanner_pending_suffix_len(sc);
      if (pending > max_pending) max_pending = pending;
    }
    if (!st) st = hg_scanner_finish(sc, &err);
    if (sc) hg_scanner_free(sc);
    double t = now_s() - t0;
    if (st) {
      f->stream_ok = 0;
      fail_msg(f->error, sizeof f->error, "streaming scan: %s", err.message);
      break;
    }
    f->stream_runs++;
    if (t < f->stream_s) f->stream_s = t;
    f->stream_hits = hc.total;
    f->max_pending = max_pending;
    if (t > LONG_RUN_S) break;
  }
}

/* Streams rather than scanning one-shot: it reports the same hits (the table checks that) and one-shot can be
 * far slower on corpora with many hits. */
static void split_hegui(hg_lexicon *lex, const entry_list *el, const corpus *c, scan_fig *f) {
  hit_count hc = {0};
  hc.edge_ruled = el->edge_ruled;
  hg_scanner *sc;
  if (hg_scanner_new(lex, on_hit_split, &hc, &sc)) return;
  hg_status st = HG_OK;
  for (size_t off = 0; !st && off < c->len; off += CHUNK_BYTES)
    st = hg_scanner_feed(sc, c->data + off, c->len - off < CHUNK_BYTES ? c->len - off : CHUNK_BYTES, NULL);
  if (!st) st = hg_scanner_finish(sc, NULL);
  hg_scanner_free(sc);
  if (st) return;
  f->split_ok = 1;
  f->hits_ruled = hc.ruled;
  f->hits_unruled = hc.unruled;
}

/* ---- Hyperscan ---- */

#if HG_HAVE_HYPERSCAN
typedef struct hs_bench {
  hs_database_t *db;
  hs_scratch_t *scratch;
} hs_bench;

static int on_match(unsigned id, unsigned long long from, unsigned long long to, unsigned flags, void *ctx) {
  (void)id, (void)from, (void)to, (void)flags;
  ++*(size_t *)ctx;
  return 0;
}

typedef struct hs_split {
  const unsigned char *edge_ruled;
  size_t ruled, unruled;
} hs_split;

static int on_match_split(unsigned id, unsigned long long from, unsigned long long to, unsigned flags, void *ctx) {
  (void)from, (void)to, (void)flags;
  hs_split *s = ctx;
  if (s->edge_ruled[id])
    s->ruled++;
  else
    s->unruled++;
  return 0;
}

static int compile_hs(const entry_list *el, engine *eng, hs_bench *hb) {
  size_t n = el->count;
  const char **expr = malloc((n + 1) * sizeof *expr);
  size_t *lens = malloc((n + 1) * sizeof *lens);
  unsigned *ids = malloc((n + 1) * sizeof *ids);
  unsigned *flags = calloc(n + 1, sizeof *flags);
  int ok = 0;
  if (!expr || !lens || !ids || !flags || n > UINT_MAX) {
    fail_msg(eng->error, sizeof eng->error, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < n; i++)
    expr[i] = el->text[i], lens[i] = el->len[i], ids[i] = (unsigned)i;
  long rss0 = proc_status_kb("VmRSS:");
  int peak_ok = reset_peak_rss();
  for (;;) {
    hs_compile_error_t *cerr = NULL;
    double t0 = now_s();
    hs_error_t rc = hs_compile_lit_multi(expr, flags, ids, lens, (unsigned)n, HS_MODE_BLOCK, NULL, &hb->db, &cerr);
    eng->compile_s = now_s() - t0;
    if (rc == HS_SUCCESS) break;
    /* One bad literal fails the whole set; drop it (Hyperscan names it) and compile the rest again. */
    int bad = cerr ? cerr->expression : -1;
    if (bad < 0 || (size_t)bad >= n) {
      fail_msg(eng->error, sizeof eng->error, "hs_compile_lit_multi: %s", cerr ? cerr->message : "failed");
      hs_free_compile_error(cerr);
      goto out;
    }
    hs_free_compile_error(cerr);
    memmove(&expr[bad], &expr[bad + 1], (n - (size_t)bad - 1) * sizeof *expr);
    memmove(&lens[bad], &lens[bad + 1], (n - (size_t)bad - 1) * sizeof *lens);
    memmove(&ids[bad], &ids[bad + 1], (n - (size_t)bad - 1) * sizeof *ids);
    n--;
    eng->skipped++;
  }
  long rss1 = proc_status_kb("VmRSS:"), hwm = proc_status_kb("VmHWM:");
  eng->rss_kept_kb = rss0 >= 0 && rss1 >= 0 ? rss1 - rss0 : -1;
  eng->rss_peak_kb = peak_ok && rss0 >= 0 && hwm >= 0 ? hwm - rss0 : -1;
  size_t dbsize = 0;
  hs_database_size(hb->db, &dbsize);
  eng->image_bytes = dbsize;
  if (hs_alloc_scratch(hb->db, &hb->scratch) != HS_SUCCESS) {
    fail_msg(eng->error, sizeof eng->error, "hs_alloc_scratch failed");
    goto out;
  }
  eng->ok = ok = 1;
out:
  free(expr);
  free(lens);
  free(ids);
  free(flags);
  return ok;
}

static void scan_hs(hs_bench *hb, const entry_list *el, const corpus *c, scan_fig *f) {
  f->oneshot_s = 1e300;
  if (c->len > UINT_MAX) {
    fail_msg(f->error, sizeof f->error, "corpus larger than hs_scan takes in one block");
    return;
  }
  f->ok = 1;
  for (int r = 0; r < REPEATS; r++) {
    size_t count = 0;
    double t0 = now_s();
    hs_error_t rc = hs_scan(hb->db, c->data, (unsigned)c->len, 0, hb->scratch, on_match, &count);
    double t = now_s() - t0;
    if (rc != HS_SUCCESS) {
      f->ok = 0;
      fail_msg(f->error, sizeof f->error, "hs_scan failed (%d)", rc);
      return;
    }
    f->oneshot_runs++;
    if (t < f->oneshot_s) f->oneshot_s = t;
    f->hits = count;
    if (t > LONG_RUN_S) break;
  }
  hs_split s = {el->edge_ruled, 0, 0};
  if (hs_scan(hb->db, c->data, (unsigned)c->len, 0, hb->scratch, on_match_split, &s) == HS_SUCCESS) {
    f->split_ok = 1;
    f->hits_ruled = s.ruled;
    f->hits_unruled = s.unruled;
  }
}
#endif

/* ---- reporting ---- */

static double mbps(size_t bytes, double s) { return s > 0 && s < 1e299 ? (double)bytes / MB / s : 0; }

/* The floor: what one pass over a corpus costs with no matching at all, best of REPEATS. memchr for a byte the
 * text does not hold (NUL) reads every byte as fast as libc can; the sum of its 8-byte words is the machine's read
 * bandwidth from memory for a buffer this size. */
typedef struct floor_fig {
  double memchr_s, sum_s;
} floor_fig;

static volatile uint64_t floor_sink;

static floor_fig measure_floor(const corpus *c) {
  floor_fig f = {1e300, 1e300};
  for (int r = 0; r < REPEATS; r++) {
    double t0 = now_s();
    size_t found = 0;
    for (const char *p = c->data, *end = c->data + c->len; p < end && (p = memchr(p, 0, (size_t)(end - p))); p++)
      found++;
    double t1 = now_s();
    uint64_t sum = 0;
    for (size_t i = 0; i + 8 <= c->len; i += 8) {
      uint64_t w;
      memcpy(&w, c->data + i, 8);
      sum += w;
    }
    double t2 = now_s();
    floor_sink += sum + found;
    if (t1 - t0 < f.memchr_s) f.memchr_s = t1 - t0;
    if (t2 - t1 < f.sum_s) f.sum_s = t2 - t1;
  }
  return f;
}

static void fmt_kb(char *buf, size_t size, long kb) {
  if (kb < 0)
    snprintf(buf, size, "n/a");
  else
    snprintf(buf, size, "%.1f", (double)kb * 1024 / MB);
}

static int ratio_met(const ratio *r) { return r->at_most ? r->value <= r->target : r->value >= r->target; }

static void add_ratio(ratio *rs, size_t *n, const char *name, const char *corpus_name, double value, double target,
                      int at_most, int available) {
  ratio *r = &rs[(*n)++];
  snprintf(r->name, sizeof r->name, "%s", name);
  snprintf(r->corpus, sizeof r->corpus, "%s", corpus_name ? corpus_name : "");
  r->value = value;
  r->target = target;
  r->at_most = at_most;
  r->available = available;
}

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\')
      fprintf(f, "\\%c", ch);
    else if (ch < 0x20)
      fprintf(f, "\\u%04x", ch);
    else
      fputc(ch, f);
  }
  fputc('"', f);
}

static void json_num(FILE *f, double v, int available) {
  if (available)
    fprintf(f, "%.6g", v);
  else
    fputs("null", f);
}

static int write_json(const char *path, const char *lex_path, const entry_list *el, const corpus *cs, int nc,
                      const engine *engs, const ratio *rs, size_t nr, long peak_kb) {
  FILE *f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "bench_matcher: cannot write %s: %s\n", path, strerror(errno));
    return -1;
  }
  fprintf(f, "{\n  \"lexicon\": {\"path\": ");
  json_str(f, lex_path);
  fprintf(f, ", \"lines\": %zu, \"entries\": %zu, \"rejected\": %zu, \"duplicates\": %zu, \"comments\": %zu},\n",
          el->lines, el->count, el->rejected, el->duplicates, el->comments);
  fprintf(f, "  \"hyperscan\": %s,\n  \"repeats\": %d,\n  \"chunk_bytes\": %d,\n  \"corpora\": [",
          HG_HAVE_HYPERSCAN ? "true" : "false", REPEATS, CHUNK_BYTES);
  for (int i = 0; i < nc; i++) {
    fprintf(f, "%s\n    {\"name\": ", i ? "," : "");
    json_str(f, cs[i].name);
    fprintf(f, ", \"path\": ");
    json_str(f, cs[i].path);
    fprintf(f, ", \"bytes\": %zu}", cs[i].len);
  }
  fprintf(f, "\n  ],\n  \"engines\": [");
  int first = 1;
  for (int e = 0; e < ENG_COUNT; e++) {
    const engine *g = &engs[e];
    if (g->is_hs && !HG_HAVE_HYPERSCAN) continue;
    fprintf(f, "%s\n    {\"name\": ", first ? "" : ",");
    first = 0;
    json_str(f, g->name);
    fprintf(f, ", \"modes\": ");
    json_str(f, g->modes_name);
    fprintf(f, ", \"ok\": %s, \"compile_s\": ", g->ok ? "true" : "false");
    json_num(f, g->compile_s, g->ok);
    fprintf(f, ", \"image_bytes\": %zu, \"states\": ", g->image_bytes);
    json_num(f, (double)g->states, g->ok && !g->is_hs);
    fprintf(f, ", \"skipped_entries\": %zu, \"rss_kept_kb\": ", g->skipped);
    json_num(f, (double)g->rss_kept_kb, g->rss_kept_kb >= 0);
    fprintf(f, ", \"rss_peak_kb\": ");
    json_num(f, (double)g->rss_peak_kb, g->rss_peak_kb >= 0);
    if (g->error[0]) {
      fprintf(f, ", \"error\": ");
      json_str(f, g->error);
    }
    fprintf(f, ",\n     \"scans\": [");
    for (int i = 0; g->ok && i < nc; i++) {
      const scan_fig *s = &g->scan[i];
      fprintf(f, "%s\n       {\"corpus\": ", i ? "," : "");
      json_str(f, cs[i].name);
      fprintf(f, ", \"oneshot_s\": ");
      json_num(f, s->oneshot_s, s->ok);
      fprintf(f, ", \"oneshot_mbps\": ");
      json_num(f, mbps(cs[i].len, s->oneshot_s), s->ok);
      fprintf(f, ", \"oneshot_runs\": %d, \"hits\": ", s->oneshot_runs);
      json_num(f, (double)s->hits, s->ok);
      fprintf(f, ", \"stream_s\": ");
      json_num(f, s->stream_s, !g->is_hs && s->stream_ok);
      fprintf(f, ", \"stream_mbps\": ");
      json_num(f, mbps(cs[i].len, s->stream_s), !g->is_hs && s->stream_ok);
      fprintf(f, ", \"stream_runs\": %d, \"stream_hits\": ", s->stream_runs);
      json_num(f, (double)s->stream_hits, !g->is_hs && s->stream_ok);
      fprintf(f, ", \"noise_hits\": ");
      json_num(f, (double)s->noise_hits, !g->is_hs && s->ok);
      fprintf(f, ", \"max_pending_bytes\": ");
      json_num(f, (double)s->max_pending, !g->is_hs && s->stream_ok);
      fprintf(f, ", \"hits_edge_ruled_entries\": ");
      json_num(f, (double)s->hits_ruled, s->split_ok);
      fprintf(f, ", \"hits_other_entries\": ");
      json_num(f, (double)s->hits_unruled, s->split_ok);
      if (s->error[0]) {
        fprintf(f, ", \"error\": ");
        json_str(f, s->error);
      }
      fputc('}', f);
    }
    fprintf(f, "]}");
  }
  fprintf(f, "\n  ],\n  \"targets\": [");
  for (size_t i = 0; i < nr; i++) {
    const ratio *r = &rs[i];
    fprintf(f, "%s\n    {\"name\": ", i ? "," : "");
    json_str(f, r->name);
    fprintf(f, ", \"corpus\": ");
    json_str(f, r->corpus);
    fprintf(f, ", \"value\": ");
    json_num(f, r->value, r->available);
    fprintf(f, ", \"target\": %g, \"compare\": \"%s\", \"met\": %s}", r->target,
            r->at_most ? "<=" : ">=", r->available ? (ratio_met(r) ? "true" : "false") : "null");
  }
  fprintf(f, "\n  ],\n  \"peak_rss_kb\": %ld\n}\n", peak_kb);
  if (fclose(f)) {
    fprintf(stderr, "bench_matcher: cannot write %s\n", path);
    return -1;
  }
  return 0;
}

static void usage(void) {
  fprintf(stderr, "usage: bench_matcher [--json FILE] LEXICON CORPUS...\n"
                  "  LEXICON  plain list, one entry per line\n"
                  "  CORPUS   UTF-8 text, read whole into memory before timing\n");
}

int main(int argc, char **argv) {
  const char *json_path = NULL, *lex_path = NULL;
  const char **corpus_paths = calloc((size_t)argc, sizeof *corpus_paths);
  int nc = 0;
  if (!corpus_paths) return 1;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--json")) {
      if (++i >= argc) return usage(), 2;
      json_path = argv[i];
    } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      return usage(), 0;
    } else if (argv[i][0] == '-' && argv[i][1]) {
      fprintf(stderr, "bench_matcher: unknown option '%s'\n", argv[i]);
      return usage(), 2;
    } else if (!lex_path) {
      lex_path = argv[i];
    } else {
      corpus_paths[nc++] = argv[i];
    }
  }
  if (!lex_path || nc == 0) return usage(), 2;
  /* run.sh pipes the output through tee; progress should show while a long scan runs */
  setvbuf(stdout, NULL, _IOLBF, 0);

  corpus *cs = calloc((size_t)nc, sizeof *cs);
  if (!cs) return 1;
  for (int i = 0; i < nc; i++) {
    cs[i].path = corpus_paths[i];
    const char *slash = strrchr(cs[i].path, '/');
    cs[i].name = slash ? slash + 1 : cs[i].path;
    if (!(cs[i].data = read_whole(cs[i].path, &cs[i].len))) {
      fprintf(stderr, "bench_matcher: cannot read corpus %s: %s\n", cs[i].path, strerror(errno));
      return 1;
    }
  }

  printf("bench_matcher: hegui matcher vs %s\n", HG_HAVE_HYPERSCAN ? "Hyperscan" : "nothing");
#if HG_HAVE_HYPERSCAN
  printf("baseline: Hyperscan %s, literal patterns, flags 0, HS_MODE_BLOCK\n", hs_version());
#else
  printf("baseline: none — built without Hyperscan (pkg-config libhs not found); hegui figures only\n");
#endif
  printf("lexicon: %s\n", lex_path);
  entry_list el;
  if (load_entries(lex_path, &el)) return 1;
  size_t ruled = 0;
  for (size_t i = 0; i < el.count; i++)
    ruled += el.edge_ruled[i];
  printf("  %zu lines -> %zu entries (%zu rejected by hegui, %zu duplicates, %zu comment lines); %zu with a word or "
         "digit edge rule\n",
         el.lines, el.count, el.rejected, el.duplicates, el.comments, ruled);
  for (int i = 0; i < nc; i++)
    printf("corpus: %s, %.2f MB\n", cs[i].path, (double)cs[i].len / MB);
  printf("each scan: best of %d (a run over %.0f s is not repeated); streaming feeds %d-byte chunks and asks\n"
         "pending_suffix_len after each; noise hits = hits reported in noise mode; max hold B = largest\n"
         "pending_suffix_len seen\n\n",
         REPEATS, LONG_RUN_S, CHUNK_BYTES);

  engine engs[ENG_COUNT] = {
      {.name = "hegui exact", .modes_name = "exact", .modes = HG_MODE_EXACT},
      {.name = "hegui folded", .modes_name = "folded", .modes = HG_MODE_FOLDED},
      {.name = "hegui folded+noise", .modes_name = "folded,noise", .modes = HG_MODE_FOLDED | HG_MODE_NOISE},
      {.name = "hyperscan literal", .modes_name = "exact literal", .is_hs = 1},
  };
  int failed = 0;
  for (int e = 0; e < ENG_COUNT; e++) {
    engs[e].rss_kept_kb = engs[e].rss_peak_kb = -1;
    if (!(engs[e].scan = calloc((size_t)nc, sizeof *engs[e].scan))) return 1;
  }

  /* Each lexicon is compiled, scanned and dropped before the next, as one gateway process would hold one. */
  for (int e = 0; e < ENG_COUNT; e++) {
    engine *g = &engs[e];
    if (g->is_hs) {
#if HG_HAVE_HYPERSCAN
      hs_bench hb = {0};
      printf("compiling %s\n", g->name);
      if (compile_hs(&el, g, &hb)) {
        for (int i = 0; i < nc; i++) {
          printf("  scanning %s\n", cs[i].name);
          scan_hs(&hb, &el, &cs[i], &g->scan[i]);
        }
      } else {
        failed = 1;
        printf("  %s: %s\n", g->name, g->error);
      }
      hs_free_scratch(hb.scratch);
      hs_free_database(hb.db);
#endif
      continue;
    }
    printf("compiling %s\n", g->name);
    hg_lexicon *lex = compile_hegui(&el, g);
    if (!lex) {
      failed = 1;
      printf("  %s: %s\n", g->name, g->error);
      continue;
    }
    int split = e == ENG_EXACT && same_order(lex, &el);
    for (int i = 0; i < nc; i++) {
      printf("  scanning %s\n", cs[i].name);
      scan_hegui(lex, &cs[i], &g->scan[i]);
      if (split && g->scan[i].ok) split_hegui(lex, &el, &cs[i], &g->scan[i]);
    }
    hg_lexicon_unref(lex);
  }

  printf("\n%-20s %10s %10s %10s %12s %12s\n", "engine", "compile s", "image MB", "states", "RSS kept MB",
         "RSS peak MB");
  for (int e = 0; e < ENG_COUNT; e++) {
    const engine *g = &engs[e];
    if (g->is_hs && !HG_HAVE_HYPERSCAN) {
      printf("%-20s %s\n", g->name, "not built (no Hyperscan)");
      continue;
    }
    if (!g->ok) {
      printf("%-20s error: %s\n", g->name, g->error);
      continue;
    }
    char kept[32], peak[32], states[32];
    fmt_kb(kept, sizeof kept, g->rss_kept_kb);
    fmt_kb(peak, sizeof peak, g->rss_peak_kb);
    if (g->is_hs)
      snprintf(states, sizeof states, "-");
    else
      snprintf(states, sizeof states, "%zu", g->states);
    printf("%-20s %10.3f %10.2f %10s %12s %12s\n", g->name, g->compile_s, (double)g->image_bytes / MB, states, kept,
           peak);
  }
  if (HG_HAVE_HYPERSCAN && engs[ENG_HS].skipped)
    printf("(Hyperscan refused %zu entries; they were left out of its database)\n", engs[ENG_HS].skipped);

  printf("\n%-20s %-20s %12s %12s %12s %12s %12s %10s\n", "engine", "corpus", "1-shot MB/s", "stream MB/s", "hits",
         "stream hits", "noise hits", "max hold B");
  for (int e = 0; e < ENG_COUNT; e++) {
    const engine *g = &engs[e];
    if (!g->ok) continue;
    for (int i = 0; i < nc; i++) {
      const scan_fig *s = &g->scan[i];
      if (!s->ok) {
        printf("%-20s %-20s error: %s\n", g->name, cs[i].name, s->error);
        continue;
      }
      if (g->is_hs) {
        printf("%-20s %-20s %12.1f %12s %12zu %12s %12s %10s\n", g->name, cs[i].name, mbps(cs[i].len, s->oneshot_s),
               "-", s->hits, "-", "-", "-");
        continue;
      }
      char smb[32], shits[32], hold[32];
      if (s->stream_ok) {
        snprintf(smb, sizeof smb, "%.1f", mbps(cs[i].len, s->stream_s));
        snprintf(shits, sizeof shits, "%zu", s->stream_hits);
        snprintf(hold, sizeof hold, "%zu", s->max_pending);
      } else {
        snprintf(smb, sizeof smb, "error");
        snprintf(shits, sizeof shits, "-");
        snprintf(hold, sizeof hold, "-");
      }
      printf("%-20s %-20s %12.1f %12s %12zu %12s %12zu %10s\n", g->name, cs[i].name, mbps(cs[i].len, s->oneshot_s), smb,
             s->hits, shits, s->noise_hits, hold);
      if (s->stream_ok && s->stream_hits != s->hits)
        printf("  WARNING: streaming found %zu hits, one-shot %zu: they must be equal\n", s->stream_hits, s->hits);
      if (!s->stream_ok) printf("  %s\n", s->error);
      if (s->stream_ok && s->oneshot_s > 2 * s->stream_s)
        printf("  note: one-shot is %.0fx slower than streaming here; a stream/one-shot ratio this high points at a\n"
               "  one-shot problem (its cost growing with the hits held back in one feed), not at fast streaming\n",
               s->oneshot_s / s->stream_s);
      if (s->oneshot_runs < REPEATS)
        printf("  note: one run of one-shot took %.1f s, so it ran %d time(s), not %d\n", s->oneshot_s, s->oneshot_runs,
               REPEATS);
      if (s->stream_ok && s->stream_runs < REPEATS)
        printf("  note: one run of streaming took %.1f s, so it ran %d time(s), not %d\n", s->stream_s, s->stream_runs,
               REPEATS);
    }
  }

  printf("\nthe floor on this machine (a pass with no matching: memchr for a byte the text lacks, and the sum of its\n"
         "8-byte words), and how close each engine's one-shot scan comes to memchr:\n");
  printf("%-20s %12s %12s %12s %12s %12s %12s\n", "corpus", "memchr MB/s", "sum MB/s", "exact", "folded",
         "folded+noise", "hyperscan");
  for (int i = 0; i < nc; i++) {
    floor_fig f = measure_floor(&cs[i]);
    double floor_mbps = mbps(cs[i].len, f.memchr_s);
    char part[ENG_COUNT][32];
    for (int e = 0; e < ENG_COUNT; e++) {
      const scan_fig *sf = &engs[e].scan[i];
      if (engs[e].ok && sf->ok && floor_mbps > 0)
        snprintf(part[e], sizeof part[e], "%.4f", mbps(cs[i].len, sf->oneshot_s) / floor_mbps);
      else
        snprintf(part[e], sizeof part[e], "-");
    }
    printf("%-20s %12.1f %12.1f %12s %12s %12s %12s\n", cs[i].name, floor_mbps, mbps(cs[i].len, f.sum_s),
           part[ENG_EXACT], part[ENG_FOLDED], part[ENG_NOISE], part[ENG_HS]);
  }

  if (HG_HAVE_HYPERSCAN && engs[ENG_EXACT].ok && engs[ENG_HS].ok) {
    printf("\nexact mode vs Hyperscan, hits split by entry (hegui applies word/digit boundary rules to entries whose\n"
           "first or last letter-or-digit is a word or digit character; other entries should agree exactly):\n");
    printf("%-20s %14s %14s %10s %14s %14s\n", "corpus", "hegui ruled", "hs ruled", "hegui/hs", "hegui other",
           "hs other");
    for (int i = 0; i < nc; i++) {
      const scan_fig *h = &engs[ENG_EXACT].scan[i], *b = &engs[ENG_HS].scan[i];
      if (!h->split_ok || !b->split_ok) {
        printf("%-20s (not available)\n", cs[i].name);
        continue;
      }
      printf("%-20s %14zu %14zu %10.3f %14zu %14zu  %s\n", cs[i].name, h->hits_ruled, b->hits_ruled,
             b->hits_ruled ? (double)h->hits_ruled / (double)b->hits_ruled : 0.0, h->hits_unruled, b->hits_unruled,
             h->hits_unruled == b->hits_unruled ? "other entries agree" : "OTHER ENTRIES DIFFER");
    }
  }

  /* Targets: speed ratios per corpus, compile and image per hegui mode. */
  ratio rs[64 + 8 * 16];
  size_t nr = 0;
  int max_ratio_corpora = 16;
  for (int i = 0; i < nc && i < max_ratio_corpora; i++) {
    const scan_fig *n = &engs[ENG_NOISE].scan[i], *x = &engs[ENG_EXACT].scan[i], *h = &engs[ENG_HS].scan[i];
    int hs = HG_HAVE_HYPERSCAN && engs[ENG_HS].ok && h->ok;
    double hs_mbps = hs ? mbps(cs[i].len, h->oneshot_s) : 0;
    size_t ascii = 0;
    for (size_t k = 0; k < cs[i].len; k++)
      ascii += (unsigned char)cs[i].data[k] < 0x80;
    int latin = cs[i].len && (double)ascii >= LATIN_ASCII_SHARE * (double)cs[i].len;
    double t_noise = latin ? TARGET_LATIN_VS_HS : TARGET_NOISE_VS_HS,
           t_exact = latin ? TARGET_LATIN_VS_HS : TARGET_EXACT_VS_HS;
    add_ratio(rs, &nr, "folded+noise / hyperscan MB/s", cs[i].name,
              hs && hs_mbps > 0 ? mbps(cs[i].len, n->oneshot_s) / hs_mbps : 0, t_noise, 0,
              hs && hs_mbps > 0 && engs[ENG_NOISE].ok && n->ok);
    add_ratio(rs, &nr, "exact / hyperscan MB/s", cs[i].name,
              hs && hs_mbps > 0 ? mbps(cs[i].len, x->oneshot_s) / hs_mbps : 0, t_exact, 0,
              hs && hs_mbps > 0 && engs[ENG_EXACT].ok && x->ok);
    /* The same two against hegui's streaming figure, which is what a gateway runs. */
    add_ratio(rs, &nr, "folded+noise streaming / hyperscan MB/s", cs[i].name,
              hs && hs_mbps > 0 ? mbps(cs[i].len, n->stream_s) / hs_mbps : 0, t_noise, 0,
              hs && hs_mbps > 0 && engs[ENG_NOISE].ok && n->stream_ok);
    add_ratio(rs, &nr, "exact streaming / hyperscan MB/s", cs[i].name,
              hs && hs_mbps > 0 ? mbps(cs[i].len, x->stream_s) / hs_mbps : 0, t_exact, 0,
              hs && hs_mbps > 0 && engs[ENG_EXACT].ok && x->stream_ok);
    for (int e = ENG_EXACT; e <= ENG_NOISE; e++) {
      const scan_fig *s = &engs[e].scan[i];
      char name[96];
      snprintf(name, sizeof name, "%s stream / one-shot", engs[e].name + 6);
      int ok = engs[e].ok && s->ok && s->stream_ok;
      add_ratio(rs, &nr, name, cs[i].name, ok ? s->oneshot_s / s->stream_s : 0, TARGET_STREAM_VS_ONESHOT, 0, ok);
    }
  }
  for (int e = ENG_EXACT; e <= ENG_NOISE; e++) {
    char name[96];
    snprintf(name, sizeof name, "%s compile s", engs[e].name + 6);
    add_ratio(rs, &nr, name, NULL, engs[e].compile_s, TARGET_COMPILE_S, 1, engs[e].ok);
  }
  for (int e = ENG_EXACT; e <= ENG_NOISE; e++) {
    char name[96];
    snprintf(name, sizeof name, "%s image MB", engs[e].name + 6);
    add_ratio(rs, &nr, name, NULL, (double)engs[e].image_bytes / MB, TARGET_IMAGE_MB, 1, engs[e].ok);
  }
  printf("\ntargets:\n");
  for (size_t i = 0; i < nr; i++) {
    const ratio *r = &rs[i];
    char label[200];
    snprintf(label, sizeof label, "%s%s%s", r->name, r->corpus[0] ? " on " : "", r->corpus);
    if (!r->available) {
      printf("  %-60s %8s   (target %s %g)   n/a%s\n", label, "-", r->at_most ? "<=" : ">=", r->target,
             HG_HAVE_HYPERSCAN ? "" : " (built without Hyperscan)");
      continue;
    }
    printf("  %-60s %8.3f   (target %s %g)   %s\n", label, r->value, r->at_most ? "<=" : ">=", r->target,
           ratio_met(r) ? "target met" : "target NOT met");
  }

  long peak = max_rss_kb();
  size_t corpus_bytes = 0;
  for (int i = 0; i < nc; i++)
    corpus_bytes += cs[i].len;
  printf("\npeak RSS (getrusage ru_maxrss, and VmHWM before each per-compile reset): %.1f MB, of which %.1f MB are\n"
         "the corpora held in memory\n",
         peak < 0 ? 0.0 : (double)peak * 1024 / MB, (double)corpus_bytes / MB);
  if (json_path && write_json(json_path, lex_path, &el, cs, nc, engs, rs, nr, peak) == 0)
    printf("figures written to %s\n", json_path);

  for (int e = 0; e < ENG_COUNT; e++)
    free(engs[e].scan);
  for (int i = 0; i < nc; i++)
    free(cs[i].data);
  free(cs);
  free(corpus_paths);
  free(el.text);
  free(el.len);
  free(el.edge_ruled);
  free(el.file);
  return failed;
}
