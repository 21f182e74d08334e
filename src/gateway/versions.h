/* versions.h — policy and lexicon uploads as versions (versions.c): what admin_ops.c and server.c call. */
#ifndef HG_GATEWAY_VERSIONS_H
#define HG_GATEWAY_VERSIONS_H

#include "gateway.h"
#include "offload.h"

/* At start, once the store is open: the active versions become the gateway's layers (an upload a gateway from
 * before versions left in DATA_DIR/lexicon-upload.tsv is imported as the first lexicon version), and the active
 * policy version is parsed over gw->cfg as a restart would have read it from the file: what the command line set
 * stays, and so do data_dir and the store, which found the version. 0, or -1 with msg. */
int versions_load(gateway *gw, char *msg, size_t cap);

/* The active versions as the store has them now (another gateway on the same store may have changed them): what a
 * reload lays over the file. 0, or -1 with msg. */
int versions_read_active(gateway *gw, layer **policy, layer **lexicon, char *msg, size_t cap);

/* An upload (PUT /admin/policy, PUT /admin/lexicon) of kind as a new version: checked as it would be in force
 * (422 when it cannot be), stored, then applied at once (200) or, with versions.require_approval, left pending for
 * another admin (202). The caller holds admin_lock. */
void version_upload(gateway *gw, reply *out, const hg_key_info *key, hg_version_kind kind, const char *text,
                    size_t len);
/* DELETE /admin/lexicon: the active lexicon version retired, the configured lexicon in force again. The caller holds
 * admin_lock. */
void version_lexicon_withdraw(gateway *gw, reply *out, const hg_key_info *key);

#endif
