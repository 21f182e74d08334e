/* base/file.h — the two file operations every image-backed module needs (lexicons, classifier models): opening a file
 * that came from outside (a path in a configuration or on a command line) safely, and replacing a file atomically. */
#ifndef HG_BASE_FILE_H
#define HG_BASE_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "hegui/status.h"

/* Opens path for reading: a regular file only, opened without blocking (a FIFO would hold the caller forever, a
 * device such as /dev/zero would never end), no larger than max_bytes. Returns the descriptor and fills sb, or -1
 * with err filled (HG_ERR_IO, or HG_ERR_LIMIT for a file over the bound). */
int hg_file_open_regular(const char *path, uint64_t max_bytes, struct stat *sb, hg_error *err);

/* Writes data to path atomically: a unique temporary file in the same directory, flushed to disk, renamed into
 * place. On any error the file at path is untouched and the temporary file is removed. */
hg_status hg_file_write_atomic(const char *path, const void *data, size_t len, hg_error *err);

#endif
