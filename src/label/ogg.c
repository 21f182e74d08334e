/* ogg.c — labels in Ogg Vorbis and Ogg Opus: the comment AIGC=<label> in the comment header packet (Vorbis
 * "\x03vorbis", Opus "OpusTags"), other comments kept. The header packets are paginated again (the comment packet
 * changes size), and every later page gets its sequence number shifted and its CRC recomputed; its payload is
 * copied untouched. The content hash covers the other header packets and every later page without its sequence
 * number and CRC. One logical stream only (a multiplexed file is read but not written). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "label/carrier.h"

#define HEADER_PACKETS_MAX 3
#define PACKET_MAX ((size_t)16 << 20)

static int sniff(const uint8_t *d, size_t n, const char *path) {
  (void)path;
  return n >= 27 && !memcmp(d, "OggS", 4);
}

typedef struct page {
  size_t offset, len, header_len;
  uint32_t serial, seq;
  uint8_t flags;
  const uint8_t *lacing, *data;
  int nsegs;
} page;

static int next_page(const uint8_t *d, size_t n, size_t *at, page *p, hg_error *err) {
  if (*at >= n) return 0;
  if (n - *at < 27 || memcmp(d + *at, "OggS", 4) || d[*at + 4] != 0) {
    hg_fail(err, HG_ERR_PARSE, 0, *at, "Ogg: no page at offset %zu (truncated or not Ogg)", *at);
    return -1;
  }
  p->offset = *at;
  p->flags = d[*at + 5];
  p->serial = lf_u32le(d + *at + 14);
  p->seq = lf_u32le(d + *at + 18);
  p->nsegs = d[*at + 26];
  if (n - *at - 27 < (size_t)p->nsegs) {
    hg_fail(err, HG_ERR_PARSE, 0, *at, "Ogg page at offset %zu truncated in its segment table", *at);
    return -1;
  }
  p->lacing = d + *at + 27;
  size_t body = 0;
  for (int i = 0; i < p->nsegs; i++)
    body += p->lacing[i];
  p->header_len = 27 + (size_t)p->nsegs;
  if (body > n - *at - p->header_len) {
    hg_fail(err, HG_ERR_PARSE, 0, *at, "Ogg page at offset %zu runs past the end of the file", *at);
    return -1;
  }
  p->data = d + *at + p->header_len;
  p->len = p->header_len + body;
  *at += p->len;
  return 1;
}

/* The header packets of the first logical stream, reassembled, and where the audio pages begin. */
typedef struct headers {
  lf_buf packet[HEADER_PACKETS_MAX];
  int count, wanted; /* 3 for Vorbis, 2 for Opus */
  int comment;       /* index of the comment packet */
  size_t prefix;     /* bytes before the comment list in the comment packet */
  size_t audio_at;   /* first page after the header pages */
  uint32_t serial, header_pages;
  int multiplexed;
} headers;

static void free_headers(headers *h) {
  for (int i = 0; i < HEADER_PACKETS_MAX; i++)
    free(h->packet[i].data);
}

static hg_status read_headers(const uint8_t *d, size_t n, headers *h, hg_error *err) {
  memset(h, 0, sizeof *h);
  h->wanted = HEADER_PACKETS_MAX;
  size_t at = 0;
  page p;
  int r;
  while (h->count < h->wanted && (r = next_page(d, n, &at, &p, err)) > 0) {
    if (h->header_pages == 0) h->serial = p.serial;
    if (p.serial != h->serial) {
      h->multiplexed = 1;
      continue;
    }
    h->header_pages++;
    size_t off = 0;
    for (int i = 0; i < p.nsegs && h->count < h->wanted; i++) {
      if (lf_put(&h->packet[h->count], p.data + off, p.lacing[i]))
        return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
      if (h->packet[h->count].len > PACKET_MAX)
        return hg_fail(err, HG_ERR_LIMIT, 0, p.offset, "Ogg header packet over 16 MiB at offset %zu", p.offset);
      off += p.lacing[i];
      if (p.lacing[i] < 255) {
        if (h->count == 0) { /* the identification header names the codec */
          const lf_buf *id = &h->packet[0];
          if (id->len >= 7 && !memcmp(id->data, "\x01vorbis", 7))
            h->wanted = 3, h->prefix = 7;
          else if (id->len >= 8 && !memcmp(id->data, "OpusHead", 8))
            h->wanted = 2, h->prefix = 8;
          else
            return hg_fail(err, HG_ERR_PARSE, 0, 0, "Ogg stream is neither Vorbis nor Opus");
          h->comment = 1;
        }
        h->count++;
      }
    }
    if (h->count == h->wanted && off != p.len - p.header_len)
      return hg_fail(err, HG_ERR_PARSE, 0, p.offset, "Ogg: audio data shares the last header page at offset %zu",
                     p.offset);
  }
  if (r < 0) return HG_ERR_PARSE;
  if (h->count < h->wanted) return hg_fail(err, HG_ERR_PARSE, 0, at, "Ogg truncated in its header packets");
  const lf_buf *c = &h->packet[h->comment];
  if (c->len < h->prefix || memcmp(c->data, h->prefix == 7 ? "\x03vorbis" : "OpusTags", h->prefix))
    return hg_fail(err, HG_ERR_PARSE, 0, 0, "Ogg: the second header packet is not a comment header");
  h->audio_at = at;
  return HG_OK;
}

