/* hegui/versions.h — the store's versions of the policy and the lexicon: every upload is kept as a row with its
 * author, time, content hash, size and content, and a state that says what it is now:
 *
 *   pending ──approve──► active ──a newer version activates──► superseded
 *      │                   └──── a rollback activates ────────► rolled_back
 *      └──reject──► rejected
 *
 * At most one version of each kind is active (the store keeps that invariant inside one write transaction: the
 * activation of one version and the retirement of the one before it are one commit). A rollback is a new version
 * whose content is an earlier one's (rollback_of names it), so the history only ever grows. The gateway layers the
 * active policy version over its configuration file and uses the active lexicon version instead of the configured
 * lexicon; the store only keeps rows and enforces the moves, never reads the content. */
#ifndef HEGUI_VERSIONS_H
#define HEGUI_VERSIONS_H

#include <stddef.h>
#include <stdint.h>

#include "hegui/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hg_store hg_store; /* the store's handle: hegui/store.h opens and closes it */

typedef enum hg_version_kind { HG_VERSION_POLICY, HG_VERSION_LEXICON, HG_VERSION_KIND_COUNT } hg_version_kind;
typedef enum hg_version_state {
  HG_VERSION_PENDING,
  HG_VERSION_ACTIVE,
  HG_VERSION_SUPERSEDED,
  HG_VERSION_REJECTED,
  HG_VERSION_ROLLED_BACK,
  HG_VERSION_STATE_COUNT
} hg_version_state;

const char *hg_version_kind_name(hg_version_kind kind);     /* "policy", "lexicon" */
hg_status hg_version_kind_parse(const char *name, hg_version_kind *out);
const char *hg_version_state_name(hg_version_state state); /* "pending", "active", ... */
hg_status hg_version_state_parse(const char *name, hg_version_state *out);

/* A version (pointers valid only during the callback that receives it). */
typedef struct hg_version_info {
  int64_t id;
  hg_version_kind kind;
  hg_version_state state;
  int64_t created_ms;
  int64_t activated_ms;  /* when it became active; 0 if it never was */
  int64_t ended_ms;      /* when it was rejected, superseded or rolled back; 0 while pending or active */
  const char *author;    /* who uploaded it: "NAME" of the admin key (an imported upload: "system:import") */
  int64_t author_key_id; /* the key it came with; 0 when none (no auth, an import) */
  const char *approver;  /* who approved or rejected it; NULL when nobody did (applied at once, or still pending) */
  const char *note;      /* the rejecting admin's reason; NULL when none */
  int64_t rollback_of;   /* the version whose content this one brings back; 0 for an upload */
  char sha256[65];       /* of the content */
  int64_t size;          /* bytes of the content */
  const void *content;   /* the content itself: only from hg_store_version_get and _active, else NULL */
} hg_version_info;
typedef int (*hg_version_fn)(void *ctx, const hg_version_info *v);

/* The largest content kept (the gateway's upload limit is lower). */
#define HG_VERSION_CONTENT_MAX ((size_t)64 << 20)

/* Adds a version of content (len bytes). activate 0: it waits as pending; 1: it becomes the active version of its
 * kind at once, and the one active before becomes superseded (rolled_back when this one is a rollback, rollback_of
 * > 0). rollback_of must name an earlier version of the same kind that was once active (HG_ERR_NOT_FOUND,
 * HG_ERR_INVALID otherwise). *id gets the new version's id. */
hg_status hg_store_version_add(hg_store *store, hg_version_kind kind, const void *content, size_t len,
                               const char *author, int64_t author_key_id, int64_t rollback_of, int activate,
                               int64_t now_ms, int64_t *id, hg_error *err);
/* Approves a pending version: it becomes active, and the one active before becomes superseded (rolled_back for a
 * rollback). HG_ERR_NOT_FOUND for no such version, HG_ERR_CONFLICT when it is not pending (decided meanwhile). The
 * store does not judge who approves: the caller refuses an approver who is the author. */
hg_status hg_store_version_approve(hg_store *store, int64_t id, const char *approver, int64_t now_ms, hg_error *err);
/* Rejects a pending version (note may be NULL). HG_ERR_NOT_FOUND, HG_ERR_CONFLICT as for approve. */
hg_status hg_store_version_reject(hg_store *store, int64_t id, const char *by, const char *note, int64_t now_ms,
                                  hg_error *err);
/* Retires the active version of a kind (it becomes superseded): the configured one is in force again. *id gets the
 * retired version's id, 0 when none was active (not an error). */
hg_status hg_store_version_deactivate(hg_store *store, hg_version_kind kind, int64_t now_ms, int64_t *id,
                                      hg_error *err);
/* One version with its content (fn called once); HG_ERR_NOT_FOUND when there is none. */
hg_status hg_store_version_get(hg_store *store, int64_t id, hg_version_fn fn, void *ctx, hg_error *err);
/* The active version of a kind with its content; HG_ERR_NOT_FOUND when none is active. */
hg_status hg_store_version_active(hg_store *store, hg_version_kind kind, hg_version_fn fn, void *ctx, hg_error *err);
/* Versions without their content, newest first, at most limit (<= 0: 100): of one kind (kind <
 * HG_VERSION_KIND_COUNT) or all, in one state (state < HG_VERSION_STATE_COUNT) or all. fn non-zero stops. fn runs
 * under the store's lock: it must not call back into the store. */
hg_status hg_store_version_list(hg_store *store, unsigned kind, unsigned state, int64_t limit, hg_version_fn fn,
                                void *ctx, hg_error *err);

#ifdef __cplusplus
}
#endif
#endif
