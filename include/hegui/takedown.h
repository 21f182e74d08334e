/* hegui/takedown.h — reported content must not come back (Draft Art. 15; Interim Art. 14).
 *
 * A takedown is a piece of text (an answer that was reported and upheld, or a text a reviewer took down). Its
 * fingerprint is the set of shingles of its normalized text: every run of `shingle_chars` consecutive folded
 * code points, noise left out, so that width, case, script, punctuation and spacing do not hide a copy. A set of
 * takedowns is immutable and shared by reference (build a new one when takedowns change; readers keep theirs).
 * A scanner reads an answer as a stream and reports a takedown as soon as the answer has matched enough of its
 * shingles: at least min_shingles and min_ratio of the takedown's shingles (a takedown shorter than one shingle
 * must appear whole). */
#ifndef HEGUI_TAKEDOWN_H
#define HEGUI_TAKEDOWN_H

#include <stddef.h>
#include <stdint.h>

#include "hegui/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hg_takedown_entry {
  int64_t id;       /* the store's id */
  const char *text; /* UTF-8 */
  size_t len;
} hg_takedown_entry;

typedef struct hg_takedown_options {
  unsigned shingle_chars; /* default 8 */
  unsigned min_shingles;  /* default 4 */
  float min_ratio;        /* default 0.5 */
} hg_takedown_options;
void hg_takedown_options_init(hg_takedown_options *o);

typedef struct hg_takedown_set hg_takedown_set;
/* Builds a set (entries that are not valid UTF-8 or have no letters after folding are an error naming the id). */
hg_status hg_takedown_set_build(const hg_takedown_entry *entries, size_t n, const hg_takedown_options *options,
                                hg_takedown_set **out, hg_error *err);
hg_takedown_set *hg_takedown_set_ref(hg_takedown_set *set);
void hg_takedown_set_unref(hg_takedown_set *set);
size_t hg_takedown_set_count(const hg_takedown_set *set);

typedef struct hg_takedown_scanner hg_takedown_scanner;
hg_status hg_takedown_scanner_new(hg_takedown_set *set, hg_takedown_scanner **out);
/* Feeds the next chunk of an answer (cut anywhere). *matched_id is set to the takedown's id (and HG_OK returned)
 * as soon as one has matched enough; 0 otherwise. Invalid UTF-8 is HG_ERR_UTF8. */
hg_status hg_takedown_scanner_feed(hg_takedown_scanner *sc, const char *chunk, size_t len, int64_t *matched_id,
                                   hg_error *err);
/* Starts a new answer on the same set. */
void hg_takedown_scanner_reset(hg_takedown_scanner *sc);
void hg_takedown_scanner_free(hg_takedown_scanner *sc);
/* Feeds records of a normalized view (hegui/text.h) instead of bytes; see hg_scanner_feed_view. */
typedef struct hg_norm_char hg_norm_char;
hg_status hg_takedown_scanner_feed_view(hg_takedown_scanner *sc, const hg_norm_char *v, size_t n, size_t stream_bytes,
                                        int64_t *matched_id, hg_error *err);
/* Hold-back for streams: the source byte offset from which text must not be released yet, because it could be the
 * start of a taken-down text coming back (SIZE_MAX: nothing). That is the last shingle_chars - 1 code points (a
 * shingle may be forming) and, while windows keep hitting some takedown's shingles (a run; it ends after
 * 2 x shingle_chars code points without a hit), everything from the first shingle of the run. So a copy that comes
 * back in one run (changed characters and inserted noise included) is held from its first shingle until it has
 * matched enough to block, and nothing of it reaches the client. The limit: a copy interrupted by more than
 * 2 x shingle_chars code points of other text starts a new run, and its earlier part may already have gone out
 * when the later part completes the match (the answer is still stopped there). */
size_t hg_takedown_scanner_hold_from(const hg_takedown_scanner *sc);
/* After a match: the byte span of the copy, from the first shingle of its run to the code point that decided the
 * match (the same however the answer was cut). Returns 0 when nothing matched. */
int hg_takedown_scanner_match_span(const hg_takedown_scanner *sc, size_t *start, size_t *end);

/* One-shot: the id of the first takedown the text matches, or 0. */
hg_status hg_takedown_match(hg_takedown_set *set, const char *text, size_t len, int64_t *matched_id, hg_error *err);

#ifdef __cplusplus
}
#endif
#endif
