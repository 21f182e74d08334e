/* store/store.c — the backend-neutral half of the store: URL dispatch, the mutex that lets threads share a handle,
 * API keys (made here, stored only as SHA-256), and the audit chain: how a record is serialized and hashed, how
 * an append links to the end of the chain, and how verification walks it. Then the workflows built on the same
 * rows: complaints (their types, validation and the one table of moves a ticket may make), takedowns with their
 * version, users' standing (what a strike or a decision does to it, when a suspension is over, and the strike
 * ladder that decides when blocked inputs suspend or terminate), real-name identity and the gate that
 * reads it with the standing, the minors' usage counters (their arithmetic), the usage quotas (compare-and-count
 * in one transaction), and last data-subject requests and retention. Backends (store_internal.h) only keep rows,
 * so every backend produces and checks the very same chain and enforces the very same rules.
 *
 * The chain cannot see the removal of its newest records: what is left is still a sound chain. A signed
 * checkpoint of the last (seq, hash), kept outside the database, will close that gap (docs/store.md). */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/sha256.h"
#include "hegui/text.h"
#include "store/store_internal.h"

/* Bytes in one audit text field. The gateway stores redacted text, not recordings; a bound keeps one bad call
 * from growing the database by gigabytes. */
#define HG_AUDIT_FIELD_MAX (16u << 20)

/* Versions the serialization; a new layout gets a new tag so old and new hashes can never collide. Format 1 covers
 * text itself; format 2 (every record appended since schema 3) covers text_sha256 in its place, so text can be
 * erased later and the chain still holds. A row's format column says which one its hash uses. */
static const char chain_tag_v1[] = "hegui audit v1\n";
static const char chain_tag_v2[] = "hegui audit v2\n";
#define HG_AUDIT_FORMAT 2 /* what append writes */

struct hg_store {
  const hg_store_backend *backend;
  hg_store_conn *conn;
  pthread_mutex_t lock;    /* one connection, one caller at a time */
  int64_t quota_swept_day; /* the UTC day whose older quota windows this handle has deleted (guarded by lock) */
};

static const char *const role_names[] = {"user", "reviewer", "admin", "auditor"};

/* Names of a small enum: the name of value v, and the value of a name. */
static const char *enum_name(const char *const *names, unsigned count, unsigned v) {
  return v < count ? names[v] : "unknown";
}

static hg_status enum_parse(const char *const *names, unsigned count, const char *name, unsigned *out) {
  if (!name || !out) return HG_ERR_INVALID;
  for (unsigned i = 0; i < count; i++)
    if (!strcmp(name, names[i])) {
      *out = i;
      return HG_OK;
    }
  return HG_ERR_INVALID;
}

#define ENUM_COUNT(a) ((unsigned)(sizeof a / sizeof a[0]))

const char *hg_role_name(hg_role role) { return enum_name(role_names, ENUM_COUNT(role_names), (unsigned)role); }

hg_status hg_role_parse(const char *name, hg_role *out) {
  unsigned v = 0;
  hg_status st = enum_parse(role_names, ENUM_COUNT(role_names), name, &v);
  if (!st) *out = (hg_role)v;
  return st;
}

static int starts_with(const char *s, const char *prefix) { return !strncmp(s, prefix, strlen(prefix)); }

static hg_status check_time(const char *what, int64_t ms, hg_error *err) {
  if (ms < 0) return hg_fail(err, HG_ERR_INVALID, 0, 0, "%s is Unix time in milliseconds, not %" PRId64, what, ms);
  return HG_OK;
}

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

void hg_store_defer_checkpoints(hg_store *store) {
  if (!store->backend->defer_checkpoints) return;
  pthread_mutex_lock(&store->lock);
  store->backend->defer_checkpoints(store->conn);
  pthread_mutex_unlock(&store->lock);
}

int hg_store_log_pages(hg_store *store) {
  if (!store->backend->log_pages) return 0;
  pthread_mutex_lock(&store->lock);
  int n = store->backend->log_pages(store->conn);
  pthread_mutex_unlock(&store->lock);
  return n;
}

hg_status hg_store_checkpoint(hg_store *store, hg_error *err) {
  if (!store->backend->checkpoint) return HG_OK;
  int frames, moved;
  pthread_mutex_lock(&store->lock);
  hg_status st = store->backend->checkpoint(store->conn, &frames, &moved, err);
  pthread_mutex_unlock(&store->lock);
  return st;
}

void hg_store_close(hg_store *store) {
  if (!store) return;
  store->backend->close(store->conn);
  pthread_mutex_destroy(&store->lock);
  free(store);
}

/* ---- API keys --------------------------------------------------------------------------------------------- */

static void key_hash_hex(const char *key, size_t len, char hex[65]) { hg_sha256_hex(key, len, hex); }

/* Format characters (Unicode Cf, from the generated tables): a name holding U+202E shows as another name. */
extern const uint32_t hg_format_ranges[][2];
extern const unsigned hg_format_range_count;

static int is_format_char(uint32_t cp) {
  unsigned lo = 0, hi = hg_format_range_count;
  while (lo < hi) {
    unsigned mid = (lo + hi) / 2;
    if (cp < hg_format_ranges[mid][0])
      hi = mid;
    else if (cp > hg_format_ranges[mid][1])
      lo = mid + 1;
    else
      return 1;
  }
  return 0;
}

/* Names show up in CLI output, logs and the console, so they are printable UTF-8 of a size hg_key_info can hold:
 * no controls (C0, DEL, C1) and no format characters, which would make one name look like another. */
static hg_status check_user_name(const char *user, hg_error *err) {
  size_t len = strlen(user);
  size_t bad;
  if (!len) return hg_fail(err, HG_ERR_INVALID, 0, 0, "a user name cannot be empty");
  if (len >= sizeof((hg_key_info *)0)->user)
    return hg_fail(err, HG_ERR_LIMIT, 0, 0, "a user name is at most %zu bytes", sizeof((hg_key_info *)0)->user - 1);
  if (hg_utf8_validate(user, len, &bad))
    return hg_fail(err, HG_ERR_UTF8, 0, bad, "the user name is not valid UTF-8 (byte offset %zu)", bad);
  for (size_t i = 0; i < len;) {
    uint32_t cp;
    int n = hg_utf8_decode((const uint8_t *)user + i, len - i, &cp);
    if (n <= 0) return hg_fail(err, HG_ERR_UTF8, 0, i, "the user name is not valid UTF-8 (byte offset %zu)", i);
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
      return hg_fail(err, HG_ERR_INVALID, 0, i, "the user name holds a control character at byte offset %zu", i);
    if (is_format_char(cp))
      return hg_fail(err, HG_ERR_INVALID, 0, i, "the user name holds a format character (U+%04X) at byte offset %zu",
                     (unsigned)cp, i);
    i += (size_t)n;
  }
  return HG_OK;
}

hg_status hg_user_name_check(const char *name, hg_error *err) { return check_user_name(name, err); }

hg_status hg_store_key_create(hg_store *store, const char *user, hg_role role, char key_out[HG_KEY_MAX],
                              hg_error *err) {
  return hg_store_key_create_ex(store, user, role, 0, key_out, err);
}

