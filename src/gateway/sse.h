/* sse.h — an incremental parser for the event streams an OpenAI-compatible server sends (text/event-stream, the
 * WHATWG "server-sent events" format): bytes arrive cut anywhere, lines end in CRLF, LF or CR, an empty line ends
 * an event, and the event's data is its "data:" lines joined by LF. Comments and other fields are skipped. The
 * parser keeps only the line in progress and the data of the event in progress, each bounded, and scans every
 * byte once however the stream is cut. */
#ifndef HG_SSE_H
#define HG_SSE_H

#include <stddef.h>

typedef struct sse_parser {
  size_t limit; /* most bytes of one line or of one event's data; 0 = 16 MiB */
  char *line;   /* the line in progress */
  size_t line_len, line_cap;
  char *data; /* the data of the event in progress */
  size_t data_len, data_cap;
  int has_data; /* the event in progress has a data field (possibly empty) */
  int after_cr; /* the last byte was CR: a LF right after it belongs to the same line end */
  int failed;   /* a limit was passed or memory ran out: the stream cannot be read on */
} sse_parser;

/* Called for each complete event with data; data is NUL-terminated at data[len] and valid only during the call.
 * Return non-zero to stop: sse_feed returns at once with the rest of the input unread. */
typedef int (*sse_event_fn)(void *ctx, const char *data, size_t len);

/* Feeds bytes. Returns 0 when all were read, 1 when a callback stopped it, -1 when the stream broke a limit or
 * memory ran out (then every later call returns -1). */
int sse_feed(sse_parser *p, const char *bytes, size_t n, sse_event_fn fn, void *ctx);
void sse_free(sse_parser *p); /* frees the buffers; the parser may be fed again from a clean state */

#endif