/* Walks the comment list after the prefix; fn may be NULL. Returns the end of the list or 0 when malformed. */
static size_t each_comment(const lf_buf *c, size_t prefix, void (*fn)(void *ctx, const uint8_t *s, uint32_t len),
                           void *ctx, const uint8_t **vendor, uint32_t *vendor_len) {
  size_t at = prefix;
  if (c->len - at < 4 || lf_u32le(c->data + at) > c->len - at - 4) return 0;
  *vendor_len = lf_u32le(c->data + at);
  *vendor = c->data + at + 4;
  at += 4 + (size_t)*vendor_len;
  if (c->len - at < 4) return 0;
  uint32_t count = lf_u32le(c->data + at);
  at += 4;
  for (uint32_t i = 0; i < count; i++) {
    if (c->len - at < 4 || lf_u32le(c->data + at) > c->len - at - 4) return 0;
    uint32_t len = lf_u32le(c->data + at);
    if (fn) fn(ctx, c->data + at + 4, len);
    at += 4 + (size_t)len;
  }
  return at;
}

static int is_label_comment(const uint8_t *c, uint32_t len) {
  return len >= 5 && !strncasecmp((const char *)c, "aigc=", 5);
}

typedef struct found_ctx {
  lf_scan *s;
  size_t offset;
} found_ctx;

static void scan_comment(void *ctx, const uint8_t *c, uint32_t len) {
  found_ctx *f = ctx;
  if (is_label_comment(c, len)) lf_found_text(f->s, "ogg comment AIGC", f->offset, (const char *)c + 5, len - 5);
}

static void hash_audio_pages(const uint8_t *d, size_t n, size_t at, lf_scan *s) {
  page p;
  while (next_page(d, n, &at, &p, NULL) > 0) {
    lf_hash(s, d + p.offset, 18);              /* capture, version, flags, granule, serial */
    lf_hash(s, d + p.offset + 26, p.len - 26); /* segment table and payload (not seq, not CRC) */
  }
}

static hg_status scan(const uint8_t *d, size_t n, lf_scan *s, hg_error *err) {
  headers h;
  hg_status st = read_headers(d, n, &h, err);
  if (!st) {
    const uint8_t *vendor;
    uint32_t vendor_len;
    found_ctx f = {s, 0};
    if (!each_comment(&h.packet[h.comment], h.prefix, scan_comment, &f, &vendor, &vendor_len)) s->unreadable++;
    for (int i = 0; i < h.count; i++)
      if (i != h.comment) lf_hash(s, h.packet[i].data, h.packet[i].len);
    /* the rest of the file must be pages too; a damaged page is an error, not a shorter hash */
    size_t at = h.audio_at;
    page p;
    int r;
    while ((r = next_page(d, n, &at, &p, err)) > 0) {
    }
    if (r < 0)
      st = HG_ERR_PARSE;
    else
      hash_audio_pages(d, n, h.audio_at, s);
  }
  free_headers(&h);
  return st;
}

/* Ogg's CRC-32: polynomial 0x04C11DB7, not reflected, initial value 0, no final xor. */
typedef struct crc_table {
  uint32_t t[256];
} crc_table;

static void crc_init(crc_table *c) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t r = i << 24;
    for (int k = 0; k < 8; k++)
      r = r & 0x80000000u ? r << 1 ^ 0x04C11DB7u : r << 1;
    c->t[i] = r;
  }
}

static uint32_t ogg_crc(const crc_table *c, const uint8_t *p, size_t n) {
  uint32_t crc = 0;
  for (size_t i = 0; i < n; i++)
    crc = crc << 8 ^ c->t[(crc >> 24 ^ p[i]) & 0xFF];
  return crc;
}

