/* fuzz_prompt.c — the walk of a completion request's strings (src/gateway/prompt.c). The first byte chooses chat or
 * completions, the roles and max_turns; the next two seed the edits; the rest is the request's JSON. A request the
 * walk accepts is joined, and each selected piece must read exactly at its offsets; masks over random spans (across
 * separators too) must leave every piece valid UTF-8 with as many characters as before; then placeholders over
 * other spans must leave a request that still encodes. The seed's lowest bit puts the prompt's memory in an arena
 * (base/arena.h, as the gateway parses) instead of malloc. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "gateway/prompt.h"

static size_t chars(const char *s, size_t n) {
  size_t c = 0;
  for (size_t i = 0; i < n; i++)
    c += ((unsigned char)s[i] & 0xC0) != 0x80;
  return c;
}

/* Non-overlapping spans on character boundaries of the joined text, chosen by seed. */
static size_t make_edits(const prompt_text *pt, unsigned seed, int mask, prompt_edit *e, size_t cap) {
  size_t n = 0, pos = 0, len = pt->joined_len;
  while (n < cap && pos < len) {
    seed = seed * 1103515245u + 12345u;
    size_t skip = (seed >> 16) % 9, take = 1 + (seed >> 8) % 7;
    size_t start = pos;
    for (size_t k = 0; k < skip && start < len; k++)
      do
        start++;
      while (start < len && ((unsigned char)pt->joined[start] & 0xC0) == 0x80);
    size_t end = start;
    for (size_t k = 0; k < take && end < len; k++)
      do
        end++;
      while (end < len && ((unsigned char)pt->joined[end] & 0xC0) == 0x80);
    if (start >= end) break;
    e[n] = (prompt_edit){start, end, mask, ""};
    if (!mask) memcpy(e[n].replacement, "<PHONE_1>", 10);
    n++;
    pos = end;
  }
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3) return 0;
  int chat = data[0] & 1, roles = (data[0] >> 1) & 15;
  unsigned turns = data[0] >> 5, seed = data[1] | (unsigned)data[2] << 8;
  json_t *body = json_loadb((const char *)data + 3, size - 3, 0, NULL);
  if (!body) return 0;
  prompt_text pt;
  hg_arena arena;
  hg_arena_init(&arena, 512, 0);
  if (prompt_collect(body, chat, (seed & 1) ? &arena : NULL, &pt) == PROMPT_OK && !prompt_join(&pt, roles, turns)) {
    for (size_t i = 0; i < pt.nselected; i++) {
      const prompt_piece *p = &pt.pieces[pt.selected[i]];
      json_t *v = p->is_name ? NULL : p->key ? json_object_get(p->holder, p->key) : json_array_get(p->holder, p->index);
      const char *s = p->is_name ? p->key : json_string_value(v);
      if (!s || strlen(s) != p->end - p->start || memcmp(s, pt.joined + p->start, p->end - p->start)) abort();
      if (i && memcmp(pt.joined + p->start - PROMPT_SEPARATOR_LEN, PROMPT_SEPARATOR, PROMPT_SEPARATOR_LEN)) abort();
      (void)prompt_member(&pt, p->start);
    }
    prompt_edit edits[64];
    size_t before = chars(pt.joined, pt.joined_len);
    size_t n = make_edits(&pt, seed, 1, edits, 64);
    if (!prompt_apply(&pt, edits, n)) {
      if (chars(pt.joined, pt.joined_len) != before) abort();
      if (!prompt_join(&pt, roles, turns)) {
        n = make_edits(&pt, seed ^ 0x5555u, 0, edits, 64);
        if (!prompt_apply(&pt, edits, n)) {
          char *out = json_dumps(body, JSON_COMPACT);
          if (!out) abort();
          free(out);
        }
      }
    }
  }
  prompt_free(&pt);
  hg_arena_free(&arena);
  json_decref(body);
  return 0;
}
