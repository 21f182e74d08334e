/* webhooks.c — notifications to the operator's own systems: the events (an overdue complaint ticket, a suspended
 * user, a minor-to-adult change waiting for a reviewer, a rejected identity) go into the store's outbox at the moment
 * they are decided (hegui/webhooks.h), and one sender thread posts them, signed, to every webhook subscribed to them.
 *
 * The outbox is the queue: the thread keeps nothing that matters in memory, so a process that dies (or stops) with
 * deliveries pending sends them after it starts again. The thread sleeps on a condition variable that an enqueue
 * signals, and wakes at least once a second to look for rows whose retry time has come and, once a minute of wall
 * time (so that a test clock moved by hours fires it at once), for complaint tickets that became overdue; the once
 * key of their rows makes each ticket notify once per webhook however often it is seen.
 *
 * A delivery is one POST with libcurl's easy interface on this thread (a call takes at most the webhook's
 * timeout_ms): the body {"event", "id", "created_ms", "data"}, the headers X-Hegui-Event, X-Hegui-Delivery (the row's
 * id, the same in every attempt: a receiver deduplicates by it) and X-Hegui-Signature "t=<unix ms>,v1=<hex
 * HMAC-SHA256 of "<t>.<body>" under the webhook's secret>". A 2xx answer delivers it; anything else waits by the
 * retry schedule, and fails after max_attempts. Each final outcome joins the audit chain. */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/keyvalq_struct.h>

#include "base/clock.h"
#include "gateway.h"
#include "hegui/version.h"
#include "router.h"

#define DUE_BATCH 16           /* rows taken per round; a full batch is followed by another round at once */
#define IDLE_WAIT_MS 1000      /* the longest sleep: retries due and a moved wall clock are seen within it */
#define OVERDUE_EVERY_MS 60000 /* of wall time between two looks for overdue tickets */
#define LEASE_MARGIN_MS 2000   /* a claim outlives the call by this much */
#define ANSWER_KEEP_BYTES 200  /* of a refusing receiver's answer, kept in last_error */

struct webhook_sender {
  gateway *gw;
  pthread_mutex_t lock;
  pthread_cond_t wake; /* on the monotonic clock */
  int kicked;          /* an enqueue or a requeue since the thread last looked */
  atomic_int stop;
  pthread_t thread;
  int64_t overdue_checked_ms; /* wall time of the last look for overdue tickets, 0 = never */
};

/* ---- enqueueing (any thread) ---- */

static void sender_kick(gateway *gw) {
  webhook_sender *s = atomic_load(&gw->hooks);
  if (!s) return; /* not running (stopping, or a command that is not serve): the rows wait in the store */
  pthread_mutex_lock(&s->lock);
  s->kicked = 1;
  pthread_cond_signal(&s->wake);
  pthread_mutex_unlock(&s->lock);
}

void webhook_emit(gateway *gw, hg_webhook_event event, const char *once_key, json_t *data) {
  if (!data) return;
  const hg_config *cfg = cfg_acquire(gw);
  hg_webhook_target targets[HG_CONFIG_MAX_WEBHOOKS];
  size_t n = 0;
  for (unsigned i = 0; i < cfg->webhook_count && i < HG_CONFIG_MAX_WEBHOOKS; i++)
    if (cfg->webhooks[i].events & (1u << event)) targets[n++] = (hg_webhook_target){i, cfg->webhooks[i].url};
  size_t added = 0;
  if (n) {
    char *payload = json_dumps(data, JSON_COMPACT | JSON_SORT_KEYS);
    hg_error err;
    if (!payload ||
        hg_store_webhook_enqueue(gw->store, event, once_key, targets, n, payload, hg_clock_wall_ms(), &added, &err))
      fprintf(stderr, "hegui: webhook %s not enqueued: %s\n", hg_webhook_event_name(event),
              payload ? err.message : "out of memory");
    free(payload);
  }
  cfg_release(cfg);
  json_decref(data);
  if (added) sender_kick(gw);
}

void webhook_user_suspended(gateway *gw, const char *user, hg_standing standing, int64_t until_ms, const char *by,
                            const char *reason) {
  if (standing == HG_STANDING_ACTIVE) return;
  char who[33];
  pseudonym(gw, user, who);
  webhook_emit(gw, HG_WEBHOOK_USER_SUSPENDED, NULL,
               json_pack("{s:s, s:s, s:I, s:s, s:s?}", "user", who, "standing", hg_standing_name(standing), "until_ms",
                         (json_int_t)until_ms, "by", by, "reason", reason && *reason ? reason : NULL));
}

