/* jpeg.c — labels in JPEG: written as XMP in an APP1 segment after the JFIF/Exif segments at the start; read from
 * every XMP APP1 segment and from the Exif UserComment (the TC260 guides' alternative carrier). Everything from the
 * start of scan onwards is copied untouched. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "label/carrier.h"

static const char XMP_ID[] = "http://ns.adobe.com/xap/1.0/"; /* followed by its NUL in the segment */
#define XMP_ID_LEN (sizeof XMP_ID)                           /* with the NUL */
#define SEGMENT_MAX 65533                                    /* payload bytes a 16-bit length allows */

typedef struct segment {
  size_t offset; /* of the 0xFF */
  uint8_t marker;
  size_t len;          /* whole segment, marker included */
  const uint8_t *data; /* payload */
  size_t data_len;
} segment;

static int sniff(const uint8_t *d, size_t n, const char *path) {
  (void)path;
  return n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF;
}

static int is_xmp(const segment *s) {
  return s->marker == 0xE1 && s->data_len >= XMP_ID_LEN && !memcmp(s->data, XMP_ID, XMP_ID_LEN);
}

/* The segment at *at, up to and including SOS (after which the file is entropy-coded data); 0 at SOS or EOI. */
static int next_segment(const uint8_t *d, size_t n, size_t *at, segment *s, hg_error *err) {
  size_t p = *at;
  if (p >= n || d[p] != 0xFF) {
    hg_fail(err, HG_ERR_PARSE, 0, p, "JPEG: no marker at offset %zu (truncated or not JPEG)", p);
    return -1;
  }
  while (p < n && d[p] == 0xFF) /* fill bytes */
    p++;
  if (p >= n) {
    hg_fail(err, HG_ERR_PARSE, 0, p, "JPEG truncated at offset %zu", p);
    return -1;
  }
  s->offset = *at;
  s->marker = d[p++];
  if (s->marker == 0xD9 || s->marker == 0xDA) return 0;
  if ((s->marker >= 0xD0 && s->marker <= 0xD8) || s->marker == 0x01 || s->marker == 0x00) {
    hg_fail(err, HG_ERR_PARSE, 0, s->offset, "JPEG: unexpected marker 0x%02X at offset %zu", s->marker, s->offset);
    return -1;
  }
  if (n - p < 2 || lf_u16be(d + p) < 2 || lf_u16be(d + p) > n - p) {
    hg_fail(err, HG_ERR_PARSE, 0, s->offset, "JPEG segment at offset %zu runs past the end of the file", s->offset);
    return -1;
  }
  s->data_len = lf_u16be(d + p) - 2u;
  s->data = d + p + 2;
  s->len = p + 2 + s->data_len - s->offset;
  *at = s->offset + s->len;
  return 1;
}

/* ---- Exif UserComment (read only) ---- */

typedef struct tiff {
  const uint8_t *d;
  size_t n;
  int big_endian;
} tiff;

static uint32_t tiff_u32(const tiff *t, size_t at) { return t->big_endian ? lf_u32be(t->d + at) : lf_u32le(t->d + at); }
static uint16_t tiff_u16(const tiff *t, size_t at) {
  return t->big_endian ? lf_u16be(t->d + at) : (uint16_t)(t->d[at] | t->d[at + 1] << 8);
}

/* The entry for tag in the IFD at ifd; 0 when absent or out of bounds. */
static int ifd_find(const tiff *t, uint32_t ifd, uint16_t tag, uint32_t *count, uint32_t *value_at) {
  if (ifd > t->n || t->n - ifd < 2) return 0;
  uint16_t entries = tiff_u16(t, ifd);
  if ((size_t)entries * 12 > t->n - ifd - 2) return 0;
  for (uint16_t i = 0; i < entries; i++) {
    size_t e = ifd + 2 + (size_t)i * 12;
    if (tiff_u16(t, e) != tag) continue;
    *count = tiff_u32(t, e + 4);
    *value_at = *count <= 4 ? (uint32_t)(e + 8) : tiff_u32(t, e + 8);
    return *value_at <= t->n && *count <= t->n - *value_at;
  }
  return 0;
}

/* The UserComment value of an Exif APP1: its offset in the file and length; 0 when there is none. The value is
 * left out of the content hash whatever it holds, so that the writer may blank a label found there. */
static int user_comment(const segment *s, size_t *offset, size_t *len) {
  if (s->marker != 0xE1 || s->data_len < 14 || memcmp(s->data, "Exif\0\0", 6)) return 0;
  tiff t = {s->data + 6, s->data_len - 6, s->data[6] == 'M'};
  uint32_t count, at;
  if (!ifd_find(&t, tiff_u32(&t, 4), 0x8769, &count, &at) || t.n - at < 4) return 0;
  if (!ifd_find(&t, tiff_u32(&t, at), 0x9286, &count, &at) || count < 8) return 0;
  *offset = (size_t)(t.d + at - s->data) + (s->offset + s->len - s->data_len);
  *len = count;
  return 1;
}

/* Decodes a UserComment (8-byte character code, then text) to ASCII; 1 when it names AIGC, taken for a label then
 * (a UserComment is otherwise anyone's note). */
