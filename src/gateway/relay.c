/* relay.c — the relay stage (relay.h): an OpenAI-compatible answer read from the upstream's bytes, streamed (events
 * through sse.c) or whole, with the parts the client may get picked out of it and the failures put in words. */
#include "relay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"

#define MAX_ERROR_BODY (64u << 10)
#define MAX_TOOL_CALL_BYTES (8u << 20) /* names and arguments of a streamed answer's calls, together */

void relay_init(relay *r, int chat, const char *model, json_t *detail) {
  memset(r, 0, sizeof *r);
  r->chat = chat;
  r->model = model;
  r->detail = detail;
  r->last_call_index = -2; /* below every index, the legacy function_call's -1 included */
  r->calls_out = json_array();
}

void relay_free(relay *r) {
  json_decref(r->usage);
  sse_free(&r->sse);
  stream_chunk_free(&r->events);
  free(r->head);
  free(r->open_call.name);
  free(r->open_call.arguments);
  json_decref(r->calls_out);
  memset(r, 0, sizeof *r);
}

/* The finish reasons a client gets as the upstream sent them. The field is text of the upstream's choosing, so any
 * other becomes "stop" (the record keeps what it was). */
static const char *allowed_finish_reason(relay *r, const char *reason) {
  static const char *const passed[] = {"stop", "length", "content_filter", "tool_calls", "function_call"};
  if (!reason) return "stop";
  for (size_t i = 0; i < sizeof passed / sizeof *passed; i++)
    if (!strcmp(reason, passed[i])) return passed[i];
  json_object_set_new(r->detail, "upstream_finish_reason",
                      json_stringn(reason, utf8_prefix_len(reason, strlen(reason), 64)));
  return "stop";
}

/* The usage a client gets and the quotas count: OpenAI's counters, by name. Any other member, or member name, would
 * be text of the upstream's choosing that no scanner reads. */
static json_t *usage_known(json_t *usage) {
  static const char *const counters[] = {"prompt_tokens", "completion_tokens", "total_tokens"};
  static const struct {
    const char *object;
    const char *counters[5];
  } details[] = {
      {"prompt_tokens_details", {"cached_tokens", "audio_tokens"}},
      {"completion_tokens_details",
       {"reasoning_tokens", "audio_tokens", "accepted_prediction_tokens", "rejected_prediction_tokens"}},
  };
  json_t *out = json_object();
  for (size_t i = 0; i < sizeof counters / sizeof *counters; i++) {
    json_t *v = json_object_get(usage, counters[i]);
    if (json_is_number(v)) json_object_set(out, counters[i], v);
  }
  for (size_t i = 0; i < sizeof details / sizeof *details; i++) {
    json_t *d = json_object_get(usage, details[i].object), *kept = json_object();
    for (size_t k = 0; d && k < 5 && details[i].counters[k]; k++) {
      json_t *v = json_object_get(d, details[i].counters[k]);
      if (json_is_number(v)) json_object_set(kept, details[i].counters[k], v);
    }
    if (json_object_size(kept))
      json_object_set_new(out, details[i].object, kept);
    else
      json_decref(kept);
  }
  return out;
}

/* Answers name the model the client asked for, which it knows already; what the upstream called it is recorded. */
static void note_upstream_model(relay *r, const char *m, size_t n) {
  if (!m || (n == strlen(r->model) && !memcmp(m, r->model, n)) || json_object_get(r->detail, "upstream_model")) return;
  json_object_set_new(r->detail, "upstream_model", json_stringn(m, utf8_prefix_len(m, n, 128)));
}

/* The first choice (index 0). With n > 1, or several prompts, the upstream sends more: they are not passed on. */
static json_t *choice_zero(json_t *choices) {
  for (size_t i = 0; i < json_array_size(choices); i++) {
    json_t *choice = json_array_get(choices, i), *index = json_object_get(choice, "index");
    if (json_is_object(choice) && (!index || (json_is_integer(index) && json_integer_value(index) == 0))) return choice;
  }
  return NULL;
}

/* A streamed call is complete: moderated now, kept for the end of the stream. -1 when it blocks. */
static int close_open_call(relay *r, const relay_sink *sink) {
  r->call_open = 0;
  r->last_call_index = r->open_call.index;
  json_t *call = sink->call(sink->ctx, &r->open_call, (int)json_array_size(r->calls_out));
  free(r->open_call.name);
  free(r->open_call.arguments);
  memset(&r->open_call, 0, sizeof r->open_call);
  if (!call) return -1;
  json_array_append_new(r->calls_out, call);
  return 0;
}

static int stream_broken(relay *r, const char *why) {
  snprintf(r->error, sizeof r->error, "%s", why);
  return -1;
}

/* One tool-call delta of a stream (index -1: a legacy function_call's). A call is held while its deltas come; the
 * first delta of another index completes it. Returns -1 (r->error says why) when the stream is broken. */
