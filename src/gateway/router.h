/* router.h — one route table and one dispatcher for every HTTP route of `hegui serve`.
 *
 * A route is {methods, path pattern, roles, metric, flags, handler}. The dispatcher (router.c) owns what every
 * route needs, once: the path (a too-long one is a 414, never cut), the strict framing's refusals, finding the
 * route (404 for an unknown path, 405 with Allow for a known path and another method), the key (401) and its role
 * (403 naming the roles the route admits), the JSON body of ROUTE_JSON routes (400 unless an object), wiping a body
 * that held identity data (ROUTE_SECRET), and the metrics: one count per request with the status actually sent.
 *
 * A pattern is a literal path in which one segment may be "{}": it matches one non-empty segment, whose raw
 * (still percent-encoded) text the handler finds in rq->arg. Routes are tried in table order, so a literal such as
 * /admin/review/stats comes before /admin/review/{}.
 *
 * Handler contract: a handler answers the request exactly once (send_json, send_error or its own reply) before it
 * returns — except ROUTE_ASYNC handlers, which may answer later (an upstream call, work on another thread) and then
 * record their metrics themselves with route_metrics. A handler never authenticates or checks roles; it may refuse
 * for reasons of its own (a reviewer changing their own standing). rq and what it points to live until the handler
 * returns; an ASYNC handler copies what it keeps. */
#ifndef HG_GATEWAY_ROUTER_H
#define HG_GATEWAY_ROUTER_H

#include "gateway.h"

typedef struct route_req {
  worker *w;
  gateway *gw;
  struct evhttp_request *req;
  enum evhttp_cmd_type method;
  const char *path; /* without the query */
  char arg[512];    /* the segment matched by "{}", raw; "" when the pattern has none */
  hg_key_info key;  /* the caller's key (routes that need one; "anonymous" without auth.required) */
  json_t *body;     /* ROUTE_JSON: the request body, a JSON object (owned by the dispatcher) */
  int metric;       /* enum route_id */
  double t0;        /* monotonic seconds when dispatch began */
  char request_id[40]; /* the client's X-Request-Id when it is a sane one, else made here; sent back in the reply */
} route_req;

/* What a request's end reports (metrics and the access line, base/log.h), kept by handlers that answer after they
 * return (ROUTE_ASYNC): they copy it with route_trace_of while dispatch runs and hand it to route_finish. */
typedef struct route_trace {
  const char *method; /* a static name */
  char path[256];
  char request_id[40];
  int64_t key_id; /* 0: no key */
  int metric;
  double t0;
} route_trace;

typedef void (*route_fn)(route_req *rq);

/* roles: 0 for a route anyone may call without a key; ROLES_KEY for any valid key; else the ROLES_* of gateway.h */
#define ROLES_KEY (1u << 31)

enum route_flags {
  ROUTE_JSON = 1u << 0,   /* the body must be a JSON object: parsed into rq->body, else a 400 */
  ROUTE_ASYNC = 1u << 1,  /* the handler may answer after it returns, and records its metrics itself */
  ROUTE_SECRET = 1u << 2, /* the body may hold identity data: its bytes are wiped once parsed (with ROUTE_JSON) */
};

/* Methods as a mask of enum evhttp_cmd_type values. */
#define M_GET EVHTTP_REQ_GET
#define M_POST EVHTTP_REQ_POST
#define M_PUT EVHTTP_REQ_PUT
#define M_DELETE EVHTTP_REQ_DELETE

typedef struct route {
  unsigned methods;
  const char *pattern;
  unsigned roles;
  int metric;
  unsigned flags;
  route_fn fn;
} route;

/* The evhttp request callback: arg is the worker. */
void route_dispatch(struct evhttp_request *req, void *arg);
/* The end of one request, once: its metrics (the status sent, the time since t0) and its access line. Called during
 * dispatch (a handler refusing at once), the line names the request being dispatched on this thread; later, only
 * the metric, so handlers that answer later use route_finish with their trace. */
void route_metrics(gateway *gw, int metric, int status, double t0);
/* The same with everything the access line says: verdict (NULL when the route does not moderate) and the time the
 * upstream call took (< 0: none). */
void route_finish(gateway *gw, const route_trace *t, int status, const char *verdict, double upstream_s);
/* Fills out from rq, or, with rq NULL, from the request being dispatched on this thread (a handler's helper such as
 * offload() that was not given rq); without one, only t0 and metric are left at 0. */
