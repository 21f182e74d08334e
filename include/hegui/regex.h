/* hegui/regex.h — operator rules written as regular expressions (PCRE2 syntax), matched on the folded text.
 *
 * A rule set compiles once (JIT where the machine has it) into an immutable, reference-counted hg_regex_set that
 * any number of scanners on any threads may share. Every pattern must have a bounded window: hegui's analyzer
 * works out the most code points one match can look at (what it consumes, the lookahead after it and the
 * lookbehind before it) and refuses `*`, `+`, `{n,}`, recursion, `\X` and whatever else it cannot bound, as well
 * as patterns that can match the empty string. That bound is what lets a scanner stream: it holds back at most a
 * window of text, reports each hit as soon as no later text can change it, and gives exactly the hits of a
 * one-shot scan however the stream is cut. docs/rules.md has the syntax accepted and the reasons.
 *
 * Life cycle: hg_regex_set_build -> hg_regex_scanner_new -> _feed ... _feed -> _finish -> _free (or
 * hg_regex_scan for one buffer of UTF-8). */
#ifndef HEGUI_REGEX_H
#define HEGUI_REGEX_H

#include <stddef.h>
#include <stdint.h>

#include "hegui/lexicon.h"
#include "hegui/status.h"
#include "hegui/text.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HG_REGEX_MAX_WINDOW 256      /* most code points one match may look at */
#define HG_REGEX_MAX_RULES 4096      /* rules in one set */
#define HG_REGEX_MAX_PATTERN 4096    /* bytes of one pattern */
#define HG_REGEX_MAX_NAME 128        /* bytes of one rule name */
#define HG_REGEX_MATCH_LIMIT 1000000 /* PCRE2 steps at one start position before the scan fails (HG_ERR_LIMIT) */

typedef struct hg_regex_rule {
  const char *name;     /* operator's name for the rule, used in errors and verdicts (unique in a set) */
  const char *pattern;  /* PCRE2 syntax, UTF-8; matched against the FOLDED text (lowercase, half width, simplified) */
  hg_category category; /* TC260 risk code (hegui/lexicon.h) */
  hg_action action;     /* block / review / redact / log */
} hg_regex_rule;

typedef struct hg_regex_set hg_regex_set; /* immutable, reference counted, shared by threads */

/* Compiles the rules (names and patterns are copied). A refused rule fails the whole build: err->line is the
 * 1-based number of the rule, err->offset the byte offset in its pattern, and the message names the rule:
 *   rule 'phone-ish': pattern is unbounded at offset 5 ('+'); write {1,20} instead
 * HG_ERR_PARSE for a pattern PCRE2 or the analyzer refuses, HG_ERR_LIMIT for a window over HG_REGEX_MAX_WINDOW or
 * sizes over the other bounds, HG_ERR_INVALID for a bad argument (missing or duplicate name, unknown category or
 * action). */
hg_status hg_regex_set_build(const hg_regex_rule *rules, size_t n, hg_regex_set **out, hg_error *err);
hg_regex_set *hg_regex_set_ref(hg_regex_set *set);
void hg_regex_set_unref(hg_regex_set *set);
size_t hg_regex_set_count(const hg_regex_set *set);
/* The rule as given (its strings are the set's copies, valid while the set lives); NULL when i is out of range. */
const hg_regex_rule *hg_regex_set_rule(const hg_regex_set *set, size_t i);
/* The longest match any rule can make, in code points, lookahead and lookbehind included. */
size_t hg_regex_set_window(const hg_regex_set *set);
/* The same for one rule; 0 when i is out of range. */
size_t hg_regex_set_rule_window(const hg_regex_set *set, size_t i);
/* How many rules run JIT-compiled code (the others use PCRE2's interpreter: same results, slower). */
size_t hg_regex_set_jit_count(const hg_regex_set *set);

typedef struct hg_regex_hit {
  uint32_t rule; /* index for hg_regex_set_rule */
  size_t start;  /* source byte span [start, end): start of the first code point's span, end of the last's */
  size_t end;
} hg_regex_hit;

/* Called for each hit as soon as it is certain, in order of start (then longer first, then by rule). Within one
 * rule hits do not overlap (leftmost, as repeated searches give); different rules are independent. Return
 * non-zero to stop: the feed or finish call then returns HG_OK and the scanner ignores further input. */
typedef int (*hg_regex_fn)(void *ctx, const hg_regex_hit *hit);

typedef struct hg_regex_scanner hg_regex_scanner;

/* A scanner holds its own PCRE2 match data and the last window of the view; it takes a reference on the set. */
hg_status hg_regex_scanner_new(hg_regex_set *set, hg_regex_fn fn, void *ctx, hg_regex_scanner **out);
/* Feeds the next part of the normalized view: folded code points in stream order, each with its flags and the
 * source byte span it came from (several may share one span; spans never go backwards). Parts may be cut
 * anywhere; for hold_from to be exact, a part should end at the end of a source span (all code points folded
 * from one source code point fed together, as hg_normalize makes them). A code point that is not a Unicode
 * scalar value or a span that goes backwards is HG_ERR_INVALID; a search over HG_REGEX_MATCH_LIMIT steps is
 * HG_ERR_LIMIT naming the rule. After an error the scanner refuses input until reset. */
hg_status hg_regex_scanner_feed(hg_regex_scanner *sc, const hg_norm_char *chars, size_t n, hg_error *err);
/* Ends the stream: the end of the text is known, pending hits are decided and reported. */
hg_status hg_regex_scanner_finish(hg_regex_scanner *sc, hg_error *err);
/* Source byte offset from which a hit could still be reported; every byte before it is final. SIZE_MAX when
 * nothing is pending. */
size_t hg_regex_scanner_hold_from(const hg_regex_scanner *sc);
/* Starts a new stream on the same set. */
void hg_regex_scanner_reset(hg_regex_scanner *sc);
void hg_regex_scanner_free(hg_regex_scanner *sc);

/* One shot over UTF-8 source text (normalizes it with hg_normalize first). Invalid UTF-8 is HG_ERR_UTF8. */
hg_status hg_regex_scan(hg_regex_set *set, const char *text, size_t len, hg_regex_fn fn, void *ctx, hg_error *err);

#ifdef __cplusplus
}
#endif
#endif
