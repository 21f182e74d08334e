/* train.c — training a classifier: logistic regression per label over hashed n-grams, fitted by AdaGrad.
 *
 * Everything that could vary between runs is pinned: the held-out split and the epoch order come from a
 * xorshift generator seeded by the caller, arithmetic runs in one thread in a fixed order, so the same data,
 * options and seed give the same image bytes. The float weights are then quantised to int8 with one scale per
 * label (a 4x smaller, cache-friendlier image), and the thresholds are chosen on the held-out split by scoring it
 * with the quantised model itself, so they fit what will actually run. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crc32.h"
#include "base/error.h"
#include "classify_internal.h"
#include "hegui/text.h"

void hg_classifier_train_options_init(hg_classifier_train_options *o) {
  memset(o, 0, sizeof *o);
  o->bucket_bits = 18;
  o->epochs = 6;
  o->seed = 1;
  o->learning_rate = 0.4f;
  o->holdout = 0.1f;
}

static uint64_t next_rand(uint64_t *s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *s = x;
}

static void shuffle(size_t *v, size_t n, uint64_t *rng) {
  for (size_t i = n; i > 1; i--) {
    size_t j = (size_t)(next_rand(rng) % i);
    size_t t = v[i - 1];
    v[i - 1] = v[j];
    v[j] = t;
  }
}

static hg_status check_options(const hg_classifier_train_options *o, char (*codes)[8], hg_error *err) {
  if (!o || !o->labels || o->label_count < 1 || o->label_count > HG_CLASSIFIER_MAX_LABELS)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "a classifier needs 1 to %d labels", HG_CLASSIFIER_MAX_LABELS);
  if (o->bucket_bits < HG_CLASSIFIER_MIN_BUCKET_BITS || o->bucket_bits > HG_CLASSIFIER_MAX_BUCKET_BITS)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "bucket bits must be %d to %d", HG_CLASSIFIER_MIN_BUCKET_BITS,
                   HG_CLASSIFIER_MAX_BUCKET_BITS);
  if (o->epochs < 1 || o->epochs > 1000) return hg_fail(err, HG_ERR_INVALID, 0, 0, "epochs must be 1 to 1000");
  if (!(o->learning_rate > 0.0f && o->learning_rate <= 100.0f))
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "learning rate must be in (0, 100]");
  if (!(o->holdout >= 0.0f && o->holdout < 0.9f))
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "held-out share must be in [0, 0.9)");
  for (size_t i = 0; i < o->label_count; i++) {
    const hg_classifier_train_label *l = &o->labels[i];
    size_t nl = l->name ? strlen(l->name) : 0, bad;
    if (nl < 1 || nl > HG_CLASSIFIER_MAX_NAME || hg_utf8_validate(l->name, nl, &bad))
      return hg_fail(err, HG_ERR_INVALID, 0, 0, "label %zu: a name of 1 to %d bytes of UTF-8 is needed", i + 1,
                     HG_CLASSIFIER_MAX_NAME);
    for (size_t j = 0; j < i; j++)
      if (!strcmp(o->labels[j].name, l->name))
        return hg_fail(err, HG_ERR_INVALID, 0, 0, "label '%s' is given twice", l->name);
    if (!l->code || hg_classifier_code_parse(l->code, strlen(l->code), codes[i]))
      return hg_fail(err, HG_ERR_INVALID, 0, 0,
                     "label '%s': code '%.40s' is neither a TC260 risk (A1a..A5b) nor insult, spam, fraud, malware",
                     l->name, l->code ? l->code : "");
    if (l->threshold >= 0.0f && !(l->threshold > 0.0f && l->threshold <= 1.0f))
      return hg_fail(err, HG_ERR_INVALID, 0, 0, "label '%s': a threshold must be in (0,1] (1: scored, never flags)",
                     l->name);
  }
  return HG_OK;
}

/* Lays out the image around int8 weights already in place at the weights offset of buf. */
static size_t align8(size_t x) { return (x + 7) & ~(size_t)7; }

