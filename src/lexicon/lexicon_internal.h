/* lexicon_internal.h — the compiled lexicon image and the in-memory view of it, shared by compile.c (writes
 * images), image.c (checks and maps them) and scan.c (runs them).
 *
 * An image is one contiguous, position-independent blob: a header, a section table, then sections aligned to 8
 * bytes. Nothing in it is a pointer, so the same bytes work when built in memory, written to disk, or mapped by
 * any number of processes. The loader checks every index against its bounds once, so scanning never needs to.
 *
 * Matching runs in four lanes, each an Aho-Corasick automaton over its own symbol stream:
 *   RAW       the input bytes (symbol = byte + 1): entries in exact mode
 *   FOLD      folded code points without noise (the skeleton): folded, noise-skipping and pinyin keys
 *   COLLAPSE  the skeleton with runs of one repeated symbol counted once: collapse keys
 *   SOUND     the skeleton as Mandarin syllables (other characters keep their fold symbol): homophone keys
 * A key is what an entry becomes in a lane; its outputs carry the rules that are checked after the automaton
 * finds the symbols: how many noise code points may stand between two positions, and the edge rules. */
#ifndef HG_LEXICON_INTERNAL_H
#define HG_LEXICON_INTERNAL_H

#include <stdint.h>

#include "hegui/lexicon.h"

#define IMG_MAGIC "HGLEXIMG"
#define IMG_VERSION 1u

enum { LANE_RAW, LANE_FOLD, LANE_COLLAPSE, LANE_SOUND, LANE_COUNT };

/* Per-lane sections, in this order, then the global ones. A state is one 24-byte record and an edge one 8-byte
 * pair, so that a transition touches one or two cache lines, not one per array. */
enum {
  LS_INFO,   /* img_lane */
  LS_ROOT,   /* uint32_t[alphabet]: root transitions, dense */
  LS_STATES, /* img_state[states], breadth-first order, root first */
  LS_EDGES,  /* img_edge[edges]: edges of a state are contiguous, ascending by symbol */
  LS_OUTS,   /* img_out[outputs] */
  LS_COUNT
};
enum {
  S_ENTRIES = LANE_COUNT * LS_COUNT, /* img_entry[] */
  S_STRINGS,                         /* entry texts, each NUL-terminated */
  S_SYM1,                            /* uint16_t[0x110000 >> 7]: folded code point -> block */
  S_SYM2,                            /* uint32_t[blocks * 128]: fold symbol, 0 = not in any key */
  S_SOUNDSYM,                        /* uint32_t[pinyin count]: syllable id -> SOUND symbol, 0 = unused */
  S_CP1,                             /* uint16_t[0x110000 >> 7]: source code point -> block */
  S_CP2,                             /* uint32_t[blocks * 128]: fold symbol | CPM_* flags of the source code point */
  S_COUNT
};

typedef struct img_header {
  char magic[8];
  uint32_t version;
  uint32_t header_size; /* header + section table */
  uint64_t total_size;
  uint32_t crc; /* CRC-32 of everything after this header: section table and sections */
  uint32_t section_count;
  uint32_t tables_id; /* identifies the fold/pinyin tables the keys were folded with */
  uint32_t max_noise;
  uint32_t fold_alphabet; /* fold symbols + 1 */
  uint32_t sound_base;    /* SOUND symbol of a non-syllable character = sound_base + fold symbol */
} img_header;

typedef struct img_section {
  uint64_t offset;
  uint64_t size;
} img_section;

typedef struct img_entry {
  uint32_t text_off;
  uint32_t text_len;
  uint8_t category;
  uint8_t severity;
  uint8_t action;
  uint8_t pad;
  uint32_t modes;
} img_entry;

enum { RULE_NONE = 0, RULE_WORD = 1, RULE_DIGIT = 2 };

typedef struct img_out {
  uint64_t noise_mask; /* bit i: the entry had noise between positions i and i+1 */
  uint32_t entry;
  uint16_t len;  /* positions (bytes in RAW) */
  uint8_t mode;  /* hg_mode of the key: EXACT, FOLDED (strict), NOISE, COLLAPSE, PINYIN, HOMOPHONE */
  uint8_t flags; /* start rule (bits 0-1), end rule (bits 2-3), OUT_ANY_GAP, OUT_ALLOW */
} img_out;
#define OUT_START_RULE(f) ((f)&3u)
#define OUT_END_RULE(f) (((f) >> 2) & 3u)
#define OUT_ANY_GAP 0x10u /* 0..max_noise noise code points between any two positions */
#define OUT_ALLOW 0x20u

