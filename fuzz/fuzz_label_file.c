/* fuzz_label_file.c — libFuzzer target for one file-label reader, built once per format (LABEL_FORMAT names it):
 * any bytes read as a file of that format either parse or fail with an error, never crash; a file that reads may
 * be labelled, and the labelled result must read back as exactly one intact label over the same content. */
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hegui/filelabel.h"

#ifndef LABEL_FORMAT
#error "LABEL_FORMAT must name the format (\"png\", \"wav\", ...)"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static uint8_t keys[1][HG_LABEL_PUBLIC_KEY_BYTES], sk[HG_LABEL_SECRET_KEY_BYTES];
  static int ready;
  if (!ready) {
    uint8_t seed[crypto_sign_SEEDBYTES] = {4, 2};
    if (sodium_init() < 0) abort();
    crypto_sign_seed_keypair(keys[0], sk, seed);
    ready = 1;
  }
  hg_label_report before, after;
  if (hg_label_buffer_read(LABEL_FORMAT, data, size, &before, NULL) != HG_OK) return 0;
  hg_label_report_verify(&before, (const uint8_t(*)[HG_LABEL_PUBLIC_KEY_BYTES])keys, 1);

  hg_label_add_options o = {.producer = "fuzz", .produce_id = "f-1"};
  uint8_t *out;
  size_t len;
  if (hg_label_buffer_add(LABEL_FORMAT, data, size, &o, sk, &out, &len, NULL) != HG_OK) return 0;
  if (hg_label_buffer_read(LABEL_FORMAT, out, len, &after, NULL) != HG_OK) abort();
  hg_label_report_verify(&after, (const uint8_t(*)[HG_LABEL_PUBLIC_KEY_BYTES])keys, 1);
  if (!after.intact || after.labels_found != 1) abort();
  if (memcmp(after.content_hash, before.content_hash, sizeof before.content_hash)) abort();
  free(out);
  return 0;
}
