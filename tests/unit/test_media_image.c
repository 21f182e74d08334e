/* test_media_image.c — PNG/JPEG pixels in and out, and the visible label measured from the outside.
 *
 * Decoding is checked against files written here with libpng/libjpeg in every PNG colour type, bit depth,
 * palette+tRNS and interlace, and JPEG grey/CMYK, with the expected pixels worked out by hand. The label is never
 * taken at its word: the test diffs the labelled raster against the original, finds the plate (the changed pixels)
 * and the text (changed pixels nearer the text's extreme than the plate's typical luminance), and checks the text's
 * height against 5% of the shortest side, the corner or edge it lands in, and the contrast between text and plate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jpeglib.h>
#include <math.h>
#include <png.h>
#include <pthread.h>

#include "base/crc32.h"
#include "hegui/filelabel.h"
#include "hegui/media.h"

static uint32_t rng_state = 12345;
static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return rng_state;
}

static hg_raster make_raster(uint32_t w, uint32_t h) {
  hg_raster r;
  assert_int_equal(hg_raster_new(&r, w, h, NULL), HG_OK);
  return r;
}

static uint8_t *px(const hg_raster *r, uint32_t x, uint32_t y) { return r->px + (size_t)y * r->stride + 4 * (size_t)x; }

/* ---- files written with the libraries directly ---- */

typedef struct membuf {
  uint8_t *d;
  size_t n, cap;
} membuf;

static void mem_write(png_structp p, png_bytep data, size_t n) {
  membuf *b = png_get_io_ptr(p);
  if (b->n + n > b->cap) {
    b->cap = (b->n + n) * 2;
    b->d = realloc(b->d, b->cap);
    assert_non_null(b->d);
  }
  memcpy(b->d + b->n, data, n);
  b->n += n;
}
static void mem_flush(png_structp p) { (void)p; }

