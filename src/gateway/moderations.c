/* moderations.c — POST /v1/moderations: texts judged by the policy's moderator (judge.h) in the input direction, in
 * OpenAI's request and response shape, with hegui's own findings under "hegui". Nothing is recorded: the route
 * answers what the policy would do with a text, for a provider checking its own content. */
#include <event2/buffer.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "gateway.h"
#include "judge.h"
#include "prompt.h"
#include "router.h"

#define MAX_MODERATION_INPUTS 256 /* per request: each is a result, and the answer must stay bounded */
#define MAX_LISTED_FINDINGS 16    /* lexicon hits, and personal data, listed per result (the verdict counts all) */

/* The texts of a moderations request, as a new array of strings: a string; an array of strings; or OpenAI's array
 * of parts, which is one input (its text parts joined by line breaks, as a prompt's are). NULL after a 400. */
static json_t *moderation_texts(struct evhttp_request *req, json_t *input) {
  char param[48];
  if (json_is_string(input)) return json_pack("[O]", input);
  if (!json_is_array(input)) {
    send_error_param(req, 400, "invalid_request_error",
                     "'input' must be a string, an array of strings or an array of text parts", "input",
                     "invalid_input");
    return NULL;
  }
  size_t n = json_array_size(input);
  if (n > MAX_MODERATION_INPUTS) {
    char msg[128];
    snprintf(msg, sizeof msg, "'input' has %zu items; hegui moderates at most %d in one request", n,
             MAX_MODERATION_INPUTS);
    send_error_param(req, 400, "invalid_request_error", msg, "input", "invalid_input");
    return NULL;
  }
  int parts = n && json_is_object(json_array_get(input, 0));
  char *joined = NULL;
  size_t jl = 0, jc = 0;
  json_t *texts = json_array();
  for (size_t i = 0; i < n; i++) {
    json_t *item = json_array_get(input, i), *text = json_object_get(item, "text");
    const char *type = json_string_value(json_object_get(item, "type"));
    const char *problem = NULL;
    if (!parts && !json_is_string(item))
      problem = "'input' must be a string, an array of strings or an array of text parts";
    else if (parts && !json_is_object(item))
      problem = "an array of parts must hold only parts";
    else if (parts && type && !strcmp(type, "image_url"))
      problem = "images are not supported: hegui moderates text";
    else if (parts && (!type || strcmp(type, "text") || !json_is_string(text)))
      problem = "a part must be {\"type\": \"text\", \"text\": string}";
    if (problem) {
      snprintf(param, sizeof param, "input[%zu]", i);
      send_error_param(req, 400, "invalid_request_error", problem, param, "invalid_input");
      json_decref(texts);
      free(joined);
      return NULL;
    }
    if (!parts) {
      json_array_append(texts, item);
    } else {
      if (i) text_append(&joined, &jl, &jc, PROMPT_SEPARATOR, PROMPT_SEPARATOR_LEN, (size_t)-1);
      text_append(&joined, &jl, &jc, json_string_value(text), json_string_length(text), (size_t)-1);
    }
  }
  if (parts) json_array_append_new(texts, json_stringn(joined ? joined : "", jl));
  free(joined);
  return texts;
}

/* One text through the moderator in the input direction (what a provider checks with this route is what users
 * send; takedowns are about answers coming back and do not run), as a moderation result. flagged is true when the
 * verdict is block or review: what a provider would act on; the verdict itself is in hegui.verdict. */
