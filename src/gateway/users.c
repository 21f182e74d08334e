/* users.c — the user-facing duties: real-name identity (draft Art. 9), minors mode and over-reliance reminders
 * (Art. 10), and the admin routes over users (standing, identity decisions, the minor flag, data-subject access,
 * correction and deletion; Art. 11, 19).
 *
 * Identity fields are checked with the PII validators, sealed with the identity key (never in the database) and
 * verified by the configured provider in a background thread, so a slow provider never holds an event loop; the
 * user reads "pending" until it answers. What the chain keeps of it names the user by pseudonym only and never
 * holds a field. */
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/json.h"
#include "gateway.h"
#include "gateway/idv.h"
#include "gateway/offload.h"
#include "hegui/text.h"
#include "router.h"

/* Copies UTF-8 text into a fixed buffer, cut at a character boundary when it does not fit. */
static void copy_text(char *dst, size_t cap, const char *src) {
  size_t n = strlen(src);
  if (n >= cap) {
    n = cap - 1;
    while (n && ((unsigned char)src[n] & 0xC0) == 0x80)
      n--;
  }
  memcpy(dst, src, n);
  dst[n] = 0;
}

/* ---- admission (admit.h decides; here its refusals are sent) ---- */

admit_ctx admit_ctx_of(gateway *gw) {
  return (admit_ctx){read_store(gw), gw->store, live_cfg(gw), gw->cfg.auth_required, hg_clock_wall_ms()};
}

int admission_refused(gateway *gw, struct evhttp_request *req, const admit_refusal *r) {
  if (!r->status) return 0;
  if (r->reason >= 0) atomic_fetch_add(&gw->metrics.refusals[r->reason], 1);
  if (r->log[0]) hg_log_write(&gw->log, HG_LOG_ERROR, "%s", r->log);
  if (r->retry_after_s > 0) {
    char v[24];
    snprintf(v, sizeof v, "%lld", (long long)r->retry_after_s);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", v);
  }
  send_error(req, r->status, r->type, r->message, r->code);
  return r->status;
}

int admit_request_http(gateway *gw, struct evhttp_request *req, const hg_key_info *key, admission *adm) {
  admit_ctx ax = admit_ctx_of(gw);
  admit_refusal refusal;
  return admit_request(&ax, key, adm, &refusal) ? admission_refused(gw, req, &refusal) : 0;
}

int admit_count_http(gateway *gw, struct evhttp_request *req, const hg_key_info *key, const admission *adm) {
  admit_ctx ax = admit_ctx_of(gw);
  admit_refusal refusal;
  return admit_count(&ax, key, adm, &refusal) ? admission_refused(gw, req, &refusal) : 0;
}

void admit_tokens_counted(gateway *gw, const char *user, int64_t key_id, uint64_t tokens) {
  admit_ctx ax = admit_ctx_of(gw);
  hg_error err;
  hg_error_clear(&err);
  /* the answer has gone out: a failure here loses these tokens from the count, and the next admission, which
   * needs the same store, fails closed if it is still down */
  if (admit_tokens(&ax, user, key_id, tokens, &err))
    hg_log_write(&gw->log, HG_LOG_ERROR, "tokens not counted against quotas: %s", err.message);
}

/* ---- identity: submission and verification ---- */

