/* test_base.c — the shared helpers of base/: the one clock (pinned, followed from a file the test rewrites, back to
 * the system's; the monotonic clock never goes back) and the one atomic file write (replaces whole, leaves nothing
 * behind on failure, the exclusive mode never replaces, the two-step form can be discarded). */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/clock.h"
#include "base/file.h"

static int64_t system_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void clock_modes(void **state) {
  (void)state;
  hg_clock_real();
  int64_t a = system_ms(), w = hg_clock_wall_ms(), b = system_ms();
  assert_true(a <= w && w <= b);

  hg_clock_pin(1234567);
  assert_int_equal(hg_clock_wall_ms(), 1234567);
  assert_int_equal(hg_clock_set("42"), 0);
  assert_int_equal(hg_clock_wall_ms(), 42);
  assert_int_equal(hg_clock_set("4x2"), -1);
  assert_int_equal(hg_clock_set(""), -1);
  assert_int_equal(hg_clock_set("-5"), -1);
  assert_int_equal(hg_clock_set("@"), -1);
  assert_int_equal(hg_clock_wall_ms(), 42); /* a refused setting changes nothing */

  /* followed: the number in the file at every call, the system's clock while the file cannot be read */
  char path[] = "/tmp/hg-test-clock-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  char spec[64];
  snprintf(spec, sizeof spec, "@%s", path);
  FILE *f = fopen(path, "w");
  fprintf(f, "1000\n");
  fclose(f);
  assert_int_equal(hg_clock_set(spec), 0);
  assert_int_equal(hg_clock_wall_ms(), 1000);
  f = fopen(path, "w");
  fprintf(f, "86401000");
  fclose(f);
  assert_int_equal(hg_clock_wall_ms(), 86401000); /* the test moved the clock a day */
  unlink(path);
  a = system_ms(), w = hg_clock_wall_ms(), b = system_ms();
  assert_true(a <= w && w <= b);
  assert_int_equal(hg_clock_follow("/somewhere/else"), -1); /* the followed path is set once */

  hg_clock_pin(7);
  assert_int_equal(hg_clock_wall_ms(), 7);
  hg_clock_real();
  assert_true(hg_clock_wall_ms() > 1700000000000);

  /* monotonic: never back, seconds and milliseconds agree */
  int64_t m0 = hg_clock_mono_ms();
  for (int i = 0; i < 1000; i++) {
    int64_t m = hg_clock_mono_ms();
    assert_true(m >= m0);
    m0 = m;
  }
  double s = hg_clock_mono_s();
  assert_true(s * 1000 >= (double)m0 - 1 && s * 1000 < (double)hg_clock_mono_ms() + 1);
}

static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
  closedir(d);
  return n;
}

static void read_back(const char *path, char *buf, size_t cap) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  size_t n = fread(buf, 1, cap - 1, f);
  buf[n] = 0;
  fclose(f);
}

static void atomic_write(void **state) {
  (void)state;
  char dir[] = "/tmp/hg-test-file-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256], buf[64];
  snprintf(path, sizeof path, "%s/f.txt", dir);
  hg_error err;
  assert_int_equal(hg_file_write_atomic(path, "one", 3, &err), HG_OK);
  read_back(path, buf, sizeof buf);
  assert_string_equal(buf, "one");
  assert_int_equal(hg_file_write_atomic_mode(path, "second", 6, 0600, 0, &err), HG_OK);
  read_back(path, buf, sizeof buf);
  assert_string_equal(buf, "second");
  struct stat sb;
  assert_int_equal(stat(path, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);
  assert_int_equal(count_entries(dir), 1); /* no temporary left */

  /* exclusive: an existing file is never replaced */
  assert_int_equal(hg_file_write_atomic_mode(path, "third", 5, 0644, HG_FILE_EXCLUSIVE, &err), HG_ERR_CONFLICT);
  read_back(path, buf, sizeof buf);
  assert_string_equal(buf, "second");
  char other[256];
  snprintf(other, sizeof other, "%s/g.txt", dir);
  assert_int_equal(hg_file_write_atomic_mode(other, "new", 3, 0600, HG_FILE_EXCLUSIVE, &err), HG_OK);
  read_back(other, buf, sizeof buf);
  assert_string_equal(buf, "new");
  assert_int_equal(count_entries(dir), 2);

  /* two steps: the temporary holds the data until committed; discarded, nothing changes */
  char *tmp = NULL;
  assert_int_equal(hg_file_temp_write(path, "4th", 3, 0644, &tmp, &err), HG_OK);
  assert_non_null(tmp);
  read_back(tmp, buf, sizeof buf);
  assert_string_equal(buf, "4th");
  hg_file_temp_discard(tmp);
  read_back(path, buf, sizeof buf);
  assert_string_equal(buf, "second");
  assert_int_equal(count_entries(dir), 2);
  assert_int_equal(hg_file_temp_write(path, "5th", 3, 0644, &tmp, &err), HG_OK);
  assert_int_equal(hg_file_commit(tmp, path, 0, &err), HG_OK);
  read_back(path, buf, sizeof buf);
  assert_string_equal(buf, "5th");
  assert_int_equal(count_entries(dir), 2);

  /* a directory that is not there: an error, and nothing created */
  char missing[300];
  snprintf(missing, sizeof missing, "%s/no/such/dir/f", dir);
  assert_int_equal(hg_file_write_atomic(missing, "x", 1, &err), HG_ERR_IO);
  assert_non_null(strstr(err.message, missing));
  /* a path that is a directory: rename fails, the temporary is removed */
  char sub[300];
  snprintf(sub, sizeof sub, "%s/d", dir);
  assert_int_equal(mkdir(sub, 0700), 0);
  char inner[320];
  snprintf(inner, sizeof inner, "%s/x", sub);
  FILE *f = fopen(inner, "w");
  fclose(f);
  assert_int_equal(hg_file_write_atomic(sub, "x", 1, &err), HG_ERR_IO);
  assert_int_equal(count_entries(dir), 3);
  unlink(inner);
  rmdir(sub);
  unlink(path);
  unlink(other);
  assert_int_equal(rmdir(dir), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(clock_modes), cmocka_unit_test(atomic_write)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
