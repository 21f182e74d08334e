/* moderate.c — the policy and the moderator: every detector over one normalized view, every finding turned into
 * an effect by one function (hg_policy_effect), one verdict.
 *
 * A chunk is decoded and folded once by the view (src/text/view.c) in slices of SLICE_BYTES, and each slice's
 * records go to the lexicon scanner, the PII scanner, the takedown scanner and the operator rules in turn. Each
 * detector reports through its own callback; the callbacks turn findings into reasons. Hold-back is the largest
 * of the detectors' own: the lexicon's and PII's pending suffixes, the takedown run, the rules' window, and under
 * hold: sentence the sentence the classifier has not judged yet.
 *
 * The classifier judges sentences: the view records of the current sentence are copied into a bounded buffer
 * (at most HG_SENTENCE_MAX of them) and scored once when the sentence ends, so every code point is hashed once
 * however the stream was cut. The sentence boundaries depend only on the text, never on the chunking, so a
 * stream and the whole text give the same reasons. */
#include <math.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/error.h"
#include "hegui/moderate.h"
#include "hegui/text.h"
#include "policy_rules.h"

#define SLICE_BYTES 4096 /* a slice's view records (up to 40 bytes per byte of ASCII) stay in L2 */

struct hg_policy {
  atomic_int refs;
  hg_decision category_action[HG_CATEGORY_COUNT];
  hg_decision pii_action;
  hg_pii_options pii;
  unsigned takedown_directions;
  hg_regex_set *rules;
  hg_classifier *classifier;
  unsigned classifier_directions;
  hg_classifier_hold hold;
  hg_action classifier_action;
  size_t labels;
  float threshold[HG_CLASSIFIER_MAX_LABELS];
  float margin_threshold[HG_CLASSIFIER_MAX_LABELS]; /* the threshold as a logit: judged before any sigmoid */
  hg_category label_category[HG_CLASSIFIER_MAX_LABELS];
  const char *label_name[HG_CLASSIFIER_MAX_LABELS];
  /* The labels that can flag (threshold below 1.00), in the model's order, and their rows packed apart when they
   * are fewer than all: a moderator that is not asked for every score reads only these (hg_moderator_want_scores). */
  size_t acting_n;
  size_t acting[HG_CLASSIFIER_MAX_LABELS];
  hg_classifier_part *part; /* NULL when every label acts (or none does) */
};

/* The sentence the classifier has not judged yet. */
typedef struct sentence {
  hg_norm_char chars[HG_SENTENCE_MAX]; /* first: a reset clears only what follows (records past n are never read) */
  size_t n;
  int after_dot; /* the previous record was '.', which ends a sentence when white space follows */
  int searched;  /* the run past HG_SENTENCE_SOFT_MAX was searched for a soft break */
  size_t words;  /* records of the sentence that are not noise */
  float margins[HG_CLASSIFIER_MAX_LABELS];
  float best[HG_CLASSIFIER_MAX_LABELS];        /* per label, the highest score so far */
  float best_margin[HG_CLASSIFIER_MAX_LABELS]; /* and its logit (a sigmoid only when it rises) */
  int judged;                                  /* at least one sentence was scored */
  size_t last_end;                             /* where the last complete sentence ends */
} sentence;

struct hg_moderator {
  hg_policy *policy;
  hg_direction dir;
  hg_lexicon *lex;
  hg_normalizer *view;
  hg_scanner *lsc;
  hg_pii_scanner *psc;
  hg_takedown_scanner *tsc;
  policy_rules_scanner *rsc;
  sentence *sent;      /* NULL when neither the classifier nor a caller (track_sentences) needs sentences */
  sentence *sent_buf;  /* sent's memory, kept across resets (a reset moderator may not need it) */
  int classify;        /* the classifier runs in this direction */
  int all_scores;      /* every label is scored, not only those that can flag (hg_moderator_want_scores) */
  int64_t takedown_id; /* a matched takedown, reported once */
  size_t complete;     /* bytes of complete code points (the view's records end there) */
  hg_reason *reasons;
  size_t nreasons, cap, total;
  hg_decision decision;
  int failed, finished;
  char error[320];
};

/* ---- names ---- */

