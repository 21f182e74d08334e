/* takedown.c — fingerprints of taken-down texts, and the scanner that notices one coming back. A fingerprint is
 * the set of hashes of a takedown's shingles (windows of folded, non-noise code points); one table holds every
 * shingle of a set with the takedowns that contain it. A scanner hashes the window ending at each code point, looks
 * it up and counts distinct shingles per takedown. Decisions depend only on the code points, never on where a stream
 * was cut, so a stream decides like one buffer at the same code point. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "hegui/takedown.h"
#include "hegui/text.h"

#define TD_MAX_SHINGLE_CHARS 64u /* the prefix ring below holds one more than this */
#define TD_RING 128u
/* A long takedown keeps only its 4096 smallest shingle hashes: a uniform sample that does not depend on where
 * the copied part starts, so the ratio still estimates how much of it came back. */
#define TD_MAX_SHINGLES 4096u
/* A scanner's memory stays bounded on an endless or hostile answer: past these, new shingles or takedowns are no
 * longer counted (the same way in a stream and in one buffer). */
#define TD_MAX_SEEN (1u << 16)
#define TD_MAX_TRACKED (1u << 14)

#define TD_HASH_BASE 0x9E3779B97F4A7C15ull
#define TD_LENGTH_SALT 0xD6E8FEB86659FD93ull

struct hg_takedown_set {
  atomic_size_t refs;
  unsigned shingle_chars;
  uint64_t short_lengths; /* bit L: some takedown is only L (< shingle_chars) code points long */
  unsigned short_count;   /* bits set in short_lengths */
  uint64_t base_pow[TD_MAX_SHINGLE_CHARS + 1];
  size_t count;
  int64_t *ids;
  uint32_t *threshold; /* distinct shingles a takedown needs, 1..its shingle count */
  /* The table: keys[slot] is a shingle hash (0 = empty) and shingle_of[slot] its index; the takedowns holding
   * shingle s are postings[posting_start[s] .. posting_start[s + 1]), ascending, each once. */
  size_t slots;
  uint64_t *keys;
  uint32_t *shingle_of;
  /* A filter in front of the table: two bits of one word per shingle, about ten bits per shingle in all, so that it
   * stays in cache while the table does not; nearly every window of an answer is a miss it answers alone. */
  uint64_t *filter;
  size_t filter_words;
  uint32_t shingles;
  uint32_t *posting_start;
  uint32_t *postings;
};

/* Prefix hashes of the folded stream: prefix[n] = prefix[n-1] * BASE + value(cp_n), so the hash of the last L code
 * points is prefix[n] - prefix[n-L] * BASE^L, whatever L is. */
typedef struct td_roll {
  uint64_t prefix[TD_RING];
  uint64_t n; /* code points pushed */
} td_roll;

struct hg_takedown_scanner {
  hg_takedown_set *set;
  td_roll roll;
  /* Hold-back (hg_takedown_scanner_hold_from): where each of the last code points began, and the current run of
   * windows that hit some takedown's shingles (run_start = where its first shingle began). */
  size_t cp_start[TD_RING], cp_end[TD_RING];
  size_t run_start;
  size_t match_start, match_end; /* the span of the run that matched */
  uint64_t run_last_hit;         /* code point count at the run's latest hit; 0 = no run */
  uint8_t pending[4];            /* the start of a UTF-8 sequence the next chunk completes */
  unsigned pending_len;
  uint64_t offset; /* bytes fed so far */
  int64_t matched_id;
  int failed;
  /* Shingles already counted (index + 1; 0 = empty): a takedown counts each of its shingles once. */
  uint32_t *seen;
  size_t seen_slots, seen_count;
  /* Takedown index + 1 -> distinct shingles matched. */
  uint32_t (*tracked)[2];
  size_t tracked_slots, tracked_count;
};

static uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

/* Code points are spread over 64 bits first, or the polynomial hash of nearby code points would be nearly linear. */
static uint64_t cp_value(uint32_t cp) { return mix64(cp + TD_HASH_BASE); }