/* An expiry already past is taken as given: the store keeps the time, the caller's clock refuses the key. */
hg_status hg_store_key_create_ex(hg_store *store, const char *user, hg_role role, int64_t expires_ms,
                                 char key_out[HG_KEY_MAX], hg_error *err) {
  if (!store || !user || !key_out) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_key_create: NULL argument");
  if ((unsigned)role > HG_ROLE_AUDITOR) return hg_fail(err, HG_ERR_INVALID, 0, 0, "unknown role %d", (int)role);
  hg_status st = check_user_name(user, err);
  if (!st && expires_ms < 0)
    st = hg_fail(err, HG_ERR_INVALID, 0, 0, "a key's expires_ms is Unix time in milliseconds (0 = never), not %" PRId64,
                 expires_ms);
  if (st) return st;

  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  memcpy(key_out, "hg-", 3);
  sodium_bin2base64(key_out + 3, HG_KEY_MAX - 3, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(raw, sizeof raw);
  char hash[65];
  key_hash_hex(key_out, strlen(key_out), hash);

  const hg_store_backend *b = store->backend;
  int64_t user_id = 0, t = hg_clock_wall_ms();
  pthread_mutex_lock(&store->lock);
  st = b->begin(store->conn, err);
  if (!st) st = b->user_ensure(store->conn, user, t, &user_id, err);
  if (!st) st = b->key_insert(store->conn, user_id, hg_role_name(role), hash, t, expires_ms, err);
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

hg_status hg_store_key_list(hg_store *store, const char *user, hg_key_fn fn, void *ctx, hg_error *err) {
  if (!store || !fn) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_key_list: NULL argument");
  hg_status st = user ? check_user_name(user, err) : HG_OK;
  if (st) return st;
  const hg_store_backend *b = store->backend;
  int64_t user_id = 0; /* all users */
  /* fn runs under the lock: it must not call back into this store */
  pthread_mutex_lock(&store->lock);
  if (user) st = b->user_find(store->conn, user, &user_id, err);
  if (!st) st = b->key_list(store->conn, user_id, fn, ctx, err);
  pthread_mutex_unlock(&store->lock);
  return st;
}

typedef struct key_pick {
  const hg_key_match *m;
  int64_t *ids;
  size_t n, cap;
  int failed;
} key_pick;

static int pick_key(void *ctx, const hg_key_info *k) {
  key_pick *p = ctx;
  const hg_key_match *m = p->m;
  if (k->revoked || k->key_id == m->except_key_id) return 0;
  if (m->role_set && k->role != m->role) return 0;
  if (m->created_before_ms > 0 && k->created_ms >= m->created_before_ms) return 0;
  if (m->n_ids) {
    size_t i = 0;
    while (i < m->n_ids && m->ids[i] != k->key_id)
      i++;
    if (i == m->n_ids) return 0;
  }
  if (p->n == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 16;
    int64_t *ids = realloc(p->ids, cap * sizeof *ids);
    if (!ids) return p->failed = 1;
    p->ids = ids, p->cap = cap;
  }
  p->ids[p->n++] = k->key_id;
  return 0;
}

hg_status hg_store_key_revoke_matching(hg_store *store, const hg_key_match *m, int64_t *revoked, int64_t *ids_out,
                                       size_t ids_cap, hg_error *err) {
  if (!store || !m || !revoked)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_key_revoke_matching: NULL argument");
  *revoked = 0;
  if (!m->user && !m->role_set && m->created_before_ms <= 0 && !m->n_ids)
    return hg_fail(err, HG_ERR_INVALID, 0, 0,
                   "a bulk revocation needs at least one condition (user, role, created_before or ids)");
  if (m->role_set && (unsigned)m->role > HG_ROLE_AUDITOR)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "unknown role %d", (int)m->role);
  if (m->n_ids && !m->ids) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_key_revoke_matching: NULL ids");
  hg_status st = m->user ? check_user_name(m->user, err) : HG_OK;
  if (st) return st;
  const hg_store_backend *b = store->backend;
  key_pick p = {m, NULL, 0, 0, 0};
  int64_t user_id = 0;
  pthread_mutex_lock(&store->lock);
  /* the keys are chosen and revoked in one write transaction: a key made meanwhile is either seen or not made yet */
  st = b->begin(store->conn, err);
  if (!st && m->user) st = b->user_find(store->conn, m->user, &user_id, err);
  if (!st) st = b->key_list(store->conn, user_id, pick_key, &p, err);
  if (!st && p.failed) st = hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory choosing keys to revoke");
  for (size_t i = 0; !st && i < p.n; i++)
    st = b->key_revoke(store->conn, p.ids[i], err);
  if (!st) st = b->commit(store->conn, err);
  if (st) b->rollback(store->conn);
  pthread_mutex_unlock(&store->lock);
  if (!st) {
    *revoked = (int64_t)p.n;
    for (size_t i = 0; ids_out && i < p.n && i < ids_cap; i++)
      ids_out[i] = p.ids[i];
  }
  free(p.ids);
  return st;
}

/* ---- audit chain ------------------------------------------------------------------------------------------ */

/* One field of the serialization: "<decimal length>:<bytes>", or "-" for NULL. A reader of the serialization
 * always knows where a field ends, and "-" cannot start a length, so two different records never serialize to
 * the same bytes — whatever their fields contain. */
static void put_field(hg_sha256_ctx *state, hg_store_text field) {
  if (!field.ptr) {
    hg_sha256_update(state, "-", 1);
    return;
  }
  char head[32];
  int n = snprintf(head, sizeof head, "%zu:", field.len);
  hg_sha256_update(state, head, (size_t)n);
  hg_sha256_update(state, field.ptr, field.len);
}

static void put_int(hg_sha256_ctx *state, int64_t value) {
  char digits[32];
  int n = snprintf(digits, sizeof digits, "%" PRId64, value);
  put_field(state, (hg_store_text){digits, (size_t)n});
}

/* The hash of a row over everything but its own hash field; prev_hash is covered, which makes the chain. The
 * caller has checked that row->format is 1 or 2. */
static void chain_hash(const hg_audit_row *row, char hex[65]) {
  hg_sha256_ctx state;
  hg_sha256_init(&state);
  if (row->format == 1)
    hg_sha256_update(&state, chain_tag_v1, sizeof chain_tag_v1 - 1);
  else
    hg_sha256_update(&state, chain_tag_v2, sizeof chain_tag_v2 - 1);
  put_int(&state, row->seq);
  put_int(&state, row->time_ms);
  put_field(&state, row->actor);
  put_field(&state, row->route);
  put_field(&state, row->verdict);
  put_field(&state, row->detail_json);
  put_field(&state, row->input_sha256);
  put_field(&state, row->output_sha256);
  put_field(&state, row->format == 1 ? row->text : row->text_sha256);
  put_field(&state, row->prev_hash);
  uint8_t digest[HG_SHA256_BYTES];
  hg_sha256_final(&state, digest);
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

/* Links row (fields taken, seq and hashes not yet set) to the end of the chain and inserts it as format 2. The
 * caller holds the lock and has begun a write transaction. */
static hg_status append_in_transaction(hg_store *store, hg_audit_row *row, char hash[65], hg_error *err) {
  const hg_store_backend *b = store->backend;
  char prev[65], text_digest[65];
  int64_t last_seq = 0;
  hg_status st = b->audit_last(store->conn, &last_seq, prev, err);
  if (!st && last_seq == INT64_MAX) st = hg_fail(err, HG_ERR_LIMIT, 0, 0, "the audit chain is full");
  if (st) return st;
  if (last_seq == 0) memset(prev, '0', 64), prev[64] = 0; /* the first record links to 64 zeros */
  row->format = HG_AUDIT_FORMAT;
  row->text_sha256 = (hg_store_text){NULL, 0};
  if (row->text.ptr) {
    key_hash_hex(row->text.ptr, row->text.len, text_digest);
    row->text_sha256 = (hg_store_text){text_digest, 64};
  }
  row->seq = last_seq + 1;
  row->prev_hash = (hg_store_text){prev, 64};
  chain_hash(row, hash);
  row->hash = (hg_store_text){hash, 64};
  return b->audit_insert(store->conn, row, err);
}

hg_status hg_store_audit_append(hg_store *store, hg_audit_record *record, hg_error *err) {
  if (!store || !record) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_audit_append: NULL argument");
  if (record->time_ms < 0) return hg_fail(err, HG_ERR_INVALID, 0, 0, "audit time_ms cannot be negative");
  hg_audit_row row = {.time_ms = record->time_ms ? record->time_ms : hg_clock_wall_ms()};
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
  char hash[65];
  pthread_mutex_lock(&store->lock);
  /* Reading the end and inserting after it happen in one transaction that shuts out other writers, so two
   * appends (from this process or another) can never both link to the same record. */
  st = b->begin(store->conn, err);
  if (!st) st = append_in_transaction(store, &row, hash, err);
  if (!st) st = b->commit(store->conn, err); /* synchronous: the record is on disk when this returns */
  if (st) b->rollback(store->conn);
  pthread_mutex_unlock(&store->lock);
  if (st) return st;
  record->seq = row.seq;
  memcpy(record->hash, hash, sizeof record->hash);
  return HG_OK;
}

hg_status hg_store_audit_append_many(hg_store *store, hg_audit_record *records, size_t n, hg_error *err) {
  if (!store || (!records && n)) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_audit_append_many: NULL argument");
  if (!n) return HG_OK;
  hg_audit_row *rows = calloc(n, sizeof *rows);
  if (!rows) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory appending %zu audit records", n);
  hg_status st = HG_OK;
  int64_t now = hg_clock_wall_ms();
  for (size_t i = 0; i < n && !st; i++) {
    hg_audit_record *r = &records[i];
    if (r->time_ms < 0) st = hg_fail(err, HG_ERR_INVALID, 0, 0, "audit time_ms cannot be negative (record %zu)", i);
    rows[i].time_ms = r->time_ms ? r->time_ms : now;
    if (!st && ((st = take_field("actor", r->actor, 1, &rows[i].actor, err)) ||
                (st = take_field("route", r->route, 1, &rows[i].route, err)) ||
                (st = take_field("verdict", r->verdict, 1, &rows[i].verdict, err)) ||
                (st = take_field("detail_json", r->detail_json, 0, &rows[i].detail_json, err)) ||
                (st = take_digest("input_sha256", r->input_sha256, &rows[i].input_sha256, err)) ||
                (st = take_digest("output_sha256", r->output_sha256, &rows[i].output_sha256, err)) ||
                (st = take_field("text", r->text, 0, &rows[i].text, err))))
      break;
  }
  if (st) return free(rows), st;
  const hg_store_backend *b = store->backend;
  pthread_mutex_lock(&store->lock);
  /* one transaction, one sync for all of them: group commit */
  st = b->begin(store->conn, err);
  for (size_t i = 0; i < n && !st; i++)
    st = append_in_transaction(store, &rows[i], records[i].hash, err);
  if (!st) st = b->commit(store->conn, err);
  if (st) b->rollback(store->conn);
  pthread_mutex_unlock(&store->lock);
  for (size_t i = 0; i < n; i++)
    records[i].seq = st ? 0 : rows[i].seq;
  free(rows);
  return st;
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
  if (row->format != 1 && row->format != 2) {
    c->first_bad = row->seq;
    snprintf(c->problem, sizeof c->problem, "unknown format %" PRId64 " (this hegui knows 1 and 2)", row->format);
    return 1;
  }
  if (row->format == 2 && row->text.ptr) {
    /* text that is still there must be the text the hashed digest stands for; erased text (NULL) keeps the digest */
    key_hash_hex(row->text.ptr, row->text.len, hash);
    if (!text_is(row->text_sha256, hash)) {
      c->first_bad = row->seq;
      snprintf(c->problem, sizeof c->problem, "changed (its text does not match its text_sha256)");
      return 1;
    }
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

/* ---- complaints ------------------------------------------------------------------------------------------- */

/* Bounds on what a complainant sends: enough for a pasted answer and an address, not for a file. */
#define HG_COMPLAINT_TEXT_MAX (64u << 10)
#define HG_COMPLAINT_CONTACT_MAX 512u
#define HG_COMPLAINT_PRODUCE_ID_MAX 256u
#define HG_STANDING_REASON_MAX 4096u

static const char *const complaint_type_names[HG_COMPLAINT_TYPES] = {
    [HG_COMPLAINT_PROHIBITED_CONTENT] = "prohibited_content",
    [HG_COMPLAINT_IP_INFRINGEMENT] = "ip_infringement",
    [HG_COMPLAINT_PRIVACY] = "privacy",
    [HG_COMPLAINT_PERSONAL_INFO] = "personal_info",
    [HG_COMPLAINT_OTHER] = "other",
};

static const char *const complaint_status_names[HG_COMPLAINT_STATUSES] = {
    [HG_COMPLAINT_RECEIVED] = "received", [HG_COMPLAINT_IN_REVIEW] = "in_review", [HG_COMPLAINT_UPHELD] = "upheld",
    [HG_COMPLAINT_REJECTED] = "rejected", [HG_COMPLAINT_CLOSED] = "closed",
};

/* A ticket's life: complaint_moves[from][to] is 1 when a ticket may move from one status to the other; "closed" is
 * final. Moving forward only keeps the record honest: a rejected complaint cannot quietly become "received" again.
 * Every check of a move, the store's and the gateway's, reads this table (hg_complaint_move_allowed). */
static const unsigned char complaint_moves[HG_COMPLAINT_STATUSES][HG_COMPLAINT_STATUSES] = {
    /* to:                      received, in_review, upheld, rejected, closed */
    [HG_COMPLAINT_RECEIVED] = {0, 1, 1, 1, 0},  /* -> in_review, upheld, rejected */
    [HG_COMPLAINT_IN_REVIEW] = {0, 0, 1, 1, 0}, /* -> upheld, rejected */
    [HG_COMPLAINT_UPHELD] = {0, 0, 0, 0, 1},    /* -> closed */
    [HG_COMPLAINT_REJECTED] = {0, 0, 0, 0, 1},  /* -> closed */
    [HG_COMPLAINT_CLOSED] = {0, 0, 0, 0, 0},    /* final */
};

const char *hg_complaint_type_name(hg_complaint_type type) {
  return enum_name(complaint_type_names, HG_COMPLAINT_TYPES, (unsigned)type);
}

hg_status hg_complaint_type_parse(const char *name, hg_complaint_type *out) {
  unsigned v;
  hg_status st = enum_parse(complaint_type_names, HG_COMPLAINT_TYPES, name, &v);
  if (!st && out) *out = (hg_complaint_type)v;
  return st;
}

const char *hg_complaint_status_name(hg_complaint_status status) {
  return enum_name(complaint_status_names, HG_COMPLAINT_STATUSES, (unsigned)status);
}

hg_status hg_complaint_status_parse(const char *name, hg_complaint_status *out) {
  unsigned v;
  hg_status st = enum_parse(complaint_status_names, HG_COMPLAINT_STATUSES, name, &v);
  if (!st && out) *out = (hg_complaint_status)v;
  return st;
}

int hg_complaint_move_allowed(const char *from, const char *to) {
  hg_complaint_status f, t;
  if (hg_complaint_status_parse(from, &f) || hg_complaint_status_parse(to, &t)) return 0;
  return complaint_moves[f][t];
}

/* Joins the names whose pick is set, in order: "a, b or c" with last = " or ", "a, b, c" with last = ", ". */
static void join_names(const char *const *names, const unsigned char *pick, unsigned count, const char *last, char *buf,
                       size_t cap) {
  unsigned n = 0, done = 0;
  for (unsigned i = 0; i < count; i++)
    n += !pick || pick[i];
  if (!buf || !cap) return;
  buf[0] = 0;
  for (unsigned i = 0; i < count; i++) {
    if (pick && !pick[i]) continue;
    size_t used = strlen(buf);
    snprintf(buf + used, cap - used, "%s%s", done == 0 ? "" : done + 1 == n ? last : ", ", names[i]);
    done++;
  }
}

void hg_complaint_type_list(char *buf, size_t cap) {
  join_names(complaint_type_names, NULL, HG_COMPLAINT_TYPES, ", ", buf, cap);
}

void hg_complaint_moves_into(const char *to, char *buf, size_t cap) {
  unsigned char from[HG_COMPLAINT_STATUSES] = {0};
  hg_complaint_status t;
  if (!hg_complaint_status_parse(to, &t))
    for (unsigned i = 0; i < HG_COMPLAINT_STATUSES; i++)
      from[i] = complaint_moves[i][t];
  join_names(complaint_status_names, from, HG_COMPLAINT_STATUSES, " or ", buf, cap);
}

/* An optional string from outside: NULL and "" both mean absent; otherwise valid UTF-8 of at most max bytes. The
 * value itself is never echoed into the message, which may travel back to whoever sent it. */
static hg_status take_text(const char *what, const char *value, size_t max, const char **out, hg_error *err) {
  *out = NULL;
  if (!value || !*value) return HG_OK;
  size_t len = strlen(value), bad;
  if (len > max) return hg_fail(err, HG_ERR_INVALID, 0, max, "%s is %zu bytes; the limit is %zu", what, len, max);
  if (hg_utf8_validate(value, len, &bad))
    return hg_fail(err, HG_ERR_INVALID, 0, bad, "%s is not valid UTF-8 (byte offset %zu)", what, bad);
  *out = value;
  return HG_OK;
}

static hg_store_text text_of(const char *s) { return (hg_store_text){s, s ? strlen(s) : 0}; }

void hg_complaint_clear(hg_complaint *c) {
  if (!c) return;
  free(c->produce_id);
  free(c->text);
  free(c->contact);
  free(c->resolution);
  memset(c, 0, sizeof *c);
}

hg_status hg_store_complaint_add(hg_store *store, const char *type, const char *produce_id, const char *text,
                                 const char *contact, int64_t created_ms, int64_t due_ms, int64_t *id, hg_error *err) {
  return hg_store_complaint_add_from(store, "web", type, produce_id, text, contact, created_ms, due_ms, id, err);
}

static const char *const complaint_channels[] = {"web", "phone", "email", "letter", "in_person"};

hg_status hg_store_complaint_add_from(hg_store *store, const char *channel, const char *type, const char *produce_id,
                                      const char *text, const char *contact, int64_t created_ms, int64_t due_ms,
                                      int64_t *id, hg_error *err) {
  if (!store || !type || !id || !channel)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_complaint_add: NULL argument");
  int channel_known = 0;
  for (size_t i = 0; i < sizeof complaint_channels / sizeof complaint_channels[0]; i++)
    channel_known |= !strcmp(channel, complaint_channels[i]);
  if (!channel_known)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "the channel must be one of web, phone, email, letter, in_person");
  if (hg_complaint_type_parse(type, NULL)) {
    char types[96];
    hg_complaint_type_list(types, sizeof types);
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "the complaint type must be one of %s", types);
  }
  hg_complaint_row row = {.type = text_of(type), .status = text_of("received"), .channel = text_of(channel)};
  const char *p, *t, *c;
  hg_status st;
  if ((st = take_text("the produce_id", produce_id, HG_COMPLAINT_PRODUCE_ID_MAX, &p, err)) ||
      (st = take_text("the complaint text", text, HG_COMPLAINT_TEXT_MAX, &t, err)) ||
      (st = take_text("the contact", contact, HG_COMPLAINT_CONTACT_MAX, &c, err)) ||
      (st = check_time("created_ms", created_ms, err)))
    return st;
  if (!p && !t)
    return hg_fail(err, HG_ERR_INVALID, 0, 0,
                   "a complaint needs the text complained about or the produce_id of the answer (both are empty)");
  if (due_ms < created_ms)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "a complaint cannot be due (%" PRId64 ") before it is made (%" PRId64 ")",
                   due_ms, created_ms);
  row.produce_id = text_of(p);
  row.text = text_of(t);
  row.contact = text_of(c);
  row.created_ms = row.updated_ms = created_ms;
  row.due_ms = due_ms;

  const hg_store_backend *b = store->backend;
  int64_t new_id = 0;
  pthread_mutex_lock(&store->lock);
  st = b->begin(store->conn, err);
  if (!st) st = b->complaint_insert(store->conn, &row, &new_id, err);
  if (!st) st = b->commit(store->conn, err); /* synchronous: an acknowledged complaint is on disk */
  if (st) b->rollback(store->conn);
  pthread_mutex_unlock(&store->lock);
  if (!st) *id = new_id;
  return st;
}

/* Copies a fixed-size field; a stored value that does not fit was not written by this code. */
static int copy_name(char *dst, size_t cap, hg_store_text src) {
  if (!src.ptr || src.len >= cap) return -1;
  memcpy(dst, src.ptr, src.len);
  dst[src.len] = 0;
  return 0;
}

static int dup_text(char **dst, hg_store_text src) {
  *dst = NULL;
  if (!src.ptr) return 0;
  if (!(*dst = malloc(src.len + 1))) return -1;
  memcpy(*dst, src.ptr, src.len);
  (*dst)[src.len] = 0;
  return 0;
}

typedef struct complaint_copy {
  hg_complaint *out;
  int failed; /* 1: out of memory, 2: a stored type or status too long to be one */
} complaint_copy;

static int copy_complaint(void *ctx, const hg_complaint_row *row) {
  complaint_copy *cc = ctx;
  hg_complaint *c = cc->out;
  c->id = row->id;
  c->created_ms = row->created_ms;
  c->due_ms = row->due_ms;
  c->updated_ms = row->updated_ms;
  if (copy_name(c->type, sizeof c->type, row->type) || copy_name(c->status, sizeof c->status, row->status) ||
      copy_name(c->channel, sizeof c->channel, row->channel))
    cc->failed = 2;
  else if (dup_text(&c->produce_id, row->produce_id) || dup_text(&c->text, row->text) ||
           dup_text(&c->contact, row->contact) || dup_text(&c->resolution, row->resolution))
    cc->failed = 1;
  return 1;
}

hg_status hg_store_complaint_get(hg_store *store, int64_t id, hg_complaint *out, hg_error *err) {
  if (!store || !out) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_complaint_get: NULL argument");
  memset(out, 0, sizeof *out);
  if (id <= 0) return hg_fail(err, HG_ERR_INVALID, 0, 0, "a complaint id is a positive number, not %" PRId64, id);
  complaint_copy cc = {out, 0};
  pthread_mutex_lock(&store->lock);
  hg_status st = store->backend->complaint_get(store->conn, id, copy_complaint, &cc, err);
  pthread_mutex_unlock(&store->lock);
  if (!st && cc.failed == 1) st = hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory reading complaint %" PRId64, id);
  if (!st && cc.failed == 2)
    st = hg_fail(err, HG_ERR_STORE, 0, 0, "store: complaint %" PRId64 " has a damaged type or status", id);
  if (st) hg_complaint_clear(out);
  return st;
}

/* "in_review, upheld or rejected": where a ticket in status from may go */
static void list_moves(hg_complaint_status from, char *buf, size_t cap) {
  join_names(complaint_status_names, complaint_moves[from], HG_COMPLAINT_STATUSES, " or ", buf, cap);
}

static int copy_status(void *ctx, const hg_complaint_row *row) {
  char *status = ctx;
  if (copy_name(status, 16, row->status)) status[0] = 0;
  return 1;
}

hg_status hg_store_complaint_set_status(hg_store *store, int64_t id, const char *status, const char *resolution,
                                        int64_t now_ms, hg_error *err) {
  if (!store || !status) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_complaint_set_status: NULL argument");
  if (id <= 0) return hg_fail(err, HG_ERR_INVALID, 0, 0, "a complaint id is a positive number, not %" PRId64, id);
  if (hg_complaint_status_parse(status, NULL)) {
    char statuses[96];
    join_names(complaint_status_names, NULL, HG_COMPLAINT_STATUSES, ", ", statuses, sizeof statuses);
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "a complaint's status is one of %s", statuses);
  }
  const char *res;
  hg_status st;
  if ((st = take_text("the resolution", resolution, HG_COMPLAINT_TEXT_MAX, &res, err)) ||
      (st = check_time("now_ms", now_ms, err)))
    return st;

  const hg_store_backend *b = store->backend;
  char current[16] = "";
  pthread_mutex_lock(&store->lock);
  /* Read and move in one write transaction, so two reviewers cannot both move the ticket from the same status. */
  st = b->begin(store->conn, err);
  if (!st) st = b->complaint_get(store->conn, id, copy_status, current, err);
  if (!st) {
    hg_complaint_status from;
    char moves[96];
    if (hg_complaint_status_parse(current, &from)) {
      st = hg_fail(err, HG_ERR_STORE, 0, 0, "store: complaint %" PRId64 " has a damaged status", id);
    } else if (!hg_complaint_move_allowed(current, status)) {
      list_moves(from, moves, sizeof moves);
      if (!moves[0])
        st = hg_fail(err, HG_ERR_INVALID, 0, 0, "complaint %" PRId64 " is %s, which is final; it cannot move to %s", id,
                     current, status);
      else
        st = hg_fail(err, HG_ERR_INVALID, 0, 0, "complaint %" PRId64 " is %s; from there it can move to %s, not to %s",
                     id, current, moves, status);
    }
  }
  if (!st) st = b->complaint_update(store->conn, id, current, status, res, now_ms, err);
  if (!st) st = b->commit(store->conn, err);
  if (st) b->rollback(store->conn);
  pthread_mutex_unlock(&store->lock);
  return st;
}

typedef struct complaint_walk {
  hg_complaint_fn fn;
  void *ctx;
} complaint_walk;

static int complaint_row(void *ctx, const hg_complaint_row *row) {
  complaint_walk *w = ctx;
  /* the strings point into the backend's row: valid during the call, as documented, and never freed by fn */
  hg_complaint c = {.id = row->id,
                    .created_ms = row->created_ms,
                    .due_ms = row->due_ms,
                    .updated_ms = row->updated_ms,
                    .produce_id = (char *)row->produce_id.ptr,
                    .text = (char *)row->text.ptr,
                    .contact = (char *)row->contact.ptr,
                    .resolution = (char *)row->resolution.ptr};
  if (copy_name(c.type, sizeof c.type, row->type)) snprintf(c.type, sizeof c.type, "?");
  if (copy_name(c.status, sizeof c.status, row->status)) snprintf(c.status, sizeof c.status, "?");
  if (copy_name(c.channel, sizeof c.channel, row->channel)) snprintf(c.channel, sizeof c.channel, "?");
  return w->fn(w->ctx, &c);
}

