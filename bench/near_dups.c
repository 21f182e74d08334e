/* near_dups.c — what strikes.near_duplicates_per_hour and near_duplicate_bits would strike (src/gateway/abuse.c):
 * each file (one prompt per line) is sent as one user's prompts within one hour, and the tool prints how many of
 * them reach the threshold, for a grid of thresholds and bit distances. Run by bench/run.sh on the safety-prompt
 * sets (prompts people write, templated jailbreaks among them) and on COLD comments (many writers, short texts):
 * the false-positive cost of the defaults, measured. A measurement: it never fails on a figure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/abuse.h"

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: near_dups FILE...  (one prompt per line)\n");
    return 2;
  }
  static const unsigned bits[] = {3, 6, 10, 12, 16};
  static const unsigned thresholds[] = {10, 30, 60};
  printf("%-28s %7s", "prompts (one user, one hour)", "n");
  for (size_t b = 0; b < sizeof bits / sizeof *bits; b++)
    for (size_t t = 0; t < sizeof thresholds / sizeof *thresholds; t++)
      printf(" %4ub/%-3u", bits[b], thresholds[t]);
  printf("\n");
  for (int f = 1; f < argc; f++) {
    FILE *in = fopen(argv[f], "r");
    if (!in) {
      fprintf(stderr, "near_dups: cannot read %s\n", argv[f]);
      return 2;
    }
    size_t cap = 1024, n = 0;
    char **lines = malloc(cap * sizeof *lines), buf[65536];
    while (fgets(buf, sizeof buf, in)) {
      size_t l = strcspn(buf, "\n");
      buf[l] = 0;
      if (!l) continue;
      if (n == cap) lines = realloc(lines, (cap *= 2) * sizeof *lines);
      lines[n++] = strdup(buf);
    }
    fclose(in);
    const char *name = strrchr(argv[f], '/') ? strrchr(argv[f], '/') + 1 : argv[f];
    printf("%-28.28s %7zu", name, n);
    for (size_t b = 0; b < sizeof bits / sizeof *bits; b++)
      for (size_t t = 0; t < sizeof thresholds / sizeof *thresholds; t++) {
        dup_table *tab = dup_table_new();
        size_t struck = 0;
        for (size_t i = 0; i < n; i++) /* all within the hour: one prompt a second */
          struck += dup_note(tab, "u", dup_fingerprint(lines[i], strlen(lines[i])), (int64_t)i * 1000, bits[b]) >=
                    thresholds[t];
        dup_table_free(tab);
        printf(" %8.1f%%", n ? 100.0 * (double)struck / (double)n : 0.0);
      }
    printf("\n");
    for (size_t i = 0; i < n; i++)
      free(lines[i]);
    free(lines);
  }
  return 0;
}
