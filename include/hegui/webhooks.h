/* hegui/webhooks.h — the webhook outbox: notifications to the operator's own systems (overdue complaint tickets,
 * suspended users, minor-to-adult changes waiting for a reviewer, rejected identities), kept in the store from the
 * moment the event is decided until the receiver has taken them, so that nothing is lost when the process dies
 * before a notification is sent.
 *
 * One row per event and target (the configured webhook, by its index and URL). A row is pending until a 2xx answer
 * (delivered) or until its attempts run out (failed); between attempts it waits by the retry policy's exponential
 * schedule. Several gateways may share one store: a sender claims a row (a lease on it) before it sends, so two
 * gateways do not send the same row at the same time. The HTTP side (signing, sending) is the gateway's. */
#ifndef HEGUI_WEBHOOKS_H
#define HEGUI_WEBHOOKS_H

#include <stddef.h>
#include <stdint.h>

#include "hegui/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hg_store hg_store; /* the store's handle: hegui/store.h opens and closes it */

/* The events a webhook may subscribe to; a webhook's subscriptions are a bit mask of (1 << event). */
typedef enum hg_webhook_event {
  HG_WEBHOOK_COMPLAINT_OVERDUE = 0,   /* "complaint.overdue": an open ticket passed its time limit (once per ticket) */
  HG_WEBHOOK_USER_SUSPENDED = 1,      /* "user.suspended": suspended or terminated, by the strike ladder or a person */
  HG_WEBHOOK_USER_MINOR_TO_ADULT = 2, /* "user.minor_to_adult": a change from minor to adult waits for a reviewer */
  HG_WEBHOOK_IDENTITY_REJECTED = 3    /* "identity.rejected": by the verification provider or a reviewer */
} hg_webhook_event;
#define HG_WEBHOOK_EVENTS 4
#define HG_WEBHOOK_ALL_EVENTS ((1u << HG_WEBHOOK_EVENTS) - 1)

/* "complaint.overdue", ...; "unknown" for a number out of range */
const char *hg_webhook_event_name(hg_webhook_event event);
/* The event of a name, exactly as hg_webhook_event_name spells it; HG_ERR_INVALID otherwise (NULL included). */
hg_status hg_webhook_event_parse(const char *name, hg_webhook_event *out);

/* A delivery's state: pending (waiting for an attempt), delivered (a 2xx answer), failed (attempts ran out). */
typedef enum hg_webhook_state {
  HG_WEBHOOK_PENDING = 0,
  HG_WEBHOOK_DELIVERED = 1,
  HG_WEBHOOK_FAILED = 2
} hg_webhook_state;
const char *hg_webhook_state_name(hg_webhook_state state);
hg_status hg_webhook_state_parse(const char *name, hg_webhook_state *out);

/* ---- the retry schedule ---------------------------------------------------------------------------------------- *
 * After the n-th failed attempt (n = 1, 2, ...) the next one waits base_ms * 2^(n-1), at most cap_ms: 1 s, 2 s, 4 s
 * ... with base 1000. Once max_attempts attempts have failed the delivery is failed. The thresholds are the caller's
 * (the gateway copies them from webhooks[i] of its configuration; the store does not read it). */
typedef struct hg_webhook_retry {
  int64_t base_ms;       /* >= 1 */
  int64_t cap_ms;        /* >= base_ms */
  unsigned max_attempts; /* >= 1 */
} hg_webhook_retry;

/* The wait after the attempts_failed-th failed attempt (attempts_failed >= 1; 0 is taken as 1). */
int64_t hg_webhook_backoff_ms(const hg_webhook_retry *retry, unsigned attempts_failed);

/* ---- the outbox ----------------------------------------------------------------------------------------------- */

/* A target of an event: the webhook's index in the configuration and its URL (both kept with the row: a sender
 * sends a row only while that index still has that URL). */
typedef struct hg_webhook_target {
  unsigned index;
  const char *url;
} hg_webhook_target;

