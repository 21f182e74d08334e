/* judge.[ch] — a text of a request judged by the moderator of the policy the request holds, and the findings
 * written into the request's record. Every route that moderates text calls this one place: the chat path (prompts,
 * whole answers, the stream's reasons), the media routes (prompts, text read in images, transcriptions) and
 * /v1/moderations. What a finding does is the policy's business (hg_policy_effect); here it is only listed.
 *
 * A judge is a view: the configuration (its policy), the lexicon and the takedowns the request holds, and the JSON
 * of its record: detail (block_category, review, output_redacted, errors), the lists of hits and personal data per
 * direction. It owns none of them. Span vectors it returns come from the request's arena when the view has one,
 * else from malloc: judge_spans_free releases them either way. */
#ifndef HG_GATEWAY_JUDGE_H
#define HG_GATEWAY_JUDGE_H

#include "gateway.h"
#include "guard_client.h"

/* A span of the judged text to redact: type is the hg_pii_type for personal data, -1 for a mask. */
typedef struct span_hit {
  size_t start, end;
  int type; /* hg_pii_type for PII */
} span_hit;

typedef struct judge {
  const hg_config *cfg; /* a live_config's: its policy judges */
  hg_lexicon *lex;
  hg_takedown_set *takedowns;                   /* may be NULL */
  json_t *detail;                               /* the record's detail object */
  json_t *input_hits, *input_pii, *output_hits; /* lists in detail; output_pii is detail's "output_pii" */
  struct hg_arena *arena; /* the request's (base/arena.h): span vectors come from it; NULL: from malloc */
} judge;

#define MAX_LOGGED_FINDINGS 100 /* per list in a record: a text full of hits must not swell it */

/* Takes the reasons the moderator has found so far: each is listed in the record (personal data in pii_log, the rest
 * in hits_log), the first block names its category, a review marks the request, and redactions are gathered as
 * spans. Returns -1 when a span could not be kept (out of memory). */
int judge_take_reasons(judge *j, hg_moderator *m, json_t *hits_log, json_t *pii_log, const char *error_key,
                       span_hit **spans, size_t *nspans, size_t *cap);

/* Runs one whole text through a new moderator. Returns the verdict (a block when the moderator could not run) and
 * the redaction spans, sorted and disjoint (judge_spans_free; NULL when none); with scores, also the classifier's
 * highest score per label (*nscores of them, at most HG_CLASSIFIER_MAX_LABELS; 0 when it did not run). */
hg_decision judge_text(judge *j, hg_direction dir, const char *text, size_t len, span_hit **spans, size_t *nspans,
                       float *scores, size_t *nscores);

/* Content no detector could judge (a picture without a vision guard, a sound, text OCR could not read), under the
 * policy's rule media.unjudged: what it was is listed in the record's "unjudged"; review marks the request for
 * review; block names the block category "unjudged" and returns 1. 0 otherwise. */
int judge_unjudged(judge *j, const char *what);

/* Text read by OCR from one image, judged in a direction: listed in the record's "ocr" (what, bytes, confidence,
 * whether the deadline cut it short, or the error when it could not be read), judged as a text (a redaction in a
 * picture cannot be applied: it is recorded, the image goes as it is), and text not read or not finished counted
 * as unjudged. text is NULL when reading failed (error says why). Returns 1 when the image is to be blocked. */
struct hg_ocr_result;
int judge_ocr_text(judge *j, hg_direction dir, const char *what, const struct hg_ocr_result *text, const char *error);

/* The guard model's verdict as a reason of the policy (hg_policy_effect, like every detector's): listed with the
 * request's findings; a guard that could not judge follows guard.on_error (the record says why either way, and a
 * block for it is "error", not the user's doing). Returns its effect. */
hg_decision judge_guard(judge *j, hg_direction dir, const guard_outcome *o);

/* Releases a span vector of judge_text or judge_take_reasons: free() without an arena, nothing with one (it goes
 * with the arena). */
void judge_spans_free(const judge *j, span_hit *spans);

/* Sorts spans and merges the overlapping ones into disjoint unions (judge.c says how their types combine). */
void judge_merge_spans(span_hit *v, size_t *n);

#endif
