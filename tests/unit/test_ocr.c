/* test_ocr.c — the parts of OCR that need no rendered text: the CJK-space tidying against a naive reference (fixed
 * cases and random strings), the decode step's limits and preparation over PNG files written here with zlib (not
 * by Leptonica, which reads them), the engine's errors for a missing language, and the handle pool under threads.
 * Reading rendered text is tested by tests/cli/test_check_image.sh with images drawn by Pillow. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <leptonica/allheaders.h>
#include <zlib.h>

#include "hegui/ocr.h"
#include "media/ocr_internal.h"

/* ---- the naive reference of hg_ocr_tidy_text: code points, one rule per pass ---- */

static int ref_cjk(long c) {
  return (c >= 0x2E80 && c <= 0x2FDF) || (c >= 0x3001 && c <= 0x303F) || (c >= 0x3040 && c <= 0x31FF) ||
         (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xF900 && c <= 0xFAFF) ||
         (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFFEF) || (c >= 0x20000 && c <= 0x3134F);
}
static int ref_blank(long c) { return c == ' ' || c == '\t' || c == 0xA0 || c == 0x3000; }

/* valid UTF-8 only (the random strings are built from code points) */
static size_t decode(const char *s, size_t n, long *out) {
  size_t k = 0;
  for (size_t i = 0; i < n;) {
    unsigned char b = (unsigned char)s[i];
    int len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    long c = len == 1 ? b : b & (0xFF >> (len + 1));
    for (int j = 1; j < len; j++)
      c = (c << 6) | ((unsigned char)s[i + j] & 0x3F);
    out[k++] = c;
    i += (size_t)len;
  }
  return k;
}

static size_t encode(const long *cp, size_t n, char *out) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    long c = cp[i];
    if (c < 0x80) {
      out[k++] = (char)c;
    } else if (c < 0x800) {
      out[k++] = (char)(0xC0 | (c >> 6));
      out[k++] = (char)(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      out[k++] = (char)(0xE0 | (c >> 12));
      out[k++] = (char)(0x80 | ((c >> 6) & 0x3F));
      out[k++] = (char)(0x80 | (c & 0x3F));
    } else {
      out[k++] = (char)(0xF0 | (c >> 18));
      out[k++] = (char)(0x80 | ((c >> 12) & 0x3F));
      out[k++] = (char)(0x80 | ((c >> 6) & 0x3F));
      out[k++] = (char)(0x80 | (c & 0x3F));
    }
  }
  out[k] = '\0';
  return k;
}

static char *ref_tidy(const char *in) {
  size_t n = strlen(in);
  long *a = calloc(n + 1, sizeof *a), *b = calloc(n + 1, sizeof *b);
  size_t na = decode(in, n, a), nb = 0;
  /* 1. line breaks */
  for (size_t i = 0; i < na; i++) {
    if (a[i] == '\r' && i + 1 < na && a[i + 1] == '\n') continue;
    b[nb++] = (a[i] == '\r' || a[i] == '\f' || a[i] == '\v') ? '\n' : a[i];
  }
  /* 2. per line: drop a blank run with CJK on both sides, and blanks at the end of the line */
  na = 0;
  for (size_t i = 0; i < nb;) {
    if (!ref_blank(b[i])) {
      a[na++] = b[i++];
      continue;
    }
    size_t j = i;
    while (j < nb && ref_blank(b[j]))
      j++;
    int at_line_end = j == nb || b[j] == '\n';
    int between = i > 0 && j < nb && ref_cjk(b[i - 1]) && ref_cjk(b[j]);
    if (!at_line_end && !between)
      for (size_t k = i; k < j; k++)
        a[na++] = b[k];
    i = j;
  }
  /* 3. the ends of the whole text */
  size_t from = 0, to = na;
  while (from < to && (ref_blank(a[from]) || a[from] == '\n'))
    from++;
  while (to > from && (ref_blank(a[to - 1]) || a[to - 1] == '\n'))
    to--;
  /* 4. three or more line breaks in a row become two */
  nb = 0;
  for (size_t i = from; i < to; i++) {
    if (a[i] == '\n' && nb >= 2 && b[nb - 1] == '\n' && b[nb - 2] == '\n') continue;
    b[nb++] = a[i];
  }
  char *out = malloc(4 * nb + 1);
  encode(b, nb, out);
  free(a);
  free(b);
  return out;
}

