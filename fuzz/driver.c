/* driver.c — runs a libFuzzer target without libFuzzer, so that every build (gcc, ASan+UBSan) exercises the fuzz
 * targets in CTest: each file given (or each file in a directory given) is run as is and then as N deterministic
 * mutations (bit flips, byte changes, truncations, insertions, splices). `make fuzz` builds the real libFuzzer
 * binaries with clang for open-ended runs. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static size_t runs;

static void run_mutations(const uint8_t *data, size_t size, long mutations) {
  LLVMFuzzerTestOneInput(data, size);
  runs++;
  uint8_t *buf = malloc(size + 64);
  if (!buf) abort();
  for (long m = 0; m < mutations; m++) {
    size_t n = size;
    memcpy(buf, data, size);
    int edits = 1 + (int)(next_rand() % 4);
    for (int e = 0; e < edits; e++) {
      switch (next_rand() % 5) {
      case 0:
        if (n) buf[next_rand() % n] ^= (uint8_t)(1u << (next_rand() % 8));
        break;
      case 1:
        if (n) buf[next_rand() % n] = (uint8_t)next_rand();
        break;
      case 2:
        if (n) n = next_rand() % n;
        break;
      case 3:
        if (n < size + 60) {
          size_t at = n ? next_rand() % n : 0;
          memmove(buf + at + 1, buf + at, n - at);
          buf[at] = (uint8_t)next_rand();
          n++;
        }
        break;
      default:
        if (n > 8) {
          size_t a = next_rand() % n, b = next_rand() % n, l = 1 + next_rand() % 8;
          if (a + l <= n && b + l <= n) memmove(buf + a, buf + b, l);
        }
      }
    }
    LLVMFuzzerTestOneInput(buf, n);
    runs++;
  }
  free(buf);
}

static void run_file(const char *path, long mutations) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "cannot open %s\n", path);
    exit(2);
  }
  size_t cap = 1 << 16, n = 0;
  uint8_t *buf = malloc(cap);
  size_t r;
  while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
    n += r;
    if (n == cap) buf = realloc(buf, cap *= 2);
  }
  fclose(f);
  if (!buf) abort();
  run_mutations(buf, n, mutations);
  free(buf);
}

int main(int argc, char **argv) {
  long mutations = 200;
  int files = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--mutations") && i + 1 < argc) {
      mutations = strtol(argv[++i], NULL, 10);
      continue;
    }
    struct stat sb;
    if (stat(argv[i], &sb) == 0 && S_ISDIR(sb.st_mode)) {
      DIR *d = opendir(argv[i]);
      struct dirent *de;
      while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", argv[i], de->d_name);
        run_file(p, mutations);
        files++;
      }
      if (d) closedir(d);
    } else {
      run_file(argv[i], mutations);
      files++;
    }
  }
  if (!files) run_mutations((const uint8_t *)"", 0, mutations);
  printf("%zu inputs from %d seed files ran clean\n", runs, files);
  return 0;
}
