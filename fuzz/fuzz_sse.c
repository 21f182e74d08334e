/* fuzz_sse.c — the upstream event-stream parser (src/gateway/sse.c). The first two bytes choose cut points; the
 * rest is the stream. Fed whole and fed in pieces cut there (inside CRLF pairs too), the parser must report the
 * same events, and no event's data may hold a CR (CR ends a line). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/sse.h"

typedef struct events {
  char *buf;
  size_t len, cap, count;
} events;

static int collect(void *ctx, const char *data, size_t len) {
  events *e = ctx;
  if (memchr(data, '\r', len) || data[len] != 0) abort();
  if (e->len + len + 1 > e->cap) {
    e->cap = (e->len + len + 1) * 2;
    e->buf = realloc(e->buf, e->cap);
    if (!e->buf) abort();
  }
  memcpy(e->buf + e->len, data, len);
  e->len += len;
  e->buf[e->len++] = 0; /* a separator no event can hold on its own... */
  e->count++;           /* ...and the count tells "a" "" from "a\0" */
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  unsigned seed = data[0] | (unsigned)data[1] << 8;
  const char *s = (const char *)data + 2;
  size_t n = size - 2;

  events whole = {0}, cut = {0};
  sse_parser a = {0}, b = {0};
  int ra = sse_feed(&a, s, n, collect, &whole);

  int rb = 0;
  for (size_t i = 0; i < n && rb == 0;) {
    seed = seed * 1103515245u + 12345u;
    size_t piece = 1 + (seed >> 16) % 7;
    if (piece > n - i) piece = n - i;
    rb = sse_feed(&b, s + i, piece, collect, &cut);
    if (rb == 0 && (seed & 0x100)) rb = sse_feed(&b, "", 0, collect, &cut); /* empty feeds change nothing */
    i += piece;
  }
  if (ra != rb || whole.count != cut.count || whole.len != cut.len ||
      (whole.len && memcmp(whole.buf, cut.buf, whole.len)))
    abort();
  sse_free(&a);
  sse_free(&b);
  free(whole.buf);
  free(cut.buf);
  return 0;
}
