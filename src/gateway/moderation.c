/* moderation.c — the moderation stage (moderation.h): a request's prompt and answer through the policy's
 * moderator (judge.c), the prompt's edits, the answer held back and rendered. The stream's hold-back: content is held
 * only as far as the moderator's pending suffix says (plus a placeholder that may still be incomplete), so nothing
 * that could become part of a prohibited term or of personal data reaches the client before it is decided. */
#include "moderation.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/arena.h"
#include "modpool.h"

static hg_policy *policy_of(const moderation *m) { return ((live_config *)(void *)m->j.cfg)->policy; }

hg_status moderation_open(moderation *m, const hg_config *cfg, hg_lexicon *lex, hg_takedown_set *takedowns,
                          json_t *detail, struct hg_arena *arena) {
  memset(m, 0, sizeof *m);
  m->j = (judge){cfg, lex, takedowns, detail, json_array(), json_array(), json_array(), arena};
  json_object_set_new(detail, "input_hits", m->j.input_hits);
  json_object_set_new(detail, "input_pii", m->j.input_pii);
  json_object_set_new(detail, "output_hits", m->j.output_hits);
  json_object_set_new(detail, "output_pii", json_array());
  if (hg_vault_new(&m->vault)) {
    moderation_close(m);
    return HG_ERR_NOMEM;
  }
  return HG_OK;
}

void moderation_close(moderation *m) {
  /* back to the thread's pool (modpool.h), before the references it was built for are let go */
  if (m->stream) modpool_give(m->stream, policy_of(m), HG_DIR_OUTPUT, m->j.lex, m->j.takedowns);
  if (m->j.takedowns) hg_takedown_set_unref(m->j.takedowns);
  hg_lexicon_unref(m->j.lex);
  hg_vault_free(m->vault);
  free(m->held);
  free(m->raw_out);
  free(m->calls_text);
  memset(m, 0, sizeof *m);
}

void moderation_spans_free(const moderation *m, span_hit *spans) { judge_spans_free(&m->j, spans); }

/* ---- the prompt ---- */
/* Moderates one prompt text: the request's strings joined as the model reads them (prompt.c). Returns -1 when it
 * blocks; otherwise 0 with *edits (malloc-ed, sorted, not overlapping; NULL when there are none) saying what to
 * replace before the request leaves: personal data by a placeholder from the vault, other redactions by asterisks. */
static int moderate_input(moderation *m, const char *text, size_t len, prompt_edit **edits, size_t *nedits) {
  *edits = NULL;
  *nedits = 0;
  span_hit *v;
  size_t nv;
  if (judge_text(&m->j, HG_DIR_INPUT, text, len, &v, &nv, NULL, NULL) == HG_DECIDE_BLOCK) {
    moderation_spans_free(m, v);
    return -1;
  }
  if (!nv) return 0;
  prompt_edit *out = calloc(nv, sizeof *out);
  if (!out) { /* what could not be replaced must not leave */
    moderation_spans_free(m, v);
    return -1;
  }
  size_t n = 0;
  for (size_t i = 0; i < nv; i++) { /* disjoint (merge_spans) */
    span_hit *s = &v[i];
    prompt_edit *e = &out[n++];
    *e = (prompt_edit){s->start, s->end, s->type < 0, ""};
    if (s->type >= 0 && hg_vault_placeholder(m->vault, (hg_pii_type)s->type, text + s->start, s->end - s->start,
                                             e->replacement, sizeof e->replacement))
      strcpy(e->replacement, "<REDACTED>");
  }
  moderation_spans_free(m, v);
  *edits = out;
  *nedits = n;
  return 0;
}

/* Adds to each hit logged from index `from` on the request member it fell in. */
static void name_members(json_t *log, size_t from, const prompt_text *pt) {
  for (size_t i = from; i < json_array_size(log); i++) {
    json_t *hit = json_array_get(log, i);
    json_int_t start = json_integer_value(json_object_get(hit, "start"));
    json_object_set_new(hit, "member", json_string(prompt_member(pt, (size_t)start)));
  }
}

