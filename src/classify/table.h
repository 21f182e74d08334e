/* table.h — reading labelled examples from CSV (RFC 4180), TSV or JSON Lines, for classifier training and eval.
 *
 * The reader hands each record's wanted columns to a callback as NUL-terminated, UTF-8-checked strings; every
 * error names the file and the line where the record starts. It lives in the library (not the CLI) so that the
 * fuzz target and the tests reach the same code. */
#ifndef HG_CLASSIFY_TABLE_H
#define HG_CLASSIFY_TABLE_H

#include <stddef.h>

#include "hegui/status.h"

typedef enum hg_table_format { HG_TABLE_CSV, HG_TABLE_TSV, HG_TABLE_JSONL } hg_table_format;

#define HG_TABLE_MAX_FIELDS 4096      /* fields in a CSV/TSV record */
#define HG_TABLE_MAX_VALUE (1u << 20) /* bytes of one value */

/* From a file name's extension: .csv; .tsv or .tab; .jsonl, .ndjson or .json. Returns -1 when unknown. */
int hg_table_format_from_name(const char *name, hg_table_format *out);

/* Called once per record: values[i] and lens[i] for columns[i]. A non-zero status stops the read and is returned
 * (the callback fills err). line is where the record starts (1-based). */
typedef hg_status (*hg_table_row_fn)(void *ctx, size_t line, const char *const *values, const size_t *lens,
                                     hg_error *err);

/* Reads data (the whole file) in the given format. CSV and TSV take column names from the first record (a UTF-8
 * byte order mark before it is skipped); JSON Lines take them from each object's keys. name is the file name for
 * error messages. Blank lines are skipped. */
hg_status hg_table_read(const char *data, size_t len, hg_table_format fmt, const char *name, const char *const *columns,
                        size_t ncols, hg_table_row_fn fn, void *ctx, hg_error *err);

#endif
