/* media/ocr_internal.h — the steps of hg_ocr_read that tests and the fuzz target reach without Tesseract. */
#ifndef HG_MEDIA_OCR_INTERNAL_H
#define HG_MEDIA_OCR_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "hegui/ocr.h"

struct Pix;

typedef struct hg_ocr_limits {
  uint64_t max_pixels;
  size_t max_bytes;
  unsigned upscale_below; /* 0: never */
} hg_ocr_limits;

/* Decode + limits + preparation: checks the encoded size, reads only the header to check width x height against
 * the limits, decodes, flattens alpha onto white, converts to 8-bit grey and scales x2 when the shorter side is
 * below upscale_below. *out is a new Pix (pixDestroy); *width, *height are the decoded size. HG_ERR_LIMIT,
 * HG_ERR_PARSE, HG_ERR_NOMEM. Touches no Tesseract state; safe on any thread. */
hg_status hg_ocr_prepare(const uint8_t *image, size_t len, const hg_ocr_limits *limits, struct Pix **out,
                         uint32_t *width, uint32_t *height, hg_error *err);

/* Leptonica's message level is one process-wide variable: set it to "none" once. */
void hg_ocr_quiet_leptonica(void);

/* Handles the pool has made so far (for tests of its bound). */
unsigned hg_ocr_handles_made(hg_ocr *ocr);

#endif