const char *hg_decision_name(hg_decision d) {
  static const char *const n[] = {"allow", "review", "redact", "block"};
  return (unsigned)d < 4 ? n[d] : "?";
}

const char *hg_direction_name(hg_direction d) { return d == HG_DIR_OUTPUT ? "output" : "input"; }

const char *hg_detector_name(hg_detector d) {
  static const char *const n[] = {"lexicon", "pii", "rule", "takedown", "text", "error", "classifier", "guard"};
  return (unsigned)d < 8 ? n[d] : "?";
}

/* ---- policies ---- */

void hg_policy_config_init(hg_policy_config *pc) {
  memset(pc, 0, sizeof *pc);
  for (int c = 0; c < HG_CATEGORY_COUNT; c++)
    pc->category_action[c] = HG_DECIDE_BLOCK;
  pc->category_action[HG_CAT_PII] = HG_DECIDE_REDACT;
  pc->pii_action = HG_DECIDE_REDACT;
  hg_pii_options_init(&pc->pii);
  pc->takedown_directions = 1u << HG_DIR_OUTPUT;
  pc->classifier_directions = 1u << HG_DIR_INPUT | 1u << HG_DIR_OUTPUT;
  pc->classifier_hold = HG_HOLD_SENTENCE;
  pc->classifier_action = HG_ACTION_BLOCK;
  for (size_t i = 0; i < HG_CLASSIFIER_MAX_LABELS; i++)
    pc->classifier_threshold[i] = -1.0f;
}

/* The classifier's labels as the policy applies them: each code a category, each threshold the policy's. */
static hg_status policy_classifier(hg_policy *p, const hg_policy_config *pc, hg_error *err) {
  size_t n = hg_classifier_label_count(pc->classifier);
  if (n > HG_CLASSIFIER_MAX_LABELS) return hg_fail(err, HG_ERR_INVALID, 0, 0, "the classifier has too many labels");
  if (pc->classifier_action > HG_ACTION_LOG)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "the classifier's action must be block, review, redact or log");
  for (size_t i = 0; i < n; i++) {
    hg_classifier_label_info info;
    hg_status st = hg_classifier_label(pc->classifier, i, &info);
    if (st) return hg_fail(err, st, 0, 0, "classifier label %zu: %s", i, hg_status_name(st));
    if (hg_category_parse(info.code, strlen(info.code), &p->label_category[i]))
      return hg_fail(err, HG_ERR_INVALID, 0, 0, "classifier label '%s' has the unknown code '%s'", info.name,
                     info.code);
    float t = pc->classifier_threshold[i];
    if (t > 1.0f || t != t) return hg_fail(err, HG_ERR_INVALID, 0, 0, "threshold of '%s' is not in [0, 1]", info.name);
    p->threshold[i] = t >= 0.0f ? t : info.threshold;
    /* 1.00 never flags; 0 always does; otherwise a margin at or above the logit of the threshold, with the float
       edge taken by the sigmoid itself in judge() */
    float th = p->threshold[i];
    p->margin_threshold[i] = th >= 1.0f ? INFINITY : th <= 0.0f ? -INFINITY : (float)log(th / (1.0 - th)) - 1e-3f;
    p->label_name[i] = info.name;
    if (th < 1.0f) p->acting[p->acting_n++] = i;
  }
  p->labels = n;
  if (p->acting_n && p->acting_n < n) {
    hg_status st = hg_classifier_part_new(pc->classifier, p->acting, p->acting_n, &p->part, err);
    if (st) return st;
  }
  p->classifier = hg_classifier_ref(pc->classifier);
  p->classifier_directions = pc->classifier_directions;
  p->hold = pc->classifier_hold;
  p->classifier_action = pc->classifier_action;
  return HG_OK;
}

hg_status hg_policy_new(const hg_policy_config *pc, hg_policy **out, hg_error *err) {
  *out = NULL;
  hg_policy *p = calloc(1, sizeof *p);
  if (!p) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  atomic_init(&p->refs, 1);
  memcpy(p->category_action, pc->category_action, sizeof p->category_action);
  p->pii_action = pc->pii_action;
  p->pii = pc->pii;
  p->takedown_directions = pc->takedown_directions;
  hg_status st = HG_OK;
  if (pc->rule_count) st = policy_rules_build(pc->rules, pc->rule_count, &p->rules, err);
  if (!st && pc->classifier) st = policy_classifier(p, pc, err);
  if (st) {
    policy_rules_unref(p->rules);
    hg_classifier_unref(p->classifier);
    hg_classifier_part_free(p->part);
    free(p);
    return st;
  }
  *out = p;
  return HG_OK;
}

