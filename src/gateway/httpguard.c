/* httpguard.c — the strict reader of request framing described in httpguard.h. One byte at a time through the head
 * (heads are small and every byte must be judged), in runs through bodies. It keeps no more than one header's name
 * and the first bytes of its value, so its memory is fixed whatever a client sends; the head's total size is left
 * to evhttp's limit (limits.max_header_bytes), the body's to limits.max_body_bytes. */
#include "httpguard.h"

#include <string.h>

enum {
  S_IDLE,        /* between requests: empty lines are skipped (RFC 9112 2.2) */
  S_REQLINE,     /* the request line */
  S_REQLINE_CR,  /* its CR: LF must follow */
  S_LINE_START,  /* a header line, or the empty line that ends the head */
  S_NAME,        /* a header's name */
  S_VALUE,       /* its value */
  S_VALUE_CR,    /* CR after a value: LF must follow */
  S_END_CR,      /* CR of the empty line */
  S_BODY,        /* Content-Length bytes */
  S_CHUNK_SIZE,  /* hex digits of a chunk's size */
  S_CHUNK_EXT,   /* ;extensions after it, skipped */
  S_CHUNK_LF,    /* LF after the size line's CR */
  S_CHUNK_DATA,  /* the chunk's bytes */
  S_CHUNK_CR,    /* CR after them */
  S_CHUNK_DLF,   /* LF after them */
  S_BAD,
};

void http_guard_init(http_guard *g) { memset(g, 0, sizeof *g); }

int http_guard_in_body(const http_guard *g) { return g->state >= S_BODY && g->state < S_BAD; }

