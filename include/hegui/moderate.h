/* hegui/moderate.h — the policy layer: one moderator for every caller (the gateway's prompts and streamed answers,
 * /v1/moderations, `hegui check`, the scan and eval tools), so that a rule is written once.
 *
 * An hg_policy is built once from the configuration (per-category actions, what personal data does, which
 * detectors run in which direction, operator rules) and is immutable and shared by reference. An hg_moderator
 * runs it over one text, one-shot or as a stream, with the scanners' life cycle:
 *   hg_moderator_new(policy, direction, lexicon, takedowns) -> _feed ... _feed -> _finish -> _free
 * or, to judge another text with the same policy, direction, lexicon and takedowns, _finish -> _reset -> _feed ...
 * (a reset moderator is exactly a new one: a caller may keep a few and reuse them instead of building the
 * detectors per text).
 * It decodes and folds the text once (the normalized view, hegui/text.h) and feeds every detector from it. Each
 * finding becomes a reason (detector, TC260 risk code, score, rule, effect and the original byte span); the
 * verdict is the strongest effect of all reasons. Reasons are added as soon as they are certain, and
 * hg_moderator_pending_suffix_len says how many trailing bytes could still become part of one: a stream may
 * release everything before them. Where input and output differ, it is a rule of the policy (hg_policy_effect),
 * listed in docs/moderation.md. */
#ifndef HEGUI_MODERATE_H
#define HEGUI_MODERATE_H

#include <stddef.h>
#include <stdint.h>

#include "hegui/classify.h"
#include "hegui/config.h"
#include "hegui/lexicon.h"
#include "hegui/pii.h"
#include "hegui/regex.h"
#include "hegui/status.h"
#include "hegui/takedown.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How a stream waits for the classifier, which judges whole sentences (docs/moderation.md):
 * - HG_HOLD_SENTENCE: the unfinished sentence is part of the pending suffix, so a sentence is released only after
 *   it was judged: nothing the classifier flags ever reaches a client, at the cost of a sentence of delay.
 * - HG_HOLD_NONE: text is released as the other detectors allow; a sentence judged later may still stop the
 *   stream (its reason then spans bytes that were already released). */
typedef enum hg_classifier_hold { HG_HOLD_SENTENCE = 0, HG_HOLD_NONE = 1 } hg_classifier_hold;

/* A sentence ends after 。！？!?；…; a line break, or '.' followed by white space, once it holds at least
 * HG_SENTENCE_MIN_WORDS letters, digits or ideographs (a shorter fragment runs on into the next sentence, and one
 * left at the end is not judged: character n-grams of one or two characters are no evidence). A run longer than
 * HG_SENTENCE_SOFT_MAX code points is cut at its last comma or space, and at HG_SENTENCE_MAX code points anyway. */
#define HG_SENTENCE_MIN_WORDS 3
#define HG_SENTENCE_SOFT_MAX 160
#define HG_SENTENCE_MAX 320

/* What a reason does, weakest first; a verdict is the strongest of its reasons. */
typedef enum hg_decision {
  HG_DECIDE_ALLOW = 0,  /* recorded only */
  HG_DECIDE_REVIEW = 1, /* let through, queued for a person */
  HG_DECIDE_REDACT = 2, /* the span is replaced (placeholders for personal data in prompts, masks elsewhere) */
  HG_DECIDE_BLOCK = 3   /* the prompt is refused / the answer is stopped */
} hg_decision;
const char *hg_decision_name(hg_decision d); /* "allow", "review", "redact", "block" */

typedef enum hg_direction { HG_DIR_INPUT = 0, HG_DIR_OUTPUT = 1 } hg_direction;
const char *hg_direction_name(hg_direction d); /* "input", "output" */

typedef enum hg_detector {
  HG_DETECTOR_LEXICON,
  HG_DETECTOR_PII,
  HG_DETECTOR_RULE, /* operator regular expressions (hegui/regex.h) */
  HG_DETECTOR_TAKEDOWN,
  HG_DETECTOR_TEXT,       /* the text itself: not valid UTF-8 (fail closed) */
  HG_DETECTOR_ERROR,      /* a detector failed (out of memory, a rule over its step limit): the text is not passed on */
  HG_DETECTOR_CLASSIFIER, /* the learned classifier (hegui/classify.h), one sentence at a time */
  HG_DETECTOR_GUARD       /* an external guard model (hegui/guard.h); run by the gateway, judged by this policy */
} hg_detector;
/* "lexicon", "pii", "rule", "takedown", "text", "error", "classifier", "guard" */
const char *hg_detector_name(hg_detector d);

typedef struct hg_reason {
  hg_detector detector;
  hg_decision effect;   /* under the policy and direction */
  hg_category category; /* TC260 risk code; HG_CAT_PII for personal data; HG_CAT_CUSTOM for takedowns */
  float score;          /* 0..1: 1 for lexicon, rule and takedown matches; the PII detector's confidence; the
                           classifier's score of the sentence */
  const char *rule;     /* lexicon entry text, PII type name, rule name, classifier label name, "takedown" or the
                           error; lives as long as the moderator (or the policy/lexicon it came from) */
  int64_t rule_id;      /* lexicon entry index, hg_pii_type, rule index, classifier label index, takedown id */
  hg_mode mode;         /* lexicon: how the entry matched; 0 otherwise */
  size_t start, end;    /* byte span in the moderated text (stream offsets), [start, end) */
} hg_reason;

/* ---- policies ---- */