static hg_decision decision_of(hg_verdict_action a) {
  switch (a) {
  case HG_VERDICT_ALLOW: return HG_DECIDE_ALLOW;
  case HG_VERDICT_REVIEW: return HG_DECIDE_REVIEW;
  case HG_VERDICT_REDACT: return HG_DECIDE_REDACT;
  case HG_VERDICT_BLOCK: break;
  }
  return HG_DECIDE_BLOCK;
}

/* The model classifier.model names: the built-in one, none, or a file. */
static hg_status config_classifier(const hg_config *cfg, hg_classifier **out, hg_error *err) {
  *out = NULL;
  if (!strcmp(cfg->classifier_model, "none") || (!cfg->classifier_input && !cfg->classifier_output)) return HG_OK;
  hg_status st = !strcmp(cfg->classifier_model, "builtin") ? hg_classifier_builtin(out, err)
                                                           : hg_classifier_open(cfg->classifier_model, out, err);
  if (st && err) {
    char msg[sizeof err->message];
    memcpy(msg, err->message, sizeof msg);
    snprintf(err->message, sizeof err->message, "classifier.model: %.*s", (int)(sizeof msg - 20), msg);
  }
  return st;
}

/* classifier.thresholds: each key names a label of the model, by name or by code. */
static hg_status config_thresholds(const hg_config *cfg, const hg_classifier *model, float *threshold, hg_error *err) {
  size_t n = hg_classifier_label_count(model);
  for (unsigned t = 0; t < cfg->classifier_threshold_count; t++) {
    const hg_config_threshold *ct = &cfg->classifier_thresholds[t];
    int found = 0;
    for (size_t i = 0; i < n; i++) {
      hg_classifier_label_info info;
      if (hg_classifier_label(model, i, &info)) continue;
      if (!strcmp(info.name, ct->label) || !strcasecmp(info.code, ct->label)) {
        threshold[i] = ct->value;
        found = 1;
      }
    }
    if (!found) {
      char names[200] = "";
      size_t used = 0;
      for (size_t i = 0; i < n && used + 1 < sizeof names; i++) {
        hg_classifier_label_info info;
        if (hg_classifier_label(model, i, &info)) continue;
        int w = snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", info.name);
        used += w > 0 ? (size_t)w : 0;
      }
      return hg_fail(err, HG_ERR_INVALID, ct->line, 0,
                     "classifier.thresholds.%s (line %zu): the model has no such label (its labels: %s)", ct->label,
                     ct->line, names);
    }
  }
  return HG_OK;
}

hg_status hg_policy_from_config(const hg_config *cfg, hg_policy **out, hg_error *err) {
  *out = NULL;
  hg_policy_config pc;
  hg_policy_config_init(&pc);
  for (int c = 0; c < HG_CATEGORY_COUNT; c++)
    pc.category_action[c] = decision_of(cfg->category_action[c]);
  pc.pii_action = decision_of(cfg->pii_action);
  pc.pii.types = cfg->pii_types;
  pc.classifier_directions =
      (cfg->classifier_input ? 1u << HG_DIR_INPUT : 0) | (cfg->classifier_output ? 1u << HG_DIR_OUTPUT : 0);
  pc.classifier_hold = cfg->classifier_hold ? HG_HOLD_NONE : HG_HOLD_SENTENCE;
  pc.classifier_action = cfg->classifier_action;
  hg_status st = config_classifier(cfg, &pc.classifier, err);
  if (!st && pc.classifier) st = config_thresholds(cfg, pc.classifier, pc.classifier_threshold, err);
  hg_regex_rule *rules = NULL;
  size_t nrules = 0;
  if (!st) st = policy_rules_from_config(cfg, &rules, &nrules, err);
  pc.rules = rules;
  pc.rule_count = nrules;
  if (!st) st = hg_policy_new(&pc, out, err);
  free(rules);
  hg_classifier_unref(pc.classifier);
  return st;
}

