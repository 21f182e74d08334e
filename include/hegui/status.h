/* hegui/status.h — the one result type every fallible hegui call returns, and the error detail beside it.
 *
 * A call returns HG_OK (0) or one of a short list of codes; when the caller passes an hg_error, it is filled with
 * a message a person can act on and, for errors in input data, the line and byte offset where it happened. */
#ifndef HEGUI_STATUS_H
#define HEGUI_STATUS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hg_status {
  HG_OK = 0,
  HG_ERR_INVALID = 1,   /* a bad argument from the caller */
  HG_ERR_PARSE = 2,     /* input data that does not follow its format */
  HG_ERR_UTF8 = 3,      /* text that is not valid UTF-8 */
  HG_ERR_IO = 4,        /* a file could not be read or written */
  HG_ERR_NOMEM = 5,     /* out of memory */
  HG_ERR_CORRUPT = 6,   /* a compiled image that is truncated, damaged or of another version */
  HG_ERR_LIMIT = 7,     /* input beyond a documented bound */
  HG_ERR_NOT_FOUND = 8, /* no such record (an unknown API key, user, ticket) */
  HG_ERR_STORE = 9,     /* the store (database) failed */
  HG_ERR_CONFLICT = 10  /* the record changed since it was read (a compare-and-set that did not hold) */
} hg_status;

typedef struct hg_error {
  hg_status status;
  size_t line;   /* 1-based line in the input, 0 when not applicable */
  size_t offset; /* byte offset in the input where the problem starts */
  char message[320];
} hg_error;

/* A short, stable name for a status code ("ok", "invalid utf-8", ...). */
const char *hg_status_name(hg_status status);

/* Clears an error record (safe with NULL). */
void hg_error_clear(hg_error *err);

#ifdef __cplusplus
}
#endif
#endif
