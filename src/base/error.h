/* base/error.h — private helpers for building hg_error records inside the library. */
#ifndef HG_BASE_ERROR_H
#define HG_BASE_ERROR_H

#include "hegui/status.h"

/* Fills err (when not NULL) and returns status, so that a failing path reads `return hg_fail(...)`. */
hg_status hg_fail(hg_error *err, hg_status status, size_t line, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