void webhook_user_event(gateway *gw, hg_webhook_event event, const char *user, const char *by, const char *note) {
  char who[33];
  pseudonym(gw, user, who);
  webhook_emit(gw, event, NULL,
               json_pack("{s:s, s:s, s:s?}", "user", who, "by", by, "note", note && *note ? note : NULL));
}

/* ---- overdue tickets (the sender thread) ---- */

typedef struct overdue_list {
  json_t *items; /* the data of each ticket's event */
} overdue_list;

static int collect_overdue(void *ctx, const hg_complaint *c) {
  overdue_list *l = ctx;
  /* what the ticket is, never what it says: text and contact are the complainant's */
  json_array_append_new(l->items, json_pack("{s:I, s:s, s:s, s:s, s:I, s:I}", "complaint_id", (json_int_t)c->id, "type",
                                            c->type, "status", c->status, "channel", c->channel[0] ? c->channel : "web",
                                            "created_ms", (json_int_t)c->created_ms, "due_ms", (json_int_t)c->due_ms));
  return json_array_size(l->items) >= 1000;
}

static void check_overdue(webhook_sender *s, int64_t now) {
  gateway *gw = s->gw;
  const hg_config *cfg = cfg_acquire(gw);
  int wanted = 0;
  for (unsigned i = 0; i < cfg->webhook_count; i++)
    wanted |= (cfg->webhooks[i].events >> HG_WEBHOOK_COMPLAINT_OVERDUE) & 1;
  cfg_release(cfg);
  if (!wanted) return;
  overdue_list l = {json_array()};
  hg_error err;
  if (hg_store_complaint_list(gw->store, 1, now, collect_overdue, &l, &err)) {
    fprintf(stderr, "hegui: webhooks: overdue tickets not read: %s\n", err.message);
    json_decref(l.items);
    return;
  }
  size_t i;
  json_t *item;
  json_array_foreach(l.items, i, item) {
    char key[64];
    snprintf(key, sizeof key, "complaint.overdue:%" PRId64,
             (int64_t)json_integer_value(json_object_get(item, "complaint_id")));
    webhook_emit(gw, HG_WEBHOOK_COMPLAINT_OVERDUE, key, json_incref(item));
  }
  json_decref(l.items);
}

/* ---- delivering (the sender thread) ---- */

typedef struct due_row {
  hg_webhook_delivery d;
  char *payload;
} due_row;

typedef struct due_list {
  due_row rows[DUE_BATCH];
  size_t n;
} due_list;

static int collect_due(void *ctx, const hg_webhook_delivery *d) {
  due_list *l = ctx;
  due_row *r = &l->rows[l->n];
  r->d = *d;
  r->payload = strdup(d->payload);
  r->d.payload = NULL;
  if (r->payload) l->n++;
  return l->n >= DUE_BATCH;
}

/* The body of a delivery, the same bytes in every attempt (the data as stored, keys in a fixed order). */
static char *delivery_body(const hg_webhook_delivery *d, const char *payload) {
  json_t *data = json_loads(payload, 0, NULL);
  if (!data) return NULL;
  json_t *o = json_object();
  json_object_set_new(o, "event", json_string(d->event));
  json_object_set_new(o, "id", json_integer(d->id));
  json_object_set_new(o, "created_ms", json_integer(d->created_ms));
  json_object_set_new(o, "data", data);
  char *body = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(o);
  return body;
}

/* "t=<t>,v1=<hex HMAC-SHA256 of "<t>.<body>">" */
static void signature(const char *secret, int64_t t, const char *body, size_t len, char *out, size_t cap) {
  char ts[24];
  int tl = snprintf(ts, sizeof ts, "%" PRId64, t);
  crypto_auth_hmacsha256_state st;
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  char hex[2 * crypto_auth_hmacsha256_BYTES + 1];
  crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, (unsigned long long)tl);
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
  crypto_auth_hmacsha256_final(&st, mac);
  sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
  snprintf(out, cap, "t=%s,v1=%s", ts, hex);
  sodium_memzero(&st, sizeof st);
}

typedef struct answer_bytes {
  char text[ANSWER_KEEP_BYTES + 1];
  size_t len;
} answer_bytes;

static size_t on_answer(char *data, size_t size, size_t count, void *ctx) {
  answer_bytes *a = ctx;
  size_t n = size * count, room = ANSWER_KEEP_BYTES - a->len;
  size_t take = n < room ? n : room;
  memcpy(a->text + a->len, data, take);
  a->len += take;
  a->text[a->len] = 0;
  return n; /* the rest is read and dropped: the call ends normally */
}

