/* base/crc32.h — CRC-32 for image checksums. */
#ifndef HG_BASE_CRC32_H
#define HG_BASE_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Continues a CRC-32 over data; start with crc = 0. */
uint32_t hg_crc32(uint32_t crc, const void *data, size_t len);

#endif