typedef struct img_state {
  uint32_t edge_off;
  uint32_t fail;
  uint32_t olink; /* nearest proper suffix state that has outputs, 0 if none */
  uint32_t out_off;
  uint16_t edge_count;
  uint16_t out_count;
  uint16_t depth;  /* symbols from the root */
  uint16_t hashed; /* edges form an open-addressing table of edge_count (a power of two) slots, sym 0 = empty */
} img_state;

/* States with more edges than this keep them hashed: one probe instead of a binary search. */
#define HASH_EDGES_OVER 8
static inline uint32_t edge_hash(uint32_t sym, uint32_t slots) { return (sym * 2654435761u) >> 7 & (slots - 1); }

typedef struct img_edge {
  uint32_t sym;
  uint32_t next;
} img_edge;

typedef struct img_lane {
  uint32_t states;
  uint32_t alphabet;
  uint32_t edges;
  uint32_t outputs;
  uint32_t max_depth;
  uint32_t max_gap; /* longest noise run a live match may span (0 or max_noise) */
} img_lane;

typedef struct lane_view {
  img_lane info;
  const uint32_t *root;
  const img_state *states;
  const img_edge *edges;
  const img_out *outs;
  /* The pairs (x, y) for which some state whose last symbol is x has an edge y, as a one-hash filter built when the
   * image is loaded (not stored in it). Every state on a failure chain ends with the same symbol as the state it
   * starts from, so when (last symbol, next symbol) is not in the filter no state of the chain has the edge and the
   * step goes straight to the root's: the usual case in text, where it saves loading the chain's states and edges.
   * NULL for the byte lane. */
  uint64_t *pairs;
  unsigned pairs_shift; /* 64 - log2(bits) */
} lane_view;

static inline int lane_pair_possible(const lane_view *v, uint32_t x, uint32_t y) {
  uint64_t h = (((uint64_t)x << 32) | y) * 0x9E3779B97F4A7C15ull;
  uint64_t bit = h >> v->pairs_shift;
  return (v->pairs[bit >> 6] >> (bit & 63)) & 1;
}

/* The exact automaton, built when an image is loaded (not stored in it; exact.c): the RAW lane's byte trie with the
 * states inside a UTF-8 sequence taken out, so that one step consumes one code point instead of one to four bytes.
 * Keys are valid UTF-8, so in valid text a key can start and end only at code point boundaries; the states kept
 * (root, and every state at the end of a whole code point) are exactly those the byte automaton is in after each
 * code point, their failure links lead to states kept, and each keeps its byte state for depth and outputs.
 * Transitions, laid out by how often a scan needs them: a dense two-level table for the root (the first code point
 * of a key); a small table of 8-byte slots for the states of one code point (breadth-first numbering makes them
 * 1 .. hot_limit-1; their failure link is the root, so a miss there goes straight to the root's; each is keyed by its
 * code point, so the slots to read follow from the text alone: an edge is in one of two buckets of two (placed by
 * cuckoo moves, so the table stays small), all four slots read, the root's transition taken when none matches; the
 * compiler compares them with branches, which the CPU predicts as "no match" and runs ahead of the loads: a
 * branch-free select with masks was 20% slower, see bench/README.md); one table of 16-byte slots for the deeper
 * states, with the pair filter in front: every state on a failure chain ends with the code point just read (x), so
 * when no state ending in x has an edge y, the step goes straight to the root's. The FOLD lane has the same layout
 * over its symbols (lex->fold_auto), with its own states as ids.
 * A step's result carries flag bits: */
#define XA_OUT 0x80000000u  /* the state (or a suffix of it) ends a key: look at its outputs */
#define XA_NS 0x40000000u   /* a root step into a code point that is a word letter (may be refused inside a word) */
#define XA_ROOT 0x20000000u /* the step came from the root's table (a depth-one state) */
#define XA_ID 0x1FFFFFFFu

typedef struct xa_state {
  uint32_t fail;   /* exact-automaton state */
  uint32_t bstate; /* the byte state of the RAW lane: depth in bytes, outputs, output links */
} xa_state;

