/* png.c — labels in PNG: written as XMP in an iTXt chunk (keyword XML:com.adobe.xmp) right after IHDR; read from
 * that and from tEXt / iTXt chunks with the keyword AIGC. Every other chunk is content and is copied untouched. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/crc32.h"
#include "label/carrier.h"

static const uint8_t PNG_SIGNATURE[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
static const char XMP_KEYWORD[] = "XML:com.adobe.xmp";

typedef struct chunk {
  size_t offset; /* of the length field */
  uint32_t len;
  const uint8_t *type, *data;
} chunk;

typedef enum carrier_kind { NOT_CARRIER, XMP_PLAIN, XMP_COMPRESSED, AIGC_TEXT, AIGC_COMPRESSED } carrier_kind;

static int sniff(const uint8_t *d, size_t n, const char *path) {
  (void)path;
  return n >= 8 && !memcmp(d, PNG_SIGNATURE, 8);
}

/* Reads the chunk at *at; 0 at a clean end after IEND, -1 with err on a malformed file. */
static int next_chunk(const uint8_t *d, size_t n, size_t *at, chunk *c, hg_error *err) {
  if (n - *at < 12) {
    hg_fail(err, HG_ERR_PARSE, 0, *at, "PNG truncated: a chunk header needs 12 bytes at offset %zu", *at);
    return -1;
  }
  c->offset = *at;
  c->len = lf_u32be(d + *at);
  c->type = d + *at + 4;
  if (c->len > 0x7FFFFFFFu || c->len > n - *at - 12) {
    hg_fail(err, HG_ERR_PARSE, 0, *at, "PNG chunk at offset %zu claims %u bytes, more than the file holds", *at,
            c->len);
    return -1;
  }
  c->data = d + *at + 8;
  *at += 12 + (size_t)c->len;
  return 1;
}

/* Text chunks: the keyword ends at a NUL within 80 bytes. */
static carrier_kind classify(const chunk *c, const uint8_t **text, size_t *text_len) {
  int is_text = !memcmp(c->type, "tEXt", 4), is_itxt = !memcmp(c->type, "iTXt", 4),
      is_ztxt = !memcmp(c->type, "zTXt", 4);
  if (!is_text && !is_itxt && !is_ztxt) return NOT_CARRIER;
  const uint8_t *nul = memchr(c->data, 0, c->len < 80 ? c->len : 80);
  if (!nul) return NOT_CARRIER;
  size_t klen = (size_t)(nul - c->data);
  int xmp = klen == sizeof XMP_KEYWORD - 1 && !memcmp(c->data, XMP_KEYWORD, klen);
  int aigc = klen == 4 && !strncasecmp((const char *)c->data, "aigc", 4);
  if (!xmp && !aigc) return NOT_CARRIER;
  size_t at = klen + 1;
  if (is_ztxt) return aigc ? AIGC_COMPRESSED : NOT_CARRIER;
  if (is_text) {
    if (!aigc) return NOT_CARRIER;
    *text = c->data + at;
    *text_len = c->len - at;
    return AIGC_TEXT;
  }
  /* iTXt: compression flag, method, language tag NUL, translated keyword NUL, text */
  if (c->len - at < 2) return NOT_CARRIER;
  int compressed = c->data[at] != 0;
  at += 2;
  for (int field = 0; field < 2; field++) {
    const uint8_t *end = memchr(c->data + at, 0, c->len - at);
    if (!end) return NOT_CARRIER;
    at = (size_t)(end - c->data) + 1;
  }
  *text = c->data + at;
  *text_len = c->len - at;
  if (xmp) return compressed ? XMP_COMPRESSED : XMP_PLAIN;
  return compressed ? AIGC_COMPRESSED : AIGC_TEXT;
}

