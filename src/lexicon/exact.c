/* exact.c — the exact automaton (lexicon_internal.h, exact_view): the RAW lane's byte trie stepped one code point
 * at a time, built when an image is loaded.
 *
 * Why it finds what the byte automaton finds: an exact key is the bytes of a valid UTF-8 entry, so it begins with a
 * lead byte and ends with the last byte of a sequence. In valid text a lead byte begins a code point, so a key can
 * only match from a code point boundary to a code point boundary, and the longest suffix of the text read so far
 * that is a prefix of a key (the byte automaton's state after each whole code point) is made of whole code points.
 * Those states, and only those, are kept here; their failure links (longest proper suffixes in the trie) are such
 * states too. Depths, outputs and output links stay those of the byte states, so candidates are made exactly as
 * the byte lane makes them. For an image whose RAW keys are not valid UTF-8 (only a crafted one) paths that are
 * not whole sequences are left out: no valid text could follow them anyway. */
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <string.h>

#include "base/error.h"
#include "hegui/text.h"
#include "lexicon_internal.h"
#include "text/fold_table.h"

#define NONE 0xFFFFFFFFu

int hg_exact_cp_flags(const hg_lexicon *lex, uint32_t cp, unsigned *first, unsigned *last) {
  uint32_t m = lex_cp_map(lex, cp);
  if (!(m & CPM_SLOW)) {
    *first = *last = CPM_CHAR_FLAGS(m);
    return 1;
  }
  uint32_t f[HG_FOLD_MAX];
  size_t n = hg_fold(cp, f);
  if (!n) return 0;
  *first = FT_CHAR_FLAGS(hg_fold_value(f[0]));
  *last = FT_CHAR_FLAGS(hg_fold_value(f[n - 1]));
  return 1;
}

typedef struct xa_build {
  const lane_view *v;
  exact_view *x;
  uint32_t *map;  /* byte state -> exact state, NONE */
  uint32_t *last; /* exact state -> the code point that leads into it */
  uint32_t count;
  uint32_t (*edges)[3]; /* from, cp, next: the transitions found, in order */
  size_t nedges, capedges;
  int oom;                  /* 1: out of memory, 2: the walk's budget is spent (not a trie: a crafted image) */
  uint64_t budget;          /* steps of walk_seq left: a trie visits each byte state once */
  uint32_t first_level_end; /* 1 + the number of states one code point deep */
} xa_build;

static unsigned seq_len(uint8_t lead) {
  return lead < 0x80 ? 1 : lead < 0xC2 ? 0 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : lead < 0xF5 ? 4 : 0;
}

/* A transition from state from on cp to state to, in the order found. */
static void add_edge(xa_build *b, uint32_t from, uint32_t cp, uint32_t to) {
  if (b->nedges == b->capedges) {
    size_t cap = b->capedges ? b->capedges * 2 : 1024;
    uint32_t(*n)[3] = realloc(b->edges, cap * sizeof *n);
    if (!n) {
      b->oom = 1;
      return;
    }
    b->edges = n;
    b->capedges = cap;
  }
  b->edges[b->nedges][0] = from;
  b->edges[b->nedges][1] = cp;
  b->edges[b->nedges][2] = to;
  b->nedges++;
}

static void add_child(xa_build *b, uint32_t from, uint32_t cp, uint32_t child) {
  if (b->map[child] == NONE) {
    b->map[child] = b->count;
    b->x->st[b->count] = (xa_state){0, child};
    b->last[b->count] = cp;
    b->count++;
  }
  add_edge(b, from, cp, b->map[child]);
}

