/* test_prompt_parse.c — the parsing stage of a completion request without HTTP (prompt_parse, src/gateway/prompt.c):
 * what it refuses with which message and member, and what it accepts, checked against the cases written out here. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/arena.h"
#include "gateway/prompt.h"

/* The request's strings are borrowed by pt: the body lives until done(). Every test runs twice: pt's memory from
 * malloc, then from an arena (base/arena.h), as the gateway parses. */
static json_t *body;
static int in_arena;
static hg_arena arena;

static int parse(const char *text, int chat, prompt_text *pt) {
  json_error_t je;
  body = json_loads(text, 0, &je);
  memset(pt, 0, sizeof *pt);
  return prompt_parse(body, &je, chat, in_arena ? &arena : NULL, pt);
}

static void done(prompt_text *pt) {
  prompt_free(pt);
  json_decref(body);
  body = NULL;
  hg_arena_free(&arena);
}

static void refusals_name_the_member(void **state) {
  (void)state;
  static const struct {
    const char *body;
    int chat;
    const char *message, *param;
  } cases[] = {
      {"{\"model\": \"m\", \"messages\": [", 1, "the request body is not a JSON object (", ""},
      {"[1, 2]", 1, "the request body is not a JSON object", ""},
      {"{\"messages\": []}", 1, "you must provide a model parameter", "model"},
      {"{\"model\": 5, \"messages\": []}", 1, "you must provide a model parameter", "model"},
      {"{\"model\": \"m\"}", 1, "'messages' must be an array", "messages"},
      {"{\"model\": \"m\", \"messages\": {}}", 1, "'messages' must be an array", "messages"},
      {"{\"model\": \"m\"}", 0, "'prompt' is required", "prompt"},
      {"{\"model\": \"m\", \"prompt\": [1, 2, 3]}", 0, "'prompt' must be a string or an array of strings", "prompt"},
      {"{\"model\": \"m\", \"prompt\": [\"a\", 7]}", 0, "'prompt' must be a string or an array of strings", "prompt"},
      {"{\"model\": \"m\", \"prompt\": 7}", 0, "'prompt' must be a string or an array of strings", "prompt"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    prompt_text pt;
    assert_int_equal(parse(cases[i].body, cases[i].chat, &pt), PROMPT_REFUSED);
    if (strncmp(pt.message, cases[i].message, strlen(cases[i].message)))
      fail_msg("case %zu: message '%s', wanted '%s...'", i, pt.message, cases[i].message);
    assert_string_equal(pt.param, cases[i].param);
    done(&pt);
  }
  /* a refusal of the walk keeps its own member and code (a role hegui does not pass) */
  prompt_text pt;
  assert_int_equal(parse("{\"model\": \"m\", \"messages\": [{\"role\": \"oracle\", \"content\": \"x\"}]}", 1, &pt),
                   PROMPT_REFUSED);
  assert_true(strstr(pt.param, "messages[0]") != NULL);
  done(&pt);
}

static void accepted_requests_are_walked(void **state) {
  (void)state;
  prompt_text pt;
  assert_int_equal(parse("{\"model\": \"m\", \"messages\": [{\"role\": \"system\", \"content\": \"be brief\"}, "
                         "{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"hi\"}, "
                         "{\"type\": \"image_url\", \"image_url\": {\"url\": \"data:image/png;base64,AAAA\"}}]}]}",
                         1, &pt),
                   PROMPT_OK);
  assert_int_equal(prompt_join(&pt, 1 | 2, 0), 0);
  assert_int_equal(pt.joined_len, strlen("be brief\nhi"));
  assert_memory_equal(pt.joined, "be brief\nhi", pt.joined_len);
  done(&pt);
  assert_int_equal(parse("{\"model\": \"m\", \"prompt\": [\"one\", \"two\"]}", 0, &pt), PROMPT_OK);
  assert_int_equal(prompt_join(&pt, 1, 0), 0);
  assert_memory_equal(pt.joined, "one\ntwo", pt.joined_len);
  done(&pt);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(refusals_name_the_member),
                                     cmocka_unit_test(accepted_requests_are_walked)};
  hg_arena_init(&arena, 256, 0);
  int failed = cmocka_run_group_tests_name("malloc", tests, NULL, NULL);
  in_arena = 1;
  return failed + cmocka_run_group_tests_name("arena", tests, NULL, NULL);
}
