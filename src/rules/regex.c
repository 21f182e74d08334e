/* regex.c — operator rules as PCRE2 regular expressions over the folded view, one shot or streaming.
 *
 * Why the 32-bit library. The view is a stream of folded code points; with libpcre2-32 a code unit is a code
 * point, so the view's code points are the subject as they are and a subject index is a view position. Hits map
 * back to source bytes through the spans kept beside the code points, windows counted in code points are
 * counted in code units, and lookbehind steps back by subtraction. The 8-bit library would need the folded text
 * re-encoded to UTF-8 for every part fed plus a map from byte offsets back to view positions, for no gain: a
 * window is a few hundred code points at most, so four bytes each costs nothing.
 *
 * Compile once, per set: each pattern is compiled with the options in regex_internal.h, then JIT-compiled for
 * both complete and hard-partial matching. Where JIT is not available (another architecture, or memory for
 * executable pages refused) PCRE2 falls back to its interpreter on its own; results are the same, only slower,
 * so a failed JIT compile is not an error.
 *
 * Streaming. One-shot matching of a rule is: search from 0, report [s,e), search again from e, until no match.
 * A scanner keeps, for each rule, `next`: the view position where that search loop would search next. Each
 * part fed is appended to a buffer holding the view from a little before the smallest `next` (the longest
 * lookbehind any rule inspects, plus one) and every rule is searched from its `next` with PCRE2_PARTIAL_HARD.
 * Hard partial matching answers exactly the question a stream asks: a complete match is returned only when no
 * attempt at or before it reached the end of the buffer, so more text cannot change it (it is reported and the
 * search goes on from its end); a partial match at s means the attempt at s, or a later one, needs text not yet
 * here, and every start before s failed for good (`next` moves to s and the rule waits); no match means no start
 * before the end can match (`next` moves to the end). Under hard partial matching, \z, \Z, $, \b and \B at the
 * end of the buffer always give a partial match, so end anchors and word boundaries are never decided early;
 * at finish the buffer's end is the real end and the last search runs without partial matching.
 *
 * Start anchors and lookbehind need the text before a search start: the buffer keeps `context` code points
 * before every `next` (the analyzer's lookbehind, or PCRE2's if larger, plus one), and searches pass the buffer
 * with a start offset, so PCRE2 looks back into them as it would in the whole text. The extra code point
 * keeps buffer offset 0 out of reach of every attempt, so ^ and \A (which PCRE2_NOTBOL does not cover) can
 * never mistake the buffer's start for the text's. \G and \K would depend on where searches start and are refused
 * by the analyzer, as are backtracking verbs (a (*COMMIT) ends the whole one-shot loop).
 *
 * Bounds. The analyzer bounds how far an attempt can look past its start (`ahead`), so a partial match is never
 * further back than that from the end of the buffer: the buffer holds at most context + ahead code points plus
 * the slice being added, and a feed of any size is taken in slices. Should PCRE2 ever report a partial match
 * further back, the analyzer was wrong about the pattern, and the scan fails loudly instead of growing.
 *
 * Order. Certain hits wait in a queue sorted by view start (then longer first, then rule) and leave it once
 * their start is before every rule's `next`: no rule can still report one that sorts before them. One-shot
 * scanning is the same code fed once, so cut or not, the hits and their order are the same. */
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 32
#include <pcre2.h>

#include "base/error.h"
#include "hegui/regex.h"
#include "rules/regex_internal.h"

/* Code points appended per search round; bounds the buffer and the hits waiting in the queue. */
#define SLICE 8192

typedef struct rule_rec {
  hg_regex_rule rule; /* name and pattern point into the set's own copies */
  pcre2_code *code;
  hg_regex_shape shape;
  size_t behind; /* analyzer's lookbehind, or PCRE2's if larger */
  size_t window; /* behind + shape.ahead */
  int jit;
} rule_rec;

struct hg_regex_set {
  int refs;
  size_t n;
  rule_rec *rules;
  size_t window;    /* largest rule window */
  size_t context;   /* code points kept before a search start */
  size_t max_ahead; /* largest rule ahead */
  size_t jit_count;
};

typedef struct queued {
  hg_regex_hit hit;
  uint64_t vstart, vend; /* view positions, the sort key */
} queued;

typedef struct span {
  size_t start, end;
} span;

