/* fetch.c — blocking calls to the upstream and to allowed image hosts (fetch.h has the contract and the rules). */
#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fetch.h"

#define MAX_REDIRECTS 3

void fetch_result_free(fetch_result *r) {
  free(r->body);
  r->body = NULL;
  r->len = 0;
}

typedef struct sink {
  fetch_result *r;
  size_t cap, max;
  int over;
} sink;

static size_t on_body(char *p, size_t size, size_t n, void *arg) {
  sink *s = arg;
  size_t add = size * n;
  if (s->r->len + add > s->max) {
    s->over = 1;
    return 0; /* curl stops with CURLE_WRITE_ERROR */
  }
  if (s->r->len + add > s->cap) {
    size_t cap = s->cap ? s->cap : 65536;
    while (cap < s->r->len + add)
      cap *= 2;
    uint8_t *b = realloc(s->r->body, cap);
    if (!b) return 0;
    s->r->body = b;
    s->cap = cap;
  }
  memcpy(s->r->body + s->r->len, p, add);
  s->r->len += add;
  return add;
}

static void fail(fetch_result *r, const char *fmt, const char *a) { snprintf(r->error, sizeof r->error, fmt, a); }

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un) {
  (void)dt, (void)dn, (void)ut, (void)un;
  const atomic_int *stop = arg;
  return stop && atomic_load(stop) == 2; /* nonzero aborts the transfer */
}

/* One transfer on a prepared handle: body into out (capped), status and type. 0 or -1 with error. */
static int perform(CURL *e, size_t max, const atomic_int *stop, fetch_result *out) {
  sink s = {out, 0, max, 0};
  char errbuf[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &s);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  if (stop) {
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, (void *)stop);
  }
  CURLcode rc = curl_easy_perform(e);
  if (rc == CURLE_ABORTED_BY_CALLBACK) {
    snprintf(out->error, sizeof out->error, "the gateway is stopping");
    return -1;
  }
  if (s.over) {
    snprintf(out->error, sizeof out->error, "the answer is longer than %zu bytes", max);
    return -1;
  }
  if (rc != CURLE_OK) {
    snprintf(out->error, sizeof out->error, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    return -1;
  }
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &out->status);
  char *ct = NULL;
  if (curl_easy_getinfo(e, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
    snprintf(out->content_type, sizeof out->content_type, "%s", ct);
  return 0;
}

int fetch_upstream(const hg_config *cfg, const char *path, const char *content_type, const void *body, size_t len,
                   size_t max_answer, const atomic_int *stop, fetch_result *out) {
  memset(out, 0, sizeof *out);
  CURL *e = curl_easy_init();
  if (!e) return fail(out, "%s", "curl could not start"), -1;
  char url[1024], ct[300], auth[300];
  const char *base = cfg->upstream_url;
  size_t bl = strlen(base);
  snprintf(url, sizeof url, "%.*s%s", (int)(bl && base[bl - 1] == '/' ? bl - 1 : bl), base, path);
  snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
  struct curl_slist *h = curl_slist_append(NULL, ct);
  h = curl_slist_append(h, "Expect:");
  if (cfg->upstream_api_key[0]) {
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", cfg->upstream_api_key);
    h = curl_slist_append(h, auth);
  }
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->connect_timeout_ms);
  /* an image takes its time: the first byte within first_byte_timeout, then no silence longer than idle_timeout */
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(cfg->first_byte_timeout_ms + cfg->idle_timeout_ms));
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)((cfg->idle_timeout_ms + 999) / 1000));
  int r = perform(e, max_answer, stop, out);
  curl_slist_free_all(h);
  curl_easy_cleanup(e);
  return r;
}

int fetch_post_url(const char *url, const char *api_key, unsigned connect_timeout_ms, unsigned timeout_ms,
                   const void *body, size_t len, size_t max_answer, const atomic_int *stop, fetch_result *out) {
  memset(out, 0, sizeof *out);
  CURL *e = curl_easy_init();
  if (!e) return fail(out, "%s", "curl could not start"), -1;
  char auth[300];
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
  h = curl_slist_append(h, "Expect:");
  if (api_key && api_key[0]) {
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", api_key);
    h = curl_slist_append(h, auth);
  }
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)connect_timeout_ms);
  if (timeout_ms) curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
  int r = perform(e, max_answer, stop, out);
  if (r && strstr(out->error, "imed out")) snprintf(out->error, sizeof out->error, "timed out");
  curl_slist_free_all(h);
  curl_easy_cleanup(e);
  return r;
}