/* A page's walk: at most limit rows reach fn; the row after them is only counted, and the last id given kept. */
typedef struct page_walk {
  complaint_walk *w;
  int64_t limit, seen, last_id;
} page_walk;

static int page_row(void *ctx, const hg_complaint_row *row) {
  page_walk *p = ctx;
  if (++p->seen > p->limit) return 1;
  p->last_id = row->id;
  return complaint_row(p->w, row);
}

hg_status hg_store_complaint_list(hg_store *store, int only_overdue, int64_t now_ms, hg_complaint_fn fn, void *ctx,
                                  hg_error *err) {
  if (!store || !fn) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_complaint_list: NULL argument");
  complaint_walk w = {fn, ctx};
  /* fn runs under the lock: it must not call back into this store */
  pthread_mutex_lock(&store->lock);
  hg_status st = store->backend->complaint_list(store->conn, only_overdue != 0, now_ms, complaint_row, &w, err);
  pthread_mutex_unlock(&store->lock);
  return st;
}

hg_status hg_store_complaint_query(hg_store *store, const hg_complaint_query *q, int64_t now_ms, hg_complaint_fn fn,
                                   void *ctx, int64_t *next_before_id, hg_error *err) {
  if (!store || !q || !fn || !next_before_id)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_complaint_query: NULL argument");
  *next_before_id = 0;
  if (q->status && hg_complaint_status_parse(q->status, NULL)) {
    char statuses[96];
    join_names(complaint_status_names, NULL, HG_COMPLAINT_STATUSES, ", ", statuses, sizeof statuses);
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "status must be one of %s", statuses);
  }
  if (q->type && hg_complaint_type_parse(q->type, NULL)) {
    char types[96];
    hg_complaint_type_list(types, sizeof types);
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "type must be one of %s", types);
  }
  if (q->channel) {
    int known = 0;
    for (size_t i = 0; i < sizeof complaint_channels / sizeof complaint_channels[0]; i++)
      known |= !strcmp(q->channel, complaint_channels[i]);
    if (!known)
      return hg_fail(err, HG_ERR_INVALID, 0, 0, "channel must be one of web, phone, email, letter, in_person");
  }
  if (q->limit < 1 || q->limit > HG_COMPLAINT_PAGE_MAX)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "limit must be 1 to %d, not %" PRId64, HG_COMPLAINT_PAGE_MAX, q->limit);
  if (q->before_id < 0)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "before is a ticket id (a positive number), not %" PRId64, q->before_id);
  /* one row more than the page: whether it exists says whether there is a next page */
  hg_complaint_query one_more = *q;
  one_more.limit = q->limit + 1;
  complaint_walk w = {fn, ctx};
  page_walk pw = {&w, q->limit, 0, 0};
  pthread_mutex_lock(&store->lock);
  hg_status st = store->backend->complaint_query(store->conn, &one_more, now_ms, page_row, &pw, err);
  pthread_mutex_unlock(&store->lock);
  if (!st && pw.seen > q->limit) *next_before_id = pw.last_id;
  return st;
}

/* The secret as the store keeps it: SHA-256 of the printed secret, hex. */
static void secret_hash_hex(const char *secret, size_t len, char out[65]) { hg_sha256_hex(secret, len, out); }

hg_status hg_store_complaint_new_secret(hg_store *store, int64_t id, char secret_out[HG_COMPLAINT_SECRET_MAX],
                                        hg_error *err) {
  if (!store || !secret_out) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_complaint_new_secret: NULL argument");
  if (id <= 0) return hg_fail(err, HG_ERR_INVALID, 0, 0, "a complaint id is a positive number, not %" PRId64, id);
  unsigned char raw[24];
  randombytes_buf(raw, sizeof raw);
  sodium_bin2base64(secret_out, HG_COMPLAINT_SECRET_MAX, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(raw, sizeof raw);
  char hash[65];
  secret_hash_hex(secret_out, strlen(secret_out), hash);
  const hg_store_backend *b = store->backend;
  pthread_mutex_lock(&store->lock);
  hg_status st = b->begin(store->conn, err);
  if (!st) st = b->complaint_set_secret(store->conn, id, hash, err);
  if (!st) st = b->commit(store->conn, err);
  if (st) b->rollback(store->conn);
  pthread_mutex_unlock(&store->lock);
  if (st) sodium_memzero(secret_out, HG_COMPLAINT_SECRET_MAX); /* a secret not stored must not be handed out */
  return st;
}

hg_status hg_store_complaint_lookup(hg_store *store, int64_t id, const char *secret, hg_complaint *out, hg_error *err) {
  if (!store || !out) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_complaint_lookup: NULL argument");
  memset(out, 0, sizeof *out);
  size_t len = secret ? strlen(secret) : 0;
  char want[65], have[65] = "";
  secret_hash_hex(secret ? secret : "", len, want);
  hg_status st = HG_OK;
  if (id > 0 && len > 0 && len < HG_COMPLAINT_SECRET_MAX) {
    pthread_mutex_lock(&store->lock);
    st = store->backend->complaint_secret(store->conn, id, have, err);
    pthread_mutex_unlock(&store->lock);
    if (st && st != HG_ERR_NOT_FOUND) return st;
  }
  /* one answer for every way of not matching; the digests are compared in constant time */
  if (st || strlen(have) != 64 || sodium_memcmp(want, have, 64))
    return hg_fail(err, HG_ERR_NOT_FOUND, 0, 0, "no complaint has this number and secret");
  return hg_store_complaint_get(store, id, out, err);
}

/* ---- takedowns -------------------------------------------------------------------------------------------- */

static int ignore_complaint(void *ctx, const hg_complaint_row *row) {
  (void)ctx, (void)row;
  return 1;
}

hg_status hg_store_takedown_add(hg_store *store, const char *text, int64_t complaint_id, int64_t created_ms,
                                int64_t expires_ms, int64_t *id, hg_error *err) {
  if (!store || !id) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_takedown_add: NULL argument");
  const char *t;
  hg_status st;
  if ((st = take_text("the takedown text", text, HG_COMPLAINT_TEXT_MAX, &t, err)) ||
      (st = check_time("created_ms", created_ms, err)) || (st = check_time("expires_ms", expires_ms, err)))
    return st;
  if (!t) return hg_fail(err, HG_ERR_INVALID, 0, 0, "a takedown needs the text to take down");
  if (complaint_id < 0)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "a complaint id is a positive number (or 0 for none), not %" PRId64,
                   complaint_id);
  if (expires_ms && expires_ms <= created_ms)
    return hg_fail(err, HG_ERR_INVALID, 0, 0,
                   "a takedown cannot expire (%" PRId64 ") before it is made (%" PRId64 "); 0 keeps it for good",
                   expires_ms, created_ms);

  const hg_store_backend *b = store->backend;
  int64_t new_id = 0;
  pthread_mutex_lock(&store->lock);
  /* the row and the version move together, so a gateway that sees the new version also sees the row */
  st = b->begin(store->conn, err);
  if (!st && complaint_id > 0) st = b->complaint_get(store->conn, complaint_id, ignore_complaint, NULL, err);
  if (!st) st = b->takedown_insert(store->conn, t, complaint_id, created_ms, expires_ms, &new_id, err);
  if (!st) st = b->takedown_version_bump(store->conn, err);
  if (!st) st = b->commit(store->conn, err);
  if (st) b->rollback(store->conn);
  pthread_mutex_unlock(&store->lock);
  if (!st) *id = new_id;
  return st;
}

hg_status hg_store_takedown_withdraw(hg_store *store, int64_t id, const char *by, const char *reason, int64_t now_ms,
                                     hg_error *err) {
  if (!store) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_takedown_withdraw: NULL store");
  if (id <= 0) return hg_fail(err, HG_ERR_INVALID, 0, 0, "a takedown id is a positive number, not %" PRId64, id);
  const char *b_, *r;
  hg_status st;
  if ((st = take_text("who withdraws", by, 256, &b_, err)) ||
      (st = take_text("the reason", reason, HG_COMPLAINT_TEXT_MAX, &r, err)) ||
      (st = check_time("now_ms", now_ms, err)))
    return st;
  if (!b_ || !r) return hg_fail(err, HG_ERR_INVALID, 0, 0, "withdrawing a takedown needs who withdraws it and why");
  const hg_store_backend *b = store->backend;
  int changed = 0, exists = 0;
  pthread_mutex_lock(&store->lock);
  /* the mark and the version move together: every gateway rebuilds its fingerprints without it */
  st = b->begin(store->conn, err);
  if (!st) st = b->takedown_withdraw(store->conn, id, b_, r, now_ms, &changed, &exists, err);
  if (!st && !exists) st = hg_fail(err, HG_ERR_NOT_FOUND, 0, 0, "no takedown has id %" PRId64, id);
  if (!st && !changed) st = hg_fail(err, HG_ERR_CONFLICT, 0, 0, "takedown %" PRId64 " is already withdrawn", id);
  if (!st) st = b->takedown_version_bump(store->conn, err);
  if (!st) st = b->commit(store->conn, err);
  if (st) b->rollback(store->conn);
  pthread_mutex_unlock(&store->lock);
  return st;
}

hg_status hg_store_takedown_list(hg_store *store, hg_takedown_info_fn fn, void *ctx, hg_error *err) {
  if (!store || !fn) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_takedown_list: NULL argument");
  pthread_mutex_lock(&store->lock);
  hg_status st = store->backend->takedown_list(store->conn, fn, ctx, err);
  pthread_mutex_unlock(&store->lock);
  return st;
}

hg_status hg_store_takedown_each(hg_store *store, int64_t now_ms, hg_takedown_fn fn, void *ctx, hg_error *err) {
  if (!store || !fn) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_takedown_each: NULL argument");
  /* fn runs under the lock: it must not call back into this store */
  pthread_mutex_lock(&store->lock);
  hg_status st = store->backend->takedown_each(store->conn, now_ms, fn, ctx, err);
  pthread_mutex_unlock(&store->lock);
  return st;
}

hg_status hg_store_takedown_version(hg_store *store, int64_t *version, hg_error *err) {
  if (!store || !version) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_takedown_version: NULL argument");
  pthread_mutex_lock(&store->lock);
  hg_status st = store->backend->takedown_version(store->conn, version, err);
  pthread_mutex_unlock(&store->lock);
  return st;
}

/* ---- users' standing -------------------------------------------------------------------------------------- */

#define HG_DAY_MS INT64_C(86400000)

static const char *const standing_names[] = {"active", "suspended", "terminated"};

const char *hg_standing_name(hg_standing s) {
  if ((unsigned)s < sizeof standing_names / sizeof standing_names[0]) return standing_names[s];
  return "unknown";
}

static int standing_parse(const char *name, hg_standing *out) {
  for (unsigned i = 0; i < sizeof standing_names / sizeof standing_names[0]; i++)
    if (!strcmp(name, standing_names[i])) {
      *out = (hg_standing)i;
      return 0;
    }
  return -1;
}

/* What a user without a row has: active, nothing counted. */
static hg_standing_row standing_row_new(void) {
  hg_standing_row row = {.until_ms = 0};
  snprintf(row.standing, sizeof row.standing, "%s", standing_names[HG_STANDING_ACTIVE]);
  snprintf(row.set_by, sizeof row.set_by, "ladder");
  return row;
}

/* The user's row (a fresh one when there is none). The caller holds the lock. */
static hg_status standing_load(hg_store *store, int64_t user_id, hg_standing_row *row, hg_error *err) {
  hg_error quiet;
  hg_status st = store->backend->standing_get(store->conn, user_id, row, &quiet);
  if (st == HG_ERR_NOT_FOUND) {
    *row = standing_row_new();
    return HG_OK;
  }
  if (st && err) *err = quiet;
  return st;
}

/* A row as seen at now_ms: a suspension whose end has passed is over, whether or not anyone wrote that down. */
static hg_status standing_at(const hg_standing_row *row, int64_t now, hg_user_standing *out, hg_error *err) {
  hg_standing s;
  if (standing_parse(row->standing, &s))
    return hg_fail(err, HG_ERR_STORE, 0, 0, "store: a user's standing is damaged ('%s')", row->standing);
  out->standing = s;
  out->set_by = strcmp(row->set_by, "reviewer") ? HG_STANDING_BY_LADDER : HG_STANDING_BY_REVIEWER;
  out->until_ms = s == HG_STANDING_SUSPENDED ? row->until_ms : 0;
  if (s == HG_STANDING_SUSPENDED && row->until_ms && now >= row->until_ms) {
    out->standing = HG_STANDING_ACTIVE;
    out->until_ms = 0;
  }
  out->blocked_in_a_row = row->blocked_in_a_row;
  out->suspensions = row->suspensions;
  return HG_OK;
}

static int64_t utc_day_start(int64_t ms) {
  int64_t into_day = ms % HG_DAY_MS;
  return ms - (into_day < 0 ? into_day + HG_DAY_MS : into_day);
}

/* The full standing report for a known user. The caller holds the lock. */
static hg_status standing_report(hg_store *store, int64_t user_id, int64_t now, hg_user_standing *out, hg_error *err) {
  hg_standing_row row;
  hg_status st = standing_load(store, user_id, &row, err);
  if (!st) st = standing_at(&row, now, out, err);
  int64_t day = utc_day_start(now);
  if (!st) st = store->backend->strike_count(store->conn, user_id, day, day + HG_DAY_MS, &out->blocked_today, err);
  return st;
}

static void standing_clear(hg_user_standing *out) {
  memset(out, 0, sizeof *out);
  out->standing = HG_STANDING_ACTIVE;
}

hg_status hg_store_user_standing(hg_store *store, const char *user, int64_t now_ms, hg_user_standing *out,
                                 hg_error *err) {
  if (!store || !user || !out) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_user_standing: NULL argument");
  /* the gate without the identity: one code path, so the two can never disagree */
  return hg_store_user_gate(store, user, now_ms, out, NULL, err);
}

/* A blocked input adds a strike (kept with its evidence) and lengthens the run; an allowed one ends the run. Which
 * counts lead to a suspension is the strike ladder's decision (hg_strike_ladder_decide, below), taken by the caller
 * on what this returns, with its own thresholds. Allowed inputs are nearly every request, so one that has no run to
 * end writes nothing. */
hg_status hg_store_strike_list(hg_store *store, const char *user, hg_strike_fn fn, void *ctx, hg_error *err) {
  if (!store || !user || !fn) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_strike_list: NULL argument");
  hg_status st = check_user_name(user, err);
  if (st) return st;
  int64_t user_id = 0;
  pthread_mutex_lock(&store->lock);
  st = store->backend->user_find(store->conn, user, &user_id, err);
  if (!st) st = store->backend->user_strikes_each(store->conn, user_id, fn, ctx, err);
  pthread_mutex_unlock(&store->lock);
  return st;
}

hg_status hg_store_strike_run(hg_store *store, const char *user, int64_t *in_a_row, hg_error *err) {
  if (!store || !user || !in_a_row) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_strike_run: NULL argument");
  *in_a_row = 0;
  hg_status st = check_user_name(user, err);
  if (st) return st;
  int64_t user_id = 0;
  hg_standing_row row;
  hg_error quiet;
  pthread_mutex_lock(&store->lock);
  st = store->backend->user_find(store->conn, user, &user_id, &quiet);
  if (st == HG_ERR_NOT_FOUND) {
    st = HG_OK; /* never seen: no run */
  } else if (st) {
    if (err) *err = quiet;
  } else if (!(st = standing_load(store, user_id, &row, err))) {
    *in_a_row = row.blocked_in_a_row;
  }
  pthread_mutex_unlock(&store->lock);
  return st;
}

