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
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HG_SCAN_AVX2 1
#else
#define HG_SCAN_AVX2 0
#endif

#include "base/error.h"
#include "hegui/text.h"
#include "lexicon_internal.h"
#include "text/fold_table.h"
#include "text/utf8_inline.h"

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
  uint32_t raw_last_cp;     /* the code point that led the RAW lane into its state (exact_view's pair filter) */
  int exact_only;           /* only the RAW lane has keys: hg_scanner_feed takes the byte path of exact_chunk */
  int fold_only;            /* only the FOLD lane has keys: code points that fold to one go through fold_run */
  uint8_t xbyte[256];       /* XB_* classes of each byte for exact_chunk */
  uint8_t xrows[3][16];     /* the same as ascii_rows for exact_chunk: may start a key, only at a word start, word */
  uint8_t ascii_skip[128];  /* ASCII_SKIP_* per byte: when it cannot start a match (see skip_dead) */
  uint8_t ascii_flags[128]; /* HG_CHAR_* flags of each ASCII byte */
  /* The same classes as bit sets for a byte shuffle: row[lo nibble] has bit h set when byte h*16+lo is in the set;
   * sets: 0 = may start a key anywhere, 1 = may start one only at the start of a word, 2 = a word character. */
  uint8_t ascii_rows[3][16];
  uint8_t noise_row[16]; /* the same for the bytes that are noise (with lex->astart: ascii_sift) */
  int use_avx2;
  cand *cands; /* sorted candidates live in [head, ncand); popping the front only moves head */
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

/* The next folded code point decides the end rule of waiting candidates. first: it is the first of its source code
 * point's. A RAW candidate covers its last source code point whole, so the later units of that same code point
 * (the second f of ﬀ, the second s of ß) are not after it: its rule waits for the next source code point. */
static void resolve_ends(hg_scanner *sc, uint32_t fsym, unsigned flags, int first) {
  for (size_t i = sc->head; i < sc->ncand && sc->pending_ends;) {
    cand *c = &sc->cands[i];
    if (!c->end_rule || (c->lane == LANE_COLLAPSE && fsym && fsym == c->last_sym && !(flags & HG_CHAR_NOISE)) ||
        (!first && c->lane == LANE_RAW)) {
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
  const exact_view *fx = &sc->lex->fold_auto; /* built whenever the lane has keys */
  if (lane_id == LANE_FOLD) {                 /* the FOLD lane's automaton laid out for the cache (exact.c) */
    uint32_t nx = from ? xa_step(fx, from, ln->ring[(ln->npos - 1) & ln->mask].sym, sym) : xa_root(fx, sym);
    if (no_start && (nx & XA_ROOT)) nx = 0;
    ln->state = nx & XA_ID;
    if (!ln->state) return 0;
    ln->ring[ln->npos++ & ln->mask] = (pos_rec){bs, be, sc->fidx, sc->fidx, sym, sc->prev_flags};
    ln->last_fidx = sc->fidx;
    return (nx & XA_OUT) ? lane_outputs(sc, lane_id) : 0;
  }
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

/* The lane's ring record of the code point that begins at byte start, or NULL when the ring no longer holds it (or
 * no code point begins there). Records are in byte order, so the walk back stops at the first one at or before it. */
static const pos_rec *ring_at(const lane_run *ln, size_t start) {
  for (uint64_t k = ln->npos; k-- > 0 && ln->npos - k <= ln->mask;) {
    const pos_rec *r = &ln->ring[k & ln->mask];
    if (r->bstart <= start) return r->bstart == start ? r : NULL;
  }
  return NULL;
}

/* The RAW lane takes one source code point: one step of the exact automaton (exact.c), which lands where the byte
 * automaton lands after the code point's bytes. no_start refuses the root's transition, as ac_step does. */
static int raw_feed(hg_scanner *sc, uint32_t cp, size_t bs, size_t be, int no_start) {
  lane_run *ln = &sc->lanes[LANE_RAW];
  const lane_view *v = ln->v;
  const exact_view *x = &sc->lex->exact;
  uint32_t nx = ln->state ? xa_step(x, ln->state, sc->raw_last_cp, cp) : xa_root(x, cp); /* cp < 0x110000 */
  if (no_start && (nx & XA_ROOT)) nx = 0;
  ln->state = nx & XA_ID;
  sc->raw_last_cp = cp;
  pos_rec *p = &ln->ring[ln->npos++ & ln->mask];
  *p = (pos_rec){bs, be, 0, 0, 0, sc->raw_prev_flags};
  if (!(nx & XA_OUT)) return 0;
  uint32_t s = x->st[ln->state].bstate;
  if (!v->states[s].out_count) s = v->states[s].olink;
  while (s) {
    const img_state *st = &v->states[s];
    for (uint32_t oi = st->out_off; oi < st->out_off + st->out_count; oi++) {
      const img_out *o = &v->outs[oi];
      size_t start = be - o->len;
      const pos_rec *q = ring_at(ln, start);
      if (!q || !rule_ok(OUT_START_RULE(o->flags), q->prev_flags)) continue;
      if (push_out(sc, LANE_RAW, o, start, be, HG_MODE_EXACT, 0)) return -1;
    }
    s = st->olink;
  }
  return 0;
}

/* The SOUND lane's symbol of a folded code point fc whose fold symbol is fsym and class fl: its Mandarin
 * syllable's when a key uses that syllable, else its fold symbol's (past the syllables); 0 when neither. */
static inline uint32_t sound_sym(const hg_lexicon *lex, uint32_t fc, uint32_t fsym, unsigned fl) {
  unsigned pid = (fl & HG_CHAR_HAN) ? hg_pinyin_id(fc) : 0;
  return pid && lex->soundsym[pid] ? lex->soundsym[pid] : fsym ? lex->hdr->sound_base + fsym : 0;
}

/* One folded code point: fc (needed only by the SOUND lane), its fold symbol and class flags. first says it is
 * the first folded code point of its source code point (the RAW lane runs then); step is 1, or 0 for the LF of a
 * CR LF, which takes no place of its own in the folded stream. */
static inline int process_folded(hg_scanner *sc, uint32_t fc, uint32_t fsym, unsigned fl, unsigned step,
                                 uint32_t src_cp, size_t bs, size_t be, int first) {
  /* this code point decides the end rules of earlier candidates before it can make new ones */
  if (sc->pending_ends) resolve_ends(sc, fsym, fl, first);
  int no_start = (fl & (HG_CHAR_WORD | HG_CHAR_DIGIT)) == HG_CHAR_WORD && (sc->prev_flags & HG_CHAR_WORD);
  if (first && sc->lanes[LANE_RAW].active && raw_feed(sc, src_cp, bs, be, no_start)) return -1;
  sc->fidx += step;
  if (fl & HG_CHAR_NOISE) {
    /* a noise run longer than a lane's gap limit ends its live prefix */
    for (int l = LANE_FOLD; l < LANE_COUNT; l++) {
      lane_run *ln = &sc->lanes[l];
      if (ln->state && sc->fidx - ln->last_fidx > ln->v->info.max_gap) ln->state = 0;
    }
  } else {
    if (sc->lanes[LANE_FOLD].active && lane_feed(sc, LANE_FOLD, fsym, bs, be, no_start)) return -1;
    if (sc->lanes[LANE_COLLAPSE].active && lane_feed(sc, LANE_COLLAPSE, fsym, bs, be, no_start)) return -1;
    if (sc->lanes[LANE_SOUND].active && lane_feed(sc, LANE_SOUND, sound_sym(sc->lex, fc, fsym, fl), bs, be, no_start))
      return -1;
  }
  sc->prev_flags = fl;
  if (first) sc->raw_prev_flags = fl;
  return 0;
}

static int process_cp(hg_scanner *sc, uint32_t cp, size_t n) {
  size_t bs = sc->offset, be = bs + n;
  uint32_t m = lex_cp_map(sc->lex, cp);
  unsigned step = !(cp == '\n' && sc->prev_cr);
  sc->prev_cr = cp == '\r';
  if (!(m & CPM_SLOW)) { /* the common case: one folded code point, symbol and flags in one lookup */
    uint32_t fc = sc->lanes[LANE_SOUND].active ? ((cp + hg_fold_value(cp)) & FT_CP_MASK) : 0;
    if (process_folded(sc, fc, m & CPM_SYM_MASK, CPM_CHAR_FLAGS(m), step, cp, bs, be, 1)) return -1;
  } else {
    uint32_t folded[HG_FOLD_MAX];
    size_t nf = hg_fold(cp, folded);
    if (nf == 0 && sc->lanes[LANE_RAW].active && raw_feed(sc, cp, bs, be, 0)) return -1;
    for (size_t i = 0; i < nf; i++) {
      uint32_t fc = folded[i], v = hg_fold_value(fc);
      if (process_folded(sc, fc, lex_fold_sym(sc->lex, fc), FT_CHAR_FLAGS(v), 1, cp, bs, be, i == 0)) return -1;
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
    size_t d = raw->v->states[sc->lex->exact.st[raw->state].bstate].depth;
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
  memset(sc->ascii_rows, 0, sizeof sc->ascii_rows);
  for (uint32_t b = 0; b < 128; b++) {
    uint8_t bit = (uint8_t)(1u << (b >> 4));
    if (!sc->ascii_skip[b]) sc->ascii_rows[0][b & 15] |= bit;
    if (sc->ascii_skip[b] == ASCII_SKIP_IN_WORD) sc->ascii_rows[1][b & 15] |= bit;
    if (sc->ascii_flags[b] & HG_CHAR_WORD) sc->ascii_rows[2][b & 15] |= bit;
  }
  memset(sc->noise_row, 0, sizeof sc->noise_row);
  for (uint32_t b = 0; b < 128; b++)
    if (lex->astart.path3 && lex->astart.code[b] == AS_NOISE) sc->noise_row[b & 15] |= (uint8_t)(1u << (b >> 4));
#if HG_SCAN_AVX2
  sc->use_avx2 = __builtin_cpu_supports("avx2");
#endif
}

#if HG_SCAN_AVX2
/* 32 bytes at once: bit j of the result is set when s[j] needs a closer look (not ASCII, may start a key, or may
 * start one at a word start and is at one). prev_word: the character before s[0] is a word character. */
__attribute__((target("avx2"))) static uint32_t ascii_candidates_avx2(const uint8_t rows[3][16], const uint8_t *s,
                                                                      int prev_word) {
  __m256i x = _mm256_loadu_si256((const __m256i *)s);
  __m256i nib = _mm256_set1_epi8(0x0F), zero = _mm256_setzero_si256();
  __m256i lo = _mm256_and_si256(x, nib), hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), nib);
  __m256i bitsel = _mm256_setr_epi8(1, 2, 4, 8, 16, 32, 64, (char)128, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64,
                                    (char)128, 0, 0, 0, 0, 0, 0, 0, 0);
  __m256i bit = _mm256_shuffle_epi8(bitsel, hi);
  uint32_t in[3];
  for (int k = 0; k < 3; k++) {
    __m256i row = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)rows[k]));
    __m256i hit = _mm256_and_si256(_mm256_shuffle_epi8(row, lo), bit);
    in[k] = ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(hit, zero));
  }
  uint32_t nonascii = (uint32_t)_mm256_movemask_epi8(x);
  uint32_t prev = (in[2] << 1) | (prev_word ? 1u : 0u);
  return nonascii | in[0] | (in[1] & ~prev);
}
#endif

