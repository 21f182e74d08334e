/* image.c — checking, mapping, saving and sharing compiled lexicon images.
 *
 * The loader trusts nothing: it checks magic, version, size, checksum and the fold tables the image was built
 * with, then every section's bounds and every index inside (transition targets, failure and output links, entry
 * numbers, string offsets), so that a scan over a loaded image can never read out of bounds, whatever the file
 * holds. That check is linear in the image size and runs once per load. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/crc32.h"
#include "base/error.h"
#include "base/file.h"
#include "hegui/text.h"
#include "lexicon_internal.h"
#include "source_internal.h"

static hg_status corrupt(hg_error *err, const char *what) {
  return hg_fail(err, HG_ERR_CORRUPT, 0, 0, "lexicon image is corrupt: %s", what);
}

static const void *section(const hg_lexicon *l, const img_section *tab, int id, size_t elem, size_t *count) {
  const img_section *s = &tab[id];
  if (s->offset > l->size || s->size > l->size - s->offset || s->offset % 8 || s->size % elem) return NULL;
  *count = (size_t)(s->size / elem);
  return l->base + s->offset;
}

/* The pair filter of a validated symbol lane (lexicon_internal.h): about 8 bits per edge (one hash: about 12% of
 * absent pairs pass), at least 4 Ki bits. */
static hg_status build_pairs(lane_view *v, hg_error *err) {
  uint32_t ns = v->info.states;
  uint64_t bits = 4096;
  unsigned log2 = 12;
  while (bits < 8ull * v->info.edges && log2 < 26)
    bits <<= 1, log2++;
  uint32_t *last = calloc(ns, sizeof *last);
  v->pairs = calloc(bits / 64, sizeof *v->pairs);
  if (!last || !v->pairs) {
    free(last);
    return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  }
  v->pairs_shift = 64 - log2;
  for (uint32_t a = 0; a < v->info.alphabet; a++)
    if (v->root[a]) last[v->root[a]] = a;
  for (uint32_t e = 0; e < v->info.edges; e++) /* the symbol of the edge into each state (0: an empty slot) */
    if (v->edges[e].sym) last[v->edges[e].next] = v->edges[e].sym;
  for (uint32_t s = 1; s < ns; s++) {
    const img_state *x = &v->states[s];
    for (uint32_t e = x->edge_off; e < x->edge_off + x->edge_count; e++) {
      const img_edge *ed = &v->edges[e];
      if (!ed->sym) continue; /* an empty slot of a hashed table */
      uint64_t bit = ((((uint64_t)last[s] << 32) | ed->sym) * 0x9E3779B97F4A7C15ull) >> v->pairs_shift;
      v->pairs[bit >> 6] |= 1ull << (bit & 63);
    }
  }
  free(last);
  return HG_OK;
}

/* The start filter (lexicon_internal.h): every path of up to `depth` symbols from the root of a lane, marked
 * START_END when it ends in a state with outputs. 16 slots per path: some 6% of absent paths pass. */
typedef struct start_item {
  uint32_t state;
  uint64_t hash;
} start_item;

static size_t start_paths(const lane_view *v, unsigned depth, uint64_t *bits, unsigned shift, int lane) {
  size_t count = 0, cap = 1024, n = 0;
  start_item *stack = malloc(cap * sizeof *stack);
  if (!stack) return (size_t)-1;
  for (uint32_t a = 1; a < v->info.alphabet; a++)
    if (v->root[a]) {
      if (n == cap) {
        start_item *ns = realloc(stack, (cap *= 2) * sizeof *stack);
        if (!ns) return free(stack), (size_t)-1;
        stack = ns;
      }
      stack[n++] = (start_item){v->root[a], start_hash(start_seed(lane), a)};
    }
  while (n) {
    start_item it = stack[--n];
    const img_state *st = &v->states[it.state];
    count++;
    if (bits) {
      uint64_t slot = start_slot(shift, it.hash);
      bits[slot >> 5] |= (uint64_t)(START_PATH | (st->out_count ? START_END : 0)) << ((slot & 31) * 2);
    }
    if (st->depth >= depth) continue;
    for (uint32_t e = st->edge_off; e < st->edge_off + st->edge_count; e++) {
      const img_edge *ed = &v->edges[e];
      if (!ed->sym) continue; /* an empty slot of a hashed table */
      if (n == cap) {
        start_item *ns = realloc(stack, (cap *= 2) * sizeof *stack);
        if (!ns) return free(stack), (size_t)-1;
        stack = ns;
      }
      stack[n++] = (start_item){ed->next, start_hash(it.hash, ed->sym)};
    }
  }
  free(stack);
  return count;
}

