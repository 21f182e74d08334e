/* test_store_identity.c — real-name identity, the gate, the user list, key expiry and listings, and the minors'
 * usage counters, against a real SQLite file in a temporary directory: identities round-trip and are replaced,
 * unknown users read unverified without being created, bad input is refused with nothing changed, the gate gives
 * exactly what the separate calls give (a suspended user too), the usage arithmetic (runs, gaps, days, reminders)
 * to the millisecond, purge of idle usage rows, data-subject export and erasure of the new rows, and the
 * migration of a database written by schema 3. Times are injected throughout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <inttypes.h>
#include <sodium.h>
#include <sqlite3.h>
#include <time.h>
#include <unistd.h>

#include "hegui/store.h"

/* 2024-03-01T00:00:00Z */
#define NOW INT64_C(1709251200000)
#define DAY_MS INT64_C(86400000)
#define MIN_MS INT64_C(60000)
#define GAP (30 * MIN_MS)

static const char alice_p[] = "0123456789abcdef0123456789abcdef";

#include "store_test_util.h"

static void tmp_init(tmp_store *t) { tmp_init_named(t, "identity"); }

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static hg_user_identity identity_of(hg_realname status, int64_t adult_from_ms, int minor, const char *sealed,
                                    const char *note) {
  hg_user_identity id;
  memset(&id, 0, sizeof id);
  id.status = status;
  id.adult_from_ms = adult_from_ms;
  id.minor = minor;
  snprintf(id.sealed, sizeof id.sealed, "%s", sealed);
  snprintf(id.note, sizeof id.note, "%s", note);
  return id;
}

static void put_ok(hg_store *s, const char *user, const hg_user_identity *id, int64_t now) {
  hg_error err;
  hg_error_clear(&err);
  if (hg_store_identity_put(s, user, id, now, &err)) fail_msg("identity put: %s", err.message);
}

static hg_user_identity get_ok(hg_store *s, const char *user) {
  hg_user_identity id;
  hg_error err;
  hg_error_clear(&err);
  if (hg_store_identity_get(s, user, &id, &err)) fail_msg("identity get: %s", err.message);
  return id;
}

static void expect_unverified(const hg_user_identity *id) {
  assert_int_equal(id->status, HG_REALNAME_UNVERIFIED);
  assert_int_equal(id->updated_ms, 0);
  assert_int_equal(id->adult_from_ms, 0);
  assert_int_equal(id->minor, 0);
  assert_string_equal(id->sealed, "");
  assert_string_equal(id->note, "");
}

/* base64 as the gateway's secretbox output would be: printable ASCII */
static const char sealed_a[] = "bm9uY2UxMjM0NTY3ODkwMTIzNDU2Nzg5MA+/Y2lwaGVydGV4dA==";
static const char sealed_b[] = "djEuYW5vdGhlcl9zZWFsZWRfaWRlbnRpdHk";

/* compare-and-set: a decision on what was read applies only if the identity is still that one, every field of it,
 * and the user exists */
static void put_if_compares(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  hg_error err;
  hg_user_identity none = get_ok(s, "nobody");
  hg_user_identity pending = identity_of(HG_REALNAME_PENDING, NOW - DAY_MS, 0, sealed_a, "");
  /* an unknown user is never created by a decision */
  assert_int_equal(hg_store_identity_put_if(s, "nobody", &none, &pending, NOW, &err), HG_ERR_NOT_FOUND);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM users"), 0);
  char key[HG_KEY_MAX];
  assert_int_equal(hg_store_key_create(s, "amy", HG_ROLE_USER, key, &err), HG_OK);
  /* no identity yet: expect what identity_get reads for none */
  hg_user_identity read = get_ok(s, "amy");
  assert_int_equal(hg_store_identity_put_if(s, "amy", &pending, &pending, NOW, &err), HG_ERR_CONFLICT);
  assert_int_equal(hg_store_identity_put_if(s, "amy", &read, &pending, NOW, &err), HG_OK);
  /* a verdict taken on that read... */
  read = get_ok(s, "amy");
  hg_user_identity verdict = read;
  verdict.status = HG_REALNAME_VERIFIED;
  /* ...after a reviewer set the minor flag meanwhile (sealed text unchanged): refused, the flag stays */
  hg_user_identity flagged = read;
  flagged.minor = 1;
  assert_int_equal(hg_store_identity_put_if(s, "amy", &read, &flagged, NOW + 1, &err), HG_OK);
  assert_int_equal(hg_store_identity_put_if(s, "amy", &read, &verdict, NOW + 2, &err), HG_ERR_CONFLICT);
  assert_non_null(strstr(err.message, "changed meanwhile"));
  hg_user_identity out = get_ok(s, "amy");
  assert_int_equal(out.status, HG_REALNAME_PENDING);
  assert_int_equal(out.minor, 1);
  /* on a fresh read it applies */
  read = get_ok(s, "amy");
  verdict = read;
  verdict.status = HG_REALNAME_VERIFIED;
  assert_int_equal(hg_store_identity_put_if(s, "amy", &read, &verdict, NOW + 3, &err), HG_OK);
  assert_int_equal(get_ok(s, "amy").status, HG_REALNAME_VERIFIED);
  /* a correction meanwhile: the old verdict is refused */
  read = get_ok(s, "amy");
  hg_user_identity corrected = identity_of(HG_REALNAME_PENDING, NOW - DAY_MS, 1, sealed_b, "");
  put_ok(s, "amy", &corrected, NOW + 4);
  assert_int_equal(hg_store_identity_put_if(s, "amy", &read, &verdict, NOW + 5, &err), HG_ERR_CONFLICT);
  assert_string_equal(get_ok(s, "amy").sealed, sealed_b);
  /* after a data-subject deletion a late verdict does not bring the user back */
  read = get_ok(s, "amy");
  char who[33] = "0123456789abcdef0123456789abcdef";
  assert_int_equal(hg_store_dsar_delete(s, "amy", who, NOW + 6, NULL, &err), HG_OK);
  assert_int_equal(hg_store_identity_put_if(s, "amy", &read, &verdict, NOW + 7, &err), HG_ERR_NOT_FOUND);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM users"), 0);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM user_identity"), 0);
  hg_store_close(s);
  tmp_remove(&t);
}

/* a reminder noted once given, without counting a request */
static void usage_reminded(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  hg_error err;
  assert_int_equal(hg_store_usage_reminded(s, "kim", NOW, &err), HG_ERR_NOT_FOUND);
  hg_usage u;
  assert_int_equal(hg_store_usage_touch(s, "kim", 7, NOW, 60000, 0, &u, &err), HG_OK);
  assert_int_equal(hg_store_usage_reminded(s, "kim", NOW + 10, &err), HG_OK);
  assert_int_equal(hg_store_usage_get(s, "kim", 7, NOW + 20, 60000, &u, &err), HG_OK);
  assert_int_equal(u.requests, 1);
  assert_int_equal(u.reminded_ms, NOW + 10);
  assert_int_equal(u.last_ms, NOW);
  hg_store_close(s);
  tmp_remove(&t);
}