#if HG_SCAN_AVX2
/* 64 bytes from s: bit j of *noise is set when s[j] is ASCII in the set of row (as ascii_rows), of *high when it is
 * not ASCII. */
__attribute__((target("avx2"))) static void noise_masks_avx2(const uint8_t row16[16], const uint8_t *s, uint64_t *noise,
                                                             uint64_t *high) {
  __m256i nib = _mm256_set1_epi8(0x0F), zero = _mm256_setzero_si256();
  __m256i bitsel = _mm256_setr_epi8(1, 2, 4, 8, 16, 32, 64, (char)128, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64,
                                    (char)128, 0, 0, 0, 0, 0, 0, 0, 0);
  __m256i row = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)row16));
  uint64_t nm = 0, hm = 0;
  for (int h = 0; h < 2; h++) {
    __m256i x = _mm256_loadu_si256((const __m256i *)(s + 32 * h));
    __m256i lo = _mm256_and_si256(x, nib), hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), nib);
    __m256i hit = _mm256_and_si256(_mm256_shuffle_epi8(row, lo), _mm256_shuffle_epi8(bitsel, hi));
    nm |= (uint64_t)(uint32_t)~_mm256_movemask_epi8(_mm256_cmpeq_epi8(hit, zero)) << (32 * h);
    hm |= (uint64_t)(uint32_t)_mm256_movemask_epi8(x) << (32 * h);
  }
  *noise = nm;
  *high = hm;
}
#endif

/* AS_END_* of a deep slot */
static inline unsigned as_deep_ends(unsigned f) {
  return f == AS_DEEP_END ? AS_END_ALL : f == AS_DEEP_END_WORD ? AS_END_WORD : 0;
}

/* The ASCII start filter's first three symbols for every candidate of a 32-byte block at once, without a branch
 * per candidate: cand's bits (positions in s[0..32), with s[0..72) readable) are kept where the filter must look
 * closer (a key may end on the first or second symbol, the three begin a path, or what follows is not plain: not
 * ASCII, a symbol in no key, outside the fast map, six noise bytes or more) and where s[j] is not ASCII; the others
 * are places no key begins (ascii_no_start_at would say so). noise and high: noise_masks_avx2 of s. */
static inline uint32_t ascii_sift(const ascii_start *a, const uint8_t *s, uint32_t cand, uint64_t noise,
                                  uint64_t high) {
  uint32_t keep = cand & (uint32_t)high;
  for (uint32_t c = cand & ~(uint32_t)high; c; c &= c - 1) {
    unsigned k = (unsigned)__builtin_ctz(c);
    uint64_t stop = 1ull << (62 - k); /* s[63]: no further than the masks reach */
    uint64_t after = (~noise >> (k + 1)) | stop;
    unsigned i1 = (unsigned)__builtin_ctzll(after), i2 = (unsigned)__builtin_ctzll((after & (after - 1)) | stop);
    unsigned c0 = a->code[s[k]], c1 = a->code[s[k + 1 + i1] & 0x7F], c2 = a->code[s[k + 1 + i2] & 0x7F];
    unsigned ends = (a->end1[c0] & a->ends_ok[s[k + 1] & 0x7F]) |
                    (a->end2[(c0 << 6 | c1) & 4095] & a->ends_ok[s[k + 2 + i1] & 0x7F]);
    uint32_t i = (c0 << 12 | c1 << 6 | c2) & 0x3FFFF;
    unsigned plain = i2 <= 6 && !((high >> (k + 1)) & ((2ull << i2) - 1)) && c1 - 1u < AS_LAST && c2 - 1u < AS_LAST;
    unsigned look = !plain | (ends != 0);
    if ((a->path3[i >> 6] >> (i & 63)) & 1 && !look) { /* a path: one symbol more, from the deep table */
      uint64_t after3 = (after & (after - 1)) & ((after & (after - 1)) - 1);
      unsigned i3 = (unsigned)__builtin_ctzll(after3 | stop), c3 = a->code[s[k + 1 + i3] & 0x7F];
      uint64_t seq = i >> 12 | (i >> 6 & 63) << 6 | (uint64_t)(i & 63) << 12;
      look = i3 > 7 || ((high >> (k + 1)) & ((2ull << i3) - 1)) || c3 - 1u >= AS_LAST ||
             (as_deep_ends(as_deep_probe(a, seq, 3)) & a->ends_ok[s[k + 2 + i2] & 0x7F]) ||
             as_deep_probe(a, seq | (uint64_t)c3 << 18, 4) != AS_DEEP_NONE;
    }
    keep |= (uint32_t)look << k;
  }
  return keep;
}

