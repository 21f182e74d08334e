/* store_test_util.h — what the store tests share: a store in a fresh temporary directory, and raw SQL on its file
 * (to tamper with it the way an attacker with file access would). */
#ifndef HG_STORE_TEST_UTIL_H
#define HG_STORE_TEST_UTIL_H

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hegui/store.h"

typedef struct tmp_store {
  char dir[64];
  char path[128];
  char url[160];
} tmp_store;

static inline void tmp_init_named(tmp_store *t, const char *name) {
  snprintf(t->dir, sizeof t->dir, "/tmp/hg-test-%s-XXXXXX", name);
  assert_non_null(mkdtemp(t->dir));
  snprintf(t->path, sizeof t->path, "%s/hegui.db", t->dir);
  snprintf(t->url, sizeof t->url, "sqlite:%s", t->path);
}

static inline void tmp_remove(tmp_store *t) {
  const char *suffix[] = {"", "-wal", "-shm", "-journal"};
  char p[200];
  for (int i = 0; i < 4; i++) {
    snprintf(p, sizeof p, "%s%s", t->path, suffix[i]);
    unlink(p);
  }
  rmdir(t->dir);
}

static inline hg_store *open_ok(const char *url) {
  hg_store *s = NULL;
  hg_error err;
  hg_error_clear(&err);
  if (hg_store_open(url, &s, &err)) fail_msg("open %s: %s", url, err.message);
  return s;
}

static inline void raw_sql(const char *path, const char *sql) {
  sqlite3 *db;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  char *msg = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) fail_msg("raw sql '%s': %s", sql, msg);
  assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static inline int64_t raw_int(const char *path, const char *sql) {
  sqlite3 *db;
  sqlite3_stmt *s;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) fail_msg("raw sql '%s': %s", sql, sqlite3_errmsg(db));
  assert_int_equal(sqlite3_step(s), SQLITE_ROW);
  int64_t v = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  sqlite3_close(db);
  return v;
}

static inline void raw_text(const char *path, const char *sql, char *out, size_t cap) {
  sqlite3 *db;
  sqlite3_stmt *s;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) fail_msg("raw sql '%s': %s", sql, sqlite3_errmsg(db));
  assert_int_equal(sqlite3_step(s), SQLITE_ROW);
  snprintf(out, cap, "%s", (const char *)sqlite3_column_text(s, 0));
  sqlite3_finalize(s);
  sqlite3_close(db);
}

/* The schema version a new database gets (its number of migrations), read from a fresh store: what a migrated
 * database must reach, without the tests hard-coding a count every new migration changes. */
static inline int64_t latest_schema(void) {
  tmp_store t;
  tmp_init_named(&t, "schema");
  hg_store *s = open_ok(t.url);
  hg_store_close(s);
  int64_t v = raw_int(t.path, "SELECT MAX(version) FROM schema_version");
  tmp_remove(&t);
  return v;
}

#endif
