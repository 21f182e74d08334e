/* ocr.c — text in images (hegui/ocr.h): libpng, libjpeg or Leptonica decodes to grey, Tesseract reads, the text is
 * tidied for the moderator. Animated images (GIF, APNG, WebP) are read at their first frame only.
 *
 * A TessBaseAPI holds the loaded language models and the state of one recognition, so it cannot serve two threads
 * at once, and loading the models costs a tenth of a second or more, too much per image. The engine therefore keeps
 * a pool: an array of handles made lazily up to max_handles, a stack of the idle ones, a mutex and a condition
 * variable. A reader pops an idle handle, or makes a new one when the pool is not full (outside the lock: loading is
 * slow), or waits. The pool never shrinks; hg_ocr_free deletes every handle.
 *
 * The deadline: Tesseract checks its monitor between words of each recognition pass; the monitor gets both
 * Tesseract's own deadline and a cancel callback on hegui's monotonic clock, which also tells this code that the
 * deadline (not an error) stopped it. Layout analysis before the first word is not interruptible, which is one
 * reason the pixel limit exists. */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jpeglib.h>
#include <leptonica/allheaders.h>
#include <png.h>
#include <tesseract/capi.h>

#include "base/clock.h"
#include "base/error.h"
#include "media/ocr_internal.h"

#define OCR_SOURCE_PPI 300 /* generated images carry no resolution; tell Tesseract a usual scan's */
#define OCR_HANDLES_MAX 64u
#define OCR_RETRY_MIN_SIDE 32 /* no half-size reading below 32 pixels a side */

struct hg_ocr {
  char *tessdata_dir;
  char *languages;
  unsigned deadline_ms;
  hg_ocr_limits limits;
  unsigned max_handles;
  hg_ocr_layout layout;
  unsigned retry_below;
  /* guarded by lock */
  pthread_mutex_t lock;
  pthread_cond_t handle_freed;
  TessBaseAPI **idle; /* a stack of idle handles, capacity max_handles */
  unsigned idle_count;
  unsigned made;     /* handles in existence, or being made */
  TessBaseAPI **all; /* every handle made, for hg_ocr_free */
  unsigned all_count;
};

/* ---- Leptonica: quiet, once ---- */

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;
static void quiet_now(void) { setMsgSeverity(L_SEVERITY_NONE); }
void hg_ocr_quiet_leptonica(void) { pthread_once(&quiet_once, quiet_now); }

/* ---- OpenMP: one thread a recognition ----
 * Debian's libtesseract runs parts of each recognition on OpenMP threads. Parallelism here comes from the pool
 * (several images at once); OpenMP threads on top compete with them and spin on a busy machine: measured on two
 * shared cores, 234 ms an image with them and 91 ms without, the same text read (docs/media.md). So parallel regions
 * are made inactive, once for the process, by setting OpenMP's max-active-levels to 0 (a device-wide setting). It
 * is looked up at run time: hegui does not link the OpenMP runtime itself, Tesseract brings it (or not). */
static pthread_once_t openmp_once = PTHREAD_ONCE_INIT;
static void openmp_single_now(void) {
  void (*set_levels)(int);
  *(void **)&set_levels = dlsym(RTLD_DEFAULT, "omp_set_max_active_levels");
  if (set_levels) set_levels(0);
}

/* ---- decode and prepare ---- */

static const char *format_name(l_int32 format) {
  switch (format) {
  case IFF_BMP: return "BMP";
  case IFF_JFIF_JPEG: return "JPEG";
  case IFF_PNG: return "PNG";
  case IFF_PNM: return "PNM";
  case IFF_GIF: return "GIF";
  case IFF_JP2: return "JPEG 2000";
  case IFF_WEBP: return "WebP";
  default: return L_FORMAT_IS_TIFF(format) ? "TIFF" : NULL;
  }
}

/* PNG and JPEG, the formats generated images come in, are decoded here straight to grey: libpng's and libjpeg's
 * own error paths print to stderr when Leptonica drives them (it passes them no handlers), and a damaged upload
 * must be an hg_error, not a line in the gateway's log. Everything else goes through Leptonica. */