/* rows are in the PNG's own sample layout */
static membuf write_png(uint32_t w, uint32_t h, int type, int depth, int interlace, png_bytep *rows,
                        const png_color *palette, int npalette, const png_byte *trns, int ntrns,
                        const png_color_16 *trns_color) {
  membuf b = {0};
  png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png_create_info_struct(p);
  if (setjmp(png_jmpbuf(p))) fail_msg("libpng failed writing a test file");
  png_set_write_fn(p, &b, mem_write, mem_flush);
  png_set_IHDR(p, info, w, h, depth, type, interlace, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (palette) png_set_PLTE(p, info, palette, npalette);
  if (trns || trns_color) png_set_tRNS(p, info, trns, ntrns, trns_color);
  png_write_info(p, info);
  png_write_image(p, rows);
  png_write_end(p, NULL);
  png_destroy_write_struct(&p, &info);
  return b;
}

static hg_raster decode_ok(const membuf *b, const char *want_format) {
  hg_raster r;
  const char *format;
  hg_error err;
  hg_status st = hg_image_decode(b->d, b->n, &r, &format, &err);
  if (st) fail_msg("decode: %s", err.message);
  assert_string_equal(format, want_format);
  return r;
}

static void test_png_roundtrip_exact(void **state) {
  (void)state;
  for (int opaque = 0; opaque < 2; opaque++) {
    hg_raster r = make_raster(173, 61);
    for (uint32_t y = 0; y < r.height; y++)
      for (uint32_t x = 0; x < r.width; x++) {
        uint32_t v = rnd();
        memcpy(px(&r, x, y), &v, 4);
        if (opaque) px(&r, x, y)[3] = 255;
      }
    uint8_t *out;
    size_t len;
    assert_int_equal(hg_image_encode(&r, "png", 0, &out, &len, NULL), HG_OK);
    membuf b = {.d = out, .n = len};
    hg_raster back = decode_ok(&b, "png");
    assert_int_equal(back.width, 173);
    assert_int_equal(back.height, 61);
    for (uint32_t y = 0; y < r.height; y++)
      assert_memory_equal(px(&r, 0, y), px(&back, 0, y), 4 * r.width);
    free(out);
    hg_raster_free(&back);
    hg_raster_free(&r);
  }
}

static void test_jpeg_roundtrip_tolerance(void **state) {
  (void)state;
  hg_raster r = make_raster(320, 200);
  for (uint32_t y = 0; y < r.height; y++)
    for (uint32_t x = 0; x < r.width; x++) {
      uint8_t *p = px(&r, x, y);
      p[0] = (uint8_t)(x * 255 / 319), p[1] = (uint8_t)(y * 255 / 199), p[2] = (uint8_t)((x + y) / 3), p[3] = 255;
    }
  uint8_t *out;
  size_t len;
  assert_int_equal(hg_image_encode(&r, "jpeg", 90, &out, &len, NULL), HG_OK);
  assert_true(len > 100 && out[0] == 0xff && out[1] == 0xd8);
  membuf b = {.d = out, .n = len};
  hg_raster back = decode_ok(&b, "jpeg");
  double total = 0;
  int worst = 0;
  for (uint32_t y = 0; y < r.height; y++)
    for (uint32_t x = 0; x < r.width; x++)
      for (int k = 0; k < 4; k++) {
        int d = abs(px(&r, x, y)[k] - px(&back, x, y)[k]);
        total += d;
        if (d > worst) worst = d;
      }
  assert_true(total / (4.0 * r.width * r.height) < 2.0);
  assert_true(worst < 24);
  assert_int_equal(hg_image_encode(&r, "jpeg", 101, &out, &len, NULL), HG_ERR_INVALID);
  assert_int_equal(hg_image_encode(&r, "gif", 0, &out, &len, NULL), HG_ERR_INVALID);
  free(b.d);
  hg_raster_free(&back);
  hg_raster_free(&r);
}

/* every PNG colour type and bit depth, with the RGBA each pixel must come out as */
static void test_png_colour_types(void **state) {
  (void)state;
  enum { W = 9, H = 7 };
  for (int interlace = 0; interlace < 2; interlace++) {
    int il = interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE;
    /* grey, 1, 2, 4, 8 bits */
    for (int depth = 1; depth <= 8; depth *= 2) {
      uint8_t data[H][W * 2];
      png_bytep rows[H];
      int maxv = (1 << depth) - 1;
      memset(data, 0, sizeof data);
      for (int y = 0; y < H; y++) {
        rows[y] = data[y];
        for (int x = 0; x < W; x++) {
          int v = (x + y) % (maxv + 1);
          int bit = x * depth;
          data[y][bit / 8] |= (uint8_t)(v << (8 - depth - bit % 8));
        }
      }
      membuf b = write_png(W, H, PNG_COLOR_TYPE_GRAY, depth, il, rows, NULL, 0, NULL, 0, NULL);
      hg_raster r = decode_ok(&b, "png");
      for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
          int v = ((x + y) % (maxv + 1)) * 255 / maxv;
          uint8_t want[4] = {(uint8_t)v, (uint8_t)v, (uint8_t)v, 255};
          assert_memory_equal(px(&r, (uint32_t)x, (uint32_t)y), want, 4);
        }
      hg_raster_free(&r);
      free(b.d);
    }
    /* palette with tRNS, 4 bits */
    {
      png_color pal[3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
      png_byte trns[3] = {0, 128, 255};
      uint8_t data[H][W];
      png_bytep rows[H];
      memset(data, 0, sizeof data);
      for (int y = 0; y < H; y++) {
        rows[y] = data[y];
        for (int x = 0; x < W; x++)
          data[y][x / 2] |= (uint8_t)(((x * y) % 3) << (x % 2 ? 0 : 4));
      }
      membuf b = write_png(W, H, PNG_COLOR_TYPE_PALETTE, 4, il, rows, pal, 3, trns, 3, NULL);
      hg_raster r = decode_ok(&b, "png");
      for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
          int i = (x * y) % 3;
          uint8_t want[4] = {pal[i].red, pal[i].green, pal[i].blue, trns[i]};
          assert_memory_equal(px(&r, (uint32_t)x, (uint32_t)y), want, 4);
        }
      hg_raster_free(&r);
      free(b.d);
    }
    /* 16-bit RGB with a tRNS colour, 8-bit grey+alpha, 16-bit RGBA */
    {
      uint8_t data[H][W * 8];
      png_bytep rows[H];
      for (int y = 0; y < H; y++) {
        rows[y] = data[y];
        for (int x = 0; x < W; x++) {
          uint16_t s[3] = {(uint16_t)(x * 7000), (uint16_t)(y * 9000), (uint16_t)(x == 3 && y == 2 ? 4242 : 65535)};
          for (int k = 0; k < 3; k++)
            data[y][6 * x + 2 * k] = (uint8_t)(s[k] >> 8), data[y][6 * x + 2 * k + 1] = (uint8_t)s[k];
        }
      }
      png_color_16 key = {.red = 3 * 7000, .green = 2 * 9000, .blue = 4242};
      membuf b = write_png(W, H, PNG_COLOR_TYPE_RGB, 16, il, rows, NULL, 0, NULL, 0, &key);
      hg_raster r = decode_ok(&b, "png");
      for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
          const uint8_t *p = px(&r, (uint32_t)x, (uint32_t)y);
          assert_true(abs(p[0] - (int)lround(x * 7000 / 257.0)) <= 1);
          assert_true(abs(p[1] - (int)lround(y * 9000 / 257.0)) <= 1);
          assert_int_equal(p[3], x == 3 && y == 2 ? 0 : 255);
        }
      hg_raster_free(&r);
      free(b.d);
      for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
          data[y][2 * x] = (uint8_t)(x * 20), data[y][2 * x + 1] = (uint8_t)(y * 30);
      b = write_png(W, H, PNG_COLOR_TYPE_GRAY_ALPHA, 8, il, rows, NULL, 0, NULL, 0, NULL);
      r = decode_ok(&b, "png");
      for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
          uint8_t want[4] = {(uint8_t)(x * 20), (uint8_t)(x * 20), (uint8_t)(x * 20), (uint8_t)(y * 30)};
          assert_memory_equal(px(&r, (uint32_t)x, (uint32_t)y), want, 4);
        }
      hg_raster_free(&r);
      free(b.d);
      for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
          for (int k = 0; k < 4; k++)
            data[y][8 * x + 2 * k] = (uint8_t)(x * 10 + k * 40 + y), data[y][8 * x + 2 * k + 1] = 0;
      b = write_png(W, H, PNG_COLOR_TYPE_RGB_ALPHA, 16, il, rows, NULL, 0, NULL, 0, NULL);
      r = decode_ok(&b, "png");
      for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
          for (int k = 0; k < 4; k++)
            assert_true(abs(px(&r, (uint32_t)x, (uint32_t)y)[k] - (x * 10 + k * 40 + y)) <= 1);
      hg_raster_free(&r);
      free(b.d);
    }
  }
}