struct hg_regex_scanner {
  hg_regex_set *set;
  hg_regex_fn fn;
  void *ctx;
  pcre2_match_data *md;
  pcre2_match_context *mctx;
  uint32_t *cps; /* the buffered view: positions [base, base + len) */
  span *spans;
  size_t cap, len;
  uint64_t base;
  uint64_t *next; /* per rule: view position of its next search */
  queued *queue;  /* sorted in [qhead, qlen) after each round */
  size_t qhead, qlen, qcap;
  span last; /* span of the last code point fed: spans never go backwards */
  int stopped, failed, finished;
};

/* ---- building a set ------------------------------------------------------------------------------------- */

static void free_rules(rule_rec *rules, size_t n) {
  for (size_t i = 0; i < n; i++) {
    pcre2_code_free(rules[i].code);
    free((char *)rules[i].rule.name);
    free((char *)rules[i].rule.pattern);
  }
  free(rules);
}

static char *copy_string(const char *s) {
  size_t l = strlen(s);
  char *c = malloc(l + 1);
  if (c) memcpy(c, s, l + 1);
  return c;
}

/* Decodes a validated UTF-8 pattern into code points. */
static uint32_t *pattern_code_points(const char *s, size_t len, size_t *n) {
  uint32_t *cps = malloc((len + 1) * sizeof *cps);
  if (!cps) return NULL;
  size_t k = 0;
  for (size_t i = 0; i < len;) {
    int r = hg_utf8_decode((const uint8_t *)s + i, len - i, &cps[k++]);
    i += (size_t)r;
  }
  *n = k;
  return cps;
}

static size_t utf8_prefix_bytes(const uint32_t *cps, size_t count) {
  size_t off = 0;
  char tmp[4];
  for (size_t k = 0; k < count; k++)
    off += hg_utf8_encode(cps[k], tmp);
  return off;
}

/* Compiles and analyzes one rule into r (whose strings are already copied). */
static hg_status build_rule(rule_rec *r, size_t index, pcre2_compile_context *cctx, hg_error *err) {
  const char *name = r->rule.name, *pat = r->rule.pattern;
  size_t len = strlen(pat), ncp;
  size_t line = index + 1;
  uint32_t *cps = pattern_code_points(pat, len, &ncp);
  if (!cps) return hg_fail(err, HG_ERR_NOMEM, line, 0, "out of memory");
  int code;
  PCRE2_SIZE at;
  r->code = pcre2_compile(cps, ncp, HG_REGEX_PCRE2_OPTIONS, &code, &at, cctx);
  if (!r->code) {
    PCRE2_UCHAR msg32[256];
    char msg[256];
    int ml = pcre2_get_error_message(code, msg32, 256);
    size_t o = 0;
    for (int k = 0; k < ml && o + 4 < sizeof msg; k++)
      o += hg_utf8_encode(msg32[k], msg + o);
    msg[o] = 0;
    size_t off = utf8_prefix_bytes(cps, at > ncp ? ncp : at);
    free(cps);
    return hg_fail(err, HG_ERR_PARSE, line, off, "rule '%s': invalid pattern at offset %zu: %s", name, off, msg);
  }
  char why[256];
  size_t why_at;
  hg_status st = hg_regex_analyze(cps, ncp, &r->shape, &why_at, why, sizeof why);
  free(cps);
  if (st) return hg_fail(err, st, line, why_at, "rule '%s': %s", name, why);
  uint32_t captures = 0, pcre_behind = 0;
  pcre2_pattern_info(r->code, PCRE2_INFO_CAPTURECOUNT, &captures);
  pcre2_pattern_info(r->code, PCRE2_INFO_MAXLOOKBEHIND, &pcre_behind);
  if (captures != r->shape.groups) /* the analyzer read the pattern differently from PCRE2: trust neither bound */
    return hg_fail(err, HG_ERR_PARSE, line, 0,
                   "rule '%s': the analyzer cannot follow this pattern (it counts %zu groups, PCRE2 %u); write it "
                   "another way",
                   name, r->shape.groups, captures);
  r->behind = r->shape.behind > pcre_behind ? r->shape.behind : pcre_behind;
  r->window = r->behind + r->shape.ahead;
  if (r->window > HG_REGEX_MAX_WINDOW)
    return hg_fail(err, HG_ERR_LIMIT, line, 0,
                   "rule '%s': a match may look at %zu code points (%zu matched, %zu ahead, %zu behind), over the "
                   "limit of %d; bound the repeats more tightly",
                   name, r->window, r->shape.max_len, r->shape.ahead - r->shape.max_len, r->behind,
                   HG_REGEX_MAX_WINDOW);
  /* JIT for the streaming searches and the final one; on failure the interpreter runs (same results) */
  r->jit = pcre2_jit_compile(r->code, PCRE2_JIT_COMPLETE | PCRE2_JIT_PARTIAL_HARD) == 0;
  return HG_OK;
}

