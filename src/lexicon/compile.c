/* compile.c — from a lexicon source to an image.
 *
 * Each entry becomes one key per lane its modes ask for (see lexicon_internal.h): its bytes for exact mode, its
 * folded skeleton (noise left out, with a mask of where the entry itself had noise) for folded and noise modes,
 * the skeleton with repeats collapsed, its pinyin spellings, its syllables. Keys are inserted into one trie per
 * lane, failure and output links are computed breadth-first, and states are renumbered in breadth-first order so
 * that the hot states near the root sit together. The result is written as one position-independent image that
 * image.c then checks and maps, exactly as it would a file. */
#include <stdlib.h>
#include <string.h>

#include "base/crc32.h"
#include "base/error.h"
#include "hegui/text.h"
#include "lexicon_internal.h"
#include "source_internal.h"
#include "text/fold_table.h"

void hg_compile_options_init(hg_compile_options *o) { o->max_noise = 3; }

/* ---- growable arrays ---- */

typedef struct vec {
  void *data;
  size_t len, cap, elem;
} vec;

static int vec_reserve(vec *v, size_t n) {
  if (n <= v->cap) return 0;
  size_t cap = v->cap ? v->cap : 64;
  while (cap < n)
    cap *= 2;
  void *d = realloc(v->data, cap * v->elem);
  if (!d) return -1;
  v->data = d;
  v->cap = cap;
  return 0;
}

static void *vec_push(vec *v) {
  if (vec_reserve(v, v->len + 1)) return NULL;
  return (char *)v->data + v->elem * v->len++;
}

#define VEC(type) ((vec){NULL, 0, 0, sizeof(type)})
#define VAT(v, type, i) (((type *)(v).data)[i])

/* ---- keys ---- */

typedef struct key {
  size_t sym_off; /* into the lane's symbol pool */
  uint32_t len;
  uint32_t entry;
  uint64_t mask;
  uint8_t mode;
  uint8_t flags;
} key;

typedef struct lane_build {
  vec keys; /* key */
  vec syms; /* uint32_t */
  uint32_t alphabet;
  uint32_t max_gap; /* longest noise run any key of the lane may span */
} lane_build;

/* symbol assignment for folded code points (FOLD, COLLAPSE and part of SOUND share it) */
typedef struct sym_map {
  uint32_t *cp; /* open addressing: key cp + 1 */
  uint32_t *sym;
  size_t cap, count;
} sym_map;

static uint32_t sym_get(sym_map *m, uint32_t cp, int create) {
  if (create && (m->count + 1) * 2 > m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 4096;
    uint32_t *ncp = calloc(cap, sizeof *ncp), *nsym = calloc(cap, sizeof *nsym);
    if (!ncp || !nsym) {
      free(ncp);
      free(nsym);
      return 0;
    }
    for (size_t i = 0; i < m->cap; i++) {
      if (!m->cp[i]) continue;
      size_t j = (m->cp[i] * 2654435761u) & (cap - 1);
      while (ncp[j])
        j = (j + 1) & (cap - 1);
      ncp[j] = m->cp[i];
      nsym[j] = m->sym[i];
    }
    free(m->cp);
    free(m->sym);
    m->cp = ncp;
    m->sym = nsym;
    m->cap = cap;
  }
  if (!m->cap) return 0;
  size_t j = ((cp + 1) * 2654435761u) & (m->cap - 1);
  while (m->cp[j]) {
    if (m->cp[j] == cp + 1) return m->sym[j];
    j = (j + 1) & (m->cap - 1);
  }
  if (!create) return 0;
  m->cp[j] = cp + 1;
  m->sym[j] = (uint32_t)++m->count;
  return m->sym[j];
}

static unsigned edge_rule(unsigned flags) {
  if (flags & HG_CHAR_DIGIT) return RULE_DIGIT;
  if (flags & HG_CHAR_WORD) return RULE_WORD;
  return RULE_NONE;
}

#define SOUND_FOLDREF 0x80000000u

