/* store/sqlite.c — the embedded store: one SQLite file in WAL mode, fsynced on every commit (synchronous=FULL),
 * so an audit record (or a complaint) whose call returned is on disk even if the machine loses power the next
 * moment.
 *
 * The schema is created and upgraded by the migrations below, numbered from 1; schema_version records each one
 * applied. The SQL sticks to what PostgreSQL also accepts (plain CREATE TABLE, INSERT, SELECT, UPDATE; INTEGER,
 * TEXT types) so a second backend can reuse it with its own types; what is SQLite's own stays in this file. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/error.h"
#include "store/store_internal.h"

/* How long a call waits for another connection's write lock before it fails with "database is locked". */
#define HG_SQLITE_BUSY_TIMEOUT_MS 5000

/* Migration N brings the schema from version N-1 to N. Append only: a shipped migration never changes. */
static const char *const migrations[] = {
    /* 1: users, their API keys (SHA-256 only) and the audit chain */
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
    "  hash TEXT NOT NULL);\n",
    /* 2: complaints, takedowns, and users' standing with the strikes and changes behind it */
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
    "CREATE INDEX standing_history_user ON standing_history (user_id, time_ms);\n",
    /* 3: audit format 2, which hashes text_sha256 instead of text so that text can be erased (data-subject
     * requests, retention) without breaking the chain. Rows already stored keep format 1 and their hashes: nothing
     * is recomputed, and verify checks each row by its own format. */
    ("ALTER TABLE audit ADD COLUMN format INTEGER NOT NULL DEFAULT 1;\n"
     "ALTER TABLE audit ADD COLUMN text_sha256 TEXT;\n"),
    /* 4: key expiry (existing keys never expire), users' real-name identity (sealed fields kept as opaque text)
     * and the minors' usage counters: one row per user, today's counts and the current run of use only */
    ("ALTER TABLE api_keys ADD COLUMN expires_ms INTEGER NOT NULL DEFAULT 0;\n"
     "CREATE TABLE user_identity (\n"
     "  user_id INTEGER PRIMARY KEY REFERENCES users(id),\n"
     "  status TEXT NOT NULL,\n"
     "  updated_ms INTEGER NOT NULL,\n"
     "  adult_from_ms INTEGER NOT NULL,\n"
     "  minor INTEGER NOT NULL,\n"
     "  sealed TEXT,\n"
     "  note TEXT);\n"
     "CREATE TABLE user_usage (\n"
     "  user_id INTEGER PRIMARY KEY REFERENCES users(id),\n"
     "  day INTEGER NOT NULL,\n"
     "  requests INTEGER NOT NULL,\n"
     "  active_ms INTEGER NOT NULL,\n"
     "  session_start_ms INTEGER NOT NULL,\n"
     "  last_ms INTEGER NOT NULL,\n"
     "  reminded_ms INTEGER NOT NULL);\n"
     "CREATE INDEX user_usage_last ON user_usage (last_ms);\n"
     "CREATE INDEX api_keys_user ON api_keys (user_id, created_ms);\n"),
    /* 5: who set a user's standing last: the strike ladder or a person (a reviewer's suspension must not be told to
     * the user as one for prohibited content); rows from before say ladder, as the message they got did */
    "ALTER TABLE user_standing ADD COLUMN set_by TEXT NOT NULL DEFAULT 'ladder';\n",
    /* 6: a keyed hash of each identity's ID number, so that one ID number on several accounts is found (Art. 10: a
     * minor using an adult's identity) without unsealing every identity */
    ("ALTER TABLE user_identity ADD COLUMN id_hash TEXT;\n"
     "CREATE INDEX user_identity_id_hash ON user_identity (id_hash);\n"),
    /* 7: the channel a complaint came by (staff enter telephone, e-mail and letter complaints), the public intake's
     * tickets from before are web */
    "ALTER TABLE complaints ADD COLUMN channel TEXT NOT NULL DEFAULT 'web';\n",
    /* 8: the review queue: answers with a review verdict and a sample of allowed ones, for people to decide */
    ("CREATE TABLE review_items (\n"
     "  id INTEGER PRIMARY KEY,\n"
     "  created_ms INTEGER NOT NULL,\n"
     "  response_id TEXT NOT NULL,\n"
     "  actor TEXT NOT NULL,\n"
     "  route TEXT NOT NULL,\n"
     "  verdict TEXT NOT NULL,\n"
     "  sampled INTEGER NOT NULL,\n"
     "  reasons TEXT,\n"
     "  status TEXT NOT NULL,\n"
     "  decided_ms INTEGER NOT NULL DEFAULT 0,\n"
     "  decided_by TEXT,\n"
     "  note TEXT,\n"
     "  assignee TEXT);\n"
     "CREATE INDEX review_items_status ON review_items (status, created_ms);\n"),
    /* 9: usage quota counters shared by every gateway on the store: requests and tokens per subject ("u:<user>",
     * "k:<key id>") and window (kind 0: the UTC minute number, 1: the UTC day number); old windows are deleted as
     * new ones start (store.c). WITHOUT ROWID: the rows are small and always found by their whole key. */
    ("CREATE TABLE quota_counters (\n"
     "  subject TEXT NOT NULL,\n"
     "  window_kind INTEGER NOT NULL,\n"
     "  window_number INTEGER NOT NULL,\n"
     "  requests INTEGER NOT NULL,\n"
     "  tokens INTEGER NOT NULL,\n"
     "  PRIMARY KEY (subject, window_kind, window_number)) WITHOUT ROWID;\n"),
    /* 10: operator tools. A complainant's secret for following their ticket (SHA-256 only, like API keys); a
     * takedown withdrawn by a reviewer stays, with who, when and why, and stops matching. */
    ("ALTER TABLE complaints ADD COLUMN secret_sha256 TEXT;\n"
     "ALTER TABLE takedowns ADD COLUMN withdrawn_ms INTEGER NOT NULL DEFAULT 0;\n"
     "ALTER TABLE takedowns ADD COLUMN withdrawn_by TEXT;\n"
     "ALTER TABLE takedowns ADD COLUMN withdraw_reason TEXT;\n"),
    /* 11: the webhook outbox: one row per event and target, kept until delivered or failed and after (the admin
     * route lists them); once_key with target is unique, so an event that must happen once per ticket (an overdue
     * complaint) is enqueued once whatever the number of checks (NULL keys never collide) */
    ("CREATE TABLE webhook_deliveries (\n"
     "  id INTEGER PRIMARY KEY,\n"
     "  event TEXT NOT NULL,\n"
     "  target INTEGER NOT NULL,\n"
     "  url TEXT NOT NULL,\n"
     "  payload TEXT NOT NULL,\n"
     "  created_ms INTEGER NOT NULL,\n"
     "  attempts INTEGER NOT NULL DEFAULT 0,\n"
     "  next_attempt_ms INTEGER NOT NULL,\n"
     "  state TEXT NOT NULL,\n"
     "  last_status INTEGER NOT NULL DEFAULT 0,\n"
     "  last_error TEXT,\n"
     "  delivered_ms INTEGER NOT NULL DEFAULT 0,\n"
     "  once_key TEXT);\n"
     "CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries (once_key, target);\n"
     "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_ms);\n"),
    /* 12: policy and lexicon versions (hegui/versions.h): every upload with its author, hash, size and content; at
     * most one active version per kind, which the partial unique index holds even against a faulty caller */
    ("CREATE TABLE versions (\n"
     "  id INTEGER PRIMARY KEY,\n"
     "  kind TEXT NOT NULL,\n"
     "  state TEXT NOT NULL,\n"
     "  created_ms INTEGER NOT NULL,\n"
     "  activated_ms INTEGER NOT NULL DEFAULT 0,\n"
     "  ended_ms INTEGER NOT NULL DEFAULT 0,\n"
     "  author TEXT NOT NULL,\n"
     "  author_key_id INTEGER NOT NULL DEFAULT 0,\n"
     "  approver TEXT,\n"
     "  note TEXT,\n"
     "  rollback_of INTEGER REFERENCES versions(id),\n"
     "  sha256 TEXT NOT NULL,\n"
     "  size INTEGER NOT NULL,\n"
     "  content BLOB NOT NULL);\n"
     "CREATE INDEX versions_kind_state ON versions (kind, state, id);\n"
     "CREATE UNIQUE INDEX versions_one_active ON versions (kind) WHERE state = 'active';\n"),
};
#define SCHEMA_VERSION ((int64_t)(sizeof migrations / sizeof migrations[0]))

enum {
  Q_USER_FIND,
  Q_USER_INSERT,
  Q_KEY_INSERT,
  Q_KEY_FIND,
  Q_KEY_REVOKE,
  Q_AUDIT_LAST,
  Q_AUDIT_INSERT,
  Q_AUDIT_EACH,
  Q_COMPLAINT_INSERT,
  Q_COMPLAINT_GET,
  Q_COMPLAINT_UPDATE,
  Q_COMPLAINT_LIST,
  Q_COMPLAINT_OVERDUE,
  Q_TAKEDOWN_INSERT,
  Q_TAKEDOWN_EACH,
  Q_TAKEDOWN_LIST,
  Q_TAKEDOWN_WITHDRAW,
  Q_TAKEDOWN_EXISTS,
  Q_COMPLAINT_SET_SECRET,
  Q_COMPLAINT_SECRET,
  Q_TAKEDOWN_VERSION_BUMP,
  Q_TAKEDOWN_VERSION,
  Q_STANDING_GET,
  Q_STANDING_UPDATE,
  Q_STANDING_INSERT,
  Q_STANDING_HISTORY_INSERT,
  Q_STRIKE_INSERT,
  Q_STRIKE_COUNT,
  Q_USER_GET,
  Q_USER_KEYS,
  Q_USER_HISTORY,
  Q_USER_STRIKES,
  Q_AUDIT_ABOUT,
  Q_DEL_KEYS,
  Q_DEL_STANDING,
  Q_DEL_STRIKES,
  Q_DEL_HISTORY,
  Q_DEL_USER,
  Q_ERASE_TEXT,
  Q_COUNT_KEPT,
  Q_TAKEDOWN_DELETE_EXPIRED,
  Q_STRIKE_DELETE_BEFORE,
  Q_KEY_LIST_ALL,
  Q_KEY_LIST_USER,
  Q_IDENTITY_GET,
  Q_IDENTITY_UPDATE,
  Q_IDENTITY_INSERT,
  Q_IDENTITY_SAME_ID,
  Q_USER_EACH,
  Q_USAGE_GET,
  Q_USAGE_UPDATE,
  Q_USAGE_INSERT,
  Q_USAGE_DELETE_BEFORE,
  Q_COMPLAINT_ERASE_TEXT,
  Q_DEL_IDENTITY,
  Q_DEL_USAGE,
  Q_REVIEW_INSERT,
  Q_REVIEW_LIST,
  Q_REVIEW_LIST_STATUS,
  Q_REVIEW_DECIDE,
  Q_REVIEW_EXISTS,
  Q_REVIEW_GET,
  Q_REVIEW_ASSIGN,
  Q_REVIEW_OPEN,
  Q_REVIEW_DAYS,
  Q_QUOTA_GET,
  Q_QUOTA_ADD,
  Q_QUOTA_DELETE_SUBJECT,
  Q_QUOTA_DELETE_ALL,
  Q_WEBHOOK_INSERT,
  Q_WEBHOOK_DUE,
  Q_WEBHOOK_LIST,
  Q_WEBHOOK_LIST_STATE,
  Q_WEBHOOK_GET,
  Q_WEBHOOK_NEXT_DUE,
  Q_WEBHOOK_CLAIM,
  Q_WEBHOOK_UPDATE,
  Q_WEBHOOK_REQUEUE,
  Q_COUNT
};

/* the columns review_rows reads, in its order */
#define REVIEW_COLUMNS                                                                                                 \
  "id, created_ms, decided_ms, sampled, response_id, actor, route, verdict, reasons, status, decided_by, note, "       \
  "assignee"

/* the columns audit_rows reads, in its order */
#define AUDIT_COLUMNS                                                                                                  \
  "seq, time_ms, actor, route, verdict, detail_json, input_sha256, output_sha256, text, prev_hash, hash, format, "     \
  "text_sha256"

/* the columns key_info reads, in its order (never key_hash) */
#define KEY_COLUMNS "k.id, u.name, k.role, k.revoked, k.created_ms, k.expires_ms"

/* the columns usage_get reads and the puts write, in this order (the puts take user_id last) */
#define USAGE_COLUMNS "day, requests, active_ms, session_start_ms, last_ms, reminded_ms"

/* the columns complaint_rows reads, in its order */
#define COMPLAINT_COLUMNS                                                                                              \
  "id, created_ms, due_ms, updated_ms, type, status, produce_id, text, contact, resolution, channel"

