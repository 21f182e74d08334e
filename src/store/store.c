/* store/store.c — the backend-neutral half of the store: URL dispatch, the mutex that lets threads share a handle,
 * API keys (made here, stored only as SHA-256), and the audit chain: how a record is serialized and hashed, how
 * an append links to the end of the chain, and how verification walks it. Backends (store_internal.h) only keep
 * rows, so every backend produces and checks the very same chain.
 *
 * The chain cannot see the removal of its newest records: what is left is still a sound chain. A signed
 * checkpoint of the last (seq, hash), kept outside the database, will close that gap (docs/store.md). */
#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/error.h"
#include "hegui/text.h"
#include "store/store_internal.h"

/* Bytes in one audit text field. The gateway stores redacted text, not recordings; a bound keeps one bad call
 * from growing the database by gigabytes. */
#define HG_AUDIT_FIELD_MAX (16u << 20)

/* Versions the serialization; a new layout gets a new tag so old and new hashes can never collide. */
static const char chain_tag[] = "hegui audit v1\n";

struct hg_store {
  const hg_store_backend *backend;
  hg_store_conn *conn;
  pthread_mutex_t lock; /* one connection, one caller at a time */
};

static const char *const role_names[] = {"user", "reviewer", "admin", "auditor"};

const char *hg_role_name(hg_role role) {
  if ((unsigned)role < sizeof role_names / sizeof role_names[0]) return role_names[role];
  return "unknown";
}

hg_status hg_role_parse(const char *name, hg_role *out) {
  if (!name || !out) return HG_ERR_INVALID;
  for (unsigned i = 0; i < sizeof role_names / sizeof role_names[0]; i++)
    if (!strcmp(name, role_names[i])) {
      *out = (hg_role)i;
      return HG_OK;
    }
  return HG_ERR_INVALID;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int starts_with(const char *s, const char *prefix) { return !strncmp(s, prefix, strlen(prefix)); }

hg_status hg_store_open(const char *url, hg_store **out, hg_error *err) {
  if (!url || !out) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_open needs a URL and an out pointer");
  *out = NULL;
  if (sodium_init() < 0) return hg_fail(err, HG_ERR_STORE, 0, 0, "libsodium could not be initialised");
  const hg_store_backend *backend = &hg_store_sqlite;
  const char *target = url;
  if (starts_with(url, "sqlite:")) {
    target = url + strlen("sqlite:");
  } else if (starts_with(url, "postgres://") || starts_with(url, "postgresql://")) {
    /* the URL is not echoed: it may carry a password */
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "this build has no PostgreSQL store yet; use sqlite:PATH");
  }
  if (!*target) return hg_fail(err, HG_ERR_INVALID, 0, 0, "the store URL '%s' names no database file", url);

  hg_store *store = calloc(1, sizeof *store);
  if (!store) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory opening the store");
  if (pthread_mutex_init(&store->lock, NULL)) {
    free(store);
    return hg_fail(err, HG_ERR_STORE, 0, 0, "cannot create the store's mutex");
  }
  store->backend = backend;
  hg_status st = backend->open(target, &store->conn, err);
  if (st) {
    pthread_mutex_destroy(&store->lock);
    free(store);
    return st;
  }
  *out = store;
  return HG_OK;
}

void hg_store_close(hg_store *store) {
  if (!store) return;
  store->backend->close(store->conn);
  pthread_mutex_destroy(&store->lock);
  free(store);
}

/* ---- API keys --------------------------------------------------------------------------------------------- */

static void key_hash_hex(const char *key, size_t len, char hex[65]) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, (const unsigned char *)key, len);
  sodium_bin2hex(hex, 65, digest, sizeof digest);
}

/* Names show up in CLI output and logs, so they are printable UTF-8 of a size hg_key_info can hold. */
static hg_status check_user_name(const char *user, hg_error *err) {
  size_t len = strlen(user);
  size_t bad;
  if (!len) return hg_fail(err, HG_ERR_INVALID, 0, 0, "a user name cannot be empty");
  if (len >= sizeof((hg_key_info *)0)->user)
    return hg_fail(err, HG_ERR_LIMIT, 0, 0, "a user name is at most %zu bytes", sizeof((hg_key_info *)0)->user - 1);
  if (hg_utf8_validate(user, len, &bad))
    return hg_fail(err, HG_ERR_UTF8, 0, bad, "the user name is not valid UTF-8 (byte offset %zu)", bad);
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)user[i] < 0x20 || user[i] == 0x7f)
      return hg_fail(err, HG_ERR_INVALID, 0, i, "the user name holds a control character at byte offset %zu", i);
  return HG_OK;
}