static inline int lanes_at_root(const hg_scanner *sc) {
  return !sc->lanes[LANE_RAW].state && !sc->lanes[LANE_FOLD].state && !sc->lanes[LANE_COLLAPSE].state &&
         !sc->lanes[LANE_SOUND].state;
}

/* The FOLD lane's prefix ends after a noise run this long, even if every pair in it were CR LF (which counts once):
 * the start filters pass over shorter runs. */
static inline size_t fold_noise_limit(const hg_lexicon *lex) {
  return 2 * ((size_t)lex->lanes[LANE_FOLD].info.max_gap + 2);
}

/* The ASCII start filter (ascii_start.c) at s[p], an ASCII byte whose fold symbol begins a key of the FOLD lane:
 * 1 when no key of the lane begins there. Reads the symbols from there, passing over noise as the lane does (a run
 * of noise_limit ends its prefix), through the filter's tables: the first three from path3 and the ends of keys of
 * one or two symbols, the next ones through the deep paths, up to AS_DEEP_MAX. A key that ends on the way counts
 * only when the byte after its last symbol keeps its end rule (for deep paths: the word rule, every other rule
 * counting as kept). What is not decided here counts as a possible start: the chunk's end, a byte outside the
 * fast map, a code point not ASCII that is not noise, a path longer than AS_DEEP_MAX. */
/* The walk of the ASCII start filter after the first symbol, one unit of text at a time (as_walk_next), shared by
 * the byte path and the view's: the unit's code k (a symbol's, AS_NOISE, AS_NONE or AS_OPEN) and ok, the AS_END_*
 * rules a key ending right before it keeps. Answers AS_WALK_NO (no key begins), AS_WALK_MAYBE, or AS_WALK_ON. */
enum { AS_WALK_NO, AS_WALK_MAYBE, AS_WALK_ON };
typedef struct as_walk {
  uint64_t seq;  /* the codes so far, six bits each, the first in the low bits */
  unsigned d;    /* symbols so far */
  unsigned ends; /* AS_END_* of the keys ending on the last symbol, until the unit after it */
  size_t noise;  /* noise units since the last symbol */
  size_t noise_limit;
} as_walk;

static inline as_walk as_walk_start(const ascii_start *a, unsigned c0, size_t noise_limit) {
  return (as_walk){c0, 1, a->end1[c0], 0, noise_limit};
}

static inline int as_walk_next(const ascii_start *a, as_walk *w, unsigned k, unsigned ok) {
  if (w->ends & ok) return AS_WALK_MAYBE; /* a key ends on the symbol before, its end rule kept */
  w->ends = 0;                            /* only the character right after a key's end decides its rule */
  if (k == AS_NOISE) return ++w->noise >= w->noise_limit ? AS_WALK_NO : AS_WALK_ON;
  if (k == AS_NONE) return AS_WALK_NO; /* a symbol in no key: the lane falls back to its root */
  if (k == AS_OPEN) return AS_WALK_MAYBE;
  w->noise = 0;
  w->seq |= (uint64_t)k << (6 * w->d++);
  if (w->d == 2) {
    w->ends = a->end2[(w->seq & 63) << 6 | k];
    return AS_WALK_ON;
  }
  if (w->d == 3) {
    uint32_t i = (uint32_t)((w->seq & 63) << 12 | (w->seq >> 6 & 63) << 6 | w->seq >> 12);
    if (!((a->path3[i >> 6] >> (i & 63)) & 1)) return AS_WALK_NO;
  }
  unsigned f = as_deep_probe(a, w->seq, w->d);
  if (f == AS_DEEP_NONE) return AS_WALK_NO;
  if (w->d == AS_DEEP_MAX) return AS_WALK_MAYBE;
  w->ends = as_deep_ends(f);
  return AS_WALK_ON;
}

static inline int ascii_no_start_at(const hg_lexicon *lex, const uint8_t *s, size_t p, size_t len, size_t noise_limit) {
  const ascii_start *a = &lex->astart;
  unsigned c0 = a->code[s[p]];
  if (c0 == AS_OPEN) return 0;
  as_walk w = as_walk_start(a, c0, noise_limit);
  size_t q = p + 1;
  if (len - p >= 3 && (s[p + 1] | s[p + 2]) < 0x80) { /* the usual case: three symbols in a row, without a loop */
    uint8_t b1 = s[p + 1], b2 = s[p + 2];
    unsigned c1 = a->code[b1], c2 = a->code[b2];
    if (c1 - 1u < AS_LAST && c2 - 1u < AS_LAST) {
      if ((w.ends & a->ends_ok[b1]) | (a->end2[c0 << 6 | c1] & a->ends_ok[b2])) return 0;
      uint32_t i = c0 << 12 | c1 << 6 | c2;
      if (!((a->path3[i >> 6] >> (i & 63)) & 1)) return 1;
      w.seq |= c1 << 6 | c2 << 12;
      w.ends = as_deep_ends(as_deep_probe(a, w.seq, 3));
      w.d = 3;
      q = p + 3;
    }
  }
  for (;;) {
    if (q >= len) return 0;
    unsigned k, ok;
    if (s[q] < 0x80) {
      k = a->code[s[q]];
      ok = a->ends_ok[s[q++]];
    } else { /* a noise code point (a curly quote, a dash) is passed over like ASCII noise; anything else is open */
      uint32_t cp;
      int r = hg_utf8_decode_fast(s + q, len - q, &cp);
      uint32_t m = r > 0 ? lex_cp_map(lex, cp) : CPM_SLOW;
      if ((m & CPM_SLOW) || !(CPM_CHAR_FLAGS(m) & HG_CHAR_NOISE)) return 0;
      k = AS_NOISE;
      ok = AS_END_ALL; /* noise keeps every end rule */
      q += (size_t)r;
    }
    int r = as_walk_next(a, &w, k, ok);
    if (r != AS_WALK_ON) return r == AS_WALK_NO;
  }
}

/* ascii_no_start_at over the normalized view's records, v[p] an ASCII code point that folds to itself alone. A
 * code point that folds to nothing is passed over (its neighbours' classes pass over it too); one that is not
 * ASCII and folds to one noise unit is noise; any other one is not decided here. */
static inline int ascii_no_start_at_view(const hg_lexicon *lex, const hg_norm_char *v, size_t p, size_t n,
                                         size_t noise_limit) {
  const ascii_start *a = &lex->astart;
  unsigned c0 = a->code[v[p].src_cp];
  if (c0 == AS_OPEN) return 0;
  as_walk w = as_walk_start(a, c0, noise_limit);
  for (size_t q = p + 1;; q++) {
    if (q >= n) return 0;
    const hg_norm_char *r = &v[q];
    if (r->flags & HG_NORM_IGNORABLE) continue;
    if (!(r->flags & HG_NORM_SOLE)) return 0;
    unsigned k, ok;
    if (r->src_cp < 0x80) {
      k = a->code[r->src_cp];
      ok = a->ends_ok[r->src_cp];
    } else if (r->flags & HG_CHAR_NOISE) {
      k = AS_NOISE;
      ok = AS_END_ALL; /* noise keeps every end rule */
    } else {
      return 0;
    }
    int res = as_walk_next(a, &w, k, ok);
    if (res != AS_WALK_ON) return res == AS_WALK_NO;
  }
}

