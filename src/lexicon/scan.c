/* scan.c — running a compiled lexicon over a stream, without leaks.
 *
 * Each source code point is decoded (chunks may cut anywhere, also inside a UTF-8 sequence), fed byte by byte to
 * the RAW lane, folded, and each folded code point that is not noise is fed as a symbol to the skeleton lanes.
 * A lane remembers the last positions it saw in a ring (byte span, index in the folded stream, and the class of
 * the code point before), which is all that is needed to check a key's noise gaps and edge rules when its
 * automaton reports it.
 *
 * Found matches become candidates. A candidate is certain when (1) its end rule has been decided by the next
 * folded code point, and (2) it starts before every lane's live prefix: no later match, in particular no
 * allowlist phrase that could cover it, can start at or before it. Certain candidates are reported in order of
 * start (longer first), so a stream reports exactly the same hits in the same order as one buffer, however it is
 * cut. pending_suffix_len is what lies after the earliest live prefix or undecided candidate: every byte before
 * it is final. A noise run longer than a lane's gap limit ends that lane's live prefix, so hold-back stays
 * bounded by the longest entry.
 *
 * Line breaks are noise like a space: `法\n轮\n功` is as much a disguise as `法 轮 功`, and answers are often
 * wrapped. CR LF counts as one noise code point, like LF or CR alone, so that a text has the same hits whatever its
 * line-ending convention. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "hegui/text.h"
#include "lexicon_internal.h"
#include "text/fold_table.h"

typedef struct pos_rec {
  size_t bstart, bend;
  uint64_t ffirst, flast; /* folded-stream indexes of the first and last code point (a collapse run has several) */
  uint32_t sym;
  uint32_t prev_flags; /* class of the folded code point before this position */
} pos_rec;

typedef struct lane_run {
  const lane_view *v;
  int active;
  uint32_t state;
  uint64_t npos;
  uint64_t last_fidx;
  pos_rec *ring;
  uint64_t mask;
} lane_run;

typedef struct cand {
  hg_hit hit;
  uint8_t end_rule;
  uint8_t allow;
  uint8_t lane;
  uint32_t last_sym;
} cand;

struct hg_scanner {
  hg_lexicon *lex;
  hg_hit_fn fn;
  void *ctx;
  lane_run lanes[LANE_COUNT];
  size_t offset; /* bytes of complete code points processed */
  size_t fed;
  uint8_t partial[4];
  int npartial;
  uint64_t fidx; /* folded code points so far, CR LF counted once; only differences within a live match matter */
  int prev_cr;   /* the last source code point was CR */
  uint32_t prev_flags;
  uint32_t raw_prev_flags;
  uint8_t ascii_skip[128];  /* ASCII_SKIP_* per byte: when it cannot start a match (see skip_ascii) */
  uint8_t ascii_flags[128]; /* HG_CHAR_* flags of each ASCII byte */
  cand *cands;              /* sorted candidates live in [head, ncand); popping the front only moves head */
  size_t head, ncand, capcand, pending_ends;
  int stopped, failed;
};

/* One transition. With no_start the symbol may continue a match but not begin one: it is a letter inside a word,
 * and every key beginning with a letter must begin a word, so such a match would be refused anyway. */
static inline uint32_t ac_step(const lane_view *v, uint32_t s, uint32_t sym, int no_start) {
  for (;;) {
    if (s == 0) return no_start ? 0 : v->root[sym];
    const img_state *st = &v->states[s];
    const img_edge *e = v->edges + st->edge_off;
    uint32_t n = st->edge_count;
    if (st->hashed) {
      for (uint32_t j = edge_hash(sym, n);; j = (j + 1) & (n - 1)) {
        if (e[j].sym == sym) return e[j].next;
        if (!e[j].sym) break;
      }
    } else {
      for (uint32_t i = 0; i < n; i++)
        if (e[i].sym == sym) return e[i].next;
    }
    s = st->fail;
  }
}

static int cand_before(const cand *a, const cand *b) {
  if (a->hit.start != b->hit.start) return a->hit.start < b->hit.start;
  if (a->hit.end != b->hit.end) return a->hit.end > b->hit.end;
  if (a->allow != b->allow) return a->allow > b->allow;
  return a->hit.entry < b->hit.entry;
}

