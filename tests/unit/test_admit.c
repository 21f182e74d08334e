/* test_admit.c — admission (src/gateway/admit.c) without HTTP, against a real SQLite store in a temporary directory:
 * the key (missing, unknown, revoked, expired, valid, and none needed without auth.required), the user's standing
 * (suspended by the ladder or a reviewer, terminated), real name (unverified, pending, rejected, verified), minors'
 * closed hours and daily limits with their Retry-After, a reminder after two hours of use, the quotas (per user
 * and per key, requests and tokens, the window's end as Retry-After), and a store that fails (503, fail closed). Each
 * decision is checked by what a client would get: status, type, code, words of the message, and the reason counted.
 * Times are injected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/admit.h"
#include "hegui/users.h"

#include "store_test_util.h"

/* 2024-03-01T00:00:00Z: 08:00 in China Standard Time, the default utc_offset */
#define DAY0 INT64_C(1709251200000)
#define HOUR_MS INT64_C(3600000)
#define MINUTE_MS INT64_C(60000)

typedef struct fixture {
  tmp_store t;
  hg_store *s;
  hg_config cfg;
  admit_ctx ax;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  tmp_init_named(&f->t, "admit");
  f->s = open_ok(f->t.url);
  hg_config_init(&f->cfg);
  f->ax = (admit_ctx){f->s, f->s, &f->cfg, 1, DAY0 + 4 * HOUR_MS}; /* 12:00 local */
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  hg_store_close(f->s);
  tmp_remove(&f->t);
  free(f);
  return 0;
}

/* A key for user, as "Bearer KEY" in auth. */
static hg_key_info make_key(fixture *f, const char *user, char auth[HG_KEY_MAX + 8], int64_t expires_ms) {
  char key[HG_KEY_MAX];
  hg_error err;
  if (hg_store_key_create_ex(f->s, user, HG_ROLE_USER, expires_ms, key, &err)) fail_msg("key: %s", err.message);
  snprintf(auth, HG_KEY_MAX + 8, "Bearer %s", key);
  hg_key_info info;
  admit_refusal r;
  assert_int_equal(admit_key(&f->ax, auth, &info, &r), 0);
  assert_int_equal(r.status, 0);
  return info;
}

static void refused(const admit_refusal *r, int status, const char *type, const char *code, int reason,
                    const char *words) {
  assert_int_equal(r->status, status);
  assert_string_equal(r->type, type);
  if (code)
    assert_string_equal(r->code, code);
  else
    assert_null(r->code);
  assert_int_equal(r->reason, reason);
  if (!strstr(r->message, words)) fail_msg("message \"%s\" lacks \"%s\"", r->message, words);
}

static void identity(fixture *f, const char *user, hg_realname status, int minor, const char *note) {
  hg_user_identity id = {0};
  id.status = status;
  id.minor = minor;
  snprintf(id.note, sizeof id.note, "%s", note);
  hg_error err;
  if (hg_store_identity_put(f->s, user, &id, DAY0, &err)) fail_msg("identity: %s", err.message);
}

static void keys(void **state) {
  fixture *f = *state;
  char auth[HG_KEY_MAX + 8];
  hg_key_info k = make_key(f, "alice", auth, 0), info;
  assert_string_equal(k.user, "alice");
  assert_true(k.key_id > 0);
  admit_refusal r;
  assert_int_equal(admit_key(&f->ax, NULL, &info, &r), 401);
  refused(&r, 401, "invalid_request_error", NULL, -1, "You didn't provide an API key");
  assert_int_equal(admit_key(&f->ax, "Basic abc", &info, &r), 401);
  assert_int_equal(admit_key(&f->ax, "Bearer hg_nosuchkey", &info, &r), 401);
  refused(&r, 401, "invalid_request_error", "invalid_api_key", -1, "Incorrect API key provided.");
  /* the scheme's case and the spaces after it do not matter */
  char loose[HG_KEY_MAX + 16];
  snprintf(loose, sizeof loose, "bearer   %s", auth + 7);
  assert_int_equal(admit_key(&f->ax, loose, &info, &r), 0);
  assert_int_equal(info.key_id, k.key_id);
  hg_error err;
  assert_int_equal(hg_store_key_revoke(f->s, k.key_id, &err), HG_OK);
  assert_int_equal(admit_key(&f->ax, auth, &info, &r), 401);
  refused(&r, 401, "invalid_request_error", "invalid_api_key", -1, "This API key has been revoked.");
  /* an expiry is compared with the injected clock: valid until the millisecond it expires */
  char auth2[HG_KEY_MAX + 8];
  make_key(f, "bob", auth2, f->ax.now_ms + 1);
  f->ax.now_ms++;
  assert_int_equal(admit_key(&f->ax, auth2, &info, &r), 401);
  refused(&r, 401, "invalid_request_error", "expired_api_key", -1, "This API key expired at 2024-03-01T04:00:00Z");
  /* without auth.required: no header is "anonymous"; a header is still checked */
  f->ax.auth_required = 0;
  assert_int_equal(admit_key(&f->ax, NULL, &info, &r), 0);
  assert_string_equal(info.user, "anonymous");
  assert_int_equal(admit_key(&f->ax, "Bearer hg_nosuchkey", &info, &r), 401);
  /* and nothing about the user is read */
  admission adm;
  assert_int_equal(admit_request(&f->ax, &info, &adm, &r), 0);
  assert_int_equal(adm.counted, 0);
}

