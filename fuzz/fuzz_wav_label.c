/* fuzz_wav_label.c — the spoken label put into a WAV file (src/media/audio_wav.c) that anyone may have sent. A
 * refusal is fine; an output must be a RIFF WAVE whose size field is its length less 8, and longer than the input
 * by at least the gap. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/spoken.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int16_t beep[441];
  static hg_pcm label = {beep, sizeof beep / sizeof beep[0], 22050, 0};
  for (size_t i = 0; i < label.count; i++)
    beep[i] = (int16_t)((i % 50) * 600 - 15000);
  uint8_t *out;
  size_t out_len;
  for (int at_end = 0; at_end < 2; at_end++) {
    if (hg_wav_insert_label(data, size, &label, at_end, &out, &out_len, NULL)) continue;
    uint32_t riff = out[4] | (uint32_t)out[5] << 8 | (uint32_t)out[6] << 16 | (uint32_t)out[7] << 24;
    if (out_len < 12 || memcmp(out, "RIFF", 4) || memcmp(out + 8, "WAVE", 4) || riff != out_len - 8) abort();
    free(out);
  }
  return 0;
}