/* The rest of a UTF-8 sequence from byte state s, bytes[0..k) read so far; need bytes in all. */
static void walk_seq(xa_build *b, uint32_t from, uint32_t s, uint8_t *bytes, unsigned k, unsigned need) {
  if (!b->budget--) {
    b->oom = 2;
    return;
  }
  if (k == need) {
    uint32_t cp;
    if (hg_utf8_decode(bytes, need, &cp) == (int)need) add_child(b, from, cp, s);
    return;
  }
  const img_state *st = &b->v->states[s];
  for (uint32_t e = st->edge_off; e < st->edge_off + st->edge_count && !b->oom; e++) {
    const img_edge *ed = &b->v->edges[e];
    if (!ed->sym || ed->sym - 1u < 0x80 || ed->sym - 1u > 0xBF) continue; /* an empty slot, or not a continuation */
    bytes[k] = (uint8_t)(ed->sym - 1u);
    walk_seq(b, from, ed->next, bytes, k + 1, need);
  }
}

static void lead_edge(xa_build *b, uint32_t from, uint32_t sym, uint32_t next) {
  uint8_t bytes[4] = {(uint8_t)(sym - 1u)};
  unsigned need = seq_len(bytes[0]);
  if (need) walk_seq(b, from, next, bytes, 1, need);
}

/* Cuckoo insertion of slot value e whose buckets are both full, starting at bucket at: a resident is moved to its
 * other bucket, and so on, for a bounded number of moves. Returns 0 when e (or whoever it displaced last) found no
 * place: the caller grows the table. */
static int hot_kick(exact_view *x, uint64_t *at, uint64_t e) {
  for (unsigned kick = 0; kick < 500; kick++) {
    unsigned way = kick % XA_HOT_WAYS;
    uint64_t out = at[way];
    at[way] = e;
    e = out;
    uint32_t cp = (uint32_t)(e & XA_NO_CP), last = (uint32_t)(e >> 21 & XA_NO_CP);
    uint64_t *b1 = xa_hot_bucket(x, xa_edge_hash(last, cp)), *b2 = xa_hot_bucket(x, xa_hot_hash2(last, cp));
    uint64_t *other = b1 == at ? b2 : b1;
    for (unsigned k = 0; k < XA_HOT_WAYS; k++)
      if (!other[k]) {
        other[k] = e;
        return 1;
      }
    at = other;
  }
  return 0;
}

/* The hot table: buckets of XA_HOT_WAYS slots, each edge in the emptier of its two buckets, or in one of them by
 * cuckoo moves when both are full; when those fail too the table doubles and is filled again (the houbb list's
 * 16,222 exact first-level edges fit 16,384 buckets of two: 256 KB; without the moves they took 65,536). Then the bit
 * set of its pairs (hot_pairs, with_pairs: the FOLD lane's, for no_start_at). Returns -1 when out of memory. */
static int build_hot(xa_build *b, uint32_t hot_limit, size_t nhot, int with_pairs) {
  exact_view *x = b->x;
  unsigned log2 = 2;
  while (((uint64_t)XA_HOT_WAYS << log2) < 2 * (uint64_t)nhot)
    log2++;
  for (;; log2++) {
    free(x->hot);
    if (log2 > 40 || !(x->hot = calloc((size_t)XA_HOT_WAYS << log2, sizeof *x->hot))) return -1;
    x->hot_shift = 64 - log2;
    int full = 0;
    for (size_t i = 0; i < b->nedges && !full; i++) {
      uint32_t from = b->edges[i][0], cp = b->edges[i][1], to = b->edges[i][2];
      if (!from || from >= hot_limit) continue;
      uint32_t last = b->last[from];
      uint64_t *b1 = xa_hot_bucket(x, xa_edge_hash(last, cp)), *b2 = xa_hot_bucket(x, xa_hot_hash2(last, cp));
      unsigned n1 = 0, n2 = 0;
      while (n1 < XA_HOT_WAYS && b1[n1])
        n1++;
      while (n2 < XA_HOT_WAYS && b2[n2])
        n2++;
      const img_state *t = &b->v->states[x->st[to].bstate];
      uint64_t e = cp | (uint64_t)last << 21 | (uint64_t)to << 42 | (uint64_t)(t->out_count || t->olink) << 63;
      if (n1 <= n2 && n1 < XA_HOT_WAYS)
        b1[n1] = e;
      else if (n2 < XA_HOT_WAYS)
        b2[n2] = e;
      else
        full = !hot_kick(x, b1, e);
    }
    if (!full) break;
  }
  if (!with_pairs) return 0; /* only the FOLD lane's start filter reads them */
  /* 16 bits a transition: some 6% of absent pairs pass */
  unsigned plog2 = 12;
  while ((1ull << plog2) < 16 * (uint64_t)nhot && plog2 < 30)
    plog2++;
  free(x->hot_pairs);
  if (!(x->hot_pairs = calloc((size_t)1 << (plog2 - 6), sizeof *x->hot_pairs))) return -1;
  x->hot_pairs_shift = 64 - plog2;
  if (hot_limit == 1) /* no first level of its own (a crafted image): every pair may be there */
    memset(x->hot_pairs, 0xFF, ((size_t)1 << (plog2 - 6)) * sizeof *x->hot_pairs);
  for (size_t i = 0; i < b->nedges; i++) {
    uint32_t from = b->edges[i][0], cp = b->edges[i][1];
    if (!from || from >= hot_limit) continue;
    uint64_t bit = xa_hot_hash2(b->last[from], cp) >> x->hot_pairs_shift;
    x->hot_pairs[bit >> 6] |= 1ull << (bit & 63);
  }
  return 0;
}