typedef struct compiler {
  const hg_compile_options *opt;
  lane_build lanes[LANE_COUNT];
  sym_map fold;
  uint32_t *syllable_sym; /* syllable id -> SOUND symbol */
  uint32_t syllables_used;
} compiler;

static int add_key(compiler *c, int lane, uint32_t entry, const uint32_t *syms, size_t len, uint64_t mask,
                   unsigned mode, unsigned flags) {
  lane_build *l = &c->lanes[lane];
  size_t off = l->syms.len;
  if (vec_reserve(&l->syms, off + len)) return -1;
  memcpy((uint32_t *)l->syms.data + off, syms, len * sizeof *syms);
  l->syms.len += len;
  key *k = vec_push(&l->keys);
  if (!k) return -1;
  *k = (key){off, (uint32_t)len, entry, mask, (uint8_t)mode, (uint8_t)flags};
  uint32_t gap = (flags & OUT_ANY_GAP) ? c->opt->max_noise : 0;
  /* where the entry itself has a space or mark, the text may have one to max_noise (at least one) there: the bound
   * lane_outputs (scan.c) checks a marked gap against */
  uint32_t marked = c->opt->max_noise ? c->opt->max_noise : 1;
  if (mask && gap < marked) gap = marked;
  if (gap > l->max_gap) l->max_gap = gap;
  return 0;
}

