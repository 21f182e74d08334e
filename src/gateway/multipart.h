/* multipart.[ch] — multipart/form-data (RFC 7578) as OpenAI's file routes take it: /v1/images/edits and
 * /v1/audio/transcriptions. The reader finds the parts of a body in place (nothing is copied: a part's name,
 * filename, type and data point into the body, which must outlive them); the writer builds a body again from parts,
 * so that a request whose prompt was redacted leaves with the redacted prompt.
 *
 * Bounds: at most MULTIPART_MAX_PARTS parts, a part's header block at most MULTIPART_MAX_HEADER bytes; names and
 * filenames are given as they are (quoted-string escapes are not undone: browsers and the openai clients send none).
 * Anything else about a body that does not follow the format is an error with a message naming what and where. */
#ifndef HG_GATEWAY_MULTIPART_H
#define HG_GATEWAY_MULTIPART_H

#include <stddef.h>

#define MULTIPART_MAX_PARTS 32
#define MULTIPART_MAX_HEADER 2048
#define MULTIPART_BOUNDARY_MAX 70 /* RFC 2046 */

typedef struct mp_part {
  const char *name, *filename, *content_type; /* NUL-terminated copies in the parsed set's own storage */
  const unsigned char *data;                  /* into the body */
  size_t len;
} mp_part;

typedef struct mp_form {
  mp_part parts[MULTIPART_MAX_PARTS];
  size_t count;
  char strings[MULTIPART_MAX_PARTS * 3][256]; /* the names, filenames and types (cut at 255 bytes) */
} mp_form;

/* The boundary of a Content-Type header value "multipart/form-data; boundary=...": 0 and out filled, or -1 when the
 * type is not multipart/form-data or the boundary is missing or invalid. */
int multipart_boundary(const char *content_type, char out[MULTIPART_BOUNDARY_MAX + 1]);

/* Parses body into form. 0, or -1 with why (a static or err-filled message) saying what is wrong. */
int multipart_parse(const char *boundary, const unsigned char *body, size_t len, mp_form *form, char *why,
                    size_t why_cap);

/* The first part named name, or NULL. */
const mp_part *multipart_get(const mp_form *form, const char *name);

/* Builds a body of the parts with a fresh boundary (written to boundary_out). *out is malloc-ed; -1 when out of
 * memory. */
int multipart_build(const mp_part *parts, size_t n, char boundary_out[MULTIPART_BOUNDARY_MAX + 1], unsigned char **out,
                    size_t *out_len);

#endif