static hg_status nomem(xa_build *b, hg_error *err) {
  free(b->map);
  free(b->last);
  free(b->edges);
  hg_exact_free(b->x);
  return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
}

/* Lays out the automaton collected in b (its states with failure links in x->st, its transitions in b->edges): the
 * root's dense table, the buckets of the first level, the deeper states' table and the pair filter. word_flags: mark
 * root steps into word letters with XA_NS (the RAW lane, whose symbols are code points). Frees b's temporaries. */
static hg_status xa_layout(xa_build *b, const hg_lexicon *lex, int word_flags, hg_error *err) {
  exact_view *x = b->x;
  const lane_view *v = b->v;
  /* the states of one code point: ids 1 .. hot_limit-1 (breadth first), failing to the root */
  uint32_t hot_limit = b->first_level_end;
  int hot_ok = hot_limit < (1u << 20);
  for (uint32_t q = 1; q < hot_limit && hot_ok; q++)
    hot_ok = x->st[q].fail == 0;
  size_t nhot = 0;
  for (size_t i = 0; i < b->nedges && hot_ok; i++)
    if (b->edges[i][0] && b->edges[i][0] < hot_limit) {
      nhot++;
      hot_ok = b->edges[i][2] < (1u << XA_HOT_NEXT_BITS);
    }
  if (!hot_ok) hot_limit = 1, nhot = 0;
  x->hot_limit = hot_limit;
  uint32_t blocks = 1;
  if (!(x->root1 = calloc(0x110000 >> 7, sizeof *x->root1))) return nomem(b, err);
  size_t inner = 0, cold = 0;
  for (size_t i = 0; i < b->nedges; i++) {
    if (b->edges[i][0]) {
      inner++;
      cold += b->edges[i][0] >= hot_limit;
      continue;
    }
    uint32_t blk = b->edges[i][1] >> 7;
    if (!x->root1[blk]) x->root1[blk] = (uint16_t)blocks++;
  }
  if (!(x->root2 = calloc((size_t)blocks * 128, sizeof *x->root2))) return nomem(b, err);
  uint64_t slots = 16;
  unsigned log2 = 4;
  while (slots < 2 * (uint64_t)cold)
    slots <<= 1, log2++;
  uint64_t bits = 4096;
  unsigned plog2 = 12;
  while (bits < 8 * (uint64_t)inner && plog2 < 28)
    bits <<= 1, plog2++;
  x->edges = calloc(slots, sizeof *x->edges);
  x->pairs = calloc(bits / 64, sizeof *x->pairs);
  if (!x->edges || !x->pairs || build_hot(b, hot_limit, nhot, !word_flags)) return nomem(b, err);
  x->edge_mask = slots - 1;
  x->edge_shift = 64 - log2;
  x->pairs_shift = 64 - plog2;
  for (size_t i = 0; i < b->nedges; i++) {
    uint32_t from = b->edges[i][0], cp = b->edges[i][1], to = b->edges[i][2];
    const img_state *t = &v->states[x->st[to].bstate];
    uint32_t val = to | (t->out_count || t->olink ? XA_OUT : 0);
    if (!from) {
      unsigned first, last;
      if (word_flags && hg_exact_cp_flags(lex, cp, &first, &last) &&
          (first & (HG_CHAR_WORD | HG_CHAR_DIGIT)) == HG_CHAR_WORD)
        val |= XA_NS;
      x->root2[((uint32_t)x->root1[cp >> 7] << 7) | (cp & 127u)] = val | XA_ROOT;
      continue;
    }
    /* the pair filter holds every edge: a failure chain from a deep state may end in one of one code point */
    uint64_t bit = xa_pair_hash(b->last[from], cp) >> x->pairs_shift;
    x->pairs[bit >> 6] |= 1ull << (bit & 63);
    if (from < hot_limit) continue; /* in the hot table */
    uint64_t j = xa_edge_hash(from, cp) >> x->edge_shift;
    while (x->edges[j].from)
      j = (j + 1) & x->edge_mask;
    x->edges[j] = (xa_edge){from, cp, val, 0};
  }
  xa_state *shrunk = realloc(x->st, (size_t)b->count * sizeof *x->st);
  if (shrunk) x->st = shrunk;
  free(b->map);
  free(b->last);
  free(b->edges);
#ifdef __GLIBC__
  /* the build's temporaries (tens of MB for a large list) went back to the allocator, which would keep them in the
   * process for good: hand them to the kernel (a gateway that loads a list keeps only what it scans with) */
  malloc_trim(0);
#endif
  return HG_OK;
}