/* Builds the keys of one entry. Returns an hg_status. */
static hg_status entry_keys(compiler *c, const src_entry *e, uint32_t index, hg_error *err) {
  hg_norm_char *v;
  size_t n;
  hg_status st = hg_normalize(e->text, e->text_len, &v, &n, err);
  if (st) return st;
  uint32_t skel[HG_ENTRY_MAX_CHARS], skel_flags[HG_ENTRY_MAX_CHARS], buf[4 * HG_ENTRY_MAX_CHARS];
  uint64_t mask = 0;
  size_t ns = 0;
  int pending_noise = 0;
  for (size_t i = 0; i < n; i++) {
    if (v[i].flags & HG_CHAR_NOISE) {
      pending_noise = ns > 0;
      continue;
    }
    if (ns == HG_ENTRY_MAX_CHARS) {
      free(v);
      return hg_fail(err, HG_ERR_LIMIT, 0, 0, "entry '%s' is longer than %d characters", e->text, HG_ENTRY_MAX_CHARS);
    }
    if (pending_noise) mask |= 1ull << (ns - 1);
    pending_noise = 0;
    skel_flags[ns] = v[i].flags;
    skel[ns++] = v[i].cp;
  }
  unsigned first_rule = 0, last_rule = 0;
  for (size_t i = 0; i < n; i++)
    if (!(v[i].flags & HG_CHAR_NOISE)) {
      first_rule = edge_rule(v[i].flags);
      break;
    }
  for (size_t i = n; i-- > 0;)
    if (!(v[i].flags & HG_CHAR_NOISE)) {
      last_rule = edge_rule(v[i].flags);
      break;
    }
  free(v);
  if (!ns) return hg_fail(err, HG_ERR_PARSE, 0, 0, "entry '%s' has no letters or digits", e->text);
  unsigned allow = e->action == HG_ACTION_ALLOW ? OUT_ALLOW : 0;
  unsigned rules = first_rule | (last_rule << 2) | allow;
  unsigned gap = (e->modes & HG_MODE_NOISE) ? OUT_ANY_GAP : 0;
  int oom = 0;

  if (e->modes & HG_MODE_EXACT) {
    const unsigned char *t = (const unsigned char *)e->text;
    for (size_t i = 0; i < e->text_len; i++)
      buf[i] = t[i] + 1u;
    oom |= add_key(c, LANE_RAW, index, buf, e->text_len, 0, HG_MODE_EXACT, rules);
  }
  if (e->modes & (HG_MODE_FOLDED | HG_MODE_NOISE)) {
    for (size_t i = 0; i < ns; i++)
      oom |= !(buf[i] = sym_get(&c->fold, skel[i], 1));
    oom |= add_key(c, LANE_FOLD, index, buf, ns, mask, gap ? HG_MODE_NOISE : HG_MODE_FOLDED, rules | gap);
  }
  if (e->modes & HG_MODE_COLLAPSE) {
    size_t m = 0;
    uint64_t cmask = 0;
    for (size_t i = 0; i < ns; i++) {
      uint32_t s = sym_get(&c->fold, skel[i], 1);
      oom |= !s;
      if (m && buf[m - 1] == s) {
        if (mask >> (i - 1) & 1) cmask |= 1ull << (m - 1);
        continue;
      }
      if (m && (mask >> (i - 1) & 1)) cmask |= 1ull << (m - 1);
      buf[m++] = s;
    }
    /* An entry that collapses to one character ("哈哈" -> "哈") would match that character anywhere: it keeps
     * its plain folded key instead. */
    if (m >= 2 || ns < 2) {
      oom |= add_key(c, LANE_COLLAPSE, index, buf, m, cmask, HG_MODE_COLLAPSE, rules | gap);
    } else if (!(e->modes & (HG_MODE_FOLDED | HG_MODE_NOISE))) {
      for (size_t i = 0; i < ns; i++)
        buf[i] = sym_get(&c->fold, skel[i], 0);
      oom |= add_key(c, LANE_FOLD, index, buf, ns, mask, gap ? HG_MODE_NOISE : HG_MODE_FOLDED, rules | gap);
    }
  }
  if (e->modes & HG_MODE_PINYIN) {
    /* Full pinyin and initials, for entries whose Han characters all have a reading. Initials of one or two
     * characters ("md") are everyday Latin words and file suffixes, so initials need at least three. */
    uint32_t full[HG_ENTRY_MAX_CHARS], init[HG_ENTRY_MAX_CHARS];
    size_t nf = 0, ni = 0, han = 0;
    int ok = 1, full_fits = 1;
    for (size_t i = 0; i < ns && ok; i++) {
      const char *py = (skel_flags[i] & HG_CHAR_HAN) ? hg_pinyin(skel[i]) : NULL;
      if (py) {
        han++;
        for (const char *p = py; *p; p++) {
          if (nf == HG_ENTRY_MAX_CHARS)
            full_fits = 0;
          else
            full[nf++] = sym_get(&c->fold, (unsigned char)*p, 1);
        }
        init[ni++] = sym_get(&c->fold, (unsigned char)py[0], 1);
      } else if (skel_flags[i] & HG_CHAR_WORD) {
        uint32_t s = sym_get(&c->fold, skel[i], 1);
        if (nf == HG_ENTRY_MAX_CHARS)
          full_fits = 0;
        else
          full[nf++] = s;
        init[ni++] = s;
      } else {
        ok = 0;
      }
    }
    unsigned prules = RULE_WORD | (RULE_WORD << 2) | allow | OUT_ANY_GAP;
    if (ok && han) {
      if (full_fits) oom |= add_key(c, LANE_FOLD, index, full, nf, 0, HG_MODE_PINYIN, prules);
      if (ni >= 3 && ni != nf) oom |= add_key(c, LANE_FOLD, index, init, ni, 0, HG_MODE_PINYIN, prules);
    }
  }
  if (e->modes & HG_MODE_HOMOPHONE) {
    for (size_t i = 0; i < ns; i++) {
      unsigned pid = (skel_flags[i] & HG_CHAR_HAN) ? hg_pinyin_id(skel[i]) : 0;
      if (pid) {
        if (!c->syllable_sym[pid]) c->syllable_sym[pid] = ++c->syllables_used;
        buf[i] = c->syllable_sym[pid];
      } else {
        oom |= !sym_get(&c->fold, skel[i], 1);
        buf[i] = SOUND_FOLDREF | skel[i];
      }
    }
    oom |= add_key(c, LANE_SOUND, index, buf, ns, mask, HG_MODE_HOMOPHONE, rules | gap);
  }
  return oom ? hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory") : HG_OK;
}

/* ---- trie and Aho-Corasick ---- */

typedef struct edge {
  uint32_t parent, sym, child;
} edge;

