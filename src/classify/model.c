/* model.c — loading, checking and running a classifier image, and the feature hashing it was trained with.
 *
 * A score is one dot product per label over the hashed n-grams of the folded text: the text is folded (width,
 * case, Traditional variants collapse), noise is left out (so "傻*逼" and "傻逼" share their bigram), every
 * 1-, 2- and 3-gram of code points is hashed to a bucket, and each bucket holds one int8 weight per label. The
 * loader checks every size and field before a single weight is read, so scoring never leaves the image. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/crc32.h"
#include "base/error.h"
#include "base/file.h"
#include "base/mix.h"
#include "classify_internal.h"
#include "hegui/lexicon.h"
#include "hegui/text.h"

static const char *const abuse_codes[] = {"insult", "spam", "fraud", "malware"};

hg_status hg_classifier_code_parse(const char *code, size_t len, char out[8]) {
  for (size_t i = 0; i < sizeof abuse_codes / sizeof *abuse_codes; i++)
    if (len == strlen(abuse_codes[i]) && !strncasecmp(code, abuse_codes[i], len)) {
      memset(out, 0, 8);
      memcpy(out, abuse_codes[i], len);
      return HG_OK;
    }
  hg_category cat;
  if (hg_category_parse(code, len, &cat) || cat > HG_CAT_A5B) return HG_ERR_PARSE;
  memset(out, 0, 8);
  memcpy(out, hg_category_code(cat), strlen(hg_category_code(cat)));
  return HG_OK;
}

/* n-gram hashes are chained, so each step must mix all bits (base/mix.h) */
#define mix64 hg_mix64

/* The n-gram hashes ending at the last kept code point, carried from one piece of a text to the next. */
typedef struct ngram_state {
  uint64_t h1, h2; /* hashes of the 1- and 2-gram ending at the previous kept code point */
  size_t seen;
  unsigned shift;
} ngram_state;

/* Hashes the n-grams of a piece of the view into f (room for CLS_NGRAM_MAX per char); returns how many. Noise and
 * ignorable code points (the streaming view keeps the latter, as cp 0) are left out. */
static size_t hash_view(ngram_state *s, const hg_norm_char *v, size_t n, uint32_t *f) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (v[i].flags & (HG_CHAR_NOISE | HG_NORM_IGNORABLE)) continue;
    uint64_t cp = v[i].cp;
    uint64_t g1 = mix64((cp << 8) | 1), g2 = 0;
    f[k++] = (uint32_t)(g1 >> s->shift);
    if (s->seen >= 1) {
      g2 = mix64(s->h1 * 0x9E3779B97F4A7C15ull ^ ((cp << 8) | 2));
      f[k++] = (uint32_t)(g2 >> s->shift);
    }
    if (s->seen >= 2) f[k++] = (uint32_t)(mix64(s->h2 * 0x9E3779B97F4A7C15ull ^ ((cp << 8) | 3)) >> s->shift);
    s->h2 = g2;
    s->h1 = g1;
    s->seen++;
  }
  return k;
}

hg_status cls_walk(const char *text, size_t len, unsigned bits, size_t chunk_bytes, cls_sink sink, void *ctx,
                   hg_error *err) {
  ngram_state ns = {.shift = 64 - bits};
  size_t cap = 0, pos = 0;
  uint32_t *f = NULL;
  if (chunk_bytes < 1) chunk_bytes = 1;
  while (pos < len) {
    size_t end = len - pos > chunk_bytes ? pos + chunk_bytes : len, cut = end;
    while (cut > pos && cut < len && ((unsigned char)text[cut] & 0xC0) == 0x80)
      cut--; /* back to a code point's first byte */
    if (cut > pos)
      end = cut;
    else /* a chunk shorter than its first code point: take the whole code point (stray bytes fail the check) */
      while (end < len && end - pos < 4 && ((unsigned char)text[end] & 0xC0) == 0x80)
        end++;
    hg_norm_char *v;
    size_t n;
    hg_error local;
    hg_status st = hg_normalize(text + pos, end - pos, &v, &n, &local);
    if (st) {
      free(f);
      if (st == HG_ERR_UTF8)
        return hg_fail(err, HG_ERR_UTF8, 0, pos + local.offset, "invalid UTF-8 at byte offset %zu", pos + local.offset);
      return hg_fail(err, st, 0, 0, "%s", local.message);
    }
    if (n * CLS_NGRAM_MAX > cap) {
      cap = n * CLS_NGRAM_MAX;
      uint32_t *nf = realloc(f, cap * sizeof *nf);
      if (!nf) {
        free(v);
        free(f);
        return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
      }
      f = nf;
    }
    size_t k = hash_view(&ns, v, n, f);
    free(v);
    if (k) sink(ctx, f, k);
    pos = end;
  }
  free(f);
  return HG_OK;
}

