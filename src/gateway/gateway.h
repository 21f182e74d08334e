/* gateway.h — the parts of `hegui serve` shared by its files: the server (server.c: workers, reloads, health
 * routes), the route table and its dispatcher (router.[ch]: every route, its roles and its metrics), the upstream
 * client (upstream.c: libcurl multi on each worker's libevent loop), the chat path (chat.c: moderation of prompts and
 * of streamed answers, labels, records; prompt.c: which strings of a request the model reads) and the metrics
 * (metrics.c).
 *
 * Threads: one event loop per worker, each with its own listening socket on the same port (SO_REUSEPORT) and its
 * own curl multi handle and its own store connection for reads, so a request lives on one thread from accept to
 * audit record. What workers share is read-only (label keys), swapped whole (the live configuration) or internally
 * synchronised (the lexicon slot, the store for writes, the audit writer's queue, the metrics). */
#ifndef HG_GATEWAY_H
#define HG_GATEWAY_H

#include <curl/curl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

#include "hegui/config.h"
#include "hegui/identity.h"
#include "hegui/label.h"
#include "hegui/lexicon.h"
#include "hegui/moderate.h"
#include "hegui/pii.h"
#include "hegui/store.h"
#include "hegui/takedown.h"

#include "base/clock.h"
#include "base/log.h"
#include "gateway/admit.h"
#include "gateway/record.h"

/* ---- metrics ---- */

enum route_id {
  R_CHAT,
  R_COMPLETIONS,
  R_MODELS,
  R_MODERATIONS,
  R_HEALTH,
  R_METRICS,
  R_ADMIN,
  R_OTHER,
  R_COMPLIANCE, /* the public complaint intake and a user's own identity */
  R_IMAGES,     /* /v1/images/generations and /v1/images/edits */
  R_AUDIO,      /* /v1/audio/speech and /v1/audio/transcriptions */
  ROUTE_METRICS
};

#define METRIC_LATENCY_BUCKETS 12
typedef struct metrics {
  atomic_ullong requests[ROUTE_METRICS][6];              /* route x status class (1xx..5xx, other) */
  atomic_ullong verdicts[4];                             /* allow, redact, block, review */
  atomic_ullong verdict_category[HG_CATEGORY_COUNT + 1]; /* blocks by category; last = pii */
  atomic_ullong latency_bucket[ROUTE_METRICS][METRIC_LATENCY_BUCKETS + 1];
  atomic_ullong latency_sum_us[ROUTE_METRICS];
  atomic_ullong latency_count[ROUTE_METRICS];
  atomic_ullong upstream_errors;
  atomic_ullong streams_active;
  atomic_ullong stream_chunks;
  atomic_ullong holdback_bytes_sum; /* bytes held back when a chunk arrived, summed */
  atomic_ullong holdback_bytes_max;
  atomic_ullong reloads;
  atomic_ullong refusals[5]; /* completion requests refused before moderation, by reason (metrics.c) */
  atomic_ullong reminders;   /* over-reliance reminders given */
  atomic_ullong guard[5];    /* guard judgments: safe, unsafe, controversial, error, cached (guard_client.c) */
  atomic_ullong webhooks[HG_WEBHOOK_EVENTS][3]; /* deliveries by event: delivered, failed, retried (webhooks.c) */
  atomic_ullong ocr[3];          /* images read by OCR: read, cut short by the deadline, not read (media.c, chat.c) */
  atomic_ullong ocr_ms_sum;      /* their time, summed */
  atomic_ullong unjudged;        /* content no detector could judge, handed to media.unjudged (judge.c's callers) */
  atomic_ullong media_labels[2]; /* files labelled by the media routes: with the explicit label, without (omitted) */
} metrics;

void metrics_request(metrics *m, int route, int status, double seconds);
char *metrics_render(const metrics *m); /* Prometheus text, malloc-ed */
/* One OCR reading: r (hegui/ocr.h) NULL when the image could not be read. */
struct hg_ocr_result;
void metrics_ocr(metrics *m, const struct hg_ocr_result *r);
/* One answer's verdict (allow, redact, block, review; "error" is not counted) and, for a block, its category code
 * (a risk code or "pii"; may be NULL). */
void metrics_verdict(metrics *m, const char *verdict, const char *block_category);

/* ---- shared state ---- */

typedef struct audit_writer audit_writer;