#define HG_WEBHOOK_PAYLOAD_MAX (64 * 1024) /* the event's data, JSON */
#define HG_WEBHOOK_URL_MAX 512

typedef struct hg_webhook_delivery {
  int64_t id;
  char event[32];               /* hg_webhook_event_name */
  int64_t target;               /* the webhook's index in the configuration */
  char url[HG_WEBHOOK_URL_MAX]; /* the URL it was enqueued for */
  const char *payload;          /* the event's data (a JSON object); valid only during the row callback */
  int64_t created_ms;           /* when the event was decided */
  int64_t attempts;             /* attempts made */
  int64_t next_attempt_ms;      /* pending: not before this time */
  char state[16];               /* hg_webhook_state_name */
  int64_t last_status;          /* the last attempt's HTTP status, 0 when none came */
  char last_error[256];         /* the last failed attempt's error, "" when none */
  int64_t delivered_ms;         /* delivered: when, else 0 */
} hg_webhook_delivery;
typedef int (*hg_webhook_fn)(void *ctx, const hg_webhook_delivery *d);

/* Enqueues one event for each of n targets, in one transaction, durable before HG_OK. payload_json is the event's
 * data (a JSON object, at most HG_WEBHOOK_PAYLOAD_MAX bytes). once_key (may be NULL) makes the event happen once per
 * target whatever the number of calls: a target that already has a row with this key gets no other (a complaint's
 * "complaint.overdue:42"). *added (may be NULL) is the number of rows added. Rows are due at once (next_attempt_ms =
 * now_ms). */
hg_status hg_store_webhook_enqueue(hg_store *store, hg_webhook_event event, const char *once_key,
                                   const hg_webhook_target *targets, size_t n, const char *payload_json, int64_t now_ms,
                                   size_t *added, hg_error *err);
/* The pending rows due at now_ms (next_attempt_ms <= now_ms), soonest first, at most limit. */
hg_status hg_store_webhook_due(hg_store *store, int64_t now_ms, int64_t limit, hg_webhook_fn fn, void *ctx,
                               hg_error *err);
/* The rows (of one state when state is not NULL), newest first, at most limit. */
hg_status hg_store_webhook_list(hg_store *store, const char *state, int64_t limit, hg_webhook_fn fn, void *ctx,
                                hg_error *err);
/* One row; HG_ERR_NOT_FOUND for an unknown id. */
hg_status hg_store_webhook_get(hg_store *store, int64_t id, hg_webhook_fn fn, void *ctx, hg_error *err);
/* The soonest next_attempt_ms of the pending rows, 0 when there are none. */
hg_status hg_store_webhook_next_due(hg_store *store, int64_t *next_ms, hg_error *err);
/* Claims a due row for one attempt: moves its next_attempt_ms to lease_until_ms, so that no other sender takes it
 * meanwhile (and a sender that dies with it lets it fall due again then). HG_ERR_CONFLICT when the row is not
 * pending or not due at now_ms (another sender has it). */
hg_status hg_store_webhook_claim(hg_store *store, int64_t id, int64_t now_ms, int64_t lease_until_ms, hg_error *err);
/* Records an attempt: delivered (ok), or failed with the HTTP status (0: none) and error; a failed attempt makes the
 * row wait by the retry schedule, or fail once retry->max_attempts attempts have failed. *after (may be NULL) gets
 * the state the row is in now. HG_ERR_CONFLICT when the row is not pending. */
hg_status hg_store_webhook_attempt(hg_store *store, int64_t id, const hg_webhook_retry *retry, int ok, int http_status,
                                   const char *error, int64_t now_ms, hg_webhook_state *after, hg_error *err);
/* Puts a failed row back in the queue for a new round of attempts (attempts 0, due at now_ms). HG_ERR_NOT_FOUND for
 * an unknown id, HG_ERR_CONFLICT when the row is not failed. */
hg_status hg_store_webhook_requeue(hg_store *store, int64_t id, int64_t now_ms, hg_error *err);

#ifdef __cplusplus
}
#endif
#endif