hg_status hg_store_key_create(hg_store *store, const char *user, hg_role role, char key_out[HG_KEY_MAX],
                              hg_error *err) {
  if (!store || !user || !key_out) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_key_create: NULL argument");
  if ((unsigned)role > HG_ROLE_AUDITOR) return hg_fail(err, HG_ERR_INVALID, 0, 0, "unknown role %d", (int)role);
  hg_status st = check_user_name(user, err);
  if (st) return st;

  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  memcpy(key_out, "hg-", 3);
  sodium_bin2base64(key_out + 3, HG_KEY_MAX - 3, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(raw, sizeof raw);
  char hash[65];
  key_hash_hex(key_out, strlen(key_out), hash);

  const hg_store_backend *b = store->backend;
  int64_t user_id = 0, t = now_ms();
  pthread_mutex_lock(&store->lock);
  st = b->begin(store->conn, err);
  if (!st) st = b->user_ensure(store->conn, user, t, &user_id, err);
  if (!st) st = b->key_insert(store->conn, user_id, hg_role_name(role), hash, t, err);
  if (!st) st = b->commit(store->conn, err);
  if (st) b->rollback(store->conn);
  pthread_mutex_unlock(&store->lock);
  if (st) sodium_memzero(key_out, HG_KEY_MAX); /* a key that was not stored must not be handed out */
  return st;
}

hg_status hg_store_key_lookup(hg_store *store, const char *key, size_t len, hg_key_info *out, hg_error *err) {
  if (!store || (!key && len) || !out) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_key_lookup: NULL argument");
  /* Equality of SHA-256 digests found through the index: timing reveals at most where a digest differs, which
   * says nothing useful about the key. */
  char hash[65];
  key_hash_hex(key ? key : "", len, hash);
  memset(out, 0, sizeof *out);
  pthread_mutex_lock(&store->lock);
  hg_status st = store->backend->key_find(store->conn, hash, out, err);
  pthread_mutex_unlock(&store->lock);
  return st;
}

hg_status hg_store_key_revoke(hg_store *store, int64_t key_id, hg_error *err) {
  if (!store) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_key_revoke: NULL store");
  if (key_id <= 0) return hg_fail(err, HG_ERR_INVALID, 0, 0, "a key id is a positive number, not %" PRId64, key_id);
  pthread_mutex_lock(&store->lock);
  hg_status st = store->backend->key_revoke(store->conn, key_id, err);
  pthread_mutex_unlock(&store->lock);
  return st;
}

/* ---- audit chain ------------------------------------------------------------------------------------------ */

/* One field of the serialization: "<decimal length>:<bytes>", or "-" for NULL. A reader of the serialization
 * always knows where a field ends, and "-" cannot start a length, so two different records never serialize to
 * the same bytes — whatever their fields contain. */
static void put_field(crypto_hash_sha256_state *state, hg_store_text field) {
  if (!field.ptr) {
    crypto_hash_sha256_update(state, (const unsigned char *)"-", 1);
    return;
  }
  char head[32];
  int n = snprintf(head, sizeof head, "%zu:", field.len);
  crypto_hash_sha256_update(state, (const unsigned char *)head, (unsigned long long)n);
  crypto_hash_sha256_update(state, (const unsigned char *)field.ptr, field.len);
}

static void put_int(crypto_hash_sha256_state *state, int64_t value) {
  char digits[32];
  int n = snprintf(digits, sizeof digits, "%" PRId64, value);
  put_field(state, (hg_store_text){digits, (size_t)n});
}

/* The hash of a row over everything but its own hash field; prev_hash is covered, which makes the chain. */
static void chain_hash(const hg_audit_row *row, char hex[65]) {
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  crypto_hash_sha256_update(&state, (const unsigned char *)chain_tag, sizeof chain_tag - 1);
  put_int(&state, row->seq);
  put_int(&state, row->time_ms);
  put_field(&state, row->actor);
  put_field(&state, row->route);
  put_field(&state, row->verdict);
  put_field(&state, row->detail_json);
  put_field(&state, row->input_sha256);
  put_field(&state, row->output_sha256);
  put_field(&state, row->text);
  put_field(&state, row->prev_hash);
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&state, digest);
  sodium_bin2hex(hex, 65, digest, sizeof digest);
}

