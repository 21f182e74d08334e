/* idv.c — the identity-verification provider's HTTP call: a blocking libcurl easy POST with everything bounded
 * (time, protocols, size of the answer). Each call has its own easy handle, so calls from several threads do not
 * share anything but curl's global state, which server_run initialises once. */
#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "gateway/idv.h"
#include "hegui/hegui.h"

typedef struct answer {
  char *data;
  size_t len, cap;
  int too_large, out_of_memory;
} answer;

static size_t on_answer_bytes(char *ptr, size_t size, size_t nmemb, void *userdata) {
  answer *a = userdata;
  size_t n = size * nmemb;
  if (n > HG_IDV_RESPONSE_MAX - a->len) {
    a->too_large = 1;
    return 0; /* makes curl stop with CURLE_WRITE_ERROR */
  }
  if (a->len + n + 1 > a->cap) {
    size_t cap = a->cap ? a->cap : 4096;
    while (cap < a->len + n + 1)
      cap *= 2;
    char *grown = realloc(a->data, cap);
    if (!grown) {
      a->out_of_memory = 1;
      return 0;
    }
    a->data = grown;
    a->cap = cap;
  }
  memcpy(a->data + a->len, ptr, n);
  a->len += n;
  a->data[a->len] = '\0';
  return n;
}

static hg_status transport_fail(hg_idv_result *out, char *reason, hg_error *err, hg_status status, const char *what) {
  *out = HG_IDV_UNDECIDED;
  if (reason) snprintf(reason, 256, "identity provider: %s", what);
  return hg_fail(err, status, 0, 0, "identity provider: %s", what);
}

hg_status idv_verify(const hg_idv_config *c, const hg_identity_fields *f, hg_idv_result *out, char reason[256],
                     hg_error *err) {
  if (!c || !f || !out) return hg_fail(err, HG_ERR_INVALID, 0, 0, "identity provider: missing argument");
  *out = HG_IDV_UNDECIDED;
  if (reason) reason[0] = '\0';
  if (!memchr(c->url, '\0', sizeof c->url) || !c->url[0])
    return transport_fail(out, reason, err, HG_ERR_INVALID, "no provider URL configured");
  if (!memchr(c->token, '\0', sizeof c->token) || strpbrk(c->token, "\r\n"))
    return transport_fail(out, reason, err, HG_ERR_INVALID, "the token must be one line");
  char *body = hg_idv_request_body(c, f);
  if (!body) return transport_fail(out, reason, err, HG_ERR_NOMEM, "cannot build the request (out of memory?)");
  size_t body_len = strlen(body);

  CURL *easy = curl_easy_init();
  struct curl_slist *headers = NULL, *h;
  char auth[300], agent[64], error[CURL_ERROR_SIZE] = "";
  answer a = {0};
  hg_status st = HG_OK;
  int headers_ok = 1;
  const char *fixed[] = {"Content-Type: application/json", "Accept: application/json", "Expect:"};
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0] && headers_ok; i++)
    if ((h = curl_slist_append(headers, fixed[i])))
      headers = h;
    else
      headers_ok = 0;
  if (headers_ok && c->token[0]) {
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", c->token);
    if ((h = curl_slist_append(headers, auth)))
      headers = h;
    else
      headers_ok = 0;
    sodium_memzero(auth, sizeof auth); /* curl keeps its own copy */
  }
  if (!easy || !headers_ok) {
    st = transport_fail(out, reason, err, HG_ERR_NOMEM, "out of memory");
    goto done;
  }
  snprintf(agent, sizeof agent, "hegui/%s", hg_version());
  curl_easy_setopt(easy, CURLOPT_URL, c->url);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85: the string forms; the bitmask forms are deprecated there */
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
  curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)(c->timeout_ms ? c->timeout_ms : 5000));
  curl_easy_setopt(easy, CURLOPT_POST, 1L);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long)body_len);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, agent);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_answer_bytes);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &a);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error);
  /* a redirect would resend the identity somewhere else: the configured URL answers or the call fails */
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);

  CURLcode rc = curl_easy_perform(easy);
  if (a.too_large) {
    st = transport_fail(out, reason, err, HG_ERR_LIMIT, "the answer is larger than 1 MiB");
  } else if (a.out_of_memory) {
    st = transport_fail(out, reason, err, HG_ERR_NOMEM, "out of memory reading the answer");
  } else if (rc != CURLE_OK) {
    st = transport_fail(out, reason, err, HG_ERR_IO, error[0] ? error : curl_easy_strerror(rc));
  } else {
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    st = hg_idv_parse_response(c, status, a.data ? a.data : "", a.len, out, reason, err);
  }
done:
  if (easy) curl_easy_cleanup(easy);
  curl_slist_free_all(headers);
  sodium_memzero(body, body_len); /* the identity in clear */
  free(body);
  if (a.data) sodium_memzero(a.data, a.len);
  free(a.data);
  return st;
}