/* The start filter. With every lane at its root, can a key of the RAW or FOLD lane begin at s[p] (a code point
 * whose map entry is m and whose class is fl)? The text from s[p] on is walked through the filter's paths: the RAW
 * lane's bytes, the FOLD lane's symbols (noise code points between them are passed over: a lane keeps its prefix
 * through a short noise run, and a long one ends it, which is no hit either). When a path leaves the lane's trie
 * before any key ends on it, no key of that lane starts at p. Whatever cannot be decided within the chunk (its
 * end, a code point outside the fast map) counts as a possible start. COLLAPSE and SOUND, rare, ask only their
 * root row. Returns 1 when nothing can start at p. */
static int no_start_at(const hg_scanner *sc, const uint8_t *s, size_t p, size_t len, uint32_t m, unsigned fl,
                       unsigned prev) {
  const hg_lexicon *lex = sc->lex;
  /* a letter inside a word: every key beginning with a letter must begin a word */
  if ((fl & (HG_CHAR_WORD | HG_CHAR_DIGIT)) == HG_CHAR_WORD && (prev & HG_CHAR_WORD)) return 1;
  if (sc->lanes[LANE_RAW].active && lex->lanes[LANE_RAW].root[s[p] + 1u]) {
    uint64_t h = start_seed(LANE_RAW);
    for (size_t d = 0;; d++) {
      if (d == START_RAW_DEPTH || p + d >= len) return 0;
      h = start_hash(h, s[p + d] + 1u);
      unsigned f = start_probe(lex, h);
      if (!(f & START_PATH)) break;
      if (f & START_END) return 0;
    }
  }
  if (fl & HG_CHAR_NOISE) return 1;
  uint32_t sym = m & CPM_SYM_MASK;
  if (sc->lanes[LANE_COLLAPSE].active && sym && lex->lanes[LANE_COLLAPSE].root[sym]) return 0;
  if (sc->lanes[LANE_SOUND].active) { /* its symbol is the syllable of the folded code point */
    uint32_t cp;
    if (hg_utf8_decode_fast(s + p, len - p, &cp) <= 0) return 0;
    uint32_t ss = sound_sym(lex, (cp + hg_fold_value(cp)) & FT_CP_MASK, sym, fl);
    if (ss && lex->lanes[LANE_SOUND].root[ss]) return 0;
  }
  if (!sc->lanes[LANE_FOLD].active || !sym) return 1;
  size_t noise_limit = fold_noise_limit(lex), noise = 0;
  if (s[p] < 0x80 && lex->astart.path3) return ascii_no_start_at(lex, s, p, len, noise_limit);
  /* one symbol: the automaton's root table says whether a key starts with it and whether one ends on it */
  uint32_t r1 = xa_root(&lex->fold_auto, sym);
  if (!r1) return 1;
  if (r1 & XA_OUT) return 0;
  uint64_t h = start_hash(start_seed(LANE_FOLD), sym);
  size_t q = p + (s[p] < 0x80 ? 1 : s[p] < 0xE0 ? 2 : s[p] < 0xF0 ? 3 : 4);
  for (unsigned d = 1; d < START_FOLD_DEPTH;) {
    if (q >= len) return 0;
    uint32_t cp;
    int r = 1;
    if (s[q] < 0x80)
      cp = s[q];
    else if ((r = hg_utf8_decode_fast(s + q, len - q, &cp)) <= 0)
      return 0;
    q += (size_t)r;
    uint32_t m2 = lex_cp_map(lex, cp);
    if (m2 & CPM_SLOW) return 0;
    if (CPM_CHAR_FLAGS(m2) & HG_CHAR_NOISE) {
      if (++noise >= noise_limit) return 1;
      continue;
    }
    uint32_t sym2 = m2 & CPM_SYM_MASK;
    if (!sym2) return 1; /* a character in no key resets the lane */
    if (d == 1 && !xa_hot_pair_possible(&lex->fold_auto, sym, sym2)) return 1; /* two symbols, from the cache */
    h = start_hash(h, sym2);
    unsigned f = start_probe(lex, h);
    if (!(f & START_PATH)) return 1;
    if (f & START_END) return 0;
    d++;
    noise = 0;
  }
  return 0;
}

/* The code point map entry of cp with its root transition in the high half (exact_view.cpx). */
static inline uint64_t fold_map(const hg_lexicon *lex, uint32_t cp) {
  return lex->fold_auto.cpx[((uint32_t)lex->cp1[cp >> 7] << 7) | (cp & 127u)];
}

/* Skips the code points from s[i] on at which no key can start, while every lane stays at its root; returns the
 * bytes skipped. Skipping them changes nothing but counters and the class of the previous character: a lane that
 * would have stepped into a path that leads to no key would have fallen back to what it finds from the next
 * position on, which is where scanning resumes. A CR LF among them counts twice in fidx: with every lane at its
 * root no live match spans them, and only differences matter. */
static size_t skip_dead(hg_scanner *sc, const uint8_t *s, size_t i, size_t len) {
  const hg_lexicon *lex = sc->lex;
  size_t p = i, n = 0;
  unsigned prev = sc->prev_flags;
  uint32_t cp = 0, last_cp = 0;
  /* With the FOLD lane alone, the ASCII filter is the whole start filter for ASCII, asked inline */
  int quick = sc->fold_only && lex->astart.path3;
  size_t noise_limit = fold_noise_limit(lex);
  while (p < len) {
    int r = 1;
    uint32_t m;
    unsigned fl;
#if HG_SCAN_AVX2
    if (sc->use_avx2 && len - p >= 32 && s[p] < 0x80) {
      /* the candidates of 32 bytes, each ASCII one asked in turn; the first that may start a key (or is not
       * ASCII) ends the block */
      uint32_t cand = ascii_candidates_avx2(sc->ascii_rows, s + p, (prev & HG_CHAR_WORD) != 0);
      if (quick && len - p >= 72) {
        uint64_t noise, high;
        noise_masks_avx2(sc->noise_row, s + p, &noise, &high);
        cand = ascii_sift(&lex->astart, s + p, cand, noise, high);
      }
      while (cand) {
        unsigned k = (unsigned)__builtin_ctz(cand);
        uint8_t b = s[p + k];
        if (b >= 0x80) break;
        uint32_t mk = lex_cp_map(lex, b);
        if (quick ? !ascii_no_start_at(lex, s, p + k, len, noise_limit)
                  : (mk & CPM_SLOW) || !no_start_at(sc, s, p + k, len, mk, sc->ascii_flags[b],
                                                    k ? sc->ascii_flags[s[p + k - 1]] : prev))
          break;
        cand &= cand - 1;
      }
      unsigned k = cand ? (unsigned)__builtin_ctz(cand) : 32;
      if (k) {
        last_cp = s[p + k - 1];
        prev = sc->ascii_flags[last_cp];
        p += k;
        n += k;
      }
      if (cand && s[p] < 0x80) break; /* asked already: a key may start here */
      if (k) continue;
    }
#endif
    if (s[p] < 0x80) {
      cp = s[p];
      unsigned k = sc->ascii_skip[cp];
      fl = sc->ascii_flags[cp];
      if (!((k & ASCII_SKIP_ALWAYS) || ((k & ASCII_SKIP_IN_WORD) && (prev & HG_CHAR_WORD)))) {
        m = lex_cp_map(lex, cp);
        if (quick ? !ascii_no_start_at(lex, s, p, len, noise_limit)
                  : (m & CPM_SLOW) || !no_start_at(sc, s, p, len, m, fl, prev))
          break;
      }
    } else if (sc->fold_only) {
      /* fold_run steps the automaton faster than the filter would skip, but noise (the curly quotes and dashes of
       * English text) and what begins no key are passed here, so that the ASCII after them is skipped on */
      if ((r = hg_utf8_decode_fast(s + p, len - p, &cp)) <= 0) break;
      uint64_t mx = fold_map(lex, cp);
      fl = CPM_CHAR_FLAGS((uint32_t)mx);
      if (((uint32_t)mx & CPM_SLOW) || !((fl & HG_CHAR_NOISE) || !(mx >> 32))) break;
    } else {
      if ((r = hg_utf8_decode_fast(s + p, len - p, &cp)) <= 0) break;
      m = lex_cp_map(lex, cp);
      fl = CPM_CHAR_FLAGS(m);
      if ((m & CPM_SLOW) || !no_start_at(sc, s, p, len, m, fl, prev)) break;
    }
    prev = fl;
    last_cp = cp;
    p += (size_t)r;
    n++;
  }
  if (p > i) {
    sc->fidx += n;
    sc->offset += p - i;
    sc->prev_flags = sc->raw_prev_flags = prev;
    sc->prev_cr = last_cp == '\r';
  }
  return p - i;
}

