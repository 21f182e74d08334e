/* router.c — the route table and the dispatcher (router.h). Every route of the gateway is one row below: reading
 * the table is reading the API. */
#include "router.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "base/json.h"
#include "base/log.h"
#include "framing.h"

#define ADMIN R_ADMIN
#define COMPLY R_COMPLIANCE

static const route routes[] = {
    /* the OpenAI-compatible API */
    {M_POST, "/v1/chat/completions", ROLES_KEY, R_CHAT, ROUTE_ASYNC, route_chat},
    {M_POST, "/v1/completions", ROLES_KEY, R_COMPLETIONS, ROUTE_ASYNC, route_completions},
    {M_GET, "/v1/models", ROLES_KEY, R_MODELS, ROUTE_ASYNC, route_models},
    {M_POST, "/v1/images/generations", ROLES_KEY, R_IMAGES, ROUTE_ASYNC, route_images_generations},
    {M_POST, "/v1/images/edits", ROLES_KEY, R_IMAGES, ROUTE_ASYNC, route_images_edits},
    {M_POST, "/v1/audio/speech", ROLES_KEY, R_AUDIO, ROUTE_ASYNC, route_audio_speech},
    {M_POST, "/v1/audio/transcriptions", ROLES_KEY, R_AUDIO, ROUTE_ASYNC, route_audio_transcriptions},
    {M_POST, "/v1/moderations", ROLES_KEY, R_MODERATIONS, 0, route_moderations},
    /* operations */
    {M_GET, "/healthz", 0, R_HEALTH, 0, route_healthz},
    {M_GET, "/readyz", 0, R_HEALTH, 0, route_readyz},
    {M_GET, "/metrics", 0, R_METRICS, 0, route_metrics_text},
    /* the public side of the provider's duties */
    {M_GET, "/compliance/complaints", 0, COMPLY, 0, route_complaints_process},
    {M_POST, "/compliance/complaints", 0, COMPLY, ROUTE_JSON, route_complaints_intake},
    {M_GET, "/compliance/complaints/{}", 0, COMPLY, 0, route_complaint_status},
    {M_GET, "/compliance/identity", ROLES_KEY, COMPLY, 0, route_identity_get},
    {M_POST, "/compliance/identity", ROLES_KEY, COMPLY, ROUTE_JSON | ROUTE_SECRET, route_identity_submit},
    /* complaints and takedowns */
    {M_GET, "/admin/complaints", ROLES_READ, ADMIN, 0, route_complaints_list},
    {M_POST, "/admin/complaints", ROLES_REVIEW, ADMIN, ROUTE_JSON, route_complaints_enter},
    {M_GET, "/admin/complaints/{}", ROLES_READ, ADMIN, 0, route_complaint_get},
    {M_POST, "/admin/complaints/{}", ROLES_REVIEW, ADMIN, ROUTE_JSON, route_complaint_move},
    {M_POST, "/admin/complaints/{}/secret", ROLES_REVIEW, ADMIN, 0, route_complaint_secret},
    {M_GET, "/admin/takedowns", ROLES_READ, ADMIN, 0, route_takedowns_list},
    {M_POST, "/admin/takedowns", ROLES_REVIEW, ADMIN, ROUTE_JSON, route_takedowns_add},
    {M_POST, "/admin/takedowns/{}/withdraw", ROLES_REVIEW, ADMIN, ROUTE_JSON, route_takedown_withdraw},
    /* the review queue */
    {M_GET, "/admin/review", ROLES_READ, ADMIN, 0, route_review_list},
    {M_GET, "/admin/review/stats", ROLES_READ, ADMIN, 0, route_review_stats},
    {M_GET, "/admin/review/{}", ROLES_READ, ADMIN, 0, route_review_get},
    {M_POST, "/admin/review/{}", ROLES_REVIEW, ADMIN, ROUTE_JSON, route_review_decide},
    /* users: identity, minors, standing, data-subject requests */
    {M_GET, "/admin/users", ROLES_READ, ADMIN, 0, route_users_list},
    {M_GET, "/admin/users/{}", ROLES_READ, ADMIN, 0, route_user_get},
    {M_DELETE, "/admin/users/{}", ROLES_ADMIN, ADMIN, 0, route_user_delete},
    {M_GET, "/admin/users/{}/export", ROLES_REVIEW, ADMIN, 0, route_user_export},
    {M_GET, "/admin/users/{}/strikes", ROLES_READ, ADMIN, 0, route_user_strikes},
    {M_POST, "/admin/users/{}/identity", ROLES_REVIEW, ADMIN, ROUTE_JSON | ROUTE_SECRET, route_user_identity},
    {M_POST, "/admin/users/{}/realname", ROLES_REVIEW, ADMIN, ROUTE_JSON, route_user_realname},
    {M_POST, "/admin/users/{}/strike", ROLES_REVIEW, ADMIN, ROUTE_JSON, route_user_strike},
    {M_POST, "/admin/users/{}/adult", ROLES_REVIEW, ADMIN, ROUTE_JSON, route_user_adult},
    {M_POST, "/admin/users/{}/minor", ROLES_REVIEW, ADMIN, ROUTE_JSON, route_user_minor},
    {M_POST, "/admin/users/{}/standing", ROLES_REVIEW, ADMIN, ROUTE_JSON, route_user_standing},
    /* keys, configuration, lexicon, the chain */
    {M_GET, "/admin/keys", ROLES_AUDIT, ADMIN, 0, route_keys_list},
    {M_POST, "/admin/keys", ROLES_ADMIN, ADMIN, ROUTE_JSON, route_keys_create},
    {M_POST, "/admin/keys/revoke", ROLES_ADMIN, ADMIN, ROUTE_JSON, route_keys_revoke_bulk},
    {M_POST, "/admin/keys/{}/revoke", ROLES_ADMIN, ADMIN, 0, route_key_revoke},
    {M_POST, "/admin/pseudonyms/{}", ROLES_AUDIT, ADMIN, ROUTE_JSON | ROUTE_ASYNC, route_pseudonym_lookup},
    {M_GET, "/admin/policy", ROLES_AUDIT, ADMIN, 0, route_policy_get},
    {M_PUT | M_POST, "/admin/policy", ROLES_ADMIN, ADMIN, ROUTE_ASYNC, route_policy_put},
    {M_GET, "/admin/lexicon", ROLES_AUDIT, ADMIN, 0, route_lexicon_get},
    {M_PUT | M_POST | M_DELETE, "/admin/lexicon", ROLES_ADMIN, ADMIN, ROUTE_ASYNC, route_lexicon_change},
    {M_GET, "/admin/audit/verify", ROLES_AUDIT, ADMIN, 0, route_audit_verify},
    {M_GET, "/admin/audit/export", ROLES_AUDIT, ADMIN, 0, route_audit_export},
    {M_POST, "/admin/reload", ROLES_ADMIN, ADMIN, ROUTE_ASYNC, route_reload},
    /* only with a test clock (testclock.c): 404 otherwise */
    {M_GET, "/admin/clock", ROLES_ADMIN, ADMIN, 0, route_clock_get},
    {M_POST, "/admin/clock", ROLES_ADMIN, ADMIN, ROUTE_JSON | ROUTE_ASYNC, route_clock_set},
    /* notifications: the webhook outbox */
    {M_GET, "/admin/webhooks/deliveries", ROLES_READ, ADMIN, 0, route_webhook_deliveries},
    {M_POST, "/admin/webhooks/deliveries/{}/retry", ROLES_ADMIN, ADMIN, 0, route_webhook_retry},
    /* policy and lexicon versions (versions.c) */
    {M_GET, "/admin/versions", ROLES_AUDIT, ADMIN, 0, route_versions_list},
    {M_GET, "/admin/versions/{}", ROLES_AUDIT, ADMIN, 0, route_version_get},
    {M_GET, "/admin/versions/{}/diff", ROLES_AUDIT, ADMIN, ROUTE_ASYNC, route_version_diff},
    {M_POST, "/admin/versions/{}/approve", ROLES_ADMIN, ADMIN, ROUTE_ASYNC, route_version_approve},
    {M_POST, "/admin/versions/{}/reject", ROLES_ADMIN, ADMIN, 0, route_version_reject},
    {M_POST, "/admin/versions/{}/rollback", ROLES_ADMIN, ADMIN, ROUTE_ASYNC, route_version_rollback},
};

