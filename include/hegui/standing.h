/* hegui/standing.h — users' standing (Art. 19): active, suspended (until a time, or until a reviewer lifts it) or
 * terminated; the strikes that count blocked inputs (in a row, and per UTC day) with their audit records as
 * evidence, the decisions that change standing with their reasons, and the strike ladder that decides from the
 * counts when a run of blocked inputs suspends and when a suspension becomes termination. */
#ifndef HEGUI_STANDING_H
#define HEGUI_STANDING_H

#include <stdint.h>

#include "hegui/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hg_store hg_store; /* the store's handle: hegui/store.h opens and closes it */

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
 * the standing after it (after may be NULL: an allowed input then costs one read and no write unless it ends a run). */
hg_status hg_store_strike_record(hg_store *store, const char *user, int blocked, int64_t audit_seq, int64_t now_ms,
                                 hg_user_standing *after, hg_error *err);
/* The user's current run of blocked inputs (0 for a user the store has never seen), read only. A gateway asks its
 * read connection this before recording an allowed input, so that the common case (no run to end) takes no lock
 * of the writing connection: an allowed input is nearly every request, and the writer may be syncing. */
hg_status hg_store_strike_run(hg_store *store, const char *user, int64_t *in_a_row, hg_error *err);
/* Sets a standing (suspend with until_ms, terminate, or lift to active); each change is kept with its reason. Each
 * change also ends the current run of blocked inputs (blocked_in_a_row = 0), so a ladder sees only what came after
 * it; suspensions counts moves into a suspension, not extensions of one still running. */
hg_status hg_store_user_set_standing(hg_store *store, const char *user, hg_standing standing, int64_t until_ms,
                                     const char *reason, int64_t now_ms, hg_error *err);
/* The same, saying who decides: hg_store_user_set_standing is a person's decision (HG_STANDING_BY_REVIEWER); the
 * strike ladder sets standing with HG_STANDING_BY_LADDER, so that the user can be told the real cause. */
hg_status hg_store_user_set_standing_by(hg_store *store, const char *user, hg_standing standing, int64_t until_ms,
                                        const char *reason, hg_standing_source by, int64_t now_ms, hg_error *err);

/* Calls fn for each strike of the user still kept (retention deletes old ones), oldest first: when it was counted
 * and the audit record that is its evidence (0 for a strike a reviewer gave by hand without a record). fn non-zero
 * stops; it runs under the store's lock and must not call the store. HG_ERR_NOT_FOUND for an unknown user. */
typedef int (*hg_strike_fn)(void *ctx, int64_t time_ms, int64_t audit_seq);
hg_status hg_store_strike_list(hg_store *store, const char *user, hg_strike_fn fn, void *ctx, hg_error *err);

/* ---- the strike ladder ----------------------------------------------------------------------------------------- *
 * What blocked inputs do to an active user: when the run of blocked inputs reaches suspend_in_a_row, or the blocked
 * inputs of the UTC day reach suspend_per_day, the user is suspended for suspend_ms, unless that would be the user's
 * terminate_after-th suspension (suspensions so far + 1 >= terminate_after), in which case the account is terminated.
 * The thresholds are the caller's (the gateway copies them from its configuration: the store sits below the
 * configuration and does not read it); each is at least 1. */
typedef struct hg_strike_ladder {
  int64_t suspend_in_a_row; /* blocked inputs in a row that suspend */
  int64_t suspend_per_day;  /* blocked inputs in one UTC day that suspend */
  int64_t suspend_ms;       /* how long a suspension by the ladder lasts */
  int64_t terminate_after;  /* the ladder terminates instead when this would be the user's N-th suspension */
} hg_strike_ladder;

/* The standing the ladder gives a user after an input was recorded at now_ms: after is what hg_store_strike_record
 * returned for it, blocked what it was given. Returns after->standing (and *until_ms = after->until_ms) when the
 * ladder does not move the user: an allowed input, a user who is not active, counts below both thresholds; the
 * caller then changes nothing. Otherwise HG_STANDING_SUSPENDED with *until_ms = now_ms + suspend_ms, or
 * HG_STANDING_TERMINATED with *until_ms = 0, for the caller to set with HG_STANDING_BY_LADDER. until_ms may be
 * NULL; a NULL ladder or after moves nobody (HG_STANDING_ACTIVE). */
hg_standing hg_strike_ladder_decide(const hg_strike_ladder *ladder, const hg_user_standing *after, int blocked,
                                    int64_t now_ms, int64_t *until_ms);

#ifdef __cplusplus
}
#endif
#endif