static hg_status check_rule(const hg_regex_rule *rules, size_t i, hg_error *err) {
  const hg_regex_rule *r = &rules[i];
  size_t line = i + 1, bad;
  if (!r->name || !r->name[0]) return hg_fail(err, HG_ERR_INVALID, line, 0, "rule %zu has no name", line);
  size_t nl = strlen(r->name);
  if (nl > HG_REGEX_MAX_NAME)
    return hg_fail(err, HG_ERR_LIMIT, line, 0, "rule %zu: name longer than %d bytes", line, HG_REGEX_MAX_NAME);
  if (hg_utf8_validate(r->name, nl, &bad))
    return hg_fail(err, HG_ERR_UTF8, line, bad, "rule %zu: name is not valid UTF-8", line);
  if (!r->pattern) return hg_fail(err, HG_ERR_INVALID, line, 0, "rule '%s' has no pattern", r->name);
  size_t pl = strlen(r->pattern);
  if (pl > HG_REGEX_MAX_PATTERN)
    return hg_fail(err, HG_ERR_LIMIT, line, 0, "rule '%s': pattern longer than %d bytes", r->name,
                   HG_REGEX_MAX_PATTERN);
  if (hg_utf8_validate(r->pattern, pl, &bad))
    return hg_fail(err, HG_ERR_UTF8, line, bad, "rule '%s': pattern is not valid UTF-8 at offset %zu", r->name, bad);
  if ((unsigned)r->category >= HG_CATEGORY_COUNT)
    return hg_fail(err, HG_ERR_INVALID, line, 0, "rule '%s': unknown risk category %d", r->name, (int)r->category);
  if ((unsigned)r->action > HG_ACTION_LOG)
    return hg_fail(err, HG_ERR_INVALID, line, 0, "rule '%s': action must be block, review, redact or log", r->name);
  for (size_t j = 0; j < i; j++)
    if (!strcmp(rules[j].name, r->name))
      return hg_fail(err, HG_ERR_INVALID, line, 0, "rule '%s' appears twice (rules %zu and %zu)", r->name, j + 1, line);
  return HG_OK;
}

hg_status hg_regex_set_build(const hg_regex_rule *rules, size_t n, hg_regex_set **out, hg_error *err) {
  if (!out) return hg_fail(err, HG_ERR_INVALID, 0, 0, "no place for the set");
  *out = NULL;
  if (n && !rules) return hg_fail(err, HG_ERR_INVALID, 0, 0, "no rules given");
  if (n > HG_REGEX_MAX_RULES)
    return hg_fail(err, HG_ERR_LIMIT, 0, 0, "%zu rules, more than %d in one set", n, HG_REGEX_MAX_RULES);
  for (size_t i = 0; i < n; i++) {
    hg_status st = check_rule(rules, i, err);
    if (st) return st;
  }
  hg_regex_set *set = calloc(1, sizeof *set);
  rule_rec *recs = calloc(n ? n : 1, sizeof *recs);
  pcre2_compile_context *cctx = pcre2_compile_context_create(NULL);
  if (!set || !recs || !cctx) {
    free(set);
    free(recs);
    pcre2_compile_context_free(cctx);
    return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  }
  pcre2_set_newline(cctx, HG_REGEX_PCRE2_NEWLINE);
  pcre2_set_bsr(cctx, HG_REGEX_PCRE2_BSR);
  hg_status st = HG_OK;
  size_t built = 0;
  for (; built < n && !st; built++) {
    rule_rec *r = &recs[built];
    r->rule = rules[built];
    r->rule.name = copy_string(rules[built].name);
    r->rule.pattern = copy_string(rules[built].pattern);
    if (!r->rule.name || !r->rule.pattern)
      st = hg_fail(err, HG_ERR_NOMEM, built + 1, 0, "out of memory");
    else
      st = build_rule(r, built, cctx, err);
  }
  pcre2_compile_context_free(cctx);
  if (st) {
    free_rules(recs, built);
    free(set);
    return st;
  }
  set->refs = 1;
  set->n = n;
  set->rules = recs;
  size_t max_behind = 0;
  for (size_t i = 0; i < n; i++) {
    if (recs[i].window > set->window) set->window = recs[i].window;
    if (recs[i].behind > max_behind) max_behind = recs[i].behind;
    if (recs[i].shape.ahead > set->max_ahead) set->max_ahead = recs[i].shape.ahead;
    set->jit_count += recs[i].jit != 0;
  }
  set->context = max_behind + 1;
  *out = set;
  return HG_OK;
}

