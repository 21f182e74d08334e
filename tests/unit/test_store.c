/* test_store.c — the store against a real SQLite file in a temporary directory: API keys (format, only the hash
 * kept, lookup, revoke, unknown keys), the audit chain (1000 appends verify; the hash is the documented
 * serialization; a changed field, a deleted record, swapped records, a rewritten-and-rehashed record, NULL turned
 * into "" and a NUL hidden in a field are all found, each at the right seq; deleting the newest record is the known
 * limit), appends from 4 threads on one handle and on 4 handles, and opening errors. Tampering goes through a
 * second, raw sqlite3 connection, as an attacker with the file would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <unistd.h>

#include "base/clock.h"
#include "hegui/store.h"

#include "store_test_util.h"

static void tmp_init(tmp_store *t) { tmp_init_named(t, "store"); }

static void copy_file(const char *from, const char *to) {
  FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
  assert_non_null(in);
  assert_non_null(out);
  char buf[1 << 16];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, in)) > 0)
    assert_int_equal(fwrite(buf, 1, n, out), n);
  fclose(in);
  assert_int_equal(fclose(out), 0);
}

static void append_ok(hg_store *s, int i) {
  char actor[32], detail[64], text[64];
  snprintf(actor, sizeof actor, "u%d", i % 7);
  snprintf(detail, sizeof detail, "{\"n\": %d}", i);
  snprintf(text, sizeof text, "request %d 你好", i);
  hg_audit_record r = {.time_ms = 1700000000000 + i,
                       .actor = actor,
                       .route = "/v1/chat/completions",
                       .verdict = i % 3 ? "allow" : "redact",
                       .detail_json = detail,
                       .input_sha256 =
                           i % 2 ? "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" : NULL,
                       .text = i % 5 ? text : NULL};
  hg_error err;
  hg_error_clear(&err);
  if (hg_store_audit_append(s, &r, &err)) fail_msg("append %d: %s", i, err.message);
  assert_true(r.seq > 0);
  assert_int_equal(strlen(r.hash), 64);
}

static hg_audit_check verify(const char *url) {
  hg_store *s = open_ok(url);
  hg_audit_check c;
  hg_error err;
  hg_error_clear(&err);
  if (hg_store_audit_verify(s, &c, &err)) fail_msg("verify: %s", err.message);
  hg_store_close(s);
  return c;
}

static void expect_bad(const char *url, int64_t seq, const char *problem) {
  hg_audit_check c = verify(url);
  if (c.first_bad != seq || strncmp(c.problem, problem, strlen(problem)))
    fail_msg("want %" PRId64 " '%s...', got %" PRId64 " '%s'", seq, problem, c.first_bad, c.problem);
}

/* ---- keys ------------------------------------------------------------------------------------------------- */

/* Bulk revocation against a naive reference: 60 keys of 4 users and 4 roles made at known times (the clock pinned),
 * some revoked one by one first; 80 random matches, each on a fresh copy of that state, revoke exactly the keys the
 * reference picks (not yet revoked, every given condition, never the spared key), and nothing else. */
typedef struct ref_key {
  int64_t id, created;
  int user, role, revoked;
} ref_key;

static int key_state(void *ctx, const hg_key_info *k) {
  int *revoked = ctx; /* indexed by key id */
  revoked[k->key_id] = k->revoked;
  return 0;
}

