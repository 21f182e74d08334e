/* file.c — opening outside files safely and replacing files atomically (base/file.h), shared by every module that
 * keeps an image on disk, so that the checks and the write protocol exist once. */
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"

int hg_file_open_regular(const char *path, uint64_t max_bytes, struct stat *sb, hg_error *err) {
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return hg_fail(err, HG_ERR_IO, 0, 0, "cannot open %s: %s", path, strerror(errno)), -1;
  if (fstat(fd, sb) != 0) {
    hg_fail(err, HG_ERR_IO, 0, 0, "cannot stat %s: %s", path, strerror(errno));
    close(fd);
    return -1;
  }
  if (!S_ISREG(sb->st_mode)) {
    hg_fail(err, HG_ERR_IO, 0, 0, "%s is not a regular file", path);
    close(fd);
    return -1;
  }
  if ((uint64_t)sb->st_size > max_bytes) {
    hg_fail(err, HG_ERR_LIMIT, 0, 0, "%s is %lld bytes; at most %llu are read", path, (long long)sb->st_size,
            (unsigned long long)max_bytes);
    close(fd);
    return -1;
  }
  return fd;
}

/* A unique temporary name beside path: two writers of one path never share a temporary. */
hg_status hg_file_temp_write(const char *path, const void *data, size_t len, mode_t mode, char **tmp_out,
                             hg_error *err) {
  return hg_file_temp_write_flags(path, data, len, mode, 0, tmp_out, err);
}

hg_status hg_file_temp_write_flags(const char *path, const void *data, size_t len, mode_t mode, unsigned flags,
                                   char **tmp_out, hg_error *err) {
  *tmp_out = NULL;
  size_t plen = strlen(path);
  char *tmp = malloc(plen + 16);
  if (!tmp) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  snprintf(tmp, plen + 16, "%s.tmpXXXXXX", path);
  int fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0) {
    hg_status st = hg_fail(err, HG_ERR_IO, 0, 0, "cannot create a temporary file beside %s: %s", path, strerror(errno));
    free(tmp);
    return st;
  }
  const unsigned char *p = data;
  size_t left = len;
  while (left) {
    ssize_t w = write(fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    p += w;
    left -= (size_t)w;
  }
  int ok = !left && fchmod(fd, mode) == 0 && ((flags & HG_FILE_NOSYNC) || fsync(fd) == 0);
  int e = left && !errno ? ENOSPC : errno;
  if (close(fd) != 0 && ok) ok = 0, e = errno;
  if (!ok) {
    hg_status st = hg_fail(err, HG_ERR_IO, 0, 0, "cannot write %s: %s", path, strerror(e ? e : EIO));
    unlink(tmp);
    free(tmp);
    return st;
  }
  *tmp_out = tmp;
  return HG_OK;
}

/* Syncs the directory that holds path, so that a rename or a link in it survives a crash. */
static int sync_dir_of(const char *path) {
  const char *slash = strrchr(path, '/');
  char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
  if (!dir) return -1;
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  free(dir);
  if (dfd < 0) return -1;
  int rc = fsync(dfd);
  close(dfd);
  return rc;
}

hg_status hg_file_commit(char *tmp, const char *path, unsigned flags, hg_error *err) {
  int ok = (flags & HG_FILE_EXCLUSIVE) ? link(tmp, path) == 0 : rename(tmp, path) == 0;
  int e = errno;
  if (!ok || (flags & HG_FILE_EXCLUSIVE)) unlink(tmp); /* a link leaves the temporary name behind */
  free(tmp);
  if (!ok)
    return hg_fail(err, e == EEXIST ? HG_ERR_CONFLICT : HG_ERR_IO, 0, 0, "cannot write %s: %s", path, strerror(e));
  if (!(flags & HG_FILE_NOSYNC) && sync_dir_of(path))
    return hg_fail(err, HG_ERR_IO, 0, 0, "%s is written, but its directory cannot be synced: %s", path,
                   strerror(errno));
  return HG_OK;
}

void hg_file_temp_discard(char *tmp) {
  if (!tmp) return;
  unlink(tmp);
  free(tmp);
}

hg_status hg_file_write_atomic_mode(const char *path, const void *data, size_t len, mode_t mode, unsigned flags,
                                    hg_error *err) {
  char *tmp;
  hg_status st = hg_file_temp_write(path, data, len, mode, &tmp, err);
  return st ? st : hg_file_commit(tmp, path, flags, err);
}

hg_status hg_file_write_atomic(const char *path, const void *data, size_t len, hg_error *err) {
  return hg_file_write_atomic_mode(path, data, len, 0644, 0, err);
}

hg_status hg_file_sync_fs(const char *path, hg_error *err) {
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return hg_fail(err, HG_ERR_IO, 0, 0, "cannot open %s: %s", path, strerror(errno));
  int rc = syncfs(fd);
  int e = errno;
  close(fd);
  return rc ? hg_fail(err, HG_ERR_IO, 0, 0, "cannot sync the file system of %s: %s", path, strerror(e)) : HG_OK;
}