static membuf write_jpeg(uint32_t w, uint32_t h, J_COLOR_SPACE space, int comps, const uint8_t *samples) {
  struct jpeg_compress_struct c;
  struct jpeg_error_mgr jerr;
  c.err = jpeg_std_error(&jerr);
  jpeg_create_compress(&c);
  unsigned char *out = NULL;
  unsigned long len = 0;
  jpeg_mem_dest(&c, &out, &len);
  c.image_width = w;
  c.image_height = h;
  c.input_components = comps;
  c.in_color_space = space;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 95, TRUE);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < h) {
    JSAMPROW row = (JSAMPROW)(samples + (size_t)c.next_scanline * w * comps);
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  membuf b = {.d = out, .n = len};
  return b;
}

static void test_jpeg_grey_and_cmyk(void **state) {
  (void)state;
  enum { W = 32, H = 16 };
  uint8_t grey[W * H], cmyk[W * H * 4];
  for (int i = 0; i < W * H; i++)
    grey[i] = (uint8_t)(i % W * 8);
  membuf b = write_jpeg(W, H, JCS_GRAYSCALE, 1, grey);
  hg_raster r = decode_ok(&b, "jpeg");
  for (int i = 0; i < W * H; i++) {
    const uint8_t *p = px(&r, (uint32_t)(i % W), (uint32_t)(i / W));
    assert_int_equal(p[0], p[1]);
    assert_int_equal(p[1], p[2]);
    assert_true(abs(p[0] - grey[i]) <= 12);
    assert_int_equal(p[3], 255);
  }
  hg_raster_free(&r);
  free(b.d);
  /* Adobe convention (libjpeg writes the Adobe marker for CMYK): 255 = no ink. Left half magenta ink, right half
   * no ink at all. */
  for (int i = 0; i < W * H; i++) {
    int left = i % W < W / 2;
    uint8_t v[4] = {255, (uint8_t)(left ? 0 : 255), 255, 255};
    memcpy(cmyk + 4 * i, v, 4);
  }
  b = write_jpeg(W, H, JCS_CMYK, 4, cmyk);
  r = decode_ok(&b, "jpeg");
  const uint8_t *m = px(&r, 2, 8), *white = px(&r, W - 3, 8);
  assert_true(m[0] > 230 && m[1] < 25 && m[2] > 230);
  assert_true(white[0] > 230 && white[1] > 230 && white[2] > 230);
  hg_raster_free(&r);
  free(b.d);
}

