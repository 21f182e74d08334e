/* test_relay.c — the relay stage (src/gateway/relay.c) without HTTP or sockets: an OpenAI event stream written out
 * here, fed cut at every byte, must give the same text, tool calls, finish reason and usage as the stream says;
 * tool calls come to the sink whole and in order; what the upstream may not pass on (an unknown finish reason,
 * members of usage that are not counters, its own model name) stays out of the answer and in the record; broken
 * streams and failed answers are put in the words and statuses the client gets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "gateway/relay.h"

/* What the sink was given. */
typedef struct got {
  char text[1024];
  char calls[8][256]; /* "position:index:name:arguments" */
  int ncalls;
  int stop_after_text; /* the sink stops the answer once it has this many bytes (0: never) */
  int block_call;      /* the call at this position blocks (-1: none) */
} got;

static void on_content(void *ctx, const char *s, size_t n) {
  got *g = ctx;
  strncat(g->text, s, n);
}

static json_t *on_call(void *ctx, const tool_call *tc, int position) {
  got *g = ctx;
  if (position == g->block_call) return NULL;
  snprintf(g->calls[g->ncalls++], sizeof g->calls[0], "%d:%d:%.*s:%.*s", position, tc->index, (int)tc->name_len,
           tc->name ? tc->name : "", (int)tc->arguments_len, tc->arguments ? tc->arguments : "");
  return json_pack("{s:i}", "position", position);
}

static int on_stopped(void *ctx) {
  got *g = ctx;
  return g->stop_after_text && strlen(g->text) >= (size_t)g->stop_after_text;
}

static const char stream[] =
    "data: {\"id\":\"x\",\"model\":\"upstream-7b\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\r\n\r\n"
    ": keep-alive\n\n"
    "data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"IGNORED\"}},"
    "{\"index\":0,\"delta\":{\"content\":\"lo, 世界\"}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"function\":"
    "{\"name\":\"get_\",\"arguments\":\"{\\\"ci\"}}]}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"name\":\"weather\","
    "\"arguments\":\"ty\\\":1}\"}}]}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_2\",\"function\":"
    "{\"name\":\"now\",\"arguments\":\"{}\"}}]}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}],"
    "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4,\"total_tokens\":7,\"note\":\"text of its choosing\","
    "\"completion_tokens_details\":{\"reasoning_tokens\":2,\"secret\":\"x\"}}}\n\n"
    "data: [DONE]\n\n";

static void check_stream_result(relay *r, got *g) {
  assert_string_equal(g->text, "Hello, 世界");
  assert_int_equal(g->ncalls, 2);
  assert_string_equal(g->calls[0], "0:0:get_weather:{\"city\":1}");
  assert_string_equal(g->calls[1], "1:1:now:{}");
  assert_int_equal(json_array_size(r->calls_out), 2);
  assert_string_equal(r->finish_reason, "tool_calls");
  assert_int_equal(r->saw_done, 1);
  assert_string_equal(r->error, "");
  json_t *want = json_loads("{\"prompt_tokens\":3,\"completion_tokens\":4,\"total_tokens\":7,"
                            "\"completion_tokens_details\":{\"reasoning_tokens\":2}}",
                            0, NULL);
  assert_true(json_equal(r->usage, want));
  json_decref(want);
  assert_string_equal(json_string_value(json_object_get(r->detail, "upstream_model")), "upstream-7b");
  assert_null(relay_stream_ended(r, CURLE_OK, ""));
}

/* The same answer however the bytes are cut: every cut into two pieces, and byte by byte. */
static void stream_cut_anywhere(void **state) {
  (void)state;
  size_t n = strlen(stream);
  for (size_t cut = 0; cut <= n; cut++) {
    json_t *detail = json_object();
    relay r;
    relay_init(&r, 1, "asked-model", detail);
    got g = {.block_call = -1};
    relay_sink sink = {on_content, on_call, on_stopped, &g};
    assert_int_equal(relay_stream_bytes(&r, stream, cut, &sink), 0);
    assert_int_equal(relay_stream_bytes(&r, stream + cut, n - cut, &sink), 0);
    relay_stream_last_call(&r, &sink);
    check_stream_result(&r, &g);
    relay_free(&r);
    json_decref(detail);
  }
  json_t *detail = json_object();
  relay r;
  relay_init(&r, 1, "asked-model", detail);
  got g = {.block_call = -1};
  relay_sink sink = {on_content, on_call, on_stopped, &g};
  for (size_t i = 0; i < n; i++)
    assert_int_equal(relay_stream_bytes(&r, stream + i, 1, &sink), 0);
  relay_stream_last_call(&r, &sink);
  check_stream_result(&r, &g);
  relay_free(&r);
  json_decref(detail);
}

