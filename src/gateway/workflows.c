/* workflows.c — the provider's duties as routes: the public complaint channel and its published process
 * (Art. 13; Interim Art. 15), tickets for reviewers, takedowns that keep reported content from coming back
 * (Art. 15), and the strike ladder that suspends and terminates abusive users (Art. 19). Every admin action leaves
 * an audit record naming the admin. Takedowns live in the store; every gateway polls its version and rebuilds
 * its fingerprint set, so a takedown applies everywhere within a second. */
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/json.h"
#include "complaints.h"
#include "gateway.h"
#include "hegui/text.h"
#include "router.h"

/* The complaint types are the store's (hegui/complaints.h): a type's number indexes its time limit in the
 * configuration. */
_Static_assert(sizeof((hg_config *)0)->complaint_due_hours == HG_COMPLAINT_TYPES * sizeof(unsigned),
               "one time limit per complaint type");

json_t *read_json_body(struct evhttp_request *req) {
  struct evbuffer *in = evhttp_request_get_input_buffer(req);
  size_t n = evbuffer_get_length(in);
  return hg_json_loadb((const char *)evbuffer_pullup(in, -1), n, JSON_REJECT_DUPLICATES, NULL);
}

/* Rejects members other than the allowed ones: a typo must not be silently ignored. */
int only_members(struct evhttp_request *req, json_t *body, const char *const *allowed) {
  const char *key;
  json_t *v;
  json_object_foreach(body, key, v) {
    int ok = 0;
    for (int i = 0; allowed[i]; i++)
      ok |= !strcmp(key, allowed[i]);
    if (!ok) {
      char msg[200];
      snprintf(msg, sizeof msg, "unknown field '%.60s'", key);
      send_error(req, 400, "invalid_request_error", msg, "unknown_field");
      return -1;
    }
  }
  return 0;
}

void audit_event(gateway *gw, const char *actor, const char *route, const char *verdict, json_t *detail) {
  char *d = detail ? hg_json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  hg_audit_record r = {0};
  r.actor = actor;
  r.route = route;
  r.verdict = verdict;
  r.detail_json = d;
  hg_error err;
  if (hg_store_audit_append(gw->store, &r, &err))
    hg_log_write(&gw->log, HG_LOG_ERROR, "audit record not written: %s", err.message);
  free(d);
  json_decref(detail);
}

int role_refused(struct evhttp_request *req, const hg_key_info *key, unsigned mask) {
  if (mask & (1u << key->role)) return 0;
  char msg[120] = "this call needs a";
  static const hg_role order[] = {HG_ROLE_REVIEWER, HG_ROLE_ADMIN, HG_ROLE_AUDITOR};
  int n = 0, total = 0;
  for (int i = 0; i < 3; i++)
    total += (mask >> order[i]) & 1;
  for (int i = 0; i < 3; i++) {
    if (!((mask >> order[i]) & 1)) continue;
    const char *name = hg_role_name(order[i]);
    const char *sep = n == 0 ? (name[0] == 'a' ? "n " : " ") : n == total - 1 ? " or " : ", ";
    snprintf(msg + strlen(msg), sizeof msg - strlen(msg), "%s%s", sep, name);
    n++;
  }
  snprintf(msg + strlen(msg), sizeof msg - strlen(msg), " key");
  send_error(req, 403, "permission_error", msg, NULL);
  return -1;
}

void admin_record(gateway *gw, const hg_key_info *key, const char *route, const char *verdict, json_t *detail) {
  char actor[160];
  snprintf(actor, sizeof actor, "admin:%s", key->user);
  audit_event(gw, actor, route, verdict, detail);
}

/* ---- takedowns ---- */

typedef struct td_collect {
  hg_takedown_entry *v;
  char **texts;
  size_t n, cap;
} td_collect;