static json_t *moderation_result(const hg_config *cfg, hg_lexicon *lex, const char *t, size_t tl) {
  /* OpenAI's categories that hegui's risks map onto (docs/gateway.md) */
  static const struct {
    const char *openai;
    int cats[11];
  } map[] = {
      {"hate",
       {HG_CAT_A1E, HG_CAT_A2A, HG_CAT_A2B, HG_CAT_A2C, HG_CAT_A2D, HG_CAT_A2E, HG_CAT_A2F, HG_CAT_A2G, HG_CAT_A2H,
        HG_CAT_A2I, -1}},
      {"harassment", {HG_CAT_A4C, HG_CAT_A4D, HG_CAT_INSULT, -1}},
      {"self-harm", {HG_CAT_A4A, -1}},
      {"sexual", {HG_CAT_A1F, -1}},
      {"violence", {HG_CAT_A1D, HG_CAT_A1F, -1}},
      {"illicit", {HG_CAT_A1H, HG_CAT_FRAUD, HG_CAT_MALWARE, -1}},
  };
  /* the policy's moderator over this one text, its findings in a detail of its own (spans on malloc) */
  judge tmp = {.cfg = cfg, .lex = lex, .detail = json_object(), .input_hits = json_array(), .input_pii = json_array()};
  span_hit *spans;
  size_t nspans, nscores = 0;
  float best[HG_CLASSIFIER_MAX_LABELS];
  hg_decision d = judge_text(&tmp, HG_DIR_INPUT, t, tl, &spans, &nspans, best, &nscores);
  judge_spans_free(&tmp, spans);
  /* the classifier's labels by category: a category's score is its highest label's */
  const hg_policy *policy = ((const live_config *)(const void *)cfg)->policy;
  hg_classifier *model = hg_policy_classifier(policy);
  float cat_score[HG_CATEGORY_COUNT] = {0};
  json_t *labels = json_array();
  for (size_t l = 0; l < nscores; l++) {
    hg_classifier_label_info info;
    hg_category cat;
    if (hg_classifier_label(model, l, &info) || hg_category_parse(info.code, strlen(info.code), &cat)) continue;
    if (best[l] > cat_score[cat]) cat_score[cat] = best[l];
    double sc = (double)(int)(best[l] * 10000.0f + 0.5f) / 10000.0;
    double th = (double)(int)(hg_policy_threshold(policy, l) * 10000.0f + 0.5f) / 10000.0;
    json_array_append_new(
        labels, json_pack("{s:s, s:s, s:f, s:f}", "label", info.name, "code", info.code, "score", sc, "threshold", th));
  }
  json_t *cats = json_object(), *scores = json_object();
  int flagged = d == HG_DECIDE_BLOCK || d == HG_DECIDE_REVIEW;
  for (size_t k = 0; k < sizeof map / sizeof *map; k++) {
    int hit = 0;
    double score = 0.0;
    for (size_t h = 0; h < json_array_size(tmp.input_hits); h++) {
      hg_category cat;
      json_t *x = json_array_get(tmp.input_hits, h);
      const char *code = json_string_value(json_object_get(x, "category"));
      if (strcmp(json_string_value(json_object_get(x, "effect")), "record") && code &&
          !hg_category_parse(code, strlen(code), &cat))
        for (int q = 0; q < 11 && map[k].cats[q] >= 0; q++)
          hit |= map[k].cats[q] == (int)cat;
    }
    /* a listed word or a rule is certain (1); otherwise the classifier's highest score in the category */
    for (int q = 0; q < 11 && map[k].cats[q] >= 0; q++)
      if (cat_score[map[k].cats[q]] > score) score = cat_score[map[k].cats[q]];
    if (hit) score = 1.0;
    json_object_set_new(cats, map[k].openai, json_boolean(hit));
    json_object_set_new(scores, map[k].openai, json_real((double)(int)(score * 10000.0 + 0.5) / 10000.0));
  }
  json_t *hits = tmp.input_hits, *pii = tmp.input_pii;
  int truncated = json_array_size(hits) > MAX_LISTED_FINDINGS || json_array_size(pii) > MAX_LISTED_FINDINGS;
  while (json_array_size(hits) > MAX_LISTED_FINDINGS)
    json_array_remove(hits, json_array_size(hits) - 1);
  while (json_array_size(pii) > MAX_LISTED_FINDINGS)
    json_array_remove(pii, json_array_size(pii) - 1);
  json_t *hegui = json_pack("{s:o, s:s, s:O, s:O, s:o}", "flagged", json_boolean(flagged), "verdict",
                            hg_decision_name(d), "hits", hits, "pii", pii, "classifier", labels);
  json_t *error = json_object_get(tmp.detail, "input_error");
  if (error) json_object_set(hegui, "error", error);
  if (truncated) json_object_set_new(hegui, "truncated", json_true());
  json_t *result = json_pack("{s:b, s:o, s:o, s:o}", "flagged", flagged, "categories", cats, "category_scores", scores,
                             "hegui", hegui);
  json_decref(tmp.input_hits);
  json_decref(tmp.input_pii);
  json_decref(tmp.detail);
  return result;
}

/* POST /v1/moderations: OpenAI's request and response shape; hegui's own findings under "hegui". The dispatcher
 * counts the request. */
void route_moderations(route_req *rq) {
  gateway *gw = rq->gw;
  struct evhttp_request *req = rq->req;
  struct evbuffer *in = evhttp_request_get_input_buffer(req);
  size_t blen = evbuffer_get_length(in);
  json_t *body = hg_json_loadb((const char *)evbuffer_pullup(in, -1), blen, 0, NULL);
  json_t *texts = moderation_texts(req, json_object_get(body, "input"));
  if (!texts) {
    json_decref(body);
    return;
  }
  const hg_config *cfg = live_cfg(gw);
  hg_lexicon *lex = hg_lexicon_slot_acquire(gw->lexicon);
  json_t *results = json_array();
  for (size_t i = 0; i < json_array_size(texts); i++) {
    json_t *s = json_array_get(texts, i);
    json_array_append_new(results, moderation_result(cfg, lex, json_string_value(s), json_string_length(s)));
  }
  hg_lexicon_unref(lex);
  unsigned char r[12];
  randombytes_buf(r, sizeof r);
  char hex[25], id[40];
  sodium_bin2hex(hex, sizeof hex, r, sizeof r);
  snprintf(id, sizeof id, "modr-hg%s", hex);
  send_json(req, 200, json_pack("{s:s, s:s, s:o}", "id", id, "model", "hegui-lexicon", "results", results));
  json_decref(texts);
  json_decref(body);
}