hg_regex_set *hg_regex_set_ref(hg_regex_set *set) {
  if (set) __atomic_add_fetch(&set->refs, 1, __ATOMIC_RELAXED);
  return set;
}

void hg_regex_set_unref(hg_regex_set *set) {
  if (!set || __atomic_sub_fetch(&set->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
  free_rules(set->rules, set->n);
  free(set);
}

size_t hg_regex_set_count(const hg_regex_set *set) { return set ? set->n : 0; }

const hg_regex_rule *hg_regex_set_rule(const hg_regex_set *set, size_t i) {
  return set && i < set->n ? &set->rules[i].rule : NULL;
}

size_t hg_regex_set_window(const hg_regex_set *set) { return set ? set->window : 0; }

size_t hg_regex_set_rule_window(const hg_regex_set *set, size_t i) {
  return set && i < set->n ? set->rules[i].window : 0;
}

size_t hg_regex_set_jit_count(const hg_regex_set *set) { return set ? set->jit_count : 0; }

/* ---- scanning ------------------------------------------------------------------------------------------- */

hg_status hg_regex_scanner_new(hg_regex_set *set, hg_regex_fn fn, void *ctx, hg_regex_scanner **out) {
  if (!out) return HG_ERR_INVALID;
  *out = NULL;
  if (!set) return HG_ERR_INVALID;
  hg_regex_scanner *sc = calloc(1, sizeof *sc);
  if (!sc) return HG_ERR_NOMEM;
  sc->set = hg_regex_set_ref(set);
  sc->fn = fn;
  sc->ctx = ctx;
  sc->cap = set->context + set->max_ahead + SLICE;
  sc->cps = malloc(sc->cap * sizeof *sc->cps);
  sc->spans = malloc(sc->cap * sizeof *sc->spans);
  sc->next = calloc(set->n ? set->n : 1, sizeof *sc->next);
  /* one ovector pair is all a hit needs; the match data also carries the interpreter's frames, so it is ours */
  sc->md = pcre2_match_data_create(1, NULL);
  sc->mctx = pcre2_match_context_create(NULL);
  if (!sc->cps || !sc->spans || !sc->next || !sc->md || !sc->mctx) {
    hg_regex_scanner_free(sc);
    return HG_ERR_NOMEM;
  }
  pcre2_set_match_limit(sc->mctx, HG_REGEX_MATCH_LIMIT);
  *out = sc;
  return HG_OK;
}

void hg_regex_scanner_reset(hg_regex_scanner *sc) {
  if (!sc) return;
  sc->len = 0;
  sc->base = 0;
  memset(sc->next, 0, (sc->set->n ? sc->set->n : 1) * sizeof *sc->next);
  sc->qhead = sc->qlen = 0;
  sc->last = (span){0, 0};
  sc->stopped = sc->failed = sc->finished = 0;
}

void hg_regex_scanner_free(hg_regex_scanner *sc) {
  if (!sc) return;
  pcre2_match_data_free(sc->md);
  pcre2_match_context_free(sc->mctx);
  free(sc->cps);
  free(sc->spans);
  free(sc->next);
  free(sc->queue);
  hg_regex_set_unref(sc->set);
  free(sc);
}

static int queue_push(hg_regex_scanner *sc, uint32_t rule, uint64_t vstart, uint64_t vend) {
  if (sc->qlen == sc->qcap) {
    if (sc->qhead) { /* reuse the room of hits already reported */
      memmove(sc->queue, sc->queue + sc->qhead, (sc->qlen - sc->qhead) * sizeof *sc->queue);
      sc->qlen -= sc->qhead;
      sc->qhead = 0;
    }
    if (sc->qlen == sc->qcap) {
      size_t cap = sc->qcap ? sc->qcap * 2 : 64;
      queued *q = realloc(sc->queue, cap * sizeof *q);
      if (!q) return -1;
      sc->queue = q;
      sc->qcap = cap;
    }
  }
  const span *first = &sc->spans[vstart - sc->base], *last = &sc->spans[vend - 1 - sc->base];
  sc->queue[sc->qlen++] = (queued){{rule, first->start, last->end}, vstart, vend};
  return 0;
}

static int queued_before(const void *a, const void *b) {
  const queued *x = a, *y = b;
  if (x->vstart != y->vstart) return x->vstart < y->vstart ? -1 : 1;
  if (x->vend != y->vend) return x->vend > y->vend ? -1 : 1;
  return x->hit.rule < y->hit.rule ? -1 : x->hit.rule > y->hit.rule;
}

static uint64_t lowest_next(const hg_regex_scanner *sc) {
  uint64_t lo = sc->base + sc->len;
  for (size_t r = 0; r < sc->set->n; r++)
    if (sc->next[r] < lo) lo = sc->next[r];
  return lo;
}

static hg_status fail_scan(hg_regex_scanner *sc, hg_error *err, hg_status st, size_t offset, const char *what,
                           const char *rule) {
  sc->failed = 1;
  return hg_fail(err, st, 0, offset, "rule '%s': %s (source byte %zu)", rule, what, offset);
}

/* Searches every rule from its `next` over the buffer. With final the buffer's end is the text's end. */
static hg_status search_round(hg_regex_scanner *sc, int final, hg_error *err) {
  const hg_regex_set *set = sc->set;
  uint64_t end = sc->base + sc->len;
  uint32_t opts = PCRE2_NO_UTF_CHECK | (sc->base ? PCRE2_NOTBOL : 0) | (final ? 0 : PCRE2_PARTIAL_HARD);
  PCRE2_SIZE *ov = pcre2_get_ovector_pointer(sc->md);
  for (size_t r = 0; r < set->n; r++) {
    const rule_rec *rr = &set->rules[r];
    while (sc->next[r] < end) { /* no rule matches empty, so nothing can start at the end itself */
      PCRE2_SIZE start = (PCRE2_SIZE)(sc->next[r] - sc->base);
      int rc = pcre2_match(rr->code, sc->cps, sc->len, start, opts, sc->md, sc->mctx);
      if (rc >= 0) { /* 0 only says the ovector is too small for the groups; the match itself is there */
        if (ov[1] <= ov[0] || ov[0] < start)
          return fail_scan(sc, err, HG_ERR_LIMIT, sc->spans[start].start, "an empty or backward match", rr->rule.name);
        if (queue_push(sc, (uint32_t)r, sc->base + ov[0], sc->base + ov[1]))
          return fail_scan(sc, err, HG_ERR_NOMEM, sc->spans[start].start, "out of memory", rr->rule.name);
        sc->next[r] = sc->base + ov[1];
      } else if (rc == PCRE2_ERROR_PARTIAL) {
        sc->next[r] = sc->base + (ov[0] > start ? ov[0] : start);
        if (end - sc->next[r] > rr->shape.ahead)
          return fail_scan(sc, err, HG_ERR_LIMIT, sc->spans[start].start,
                           "a match attempt looked further than the analyzed window; please report this pattern",
                           rr->rule.name);
        break;
      } else if (rc == PCRE2_ERROR_NOMATCH) {
        sc->next[r] = end;
      } else if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT ||
                 rc == PCRE2_ERROR_JIT_STACKLIMIT) {
        return fail_scan(sc, err, HG_ERR_LIMIT, sc->spans[start].start,
                         "the search took too many steps; simplify the pattern's nested repeats", rr->rule.name);
      } else if (rc == PCRE2_ERROR_NOMEMORY) {
        return fail_scan(sc, err, HG_ERR_NOMEM, sc->spans[start].start, "out of memory", rr->rule.name);
      } else {
        return fail_scan(sc, err, HG_ERR_INVALID, sc->spans[start].start, "PCRE2 failed to search", rr->rule.name);
      }
    }
  }
  if (sc->qlen - sc->qhead > 1) qsort(sc->queue + sc->qhead, sc->qlen - sc->qhead, sizeof *sc->queue, queued_before);
  return HG_OK;
}

/* Reports queued hits that no rule can precede any more (all of them at the end of the text). */
static void emit(hg_regex_scanner *sc, int final) {
  uint64_t bound = final ? UINT64_MAX : lowest_next(sc);
  while (sc->qhead < sc->qlen && !sc->stopped && sc->queue[sc->qhead].vstart < bound) {
    const queued *q = &sc->queue[sc->qhead++];
    if (sc->fn && sc->fn(sc->ctx, &q->hit)) sc->stopped = 1;
  }
  if (sc->qhead == sc->qlen) sc->qhead = sc->qlen = 0;
}

/* Drops the view before the context of the lowest `next`. */
static void trim(hg_regex_scanner *sc) {
  uint64_t lo = lowest_next(sc);
  uint64_t keep = lo > sc->set->context ? lo - sc->set->context : 0;
  if (keep <= sc->base) return;
  size_t drop = (size_t)(keep - sc->base);
  memmove(sc->cps, sc->cps + drop, (sc->len - drop) * sizeof *sc->cps);
  memmove(sc->spans, sc->spans + drop, (sc->len - drop) * sizeof *sc->spans);
  sc->len -= drop;
  sc->base = keep;
}

static int is_scalar(uint32_t cp) { return cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF); }

