/* review.c — the review queue: a person in the loop. Answers whose verdict is `review` (a lexicon entry, a rule or
 * policy.actions asked for it) and a share of allowed answers (review.sample_rate, the manual checks of a security
 * assessment) become items in the store; reviewers list them, read the prompt and the answer as the audit record
 * keeps them, assign them, and decide allow or block with a note. A decision is an audit record naming the
 * reviewer; a blocked answer can become a takedown so that it cannot come back. The sample's pass rate per day is
 * what GET /admin/review/stats reports.
 *
 * Routes (docs/workflows.md, "Review queue"):
 *   GET  /admin/review[?status=open|allowed|blocked&limit=N]   reviewer, admin, auditor
 *   GET  /admin/review/stats[?days=N]                          reviewer, admin, auditor
 *   GET  /admin/review/{id}                                    reviewer, admin, auditor (with the texts)
 *   POST /admin/review/{id}  {assign} | {decision, note, takedown}   reviewer, admin */
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/clock.h"
#include "base/mix.h"
#include "gateway.h"
#include "router.h"

#define REVIEW_LIST_MAX 1000
#define REVIEW_NOTE_MAX 2000

/* Whether an allowed answer is in the sample: a hash of its response id (random per answer) against the share, so
 * the choice is independent of the user, the time and the text. */
static int sampled(const char *response_id, double rate) {
  if (rate <= 0.0) return 0;
  if (rate >= 1.0) return 1;
  uint64_t h = 0x9E3779B97F4A7C15ull;
  for (const unsigned char *p = (const unsigned char *)response_id; *p; p++)
    h = hg_mix64(h ^ *p);
  return (double)(h >> 11) * 0x1.0p-53 < rate;
}

void review_enqueue(gateway *gw, const hg_config *cfg, const char *response_id, const char *actor, const char *route,
                    const char *verdict, json_t *detail, int answered) {
  int review = !strcmp(verdict, "review");
  int sample = !review && answered && !strcmp(verdict, "allow") && sampled(response_id, cfg->review_sample_rate);
  if (!review && !sample) return;
  json_t *why = json_object();
  static const char *const members[] = {"input_hits", "input_pii", "output_hits", "output_pii", "guard", NULL};
  for (int i = 0; members[i]; i++) {
    json_t *v = json_object_get(detail, members[i]);
    if (v && !(json_is_array(v) && !json_array_size(v))) json_object_set(why, members[i], v);
  }
  char *reasons = json_object_size(why) ? hg_json_dumps(why, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref(why);
  hg_review_item it = {.response_id = response_id,
                       .actor = actor,
                       .route = route,
                       .verdict = verdict,
                       .sampled = sample,
                       .reasons = reasons};
  int64_t id;
  hg_error err;
  if (hg_store_review_add(gw->store, &it, hg_clock_wall_ms(), &id, &err))
    hg_log_write(&gw->log, HG_LOG_ERROR, "review item for %s not queued: %s", response_id, err.message);
  free(reasons);
}

/* ---- the routes ---- */

static json_t *item_json(const hg_review_item *it) {
  json_t *j = json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:b, s:s}", "id", (json_int_t)it->id, "created_ms",
                        (json_int_t)it->created_ms, "response_id", it->response_id, "actor", it->actor, "route",
                        it->route, "verdict", it->verdict, "sampled", it->sampled, "status", it->status);
  json_t *reasons = it->reasons ? json_loads(it->reasons, 0, NULL) : NULL;
  json_object_set_new(j, "reasons", reasons ? reasons : json_object());
  json_object_set_new(j, "assignee", it->assignee ? json_string(it->assignee) : json_null());
  if (it->decided_ms) {
    json_object_set_new(j, "decided_ms", json_integer(it->decided_ms));
    json_object_set_new(j, "decided_by", it->decided_by ? json_string(it->decided_by) : json_null());
    json_object_set_new(j, "note", it->note ? json_string(it->note) : json_null());
  }
  return j;
}

static int list_item(void *ctx, const hg_review_item *it) {
  json_array_append_new(ctx, item_json(it));
  return 0;
}

static int one_item(void *ctx, const hg_review_item *it) {
  *(json_t **)ctx = item_json(it);
  return 1;
}

typedef struct day_walk {
  json_t *days;
  int64_t decided, allowed;
} day_walk;

static int add_day(void *ctx, int64_t day_start_ms, int64_t decided, int64_t allowed) {
  day_walk *d = ctx;
  d->decided += decided;
  d->allowed += allowed;
  json_array_append_new(d->days, json_pack("{s:I, s:I, s:I, s:f}", "day_start_ms", (json_int_t)day_start_ms, "decided",
                                           (json_int_t)decided, "allowed", (json_int_t)allowed, "pass_rate",
                                           decided ? (double)allowed / (double)decided : 0.0));
  return 0;
}

