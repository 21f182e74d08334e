/* server.c — `hegui serve`: worker threads, each an event loop with its own listening socket on the shared port
 * (SO_REUSEPORT) and its own upstream client; the routes; API keys; SIGHUP and admin reloads of the lexicon; and a
 * graceful shutdown that stops accepting, lets the answers in progress finish, then exits. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "abuse.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/json.h"
#include "base/sha256.h"
#include "framing.h"
#include "gateway.h"
#include "guard_client.h"
#include "modpool.h"
#include "offload.h"
#include "router.h"
#include "server.h"
#include "versions.h"

void sha256_hex(const void *data, size_t len, char out[65]) { hg_sha256_hex(data, len, out); }

void pseudonym(const gateway *gw, const char *user, char out[33]) {
  unsigned char h[16];
  crypto_generichash(h, sizeof h, (const unsigned char *)user, strlen(user), gw->pseudonym_key,
                     sizeof gw->pseudonym_key);
  sodium_bin2hex(out, 33, h, sizeof h);
}

_Thread_local int last_status;

const char *http_reason(int status) {
  /* libevent's own table stops at 417 and 505 and says "Client Error" for a 429 */
  static const struct {
    int status;
    const char *reason;
  } reasons[] = {{200, "OK"},
                 {201, "Created"},
                 {202, "Accepted"},
                 {204, "No Content"},
                 {400, "Bad Request"},
                 {401, "Unauthorized"},
                 {403, "Forbidden"},
                 {404, "Not Found"},
                 {405, "Method Not Allowed"},
                 {408, "Request Timeout"},
                 {409, "Conflict"},
                 {410, "Gone"},
                 {413, "Content Too Large"},
                 {414, "URI Too Long"},
                 {415, "Unsupported Media Type"},
                 {422, "Unprocessable Content"},
                 {429, "Too Many Requests"},
                 {431, "Request Header Fields Too Large"},
                 {500, "Internal Server Error"},
                 {501, "Not Implemented"},
                 {502, "Bad Gateway"},
                 {503, "Service Unavailable"},
                 {504, "Gateway Timeout"}};
  for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
    if (reasons[i].status == status) return reasons[i].reason;
  return status >= 500 ? "Server Error" : status >= 400 ? "Client Error" : status >= 300 ? "Redirect" : "OK";
}

void send_json(struct evhttp_request *req, int status, json_t *body) {
  char *s = body ? hg_json_dumps(body, JSON_COMPACT) : NULL;
  json_decref(body);
  if (!s) { /* a body that could not be made (out of memory, a string that is not UTF-8): never an empty 200 */
    status = 500;
    s = strdup("{\"error\":{\"message\":\"the answer could not be encoded\",\"type\":\"server_error\","
               "\"param\":null,\"code\":null}}");
  }
  last_status = status;
  struct evbuffer *b = evbuffer_new();
  if (s) evbuffer_add(b, s, strlen(s));
  evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
  evhttp_send_reply(req, status, http_reason(status), b);
  evbuffer_free(b);
  free(s);
}

void send_error(struct evhttp_request *req, int status, const char *type, const char *message, const char *code) {
  send_error_param(req, status, type, message, NULL, code);
}

void send_error_param(struct evhttp_request *req, int status, const char *type, const char *message, const char *param,
                      const char *code) {
  send_json(req, status,
            json_pack("{s:{s:s, s:s, s:o, s:o}}", "error", "message", message, "type", type, "param",
                      param ? json_string(param) : json_null(), "code", code ? json_string(code) : json_null()));
}

