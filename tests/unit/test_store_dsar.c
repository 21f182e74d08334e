/* test_store_dsar.c — data-subject requests and retention against a real SQLite file: an export holds the user's
 * rows and the pseudonym's records and nobody else's; after a deletion no table names the user, the pseudonym's
 * records keep their digest but lose their text, the chain holds and the receipt is its last record; purge erases
 * old text only and expired takedowns and old strikes; a chain of format-1 records written before format 2 still
 * verifies beside new records. Raw reads and writes go through a second sqlite3 connection. */
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
#include <unistd.h>

#include "hegui/store.h"

#define DAY_MS INT64_C(86400000)
#define NOW (INT64_C(1750000000000))

/* Two pseudonyms as the gateway makes them (32 hex); the values only have to be distinct. */
static const char alice_p[] = "0123456789abcdef0123456789abcdef";
static const char bob_p[] = "fedcba9876543210fedcba9876543210";

#include "store_test_util.h"

static void tmp_init(tmp_store *t) { tmp_init_named(t, "dsar"); }

static int64_t cells_containing(const char *path, const char *needle) {
  sqlite3 *db;
  sqlite3_stmt *tables, *rows;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table'", -1, &tables, NULL),
                   SQLITE_OK);
  int64_t found = 0;
  while (sqlite3_step(tables) == SQLITE_ROW) {
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT * FROM \"%s\"", (const char *)sqlite3_column_text(tables, 0));
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &rows, NULL), SQLITE_OK);
    while (sqlite3_step(rows) == SQLITE_ROW)
      for (int c = 0; c < sqlite3_column_count(rows); c++) {
        const char *v = (const char *)sqlite3_column_text(rows, c);
        if (v && strstr(v, needle)) found++;
      }
    sqlite3_finalize(rows);
  }
  sqlite3_finalize(tables);
  sqlite3_close(db);
  return found;
}

static int64_t append(hg_store *s, const char *actor, int64_t time_ms, const char *text, const char *detail) {
  hg_audit_record r = {.time_ms = time_ms, .actor = actor, .route = "/v1/chat/completions", .verdict = "allow"};
  r.text = text;
  r.detail_json = detail;
  hg_error err;
  if (hg_store_audit_append(s, &r, &err)) fail_msg("append: %s", err.message);
  return r.seq;
}

static void expect_holds(hg_store *s, int64_t records) {
  hg_audit_check c;
  hg_error err;
  assert_int_equal(hg_store_audit_verify(s, &c, &err), HG_OK);
  if (c.first_bad) fail_msg("chain broken at %" PRId64 ": %s", c.first_bad, c.problem);
  assert_int_equal(c.records, records);
}

/* Where needle starts in hay, -1 when it is not there (an offset, not a pointer: gcc -O2 misreads cmocka's
 * assertions as paths that use a pointer into freed memory). */
static long offset_of(const char *hay, const char *needle) {
  const char *at = strstr(hay, needle);
  return at ? (long)(at - hay) : -1;
}

/* The export as a string (caller frees). */
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

/* alice: two keys (one revoked), two strikes, a suspension and a lift, three records with text; bob: one key, one
 * strike, two records. */