static int stream_call_delta(relay *r, const relay_sink *sink, long long index, json_t *id, json_t *name,
                             json_t *arguments) {
  if (r->call_open && r->open_call.index != index && close_open_call(r, sink))
    return 0; /* blocked: the caller sees it */
  if (!r->call_open) {
    if (index <= r->last_call_index) return stream_broken(r, "upstream sent a tool call out of order");
    if (index >= MAX_TOOL_CALLS || json_array_size(r->calls_out) >= MAX_TOOL_CALLS)
      return stream_broken(r, "upstream sent more tool calls than hegui passes on");
    r->open_call.index = (int)index;
    r->call_open = 1;
  }
  if (json_is_string(id) && !r->open_call.id[0])
    snprintf(r->open_call.id, sizeof r->open_call.id, "%s", json_string_value(id));
  size_t nn = json_string_length(name), an = json_string_length(arguments);
  if (r->call_bytes + nn + an > MAX_TOOL_CALL_BYTES)
    return stream_broken(r, "upstream sent tool calls larger than hegui holds");
  r->call_bytes += nn + an;
  tool_call *tc = &r->open_call;
  if ((nn && text_append(&tc->name, &tc->name_len, &tc->name_cap, json_string_value(name), nn, (size_t)-1)) ||
      (an && text_append(&tc->arguments, &tc->arguments_len, &tc->arguments_cap, json_string_value(arguments), an,
                         (size_t)-1)))
    return stream_broken(r, "out of memory holding a tool call");
  return 0;
}

/* The tool calls and function_call of one streamed delta. -1 when the stream is broken. */
static int stream_delta_calls(relay *r, const relay_sink *sink, json_t *delta) {
  json_t *calls = json_object_get(delta, "tool_calls"), *legacy = json_object_get(delta, "function_call");
  for (size_t i = 0; i < json_array_size(calls) && !sink->stopped(sink->ctx); i++) {
    json_t *tc = json_array_get(calls, i), *index = json_object_get(tc, "index");
    json_t *fn = json_object_get(tc, "function");
    if (!json_is_object(tc) || (index && (!json_is_integer(index) || json_integer_value(index) < 0)))
      return stream_broken(r, "upstream sent a tool call that is not one");
    if (stream_call_delta(r, sink, index ? json_integer_value(index) : 0, json_object_get(tc, "id"),
                          json_object_get(fn, "name"), json_object_get(fn, "arguments")))
      return -1;
  }
  if (json_is_object(legacy) && !sink->stopped(sink->ctx) &&
      stream_call_delta(r, sink, -1, NULL, json_object_get(legacy, "name"), json_object_get(legacy, "arguments")))
    return -1;
  return 0;
}

/* One SSE event from the model. Returns -1 when the stream must end (invalid data). */
static int stream_event(relay *r, const relay_sink *sink, const char *data, size_t len) {
  if (len == 6 && !memcmp(data, "[DONE]", 6)) {
    r->saw_done = 1;
    return 0;
  }
  stream_chunk *e = &r->events;
  if (stream_chunk_read(e, data, len, r->chat)) { /* the plain shape: the same fields, in the same order, no tree */
    note_upstream_model(r, e->model, e->model_len);
    if (e->text) sink->content(sink->ctx, e->text, e->text_len);
    if (e->finish) {
      char fr[64]; /* stream_chunk: shorter than 64 bytes, no NUL */
      memcpy(fr, e->finish, e->finish_len);
      fr[e->finish_len] = 0;
      snprintf(r->finish_reason, sizeof r->finish_reason, "%s", allowed_finish_reason(r, fr));
    }
    return 0;
  }
  json_error_t je;
  json_t *j = hg_json_loadb(data, len, 0, &je);
  if (!j || !json_is_object(j)) {
    json_decref(j);
    return -1;
  }
  json_t *u = json_object_get(j, "usage");
  if (json_is_object(u)) {
    json_decref(r->usage);
    r->usage = usage_known(u);
  }
  note_upstream_model(r, json_string_value(json_object_get(j, "model")),
                      json_string_length(json_object_get(j, "model")));
  json_t *choice = choice_zero(json_object_get(j, "choices"));
  int broken = 0;
  if (choice) {
    json_t *delta = json_object_get(choice, "delta");
    json_t *text = r->chat ? json_object_get(delta, "content") : json_object_get(choice, "text");
    if (json_is_string(text)) sink->content(sink->ctx, json_string_value(text), json_string_length(text));
    if (r->chat && !sink->stopped(sink->ctx)) broken = stream_delta_calls(r, sink, delta);
    json_t *fr = json_object_get(choice, "finish_reason");
    if (json_is_string(fr))
      snprintf(r->finish_reason, sizeof r->finish_reason, "%s", allowed_finish_reason(r, json_string_value(fr)));
  }
  if (broken || json_is_object(json_object_get(j, "error"))) {
    json_decref(j);
    return -1;
  }
  json_decref(j);
  return 0;
}

/* One event from the upstream; non-zero stops reading the stream. */
typedef struct event_ctx {
  relay *r;
  const relay_sink *sink;
} event_ctx;