static hg_status check_size(const char *format, uint64_t w, uint64_t h, uint64_t max_pixels, hg_error *err) {
  if (!w || !h) return hg_fail(err, HG_ERR_PARSE, 0, 0, "the %s image has no pixels", format);
  if (w > HG_OCR_MAX_SIDE || h > HG_OCR_MAX_SIDE || w * h > max_pixels)
    return hg_fail(err, HG_ERR_LIMIT, 0, 0, "the %s image is %llux%llu pixels, more than the limit of %llu pixels",
                   format, (unsigned long long)w, (unsigned long long)h, (unsigned long long)max_pixels);
  return HG_OK;
}

/* An 8-bit Pix from grey rows. */
static PIX *pix_from_grey(const uint8_t *rows, uint32_t w, uint32_t h, size_t stride) {
  PIX *pix = pixCreate((l_int32)w, (l_int32)h, 8);
  if (!pix) return NULL;
  l_uint32 *data = pixGetData(pix);
  l_int32 wpl = pixGetWpl(pix);
  for (uint32_t y = 0; y < h; y++) {
    l_uint32 *line = data + (size_t)y * (size_t)wpl;
    const uint8_t *src = rows + (size_t)y * stride;
    for (uint32_t x = 0; x < w; x++)
      SET_DATA_BYTE(line, x, src[x]);
  }
  return pix;
}

static hg_status decode_png(const uint8_t *image, size_t len, uint64_t max_pixels, PIX **out, hg_error *err) {
  png_image img;
  memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&img, image, len))
    return hg_fail(err, HG_ERR_PARSE, 0, 0, "the PNG header cannot be read (%s)", img.message);
  hg_status st = check_size("PNG", img.width, img.height, max_pixels, err);
  if (st) {
    png_image_free(&img);
    return st;
  }
  img.format = PNG_FORMAT_GRAY; /* libpng converts; transparent pixels are composed onto the background */
  size_t stride = img.width;
  uint8_t *buf = malloc(stride * img.height);
  if (!buf) {
    png_image_free(&img);
    return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory decoding the PNG image");
  }
  png_color white = {255, 255, 255};
  if (!png_image_finish_read(&img, &white, buf, (png_int_32)stride, NULL)) {
    free(buf);
    png_image_free(&img);
    return hg_fail(err, HG_ERR_PARSE, 0, 0, "the PNG image cannot be decoded (%s)", img.message);
  }
  *out = pix_from_grey(buf, img.width, img.height, stride);
  free(buf);
  png_image_free(&img);
  return *out ? HG_OK : hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory decoding the PNG image");
}

typedef struct quiet_jpeg_error {
  struct jpeg_error_mgr pub;
  jmp_buf escape;
  char message[JMSG_LENGTH_MAX];
} quiet_jpeg_error;

static void jpeg_escape(j_common_ptr cinfo) {
  quiet_jpeg_error *e = (quiet_jpeg_error *)cinfo->err;
  cinfo->err->format_message(cinfo, e->message);
  longjmp(e->escape, 1);
}
static void jpeg_no_output(j_common_ptr cinfo) { (void)cinfo; }

/* HG_OK, or 1 (not an hg_status) to hand a CMYK JPEG to Leptonica, which converts those. A JPEG cut short decodes
 * as far as it goes (libjpeg fills the rest with grey), as a browser shows it: what a person would see is read. */
static hg_status decode_jpeg(const uint8_t *image, size_t len, uint64_t max_pixels, PIX **out, hg_error *err) {
  struct jpeg_decompress_struct cinfo;
  quiet_jpeg_error jerr;
  uint8_t *volatile buf = NULL;
  volatile hg_status st = HG_OK;
  cinfo.err = jpeg_std_error(&jerr.pub);
  jerr.pub.error_exit = jpeg_escape;
  jerr.pub.output_message = jpeg_no_output;
  jerr.message[0] = '\0';
  if (setjmp(jerr.escape)) {
    jpeg_destroy_decompress(&cinfo);
    free(buf);
    if (st) return st;
    return hg_fail(err, HG_ERR_PARSE, 0, 0, "the JPEG image cannot be decoded (%s)", jerr.message);
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, image, (unsigned long)len);
  jpeg_read_header(&cinfo, TRUE);
  if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
    jpeg_destroy_decompress(&cinfo);
    return (hg_status)1;
  }
  st = check_size("JPEG", cinfo.image_width, cinfo.image_height, max_pixels, err);
  if (st) longjmp(jerr.escape, 1);
  cinfo.out_color_space = JCS_GRAYSCALE;
  jpeg_start_decompress(&cinfo);
  size_t stride = cinfo.output_width;
  buf = malloc(stride * cinfo.output_height);
  if (!buf) {
    st = hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory decoding the JPEG image");
    longjmp(jerr.escape, 1);
  }
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = buf + (size_t)cinfo.output_scanline * stride;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  *out = pix_from_grey(buf, cinfo.output_width, cinfo.output_height, stride);
  jpeg_destroy_decompress(&cinfo);
  free(buf);
  return *out ? HG_OK : hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory decoding the JPEG image");
}