hg_status hg_regex_scanner_feed(hg_regex_scanner *sc, const hg_norm_char *chars, size_t n, hg_error *err) {
  if (!sc || (n && !chars)) return hg_fail(err, HG_ERR_INVALID, 0, 0, "no scanner or no input");
  if (sc->failed) return hg_fail(err, HG_ERR_INVALID, 0, sc->last.end, "scanner stopped after an error; reset it");
  if (sc->finished) return hg_fail(err, HG_ERR_INVALID, 0, sc->last.end, "stream already finished; reset it");
  if (sc->stopped) return HG_OK;
  size_t done = 0;
  while (done < n) {
    size_t room = sc->cap - sc->len, k = n - done < room ? n - done : room;
    if (!k) { /* cannot happen while the analyzer's bounds hold; search_round checks them */
      sc->failed = 1;
      return hg_fail(err, HG_ERR_LIMIT, 0, sc->last.end, "regex scanner buffer full");
    }
    for (size_t i = 0; i < k; i++) {
      const hg_norm_char *c = &chars[done + i];
      if (!is_scalar(c->cp)) {
        sc->failed = 1;
        return hg_fail(err, HG_ERR_INVALID, 0, c->src_start,
                       "code point U+%04X at source byte %zu is not a scalar value", c->cp, c->src_start);
      }
      if (c->src_end < c->src_start || c->src_start < sc->last.start || c->src_end < sc->last.end) {
        sc->failed = 1;
        return hg_fail(err, HG_ERR_INVALID, 0, c->src_start, "source span [%zu,%zu) goes backwards", c->src_start,
                       c->src_end);
      }
      sc->cps[sc->len + i] = c->cp;
      sc->spans[sc->len + i] = (span){c->src_start, c->src_end};
      sc->last = sc->spans[sc->len + i];
    }
    sc->len += k;
    done += k;
    hg_status st = search_round(sc, 0, err);
    if (st) return st;
    emit(sc, 0);
    if (sc->stopped) break;
    trim(sc);
  }
  return HG_OK;
}

