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
#include "hegui/webhooks.h"
#include "hegui/versions.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hg_store hg_store;

/* Opens (and creates or migrates) a store. For SQLite the file's directory must exist. */
hg_status hg_store_open(const char *url, hg_store **out, hg_error *err);
void hg_store_close(hg_store *store);

#ifdef __cplusplus
}
#endif
#endif
