/* utf8_inline.h — hg_utf8_decode with its common cases inline, for the loops that decode every code point of a
 * text (the normalizer, the lexicon's byte paths): ASCII, and three-byte sequences whose lead byte is E1..EC or
 * EE..EF (no overlong or surrogate form is possible there), which covers the CJK blocks. Everything else goes to
 * the strict decoder, so the results are always hg_utf8_decode's. */
#ifndef HG_TEXT_UTF8_INLINE_H
#define HG_TEXT_UTF8_INLINE_H

#include <stddef.h>
#include <stdint.h>

#include "hegui/text.h"

static inline int hg_utf8_decode_fast(const uint8_t *s, size_t len, uint32_t *cp) {
  uint8_t b0 = s[0];
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  if (len >= 3 && b0 >= 0xE1 && b0 <= 0xEF && b0 != 0xED && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80) {
    *cp = ((uint32_t)(b0 & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3Fu);
    return 3;
  }
  return hg_utf8_decode(s, len, cp);
}

#endif