static void expect_tidy(const char *in, const char *want) {
  char buf[512];
  size_t n = strlen(in);
  memcpy(buf, in, n + 1);
  size_t got = hg_ocr_tidy_text(buf, n);
  assert_int_equal(got, strlen(buf));
  assert_string_equal(buf, want);
  char *ref = ref_tidy(in);
  assert_string_equal(ref, want); /* the reference agrees with the cases written by hand */
  free(ref);
}

static void test_tidy_cases(void **state) {
  (void)state;
  expect_tidy("冰 毒 交 易", "冰毒交易");
  expect_tidy("禁 止 冰 毒 warning here", "禁止冰毒 warning here");
  expect_tidy("bomb  making", "bomb  making");
  expect_tidy("A 冰 B", "A 冰 B");
  expect_tidy("冰\u3000\t 毒", "冰毒");
  expect_tidy("你 好 ， 世 界 。", "你好，世界。");
  expect_tidy("第一行 \r\n第二行\r第三行\f", "第一行\n第二行\n第三行");
  expect_tidy("\n\n  前面\n\n\n\n后面  \n\n", "前面\n\n后面");
  expect_tidy("冰\n毒", "冰\n毒"); /* a line break is the moderator's business (noise), kept */
  expect_tidy("一 \n 二", "一\n 二");
  expect_tidy("", "");
  expect_tidy(" \t\n ", "");
  expect_tidy("𠀀 𠀁", "𠀀𠀁");
  expect_tidy("ｆｕｌｌ ｗｉｄｔｈ", "ｆｕｌｌｗｉｄｔｈ");
  /* bytes that are not UTF-8 are kept as they are and are not CJK */
  char bad[] = "\xE5\x86 \xB0 x";
  size_t n = hg_ocr_tidy_text(bad, strlen(bad));
  assert_int_equal(n, 6);
  assert_memory_equal(bad, "\xE5\x86 \xB0 x", 6);
}

static void test_tidy_random_against_reference(void **state) {
  (void)state;
  static const long alphabet[] = {'a',    'Z',    '1',    ',',     ' ',  ' ',    ' ',    '\t',
                                  '\n',   '\n',   '\r',   '\f',    0xA0, 0x3000, 0x51B0, 0x6BD2,
                                  0x3002, 0xFF0C, 0x3042, 0x20000, 0xE9, 0x2014, 0xAC00};
  uint64_t rng = 0x2545F4914F6CDD1Dull;
  long cps[40];
  char in[200], buf[200];
  for (int round = 0; round < 20000; round++) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    size_t n = rng % 40;
    for (size_t i = 0; i < n; i++) {
      rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
      cps[i] = alphabet[rng % (sizeof alphabet / sizeof *alphabet)];
    }
    size_t len = encode(cps, n, in);
    memcpy(buf, in, len + 1);
    size_t got = hg_ocr_tidy_text(buf, len);
    char *want = ref_tidy(in);
    if (strcmp(buf, want) || got != strlen(want)) {
      fprintf(stderr, "input [%s]\n  tidy [%s]\n  ref  [%s]\n", in, buf, want);
      fail();
    }
    free(want);
  }
}

/* ---- PNG files written here (stored with zlib, CRCs by zlib), read by Leptonica ---- */

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static size_t chunk(uint8_t *out, const char *type, const uint8_t *data, uint32_t len) {
  put32(out, len);
  memcpy(out + 4, type, 4);
  if (len) memcpy(out + 8, data, len);
  uLong crc = crc32(0, (const Bytef *)type, 4);
  if (len) crc = crc32(crc, data, len); /* zlib's crc32 with no buffer returns its initial value */
  put32(out + 8 + len, (uint32_t)crc);
  return 12 + len;
}

