/* quota.c — usage limits per user and per API key (Draft Art. 10: preventing over-reliance; any service: abuse).
 * Requests are counted when admitted, tokens when the model reports them, in fixed one-minute and one-day (UTC)
 * windows. The counters live in this gateway's memory: several gateways behind a load balancer each enforce
 * the limits on their own share (documented; a store-backed counter is the shared alternative). */
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "gateway.h"

#define QUOTA_SLOTS 8192

typedef struct quota_slot {
  char id[160];
  int64_t minute, day;
  uint64_t req_min, req_day, tok_min, tok_day;
} quota_slot;

static quota_slot slots[QUOTA_SLOTS];
static pthread_mutex_t quota_lock = PTHREAD_MUTEX_INITIALIZER;

static quota_slot *slot_for(const char *id, int64_t now) {
  uint32_t h = 2166136261u;
  for (const char *p = id; *p; p++)
    h = (h ^ (uint8_t)*p) * 16777619u;
  quota_slot *s = &slots[h % QUOTA_SLOTS];
  if (strcmp(s->id, id)) { /* a new id (or a collision, which starts the other id's windows afresh) */
    memset(s, 0, sizeof *s);
    snprintf(s->id, sizeof s->id, "%s", id);
  }
  int64_t minute = now / 60000, day = now / 86400000;
  if (s->minute != minute) s->minute = minute, s->req_min = s->tok_min = 0;
  if (s->day != day) s->day = day, s->req_day = s->tok_day = 0;
  return s;
}

static const char *over(const quota_slot *s, const struct hg_quota *q) {
  if (q->requests_per_minute && s->req_min >= q->requests_per_minute) return "requests per minute";
  if (q->requests_per_day && s->req_day >= q->requests_per_day) return "requests per day";
  if (q->tokens_per_minute && s->tok_min >= q->tokens_per_minute) return "tokens per minute";
  if (q->tokens_per_day && s->tok_day >= q->tokens_per_day) return "tokens per day";
  return NULL;
}

int quota_admit(gateway *gw, struct evhttp_request *req, const hg_key_info *key) {
  const struct hg_quota *qu = &live_cfg(gw)->quota_user, *qk = &live_cfg(gw)->quota_key;
  int user_on = qu->requests_per_minute || qu->requests_per_day || qu->tokens_per_minute || qu->tokens_per_day;
  int key_on = qk->requests_per_minute || qk->requests_per_day || qk->tokens_per_minute || qk->tokens_per_day;
  if (!user_on && !key_on) return 0;
  char uid[160], kid[40];
  snprintf(uid, sizeof uid, "u:%s", key->user);
  snprintf(kid, sizeof kid, "k:%lld", (long long)key->key_id);
  int64_t now = hg_clock_wall_ms();
  pthread_mutex_lock(&quota_lock);
  quota_slot *su = user_on ? slot_for(uid, now) : NULL;
  const char *why = su ? over(su, qu) : NULL;
  const char *who = "user";
  quota_slot *sk = NULL;
  if (!why && key_on) {
    sk = slot_for(kid, now);
    why = over(sk, qk);
    who = "API key";
  }
  int minute = why && strstr(why, "minute");
  if (!why) {
    if (su) su->req_min++, su->req_day++;
    if (sk) sk->req_min++, sk->req_day++;
  }
  pthread_mutex_unlock(&quota_lock);
  if (!why) return 0;
  char msg[200], retry[16];
  snprintf(msg, sizeof msg, "Rate limit reached for this %s: %s. Please try again %s.", who, why,
           minute ? "in a minute" : "tomorrow (UTC)");
  snprintf(retry, sizeof retry, "%lld",
           minute ? (long long)(60 - (now / 1000) % 60) : (long long)(86400 - (now / 1000) % 86400));
  evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", retry);
  send_error(req, 429, "requests", msg, "rate_limit_exceeded");
  return -1;
}

void quota_tokens(gateway *gw, const char *user, int64_t key_id, uint64_t tokens) {
  if (!tokens) return;
  char uid[160], kid[40];
  snprintf(uid, sizeof uid, "u:%s", user);
  snprintf(kid, sizeof kid, "k:%lld", (long long)key_id);
  int64_t now = hg_clock_wall_ms();
  pthread_mutex_lock(&quota_lock);
  if (live_cfg(gw)->quota_user.tokens_per_minute || live_cfg(gw)->quota_user.tokens_per_day) {
    quota_slot *s = slot_for(uid, now);
    s->tok_min += tokens, s->tok_day += tokens;
  }
  if (live_cfg(gw)->quota_key.tokens_per_minute || live_cfg(gw)->quota_key.tokens_per_day) {
    quota_slot *s = slot_for(kid, now);
    s->tok_min += tokens, s->tok_day += tokens;
  }
  pthread_mutex_unlock(&quota_lock);
}
