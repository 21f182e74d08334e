/* hegui/takedowns.h — the store's takedowns (Art. 15): texts reported and upheld, or taken down by a reviewer, each
 * kept until it expires, and a version every gateway polls to rebuild its fingerprints when takedowns change. The
 * fingerprints that find a takedown in an answer are hegui/takedown.h. */
#ifndef HEGUI_TAKEDOWNS_H
#define HEGUI_TAKEDOWNS_H

#include <stdint.h>

#include "hegui/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hg_store hg_store; /* the store's handle: hegui/store.h opens and closes it */

/* Adds a takedown text (from an upheld complaint, complaint_id > 0, or a reviewer, 0) kept until expires_ms (0 =
 * never). */
hg_status hg_store_takedown_add(hg_store *store, const char *text, int64_t complaint_id, int64_t created_ms,
                                int64_t expires_ms, int64_t *id, hg_error *err);
/* Calls fn for each takedown not expired at now_ms. */
typedef int (*hg_takedown_fn)(void *ctx, int64_t id, const char *text, int64_t created_ms, int64_t expires_ms);
hg_status hg_store_takedown_each(hg_store *store, int64_t now_ms, hg_takedown_fn fn, void *ctx, hg_error *err);
/* Withdraws a takedown (a reviewer found it wrong, or the complaint behind it was reversed): it stops matching at
 * once (the version changes) and stays listed with who withdrew it, when and why. HG_ERR_NOT_FOUND for an unknown
 * id, HG_ERR_CONFLICT for one already withdrawn. by and reason are required (reason: what the record says). */
hg_status hg_store_takedown_withdraw(hg_store *store, int64_t id, const char *by, const char *reason, int64_t now_ms,
                                     hg_error *err);
/* Every takedown kept, in force or not, newest first, for people: withdrawn ones carry withdrawn_ms > 0 with by and
 * reason; expired ones have expires_ms <= now. The strings are valid only during the call of fn (under the lock). */
typedef struct hg_takedown_info {
  int64_t id, complaint_id, created_ms, expires_ms, withdrawn_ms;
  const char *text, *withdrawn_by, *withdraw_reason; /* the last two NULL unless withdrawn */
} hg_takedown_info;
typedef int (*hg_takedown_info_fn)(void *ctx, const hg_takedown_info *t);
hg_status hg_store_takedown_list(hg_store *store, hg_takedown_info_fn fn, void *ctx, hg_error *err);
/* A number that changes whenever takedowns are added or removed (for cheap polling by many gateways). A takedown
 * reaching expires_ms does not change it: rebuild on a timer too when expiry must take effect promptly. */
hg_status hg_store_takedown_version(hg_store *store, int64_t *version, hg_error *err);

#ifdef __cplusplus
}
#endif
#endif