/* The request being dispatched on this thread, for route_metrics called by a handler before it returns. */
static _Thread_local const route_req *dispatching;

static const char *method_name(enum evhttp_cmd_type m) {
  switch (m) {
  case EVHTTP_REQ_GET: return "GET";
  case EVHTTP_REQ_POST: return "POST";
  case EVHTTP_REQ_HEAD: return "HEAD";
  case EVHTTP_REQ_PUT: return "PUT";
  case EVHTTP_REQ_DELETE: return "DELETE";
  case EVHTTP_REQ_OPTIONS: return "OPTIONS";
  case EVHTTP_REQ_TRACE: return "TRACE";
  case EVHTTP_REQ_CONNECT: return "CONNECT";
  case EVHTTP_REQ_PATCH: return "PATCH";
  }
  return "OTHER";
}

void route_trace_of(const route_req *rq, route_trace *out) {
  memset(out, 0, sizeof *out);
  if (!rq) rq = dispatching;
  if (!rq) return;
  out->method = method_name(rq->method);
  snprintf(out->path, sizeof out->path, "%s", rq->path ? rq->path : "");
  snprintf(out->request_id, sizeof out->request_id, "%s", rq->request_id);
  out->key_id = rq->key.key_id;
  out->metric = rq->metric;
  out->t0 = rq->t0;
}

