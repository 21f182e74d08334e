/* admit.h — admission, the first stage of a request that reaches the model: is this key valid, and may its user be
 * served now? The key (unknown, revoked, expired), the user's standing (suspended, terminated), real-name status when
 * the profile asks for it, minors' closed hours and daily limits, a reminder due, and the usage quotas.
 *
 * The stage knows no HTTP: an admit_ctx in (the stores, the configuration, the time), a decision out. A refusal is
 * an admit_refusal that says everything the client is to get (status, OpenAI error type and code, message,
 * Retry-After); the gateway sends it (admission_refused in users.c) and counts its reason. So the rules are tested
 * in C against a real store (tests/unit/test_admit.c), and the router (the key), chat.c and media.c (the user and
 * the quota) all use this one copy of them. */
#ifndef HG_GATEWAY_ADMIT_H
#define HG_GATEWAY_ADMIT_H

#include <stdint.h>

#include "hegui/config.h"
#include "hegui/keys.h"
#include "hegui/store.h"

/* Why a completion request was refused before moderation (the metric hegui_admission_refusals_total, metrics.c). */
enum refusal_reason { REFUSED_STANDING, REFUSED_REALNAME, REFUSED_MINORS_CLOSED, REFUSED_MINORS_LIMIT, REFUSED_STORE };

typedef struct admit_ctx {
  hg_store *read;       /* keys, users' standing and usage: a worker's read connection (or the store) */
  hg_store *write;      /* quota counters and usage */
  const hg_config *cfg; /* the live configuration */
  int auth_required;    /* the gateway's auth.required (its start configuration) */
  int64_t now_ms;       /* wall clock (the test clock too) */
} admit_ctx;

/* A refusal as the client gets it: send_error(status, type, message, code), with Retry-After when retry_after_s >
 * 0. reason is a refusal_reason to count, or -1; log, when not empty, is a line for the error log. */
typedef struct admit_refusal {
  int status; /* 0: admitted */
  int reason;
  const char *type;
  const char *code; /* NULL: none */
  int64_t retry_after_s;
  char message[600];
  char log[400];
} admit_refusal;

/* What admission found about a user who may be served. */
typedef struct admission {
  int minor;          /* the user is treated as a minor */
  int remind_minutes; /* > 0: an over-reliance reminder opens this answer (minutes of continuous use) */
  int counted;        /* usage is counted for this user (minors; everyone when reminders are for all) */
  int64_t now, day, gap_ms;
} admission;

/* The key of an Authorization header value (NULL: none). Without auth.required a request without one is
 * "anonymous"; one with a header is still checked. 0 with *key filled, or the refusal's status (401, 503). */
int admit_key(const admit_ctx *ax, const char *authorization, hg_key_info *key, admit_refusal *out);

/* The refusal of a user whose standing is not active (403), or 0. */
int admit_standing(const hg_user_standing *st, admit_refusal *out);

/* Everything checked about a user before a completion request: standing, real-name status when the profile asks
 * for it, minors' closed hours and daily limits, and whether a reminder is due (adm). 0 when the request may go on,
 * else the refusal's status (403, 429, 503). Counts nothing: admit_count does, once the request is valid. */
int admit_user(const admit_ctx *ax, const hg_key_info *key, admission *adm, admit_refusal *out);

/* Usage limits per user and per key (quota.user, quota.key), counted in the store, so every gateway on it enforces
 * one limit: the request is counted when admitted. 0, 429 (with Retry-After) when a limit is reached, 503 when the
 * store could not be asked (quotas fail closed). Without limits configured it touches nothing. */
int admit_quota(const admit_ctx *ax, const hg_key_info *key, admit_refusal *out);

/* The stage: admit_user, then admit_quota. */
int admit_request(const admit_ctx *ax, const hg_key_info *key, admission *adm, admit_refusal *out);

/* Counts an admitted, valid request in the user's usage. 0, or 503. A reminder is noted as given only when an
 * answer carries it (hg_store_usage_reminded from chat.c). */
int admit_count(const admit_ctx *ax, const hg_key_info *key, const admission *adm, admit_refusal *out);

/* Tokens the model reported, counted against the token quotas (nothing without token limits). A failure is in err:
 * the answer has gone out, and the next admission fails closed if the store is still down. */
hg_status admit_tokens(const admit_ctx *ax, const char *user, int64_t key_id, uint64_t tokens, hg_error *err);

#endif
