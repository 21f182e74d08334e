/* hegui/retention.h — retention (Cybersecurity Law Art. 21): how long what is kept, and the purge that erases old
 * audit text and finished complaints' personal data, deletes expired takedowns and old strikes, and leaves a receipt
 * in the audit chain. Audit records themselves are never deleted. */
#ifndef HEGUI_RETENTION_H
#define HEGUI_RETENTION_H

#include <stdint.h>

#include "hegui/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hg_store hg_store; /* the store's handle: hegui/store.h opens and closes it */

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