typedef struct gateway {
  hg_config cfg; /* as started: what a reload cannot change (listen, workers, limits, upstream, store, auth) */
  /* The live configuration: cfg with whatever reloads changed since (policy, labels, workflows, lexicon path).
   * Code that uses it within one callback reads live_cfg(); a request that outlives its callback (a completion)
   * holds a reference (cfg_acquire/cfg_release). A reload publishes a new copy and retires the old one, which is
   * freed once no request holds it and a grace period (RETIRE_GRACE_MS) has passed for the readers of one callback. */
  _Atomic(struct live_config *) live;
  pthread_mutex_t config_lock; /* serialises reloads and guards what follows */
  struct live_config **retired;
  size_t nretired;
  hg_config file_cfg;         /* the file as last read, before command-line overrides (defaults without --config) */
  char config_path[512];      /* --config, "" = started on defaults */
  char lexicon_override[512]; /* --lexicon, kept across reloads */
  char config_sha256[65];     /* of the file as last loaded, "" = defaults */
  int64_t config_loaded_ms;
  char lexicon_source[600]; /* where the lexicon in use came from: "starter", a path, or "upload" */
  int64_t lexicon_loaded_ms;
  uint8_t identity_key[HG_IDENTITY_KEY_BYTES];
  audit_writer *aw;     /* group commit of audit records (audit.batch), NULL when records are written at once */
  atomic_int verifying; /* identity verifications in progress (background threads) */
  atomic_uint verify_timeout_max; /* the longest provider timeout any of them was given */
  pthread_mutex_t admin_lock;     /* serialises admin changes of files: policy and lexicon uploads, reloads */
  hg_lexicon_slot *lexicon;
  hg_store *store;
  uint8_t label_pk[HG_LABEL_PUBLIC_KEY_BYTES], label_sk[HG_LABEL_SECRET_KEY_BYTES];
  uint8_t pseudonym_key[32];
  metrics metrics;
  hg_log log; /* set from cfg.log at start (gateway_open); read-only afterwards */
  atomic_int stopping;
  atomic_int reload_requested;
  /* takedowns: the current set (NULL when there are none), rebuilt when the store's version changes */
  pthread_mutex_t takedown_lock;
  hg_takedown_set *takedowns;
  int64_t takedown_version;
  atomic_int takedown_refresh; /* an admin call asks for a rebuild now */
  /* the public complaint intake's limit, per client address in fixed one-minute windows: one table for the gateway
   * (a table per worker let each worker admit the limit again), under its own lock */
  pthread_mutex_t rate_lock;
  struct rate_slot {
    uint32_t key;
    int64_t minute;
    unsigned count;
  } rate[256];
  struct worker *workers;
  unsigned nworkers;
  unsigned port; /* the port actually bound */
  /* guard models (guard_client.c): the verdict cache and the calls in flight, for the whole gateway */
  struct guard_cache *guard_cache;
  atomic_uint guard_in_flight;
  struct dup_table *dups; /* near-duplicate prompts per user (abuse.c) */
  /* media (media.c): the OCR engine, made at the first image (loading its language data takes a while), and the
   * media requests in progress (each runs on a thread of its own; more than MEDIA_MAX_JOBS wait is a 429) */
  pthread_mutex_t ocr_lock;
  struct hg_ocr *ocr;
  char ocr_error[200]; /* why the engine could not be made ("" when it was, or was never tried) */
  atomic_int media_jobs;
  /* the webhook sender (webhooks.c), NULL when not running */
  _Atomic(struct webhook_sender *) hooks;
  /* versions (versions.c, hegui/versions.h): the active policy version layered over the configuration file and the
   * active lexicon version in place of the configured lexicon, NULL when none is active. Replaced whole, under
   * config_lock, by changes that hold admin_lock (which is what reads them without config_lock). */
  struct layer *policy_layer, *lexicon_layer;
  int64_t lexicon_updated_ms; /* when the lexicon in force was last updated: its version's activation, or its file's
                                 modification time; 0 for the starter lexicon (never updated by the provider) */
} gateway;

