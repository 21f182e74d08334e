/* hegui/store.h — the store behind the services: API keys (kept only as hashes), and the audit chain, where every
 * request leaves a record linked to the one before by SHA-256, so that a changed, removed or reordered record is
 * found by hg_store_audit_verify.
 *
 * The interface is backend-neutral: "sqlite:PATH" (or a plain path) opens the embedded SQLite backend in WAL mode;
 * a PostgreSQL backend will take "postgres://..." URLs. The SQL used stays portable (no SQLite-only syntax). A
 * store handle may be used from several threads: calls are serialised inside. */
#ifndef HEGUI_STORE_H
#define HEGUI_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hegui/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hg_store hg_store;

/* Opens (and creates or migrates) a store. For SQLite the file's directory must exist. */
hg_status hg_store_open(const char *url, hg_store **out, hg_error *err);
void hg_store_close(hg_store *store);

/* ---- API keys --------------------------------------------------------------------------------------------- */

typedef enum hg_role { HG_ROLE_USER = 0, HG_ROLE_REVIEWER = 1, HG_ROLE_ADMIN = 2, HG_ROLE_AUDITOR = 3 } hg_role;
const char *hg_role_name(hg_role role);
hg_status hg_role_parse(const char *name, hg_role *out);

#define HG_KEY_MAX 64 /* bytes of a key as printed, NUL included */

/* Checks a user name as every store call does: 1-127 bytes of UTF-8, no control or format (Unicode Cf) character.
 * HG_OK, or HG_ERR_INVALID / HG_ERR_LIMIT / HG_ERR_UTF8 with a message naming the offending byte. */
hg_status hg_user_name_check(const char *name, hg_error *err);

/* Creates a key for a user (created if new) with a role; writes the key ("hg-" + 43 base64url characters of 32
 * random bytes) to key_out. Only SHA-256 of the key is stored. */
hg_status hg_store_key_create(hg_store *store, const char *user, hg_role role, char key_out[HG_KEY_MAX], hg_error *err);

/* Same with an expiry: expires_ms > 0 is the Unix time in ms from which the key is refused (0 = never). */
hg_status hg_store_key_create_ex(hg_store *store, const char *user, hg_role role, int64_t expires_ms,
                                 char key_out[HG_KEY_MAX], hg_error *err);

typedef struct hg_key_info {
  int64_t key_id;
  char user[128];
  hg_role role;
  int revoked;
  int64_t created_ms;
  int64_t expires_ms; /* 0 = never; the caller compares with its clock (the store does not refuse expired keys) */
} hg_key_info;

/* Looks a presented key up. HG_ERR_NOT_FOUND for an unknown key; a revoked key is found with revoked = 1. */
hg_status hg_store_key_lookup(hg_store *store, const char *key, size_t len, hg_key_info *out, hg_error *err);
hg_status hg_store_key_revoke(hg_store *store, int64_t key_id, hg_error *err);
/* Calls fn for each key (of one user, or of all users when user is NULL), oldest first; key_hash is never given.
 * HG_ERR_NOT_FOUND when user is given and unknown. fn runs under the store's lock and must not call the store. */
typedef int (*hg_key_fn)(void *ctx, const hg_key_info *key);
hg_status hg_store_key_list(hg_store *store, const char *user, hg_key_fn fn, void *ctx, hg_error *err);

/* ---- audit chain ------------------------------------------------------------------------------------------ */

typedef struct hg_audit_record {
  int64_t seq;               /* assigned by append: 1, 2, 3, ... */
  int64_t time_ms;           /* Unix time in milliseconds; 0 = now */
  const char *actor;         /* pseudonymous user id (keyed hash), or "admin:<name>" for admin actions */
  const char *route;         /* "/v1/chat/completions", "admin/takedown", ... */
  const char *verdict;       /* "allow", "redact", "block", "error", ... */
  const char *detail_json;   /* categories, hits with spans, upstream status, ... (a JSON object), may be NULL */
  const char *input_sha256;  /* hex, may be NULL */
  const char *output_sha256; /* hex, may be NULL */
  const char *text;          /* stored text as the retention policy says (redacted by default), may be NULL */
  char hash[65];             /* filled by append and by iteration: SHA-256 hex of this record and the previous hash */
} hg_audit_record;