/* the columns webhook_rows reads, in its order */
#define WEBHOOK_COLUMNS                                                                                                \
  "id, target, created_ms, attempts, next_attempt_ms, last_status, delivered_ms, event, url, payload, state, "         \
  "last_error, once_key"

static const char *const queries[Q_COUNT] = {
    [Q_USER_FIND] = "SELECT id FROM users WHERE name = ?",
    [Q_USER_INSERT] = "INSERT INTO users (name, created_ms) VALUES (?, ?)",
    [Q_KEY_INSERT] = "INSERT INTO api_keys (user_id, role, key_hash, created_ms, expires_ms, revoked) "
                     "VALUES (?, ?, ?, ?, ?, 0)",
    [Q_KEY_FIND] = "SELECT " KEY_COLUMNS " FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = ?",
    [Q_KEY_REVOKE] = "UPDATE api_keys SET revoked = 1 WHERE id = ?",
    [Q_AUDIT_LAST] = "SELECT seq, hash FROM audit WHERE seq = (SELECT MAX(seq) FROM audit)",
    [Q_AUDIT_INSERT] = "INSERT INTO audit (seq, time_ms, actor, route, verdict, detail_json, input_sha256, "
                       "output_sha256, text, prev_hash, hash, format, text_sha256) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [Q_AUDIT_EACH] = "SELECT " AUDIT_COLUMNS " FROM audit WHERE seq >= ? ORDER BY seq",
    [Q_COMPLAINT_INSERT] = "INSERT INTO complaints (type, status, created_ms, due_ms, updated_ms, produce_id, text, "
                           "contact, resolution, channel) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [Q_COMPLAINT_GET] = "SELECT " COMPLAINT_COLUMNS " FROM complaints WHERE id = ?",
    [Q_COMPLAINT_UPDATE] = "UPDATE complaints SET status = ?, resolution = COALESCE(?, resolution), updated_ms = ? "
                           "WHERE id = ? AND status = ?",
    [Q_COMPLAINT_LIST] = "SELECT " COMPLAINT_COLUMNS " FROM complaints ORDER BY created_ms DESC, id DESC",
    [Q_COMPLAINT_OVERDUE] = "SELECT " COMPLAINT_COLUMNS " FROM complaints WHERE status IN ('received', 'in_review') "
                            "AND due_ms < ? ORDER BY created_ms DESC, id DESC",
    [Q_TAKEDOWN_INSERT] = "INSERT INTO takedowns (text, complaint_id, created_ms, expires_ms) VALUES (?, ?, ?, ?)",
    [Q_TAKEDOWN_EACH] = "SELECT id, text, created_ms, expires_ms FROM takedowns WHERE withdrawn_ms = 0 AND "
                        "(expires_ms = 0 OR expires_ms > ?) ORDER BY id",
    [Q_TAKEDOWN_LIST] = "SELECT id, complaint_id, created_ms, expires_ms, withdrawn_ms, text, withdrawn_by, "
                        "withdraw_reason FROM takedowns ORDER BY id DESC",
    [Q_TAKEDOWN_WITHDRAW] = "UPDATE takedowns SET withdrawn_ms = ?, withdrawn_by = ?, withdraw_reason = ? "
                            "WHERE id = ? AND withdrawn_ms = 0",
    [Q_TAKEDOWN_EXISTS] = "SELECT COUNT(*) FROM takedowns WHERE id = ?",
    [Q_COMPLAINT_SET_SECRET] = "UPDATE complaints SET secret_sha256 = ? WHERE id = ?",
    [Q_COMPLAINT_SECRET] = "SELECT COALESCE(secret_sha256, '') FROM complaints WHERE id = ?",
    [Q_TAKEDOWN_VERSION_BUMP] = "UPDATE takedown_version SET version = version + 1 WHERE id = 1",
    [Q_TAKEDOWN_VERSION] = "SELECT version FROM takedown_version WHERE id = 1",
    [Q_STANDING_GET] = "SELECT standing, until_ms, blocked_in_a_row, suspensions, updated_ms, set_by FROM "
                       "user_standing WHERE user_id = ?",
    [Q_STANDING_UPDATE] = "UPDATE user_standing SET standing = ?, until_ms = ?, blocked_in_a_row = ?, suspensions = ?, "
                          "updated_ms = ?, set_by = ? WHERE user_id = ?",
    [Q_STANDING_INSERT] = "INSERT INTO user_standing (standing, until_ms, blocked_in_a_row, suspensions, updated_ms, "
                          "set_by, user_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
    [Q_STANDING_HISTORY_INSERT] = "INSERT INTO standing_history (user_id, time_ms, standing, until_ms, reason) "
                                  "VALUES (?, ?, ?, ?, ?)",
    [Q_STRIKE_INSERT] = "INSERT INTO strikes (user_id, time_ms, audit_seq) VALUES (?, ?, ?)",
    [Q_STRIKE_COUNT] = "SELECT COUNT(*) FROM strikes WHERE user_id = ? AND time_ms >= ? AND time_ms < ?",
    [Q_USER_GET] = "SELECT id, created_ms FROM users WHERE name = ?",
    [Q_USER_KEYS] = "SELECT id, role, created_ms, expires_ms, revoked FROM api_keys WHERE user_id = ? ORDER BY id",
    [Q_USER_HISTORY] = "SELECT time_ms, standing, until_ms, reason FROM standing_history WHERE user_id = ? "
                       "ORDER BY time_ms, id",
    [Q_USER_STRIKES] = "SELECT time_ms, audit_seq FROM strikes WHERE user_id = ? ORDER BY time_ms, id",
    [Q_AUDIT_ABOUT] = "SELECT " AUDIT_COLUMNS " FROM audit WHERE actor = ? OR actor = ? OR detail_json LIKE ? "
                      "ORDER BY seq",
    [Q_DEL_KEYS] = "DELETE FROM api_keys WHERE user_id = ?",
    [Q_DEL_STANDING] = "DELETE FROM user_standing WHERE user_id = ?",
    [Q_DEL_STRIKES] = "DELETE FROM strikes WHERE user_id = ?",
    [Q_DEL_HISTORY] = "DELETE FROM standing_history WHERE user_id = ?",
    [Q_DEL_USER] = "DELETE FROM users WHERE id = ?",
    /* ?1: actor or NULL for any, ?2: before_ms or 0 for any time */
    [Q_ERASE_TEXT] =
        "UPDATE audit SET text = NULL WHERE format = 2 AND text IS NOT NULL AND (?1 IS NULL OR actor = ?1) "
        "AND (?2 = 0 OR time_ms < ?2)",
    [Q_COUNT_KEPT] = "SELECT COUNT(*) FROM audit WHERE format = 1 AND text IS NOT NULL AND (?1 IS NULL OR actor = ?1) "
                     "AND (?2 = 0 OR time_ms < ?2)",
    [Q_TAKEDOWN_DELETE_EXPIRED] = "DELETE FROM takedowns WHERE expires_ms <> 0 AND expires_ms <= ?",
    [Q_STRIKE_DELETE_BEFORE] = "DELETE FROM strikes WHERE time_ms < ?",
    [Q_KEY_LIST_ALL] = "SELECT " KEY_COLUMNS " FROM api_keys k JOIN users u ON u.id = k.user_id "
                       "ORDER BY k.created_ms, k.id",
    [Q_KEY_LIST_USER] = "SELECT " KEY_COLUMNS " FROM api_keys k JOIN users u ON u.id = k.user_id "
                        "WHERE k.user_id = ? ORDER BY k.created_ms, k.id",
    [Q_IDENTITY_GET] = "SELECT status, updated_ms, adult_from_ms, minor, sealed, note, id_hash FROM user_identity "
                       "WHERE user_id = ?",
    [Q_IDENTITY_UPDATE] = "UPDATE user_identity SET status = ?, updated_ms = ?, adult_from_ms = ?, minor = ?, "
                          "sealed = ?, note = ?, id_hash = ? WHERE user_id = ?",
    [Q_IDENTITY_INSERT] = "INSERT INTO user_identity (status, updated_ms, adult_from_ms, minor, sealed, note, id_hash, "
                          "user_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    [Q_IDENTITY_SAME_ID] = "SELECT COUNT(*) FROM user_identity WHERE id_hash = ? AND user_id <> ?",
    [Q_USER_EACH] = "SELECT u.name, u.created_ms, i.status, i.minor, i.adult_from_ms, s.standing, "
                    "(SELECT COUNT(*) FROM api_keys k WHERE k.user_id = u.id AND k.revoked = 0) "
                    "FROM users u LEFT JOIN user_identity i ON i.user_id = u.id "
                    "LEFT JOIN user_standing s ON s.user_id = u.id ORDER BY u.created_ms, u.id",
    [Q_USAGE_GET] = "SELECT " USAGE_COLUMNS " FROM user_usage WHERE user_id = ?",
    [Q_USAGE_UPDATE] = "UPDATE user_usage SET day = ?, requests = ?, active_ms = ?, session_start_ms = ?, last_ms = ?, "
                       "reminded_ms = ? WHERE user_id = ?",
    [Q_USAGE_INSERT] = "INSERT INTO user_usage (" USAGE_COLUMNS ", user_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
    [Q_USAGE_DELETE_BEFORE] = "DELETE FROM user_usage WHERE last_ms < ?",
    [Q_COMPLAINT_ERASE_TEXT] = "UPDATE complaints SET text = NULL, contact = NULL WHERE updated_ms < ? AND status IN "
                               "('upheld', 'rejected', 'closed') AND (text IS NOT NULL OR contact IS NOT NULL)",
    [Q_DEL_IDENTITY] = "DELETE FROM user_identity WHERE user_id = ?",
    [Q_DEL_USAGE] = "DELETE FROM user_usage WHERE user_id = ?",
    [Q_REVIEW_INSERT] = "INSERT INTO review_items (created_ms, response_id, actor, route, verdict, sampled, reasons, "
                        "status) VALUES (?, ?, ?, ?, ?, ?, ?, 'open')",
    [Q_REVIEW_LIST] = "SELECT " REVIEW_COLUMNS " FROM review_items ORDER BY created_ms DESC, id DESC LIMIT ?",
    [Q_REVIEW_LIST_STATUS] = "SELECT " REVIEW_COLUMNS " FROM review_items WHERE status = ? "
                             "ORDER BY created_ms DESC, id DESC LIMIT ?",
    [Q_REVIEW_DECIDE] = "UPDATE review_items SET status = ?, decided_by = ?, note = ?, decided_ms = ? "
                        "WHERE id = ? AND status = 'open'",
    [Q_REVIEW_EXISTS] = "SELECT COUNT(*) FROM review_items WHERE id = ?",
    [Q_REVIEW_GET] = "SELECT " REVIEW_COLUMNS " FROM review_items WHERE id = ?",
    [Q_REVIEW_ASSIGN] = "UPDATE review_items SET assignee = ? WHERE id = ? AND status = 'open'",
    [Q_REVIEW_OPEN] = "SELECT COUNT(*) FROM review_items WHERE status = 'open'",
    /* the sample's decided items per local day (the offset in ms shifts UTC to local time) */
    [Q_REVIEW_DAYS] = "SELECT (created_ms + ?1) / 86400000 AS day, COUNT(*), SUM(status = 'allowed') FROM review_items "
                      "WHERE sampled = 1 AND status <> 'open' AND created_ms >= ?2 GROUP BY day ORDER BY day",
    [Q_QUOTA_GET] = "SELECT requests, tokens FROM quota_counters WHERE subject = ? AND window_kind = ? "
                    "AND window_number = ?",
    /* an upsert (PostgreSQL spells it the same): the first add of a window and a concurrent one cannot collide */
    [Q_QUOTA_ADD] = "INSERT INTO quota_counters (subject, window_kind, window_number, requests, tokens) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (subject, window_kind, window_number) DO UPDATE SET "
                    "requests = quota_counters.requests + excluded.requests, "
                    "tokens = quota_counters.tokens + excluded.tokens",
    /* ?1: subject, ?2: minute_before, ?3: day_before (the subject first: the primary key's prefix) */
    [Q_QUOTA_DELETE_SUBJECT] = "DELETE FROM quota_counters WHERE subject = ?1 AND ((window_kind = 0 AND "
                               "window_number < ?2) OR (window_kind = 1 AND window_number < ?3))",
    [Q_QUOTA_DELETE_ALL] = "DELETE FROM quota_counters WHERE (window_kind = 0 AND window_number < ?2) "
                           "OR (window_kind = 1 AND window_number < ?3)",
    [Q_WEBHOOK_INSERT] = "INSERT INTO webhook_deliveries (event, target, url, payload, created_ms, attempts, "
                         "next_attempt_ms, state, last_status, delivered_ms, once_key) "
                         "VALUES (?, ?, ?, ?, ?, 0, ?, 'pending', 0, 0, ?) ON CONFLICT (once_key, target) DO NOTHING",
    [Q_WEBHOOK_DUE] = "SELECT " WEBHOOK_COLUMNS " FROM webhook_deliveries WHERE state = 'pending' "
                      "AND next_attempt_ms <= ? ORDER BY next_attempt_ms, id LIMIT ?",
    [Q_WEBHOOK_LIST] = "SELECT " WEBHOOK_COLUMNS " FROM webhook_deliveries ORDER BY id DESC LIMIT ?2",
    [Q_WEBHOOK_LIST_STATE] = "SELECT " WEBHOOK_COLUMNS " FROM webhook_deliveries WHERE state = ?1 "
                             "ORDER BY id DESC LIMIT ?2",
    [Q_WEBHOOK_GET] = "SELECT " WEBHOOK_COLUMNS " FROM webhook_deliveries WHERE id = ?",
    [Q_WEBHOOK_NEXT_DUE] = "SELECT MIN(next_attempt_ms) FROM webhook_deliveries WHERE state = 'pending'",
    [Q_WEBHOOK_CLAIM] = "UPDATE webhook_deliveries SET next_attempt_ms = ?1 WHERE id = ?2 AND state = 'pending' "
                        "AND next_attempt_ms <= ?3",
    [Q_WEBHOOK_UPDATE] = "UPDATE webhook_deliveries SET state = ?, attempts = ?, next_attempt_ms = ?, last_status = ?, "
                         "last_error = ?, delivered_ms = ? WHERE id = ?",
    [Q_WEBHOOK_REQUEUE] = "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_ms = ?1 "
                          "WHERE id = ?2 AND state = 'failed'",
};

