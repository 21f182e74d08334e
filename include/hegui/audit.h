/* hegui/audit.h — the audit chain: every request leaves a record linked to the one before by SHA-256, so that a
 * changed, removed or reordered record is found by hg_store_audit_verify; appends one at a time or in a group
 * commit, a walk over the records, and the rows exactly as stored for exports that let anyone recompute the chain
 * (the serialization the hash covers: docs/store.md). */
#ifndef HEGUI_AUDIT_H
#define HEGUI_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "hegui/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hg_store hg_store; /* the store's handle: hegui/store.h opens and closes it */

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

#ifdef __cplusplus
}
#endif
#endif
