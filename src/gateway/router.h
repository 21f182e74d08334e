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
} route_req;

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
/* Records one request's metrics: the status sent, the time since t0. */
void route_metrics(gateway *gw, int metric, int status, double t0);

/* ---- the handlers, by file ---- */
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

#endif
