/* clock.c — see base/clock.h. */
#include "base/clock.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { CLOCK_SYSTEM, CLOCK_PINNED, CLOCK_FOLLOW, CLOCK_OFFSET };

static atomic_int mode = CLOCK_SYSTEM;
static _Atomic int64_t pinned; /* CLOCK_PINNED: the time */
static _Atomic int64_t offset; /* CLOCK_OFFSET: what is added to the system's time */
static char follow_path[4096];

static int64_t system_wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t hg_clock_wall_ms(void) {
  switch (atomic_load_explicit(&mode, memory_order_acquire)) {
  case CLOCK_PINNED: return atomic_load(&pinned);
  case CLOCK_OFFSET: return system_wall_ms() + atomic_load(&offset);
  case CLOCK_FOLLOW: {
    FILE *f = fopen(follow_path, "r");
    long long v = 0;
    int ok = f && fscanf(f, "%lld", &v) == 1;
    if (f) fclose(f);
    if (ok) return v;
    return system_wall_ms();
  }
  default: return system_wall_ms();
  }
}

int64_t hg_clock_mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double hg_clock_mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void hg_clock_pin(int64_t ms) {
  atomic_store(&pinned, ms);
  atomic_store_explicit(&mode, CLOCK_PINNED, memory_order_release);
}

int hg_clock_follow(const char *path) {
  size_t n = strlen(path);
  if (n >= sizeof follow_path) return -1;
  /* the path is written once: a reader following an earlier path may be reading it now */
  if (atomic_load(&mode) == CLOCK_FOLLOW) return strcmp(path, follow_path) ? -1 : 0;
  memcpy(follow_path, path, n + 1);
  atomic_store_explicit(&mode, CLOCK_FOLLOW, memory_order_release);
  return 0;
}

void hg_clock_real(void) { atomic_store_explicit(&mode, CLOCK_SYSTEM, memory_order_release); }

void hg_clock_run_from(int64_t ms) {
  /* the offset before the mode that reads it: a reader sees the old mode, or the new one with its value */
  atomic_store(&offset, ms - system_wall_ms());
  atomic_store_explicit(&mode, CLOCK_OFFSET, memory_order_release);
}

int hg_clock_is_test(void) { return atomic_load(&mode) != CLOCK_SYSTEM; }

const char *hg_clock_mode(void) {
  switch (atomic_load(&mode)) {
  case CLOCK_PINNED: return "pinned";
  case CLOCK_FOLLOW: return "file";
  case CLOCK_OFFSET: return "running";
  default: return "system";
  }
}

int hg_clock_set(const char *spec) {
  if (!spec || !*spec) return -1;
  if (*spec == '@') return spec[1] ? hg_clock_follow(spec + 1) : -1;
  if (!strcmp(spec, "now")) return hg_clock_run_from(system_wall_ms()), 0;
  char *end;
  long long v = strtoll(spec, &end, 10);
  if (*end || v < 0) return -1;
  hg_clock_pin(v);
  return 0;
}

int hg_clock_from_env(void) {
  const char *t = getenv("HEGUI_TEST_NOW_MS");
  return t && *t ? hg_clock_set(t) : 0;
}
