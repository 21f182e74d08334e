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
#include "base/sha256.h"

#include <sodium.h>

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

/* SHA-256 against libsodium's, both compressions (the SHA extensions where the CPU has them, and the plain loop):
 * the FIPS 180-4 examples, every length 0..1100 (every padding case), and 300 random texts fed in random pieces. */
static void sha256_matches(void **state) {
  (void)state;
  static const struct {
    const char *text, *hex;
  } fips[] = {{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
              {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
              {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
               "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"}};
  uint8_t buf[1200], a[32], b[32];
  for (size_t i = 0; i < sizeof buf; i++)
    buf[i] = (uint8_t)(i * 131 + 7);
  for (int portable = 0; portable < 2; portable++) {
    int shani = hg_sha256_force_portable(portable);
    if (portable) assert_int_equal(shani, 0);
    for (size_t i = 0; i < sizeof fips / sizeof fips[0]; i++) {
      char hex[65];
      hg_sha256_hex(fips[i].text, strlen(fips[i].text), hex);
      assert_string_equal(hex, fips[i].hex);
    }
    for (size_t len = 0; len <= 1100; len++) {
      hg_sha256(buf, len, a);
      crypto_hash_sha256(b, buf, len);
      assert_memory_equal(a, b, 32);
    }
    uint32_t seed = 12345;
    for (int t = 0; t < 300; t++) {
      seed = seed * 1103515245u + 12345u;
      size_t len = seed % sizeof buf;
      hg_sha256_ctx c;
      hg_sha256_init(&c);
      for (size_t at = 0; at < len;) {
        seed = seed * 1103515245u + 12345u;
        size_t piece = 1 + seed % 150;
        if (piece > len - at) piece = len - at;
        hg_sha256_update(&c, buf + at, piece);
        at += piece;
      }
      hg_sha256_final(&c, a);
      crypto_hash_sha256(b, buf, len);
      assert_memory_equal(a, b, 32);
    }
  }
  hg_sha256_force_portable(0);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(clock_modes), cmocka_unit_test(atomic_write),
                                     cmocka_unit_test(sha256_matches)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