static void roll_push(td_roll *r, uint32_t cp) {
  uint64_t prev = r->prefix[r->n % TD_RING];
  r->n++;
  r->prefix[r->n % TD_RING] = prev * TD_HASH_BASE + cp_value(cp);
}

/* The shingle hash of the last len code points (len <= n). The length is mixed in so that a short takedown's
 * single shingle never equals a window of another length. */
static uint64_t roll_key(const td_roll *r, const uint64_t *base_pow, unsigned len) {
  uint64_t window = r->prefix[r->n % TD_RING] - r->prefix[(r->n - len) % TD_RING] * base_pow[len];
  uint64_t key = mix64(window ^ (len * TD_LENGTH_SALT));
  return key ? key : 1;
}

/* Folded, non-noise code points of one source code point, in order. */
static size_t fold_visible(uint32_t cp, uint32_t out[HG_FOLD_MAX], int *has_alnum) {
  uint32_t folded[HG_FOLD_MAX];
  size_t n = hg_fold(cp, folded), kept = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned flags = hg_char_flags(folded[i]);
    if (flags & HG_CHAR_NOISE) continue;
    if (flags & HG_CHAR_ALNUM) *has_alnum = 1;
    out[kept++] = folded[i];
  }
  return kept;
}

static size_t table_home(uint64_t key, size_t slots) {
  /* multiply-shift maps the high bits onto any table size, so the table need not be a power of two */
  return (size_t)(((key >> 32) * (uint64_t)slots) >> 32);
}

static size_t filter_word(uint64_t key, size_t words) {
  return (size_t)(((key & 0xFFFFFFFFu) * (uint64_t)words) >> 32);
}
static uint64_t filter_bits(uint64_t key) { return (1ull << ((key >> 32) & 63)) | (1ull << ((key >> 38) & 63)); }

static int64_t table_find(const hg_takedown_set *set, uint64_t key) {
  for (size_t slot = table_home(key, set->slots);;) {
    uint64_t k = set->keys[slot];
    if (k == key) return set->shingle_of[slot];
    if (!k) return -1;
    if (++slot == set->slots) slot = 0;
  }
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

typedef struct key_list {
  uint64_t *v;
  size_t n, cap;
} key_list;

static int key_list_push(key_list *l, uint64_t key) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 1024;
    uint64_t *v = realloc(l->v, cap * sizeof *v);
    if (!v) return -1;
    l->v = v;
    l->cap = cap;
  }
  l->v[l->n++] = key;
  return 0;
}

void hg_takedown_options_init(hg_takedown_options *o) {
  o->shingle_chars = 8;
  o->min_shingles = 4;
  o->min_ratio = 0.5f;
}

/* Appends one takedown's distinct shingle hashes (sorted, sampled to TD_MAX_SHINGLES) to keys and returns how many,
 * or fails naming the takedown. */
static hg_status shingle_entry(hg_takedown_set *set, const hg_takedown_entry *e, key_list *keys, size_t *count,
                               hg_error *err) {
  size_t bad;
  if (!e->text && e->len) return hg_fail(err, HG_ERR_INVALID, 0, 0, "takedown %lld has no text", (long long)e->id);
  if (e->len && hg_utf8_validate(e->text, e->len, &bad) != HG_OK)
    return hg_fail(err, HG_ERR_UTF8, 0, bad, "takedown %lld: invalid UTF-8 at byte offset %zu", (long long)e->id, bad);
  size_t first = keys->n;
  unsigned k = set->shingle_chars;
  int has_alnum = 0;
  td_roll roll = {.n = 0};
  const uint8_t *s = (const uint8_t *)e->text;
  for (size_t i = 0; i < e->len;) {
    uint32_t cp, visible[HG_FOLD_MAX];
    i += (size_t)hg_utf8_decode(s + i, e->len - i, &cp); /* validated above */
    size_t nv = fold_visible(cp, visible, &has_alnum);
    for (size_t j = 0; j < nv; j++) {
      roll_push(&roll, visible[j]);
      if (roll.n >= k && key_list_push(keys, roll_key(&roll, set->base_pow, k)))
        return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
    }
  }
  if (!has_alnum)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "takedown %lld has no letters or digits after folding", (long long)e->id);
  if (roll.n < k) {
    set->short_lengths |= 1ull << roll.n;
    if (key_list_push(keys, roll_key(&roll, set->base_pow, (unsigned)roll.n)))
      return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  }
  uint64_t *mine = keys->v + first;
  size_t n = keys->n - first, distinct = 0;
  qsort(mine, n, sizeof *mine, cmp_u64);
  for (size_t i = 0; i < n && distinct < TD_MAX_SHINGLES; i++)
    if (!distinct || mine[i] != mine[distinct - 1]) mine[distinct++] = mine[i];
  keys->n = first + distinct;
  *count = distinct;
  return HG_OK;
}