static int collect_takedown(void *ctx, int64_t id, const char *text, int64_t created_ms, int64_t expires_ms) {
  (void)created_ms, (void)expires_ms;
  td_collect *c = ctx;
  if (c->n == c->cap) {
    c->cap = c->cap ? c->cap * 2 : 64;
    c->v = realloc(c->v, c->cap * sizeof *c->v);
    c->texts = realloc(c->texts, c->cap * sizeof *c->texts);
    if (!c->v || !c->texts) return 1;
  }
  c->texts[c->n] = strdup(text);
  c->v[c->n] = (hg_takedown_entry){id, c->texts[c->n], strlen(text)};
  c->n++;
  return 0;
}

void refresh_takedowns(gateway *gw, int force) {
  int64_t version = 0;
  hg_error err;
  if (hg_store_takedown_version(gw->store, &version, &err)) return;
  if (!force && version == gw->takedown_version) return;
  td_collect c = {0};
  if (hg_store_takedown_each(gw->store, hg_clock_wall_ms(), collect_takedown, &c, &err)) goto out;
  hg_takedown_set *set = NULL;
  if (c.n && hg_takedown_set_build(c.v, c.n, NULL, &set, &err)) {
    hg_log_write(&gw->log, HG_LOG_ERROR, "takedowns not rebuilt: %s", err.message);
    goto out;
  }
  pthread_mutex_lock(&gw->takedown_lock);
  hg_takedown_set *old = gw->takedowns;
  gw->takedowns = set;
  gw->takedown_version = version;
  pthread_mutex_unlock(&gw->takedown_lock);
  if (old) hg_takedown_set_unref(old);
out:
  for (size_t i = 0; i < c.n; i++)
    free(c.texts[i]);
  free(c.v);
  free(c.texts);
}

hg_takedown_set *acquire_takedowns(gateway *gw) {
  pthread_mutex_lock(&gw->takedown_lock);
  hg_takedown_set *s = gw->takedowns ? hg_takedown_set_ref(gw->takedowns) : NULL;
  pthread_mutex_unlock(&gw->takedown_lock);
  return s;
}

int add_takedown(gateway *gw, const char *text, int64_t complaint_id, int64_t *id, hg_error *err) {
  const hg_config *cfg = live_cfg(gw);
  int64_t now = hg_clock_wall_ms();
  int64_t expires = cfg->takedown_days ? now + (int64_t)cfg->takedown_days * 86400000 : 0;
  /* refuse what could never match, or would match far too much, before it is stored */
  char *folded;
  size_t flen, chars = 0;
  if (hg_fold_text(text, strlen(text), 1, &folded, &flen, err)) return -1;
  for (size_t i = 0; i < flen; i++)
    chars += ((unsigned char)folded[i] & 0xC0) != 0x80;
  free(folded);
  if (chars < 8) {
    snprintf(err->message, sizeof err->message,
             "a takedown needs at least 8 letters or digits to fingerprint (this one has %zu): a shorter text "
             "belongs in the lexicon",
             chars);
    return -1;
  }
  hg_takedown_entry e = {1, text, strlen(text)};
  hg_takedown_set *probe;
  if (hg_takedown_set_build(&e, 1, NULL, &probe, err)) return -1;
  hg_takedown_set_unref(probe);
  if (hg_store_takedown_add(gw->store, text, complaint_id, now, expires, id, err)) return -1;
  atomic_store(&gw->takedown_refresh, 1);
  refresh_takedowns(gw, 1);
  return 0;
}

/* The texts of a ProduceID, from its audit record (kept as the retention policy allows). */
typedef struct find_answer {
  const char *id;
  char *text;  /* the answer */
  char *input; /* the prompt */
} find_answer;