/* A refused prompt's text is kept in its record as the retention rules keep every other text (audit.retain_text:
 * redacted = personal data replaced by the request's placeholders, full, or none), so that a reviewer hearing an
 * appeal sees what was written. */
static void blocked_input_text(moderation *m, const prompt_text *pt) {
  if (m->j.cfg->retain_text == HG_RETAIN_NONE || !pt->joined) return;
  char *kept = NULL;
  size_t kl = 0;
  if (m->j.cfg->retain_text == HG_RETAIN_FULL) {
    kept = strndup(pt->joined, pt->joined_len);
    kl = pt->joined_len;
  } else {
    hg_pii_options detect;
    hg_pii_options_init(&detect);
    detect.types = m->j.cfg->pii_types;
    hg_redact_options ro;
    hg_redact_options_init(&ro);
    ro.op = HG_REDACT_PLACEHOLDER;
    size_t count;
    if (hg_pii_redact(&detect, &ro, m->vault, pt->joined, pt->joined_len, &kept, &kl, &count, NULL)) kept = NULL;
  }
  if (!kept) return; /* out of memory: the record goes without the text rather than with it unredacted */
  m->input_text = hg_arena_memdup0(m->j.arena, kept, utf8_prefix_len(kept, kl, MAX_AUDIT_TEXT));
  free(kept);
}

/* The prompt's one way through moderation: the strings of the request that the policy selects (prompt.c), joined
 * as the model reads them, go through moderate_input as one text; its edits go back onto the strings they fall in.
 * The record keeps the joined text as it leaves. Returns -1 when the prompt is blocked. */
int moderation_prompt(moderation *m, prompt_text *pt, int *changed) {
  if (prompt_join(pt, m->j.cfg->input_roles, m->j.cfg->input_max_turns)) return -1; /* unread text does not leave */
  size_t hits_from = json_array_size(m->j.input_hits), pii_from = json_array_size(m->j.input_pii);
  prompt_edit *edits;
  size_t nedits;
  int r = moderate_input(m, pt->joined, pt->joined_len, &edits, &nedits);
  name_members(m->j.input_hits, hits_from, pt);
  name_members(m->j.input_pii, pii_from, pt);
  if (!r && nedits) {
    if (prompt_apply(pt, edits, nedits))
      r = -1;
    else
      *changed = 1;
  }
  free(edits);
  if (r) {
    blocked_input_text(m, pt);
    return -1;
  }
  size_t keep = utf8_prefix_len(pt->joined, pt->joined_len, MAX_AUDIT_TEXT);
  m->input_text = hg_arena_memdup0(m->j.arena, pt->joined, keep);
  return 0;
}

int moderation_refused_by_engine(const moderation *m) {
  const char *why = json_string_value(json_object_get(m->j.detail, "block_category"));
  return why && !strcmp(why, "error");
}

void moderation_refusal(moderation *m, int engine, hg_standing to, int64_t until_ms, char *out, size_t cap) {
  char tail[300] = "";
  if (to == HG_STANDING_TERMINATED) {
    snprintf(tail, sizeof tail,
             "\n（本次输入违规，账号已被终止使用。This input was refused again; the account is now "
             "terminated.）");
  } else if (to == HG_STANDING_SUSPENDED) {
    time_t t = (time_t)(until_ms / 1000);
    struct tm tm;
    char when[40] = "";
    if (gmtime_r(&t, &tm)) strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(tail, sizeof tail,
             "\n（本次输入违规，账号已被暂停使用至 %s。This input was refused again; the account is now "
             "suspended until %s.）",
             when, when);
  }
  if (to != HG_STANDING_ACTIVE) json_object_set_new(m->j.detail, "ladder", json_string(hg_standing_name(to)));
  snprintf(out, cap, "%s%s", m->j.cfg->refusal,
           engine    ? ""
           : tail[0] ? tail
                     : "\n（提示：多次输入违规内容将导致账号被暂停使用。）");
}

/* ---- the answer ---- */