static int feed(relay *r, const char *events, got *g) {
  relay_sink sink = {on_content, on_call, on_stopped, g};
  return relay_stream_bytes(r, events, strlen(events), &sink);
}

static void stream_broken(void **state) {
  (void)state;
  static const struct {
    const char *events, *error;
  } cases[] = {
      {"data: {not json\n\n", "upstream sent an invalid event"},
      {"data: [1,2]\n\n", "upstream sent an invalid event"},
      {"data: {\"error\":{\"message\":\"overloaded\"}}\n\n", "upstream sent an invalid event"},
      {"data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":1,\"function\":{\"name\":\"a\"}}]}}]}\n\n"
       "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"name\":\"b\"}}]}}]}\n\n",
       "upstream sent a tool call out of order"},
      {"data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":-1}]}}]}\n\n",
       "upstream sent a tool call that is not one"},
      {"data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":128}]}}]}\n\n",
       "upstream sent more tool calls than hegui passes on"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    json_t *detail = json_object();
    relay r;
    relay_init(&r, 1, "m", detail);
    got g = {.block_call = -1};
    assert_int_equal(feed(&r, cases[i].events, &g), 1);
    assert_string_equal(r.error, cases[i].error);
    /* a broken answer stays broken: the end says so */
    assert_string_equal(relay_stream_ended(&r, CURLE_OK, ""), cases[i].error);
    relay_free(&r);
    json_decref(detail);
  }
}

static void stream_stops_and_ends(void **state) {
  (void)state;
  json_t *detail = json_object();
  relay r;
  relay_init(&r, 0, "m", detail); /* completions: text, not deltas */
  got g = {.block_call = -1, .stop_after_text = 3};
  assert_int_equal(feed(&r,
                        "data: {\"choices\":[{\"index\":0,\"text\":\"abc\",\"finish_reason\":\"weird\"}]}\n\n"
                        "data: {\"choices\":[{\"index\":0,\"text\":\"NOT READ\"}]}\n\n",
                        &g),
                   1); /* the sink stopped it after the first event */
  assert_string_equal(g.text, "abc");
  assert_string_equal(r.finish_reason, "stop"); /* not one OpenAI has: passed on as stop, recorded as it was */
  assert_string_equal(json_string_value(json_object_get(detail, "upstream_finish_reason")), "weird");
  assert_null(json_object_get(detail, "upstream_model"));
  assert_string_equal(relay_stream_ended(&r, CURLE_OK, ""), "upstream stream ended early: no [DONE]");
  relay_free(&r);
  relay_init(&r, 0, "m", detail);
  assert_string_equal(relay_stream_ended(&r, CURLE_RECV_ERROR, "connection reset"),
                      "upstream stream ended early: connection reset");
  relay_free(&r);
  json_decref(detail);
}

static void stream_call_blocked(void **state) {
  (void)state;
  json_t *detail = json_object();
  relay r;
  relay_init(&r, 1, "m", detail);
  got g = {.block_call = 0};
  /* the second call's first delta completes the first, which blocks: nothing more is asked of the sink */
  feed(&r,
       "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"name\":\"a\"}},"
       "{\"index\":1,\"function\":{\"name\":\"b\"}}]}}]}\n\n",
       &g);
  assert_int_equal(g.ncalls, 0);
  assert_int_equal(json_array_size(r.calls_out), 0);
  relay_free(&r);
  json_decref(detail);
}