hg_status hg_ocr_prepare(const uint8_t *image, size_t len, const hg_ocr_limits *limits, struct Pix **out,
                         uint32_t *width, uint32_t *height, hg_error *err) {
  *out = NULL;
  *width = *height = 0;
  uint64_t max_pixels = limits && limits->max_pixels ? limits->max_pixels : HG_OCR_MAX_PIXELS_DEFAULT;
  size_t max_bytes = limits && limits->max_bytes ? limits->max_bytes : HG_OCR_MAX_BYTES_DEFAULT;
  unsigned upscale_below = limits ? limits->upscale_below : HG_OCR_UPSCALE_BELOW_DEFAULT;
  if (!image && len) return hg_fail(err, HG_ERR_INVALID, 0, 0, "no image bytes");
  if (len > max_bytes)
    return hg_fail(err, HG_ERR_LIMIT, 0, 0, "the image file has %zu bytes, more than the limit of %zu", len, max_bytes);
  if (len < 12) return hg_fail(err, HG_ERR_PARSE, 0, 0, "%zu bytes are too few for an image file", len);
  hg_ocr_quiet_leptonica();
  l_int32 format = IFF_UNKNOWN, w = 0, h = 0, bps = 0, spp = 0, cmap = 0;
  if (findFileFormatBuffer(image, &format) || !format_name(format))
    return hg_fail(
        err, HG_ERR_PARSE, 0, 0,
        "not an image this OCR reads (PNG, JPEG, WebP, GIF, TIFF, BMP, PNM, JPEG 2000): unknown first bytes");
  const char *name = format_name(format);
  PIX *pix = NULL;
  hg_status st = (hg_status)1;
  if (format == IFF_PNG) st = decode_png(image, len, max_pixels, &pix, err);
  if (format == IFF_JFIF_JPEG) st = decode_jpeg(image, len, max_pixels, &pix, err);
  if (st != HG_OK && st != (hg_status)1) return st;
  if (!pix) {
    l_int32 header_format = IFF_UNKNOWN;
    if (pixReadHeaderMem(image, len, &header_format, &w, &h, &bps, &spp, &cmap) || w <= 0 || h <= 0)
      return hg_fail(err, HG_ERR_PARSE, 0, 0, "the %s header cannot be read (a damaged or truncated file)", name);
    st = check_size(name, (uint64_t)w, (uint64_t)h, max_pixels, err);
    if (st) return st;
    pix = pixReadMem(image, len);
    if (!pix)
      return hg_fail(err, HG_ERR_PARSE, 0, 0, "the %s image cannot be decoded (a damaged or truncated file)", name);
  }
  l_int32 pw = pixGetWidth(pix), ph = pixGetHeight(pix);
  /* the decoder may disagree with the header it was checked by; the limits hold for what was decoded */
  if (pw <= 0 || ph <= 0 || (uint32_t)pw > HG_OCR_MAX_SIDE || (uint32_t)ph > HG_OCR_MAX_SIDE ||
      (uint64_t)pw * (uint64_t)ph > max_pixels) {
    pixDestroy(&pix);
    return hg_fail(err, HG_ERR_LIMIT, 0, 0, "the %s image decodes to %dx%d pixels, beyond the limit of %llu", name,
                   (int)pw, (int)ph, (unsigned long long)max_pixels);
  }
  /* transparent pixels carry arbitrary colours (often black under black text): put them on white first */
  if (pixGetDepth(pix) == 32 && pixGetSpp(pix) == 4) {
    PIX *flat = pixAlphaBlendUniform(pix, 0xFFFFFF00);
    pixDestroy(&pix);
    if (!flat) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory flattening the image");
    pix = flat;
  }
  PIX *grey = pixConvertTo8(pix, 0);
  pixDestroy(&pix);
  if (!grey) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory converting the image to grey");
  if (upscale_below && (uint32_t)(pw < ph ? pw : ph) < upscale_below && (uint64_t)pw * (uint64_t)ph * 4 <= max_pixels &&
      (uint32_t)pw * 2 <= HG_OCR_MAX_SIDE && (uint32_t)ph * 2 <= HG_OCR_MAX_SIDE) {
    PIX *big = pixScaleGrayLI(grey, 2.0f, 2.0f);
    pixDestroy(&grey);
    if (!big) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory scaling the image");
    grey = big;
  }
  *out = grey;
  *width = (uint32_t)pw;
  *height = (uint32_t)ph;
  return HG_OK;
}