static hg_status take_field(const char *name, const char *value, int required, hg_store_text *out, hg_error *err) {
  *out = (hg_store_text){value, value ? strlen(value) : 0};
  if (!value) return required ? hg_fail(err, HG_ERR_INVALID, 0, 0, "an audit record needs %s", name) : HG_OK;
  if (out->len > HG_AUDIT_FIELD_MAX)
    return hg_fail(err, HG_ERR_LIMIT, 0, 0, "audit %s is %zu bytes; the limit is %u", name, out->len,
                   HG_AUDIT_FIELD_MAX);
  size_t bad;
  if (hg_utf8_validate(value, out->len, &bad))
    return hg_fail(err, HG_ERR_UTF8, 0, bad, "audit %s is not valid UTF-8 (byte offset %zu)", name, bad);
  return HG_OK;
}

static hg_status take_digest(const char *name, const char *value, hg_store_text *out, hg_error *err) {
  *out = (hg_store_text){value, value ? strlen(value) : 0};
  if (!value) return HG_OK;
  int ok = out->len == 64;
  for (size_t i = 0; ok && i < 64; i++)
    ok = (value[i] >= '0' && value[i] <= '9') || (value[i] >= 'a' && value[i] <= 'f');
  if (!ok) return hg_fail(err, HG_ERR_INVALID, 0, 0, "audit %s must be 64 lowercase hex digits (SHA-256)", name);
  return HG_OK;
}

hg_status hg_store_audit_append(hg_store *store, hg_audit_record *record, hg_error *err) {
  if (!store || !record) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_audit_append: NULL argument");
  if (record->time_ms < 0) return hg_fail(err, HG_ERR_INVALID, 0, 0, "audit time_ms cannot be negative");
  hg_audit_row row = {.time_ms = record->time_ms ? record->time_ms : now_ms()};
  hg_status st;
  if ((st = take_field("actor", record->actor, 1, &row.actor, err)) ||
      (st = take_field("route", record->route, 1, &row.route, err)) ||
      (st = take_field("verdict", record->verdict, 1, &row.verdict, err)) ||
      (st = take_field("detail_json", record->detail_json, 0, &row.detail_json, err)) ||
      (st = take_digest("input_sha256", record->input_sha256, &row.input_sha256, err)) ||
      (st = take_digest("output_sha256", record->output_sha256, &row.output_sha256, err)) ||
      (st = take_field("text", record->text, 0, &row.text, err)))
    return st;

  const hg_store_backend *b = store->backend;
  char prev[65], hash[65];
  int64_t last_seq = 0;
  pthread_mutex_lock(&store->lock);
  /* Reading the end and inserting after it happen in one transaction that shuts out other writers, so two
   * appends (from this process or another) can never both link to the same record. */
  st = b->begin(store->conn, err);
  if (!st) st = b->audit_last(store->conn, &last_seq, prev, err);
  if (!st && last_seq == INT64_MAX) st = hg_fail(err, HG_ERR_LIMIT, 0, 0, "the audit chain is full");
  if (!st) {
    if (last_seq == 0) memset(prev, '0', 64), prev[64] = 0; /* the first record links to 64 zeros */
    row.seq = last_seq + 1;
    row.prev_hash = (hg_store_text){prev, 64};
    chain_hash(&row, hash);
    row.hash = (hg_store_text){hash, 64};
    st = b->audit_insert(store->conn, &row, err);
  }
  if (!st) st = b->commit(store->conn, err); /* synchronous: the record is on disk when this returns */
  if (st) b->rollback(store->conn);
  pthread_mutex_unlock(&store->lock);
  if (st) return st;
  record->seq = row.seq;
  memcpy(record->hash, hash, sizeof record->hash);
  return HG_OK;
}

static int text_is(hg_store_text field, const char *s) {
  return field.ptr && field.len == strlen(s) && !memcmp(field.ptr, s, field.len);
}

typedef struct verify_walk {
  hg_audit_check *check;
  int64_t expect_seq;
  char prev_hash[65]; /* the previous record's hash, already known to match its contents */
} verify_walk;