/* ---- the byte path for lexicons whose keys are all exact ----
 *
 * When only the RAW lane has keys, nothing needs decoding into classes or folding: exact_chunk steps the exact
 * automaton over the code points of the chunk and looks at the text around a match only when a key's rules ask
 * for it. The classes its rules need are found from the bytes when asked: the character before a position is the
 * last one before it that does not fold to nothing (as raw_prev_flags and prev_flags are in process_folded), the
 * one after an end the first such one after it. What lies before the chunk is summed up in the scanner:
 * raw_prev_flags and prev_flags (the last such character before the chunk, first and last folded unit), and the
 * RAW ring, which holds, for every code point of the live prefix at the end of a chunk, its start and the class
 * before it. An end rule that the chunk cannot decide waits as a candidate with its rule, as in process_folded. */
enum { XB_NO_START = 1, XB_NS = 2, XB_WORD = 4 };

static void init_exact_bytes(hg_scanner *sc) {
  const exact_view *x = &sc->lex->exact;
  memset(sc->xbyte, 0, sizeof sc->xbyte);
  if (!x->states) return;
  for (uint32_t b = 0; b < 128; b++) {
    uint32_t r = xa_root(x, b), m = lex_cp_map(sc->lex, b);
    if (!r) sc->xbyte[b] |= XB_NO_START;
    if (r & XA_NS) sc->xbyte[b] |= XB_NS;
    if (!(m & CPM_SLOW) && (CPM_CHAR_FLAGS(m) & HG_CHAR_WORD)) sc->xbyte[b] |= XB_WORD;
  }
  memset(sc->xrows, 0, sizeof sc->xrows);
  for (uint32_t b = 0; b < 128; b++) {
    uint8_t bit = (uint8_t)(1u << (b >> 4)), c = sc->xbyte[b];
    if (!(c & (XB_NO_START | XB_NS))) sc->xrows[0][b & 15] |= bit;
    if ((c & (XB_NO_START | XB_NS)) == XB_NS) sc->xrows[1][b & 15] |= bit;
    if (c & XB_WORD) sc->xrows[2][b & 15] |= bit;
  }
}

/* The RAW half of the start filter (no_start_at) at s[p], with the RAW lane at its root: 1 when no key starts at p.
 * What the chunk cannot decide counts as a possible start. */
static inline int exact_no_start_at(const hg_lexicon *lex, const uint8_t *s, size_t p, size_t len) {
  if (!lex->lanes[LANE_RAW].root[s[p] + 1u]) return 1;
  if (p + 1 < len) { /* the first two bytes, from a table that stays in the cache */
    uint32_t bit = (uint32_t)s[p] << 8 | s[p + 1];
    if (!((lex->exact.bigram[bit >> 6] >> (bit & 63)) & 1)) return 1;
  }
  uint64_t h = start_seed(LANE_RAW);
  for (size_t d = 0;; d++) {
    if (d == START_RAW_DEPTH || p + d >= len) return 0;
    h = start_hash(h, s[p + d] + 1u);
    unsigned f = start_probe(lex, h);
    if (!(f & START_PATH)) return 1;
    if (f & START_END) return 0;
  }
}

/* From s[p] on, with the RAW lane at its root: the first position at which a key may start that is ASCII, or the
 * first one that is not ASCII. Skipping a position there changes nothing: the automaton would have stepped into a
 * path that ends in no key and fallen back to what it finds from the next position on (see skip_dead). */
static size_t exact_skip_ascii(const hg_scanner *sc, const uint8_t *s, size_t p, size_t len) {
  const uint8_t *xb = sc->xbyte;
  while (p < len) {
#if HG_SCAN_AVX2
    if (sc->use_avx2 && len - p >= 32) {
      uint32_t cand = ascii_candidates_avx2(sc->xrows, s + p, p && (xb[s[p - 1]] & XB_WORD));
      while (cand) {
        size_t k = p + (unsigned)__builtin_ctz(cand);
        if (s[k] >= 0x80 || !exact_no_start_at(sc->lex, s, k, len)) return k;
        cand &= cand - 1;
      }
      p += 32;
      continue;
    }
#endif
    uint8_t b = s[p];
    if (b >= 0x80) return p;
    if (!((xb[b] & XB_NO_START) || ((xb[b] & XB_NS) && p && (xb[s[p - 1]] & XB_WORD))) &&
        !exact_no_start_at(sc->lex, s, p, len))
      return p;
    p++;
  }
  return p;
}

/* One code point of valid UTF-8 that has been read already: its length. */
static inline size_t known_cp(const uint8_t *s, size_t len, uint32_t *cp) {
  if (s[0] < 0x80) {
    *cp = s[0];
    return 1;
  }
  int r = hg_utf8_decode_fast(s, len, cp);
  return r > 0 ? (size_t)r : 1;
}

/* Classes of the last character before s[pos] that folds to something, looking back no further than s[0];
 * returns 0 when there is none in the chunk. */
static int exact_flags_before(const hg_scanner *sc, const uint8_t *s, size_t pos, unsigned *first, unsigned *last) {
  while (pos > 0) {
    size_t q = pos - 1;
    while (q > 0 && (s[q] & 0xC0) == 0x80 && pos - q < 4)
      q--;
    uint32_t cp;
    known_cp(s + q, pos - q, &cp);
    if (hg_exact_cp_flags(sc->lex, cp, first, last)) return 1;
    pos = q;
  }
  return 0;
}

/* The class of the first unit of the character before s[pos] (start rules), or of its last (no_start). */
static unsigned exact_prev_first(const hg_scanner *sc, const uint8_t *s, size_t pos) {
  unsigned f, l;
  return exact_flags_before(sc, s, pos, &f, &l) ? f : sc->raw_prev_flags;
}
static unsigned exact_prev_last(const hg_scanner *sc, const uint8_t *s, size_t pos) {
  unsigned f, l;
  return exact_flags_before(sc, s, pos, &f, &l) ? l : sc->prev_flags;
}

/* The class of the first character from s[pos] on that folds to something (it decides end rules); 0 when the chunk
 * ends first (or the text is not valid there, which the scan reports itself). */
static int exact_flags_after(const hg_scanner *sc, const uint8_t *s, size_t pos, size_t len, unsigned *first) {
  while (pos < len) {
    uint32_t cp;
    int r = s[pos] < 0x80 ? (cp = s[pos], 1) : hg_utf8_decode_fast(s + pos, len - pos, &cp);
    if (r <= 0) return 0;
    unsigned l;
    if (hg_exact_cp_flags(sc->lex, cp, first, &l)) return 1;
    pos += (size_t)r;
  }
  return 0;
}

