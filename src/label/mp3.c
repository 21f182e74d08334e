/* mp3.c — labels in MP3: an ID3v2 TXXX frame with the description AIGC, in the tag at the start of the file (a
 * v2.4 tag is created when there is none; a v2.3 tag stays v2.3). Read from every TXXX AIGC frame. The tag is
 * metadata; the content hash covers the audio after it. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "label/carrier.h"

#define FRAME_TEXT_MAX 4096

typedef struct tag {
  int present, major, flags;
  size_t frames_start, frames_end, end; /* end: first byte after the tag (and its footer) */
} tag;

static int sniff(const uint8_t *d, size_t n, const char *path) {
  (void)path;
  if (n >= 10 && !memcmp(d, "ID3", 3)) return 1;
  return n >= 4 && d[0] == 0xFF && (d[1] & 0xE0) == 0xE0 && (d[1] & 0x06) != 0; /* an MPEG audio frame, layer set */
}

static uint32_t syncsafe(const uint8_t *p) {
  return (uint32_t)(p[0] & 0x7F) << 21 | (uint32_t)(p[1] & 0x7F) << 14 | (uint32_t)(p[2] & 0x7F) << 7 | (p[3] & 0x7F);
}

static hg_status read_tag(const uint8_t *d, size_t n, tag *t, hg_error *err) {
  memset(t, 0, sizeof *t);
  if (n < 10 || memcmp(d, "ID3", 3)) return HG_OK;
  t->present = 1;
  t->major = d[3];
  t->flags = d[5];
  uint32_t size = syncsafe(d + 6);
  size_t footer = t->major == 4 && (t->flags & 0x10) ? 10 : 0;
  if (size > n - 10 || footer > n - 10 - size)
    return hg_fail(err, HG_ERR_PARSE, 0, 6, "ID3v2 tag claims %u bytes, more than the file holds", size);
  t->frames_start = 10;
  t->frames_end = 10 + (size_t)size;
  t->end = t->frames_end + footer;
  if ((t->flags & 0x40) && (t->major == 3 || t->major == 4)) { /* extended header */
    if (size < 4) return hg_fail(err, HG_ERR_PARSE, 0, 10, "ID3v2 extended header truncated at offset 10");
    size_t ext = t->major == 3 ? 4 + (size_t)lf_u32be(d + 10) : (size_t)syncsafe(d + 10);
    if (ext > size) return hg_fail(err, HG_ERR_PARSE, 0, 10, "ID3v2 extended header larger than the tag");
    t->frames_start += ext;
  }
  return HG_OK;
}

typedef struct frame {
  size_t offset, len; /* whole frame with header */
  const uint8_t *id, *data;
  size_t data_len;
} frame;

/* The frame at *at within the tag; 0 at padding or the end. v2.2 frames are not read (6-byte headers, rare). */
static int next_frame(const uint8_t *d, const tag *t, size_t *at, frame *f) {
  if (t->major != 3 && t->major != 4) return 0;
  if (t->frames_end - *at < 10 || d[*at] == 0) return 0;
  uint32_t size = t->major == 4 ? syncsafe(d + *at + 4) : lf_u32be(d + *at + 4);
  if (size > t->frames_end - *at - 10) return 0; /* a frame running past the tag ends the frames */
  f->offset = *at;
  f->id = d + *at;
  f->data = d + *at + 10;
  f->data_len = size;
  f->len = 10 + (size_t)size;
  *at += f->len;
  return 1;
}

/* Decodes a TXXX frame's description and value as ASCII (every encoding ID3 allows); 0 when malformed. */
static int txxx_text(const frame *f, char *desc, size_t desc_cap, char *value, size_t value_cap) {
  if (memcmp(f->id, "TXXX", 4) || f->data_len < 1) return 0;
  int enc = f->data[0];
  int wide = enc == 1 || enc == 2;
  size_t at = 1;
  char *outs[2] = {desc, value};
  size_t caps[2] = {desc_cap, value_cap};
  for (int part = 0; part < 2; part++) {
    size_t k = 0;
    int big = enc == 2;
    if (wide && f->data_len - at >= 2 &&
        ((f->data[at] == 0xFF && f->data[at + 1] == 0xFE) || (f->data[at] == 0xFE && f->data[at + 1] == 0xFF))) {
      big = f->data[at] == 0xFE;
      at += 2;
    }
    while (at < f->data_len) {
      unsigned c;
      if (wide) {
        if (f->data_len - at < 2) break;
        c = big ? (unsigned)(f->data[at] << 8 | f->data[at + 1]) : (unsigned)(f->data[at] | f->data[at + 1] << 8);
        at += 2;
      } else {
        c = f->data[at++];
      }
      if (!c) break;
      if (k + 1 >= caps[part]) return 0;
      outs[part][k++] = c < 0x80 ? (char)c : '?';
    }
    outs[part][k] = '\0';
  }
  return 1;
}