static void stream_failed_before_start(void **state) {
  (void)state;
  json_t *detail = json_object();
  relay r;
  relay_init(&r, 1, "m", detail);
  got g = {.block_call = -1};
  feed(&r, "{\"error\":{\"message\":\"slow down\",\"type\":\"rate_limit\"}}", &g); /* not an event stream */
  char msg[512];
  assert_int_equal(relay_stream_failed(&r, CURLE_OK, 429, "", msg), 429);
  assert_string_equal(msg, "upstream returned HTTP 429: slow down");
  assert_string_equal(r.error, msg);
  relay_free(&r);
  relay_init(&r, 1, "m", detail);
  assert_int_equal(relay_stream_failed(&r, CURLE_OPERATION_TIMEDOUT, 0, "timed out", msg), 504);
  assert_string_equal(msg, "upstream unavailable: timed out");
  snprintf(r.error, sizeof r.error, "upstream sent nothing within 100 ms"); /* stopped by hegui: it knows why */
  assert_int_equal(relay_stream_failed(&r, CURLE_OPERATION_TIMEDOUT, 0, "curl's words", msg), 504);
  assert_string_equal(msg, "upstream sent nothing within 100 ms");
  relay_free(&r);
  relay_init(&r, 1, "m", detail);
  assert_int_equal(relay_stream_failed(&r, CURLE_COULDNT_CONNECT, 0, "refused", msg), 502);
  relay_free(&r);
  json_decref(detail);
}

static int whole(relay *r, const char *body, long status, relay_answer *a, char msg[512]) {
  return relay_whole(r, body, strlen(body), CURLE_OK, status, "", a, msg);
}

static void whole_answers(void **state) {
  (void)state;
  json_t *detail = json_object();
  relay r;
  relay_answer a;
  char msg[512];
  relay_init(&r, 1, "asked", detail);
  assert_int_equal(whole(&r,
                         "{\"model\":\"asked\",\"choices\":[{\"index\":1,\"message\":{\"content\":\"no\"}},"
                         "{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"yes\"},"
                         "\"finish_reason\":\"length\"}],\"usage\":{\"total_tokens\":9,\"x\":1}}",
                         200, &a, msg),
                   0);
  assert_string_equal(a.text, "yes");
  assert_int_equal(a.len, 3);
  assert_int_equal(a.has_calls, 0);
  assert_string_equal(a.finish_reason, "length");
  assert_int_equal(json_integer_value(json_object_get(r.usage, "total_tokens")), 9);
  assert_int_equal(json_object_size(r.usage), 1);
  assert_null(json_object_get(detail, "upstream_model")); /* the name asked for: nothing to record */
  relay_answer_free(&a);
  /* calls with null content */
  assert_int_equal(whole(&r,
                         "{\"choices\":[{\"message\":{\"content\":null,\"tool_calls\":[{\"id\":\"c\",\"function\":"
                         "{\"name\":\"f\",\"arguments\":\"{}\"}}]},\"finish_reason\":\"tool_calls\"}]}",
                         200, &a, msg),
                   0);
  assert_int_equal(a.has_calls, 1);
  assert_string_equal(a.text, "");
  assert_int_equal(json_array_size(a.tool_calls), 1);
  relay_answer_free(&a);
  /* what is not an answer */
  static const struct {
    const char *body;
    long status;
    int code;
    const char *msg;
  } bad[] = {
      {"{\"choices\":[]}", 200, 502, "upstream sent an answer that is not an OpenAI completion"},
      {"{\"choices\":[{\"message\":{\"content\":7}}]}", 200, 502,
       "upstream sent an answer that is not an OpenAI completion"},
      {"{\"choices\":[{\"message\":{\"content\":null,\"tool_calls\":[{\"function\":{\"name\":1}}]}}]}", 200, 502,
       "upstream sent an answer that is not an OpenAI completion"},
      {"{\"error\":{\"message\":\"model not found\"}}", 404, 502, "upstream returned HTTP 404: model not found"},
      {"busy", 429, 429, "upstream returned HTTP 429"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    relay_free(&r);
    relay_init(&r, 1, "asked", detail);
    assert_int_equal(whole(&r, bad[i].body, bad[i].status, &a, msg), bad[i].code);
    assert_string_equal(msg, bad[i].msg);
    assert_string_equal(r.error, bad[i].msg);
    assert_null(a.root);
  }
  relay_free(&r);
  relay_init(&r, 1, "asked", detail);
  assert_int_equal(relay_whole(&r, NULL, 0, CURLE_OPERATION_TIMEDOUT, 0, "timeout", &a, msg), 504);
  assert_string_equal(msg, "upstream unavailable: timeout");
  relay_free(&r);
  json_decref(detail);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(stream_cut_anywhere),        cmocka_unit_test(stream_broken),
      cmocka_unit_test(stream_stops_and_ends),      cmocka_unit_test(stream_call_blocked),
      cmocka_unit_test(stream_failed_before_start), cmocka_unit_test(whole_answers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
