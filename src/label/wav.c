/* wav.c — labels in WAV (RIFF/WAVE): a chunk with the id AIGC holding the label's JSON, written at the end of the
 * RIFF body; read from every AIGC chunk. The RIFF size is rewritten and therefore not part of the content hash;
 * every other chunk is. */
#include <stdlib.h>
#include <string.h>

#include "label/carrier.h"

static int sniff(const uint8_t *d, size_t n, const char *path) {
  (void)path;
  return n >= 12 && !memcmp(d, "RIFF", 4) && !memcmp(d + 8, "WAVE", 4);
}

/* Walks the chunks of the RIFF body; calls fn for each with its whole extent (header, data, pad byte). */
static hg_status walk(const uint8_t *d, size_t n, size_t *body_end,
                      hg_status (*fn)(void *ctx, const uint8_t *chunk, size_t offset, size_t len), void *ctx,
                      hg_error *err) {
  if (!sniff(d, n, NULL)) return hg_fail(err, HG_ERR_PARSE, 0, 0, "not a WAV file (no RIFF/WAVE header)");
  uint32_t riff_size = lf_u32le(d + 4);
  size_t end = riff_size < 4 || riff_size > n - 8 ? n : 8 + (size_t)riff_size; /* tolerant of a wrong RIFF size */
  size_t at = 12;
  while (at < end) {
    if (end - at < 8) return hg_fail(err, HG_ERR_PARSE, 0, at, "WAV truncated: chunk header at offset %zu", at);
    uint32_t size = lf_u32le(d + at + 4);
    if (size > end - at - 8)
      return hg_fail(err, HG_ERR_PARSE, 0, at, "WAV chunk at offset %zu claims %u bytes, more than the file holds", at,
                     size);
    size_t len = 8 + (size_t)size + (size & 1);
    if (len > end - at) len = end - at; /* a missing pad byte at the very end */
    hg_status st = fn(ctx, d + at, at, len);
    if (st) return st;
    at += len;
  }
  *body_end = end;
  return HG_OK;
}

static hg_status scan_chunk(void *ctx, const uint8_t *c, size_t offset, size_t len) {
  lf_scan *s = ctx;
  if (!memcmp(c, "AIGC", 4))
    lf_found_text(s, "wav AIGC chunk", offset, (const char *)c + 8, lf_u32le(c + 4) <= len - 8 ? lf_u32le(c + 4) : 0);
  else
    lf_hash(s, c, len);
  return HG_OK;
}

static hg_status scan(const uint8_t *d, size_t n, lf_scan *s, hg_error *err) {
  size_t end = n;
  if (sniff(d, n, NULL)) lf_hash(s, d + 8, 4);
  hg_status st = walk(d, n, &end, scan_chunk, s, err);
  if (!st) lf_hash(s, d + end, n - end);
  return st;
}

static hg_status copy_chunk(void *ctx, const uint8_t *c, size_t offset, size_t len) {
  (void)offset;
  return memcmp(c, "AIGC", 4) ? lf_put(ctx, c, len) : HG_OK;
}

static hg_status put_label(const uint8_t *d, size_t n, const char *label_json, lf_buf *out, hg_error *err) {
  size_t end = n, json_len = strlen(label_json);
  hg_status st = lf_put(out, "RIFF\0\0\0\0WAVE", 12);
  if (!st) st = walk(d, n, &end, copy_chunk, out, err);
  if (st) return st;
  st = lf_put(out, "AIGC", 4);
  if (!st) st = lf_put_u32le(out, (uint32_t)json_len);
  if (!st) st = lf_put(out, label_json, json_len);
  if (!st && (json_len & 1)) st = lf_put(out, "", 1);
  if (st) return hg_fail(err, st, 0, 0, "out of memory");
  if (out->len - 8 > UINT32_MAX) return hg_fail(err, HG_ERR_LIMIT, 0, 0, "WAV with the label exceeds 4 GiB");
  uint32_t riff = (uint32_t)(out->len - 8);
  uint8_t le[4] = {(uint8_t)riff, (uint8_t)(riff >> 8), (uint8_t)(riff >> 16), (uint8_t)(riff >> 24)};
  memcpy(out->data + 4, le, 4);
  if (lf_put(out, d + end, n - end)) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  return HG_OK;
}

const lf_format lf_wav = {"wav", sniff, scan, put_label};