typedef struct hg_policy_config {
  hg_decision category_action[HG_CATEGORY_COUNT]; /* what a lexicon or rule hit of each risk does (default block;
                                                     pii redact) */
  hg_decision pii_action;                         /* what the PII detector's hits do (default redact) */
  hg_pii_options pii;                             /* which PII types, thresholds */
  unsigned takedown_directions;                   /* bit (1 << hg_direction): default output only */
  const hg_regex_rule *rules;                     /* operator rules, compiled into the policy */
  size_t rule_count;
  /* The learned classifier (referenced by the policy; NULL: it does not run). Its labels' codes are categories;
   * a passing label is a reason whose effect is classifier_action under the category's action, like a lexicon
   * entry's own action. */
  hg_classifier *classifier;
  unsigned classifier_directions;                       /* bit (1 << hg_direction): default both */
  hg_classifier_hold classifier_hold;                   /* default HG_HOLD_SENTENCE */
  hg_action classifier_action;                          /* default block */
  float classifier_threshold[HG_CLASSIFIER_MAX_LABELS]; /* per label; negative (default): the model's own; 1.00:
                                                           the label is scored (hg_moderator_scores) but never
                                                           flags */
} hg_policy_config;
void hg_policy_config_init(hg_policy_config *pc);

typedef struct hg_policy hg_policy;
hg_status hg_policy_new(const hg_policy_config *pc, hg_policy **out, hg_error *err);
/* The policy of a gateway configuration (policy.actions, policy.pii_types, policy.rules, ...). */
hg_status hg_policy_from_config(const hg_config *cfg, hg_policy **out, hg_error *err);
hg_policy *hg_policy_ref(hg_policy *p);
void hg_policy_unref(hg_policy *p);
/* The operator rules compiled with the policy (NULL when none). */
hg_regex_set *hg_policy_rules(const hg_policy *p);
/* The classifier of the policy (NULL when none) and the threshold the policy applies to its label i. */
hg_classifier *hg_policy_classifier(const hg_policy *p);
float hg_policy_threshold(const hg_policy *p, size_t label);

/* The one place where a finding becomes an effect. entry_action is the lexicon entry's or rule's own action (it
 * does not count for the other detectors). */
hg_decision hg_policy_effect(const hg_policy *p, hg_direction dir, hg_detector det, hg_category cat,
                             hg_action entry_action);

/* ---- moderators ---- */

typedef struct hg_moderator hg_moderator;
/* lexicon and takedowns may be NULL (that detector does not run); both are referenced, not copied. */
hg_status hg_moderator_new(hg_policy *p, hg_direction dir, hg_lexicon *lexicon, hg_takedown_set *takedowns,
                           hg_moderator **out, hg_error *err);
/* Feeds the next chunk (any size, cut anywhere). Invalid UTF-8 adds a block reason (detector "text") and returns
 * HG_ERR_UTF8; a detector that fails adds a block reason (detector "error") and returns its status; either way the
 * moderator then takes no more input. Feeding after finish is HG_ERR_INVALID and changes nothing. */
hg_status hg_moderator_feed(hg_moderator *m, const char *chunk, size_t len, hg_error *err);
/* Ends the text: every pending reason is decided. A second call does nothing. */
hg_status hg_moderator_finish(hg_moderator *m, hg_error *err);
/* Trailing bytes of the text fed so far that could still become part of a reason; everything before is final. */
size_t hg_moderator_pending_suffix_len(const hg_moderator *m);
/* The verdict so far: the strongest effect among the reasons (HG_DECIDE_ALLOW with none). */
hg_decision hg_moderator_decision(const hg_moderator *m);
/* The reasons so far, in the order they became certain; the array lives until the next feed/finish/reset.
 * At most HG_MODERATOR_MAX_REASONS are kept; hg_moderator_reason_total counts them all (a verdict is never
 * weakened by the cap: a reason that could not be kept and would redact turns the verdict into a block). */
#define HG_MODERATOR_MAX_REASONS 4096
const hg_reason *hg_moderator_reasons(const hg_moderator *m, size_t *count);
size_t hg_moderator_reason_total(const hg_moderator *m);
/* Drops the reasons kept so far (the decision and the total stay): a long stream's consumer takes the reasons
 * after each feed and forgets them, so that memory stays bounded and the cap never bites. */
void hg_moderator_forget_reasons(hg_moderator *m);
/* Sentences for a caller that judges them itself (an external guard model, docs/guard.md): after this call the
 * moderator cuts the text into sentences by the rules above even when the classifier does not run, and
 * hg_moderator_sentence_end gives the byte offset where the last complete sentence ends (0 before the first).
 * Call it right after hg_moderator_new or hg_moderator_reset. */
hg_status hg_moderator_track_sentences(hg_moderator *m);
size_t hg_moderator_sentence_end(const hg_moderator *m);
/* Every label's score, for a caller that reports them (/v1/moderations' category_scores): call it right after
 * hg_moderator_new or hg_moderator_reset. Without it the moderator scores only the labels whose threshold can flag
 * (below 1.00), from their rows packed apart (hg_classifier_part): the same reasons and verdict, a fraction of the
 * memory reads. */
hg_status hg_moderator_want_scores(hg_moderator *m);
/* The classifier's highest score per label over the sentences judged so far, when hg_moderator_want_scores was
 * called (NULL and 0 otherwise, and when the classifier does not run); valid until the next feed/finish/reset.
 * Labels in the model's order (hg_classifier_label). */
const float *hg_moderator_scores(const hg_moderator *m, size_t *count);
/* Bytes fed so far. */
size_t hg_moderator_offset(const hg_moderator *m);
/* Back to the state hg_moderator_new left, for the next text: no input, no reasons, the decision allow, and the
 * options off again (hg_moderator_track_sentences, hg_moderator_want_scores: call them again if the next text
 * needs them). Only memory is kept. Policy, direction, lexicon and takedowns stay those it was built with. */
void hg_moderator_reset(hg_moderator *m);
void hg_moderator_free(hg_moderator *m);

#ifdef __cplusplus
}
#endif
#endif
