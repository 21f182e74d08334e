/* router.c — the route table and the dispatcher (router.h). Every route of the gateway is one row below: reading
 * the table is reading the API. */
#include "router.h"

#include <event2/buffer.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "framing.h"

#define ADMIN R_ADMIN
#define COMPLY R_COMPLIANCE

static const route routes[] = {
    /* the OpenAI-compatible API */
    {M_POST, "/v1/chat/completions", ROLES_KEY, R_CHAT, ROUTE_ASYNC, route_chat},
    {M_POST, "/v1/completions", ROLES_KEY, R_COMPLETIONS, ROUTE_ASYNC, route_completions},
    {M_GET, "/v1/models", ROLES_KEY, R_MODELS, ROUTE_ASYNC, route_models},
    {M_POST, "/v1/moderations", ROLES_KEY, R_MODERATIONS, 0, route_moderations},
    /* operations */
    {M_GET, "/healthz", 0, R_HEALTH, 0, route_healthz},
    {M_GET, "/readyz", 0, R_HEALTH, 0, route_readyz},
    {M_GET, "/metrics", 0, R_METRICS, 0, route_metrics_text},
    /* the public side of the provider's duties */
    {M_GET, "/compliance/complaints", 0, COMPLY, 0, route_complaints_process},
    {M_POST, "/compliance/complaints", 0, COMPLY, ROUTE_JSON, route_complaints_intake},
    {M_GET, "/compliance/identity", ROLES_KEY, COMPLY, 0, route_identity_get},
    {M_POST, "/compliance/identity", ROLES_KEY, COMPLY, ROUTE_JSON | ROUTE_SECRET, route_identity_submit},
    /* complaints and takedowns */
    {M_GET, "/admin/complaints", ROLES_READ, ADMIN, 0, route_complaints_list},
    {M_POST, "/admin/complaints", ROLES_REVIEW, ADMIN, ROUTE_JSON, route_complaints_enter},
    {M_GET, "/admin/complaints/{}", ROLES_READ, ADMIN, 0, route_complaint_get},
    {M_POST, "/admin/complaints/{}", ROLES_REVIEW, ADMIN, ROUTE_JSON, route_complaint_move},
    {M_GET, "/admin/takedowns", ROLES_READ, ADMIN, 0, route_takedowns_list},
    {M_POST, "/admin/takedowns", ROLES_REVIEW, ADMIN, ROUTE_JSON, route_takedowns_add},
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
    {M_POST, "/admin/users/{}/identity", ROLES_REVIEW, ADMIN, ROUTE_JSON | ROUTE_SECRET, route_user_identity},
    {M_POST, "/admin/users/{}/realname", ROLES_REVIEW, ADMIN, ROUTE_JSON, route_user_realname},
    {M_POST, "/admin/users/{}/strike", ROLES_REVIEW, ADMIN, ROUTE_JSON, route_user_strike},
    {M_POST, "/admin/users/{}/adult", ROLES_REVIEW, ADMIN, ROUTE_JSON, route_user_adult},
    {M_POST, "/admin/users/{}/minor", ROLES_REVIEW, ADMIN, ROUTE_JSON, route_user_minor},
    {M_POST, "/admin/users/{}/standing", ROLES_REVIEW, ADMIN, ROUTE_JSON, route_user_standing},
    /* keys, configuration, lexicon, the chain */
    {M_GET, "/admin/keys", ROLES_AUDIT, ADMIN, 0, route_keys_list},
    {M_POST, "/admin/keys", ROLES_ADMIN, ADMIN, ROUTE_JSON, route_keys_create},
    {M_POST, "/admin/keys/{}/revoke", ROLES_ADMIN, ADMIN, 0, route_key_revoke},
    {M_GET, "/admin/policy", ROLES_AUDIT, ADMIN, 0, route_policy_get},
    {M_PUT | M_POST, "/admin/policy", ROLES_ADMIN, ADMIN, ROUTE_ASYNC, route_policy_put},
    {M_GET, "/admin/lexicon", ROLES_AUDIT, ADMIN, 0, route_lexicon_get},
    {M_PUT | M_POST | M_DELETE, "/admin/lexicon", ROLES_ADMIN, ADMIN, ROUTE_ASYNC, route_lexicon_change},
    {M_GET, "/admin/audit/verify", ROLES_AUDIT, ADMIN, 0, route_audit_verify},
    {M_GET, "/admin/audit/export", ROLES_AUDIT, ADMIN, 0, route_audit_export},
    {M_POST, "/admin/reload", ROLES_ADMIN, ADMIN, ROUTE_ASYNC, route_reload},
    /* policy and lexicon versions (versions.c) */
    {M_GET, "/admin/versions", ROLES_AUDIT, ADMIN, 0, route_versions_list},
    {M_GET, "/admin/versions/{}", ROLES_AUDIT, ADMIN, 0, route_version_get},
    {M_GET, "/admin/versions/{}/diff", ROLES_AUDIT, ADMIN, ROUTE_ASYNC, route_version_diff},
    {M_POST, "/admin/versions/{}/approve", ROLES_ADMIN, ADMIN, ROUTE_ASYNC, route_version_approve},
    {M_POST, "/admin/versions/{}/reject", ROLES_ADMIN, ADMIN, 0, route_version_reject},
    {M_POST, "/admin/versions/{}/rollback", ROLES_ADMIN, ADMIN, ROUTE_ASYNC, route_version_rollback},
};

