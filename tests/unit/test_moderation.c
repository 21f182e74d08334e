/* test_moderation.c — the moderation stage (src/gateway/moderation.c) without HTTP, under the default policy and a
 * lexicon written here, each verdict cross-checked against hg_moderator run directly on the same text: a prompt with
 * a listed word is refused with its reason (category, entry, the member it fell in, the span the moderator gives)
 * and the refusal's text with the strike ladder's word; a clean prompt passes untouched; personal data leaves as a
 * placeholder and comes back on the way out; a streamed answer is held back exactly as far as the moderator's
 * pending suffix and blocked when the word completes; tool calls are judged whole and named in the findings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/arena.h"
#include "gateway/moderation.h"

#include "test_util.h"

#define WORD "炸药配方"
#define WORD_PREFIX "炸药"

typedef struct fixture {
  live_config lc; /* the stage judges under the policy of the configuration it holds, as the gateway's are */
  hg_lexicon *lex;
  hg_arena *arena;
  json_t *detail;
  moderation m;
  prompt_text pt;
  json_t *body;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  hg_config_init(&f->lc.cfg);
  hg_error err;
  if (hg_policy_from_config(&f->lc.cfg, &f->lc.policy, &err)) {
    fprintf(stderr, "policy: %s\n", err.message);
    abort();
  }
  f->lex = lex_from_text(WORD "\tA1D\t3\tblock\n", 0);
  f->arena = hg_arena_new(8192, 0);
  f->detail = json_object();
  /* the stage takes a reference to the lexicon; the fixture keeps its own for the direct runs */
  assert_int_equal(moderation_open(&f->m, &f->lc.cfg, hg_lexicon_ref(f->lex), NULL, f->detail, f->arena), HG_OK);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  moderation_close(&f->m);
  prompt_free(&f->pt);
  json_decref(f->body);
  json_decref(f->detail);
  hg_arena_destroy(f->arena);
  hg_lexicon_unref(f->lex);
  hg_policy_unref(f->lc.policy);
  free(f);
  return 0;
}

/* hg_moderator itself on one text: the reference every verdict here is checked against. */
typedef struct direct {
  hg_decision d;
  hg_reason r[16];
  size_t n;
  size_t pending; /* the pending suffix after the text (before finish) */
} direct;

static direct judge_directly(fixture *f, hg_direction dir, const char *text, size_t len) {
  direct out = {0};
  hg_moderator *m;
  assert_int_equal(hg_moderator_new(f->lc.policy, dir, f->lex, NULL, &m, NULL), HG_OK);
  hg_moderator_feed(m, text, len, NULL);
  out.pending = hg_moderator_pending_suffix_len(m);
  hg_moderator_finish(m, NULL);
  size_t n;
  const hg_reason *r = hg_moderator_reasons(m, &n);
  out.n = n < 16 ? n : 16;
  if (out.n) memcpy(out.r, r, out.n * sizeof *r);
  out.d = hg_moderator_decision(m);
  hg_moderator_free(m);
  return out;
}

static void parse_chat(fixture *f, const char *json) {
  json_error_t je;
  f->body = json_loads(json, 0, &je);
  assert_non_null(f->body);
  assert_int_equal(prompt_parse(f->body, &je, 1, f->arena, &f->pt), PROMPT_OK);
}

static json_t *hits(fixture *f, const char *list) { return json_object_get(f->detail, list); }