/* A w x h PNG: colour type 0 (grey) or 6 (RGBA); px(x, y, channel) gives each sample. */
static uint8_t *make_png(uint32_t w, uint32_t h, int rgba, uint8_t (*px)(uint32_t, uint32_t, int), size_t *len) {
  int ch = rgba ? 4 : 1;
  size_t raw_len = (size_t)h * (1 + (size_t)w * (size_t)ch);
  uint8_t *raw = malloc(raw_len);
  size_t k = 0;
  for (uint32_t y = 0; y < h; y++) {
    raw[k++] = 0;
    for (uint32_t x = 0; x < w; x++)
      for (int c = 0; c < ch; c++)
        raw[k++] = px(x, y, c);
  }
  uLongf zlen = compressBound(raw_len);
  uint8_t *z = malloc(zlen);
  assert_int_equal(compress2(z, &zlen, raw, raw_len, 9), Z_OK);
  uint8_t *out = malloc(zlen + 64);
  static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  memcpy(out, sig, 8);
  size_t n = 8;
  uint8_t ihdr[13];
  put32(ihdr, w);
  put32(ihdr + 4, h);
  ihdr[8] = 8, ihdr[9] = rgba ? 6 : 0, ihdr[10] = 0, ihdr[11] = 0, ihdr[12] = 0;
  n += chunk(out + n, "IHDR", ihdr, 13);
  n += chunk(out + n, "IDAT", z, (uint32_t)zlen);
  n += chunk(out + n, "IEND", NULL, 0);
  free(raw);
  free(z);
  *len = n;
  return out;
}

static uint8_t grey_ramp(uint32_t x, uint32_t y, int c) {
  (void)c;
  return (uint8_t)(x * 7 + y);
}
/* left half opaque black, right half fully transparent black */
static uint8_t half_transparent(uint32_t x, uint32_t y, int c) {
  (void)y;
  if (c < 3) return 0;
  return x < 8 ? 255 : 0;
}

static void test_prepare_limits(void **state) {
  (void)state;
  size_t len;
  uint8_t *png = make_png(100, 50, 0, grey_ramp, &len);
  PIX *pix;
  uint32_t w, h;
  hg_error err;
  hg_ocr_limits lim = {.max_pixels = 5000};
  assert_int_equal(hg_ocr_prepare(png, len, &lim, &pix, &w, &h, &err), HG_OK);
  assert_int_equal(w, 100);
  assert_int_equal(h, 50);
  assert_int_equal(pixGetDepth(pix), 8);
  l_uint32 v;
  pixGetPixel(pix, 3, 2, &v);
  assert_int_equal(v, 3 * 7 + 2); /* the samples, as written */
  pixDestroy(&pix);

  lim.max_pixels = 4999;
  assert_int_equal(hg_ocr_prepare(png, len, &lim, &pix, &w, &h, &err), HG_ERR_LIMIT);
  assert_null(pix);
  assert_non_null(strstr(err.message, "100x50"));
  lim = (hg_ocr_limits){.max_bytes = len - 1};
  assert_int_equal(hg_ocr_prepare(png, len, &lim, &pix, &w, &h, &err), HG_ERR_LIMIT);

  /* damaged: truncated inside IDAT, garbage, too short, not an image */
  assert_int_equal(hg_ocr_prepare(png, len - 30, NULL, &pix, &w, &h, &err), HG_ERR_PARSE);
  assert_int_equal(hg_ocr_prepare(png, 11, NULL, &pix, &w, &h, &err), HG_ERR_PARSE);
  const char *text = "this is a text file, not an image";
  assert_int_equal(hg_ocr_prepare((const uint8_t *)text, strlen(text), NULL, &pix, &w, &h, &err), HG_ERR_PARSE);
  assert_non_null(strstr(err.message, "not an image"));
  free(png);

  /* a header that claims 40000 x 40000 is refused before any pixel is decoded */
  png = make_png(4, 4, 0, grey_ramp, &len);
  png[16] = 0, png[17] = 0, png[18] = 0x9C, png[19] = 0x40; /* width 40000 */
  png[20] = 0, png[21] = 0, png[22] = 0x9C, png[23] = 0x40;
  put32(png + 29, (uint32_t)crc32(0, png + 12, 17));
  assert_int_equal(hg_ocr_prepare(png, len, NULL, &pix, &w, &h, &err), HG_ERR_LIMIT);
  free(png);
}

static void test_prepare_alpha_and_upscale(void **state) {
  (void)state;
  size_t len;
  uint8_t *png = make_png(16, 10, 1, half_transparent, &len);
  PIX *pix;
  uint32_t w, h;
  hg_error err;
  hg_ocr_limits lim = {.upscale_below = 0};
  assert_int_equal(hg_ocr_prepare(png, len, &lim, &pix, &w, &h, &err), HG_OK);
  l_uint32 left, right;
  pixGetPixel(pix, 2, 5, &left);
  pixGetPixel(pix, 13, 5, &right);
  assert_true(left < 10);   /* opaque black stays black */
  assert_true(right > 245); /* transparent black goes on white, not black */
  assert_int_equal(pixGetWidth(pix), 16);
  pixDestroy(&pix);
  lim.upscale_below = 11; /* the shorter side, 10, is below: x2 */
  assert_int_equal(hg_ocr_prepare(png, len, &lim, &pix, &w, &h, &err), HG_OK);
  assert_int_equal(pixGetWidth(pix), 32);
  assert_int_equal(pixGetHeight(pix), 20);
  assert_int_equal(w, 16); /* the size reported is the image's */
  pixDestroy(&pix);
  lim.upscale_below = 10;
  assert_int_equal(hg_ocr_prepare(png, len, &lim, &pix, &w, &h, &err), HG_OK);
  assert_int_equal(pixGetWidth(pix), 16);
  pixDestroy(&pix);
  free(png);
}