/* Appends a record at the end of the chain; on success record->seq and record->hash are set. */
hg_status hg_store_audit_append(hg_store *store, hg_audit_record *record, hg_error *err);

/* Appends records in order in one transaction (one sync for all: group commit). All or none: on an error no record
 * is appended and every seq is 0; on success each record's seq and hash are set. */
hg_status hg_store_audit_append_many(hg_store *store, hg_audit_record *records, size_t n, hg_error *err);

typedef struct hg_audit_check {
  int64_t records;   /* records checked */
  int64_t first_bad; /* seq of the first record that does not fit the chain, 0 when all fit */
  char problem[200]; /* what is wrong with it: "changed", "missing before", "out of order", ... */
} hg_audit_check;

/* Walks the whole chain. Returns HG_OK when the walk could be done (then check->first_bad says whether the chain
 * holds), an error when the store could not be read. */
hg_status hg_store_audit_verify(hg_store *store, hg_audit_check *check, hg_error *err);

/* Calls fn for each record with from_seq <= seq (in order); fn returns non-zero to stop. Strings in the record
 * are valid only during the call. */
typedef int (*hg_audit_fn)(void *ctx, const hg_audit_record *record);
hg_status hg_store_audit_each(hg_store *store, int64_t from_seq, hg_audit_fn fn, void *ctx, hg_error *err);

/* The audit table's rows exactly as stored, for exports and checks that must see the bytes the chain hash covers
 * (hegui audit export, GET /admin/audit/export). */
/* A column as the database holds it: ptr NULL for SQL NULL, else NUL-terminated at ptr[len]. The length is kept
 * beside the bytes so that the chain check sees exactly what is stored, a NUL written into a field included. */
typedef struct hg_store_text {
  const char *ptr;
  size_t len;
} hg_store_text;

/* One row of the audit table, fields in the order the chain hash covers them. format says which serialization
 * the hash covers: 1 (rows written before schema 3) hashes text itself; 2 hashes text_sha256 (SHA-256 hex of
 * text, NULL when text was NULL) instead, so that text can later be erased (NULL) while text_sha256 stays and the
 * chain still holds (docs/store.md). */
typedef struct hg_audit_row {
  int64_t seq;
  int64_t time_ms;
  hg_store_text actor, route, verdict, detail_json, input_sha256, output_sha256, text;
  hg_store_text prev_hash, hash;
  int64_t format;
  hg_store_text text_sha256;
} hg_audit_row;

/* Called for each row in seq order; non-zero stops the walk. Pointers are valid only during the call. */
typedef int (*hg_audit_row_fn)(void *ctx, const hg_audit_row *row);

/* Like hg_store_audit_each, every stored column exactly as stored (prev_hash too, which hg_audit_record does not
 * carry), so that an export lets anyone recompute the chain. In seq order from from_seq, under the store's lock (fn
 * must not call back into this store). */
hg_status hg_store_audit_rows(hg_store *store, int64_t from_seq, hg_audit_row_fn fn, void *ctx, hg_error *err);

/* ---- the review queue (a person in the loop) ------------------------------------------------------------------ *
 * Items for people to look at: every answer whose verdict is review, and a sample of allowed answers (the manual
 * checks of a security assessment). Each names the response (its audit record has the same response_id), the
 * user's pseudonym, the verdict and the findings; a reviewer decides allow or block with a note. */
typedef struct hg_review_item {
  int64_t id, created_ms, decided_ms; /* decided_ms 0 while open */
  const char *response_id, *actor, *route, *verdict;
  int sampled;            /* 1: queued as a sample of allowed answers, 0: its verdict was review */
  const char *reasons;    /* JSON of the findings, may be NULL */
  const char *status;     /* open, allowed, blocked */
  const char *decided_by; /* may be NULL */
  const char *note;       /* may be NULL */
  const char *assignee;   /* the reviewer it is assigned to, may be NULL */
} hg_review_item;
/* Adds an item (the strings of in; id, status and decisions are set by the store). */
hg_status hg_store_review_add(hg_store *store, const hg_review_item *in, int64_t now_ms, int64_t *id, hg_error *err);
/* Items, newest first, at most limit; status NULL: all. The strings live during the call. */
typedef int (*hg_review_fn)(void *ctx, const hg_review_item *item);
hg_status hg_store_review_list(hg_store *store, const char *status, int64_t limit, hg_review_fn fn, void *ctx,
                               hg_error *err);
