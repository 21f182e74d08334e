/* admin_ops.c — running the service through the admin API: API keys (create with an expiry, list, revoke), the
 * policy (read, upload: validated, kept as a version laid over the configuration file, applied to every worker
 * without a restart), the lexicon (upload: compiled, kept as a version, swapped in; delete to go back to the
 * configured one) — versions.c has both — and the audit chain (verify, export as JSON lines that let anyone
 * recompute it). Every change leaves an audit record naming the admin; uploads are recorded by SHA-256, not by
 * content. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/json.h"
#include "base/clock.h"
#include "base/file.h"
#include "gateway.h"
#include "offload.h"
#include "router.h"
#include "versions.h"

#define CONFIG_UPLOAD_MAX (4u << 20)
#define EXPORT_BYTES_MAX (32u << 20) /* one page of an audit export; X-Hegui-Next-From says where to go on */

static const char *query_param(struct evhttp_request *req, struct evkeyvalq *params, const char *name) {
  const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
  if (!q || evhttp_parse_query_str(q, params)) return NULL;
  return evhttp_find_header(params, name);
}

/* ---- keys ---- */

typedef struct key_list {
  json_t *arr;
  int64_t now;
} key_list;

static int list_key(void *ctx, const hg_key_info *k) {
  key_list *l = ctx;
  json_array_append_new(l->arr, json_pack("{s:I, s:s, s:s, s:I, s:I, s:b, s:b}", "id", (json_int_t)k->key_id, "user",
                                          k->user, "role", hg_role_name(k->role), "created_ms",
                                          (json_int_t)k->created_ms, "expires_ms", (json_int_t)k->expires_ms, "revoked",
                                          k->revoked, "expired", k->expires_ms && l->now >= k->expires_ms));
  return json_array_size(l->arr) >= 10000;
}

void route_keys_list(route_req *rq) {
  gateway *gw = rq->gw;
  struct evhttp_request *req = rq->req;
  hg_error err;
  hg_error_clear(&err);
  {
    struct evkeyvalq params = {0};
    const char *user = query_param(req, &params, "user");
    key_list l = {json_array(), hg_clock_wall_ms()};
    hg_status st = hg_store_key_list(gw->store, user && *user ? user : NULL, list_key, &l, &err);
    if (params.tqh_first) evhttp_clear_headers(&params);
    if (st) {
      json_decref(l.arr);
      send_error(req, st == HG_ERR_NOT_FOUND ? 404 : 503,
                 st == HG_ERR_NOT_FOUND ? "invalid_request_error" : "server_error",
                 st == HG_ERR_NOT_FOUND ? "no such user" : err.message, NULL);
      return;
    }
    send_json(req, 200, json_pack("{s:o}", "keys", l.arr));
  }
}

void route_keys_create(route_req *rq) {
  gateway *gw = rq->gw;
  struct evhttp_request *req = rq->req;
  const hg_key_info *key = &rq->key;
  hg_error err;
  hg_error_clear(&err);
  {
    json_t *body = rq->body;
    static const char *const allowed[] = {"user", "role", "expires_days", NULL};
    const char *user = json_string_value(json_object_get(body, "user"));
    const char *role_s = json_string_value(json_object_get(body, "role"));
    json_t *days_v = json_object_get(body, "expires_days");
    hg_role role = HG_ROLE_USER;
    if (only_members(req, body, allowed)) {
    } else if (!user || (json_object_get(body, "role") && (!role_s || hg_role_parse(role_s, &role)))) {
      send_error(req, 400, "invalid_request_error",
                 "user is required; role is one of user, reviewer, admin, auditor (default user)", NULL);
    } else if (days_v &&
               (!json_is_integer(days_v) || json_integer_value(days_v) < 1 || json_integer_value(days_v) > 36500)) {
      send_error(req, 400, "invalid_request_error", "expires_days must be a whole number of days, 1-36500", NULL);
    } else {
      int64_t expires = days_v ? hg_clock_wall_ms() + (int64_t)json_integer_value(days_v) * 86400000 : 0;
      char k[HG_KEY_MAX];
      if (hg_store_key_create_ex(gw->store, user, role, expires, k, &err)) {
        send_error(req, 400, "invalid_request_error", err.message, NULL);
      } else {
        hg_key_info info = {0};
        if (hg_store_key_lookup(gw->store, k, strlen(k), &info, &err)) info.key_id = 0; /* made, but unread */
        char who[33];
        pseudonym(gw, user, who);
        admin_record(gw, key, "admin/key-create", "created",
                     json_pack("{s:I, s:s, s:s, s:I}", "key_id", (json_int_t)info.key_id, "user", who, "role",
                               hg_role_name(role), "expires_ms", (json_int_t)expires));
        /* the key itself is shown once, here; only its hash is kept */
        send_json(req, 201,
                  json_pack("{s:I, s:s, s:s, s:s, s:I}", "id", (json_int_t)info.key_id, "key", k, "user", user, "role",
                            hg_role_name(role), "expires_ms", (json_int_t)expires));
      }
      sodium_memzero(k, sizeof k);
    }
  }
}