/* The host of a URL (lower case) into out; 0, or -1 when the URL does not parse. */
static int url_host(const char *url, char *scheme, size_t scap, char *out, size_t cap) {
  CURLU *u = curl_url();
  char *host = NULL, *sch = NULL;
  int r = -1;
  if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_SCHEME, &sch, 0) == CURLUE_OK && strlen(host) < cap && strlen(sch) < scap) {
    for (size_t i = 0; host[i]; i++)
      out[i] = (char)((host[i] >= 'A' && host[i] <= 'Z') ? host[i] + 32 : host[i]);
    out[strlen(host)] = '\0';
    for (size_t i = 0; sch[i]; i++)
      scheme[i] = (char)((sch[i] >= 'A' && sch[i] <= 'Z') ? sch[i] + 32 : sch[i]);
    scheme[strlen(sch)] = '\0';
    r = 0;
  }
  curl_free(host);
  curl_free(sch);
  curl_url_cleanup(u);
  return r;
}

int fetch_host_allowed(const hg_config *cfg, const char *host) {
  if (!cfg->media_fetch_host_count) {
    char up[256], scheme[16];
    return !url_host(cfg->upstream_url, scheme, sizeof scheme, up, sizeof up) && !strcmp(up, host);
  }
  for (unsigned i = 0; i < cfg->media_fetch_host_count; i++)
    if (!strcasecmp(cfg->media_fetch_hosts[i], host)) return 1;
  return 0;
}

int fetch_allowed_url(const hg_config *cfg, const char *url, const atomic_int *stop, fetch_result *out) {
  memset(out, 0, sizeof *out);
  char current[2048], host[256], scheme[16], first_scheme[16] = "";
  snprintf(current, sizeof current, "%s", url);
  for (int hop = 0;; hop++) {
    if (url_host(current, scheme, sizeof scheme, host, sizeof host))
      return fail(out, "the image URL %.150s does not parse", current), -1;
    if (strcmp(scheme, "http") && strcmp(scheme, "https"))
      return fail(out, "the image URL's scheme %.20s is not http or https", scheme), -1;
    if (!first_scheme[0]) snprintf(first_scheme, sizeof first_scheme, "%s", scheme);
    if (strcmp(scheme, first_scheme)) return fail(out, "a redirect changed the scheme to %.20s", scheme), -1;
    if (!fetch_host_allowed(cfg, host))
      return fail(out, "the host %.150s is not on media.fetch_hosts (nothing was fetched from it)", host), -1;
    CURL *e = curl_easy_init();
    CURLU *u = curl_url();
    if (!e || !u || curl_url_set(u, CURLUPART_URL, current, 0) != CURLUE_OK) {
      curl_easy_cleanup(e);
      curl_url_cleanup(u);
      return fail(out, "%s", "curl could not start"), -1;
    }
    curl_easy_setopt(e, CURLOPT_CURLU, u); /* the parse that was checked is the one fetched */
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)cfg->media_fetch_timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->connect_timeout_ms);
    fetch_result_free(out);
    memset(out, 0, sizeof *out);
    int r = perform(e, cfg->media_max_bytes, stop, out);
    char *next = NULL;
    if (!r && out->status >= 300 && out->status < 400) {
      curl_easy_getinfo(e, CURLINFO_REDIRECT_URL, &next);
      if (next) snprintf(current, sizeof current, "%s", next);
    }
    curl_easy_cleanup(e);
    curl_url_cleanup(u);
    if (r) return -1;
    if (out->status >= 300 && out->status < 400) {
      if (!next) return fail(out, "%s", "a redirect without a Location"), -1;
      if (hop + 1 >= MAX_REDIRECTS) return fail(out, "%s", "more than three redirects"), -1;
      continue;
    }
    if (out->status < 200 || out->status > 299) {
      long st = out->status;
      fetch_result_free(out);
      snprintf(out->error, sizeof out->error, "the image host answered HTTP %ld", st);
      return -1;
    }
    return 0;
  }
}

int fetch_image_url(const hg_config *cfg, const char *url, const atomic_int *stop, uint8_t **bytes, size_t *len,
                    char *why, size_t cap) {
  *bytes = NULL;
  *len = 0;
  if (!strncasecmp(url, "data:", 5)) {
    const char *comma = strchr(url, ',');
    if (!comma || !memmem(url, (size_t)(comma - url), ";base64", 7))
      return snprintf(why, cap, "a data: URL that is not base64"), -1;
    size_t n = strlen(comma + 1), max = n / 4 * 3 + 3;
    if (max > cfg->media_max_bytes + 3) return snprintf(why, cap, "an image longer than media.max_bytes"), -1;
    *bytes = malloc(max ? max : 1);
    if (!*bytes) return snprintf(why, cap, "out of memory"), -1;
    if (sodium_base642bin(*bytes, max, comma + 1, n, " \r\n", len, NULL, sodium_base64_VARIANT_ORIGINAL)) {
      free(*bytes);
      *bytes = NULL;
      return snprintf(why, cap, "a data: URL whose base64 does not decode"), -1;
    }
    return 0;
  }
  fetch_result f;
  if (fetch_allowed_url(cfg, url, stop, &f)) {
    snprintf(why, cap, "%s", f.error);
    fetch_result_free(&f);
    return -1;
  }
  *bytes = f.body;
  *len = f.len;
  return 0;
}
