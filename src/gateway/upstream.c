/* upstream.c — calls to the model server with libcurl's multi interface, driven by the worker's libevent loop.
 *
 * curl tells us which sockets to watch (socket callback) and when to wake up (timer callback); libevent tells curl
 * when a socket is ready. Each call streams its body to on_data as it arrives and ends with exactly one on_done.
 * Calls can be cancelled at any time (the client went away, the answer was blocked) without a late callback. */
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

struct upstream {
  struct event_base *base;
  CURLM *multi;
  struct event *timer;
  const hg_config *cfg;
};

struct up_call {
  upstream *up;
  CURL *easy;
  struct curl_slist *headers;
  char *body;
  up_handlers h;
  int abort;
  char error[CURL_ERROR_SIZE];
};

typedef struct sock_watch {
  struct event *ev;
  upstream *up;
} sock_watch;

static void check_done(upstream *up) {
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(up->multi, &left))) {
    if (msg->msg != CURLMSG_DONE) continue;
    up_call *c = NULL;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
    long status = 0;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
    CURLcode result = msg->data.result;
    up_handlers h = c->h;
    curl_multi_remove_handle(up->multi, c->easy);
    char error[CURL_ERROR_SIZE];
    memcpy(error, c->error, sizeof error);
    if (!error[0]) snprintf(error, sizeof error, "%s", curl_easy_strerror(result));
    curl_easy_cleanup(c->easy);
    curl_slist_free_all(c->headers);
    free(c->body);
    free(c);
    if (h.on_done) h.on_done(h.ctx, result, status, error);
  }
}

static void on_socket_event(evutil_socket_t fd, short what, void *arg) {
  upstream *up = arg;
  int flags = (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);
  int running;
  curl_multi_socket_action(up->multi, fd, flags, &running);
  check_done(up);
}

static void on_timer(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  upstream *up = arg;
  int running;
  curl_multi_socket_action(up->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  check_done(up);
}

static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp) {
  (void)easy;
  upstream *up = userp;
  sock_watch *w = socketp;
  if (what == CURL_POLL_REMOVE) {
    if (w) {
      event_free(w->ev);
      free(w);
      curl_multi_assign(up->multi, s, NULL);
    }
    return 0;
  }
  short kind = (short)(EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0));
  if (!w) {
    w = calloc(1, sizeof *w);
    if (!w) return -1;
    w->up = up;
    curl_multi_assign(up->multi, s, w);
  } else {
    event_free(w->ev);
  }
  w->ev = event_new(up->base, s, kind, on_socket_event, up);
  event_add(w->ev, NULL);
  return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp) {
  (void)multi;
  upstream *up = userp;
  if (timeout_ms < 0) {
    evtimer_del(up->timer);
    return 0;
  }
  struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  evtimer_add(up->timer, &tv);
  return 0;
}

upstream *upstream_new(struct event_base *base, const hg_config *cfg) {
  upstream *up = calloc(1, sizeof *up);
  if (!up) return NULL;
  up->base = base;
  up->cfg = cfg;
  up->multi = curl_multi_init();
  up->timer = evtimer_new(base, on_timer, up);
  if (!up->multi || !up->timer) {
    upstream_free(up);
    return NULL;
  }
  curl_multi_setopt(up->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
  curl_multi_setopt(up->multi, CURLMOPT_SOCKETDATA, up);
  curl_multi_setopt(up->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
  curl_multi_setopt(up->multi, CURLMOPT_TIMERDATA, up);
  return up;
}

void upstream_free(upstream *up) {
  if (!up) return;
  if (up->multi) curl_multi_cleanup(up->multi);
  if (up->timer) event_free(up->timer);
  free(up);
}

static size_t write_cb(char *ptr, size_t size, size_t n, void *userdata) {
  up_call *c = userdata;
  if (c->abort) return 0;
  if (c->h.on_data) c->h.on_data(c->h.ctx, ptr, size * n);
  return c->abort ? 0 : size * n;
}

up_call *upstream_start(upstream *up, const char *method, const char *path, const char *body, size_t body_len,
                        const up_handlers *h) {
  char url[1024];
  const char *base = up->cfg->upstream_url;
  size_t bl = strlen(base);
  snprintf(url, sizeof url, "%.*s%s", (int)(bl && base[bl - 1] == '/' ? bl - 1 : bl), base, path);
  return upstream_start_url(up, method, url, up->cfg->upstream_api_key, 0, body, body_len, h);
}

up_call *upstream_start_url(upstream *up, const char *method, const char *url, const char *api_key, unsigned timeout_ms,
                            const char *body, size_t body_len, const up_handlers *h) {
  up_call *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->up = up;
  c->h = *h;
  c->easy = curl_easy_init();
  if (!c->easy) {
    free(c);
    return NULL;
  }
  curl_easy_setopt(c->easy, CURLOPT_URL, url);
  curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
  curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
  curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, c->error);
  curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)up->cfg->connect_timeout_ms);
  if (timeout_ms) curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms); /* the whole call */
  /* no progress at all for idle_timeout: curl's low-speed limit (1 byte/s over the idle window) */
  curl_easy_setopt(c->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c->easy, CURLOPT_LOW_SPEED_TIME, (long)((up->cfg->idle_timeout_ms + 999) / 1000));
  curl_easy_setopt(c->easy, CURLOPT_TCP_NODELAY, 1L);
  c->headers = curl_slist_append(NULL, "Content-Type: application/json");
  c->headers = curl_slist_append(c->headers, "Accept: application/json, text/event-stream");
  c->headers = curl_slist_append(c->headers, "Expect:");
  if (api_key && api_key[0]) {
    char auth[300];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", api_key);
    c->headers = curl_slist_append(c->headers, auth);
  }
  curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->headers);
  if (body) {
    c->body = malloc(body_len + 1);
    if (!c->body) {
      curl_slist_free_all(c->headers);
      curl_easy_cleanup(c->easy);
      free(c);
      return NULL;
    }
    memcpy(c->body, body, body_len);
    curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, c->body);
    curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE, (long)body_len);
  }
  if (strcmp(method, "GET") == 0) curl_easy_setopt(c->easy, CURLOPT_HTTPGET, 1L);
  if (curl_multi_add_handle(up->multi, c->easy) != CURLM_OK) {
    curl_slist_free_all(c->headers);
    curl_easy_cleanup(c->easy);
    free(c->body);
    free(c);
    return NULL;
  }
  return c;
}

void upstream_cancel(up_call *c) {
  if (!c) return;
  curl_multi_remove_handle(c->up->multi, c->easy);
  curl_easy_cleanup(c->easy);
  curl_slist_free_all(c->headers);
  free(c->body);
  free(c);
}

void upstream_abort_from_data(up_call *c) { c->abort = 1; }