void route_key_revoke(route_req *rq) {
  gateway *gw = rq->gw;
  struct evhttp_request *req = rq->req;
  hg_error err;
  hg_error_clear(&err);
  char *end;
  long long id = strtoll(rq->arg, &end, 10);
  if (*end || id <= 0) {
    send_error(req, 404, "invalid_request_error", "no such key", NULL);
    return;
  }
  {
    hg_status st = hg_store_key_revoke(gw->store, id, &err);
    if (st) {
      send_error(req, st == HG_ERR_NOT_FOUND ? 404 : 503,
                 st == HG_ERR_NOT_FOUND ? "invalid_request_error" : "server_error",
                 st == HG_ERR_NOT_FOUND ? "no such key" : err.message, NULL);
      return;
    }
    admin_record(gw, &rq->key, "admin/key-revoke", "revoked", json_pack("{s:I}", "key_id", (json_int_t)id));
    send_json(req, 200, json_pack("{s:I, s:b}", "id", (json_int_t)id, "revoked", 1));
  }
}

/* POST /admin/keys/revoke {user?, role?, created_before_ms?, ids?, include_own?}: every key not yet revoked that
 * matches all the conditions given, in one transaction (a leaked batch, a departed reviewer, a role retired). The
 * caller's own key is spared unless include_own is true. One record names every key revoked. */
void route_keys_revoke_bulk(route_req *rq) {
  static const char *const allowed[] = {"user", "role", "created_before_ms", "ids", "include_own", NULL};
  if (only_members(rq->req, rq->body, allowed)) return;
  json_t *b = rq->body, *user = json_object_get(b, "user"), *role = json_object_get(b, "role"),
         *before = json_object_get(b, "created_before_ms"), *ids = json_object_get(b, "ids"),
         *own = json_object_get(b, "include_own");
  hg_key_match m = {.except_key_id = json_is_true(own) ? 0 : rq->key.key_id};
  const char *problem = NULL, *param = NULL;
  int64_t idv[256];
  if (user && !json_is_string(user)) problem = "user is a user's name", param = "user";
  if (role && (!json_is_string(role) || hg_role_parse(json_string_value(role), &m.role)))
    problem = "role is user, reviewer, admin or auditor", param = "role";
  if (before && (!json_is_integer(before) || json_integer_value(before) <= 0))
    problem = "created_before_ms is Unix time in milliseconds", param = "created_before_ms";
  if (own && !json_is_boolean(own)) problem = "include_own is true or false", param = "include_own";
  if (ids && (!json_is_array(ids) || !json_array_size(ids) || json_array_size(ids) > 256))
    problem = "ids is a list of 1 to 256 key ids", param = "ids";
  for (size_t i = 0; !problem && ids && i < json_array_size(ids); i++) {
    json_t *v = json_array_get(ids, i);
    if (!json_is_integer(v) || json_integer_value(v) <= 0) problem = "ids holds key ids (positive numbers)", param = "ids";
    else idv[i] = json_integer_value(v);
  }
  if (!problem && !user && !role && !before && !ids)
    problem = "name the keys: user, role, created_before_ms or ids (at least one)", param = NULL;
  if (problem) {
    send_error_param(rq->req, 400, "invalid_request_error", problem, param, NULL);
    return;
  }
  m.user = user ? json_string_value(user) : NULL;
  m.role_set = role != NULL;
  m.created_before_ms = before ? json_integer_value(before) : 0;
  m.ids = ids ? idv : NULL;
  m.n_ids = ids ? json_array_size(ids) : 0;
  int64_t n = 0, revoked[1000];
  hg_error err;
  hg_status st = hg_store_key_revoke_matching(rq->gw->store, &m, &n, revoked, 1000, &err);
  if (st == HG_ERR_NOT_FOUND) { /* an unknown user has no keys to revoke */
    st = HG_OK, n = 0;
  }
  if (st) {
    send_error(rq->req, st == HG_ERR_INVALID ? 400 : 503, st == HG_ERR_INVALID ? "invalid_request_error" : "server_error",
               err.message, NULL);
    return;
  }
  json_t *list = json_array();
  for (int64_t i = 0; i < n && i < 1000; i++)
    json_array_append_new(list, json_integer(revoked[i]));
  /* the conditions as the chain may keep them for years: a user by pseudonym only */
  json_t *conditions = json_deep_copy(b);
  if (m.user) {
    char who[33];
    pseudonym(rq->gw, m.user, who);
    json_object_set_new(conditions, "user", json_string(who));
  }
  admin_record(rq->gw, &rq->key, "admin/keys-revoke", "revoked",
               json_pack("{s:I, s:O, s:o}", "count", (json_int_t)n, "key_ids", list, "conditions", conditions));
  send_json(rq->req, 200, json_pack("{s:I, s:o}", "revoked", (json_int_t)n, "key_ids", list));
}