static hg_status build_start_filter(hg_lexicon *l, hg_error *err) {
  size_t raw = start_paths(&l->lanes[LANE_RAW], START_RAW_DEPTH, NULL, 0, LANE_RAW);
  size_t fold = start_paths(&l->lanes[LANE_FOLD], START_FOLD_DEPTH, NULL, 0, LANE_FOLD);
  if (raw == (size_t)-1 || fold == (size_t)-1) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  uint64_t slots = 4096;
  unsigned log2 = 12;
  while (slots < 16ull * (raw + fold) && log2 < 26)
    slots <<= 1, log2++;
  if (!(l->start_bits = calloc(slots / 32, sizeof *l->start_bits)))
    return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  l->start_shift = 64 - log2;
  if (start_paths(&l->lanes[LANE_RAW], START_RAW_DEPTH, l->start_bits, l->start_shift, LANE_RAW) == (size_t)-1 ||
      start_paths(&l->lanes[LANE_FOLD], START_FOLD_DEPTH, l->start_bits, l->start_shift, LANE_FOLD) == (size_t)-1)
    return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  return HG_OK;
}

static hg_status check_lane(hg_lexicon *l, const img_section *tab, int lane, size_t entry_count, hg_error *err) {
  lane_view *v = &l->lanes[lane];
  size_t n, k;
  int b = lane * LS_COUNT;
  const img_lane *info = section(l, tab, b + LS_INFO, sizeof(img_lane), &n);
  if (!info || n != 1) return corrupt(err, "lane header");
  v->info = *info;
  uint32_t ns = info->states, ne = info->edges, no = info->outputs;
  if (ns < 1 || info->alphabet < 1 || info->max_depth > 4 * HG_ENTRY_MAX_CHARS) return corrupt(err, "lane sizes");
  if (!(v->root = section(l, tab, b + LS_ROOT, 4, &k)) || k != info->alphabet) return corrupt(err, "root row");
  if (!(v->states = section(l, tab, b + LS_STATES, sizeof(img_state), &k)) || k != ns) return corrupt(err, "states");
  if (!(v->edges = section(l, tab, b + LS_EDGES, sizeof(img_edge), &k)) || k != ne) return corrupt(err, "edges");
  if (!(v->outs = section(l, tab, b + LS_OUTS, sizeof(img_out), &k)) || k != no) return corrupt(err, "outputs");
  const img_state *st = v->states;
  for (uint32_t a = 0; a < info->alphabet; a++)
    if (v->root[a] >= ns || (v->root[a] && st[v->root[a]].depth != 1)) return corrupt(err, "root transition");
  if (st[0].depth != 0) return corrupt(err, "root depth");
  /* Edges and outputs of the states tile their arrays in order; links point to shallower states, so every
   * failure or output chain ends; depths bound how far back a match reaches. */
  uint64_t next_edge = 0, next_out = 0;
  for (uint32_t s = 0; s < ns; s++) {
    const img_state *x = &st[s];
    if (x->edge_off != next_edge || x->out_off != next_out) return corrupt(err, "state index");
    next_edge += x->edge_count;
    next_out += x->out_count;
    if (next_edge > ne || next_out > no) return corrupt(err, "state index range");
    if (s && (x->fail >= ns || st[x->fail].depth >= x->depth)) return corrupt(err, "failure link");
    if (x->olink >= ns || (x->olink && (st[x->olink].depth >= x->depth || !st[x->olink].out_count)))
      return corrupt(err, "output link");
    if (x->depth > info->max_depth) return corrupt(err, "depth");
    uint32_t prev = 0, empty = 0;
    if (x->hashed > 1 || (x->hashed && (x->edge_count < 2 || (x->edge_count & (x->edge_count - 1)))))
      return corrupt(err, "edge table size");
    for (uint32_t e = x->edge_off; e < x->edge_off + x->edge_count; e++) {
      const img_edge *ed = &v->edges[e];
      if (x->hashed && ed->sym == 0) {
        empty++;
        continue;
      }
      if (ed->next >= ns || ed->sym >= info->alphabet || ed->sym == 0) return corrupt(err, "edge");
      if (!x->hashed && e > x->edge_off && ed->sym <= prev) return corrupt(err, "edge order");
      if (st[ed->next].depth != x->depth + 1) return corrupt(err, "edge depth");
      prev = ed->sym;
    }
    if (x->hashed && !empty) return corrupt(err, "full edge table"); /* probing must meet an empty slot */
    for (uint32_t o = x->out_off; o < x->out_off + x->out_count; o++) {
      const img_out *out = &v->outs[o];
      if (out->entry >= entry_count || out->len == 0 || out->len != x->depth) return corrupt(err, "output");
    }
  }
  if (next_edge != ne || next_out != no) return corrupt(err, "state index ends");
  if (lane == LANE_RAW && info->alphabet != 257) return corrupt(err, "raw alphabet");
  if ((lane == LANE_FOLD || lane == LANE_COLLAPSE) && info->alphabet != l->hdr->fold_alphabet)
    return corrupt(err, "fold alphabet");
  if (lane == LANE_SOUND && info->alphabet != (uint64_t)l->hdr->sound_base + l->hdr->fold_alphabet)
    return corrupt(err, "sound alphabet");
  if (info->max_gap > (l->hdr->max_noise ? l->hdr->max_noise : 1)) return corrupt(err, "gap");
  return lane == LANE_RAW ? HG_OK : build_pairs(v, err);
}