typedef struct collect_ctx {
  uint32_t *v;
  size_t n, cap;
  int failed;
} collect_ctx;

static void collect(void *ctx, const uint32_t *buckets, size_t n) {
  collect_ctx *c = ctx;
  if (c->failed) return;
  if (c->n + n > c->cap) {
    size_t ncap = c->cap ? c->cap : 256;
    while (ncap < c->n + n)
      ncap *= 2;
    uint32_t *nv = realloc(c->v, ncap * sizeof *nv);
    if (!nv) {
      c->failed = 1;
      return;
    }
    c->v = nv, c->cap = ncap;
  }
  memcpy(c->v + c->n, buckets, n * sizeof *buckets);
  c->n += n;
}

hg_status cls_features(const char *text, size_t len, unsigned bits, uint32_t **out, size_t *count, hg_error *err) {
  collect_ctx c = {0};
  hg_status st = cls_walk(text, len, bits, CLS_CHUNK_BYTES, collect, &c, err);
  if (!st && c.failed) st = hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  if (st) {
    free(c.v);
    c.v = NULL, c.n = 0;
  }
  *out = c.v;
  *count = c.n;
  return st;
}

static hg_status corrupt(hg_error *err, const char *what) {
  return hg_fail(err, HG_ERR_CORRUPT, 0, 0, "classifier model is corrupt: %s", what);
}

static const void *section(const hg_classifier *m, const cls_section *tab, int id, size_t elem, size_t *count) {
  const cls_section *s = &tab[id];
  if (s->offset < m->hdr->header_size || s->offset > m->size || s->size > m->size - s->offset || s->offset % 8 ||
      s->size % elem)
    return NULL;
  *count = (size_t)(s->size / elem);
  return m->base + s->offset;
}

