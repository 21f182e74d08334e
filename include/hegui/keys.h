/* hegui/keys.h — API keys: made from 32 random bytes, shown once and kept only as SHA-256; each names a user (created
 * if new), a role and an optional expiry. A presented key is found by its hash; a revoked key stays findable, so a
 * caller can tell "revoked" from "unknown". */
#ifndef HEGUI_KEYS_H
#define HEGUI_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "hegui/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hg_store hg_store; /* the store's handle: hegui/store.h opens and closes it */

typedef enum hg_role { HG_ROLE_USER = 0, HG_ROLE_REVIEWER = 1, HG_ROLE_ADMIN = 2, HG_ROLE_AUDITOR = 3 } hg_role;
const char *hg_role_name(hg_role role);
hg_status hg_role_parse(const char *name, hg_role *out);

#define HG_KEY_MAX 64 /* bytes of a key as printed, NUL included */

/* Creates a key for a user (created if new) with a role; writes the key ("hg-" + 43 base64url characters of 32
 * random bytes) to key_out. Only SHA-256 of the key is stored. */
hg_status hg_store_key_create(hg_store *store, const char *user, hg_role role, char key_out[HG_KEY_MAX], hg_error *err);

/* Same with an expiry: expires_ms > 0 is the Unix time in ms from which the key is refused (0 = never). */
hg_status hg_store_key_create_ex(hg_store *store, const char *user, hg_role role, int64_t expires_ms,
                                 char key_out[HG_KEY_MAX], hg_error *err);

typedef struct hg_key_info {
  int64_t key_id;
  char user[128];
  hg_role role;
  int revoked;
  int64_t created_ms;
  int64_t expires_ms; /* 0 = never; the caller compares with its clock (the store does not refuse expired keys) */
} hg_key_info;

/* Looks a presented key up. HG_ERR_NOT_FOUND for an unknown key; a revoked key is found with revoked = 1. */
hg_status hg_store_key_lookup(hg_store *store, const char *key, size_t len, hg_key_info *out, hg_error *err);
hg_status hg_store_key_revoke(hg_store *store, int64_t key_id, hg_error *err);
/* Revokes, in one transaction, every key not yet revoked that matches all the given conditions: of user (NULL =
 * any), of role (role_set = 0: any), created before created_before_ms (0 = any time), among ids[0..n_ids) (n_ids 0 =
 * any id). At least one condition is required (revoking every key is not a bulk operation but a mistake), and
 * except_key_id (> 0) is never revoked: the caller's own key, so that an administrator does not lock themself out
 * by accident. *revoked gets the number revoked; ids_out (may be NULL) gets up to ids_cap of their ids. */
typedef struct hg_key_match {
  const char *user;
  int role_set;
  hg_role role;
  int64_t created_before_ms;
  const int64_t *ids;
  size_t n_ids;
  int64_t except_key_id;
} hg_key_match;
hg_status hg_store_key_revoke_matching(hg_store *store, const hg_key_match *m, int64_t *revoked, int64_t *ids_out,
                                       size_t ids_cap, hg_error *err);
/* Calls fn for each key (of one user, or of all users when user is NULL), oldest first; key_hash is never given.
 * HG_ERR_NOT_FOUND when user is given and unknown. fn runs under the store's lock and must not call the store. */
typedef int (*hg_key_fn)(void *ctx, const hg_key_info *key);
hg_status hg_store_key_list(hg_store *store, const char *user, hg_key_fn fn, void *ctx, hg_error *err);

#ifdef __cplusplus
}
#endif
#endif
