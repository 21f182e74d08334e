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

hg_status hg_file_write_atomic(const char *path, const void *data, size_t len, hg_error *err) {
  size_t plen = strlen(path);
  char *tmp = malloc(plen + 16);
  if (!tmp) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  snprintf(tmp, plen + 16, "%s.tmpXXXXXX", path); /* unique: two writers of one path never share a temporary */
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
  int ok = !left && fchmod(fd, 0644) == 0 && fsync(fd) == 0;
  ok &= close(fd) == 0;
  if (!ok || rename(tmp, path) != 0) {
    hg_status st = hg_fail(err, HG_ERR_IO, 0, 0, "cannot write %s: %s", path, strerror(errno));
    unlink(tmp);
    free(tmp);
    return st;
  }
  free(tmp);
  return HG_OK;
}