static int match_answer(void *ctx, const hg_audit_record *r) {
  find_answer *f = ctx;
  if (!r->detail_json || !r->text) return 0;
  json_t *d = json_loads(r->detail_json, 0, NULL);
  const char *rid = json_string_value(json_object_get(d, "response_id"));
  if (rid && !strcmp(rid, f->id)) {
    json_t *t = json_loads(r->text, 0, NULL);
    const char *out = json_string_value(json_object_get(t, "output"));
    const char *in = json_string_value(json_object_get(t, "input"));
    free(f->text);
    free(f->input);
    f->text = out && *out ? strdup(out) : NULL;
    f->input = in && *in ? strdup(in) : NULL;
    json_decref(t);
  }
  json_decref(d);
  return 0;
}

int answer_texts(gateway *gw, const char *response_id, char **input, char **output, hg_error *err) {
  find_answer f = {response_id, NULL, NULL};
  audit_flush(gw); /* the answer's record may still be queued (group commit) */
  hg_status st = hg_store_audit_each(gw->store, 1, match_answer, &f, err);
  if (input)
    *input = f.input;
  else
    free(f.input);
  if (output)
    *output = f.text;
  else
    free(f.text);
  return st ? -1 : 0;
}

/* ---- strikes ---- */

hg_standing strike_would_move(gateway *gw, const hg_config *cfg, const char *user, int64_t *until_ms) {
  return record_strike_would_move(read_store(gw), cfg, user, hg_clock_wall_ms(), until_ms);
}

void strike_followup(gateway *gw, const char *user, const strike_outcome *o, int64_t audit_seq) {
  if (!o->moved) return;
  webhook_user_suspended(gw, user, o->to, o->until_ms, "ladder", o->reason);
  char who[33];
  pseudonym(gw, user, who); /* the chain keeps records for years: it names users only by pseudonym */
  hg_error err;
  record_standing_moved(gw->store, who, o, audit_seq, &err);
}

void record_strike(gateway *gw, const hg_config *cfg, const char *user, int blocked, int64_t audit_seq) {
  strike_outcome o;
  hg_error err;
  int64_t run = 0;
  /* an allowed input ends a run of blocked ones; with no run (nearly always) there is nothing to write, and the
   * worker's read connection says so without waiting on the writing one, which the audit writer may hold */
  if (!blocked && !hg_store_strike_run(read_store(gw), user, &run, &err) && run == 0) return;
  if (!record_strike_count(gw->store, cfg, user, blocked, audit_seq, hg_clock_wall_ms(), &o, &err))
    strike_followup(gw, user, &o, audit_seq);
}

/* ---- public complaint channel ---- */

/* 0 when the client may file one more complaint this minute; otherwise the seconds until it may (Retry-After). */
static int rate_limited(gateway *gw, struct evhttp_request *req) {
  char *addr = NULL;
  ev_uint16_t port;
  struct evhttp_connection *conn = evhttp_request_get_connection(req);
  if (conn) evhttp_connection_get_peer(conn, &addr, &port);
  uint32_t h = 2166136261u;
  for (const char *p = addr ? addr : ""; *p; p++)
    h = (h ^ (uint8_t)*p) * 16777619u;
  int64_t now = hg_clock_wall_ms(), minute = now / 60000;
  pthread_mutex_lock(&gw->rate_lock);
  struct rate_slot *s = &gw->rate[h % (sizeof gw->rate / sizeof *gw->rate)];
  if (s->key != h || s->minute != minute) s->key = h, s->minute = minute, s->count = 0;
  int over = ++s->count > live_cfg(gw)->complaint_rate_per_minute;
  pthread_mutex_unlock(&gw->rate_lock);
  return over ? (int)(60 - (now / 1000) % 60) : 0;
}

/* Adds to a new ticket's answer the secret with which the complainant follows it (GET /compliance/complaints/{id}).
 * The ticket is already on disk: a secret that cannot be made is said in the answer (staff can issue one later with
 * POST /admin/complaints/{id}/secret), never a reason to lose the acknowledgement. */