static void test_corrupt_and_truncated(void **state) {
  (void)state;
  hg_raster r = make_raster(64, 48);
  for (uint32_t y = 0; y < r.height; y++)
    for (uint32_t x = 0; x < r.width; x++) {
      uint32_t v = rnd() | 0xff000000u;
      memcpy(px(&r, x, y), &v, 4);
    }
  const char *formats[2] = {"png", "jpeg"};
  for (int f = 0; f < 2; f++) {
    uint8_t *out;
    size_t len;
    assert_int_equal(hg_image_encode(&r, formats[f], 0, &out, &len, NULL), HG_OK);
    for (size_t cut = 0; cut < len; cut += (cut < 64 ? 1 : 97)) {
      uint8_t *copy = malloc(cut + 1); /* an exact-size copy, so ASan sees any read past the end */
      memcpy(copy, out, cut);
      hg_raster bad;
      hg_error err;
      hg_status st = hg_image_decode(copy, cut, &bad, NULL, &err);
      if (st != HG_ERR_PARSE) fail_msg("%s cut at %zu of %zu: status %d", formats[f], cut, len, st);
      assert_null(bad.px);
      free(copy);
    }
    for (int flip = 0; flip < 300; flip++) { /* flipped bytes: refused or decoded, never a crash or a leak */
      uint8_t *copy = malloc(len);
      memcpy(copy, out, len);
      copy[rnd() % len] ^= (uint8_t)(1 + rnd() % 255);
      hg_raster maybe;
      hg_status st = hg_image_decode(copy, len, &maybe, NULL, NULL);
      assert_true(st == HG_OK || st == HG_ERR_PARSE || st == HG_ERR_LIMIT);
      if (st == HG_OK) assert_int_equal(maybe.width * maybe.height > 0, 1);
      hg_raster_free(&maybe);
      free(copy);
    }
    free(out);
  }
  hg_raster_free(&r);
  hg_raster none;
  assert_int_equal(hg_image_decode((const uint8_t *)"GIF89a....", 10, &none, NULL, NULL), HG_ERR_PARSE);
}

static void png_chunk(membuf *b, const char *type, const uint8_t *data, uint32_t n) {
  uint8_t head[8] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
  memcpy(head + 4, type, 4);
  if (b->n + 12 + n > b->cap) {
    b->cap = b->n + 12 + n + 64;
    b->d = realloc(b->d, b->cap);
  }
  memcpy(b->d + b->n, head, 8);
  memcpy(b->d + b->n + 8, data, n);
  uint32_t crc = hg_crc32(hg_crc32(0, type, 4), data, n);
  uint8_t c[4] = {(uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8), (uint8_t)crc};
  memcpy(b->d + b->n + 8 + n, c, 4);
  b->n += 12 + n;
}

static void test_oversized_refused(void **state) {
  (void)state;
  /* a PNG that claims 10000 x 10000 pixels: refused from its header */
  membuf b = {.d = malloc(64), .cap = 64};
  memcpy(b.d, "\x89PNG\r\n\x1a\n", 8);
  b.n = 8;
  uint8_t ihdr[13] = {0, 0, 0x27, 0x10, 0, 0, 0x27, 0x10, 8, 6, 0, 0, 0};
  png_chunk(&b, "IHDR", ihdr, 13);
  png_chunk(&b, "IDAT", (const uint8_t *)"\x78\x9c\x03\x00\x00\x00\x00\x01", 8);
  png_chunk(&b, "IEND", (const uint8_t *)"", 0);
  hg_raster r;
  hg_error err;
  assert_int_equal(hg_image_decode(b.d, b.n, &r, NULL, &err), HG_ERR_LIMIT);
  assert_non_null(strstr(err.message, "limit"));
  free(b.d);
  /* a JPEG whose frame header is patched to 10000 x 10000 */
  hg_raster small = make_raster(16, 16);
  memset(small.px, 200, 16 * 16 * 4);
  uint8_t *out;
  size_t len;
  assert_int_equal(hg_image_encode(&small, "jpeg", 0, &out, &len, NULL), HG_OK);
  size_t sof = 0;
  for (size_t i = 2; i + 9 < len; i++)
    if (out[i] == 0xff && out[i + 1] == 0xc0) {
      sof = i;
      break;
    }
  assert_true(sof > 0);
  out[sof + 5] = 0x27, out[sof + 6] = 0x10, out[sof + 7] = 0x27, out[sof + 8] = 0x10;
  assert_int_equal(hg_image_decode(out, len, &r, NULL, &err), HG_ERR_LIMIT);
  free(out);
  hg_raster_free(&small);
}

