/* image.c — PNG and JPEG bytes to an RGBA raster and back (libpng, libjpeg-turbo).
 *
 * Every input is normalised to 8-bit RGBA: palettes, grey, 16-bit samples, tRNS transparency and Adam7 interlace for
 * PNG; grey, YCbCr and (by hand, since libjpeg will not) CMYK/YCCK for JPEG. Both libraries report fatal errors by
 * calling a function that must not return; ours longjmps back to the one function that called setjmp, and every
 * allocation made before that point lives in a context struct outside that function's frame, so the error path frees
 * it without touching a local that setjmp may have clobbered. Truncated or corrupt data is HG_ERR_PARSE: libjpeg only
 * warns about a short file (and pads it with grey), so its warnings are errors here. A picture over
 * HG_IMAGE_PIXELS_MAX pixels is HG_ERR_LIMIT before its pixels are allocated. Metadata is not carried over. */
#include <math.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* after stdio.h and stddef.h, which jpeglib.h needs and does not include */
#include <jerror.h>
#include <jpeglib.h>
#include <png.h>
#include <webp/decode.h>
#include <webp/encode.h>

#include "base/error.h"
#include "hegui/media.h"

#define JPEG_SCANS_MAX 256 /* a progressive JPEG of thousands of tiny scans costs time, not pixels */

static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

void hg_raster_free(hg_raster *r) {
  if (!r) return;
  free(r->px);
  memset(r, 0, sizeof *r);
}

hg_status hg_raster_new(hg_raster *r, uint32_t width, uint32_t height, hg_error *err) {
  memset(r, 0, sizeof *r);
  if (!width || !height) return hg_fail(err, HG_ERR_INVALID, 0, 0, "an image of %ux%u pixels is empty", width, height);
  if ((uint64_t)width * height > HG_IMAGE_PIXELS_MAX)
    return hg_fail(err, HG_ERR_LIMIT, 0, 0, "an image of %ux%u pixels is over the limit of %u pixels", width, height,
                   (unsigned)HG_IMAGE_PIXELS_MAX);
  r->px = malloc((size_t)width * height * 4);
  if (!r->px) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory for a %ux%u image", width, height);
  r->width = width;
  r->height = height;
  r->stride = (size_t)width * 4;
  return HG_OK;
}

static hg_status check_size(uint32_t width, uint32_t height, const char *format, hg_error *err) {
  if (!width || !height) return hg_fail(err, HG_ERR_PARSE, 0, 0, "%s: the image has no pixels", format);
  if ((uint64_t)width * height > HG_IMAGE_PIXELS_MAX)
    return hg_fail(err, HG_ERR_LIMIT, 0, 0, "%s: %ux%u pixels is over the limit of %u pixels", format, width, height,
                   (unsigned)HG_IMAGE_PIXELS_MAX);
  return HG_OK;
}

/* ---- PNG ------------------------------------------------------------------------------------------------ */

typedef struct png_ctx {
  jmp_buf jump;
  const uint8_t *data;
  size_t len, at;
  hg_raster raster;
  png_bytep *rows;
  hg_status status; /* what a longjmp means: HG_ERR_PARSE unless the handler says otherwise */
  char message[200];
  /* encoding */
  uint8_t *out;
  size_t out_len, out_cap;
} png_ctx;

static void png_on_error(png_structp png, png_const_charp message) {
  png_ctx *c = png_get_error_ptr(png);
  if (!c->message[0]) snprintf(c->message, sizeof c->message, "%s", message);
  longjmp(c->jump, 1);
}

static void png_on_warning(png_structp png, png_const_charp message) {
  (void)png;
  (void)message; /* warnings (a bad gamma, an unknown chunk's CRC) do not stop a picture from being read */
}

static void png_read_bytes(png_structp png, png_bytep out, size_t n) {
  png_ctx *c = png_get_io_ptr(png);
  if (n > c->len - c->at) png_error(png, "the file ends early (truncated)");
  memcpy(out, c->data + c->at, n);
  c->at += n;
}