static void populate(hg_store *s, char alice_key_hash[2][65]) {
  char key[HG_KEY_MAX];
  hg_error err;
  assert_int_equal(hg_store_key_create(s, "alice", HG_ROLE_USER, key, &err), HG_OK);
  unsigned char d[32];
  crypto_hash_sha256(d, (const unsigned char *)key, strlen(key));
  sodium_bin2hex(alice_key_hash[0], 65, d, sizeof d);
  hg_key_info info;
  assert_int_equal(hg_store_key_lookup(s, key, strlen(key), &info, &err), HG_OK);
  assert_int_equal(hg_store_key_create(s, "alice", HG_ROLE_REVIEWER, key, &err), HG_OK);
  crypto_hash_sha256(d, (const unsigned char *)key, strlen(key));
  sodium_bin2hex(alice_key_hash[1], 65, d, sizeof d);
  assert_int_equal(hg_store_key_revoke(s, info.key_id, &err), HG_OK);
  assert_int_equal(hg_store_key_create(s, "bob", HG_ROLE_USER, key, &err), HG_OK);

  int64_t a1 = append(s, alice_p, NOW - 3000, "alice wrote: my secret plan", NULL);
  append(s, bob_p, NOW - 2900, "bob wrote: hello", NULL);
  int64_t a2 = append(s, alice_p, NOW - 2800, "alice again", "{\"hits\":[]}");
  append(s, bob_p, NOW - 2700, NULL, NULL);
  append(s, alice_p, NOW - 2600, "third from alice", NULL);
  assert_int_equal(hg_store_strike_record(s, "alice", 1, a1, NOW - 2000, NULL, &err), HG_OK);
  assert_int_equal(hg_store_strike_record(s, "alice", 1, a2, NOW - 1900, NULL, &err), HG_OK);
  assert_int_equal(hg_store_strike_record(s, "bob", 1, 2, NOW - 1800, NULL, &err), HG_OK);
  assert_int_equal(hg_store_user_set_standing(s, "alice", HG_STANDING_SUSPENDED, NOW + DAY_MS, "two blocked inputs",
                                              NOW - 1500, &err),
                   HG_OK);
  assert_int_equal(hg_store_user_set_standing(s, "alice", HG_STANDING_ACTIVE, 0, "appeal upheld", NOW - 1000, &err),
                   HG_OK);
}

static void export_is_the_users(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  char hashes[2][65];
  populate(s, hashes);
  char *e = export_of(s, "alice", alice_p);
  /* the user's rows */
  assert_non_null(strstr(e, "\"user_row\": {\"id\": 1, \"name\": \"alice\""));
  assert_non_null(strstr(e, "{\"id\": 1, \"role\": \"user\""));
  assert_non_null(strstr(e, "\"revoked\": true"));
  assert_non_null(strstr(e, "{\"id\": 2, \"role\": \"reviewer\""));
  assert_non_null(strstr(e, "\"standing\": {\"standing\": \"active\""));
  assert_non_null(strstr(e, "\"reason\": \"two blocked inputs\""));
  assert_non_null(strstr(e, "\"reason\": \"appeal upheld\""));
  assert_non_null(strstr(e, "{\"time_ms\": 1749999998000, \"audit_seq\": 1}"));
  assert_non_null(strstr(e, "{\"time_ms\": 1749999998100, \"audit_seq\": 3}"));
  /* the pseudonym's records with every field */
  assert_non_null(strstr(e, "alice wrote: my secret plan"));
  assert_non_null(strstr(e, "alice again"));
  assert_non_null(strstr(e, "third from alice"));
  assert_non_null(strstr(e, "\"detail_json\": \"{\\\"hits\\\":[]}\""));
  assert_non_null(strstr(e, "\"text_sha256\": \""));
  assert_non_null(strstr(e, "\"prev_hash\": \""));
  /* and nothing else */
  assert_null(strstr(e, "bob"));
  assert_null(strstr(e, bob_p));
  assert_null(strstr(e, "\"audit_seq\": 2}"));
  assert_null(strstr(e, hashes[0]));
  assert_null(strstr(e, hashes[1]));
  assert_non_null(strstr(e, "\"audit_naming_user\": []"));
  free(e);

  /* a user the store does not know: a null row, still the pseudonym's records (none here) */
  e = export_of(s, "carol", "00000000000000000000000000000000");
  assert_non_null(strstr(e, "\"user_row\": null"));
  assert_non_null(strstr(e, "\"standing\": null"));
  assert_non_null(strstr(e, "\"audit\": []"));
  free(e);

  hg_error err;
  FILE *f = fopen("/dev/null", "w");
  assert_int_equal(hg_store_dsar_export(s, "alice", "admin:alice", f, &err), HG_ERR_INVALID);
  assert_non_null(strstr(err.message, "pseudonym"));
  assert_int_equal(hg_store_dsar_export(s, "", alice_p, f, &err), HG_ERR_INVALID);
  fclose(f);
  hg_store_close(s);
  tmp_remove(&t);
}