static int add_cand(hg_scanner *sc, const cand *c) {
  /* same entry and span from another lane or key: keep the most specific mode (lowest bit) */
  for (size_t i = sc->ncand; i-- > sc->head;) {
    cand *o = &sc->cands[i];
    if (o->hit.start < c->hit.start) break;
    if (o->hit.entry == c->hit.entry && o->hit.start == c->hit.start && o->hit.end == c->hit.end) {
      if (c->hit.mode < o->hit.mode) o->hit.mode = c->hit.mode;
      if (o->end_rule && !c->end_rule) {
        o->end_rule = 0;
        sc->pending_ends--;
      }
      return 0;
    }
  }
  if (sc->ncand == sc->capcand) {
    if (sc->head > sc->capcand / 2) {
      memmove(sc->cands, sc->cands + sc->head, (sc->ncand - sc->head) * sizeof *c);
      sc->ncand -= sc->head;
      sc->head = 0;
    } else {
      size_t cap = sc->capcand ? sc->capcand * 2 : 16;
      cand *n = realloc(sc->cands, cap * sizeof *n);
      if (!n) return -1;
      sc->cands = n;
      sc->capcand = cap;
    }
  }
  size_t i = sc->ncand;
  while (i > sc->head && cand_before(c, &sc->cands[i - 1]))
    i--;
  memmove(&sc->cands[i + 1], &sc->cands[i], (sc->ncand - i) * sizeof *c);
  sc->cands[i] = *c;
  sc->ncand++;
  if (c->end_rule) sc->pending_ends++;
  return 0;
}

static void remove_cand(hg_scanner *sc, size_t i) {
  if (sc->cands[i].end_rule) sc->pending_ends--;
  if (i == sc->head) {
    sc->head++;
  } else {
    memmove(&sc->cands[i], &sc->cands[i + 1], (sc->ncand - i - 1) * sizeof *sc->cands);
    sc->ncand--;
  }
  if (sc->head == sc->ncand) sc->head = sc->ncand = 0;
}

static int rule_ok(unsigned rule, unsigned flags) {
  if (rule == RULE_WORD) return !(flags & HG_CHAR_WORD);
  if (rule == RULE_DIGIT) return !(flags & HG_CHAR_DIGIT);
  return 1;
}

/* The next folded code point decides the end rule of waiting candidates. */
static void resolve_ends(hg_scanner *sc, uint32_t fsym, unsigned flags) {
  for (size_t i = sc->head; i < sc->ncand && sc->pending_ends;) {
    cand *c = &sc->cands[i];
    if (!c->end_rule || (c->lane == LANE_COLLAPSE && fsym && fsym == c->last_sym && !(flags & HG_CHAR_NOISE))) {
      i++;
      continue;
    }
    if (rule_ok(c->end_rule, flags)) {
      c->end_rule = 0;
      sc->pending_ends--;
      i++;
    } else {
      remove_cand(sc, i);
      if (i < sc->head) i = sc->head; /* removing the front moves head instead of the rest */
    }
  }
}

static int push_out(hg_scanner *sc, int lane, const img_out *o, size_t start, size_t end, unsigned mode,
                    uint32_t last_sym) {
  cand c = {{o->entry, (hg_mode)mode, start, end},
            (uint8_t)OUT_END_RULE(o->flags),
            (o->flags & OUT_ALLOW) != 0,
            (uint8_t)lane,
            last_sym};
  return add_cand(sc, &c);
}

/* Checks the outputs of a skeleton lane's current state against the gap and edge rules. */
static int lane_outputs(hg_scanner *sc, int lane_id) {
  lane_run *ln = &sc->lanes[lane_id];
  const lane_view *v = ln->v;
  uint32_t s = ln->state;
  if (!v->states[s].out_count) s = v->states[s].olink;
  uint32_t k_any = sc->lex->hdr->max_noise, k_mark = k_any ? k_any : 1;
  while (s) {
    const img_state *st = &v->states[s];
    for (uint32_t oi = st->out_off; oi < st->out_off + st->out_count; oi++) {
      const img_out *o = &v->outs[oi];
      uint64_t first = ln->npos - o->len;
      const pos_rec *p0 = &ln->ring[first & ln->mask];
      if (!rule_ok(OUT_START_RULE(o->flags), p0->prev_flags)) continue;
      int ok = 1, strict = 1;
      for (uint32_t i = 0; i + 1 < o->len && ok; i++) {
        const pos_rec *p = &ln->ring[(first + i) & ln->mask], *q = &ln->ring[(first + i + 1) & ln->mask];
        uint64_t gap = q->ffirst - p->flast - 1;
        int marked = (o->noise_mask >> i) & 1;
        if (marked ? (gap < 1 || gap > k_mark) : gap != 0) strict = 0;
        if (o->flags & OUT_ANY_GAP)
          ok = gap <= (marked ? k_mark : k_any);
        else
          ok = strict;
      }
      if (!ok) continue;
      unsigned mode = o->mode;
      if (mode == HG_MODE_NOISE && strict && (sc->lex->entries[o->entry].modes & HG_MODE_FOLDED)) mode = HG_MODE_FOLDED;
      const pos_rec *pl = &ln->ring[(ln->npos - 1) & ln->mask];
      if (push_out(sc, lane_id, o, p0->bstart, pl->bend, mode, pl->sym)) return -1;
    }
    s = st->olink;
  }
  return 0;
}

