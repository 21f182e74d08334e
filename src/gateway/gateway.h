/* gateway.h — the parts of `hegui serve` shared by its files: the server (server.c: workers, routing, admin and
 * health routes), the upstream client (upstream.c: libcurl multi on each worker's libevent loop), the chat path
 * (chat.c: moderation of prompts and of streamed answers, labels, records) and the metrics (metrics.c).
 *
 * Threads: one event loop per worker, each with its own listening socket on the same port (SO_REUSEPORT) and its
 * own curl multi handle, so a request lives on one thread from accept to audit record. What workers share is
 * read-only (configuration, label keys) or internally synchronised (the lexicon slot, the store, the metrics). */
#ifndef HG_GATEWAY_H
#define HG_GATEWAY_H

#include <curl/curl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

#include "hegui/config.h"
#include "hegui/label.h"
#include "hegui/lexicon.h"
#include "hegui/pii.h"
#include "hegui/store.h"
#include "hegui/takedown.h"

/* ---- metrics ---- */

#define METRIC_LATENCY_BUCKETS 12
typedef struct metrics {
  atomic_ullong requests[8][6];                          /* route x status class (1xx..5xx, other) */
  atomic_ullong verdicts[3];                             /* allow, redact, block */
  atomic_ullong verdict_category[HG_CATEGORY_COUNT + 1]; /* blocks by category; last = pii */
  atomic_ullong latency_bucket[8][METRIC_LATENCY_BUCKETS + 1];
  atomic_ullong latency_sum_us[8];
  atomic_ullong latency_count[8];
  atomic_ullong upstream_errors;
  atomic_ullong streams_active;
  atomic_ullong stream_chunks;
  atomic_ullong holdback_bytes_sum; /* bytes held back when a chunk arrived, summed */
  atomic_ullong holdback_bytes_max;
  atomic_ullong reloads;
} metrics;

enum route_id { R_CHAT, R_COMPLETIONS, R_MODELS, R_MODERATIONS, R_HEALTH, R_METRICS, R_ADMIN, R_OTHER };
void metrics_request(metrics *m, int route, int status, double seconds);
char *metrics_render(const metrics *m); /* Prometheus text, malloc-ed */

/* ---- shared state ---- */

typedef struct gateway {
  hg_config cfg;
  hg_lexicon_slot *lexicon;
  hg_store *store;
  uint8_t label_pk[HG_LABEL_PUBLIC_KEY_BYTES], label_sk[HG_LABEL_SECRET_KEY_BYTES];
  uint8_t pseudonym_key[32];
  metrics metrics;
  atomic_int stopping;
  atomic_int reload_requested;
  /* takedowns: the current set (NULL when there are none), rebuilt when the store's version changes */
  pthread_mutex_t takedown_lock;
  hg_takedown_set *takedowns;
  int64_t takedown_version;
  atomic_int takedown_refresh; /* an admin call asks for a rebuild now */
  struct worker *workers;
  unsigned nworkers;
  unsigned port; /* the port actually bound */
} gateway;

typedef struct worker {
  gateway *gw;
  unsigned index;
  struct event_base *base;
  struct evhttp *http;
  pthread_t thread;
  struct upstream *up;
  struct event *tick; /* checks stop and reload requests */
  struct evhttp_bound_socket *bound;
  int streams;       /* streamed answers in progress on this worker */
  atomic_int active; /* requests in progress (read by the main thread while draining) */
  struct rate_slot {
    uint32_t key;
    int64_t minute;
    unsigned count;
  } rate[256]; /* public complaint intake, per client address, fixed one-minute windows */
} worker;

/* ---- upstream ---- */

typedef struct upstream upstream;
typedef struct up_call up_call;
typedef struct up_handlers {
  void (*on_data)(void *ctx, const char *data, size_t len);                         /* body bytes as they arrive */
  void (*on_done)(void *ctx, CURLcode result, long http_status, const char *error); /* exactly once */
  void *ctx;
} up_handlers;

upstream *upstream_new(struct event_base *base, const hg_config *cfg);
void upstream_free(upstream *up);
/* Starts a request: body may be NULL for GET. Returns NULL when curl cannot start it (on_done is not called). */
up_call *upstream_start(upstream *up, const char *method, const char *path, const char *body, size_t body_len,
                        const up_handlers *h);
/* Stops a call; on_done is not called afterwards. Safe from any callback except on_data of the same call. */
void upstream_cancel(up_call *call);
/* From within on_data: ask the transfer to stop; on_done follows with CURLE_WRITE_ERROR. */
void upstream_abort_from_data(up_call *call);

/* ---- helpers shared by the routes ---- */

void send_json(struct evhttp_request *req, int status, json_t *body);
void send_error(struct evhttp_request *req, int status, const char *type, const char *message, const char *code);
/* Authenticates the request's bearer key. Returns 0 and fills info, or sends 401 and returns -1. */
int authenticate(gateway *gw, struct evhttp_request *req, hg_key_info *info);
/* Pseudonymous id of a user (keyed BLAKE2b, hex). */
void pseudonym(const gateway *gw, const char *user, char out[33]);
void sha256_hex(const void *data, size_t len, char out[65]);
double now_seconds(void);

/* workflows.c: complaints, takedowns, strikes, standing */
void handle_compliance(worker *w, struct evhttp_request *req, const char *path);
void handle_admin(worker *w, struct evhttp_request *req, const char *path);
/* Sends 403 and returns -1 when the user is suspended or terminated. */
int check_standing(gateway *gw, struct evhttp_request *req, const char *user);
/* After a completion request: counts a blocked (or allowed) prompt and applies the strike ladder. */
void record_strike(gateway *gw, const char *user, int blocked, int64_t audit_seq);
/* Rebuilds the takedown set when the store says it changed (or when forced). */
void refresh_takedowns(gateway *gw, int force);
hg_takedown_set *acquire_takedowns(gateway *gw);
int64_t now_ms(void);

/* quota.c: usage limits per user and per key; quota_admit sends 429 and returns -1 when a limit is reached */
int quota_admit(gateway *gw, struct evhttp_request *req, const hg_key_info *key);
void quota_tokens(gateway *gw, const char *user, int64_t key_id, uint64_t tokens);

/* chat.c: POST /v1/chat/completions and /v1/completions; moderations */
void handle_completion(worker *w, struct evhttp_request *req, int chat);
void handle_moderations(worker *w, struct evhttp_request *req);

#endif