/* ---- the engine ---- */

static int have_tessdata(void) {
  return !access(HG_OCR_TESSDATA_DEFAULT "/chi_sim.traineddata", R_OK) &&
         !access(HG_OCR_TESSDATA_DEFAULT "/eng.traineddata", R_OK);
}

static void test_engine_errors(void **state) {
  (void)state;
  hg_ocr *ocr;
  hg_error err;
  hg_ocr_options o = {.languages = "chi_sim+xx_nosuch"};
  assert_int_equal(hg_ocr_new(&o, &ocr, &err), HG_ERR_IO);
  assert_null(ocr);
  assert_non_null(strstr(err.message, "tesseract-ocr-xx-nosuch"));
  o.languages = "chi_sim+../eng";
  assert_int_equal(hg_ocr_new(&o, &ocr, &err), HG_ERR_INVALID);
  o.languages = "";
  assert_int_equal(hg_ocr_new(&o, &ocr, &err), HG_ERR_INVALID);
  o = (hg_ocr_options){.tessdata_dir = "/nonexistent/tessdata"};
  assert_int_equal(hg_ocr_new(&o, &ocr, &err), HG_ERR_IO);
  assert_non_null(strstr(err.message, "/nonexistent/tessdata/chi_sim.traineddata"));
}

typedef struct reader {
  hg_ocr *ocr;
  const uint8_t *png;
  size_t len;
  int failures;
} reader;

static void *read_many(void *arg) {
  reader *r = arg;
  for (int i = 0; i < 3; i++) {
    hg_ocr_result res;
    hg_error err;
    if (hg_ocr_read(r->ocr, r->png, r->len, &res, &err) || res.width != 64 || res.timed_out) r->failures++;
    hg_ocr_result_free(&res);
  }
  return NULL;
}

static uint8_t white(uint32_t x, uint32_t y, int c) {
  (void)x, (void)y, (void)c;
  return 255;
}

static void test_pool_under_threads(void **state) {
  (void)state;
  if (!have_tessdata()) skip();
  hg_ocr *ocr;
  hg_error err;
  hg_ocr_options o = {.max_handles = 2};
  assert_int_equal(hg_ocr_new(&o, &ocr, &err), HG_OK);
  assert_int_equal(hg_ocr_handles_made(ocr), 1); /* one at once, so that errors show at start */
  size_t len;
  uint8_t *png = make_png(64, 48, 0, white, &len);
  enum { THREADS = 5 };
  pthread_t t[THREADS];
  reader r[THREADS];
  for (int i = 0; i < THREADS; i++) {
    r[i] = (reader){ocr, png, len, 0};
    assert_int_equal(pthread_create(&t[i], NULL, read_many, &r[i]), 0);
  }
  for (int i = 0; i < THREADS; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(r[i].failures, 0);
  }
  assert_true(hg_ocr_handles_made(ocr) <= 2);
  /* a blank page reads as nothing */
  hg_ocr_result res;
  assert_int_equal(hg_ocr_read(ocr, png, len, &res, &err), HG_OK);
  assert_string_equal(res.text, "");
  assert_int_equal(res.confidence, 0);
  hg_ocr_result_free(&res);
  /* errors of the decode step come through hg_ocr_read */
  assert_int_equal(hg_ocr_read(ocr, png, len / 2, &res, &err), HG_ERR_PARSE);
  assert_null(res.text);
  free(png);
  hg_ocr_free(ocr);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tidy_cases),     cmocka_unit_test(test_tidy_random_against_reference),
      cmocka_unit_test(test_prepare_limits), cmocka_unit_test(test_prepare_alpha_and_upscale),
      cmocka_unit_test(test_engine_errors),  cmocka_unit_test(test_pool_under_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