hg_status hg_exact_build(hg_lexicon *lex, hg_error *err) {
  exact_view *x = &lex->exact;
  const lane_view *v = &lex->lanes[LANE_RAW];
  memset(x, 0, sizeof *x);
  if (!v->info.outputs) return HG_OK;
  uint32_t nb = v->info.states;
  if (nb > XA_ID) return hg_fail(err, HG_ERR_LIMIT, 0, 0, "lexicon has too many exact states (%u)", nb);
  xa_build b = {.v = v,
                .x = x,
                .map = malloc(nb * sizeof(uint32_t)),
                .last = malloc(nb * sizeof(uint32_t)),
                .count = 1,
                .first_level_end = 1};
  b.budget = 2 * ((uint64_t)nb + v->info.edges) + 1024;
  x->st = malloc(nb * sizeof *x->st);
  if (!b.map || !b.last || !x->st) return nomem(&b, err);
  memset(b.map, 0xFF, nb * sizeof(uint32_t));
  b.map[0] = 0;
  x->st[0] = (xa_state){0, 0};
  for (uint32_t b0 = 0; b0 < 256; b0++) { /* the first two bytes of the keys, for the byte path's ASCII filter */
    uint32_t s1 = v->root[b0 + 1];
    if (!s1) continue;
    const img_state *st = &v->states[s1];
    if (st->out_count) {
      for (uint32_t k = 0; k < 4; k++)
        x->bigram[b0 * 4 + k] = ~0ull;
      continue;
    }
    for (uint32_t e = st->edge_off; e < st->edge_off + st->edge_count; e++)
      if (v->edges[e].sym) {
        uint32_t bit = b0 << 8 | (v->edges[e].sym - 1u);
        x->bigram[bit >> 6] |= 1ull << (bit & 63);
      }
  }
  /* breadth first: the states of one code point come first, then two, ... (the hot ones together) */
  for (uint32_t q = 0; q < b.count && !b.oom; q++) {
    if (q == 1) b.first_level_end = b.count;
    uint32_t s = x->st[q].bstate;
    if (!s) {
      for (uint32_t sym = 1; sym < v->info.alphabet && !b.oom; sym++)
        if (v->root[sym]) lead_edge(&b, q, sym, v->root[sym]);
    } else {
      const img_state *st = &v->states[s];
      for (uint32_t e = st->edge_off; e < st->edge_off + st->edge_count && !b.oom; e++)
        if (v->edges[e].sym) lead_edge(&b, q, v->edges[e].sym, v->edges[e].next);
    }
  }
  if (b.oom == 2) {
    nomem(&b, NULL);
    return hg_fail(err, HG_ERR_CORRUPT, 0, 0, "lexicon image is corrupt (exact lane is not a trie)");
  }
  if (b.oom) return nomem(&b, err);
  x->states = b.count;
  /* failure links: the byte state's, passed on until a state kept (only a crafted image needs more than one) */
  for (uint32_t q = 1; q < b.count; q++) {
    uint32_t f = v->states[x->st[q].bstate].fail;
    while (f && b.map[f] == NONE)
      f = v->states[f].fail;
    x->st[q].fail = b.map[f];
  }
  return xa_layout(&b, lex, 1, err);
}