/* ---- policy ---- */

/* A change the admin API makes off the event loop (offload.h): the body copied, the key it came with. */
typedef struct admin_job {
  gateway *gw;
  hg_key_info key;
  enum evhttp_cmd_type cmd;
  char *text;
  size_t len;
} admin_job;

static void admin_job_free(void *arg) {
  admin_job *a = arg;
  free(a->text);
  free(a);
}

/* Hands the change to a thread of its own; 0 when it was taken (the answer comes later). */
static int admin_offload(route_req *rq, offload_work work) {
  gateway *gw = rq->gw;
  struct evhttp_request *req = rq->req;
  struct evbuffer *in = evhttp_request_get_input_buffer(req);
  size_t len = evbuffer_get_length(in);
  const char *text = (const char *)evbuffer_pullup(in, -1);
  admin_job *a = calloc(1, sizeof *a);
  if (a) a->text = malloc(len + 1);
  if (!a || !a->text) {
    free(a);
    send_error(req, 503, "server_error", "out of memory", NULL);
    route_metrics(gw, rq->metric, 503, rq->t0);
    return -1;
  }
  a->gw = gw;
  a->key = rq->key;
  a->cmd = evhttp_request_get_command(req);
  if (len) memcpy(a->text, text, len);
  a->text[len] = '\0';
  a->len = len;
  if (offload(rq->w, req, rq->metric, rq->t0, work, a, admin_job_free)) {
    admin_job_free(a);
    send_error(req, 503, "server_error", "the change could not be started; try again", NULL);
    route_metrics(gw, rq->metric, 503, rq->t0);
    return -1;
  }
  return 0;
}

/* One change of what is in force at a time, reloads included: never waited for (409 instead). */
static int job_busy(gateway *gw, reply *out) {
  if (!pthread_mutex_trylock(&gw->admin_lock)) return 0;
  reply_error(out, 409, "invalid_request_error", "another admin change (upload or reload) is in progress; try again",
              NULL);
  return 1;
}

static void policy_put_job(void *arg, reply *out) {
  admin_job *a = arg;
  if (job_busy(a->gw, out)) return;
  version_upload(a->gw, out, &a->key, HG_VERSION_POLICY, a->text, a->len);
  pthread_mutex_unlock(&a->gw->admin_lock);
}

void route_policy_get(route_req *rq) {
  gateway *gw = rq->gw;
  const hg_key_info *key = &rq->key;
  const hg_config *cfg = live_cfg(gw);
  pthread_mutex_lock(&gw->config_lock);
  json_t *o =
      json_pack("{s:s, s:s, s:I, s:s, s:b, s:b, s:s}", "source", gw->config_path[0] ? gw->config_path : "defaults",
                "sha256", gw->config_sha256, "loaded_ms", (json_int_t)gw->config_loaded_ms, "profile",
                hg_profile_name(cfg->profile), "identity_required", hg_config_identity_required(cfg),
                "reminders_all_users", hg_config_reminders_all_users(cfg), "lexicon", gw->lexicon_source);
  /* the active policy version, parsed over the file; its text is what was uploaded */
  char *layer_text = NULL;
  size_t layer_len = 0;
  json_object_set_new(o, "version", gw->policy_layer ? json_integer(gw->policy_layer->version) : json_null());
  if (gw->policy_layer && key->role == HG_ROLE_ADMIN && (layer_text = malloc(gw->policy_layer->len + 1))) {
    layer_len = gw->policy_layer->len;
    memcpy(layer_text, gw->policy_layer->text, layer_len);
  }
  pthread_mutex_unlock(&gw->config_lock);
  /* the text holds credentials (upstream.api_key, identity.provider.token): admins only. It is the active version's
   * when there is one (file_text: the file under it), else the file's. */
  if (key->role == HG_ROLE_ADMIN) {
    char *buf = NULL;
    size_t n = 0;
    if (gw->config_path[0]) {
      FILE *f = fopen(gw->config_path, "rb");
      buf = malloc(1u << 20);
      n = f && buf ? fread(buf, 1, (1u << 20) - 1, f) : 0;
      if (f) fclose(f);
    }
    if (layer_text) {
      json_object_set_new(o, "text", json_stringn(layer_text, layer_len));
      if (buf) json_object_set_new(o, "file_text", json_stringn(buf, n));
    } else if (buf) {
      json_object_set_new(o, "text", json_stringn(buf, n));
    }
    free(buf);
    free(layer_text);
  }
  send_json(rq->req, 200, o);
}

