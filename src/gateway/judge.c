/* judge.c — texts judged by the policy's moderator, findings into the record (judge.h has the contract). */
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "hegui/ocr.h"
#include "judge.h"
#include "modpool.h"

#define WHOLE_SLICE (64u << 10) /* a whole text goes to the moderator in pieces this long */

static hg_policy *policy_of(const judge *j) { return ((live_config *)(void *)j->cfg)->policy; }

static int span_cmp(const void *x, const void *y) {
  const span_hit *a = x, *b = y;
  if (a->start != b->start) return a->start < b->start ? -1 : 1;
  return a->end > b->end ? -1 : a->end < b->end; /* the longer first */
}

static int add_span(const judge *j, span_hit **v, size_t *n, size_t *cap, span_hit s) {
  if (*n == *cap) {
    size_t grown = *cap ? *cap * 2 : 8;
    span_hit *nv =
        j->arena ? hg_arena_grow(j->arena, *v, *cap * sizeof *nv, grown * sizeof *nv) : realloc(*v, grown * sizeof *nv);
    if (!nv) return -1;
    *v = nv;
    *cap = grown;
  }
  (*v)[(*n)++] = s;
  return 0;
}

/* Sorts redaction spans and merges the ones that overlap into disjoint unions, so that every span is applied whole
 * and none is skipped for touching another (a rule next to a phone number, two overlapping redact entries). A union
 * of one span keeps its type (a placeholder or a mask that keeps the last digits); a union of several is masked
 * whole (-1), since keeping part of one could show what another covers. */
void judge_merge_spans(span_hit *v, size_t *n) {
  if (*n < 2) return;
  qsort(v, *n, sizeof *v, span_cmp);
  size_t k = 0;
  for (size_t i = 1; i < *n; i++) {
    if (v[i].start < v[k].end) {
      if (v[i].start != v[k].start || v[i].end != v[k].end || v[i].type != v[k].type) v[k].type = -1;
      if (v[i].end > v[k].end) v[k].end = v[i].end;
    } else {
      v[++k] = v[i];
    }
  }
  *n = k + 1;
}

/* Takes the reasons the moderator has found so far: each is listed in the record (personal data in pii_log, the rest
 * in hits_log), the first block names its category, a review marks the request, and redactions are gathered as
 * spans (type: the hg_pii_type, or -1 for a mask). Returns -1 when a span could not be kept (out of memory). */
int judge_take_reasons(judge *j, hg_moderator *m, json_t *hits_log, json_t *pii_log, const char *error_key,
                       span_hit **spans, size_t *nspans, size_t *cap) {
  size_t n;
  const hg_reason *r = hg_moderator_reasons(m, &n);
  int failed = 0;
  for (size_t i = 0; i < n; i++) {
    const hg_reason *x = &r[i];
    const char *effect = x->effect == HG_DECIDE_ALLOW ? "record" : hg_decision_name(x->effect);
    if (x->detector == HG_DETECTOR_PII) {
      if (pii_log && json_array_size(pii_log) < MAX_LOGGED_FINDINGS)
        json_array_append_new(pii_log, json_pack("{s:s, s:s, s:I, s:I}", "type", x->rule, "effect", effect, "start",
                                                 (json_int_t)x->start, "end", (json_int_t)x->end));
    } else if (x->detector == HG_DETECTOR_TEXT || x->detector == HG_DETECTOR_ERROR) {
      json_object_set_new(j->detail, error_key, json_string(x->rule));
    } else if (hits_log && json_array_size(hits_log) < MAX_LOGGED_FINDINGS) {
      json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "detector", hg_detector_name(x->detector), "entry",
                            x->rule, "category", hg_category_code(x->category), "effect", effect, "start",
                            (json_int_t)x->start, "end", (json_int_t)x->end);
      if (x->detector == HG_DETECTOR_LEXICON) json_object_set_new(o, "mode", json_string(hg_mode_name(x->mode)));
      if (x->detector == HG_DETECTOR_TAKEDOWN) json_object_set_new(o, "takedown_id", json_integer(x->rule_id));
      if (x->detector == HG_DETECTOR_CLASSIFIER)
        json_object_set_new(o, "score", json_real((double)(int)(x->score * 10000.0f + 0.5f) / 10000.0));
      json_array_append_new(hits_log, o);
    }
    if (x->effect == HG_DECIDE_BLOCK && !json_object_get(j->detail, "block_category")) {
      const char *cat = x->detector == HG_DETECTOR_TAKEDOWN ? "takedown"
                        : x->detector == HG_DETECTOR_TEXT   ? "text"
                        : x->detector == HG_DETECTOR_ERROR  ? "error"
                                                            : hg_category_code(x->category);
      json_object_set_new(j->detail, "block_category", json_string(cat));
      if (x->detector == HG_DETECTOR_TAKEDOWN) json_object_set_new(j->detail, "takedown_id", json_integer(x->rule_id));
    } else if (x->effect == HG_DECIDE_REVIEW) {
      json_object_set_new(j->detail, "review", json_true());
    } else if (x->effect == HG_DECIDE_REDACT && hits_log == j->output_hits &&
               !json_object_get(j->detail, "output_redacted")) {
      json_object_set_new(j->detail, "output_redacted", json_true());
    }
    if (x->effect == HG_DECIDE_REDACT && x->detector != HG_DETECTOR_TEXT && spans &&
        add_span(j, spans, nspans, cap,
                 (span_hit){x->start, x->end, x->detector == HG_DETECTOR_PII ? (int)x->rule_id : -1})) {
      failed = 1;
    }
  }
  hg_moderator_forget_reasons(m);
  return failed ? -1 : 0;
}

