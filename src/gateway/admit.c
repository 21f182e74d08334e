/* admit.c — admission (admit.h): the key, the user's standing, real name (draft Art. 9), minors' hours and daily
 * limits and over-reliance reminders (Art. 10), and the usage quotas, decided against the store with no HTTP.
 *
 * Every check fails closed: a store that cannot be read is a 503, never a request let through. Quotas are counted in
 * fixed one-minute and one-day (UTC) windows in the store (hg_store_quota_*), so every gateway on the same store
 * enforces one limit together, and admission is one compare-and-count transaction there; without a limit
 * configured the store is never touched. */
#include "admit.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static int refuse(admit_refusal *out, int status, int reason, const char *type, const char *code) {
  out->status = status;
  out->reason = reason;
  out->type = type;
  out->code = code;
  return status;
}

static void clear(admit_refusal *out) {
  memset(out, 0, sizeof *out);
  out->reason = -1;
}

static void utc_time(int64_t ms, char *out, size_t cap) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- the key ---- */

int admit_key(const admit_ctx *ax, const char *auth, hg_key_info *info, admit_refusal *out) {
  clear(out);
  memset(info, 0, sizeof *info);
  if (!ax->auth_required) {
    snprintf(info->user, sizeof info->user, "anonymous");
    if (!auth) return 0;
  }
  if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) {
    snprintf(out->message, sizeof out->message,
             "You didn't provide an API key. You need to provide your API key in an Authorization header using "
             "Bearer auth (i.e. Authorization: Bearer YOUR_KEY).");
    return refuse(out, 401, -1, "invalid_request_error", NULL);
  }
  const char *k = auth + 7;
  while (*k == ' ')
    k++;
  hg_error err;
  hg_status st = hg_store_key_lookup(ax->read, k, strlen(k), info, &err);
  if (st == HG_ERR_NOT_FOUND || (st == HG_OK && info->revoked)) {
    snprintf(out->message, sizeof out->message, "%s",
             st == HG_OK ? "This API key has been revoked." : "Incorrect API key provided.");
    return refuse(out, 401, -1, "invalid_request_error", "invalid_api_key");
  }
  if (st) {
    snprintf(out->message, sizeof out->message, "the key store is unavailable");
    return refuse(out, 503, -1, "server_error", NULL);
  }
  if (info->expires_ms && ax->now_ms >= info->expires_ms) {
    char when[40];
    utc_time(info->expires_ms, when, sizeof when);
    snprintf(out->message, sizeof out->message, "This API key expired at %s; ask for a new one.", when);
    return refuse(out, 401, -1, "invalid_request_error", "expired_api_key");
  }
  return 0;
}

/* ---- the user ---- */

int admit_standing(const hg_user_standing *st, admit_refusal *out) {
  clear(out);
  if (st->standing == HG_STANDING_ACTIVE) return 0;
  /* the real cause: the strike ladder, or a person's decision (which is not about prohibited prompts, or not only) */
  const char *why = st->set_by == HG_STANDING_BY_LADDER ? "for repeatedly submitting prohibited content"
                                                        : "by a decision of the service's reviewers";
  if (st->standing == HG_STANDING_TERMINATED) {
    snprintf(out->message, sizeof out->message, "This account has been terminated %s.", why);
  } else if (st->until_ms) {
    char when[40];
    utc_time(st->until_ms, when, sizeof when);
    snprintf(out->message, sizeof out->message, "This account is suspended until %s %s.", when, why);
  } else {
    snprintf(out->message, sizeof out->message, "This account is suspended until a reviewer lifts the suspension.");
  }
  return refuse(out, 403, REFUSED_STANDING, "permission_error",
                st->standing == HG_STANDING_TERMINATED ? "account_terminated" : "account_suspended");
}

static int in_closed_hours(const hg_config *cfg, int minute) {
  int from = cfg->minors_closed_from, to = cfg->minors_closed_to;
  if (from == to) return 0;
  return from < to ? minute >= from && minute < to : minute >= from || minute < to;
}

static int store_down(admit_refusal *out) {
  snprintf(out->message, sizeof out->message, "the user store is unavailable; try again shortly");
  return refuse(out, 503, REFUSED_STORE, "server_error", NULL);
}

static int realname_missing(const hg_user_identity *id, admit_refusal *out) {
  if (id->status == HG_REALNAME_PENDING)
    snprintf(out->message, sizeof out->message,
             "Real-name verification of this account is in progress; the service is available once it is "
             "verified (GET /compliance/identity shows the status).");
  else if (id->status == HG_REALNAME_REJECTED)
    snprintf(out->message, sizeof out->message,
             "Real-name verification of this account was rejected (%s); submit corrected details with POST "
             "/compliance/identity.",
             id->note[0] ? id->note : "no reason given");
  else
    snprintf(out->message, sizeof out->message,
             "This service requires real-name verification (实名认证) before use: submit your name and resident ID "
             "number with POST /compliance/identity.");
  return refuse(out, 403, REFUSED_REALNAME, "permission_error", "realname_required");
}