/* PUT (or POST) /admin/policy: an ASYNC route (the work is offloaded); what is refused here is counted here. The
 * upload is a version laid over the configuration file (versions.c); the file itself is never written. */
void route_policy_put(route_req *rq) {
  gateway *gw = rq->gw;
  struct evhttp_request *req = rq->req;
  size_t len = evbuffer_get_length(evhttp_request_get_input_buffer(req));
  if (!len) {
    send_error(req, 422, "invalid_request_error",
               "the body is empty: send the configuration to lay over the file (an empty one would change nothing)",
               "invalid_config");
    route_metrics(gw, rq->metric, 422, rq->t0);
    return;
  }
  if (len > CONFIG_UPLOAD_MAX) {
    send_error(req, 413, "invalid_request_error", "a policy is at most 4 MiB", "invalid_config");
    route_metrics(gw, rq->metric, 413, rq->t0);
    return;
  }
  admin_offload(rq, policy_put_job); /* loading a lexicon and a model: never on the event loop */
}

/* ---- lexicon ---- */

static void lexicon_change_job(void *arg, reply *out);

void route_lexicon_get(route_req *rq) {
  gateway *gw = rq->gw;
  {
    hg_lexicon *lex = hg_lexicon_slot_acquire(gw->lexicon);
    size_t n = hg_lexicon_entry_count(lex);
    hg_lexicon_unref(lex);
    pthread_mutex_lock(&gw->config_lock);
    json_t *o = json_pack("{s:I, s:s, s:I}", "entries", (json_int_t)n, "source", gw->lexicon_source, "loaded_ms",
                          (json_int_t)gw->lexicon_loaded_ms);
    json_object_set_new(o, "version", gw->lexicon_layer ? json_integer(gw->lexicon_layer->version) : json_null());
    json_object_set_new(o, "updated_ms", gw->lexicon_updated_ms ? json_integer(gw->lexicon_updated_ms) : json_null());
    pthread_mutex_unlock(&gw->config_lock);
    int64_t age_ms;
    int stale;
    lexicon_age(gw, hg_clock_wall_ms(), &age_ms, &stale);
    json_object_set_new(o, "stale", json_boolean(stale));
    send_json(rq->req, 200, o);
  }
}

/* PUT (or POST) an upload, DELETE back to the configured lexicon: an ASYNC route (offloaded) */
void route_lexicon_change(route_req *rq) {
  admin_offload(rq, lexicon_change_job); /* compiling a lexicon: never on the event loop */
}

/* PUT (an upload, a new lexicon version: compiled and put in force, or pending) or DELETE (the active version
 * retired: the configured lexicon again). */
static void lexicon_change_job(void *arg, reply *out) {
  admin_job *a = arg;
  gateway *gw = a->gw;
  if (job_busy(gw, out)) return; /* one change of the lexicon at a time, reloads included */
  if (a->cmd == EVHTTP_REQ_DELETE)
    version_lexicon_withdraw(gw, out, &a->key);
  else
    version_upload(gw, out, &a->key, HG_VERSION_LEXICON, a->text, a->len);
  pthread_mutex_unlock(&gw->admin_lock);
}

/* ---- audit ---- */

typedef struct export_ctx {
  struct evbuffer *out;
  int64_t rows, limit, next;
} export_ctx;

static json_t *text_or_null(hg_store_text t) {
  if (!t.ptr) return json_null();
  json_t *s = json_stringn(t.ptr, t.len);
  /* a field that is not UTF-8 cannot be JSON text: `hegui audit export` writes it byte for byte */
  return s ? s : json_string("(not valid UTF-8: use hegui audit export)");
}