static hg_status check_image(hg_lexicon *l, hg_error *err) {
  if (l->size < sizeof(img_header) || memcmp(l->base, IMG_MAGIC, 8) != 0)
    return hg_fail(err, HG_ERR_CORRUPT, 0, 0, "not a hegui lexicon image (bad magic)");
  const img_header *h = (const img_header *)l->base;
  l->hdr = h;
  if (h->version != IMG_VERSION)
    return hg_fail(err, HG_ERR_CORRUPT, 0, 0, "lexicon image version %u, this hegui reads version %u: recompile it",
                   h->version, IMG_VERSION);
  if (h->total_size != l->size)
    return hg_fail(err, HG_ERR_CORRUPT, 0, 0, "lexicon image is truncated or padded: header says %llu bytes, found %zu",
                   (unsigned long long)h->total_size, l->size);
  if (h->section_count != S_COUNT || h->header_size != sizeof(img_header) + S_COUNT * sizeof(img_section) ||
      h->header_size > l->size)
    return corrupt(err, "section table");
  if (hg_crc32(0, l->base + sizeof *h, l->size - sizeof *h) != h->crc)
    return hg_fail(err, HG_ERR_CORRUPT, 0, 0, "lexicon image checksum mismatch: the file is damaged");
  if (h->tables_id != hg_tables_id())
    return hg_fail(err, HG_ERR_CORRUPT, 0, 0,
                   "lexicon image was compiled with other Unicode/OpenCC tables than this hegui: recompile it");
  if (h->max_noise > 64 || h->fold_alphabet < 1 || h->sound_base < 1) return corrupt(err, "header fields");
  const img_section *tab = (const img_section *)(l->base + sizeof(img_header));
  size_t n;
  if (!(l->entries = section(l, tab, S_ENTRIES, sizeof(img_entry), &l->entry_count))) return corrupt(err, "entries");
  if (!(l->strings = section(l, tab, S_STRINGS, 1, &l->strings_len))) return corrupt(err, "strings");
  if (!(l->sym1 = section(l, tab, S_SYM1, 2, &n)) || n != (0x110000 >> 7)) return corrupt(err, "symbol index");
  if (!(l->sym2 = section(l, tab, S_SYM2, 4, &l->sym2_len)) || l->sym2_len % 128 || !l->sym2_len)
    return corrupt(err, "symbol table");
  if (!(l->soundsym = section(l, tab, S_SOUNDSYM, 4, &l->soundsym_len)) || l->soundsym_len != hg_pinyin_count())
    return corrupt(err, "syllable table");
  for (size_t i = 0; i < n; i++)
    if (((size_t)l->sym1[i] + 1) * 128 > l->sym2_len) return corrupt(err, "symbol block");
  if (!(l->cp1 = section(l, tab, S_CP1, 2, &n)) || n != (0x110000 >> 7)) return corrupt(err, "code point index");
  if (!(l->cp2 = section(l, tab, S_CP2, 4, &l->cp2_len)) || l->cp2_len % 128 || !l->cp2_len)
    return corrupt(err, "code point table");
  for (size_t i = 0; i < n; i++)
    if (((size_t)l->cp1[i] + 1) * 128 > l->cp2_len) return corrupt(err, "code point block");
  for (size_t i = 0; i < l->cp2_len; i++)
    if ((l->cp2[i] & CPM_SYM_MASK) >= h->fold_alphabet) return corrupt(err, "code point symbol");
  for (size_t i = 0; i < l->sym2_len; i++)
    if (l->sym2[i] >= h->fold_alphabet) return corrupt(err, "symbol value");
  for (size_t i = 0; i < l->soundsym_len; i++)
    if (l->soundsym[i] >= h->sound_base) return corrupt(err, "syllable symbol");
  for (size_t i = 0; i < l->entry_count; i++) {
    const img_entry *e = &l->entries[i];
    if ((uint64_t)e->text_off + e->text_len >= l->strings_len || l->strings[e->text_off + e->text_len] != 0 ||
        e->category >= HG_CATEGORY_COUNT || e->action > HG_ACTION_ALLOW || e->severity < 1 || e->severity > 5 ||
        !e->modes || (e->modes & ~HG_MODE_ALL))
      return corrupt(err, "entry record");
  }
  for (int lane = 0; lane < LANE_COUNT; lane++) {
    hg_status st = check_lane(l, tab, lane, l->entry_count, err);
    if (st) return st;
  }
  hg_status st = build_start_filter(l, err);
  if (!st) st = hg_ascii_start_build(l, err);
  if (!st) st = hg_exact_build(l, err);
  return st ? st : hg_fold_auto_build(l, err);
}