/* The answer's text on its way out: new personal data masked, placeholders back to the user's values. */
char *moderation_render(const moderation *m, const char *raw, size_t len, size_t base, const span_hit *pii, size_t npii,
                        size_t *out_len) {
  char *masked = NULL;
  size_t ml = 0, mc = 0, pos = 0;
  hg_redact_options ro;
  hg_redact_options_init(&ro);
  for (size_t i = 0; i < npii; i++) {
    if (pii[i].end <= base || pii[i].start >= base + len) continue;
    size_t s = pii[i].start < base ? 0 : pii[i].start - base, e = pii[i].end - base > len ? len : pii[i].end - base;
    if (s < pos) continue;
    text_append(&masked, &ml, &mc, raw + pos, s - pos, (size_t)-1);
    if (pii[i].type < 0) { /* a redacted lexicon entry or rule: one asterisk per character */
      for (size_t k = s; k < e; k++)
        if (((unsigned char)raw[k] & 0xC0) != 0x80) text_append(&masked, &ml, &mc, "*", 1, (size_t)-1);
      pos = e;
      continue;
    }
    char *rep;
    size_t rl;
    if (!hg_redact_value(&ro, NULL, (hg_pii_type)pii[i].type, raw + s, e - s, &rep, &rl, NULL)) {
      text_append(&masked, &ml, &mc, rep, rl, (size_t)-1);
      free(rep);
    }
    pos = e;
  }
  text_append(&masked, &ml, &mc, raw + pos, len - pos, (size_t)-1);
  if (!masked) masked = calloc(1, 1);
  char *restored = NULL;
  if (hg_vault_count(m->vault) && !hg_vault_restore(m->vault, masked, ml, &restored, out_len)) {
    free(masked);
    return restored;
  }
  *out_len = ml;
  return masked;
}

/* A whole text of the answer, kept for the record and judged (a stream's content goes through
 * moderation_stream_feed). */
int moderation_answer_text(moderation *m, const char *text, size_t len, span_hit **pii, size_t *npii) {
  text_append(&m->raw_out, &m->raw_len, &m->raw_cap, text, len, MAX_AUDIT_TEXT);
  if (judge_text(&m->j, HG_DIR_OUTPUT, text, len, pii, npii, NULL, NULL) == HG_DECIDE_BLOCK) m->blocked_output = 1;
  return m->blocked_output;
}

/* The id a client gets for a tool call: the upstream's when it is an identifier (letters, digits, '_' and '-', up to
 * 64 of them), since the client sends it back and a model server may check it; otherwise one of ours, so no text of
 * the upstream's choosing reaches the client through it. */
static void call_id(const char *upstream, char out[72]) {
  size_t n = strlen(upstream);
  int ok = n > 0 && n <= 64;
  for (size_t i = 0; ok && i < n; i++) {
    char ch = upstream[i];
    ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
  }
  if (ok) {
    memcpy(out, upstream, n + 1);
    return;
  }
  unsigned char r[12];
  randombytes_buf(r, sizeof r);
  memcpy(out, "call_hg", 7);
  sodium_bin2hex(out + 7, 25, r, sizeof r);
}

/* Adds `member` to each hit logged from index `from` on: which part of the answer it was found in. */
static void mark_member(json_t *log, size_t from, const char *member) {
  for (size_t i = from; i < json_array_size(log); i++)
    json_object_set_new(json_array_get(log, i), "member", json_string(member));
}

/* Moderates one complete tool call, its name and arguments as one text, and renders it for the client: new personal
 * data masked, the user's own values back in place of their placeholders. Returns a tool call object (with
 * "index" = position when position >= 0: a stream's delta) or, for a legacy function_call, {name, arguments}; NULL
 * when it blocks, or when it could not be made (then it blocks too: fail closed). */
