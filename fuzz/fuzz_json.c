/* fuzz_json.c — base/json.h against jansson, its reference, on any bytes: hg_json_loadb gives what json_loadb gives
 * (the same value, or NULL with the same error text) with flags 0 and JSON_REJECT_DUPLICATES, and what parses is
 * written by hg_json_dumps to the same bytes as json_dumps (compact; sorted keys; any top level). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"

static void differ(void) { abort(); }

static void one(const char *s, size_t n, size_t flags) {
  json_error_t e1, e2;
  json_t *want = json_loadb(s, n, flags, &e1), *got = hg_json_loadb(s, n, flags, &e2);
  if (!want != !got || (want && !json_equal(want, got))) differ();
  if (!want && strcmp(e1.text, e2.text)) differ();
  static const size_t dumps[] = {JSON_COMPACT, JSON_COMPACT | JSON_SORT_KEYS, JSON_COMPACT | JSON_ENCODE_ANY};
  for (size_t i = 0; want && i < sizeof dumps / sizeof dumps[0]; i++) {
    char *a = json_dumps(want, dumps[i]), *b = hg_json_dumps(got, dumps[i]);
    if (!a != !b || (a && strcmp(a, b))) differ();
    free(a);
    free(b);
  }
  json_decref(want);
  json_decref(got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  one((const char *)data, size, 0);
  one((const char *)data, size, JSON_REJECT_DUPLICATES);
  return 0;
}
