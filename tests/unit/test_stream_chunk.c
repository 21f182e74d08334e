/* test_stream_chunk.c — stream_chunk_read (src/gateway/stream_chunk.c) against the tree reading it stands in for:
 * jansson's json_loadb and the relay's rules for an event (the model when a string; the first choice whose index
 * is absent or 0; its delta.content or text; its finish_reason; a usage or error object, or tool calls, act). A 1
 * must mean: jansson reads the event as an object, nothing in it acts but the three strings, and they are the same.
 * The canonical events of OpenAI-compatible servers must take the fast reading (else it saves nothing). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/stream_chunk.h"
#include "stream_chunk_ref.h"

static int same_string(const char *what, const char *p, size_t n, json_t *want) {
  if (ref_same(p, n, want)) return 1;
  print_message("%s: fast '%.*s', tree '%s'\n", what, p ? (int)n : 4, p ? p : "NULL",
                json_is_string(want) ? json_string_value(want) : "(none)");
  return 0;
}

/* Checks one event both ways; returns whether the fast reading took it. */
static int check(stream_chunk *ch, const char *data, size_t len, int chat) {
  int fast = stream_chunk_read(ch, data, len, chat);
  ref r = reference(data, len, chat);
  if (fast) {
    int ok = r.object && !r.acts && same_string("model", ch->model, ch->model_len, r.model) &&
             same_string("text", ch->text, ch->text_len, r.text) &&
             same_string("finish", ch->finish, ch->finish_len, r.finish);
    if (!ok)
      fail_msg("the fast reading took an event the tree reads otherwise (object %d, acts %d, chat %d): %.*s", r.object,
               r.acts, chat, (int)len, data);
  }
  json_decref(r.doc);
  return fast;
}

static void canonical_events_are_fast(void **state) {
  (void)state;
  static const char *const chat_events[] = {
      "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o\","
      "\"system_fingerprint\":\"fp_1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
      "\"logprobs\":null,\"finish_reason\":null}]}",
      "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o\","
      "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"你好\\n\\\"世界\\\"\"},\"logprobs\":null,\"finish_reason\":"
      "null}]}",
      "{\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"qwen\",\"choices\":[{\"index\":0,"
      "\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}",
      "{\"id\":\"x\",\"choices\":[{\"delta\":{\"content\":\"\\u4e2d\\ud83d\\ude00\",\"reasoning_content\":null,"
      "\"tool_calls\":null},\"index\":0}],\"model\":\"deepseek-chat\"}",
      " {\"choices\":[]} ",
  };
  stream_chunk ch;
  stream_chunk_init(&ch);
  for (size_t i = 0; i < sizeof chat_events / sizeof *chat_events; i++)
    if (!check(&ch, chat_events[i], strlen(chat_events[i]), 1)) fail_msg("not fast: %s", chat_events[i]);
  const char *text =
      "{\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"created\":1,\"model\":\"m\",\"choices\":[{\"text\":"
      "\"abc\",\"index\":0,\"logprobs\":null,\"finish_reason\":null}]}";
  assert_true(check(&ch, text, strlen(text), 0));
  assert_true(ch.text && ch.text_len == 3 && !memcmp(ch.text, "abc", 3));
  /* escaped strings in several fields at once: each keeps its own bytes */
  const char *esc = "{\"model\":\"m\\u0031\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\\tb\"},"
                    "\"finish_reason\":\"st\\u006fp\"}]}";
  assert_true(check(&ch, esc, strlen(esc), 1));
  assert_true(ch.model_len == 2 && !memcmp(ch.model, "m1", 2));
  assert_true(ch.text_len == 3 && !memcmp(ch.text, "a\tb", 3));
  assert_true(ch.finish_len == 4 && !memcmp(ch.finish, "stop", 4));
  /* what acts goes the full way */
  static const char *const slow[] = {
      "{\"choices\":[],\"usage\":{\"prompt_tokens\":1}}",
      "{\"error\":{\"message\":\"x\"}}",
      "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0}]}}]}",
      "{\"choices\":[{\"index\":0,\"delta\":{\"function_call\":{\"name\":\"f\"}}}]}",
      "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\",\"content\":\"b\"}}]}",
      "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\\u0000\"}}]}",
      "[{\"choices\":[]}]",
      "{\"choices\":[]} x",
  };
  for (size_t i = 0; i < sizeof slow / sizeof *slow; i++)
    if (check(&ch, slow[i], strlen(slow[i]), 1)) fail_msg("fast, but should go the full way: %s", slow[i]);
  stream_chunk_free(&ch);
}

/* ---- generated events ---- */

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static unsigned pick(unsigned n) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (unsigned)(rng % n);
}

typedef struct out {
  char b[4096];
  size_t n;
} out;

static void put(out *o, const char *s) {
  size_t l = strlen(s);
  if (o->n + l < sizeof o->b) memcpy(o->b + o->n, s, l), o->n += l;
}