/* One item by id (fn called once); HG_ERR_NOT_FOUND when there is none. */
hg_status hg_store_review_get(hg_store *store, int64_t id, hg_review_fn fn, void *ctx, hg_error *err);
/* Decides an open item: decision "allowed" or "blocked". HG_ERR_NOT_FOUND for no such item, HG_ERR_CONFLICT when it
 * was decided already (by someone else meanwhile). */
hg_status hg_store_review_decide(hg_store *store, int64_t id, const char *decision, const char *by, const char *note,
                                 int64_t now_ms, hg_error *err);
/* Assigns an open item to a reviewer (who NULL: unassigned). HG_ERR_NOT_FOUND, HG_ERR_CONFLICT as for decide. */
hg_status hg_store_review_assign(hg_store *store, int64_t id, const char *who, hg_error *err);
/* The queue's state: open items, and the sample of allowed answers decided per day (items created since since_ms,
 * days from local midnight with local = UTC + offset_ms), oldest day first: how many decided, how many allowed (the
 * sample's pass rate). */
typedef int (*hg_review_day_fn)(void *ctx, int64_t day_start_ms, int64_t decided, int64_t allowed);
hg_status hg_store_review_stats(hg_store *store, int64_t since_ms, int64_t offset_ms, int64_t *open,
                                hg_review_day_fn fn, void *ctx, hg_error *err);

/* ---- complaints (Art. 13 / Interim Art. 15) ---------------------------------------------------------------- */

typedef struct hg_complaint {
  int64_t id;
  char type[32];   /* prohibited_content, ip_infringement, privacy, personal_info, other */
  char status[16]; /* received, in_review, upheld, rejected, closed */
  int64_t created_ms, due_ms, updated_ms;
  char *produce_id; /* the response id (ProduceID) complained about, may be NULL */
  char *text;       /* the pasted text, may be NULL */
  char *contact;    /* how to answer the complainant, may be NULL */
  char *resolution; /* the reviewer's note, may be NULL */
  char channel[16]; /* how it arrived, and how the complainant is answered: web (the public intake), phone, email,
                       letter or in_person (entered by staff) */
} hg_complaint;
void hg_complaint_clear(hg_complaint *c); /* frees the strings */

/* Adds a ticket; durable (on disk) before it returns HG_OK, so an acknowledged complaint is never lost. */
hg_status hg_store_complaint_add(hg_store *store, const char *type, const char *produce_id, const char *text,
                                 const char *contact, int64_t created_ms, int64_t due_ms, int64_t *id, hg_error *err);
/* The same for a complaint that arrived by another channel and was entered by staff: channel is phone, email, letter,
 * in_person or web; created_ms is when it arrived (its time limit runs from then, not from when it was typed in). */
hg_status hg_store_complaint_add_from(hg_store *store, const char *channel, const char *type, const char *produce_id,
                                      const char *text, const char *contact, int64_t created_ms, int64_t due_ms,
                                      int64_t *id, hg_error *err);
hg_status hg_store_complaint_get(hg_store *store, int64_t id, hg_complaint *out, hg_error *err);
/* Moves a ticket: received -> in_review -> upheld | rejected -> closed (also received -> upheld | rejected).
 * Other moves are HG_ERR_INVALID with the allowed ones named. */
hg_status hg_store_complaint_set_status(hg_store *store, int64_t id, const char *status, const char *resolution,
                                        int64_t now_ms, hg_error *err);
/* Lists tickets, newest first; only_overdue lists open tickets (received, in_review) past due at now_ms. fn runs
 * under the store's lock (it must not call the store) and the strings in c are valid only during the call. */
typedef int (*hg_complaint_fn)(void *ctx, const hg_complaint *c);
hg_status hg_store_complaint_list(hg_store *store, int only_overdue, int64_t now_ms, hg_complaint_fn fn, void *ctx,
                                  hg_error *err);

/* ---- takedowns (Art. 15) ------------------------------------------------------------------------------------ */

/* Adds a takedown text (from an upheld complaint, complaint_id > 0, or a reviewer, 0) kept until expires_ms (0 =
 * never). */
hg_status hg_store_takedown_add(hg_store *store, const char *text, int64_t complaint_id, int64_t created_ms,
                                int64_t expires_ms, int64_t *id, hg_error *err);
