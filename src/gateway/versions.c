/* versions.c — policy and lexicon uploads kept as versions (hegui/versions.h), and the admin routes over them.
 *
 * The configuration file is only ever read: an uploaded policy is a version whose YAML is parsed over the file, an
 * uploaded lexicon a version used instead of the configured lexicon, and what is in force is the file plus the
 * active versions (server.c builds it: config_build, config_publish). So /etc can be read-only and an upload still
 * survives a restart: it lives in the store, beside everything else the gateway keeps.
 *
 * Every change goes one way: checked as it would be in force (config_build; a bad one changes nothing), written to
 * the store (the version's row, and the retirement of the one before, in one commit), then put in force. With
 * versions.require_approval an upload or a rollback waits as pending until a second admin approves it (checked
 * again then, against the file as it is by then); its author cannot. Every change leaves an audit record. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/diff.h"
#include "hegui/text.h"
#include "router.h"
#include "versions.h"

#define DIFF_TEXT_MAX (16u << 20) /* a version larger than this is not diffed */
#define DIFF_OUT_MAX (4u << 20)   /* the rendered diff is cut here (truncated: true) */
#define DIFF_CONTEXT 3            /* unchanged lines shown around each change */

/* ---- reading versions ---- */

/* One version copied out of the store's callback (its strings live only during the call). */
typedef struct version_copy {
  hg_version_info v;
  char author[256], approver[256], note[2048];
  char *content; /* malloc-ed, NUL-terminated; NULL when not asked for */
  int found, nomem;
} version_copy;

static int copy_version(void *ctx, const hg_version_info *v) {
  version_copy *c = ctx;
  c->found = 1;
  c->v = *v;
  snprintf(c->author, sizeof c->author, "%s", v->author ? v->author : "");
  snprintf(c->approver, sizeof c->approver, "%s", v->approver ? v->approver : "");
  snprintf(c->note, sizeof c->note, "%s", v->note ? v->note : "");
  c->v.author = c->author;
  c->v.approver = v->approver ? c->approver : NULL;
  c->v.note = v->note ? c->note : NULL;
  c->v.content = NULL;
  if (v->content) {
    c->content = malloc((size_t)v->size + 1);
    if (!c->content) return c->nomem = 1, 1;
    memcpy(c->content, v->content, (size_t)v->size);
    c->content[v->size] = 0;
    c->v.content = c->content;
  }
  return 1;
}

static void version_copy_free(version_copy *c) {
  free(c->content);
  c->content = NULL;
}

static int is_text(const char *p, size_t len) { return hg_utf8_validate(p, len, NULL) == HG_OK; }

static json_t *version_json(const hg_version_info *v) {
  json_t *o = json_pack("{s:I, s:s, s:s, s:I, s:s, s:I, s:s, s:I}", "id", (json_int_t)v->id, "kind",
                        hg_version_kind_name(v->kind), "state", hg_version_state_name(v->state), "created_ms",
                        (json_int_t)v->created_ms, "author", v->author ? v->author : "", "author_key_id",
                        (json_int_t)v->author_key_id, "sha256", v->sha256, "size", (json_int_t)v->size);
  if (!o) return NULL;
  json_object_set_new(o, "activated_ms", v->activated_ms ? json_integer(v->activated_ms) : json_null());
  json_object_set_new(o, "ended_ms", v->ended_ms ? json_integer(v->ended_ms) : json_null());
  json_object_set_new(o, "approver", v->approver ? json_string(v->approver) : json_null());
  json_object_set_new(o, "note", v->note ? json_string(v->note) : json_null());
  json_object_set_new(o, "rollback_of", v->rollback_of ? json_integer(v->rollback_of) : json_null());
  return o;
}

/* The id in /admin/versions/{id}; 0 when it is not one. */
static int64_t version_id(const char *arg) {
  char *end;
  errno = 0;
  long long id = strtoll(arg, &end, 10);
  return *arg && !*end && !errno && id > 0 ? (int64_t)id : 0;
}

static void reply_store_error(reply *out, hg_status st, const hg_error *err) {
  if (st == HG_ERR_NOT_FOUND)
    reply_error(out, 404, "invalid_request_error", err->message, NULL);
  else if (st == HG_ERR_CONFLICT)
    reply_error(out, 409, "invalid_request_error", err->message, NULL);
  else if (st == HG_ERR_INVALID || st == HG_ERR_LIMIT)
    reply_error(out, 422, "invalid_request_error", err->message, NULL);
  else
    reply_error(out, 503, "server_error", err->message, NULL);
}

/* ---- at start ---- */