static void standing(void **state) {
  fixture *f = *state;
  char auth[HG_KEY_MAX + 8];
  hg_key_info k = make_key(f, "carol", auth, 0);
  admission adm;
  admit_refusal r;
  assert_int_equal(admit_request(&f->ax, &k, &adm, &r), 0);
  hg_error err;
  int64_t until = DAY0 + 30 * HOUR_MS;
  assert_int_equal(hg_store_user_set_standing_by(f->s, "carol", HG_STANDING_SUSPENDED, until, "strikes",
                                                 HG_STANDING_BY_LADDER, f->ax.now_ms, &err),
                   HG_OK);
  assert_int_equal(admit_request(&f->ax, &k, &adm, &r), 403);
  refused(&r, 403, "permission_error", "account_suspended", REFUSED_STANDING,
          "suspended until 2024-03-02T06:00:00Z for repeatedly submitting prohibited content");
  f->ax.now_ms = until; /* the suspension is over */
  assert_int_equal(admit_request(&f->ax, &k, &adm, &r), 0);
  assert_int_equal(hg_store_user_set_standing(f->s, "carol", HG_STANDING_SUSPENDED, 0, "review", f->ax.now_ms, &err),
                   HG_OK);
  assert_int_equal(admit_user(&f->ax, &k, &adm, &r), 403);
  refused(&r, 403, "permission_error", "account_suspended", REFUSED_STANDING, "until a reviewer lifts");
  assert_int_equal(hg_store_user_set_standing(f->s, "carol", HG_STANDING_TERMINATED, 0, "review", f->ax.now_ms, &err),
                   HG_OK);
  assert_int_equal(admit_user(&f->ax, &k, &adm, &r), 403);
  refused(&r, 403, "permission_error", "account_terminated", REFUSED_STANDING,
          "terminated by a decision of the service's reviewers");
}

static void realname(void **state) {
  fixture *f = *state;
  char auth[HG_KEY_MAX + 8];
  hg_key_info k = make_key(f, "dave", auth, 0);
  admission adm;
  admit_refusal r;
  assert_int_equal(hg_config_identity_required(&f->cfg), 0); /* tc260, the default, does not ask */
  assert_int_equal(admit_user(&f->ax, &k, &adm, &r), 0);
  f->cfg.identity_required = 1;
  assert_int_equal(admit_user(&f->ax, &k, &adm, &r), 403);
  refused(&r, 403, "permission_error", "realname_required", REFUSED_REALNAME, "POST /compliance/identity");
  identity(f, "dave", HG_REALNAME_PENDING, 0, "");
  assert_int_equal(admit_user(&f->ax, &k, &adm, &r), 403);
  refused(&r, 403, "permission_error", "realname_required", REFUSED_REALNAME, "in progress");
  identity(f, "dave", HG_REALNAME_REJECTED, 0, "name and ID differ");
  assert_int_equal(admit_user(&f->ax, &k, &adm, &r), 403);
  refused(&r, 403, "permission_error", "realname_required", REFUSED_REALNAME, "rejected (name and ID differ)");
  identity(f, "dave", HG_REALNAME_VERIFIED, 0, "");
  assert_int_equal(admit_user(&f->ax, &k, &adm, &r), 0);
  assert_int_equal(adm.minor, 0);
}