static int on_progress(void *ctx, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un) {
  (void)dt, (void)dn, (void)ut, (void)un;
  return atomic_load(&((webhook_sender *)ctx)->stop) != 0; /* shutting down: the row stays pending */
}

/* One POST. Returns 1 delivered, 0 refused or failed (status and error say how), -1 stopped by shutdown. */
static int post(webhook_sender *s, const hg_webhook_config *hook, const hg_webhook_delivery *d, const char *body,
                long *status, char *error, size_t cap) {
  size_t len = strlen(body);
  char sig[160], id[48], ev[64];
  signature(hook->secret, hg_clock_wall_ms(), body, len, sig, sizeof sig);
  char sig_header[200];
  snprintf(sig_header, sizeof sig_header, "X-Hegui-Signature: %s", sig);
  snprintf(id, sizeof id, "X-Hegui-Delivery: %" PRId64, d->id);
  snprintf(ev, sizeof ev, "X-Hegui-Event: %s", d->event);
  const char *lines[] = {"Content-Type: application/json", "Expect:", ev, id, sig_header};
  struct curl_slist *headers = NULL, *h;
  for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
    if (!(h = curl_slist_append(headers, lines[i]))) {
      curl_slist_free_all(headers);
      snprintf(error, cap, "out of memory");
      return 0;
    }
    headers = h;
  }
  CURL *easy = curl_easy_init();
  if (!easy) {
    curl_slist_free_all(headers);
    snprintf(error, cap, "out of memory");
    return 0;
  }
  char curl_error[CURL_ERROR_SIZE] = "", agent[64];
  answer_bytes answer = {.len = 0};
  snprintf(agent, sizeof agent, "hegui/%s", hg_version());
  curl_easy_setopt(easy, CURLOPT_URL, hook->url);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85: the string form; the bitmask form is deprecated there */
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L); /* the configured URL answers, or the attempt fails */
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)hook->timeout_ms);
  curl_easy_setopt(easy, CURLOPT_POST, 1L);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long)len);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, agent);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_answer);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &answer);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, curl_error);
  curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(easy, CURLOPT_XFERINFODATA, s);
  CURLcode rc = curl_easy_perform(easy);
  *status = 0;
  if (rc == CURLE_OK) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, status);
  curl_easy_cleanup(easy);
  curl_slist_free_all(headers);
  if (rc == CURLE_ABORTED_BY_CALLBACK) return -1;
  if (rc != CURLE_OK) {
    snprintf(error, cap, "%s", curl_error[0] ? curl_error : curl_easy_strerror(rc));
    return 0;
  }
  if (*status >= 200 && *status < 300) return 1;
  for (size_t i = 0; i < answer.len; i++) /* the receiver's words, as printable text */
    if ((unsigned char)answer.text[i] < 0x20) answer.text[i] = ' ';
  snprintf(error, cap, "HTTP %ld%s%s", *status, answer.len ? ": " : "", answer.text);
  return 0;
}

static void count(gateway *gw, const char *event, int result) {
  hg_webhook_event e;
  if (!hg_webhook_event_parse(event, &e) && result >= 0 && result < 3)
    atomic_fetch_add_explicit(&gw->metrics.webhooks[e][result], 1, memory_order_relaxed);
}