static uint32_t threshold_for(size_t shingles, const hg_takedown_options *o) {
  /* float min_ratio is not exact (0.6f * 5 = 3.0000001): a thousandth of a shingle of slack keeps the ceiling
   * where the user meant it */
  double by_ratio = (double)o->min_ratio * (double)shingles - 1e-3;
  size_t ratio_ceil = by_ratio > 0 ? (size_t)by_ratio : 0; /* by hand: the library does not link libm */
  if ((double)ratio_ceil < by_ratio) ratio_ceil++;
  size_t t = o->min_shingles < shingles ? o->min_shingles : shingles;
  if (ratio_ceil > t) t = ratio_ceil;
  if (t < 1) t = 1;
  if (t > shingles) t = shingles;
  return (uint32_t)t;
}

static void set_free(hg_takedown_set *set) {
  if (!set) return;
  free(set->ids);
  free(set->threshold);
  free(set->keys);
  free(set->shingle_of);
  free(set->filter);
  free(set->posting_start);
  free(set->postings);
  free(set);
}

/* Fills the table from every takedown's keys (keys of takedown e are keys[key_start[e] .. key_start[e + 1])). */
static hg_status build_table(hg_takedown_set *set, const key_list *keys, const size_t *key_start, hg_error *err) {
  size_t total = keys->n;
  if (!total) return HG_OK;
  if (total >= UINT32_MAX)
    return hg_fail(err, HG_ERR_LIMIT, 0, 0, "too many shingles in one set (%zu); split the takedowns", total);
  /* load at most three quarters: the filter answers nearly all misses, so the longer probes of a fuller table are
   * paid on hits, which are rare, and the table is a third smaller than at one half */
  set->slots = total + total / 3 + 1;
  uint32_t *shingle_of_key = malloc(total * sizeof *shingle_of_key);
  uint32_t *fill = NULL;
  set->keys = calloc(set->slots, sizeof *set->keys);
  set->shingle_of = malloc(set->slots * sizeof *set->shingle_of);
  if (!set->keys || !set->shingle_of || !shingle_of_key) goto nomem;
  uint32_t shingles = 0;
  for (size_t i = 0; i < total; i++) {
    uint64_t key = keys->v[i];
    size_t slot = table_home(key, set->slots);
    while (set->keys[slot] && set->keys[slot] != key)
      if (++slot == set->slots) slot = 0;
    if (!set->keys[slot]) {
      set->keys[slot] = key;
      set->shingle_of[slot] = shingles++;
    }
    shingle_of_key[i] = set->shingle_of[slot];
  }
  set->shingles = shingles;
  set->filter_words = ((size_t)shingles * 10 + 63) / 64;
  set->filter = calloc(set->filter_words, sizeof *set->filter);
  if (!set->filter) goto nomem;
  for (size_t slot = 0; slot < set->slots; slot++)
    if (set->keys[slot]) set->filter[filter_word(set->keys[slot], set->filter_words)] |= filter_bits(set->keys[slot]);
  set->posting_start = calloc((size_t)shingles + 1, sizeof *set->posting_start);
  set->postings = malloc(total * sizeof *set->postings);
  fill = calloc(shingles, sizeof *fill);
  if (!set->posting_start || !set->postings || !fill) goto nomem;
  for (size_t i = 0; i < total; i++)
    set->posting_start[shingle_of_key[i] + 1]++;
  for (uint32_t s = 0; s < shingles; s++)
    set->posting_start[s + 1] += set->posting_start[s];
  /* takedowns in input order, so each posting list comes out ascending */
  for (size_t e = 0; e < set->count; e++)
    for (size_t i = key_start[e]; i < key_start[e + 1]; i++) {
      uint32_t s = shingle_of_key[i];
      set->postings[set->posting_start[s] + fill[s]++] = (uint32_t)e;
    }
  free(shingle_of_key);
  free(fill);
  return HG_OK;
nomem:
  free(shingle_of_key);
  free(fill);
  return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
}