static void ws(out *o) { put(o, (const char *[]){"", "", "", " ", "\n", "\t "}[pick(6)]); }

static void string(out *o) {
  static const char *const parts[] = {"a", "stop", "你好", "\\n",     "\\\"",  "\\u0041", "\\ud83d\\ude00", "é",
                                      "😀", " ",    "\\\\", "\\u0000", "\\x",   "\x01",    "\xe4\xb8",       "content",
                                      "0", "\\/",  "\\t",  "\\ud800", "model", "index"};
  put(o, "\"");
  for (unsigned i = 0, k = pick(5); i < k; i++)
    put(o, parts[pick(sizeof parts / sizeof *parts)]);
  put(o, "\"");
}

static void scalar(out *o) {
  switch (pick(9)) {
  case 0: put(o, "null"); break;
  case 1: put(o, "true"); break;
  case 2: put(o, "0"); break;
  case 3: put(o, "1"); break;
  case 4: put(o, "-0.5e3"); break;
  case 5: put(o, "12345678901234567890"); break;
  case 6: put(o, "01"); break;
  default: string(o);
  }
}

static void value(out *o, int depth);

static void object_of(out *o, int depth, const char *const *keys, size_t nkeys, void (*val)(out *, int)) {
  put(o, "{");
  ws(o);
  for (unsigned i = 0, k = pick(5); i < k; i++) {
    if (i) put(o, ","), ws(o);
    put(o, "\""), put(o, keys[pick((unsigned)nkeys)]), put(o, "\"");
    ws(o), put(o, ":"), ws(o);
    val(o, depth + 1);
    ws(o);
  }
  put(o, "}");
}

static void any_value(out *o, int depth) { value(o, depth); }

static void value(out *o, int depth) {
  static const char *const keys[] = {"a", "index", "content", "text", "x"};
  if (depth > 3 || pick(3)) {
    scalar(o);
    return;
  }
  if (pick(2)) {
    object_of(o, depth, keys, 5, any_value);
    return;
  }
  put(o, "[");
  for (unsigned i = 0, k = pick(3); i < k; i++) {
    if (i) put(o, ",");
    value(o, depth + 1);
  }
  put(o, "]");
}

static void delta_value(out *o, int depth) {
  static const char *const keys[] = {"content", "role", "tool_calls", "function_call", "refusal", "content"};
  if (pick(6) == 0) {
    value(o, depth);
    return;
  }
  object_of(o, depth, keys, 6, any_value);
}

static void choice_value(out *o, int depth) {
  static const char *const keys[] = {"index", "delta", "text", "finish_reason", "logprobs", "index", "delta"};
  if (pick(8) == 0) {
    value(o, depth);
    return;
  }
  put(o, "{");
  for (unsigned i = 0, k = pick(5); i < k; i++) {
    if (i) put(o, ",");
    const char *key = keys[pick(7)];
    put(o, "\""), put(o, key), put(o, "\":");
    if (!strcmp(key, "delta"))
      delta_value(o, depth + 1);
    else if (!strcmp(key, "index"))
      put(o, (const char *[]){"0", "1", "0", "\"0\"", "null", "0.0", "-1"}[pick(7)]);
    else
      value(o, depth + 1);
  }
  put(o, "}");
}

static void event(out *o) {
  static const char *const keys[] = {"id", "object", "created", "model", "choices", "usage", "error", "choices", "x"};
  put(o, "{");
  for (unsigned i = 0, k = pick(6); i < k; i++) {
    if (i) put(o, ",");
    const char *key = keys[pick(9)];
    ws(o), put(o, "\""), put(o, key), put(o, "\":"), ws(o);
    if (!strcmp(key, "choices") && pick(6)) {
      put(o, "[");
      for (unsigned j = 0, m = pick(3); j < m; j++) {
        if (j) put(o, ",");
        choice_value(o, 1);
      }
      put(o, "]");
    } else
      value(o, 1);
  }
  put(o, "}");
  ws(o);
}

static void generated_events_agree(void **state) {
  (void)state;
  stream_chunk ch;
  stream_chunk_init(&ch);
  size_t fast = 0, total = 0;
  for (int i = 0; i < 100000; i++) {
    out o = {.n = 0};
    event(&o);
    int chat = (int)pick(2);
    fast += (size_t)check(&ch, o.b, o.n, chat);
    total++;
    /* mutations: a byte changed, the event cut, a byte inserted */
    char m[4096];
    size_t ml = o.n;
    memcpy(m, o.b, o.n);
    switch (pick(3)) {
    case 0:
      if (ml) m[pick((unsigned)ml)] = "\"\\{}[],:0n\x80 "[pick(12)];
      break;
    case 1: ml = ml ? pick((unsigned)ml) : 0; break;
    default:
      if (ml + 1 < sizeof m) {
        size_t at = ml ? pick((unsigned)ml) : 0;
        memmove(m + at + 1, m + at, ml - at);
        m[at] = "\"\\{}[],:0n "[pick(11)];
        ml++;
      }
    }
    fast += (size_t)check(&ch, m, ml, chat);
    total++;
  }
  stream_chunk_free(&ch);
  print_message("%zu events, %zu read the fast way, all as the tree reads them\n", total, fast);
  assert_true(fast > total / 10);
}