/* Everything that can longjmp; c outlives it. */
static int png_decode_inner(png_structp png, png_infop info, png_ctx *c) {
  if (setjmp(c->jump)) return -1;
  png_set_read_fn(png, c, png_read_bytes);
  png_set_user_limits(png, 1u << 20, 1u << 20);
  png_set_chunk_malloc_max(png, 8u << 20); /* one ancillary chunk (iCCP, zTXt) */
  png_read_info(png, info);
  uint32_t width = png_get_image_width(png, info), height = png_get_image_height(png, info);
  if ((uint64_t)width * height > HG_IMAGE_PIXELS_MAX) {
    c->status = HG_ERR_LIMIT;
    snprintf(c->message, sizeof c->message, "%ux%u pixels is over the limit of %u pixels", width, height,
             (unsigned)HG_IMAGE_PIXELS_MAX);
    return -1;
  }
  int type = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
  if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
  if (depth == 16) png_set_scale_16(png);
  if (type == PNG_COLOR_TYPE_GRAY || type == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
  if (!(type & PNG_COLOR_MASK_ALPHA) && !png_get_valid(png, info, PNG_INFO_tRNS))
    png_set_add_alpha(png, 0xff, PNG_FILLER_AFTER);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  if (png_get_rowbytes(png, info) != (size_t)width * 4) png_error(png, "unexpected row layout after conversion");
  hg_error e;
  if (hg_raster_new(&c->raster, width, height, &e)) {
    c->status = e.status;
    snprintf(c->message, sizeof c->message, "%.150s", e.message);
    return -1;
  }
  c->rows = malloc(sizeof *c->rows * height);
  if (!c->rows) {
    c->status = HG_ERR_NOMEM;
    snprintf(c->message, sizeof c->message, "out of memory");
    return -1;
  }
  for (uint32_t y = 0; y < height; y++)
    c->rows[y] = c->raster.px + (size_t)y * c->raster.stride;
  png_read_image(png, c->rows);
  png_read_end(png, NULL); /* the trailing chunks must be there: a file cut after its pixels is still cut */
  return 0;
}

static hg_status png_decode(const uint8_t *data, size_t len, hg_raster *out, hg_error *err) {
  png_ctx *c = calloc(1, sizeof *c);
  if (!c) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  c->data = data;
  c->len = len;
  c->status = HG_ERR_PARSE;
  hg_status st = HG_OK;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, c, png_on_error, png_on_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!info) {
    st = hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  } else if (png_decode_inner(png, info, c)) {
    st = hg_fail(err, c->status, 0, c->at, "png: %s", c->message[0] ? c->message : "unreadable");
    hg_raster_free(&c->raster);
  } else {
    *out = c->raster;
  }
  png_destroy_read_struct(png ? &png : NULL, info ? &info : NULL, NULL);
  free(c->rows);
  free(c);
  return st;
}

static void png_write_bytes(png_structp png, png_bytep in, size_t n) {
  png_ctx *c = png_get_io_ptr(png);
  if (n > c->out_cap - c->out_len) {
    size_t cap = c->out_cap ? c->out_cap : 65536;
    while (cap - c->out_len < n) {
      if (cap > SIZE_MAX / 2) png_error(png, "output too large");
      cap *= 2;
    }
    uint8_t *bigger = realloc(c->out, cap);
    if (!bigger) {
      c->status = HG_ERR_NOMEM;
      png_error(png, "out of memory");
    }
    c->out = bigger;
    c->out_cap = cap;
  }
  memcpy(c->out + c->out_len, in, n);
  c->out_len += n;
}

static void png_flush_nothing(png_structp png) { (void)png; }

