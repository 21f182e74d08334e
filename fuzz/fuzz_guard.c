/* fuzz_guard.c — libFuzzer target for the reading of guard models' answers (hegui/guard.h): the first byte picks the
 * format and the ShieldGemma threshold, the rest is a response body from the guard's server (outside input). Every
 * answer must parse or be refused with a message; a parsed verdict must be coherent (categories counted within
 * bounds and NUL-terminated, a score in [0, 1], unsafe where the threshold says). The same bytes as a prompt and
 * answer must build a request or be refused as not UTF-8. Aborts on any inconsistency. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hegui/guard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  hg_guard_format f = (hg_guard_format)(data[0] % HG_GUARD_FORMAT_COUNT);
  float threshold = (float)(data[0] >> 2) / 63.0f;
  const char *body = (const char *)data + 1;
  size_t len = size - 1;
  hg_guard_verdict v;
  hg_error err;
  hg_status st = hg_guard_parse(f, body, len, threshold, &v, &err);
  if (st == HG_OK) {
    if (v.category_count > HG_GUARD_MAX_CATEGORIES) abort();
    for (size_t i = 0; i < v.category_count; i++)
      if (!memchr(v.categories[i], 0, sizeof v.categories[i]) || !v.categories[i][0]) abort();
    if (!(v.score >= 0.0f && v.score <= 1.0f)) abort();
    if (f == HG_GUARD_SHIELDGEMMA && v.unsafe != (v.score >= threshold)) abort();
    if (f != HG_GUARD_SHIELDGEMMA && v.unsafe && v.controversial) abort();
    for (size_t i = 0; i < v.category_count; i++) {
      hg_category c;
      (void)hg_guard_default_category(f, v.categories[i], &c);
    }
  } else if (st != HG_ERR_PARSE || !err.message[0]) {
    abort();
  }
  hg_guard_request r = {f, "guard", body, len, len > 8 ? body + len / 2 : NULL, len / 2, NULL, 0, NULL};
  char *out = NULL;
  size_t ol = 0;
  st = hg_guard_build(&r, &out, &ol, &err);
  if (st == HG_OK && (!out || strlen(out) != ol)) abort();
  if (st != HG_OK && st != HG_ERR_UTF8) abort();
  free(out);
  return 0;
}