/* ---- the label, measured from the outside ---- */

typedef enum bg { BG_WHITE, BG_BLACK, BG_NOISE, BG_GRADIENT } bg;

static void fill(hg_raster *r, bg kind) {
  for (uint32_t y = 0; y < r->height; y++)
    for (uint32_t x = 0; x < r->width; x++) {
      uint8_t *p = px(r, x, y);
      uint8_t v = kind == BG_WHITE ? 255 : kind == BG_BLACK ? 0 : 0;
      if (kind == BG_NOISE) {
        uint32_t n = rnd();
        p[0] = (uint8_t)n, p[1] = (uint8_t)(n >> 8), p[2] = (uint8_t)(n >> 16);
      } else if (kind == BG_GRADIENT) {
        p[0] = (uint8_t)(255 * (uint64_t)x / r->width), p[1] = (uint8_t)(255 * (uint64_t)y / r->height), p[2] = 128;
      } else {
        p[0] = p[1] = p[2] = v;
      }
      p[3] = 255;
    }
}

static void fill_noise_for_quality(hg_raster *r) { fill(r, BG_NOISE); }

static int lum(const uint8_t *p) { return (299 * p[0] + 587 * p[1] + 114 * p[2]) / 1000; }

typedef struct measured {
  uint32_t x0, y0, x1, y1;     /* changed pixels */
  uint32_t tx0, ty0, tx1, ty1; /* text-coloured pixels */
  double text_lum, plate_lum;  /* means */
  long changed, text;
} measured;

static measured measure(const hg_raster *before, const hg_raster *after) {
  measured m = {.x0 = UINT32_MAX, .y0 = UINT32_MAX, .tx0 = UINT32_MAX, .ty0 = UINT32_MAX};
  long hist[256] = {0};
  for (uint32_t y = 0; y < after->height; y++)
    for (uint32_t x = 0; x < after->width; x++)
      if (memcmp(px(before, x, y), px(after, x, y), 4)) {
        m.changed++;
        hist[lum(px(after, x, y))]++;
        if (x < m.x0) m.x0 = x;
        if (x > m.x1) m.x1 = x;
        if (y < m.y0) m.y0 = y;
        if (y > m.y1) m.y1 = y;
      }
  assert_true(m.changed > 0);
  /* the plate is most of the changed pixels: its luminance is their median */
  long seen = 0;
  int median = 0;
  for (; median < 256; median++)
    if ((seen += hist[median]) * 2 >= m.changed) break;
  int text_extreme = median < 128 ? 255 : 0;
  double tsum = 0, psum = 0;
  long plate = 0;
  for (uint32_t y = m.y0; y <= m.y1; y++)
    for (uint32_t x = m.x0; x <= m.x1; x++) {
      const uint8_t *p = px(after, x, y);
      int l = lum(p);
      if (abs(l - text_extreme) < abs(l - median)) {
        m.text++;
        tsum += l;
        if (x < m.tx0) m.tx0 = x;
        if (x > m.tx1) m.tx1 = x;
        if (y < m.ty0) m.ty0 = y;
        if (y > m.ty1) m.ty1 = y;
      } else {
        plate++;
        psum += l;
      }
    }
  assert_true(m.text > 0 && plate > 0);
  m.text_lum = tsum / m.text;
  m.plate_lum = psum / plate;
  return m;
}