static json_t *with_secret(gateway *gw, int64_t id, json_t *out) {
  char secret[HG_COMPLAINT_SECRET_MAX];
  hg_error err;
  if (hg_store_complaint_new_secret(gw->store, id, secret, &err)) {
    json_object_set_new(out, "secret", json_null());
    json_object_set_new(out, "secret_error", json_string(err.message));
    return out;
  }
  char follow[96];
  snprintf(follow, sizeof follow, "/compliance/complaints/%lld", (long long)id);
  json_object_set_new(out, "secret", json_string(secret));
  json_object_set_new(out, "follow", json_string(follow));
  sodium_memzero(secret, sizeof secret);
  return out;
}

/* POST /admin/complaints: a complaint that came by telephone, e-mail, letter or in person, entered by staff with the
 * time it arrived (its time limit runs from then) and the channel the complainant is answered by. */
void route_complaints_enter(route_req *rq) {
  gateway *gw = rq->gw;
  struct evhttp_request *req = rq->req;
  const hg_key_info *key = &rq->key;
  static const char *const allowed[] = {"type", "produce_id", "text", "contact", "channel", "received_ms", NULL};
  json_t *body = json_incref(rq->body); /* released on every path below */
  if (only_members(req, body, allowed)) {
    json_decref(body);
    return;
  }
  const hg_config *cfg = live_cfg(gw);
  const char *type = json_string_value(json_object_get(body, "type"));
  const char *channel = json_string_value(json_object_get(body, "channel"));
  json_t *rv = json_object_get(body, "received_ms");
  hg_complaint_type ti = HG_COMPLAINT_OTHER;
  int typed = !hg_complaint_type_parse(type, &ti);
  int64_t now = hg_clock_wall_ms(), received = json_is_integer(rv) ? (int64_t)json_integer_value(rv) : now;
  const char *problem = NULL, *param = NULL;
  char types[96], type_problem[128];
  if (!typed) {
    hg_complaint_type_list(types, sizeof types);
    snprintf(type_problem, sizeof type_problem, "type must be one of %s", types);
    problem = type_problem, param = "type";
  } else if (!channel)
    problem = "channel is required: phone, email, letter, in_person or web", param = "channel";
  else if (rv && (!json_is_integer(rv) || received <= 0 || received > now))
    problem = "received_ms is when the complaint arrived: Unix milliseconds, not in the future", param = "received_ms";
  if (problem) {
    send_error_param(req, 400, "invalid_request_error", problem, param, NULL);
    json_decref(body);
    return;
  }
  int64_t id = 0, due = received + (int64_t)cfg->complaint_due_hours[ti] * 3600000;
  hg_error err;
  hg_status st =
      hg_store_complaint_add_from(gw->store, channel, type, json_string_value(json_object_get(body, "produce_id")),
                                  json_string_value(json_object_get(body, "text")),
                                  json_string_value(json_object_get(body, "contact")), received, due, &id, &err);
  char chan[16];
  snprintf(chan, sizeof chan, "%s", channel); /* channel points into body */
  channel = chan;
  json_decref(body);
  if (st) {
    send_error(req, st == HG_ERR_INVALID ? 400 : 503, st == HG_ERR_INVALID ? "invalid_request_error" : "server_error",
               err.message, NULL);
    return;
  }
  admin_record(gw, key, "admin/complaint-entry", "received",
               json_pack("{s:I, s:s, s:s, s:I, s:I}", "complaint_id", (json_int_t)id, "type",
                         hg_complaint_type_name(ti), "channel", channel, "received_ms", (json_int_t)received, "due_ms",
                         (json_int_t)due));
  send_json(req, 201,
            with_secret(gw, id,
                        json_pack("{s:I, s:s, s:s, s:I, s:I}", "id", (json_int_t)id, "status", "received", "channel",
                                  channel, "received_ms", (json_int_t)received, "due_ms", (json_int_t)due)));
}