typedef struct xa_edge {
  uint32_t from; /* 0 = empty slot (root transitions are in the dense table) */
  uint32_t cp;
  uint32_t next; /* state | XA_OUT */
  uint32_t pad;
} xa_edge;

typedef struct exact_view {
  uint32_t states; /* 0 when the RAW lane has no keys */
  xa_state *st;
  xa_edge *edges;
  uint64_t edge_mask;
  unsigned edge_shift; /* 64 - log2(slots) */
  uint64_t *hot;       /* buckets of XA_HOT_WAYS: cp | from's code point << 21 | next << 42 | out << 63 (0: empty) */
  unsigned hot_shift;  /* 64 - log2(buckets) */
  uint32_t hot_limit;
  /* The first level's transitions as a bit per hash of (code point of the state, code point read): a check that
   * stays in the cache before the buckets are read, for the start filter (scan.c no_start_at). FOLD lane only. */
  uint64_t *hot_pairs;
  unsigned hot_pairs_shift; /* 64 - log2(bits) */
  uint16_t *root1;          /* [0x110000 >> 7]: block of root2, 0 = the empty block */
  uint32_t *root2;          /* blocks * 128: state | XA_OUT | XA_NS | XA_ROOT, 0 = no key starts with it */
  uint64_t *pairs;
  unsigned pairs_shift;
  uint64_t bigram[65536 / 64]; /* bit b0 << 8 | b1: some key begins with the bytes b0 b1, or is the byte b0 alone */
  /* FOLD lane only: the code point map (S_CP2) with the root's entry for each code point's fold symbol in the high
   * half, indexed as cp2 is: what one step needs in one load */
  uint64_t *cpx;
} exact_view;

static inline uint64_t xa_pair_hash(uint32_t x, uint32_t y) {
  return ((((uint64_t)x << 32) | y) * 0x9E3779B97F4A7C15ull);
}
static inline uint64_t xa_edge_hash(uint32_t from, uint32_t cp) {
  return ((((uint64_t)from << 21) ^ cp) * 0xD6E8FEB86659FD93ull);
}
static inline uint32_t xa_root(const exact_view *x, uint32_t cp) {
  return x->root2[((uint32_t)x->root1[cp >> 7] << 7) | (cp & 127u)];
}

/* One step of the exact automaton from state s (an id, no flags) on code point cp, where last is the code point
 * that led into s (any value when s is 0). Returns the next state with its flag bits (0: the root). */
#define XA_HOT_NEXT_BITS 21
#define XA_HOT_WAYS 2
#define XA_NO_CP 0x1FFFFFu /* code point bits of a hot table key */
static inline uint64_t xa_hot_hash2(uint32_t last, uint32_t cp) {
  return ((((uint64_t)cp << 21) ^ last) * 0x9E3779B97F4A7C15ull);
}
/* 0 when no state one code point deep (last) has a transition on cp */
static inline int xa_hot_pair_possible(const exact_view *x, uint32_t last, uint32_t cp) {
  uint64_t bit = xa_hot_hash2(last, cp) >> x->hot_pairs_shift;
  return (x->hot_pairs[bit >> 6] >> (bit & 63)) & 1;
}
static inline uint64_t *xa_hot_bucket(const exact_view *x, uint64_t h) {
  return x->hot + (h >> x->hot_shift) * XA_HOT_WAYS;
}
/* root: the root's entry for cp, xa_root(x, cp) (0 when cp is out of range) */
static inline uint32_t xa_step_root(const exact_view *x, uint32_t s, uint32_t last, uint32_t cp, uint32_t root) {
  /* The root's entry and the first level's buckets depend on the text alone, so they are read first, before
   * anything that waits for s: the loads of one step overlap those of the steps around it. */
  uint32_t r = root;
  uint64_t key = cp | (uint64_t)(last & XA_NO_CP) << 21;
  const uint64_t *b1 = xa_hot_bucket(x, xa_edge_hash(last, cp)), *b2 = xa_hot_bucket(x, xa_hot_hash2(last, cp));
  for (int k = 0; k < XA_HOT_WAYS; k++) {
    uint64_t e1 = b1[k], e2 = b2[k];
    uint32_t v1 = (uint32_t)(e1 >> 42 & ((1u << XA_HOT_NEXT_BITS) - 1)) | (uint32_t)(e1 >> 63) << 31;
    uint32_t v2 = (uint32_t)(e2 >> 42 & ((1u << XA_HOT_NEXT_BITS) - 1)) | (uint32_t)(e2 >> 63) << 31;
    r = (e1 & ((1ull << 42) - 1)) == key ? v1 : r;
    r = (e2 & ((1ull << 42) - 1)) == key ? v2 : r;
  }
  if (s >= x->hot_limit) {
    /* A deeper state. The pair filter holds every transition, so when it says no, r is the root's entry too. */
    uint64_t bit = xa_pair_hash(last, cp) >> x->pairs_shift;
    if ((x->pairs[bit >> 6] >> (bit & 63)) & 1) {
      do {
        for (uint64_t j = xa_edge_hash(s, cp) >> x->edge_shift;; j = (j + 1) & x->edge_mask) {
          const xa_edge *e = &x->edges[j];
          if (e->from == s && e->cp == cp) return e->next;
          if (!e->from) break;
        }
        s = x->st[s].fail;
      } while (s >= x->hot_limit);
    }
  }
  /* s is now the root or the state of the code point last alone (every state on a failure chain ends with last) */
  return s ? r : root;
}
static inline uint32_t xa_step(const exact_view *x, uint32_t s, uint32_t last, uint32_t cp) {
  return xa_step_root(x, s, last, cp, cp < 0x110000 ? xa_root(x, cp) : 0);
}