struct hg_store_conn {
  sqlite3 *db;
  sqlite3_stmt *stmt[Q_COUNT]; /* prepared on first use, reset after each */
  int relaxed;                 /* synchronous=NORMAL for a begin_counters transaction; FULL again when it ends */
  int log_pages;               /* the write-ahead log's length after this connection's last commit (the WAL hook) */
};

static hg_status db_fail(hg_store_conn *c, hg_error *err, const char *what) {
  return hg_fail(err, HG_ERR_STORE, 0, 0, "store: %s: %s", what, sqlite3_errmsg(c->db));
}

static hg_status exec(hg_store_conn *c, const char *sql, const char *what, hg_error *err) {
  if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK) return db_fail(c, err, what);
  return HG_OK;
}

static sqlite3_stmt *query(hg_store_conn *c, int q, hg_error *err) {
  if (!c->stmt[q] && sqlite3_prepare_v2(c->db, queries[q], -1, &c->stmt[q], NULL) != SQLITE_OK) {
    db_fail(c, err, "preparing a query");
    c->stmt[q] = NULL;
  }
  return c->stmt[q];
}

/* Resets a statement for its next use and drops the bindings, which may point into the caller's memory. */
static void done(sqlite3_stmt *s) {
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
}

/* ---- opening and migrating -------------------------------------------------------------------------------- */

static hg_status pragma(hg_store_conn *c, const char *sql, const char *want, hg_error *err) {
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(c->db, sql, -1, &s, NULL) != SQLITE_OK) return db_fail(c, err, sql);
  int rc = sqlite3_step(s);
  hg_status st = HG_OK;
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    st = db_fail(c, err, sql);
  } else if (want) {
    const char *got = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(s, 0) : NULL;
    if (!got || strcmp(got, want))
      st = hg_fail(err, HG_ERR_STORE, 0, 0, "store: %s left the database in mode '%s'", sql, got ? got : "?");
  }
  sqlite3_finalize(s);
  return st;
}

/* The highest migration applied; 0 for a new database. A failed prepare means the table is not there yet. */
static int64_t schema_version(hg_store_conn *c) {
  sqlite3_stmt *s;
  int64_t v = 0;
  if (sqlite3_prepare_v2(c->db, "SELECT MAX(version) FROM schema_version", -1, &s, NULL) != SQLITE_OK) return 0;
  if (sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  return v;
}

static hg_status migrate(hg_store_conn *c, hg_error *err) {
  if (schema_version(c) == SCHEMA_VERSION) return HG_OK; /* the usual case: no write lock taken */
  /* Another process may be migrating the same file: the version is read again under the write lock. */
  hg_status st = exec(c, "BEGIN IMMEDIATE", "starting the schema migration", err);
  if (st) return st;
  st = exec(c, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL)",
            "creating schema_version", err);
  int64_t v = st ? 0 : schema_version(c);
  if (!st && v > SCHEMA_VERSION)
    st = hg_fail(err, HG_ERR_STORE, 0, 0,
                 "store: the database has schema version %" PRId64 ", newer than this hegui knows (%" PRId64
                 "); use a newer hegui",
                 v, SCHEMA_VERSION);
  for (; !st && v < SCHEMA_VERSION; v++) {
    st = exec(c, migrations[v], "applying a schema migration", err);
    sqlite3_stmt *s = NULL;
    if (!st && sqlite3_prepare_v2(c->db, "INSERT INTO schema_version (version, applied_ms) VALUES (?, ?)", -1, &s,
                                  NULL) != SQLITE_OK)
      st = db_fail(c, err, "recording a schema migration");
    if (!st) {
      sqlite3_bind_int64(s, 1, v + 1);
      sqlite3_bind_int64(s, 2, hg_clock_wall_ms());
      if (sqlite3_step(s) != SQLITE_DONE) st = db_fail(c, err, "recording a schema migration");
    }
    sqlite3_finalize(s);
  }
  if (!st) st = exec(c, "COMMIT", "committing the schema migration", err);
  if (st) sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
  return st;
}

static void sqlite_close(hg_store_conn *c) {
  if (!c) return;
  for (int q = 0; q < Q_COUNT; q++)
    sqlite3_finalize(c->stmt[q]);
  sqlite3_close(c->db);
  free(c);
}

static hg_status sqlite_open(const char *path, hg_store_conn **out, hg_error *err) {
  int in_memory = !strcmp(path, ":memory:");
  if (!in_memory) {
    /* Created here rather than by SQLite so that it is private from the first byte (SQLite would use the umask);
     * the -wal and -shm files SQLite makes take their mode from this file. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0)
      close(fd);
    else if (errno == ENOENT)
      return hg_fail(err, HG_ERR_IO, 0, 0, "store: cannot create %s: its directory does not exist", path);
    else if (errno != EEXIST)
      return hg_fail(err, HG_ERR_IO, 0, 0, "store: cannot create %s: %s", path, strerror(errno));
  }
  if (!sqlite3_threadsafe()) return hg_fail(err, HG_ERR_STORE, 0, 0, "store: SQLite was built without threads");
  hg_store_conn *c = calloc(1, sizeof *c);
  if (!c) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory opening the store");
  int rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
  hg_status st = HG_OK;
  if (rc != SQLITE_OK) {
    st = hg_fail(err, HG_ERR_STORE, 0, 0, "store: cannot open %s: %s", path,
                 c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
  } else {
    sqlite3_busy_timeout(c->db, HG_SQLITE_BUSY_TIMEOUT_MS);
    /* WAL lets readers (an export, a verify) run beside the writer; FULL syncs the WAL at every commit, which is
     * what makes an acknowledged audit record durable. */
    st = pragma(c, "PRAGMA journal_mode=WAL", in_memory ? "memory" : "wal", err);
    if (!st) st = pragma(c, "PRAGMA synchronous=FULL", NULL, err);
    if (!st) st = pragma(c, "PRAGMA foreign_keys=ON", NULL, err);
    /* what a deletion or a purge removes is overwritten with zeros, also on pages that go to the freelist: a deleted
     * user's text must not stay readable in the file (the WAL is truncated after such a change: sqlite_scrub) */
    if (!st) st = pragma(c, "PRAGMA secure_delete=ON", "1", err);
    if (!st) st = migrate(c, err);
    if (st && err && !strstr(err->message, path)) {
      /* name the file: "file is not a database" alone does not say which */
      size_t used = strlen(err->message);
      snprintf(err->message + used, sizeof err->message - used, " (%s)", path);
    }
  }
  if (st) {
    sqlite_close(c);
    return st;
  }
  *out = c;
  return HG_OK;
}

/* ---- transactions ----------------------------------------------------------------------------------------- */

/* Every commit syncs (synchronous=FULL) except a counters transaction's, which sets NORMAL for itself: in WAL mode
 * its commit is then written but not synced, and it is durable once the next FULL commit (or checkpoint) syncs the
 * log after it. Ending it sets FULL again; a begin finding it still set (that failed) sets it first. */
static hg_status durable_again(hg_store_conn *c, hg_error *err) {
  if (!c->relaxed) return HG_OK;
  hg_status st = exec(c, "PRAGMA synchronous=FULL", "making commits durable again", err);
  if (!st) c->relaxed = 0;
  return st;
}

/* IMMEDIATE takes the write lock at once: a deferred BEGIN that reads the chain's end and then writes could find
 * another connection has appended in between (SQLITE_BUSY_SNAPSHOT, which no busy timeout waits out). */
static hg_status sqlite_begin(hg_store_conn *c, hg_error *err) {
  hg_status st = durable_again(c, err);
  return st ? st : exec(c, "BEGIN IMMEDIATE", "starting a transaction", err);
}

static hg_status sqlite_begin_counters(hg_store_conn *c, hg_error *err) {
  c->relaxed = 1; /* before the pragma: whatever happens next, the end of this transaction sets FULL again */
  hg_status st = exec(c, "PRAGMA synchronous=NORMAL", "starting a counters transaction", err);
  if (!st) st = exec(c, "BEGIN IMMEDIATE", "starting a transaction", err);
  if (st) durable_again(c, NULL);
  return st;
}

static hg_status sqlite_commit(hg_store_conn *c, hg_error *err) {
  hg_status st = exec(c, "COMMIT", "committing", err);
  if (!st) st = durable_again(c, err);
  return st;
}

static void sqlite_rollback(hg_store_conn *c) {
  if (!sqlite3_get_autocommit(c->db)) sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
  durable_again(c, NULL);
}

/* ---- keys ------------------------------------------------------------------------------------------------- */

static hg_status sqlite_user_ensure(hg_store_conn *c, const char *name, int64_t now, int64_t *user_id, hg_error *err) {
  sqlite3_stmt *s = query(c, Q_USER_FIND, err);
  if (!s) return HG_ERR_STORE;
  sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) *user_id = sqlite3_column_int64(s, 0);
  done(s);
  if (rc == SQLITE_ROW) return HG_OK;
  if (rc != SQLITE_DONE) return db_fail(c, err, "looking up a user");

  if (!(s = query(c, Q_USER_INSERT, err))) return HG_ERR_STORE;
  sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, now);
  rc = sqlite3_step(s);
  done(s);
  if (rc != SQLITE_DONE) return db_fail(c, err, "adding a user");
  *user_id = sqlite3_last_insert_rowid(c->db);
  return HG_OK;
}

static hg_status sqlite_key_insert(hg_store_conn *c, int64_t user_id, const char *role, const char *key_hash,
                                   int64_t now, int64_t expires_ms, hg_error *err) {
  sqlite3_stmt *s = query(c, Q_KEY_INSERT, err);
  if (!s) return HG_ERR_STORE;
  sqlite3_bind_int64(s, 1, user_id);
  sqlite3_bind_text(s, 2, role, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 3, key_hash, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 4, now);
  sqlite3_bind_int64(s, 5, expires_ms);
  int rc = sqlite3_step(s);
  done(s);
  if (rc != SQLITE_DONE) return db_fail(c, err, "adding an API key");
  return HG_OK;
}

/* Reads a row of KEY_COLUMNS into out. */
static hg_status key_info(sqlite3_stmt *s, hg_key_info *out, hg_error *err) {
  memset(out, 0, sizeof *out);
  out->key_id = sqlite3_column_int64(s, 0);
  const char *user = (const char *)sqlite3_column_text(s, 1);
  const char *role = (const char *)sqlite3_column_text(s, 2);
  snprintf(out->user, sizeof out->user, "%s", user ? user : "");
  out->revoked = sqlite3_column_int64(s, 3) != 0;
  out->created_ms = sqlite3_column_int64(s, 4);
  out->expires_ms = sqlite3_column_int64(s, 5);
  if (hg_role_parse(role, &out->role))
    return hg_fail(err, HG_ERR_STORE, 0, 0, "store: API key %" PRId64 " has an unknown role '%s'", out->key_id,
                   role ? role : "");
  return HG_OK;
}