void route_finish(gateway *gw, const route_trace *t, int status, const char *verdict, double upstream_s) {
  double seconds = hg_clock_mono_s() - t->t0;
  metrics_request(&gw->metrics, t->metric, status, seconds);
  hg_log_access a = {.request_id = t->request_id,
                     .key_id = t->key_id,
                     .method = t->method,
                     .route = t->path,
                     .status = status,
                     .verdict = verdict,
                     .upstream_ms = upstream_s < 0 ? -1 : upstream_s * 1000,
                     .total_ms = seconds * 1000};
  hg_log_access_write(&gw->log, &a);
}

void route_metrics(gateway *gw, int metric, int status, double t0) {
  route_trace t;
  route_trace_of(NULL, &t);
  t.metric = metric;
  t.t0 = t0;
  route_finish(gw, &t, status, NULL, -1);
}

/* A request id the client chose is kept when it is short and plain (it goes into logs and a header). */
static int sane_request_id(const char *s) {
  size_t n = 0;
  for (; s && s[n]; n++)
    if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= '0' && s[n] <= '9') ||
          s[n] == '-' || s[n] == '_' || s[n] == '.'))
      return 0;
  return n > 0 && n < sizeof(((route_req *)0)->request_id);
}

/* Whether path matches pattern; the "{}" segment's raw text goes to arg. */
static int match(const char *pattern, const char *path, char *arg, size_t cap) {
  const char *p = pattern, *s = path;
  while (*p && *s) {
    if (p[0] == '{' && p[1] == '}') {
      const char *end = strchr(s, '/');
      size_t n = end ? (size_t)(end - s) : strlen(s);
      if (!n || n >= cap) return 0;
      memcpy(arg, s, n);
      arg[n] = 0;
      s += n;
      p += 2;
      continue;
    }
    if (*p++ != *s++) return 0;
  }
  return !*p && !*s;
}