static void realname_names(void **state) {
  (void)state;
  const char *names[] = {"unverified", "pending", "verified", "rejected"};
  for (int i = 0; i < 4; i++) {
    assert_string_equal(hg_realname_name((hg_realname)i), names[i]);
    hg_realname r = (hg_realname)99;
    assert_int_equal(hg_realname_parse(names[i], &r), HG_OK);
    assert_int_equal(r, i);
  }
  assert_string_equal(hg_realname_name((hg_realname)4), "unknown");
  hg_realname r;
  assert_int_equal(hg_realname_parse("Verified", &r), HG_ERR_INVALID);
  assert_int_equal(hg_realname_parse("", &r), HG_ERR_INVALID);
  assert_int_equal(hg_realname_parse(NULL, &r), HG_ERR_INVALID);
}

static void identity_round_trip(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);

  hg_user_identity in = identity_of(HG_REALNAME_VERIFIED, NOW + 400 * DAY_MS, 1, sealed_a, "运营商三要素核验通过");
  put_ok(s, "张三", &in, NOW);
  hg_user_identity out = get_ok(s, "张三");
  assert_int_equal(out.status, HG_REALNAME_VERIFIED);
  assert_int_equal(out.updated_ms, NOW);
  assert_int_equal(out.adult_from_ms, NOW + 400 * DAY_MS);
  assert_int_equal(out.minor, 1);
  assert_string_equal(out.sealed, sealed_a);
  assert_string_equal(out.note, "运营商三要素核验通过");
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM users"), 1);
  char status[32];
  raw_text(t.path, "SELECT status FROM user_identity", status, sizeof status);
  assert_string_equal(status, "verified");

  /* a put replaces everything; empty sealed text and note are stored as absent; any non-zero minor reads 1 */
  in = identity_of(HG_REALNAME_PENDING, 0, 7, "", "");
  put_ok(s, "张三", &in, NOW + 1000);
  out = get_ok(s, "张三");
  assert_int_equal(out.status, HG_REALNAME_PENDING);
  assert_int_equal(out.updated_ms, NOW + 1000);
  assert_int_equal(out.adult_from_ms, 0);
  assert_int_equal(out.minor, 1);
  assert_string_equal(out.sealed, "");
  assert_string_equal(out.note, "");
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM user_identity"), 1);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM user_identity WHERE sealed IS NULL AND note IS NULL"), 1);

  /* the longest sealed text that fits, every printable character, and a rejection */
  in = identity_of(HG_REALNAME_REJECTED, 0, 0, "", "ID number and name do not match");
  memset(in.sealed, 'A', HG_IDENTITY_SEALED_MAX - 1);
  for (int c = 0x20; c <= 0x7e; c++)
    in.sealed[c] = (char)c;
  in.sealed[HG_IDENTITY_SEALED_MAX - 1] = 0;
  put_ok(s, "张三", &in, NOW + 2000);
  out = get_ok(s, "张三");
  assert_int_equal(out.status, HG_REALNAME_REJECTED);
  assert_int_equal(strlen(out.sealed), HG_IDENTITY_SEALED_MAX - 1);
  assert_memory_equal(out.sealed, in.sealed, HG_IDENTITY_SEALED_MAX);
  assert_string_equal(out.note, "ID number and name do not match");

  /* now_ms 0 stamps the wall clock: updated_ms 0 would read as "never" */
  int64_t before = wall_ms();
  put_ok(s, "李四", &in, 0);
  out = get_ok(s, "李四");
  assert_true(out.updated_ms >= before && out.updated_ms <= wall_ms());

  /* kept across a reopen */
  hg_store_close(s);
  s = open_ok(t.url);
  out = get_ok(s, "张三");
  assert_int_equal(out.status, HG_REALNAME_REJECTED);
  assert_int_equal(out.updated_ms, NOW + 2000);
  hg_store_close(s);
  tmp_remove(&t);
}