/* ---- the text ---- */

static int is_cjk(long cp) {
  return (cp >= 0x2E80 && cp <= 0x2FDF) || (cp >= 0x3001 && cp <= 0x303F) || (cp >= 0x3040 && cp <= 0x31FF) ||
         (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xF900 && cp <= 0xFAFF) ||
         (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFFEF) || (cp >= 0x20000 && cp <= 0x3134F);
}

static int is_blank(long cp) { return cp == ' ' || cp == '\t' || cp == 0xA0 || cp == 0x3000; }

/* The code point at s (n bytes left) and its length; a byte that starts no valid sequence is -1, one byte long. */
static long next_cp(const unsigned char *s, size_t n, size_t *cp_len) {
  unsigned char b = s[0];
  size_t need = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
  *cp_len = 1;
  if (need == 1) return b;
  if (!need || need > n) return -1;
  long cp = b & (0x7F >> need);
  for (size_t i = 1; i < need; i++) {
    if ((s[i] & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  static const long min_for_len[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min_for_len[need] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  *cp_len = need;
  return cp;
}

/* One pass, writing behind the reader: the blank run since the last visible character and the line breaks since
 * the last line with text are held as pending and written (or dropped) when the next visible character shows
 * whether they are inside a line, between two CJK characters, or at an end. */
size_t hg_ocr_tidy_text(char *text, size_t len) {
  unsigned char *s = (unsigned char *)text;
  size_t w = 0, r = 0;
  size_t blank_start = 0, blank_end = 0; /* the pending blank run, as a span of the input */
  size_t breaks = 0;                     /* pending line breaks */
  long last = 0;                         /* the last visible code point on the current output line; 0 none */
  while (r < len) {
    size_t n;
    long cp = next_cp(s + r, len - r, &n);
    if (cp == '\r' || cp == '\n' || cp == '\f' || cp == '\v') {
      if (cp == '\r' && r + 1 < len && s[r + 1] == '\n') n = 2;
      breaks++;
      blank_start = blank_end = 0;
      last = 0;
    } else if (is_blank(cp)) {
      if (blank_end == blank_start) blank_start = r;
      blank_end = r + n;
    } else {
      if (w > 0 && breaks) {
        size_t k = breaks > 2 ? 2 : breaks;
        memset(s + w, '\n', k);
        w += k;
      }
      breaks = 0;
      if (blank_end > blank_start && w > 0 && !(is_cjk(last) && is_cjk(cp))) {
        memmove(s + w, s + blank_start, blank_end - blank_start);
        w += blank_end - blank_start;
      }
      blank_start = blank_end = 0;
      memmove(s + w, s + r, n);
      w += n;
      last = cp;
    }
    r += n;
  }
  if (text) text[w] = '\0';
  return w;
}

/* ---- the pool ---- */

static int valid_languages(const char *langs) {
  size_t run = 0;
  for (const char *p = langs;; p++) {
    if (*p == '+' || !*p) {
      if (!run) return 0;
      if (!*p) return 1;
      run = 0;
    } else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_') {
      if (++run > 40) return 0;
    } else {
      return 0;
    }
  }
}

/* Each language's file must be there: Tesseract would print to stderr and fail without saying which. */
static hg_status check_language_files(const hg_ocr *ocr, hg_error *err) {
  const char *p = ocr->languages;
  while (*p) {
    size_t n = strcspn(p, "+");
    char path[PATH_MAX];
    int m = snprintf(path, sizeof path, "%s/%.*s.traineddata", ocr->tessdata_dir, (int)n, p);
    if (m < 0 || (size_t)m >= sizeof path) return hg_fail(err, HG_ERR_INVALID, 0, 0, "tessdata path too long");
    if (access(path, R_OK)) {
      char package[64];
      snprintf(package, sizeof package, "tesseract-ocr-%.*s", (int)n, p);
      for (char *q = package; *q; q++)
        if (*q == '_') *q = '-';
      return hg_fail(err, HG_ERR_IO, 0, 0,
                     "OCR language '%.*s' is not installed: %s cannot be read (Debian: apt-get install %s)", (int)n, p,
                     path, package);
    }
    p += n;
    if (*p == '+') p++;
  }
  return HG_OK;
}

/* Tesseract keeps some parameters in process-wide variables (debug_file among them) that setting and loading write
 * to; handles are therefore made one at a time in the process, whatever engine they belong to. */
static pthread_mutex_t making_handle = PTHREAD_MUTEX_INITIALIZER;

static TessBaseAPI *make_handle_locked(const hg_ocr *ocr) {
  TessBaseAPI *api = TessBaseAPICreate();
  if (!api) return NULL;
  /* Tesseract's warnings ("Estimating resolution ...") go to its debug file, not the caller's stderr */
  TessBaseAPISetVariable(api, "debug_file", "/dev/null");
  if (TessBaseAPIInit3(api, ocr->tessdata_dir, ocr->languages)) {
    TessBaseAPIDelete(api);
    return NULL;
  }
  static const TessPageSegMode modes[] = {[HG_OCR_LAYOUT_SPARSE] = PSM_SPARSE_TEXT,
                                          [HG_OCR_LAYOUT_COLUMN] = PSM_SINGLE_COLUMN,
                                          [HG_OCR_LAYOUT_AUTO] = PSM_AUTO};
  TessBaseAPISetPageSegMode(api, modes[ocr->layout]);
  return api;
}

static TessBaseAPI *make_handle(const hg_ocr *ocr) {
  pthread_mutex_lock(&making_handle);
  TessBaseAPI *api = make_handle_locked(ocr);
  pthread_mutex_unlock(&making_handle);
  return api;
}

/* An idle handle, a new one, or a wait; NULL only when a new handle could not be made. */
static TessBaseAPI *acquire(hg_ocr *ocr) {
  pthread_mutex_lock(&ocr->lock);
  for (;;) {
    if (ocr->idle_count) {
      TessBaseAPI *api = ocr->idle[--ocr->idle_count];
      pthread_mutex_unlock(&ocr->lock);
      return api;
    }
    if (ocr->made < ocr->max_handles) break;
    pthread_cond_wait(&ocr->handle_freed, &ocr->lock);
  }
  ocr->made++;
  pthread_mutex_unlock(&ocr->lock);
  TessBaseAPI *api = make_handle(ocr);
  pthread_mutex_lock(&ocr->lock);
  if (api)
    ocr->all[ocr->all_count++] = api;
  else
    ocr->made--, pthread_cond_signal(&ocr->handle_freed); /* a waiter may try to make one itself */
  pthread_mutex_unlock(&ocr->lock);
  return api;
}

static void release(hg_ocr *ocr, TessBaseAPI *api) {
  TessBaseAPIClear(api);
  pthread_mutex_lock(&ocr->lock);
  ocr->idle[ocr->idle_count++] = api;
  pthread_cond_signal(&ocr->handle_freed);
  pthread_mutex_unlock(&ocr->lock);
}

hg_status hg_ocr_new(const hg_ocr_options *options, hg_ocr **out, hg_error *err) {
  *out = NULL;
  hg_ocr_options o = options ? *options : (hg_ocr_options){0};
  const char *dir = o.tessdata_dir ? o.tessdata_dir : HG_OCR_TESSDATA_DEFAULT;
  const char *langs = o.languages ? o.languages : HG_OCR_LANGUAGES_DEFAULT;
  if (!valid_languages(langs))
    return hg_fail(err, HG_ERR_INVALID, 0, 0,
                   "OCR languages '%.60s': expected Tesseract names joined by '+', such as chi_sim+eng", langs);
  if ((unsigned)o.layout > HG_OCR_LAYOUT_AUTO)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "unknown OCR layout %d", (int)o.layout);
  if (o.retry_below_confidence > 100 && o.retry_below_confidence != HG_OCR_RETRY_NEVER)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "OCR retry confidence %u: expected 1..100", o.retry_below_confidence);
  if (o.max_handles > OCR_HANDLES_MAX)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "%u OCR handles: at most %u", o.max_handles, OCR_HANDLES_MAX);
  if (o.deadline_ms > INT_MAX)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "OCR deadline %u ms is too long", o.deadline_ms);
  hg_ocr *ocr = calloc(1, sizeof *ocr);
  if (!ocr) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  ocr->tessdata_dir = strdup(dir);
  ocr->languages = strdup(langs);
  ocr->deadline_ms = o.deadline_ms ? o.deadline_ms : HG_OCR_DEADLINE_MS_DEFAULT;
  ocr->limits.max_pixels = o.max_pixels ? o.max_pixels : HG_OCR_MAX_PIXELS_DEFAULT;
  ocr->limits.max_bytes = o.max_bytes ? o.max_bytes : HG_OCR_MAX_BYTES_DEFAULT;
  ocr->limits.upscale_below = o.upscale_below;
  ocr->max_handles = o.max_handles ? o.max_handles : HG_OCR_HANDLES_DEFAULT;
  ocr->layout = o.layout;
  ocr->retry_below = o.retry_below_confidence == HG_OCR_RETRY_NEVER ? 0
                     : o.retry_below_confidence                     ? o.retry_below_confidence
                                                                    : HG_OCR_RETRY_BELOW_DEFAULT;
  ocr->idle = calloc(ocr->max_handles, sizeof *ocr->idle);
  ocr->all = calloc(ocr->max_handles, sizeof *ocr->all);
  pthread_mutex_init(&ocr->lock, NULL);
  pthread_cond_init(&ocr->handle_freed, NULL);
  if (!ocr->tessdata_dir || !ocr->languages || !ocr->idle || !ocr->all) {
    hg_ocr_free(ocr);
    return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  }
  hg_status st = check_language_files(ocr, err);
  if (st) {
    hg_ocr_free(ocr);
    return st;
  }
  hg_ocr_quiet_leptonica();
  if (!o.openmp) pthread_once(&openmp_once, openmp_single_now);
  TessBaseAPI *first = acquire(ocr);
  if (!first) {
    hg_ocr_free(ocr);
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "Tesseract could not load '%s' from %s (a damaged .traineddata file?)",
                   langs, dir);
  }
  release(ocr, first);
  *out = ocr;
  return HG_OK;
}

