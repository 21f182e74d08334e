/* offload.[ch] — admin work that must never run on an event loop (compiling an uploaded lexicon, loading a policy
 * with its lexicon and classifier model, a reload): it runs on a thread of its own, and its answer is sent from
 * the worker's loop when it is done, so that one large upload never stalls the requests of that worker.
 *
 * Contract: offload() takes the request; work(arg, &reply) runs on the new thread and fills the reply (a status and
 * a JSON body; reply_error shapes OpenAI's error object); then, on the worker's loop, the reply is sent unless the
 * client went away meanwhile (its connection's close is watched), the request is counted in the metrics (metric, the
 * status sent or 499, the time since t0), and free_arg(arg) is called either way. Returns -1
 * (nothing taken, nothing called) when the thread cannot start: the caller answers 503 itself. */
#ifndef HG_GATEWAY_OFFLOAD_H
#define HG_GATEWAY_OFFLOAD_H

#include "gateway.h"
#include "router.h"

typedef struct reply {
  int status;
  json_t *body;
  /* a body that is not JSON (audio): sent instead of body when set; freed with the reply */
  uint8_t *bytes;
  size_t len;
  char content_type[64];
  const char *verdict; /* a static name for the access line; NULL when the route does not moderate */
  struct {
    char name[40], value[200];
  } headers[4]; /* extra response headers */
  unsigned nheaders;
} reply;

void reply_json(reply *r, int status, json_t *body);
void reply_error(reply *r, int status, const char *type, const char *message, const char *code);
/* bytes (malloc-ed) are taken */
void reply_bytes(reply *r, int status, const char *content_type, uint8_t *bytes, size_t len);
void reply_header(reply *r, const char *name, const char *value);

typedef void (*offload_work)(void *arg, reply *out);
int offload(worker *w, struct evhttp_request *req, int metric, double t0, offload_work work, void *arg,
            void (*free_arg)(void *));


/* Work of a request that is not the whole request (the OCR of a chat prompt's images): work(arg) runs on a thread
 * of its own, then then(arg) on the worker's loop. The caller keeps its request alive until then runs (a client
 * that leaves meanwhile is then's business). A draining worker waits for it. -1 (nothing called) when the thread
 * cannot start. */
int run_then(worker *w, void (*work)(void *arg), void (*then)(void *arg), void *arg);

#endif
