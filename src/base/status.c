/* status.c — names for hg_status codes and the helpers that fill hg_error records. */
#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *hg_status_name(hg_status status) {
  switch (status) {
  case HG_OK: return "ok";
  case HG_ERR_INVALID: return "invalid argument";
  case HG_ERR_PARSE: return "parse error";
  case HG_ERR_UTF8: return "invalid utf-8";
  case HG_ERR_IO: return "i/o error";
  case HG_ERR_NOMEM: return "out of memory";
  case HG_ERR_CORRUPT: return "corrupt image";
  case HG_ERR_LIMIT: return "limit exceeded";
  case HG_ERR_NOT_FOUND: return "not found";
  case HG_ERR_STORE: return "store error";
  case HG_ERR_CONFLICT: return "changed meanwhile";
  }
  return "unknown status";
}

void hg_error_clear(hg_error *err) {
  if (err) memset(err, 0, sizeof *err);
}

hg_status hg_fail(hg_error *err, hg_status status, size_t line, size_t offset, const char *fmt, ...) {
  if (err) {
    err->status = status;
    err->line = line;
    err->offset = offset;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
  }
  return status;
}