/* Runs one whole text through a moderator of the thread's pool (modpool.h). Returns the verdict (a block when the
 * moderator could not run) and the redaction spans, sorted (judge_spans_free; NULL when none); with scores, also the
 * classifier's highest score per label (*nscores of them, at most HG_CLASSIFIER_MAX_LABELS; 0 when it did not run). */
hg_decision judge_text(judge *j, hg_direction dir, const char *text, size_t len, span_hit **spans, size_t *nspans,
                       float *scores, size_t *nscores) {
  const char *error_key = dir == HG_DIR_INPUT ? "input_error" : "output_error";
  json_t *hits = dir == HG_DIR_INPUT ? j->input_hits : j->output_hits;
  json_t *pii = dir == HG_DIR_INPUT ? j->input_pii : json_object_get(j->detail, "output_pii");
  *spans = NULL;
  *nspans = 0;
  size_t cap = 0;
  hg_moderator *m;
  hg_error err;
  hg_error_clear(&err);
  if (modpool_take(policy_of(j), dir, j->lex, j->takedowns, &m, &err)) {
    json_object_set_new(j->detail, error_key, json_string(err.message)); /* what cannot be judged is not passed */
    return HG_DECIDE_BLOCK;
  }
  if (scores) hg_moderator_want_scores(m); /* every label's score is reported, not only those that can flag */
  /* in slices, taking the reasons after each as a stream does, so that a long text never meets the moderator's
   * cap on kept reasons and gets the verdict its stream would */
  hg_status st = HG_OK;
  int lost = 0;
  for (size_t pos = 0; pos < len && !st && !lost; pos += WHOLE_SLICE) {
    st = hg_moderator_feed(m, text + pos, len - pos < WHOLE_SLICE ? len - pos : WHOLE_SLICE, &err);
    lost = judge_take_reasons(j, m, hits, pii, error_key, spans, nspans, &cap);
  }
  if (!st && !lost) st = hg_moderator_finish(m, &err);
  if (!lost) lost = judge_take_reasons(j, m, hits, pii, error_key, spans, nspans, &cap);
  hg_decision d = hg_moderator_decision(m);
  if (scores) {
    const float *best = hg_moderator_scores(m, nscores);
    if (*nscores > HG_CLASSIFIER_MAX_LABELS) *nscores = HG_CLASSIFIER_MAX_LABELS;
    if (*nscores) memcpy(scores, best, *nscores * sizeof *scores);
  }
  modpool_give(m, policy_of(j), dir, j->lex, j->takedowns);
  if (st || lost) d = HG_DECIDE_BLOCK;
  judge_merge_spans(*spans, nspans);
  return d;
}