/* The FOLD lane's start filter for ASCII text (ascii_start.c, where the why is): for the symbols of ASCII bytes,
 * coded in six bits, which first three begin a path of the lane's trie and on which first one or two a key ends,
 * with which end rules. Built when an image is loaded (not stored in it); path3 is NULL when the lane has no keys.
 * code[b]: AS_NONE (its symbol is in no key: the lane falls back to its root), a symbol's code 1..AS_LAST (the
 * last one shared by any further symbols), AS_OPEN (outside the fast map: not decided here), AS_NOISE. */
enum { AS_NONE = 0, AS_LAST = 61, AS_OPEN = 62, AS_NOISE = 63 };
/* keys ending on a state: one with no end rule, one with RULE_WORD, one with RULE_DIGIT */
enum { AS_END_ANY = 1, AS_END_WORD = 2, AS_END_DIGIT = 4, AS_END_ALL = 7 };
typedef struct ascii_start {
  uint8_t code[128];
  uint8_t ends_ok[128]; /* AS_END_* whose rule a byte keeps when it follows a key's last symbol */
  uint8_t end1[64];     /* AS_END_* of the keys of one symbol, by its code */
  uint8_t end2[4096];   /* AS_END_* of the keys of two symbols, by code1 << 6 | code2 */
  uint64_t *path3;      /* bit code1 << 12 | code2 << 6 | code3: three symbols that begin a path from the root */
  /* the paths of AS_DEEP_MIN..AS_DEEP_MAX symbols, in a one-hash table of two-bit slots (AS_DEEP_*), by their codes
   * six bits each from the first in the low bits */
  uint64_t *deep;
  unsigned deep_shift;
} ascii_start;
#define AS_DEEP_MIN 3u
#define AS_DEEP_MAX 10u
/* a deep slot: no path; a path; a path on which keys end, all with RULE_WORD; one on which a key ends with another
 * rule. Paths that share a slot OR their values, which only ever lets more through. */
enum { AS_DEEP_NONE = 0, AS_DEEP_PATH = 1, AS_DEEP_END_WORD = 2, AS_DEEP_END = 3 };
static inline uint64_t as_deep_slot(unsigned shift, uint64_t seq, unsigned depth) {
  uint64_t h = (seq ^ ((uint64_t)depth << 60)) * 0x9E3779B97F4A7C15ull;
  return ((h ^ (h >> 29)) * 0xD6E8FEB86659FD93ull) >> shift;
}
static inline unsigned as_deep_probe(const ascii_start *a, uint64_t seq, unsigned depth) {
  uint64_t slot = as_deep_slot(a->deep_shift, seq, depth);
  return (unsigned)(a->deep[slot >> 5] >> ((slot & 31) * 2)) & 3u;
}