hg_status hg_store_strike_record(hg_store *store, const char *user, int blocked, int64_t audit_seq, int64_t now_ms,
                                 hg_user_standing *after, hg_error *err) {
  if (!store || !user) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_strike_record: NULL argument");
  hg_user_standing ignored;
  int wants_after = after != NULL; /* an allowed input whose caller needs no standing back costs one read */
  if (!after) after = &ignored;
  standing_clear(after);
  hg_status st = check_user_name(user, err);
  if (!st) st = check_time("now_ms", now_ms, err);
  if (st) return st;
  if (blocked && audit_seq <= 0)
    return hg_fail(err, HG_ERR_INVALID, 0, 0,
                   "a strike needs the seq of the audit record of the blocked input, not %" PRId64, audit_seq);

  const hg_store_backend *b = store->backend;
  int64_t user_id = 0;
  hg_standing_row row;
  hg_error quiet;
  pthread_mutex_lock(&store->lock);
  if (!blocked) {
    st = b->user_find(store->conn, user, &user_id, &quiet);
    if (st == HG_ERR_NOT_FOUND) {
      pthread_mutex_unlock(&store->lock);
      return HG_OK; /* never seen, no run to end */
    }
    if (st && err) *err = quiet;
    if (!st) st = standing_load(store, user_id, &row, err);
    if (!st && row.blocked_in_a_row == 0) {
      if (wants_after) st = standing_report(store, user_id, now_ms, after, err);
      pthread_mutex_unlock(&store->lock);
      if (st) standing_clear(after);
      return st;
    }
  }
  /* Read, change and write the row in one write transaction: another process may be recording strikes for the
   * same user. */
  if (!st) st = b->begin(store->conn, err);
  if (!st) st = b->user_ensure(store->conn, user, now_ms, &user_id, err);
  if (!st) st = standing_load(store, user_id, &row, err);
  if (!st && blocked) {
    st = b->strike_insert(store->conn, user_id, now_ms, audit_seq, err);
    row.blocked_in_a_row++;
  } else if (!st) {
    row.blocked_in_a_row = 0;
  }
  row.updated_ms = now_ms;
  if (!st) st = b->standing_put(store->conn, user_id, &row, err);
  if (!st) st = standing_report(store, user_id, now_ms, after, err);
  if (!st) st = b->commit(store->conn, err);
  if (st) b->rollback(store->conn);
  pthread_mutex_unlock(&store->lock);
  if (st) standing_clear(after);
  return st;
}

/* A decision on a user: suspend (until_ms, or 0 until lifted), terminate, or lift to active. Every decision starts a
 * new run of blocked inputs, so a ladder counting the run sees only what came after it; a move into a suspension
 * (not the extension of one still running) counts in suspensions. */
hg_status hg_store_user_set_standing(hg_store *store, const char *user, hg_standing standing, int64_t until_ms,
                                     const char *reason, int64_t now_ms, hg_error *err) {
  return hg_store_user_set_standing_by(store, user, standing, until_ms, reason, HG_STANDING_BY_REVIEWER, now_ms, err);
}

hg_status hg_store_user_set_standing_by(hg_store *store, const char *user, hg_standing standing, int64_t until_ms,
                                        const char *reason, hg_standing_source by, int64_t now_ms, hg_error *err) {
  if (!store || !user || !reason)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_user_set_standing: NULL argument");
  if (by != HG_STANDING_BY_LADDER && by != HG_STANDING_BY_REVIEWER)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_user_set_standing: unknown source %d", (int)by);
  if ((unsigned)standing > HG_STANDING_TERMINATED)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "unknown standing %d", (int)standing);
  const char *why;
  hg_status st = check_user_name(user, err);
  if (!st) st = check_time("now_ms", now_ms, err);
  if (!st) st = check_time("until_ms", until_ms, err);
  if (!st) st = take_text("the reason", reason, HG_STANDING_REASON_MAX, &why, err);
  if (st) return st;
  if (!why) return hg_fail(err, HG_ERR_INVALID, 0, 0, "a change of standing needs a reason");
  if (standing == HG_STANDING_SUSPENDED && until_ms && until_ms <= now_ms)
    return hg_fail(err, HG_ERR_INVALID, 0, 0,
                   "a suspension must end after now (until_ms %" PRId64 " <= now_ms %" PRId64 "); 0 = until lifted",
                   until_ms, now_ms);
  if (standing != HG_STANDING_SUSPENDED && until_ms)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "until_ms is only for a suspension; %s takes 0",
                   hg_standing_name(standing));

  const hg_store_backend *b = store->backend;
  int64_t user_id = 0;
  hg_standing_row row;
  hg_user_standing before;
  pthread_mutex_lock(&store->lock);
  st = b->begin(store->conn, err);
  if (!st) st = b->user_ensure(store->conn, user, now_ms, &user_id, err);
  if (!st) st = standing_load(store, user_id, &row, err);
  if (!st) st = standing_at(&row, now_ms, &before, err);
  if (!st) {
    if (standing == HG_STANDING_SUSPENDED && before.standing != HG_STANDING_SUSPENDED) row.suspensions++;
    snprintf(row.standing, sizeof row.standing, "%s", hg_standing_name(standing));
    row.until_ms = until_ms;
    row.blocked_in_a_row = 0;
    row.updated_ms = now_ms;
    snprintf(row.set_by, sizeof row.set_by, "%s", by == HG_STANDING_BY_LADDER ? "ladder" : "reviewer");
    st = b->standing_put(store->conn, user_id, &row, err);
  }
  if (!st) st = b->standing_history_insert(store->conn, user_id, now_ms, row.standing, until_ms, why, err);
  if (!st) st = b->commit(store->conn, err);
  if (st) b->rollback(store->conn);
  pthread_mutex_unlock(&store->lock);
  return st;
}

/* The strike ladder: only a blocked input moves anyone, and only a user who is active (a suspension past its end
 * reads as active). Either threshold suffices; the move that would be the terminate_after-th suspension terminates
 * instead. The decision is here, beside the counts it reads, so that every caller applies the same ladder. */
hg_standing hg_strike_ladder_decide(const hg_strike_ladder *ladder, const hg_user_standing *after, int blocked,
                                    int64_t now_ms, int64_t *until_ms) {
  int64_t ignored;
  if (!until_ms) until_ms = &ignored;
  *until_ms = 0;
  if (!ladder || !after) return HG_STANDING_ACTIVE;
  *until_ms = after->until_ms;
  if (!blocked || after->standing != HG_STANDING_ACTIVE) return after->standing;
  if (after->blocked_in_a_row < ladder->suspend_in_a_row && after->blocked_today < ladder->suspend_per_day)
    return after->standing;
  if (after->suspensions + 1 >= ladder->terminate_after) {
    *until_ms = 0;
    return HG_STANDING_TERMINATED;
  }
  int64_t length = ladder->suspend_ms > 0 ? ladder->suspend_ms : 0;
  *until_ms = now_ms > INT64_MAX - length ? INT64_MAX : now_ms + length; /* saturates rather than wraps */
  return HG_STANDING_SUSPENDED;
}

/* ---- real-name identity, the gate, the user list ----------------------------------------------------------- *
 *
 * The store keeps what the gateway checks on every request in clear (the status, when the user comes of age, the
 * minor flag) and the identity fields themselves only as the caller sealed them: printable text it cannot read. */

static const char *const realname_names[] = {"unverified", "pending", "verified", "rejected"};

const char *hg_realname_name(hg_realname s) {
  return enum_name(realname_names, ENUM_COUNT(realname_names), (unsigned)s);
}

hg_status hg_realname_parse(const char *name, hg_realname *out) {
  unsigned v = 0;
  hg_status st = enum_parse(realname_names, ENUM_COUNT(realname_names), name, &v);
  if (!st) *out = (hg_realname)v;
  return st;
}

/* What a user without identity has: unverified, everything else zero or empty. */
static void identity_clear(hg_user_identity *out) {
  memset(out, 0, sizeof *out);
  out->status = HG_REALNAME_UNVERIFIED;
}

/* Everything in an identity from the caller, checked before the store is touched. The buffers are fixed arrays
 * the caller filled, so their terminating NUL is looked for within them, never past. */
static hg_status identity_check(const hg_user_identity *in, hg_error *err) {
  if ((unsigned)in->status > HG_REALNAME_REJECTED)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "unknown real-name status %d (unverified, pending, verified or rejected)",
                   (int)in->status);
  hg_status st = check_time("adult_from_ms", in->adult_from_ms, err);
  if (st) return st;
  size_t len = strnlen(in->sealed, sizeof in->sealed);
  if (len == sizeof in->sealed)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "the sealed identity is at most %zu bytes", sizeof in->sealed - 1);
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)in->sealed[i] < 0x20 || (unsigned char)in->sealed[i] > 0x7e)
      return hg_fail(err, HG_ERR_INVALID, 0, i,
                     "the sealed identity must be printable ASCII (base64 of the sealed fields); byte offset %zu "
                     "is not",
                     i);
  len = strnlen(in->id_hash, sizeof in->id_hash);
  if (len == sizeof in->id_hash)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "the ID number hash is at most 64 hex digits");
  for (size_t i = 0; i < len; i++)
    if (!((in->id_hash[i] >= '0' && in->id_hash[i] <= '9') || (in->id_hash[i] >= 'a' && in->id_hash[i] <= 'f')))
      return hg_fail(err, HG_ERR_INVALID, 0, i, "the ID number hash must be lower-case hex");
  len = strnlen(in->note, sizeof in->note);
  size_t bad;
  if (len == sizeof in->note)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "an identity note is at most %zu bytes", sizeof in->note - 1);
  if (hg_utf8_validate(in->note, len, &bad))
    return hg_fail(err, HG_ERR_INVALID, 0, bad, "the identity note is not valid UTF-8 (byte offset %zu)", bad);
  return HG_OK;
}

/* The identity of a known user (cleared when there is none). The caller holds the lock. */
static hg_status identity_load(hg_store *store, int64_t user_id, hg_user_identity *out, hg_error *err) {
  hg_identity_row row;
  hg_error quiet;
  identity_clear(out);
  hg_status st = store->backend->identity_get(store->conn, user_id, &row, &quiet);
  if (st == HG_ERR_NOT_FOUND) return HG_OK;
  if (st) {
    if (err) *err = quiet;
    return st;
  }
  hg_realname status;
  if (hg_realname_parse(row.status, &status))
    return hg_fail(err, HG_ERR_STORE, 0, 0, "store: a user's real-name status is damaged ('%s')", row.status);
  out->status = status;
  out->updated_ms = row.updated_ms;
  out->adult_from_ms = row.adult_from_ms;
  out->minor = row.minor != 0;
  /* the strings only: out was cleared, so the bytes after each NUL are zeros, not what the stack held */
  memcpy(out->sealed, row.sealed, strlen(row.sealed) + 1);
  memcpy(out->note, row.note, strlen(row.note) + 1);
  memcpy(out->id_hash, row.id_hash, strlen(row.id_hash) + 1);
  return HG_OK;
}

hg_status hg_store_user_gate(hg_store *store, const char *user, int64_t now_ms, hg_user_standing *standing,
                             hg_user_identity *identity, hg_error *err) {
  if (!store || !user) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_user_gate: NULL argument");
  if (standing) standing_clear(standing);
  if (identity) identity_clear(identity);
  hg_status st = check_user_name(user, err);
  if (!st) st = check_time("now_ms", now_ms, err);
  if (st) return st;
  int64_t user_id = 0;
  hg_error quiet;
  pthread_mutex_lock(&store->lock);
  st = store->backend->user_find(store->conn, user, &user_id, &quiet);
  if (st == HG_ERR_NOT_FOUND) {
    st = HG_OK; /* never seen: active, nothing counted, unverified */
  } else if (st) {
    if (err) *err = quiet;
  } else {
    if (standing) st = standing_report(store, user_id, now_ms, standing, err);
    if (!st && identity) st = identity_load(store, user_id, identity, err);
  }
  pthread_mutex_unlock(&store->lock);
  if (st && standing) standing_clear(standing);
  if (st && identity) identity_clear(identity);
  return st;
}

hg_status hg_store_identity_get(hg_store *store, const char *user, hg_user_identity *out, hg_error *err) {
  if (!store || !user || !out) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_identity_get: NULL argument");
  return hg_store_user_gate(store, user, 0, NULL, out, err);
}

hg_status hg_store_identity_put(hg_store *store, const char *user, const hg_user_identity *in, int64_t now_ms,
                                hg_error *err) {
  if (!store || !user || !in) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_identity_put: NULL argument");
  hg_status st = check_user_name(user, err);
  if (!st) st = check_time("now_ms", now_ms, err);
  if (!st) st = identity_check(in, err);
  if (st) return st;
  if (!now_ms) now_ms = hg_clock_wall_ms(); /* updated_ms 0 would read as "never put" */
  hg_identity_row row;
  memset(&row, 0, sizeof row);
  snprintf(row.status, sizeof row.status, "%s", hg_realname_name(in->status));
  row.updated_ms = now_ms;
  row.adult_from_ms = in->adult_from_ms;
  row.minor = in->minor != 0;
  memcpy(row.sealed, in->sealed, strlen(in->sealed) + 1); /* NUL-terminated within the array: checked above */
  memcpy(row.note, in->note, strlen(in->note) + 1);
  memcpy(row.id_hash, in->id_hash, strlen(in->id_hash) + 1);

  const hg_store_backend *b = store->backend;
  int64_t user_id = 0;
  pthread_mutex_lock(&store->lock);
  st = b->begin(store->conn, err);
  if (!st) st = b->user_ensure(store->conn, user, now_ms, &user_id, err);
  if (!st) st = b->identity_put(store->conn, user_id, &row, err);
  if (!st) st = b->commit(store->conn, err);
  if (st) b->rollback(store->conn);
  pthread_mutex_unlock(&store->lock);
  return st;
}

hg_status hg_store_identity_put_if(hg_store *store, const char *user, const hg_user_identity *expect,
                                   const hg_user_identity *in, int64_t now_ms, hg_error *err) {
  if (!store || !user || !in || !expect)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_identity_put_if: NULL argument");
  hg_status st = check_user_name(user, err);
  if (!st) st = check_time("now_ms", now_ms, err);
  if (!st) st = identity_check(in, err);
  if (st) return st;
  if (!now_ms) now_ms = hg_clock_wall_ms();
  hg_identity_row row, cur;
  memset(&row, 0, sizeof row);
  snprintf(row.status, sizeof row.status, "%s", hg_realname_name(in->status));
  row.updated_ms = now_ms;
  row.adult_from_ms = in->adult_from_ms;
  row.minor = in->minor != 0;
  memcpy(row.sealed, in->sealed, strlen(in->sealed) + 1);
  memcpy(row.note, in->note, strlen(in->note) + 1);
  memcpy(row.id_hash, in->id_hash, strlen(in->id_hash) + 1);

  const hg_store_backend *b = store->backend;
  int64_t user_id = 0;
  hg_error quiet;
  pthread_mutex_lock(&store->lock);
  /* compare and write in one write transaction: gateways sharing the database never overwrite each other */
  st = b->begin(store->conn, err);
  if (!st) {
    st = b->user_find(store->conn, user, &user_id, &quiet);
    if (st == HG_ERR_NOT_FOUND)
      hg_fail(err, st, 0, 0, "no user '%s' (deleted?)", user);
    else if (st && err)
      *err = quiet;
  }
  if (!st) {
    memset(&cur, 0, sizeof cur);
    st = b->identity_get(store->conn, user_id, &cur, &quiet);
    if (st == HG_ERR_NOT_FOUND) { /* no identity yet: what hg_store_identity_get reads for it */
      st = HG_OK;
      snprintf(cur.status, sizeof cur.status, "%s", hg_realname_name(HG_REALNAME_UNVERIFIED));
    } else if (st && err) {
      *err = quiet;
    }
  }
  if (!st && (strcmp(cur.status, hg_realname_name(expect->status)) || cur.updated_ms != expect->updated_ms ||
              cur.adult_from_ms != expect->adult_from_ms || (cur.minor != 0) != (expect->minor != 0) ||
              strcmp(cur.sealed, expect->sealed) || strcmp(cur.note, expect->note)))
    st = hg_fail(err, HG_ERR_CONFLICT, 0, 0, "the identity of '%s' changed meanwhile", user);
  if (!st) st = b->identity_put(store->conn, user_id, &row, err);
  if (!st) st = b->commit(store->conn, err);
  if (st) b->rollback(store->conn);
  pthread_mutex_unlock(&store->lock);
  return st;
}

hg_status hg_store_identity_same_id(hg_store *store, const char *user, const char *id_hash, int64_t *others,
                                    hg_error *err) {
  if (!store || !user || !id_hash || !others)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_identity_same_id: NULL argument");
  *others = 0;
  if (!*id_hash) return HG_OK;
  const hg_store_backend *b = store->backend;
  int64_t user_id = 0;
  hg_error quiet;
  pthread_mutex_lock(&store->lock);
  hg_status st = b->user_find(store->conn, user, &user_id, &quiet);
  if (st == HG_ERR_NOT_FOUND) user_id = 0, st = HG_OK; /* every identity is another user's */
  if (st && err) *err = quiet;
  if (!st) st = b->identity_same_id(store->conn, id_hash, user_id, others, err);
  pthread_mutex_unlock(&store->lock);
  return st;
}

typedef struct user_walk {
  hg_user_fn fn;
  void *ctx;
  int damaged;    /* a stored status or standing this code never writes */
  char name[128]; /* whose */
} user_walk;