static hg_status sqlite_key_find(hg_store_conn *c, const char *key_hash, hg_key_info *out, hg_error *err) {
  sqlite3_stmt *s = query(c, Q_KEY_FIND, err);
  if (!s) return HG_ERR_STORE;
  sqlite3_bind_text(s, 1, key_hash, -1, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  hg_status st = HG_OK;
  if (rc == SQLITE_ROW) {
    st = key_info(s, out, err);
  } else if (rc == SQLITE_DONE) {
    st = hg_fail(err, HG_ERR_NOT_FOUND, 0, 0, "unknown API key");
  } else {
    st = db_fail(c, err, "looking up an API key");
  }
  done(s);
  return st;
}

static hg_status sqlite_key_revoke(hg_store_conn *c, int64_t key_id, hg_error *err) {
  sqlite3_stmt *s = query(c, Q_KEY_REVOKE, err);
  if (!s) return HG_ERR_STORE;
  sqlite3_bind_int64(s, 1, key_id);
  int rc = sqlite3_step(s);
  done(s);
  if (rc != SQLITE_DONE) return db_fail(c, err, "revoking an API key");
  if (sqlite3_changes(c->db) == 0) return hg_fail(err, HG_ERR_NOT_FOUND, 0, 0, "no API key has id %" PRId64, key_id);
  return HG_OK;
}

static hg_status sqlite_key_list(hg_store_conn *c, int64_t user_id, hg_key_fn fn, void *ctx, hg_error *err) {
  sqlite3_stmt *s = query(c, user_id > 0 ? Q_KEY_LIST_USER : Q_KEY_LIST_ALL, err);
  if (!s) return HG_ERR_STORE;
  if (user_id > 0) sqlite3_bind_int64(s, 1, user_id);
  hg_status st = HG_OK;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    hg_key_info info;
    if ((st = key_info(s, &info, err))) break;
    if (fn(ctx, &info)) break;
  }
  if (!st && rc != SQLITE_ROW && rc != SQLITE_DONE) st = db_fail(c, err, "listing API keys");
  done(s);
  return st;
}

/* ---- audit ------------------------------------------------------------------------------------------------ */

static hg_status sqlite_audit_last(hg_store_conn *c, int64_t *seq, char hash[65], hg_error *err) {
  sqlite3_stmt *s = query(c, Q_AUDIT_LAST, err);
  if (!s) return HG_ERR_STORE;
  int rc = sqlite3_step(s);
  hg_status st = HG_OK;
  *seq = 0;
  hash[0] = 0;
  if (rc == SQLITE_ROW) {
    *seq = sqlite3_column_int64(s, 0);
    const char *h = (const char *)sqlite3_column_text(s, 1);
    if (h && sqlite3_column_bytes(s, 1) == 64)
      memcpy(hash, h, 65);
    else
      st = hg_fail(err, HG_ERR_CORRUPT, 0, 0,
                   "store: the hash of audit record %" PRId64 " is damaged; nothing sound to link a new record to "
                   "(run 'hegui audit verify')",
                   *seq);
  } else if (rc != SQLITE_DONE) {
    st = db_fail(c, err, "reading the end of the audit chain");
  }
  done(s);
  return st;
}

static void bind_field(sqlite3_stmt *s, int i, hg_store_text t) {
  if (t.ptr)
    sqlite3_bind_text(s, i, t.ptr, (int)t.len, SQLITE_STATIC); /* fields are bounded far below INT_MAX */
  else
    sqlite3_bind_null(s, i);
}

static hg_status sqlite_audit_insert(hg_store_conn *c, const hg_audit_row *row, hg_error *err) {
  sqlite3_stmt *s = query(c, Q_AUDIT_INSERT, err);
  if (!s) return HG_ERR_STORE;
  sqlite3_bind_int64(s, 1, row->seq);
  sqlite3_bind_int64(s, 2, row->time_ms);
  const hg_store_text fields[] = {row->actor,         row->route, row->verdict,   row->detail_json, row->input_sha256,
                                  row->output_sha256, row->text,  row->prev_hash, row->hash};
  for (int i = 0; i < (int)(sizeof fields / sizeof fields[0]); i++)
    bind_field(s, 3 + i, fields[i]);
  sqlite3_bind_int64(s, 12, row->format);
  bind_field(s, 13, row->text_sha256);
  int rc = sqlite3_step(s);
  done(s);
  if (rc != SQLITE_DONE) return db_fail(c, err, "appending an audit record");
  return HG_OK;
}

static int column_field(sqlite3_stmt *s, int i, hg_store_text *out) {
  *out = (hg_store_text){NULL, 0};
  if (sqlite3_column_type(s, i) == SQLITE_NULL) return 0;
  out->ptr = (const char *)sqlite3_column_text(s, i); /* text first, then its length: the documented order */
  out->len = (size_t)sqlite3_column_bytes(s, i);
  return out->ptr ? 0 : -1;
}

/* Steps an audit query (AUDIT_COLUMNS, parameters bound) to its end or until fn says stop. */
static hg_status audit_rows(hg_store_conn *c, sqlite3_stmt *s, hg_audit_row_fn fn, void *ctx, hg_error *err) {
  hg_status st = HG_OK;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    hg_audit_row row = {.seq = sqlite3_column_int64(s, 0),
                        .time_ms = sqlite3_column_int64(s, 1),
                        .format = sqlite3_column_int64(s, 11)};
    hg_store_text *fields[] = {&row.actor,         &row.route, &row.verdict,   &row.detail_json, &row.input_sha256,
                               &row.output_sha256, &row.text,  &row.prev_hash, &row.hash,        &row.text_sha256};
    int columns[] = {2, 3, 4, 5, 6, 7, 8, 9, 10, 12};
    int bad = 0;
    for (int i = 0; i < (int)(sizeof fields / sizeof fields[0]); i++)
      bad |= column_field(s, columns[i], fields[i]);
    if (bad) {
      st = hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory reading audit record %" PRId64, row.seq);
      break;
    }
    if (fn(ctx, &row)) break;
  }
  if (!st && rc != SQLITE_ROW && rc != SQLITE_DONE) st = db_fail(c, err, "reading the audit chain");
  done(s);
  return st;
}

static hg_status sqlite_audit_each(hg_store_conn *c, int64_t from_seq, hg_audit_row_fn fn, void *ctx, hg_error *err) {
  sqlite3_stmt *s = query(c, Q_AUDIT_EACH, err);
  if (!s) return HG_ERR_STORE;
  sqlite3_bind_int64(s, 1, from_seq);
  return audit_rows(c, s, fn, ctx, err);
}

/* ---- users ----------------------------------------------------------------------------------------------- */

static hg_status sqlite_user_find(hg_store_conn *c, const char *name, int64_t *user_id, hg_error *err) {
  sqlite3_stmt *s = query(c, Q_USER_FIND, err);
  if (!s) return HG_ERR_STORE;
  sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) *user_id = sqlite3_column_int64(s, 0);
  done(s);
  if (rc == SQLITE_ROW) return HG_OK;
  if (rc != SQLITE_DONE) return db_fail(c, err, "looking up a user");
  return hg_fail(err, HG_ERR_NOT_FOUND, 0, 0, "no user is named '%s'", name);
}

/* Runs a statement that returns no rows (its parameters already bound). */
static hg_status step_done(hg_store_conn *c, sqlite3_stmt *s, const char *what, hg_error *err) {
  int rc = sqlite3_step(s);
  done(s);
  if (rc != SQLITE_DONE) return db_fail(c, err, what);
  return HG_OK;
}

static void bind_text_or_null(sqlite3_stmt *s, int i, const char *value) {
  if (value)
    sqlite3_bind_text(s, i, value, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(s, i);
}

/* ---- complaints ------------------------------------------------------------------------------------------- */

static hg_status sqlite_complaint_insert(hg_store_conn *c, const hg_complaint_row *row, int64_t *id, hg_error *err) {
  sqlite3_stmt *s = query(c, Q_COMPLAINT_INSERT, err);
  if (!s) return HG_ERR_STORE;
  bind_field(s, 1, row->type);
  bind_field(s, 2, row->status);
  sqlite3_bind_int64(s, 3, row->created_ms);
  sqlite3_bind_int64(s, 4, row->due_ms);
  sqlite3_bind_int64(s, 5, row->updated_ms);
  bind_field(s, 6, row->produce_id);
  bind_field(s, 7, row->text);
  bind_field(s, 8, row->contact);
  bind_field(s, 9, row->resolution);
  bind_field(s, 10, row->channel);
  hg_status st = step_done(c, s, "adding a complaint", err);
  if (!st) *id = sqlite3_last_insert_rowid(c->db);
  return st;
}

/* Steps a complaint query (COMPLAINT_COLUMNS) to its end or until fn says stop; *rows counts the rows seen. */
static hg_status complaint_rows(hg_store_conn *c, sqlite3_stmt *s, hg_complaint_row_fn fn, void *ctx, int64_t *rows,
                                hg_error *err) {
  hg_status st = HG_OK;
  int rc;
  *rows = 0;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    hg_complaint_row row = {.id = sqlite3_column_int64(s, 0),
                            .created_ms = sqlite3_column_int64(s, 1),
                            .due_ms = sqlite3_column_int64(s, 2),
                            .updated_ms = sqlite3_column_int64(s, 3)};
    hg_store_text *fields[] = {&row.type,    &row.status,     &row.produce_id, &row.text,
                               &row.contact, &row.resolution, &row.channel};
    int bad = 0;
    for (int i = 0; i < (int)(sizeof fields / sizeof fields[0]); i++)
      bad |= column_field(s, 4 + i, fields[i]);
    if (bad) {
      st = hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory reading complaint %" PRId64, row.id);
      break;
    }
    ++*rows;
    if (fn(ctx, &row)) break;
  }
  if (!st && rc != SQLITE_ROW && rc != SQLITE_DONE) st = db_fail(c, err, "reading complaints");
  done(s);
  return st;
}

static hg_status sqlite_complaint_get(hg_store_conn *c, int64_t id, hg_complaint_row_fn fn, void *ctx, hg_error *err) {
  sqlite3_stmt *s = query(c, Q_COMPLAINT_GET, err);
  if (!s) return HG_ERR_STORE;
  sqlite3_bind_int64(s, 1, id);
  int64_t rows = 0;
  hg_status st = complaint_rows(c, s, fn, ctx, &rows, err);
  if (!st && !rows) st = hg_fail(err, HG_ERR_NOT_FOUND, 0, 0, "no complaint has id %" PRId64, id);
  return st;
}

static hg_status sqlite_complaint_update(hg_store_conn *c, int64_t id, const char *from_status, const char *to_status,
                                         const char *resolution, int64_t now, hg_error *err) {
  sqlite3_stmt *s = query(c, Q_COMPLAINT_UPDATE, err);
  if (!s) return HG_ERR_STORE;
  sqlite3_bind_text(s, 1, to_status, -1, SQLITE_STATIC);
  bind_text_or_null(s, 2, resolution);
  sqlite3_bind_int64(s, 3, now);
  sqlite3_bind_int64(s, 4, id);
  sqlite3_bind_text(s, 5, from_status, -1, SQLITE_STATIC);
  hg_status st = step_done(c, s, "updating a complaint", err);
  if (!st && sqlite3_changes(c->db) == 0)
    st = hg_fail(err, HG_ERR_NOT_FOUND, 0, 0, "no complaint has id %" PRId64 " and status '%s'", id, from_status);
  return st;
}

static hg_status sqlite_complaint_list(hg_store_conn *c, int only_overdue, int64_t now, hg_complaint_row_fn fn,
                                       void *ctx, hg_error *err) {
  sqlite3_stmt *s = query(c, only_overdue ? Q_COMPLAINT_OVERDUE : Q_COMPLAINT_LIST, err);
  if (!s) return HG_ERR_STORE;
  if (only_overdue) sqlite3_bind_int64(s, 1, now);
  int64_t rows;
  return complaint_rows(c, s, fn, ctx, &rows, err);
}

/* The page of hg_store_complaint_query: the filters that are set become bound conditions of one statement, made
 * here for each call (a page is asked for by a person, not on the request path). */
