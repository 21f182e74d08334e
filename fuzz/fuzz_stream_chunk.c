/* fuzz_stream_chunk.c — stream_chunk_read (src/gateway/stream_chunk.c) on any bytes, against jansson's tree: when
 * the fast reading takes an event, jansson must read it as an object in which nothing acts but the three strings
 * (no usage or error object, no tool calls in choice 0), and those must be the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/stream_chunk.h"

static json_t *choice_zero(json_t *choices) {
  for (size_t i = 0; i < json_array_size(choices); i++) {
    json_t *choice = json_array_get(choices, i), *index = json_object_get(choice, "index");
    if (json_is_object(choice) && (!index || (json_is_integer(index) && json_integer_value(index) == 0))) return choice;
  }
  return NULL;
}

static void same(const char *p, size_t n, json_t *want) {
  if (!json_is_string(want)) {
    if (p) abort();
    return;
  }
  if (!p || n != json_string_length(want) || memcmp(p, json_string_value(want), n)) abort();
}

static void one(stream_chunk *ch, const char *data, size_t size, int chat) {
  if (!stream_chunk_read(ch, data, size, chat)) return;
  json_t *doc = json_loadb(data, size, 0, NULL);
  if (!json_is_object(doc)) abort();
  if (json_is_object(json_object_get(doc, "usage")) || json_is_object(json_object_get(doc, "error"))) abort();
  same(ch->model, ch->model_len, json_object_get(doc, "model"));
  json_t *choice = choice_zero(json_object_get(doc, "choices")), *delta = json_object_get(choice, "delta");
  if (chat && (json_array_size(json_object_get(delta, "tool_calls")) ||
               json_is_object(json_object_get(delta, "function_call"))))
    abort();
  same(ch->text, ch->text_len, chat ? json_object_get(delta, "content") : json_object_get(choice, "text"));
  same(ch->finish, ch->finish_len, json_object_get(choice, "finish_reason"));
  json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  stream_chunk ch;
  stream_chunk_init(&ch);
  one(&ch, (const char *)data, size, 1);
  one(&ch, (const char *)data, size, 0);
  stream_chunk_free(&ch);
  return 0;
}
