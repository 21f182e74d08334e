/* fuzz_multipart.c — the multipart/form-data reader of the file routes (src/gateway/multipart.c). The input is a
 * Content-Type value, a newline, then the body. Every part found must lie inside the body, in order and apart; and a
 * body built again from the parts must read back to the same parts (names, filenames, types, bytes). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/multipart.h"

static int same(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *nl = memchr(data, '\n', size < 300 ? size : 300);
  if (!nl) return 0;
  char ct[301];
  memcpy(ct, data, (size_t)(nl - data));
  ct[nl - data] = '\0';
  const unsigned char *body = nl + 1;
  size_t len = size - (size_t)(nl + 1 - data);
  char boundary[MULTIPART_BOUNDARY_MAX + 1], why[200];
  if (multipart_boundary(ct, boundary)) return 0;
  static mp_form form, again;
  if (multipart_parse(boundary, body, len, &form, why, sizeof why)) {
    if (!why[0]) abort(); /* every refusal says why */
    return 0;
  }
  const unsigned char *last = body;
  for (size_t i = 0; i < form.count; i++) {
    const mp_part *p = &form.parts[i];
    if (p->data < last || p->data + p->len > body + len || !p->name) abort();
    last = p->data + p->len;
  }
  char b2[MULTIPART_BOUNDARY_MAX + 1];
  unsigned char *built;
  size_t blen;
  if (multipart_build(form.parts, form.count, b2, &built, &blen)) return 0;
  if (multipart_parse(b2, built, blen, &again, why, sizeof why) || again.count != form.count) abort();
  for (size_t i = 0; i < form.count; i++) {
    const mp_part *a = &form.parts[i], *b = &again.parts[i];
    /* a name holding a quote or CRLF cannot be written back as it was read; such parts are not compared */
    if (strpbrk(a->name, "\"\r\n") || (a->filename && strpbrk(a->filename, "\"\r\n")) ||
        (a->content_type && strpbrk(a->content_type, "\r\n")))
      continue;
    if (!same(a->name, b->name) || !same(a->filename, b->filename) || a->len != b->len ||
        (a->len && memcmp(a->data, b->data, a->len)))
      abort();
  }
  free(built);
  return 0;
}