/* A query parameter as a whole number in [lo, hi]; def when absent; -1 after a 400 when malformed. */
static long long query_number(struct evhttp_request *req, struct evkeyvalq *params, const char *name, long long lo,
                              long long hi, long long def) {
  const char *v = evhttp_find_header(params, name);
  if (!v) return def;
  char *end;
  long long n = strtoll(v, &end, 10);
  if (!*v || *end || n < lo || n > hi) {
    char msg[160];
    snprintf(msg, sizeof msg, "%s: expected a whole number from %lld to %lld", name, lo, hi);
    send_error_param(req, 400, "invalid_request_error", msg, name, NULL);
    return -1;
  }
  return n;
}

static void list_items(gateway *gw, struct evhttp_request *req) {
  struct evkeyvalq params = {0};
  const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
  if (q && evhttp_parse_query_str(q, &params)) {
    send_error(req, 400, "invalid_request_error", "the query string cannot be read", NULL);
    return;
  }
  const char *status = q ? evhttp_find_header(&params, "status") : NULL;
  long long limit = q ? query_number(req, &params, "limit", 1, REVIEW_LIST_MAX, 100) : 100;
  hg_error err;
  json_t *items = json_array();
  if (limit < 0) {
    /* the 400 is sent */
  } else if (status && strcmp(status, "open") && strcmp(status, "allowed") && strcmp(status, "blocked")) {
    send_error_param(req, 400, "invalid_request_error", "status: expected open, allowed or blocked", "status", NULL);
  } else if (hg_store_review_list(gw->store, status, limit, list_item, items, &err)) {
    send_error(req, 503, "server_error", err.message, NULL);
  } else {
    send_json(req, 200, json_pack("{s:O}", "items", items));
  }
  json_decref(items);
  if (q) evhttp_clear_headers(&params);
}

static void stats(gateway *gw, struct evhttp_request *req) {
  struct evkeyvalq params = {0};
  const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
  if (q && evhttp_parse_query_str(q, &params)) {
    send_error(req, 400, "invalid_request_error", "the query string cannot be read", NULL);
    return;
  }
  long long days = q ? query_number(req, &params, "days", 1, 3660, 30) : 30;
  if (q) evhttp_clear_headers(&params);
  if (days < 0) return;
  const hg_config *cfg = live_cfg(gw);
  int64_t offset = (int64_t)cfg->utc_offset_minutes * 60000, now = hg_clock_wall_ms();
  /* from the local midnight days-1 days ago */
  int64_t since = ((now + offset) / 86400000 - (days - 1)) * 86400000 - offset;
  day_walk d = {json_array(), 0, 0};
  int64_t open = 0;
  hg_error err;
  if (hg_store_review_stats(gw->store, since, offset, &open, add_day, &d, &err)) {
    json_decref(d.days);
    send_error(req, 503, "server_error", err.message, NULL);
    return;
  }
  send_json(req, 200,
            json_pack("{s:I, s:f, s:I, s:{s:I, s:I, s:I, s:o*, s:o}}", "open", (json_int_t)open, "sample_rate",
                      cfg->review_sample_rate, "since_ms", (json_int_t)since, "sample", "decided",
                      (json_int_t)d.decided, "allowed", (json_int_t)d.allowed, "blocked",
                      (json_int_t)(d.decided - d.allowed), "pass_rate",
                      d.decided ? json_real((double)d.allowed / (double)d.decided) : NULL, "days", d.days));
}

static void show(gateway *gw, struct evhttp_request *req, int64_t id) {
  json_t *item = NULL;
  hg_error err;
  hg_status st = hg_store_review_get(gw->store, id, one_item, &item, &err);
  if (st) {
    send_error(req, st == HG_ERR_NOT_FOUND ? 404 : 503,
               st == HG_ERR_NOT_FOUND ? "invalid_request_error" : "server_error", err.message, NULL);
    return;
  }
  char *input = NULL, *output = NULL;
  answer_texts(gw, json_string_value(json_object_get(item, "response_id")), &input, &output, &err);
  /* what the retention policy kept: null when audit.retain_text is none or the text was erased */
  json_object_set_new(item, "input", input ? json_string(input) : json_null());
  json_object_set_new(item, "output", output ? json_string(output) : json_null());
  free(input);
  free(output);
  send_json(req, 200, item);
}