static int user_row(void *ctx, const hg_user_row *row) {
  user_walk *w = ctx;
  hg_user_summary u = {.name = row->name.ptr,
                       .created_ms = row->created_ms,
                       .realname = HG_REALNAME_UNVERIFIED,
                       .minor = row->minor != 0,
                       .adult_from_ms = row->adult_from_ms,
                       .standing = HG_STANDING_ACTIVE,
                       .keys = row->keys};
  if ((row->realname.ptr && hg_realname_parse(row->realname.ptr, &u.realname)) ||
      (row->standing.ptr && standing_parse(row->standing.ptr, &u.standing))) {
    w->damaged = 1;
    snprintf(w->name, sizeof w->name, "%s", row->name.ptr);
    return 1;
  }
  return w->fn(w->ctx, &u);
}

hg_status hg_store_user_find(hg_store *store, const char *user, int64_t *created_ms, hg_error *err) {
  if (!store || !user) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_user_find: NULL argument");
  hg_status st = check_user_name(user, err);
  if (st) return st;
  int64_t id = 0, created = 0;
  pthread_mutex_lock(&store->lock);
  st = store->backend->user_get(store->conn, user, &id, &created, err);
  pthread_mutex_unlock(&store->lock);
  if (!st && created_ms) *created_ms = created;
  return st;
}

hg_status hg_store_user_list(hg_store *store, hg_user_fn fn, void *ctx, hg_error *err) {
  if (!store || !fn) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_user_list: NULL argument");
  user_walk w = {.fn = fn, .ctx = ctx};
  /* fn runs under the lock: it must not call back into this store */
  pthread_mutex_lock(&store->lock);
  hg_status st = store->backend->user_each(store->conn, user_row, &w, err);
  pthread_mutex_unlock(&store->lock);
  if (!st && w.damaged)
    st = hg_fail(err, HG_ERR_STORE, 0, 0, "store: user '%s' has a damaged real-name status or standing", w.name);
  return st;
}

/* ---- usage counters for the minors mode ------------------------------------------------------------------- *
 *
 * One row per user: the day it counts, that day's requests and time in use, and the current run of use. The
 * store does the arithmetic so that every gateway sharing the database counts alike; what the limits are and when
 * to remind is the gateway's policy. A request stamped before the last one counted (clocks of two gateways a
 * little apart) counts as a request and adds no time, and last_ms stays the later of the two. */

static hg_status usage_args(const char *user, int64_t day, int64_t now_ms, int64_t gap_ms, hg_error *err) {
  hg_status st = check_user_name(user, err);
  if (!st) st = check_time("now_ms", now_ms, err);
  if (!st && day < 0) st = hg_fail(err, HG_ERR_INVALID, 0, 0, "a day number cannot be negative (%" PRId64 ")", day);
  if (!st && gap_ms < 0)
    st = hg_fail(err, HG_ERR_INVALID, 0, 0, "gap_ms is a length of time in milliseconds, not %" PRId64, gap_ms);
  return st;
}

/* Whether a request at now belongs to the run of use that row's last request is part of. */
static int usage_run_goes_on(const hg_usage *row, int64_t now, int64_t gap_ms) {
  return row->last_ms != 0 && now - row->last_ms <= gap_ms;
}

hg_status hg_store_usage_get(hg_store *store, const char *user, int64_t day, int64_t now_ms, int64_t gap_ms,
                             hg_usage *out, hg_error *err) {
  if (!store || !user || !out) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_usage_get: NULL argument");
  memset(out, 0, sizeof *out);
  out->day = day;
  hg_status st = usage_args(user, day, now_ms, gap_ms, err);
  if (st) return st;
  if (!now_ms) now_ms = hg_clock_wall_ms();
  const hg_store_backend *b = store->backend;
  int64_t user_id = 0;
  hg_usage row;
  hg_error quiet;
  pthread_mutex_lock(&store->lock);
  st = b->user_find(store->conn, user, &user_id, &quiet);
  if (!st) st = b->usage_get(store->conn, user_id, &row, &quiet);
  pthread_mutex_unlock(&store->lock);
  if (st == HG_ERR_NOT_FOUND) return HG_OK; /* never counted: zeros */
  if (st) {
    if (err) *err = quiet;
    return st;
  }
  if (row.day == day) {
    out->requests = row.requests;
    out->active_ms = row.active_ms;
  }
  out->last_ms = row.last_ms;
  if (usage_run_goes_on(&row, now_ms, gap_ms)) {
    out->session_start_ms = row.session_start_ms;
    out->reminded_ms = row.reminded_ms;
  }
  return HG_OK;
}

hg_status hg_store_usage_touch(hg_store *store, const char *user, int64_t day, int64_t now_ms, int64_t gap_ms,
                               int reminded, hg_usage *after, hg_error *err) {
  if (!store || !user) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_usage_touch: NULL argument");
  hg_usage ignored;
  if (!after) after = &ignored;
  memset(after, 0, sizeof *after);
  hg_status st = usage_args(user, day, now_ms, gap_ms, err);
  if (st) return st;
  if (!now_ms) now_ms = hg_clock_wall_ms(); /* last_ms 0 would read as "no request" */
  const hg_store_backend *b = store->backend;
  int64_t user_id = 0;
  hg_usage row = {0}, next = {0};
  hg_error quiet;
  pthread_mutex_lock(&store->lock);
  /* read, count and write in one write transaction: gateways sharing the database count the same user */
  st = b->begin(store->conn, err);
  if (!st) st = b->user_ensure(store->conn, user, now_ms, &user_id, err);
  if (!st) {
    st = b->usage_get(store->conn, user_id, &row, &quiet);
    if (st == HG_ERR_NOT_FOUND)
      memset(&row, 0, sizeof row), st = HG_OK; /* last_ms 0: no run to go on */
    else if (st && err)
      *err = quiet;
  }
  if (!st) {
    int same_day = row.last_ms != 0 && row.day == day;
    int goes_on = usage_run_goes_on(&row, now_ms, gap_ms);
    next.day = day;
    next.requests = (same_day ? row.requests : 0) + 1;
    next.active_ms = same_day ? row.active_ms : 0;
    if (same_day && goes_on && now_ms > row.last_ms) next.active_ms += now_ms - row.last_ms;
    next.session_start_ms = goes_on ? row.session_start_ms : now_ms;
    next.reminded_ms = goes_on ? row.reminded_ms : 0;
    if (reminded) next.reminded_ms = now_ms;
    next.last_ms = now_ms > row.last_ms ? now_ms : row.last_ms;
    st = b->usage_put(store->conn, user_id, &next, err);
  }
  if (!st) st = b->commit(store->conn, err);
  if (st) b->rollback(store->conn);
  pthread_mutex_unlock(&store->lock);
  if (!st) *after = next;
  return st;
}

hg_status hg_store_usage_reminded(hg_store *store, const char *user, int64_t now_ms, hg_error *err) {
  if (!store || !user) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_usage_reminded: NULL argument");
  hg_status st = check_user_name(user, err);
  if (!st) st = check_time("now_ms", now_ms, err);
  if (st) return st;
  if (!now_ms) now_ms = hg_clock_wall_ms();
  const hg_store_backend *b = store->backend;
  int64_t user_id = 0;
  hg_usage row;
  hg_error quiet;
  pthread_mutex_lock(&store->lock);
  st = b->begin(store->conn, err);
  if (!st) {
    st = b->user_find(store->conn, user, &user_id, &quiet);
    if (!st) st = b->usage_get(store->conn, user_id, &row, &quiet);
    if (st && err) *err = quiet;
  }
  if (!st) {
    row.reminded_ms = now_ms;
    st = b->usage_put(store->conn, user_id, &row, err);
  }
  if (!st) st = b->commit(store->conn, err);
  if (st) b->rollback(store->conn);
  pthread_mutex_unlock(&store->lock);
  return st;
}

/* ---- usage quotas ----------------------------------------------------------------------------------------- *
 *
 * Fixed windows: a counter row per subject and UTC minute, and per subject and UTC day. An admission reads the
 * current minute and day of every subject, compares with the limits and, only if none is reached, adds one request
 * to each, all inside one write transaction: begin excludes every other writer, in this process or another, until
 * commit, so the counters two gateways see can never both be one under the limit for the same last request. A
 * refusal counts nothing (rollback), for no subject: a key over its limit does not use up its user's requests.
 * These transactions are the backend's counters kind: not synced at commit (a power loss may forget the last few
 * counts, letting as many requests more through), so that a quota costs no disk sync per request.
 *
 * Rows of old windows are deleted as part of the work rather than by a job: a subject whose current minute has no
 * row yet (its first request of the minute) loses its rows from before the previous minute and day in the same
 * transaction, and once per UTC day each handle deletes the rows of every window before that day (subjects that went
 * quiet). */

#define QUOTA_MINUTE_MS INT64_C(60000)
#define QUOTA_DAY_MS INT64_C(86400000)

static const char *const quota_limit_names[] = {"", "requests per minute", "requests per day", "tokens per minute",
                                                "tokens per day"};

const char *hg_quota_limit_name(hg_quota_limit limit) {
  return enum_name(quota_limit_names, ENUM_COUNT(quota_limit_names), (unsigned)limit);
}

static hg_status quota_subjects_check(const hg_quota_subject *subjects, size_t n, hg_error *err) {
  if (n && !subjects) return hg_fail(err, HG_ERR_INVALID, 0, 0, "%zu quota subjects and no array of them", n);
  for (size_t i = 0; i < n; i++) {
    const char *subject = subjects[i].subject;
    size_t len = subject ? strnlen(subject, HG_QUOTA_SUBJECT_MAX + 1) : 0;
    if (!len || len > HG_QUOTA_SUBJECT_MAX)
      return hg_fail(err, HG_ERR_INVALID, 0, 0, "quota subject %zu must be 1-%d bytes", i, HG_QUOTA_SUBJECT_MAX);
  }
  return HG_OK;
}

/* One window's counters as read; fresh when the window has no row yet. */
typedef struct quota_counts {
  int64_t requests, tokens;
  int fresh;
} quota_counts;

static hg_status quota_read(hg_store *store, const char *subject, int kind, int64_t window, quota_counts *out,
                            hg_error *err) {
  hg_error quiet;
  hg_status st = store->backend->quota_get(store->conn, subject, kind, window, &out->requests, &out->tokens, &quiet);
  out->fresh = st == HG_ERR_NOT_FOUND;
  if (out->fresh) {
    out->requests = out->tokens = 0;
    return HG_OK;
  }
  if (st && err) *err = quiet;
  return st;
}

/* Whether count has reached limit (0 = none). A negative count, which only a damaged row holds, reaches every limit:
 * quotas fail closed. */
static int quota_reached(uint64_t limit, int64_t count) { return limit && (count < 0 || (uint64_t)count >= limit); }

/* The first limit of l that the subject's counters reach, with its count in *used. */
static hg_quota_limit quota_first_reached(const hg_quota_limits *l, const quota_counts *minute, const quota_counts *day,
                                          int64_t *used) {
  if (!l) return HG_QUOTA_NONE;
  if (quota_reached(l->requests_per_minute, minute->requests))
    return *used = minute->requests, HG_QUOTA_REQUESTS_PER_MINUTE;
  if (quota_reached(l->requests_per_day, day->requests)) return *used = day->requests, HG_QUOTA_REQUESTS_PER_DAY;
  if (quota_reached(l->tokens_per_minute, minute->tokens)) return *used = minute->tokens, HG_QUOTA_TOKENS_PER_MINUTE;
  if (quota_reached(l->tokens_per_day, day->tokens)) return *used = day->tokens, HG_QUOTA_TOKENS_PER_DAY;
  return HG_QUOTA_NONE;
}

/* Deletes every row of windows before the day of now, once per day on this handle, in a transaction of its own (a
 * refused admission rolls back, and must not leave the sweep to be repeated by every refusal). Called locked. */
static hg_status quota_sweep(hg_store *store, int64_t day, hg_error *err) {
  if (day <= store->quota_swept_day) return HG_OK;
  const hg_store_backend *b = store->backend;
  hg_status st = b->begin_counters(store->conn, err);
  if (!st) st = b->quota_delete_before(store->conn, NULL, day * (QUOTA_DAY_MS / QUOTA_MINUTE_MS), day, NULL, err);
  if (!st) st = b->commit(store->conn, err);
  if (st)
    b->rollback(store->conn);
  else
    store->quota_swept_day = day;
  return st;
}

/* Deletes a subject's rows of windows before the previous minute and the previous day: the previous ones stay for a
 * gateway whose clock is a little behind this one's, which still counts in them. */
static hg_status quota_forget_old(hg_store *store, const char *subject, int64_t minute, int64_t day, hg_error *err) {
  return store->backend->quota_delete_before(store->conn, subject, minute - 1, day - 1, NULL, err);
}

hg_status hg_store_quota_admit(hg_store *store, const hg_quota_subject *subjects, size_t n, int64_t now_ms,
                               hg_quota_hit *hit, hg_error *err) {
  if (!store || !hit) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_quota_admit: NULL argument");
  memset(hit, 0, sizeof *hit);
  hg_status st = quota_subjects_check(subjects, n, err);
  if (!st) st = check_time("now_ms", now_ms, err);
  if (st || !n) return st;
  if (!now_ms) now_ms = hg_clock_wall_ms();
  const hg_store_backend *b = store->backend;
  int64_t minute = now_ms / QUOTA_MINUTE_MS, day = now_ms / QUOTA_DAY_MS;
  hg_quota_hit found = {0};
  pthread_mutex_lock(&store->lock);
  st = quota_sweep(store, day, err);
  if (!st) st = b->begin_counters(store->conn, err);
  for (size_t i = 0; !st && !found.limit && i < n; i++) {
    const char *subject = subjects[i].subject;
    quota_counts in_minute, in_day;
    st = quota_read(store, subject, HG_QUOTA_WINDOW_MINUTE, minute, &in_minute, err);
    if (!st) st = quota_read(store, subject, HG_QUOTA_WINDOW_DAY, day, &in_day, err);
    if (st) break;
    found.limit = quota_first_reached(subjects[i].limits, &in_minute, &in_day, &found.used);
    if (found.limit) {
      int per_minute = found.limit == HG_QUOTA_REQUESTS_PER_MINUTE || found.limit == HG_QUOTA_TOKENS_PER_MINUTE;
      found.subject = i;
      found.retry_after_ms = per_minute ? (minute + 1) * QUOTA_MINUTE_MS - now_ms : (day + 1) * QUOTA_DAY_MS - now_ms;
    } else if (in_minute.fresh) { /* the subject's first request this minute: its older windows are over */
      st = quota_forget_old(store, subject, minute, day, err);
    }
  }
  for (size_t i = 0; !st && !found.limit && i < n; i++) {
    st = b->quota_add(store->conn, subjects[i].subject, HG_QUOTA_WINDOW_MINUTE, minute, 1, 0, err);
    if (!st) st = b->quota_add(store->conn, subjects[i].subject, HG_QUOTA_WINDOW_DAY, day, 1, 0, err);
  }
  if (!st && !found.limit) st = b->commit(store->conn, err);
  if (st || found.limit) b->rollback(store->conn); /* a refusal counts nothing */
  pthread_mutex_unlock(&store->lock);
  if (!st) *hit = found;
  return st;
}

hg_status hg_store_quota_add_tokens(hg_store *store, const hg_quota_subject *subjects, size_t n, uint64_t tokens,
                                    int64_t now_ms, hg_error *err) {
  if (!store) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_quota_add_tokens: NULL store");
  hg_status st = quota_subjects_check(subjects, n, err);
  if (!st) st = check_time("now_ms", now_ms, err);
  if (st || !n || !tokens) return st;
  if (!now_ms) now_ms = hg_clock_wall_ms();
  /* the count comes from the upstream's answer: bounded, so that sums stay far from overflowing */
  int64_t add = tokens > (uint64_t)HG_QUOTA_TOKENS_MAX ? HG_QUOTA_TOKENS_MAX : (int64_t)tokens;
  const hg_store_backend *b = store->backend;
  int64_t minute = now_ms / QUOTA_MINUTE_MS, day = now_ms / QUOTA_DAY_MS;
  pthread_mutex_lock(&store->lock);
  st = b->begin_counters(store->conn, err);
  for (size_t i = 0; !st && i < n; i++) {
    const char *subject = subjects[i].subject;
    /* an answer may end in a later minute than its admission: the older windows go here too */
    st = quota_forget_old(store, subject, minute, day, err);
    if (!st) st = b->quota_add(store->conn, subject, HG_QUOTA_WINDOW_MINUTE, minute, 0, add, err);
    if (!st) st = b->quota_add(store->conn, subject, HG_QUOTA_WINDOW_DAY, day, 0, add, err);
  }
  if (!st) st = b->commit(store->conn, err);
  if (st) b->rollback(store->conn);
  pthread_mutex_unlock(&store->lock);
  return st;
}

