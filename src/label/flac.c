/* flac.c — labels in FLAC: the Vorbis comment AIGC=<label> in the VORBIS_COMMENT metadata block, which is written
 * as the last metadata block (the other comments kept, padding dropped). Read from every AIGC= comment. The hash
 * covers every other block's type and body and the audio frames, not the last-block flags that move. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "label/carrier.h"

#define TYPE_PADDING 1
#define TYPE_VORBIS_COMMENT 4

typedef struct block {
  size_t offset, len; /* with the 4-byte header */
  int type, last;
  const uint8_t *body;
  size_t body_len;
} block;

static int sniff(const uint8_t *d, size_t n, const char *path) {
  (void)path;
  return n >= 4 && !memcmp(d, "fLaC", 4);
}

static int next_block(const uint8_t *d, size_t n, size_t *at, block *b, hg_error *err) {
  if (n - *at < 4) {
    hg_fail(err, HG_ERR_PARSE, 0, *at, "FLAC truncated: metadata block header at offset %zu", *at);
    return -1;
  }
  b->offset = *at;
  b->last = d[*at] >> 7;
  b->type = d[*at] & 0x7F;
  b->body_len = (size_t)d[*at + 1] << 16 | (size_t)d[*at + 2] << 8 | d[*at + 3];
  if (b->type == 127 || b->body_len > n - *at - 4) {
    hg_fail(err, HG_ERR_PARSE, 0, *at, "FLAC metadata block at offset %zu is invalid or runs past the end", *at);
    return -1;
  }
  b->body = d + *at + 4;
  b->len = 4 + b->body_len;
  *at += b->len;
  return 1;
}

/* Calls fn(ctx, comment, len) for each comment of a VORBIS_COMMENT body; -1 when the body is malformed. */
static int each_comment(const block *b, void (*fn)(void *ctx, const uint8_t *c, uint32_t len, size_t offset),
                        void *ctx) {
  const uint8_t *p = b->body;
  size_t left = b->body_len;
  if (left < 4 || lf_u32le(p) > left - 4) return -1;
  size_t skip = 4 + (size_t)lf_u32le(p);
  p += skip;
  left -= skip;
  if (left < 4) return -1;
  uint32_t count = lf_u32le(p);
  p += 4;
  left -= 4;
  for (uint32_t i = 0; i < count; i++) {
    if (left < 4 || lf_u32le(p) > left - 4) return -1;
    uint32_t len = lf_u32le(p);
    fn(ctx, p + 4, len, (size_t)(p - b->body) + b->offset + 4);
    p += 4 + (size_t)len;
    left -= 4 + (size_t)len;
  }
  return 0;
}

static int is_label_comment(const uint8_t *c, uint32_t len) {
  return len >= 5 && !strncasecmp((const char *)c, "aigc=", 5);
}

static void scan_comment(void *ctx, const uint8_t *c, uint32_t len, size_t offset) {
  if (is_label_comment(c, len)) lf_found_text(ctx, "flac Vorbis comment AIGC", offset, (const char *)c + 5, len - 5);
}

static hg_status scan(const uint8_t *d, size_t n, lf_scan *s, hg_error *err) {
  if (!sniff(d, n, NULL)) return hg_fail(err, HG_ERR_PARSE, 0, 0, "not a FLAC file (no fLaC marker)");
  lf_hash(s, d, 4);
  size_t at = 4;
  block b;
  do {
    if (next_block(d, n, &at, &b, err) < 0) return HG_ERR_PARSE;
    if (b.type == TYPE_VORBIS_COMMENT) {
      if (each_comment(&b, scan_comment, s) < 0) s->unreadable++;
    } else if (b.type != TYPE_PADDING) {
      uint8_t type = (uint8_t)b.type;
      lf_hash(s, &type, 1);
      lf_hash(s, d + b.offset + 1, b.len - 1);
    }
  } while (!b.last);
  lf_hash(s, d + at, n - at);
  return HG_OK;
}

typedef struct comment_copy {
  lf_buf *out;
  uint32_t count;
  hg_status st;
} comment_copy;

static void copy_comment(void *ctx, const uint8_t *c, uint32_t len, size_t offset) {
  (void)offset;
  comment_copy *cc = ctx;
  if (cc->st || is_label_comment(c, len)) return;
  cc->st = lf_put_u32le(cc->out, len);
  if (!cc->st) cc->st = lf_put(cc->out, c, len);
  cc->count++;
}

static hg_status put_label(const uint8_t *d, size_t n, const char *label_json, lf_buf *out, hg_error *err) {
  if (!sniff(d, n, NULL)) return hg_fail(err, HG_ERR_PARSE, 0, 0, "not a FLAC file (no fLaC marker)");
  size_t at = 4;
  block b, comments = {0};
  int have_comments = 0;
  hg_status st = lf_put(out, d, 4);
  do {
    if (next_block(d, n, &at, &b, err) < 0) return HG_ERR_PARSE;
    if (b.type == TYPE_VORBIS_COMMENT && !have_comments) {
      comments = b;
      have_comments = 1;
    }
    if (b.type == TYPE_VORBIS_COMMENT || b.type == TYPE_PADDING || st) continue;
    uint8_t head = (uint8_t)b.type; /* not last: the comment block follows */
    st = lf_put(out, &head, 1);
    if (!st) st = lf_put(out, d + b.offset + 1, b.len - 1);
  } while (!b.last);
  size_t audio = at;

  /* the new VORBIS_COMMENT body: the old vendor and comments, AIGC= last */
  lf_buf body = {0}, list = {0};
  comment_copy cc = {&list, 0, HG_OK};
  const uint8_t *vendor = (const uint8_t *)"hegui";
  uint32_t vendor_len = 5;
  if (have_comments) {
    if (each_comment(&comments, copy_comment, &cc) < 0)
      st = hg_fail(err, HG_ERR_PARSE, 0, comments.offset, "FLAC Vorbis comment block at offset %zu is malformed",
                   comments.offset);
    else {
      vendor_len = lf_u32le(comments.body);
      vendor = comments.body + 4;
    }
  }
  size_t json_len = strlen(label_json);
  if (!st) st = cc.st;
  if (!st) st = lf_put_u32le(&body, vendor_len);
  if (!st) st = lf_put(&body, vendor, vendor_len);
  if (!st) st = lf_put_u32le(&body, cc.count + 1);
  if (!st) st = lf_put(&body, list.data, list.len);
  if (!st) st = lf_put_u32le(&body, (uint32_t)(5 + json_len));
  if (!st) st = lf_put(&body, "AIGC=", 5);
  if (!st) st = lf_put(&body, label_json, json_len);
  if (!st && body.len >= (1u << 24)) st = hg_fail(err, HG_ERR_LIMIT, 0, 0, "FLAC comment block over 16 MiB");
  if (!st) {
    uint8_t head[4] = {0x80 | TYPE_VORBIS_COMMENT, (uint8_t)(body.len >> 16), (uint8_t)(body.len >> 8),
                       (uint8_t)body.len};
    st = lf_put(out, head, 4);
    if (!st) st = lf_put(out, body.data, body.len);
    if (!st) st = lf_put(out, d + audio, n - audio);
  }
  free(body.data);
  free(list.data);
  if (st == HG_ERR_NOMEM) return hg_fail(err, st, 0, 0, "out of memory");
  return st;
}

const lf_format lf_flac = {"flac", sniff, scan, put_label};