void judge_spans_free(const judge *j, span_hit *spans) {
  if (!j->arena) free(spans);
}

int judge_unjudged(judge *j, const char *what) {
  json_t *list = json_object_get(j->detail, "unjudged");
  if (!list) json_object_set_new(j->detail, "unjudged", list = json_array());
  if (json_array_size(list) < MAX_LOGGED_FINDINGS) json_array_append_new(list, json_string(what));
  if (j->cfg->media_unjudged == 1) json_object_set_new(j->detail, "review", json_true());
  if (j->cfg->media_unjudged != 2) return 0;
  if (!json_object_get(j->detail, "block_category"))
    json_object_set_new(j->detail, "block_category", json_string("unjudged"));
  return 1;
}

int judge_ocr_text(judge *j, hg_direction dir, const char *what, const struct hg_ocr_result *r, const char *error) {
  json_t *log = json_object_get(j->detail, "ocr");
  if (!log) json_object_set_new(j->detail, "ocr", log = json_array());
  char msg[320];
  if (!r) {
    if (json_array_size(log) < MAX_LOGGED_FINDINGS)
      json_array_append_new(log, json_pack("{s:s, s:s}", "image", what, "error", error ? error : "not read"));
    snprintf(msg, sizeof msg, "%s: its text was not read (%s)", what, error ? error : "no OCR");
    return judge_unjudged(j, msg);
  }
  if (json_array_size(log) < MAX_LOGGED_FINDINGS)
    json_array_append_new(log, json_pack("{s:s, s:I, s:i, s:b, s:I}", "image", what, "bytes", (json_int_t)r->len,
                                         "confidence", r->confidence, "timed_out", r->timed_out, "ms",
                                         (json_int_t)r->elapsed_ms));
  span_hit *spans;
  size_t n;
  hg_decision d = judge_text(j, dir, r->text ? r->text : "", r->len, &spans, &n, NULL, NULL);
  judge_spans_free(j, spans);
  if (d == HG_DECIDE_BLOCK) return 1;
  if (r->timed_out) {
    snprintf(msg, sizeof msg, "%s: OCR stopped at media.ocr_timeout_ms, part of its text not read", what);
    return judge_unjudged(j, msg);
  }
  return 0;
}

hg_decision judge_guard(judge *j, hg_direction dir, const guard_outcome *o) {
  int in = dir == HG_DIR_INPUT;
  if (o->failed) {
    json_object_set_new(j->detail, in ? "input_guard_error" : "output_guard_error", json_string(o->error));
    if (!j->cfg->guard.on_error_block) return HG_DECIDE_ALLOW;
    json_object_set_new(j->detail, in ? "input_error" : "output_error", json_string(o->error));
    if (!json_object_get(j->detail, "block_category"))
      json_object_set_new(j->detail, "block_category", json_string("error"));
    return HG_DECIDE_BLOCK;
  }
  double score = (double)(int)(o->score * 10000.0f + 0.5f) / 10000.0;
  json_object_set_new(j->detail, in ? "input_guard" : "output_guard",
                      json_pack("{s:s, s:f, s:b}", "verdict",
                                o->unsafe          ? "unsafe"
                                : o->controversial ? "controversial"
                                                   : "safe",
                                "score", score, "cached", o->cached));
  if (!o->unsafe && !o->controversial) return HG_DECIDE_ALLOW;
  hg_action a = o->unsafe ? j->cfg->guard.action : j->cfg->guard.controversial;
  hg_decision d = hg_policy_effect(policy_of(j), dir, HG_DETECTOR_GUARD, o->risk, a);
  json_array_append_new(in ? j->input_hits : j->output_hits,
                        json_pack("{s:s, s:s, s:s, s:s, s:f}", "detector", "guard", "entry", o->category, "category",
                                  hg_category_code(o->risk), "effect",
                                  d == HG_DECIDE_ALLOW ? "record" : hg_decision_name(d), "score", score));
  if (d == HG_DECIDE_BLOCK && !json_object_get(j->detail, "block_category"))
    json_object_set_new(j->detail, "block_category", json_string(hg_category_code(o->risk)));
  else if (d == HG_DECIDE_REVIEW)
    json_object_set_new(j->detail, "review", json_true());
  return d;
}
