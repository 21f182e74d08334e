/* stream_chunk.[ch] — what the relay takes from one event of an upstream's streamed answer, read where it lies.
 *
 * A streamed answer is one JSON event per token or so (`chat.completion.chunk`, or a `text_completion` chunk), and
 * reading each into a tree of jansson values (a hash table per object, a malloc per value, all freed again) was
 * half of the gateway's cost per chunk. The relay needs three strings of it: the model's name, choice 0's text
 * (`delta.content`, or `text` for completions) and its `finish_reason`. stream_chunk_read reads them with the fast
 * JSON reader's cursor (base/json.h) and nothing else.
 *
 * It reads only the plain shape and gives up (returns 0) on anything else, and the caller then reads the event
 * with hg_json_loadb as before: whatever is not JSON (jansson decides, with its message); a `usage` or `error`
 * object; tool calls (`tool_calls` or `function_call` not null); a choice that is not an object; an object or array
 * where the fast reading expects a plain value (`logprobs` with content, an unknown field holding an object); a
 * field of those it reads given twice; a `finish_reason` of 64 bytes or more. So a 1 always means: the document is
 * JSON as jansson reads it, and the tree reading would have found exactly these fields and nothing else that acts.
 * tests/unit/test_stream_chunk.c holds it to that on generated and mutated events.
 *
 * Most events of a stream differ from the one before only in the text: the same id, created, model and the rest,
 * byte for byte, around a new string. So the reader keeps the last event it read whose text was a string (the
 * template), with where that string lay. An event whose bytes before and after that place are the template's, with
 * one whole JSON string between them and nothing else, is the template with one string token replaced: the same
 * document but for that string, read the same way. It is taken as such, with two memcmp and one string read, not
 * a walk over every member. */
#ifndef HG_GATEWAY_STREAM_CHUNK_H
#define HG_GATEWAY_STREAM_CHUNK_H

#include <stddef.h>

#include "base/json.h"

typedef struct stream_chunk {
  const char *model; /* the event's "model" when a string; NULL otherwise */
  size_t model_len;
  const char *text; /* choice 0's delta.content (chat) or text (completions) when a string; NULL otherwise */
  size_t text_len;
  const char *finish; /* choice 0's finish_reason when a string; NULL otherwise */
  size_t finish_len;
  /* private: the cursor, and a copy of strings that had escapes (the cursor's scratch holds one at a time) */
  hg_json_cursor cur;
  char *own;
  size_t own_len, own_cap;
  /* private: the template (see above): its bytes and chat flag; the text token at [text_at, text_end); the model's
   * and finish_reason's strings as offsets into it (none: SIZE_MAX; they never had escapes) */
  char *tpl;
  size_t tpl_len, tpl_cap;
  int tpl_chat;
  size_t tpl_text_at, tpl_text_end, tpl_model_at, tpl_model_len, tpl_finish_at, tpl_finish_len;
  unsigned long long tpl_hits; /* events read from the template (tests) */
} stream_chunk;

/* Zeroes a reader; stream_chunk_free releases its buffers (it can be read into again and again in between). */
void stream_chunk_init(stream_chunk *ch);
void stream_chunk_free(stream_chunk *ch);

/* Reads one event's data (the JSON, not "[DONE]"); chat: a chat completion (delta.content) rather than a completion
 * (text). 1: read, the fields point into data or ch and are valid until the next read; 0: read it the full way. */
int stream_chunk_read(stream_chunk *ch, const char *data, size_t len, int chat);

#endif