static unsigned today_yyyymmdd(int64_t now, int offset_minutes) {
  time_t t = (time_t)((now + (int64_t)offset_minutes * 60000) / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  return (unsigned)((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday);
}

static void identity_record(gateway *gw, const char *actor, const char *route, const char *verdict, const char *user,
                            const char *note) {
  char who[33];
  pseudonym(gw, user, who);
  audit_event(gw, actor, route, verdict, json_pack("{s:s, s:s?}", "user", who, "note", note && *note ? note : NULL));
}

/* The key list of a user, read only to learn whether the user exists. */
static int no_key(void *ctx, const hg_key_info *k) {
  (void)ctx, (void)k;
  return 1;
}

/* The keyed hash of an ID number (BLAKE2b-256 under the identity key, with a domain prefix): equal for equal ID
 * numbers of this gateway's users, useless to anyone without the key. */
static void id_number_hash(gateway *gw, const hg_identity_fields *f, char out[65]) {
  crypto_generichash_state st;
  unsigned char h[32];
  crypto_generichash_init(&st, gw->identity_key, sizeof gw->identity_key, sizeof h);
  crypto_generichash_update(&st, (const unsigned char *)"hegui id-number v1\n", 19);
  crypto_generichash_update(&st, (const unsigned char *)f->id_number, strlen(f->id_number));
  crypto_generichash_final(&st, h, sizeof h);
  sodium_bin2hex(out, 65, h, sizeof h);
}

/* Article 10: a change from minor to adult is never self-service. A verified identity that would end minors mode
 * (the user is a minor now by the explicit flag's absence and an age not reached, and the new identity's age is
 * reached) keeps the stricter age until a reviewer approves the change (POST /admin/users/{name}/adult): a minor
 * could otherwise submit an adult's real identity, have it verified, and be served in closed hours. */
#define ADULT_WAITS_NOTE "verified; the change from minor to adult waits for a reviewer (POST /admin/users/NAME/adult)"

static int minor_at(const hg_user_identity *id, int64_t now) {
  return id->minor || (id->adult_from_ms && now < id->adult_from_ms);
}

/* The age a verification applies: the new identity's, unless that would end minors mode (then the old one stays
 * and the note says a reviewer must approve). Returns 1 when the change waits for a reviewer. */
static int apply_verified_age(hg_user_identity *id, int64_t prev_adult_from_ms, int was_minor,
                              int64_t new_adult_from_ms, int64_t now) {
  if (was_minor && (!new_adult_from_ms || new_adult_from_ms <= now)) {
    id->adult_from_ms = prev_adult_from_ms > new_adult_from_ms ? prev_adult_from_ms : new_adult_from_ms;
    copy_text(id->note, sizeof id->note, ADULT_WAITS_NOTE);
    return 1;
  }
  id->adult_from_ms = new_adult_from_ms;
  return 0;
}

#define VERIFY_MAX 32 /* verifications in flight at once, all users together, one per user; more get 429 */

/* The users with a verification in flight (gw->verifying counts them): one user resubmitting cannot take every
 * slot, and one user never has two provider calls going. */
static pthread_mutex_t verify_users_lock = PTHREAD_MUTEX_INITIALIZER;
static char verify_users[VERIFY_MAX][128];

/* 0 when a slot was taken for the user, 1 when the user already has one, 2 when all are taken. */
static int verify_slot_take(gateway *gw, const char *user) {
  pthread_mutex_lock(&verify_users_lock);
  int free_at = -1, r = 0;
  for (int i = 0; i < VERIFY_MAX; i++) {
    if (verify_users[i][0] && !strcmp(verify_users[i], user)) r = 1;
    if (!verify_users[i][0] && free_at < 0) free_at = i;
  }
  if (!r && free_at < 0) r = 2;
  if (!r) {
    snprintf(verify_users[free_at], sizeof verify_users[free_at], "%s", user);
    atomic_fetch_add(&gw->verifying, 1);
  }
  pthread_mutex_unlock(&verify_users_lock);
  return r;
}

static void verify_slot_release(gateway *gw, const char *user) {
  pthread_mutex_lock(&verify_users_lock);
  for (int i = 0; i < VERIFY_MAX; i++)
    if (verify_users[i][0] && !strcmp(verify_users[i], user)) {
      verify_users[i][0] = 0;
      atomic_fetch_sub(&gw->verifying, 1);
      break;
    }
  pthread_mutex_unlock(&verify_users_lock);
}

typedef struct verify_job {
  gateway *gw;
  char user[128];
  hg_identity_fields fields;
  int64_t adult_from_ms; /* what the submitted ID number says: in force once verified */
  int was_minor;         /* the user was a minor when the identity was submitted */
  char sealed[HG_IDENTITY_SEALED_MAX];
  hg_idv_config idv;
} verify_job;

static void *verify_main(void *arg) {
  verify_job *j = arg;
  gateway *gw = j->gw;
  hg_idv_result res = HG_IDV_UNDECIDED;
  char reason[256] = "";
  hg_error err;
  /* asked again while the provider gives neither verdict: three times in all, a second and two apart */
  for (int attempt = 0; attempt < 3; attempt++) {
    if (attempt) sleep((unsigned)attempt);
    if (atomic_load(&gw->stopping)) break;
    hg_status st = idv_verify(&j->idv, &j->fields, &res, reason, &err);
    if (st) {
      res = HG_IDV_UNDECIDED;
      snprintf(reason, sizeof reason, "provider unavailable: %.200s", err.message);
      continue;
    }
    if (res != HG_IDV_UNDECIDED) break;
  }
  sodium_memzero(&j->fields, sizeof j->fields);
  hg_user_identity read, id;
  /* the decision applies only to what was verified, and only if nothing changed since it was read (compare-and-
   * set on the whole identity): a correction or a reviewer's decision meanwhile wins, a deleted user stays deleted */
  if (!hg_store_identity_get(gw->store, j->user, &read, &err) && !strcmp(read.sealed, j->sealed) &&
      read.status == HG_REALNAME_PENDING) {
    id = read;
    id.status = res == HG_IDV_VERIFIED   ? HG_REALNAME_VERIFIED
                : res == HG_IDV_REJECTED ? HG_REALNAME_REJECTED
                                         : HG_REALNAME_PENDING;
    copy_text(id.note, sizeof id.note, reason[0] ? reason : "no answer from the provider");
    int waits =
        res == HG_IDV_VERIFIED && apply_verified_age(&id, read.adult_from_ms, j->was_minor, j->adult_from_ms,
                                                     hg_clock_wall_ms()); /* until now the stricter of old and new */
    if (hg_store_identity_put_if(gw->store, j->user, &read, &id, hg_clock_wall_ms(), &err)) {
      hg_log_write(&gw->log, HG_LOG_ERROR, "identity decision not stored: %s", err.message);
    } else {
      identity_record(gw, "system:identity", "identity/verify",
                      res == HG_IDV_VERIFIED   ? "verified"
                      : res == HG_IDV_REJECTED ? "rejected"
                                               : "undecided",
                      j->user, reason);
      if (waits)
        identity_record(gw, "system:identity", "identity/minor-to-adult", "waiting", j->user, ADULT_WAITS_NOTE);
      if (res == HG_IDV_REJECTED) webhook_user_event(gw, HG_WEBHOOK_IDENTITY_REJECTED, j->user, "provider", id.note);
      if (waits) webhook_user_event(gw, HG_WEBHOOK_USER_MINOR_TO_ADULT, j->user, "provider", ADULT_WAITS_NOTE);
    }
  }
  verify_slot_release(gw, j->user);
  sodium_memzero(j, sizeof *j);
  free(j);
  return NULL;
}

void identity_drain(gateway *gw, unsigned timeout_ms) {
  /* a verification stops retrying once the gateway stops: at most the call in progress is left, and no call takes
   * longer than the longest timeout any job was given */
  if (!timeout_ms) timeout_ms = (unsigned)atomic_load(&gw->verify_timeout_max) + 3000;
  for (unsigned waited = 0; atomic_load(&gw->verifying) > 0 && waited < timeout_ms; waited += 50)
    usleep(50000);
}

/* Checks, seals and stores submitted fields (status pending) and starts the provider's verification. Returns 0, or
 * the HTTP status sent. correction: a previous identity existed (the chain gets a correction receipt). */
static int submit_identity(gateway *gw, struct evhttp_request *req, const char *user, json_t *body, const char *actor,
                           json_t **out) {
  static const char *const allowed[] = {"name", "id_number", "phone", NULL};
  if (!json_is_object(body)) {
    send_error(req, 400, "invalid_request_error", "the body must be a JSON object {name, id_number, phone}", NULL);
    return 400;
  }
  if (only_members(req, body, allowed)) return 400;
  const char *name = json_string_value(json_object_get(body, "name"));
  const char *idn = json_string_value(json_object_get(body, "id_number"));
  json_t *phone_v = json_object_get(body, "phone");
  const char *phone = json_string_value(phone_v);
  if (!name || !idn || (phone_v && !json_is_null(phone_v) && !phone)) {
    const char *param = !name ? "name" : !idn ? "id_number" : "phone";
    send_error_param(req, 400, "invalid_request_error", "name and id_number are required strings; phone is optional",
                     param, NULL);
    return 400;
  }
  hg_identity_fields f;
  memset(&f, 0, sizeof f);
  hg_error err;
  hg_error_clear(&err);
  int64_t now = hg_clock_wall_ms(), adult = 0;
  const hg_config *cfg = live_cfg(gw);
  /* typed forms (full-width digits, +86, dashes) are longer than the fields: _set folds them in */
  hg_status st = hg_identity_fields_set(&f, name, idn, phone, &err);
  if (!st) st = hg_identity_check(&f, today_yyyymmdd(now, cfg->utc_offset_minutes), &adult, &err);
  if (st) {
    sodium_memzero(&f, sizeof f);
    /* the identity checks start each message with the field ("id_number: expected 18 characters") */
    static const char *const fields[] = {"name", "id_number", "phone"};
    const char *param = NULL;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0] && !param; i++)
      if (!strncmp(err.message, fields[i], strlen(fields[i])) && err.message[strlen(fields[i])] == ':')
        param = fields[i];
    send_error_param(req, 400, "invalid_request_error", err.message, param, "invalid_identity");
    return 400;
  }
  int provider = cfg->idv.url[0] != 0;
  /* a provider is paid per call and a thread waits on each: a bounded number at a time, one per user */
  int slot = provider ? verify_slot_take(gw, user) : 0;
  if (slot) {
    sodium_memzero(&f, sizeof f);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "10");
    send_error(req, 429, "rate_limit_exceeded",
               slot == 1 ? "a verification of this account is in progress; wait for its result"
                         : "too many identity verifications in progress; try again shortly",
               NULL);
    return 429;
  }
  hg_user_identity prev, id;
  memset(&id, 0, sizeof id);
  st = hg_store_identity_get(gw->store, user, &prev, &err);
  if (!st) {
    id.status = HG_REALNAME_PENDING;
    /* until the new identity is verified the stricter age applies: a made-up adult ID does not end minors mode */
    id.adult_from_ms = prev.adult_from_ms > adult ? prev.adult_from_ms : adult;
    id.minor = prev.minor;
    snprintf(id.note, sizeof id.note, "%s",
             provider ? "submitted to the verification provider" : "waiting for a reviewer (no provider configured)");
    id_number_hash(gw, &f, id.id_hash);
    st = hg_identity_seal(gw->identity_key, &f, id.sealed, sizeof id.sealed, &err);
  }
  /* compare-and-set: two submissions at once, a reviewer's change, or a deletion are never overwritten silently,
   * and a submission never creates a user (users exist once a key was made for them) */
  if (!st) st = hg_store_identity_put_if(gw->store, user, &prev, &id, now, &err);
  if (st) {
    if (provider) verify_slot_release(gw, user);
    sodium_memzero(&f, sizeof f);
    int code = st == HG_ERR_CONFLICT ? 409 : st == HG_ERR_NOT_FOUND ? 404 : 503;
    send_error(req, code, code == 503 ? "server_error" : "invalid_request_error",
               code == 409   ? "the identity changed meanwhile; submit again"
               : code == 404 ? "no such user (a user exists once a key was made for it)"
                             : err.message,
               NULL);
    return code;
  }
  int correction = prev.sealed[0] != 0;
  identity_record(gw, actor, correction ? "dsar/correct" : "identity/submit", "pending", user, NULL);
  if (provider) {
    verify_job *j = calloc(1, sizeof *j);
    pthread_t t;
    int started = 0;
    if (j) {
      j->gw = gw;
      snprintf(j->user, sizeof j->user, "%s", user);
      j->fields = f;
      j->adult_from_ms = adult;
      j->was_minor = minor_at(&prev, now);
      memcpy(j->sealed, id.sealed, sizeof j->sealed);
      j->idv = cfg->idv;
      unsigned t_ms = j->idv.timeout_ms;
      for (unsigned m = atomic_load(&gw->verify_timeout_max); m < t_ms;)
        if (atomic_compare_exchange_weak(&gw->verify_timeout_max, &m, t_ms)) break;
      started = pthread_create(&t, NULL, verify_main, j) == 0;
      if (started) pthread_detach(t);
    }
    if (!started) {
      verify_slot_release(gw, user);
      if (j) sodium_memzero(j, sizeof *j);
      free(j);
      /* say so where the user and reviewers look, rather than "submitted" for good */
      hg_user_identity stored, noted;
      if (!hg_store_identity_get(gw->store, user, &stored, &err) && !strcmp(stored.sealed, id.sealed)) {
        noted = stored;
        snprintf(noted.note, sizeof noted.note, "the verification could not be started; submit again");
        if (!hg_store_identity_put_if(gw->store, user, &stored, &noted, now, &err))
          snprintf(id.note, sizeof id.note, "%s", noted.note);
      }
    }
  }
  sodium_memzero(&f, sizeof f);
  /* one ID number on several accounts (a minor borrowing an adult's identity, an account farm): said to the caller
   * and recorded for a reviewer; the verification goes on */
  int64_t others = 0;
  if (hg_store_identity_same_id(gw->store, user, id.id_hash, &others, &err)) others = 0;
  if (others > 0) {
    char note[120];
    snprintf(note, sizeof note, "the ID number is also on %lld other account%s", (long long)others,
             others == 1 ? "" : "s");
    identity_record(gw, "system:identity", "identity/duplicate-id", "flagged", user, note);
  }
  *out = json_pack("{s:s, s:s, s:b, s:s, s:I}", "user", user, "status", "pending", "correction", correction, "note",
                   id.note, "id_number_on_other_accounts", (json_int_t)others);
  return 0;
}

