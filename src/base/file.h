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

/* Writing a file so that a reader, or the disk after a crash, has the old file or the new one, never half of one:
 * the data goes to a unique temporary file beside path (mode as given), is flushed (fsync), renamed over path (or,
 * with HG_FILE_EXCLUSIVE, linked to it so an existing file is never replaced), and the directory is flushed so the
 * rename itself is durable. This is the one implementation; every module that replaces a file uses it.
 *
 * The two steps are separate for callers that check the new file before it takes the old one's place (a lexicon
 * upload compiled from its temporary file): hg_file_temp_write gives the temporary's name (malloc-ed), and
 * hg_file_commit or hg_file_temp_discard takes it (freed in every case). On any error path is untouched and the
 * temporary file is removed. */
#define HG_FILE_EXCLUSIVE 1u /* never replace an existing path: HG_ERR_CONFLICT when it exists */
hg_status hg_file_temp_write(const char *path, const void *data, size_t len, mode_t mode, char **tmp_out,
                             hg_error *err);
/* HG_FILE_NOSYNC (temp_write, commit): no fsync of the file or the directory; the caller makes the data durable
 * itself (hg_file_sync_fs) before the commit, and the rename after it, or the old-or-new guarantee does not hold. */
#define HG_FILE_NOSYNC 2u
hg_status hg_file_temp_write_flags(const char *path, const void *data, size_t len, mode_t mode, unsigned flags,
                                   char **tmp_out, hg_error *err);
/* syncfs(2) of the file system that holds path. */
hg_status hg_file_sync_fs(const char *path, hg_error *err);
hg_status hg_file_commit(char *tmp, const char *path, unsigned flags, hg_error *err);
void hg_file_temp_discard(char *tmp);
hg_status hg_file_write_atomic_mode(const char *path, const void *data, size_t len, mode_t mode, unsigned flags,
                                    hg_error *err);
/* The same with mode 0644, replacing. */
hg_status hg_file_write_atomic(const char *path, const void *data, size_t len, hg_error *err);

#endif