hg_policy *hg_policy_ref(hg_policy *p) {
  if (p) atomic_fetch_add(&p->refs, 1);
  return p;
}

void hg_policy_unref(hg_policy *p) {
  if (!p || atomic_fetch_sub(&p->refs, 1) != 1) return;
  policy_rules_unref(p->rules);
  hg_classifier_unref(p->classifier);
  hg_classifier_part_free(p->part);
  free(p);
}

hg_regex_set *hg_policy_rules(const hg_policy *p) { return p->rules; }

hg_classifier *hg_policy_classifier(const hg_policy *p) { return p->classifier; }

float hg_policy_threshold(const hg_policy *p, size_t label) { return label < p->labels ? p->threshold[label] : 1.0f; }

/* The rules, in one place (docs/moderation.md has them as a table):
 * - A lexicon entry or rule says what it wants (block, redact, review, log); the category's action is a ceiling
 *   over block and redact: a category set to allow records them, review queues them, redact turns a block into a
 *   redact, block keeps what the entry says. Input and output are the same. A classifier label that passes its
 *   threshold is the same as an entry of its category whose action is the policy's classifier action; a guard
 *   model's unsafe verdict, one whose action is guard.action (guard.controversial for Qwen3Guard's third answer).
 * - Personal data does what policy.actions.pii says, in both directions; how a redaction looks differs (a prompt
 *   gets placeholders that the answer restores, an answer gets masks), which is the caller's rendering.
 * - Takedowns block where the policy runs them (answers, by default): a prompt may quote a reported text, for
 *   example in a complaint, but the model must not produce it again.
 * - Text that is not UTF-8 is blocked, and so is text a detector failed on: what was not judged is not passed on. */
hg_decision hg_policy_effect(const hg_policy *p, hg_direction dir, hg_detector det, hg_category cat,
                             hg_action entry_action) {
  switch (det) {
  case HG_DETECTOR_LEXICON:
  case HG_DETECTOR_RULE:
  case HG_DETECTOR_CLASSIFIER:
  case HG_DETECTOR_GUARD: {
    if (entry_action == HG_ACTION_LOG || entry_action == HG_ACTION_ALLOW) return HG_DECIDE_ALLOW;
    if (entry_action == HG_ACTION_REVIEW)
      return p->category_action[cat] == HG_DECIDE_ALLOW ? HG_DECIDE_ALLOW : HG_DECIDE_REVIEW;
    hg_decision want = entry_action == HG_ACTION_REDACT ? HG_DECIDE_REDACT : HG_DECIDE_BLOCK;
    hg_decision ceiling = p->category_action[cat];
    return want < ceiling ? want : ceiling;
  }
  case HG_DETECTOR_PII: return p->pii_action;
  case HG_DETECTOR_TAKEDOWN: return (p->takedown_directions >> dir) & 1u ? HG_DECIDE_BLOCK : HG_DECIDE_ALLOW;
  case HG_DETECTOR_TEXT:
  case HG_DETECTOR_ERROR: break;
  }
  return HG_DECIDE_BLOCK;
}

/* ---- reasons ---- */

static int add_reason(hg_moderator *m, const hg_reason *r) {
  m->total++;
  hg_decision d = r->effect;
  if (m->nreasons == HG_MODERATOR_MAX_REASONS) {
    /* a redaction that cannot be kept cannot be applied: the text is refused instead */
    if (d == HG_DECIDE_REDACT) d = HG_DECIDE_BLOCK;
  } else {
    if (m->nreasons == m->cap) {
      size_t cap = m->cap ? m->cap * 2 : 16;
      hg_reason *v = realloc(m->reasons, cap * sizeof *v);
      if (!v) {
        m->decision = HG_DECIDE_BLOCK;
        return 1;
      }
      m->reasons = v;
      m->cap = cap;
    }
    m->reasons[m->nreasons++] = *r;
  }
  if (d > m->decision) m->decision = d;
  return 0;
}

