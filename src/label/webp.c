/* webp.c — labels in WebP: XMP in the `XMP ` chunk at the end of the RIFF body, with the XMP flag set in VP8X. A
 * simple WebP (a lone VP8 or VP8L chunk) becomes an extended one: a VP8X chunk is added with the canvas size read
 * from the bitstream. VP8X (flags and canvas size, derived from the rest) and `XMP ` are left out of the content
 * hash, every other chunk (the image, ICC, EXIF, animation) is in it. */
#include <stdlib.h>
#include <string.h>

#include "label/carrier.h"

#define FLAG_ALPHA 0x10
#define FLAG_XMP 0x04

static int sniff(const uint8_t *d, size_t n, const char *path) {
  (void)path;
  return n >= 12 && !memcmp(d, "RIFF", 4) && !memcmp(d + 8, "WEBP", 4);
}

typedef struct chunk {
  size_t offset, len; /* whole chunk with header and pad byte */
  const uint8_t *id, *data;
  uint32_t size;
} chunk;

/* The chunk at *at before end; 0 at end, -1 with err when malformed. */
static int next_chunk(const uint8_t *d, size_t end, size_t *at, chunk *c, hg_error *err) {
  if (*at >= end) return 0;
  if (end - *at < 8) {
    hg_fail(err, HG_ERR_PARSE, 0, *at, "WebP truncated: chunk header at offset %zu", *at);
    return -1;
  }
  c->offset = *at;
  c->id = d + *at;
  c->size = lf_u32le(d + *at + 4);
  if (c->size > end - *at - 8) {
    hg_fail(err, HG_ERR_PARSE, 0, *at, "WebP chunk at offset %zu claims %u bytes, more than the file holds", *at,
            c->size);
    return -1;
  }
  c->data = d + *at + 8;
  c->len = 8 + (size_t)c->size + (c->size & 1);
  if (c->len > end - *at) c->len = end - *at;
  *at += c->len;
  return 1;
}

static size_t body_end(const uint8_t *d, size_t n) {
  uint32_t riff = lf_u32le(d + 4);
  return riff < 4 || riff > n - 8 ? n : 8 + (size_t)riff;
}

static int is_carrier(const chunk *c) { return !memcmp(c->id, "XMP ", 4) || !memcmp(c->id, "VP8X", 4); }

static hg_status scan(const uint8_t *d, size_t n, lf_scan *s, hg_error *err) {
  if (!sniff(d, n, NULL)) return hg_fail(err, HG_ERR_PARSE, 0, 0, "not a WebP file (no RIFF/WEBP header)");
  lf_hash(s, d + 8, 4);
  size_t end = body_end(d, n), at = 12;
  chunk c;
  int r;
  while ((r = next_chunk(d, end, &at, &c, err)) > 0) {
    if (!memcmp(c.id, "XMP ", 4)) lf_found_xmp(s, "webp XMP chunk", c.offset, (const char *)c.data, c.size);
    if (!is_carrier(&c)) lf_hash(s, d + c.offset, c.len);
  }
  if (r < 0) return HG_ERR_PARSE;
  lf_hash(s, d + end, n - end);
  return HG_OK;
}

/* Canvas size and alpha of a simple WebP's bitstream; 0 when it cannot be read. */
static int canvas(const chunk *c, uint32_t *w, uint32_t *h, int *alpha) {
  *alpha = 0;
  if (!memcmp(c->id, "VP8 ", 4)) { /* frame tag (3), start code 9D 01 2A, 14-bit width, 14-bit height */
    if (c->size < 10 || c->data[3] != 0x9D || c->data[4] != 0x01 || c->data[5] != 0x2A) return 0;
    *w = (uint32_t)(c->data[6] | c->data[7] << 8) & 0x3FFF;
    *h = (uint32_t)(c->data[8] | c->data[9] << 8) & 0x3FFF;
    return 1;
  }
  if (!memcmp(c->id, "VP8L", 4)) { /* signature 0x2F, then 14 bits width-1, 14 bits height-1, 1 bit alpha */
    if (c->size < 5 || c->data[0] != 0x2F) return 0;
    uint32_t bits = lf_u32le(c->data + 1);
    *w = (bits & 0x3FFF) + 1;
    *h = (bits >> 14 & 0x3FFF) + 1;
    *alpha = bits >> 28 & 1;
    return 1;
  }
  return 0;
}

