/* fuzz_label.c — libFuzzer target for the implicit-label reader: any bytes as a label (wrapped, unwrapped, inside a
 * response, as a JSON string) never crash the verifier or verify against a key that signed nothing, and the same
 * bytes as content always make a label that verifies and stops verifying when the content changes. */
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hegui/label.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static uint8_t pk[HG_LABEL_PUBLIC_KEY_BYTES], sk[HG_LABEL_SECRET_KEY_BYTES];
  static int ready;
  if (!ready) {
    uint8_t seed[crypto_sign_SEEDBYTES] = {1, 2, 3};
    if (sodium_init() < 0) abort();
    crypto_sign_seed_keypair(pk, sk, seed);
    ready = 1;
  }
  const char *text = (const char *)data;
  /* nothing was signed with this key for this content, so nothing may verify */
  if (hg_label_verify(text, size, "content", 7, pk, NULL) == HG_OK) abort();

  char *json;
  if (hg_label_make("hegui", "fuzz-1", text, size, sk, &json, NULL) != HG_OK) abort();
  if (hg_label_verify(json, strlen(json), text, size, pk, NULL) != HG_OK) abort();
  if (size > 0) {
    char *changed = malloc(size);
    if (!changed) abort();
    memcpy(changed, data, size);
    changed[size / 2] ^= 0x20;
    if (hg_label_verify(json, strlen(json), changed, size, pk, NULL) != HG_ERR_CORRUPT) abort();
    free(changed);
  }
  free(json);
  return 0;
}