hg_status hg_store_quota_get(hg_store *store, const char *subject, int64_t now_ms, hg_quota_usage *out, hg_error *err) {
  if (!store || !subject || !out) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_quota_get: NULL argument");
  memset(out, 0, sizeof *out);
  hg_quota_subject one = {subject, NULL};
  hg_status st = quota_subjects_check(&one, 1, err);
  if (!st) st = check_time("now_ms", now_ms, err);
  if (st) return st;
  if (!now_ms) now_ms = hg_clock_wall_ms();
  quota_counts in_minute, in_day;
  pthread_mutex_lock(&store->lock);
  st = quota_read(store, subject, HG_QUOTA_WINDOW_MINUTE, now_ms / QUOTA_MINUTE_MS, &in_minute, err);
  if (!st) st = quota_read(store, subject, HG_QUOTA_WINDOW_DAY, now_ms / QUOTA_DAY_MS, &in_day, err);
  pthread_mutex_unlock(&store->lock);
  if (!st) *out = (hg_quota_usage){in_minute.requests, in_day.requests, in_minute.tokens, in_day.tokens};
  return st;
}

/* ---- data-subject requests and retention ------------------------------------------------------------------ *
 *
 * A user's rows (user, keys, identity, usage, standing, strikes, standing history) hang off users.id and go
 * entirely on deletion.
 * Audit records are security logs the law makes us keep (six months at least), and the chain needs every one of
 * them, so they are never deleted here: what goes is their text, the only field that may hold what the user wrote.
 * Format-2 records hash text_sha256 rather than text, so erased text leaves a NULL beside its digest and a chain
 * that still holds. Every erasure leaves a receipt record in the chain, written in the same transaction. */

/* Writes a JSON string (or null); stored fields are UTF-8, so only quotes, backslashes and controls need escapes. */
static void json_text(FILE *f, const char *p, size_t len) {
  if (!p) {
    fputs("null", f);
    return;
  }
  fputc('"', f);
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)p[i];
    if (ch == '"' || ch == '\\')
      fputc('\\', f), fputc(ch, f);
    else if (ch == '\n')
      fputs("\\n", f);
    else if (ch < 0x20)
      fprintf(f, "\\u%04x", ch);
    else
      fputc(ch, f);
  }
  fputc('"', f);
}

static void json_str(FILE *f, const char *s) { json_text(f, s, s ? strlen(s) : 0); }

/* 32 lowercase hex digits: the gateway's pseudonym (16 bytes of keyed BLAKE2b). Anything else could match
 * "system:..." or "admin:..." actors and erase what is not the user's. */
static hg_status check_pseudonym(const char *pseudonym, hg_error *err) {
  int ok = strlen(pseudonym) == 32;
  for (size_t i = 0; ok && i < 32; i++)
    ok = (pseudonym[i] >= '0' && pseudonym[i] <= '9') || (pseudonym[i] >= 'a' && pseudonym[i] <= 'f');
  if (!ok)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "a pseudonym is 32 lowercase hex digits (the gateway's keyed hash)");
  return HG_OK;
}

/* Who a user is in the audit chain besides the pseudonym: "admin:<name>" for actions taken with an admin key, and
 * "user":"<name>" inside the detail of strike decisions (the gateway writes detail with jansson, compact). */
typedef struct dsar_names {
  const char *pseudonym;
  char admin_actor[160];
  char needle[300];
} dsar_names;

static void dsar_names_make(dsar_names *n, const char *user, const char *pseudonym) {
  n->pseudonym = pseudonym;
  snprintf(n->admin_actor, sizeof n->admin_actor, "admin:%s", user);
  size_t at = (size_t)snprintf(n->needle, sizeof n->needle, "\"user\":\"");
  for (const char *p = user; *p && at + 4 < sizeof n->needle; p++) {
    if (*p == '"' || *p == '\\') n->needle[at++] = '\\';
    n->needle[at++] = *p;
  }
  n->needle[at++] = '"';
  n->needle[at] = 0;
}

/* 1: the pseudonym's own record, 2: a record that names the user otherwise, 0: neither (the backend's superset). */
static int record_about(const dsar_names *n, const hg_audit_row *row) {
  if (text_is(row->actor, n->pseudonym)) return 1;
  if (text_is(row->actor, n->admin_actor)) return 2;
  if (row->detail_json.ptr && strstr(row->detail_json.ptr, n->needle)) return 2;
  return 0;
}

typedef struct dsar_walk {
  FILE *out;
  const dsar_names *names;
  int want; /* record_about value to write (export) */
  int64_t rows;
  int64_t counts[2]; /* records of the pseudonym, records naming the user otherwise */
} dsar_walk;

static void json_key(dsar_walk *w, const char *key) { fprintf(w->out, "%s\"%s\": ", w->rows++ ? ", " : "", key); }

static int export_audit_row(void *ctx, const hg_audit_row *row) {
  dsar_walk *w = ctx;
  if (record_about(w->names, row) != w->want) return 0;
  FILE *f = w->out;
  fprintf(f, "%s{\"seq\": %" PRId64 ", \"time_ms\": %" PRId64 ", \"format\": %" PRId64,
          w->rows++ ? ",\n    " : "\n    ", row->seq, row->time_ms, row->format);
  const struct {
    const char *name;
    hg_store_text value;
  } fields[] = {{"actor", row->actor},
                {"route", row->route},
                {"verdict", row->verdict},
                {"detail_json", row->detail_json},
                {"input_sha256", row->input_sha256},
                {"output_sha256", row->output_sha256},
                {"text", row->text},
                {"text_sha256", row->text_sha256},
                {"prev_hash", row->prev_hash},
                {"hash", row->hash}};
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    fprintf(f, ", \"%s\": ", fields[i].name);
    json_text(f, fields[i].value.ptr, fields[i].value.len);
  }
  fputc('}', f);
  return 0;
}

static int export_key(void *ctx, int64_t id, const char *role, int64_t created_ms, int64_t expires_ms, int revoked) {
  dsar_walk *w = ctx;
  fprintf(w->out, "%s{\"id\": %" PRId64 ", \"role\": ", w->rows++ ? ", " : "", id);
  json_str(w->out, role);
  fprintf(w->out, ", \"created_ms\": %" PRId64 ", \"expires_ms\": %" PRId64 ", \"revoked\": %s}", created_ms,
          expires_ms, revoked ? "true" : "false");
  return 0;
}

/* The identity row as stored (the status by name, the sealed text still sealed: only the caller can open it), or
 * null. The caller holds the lock. */
static hg_status export_identity(hg_store *store, int known, int64_t user_id, FILE *f, hg_error *err) {
  hg_identity_row row;
  hg_error quiet;
  hg_status st = known ? store->backend->identity_get(store->conn, user_id, &row, &quiet) : HG_ERR_NOT_FOUND;
  if (st == HG_ERR_NOT_FOUND) {
    fputs("null", f);
    return HG_OK;
  }
  if (st) {
    if (err) *err = quiet;
    return st;
  }
  fputs("{\"status\": ", f);
  json_str(f, row.status);
  fprintf(f, ", \"updated_ms\": %" PRId64 ", \"adult_from_ms\": %" PRId64 ", \"minor\": %s, \"note\": ", row.updated_ms,
          row.adult_from_ms, row.minor ? "true" : "false");
  json_str(f, row.note[0] ? row.note : NULL);
  fputs(", \"sealed\": ", f);
  json_str(f, row.sealed[0] ? row.sealed : NULL);
  fputc('}', f);
  return HG_OK;
}

/* The usage row as stored (one day's counts, the current run), or null. The caller holds the lock. */
static hg_status export_usage(hg_store *store, int known, int64_t user_id, FILE *f, hg_error *err) {
  hg_usage u;
  hg_error quiet;
  hg_status st = known ? store->backend->usage_get(store->conn, user_id, &u, &quiet) : HG_ERR_NOT_FOUND;
  if (st == HG_ERR_NOT_FOUND) {
    fputs("null", f);
    return HG_OK;
  }
  if (st) {
    if (err) *err = quiet;
    return st;
  }
  fprintf(f,
          "{\"day\": %" PRId64 ", \"requests\": %" PRId64 ", \"active_ms\": %" PRId64 ", \"session_start_ms\": %" PRId64
          ", \"last_ms\": %" PRId64 ", \"reminded_ms\": %" PRId64 "}",
          u.day, u.requests, u.active_ms, u.session_start_ms, u.last_ms, u.reminded_ms);
  return HG_OK;
}

static int export_history(void *ctx, int64_t time_ms, const char *standing, int64_t until_ms, const char *reason) {
  dsar_walk *w = ctx;
  fprintf(w->out, "%s{\"time_ms\": %" PRId64 ", \"standing\": ", w->rows++ ? ", " : "", time_ms);
  json_str(w->out, standing);
  fprintf(w->out, ", \"until_ms\": %" PRId64 ", \"reason\": ", until_ms);
  json_str(w->out, reason);
  fputc('}', w->out);
  return 0;
}

static int export_strike(void *ctx, int64_t time_ms, int64_t audit_seq) {
  dsar_walk *w = ctx;
  fprintf(w->out, "%s{\"time_ms\": %" PRId64 ", \"audit_seq\": %" PRId64 "}", w->rows++ ? ", " : "", time_ms,
          audit_seq);
  return 0;
}

/* The export, under the lock and inside a transaction so that it is one consistent picture. */
static hg_status dsar_export_locked(hg_store *store, const char *user, const dsar_names *names, FILE *f,
                                    hg_error *err) {
  const hg_store_backend *b = store->backend;
  int64_t user_id = 0, created = 0;
  hg_error quiet;
  hg_status st = b->user_get(store->conn, user, &user_id, &created, &quiet);
  int known = st == HG_OK;
  if (st && st != HG_ERR_NOT_FOUND) {
    if (err) *err = quiet;
    return st;
  }
  dsar_walk w = {.out = f, .names = names};
  fputs("{", f);
  json_key(&w, "user");
  json_str(f, user);
  json_key(&w, "pseudonym");
  json_str(f, names->pseudonym);
  json_key(&w, "user_row");
  if (known) {
    fprintf(f, "{\"id\": %" PRId64 ", \"name\": ", user_id);
    json_str(f, user);
    fprintf(f, ", \"created_ms\": %" PRId64 "}", created);
  } else {
    fputs("null", f);
  }
  fputs(",\n  \"keys\": [", f);
  dsar_walk inner = {.out = f, .names = names};
  if (known && (st = b->user_keys_each(store->conn, user_id, export_key, &inner, err))) return st;
  fputs("],\n  \"identity\": ", f);
  if ((st = export_identity(store, known, user_id, f, err))) return st;
  fputs(",\n  \"usage\": ", f);
  if ((st = export_usage(store, known, user_id, f, err))) return st;
  fputs(",\n  \"standing\": ", f);
  hg_standing_row row;
  if (known && !(st = b->standing_get(store->conn, user_id, &row, &quiet))) {
    fputs("{\"standing\": ", f);
    json_str(f, row.standing);
    fprintf(f,
            ", \"until_ms\": %" PRId64 ", \"blocked_in_a_row\": %" PRId64 ", \"suspensions\": %" PRId64
            ", \"updated_ms\": %" PRId64 "}",
            row.until_ms, row.blocked_in_a_row, row.suspensions, row.updated_ms);
  } else if (known && st != HG_ERR_NOT_FOUND) {
    if (err) *err = quiet;
    return st;
  } else {
    fputs("null", f);
  }
  fputs(",\n  \"standing_history\": [", f);
  inner.rows = 0;
  if (known && (st = b->user_history_each(store->conn, user_id, export_history, &inner, err))) return st;
  fputs("],\n  \"strikes\": [", f);
  inner.rows = 0;
  if (known && (st = b->user_strikes_each(store->conn, user_id, export_strike, &inner, err))) return st;
  fputs("],\n  \"audit\": [", f);
  inner.rows = 0;
  inner.want = 1;
  st = b->audit_about(store->conn, names->pseudonym, names->admin_actor, "\"user\":\"", export_audit_row, &inner, err);
  if (st) return st;
  fputs("],\n  \"audit_naming_user\": [", f);
  inner.rows = 0;
  inner.want = 2;
  st = b->audit_about(store->conn, names->pseudonym, names->admin_actor, "\"user\":\"", export_audit_row, &inner, err);
  if (st) return st;
  fputs("]}\n", f);
  return HG_OK;
}

hg_status hg_store_dsar_export(hg_store *store, const char *user, const char *pseudonym, FILE *out, hg_error *err) {
  if (!store || !user || !pseudonym || !out)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_dsar_export: NULL argument");
  hg_status st = check_user_name(user, err);
  if (!st) st = check_pseudonym(pseudonym, err);
  if (st) return st;
  dsar_names names;
  dsar_names_make(&names, user, pseudonym);
  const hg_store_backend *b = store->backend;
  pthread_mutex_lock(&store->lock);
  st = b->begin(store->conn, err);
  if (!st) st = dsar_export_locked(store, user, &names, out, err);
  b->rollback(store->conn); /* nothing was written */
  pthread_mutex_unlock(&store->lock);
  if (!st && (fflush(out) || ferror(out)))
    st = hg_fail(err, HG_ERR_IO, 0, 0, "the export could not be written: %s", strerror(errno));
  return st;
}

static int count_about(void *ctx, const hg_audit_row *row) {
  dsar_walk *w = ctx;
  int about = record_about(w->names, row);
  if (about) w->counts[about - 1]++;
  return 0;
}

/* Appends a receipt (no text) inside the caller's transaction and reports it in receipt_out. */
static hg_status append_receipt(hg_store *store, const char *actor, const char *route, const char *verdict,
                                const char *detail, int64_t time_ms, hg_audit_record *receipt_out, hg_error *err) {
  hg_audit_row row = {.time_ms = time_ms,
                      .actor = text_of(actor),
                      .route = text_of(route),
                      .verdict = text_of(verdict),
                      .detail_json = text_of(detail)};
  char hash[65];
  hg_status st = append_in_transaction(store, &row, hash, err);
  if (!st && receipt_out) {
    memset(receipt_out, 0, sizeof *receipt_out);
    receipt_out->seq = row.seq;
    receipt_out->time_ms = row.time_ms;
    memcpy(receipt_out->hash, hash, sizeof receipt_out->hash);
  }
  return st;
}

hg_status hg_store_dsar_delete(hg_store *store, const char *user, const char *pseudonym, int64_t now_ms,
                               hg_audit_record *receipt_out, hg_error *err) {
  if (!store || !user || !pseudonym) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_dsar_delete: NULL argument");
  hg_status st = check_user_name(user, err);
  if (!st) st = check_pseudonym(pseudonym, err);
  if (!st) st = check_time("now_ms", now_ms, err);
  if (st) return st;
  if (!now_ms) now_ms = hg_clock_wall_ms();
  dsar_names names;
  dsar_names_make(&names, user, pseudonym);
  const hg_store_backend *b = store->backend;
  int64_t user_id = 0, created = 0, deleted[HG_DEL_COUNT] = {0}, erased = 0, kept = 0;
  dsar_walk w = {.names = &names};
  hg_error quiet;
  pthread_mutex_lock(&store->lock);
  /* the deletions, the erasure and the receipt commit together or not at all */
  st = b->begin(store->conn, err);
  if (!st) {
    st = b->user_get(store->conn, user, &user_id, &created, &quiet);
    if (!st)
      st = b->user_delete(store->conn, user_id, deleted, err);
    else if (st == HG_ERR_NOT_FOUND)
      st = HG_OK; /* no rows, but the pseudonym may still have records */
    else if (err)
      *err = quiet;
  }
  if (!st) { /* the user's quota counters name the user (hegui/store.h: "u:<user>") */
    char subject[HG_QUOTA_SUBJECT_MAX + 1];
    snprintf(subject, sizeof subject, "u:%s", user);
    st = b->quota_delete_before(store->conn, subject, INT64_MAX, INT64_MAX, NULL, err);
  }
  if (!st) st = b->audit_erase_text(store->conn, pseudonym, 0, &erased, &kept, err);
  if (!st) st = b->audit_about(store->conn, pseudonym, names.admin_actor, "\"user\":\"", count_about, &w, err);
  if (!st) {
    char detail[600];
    snprintf(detail, sizeof detail,
             "{\"pseudonym\":\"%s\",\"users\":%" PRId64 ",\"keys\":%" PRId64 ",\"identity\":%" PRId64
             ",\"usage\":%" PRId64 ",\"standing\":%" PRId64 ",\"strikes\":%" PRId64 ",\"standing_history\":%" PRId64
             ",\"audit_records\":%" PRId64 ",\"audit_text_erased\":%" PRId64 ",\"audit_text_kept_v1\":%" PRId64
             ",\"audit_records_naming_user\":%" PRId64 "}",
             pseudonym, deleted[HG_DEL_USER], deleted[HG_DEL_KEYS], deleted[HG_DEL_IDENTITY], deleted[HG_DEL_USAGE],
             deleted[HG_DEL_STANDING], deleted[HG_DEL_STRIKES], deleted[HG_DEL_HISTORY], w.counts[0], erased, kept,
             w.counts[1]);
    st = append_receipt(store, "system:dsar", "dsar/delete", "deleted", detail, now_ms, receipt_out, err);
  }
  if (!st) st = b->commit(store->conn, err);
  if (st) b->rollback(store->conn);
  if (!st && b->scrub) st = b->scrub(store->conn, err); /* nothing of what was deleted stays readable on disk */
  pthread_mutex_unlock(&store->lock);
  return st;
}

