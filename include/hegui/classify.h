/* hegui/classify.h — a learned multi-label text classifier: hashed character n-grams of the folded text, one
 * logistic-regression output per label, trained by hegui itself and stored as an immutable, checksummed image.
 *
 * Life cycle: hg_classifier_train (examples -> model) or hg_classifier_open / _from_image (a saved image, mapped
 * and validated) -> hg_classifier_score on any number of threads -> hg_classifier_unref. A model is immutable and
 * reference counted, like a compiled lexicon. */
#ifndef HEGUI_CLASSIFY_H
#define HEGUI_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

#include "hegui/status.h"
#include "hegui/text.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HG_CLASSIFIER_MAX_LABELS 64
#define HG_CLASSIFIER_MAX_NAME 63        /* bytes of a label name */
#define HG_CLASSIFIER_MIN_BUCKET_BITS 10 /* 2^10 .. 2^22 feature buckets */
#define HG_CLASSIFIER_MAX_BUCKET_BITS 22
/* A model file is a regular file of at most this many bytes (2^22 buckets x 64 labels of int8 weights fit). */
#define HG_CLASSIFIER_MAX_FILE_BYTES (512ull << 20)

typedef struct hg_classifier hg_classifier;

typedef struct hg_classifier_label {
  const char *name; /* NUL-terminated, valid while the model lives */
  const char *code; /* a TC260 risk code "A1a".."A5b" or an abuse code "insult", "spam", "fraud", "malware" */
  float threshold;  /* a score at or above it passes */
} hg_classifier_label_info;

/* Checks a label code and writes its canonical spelling ("a.1A" -> "A1a") to out (at least 8 bytes). */
hg_status hg_classifier_code_parse(const char *code, size_t len, char out[8]);

/* Opens a saved model (mapped read-only). A truncated, damaged or other-version file is HG_ERR_CORRUPT. */
hg_status hg_classifier_open(const char *path, hg_classifier **out, hg_error *err);
/* Uses an image already in memory; the bytes are copied. */
hg_status hg_classifier_from_image(const void *data, size_t len, hg_classifier **out, hg_error *err);
/* The default model built into hegui (data/models/hegui-risk.hgcls, docs/classifier.md), checked like a file. */
hg_status hg_classifier_builtin(hg_classifier **out, hg_error *err);
/* The image bytes (valid while the model lives). */
const void *hg_classifier_image(const hg_classifier *model, size_t *len);
/* Writes the image atomically (a temporary file renamed into place). */
hg_status hg_classifier_save(const hg_classifier *model, const char *path, hg_error *err);

hg_classifier *hg_classifier_ref(hg_classifier *model);
void hg_classifier_unref(hg_classifier *model);

size_t hg_classifier_label_count(const hg_classifier *model);
/* Fills *out for label index; HG_ERR_INVALID when index is out of range. */
hg_status hg_classifier_label(const hg_classifier *model, size_t index, hg_classifier_label_info *out);
/* log2 of the number of feature buckets. */
unsigned hg_classifier_bucket_bits(const hg_classifier *model);

/* Scores UTF-8 text: scores[i] in [0,1] for every label i (hg_classifier_label_count of them). Invalid UTF-8 is
 * HG_ERR_UTF8 with err->offset at the bad byte. An empty text scores the labels' prior. */
hg_status hg_classifier_score(const hg_classifier *model, const char *text, size_t len, float *scores, hg_error *err);

/* Scores a text already in the normalized view (hg_normalize, or the chars an hg_normalizer gave for a whole
 * text, ignorable ones included): exactly the scores hg_classifier_score gives for the text, without folding it a
 * second time. This is the entry point for a caller that folds once for every detector (the moderator). */
void hg_classifier_score_view(const hg_classifier *model, const hg_norm_char *chars, size_t n, float *scores);
/* The same before the sigmoid: margins[i] = the label's logit (score = 1 / (1 + e^-margin)), for a caller that
 * compares many texts with thresholds and needs few probabilities (the moderator, per sentence). */
void hg_classifier_margins_view(const hg_classifier *model, const hg_norm_char *chars, size_t n, float *margins);

/* A part of a model: some of its labels, with their weights copied into a table of their own, for a caller that
 * acts on a few labels on a hot path (the moderator scores only the labels its policy lets flag). Each n-gram
 * reads one row of the table; a part's rows are n bytes instead of the model's label count (the default model:
 * 4 of 30, a 512 KiB table instead of 3.75 MiB), so the reads stay in the cache. Its margins are exactly
 * hg_classifier_margins_view's for the same labels: margins[i] belongs to labels[i].
 *
 * labels: n (1..HG_CLASSIFIER_MAX_LABELS) strictly increasing label indexes; HG_ERR_INVALID otherwise. The part
 * holds a reference to the model; it is immutable and may be used by any number of threads. */
typedef struct hg_classifier_part hg_classifier_part;
hg_status hg_classifier_part_new(hg_classifier *model, const size_t *labels, size_t n, hg_classifier_part **out,
                                 hg_error *err);
size_t hg_classifier_part_label_count(const hg_classifier_part *part);
void hg_classifier_part_margins_view(const hg_classifier_part *part, const hg_norm_char *chars, size_t n,
                                     float *margins);
void hg_classifier_part_free(hg_classifier_part *part);

/* ---- training ---------------------------------------------------------------------------------------------- */

typedef struct hg_classifier_train_label {
  const char *name;
  const char *code; /* as hg_classifier_code_parse reads it */
  float threshold;  /* in (0,1]; or negative: chosen on the held-out split to maximise F1. 1: the label is scored
                       but a moderator never flags it (a label with too little data to act on) */
} hg_classifier_train_label;

/* An example's value for a label it was not annotated for (a data set that covers other risks): the example then
 * neither trains that label nor counts when its threshold is chosen, so data sets for different risks combine. */
#define HG_CLASSIFIER_UNKNOWN 255

typedef struct hg_classifier_example {
  const char *text;
  size_t len;
  const uint8_t *labels; /* per label of the options: 0, 1 (any other value but HG_CLASSIFIER_UNKNOWN) or unknown */
} hg_classifier_example;

typedef struct hg_classifier_train_options {
  const hg_classifier_train_label *labels;
  size_t label_count;
  unsigned bucket_bits; /* default 18 */
  unsigned epochs;      /* default 6 */
  uint64_t seed;        /* default 1; the same seed, data and options give the same bytes */
  float learning_rate;  /* AdaGrad step; default 0.4 */
  float holdout;        /* share of examples kept out of training to choose thresholds; default 0.1 (none is kept
                           when every label's threshold is given) */
  int plain_sgd;        /* 0 (default): AdaGrad; 1: plain SGD with the constant step learning_rate, the textbook
                           baseline tools/eval/classifier_eval.py compares against */
} hg_classifier_train_options;

void hg_classifier_train_options_init(hg_classifier_train_options *o);

/* Trains a model. Examples must be valid UTF-8 (HG_ERR_UTF8 names the example index in err->line, 1-based). */
hg_status hg_classifier_train(const hg_classifier_example *examples, size_t n, const hg_classifier_train_options *o,
                              hg_classifier **out, hg_error *err);

#ifdef __cplusplus
}
#endif
#endif
