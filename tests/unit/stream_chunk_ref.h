/* stream_chunk_ref.h — the reference stream_chunk_read is held to, shared by tests/unit/test_stream_chunk.c and
 * fuzz/fuzz_stream_chunk.c: the tree reading, as the relay did it before (jansson's json_loadb; the model when a
 * string; the first choice whose index is absent or 0; its delta.content or text; its finish_reason; a usage or
 * error object, or tool calls in that choice's delta, act). */
#ifndef HG_TEST_STREAM_CHUNK_REF_H
#define HG_TEST_STREAM_CHUNK_REF_H

#include <jansson.h>
#include <string.h>

typedef struct ref {
  int object;                    /* jansson read it, and it is an object */
  int acts;                      /* a usage or error object, or tool calls in choice 0's delta */
  json_t *model, *text, *finish; /* borrowed from doc */
  json_t *doc;                   /* json_decref when done */
} ref;

static inline json_t *ref_choice_zero(json_t *choices) {
  for (size_t i = 0; i < json_array_size(choices); i++) {
    json_t *choice = json_array_get(choices, i), *index = json_object_get(choice, "index");
    if (json_is_object(choice) && (!index || (json_is_integer(index) && json_integer_value(index) == 0))) return choice;
  }
  return NULL;
}

static inline ref reference(const char *data, size_t len, int chat) {
  ref r = {0};
  r.doc = json_loadb(data, len, 0, NULL);
  if (!json_is_object(r.doc)) return r;
  r.object = 1;
  r.acts = json_is_object(json_object_get(r.doc, "usage")) || json_is_object(json_object_get(r.doc, "error"));
  r.model = json_object_get(r.doc, "model");
  json_t *choice = ref_choice_zero(json_object_get(r.doc, "choices"));
  if (choice) {
    json_t *delta = json_object_get(choice, "delta");
    r.text = chat ? json_object_get(delta, "content") : json_object_get(choice, "text");
    if (chat && (json_array_size(json_object_get(delta, "tool_calls")) ||
                 json_is_object(json_object_get(delta, "function_call"))))
      r.acts = 1;
    r.finish = json_object_get(choice, "finish_reason");
  }
  return r;
}

/* p/n (NULL: none) holds the same string as want (a string value, or anything else for none). */
static inline int ref_same(const char *p, size_t n, json_t *want) {
  if (!json_is_string(want)) return !p;
  return p && n == json_string_length(want) && !memcmp(p, json_string_value(want), n);
}

#endif