static void keys_revoke_matching(void **state) {
  (void)state;
  static const char *const users[] = {"amy", "bo", "cai", "dan"};
  srand(19);
  for (int round = 0; round < 80; round++) {
    tmp_store t;
    tmp_init(&t);
    hg_store *s = open_ok(t.url);
    hg_error err;
    ref_key ref[60];
    for (int i = 0; i < 60; i++) {
      char k[HG_KEY_MAX];
      hg_key_info info;
      ref[i] = (ref_key){0, INT64_C(1700000000000) + i * 1000, rand() % 4, rand() % 4, 0};
      hg_clock_pin(ref[i].created);
      assert_int_equal(hg_store_key_create(s, users[ref[i].user], (hg_role)ref[i].role, k, &err), HG_OK);
      assert_int_equal(hg_store_key_lookup(s, k, strlen(k), &info, &err), HG_OK);
      ref[i].id = info.key_id;
      if (rand() % 5 == 0) {
        assert_int_equal(hg_store_key_revoke(s, info.key_id, &err), HG_OK);
        ref[i].revoked = 1;
      }
    }
    hg_clock_real();
    hg_key_match m = {0};
    int64_t ids[8];
    int cond = 0;
    while (!cond) {
      if (rand() % 2) m.user = users[rand() % 4], cond = 1;
      if (rand() % 2) m.role_set = 1, m.role = (hg_role)(rand() % 4), cond = 1;
      if (rand() % 3 == 0) m.created_before_ms = ref[rand() % 60].created, cond = 1;
      if (rand() % 4 == 0) {
        m.n_ids = 1 + (size_t)(rand() % 8);
        for (size_t i = 0; i < m.n_ids; i++)
          ids[i] = ref[rand() % 60].id;
        m.ids = ids, cond = 1;
      }
    }
    if (rand() % 2) m.except_key_id = ref[rand() % 60].id;
    int want[61] = {0}, nwant = 0;
    for (int i = 0; i < 60; i++) {
      const ref_key *r = &ref[i];
      int in_ids = !m.n_ids;
      for (size_t j = 0; j < m.n_ids; j++)
        in_ids |= ids[j] == r->id;
      int pick = !r->revoked && r->id != m.except_key_id && (!m.user || !strcmp(m.user, users[r->user])) &&
                 (!m.role_set || (int)m.role == r->role) &&
                 (!m.created_before_ms || r->created < m.created_before_ms) && in_ids;
      want[r->id] = pick, nwant += pick;
    }
    int64_t n = -1, out[64];
    hg_status st = hg_store_key_revoke_matching(s, &m, &n, out, 64, &err);
    if (m.user && !nwant && st == HG_ERR_NOT_FOUND) st = HG_OK, n = 0; /* cannot happen: every user has a key */
    assert_int_equal(st, HG_OK);
    assert_int_equal(n, nwant);
    int now_revoked[61] = {0};
    assert_int_equal(hg_store_key_list(s, NULL, key_state, now_revoked, &err), HG_OK);
    for (int i = 0; i < 60; i++)
      assert_int_equal(now_revoked[ref[i].id], ref[i].revoked || want[ref[i].id]);
    for (int64_t i = 0; i < n; i++)
      assert_true(want[out[i]]);
    hg_store_close(s);
    tmp_remove(&t);
  }
  /* no condition is not a bulk revocation but a mistake */
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  hg_error err;
  hg_key_match none = {.except_key_id = 3};
  int64_t n;
  assert_int_equal(hg_store_key_revoke_matching(s, &none, &n, NULL, 0, &err), HG_ERR_INVALID);
  assert_non_null(strstr(err.message, "at least one condition"));
  hg_store_close(s);
  tmp_remove(&t);
}