/* The outputs of the RAW lane's state after s[..end) (base: the stream offset of s[0]), as raw_feed makes them. */
static int exact_outputs(hg_scanner *sc, const uint8_t *s, size_t end, size_t len, size_t base) {
  lane_run *ln = &sc->lanes[LANE_RAW];
  const lane_view *v = ln->v;
  size_t be = base + end;
  uint32_t st = sc->lex->exact.st[ln->state].bstate;
  if (!v->states[st].out_count) st = v->states[st].olink;
  while (st) {
    const img_state *bs = &v->states[st];
    for (uint32_t oi = bs->out_off; oi < bs->out_off + bs->out_count; oi++) {
      const img_out *o = &v->outs[oi];
      if (o->len > be) continue;
      size_t start = be - o->len;
      unsigned rule = OUT_START_RULE(o->flags), pf = 0;
      if (start >= base) {
        if ((s[start - base] & 0xC0) == 0x80) continue; /* not a code point's start (a crafted image's key) */
        if (rule) pf = exact_prev_first(sc, s, start - base);
      } else { /* begun in an earlier chunk: the ring has the code points of the live prefix */
        const pos_rec *q = ring_at(ln, start);
        if (!q) continue;
        pf = q->prev_flags;
      }
      if (!rule_ok(rule, pf)) continue;
      unsigned end_rule = OUT_END_RULE(o->flags), nf;
      if (end_rule && exact_flags_after(sc, s, end, len, &nf)) {
        if (!rule_ok(end_rule, nf)) continue;
        end_rule = 0;
      }
      cand c = {{o->entry, HG_MODE_EXACT, start, be}, (uint8_t)end_rule, (o->flags & OUT_ALLOW) != 0, LANE_RAW, 0};
      if (add_cand(sc, &c)) return -1;
    }
    st = bs->olink;
  }
  return 0;
}

/* After a chunk that ends (complete code points) at s[end]: the ring gets the code points of the live prefix that
 * lie in this chunk (those before it are there from earlier chunks), and the classes before the next chunk. */
static void exact_chunk_end(hg_scanner *sc, const uint8_t *s, size_t end, size_t base) {
  lane_run *ln = &sc->lanes[LANE_RAW];
  if (ln->state) {
    size_t d = ln->v->states[sc->lex->exact.st[ln->state].bstate].depth, from = base + end - d;
    size_t q = from > base ? from - base : 0;
    unsigned pf = exact_prev_first(sc, s, q);
    while (q < end) {
      uint32_t cp;
      size_t r = known_cp(s + q, end - q, &cp);
      ln->ring[ln->npos++ & ln->mask] = (pos_rec){base + q, base + q + r, 0, 0, 0, pf};
      unsigned f, l;
      if (hg_exact_cp_flags(sc->lex, cp, &f, &l)) pf = f;
      q += r;
    }
  }
  unsigned f, l;
  if (exact_flags_before(sc, s, end, &f, &l)) {
    sc->raw_prev_flags = f;
    sc->prev_flags = l;
  }
}

/* Scans s[0..len), which starts at a code point boundary, with the exact automaton. A sequence cut by the end of
 * the chunk is kept in partial. Returns 0, -1 when out of memory, -2 at invalid UTF-8 (sc->offset at it). */
static int exact_chunk(hg_scanner *sc, const uint8_t *s, size_t len) {
  const exact_view *x = &sc->lex->exact;
  lane_run *ln = &sc->lanes[LANE_RAW];
  size_t base = sc->offset, p = 0, last_emit = 0;
  uint32_t st = ln->state, last = sc->raw_last_cp;
  int rc = 0;
  if (sc->pending_ends) {
    unsigned f;
    if (exact_flags_after(sc, s, 0, len, &f)) resolve_ends(sc, 0, f, 1);
  }
  while (p < len) {
    uint32_t cp;
    size_t r;
    uint8_t b = s[p];
    if (b < 0x80) {
      if (!st) { /* ASCII at which no key starts, passed over at once */
        size_t q = exact_skip_ascii(sc, s, p, len);
        if (q != p) {
          p = q;
          if (p == len) break;
          continue;
        }
      }
      cp = b;
      r = 1;
    } else {
      int k = hg_utf8_decode_fast(s + p, len - p, &cp);
      if (k < 0) {
        rc = -2;
        break;
      }
      if (k == 0) {
        memcpy(sc->partial, s + p, len - p);
        sc->npartial = (int)(len - p);
        break;
      }
      r = (size_t)k;
    }
    uint32_t nx = xa_step(x, st, last, cp);
    if ((nx & XA_NS) && (exact_prev_last(sc, s, p) & HG_CHAR_WORD)) nx = 0;
    st = nx & XA_ID;
    last = cp;
    p += r;
    if (nx & XA_OUT) {
      ln->state = st;
      if (exact_outputs(sc, s, p, len, base)) {
        rc = -1;
        break;
      }
    }
    if (p - last_emit >= 4096) { /* report as we go, as hg_scanner_feed does */
      ln->state = st;
      sc->offset = base + p;
      emit(sc, 0);
      last_emit = p;
      if (sc->stopped) {
        sc->offset = base + len;
        sc->raw_last_cp = last;
        return 0;
      }
    }
  }
  ln->state = st;
  sc->raw_last_cp = last;
  sc->offset = base + p;
  if (!rc) exact_chunk_end(sc, s, p, base);
  return rc;
}

/* ---- the path for lexicons whose keys are all in the FOLD lane ----
 *
 * fold_run (bytes) and fold_run_view (the normalized view's records) do what process_cp and process_folded do, for
 * as long as each code point folds to exactly one code point (and, for bytes, is valid and whole in the chunk):
 * with one lane there is nothing to choose per step, and the lane's state, its last symbol, the classes and the
 * counters stay in registers (fold_regs, loaded and stored once a run). The step is the FOLD lane's automaton
 * (lex->fold_auto, exact.c), taken by fold_one for both. A run stops at an ASCII character while the lane is at its
 * root and no end rule waits (skip_dead and skip_dead_view pass those many at a time), at anything the general path
 * must see, and after about max bytes, so that the caller reports hits as it goes. */
typedef struct fold_regs {
  uint32_t st, last; /* the lane's state, and the symbol that led into it */
  unsigned prev;     /* class of the previous folded code point */
  int prev_cr;
  uint64_t fidx;
} fold_regs;

static inline fold_regs fold_load(const hg_scanner *sc) {
  const lane_run *ln = &sc->lanes[LANE_FOLD];
  return (fold_regs){ln->state, ln->state ? ln->ring[(ln->npos - 1) & ln->mask].sym : 0, sc->prev_flags, sc->prev_cr,
                     sc->fidx};
}

static inline void fold_store(hg_scanner *sc, const fold_regs *g) {
  sc->lanes[LANE_FOLD].state = g->st;
  sc->fidx = g->fidx;
  sc->prev_cr = g->prev_cr;
  sc->prev_flags = sc->raw_prev_flags = g->prev;
}

/* One source code point cp at bytes [bs, be) whose map entry mx is not CPM_SLOW: process_folded for the FOLD lane
 * alone. Returns -1 when out of memory. */