hg_status hg_lexicon_adopt_image(unsigned char *owned, void *map, size_t len, hg_lexicon **out, hg_error *err) {
  *out = NULL;
  hg_lexicon *l = calloc(1, sizeof *l);
  if (!l) {
    free(owned);
    if (map) munmap(map, len);
    return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  }
  l->refs = 1;
  l->owned = owned;
  l->map = map;
  l->map_len = len;
  l->base = owned ? owned : map;
  l->size = len;
  hg_status st = check_image(l, err);
  if (st) {
    hg_lexicon_unref(l);
    return st;
  }
  *out = l;
  return HG_OK;
}

hg_status hg_lexicon_from_image(const void *data, size_t len, hg_lexicon **out, hg_error *err) {
  unsigned char *copy = malloc(len ? len : 1);
  if (!copy) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  memcpy(copy, data, len);
  return hg_lexicon_adopt_image(copy, NULL, len, out, err);
}

const void *hg_lexicon_image(const hg_lexicon *lex, size_t *len) {
  *len = lex->size;
  return lex->base;
}

hg_status hg_lexicon_open(const char *path, hg_lexicon **out, hg_error *err) {
  *out = NULL;
  struct stat sb;
  int fd = hg_open_lexicon_file(path, &sb, err);
  if (fd < 0) return err ? err->status : HG_ERR_IO;
  char magic[8] = {0};
  ssize_t got = sb.st_size >= 8 ? pread(fd, magic, 8, 0) : 0;
  if (got == 8 && memcmp(magic, IMG_MAGIC, 8) == 0) {
    size_t len = (size_t)sb.st_size;
    void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return hg_fail(err, HG_ERR_IO, 0, 0, "cannot map %s: %s", path, strerror(errno));
    hg_status st = hg_lexicon_adopt_image(NULL, map, len, out, err);
    if (st && err) {
      char msg[sizeof err->message];
      memcpy(msg, err->message, sizeof msg);
      size_t pl = strlen(path);
      if (pl > 120) pl = 120;
      snprintf(err->message, sizeof err->message, "%.*s: %.*s", (int)pl, path, (int)(sizeof msg - pl - 3), msg);
    }
    return st;
  }
  close(fd);
  hg_lexicon_source *src;
  if (hg_lexicon_source_new(&src)) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  hg_status st = hg_lexicon_source_add_file(src, path, NULL, err);
  if (!st) st = hg_lexicon_compile(src, NULL, out, err);
  hg_lexicon_source_free(src);
  return st;
}