static void check_label(uint32_t w, uint32_t h, bg kind, hg_label_place place) {
  hg_raster before = make_raster(w, h), after = make_raster(w, h);
  fill(&before, kind);
  memcpy(after.px, before.px, (size_t)w * h * 4);
  hg_visible_label label = {.place = place};
  hg_label_box box;
  hg_error err;
  if (hg_raster_draw_label(&after, &label, &box, &err)) fail_msg("%ux%u: %s", w, h, err.message);
  measured m = measure(&before, &after);
  uint32_t shortest = w < h ? w : h;
  uint32_t need = (shortest * 5 + 99) / 100; /* 5%, rounded up */
  uint32_t text_h = m.ty1 - m.ty0 + 1;
  if (text_h < need || text_h < HG_LABEL_TEXT_MIN_PX)
    fail_msg("%ux%u bg %d place %d: text %u px high, need %u", w, h, kind, place, text_h, need);
  assert_true(box.text_height >= need);
  /* nothing changed outside the box the call reports */
  assert_true(m.x0 >= box.x && m.x1 < box.x + box.width && m.y0 >= box.y && m.y1 < box.y + box.height);
  /* text and plate far apart in luminance, whatever was underneath */
  if (fabs(m.text_lum - m.plate_lum) < 128)
    fail_msg("%ux%u bg %d: text %.0f vs plate %.0f", w, h, kind, m.text_lum, m.plate_lum);
  /* the corner or edge: within the margin (max(2, shortest/50)) plus a pixel of the named sides */
  uint32_t near = (shortest / 50 > 2 ? shortest / 50 : 2) + 2;
  int right = place == HG_PLACE_BOTTOM_RIGHT || place == HG_PLACE_TOP_RIGHT;
  int left = place == HG_PLACE_BOTTOM_LEFT || place == HG_PLACE_TOP_LEFT;
  int top = place == HG_PLACE_TOP_LEFT || place == HG_PLACE_TOP_RIGHT || place == HG_PLACE_TOP_EDGE;
  if (right) assert_true(w - 1 - m.x1 <= near);
  if (left) assert_true(m.x0 <= near);
  if (!right && !left) assert_true(abs((int)(m.x0 + m.x1) - (int)(w - 1)) <= 4); /* centred */
  if (top)
    assert_true(m.y0 <= near);
  else
    assert_true(h - 1 - m.y1 <= near);
  hg_raster_free(&before);
  hg_raster_free(&after);
}

static void test_label_height_place_contrast(void **state) {
  (void)state;
  static const uint32_t sizes[][2] = {{64, 64},    {200, 200}, {1024, 768}, {4000, 300},
                                      {300, 4000}, {97, 333},  {2048, 2048}};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
    for (int kind = BG_WHITE; kind <= BG_GRADIENT; kind++)
      for (int place = HG_PLACE_BOTTOM_RIGHT; place <= HG_PLACE_TOP_EDGE; place++)
        check_label(sizes[s][0], sizes[s][1], (bg)kind, (hg_label_place)place);
}

static void test_label_refusals(void **state) {
  (void)state;
  hg_raster r = make_raster(400, 400);
  fill(&r, BG_WHITE);
  hg_error err;
  hg_visible_label low = {.height_ratio = 0.04};
  assert_int_equal(hg_raster_draw_label(&r, &low, NULL, &err), HG_ERR_INVALID);
  hg_visible_label nofont = {.font_path = "/nonexistent/font.ttf"};
  assert_int_equal(hg_raster_draw_label(&r, &nofont, NULL, &err), HG_ERR_IO);
  assert_non_null(strstr(err.message, "/nonexistent/font.ttf"));
  hg_visible_label words = {.text = "hello"};
  assert_int_equal(hg_raster_draw_label(&r, &words, NULL, &err), HG_ERR_INVALID);
  hg_visible_label latin = {.text = "AI合成 content"};
  hg_label_box box;
  assert_int_equal(hg_raster_draw_label(&r, &latin, &box, &err), HG_OK);
  /* too wide at 20%: drawn at the 5% minimum instead */
  fill(&r, BG_WHITE);
  hg_visible_label wide = {.text = "本内容由人工智能生成", .height_ratio = 0.2};
  assert_int_equal(hg_raster_draw_label(&r, &wide, &box, &err), HG_OK);
  assert_true(box.text_height >= 20 && box.text_height < 40);
  hg_visible_label tall = {.height_ratio = 0.1};
  assert_int_equal(hg_raster_draw_label(&r, &tall, &box, &err), HG_OK);
  assert_true(box.text_height >= 40);
  /* too wide even at 5% */
  hg_raster strip = make_raster(60, 1000);
  fill(&strip, BG_BLACK);
  assert_int_equal(hg_raster_draw_label(&strip, &wide, NULL, &err), HG_ERR_LIMIT);
  hg_raster tiny = make_raster(16, 16);
  fill(&tiny, BG_BLACK);
  assert_int_equal(hg_raster_draw_label(&tiny, NULL, NULL, &err), HG_ERR_LIMIT);
  hg_raster_free(&tiny);
  hg_raster_free(&strip);
  hg_raster_free(&r);
}