static void minors_hours(void **state) {
  fixture *f = *state;
  char auth[HG_KEY_MAX + 8];
  hg_key_info k = make_key(f, "erin", auth, 0);
  identity(f, "erin", HG_REALNAME_UNVERIFIED, 1, "");
  admission adm;
  admit_refusal r;
  /* defaults: closed 22:00 to 08:00 local (UTC+8) */
  f->ax.now_ms = DAY0 + 15 * HOUR_MS; /* 23:00 local */
  assert_int_equal(admit_user(&f->ax, &k, &adm, &r), 403);
  refused(&r, 403, "permission_error", "minors_closed_hours", REFUSED_MINORS_CLOSED, "closed from 22:00 to 08:00");
  assert_int_equal(r.retry_after_s, 9 * 3600); /* to 08:00 */
  f->ax.now_ms = DAY0 - 1 * MINUTE_MS;         /* 07:59 local */
  assert_int_equal(admit_user(&f->ax, &k, &adm, &r), 403);
  assert_int_equal(r.retry_after_s, 60);
  f->ax.now_ms = DAY0; /* 08:00: open */
  assert_int_equal(admit_user(&f->ax, &k, &adm, &r), 0);
  assert_int_equal(adm.minor, 1);
  assert_int_equal(adm.counted, 1);
  /* an adult at the same hour is served; minors mode off serves the minor too */
  char auth2[HG_KEY_MAX + 8];
  hg_key_info adult = make_key(f, "frank", auth2, 0);
  f->ax.now_ms = DAY0 + 15 * HOUR_MS;
  assert_int_equal(admit_user(&f->ax, &adult, &adm, &r), 0);
  assert_int_equal(adm.counted, 0); /* nothing to count for an adult under tc260 */
  f->cfg.minors_enabled = 0;
  assert_int_equal(admit_user(&f->ax, &k, &adm, &r), 0);
  assert_int_equal(adm.minor, 0);
}

static void minors_limit(void **state) {
  fixture *f = *state;
  char auth[HG_KEY_MAX + 8];
  hg_key_info k = make_key(f, "gina", auth, 0);
  identity(f, "gina", HG_REALNAME_VERIFIED, 1, "");
  f->cfg.minors_daily_requests = 2;
  f->cfg.minors_daily_minutes = 0;
  admission adm;
  admit_refusal r;
  for (int i = 0; i < 2; i++) {
    f->ax.now_ms = DAY0 + 2 * HOUR_MS + i * MINUTE_MS; /* 10:00 local */
    assert_int_equal(admit_user(&f->ax, &k, &adm, &r), 0);
    assert_int_equal(admit_count(&f->ax, &k, &adm, &r), 0);
  }
  assert_int_equal(admit_user(&f->ax, &k, &adm, &r), 429);
  refused(&r, 429, "rate_limit_exceeded", "minors_daily_limit", REFUSED_MINORS_LIMIT, "2 requests a day");
  /* to local midnight: 14 hours less the minute */
  assert_int_equal(r.retry_after_s, 14 * 3600 - 60);
  /* the next local day (16:00 UTC) counts afresh */
  f->ax.now_ms = DAY0 + 16 * HOUR_MS;
  assert_int_equal(admit_user(&f->ax, &k, &adm, &r), 403); /* 00:00 local: closed hours come first */
  f->ax.now_ms = DAY0 + 24 * HOUR_MS;
  assert_int_equal(admit_user(&f->ax, &k, &adm, &r), 0);
}

static void reminder(void **state) {
  fixture *f = *state;
  char auth[HG_KEY_MAX + 8];
  hg_key_info k = make_key(f, "hugo", auth, 0);
  identity(f, "hugo", HG_REALNAME_VERIFIED, 1, "");
  f->cfg.minors_daily_minutes = 0;
  admission adm;
  admit_refusal r;
  /* a request every 10 minutes (below the 20-minute pause) from 08:00 local: a reminder once 120 minutes ran */
  int reminded_at = -1;
  for (int i = 0; i <= 13 && reminded_at < 0; i++) {
    f->ax.now_ms = DAY0 + i * 10 * MINUTE_MS;
    assert_int_equal(admit_user(&f->ax, &k, &adm, &r), 0);
    if (adm.remind_minutes) reminded_at = i, assert_int_equal(adm.remind_minutes, 120);
    assert_int_equal(admit_count(&f->ax, &k, &adm, &r), 0);
  }
  assert_int_equal(reminded_at, 12);
}