/* Calls fn for each takedown not expired at now_ms. */
typedef int (*hg_takedown_fn)(void *ctx, int64_t id, const char *text, int64_t created_ms, int64_t expires_ms);
hg_status hg_store_takedown_each(hg_store *store, int64_t now_ms, hg_takedown_fn fn, void *ctx, hg_error *err);
/* A number that changes whenever takedowns are added or removed (for cheap polling by many gateways). A takedown
 * reaching expires_ms does not change it: rebuild on a timer too when expiry must take effect promptly. */
hg_status hg_store_takedown_version(hg_store *store, int64_t *version, hg_error *err);

/* ---- users' standing: strikes (Art. 19) --------------------------------------------------------------------- */

typedef enum hg_standing { HG_STANDING_ACTIVE = 0, HG_STANDING_SUSPENDED = 1, HG_STANDING_TERMINATED = 2 } hg_standing;
const char *hg_standing_name(hg_standing s);

/* Who made the last change of a user's standing. */
typedef enum hg_standing_source { HG_STANDING_BY_LADDER = 0, HG_STANDING_BY_REVIEWER = 1 } hg_standing_source;

typedef struct hg_user_standing {
  hg_standing standing;
  hg_standing_source set_by; /* the strike ladder, or a person's decision */
  int64_t until_ms;          /* end of a suspension, 0 = until a reviewer lifts it */
  int64_t blocked_in_a_row;
  int64_t blocked_today; /* blocked inputs since the start of the UTC day of now_ms */
  int64_t suspensions;   /* suspensions so far */
} hg_user_standing;

/* The user's standing at now_ms (a suspension past its end counts as active again). A user the store has never
 * seen is active with nothing counted. */
hg_status hg_store_user_standing(hg_store *store, const char *user, int64_t now_ms, hg_user_standing *out,
                                 hg_error *err);
/* Records a blocked input (with the audit seq as evidence) or an allowed one (ends a run of blocked ones); returns
 * the standing after it. */
hg_status hg_store_strike_record(hg_store *store, const char *user, int blocked, int64_t audit_seq, int64_t now_ms,
                                 hg_user_standing *after, hg_error *err);
/* Sets a standing (suspend with until_ms, terminate, or lift to active); each change is kept with its reason. Each
 * change also ends the current run of blocked inputs (blocked_in_a_row = 0), so a ladder sees only what came after
 * it; suspensions counts moves into a suspension, not extensions of one still running. */
hg_status hg_store_user_set_standing(hg_store *store, const char *user, hg_standing standing, int64_t until_ms,
                                     const char *reason, int64_t now_ms, hg_error *err);
/* The same, saying who decides: hg_store_user_set_standing is a person's decision (HG_STANDING_BY_REVIEWER); the
 * strike ladder sets standing with HG_STANDING_BY_LADDER, so that the user can be told the real cause. */
hg_status hg_store_user_set_standing_by(hg_store *store, const char *user, hg_standing standing, int64_t until_ms,
                                        const char *reason, hg_standing_source by, int64_t now_ms, hg_error *err);

/* ---- real-name identity (draft Art. 9) and minors (Art. 10) -------------------------------------------------- */

typedef enum hg_realname {
  HG_REALNAME_UNVERIFIED = 0, /* nothing submitted */
  HG_REALNAME_PENDING = 1,    /* submitted, the verification provider has not answered */
  HG_REALNAME_VERIFIED = 2,
  HG_REALNAME_REJECTED = 3
} hg_realname;
const char *hg_realname_name(hg_realname s); /* "unverified", "pending", "verified", "rejected" */
hg_status hg_realname_parse(const char *name, hg_realname *out);

#define HG_IDENTITY_SEALED_MAX 2048 /* bytes of the sealed text, NUL included */

/* What the store keeps of a user's identity. The identity fields themselves (name, ID number, phone) are sealed by
 * the caller with a key the database never sees (the gateway: libsodium secretbox, key from a file or the
 * environment) and kept as opaque text; the store only keeps what the gateway needs on every request in clear:
 * the status and when the user comes of age. */