static int user_comment_label(const uint8_t *v, size_t count, int big_endian, char *text, size_t cap) {
  size_t len = 0;
  if (!memcmp(v, "UNICODE\0", 8)) { /* UTF-16 in the TIFF byte order; a label is ASCII */
    for (size_t i = 8; i + 1 < count && len + 1 < cap; i += 2) {
      uint16_t c = big_endian ? lf_u16be(v + i) : (uint16_t)(v[i] | v[i + 1] << 8);
      if (!c) break;
      text[len++] = c < 0x80 ? (char)c : '?';
    }
  } else {
    for (size_t i = 8; i < count && v[i] && len + 1 < cap; i++)
      text[len++] = (char)v[i];
  }
  text[len] = '\0';
  return strcasestr(text, "aigc") != NULL;
}

static hg_status scan(const uint8_t *d, size_t n, lf_scan *s, hg_error *err) {
  if (!sniff(d, n, NULL)) return hg_fail(err, HG_ERR_PARSE, 0, 0, "not a JPEG file (no SOI marker)");
  lf_hash(s, d, 2);
  size_t at = 2;
  segment seg;
  int r;
  while ((r = next_segment(d, n, &at, &seg, err)) > 0) {
    if (is_xmp(&seg)) {
      lf_found_xmp(s, "jpeg APP1 XMP", seg.offset, (const char *)seg.data + XMP_ID_LEN, seg.data_len - XMP_ID_LEN);
      continue;
    }
    size_t uc, uc_len;
    if (user_comment(&seg, &uc, &uc_len)) {
      char text[2048];
      if (user_comment_label(d + uc, uc_len, seg.data[6] == 'M', text, sizeof text))
        lf_found_text(s, "jpeg Exif UserComment", uc, text, strlen(text));
      lf_hash(s, d + seg.offset, uc - seg.offset);
      lf_hash(s, d + uc + uc_len, seg.offset + seg.len - uc - uc_len);
    } else {
      lf_hash(s, d + seg.offset, seg.len);
    }
  }
  if (r < 0) return HG_ERR_PARSE;
  lf_hash(s, d + seg.offset, n - seg.offset);
  return HG_OK;
}

static hg_status put_xmp_segment(lf_buf *out, const lf_buf *packet) {
  size_t len = packet->len + XMP_ID_LEN + 2;
  uint8_t head[4] = {0xFF, 0xE1, (uint8_t)(len >> 8), (uint8_t)len};
  hg_status st = lf_put(out, head, 4);
  if (!st) st = lf_put(out, XMP_ID, XMP_ID_LEN);
  if (!st) st = lf_put(out, packet->data, packet->len);
  return st;
}

static hg_status put_label(const uint8_t *d, size_t n, const char *label_json, lf_buf *out, hg_error *err) {
  if (!sniff(d, n, NULL)) return hg_fail(err, HG_ERR_PARSE, 0, 0, "not a JPEG file (no SOI marker)");
  const uint8_t *xmp = NULL;
  size_t xmp_len = 0, at = 2;
  segment seg;
  int r;
  while ((r = next_segment(d, n, &at, &seg, err)) > 0)
    if (is_xmp(&seg) && !xmp) {
      xmp = seg.data + XMP_ID_LEN;
      xmp_len = seg.data_len - XMP_ID_LEN;
    }
  if (r < 0) return HG_ERR_PARSE;

  lf_buf packet = {0};
  hg_status st = lf_xmp_build((const char *)xmp, xmp_len, label_json, &packet, err);
  if (!st && packet.len + XMP_ID_LEN > SEGMENT_MAX) {
    free(packet.data);
    return hg_fail(err, HG_ERR_LIMIT, 0, 0, "JPEG: the XMP packet with the label needs %zu bytes, one APP1 holds %d",
                   packet.len + XMP_ID_LEN, SEGMENT_MAX);
  }
  if (!st) st = lf_put(out, d, 2);
  at = 2;
  int placed = 0;
  while (!st && (r = next_segment(d, n, &at, &seg, NULL)) > 0) {
    /* JFIF wants APP0 first and Exif readers look right after it: the label goes after both */
    if (!placed && seg.marker != 0xE0 && !(seg.marker == 0xE1 && !is_xmp(&seg))) {
      st = put_xmp_segment(out, &packet);
      placed = 1;
    }
    if (!st && !is_xmp(&seg)) st = lf_put(out, d + seg.offset, seg.len);
    size_t uc, uc_len;
    char text[2048];
    if (!st && user_comment(&seg, &uc, &uc_len) &&
        user_comment_label(d + uc, uc_len, seg.data[6] == 'M', text, sizeof text))
      memset(out->data + out->len - (seg.offset + seg.len - uc), 0, uc_len); /* the label moves to XMP */
  }
  if (!st && !placed) st = put_xmp_segment(out, &packet);
  if (!st) st = lf_put(out, d + seg.offset, n - seg.offset);
  free(packet.data);
  if (st == HG_ERR_NOMEM) return hg_fail(err, st, 0, 0, "out of memory");
  return st;
}

const lf_format lf_jpeg = {"jpeg", sniff, scan, put_label};
