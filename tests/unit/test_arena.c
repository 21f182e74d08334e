/* test_arena.c — the per-request arena (src/base/arena.c): alignment (the default, and asked for up to 4 KB),
 * allocations that never overlap (10,000 of random sizes, each filled and checked against a copy made with malloc),
 * large allocations past the chunk size, the limit, overflowing sizes, growing in place and by copy, and under
 * AddressSanitizer the red zone after each allocation and the poisoned remainder: checked with ASan's own query,
 * and an overrun in a child process that ASan must stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <stdalign.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/arena.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifdef TEST_ASAN
#include <sanitizer/asan_interface.h>
#endif

static int aligned(const void *p, size_t align) { return ((uintptr_t)p & (align - 1)) == 0; }

static void alignment(void **state) {
  (void)state;
  hg_arena a;
  hg_arena_init(&a, 256, 0);
  for (size_t size = 0; size < 300; size++) {
    void *p = hg_arena_alloc(&a, size);
    assert_non_null(p);
    assert_true(aligned(p, alignof(max_align_t)));
  }
  for (size_t align = 1; align <= HG_ARENA_MAX_ALIGN; align *= 2) {
    void *p = hg_arena_alloc_aligned(&a, 3, align);
    assert_non_null(p);
    assert_true(aligned(p, align));
  }
  assert_null(hg_arena_alloc_aligned(&a, 8, 0));
  assert_null(hg_arena_alloc_aligned(&a, 8, 3));
  assert_null(hg_arena_alloc_aligned(&a, 8, 48));
  assert_null(hg_arena_alloc_aligned(&a, 8, 2 * HG_ARENA_MAX_ALIGN));
  hg_arena_free(&a);
  assert_null(a.chunks);
  assert_int_equal(a.taken_bytes, 0);
  /* usable again after a free */
  assert_non_null(hg_arena_alloc(&a, 10));
  hg_arena_free(&a);
}

/* xorshift: the same sequence on every run */
static uint32_t next_random(uint32_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 17;
  *s ^= *s << 5;
  return *s;
}

static void no_overlap(void **state) {
  (void)state;
  enum { N = 10000 };
  hg_arena a;
  hg_arena_init(&a, 0, 0);
  unsigned char **got = calloc(N, sizeof *got), **ref = calloc(N, sizeof *ref);
  size_t *len = calloc(N, sizeof *len);
  uint32_t seed = 12345;
  size_t total = 0;
  for (int i = 0; i < N; i++) {
    uint32_t r = next_random(&seed);
    len[i] = r % 16 == 0 ? r % 20000 : r % 200; /* mostly small, some past the chunk size */
    got[i] = hg_arena_alloc(&a, len[i]);
    assert_non_null(got[i]);
    ref[i] = malloc(len[i] + 1);
    for (size_t k = 0; k < len[i]; k++)
      ref[i][k] = (unsigned char)next_random(&seed);
    memcpy(got[i], ref[i], len[i]);
    total += len[i];
  }
  for (int i = 0; i < N; i++)
    if (memcmp(got[i], ref[i], len[i])) fail_msg("allocation %d (%zu bytes) was overwritten", i, len[i]);
  assert_true(a.taken_bytes >= total);
  hg_arena_free(&a);
  for (int i = 0; i < N; i++)
    free(ref[i]);
  free(got);
  free(ref);
  free(len);
}

static void limits_and_overflow(void **state) {
  (void)state;
  hg_arena a;
  hg_arena_init(&a, 1024, 4096);
  assert_null(hg_arena_alloc(&a, SIZE_MAX));
  assert_null(hg_arena_alloc(&a, SIZE_MAX - 8));
  assert_null(hg_arena_calloc(&a, SIZE_MAX / 2, 4));
  assert_null(hg_arena_calloc(&a, 4, SIZE_MAX / 2));
  assert_null(hg_arena_memdup0(&a, "", SIZE_MAX));
  assert_null(hg_arena_alloc(&a, 5000)); /* more than the limit at once */
  size_t n = 0;
  while (hg_arena_alloc(&a, 100))
    n++;
  assert_true(n >= 20); /* at least the bytes the limit leaves after the chunk headers */
  assert_true(a.taken_bytes <= 4096);
  hg_arena_free(&a);
  /* without a limit, a large allocation gets a chunk of its own and is whole */
  hg_arena_init(&a, 1024, 0);
  unsigned char *big = hg_arena_alloc(&a, 100000);
  assert_non_null(big);
  memset(big, 0xab, 100000);
  unsigned char *small = hg_arena_calloc(&a, 10, 10);
  assert_non_null(small);
  for (int i = 0; i < 100; i++)
    assert_int_equal(small[i], 0);
  assert_int_equal(big[99999], 0xab);
  hg_arena_free(&a);
}