static int png_encode_inner(png_structp png, png_infop info, png_ctx *c, const hg_raster *r) {
  if (setjmp(c->jump)) return -1;
  png_set_write_fn(png, c, png_write_bytes, png_flush_nothing);
  int opaque = 1; /* an opaque picture is written as RGB: a quarter fewer bytes to compress */
  for (uint32_t y = 0; y < r->height && opaque; y++) {
    const uint8_t *p = r->px + (size_t)y * r->stride;
    for (uint32_t x = 0; x < r->width; x++)
      if (p[4 * x + 3] != 0xff) {
        opaque = 0;
        break;
      }
  }
  png_set_IHDR(png, info, r->width, r->height, 8, opaque ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_RGB_ALPHA,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  /* zlib level 3 with libpng's adaptive filters: on a 2048² photograph 0.4 s and 5.07 MB, where level 6 takes
   * 1.4 s for 4.60 MB (bench/README-style figures in docs/labels.md); labelling sits on a request's path */
  png_set_compression_level(png, 3);
  png_write_info(png, info);
  if (opaque) png_set_filler(png, 0, PNG_FILLER_AFTER); /* drops the fourth byte of each input pixel */
  for (uint32_t y = 0; y < r->height; y++)
    png_write_row(png, r->px + (size_t)y * r->stride);
  png_write_end(png, NULL);
  return 0;
}

static hg_status png_encode(const hg_raster *r, uint8_t **out, size_t *out_len, hg_error *err) {
  png_ctx *c = calloc(1, sizeof *c);
  if (!c) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  c->status = HG_ERR_INVALID;
  hg_status st = HG_OK;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, c, png_on_error, png_on_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!info) {
    st = hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  } else if (png_encode_inner(png, info, c, r)) {
    st = hg_fail(err, c->status, 0, 0, "png encoder: %s", c->message);
    free(c->out);
  } else {
    *out = c->out;
    *out_len = c->out_len;
  }
  png_destroy_write_struct(png ? &png : NULL, info ? &info : NULL);
  free(c);
  return st;
}

/* ---- JPEG ----------------------------------------------------------------------------------------------- */

typedef struct jpeg_ctx {
  struct jpeg_error_mgr jerr; /* first: libjpeg hands back a pointer to it */
  jmp_buf jump;
  struct jpeg_progress_mgr progress;
  hg_status status;
  char message[JMSG_LENGTH_MAX + 64];
  hg_raster raster;
  uint8_t *row; /* one CMYK row */
  /* encoding: a growing buffer of our own (libjpeg's memory destination leaks its buffer on an error exit) */
  struct jpeg_destination_mgr dest;
  uint8_t *out;
  size_t out_cap;
} jpeg_ctx;

static void jpeg_on_error(j_common_ptr cinfo) {
  jpeg_ctx *c = (jpeg_ctx *)cinfo->err;
  if (!c->message[0]) (*cinfo->err->format_message)(cinfo, c->message);
  longjmp(c->jump, 1);
}

/* A warning is corrupt data (a short file, a bad Huffman code): refused, except stray bytes between markers, which
 * many cameras write and which lose nothing. */
static void jpeg_on_message(j_common_ptr cinfo, int level) {
  if (level >= 0 || cinfo->err->msg_code == JWRN_EXTRANEOUS_DATA) return;
  jpeg_on_error(cinfo);
}

static void jpeg_on_progress(j_common_ptr cinfo) {
  if (!cinfo->is_decompressor) return;
  j_decompress_ptr d = (j_decompress_ptr)cinfo;
  if (d->input_scan_number > JPEG_SCANS_MAX) {
    jpeg_ctx *c = (jpeg_ctx *)cinfo->err;
    c->status = HG_ERR_LIMIT;
    snprintf(c->message, sizeof c->message, "more than %d scans", JPEG_SCANS_MAX);
    longjmp(c->jump, 1);
  }
}