static int lane_feed(hg_scanner *sc, int lane_id, uint32_t sym, size_t bs, size_t be, int no_start) {
  lane_run *ln = &sc->lanes[lane_id];
  if (!sym) {
    ln->state = 0;
    return 0;
  }
  /* a repeat counts once only when it follows directly: "人，人民" is two words, not a stutter */
  if (lane_id == LANE_COLLAPSE && ln->state && ln->ring[(ln->npos - 1) & ln->mask].sym == sym &&
      ln->ring[(ln->npos - 1) & ln->mask].flast + 1 == sc->fidx) {
    pos_rec *p = &ln->ring[(ln->npos - 1) & ln->mask];
    p->bend = be;
    p->flast = sc->fidx;
    ln->last_fidx = sc->fidx;
    return 0;
  }
  uint32_t from = ln->state;
  if (from && !lane_pair_possible(ln->v, ln->ring[(ln->npos - 1) & ln->mask].sym, sym)) from = 0; /* see pairs */
  ln->state = ac_step(ln->v, from, sym, no_start);
  if (!ln->state) return 0;
  pos_rec *p = &ln->ring[ln->npos++ & ln->mask];
  *p = (pos_rec){bs, be, sc->fidx, sc->fidx, sym, sc->prev_flags};
  ln->last_fidx = sc->fidx;
  const img_state *st = &ln->v->states[ln->state];
  if (!st->out_count && !st->olink) return 0;
  return lane_outputs(sc, lane_id);
}

static int raw_feed(hg_scanner *sc, const uint8_t *bytes, size_t n, size_t bs, size_t be, int no_start) {
  lane_run *ln = &sc->lanes[LANE_RAW];
  const lane_view *v = ln->v;
  for (size_t i = 0; i < n; i++)
    ln->state = ac_step(v, ln->state, (uint32_t)bytes[i] + 1, no_start && i == 0);
  pos_rec *p = &ln->ring[ln->npos++ & ln->mask];
  *p = (pos_rec){bs, be, 0, 0, 0, sc->raw_prev_flags};
  uint32_t s = ln->state;
  if (!v->states[s].out_count) s = v->states[s].olink;
  while (s) {
    const img_state *st = &v->states[s];
    for (uint32_t oi = st->out_off; oi < st->out_off + st->out_count; oi++) {
      const img_out *o = &v->outs[oi];
      size_t start = be - o->len;
      const pos_rec *q = NULL;
      for (uint64_t k = ln->npos; k-- > 0 && ln->npos - k <= ln->mask;) {
        const pos_rec *r = &ln->ring[k & ln->mask];
        if (r->bstart <= start) {
          if (r->bstart == start) q = r;
          break;
        }
      }
      if (!q || !rule_ok(OUT_START_RULE(o->flags), q->prev_flags)) continue;
      if (push_out(sc, LANE_RAW, o, start, be, HG_MODE_EXACT, 0)) return -1;
    }
    s = st->olink;
  }
  return 0;
}

/* One folded code point: fc (needed only by the SOUND lane), its fold symbol and class flags. first says it is
 * the first folded code point of its source code point (the RAW lane runs then); step is 1, or 0 for the LF of a
 * CR LF, which takes no place of its own in the folded stream. */
