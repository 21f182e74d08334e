/* ascii_start.c — the FOLD lane's start filter for ASCII text (lexicon_internal.h, ascii_start), built when an
 * image is loaded.
 *
 * Why it exists: English text against a lexicon of mostly Chinese keys. The houbb list has 8,309 keys that begin
 * in ASCII, with every letter, so nearly every word start of an English text (7.4 million in the 42 MB bench
 * corpus) is a place where the scanner must ask whether a key begins. The hashed start filter answered with a walk
 * whose probes miss the cache and whose branches the CPU cannot guess, and it answered "maybe" for one word in
 * eight: it did not know end rules, so a key of one letter ("b" followed by a control character, which folds to
 * nothing) began at every word that begins with b, and it looked no deeper than five symbols, so "happy水" began
 * at every "happy".
 *
 * What it holds, for the symbols of ASCII bytes only (a code of six bits each, AS_*): which first three symbols
 * begin a path of the lane's trie (one bit each, 32 KB); on which first one or two symbols a key ends, with which
 * end rules; and the paths of three to AS_DEEP_MAX symbols with whether keys end on them with the word rule only
 * or another one (a one-hash table of two-bit slots). The scanner (scan.c: ascii_sift for a block of candidates at
 * once, ascii_no_start_at for one) reads the symbols from a position, passing over noise as the lane does, and
 * answers from those tables: a key ending on the way counts only when the byte after it keeps the key's end rule,
 * so "by" is not a start for the key "b", but "b y" is.
 *
 * Exact on the safe side: a symbol that has no code of its own (more than AS_LAST symbols among ASCII bytes) shares
 * the last code, whose rows are the union of all it stands for; a byte outside the fast map is AS_OPEN, for which
 * the scanner answers "maybe"; so are the chunk's end and what is not ASCII (but noise). */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "hegui/text.h"
#include "lexicon_internal.h"

/* The code of a symbol among the first nsyms ASCII ones (syms), AS_NONE when no ASCII byte folds to it; when the
 * codes ran out, any other symbol may be one of the rest, which share the last code. */
static unsigned code_of(const uint32_t *syms, unsigned nsyms, uint32_t sym) {
  for (unsigned k = 0; k < nsyms; k++)
    if (syms[k] == sym) return k + 1;
  return nsyms == AS_LAST && sym ? AS_LAST : AS_NONE;
}

/* AS_END_* of the keys that end on a state */
static uint8_t ends_of(const lane_view *v, const img_state *st) {
  uint8_t e = 0;
  for (uint32_t o = st->out_off; o < st->out_off + st->out_count; o++) {
    unsigned rule = OUT_END_RULE(v->outs[o].flags);
    e |= rule == RULE_WORD ? AS_END_WORD : rule == RULE_DIGIT ? AS_END_DIGIT : AS_END_ANY;
  }
  return e;
}

/* The paths of AS_DEEP_MIN..AS_DEEP_MAX symbols from the root whose symbols all have codes, into a->deep (two bits
 * a slot, AS_DEEP_*, 16 slots a path: some 6% of absent paths pass); counted first to size it. */
typedef struct deep_item {
  uint32_t state;
  uint32_t depth;
  uint64_t seq;
} deep_item;

static size_t deep_paths(ascii_start *a, const lane_view *v, const uint32_t *syms, unsigned nsyms) {
  size_t count = 0, n = 0, cap = 256;
  deep_item *stack = malloc(cap * sizeof *stack);
  if (!stack) return (size_t)-1;
  for (uint32_t s1 = 1; s1 < v->info.alphabet; s1++) {
    unsigned c1 = v->root[s1] ? code_of(syms, nsyms, s1) : AS_NONE;
    if (c1 == AS_NONE) continue;
    if (n == cap) {
      deep_item *ns = realloc(stack, (cap *= 2) * sizeof *stack);
      if (!ns) return free(stack), (size_t)-1;
      stack = ns;
    }
    stack[n++] = (deep_item){v->root[s1], 1, c1};
  }
  while (n) {
    deep_item it = stack[--n];
    const img_state *st = &v->states[it.state];
    if (it.depth >= AS_DEEP_MIN) {
      count++;
      if (a->deep) {
        uint64_t slot = as_deep_slot(a->deep_shift, it.seq, it.depth);
        uint8_t ends = ends_of(v, st);
        uint64_t val = !ends ? AS_DEEP_PATH : ends == AS_END_WORD ? AS_DEEP_END_WORD : AS_DEEP_END;
        a->deep[slot >> 5] |= val << ((slot & 31) * 2);
      }
    }
    if (it.depth == AS_DEEP_MAX) continue;
    for (uint32_t e = st->edge_off; e < st->edge_off + st->edge_count; e++) {
      const img_edge *ed = &v->edges[e];
      unsigned c = ed->sym ? code_of(syms, nsyms, ed->sym) : AS_NONE;
      if (c == AS_NONE) continue;
      if (n == cap) {
        deep_item *ns = realloc(stack, (cap *= 2) * sizeof *stack);
        if (!ns) return free(stack), (size_t)-1;
        stack = ns;
      }
      stack[n++] = (deep_item){ed->next, it.depth + 1, it.seq | (uint64_t)c << (6 * it.depth)};
    }
  }
  free(stack);
  return count;
}