hg_status hg_takedown_set_build(const hg_takedown_entry *entries, size_t n, const hg_takedown_options *options,
                                hg_takedown_set **out, hg_error *err) {
  if (!out) return hg_fail(err, HG_ERR_INVALID, 0, 0, "no place for the takedown set");
  *out = NULL;
  if (!entries && n) return hg_fail(err, HG_ERR_INVALID, 0, 0, "no takedown entries");
  hg_takedown_options defaults;
  hg_takedown_options_init(&defaults);
  const hg_takedown_options *o = options ? options : &defaults;
  if (o->shingle_chars < 1 || o->shingle_chars > TD_MAX_SHINGLE_CHARS)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "shingle_chars must be between 1 and %u (got %u)", TD_MAX_SHINGLE_CHARS,
                   o->shingle_chars);
  if (!(o->min_ratio >= 0.0f && o->min_ratio <= 1.0f))
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "min_ratio must be between 0 and 1 (got %g)", (double)o->min_ratio);
  if (n >= UINT32_MAX) return hg_fail(err, HG_ERR_LIMIT, 0, 0, "too many takedowns in one set (%zu)", n);

  hg_takedown_set *set = calloc(1, sizeof *set);
  key_list keys = {0};
  size_t *key_start = malloc((n + 1) * sizeof *key_start);
  hg_status st = HG_OK;
  if (!set || !key_start) {
    st = hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
    goto done;
  }
  atomic_init(&set->refs, 1);
  set->shingle_chars = o->shingle_chars;
  set->count = n;
  set->base_pow[0] = 1;
  for (unsigned l = 1; l <= TD_MAX_SHINGLE_CHARS; l++)
    set->base_pow[l] = set->base_pow[l - 1] * TD_HASH_BASE;
  set->ids = malloc((n ? n : 1) * sizeof *set->ids);
  set->threshold = malloc((n ? n : 1) * sizeof *set->threshold);
  if (!set->ids || !set->threshold) {
    st = hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
    goto done;
  }
  for (size_t e = 0; e < n; e++) {
    if (entries[e].id == 0) {
      /* 0 is what a scan reports for "no match" */
      st = hg_fail(err, HG_ERR_INVALID, 0, 0, "takedown #%zu has id 0; ids must not be 0", e + 1);
      goto done;
    }
    size_t count;
    key_start[e] = keys.n;
    if ((st = shingle_entry(set, &entries[e], &keys, &count, err))) goto done;
    set->ids[e] = entries[e].id;
    set->threshold[e] = threshold_for(count, o);
  }
  key_start[n] = keys.n;
  set->short_count = (unsigned)__builtin_popcountll(set->short_lengths);
  st = build_table(set, &keys, key_start, err);
done:
  free(keys.v);
  free(key_start);
  if (st) {
    set_free(set);
    return st;
  }
  *out = set;
  return HG_OK;
}

hg_takedown_set *hg_takedown_set_ref(hg_takedown_set *set) {
  if (set) atomic_fetch_add_explicit(&set->refs, 1, memory_order_relaxed);
  return set;
}

void hg_takedown_set_unref(hg_takedown_set *set) {
  if (set && atomic_fetch_sub_explicit(&set->refs, 1, memory_order_acq_rel) == 1) set_free(set);
}

size_t hg_takedown_set_count(const hg_takedown_set *set) { return set ? set->count : 0; }

hg_status hg_takedown_scanner_new(hg_takedown_set *set, hg_takedown_scanner **out) {
  if (!out) return HG_ERR_INVALID;
  *out = NULL;
  if (!set) return HG_ERR_INVALID;
  hg_takedown_scanner *sc = calloc(1, sizeof *sc);
  if (!sc) return HG_ERR_NOMEM;
  sc->set = hg_takedown_set_ref(set);
  *out = sc;
  return HG_OK;
}