static hg_status sqlite_complaint_query(hg_store_conn *c, const hg_complaint_query *q, int64_t now,
                                        hg_complaint_row_fn fn, void *ctx, hg_error *err) {
  char sql[512];
  size_t n = (size_t)snprintf(sql, sizeof sql, "SELECT " COMPLAINT_COLUMNS " FROM complaints WHERE 1");
  if (q->status) n += (size_t)snprintf(sql + n, sizeof sql - n, " AND status = :status");
  if (q->type) n += (size_t)snprintf(sql + n, sizeof sql - n, " AND type = :type");
  if (q->channel) n += (size_t)snprintf(sql + n, sizeof sql - n, " AND channel = :channel");
  if (q->overdue)
    n += (size_t)snprintf(sql + n, sizeof sql - n, " AND status IN ('received', 'in_review') AND due_ms < :now");
  if (q->before_id > 0) n += (size_t)snprintf(sql + n, sizeof sql - n, " AND id < :before");
  snprintf(sql + n, sizeof sql - n, " ORDER BY id DESC LIMIT :limit");
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(c->db, sql, -1, &s, NULL) != SQLITE_OK) return db_fail(c, err, "preparing a complaint page");
  struct {
    const char *name, *value;
  } texts[] = {{":status", q->status}, {":type", q->type}, {":channel", q->channel}};
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
    if (texts[i].value)
      sqlite3_bind_text(s, sqlite3_bind_parameter_index(s, texts[i].name), texts[i].value, -1, SQLITE_STATIC);
  if (q->overdue) sqlite3_bind_int64(s, sqlite3_bind_parameter_index(s, ":now"), now);
  if (q->before_id > 0) sqlite3_bind_int64(s, sqlite3_bind_parameter_index(s, ":before"), q->before_id);
  sqlite3_bind_int64(s, sqlite3_bind_parameter_index(s, ":limit"), q->limit);
  int64_t rows;
  hg_status st = complaint_rows(c, s, fn, ctx, &rows, err);
  sqlite3_finalize(s);
  return st;
}

static hg_status sqlite_complaint_set_secret(hg_store_conn *c, int64_t id, const char *sha256_hex, hg_error *err) {
  sqlite3_stmt *s = query(c, Q_COMPLAINT_SET_SECRET, err);
  if (!s) return HG_ERR_STORE;
  sqlite3_bind_text(s, 1, sha256_hex, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, id);
  hg_status st = step_done(c, s, "setting a complaint's secret", err);
  if (!st && sqlite3_changes(c->db) == 0) st = hg_fail(err, HG_ERR_NOT_FOUND, 0, 0, "no complaint has id %" PRId64, id);
  return st;
}

static hg_status sqlite_complaint_secret(hg_store_conn *c, int64_t id, char out[65], hg_error *err) {
  sqlite3_stmt *s = query(c, Q_COMPLAINT_SECRET, err);
  if (!s) return HG_ERR_STORE;
  sqlite3_bind_int64(s, 1, id);
  int rc = sqlite3_step(s);
  hg_status st = HG_OK;
  out[0] = 0;
  if (rc == SQLITE_ROW) {
    const char *v = (const char *)sqlite3_column_text(s, 0);
    if (v && sqlite3_column_bytes(s, 0) == 64) memcpy(out, v, 65);
  } else if (rc == SQLITE_DONE) {
    st = hg_fail(err, HG_ERR_NOT_FOUND, 0, 0, "no complaint has id %" PRId64, id);
  } else {
    st = db_fail(c, err, "reading a complaint's secret");
  }
  done(s);
  return st;
}

/* ---- takedowns -------------------------------------------------------------------------------------------- */

static hg_status sqlite_takedown_list(hg_store_conn *c, hg_takedown_info_fn fn, void *ctx, hg_error *err) {
  sqlite3_stmt *s = query(c, Q_TAKEDOWN_LIST, err);
  if (!s) return HG_ERR_STORE;
  hg_status st = HG_OK;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    hg_takedown_info t = {.id = sqlite3_column_int64(s, 0),
                          .complaint_id = sqlite3_column_int64(s, 1),
                          .created_ms = sqlite3_column_int64(s, 2),
                          .expires_ms = sqlite3_column_int64(s, 3),
                          .withdrawn_ms = sqlite3_column_int64(s, 4),
                          .text = (const char *)sqlite3_column_text(s, 5),
                          .withdrawn_by = (const char *)sqlite3_column_text(s, 6),
                          .withdraw_reason = (const char *)sqlite3_column_text(s, 7)};
    if (!t.text) {
      st = hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory reading takedown %" PRId64, t.id);
      break;
    }
    if (fn(ctx, &t)) break;
  }
  if (!st && rc != SQLITE_ROW && rc != SQLITE_DONE) st = db_fail(c, err, "listing takedowns");
  done(s);
  return st;
}

static hg_status sqlite_takedown_withdraw(hg_store_conn *c, int64_t id, const char *by, const char *reason, int64_t now,
                                          int *changed, int *exists, hg_error *err) {
  sqlite3_stmt *s = query(c, Q_TAKEDOWN_WITHDRAW, err);
  if (!s) return HG_ERR_STORE;
  sqlite3_bind_int64(s, 1, now);
  sqlite3_bind_text(s, 2, by, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 3, reason, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 4, id);
  hg_status st = step_done(c, s, "withdrawing a takedown", err);
  if (st) return st;
  *changed = sqlite3_changes(c->db);
  *exists = *changed;
  if (!*changed) {
    sqlite3_stmt *e = query(c, Q_TAKEDOWN_EXISTS, err);
    if (!e) return HG_ERR_STORE;
    sqlite3_bind_int64(e, 1, id);
    int rc = sqlite3_step(e);
    if (rc == SQLITE_ROW)
      *exists = sqlite3_column_int64(e, 0) > 0;
    else
      st = db_fail(c, err, "finding a takedown");
    done(e);
  }
  return st;
}

static hg_status sqlite_takedown_insert(hg_store_conn *c, const char *text, int64_t complaint_id, int64_t created,
                                        int64_t expires, int64_t *id, hg_error *err) {
  sqlite3_stmt *s = query(c, Q_TAKEDOWN_INSERT, err);
  if (!s) return HG_ERR_STORE;
  sqlite3_bind_text(s, 1, text, -1, SQLITE_STATIC);
  if (complaint_id > 0)
    sqlite3_bind_int64(s, 2, complaint_id);
  else
    sqlite3_bind_null(s, 2);
  sqlite3_bind_int64(s, 3, created);
  sqlite3_bind_int64(s, 4, expires);
  hg_status st = step_done(c, s, "adding a takedown", err);
  if (!st) *id = sqlite3_last_insert_rowid(c->db);
  return st;
}

static hg_status sqlite_takedown_each(hg_store_conn *c, int64_t now, hg_takedown_fn fn, void *ctx, hg_error *err) {
  sqlite3_stmt *s = query(c, Q_TAKEDOWN_EACH, err);
  if (!s) return HG_ERR_STORE;
  sqlite3_bind_int64(s, 1, now);
  hg_status st = HG_OK;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    int64_t id = sqlite3_column_int64(s, 0);
    const char *text = (const char *)sqlite3_column_text(s, 1);
    if (!text) {
      st = hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory reading takedown %" PRId64, id);
      break;
    }
    if (fn(ctx, id, text, sqlite3_column_int64(s, 2), sqlite3_column_int64(s, 3))) break;
  }
  if (!st && rc != SQLITE_ROW && rc != SQLITE_DONE) st = db_fail(c, err, "reading takedowns");
  done(s);
  return st;
}

static hg_status sqlite_takedown_version_bump(hg_store_conn *c, hg_error *err) {
  sqlite3_stmt *s = query(c, Q_TAKEDOWN_VERSION_BUMP, err);
  if (!s) return HG_ERR_STORE;
  hg_status st = step_done(c, s, "counting a takedown change", err);
  if (!st && sqlite3_changes(c->db) != 1)
    st = hg_fail(err, HG_ERR_CORRUPT, 0, 0, "store: the takedown_version row is missing");
  return st;
}

static hg_status sqlite_takedown_version(hg_store_conn *c, int64_t *version, hg_error *err) {
  sqlite3_stmt *s = query(c, Q_TAKEDOWN_VERSION, err);
  if (!s) return HG_ERR_STORE;
  int rc = sqlite3_step(s);
  hg_status st = HG_OK;
  if (rc == SQLITE_ROW)
    *version = sqlite3_column_int64(s, 0);
  else if (rc == SQLITE_DONE)
    st = hg_fail(err, HG_ERR_CORRUPT, 0, 0, "store: the takedown_version row is missing");
  else
    st = db_fail(c, err, "reading the takedown version");
  done(s);
  return st;
}

/* ---- standing and strikes --------------------------------------------------------------------------------- */

static hg_status sqlite_standing_get(hg_store_conn *c, int64_t user_id, hg_standing_row *out, hg_error *err) {
  sqlite3_stmt *s = query(c, Q_STANDING_GET, err);
  if (!s) return HG_ERR_STORE;
  sqlite3_bind_int64(s, 1, user_id);
  int rc = sqlite3_step(s);
  hg_status st = HG_OK;
  if (rc == SQLITE_ROW) {
    const char *standing = (const char *)sqlite3_column_text(s, 0);
    snprintf(out->standing, sizeof out->standing, "%s", standing ? standing : "");
    out->until_ms = sqlite3_column_int64(s, 1);
    out->blocked_in_a_row = sqlite3_column_int64(s, 2);
    out->suspensions = sqlite3_column_int64(s, 3);
    out->updated_ms = sqlite3_column_int64(s, 4);
    const char *by = (const char *)sqlite3_column_text(s, 5);
    snprintf(out->set_by, sizeof out->set_by, "%s", by ? by : "ladder");
  } else if (rc == SQLITE_DONE) {
    st = hg_fail(err, HG_ERR_NOT_FOUND, 0, 0, "user %" PRId64 " has no standing recorded", user_id);
  } else {
    st = db_fail(c, err, "reading a user's standing");
  }
  done(s);
  return st;
}

/* UPDATE, then INSERT when there was no row: plain SQL every database takes, and safe because it runs inside the
 * caller's write transaction. */
static hg_status sqlite_standing_put(hg_store_conn *c, int64_t user_id, const hg_standing_row *row, hg_error *err) {
  static const int update_then_insert[] = {Q_STANDING_UPDATE, Q_STANDING_INSERT};
  for (int i = 0; i < 2; i++) {
    sqlite3_stmt *s = query(c, update_then_insert[i], err);
    if (!s) return HG_ERR_STORE;
    sqlite3_bind_text(s, 1, row->standing, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, row->until_ms);
    sqlite3_bind_int64(s, 3, row->blocked_in_a_row);
    sqlite3_bind_int64(s, 4, row->suspensions);
    sqlite3_bind_int64(s, 5, row->updated_ms);
    sqlite3_bind_text(s, 6, row->set_by[0] ? row->set_by : "ladder", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, user_id);
    hg_status st = step_done(c, s, "writing a user's standing", err);
    if (st) return st;
    if (sqlite3_changes(c->db) > 0) return HG_OK;
  }
  return hg_fail(err, HG_ERR_STORE, 0, 0, "store: a user's standing was not written");
}

static hg_status sqlite_standing_history_insert(hg_store_conn *c, int64_t user_id, int64_t time_ms,
                                                const char *standing, int64_t until_ms, const char *reason,
                                                hg_error *err) {
  sqlite3_stmt *s = query(c, Q_STANDING_HISTORY_INSERT, err);
  if (!s) return HG_ERR_STORE;
  sqlite3_bind_int64(s, 1, user_id);
  sqlite3_bind_int64(s, 2, time_ms);
  sqlite3_bind_text(s, 3, standing, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 4, until_ms);
  sqlite3_bind_text(s, 5, reason, -1, SQLITE_STATIC);
  return step_done(c, s, "recording a change of standing", err);
}

static hg_status sqlite_strike_insert(hg_store_conn *c, int64_t user_id, int64_t time_ms, int64_t audit_seq,
                                      hg_error *err) {
  sqlite3_stmt *s = query(c, Q_STRIKE_INSERT, err);
  if (!s) return HG_ERR_STORE;
  sqlite3_bind_int64(s, 1, user_id);
  sqlite3_bind_int64(s, 2, time_ms);
  sqlite3_bind_int64(s, 3, audit_seq);
  return step_done(c, s, "recording a strike", err);
}

static hg_status sqlite_strike_count(hg_store_conn *c, int64_t user_id, int64_t from_ms, int64_t to_ms, int64_t *count,
                                     hg_error *err) {
  sqlite3_stmt *s = query(c, Q_STRIKE_COUNT, err);
  if (!s) return HG_ERR_STORE;
  sqlite3_bind_int64(s, 1, user_id);
  sqlite3_bind_int64(s, 2, from_ms);
  sqlite3_bind_int64(s, 3, to_ms);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) *count = sqlite3_column_int64(s, 0);
  done(s);
  if (rc != SQLITE_ROW) return db_fail(c, err, "counting strikes");
  return HG_OK;
}

/* ---- data-subject requests and retention ------------------------------------------------------------------ */

