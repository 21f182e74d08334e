/* quota.c — usage limits per user and per API key (Draft Art. 10: preventing over-reliance; any service: abuse).
 * Requests are counted when admitted, tokens when the model reports them, in fixed one-minute and one-day (UTC)
 * windows. The counters are in the store (hg_store_quota_*), so every gateway on the same store enforces one limit
 * together, and admission is one compare-and-count transaction there. Without a limit configured the store is never
 * touched; when the store fails, the request is refused (503): a quota that cannot be checked is not granted. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "gateway.h"

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

int quota_admit(gateway *gw, struct evhttp_request *req, const hg_key_info *key) {
  const hg_config *cfg = live_cfg(gw);
  const struct hg_quota *qu = &cfg->quota_user, *qk = &cfg->quota_key;
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
  if (hg_store_quota_admit(gw->store, subjects, n, hg_clock_wall_ms(), &hit, &err)) { /* fail closed */
    hg_log_write(&gw->log, HG_LOG_ERROR, "quota not checked, request refused: %s", err.message);
    atomic_fetch_add(&gw->metrics.refusals[REFUSED_STORE], 1);
    send_error(req, 503, "server_error",
               "usage limits could not be checked (the quota store is unavailable), so the request was refused; "
               "try again shortly",
               NULL);
    return 503;
  }
  if (hit.limit == HG_QUOTA_NONE) return 0;
  int per_minute = hit.limit == HG_QUOTA_REQUESTS_PER_MINUTE || hit.limit == HG_QUOTA_TOKENS_PER_MINUTE;
  char msg[200], retry[24];
  snprintf(msg, sizeof msg, "Rate limit reached for this %s: %s. Please try again %s.", who[hit.subject],
           hg_quota_limit_name(hit.limit), per_minute ? "in a minute" : "tomorrow (UTC)");
  /* whole seconds to the end of the window, rounded up: a client that waits that long is admitted */
  snprintf(retry, sizeof retry, "%" PRId64, hit.retry_after_ms > 0 ? (hit.retry_after_ms + 999) / 1000 : 1);
  evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", retry);
  send_error(req, 429, "requests", msg, "rate_limit_exceeded");
  return 429;
}

void quota_tokens(gateway *gw, const char *user, int64_t key_id, uint64_t tokens) {
  if (!tokens) return;
  const hg_config *cfg = live_cfg(gw);
  const struct hg_quota *qu = &cfg->quota_user, *qk = &cfg->quota_key;
  if (!quota_tokens_on(qu) && !quota_tokens_on(qk)) return;
  quota_names names;
  quota_names_make(&names, user, key_id);
  hg_quota_subject subjects[2];
  size_t n = 0;
  if (quota_tokens_on(qu)) subjects[n++] = (hg_quota_subject){names.user, NULL};
  if (quota_tokens_on(qk)) subjects[n++] = (hg_quota_subject){names.key, NULL};
  hg_error err;
  hg_error_clear(&err);
  /* the answer has gone out: a failure here loses these tokens from the count, and the next admission, which
   * needs the same store, fails closed if it is still down */
  if (hg_store_quota_add_tokens(gw->store, subjects, n, tokens, hg_clock_wall_ms(), &err))
    hg_log_write(&gw->log, HG_LOG_ERROR, "tokens not counted against quotas: %s", err.message);
}
