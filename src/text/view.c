/* view.c — the streaming normalized view: each chunk decoded and folded once, for every detector that reads it.
 *
 * The moderator runs the lexicon, PII, takedown and rule scanners over the same text; each used to decode UTF-8
 * and look up the fold table on its own. The view does that once per code point and hands out an array of
 * records (folded code point, class flags, source code point and byte span) that every scanner walks. A record is
 * kept for ignorable code points too (cp 0), because the lexicon's exact-bytes lane must still see their bytes.
 *
 * A sequence cut by the end of a chunk is kept (at most 3 bytes) and completed by the next chunk, so the records
 * of a stream are exactly those of the whole text, however it is cut. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "fold_table.h"
#include "hegui/text.h"
#include "utf8_inline.h"

struct hg_normalizer {
  hg_norm_char *v;
  size_t cap;
  size_t offset; /* bytes of complete code points decoded */
  size_t fed;    /* bytes fed, a cut sequence included */
  uint8_t partial[4];
  unsigned npartial;
  int failed;
};

hg_status hg_normalizer_new(hg_normalizer **out) {
  *out = calloc(1, sizeof **out);
  return *out ? HG_OK : HG_ERR_NOMEM;
}

void hg_normalizer_free(hg_normalizer *nz) {
  if (!nz) return;
  free(nz->v);
  free(nz);
}

void hg_normalizer_reset(hg_normalizer *nz) {
  nz->offset = nz->fed = 0;
  nz->npartial = 0;
  nz->failed = 0;
}

size_t hg_normalizer_offset(const hg_normalizer *nz) { return nz->fed; }

static int reserve(hg_normalizer *nz, size_t need) {
  if (need <= nz->cap) return 0;
  size_t cap = nz->cap ? nz->cap : 1024;
  while (cap < need)
    cap *= 2;
  hg_norm_char *v = realloc(nz->v, cap * sizeof *v);
  if (!v) return -1;
  nz->v = v;
  nz->cap = cap;
  return 0;
}

/* Appends the records of one source code point at v[n]; returns the new count. The caller reserved HG_FOLD_MAX. */
static inline size_t push_cp(hg_norm_char *v, size_t n, uint32_t cp, size_t bs, size_t be) {
  uint32_t val = hg_fold_value(cp);
  uint32_t brk = (val & FT_BREAK) ? HG_NORM_BREAK : 0;
  if (!(val & (FT_EXPAND | FT_IGNORABLE))) {
    v[n] = (hg_norm_char){(cp + val) & FT_CP_MASK, FT_CHAR_FLAGS(val) | HG_NORM_FIRST | HG_NORM_SOLE | brk, bs, be, cp};
    return n + 1;
  }
  if (val & FT_IGNORABLE) {
    v[n] = (hg_norm_char){0, HG_NORM_FIRST | HG_NORM_IGNORABLE, bs, be, cp};
    return n + 1;
  }
  const uint32_t *e = &hg_fold_expansions[val & FT_CP_MASK];
  for (uint32_t k = 0; k < e[0]; k++) {
    uint32_t fc = e[1 + k], fv = hg_fold_value(fc);
    v[n++] = (hg_norm_char){fc, FT_CHAR_FLAGS(fv) | (k ? 0 : HG_NORM_FIRST) | ((fv & FT_BREAK) ? HG_NORM_BREAK : 0), bs,
                            be, cp};
  }
  return n;
}

static hg_status bad_utf8(hg_normalizer *nz, size_t at, hg_error *err) {
  nz->failed = 1;
  return hg_fail(err, HG_ERR_UTF8, 0, at, "invalid UTF-8 at byte offset %zu", at);
}

hg_status hg_normalizer_feed(hg_normalizer *nz, const char *chunk, size_t len, const hg_norm_char **chars, size_t *n,
                             hg_error *err) {
  *chars = nz->v;
  *n = 0;
  if (nz->failed) return hg_fail(err, HG_ERR_INVALID, 0, nz->offset, "normalizer stopped after an error; reset it");
  /* one record per byte covers ASCII; longer sequences fold to at most HG_FOLD_MAX each, checked as we go */
  if (reserve(nz, len + HG_FOLD_MAX + 1)) return hg_fail(err, HG_ERR_NOMEM, 0, nz->offset, "out of memory");
  const uint8_t *s = (const uint8_t *)chunk;
  size_t i = 0, k = 0, base = nz->fed; /* base: stream offset of s[0] */
  nz->fed += len;
  uint32_t cp;
  while (nz->npartial && i < len) {
    nz->partial[nz->npartial++] = s[i++];
    int r = hg_utf8_decode(nz->partial, nz->npartial, &cp);
    if (r < 0) {
      *chars = nz->v;
      return bad_utf8(nz, nz->offset, err);
    }
    if (r > 0) {
      nz->npartial = 0;
      k = push_cp(nz->v, k, cp, nz->offset, nz->offset + (size_t)r);
      nz->offset += (size_t)r;
    }
  }
  hg_norm_char *v = nz->v;
  while (i < len) {
    if (s[i] < 0x80) {
      uint32_t val = hg_fold_value(s[i]);
      if (!(val & (FT_EXPAND | FT_IGNORABLE))) {
        v[k++] =
            (hg_norm_char){(s[i] + val) & FT_CP_MASK,
                           FT_CHAR_FLAGS(val) | HG_NORM_FIRST | HG_NORM_SOLE | ((val & FT_BREAK) ? HG_NORM_BREAK : 0),
                           base + i, base + i + 1, s[i]};
        i++;
        continue;
      }
    }
    int r = hg_utf8_decode_fast(s + i, len - i, &cp);
    if (r < 0) {
      *chars = nz->v;
      *n = k; /* the records before the bad bytes are good */
      nz->offset = base + i;
      return bad_utf8(nz, base + i, err);
    }
    if (r == 0) {
      memcpy(nz->partial, s + i, len - i);
      nz->npartial = (unsigned)(len - i);
      break;
    }
    /* the reservation assumed one record per byte; a code point may fold to up to HG_FOLD_MAX */
    if (k + HG_FOLD_MAX + (len - i) > nz->cap) {
      if (reserve(nz, k + HG_FOLD_MAX + (len - i) + 1)) return hg_fail(err, HG_ERR_NOMEM, 0, base + i, "out of memory");
      v = nz->v;
    }
    k = push_cp(v, k, cp, base + i, base + i + (size_t)r);
    i += (size_t)r;
  }
  nz->offset = nz->fed - nz->npartial;
  *chars = nz->v;
  *n = k;
  return HG_OK;
}

hg_status hg_normalizer_finish(hg_normalizer *nz, hg_error *err) {
  if (nz->failed) return hg_fail(err, HG_ERR_INVALID, 0, nz->offset, "normalizer stopped after an error; reset it");
  if (nz->npartial) {
    nz->failed = 1;
    return hg_fail(err, HG_ERR_UTF8, 0, nz->offset, "input ends inside a UTF-8 sequence at byte offset %zu",
                   nz->offset);
  }
  return HG_OK;
}