void route_trace_of(const route_req *rq, route_trace *out);

/* The query string's parameter name, percent-decoded, into out: 1 when present, 0 when absent, -1 (a 400 sent,
 * naming the parameter) when it is longer than cap - 1 bytes or holds a NUL. */
int route_param(route_req *rq, const char *name, char *out, size_t cap);
/* Sends a 400 naming the first parameter not in known (a NULL-terminated list) and returns -1; 0 when all are
 * known. A typo in a filter must not silently list everything. */
int route_params_only(route_req *rq, const char *const *known);
/* A parameter that is a whole number in [min, max] into *out (left alone when absent): 1 present, 0 absent, -1
 * (a 400 sent) otherwise. */
int route_param_int(route_req *rq, const char *name, int64_t min, int64_t max, int64_t *out);
/* A parameter that is a boolean (1, true, 0, false): 1 present, 0 absent, -1 (a 400 sent) otherwise. */
int route_param_bool(route_req *rq, const char *name, int *out);

/* Labeling Measures: content handed out without its explicit label only on the user's request, where the policy
 * allows it (labels.unlabeled_on_request), and with a record of who received it: X-Hegui-Explicit-Label: omit and
 * X-Hegui-Recipient: WHO fill recipient (1-127 bytes). 0 (recipient "" when not asked), or the status sent. Every
 * route that hands out generated content calls it (chat.c, media.c). */
int unlabeled_request(route_req *rq, char recipient[128]);

/* ---- the handlers, by file ---- */
/* media.c */
void route_images_generations(route_req *rq);
void route_images_edits(route_req *rq);
void route_audio_speech(route_req *rq);
void route_audio_transcriptions(route_req *rq);
/* chat.c */
void route_chat(route_req *rq);
void route_completions(route_req *rq);
void route_moderations(route_req *rq);
/* server.c */
void route_models(route_req *rq);
void route_healthz(route_req *rq);
void route_readyz(route_req *rq);
void route_metrics_text(route_req *rq);
void route_reload(route_req *rq);
/* workflows.c */
void route_complaints_process(route_req *rq);
void route_complaints_intake(route_req *rq);
void route_complaints_list(route_req *rq);
/* complaints.c (with route_complaints_process and route_complaints_list) */
void route_complaint_status(route_req *rq);
void route_complaint_secret(route_req *rq);
/* testclock.c */
void route_clock_get(route_req *rq);
void route_clock_set(route_req *rq);
/* users.c */
void route_user_strikes(route_req *rq);
void route_pseudonym_lookup(route_req *rq);
/* workflows.c */
void route_takedown_withdraw(route_req *rq);
/* admin_ops.c */
void route_keys_revoke_bulk(route_req *rq);
void route_complaints_enter(route_req *rq);
void route_complaint_get(route_req *rq);
void route_complaint_move(route_req *rq);
void route_takedowns_list(route_req *rq);
void route_takedowns_add(route_req *rq);
/* users.c */
void route_identity_get(route_req *rq);
void route_identity_submit(route_req *rq);
void route_users_list(route_req *rq);
void route_user_get(route_req *rq);
void route_user_delete(route_req *rq);
void route_user_export(route_req *rq);
void route_user_identity(route_req *rq);
void route_user_realname(route_req *rq);
void route_user_strike(route_req *rq);
void route_user_adult(route_req *rq);
void route_user_minor(route_req *rq);
void route_user_standing(route_req *rq);
/* admin_ops.c */
void route_keys_list(route_req *rq);
void route_keys_create(route_req *rq);
void route_key_revoke(route_req *rq);
void route_policy_get(route_req *rq);
void route_policy_put(route_req *rq);
void route_lexicon_get(route_req *rq);
void route_lexicon_change(route_req *rq);
void route_audit_verify(route_req *rq);
void route_audit_export(route_req *rq);
/* review.c */
void route_review_list(route_req *rq);
void route_review_stats(route_req *rq);
void route_review_get(route_req *rq);
void route_review_decide(route_req *rq);
/* versions.c */
void route_versions_list(route_req *rq);
void route_version_get(route_req *rq);
void route_version_diff(route_req *rq);
void route_version_approve(route_req *rq);
void route_version_reject(route_req *rq);
void route_version_rollback(route_req *rq);

/* webhooks.c */
void route_webhook_deliveries(route_req *rq);
void route_webhook_retry(route_req *rq);

#endif
