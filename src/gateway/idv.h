/* idv.h — the call to the identity-verification provider: one blocking HTTP POST (libcurl easy interface), made
 * from a background thread of the gateway, never from an event loop. The protocol itself (request body, reading
 * the answer) is the library's, in hegui/identity.h. */
#ifndef HG_GATEWAY_IDV_H
#define HG_GATEWAY_IDV_H

#include "hegui/identity.h"

/* Sends the fields to the provider at c->url and reads its answer with hg_idv_parse_response, within c->timeout_ms
 * for the whole call. A transport failure (no connection, timeout, TLS) is HG_ERR_IO with curl's message, *out =
 * HG_IDV_UNDECIDED and reason the same message: the caller keeps the user pending and may try again. An answer
 * larger than HG_IDV_RESPONSE_MAX is HG_ERR_LIMIT. Thread-safe, given that curl_global_init has run (server_run does
 * it before any worker starts; a command-line caller does it itself). reason (256 bytes) may be NULL. */
hg_status idv_verify(const hg_idv_config *c, const hg_identity_fields *f, hg_idv_result *out, char reason[256],
                     hg_error *err);

#endif