void hg_takedown_scanner_reset(hg_takedown_scanner *sc) {
  hg_takedown_set *set = sc->set;
  uint32_t *seen = sc->seen;
  uint32_t(*tracked)[2] = sc->tracked;
  size_t seen_slots = sc->seen_slots, tracked_slots = sc->tracked_slots;
  if (seen) memset(seen, 0, seen_slots * sizeof *seen);
  if (tracked) memset(tracked, 0, tracked_slots * sizeof *tracked);
  memset(sc, 0, sizeof *sc);
  sc->set = set;
  sc->seen = seen;
  sc->seen_slots = seen_slots;
  sc->tracked = tracked;
  sc->tracked_slots = tracked_slots;
}

void hg_takedown_scanner_free(hg_takedown_scanner *sc) {
  if (!sc) return;
  hg_takedown_set_unref(sc->set);
  free(sc->seen);
  free(sc->tracked);
  free(sc);
}

static size_t small_hash(uint32_t x, size_t slots) {
  return (size_t)(((uint64_t)x * 0x9E3779B97F4A7C15ull) >> 32) & (slots - 1);
}

/* Marks shingle s as counted. Returns 1 when it is new, 0 when it was already counted, -1 on no memory; past
 * TD_MAX_SEEN a new shingle is treated as counted, so that it changes nothing. */
static int seen_add(hg_takedown_scanner *sc, uint32_t s) {
  uint32_t key = s + 1;
  if (sc->seen_slots) {
    for (size_t i = small_hash(key, sc->seen_slots);; i = (i + 1) & (sc->seen_slots - 1)) {
      if (sc->seen[i] == key) return 0;
      if (!sc->seen[i]) break;
    }
  }
  if (sc->seen_count >= TD_MAX_SEEN) return 0;
  if ((sc->seen_count + 1) * 2 > sc->seen_slots) {
    size_t slots = sc->seen_slots ? sc->seen_slots * 2 : 64;
    uint32_t *t = calloc(slots, sizeof *t);
    if (!t) return -1;
    for (size_t j = 0; j < sc->seen_slots; j++) {
      if (!sc->seen[j]) continue;
      size_t i = small_hash(sc->seen[j], slots);
      while (t[i])
        i = (i + 1) & (slots - 1);
      t[i] = sc->seen[j];
    }
    free(sc->seen);
    sc->seen = t;
    sc->seen_slots = slots;
  }
  size_t i = small_hash(key, sc->seen_slots);
  while (sc->seen[i])
    i = (i + 1) & (sc->seen_slots - 1);
  sc->seen[i] = key;
  sc->seen_count++;
  return 1;
}

/* Counts one more shingle for takedown e and returns its new count; 0 once TD_MAX_TRACKED other takedowns are
 * tracked, and on no memory (which *nomem tells apart). */
static uint32_t tracked_add(hg_takedown_scanner *sc, uint32_t e, int *nomem) {
  uint32_t key = e + 1;
  if (sc->tracked_slots) {
    for (size_t i = small_hash(key, sc->tracked_slots);; i = (i + 1) & (sc->tracked_slots - 1)) {
      if (sc->tracked[i][0] == key) return ++sc->tracked[i][1];
      if (!sc->tracked[i][0]) break;
    }
  }
  if (sc->tracked_count >= TD_MAX_TRACKED) return 0;
  if ((sc->tracked_count + 1) * 2 > sc->tracked_slots) {
    size_t slots = sc->tracked_slots ? sc->tracked_slots * 2 : 32;
    uint32_t(*t)[2] = calloc(slots, sizeof *t);
    if (!t) {
      *nomem = 1;
      return 0;
    }
    for (size_t j = 0; j < sc->tracked_slots; j++) {
      if (!sc->tracked[j][0]) continue;
      size_t i = small_hash(sc->tracked[j][0], slots);
      while (t[i][0])
        i = (i + 1) & (slots - 1);
      t[i][0] = sc->tracked[j][0];
      t[i][1] = sc->tracked[j][1];
    }
    free(sc->tracked);
    sc->tracked = t;
    sc->tracked_slots = slots;
  }
  size_t i = small_hash(key, sc->tracked_slots);
  while (sc->tracked[i][0])
    i = (i + 1) & (sc->tracked_slots - 1);
  sc->tracked[i][0] = key;
  sc->tracked[i][1] = 1;
  sc->tracked_count++;
  return 1;
}

