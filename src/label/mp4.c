/* mp4.c — labels in MP4/MOV/M4A (ISO base media): the metadata key AIGC in moov/udta/meta (handler mdta, a keys box
 * and an ilst item holding a UTF-8 data box), as FFmpeg writes with -movflags use_metadata_tags; read from every
 * mdta meta box under moov and moov/udta.
 *
 * hegui writes the boxes itself rather than through libavformat: remuxing through FFmpeg would rewrite every box of
 * the file (and whatever it does not know it drops), while the label needs one box. A larger moov must not move the
 * media: when moov is followed by other boxes (mdat), its old place becomes a `free` box of the same size and the
 * new moov goes to the end of the file, so every chunk offset in stco/co64 stays true without being touched (the
 * price: a moov at the front, "fast start", moves to the end). The content hash covers every top-level box but
 * moov, free and skip, and every moov child but udta and meta. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "label/carrier.h"

typedef struct box {
  size_t offset, len; /* whole box */
  size_t header;      /* 8 or 16 bytes */
  const uint8_t *type;
  const uint8_t *body;
  size_t body_len;
} box;

static int sniff(const uint8_t *d, size_t n, const char *path) {
  (void)path;
  if (n < 12) return 0;
  return !memcmp(d + 4, "ftyp", 4) || !memcmp(d + 4, "moov", 4) || !memcmp(d + 4, "mdat", 4) ||
         !memcmp(d + 4, "wide", 4);
}

/* The box at *at within [.., end); 0 at end, -1 with err when malformed. */
static int next_box(const uint8_t *d, size_t end, size_t *at, box *b, hg_error *err) {
  if (*at >= end) return 0;
  if (end - *at < 8) {
    hg_fail(err, HG_ERR_PARSE, 0, *at, "MP4 truncated: box header at offset %zu", *at);
    return -1;
  }
  uint64_t size = lf_u32be(d + *at);
  b->header = 8;
  if (size == 1) {
    if (end - *at < 16) {
      hg_fail(err, HG_ERR_PARSE, 0, *at, "MP4 truncated: 64-bit box size at offset %zu", *at);
      return -1;
    }
    size = (uint64_t)lf_u32be(d + *at + 8) << 32 | lf_u32be(d + *at + 12);
    b->header = 16;
  } else if (size == 0) {
    size = end - *at; /* to the end of the file */
  }
  if (size < b->header || size > end - *at) {
    hg_fail(err, HG_ERR_PARSE, 0, *at, "MP4 box at offset %zu has a size (%llu) that does not fit", *at,
            (unsigned long long)size);
    return -1;
  }
  b->offset = *at;
  b->len = (size_t)size;
  b->type = d + *at + 4;
  b->body = d + *at + b->header;
  b->body_len = b->len - b->header;
  *at += b->len;
  return 1;
}

static int is(const box *b, const char *type) { return !memcmp(b->type, type, 4); }

/* The start of a meta box's children: ISO's meta is a full box (4 bytes of version and flags), QuickTime's is not. */
static size_t meta_children(const box *m) {
  if (m->body_len >= 8 && !memcmp(m->body + 4, "hdlr", 4)) return m->offset + m->header;
  return m->offset + m->header + 4;
}

/* The index (1-based) of the key AIGC in an mdta meta box, and the ilst box; 0 when the meta holds none. */
static uint32_t find_key(const uint8_t *d, const box *m, box *ilst) {
  size_t at = meta_children(m), end = m->offset + m->len;
  box b;
  int mdta = 0;
  uint32_t index = 0;
  memset(ilst, 0, sizeof *ilst);
  while (next_box(d, end, &at, &b, NULL) > 0) {
    if (is(&b, "hdlr") && b.body_len >= 12 && !memcmp(b.body + 8, "mdta", 4)) mdta = 1;
    if (is(&b, "ilst")) *ilst = b;
    if (!is(&b, "keys") || b.body_len < 8) continue;
    uint32_t count = lf_u32be(b.body + 4);
    size_t k = 8;
    for (uint32_t i = 1; i <= count && b.body_len - k >= 8; i++) {
      uint32_t size = lf_u32be(b.body + k);
      if (size < 8 || size > b.body_len - k) break;
      const char *key = (const char *)b.body + k + 8;
      size_t key_len = size - 8;
      if (key_len >= 4 && !strncasecmp(key + key_len - 4, "aigc", 4) && (key_len == 4 || key[key_len - 5] == '.'))
        index = i;
      k += size;
    }
  }
  return mdta && ilst->type ? index : 0;
}

