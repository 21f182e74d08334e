/* bench_ocr.c — what reading the text of an image costs in hegui: the engine's start-up (hg_ocr_new: loading
 * chi_sim+eng) and the time of hg_ocr_read per image, the median of R rounds over each file given, on one thread
 * and with T threads sharing one engine. bench/ocr.sh draws the images and runs the tesseract program beside it.
 *   bench_ocr [--rounds R] [--threads T] FILE... */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hegui/ocr.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static uint8_t *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc((size_t)n);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) free(buf), buf = NULL;
  fclose(f);
  *len = (size_t)n;
  return buf;
}

typedef struct job {
  hg_ocr *ocr;
  const uint8_t *data;
  size_t len;
  int rounds;
} job;

static void *run_job(void *arg) {
  job *j = arg;
  for (int i = 0; i < j->rounds; i++) {
    hg_ocr_result r;
    if (hg_ocr_read(j->ocr, j->data, j->len, &r, NULL) == HG_OK) hg_ocr_result_free(&r);
  }
  return NULL;
}

int main(int argc, char **argv) {
  int rounds = 5, threads = 2, first = 1;
  for (; first < argc && argv[first][0] == '-'; first += 2) {
    if (first + 1 >= argc) return fprintf(stderr, "%s needs a value\n", argv[first]), 2;
    if (!strcmp(argv[first], "--rounds"))
      rounds = atoi(argv[first + 1]);
    else if (!strcmp(argv[first], "--threads"))
      threads = atoi(argv[first + 1]);
    else
      return fprintf(stderr, "unknown option %s\n", argv[first]), 2;
  }
  if (first >= argc || rounds < 1 || threads < 1 || threads > 16)
    return fprintf(stderr, "usage: bench_ocr [--rounds R] [--threads T] FILE...\n"), 2;
  hg_error err;
  double t0 = now_ms();
  hg_ocr *ocr;
  hg_ocr_options o = {.max_handles = (unsigned)threads};
  if (hg_ocr_new(&o, &ocr, &err)) return fprintf(stderr, "hg_ocr_new: %s\n", err.message), 1;
  printf("engine start-up (hg_ocr_new, chi_sim+eng, one handle): %.0f ms\n", now_ms() - t0);
  for (int f = first; f < argc; f++) {
    size_t len;
    uint8_t *data = slurp(argv[f], &len);
    if (!data) return fprintf(stderr, "cannot read %s\n", argv[f]), 1;
    double *ms = calloc((size_t)rounds, sizeof *ms);
    hg_ocr_result r = {0};
    for (int i = 0; i < rounds; i++) {
      double s = now_ms();
      hg_ocr_result_free(&r);
      if (hg_ocr_read(ocr, data, len, &r, &err)) return fprintf(stderr, "%s: %s\n", argv[f], err.message), 1;
      ms[i] = now_ms() - s;
    }
    qsort(ms, (size_t)rounds, sizeof *ms, cmp_double);
    /* T threads, each reading the image R times on the shared engine (handles made on the first reads) */
    pthread_t t[16];
    job j = {ocr, data, len, rounds};
    double s = now_ms();
    for (int i = 0; i < threads; i++)
      pthread_create(&t[i], NULL, run_job, &j);
    for (int i = 0; i < threads; i++)
      pthread_join(t[i], NULL);
    double per = (now_ms() - s) / (threads * rounds);
    printf("%s\t%ux%u\t%zu chars\tmedian %.0f ms/image\t%d threads: %.0f ms/image\n", argv[f], r.width, r.height, r.len,
           ms[rounds / 2], threads, per);
    hg_ocr_result_free(&r);
    free(ms);
    free(data);
  }
  hg_ocr_free(ocr);
  return 0;
}