static int on_lex(void *ctx, const hg_hit *h) {
  hg_moderator *m = ctx;
  hg_entry_info e;
  if (hg_lexicon_entry(m->lex, h->entry, &e)) { /* cannot happen with a validated image; if it did, fail closed */
    hg_reason r = {HG_DETECTOR_ERROR, HG_DECIDE_BLOCK, HG_CAT_CUSTOM, 1.0f,  "lexicon entry out of range",
                   h->entry,          h->mode,         h->start,      h->end};
    add_reason(m, &r);
    return 0;
  }
  hg_reason r = {HG_DETECTOR_LEXICON,
                 hg_policy_effect(m->policy, m->dir, HG_DETECTOR_LEXICON, e.category, e.action),
                 e.category,
                 1.0f,
                 e.text,
                 h->entry,
                 h->mode,
                 h->start,
                 h->end};
  add_reason(m, &r);
  return 0;
}

static int on_pii(void *ctx, const hg_pii_hit *h) {
  hg_moderator *m = ctx;
  hg_reason r = {HG_DETECTOR_PII,
                 hg_policy_effect(m->policy, m->dir, HG_DETECTOR_PII, HG_CAT_PII, HG_ACTION_REDACT),
                 HG_CAT_PII,
                 h->confidence,
                 hg_pii_type_name(h->type),
                 h->type,
                 0,
                 h->start,
                 h->end};
  add_reason(m, &r);
  return 0;
}

static int on_rule(void *ctx, uint32_t rule, hg_category cat, hg_action action, const char *name, size_t start,
                   size_t end) {
  hg_moderator *m = ctx;
  hg_reason r = {HG_DETECTOR_RULE,
                 hg_policy_effect(m->policy, m->dir, HG_DETECTOR_RULE, cat, action),
                 cat,
                 1.0f,
                 name,
                 rule,
                 0,
                 start,
                 end};
  add_reason(m, &r);
  return 0;
}

/* ---- sentences for the classifier ---- */

static int ends_sentence(uint32_t cp) {
  switch (cp) {
  case 0x3002: /* 。 */
  case 0xFF01: /* ！ */
  case 0xFF1F: /* ？ */
  case 0xFF1B: /* ； */
  case 0x2026: /* … */
  case '!':
  case '?':
  case ';':
  case '\n':
  case '\r': return 1;
  }
  return 0;
}

static int soft_break(uint32_t cp) {
  return cp == 0xFF0C /* ， */ || cp == 0x3001 /* 、 */ || cp == ',' || cp == ' ' || cp == '\t' || cp == 0x3000;
}

static int is_space(uint32_t cp) { return cp == ' ' || cp == '\t' || cp == 0x3000; }

/* One label's logit z for the first k records of the sentence: keeps its best score, adds a reason if it passes. */
static void judge_label(hg_moderator *m, size_t l, float z, size_t k) {
  sentence *s = m->sent;
  const hg_policy *p = m->policy;
  int rises = !s->judged || z > s->best_margin[l];
  if (!rises && z < p->margin_threshold[l]) return;
  float sc = (float)(1.0 / (1.0 + exp(-(double)z)));
  if (rises) s->best_margin[l] = z, s->best[l] = sc;
  if (sc < p->threshold[l] || p->threshold[l] >= 1.0f) return; /* 1.00: scored, never flags */
  hg_category cat = p->label_category[l];
  hg_reason r = {HG_DETECTOR_CLASSIFIER,
                 hg_policy_effect(p, m->dir, HG_DETECTOR_CLASSIFIER, cat, p->classifier_action),
                 cat,
                 sc,
                 p->label_name[l],
                 (int64_t)l,
                 0,
                 s->chars[0].src_start,
                 s->chars[k - 1].src_end};
  add_reason(m, &r);
}