static int jpeg_decode_inner(struct jpeg_decompress_struct *d, jpeg_ctx *c, const uint8_t *data, size_t len) {
  if (setjmp(c->jump)) return -1;
  jpeg_create_decompress(d);
  d->progress = &c->progress;
  jpeg_mem_src(d, data, (unsigned long)len);
  jpeg_read_header(d, TRUE);
  if ((uint64_t)d->image_width * d->image_height > HG_IMAGE_PIXELS_MAX) {
    c->status = HG_ERR_LIMIT;
    snprintf(c->message, sizeof c->message, "%ux%u pixels is over the limit of %u pixels", d->image_width,
             d->image_height, (unsigned)HG_IMAGE_PIXELS_MAX);
    return -1;
  }
  int cmyk = d->jpeg_color_space == JCS_CMYK || d->jpeg_color_space == JCS_YCCK;
  d->out_color_space = cmyk ? JCS_CMYK : JCS_EXT_RGBA;
  jpeg_start_decompress(d);
  hg_error e;
  if (hg_raster_new(&c->raster, d->output_width, d->output_height, &e)) {
    c->status = e.status;
    snprintf(c->message, sizeof c->message, "%.150s", e.message);
    return -1;
  }
  if (cmyk && !(c->row = malloc((size_t)d->output_width * 4))) {
    c->status = HG_ERR_NOMEM;
    snprintf(c->message, sizeof c->message, "out of memory");
    return -1;
  }
  /* Adobe's CMYK JPEGs store the inks inverted (255 = no ink); the Adobe marker says so */
  int inverted = d->saw_Adobe_marker;
  while (d->output_scanline < d->output_height) {
    uint8_t *dst = c->raster.px + (size_t)d->output_scanline * c->raster.stride;
    JSAMPROW rowp = cmyk ? c->row : dst;
    jpeg_read_scanlines(d, &rowp, 1);
    if (!cmyk) continue;
    for (uint32_t x = 0; x < d->output_width; x++) {
      unsigned cy = c->row[4 * x], m = c->row[4 * x + 1], ye = c->row[4 * x + 2], k = c->row[4 * x + 3];
      if (!inverted) cy = 255 - cy, m = 255 - m, ye = 255 - ye, k = 255 - k;
      dst[4 * x] = (uint8_t)((cy * k + 127) / 255); /* the naive conversion: no colour profile is applied */
      dst[4 * x + 1] = (uint8_t)((m * k + 127) / 255);
      dst[4 * x + 2] = (uint8_t)((ye * k + 127) / 255);
      dst[4 * x + 3] = 0xff;
    }
  }
  jpeg_finish_decompress(d);
  return 0;
}

static hg_status jpeg_decode(const uint8_t *data, size_t len, hg_raster *out, hg_error *err) {
  jpeg_ctx *c = calloc(1, sizeof *c);
  struct jpeg_decompress_struct *d = calloc(1, sizeof *d);
  hg_status st = HG_OK;
  if (!c || !d) {
    st = hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  } else {
    d->err = jpeg_std_error(&c->jerr);
    c->jerr.error_exit = jpeg_on_error;
    c->jerr.emit_message = jpeg_on_message;
    c->progress.progress_monitor = jpeg_on_progress;
    c->status = HG_ERR_PARSE;
    if (jpeg_decode_inner(d, c, data, len)) {
      st = hg_fail(err, c->status, 0, 0, "jpeg: %s", c->message[0] ? c->message : "unreadable");
      hg_raster_free(&c->raster);
    } else {
      *out = c->raster;
    }
    jpeg_destroy_decompress(d);
    free(c->row);
  }
  free(c);
  free(d);
  return st;
}

static void jdest_init(j_compress_ptr cinfo) {
  jpeg_ctx *c = (jpeg_ctx *)cinfo->err;
  c->dest.next_output_byte = c->out;
  c->dest.free_in_buffer = c->out_cap;
}

static boolean jdest_grow(j_compress_ptr cinfo) {
  jpeg_ctx *c = (jpeg_ctx *)cinfo->err;
  size_t used = c->out_cap; /* libjpeg calls this only when the buffer is full */
  uint8_t *bigger = used < SIZE_MAX / 2 ? realloc(c->out, used * 2) : NULL;
  if (!bigger) {
    c->status = HG_ERR_NOMEM;
    snprintf(c->message, sizeof c->message, "out of memory");
    longjmp(c->jump, 1);
  }
  c->out = bigger;
  c->out_cap = used * 2;
  c->dest.next_output_byte = c->out + used;
  c->dest.free_in_buffer = c->out_cap - used;
  return TRUE;
}

static void jdest_term(j_compress_ptr cinfo) { (void)cinfo; }