static hg_status scan(const uint8_t *d, size_t n, lf_scan *s, hg_error *err) {
  if (!sniff(d, n, NULL)) return hg_fail(err, HG_ERR_PARSE, 0, 0, "not a PNG file (no PNG signature)");
  lf_hash(s, d, 8);
  size_t at = 8;
  chunk c;
  for (;;) {
    if (next_chunk(d, n, &at, &c, err) < 0) return HG_ERR_PARSE;
    const uint8_t *text = NULL;
    size_t text_len = 0;
    switch (classify(&c, &text, &text_len)) {
    case NOT_CARRIER: lf_hash(s, d + c.offset, 12 + (size_t)c.len); break;
    case XMP_PLAIN: lf_found_xmp(s, "png iTXt XMP", c.offset, (const char *)text, text_len); break;
    case AIGC_TEXT: lf_found_text(s, "png text AIGC", c.offset, (const char *)text, text_len); break;
    case AIGC_COMPRESSED: s->unreadable++; break; /* hegui reads no compressed text (it would need zlib) */
    case XMP_COMPRESSED: break;
    }
    if (!memcmp(c.type, "IEND", 4)) break;
  }
  lf_hash(s, d + at, n - at); /* bytes after IEND are not PNG's, but they are the file's */
  return HG_OK;
}

static hg_status put_chunk(lf_buf *b, const char *type, const uint8_t *data, size_t len) {
  uint32_t crc = hg_crc32(hg_crc32(0, type, 4), data, len);
  hg_status st = lf_put_u32be(b, (uint32_t)len);
  if (!st) st = lf_put(b, type, 4);
  if (!st) st = lf_put(b, data, len);
  if (!st) st = lf_put_u32be(b, crc);
  return st;
}

static hg_status put_label(const uint8_t *d, size_t n, const char *label_json, lf_buf *out, hg_error *err) {
  if (!sniff(d, n, NULL)) return hg_fail(err, HG_ERR_PARSE, 0, 0, "not a PNG file (no PNG signature)");
  /* first pass: the XMP packet already there, to keep its other properties */
  const uint8_t *xmp = NULL;
  size_t xmp_len = 0, at = 8;
  chunk c;
  do {
    if (next_chunk(d, n, &at, &c, err) < 0) return HG_ERR_PARSE;
    const uint8_t *text = NULL;
    size_t text_len = 0;
    carrier_kind kind = classify(&c, &text, &text_len);
    if (kind == XMP_COMPRESSED)
      return hg_fail(err, HG_ERR_PARSE, 0, c.offset,
                     "PNG has a compressed XMP packet at offset %zu; hegui would lose it (not supported)", c.offset);
    if (kind == XMP_PLAIN && !xmp) {
      xmp = text;
      xmp_len = text_len;
    }
  } while (memcmp(c.type, "IEND", 4));

  lf_buf packet = {0}, itxt = {0};
  hg_status st = lf_xmp_build((const char *)xmp, xmp_len, label_json, &packet, err);
  if (!st) st = lf_put(&itxt, XMP_KEYWORD, sizeof XMP_KEYWORD); /* keyword and its NUL */
  if (!st) st = lf_put(&itxt, "\0\0\0\0", 4); /* not compressed, method 0, no language, no translated keyword */
  if (!st) st = lf_put(&itxt, packet.data, packet.len);
  if (!st) st = lf_put(out, d, 8);
  at = 8;
  while (!st) {
    next_chunk(d, n, &at, &c, NULL); /* cannot fail: the first pass read the same chunks */
    const uint8_t *text;
    size_t text_len;
    if (classify(&c, &text, &text_len) == NOT_CARRIER) st = lf_put(out, d + c.offset, 12 + (size_t)c.len);
    if (!st && !memcmp(c.type, "IHDR", 4)) st = put_chunk(out, "iTXt", itxt.data, itxt.len);
    if (!memcmp(c.type, "IEND", 4)) break;
  }
  if (!st) st = lf_put(out, d + at, n - at);
  free(packet.data);
  free(itxt.data);
  if (st == HG_ERR_NOMEM) return hg_fail(err, st, 0, 0, "out of memory");
  return st;
}

const lf_format lf_png = {"png", sniff, scan, put_label};