static void decide(gateway *gw, struct evhttp_request *req, const hg_key_info *key, json_t *request_body, int64_t id) {
  json_t *body = json_incref(request_body); /* released on every path below */
  static const char *const allowed[] = {"decision", "note", "takedown", "assign", NULL};
  if (only_members(req, body, allowed)) {
    json_decref(body);
    return;
  }
  json_t *assign = json_object_get(body, "assign"), *td = json_object_get(body, "takedown");
  const char *decision = json_string_value(json_object_get(body, "decision"));
  json_t *note_j = json_object_get(body, "note");
  const char *note = json_string_value(note_j);
  const char *problem = NULL, *param = NULL;
  if (assign && json_object_get(body, "decision"))
    problem = "assign and decide in separate calls", param = "assign";
  else if (assign && !json_is_null(assign) &&
           (!json_is_string(assign) || !json_string_length(assign) || json_string_length(assign) > 64))
    problem = "assign: expected the reviewer's name (1-64 bytes), or null to unassign", param = "assign";
  else if (!assign && (!decision || (strcmp(decision, "allow") && strcmp(decision, "block"))))
    problem = "decision: expected allow or block", param = "decision";
  else if (note_j && (!note || strlen(note) > REVIEW_NOTE_MAX))
    problem = "note: expected a text of at most 2000 bytes", param = "note";
  else if (td && (!json_is_boolean(td) || (json_is_true(td) && (!decision || strcmp(decision, "block")))))
    problem = "takedown: true only with decision block", param = "takedown";
  if (problem) {
    send_error_param(req, 400, "invalid_request_error", problem, param, NULL);
    json_decref(body);
    return;
  }
  hg_error err;
  json_t *item = NULL;
  hg_status st = hg_store_review_get(gw->store, id, one_item, &item, &err);
  if (st) {
    send_error(req, st == HG_ERR_NOT_FOUND ? 404 : 503,
               st == HG_ERR_NOT_FOUND ? "invalid_request_error" : "server_error", err.message, NULL);
    json_decref(body);
    return;
  }
  const char *rid = json_string_value(json_object_get(item, "response_id"));
  if (strcmp(json_string_value(json_object_get(item, "status")), "open")) {
    send_error(req, 409, "invalid_request_error", "this item was decided already", "conflict");
    goto out;
  }
  if (assign) {
    const char *who = json_string_value(assign);
    if ((st = hg_store_review_assign(gw->store, id, who, &err))) {
      send_error(req, st == HG_ERR_CONFLICT ? 409 : 503,
                 st == HG_ERR_CONFLICT ? "invalid_request_error" : "server_error", err.message, NULL);
      goto out;
    }
    admin_record(gw, key, "admin/review", "assigned",
                 json_pack("{s:I, s:s, s:o}", "item", (json_int_t)id, "response_id", rid, "assignee",
                           who ? json_string(who) : json_null()));
  } else {
    /* a takedown first, so that a failure changes nothing; the answer must still be retained */
    int64_t td_id = 0;
    if (json_is_true(td)) {
      char *output = NULL;
      answer_texts(gw, rid, NULL, &output, &err);
      if (!output) {
        send_error_param(req, 422, "invalid_request_error",
                         "the answer of this item is not retained; add its text with POST /admin/takedowns", "takedown",
                         NULL);
        goto out;
      }
      int bad = add_takedown(gw, output, 0, &td_id, &err);
      free(output);
      if (bad) {
        send_error_param(req, 422, "invalid_request_error", err.message, "takedown", NULL);
        goto out;
      }
    }
    char by[160];
    snprintf(by, sizeof by, "%s", key->user);
    const char *status = !strcmp(decision, "allow") ? "allowed" : "blocked";
    if ((st = hg_store_review_decide(gw->store, id, status, by, note, hg_clock_wall_ms(), &err))) {
      send_error(req, st == HG_ERR_CONFLICT ? 409 : 503,
                 st == HG_ERR_CONFLICT ? "invalid_request_error" : "server_error", err.message, NULL);
      goto out;
    }
    json_t *d = json_pack("{s:I, s:s, s:b}", "item", (json_int_t)id, "response_id", rid, "sampled",
                          json_is_true(json_object_get(item, "sampled")));
    if (note) json_object_set_new(d, "note", json_string(note));
    if (td_id) json_object_set_new(d, "takedown", json_integer(td_id));
    admin_record(gw, key, "admin/review", status, d);
  }
  json_decref(item);
  item = NULL;
  hg_store_review_get(gw->store, id, one_item, &item, &err);
  send_json(req, 200, item);
  item = NULL;
out:
  json_decref(item);
  json_decref(body);
}

void route_review_list(route_req *rq) { list_items(rq->gw, rq->req); }

void route_review_stats(route_req *rq) { stats(rq->gw, rq->req); }

/* The item id of rq->arg, or a 404 (sent) and 0. */
static int64_t item_arg(route_req *rq) {
  char *end;
  long long id = strtoll(rq->arg, &end, 10);
  if (*end || id <= 0) {
    send_error(rq->req, 404, "invalid_request_error", "no such review item", NULL);
    return 0;
  }
  return id;
}

void route_review_get(route_req *rq) {
  int64_t id = item_arg(rq);
  if (id) show(rq->gw, rq->req, id);
}

void route_review_decide(route_req *rq) {
  int64_t id = item_arg(rq);
  if (id) decide(rq->gw, rq->req, &rq->key, rq->body, id);
}
