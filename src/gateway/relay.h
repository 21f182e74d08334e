/* relay.h — the relay stage of a completion request: the model's answer read as OpenAI's protocol has it. A
 * streamed answer's bytes (SSE, sse.h) event by event: its text, its tool calls assembled from their deltas (a call
 * is held until the next one starts or the stream ends, so it is judged whole), the finish reason, the usage; a
 * whole answer's body; and what went wrong, in words for the client and the record. Of the upstream's answer only
 * what carries no text of its choosing is passed on: the finish reasons OpenAI has, the usage counters by name, the
 * model the client asked for (what the upstream called it is recorded).
 *
 * No sockets and no HTTP: bytes in, the answer's parts out through a relay_sink (chat.c moderates the text and
 * judges each call: moderation.h), and an error the caller sends. chat.c owns the upstream call (upstream.c), its
 * timers and the client. tests/unit/test_relay.c feeds it event streams cut at every byte. */
#ifndef HG_GATEWAY_RELAY_H
#define HG_GATEWAY_RELAY_H

#include <curl/curl.h>
#include <jansson.h>
#include <stddef.h>

#include "moderation.h"
#include "sse.h"
#include "stream_chunk.h"

/* Where the parts of a streamed answer go. */
typedef struct relay_sink {
  void (*content)(void *ctx, const char *s, size_t n);           /* new text of the answer */
  json_t *(*call)(void *ctx, const tool_call *tc, int position); /* a complete call, judged; NULL: it blocks */
  int (*stopped)(void *ctx); /* the answer is refused or the request over: nothing more is read */
  void *ctx;
} relay_sink;

typedef struct relay {
  int chat;               /* chat completions (messages, deltas) or completions (text) */
  const char *model;      /* the model the client asked for (borrowed) */
  json_t *detail;         /* the record's (borrowed): upstream_model, upstream_finish_reason */
  long status;            /* the upstream's HTTP status (0: never answered) */
  char error[512];        /* why the answer is broken, "" while it is not: the record's upstream_error */
  char finish_reason[32]; /* the upstream's, as passed on ("" until it sends one) */
  json_t *usage;          /* OpenAI's counters as the upstream reported them (NULL: none yet) */
  /* a streamed answer */
  sse_parser sse;
  stream_chunk events; /* its events' fields, read without a tree when they are plain (zeroed: ready) */
  char *head;          /* its first bytes, for the message when the upstream answers with an error instead */
  size_t head_len, head_cap;
  int saw_done; /* the [DONE] event came */
  tool_call open_call;
  int call_open, last_call_index;
  size_t call_bytes;
  json_t *calls_out; /* the complete calls, judged, as the client gets them */
} relay;

/* A whole answer, parsed: its parts borrowed from root. */
typedef struct relay_answer {
  json_t *root;
  const char *text; /* the content ("" when null) */
  size_t len;
  json_t *tool_calls, *function_call; /* shaped (moderation_calls_shaped) when has_calls */
  int has_calls;
  const char *finish_reason; /* as passed on */
} relay_answer;

void relay_init(relay *r, int chat, const char *model, json_t *detail);
void relay_free(relay *r);

/* Bytes of a streamed answer. 0: read on; 1: stop reading (the sink stopped it, or the stream is broken and
 * r->error says why) — the caller aborts the call unless the request is over. */
int relay_stream_bytes(relay *r, const char *data, size_t len, const relay_sink *sink);

/* The stream ended normally: its last call is complete and goes to the sink. */
void relay_stream_last_call(relay *r, const relay_sink *sink);

/* A streamed answer's call ended with nothing sent to the client yet and it failed (result, or an HTTP status not
 * 200): the message for the client in msg (in r->error too, cut at 500 bytes) and the status for it: 429 as the
 * upstream said, 504 on a timeout, 502. */
int relay_stream_failed(relay *r, CURLcode result, long status, const char *error, char msg[512]);

/* A streamed answer that had started ended: NULL when it is complete, else why it is not (in r->error). */
const char *relay_stream_ended(relay *r, CURLcode result, const char *error);

/* A whole answer's body (NULL with result not CURLE_OK). 0 with *a (relay_answer_free), the usage and the
 * upstream's model noted; else the status for the client with its message in msg (as relay_stream_failed). */
int relay_whole(relay *r, const char *body, size_t len, CURLcode result, long status, const char *error,
                relay_answer *a, char msg[512]);
void relay_answer_free(relay_answer *a);

#endif
