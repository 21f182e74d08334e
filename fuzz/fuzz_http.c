/* fuzz_http.c — the request framing the gateway reads before evhttp (src/gateway/httpguard.c): heads, headers,
 * Content-Length and chunked bodies, trailers, pipelined requests. The first two bytes choose cut points; the rest
 * is what a client sends. Fed whole and fed in pieces, the guard must report the same events at the same offsets,
 * never read past what it was given, never read on after refusing, and keep its fixed-size fields in bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/httpguard.h"

#define MAX_EVENTS 4096

typedef struct trace {
  size_t offset[MAX_EVENTS];
  int event[MAX_EVENTS];
  size_t count;
  const char *error;
} trace;

static void run(const uint8_t *s, size_t n, unsigned seed, int whole, trace *t) {
  http_guard g;
  http_guard_init(&g);
  size_t at = 0;
  memset(t, 0, sizeof *t);
  while (at < n) {
    size_t piece = n - at;
    if (!whole) {
      seed = seed * 1103515245u + 12345u;
      piece = 1 + (seed >> 16) % 9;
      if (piece > n - at) piece = n - at;
    }
    size_t end = at + piece;
    while (at < end) {
      guard_event ev;
      size_t used = http_guard_feed(&g, s + at, end - at, &ev);
      if (used > end - at || g.name_len > sizeof g.name + 1 || g.value_len > sizeof g.value) abort();
      at += used;
      if (ev == GUARD_MORE) {
        if (at != end) abort(); /* MORE means every byte was read */
        continue;
      }
      if (t->count < MAX_EVENTS) t->offset[t->count] = at, t->event[t->count++] = (int)ev;
      if (ev == GUARD_HEAD_DONE && g.error) abort();
      if (ev == GUARD_BAD) {
        if (!g.error) abort();
        guard_event again;
        if (http_guard_feed(&g, s + at, n - at, &again) != 0 || again != GUARD_BAD) abort();
        t->error = g.error;
        return;
      }
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  unsigned seed = data[0] | (unsigned)data[1] << 8;
  static trace whole, cut;
  run(data + 2, size - 2, seed, 1, &whole);
  run(data + 2, size - 2, seed, 0, &cut);
  if (whole.count != cut.count || whole.error != cut.error ||
      memcmp(whole.offset, cut.offset, whole.count * sizeof *whole.offset) ||
      memcmp(whole.event, cut.event, whole.count * sizeof *whole.event))
    abort();
  return 0;
}
