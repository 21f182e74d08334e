/* stream_chunk.c — see stream_chunk.h. A small recursive reader over the cursor: the event object, its choices, a
 * choice, a delta; every value it does not want is read (and so checked) as the fast reader reads it, and
 * dropped. */
#include "stream_chunk.h"

#include <stdlib.h>
#include <string.h>

#define FINISH_MAX 64     /* a longer finish_reason goes the full way (the relay copies it into a short buffer) */
#define TEMPLATE_MAX 4096 /* longer events are not kept as the template */

/* A wanted string: in the event's bytes, or (when it had escapes) at an offset of ch->own. */
typedef struct field {
  int set;
  const char *at; /* NULL: at ch->own + off */
  size_t off, n;
  size_t tok_at, tok_end; /* a string: where its token lies in the event's bytes */
} field;

typedef struct reading {
  stream_chunk *ch;
  int chat;
  field model, text, finish;
  const char *data;
} reading;

void stream_chunk_init(stream_chunk *ch) { memset(ch, 0, sizeof *ch); }

void stream_chunk_free(stream_chunk *ch) {
  hg_json_cursor_free(&ch->cur);
  free(ch->own);
  free(ch->tpl);
  memset(ch, 0, sizeof *ch);
}

/* Reads a string into f (given twice: -1). */
static int take_string(reading *rd, field *f) {
  const char *s;
  size_t n;
  if (f->set || hg_json_string(&rd->ch->cur, &s, &n)) return -1;
  f->set = 1;
  f->n = n;
  if (s != rd->ch->cur.scratch) {
    f->at = s;
    return 0;
  }
  stream_chunk *ch = rd->ch; /* the scratch is reused by the next string with escapes: copy it out */
  if (ch->own_len + n > ch->own_cap) {
    size_t cap = ch->own_cap ? ch->own_cap : 256;
    while (cap < ch->own_len + n)
      cap *= 2;
    char *b = realloc(ch->own, cap);
    if (!b) return -1;
    ch->own = b, ch->own_cap = cap;
  }
  if (n) memcpy(ch->own + ch->own_len, s, n);
  f->at = NULL;
  f->off = ch->own_len;
  ch->own_len += n;
  return 0;
}

/* A value that is not wanted: a string, number or literal is read and dropped; an object or array gives up. */
static int skip_plain(reading *rd) {
  int next = hg_json_peek(&rd->ch->cur);
  if (next == '{' || next == '[' || next < 0) return -1;
  if (next == '"') {
    const char *s;
    size_t n;
    return hg_json_string(&rd->ch->cur, &s, &n);
  }
  long long ignored;
  return hg_json_scalar(&rd->ch->cur, &ignored) < 0 ? -1 : 0;
}

/* A wanted string field: a string is taken; any other plain value is read and means "none" (the tree reading finds
 * no string there either); an object or array gives up. */
static int string_or_plain(reading *rd, field *f) {
  if (hg_json_peek(&rd->ch->cur) == '"') {
    size_t at = (size_t)((const char *)rd->ch->cur.p - rd->data);
    if (take_string(rd, f)) return -1;
    f->tok_at = at, f->tok_end = (size_t)((const char *)rd->ch->cur.p - rd->data);
    return 0;
  }
  if (f->set) return -1;
  f->set = 1; /* seen: a second one gives up */
  f->at = NULL, f->n = (size_t)-1;
  return skip_plain(rd);
}

/* The members of an object, each handed to member(rd, key, n, ctx) with the cursor at its value; -1 gives up. */
typedef int (*member_fn)(reading *rd, const char *key, size_t n, void *ctx);

static int read_object(reading *rd, member_fn member, void *ctx) {
  hg_json_cursor *c = &rd->ch->cur;
  if (hg_json_eat(c, '{')) return -1;
  if (!hg_json_eat(c, '}')) return 0;
  char key[32];
  for (;;) {
    const char *k;
    size_t kn;
    if (hg_json_string(c, &k, &kn)) return -1;
    /* the key is copied before the value is read (the value's string may reuse the scratch); a longer key is none
     * of the wanted ones */
    size_t keep = kn < sizeof key ? kn : 0;
    memcpy(key, k, keep);
    if (hg_json_eat(c, ':')) return -1;
    if (member(rd, kn < sizeof key ? key : "", keep, ctx)) return -1;
    if (!hg_json_eat(c, ',')) continue;
    return hg_json_eat(c, '}');
  }
}

