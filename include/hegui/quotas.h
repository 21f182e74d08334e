/* hegui/quotas.h — usage quotas (Art. 10; abuse).
 *
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
#ifndef HEGUI_QUOTAS_H
#define HEGUI_QUOTAS_H

#include <stddef.h>
#include <stdint.h>

#include "hegui/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hg_store hg_store; /* the store's handle: hegui/store.h opens and closes it */

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

#ifdef __cplusplus
}
#endif
#endif