typedef struct worker {
  gateway *gw;
  hg_store *rstore; /* this worker's own connection for the reads of every request (keys, users): in WAL mode they
                       never wait behind another thread's append and its sync; NULL = use gw->store */
  unsigned index;
  struct event_base *base;
  struct evhttp *http;
  pthread_t thread;
  struct upstream *up;
  struct framing *framing; /* strict framing and request deadlines (framing.c) */
  struct event *tick;      /* checks stop and reload requests */
  struct evhttp_bound_socket *bound;
  int streams;       /* streamed answers in progress on this worker */
  atomic_int active; /* requests in progress (read by the main thread while draining) */
  atomic_int jobs;   /* offloaded admin work still running on its thread (offload.c) */
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
/* The same to any URL (a guard model's server): its own API key, and a limit on the whole call (0: none). */
up_call *upstream_start_url(upstream *up, const char *method, const char *url, const char *api_key, unsigned timeout_ms,
                            const char *body, size_t body_len, const up_handlers *h);
/* Stops a call; on_done is not called afterwards. Safe from any callback except on_data of the same call. */
void upstream_cancel(up_call *call);
/* From within on_data: ask the transfer to stop; on_done follows with CURLE_WRITE_ERROR. */
void upstream_abort_from_data(up_call *call);

/* ---- helpers shared by the routes ---- */

/* Sends body (taken) as JSON; a NULL body, or one that cannot be encoded, is a 500. The status sent is kept in
 * last_status (per thread) for the metrics of routes that answer in many places. */
void send_json(struct evhttp_request *req, int status, json_t *body);
extern _Thread_local int last_status;
/* The reason phrase of an HTTP status ("Too Many Requests"), for every status the gateway sends. */
const char *http_reason(int status);
void send_error(struct evhttp_request *req, int status, const char *type, const char *message, const char *code);
/* The same with `param` naming the member of the request that is wrong ("messages[1].content"). */
void send_error_param(struct evhttp_request *req, int status, const char *type, const char *message, const char *param,
                      const char *code);
/* Authenticates the request's bearer key. Returns 0 and fills info, or sends 401 and returns -1. */
int authenticate(gateway *gw, struct evhttp_request *req, hg_key_info *info);
/* Pseudonymous id of a user (keyed BLAKE2b, hex). */
void pseudonym(const gateway *gw, const char *user, char out[33]);
void sha256_hex(const void *data, size_t len, char out[65]);

typedef struct live_config {
  hg_config cfg;     /* first: a hg_config pointer from live_cfg is the live_config's */
  hg_policy *policy; /* built from cfg: what every text of a request holding this configuration is judged by */
  atomic_int refs;
  int64_t retired_ms; /* 0 while live */
} live_config;
#define RETIRE_GRACE_MS 60000

/* The store to read from on this thread: the worker's own connection, or the shared one elsewhere. Writes always go
 * through gw->store. */
extern _Thread_local hg_store *thread_read_store;
static inline hg_store *read_store(gateway *gw) { return thread_read_store ? thread_read_store : gw->store; }

static inline const hg_config *live_cfg(gateway *gw) { return &atomic_load(&gw->live)->cfg; }
static inline const hg_config *cfg_acquire(gateway *gw) {
  live_config *l = atomic_load(&gw->live);
  atomic_fetch_add(&l->refs, 1);
  return &l->cfg;
}
static inline void cfg_release(const hg_config *cfg) {
  if (cfg) atomic_fetch_sub(&((live_config *)(void *)cfg)->refs, 1);
}

/* A version's content as the gateway layers it: the policy's YAML parsed over the configuration file, or the
 * lexicon's text (or image) used instead of the configured lexicon. */
typedef struct layer {
  int64_t version;      /* its id in the store; 0 for a candidate not stored yet */
  int64_t activated_ms; /* when it became active */
  char *text;           /* NUL-terminated copy */
  size_t len;
} layer;
layer *layer_new(int64_t version, int64_t activated_ms, const void *text, size_t len); /* NULL: out of memory */
layer *layer_copy(const layer *l);                                                     /* NULL for NULL too */
void layer_free(layer *l);

/* The effective configuration: the file (or the defaults) with the policy layer parsed over it, the command line's
 * settings kept, and the lexicon of the lexicon layer or else of the configuration; built and checked, not yet in
 * force. Settings only a restart changes keep their running values (changed says which the layers or the file
 * changed). */
typedef struct config_candidate {
  live_config *fresh;
  hg_config parsed; /* before the running values were kept: the next file_cfg */
  hg_lexicon *lex;
  char source[600]; /* where the lexicon came from */
  char sha[65];     /* of the file */
  char changed[400];
  layer *policy, *lexicon; /* copies of the layers it was built from (owned; NULL: none) */
  int64_t lexicon_updated_ms;
} config_candidate;
/* Builds one from the layers given (copied; NULL for none); policy_name names the policy layer in messages. The
 * caller holds admin_lock. NULL with msg saying why (nothing changed). */
config_candidate *config_build(gateway *gw, const layer *policy, const layer *lexicon, const char *policy_name,
                               char *msg, size_t cap);
/* Puts a candidate in force (taken): configuration, lexicon and layers at once; msg gets a summary. */
void config_publish(gateway *gw, config_candidate *c, char *msg, size_t cap);
void config_discard(config_candidate *c);
/* Reloads the file and the lexicon it names, with the active versions as the store has them (SIGHUP, POST
 * /admin/reload). The caller holds admin_lock. Returns 0, or -1 with msg saying why nothing changed. */
int reload_config(gateway *gw, char *msg, size_t cap);
/* A lexicon from a layer's bytes, as hg_lexicon_open would read them from a file named name. */
hg_status lexicon_from_bytes(const char *text, size_t len, const char *name, hg_lexicon **out, hg_error *err);
/* The lexicon's age for the stale alarm (versions.lexicon_max_age_days): *age_ms since its last update (-1 when
 * unknown: the starter lexicon) and whether it is stale (older than the limit, or never updated; 0 when the limit is
 * 0). */
void lexicon_age(gateway *gw, int64_t now_ms, int64_t *age_ms, int *stale);

/* ---- users (users.c): identity, minors, over-reliance ---- */

/* Admission (admit.h decides; these send its refusals): the context of a request on this thread now (the worker's
 * read store, the live configuration, the wall clock). */
admit_ctx admit_ctx_of(gateway *gw);
/* Sends the refusal (Retry-After, the error), counts its reason and logs its line; returns its status (0: none). */
int admission_refused(gateway *gw, struct evhttp_request *req, const admit_refusal *r);
/* admit_request (the user, then the quota) and admit_count, with the refusal sent: 0 or the status sent. */
int admit_request_http(gateway *gw, struct evhttp_request *req, const hg_key_info *key, admission *adm);
int admit_count_http(gateway *gw, struct evhttp_request *req, const hg_key_info *key, const admission *adm);
/* The tokens of an answer counted against the token quotas; a failure is logged. */
void admit_tokens_counted(gateway *gw, const char *user, int64_t key_id, uint64_t tokens);
/* Waits for background verifications to end, at most timeout_ms (0: the provider's timeout + 2 s); at shutdown,
 * before curl_global_cleanup. */
void identity_drain(gateway *gw, unsigned timeout_ms);

/* ---- audit_writer.c: group commit (audit.durability: group, async) ---- */
int audit_writer_start(gateway *gw);
/* Queues a copy of the record (its strings are copied); -1 when it could not be queued (write it yourself). */
int audit_enqueue(gateway *gw, const hg_audit_record *r);
/* The same, with done(ctx, ok) called on the writer thread once the transaction holding the record is committed and
 * synced (ok 1) or failed (ok 0): what `audit.durability: group` waits for before an answer's last byte. done must
 * only hand over to the worker's loop (event_active); it is not called when -1 is returned. */
typedef void (*audit_done_fn)(void *ctx, int ok);
int audit_enqueue_then(gateway *gw, const hg_audit_record *r, audit_done_fn done, void *ctx);
/* Waits until every record queued so far is in the store; a no-op without group commit. */
void audit_flush(gateway *gw);
/* Writes what is queued and stops the writer. */
void audit_writer_stop(gateway *gw);

/* The retention job (hegui/retention.h) at the wall clock's now, with the configuration's text retention: what the
 * main thread runs every hour, and a moved test clock at once (testclock.c). */
hg_status retention_run(gateway *gw, hg_purge_counts *out, hg_error *err);

/* ---- admin routes (router.h has the table; each file its handlers) ---- */
/* Roles an admin route admits (bit masks of hg_role). */
#define ROLES_ADMIN (1u << HG_ROLE_ADMIN)
#define ROLES_REVIEW (1u << HG_ROLE_REVIEWER | 1u << HG_ROLE_ADMIN)
#define ROLES_AUDIT (1u << HG_ROLE_ADMIN | 1u << HG_ROLE_AUDITOR)
#define ROLES_READ (1u << HG_ROLE_REVIEWER | 1u << HG_ROLE_ADMIN | 1u << HG_ROLE_AUDITOR)
/* Sends 403 naming the roles the call needs and returns -1 when the key's role is not in mask; 0 otherwise. */
int role_refused(struct evhttp_request *req, const hg_key_info *key, unsigned mask);

/* One audit record (detail taken, may be NULL); a failure to write it is logged. */
void audit_event(gateway *gw, const char *actor, const char *route, const char *verdict, json_t *detail);
/* One audit record of an admin action ("admin:<name>" as actor); takes detail. */
void admin_record(gateway *gw, const hg_key_info *key, const char *route, const char *verdict, json_t *detail);
json_t *read_json_body(struct evhttp_request *req);
/* Sends 400 naming the first member not in allowed (NULL-terminated) and returns -1; 0 when all are allowed. */
int only_members(struct evhttp_request *req, json_t *body, const char *const *allowed);

/* workflows.c: complaints, takedowns, strikes, standing */
/* What one more blocked prompt would do to the user's standing now: HG_STANDING_ACTIVE when nothing, else the
 * suspension (with *until_ms) or termination the ladder would decide, so that the request that trips the ladder
 * can say so in its refusal (record_strike then decides it for real). */
hg_standing strike_would_move(gateway *gw, const hg_config *cfg, const char *user, int64_t *until_ms);
/* After a completion request: counts a blocked (or allowed) prompt and applies the strike ladder. */
void record_strike(gateway *gw, const hg_config *cfg, const char *user, int blocked, int64_t audit_seq);
/* What follows a ladder's move (record.h decided it): the webhook, and the move's record naming the user by pseudonym.
 * Nothing when the ladder did not move. */
void strike_followup(gateway *gw, const char *user, const strike_outcome *o, int64_t audit_seq);
/* Rebuilds the takedown set when the store says it changed (or when forced). */
void refresh_takedowns(gateway *gw, int force);
hg_takedown_set *acquire_takedowns(gateway *gw);
/* Fingerprints a text as a takedown (checked first: at least 8 letters or digits) and applies it now. 0, or -1 with
 * err saying why. */
int add_takedown(gateway *gw, const char *text, int64_t complaint_id, int64_t *id, hg_error *err);
/* The prompt and the answer of a ProduceID as its audit record keeps them (malloc-ed; NULL when not retained or not
 * found; either pointer may be NULL). -1 when the store could not be read. */
int answer_texts(gateway *gw, const char *response_id, char **input, char **output, hg_error *err);

/* webhooks.c: notifications (docs/workflows.md, "Notifications"): the events go into the store's outbox when they
 * are decided, and a thread sends them. */
typedef struct webhook_sender webhook_sender;
int webhooks_start(gateway *gw); /* 0, or -1 when the thread could not start (the rows wait in the store) */
void webhooks_stop(gateway *gw); /* a call in progress is aborted; pending rows stay for the next start */
/* Enqueues an event for every webhook subscribed to it (data, the event's "data" object, is taken); once_key (may be
 * NULL) makes it once per webhook whatever the number of calls. A failure is logged. */
void webhook_emit(gateway *gw, hg_webhook_event event, const char *once_key, json_t *data);
/* user.suspended (standing suspended or terminated; active emits nothing), by "ladder" or "reviewer" */
void webhook_user_suspended(gateway *gw, const char *user, hg_standing standing, int64_t until_ms, const char *by,
                            const char *reason);
/* user.minor_to_adult and identity.rejected, by "provider" or "reviewer", with the note the identity keeps */
void webhook_user_event(gateway *gw, hg_webhook_event event, const char *user, const char *by, const char *note);

/* media.c: the gateway's OCR engine (hegui/ocr.h), made at its first use with the configuration's media.ocr_*
 * settings (a reload does not remake it); NULL with why when it could not be made (the error is kept and logged
 * once). Thread-safe. media_close frees it at gateway_close. */
struct hg_ocr *gateway_ocr(gateway *gw, const hg_config *cfg, char *why, size_t cap);
void media_close(gateway *gw);

/* review.c: the review queue (a person in the loop) */
/* After an answer: queues it when its verdict is review, or as a sample of allowed answers (review.sample_rate);
 * answered: the upstream gave an answer. */
void review_enqueue(gateway *gw, const hg_config *cfg, const char *response_id, const char *actor, const char *route,
                    const char *verdict, json_t *detail, int answered);

#endif