/* POST /compliance/complaints: the public intake (no key), rate-limited per client address */
void route_complaints_intake(route_req *rq) {
  gateway *gw = rq->gw;
  const hg_config *cfg = live_cfg(gw);
  struct evhttp_request *req = rq->req;
  int retry = rate_limited(gw, req);
  if (retry) {
    char v[16];
    snprintf(v, sizeof v, "%d", retry);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", v);
    send_error(req, 429, "rate_limit_exceeded", "too many complaints from this address; try again in a minute", NULL);
    return;
  }
  json_t *body = json_incref(rq->body); /* released on every path below */
  static const char *const allowed[] = {"type", "produce_id", "text", "contact", NULL};
  if (only_members(req, body, allowed)) {
    json_decref(body);
    return;
  }
  const char *type = json_string_value(json_object_get(body, "type"));
  hg_complaint_type ti = HG_COMPLAINT_OTHER;
  int typed = !hg_complaint_type_parse(type, &ti);
  const char *pid = json_string_value(json_object_get(body, "produce_id"));
  const char *text = json_string_value(json_object_get(body, "text"));
  const char *contact = json_string_value(json_object_get(body, "contact"));
  if (!typed || (!pid && !text)) {
    char types[96], msg[160];
    hg_complaint_type_list(types, sizeof types);
    snprintf(msg, sizeof msg, "type must be one of %s; give produce_id or text", types);
    send_error(req, 400, "invalid_request_error", msg, NULL);
    json_decref(body);
    return;
  }
  int64_t now = hg_clock_wall_ms(), id = 0, due = now + (int64_t)cfg->complaint_due_hours[ti] * 3600000;
  hg_error err;
  /* the ticket is on disk before the 2xx goes out: an acknowledged complaint is never lost */
  hg_status st = hg_store_complaint_add(gw->store, type, pid, text, contact, now, due, &id, &err);
  int has_pid = pid != NULL;
  json_decref(body); /* type, pid, text and contact point into it */
  if (st) {
    send_error(req, st == HG_ERR_INVALID ? 400 : 503, st == HG_ERR_INVALID ? "invalid_request_error" : "server_error",
               err.message, NULL);
    return;
  }
  /* the intake is in the chain like every other step of the ticket (not its text or contact: personal data) */
  audit_event(gw, "public", "complaints/intake", "received",
              json_pack("{s:I, s:s, s:I, s:b}", "complaint_id", (json_int_t)id, "type", hg_complaint_type_name(ti),
                        "due_ms", (json_int_t)due, "produce_id_given", has_pid));
  send_json(
      req, 201,
      with_secret(gw, id,
                  json_pack("{s:I, s:s, s:I}", "id", (json_int_t)id, "status", "received", "due_ms", (json_int_t)due)));
}

/* ---- admin ---- */

typedef struct list_ctx {
  json_t *arr;
} list_ctx;

/* The ticket of rq->arg, or a 404 (sent) and -1. */
static int complaint_arg(route_req *rq, hg_complaint *c) {
  char *end;
  long long id = strtoll(rq->arg, &end, 10);
  hg_error err;
  if (*end || id <= 0 || hg_store_complaint_get(rq->gw->store, id, c, &err)) {
    send_error(rq->req, 404, "invalid_request_error", "no such complaint", NULL);
    return -1;
  }
  return 0;
}

void route_complaint_get(route_req *rq) {
  hg_complaint c = {0};
  if (complaint_arg(rq, &c)) return;
  send_json(rq->req, 200, complaint_json(&c, hg_clock_wall_ms()));
  hg_complaint_clear(&c);
}