hg_status hg_store_purge(hg_store *store, int64_t now_ms, int64_t text_max_age_ms, int64_t record_max_age_ms,
                         hg_purge_counts *out, hg_error *err) {
  if (!store) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_purge: NULL store");
  hg_purge_counts ignored;
  if (!out) out = &ignored;
  memset(out, 0, sizeof *out);
  hg_status st = check_time("now_ms", now_ms, err);
  if (!st) st = check_time("text_max_age_ms", text_max_age_ms, err);
  if (!st) st = check_time("record_max_age_ms", record_max_age_ms, err);
  if (st) return st;
  if (record_max_age_ms && record_max_age_ms < HG_AUDIT_MIN_RETENTION_MS)
    return hg_fail(err, HG_ERR_INVALID, 0, 0,
                   "audit records are security logs kept at least six months (183 days, Cybersecurity Law Art. 21); "
                   "record_max_age_ms %" PRId64 " is shorter",
                   record_max_age_ms);
  if (record_max_age_ms)
    return hg_fail(err, HG_ERR_INVALID, 0, 0,
                   "deleting audit records is not supported yet: the chain would need a checkpoint of the last "
                   "deleted hash (docs/store.md); pass 0 and purge text only");
  if (!now_ms) now_ms = hg_clock_wall_ms();
  const hg_store_backend *b = store->backend;
  hg_purge_counts c = {0};
  int64_t text_before = text_max_age_ms && now_ms > text_max_age_ms ? now_ms - text_max_age_ms : 0;
  int64_t strikes_before = now_ms > HG_STRIKE_RETENTION_MS ? now_ms - HG_STRIKE_RETENTION_MS : 0;
  int64_t usage_before = now_ms > HG_USAGE_RETENTION_MS ? now_ms - HG_USAGE_RETENTION_MS : 0;
  hg_audit_record receipt;
  pthread_mutex_lock(&store->lock);
  st = b->begin(store->conn, err);
  if (!st && text_before)
    st = b->audit_erase_text(store->conn, NULL, text_before, &c.audit_text_erased, &c.audit_text_kept_v1, err);
  if (!st) st = b->takedown_delete_expired(store->conn, now_ms, &c.takedowns_deleted, err);
  if (!st && c.takedowns_deleted) st = b->takedown_version_bump(store->conn, err);
  if (!st && strikes_before) st = b->strike_delete_before(store->conn, strikes_before, &c.strikes_deleted, err);
  if (!st && usage_before) st = b->usage_delete_before(store->conn, usage_before, &c.usage_deleted, err);
  if (!st && text_before) st = b->complaint_erase_text(store->conn, text_before, &c.complaint_text_erased, err);
  if (!st) {
    char detail[400];
    snprintf(detail, sizeof detail,
             "{\"text_max_age_ms\":%" PRId64 ",\"audit_text_erased\":%" PRId64 ",\"audit_text_kept_v1\":%" PRId64
             ",\"takedowns_deleted\":%" PRId64 ",\"strikes_deleted\":%" PRId64 ",\"usage_deleted\":%" PRId64
             ",\"complaint_text_erased\":%" PRId64 "}",
             text_max_age_ms, c.audit_text_erased, c.audit_text_kept_v1, c.takedowns_deleted, c.strikes_deleted,
             c.usage_deleted, c.complaint_text_erased);
    st = append_receipt(store, "system:purge", "purge", "purged", detail, now_ms, &receipt, err);
  }
  if (!st) st = b->commit(store->conn, err);
  if (st) b->rollback(store->conn);
  if (!st && b->scrub) st = b->scrub(store->conn, err);
  pthread_mutex_unlock(&store->lock);
  if (!st) {
    c.receipt_seq = receipt.seq;
    *out = c;
  }
  return st;
}

/* ---- the review queue ---- */

hg_status hg_store_review_add(hg_store *store, const hg_review_item *in, int64_t now_ms, int64_t *id, hg_error *err) {
  if (!store || !in || !id) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_review_add: NULL argument");
  if (!in->response_id || !*in->response_id || !in->actor || !in->route || !in->verdict)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "a review item needs a response id, an actor, a route and a verdict");
  pthread_mutex_lock(&store->lock);
  hg_status st = store->backend->review_insert(store->conn, in, now_ms, id, err);
  pthread_mutex_unlock(&store->lock);
  return st;
}

hg_status hg_store_review_list(hg_store *store, const char *status, int64_t limit, hg_review_fn fn, void *ctx,
                               hg_error *err) {
  if (!store || !fn) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_review_list: NULL argument");
  if (status && strcmp(status, "open") && strcmp(status, "allowed") && strcmp(status, "blocked"))
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "review status \"%s\": expected open, allowed or blocked", status);
  if (limit <= 0) limit = 100;
  /* fn runs under the lock: it must not call back into this store */
  pthread_mutex_lock(&store->lock);
  hg_status st = store->backend->review_each(store->conn, 0, status, limit, fn, ctx, err);
  pthread_mutex_unlock(&store->lock);
  return st;
}

typedef struct review_one {
  hg_review_fn fn;
  void *ctx;
  int seen;
} review_one;

static int review_seen(void *ctx, const hg_review_item *item) {
  review_one *o = ctx;
  o->seen = 1;
  return o->fn(o->ctx, item);
}

hg_status hg_store_review_get(hg_store *store, int64_t id, hg_review_fn fn, void *ctx, hg_error *err) {
  if (!store || !fn) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_review_get: NULL argument");
  if (id <= 0) return hg_fail(err, HG_ERR_NOT_FOUND, 0, 0, "no review item %lld", (long long)id);
  review_one o = {fn, ctx, 0};
  /* fn runs under the lock: it must not call back into this store */
  pthread_mutex_lock(&store->lock);
  hg_status st = store->backend->review_each(store->conn, id, NULL, 1, review_seen, &o, err);
  pthread_mutex_unlock(&store->lock);
  if (!st && !o.seen) return hg_fail(err, HG_ERR_NOT_FOUND, 0, 0, "no review item %lld", (long long)id);
  return st;
}

hg_status hg_store_review_decide(hg_store *store, int64_t id, const char *decision, const char *by, const char *note,
                                 int64_t now_ms, hg_error *err) {
  if (!store || !decision) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_review_decide: NULL argument");
  if (strcmp(decision, "allowed") && strcmp(decision, "blocked"))
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "review decision \"%s\": expected allowed or blocked", decision);
  int changed = 0, exists = 0;
  pthread_mutex_lock(&store->lock);
  hg_status st = store->backend->review_decide(store->conn, id, decision, by, note, now_ms, &changed, &exists, err);
  pthread_mutex_unlock(&store->lock);
  if (st) return st;
  if (!exists) return hg_fail(err, HG_ERR_NOT_FOUND, 0, 0, "no review item %lld", (long long)id);
  if (!changed) return hg_fail(err, HG_ERR_CONFLICT, 0, 0, "review item %lld was decided already", (long long)id);
  return HG_OK;
}

hg_status hg_store_review_assign(hg_store *store, int64_t id, const char *who, hg_error *err) {
  if (!store) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_review_assign: NULL argument");
  int changed = 0, exists = 0;
  pthread_mutex_lock(&store->lock);
  hg_status st = store->backend->review_assign(store->conn, id, who, &changed, &exists, err);
  pthread_mutex_unlock(&store->lock);
  if (st) return st;
  if (!exists) return hg_fail(err, HG_ERR_NOT_FOUND, 0, 0, "no review item %lld", (long long)id);
  if (!changed) return hg_fail(err, HG_ERR_CONFLICT, 0, 0, "review item %lld was decided already", (long long)id);
  return HG_OK;
}

hg_status hg_store_review_stats(hg_store *store, int64_t since_ms, int64_t offset_ms, int64_t *open,
                                hg_review_day_fn fn, void *ctx, hg_error *err) {
  if (!store || !open) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_review_stats: NULL argument");
  *open = 0;
  /* fn runs under the lock: it must not call back into this store */
  pthread_mutex_lock(&store->lock);
  hg_status st = store->backend->review_stats(store->conn, since_ms, offset_ms, open, fn, ctx, err);
  pthread_mutex_unlock(&store->lock);
  return st;
}

/* ---- the webhook outbox ------------------------------------------------------------------------------------ *
 * The rules the backend does not know: event and state names, the retry schedule, and what an attempt does to a
 * row (counted, then delivered, waiting, or failed once the attempts run out), decided inside one transaction. */

static const char *const webhook_event_names[HG_WEBHOOK_EVENTS] = {"complaint.overdue", "user.suspended",
                                                                   "user.minor_to_adult", "identity.rejected"};
static const char *const webhook_state_names[] = {"pending", "delivered", "failed"};

const char *hg_webhook_event_name(hg_webhook_event event) {
  return enum_name(webhook_event_names, HG_WEBHOOK_EVENTS, (unsigned)event);
}

hg_status hg_webhook_event_parse(const char *name, hg_webhook_event *out) {
  unsigned v;
  if (!name || !out || enum_parse(webhook_event_names, HG_WEBHOOK_EVENTS, name, &v))
    return HG_ERR_INVALID; /* no message: callers name the event in their own words */
  *out = (hg_webhook_event)v;
  return HG_OK;
}

const char *hg_webhook_state_name(hg_webhook_state state) {
  return enum_name(webhook_state_names, ENUM_COUNT(webhook_state_names), (unsigned)state);
}

hg_status hg_webhook_state_parse(const char *name, hg_webhook_state *out) {
  unsigned v;
  if (!name || !out || enum_parse(webhook_state_names, ENUM_COUNT(webhook_state_names), name, &v))
    return HG_ERR_INVALID;
  *out = (hg_webhook_state)v;
  return HG_OK;
}

int64_t hg_webhook_backoff_ms(const hg_webhook_retry *retry, unsigned attempts_failed) {
  int64_t base = retry && retry->base_ms > 0 ? retry->base_ms : 1;
  int64_t cap = retry && retry->cap_ms >= base ? retry->cap_ms : base;
  int64_t wait = base;
  for (unsigned i = 1; i < attempts_failed && wait < cap; i++) /* doubling stops at the cap: never overflows */
    wait *= 2;
  return wait < cap ? wait : cap;
}

hg_status hg_store_webhook_enqueue(hg_store *store, hg_webhook_event event, const char *once_key,
                                   const hg_webhook_target *targets, size_t n, const char *payload_json, int64_t now_ms,
                                   size_t *added, hg_error *err) {
  if (added) *added = 0;
  if (!store || (n && !targets) || !payload_json)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_webhook_enqueue: NULL argument");
  if ((unsigned)event >= HG_WEBHOOK_EVENTS)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "unknown webhook event %d", event);
  const char *payload, *key;
  hg_status st;
  if ((st = take_text("the webhook payload", payload_json, HG_WEBHOOK_PAYLOAD_MAX, &payload, err)) ||
      (st = take_text("the webhook once_key", once_key, 200, &key, err)) || (st = check_time("now_ms", now_ms, err)))
    return st;
  if (!payload || payload[0] != '{')
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "a webhook payload is the event's data as a JSON object");
  for (size_t i = 0; i < n; i++) {
    const char *url = targets[i].url;
    if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) || strlen(url) >= HG_WEBHOOK_URL_MAX)
      return hg_fail(err, HG_ERR_INVALID, 0, 0, "webhook target %zu: expected an http:// or https:// URL", i);
  }
  if (!n) return HG_OK;
  const hg_store_backend *b = store->backend;
  size_t count = 0;
  pthread_mutex_lock(&store->lock);
  st = b->begin(store->conn, err);
  for (size_t i = 0; !st && i < n; i++) {
    hg_webhook_row row = {.target = targets[i].index,
                          .created_ms = now_ms,
                          .next_attempt_ms = now_ms,
                          .event = text_of(hg_webhook_event_name(event)),
                          .url = text_of(targets[i].url),
                          .payload = text_of(payload),
                          .once_key = text_of(key)};
    int one = 0;
    st = b->webhook_insert(store->conn, &row, &one, err);
    count += one > 0;
  }
  if (!st) st = b->commit(store->conn, err); /* synchronous: a decided event's notification is on disk */
  if (st) b->rollback(store->conn);
  pthread_mutex_unlock(&store->lock);
  if (!st && added) *added = count;
  return st;
}

typedef struct webhook_walk {
  hg_webhook_fn fn;
  void *ctx;
  int64_t rows;
  int bad;
} webhook_walk;

static int webhook_row(void *ctx, const hg_webhook_row *row) {
  webhook_walk *w = ctx;
  hg_webhook_delivery d = {.id = row->id,
                           .target = row->target,
                           .created_ms = row->created_ms,
                           .attempts = row->attempts,
                           .next_attempt_ms = row->next_attempt_ms,
                           .last_status = row->last_status,
                           .delivered_ms = row->delivered_ms};
  char *payload = NULL;
  w->rows++;
  if (copy_name(d.event, sizeof d.event, row->event) || copy_name(d.url, sizeof d.url, row->url) ||
      copy_name(d.state, sizeof d.state, row->state) || dup_text(&payload, row->payload) || !payload) {
    free(payload);
    w->bad = 1;
    return 1;
  }
  if (row->last_error.ptr) { /* an error message is for people: cut, never refused */
    size_t len = row->last_error.len < sizeof d.last_error - 1 ? row->last_error.len : sizeof d.last_error - 1;
    memcpy(d.last_error, row->last_error.ptr, len);
    d.last_error[len] = 0;
  }
  d.payload = payload;
  int stop = w->fn(w->ctx, &d);
  free(payload);
  return stop;
}

static hg_status webhook_each(hg_store *store, int which, int64_t arg, const char *state, int64_t limit,
                              hg_webhook_fn fn, void *ctx, int64_t *rows, hg_error *err) {
  webhook_walk w = {fn, ctx, 0, 0};
  /* fn runs under the lock: it must not call back into this store */
  pthread_mutex_lock(&store->lock);
  hg_status st = store->backend->webhook_each(store->conn, which, arg, state, limit, webhook_row, &w, err);
  pthread_mutex_unlock(&store->lock);
  if (!st && w.bad) st = hg_fail(err, HG_ERR_CORRUPT, 0, 0, "a webhook delivery row holds a value out of bounds");
  if (rows) *rows = w.rows;
  return st;
}

hg_status hg_store_webhook_due(hg_store *store, int64_t now_ms, int64_t limit, hg_webhook_fn fn, void *ctx,
                               hg_error *err) {
  if (!store || !fn || limit < 1) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_webhook_due: bad argument");
  return webhook_each(store, 0, now_ms, NULL, limit, fn, ctx, NULL, err);
}

hg_status hg_store_webhook_list(hg_store *store, const char *state, int64_t limit, hg_webhook_fn fn, void *ctx,
                                hg_error *err) {
  hg_webhook_state s;
  if (!store || !fn || limit < 1) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_webhook_list: bad argument");
  if (state && hg_webhook_state_parse(state, &s))
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "a delivery's state is pending, delivered or failed");
  return webhook_each(store, 1, 0, state, limit, fn, ctx, NULL, err);
}

hg_status hg_store_webhook_get(hg_store *store, int64_t id, hg_webhook_fn fn, void *ctx, hg_error *err) {
  if (!store || !fn) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_webhook_get: NULL argument");
  int64_t rows = 0;
  hg_status st = webhook_each(store, 2, id, NULL, 1, fn, ctx, &rows, err);
  if (!st && !rows) st = hg_fail(err, HG_ERR_NOT_FOUND, 0, 0, "no webhook delivery has id %" PRId64, id);
  return st;
}

hg_status hg_store_webhook_next_due(hg_store *store, int64_t *next_ms, hg_error *err) {
  if (!store || !next_ms) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_webhook_next_due: NULL argument");
  pthread_mutex_lock(&store->lock);
  hg_status st = store->backend->webhook_next_due(store->conn, next_ms, err);
  pthread_mutex_unlock(&store->lock);
  return st;
}

hg_status hg_store_webhook_claim(hg_store *store, int64_t id, int64_t now_ms, int64_t lease_until_ms, hg_error *err) {
  if (!store || lease_until_ms <= now_ms)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_webhook_claim: a lease ends after now");
  int changed = 0;
  pthread_mutex_lock(&store->lock);
  hg_status st = store->backend->webhook_claim(store->conn, id, now_ms, lease_until_ms, &changed, err);
  pthread_mutex_unlock(&store->lock);
  if (!st && !changed)
    st = hg_fail(err, HG_ERR_CONFLICT, 0, 0, "webhook delivery %" PRId64 " is not pending and due", id);
  return st;
}

