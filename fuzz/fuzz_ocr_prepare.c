/* fuzz_ocr_prepare.c — libFuzzer target for the decode step of OCR (hg_ocr_prepare): any bytes either become an
 * 8-bit grey image within the limits or fail with HG_ERR_PARSE / HG_ERR_LIMIT, never crash. Recognition itself is
 * not fuzzed (Tesseract takes a tenth of a second an image). Tight limits keep every run small; upscaling is on so
 * that its path runs too. */
#include <leptonica/allheaders.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "media/ocr_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  hg_ocr_limits limits = {.max_pixels = 1u << 20, .max_bytes = 1u << 20, .upscale_below = 64};
  struct Pix *pix = NULL;
  uint32_t w = 0, h = 0;
  hg_error err;
  hg_status st = hg_ocr_prepare(data, size, &limits, &pix, &w, &h, &err);
  if (st == HG_OK) {
    if (!pix || pixGetDepth(pix) != 8 || !w || !h || (uint64_t)w * h > limits.max_pixels) abort();
    if ((uint32_t)pixGetWidth(pix) != w && (uint32_t)pixGetWidth(pix) != 2 * w) abort();
    pixDestroy(&pix);
  } else if (pix || (st != HG_ERR_PARSE && st != HG_ERR_LIMIT && st != HG_ERR_NOMEM)) {
    abort();
  }
  return 0;
}