static hg_status put_chunk(lf_buf *b, const char *id, const void *data, size_t len) {
  hg_status st = lf_put(b, id, 4);
  if (!st) st = lf_put_u32le(b, (uint32_t)len);
  if (!st) st = lf_put(b, data, len);
  if (!st && (len & 1)) st = lf_put(b, "", 1);
  return st;
}

static hg_status put_label(const uint8_t *d, size_t n, const char *label_json, lf_buf *out, hg_error *err) {
  if (!sniff(d, n, NULL)) return hg_fail(err, HG_ERR_PARSE, 0, 0, "not a WebP file (no RIFF/WEBP header)");
  size_t end = body_end(d, n), at = 12;
  chunk c;
  int r;
  uint8_t vp8x[10] = {0};
  int have_vp8x = 0, have_canvas = 0;
  const uint8_t *xmp = NULL;
  size_t xmp_len = 0;
  while ((r = next_chunk(d, end, &at, &c, err)) > 0) {
    if (!memcmp(c.id, "VP8X", 4) && c.size >= 10 && !have_vp8x) {
      memcpy(vp8x, c.data, 10);
      have_vp8x = 1;
    } else if (!memcmp(c.id, "XMP ", 4) && !xmp) {
      xmp = c.data;
      xmp_len = c.size;
    } else if (!have_vp8x && !have_canvas) {
      uint32_t w, h;
      int alpha;
      if (canvas(&c, &w, &h, &alpha)) {
        have_canvas = 1;
        vp8x[0] = alpha ? FLAG_ALPHA : 0;
        vp8x[4] = (uint8_t)(w - 1), vp8x[5] = (uint8_t)((w - 1) >> 8), vp8x[6] = (uint8_t)((w - 1) >> 16);
        vp8x[7] = (uint8_t)(h - 1), vp8x[8] = (uint8_t)((h - 1) >> 8), vp8x[9] = (uint8_t)((h - 1) >> 16);
      }
    }
  }
  if (r < 0) return HG_ERR_PARSE;
  if (!have_vp8x && !have_canvas)
    return hg_fail(err, HG_ERR_PARSE, 0, 12, "WebP has neither VP8X nor a VP8/VP8L image to size the canvas");
  vp8x[0] |= FLAG_XMP;

  lf_buf packet = {0};
  hg_status st = lf_xmp_build((const char *)xmp, xmp_len, label_json, &packet, err);
  if (!st) st = lf_put(out, "RIFF\0\0\0\0WEBP", 12);
  if (!st) st = put_chunk(out, "VP8X", vp8x, sizeof vp8x);
  at = 12;
  while (!st && next_chunk(d, end, &at, &c, NULL) > 0)
    if (!is_carrier(&c)) st = lf_put(out, d + c.offset, c.len);
  if (!st) st = put_chunk(out, "XMP ", packet.data, packet.len);
  free(packet.data);
  if (st) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  if (out->len - 8 > UINT32_MAX) return hg_fail(err, HG_ERR_LIMIT, 0, 0, "WebP with the label exceeds 4 GiB");
  uint32_t riff = (uint32_t)(out->len - 8);
  uint8_t le[4] = {(uint8_t)riff, (uint8_t)(riff >> 8), (uint8_t)(riff >> 16), (uint8_t)(riff >> 24)};
  memcpy(out->data + 4, le, 4);
  if (lf_put(out, d + end, n - end)) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  return HG_OK;
}

const lf_format lf_webp = {"webp", sniff, scan, put_label};