static int on_sse_event(void *ctx, const char *data, size_t len) {
  event_ctx *e = ctx;
  int bad = stream_event(e->r, e->sink, data, len) < 0;
  if (bad && !e->r->error[0]) snprintf(e->r->error, sizeof e->r->error, "upstream sent an invalid event");
  return bad || e->sink->stopped(e->sink->ctx);
}

int relay_stream_bytes(relay *r, const char *data, size_t len, const relay_sink *sink) {
  if (r->head_len < MAX_ERROR_BODY) {
    size_t take = len < MAX_ERROR_BODY - r->head_len ? len : MAX_ERROR_BODY - r->head_len;
    text_append(&r->head, &r->head_len, &r->head_cap, data, take, MAX_ERROR_BODY);
  }
  event_ctx e = {r, sink};
  int fed = sse_feed(&r->sse, data, len, on_sse_event, &e);
  if (fed < 0) snprintf(r->error, sizeof r->error, "upstream sent an event over 16 MiB");
  return fed != 0;
}

void relay_stream_last_call(relay *r, const relay_sink *sink) {
  if (r->call_open) close_open_call(r, sink);
}

/* The client's status for a failed answer: the upstream's 429 passed on, a timeout a 504, the rest a 502. */
static int failure_status(CURLcode result, long status) {
  return status == 429 ? 429 : result == CURLE_OPERATION_TIMEDOUT ? 504 : 502;
}

int relay_stream_failed(relay *r, CURLcode result, long status, const char *error, char msg[512]) {
  if (result != CURLE_OK && r->error[0]) /* stopped by hegui: it knows why */
    snprintf(msg, 512, "%s", r->error);
  else if (result != CURLE_OK)
    snprintf(msg, 512, "upstream unavailable: %s", error);
  else {
    json_t *j = hg_json_loadb(r->head ? r->head : "", r->head_len, 0, NULL);
    const char *m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    snprintf(msg, 512, "upstream returned HTTP %ld%s%s", status, m ? ": " : "", m ? m : "");
    json_decref(j);
  }
  snprintf(r->error, sizeof r->error, "%.500s", msg);
  return failure_status(result, status);
}

const char *relay_stream_ended(relay *r, CURLcode result, const char *error) {
  if (result == CURLE_OK && r->saw_done && !r->error[0]) return NULL;
  if (!r->error[0])
    snprintf(r->error, sizeof r->error, "upstream stream ended early: %s", result != CURLE_OK ? error : "no [DONE]");
  return r->error;
}

int relay_whole(relay *r, const char *body, size_t len, CURLcode result, long status, const char *error,
                relay_answer *a, char msg[512]) {
  memset(a, 0, sizeof *a);
  json_t *j = a->root = result == CURLE_OK ? hg_json_loadb(body ? body : "", len, 0, NULL) : NULL;
  json_t *choice = choice_zero(json_object_get(j, "choices"));
  json_t *message = r->chat ? json_object_get(choice, "message") : NULL;
  json_t *text = r->chat ? json_object_get(message, "content") : json_object_get(choice, "text");
  a->tool_calls = r->chat ? json_object_get(message, "tool_calls") : NULL;
  a->function_call = r->chat ? json_object_get(message, "function_call") : NULL;
  a->has_calls = json_array_size(a->tool_calls) > 0 || json_is_object(a->function_call);
  /* the content of an answer that calls tools may be null */
  int answered = (json_is_string(text) || (a->has_calls && (!text || json_is_null(text)))) &&
                 (!a->has_calls || moderation_calls_shaped(a->tool_calls, a->function_call));
  if (result != CURLE_OK || status != 200 || !answered) {
    const char *m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    if (r->error[0])
      snprintf(msg, 512, "%s", r->error);
    else if (result != CURLE_OK)
      snprintf(msg, 512, "upstream unavailable: %s", error);
    else if (status != 200)
      snprintf(msg, 512, "upstream returned HTTP %ld%s%s", status, m ? ": " : "", m ? m : "");
    else
      snprintf(msg, 512, "upstream sent an answer that is not an OpenAI completion");
    snprintf(r->error, sizeof r->error, "%.500s", msg);
    relay_answer_free(a);
    return failure_status(result, status);
  }
  note_upstream_model(r, json_string_value(json_object_get(j, "model")),
                      json_string_length(json_object_get(j, "model")));
  json_t *usage = json_object_get(j, "usage");
  if (json_is_object(usage)) {
    json_decref(r->usage);
    r->usage = usage_known(usage); /* counted against token quotas when the request ends */
  }
  a->text = json_is_string(text) ? json_string_value(text) : "";
  a->len = json_string_length(text);
  a->finish_reason = allowed_finish_reason(r, json_string_value(json_object_get(choice, "finish_reason")));
  return 0;
}

void relay_answer_free(relay_answer *a) {
  json_decref(a->root);
  memset(a, 0, sizeof *a);
}
