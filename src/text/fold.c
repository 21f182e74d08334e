/* fold.c — reading the generated fold and pinyin tables, and the whole-text helpers built on them (the
 * normalized view with its offset map, and folding a string). See fold_table.h for the table layout. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "fold_table.h"
#include "hegui/text.h"

_Static_assert(HG_CHAR_NOISE << FT_FLAG_SHIFT == FT_NOISE && HG_CHAR_WORD << FT_FLAG_SHIFT == FT_WORD &&
                   HG_CHAR_DIGIT << FT_FLAG_SHIFT == FT_DIGIT && HG_CHAR_HAN << FT_FLAG_SHIFT == FT_HAN &&
                   HG_CHAR_ALNUM << FT_FLAG_SHIFT == FT_ALNUM,
               "fold table flag bits follow HG_CHAR_*");

static unsigned flags_from_value(uint32_t v) { return FT_CHAR_FLAGS(v); }

size_t hg_fold(uint32_t cp, uint32_t out[HG_FOLD_MAX]) {
  if (cp > 0x10FFFF) return 0;
  uint32_t v = hg_fold_value(cp);
  if (v & FT_IGNORABLE) return 0;
  if (v & FT_EXPAND) {
    const uint32_t *e = &hg_fold_expansions[v & FT_CP_MASK];
    size_t n = e[0];
    memcpy(out, e + 1, n * sizeof *out);
    return n;
  }
  out[0] = (cp + v) & FT_CP_MASK;
  return 1;
}

unsigned hg_char_flags(uint32_t folded_cp) {
  if (folded_cp > 0x10FFFF) return HG_CHAR_NOISE;
  return flags_from_value(hg_fold_value(folded_cp));
}

unsigned hg_pinyin_id(uint32_t cp) {
  if (cp > 0x10FFFF) return 0;
  return hg_pinyin_stage2[((uint32_t)hg_pinyin_stage1[cp >> FT_BLOCK_SHIFT] << FT_BLOCK_SHIFT) |
                          (cp & ((1u << FT_BLOCK_SHIFT) - 1))];
}

unsigned hg_pinyin_count(void) { return hg_pinyin_syllable_count; }

const char *hg_pinyin_syllable(unsigned id) {
  return id > 0 && id < hg_pinyin_syllable_count ? hg_pinyin_syllables[id] : NULL;
}

const char *hg_pinyin(uint32_t cp) { return hg_pinyin_syllable(hg_pinyin_id(cp)); }

unsigned hg_pinyin_tone(uint32_t cp) {
  if (cp > 0x10FFFF) return 0;
  return hg_tone_stage2[((uint32_t)hg_tone_stage1[cp >> FT_BLOCK_SHIFT] << FT_BLOCK_SHIFT) |
                        (cp & ((1u << FT_BLOCK_SHIFT) - 1))];
}

hg_status hg_normalize(const char *text, size_t len, hg_norm_char **out, size_t *count, hg_error *err) {
  *out = NULL;
  *count = 0;
  size_t bad;
  if (hg_utf8_validate(text, len, &bad) != HG_OK)
    return hg_fail(err, HG_ERR_UTF8, 0, bad, "invalid UTF-8 at byte offset %zu", bad);
  size_t cap = 16, n = 0;
  hg_norm_char *v = malloc(cap * sizeof *v);
  if (!v) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  const uint8_t *s = (const uint8_t *)text;
  for (size_t i = 0; i < len;) {
    uint32_t cp, f[HG_FOLD_MAX];
    int k = hg_utf8_decode(s + i, len - i, &cp);
    size_t nf = hg_fold(cp, f);
    if (n + nf > cap) {
      cap = cap * 2 + nf;
      hg_norm_char *nv = realloc(v, cap * sizeof *v);
      if (!nv) {
        free(v);
        return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
      }
      v = nv;
    }
    for (size_t j = 0; j < nf; j++)
      v[n++] = (hg_norm_char){f[j], hg_char_flags(f[j]), i, i + (size_t)k, cp};
    i += (size_t)k;
  }
  *out = v;
  *count = n;
  return HG_OK;
}

hg_status hg_fold_text(const char *text, size_t len, int skip_noise, char **out, size_t *out_len, hg_error *err) {
  hg_norm_char *v;
  size_t n;
  *out = NULL;
  hg_status st = hg_normalize(text, len, &v, &n, err);
  if (st) return st;
  char *s = malloc(n * 4 + 1);
  if (!s) {
    free(v);
    return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  }
  size_t o = 0;
  for (size_t i = 0; i < n; i++)
    if (!(skip_noise && (v[i].flags & HG_CHAR_NOISE))) o += hg_utf8_encode(v[i].cp, s + o);
  s[o] = 0;
  free(v);
  *out = s;
  if (out_len) *out_len = o;
  return HG_OK;
}

uint32_t hg_tables_id(void) { return hg_fold_tables_id; }
