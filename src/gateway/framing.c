/* framing.c — strict framing and total deadlines for requests, beside evhttp (framing.h has the design). */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/clock.h"
#include "base/mix.h"
#include "framing.h"
#include "httpguard.h"

enum phase { P_IDLE, P_HEAD, P_BODY };

/* One connection: its bufferevent (referenced), the strict reader, the deadline of the request being read. */
typedef struct conn_state {
  struct bufferevent *bev;
  const hg_config *cfg; /* the gateway's, as started (limits are not reloaded) */
  http_guard g;
  enum phase phase;
  int64_t deadline_ms; /* monotonic; while phase is not idle */
  const char *refused; /* why the reader refused the request (a static string), or NULL */
  int timed_out;
} conn_state;

/* The worker's connections, by bufferevent: open addressing (linear probing, tombstones), grown at 1/2 load. */
struct framing {
  worker *w;
  conn_state **slots;
  size_t cap, used, live;
};
#define TOMBSTONE ((conn_state *)1)

static size_t hash_ptr(const void *p, size_t cap) { return (size_t)hg_mix64((uint64_t)(uintptr_t)p) & (cap - 1); }

static int table_put(framing *f, conn_state *s);

/* Rebuilds the table at cap slots (a power of two above twice the live entries), dropping tombstones. */
static int table_rehash(framing *f, size_t cap) {
  while (f->live * 2 >= cap)
    cap *= 2;
  conn_state **old = f->slots;
  size_t oldcap = f->cap;
  f->slots = calloc(cap, sizeof *f->slots);
  if (!f->slots) {
    f->slots = old;
    return -1;
  }
  f->cap = cap;
  f->used = f->live = 0;
  for (size_t i = 0; i < oldcap; i++)
    if (old[i] && old[i] != TOMBSTONE) table_put(f, old[i]);
  free(old);
  return 0;
}

static int table_put(framing *f, conn_state *s) {
  if ((f->used + 1) * 2 > f->cap && table_rehash(f, f->cap ? f->cap * 2 : 64)) return -1;
  size_t i = hash_ptr(s->bev, f->cap);
  while (f->slots[i] && f->slots[i] != TOMBSTONE)
    i = (i + 1) & (f->cap - 1);
  if (!f->slots[i]) f->used++;
  f->slots[i] = s;
  f->live++;
  return 0;
}

static conn_state *table_get(framing *f, const struct bufferevent *bev, size_t *at) {
  if (!f->cap || !bev) return NULL;
  for (size_t i = hash_ptr(bev, f->cap), n = 0; f->slots[i] && n < f->cap; i = (i + 1) & (f->cap - 1), n++)
    if (f->slots[i] != TOMBSTONE && f->slots[i]->bev == bev) {
      if (at) *at = i;
      return f->slots[i];
    }
  return NULL;
}

static void on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg);

/* Lets a connection go: the callback off its input, the reference dropped (the socket closes if evhttp is done). */
static void release_state(framing *f, size_t at) {
  conn_state *s = f->slots[at];
  f->slots[at] = TOMBSTONE;
  f->live--;
  evbuffer_remove_cb(bufferevent_get_input(s->bev), on_input, s);
  bufferevent_decref(s->bev);
  free(s);
}

/* ---- bytes as they arrive ---- */

static void feed(conn_state *s, unsigned char *p, size_t n, const hg_config *cfg) {
  while (n && !s->refused) {
    int head = s->phase != P_BODY && !http_guard_in_body(&s->g);
    guard_event ev;
    size_t used = http_guard_feed(&s->g, p, n, &ev);
    /* a NUL in a head: evhttp would cut the value there; 0x01 is refused as NUL is. Only the head's bytes: the
     * guard reads up to the event, so a body that arrives with its head (an uploaded file) is left as it is */
    if (head)
      for (size_t i = 0; i < used; i++)
        if (!p[i]) p[i] = 0x01;
    switch (ev) {
    case GUARD_START:
      s->phase = P_HEAD;
      s->deadline_ms = hg_clock_mono_ms() + cfg->header_timeout_ms;
      break;
    case GUARD_HEAD_DONE:
      if (http_guard_in_body(&s->g)) {
        s->phase = P_BODY;
        s->deadline_ms = hg_clock_mono_ms() + cfg->body_timeout_ms;
      } else {
        s->phase = P_IDLE;
      }
      break;
    case GUARD_REQUEST_DONE: s->phase = P_IDLE; break;
    case GUARD_BAD: s->refused = s->g.error ? s->g.error : "the request's framing is not valid HTTP/1.1"; return;
    case GUARD_MORE: break;
    }
    p += used;
    n -= used;
    if (!used && ev == GUARD_MORE) return;
  }
}

