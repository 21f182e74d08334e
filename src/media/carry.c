/* carry.c — what a relabelled picture keeps of its original besides the pixels: how to read its colours.
 *
 * Decoding keeps the stored sample values, so the original's colour description still applies to them: PNG's gAMA,
 * sRGB, cHRM and iCCP chunks (and pHYs, the pixel density) and JPEG's ICC_PROFILE APP2 segments are copied into
 * the re-encoded file, verbatim, right after its header. A profile that described grey or CMYK samples does not fit
 * the RGB file written back, so it is dropped for such originals. Nothing else is carried (EXIF, text, XMP): the
 * implicit label is written afterwards. A chunk with a bad CRC or a segment that runs past the end is left out. */
#include <stdlib.h>
#include <string.h>

#include "base/crc32.h"
#include "base/error.h"
#include "media/carry.h"

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Appends in[at..at+n) to the growing output. */
typedef struct out_buf {
  uint8_t *d;
  size_t n, cap;
} out_buf;

static int put(out_buf *o, const uint8_t *p, size_t n) {
  if (n > o->cap - o->n) return -1;
  memcpy(o->d + o->n, p, n);
  o->n += n;
  return 0;
}

static hg_status splice(const uint8_t *fresh, size_t fresh_len, size_t head, const uint8_t *orig, const size_t *starts,
                        const size_t *lens, int count, uint8_t **out, size_t *out_len, hg_error *err) {
  size_t extra = 0;
  for (int i = 0; i < count; i++)
    extra += lens[i];
  out_buf o = {.cap = fresh_len + extra};
  if (!(o.d = malloc(o.cap))) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  put(&o, fresh, head);
  for (int i = 0; i < count; i++)
    put(&o, orig + starts[i], lens[i]);
  put(&o, fresh + head, fresh_len - head);
  *out = o.d;
  *out_len = o.n;
  return HG_OK;
}

#define CARRIED_MAX 16

static hg_status carry_png(const uint8_t *orig, size_t len, const uint8_t *fresh, size_t fresh_len, uint8_t **out,
                           size_t *out_len, hg_error *err) {
  /* the fresh file is ours: signature, then IHDR (8 + 25 bytes) */
  if (fresh_len < 33 || memcmp(fresh + 12, "IHDR", 4) || len < 33 || memcmp(orig + 12, "IHDR", 4)) return HG_OK;
  int colour = orig[25] == 2 || orig[25] == 3 || orig[25] == 6;
  size_t starts[CARRIED_MAX], lens[CARRIED_MAX];
  int count = 0;
  for (size_t at = 8; at + 12 <= len && count < CARRIED_MAX;) {
    uint32_t n = be32(orig + at);
    if (n > len - at - 12) break;
    const uint8_t *type = orig + at + 4;
    if (!memcmp(type, "IDAT", 4) || !memcmp(type, "PLTE", 4) || !memcmp(type, "IEND", 4)) break;
    int wanted = !memcmp(type, "gAMA", 4) || !memcmp(type, "sRGB", 4) || !memcmp(type, "pHYs", 4) ||
                 (colour && (!memcmp(type, "cHRM", 4) || !memcmp(type, "iCCP", 4)));
    if (wanted && hg_crc32(hg_crc32(0, type, 4), type + 4, n) == be32(orig + at + 8 + n)) {
      starts[count] = at;
      lens[count++] = (size_t)n + 12;
    }
    at += (size_t)n + 12;
  }
  if (!count) return HG_OK;
  return splice(fresh, fresh_len, 33, orig, starts, lens, count, out, out_len, err);
}

static hg_status carry_jpeg(const uint8_t *orig, size_t len, const uint8_t *fresh, size_t fresh_len, uint8_t **out,
                            size_t *out_len, hg_error *err) {
  size_t starts[CARRIED_MAX], lens[CARRIED_MAX];
  int count = 0, components = 0;
  for (size_t at = 2; at + 4 <= len && orig[at] == 0xff;) {
    uint8_t m = orig[at + 1];
    if (m == 0xff) { /* fill byte */
      at++;
      continue;
    }
    if (m == 0xda || m == 0xd9) break; /* the scan, or the end */
    size_t n = (size_t)orig[at + 2] << 8 | orig[at + 3];
    if (n < 2 || n > len - at - 2) break;
    if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc && n >= 8) components = orig[at + 9];
    if (m == 0xe2 && n >= 16 && !memcmp(orig + at + 4, "ICC_PROFILE", 12) && count < CARRIED_MAX) {
      starts[count] = at;
      lens[count++] = n + 2;
    }
    at += n + 2;
  }
  if (!count || components != 3) return HG_OK;
  /* after SOI and, when there is one, the fresh file's JFIF APP0 (which must come first) */
  size_t head = 2;
  if (fresh_len >= 6 && fresh[2] == 0xff && fresh[3] == 0xe0) head = 4 + ((size_t)fresh[4] << 8 | fresh[5]);
  if (head > fresh_len) return HG_OK;
  return splice(fresh, fresh_len, head, orig, starts, lens, count, out, out_len, err);
}

hg_status hg_media_carry_colour(const char *format, const uint8_t *orig, size_t len, uint8_t **fresh, size_t *fresh_len,
                                hg_error *err) {
  uint8_t *out = NULL;
  size_t out_len = 0;
  hg_status st = !strcmp(format, "png")    ? carry_png(orig, len, *fresh, *fresh_len, &out, &out_len, err)
                 : !strcmp(format, "jpeg") ? carry_jpeg(orig, len, *fresh, *fresh_len, &out, &out_len, err)
                                           : HG_OK;
  if (!st && out) {
    free(*fresh);
    *fresh = out;
    *fresh_len = out_len;
  }
  return st;
}
