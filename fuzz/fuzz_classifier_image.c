/* fuzz_classifier_image.c — libFuzzer target for the classifier model loader. Half the inputs get their checksum
 * recomputed so the fuzzer reaches the structural checks behind it: whatever a model file claims, a loaded model
 * must list its labels and score texts without reading out of bounds, every score stays in [0,1], and scoring the
 * normalized view gives the same scores as scoring the text. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/crc32.h"
#include "hegui/hegui.h"

#define HEADER_CRC_OFFSET 24 /* cls_header: magic[8], version, header_size, total_size, crc */
#define HEADER_SIZE 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *copy = malloc(size ? size : 1);
  if (!copy) return 0;
  if (size) memcpy(copy, data, size);
  if (size >= HEADER_SIZE && (size & 1)) {
    uint32_t crc = hg_crc32(0, copy + HEADER_SIZE, size - HEADER_SIZE);
    memcpy(copy + HEADER_CRC_OFFSET, &crc, 4);
  }
  hg_classifier *m;
  hg_error err;
  if (hg_classifier_from_image(copy, size, &m, &err) == HG_OK) {
    static const char text[] = "你好朋友 傻逼 ＡＢＣ abc 加微信 vx 領取 123 😀";
    float scores[HG_CLASSIFIER_MAX_LABELS];
    if (hg_classifier_score(m, text, sizeof text - 1, scores, &err) != HG_OK) abort();
    hg_norm_char *view;
    size_t n;
    float from_view[HG_CLASSIFIER_MAX_LABELS];
    if (hg_normalize(text, sizeof text - 1, &view, &n, NULL) != HG_OK) abort();
    hg_classifier_score_view(m, view, n, from_view);
    free(view);
    if (memcmp(scores, from_view, hg_classifier_label_count(m) * sizeof *scores)) abort();
    for (size_t l = 0; l < hg_classifier_label_count(m); l++) {
      hg_classifier_label_info info;
      if (hg_classifier_label(m, l, &info) != HG_OK || !(scores[l] >= 0.0f && scores[l] <= 1.0f)) abort();
      if (strlen(info.name) < 1 || strlen(info.code) < 1) abort();
    }
    hg_classifier_unref(m);
  } else if (err.status == HG_OK) {
    abort();
  }
  free(copy);
  return 0;
}