/* Records the value of ilst item index (its data boxes). */
static void read_item(const uint8_t *d, const box *ilst, uint32_t index, lf_scan *s) {
  size_t at = ilst->offset + ilst->header, end = ilst->offset + ilst->len;
  box item, data;
  while (next_box(d, end, &at, &item, NULL) > 0) {
    if (lf_u32be(item.type) != index) continue;
    size_t in = item.offset + item.header;
    while (next_box(d, item.offset + item.len, &in, &data, NULL) > 0)
      if (is(&data, "data") && data.body_len >= 8)
        lf_found_text(s, "mp4 moov/udta/meta AIGC", data.offset, (const char *)data.body + 8, data.body_len - 8);
  }
}

static void scan_meta(const uint8_t *d, const box *m, lf_scan *s) {
  box ilst;
  uint32_t index = find_key(d, m, &ilst);
  if (index) read_item(d, &ilst, index, s);
}

/* moov's children, after every other top-level box: the writer may move moov to the end, the hash must not see it */
static hg_status scan_moov(const uint8_t *d, const box *top, lf_scan *s, hg_error *err) {
  size_t in = top->offset + top->header;
  box child, inner;
  int rc;
  while ((rc = next_box(d, top->offset + top->len, &in, &child, err)) > 0) {
    if (is(&child, "meta")) {
      scan_meta(d, &child, s);
    } else if (is(&child, "udta")) {
      size_t u = child.offset + child.header;
      while (next_box(d, child.offset + child.len, &u, &inner, NULL) > 0)
        if (is(&inner, "meta")) scan_meta(d, &inner, s);
    } else {
      lf_hash(s, d + child.offset, child.len);
    }
  }
  return rc < 0 ? HG_ERR_PARSE : HG_OK;
}

static hg_status scan(const uint8_t *d, size_t n, lf_scan *s, hg_error *err) {
  if (!sniff(d, n, NULL)) return hg_fail(err, HG_ERR_PARSE, 0, 0, "not an MP4/MOV file (no ftyp, moov or mdat)");
  size_t at = 0;
  box top;
  int r;
  while ((r = next_box(d, n, &at, &top, err)) > 0)
    if (!is(&top, "moov") && !is(&top, "free") && !is(&top, "skip")) lf_hash(s, d + top.offset, top.len);
  if (r < 0) return HG_ERR_PARSE;
  at = 0;
  while (next_box(d, n, &at, &top, NULL) > 0)
    if (is(&top, "moov") && scan_moov(d, &top, s, err)) return HG_ERR_PARSE;
  return HG_OK;
}

static hg_status put_box_header(lf_buf *b, const char *type, size_t body_len) {
  hg_status st = lf_put_u32be(b, (uint32_t)(8 + body_len));
  return st ? st : lf_put(b, type, 4);
}

/* Our meta box: full box, hdlr mdta, keys [AIGC], ilst [1: data UTF-8 label]. */
static hg_status put_meta(lf_buf *b, const char *label_json) {
  size_t json_len = strlen(label_json);
  size_t hdlr = 8 + 4 + 4 + 4 + 12 + 1, keys = 8 + 8 + 12, data = 8 + 8 + json_len, item = 8 + data, ilst = 8 + item;
  hg_status st = put_box_header(b, "meta", 4 + hdlr + keys + ilst);
  if (!st) st = lf_put(b, "\0\0\0\0", 4);
  if (!st) st = put_box_header(b, "hdlr", hdlr - 8);
  if (!st) st = lf_put(b, "\0\0\0\0\0\0\0\0mdta\0\0\0\0\0\0\0\0\0\0\0\0", 24);
  if (!st) st = lf_put(b, "", 1); /* empty name */
  if (!st) st = put_box_header(b, "keys", keys - 8);
  if (!st) st = lf_put(b, "\0\0\0\0\0\0\0\1", 8);
  if (!st) st = lf_put_u32be(b, 12);
  if (!st) st = lf_put(b, "mdtaAIGC", 8);
  if (!st) st = put_box_header(b, "ilst", ilst - 8);
  if (!st) st = lf_put_u32be(b, (uint32_t)item);
  if (!st) st = lf_put_u32be(b, 1); /* the item's type is the key's index */
  if (!st) st = put_box_header(b, "data", data - 8);
  if (!st) st = lf_put(b, "\0\0\0\1\0\0\0\0", 8); /* UTF-8, default locale */
  if (!st) st = lf_put(b, label_json, json_len);
  return st;
}

static int meta_has_label(const uint8_t *d, const box *m) {
  box ilst;
  return find_key(d, m, &ilst) != 0;
}