static void deliver(webhook_sender *s, const hg_config *cfg, const hg_webhook_delivery *d, const char *payload) {
  gateway *gw = s->gw;
  hg_error err;
  int64_t now = hg_clock_wall_ms();
  const hg_webhook_config *hook =
      d->target >= 0 && d->target < (int64_t)cfg->webhook_count ? &cfg->webhooks[d->target] : NULL;
  if (hook && strcmp(hook->url, d->url)) hook = NULL;
  /* lease: this attempt's time and a margin, so that another gateway on the store leaves the row alone meanwhile */
  int64_t lease = now + (hook ? hook->timeout_ms : 0) + LEASE_MARGIN_MS;
  if (hg_store_webhook_claim(gw->store, d->id, now, lease, &err)) return; /* taken by another sender, or gone */
  long status = 0;
  char error[300] = "";
  int ok;
  char *body = hook ? delivery_body(d, payload) : NULL;
  if (!hook) {
    /* a reload removed or moved the webhook: never send a row to a URL it was not enqueued for */
    snprintf(error, sizeof error, "webhook %" PRId64 " (%.200s) is no longer configured", d->target, d->url);
    ok = 0;
  } else if (!body) {
    snprintf(error, sizeof error, "the stored payload is not JSON");
    ok = 0;
  } else {
    ok = post(s, hook, d, body, &status, error, sizeof error);
  }
  free(body);
  if (ok < 0) return;                 /* shutdown: the row stays pending, due again when the lease ends */
  hg_webhook_retry retry = {1, 1, 1}; /* a webhook no longer configured fails at once */
  if (hook) retry = (hg_webhook_retry){hook->retry_base_ms, hook->retry_max_ms, hook->max_attempts};
  hg_webhook_state after;
  if (hg_store_webhook_attempt(gw->store, d->id, &retry, ok, (int)status, error, hg_clock_wall_ms(), &after, &err)) {
    fprintf(stderr, "hegui: webhook delivery %" PRId64 ": attempt not recorded: %s\n", d->id, err.message);
    return;
  }
  count(gw, d->event, after == HG_WEBHOOK_DELIVERED ? 0 : after == HG_WEBHOOK_FAILED ? 1 : 2);
  if (after == HG_WEBHOOK_PENDING) return;
  /* the final outcome joins the chain: that an operator was (or could not be) told, and when */
  audit_event(gw, "system:webhooks", "webhooks/delivery", hg_webhook_state_name(after),
              json_pack("{s:I, s:s, s:I, s:I, s:I, s:s?}", "delivery", (json_int_t)d->id, "event", d->event, "target",
                        (json_int_t)d->target, "attempts", (json_int_t)(d->attempts + 1), "last_status",
                        (json_int_t)status, "error", ok ? NULL : error));
}

/* Sends what is due; returns how many rows were taken (DUE_BATCH: there may be more). */
static size_t deliver_due(webhook_sender *s) {
  gateway *gw = s->gw;
  due_list l = {.n = 0};
  hg_error err;
  if (hg_store_webhook_due(gw->store, hg_clock_wall_ms(), DUE_BATCH, collect_due, &l, &err)) {
    fprintf(stderr, "hegui: webhooks: due deliveries not read: %s\n", err.message);
    return 0;
  }
  const hg_config *cfg = cfg_acquire(gw);
  for (size_t i = 0; i < l.n; i++) {
    if (!atomic_load(&s->stop)) deliver(s, cfg, &l.rows[i].d, l.rows[i].payload);
    free(l.rows[i].payload);
  }
  cfg_release(cfg);
  return l.n;
}

/* How long to sleep: until the next row falls due, at most IDLE_WAIT_MS. */
static int64_t next_wait_ms(webhook_sender *s) {
  int64_t next = 0;
  hg_error err;
  if (hg_store_webhook_next_due(s->gw->store, &next, &err) || !next) return IDLE_WAIT_MS;
  int64_t wait = next - hg_clock_wall_ms();
  return wait < 0 ? 0 : wait > IDLE_WAIT_MS ? IDLE_WAIT_MS : wait;
}

static void *sender_main(void *arg) {
  webhook_sender *s = arg;
  int64_t wait_ms = 0; /* the first round at once: rows left pending by the last run, and overdue tickets */
  for (;;) {
    pthread_mutex_lock(&s->lock);
    if (!s->kicked && !atomic_load(&s->stop) && wait_ms > 0) {
      struct timespec until;
      clock_gettime(CLOCK_MONOTONIC, &until);
      until.tv_sec += wait_ms / 1000;
      until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
      if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
      pthread_cond_timedwait(&s->wake, &s->lock, &until);
    }
    s->kicked = 0;
    pthread_mutex_unlock(&s->lock);
    if (atomic_load(&s->stop)) break;
    int64_t now = hg_clock_wall_ms();
    /* the wall clock, not the monotonic one: a test clock moved past a due time fires it at once; a clock set back
     * starts the minute again */
    if (!s->overdue_checked_ms || now - s->overdue_checked_ms >= OVERDUE_EVERY_MS || now < s->overdue_checked_ms) {
      s->overdue_checked_ms = now;
      check_overdue(s, now);
    }
    wait_ms = deliver_due(s) >= DUE_BATCH ? 0 : next_wait_ms(s);
  }
  return NULL;
}

int webhooks_start(gateway *gw) {
  webhook_sender *s = calloc(1, sizeof *s);
  if (!s) return -1;
  s->gw = gw;
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_mutex_init(&s->lock, NULL);
  pthread_cond_init(&s->wake, &attr);
  pthread_condattr_destroy(&attr);
  if (pthread_create(&s->thread, NULL, sender_main, s)) {
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->wake);
    free(s);
    return -1;
  }
  atomic_store(&gw->hooks, s);
  return 0;
}

