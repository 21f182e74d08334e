/* fetch.[ch] — blocking HTTP calls for the media routes, made on their work thread (offload.h), never on an event
 * loop: the call to the upstream with a request body of any type, and the fetch of an image an upstream answered
 * with a URL.
 *
 * A URL answer is fetched only under these rules, so that the gateway cannot be used to reach inside the network:
 * http or https; the host on media.fetch_hosts (none configured: the upstream's own host); at most media.max_bytes,
 * within media.fetch_timeout_ms; a redirect is followed only to an allowed host on the same scheme, at most three
 * times. The URL is parsed once, by libcurl's URL parser, and that parse is what is both checked and fetched.
 *
 * Every call takes stop (may be NULL): when it reads 2 (the gateway stopping at once, gateway.h's stopping) the
 * transfer is abandoned within a second, so that a slow upstream cannot hold a stopping gateway for its timeouts. */
#ifndef HG_GATEWAY_FETCH_H
#define HG_GATEWAY_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include <stdatomic.h>

#include "hegui/config.h"

typedef struct fetch_result {
  long status; /* HTTP status; 0 when no answer came */
  uint8_t *body;
  size_t len;
  char content_type[128];
  char error[256]; /* why, when the call failed or was refused ("" otherwise) */
} fetch_result;

void fetch_result_free(fetch_result *r);

/* POST to the upstream's path (upstream.url + path) with the body given as it is, its Content-Type given; the answer
 * is kept up to max_answer bytes (more is an error). 0 when an HTTP answer came (any status), -1 with error set. */
int fetch_upstream(const hg_config *cfg, const char *path, const char *content_type, const void *body, size_t len,
                   size_t max_answer, const atomic_int *stop, fetch_result *out);

/* POST a JSON body to a URL of the operator's configuration (a guard model), with its API key ("" for none), a
 * connect timeout and a limit on the whole call. 0 when an HTTP answer came, -1 with error set. */
int fetch_post_url(const char *url, const char *api_key, unsigned connect_timeout_ms, unsigned timeout_ms,
                   const void *body, size_t len, size_t max_answer, const atomic_int *stop, fetch_result *out);

/* GET an image URL under the rules above. 0 with a 2xx answer in out, -1 with error set (refused or failed). */
int fetch_allowed_url(const hg_config *cfg, const char *url, const atomic_int *stop, fetch_result *out);

/* The bytes of an image named by a URL: a data: URL (base64) decoded, an http(s) URL fetched under the rules above.
 * 0 with *bytes (malloc-ed), or -1 with why. */
int fetch_image_url(const hg_config *cfg, const char *url, const atomic_int *stop, uint8_t **bytes, size_t *len,
                    char *why, size_t cap);

/* 1 when host may be fetched from under cfg (the rules above), 0 otherwise. */
int fetch_host_allowed(const hg_config *cfg, const char *host);

#endif