typedef struct hg_user_identity {
  hg_realname status;
  int64_t updated_ms;    /* last put; 0 = never */
  int64_t adult_from_ms; /* Unix ms at which the user turns 18 (from the ID number); 0 = unknown */
  int minor;             /* 1: treated as a minor whatever the ID says (set by an admin or a guardian), else 0 */
  char sealed[HG_IDENTITY_SEALED_MAX]; /* sealed identity fields, printable ASCII (base64), "" = none */
  char note[256];                      /* the provider's or reviewer's reason for the status, "" = none */
  char id_hash[65]; /* a keyed hash of the ID number (hex, the gateway's), "" = none: finds the same ID number on
                       other accounts without unsealing anything */
} hg_user_identity;

/* The identity of a user. A user the store has never seen, or one without identity, is HG_OK with status
 * unverified and everything else zero/empty. */
hg_status hg_store_identity_get(hg_store *store, const char *user, hg_user_identity *out, hg_error *err);
/* Replaces the identity of a user (created if new): status, adult_from_ms, minor, sealed, note as given;
 * updated_ms = now_ms. sealed must be printable ASCII shorter than HG_IDENTITY_SEALED_MAX (HG_ERR_INVALID
 * otherwise). */
hg_status hg_store_identity_put(hg_store *store, const char *user, const hg_user_identity *in, int64_t now_ms,
                                hg_error *err);

/* Same, only if the user exists and the stored identity is still expect (as hg_store_identity_get read it: every
 * field compared, so a reviewer's change of the minor flag or status in between is seen): a compare-and-set for
 * decisions taken on what was read earlier. Never creates a user. HG_ERR_NOT_FOUND when the user is gone (a
 * data-subject deletion is never undone), HG_ERR_CONFLICT when the identity changed meanwhile; nothing changes. */
hg_status hg_store_identity_put_if(hg_store *store, const char *user, const hg_user_identity *expect,
                                   const hg_user_identity *in, int64_t now_ms, hg_error *err);

/* Both things the gateway checks before admitting a request, read under one lock: the user's standing at now_ms (as
 * hg_store_user_standing) and identity (as hg_store_identity_get). Either out may be NULL. */
/* How many other users' identities carry id_hash (the same ID number). */
hg_status hg_store_identity_same_id(hg_store *store, const char *user, const char *id_hash, int64_t *others,
                                    hg_error *err);

hg_status hg_store_user_gate(hg_store *store, const char *user, int64_t now_ms, hg_user_standing *standing,
                             hg_user_identity *identity, hg_error *err);

/* Users, oldest first, with what an admin list shows. fn runs under the store's lock and must not call the store. */
typedef struct hg_user_summary {
  const char *name;
  int64_t created_ms;
  hg_realname realname;
  int minor;             /* the explicit flag */
  int64_t adult_from_ms; /* 0 = unknown */
  hg_standing standing;  /* as stored (a suspension past its end still reads suspended here) */
  int64_t keys;          /* keys not revoked */
} hg_user_summary;
typedef int (*hg_user_fn)(void *ctx, const hg_user_summary *u);
hg_status hg_store_user_list(hg_store *store, hg_user_fn fn, void *ctx, hg_error *err);

/* Usage counters for the minors mode and over-reliance reminders (Art. 10). Only today's counters and the current
 * run of use are kept, one row per user: no history (the draft's ban on profiling; docs/workflows.md). The caller
 * numbers days (local days in its time zone) and says how long a pause ends a run of use (gap_ms). */
typedef struct hg_usage {
  int64_t day;              /* the day these counts belong to */
  int64_t requests;         /* requests counted that day */
  int64_t active_ms;        /* time in use that day: the sum of the pauses between requests shorter than gap_ms */
  int64_t session_start_ms; /* start of the current run of use (requests less than gap_ms apart), 0 = none */
  int64_t last_ms;          /* the last request counted, 0 = none */
  int64_t reminded_ms;      /* when a reminder was last given in this run of use, 0 = not in this run */
} hg_usage;

/* The counters as of now_ms on day, without counting anything: counts of another day read as 0 (day = day), and a
 * run of use whose last request is more than gap_ms before now_ms is over (session_start_ms = 0, reminded_ms = 0). */
hg_status hg_store_usage_get(hg_store *store, const char *user, int64_t day, int64_t now_ms, int64_t gap_ms,
                             hg_usage *out, hg_error *err);
/* Counts one request at now_ms on day: requests + 1; active_ms grows by now_ms - last_ms when that is <= gap_ms
 * (same day); a new run of use starts (session_start_ms = now_ms, reminded_ms = 0) when the last request was more
 * than gap_ms ago or there was none; reminded != 0 sets reminded_ms = now_ms. *after (may be NULL) gets the row
 * as stored. The user is created if new. */
