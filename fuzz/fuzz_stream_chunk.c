/* fuzz_stream_chunk.c — stream_chunk_read (src/gateway/stream_chunk.c) on any bytes, against jansson's tree: when
 * the fast reading takes an event, jansson must read it as an object in which nothing acts but the three strings
 * (no usage or error object, no tool calls in choice 0), and those must be the same bytes. Each input is also
 * read as a stream of events, one per line, through one reader (the template path). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/unit/stream_chunk_ref.h" /* the reference, shared with the unit test */
#include "gateway/stream_chunk.h"

static void one(stream_chunk *ch, const char *data, size_t size, int chat) {
  if (!stream_chunk_read(ch, data, size, chat)) return;
  ref r = reference(data, size, chat);
  if (!r.object || r.acts || !ref_same(ch->model, ch->model_len, r.model) ||
      !ref_same(ch->text, ch->text_len, r.text) || !ref_same(ch->finish, ch->finish_len, r.finish))
    abort();
  json_decref(r.doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  stream_chunk ch;
  stream_chunk_init(&ch);
  one(&ch, (const char *)data, size, 1);
  one(&ch, (const char *)data, size, 0);
  stream_chunk_free(&ch);
  /* the input's lines as the events of one stream, through one reader: later events may be read from the template
   * an earlier one left (stream_chunk.h) */
  for (int chat = 1; chat >= 0; chat--) {
    stream_chunk_init(&ch);
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
      const char *nl = memchr(p, '\n', (size_t)(end - p));
      size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
      one(&ch, p, n, chat);
      p += n + 1;
    }
    stream_chunk_free(&ch);
  }
  return 0;
}