static void unknown_user_reads_unverified(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  hg_user_identity out = get_ok(s, "nobody");
  expect_unverified(&out);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM users"), 0); /* a read creates no one */

  /* a known user (a key) without identity: the same */
  char key[HG_KEY_MAX];
  hg_error err;
  assert_int_equal(hg_store_key_create(s, "keyholder", HG_ROLE_USER, key, &err), HG_OK);
  out = get_ok(s, "keyholder");
  expect_unverified(&out);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM user_identity"), 0);

  assert_int_equal(hg_store_identity_get(s, "", &out, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_identity_get(s, "x", NULL, &err), HG_ERR_INVALID);
  hg_store_close(s);
  tmp_remove(&t);
}

/* A refused put changes nothing: the identity stays as it was and no user is created. */
static void expect_put_refused(hg_store *s, const char *path, const char *user, const hg_user_identity *in, int64_t now,
                               hg_status want, const char *message) {
  hg_error err;
  hg_error_clear(&err);
  int64_t users = raw_int(path, "SELECT COUNT(*) FROM users");
  hg_user_identity before = get_ok(s, "wang");
  assert_int_equal(hg_store_identity_put(s, user, in, now, &err), want);
  if (!strstr(err.message, message)) fail_msg("message '%s' lacks '%s'", err.message, message);
  hg_user_identity after = get_ok(s, "wang");
  assert_memory_equal(&before, &after, sizeof before);
  assert_int_equal(raw_int(path, "SELECT COUNT(*) FROM users"), users);
}

static void bad_identity_refused(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  hg_user_identity good = identity_of(HG_REALNAME_VERIFIED, NOW, 0, sealed_a, "ok");
  put_ok(s, "wang", &good, NOW);

  hg_user_identity bad = good;
  snprintf(bad.sealed, sizeof bad.sealed, "abc\xc3\xa9"); /* é: not ASCII */
  expect_put_refused(s, t.path, "wang", &bad, NOW + 1, HG_ERR_INVALID, "printable ASCII");
  expect_put_refused(s, t.path, "newcomer", &bad, NOW + 1, HG_ERR_INVALID, "byte offset 3");
  snprintf(bad.sealed, sizeof bad.sealed, "abc\ndef");
  expect_put_refused(s, t.path, "wang", &bad, NOW + 1, HG_ERR_INVALID, "printable ASCII");
  snprintf(bad.sealed, sizeof bad.sealed, "abc\x7f");
  expect_put_refused(s, t.path, "wang", &bad, NOW + 1, HG_ERR_INVALID, "printable ASCII");
  memset(bad.sealed, 'A', sizeof bad.sealed); /* no NUL within HG_IDENTITY_SEALED_MAX */
  expect_put_refused(s, t.path, "wang", &bad, NOW + 1, HG_ERR_INVALID, "at most 2047 bytes");

  bad = good;
  memset(bad.note, 'n', sizeof bad.note);
  expect_put_refused(s, t.path, "wang", &bad, NOW + 1, HG_ERR_INVALID, "at most 255 bytes");
  snprintf(bad.note, sizeof bad.note, "bad \xff note");
  expect_put_refused(s, t.path, "wang", &bad, NOW + 1, HG_ERR_INVALID, "not valid UTF-8");

  bad = good;
  bad.status = (hg_realname)4;
  expect_put_refused(s, t.path, "wang", &bad, NOW + 1, HG_ERR_INVALID, "unknown real-name status 4");
  bad.status = (hg_realname)-1;
  expect_put_refused(s, t.path, "wang", &bad, NOW + 1, HG_ERR_INVALID, "unknown real-name status");
  bad = good;
  bad.adult_from_ms = -1;
  expect_put_refused(s, t.path, "wang", &bad, NOW + 1, HG_ERR_INVALID, "adult_from_ms");
  expect_put_refused(s, t.path, "wang", &good, -5, HG_ERR_INVALID, "now_ms");
  expect_put_refused(s, t.path, "", &good, NOW + 1, HG_ERR_INVALID, "empty");
  expect_put_refused(s, t.path, "a\tb", &good, NOW + 1, HG_ERR_INVALID, "control character");
  expect_put_refused(s, t.path, "\xff", &good, NOW + 1, HG_ERR_UTF8, "UTF-8");

  hg_error err;
  assert_int_equal(hg_store_identity_put(s, "wang", NULL, NOW, &err), HG_ERR_INVALID);
  assert_int_equal(get_ok(s, "wang").updated_ms, NOW);
  hg_store_close(s);
  tmp_remove(&t);
}

static void expect_gate_matches(hg_store *s, const char *user, int64_t now) {
  hg_user_standing alone, gated;
  hg_user_identity id_alone, id_gated;
  hg_error err;
  hg_error_clear(&err);
  memset(&gated, 0x5a, sizeof gated);
  memset(&id_gated, 0x5a, sizeof id_gated);
  assert_int_equal(hg_store_user_standing(s, user, now, &alone, &err), HG_OK);
  assert_int_equal(hg_store_identity_get(s, user, &id_alone, &err), HG_OK);
  assert_int_equal(hg_store_user_gate(s, user, now, &gated, &id_gated, &err), HG_OK);
  assert_int_equal(gated.standing, alone.standing);
  assert_int_equal(gated.until_ms, alone.until_ms);
  assert_int_equal(gated.blocked_in_a_row, alone.blocked_in_a_row);
  assert_int_equal(gated.blocked_today, alone.blocked_today);
  assert_int_equal(gated.suspensions, alone.suspensions);
  assert_memory_equal(&id_gated, &id_alone, sizeof id_alone);
  /* either half alone */
  hg_user_standing only;
  hg_user_identity only_id;
  assert_int_equal(hg_store_user_gate(s, user, now, &only, NULL, &err), HG_OK);
  assert_memory_equal(&only, &gated, sizeof only);
  assert_int_equal(hg_store_user_gate(s, user, now, NULL, &only_id, &err), HG_OK);
  assert_memory_equal(&only_id, &id_gated, sizeof only_id);
}

static void gate_equals_separate_calls(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  hg_error err;
  hg_error_clear(&err);

  /* sam: verified, two blocked inputs today, suspended for a day */
  hg_user_identity sam = identity_of(HG_REALNAME_VERIFIED, NOW - 3000 * DAY_MS, 0, sealed_a, "");
  put_ok(s, "sam", &sam, NOW - 10 * DAY_MS);
  assert_int_equal(hg_store_strike_record(s, "sam", 1, 11, NOW + 1000, NULL, &err), HG_OK);
  assert_int_equal(hg_store_strike_record(s, "sam", 1, 12, NOW + 2000, NULL, &err), HG_OK);
  assert_int_equal(
      hg_store_user_set_standing(s, "sam", HG_STANDING_SUSPENDED, NOW + DAY_MS, "two blocked", NOW + 3000, &err),
      HG_OK);
  assert_int_equal(hg_store_strike_record(s, "sam", 1, 13, NOW + 4000, NULL, &err), HG_OK);
  /* mia: a minor with a pending identity and nothing else */
  hg_user_identity mia = identity_of(HG_REALNAME_PENDING, NOW + 900 * DAY_MS, 1, "", "waiting for the provider");
  put_ok(s, "mia", &mia, NOW);

  hg_user_standing g;
  hg_user_identity id;
  assert_int_equal(hg_store_user_gate(s, "sam", NOW + 5000, &g, &id, &err), HG_OK);
  assert_int_equal(g.standing, HG_STANDING_SUSPENDED);
  assert_int_equal(g.until_ms, NOW + DAY_MS);
  assert_int_equal(g.blocked_in_a_row, 1);
  assert_int_equal(g.blocked_today, 3);
  assert_int_equal(g.suspensions, 1);
  assert_int_equal(id.status, HG_REALNAME_VERIFIED);
  assert_string_equal(id.sealed, sealed_a);
  assert_int_equal(hg_store_user_gate(s, "sam", NOW + DAY_MS, &g, NULL, &err), HG_OK);
  assert_int_equal(g.standing, HG_STANDING_ACTIVE); /* the suspension is over */
  assert_int_equal(g.blocked_today, 0);             /* the next UTC day */

  const char *users[] = {"sam", "mia", "nobody"};
  const int64_t times[] = {NOW, NOW + 5000, NOW + DAY_MS - 1, NOW + DAY_MS, NOW + 30 * DAY_MS, 0};
  for (size_t u = 0; u < 3; u++)
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++)
      expect_gate_matches(s, users[u], times[i]);

  /* an unknown user is active and unverified, and is not created */
  assert_int_equal(hg_store_user_gate(s, "nobody", NOW, &g, &id, &err), HG_OK);
  assert_int_equal(g.standing, HG_STANDING_ACTIVE);
  expect_unverified(&id);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM users WHERE name = 'nobody'"), 0);

  /* bad arguments clear both outs */
  memset(&g, 0x5a, sizeof g);
  memset(&id, 0x5a, sizeof id);
  assert_int_equal(hg_store_user_gate(s, "sam", -1, &g, &id, &err), HG_ERR_INVALID);
  assert_int_equal(g.standing, HG_STANDING_ACTIVE);
  assert_int_equal(g.blocked_today, 0);
  expect_unverified(&id);
  assert_int_equal(hg_store_user_gate(s, "", NOW, &g, &id, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_user_gate(s, NULL, NOW, &g, &id, &err), HG_ERR_INVALID);

  /* a damaged status is an error, not a guess */
  hg_store_close(s);
  raw_sql(t.path, "UPDATE user_identity SET status = 'trusted' WHERE user_id = "
                  "(SELECT id FROM users WHERE name = 'mia')");
  s = open_ok(t.url);
  assert_int_equal(hg_store_user_gate(s, "mia", NOW, &g, &id, &err), HG_ERR_STORE);
  assert_non_null(strstr(err.message, "trusted"));
  expect_unverified(&id);
  assert_int_equal(hg_store_user_gate(s, "mia", NOW, &g, NULL, &err), HG_OK); /* the standing alone still reads */
  hg_store_close(s);
  tmp_remove(&t);
}

typedef struct user_seen {
  int n, stop_after;
  char name[8][32];
  hg_user_summary u[8];
} user_seen;

static int see_user(void *ctx, const hg_user_summary *u) {
  user_seen *w = ctx;
  if (w->n < 8) {
    snprintf(w->name[w->n], sizeof w->name[0], "%s", u->name);
    w->u[w->n] = *u;
  }
  w->n++;
  return w->stop_after && w->n >= w->stop_after;
}

static void user_list(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  hg_error err;
  hg_error_clear(&err);
  user_seen w = {0};
  assert_int_equal(hg_store_user_list(s, see_user, &w, &err), HG_OK);
  assert_int_equal(w.n, 0);

  /* made in this order (created_ms): ann (identity), bo (standing), then cy (keys, at the wall clock) */
  hg_user_identity ann = identity_of(HG_REALNAME_VERIFIED, NOW + 100 * DAY_MS, 1, sealed_a, "");
  put_ok(s, "ann", &ann, NOW - 2 * DAY_MS);
  assert_int_equal(
      hg_store_user_set_standing(s, "bo", HG_STANDING_SUSPENDED, NOW - DAY_MS + 1000, "spam", NOW - DAY_MS, &err),
      HG_OK);
  char key[HG_KEY_MAX];
  hg_key_info info;
  assert_int_equal(hg_store_key_create(s, "cy", HG_ROLE_USER, key, &err), HG_OK);
  assert_int_equal(hg_store_key_lookup(s, key, strlen(key), &info, &err), HG_OK);
  assert_int_equal(hg_store_key_create(s, "cy", HG_ROLE_ADMIN, key, &err), HG_OK);
  assert_int_equal(hg_store_key_create(s, "cy", HG_ROLE_AUDITOR, key, &err), HG_OK);
  assert_int_equal(hg_store_key_revoke(s, info.key_id, &err), HG_OK);
  hg_user_identity cy = identity_of(HG_REALNAME_REJECTED, 0, 0, "", "");
  put_ok(s, "cy", &cy, NOW);

  assert_int_equal(hg_store_user_list(s, see_user, &w, &err), HG_OK);
  assert_int_equal(w.n, 3);
  assert_string_equal(w.name[0], "ann");
  assert_int_equal(w.u[0].created_ms, NOW - 2 * DAY_MS);
  assert_int_equal(w.u[0].realname, HG_REALNAME_VERIFIED);
  assert_int_equal(w.u[0].minor, 1);
  assert_int_equal(w.u[0].adult_from_ms, NOW + 100 * DAY_MS);
  assert_int_equal(w.u[0].standing, HG_STANDING_ACTIVE);
  assert_int_equal(w.u[0].keys, 0);
  assert_string_equal(w.name[1], "bo");
  assert_int_equal(w.u[1].created_ms, NOW - DAY_MS);
  assert_int_equal(w.u[1].realname, HG_REALNAME_UNVERIFIED);
  assert_int_equal(w.u[1].minor, 0);
  assert_int_equal(w.u[1].adult_from_ms, 0);
  assert_int_equal(w.u[1].standing, HG_STANDING_SUSPENDED); /* as stored: its end has passed, still suspended */
  assert_string_equal(w.name[2], "cy");
  assert_true(w.u[2].created_ms > NOW);
  assert_int_equal(w.u[2].realname, HG_REALNAME_REJECTED);
  assert_int_equal(w.u[2].keys, 2); /* not revoked */

  /* fn stops the walk */
  user_seen first = {.stop_after = 1};
  assert_int_equal(hg_store_user_list(s, see_user, &first, &err), HG_OK);
  assert_int_equal(first.n, 1);
  assert_string_equal(first.name[0], "ann");
  assert_int_equal(hg_store_user_list(s, NULL, &first, &err), HG_ERR_INVALID);

  /* a damaged standing is reported with the user's name */
  hg_store_close(s);
  raw_sql(t.path, "UPDATE user_standing SET standing = 'banished'");
  s = open_ok(t.url);
  user_seen again = {0};
  assert_int_equal(hg_store_user_list(s, see_user, &again, &err), HG_ERR_STORE);
  assert_non_null(strstr(err.message, "'bo'"));
  hg_store_close(s);
  tmp_remove(&t);
}

typedef struct keys_seen {
  int n, stop_after;
  hg_key_info k[8];
} keys_seen;

static int see_key(void *ctx, const hg_key_info *k) {
  keys_seen *w = ctx;
  if (w->n < 8) w->k[w->n] = *k;
  w->n++;
  return w->stop_after && w->n >= w->stop_after;
}

static void key_expiry(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  hg_error err;
  hg_error_clear(&err);
  char k1[HG_KEY_MAX], k2[HG_KEY_MAX], k3[HG_KEY_MAX];
  int64_t before = wall_ms();
  assert_int_equal(hg_store_key_create_ex(s, "ed", HG_ROLE_REVIEWER, NOW + 30 * DAY_MS, k1, &err), HG_OK);
  assert_int_equal(hg_store_key_create(s, "ed", HG_ROLE_USER, k2, &err), HG_OK);
  assert_int_equal(hg_store_key_create_ex(s, "flo", HG_ROLE_USER, 1, k3, &err), HG_OK); /* past: kept as given */
  int64_t after = wall_ms();

  hg_key_info a, b, c;
  assert_int_equal(hg_store_key_lookup(s, k1, strlen(k1), &a, &err), HG_OK);
  assert_string_equal(a.user, "ed");
  assert_int_equal(a.role, HG_ROLE_REVIEWER);
  assert_int_equal(a.expires_ms, NOW + 30 * DAY_MS);
  assert_true(a.created_ms >= before && a.created_ms <= after);
  assert_int_equal(hg_store_key_lookup(s, k2, strlen(k2), &b, &err), HG_OK);
  assert_int_equal(b.expires_ms, 0);
  assert_true(b.created_ms >= a.created_ms && b.created_ms <= after);
  /* the store does not refuse an expired key: the caller compares with its clock */
  assert_int_equal(hg_store_key_lookup(s, k3, strlen(k3), &c, &err), HG_OK);
  assert_int_equal(c.expires_ms, 1);
  assert_int_equal(c.revoked, 0);
  assert_int_equal(raw_int(t.path, "SELECT expires_ms FROM api_keys WHERE id = 1"), NOW + 30 * DAY_MS);

  char k4[HG_KEY_MAX] = "untouched";
  assert_int_equal(hg_store_key_create_ex(s, "ed", HG_ROLE_USER, -1, k4, &err), HG_ERR_INVALID);
  assert_non_null(strstr(err.message, "expires_ms"));
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM api_keys"), 3);
  hg_store_close(s);
  tmp_remove(&t);
}

static void key_list(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  hg_error err;
  hg_error_clear(&err);
  keys_seen w = {0};
  assert_int_equal(hg_store_key_list(s, NULL, see_key, &w, &err), HG_OK);
  assert_int_equal(w.n, 0);

  char key[HG_KEY_MAX];
  assert_int_equal(hg_store_key_create_ex(s, "gus", HG_ROLE_ADMIN, NOW + DAY_MS, key, &err), HG_OK);
  assert_int_equal(hg_store_key_create(s, "hal", HG_ROLE_USER, key, &err), HG_OK);
  assert_int_equal(hg_store_key_create_ex(s, "gus", HG_ROLE_AUDITOR, NOW + 2 * DAY_MS, key, &err), HG_OK);
  assert_int_equal(hg_store_key_revoke(s, 1, &err), HG_OK);

  /* all users, oldest first */
  assert_int_equal(hg_store_key_list(s, NULL, see_key, &w, &err), HG_OK);
  assert_int_equal(w.n, 3);
  assert_int_equal(w.k[0].key_id, 1);
  assert_string_equal(w.k[0].user, "gus");
  assert_int_equal(w.k[0].role, HG_ROLE_ADMIN);
  assert_int_equal(w.k[0].revoked, 1);
  assert_int_equal(w.k[0].expires_ms, NOW + DAY_MS);
  assert_int_equal(w.k[1].key_id, 2);
  assert_string_equal(w.k[1].user, "hal");
  assert_int_equal(w.k[1].expires_ms, 0);
  assert_int_equal(w.k[1].revoked, 0);
  assert_int_equal(w.k[2].key_id, 3);
  assert_int_equal(w.k[2].role, HG_ROLE_AUDITOR);
  assert_int_equal(w.k[2].expires_ms, NOW + 2 * DAY_MS);
  assert_true(w.k[0].created_ms > 0 && w.k[0].created_ms <= w.k[1].created_ms &&
              w.k[1].created_ms <= w.k[2].created_ms);

  /* one user */
  keys_seen g = {0};
  assert_int_equal(hg_store_key_list(s, "gus", see_key, &g, &err), HG_OK);
  assert_int_equal(g.n, 2);
  assert_int_equal(g.k[0].key_id, 1);
  assert_int_equal(g.k[1].key_id, 3);
  assert_string_equal(g.k[1].user, "gus");

  /* a user without keys, an unknown user, a bad name */
  assert_int_equal(hg_store_user_set_standing(s, "ivy", HG_STANDING_TERMINATED, 0, "fraud", NOW, &err), HG_OK);
  keys_seen none = {0};
  assert_int_equal(hg_store_key_list(s, "ivy", see_key, &none, &err), HG_OK);
  assert_int_equal(none.n, 0);
  assert_int_equal(hg_store_key_list(s, "nobody", see_key, &none, &err), HG_ERR_NOT_FOUND);
  assert_non_null(strstr(err.message, "nobody"));
  assert_int_equal(none.n, 0);
  assert_int_equal(hg_store_key_list(s, "a\nb", see_key, &none, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_key_list(s, "gus", NULL, &none, &err), HG_ERR_INVALID);

  /* fn stops the walk */
  keys_seen first = {.stop_after = 1};
  assert_int_equal(hg_store_key_list(s, NULL, see_key, &first, &err), HG_OK);
  assert_int_equal(first.n, 1);
  hg_store_close(s);
  tmp_remove(&t);
}

static hg_usage touch_ok(hg_store *s, const char *user, int64_t day, int64_t now, int reminded) {
  hg_usage u;
  hg_error err;
  hg_error_clear(&err);
  memset(&u, 0x5a, sizeof u);
  if (hg_store_usage_touch(s, user, day, now, GAP, reminded, &u, &err)) fail_msg("touch: %s", err.message);
  return u;
}

static hg_usage usage_ok(hg_store *s, const char *user, int64_t day, int64_t now) {
  hg_usage u;
  hg_error err;
  hg_error_clear(&err);
  memset(&u, 0x5a, sizeof u);
  if (hg_store_usage_get(s, user, day, now, GAP, &u, &err)) fail_msg("usage get: %s", err.message);
  return u;
}

static void expect_usage(hg_usage u, int64_t day, int64_t requests, int64_t active_ms, int64_t session_start_ms,
                         int64_t last_ms, int64_t reminded_ms) {
  assert_int_equal(u.day, day);
  assert_int_equal(u.requests, requests);
  assert_int_equal(u.active_ms, active_ms);
  assert_int_equal(u.session_start_ms, session_start_ms);
  assert_int_equal(u.last_ms, last_ms);
  assert_int_equal(u.reminded_ms, reminded_ms);
}

static void usage_arithmetic(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  const int64_t d = 19783, t0 = NOW + 8 * 60 * MIN_MS; /* 08:00 on day d */

  /* never counted: zeros, the day asked for, and no user made */
  expect_usage(usage_ok(s, "kim", d, t0), d, 0, 0, 0, 0, 0);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM users"), 0);

  /* one run: active time is the sum of the pauses */
  expect_usage(touch_ok(s, "kim", d, t0, 0), d, 1, 0, t0, t0, 0);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM users WHERE name = 'kim'"), 1);
  expect_usage(touch_ok(s, "kim", d, t0 + 10 * MIN_MS, 0), d, 2, 10 * MIN_MS, t0, t0 + 10 * MIN_MS, 0);
  expect_usage(touch_ok(s, "kim", d, t0 + 25 * MIN_MS, 1), d, 3, 25 * MIN_MS, t0, t0 + 25 * MIN_MS, t0 + 25 * MIN_MS);
  /* a pause of exactly gap_ms still belongs to the run */
  int64_t t1 = t0 + 25 * MIN_MS + GAP;
  expect_usage(touch_ok(s, "kim", d, t1, 0), d, 4, 25 * MIN_MS + GAP, t0, t1, t0 + 25 * MIN_MS);

  /* get: within the gap the run goes on; past it the run is over; counts stay; nothing written */
  expect_usage(usage_ok(s, "kim", d, t1 + GAP), d, 4, 25 * MIN_MS + GAP, t0, t1, t0 + 25 * MIN_MS);
  expect_usage(usage_ok(s, "kim", d, t1 + GAP + 1), d, 4, 25 * MIN_MS + GAP, 0, t1, 0);
  expect_usage(usage_ok(s, "kim", d + 1, t1 + 1), d + 1, 0, 0, t0, t1, t0 + 25 * MIN_MS); /* another day's counts */
  assert_int_equal(raw_int(t.path, "SELECT requests FROM user_usage"), 4);
  assert_int_equal(raw_int(t.path, "SELECT session_start_ms FROM user_usage"), t0);
  assert_int_equal(raw_int(t.path, "SELECT reminded_ms FROM user_usage"), t0 + 25 * MIN_MS);
  assert_int_equal(raw_int(t.path, "SELECT day FROM user_usage"), d);

  /* a gap breaks the run: no time added, a new run, the reminder forgotten */
  int64_t t2 = t1 + GAP + 1;
  expect_usage(touch_ok(s, "kim", d, t2, 0), d, 5, 25 * MIN_MS + GAP, t2, t2, 0);
  /* a reminder given on the request that starts a run is kept */
  int64_t t3 = t2 + 2 * GAP;
  expect_usage(touch_ok(s, "kim", d, t3, 1), d, 6, 25 * MIN_MS + GAP, t3, t3, t3);
  expect_usage(touch_ok(s, "kim", d, t3 + MIN_MS, 0), d, 7, 25 * MIN_MS + GAP + MIN_MS, t3, t3 + MIN_MS, t3);

  /* a new day resets the counts; a run across midnight goes on (the reminder too) but adds no time to the new day */
  int64_t t4 = t3 + 2 * MIN_MS;
  expect_usage(touch_ok(s, "kim", d + 1, t4, 0), d + 1, 1, 0, t3, t4, t3);
  expect_usage(touch_ok(s, "kim", d + 1, t4 + 5 * MIN_MS, 0), d + 1, 2, 5 * MIN_MS, t3, t4 + 5 * MIN_MS, t3);
  expect_usage(usage_ok(s, "kim", d, t4 + 6 * MIN_MS), d, 0, 0, t3, t4 + 5 * MIN_MS, t3);

  /* a request stamped before the last one (another gateway's clock): counted, no time, last_ms stays */
  expect_usage(touch_ok(s, "kim", d + 1, t4 + 4 * MIN_MS, 0), d + 1, 3, 5 * MIN_MS, t3, t4 + 5 * MIN_MS, t3);

  /* users are counted apart; after may be NULL */
  hg_error err;
  hg_error_clear(&err);
  assert_int_equal(hg_store_usage_touch(s, "lee", d, t0, GAP, 0, NULL, &err), HG_OK);
  expect_usage(usage_ok(s, "lee", d, t0), d, 1, 0, t0, t0, 0);
  expect_usage(usage_ok(s, "kim", d + 1, t4 + 5 * MIN_MS), d + 1, 3, 5 * MIN_MS, t3, t4 + 5 * MIN_MS, t3);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM user_usage"), 2);

  /* gap_ms 0: every request starts its own run (but one at the same millisecond) */
  expect_usage(touch_ok(s, "max", d, t0, 0), d, 1, 0, t0, t0, 0);
  hg_usage u;
  assert_int_equal(hg_store_usage_touch(s, "max", d, t0 + 1, 0, 0, &u, &err), HG_OK);
  expect_usage(u, d, 2, 0, t0 + 1, t0 + 1, 0);

  /* bad arguments, nothing counted */
  assert_int_equal(hg_store_usage_touch(s, "kim", -1, t4, GAP, 0, &u, &err), HG_ERR_INVALID);
  assert_non_null(strstr(err.message, "day"));
  assert_int_equal(hg_store_usage_touch(s, "kim", d, -1, GAP, 0, &u, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_usage_touch(s, "kim", d, t4, -1, 0, &u, &err), HG_ERR_INVALID);
  assert_non_null(strstr(err.message, "gap_ms"));
  assert_int_equal(hg_store_usage_touch(s, "", d, t4, GAP, 0, &u, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_usage_get(s, "kim", d, t4, -1, &u, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_usage_get(s, "kim", d, t4, GAP, NULL, &err), HG_ERR_INVALID);
  assert_int_equal(raw_int(t.path, "SELECT requests FROM user_usage WHERE user_id = "
                                   "(SELECT id FROM users WHERE name = 'kim')"),
                   3);
  hg_store_close(s);
  tmp_remove(&t);
}

typedef struct last_record {
  int64_t seq;
  char actor[64], detail[600];
} last_record;

static int remember_last(void *ctx, const hg_audit_record *r) {
  last_record *w = ctx;
  w->seq = r->seq;
  snprintf(w->actor, sizeof w->actor, "%s", r->actor);
  snprintf(w->detail, sizeof w->detail, "%s", r->detail_json ? r->detail_json : "");
  return 0;
}

static void purge_deletes_idle_usage(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  hg_error err;
  hg_error_clear(&err);
  touch_ok(s, "old", 1, NOW - 3 * DAY_MS, 0);
  touch_ok(s, "edge", 1, NOW - 2 * DAY_MS - 1, 0); /* idle 1 ms longer than the retention */
  touch_ok(s, "exact", 1, NOW - 2 * DAY_MS, 0);    /* idle exactly the retention: kept */
  touch_ok(s, "recent", 2, NOW - DAY_MS, 0);
  hg_purge_counts pc;
  assert_int_equal(hg_store_purge(s, NOW, 0, 0, &pc, &err), HG_OK);
  assert_int_equal(pc.usage_deleted, 2);
  assert_int_equal(pc.strikes_deleted, 0);
  assert_int_equal(pc.receipt_seq, 1);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM user_usage"), 2);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM user_usage u JOIN users n ON n.id = u.user_id "
                                   "WHERE n.name IN ('exact', 'recent')"),
                   2);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM users"), 4); /* the users stay */
  last_record w = {0};
  assert_int_equal(hg_store_audit_each(s, 1, remember_last, &w, &err), HG_OK);
  assert_string_equal(w.actor, "system:purge");
  assert_non_null(strstr(w.detail, "\"usage_deleted\":2"));

  /* the idle user reads zeros again, and nothing more goes */
  expect_usage(usage_ok(s, "old", 1, NOW), 1, 0, 0, 0, 0, 0);
  assert_int_equal(hg_store_purge(s, NOW, 0, 0, &pc, &err), HG_OK);
  assert_int_equal(pc.usage_deleted, 0);
  assert_int_equal(pc.receipt_seq, 2);
  hg_store_close(s);
  tmp_remove(&t);
}

static char *export_of(hg_store *s, const char *user, const char *pseudonym) {
  FILE *f = tmpfile();
  assert_non_null(f);
  hg_error err;
  if (hg_store_dsar_export(s, user, pseudonym, f, &err)) fail_msg("export: %s", err.message);
  long len = ftell(f);
  assert_true(len > 0);
  rewind(f);
  char *buf = malloc((size_t)len + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
  buf[len] = 0;
  fclose(f);
  return buf;
}

static void dsar_identity_and_usage(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  hg_error err;
  hg_error_clear(&err);
  char key[HG_KEY_MAX];
  assert_int_equal(hg_store_key_create_ex(s, "alice", HG_ROLE_USER, NOW + 9 * DAY_MS, key, &err), HG_OK);
  hg_user_identity id = identity_of(HG_REALNAME_VERIFIED, NOW + 5 * DAY_MS, 1, sealed_a, "guardian \"consent\"");
  put_ok(s, "alice", &id, NOW - 1000);
  touch_ok(s, "alice", 7, NOW - 500, 1);
  hg_user_identity bob = identity_of(HG_REALNAME_PENDING, 0, 0, "Ym9i", "");
  put_ok(s, "bob", &bob, NOW);
  touch_ok(s, "bob", 7, NOW, 0);

  char *e = export_of(s, "alice", alice_p);
  char want[600];
  snprintf(want, sizeof want,
           "\"identity\": {\"status\": \"verified\", \"updated_ms\": %" PRId64 ", \"adult_from_ms\": %" PRId64
           ", \"minor\": true, \"note\": \"guardian \\\"consent\\\"\", \"sealed\": \"%s\"}",
           NOW - 1000, NOW + 5 * DAY_MS, sealed_a);
  if (!strstr(e, want)) fail_msg("export lacks %s:\n%s", want, e);
  snprintf(want, sizeof want,
           "\"usage\": {\"day\": 7, \"requests\": 1, \"active_ms\": 0, \"session_start_ms\": %" PRId64
           ", \"last_ms\": %" PRId64 ", \"reminded_ms\": %" PRId64 "}",
           NOW - 500, NOW - 500, NOW - 500);
  if (!strstr(e, want)) fail_msg("export lacks %s:\n%s", want, e);
  snprintf(want, sizeof want, "\"expires_ms\": %" PRId64 ", \"revoked\": false}", NOW + 9 * DAY_MS);
  if (!strstr(e, want)) fail_msg("export lacks %s:\n%s", want, e);
  assert_null(strstr(e, "Ym9i")); /* not bob's */
  free(e);

  /* a user without either row: null */
  e = export_of(s, "carol", "00000000000000000000000000000000");
  assert_non_null(strstr(e, "\"identity\": null"));
  assert_non_null(strstr(e, "\"usage\": null"));
  free(e);

  hg_audit_record receipt;
  assert_int_equal(hg_store_dsar_delete(s, "alice", alice_p, NOW, &receipt, &err), HG_OK);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM user_identity"), 1); /* bob's */
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM user_usage"), 1);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM user_identity WHERE sealed = 'Ym9i'"), 1);
  last_record w = {0};
  assert_int_equal(hg_store_audit_each(s, 1, remember_last, &w, &err), HG_OK);
  assert_int_equal(w.seq, receipt.seq);
  assert_non_null(strstr(w.detail, "\"users\":1,\"keys\":1,\"identity\":1,\"usage\":1,"));

  e = export_of(s, "alice", alice_p);
  assert_non_null(strstr(e, "\"user_row\": null"));
  assert_non_null(strstr(e, "\"identity\": null"));
  assert_non_null(strstr(e, "\"usage\": null"));
  assert_null(strstr(e, sealed_a));
  free(e);
  hg_user_identity gone = get_ok(s, "alice");
  expect_unverified(&gone);
  expect_usage(usage_ok(s, "alice", 7, NOW), 7, 0, 0, 0, 0, 0);

  /* a second request finds nothing more */
  assert_int_equal(hg_store_dsar_delete(s, "alice", alice_p, NOW + 1, NULL, &err), HG_OK);
  assert_int_equal(hg_store_audit_each(s, 1, remember_last, &w, &err), HG_OK);
  assert_non_null(strstr(w.detail, "\"users\":0,\"keys\":0,\"identity\":0,\"usage\":0,"));
  hg_store_close(s);
  tmp_remove(&t);
}

/* Migrations 1 to 3 exactly as shipped: a database written by the hegui before migration 4. */
static const char schema_3[] =
    "CREATE TABLE users (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  name TEXT NOT NULL UNIQUE,\n"
    "  created_ms INTEGER NOT NULL);\n"
    "CREATE TABLE api_keys (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  user_id INTEGER NOT NULL REFERENCES users(id),\n"
    "  role TEXT NOT NULL,\n"
    "  key_hash TEXT NOT NULL UNIQUE,\n"
    "  created_ms INTEGER NOT NULL,\n"
    "  revoked INTEGER NOT NULL DEFAULT 0);\n"
    "CREATE TABLE audit (\n"
    "  seq INTEGER PRIMARY KEY,\n"
    "  time_ms INTEGER NOT NULL,\n"
    "  actor TEXT NOT NULL,\n"
    "  route TEXT NOT NULL,\n"
    "  verdict TEXT NOT NULL,\n"
    "  detail_json TEXT,\n"
    "  input_sha256 TEXT,\n"
    "  output_sha256 TEXT,\n"
    "  text TEXT,\n"
    "  prev_hash TEXT NOT NULL,\n"
    "  hash TEXT NOT NULL);\n"
    "CREATE TABLE complaints (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  type TEXT NOT NULL,\n"
    "  status TEXT NOT NULL,\n"
    "  created_ms INTEGER NOT NULL,\n"
    "  due_ms INTEGER NOT NULL,\n"
    "  updated_ms INTEGER NOT NULL,\n"
    "  produce_id TEXT,\n"
    "  text TEXT,\n"
    "  contact TEXT,\n"
    "  resolution TEXT);\n"
    "CREATE INDEX complaints_status_due ON complaints (status, due_ms);\n"
    "CREATE INDEX complaints_created ON complaints (created_ms);\n"
    "CREATE TABLE takedowns (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  text TEXT NOT NULL,\n"
    "  complaint_id INTEGER REFERENCES complaints(id),\n"
    "  created_ms INTEGER NOT NULL,\n"
    "  expires_ms INTEGER NOT NULL);\n"
    "CREATE TABLE takedown_version (\n"
    "  id INTEGER PRIMARY KEY CHECK (id = 1),\n"
    "  version INTEGER NOT NULL);\n"
    "INSERT INTO takedown_version (id, version) VALUES (1, 0);\n"
    "CREATE TABLE user_standing (\n"
    "  user_id INTEGER PRIMARY KEY REFERENCES users(id),\n"
    "  standing TEXT NOT NULL,\n"
    "  until_ms INTEGER NOT NULL,\n"
    "  blocked_in_a_row INTEGER NOT NULL,\n"
    "  suspensions INTEGER NOT NULL,\n"
    "  updated_ms INTEGER NOT NULL);\n"
    "CREATE TABLE strikes (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  user_id INTEGER NOT NULL REFERENCES users(id),\n"
    "  time_ms INTEGER NOT NULL,\n"
    "  audit_seq INTEGER NOT NULL);\n"
    "CREATE INDEX strikes_user_time ON strikes (user_id, time_ms);\n"
    "CREATE TABLE standing_history (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  user_id INTEGER NOT NULL REFERENCES users(id),\n"
    "  time_ms INTEGER NOT NULL,\n"
    "  standing TEXT NOT NULL,\n"
    "  until_ms INTEGER NOT NULL,\n"
    "  reason TEXT NOT NULL);\n"
    "CREATE INDEX standing_history_user ON standing_history (user_id, time_ms);\n"
    "ALTER TABLE audit ADD COLUMN format INTEGER NOT NULL DEFAULT 1;\n"
    "ALTER TABLE audit ADD COLUMN text_sha256 TEXT;\n"
    "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL);\n"
    "INSERT INTO schema_version (version, applied_ms) VALUES (1, 1700000000000), (2, 1700000000001), "
    "(3, 1700000000002);\n";

static void migrates_schema_3(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  /* two keys written by schema 3 (one revoked), a standing, a strike */
  const char *keys[2] = {"hg-schema3-key-one", "hg-schema3-key-two"};
  char hash[2][65], sql[2000];
  for (int i = 0; i < 2; i++) {
    unsigned char d[32];
    crypto_hash_sha256(d, (const unsigned char *)keys[i], strlen(keys[i]));
    sodium_bin2hex(hash[i], sizeof hash[i], d, sizeof d);
  }
  raw_sql(t.path, "PRAGMA journal_mode=WAL");
  raw_sql(t.path, schema_3);
  snprintf(sql, sizeof sql,
           "INSERT INTO users (id, name, created_ms) VALUES (1, 'olga', 1700000000100), (2, 'pat', 1700000000200);"
           "INSERT INTO api_keys (user_id, role, key_hash, created_ms, revoked) VALUES "
           "(1, 'admin', '%s', 1700000000150, 0), (2, 'user', '%s', 1700000000250, 1);"
           "INSERT INTO user_standing VALUES (2, 'suspended', 0, 1, 1, 1700000000300);"
           "INSERT INTO strikes (user_id, time_ms, audit_seq) VALUES (2, 1700000000290, 1);",
           hash[0], hash[1]);
  raw_sql(t.path, sql);
  assert_int_equal(raw_int(t.path, "SELECT MAX(version) FROM schema_version"), 3);

  hg_store *s = open_ok(t.url);
  assert_int_equal(raw_int(t.path, "SELECT MAX(version) FROM schema_version"), 10);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM schema_version"), 10);
  /* migration 6: identities get an ID-number hash column, empty for rows from before */
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM pragma_table_info('user_identity') WHERE name = 'id_hash'"),
                   1);
  /* migration 5: a standing set before it says the ladder set it, as the message it was given did */
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM user_standing WHERE set_by = 'ladder'"), 1);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM api_keys WHERE expires_ms = 0"), 2);

  /* old keys work as before, never expire, and keep their creation time */
  hg_error err;
  hg_error_clear(&err);
  hg_key_info k;
  assert_int_equal(hg_store_key_lookup(s, keys[0], strlen(keys[0]), &k, &err), HG_OK);
  assert_int_equal(k.key_id, 1);
  assert_string_equal(k.user, "olga");
  assert_int_equal(k.role, HG_ROLE_ADMIN);
  assert_int_equal(k.revoked, 0);
  assert_int_equal(k.created_ms, 1700000000150);
  assert_int_equal(k.expires_ms, 0);
  assert_int_equal(hg_store_key_lookup(s, keys[1], strlen(keys[1]), &k, &err), HG_OK);
  assert_string_equal(k.user, "pat");
  assert_int_equal(k.revoked, 1);
  keys_seen w = {0};
  assert_int_equal(hg_store_key_list(s, NULL, see_key, &w, &err), HG_OK);
  assert_int_equal(w.n, 2);
  assert_int_equal(w.k[1].created_ms, 1700000000250);

  /* old users have no identity and no usage; the new tables take rows; standing reads as before */
  hg_user_identity id = get_ok(s, "olga");
  expect_unverified(&id);
  user_seen users = {0};
  assert_int_equal(hg_store_user_list(s, see_user, &users, &err), HG_OK);
  assert_int_equal(users.n, 2);
  assert_int_equal(users.u[0].keys, 1);
  assert_int_equal(users.u[1].keys, 0);
  assert_int_equal(users.u[1].standing, HG_STANDING_SUSPENDED);
  hg_user_standing st;
  assert_int_equal(hg_store_user_gate(s, "pat", 1700000000400, &st, &id, &err), HG_OK);
  assert_int_equal(st.standing, HG_STANDING_SUSPENDED);
  assert_int_equal(st.blocked_today, 1);
  hg_user_identity in = identity_of(HG_REALNAME_VERIFIED, 1, 0, sealed_a, "");
  put_ok(s, "olga", &in, NOW);
  assert_int_equal(get_ok(s, "olga").status, HG_REALNAME_VERIFIED);
  expect_usage(touch_ok(s, "olga", 3, NOW, 0), 3, 1, 0, NOW, NOW, 0);
  char key[HG_KEY_MAX];
  assert_int_equal(hg_store_key_create_ex(s, "olga", HG_ROLE_USER, NOW, key, &err), HG_OK);
  assert_int_equal(hg_store_key_lookup(s, key, strlen(key), &k, &err), HG_OK);
  assert_int_equal(k.key_id, 3);
  assert_int_equal(k.expires_ms, NOW);
  hg_store_close(s);

  /* a second open does not migrate again */
  s = open_ok(t.url);
  hg_store_close(s);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM schema_version"), 10);
  tmp_remove(&t);
}