static void grow_and_copy(void **state) {
  (void)state;
  hg_arena a;
  hg_arena_init(&a, 4096, 0);
  char *p = hg_arena_grow(&a, NULL, 0, 10);
  assert_non_null(p);
  memcpy(p, "0123456789", 10);
  char *q = hg_arena_grow(&a, p, 10, 100); /* the latest: in place */
  assert_ptr_equal(q, p);
  assert_memory_equal(q, "0123456789", 10);
  memset(q + 10, 'x', 90);
  char *other = hg_arena_strdup(&a, "other");
  assert_string_equal(other, "other");
  char *r = hg_arena_grow(&a, q, 100, 200); /* no longer the latest: copied */
  assert_ptr_not_equal(r, q);
  assert_memory_equal(r, "0123456789", 10);
  assert_int_equal(r[99], 'x');
  char *s = hg_arena_grow(&a, r, 200, 10000); /* past the chunk: copied into a new one */
  assert_non_null(s);
  assert_memory_equal(s, "0123456789", 10);
  s = hg_arena_grow(&a, s, 10000, 5); /* shrinking keeps the start */
  assert_memory_equal(s, "01234", 5);
  assert_string_equal(other, "other");
  char *m = hg_arena_memdup0(&a, "ab\0cd", 5);
  assert_memory_equal(m, "ab\0cd", 6);
  hg_arena_free(&a);
}

static void self_hosted(void **state) {
  (void)state;
  hg_arena *a = hg_arena_new(512, 0);
  assert_non_null(a);
  for (int i = 0; i < 100; i++) {
    char *s = hg_arena_strdup(a, "a string of some length");
    assert_non_null(s);
  }
  int *x = hg_arena_calloc(a, 1000, sizeof *x);
  assert_non_null(x);
  x[999] = 7;
  hg_arena_destroy(a);
  hg_arena_destroy(NULL);
  a = hg_arena_new(0, 100); /* a limit below the first chunk */
  assert_null(a);
}

#ifdef TEST_ASAN
static void poisoned(void **state) {
  (void)state;
  hg_arena a;
  hg_arena_init(&a, 4096, 0);
  unsigned char *p = hg_arena_alloc(&a, 13);
  assert_false(__asan_address_is_poisoned(p));
  assert_false(__asan_address_is_poisoned(p + 12));
  assert_true(__asan_address_is_poisoned(p + 13)); /* the red zone */
  unsigned char *q = hg_arena_alloc(&a, 8);
  assert_true(__asan_address_is_poisoned(q + 8));
  assert_true(__asan_address_is_poisoned(q + 100)); /* not handed out */
  unsigned char *r = hg_arena_grow(&a, q, 8, 40);   /* in place: the new bytes usable */
  assert_ptr_equal(r, q);
  assert_false(__asan_address_is_poisoned(r + 39));
  assert_true(__asan_address_is_poisoned(r + 40));
  unsigned char *s = hg_arena_grow(&a, p, 13, 20); /* a copy: the old block is poisoned */
  assert_true(__asan_address_is_poisoned(p));
  assert_false(__asan_address_is_poisoned(s + 19));
  /* and ASan stops a process that writes one byte past an allocation */
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int devnull = open("/dev/null", 1);
    if (devnull >= 0) dup2(devnull, 2);
    volatile unsigned char *v = s;
    v[20] = 1;
    _exit(0);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  hg_arena_free(&a);
}
#endif

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(alignment),     cmocka_unit_test(no_overlap),  cmocka_unit_test(limits_and_overflow),
      cmocka_unit_test(grow_and_copy), cmocka_unit_test(self_hosted),
#ifdef TEST_ASAN
      cmocka_unit_test(poisoned),
#endif
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
