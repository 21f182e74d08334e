/* skeletons.c — a build-time helper for tools/gen/gen_tables.py: prints the Unicode UTS #39 confusable skeleton
 * of every assigned code point whose skeleton is not the code point itself, as computed by ICU's spoof checker
 * (its data is confusables.txt of the Unicode version ICU was built with). One line per code point:
 * `XXXX;YYYY ZZZZ ...` in hexadecimal. The generator decides which of these become folds; this program only
 * reports the data, so that the policy lives in one place. Usage: skeletons OUT_FILE */
#include <stdio.h>
#include <stdlib.h>

#include <unicode/uchar.h>
#include <unicode/uclean.h>
#include <unicode/uspoof.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s OUT_FILE\n", argv[0]);
    return 2;
  }
  UErrorCode status = U_ZERO_ERROR;
  USpoofChecker *sc = uspoof_open(&status);
  if (U_FAILURE(status)) {
    fprintf(stderr, "skeletons: uspoof_open: %s\n", u_errorName(status));
    return 1;
  }
  FILE *out = fopen(argv[1], "w");
  if (!out) {
    perror(argv[1]);
    uspoof_close(sc);
    return 1;
  }
  fprintf(out, "# UTS #39 skeletons from ICU %s (Unicode %s)\n", U_ICU_VERSION, U_UNICODE_VERSION);
  long lines = 0;
  for (UChar32 cp = 0; cp <= 0x10FFFF; cp++) {
    if (U_IS_SURROGATE(cp) || u_charType(cp) == U_UNASSIGNED) continue;
    UChar src[2], dst[64];
    int32_t n = 0;
    U16_APPEND_UNSAFE(src, n, cp);
    status = U_ZERO_ERROR;
    int32_t m = uspoof_getSkeleton(sc, 0, src, n, dst, (int32_t)(sizeof dst / sizeof *dst), &status);
    if (U_FAILURE(status)) {
      fprintf(stderr, "skeletons: U+%04X: %s\n", (unsigned)cp, u_errorName(status));
      fclose(out);
      uspoof_close(sc);
      return 1;
    }
    if (m == n && src[0] == dst[0] && (n == 1 || src[1] == dst[1])) continue;
    fprintf(out, "%04X;", (unsigned)cp);
    for (int32_t i = 0; i < m;) {
      UChar32 c;
      U16_NEXT(dst, i, m, c);
      fprintf(out, "%s%04X", i > U16_LENGTH(c) ? " " : "", (unsigned)c);
    }
    fputc('\n', out);
    lines++;
  }
  uspoof_close(sc);
  u_cleanup(); /* ICU's caches, so that a leak-checking build of this program stays quiet */
  if (fclose(out) != 0) {
    perror(argv[1]);
    return 1;
  }
  fprintf(stderr, "skeletons: %ld code points with a skeleton of their own (ICU %s)\n", lines, U_ICU_VERSION);
  return 0;
}