static const char *method_names(unsigned methods, char *buf, size_t cap) {
  static const struct {
    unsigned m;
    const char *name;
  } names[] = {{M_GET, "GET"}, {M_POST, "POST"}, {M_PUT, "PUT"}, {M_DELETE, "DELETE"}};
  size_t used = 0;
  buf[0] = 0;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (methods & names[i].m) used += (size_t)snprintf(buf + used, cap - used, "%s%s", used ? ", " : "", names[i].name);
  return buf;
}

static void wipe_body(struct evhttp_request *req) {
  struct evbuffer *in = evhttp_request_get_input_buffer(req);
  size_t n = evbuffer_get_length(in);
  unsigned char *p = n ? evbuffer_pullup(in, -1) : NULL;
  if (p) sodium_memzero(p, n);
}

static void dispatch(route_req *rq) {
  struct evhttp_request *req = rq->req;
  gateway *gw = rq->gw;
  const char *uri = evhttp_request_get_uri(req);
  char path[2048];
  size_t i = 0;
  while (uri[i] && uri[i] != '?' && i < sizeof path - 1)
    path[i] = uri[i], i++;
  path[i] = 0;
  rq->path = path;
  rq->method = evhttp_request_get_command(req);
  dispatching = rq;
  last_status = 0;
  if (framing_refused(rq->w, req)) { /* bytes a front proxy could read otherwise: 400, and the connection closes */
    route_metrics(gw, R_OTHER, 400, rq->t0);
    return;
  }
  if (uri[i] && uri[i] != '?') { /* never cut a path: a cut one could name another user */
    send_error(req, 414, "invalid_request_error", "the request path is too long", NULL);
    route_metrics(gw, R_OTHER, 414, rq->t0);
    return;
  }
  const route *r = NULL;
  unsigned allowed = 0;
  int known_metric = R_OTHER;
  for (size_t k = 0; k < sizeof routes / sizeof routes[0] && !r; k++) {
    if (!match(routes[k].pattern, path, rq->arg, sizeof rq->arg)) continue;
    known_metric = routes[k].metric;
    if (routes[k].methods & rq->method)
      r = &routes[k];
    else
      allowed |= routes[k].methods;
  }
  if (!r) {
    if (allowed) {
      char names[64], msg[128];
      method_names(allowed, names, sizeof names);
      snprintf(msg, sizeof msg, "use %s on this route", names);
      evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", names);
      send_error(req, 405, "invalid_request_error", msg, NULL);
      route_metrics(gw, known_metric, 405, rq->t0);
    } else {
      send_error(req, 404, "invalid_request_error", "Unknown request URL. Please check the URL and method.",
                 "unknown_url");
      route_metrics(gw, R_OTHER, 404, rq->t0);
    }
    return;
  }
  rq->metric = r->metric;
  if (r->roles) {
    if (authenticate(gw, req, &rq->key) || (r->roles != ROLES_KEY && role_refused(req, &rq->key, r->roles))) {
      if (r->flags & ROUTE_SECRET) wipe_body(req);
      route_metrics(gw, r->metric, last_status, rq->t0);
      return;
    }
  }
  if (r->flags & ROUTE_JSON) {
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    rq->body = hg_json_loadb(n ? (const char *)evbuffer_pullup(in, -1) : "", n, JSON_REJECT_DUPLICATES, NULL);
    if (r->flags & ROUTE_SECRET) wipe_body(req); /* parsed (or malformed): its bytes may hold an ID number */
    if (!json_is_object(rq->body)) {
      json_decref(rq->body);
      send_error(req, 400, "invalid_request_error", "the body must be a JSON object", NULL);
      route_metrics(gw, r->metric, 400, rq->t0);
      return;
    }
  }
  r->fn(rq);
  json_decref(rq->body);
  if (!(r->flags & ROUTE_ASYNC)) route_metrics(gw, r->metric, last_status, rq->t0);
}

