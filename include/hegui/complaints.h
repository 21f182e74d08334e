/* hegui/complaints.h — complaints (Art. 13 / Interim Art. 15): the complaint types and a ticket's statuses with the
 * one table of moves between them (the store refuses any other move, the gateway asks the same table before it acts),
 * and the tickets themselves: added durably, read, moved, listed (overdue ones too). */
#ifndef HEGUI_COMPLAINTS_H
#define HEGUI_COMPLAINTS_H

#include <stddef.h>
#include <stdint.h>

#include "hegui/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hg_store hg_store; /* the store's handle: hegui/store.h opens and closes it */

/* The complaint types, in the order of the configuration's time limits: a type's number is also the index of its
 * limit in hg_config.complaint_due_hours (the store sits below the configuration and does not read it; the
 * gateway looks the limit up by this number). */
typedef enum hg_complaint_type {
  HG_COMPLAINT_PROHIBITED_CONTENT = 0,
  HG_COMPLAINT_IP_INFRINGEMENT = 1,
  HG_COMPLAINT_PRIVACY = 2,
  HG_COMPLAINT_PERSONAL_INFO = 3, /* correction or deletion of personal information */
  HG_COMPLAINT_OTHER = 4
} hg_complaint_type;
#define HG_COMPLAINT_TYPES 5

/* "prohibited_content", "ip_infringement", "privacy", "personal_info", "other"; "unknown" for a number out of range */
const char *hg_complaint_type_name(hg_complaint_type type);
/* The type of a name, exactly as hg_complaint_type_name spells it; HG_ERR_INVALID otherwise (NULL included). */
hg_status hg_complaint_type_parse(const char *name, hg_complaint_type *out);
/* Writes the names, in order and separated by ", ", for messages that list them; truncated to fit cap. */
void hg_complaint_type_list(char *buf, size_t cap);

/* A ticket's status. */
typedef enum hg_complaint_status {
  HG_COMPLAINT_RECEIVED = 0,
  HG_COMPLAINT_IN_REVIEW = 1,
  HG_COMPLAINT_UPHELD = 2,
  HG_COMPLAINT_REJECTED = 3,
  HG_COMPLAINT_CLOSED = 4
} hg_complaint_status;
#define HG_COMPLAINT_STATUSES 5

/* "received", "in_review", "upheld", "rejected", "closed"; "unknown" for a number out of range */
const char *hg_complaint_status_name(hg_complaint_status status);
hg_status hg_complaint_status_parse(const char *name, hg_complaint_status *out); /* HG_ERR_INVALID for no status */

/* The moves a ticket may make, the one table both the store and the gateway ask: received -> in_review -> upheld |
 * rejected -> closed, and received -> upheld | rejected; closed is final. 1 when a ticket in status from may move to
 * status to, else 0 (an unknown name, or a move to the same status, included). */
int hg_complaint_move_allowed(const char *from, const char *to);
/* Writes the statuses from which a ticket may move into status to, in order, as "received or in_review" ("a, b or
 * c" for three), for messages; "" when there are none; truncated to fit cap. */
void hg_complaint_moves_into(const char *to, char *buf, size_t cap);

typedef struct hg_complaint {
  int64_t id;
  char type[32];   /* hg_complaint_type_name */
  char status[16]; /* hg_complaint_status_name */
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

/* A page of tickets, newest first (by id: ids grow with arrival), filtered. Every filter is optional: status and
 * type are names as hg_complaint_status_name / hg_complaint_type_name spell them (NULL = any; an unknown name is
 * HG_ERR_INVALID), channel likewise (web, phone, email, letter, in_person), overdue keeps the open tickets
 * (received, in_review) past due at now_ms, before_id > 0 starts after that ticket (the cursor of the previous
 * page). limit is 1..HG_COMPLAINT_PAGE_MAX. *next_before_id is the cursor of the next page: the last id listed when
 * more tickets match after it, else 0. */
#define HG_COMPLAINT_PAGE_MAX 500
typedef struct hg_complaint_query {
  const char *status, *type, *channel;
  int overdue;
  int64_t before_id;
  int64_t limit;
} hg_complaint_query;
hg_status hg_store_complaint_query(hg_store *store, const hg_complaint_query *q, int64_t now_ms, hg_complaint_fn fn,
                                   void *ctx, int64_t *next_before_id, hg_error *err);

/* ---- the complainant's own lookup ------------------------------------------------------------------------------ *
 * A complainant follows their ticket with its number and a secret given once, at intake: 24 random bytes as 32
 * base64url characters, of which the store keeps only SHA-256 (like API keys). */
#define HG_COMPLAINT_SECRET_MAX 40 /* bytes of a secret as printed, NUL included */
/* Gives the ticket a new secret, written to secret_out (replacing any earlier one: staff may issue one to a
 * complainant who came by phone or letter). HG_ERR_NOT_FOUND for an unknown id. */
hg_status hg_store_complaint_new_secret(hg_store *store, int64_t id, char secret_out[HG_COMPLAINT_SECRET_MAX],
                                        hg_error *err);
/* The ticket, when secret is the ticket's secret (compared in constant time). HG_ERR_NOT_FOUND alike for an unknown
 * id, a ticket without a secret and a wrong secret, so that the answer tells a guesser nothing. */
hg_status hg_store_complaint_lookup(hg_store *store, int64_t id, const char *secret, hg_complaint *out,
                                    hg_error *err);

#ifdef __cplusplus
}
#endif
#endif
