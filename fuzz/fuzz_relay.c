/* fuzz_relay.c — the relay stage (src/gateway/relay.c): the upstream's answer as untrusted bytes. The first byte
 * chooses a cut point (and chat or completions); the rest is read as a streamed answer, whole and cut there, which
 * must give the same text, tool calls, finish reason and verdict on the stream; then as a whole answer's body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/relay.h"

typedef struct seen {
  char *text;
  size_t len, cap;
  size_t calls;
} seen;

static void on_content(void *ctx, const char *s, size_t n) {
  seen *e = ctx;
  if (text_append(&e->text, &e->len, &e->cap, s, n, (size_t)-1)) abort();
}

static json_t *on_call(void *ctx, const tool_call *tc, int position) {
  seen *e = ctx;
  if ((size_t)position != e->calls++ || (tc->name_len && !tc->name) || (tc->arguments_len && !tc->arguments)) abort();
  return json_object();
}

static int on_stopped(void *ctx) {
  (void)ctx;
  return 0;
}

static void read_stream(int chat, const char *s, size_t n, size_t cut, seen *e, relay *r, json_t *detail) {
  relay_init(r, chat, "m", detail);
  relay_sink sink = {on_content, on_call, on_stopped, e};
  if (!relay_stream_bytes(r, s, cut, &sink)) relay_stream_bytes(r, s + cut, n - cut, &sink);
  relay_stream_last_call(r, &sink);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  int chat = data[0] & 1;
  const char *s = (const char *)data + 1;
  size_t n = size - 1, cut = n ? (data[0] >> 1) % (n + 1) : 0;
  json_t *d1 = json_object(), *d2 = json_object();
  seen a = {0}, b = {0};
  relay ra, rb;
  read_stream(chat, s, n, n, &a, &ra, d1);
  read_stream(chat, s, n, cut, &b, &rb, d2);
  /* a broken stream stops where it broke, wherever it was cut: compare only streams that read through */
  if (!ra.error[0] && !rb.error[0] &&
      (a.len != b.len || (a.len && memcmp(a.text, b.text, a.len)) || a.calls != b.calls ||
       strcmp(ra.finish_reason, rb.finish_reason) || ra.saw_done != rb.saw_done))
    abort();
  if (!ra.error[0] != !rb.error[0]) abort();
  relay_free(&ra);
  relay_free(&rb);
  free(a.text);
  free(b.text);
  relay r;
  relay_init(&r, chat, "m", d1);
  relay_answer ans;
  char msg[512];
  int code = relay_whole(&r, s, n, CURLE_OK, 200, "", &ans, msg);
  if (code && code != 502) abort();
  if (!code && (!ans.text || strlen(ans.text) > ans.len || !ans.finish_reason)) abort();
  relay_answer_free(&ans);
  relay_free(&r);
  json_decref(d1);
  json_decref(d2);
  return 0;
}
