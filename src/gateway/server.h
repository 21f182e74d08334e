/* server.h — starting and stopping the gateway (used by the `hegui serve` command). */
#ifndef HG_SERVER_H
#define HG_SERVER_H

#include "gateway.h"

/* Opens the lexicon, store, label and pseudonym keys named by gw->cfg (creating data_dir and keys if needed). */
int gateway_open(gateway *gw, char *msg, size_t cap);
void gateway_close(gateway *gw);
/* Binds, starts the workers, calls ready() once listening, and returns after a graceful shutdown. */
int server_run(gateway *gw, void (*ready)(gateway *gw, void *ctx), void *ctx, char *msg, size_t cap);
hg_status server_load_lexicon(const hg_config *cfg, hg_lexicon **out, hg_error *err);

#endif
