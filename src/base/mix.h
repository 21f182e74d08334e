/* base/mix.h — the one 64-bit finaliser (the MurmurHash3 fmix64 constants): every bit of the input moves every bit
 * of the output. Used where a hash must spread well: the classifier's n-gram buckets (a change here changes every
 * model's features, so its image records a feature-set id), near-duplicate fingerprints, pointer tables. */
#ifndef HG_BASE_MIX_H
#define HG_BASE_MIX_H

#include <stdint.h>

static inline uint64_t hg_mix64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

#endif