static int key_is(const char *key, size_t n, const char *want) { return n == strlen(want) && !memcmp(key, want, n); }

typedef struct choice_seen {
  int index_seen, qualifies; /* "index" absent or the integer 0: this is choice 0 */
  field text, finish;
  int delta_seen;
} choice_seen;

static int delta_member(reading *rd, const char *key, size_t n, void *ctx) {
  choice_seen *cs = ctx;
  if (key_is(key, n, "content")) return string_or_plain(rd, &cs->text);
  return skip_plain(rd); /* tool_calls and function_call too: with an array or object (calls) it gives up */
}

static int choice_member(reading *rd, const char *key, size_t n, void *ctx) {
  choice_seen *cs = ctx;
  if (key_is(key, n, "index")) {
    int next = hg_json_peek(&rd->ch->cur);
    if (cs->index_seen++ || next == '{' || next == '[') return -1;
    long long index = -1;
    int kind = hg_json_scalar(&rd->ch->cur, &index);
    if (kind < 0) return -1;
    cs->qualifies = kind == 'i' && index == 0;
    return 0;
  }
  if (key_is(key, n, "finish_reason")) return string_or_plain(rd, &cs->finish);
  if (rd->chat && key_is(key, n, "delta")) {
    if (cs->delta_seen) return -1;
    cs->delta_seen = 1;
    if (hg_json_peek(&rd->ch->cur) == '{') return read_object(rd, delta_member, cs);
    return skip_plain(rd); /* not an object: no content, no calls */
  }
  if (!rd->chat && key_is(key, n, "text")) return string_or_plain(rd, &cs->text);
  return skip_plain(rd);
}

static int read_choices(reading *rd) {
  hg_json_cursor *c = &rd->ch->cur;
  if (hg_json_eat(c, '[')) return -1;
  if (!hg_json_eat(c, ']')) return 0;
  int chosen = 0;
  for (;;) {
    if (hg_json_peek(c) != '{') return -1; /* a choice that is not an object: the full way */
    choice_seen cs = {0};
    cs.qualifies = 1;
    if (read_object(rd, choice_member, &cs)) return -1;
    if (!chosen && cs.qualifies) { /* the first choice with index 0 (or none) is the one passed on */
      chosen = 1;
      rd->text = cs.text;
      rd->finish = cs.finish;
    }
    if (!hg_json_eat(c, ',')) continue;
    return hg_json_eat(c, ']');
  }
}

typedef struct event_seen {
  int choices, usage, error;
} event_seen;

static int event_member(reading *rd, const char *key, size_t n, void *ctx) {
  event_seen *es = ctx;
  if (key_is(key, n, "model")) return string_or_plain(rd, &rd->model);
  if (key_is(key, n, "choices")) {
    if (es->choices++) return -1;
    if (hg_json_peek(&rd->ch->cur) == '[') return read_choices(rd);
    return skip_plain(rd); /* not an array: no choice */
  }
  if (key_is(key, n, "usage") || key_is(key, n, "error")) {
    int *seen = key[0] == 'u' ? &es->usage : &es->error;
    if ((*seen)++) return -1;
    return skip_plain(rd); /* an object (or array) gives up there: usage is kept, an error ends the stream */
  }
  return skip_plain(rd);
}

static void resolve(const stream_chunk *ch, const field *f, const char **p, size_t *n) {
  if (!f->set || f->n == (size_t)-1) {
    *p = NULL, *n = 0;
    return;
  }
  *p = f->at ? f->at : ch->own + f->off;
  *n = f->n;
}

/* The offset in the template of a string read from it, or SIZE_MAX (none, or not in the template's bytes). */
static size_t offset_in(const char *data, size_t len, const char *p) {
  return p && p >= data && p < data + len ? (size_t)(p - data) : (size_t)-1;
}