/* Counts shingle s (found in the table) for every takedown that has it; *best becomes the lowest takedown index
 * that reaches its threshold with it. Returns -1 on no memory. */
static int count_shingle(hg_takedown_scanner *sc, uint32_t s, uint32_t *best) {
  const hg_takedown_set *set = sc->set;
  int fresh = seen_add(sc, s);
  if (fresh <= 0) return fresh;
  int nomem = 0;
  for (uint32_t p = set->posting_start[s]; p < set->posting_start[s + 1]; p++) {
    uint32_t e = set->postings[p];
    uint32_t count = tracked_add(sc, e, &nomem);
    if (nomem) return -1;
    if (count == set->threshold[e] && e < *best) *best = e;
  }
  return 0;
}

/* Window keys wait here until a batch is full, the chunk ends or bad bytes come, and are then looked up in order:
 * a lookup is a cache miss in a table of tens of megabytes, and prefetching a batch lets the misses overlap. The
 * order of counting, and so every decision, is the one of the code points. */
#define TD_BATCH 64 /* at least 1 + TD_MAX_SHINGLE_CHARS - 1 keys: all of one code point fit */

typedef struct td_batch {
  uint64_t key[TD_BATCH];
  uint64_t end_cp[TD_BATCH]; /* code point count at the window's last code point */
  uint8_t len[TD_BATCH];     /* window length in code points */
  size_t word[TD_BATCH];
  uint8_t maybe[TD_BATCH];   /* the filter lets the key through */
  uint8_t ends_cp[TD_BATCH]; /* the last key of a code point: where a match is decided */
  size_t n;
} td_batch;

/* A window that is some takedown's shingle: it starts or extends the run that is held back. A run ends when
 * TD_RUN_GAP windows of shingle_chars in a row hit nothing (a copy with a changed character misses at most
 * shingle_chars windows around it). */
#define TD_RUN_GAP(set) (2u * (set)->shingle_chars)
static void note_hit(hg_takedown_scanner *sc, uint64_t end_cp, unsigned len) {
  uint64_t first = end_cp - len + 1;
  if (!sc->run_last_hit || end_cp - sc->run_last_hit > TD_RUN_GAP(sc->set))
    sc->run_start = sc->cp_start[first % TD_RING];
  sc->run_last_hit = end_cp;
}

/* Looks up the batch. Returns 1 when a takedown matched (sc->matched_id is set), -1 on no memory. */
static int batch_flush(hg_takedown_scanner *sc, td_batch *b) {
  const hg_takedown_set *set = sc->set;
  uint32_t best = UINT32_MAX;
  for (size_t i = 0; i < b->n; i++) {
    uint64_t bits = filter_bits(b->key[i]);
    b->maybe[i] = (set->filter[b->word[i]] & bits) == bits;
    if (b->maybe[i]) __builtin_prefetch(&set->keys[table_home(b->key[i], set->slots)]);
  }
  for (size_t i = 0; i < b->n; i++) {
    int64_t s = b->maybe[i] ? table_find(set, b->key[i]) : -1;
    if (s >= 0) {
      note_hit(sc, b->end_cp[i], b->len[i]);
      if (count_shingle(sc, (uint32_t)s, &best)) return -1;
    }
    if (b->ends_cp[i] && best != UINT32_MAX) {
      sc->matched_id = set->ids[best];
      sc->match_start = sc->run_last_hit ? sc->run_start : sc->cp_start[b->end_cp[i] % TD_RING];
      sc->match_end = sc->cp_end[b->end_cp[i] % TD_RING];
      b->n = 0;
      return 1;
    }
  }
  b->n = 0;
  return 0;
}