typedef struct last_walk {
  int64_t seq;
  char actor[64], detail[600];
} last_walk;

static int remember_last(void *ctx, const hg_audit_record *r) {
  last_walk *w = ctx;
  w->seq = r->seq;
  snprintf(w->actor, sizeof w->actor, "%s", r->actor);
  snprintf(w->detail, sizeof w->detail, "%s", r->detail_json ? r->detail_json : "");
  return 0;
}

static void delete_leaves_nothing_naming_the_user(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  char hashes[2][65];
  populate(s, hashes);
  assert_true(cells_containing(t.path, "alice") > 0);

  hg_audit_record receipt;
  hg_error err;
  assert_int_equal(hg_store_dsar_delete(s, "alice", alice_p, NOW, &receipt, &err), HG_OK);
  assert_int_equal(receipt.seq, 6);
  assert_int_equal(strlen(receipt.hash), 64);

  /* nothing in any table names alice or holds her keys */
  assert_int_equal(cells_containing(t.path, "alice"), 0);
  assert_int_equal(cells_containing(t.path, hashes[0]), 0);
  assert_int_equal(cells_containing(t.path, hashes[1]), 0);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM api_keys WHERE id IN (1, 2)"), 0);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM users"), 1);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM strikes"), 1); /* bob's */
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM standing_history"), 0);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM user_standing"), 1);
  /* her records stay, text erased, digest kept */
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM audit WHERE actor = '"
                                   "0123456789abcdef0123456789abcdef"
                                   "' AND text IS NULL AND text_sha256 IS NOT NULL"),
                   3);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM audit WHERE text = 'bob wrote: hello'"), 1);
  expect_holds(s, 6);

  /* the receipt is the last record, names the pseudonym and counts, never the name */
  last_walk w = {0};
  assert_int_equal(hg_store_audit_each(s, 1, remember_last, &w, &err), HG_OK);
  assert_int_equal(w.seq, 6);
  assert_string_equal(w.actor, "system:dsar");
  assert_non_null(strstr(w.detail, alice_p));
  assert_non_null(strstr(w.detail, "\"keys\":2"));
  assert_non_null(strstr(w.detail, "\"strikes\":2"));
  assert_non_null(strstr(w.detail, "\"standing_history\":2"));
  assert_non_null(strstr(w.detail, "\"audit_text_erased\":3"));
  assert_non_null(strstr(w.detail, "\"audit_text_kept_v1\":0"));
  assert_null(strstr(w.detail, "alice"));
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM audit WHERE route = 'dsar/delete' AND verdict = 'deleted'"),
                   1);

  /* bob is untouched and the export of alice is empty but for the kept records */
  hg_user_standing us;
  assert_int_equal(hg_store_user_standing(s, "bob", NOW, &us, &err), HG_OK);
  char *e = export_of(s, "alice", alice_p);
  assert_non_null(strstr(e, "\"user_row\": null"));
  assert_non_null(strstr(e, "\"keys\": []"));
  assert_null(strstr(e, "secret plan"));
  free(e);

  /* a second request finds nothing more, and still leaves a receipt */
  assert_int_equal(hg_store_dsar_delete(s, "alice", alice_p, NOW + 1, &receipt, &err), HG_OK);
  assert_int_equal(receipt.seq, 7);
  expect_holds(s, 7);

  /* erased text changed back is found: the digest stays the judge */
  hg_store_close(s);
  raw_sql(t.path, "UPDATE audit SET text = 'forged' WHERE seq = 1");
  s = open_ok(t.url);
  hg_audit_check c;
  assert_int_equal(hg_store_audit_verify(s, &c, &err), HG_OK);
  assert_int_equal(c.first_bad, 1);
  assert_non_null(strstr(c.problem, "text_sha256"));
  hg_store_close(s);
  tmp_remove(&t);
}