static int verify_row(void *ctx, const hg_audit_row *row) {
  verify_walk *w = ctx;
  hg_audit_check *c = w->check;
  c->records++;
  char hash[65];
  if (row->seq > w->expect_seq) {
    c->first_bad = row->seq;
    snprintf(c->problem, sizeof c->problem, "missing before (records %" PRId64 " to %" PRId64 " are not there)",
             w->expect_seq, row->seq - 1);
    return 1;
  }
  if (row->seq < w->expect_seq) {
    /* Only a seq below 1 gets here (the walk is in seq order). first_bad names the place it stands at, not the
     * stray seq: a seq of 0 would read as "no bad record" and pass a chain with a record slipped in front. */
    c->first_bad = w->expect_seq;
    snprintf(c->problem, sizeof c->problem, "out of order (a record with seq %" PRId64 " stands before it)", row->seq);
    return 1;
  }
  chain_hash(row, hash);
  if (!text_is(row->hash, hash)) {
    c->first_bad = row->seq;
    snprintf(c->problem, sizeof c->problem, "changed (its contents do not match its stored hash)");
    return 1;
  }
  if (!text_is(row->prev_hash, w->prev_hash)) {
    /* The record is whole but does not link to the one before: something before it was rewritten and rehashed,
     * or records were removed and the rest renumbered. At seq 1 only the second is plausible. */
    c->first_bad = row->seq;
    if (row->seq == 1)
      snprintf(c->problem, sizeof c->problem, "missing before (record 1 does not start the chain)");
    else
      snprintf(c->problem, sizeof c->problem,
               "changed before (its prev_hash is not record %" PRId64 "'s hash: that record was rewritten, or "
               "records were removed and renumbered)",
               row->seq - 1);
    return 1;
  }
  memcpy(w->prev_hash, hash, sizeof hash);
  w->expect_seq++;
  return 0;
}

hg_status hg_store_audit_verify(hg_store *store, hg_audit_check *check, hg_error *err) {
  if (!store || !check) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_audit_verify: NULL argument");
  memset(check, 0, sizeof *check);
  verify_walk w = {.check = check, .expect_seq = 1};
  memset(w.prev_hash, '0', 64);
  pthread_mutex_lock(&store->lock);
  /* from the lowest seq there can be, so that a record slipped in below 1 is seen, not skipped */
  hg_status st = store->backend->audit_each(store->conn, INT64_MIN, verify_row, &w, err);
  pthread_mutex_unlock(&store->lock);
  return st;
}

typedef struct each_walk {
  hg_audit_fn fn;
  void *ctx;
} each_walk;

static int each_row(void *ctx, const hg_audit_row *row) {
  each_walk *w = ctx;
  hg_audit_record r = {.seq = row->seq,
                       .time_ms = row->time_ms,
                       .actor = row->actor.ptr,
                       .route = row->route.ptr,
                       .verdict = row->verdict.ptr,
                       .detail_json = row->detail_json.ptr,
                       .input_sha256 = row->input_sha256.ptr,
                       .output_sha256 = row->output_sha256.ptr,
                       .text = row->text.ptr};
  if (row->hash.ptr) {
    size_t n = row->hash.len < sizeof r.hash ? row->hash.len : sizeof r.hash - 1;
    memcpy(r.hash, row->hash.ptr, n);
  }
  return w->fn(w->ctx, &r);
}

hg_status hg_store_audit_each(hg_store *store, int64_t from_seq, hg_audit_fn fn, void *ctx, hg_error *err) {
  if (!store || !fn) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_audit_each: NULL argument");
  each_walk w = {fn, ctx};
  /* fn runs under the lock: it must not call back into this store */
  pthread_mutex_lock(&store->lock);
  hg_status st = store->backend->audit_each(store->conn, from_seq, each_row, &w, err);
  pthread_mutex_unlock(&store->lock);
  return st;
}

hg_status hg_store_audit_rows(hg_store *store, int64_t from_seq, hg_audit_row_fn fn, void *ctx, hg_error *err) {
  if (!store || !fn) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_audit_rows: NULL argument");
  pthread_mutex_lock(&store->lock);
  hg_status st = store->backend->audit_each(store->conn, from_seq, fn, ctx, err);
  pthread_mutex_unlock(&store->lock);
  return st;
}