static int minors_closed(const hg_config *cfg, int minute, admit_refusal *out) {
  int from = cfg->minors_closed_from, to = cfg->minors_closed_to;
  snprintf(out->message, sizeof out->message,
           "未成年人模式：%02d:%02d至%02d:%02d暂停服务。In minors mode the service is closed from %02d:%02d to "
           "%02d:%02d local time.",
           from / 60, from % 60, to / 60, to % 60, from / 60, from % 60, to / 60, to % 60);
  int wait = (to - minute + 1440) % 1440;
  out->retry_after_s = wait ? (int64_t)wait * 60 : 1;
  return refuse(out, 403, REFUSED_MINORS_CLOSED, "permission_error", "minors_closed_hours");
}

static int minors_limit(const hg_config *cfg, int64_t to_midnight_s, admit_refusal *out) {
  /* the limits in force, in words an end user reads (a limit set to 0 is no limit and is not named) */
  char zh[96] = "", en[96] = "";
  if (cfg->minors_daily_minutes && cfg->minors_daily_requests) {
    snprintf(zh, sizeof zh, "每日 %u 分钟、%u 次", cfg->minors_daily_minutes, cfg->minors_daily_requests);
    snprintf(en, sizeof en, "%u minutes and %u requests a day", cfg->minors_daily_minutes, cfg->minors_daily_requests);
  } else if (cfg->minors_daily_minutes) {
    snprintf(zh, sizeof zh, "每日 %u 分钟", cfg->minors_daily_minutes);
    snprintf(en, sizeof en, "%u minutes a day", cfg->minors_daily_minutes);
  } else {
    snprintf(zh, sizeof zh, "每日 %u 次", cfg->minors_daily_requests);
    snprintf(en, sizeof en, "%u requests a day", cfg->minors_daily_requests);
  }
  snprintf(out->message, sizeof out->message,
           "未成年人模式：今日使用已达上限（%s），明天可继续使用。In minors mode today's use has reached the limit "
           "(%s); the service is available again tomorrow.",
           zh, en);
  out->retry_after_s = to_midnight_s < 1 ? 1 : to_midnight_s;
  return refuse(out, 429, REFUSED_MINORS_LIMIT, "rate_limit_exceeded", "minors_daily_limit");
}

int admit_user(const admit_ctx *ax, const hg_key_info *key, admission *adm, admit_refusal *out) {
  clear(out);
  memset(adm, 0, sizeof *adm);
  if (!ax->auth_required) return 0; /* anonymous service: no per-user state at all */
  const hg_config *cfg = ax->cfg;
  int64_t now = ax->now_ms;
  hg_user_standing st;
  hg_user_identity id;
  hg_error err;
  if (hg_store_user_gate(ax->read, key->user, now, &st, &id, &err)) return store_down(out); /* fail closed */
  if (admit_standing(&st, out)) return out->status;
  if (hg_config_identity_required(cfg) && id.status != HG_REALNAME_VERIFIED) return realname_missing(&id, out);
  adm->minor = cfg->minors_enabled && (id.minor || (id.adult_from_ms && now < id.adult_from_ms));
  int64_t local = now + (int64_t)cfg->utc_offset_minutes * 60000;
  int64_t day = local >= 0 ? local / 86400000 : -((-local + 86399999) / 86400000);
  int minute = (int)((local - day * 86400000) / 60000);
  if (adm->minor && in_closed_hours(cfg, minute)) return minors_closed(cfg, minute, out);
  int remind_all = hg_config_reminders_all_users(cfg);
  if (!adm->minor && !(cfg->reminder_minutes && remind_all)) return 0; /* nothing to count for this user */
  int64_t gap = (int64_t)cfg->pause_minutes * 60000;
  hg_usage u;
  if (hg_store_usage_get(ax->read, key->user, day, now, gap, &u, &err)) return store_down(out);
  if (adm->minor && ((cfg->minors_daily_requests && u.requests >= cfg->minors_daily_requests) ||
                     (cfg->minors_daily_minutes && u.active_ms >= (int64_t)cfg->minors_daily_minutes * 60000)))
    return minors_limit(cfg, ((day + 1) * 86400000 - local) / 1000, out);
  int remind = 0;
  int64_t every = (int64_t)cfg->reminder_minutes * 60000;
  if (every && (adm->minor || remind_all) && u.session_start_ms) {
    int64_t run = now - u.session_start_ms;
    if (run >= every && (!u.reminded_ms || now - u.reminded_ms >= every)) remind = (int)(run / 60000);
  }
  adm->remind_minutes = remind;
  adm->counted = 1;
  adm->now = now;
  adm->day = day;
  adm->gap_ms = gap;
  return 0;
}