static void records_naming_the_user_are_exported_and_counted(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  append(s, "system:strikes", NOW, NULL, "{\"blocked_in_a_row\":3,\"user\":\"dave\"}");
  append(s, "system:strikes", NOW, NULL, "{\"blocked_in_a_row\":3,\"user\":\"Dave\"}"); /* someone else */
  append(s, "system:strikes", NOW, NULL, "{\"blocked_in_a_row\":3,\"user\":\"dave2\"}");
  append(s, "admin:dave", NOW, NULL, "{\"id\":1}");
  char *e = export_of(s, "dave", alice_p);
  long naming = offset_of(e, "\"audit_naming_user\"");
  assert_true(naming > 0);
  assert_true(offset_of(e, "\\\"user\\\":\\\"dave\\\"") > naming);
  assert_true(offset_of(e, "\"actor\": \"admin:dave\"") > naming);
  assert_null(strstr(e, "Dave"));
  assert_null(strstr(e, "dave2"));
  free(e);
  hg_error err;
  assert_int_equal(hg_store_dsar_delete(s, "dave", alice_p, NOW, NULL, &err), HG_OK);
  last_walk w = {0};
  assert_int_equal(hg_store_audit_each(s, 1, remember_last, &w, &err), HG_OK);
  assert_non_null(strstr(w.detail, "\"audit_records_naming_user\":2"));
  expect_holds(s, 5);
  hg_store_close(s);
  tmp_remove(&t);
}