static void batch_add(td_batch *b, const hg_takedown_set *set, uint64_t key, uint64_t end_cp, unsigned len) {
  size_t word = filter_word(key, set->filter_words);
  __builtin_prefetch(&set->filter[word]);
  b->end_cp[b->n] = end_cp;
  b->len[b->n] = (uint8_t)len;
  b->key[b->n] = key;
  b->word[b->n] = word;
  b->ends_cp[b->n] = 0;
  b->n++;
}

/* Takes one folded, visible code point that began at source byte src_start. Returns 1 when a takedown matched,
 * -1 on no memory. */
static int scan_visible(hg_takedown_scanner *sc, td_batch *b, uint32_t cp, size_t src_start, size_t src_end) {
  const hg_takedown_set *set = sc->set;
  if (b->n + 1 + set->short_count > TD_BATCH) {
    int r = batch_flush(sc, b);
    if (r) return r;
  }
  roll_push(&sc->roll, cp);
  sc->cp_start[sc->roll.n % TD_RING] = src_start;
  sc->cp_end[sc->roll.n % TD_RING] = src_end;
  size_t before = b->n;
  if (sc->roll.n >= set->shingle_chars)
    batch_add(b, set, roll_key(&sc->roll, set->base_pow, set->shingle_chars), sc->roll.n, set->shingle_chars);
  for (uint64_t lengths = set->short_lengths; lengths; lengths &= lengths - 1) {
    unsigned len = (unsigned)__builtin_ctzll(lengths);
    if (len <= sc->roll.n) batch_add(b, set, roll_key(&sc->roll, set->base_pow, len), sc->roll.n, len);
  }
  if (b->n > before) b->ends_cp[b->n - 1] = 1;
  return 0;
}

/* Takes one source code point. Returns 1 when a takedown matched, -1 on no memory. */
static int scan_cp(hg_takedown_scanner *sc, td_batch *b, uint32_t cp, size_t src_start, size_t src_end) {
  if (!sc->set->shingles) return 0;
  uint32_t visible[HG_FOLD_MAX];
  int has_alnum = 0;
  size_t nv = fold_visible(cp, visible, &has_alnum);
  for (size_t j = 0; j < nv; j++) {
    int r = scan_visible(sc, b, visible[j], src_start, src_end);
    if (r) return r;
  }
  return 0;
}

static hg_status utf8_failure(hg_takedown_scanner *sc, uint64_t at, hg_error *err) {
  sc->failed = 1;
  return hg_fail(err, HG_ERR_UTF8, 0, (size_t)at, "invalid UTF-8 at byte offset %llu", (unsigned long long)at);
}

hg_status hg_takedown_scanner_feed(hg_takedown_scanner *sc, const char *chunk, size_t len, int64_t *matched_id,
                                   hg_error *err) {
  if (matched_id) *matched_id = 0;
  if (!sc || !matched_id || (!chunk && len)) return hg_fail(err, HG_ERR_INVALID, 0, 0, "invalid scanner arguments");
  if (sc->matched_id) {
    /* the answer is already decided; what follows cannot undo it */
    *matched_id = sc->matched_id;
    return HG_OK;
  }
  if (sc->failed) return hg_fail(err, HG_ERR_INVALID, 0, 0, "the scanner stopped at invalid UTF-8");
  const uint8_t *s = (const uint8_t *)chunk;
  uint64_t base = sc->offset, bad_at = 0;
  int bad = 0, r = 0;
  size_t i = 0;
  td_batch batch;
  batch.n = 0;
  while (sc->pending_len && i < len) {
    uint32_t cp;
    sc->pending[sc->pending_len++] = s[i++];
    int k = hg_utf8_decode(sc->pending, sc->pending_len, &cp);
    if (k < 0) {
      bad = 1;
      bad_at = base - (sc->pending_len - i);
    } else if (k > 0) {
      sc->pending_len = 0;
      r = scan_cp(sc, &batch, cp, (size_t)(base + i) - (size_t)k, (size_t)(base + i));
    }
    if (bad) break;
  }
  while (i < len && !r && !bad) {
    uint32_t cp;
    int k;
    if (s[i] < 0x80) {
      cp = s[i];
      k = 1;
    } else if ((k = hg_utf8_decode(s + i, len - i, &cp)) <= 0) {
      if (k < 0) {
        bad = 1;
        bad_at = base + i;
        break;
      }
      /* a sequence cut by the end of the chunk: at most 3 bytes, completed by the next one */
      memcpy(sc->pending, s + i, len - i);
      sc->pending_len = (unsigned)(len - i);
      break;
    }
    i += (size_t)k;
    r = scan_cp(sc, &batch, cp, (size_t)(base + i) - (size_t)k, (size_t)(base + i));
  }
  /* the code points before bad bytes are decided first, as they would be one by one */
  if (!r) r = batch_flush(sc, &batch);
  sc->offset = base + len;
  if (r < 0) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  if (!r && bad) return utf8_failure(sc, bad_at, err);
  *matched_id = sc->matched_id;
  return HG_OK;
}