/* "张三" -> "张*", "110105194912310021" -> "1101**********0021": enough for the holder to recognise */
static void mask_name(const char *s, char *out, size_t cap) {
  size_t first = 1;
  while (s[first] && ((unsigned char)s[first] & 0xC0) == 0x80)
    first++;
  snprintf(out, cap, "%.*s*", (int)first, s);
}

static json_t *identity_json(gateway *gw, const char *user, const hg_user_identity *id, int reveal) {
  int64_t now = hg_clock_wall_ms();
  json_t *o = json_pack("{s:s, s:s, s:I, s:b, s:b, s:s}", "user", user, "status", hg_realname_name(id->status),
                        "updated_ms", (json_int_t)id->updated_ms, "minor_flag", id->minor, "minor",
                        id->minor || (id->adult_from_ms && now < id->adult_from_ms), "note", id->note);
  if (id->sealed[0]) {
    hg_identity_fields f;
    hg_error err;
    if (hg_identity_unseal(gw->identity_key, id->sealed, &f, &err)) {
      json_object_set_new(o, "fields_error", json_string(err.message));
    } else if (reveal) {
      json_object_set_new(o, "fields",
                          json_pack("{s:s, s:s, s:s}", "name", f.name, "id_number", f.id_number, "phone", f.phone));
    } else {
      char n[16], idm[32], ph[16] = "";
      mask_name(f.name, n, sizeof n);
      snprintf(idm, sizeof idm, "%.4s**********%.4s", f.id_number, f.id_number + 14);
      if (f.phone[0]) snprintf(ph, sizeof ph, "%.3s****%.4s", f.phone, f.phone + 7);
      json_object_set_new(o, "fields", json_pack("{s:s, s:s, s:s}", "name", n, "id_number", idm, "phone", ph));
    }
    sodium_memzero(&f, sizeof f);
  }
  return o;
}