void route_complaint_move(route_req *rq) {
  gateway *gw = rq->gw;
  struct evhttp_request *req = rq->req;
  hg_key_info key = rq->key;
  hg_error err;
  hg_error_clear(&err);
  {
    hg_complaint c = {0};
    if (complaint_arg(rq, &c)) return;
    json_t *body = json_incref(rq->body); /* released on every path below */
    static const char *const allowed[] = {"status", "resolution", "subject", NULL};
    if (only_members(req, body, allowed)) {
      json_decref(body);
      hg_complaint_clear(&c);
      return;
    }
    const char *status = json_string_value(json_object_get(body, "status"));
    const char *resolution = json_string_value(json_object_get(body, "resolution"));
    int64_t td_id = 0;
    hg_complaint_type type = HG_COMPLAINT_OTHER;
    int typed = !hg_complaint_type_parse(c.type, &type);
    int content = typed && (type == HG_COMPLAINT_PROHIBITED_CONTENT || type == HG_COMPLAINT_IP_INFRINGEMENT);
    int personal = typed && type == HG_COMPLAINT_PERSONAL_INFO;
    if (status && !strcmp(status, "upheld") && (content || personal) &&
        !hg_complaint_move_allowed(c.status, "upheld")) { /* checked before anything is done */
      char msg[160], from[96];
      hg_complaint_moves_into("upheld", from, sizeof from);
      snprintf(msg, sizeof msg, "a %s ticket cannot be upheld (only %s ones)", c.status, from);
      send_error(req, 400, "invalid_request_error", msg, NULL);
      json_decref(body);
      hg_complaint_clear(&c);
      return;
    }
    if (status && !strcmp(status, "upheld") && content) {
      /* the content complained about must not come back: fingerprint it first, so a failure changes nothing */
      char *text = c.text ? strdup(c.text) : NULL;
      if (!text && c.produce_id) answer_texts(gw, c.produce_id, NULL, &text, &err);
      if (!text) {
        send_error(req, 422, "invalid_request_error",
                   "the answer of this ProduceID is not retained; reject it or add the text with POST /admin/takedowns",
                   NULL);
        json_decref(body);
        hg_complaint_clear(&c);
        return;
      }
      int bad = add_takedown(gw, text, c.id, &td_id, &err);
      free(text);
      if (bad) {
        send_error(req, 422, "invalid_request_error", err.message, NULL);
        json_decref(body);
        hg_complaint_clear(&c);
        return;
      }
    }
    /* a personal_info ticket is upheld with what was done for the data subject (the published process promises
     * correction or deletion): delete (admin: the data-subject deletion, its receipt linked), correct (the identity
     * corrected through /admin/users/{name}/identity), or takedown (the personal data in an answer, fingerprinted) */
    json_t *subject = json_object_get(body, "subject");
    json_t *link = NULL;
    if (status && !strcmp(status, "upheld") && personal) {
      const char *who_name = json_string_value(json_object_get(subject, "user"));
      const char *action = json_string_value(json_object_get(subject, "action"));
      const char *problem = NULL;
      int code = 400;
      if (!action || (strcmp(action, "delete") && strcmp(action, "correct") && strcmp(action, "takedown")))
        problem = "a personal_info ticket is upheld with what was done: subject {action: delete | correct | takedown, "
                  "user}";
      else if (strcmp(action, "takedown") && !who_name)
        problem = "subject.user names the data subject";
      else if (!strcmp(action, "delete") && key.role != HG_ROLE_ADMIN)
        problem = "deleting a data subject needs an admin key", code = 403;
      if (problem) {
        send_error_param(req, code, code == 403 ? "permission_error" : "invalid_request_error", problem, "subject",
                         NULL);
        json_decref(body);
        hg_complaint_clear(&c);
        return;
      }
      char who[33] = "";
      if (who_name) pseudonym(gw, who_name, who);
      if (!strcmp(action, "delete")) {
        hg_audit_record receipt;
        audit_flush(gw);
        if (hg_store_dsar_delete(gw->store, who_name, who, hg_clock_wall_ms(), &receipt, &err)) {
          send_error(req, 400, "invalid_request_error", err.message, NULL);
          json_decref(body);
          hg_complaint_clear(&c);
          return;
        }
        link = json_pack("{s:s, s:s, s:I}", "action", "delete", "user", who, "receipt_seq", (json_int_t)receipt.seq);
      } else if (!strcmp(action, "correct")) {
        hg_user_identity id;
        if (hg_store_identity_get(gw->store, who_name, &id, &err) || !id.sealed[0]) {
          send_error_param(req, 409, "invalid_request_error",
                           "correct: the user has no identity to correct (POST /admin/users/{name}/identity first)",
                           "subject", NULL);
          json_decref(body);
          hg_complaint_clear(&c);
          return;
        }
        link = json_pack("{s:s, s:s, s:s}", "action", "correct", "user", who, "identity_status",
                         hg_realname_name(id.status));
      } else {
        char *text = c.text ? strdup(c.text) : NULL;
        if (!text && c.produce_id) answer_texts(gw, c.produce_id, NULL, &text, &err);
        int bad = !text || add_takedown(gw, text, c.id, &td_id, &err);
        free(text);
        if (bad) {
          send_error(req, 422, "invalid_request_error",
                     td_id || !c.produce_id ? err.message : "the answer of this ProduceID is not retained", NULL);
          json_decref(body);
          hg_complaint_clear(&c);
          return;
        }
        link = json_pack("{s:s, s:I}", "action", "takedown", "takedown", (json_int_t)td_id);
      }
    } else if (subject) {
      send_error_param(req, 400, "invalid_request_error", "subject is for upholding a personal_info ticket", "subject",
                       NULL);
      json_decref(body);
      hg_complaint_clear(&c);
      return;
    }
    hg_status st = status ? hg_store_complaint_set_status(gw->store, c.id, status, resolution, hg_clock_wall_ms(), &err)
                          : HG_ERR_INVALID;
    if (st) {
      send_error(req, 400, "invalid_request_error", status ? err.message : "status is required", NULL);
    } else {
      hg_complaint now = {0};
      hg_store_complaint_get(gw->store, c.id, &now, &err);
      json_t *out = complaint_json(&now, hg_clock_wall_ms());
      if (td_id) json_object_set_new(out, "takedown_id", json_integer(td_id));
      if (link) json_object_set(out, "subject", link);
      json_t *d =
          json_pack("{s:I, s:s, s:I}", "complaint", (json_int_t)c.id, "status", status, "takedown", (json_int_t)td_id);
      if (link) json_object_set(d, "subject", link);
      admin_record(gw, &key, "admin/complaint", status, d);
      send_json(req, 200, out);
      hg_complaint_clear(&now);
    }
    json_decref(link);
    json_decref(body);
    hg_complaint_clear(&c);
  }
}