/* Scores the first k records of the sentence, adds a reason per passing label, and keeps the rest. */
static void judge(hg_moderator *m, size_t k) {
  sentence *s = m->sent;
  const hg_policy *p = m->policy;
  size_t words = 0;
  for (size_t i = 0; i < k; i++)
    words += !(s->chars[i].flags & (HG_CHAR_NOISE | HG_NORM_IGNORABLE));
  if (k) s->last_end = s->chars[k - 1].src_end;
  if (words >= HG_SENTENCE_MIN_WORDS && p->classifier && m->classify && (m->all_scores || p->acting_n)) {
    /* logits first: most sentences pass no threshold and raise no maximum, and need no sigmoid at all */
    if (m->all_scores || !p->part) {
      hg_classifier_margins_view(p->classifier, s->chars, k, s->margins);
      for (size_t l = 0; l < p->labels; l++)
        judge_label(m, l, s->margins[l], k);
    } else {
      hg_classifier_part_margins_view(p->part, s->chars, k, s->margins);
      for (size_t i = 0; i < p->acting_n; i++)
        judge_label(m, p->acting[i], s->margins[i], k);
    }
    s->judged = 1;
  }
  memmove(s->chars, s->chars + k, (s->n - k) * sizeof *s->chars);
  s->n -= k;
  s->searched = 0;
  s->words = 0;
  for (size_t i = 0; i < s->n; i++)
    s->words += !(s->chars[i].flags & (HG_CHAR_NOISE | HG_NORM_IGNORABLE));
}

/* Adds the records to the sentence, judging each sentence as it ends. Where a sentence ends depends only on the
 * text: a run past HG_SENTENCE_SOFT_MAX is searched once for its last soft break (after the first half), then
 * each new record is one; the part after a cut is always shorter than HG_SENTENCE_SOFT_MAX / 2. */
static void sentence_feed(hg_moderator *m, const hg_norm_char *v, size_t n) {
  sentence *s = m->sent;
  for (size_t i = 0; i < n; i++) {
    uint32_t cp = v[i].src_cp;
    s->chars[s->n++] = v[i];
    s->words += !(v[i].flags & (HG_CHAR_NOISE | HG_NORM_IGNORABLE));
    /* a code point that folds to several records ends a sentence only after its last one */
    int last = i + 1 == n || (v[i + 1].flags & HG_NORM_FIRST) || v[i + 1].src_start != v[i].src_start;
    if (!last) {
      if (s->n == HG_SENTENCE_MAX) judge(m, s->n);
      continue;
    }
    int dot = s->after_dot;
    s->after_dot = cp == '.';
    if ((ends_sentence(cp) || (v[i].flags & HG_NORM_BREAK) || (dot && is_space(cp))) &&
        s->words >= HG_SENTENCE_MIN_WORDS) {
      judge(m, s->n);
    } else if (s->n >= HG_SENTENCE_SOFT_MAX) {
      size_t cut = 0;
      if (!s->searched) {
        s->searched = 1;
        for (size_t k = s->n; k > HG_SENTENCE_SOFT_MAX / 2 && !cut; k--)
          if (soft_break(s->chars[k - 1].src_cp)) cut = k;
      } else if (soft_break(cp)) {
        cut = s->n;
      }
      if (cut)
        judge(m, cut);
      else if (s->n == HG_SENTENCE_MAX)
        judge(m, s->n);
    }
  }
}

/* ---- moderators ---- */

hg_status hg_moderator_new(hg_policy *p, hg_direction dir, hg_lexicon *lexicon, hg_takedown_set *takedowns,
                           hg_moderator **out, hg_error *err) {
  *out = NULL;
  if (!p) return hg_fail(err, HG_ERR_INVALID, 0, 0, "no policy");
  hg_moderator *m = calloc(1, sizeof *m);
  if (!m) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  m->policy = hg_policy_ref(p);
  m->dir = dir;
  hg_status st = hg_normalizer_new(&m->view);
  if (!st && lexicon) {
    m->lex = hg_lexicon_ref(lexicon);
    st = hg_scanner_new(lexicon, on_lex, m, &m->lsc);
  }
  if (!st && p->pii_action != HG_DECIDE_ALLOW && p->pii.types) st = hg_pii_scanner_new(&p->pii, on_pii, m, &m->psc);
  if (!st && takedowns && hg_takedown_set_count(takedowns) && ((p->takedown_directions >> dir) & 1u))
    st = hg_takedown_scanner_new(takedowns, &m->tsc);
  if (!st && p->rules) st = policy_rules_scanner_new(p->rules, on_rule, m, &m->rsc);
  m->classify = p->classifier && ((p->classifier_directions >> dir) & 1u);
  if (!st && m->classify && !(m->sent = m->sent_buf = calloc(1, sizeof *m->sent))) st = HG_ERR_NOMEM;
  if (st) {
    hg_moderator_free(m);
    return hg_fail(err, st, 0, 0, st == HG_ERR_NOMEM ? "out of memory" : "a detector could not start (%s)",
                   hg_status_name(st));
  }
  *out = m;
  return HG_OK;
}