static void purge_erases_old_text_only(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  hg_error err;
  append(s, alice_p, NOW - 200 * DAY_MS, "old text", NULL);
  append(s, bob_p, NOW - 181 * DAY_MS, "old too", NULL);
  append(s, alice_p, NOW - 179 * DAY_MS, "recent text", NULL);
  append(s, bob_p, NOW - 1, "newest", NULL);
  assert_int_equal(hg_store_strike_record(s, "erin", 1, 1, NOW - 401 * DAY_MS, NULL, &err), HG_OK);
  assert_int_equal(hg_store_strike_record(s, "erin", 1, 2, NOW - 399 * DAY_MS, NULL, &err), HG_OK);
  int64_t id, v0, v1;
  assert_int_equal(hg_store_takedown_add(s, "expired one", 0, NOW - 10 * DAY_MS, NOW - DAY_MS, &id, &err), HG_OK);
  assert_int_equal(hg_store_takedown_add(s, "still on", 0, NOW - 10 * DAY_MS, NOW + DAY_MS, &id, &err), HG_OK);
  assert_int_equal(hg_store_takedown_add(s, "forever", 0, NOW - 10 * DAY_MS, 0, &id, &err), HG_OK);
  assert_int_equal(hg_store_takedown_version(s, &v0, &err), HG_OK);
  /* complaints: finished long ago (text and contact go), finished lately, and open for long (both stay) */
  int64_t c_old, c_recent, c_open;
  assert_int_equal(hg_store_complaint_add(s, "privacy", NULL, "my number 13800138000", "me@example.com",
                                          NOW - 300 * DAY_MS, NOW - 299 * DAY_MS, &c_old, &err),
                   HG_OK);
  assert_int_equal(hg_store_complaint_set_status(s, c_old, "rejected", "not personal data", NOW - 200 * DAY_MS, &err),
                   HG_OK);
  assert_int_equal(hg_store_complaint_add(s, "other", "chatcmpl-1", NULL, "you@example.com", NOW - 300 * DAY_MS,
                                          NOW - 299 * DAY_MS, &c_recent, &err),
                   HG_OK);
  assert_int_equal(hg_store_complaint_set_status(s, c_recent, "upheld", NULL, NOW - 10 * DAY_MS, &err), HG_OK);
  assert_int_equal(hg_store_complaint_add(s, "other", NULL, "still open", "them@example.com", NOW - 300 * DAY_MS,
                                          NOW - 299 * DAY_MS, &c_open, &err),
                   HG_OK);

  /* the 6-month rule, and no record deletion yet */
  hg_purge_counts pc;
  assert_int_equal(hg_store_purge(s, NOW, 180 * DAY_MS, 30 * DAY_MS, &pc, &err), HG_ERR_INVALID);
  assert_non_null(strstr(err.message, "six months"));
  assert_int_equal(hg_store_purge(s, NOW, 180 * DAY_MS, 365 * DAY_MS, &pc, &err), HG_ERR_INVALID);
  assert_non_null(strstr(err.message, "checkpoint"));
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM audit"), 4); /* refused: nothing done */

  assert_int_equal(hg_store_purge(s, NOW, 180 * DAY_MS, 0, &pc, &err), HG_OK);
  assert_int_equal(pc.audit_text_erased, 2);
  assert_int_equal(pc.audit_text_kept_v1, 0);
  assert_int_equal(pc.takedowns_deleted, 1);
  assert_int_equal(pc.strikes_deleted, 1);
  assert_int_equal(pc.complaint_text_erased, 1);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM complaints WHERE text IS NULL AND contact IS NULL AND "
                                   "resolution = 'not personal data' AND status = 'rejected'"),
                   1);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM complaints WHERE contact IS NOT NULL"), 2);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM complaints WHERE text = 'still open'"), 1);
  assert_int_equal(pc.receipt_seq, 5);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM audit WHERE text IS NULL AND text_sha256 IS NOT NULL"), 2);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM audit WHERE text IN ('recent text', 'newest')"), 2);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM takedowns"), 2);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM strikes"), 1);
  assert_int_equal(hg_store_takedown_version(s, &v1, &err), HG_OK);
  assert_int_equal(v1, v0 + 1);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM audit WHERE seq = 5 AND actor = 'system:purge'"), 1);
  expect_holds(s, 5);

  /* text_max_age 0 keeps all text; nothing expired: the version stays */
  assert_int_equal(hg_store_purge(s, NOW, 0, 0, &pc, &err), HG_OK);
  assert_int_equal(pc.audit_text_erased, 0);
  assert_int_equal(pc.takedowns_deleted, 0);
  assert_int_equal(hg_store_takedown_version(s, &v0, &err), HG_OK);
  assert_int_equal(v0, v1);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM audit WHERE text = 'recent text'"), 1);
  expect_holds(s, 6);
  hg_store_close(s);
  tmp_remove(&t);
}

/* The format-1 serialization as it was before format 2: text itself under "hegui audit v1". */
static void v1_field(crypto_hash_sha256_state *st, const char *p) {
  if (!p) {
    crypto_hash_sha256_update(st, (const unsigned char *)"-", 1);
    return;
  }
  char head[32];
  int n = snprintf(head, sizeof head, "%zu:", strlen(p));
  crypto_hash_sha256_update(st, (const unsigned char *)head, (unsigned long long)n);
  crypto_hash_sha256_update(st, (const unsigned char *)p, strlen(p));
}