static hg_status build_deep(ascii_start *a, const lane_view *v, const uint32_t *syms, unsigned nsyms) {
  size_t count = deep_paths(a, v, syms, nsyms);
  if (count == (size_t)-1) return HG_ERR_NOMEM;
  uint64_t slots = 4096;
  unsigned log2 = 12;
  while (slots < 16ull * count && log2 < 26)
    slots <<= 1, log2++;
  a->deep_shift = 64 - log2;
  if (!(a->deep = calloc(slots / 32, sizeof *a->deep))) return HG_ERR_NOMEM;
  return deep_paths(a, v, syms, nsyms) == (size_t)-1 ? HG_ERR_NOMEM : HG_OK;
}

hg_status hg_ascii_start_build(hg_lexicon *lex, hg_error *err) {
  ascii_start *a = &lex->astart;
  const lane_view *v = &lex->lanes[LANE_FOLD];
  if (!v->info.outputs) return HG_OK;
  uint32_t syms[AS_LAST];
  unsigned nsyms = 0;
  for (uint32_t b = 0; b < 128; b++) {
    uint32_t m = lex_cp_map(lex, b), sym = m & CPM_SYM_MASK;
    unsigned fl = CPM_CHAR_FLAGS(m), code = AS_NONE;
    if (m & CPM_SLOW) {
      code = AS_OPEN;
      a->ends_ok[b] = AS_END_ALL; /* its class is not read here */
    } else {
      a->ends_ok[b] =
          (uint8_t)(AS_END_ANY | (fl & HG_CHAR_WORD ? 0 : AS_END_WORD) | (fl & HG_CHAR_DIGIT ? 0 : AS_END_DIGIT));
      if (fl & HG_CHAR_NOISE) {
        code = AS_NOISE;
      } else if (sym) {
        code = code_of(syms, nsyms, sym);
        if (code == AS_NONE) {
          syms[nsyms++] = sym;
          code = nsyms;
        }
      }
    }
    a->code[b] = (uint8_t)code;
  }
  if (!(a->path3 = calloc((1u << 18) / 64, sizeof *a->path3))) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  hg_status st = build_deep(a, v, syms, nsyms);
  if (st) return hg_fail(err, st, 0, 0, "out of memory");
  for (uint32_t s1 = 1; s1 < v->info.alphabet; s1++) {
    unsigned c1 = v->root[s1] ? code_of(syms, nsyms, s1) : AS_NONE;
    if (c1 == AS_NONE) continue;
    const img_state *st1 = &v->states[v->root[s1]];
    a->end1[c1] |= ends_of(v, st1);
    for (uint32_t e1 = st1->edge_off; e1 < st1->edge_off + st1->edge_count; e1++) {
      const img_edge *d1 = &v->edges[e1];
      unsigned c2 = d1->sym ? code_of(syms, nsyms, d1->sym) : AS_NONE; /* sym 0: an empty slot */
      if (c2 == AS_NONE) continue;
      const img_state *st2 = &v->states[d1->next];
      a->end2[c1 << 6 | c2] |= ends_of(v, st2);
      for (uint32_t e2 = st2->edge_off; e2 < st2->edge_off + st2->edge_count; e2++) {
        const img_edge *d2 = &v->edges[e2];
        unsigned c3 = d2->sym ? code_of(syms, nsyms, d2->sym) : AS_NONE;
        if (c3 == AS_NONE) continue;
        uint32_t i = c1 << 12 | c2 << 6 | c3;
        a->path3[i >> 6] |= 1ull << (i & 63);
      }
    }
  }
  return HG_OK;
}

void hg_ascii_start_free(ascii_start *a) {
  free(a->path3);
  free(a->deep);
  a->path3 = a->deep = NULL;
}