void hg_moderator_free(hg_moderator *m) {
  if (!m) return;
  hg_scanner_free(m->lsc);
  hg_pii_scanner_free(m->psc);
  hg_takedown_scanner_free(m->tsc);
  policy_rules_scanner_free(m->rsc);
  free(m->sent_buf);
  hg_normalizer_free(m->view);
  hg_lexicon_unref(m->lex);
  hg_policy_unref(m->policy);
  free(m->reasons);
  free(m);
}

/* Back to the state hg_moderator_new leaves: every detector's, the sentence's and the options'
 * (hg_moderator_track_sentences, hg_moderator_want_scores), keeping only memory. */
void hg_moderator_reset(hg_moderator *m) {
  hg_normalizer_reset(m->view);
  if (m->lsc) hg_scanner_reset(m->lsc);
  if (m->psc) hg_pii_scanner_reset(m->psc);
  if (m->tsc) hg_takedown_scanner_reset(m->tsc);
  if (m->rsc) policy_rules_scanner_reset(m->rsc);
  if (m->sent_buf) /* the records past n are never read: only the rest is cleared (a tenth of the size) */
    memset((char *)m->sent_buf + offsetof(sentence, n), 0, sizeof *m->sent_buf - offsetof(sentence, n));
  m->sent = m->classify ? m->sent_buf : NULL;
  m->all_scores = 0;
  m->takedown_id = 0;
  m->complete = 0;
  m->nreasons = m->total = 0;
  m->decision = HG_DECIDE_ALLOW;
  m->failed = m->finished = 0;
  m->error[0] = 0;
}

/* What cannot be read, or was not judged because a detector failed, is not passed on; the reason says why. */
static hg_status fail_with(hg_moderator *m, hg_detector det, const hg_error *e, hg_error *err) {
  m->failed = 1;
  snprintf(m->error, sizeof m->error, "%s", e->message);
  hg_reason r = {det, HG_DECIDE_BLOCK, HG_CAT_CUSTOM, 1.0f, m->error, e->status, 0, e->offset, e->offset};
  add_reason(m, &r);
  m->decision = HG_DECIDE_BLOCK;
  if (err) *err = *e;
  return e->status;
}

static hg_status feed_records(hg_moderator *m, const hg_norm_char *v, size_t n, hg_error *err) {
  size_t fed = hg_normalizer_offset(m->view);
  hg_status st;
  if (n) m->complete = v[n - 1].src_end;
  if (m->lsc && (st = hg_scanner_feed_view(m->lsc, v, n, fed, err))) return st;
  if (m->psc && (st = hg_pii_scanner_feed_view(m->psc, v, n, fed, err))) return st;
  if (m->tsc && !m->takedown_id) {
    int64_t id = 0;
    if ((st = hg_takedown_scanner_feed_view(m->tsc, v, n, fed, &id, err))) return st;
    if (id) {
      m->takedown_id = id;
      size_t start = 0, end = 0;
      hg_takedown_scanner_match_span(m->tsc, &start, &end);
      hg_reason r = {HG_DETECTOR_TAKEDOWN,
                     hg_policy_effect(m->policy, m->dir, HG_DETECTOR_TAKEDOWN, HG_CAT_CUSTOM, HG_ACTION_BLOCK),
                     HG_CAT_CUSTOM,
                     1.0f,
                     "takedown",
                     id,
                     0,
                     start,
                     end};
      add_reason(m, &r);
    }
  }
  if (m->rsc && (st = policy_rules_scanner_feed(m->rsc, v, n, err))) return st;
  if (m->sent) sentence_feed(m, v, n);
  return HG_OK;
}