static hg_status sqlite_user_get(hg_store_conn *c, const char *name, int64_t *user_id, int64_t *created_ms,
                                 hg_error *err) {
  sqlite3_stmt *s = query(c, Q_USER_GET, err);
  if (!s) return HG_ERR_STORE;
  sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    *user_id = sqlite3_column_int64(s, 0);
    *created_ms = sqlite3_column_int64(s, 1);
  }
  done(s);
  if (rc == SQLITE_ROW) return HG_OK;
  if (rc != SQLITE_DONE) return db_fail(c, err, "looking up a user");
  return hg_fail(err, HG_ERR_NOT_FOUND, 0, 0, "no user is named '%s'", name);
}

/* The text of a NOT NULL column; "" only if SQLite ran out of memory, which the caller's output then shows. */
static const char *column_text(sqlite3_stmt *s, int i) {
  const char *t = (const char *)sqlite3_column_text(s, i);
  return t ? t : "";
}

/* Ends a row walk: a step error is the database's, anything else is fine. */
static hg_status walk_end(hg_store_conn *c, sqlite3_stmt *s, int rc, const char *what, hg_error *err) {
  done(s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_fail(c, err, what);
  return HG_OK;
}

static hg_status sqlite_user_keys_each(hg_store_conn *c, int64_t user_id,
                                       int (*fn)(void *, int64_t, const char *, int64_t, int64_t, int), void *ctx,
                                       hg_error *err) {
  sqlite3_stmt *s = query(c, Q_USER_KEYS, err);
  if (!s) return HG_ERR_STORE;
  sqlite3_bind_int64(s, 1, user_id);
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW)
    if (fn(ctx, sqlite3_column_int64(s, 0), column_text(s, 1), sqlite3_column_int64(s, 2), sqlite3_column_int64(s, 3),
           sqlite3_column_int64(s, 4) != 0))
      break;
  return walk_end(c, s, rc, "reading a user's keys", err);
}

static hg_status sqlite_user_history_each(hg_store_conn *c, int64_t user_id,
                                          int (*fn)(void *, int64_t, const char *, int64_t, const char *), void *ctx,
                                          hg_error *err) {
  sqlite3_stmt *s = query(c, Q_USER_HISTORY, err);
  if (!s) return HG_ERR_STORE;
  sqlite3_bind_int64(s, 1, user_id);
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW)
    if (fn(ctx, sqlite3_column_int64(s, 0), column_text(s, 1), sqlite3_column_int64(s, 2), column_text(s, 3))) break;
  return walk_end(c, s, rc, "reading a user's standing history", err);
}

static hg_status sqlite_user_strikes_each(hg_store_conn *c, int64_t user_id, int (*fn)(void *, int64_t, int64_t),
                                          void *ctx, hg_error *err) {
  sqlite3_stmt *s = query(c, Q_USER_STRIKES, err);
  if (!s) return HG_ERR_STORE;
  sqlite3_bind_int64(s, 1, user_id);
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW)
    if (fn(ctx, sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1))) break;
  return walk_end(c, s, rc, "reading a user's strikes", err);
}

static hg_status sqlite_audit_about(hg_store_conn *c, const char *actor, const char *admin_actor, const char *needle,
                                    hg_audit_row_fn fn, void *ctx, hg_error *err) {
  sqlite3_stmt *s = query(c, Q_AUDIT_ABOUT, err);
  if (!s) return HG_ERR_STORE;
  char *pattern = sqlite3_mprintf("%%%s%%", needle);
  if (!pattern) {
    done(s);
    return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory searching the audit chain");
  }
  sqlite3_bind_text(s, 1, actor, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 2, admin_actor, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 3, pattern, -1, SQLITE_STATIC);
  hg_status st = audit_rows(c, s, fn, ctx, err);
  sqlite3_free(pattern);
  return st;
}

static hg_status sqlite_user_delete(hg_store_conn *c, int64_t user_id, int64_t counts[HG_DEL_COUNT], hg_error *err) {
  /* children first: the foreign keys point at users */
  static const int deletes[HG_DEL_COUNT] = {
      [HG_DEL_KEYS] = Q_DEL_KEYS,       [HG_DEL_STANDING] = Q_DEL_STANDING, [HG_DEL_STRIKES] = Q_DEL_STRIKES,
      [HG_DEL_HISTORY] = Q_DEL_HISTORY, [HG_DEL_IDENTITY] = Q_DEL_IDENTITY, [HG_DEL_USAGE] = Q_DEL_USAGE,
      [HG_DEL_USER] = Q_DEL_USER};
  for (int i = 0; i < HG_DEL_COUNT; i++) {
    sqlite3_stmt *s = query(c, deletes[i], err);
    if (!s) return HG_ERR_STORE;
    sqlite3_bind_int64(s, 1, user_id);
    hg_status st = step_done(c, s, "deleting a user's rows", err);
    if (st) return st;
    counts[i] = sqlite3_changes(c->db);
  }
  return HG_OK;
}

/* The write-ahead log still holds the pages as they were before a deletion: checkpoint it into the database (where
 * secure_delete zeroed the content) and truncate it. A reader in the middle of a query keeps the checkpoint from
 * finishing: it is tried again for up to two seconds. */
static hg_status sqlite_scrub(hg_store_conn *c, hg_error *err) {
  for (int attempt = 0; attempt < 100; attempt++) {
    int log = -1, done_frames = -1;
    int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &done_frames);
    if (rc == SQLITE_OK) return HG_OK;
    if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) return db_fail(c, err, "truncating the write-ahead log");
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return hg_fail(err, HG_ERR_STORE, 0, 0,
                 "store: the deletion is committed, but readers kept the write-ahead log from being truncated for 2 "
                 "s; its old pages are still on disk until the next checkpoint (retry the operation)");
}

/* After each commit of this connection: the log's length, for the caller that checkpoints (hg_store_log_pages). The
 * hook replaces SQLite's automatic checkpoint, which is what defer_checkpoints wants. */
static int on_wal_commit(void *arg, sqlite3 *db, const char *name, int pages) {
  (void)db, (void)name;
  hg_store_conn *c = arg;
  c->log_pages = pages;
  return SQLITE_OK;
}

static hg_status sqlite_checkpoint(hg_store_conn *c, int *frames, int *moved, hg_error *err) {
  *frames = *moved = 0;
  int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, frames, moved);
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) return HG_OK; /* another checkpoint is running: it does the work */
  if (rc != SQLITE_OK) return db_fail(c, err, "checkpointing the write-ahead log");
  c->log_pages = *frames > *moved ? *frames - *moved : 0;
  return HG_OK;
}

static void sqlite_defer_checkpoints(hg_store_conn *c) { sqlite3_wal_hook(c->db, on_wal_commit, c); }

static int sqlite_log_pages(hg_store_conn *c) { return c->log_pages; }

static void bind_erase_filter(sqlite3_stmt *s, const char *actor, int64_t before_ms) {
  bind_text_or_null(s, 1, actor);
  sqlite3_bind_int64(s, 2, before_ms);
}

static hg_status sqlite_audit_erase_text(hg_store_conn *c, const char *actor, int64_t before_ms, int64_t *erased,
                                         int64_t *kept, hg_error *err) {
  sqlite3_stmt *s = query(c, Q_COUNT_KEPT, err);
  if (!s) return HG_ERR_STORE;
  bind_erase_filter(s, actor, before_ms);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) *kept = sqlite3_column_int64(s, 0);
  done(s);
  if (rc != SQLITE_ROW) return db_fail(c, err, "counting format-1 audit text");
  if (!(s = query(c, Q_ERASE_TEXT, err))) return HG_ERR_STORE;
  bind_erase_filter(s, actor, before_ms);
  hg_status st = step_done(c, s, "erasing audit text", err);
  if (!st) *erased = sqlite3_changes(c->db);
  return st;
}

static hg_status delete_before(hg_store_conn *c, int q, int64_t ms, int64_t *deleted, const char *what, hg_error *err) {
  sqlite3_stmt *s = query(c, q, err);
  if (!s) return HG_ERR_STORE;
  sqlite3_bind_int64(s, 1, ms);
  hg_status st = step_done(c, s, what, err);
  if (!st) *deleted = sqlite3_changes(c->db);
  return st;
}

static hg_status sqlite_takedown_delete_expired(hg_store_conn *c, int64_t now, int64_t *deleted, hg_error *err) {
  return delete_before(c, Q_TAKEDOWN_DELETE_EXPIRED, now, deleted, "deleting expired takedowns", err);
}

static hg_status sqlite_strike_delete_before(hg_store_conn *c, int64_t before_ms, int64_t *deleted, hg_error *err) {
  return delete_before(c, Q_STRIKE_DELETE_BEFORE, before_ms, deleted, "deleting old strikes", err);
}

static hg_status sqlite_usage_delete_before(hg_store_conn *c, int64_t before_ms, int64_t *deleted, hg_error *err) {
  return delete_before(c, Q_USAGE_DELETE_BEFORE, before_ms, deleted, "deleting idle usage rows", err);
}

static hg_status sqlite_complaint_erase_text(hg_store_conn *c, int64_t before_ms, int64_t *erased, hg_error *err) {
  return delete_before(c, Q_COMPLAINT_ERASE_TEXT, before_ms, erased, "erasing the text of finished complaints", err);
}

/* ---- identity, users, usage ------------------------------------------------------------------------------- */

/* Copies a text column into a fixed buffer; NULL reads as "". -1 when the stored value does not fit, which this
 * code never writes. */
static int column_copy(sqlite3_stmt *s, int i, char *dst, size_t cap) {
  const char *t = (const char *)sqlite3_column_text(s, i);
  size_t len = t ? (size_t)sqlite3_column_bytes(s, i) : 0;
  if (len >= cap) return -1;
  if (len) memcpy(dst, t, len);
  dst[len] = 0;
  return 0;
}

static hg_status sqlite_identity_get(hg_store_conn *c, int64_t user_id, hg_identity_row *out, hg_error *err) {
  sqlite3_stmt *s = query(c, Q_IDENTITY_GET, err);
  if (!s) return HG_ERR_STORE;
  sqlite3_bind_int64(s, 1, user_id);
  int rc = sqlite3_step(s);
  hg_status st = HG_OK;
  if (rc == SQLITE_ROW) {
    out->updated_ms = sqlite3_column_int64(s, 1);
    out->adult_from_ms = sqlite3_column_int64(s, 2);
    out->minor = sqlite3_column_int64(s, 3);
    if (column_copy(s, 0, out->status, sizeof out->status) || column_copy(s, 4, out->sealed, sizeof out->sealed) ||
        column_copy(s, 5, out->note, sizeof out->note) || column_copy(s, 6, out->id_hash, sizeof out->id_hash))
      st = hg_fail(err, HG_ERR_STORE, 0, 0, "store: the identity of user %" PRId64 " is damaged (a field too long)",
                   user_id);
  } else if (rc == SQLITE_DONE) {
    st = hg_fail(err, HG_ERR_NOT_FOUND, 0, 0, "user %" PRId64 " has no identity recorded", user_id);
  } else {
    st = db_fail(c, err, "reading a user's identity");
  }
  done(s);
  return st;
}

/* UPDATE, then INSERT when there was no row, inside the caller's write transaction (as sqlite_standing_put). An
 * empty sealed text or note is kept as NULL: absent. */
static hg_status sqlite_identity_put(hg_store_conn *c, int64_t user_id, const hg_identity_row *row, hg_error *err) {
  static const int update_then_insert[] = {Q_IDENTITY_UPDATE, Q_IDENTITY_INSERT};
  for (int i = 0; i < 2; i++) {
    sqlite3_stmt *s = query(c, update_then_insert[i], err);
    if (!s) return HG_ERR_STORE;
    sqlite3_bind_text(s, 1, row->status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, row->updated_ms);
    sqlite3_bind_int64(s, 3, row->adult_from_ms);
    sqlite3_bind_int64(s, 4, row->minor);
    bind_text_or_null(s, 5, row->sealed[0] ? row->sealed : NULL);
    bind_text_or_null(s, 6, row->note[0] ? row->note : NULL);
    bind_text_or_null(s, 7, row->id_hash[0] ? row->id_hash : NULL);
    sqlite3_bind_int64(s, 8, user_id);
    hg_status st = step_done(c, s, "writing a user's identity", err);
    if (st) return st;
    if (sqlite3_changes(c->db) > 0) return HG_OK;
  }
  return hg_fail(err, HG_ERR_STORE, 0, 0, "store: a user's identity was not written");
}

static hg_status sqlite_identity_same_id(hg_store_conn *c, const char *id_hash, int64_t user_id, int64_t *count,
                                         hg_error *err) {
  sqlite3_stmt *s = query(c, Q_IDENTITY_SAME_ID, err);
  if (!s) return HG_ERR_STORE;
  sqlite3_bind_text(s, 1, id_hash, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, user_id);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) *count = sqlite3_column_int64(s, 0);
  done(s);
  return rc == SQLITE_ROW ? HG_OK : db_fail(c, err, "looking for an ID number on other accounts");
}