static int is_tchar(unsigned char c) { /* RFC 9110 5.6.2: the characters of a token (a header's name) */
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int bad(http_guard *g, const char *why) {
  g->state = S_BAD;
  g->error = why;
  return 0;
}

static int value_is(const http_guard *g, const char *want) {
  size_t n = strlen(want);
  if (g->value_len != n || g->value_long) return 0;
  for (size_t i = 0; i < n; i++)
    if ((g->value[i] | 0x20) != want[i]) return 0;
  return 1;
}

/* A header line has ended: the headers that decide where a request ends (and who sends it) must be unambiguous. */
static int header_done(http_guard *g) {
  while (g->value_len && (g->value[g->value_len - 1] == ' ' || g->value[g->value_len - 1] == '\t'))
    g->value_len--;
  if (g->in_trailer) return 1; /* trailers are passed on, never obeyed */
  if (g->name_len == 14 && !memcmp(g->name, "content-length", 14)) {
    uint64_t v = 0;
    if (!g->value_len || g->value_len > 18 || g->value_long) return bad(g, "Content-Length is not a number");
    for (size_t i = 0; i < g->value_len; i++) {
      if (g->value[i] < '0' || g->value[i] > '9') return bad(g, "Content-Length is not a number");
      v = v * 10 + (uint64_t)(g->value[i] - '0');
    }
    if (g->content_lengths++ && v != g->content_length) return bad(g, "two different Content-Length headers");
    g->content_length = v;
  } else if (g->name_len == 17 && !memcmp(g->name, "transfer-encoding", 17)) {
    if (g->transfer_encodings++) return bad(g, "more than one Transfer-Encoding header");
    if (!value_is(g, "chunked")) return bad(g, "only Transfer-Encoding: chunked is accepted");
  } else if (g->name_len == 13 && !memcmp(g->name, "authorization", 13)) {
    if (g->authorizations++) return bad(g, "more than one Authorization header");
  } else if (g->name_len == 4 && !memcmp(g->name, "host", 4)) {
    if (g->hosts++) return bad(g, "more than one Host header");
  }
  return 1;
}

/* The empty line: the head (or the trailer) is complete. Returns the event. */
static guard_event head_done(http_guard *g) {
  if (g->in_trailer) {
    g->state = S_IDLE;
    return GUARD_REQUEST_DONE;
  }
  if (g->transfer_encodings && g->content_lengths) {
    bad(g, "both Content-Length and Transfer-Encoding");
    return GUARD_BAD;
  }
  if (g->transfer_encodings && g->http10) {
    bad(g, "Transfer-Encoding in an HTTP/1.0 request");
    return GUARD_BAD;
  }
  if (g->transfer_encodings) {
    g->state = S_CHUNK_SIZE;
    g->hex_digits = 0;
    g->remaining = 0;
  } else if (g->content_length) {
    g->state = S_BODY;
    g->remaining = g->content_length;
  } else {
    g->state = S_IDLE;
  }
  return GUARD_HEAD_DONE;
}

static void start_request(http_guard *g) {
  memset(g, 0, sizeof *g);
  g->state = S_REQLINE;
}

size_t http_guard_feed(http_guard *g, const unsigned char *p, size_t len, guard_event *ev) {
  size_t i = 0;
  *ev = GUARD_MORE;
  while (i < len) {
    unsigned char c = p[i];
    switch (g->state) {
    case S_BAD: *ev = GUARD_BAD; return i;
    case S_IDLE:
      if (c == '\r' || c == '\n') break;
      start_request(g);
      g->tail[7] = (char)c;
      *ev = GUARD_START;
      return i + 1;
    case S_REQLINE:
      if (c == '\r') {
        g->http10 = !memcmp(g->tail, "HTTP/1.0", 8);
        g->state = S_REQLINE_CR;
      } else if (c < 0x20 || c == 0x7f) {
        bad(g, "a control character in the request line");
      } else {
        memmove(g->tail, g->tail + 1, 7);
        g->tail[7] = (char)c;
      }
      break;
    case S_REQLINE_CR:
    case S_VALUE_CR:
      if (c != '\n') {
        bad(g, "a CR not followed by LF in the request head");
      } else if (g->state == S_VALUE_CR && !header_done(g)) {
        break;
      } else {
        g->state = S_LINE_START;
      }
      break;
    case S_LINE_START:
      if (c == '\r') {
        g->state = S_END_CR;
      } else if (c == ' ' || c == '\t') {
        bad(g, "a folded header line");
      } else if (!is_tchar(c)) {
        bad(g, "an invalid character in a header name");
      } else {
        g->name[0] = (char)(c | (c >= 'A' && c <= 'Z' ? 0x20 : 0));
        g->name_len = 1;
        g->value_len = 0;
        g->value_long = 0;
        g->state = S_NAME;
      }
      break;
    case S_NAME:
      if (c == ':') {
        g->state = S_VALUE;
      } else if (!is_tchar(c)) {
        bad(g, c == ' ' || c == '\t' ? "a space before the colon of a header" : "an invalid character in a header name");
      } else if (g->name_len < sizeof g->name) {
        g->name[g->name_len++] = (char)(c | (c >= 'A' && c <= 'Z' ? 0x20 : 0));
      } else {
        g->name_len = sizeof g->name + 1; /* no header a check reads is this long */
      }
      break;
    case S_VALUE:
      if (c == '\r') {
        g->state = S_VALUE_CR;
      } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
        bad(g, c ? "a control character in a header value" : "a NUL byte in a header value");
      } else if (g->value_len || (c != ' ' && c != '\t')) {
        if (g->value_len < sizeof g->value)
          g->value[g->value_len++] = (char)c;
        else
          g->value_long = 1;
      }
      break;
    case S_END_CR:
      if (c != '\n') {
        bad(g, "a CR not followed by LF in the request head");
        break;
      }
      *ev = head_done(g);
      return *ev == GUARD_BAD ? i : i + 1;
    case S_BODY: {
      size_t take = len - i < g->remaining ? len - i : (size_t)g->remaining;
      g->remaining -= take;
      i += take;
      if (!g->remaining) {
        g->state = S_IDLE;
        *ev = GUARD_REQUEST_DONE;
        return i;
      }
      continue;
    }
    case S_CHUNK_SIZE:
      if (hex_value(c) >= 0) {
        if (++g->hex_digits > 15) {
          bad(g, "a chunk size too large");
          break;
        }
        g->remaining = g->remaining * 16 + (uint64_t)hex_value(c);
      } else if (!g->hex_digits) {
        bad(g, "a chunk size that is not hexadecimal");
      } else if (c == ';') {
        g->state = S_CHUNK_EXT;
      } else if (c == '\r') {
        g->state = S_CHUNK_LF;
      } else {
        bad(g, "a chunk size that is not hexadecimal");
      }
      break;
    case S_CHUNK_EXT:
      if (c == '\r')
        g->state = S_CHUNK_LF;
      else if ((c < 0x20 && c != '\t') || c == 0x7f)
        bad(g, "a control character in a chunk extension");
      break;
    case S_CHUNK_LF:
      if (c != '\n') {
        bad(g, "a CR not followed by LF in a chunked body");
      } else if (g->remaining) {
        g->state = S_CHUNK_DATA;
      } else { /* the last chunk: trailer lines, then the empty line */
        g->in_trailer = 1;
        g->state = S_LINE_START;
      }
      break;
    case S_CHUNK_DATA: {
      size_t take = len - i < g->remaining ? len - i : (size_t)g->remaining;
      g->remaining -= take;
      i += take;
      if (!g->remaining) g->state = S_CHUNK_CR;
      continue;
    }
    case S_CHUNK_CR:
      if (c == '\r')
        g->state = S_CHUNK_DLF;
      else
        bad(g, "a chunk not followed by CRLF");
      break;
    case S_CHUNK_DLF:
      if (c == '\n') {
        g->state = S_CHUNK_SIZE;
        g->hex_digits = 0;
      } else {
        bad(g, "a chunk not followed by CRLF");
      }
      break;
    }
    if (g->state == S_BAD) {
      *ev = GUARD_BAD;
      return i;
    }
    i++;
  }
  return i;
}