/* New bytes in a connection's input, before evhttp reads them. */
static void on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg) {
  conn_state *s = arg;
  if (!info->n_added || s->refused) return;
  struct evbuffer_ptr at;
  if (evbuffer_ptr_set(buf, &at, info->orig_size, EVBUFFER_PTR_SET)) return;
  struct evbuffer_iovec v[16];
  size_t left = info->n_added;
  while (left && !s->refused) {
    int n = evbuffer_peek(buf, (ev_ssize_t)left, &at, v, 16);
    if (n <= 0) return;
    size_t done = 0;
    for (int i = 0; i < n && i < 16 && left; i++) {
      size_t len = v[i].iov_len < left ? v[i].iov_len : left;
      feed(s, v[i].iov_base, len, s->cfg);
      left -= len;
      done += len;
    }
    if (left && evbuffer_ptr_set(buf, &at, done, EVBUFFER_PTR_ADD)) return;
  }
}

/* evhttp asks for a new connection's bufferevent. */
static struct bufferevent *new_bev(struct event_base *base, void *arg) {
  framing *f = arg;
  struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
  conn_state *s = bev ? calloc(1, sizeof *s) : NULL;
  if (!s) return bev; /* no state: the connection is served without the strict reader, as evhttp alone would */
  s->bev = bev;
  s->cfg = &f->w->gw->cfg;
  http_guard_init(&s->g);
  bufferevent_incref(bev);
  if (table_put(f, s) || !evbuffer_add_cb(bufferevent_get_input(bev), on_input, s)) {
    size_t at;
    if (table_get(f, bev, &at)) {
      f->slots[at] = TOMBSTONE;
      f->live--;
    }
    bufferevent_decref(bev);
    free(s);
  }
  return bev;
}

int framing_attach(worker *w) {
  framing *f = calloc(1, sizeof *f);
  if (!f) return -1;
  f->w = w;
  w->framing = f;
  evhttp_set_bevcb(w->http, new_bev, f);
  return 0;
}

void framing_detach(worker *w) {
  framing *f = w->framing;
  if (!f) return;
  for (size_t i = 0; i < f->cap; i++)
    if (f->slots[i] && f->slots[i] != TOMBSTONE) release_state(f, i);
  free(f->slots);
  free(f);
  w->framing = NULL;
}

/* A request past its deadline: a 408 written straight to the socket (evhttp is reading, not writing), then the
 * connection failed as an EOF, which evhttp answers by freeing it. */
static void time_out(conn_state *s) {
  static const char body[] = "{\"error\":{\"message\":\"the request was not received within its deadline "
                             "(limits.header_timeout_ms, limits.body_timeout_ms)\",\"type\":"
                             "\"invalid_request_error\",\"param\":null,\"code\":\"request_timeout\"}}";
  char head[256];
  int hl = snprintf(head, sizeof head,
                    "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                    "Connection: close\r\n\r\n",
                    sizeof body - 1);
  evutil_socket_t fd = bufferevent_getfd(s->bev);
  if (fd >= 0 && hl > 0) {
    struct iovec iov[2] = {{head, (size_t)hl}, {(void *)body, sizeof body - 1}};
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
    (void)sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT); /* a client too slow to take 300 bytes gets the close */
  }
  s->timed_out = 1;
  s->phase = P_IDLE;
  bufferevent_trigger_event(s->bev, BEV_EVENT_EOF | BEV_EVENT_READING, 0);
}

void framing_tick(worker *w) {
  framing *f = w->framing;
  if (!f) return;
  int64_t now = hg_clock_mono_ms();
  for (size_t i = 0; i < f->cap; i++) {
    conn_state *s = f->slots[i];
    if (!s || s == TOMBSTONE) continue;
    bufferevent_data_cb rcb = NULL;
    bufferevent_getcb(s->bev, &rcb, NULL, NULL, NULL);
    if (!rcb) { /* evhttp let the connection go (bufferevent_free clears the callbacks): so do we */
      release_state(f, i);
      continue;
    }
    if (s->phase != P_IDLE && !s->refused && now >= s->deadline_ms) time_out(s);
  }
  if (f->cap > 64 && f->live * 8 < f->cap)
    table_rehash(f, 64); /* shrink back after a burst of connections */
  else if (f->used > f->live * 2 && f->used * 4 > f->cap)
    table_rehash(f, f->cap); /* clear out tombstones */
}

int framing_refused(worker *w, struct evhttp_request *req) {
  framing *f = w->framing;
  struct evhttp_connection *conn = evhttp_request_get_connection(req);
  conn_state *s = f && conn ? table_get(f, evhttp_connection_get_bufferevent(conn), NULL) : NULL;
  if (!s || !s->refused) return 0;
  char msg[200];
  snprintf(msg, sizeof msg, "the request's framing is refused: %s (a front proxy could read it otherwise)", s->refused);
  evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
  send_error(req, 400, "invalid_request_error", msg, "bad_framing");
  return 1;
}