/* The request body held identity fields: its bytes are wiped before libevent frees them. (The copies jansson made
 * while parsing are freed unwiped: a known limit, docs/identity.md.) */

/* /compliance/identity: a user's own identity (ROLES_KEY) */
static int keyless(route_req *rq) {
  if (rq->gw->cfg.auth_required || strcmp(rq->key.user, "anonymous")) return 0;
  send_error(rq->req, 400, "invalid_request_error", "identity needs an API key: this gateway runs without keys", NULL);
  return 1;
}

void route_identity_get(route_req *rq) {
  if (keyless(rq)) return;
  hg_user_identity id;
  hg_error err;
  if (hg_store_identity_get(rq->gw->store, rq->key.user, &id, &err)) {
    send_error(rq->req, 503, "server_error", "the user store is unavailable", NULL);
    return;
  }
  send_json(rq->req, 200, identity_json(rq->gw, rq->key.user, &id, 0));
}

/* ROUTE_SECRET: the body's bytes are wiped by the dispatcher once parsed */
void route_identity_submit(route_req *rq) {
  if (keyless(rq)) return;
  json_t *out = NULL;
  char actor[33];
  pseudonym(rq->gw, rq->key.user, actor);
  if (!submit_identity(rq->gw, rq->req, rq->key.user, rq->body, actor, &out)) send_json(rq->req, 202, out);
}

/* ---- admin routes over users ---- */

static int list_user(void *ctx, const hg_user_summary *u) {
  json_t *arr = ctx;
  json_array_append_new(arr, json_pack("{s:s, s:I, s:s, s:b, s:I, s:s, s:I}", "user", u->name, "created_ms",
                                       (json_int_t)u->created_ms, "realname", hg_realname_name(u->realname),
                                       "minor_flag", u->minor, "adult_from_ms", (json_int_t)u->adult_from_ms,
                                       "standing", hg_standing_name(u->standing), "keys", (json_int_t)u->keys));
  return json_array_size(arr) >= 10000;
}

void route_users_list(route_req *rq) {
  gateway *gw = rq->gw;
  struct evhttp_request *req = rq->req;
  hg_error err;
  hg_error_clear(&err);
  json_t *arr = json_array();
  if (hg_store_user_list(gw->store, list_user, arr, &err)) {
    json_decref(arr);
    send_error(req, 503, "server_error", err.message, NULL);
    return;
  }
  send_json(req, 200, json_pack("{s:o}", "users", arr));
}

/* The user named by rq->arg (percent-decoded: names may be UTF-8) and its pseudonym; a name no user can have (a
 * control or format character, a NUL) is nobody: a 404 (sent) and -1. */
static int user_arg(route_req *rq, char user[128], char who[33]) {
  size_t dlen = 0;
  char *decoded = evhttp_uridecode(rq->arg, 0, &dlen);
  hg_error name_err;
  int bad_name = !decoded || dlen != strlen(decoded) || dlen >= 128 || hg_user_name_check(decoded, &name_err);
  if (bad_name) {
    free(decoded);
    send_error(rq->req, 404, "invalid_request_error", "no such user", NULL);
    return -1;
  }
  snprintf(user, 128, "%s", decoded);
  free(decoded);
  pseudonym(rq->gw, user, who);
  return 0;
}