typedef struct takedown_page {
  json_t *arr;
  int64_t now;
  const char *state; /* NULL: every state */
} takedown_page;

static const char *takedown_state(const hg_takedown_info *t, int64_t now) {
  return t->withdrawn_ms ? "withdrawn" : t->expires_ms && t->expires_ms <= now ? "expired" : "in_force";
}

static int list_takedown(void *ctx, const hg_takedown_info *t) {
  takedown_page *p = ctx;
  const char *state = takedown_state(t, p->now);
  if (p->state && strcmp(p->state, state)) return 0;
  json_t *o = json_pack("{s:I, s:s, s:s, s:I, s:I}", "id", (json_int_t)t->id, "state", state, "text", t->text,
                        "created_ms", (json_int_t)t->created_ms, "expires_ms", (json_int_t)t->expires_ms);
  if (t->complaint_id) json_object_set_new(o, "complaint_id", json_integer(t->complaint_id));
  if (t->withdrawn_ms)
    json_object_set_new(o, "withdrawn",
                        json_pack("{s:I, s:s?, s:s?}", "time_ms", (json_int_t)t->withdrawn_ms, "by", t->withdrawn_by,
                                  "reason", t->withdraw_reason));
  json_array_append_new(p->arr, o);
  return json_array_size(p->arr) >= 1000;
}