/* ---- the review queue ---- */

static hg_status sqlite_review_insert(hg_store_conn *c, const hg_review_item *in, int64_t now_ms, int64_t *id,
                                      hg_error *err) {
  sqlite3_stmt *s = query(c, Q_REVIEW_INSERT, err);
  if (!s) return HG_ERR_STORE;
  sqlite3_bind_int64(s, 1, now_ms);
  sqlite3_bind_text(s, 2, in->response_id, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 3, in->actor, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 4, in->route, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 5, in->verdict, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 6, in->sampled != 0);
  bind_text_or_null(s, 7, in->reasons);
  hg_status st = step_done(c, s, "adding a review item", err);
  if (!st) *id = sqlite3_last_insert_rowid(c->db);
  return st;
}

static hg_status sqlite_review_each(hg_store_conn *c, int64_t id, const char *status, int64_t limit, hg_review_fn fn,
                                    void *ctx, hg_error *err) {
  sqlite3_stmt *s = query(c, id ? Q_REVIEW_GET : status ? Q_REVIEW_LIST_STATUS : Q_REVIEW_LIST, err);
  if (!s) return HG_ERR_STORE;
  if (id) {
    sqlite3_bind_int64(s, 1, id);
  } else {
    int k = 1;
    if (status) sqlite3_bind_text(s, k++, status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, k, limit);
  }
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    hg_review_item it = {.id = sqlite3_column_int64(s, 0),
                         .created_ms = sqlite3_column_int64(s, 1),
                         .decided_ms = sqlite3_column_int64(s, 2),
                         .sampled = sqlite3_column_int64(s, 3) != 0,
                         .response_id = column_text(s, 4),
                         .actor = column_text(s, 5),
                         .route = column_text(s, 6),
                         .verdict = column_text(s, 7),
                         .reasons = (const char *)sqlite3_column_text(s, 8),
                         .status = column_text(s, 9),
                         .decided_by = (const char *)sqlite3_column_text(s, 10),
                         .note = (const char *)sqlite3_column_text(s, 11),
                         .assignee = (const char *)sqlite3_column_text(s, 12)};
    if (fn(ctx, &it)) break;
  }
  return walk_end(c, s, rc, "reading the review queue", err);
}

static hg_status sqlite_review_decide(hg_store_conn *c, int64_t id, const char *decision, const char *by,
                                      const char *note, int64_t now_ms, int *changed, int *exists, hg_error *err) {
  sqlite3_stmt *s = query(c, Q_REVIEW_DECIDE, err);
  if (!s) return HG_ERR_STORE;
  sqlite3_bind_text(s, 1, decision, -1, SQLITE_STATIC);
  bind_text_or_null(s, 2, by);
  bind_text_or_null(s, 3, note);
  sqlite3_bind_int64(s, 4, now_ms);
  sqlite3_bind_int64(s, 5, id);
  hg_status st = step_done(c, s, "deciding a review item", err);
  if (st) return st;
  *changed = sqlite3_changes(c->db);
  if (!(s = query(c, Q_REVIEW_EXISTS, err))) return HG_ERR_STORE;
  sqlite3_bind_int64(s, 1, id);
  int rc = sqlite3_step(s);
  *exists = rc == SQLITE_ROW && sqlite3_column_int64(s, 0) > 0;
  done(s);
  return rc == SQLITE_ROW ? HG_OK : db_fail(c, err, "looking up a review item");
}

static hg_status sqlite_review_assign(hg_store_conn *c, int64_t id, const char *who, int *changed, int *exists,
                                      hg_error *err) {
  sqlite3_stmt *s = query(c, Q_REVIEW_ASSIGN, err);
  if (!s) return HG_ERR_STORE;
  bind_text_or_null(s, 1, who);
  sqlite3_bind_int64(s, 2, id);
  hg_status st = step_done(c, s, "assigning a review item", err);
  if (st) return st;
  *changed = sqlite3_changes(c->db);
  if (!(s = query(c, Q_REVIEW_EXISTS, err))) return HG_ERR_STORE;
  sqlite3_bind_int64(s, 1, id);
  int rc = sqlite3_step(s);
  *exists = rc == SQLITE_ROW && sqlite3_column_int64(s, 0) > 0;
  done(s);
  return rc == SQLITE_ROW ? HG_OK : db_fail(c, err, "looking up a review item");
}

static hg_status sqlite_review_stats(hg_store_conn *c, int64_t since_ms, int64_t offset_ms, int64_t *open,
                                     hg_review_day_fn fn, void *ctx, hg_error *err) {
  sqlite3_stmt *s = query(c, Q_REVIEW_OPEN, err);
  if (!s) return HG_ERR_STORE;
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) *open = sqlite3_column_int64(s, 0);
  done(s);
  if (rc != SQLITE_ROW) return db_fail(c, err, "counting the review queue");
  if (!(s = query(c, Q_REVIEW_DAYS, err))) return HG_ERR_STORE;
  sqlite3_bind_int64(s, 1, offset_ms);
  sqlite3_bind_int64(s, 2, since_ms);
  while ((rc = sqlite3_step(s)) == SQLITE_ROW)
    if (fn && fn(ctx, sqlite3_column_int64(s, 0) * 86400000 - offset_ms, sqlite3_column_int64(s, 1),
                 sqlite3_column_int64(s, 2)))
      break;
  return walk_end(c, s, rc, "reading the review sample's days", err);
}

static hg_status sqlite_user_each(hg_store_conn *c, hg_user_row_fn fn, void *ctx, hg_error *err) {
  sqlite3_stmt *s = query(c, Q_USER_EACH, err);
  if (!s) return HG_ERR_STORE;
  hg_status st = HG_OK;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    hg_user_row row = {.created_ms = sqlite3_column_int64(s, 1),
                       .minor = sqlite3_column_int64(s, 3),
                       .adult_from_ms = sqlite3_column_int64(s, 4),
                       .keys = sqlite3_column_int64(s, 6)};
    if (column_field(s, 0, &row.name) || column_field(s, 2, &row.realname) || column_field(s, 5, &row.standing)) {
      st = hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory listing users");
      break;
    }
    if (fn(ctx, &row)) break;
  }
  if (!st && rc != SQLITE_ROW && rc != SQLITE_DONE) st = db_fail(c, err, "listing users");
  done(s);
  return st;
}

static hg_status sqlite_usage_get(hg_store_conn *c, int64_t user_id, hg_usage *out, hg_error *err) {
  sqlite3_stmt *s = query(c, Q_USAGE_GET, err);
  if (!s) return HG_ERR_STORE;
  sqlite3_bind_int64(s, 1, user_id);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    out->day = sqlite3_column_int64(s, 0);
    out->requests = sqlite3_column_int64(s, 1);
    out->active_ms = sqlite3_column_int64(s, 2);
    out->session_start_ms = sqlite3_column_int64(s, 3);
    out->last_ms = sqlite3_column_int64(s, 4);
    out->reminded_ms = sqlite3_column_int64(s, 5);
  }
  done(s);
  if (rc == SQLITE_ROW) return HG_OK;
  if (rc != SQLITE_DONE) return db_fail(c, err, "reading a user's usage");
  return hg_fail(err, HG_ERR_NOT_FOUND, 0, 0, "user %" PRId64 " has no usage recorded", user_id);
}

static hg_status sqlite_usage_put(hg_store_conn *c, int64_t user_id, const hg_usage *row, hg_error *err) {
  static const int update_then_insert[] = {Q_USAGE_UPDATE, Q_USAGE_INSERT};
  for (int i = 0; i < 2; i++) {
    sqlite3_stmt *s = query(c, update_then_insert[i], err);
    if (!s) return HG_ERR_STORE;
    sqlite3_bind_int64(s, 1, row->day);
    sqlite3_bind_int64(s, 2, row->requests);
    sqlite3_bind_int64(s, 3, row->active_ms);
    sqlite3_bind_int64(s, 4, row->session_start_ms);
    sqlite3_bind_int64(s, 5, row->last_ms);
    sqlite3_bind_int64(s, 6, row->reminded_ms);
    sqlite3_bind_int64(s, 7, user_id);
    hg_status st = step_done(c, s, "writing a user's usage", err);
    if (st) return st;
    if (sqlite3_changes(c->db) > 0) return HG_OK;
  }
  return hg_fail(err, HG_ERR_STORE, 0, 0, "store: a user's usage was not written");
}

/* ---- usage quotas ----------------------------------------------------------------------------------------- */

static hg_status sqlite_quota_get(hg_store_conn *c, const char *subject, int kind, int64_t window, int64_t *requests,
                                  int64_t *tokens, hg_error *err) {
  sqlite3_stmt *s = query(c, Q_QUOTA_GET, err);
  if (!s) return HG_ERR_STORE;
  sqlite3_bind_text(s, 1, subject, -1, SQLITE_STATIC);
  sqlite3_bind_int(s, 2, kind);
  sqlite3_bind_int64(s, 3, window);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    *requests = sqlite3_column_int64(s, 0);
    *tokens = sqlite3_column_int64(s, 1);
  }
  done(s);
  if (rc == SQLITE_ROW) return HG_OK;
  if (rc != SQLITE_DONE) return db_fail(c, err, "reading a quota counter");
  *requests = *tokens = 0;
  return hg_fail(err, HG_ERR_NOT_FOUND, 0, 0, "no quota counter for this window");
}

static hg_status sqlite_quota_add(hg_store_conn *c, const char *subject, int kind, int64_t window, int64_t requests,
                                  int64_t tokens, hg_error *err) {
  sqlite3_stmt *s = query(c, Q_QUOTA_ADD, err);
  if (!s) return HG_ERR_STORE;
  sqlite3_bind_text(s, 1, subject, -1, SQLITE_STATIC);
  sqlite3_bind_int(s, 2, kind);
  sqlite3_bind_int64(s, 3, window);
  sqlite3_bind_int64(s, 4, requests);
  sqlite3_bind_int64(s, 5, tokens);
  return step_done(c, s, "counting against a quota", err);
}

static hg_status sqlite_quota_delete_before(hg_store_conn *c, const char *subject, int64_t minute_before,
                                            int64_t day_before, int64_t *deleted, hg_error *err) {
  sqlite3_stmt *s = query(c, subject ? Q_QUOTA_DELETE_SUBJECT : Q_QUOTA_DELETE_ALL, err);
  if (!s) return HG_ERR_STORE;
  if (subject) sqlite3_bind_text(s, 1, subject, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, minute_before);
  sqlite3_bind_int64(s, 3, day_before);
  hg_status st = step_done(c, s, "deleting old quota counters", err);
  if (!st && deleted) *deleted = sqlite3_changes(c->db);
  return st;
}

/* ---- the webhook outbox ------------------------------------------------------------------------------------ */

static hg_status sqlite_webhook_insert(hg_store_conn *c, const hg_webhook_row *row, int *added, hg_error *err) {
  sqlite3_stmt *s = query(c, Q_WEBHOOK_INSERT, err);
  if (!s) return HG_ERR_STORE;
  bind_field(s, 1, row->event);
  sqlite3_bind_int64(s, 2, row->target);
  bind_field(s, 3, row->url);
  bind_field(s, 4, row->payload);
  sqlite3_bind_int64(s, 5, row->created_ms);
  sqlite3_bind_int64(s, 6, row->next_attempt_ms);
  bind_field(s, 7, row->once_key);
  hg_status st = step_done(c, s, "adding a webhook delivery", err);
  if (!st) *added = sqlite3_changes(c->db);
  return st;
}

static hg_status sqlite_webhook_each(hg_store_conn *c, int which, int64_t arg, const char *state, int64_t limit,
                                     hg_webhook_row_fn fn, void *ctx, hg_error *err) {
  int q = which == 0 ? Q_WEBHOOK_DUE : which == 2 ? Q_WEBHOOK_GET : state ? Q_WEBHOOK_LIST_STATE : Q_WEBHOOK_LIST;
  sqlite3_stmt *s = query(c, q, err);
  if (!s) return HG_ERR_STORE;
  if (q == Q_WEBHOOK_DUE) sqlite3_bind_int64(s, 1, arg), sqlite3_bind_int64(s, 2, limit);
  if (q == Q_WEBHOOK_GET) sqlite3_bind_int64(s, 1, arg);
  if (q == Q_WEBHOOK_LIST_STATE) sqlite3_bind_text(s, 1, state, -1, SQLITE_STATIC);
  if (q == Q_WEBHOOK_LIST || q == Q_WEBHOOK_LIST_STATE) sqlite3_bind_int64(s, 2, limit);
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    hg_webhook_row row = {.id = sqlite3_column_int64(s, 0),
                          .target = sqlite3_column_int64(s, 1),
                          .created_ms = sqlite3_column_int64(s, 2),
                          .attempts = sqlite3_column_int64(s, 3),
                          .next_attempt_ms = sqlite3_column_int64(s, 4),
                          .last_status = sqlite3_column_int64(s, 5),
                          .delivered_ms = sqlite3_column_int64(s, 6)};
    hg_store_text *fields[] = {&row.event, &row.url, &row.payload, &row.state, &row.last_error, &row.once_key};
    int bad = 0;
    for (int i = 0; i < (int)(sizeof fields / sizeof fields[0]); i++)
      bad |= column_field(s, 7 + i, fields[i]);
    if (bad) {
      done(s);
      return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory reading webhook delivery %" PRId64, row.id);
    }
    if (fn(ctx, &row)) break;
  }
  return walk_end(c, s, rc, "reading webhook deliveries", err);
}