/* what every /admin/users/{name}... handler starts with */
#define USER_ROUTE()                                                                                                   \
  gateway *gw = rq->gw;                                                                                                \
  struct evhttp_request *req = rq->req;                                                                                \
  const hg_key_info *key = &rq->key;                                                                                   \
  hg_error err;                                                                                                        \
  hg_error_clear(&err);                                                                                                \
  char user[128], who[33];                                                                                             \
  if (user_arg(rq, user, who)) return;                                                                                 \
  (void)key, (void)err, (void)gw

/* 0 when the user exists; else a 404 (sent: one for a name never made and for a deleted user, whose row is gone) or
 * a 503, and -1. */
static int user_known(route_req *rq, const char *user) {
  hg_error err;
  hg_status st = hg_store_user_find(read_store(rq->gw), user, NULL, &err);
  if (st == HG_ERR_NOT_FOUND) {
    send_error(rq->req, 404, "invalid_request_error", "no such user (never made, or deleted)", NULL);
    return -1;
  }
  if (st) {
    send_error(rq->req, 503, "server_error", err.message, NULL);
    return -1;
  }
  return 0;
}

void route_user_get(route_req *rq) {
  USER_ROUTE();
  if (user_known(rq, user)) return;
  hg_user_standing st;
  hg_user_identity id;
  if (hg_store_user_gate(gw->store, user, hg_clock_wall_ms(), &st, &id, &err)) {
    send_error(req, 503, "server_error", err.message, NULL);
    return;
  }
  json_t *o = identity_json(gw, user, &id, 0);
  json_object_set_new(o, "realname", json_string(hg_realname_name(id.status)));
  json_object_del(o, "status");
  json_object_set_new(o, "standing", json_string(hg_standing_name(st.standing)));
  json_object_set_new(o, "until_ms", json_integer(st.until_ms));
  json_object_set_new(o, "blocked_in_a_row", json_integer(st.blocked_in_a_row));
  json_object_set_new(o, "blocked_today", json_integer(st.blocked_today));
  json_object_set_new(o, "suspensions", json_integer(st.suspensions));
  send_json(req, 200, o);
  return;
}

void route_user_delete(route_req *rq) {
  USER_ROUTE();
  /* data-subject deletion (PIPL Art. 47): records stay, pseudonymous, without text; a receipt joins the chain */
  hg_audit_record receipt;
  audit_flush(gw); /* records still queued (group commit) must not keep text after the erasure */
  hg_status st = hg_store_dsar_delete(gw->store, user, who, hg_clock_wall_ms(), &receipt, &err);
  if (st) {
    send_error(req, st == HG_ERR_STORE ? 503 : 400, st == HG_ERR_STORE ? "server_error" : "invalid_request_error",
               err.message, NULL);
    return;
  }
  admin_record(gw, key, "admin/dsar-delete", "deleted",
               json_pack("{s:s, s:I}", "user", who, "receipt_seq", (json_int_t)receipt.seq));
  send_json(req, 200,
            json_pack("{s:s, s:I, s:s}", "status", "deleted", "receipt_seq", (json_int_t)receipt.seq, "receipt_hash",
                      receipt.hash));
  return;
}

void route_user_export(route_req *rq) {
  USER_ROUTE();
  /* data-subject access (PIPL Art. 45): everything the store holds, identity unsealed for the holder */
  char *buf = NULL;
  size_t len = 0;
  audit_flush(gw); /* the export has every record of the user's requests answered so far */
  FILE *mem = open_memstream(&buf, &len);
  hg_status st = mem ? hg_store_dsar_export(gw->store, user, who, mem, &err) : HG_ERR_NOMEM;
  if (mem) fclose(mem);
  json_t *doc = st ? NULL : hg_json_loadb(buf, len, 0, NULL);
  free(buf);
  if (!doc) {
    send_error(req, 503, "server_error", st ? err.message : "the export could not be read back", NULL);
    return;
  }
  hg_user_identity id;
  if (!hg_store_identity_get(gw->store, user, &id, &err) && id.sealed[0]) {
    json_t *ij = identity_json(gw, user, &id, 1), *fields = json_object_get(ij, "fields");
    json_object_set(doc, "identity_fields", fields ? fields : json_null());
    json_decref(ij);
  }
  admin_record(gw, key, "admin/dsar-export", "exported", json_pack("{s:s}", "user", who));
  send_json(req, 200, doc);
  return;
}

void route_user_identity(route_req *rq) {
  USER_ROUTE();
  json_t *body = rq->body;
  /* registration on the user's behalf, or a correction (PIPL Art. 46): verified again */
  json_t *out = NULL;
  {
    char actor[160];
    snprintf(actor, sizeof actor, "admin:%s", key->user);
    if (!submit_identity(gw, req, user, body, actor, &out)) send_json(req, 202, out);
  }
}