int admit_count(const admit_ctx *ax, const hg_key_info *key, const admission *adm, admit_refusal *out) {
  clear(out);
  hg_error err;
  if (!adm->counted) return 0;
  if (hg_store_usage_touch(ax->write, key->user, adm->day, adm->now, adm->gap_ms, 0, NULL, &err)) {
    snprintf(out->message, sizeof out->message, "the user store is unavailable; try again shortly");
    return refuse(out, 503, -1, "server_error", NULL);
  }
  return 0;
}

/* ---- quotas ---- */

static int quota_on(const struct hg_quota *q) {
  return q->requests_per_minute || q->requests_per_day || q->tokens_per_minute || q->tokens_per_day;
}

static int quota_tokens_on(const struct hg_quota *q) { return q->tokens_per_minute || q->tokens_per_day; }

static hg_quota_limits limits_of(const struct hg_quota *q) {
  return (hg_quota_limits){q->requests_per_minute, q->requests_per_day, q->tokens_per_minute, q->tokens_per_day};
}

/* The subjects the store counts: "u:<user>" (hegui/store.h names it: a data-subject deletion removes it) and
 * "k:<key id>". */
typedef struct quota_names {
  char user[8 + sizeof((hg_key_info *)0)->user], key[32];
} quota_names;

static void quota_names_make(quota_names *n, const char *user, int64_t key_id) {
  snprintf(n->user, sizeof n->user, "u:%s", user);
  snprintf(n->key, sizeof n->key, "k:%" PRId64, key_id);
}

int admit_quota(const admit_ctx *ax, const hg_key_info *key, admit_refusal *out) {
  clear(out);
  const struct hg_quota *qu = &ax->cfg->quota_user, *qk = &ax->cfg->quota_key;
  if (!quota_on(qu) && !quota_on(qk)) return 0; /* the hot path without quotas: no store at all */
  quota_names names;
  quota_names_make(&names, key->user, key->key_id);
  hg_quota_limits lu = limits_of(qu), lk = limits_of(qk);
  hg_quota_subject subjects[2];
  const char *who[2];
  size_t n = 0;
  if (quota_on(qu)) who[n] = "user", subjects[n++] = (hg_quota_subject){names.user, &lu};
  if (quota_on(qk)) who[n] = "API key", subjects[n++] = (hg_quota_subject){names.key, &lk};
  hg_quota_hit hit;
  hg_error err;
  hg_error_clear(&err);
  if (hg_store_quota_admit(ax->write, subjects, n, ax->now_ms, &hit, &err)) { /* fail closed */
    snprintf(out->log, sizeof out->log, "quota not checked, request refused: %s", err.message);
    snprintf(out->message, sizeof out->message,
             "usage limits could not be checked (the quota store is unavailable), so the request was refused; "
             "try again shortly");
    return refuse(out, 503, REFUSED_STORE, "server_error", NULL);
  }
  if (hit.limit == HG_QUOTA_NONE) return 0;
  int per_minute = hit.limit == HG_QUOTA_REQUESTS_PER_MINUTE || hit.limit == HG_QUOTA_TOKENS_PER_MINUTE;
  snprintf(out->message, sizeof out->message, "Rate limit reached for this %s: %s. Please try again %s.",
           who[hit.subject], hg_quota_limit_name(hit.limit), per_minute ? "in a minute" : "tomorrow (UTC)");
  /* whole seconds to the end of the window, rounded up: a client that waits that long is admitted */
  out->retry_after_s = hit.retry_after_ms > 0 ? (hit.retry_after_ms + 999) / 1000 : 1;
  return refuse(out, 429, -1, "requests", "rate_limit_exceeded");
}

int admit_request(const admit_ctx *ax, const hg_key_info *key, admission *adm, admit_refusal *out) {
  int status = admit_user(ax, key, adm, out);
  return status ? status : admit_quota(ax, key, out);
}

hg_status admit_tokens(const admit_ctx *ax, const char *user, int64_t key_id, uint64_t tokens, hg_error *err) {
  if (!tokens) return HG_OK;
  const struct hg_quota *qu = &ax->cfg->quota_user, *qk = &ax->cfg->quota_key;
  if (!quota_tokens_on(qu) && !quota_tokens_on(qk)) return HG_OK;
  quota_names names;
  quota_names_make(&names, user, key_id);
  hg_quota_subject subjects[2];
  size_t n = 0;
  if (quota_tokens_on(qu)) subjects[n++] = (hg_quota_subject){names.user, NULL};
  if (quota_tokens_on(qk)) subjects[n++] = (hg_quota_subject){names.key, NULL};
  return hg_store_quota_add_tokens(ax->write, subjects, n, tokens, ax->now_ms, err);
}