typedef struct trie {
  uint64_t *hkey; /* (parent << 32 | sym) + 1, 0 = empty */
  uint32_t *hval;
  size_t hcap;
  uint32_t nodes;
  vec depth;    /* uint16_t per node */
  vec out_head; /* uint32_t per node: first key + 1 */
  uint32_t *out_next;
} trie;

static int trie_grow(trie *t) {
  size_t cap = t->hcap ? t->hcap * 2 : 1 << 12;
  uint64_t *k = calloc(cap, sizeof *k);
  uint32_t *v = malloc(cap * sizeof *v);
  if (!k || !v) {
    free(k);
    free(v);
    return -1;
  }
  for (size_t i = 0; i < t->hcap; i++) {
    if (!t->hkey[i]) continue;
    size_t j = (t->hkey[i] * 0x9E3779B97F4A7C15ull) >> 20 & (cap - 1);
    while (k[j])
      j = (j + 1) & (cap - 1);
    k[j] = t->hkey[i];
    v[j] = t->hval[i];
  }
  free(t->hkey);
  free(t->hval);
  t->hkey = k;
  t->hval = v;
  t->hcap = cap;
  return 0;
}

static int64_t trie_child(trie *t, uint32_t parent, uint32_t sym, int create) {
  if (create && ((size_t)t->nodes + 1) * 2 > t->hcap && trie_grow(t)) return -1;
  uint64_t k = (((uint64_t)parent << 32) | sym) + 1;
  size_t j = (k * 0x9E3779B97F4A7C15ull) >> 20 & (t->hcap - 1);
  while (t->hkey[j]) {
    if (t->hkey[j] == k) return t->hval[j];
    j = (j + 1) & (t->hcap - 1);
  }
  if (!create) return 0;
  uint16_t *d = vec_push(&t->depth);
  uint32_t *o = vec_push(&t->out_head);
  if (!d || !o) return -1;
  *d = (uint16_t)(VAT(t->depth, uint16_t, parent) + 1);
  *o = 0;
  t->hkey[j] = k;
  t->hval[j] = t->nodes;
  return t->nodes++;
}

static int cmp_edge(const void *a, const void *b) {
  const edge *x = a, *y = b;
  if (x->parent != y->parent) return x->parent < y->parent ? -1 : 1;
  return x->sym < y->sym ? -1 : x->sym > y->sym;
}

/* image writer */
typedef struct writer {
  vec bytes; /* unsigned char */
  img_section sec[S_COUNT];
} writer;

static int put_section(writer *w, int id, const void *data, size_t size) {
  size_t off = (w->bytes.len + 7) & ~(size_t)7;
  if (vec_reserve(&w->bytes, off + size + 8)) return -1;
  memset((char *)w->bytes.data + w->bytes.len, 0, off - w->bytes.len);
  if (size) memcpy((char *)w->bytes.data + off, data, size);
  w->bytes.len = off + size;
  w->sec[id].offset = off;
  w->sec[id].size = size;
  return 0;
}