typedef struct webhook_copy {
  hg_webhook_row row;
  char state[16];
  int found;
} webhook_copy;

static int copy_webhook_counts(void *ctx, const hg_webhook_row *row) {
  webhook_copy *c = ctx;
  c->row = *row;
  c->found = !copy_name(c->state, sizeof c->state, row->state);
  c->row.event = c->row.url = c->row.payload = c->row.state = c->row.last_error = c->row.once_key =
      (hg_store_text){NULL, 0}; /* the strings end with the callback */
  return 1;
}

hg_status hg_store_webhook_attempt(hg_store *store, int64_t id, const hg_webhook_retry *retry, int ok, int http_status,
                                   const char *error, int64_t now_ms, hg_webhook_state *after, hg_error *err) {
  if (!store || !retry || retry->max_attempts < 1)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_webhook_attempt: bad argument");
  char message[256] = "";
  if (!ok) { /* the error is the gateway's or the receiver's words: kept short and valid */
    snprintf(message, sizeof message, "%s", error && *error ? error : "failed");
    size_t len = strlen(message), bad;
    while (len && hg_utf8_validate(message, len, &bad))
      message[--len] = 0;
  }
  const hg_store_backend *b = store->backend;
  webhook_copy c = {0};
  hg_webhook_state state = HG_WEBHOOK_PENDING;
  pthread_mutex_lock(&store->lock);
  hg_status st = b->begin(store->conn, err);
  if (!st) st = b->webhook_each(store->conn, 2, id, NULL, 1, copy_webhook_counts, &c, err);
  if (!st && !c.found) st = hg_fail(err, HG_ERR_NOT_FOUND, 0, 0, "no webhook delivery has id %" PRId64, id);
  if (!st && strcmp(c.state, "pending"))
    st = hg_fail(err, HG_ERR_CONFLICT, 0, 0, "webhook delivery %" PRId64 " is %s, not pending", id, c.state);
  if (!st) {
    hg_webhook_row row = c.row;
    row.attempts++;
    row.last_status = http_status;
    if (ok) {
      state = HG_WEBHOOK_DELIVERED;
      row.delivered_ms = now_ms;
      row.last_error = (hg_store_text){NULL, 0};
    } else {
      state = row.attempts >= (int64_t)retry->max_attempts ? HG_WEBHOOK_FAILED : HG_WEBHOOK_PENDING;
      if (state == HG_WEBHOOK_PENDING)
        row.next_attempt_ms = now_ms + hg_webhook_backoff_ms(retry, (unsigned)row.attempts);
      row.last_error = text_of(message);
    }
    row.state = text_of(hg_webhook_state_name(state));
    st = b->webhook_update(store->conn, &row, err);
  }
  if (!st) st = b->commit(store->conn, err);
  if (st) b->rollback(store->conn);
  pthread_mutex_unlock(&store->lock);
  if (!st && after) *after = state;
  return st;
}

hg_status hg_store_webhook_requeue(hg_store *store, int64_t id, int64_t now_ms, hg_error *err) {
  if (!store) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_webhook_requeue: NULL argument");
  webhook_copy c = {0};
  int changed = 0;
  const hg_store_backend *b = store->backend;
  pthread_mutex_lock(&store->lock);
  hg_status st = b->begin(store->conn, err);
  if (!st) st = b->webhook_each(store->conn, 2, id, NULL, 1, copy_webhook_counts, &c, err);
  if (!st && !c.found) st = hg_fail(err, HG_ERR_NOT_FOUND, 0, 0, "no webhook delivery has id %" PRId64, id);
  if (!st) st = b->webhook_requeue(store->conn, id, now_ms, &changed, err);
  if (!st && !changed)
    st = hg_fail(err, HG_ERR_CONFLICT, 0, 0, "webhook delivery %" PRId64 " is %s: only a failed one is sent again", id,
                 c.state);
  if (!st) st = b->commit(store->conn, err);
  if (st) b->rollback(store->conn);
  pthread_mutex_unlock(&store->lock);
  return st;
}

/* ---- policy and lexicon versions (hegui/versions.h) ---- */

static const char *const version_kind_names[] = {"policy", "lexicon"};
static const char *const version_state_names[] = {"pending", "active", "superseded", "rejected", "rolled_back"};
_Static_assert(ENUM_COUNT(version_kind_names) == HG_VERSION_KIND_COUNT, "a name for every kind");
_Static_assert(ENUM_COUNT(version_state_names) == HG_VERSION_STATE_COUNT, "a name for every state");

const char *hg_version_kind_name(hg_version_kind kind) {
  return enum_name(version_kind_names, ENUM_COUNT(version_kind_names), (unsigned)kind);
}

hg_status hg_version_kind_parse(const char *name, hg_version_kind *out) {
  unsigned v = 0;
  hg_status st = enum_parse(version_kind_names, ENUM_COUNT(version_kind_names), name, &v);
  if (!st && out) *out = (hg_version_kind)v;
  return st;
}

const char *hg_version_state_name(hg_version_state state) {
  return enum_name(version_state_names, ENUM_COUNT(version_state_names), (unsigned)state);
}

hg_status hg_version_state_parse(const char *name, hg_version_state *out) {
  unsigned v = 0;
  hg_status st = enum_parse(version_state_names, ENUM_COUNT(version_state_names), name, &v);
  if (!st && out) *out = (hg_version_state)v;
  return st;
}

/* What the moves need to know of a version, read inside their transaction. */
typedef struct version_peek {
  int found;
  int64_t id, activated_ms, rollback_of;
  hg_version_kind kind;
  hg_version_state state;
} version_peek;

static int version_peeked(void *ctx, const hg_version_info *v) {
  version_peek *p = ctx;
  *p = (version_peek){1, v->id, v->activated_ms, v->rollback_of, v->kind, v->state};
  return 1;
}

/* Inside a transaction: the active version of kind (if any) becomes to (superseded or rolled_back); *retired gets
 * its id, 0 when there was none. */
static hg_status version_retire(hg_store *store, hg_version_kind kind, hg_version_state to, int64_t now_ms,
                                int64_t *retired, hg_error *err) {
  const hg_store_backend *b = store->backend;
  version_peek p = {0};
  *retired = 0;
  hg_status st = b->version_each(store->conn, 0, kind, HG_VERSION_ACTIVE, 1, 0, version_peeked, &p, err);
  if (st || !p.found) return st;
  int changed = 0;
  st = b->version_move(store->conn, p.id, HG_VERSION_ACTIVE, to, NULL, NULL, 0, now_ms, &changed, err);
  if (!st && !changed)
    st = hg_fail(err, HG_ERR_CONFLICT, 0, 0, "version %" PRId64 " stopped being active meanwhile", p.id);
  if (!st) *retired = p.id;
  return st;
}

hg_status hg_store_version_add(hg_store *store, hg_version_kind kind, const void *content, size_t len,
                               const char *author, int64_t author_key_id, int64_t rollback_of, int activate,
                               int64_t now_ms, int64_t *id, hg_error *err) {
  if (!store || !id || !author || (!content && len))
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_version_add: NULL argument");
  if ((unsigned)kind >= HG_VERSION_KIND_COUNT)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "a version is of a policy or a lexicon, not of kind %d", (int)kind);
  if (!*author || strlen(author) > 200)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "a version needs its author's name (at most 200 bytes)");
  if (len > HG_VERSION_CONTENT_MAX)
    return hg_fail(err, HG_ERR_LIMIT, 0, 0, "a version is at most %zu MiB", HG_VERSION_CONTENT_MAX >> 20);
  if (rollback_of < 0) return hg_fail(err, HG_ERR_INVALID, 0, 0, "rollback_of is a version id or 0");
  hg_status st = check_time("now_ms", now_ms, err);
  if (st) return st;
  hg_version_info row = {.kind = kind,
                         .state = activate ? HG_VERSION_ACTIVE : HG_VERSION_PENDING,
                         .created_ms = now_ms,
                         .activated_ms = activate ? now_ms : 0,
                         .author = author,
                         .author_key_id = author_key_id,
                         .rollback_of = rollback_of,
                         .size = (int64_t)len,
                         .content = content ? content : ""};
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, row.content, len);
  sodium_bin2hex(row.sha256, sizeof row.sha256, digest, sizeof digest);

  const hg_store_backend *b = store->backend;
  pthread_mutex_lock(&store->lock);
  /* the check of what is brought back, the retirement of the active version and the insert are one commit: two
   * admins activating at once cannot leave two active versions (nor none) */
  st = b->begin(store->conn, err);
  if (!st && rollback_of) {
    version_peek p = {0};
    st = b->version_each(store->conn, rollback_of, HG_VERSION_KIND_COUNT, HG_VERSION_STATE_COUNT, 1, 0, version_peeked,
                         &p, err);
    if (!st && !p.found) st = hg_fail(err, HG_ERR_NOT_FOUND, 0, 0, "no version %" PRId64, rollback_of);
    if (!st && p.kind != kind)
      st = hg_fail(err, HG_ERR_INVALID, 0, 0, "version %" PRId64 " is a %s version, not a %s one", rollback_of,
                   hg_version_kind_name(p.kind), hg_version_kind_name(kind));
    if (!st && !p.activated_ms)
      st = hg_fail(err, HG_ERR_INVALID, 0, 0,
                   "version %" PRId64 " was never in force (it is %s): only a version that was active can be brought "
                   "back",
                   rollback_of, hg_version_state_name(p.state));
  }
  int64_t retired = 0;
  if (!st && activate)
    st = version_retire(store, kind, rollback_of ? HG_VERSION_ROLLED_BACK : HG_VERSION_SUPERSEDED, now_ms, &retired,
                        err);
  if (!st) st = b->version_insert(store->conn, &row, id, err);
  if (!st) st = b->commit(store->conn, err);
  if (st) b->rollback(store->conn);
  pthread_mutex_unlock(&store->lock);
  return st;
}

/* Reads version id inside the open transaction and checks that it is pending. */
static hg_status version_pending(hg_store *store, int64_t id, version_peek *p, hg_error *err) {
  hg_status st = store->backend->version_each(store->conn, id, HG_VERSION_KIND_COUNT, HG_VERSION_STATE_COUNT, 1, 0,
                                              version_peeked, p, err);
  if (!st && !p->found) st = hg_fail(err, HG_ERR_NOT_FOUND, 0, 0, "no version %" PRId64, id);
  if (!st && p->state != HG_VERSION_PENDING)
    st = hg_fail(err, HG_ERR_CONFLICT, 0, 0, "version %" PRId64 " is %s, not pending", id,
                 hg_version_state_name(p->state));
  return st;
}

hg_status hg_store_version_approve(hg_store *store, int64_t id, const char *approver, int64_t now_ms, hg_error *err) {
  if (!store || !approver || !*approver)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_version_approve: an approver is needed");
  if (id <= 0) return hg_fail(err, HG_ERR_NOT_FOUND, 0, 0, "no version %" PRId64, id);
  hg_status st = check_time("now_ms", now_ms, err);
  if (st) return st;
  const hg_store_backend *b = store->backend;
  version_peek p = {0};
  int64_t retired = 0;
  int changed = 0;
  pthread_mutex_lock(&store->lock);
  st = b->begin(store->conn, err);
  if (!st) st = version_pending(store, id, &p, err);
  if (!st)
    st = version_retire(store, p.kind, p.rollback_of ? HG_VERSION_ROLLED_BACK : HG_VERSION_SUPERSEDED, now_ms, &retired,
                        err);
  if (!st)
    st = b->version_move(store->conn, id, HG_VERSION_PENDING, HG_VERSION_ACTIVE, approver, NULL, now_ms, 0, &changed,
                         err);
  if (!st && !changed) st = hg_fail(err, HG_ERR_CONFLICT, 0, 0, "version %" PRId64 " was decided meanwhile", id);
  if (!st) st = b->commit(store->conn, err);
  if (st) b->rollback(store->conn);
  pthread_mutex_unlock(&store->lock);
  return st;
}

hg_status hg_store_version_reject(hg_store *store, int64_t id, const char *by, const char *note, int64_t now_ms,
                                  hg_error *err) {
  if (!store || !by || !*by) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_version_reject: who rejects?");
  if (id <= 0) return hg_fail(err, HG_ERR_NOT_FOUND, 0, 0, "no version %" PRId64, id);
  if (note && strlen(note) > 2000) return hg_fail(err, HG_ERR_LIMIT, 0, 0, "a note is at most 2000 bytes");
  hg_status st = check_time("now_ms", now_ms, err);
  if (st) return st;
  const hg_store_backend *b = store->backend;
  version_peek p = {0};
  int changed = 0;
  pthread_mutex_lock(&store->lock);
  st = b->begin(store->conn, err);
  if (!st) st = version_pending(store, id, &p, err);
  if (!st)
    st = b->version_move(store->conn, id, HG_VERSION_PENDING, HG_VERSION_REJECTED, by, note, 0, now_ms, &changed, err);
  if (!st && !changed) st = hg_fail(err, HG_ERR_CONFLICT, 0, 0, "version %" PRId64 " was decided meanwhile", id);
  if (!st) st = b->commit(store->conn, err);
  if (st) b->rollback(store->conn);
  pthread_mutex_unlock(&store->lock);
  return st;
}

hg_status hg_store_version_deactivate(hg_store *store, hg_version_kind kind, int64_t now_ms, int64_t *id,
                                      hg_error *err) {
  if (!store || !id) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_version_deactivate: NULL argument");
  if ((unsigned)kind >= HG_VERSION_KIND_COUNT)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "a version is of a policy or a lexicon, not of kind %d", (int)kind);
  hg_status st = check_time("now_ms", now_ms, err);
  if (st) return st;
  const hg_store_backend *b = store->backend;
  pthread_mutex_lock(&store->lock);
  st = b->begin(store->conn, err);
  if (!st) st = version_retire(store, kind, HG_VERSION_SUPERSEDED, now_ms, id, err);
  if (!st) st = b->commit(store->conn, err);
  if (st) b->rollback(store->conn);
  pthread_mutex_unlock(&store->lock);
  return st;
}

typedef struct version_one {
  hg_version_fn fn;
  void *ctx;
  int seen;
} version_one;

static int version_seen(void *ctx, const hg_version_info *v) {
  version_one *o = ctx;
  o->seen = 1;
  return o->fn(o->ctx, v);
}

hg_status hg_store_version_get(hg_store *store, int64_t id, hg_version_fn fn, void *ctx, hg_error *err) {
  if (!store || !fn) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_version_get: NULL argument");
  if (id <= 0) return hg_fail(err, HG_ERR_NOT_FOUND, 0, 0, "no version %" PRId64, id);
  version_one o = {fn, ctx, 0};
  pthread_mutex_lock(&store->lock);
  hg_status st = store->backend->version_each(store->conn, id, HG_VERSION_KIND_COUNT, HG_VERSION_STATE_COUNT, 1, 1,
                                              version_seen, &o, err);
  pthread_mutex_unlock(&store->lock);
  if (!st && !o.seen) return hg_fail(err, HG_ERR_NOT_FOUND, 0, 0, "no version %" PRId64, id);
  return st;
}

hg_status hg_store_version_active(hg_store *store, hg_version_kind kind, hg_version_fn fn, void *ctx, hg_error *err) {
  if (!store || !fn) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_version_active: NULL argument");
  if ((unsigned)kind >= HG_VERSION_KIND_COUNT)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "a version is of a policy or a lexicon, not of kind %d", (int)kind);
  version_one o = {fn, ctx, 0};
  pthread_mutex_lock(&store->lock);
  hg_status st = store->backend->version_each(store->conn, 0, kind, HG_VERSION_ACTIVE, 1, 1, version_seen, &o, err);
  pthread_mutex_unlock(&store->lock);
  if (!st && !o.seen)
    return hg_fail(err, HG_ERR_NOT_FOUND, 0, 0, "no %s version is active", hg_version_kind_name(kind));
  return st;
}

hg_status hg_store_version_list(hg_store *store, unsigned kind, unsigned state, int64_t limit, hg_version_fn fn,
                                void *ctx, hg_error *err) {
  if (!store || !fn) return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_version_list: NULL argument");
  if (kind > HG_VERSION_KIND_COUNT || state > HG_VERSION_STATE_COUNT)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "hg_store_version_list: no such kind or state");
  if (limit <= 0) limit = 100;
  pthread_mutex_lock(&store->lock);
  hg_status st = store->backend->version_each(store->conn, 0, kind, state, limit, 0, fn, ctx, err);
  pthread_mutex_unlock(&store->lock);
  return st;
}