void route_user_realname(route_req *rq) {
  USER_ROUTE();
  json_t *body = rq->body;
  /* a reviewer's decision, e.g. after checking documents when no provider is configured */
  static const char *const allowed[] = {"status", "note", NULL};
  const char *s = json_string_value(json_object_get(body, "status"));
  json_t *note_v = json_object_get(body, "note");
  const char *note = json_string_value(note_v);
  hg_realname to;
  hg_user_identity id;
  hg_status st;
  if (only_members(req, body, allowed)) {
  } else if (!s || hg_realname_parse(s, &to) || (to != HG_REALNAME_VERIFIED && to != HG_REALNAME_REJECTED)) {
    send_error(req, 400, "invalid_request_error", "status must be verified or rejected", NULL);
  } else if (note_v && !note) {
    send_error(req, 400, "invalid_request_error", "note must be a string", NULL);
  } else if ((st = hg_store_identity_get(gw->store, user, &id, &err))) {
    send_error(req, 503, "server_error", err.message, NULL);
  } else if (!id.sealed[0]) {
    send_error(req, 409, "invalid_request_error", "this user has submitted no identity to decide on", NULL);
  } else {
    hg_user_identity expect = id;
    id.status = to;
    copy_text(id.note, sizeof id.note, note ? note : "decided by a reviewer");
    int waits = 0;
    if (to == HG_REALNAME_VERIFIED) { /* the verified identity's own age applies from now on, unless it ends minors
                                         mode: that waits for the adult approval */
      hg_identity_fields f;
      int64_t adult = 0, now = hg_clock_wall_ms();
      if (!hg_identity_unseal(gw->identity_key, id.sealed, &f, &err) &&
          !hg_identity_check(&f, today_yyyymmdd(now, live_cfg(gw)->utc_offset_minutes), &adult, &err))
        waits = apply_verified_age(&id, expect.adult_from_ms, minor_at(&expect, now), adult, now);
      sodium_memzero(&f, sizeof f);
    }
    st = hg_store_identity_put_if(gw->store, user, &expect, &id, hg_clock_wall_ms(), &err);
    if (st == HG_ERR_CONFLICT || st == HG_ERR_NOT_FOUND) {
      send_error(req, st == HG_ERR_CONFLICT ? 409 : 404, "invalid_request_error",
                 st == HG_ERR_CONFLICT ? "the identity changed meanwhile; look again" : "no such user", NULL);
    } else if (st) {
      send_error(req, 503, "server_error", err.message, NULL);
    } else {
      admin_record(gw, key, "admin/realname", s, json_pack("{s:s, s:s?}", "user", who, "note", note));
      if (waits) identity_record(gw, "system:identity", "identity/minor-to-adult", "waiting", user, ADULT_WAITS_NOTE);
      if (to == HG_REALNAME_REJECTED) webhook_user_event(gw, HG_WEBHOOK_IDENTITY_REJECTED, user, "reviewer", id.note);
      if (waits) webhook_user_event(gw, HG_WEBHOOK_USER_MINOR_TO_ADULT, user, "reviewer", ADULT_WAITS_NOTE);
      send_json(req, 200, json_pack("{s:s, s:s, s:b}", "user", user, "status", s, "adult_change_waits", waits));
    }
  }
}

void route_user_strike(route_req *rq) {
  USER_ROUTE();
  json_t *body = rq->body;
  /* a reviewer's manual strike (Art. 19: behaviour a word list does not see — hype, spam, malicious posting),
   * counted by the same ladder as a blocked prompt, its record the evidence */
  static const char *const allowed[] = {"note", NULL};
  const char *note = json_string_value(json_object_get(body, "note"));
  hg_user_standing before;
  hg_status st;
  if (only_members(req, body, allowed)) {
  } else if (!note || !*note) {
    send_error_param(req, 400, "invalid_request_error", "a note saying what the user did is required", "note", NULL);
  } else if ((st = hg_store_key_list(gw->store, user, no_key, NULL, &err)) == HG_ERR_NOT_FOUND) {
    send_error(req, 404, "invalid_request_error", "no such user (a user exists once a key was made for it)", NULL);
  } else if (st || (st = hg_store_user_standing(gw->store, user, hg_clock_wall_ms(), &before, &err))) {
    send_error(req, 503, "server_error", err.message, NULL);
  } else {
    char actor[160];
    snprintf(actor, sizeof actor, "admin:%s", key->user);
    hg_audit_record r = {0};
    r.actor = actor;
    r.route = "admin/strike";
    r.verdict = "strike";
    json_t *d = json_pack("{s:s, s:s}", "user", who, "note", note);
    char *ds = hg_json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
    r.detail_json = ds;
    st = hg_store_audit_append(gw->store, &r, &err);
    free(ds);
    json_decref(d);
    if (st) {
      send_error(req, 503, "server_error", err.message, NULL);
    } else {
      record_strike(gw, live_cfg(gw), user, 1, r.seq);
      hg_user_standing after;
      if (hg_store_user_standing(gw->store, user, hg_clock_wall_ms(), &after, &err)) after = before;
      send_json(req, 200,
                json_pack("{s:s, s:I, s:I, s:s, s:I}", "user", user, "blocked_in_a_row",
                          (json_int_t)after.blocked_in_a_row, "blocked_today", (json_int_t)after.blocked_today,
                          "standing", hg_standing_name(after.standing), "evidence_audit_seq", (json_int_t)r.seq));
    }
  }
}

void route_user_adult(route_req *rq) {
  USER_ROUTE();
  json_t *body = rq->body;
  /* a reviewer approves (or refuses) a verified identity's end of minors mode, having looked at the evidence: the
   * export's identity, the chain's submissions and corrections (identity/submit, dsar/correct), the phone */
  static const char *const allowed[] = {"approve", "note", NULL};
  json_t *ap = json_object_get(body, "approve");
  json_t *note_v = json_object_get(body, "note");
  const char *note = json_string_value(note_v);
  hg_user_identity id;
  hg_status st;
  if (only_members(req, body, allowed)) {
  } else if (!json_is_boolean(ap) || !note || !*note) {
    send_error_param(req, 400, "invalid_request_error",
                     "approve (true or false) and a note saying what was checked are required", "approve", NULL);
  } else if ((st = hg_store_identity_get(gw->store, user, &id, &err))) {
    send_error(req, st == HG_ERR_NOT_FOUND ? 404 : 503,
               st == HG_ERR_NOT_FOUND ? "invalid_request_error" : "server_error", err.message, NULL);
  } else if (id.status != HG_REALNAME_VERIFIED || strcmp(id.note, ADULT_WAITS_NOTE)) {
    send_error(req, 409, "invalid_request_error", "no change from minor to adult waits for this user", NULL);
  } else {
    hg_user_identity expect = id;
    int64_t adult = 0, now = hg_clock_wall_ms();
    hg_identity_fields f;
    st = hg_identity_unseal(gw->identity_key, id.sealed, &f, &err);
    if (!st) st = hg_identity_check(&f, today_yyyymmdd(now, live_cfg(gw)->utc_offset_minutes), &adult, &err);
    sodium_memzero(&f, sizeof f);
    if (!st && json_is_true(ap)) id.adult_from_ms = adult;
    copy_text(id.note, sizeof id.note, note);
    if (!st) st = hg_store_identity_put_if(gw->store, user, &expect, &id, now, &err);
    if (st) {
      send_error(req, st == HG_ERR_CONFLICT ? 409 : 503,
                 st == HG_ERR_CONFLICT ? "invalid_request_error" : "server_error",
                 st == HG_ERR_CONFLICT ? "the identity changed meanwhile; look again" : err.message, NULL);
    } else {
      admin_record(gw, key, "admin/minor-to-adult", json_is_true(ap) ? "approved" : "refused",
                   json_pack("{s:s, s:s}", "user", who, "note", note));
      send_json(req, 200,
                json_pack("{s:s, s:b, s:b}", "user", user, "approved", json_is_true(ap), "minor", minor_at(&id, now)));
    }
  }
}