static inline int fold_one(hg_scanner *sc, fold_regs *g, uint32_t cp, uint64_t mx, size_t bs, size_t be) {
  lane_run *ln = &sc->lanes[LANE_FOLD];
  uint32_t m = (uint32_t)mx, fsym = m & CPM_SYM_MASK;
  unsigned fl = CPM_CHAR_FLAGS(m);
  if (sc->pending_ends) resolve_ends(sc, fsym, fl, 1);
  g->fidx += !(cp == '\n' && g->prev_cr);
  g->prev_cr = cp == '\r';
  if (fl & HG_CHAR_NOISE) {
    if (g->st && g->fidx - ln->last_fidx > ln->v->info.max_gap) g->st = 0; /* a noise run too long for the lane */
  } else if (!fsym) {
    g->st = 0;
  } else {
    uint32_t nx =
        g->st ? xa_step_root(&sc->lex->fold_auto, g->st, g->last, fsym, (uint32_t)(mx >> 32)) : (uint32_t)(mx >> 32);
    /* a letter inside a word begins no key */
    if ((nx & XA_ROOT) && (fl & (HG_CHAR_WORD | HG_CHAR_DIGIT)) == HG_CHAR_WORD && (g->prev & HG_CHAR_WORD)) nx = 0;
    g->st = nx & XA_ID;
    if (g->st) {
      ln->ring[ln->npos++ & ln->mask] = (pos_rec){bs, be, g->fidx, g->fidx, fsym, g->prev};
      ln->last_fidx = g->fidx;
      g->last = fsym;
      if (nx & XA_OUT) {
        ln->state = g->st;
        if (lane_outputs(sc, LANE_FOLD)) return -1;
      }
    }
  }
  g->prev = fl;
  return 0;
}

/* Over bytes s[i..len) (s[i] at sc->offset): returns the index of the first byte not processed. */
static size_t fold_run(hg_scanner *sc, const uint8_t *s, size_t i, size_t len, size_t max) {
  fold_regs g = fold_load(sc);
  size_t p = i, end = len - i > max ? i + max : len;
  while (p < end) {
    uint32_t cp;
    size_t r = 1;
    if (s[p] < 0x80) {
      if (!g.st && !sc->pending_ends) break;
      cp = s[p];
    } else {
      int k = hg_utf8_decode_fast(s + p, len - p, &cp);
      if (k <= 0) break; /* cut or invalid: the general path keeps or reports it */
      r = (size_t)k;
    }
    uint64_t mx = fold_map(sc->lex, cp);
    if ((uint32_t)mx & CPM_SLOW) break;
    size_t bs = sc->offset + (p - i);
    if (fold_one(sc, &g, cp, mx, bs, bs + r)) {
      sc->failed = 1;
      break;
    }
    p += r;
  }
  fold_store(sc, &g);
  sc->offset += p - i;
  return p;
}