hg_status hg_regex_scanner_finish(hg_regex_scanner *sc, hg_error *err) {
  if (!sc) return hg_fail(err, HG_ERR_INVALID, 0, 0, "no scanner");
  if (sc->failed) return hg_fail(err, HG_ERR_INVALID, 0, sc->last.end, "scanner stopped after an error; reset it");
  if (sc->finished) return hg_fail(err, HG_ERR_INVALID, 0, sc->last.end, "stream already finished; reset it");
  if (!sc->stopped) {
    hg_status st = search_round(sc, 1, err);
    if (st) return st;
    emit(sc, 1);
  }
  sc->finished = 1;
  return HG_OK;
}

size_t hg_regex_scanner_hold_from(const hg_regex_scanner *sc) {
  if (!sc || sc->stopped || sc->finished) return SIZE_MAX;
  uint64_t lo = lowest_next(sc);
  if (lo >= sc->base + sc->len) return SIZE_MAX;
  return sc->spans[lo - sc->base].start;
}

hg_status hg_regex_scan(hg_regex_set *set, const char *text, size_t len, hg_regex_fn fn, void *ctx, hg_error *err) {
  if (!set || (len && !text)) return hg_fail(err, HG_ERR_INVALID, 0, 0, "no set or no text");
  hg_norm_char *view;
  size_t n;
  hg_status st = hg_normalize(text, len, &view, &n, err);
  if (st) return st;
  hg_regex_scanner *sc;
  st = hg_regex_scanner_new(set, fn, ctx, &sc);
  if (st) {
    free(view);
    return hg_fail(err, st, 0, 0, "out of memory");
  }
  st = hg_regex_scanner_feed(sc, view, n, err);
  if (!st) st = hg_regex_scanner_finish(sc, err);
  hg_regex_scanner_free(sc);
  free(view);
  return st;
}