/* Builds the automaton of one lane and appends its sections. */
static hg_status build_lane(compiler *c, int lane_id, writer *w, hg_error *err) {
  lane_build *lb = &c->lanes[lane_id];
  size_t nkeys = lb->keys.len;
  trie t = {0};
  t.depth = VEC(uint16_t);
  t.out_head = VEC(uint32_t);
  hg_status st = HG_ERR_NOMEM;
  edge *edges = NULL;
  uint32_t *eoff_old = NULL, *order = NULL, *newid = NULL, *fail_old = NULL;
  uint32_t *root = NULL;
  img_state *states = NULL;
  img_edge *packed = NULL;
  img_out *outs = NULL;
  if (trie_grow(&t) || !vec_push(&t.depth) || !vec_push(&t.out_head)) goto done;
  VAT(t.depth, uint16_t, 0) = 0;
  VAT(t.out_head, uint32_t, 0) = 0;
  t.nodes = 1;
  t.out_next = calloc(nkeys + 1, sizeof *t.out_next);
  if (!t.out_next) goto done;
  uint32_t max_depth = 0;
  for (size_t k = 0; k < nkeys; k++) {
    key *ky = &VAT(lb->keys, key, k);
    const uint32_t *s = (const uint32_t *)lb->syms.data + ky->sym_off;
    int64_t node = 0;
    for (uint32_t i = 0; i < ky->len; i++)
      if ((node = trie_child(&t, (uint32_t)node, s[i], 1)) < 0) goto done;
    t.out_next[k] = VAT(t.out_head, uint32_t, node);
    VAT(t.out_head, uint32_t, node) = (uint32_t)k + 1;
    if (ky->len > max_depth) max_depth = ky->len;
  }
  uint32_t n = t.nodes;
  size_t ne = 0;
  edges = malloc((n ? n : 1) * sizeof *edges);
  if (!edges) goto done;
  for (size_t i = 0; i < t.hcap; i++)
    if (t.hkey[i]) {
      uint64_t k = t.hkey[i] - 1;
      edges[ne++] = (edge){(uint32_t)(k >> 32), (uint32_t)k, t.hval[i]};
    }
  qsort(edges, ne, sizeof *edges, cmp_edge);
  eoff_old = calloc((size_t)n + 1, sizeof *eoff_old);
  order = malloc((size_t)n * sizeof *order);
  newid = malloc((size_t)n * sizeof *newid);
  fail_old = calloc(n, sizeof *fail_old);
  if (!eoff_old || !order || !newid || !fail_old) goto done;
  for (size_t i = 0; i < ne; i++)
    eoff_old[edges[i].parent + 1]++;
  for (uint32_t i = 0; i < n; i++)
    eoff_old[i + 1] += eoff_old[i];
  /* breadth-first: order and failure links (in old ids) */
  size_t head = 0, tail = 0;
  order[tail++] = 0;
  while (head < tail) {
    uint32_t u = order[head++];
    for (uint32_t e = eoff_old[u]; e < eoff_old[u + 1]; e++) {
      uint32_t v = edges[e].child, sym = edges[e].sym;
      order[tail++] = v;
      if (u == 0) {
        fail_old[v] = 0;
        continue;
      }
      uint32_t f = fail_old[u];
      for (;;) {
        int64_t g = trie_child(&t, f, sym, 0);
        if (g > 0) {
          fail_old[v] = (uint32_t)g;
          break;
        }
        if (f == 0) {
          fail_old[v] = 0;
          break;
        }
        f = fail_old[f];
      }
    }
  }
  for (uint32_t i = 0; i < n; i++)
    newid[order[i]] = i;
  size_t alphabet = lb->alphabet;
  if (ne > 0xFFFFFFFFu || nkeys > 0xFFFFFFFFu) {
    st = HG_ERR_LIMIT;
    goto done;
  }
  root = calloc(alphabet, sizeof *root);
  states = calloc(n, sizeof *states);
  size_t ecap = ne + 16;
  packed = malloc(ecap * sizeof *packed);
  outs = malloc((nkeys ? nkeys : 1) * sizeof *outs);
  if (!root || !states || !packed || !outs) goto done;
  size_t eo = 0, oo = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t old = order[i];
    img_state *sr = &states[i];
    sr->fail = newid[fail_old[old]];
    sr->depth = VAT(t.depth, uint16_t, old);
    sr->edge_off = (uint32_t)eo;
    uint32_t count = eoff_old[old + 1] - eoff_old[old];
    if (count > HASH_EDGES_OVER) {
      uint32_t slots = 16;
      while (slots < count * 2)
        slots *= 2;
      if (eo + slots > ecap) {
        while (eo + slots > ecap)
          ecap *= 2;
        img_edge *np = realloc(packed, ecap * sizeof *packed);
        if (!np) goto done;
        packed = np;
      }
      memset(packed + eo, 0, slots * sizeof *packed);
      for (uint32_t e = eoff_old[old]; e < eoff_old[old + 1]; e++) {
        uint32_t j = edge_hash(edges[e].sym, slots);
        while (packed[eo + j].sym)
          j = (j + 1) & (slots - 1);
        packed[eo + j] = (img_edge){edges[e].sym, newid[edges[e].child]};
      }
      eo += slots;
      sr->hashed = 1;
    } else {
      if (eo + count > ecap) {
        while (eo + count > ecap)
          ecap *= 2;
        img_edge *np = realloc(packed, ecap * sizeof *packed);
        if (!np) goto done;
        packed = np;
      }
      for (uint32_t e = eoff_old[old]; e < eoff_old[old + 1]; e++)
        packed[eo++] = (img_edge){edges[e].sym, newid[edges[e].child]};
    }
    if (old == 0)
      for (uint32_t e = eoff_old[old]; e < eoff_old[old + 1]; e++)
        root[edges[e].sym] = newid[edges[e].child];
    sr->edge_count = (uint16_t)(eo - sr->edge_off); /* at most the alphabet of one position: checked below */
    if (eo - sr->edge_off > 0xFFFF) {
      st = HG_ERR_LIMIT;
      goto done;
    }
    sr->out_off = (uint32_t)oo;
    for (uint32_t k = VAT(t.out_head, uint32_t, old); k; k = t.out_next[k - 1]) {
      key *ky = &VAT(lb->keys, key, k - 1);
      outs[oo++] = (img_out){ky->mask, ky->entry, (uint16_t)ky->len, ky->mode, ky->flags};
    }
    sr->out_count = (uint16_t)(oo - sr->out_off);
    if (oo - sr->out_off > 0xFFFF) {
      st = HG_ERR_LIMIT;
      goto done;
    }
  }
  /* output links: breadth-first order guarantees that a failure target was finished first */
  for (uint32_t i = 1; i < n; i++) {
    uint32_t f = states[i].fail;
    states[i].olink = states[f].out_count ? f : states[f].olink;
  }
  if (eo > 0xFFFFFFFFu) {
    st = HG_ERR_LIMIT;
    goto done;
  }
  img_lane info = {n, (uint32_t)alphabet, (uint32_t)eo, (uint32_t)oo, max_depth, lb->max_gap};
  int base = lane_id * LS_COUNT;
  if (put_section(w, base + LS_INFO, &info, sizeof info) ||
      put_section(w, base + LS_ROOT, root, alphabet * sizeof *root) ||
      put_section(w, base + LS_STATES, states, (size_t)n * sizeof *states) ||
      put_section(w, base + LS_EDGES, packed, eo * sizeof *packed) ||
      put_section(w, base + LS_OUTS, outs, oo * sizeof *outs))
    goto done;
  st = HG_OK;