static hg_status build_image(const hg_classifier_train_options *o, char (*codes)[8], const float *w, const float *bias,
                             hg_classifier **out, hg_error *err) {
  uint32_t L = (uint32_t)o->label_count;
  size_t buckets = (size_t)1 << o->bucket_bits;
  size_t strings_len = 0;
  for (size_t i = 0; i < L; i++)
    strings_len += strlen(o->labels[i].name) + 1;
  size_t head = sizeof(cls_header) + CS_COUNT * sizeof(cls_section);
  size_t off_labels = align8(head), off_strings = align8(off_labels + L * sizeof(cls_label));
  size_t off_weights = align8(off_strings + strings_len), total = off_weights + buckets * L;
  unsigned char *img = calloc(1, total);
  if (!img) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  cls_header *h = (cls_header *)img;
  memcpy(h->magic, CLS_MAGIC, 8);
  h->version = CLS_VERSION;
  h->header_size = (uint32_t)head;
  h->total_size = total;
  h->section_count = CS_COUNT;
  h->label_count = L;
  h->bucket_bits = o->bucket_bits;
  h->ngram_max = CLS_NGRAM_MAX;
  h->feature_set = CLS_FEATURES_CHAR123;
  h->tables_id = hg_tables_id();
  cls_section *tab = (cls_section *)(img + sizeof *h);
  tab[CS_LABELS] = (cls_section){off_labels, L * sizeof(cls_label)};
  tab[CS_STRINGS] = (cls_section){off_strings, strings_len};
  tab[CS_WEIGHTS] = (cls_section){off_weights, buckets * L};
  cls_label *labels = (cls_label *)(img + off_labels);
  char *strings = (char *)img + off_strings;
  int8_t *q = (int8_t *)(img + off_weights);
  size_t so = 0;
  for (uint32_t l = 0; l < L; l++) {
    size_t nl = strlen(o->labels[l].name);
    memcpy(strings + so, o->labels[l].name, nl + 1);
    labels[l].name_off = (uint32_t)so;
    labels[l].name_len = (uint32_t)nl;
    so += nl + 1;
    memcpy(labels[l].code, codes[l], 8);
    labels[l].threshold = o->labels[l].threshold >= 0.0f ? o->labels[l].threshold : 0.5f;
    labels[l].bias = bias[l];
    float max = 0.0f;
    for (size_t b = 0; b < buckets; b++)
      if (fabsf(w[b * L + l]) > max) max = fabsf(w[b * L + l]);
    float scale = max > 0.0f ? max / 127.0f : 0.0f;
    labels[l].scale = scale;
    for (size_t b = 0; b < buckets; b++)
      q[b * L + l] = scale > 0.0f ? (int8_t)lrintf(w[b * L + l] / scale) : 0;
  }
  h->crc = hg_crc32(0, img + sizeof *h, total - sizeof *h);
  return cls_adopt_image(img, NULL, total, out, err);
}

/* Picks per label the threshold (0.01 steps) with the best F1 on the held-out examples; when a run of steps ties,
 * its middle, which leaves the most room on both sides. No positive held out: 0.5. Unknown values do not count. */
static void choose_thresholds(hg_classifier *m, const hg_classifier_train_options *o, const float *scores,
                              const uint8_t *truth, size_t n) {
  uint32_t L = m->label_count;
  cls_label *labels = (cls_label *)m->labels; /* the image is still private to training */
  for (uint32_t l = 0; l < L; l++) {
    if (o->labels[l].threshold >= 0.0f) continue;
    double best_f1 = -1.0;
    int first = 50, last = 50;
    for (int t = 1; t < 100; t++) {
      float th = (float)t / 100.0f;
      size_t tp = 0, fp = 0, fn = 0;
      for (size_t i = 0; i < n; i++) {
        int pred = scores[i * L + l] >= th, y = truth[i * L + l];
        if (y == HG_CLASSIFIER_UNKNOWN) continue;
        tp += pred && y;
        fp += pred && !y;
        fn += !pred && y;
      }
      if (!tp) continue;
      double f1 = 2.0 * (double)tp / (double)(2 * tp + fp + fn);
      if (f1 > best_f1 + 1e-12)
        best_f1 = f1, first = last = t;
      else if (f1 > best_f1 - 1e-12 && last == t - 1)
        last = t;
    }
    labels[l].threshold = (float)((first + last) / 2) / 100.0f; /* the middle of the best plateau: a margin */
  }
  cls_header *h = (cls_header *)m->base;
  h->crc = hg_crc32(0, m->base + sizeof *h, m->size - sizeof *h);
}