static int export_row(void *ctx, const hg_audit_row *row) {
  export_ctx *e = ctx;
  if (e->rows >= e->limit || evbuffer_get_length(e->out) >= EXPORT_BYTES_MAX) {
    e->next = row->seq;
    return 1;
  }
  /* the same fields as `hegui audit export`; detail_json as a string: the exact bytes the hash covers */
  json_t *o = json_pack("{s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:o}", "seq",
                        (json_int_t)row->seq, "time_ms", (json_int_t)row->time_ms, "actor", text_or_null(row->actor),
                        "route", text_or_null(row->route), "verdict", text_or_null(row->verdict), "detail_json",
                        text_or_null(row->detail_json), "input_sha256", text_or_null(row->input_sha256),
                        "output_sha256", text_or_null(row->output_sha256), "text", text_or_null(row->text), "prev_hash",
                        text_or_null(row->prev_hash), "hash", text_or_null(row->hash), "format",
                        (json_int_t)row->format, "text_sha256", text_or_null(row->text_sha256));
  char *s = o ? hg_json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII) : NULL;
  json_decref(o);
  if (!s) return 1;
  evbuffer_add(e->out, s, strlen(s));
  evbuffer_add(e->out, "\n", 1);
  free(s);
  e->rows++;
  return 0;
}

void route_audit_verify(route_req *rq) {
  gateway *gw = rq->gw;
  struct evhttp_request *req = rq->req;
  const hg_key_info *key = &rq->key;
  hg_error err;
  hg_error_clear(&err);
  audit_flush(gw); /* every record of a request answered so far is in the chain (group commit) */
  {
    hg_audit_check check;
    if (hg_store_audit_verify(gw->store, &check, &err)) {
      send_error(req, 503, "server_error", err.message, NULL);
      return;
    }
    json_t *o = json_pack("{s:b, s:I}", "holds", !check.first_bad, "records", (json_int_t)check.records);
    json_object_set_new(o, "first_bad", check.first_bad ? json_integer(check.first_bad) : json_null());
    json_object_set_new(o, "problem", check.first_bad ? json_string(check.problem) : json_null());
    admin_record(
        gw, key, "admin/audit-verify", check.first_bad ? "broken" : "holds",
        json_pack("{s:I, s:I}", "records", (json_int_t)check.records, "first_bad", (json_int_t)check.first_bad));
    send_json(req, 200, o);
  }
}

void route_audit_export(route_req *rq) {
  gateway *gw = rq->gw;
  struct evhttp_request *req = rq->req;
  const hg_key_info *key = &rq->key;
  hg_error err;
  hg_error_clear(&err);
  audit_flush(gw); /* every record of a request answered so far is in the chain (group commit) */
  struct evkeyvalq params = {0};
  const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
  long long from = 1, limit = 10000;
  int bad = q && evhttp_parse_query_str(q, &params);
  static const char *const names[] = {"from", "limit"};
  for (int i = 0; !bad && q && i < 2; i++) {
    const char *v = evhttp_find_header(&params, names[i]);
    if (!v) continue;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (*end || !*v || errno || x < 1 || (i == 1 && x > 100000))
      bad = 1;
    else
      *(i == 0 ? &from : &limit) = x;
  }
  if (q) evhttp_clear_headers(&params);
  if (bad) {
    send_error(req, 400, "invalid_request_error", "from is a record number >= 1; limit is 1-100000 (default 10000)",
               NULL);
    return;
  }
  export_ctx e = {evbuffer_new(), 0, limit, 0};
  if (hg_store_audit_rows(gw->store, from, export_row, &e, &err)) {
    evbuffer_free(e.out);
    send_error(req, 503, "server_error", err.message, NULL);
    return;
  }
  struct evkeyvalq *h = evhttp_request_get_output_headers(req);
  evhttp_add_header(h, "Content-Type", "application/x-ndjson");
  if (e.next) {
    char v[32];
    snprintf(v, sizeof v, "%lld", (long long)e.next);
    evhttp_add_header(h, "X-Hegui-Next-From", v); /* more records: ask again from here */
  }
  admin_record(gw, key, "admin/audit-export", "exported",
               json_pack("{s:I, s:I}", "from", (json_int_t)from, "records", (json_int_t)e.rows));
  evhttp_send_reply(req, 200, "OK", e.out);
  last_status = 200;
  evbuffer_free(e.out);
}