/* Keeps the event just read the full way as the template, when its text was a string token and its model and
 * finish_reason strings (if any) lie in its bytes. */
static void keep_template(stream_chunk *ch, const reading *rd, const char *data, size_t len) {
  ch->tpl_len = 0;
  if (!rd->text.tok_end || len > TEMPLATE_MAX) return; /* the text was no string token (or there was none) */
  size_t m = offset_in(data, len, ch->model), f = offset_in(data, len, ch->finish);
  if ((ch->model && m == (size_t)-1) || (ch->finish && f == (size_t)-1)) return;
  if (len > ch->tpl_cap) {
    char *b = realloc(ch->tpl, len);
    if (!b) return;
    ch->tpl = b, ch->tpl_cap = len;
  }
  memcpy(ch->tpl, data, len);
  ch->tpl_len = len;
  ch->tpl_chat = rd->chat;
  ch->tpl_text_at = rd->text.tok_at, ch->tpl_text_end = rd->text.tok_end;
  ch->tpl_model_at = m, ch->tpl_model_len = ch->model_len;
  ch->tpl_finish_at = f, ch->tpl_finish_len = ch->finish_len;
}

/* A string of the template at offset at (SIZE_MAX: none), where it lies in an event whose text token ends at
 * text_end instead of the template's. */
static const char *moved(const stream_chunk *ch, const char *data, size_t at, size_t text_end) {
  if (at == (size_t)-1) return NULL;
  return at < ch->tpl_text_at ? data + at : data + text_end + (at - ch->tpl_text_end);
}

/* The event as the template with its text token replaced (stream_chunk.h): 1 when it is, with the fields set. */
static int read_from_template(stream_chunk *ch, const char *data, size_t len, int chat) {
  size_t head = ch->tpl_text_at, tail = ch->tpl_len - ch->tpl_text_end;
  if (!ch->tpl_len || chat != ch->tpl_chat || len < head + 2 + tail || memcmp(data, ch->tpl, head) ||
      memcmp(data + len - tail, ch->tpl + ch->tpl_text_end, tail))
    return 0;
  /* between them: exactly one string token, nothing before or after it */
  hg_json_cursor_rewind(&ch->cur, data + head, len - head - tail);
  const char *s;
  size_t n;
  if (data[head] != '"' || hg_json_string(&ch->cur, &s, &n) || ch->cur.p != ch->cur.end) return 0;
  if (s == ch->cur.scratch) { /* it had escapes: the scratch is the cursor's, copied out as take_string does */
    if (n > ch->own_cap) {
      char *b = realloc(ch->own, n);
      if (!b) return 0;
      ch->own = b, ch->own_cap = n;
    }
    if (n) memcpy(ch->own, s, n);
    s = ch->own;
  }
  size_t text_end = len - tail;
  ch->model = moved(ch, data, ch->tpl_model_at, text_end), ch->model_len = ch->model ? ch->tpl_model_len : 0;
  ch->finish = moved(ch, data, ch->tpl_finish_at, text_end), ch->finish_len = ch->finish ? ch->tpl_finish_len : 0;
  ch->text = s, ch->text_len = n;
  ch->tpl_hits++;
  return 1;
}

int stream_chunk_read(stream_chunk *ch, const char *data, size_t len, int chat) {
  ch->own_len = 0;
  if (read_from_template(ch, data, len, chat)) return 1;
  hg_json_cursor_rewind(&ch->cur, data, len); /* stream_chunk_init zeroed it: a valid empty cursor */
  reading rd = {ch, chat, {0}, {0}, {0}, data};
  event_seen es = {0};
  if (read_object(&rd, event_member, &es) || !hg_json_at_end(&ch->cur)) return 0;
  resolve(ch, &rd.model, &ch->model, &ch->model_len);
  resolve(ch, &rd.text, &ch->text, &ch->text_len);
  resolve(ch, &rd.finish, &ch->finish, &ch->finish_len);
  if (ch->finish && ch->finish_len >= FINISH_MAX) return 0;
  keep_template(ch, &rd, data, len);
  return 1;
}