hg_status hg_store_usage_touch(hg_store *store, const char *user, int64_t day, int64_t now_ms, int64_t gap_ms,
                               int reminded, hg_usage *after, hg_error *err);

/* Notes that a reminder was given at now_ms (reminded_ms), without counting a request: for a reminder given once
 * the answer that carries it is under way. HG_ERR_NOT_FOUND when the user has no usage row. */
hg_status hg_store_usage_reminded(hg_store *store, const char *user, int64_t now_ms, hg_error *err);

/* ---- usage quotas (Art. 10; abuse) --------------------------------------------------------------------------- *
 * Counters of requests and tokens per subject in fixed UTC windows: the minute (now_ms / 60000) and the day (now_ms
 * / 86400000). A subject is an opaque string; the gateway uses "u:<user>" and "k:<key id>". The counters live in the
 * store, so every gateway on the same store counts the same requests, and admission is a compare-and-count inside
 * one write transaction: two gateways can never both admit the last request of a window.
 *
 * Counts are committed without a disk sync of their own (they become durable with the next synced commit): a power
 * loss may forget the last few, never corrupt them, and a quota costs no sync per request.
 *
 * Old windows go by themselves, not through hg_store_purge: a subject's first admission in a minute, and every
 * token count, delete its rows from before the previous minute and the previous day (kept for gateways whose clocks
 * are a little behind) in the same transaction, and the first admission of each UTC day on a store handle deletes
 * every row of windows before that day (subjects that went quiet). So the table holds only each subject's last few
 * windows. hg_store_dsar_delete deletes the user's "u:<user>" rows; "k:<id>" rows name only a key id, which means
 * nothing once the key is deleted, and go with their day. */

/* The limits of one subject, 0 = no limit (the gateway copies them from the configuration's struct hg_quota:
 * the store sits below the configuration and does not read it). */
typedef struct hg_quota_limits {
  uint64_t requests_per_minute, requests_per_day, tokens_per_minute, tokens_per_day;
} hg_quota_limits;

#define HG_QUOTA_SUBJECT_MAX 256               /* bytes of a subject, NUL excluded */
#define HG_QUOTA_TOKENS_MAX (INT64_C(1) << 40) /* tokens added in one call at most (more are counted as this) */

typedef struct hg_quota_subject {
  const char *subject;           /* 1-HG_QUOTA_SUBJECT_MAX bytes */
  const hg_quota_limits *limits; /* NULL: count without limits */
} hg_quota_subject;

/* Which limit stopped a request; the names are "requests per minute", "requests per day", "tokens per minute",
 * "tokens per day" ("" for none). */
typedef enum hg_quota_limit {
  HG_QUOTA_NONE = 0,
  HG_QUOTA_REQUESTS_PER_MINUTE = 1,
  HG_QUOTA_REQUESTS_PER_DAY = 2,
  HG_QUOTA_TOKENS_PER_MINUTE = 3,
  HG_QUOTA_TOKENS_PER_DAY = 4
} hg_quota_limit;
const char *hg_quota_limit_name(hg_quota_limit limit);

typedef struct hg_quota_hit {
  hg_quota_limit limit;   /* HG_QUOTA_NONE: admitted, and counted for every subject */
  size_t subject;         /* the index of the subject whose limit it is */
  int64_t used;           /* what that subject has used in the window (>= the limit) */
  int64_t retry_after_ms; /* from now_ms to the end of the window */
} hg_quota_hit;

/* Admits one request at now_ms (0 = the clock): when no subject has reached a limit (a counter >= its limit; the
 * subjects and, for each, requests per minute, per day, tokens per minute, per day are checked in this order), counts
 * the request in the minute and the day of every subject and sets hit->limit = HG_QUOTA_NONE; otherwise counts
 * nothing for any subject and says in *hit which limit was reached first. Both happen in one write transaction. n = 0
 * admits without touching the store. An error (the store unavailable) admits nothing: callers fail closed. */
hg_status hg_store_quota_admit(hg_store *store, const hg_quota_subject *subjects, size_t n, int64_t now_ms,
                               hg_quota_hit *hit, hg_error *err);
/* Adds tokens (as the model reported them, at most HG_QUOTA_TOKENS_MAX) to the minute and the day of now_ms of each
 * subject; limits are not checked here (the next admission sees them). */
