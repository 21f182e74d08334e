/* hegui/ocr.h — the text in an image, read by Tesseract, so that a generated image is moderated like a text.
 *
 * An hg_ocr engine is made once (languages loaded, limits fixed) and then shared by any number of threads: each
 * hg_ocr_read borrows one Tesseract handle from a small pool and gives it back. The image is decoded (PNG and JPEG by
 * libpng and libjpeg, WebP, GIF, TIFF, BMP, PNM by Leptonica; animations at their first frame), its size checked
 * against the limits before any pixel is decoded, flattened onto white and turned to grey. An unsure reading is made
 * again at half size and with an adaptive threshold, and the surest kept. The text is tidied for the moderator:
 * Tesseract's spaces between two Chinese characters are removed, line breaks normalised.
 * A per-image deadline bounds the time; an image it cut short is flagged, never silently passed as complete. */
#ifndef HEGUI_OCR_H
#define HEGUI_OCR_H

#include <stddef.h>
#include <stdint.h>

#include "hegui/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HG_OCR_TESSDATA_DEFAULT "/usr/share/tesseract-ocr/5/tessdata" /* Debian's tesseract-ocr-* packages */
#define HG_OCR_LANGUAGES_DEFAULT "chi_sim+eng"
#define HG_OCR_DEADLINE_MS_DEFAULT 20000u
#define HG_OCR_MAX_PIXELS_DEFAULT 36000000u  /* 6000 x 6000 */
#define HG_OCR_MAX_BYTES_DEFAULT (64u << 20) /* encoded file */
#define HG_OCR_MAX_SIDE 32767u               /* Tesseract's own bound on either side */
#define HG_OCR_HANDLES_DEFAULT 4u
#define HG_OCR_UPSCALE_BELOW_DEFAULT 0u /* off: measured in docs/media.md, it did not pay */

typedef struct hg_ocr hg_ocr;

/* How Tesseract looks for text on the page. */
typedef enum hg_ocr_layout {
  HG_OCR_LAYOUT_COLUMN = 0, /* the default: text in one column, lines of any size (measured best, docs/media.md) */
  HG_OCR_LAYOUT_SPARSE,     /* as much text as possible, anywhere, in no order */
  HG_OCR_LAYOUT_AUTO        /* Tesseract's page analysis (columns, blocks); finds nothing on some small images */
} hg_ocr_layout;

#define HG_OCR_RETRY_NEVER 255u
#define HG_OCR_RETRY_BELOW_DEFAULT 80u /* measured in docs/media.md: 199 -> 205 of 240 words found */

/* Every field 0 / NULL means its default. */
typedef struct hg_ocr_options {
  const char *tessdata_dir; /* the directory holding LANG.traineddata; NULL: HG_OCR_TESSDATA_DEFAULT */
  const char *languages;    /* Tesseract's "a+b" list; NULL: HG_OCR_LANGUAGES_DEFAULT */
  unsigned deadline_ms;     /* recognition time per image; past it the result is cut short (timed_out = 1) */
  uint64_t max_pixels;      /* width x height of the decoded image; more: HG_ERR_LIMIT */
  size_t max_bytes;         /* the encoded image; more: HG_ERR_LIMIT */
  unsigned max_handles;     /* Tesseract handles in the pool = images read at the same time; more callers wait */
  unsigned upscale_below;   /* an image whose shorter side is below this many pixels is scaled x2 (0: never) */
  hg_ocr_layout layout;
  unsigned retry_below_confidence; /* a reading less sure than this (1..100) is made again at half size, then with
                                    * an adaptive threshold, and the surest kept; 0: the default (80),
                                    * HG_OCR_RETRY_NEVER: never */
  int openmp; /* 0: recognition on one thread, OpenMP's parallel regions made inactive for the process (the pool
               * gives the parallelism; see hg_ocr_new); 1: leave OpenMP as the environment set it */
} hg_ocr_options;

typedef struct hg_ocr_result {
  char *text;             /* UTF-8, NUL-terminated, malloc-ed (hg_ocr_result_free); "" when nothing was read */
  size_t len;             /* bytes of text */
  int confidence;         /* Tesseract's mean word confidence, 0..100 (0 with no words) */
  int timed_out;          /* 1: the deadline stopped recognition; text is what was read by then, possibly nothing */
  uint32_t width, height; /* of the image as decoded (before any scaling) */
  unsigned elapsed_ms;    /* decode + recognition */
} hg_ocr_result;

/* Makes an engine and one Tesseract handle at once, so that a missing tessdata directory or language fails here
 * (HG_ERR_IO / HG_ERR_INVALID, naming the file to install) rather than on the first image. This costs the loading
 * of the language models (about 0.1-0.3 s for chi_sim+eng); further handles are made when several threads read at
 * the same time, up to max_handles. Two process-wide settings are made once, as those libraries keep them global:
 * Leptonica's messages on stderr are silenced (hegui reports decode failures as hg_error instead), and unless
 * options.openmp is set, OpenMP's max-active-levels is set to 0 so that Tesseract recognises on the calling
 * thread only (its OpenMP threads made reading 2.5 times slower on a busy machine; docs/media.md). */
hg_status hg_ocr_new(const hg_ocr_options *options, hg_ocr **out, hg_error *err);

/* Frees the engine and its handles. No hg_ocr_read may be running. */
void hg_ocr_free(hg_ocr *ocr);

/* Reads the text in an image held in memory. Thread-safe: any number of threads may call it on one engine; at most
 * max_handles recognise at once, the others wait for a handle. HG_ERR_LIMIT for an image beyond the limits,
 * HG_ERR_PARSE for bytes that are no image Leptonica can decode, HG_ERR_NOMEM. On error *out is zeroed. */
hg_status hg_ocr_read(hg_ocr *ocr, const uint8_t *image, size_t len, hg_ocr_result *out, hg_error *err);

void hg_ocr_result_free(hg_ocr_result *result);

/* The tidying hg_ocr_read applies, in place, for text from other OCR engines: CR LF, CR, FF and VT become LF;
 * horizontal white space (space, tab, NBSP, U+3000) between two CJK characters (Han, kana, bopomofo, CJK and
 * full-width punctuation) is removed; white space at the end of a line and at the start and end of the text is
 * removed; more than one empty line in a row becomes one. Returns the new length; text[len] is set to NUL. */
size_t hg_ocr_tidy_text(char *text, size_t len);

#ifdef __cplusplus
}
#endif
#endif