static inline int process_folded(hg_scanner *sc, uint32_t fc, uint32_t fsym, unsigned fl, unsigned step,
                                 const uint8_t *bytes, size_t n, size_t bs, size_t be, int first) {
  /* this code point decides the end rules of earlier candidates before it can make new ones */
  if (sc->pending_ends) resolve_ends(sc, fsym, fl);
  int no_start = (fl & (HG_CHAR_WORD | HG_CHAR_DIGIT)) == HG_CHAR_WORD && (sc->prev_flags & HG_CHAR_WORD);
  if (first && sc->lanes[LANE_RAW].active && raw_feed(sc, bytes, n, bs, be, no_start)) return -1;
  sc->fidx += step;
  if (fl & HG_CHAR_NOISE) {
    /* a noise run longer than a lane's gap limit ends its live prefix */
    for (int l = LANE_FOLD; l < LANE_COUNT; l++) {
      lane_run *ln = &sc->lanes[l];
      if (ln->state && sc->fidx - ln->last_fidx - 1 > ln->v->info.max_gap) ln->state = 0;
    }
  } else {
    if (sc->lanes[LANE_FOLD].active && lane_feed(sc, LANE_FOLD, fsym, bs, be, no_start)) return -1;
    if (sc->lanes[LANE_COLLAPSE].active && lane_feed(sc, LANE_COLLAPSE, fsym, bs, be, no_start)) return -1;
    if (sc->lanes[LANE_SOUND].active) {
      unsigned pid = (fl & HG_CHAR_HAN) ? hg_pinyin_id(fc) : 0;
      uint32_t ssym = pid && sc->lex->soundsym[pid] ? sc->lex->soundsym[pid]
                      : fsym                        ? sc->lex->hdr->sound_base + fsym
                                                    : 0;
      if (lane_feed(sc, LANE_SOUND, ssym, bs, be, no_start)) return -1;
    }
  }
  sc->prev_flags = fl;
  if (first) sc->raw_prev_flags = fl;
  return 0;
}

static int process_cp(hg_scanner *sc, uint32_t cp, const uint8_t *bytes, size_t n) {
  size_t bs = sc->offset, be = bs + n;
  uint32_t m = lex_cp_map(sc->lex, cp);
  unsigned step = !(cp == '\n' && sc->prev_cr);
  sc->prev_cr = cp == '\r';
  if (!(m & CPM_SLOW)) { /* the common case: one folded code point, symbol and flags in one lookup */
    uint32_t fc = sc->lanes[LANE_SOUND].active ? ((cp + hg_fold_value(cp)) & FT_CP_MASK) : 0;
    if (process_folded(sc, fc, m & CPM_SYM_MASK, CPM_CHAR_FLAGS(m), step, bytes, n, bs, be, 1)) return -1;
  } else {
    uint32_t folded[HG_FOLD_MAX];
    size_t nf = hg_fold(cp, folded);
    if (nf == 0 && sc->lanes[LANE_RAW].active && raw_feed(sc, bytes, n, bs, be, 0)) return -1;
    for (size_t i = 0; i < nf; i++) {
      uint32_t fc = folded[i], v = hg_fold_value(fc);
      if (process_folded(sc, fc, lex_fold_sym(sc->lex, fc), FT_CHAR_FLAGS(v), 1, bytes, n, bs, be, i == 0)) return -1;
    }
  }
  sc->offset = be;
  return 0;
}

/* Earliest byte that a future or undecided hit could still cover. */
static size_t live_bound(const hg_scanner *sc) {
  size_t bound = sc->offset;
  const lane_run *raw = &sc->lanes[LANE_RAW];
  if (raw->active && raw->state) {
    size_t d = raw->v->states[raw->state].depth;
    if (sc->offset - d < bound) bound = sc->offset - d;
  }
  for (int l = LANE_FOLD; l < LANE_COUNT; l++) {
    const lane_run *ln = &sc->lanes[l];
    if (!ln->active || !ln->state) continue;
    uint64_t d = ln->v->states[ln->state].depth;
    size_t b = ln->ring[(ln->npos - d) & ln->mask].bstart;
    if (b < bound) bound = b;
  }
  return bound;
}

