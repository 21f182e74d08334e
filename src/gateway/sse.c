/* sse.c — the event-stream parser of sse.h. */
#include "sse.h"

#include <stdlib.h>
#include <string.h>

#define SSE_DEFAULT_LIMIT (16u << 20)

static int grow(char **buf, size_t *cap, size_t need, size_t limit) {
  if (need + 1 <= *cap) return 0;
  if (need > limit) return -1;
  size_t c = *cap ? *cap : 256;
  while (c < need + 1)
    c *= 2;
  char *b = realloc(*buf, c);
  if (!b) return -1;
  *buf = b;
  *cap = c;
  return 0;
}

/* One complete line (without its end). Returns what the callback returned, or -1. */
static int take_line(sse_parser *p, const char *line, size_t len, sse_event_fn fn, void *ctx) {
  size_t limit = p->limit ? p->limit : SSE_DEFAULT_LIMIT;
  if (len == 0) { /* the end of an event */
    if (!p->has_data) return 0;
    p->has_data = 0;
    size_t dl = p->data_len;
    p->data_len = 0;
    if (grow(&p->data, &p->data_cap, dl, limit)) return -1;
    p->data[dl] = 0;
    return fn(ctx, p->data, dl) ? 1 : 0;
  }
  if (line[0] == ':') return 0; /* a comment */
  const char *colon = memchr(line, ':', len);
  size_t name_len = colon ? (size_t)(colon - line) : len;
  if (name_len != 4 || memcmp(line, "data", 4)) return 0; /* event, id, retry and unknown fields: not used */
  const char *value = colon ? colon + 1 : line + len;
  if (value < line + len && *value == ' ') value++;
  size_t vlen = (size_t)(line + len - value);
  size_t need = p->data_len + (p->has_data ? 1 : 0) + vlen;
  if (grow(&p->data, &p->data_cap, need, limit)) return -1;
  if (p->has_data) p->data[p->data_len++] = '\n';
  memcpy(p->data + p->data_len, value, vlen);
  p->data_len += vlen;
  p->has_data = 1;
  return 0;
}

/* The offset of the first CR or LF in s, or n: two library scans (many bytes at a time), the CR one only as far as
 * the LF (servers end lines with LF; a CR is rare). */
static size_t line_end(const char *s, size_t n) {
  const char *lf = memchr(s, '\n', n);
  size_t upto = lf ? (size_t)(lf - s) : n;
  const char *cr = memchr(s, '\r', upto);
  return cr ? (size_t)(cr - s) : upto;
}

int sse_feed(sse_parser *p, const char *bytes, size_t n, sse_event_fn fn, void *ctx) {
  if (p->failed) return -1;
  size_t limit = p->limit ? p->limit : SSE_DEFAULT_LIMIT;
  size_t i = 0;
  if (p->after_cr && n && bytes[0] == '\n') i = 1; /* the LF of a CRLF cut between two feeds */
  if (n) p->after_cr = 0;
  while (i < n) {
    /* the next line end in this input */
    size_t j = line_end(bytes + i, n - i) + i;
    if (j == n) { /* no end yet: keep the piece */
      if (grow(&p->line, &p->line_cap, p->line_len + (n - i), limit)) return p->failed = 1, -1;
      memcpy(p->line + p->line_len, bytes + i, n - i);
      p->line_len += n - i;
      return 0;
    }
    int r;
    if (p->line_len) { /* the line began in an earlier feed */
      if (grow(&p->line, &p->line_cap, p->line_len + (j - i), limit)) return p->failed = 1, -1;
      memcpy(p->line + p->line_len, bytes + i, j - i);
      size_t ll = p->line_len + (j - i);
      p->line_len = 0;
      r = take_line(p, p->line, ll, fn, ctx);
    } else {
      r = take_line(p, bytes + i, j - i, fn, ctx);
    }
    if (r < 0) return p->failed = 1, -1;
    if (bytes[j] == '\r') {
      if (j + 1 < n && bytes[j + 1] == '\n')
        j++;
      else if (j + 1 == n)
        p->after_cr = 1;
    }
    i = j + 1;
    if (r) return 1;
  }
  return 0;
}

void sse_free(sse_parser *p) {
  size_t limit = p->limit;
  free(p->line);
  free(p->data);
  memset(p, 0, sizeof *p);
  p->limit = limit;
}
