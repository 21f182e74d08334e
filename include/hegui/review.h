/* hegui/review.h — the review queue (a person in the loop): items for people to look at, every answer whose verdict
 * is review and a sample of allowed answers (the manual checks of a security assessment). Each names the response
 * (its audit record has the same response_id), the user's pseudonym, the verdict and the findings; a reviewer
 * decides allow or block with a note. */
#ifndef HEGUI_REVIEW_H
#define HEGUI_REVIEW_H

#include <stdint.h>

#include "hegui/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hg_store hg_store; /* the store's handle: hegui/store.h opens and closes it */

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

#ifdef __cplusplus
}
#endif
#endif