static void emit(hg_scanner *sc, int final) {
  size_t bound = final ? (size_t)-1 : live_bound(sc);
  while (sc->ncand > sc->head && !sc->stopped) {
    cand c = sc->cands[sc->head];
    if (!final && (c.end_rule || c.hit.start >= bound)) break;
    remove_cand(sc, sc->head);
    if (c.allow) {
      for (size_t i = sc->head; i < sc->ncand;) {
        const cand *o = &sc->cands[i];
        if (o->hit.start > c.hit.end) break;
        if (!o->allow && o->hit.start >= c.hit.start && o->hit.end <= c.hit.end) {
          remove_cand(sc, i);
          if (i < sc->head) i = sc->head;
        } else {
          i++;
        }
      }
      continue;
    }
    if (sc->fn && sc->fn(sc->ctx, &c.hit)) sc->stopped = 1;
  }
}

/* ASCII fast path. While every lane is at its root and no end rule waits, an ASCII byte that no key can start
 * with changes nothing but counters and the class of the previous character, so a run of them is skipped in a
 * tight loop. A letter right after a letter or digit is such a byte too: every key that starts with a Latin
 * letter carries the whole-word start rule, which a letter inside a word fails. English text against a mostly
 * Chinese lexicon is nearly all skipped. */
enum { ASCII_SKIP_ALWAYS = 1, ASCII_SKIP_IN_WORD = 2 };

static void init_ascii_skip(hg_scanner *sc) {
  const hg_lexicon *lex = sc->lex;
  for (uint32_t b = 0; b < 128; b++) {
    uint32_t m = lex_cp_map(lex, b), sym = m & CPM_SYM_MASK;
    unsigned fl = CPM_CHAR_FLAGS(m);
    sc->ascii_flags[b] = (uint8_t)fl;
    sc->ascii_skip[b] = 0;
    if (m & CPM_SLOW) continue;
    int starts = (sc->lanes[LANE_RAW].active && lex->lanes[LANE_RAW].root[b + 1]) ||
                 (sym && sc->lanes[LANE_FOLD].active && lex->lanes[LANE_FOLD].root[sym]) ||
                 (sym && sc->lanes[LANE_COLLAPSE].active && lex->lanes[LANE_COLLAPSE].root[sym]) ||
                 (sym && sc->lanes[LANE_SOUND].active && lex->lanes[LANE_SOUND].root[lex->hdr->sound_base + sym]);
    if (!starts)
      sc->ascii_skip[b] = ASCII_SKIP_ALWAYS;
    else if ((fl & HG_CHAR_WORD) && !(fl & HG_CHAR_DIGIT))
      sc->ascii_skip[b] = ASCII_SKIP_IN_WORD;
  }
}

static inline int lanes_at_root(const hg_scanner *sc) {
  return !sc->lanes[LANE_RAW].state && !sc->lanes[LANE_FOLD].state && !sc->lanes[LANE_COLLAPSE].state &&
         !sc->lanes[LANE_SOUND].state;
}

/* Skips the ASCII bytes from s[i] on that cannot change any lane; returns how many. A CR LF among them counts
 * twice in fidx: with every lane at its root no live match spans them, and only differences matter. */
static size_t skip_ascii(hg_scanner *sc, const uint8_t *s, size_t i, size_t len) {
  size_t j = i;
  unsigned prev = sc->prev_flags;
  while (j < len && s[j] < 0x80) {
    unsigned k = sc->ascii_skip[s[j]];
    if (!(k & ASCII_SKIP_ALWAYS) && !((k & ASCII_SKIP_IN_WORD) && (prev & HG_CHAR_WORD))) break;
    prev = sc->ascii_flags[s[j]];
    j++;
  }
  if (j > i) {
    sc->fidx += j - i;
    sc->offset += j - i;
    sc->prev_flags = sc->raw_prev_flags = prev;
    sc->prev_cr = s[j - 1] == '\r';
  }
  return j - i;
}

hg_status hg_scanner_new(hg_lexicon *lex, hg_hit_fn on_hit, void *ctx, hg_scanner **out) {
  *out = NULL;
  if (!lex) return HG_ERR_INVALID;
  hg_scanner *sc = calloc(1, sizeof *sc);
  if (!sc) return HG_ERR_NOMEM;
  sc->lex = hg_lexicon_ref(lex);
  sc->fn = on_hit;
  sc->ctx = ctx;
  for (int l = 0; l < LANE_COUNT; l++) {
    lane_run *ln = &sc->lanes[l];
    ln->v = &lex->lanes[l];
    ln->active = ln->v->info.outputs > 0;
    uint64_t size = 16;
    while (size <= ln->v->info.max_depth + 1u)
      size *= 2;
    ln->mask = size - 1;
    if (ln->active && !(ln->ring = calloc(size, sizeof *ln->ring))) {
      hg_scanner_free(sc);
      return HG_ERR_NOMEM;
    }
  }
  init_ascii_skip(sc);
  *out = sc;
  return HG_OK;
}