static int jpeg_encode_inner(struct jpeg_compress_struct *e, jpeg_ctx *c, const hg_raster *r, int quality) {
  if (setjmp(c->jump)) return -1;
  jpeg_create_compress(e);
  e->dest = &c->dest;
  e->image_width = r->width;
  e->image_height = r->height;
  e->input_components = 4;
  e->in_color_space = JCS_EXT_RGBA; /* the alpha byte is ignored: JPEG has no transparency */
  jpeg_set_defaults(e);
  jpeg_set_quality(e, quality, TRUE);
  jpeg_start_compress(e, TRUE);
  while (e->next_scanline < e->image_height) {
    JSAMPROW row = r->px + (size_t)e->next_scanline * r->stride;
    jpeg_write_scanlines(e, &row, 1);
  }
  jpeg_finish_compress(e);
  return 0;
}

static hg_status jpeg_encode(const hg_raster *r, int quality, uint8_t **out, size_t *out_len, hg_error *err) {
  jpeg_ctx *c = calloc(1, sizeof *c);
  struct jpeg_compress_struct *e = calloc(1, sizeof *e);
  hg_status st = HG_OK;
  if (c) {
    c->out_cap = 65536;
    c->out = malloc(c->out_cap);
  }
  if (!c || !e || !c->out) {
    st = hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
    if (c) free(c->out);
  } else {
    e->err = jpeg_std_error(&c->jerr);
    c->jerr.error_exit = jpeg_on_error;
    c->dest.init_destination = jdest_init;
    c->dest.empty_output_buffer = jdest_grow;
    c->dest.term_destination = jdest_term;
    c->status = HG_ERR_INVALID;
    if (jpeg_encode_inner(e, c, r, quality)) {
      st = hg_fail(err, c->status, 0, 0, "jpeg encoder: %s", c->message);
      free(c->out);
    } else {
      *out = c->out;
      *out_len = c->out_cap - c->dest.free_in_buffer;
    }
    jpeg_destroy_compress(e);
  }
  free(c);
  free(e);
  return st;
}

/* ---- EXIF orientation ------------------------------------------------------------------------------------------ */

/* The Orientation tag (0x0112) of IFD0 in a JPEG's Exif APP1 segment, 1..8, or 1 when absent or unreadable. */
static int jpeg_exif_orientation(const uint8_t *data, size_t len) {
  for (size_t at = 2; at + 4 <= len && data[at] == 0xff;) {
    uint8_t m = data[at + 1];
    if (m == 0xff) {
      at++;
      continue;
    }
    if (m == 0xda || m == 0xd9) break;
    size_t n = (size_t)data[at + 2] << 8 | data[at + 3];
    if (n < 2 || n > len - at - 2) break;
    if (m == 0xe1 && n >= 2 + 6 + 8 && !memcmp(data + at + 4, "Exif\0\0", 6)) {
      const uint8_t *t = data + at + 10; /* the TIFF header */
      size_t tlen = n - 8;
      int le = t[0] == 'I' && t[1] == 'I';
      if (!le && !(t[0] == 'M' && t[1] == 'M')) return 1;
#define U16(p) (le ? (uint32_t)(p)[0] | (uint32_t)(p)[1] << 8 : (uint32_t)(p)[0] << 8 | (uint32_t)(p)[1])
#define U32(p) (le ? U16(p) | U16((p) + 2) << 16 : U16(p) << 16 | U16((p) + 2))
      uint32_t ifd = U32(t + 4);
      if (ifd > tlen || tlen - ifd < 2) return 1;
      uint32_t entries = U16(t + ifd);
      for (uint32_t e = 0; e < entries && (size_t)ifd + 2 + 12 * (e + 1) <= tlen; e++) {
        const uint8_t *entry = t + ifd + 2 + 12 * e;
        if (U16(entry) == 0x0112 && U16(entry + 2) == 3) { /* SHORT */
          uint32_t v = U16(entry + 8);
          return v >= 1 && v <= 8 ? (int)v : 1;
        }
      }
#undef U32
#undef U16
      return 1;
    }
    at += n + 2;
  }
  return 1;
}