void route_user_minor(route_req *rq) {
  USER_ROUTE();
  json_t *body = rq->body;
  /* the explicit minor flag (a guardian's or the service's decision), whatever the ID number says */
  static const char *const allowed[] = {"minor", NULL};
  json_t *m = json_object_get(body, "minor");
  hg_user_identity id;
  hg_status st;
  if (only_members(req, body, allowed)) {
  } else if (!json_is_boolean(m)) {
    send_error(req, 400, "invalid_request_error", "minor must be true or false", NULL);
  } else if ((st = hg_store_identity_get(gw->store, user, &id, &err))) {
    send_error(req, 503, "server_error", err.message, NULL);
  } else {
    hg_user_identity expect = id;
    id.minor = json_is_true(m);
    /* compare-and-set: never creates a user (a typo in the name is a 404), never undoes a change meanwhile */
    st = hg_store_identity_put_if(gw->store, user, &expect, &id, hg_clock_wall_ms(), &err);
    if (st == HG_ERR_NOT_FOUND) {
      send_error(req, 404, "invalid_request_error", "no such user", NULL);
    } else if (st == HG_ERR_CONFLICT) {
      send_error(req, 409, "invalid_request_error", "the identity changed meanwhile; try again", NULL);
    } else if (st) {
      send_error(req, 503, "server_error", err.message, NULL);
    } else {
      admin_record(gw, key, "admin/minor", id.minor ? "set" : "cleared", json_pack("{s:s}", "user", who));
      send_json(req, 200, json_pack("{s:s, s:b}", "user", user, "minor", id.minor));
    }
  }
}

void route_user_standing(route_req *rq) {
  USER_ROUTE();
  json_t *body = rq->body;
  static const char *const allowed[] = {"standing", "until_ms", "reason", NULL};
  const char *s = json_string_value(json_object_get(body, "standing"));
  hg_standing to = s && !strcmp(s, "active")       ? HG_STANDING_ACTIVE
                   : s && !strcmp(s, "suspended")  ? HG_STANDING_SUSPENDED
                   : s && !strcmp(s, "terminated") ? HG_STANDING_TERMINATED
                                                   : (hg_standing)-1;
  json_t *until_v = json_object_get(body, "until_ms");
  if (only_members(req, body, allowed)) {
  } else if (!strcmp(user, key->user)) { /* a suspended reviewer must not lift their own suspension */
    send_error(req, 403, "permission_error", "nobody changes their own standing; ask another reviewer", NULL);
  } else if ((int)to < 0) {
    send_error(req, 400, "invalid_request_error", "standing must be active, suspended or terminated", NULL);
  } else if (until_v && !json_is_integer(until_v)) {
    send_error(req, 400, "invalid_request_error", "until_ms must be a whole number of Unix milliseconds", NULL);
  } else if (json_object_get(body, "reason") && !json_is_string(json_object_get(body, "reason"))) {
    send_error(req, 400, "invalid_request_error", "reason must be a string", NULL);
  } else {
    const char *reason = json_string_value(json_object_get(body, "reason"));
    int64_t until = json_integer_value(until_v);
    hg_status st = hg_store_user_set_standing(gw->store, user, to, until, reason ? reason : "by a reviewer",
                                              hg_clock_wall_ms(), &err);
    if (st) {
      send_error(req, st == HG_ERR_STORE ? 503 : 400, st == HG_ERR_STORE ? "server_error" : "invalid_request_error",
                 err.message, NULL);
    } else {
      admin_record(gw, key, "admin/standing", s, json_pack("{s:s, s:s?}", "user", who, "reason", reason));
      webhook_user_suspended(gw, user, to, until, "reviewer", reason);
      send_json(req, 200, json_pack("{s:s, s:s}", "user", user, "standing", s));
    }
  }
}

/* ---- strikes of one user ---- */

typedef struct strike_list {
  int64_t *seq, *time;
  size_t n, cap;
} strike_list;

static int collect_strike(void *ctx, int64_t time_ms, int64_t audit_seq) {
  strike_list *l = ctx;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 32;
    int64_t *seq = realloc(l->seq, cap * sizeof *seq);
    if (seq) l->seq = seq;
    int64_t *time = seq ? realloc(l->time, cap * sizeof *time) : NULL;
    if (time) l->time = time;
    if (!seq || !time) return 1;
    l->cap = cap;
  }
  l->seq[l->n] = audit_seq, l->time[l->n] = time_ms, l->n++;
  return 0;
}

/* the record of one seq: its route, verdict and detail */
static int strike_record(void *ctx, const hg_audit_record *r) {
  json_t *o = ctx;
  json_object_set_new(o, "route", json_string(r->route ? r->route : ""));
  json_object_set_new(o, "verdict", json_string(r->verdict ? r->verdict : ""));
  json_t *d = r->detail_json ? json_loads(r->detail_json, 0, NULL) : NULL;
  json_t *reasons = json_object_get(d, "reasons");
  if (reasons) json_object_set(o, "reasons", reasons);
  json_t *why = json_object_get(d, "strike");
  if (why) json_object_set(o, "strike", why);
  json_decref(d);
  return 1; /* one record */
}