void hg_scanner_reset(hg_scanner *sc) {
  for (int l = 0; l < LANE_COUNT; l++) {
    sc->lanes[l].state = 0;
    sc->lanes[l].npos = 0;
    sc->lanes[l].last_fidx = 0;
  }
  sc->offset = sc->fed = 0;
  sc->npartial = 0;
  sc->fidx = 0;
  sc->prev_cr = 0;
  sc->prev_flags = sc->raw_prev_flags = 0;
  sc->head = sc->ncand = sc->pending_ends = 0;
  sc->stopped = sc->failed = 0;
}

void hg_scanner_free(hg_scanner *sc) {
  if (!sc) return;
  for (int l = 0; l < LANE_COUNT; l++)
    free(sc->lanes[l].ring);
  free(sc->cands);
  hg_lexicon_unref(sc->lex);
  free(sc);
}

static hg_status bad_utf8(hg_scanner *sc, size_t offset, hg_error *err) {
  sc->failed = 1;
  return hg_fail(err, HG_ERR_UTF8, 0, offset, "invalid UTF-8 at byte offset %zu", offset);
}

hg_status hg_scanner_feed(hg_scanner *sc, const char *chunk, size_t len, hg_error *err) {
  if (sc->failed) return hg_fail(err, HG_ERR_INVALID, 0, sc->offset, "scanner stopped after an error; reset it");
  if (sc->stopped) {
    sc->fed += len;
    return HG_OK;
  }
  const uint8_t *s = (const uint8_t *)chunk;
  size_t i = 0, last_emit = 0;
  sc->fed += len;
  uint32_t cp;
  while (sc->npartial && i < len) { /* finish a sequence cut by the previous chunk */
    sc->partial[sc->npartial++] = s[i++];
    int r = hg_utf8_decode(sc->partial, (size_t)sc->npartial, &cp);
    if (r < 0) return bad_utf8(sc, sc->offset, err);
    if (r > 0) {
      uint8_t seq[4];
      memcpy(seq, sc->partial, 4);
      sc->npartial = 0;
      if (process_cp(sc, cp, seq, (size_t)r)) return hg_fail(err, HG_ERR_NOMEM, 0, sc->offset, "out of memory");
    }
  }
  while (i < len) {
    int r;
    if (s[i] < 0x80 && !sc->pending_ends && lanes_at_root(sc)) {
      size_t skipped = skip_ascii(sc, s, i, len);
      i += skipped;
      if (i >= len) break;
      if (skipped) continue;
    }
    if (s[i] < 0x80) {
      cp = s[i];
      r = 1;
    } else {
      r = hg_utf8_decode(s + i, len - i, &cp);
      if (r < 0) return bad_utf8(sc, sc->offset, err);
      if (r == 0) {
        memcpy(sc->partial, s + i, len - i);
        sc->npartial = (int)(len - i);
        break;
      }
    }
    if (process_cp(sc, cp, s + i, (size_t)r)) return hg_fail(err, HG_ERR_NOMEM, 0, sc->offset, "out of memory");
    i += (size_t)r;
    /* report as we go, so that one large chunk does not pile up every hit until its end */
    if (i - last_emit >= 4096) {
      emit(sc, 0);
      last_emit = i;
      if (sc->stopped) {
        sc->offset += len - i;
        break;
      }
    }
  }
  emit(sc, 0);
  return HG_OK;
}

/* One source code point from the normalized view: rec[0..nrec) are its records (one with cp 0 when it folds to
 * nothing). The same steps as process_cp, with the decoding and folding already done by the view. */