static void quotas(void **state) {
  fixture *f = *state;
  char auth[HG_KEY_MAX + 8], auth2[HG_KEY_MAX + 8];
  hg_key_info k1 = make_key(f, "ivy", auth, 0), k2 = make_key(f, "ivy", auth2, 0);
  admission adm;
  admit_refusal r;
  f->cfg.quota_user.requests_per_minute = 3;
  f->cfg.quota_key.requests_per_minute = 2;
  f->ax.now_ms = DAY0 + 30 * 1000; /* half a minute into the window */
  assert_int_equal(admit_request(&f->ax, &k1, &adm, &r), 0);
  assert_int_equal(admit_request(&f->ax, &k1, &adm, &r), 0);
  assert_int_equal(admit_request(&f->ax, &k1, &adm, &r), 429); /* the key's limit */
  refused(&r, 429, "requests", "rate_limit_exceeded", -1, "Rate limit reached for this API key");
  assert_int_equal(r.retry_after_s, 30);
  assert_int_equal(admit_request(&f->ax, &k2, &adm, &r), 0);   /* another key of the same user */
  assert_int_equal(admit_request(&f->ax, &k2, &adm, &r), 429); /* the user's limit: 3 admitted in all */
  refused(&r, 429, "requests", "rate_limit_exceeded", -1, "Rate limit reached for this user");
  assert_true(strstr(r.message, "in a minute") != NULL);
  f->ax.now_ms = DAY0 + 60 * 1000; /* the next minute */
  assert_int_equal(admit_request(&f->ax, &k2, &adm, &r), 0);
  /* a refused user is not counted against the quota */
  hg_error err;
  assert_int_equal(hg_store_user_set_standing(f->s, "ivy", HG_STANDING_SUSPENDED, 0, "x", f->ax.now_ms, &err), HG_OK);
  assert_int_equal(admit_request(&f->ax, &k1, &adm, &r), 403);
  assert_int_equal(hg_store_user_set_standing(f->s, "ivy", HG_STANDING_ACTIVE, 0, "x", f->ax.now_ms, &err), HG_OK);
  assert_int_equal(admit_request(&f->ax, &k1, &adm, &r), 0);
  /* the counters' table gone under it: quotas fail closed, with a line for the log */
  raw_sql(f->t.path, "DROP TABLE quota_counters");
  assert_int_equal(admit_quota(&f->ax, &k1, &r), 503);
  refused(&r, 503, "server_error", NULL, REFUSED_STORE, "usage limits could not be checked");
  assert_true(strstr(r.log, "quota not checked") != NULL);
}

static void tokens_and_failures(void **state) {
  fixture *f = *state;
  char auth[HG_KEY_MAX + 8];
  hg_key_info k = make_key(f, "jack", auth, 0);
  admission adm;
  admit_refusal r;
  hg_error err;
  f->ax.now_ms = DAY0 + 10 * 1000;
  /* without token limits the tokens touch nothing; with them, a minute's tokens spent refuse the next request */
  assert_int_equal(admit_tokens(&f->ax, "jack", k.key_id, 500, &err), HG_OK);
  f->cfg.quota_user.tokens_per_minute = 100;
  assert_int_equal(admit_request(&f->ax, &k, &adm, &r), 0);
  assert_int_equal(admit_tokens(&f->ax, "jack", k.key_id, 0, &err), HG_OK);
  assert_int_equal(admit_request(&f->ax, &k, &adm, &r), 0);
  assert_int_equal(admit_tokens(&f->ax, "jack", k.key_id, 150, &err), HG_OK);
  assert_int_equal(admit_request(&f->ax, &k, &adm, &r), 429);
  refused(&r, 429, "requests", "rate_limit_exceeded", -1, "Rate limit reached for this user");
  assert_true(strstr(r.message, "tokens") != NULL);
  assert_int_equal(r.retry_after_s, 50);
  f->ax.now_ms = DAY0 + 60 * 1000;
  assert_int_equal(admit_request(&f->ax, &k, &adm, &r), 0);
  /* a minor's usage that cannot be counted is a 503, not counted as a refusal reason; a user store that cannot be
   * read fails closed */
  identity(f, "jack", HG_REALNAME_VERIFIED, 1, "");
  assert_int_equal(admit_user(&f->ax, &k, &adm, &r), 0);
  assert_int_equal(adm.counted, 1);
  raw_sql(f->t.path, "DROP TABLE user_usage");
  assert_int_equal(admit_count(&f->ax, &k, &adm, &r), 503);
  refused(&r, 503, "server_error", NULL, -1, "the user store is unavailable");
  assert_int_equal(admit_user(&f->ax, &k, &adm, &r), 503);
  refused(&r, 503, "server_error", NULL, REFUSED_STORE, "the user store is unavailable");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(keys, setup, teardown),
      cmocka_unit_test_setup_teardown(standing, setup, teardown),
      cmocka_unit_test_setup_teardown(realname, setup, teardown),
      cmocka_unit_test_setup_teardown(minors_hours, setup, teardown),
      cmocka_unit_test_setup_teardown(minors_limit, setup, teardown),
      cmocka_unit_test_setup_teardown(reminder, setup, teardown),
      cmocka_unit_test_setup_teardown(quotas, setup, teardown),
      cmocka_unit_test_setup_teardown(tokens_and_failures, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