int authenticate(gateway *gw, struct evhttp_request *req, hg_key_info *info) {
  admit_ctx ax = admit_ctx_of(gw);
  admit_refusal refusal;
  if (!admit_key(&ax, evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization"), info, &refusal))
    return 0;
  admission_refused(gw, req, &refusal);
  return -1;
}

/* ---- the effective configuration: the file, the active versions over it ---- */

layer *layer_new(int64_t version, int64_t activated_ms, const void *text, size_t len) {
  layer *l = calloc(1, sizeof *l);
  if (l) l->text = malloc(len + 1);
  if (!l || !l->text) return free(l), NULL;
  if (len) memcpy(l->text, text, len);
  l->text[len] = 0;
  l->len = len;
  l->version = version;
  l->activated_ms = activated_ms;
  return l;
}

layer *layer_copy(const layer *l) { return l ? layer_new(l->version, l->activated_ms, l->text, l->len) : NULL; }

void layer_free(layer *l) {
  if (!l) return;
  free(l->text);
  free(l);
}

hg_status lexicon_from_bytes(const char *text, size_t len, const char *name, hg_lexicon **out, hg_error *err) {
  *out = NULL;
  /* a compiled image is taken as one (as hg_lexicon_open takes a file that starts with its magic) */
  if (len >= 8 && !memcmp(text, "HGLEXIMG", 8)) {
    hg_status st = hg_lexicon_from_image(text, len, out, err);
    if (st && err) {
      char m[sizeof err->message];
      snprintf(m, sizeof m, "%s", err->message);
      snprintf(err->message, sizeof err->message, "%.60s: %.250s", name, m);
    }
    return st;
  }
  hg_lexicon_source *src;
  if (hg_lexicon_source_new(&src)) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  hg_status st = hg_lexicon_source_add_text(src, text, len, name, NULL, err);
  if (!st) st = hg_lexicon_compile(src, NULL, out, err);
  hg_lexicon_source_free(src);
  return st;
}

/* Loads the lexicon in force for a configuration: the active lexicon version's when there is one, else `lexicon:`,
 * else the starter lexicon. source gets where it came from, *updated_ms when it was last updated (0: unknown). */
static hg_status load_lexicon_for(const hg_config *cfg, const layer *version, hg_lexicon **out, char *source,
                                  size_t cap, int64_t *updated_ms, hg_error *err) {
  hg_status st;
  *updated_ms = 0;
  if (version) {
    char name[64];
    if (version->version)
      snprintf(name, sizeof name, "lexicon version %lld", (long long)version->version);
    else
      snprintf(name, sizeof name, "upload");
    snprintf(source, cap, "upload (version %lld)", (long long)version->version);
    st = lexicon_from_bytes(version->text, version->len, name, out, err);
    *updated_ms = version->activated_ms;
  } else {
    snprintf(source, cap, "%s", cfg->lexicon[0] ? cfg->lexicon : "starter");
    st = server_load_lexicon(cfg, out, err);
    struct stat sb;
    if (!st && cfg->lexicon[0] && !stat(cfg->lexicon, &sb))
      *updated_ms = (int64_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000;
  }
  /* an empty file would turn word moderation off without a word: only on purpose */
  if (!st && !hg_lexicon_entry_count(*out) && !cfg->allow_empty_lexicon) {
    hg_lexicon_unref(*out);
    *out = NULL;
    return hg_fail(err, HG_ERR_INVALID, 0, 0,
                   "%.300s has no entries: word moderation would be off (set policy.allow_empty_lexicon: true if that "
                   "is meant)",
                   version && !version->version ? "the upload" : source);
  }
  return st;
}

void lexicon_age(gateway *gw, int64_t now_ms, int64_t *age_ms, int *stale) {
  pthread_mutex_lock(&gw->config_lock);
  int64_t updated = gw->lexicon_updated_ms;
  pthread_mutex_unlock(&gw->config_lock);
  int64_t limit_ms = (int64_t)live_cfg(gw)->lexicon_max_age_days * 86400000;
  *age_ms = updated ? (now_ms > updated ? now_ms - updated : 0) : -1;
  *stale = limit_ms > 0 && (*age_ms < 0 || *age_ms > limit_ms);
}

static void keep_fixed(const hg_config *running, const hg_config *file_before, hg_config *next, char *changed,
                       size_t cap) {
  changed[0] = 0;
#define FIXED(member, name)                                                                                            \
  if (memcmp(&file_before->member, &next->member, sizeof next->member) && strlen(changed) + strlen(name) + 3 < cap)    \
    strcat(strcat(changed, *changed ? ", " : ""), name);                                                               \
  memcpy(&next->member, &running->member, sizeof next->member);
  FIXED(listen, "listen")
  FIXED(workers, "workers")
  FIXED(max_body_bytes, "limits.max_body_bytes")
  FIXED(max_header_bytes, "limits.max_header_bytes")
  FIXED(header_timeout_ms, "limits.header_timeout_ms")
  FIXED(body_timeout_ms, "limits.body_timeout_ms")
  FIXED(max_streams, "limits.max_streams")
  FIXED(drain_timeout_ms, "limits.drain_timeout_ms")
  FIXED(upstream_url, "upstream.url")
  FIXED(upstream_api_key, "upstream.api_key")
  FIXED(connect_timeout_ms, "upstream.connect_timeout_ms")
  FIXED(first_byte_timeout_ms, "upstream.first_byte_timeout_ms")
  FIXED(idle_timeout_ms, "upstream.idle_timeout_ms")
  FIXED(data_dir, "data_dir")
  FIXED(store_url, "store")
  FIXED(auth_required, "auth.required")
  FIXED(identity_key_file, "identity.key_file")
  FIXED(audit_durability, "audit.durability")
  FIXED(log_level, "log.level")
  FIXED(log_json, "log.format")
  FIXED(log_access, "log.access")
#undef FIXED
}

static char *read_whole(const char *path, size_t *len, char *msg, size_t cap) {
  FILE *f = fopen(path, "rb");
  if (!f) return snprintf(msg, cap, "%s: %s", path, strerror(errno)), NULL;
  char *buf = malloc((4u << 20) + 1);
  size_t n = buf ? fread(buf, 1, 4u << 20, f) : 0;
  int bad = !buf || ferror(f);
  fclose(f);
  if (bad) return free(buf), snprintf(msg, cap, "%s: cannot read", path), NULL;
  buf[n] = 0;
  *len = n;
  return buf;
}

config_candidate *config_build(gateway *gw, const layer *policy, const layer *lexicon, const char *policy_name,
                               char *msg, size_t cap) {
  config_candidate *c = calloc(1, sizeof *c);
  if (!c) return snprintf(msg, cap, "out of memory"), NULL;
  char *file_text = NULL;
  size_t file_len = 0;
  hg_error err;
  hg_error_clear(&err);
  if ((policy && !(c->policy = layer_copy(policy))) || (lexicon && !(c->lexicon = layer_copy(lexicon))) ||
      !(c->fresh = calloc(1, sizeof *c->fresh))) {
    snprintf(msg, cap, "out of memory");
    goto fail;
  }
  if (gw->config_path[0] && !(file_text = read_whole(gw->config_path, &file_len, msg, cap))) goto fail;
  hg_config *next = &c->fresh->cfg;
  hg_config_init(next);
  /* the file first, the policy version over it: a key the version sets wins, one it leaves out keeps the file's */
  if (file_text && hg_config_parse(next, file_text, file_len, gw->config_path, &err)) {
    snprintf(msg, cap, "%s", err.message);
    goto fail;
  }
  if (file_text) sha256_hex(file_text, file_len, c->sha);
  if (policy && hg_config_parse(next, policy->text, policy->len, policy_name ? policy_name : "policy version", &err)) {
    snprintf(msg, cap, "%s", err.message);
    goto fail;
  }
  if (hg_policy_from_config(next, &c->fresh->policy, &err)) {
    snprintf(msg, cap, "policy: %s", err.message);
    goto fail;
  }
  c->parsed = *next;
  pthread_mutex_lock(&gw->config_lock);
  keep_fixed(&gw->cfg, &gw->file_cfg, next, c->changed, sizeof c->changed);
  pthread_mutex_unlock(&gw->config_lock);
  if (gw->lexicon_override[0]) snprintf(next->lexicon, sizeof next->lexicon, "%s", gw->lexicon_override);
  /* the lexicon is loaded before anything is published: a bad one changes nothing */
  if (load_lexicon_for(next, lexicon, &c->lex, c->source, sizeof c->source, &c->lexicon_updated_ms, &err)) {
    snprintf(msg, cap, "lexicon: %s", err.message);
    goto fail;
  }
  free(file_text);
  return c;
fail:
  free(file_text);
  config_discard(c);
  return NULL;
}

void config_discard(config_candidate *c) {
  if (!c) return;
  if (c->fresh && c->fresh->policy) hg_policy_unref(c->fresh->policy);
  free(c->fresh);
  if (c->lex) hg_lexicon_unref(c->lex);
  layer_free(c->policy);
  layer_free(c->lexicon);
  free(c);
}

void config_publish(gateway *gw, config_candidate *c, char *msg, size_t cap) {
  live_config *fresh = c->fresh;
  if (c->lexicon) { /* a candidate's version gets its id and activation once stored: say them */
    snprintf(c->source, sizeof c->source, "upload (version %lld)", (long long)c->lexicon->version);
    c->lexicon_updated_ms = c->lexicon->activated_ms;
  }
  pthread_mutex_lock(&gw->config_lock);
  gw->file_cfg = c->parsed;
  int64_t now = hg_clock_mono_ms(); /* the grace period must not follow the wall clock (or a test's clock) */
  live_config *old = atomic_exchange(&gw->live, fresh);
  old->retired_ms = now;
  live_config **r = realloc(gw->retired, (gw->nretired + 1) * sizeof *r);
  if (r) {
    gw->retired = r;
    gw->retired[gw->nretired++] = old;
  } /* else the old copy is leaked rather than freed under a reader */
  /* free the retired copies no request holds any more, once past the grace period for readers of one callback */
  size_t kept = 0;
  for (size_t i = 0; i < gw->nretired; i++) {
    live_config *l = gw->retired[i];
    if (atomic_load(&l->refs) == 0 && now - l->retired_ms > RETIRE_GRACE_MS) {
      hg_policy_unref(l->policy);
      free(l);
    } else
      gw->retired[kept++] = l;
  }
  gw->nretired = kept;
  hg_lexicon_slot_replace(gw->lexicon, c->lex);
  size_t entries = hg_lexicon_entry_count(c->lex);
  hg_lexicon_unref(c->lex);
  snprintf(gw->lexicon_source, sizeof gw->lexicon_source, "%s", c->source);
  gw->lexicon_loaded_ms = gw->config_loaded_ms = hg_clock_wall_ms();
  gw->lexicon_updated_ms = c->lexicon_updated_ms;
  snprintf(gw->config_sha256, sizeof gw->config_sha256, "%s", c->sha);
  layer_free(gw->policy_layer);
  layer_free(gw->lexicon_layer);
  gw->policy_layer = c->policy;
  gw->lexicon_layer = c->lexicon;
  pthread_mutex_unlock(&gw->config_lock);
  atomic_fetch_add(&gw->metrics.reloads, 1);
  char policy_note[64] = "";
  if (c->policy) snprintf(policy_note, sizeof policy_note, ", policy version %lld", (long long)c->policy->version);
  snprintf(msg, cap, "configuration reloaded (profile %s%s); lexicon: %zu entries from %s%s%s",
           hg_profile_name(fresh->cfg.profile), policy_note, entries, c->source,
           *c->changed ? "; needs a restart to change: " : "", c->changed);
  free(c);
}

int reload_config(gateway *gw, char *msg, size_t cap) {
  /* the versions as the store has them: one put in force through another gateway on the store arrives here */
  layer *policy, *lexicon;
  if (versions_read_active(gw, &policy, &lexicon, msg, cap)) return -1;
  config_candidate *c = config_build(gw, policy, lexicon, NULL, msg, cap);
  layer_free(policy);
  layer_free(lexicon);
  if (!c) return -1;
  config_publish(gw, c, msg, cap);
  return 0;
}

/* POST /admin/reload, on a thread of its own (offload.h): the configuration file and the lexicon it names are read
 * and compiled there, never on an event loop. */
typedef struct reload_job {
  gateway *gw;
  char user[128];
} reload_job;

static void reload_work(void *arg, reply *out) {
  reload_job *j = arg;
  gateway *gw = j->gw;
  char msg[900];
  if (pthread_mutex_trylock(&gw->admin_lock)) {
    reply_error(out, 409, "invalid_request_error", "another admin change (upload or reload) is in progress; try again",
                NULL);
    return;
  }
  int bad = reload_config(gw, msg, sizeof msg);
  pthread_mutex_unlock(&gw->admin_lock);
  char actor[160];
  snprintf(actor, sizeof actor, "admin:%.50s", j->user);
  hg_audit_record r = {0};
  r.actor = actor;
  r.route = "/admin/reload";
  r.verdict = bad ? "error" : "ok";
  json_t *d = json_pack("{s:s}", "message", msg);
  char *ds = hg_json_dumps(d, JSON_COMPACT);
  r.detail_json = ds;
  hg_store_audit_append(gw->store, &r, NULL);
  free(ds);
  json_decref(d);
  if (bad)
    reply_error(out, 422, "invalid_request_error", msg, NULL);
  else
    reply_json(out, 200, json_pack("{s:s}", "status", msg));
}

void route_healthz(route_req *rq) { send_json(rq->req, 200, json_pack("{s:s}", "status", "ok")); }

/* Ready, with warnings that need a person but are no reason to take the gateway out of service: a lexicon not
 * updated within versions.lexicon_max_age_days (TC260-003 asks for weekly updates). */
void route_readyz(route_req *rq) {
  int ready = !atomic_load(&rq->gw->stopping);
  json_t *o = json_pack("{s:s}", "status", ready ? "ready" : "stopping");
  int64_t age_ms;
  int stale;
  lexicon_age(rq->gw, hg_clock_wall_ms(), &age_ms, &stale);
  json_object_set_new(o, "lexicon_age_seconds", age_ms >= 0 ? json_integer(age_ms / 1000) : json_null());
  if (stale) {
    char w[400];
    unsigned days = live_cfg(rq->gw)->lexicon_max_age_days;
    if (age_ms < 0)
      snprintf(w, sizeof w,
               "lexicon_stale: the lexicon in force is hegui's starter lexicon, never updated by this provider "
               "(TC260-003 asks for weekly updates; versions.lexicon_max_age_days: %u)",
               days);
    else
      snprintf(w, sizeof w,
               "lexicon_stale: the lexicon was last updated %lld days ago, more than versions.lexicon_max_age_days "
               "(%u; TC260-003 asks for weekly updates)",
               (long long)(age_ms / 86400000), days);
    json_object_set_new(o, "warnings", json_pack("[s]", w));
  }
  send_json(rq->req, ready ? 200 : 503, o);
}

void route_metrics_text(route_req *rq) {
  char *text = metrics_render(&rq->gw->metrics);
  struct evbuffer *b = evbuffer_new();
  if (text) evbuffer_add(b, text, strlen(text));
  int64_t age_ms;
  int stale;
  lexicon_age(rq->gw, hg_clock_wall_ms(), &age_ms, &stale);
  if (age_ms >= 0)
    evbuffer_add_printf(b,
                        "# HELP hegui_lexicon_age_seconds Time since the lexicon in force was last updated.\n"
                        "# TYPE hegui_lexicon_age_seconds gauge\nhegui_lexicon_age_seconds %lld\n",
                        (long long)(age_ms / 1000));
  evbuffer_add_printf(b,
                      "# HELP hegui_lexicon_stale 1 when the lexicon is older than versions.lexicon_max_age_days (or "
                      "never updated).\n# TYPE hegui_lexicon_stale gauge\nhegui_lexicon_stale %d\n",
                      stale);
  evhttp_add_header(evhttp_request_get_output_headers(rq->req), "Content-Type", "text/plain; version=0.0.4");
  evhttp_send_reply(rq->req, 200, "OK", b);
  last_status = 200;
  evbuffer_free(b);
  free(text);
}

void route_reload(route_req *rq) {
  reload_job *j = malloc(sizeof *j);
  if (!j || (j->gw = rq->gw, snprintf(j->user, sizeof j->user, "%s", rq->key.user),
             offload(rq->w, rq->req, rq->metric, rq->t0, reload_work, j, free))) {
    free(j);
    send_error(rq->req, 503, "server_error", "the reload could not be started; try again", NULL);
    route_metrics(rq->gw, rq->metric, 503, rq->t0);
  }
}

typedef struct models_call {
  worker *w;
  struct evhttp_request *req;
  struct evbuffer *body;
  route_trace trace;
  double up_t0;
} models_call;

static void models_data(void *ctx, const char *data, size_t len) {
  models_call *m = ctx;
  if (evbuffer_get_length(m->body) < (1u << 20)) evbuffer_add(m->body, data, len);
}

static void models_done(void *ctx, CURLcode result, long status, const char *error) {
  models_call *m = ctx;
  if (result != CURLE_OK) {
    char msg[300];
    snprintf(msg, sizeof msg, "upstream unavailable: %s", error);
    send_error(m->req, 502, "upstream_error", msg, NULL);
    atomic_fetch_add(&m->w->gw->metrics.upstream_errors, 1);
    status = 502;
  } else {
    evhttp_add_header(evhttp_request_get_output_headers(m->req), "Content-Type", "application/json");
    evhttp_send_reply(m->req, (int)status, http_reason((int)status), m->body);
  }
  route_finish(m->w->gw, &m->trace, (int)status, NULL, hg_clock_mono_s() - m->up_t0);
  m->w->active--;
  evbuffer_free(m->body);
  free(m);
}

void route_models(route_req *rq) {
  worker *w = rq->w;
  models_call *m = calloc(1, sizeof *m);
  if (!m) {
    send_error(rq->req, 503, "server_error", "out of memory", NULL);
    route_metrics(rq->gw, R_MODELS, 503, rq->t0);
    return;
  }
  m->w = w;
  m->req = rq->req;
  route_trace_of(rq, &m->trace);
  m->up_t0 = hg_clock_mono_s();
  m->body = evbuffer_new();
  up_handlers h = {models_data, models_done, m};
  w->active++;
  if (!upstream_start(w->up, "GET", "/v1/models", NULL, 0, &h)) models_done(m, CURLE_FAILED_INIT, 0, "cannot start");
}

/* ---- workers ---- */

static int listen_socket(const char *host, unsigned port, char *msg, size_t cap) {
  struct sockaddr_in6 a6 = {0};
  struct sockaddr_in a4 = {0};
  int v6 = strchr(host, ':') != NULL;
  int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return snprintf(msg, cap, "socket: %s", strerror(errno)), -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  int ok;
  if (v6) {
    a6.sin6_family = AF_INET6;
    a6.sin6_port = htons((uint16_t)port);
    ok = inet_pton(AF_INET6, host, &a6.sin6_addr) == 1 && bind(fd, (struct sockaddr *)&a6, sizeof a6) == 0;
  } else {
    a4.sin_family = AF_INET;
    a4.sin_port = htons((uint16_t)port);
    ok = inet_pton(AF_INET, strcmp(host, "localhost") ? host : "127.0.0.1", &a4.sin_addr) == 1 &&
         bind(fd, (struct sockaddr *)&a4, sizeof a4) == 0;
  }
  if (!ok || listen(fd, 1024) != 0) {
    snprintf(msg, cap, "cannot listen on %s:%u: %s", host, port, strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

static unsigned bound_port(int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len)) return 0;
  if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void on_tick(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  worker *w = arg;
  gateway *gw = w->gw;
  framing_tick(w);
  modpool_tick();
  if (atomic_load(&gw->stopping) && w->bound) {
    /* stop accepting; answers in progress go on */
    evhttp_del_accept_socket(w->http, w->bound);
    w->bound = NULL;
  }
  if (atomic_load(&gw->stopping) && (!w->active || atomic_load(&gw->stopping) == 2)) event_base_loopbreak(w->base);
}

_Thread_local hg_store *thread_read_store;

static void *worker_main(void *arg) {
  worker *w = arg;
  thread_read_store = w->rstore;
  modpool_enable();
  event_base_dispatch(w->base);
  modpool_drain();
  thread_read_store = NULL;
  return NULL;
}

static int worker_init(worker *w, gateway *gw, unsigned index, const char *host, unsigned *port, char *msg,
                       size_t cap) {
  w->gw = gw;
  w->index = index;
  /* a read connection of its own (SQLite; another backend may share one): failing that, reads use the shared one */
  char url[700];
  hg_error err;
  snprintf(url, sizeof url, "%s", gw->cfg.store_url[0] ? gw->cfg.store_url : "");
  if (!url[0]) snprintf(url, sizeof url, "sqlite:%s/hegui.db", gw->cfg.data_dir);
  if (hg_store_open(url, &w->rstore, &err)) w->rstore = NULL;
  /* epoll's changelist: a socket's interest changed and changed back within one loop turn (a read turned off and
   * on again around a write, as libevent's http layer does per chunk) costs no epoll_ctl at all */
  struct event_config *ec = event_config_new();
  if (ec) event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
  w->base = ec ? event_base_new_with_config(ec) : NULL;
  if (ec) event_config_free(ec);
  if (!w->base) w->base = event_base_new();
  w->http = evhttp_new(w->base);
  w->up = upstream_new(w->base, &gw->cfg);
  if (!w->base || !w->http || !w->up || framing_attach(w)) return snprintf(msg, cap, "out of memory"), -1;
  int fd = listen_socket(host, *port, msg, cap);
  if (fd < 0) return -1;
  if (!*port) *port = bound_port(fd);
  if (!(w->bound = evhttp_accept_socket_with_handle(w->http, fd)))
    return snprintf(msg, cap, "cannot accept"), close(fd), -1;
  evhttp_set_max_body_size(w->http, (ev_ssize_t)gw->cfg.max_body_bytes);
  evhttp_set_max_headers_size(w->http, (ev_ssize_t)gw->cfg.max_header_bytes);
  evhttp_set_timeout(w->http, (int)((gw->cfg.header_timeout_ms + 999) / 1000));
  evhttp_set_allowed_methods(w->http,
                             EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
  evhttp_set_gencb(w->http, route_dispatch, w);
  w->tick = event_new(w->base, -1, EV_PERSIST, on_tick, w);
  struct timeval tv = {0, 100000};
  event_add(w->tick, &tv);
  return 0;
}

static void worker_free(worker *w) {
  hg_store_close(w->rstore);
  w->rstore = NULL;
  while (atomic_load(&w->jobs)) /* an offloaded job still running will touch this loop once more */
    usleep(10000);
  if (w->http) evhttp_free(w->http);
  framing_detach(w);
  if (w->tick) event_free(w->tick);
  upstream_free(w->up);
  if (w->base) event_base_free(w->base);
}

static gateway *signal_target;
static void on_signal(int sig) {
  if (!signal_target) return;
  if (sig == SIGHUP) {
    atomic_store(&signal_target->reload_requested, 1);
    return;
  }
  int s = atomic_load(&signal_target->stopping);
  atomic_store(&signal_target->stopping, s ? 2 : 1); /* a second signal stops at once */
}

hg_status retention_run(gateway *gw, hg_purge_counts *out, hg_error *err) {
  audit_flush(gw); /* records still queued are older than the purge: they are in the store first */
  return hg_store_purge(gw->store, hg_clock_wall_ms(), (int64_t)live_cfg(gw)->text_retention_days * 86400000, 0, out,
                        err);
}

int server_run(gateway *gw, void (*ready)(gateway *gw, void *ctx), void *ctx, char *msg, size_t cap) {
  char host[128];
  unsigned port = 0;
  const char *colon = strrchr(gw->cfg.listen, ':');
  if (!colon) return snprintf(msg, cap, "listen must be HOST:PORT"), -1;
  snprintf(host, sizeof host, "%.*s", (int)(colon - gw->cfg.listen), gw->cfg.listen);
  if (host[0] == '[') memmove(host, host + 1, strlen(host)), host[strlen(host) - 1] = 0;
  port = (unsigned)atoi(colon + 1);
  evthread_use_pthreads();
  curl_global_init(CURL_GLOBAL_DEFAULT);
  gw->nworkers = gw->cfg.workers ? gw->cfg.workers : 1;
  gw->workers = calloc(gw->nworkers, sizeof *gw->workers);
  if (!gw->workers) return snprintf(msg, cap, "out of memory"), -1;
  for (unsigned i = 0; i < gw->nworkers; i++)
    if (worker_init(&gw->workers[i], gw, i, host, &port, msg, cap)) {
      for (unsigned k = 0; k <= i; k++)
        worker_free(&gw->workers[k]);
      free(gw->workers);
      return -1;
    }
  gw->port = port;
  signal_target = gw;
  struct sigaction sa = {0};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  for (unsigned i = 0; i < gw->nworkers; i++)
    pthread_create(&gw->workers[i].thread, NULL, worker_main, &gw->workers[i]);
  if (webhooks_start(gw)) fprintf(stderr, "hegui: the webhook sender did not start; deliveries wait in the store\n");
  if (ready) ready(gw, ctx);
  /* systemd (Type=notify): ready once every worker listens; reloads and the stop are announced, and the watchdog
   * is fed from this loop, so a main thread stuck in a reload or a purge is restarted. Without NOTIFY_SOCKET these
   * calls do nothing. */
  sd_notifyf(0, "READY=1\nSTATUS=serving on port %u", gw->port);
  uint64_t watchdog_usec = 0;
  if (sd_watchdog_enabled(0, &watchdog_usec) <= 0) watchdog_usec = 0;
  double watchdog_next = 0;
  /* the main thread watches for reload requests and the drain deadline */
  double stop_at = 0;
  for (unsigned tick = 0;; tick++) {
    usleep(50000);
    if (watchdog_usec && hg_clock_mono_s() >= watchdog_next) { /* twice per period, as sd_watchdog_enabled(3) asks */
      sd_notify(0, "WATCHDOG=1");
      watchdog_next = hg_clock_mono_s() + watchdog_usec / 2e6;
    }
    /* the audit writer checkpoints the log between its batches (audit_writer.c); writes that do not go through it
     * (blocked prompts' records, counters, admin changes) get theirs here, past SQLite's own 1,000 pages */
    if (hg_store_log_pages(gw->store) >= 1000) {
      hg_error cerr;
      if (hg_store_checkpoint(gw->store, &cerr)) hg_log_write(&gw->log, HG_LOG_ERROR, "checkpoint: %s", cerr.message);
    }
    /* takedowns apply to every worker (and every gateway sharing the store) within a second */
    if (tick % 5 == 0 || atomic_exchange(&gw->takedown_refresh, 0)) refresh_takedowns(gw, tick % 1200 == 0);
    /* (every minute a full rebuild, so that expired takedowns drop out: expiry does not change the version) */
    if (tick % 72000 == 1200) { /* the retention job: an hour apart, the first a minute after start */
      hg_purge_counts pc;
      hg_error perr;
      if (retention_run(gw, &pc, &perr)) hg_log_write(&gw->log, HG_LOG_ERROR, "purge: %s", perr.message);
    }
    if (atomic_load(&gw->reload_requested) && !pthread_mutex_trylock(&gw->admin_lock)) {
      /* an admin change in progress: the reload waits for the next tick rather than block this loop */
      atomic_store(&gw->reload_requested, 0);
      sd_notify(0, "RELOADING=1\nSTATUS=reloading");
      char rmsg[900];
      int bad = reload_config(gw, rmsg, sizeof rmsg);
      pthread_mutex_unlock(&gw->admin_lock);
      sd_notifyf(0, "READY=1\nSTATUS=%s", bad ? "serving; the last reload changed nothing" : "serving");
      hg_log_write(&gw->log, bad ? HG_LOG_WARN : HG_LOG_INFO, "SIGHUP: %s%s", bad ? "nothing changed: " : "", rmsg);
      /* in the chain like an admin's reload: a policy that changed by signal is a policy change all the same */
      audit_event(gw, "system:signal", "/admin/reload", bad ? "error" : "ok", json_pack("{s:s}", "message", rmsg));
    }
    int s = atomic_load(&gw->stopping);
    if (s && !stop_at) sd_notify(0, "STOPPING=1\nSTATUS=draining");
    if (s && !stop_at) stop_at = hg_clock_mono_s() + gw->cfg.drain_timeout_ms / 1000.0;
    if (s && hg_clock_mono_s() > stop_at) atomic_store(&gw->stopping, 2);
    if (s) {
      int all_done = 1;
      for (unsigned i = 0; i < gw->nworkers; i++)
        all_done &= gw->workers[i].active == 0;
      if (all_done || atomic_load(&gw->stopping) == 2) break;
    }
  }
  atomic_store(&gw->stopping, 2);
  for (unsigned i = 0; i < gw->nworkers; i++)
    pthread_join(gw->workers[i].thread, NULL);
  identity_drain(gw, 0); /* background verifications still talking to the provider */
  webhooks_stop(gw);     /* after them: what they decided is in the outbox, sent at the next start */
  audit_writer_stop(gw); /* the records still queued are written before the gateway says it stopped */
  for (unsigned i = 0; i < gw->nworkers; i++)
    worker_free(&gw->workers[i]);
  free(gw->workers);
  gw->workers = NULL;
  signal_target = NULL;
  if (!atomic_load(&gw->verifying)) curl_global_cleanup(); /* never under a verification still running */
  return 0;
}

hg_status server_load_lexicon(const hg_config *cfg, hg_lexicon **out, hg_error *err) {
  extern const unsigned char hg_starter_lexicon[];
  extern const size_t hg_starter_lexicon_len;
  if (cfg->lexicon[0]) return hg_lexicon_open(cfg->lexicon, out, err);
  hg_lexicon_source *src;
  if (hg_lexicon_source_new(&src)) return HG_ERR_NOMEM;
  hg_status st = hg_lexicon_source_add_text(src, (const char *)hg_starter_lexicon, hg_starter_lexicon_len,
                                            "starter-lexicon.tsv", NULL, err);
  if (!st) st = hg_lexicon_compile(src, NULL, out, err);
  hg_lexicon_source_free(src);
  return st;
}

static int read_or_create_key(const char *dir, const char *name, uint8_t *key, size_t len, char *msg, size_t cap) {
  char path[700];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (f) {
    size_t n = fread(key, 1, len, f);
    fclose(f);
    if (n != len) return snprintf(msg, cap, "%s: expected %zu bytes", path, len), -1;
    return 0;
  }
  randombytes_buf(key, len);
  mode_t old = umask(077);
  f = fopen(path, "wb");
  umask(old);
  if (!f || fwrite(key, 1, len, f) != len || fclose(f)) return snprintf(msg, cap, "cannot write %s", path), -1;
  return 0;
}

int gateway_open(gateway *gw, char *msg, size_t cap) {
  if (sodium_init() < 0) return snprintf(msg, cap, "libsodium could not start"), -1;
  hg_log_init(&gw->log);
  gw->log.level = (hg_log_level)gw->cfg.log_level;
  gw->log.json = gw->cfg.log_json;
  gw->log.access = gw->cfg.log_access;
  mkdir(gw->cfg.data_dir, 0700);
  hg_error err;
  hg_lexicon *lex;
  pthread_mutex_init(&gw->config_lock, NULL);
  pthread_mutex_init(&gw->admin_lock, NULL);
  pthread_mutex_init(&gw->rate_lock, NULL);
  /* the store first: the active policy and lexicon versions in it are part of the configuration */
  char url[700];
  if (gw->cfg.store_url[0])
    snprintf(url, sizeof url, "%s", gw->cfg.store_url);
  else
    snprintf(url, sizeof url, "sqlite:%s/hegui.db", gw->cfg.data_dir);
  if (hg_store_open(url, &gw->store, &err)) return snprintf(msg, cap, "store: %s", err.message), -1;
  if (versions_load(gw, msg, cap)) return -1;
  live_config *live = calloc(1, sizeof *live);
  if (!live) return snprintf(msg, cap, "out of memory"), -1;
  live->cfg = gw->cfg;
  if (hg_policy_from_config(&live->cfg, &live->policy, &err)) {
    free(live);
    return snprintf(msg, cap, "policy: %s", err.message), -1;
  }
  atomic_store(&gw->live, live);
  gw->config_loaded_ms = hg_clock_wall_ms();
  if (gw->config_path[0]) {
    size_t len;
    char *text = read_whole(gw->config_path, &len, msg, cap);
    if (!text) return -1;
    sha256_hex(text, len, gw->config_sha256);
    free(text);
  }
  if (load_lexicon_for(&gw->cfg, gw->lexicon_layer, &lex, gw->lexicon_source, sizeof gw->lexicon_source,
                       &gw->lexicon_updated_ms, &err))
    return snprintf(msg, cap, "lexicon: %s", err.message), -1;
  gw->lexicon_loaded_ms = hg_clock_wall_ms();
  hg_lexicon_slot_new(lex, &gw->lexicon);
  gw->guard_cache = guard_cache_new(gw->cfg.guard.cache_entries); /* NULL: no cache (0 entries, or no memory) */
  gw->dups = dup_table_new();                                     /* NULL: near-duplicates are not counted */
  hg_lexicon_unref(lex);
  if (hg_label_keys_load(gw->cfg.data_dir, gw->label_pk, gw->label_sk, &err))
    return snprintf(msg, cap, "label keys: %s", err.message), -1;
  if (read_or_create_key(gw->cfg.data_dir, "pseudonym.key", gw->pseudonym_key, sizeof gw->pseudonym_key, msg, cap))
    return -1;
  /* identity fields are sealed with a key kept apart from the database (HEGUI_IDENTITY_KEY wins) */
  char idkey[1100];
  if (gw->cfg.identity_key_file[0])
    snprintf(idkey, sizeof idkey, "%s", gw->cfg.identity_key_file);
  else
    snprintf(idkey, sizeof idkey, "%s/identity.key", gw->cfg.data_dir);
  if (hg_identity_key_load(idkey, 1, gw->identity_key, &err))
    return snprintf(msg, cap, "identity key: %s", err.message), -1;
  if (gw->cfg.audit_durability != HG_DURABILITY_SYNC && audit_writer_start(gw))
    return snprintf(msg, cap, "cannot start the audit writer"), -1;
  pthread_mutex_init(&gw->takedown_lock, NULL);
  pthread_mutex_init(&gw->ocr_lock, NULL);
  gw->takedown_version = -1;
  refresh_takedowns(gw, 1);
  return 0;
}

void gateway_close(gateway *gw) {
  audit_writer_stop(gw); /* a no-op when server_run stopped it, or without group commit */
  if (atomic_load(&gw->verifying) > 0) {
    /* a verification outlived its timeout: leave the store and keys to the exiting process rather than free them
     * under it */
    hg_log_write(&gw->log, HG_LOG_WARN, "%d identity verification(s) still running at exit",
                 atomic_load(&gw->verifying));
    return;
  }
  live_config *live = atomic_exchange(&gw->live, NULL);
  if (live) hg_policy_unref(live->policy);
  free(live);
  for (size_t i = 0; i < gw->nretired; i++) {
    hg_policy_unref(gw->retired[i]->policy);
    free(gw->retired[i]);
  }
  free(gw->retired);
  gw->retired = NULL;
  gw->nretired = 0;
  pthread_mutex_destroy(&gw->config_lock);
  pthread_mutex_destroy(&gw->admin_lock);
  pthread_mutex_destroy(&gw->rate_lock);
  sodium_memzero(gw->identity_key, sizeof gw->identity_key);
  if (gw->takedowns) hg_takedown_set_unref(gw->takedowns);
  pthread_mutex_destroy(&gw->takedown_lock);
  hg_lexicon_slot_free(gw->lexicon);
  guard_cache_free(gw->guard_cache);
  gw->guard_cache = NULL;
  dup_table_free(gw->dups);
  gw->dups = NULL;
  media_close(gw);
  hg_store_close(gw->store);
  layer_free(gw->policy_layer);
  layer_free(gw->lexicon_layer);
  gw->policy_layer = gw->lexicon_layer = NULL;
  sodium_memzero(gw->label_sk, sizeof gw->label_sk);
}