/* Writes n format-1 records the way hegui did before schema 3 (the format column takes its default, 1). */
static void write_v1_chain(const char *path, int n) {
  char prev[65];
  memset(prev, '0', 64);
  prev[64] = 0;
  for (int seq = 1; seq <= n; seq++) {
    char seq_s[24], time_s[24], text[64], hex[65];
    snprintf(seq_s, sizeof seq_s, "%d", seq);
    snprintf(time_s, sizeof time_s, "%" PRId64, NOW - 300 * DAY_MS + seq);
    snprintf(text, sizeof text, "v1 text %d", seq);
    const char *fields[] = {seq_s, time_s, alice_p, "/v1/chat/completions", "allow", NULL, NULL, NULL, text, prev};
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)"hegui audit v1\n", 15);
    for (int i = 0; i < 10; i++)
      v1_field(&st, fields[i]);
    unsigned char d[32];
    crypto_hash_sha256_final(&st, d);
    sodium_bin2hex(hex, sizeof hex, d, sizeof d);
    char sql[600];
    snprintf(sql, sizeof sql,
             "INSERT INTO audit (seq, time_ms, actor, route, verdict, text, prev_hash, hash) "
             "VALUES (%s, %s, '%s', '/v1/chat/completions', 'allow', '%s', '%s', '%s')",
             seq_s, time_s, alice_p, text, prev, hex);
    raw_sql(path, sql);
    memcpy(prev, hex, sizeof hex);
  }
}

static void v1_chain_still_verifies(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url); /* makes the schema */
  hg_store_close(s);
  write_v1_chain(t.path, 4);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM audit WHERE format = 1"), 4);
  s = open_ok(t.url);
  expect_holds(s, 4);
  append(s, alice_p, NOW, "v2 text", NULL); /* a format-2 record links to the last format-1 one */
  append(s, bob_p, NOW, "bob v2", NULL);
  expect_holds(s, 6);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM audit WHERE format = 2"), 2);

  /* deletion erases what it can: the format-1 text is covered by its hash and stays, counted in the receipt */
  hg_error err;
  assert_int_equal(hg_store_dsar_delete(s, "alice", alice_p, NOW, NULL, &err), HG_OK);
  last_walk w = {0};
  assert_int_equal(hg_store_audit_each(s, 1, remember_last, &w, &err), HG_OK);
  assert_non_null(strstr(w.detail, "\"audit_text_erased\":1"));
  assert_non_null(strstr(w.detail, "\"audit_text_kept_v1\":4"));
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM audit WHERE text LIKE 'v1 text %'"), 4);
  expect_holds(s, 7);

  /* purge counts old format-1 text it must keep */
  hg_purge_counts pc;
  assert_int_equal(hg_store_purge(s, NOW + 1, 180 * DAY_MS, 0, &pc, &err), HG_OK);
  assert_int_equal(pc.audit_text_kept_v1, 4);
  assert_int_equal(pc.audit_text_erased, 0);
  expect_holds(s, 8);
  hg_store_close(s);

  /* a format-1 record's text changed is still found, and so is a format flipped */
  raw_sql(t.path, "UPDATE audit SET text = 'v1 text X' WHERE seq = 2");
  s = open_ok(t.url);
  hg_audit_check c;
  assert_int_equal(hg_store_audit_verify(s, &c, &err), HG_OK);
  assert_int_equal(c.first_bad, 2);
  hg_store_close(s);
  raw_sql(t.path, "UPDATE audit SET text = 'v1 text 2' WHERE seq = 2; UPDATE audit SET format = 2 WHERE seq = 3");
  s = open_ok(t.url);
  assert_int_equal(hg_store_audit_verify(s, &c, &err), HG_OK);
  assert_int_equal(c.first_bad, 3);
  hg_store_close(s);
  raw_sql(t.path, "UPDATE audit SET format = 7 WHERE seq = 3");
  s = open_ok(t.url);
  assert_int_equal(hg_store_audit_verify(s, &c, &err), HG_OK);
  assert_int_equal(c.first_bad, 3);
  assert_non_null(strstr(c.problem, "unknown format"));
  hg_store_close(s);
  tmp_remove(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(export_is_the_users),
      cmocka_unit_test(delete_leaves_nothing_naming_the_user),
      cmocka_unit_test(records_naming_the_user_are_exported_and_counted),
      cmocka_unit_test(purge_erases_old_text_only),
      cmocka_unit_test(v1_chain_still_verifies),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