done:
  free(t.hkey);
  free(t.hval);
  free(t.depth.data);
  free(t.out_head.data);
  free(t.out_next);
  free(edges);
  free(eoff_old);
  free(order);
  free(newid);
  free(fail_old);
  free(root);
  free(states);
  free(packed);
  free(outs);
  if (st == HG_ERR_LIMIT)
    hg_fail(err, st, 0, 0, "lexicon too large for one automaton");
  else if (st)
    hg_fail(err, st, 0, 0, "out of memory building the automaton");
  return st;
}

/* The code point map (see lexicon_internal.h): blocks of 128 source code points, identical blocks shared. */
static int build_cp_map(compiler *c, writer *w) {
  size_t nblocks1 = 0x110000 >> 7, nb = 0, cap = 256;
  uint16_t *cp1 = calloc(nblocks1, sizeof *cp1);
  uint32_t *cp2 = malloc(cap * 128 * sizeof *cp2);
  uint32_t *hash = NULL; /* block index + 1, open addressing over block contents */
  size_t hcap = 32768;   /* over twice the 8704 blocks that exist */
  int rc = -1;
  hash = calloc(hcap, sizeof *hash);
  if (!cp1 || !cp2 || !hash) goto out;
  for (size_t b = 0; b < nblocks1; b++) {
    uint32_t blk[128];
    for (uint32_t i = 0; i < 128; i++) {
      uint32_t cp = (uint32_t)(b << 7) | i, v = hg_fold_value(cp);
      if (v & (FT_IGNORABLE | FT_EXPAND)) {
        blk[i] = CPM_SLOW;
        continue;
      }
      uint32_t fc = (cp + v) & FT_CP_MASK;
      blk[i] = sym_get(&c->fold, fc, 0) | (FT_CHAR_FLAGS(v) << CPM_FLAG_SHIFT);
    }
    uint32_t h = hg_crc32(0, blk, sizeof blk);
    size_t j = h & (hcap - 1);
    while (hash[j] && memcmp(cp2 + (size_t)(hash[j] - 1) * 128, blk, sizeof blk))
      j = (j + 1) & (hcap - 1);
    if (!hash[j]) {
      if (nb == 0xFFFF || nb * 2 >= hcap) goto out; /* at most 8704 blocks exist, well under both */
      if (nb == cap) {
        uint32_t *n2 = realloc(cp2, (cap *= 2) * 128 * sizeof *cp2);
        if (!n2) goto out;
        cp2 = n2;
      }
      memcpy(cp2 + nb * 128, blk, sizeof blk);
      hash[j] = (uint32_t)++nb;
    }
    cp1[b] = (uint16_t)(hash[j] - 1);
  }
  rc = put_section(w, S_CP1, cp1, nblocks1 * sizeof *cp1) || put_section(w, S_CP2, cp2, nb * 128 * sizeof *cp2);
out:
  free(cp1);
  free(cp2);
  free(hash);
  return rc ? -1 : 0;
}

