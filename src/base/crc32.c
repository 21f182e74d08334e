/* crc32.c — CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the checksum of compiled lexicon images. The
 * table is computed on first use from the polynomial; there is nothing to type in. */
#include "base/crc32.h"

static uint32_t crc_table[256];
static int crc_ready;

static void crc_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++)
      c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    crc_table[i] = c;
  }
  __atomic_store_n(&crc_ready, 1, __ATOMIC_RELEASE);
}

uint32_t hg_crc32(uint32_t crc, const void *data, size_t len) {
  if (!__atomic_load_n(&crc_ready, __ATOMIC_ACQUIRE)) crc_init(); /* idempotent: a race writes equal values */
  const unsigned char *p = data;
  crc = ~crc;
  while (len--)
    crc = crc_table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
  return ~crc;
}