/* The new moov: every child but udta and labelled meta boxes, then udta with its other children and our meta. */
static hg_status build_moov(const uint8_t *d, const box *moov, const char *label_json, lf_buf *out) {
  lf_buf body = {0}, udta = {0};
  size_t in = moov->offset + moov->header;
  box child, inner;
  hg_status st = HG_OK;
  while (!st && next_box(d, moov->offset + moov->len, &in, &child, NULL) > 0) {
    if (is(&child, "udta")) {
      size_t u = child.offset + child.header;
      while (!st && next_box(d, child.offset + child.len, &u, &inner, NULL) > 0)
        if (!(is(&inner, "meta") && meta_has_label(d, &inner))) st = lf_put(&udta, d + inner.offset, inner.len);
    } else if (!(is(&child, "meta") && meta_has_label(d, &child))) {
      st = lf_put(&body, d + child.offset, child.len);
    }
  }
  if (!st) st = put_meta(&udta, label_json);
  if (!st && body.len + udta.len + 16 > UINT32_MAX) st = HG_ERR_LIMIT;
  if (!st) st = put_box_header(out, "moov", body.len + 8 + udta.len);
  if (!st) st = lf_put(out, body.data, body.len);
  if (!st) st = put_box_header(out, "udta", udta.len);
  if (!st) st = lf_put(out, udta.data, udta.len);
  free(body.data);
  free(udta.data);
  return st;
}

static hg_status put_label(const uint8_t *d, size_t n, const char *label_json, lf_buf *out, hg_error *err) {
  if (!sniff(d, n, NULL)) return hg_fail(err, HG_ERR_PARSE, 0, 0, "not an MP4/MOV file (no ftyp, moov or mdat)");
  /* check the whole structure first (the scan does), and find the one moov */
  size_t at = 0, moov_count = 0, after_moov = 0;
  box top, moov = {0};
  int r;
  while ((r = next_box(d, n, &at, &top, err)) > 0) {
    if (is(&top, "moov")) {
      moov = top;
      moov_count++;
    } else if (moov_count && !is(&top, "free") && !is(&top, "skip")) {
      after_moov = 1;
    }
    if (is(&top, "moov")) {
      size_t in = top.offset + top.header;
      box child;
      int rc;
      while ((rc = next_box(d, top.offset + top.len, &in, &child, err)) > 0) {
      }
      if (rc < 0) return HG_ERR_PARSE;
    }
  }
  if (r < 0) return HG_ERR_PARSE;
  if (moov_count != 1)
    return hg_fail(err, HG_ERR_PARSE, 0, 0, "MP4 has %zu moov boxes; exactly one is needed", moov_count);
  hg_status st = lf_put(out, d, moov.offset);
  if (!st && after_moov) { /* the old place becomes free space of the same size: nothing after it moves */
    uint8_t head[16];
    size_t hl = moov.header;
    if (hl == 8) {
      uint32_t sz = (uint32_t)moov.len;
      uint8_t h8[8] = {(uint8_t)(sz >> 24), (uint8_t)(sz >> 16), (uint8_t)(sz >> 8), (uint8_t)sz, 'f', 'r', 'e', 'e'};
      memcpy(head, h8, 8);
    } else {
      uint64_t sz = moov.len;
      uint8_t h16[16] = {0,
                         0,
                         0,
                         1,
                         'f',
                         'r',
                         'e',
                         'e',
                         (uint8_t)(sz >> 56),
                         (uint8_t)(sz >> 48),
                         (uint8_t)(sz >> 40),
                         (uint8_t)(sz >> 32),
                         (uint8_t)(sz >> 24),
                         (uint8_t)(sz >> 16),
                         (uint8_t)(sz >> 8),
                         (uint8_t)sz};
      memcpy(head, h16, 16);
    }
    st = lf_put(out, head, hl);
    static const uint8_t zeros[4096];
    for (size_t left = moov.len - hl; !st && left;) {
      size_t k = left < sizeof zeros ? left : sizeof zeros;
      st = lf_put(out, zeros, k);
      left -= k;
    }
    if (!st) st = lf_put(out, d + moov.offset + moov.len, n - moov.offset - moov.len);
    if (!st) st = build_moov(d, &moov, label_json, out);
  } else if (!st) { /* moov is last (free space after it is dropped with it) */
    st = build_moov(d, &moov, label_json, out);
  }
  if (st == HG_ERR_LIMIT) return hg_fail(err, st, 0, moov.offset, "MP4 moov with the label exceeds 4 GiB");
  if (st) return hg_fail(err, st, 0, 0, "out of memory");
  return HG_OK;
}

const lf_format lf_mp4 = {"mp4", sniff, scan, put_label};