static void keys(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  hg_error err;
  char k1[HG_KEY_MAX], k2[HG_KEY_MAX], k3[HG_KEY_MAX];
  assert_int_equal(hg_store_key_create(s, "alice", HG_ROLE_ADMIN, k1, &err), HG_OK);
  assert_int_equal(hg_store_key_create(s, "alice", HG_ROLE_USER, k2, &err), HG_OK);
  assert_int_equal(hg_store_key_create(s, "张三", HG_ROLE_AUDITOR, k3, &err), HG_OK);
  assert_int_equal(strlen(k1), 3 + 43);
  assert_memory_equal(k1, "hg-", 3);
  for (size_t i = 3; i < strlen(k1); i++)
    assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", k1[i]));
  assert_string_not_equal(k1, k2);

  hg_key_info a, b, c;
  assert_int_equal(hg_store_key_lookup(s, k1, strlen(k1), &a, &err), HG_OK);
  assert_string_equal(a.user, "alice");
  assert_int_equal(a.role, HG_ROLE_ADMIN);
  assert_int_equal(a.revoked, 0);
  assert_int_equal(hg_store_key_lookup(s, k2, strlen(k2), &b, &err), HG_OK);
  assert_string_equal(b.user, "alice");
  assert_int_equal(b.role, HG_ROLE_USER);
  assert_int_not_equal(a.key_id, b.key_id);
  assert_int_equal(hg_store_key_lookup(s, k3, strlen(k3), &c, &err), HG_OK);
  assert_string_equal(c.user, "张三");
  assert_int_equal(c.role, HG_ROLE_AUDITOR);

  /* unknown keys: another key, a prefix, one changed character, nothing */
  assert_int_equal(hg_store_key_lookup(s, "hg-nope", 7, &c, &err), HG_ERR_NOT_FOUND);
  assert_int_equal(hg_store_key_lookup(s, k1, strlen(k1) - 1, &c, &err), HG_ERR_NOT_FOUND);
  char changed[HG_KEY_MAX];
  strcpy(changed, k1);
  changed[10] = changed[10] == 'A' ? 'B' : 'A';
  assert_int_equal(hg_store_key_lookup(s, changed, strlen(changed), &c, &err), HG_ERR_NOT_FOUND);
  assert_int_equal(hg_store_key_lookup(s, "", 0, &c, &err), HG_ERR_NOT_FOUND);

  /* revoke: found afterwards with revoked = 1; the others untouched; unknown ids refused */
  assert_int_equal(hg_store_key_revoke(s, a.key_id, &err), HG_OK);
  assert_int_equal(hg_store_key_lookup(s, k1, strlen(k1), &c, &err), HG_OK);
  assert_int_equal(c.revoked, 1);
  assert_int_equal(hg_store_key_lookup(s, k2, strlen(k2), &c, &err), HG_OK);
  assert_int_equal(c.revoked, 0);
  assert_int_equal(hg_store_key_revoke(s, 9999, &err), HG_ERR_NOT_FOUND);
  assert_int_equal(hg_store_key_revoke(s, 0, &err), HG_ERR_INVALID);

  /* bad arguments */
  assert_int_equal(hg_store_key_create(s, "", HG_ROLE_USER, k3, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_key_create(s, "a\nb", HG_ROLE_USER, k3, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_key_create(s, "\xff", HG_ROLE_USER, k3, &err), HG_ERR_UTF8);
  assert_int_equal(hg_store_key_create(s, "bob", (hg_role)7, k3, &err), HG_ERR_INVALID);
  char longname[200];
  memset(longname, 'x', sizeof longname - 1);
  longname[sizeof longname - 1] = 0;
  assert_int_equal(hg_store_key_create(s, longname, HG_ROLE_USER, k3, &err), HG_ERR_LIMIT);
  hg_store_close(s);

  /* only the SHA-256 is stored, and the key text is nowhere in the file */
  unsigned char digest[32];
  char hex[65], stored[65], sql[200];
  crypto_hash_sha256(digest, (const unsigned char *)k2, strlen(k2));
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  snprintf(sql, sizeof sql, "SELECT key_hash FROM api_keys WHERE id = %" PRId64, b.key_id);
  raw_text(t.path, sql, stored, sizeof stored);
  assert_string_equal(stored, hex);
  FILE *f = fopen(t.path, "rb");
  assert_non_null(f);
  static char file[1 << 20];
  size_t n = fread(file, 1, sizeof file, f);
  fclose(f);
  assert_null(memmem(file, n, k1 + 3, 20));
  assert_null(memmem(file, n, k2 + 3, 20));

  /* reopening keeps the keys and does not migrate again (one row per migration: 1 keys and audit, 2 complaints,
   * takedowns and standing, 3 audit format 2, 4 key expiry, identity and usage, 5 who set a standing, 6 ID-number
   * hashes, 7 complaint channels, 8 the review queue, 9 quota counters, 10 complaint secrets and withdrawn
   * takedowns, 11 the webhook outbox, 12 policy and lexicon
   * versions, and on) */
  s = open_ok(t.path); /* a plain path works too */
  assert_int_equal(hg_store_key_lookup(s, k2, strlen(k2), &c, &err), HG_OK);
  hg_store_close(s);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM schema_version"), latest_schema());
  char mode[16];
  raw_text(t.path, "PRAGMA journal_mode", mode, sizeof mode);
  assert_string_equal(mode, "wal");
  tmp_remove(&t);
}

static void roles(void **state) {
  (void)state;
  const char *names[] = {"user", "reviewer", "admin", "auditor"};
  for (int i = 0; i < 4; i++) {
    hg_role r;
    assert_string_equal(hg_role_name((hg_role)i), names[i]);
    assert_int_equal(hg_role_parse(names[i], &r), HG_OK);
    assert_int_equal(r, i);
  }
  hg_role r;
  assert_int_equal(hg_role_parse("root", &r), HG_ERR_INVALID);
  assert_int_equal(hg_role_parse("Admin", &r), HG_ERR_INVALID);
  assert_int_equal(hg_role_parse(NULL, &r), HG_ERR_INVALID);
  assert_string_equal(hg_role_name((hg_role)9), "unknown");
}

/* ---- audit chain ------------------------------------------------------------------------------------------ */

/* The serialization as docs/store.md describes it, written again here: the stored hashes must match it. */
static void doc_field(crypto_hash_sha256_state *st, const char *p, size_t len) {
  if (!p) {
    crypto_hash_sha256_update(st, (const unsigned char *)"-", 1);
    return;
  }
  char head[32];
  int n = snprintf(head, sizeof head, "%zu:", len);
  crypto_hash_sha256_update(st, (const unsigned char *)head, (unsigned long long)n);
  crypto_hash_sha256_update(st, (const unsigned char *)p, len);
}

/* Format 1 covers text (column 8); format 2 covers text_sha256 (column 12) in its place, under its own tag. */
static void doc_hash(sqlite3_stmt *s, char hex[65]) {
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  int v2 = sqlite3_column_int64(s, 11) == 2;
  crypto_hash_sha256_update(&st, (const unsigned char *)(v2 ? "hegui audit v2\n" : "hegui audit v1\n"), 15);
  for (int c = 0; c < 11 - 1; c++) { /* seq .. prev_hash; integers as their decimal text */
    int i = v2 && c == 8 ? 12 : c;
    const char *p = sqlite3_column_type(s, i) == SQLITE_NULL ? NULL : (const char *)sqlite3_column_text(s, i);
    doc_field(&st, p, (size_t)sqlite3_column_bytes(s, i));
  }
  unsigned char digest[32];
  crypto_hash_sha256_final(&st, digest);
  sodium_bin2hex(hex, 65, digest, sizeof digest);
}

#define AUDIT_COLUMNS                                                                                                  \
  "seq, time_ms, actor, route, verdict, detail_json, input_sha256, output_sha256, text, prev_hash, hash, format, "     \
  "text_sha256"

/* Recomputes every hash from the documented serialization; with fix_seq, rewrites that record's hash to match
 * (the attacker who knows the format). */
static void check_documented_hashes(const char *path, int64_t fix_seq) {
  sqlite3 *db;
  sqlite3_stmt *s;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT " AUDIT_COLUMNS " FROM audit ORDER BY seq", -1, &s, NULL), SQLITE_OK);
  char prev[65];
  memset(prev, '0', 64);
  prev[64] = 0;
  char fix[65] = "";
  while (sqlite3_step(s) == SQLITE_ROW) {
    char hex[65];
    doc_hash(s, hex);
    if (fix_seq) { /* the chain after it is broken on purpose: nothing to check */
      if (sqlite3_column_int64(s, 0) == fix_seq) memcpy(fix, hex, sizeof hex);
      continue;
    }
    assert_string_equal((const char *)sqlite3_column_text(s, 10), hex);
    assert_string_equal((const char *)sqlite3_column_text(s, 9), prev);
    memcpy(prev, hex, sizeof hex);
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  if (fix_seq) {
    char sql[200];
    snprintf(sql, sizeof sql, "UPDATE audit SET hash = '%s' WHERE seq = %" PRId64, fix, fix_seq);
    raw_sql(path, sql);
  }
}

typedef struct seq_walk {
  int64_t next, stop_at;
} seq_walk;

static int walk_seq(void *ctx, const hg_audit_record *r) {
  seq_walk *w = ctx;
  assert_int_equal(r->seq, w->next);
  assert_int_equal(strlen(r->hash), 64);
  assert_non_null(r->actor);
  assert_string_equal(r->route, "/v1/chat/completions");
  w->next++;
  return r->seq == w->stop_at;
}

static void audit_chain(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  hg_audit_check c;
  hg_error err;
  assert_int_equal(hg_store_audit_verify(s, &c, &err), HG_OK); /* the empty chain holds */
  assert_int_equal(c.records, 0);
  assert_int_equal(c.first_bad, 0);
  for (int i = 1; i <= 1000; i++)
    append_ok(s, i);
  assert_int_equal(hg_store_audit_verify(s, &c, &err), HG_OK);
  assert_int_equal(c.records, 1000);
  assert_int_equal(c.first_bad, 0);

  seq_walk w = {.next = 1};
  assert_int_equal(hg_store_audit_each(s, 1, walk_seq, &w, &err), HG_OK);
  assert_int_equal(w.next, 1001);
  w = (seq_walk){.next = 990, .stop_at = 995};
  assert_int_equal(hg_store_audit_each(s, 990, walk_seq, &w, &err), HG_OK);
  assert_int_equal(w.next, 996);
  hg_store_close(s);

  char zeros[65], got[65];
  memset(zeros, '0', 64);
  zeros[64] = 0;
  raw_text(t.path, "SELECT prev_hash FROM audit WHERE seq = 1", got, sizeof got);
  assert_string_equal(got, zeros);
  check_documented_hashes(t.path, 0);

  /* each tampering on its own copy of the good file */
  tmp_store x;
  tmp_init(&x);

  copy_file(t.path, x.path); /* (a) one field of record 500 */
  raw_sql(x.path, "UPDATE audit SET actor = 'someone else' WHERE seq = 500");
  expect_bad(x.url, 500, "changed");

  copy_file(t.path, x.path); /* (b) record 300 deleted */
  raw_sql(x.path, "DELETE FROM audit WHERE seq = 300");
  expect_bad(x.url, 301, "missing before");

  copy_file(t.path, x.path); /* record 1 deleted: the chain must start at 1 */
  raw_sql(x.path, "DELETE FROM audit WHERE seq = 1");
  expect_bad(x.url, 2, "missing before");

  copy_file(t.path, x.path); /* (c) the contents of 100 and 200 swapped, hashes and links included */
  raw_sql(x.path, "CREATE TEMP TABLE t AS SELECT * FROM audit WHERE seq IN (100, 200);"
                  "UPDATE audit SET (time_ms, actor, route, verdict, detail_json, input_sha256, output_sha256, text,"
                  " prev_hash, hash) = (SELECT time_ms, actor, route, verdict, detail_json, input_sha256,"
                  " output_sha256, text, prev_hash, hash FROM t WHERE t.seq = 300 - audit.seq)"
                  " WHERE seq IN (100, 200)");
  expect_bad(x.url, 100, "changed");

  copy_file(t.path, x.path); /* the same swap of the payload only */
  raw_sql(x.path, "CREATE TEMP TABLE t AS SELECT * FROM audit WHERE seq IN (100, 200);"
                  "UPDATE audit SET (time_ms, actor, verdict, detail_json, input_sha256, text) ="
                  " (SELECT time_ms, actor, verdict, detail_json, input_sha256, text FROM t"
                  " WHERE t.seq = 300 - audit.seq) WHERE seq IN (100, 200)");
  expect_bad(x.url, 100, "changed");

  copy_file(t.path, x.path); /* two records' seqs exchanged: 10 <-> 11 */
  raw_sql(x.path, "UPDATE audit SET seq = -1 WHERE seq = 10; UPDATE audit SET seq = 10 WHERE seq = 11;"
                  "UPDATE audit SET seq = 11 WHERE seq = -1");
  expect_bad(x.url, 10, "changed");

  copy_file(t.path, x.path); /* a record put before the start */
  raw_sql(x.path, "INSERT INTO audit SELECT 0, time_ms, actor, route, verdict, detail_json, input_sha256,"
                  " output_sha256, text, prev_hash, hash, format, text_sha256 FROM audit WHERE seq = 1");
  expect_bad(x.url, 1, "out of order");

  copy_file(t.path, x.path); /* 500 rewritten and rehashed by someone who knows the format */
  raw_sql(x.path, "UPDATE audit SET verdict = 'block' WHERE seq = 500");
  check_documented_hashes(x.path, 500);
  expect_bad(x.url, 501, "changed before");

  copy_file(t.path, x.path);                                   /* a NULL field made empty */
  raw_sql(x.path, "UPDATE audit SET text = '' WHERE seq = 5"); /* 5 % 5 == 0: stored NULL */
  expect_bad(x.url, 5, "changed");

  copy_file(t.path, x.path); /* a NUL hidden in a field: the C string looks the same */
  raw_sql(x.path, "UPDATE audit SET actor = actor || CAST(X'0078' AS TEXT) WHERE seq = 42");
  expect_bad(x.url, 42, "changed");

  copy_file(t.path, x.path); /* the known limit: removing the newest record leaves a sound chain */
  raw_sql(x.path, "DELETE FROM audit WHERE seq = 1000");
  c = verify(x.url);
  assert_int_equal(c.first_bad, 0);
  assert_int_equal(c.records, 999);
  s = open_ok(x.url); /* and the next append links to 999 */
  append_ok(s, 1000);
  hg_store_close(s);
  c = verify(x.url);
  assert_int_equal(c.first_bad, 0);
  assert_int_equal(c.records, 1000);

  copy_file(t.path, x.path); /* a damaged last hash: nothing to link to, append refuses */
  raw_sql(x.path, "UPDATE audit SET hash = 'x' WHERE seq = 1000");
  s = open_ok(x.url);
  hg_audit_record r = {.actor = "a", .route = "r", .verdict = "allow"};
  assert_int_equal(hg_store_audit_append(s, &r, &err), HG_ERR_CORRUPT);
  hg_store_close(s);

  tmp_remove(&x);
  tmp_remove(&t);
}

static void audit_append_checks(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  hg_error err;
  hg_audit_record r = {.route = "r", .verdict = "allow"};
  assert_int_equal(hg_store_audit_append(s, &r, &err), HG_ERR_INVALID); /* no actor */
  r.actor = "a";
  r.input_sha256 = "ABC";
  assert_int_equal(hg_store_audit_append(s, &r, &err), HG_ERR_INVALID);
  r.input_sha256 = NULL;
  r.text = "ok \xc3";
  assert_int_equal(hg_store_audit_append(s, &r, &err), HG_ERR_UTF8);
  r.text = NULL;
  r.time_ms = -5;
  assert_int_equal(hg_store_audit_append(s, &r, &err), HG_ERR_INVALID);
  r.time_ms = 0; /* now */
  assert_int_equal(hg_store_audit_append(s, &r, &err), HG_OK);
  assert_int_equal(r.seq, 1);
  assert_int_equal(r.time_ms, 0); /* left as given, so the struct can be reused */
  assert_int_equal(hg_store_audit_append(s, &r, &err), HG_OK);
  assert_int_equal(r.seq, 2);
  hg_store_close(s);
  assert_true(raw_int(t.path, "SELECT time_ms FROM audit WHERE seq = 1") > 1700000000000);
  assert_int_equal(verify(t.url).first_bad, 0);
  tmp_remove(&t);
}

/* ---- concurrency ------------------------------------------------------------------------------------------ */

typedef struct worker {
  hg_store *store; /* shared, or NULL to open one's own */
  const char *url;
  int id;
} worker;

/* group commit: a batch lands in order, linked like single appends (the documented hash checks them); a batch
 * with one bad record appends nothing */
static void audit_append_many(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  append_ok(s, 1);
  hg_audit_record batch[3] = {
      {.time_ms = 1700000000100, .actor = "u1", .route = "/v1/chat/completions", .verdict = "allow", .text = "甲"},
      {.time_ms = 1700000000101,
       .actor = "u2",
       .route = "/v1/chat/completions",
       .verdict = "redact",
       .detail_json = "{\"n\":2}"},
      {.time_ms = 1700000000102, .actor = "u3", .route = "/v1/completions", .verdict = "block", .text = "丙"}};
  hg_error err;
  hg_error_clear(&err);
  assert_int_equal(hg_store_audit_append_many(s, batch, 3, &err), HG_OK);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(batch[i].seq, 2 + i);
    assert_int_equal(strlen(batch[i].hash), 64);
  }
  append_ok(s, 5);
  hg_audit_record bad[2] = {{.actor = "u1", .route = "/v1/chat/completions", .verdict = "allow"},
                            {.actor = NULL, .route = "/v1/chat/completions", .verdict = "allow"}};
  assert_int_equal(hg_store_audit_append_many(s, bad, 2, &err), HG_ERR_INVALID);
  assert_int_equal(bad[0].seq, 0);
  assert_int_equal(hg_store_audit_append_many(s, NULL, 0, &err), HG_OK);
  hg_store_close(s);
  hg_audit_check c = verify(t.url);
  assert_int_equal(c.records, 5);
  assert_int_equal(c.first_bad, 0);
  check_documented_hashes(t.path, 0);
  tmp_remove(&t);
}

static void *append_200(void *p) {
  worker *w = p;
  hg_store *s = w->store ? w->store : open_ok(w->url);
  for (int i = 0; i < 200; i++)
    append_ok(s, w->id * 1000 + i);
  if (!w->store) hg_store_close(s);
  return NULL;
}

static void four_threads(int own_handles) {
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  pthread_t th[4];
  worker w[4];
  for (int i = 0; i < 4; i++) {
    w[i] = (worker){own_handles ? NULL : s, t.url, i};
    assert_int_equal(pthread_create(&th[i], NULL, append_200, &w[i]), 0);
  }
  for (int i = 0; i < 4; i++)
    pthread_join(th[i], NULL);
  hg_audit_check c;
  hg_error err;
  assert_int_equal(hg_store_audit_verify(s, &c, &err), HG_OK);
  assert_int_equal(c.first_bad, 0);
  assert_int_equal(c.records, 800);
  seq_walk sw = {.next = 1};
  assert_int_equal(hg_store_audit_each(s, 0, walk_seq, &sw, &err), HG_OK);
  assert_int_equal(sw.next, 801);
  hg_store_close(s);
  assert_int_equal(raw_int(t.path, "SELECT MAX(seq) FROM audit"), 800);
  tmp_remove(&t);
}

static void threads_share_a_handle(void **state) {
  (void)state;
  four_threads(0);
}

static void threads_with_own_handles(void **state) {
  (void)state;
  four_threads(1);
}

/* ---- opening ---------------------------------------------------------------------------------------------- */

static long file_size(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fclose(f);
  return n;
}

/* Deferred checkpoints: commits of a deferring handle never checkpoint (the log passes SQLite's 1,000 pages and
 * keeps growing), hg_store_checkpoint moves all of it into the database, the log then starts over from its
 * beginning (its file does not grow), and the records are all there, read through a new handle with the log gone. */
static void deferred_checkpoints(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  assert_int_equal(hg_store_log_pages(s), 0); /* not deferring: nothing counted */
  hg_store_defer_checkpoints(s);
  static char text[6000];
  for (size_t i = 0; i + 3 < sizeof text; i += 3)
    memcpy(text + i, "记", 3);
  int n = 0, pages = 0;
  while (pages <= 1500 && n < 5000) {
    hg_audit_record r = {.time_ms = 1700000000000 + n,
                         .actor = "u",
                         .route = "/v1/chat/completions",
                         .verdict = "allow",
                         .detail_json = "{}",
                         .text = text};
    hg_error err;
    if (hg_store_audit_append(s, &r, &err)) fail_msg("append %d: %s", n, err.message);
    int now = hg_store_log_pages(s);
    if (now < pages) fail_msg("the log was checkpointed inside commit %d (%d pages after %d)", n, now, pages);
    pages = now;
    n++;
  }
  assert_true(pages > 1500);
  char wal[200];
  snprintf(wal, sizeof wal, "%s-wal", t.path);
  long grown = file_size(wal);
  hg_error err;
  assert_int_equal(hg_store_checkpoint(s, &err), HG_OK);
  assert_int_equal(hg_store_log_pages(s), 0);
  append_ok(s, n++);
  assert_true(hg_store_log_pages(s) < 20); /* the log started over */
  assert_true(file_size(wal) <= grown);
  assert_int_equal(hg_store_checkpoint(s, &err), HG_OK);
  hg_store_close(s);
  /* everything is in the database file itself: without the log, a new handle reads every record */
  unlink(wal);
  hg_audit_check c = verify(t.url);
  assert_int_equal(c.records, n);
  assert_int_equal(c.first_bad, 0);
  tmp_remove(&t);
}

static void open_errors(void **state) {
  (void)state;
  hg_store *s;
  hg_error err;
  hg_error_clear(&err);
  assert_int_equal(hg_store_open("sqlite:/nonexistent-dir-hg/hegui.db", &s, &err), HG_ERR_IO);
  assert_non_null(strstr(err.message, "directory does not exist"));
  assert_null(s);
  assert_int_equal(hg_store_open("postgres://u:secret@db/hegui", &s, &err), HG_ERR_INVALID);
  assert_null(strstr(err.message, "secret"));
  assert_int_equal(hg_store_open("sqlite:", &s, &err), HG_ERR_INVALID);

  tmp_store t;
  tmp_init(&t);
  FILE *f = fopen(t.path, "wb");
  fputs("this is not a database, just a text file that is long enough to have a header ...........", f);
  fclose(f);
  assert_int_equal(hg_store_open(t.url, &s, &err), HG_ERR_STORE);
  assert_non_null(strstr(err.message, t.path));
  unlink(t.path);

  /* a database from a newer hegui is refused, not altered */
  hg_store_close(open_ok(t.url));
  raw_sql(t.path, "INSERT INTO schema_version (version, applied_ms) VALUES (99, 0)");
  assert_int_equal(hg_store_open(t.url, &s, &err), HG_ERR_STORE);
  assert_non_null(strstr(err.message, "newer"));
  tmp_remove(&t);

  s = open_ok("sqlite::memory:");
  hg_audit_record r = {.actor = "a", .route = "r", .verdict = "allow"};
  assert_int_equal(hg_store_audit_append(s, &r, &err), HG_OK);
  hg_store_close(s);
  hg_store_close(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(keys),
      cmocka_unit_test(keys_revoke_matching),
      cmocka_unit_test(roles),
      cmocka_unit_test(audit_chain),
      cmocka_unit_test(audit_append_checks),
      cmocka_unit_test(audit_append_many),
      cmocka_unit_test(threads_share_a_handle),
      cmocka_unit_test(threads_with_own_handles),
      cmocka_unit_test(open_errors),
      cmocka_unit_test(deferred_checkpoints),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