static hg_status active_layer(hg_store *store, hg_version_kind kind, layer **out, hg_error *err) {
  version_copy c = {0};
  *out = NULL;
  hg_status st = hg_store_version_active(store, kind, copy_version, &c, err);
  if (st == HG_ERR_NOT_FOUND) return HG_OK;
  if (!st && c.nomem) st = HG_ERR_NOMEM;
  if (!st && !(*out = layer_new(c.v.id, c.v.activated_ms, c.content, (size_t)c.v.size))) st = HG_ERR_NOMEM;
  if (st == HG_ERR_NOMEM) snprintf(err->message, sizeof err->message, "out of memory reading a version");
  version_copy_free(&c);
  return st;
}

int versions_read_active(gateway *gw, layer **policy, layer **lexicon, char *msg, size_t cap) {
  hg_error err;
  hg_error_clear(&err);
  *policy = *lexicon = NULL;
  if (active_layer(gw->store, HG_VERSION_POLICY, policy, &err) ||
      active_layer(gw->store, HG_VERSION_LEXICON, lexicon, &err)) {
    layer_free(*policy);
    *policy = NULL;
    return snprintf(msg, cap, "versions: %s", err.message), -1;
  }
  return 0;
}

/* A lexicon upload a gateway from before versions kept in the data directory becomes the first lexicon version,
 * active from the file's modification time; the file is renamed aside (.imported), never deleted. */