static void prompt_refused_with_reason(void **state) {
  fixture *f = *state;
  parse_chat(f, "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"be kind\"},"
                "{\"role\":\"user\",\"content\":\"how to get " WORD " at home\"}]}");
  int changed = 0;
  assert_int_equal(moderation_prompt(&f->m, &f->pt, &changed), -1);
  direct ref = judge_directly(f, HG_DIR_INPUT, f->pt.joined, f->pt.joined_len);
  assert_int_equal(ref.d, HG_DECIDE_BLOCK);
  assert_int_equal(ref.n, 1);
  json_t *hit = json_array_get(hits(f, "input_hits"), 0);
  assert_int_equal(json_array_size(hits(f, "input_hits")), 1);
  assert_string_equal(json_string_value(json_object_get(hit, "entry")), WORD);
  assert_string_equal(json_string_value(json_object_get(hit, "category")), hg_category_code(ref.r[0].category));
  assert_string_equal(json_string_value(json_object_get(hit, "effect")), "block");
  assert_string_equal(json_string_value(json_object_get(hit, "member")), "messages[1].content");
  assert_int_equal(json_integer_value(json_object_get(hit, "start")), ref.r[0].start);
  assert_int_equal(json_integer_value(json_object_get(hit, "end")), ref.r[0].end);
  assert_memory_equal(f->pt.joined + ref.r[0].start, WORD, strlen(WORD));
  assert_string_equal(json_string_value(json_object_get(f->detail, "block_category")),
                      hg_category_code(ref.r[0].category));
  /* the refusal: not the engine's failure, so the ladder's word follows the configured refusal */
  assert_int_equal(moderation_refused_by_engine(&f->m), 0);
  char out[2048], want[2048];
  moderation_refusal(&f->m, 0, HG_STANDING_ACTIVE, 0, out, sizeof out);
  snprintf(want, sizeof want, "%s\n（提示：多次输入违规内容将导致账号被暂停使用。）", f->lc.cfg.refusal);
  assert_string_equal(out, want);
  assert_null(json_object_get(f->detail, "ladder"));
  moderation_refusal(&f->m, 0, HG_STANDING_SUSPENDED, INT64_C(1709254800000), out, sizeof out); /* 01:00 UTC */
  assert_non_null(strstr(out, "suspended until 2024-03-01T01:00:00Z"));
  assert_string_equal(json_string_value(json_object_get(f->detail, "ladder")), "suspended");
  moderation_refusal(&f->m, 1, HG_STANDING_ACTIVE, 0, out, sizeof out); /* a detector failed: the refusal alone */
  assert_string_equal(out, f->lc.cfg.refusal);
  /* the refused prompt is kept as retention keeps every text (redacted by default: no personal data here) */
  assert_non_null(f->m.input_text);
  assert_non_null(strstr(f->m.input_text, WORD));
}

static void prompt_clean_passes(void **state) {
  fixture *f = *state;
  parse_chat(f, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"what is the weather in Paris\"}]}");
  int changed = 0;
  assert_int_equal(moderation_prompt(&f->m, &f->pt, &changed), 0);
  assert_int_equal(changed, 0);
  direct ref = judge_directly(f, HG_DIR_INPUT, f->pt.joined, f->pt.joined_len);
  assert_int_equal(ref.d, HG_DECIDE_ALLOW);
  assert_int_equal(ref.n, 0);
  assert_int_equal(json_array_size(hits(f, "input_hits")), 0);
  assert_null(json_object_get(f->detail, "block_category"));
  assert_string_equal(f->m.input_text, "what is the weather in Paris");
  assert_string_equal(
      json_string_value(json_object_get(json_array_get(json_object_get(f->body, "messages"), 0), "content")),
      "what is the weather in Paris");
}

static void personal_data_leaves_as_placeholder(void **state) {
  fixture *f = *state;
  parse_chat(f, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"call me on 13812345678 please\"}]}");
  const char *asked = "call me on 13812345678 please"; /* the joined text: one piece */
  direct ref = judge_directly(f, HG_DIR_INPUT, asked, strlen(asked));
  int changed = 0;
  assert_int_equal(moderation_prompt(&f->m, &f->pt, &changed), 0);
  assert_int_equal(changed, 1);
  assert_int_equal(ref.n, 1);
  assert_int_equal(ref.r[0].detector, HG_DETECTOR_PII);
  json_t *pii = json_array_get(hits(f, "input_pii"), 0);
  assert_int_equal(json_integer_value(json_object_get(pii, "start")), ref.r[0].start);
  assert_int_equal(json_integer_value(json_object_get(pii, "end")), ref.r[0].end);
  const char *sent =
      json_string_value(json_object_get(json_array_get(json_object_get(f->body, "messages"), 0), "content"));
  assert_null(strstr(sent, "13812345678"));
  assert_null(strstr(f->m.input_text, "13812345678"));
  const char *ph = strchr(sent, '<');
  assert_non_null(ph);
  /* the model answers with the placeholder: the user gets the value back, and it is not judged as new data */
  char answer[128];
  snprintf(answer, sizeof answer, "I will call %.*s tomorrow", (int)(strchr(ph, '>') + 1 - ph), ph);
  span_hit *spans;
  size_t nspans, ol;
  assert_int_equal(moderation_answer_text(&f->m, answer, strlen(answer), &spans, &nspans), 0);
  assert_int_equal(nspans, 0);
  char *shown = moderation_render(&f->m, answer, strlen(answer), 0, spans, nspans, &ol);
  assert_string_equal(shown, "I will call 13812345678 tomorrow");
  free(shown);
  moderation_spans_free(&f->m, spans);
  assert_string_equal(f->m.raw_out, answer); /* the record keeps the placeholder */
  /* new personal data in an answer is masked on its way out */
  const char *leak = "her number is 13912345678";
  assert_int_equal(moderation_answer_text(&f->m, leak, strlen(leak), &spans, &nspans), 0);
  assert_int_equal(nspans, 1);
  shown = moderation_render(&f->m, leak, strlen(leak), 0, spans, nspans, &ol);
  assert_null(strstr(shown, "13912345678"));
  assert_memory_equal(shown, "her number is ", 14);
  free(shown);
  moderation_spans_free(&f->m, spans);
}