static int process_view_cp(hg_scanner *sc, const hg_norm_char *rec, size_t nrec) {
  uint8_t bytes[4];
  size_t n = rec->src_end - rec->src_start, bs = rec->src_start, be = rec->src_end;
  if (sc->lanes[LANE_RAW].active) hg_utf8_encode(rec->src_cp, (char *)bytes);
  sc->offset = bs;
  unsigned step = !(rec->src_cp == '\n' && sc->prev_cr); /* CR LF is one line break */
  sc->prev_cr = rec->src_cp == '\r';
  if (rec->flags & HG_NORM_SOLE) {
    uint32_t m = lex_cp_map(sc->lex, rec->src_cp);
    if (!(m & CPM_SLOW)) {
      if (process_folded(sc, rec->cp, m & CPM_SYM_MASK, CPM_CHAR_FLAGS(m), step, bytes, n, bs, be, 1)) return -1;
      sc->offset = be;
      return 0;
    }
  }
  if (rec->flags & HG_NORM_IGNORABLE) {
    if (sc->lanes[LANE_RAW].active && raw_feed(sc, bytes, n, bs, be, 0)) return -1;
  } else {
    for (size_t i = 0; i < nrec; i++)
      if (process_folded(sc, rec[i].cp, lex_fold_sym(sc->lex, rec[i].cp), rec[i].flags & 0x1Fu, 1, bytes, n, bs, be,
                         i == 0))
        return -1;
  }
  sc->offset = be;
  return 0;
}

hg_status hg_scanner_feed_view(hg_scanner *sc, const hg_norm_char *v, size_t n, size_t stream_bytes, hg_error *err) {
  if (sc->failed) return hg_fail(err, HG_ERR_INVALID, 0, sc->offset, "scanner stopped after an error; reset it");
  sc->fed = stream_bytes;
  if (sc->stopped) return HG_OK;
  size_t last_emit = sc->offset;
  for (size_t i = 0; i < n;) {
    const hg_norm_char *r = &v[i];
    if (r->src_cp < 0x80 && (r->flags & HG_NORM_SOLE) && !sc->pending_ends && lanes_at_root(sc)) {
      /* the ASCII fast path of hg_scanner_feed, over records */
      unsigned prev = sc->prev_flags;
      size_t j = i;
      while (j < n && v[j].src_cp < 0x80 && (v[j].flags & HG_NORM_SOLE)) {
        unsigned k = sc->ascii_skip[v[j].src_cp];
        if (!(k & ASCII_SKIP_ALWAYS) && !((k & ASCII_SKIP_IN_WORD) && (prev & HG_CHAR_WORD))) break;
        prev = sc->ascii_flags[v[j].src_cp];
        j++;
      }
      if (j > i) {
        sc->fidx += j - i;
        sc->offset = v[j - 1].src_end;
        sc->prev_flags = sc->raw_prev_flags = prev;
        sc->prev_cr = v[j - 1].src_cp == '\r';
        i = j;
        continue;
      }
    }
    size_t j = i + 1;
    while (j < n && !(v[j].flags & HG_NORM_FIRST))
      j++;
    if (process_view_cp(sc, r, j - i)) return hg_fail(err, HG_ERR_NOMEM, 0, sc->offset, "out of memory");
    i = j;
    if (sc->offset - last_emit >= 4096) {
      emit(sc, 0);
      last_emit = sc->offset;
      if (sc->stopped) return HG_OK;
    }
  }
  emit(sc, 0);
  return HG_OK;
}

hg_status hg_scanner_finish(hg_scanner *sc, hg_error *err) {
  if (sc->failed) return hg_fail(err, HG_ERR_INVALID, 0, sc->offset, "scanner stopped after an error; reset it");
  if (sc->npartial && !sc->stopped) {
    sc->failed = 1;
    return hg_fail(err, HG_ERR_UTF8, 0, sc->offset, "input ends inside a UTF-8 sequence at byte offset %zu",
                   sc->offset);
  }
  emit(sc, 1);
  return HG_OK;
}

size_t hg_scanner_pending_suffix_len(const hg_scanner *sc) {
  size_t bound = live_bound(sc);
  if (sc->ncand > sc->head && sc->cands[sc->head].hit.start < bound) bound = sc->cands[sc->head].hit.start;
  return sc->fed - bound;
}

size_t hg_scanner_offset(const hg_scanner *sc) { return sc->fed; }

hg_status hg_lexicon_scan(hg_lexicon *lex, const char *text, size_t len, hg_hit_fn on_hit, void *ctx, hg_error *err) {
  hg_scanner *sc;
  hg_status st = hg_scanner_new(lex, on_hit, ctx, &sc);
  if (st) return hg_fail(err, st, 0, 0, "out of memory");
  st = hg_scanner_feed(sc, text, len, err);
  if (!st) st = hg_scanner_finish(sc, err);
  hg_scanner_free(sc);
  return st;
}