hg_status hg_lexicon_save(const hg_lexicon *lex, const char *path, hg_error *err) {
  return hg_file_write_atomic(path, lex->base, lex->size, err);
}

hg_lexicon *hg_lexicon_ref(hg_lexicon *lex) {
  if (lex) __atomic_add_fetch(&lex->refs, 1, __ATOMIC_RELAXED);
  return lex;
}

void hg_lexicon_unref(hg_lexicon *lex) {
  if (!lex || __atomic_sub_fetch(&lex->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
  for (int l = 0; l < LANE_COUNT; l++)
    free(lex->lanes[l].pairs);
  free(lex->start_bits);
  hg_ascii_start_free(&lex->astart);
  hg_exact_free(&lex->exact);
  hg_exact_free(&lex->fold_auto);
  free(lex->owned);
  if (lex->map) munmap(lex->map, lex->map_len);
  free(lex);
}

size_t hg_lexicon_entry_count(const hg_lexicon *lex) { return lex->entry_count; }
unsigned hg_lexicon_max_noise(const hg_lexicon *lex) { return lex->hdr->max_noise; }

hg_status hg_lexicon_entry(const hg_lexicon *lex, size_t index, hg_entry_info *out) {
  if (index >= lex->entry_count) return HG_ERR_INVALID;
  const img_entry *e = &lex->entries[index];
  out->text = lex->strings + e->text_off;
  out->text_len = e->text_len;
  out->category = (hg_category)e->category;
  out->severity = e->severity;
  out->action = (hg_action)e->action;
  out->modes = e->modes;
  return HG_OK;
}

void hg_lexicon_stats_get(const hg_lexicon *lex, hg_lexicon_stats *out) {
  memset(out, 0, sizeof *out);
  for (size_t i = 0; i < lex->entry_count; i++) {
    const img_entry *e = &lex->entries[i];
    if (e->action == HG_ACTION_ALLOW) {
      out->allow++;
      continue;
    }
    out->total++;
    out->per_category[e->category]++;
  }
  for (int l = 0; l < LANE_COUNT; l++)
    out->states += lex->lanes[l].info.states;
  out->image_bytes = lex->size;
}

int hg_lexicon_stats_meets_tc260(const hg_lexicon_stats *s) {
  if (s->total < HG_TC260_MIN_TOTAL) return 0;
  for (int c = HG_CAT_A1A; c <= HG_CAT_A1H; c++)
    if (s->per_category[c] < HG_TC260_MIN_A1) return 0;
  for (int c = HG_CAT_A2A; c <= HG_CAT_A2I; c++)
    if (s->per_category[c] < HG_TC260_MIN_A2) return 0;
  return 1;
}

struct hg_lexicon_slot {
  pthread_mutex_t lock;
  hg_lexicon *current;
};

hg_status hg_lexicon_slot_new(hg_lexicon *initial, hg_lexicon_slot **out) {
  hg_lexicon_slot *s = calloc(1, sizeof *s);
  if (!s) return HG_ERR_NOMEM;
  pthread_mutex_init(&s->lock, NULL);
  s->current = hg_lexicon_ref(initial);
  *out = s;
  return HG_OK;
}

/* The lock covers only the pointer read and the reference increment; scans run without it. */
hg_lexicon *hg_lexicon_slot_acquire(hg_lexicon_slot *slot) {
  pthread_mutex_lock(&slot->lock);
  hg_lexicon *l = hg_lexicon_ref(slot->current);
  pthread_mutex_unlock(&slot->lock);
  return l;
}

void hg_lexicon_slot_replace(hg_lexicon_slot *slot, hg_lexicon *next) {
  hg_lexicon_ref(next);
  pthread_mutex_lock(&slot->lock);
  hg_lexicon *old = slot->current;
  slot->current = next;
  pthread_mutex_unlock(&slot->lock);
  hg_lexicon_unref(old);
}

void hg_lexicon_slot_free(hg_lexicon_slot *slot) {
  if (!slot) return;
  hg_lexicon_unref(slot->current);
  pthread_mutex_destroy(&slot->lock);
  free(slot);
}
