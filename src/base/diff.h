/* base/diff.h — a line diff of two texts, for showing an operator what a policy or lexicon upload changes before
 * it takes effect. Myers' greedy O((N+M)·D) algorithm over lines (lines compared by hash, then bytes), after the
 * common head and tail are set aside; the edit script is the shortest there is, unless it would need more than
 * HG_DIFF_MAX_EDITS edits, in which case the changed middle is given as all of its old lines removed and all of
 * its new ones added (correct, just not the shortest: *minimal says which).
 *
 * A line is its bytes up to and including '\n'; a last line without '\n' is a line too, so "a" and "a\n" differ
 * and applying the script gives back the exact bytes. */
#ifndef HG_BASE_DIFF_H
#define HG_BASE_DIFF_H

#include <stddef.h>

#include "hegui/status.h"

#define HG_DIFF_MAX_LINES 1000000u /* per text: more is HG_ERR_LIMIT */
#define HG_DIFF_MAX_EDITS 2000u    /* the search's bound: its memory is (edits + 1)^2 4-byte integers, 16 MB */

typedef enum hg_diff_op { HG_DIFF_SAME, HG_DIFF_DEL, HG_DIFF_ADD } hg_diff_op;

typedef struct hg_diff_line {
  hg_diff_op op;
  size_t a_line, b_line; /* 1-based: the line's number in a (SAME, DEL) and in b (SAME, ADD); else the number of
                            the next line of that text */
  const char *text;      /* the line's bytes, '\n' included when it has one: in a for DEL, in b for SAME and ADD */
  size_t len;
} hg_diff_line;

/* fn non-zero stops the walk (hg_diff_lines still returns HG_OK). */
typedef int (*hg_diff_fn)(void *ctx, const hg_diff_line *line);

/* Calls fn for every line of the script from a to b, in order. minimal may be NULL. */
hg_status hg_diff_lines(const char *a, size_t alen, const char *b, size_t blen, hg_diff_fn fn, void *ctx,
                        int *minimal, hg_error *err);

#endif