/* The raster as a viewer shows it: orientation 2..8 mirrored and/or turned (5..8 swap width and height). */
static hg_status orient(hg_raster *r, int orientation, hg_error *err) {
  if (orientation <= 1 || orientation > 8) return HG_OK;
  uint32_t w = r->width, h = r->height;
  int swap = orientation >= 5;
  hg_raster o;
  hg_status st = hg_raster_new(&o, swap ? h : w, swap ? w : h, err);
  if (st) return st;
  for (uint32_t y = 0; y < o.height; y++)
    for (uint32_t x = 0; x < o.width; x++) {
      uint32_t sx, sy;
      switch (orientation) {
      case 2: sx = w - 1 - x, sy = y; break;
      case 3: sx = w - 1 - x, sy = h - 1 - y; break;
      case 4: sx = x, sy = h - 1 - y; break;
      case 5: sx = y, sy = x; break;
      case 6: sx = y, sy = h - 1 - x; break;
      case 7: sx = w - 1 - y, sy = h - 1 - x; break;
      default: sx = w - 1 - y, sy = x; break; /* 8 */
      }
      memcpy(o.px + (size_t)y * o.stride + 4 * (size_t)x, r->px + (size_t)sy * r->stride + 4 * (size_t)sx, 4);
    }
  hg_raster_free(r);
  *r = o;
  return HG_OK;
}

/* ---- the quality a JPEG was written at ---------------------------------------------------------------------- */

/* The sum of the 64 entries of the example luminance table of ITU T.81 Annex K.1, which libjpeg and most encoders
 * scale by quality: the table at quality q is the example times 5000/q % (q < 50) or (200 - 2q) % (q >= 50). Comparing
 * sums needs no zigzag order. */
#define ANNEX_K_LUMINANCE_SUM 3688

int hg_jpeg_quality_estimate(const uint8_t *data, size_t len) {
  if (len < 4 || data[0] != 0xff || data[1] != 0xd8) return 0;
  for (size_t at = 2; at + 4 <= len && data[at] == 0xff;) {
    uint8_t m = data[at + 1];
    if (m == 0xff) {
      at++;
      continue;
    }
    if (m == 0xda || m == 0xd9) break;
    size_t n = (size_t)data[at + 2] << 8 | data[at + 3];
    if (n < 2 || n > len - at - 2) break;
    for (size_t t = at + 4; m == 0xdb && t < at + 2 + n;) { /* a DQT segment holds one or more tables */
      int precision16 = data[t] >> 4, id = data[t] & 15;
      size_t bytes = 64u * (precision16 ? 2 : 1);
      if (t + 1 + bytes > at + 2 + n) break;
      if (id == 0) {
        uint32_t sum = 0;
        for (size_t i = 0; i < 64; i++)
          sum += precision16 ? (uint32_t)data[t + 1 + 2 * i] << 8 | data[t + 2 + 2 * i] : data[t + 1 + i];
        double scale = 100.0 * sum / ANNEX_K_LUMINANCE_SUM;
        int q = scale <= 100 ? (int)lround((200 - scale) / 2) : (int)lround(5000 / scale);
        return q < 1 ? 1 : q > 100 ? 100 : q;
      }
      t += 1 + bytes;
    }
    at += n + 2;
  }
  return 0;
}

/* ---- WebP (libwebp): lossy (VP8) and lossless (VP8L), with or without alpha; the first frame of an animation is
 * refused rather than labelled alone ---- */

static int is_webp(const uint8_t *d, size_t len) {
  return len >= 12 && !memcmp(d, "RIFF", 4) && !memcmp(d + 8, "WEBP", 4);
}