static hg_status scan(const uint8_t *d, size_t n, lf_scan *s, hg_error *err) {
  tag t;
  hg_status st = read_tag(d, n, &t, err);
  if (st) return st;
  if (!t.present && !sniff(d, n, NULL)) return hg_fail(err, HG_ERR_PARSE, 0, 0, "not an MP3 file");
  size_t at = t.frames_start;
  frame f;
  char *desc = malloc(64), *value = malloc(FRAME_TEXT_MAX);
  if (!desc || !value) st = hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  while (!st && t.present && next_frame(d, &t, &at, &f))
    if (txxx_text(&f, desc, 64, value, FRAME_TEXT_MAX) && !strcasecmp(desc, "aigc"))
      lf_found_text(s, "mp3 ID3v2 TXXX AIGC", f.offset, value, strlen(value));
  free(desc);
  free(value);
  if (!st) lf_hash(s, d + t.end, n - t.end);
  return st;
}

static hg_status put_size(lf_buf *b, int syncsafe_form, uint32_t v) {
  if (!syncsafe_form) return lf_put_u32be(b, v);
  uint8_t p[4] = {(uint8_t)(v >> 21 & 0x7F), (uint8_t)(v >> 14 & 0x7F), (uint8_t)(v >> 7 & 0x7F), (uint8_t)(v & 0x7F)};
  return lf_put(b, p, 4);
}

static hg_status put_label(const uint8_t *d, size_t n, const char *label_json, lf_buf *out, hg_error *err) {
  tag t;
  hg_status st = read_tag(d, n, &t, err);
  if (st) return st;
  if (!t.present && !sniff(d, n, NULL)) return hg_fail(err, HG_ERR_PARSE, 0, 0, "not an MP3 file");
  if (t.present && ((t.major != 3 && t.major != 4) || (t.flags & 0x80) || (t.flags & 0x10)))
    return hg_fail(err, HG_ERR_PARSE, 0, 3,
                   "ID3v2.%d tag%s: hegui rewrites only v2.3 and v2.4 tags without unsynchronisation or footer",
                   t.major, (t.flags & 0x80) ? " with unsynchronisation" : "");
  int major = t.present ? t.major : 4;
  size_t json_len = strlen(label_json);
  st = lf_put(out, "ID3", 3);
  uint8_t version[3] = {(uint8_t)major, 0, 0}; /* the extended header, if any, is dropped: its CRC would be stale */
  if (!st) st = lf_put(out, version, 3);
  if (!st) st = lf_put(out, "\0\0\0\0", 4); /* size, filled in below */
  char desc[64], *value = malloc(FRAME_TEXT_MAX);
  if (!value) st = HG_ERR_NOMEM;
  size_t at = t.frames_start;
  frame f;
  while (!st && t.present && next_frame(d, &t, &at, &f))
    if (!(txxx_text(&f, desc, sizeof desc, value, FRAME_TEXT_MAX) && !strcasecmp(desc, "aigc")))
      st = lf_put(out, d + f.offset, f.len);
  free(value);
  /* TXXX, UTF-8 (ISO-8859-1 for v2.3, the same bytes for an ASCII label), "AIGC" NUL, the label */
  if (!st) st = lf_put(out, "TXXX", 4);
  if (!st) st = put_size(out, major == 4, (uint32_t)(1 + 5 + json_len));
  if (!st) st = lf_put(out, "\0\0", 2);
  if (!st)
    st = lf_put(out,
                major == 4 ? "\x03"
                             "AIGC"
                           : "\x00"
                             "AIGC",
                6);
  if (!st) st = lf_put(out, label_json, json_len);
  /* padding: room for later edits in place, and readers (exiftool) that look for a frame header after a frame */
  static const uint8_t padding[256];
  if (!st) st = lf_put(out, padding, sizeof padding);
  if (st) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  size_t size = out->len - 10;
  if (size >= (1u << 28)) return hg_fail(err, HG_ERR_LIMIT, 0, 0, "ID3v2 tag would exceed 256 MiB");
  uint8_t ss[4] = {(uint8_t)(size >> 21 & 0x7F), (uint8_t)(size >> 14 & 0x7F), (uint8_t)(size >> 7 & 0x7F),
                   (uint8_t)(size & 0x7F)};
  memcpy(out->data + 6, ss, 4);
  if (lf_put(out, d + t.end, n - t.end)) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  return HG_OK;
}

const lf_format lf_mp3 = {"mp3", sniff, scan, put_label};
