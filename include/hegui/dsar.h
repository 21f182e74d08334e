/* hegui/dsar.h — data-subject requests (PIPL Art. 45, 47): everything the store holds about a user, exported as one
 * JSON object, and the erasure of a user, which keeps the audit chain whole and leaves a receipt in it. */
#ifndef HEGUI_DSAR_H
#define HEGUI_DSAR_H

#include <stdint.h>
#include <stdio.h>

#include "hegui/audit.h"
#include "hegui/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hg_store hg_store; /* the store's handle: hegui/store.h opens and closes it */

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

#ifdef __cplusplus
}
#endif
#endif