hg_status hg_classifier_train(const hg_classifier_example *examples, size_t n, const hg_classifier_train_options *o,
                              hg_classifier **out, hg_error *err) {
  *out = NULL;
  char codes[HG_CLASSIFIER_MAX_LABELS][8];
  hg_status st = check_options(o, codes, err);
  if (st) return st;
  if (n < 1) return hg_fail(err, HG_ERR_INVALID, 0, 0, "no training examples");
  uint32_t L = (uint32_t)o->label_count;
  size_t buckets = (size_t)1 << o->bucket_bits;
  size_t *order = malloc(n * sizeof *order), *feat_off = malloc((n + 1) * sizeof *feat_off);
  uint32_t *feats = NULL;
  float *w = calloc(buckets * L, sizeof *w), *g2 = calloc(buckets * L, sizeof *g2);
  float *scores = NULL;
  uint8_t *truth = NULL;
  hg_classifier *m = NULL;
  if (!order || !feat_off || !w || !g2) {
    st = hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory (%zu buckets x %u labels)", buckets, L);
    goto done;
  }
  /* the features of every example, once: epochs then only read them */
  size_t cap = 0, used = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t *f;
    size_t k;
    if ((st = cls_features(examples[i].text, examples[i].len, o->bucket_bits, &f, &k, err))) {
      if (err) {
        char msg[sizeof err->message];
        memcpy(msg, err->message, sizeof msg);
        snprintf(err->message, sizeof err->message, "example %zu: %.280s", i + 1, msg);
        err->line = i + 1;
      }
      goto done;
    }
    if (used + k > cap) {
      size_t ncap = cap ? cap : 1 << 16;
      while (ncap < used + k)
        ncap *= 2;
      uint32_t *nf = realloc(feats, ncap * sizeof *nf);
      if (!nf) {
        free(f);
        st = hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
        goto done;
      }
      feats = nf, cap = ncap;
    }
    if (k) memcpy(feats + used, f, k * sizeof *f);
    free(f);
    feat_off[i] = used;
    used += k;
    order[i] = i;
  }
  feat_off[n] = used;
  uint64_t rng = o->seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
  if (!rng) rng = 1;
  shuffle(order, n, &rng);
  int choose = 0; /* is any threshold left to the held-out split? if not, every example trains */
  for (size_t l = 0; l < o->label_count; l++)
    choose |= o->labels[l].threshold < 0.0f;
  size_t held = choose ? (size_t)((double)o->holdout * (double)n) : 0;
  if (held >= n) held = n - 1;
  size_t *train = order + held, ntrain = n - held;
  float bias[HG_CLASSIFIER_MAX_LABELS] = {0}, bias_g2[HG_CLASSIFIER_MAX_LABELS] = {0};
  double z[HG_CLASSIFIER_MAX_LABELS];
  float grad[HG_CLASSIFIER_MAX_LABELS];
  const float lr = o->learning_rate;
  for (unsigned epoch = 0; epoch < o->epochs; epoch++) {
    shuffle(train, ntrain, &rng);
    for (size_t t = 0; t < ntrain; t++) {
      size_t i = train[t];
      const uint32_t *f = feats + feat_off[i];
      size_t k = feat_off[i + 1] - feat_off[i];
      float x = k ? (float)(1.0 / sqrt((double)k)) : 0.0f;
      for (uint32_t l = 0; l < L; l++)
        z[l] = 0.0;
      for (size_t j = 0; j < k; j++) {
        const float *row = w + (size_t)f[j] * L;
        for (uint32_t l = 0; l < L; l++)
          z[l] += row[l];
      }
      for (uint32_t l = 0; l < L; l++) {
        uint8_t y = examples[i].labels[l];
        if (y == HG_CLASSIFIER_UNKNOWN) {
          grad[l] = 0.0f;
          continue;
        }
        double zz = bias[l] + z[l] * x;
        if (zz > 40) zz = 40;
        if (zz < -40) zz = -40;
        float p = (float)(1.0 / (1.0 + exp(-zz)));
        float g = p - (y ? 1.0f : 0.0f);
        bias_g2[l] += g * g;
        bias[l] -= o->plain_sgd ? lr * g : lr * g / sqrtf(bias_g2[l] + 1e-8f);
        grad[l] = g * x;
      }
      for (size_t j = 0; j < k; j++) {
        float *row = w + (size_t)f[j] * L, *acc = g2 + (size_t)f[j] * L;
        for (uint32_t l = 0; l < L; l++) {
          if (grad[l] == 0.0f) continue;
          if (o->plain_sgd) {
            row[l] -= lr * grad[l];
            continue;
          }
          acc[l] += grad[l] * grad[l];
          row[l] -= lr * grad[l] / sqrtf(acc[l] + 1e-8f);
        }
      }
    }
  }
  if ((st = build_image(o, codes, w, bias, &m, err))) goto done;
  if (held) {
    scores = malloc(held * L * sizeof *scores);
    truth = malloc(held * L);
    if (!scores || !truth) {
      st = hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
      goto done;
    }
    for (size_t h = 0; h < held; h++) {
      const hg_classifier_example *e = &examples[order[h]];
      if ((st = hg_classifier_score(m, e->text, e->len, scores + h * L, err))) goto done;
      for (uint32_t l = 0; l < L; l++)
        truth[h * L + l] = e->labels[l] == HG_CLASSIFIER_UNKNOWN ? HG_CLASSIFIER_UNKNOWN : e->labels[l] ? 1 : 0;
    }
    choose_thresholds(m, o, scores, truth, held);
  }
  *out = m;
  m = NULL;
done:
  hg_classifier_unref(m);
  free(order);
  free(feat_off);
  free(feats);
  free(w);
  free(g2);
  free(scores);
  free(truth);
  return st;
}