/* Over records v[i..n): returns the index of the first record not processed. */
static size_t fold_run_view(hg_scanner *sc, const hg_norm_char *v, size_t i, size_t n, size_t max) {
  fold_regs g = fold_load(sc);
  size_t p = i, start = sc->offset;
  for (; p < n && sc->offset - start < max; p++) {
    const hg_norm_char *r = &v[p];
    if (!(r->flags & HG_NORM_SOLE) || (r->src_cp < 0x80 && !g.st && !sc->pending_ends)) break;
    uint64_t mx = fold_map(sc->lex, r->src_cp);
    if ((uint32_t)mx & CPM_SLOW) break;
    if (fold_one(sc, &g, r->src_cp, mx, r->src_start, r->src_end)) {
      sc->failed = 1;
      break;
    }
    sc->offset = r->src_end;
  }
  fold_store(sc, &g);
  return p;
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
  sc->exact_only = sc->lanes[LANE_RAW].active && !sc->lanes[LANE_FOLD].active && !sc->lanes[LANE_COLLAPSE].active &&
                   !sc->lanes[LANE_SOUND].active && lex->exact.states;
  sc->fold_only = sc->lanes[LANE_FOLD].active && !sc->lanes[LANE_RAW].active && !sc->lanes[LANE_COLLAPSE].active &&
                  !sc->lanes[LANE_SOUND].active;
  init_exact_bytes(sc);
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
  sc->raw_last_cp = 0;
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
  if (sc->exact_only) {
    int rc = 0;
    while (sc->npartial && i < len && !rc) { /* finish a sequence cut by the previous chunk */
      sc->partial[sc->npartial++] = s[i++];
      int r = hg_utf8_decode(sc->partial, (size_t)sc->npartial, &cp);
      if (r < 0) return bad_utf8(sc, sc->offset, err);
      if (r > 0) {
        uint8_t seq[4];
        memcpy(seq, sc->partial, 4);
        sc->npartial = 0;
        rc = exact_chunk(sc, seq, (size_t)r);
      }
    }
    if (!rc && i < len && !sc->stopped) rc = exact_chunk(sc, s + i, len - i);
    if (rc == -1) return hg_fail(err, HG_ERR_NOMEM, 0, sc->offset, "out of memory");
    if (rc == -2) return bad_utf8(sc, sc->offset, err);
    emit(sc, 0);
    return HG_OK;
  }
  while (sc->npartial && i < len) { /* finish a sequence cut by the previous chunk */
    sc->partial[sc->npartial++] = s[i++];
    int r = hg_utf8_decode(sc->partial, (size_t)sc->npartial, &cp);
    if (r < 0) return bad_utf8(sc, sc->offset, err);
    if (r > 0) {
      sc->npartial = 0;
      if (process_cp(sc, cp, (size_t)r)) return hg_fail(err, HG_ERR_NOMEM, 0, sc->offset, "out of memory");
    }
  }
  while (i < len) {
    int r;
    if (!sc->pending_ends && lanes_at_root(sc)) {
      size_t skipped = skip_dead(sc, s, i, len);
      i += skipped;
      if (i >= len) break;
      if (skipped) continue;
    }
    size_t j = sc->fold_only ? fold_run(sc, s, i, len, 4096) : i; /* a run of code points at once */
    if (sc->failed) return hg_fail(err, HG_ERR_NOMEM, 0, sc->offset, "out of memory");
    if (j > i) {
      i = j;
    } else { /* one code point through the general path */
      if (s[i] < 0x80) {
        cp = s[i];
        r = 1;
      } else {
        r = hg_utf8_decode_fast(s + i, len - i, &cp);
        if (r < 0) return bad_utf8(sc, sc->offset, err);
        if (r == 0) {
          memcpy(sc->partial, s + i, len - i);
          sc->npartial = (int)(len - i);
          break;
        }
      }
      if (process_cp(sc, cp, (size_t)r)) return hg_fail(err, HG_ERR_NOMEM, 0, sc->offset, "out of memory");
      i += (size_t)r;
    }
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
  size_t bs = rec->src_start, be = rec->src_end;
  sc->offset = bs;
  unsigned step = !(rec->src_cp == '\n' && sc->prev_cr); /* CR LF is one line break */
  sc->prev_cr = rec->src_cp == '\r';
  if (rec->flags & HG_NORM_SOLE) {
    uint32_t m = lex_cp_map(sc->lex, rec->src_cp);
    if (!(m & CPM_SLOW)) {
      if (process_folded(sc, rec->cp, m & CPM_SYM_MASK, CPM_CHAR_FLAGS(m), step, rec->src_cp, bs, be, 1)) return -1;
      sc->offset = be;
      return 0;
    }
  }
  if (rec->flags & HG_NORM_IGNORABLE) {
    if (sc->lanes[LANE_RAW].active && raw_feed(sc, rec->src_cp, bs, be, 0)) return -1;
  } else {
    for (size_t i = 0; i < nrec; i++)
      if (process_folded(sc, rec[i].cp, lex_fold_sym(sc->lex, rec[i].cp), rec[i].flags & 0x1Fu, 1, rec->src_cp, bs, be,
                         i == 0))
        return -1;
  }
  sc->offset = be;
  return 0;
}

/* The start filter over the normalized view: no_start_at with the records' folded units instead of bytes. v[p] is
 * the record of a source code point that folds to exactly one code point (HG_NORM_SOLE), whose fold symbol is sym
 * and class fl. The RAW lane's path is walked over the source code points' bytes (re-encoded from src_cp, one per
 * HG_NORM_FIRST record), the FOLD lane's over the folded units as the lane is fed them: noise passed over, an
 * ignorable code point (which the skeleton lanes never see) passed over without counting, the units of an
 * expansion each in turn. What cannot be decided within the records given (their end) counts as a possible start.
 * Returns 1 when nothing can start at p. */
static int no_start_at_view(const hg_scanner *sc, const hg_norm_char *v, size_t p, size_t n, uint32_t sym, unsigned fl,
                            unsigned prev) {
  const hg_lexicon *lex = sc->lex;
  if ((fl & (HG_CHAR_WORD | HG_CHAR_DIGIT)) == HG_CHAR_WORD && (prev & HG_CHAR_WORD)) return 1;
  uint32_t c0 = v[p].src_cp; /* the first byte of its UTF-8, found without encoding it */
  uint8_t lead = (uint8_t)(c0 < 0x80      ? c0
                           : c0 < 0x800   ? 0xC0 | c0 >> 6
                           : c0 < 0x10000 ? 0xE0 | c0 >> 12
                                          : 0xF0 | c0 >> 18);
  if (sc->lanes[LANE_RAW].active && lex->lanes[LANE_RAW].root[lead + 1u]) {
    uint8_t b[4];
    size_t nb = c0 < 0x80 ? (b[0] = (uint8_t)c0, 1) : hg_utf8_encode(c0, (char *)b);
    uint64_t h = start_seed(LANE_RAW);
    size_t q = p, k = 0;
    for (unsigned d = 0;; d++) {
      if (k == nb) { /* the next source code point's bytes */
        while (++q < n && !(v[q].flags & HG_NORM_FIRST))
          ;
        if (q >= n) return 0;
        nb = v[q].src_cp < 0x80 ? (b[0] = (uint8_t)v[q].src_cp, 1) : hg_utf8_encode(v[q].src_cp, (char *)b);
        k = 0;
      }
      if (d == START_RAW_DEPTH) return 0;
      h = start_hash(h, b[k++] + 1u);
      unsigned f = start_probe(lex, h);
      if (!(f & START_PATH)) break;
      if (f & START_END) return 0;
    }
  }
  if (fl & HG_CHAR_NOISE) return 1;
  if (sc->lanes[LANE_COLLAPSE].active && sym && lex->lanes[LANE_COLLAPSE].root[sym]) return 0;
  if (sc->lanes[LANE_SOUND].active) { /* its symbol is the syllable of the folded code point */
    uint32_t ss = sound_sym(lex, v[p].cp, sym, fl);
    if (ss && lex->lanes[LANE_SOUND].root[ss]) return 0;
  }
  if (!sc->lanes[LANE_FOLD].active || !sym) return 1;
  size_t noise_limit = fold_noise_limit(lex), noise = 0;
  if (c0 < 0x80 && (v[p].flags & HG_NORM_SOLE) && lex->astart.path3)
    return ascii_no_start_at_view(lex, v, p, n, noise_limit);
  /* one symbol: the automaton's root table says whether a key starts with it and whether one ends on it */
  uint32_t r1 = xa_root(&lex->fold_auto, sym);
  if (!r1) return 1;
  if (r1 & XA_OUT) return 0;
  uint64_t h = start_hash(start_seed(LANE_FOLD), sym);
  size_t q = p + 1;
  for (unsigned d = 1; d < START_FOLD_DEPTH;) {
    if (q >= n) return 0;
    const hg_norm_char *r = &v[q++];
    if (r->flags & HG_NORM_IGNORABLE) continue;
    if (r->flags & HG_CHAR_NOISE) {
      if (++noise >= noise_limit) return 1;
      continue;
    }
    uint32_t sym2 = lex_fold_sym(lex, r->cp);
    if (!sym2) return 1; /* a character in no key resets the lane */
    if (d == 1 && !xa_hot_pair_possible(&lex->fold_auto, sym, sym2)) return 1; /* two symbols, from the cache */
    h = start_hash(h, sym2);
    unsigned f = start_probe(lex, h);
    if (!(f & START_PATH)) return 1;
    if (f & START_END) return 0;
    d++;
    noise = 0;
  }
  return 0;
}

/* skip_dead over records: skips the source code points from v[i] on at which no key can start, while every lane
 * stays at its root; returns the index of the first record not skipped. Only code points that fold to exactly one
 * code point are skipped (the others go through process_view_cp), so each skipped record is one step of fidx, as
 * in skip_dead. ASCII that can start no key (or only at a word start, inside a word) is passed by the per-byte
 * classes without asking the filter. */
static size_t skip_dead_view(hg_scanner *sc, const hg_norm_char *v, size_t i, size_t n) {
  const hg_lexicon *lex = sc->lex;
  unsigned prev = sc->prev_flags;
  size_t p = i;
  /* with the FOLD lane alone, the ASCII filter is the whole start filter for ASCII, as in skip_dead */
  int quick = sc->fold_only && lex->astart.path3;
  size_t noise_limit = fold_noise_limit(lex);
  for (; p < n; p++) {
    const hg_norm_char *r = &v[p];
    if (!(r->flags & HG_NORM_SOLE)) break;
    unsigned fl = r->flags & 0x1Fu;
    if (r->src_cp < 0x80) {
      unsigned k = sc->ascii_skip[r->src_cp];
      if (!((k & ASCII_SKIP_ALWAYS) || ((k & ASCII_SKIP_IN_WORD) && (prev & HG_CHAR_WORD))) &&
          (quick ? !ascii_no_start_at_view(lex, v, p, n, noise_limit)
                 : !no_start_at_view(sc, v, p, n, lex_fold_sym(lex, r->cp), fl, prev)))
        break;
    } else if (sc->fold_only || !no_start_at_view(sc, v, p, n, lex_fold_sym(lex, r->cp), fl, prev)) {
      break; /* (all-folded lexicons: fold_run_view steps the automaton faster than the filter would skip) */
    }
    prev = fl;
  }
  if (p > i) {
    sc->fidx += p - i;
    sc->offset = v[p - 1].src_end;
    sc->prev_flags = sc->raw_prev_flags = prev;
    sc->prev_cr = v[p - 1].src_cp == '\r';
  }
  return p;
}

hg_status hg_scanner_feed_view(hg_scanner *sc, const hg_norm_char *v, size_t n, size_t stream_bytes, hg_error *err) {
  if (sc->failed) return hg_fail(err, HG_ERR_INVALID, 0, sc->offset, "scanner stopped after an error; reset it");
  sc->fed = stream_bytes;
  if (sc->stopped) return HG_OK;
  size_t last_emit = sc->offset;
  for (size_t i = 0; i < n;) {
    if (!sc->pending_ends && lanes_at_root(sc)) {
      size_t j = skip_dead_view(sc, v, i, n);
      if (j > i) {
        i = j;
        continue;
      }
    }
    size_t j = sc->fold_only ? fold_run_view(sc, v, i, n, 4096) : i; /* a run of records at once */
    if (sc->failed) return hg_fail(err, HG_ERR_NOMEM, 0, sc->offset, "out of memory");
    if (j == i) { /* one source code point through the general path */
      const hg_norm_char *r = &v[i];
      for (j = i + 1; j < n && !(v[j].flags & HG_NORM_FIRST); j++)
        ;
      if (process_view_cp(sc, r, j - i)) return hg_fail(err, HG_ERR_NOMEM, 0, sc->offset, "out of memory");
    }
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
