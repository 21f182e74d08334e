/* store/store_internal.h — what a store backend provides to store.c: a small table of functions over one
 * connection. store.c owns everything that must be the same whatever the database (key generation and hashing,
 * the audit chain's serialization and hashing, verification, input validation, complaint status moves, what a
 * strike does to a standing, the mutex); a backend only stores and fetches rows, and gives write transactions
 * their isolation from other writers, which each database spells differently. */
#ifndef HG_STORE_INTERNAL_H
#define HG_STORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "hegui/store.h"

/* A backend's connection; each backend defines the struct. */
typedef struct hg_store_conn hg_store_conn;

/* hg_store_text and hg_audit_row (the audit table's rows as stored) are public: hegui/store.h. */

/* One complaint as stored; text fields as in hg_store_text (valid only during a row callback). */
typedef struct hg_complaint_row {
  int64_t id, created_ms, due_ms, updated_ms;
  hg_store_text type, status, produce_id, text, contact, resolution, channel;
} hg_complaint_row;
typedef int (*hg_complaint_row_fn)(void *ctx, const hg_complaint_row *row);

/* A user's standing as stored. A user without a row is active with all counts at 0; store.c decides what a row
 * means at a given time (a suspension past until_ms is over), the backend only keeps it. */
typedef struct hg_standing_row {
  char standing[16]; /* "active", "suspended", "terminated" */
  int64_t until_ms, blocked_in_a_row, suspensions, updated_ms;
  char set_by[16]; /* "ladder" or "reviewer": who made the last change */
} hg_standing_row;

/* A user's identity as stored. status is the hg_realname name; sealed and note are "" when absent (the backend
 * may keep them as NULL). store.c validates everything before it is put and parses status after it is got. */
typedef struct hg_identity_row {
  char status[16]; /* "unverified", "pending", "verified", "rejected" */
  int64_t updated_ms, adult_from_ms, minor;
  char sealed[HG_IDENTITY_SEALED_MAX];
  char note[sizeof((hg_user_identity *)0)->note];
  char id_hash[sizeof((hg_user_identity *)0)->id_hash];
} hg_identity_row;

/* One user as hg_store_user_list shows it; realname and standing are NULL when the user has no such row. Pointers
 * are valid only during the row callback. */
typedef struct hg_user_row {
  hg_store_text name, realname, standing;
  int64_t created_ms, minor, adult_from_ms, keys;
} hg_user_row;
typedef int (*hg_user_row_fn)(void *ctx, const hg_user_row *row);

/* One webhook delivery as stored (hegui/webhooks.h); text fields valid only during a row callback. once_key is
 * empty (NULL) for events that may happen more than once. */
typedef struct hg_webhook_row {
  int64_t id, target, created_ms, attempts, next_attempt_ms, last_status, delivered_ms;
  hg_store_text event, url, payload, state, last_error, once_key;
} hg_webhook_row;
typedef int (*hg_webhook_row_fn)(void *ctx, const hg_webhook_row *row);

/* What user_delete counts, in the order it deletes (children first: their foreign keys point at users). */
enum hg_user_delete_count {
  HG_DEL_KEYS,
  HG_DEL_STANDING,
  HG_DEL_STRIKES,
  HG_DEL_HISTORY,
  HG_DEL_IDENTITY,
  HG_DEL_USAGE,
  HG_DEL_USER,
  HG_DEL_COUNT
};