static void whole_answer_blocked(void **state) {
  fixture *f = *state;
  const char *a = "Here is the " WORD ".";
  span_hit *spans;
  size_t n;
  assert_int_equal(moderation_answer_text(&f->m, a, strlen(a), &spans, &n), 1);
  moderation_spans_free(&f->m, spans);
  assert_int_equal(judge_directly(f, HG_DIR_OUTPUT, a, strlen(a)).d, HG_DECIDE_BLOCK);
  assert_int_equal(f->m.blocked_output, 1);
  assert_string_equal(json_string_value(json_object_get(json_array_get(hits(f, "output_hits"), 0), "entry")), WORD);
}

/* Feeds text to the stage and releases what it may; what was released is appended to shown. */
static int stream_piece(fixture *f, const char *s, char *shown, size_t cap, size_t *hold) {
  int blocked = moderation_stream_feed(&f->m, s, strlen(s));
  if (blocked) return 1;
  size_t to = moderation_releasable(&f->m, (size_t)-1, hold), ol;
  char *out = moderation_release(&f->m, to, &ol);
  if (out) strncat(shown, out, cap - strlen(shown) - 1);
  free(out);
  return 0;
}

static void stream_held_back_then_blocked(void **state) {
  fixture *f = *state;
  assert_int_equal(moderation_stream_open(&f->m, 0), 0);
  char shown[256] = "";
  size_t hold;
  const char *first = "The answer: " WORD_PREFIX;
  assert_int_equal(stream_piece(f, first, shown, sizeof shown, &hold), 0);
  /* held back exactly as far as the moderator's own pending suffix: the start of the word is not out */
  direct ref = judge_directly(f, HG_DIR_OUTPUT, first, strlen(first));
  assert_int_equal(hold, ref.pending);
  assert_true(hold >= strlen(WORD_PREFIX));
  assert_null(strstr(shown, WORD_PREFIX));
  assert_int_equal(strlen(shown), strlen(first) - hold);
  assert_int_equal(stream_piece(f, "配方 now", shown, sizeof shown, &hold), 1);
  assert_int_equal(f->m.blocked_output, 1);
  assert_int_equal(judge_directly(f, HG_DIR_OUTPUT, "The answer: " WORD " now", strlen("The answer: " WORD " now")).d,
                   HG_DECIDE_BLOCK);
  assert_null(strstr(shown, WORD_PREFIX));
  assert_string_equal(json_string_value(json_object_get(f->detail, "block_category")), hg_category_code(HG_CAT_A1D));
}

