/* httpguard.h — a strict reader of HTTP/1.1 request framing (request line, header lines, Content-Length or chunked
 * body), run over a client's bytes before libevent's evhttp parses them. evhttp is lenient where a front proxy may
 * be strict or read otherwise (two Content-Lengths, `+65`, `Transfer-Encoding : chunked`, NUL bytes, folded lines),
 * which is how requests are smuggled past a proxy; the guard refuses such a head before evhttp sees its last byte,
 * and tells the caller where each request's head and body start and end, so that their deadlines are totals. */
#ifndef HG_HTTPGUARD_H
#define HG_HTTPGUARD_H

#include <stddef.h>
#include <stdint.h>

typedef enum guard_event {
  GUARD_MORE,         /* every byte given was read; nothing else happened */
  GUARD_START,        /* the first byte of a request was read (its head deadline starts) */
  GUARD_HEAD_DONE,    /* the head ended; http_guard_in_body says whether a body follows */
  GUARD_REQUEST_DONE, /* the body ended */
  GUARD_BAD,          /* the request is refused (400); g->error says why; nothing more is read */
} guard_event;

typedef struct http_guard {
  int state, in_trailer, http10;
  char name[32]; /* the header being read, lower case; longer names are marked, they matter to no check */
  size_t name_len;
  char value[64]; /* its value (leading blanks skipped) as far as a check needs it */
  size_t value_len;
  int value_long;
  int content_lengths, transfer_encodings, authorizations, hosts;
  uint64_t content_length, remaining;
  unsigned hex_digits;
  char tail[8]; /* the last bytes of the request line: its HTTP version */
  const char *error;
} http_guard;

void http_guard_init(http_guard *g);
/* Reads from p up to and including the byte at which the next event happens; returns how many bytes it read and
 * sets *ev. The bytes read may be passed on to the HTTP parser; after GUARD_BAD the byte that made the request bad is
 * not counted, and every later call reads nothing. */
size_t http_guard_feed(http_guard *g, const unsigned char *p, size_t len, guard_event *ev);
/* 1 while a body is being read (after GUARD_HEAD_DONE, until GUARD_REQUEST_DONE). */
int http_guard_in_body(const http_guard *g);

#endif