static hg_status webp_decode(const uint8_t *data, size_t len, hg_raster *out, hg_error *err) {
  WebPBitstreamFeatures f;
  if (WebPGetFeatures(data, len, &f) != VP8_STATUS_OK)
    return hg_fail(err, HG_ERR_PARSE, 0, 0, "webp: the header cannot be read (a damaged or truncated file)");
  if (f.has_animation)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "webp: an animation (only still pictures are labelled)");
  hg_status st = check_size((uint32_t)f.width, (uint32_t)f.height, "webp", err);
  if (st) return st;
  if ((st = hg_raster_new(out, (uint32_t)f.width, (uint32_t)f.height, err))) return st;
  if (!WebPDecodeRGBAInto(data, len, out->px, out->stride * out->height, (int)out->stride)) {
    hg_raster_free(out);
    return hg_fail(err, HG_ERR_PARSE, 0, 0, "webp: the picture does not decode (a damaged or truncated file)");
  }
  return HG_OK;
}

/* lossless when asked (quality 101: the original was lossless), else lossy at quality */
static hg_status webp_encode(const hg_raster *r, int quality, uint8_t **out, size_t *out_len, hg_error *err) {
  uint8_t *b = NULL;
  size_t n = quality > 100 ? WebPEncodeLosslessRGBA(r->px, (int)r->width, (int)r->height, (int)r->stride, &b)
                           : WebPEncodeRGBA(r->px, (int)r->width, (int)r->height, (int)r->stride, (float)quality, &b);
  if (!n || !b) {
    WebPFree(b);
    return hg_fail(err, HG_ERR_NOMEM, 0, 0, "webp: the picture could not be encoded");
  }
  *out = malloc(n);
  if (*out) memcpy(*out, b, n);
  WebPFree(b);
  if (!*out) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  *out_len = n;
  return HG_OK;
}

int hg_webp_lossless(const uint8_t *data, size_t len) {
  WebPBitstreamFeatures f;
  return WebPGetFeatures(data, len, &f) == VP8_STATUS_OK && f.format == 2;
}

/* ---- the entry points ------------------------------------------------------------------------------------ */

hg_status hg_image_decode(const uint8_t *data, size_t len, hg_raster *out, const char **format, hg_error *err) {
  memset(out, 0, sizeof *out);
  if (format) *format = NULL;
  if (len >= 8 && !memcmp(data, png_magic, 8)) {
    if (format) *format = "png";
    return png_decode(data, len, out, err);
  }
  if (len >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff) {
    if (format) *format = "jpeg";
    if (len > (unsigned long)-1) return hg_fail(err, HG_ERR_LIMIT, 0, 0, "jpeg: file too large");
    hg_status st = jpeg_decode(data, len, out, err);
    if (!st && (st = orient(out, jpeg_exif_orientation(data, len), err))) hg_raster_free(out);
    return st;
  }
  if (is_webp(data, len)) {
    if (format) *format = "webp";
    return webp_decode(data, len, out, err);
  }
  return hg_fail(err, HG_ERR_PARSE, 0, 0, "not a PNG, JPEG or WebP image");
}

hg_status hg_image_encode(const hg_raster *r, const char *format, int quality, uint8_t **out, size_t *out_len,
                          hg_error *err) {
  *out = NULL;
  *out_len = 0;
  if (!r || !r->px || !r->width || !r->height || r->stride < (size_t)r->width * 4)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_image_encode: not a raster");
  hg_status st = check_size(r->width, r->height, format ? format : "image", err);
  if (st) return st == HG_ERR_PARSE ? HG_ERR_INVALID : st;
  if (format && !strcmp(format, "png")) return png_encode(r, out, out_len, err);
  if (format && !strcmp(format, "jpeg")) {
    if (quality <= 0) quality = HG_JPEG_QUALITY_DEFAULT;
    if (quality > 100) return hg_fail(err, HG_ERR_INVALID, 0, 0, "JPEG quality %d is not in 1..100", quality);
    return jpeg_encode(r, quality, out, out_len, err);
  }
  if (format && !strcmp(format, "webp")) {
    if (quality <= 0) quality = HG_JPEG_QUALITY_DEFAULT;
    if (quality > 101) return hg_fail(err, HG_ERR_INVALID, 0, 0, "WebP quality %d is not in 1..101", quality);
    return webp_encode(r, quality, out, out_len, err);
  }
  return hg_fail(err, HG_ERR_INVALID, 0, 0, "cannot encode images as '%s' (png, jpeg or webp)",
                 format ? format : "(none)");
}