json_t *moderation_call(moderation *m, const tool_call *tc, int position) {
  size_t nl = tc->name_len, al = tc->arguments_len, tl = nl + 1 + al;
  char *t = malloc(tl + 1);
  json_t *call = NULL;
  if (!t) {
    m->blocked_output = 1;
    return NULL;
  }
  if (nl) memcpy(t, tc->name, nl);
  t[nl] = '\n';
  if (al) memcpy(t + nl + 1, tc->arguments, al);
  t[tl] = 0;
  text_append(&m->raw_out, &m->raw_len, &m->raw_cap, "\n", 1, MAX_AUDIT_TEXT); /* the text follows it there */
  json_t *pii_log = json_object_get(m->j.detail, "output_pii");
  size_t hits_from = json_array_size(m->j.output_hits), pii_from = json_array_size(pii_log);
  span_hit *pii;
  size_t npii;
  if (!moderation_answer_text(m, t, tl, &pii, &npii)) {
    size_t rnl = 0, ral = 0;
    char *name = moderation_render(m, t, nl, 0, pii, npii, &rnl);
    char *args = moderation_render(m, t + nl + 1, al, nl + 1, pii, npii, &ral);
    json_t *fn = name && args ? json_pack("{s:s%, s:s%}", "name", name, rnl, "arguments", args, ral) : NULL;
    char id[72];
    call_id(tc->id, id);
    if (fn && tc->index < 0)
      call = fn;
    else if (fn && position >= 0)
      call = json_pack("{s:i, s:s, s:s, s:o}", "index", position, "id", id, "type", "function", "function", fn);
    else if (fn)
      call = json_pack("{s:s, s:s, s:o}", "id", id, "type", "function", "function", fn);
    if (call) {
      text_append(&m->calls_text, &m->calls_text_len, &m->calls_text_cap, name, rnl, MAX_AUDIT_TEXT);
      text_append(&m->calls_text, &m->calls_text_len, &m->calls_text_cap, " ", 1, MAX_AUDIT_TEXT);
      text_append(&m->calls_text, &m->calls_text_len, &m->calls_text_cap, args, ral, MAX_AUDIT_TEXT);
      text_append(&m->calls_text, &m->calls_text_len, &m->calls_text_cap, "\n", 1, MAX_AUDIT_TEXT);
    } else {
      m->blocked_output = 1;
      json_object_set_new(m->j.detail, "output_error", json_string("a tool call could not be passed on"));
    }
    free(name);
    free(args);
  }
  char member[40];
  if (tc->index < 0)
    snprintf(member, sizeof member, "function_call");
  else
    snprintf(member, sizeof member, "tool_calls[%d]", tc->index);
  mark_member(m->j.output_hits, hits_from, member);
  mark_member(pii_log, pii_from, member);
  moderation_spans_free(m, pii);
  free(t);
  return call;
}

/* A whole answer's calls are shaped like OpenAI's: objects whose function has a string name and string (or no)
 * arguments. */
static int call_shaped(json_t *function) {
  json_t *args = json_object_get(function, "arguments");
  return json_is_string(json_object_get(function, "name")) && (!args || json_is_null(args) || json_is_string(args));
}

int moderation_calls_shaped(json_t *tool_calls, json_t *function_call) {
  size_t n = json_array_size(tool_calls);
  if (n > MAX_TOOL_CALLS) return 0;
  for (size_t i = 0; i < n; i++)
    if (!call_shaped(json_object_get(json_array_get(tool_calls, i), "function"))) return 0;
  return n || !function_call || call_shaped(function_call);
}

/* A tool call of a whole answer, its strings borrowed from the answer. */
static void borrow_call(tool_call *tc, int index, json_t *id, json_t *function) {
  json_t *name = json_object_get(function, "name"), *args = json_object_get(function, "arguments");
  memset(tc, 0, sizeof *tc);
  tc->index = index;
  if (json_is_string(id)) snprintf(tc->id, sizeof tc->id, "%s", json_string_value(id));
  tc->name = (char *)json_string_value(name);
  tc->name_len = json_string_length(name);
  tc->arguments = json_is_string(args) ? (char *)json_string_value(args) : NULL;
  tc->arguments_len = json_string_length(args);
}

/* The tool calls of a whole answer (shaped: moderation_calls_shaped), each moderated: the message's
 * {"tool_calls": [...]} or {"function_call": {...}}; NULL when one blocks. */