static void *draw_in_thread(void *arg) {
  hg_raster r;
  if (hg_raster_new(&r, 300, 200, NULL)) return arg;
  memset(r.px, 90, (size_t)300 * 200 * 4);
  for (int i = 0; i < 20; i++) {
    hg_visible_label l = {.height_ratio = 0.05 + 0.01 * (i % 5), .place = (hg_label_place)(i % 6)};
    if (hg_raster_draw_label(&r, &l, NULL, NULL)) {
      hg_raster_free(&r);
      return arg;
    }
  }
  hg_raster_free(&r);
  return NULL;
}

static void test_label_threads(void **state) {
  (void)state;
  pthread_t t[4];
  int token;
  for (int i = 0; i < 4; i++)
    assert_int_equal(pthread_create(&t[i], NULL, draw_in_thread, &token), 0);
  for (int i = 0; i < 4; i++) {
    void *bad;
    pthread_join(t[i], &bad);
    assert_null(bad);
  }
}

static void test_jpeg_quality_estimate(void **state) {
  (void)state;
  hg_raster r = make_raster(64, 64);
  fill_noise_for_quality(&r);
  for (int q = 25; q <= 100; q += 5) { /* below ~25 entries clip at 255 and the sum runs low */
    uint8_t *out;
    size_t len;
    assert_int_equal(hg_image_encode(&r, "jpeg", q, &out, &len, NULL), HG_OK);
    int got = hg_jpeg_quality_estimate(out, len);
    if (abs(got - q) > 2) fail_msg("written at %d, estimated %d", q, got);
    free(out);
  }
  assert_int_equal(hg_jpeg_quality_estimate((const uint8_t *)"\xff\xd8\xff\xda", 4), 0);
  hg_raster_free(&r);
}

static void test_explicit_table(void **state) {
  (void)state;
  hg_raster r = make_raster(256, 256);
  fill(&r, BG_GRADIENT);
  const char *formats[2] = {"png", "jpeg"};
  for (int f = 0; f < 2; f++) {
    uint8_t *in, *out;
    size_t len, out_len;
    assert_int_equal(hg_image_encode(&r, formats[f], 0, &in, &len, NULL), HG_OK);
    hg_error err;
    if (hg_explicit_label_buffer(NULL, in, len, NULL, &out, &out_len, &err)) fail_msg("%s", err.message);
    membuf b = {.d = out, .n = out_len};
    hg_raster back = decode_ok(&b, formats[f]);
    assert_int_equal(back.width, 256);
    /* the bottom-right corner is now the plate, dark over this light gradient corner */
    assert_true(lum(px(&back, 250, 250)) < lum(px(&r, 250, 250)) - 60);
    /* the format named must be the format found */
    assert_int_equal(hg_explicit_label_buffer(f ? "png" : "jpeg", in, len, NULL, &out, &out_len, &err), HG_ERR_PARSE);
    hg_raster_free(&back);
    free(b.d);
    free(in);
  }
  uint8_t *out;
  size_t out_len;
  hg_error err;
  assert_int_equal(hg_explicit_label_buffer("pdf", (const uint8_t *)"%PDF-1.4", 8, NULL, &out, &out_len, &err),
                   HG_ERR_INVALID);
  assert_string_equal(err.message, "no explicit label for pdf files");
  hg_raster_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_png_roundtrip_exact),
      cmocka_unit_test(test_jpeg_roundtrip_tolerance),
      cmocka_unit_test(test_png_colour_types),
      cmocka_unit_test(test_jpeg_grey_and_cmyk),
      cmocka_unit_test(test_corrupt_and_truncated),
      cmocka_unit_test(test_oversized_refused),
      cmocka_unit_test(test_label_height_place_contrast),
      cmocka_unit_test(test_label_refusals),
      cmocka_unit_test(test_label_threads),
      cmocka_unit_test(test_jpeg_quality_estimate),
      cmocka_unit_test(test_explicit_table),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
