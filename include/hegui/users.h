/* hegui/users.h — users: the name check every call makes, real-name identity (draft Art. 9; sealed by the caller,
 * only the status and the coming of age in clear) and minors (Art. 10), the gate read before each request
 * (standing and identity under one lock), the admin's list of users, and the usage counters of the minors mode and
 * over-reliance reminders. */
#ifndef HEGUI_USERS_H
#define HEGUI_USERS_H

#include <stdint.h>

#include "hegui/standing.h"
#include "hegui/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hg_store hg_store; /* the store's handle: hegui/store.h opens and closes it */

/* Checks a user name as every store call does: 1-127 bytes of UTF-8, no control or format (Unicode Cf) character.
 * HG_OK, or HG_ERR_INVALID / HG_ERR_LIMIT / HG_ERR_UTF8 with a message naming the offending byte. */
hg_status hg_user_name_check(const char *name, hg_error *err);

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

/* How many other users' identities carry id_hash (the same ID number). */
hg_status hg_store_identity_same_id(hg_store *store, const char *user, const char *id_hash, int64_t *others,
                                    hg_error *err);

/* Both things the gateway checks before admitting a request, read under one lock: the user's standing at now_ms (as
 * hg_store_user_standing) and identity (as hg_store_identity_get). Either out may be NULL. */
hg_status hg_store_user_gate(hg_store *store, const char *user, int64_t now_ms, hg_user_standing *standing,
                             hg_user_identity *identity, hg_error *err);

/* Whether the user exists: HG_OK with *created_ms (may be NULL) when it does, HG_ERR_NOT_FOUND for a user never
 * made or deleted (a data-subject deletion removes the row). */
hg_status hg_store_user_find(hg_store *store, const char *user, int64_t *created_ms, hg_error *err);

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

#ifdef __cplusplus
}
#endif
#endif