unsigned hg_ocr_handles_made(hg_ocr *ocr) {
  pthread_mutex_lock(&ocr->lock);
  unsigned n = ocr->all_count;
  pthread_mutex_unlock(&ocr->lock);
  return n;
}

void hg_ocr_free(hg_ocr *ocr) {
  if (!ocr) return;
  for (unsigned i = 0; i < ocr->all_count; i++)
    TessBaseAPIDelete(ocr->all[i]);
  pthread_cond_destroy(&ocr->handle_freed);
  pthread_mutex_destroy(&ocr->lock);
  free(ocr->idle);
  free(ocr->all);
  free(ocr->tessdata_dir);
  free(ocr->languages);
  free(ocr);
}

/* ---- one image ---- */

typedef struct deadline_watch {
  int64_t deadline_ms; /* on the monotonic clock */
  int fired;
} deadline_watch;

static bool past_deadline(void *ctx, int words) {
  (void)words;
  deadline_watch *d = ctx;
  if (hg_clock_mono_ms() >= d->deadline_ms) d->fired = 1;
  return d->fired;
}

void hg_ocr_result_free(hg_ocr_result *result) {
  if (!result) return;
  free(result->text);
  memset(result, 0, sizeof *result);
}

/* One recognition of pix on api within the deadline: the tidied text (malloc-ed) and its confidence. -1 when
 * Tesseract failed for another reason than the deadline, -2 out of memory. */
