/* utf8.c — strict UTF-8 decoding and encoding (RFC 3629): no overlong forms, no surrogates, nothing above
 * U+10FFFF. The decoder tells an incomplete sequence (more bytes may still come, as at the end of a stream chunk)
 * from an invalid one, which is what streaming callers need. */
#include "hegui/text.h"

#include <string.h>

int hg_utf8_decode(const uint8_t *s, size_t len, uint32_t *cp) {
  if (len == 0) return 0;
  uint8_t b0 = s[0];
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  int need;
  uint32_t min, value;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 2, min = 0x80, value = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 3, min = 0x800, value = b0 & 0x0F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 4, min = 0x10000, value = b0 & 0x07;
  } else {
    return -1;
  }
  /* The second byte's range rules out overlong forms, surrogates and values above U+10FFFF early, so that an
   * incomplete sequence is reported as invalid as soon as no completion could be valid. */
  if (len >= 2) {
    uint8_t b1 = s[1];
    if ((b1 & 0xC0) != 0x80 || (b0 == 0xE0 && b1 < 0xA0) || (b0 == 0xED && b1 > 0x9F) || (b0 == 0xF0 && b1 < 0x90) ||
        (b0 == 0xF4 && b1 > 0x8F))
      return -1;
  }
  for (int i = 1; i < need; i++) {
    if ((size_t)i >= len) return 0;
    if ((s[i] & 0xC0) != 0x80) return -1;
    value = (value << 6) | (s[i] & 0x3F);
  }
  if (value < min || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return -1;
  *cp = value;
  return need;
}

hg_status hg_utf8_validate(const char *text, size_t len, size_t *bad_offset) {
  const uint8_t *s = (const uint8_t *)text;
  size_t i = 0;
  while (i < len) {
    while (len - i >= 8) { /* eight ASCII bytes at a time */
      uint64_t w;
      memcpy(&w, s + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= len) break;
    if (s[i] < 0x80) {
      i++;
      continue;
    }
    /* Han and most other BMP text: leads E1-EC, EE, EF take any continuation bytes */
    while (len - i >= 3 && s[i] >= 0xE1 && s[i] <= 0xEF && s[i] != 0xED && (s[i + 1] & 0xC0) == 0x80 &&
           (s[i + 2] & 0xC0) == 0x80)
      i += 3;
    if (i >= len || s[i] < 0x80) continue;
    uint32_t cp;
    int n = hg_utf8_decode(s + i, len - i, &cp);
    if (n <= 0) {
      if (bad_offset) *bad_offset = i;
      return HG_ERR_UTF8;
    }
    i += (size_t)n;
  }
  return HG_OK;
}

size_t hg_utf8_encode(uint32_t cp, char *out) {
  unsigned char *o = (unsigned char *)out;
  if (cp < 0x80) {
    o[0] = (unsigned char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (unsigned char)(0xC0 | (cp >> 6));
    o[1] = (unsigned char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
  if (cp < 0x10000) {
    o[0] = (unsigned char)(0xE0 | (cp >> 12));
    o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (unsigned char)(0x80 | (cp & 0x3F));
    return 3;
  }
  if (cp > 0x10FFFF) return 0;
  o[0] = (unsigned char)(0xF0 | (cp >> 18));
  o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
  o[3] = (unsigned char)(0x80 | (cp & 0x3F));
  return 4;
}