static int import_legacy_upload(gateway *gw, char *msg, size_t cap) {
  char path[1100], aside[1200];
  snprintf(path, sizeof path, "%s/lexicon-upload.tsv", gw->cfg.data_dir);
  struct stat sb;
  if (stat(path, &sb) || !S_ISREG(sb.st_mode)) return 0;
  FILE *f = fopen(path, "rb");
  size_t cap_bytes = (size_t)sb.st_size;
  char *text = f ? malloc(cap_bytes + 1) : NULL;
  size_t n = text ? fread(text, 1, cap_bytes, f) : 0;
  if (f) fclose(f);
  if (!text || n != cap_bytes) {
    free(text);
    return snprintf(msg, cap, "%s: cannot read the lexicon upload to import it as a version", path), -1;
  }
  int64_t when = (int64_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000, id = 0;
  hg_error err;
  hg_status st = hg_store_version_add(gw->store, HG_VERSION_LEXICON, text, n, "system:import", 0, 0, 1, when, &id,
                                      &err);
  char sha[65];
  sha256_hex(text, n, sha);
  free(text);
  if (st) return snprintf(msg, cap, "importing %s as a lexicon version: %s", path, err.message), -1;
  snprintf(aside, sizeof aside, "%s.imported", path);
  if (rename(path, aside)) fprintf(stderr, "hegui: %s imported as version %lld, but not renamed: %s\n", path,
                                   (long long)id, strerror(errno));
  audit_event(gw, "system:versions", "admin/lexicon", "imported",
              json_pack("{s:I, s:s, s:I}", "version", (json_int_t)id, "sha256", sha, "bytes", (json_int_t)n));
  return 0;
}

int versions_load(gateway *gw, char *msg, size_t cap) {
  hg_error err;
  hg_error_clear(&err);
  layer *policy = NULL, *lexicon = NULL;
  if (active_layer(gw->store, HG_VERSION_LEXICON, &lexicon, &err))
    return snprintf(msg, cap, "versions: %s", err.message), -1;
  if (!lexicon) {
    if (import_legacy_upload(gw, msg, cap)) return -1;
    if (active_layer(gw->store, HG_VERSION_LEXICON, &lexicon, &err))
      return snprintf(msg, cap, "versions: %s", err.message), -1;
  }
  if (active_layer(gw->store, HG_VERSION_POLICY, &policy, &err)) {
    layer_free(lexicon);
    return snprintf(msg, cap, "versions: %s", err.message), -1;
  }
  if (policy) {
    /* as a restart would have read it from the file: the file, the version over it, then the command line */
    hg_config file_only = gw->file_cfg, layered = gw->file_cfg;
    char name[64];
    snprintf(name, sizeof name, "policy version %lld", (long long)policy->version);
    if (hg_config_parse(&layered, policy->text, policy->len, name, &err)) {
      layer_free(policy);
      layer_free(lexicon);
      return snprintf(msg, cap, "the active %s cannot be applied over the configuration: %s", name, err.message), -1;
    }
    hg_config running = layered;
    /* a member the command line set differs from the file's, and stays */
#define KEEP_COMMAND_LINE(member)                                                                                      \
  if (memcmp(&gw->cfg.member, &file_only.member, sizeof running.member))                                               \
    memcpy(&running.member, &gw->cfg.member, sizeof running.member);
    KEEP_COMMAND_LINE(listen)
    KEEP_COMMAND_LINE(upstream_url)
    KEEP_COMMAND_LINE(lexicon)
    KEEP_COMMAND_LINE(auth_required)
#undef KEEP_COMMAND_LINE
    /* the data directory and the store are where the version was found: they stay */
    memcpy(running.data_dir, gw->cfg.data_dir, sizeof running.data_dir);
    memcpy(running.store_url, gw->cfg.store_url, sizeof running.store_url);
    gw->file_cfg = layered;
    gw->cfg = running;
  }
  gw->policy_layer = policy;
  gw->lexicon_layer = lexicon;
  return 0;
}

/* ---- uploads ---- */

static const char *upload_route(hg_version_kind kind) {
  return kind == HG_VERSION_POLICY ? "admin/policy" : "admin/lexicon";
}

/* Builds what would be in force with candidate as the layer of kind and the other kind's layer as it is. */
static config_candidate *build_with(gateway *gw, hg_version_kind kind, const layer *candidate, const char *name,
                                    char *msg, size_t cap) {
  return config_build(gw, kind == HG_VERSION_POLICY ? candidate : gw->policy_layer,
                      kind == HG_VERSION_LEXICON ? candidate : gw->lexicon_layer, name, msg, cap);
}

/* Stores content as a version of kind (a rollback when rollback_of > 0) and applies it, or leaves it pending when
 * approval is required. The caller holds admin_lock. */
static void version_change(gateway *gw, reply *out, const hg_key_info *key, hg_version_kind kind, const char *text,
                           size_t len, int64_t rollback_of, const char *route) {
  char msg[900], sha[65];
  sha256_hex(text, len, sha);
  int wait = live_cfg(gw)->versions_require_approval;
  layer candidate = {.version = 0, .activated_ms = 0, .text = (char *)text, .len = len};
  config_candidate *c = build_with(gw, kind, &candidate, "policy upload", msg, sizeof msg);
  if (!c) {
    reply_error(out, 422, "invalid_request_error", msg, kind == HG_VERSION_POLICY ? "invalid_config" : "invalid_lexicon");
    admin_record(gw, key, route, "refused",
                 json_pack("{s:s, s:s, s:I}", "sha256", sha, "message", msg, "rollback_of", (json_int_t)rollback_of));
    return;
  }
  size_t entries = hg_lexicon_entry_count(c->lex);
  int64_t now = hg_clock_wall_ms(), id = 0;
  int64_t previous = kind == HG_VERSION_POLICY ? (gw->policy_layer ? gw->policy_layer->version : 0)
                                               : (gw->lexicon_layer ? gw->lexicon_layer->version : 0);
  hg_error err;
  hg_error_clear(&err);
  hg_status st = hg_store_version_add(gw->store, kind, text, len, key->user, key->key_id, rollback_of, !wait, now, &id,
                                      &err);
  if (st) {
    config_discard(c);
    reply_store_error(out, st, &err);
    admin_record(gw, key, route, "not-stored", json_pack("{s:s, s:s}", "sha256", sha, "message", err.message));
    return;
  }
  json_t *detail = json_pack("{s:I, s:s, s:s, s:I, s:I}", "version", (json_int_t)id, "kind",
                             hg_version_kind_name(kind), "sha256", sha, "bytes", (json_int_t)len, "previous_version",
                             (json_int_t)previous);
  if (rollback_of) json_object_set_new(detail, "rollback_of", json_integer(rollback_of));
  if (kind == HG_VERSION_LEXICON) json_object_set_new(detail, "entries", json_integer((json_int_t)entries));
  json_t *answer = json_pack("{s:I, s:s, s:s}", "version", (json_int_t)id, "kind", hg_version_kind_name(kind),
                             "sha256", sha);
  if (rollback_of) json_object_set_new(answer, "rollback_of", json_integer(rollback_of));
  if (kind == HG_VERSION_LEXICON) json_object_set_new(answer, "entries", json_integer((json_int_t)entries));
  if (wait) {
    config_discard(c);
    snprintf(msg, sizeof msg,
             "version %lld waits for another admin's approval (versions.require_approval): POST "
             "/admin/versions/%lld/approve",
             (long long)id, (long long)id);
    json_object_set_new(answer, "status", json_string("pending"));
    json_object_set_new(answer, "message", json_string(msg));
    admin_record(gw, key, route, "pending", detail);
    reply_json(out, 202, answer);
    return;
  }
  layer *in_force = kind == HG_VERSION_POLICY ? c->policy : c->lexicon;
  in_force->version = id;
  in_force->activated_ms = now;
  config_publish(gw, c, msg, sizeof msg);
  /* the lexicon upload's answer kept its word from before versions: uploaded */
  const char *status = kind == HG_VERSION_LEXICON && !rollback_of ? "uploaded" : "applied";
  json_object_set_new(answer, "status", json_string(status));
  json_object_set_new(answer, "message", json_string(msg));
  json_object_set_new(detail, "message", json_string(msg));
  admin_record(gw, key, route, status, detail);
  reply_json(out, 200, answer);
}

void version_upload(gateway *gw, reply *out, const hg_key_info *key, hg_version_kind kind, const char *text,
                    size_t len) {
  version_change(gw, out, key, kind, text, len, 0, upload_route(kind));
}

void version_lexicon_withdraw(gateway *gw, reply *out, const hg_key_info *key) {
  char msg[900];
  if (live_cfg(gw)->versions_require_approval) {
    reply_error(out, 409, "invalid_request_error",
                "versions.require_approval is on: a change of the lexicon in force needs a second admin; bring back "
                "an earlier version (POST /admin/versions/{id}/rollback) or upload the lexicon meant",
                NULL);
    return;
  }
  /* the configured lexicon is loaded before the version is retired: one that does not load changes nothing */
  config_candidate *c = config_build(gw, gw->policy_layer, NULL, NULL, msg, sizeof msg);
  if (!c) {
    reply_error(out, 500, "server_error", msg, NULL);
    admin_record(gw, key, "admin/lexicon", "error", json_pack("{s:s}", "message", msg));
    return;
  }
  int64_t retired = 0;
  hg_error err;
  hg_error_clear(&err);
  hg_status st = hg_store_version_deactivate(gw->store, HG_VERSION_LEXICON, hg_clock_wall_ms(), &retired, &err);
  if (st) {
    config_discard(c);
    reply_store_error(out, st, &err);
    return;
  }
  config_publish(gw, c, msg, sizeof msg);
  admin_record(gw, key, "admin/lexicon", retired ? "upload-removed" : "unchanged",
               json_pack("{s:s, s:I}", "message", msg, "version", (json_int_t)retired));
  json_t *o = json_pack("{s:s, s:b}", "status", msg, "upload_removed", retired != 0);
  json_object_set_new(o, "version", retired ? json_integer(retired) : json_null());
  reply_json(out, 200, o);
}

/* ---- routes ---- */

typedef struct list_ctx {
  json_t *arr;
} list_ctx;

static int list_one(void *ctx, const hg_version_info *v) {
  list_ctx *l = ctx;
  json_array_append_new(l->arr, version_json(v));
  return 0;
}

void route_versions_list(route_req *rq) {
  struct evhttp_request *req = rq->req;
  struct evkeyvalq params = {0};
  const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
  if (q && evhttp_parse_query_str(q, &params)) {
    send_error(req, 400, "invalid_request_error", "the query cannot be read", NULL);
    return;
  }
  const char *kind_s = evhttp_find_header(&params, "kind"), *state_s = evhttp_find_header(&params, "state");
  const char *limit_s = evhttp_find_header(&params, "limit");
  hg_version_kind kind = HG_VERSION_KIND_COUNT;
  hg_version_state state = HG_VERSION_STATE_COUNT;
  long long limit = 100;
  char *end = NULL;
  int bad = (kind_s && hg_version_kind_parse(kind_s, &kind)) || (state_s && hg_version_state_parse(state_s, &state));
  if (limit_s) {
    limit = strtoll(limit_s, &end, 10);
    bad |= !*limit_s || *end || limit < 1 || limit > 1000;
  }
  evhttp_clear_headers(&params);
  if (bad) {
    send_error(req, 400, "invalid_request_error",
               "kind is policy or lexicon; state is pending, active, superseded, rejected or rolled_back; limit is "
               "1-1000 (default 100)",
               NULL);
    return;
  }
  list_ctx l = {json_array()};
  hg_error err;
  hg_error_clear(&err);
  if (hg_store_version_list(read_store(rq->gw), kind, state, limit, list_one, &l, &err)) {
    json_decref(l.arr);
    send_error(req, 503, "server_error", err.message, NULL);
    return;
  }
  send_json(req, 200, json_pack("{s:o}", "versions", l.arr));
}

/* A policy's text may hold credentials (upstream.api_key, identity.provider.token): admins only, as GET
 * /admin/policy. A lexicon is no secret from an auditor. */
static int content_allowed(const hg_key_info *key, hg_version_kind kind) {
  return key->role == HG_ROLE_ADMIN || kind == HG_VERSION_LEXICON;
}

void route_version_get(route_req *rq) {
  int64_t id = version_id(rq->arg);
  if (!id) {
    send_error(rq->req, 404, "invalid_request_error", "no such version", NULL);
    return;
  }
  version_copy c = {0};
  hg_error err;
  hg_error_clear(&err);
  hg_status st = hg_store_version_get(read_store(rq->gw), id, copy_version, &c, &err);
  if (!st && c.nomem) st = HG_ERR_NOMEM, snprintf(err.message, sizeof err.message, "out of memory");
  if (st) {
    version_copy_free(&c);
    send_error(rq->req, st == HG_ERR_NOT_FOUND ? 404 : 503,
               st == HG_ERR_NOT_FOUND ? "invalid_request_error" : "server_error", err.message, NULL);
    return;
  }
  json_t *o = version_json(&c.v);
  if (content_allowed(&rq->key, c.v.kind)) {
    int text = is_text(c.content, (size_t)c.v.size);
    /* a compiled lexicon image is no text: its hash and size say which it is */
    json_object_set_new(o, "content", text ? json_stringn(c.content, (size_t)c.v.size) : json_null());
    json_object_set_new(o, "binary", json_boolean(!text));
  }
  version_copy_free(&c);
  send_json(rq->req, 200, o);
}

/* Work on a version off the event loop (offload.h): diffs, approvals, rollbacks. */
typedef struct version_job {
  gateway *gw;
  hg_key_info key;
  int64_t id;
} version_job;

static int version_offload(route_req *rq, offload_work work) {
  int64_t id = version_id(rq->arg);
  if (!id) {
    send_error(rq->req, 404, "invalid_request_error", "no such version", NULL);
    route_metrics(rq->gw, rq->metric, 404, rq->t0);
    return -1;
  }
  version_job *j = calloc(1, sizeof *j);
  if (j) *j = (version_job){rq->gw, rq->key, id};
  if (!j || offload(rq->w, rq->req, rq->metric, rq->t0, work, j, free)) {
    free(j);
    send_error(rq->req, 503, "server_error", "the work could not be started; try again", NULL);
    route_metrics(rq->gw, rq->metric, 503, rq->t0);
    return -1;
  }
  return 0;
}

/* One change of what is in force at a time (uploads and reloads included): never waited for (409 instead). */
static int busy(gateway *gw, reply *out) {
  if (!pthread_mutex_trylock(&gw->admin_lock)) return 0;
  reply_error(out, 409, "invalid_request_error", "another admin change (upload or reload) is in progress; try again",
              NULL);
  return 1;
}

/* Reads version id with its content into c; on failure answers and returns -1. */
static int fetch(gateway *gw, int64_t id, version_copy *c, reply *out) {
  hg_error err;
  hg_error_clear(&err);
  hg_status st = hg_store_version_get(gw->store, id, copy_version, c, &err);
  if (!st && c->nomem) st = HG_ERR_NOMEM, snprintf(err.message, sizeof err.message, "out of memory");
  if (st) {
    version_copy_free(c);
    reply_store_error(out, st, &err);
    return -1;
  }
  return 0;
}

/* ---- diff ---- */

typedef struct diff_op {
  hg_diff_op op;
  size_t a_line, b_line;
  const char *text;
  size_t len;
} diff_op;

typedef struct diff_ops {
  diff_op *v;
  size_t n, cap;
  size_t added, removed;
  int nomem;
} diff_ops;

static int keep_op(void *ctx, const hg_diff_line *l) {
  diff_ops *d = ctx;
  if (d->n == d->cap) {
    size_t cap = d->cap ? d->cap * 2 : 256;
    diff_op *v = realloc(d->v, cap * sizeof *v);
    if (!v) return d->nomem = 1, 1;
    d->v = v, d->cap = cap;
  }
  d->v[d->n++] = (diff_op){l->op, l->a_line, l->b_line, l->text, l->len};
  d->added += l->op == HG_DIFF_ADD;
  d->removed += l->op == HG_DIFF_DEL;
  return 0;
}

/* Renders the unified format: hunks of changes with DIFF_CONTEXT unchanged lines around them. 1 when cut. */
static int render_unified(const diff_ops *d, const char *a_name, const char *b_name, struct evbuffer *out) {
  evbuffer_add_printf(out, "--- %s\n+++ %s\n", a_name, b_name);
  size_t i = 0;
  while (i < d->n) {
    while (i < d->n && d->v[i].op == HG_DIFF_SAME)
      i++;
    if (i == d->n) break;
    size_t start = i > DIFF_CONTEXT ? i - DIFF_CONTEXT : 0, end = i;
    /* the hunk goes on while the next change is within two contexts of the last one */
    for (size_t k = i; k < d->n; k++) {
      if (d->v[k].op != HG_DIFF_SAME) {
        end = k + 1;
      } else if (k - end >= 2 * DIFF_CONTEXT) {
        break;
      }
    }
    end = end + DIFF_CONTEXT < d->n ? end + DIFF_CONTEXT : d->n;
    size_t a_count = 0, b_count = 0;
    for (size_t k = start; k < end; k++) {
      a_count += d->v[k].op != HG_DIFF_ADD;
      b_count += d->v[k].op != HG_DIFF_DEL;
    }
    /* the unified format numbers an empty range by the line before it */
    size_t a_start = d->v[start].a_line - (a_count == 0), b_start = d->v[start].b_line - (b_count == 0);
    evbuffer_add_printf(out, "@@ -%zu,%zu +%zu,%zu @@\n", a_start, a_count, b_start, b_count);
    for (size_t k = start; k < end; k++) {
      const diff_op *o = &d->v[k];
      evbuffer_add(out, o->op == HG_DIFF_SAME ? " " : o->op == HG_DIFF_DEL ? "-" : "+", 1);
      evbuffer_add(out, o->text, o->len);
      if (!o->len || o->text[o->len - 1] != '\n') evbuffer_add_printf(out, "\n\\ No newline at end of file\n");
      if (evbuffer_get_length(out) > DIFF_OUT_MAX) return 1;
    }
    i = end;
  }
  return 0;
}

/* What a version of kind is compared with: the active version, else what is in force without one (the
 * configuration file's text for a policy; the configured lexicon's file, or the starter lexicon). *base_text is
 * malloc-ed, *base_version 0 without one. */
static int diff_base(gateway *gw, hg_version_kind kind, char **base_text, size_t *base_len, int64_t *base_version,
                     char *name, size_t name_cap, reply *out) {
  version_copy c = {0};
  hg_error err;
  hg_error_clear(&err);
  hg_status st = hg_store_version_active(gw->store, kind, copy_version, &c, &err);
  if (!st && c.nomem) st = HG_ERR_NOMEM, snprintf(err.message, sizeof err.message, "out of memory");
  if (!st) {
    *base_text = c.content;
    *base_len = (size_t)c.v.size;
    *base_version = c.v.id;
    snprintf(name, name_cap, "version %lld (active)", (long long)c.v.id);
    return 0;
  }
  version_copy_free(&c);
  if (st != HG_ERR_NOT_FOUND) return reply_store_error(out, st, &err), -1;
  *base_version = 0;
  const char *path = NULL;
  char lexicon_path[512];
  if (kind == HG_VERSION_POLICY) {
    path = gw->config_path[0] ? gw->config_path : NULL;
  } else {
    pthread_mutex_lock(&gw->config_lock);
    snprintf(lexicon_path, sizeof lexicon_path, "%s", live_cfg(gw)->lexicon);
    pthread_mutex_unlock(&gw->config_lock);
    path = lexicon_path[0] ? lexicon_path : NULL;
  }
  if (!path) {
    if (kind == HG_VERSION_LEXICON) {
      extern const unsigned char hg_starter_lexicon[];
      extern const size_t hg_starter_lexicon_len;
      *base_text = malloc(hg_starter_lexicon_len + 1);
      if (!*base_text) return reply_error(out, 503, "server_error", "out of memory", NULL), -1;
      memcpy(*base_text, hg_starter_lexicon, hg_starter_lexicon_len);
      *base_len = hg_starter_lexicon_len;
      snprintf(name, name_cap, "starter lexicon");
    } else {
      *base_text = calloc(1, 1);
      *base_len = 0;
      snprintf(name, name_cap, "defaults");
    }
    return 0;
  }
  snprintf(name, name_cap, "%.400s", path);
  FILE *f = fopen(path, "rb");
  struct stat sb;
  if (!f || fstat(fileno(f), &sb) || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > DIFF_TEXT_MAX) {
    if (f) fclose(f);
    char m[600];
    snprintf(m, sizeof m, "%s cannot be read to compare with (a regular file of at most %u MiB)", name,
             DIFF_TEXT_MAX >> 20);
    return reply_error(out, 422, "invalid_request_error", m, NULL), -1;
  }
  *base_text = malloc((size_t)sb.st_size + 1);
  *base_len = *base_text ? fread(*base_text, 1, (size_t)sb.st_size, f) : 0;
  fclose(f);
  if (!*base_text) return reply_error(out, 503, "server_error", "out of memory", NULL), -1;
  return 0;
}

static void diff_work(void *arg, reply *out) {
  version_job *j = arg;
  gateway *gw = j->gw;
  version_copy c = {0};
  if (fetch(gw, j->id, &c, out)) return;
  if (!content_allowed(&j->key, c.v.kind)) {
    version_copy_free(&c);
    reply_error(out, 403, "invalid_request_error",
                "a policy's text may hold credentials: its diff is for admins (an auditor sees hashes and sizes in "
                "GET /admin/versions)",
                NULL);
    return;
  }
  char *base = NULL, base_name[500], new_name[80];
  size_t base_len = 0;
  int64_t base_version = 0;
  if (diff_base(gw, c.v.kind, &base, &base_len, &base_version, base_name, sizeof base_name, out)) {
    version_copy_free(&c);
    return;
  }
  snprintf(new_name, sizeof new_name, "version %lld (%s)", (long long)c.v.id, hg_version_state_name(c.v.state));
  char m[400] = "";
  if ((size_t)c.v.size > DIFF_TEXT_MAX || base_len > DIFF_TEXT_MAX)
    snprintf(m, sizeof m, "a text over %u MiB is not diffed", DIFF_TEXT_MAX >> 20);
  else if (!is_text(c.content, (size_t)c.v.size) || !is_text(base, base_len))
    snprintf(m, sizeof m, "a compiled lexicon image is no text: compare the hashes");
  diff_ops d = {0};
  int minimal = 1;
  hg_error err;
  hg_error_clear(&err);
  if (!m[0] && hg_diff_lines(base, base_len, c.content, (size_t)c.v.size, keep_op, &d, &minimal, &err))
    snprintf(m, sizeof m, "%s", err.message);
  if (!m[0] && d.nomem) snprintf(m, sizeof m, "out of memory for the diff");
  if (m[0]) {
    reply_error(out, 422, "invalid_request_error", m, NULL);
  } else {
    struct evbuffer *text = evbuffer_new();
    int truncated = text ? render_unified(&d, base_name, new_name, text) : 1;
    size_t n = text ? evbuffer_get_length(text) : 0;
    json_t *o = json_pack("{s:I, s:s, s:s, s:I, s:I, s:b, s:b, s:b, s:o}", "version", (json_int_t)c.v.id, "kind",
                          hg_version_kind_name(c.v.kind), "against", base_name, "added", (json_int_t)d.added,
                          "removed", (json_int_t)d.removed, "identical", !d.added && !d.removed, "minimal", minimal,
                          "truncated", truncated,
                          "diff", text ? json_stringn((const char *)evbuffer_pullup(text, -1), n) : json_null());
    if (o) json_object_set_new(o, "against_version", base_version ? json_integer(base_version) : json_null());
    if (text) evbuffer_free(text);
    reply_json(out, 200, o);
  }
  free(d.v);
  free(base);
  version_copy_free(&c);
}

void route_version_diff(route_req *rq) { version_offload(rq, diff_work); }

/* ---- approve, reject, roll back ---- */

static void approve_locked(version_job *j, reply *out) {
  gateway *gw = j->gw;
  version_copy c = {0};
  if (fetch(gw, j->id, &c, out)) return;
  char msg[900];
  if (c.v.state != HG_VERSION_PENDING) {
    snprintf(msg, sizeof msg, "version %lld is %s, not pending", (long long)c.v.id, hg_version_state_name(c.v.state));
    reply_error(out, 409, "invalid_request_error", msg, NULL);
  } else if (!strcmp(c.author, j->key.user)) {
    /* the second person of a two-person rule is a person: another key of the same admin is not one */
    reply_error(out, 403, "invalid_request_error",
                "the author of a version cannot approve it: another admin must (versions.require_approval)",
                "self_approval");
    admin_record(gw, &j->key, "admin/version-approve", "refused",
                 json_pack("{s:I, s:s}", "version", (json_int_t)c.v.id, "message", "self-approval"));
  } else {
    layer candidate = {.text = c.content, .len = (size_t)c.v.size};
    char name[64];
    snprintf(name, sizeof name, "policy version %lld", (long long)c.v.id);
    config_candidate *cand = build_with(gw, c.v.kind, &candidate, name, msg, sizeof msg);
    if (!cand) {
      /* it stays pending: a file fixed meanwhile lets it through later */
      reply_error(out, 422, "invalid_request_error", msg,
                  c.v.kind == HG_VERSION_POLICY ? "invalid_config" : "invalid_lexicon");
      admin_record(gw, &j->key, "admin/version-approve", "refused",
                   json_pack("{s:I, s:s}", "version", (json_int_t)c.v.id, "message", msg));
    } else {
      int64_t now = hg_clock_wall_ms();
      hg_error err;
      hg_error_clear(&err);
      hg_status st = hg_store_version_approve(gw->store, c.v.id, j->key.user, now, &err);
      if (st) {
        config_discard(cand);
        reply_store_error(out, st, &err);
      } else {
        layer *in_force = c.v.kind == HG_VERSION_POLICY ? cand->policy : cand->lexicon;
        in_force->version = c.v.id;
        in_force->activated_ms = now;
        config_publish(gw, cand, msg, sizeof msg);
        admin_record(gw, &j->key, "admin/version-approve", "applied",
                     json_pack("{s:I, s:s, s:s, s:s, s:s}", "version", (json_int_t)c.v.id, "kind",
                               hg_version_kind_name(c.v.kind), "sha256", c.v.sha256, "author", c.author, "message",
                               msg));
        reply_json(out, 200,
                   json_pack("{s:s, s:I, s:s, s:s, s:s}", "status", "applied", "version", (json_int_t)c.v.id, "kind",
                             hg_version_kind_name(c.v.kind), "approver", j->key.user, "message", msg));
      }
    }
  }
  version_copy_free(&c);
}

static void approve_work(void *arg, reply *out) {
  version_job *j = arg;
  if (busy(j->gw, out)) return;
  approve_locked(j, out);
  pthread_mutex_unlock(&j->gw->admin_lock);
}

void route_version_approve(route_req *rq) { version_offload(rq, approve_work); }

void route_version_reject(route_req *rq) {
  gateway *gw = rq->gw;
  int64_t id = version_id(rq->arg);
  if (!id) {
    send_error(rq->req, 404, "invalid_request_error", "no such version", NULL);
    return;
  }
  const char *note = NULL;
  json_t *body = NULL;
  if (evbuffer_get_length(evhttp_request_get_input_buffer(rq->req))) {
    static const char *const allowed[] = {"note", NULL};
    body = read_json_body(rq->req);
    if (!json_is_object(body)) {
      json_decref(body);
      send_error(rq->req, 400, "invalid_request_error", "the body, when there is one, is {\"note\": \"why\"}", NULL);
      return;
    }
    if (only_members(rq->req, body, allowed)) return json_decref(body);
    json_t *n = json_object_get(body, "note");
    if (n && !json_is_string(n)) {
      json_decref(body);
      send_error(rq->req, 400, "invalid_request_error", "note is a string", NULL);
      return;
    }
    note = json_string_value(n);
  }
  hg_error err;
  hg_error_clear(&err);
  hg_status st = hg_store_version_reject(gw->store, id, rq->key.user, note, hg_clock_wall_ms(), &err);
  if (st) {
    json_decref(body);
    int status = st == HG_ERR_NOT_FOUND ? 404 : st == HG_ERR_CONFLICT ? 409 : st == HG_ERR_LIMIT ? 422 : 503;
    send_error(rq->req, status, status == 503 ? "server_error" : "invalid_request_error", err.message, NULL);
    return;
  }
  admin_record(gw, &rq->key, "admin/version-reject", "rejected",
               json_pack("{s:I, s:s?}", "version", (json_int_t)id, "note", note));
  send_json(rq->req, 200, json_pack("{s:s, s:I}", "status", "rejected", "version", (json_int_t)id));
  json_decref(body);
}

static void rollback_work(void *arg, reply *out) {
  version_job *j = arg;
  gateway *gw = j->gw;
  if (busy(gw, out)) return;
  version_copy c = {0};
  if (!fetch(gw, j->id, &c, out)) {
    char msg[300];
    if (c.v.state == HG_VERSION_ACTIVE) {
      snprintf(msg, sizeof msg, "version %lld is the one in force", (long long)c.v.id);
      reply_error(out, 409, "invalid_request_error", msg, NULL);
    } else {
      /* the store refuses what was never in force; the checks and the change are version_change's */
      version_change(gw, out, &j->key, c.v.kind, c.content, (size_t)c.v.size, c.v.id, "admin/version-rollback");
    }
    version_copy_free(&c);
  }
  pthread_mutex_unlock(&gw->admin_lock);
}

void route_version_rollback(route_req *rq) { version_offload(rq, rollback_work); }
