/* offload.c — admin work on a thread of its own, answered from the worker's loop (offload.h has the contract). */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "offload.h"
#include "router.h"

typedef struct job {
  worker *w;
  struct evhttp_request *req; /* NULL once the client is gone */
  struct evhttp_connection *conn;
  offload_work work;
  void *arg;
  void (*free_arg)(void *);
  reply r;
  route_trace trace; /* the request's, recorded with the status sent (499 when the client went away) */
} job;

void reply_json(reply *r, int status, json_t *body) {
  json_decref(r->body);
  r->status = status;
  r->body = body;
}

void reply_error(reply *r, int status, const char *type, const char *message, const char *code) {
  reply_json(r, status,
             json_pack("{s:{s:s, s:s, s:n, s:o}}", "error", "message", message, "type", type, "param", "code",
                       code ? json_string(code) : json_null()));
}

void reply_bytes(reply *r, int status, const char *content_type, uint8_t *bytes, size_t len) {
  json_decref(r->body);
  r->body = NULL;
  free(r->bytes);
  r->status = status;
  r->bytes = bytes;
  r->len = len;
  snprintf(r->content_type, sizeof r->content_type, "%s", content_type);
}

void reply_header(reply *r, const char *name, const char *value) {
  if (r->nheaders == sizeof r->headers / sizeof r->headers[0]) return;
  snprintf(r->headers[r->nheaders].name, sizeof r->headers[0].name, "%s", name);
  snprintf(r->headers[r->nheaders].value, sizeof r->headers[0].value, "%s", value);
  r->nheaders++;
}

static void on_gone(struct evhttp_connection *conn, void *arg) {
  (void)conn;
  job *j = arg;
  struct evhttp_request *req = j->req;
  j->req = NULL;
  j->conn = NULL;
  /* a request still in progress is detached from its dying connection and left to us (as in chat.c) */
  if (req && !evhttp_request_get_connection(req)) evhttp_request_free(req);
}

/* On the worker's loop: the answer, if anyone still waits for it. */
static void job_then(void *arg) {
  job *j = arg;
  if (j->conn) evhttp_connection_set_closecb(j->conn, NULL, NULL);
  int status = 499;
  if (j->req) {
    struct evkeyvalq *h = evhttp_request_get_output_headers(j->req);
    for (unsigned i = 0; i < j->r.nheaders; i++)
      evhttp_add_header(h, j->r.headers[i].name, j->r.headers[i].value);
    if (j->r.bytes) {
      struct evbuffer *b = evbuffer_new();
      if (b) evbuffer_add(b, j->r.bytes, j->r.len);
      evhttp_add_header(h, "Content-Type", j->r.content_type);
      evhttp_send_reply(j->req, j->r.status, http_reason(j->r.status), b);
      if (b) evbuffer_free(b);
      status = last_status = j->r.status;
    } else {
      if (!j->r.body) reply_error(&j->r, 500, "server_error", "the work ended without an answer", NULL);
      send_json(j->req, j->r.status, j->r.body);
      status = last_status;
      j->r.body = NULL;
    }
  }
  route_finish(j->w->gw, &j->trace, status, j->r.verdict, -1);
  json_decref(j->r.body);
  free(j->r.bytes);
  if (j->free_arg) j->free_arg(j->arg);
  free(j);
}

static void job_work(void *arg) {
  job *j = arg;
  j->work(j->arg, &j->r);
}

int offload(worker *w, struct evhttp_request *req, int metric, double t0, offload_work work, void *arg,
            void (*free_arg)(void *)) {
  job *j = calloc(1, sizeof *j);
  if (!j) return -1;
  j->w = w;
  route_trace_of(NULL, &j->trace); /* offload runs inside a handler, while its request is dispatched */
  j->trace.metric = metric;
  j->trace.t0 = t0;
  j->req = req;
  j->conn = evhttp_request_get_connection(req);
  j->work = work;
  j->arg = arg;
  j->free_arg = free_arg;
  if (run_then(w, job_work, job_then, j)) {
    free(j);
    return -1;
  }
  if (j->conn) evhttp_connection_set_closecb(j->conn, on_gone, j);
  return 0;
}

typedef struct task {
  worker *w;
  struct event *done;
  void (*work)(void *), (*then)(void *);
  void *arg;
} task;

static void on_task_done(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  task *t = arg;
  worker *w = t->w;
  t->then(t->arg);
  event_free(t->done);
  w->active--;
  free(t);
}

static void *run_task(void *arg) {
  task *t = arg;
  worker *w = t->w;
  t->work(t->arg);
  event_active(t->done, EV_TIMEOUT, 0);
  atomic_fetch_sub(&w->jobs, 1);
  return NULL;
}

int run_then(worker *w, void (*work)(void *arg), void (*then)(void *arg), void *arg) {
  task *t = calloc(1, sizeof *t);
  if (!t) return -1;
  *t = (task){w, event_new(w->base, -1, 0, on_task_done, t), work, then, arg};
  atomic_fetch_add(&w->jobs, 1);
  pthread_t th;
  pthread_attr_t attr;
  int ok = t->done && !pthread_attr_init(&attr);
  if (ok) {
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    ok = !pthread_create(&th, &attr, run_task, t);
    pthread_attr_destroy(&attr);
  }
  if (!ok) {
    atomic_fetch_sub(&w->jobs, 1);
    if (t->done) event_free(t->done);
    free(t);
    return -1;
  }
  w->active++;
  return 0;
}