json_t *moderation_whole_calls(moderation *m, json_t *tool_calls, json_t *function_call) {
  tool_call tc;
  size_t n = json_array_size(tool_calls);
  if (!n) {
    borrow_call(&tc, -1, NULL, function_call);
    json_t *call = moderation_call(m, &tc, -1);
    return call ? json_pack("{s:o}", "function_call", call) : NULL;
  }
  json_t *out = json_array();
  for (size_t i = 0; i < n; i++) {
    json_t *item = json_array_get(tool_calls, i);
    borrow_call(&tc, (int)i, json_object_get(item, "id"), json_object_get(item, "function"));
    json_t *call = moderation_call(m, &tc, -1);
    if (!call) {
      json_decref(out);
      return NULL;
    }
    json_array_append_new(out, call);
  }
  return json_pack("{s:o}", "tool_calls", out);
}

/* ---- a streamed answer ---- */

/* Takes what the stream's moderator found; a block stops the answer. */
static void stream_reasons(moderation *m) {
  if (judge_take_reasons(&m->j, m->stream, m->j.output_hits, json_object_get(m->j.detail, "output_pii"), "output_error",
                         &m->pii, &m->npii, &m->pii_cap) ||
      hg_moderator_decision(m->stream) == HG_DECIDE_BLOCK)
    m->blocked_output = 1;
  judge_merge_spans(m->pii, &m->npii); /* new spans start at or after what was released: nothing released is merged */
}

int moderation_stream_open(moderation *m, int sentences) {
  if (modpool_take(policy_of(m), HG_DIR_OUTPUT, m->j.lex, m->j.takedowns, &m->stream, NULL)) m->stream = NULL;
  if (m->stream && sentences && hg_moderator_track_sentences(m->stream)) {
    modpool_give(m->stream, policy_of(m), HG_DIR_OUTPUT, m->j.lex, m->j.takedowns);
    m->stream = NULL;
  }
  return m->stream ? 0 : -1;
}

int moderation_stream_feed(moderation *m, const char *s, size_t n) {
  text_append(&m->raw_out, &m->raw_len, &m->raw_cap, s, n, MAX_AUDIT_TEXT);
  if (text_append(&m->held, &m->held_len, &m->held_cap, s, n, (size_t)-1)) {
    json_object_set_new(m->j.detail, "output_error", json_string("out of memory holding the answer"));
    m->blocked_output = 1; /* what cannot be held cannot be judged: fail closed */
    return 1;
  }
  m->fed += n;
  hg_moderator_feed(m->stream, s, n, NULL); /* a failure is a block reason: what cannot be read is not sent */
  stream_reasons(m);
  return m->blocked_output;
}

void moderation_stream_finish(moderation *m) {
  if (m->blocked_output) return;
  hg_moderator_finish(m->stream, NULL);
  stream_reasons(m);
}

size_t moderation_releasable(const moderation *m, size_t limit, size_t *hold_out) {
  size_t hold = hg_moderator_pending_suffix_len(m->stream);
  size_t vp = hg_vault_pending_len(m->held, m->held_len);
  if (vp > hold) hold = vp;
  if (hold > m->held_len) hold = m->held_len;
  if (hold_out) *hold_out = hold;
  size_t to = m->fed - hold;
  return to > limit ? limit : to;
}

char *moderation_release(moderation *m, size_t to, size_t *out_len) {
  /* a redaction is rendered whole (a mask keeps the last characters of the whole value): never cut one */
  for (size_t i = 0; i < m->npii; i++)
    if (m->pii[i].start < to && m->pii[i].end > to) to = m->pii[i].start;
  if (to <= m->released) return NULL;
  size_t n = to - m->released;
  char *out = moderation_render(m, m->held, n, m->released, m->pii, m->npii, out_len);
  memmove(m->held, m->held + n, m->held_len - n);
  m->held_len -= n;
  m->released = to;
  /* hits wholly released are no longer needed */
  size_t k = 0;
  for (size_t i = 0; i < m->npii; i++)
    if (m->pii[i].end > m->released) m->pii[k++] = m->pii[i];
  m->npii = k;
  return out;
}

size_t moderation_sentence_end(const moderation *m) {
  size_t se = hg_moderator_sentence_end(m->stream);
  return se > m->raw_len ? m->raw_len : se; /* the guard reads what the record keeps (MAX_AUDIT_TEXT) */
}