void webhooks_stop(gateway *gw) {
  webhook_sender *s = atomic_exchange(&gw->hooks, NULL); /* from now on an enqueue only stores its rows */
  if (!s) return;
  pthread_mutex_lock(&s->lock);
  atomic_store(&s->stop, 1); /* a call in progress is aborted (on_progress); its row stays pending */
  pthread_cond_signal(&s->wake);
  pthread_mutex_unlock(&s->lock);
  pthread_join(s->thread, NULL);
  if (atomic_load(&gw->verifying) > 0)
    return; /* a verification still running may emit: it finds no sender, and
                the struct is left to the exiting process rather than freed */
  pthread_mutex_destroy(&s->lock);
  pthread_cond_destroy(&s->wake);
  free(s);
}

/* ---- admin routes ---- */

static int list_delivery(void *ctx, const hg_webhook_delivery *d) {
  json_t *arr = ctx;
  json_t *data = json_loads(d->payload, 0, NULL);
  json_array_append_new(arr,
                        json_pack("{s:I, s:s, s:I, s:s, s:I, s:I, s:I, s:s, s:I, s:s?, s:I, s:o}", "id",
                                  (json_int_t)d->id, "event", d->event, "target", (json_int_t)d->target, "url", d->url,
                                  "created_ms", (json_int_t)d->created_ms, "attempts", (json_int_t)d->attempts,
                                  "next_attempt_ms", (json_int_t)d->next_attempt_ms, "state", d->state, "last_status",
                                  (json_int_t)d->last_status, "last_error", d->last_error[0] ? d->last_error : NULL,
                                  "delivered_ms", (json_int_t)d->delivered_ms, "data", data ? data : json_null()));
  return 0;
}

/* GET /admin/webhooks/deliveries[?state=pending|delivered|failed&limit=N]: the outbox, newest first */
void route_webhook_deliveries(route_req *rq) {
  struct evhttp_request *req = rq->req;
  const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
  struct evkeyvalq params;
  char state[16] = "";
  long long limit = 100;
  int bad = 0;
  if (q && !evhttp_parse_query_str(q, &params)) {
    const char *v = evhttp_find_header(&params, "state");
    hg_webhook_state parsed;
    if (v && hg_webhook_state_parse(v, &parsed)) bad = 1;
    if (v && !bad) snprintf(state, sizeof state, "%s", v);
    const char *l = evhttp_find_header(&params, "limit");
    char *end = NULL;
    if (l) limit = strtoll(l, &end, 10);
    if (l && (!*l || *end || limit < 1 || limit > 1000)) bad = 2;
    evhttp_clear_headers(&params);
  }
  if (bad) {
    send_error_param(req, 400, "invalid_request_error",
                     bad == 1 ? "state is pending, delivered or failed" : "limit is a whole number from 1 to 1000",
                     bad == 1 ? "state" : "limit", NULL);
    return;
  }
  json_t *arr = json_array();
  hg_error err;
  if (hg_store_webhook_list(rq->gw->store, state[0] ? state : NULL, limit, list_delivery, arr, &err)) {
    json_decref(arr);
    send_error(req, 503, "server_error", err.message, NULL);
    return;
  }
  send_json(req, 200, json_pack("{s:o}", "deliveries", arr));
}

static int copy_delivery(void *ctx, const hg_webhook_delivery *d) {
  hg_webhook_delivery *out = ctx;
  *out = *d;
  out->payload = NULL;
  return 1;
}

/* POST /admin/webhooks/deliveries/{id}/retry: a failed delivery back in the queue for a new round of attempts */
void route_webhook_retry(route_req *rq) {
  gateway *gw = rq->gw;
  char *end;
  long long id = strtoll(rq->arg, &end, 10);
  hg_error err;
  hg_webhook_delivery d = {0};
  if (*end || id <= 0 || hg_store_webhook_get(gw->store, id, copy_delivery, &d, &err)) {
    send_error(rq->req, 404, "invalid_request_error", "no such webhook delivery", NULL);
    return;
  }
  hg_status st = hg_store_webhook_requeue(gw->store, id, hg_clock_wall_ms(), &err);
  if (st) {
    send_error(rq->req, st == HG_ERR_CONFLICT ? 409 : 503,
               st == HG_ERR_CONFLICT ? "invalid_request_error" : "server_error", err.message, NULL);
    return;
  }
  admin_record(
      gw, &rq->key, "admin/webhook-retry", "requeued",
      json_pack("{s:I, s:s, s:I}", "delivery", (json_int_t)id, "event", d.event, "target", (json_int_t)d.target));
  sender_kick(gw);
  send_json(rq->req, 200, json_pack("{s:I, s:s}", "id", (json_int_t)id, "state", "pending"));
}
