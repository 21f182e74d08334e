/* hegui/store.h — the store behind the services: one handle, opened on a URL, that every service takes.
 *
 * The interface is backend-neutral: "sqlite:PATH" (or a plain path) opens the embedded SQLite backend in WAL mode;
 * a PostgreSQL backend will take "postgres://..." URLs. The SQL used stays portable (no SQLite-only syntax). A
 * store handle may be used from several threads: calls are serialised inside.
 *
 * Each service has its own header, all included here: keys.h (API keys), audit.h (the audit chain), review.h (the
 * review queue), complaints.h (complaint types, the moves a ticket may make, the tickets), takedowns.h (the stored
 * takedowns), standing.h (strikes, standing and the strike ladder), users.h (users, identity, usage counters),
 * quotas.h (usage quotas), dsar.h (data-subject requests), retention.h (the purge), webhooks.h (the webhook
 * outbox) and versions.h (the policy and lexicon versions). */
#ifndef HEGUI_STORE_H
#define HEGUI_STORE_H

#include "hegui/audit.h"
#include "hegui/complaints.h"
#include "hegui/dsar.h"
#include "hegui/keys.h"
#include "hegui/quotas.h"
#include "hegui/retention.h"
#include "hegui/review.h"
#include "hegui/standing.h"
#include "hegui/status.h"
#include "hegui/takedowns.h"
#include "hegui/users.h"
#include "hegui/versions.h"
#include "hegui/webhooks.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hg_store hg_store;

/* Opens (and creates or migrates) a store. For SQLite the file's directory must exist. */
hg_status hg_store_open(const char *url, hg_store **out, hg_error *err);
void hg_store_close(hg_store *store);

/* Checkpoints, for a process that writes all the time (backends without a write-ahead log: no-ops, 0, HG_OK).
 * By default a commit that takes the log past 1,000 pages (SQLite) also copies the log into the database, and its
 * caller waits for that. After hg_store_defer_checkpoints the handle's commits never do; the caller checkpoints
 * when it suits it, with hg_store_checkpoint (without waiting for readers or writers), looking at
 * hg_store_log_pages (the log's length after the handle's last commit) to know when. The log starts over only
 * after a checkpoint that copied all of it, so the checkpoint should run where no other commit of the handle
 * interleaves: the gateway's audit writer does it between two batches, once the answers of the first are sent. */
void hg_store_defer_checkpoints(hg_store *store);
int hg_store_log_pages(hg_store *store);
hg_status hg_store_checkpoint(hg_store *store, hg_error *err);

#ifdef __cplusplus
}
#endif
#endif