static hg_status sqlite_webhook_next_due(hg_store_conn *c, int64_t *next_ms, hg_error *err) {
  sqlite3_stmt *s = query(c, Q_WEBHOOK_NEXT_DUE, err);
  if (!s) return HG_ERR_STORE;
  int rc = sqlite3_step(s);
  *next_ms = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0; /* MIN of no rows is NULL: 0 */
  return walk_end(c, s, rc, "reading the next webhook delivery due", err);
}

static hg_status sqlite_webhook_claim(hg_store_conn *c, int64_t id, int64_t now, int64_t lease_until, int *changed,
                                      hg_error *err) {
  sqlite3_stmt *s = query(c, Q_WEBHOOK_CLAIM, err);
  if (!s) return HG_ERR_STORE;
  sqlite3_bind_int64(s, 1, lease_until);
  sqlite3_bind_int64(s, 2, id);
  sqlite3_bind_int64(s, 3, now);
  hg_status st = step_done(c, s, "claiming a webhook delivery", err);
  if (!st) *changed = sqlite3_changes(c->db);
  return st;
}

static hg_status sqlite_webhook_update(hg_store_conn *c, const hg_webhook_row *row, hg_error *err) {
  sqlite3_stmt *s = query(c, Q_WEBHOOK_UPDATE, err);
  if (!s) return HG_ERR_STORE;
  bind_field(s, 1, row->state);
  sqlite3_bind_int64(s, 2, row->attempts);
  sqlite3_bind_int64(s, 3, row->next_attempt_ms);
  sqlite3_bind_int64(s, 4, row->last_status);
  bind_field(s, 5, row->last_error);
  sqlite3_bind_int64(s, 6, row->delivered_ms);
  sqlite3_bind_int64(s, 7, row->id);
  return step_done(c, s, "recording a webhook attempt", err);
}

static hg_status sqlite_webhook_requeue(hg_store_conn *c, int64_t id, int64_t now, int *changed, hg_error *err) {
  sqlite3_stmt *s = query(c, Q_WEBHOOK_REQUEUE, err);
  if (!s) return HG_ERR_STORE;
  sqlite3_bind_int64(s, 1, now);
  sqlite3_bind_int64(s, 2, id);
  hg_status st = step_done(c, s, "requeueing a webhook delivery", err);
  if (!st) *changed = sqlite3_changes(c->db);
  return st;
}

/* ---- policy and lexicon versions -------------------------------------------------------------------------- */
/* Rare admin calls: their statements are prepared per call rather than kept with the hot queries above. */

#define VERSION_COLUMNS                                                                                                \
  "id, kind, state, created_ms, activated_ms, ended_ms, author, author_key_id, approver, note, rollback_of, sha256, "  \
  "size"

static hg_status sqlite_version_insert(hg_store_conn *c, const hg_version_info *row, int64_t *id, hg_error *err) {
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(
          c->db,
          "INSERT INTO versions (kind, state, created_ms, activated_ms, ended_ms, author, author_key_id, "
          "approver, note, rollback_of, sha256, size, content) "
          "VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)",
          -1, &s, NULL) != SQLITE_OK)
    return db_fail(c, err, "preparing a version's insert");
  sqlite3_bind_text(s, 1, hg_version_kind_name(row->kind), -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 2, hg_version_state_name(row->state), -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 3, row->created_ms);
  sqlite3_bind_int64(s, 4, row->activated_ms);
  sqlite3_bind_text(s, 5, row->author, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 6, row->author_key_id);
  bind_text_or_null(s, 7, row->approver);
  bind_text_or_null(s, 8, row->note);
  if (row->rollback_of)
    sqlite3_bind_int64(s, 9, row->rollback_of);
  else
    sqlite3_bind_null(s, 9);
  sqlite3_bind_text(s, 10, row->sha256, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 11, row->size);
  sqlite3_bind_blob64(s, 12, row->content, (sqlite3_uint64)row->size, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) return db_fail(c, err, "adding a version");
  *id = sqlite3_last_insert_rowid(c->db);
  return HG_OK;
}

static hg_status sqlite_version_each(hg_store_conn *c, int64_t id, unsigned kind, unsigned state, int64_t limit,
                                     int with_content, hg_version_fn fn, void *ctx, hg_error *err) {
  sqlite3_stmt *s;
  const char *sql = with_content ? "SELECT " VERSION_COLUMNS ", content FROM versions WHERE (?1 = 0 OR id = ?1) AND "
                                   "(?2 IS NULL OR kind = ?2) AND (?3 IS NULL OR state = ?3) ORDER BY id DESC LIMIT ?4"
                                 : "SELECT " VERSION_COLUMNS " FROM versions WHERE (?1 = 0 OR id = ?1) AND "
                                   "(?2 IS NULL OR kind = ?2) AND (?3 IS NULL OR state = ?3) ORDER BY id DESC LIMIT ?4";
  if (sqlite3_prepare_v2(c->db, sql, -1, &s, NULL) != SQLITE_OK) return db_fail(c, err, "preparing a version query");
  sqlite3_bind_int64(s, 1, id);
  if (kind < HG_VERSION_KIND_COUNT)
    sqlite3_bind_text(s, 2, hg_version_kind_name((hg_version_kind)kind), -1, SQLITE_STATIC);
  if (state < HG_VERSION_STATE_COUNT)
    sqlite3_bind_text(s, 3, hg_version_state_name((hg_version_state)state), -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 4, limit);
  hg_status st = HG_OK;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    hg_version_info v = {.id = sqlite3_column_int64(s, 0),
                         .created_ms = sqlite3_column_int64(s, 3),
                         .activated_ms = sqlite3_column_int64(s, 4),
                         .ended_ms = sqlite3_column_int64(s, 5),
                         .author = column_text(s, 6),
                         .author_key_id = sqlite3_column_int64(s, 7),
                         .approver = (const char *)sqlite3_column_text(s, 8),
                         .note = (const char *)sqlite3_column_text(s, 9),
                         .rollback_of = sqlite3_column_int64(s, 10),
                         .size = sqlite3_column_int64(s, 12)};
    if (hg_version_kind_parse(column_text(s, 1), &v.kind) || hg_version_state_parse(column_text(s, 2), &v.state)) {
      st = hg_fail(err, HG_ERR_STORE, 0, 0, "store: version %" PRId64 " has a damaged kind or state", v.id);
      break;
    }
    snprintf(v.sha256, sizeof v.sha256, "%s", column_text(s, 11));
    if (with_content) {
      v.content = sqlite3_column_blob(s, 13); /* blob first, then its length: the documented order */
      int64_t n = sqlite3_column_bytes(s, 13);
      if (!v.content) v.content = "";
      if (n != v.size) {
        st = hg_fail(err, HG_ERR_STORE, 0, 0, "store: version %" PRId64 " holds %" PRId64 " bytes, not %" PRId64, v.id,
                     n, v.size);
        break;
      }
    }
    if (fn(ctx, &v)) break;
  }
  if (!st && rc != SQLITE_ROW && rc != SQLITE_DONE) st = db_fail(c, err, "reading versions");
  sqlite3_finalize(s);
  return st;
}

static hg_status sqlite_version_move(hg_store_conn *c, int64_t id, hg_version_state from_state,
                                     hg_version_state to_state, const char *approver, const char *note,
                                     int64_t activated_ms, int64_t ended_ms, int *changed, hg_error *err) {
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(
          c->db,
          "UPDATE versions SET state = ?1, approver = COALESCE(?2, approver), note = COALESCE(?3, note), "
          "activated_ms = CASE WHEN ?4 = 0 THEN activated_ms ELSE ?4 END, ended_ms = ?5 "
          "WHERE id = ?6 AND state = ?7",
          -1, &s, NULL) != SQLITE_OK)
    return db_fail(c, err, "preparing a version's move");
  sqlite3_bind_text(s, 1, hg_version_state_name(to_state), -1, SQLITE_STATIC);
  bind_text_or_null(s, 2, approver);
  bind_text_or_null(s, 3, note);
  sqlite3_bind_int64(s, 4, activated_ms);
  sqlite3_bind_int64(s, 5, ended_ms);
  sqlite3_bind_int64(s, 6, id);
  sqlite3_bind_text(s, 7, hg_version_state_name(from_state), -1, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) return db_fail(c, err, "changing a version's state");
  *changed = sqlite3_changes(c->db);
  return HG_OK;
}

const hg_store_backend hg_store_sqlite = {
    .name = "sqlite",
    .open = sqlite_open,
    .close = sqlite_close,
    .begin = sqlite_begin,
    .commit = sqlite_commit,
    .rollback = sqlite_rollback,
    .begin_counters = sqlite_begin_counters,
    .user_ensure = sqlite_user_ensure,
    .key_insert = sqlite_key_insert,
    .key_find = sqlite_key_find,
    .key_revoke = sqlite_key_revoke,
    .audit_last = sqlite_audit_last,
    .audit_insert = sqlite_audit_insert,
    .audit_each = sqlite_audit_each,
    .user_find = sqlite_user_find,
    .complaint_insert = sqlite_complaint_insert,
    .complaint_get = sqlite_complaint_get,
    .complaint_update = sqlite_complaint_update,
    .complaint_list = sqlite_complaint_list,
    .takedown_insert = sqlite_takedown_insert,
    .takedown_each = sqlite_takedown_each,
    .takedown_list = sqlite_takedown_list,
    .takedown_withdraw = sqlite_takedown_withdraw,
    .complaint_query = sqlite_complaint_query,
    .complaint_set_secret = sqlite_complaint_set_secret,
    .complaint_secret = sqlite_complaint_secret,
    .takedown_version_bump = sqlite_takedown_version_bump,
    .takedown_version = sqlite_takedown_version,
    .standing_get = sqlite_standing_get,
    .standing_put = sqlite_standing_put,
    .standing_history_insert = sqlite_standing_history_insert,
    .strike_insert = sqlite_strike_insert,
    .strike_count = sqlite_strike_count,
    .user_get = sqlite_user_get,
    .user_keys_each = sqlite_user_keys_each,
    .user_history_each = sqlite_user_history_each,
    .user_strikes_each = sqlite_user_strikes_each,
    .audit_about = sqlite_audit_about,
    .user_delete = sqlite_user_delete,
    .audit_erase_text = sqlite_audit_erase_text,
    .scrub = sqlite_scrub,
    .checkpoint = sqlite_checkpoint,
    .defer_checkpoints = sqlite_defer_checkpoints,
    .log_pages = sqlite_log_pages,
    .review_insert = sqlite_review_insert,
    .review_each = sqlite_review_each,
    .review_decide = sqlite_review_decide,
    .review_assign = sqlite_review_assign,
    .review_stats = sqlite_review_stats,
    .takedown_delete_expired = sqlite_takedown_delete_expired,
    .strike_delete_before = sqlite_strike_delete_before,
    .key_list = sqlite_key_list,
    .identity_get = sqlite_identity_get,
    .identity_put = sqlite_identity_put,
    .identity_same_id = sqlite_identity_same_id,
    .user_each = sqlite_user_each,
    .usage_get = sqlite_usage_get,
    .usage_put = sqlite_usage_put,
    .usage_delete_before = sqlite_usage_delete_before,
    .complaint_erase_text = sqlite_complaint_erase_text,
    .quota_get = sqlite_quota_get,
    .quota_add = sqlite_quota_add,
    .quota_delete_before = sqlite_quota_delete_before,
    .webhook_insert = sqlite_webhook_insert,
    .webhook_each = sqlite_webhook_each,
    .webhook_next_due = sqlite_webhook_next_due,
    .webhook_claim = sqlite_webhook_claim,
    .webhook_update = sqlite_webhook_update,
    .webhook_requeue = sqlite_webhook_requeue,
    .version_insert = sqlite_version_insert,
    .version_each = sqlite_version_each,
    .version_move = sqlite_version_move,
};