static int recognise(TessBaseAPI *api, PIX *pix, deadline_watch *watch, char **text_out, size_t *len_out,
                     int *confidence_out) {
  *text_out = NULL;
  ETEXT_DESC *monitor = TessMonitorCreate();
  if (!monitor) return -2;
  TessBaseAPISetImage2(api, pix);
  TessBaseAPISetSourceResolution(api, OCR_SOURCE_PPI);
  int64_t left = watch->deadline_ms - hg_clock_mono_ms();
  TessMonitorSetDeadlineMSecs(monitor, left > 0 ? (int)left : 1);
  TessMonitorSetCancelFunc(monitor, past_deadline);
  TessMonitorSetCancelThis(monitor, watch);
  int failed = TessBaseAPIRecognize(api, monitor) != 0;
  TessMonitorDelete(monitor);
  if (failed && hg_clock_mono_ms() >= watch->deadline_ms) watch->fired = 1; /* Tesseract's own check came first */
  /* After a failed Recognize, GetUTF8Text would run recognition again, this time without a deadline; a pass cut by
   * the deadline leaves the words read so far, which is what the cancel callback tells apart. */
  if (failed && !watch->fired) return -1;
  char *text = TessBaseAPIGetUTF8Text(api);
  int confidence = TessBaseAPIMeanTextConf(api);
  size_t n = text ? strlen(text) : 0;
  char *copy = malloc(n + 1);
  if (!copy) {
    if (text) TessDeleteText(text);
    return -2;
  }
  if (n) memcpy(copy, text, n);
  copy[n] = '\0';
  if (text) TessDeleteText(text);
  *len_out = hg_ocr_tidy_text(copy, n);
  *confidence_out = !*len_out || confidence < 0 ? 0 : confidence > 100 ? 100 : confidence;
  *text_out = copy;
  return 0;
}

