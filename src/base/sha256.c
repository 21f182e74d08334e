/* sha256.c — see base/sha256.h. The padding and the byte order are the standard's; the compression of 64-byte
 * blocks is done by one of two functions with the same contract (state in, blocks in, state out). */
#include "base/sha256.h"

#include <stdatomic.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define HG_SHA_X86 1
#endif

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static inline uint32_t ror(uint32_t x, unsigned n) { return x >> n | x << (32 - n); }

static void compress_portable(uint32_t h[8], const uint8_t *p, size_t blocks) {
  for (; blocks--; p += 64) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
      w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
      uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ w[i - 15] >> 3;
      uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ w[i - 2] >> 10;
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
      uint32_t t1 = hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
      uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
  }
}

#ifdef HG_SHA_X86
/* The SHA extensions keep the state as two vectors, ABEF and CDGH (A in the highest lane); each sha256rnds2 does two
 * rounds with the low two lanes of a message+constant vector. The message schedule for words 4k..4k+3 is
 * msg2(msg1(W[k-4], W[k-3]) + the words t-7 (alignr of W[k-1] and W[k-2]), W[k-1]). */
__attribute__((target("sha,sse4.1"))) static void compress_shani(uint32_t h[8], const uint8_t *p, size_t blocks) {
  const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
  __m128i t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[0]), 0xB1); /* B A D C */
  __m128i s1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[4]), 0x1B); /* H G F E */
  __m128i s0 = _mm_alignr_epi8(t, s1, 8);                                          /* ABEF */
  s1 = _mm_blend_epi16(s1, t, 0xF0);                                               /* CDGH */
  for (; blocks--; p += 64) {
    __m128i save0 = s0, save1 = s1, w[4];
    for (int k = 0; k < 16; k++) {
      __m128i m;
      if (k < 4) {
        m = w[k] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * k)), bswap);
      } else {
        __m128i a = w[k & 3], b = w[(k + 1) & 3], c = w[(k + 2) & 3], d = w[(k + 3) & 3]; /* k-4 .. k-1 */
        m = _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32(a, b), _mm_alignr_epi8(d, c, 4)), d);
        w[k & 3] = m;
      }
      m = _mm_add_epi32(m, _mm_loadu_si128((const __m128i *)&K[4 * k]));
      s1 = _mm_sha256rnds2_epu32(s1, s0, m);
      s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(m, 0x0E));
    }
    s0 = _mm_add_epi32(s0, save0);
    s1 = _mm_add_epi32(s1, save1);
  }
  t = _mm_shuffle_epi32(s0, 0x1B);  /* A B E F, lane 0 first */
  s1 = _mm_shuffle_epi32(s1, 0xB1); /* G H C D */
  _mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(t, s1, 0xF0));
  _mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(s1, t, 8));
}

static int cpu_has_sha(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
  int sha = (b >> 29) & 1;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  int sse41 = (c >> 19) & 1, ssse3 = (c >> 9) & 1;
  return sha && sse41 && ssse3;
}
#endif

typedef void (*compress_fn)(uint32_t h[8], const uint8_t *p, size_t blocks);
static _Atomic(compress_fn) chosen; /* NULL until the first use */

static compress_fn compressor(void) {
  compress_fn f = atomic_load_explicit(&chosen, memory_order_relaxed);
  if (f) return f;
  f = compress_portable;
#ifdef HG_SHA_X86
  if (cpu_has_sha()) f = compress_shani;
#endif
  atomic_store_explicit(&chosen, f, memory_order_relaxed);
  return f;
}

int hg_sha256_force_portable(int on) {
  atomic_store(&chosen, on ? compress_portable : NULL);
  return compressor() != compress_portable;
}

void hg_sha256_init(hg_sha256_ctx *c) {
  static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(c->h, iv, sizeof iv);
  c->total = 0;
  c->used = 0;
}

void hg_sha256_update(hg_sha256_ctx *c, const void *data, size_t len) {
  const uint8_t *p = data;
  compress_fn f = compressor();
  c->total += len;
  if (c->used) {
    size_t take = 64 - c->used < len ? 64 - c->used : len;
    memcpy(c->block + c->used, p, take);
    c->used += take, p += take, len -= take;
    if (c->used < 64) return;
    f(c->h, c->block, 1);
    c->used = 0;
  }
  if (len >= 64) {
    f(c->h, p, len / 64);
    p += len / 64 * 64;
    len %= 64;
  }
  if (len) memcpy(c->block, p, len);
  c->used = len;
}

void hg_sha256_final(hg_sha256_ctx *c, uint8_t out[HG_SHA256_BYTES]) {
  uint64_t bits = c->total * 8;
  uint8_t pad[72] = {0x80};
  size_t n = c->used < 56 ? 56 - c->used : 120 - c->used;
  for (int i = 0; i < 8; i++)
    pad[n + i] = (uint8_t)(bits >> (56 - 8 * i));
  uint64_t total = c->total;
  hg_sha256_update(c, pad, n + 8);
  c->total = total;
  for (int i = 0; i < 8; i++) {
    out[4 * i] = (uint8_t)(c->h[i] >> 24), out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
    out[4 * i + 2] = (uint8_t)(c->h[i] >> 8), out[4 * i + 3] = (uint8_t)c->h[i];
  }
}

void hg_sha256(const void *data, size_t len, uint8_t out[HG_SHA256_BYTES]) {
  hg_sha256_ctx c;
  hg_sha256_init(&c);
  hg_sha256_update(&c, data, len);
  hg_sha256_final(&c, out);
}

void hg_sha256_hex(const void *data, size_t len, char out[2 * HG_SHA256_BYTES + 1]) {
  static const char hex[] = "0123456789abcdef";
  uint8_t d[HG_SHA256_BYTES];
  hg_sha256(data, len, d);
  for (int i = 0; i < HG_SHA256_BYTES; i++)
    out[2 * i] = hex[d[i] >> 4], out[2 * i + 1] = hex[d[i] & 15];
  out[2 * HG_SHA256_BYTES] = 0;
}
