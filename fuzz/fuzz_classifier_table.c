/* fuzz_classifier_table.c — libFuzzer target for the CSV/TSV/JSON Lines reader that feeds classifier training:
 * any bytes, read in each of the three formats, either fail with a message that names a line or deliver records
 * whose values are NUL-terminated, as long as reported, and valid UTF-8. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classify/table.h"
#include "hegui/text.h"

static hg_status check_row(void *ctx, size_t line, const char *const *values, const size_t *lens, hg_error *err) {
  (void)err;
  size_t *rows = ctx, bad;
  if (line < 1) abort();
  for (int c = 0; c < 2; c++)
    if (values[c][lens[c]] != 0 || hg_utf8_validate(values[c], lens[c], &bad) != HG_OK) abort();
  ++*rows;
  return HG_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const columns[] = {"text", "label"};
  for (int f = HG_TABLE_CSV; f <= HG_TABLE_JSONL; f++) {
    size_t rows = 0;
    hg_error err;
    hg_error_clear(&err);
    hg_status st =
        hg_table_read((const char *)data, size, (hg_table_format)f, "fuzz", columns, 2, check_row, &rows, &err);
    if (st && (err.status != st || !err.message[0])) abort();
  }
  return 0;
}