struct hg_lexicon {
  int refs;             /* atomic */
  unsigned char *owned; /* malloc-ed image, or NULL when mapped */
  void *map;
  size_t map_len;
  const unsigned char *base;
  size_t size;
  const img_header *hdr;
  const img_entry *entries;
  size_t entry_count;
  const char *strings;
  size_t strings_len;
  const uint16_t *sym1;
  const uint32_t *sym2;
  size_t sym2_len;
  const uint32_t *soundsym;
  size_t soundsym_len;
  const uint16_t *cp1;
  const uint32_t *cp2;
  size_t cp2_len;
  lane_view lanes[LANE_COUNT];
  /* The start filter, built when an image is loaded (not stored in it): a one-hash table of two-bit slots holding,
   * for the RAW and FOLD lanes, every path from the root of up to START_RAW_DEPTH (RAW) or START_FOLD_DEPTH (FOLD)
   * symbols (bit 0 of its slot) and whether a key ends on it (bit 1). While every lane is at its root, the scanner
   * asks it whether a key can begin at the next position; when the text there leaves every lane's trie before any
   * key ends, no hit starts there and the position is skipped without stepping the automaton. */
  uint64_t *start_bits;
  unsigned start_shift; /* 64 - log2(slots) */
  ascii_start astart;
  exact_view exact;
  exact_view fold_auto; /* the FOLD lane laid out the same way (exact.c); empty when the lane has no keys */
};

#define START_RAW_DEPTH 8u
#define START_FOLD_DEPTH 5u
enum { START_PATH = 1, START_END = 2 };

/* Hash of a path: seeded per lane, one symbol at a time. */
static inline uint64_t start_hash(uint64_t h, uint32_t sym) {
  h = (h ^ sym) * 0x9E3779B97F4A7C15ull;
  return h ^ (h >> 31);
}
static inline uint64_t start_seed(int lane) { return 0x243F6A8885A308D3ull * (uint64_t)(lane + 1); }
static inline uint64_t start_slot(unsigned shift, uint64_t h) { return (h * 0xD6E8FEB86659FD93ull) >> shift; }
/* START_PATH | START_END bits of a path's slot (a false positive now and then, never a false negative) */
static inline unsigned start_probe(const struct hg_lexicon *lex, uint64_t h) {
  uint64_t slot = start_slot(lex->start_shift, h);
  return (unsigned)(lex->start_bits[slot >> 5] >> ((slot & 31) * 2)) & 3u;
}

/* fold symbol of a folded code point (0 when no key uses it) */
static inline uint32_t lex_fold_sym(const struct hg_lexicon *lex, uint32_t cp) {
  return lex->sym2[((uint32_t)lex->sym1[cp >> 7] << 7) | (cp & 127u)];
}

/* The per-lexicon code point map: for a source code point that folds to exactly one code point, its fold symbol
 * and class flags in one lookup; CPM_SLOW sends ignorable and expanding code points to the general path. */
#define CPM_SYM_MASK 0x1FFFFFu
#define CPM_FLAG_SHIFT 21 /* HG_CHAR_* flags in bits 21-25 */
#define CPM_SLOW (1u << 27)
#define CPM_CHAR_FLAGS(m) (((m) >> CPM_FLAG_SHIFT) & 0x1Fu)

static inline uint32_t lex_cp_map(const struct hg_lexicon *lex, uint32_t cp) {
  return lex->cp2[((uint32_t)lex->cp1[cp >> 7] << 7) | (cp & 127u)];
}

uint32_t hg_tables_id(void);
/* Builds lex->exact from a checked RAW lane (exact.c); frees it. */
hg_status hg_exact_build(struct hg_lexicon *lex, hg_error *err);
void hg_exact_free(exact_view *x);
/* Builds lex->astart from a checked FOLD lane (ascii_start.c); frees it. */
hg_status hg_ascii_start_build(struct hg_lexicon *lex, hg_error *err);
void hg_ascii_start_free(ascii_start *a);
/* Builds lex->fold_auto from a checked FOLD lane (exact.c); freed with hg_exact_free. */
hg_status hg_fold_auto_build(struct hg_lexicon *lex, hg_error *err);
/* HG_CHAR_* flags of the first (*first) and last (*last) code point a source code point folds to; returns 0 for a
 * code point that folds to nothing (ignorable), which the flags of neighbours pass over. */
int hg_exact_cp_flags(const struct hg_lexicon *lex, uint32_t cp, unsigned *first, unsigned *last);
hg_status hg_lexicon_adopt_image(unsigned char *owned, void *map, size_t len, hg_lexicon **out, hg_error *err);

#endif
