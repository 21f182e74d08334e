/* framing.[ch] — what the gateway demands of a client's bytes before a handler sees a request: strict framing (the
 * reader of httpguard.c over every byte, so that a head a front proxy could read otherwise is a 400) and total
 * deadlines for a request's head and body (limits.header_timeout_ms, limits.body_timeout_ms from their first
 * byte; evhttp's own timeout restarts on every byte).
 *
 * How it sits beside evhttp (libevent 2.1 has no hook per request and no filter it can take): the worker's evhttp
 * gets its bufferevents from framing (evhttp_set_bevcb); framing holds a reference on each (so the memory stays
 * valid after evhttp frees it, and the socket closes when framing lets go) and watches its input buffer with an
 * evbuffer callback, which runs before evhttp reads the bytes. There it feeds the strict reader, turns NUL bytes of
 * a head into 0x01 (so that evhttp, which would cut the value at the NUL, keeps a control character the reader
 * has already refused), and moves the deadline. A refused request is answered 400 when evhttp dispatches it
 * (framing_refused, first thing in the router) and its connection closed; a request past its deadline gets a 408
 * written straight to the socket and its connection failed as an EOF (framing_tick, from the worker's tick).
 *
 * Life cycle: framing_attach(w) after evhttp_new; framing_tick(w) every tick; framing_detach(w) after evhttp_free.
 * All on the worker's thread. */
#ifndef HG_GATEWAY_FRAMING_H
#define HG_GATEWAY_FRAMING_H

#include "gateway.h"

typedef struct framing framing;

int framing_attach(worker *w);
void framing_detach(worker *w);
void framing_tick(worker *w);
/* Called first by the router: 1 when the request's bytes were refused (a 400 was sent, the connection closes). */
int framing_refused(worker *w, struct evhttp_request *req);

#endif