/* GET /admin/users/{name}/strikes: the strikes still kept (retention deletes old ones), oldest first, each with the
 * audit record that is its evidence (route, verdict and the reasons it gave; never the text). */
void route_user_strikes(route_req *rq) {
  USER_ROUTE();
  if (user_known(rq, user)) return;
  strike_list l = {0};
  hg_status s = hg_store_strike_list(read_store(gw), user, collect_strike, &l, &err);
  if (s && s != HG_ERR_NOT_FOUND) {
    free(l.seq), free(l.time);
    send_error(req, 503, "server_error", err.message, NULL);
    return;
  }
  json_t *arr = json_array();
  for (size_t i = 0; i < l.n; i++) {
    json_t *o = json_pack("{s:I, s:I}", "time_ms", (json_int_t)l.time[i], "audit_seq", (json_int_t)l.seq[i]);
    if (l.seq[i] > 0) hg_store_audit_each(read_store(gw), l.seq[i], strike_record, o, &err);
    json_array_append_new(arr, o);
  }
  free(l.seq), free(l.time);
  hg_user_standing st;
  json_t *out = json_pack("{s:s, s:s, s:I, s:o}", "user", user, "pseudonym", who, "count",
                          (json_int_t)json_array_size(arr), "strikes", arr);
  if (!hg_store_user_standing(read_store(gw), user, hg_clock_wall_ms(), &st, &err)) {
    json_object_set_new(out, "standing", json_string(hg_standing_name(st.standing)));
    json_object_set_new(out, "blocked_in_a_row", json_integer(st.blocked_in_a_row));
    json_object_set_new(out, "blocked_today", json_integer(st.blocked_today));
  }
  send_json(req, 200, out);
}

/* ---- pseudonyms, for auditors ---- */

typedef struct pseudonym_job {
  gateway *gw;
  hg_key_info key;
  char pseudonym[33];
  char reason[512];
} pseudonym_job;

typedef struct pseudonym_find {
  gateway *gw;
  const char *want;
  char name[128];
  int found;
} pseudonym_find;

static int match_pseudonym(void *ctx, const hg_user_summary *u) {
  pseudonym_find *f = ctx;
  char p[33];
  pseudonym(f->gw, u->name, p);
  if (sodium_memcmp(p, f->want, 32)) return 0;
  snprintf(f->name, sizeof f->name, "%s", u->name);
  return f->found = 1;
}

static void pseudonym_work(void *arg, reply *out) {
  pseudonym_job *j = arg;
  pseudonym_find f = {j->gw, j->pseudonym, "", 0};
  hg_error err;
  /* every user's pseudonym is computed (a keyed hash cannot be reversed): a thread of its own, not the loop */
  if (hg_store_user_list(j->gw->store, match_pseudonym, &f, &err)) {
    reply_error(out, 503, "server_error", err.message, NULL);
    return;
  }
  /* the lookup is in the chain whatever it found: who asked, why, and about which pseudonym (not the name) */
  admin_record(j->gw, &j->key, "admin/pseudonym-lookup", f.found ? "found" : "not_found",
               json_pack("{s:s, s:s}", "pseudonym", j->pseudonym, "reason", j->reason));
  if (!f.found)
    reply_error(out, 404, "invalid_request_error",
                "no user has this pseudonym (a deleted user's name is gone by design: records keep only the pseudonym)",
                NULL);
  else
    reply_json(out, 200, json_pack("{s:s, s:s}", "pseudonym", j->pseudonym, "user", f.name));
}

/* POST /admin/pseudonyms/{pseudonym} {reason}: the name behind a pseudonym of the records, for an auditor or an
 * administrator who says why; the lookup and its reason join the audit chain. */
void route_pseudonym_lookup(route_req *rq) {
  static const char *const allowed[] = {"reason", NULL};
  if (only_members(rq->req, rq->body, allowed)) goto sent;
  const char *reason = json_string_value(json_object_get(rq->body, "reason"));
  size_t n = strlen(rq->arg), bad;
  int hex = n == 32;
  for (size_t i = 0; hex && i < n; i++)
    hex = (rq->arg[i] >= '0' && rq->arg[i] <= '9') || (rq->arg[i] >= 'a' && rq->arg[i] <= 'f');
  if (!hex) {
    send_error(rq->req, 404, "invalid_request_error", "a pseudonym is 32 lowercase hexadecimal characters", NULL);
    goto sent;
  }
  if (!reason || strlen(reason) < 8 || strlen(reason) >= sizeof((pseudonym_job *)0)->reason ||
      hg_utf8_validate(reason, strlen(reason), &bad)) {
    send_error_param(rq->req, 400, "invalid_request_error",
                     "say why you look this user up: {\"reason\": \"...\"} (8 to 511 bytes of UTF-8; it is recorded)",
                     "reason", NULL);
    goto sent;
  }
  pseudonym_job *j = calloc(1, sizeof *j);
  if (!j) {
    send_error(rq->req, 503, "server_error", "out of memory", NULL);
    goto sent;
  }
  j->gw = rq->gw;
  j->key = rq->key;
  memcpy(j->pseudonym, rq->arg, 33);
  snprintf(j->reason, sizeof j->reason, "%s", reason);
  if (offload(rq->w, rq->req, rq->metric, rq->t0, pseudonym_work, j, free)) {
    free(j);
    send_error(rq->req, 503, "server_error", "the lookup could not be started; try again", NULL);
    goto sent;
  }
  return;
sent:
  route_metrics(rq->gw, rq->metric, last_status, rq->t0);
}