hg_status hg_takedown_scanner_feed_view(hg_takedown_scanner *sc, const hg_norm_char *v, size_t n, size_t stream_bytes,
                                        int64_t *matched_id, hg_error *err) {
  if (matched_id) *matched_id = 0;
  if (!sc || !matched_id || (!v && n)) return hg_fail(err, HG_ERR_INVALID, 0, 0, "invalid scanner arguments");
  sc->offset = stream_bytes;
  if (sc->matched_id) {
    *matched_id = sc->matched_id;
    return HG_OK;
  }
  if (sc->failed) return hg_fail(err, HG_ERR_INVALID, 0, 0, "the scanner stopped at invalid UTF-8");
  if (!sc->set->shingles) return HG_OK;
  td_batch batch;
  batch.n = 0;
  int r = 0;
  for (size_t i = 0; i < n && !r; i++)
    if (!(v[i].flags & (HG_CHAR_NOISE | HG_NORM_IGNORABLE)))
      r = scan_visible(sc, &batch, v[i].cp, v[i].src_start, v[i].src_end);
  if (!r) r = batch_flush(sc, &batch);
  if (r < 0) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  *matched_id = sc->matched_id;
  return HG_OK;
}

int hg_takedown_scanner_match_span(const hg_takedown_scanner *sc, size_t *start, size_t *end) {
  if (!sc->matched_id) return 0;
  *start = sc->match_start;
  *end = sc->match_end;
  return 1;
}

size_t hg_takedown_scanner_hold_from(const hg_takedown_scanner *sc) {
  const hg_takedown_set *set = sc->set;
  uint64_t n = sc->roll.n;
  if (!set->shingles || !n) return SIZE_MAX;
  size_t hold = SIZE_MAX;
  if (sc->run_last_hit && n - sc->run_last_hit <= TD_RUN_GAP(set)) hold = sc->run_start;
  /* the last shingle_chars - 1 code points may begin a shingle that is not complete yet */
  uint64_t pending = set->shingle_chars - 1;
  if (pending) {
    uint64_t first = n > pending ? n - pending + 1 : 1;
    if (sc->cp_start[first % TD_RING] < hold) hold = sc->cp_start[first % TD_RING];
  }
  return hold;
}

hg_status hg_takedown_match(hg_takedown_set *set, const char *text, size_t len, int64_t *matched_id, hg_error *err) {
  if (matched_id) *matched_id = 0;
  if (!set || !matched_id) return hg_fail(err, HG_ERR_INVALID, 0, 0, "invalid arguments");
  hg_takedown_scanner *sc;
  if (hg_takedown_scanner_new(set, &sc)) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  hg_status st = hg_takedown_scanner_feed(sc, text, len, matched_id, err);
  /* Unlike a stream, the whole text is here: a sequence still incomplete at its end never will be. A match found
   * before it stands, as it would in a stream. */
  if (!st && !*matched_id && sc->pending_len) {
    size_t at = len - sc->pending_len;
    st = hg_fail(err, HG_ERR_UTF8, 0, at, "invalid UTF-8 at byte offset %zu (truncated sequence at the end)", at);
  }
  hg_takedown_scanner_free(sc);
  return st;
}