/* One ID number on two accounts: found by its hash, never the user's own, nothing for an empty hash. */
static void same_id_number(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  hg_error err;
  hg_user_identity id;
  memset(&id, 0, sizeof id);
  id.status = HG_REALNAME_PENDING;
  snprintf(id.id_hash, sizeof id.id_hash, "%s", "ab12");
  assert_int_equal(hg_store_identity_put(s, "one", &id, 1000, &err), HG_OK);
  int64_t n = -1;
  assert_int_equal(hg_store_identity_same_id(s, "one", "ab12", &n, &err), HG_OK);
  assert_int_equal(n, 0); /* the user's own row does not count */
  assert_int_equal(hg_store_identity_put(s, "two", &id, 1000, &err), HG_OK);
  assert_int_equal(hg_store_identity_same_id(s, "one", "ab12", &n, &err), HG_OK);
  assert_int_equal(n, 1);
  assert_int_equal(hg_store_identity_same_id(s, "stranger", "ab12", &n, &err), HG_OK);
  assert_int_equal(n, 2); /* a user the store does not know: every row is another's */
  assert_int_equal(hg_store_identity_same_id(s, "one", "", &n, &err), HG_OK);
  assert_int_equal(n, 0);
  hg_user_identity back;
  assert_int_equal(hg_store_identity_get(s, "two", &back, &err), HG_OK);
  assert_string_equal(back.id_hash, "ab12");
  snprintf(id.id_hash, sizeof id.id_hash, "%s", "AB12"); /* lower-case hex only */
  assert_int_equal(hg_store_identity_put(s, "one", &id, 1000, &err), HG_ERR_INVALID);
  hg_store_close(s);
  tmp_remove(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(realname_names),
      cmocka_unit_test(put_if_compares),
      cmocka_unit_test(usage_reminded),
      cmocka_unit_test(identity_round_trip),
      cmocka_unit_test(unknown_user_reads_unverified),
      cmocka_unit_test(bad_identity_refused),
      cmocka_unit_test(gate_equals_separate_calls),
      cmocka_unit_test(user_list),
      cmocka_unit_test(key_expiry),
      cmocka_unit_test(key_list),
      cmocka_unit_test(usage_arithmetic),
      cmocka_unit_test(purge_deletes_idle_usage),
      cmocka_unit_test(dsar_identity_and_usage),
      cmocka_unit_test(migrates_schema_3),
      cmocka_unit_test(same_id_number),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
