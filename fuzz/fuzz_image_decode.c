/* fuzz_image_decode.c — libFuzzer target for hg_image_decode: any bytes either decode to a raster of the size the
 * header claims or fail with HG_ERR_PARSE/HG_ERR_LIMIT, never crash or leak; a small picture that decodes is given
 * its explicit label (re-encoded with the original's colour chunks carried over), which must decode to the same size.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "hegui/media.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  hg_raster r;
  const char *format = NULL;
  hg_status st = hg_image_decode(data, size, &r, &format, NULL);
  if (st) {
    if (st != HG_ERR_PARSE && st != HG_ERR_LIMIT && st != HG_ERR_NOMEM) abort();
    if (r.px) abort(); /* nothing handed out on failure */
    return 0;
  }
  if (!format || !r.width || !r.height || r.stride < 4 * (size_t)r.width) abort();
  if ((uint64_t)r.width * r.height <= 1u << 20) { /* encoding a big picture per input would only slow the search */
    uint8_t *out;
    size_t len;
    /* decode, label, encode, carry the original's colour chunks (src/media/carry.c parses the input again) */
    if (!hg_explicit_label_buffer(format, data, size, NULL, &out, &len, NULL)) {
      hg_raster back;
      if (hg_image_decode(out, len, &back, NULL, NULL) || back.width != r.width || back.height != r.height) abort();
      hg_raster_free(&back);
      free(out);
    }
  }
  hg_raster_free(&r);
  return 0;
}