typedef struct hg_store_backend {
  const char *name;
  /* Opens the database at target (the URL with its scheme removed) and brings its schema to the current version. */
  hg_status (*open)(const char *target, hg_store_conn **out, hg_error *err);
  void (*close)(hg_store_conn *conn);

  /* A write transaction that excludes every other writer (other connections and processes too) from begin to
   * commit, so that "read the end of the chain, insert after it" cannot interleave. */
  hg_status (*begin)(hg_store_conn *conn, hg_error *err);
  hg_status (*commit)(hg_store_conn *conn, hg_error *err);
  void (*rollback)(hg_store_conn *conn);
  /* The same write transaction, for counters only (quotas): its commit need not reach the disk before it returns, so
   * a power loss may lose it whole, never half of it, and it costs no sync (SQLite: synchronous=NORMAL in WAL mode
   * for this transaction; PostgreSQL: SET LOCAL synchronous_commit = off). commit and rollback end it as usual, and
   * every other transaction stays durable. */
  hg_status (*begin_counters)(hg_store_conn *conn, hg_error *err);

  /* Finds the user by name, creating it when new. */
  hg_status (*user_ensure)(hg_store_conn *conn, const char *name, int64_t now_ms, int64_t *user_id, hg_error *err);
  /* expires_ms 0 = never */
  hg_status (*key_insert)(hg_store_conn *conn, int64_t user_id, const char *role, const char *key_hash, int64_t now_ms,
                          int64_t expires_ms, hg_error *err);
  /* HG_ERR_NOT_FOUND when no key has this hash. */
  hg_status (*key_find)(hg_store_conn *conn, const char *key_hash, hg_key_info *out, hg_error *err);
  /* HG_ERR_NOT_FOUND when no key has this id. */
  hg_status (*key_revoke)(hg_store_conn *conn, int64_t key_id, hg_error *err);
  /* The keys of one user (user_id > 0) or of all (0), oldest first, never with their hash; fn non-zero stops. */
  hg_status (*key_list)(hg_store_conn *conn, int64_t user_id, hg_key_fn fn, void *ctx, hg_error *err);

  /* The last record's seq and hash (0 and an empty string on an empty chain). HG_ERR_CORRUPT when the stored hash
   * is not 64 characters: there is nothing sound to link to. */
  hg_status (*audit_last)(hg_store_conn *conn, int64_t *seq, char hash[65], hg_error *err);
  hg_status (*audit_insert)(hg_store_conn *conn, const hg_audit_row *row, hg_error *err);
  hg_status (*audit_each)(hg_store_conn *conn, int64_t from_seq, hg_audit_row_fn fn, void *ctx, hg_error *err);

  /* HG_ERR_NOT_FOUND when no user has this name (readers must not create users). */
  hg_status (*user_find)(hg_store_conn *conn, const char *name, int64_t *user_id, hg_error *err);

  /* Complaints. row->id is ignored by insert, which sets *id. get is HG_ERR_NOT_FOUND for an unknown id. update
   * moves the ticket only if it still has from_status (HG_ERR_NOT_FOUND otherwise); a NULL resolution keeps the
   * stored one. list is newest first; with only_overdue, open tickets (received, in_review) with due_ms < now_ms. */
  hg_status (*complaint_insert)(hg_store_conn *conn, const hg_complaint_row *row, int64_t *id, hg_error *err);
  hg_status (*complaint_get)(hg_store_conn *conn, int64_t id, hg_complaint_row_fn fn, void *ctx, hg_error *err);
  hg_status (*complaint_update)(hg_store_conn *conn, int64_t id, const char *from_status, const char *to_status,
                                const char *resolution, int64_t now_ms, hg_error *err);
  hg_status (*complaint_list)(hg_store_conn *conn, int only_overdue, int64_t now_ms, hg_complaint_row_fn fn, void *ctx,
                              hg_error *err);

  /* A page of complaints (hegui/complaints.h, hg_store_complaint_query), newest id first, at most q->limit rows. */
  hg_status (*complaint_query)(hg_store_conn *conn, const hg_complaint_query *q, int64_t now_ms, hg_complaint_row_fn fn,
                               void *ctx, hg_error *err);
  /* The SHA-256 (hex) of a ticket's secret: set, and read ("" when the ticket has none); HG_ERR_NOT_FOUND for an
   * unknown id. */
  hg_status (*complaint_set_secret)(hg_store_conn *conn, int64_t id, const char *sha256_hex, hg_error *err);
  hg_status (*complaint_secret)(hg_store_conn *conn, int64_t id, char out[65], hg_error *err);

  /* Takedowns. complaint_id 0 is stored as no complaint. version_bump adds 1 to the takedown version. takedown_each
   * walks the ones in force (not withdrawn, not expired); takedown_list all, newest first. withdraw marks one not yet
   * withdrawn: *changed 1 when it did, *exists whether the id is there at all. */
  hg_status (*takedown_list)(hg_store_conn *conn, hg_takedown_info_fn fn, void *ctx, hg_error *err);
  hg_status (*takedown_withdraw)(hg_store_conn *conn, int64_t id, const char *by, const char *reason, int64_t now_ms,
                                 int *changed, int *exists, hg_error *err);
  hg_status (*takedown_insert)(hg_store_conn *conn, const char *text, int64_t complaint_id, int64_t created_ms,
                               int64_t expires_ms, int64_t *id, hg_error *err);
  hg_status (*takedown_each)(hg_store_conn *conn, int64_t now_ms, hg_takedown_fn fn, void *ctx, hg_error *err);
  hg_status (*takedown_version_bump)(hg_store_conn *conn, hg_error *err);
  hg_status (*takedown_version)(hg_store_conn *conn, int64_t *version, hg_error *err);

  /* Standing and strikes. standing_get is HG_ERR_NOT_FOUND when the user has no row yet; standing_put writes the
   * whole row (creating it). strike_count counts the user's strikes with from_ms <= time_ms < to_ms. */
  hg_status (*standing_get)(hg_store_conn *conn, int64_t user_id, hg_standing_row *out, hg_error *err);
  hg_status (*standing_put)(hg_store_conn *conn, int64_t user_id, const hg_standing_row *row, hg_error *err);
  hg_status (*standing_history_insert)(hg_store_conn *conn, int64_t user_id, int64_t time_ms, const char *standing,
                                       int64_t until_ms, const char *reason, hg_error *err);
  hg_status (*strike_insert)(hg_store_conn *conn, int64_t user_id, int64_t time_ms, int64_t audit_seq, hg_error *err);
  hg_status (*strike_count)(hg_store_conn *conn, int64_t user_id, int64_t from_ms, int64_t to_ms, int64_t *count,
                            hg_error *err);

  /* Identity, users and usage. identity_get and usage_get are HG_ERR_NOT_FOUND when the user has no row; the puts
   * write the whole row (creating it). user_each walks every user, oldest first, with the user's identity and
   * standing rows (if any) and the number of keys not revoked. */
  hg_status (*identity_get)(hg_store_conn *conn, int64_t user_id, hg_identity_row *out, hg_error *err);
  hg_status (*identity_put)(hg_store_conn *conn, int64_t user_id, const hg_identity_row *row, hg_error *err);
  /* Counts the identities of users other than user_id whose id_hash is id_hash. */
  hg_status (*identity_same_id)(hg_store_conn *conn, const char *id_hash, int64_t user_id, int64_t *count,
                                hg_error *err);
  hg_status (*user_each)(hg_store_conn *conn, hg_user_row_fn fn, void *ctx, hg_error *err);
  hg_status (*usage_get)(hg_store_conn *conn, int64_t user_id, hg_usage *out, hg_error *err);
  hg_status (*usage_put)(hg_store_conn *conn, int64_t user_id, const hg_usage *row, hg_error *err);

  /* Data-subject requests and retention. user_get is user_find with the row's creation time. The *_each calls
   * walk one user's rows (keys never with their hash). audit_about walks, in seq order, the records whose actor is
   * actor or admin_actor and those whose detail_json contains needle (a superset the caller filters). */
  hg_status (*user_get)(hg_store_conn *conn, const char *name, int64_t *user_id, int64_t *created_ms, hg_error *err);
  hg_status (*user_keys_each)(hg_store_conn *conn, int64_t user_id,
                              int (*fn)(void *ctx, int64_t id, const char *role, int64_t created_ms, int64_t expires_ms,
                                        int revoked),
                              void *ctx, hg_error *err);
  hg_status (*user_history_each)(hg_store_conn *conn, int64_t user_id,
                                 int (*fn)(void *ctx, int64_t time_ms, const char *standing, int64_t until_ms,
                                           const char *reason),
                                 void *ctx, hg_error *err);
  hg_status (*user_strikes_each)(hg_store_conn *conn, int64_t user_id,
                                 int (*fn)(void *ctx, int64_t time_ms, int64_t audit_seq), void *ctx, hg_error *err);
  hg_status (*audit_about)(hg_store_conn *conn, const char *actor, const char *admin_actor, const char *needle,
                           hg_audit_row_fn fn, void *ctx, hg_error *err);
  /* Deletes the user's keys, standing, strikes, standing history, identity, usage row and the user row; counts[]
   * gets the rows deleted, indexed by hg_user_delete_count. */
  hg_status (*user_delete)(hg_store_conn *conn, int64_t user_id, int64_t counts[HG_DEL_COUNT], hg_error *err);
  /* Sets text to NULL on format-2 records that have text and whose actor is actor (when not NULL) and whose
   * time_ms < before_ms (when before_ms > 0); *kept counts the format-1 records that matched and keep their text,
   * which their hash covers. */
  hg_status (*audit_erase_text)(hg_store_conn *conn, const char *actor, int64_t before_ms, int64_t *erased,
                                int64_t *kept, hg_error *err);
  hg_status (*takedown_delete_expired)(hg_store_conn *conn, int64_t now_ms, int64_t *deleted, hg_error *err);
  hg_status (*strike_delete_before)(hg_store_conn *conn, int64_t before_ms, int64_t *deleted, hg_error *err);
  /* Deletes the usage rows whose last_ms < before_ms. */
  hg_status (*usage_delete_before)(hg_store_conn *conn, int64_t before_ms, int64_t *deleted, hg_error *err);
  /* Sets text and contact to NULL on finished complaints (upheld, rejected, closed) last moved before before_ms;
   * *erased counts the tickets changed. */
  hg_status (*complaint_erase_text)(hg_store_conn *conn, int64_t before_ms, int64_t *erased, hg_error *err);
  /* After a deletion or a purge has committed: leaves nothing of the deleted content readable in any file the
   * backend keeps (SQLite: deleted cells and freed pages are zeroed by secure_delete, and the write-ahead log, which
   * still holds the old pages, is checkpointed into the database and truncated). */
  hg_status (*scrub)(hg_store_conn *conn, hg_error *err);
  /* Storage upkeep, all optional (NULL: the backend keeps no log of the kind). defer_checkpoints stops this
   * connection's commits from checkpointing the write-ahead log themselves (SQLite does it inside the commit that
   * takes the log past 1,000 pages, and that commit's caller waits); log_pages is then the log's length after its
   * last commit, and checkpoint moves the log into the database without waiting for readers or writers (PASSIVE),
   * *frames and *moved its length and how much of it is in the database now, in pages. */
  void (*defer_checkpoints)(hg_store_conn *conn);
  int (*log_pages)(hg_store_conn *conn);
  hg_status (*checkpoint)(hg_store_conn *conn, int *frames, int *moved, hg_error *err);
  /* The review queue (hegui/store.h). */
  hg_status (*review_insert)(hg_store_conn *conn, const hg_review_item *in, int64_t now_ms, int64_t *id, hg_error *err);
  /* id > 0: that item only; else the newest items (of a status when not NULL), at most limit */
  hg_status (*review_each)(hg_store_conn *conn, int64_t id, const char *status, int64_t limit, hg_review_fn fn,
                           void *ctx, hg_error *err);
  /* UPDATE ... WHERE id = ? AND status = 'open'; *changed is the rows changed, *exists whether the id is there. */
  hg_status (*review_decide)(hg_store_conn *conn, int64_t id, const char *decision, const char *by, const char *note,
                             int64_t now_ms, int *changed, int *exists, hg_error *err);
  hg_status (*review_assign)(hg_store_conn *conn, int64_t id, const char *who, int *changed, int *exists,
                             hg_error *err);
  hg_status (*review_stats)(hg_store_conn *conn, int64_t since_ms, int64_t offset_ms, int64_t *open,
                            hg_review_day_fn fn, void *ctx, hg_error *err);

  /* Usage quotas (hegui/store.h): one counter row per (subject, window kind, window number); kind 0 numbers UTC
   * minutes, kind 1 UTC days (enum hg_quota_window). store.c does the checking inside begin/commit; a backend only
   * keeps rows. quota_get is HG_ERR_NOT_FOUND when there is no row. quota_add adds to a row, creating it (one
   * statement: an upsert, so that a concurrent first add cannot fail on the key). quota_delete_before deletes the rows
   * of minutes before minute_before and of days before day_before: of one subject, or of all when subject is NULL. */
  hg_status (*quota_get)(hg_store_conn *conn, const char *subject, int kind, int64_t window, int64_t *requests,
                         int64_t *tokens, hg_error *err);
  hg_status (*quota_add)(hg_store_conn *conn, const char *subject, int kind, int64_t window, int64_t requests,
                         int64_t tokens, hg_error *err);
  hg_status (*quota_delete_before)(hg_store_conn *conn, const char *subject, int64_t minute_before, int64_t day_before,
                                   int64_t *deleted, hg_error *err);

  /* The webhook outbox (hegui/webhooks.h). webhook_insert adds a row unless once_key is set and the target already
   * has a row with it (*added 0 then: one statement, ON CONFLICT DO NOTHING). webhook_each walks rows: which 0 the
   * pending ones with next_attempt_ms <= arg, soonest first; 1 all (state NULL) or one state's, newest first; 2 the
   * row with id arg. webhook_claim and webhook_requeue set *changed to the rows changed (0 or 1). */
  hg_status (*webhook_insert)(hg_store_conn *conn, const hg_webhook_row *row, int *added, hg_error *err);
  hg_status (*webhook_each)(hg_store_conn *conn, int which, int64_t arg, const char *state, int64_t limit,
                            hg_webhook_row_fn fn, void *ctx, hg_error *err);
  hg_status (*webhook_next_due)(hg_store_conn *conn, int64_t *next_ms, hg_error *err);
  /* UPDATE ... SET next_attempt_ms = lease WHERE id = ? AND state = 'pending' AND next_attempt_ms <= now */
  hg_status (*webhook_claim)(hg_store_conn *conn, int64_t id, int64_t now_ms, int64_t lease_until_ms, int *changed,
                             hg_error *err);
  /* Writes the attempt's outcome: state, attempts, next_attempt_ms, last_status, last_error, delivered_ms of row. */
  hg_status (*webhook_update)(hg_store_conn *conn, const hg_webhook_row *row, hg_error *err);
  /* UPDATE ... SET state = 'pending', attempts = 0, next_attempt_ms = now WHERE id = ? AND state = 'failed' */
  hg_status (*webhook_requeue)(hg_store_conn *conn, int64_t id, int64_t now_ms, int *changed, hg_error *err);
  /* Policy and lexicon versions (hegui/versions.h). store.c runs the moves inside begin/commit; a backend only keeps
   * rows. version_insert stores row (its content, size and sha256 included; id ignored) and sets *id. version_each
   * walks: the one version id (id > 0), else those of kind and state (either may be its _COUNT for any), newest
   * first, at most limit; content is read only when with_content. version_move sets to_state, ended_ms and, when
   * not NULL or 0, approver, note and activated_ms, on version id only if its state is still from_state; *changed is
   * the rows changed. */
  hg_status (*version_insert)(hg_store_conn *conn, const hg_version_info *row, int64_t *id, hg_error *err);
  hg_status (*version_each)(hg_store_conn *conn, int64_t id, unsigned kind, unsigned state, int64_t limit,
                            int with_content, hg_version_fn fn, void *ctx, hg_error *err);
  hg_status (*version_move)(hg_store_conn *conn, int64_t id, hg_version_state from_state, hg_version_state to_state,
                            const char *approver, const char *note, int64_t activated_ms, int64_t ended_ms,
                            int *changed, hg_error *err);
} hg_store_backend;

/* The windows of quota counters, as stored (window_kind). */
enum hg_quota_window { HG_QUOTA_WINDOW_MINUTE = 0, HG_QUOTA_WINDOW_DAY = 1 };

extern const hg_store_backend hg_store_sqlite;

#endif