/* GET /admin/takedowns[?state=in_force|expired|withdrawn]: newest first, every takedown kept unless a state is
 * asked for */
void route_takedowns_list(route_req *rq) {
  static const char *const known[] = {"state", NULL};
  char state[16];
  int has = 0;
  if (route_params_only(rq, known) || (has = route_param(rq, "state", state, sizeof state)) < 0) return;
  if (has && strcmp(state, "in_force") && strcmp(state, "expired") && strcmp(state, "withdrawn")) {
    send_error_param(rq->req, 400, "invalid_request_error", "state is in_force, expired or withdrawn", "state", NULL);
    return;
  }
  hg_error err;
  takedown_page p = {json_array(), hg_clock_wall_ms(), has ? state : NULL};
  if (hg_store_takedown_list(read_store(rq->gw), list_takedown, &p, &err)) {
    json_decref(p.arr);
    send_error(rq->req, 503, "server_error", err.message, NULL);
    return;
  }
  send_json(rq->req, 200, json_pack("{s:o}", "takedowns", p.arr));
}

/* POST /admin/takedowns/{id}/withdraw {reason}: a takedown found wrong stops matching in every gateway (the version
 * changes), and stays listed with who withdrew it and why; the record names the reviewer. */
void route_takedown_withdraw(route_req *rq) {
  static const char *const allowed[] = {"reason", NULL};
  if (only_members(rq->req, rq->body, allowed)) return;
  const char *reason = json_string_value(json_object_get(rq->body, "reason"));
  if (!reason || !*reason) {
    send_error_param(rq->req, 400, "invalid_request_error", "say why the takedown is withdrawn: {\"reason\": \"...\"}",
                     "reason", NULL);
    return;
  }
  char *end;
  long long id = strtoll(rq->arg, &end, 10);
  char by[160];
  snprintf(by, sizeof by, "%s:%s", hg_role_name(rq->key.role), rq->key.user);
  hg_error err;
  hg_status st = *end || id <= 0 ? HG_ERR_NOT_FOUND
                                 : hg_store_takedown_withdraw(rq->gw->store, id, by, reason, hg_clock_wall_ms(), &err);
  if (st) {
    int status = st == HG_ERR_NOT_FOUND ? 404 : st == HG_ERR_CONFLICT ? 409 : st == HG_ERR_INVALID ? 400 : 503;
    send_error(rq->req, status, status == 503 ? "server_error" : "invalid_request_error",
               st == HG_ERR_NOT_FOUND ? "no such takedown" : err.message, NULL);
    return;
  }
  atomic_store(&rq->gw->takedown_refresh, 1); /* this gateway at its next tick; the others by the version */
  admin_record(rq->gw, &rq->key, "admin/takedown-withdraw", "withdrawn",
               json_pack("{s:I, s:s}", "takedown", (json_int_t)id, "reason", reason));
  send_json(rq->req, 200, json_pack("{s:I, s:s}", "id", (json_int_t)id, "state", "withdrawn"));
}

void route_takedowns_add(route_req *rq) {
  gateway *gw = rq->gw;
  struct evhttp_request *req = rq->req;
  const hg_key_info *key = &rq->key;
  hg_error err;
  hg_error_clear(&err);
  {
    {
      json_t *body = rq->body;
      static const char *const allowed[] = {"text", NULL};
      const char *text = json_string_value(json_object_get(body, "text"));
      if (!text) {
        send_error(req, 400, "invalid_request_error", "the body must be {\"text\": \"...\"}", NULL);
      } else if (!only_members(req, body, allowed)) {
        int64_t id;
        if (add_takedown(gw, text, 0, &id, &err)) {
          send_error(req, 422, "invalid_request_error", err.message, NULL);
        } else {
          admin_record(gw, key, "admin/takedown", "added", json_pack("{s:I}", "takedown", (json_int_t)id));
          send_json(req, 201, json_pack("{s:I}", "id", (json_int_t)id));
        }
      }
    }
  }
}
