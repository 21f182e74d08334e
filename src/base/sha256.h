/* base/sha256.h — SHA-256 (FIPS 180-4), the digest of records, texts, keys and labels.
 *
 * Every answer is hashed several times on its way out (its digest in the record, the label's content digest, the
 * record's text digest, the chain): libsodium's portable SHA-256 made that 7% of a request's CPU. This one runs the
 * compression with the x86 SHA extensions when the CPU has them (checked once, with cpuid) and otherwise with a
 * plain C loop; the digests are the same bytes either way (tests/unit/test_base.c checks both paths against
 * libsodium and the FIPS examples). Contexts are plain values: no allocation, safe to copy, one per thread. */
#ifndef HG_BASE_SHA256_H
#define HG_BASE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define HG_SHA256_BYTES 32

typedef struct hg_sha256_ctx {
  uint32_t h[8];
  uint64_t total; /* bytes hashed so far */
  uint8_t block[64];
  size_t used; /* bytes waiting in block */
} hg_sha256_ctx;

void hg_sha256_init(hg_sha256_ctx *c);
void hg_sha256_update(hg_sha256_ctx *c, const void *data, size_t len);
void hg_sha256_final(hg_sha256_ctx *c, uint8_t out[HG_SHA256_BYTES]);
/* The digest of one buffer, and the same as 64 lowercase hex digits and a NUL. */
void hg_sha256(const void *data, size_t len, uint8_t out[HG_SHA256_BYTES]);
void hg_sha256_hex(const void *data, size_t len, char out[2 * HG_SHA256_BYTES + 1]);

/* Tests: 1 forces the plain C compression, 0 lets the CPU decide again; returns whether the SHA extensions are in
 * use afterwards. */
int hg_sha256_force_portable(int on);

#endif