hg_status hg_lexicon_compile(const hg_lexicon_source *src, const hg_compile_options *options, hg_lexicon **out,
                             hg_error *err) {
  hg_compile_options dflt;
  if (!options) {
    hg_compile_options_init(&dflt);
    options = &dflt;
  }
  *out = NULL;
  if (options->max_noise > 64) return hg_fail(err, HG_ERR_INVALID, 0, 0, "max_noise must be at most 64");
  if (src->count > 0xFFFFFFF0u) return hg_fail(err, HG_ERR_LIMIT, 0, 0, "too many entries");
  compiler c = {0};
  c.opt = options;
  for (int i = 0; i < LANE_COUNT; i++) {
    c.lanes[i].keys = VEC(key);
    c.lanes[i].syms = VEC(uint32_t);
  }
  writer w = {0};
  w.bytes = VEC(unsigned char);
  vec strings = VEC(char);
  img_entry *entries = NULL;
  uint16_t *sym1 = NULL;
  uint32_t *sym2 = NULL, *cps = NULL, *soundsym = NULL;
  hg_status st = HG_ERR_NOMEM;
  c.syllable_sym = calloc(hg_pinyin_count() + 1, sizeof *c.syllable_sym);
  entries = calloc(src->count + 1, sizeof *entries);
  if (!c.syllable_sym || !entries) goto fail;
  for (size_t i = 0; i < src->count; i++) {
    const src_entry *e = &src->entries[i];
    if ((st = entry_keys(&c, e, (uint32_t)i, err))) goto out;
    if (vec_reserve(&strings, strings.len + e->text_len + 1)) goto fail;
    entries[i] = (img_entry){(uint32_t)strings.len,
                             (uint32_t)e->text_len,
                             (uint8_t)e->category,
                             (uint8_t)e->severity,
                             (uint8_t)e->action,
                             0,
                             e->modes};
    memcpy((char *)strings.data + strings.len, e->text, e->text_len + 1);
    strings.len += e->text_len + 1;
  }
  if (strings.len > 0xFFFFFFFFu) {
    st = hg_fail(err, HG_ERR_LIMIT, 0, 0, "lexicon text larger than 4 GiB");
    goto out;
  }
  /* alphabets; SOUND keys still hold references to fold symbols */
  uint32_t fold_alphabet = (uint32_t)c.fold.count + 1;
  uint32_t sound_base = c.syllables_used + 1;
  c.lanes[LANE_RAW].alphabet = 257;
  c.lanes[LANE_FOLD].alphabet = fold_alphabet;
  c.lanes[LANE_COLLAPSE].alphabet = fold_alphabet;
  c.lanes[LANE_SOUND].alphabet = sound_base + fold_alphabet;
  {
    uint32_t *s = c.lanes[LANE_SOUND].syms.data;
    for (size_t i = 0; i < c.lanes[LANE_SOUND].syms.len; i++)
      if (s[i] & SOUND_FOLDREF) s[i] = sound_base + sym_get(&c.fold, s[i] & ~SOUND_FOLDREF, 0);
  }
  /* header placeholder + section table */
  size_t header_size = sizeof(img_header) + S_COUNT * sizeof(img_section);
  if (vec_reserve(&w.bytes, header_size)) goto fail;
  memset(w.bytes.data, 0, header_size);
  w.bytes.len = header_size;
  for (int l = 0; l < LANE_COUNT; l++)
    if ((st = build_lane(&c, l, &w, err))) goto out;
  st = HG_ERR_NOMEM;
  if (put_section(&w, S_ENTRIES, entries, src->count * sizeof *entries) ||
      put_section(&w, S_STRINGS, strings.data, strings.len))
    goto fail;
  /* folded code point -> fold symbol, two-stage with one shared zero block */
  {
    size_t nblocks1 = 0x110000 >> 7;
    sym1 = calloc(nblocks1, sizeof *sym1);
    cps = calloc(c.fold.count + 1, sizeof *cps);
    if (!sym1 || !cps) goto fail;
    for (size_t i = 0; i < c.fold.cap; i++)
      if (c.fold.cp[i]) cps[c.fold.sym[i]] = c.fold.cp[i] - 1;
    size_t nb = 1;
    for (size_t s = 1; s <= c.fold.count; s++) {
      size_t b = cps[s] >> 7;
      if (!sym1[b]) {
        if (nb >= 0xFFFF) {
          st = hg_fail(err, HG_ERR_LIMIT, 0, 0, "lexicon alphabet spans too many Unicode blocks");
          goto out;
        }
        sym1[b] = (uint16_t)nb++;
      }
    }
    sym2 = calloc(nb * 128, sizeof *sym2);
    if (!sym2) goto fail;
    for (size_t s = 1; s <= c.fold.count; s++)
      sym2[((size_t)sym1[cps[s] >> 7] << 7) | (cps[s] & 127)] = (uint32_t)s;
    soundsym = calloc(hg_pinyin_count(), sizeof *soundsym);
    if (!soundsym) goto fail;
    memcpy(soundsym, c.syllable_sym, hg_pinyin_count() * sizeof *soundsym);
    if (build_cp_map(&c, &w)) goto fail;
    if (put_section(&w, S_SYM1, sym1, nblocks1 * sizeof *sym1) ||
        put_section(&w, S_SYM2, sym2, nb * 128 * sizeof *sym2) ||
        put_section(&w, S_SOUNDSYM, soundsym, hg_pinyin_count() * sizeof *soundsym))
      goto fail;
  }
  {
    img_header h = {0};
    memcpy(h.magic, IMG_MAGIC, 8);
    h.version = IMG_VERSION;
    h.header_size = (uint32_t)header_size;
    h.total_size = w.bytes.len;
    h.section_count = S_COUNT;
    h.tables_id = hg_tables_id();
    h.max_noise = options->max_noise;
    h.fold_alphabet = fold_alphabet;
    h.sound_base = sound_base;
    unsigned char *b = w.bytes.data;
    memcpy(b + sizeof h, w.sec, sizeof w.sec);
    h.crc = hg_crc32(0, b + sizeof h, w.bytes.len - sizeof h); /* section table and body */
    memcpy(b, &h, sizeof h);
  }
  st = hg_lexicon_adopt_image(w.bytes.data, NULL, w.bytes.len, out, err);
  w.bytes.data = NULL; /* adopted (or freed on failure) */
  goto out;
fail:
  st = hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory compiling the lexicon");
out:
  for (int i = 0; i < LANE_COUNT; i++) {
    free(c.lanes[i].keys.data);
    free(c.lanes[i].syms.data);
  }
  free(c.fold.cp);
  free(c.fold.sym);
  free(c.syllable_sym);
  free(entries);
  free(strings.data);
  free(sym1);
  free(sym2);
  free(cps);
  free(soundsym);
  free(w.bytes.data);
  return st;
}