hg_status hg_store_quota_add_tokens(hg_store *store, const hg_quota_subject *subjects, size_t n, uint64_t tokens,
                                    int64_t now_ms, hg_error *err);
/* What a subject has counted in the minute and the day of now_ms (zeros when nothing), without counting anything. */
typedef struct hg_quota_usage {
  int64_t requests_minute, requests_day, tokens_minute, tokens_day;
} hg_quota_usage;
hg_status hg_store_quota_get(hg_store *store, const char *subject, int64_t now_ms, hg_quota_usage *out, hg_error *err);

/* ---- data-subject requests and retention (PIPL Art. 45, 47; Cybersecurity Law Art. 21) ------------------------ */

/* Writes one JSON object with everything the store holds about a user: the user row, the user's keys (id, role,
 * created, expires, revoked; never a hash), the identity (status, updated, adult_from_ms, minor, note, and the
 * sealed text as stored: the caller unseals it), today's usage row, standing and its history, strikes, every audit
 * record whose actor is the pseudonym (all fields), and the records that name the user otherwise ("admin:<user>"
 * actions, strike decisions whose detail has "user":"<user>"). pseudonym is the gateway's keyed hash of the name (32
 * lowercase hex). A user the store does not know is exported with a null user row and whatever audit records the
 * pseudonym has. */
hg_status hg_store_dsar_export(hg_store *store, const char *user, const char *pseudonym, FILE *out, hg_error *err);

/* Erases a user: deletes the user's keys, identity, usage row, standing, strikes, standing history and user row, and
 * sets the text of the pseudonym's audit records to NULL. The records themselves stay (security logs are kept at least
 * six months, Cybersecurity Law Art. 21); format-2 records keep text_sha256, so the chain still holds and the erasure
 * shows. Format-1 records (written before schema 3) hash their text, which therefore stays; the receipt counts them.
 * All of it and a receipt record (actor "system:dsar", route "dsar/delete", verdict "deleted", detail with the counts
 * and the pseudonym, never the name) commit together. receipt_out (may be NULL) gets the receipt's seq and hash; its
 * string fields are set to NULL. */
hg_status hg_store_dsar_delete(hg_store *store, const char *user, const char *pseudonym, int64_t now_ms,
                               hg_audit_record *receipt_out, hg_error *err);

typedef struct hg_purge_counts {
  int64_t audit_text_erased;     /* format-2 records whose text was set to NULL */
  int64_t audit_text_kept_v1;    /* format-1 records past the age that keep their text (their hash covers it) */
  int64_t takedowns_deleted;     /* takedowns expired at now_ms */
  int64_t strikes_deleted;       /* strikes older than HG_STRIKE_RETENTION_MS */
  int64_t usage_deleted;         /* usage rows whose last request is older than HG_USAGE_RETENTION_MS */
  int64_t complaint_text_erased; /* finished complaints (upheld, rejected, closed) whose text and contact were erased */
  int64_t receipt_seq;           /* the purge's own audit record */
} hg_purge_counts;

#define HG_STRIKE_RETENTION_MS (INT64_C(400) * 86400000)    /* strikes older than this are purged */
#define HG_USAGE_RETENTION_MS (INT64_C(2) * 86400000)       /* usage rows idle this long are purged */
#define HG_AUDIT_MIN_RETENTION_MS (INT64_C(183) * 86400000) /* six months: the least a security log is kept */

/* Retention: erases the text of audit records older than text_max_age_ms (0 keeps text), and the pasted text and
 * contact of complaints finished (upheld, rejected, closed) longer ago than that (the ticket itself stays), deletes
 * takedowns expired at now_ms (the takedown version moves when any go) and strikes older than 400 days, and appends a
 * receipt record (actor "system:purge") in the same transaction. Audit records themselves are never deleted: the chain
 * would lose its start. record_max_age_ms is reserved and must be 0; a value under six months is HG_ERR_INVALID by the
 * 6-month rule, and any other non-zero value is HG_ERR_INVALID too until chain checkpoints exist (docs/store.md). */
hg_status hg_store_purge(hg_store *store, int64_t now_ms, int64_t text_max_age_ms, int64_t record_max_age_ms,
                         hg_purge_counts *out, hg_error *err);

#ifdef __cplusplus
}
#endif
#endif