/* The FOLD lane's automaton: its states and transitions as they are (every symbol is one folded code point
 * already), laid out as the exact automaton is. Its ids are the lane's states, so depths and outputs are read from
 * the lane directly. Empty when the lane has no keys. */
hg_status hg_fold_auto_build(hg_lexicon *lex, hg_error *err) {
  exact_view *x = &lex->fold_auto;
  const lane_view *v = &lex->lanes[LANE_FOLD];
  memset(x, 0, sizeof *x);
  if (!v->info.outputs) return HG_OK;
  /* one symbol per folded code point at most, and the tables are keyed by 21 bits */
  if (v->info.alphabet > 0x110000)
    return hg_fail(err, HG_ERR_CORRUPT, 0, 0, "lexicon image is corrupt (folded alphabet of %u symbols)",
                   v->info.alphabet);
  uint32_t ns = v->info.states;
  if (ns > XA_ID) return hg_fail(err, HG_ERR_LIMIT, 0, 0, "lexicon has too many folded states (%u)", ns);
  xa_build b = {.v = v, .x = x, .last = calloc(ns, sizeof(uint32_t)), .count = ns, .first_level_end = 1};
  x->st = malloc(ns * sizeof *x->st);
  if (!b.last || !x->st) return nomem(&b, err);
  for (uint32_t q = 0; q < ns; q++)
    x->st[q] = (xa_state){v->states[q].fail, q};
  for (uint32_t sym = 1; sym < v->info.alphabet && !b.oom; sym++)
    if (v->root[sym]) {
      b.last[v->root[sym]] = sym;
      add_edge(&b, 0, sym, v->root[sym]);
    }
  for (uint32_t q = 1; q < ns && !b.oom; q++) {
    const img_state *st = &v->states[q];
    for (uint32_t e = st->edge_off; e < st->edge_off + st->edge_count && !b.oom; e++)
      if (v->edges[e].sym) {
        b.last[v->edges[e].next] = v->edges[e].sym;
        add_edge(&b, q, v->edges[e].sym, v->edges[e].next);
      }
  }
  if (b.oom) return nomem(&b, err);
  /* breadth first: the states one symbol deep are 1 .. first_level_end-1 */
  while (b.first_level_end < ns && v->states[b.first_level_end].depth == 1)
    b.first_level_end++;
  x->states = ns;
  hg_status st = xa_layout(&b, lex, 0, err);
  if (st) return st;
  if (!(x->cpx = malloc(lex->cp2_len * sizeof *x->cpx))) {
    hg_exact_free(x);
    return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  }
  for (size_t i = 0; i < lex->cp2_len; i++) {
    uint32_t m = lex->cp2[i], sym = m & CPM_SYM_MASK;
    uint32_t root = !(m & CPM_SLOW) && sym && sym < v->info.alphabet ? xa_root(x, sym) : 0;
    x->cpx[i] = m | (uint64_t)root << 32;
  }
  return HG_OK;
}

void hg_exact_free(exact_view *x) {
  free(x->st);
  free(x->edges);
  free(x->root1);
  free(x->root2);
  free(x->pairs);
  free(x->hot);
  free(x->hot_pairs);
  free(x->cpx);
  memset(x, 0, sizeof *x);
}
