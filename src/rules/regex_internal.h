/* rules/regex_internal.h — what regex.c and the pattern analyzer share, and the PCRE2 settings every caller that
 * wants the same matches must use (the tests' naive reference compiles with them too). */
#ifndef HG_RULES_REGEX_INTERNAL_H
#define HG_RULES_REGEX_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "hegui/status.h"

/* UTF: code points, not code units. No UCP: \d \w \s \b are ASCII, which is what folded text needs (full-width
 * digits and letters are ASCII after folding) and keeps Han characters out of \w, so `\bqq` matches in "加qq".
 * ALT_CIRCUMFLEX: a multiline ^ matches after every newline, also one that ends the text. Without it ^ would
 * depend on whether more text follows, which hard partial matching does not report (PCRE2 flags only \z \Z $ \b
 * \B at the end), so "a\n(?m)^b" cut after the newline would be lost; with it ^ only looks back. The two differ
 * only at the very end of a text, where nothing is left for a rule to consume anyway.
 * \C is locked out (it would step inside a character in other widths and the analyzer refuses it anyway). */
#define HG_REGEX_PCRE2_OPTIONS (PCRE2_UTF | PCRE2_ALT_CIRCUMFLEX | PCRE2_NEVER_BACKSLASH_C)
/* Set explicitly so that the analyzer's idea of `$` and \R holds whatever PCRE2's build defaults are. */
#define HG_REGEX_PCRE2_NEWLINE PCRE2_NEWLINE_LF
#define HG_REGEX_PCRE2_BSR PCRE2_BSR_UNICODE

/* What the analyzer found about one pattern, all in code points relative to where a match starts. */
typedef struct hg_regex_shape {
  size_t min_len, max_len; /* code points a match consumes */
  size_t behind;           /* code points before the start that a match attempt may inspect */
  size_t ahead;            /* end of the furthest code point inspected, counted from the start (>= max_len) */
  size_t groups;           /* capturing groups, checked against PCRE2's own count */
} hg_regex_shape;

/* Analyzes a pattern that PCRE2 has already compiled, given as code points. On refusal returns HG_ERR_PARSE with
 * *at the index of the offending code point and why a message without the rule's name. */
hg_status hg_regex_analyze(const uint32_t *pattern, size_t n, hg_regex_shape *out, size_t *at, char *why,
                           size_t why_cap);

#endif