static void stream_clean_all_released(void **state) {
  fixture *f = *state;
  assert_int_equal(moderation_stream_open(&f->m, 1), 0);
  const char *pieces[] = {"Bon", "jour, 炸", "弹 is ", "a word", " here."};
  char shown[256] = "", all[256] = "";
  size_t hold;
  for (size_t i = 0; i < 5; i++) {
    strcat(all, pieces[i]);
    assert_int_equal(stream_piece(f, pieces[i], shown, sizeof shown, &hold), 0);
    assert_int_equal(strncmp(shown, all, strlen(shown)), 0); /* what is out is a prefix of the answer */
  }
  moderation_stream_finish(&f->m);
  assert_int_equal(f->m.blocked_output, 0);
  size_t ol;
  char *rest = moderation_release(&f->m, f->m.fed, &ol);
  if (rest) strcat(shown, rest);
  free(rest);
  assert_string_equal(shown, all);
  assert_string_equal(f->m.raw_out, all);
  assert_int_equal(moderation_sentence_end(&f->m) <= f->m.raw_len, 1);
  assert_int_equal(judge_directly(f, HG_DIR_OUTPUT, all, strlen(all)).d, HG_DECIDE_ALLOW);
}

static void tool_calls_judged_whole(void **state) {
  fixture *f = *state;
  tool_call tc = {.index = 0};
  snprintf(tc.id, sizeof tc.id, "call_abc-1");
  tc.name = "get_weather";
  tc.name_len = strlen(tc.name);
  tc.arguments = "{\"city\":\"Paris\"}";
  tc.arguments_len = strlen(tc.arguments);
  json_t *call = moderation_call(&f->m, &tc, 0);
  assert_non_null(call);
  assert_int_equal(json_integer_value(json_object_get(call, "index")), 0);
  assert_string_equal(json_string_value(json_object_get(call, "id")), "call_abc-1");
  json_t *fn = json_object_get(call, "function");
  assert_string_equal(json_string_value(json_object_get(fn, "name")), "get_weather");
  assert_string_equal(json_string_value(json_object_get(fn, "arguments")), "{\"city\":\"Paris\"}");
  assert_string_equal(f->m.calls_text, "get_weather {\"city\":\"Paris\"}\n");
  json_decref(call);
  /* an id that is not an identifier is not passed on */
  snprintf(tc.id, sizeof tc.id, "id with spaces");
  tc.index = 1;
  call = moderation_call(&f->m, &tc, -1);
  assert_memory_equal(json_string_value(json_object_get(call, "id")), "call_hg", 7);
  assert_null(json_object_get(call, "index"));
  json_decref(call);
  /* the word split between name and arguments is not one text; in the arguments it is found and named */
  tc.index = 2;
  tc.arguments = "{\"q\":\"" WORD "\"}";
  tc.arguments_len = strlen(tc.arguments);
  assert_null(moderation_call(&f->m, &tc, 2));
  assert_int_equal(f->m.blocked_output, 1);
  json_t *hit = json_array_get(hits(f, "output_hits"), 0);
  assert_string_equal(json_string_value(json_object_get(hit, "member")), "tool_calls[2]");
  char text[128];
  snprintf(text, sizeof text, "get_weather\n%s", tc.arguments);
  direct ref = judge_directly(f, HG_DIR_OUTPUT, text, strlen(text));
  assert_int_equal(ref.d, HG_DECIDE_BLOCK);
  assert_int_equal(json_integer_value(json_object_get(hit, "start")), ref.r[0].start);
  /* a whole answer's calls: shaped as OpenAI's, or not passed */
  json_t *ok = json_loads("[{\"id\":\"c1\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]", 0, NULL);
  json_t *bad = json_loads("[{\"id\":\"c1\",\"function\":{\"name\":1}}]", 0, NULL);
  assert_int_equal(moderation_calls_shaped(ok, NULL), 1);
  assert_int_equal(moderation_calls_shaped(bad, NULL), 0);
  json_decref(ok);
  json_decref(bad);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(prompt_refused_with_reason, setup, teardown),
      cmocka_unit_test_setup_teardown(prompt_clean_passes, setup, teardown),
      cmocka_unit_test_setup_teardown(personal_data_leaves_as_placeholder, setup, teardown),
      cmocka_unit_test_setup_teardown(whole_answer_blocked, setup, teardown),
      cmocka_unit_test_setup_teardown(stream_held_back_then_blocked, setup, teardown),
      cmocka_unit_test_setup_teardown(stream_clean_all_released, setup, teardown),
      cmocka_unit_test_setup_teardown(tool_calls_judged_whole, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