hg_status hg_moderator_feed(hg_moderator *m, const char *chunk, size_t len, hg_error *err) {
  if (m->failed) return hg_fail(err, HG_ERR_INVALID, 0, 0, "moderator stopped after an error; reset it");
  if (m->finished) return hg_fail(err, HG_ERR_INVALID, 0, 0, "the text was finished; reset the moderator");
  hg_error e;
  hg_error_clear(&e);
  while (len) {
    size_t take = len < SLICE_BYTES ? len : SLICE_BYTES;
    const hg_norm_char *v;
    size_t n;
    hg_status st = hg_normalizer_feed(m->view, chunk, take, &v, &n, &e);
    if (st == HG_ERR_UTF8) {
      hg_error before;
      if (feed_records(m, v, n, &before)) /* what came before the bad bytes is judged too */
        return fail_with(m, HG_DETECTOR_ERROR, &before, err);
      return fail_with(m, HG_DETECTOR_TEXT, &e, err);
    }
    if (st || (st = feed_records(m, v, n, &e))) return fail_with(m, HG_DETECTOR_ERROR, &e, err);
    chunk += take;
    len -= take;
  }
  return HG_OK;
}

hg_status hg_moderator_finish(hg_moderator *m, hg_error *err) {
  if (m->failed) return hg_fail(err, HG_ERR_INVALID, 0, 0, "moderator stopped after an error; reset it");
  if (m->finished) return HG_OK;
  m->finished = 1;
  hg_error e;
  hg_error_clear(&e);
  hg_status st = hg_normalizer_finish(m->view, &e);
  if (st == HG_ERR_UTF8) return fail_with(m, HG_DETECTOR_TEXT, &e, err);
  if (!st && m->lsc) st = hg_scanner_finish(m->lsc, &e);
  if (!st && m->psc) st = hg_pii_scanner_finish(m->psc, &e);
  if (!st && m->rsc) st = policy_rules_scanner_finish(m->rsc, &e);
  if (!st && m->sent && m->sent->n) judge(m, m->sent->n);
  return st ? fail_with(m, HG_DETECTOR_ERROR, &e, err) : HG_OK;
}

size_t hg_moderator_pending_suffix_len(const hg_moderator *m) {
  size_t fed = hg_normalizer_offset(m->view), hold = 0;
  if (m->lsc) {
    size_t l = hg_scanner_pending_suffix_len(m->lsc);
    if (l > hold) hold = l;
  }
  if (m->psc) {
    size_t l = hg_pii_scanner_pending_suffix_len(m->psc);
    if (l > hold) hold = l;
  }
  if (m->tsc && !m->takedown_id) {
    size_t from = hg_takedown_scanner_hold_from(m->tsc);
    if (from < fed && fed - from > hold) hold = fed - from;
  }
  if (m->rsc) {
    size_t from = policy_rules_scanner_hold_from(m->rsc);
    if (from < fed && fed - from > hold) hold = fed - from;
  }
  if (m->classify && m->policy->hold == HG_HOLD_SENTENCE && m->sent->n) {
    size_t from = m->sent->chars[0].src_start;
    if (from < fed && fed - from > hold) hold = fed - from;
  }
  /* a UTF-8 sequence cut at the end is never released half */
  if (fed - m->complete > hold) hold = fed - m->complete;
  return hold > fed ? fed : hold;
}

hg_decision hg_moderator_decision(const hg_moderator *m) { return m->decision; }

const hg_reason *hg_moderator_reasons(const hg_moderator *m, size_t *count) {
  *count = m->nreasons;
  return m->reasons;
}

size_t hg_moderator_reason_total(const hg_moderator *m) { return m->total; }

void hg_moderator_forget_reasons(hg_moderator *m) { m->nreasons = 0; }

hg_status hg_moderator_track_sentences(hg_moderator *m) {
  if (!m->sent_buf && !(m->sent_buf = calloc(1, sizeof *m->sent_buf))) return HG_ERR_NOMEM;
  m->sent = m->sent_buf;
  return HG_OK;
}

size_t hg_moderator_sentence_end(const hg_moderator *m) { return m->sent ? m->sent->last_end : 0; }

hg_status hg_moderator_want_scores(hg_moderator *m) {
  if (!m->classify) return HG_OK;
  m->all_scores = 1;
  return HG_OK;
}

const float *hg_moderator_scores(const hg_moderator *m, size_t *count) {
  if (!m->classify || !m->all_scores) {
    *count = 0;
    return NULL;
  }
  *count = m->policy->labels;
  return m->sent->best;
}

size_t hg_moderator_offset(const hg_moderator *m) { return hg_normalizer_offset(m->view); }