hg_status hg_ocr_read(hg_ocr *ocr, const uint8_t *image, size_t len, hg_ocr_result *out, hg_error *err) {
  memset(out, 0, sizeof *out);
  if (!ocr) return hg_fail(err, HG_ERR_INVALID, 0, 0, "no OCR engine");
  int64_t start = hg_clock_mono_ms();
  PIX *pix;
  uint32_t width, height;
  hg_status st = hg_ocr_prepare(image, len, &ocr->limits, &pix, &width, &height, err);
  if (st) return st;
  TessBaseAPI *api = acquire(ocr);
  if (!api) {
    pixDestroy(&pix);
    return hg_fail(err, HG_ERR_NOMEM, 0, 0, "Tesseract could not make another handle (out of memory?)");
  }
  deadline_watch watch = {start + (int64_t)ocr->deadline_ms, 0};
  char *text;
  size_t n = 0;
  int confidence = 0;
  int rc = recognise(api, pix, &watch, &text, &n, &confidence);
  /* An unsure reading is made again, differently, and the surest kept; each second reading runs only while every
   * reading so far is unsure. Measured (docs/media.md): large letters on noisy or busy ground read better at half
   * size (the scaling averages the noise away and brings the letters near the height the models were trained at);
   * on busy ground Tesseract's tiled (adaptive) Otsu threshold beats its global one. */
  static const struct {
    float scale;
    const char *thresholding; /* Tesseract's thresholding_method: 0 Otsu, 1 tiled Otsu */
  } again[] = {{0.5f, "0"}, {1.0f, "1"}};
  for (size_t k = 0; k < sizeof again / sizeof *again; k++) {
    if (rc || watch.fired || !ocr->retry_below || confidence >= (int)ocr->retry_below) break;
    PIX *src = pix, *scaled = NULL;
    if (again[k].scale != 1.0f) {
      if (pixGetWidth(pix) < 2 * OCR_RETRY_MIN_SIDE || pixGetHeight(pix) < 2 * OCR_RETRY_MIN_SIDE) continue;
      src = scaled = pixScaleGrayLI(pix, again[k].scale, again[k].scale);
      if (!scaled) continue;
    }
    TessBaseAPISetVariable(api, "thresholding_method", again[k].thresholding);
    char *text2;
    size_t n2 = 0;
    int confidence2 = 0;
    if (!recognise(api, src, &watch, &text2, &n2, &confidence2)) {
      if (confidence2 > confidence && (n2 || !n)) {
        free(text);
        text = text2, n = n2, confidence = confidence2;
      } else {
        free(text2);
      }
    }
    TessBaseAPISetVariable(api, "thresholding_method", "0");
    pixDestroy(&scaled);
  }
  int timed_out = watch.fired || hg_clock_mono_ms() >= watch.deadline_ms;
  release(ocr, api);
  pixDestroy(&pix);
  if (rc == -1)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "Tesseract could not recognise the %ux%u image", width, height);
  if (rc == -2) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  out->text = text;
  out->len = n;
  out->confidence = confidence;
  out->timed_out = timed_out;
  out->width = width;
  out->height = height;
  int64_t elapsed = hg_clock_mono_ms() - start;
  out->elapsed_ms = elapsed < 0 ? 0 : (unsigned)elapsed;
  return HG_OK;
}
