/* labels.c — the label stage (labels.h): the explicit notice, the reminder, the stream's first label header and the
 * signed implicit label of an answer, made from what the client saw. The signing itself is hg_label_make's. */
#include "labels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/json.h"
#include "prompt.h"

void labels_init(label_state *l, const hg_config *cfg, const char *id, const uint8_t *sk, int omit_notice,
                 struct hg_arena *arena) {
  *l = (label_state){.cfg = cfg, .id = id, .sk = sk, .omit_notice = omit_notice, .arena = arena};
}

void labels_free(label_state *l) {
  free(l->visible);
  l->visible = NULL;
  l->visible_len = l->visible_cap = 0;
}

int labels_saw(label_state *l, const char *s, size_t n) {
  return text_append(&l->visible, &l->visible_len, &l->visible_cap, s, n, (size_t)-1);
}

static const char *notice_sep(const hg_config *cfg) { return cfg->label_at_end ? "\n\n" : ""; }

char *labels_with_notice(const label_state *l, const char *content, size_t len, size_t *out_len) {
  const hg_config *cfg = l->cfg;
  const char *n = l->omit_notice ? "" : cfg->label_notice;
  size_t nl = strlen(n), sl = nl ? strlen(notice_sep(cfg)) : 0;
  char *o = hg_arena_alloc(l->arena, len + nl + 4);
  if (!o) return NULL;
  if (!nl) {
    memcpy(o, content, len);
    *out_len = len;
  } else if (cfg->label_at_end) {
    memcpy(o, content, len);
    memcpy(o + len, notice_sep(cfg), sl);
    memcpy(o + len + sl, n, nl);
    *out_len = len + sl + nl;
  } else {
    memcpy(o, n, nl);
    memcpy(o + nl, "\n\n", 2);
    memcpy(o + nl + 2, content, len);
    *out_len = len + nl + 2;
  }
  o[*out_len] = 0;
  return o;
}

char *labels_stream_notice(const label_state *l, int at_end, size_t *out_len) {
  *out_len = 0;
  if (l->omit_notice || !l->cfg->label_at_end != !at_end) return NULL;
  return labels_with_notice(l, "", 0, out_len);
}

void labels_reminder(const hg_config *cfg, int minutes, char *out, size_t cap) {
  out[0] = 0;
  if (!minutes) return;
    /* the configured text has at most one %d (checked when the configuration was read) */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  int n = snprintf(out, cap, cfg->reminder_text, minutes);
#pragma GCC diagnostic pop
  if (n > 0 && (size_t)n + 2 < cap) strcat(out, "\n\n");
}

void labels_stream_header(const label_state *l, char *out, size_t cap) {
  snprintf(out, cap,
           "{\"Label\":\"1\",\"ContentProducer\":\"%s\",\"ProduceID\":\"%s\",\"ReservedCode1\":\"\","
           "\"ContentPropagator\":\"%s\",\"PropagateID\":\"%s\",\"ReservedCode2\":\"\"}",
           l->cfg->content_producer, l->id, l->cfg->content_producer, l->id);
}

json_t *labels_signed(const label_state *l, hg_error *err) {
  char *label = NULL;
  if (hg_label_make(l->cfg->content_producer, l->id, l->visible ? l->visible : "", l->visible_len, l->sk, &label, err))
    return json_null();
  json_t *j = hg_json_loadb(label, strlen(label), 0, NULL);
  free(label);
  return j ? j : json_null();
}

char *labels_header(const label_state *l, const json_t *label) {
  if (!json_is_object(label)) return NULL;
  return hg_json_dumps_arena(label, JSON_COMPACT, l->arena);
}