/* An event of the shape servers send, varied: members in any order, white space, extra plain members, strings with
 * escapes, the text as a string or not there. */
static void plain_event(out *o, int chat) {
  put(o, "{"), ws(o);
  static const char *const extra[] = {"\"id\":\"chatcmpl-9\"", "\"object\":\"chat.completion.chunk\"",
                                      "\"created\":1700000000", "\"system_fingerprint\":null", "\"x\":true"};
  for (unsigned i = 0, k = pick(4); i < k; i++)
    put(o, extra[pick(5)]), ws(o), put(o, ","), ws(o);
  put(o, "\"model\":"), ws(o), string(o), ws(o), put(o, ","), ws(o);
  put(o, "\"choices\":["), ws(o), put(o, "{");
  if (pick(2)) put(o, "\"index\":0,"), ws(o);
  if (chat) {
    put(o, "\"delta\":{");
    if (pick(3) == 0) put(o, "\"role\":\"assistant\","), ws(o);
    put(o, "\"content\":"), ws(o), string(o), put(o, "}");
  } else {
    put(o, "\"text\":"), ws(o), string(o);
  }
  put(o, ","), ws(o), put(o, "\"logprobs\":null,\"finish_reason\":");
  if (pick(3))
    put(o, "null");
  else
    string(o);
  put(o, "}"), ws(o), put(o, "]"), ws(o), put(o, "}"), ws(o);
}

/* The template (stream_chunk.h): after an event read the full way, events that are it with the text's string token
 * replaced by another string (or by bytes that are not one string, or with a byte changed elsewhere) are read
 * against the tree like any other; the replaced ones must take the template's way, and a stream of canonical
 * events must take it for all but its first event. */
static void template_events_agree(void **state) {
  (void)state;
  stream_chunk ch;
  stream_chunk_init(&ch);
  size_t bases = 0, variants = 0;
  unsigned long long hits0 = 0, vhits = 0;
  for (int i = 0; i < 30000 && bases < 3000; i++) {
    out base = {.n = 0};
    int chat = (int)pick(2);
    if (pick(4))
      plain_event(&base, chat);
    else
      event(&base);
    if (!check(&ch, base.b, base.n, chat) || !ch.tpl_len || ch.tpl_hits != hits0) {
      hits0 = ch.tpl_hits;
      continue; /* only events read the full way and kept as the template */
    }
    bases++;
    size_t at = ch.tpl_text_at, end = ch.tpl_text_end;
    for (int v = 0; v < 20; v++) {
      out o = {.n = 0};
      memcpy(o.b, base.b, at), o.n = at;
      switch (pick(4)) {
      case 0: put(&o, "\"\""); break;
      case 1: put(&o, "\"a\" \"b\""); break; /* two strings: not one token */
      default: string(&o);
      }
      if (o.n + (base.n - end) < sizeof o.b) memcpy(o.b + o.n, base.b + end, base.n - end), o.n += base.n - end;
      if (pick(5) == 0 && o.n) o.b[pick((unsigned)o.n)] = "\"\\{}[],:0n\x80 "[pick(12)];
      unsigned long long before = ch.tpl_hits;
      check(&ch, o.b, o.n, chat);
      vhits += ch.tpl_hits - before;
      variants++;
      /* the variant may have become the template: go back to the base's */
      if (!check(&ch, base.b, base.n, chat) || ch.tpl_text_at != at) break;
    }
  }
  print_message("%zu template events, %zu variants of them, %llu read from the template, all as the tree reads them\n",
                bases, variants, vhits);
  assert_true(bases > 500 && vhits > variants / 4);
  /* a canonical stream: every event after the first from the template */
  static const char *const stream[] = {
      "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,"
      "\"delta\":{\"content\":\"你好\"},\"logprobs\":null,\"finish_reason\":null}]}",
      "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,"
      "\"delta\":{\"content\":\"，世界\\n\"},\"logprobs\":null,\"finish_reason\":null}]}",
      "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,"
      "\"delta\":{\"content\":\"\\\"ok\\\"\"},\"logprobs\":null,\"finish_reason\":null}]}",
      "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,"
      "\"delta\":{\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}",
  };
  stream_chunk_free(&ch);
  stream_chunk_init(&ch);
  for (size_t i = 0; i < sizeof stream / sizeof *stream; i++)
    if (!check(&ch, stream[i], strlen(stream[i]), 1)) fail_msg("not fast: %s", stream[i]);
  assert_int_equal(ch.tpl_hits, sizeof stream / sizeof *stream - 1);
  stream_chunk_free(&ch);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(canonical_events_are_fast),
      cmocka_unit_test(generated_events_agree),
      cmocka_unit_test(template_events_agree),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