static hg_status check_image(hg_classifier *m, hg_error *err) {
  if (m->size < sizeof(cls_header) || memcmp(m->base, CLS_MAGIC, 8) != 0)
    return hg_fail(err, HG_ERR_CORRUPT, 0, 0, "not a hegui classifier model (bad magic)");
  const cls_header *h = (const cls_header *)m->base;
  m->hdr = h;
  if (h->version != CLS_VERSION)
    return hg_fail(err, HG_ERR_CORRUPT, 0, 0, "classifier model version %u, this hegui reads version %u: retrain it",
                   h->version, CLS_VERSION);
  if (h->total_size != m->size)
    return hg_fail(err, HG_ERR_CORRUPT, 0, 0,
                   "classifier model is truncated or padded: header says %llu bytes, found %zu",
                   (unsigned long long)h->total_size, m->size);
  if (h->section_count != CS_COUNT || h->header_size != sizeof(cls_header) + CS_COUNT * sizeof(cls_section) ||
      h->header_size > m->size)
    return corrupt(err, "section table");
  if (hg_crc32(0, m->base + sizeof *h, m->size - sizeof *h) != h->crc)
    return hg_fail(err, HG_ERR_CORRUPT, 0, 0, "classifier model checksum mismatch: the file is damaged");
  if (h->tables_id != hg_tables_id())
    return hg_fail(err, HG_ERR_CORRUPT, 0, 0,
                   "classifier model was trained with other Unicode/OpenCC fold tables than this hegui: retrain it");
  if (h->label_count < 1 || h->label_count > HG_CLASSIFIER_MAX_LABELS ||
      h->bucket_bits < HG_CLASSIFIER_MIN_BUCKET_BITS || h->bucket_bits > HG_CLASSIFIER_MAX_BUCKET_BITS ||
      h->ngram_max != CLS_NGRAM_MAX || h->feature_set != CLS_FEATURES_CHAR123 || h->reserved || h->reserved2)
    return corrupt(err, "header fields");
  const cls_section *tab = (const cls_section *)(m->base + sizeof(cls_header));
  size_t n, strings_len;
  if (!(m->labels = section(m, tab, CS_LABELS, sizeof(cls_label), &n)) || n != h->label_count)
    return corrupt(err, "labels");
  if (!(m->strings = section(m, tab, CS_STRINGS, 1, &strings_len))) return corrupt(err, "strings");
  if (!(m->weights = section(m, tab, CS_WEIGHTS, 1, &n)) || n != ((size_t)1 << h->bucket_bits) * h->label_count)
    return corrupt(err, "weights");
  m->label_count = h->label_count;
  for (uint32_t i = 0; i < m->label_count; i++) {
    const cls_label *l = &m->labels[i];
    char canon[8];
    size_t clen = strnlen(l->code, 8);
    if (l->name_len < 1 || l->name_len > HG_CLASSIFIER_MAX_NAME || (uint64_t)l->name_off + l->name_len >= strings_len ||
        m->strings[l->name_off + l->name_len] != 0 || memchr(m->strings + l->name_off, 0, l->name_len))
      return corrupt(err, "label name");
    if (clen == 8 || hg_classifier_code_parse(l->code, clen, canon) || memcmp(canon, l->code, 8))
      return corrupt(err, "label code");
    size_t bad;
    if (hg_utf8_validate(m->strings + l->name_off, l->name_len, &bad)) return corrupt(err, "label name encoding");
    if (!(l->threshold >= 0.0f && l->threshold <= 1.0f) || !(l->scale >= 0.0f && isfinite(l->scale)) ||
        !isfinite(l->bias) || l->reserved)
      return corrupt(err, "label numbers");
  }
  return HG_OK;
}

hg_status cls_adopt_image(unsigned char *owned, void *map, size_t len, hg_classifier **out, hg_error *err) {
  *out = NULL;
  hg_classifier *m = calloc(1, sizeof *m);
  if (!m) {
    free(owned);
    if (map) munmap(map, len);
    return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  }
  m->refs = 1;
  m->owned = owned;
  m->map = map;
  m->map_len = len;
  m->base = owned ? owned : map;
  m->size = len;
  hg_status st = check_image(m, err);
  if (st) {
    hg_classifier_unref(m);
    return st;
  }
  *out = m;
  return HG_OK;
}

hg_status hg_classifier_from_image(const void *data, size_t len, hg_classifier **out, hg_error *err) {
  *out = NULL;
  unsigned char *copy = malloc(len ? len : 1);
  if (!copy) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  if (len) memcpy(copy, data, len);
  return cls_adopt_image(copy, NULL, len, out, err);
}

hg_status hg_classifier_open(const char *path, hg_classifier **out, hg_error *err) {
  *out = NULL;
  struct stat sb; /* a FIFO or a device is refused before anything waits on it (base/file.h) */
  int fd = hg_file_open_regular(path, HG_CLASSIFIER_MAX_FILE_BYTES, &sb, err);
  if (fd < 0) return err ? err->status : HG_ERR_IO;
  if (sb.st_size < (off_t)sizeof(cls_header)) { /* mmap of an empty file fails; say what is wrong instead */
    close(fd);
    return hg_fail(err, HG_ERR_CORRUPT, 0, 0, "%.200s: not a hegui classifier model (too short)", path);
  }
  size_t len = (size_t)sb.st_size;
  void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (map == MAP_FAILED) return hg_fail(err, HG_ERR_IO, 0, 0, "cannot map %s: %s", path, strerror(errno));
  hg_status st = cls_adopt_image(NULL, map, len, out, err);
  if (st && err) {
    char msg[sizeof err->message];
    memcpy(msg, err->message, sizeof msg);
    size_t pl = strlen(path);
    if (pl > 120) pl = 120;
    snprintf(err->message, sizeof err->message, "%.*s: %.*s", (int)pl, path, (int)(sizeof msg - pl - 3), msg);
  }
  return st;
}