void route_metrics(gateway *gw, int metric, int status, double t0) {
  metrics_request(&gw->metrics, metric, status, hg_clock_mono_s() - t0);
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

void route_dispatch(struct evhttp_request *req, void *arg) {
  worker *w = arg;
  gateway *gw = w->gw;
  route_req rq = {.w = w, .gw = gw, .req = req, .t0 = hg_clock_mono_s(), .metric = R_OTHER};
  const char *uri = evhttp_request_get_uri(req);
  char path[2048];
  size_t i = 0;
  while (uri[i] && uri[i] != '?' && i < sizeof path - 1)
    path[i] = uri[i], i++;
  path[i] = 0;
  rq.path = path;
  rq.method = evhttp_request_get_command(req);
  last_status = 0;
  if (framing_refused(w, req)) { /* bytes a front proxy could read otherwise: 400, and the connection closes */
    route_metrics(gw, R_OTHER, 400, rq.t0);
    return;
  }
  if (uri[i] && uri[i] != '?') { /* never cut a path: a cut one could name another user */
    send_error(req, 414, "invalid_request_error", "the request path is too long", NULL);
    route_metrics(gw, R_OTHER, 414, rq.t0);
    return;
  }
  const route *r = NULL;
  unsigned allowed = 0;
  int known_metric = R_OTHER;
  for (size_t k = 0; k < sizeof routes / sizeof routes[0] && !r; k++) {
    if (!match(routes[k].pattern, path, rq.arg, sizeof rq.arg)) continue;
    known_metric = routes[k].metric;
    if (routes[k].methods & rq.method)
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
      route_metrics(gw, known_metric, 405, rq.t0);
    } else {
      send_error(req, 404, "invalid_request_error", "Unknown request URL. Please check the URL and method.",
                 "unknown_url");
      route_metrics(gw, R_OTHER, 404, rq.t0);
    }
    return;
  }
  rq.metric = r->metric;
  if (r->roles) {
    if (authenticate(gw, req, &rq.key) || (r->roles != ROLES_KEY && role_refused(req, &rq.key, r->roles))) {
      if (r->flags & ROUTE_SECRET) wipe_body(req);
      route_metrics(gw, r->metric, last_status, rq.t0);
      return;
    }
  }
  if (r->flags & ROUTE_JSON) {
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    rq.body = json_loadb(n ? (const char *)evbuffer_pullup(in, -1) : "", n, JSON_REJECT_DUPLICATES, NULL);
    if (r->flags & ROUTE_SECRET) wipe_body(req); /* parsed (or malformed): its bytes may hold an ID number */
    if (!json_is_object(rq.body)) {
      json_decref(rq.body);
      send_error(req, 400, "invalid_request_error", "the body must be a JSON object", NULL);
      route_metrics(gw, r->metric, 400, rq.t0);
      return;
    }
  }
  r->fn(&rq);
  json_decref(rq.body);
  if (!(r->flags & ROUTE_ASYNC)) route_metrics(gw, r->metric, last_status, rq.t0);
}