static void set_u32le(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

/* Writes packets as pages of at most 255 segments, starting with sequence number *seq. */
static hg_status paginate(const crc_table *crc, lf_buf *out, const lf_buf *packets, int count, uint32_t serial,
                          uint8_t first_flags, uint32_t *seq) {
  int pk = 0;
  size_t pos = 0; /* in packets[pk] */
  int continued = 0;
  hg_status st = HG_OK;
  while (!st && pk < count) {
    uint8_t lacing[255];
    int nseg = 0, packet_ended = 0;
    size_t start = out->len;
    uint8_t head[27] = {'O', 'g', 'g', 'S', 0, (uint8_t)((continued ? 1 : 0) | (*seq == 0 ? first_flags : 0))};
    st = lf_put(out, head, 27);
    lf_buf body = {0};
    while (!st && pk < count && nseg < 255) {
      size_t left = packets[pk].len - pos, seg = left < 255 ? left : 255;
      lacing[nseg++] = (uint8_t)seg;
      st = lf_put(&body, packets[pk].data + pos, seg);
      pos += seg;
      if (seg < 255) { /* the packet ends here (a packet of a multiple of 255 bytes ends with a 0 segment) */
        pk++;
        pos = 0;
        packet_ended = 1;
        if (pk < count && pk == 1) break; /* the identification header is alone on the first page */
      }
    }
    continued = pk < count && pos > 0;
    if (!st) st = lf_put(out, lacing, (size_t)nseg);
    if (!st) st = lf_put(out, body.data, body.len);
    free(body.data);
    if (st) break;
    uint8_t *h = out->data + start;
    uint64_t granule = packet_ended ? 0 : UINT64_MAX;
    for (int i = 0; i < 8; i++)
      h[6 + i] = (uint8_t)(granule >> (8 * i));
    set_u32le(h + 14, serial);
    set_u32le(h + 18, (*seq)++);
    h[26] = (uint8_t)nseg;
    set_u32le(h + 22, ogg_crc(crc, h, out->len - start));
  }
  return st;
}

typedef struct copy_ctx {
  lf_buf *list;
  uint32_t count;
  hg_status st;
} copy_ctx;

static void copy_comment(void *ctx, const uint8_t *c, uint32_t len) {
  copy_ctx *cc = ctx;
  if (cc->st || is_label_comment(c, len)) return;
  cc->st = lf_put_u32le(cc->list, len);
  if (!cc->st) cc->st = lf_put(cc->list, c, len);
  cc->count++;
}

static hg_status put_label(const uint8_t *d, size_t n, const char *label_json, lf_buf *out, hg_error *err) {
  headers h;
  hg_status st = read_headers(d, n, &h, err);
  if (!st && h.multiplexed)
    st = hg_fail(err, HG_ERR_PARSE, 0, 0, "Ogg file with more than one logical stream: not supported for writing");
  const uint8_t *vendor = NULL;
  uint32_t vendor_len = 0;
  lf_buf list = {0}, comment = {0};
  copy_ctx cc = {&list, 0, HG_OK};
  size_t list_end = 0;
  if (!st && !(list_end = each_comment(&h.packet[h.comment], h.prefix, copy_comment, &cc, &vendor, &vendor_len)))
    st = hg_fail(err, HG_ERR_PARSE, 0, 0, "Ogg comment header is malformed");
  size_t json_len = strlen(label_json);
  if (!st) st = cc.st;
  if (!st) st = lf_put(&comment, h.packet[h.comment].data, h.prefix);
  if (!st) st = lf_put_u32le(&comment, vendor_len);
  if (!st) st = lf_put(&comment, vendor, vendor_len);
  if (!st) st = lf_put_u32le(&comment, cc.count + 1);
  if (!st) st = lf_put(&comment, list.data, list.len);
  if (!st) st = lf_put_u32le(&comment, (uint32_t)(5 + json_len));
  if (!st) st = lf_put(&comment, "AIGC=", 5);
  if (!st) st = lf_put(&comment, label_json, json_len);
  if (!st) /* Vorbis' framing bit, and whatever else followed the list (Opus may carry binary data there) */
    st = lf_put(&comment, h.packet[h.comment].data + list_end, h.packet[h.comment].len - list_end);
  if (!st) {
    lf_buf packets[HEADER_PACKETS_MAX];
    for (int i = 0; i < h.count; i++)
      packets[i] = i == h.comment ? comment : h.packet[i];
    uint32_t seq = 0;
    crc_table crc;
    crc_init(&crc);
    st = paginate(&crc, out, packets, h.count, h.serial, 0x02 /* beginning of stream */, &seq);
    /* the pages after the headers: renumbered, CRC again, payload as it was */
    size_t at = h.audio_at;
    page p;
    while (!st && next_page(d, n, &at, &p, NULL) > 0) {
      size_t start = out->len;
      st = lf_put(out, d + p.offset, p.len);
      if (st) break;
      uint8_t *o = out->data + start;
      set_u32le(o + 18, p.seq - h.header_pages + seq);
      set_u32le(o + 22, 0);
      set_u32le(o + 22, ogg_crc(&crc, o, p.len));
    }
    if (st == HG_ERR_NOMEM) st = hg_fail(err, st, 0, 0, "out of memory");
  }
  free(list.data);
  free(comment.data);
  free_headers(&h);
  return st;
}

const lf_format lf_ogg = {"ogg", sniff, scan, put_label};