const void *hg_classifier_image(const hg_classifier *model, size_t *len) {
  *len = model->size;
  return model->base;
}

hg_status hg_classifier_save(const hg_classifier *model, const char *path, hg_error *err) {
  return hg_file_write_atomic(path, model->base, model->size, err);
}

hg_classifier *hg_classifier_ref(hg_classifier *model) {
  if (model) __atomic_add_fetch(&model->refs, 1, __ATOMIC_RELAXED);
  return model;
}

void hg_classifier_unref(hg_classifier *model) {
  if (!model || __atomic_sub_fetch(&model->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
  free(model->owned);
  if (model->map) munmap(model->map, model->map_len);
  free(model);
}

size_t hg_classifier_label_count(const hg_classifier *model) { return model->label_count; }
unsigned hg_classifier_bucket_bits(const hg_classifier *model) { return model->hdr->bucket_bits; }

hg_status hg_classifier_label(const hg_classifier *model, size_t index, hg_classifier_label_info *out) {
  if (index >= model->label_count) return HG_ERR_INVALID;
  const cls_label *l = &model->labels[index];
  out->name = model->strings + l->name_off;
  out->code = l->code; /* NUL-padded to 8 bytes and checked to hold a NUL at load */
  out->threshold = l->threshold;
  return HG_OK;
}

_Static_assert((uint64_t)HG_FOLD_MAX *CLS_CHUNK_BYTES *CLS_NGRAM_MAX < (1u << 23), "batch bound of score_batch");

typedef struct score_ctx {
  const int8_t *weights;
  size_t rows;     /* buckets in the table */
  uint32_t labels; /* weights per row: the model's labels, or a part's */
  int64_t total[HG_CLASSIFIER_MAX_LABELS];
  size_t count;
} score_ctx;

/* A batch is at most 6 * CLS_CHUNK_BYTES * 3 n-grams (< 2^23), so int8 sums fit int32 lanes (127 * 2^23 < 2^31);
 * they are folded into int64 totals after every batch, so nothing overflows on any text length.
 *
 * The time is in the rows: each n-gram reads its own row of L bytes somewhere in the table (2^17 x 30 bytes is
 * larger than L2), so the rows of the n-grams PREFETCH ahead are asked for while the current one is added, and a
 * row is added 32 labels at a time in int16 lanes (GCC/Clang vector extensions, no intrinsics), folded into the
 * int32 sums every 256 n-grams (127 * 256 < 2^15). Rows that end within 64 bytes of the table's end take the
 * scalar path, so no load reads past the table. Measured with bench/bench_moderate (docs/classifier.md). */
#define PREFETCH 8
typedef int8_t v32i8 __attribute__((vector_size(32)));
typedef int16_t v32i16 __attribute__((vector_size(64)));
typedef int8_t v8i8 __attribute__((vector_size(8)));
typedef int16_t v8i16 __attribute__((vector_size(16)));

/* Rows of at most 8 labels (a part of the acting labels): 8 bytes at a time, so that a row read touches one line. */
static void score_batch_narrow(score_ctx *s, const uint32_t *f, size_t n) {
  const int8_t *w = s->weights;
  uint32_t L = s->labels;
  size_t vec_rows = s->rows > 8 ? s->rows - 8 : 0; /* an 8-byte window from these rows stays in the table */
  int32_t acc[8] = {0};
  for (size_t i = 0; i < n;) {
    v8i16 a16 = {0};
    size_t end = n - i > 256 ? i + 256 : n;
    for (; i < end; i++) {
      if (i + PREFETCH < n) __builtin_prefetch(w + (size_t)f[i + PREFETCH] * L);
      const int8_t *row = w + (size_t)f[i] * L;
      if (f[i] < vec_rows) {
        v8i8 b;
        memcpy(&b, row, sizeof b);
        a16 += __builtin_convertvector(b, v8i16);
      } else {
        for (uint32_t l = 0; l < L; l++)
          acc[l] += row[l];
      }
    }
    for (uint32_t l = 0; l < L; l++) /* lanes past L hold the next row's bytes: never read */
      acc[l] += a16[l];
  }
  for (uint32_t l = 0; l < L; l++)
    s->total[l] += acc[l];
}

static void score_batch(void *ctx, const uint32_t *f, size_t n) {
  score_ctx *s = ctx;
  const int8_t *w = s->weights;
  uint32_t L = s->labels;
  s->count += n;
  if (L == 1) {
    int32_t a = 0;
    for (size_t i = 0; i < n; i++)
      a += w[f[i]];
    s->total[0] += a;
    return;
  }
  if (L <= 8) {
    score_batch_narrow(s, f, n);
    return;
  }
  int32_t acc[HG_CLASSIFIER_MAX_LABELS] = {0};
  unsigned lanes = L <= 32 ? 1 : 2;
  /* rows whose 32- or 64-byte window stays inside the table (a short row reads into the next ones) */
  size_t rows = s->rows, span = (32u * lanes + L - 1) / L, vec_rows = rows > span ? rows - span : 0;
  for (size_t i = 0; i < n;) {
    v32i16 a16[2] = {{0}, {0}};
    size_t end = n - i > 256 ? i + 256 : n;
    for (; i < end; i++) {
      if (i + PREFETCH < n) __builtin_prefetch(w + (size_t)f[i + PREFETCH] * L);
      const int8_t *row = w + (size_t)f[i] * L;
      if (f[i] < vec_rows) {
        for (unsigned v = 0; v < lanes; v++) {
          v32i8 b;
          memcpy(&b, row + 32 * v, sizeof b);
          a16[v] += __builtin_convertvector(b, v32i16);
        }
      } else {
        for (uint32_t l = 0; l < L; l++)
          acc[l] += row[l];
      }
    }
    for (uint32_t l = 0; l < L; l++) /* lanes past L hold the next row's bytes: never read */
      acc[l] += a16[l / 32][l % 32];
  }
  for (uint32_t l = 0; l < L; l++)
    s->total[l] += acc[l];
}

/* The logits; each occurrence counts 1/sqrt(n), so that long and short texts land on one scale (train.c does the
 * same). Clamped to +-40, where the sigmoid is 0 or 1 in float anyway. */
static void finish_margins_of(const hg_classifier *model, const uint8_t *index, const score_ctx *s, float *margins) {
  double norm = s->count ? 1.0 / sqrt((double)s->count) : 0.0;
  for (uint32_t i = 0; i < s->labels; i++) {
    const cls_label *lb = &model->labels[index ? index[i] : i];
    double z = lb->bias + (double)lb->scale * (double)s->total[i] * norm;
    if (z > 40) z = 40;
    if (z < -40) z = -40;
    margins[i] = (float)z;
  }
}

static void finish_margins(const hg_classifier *model, const score_ctx *s, float *margins) {
  finish_margins_of(model, NULL, s, margins);
}

static void finish_scores(const hg_classifier *model, const score_ctx *s, float *scores) {
  finish_margins(model, s, scores);
  for (uint32_t l = 0; l < s->labels; l++)
    scores[l] = (float)(1.0 / (1.0 + exp(-(double)scores[l])));
}

hg_status hg_classifier_score(const hg_classifier *model, const char *text, size_t len, float *scores, hg_error *err) {
  score_ctx s = {.weights = model->weights, .rows = (size_t)1 << model->hdr->bucket_bits, .labels = model->label_count};
  hg_status st = cls_walk(text, len, model->hdr->bucket_bits, CLS_CHUNK_BYTES, score_batch, &s, err);
  if (st) return st;
  finish_scores(model, &s, scores);
  return HG_OK;
}

#define VIEW_BATCH 1024 /* chars hashed per batch of hg_classifier_score_view: 12 KiB of buckets on the stack */

static void view_sums(const hg_classifier *model, const hg_norm_char *chars, size_t n, score_ctx *s);

void hg_classifier_margins_view(const hg_classifier *model, const hg_norm_char *chars, size_t n, float *margins) {
  score_ctx s = {.weights = model->weights, .rows = (size_t)1 << model->hdr->bucket_bits, .labels = model->label_count};
  view_sums(model, chars, n, &s);
  finish_margins(model, &s, margins);
}

static void view_sums(const hg_classifier *model, const hg_norm_char *chars, size_t n, score_ctx *s) {
  ngram_state ns = {.shift = 64 - model->hdr->bucket_bits};
  uint32_t f[VIEW_BATCH * CLS_NGRAM_MAX];
  for (size_t i = 0; i < n; i += VIEW_BATCH) {
    size_t k = hash_view(&ns, chars + i, n - i > VIEW_BATCH ? VIEW_BATCH : n - i, f);
    if (k) score_batch(s, f, k);
  }
}

void hg_classifier_score_view(const hg_classifier *model, const hg_norm_char *chars, size_t n, float *scores) {
  score_ctx s = {.weights = model->weights, .rows = (size_t)1 << model->hdr->bucket_bits, .labels = model->label_count};
  view_sums(model, chars, n, &s);
  finish_scores(model, &s, scores);
}

/* A part: the rows of some labels copied into a table of their own (docs/classifier.md, "Speed"). */
struct hg_classifier_part {
  hg_classifier *model;
  int8_t *weights; /* [bucket][picked label] */
  uint32_t n;
  uint8_t index[HG_CLASSIFIER_MAX_LABELS]; /* the model's label index of each picked label */
};

hg_status hg_classifier_part_new(hg_classifier *model, const size_t *labels, size_t n, hg_classifier_part **out,
                                 hg_error *err) {
  *out = NULL;
  if (n < 1 || n > HG_CLASSIFIER_MAX_LABELS)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "a part takes 1 to %d labels", HG_CLASSIFIER_MAX_LABELS);
  for (size_t i = 0; i < n; i++)
    if (labels[i] >= model->label_count || (i && labels[i] <= labels[i - 1]))
      return hg_fail(err, HG_ERR_INVALID, 0, 0, "a part's labels must be increasing indexes below %u",
                     model->label_count);
  size_t rows = (size_t)1 << model->hdr->bucket_bits, L = model->label_count;
  hg_classifier_part *p = calloc(1, sizeof *p);
  if (p) p->weights = malloc(rows * n);
  if (!p || !p->weights) {
    free(p);
    return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory for a classifier part of %zu labels", n);
  }
  for (size_t i = 0; i < n; i++)
    p->index[i] = (uint8_t)labels[i];
  for (size_t r = 0; r < rows; r++)
    for (size_t i = 0; i < n; i++)
      p->weights[r * n + i] = model->weights[r * L + labels[i]];
  p->n = (uint32_t)n;
  p->model = hg_classifier_ref(model);
  *out = p;
  return HG_OK;
}

size_t hg_classifier_part_label_count(const hg_classifier_part *part) { return part->n; }

void hg_classifier_part_margins_view(const hg_classifier_part *part, const hg_norm_char *chars, size_t n,
                                     float *margins) {
  const hg_classifier *m = part->model;
  score_ctx s = {.weights = part->weights, .rows = (size_t)1 << m->hdr->bucket_bits, .labels = part->n};
  view_sums(m, chars, n, &s);
  finish_margins_of(m, part->index, &s, margins);
}

void hg_classifier_part_free(hg_classifier_part *part) {
  if (!part) return;
  hg_classifier_unref(part->model);
  free(part->weights);
  free(part);
}