void route_dispatch(struct evhttp_request *req, void *arg) {
  worker *w = arg;
  route_req rq = {.w = w, .gw = w->gw, .req = req, .t0 = hg_clock_mono_s(), .metric = R_OTHER};
  const char *asked = evhttp_find_header(evhttp_request_get_input_headers(req), "X-Request-Id");
  if (sane_request_id(asked)) {
    snprintf(rq.request_id, sizeof rq.request_id, "%s", asked);
  } else {
    unsigned char raw[8];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(rq.request_id, sizeof rq.request_id, raw, sizeof raw);
  }
  evhttp_add_header(evhttp_request_get_output_headers(req), "X-Request-Id", rq.request_id);
  dispatch(&rq);
  dispatching = NULL;
}

/* ---- query parameters ---- */

/* The request's query string, parsed into q: 0, or -1 (a 400 sent) when it cannot be parsed. */
static int parse_query(route_req *rq, struct evkeyvalq *q) {
  const char *qs = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(rq->req));
  TAILQ_INIT(q);
  if (qs && evhttp_parse_query_str(qs, q)) {
    send_error(rq->req, 400, "invalid_request_error", "the query string cannot be parsed", NULL);
    return -1;
  }
  return 0;
}

int route_param(route_req *rq, const char *name, char *out, size_t cap) {
  struct evkeyvalq q;
  if (parse_query(rq, &q)) return -1;
  const char *v = evhttp_find_header(&q, name);
  int rc = 0;
  if (v) {
    size_t n = strlen(v);
    if (n >= cap) {
      char msg[160];
      snprintf(msg, sizeof msg, "the parameter '%s' is longer than %zu bytes", name, cap - 1);
      send_error_param(rq->req, 400, "invalid_request_error", msg, name, NULL);
      rc = -1;
    } else {
      memcpy(out, v, n + 1);
      rc = 1;
    }
  }
  evhttp_clear_headers(&q);
  return rc;
}

int route_params_only(route_req *rq, const char *const *known) {
  struct evkeyvalq q;
  if (parse_query(rq, &q)) return -1;
  int rc = 0;
  struct evkeyval *kv;
  TAILQ_FOREACH(kv, &q, next) {
    int ok = 0;
    for (int i = 0; known[i] && !ok; i++)
      ok = !strcmp(kv->key, known[i]);
    if (!ok) {
      char msg[300], list[200] = "";
      size_t n = 0;
      for (int i = 0; known[i] && n < sizeof list; i++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", known[i]);
      snprintf(msg, sizeof msg, "unknown parameter '%.40s'; this route takes %s", kv->key, known[0] ? list : "none");
      send_error_param(rq->req, 400, "invalid_request_error", msg, kv->key, "unknown_parameter");
      rc = -1;
      break;
    }
  }
  evhttp_clear_headers(&q);
  return rc;
}

int route_param_int(route_req *rq, const char *name, int64_t min, int64_t max, int64_t *out) {
  char v[32];
  int rc = route_param(rq, name, v, sizeof v);
  if (rc <= 0) return rc;
  char *end;
  long long n = strtoll(v, &end, 10);
  if (!*v || *end || n < min || n > max) {
    char msg[160];
    snprintf(msg, sizeof msg, "the parameter '%s' must be a whole number from %" PRId64 " to %" PRId64, name, min, max);
    send_error_param(rq->req, 400, "invalid_request_error", msg, name, NULL);
    return -1;
  }
  *out = n;
  return 1;
}

int route_param_bool(route_req *rq, const char *name, int *out) {
  char v[8];
  int rc = route_param(rq, name, v, sizeof v);
  if (rc <= 0) return rc;
  if (!strcmp(v, "1") || !strcmp(v, "true")) {
    *out = 1;
  } else if (!strcmp(v, "0") || !strcmp(v, "false")) {
    *out = 0;
  } else {
    char msg[120];
    snprintf(msg, sizeof msg, "the parameter '%s' is true or false (1 or 0)", name);
    send_error_param(rq->req, 400, "invalid_request_error", msg, name, NULL);
    return -1;
  }
  return 1;
}
