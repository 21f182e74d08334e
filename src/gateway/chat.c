/* chat.c — the main job: an OpenAI completion request through moderation, the model, and moderation again.
 *
 * Prompt: every string of the request the model reads (prompt.c finds them, or refuses the request) is joined as the
 * model reads it and scanned as one text with the lexicon and the PII detector (moderate_request, moderate_input). A
 * blocking hit answers at once with the configured refusal (代答) and finish_reason "content_filter"; the model is
 * never called. Personal data is replaced by placeholders from a per-request vault, in the string it was in, before
 * the request leaves.
 *
 * Answer: streamed or not, the model's text goes through the same two scanners. A streamed answer is parsed event
 * by event; content is held back only as far as the scanners' pending suffixes say (plus a placeholder that may
 * still be incomplete), so nothing that could become part of a prohibited term or of personal data reaches the
 * client before it is decided. On a block the upstream is stopped, the refusal is sent and the stream ends with
 * "content_filter". Placeholders are turned back into the user's own values only on their way out, after the
 * scan, so the user's own data is never mistaken for new data. Tool calls are moderated whole, each as one text
 * (moderate_answer_text, as a whole answer's content is); a stream holds them until the model is done. Of the rest
 * of the upstream's answer only what carries no text of its choosing is passed on. Every answer carries the explicit
 * notice and the signed implicit label, and every request leaves one audit record. */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/keyvalq_struct.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "abuse.h"
#include "base/arena.h"
#include "base/clock.h"
#include "base/json.h"
#include "fetch.h"
#include "gateway.h"
#include "guard_client.h"
#include "hegui/ocr.h"
#include "judge.h"
#include "modpool.h"
#include "offload.h"
#include "prompt.h"
#include "router.h"
#include "sse.h"
#include "stream_chunk.h"

#define MAX_UPSTREAM_BODY (16u << 20)
#define MAX_ERROR_BODY (64u << 10)
#define MAX_AUDIT_TEXT (64u << 10)
#define MAX_TOOL_CALLS 128             /* in one answer */
#define MAX_TOOL_CALL_BYTES (8u << 20) /* names and arguments of a streamed answer's calls, together */

/* A tool call of the answer as the upstream sent it. A streamed one is built from its deltas. */
typedef struct tool_call {
  int index;   /* the upstream's index; -1 for a legacy function_call */
  char id[80]; /* as the upstream named it (cut; call_id decides what the client gets) */
  char *name, *arguments;
  size_t name_len, name_cap, arguments_len, arguments_cap;
} tool_call;

/* The request's arena (base/arena.h) holds the chat_req itself and what lives as long as the request: the model's
 * name, the prompt's pieces and joined text (prompt.c; held to the end of a stream too, at most about twice the
 * prompt), the kept prompt, the guard's copy of it, the images' URLs, the notice and the label header, the
 * moderator's redaction spans (judge.h), the record's JSON. What grows without bound with a stream (held text, what
 * the client saw, the record's raw text) stays on malloc: an arena would keep every outgrown copy to the end. */
#define CHAT_ARENA_CHUNK 8192

typedef struct chat_req {
  hg_arena *arena; /* holds this struct: freed last */
  worker *w;
  gateway *gw;
  const hg_config *cfg;       /* the live configuration when the request came in */
  struct evhttp_request *req; /* NULL once the client is gone */
  struct evhttp_connection *conn;
  int chat, stream, include_usage;
  int route;
  double t0;
  route_trace trace;                /* for the access line */
  double upstream_t0, upstream_end; /* monotonic seconds: the upstream call's start and end, 0 until then */
  char actor[33];
  char user[128];
  char recipient[128]; /* who receives this answer without its explicit label ("" = labeled, the default) */
  int64_t key_id;
  int moderated; /* the prompt went through moderation (strikes count it) */
  admission adm; /* what admit_user found: minor, reminder due */
  char id[64];
  char *model; /* the model the client asked for: what every answer names (the upstream's is only recorded) */
  long long created;
  hg_lexicon *lex;
  hg_vault *vault;
  json_t *detail;
  json_t *input_hits, *input_pii, *output_hits;
  char input_sha[65];
  char *input_text; /* as stored in the audit record */
  const char *verdict;
  int blocked_input;
  /* upstream */
  up_call *call;
  struct evbuffer *body; /* non-streamed answer */
  long upstream_status;
  char upstream_error[512];
  struct event *first_byte_timer;
  int got_bytes;
  /* after the first byte: the upstream's silence is measured here, not by curl's low-speed average (which lets a
   * burst hide a stall for seconds), and a started stream gets SSE comments while it lasts (stream_quiet) */
  struct event *quiet_timer;
  int64_t last_upstream_ms, last_sent_ms; /* monotonic */
  /* streamed answer */
  int started;         /* headers and the role chunk are out */
  int done;            /* the reply is complete (or the client is gone) */
  sse_parser sse;      /* the upstream's event stream */
  stream_chunk events; /* its events' fields, read without a tree when they are plain (zeroed: ready) */
  char *head;          /* its first bytes, for the message when the upstream answers with an error instead */
  size_t head_len, head_cap;
  int saw_done_event;
  char finish_reason[32];
  json_t *usage;
  hg_moderator *mod; /* the streamed answer's */
  hg_takedown_set *takedowns;
  char *held; /* model text from offset `released` on, not yet sent */
  size_t held_len, held_cap, released, fed;
  span_hit *pii;
  size_t npii, pii_cap;
  int blocked_output;
  /* tool calls: a streamed call is held until it is complete (the next one starts, or the stream ends), then
   * moderated; moderated calls wait for the end of the stream, so a client gets all of them or the refusal */
  tool_call open_call;
  int call_open, last_call_index;
  size_t call_bytes;
  json_t *calls_out; /* the calls as the client gets them */
  /* what the client saw, for the label and the record */
  char *visible;
  size_t visible_len, visible_cap;
  char *raw_out; /* the model's text as it came (placeholders, not values): the redacted record */
  size_t raw_len, raw_cap;
  char *calls_text; /* the tool calls' names and arguments as the client got them: the full record */
  size_t calls_text_len, calls_text_cap;
  /* the answer's last bytes, held until its record is durable (audit.durability: group): the whole answer, or the
   * stream's tail (the closing chunks and [DONE]); sse_send appends to tail while it is set */
  json_t *final_json;
  struct evbuffer *tail;
  struct event *durable_ev; /* activated by the audit writer's thread once the record is committed */
  int waiting;              /* the record is queued and the last bytes wait for it */
  atomic_int commit_ok;
  int recorded; /* the audit record is written or queued */
  /* the prompt's images (image_url parts the policy moderates), copied: read by OCR on a thread of their own
   * (ocr_pending while they are read: a client leaving meanwhile is finished when they are done), and sent to a
   * vision guard */
  char **images;
  size_t nimages;
  int ocr_pending;
  char *relay_out; /* the request for the model while its images are read */
  /* the guard model (guard_client.h): the call in flight, the prompt as it left (the guard judges answers with
   * it), and what waits for the verdict: the request body for the model, or a whole answer */
  struct {
    guard_job *job;
    char *prompt;
    size_t prompt_len;
    char *out; /* the request for the model, or the rendered whole answer */
    size_t out_len;
    json_t *calls;
    char finish[32];
    /* a stream judged sentence by sentence (guard.stream: sentence): the answer's bytes asked about and approved */
    size_t asked, ok;
    int closing, close_error, asked_end;
  } guard;
} chat_req;

static void chat_free(chat_req *c) {
  if (c->call) upstream_cancel(c->call);
  free(c->relay_out);
  guard_cancel(c->guard.job);
  free(c->guard.out);
  json_decref(c->guard.calls);
  if (c->first_byte_timer) event_free(c->first_byte_timer);
  if (c->quiet_timer) event_free(c->quiet_timer);
  if (c->body) evbuffer_free(c->body);
  if (c->mod) modpool_give(c->mod, ((live_config *)(void *)c->cfg)->policy, HG_DIR_OUTPUT, c->lex, c->takedowns);
  if (c->takedowns) hg_takedown_set_unref(c->takedowns);
  hg_lexicon_unref(c->lex);
  hg_vault_free(c->vault);
  json_decref(c->detail);
  json_decref(c->usage);
  sse_free(&c->sse);
  stream_chunk_free(&c->events);
  free(c->head);
  free(c->held);
  free(c->visible);
  free(c->raw_out);
  free(c->open_call.name);
  free(c->open_call.arguments);
  json_decref(c->calls_out);
  free(c->calls_text);
  json_decref(c->final_json);
  if (c->tail) evbuffer_free(c->tail);
  if (c->durable_ev) event_free(c->durable_ev);
  cfg_release(c->cfg);
  hg_arena_destroy(c->arena); /* c with it */
}

static int append(char **buf, size_t *len, size_t *cap, const char *s, size_t n, size_t limit) {
  /* a text cut at the limit is cut between characters: a record's text must stay UTF-8 */
  if (*len + n > limit) n = limit > *len ? utf8_prefix_len(s, n, limit - *len) : 0;
  if (*len + n + 1 > *cap) {
    size_t nc = (*len + n + 1) * 2;
    char *nb = realloc(*buf, nc);
    if (!nb) return -1;
    *buf = nb;
    *cap = nc;
  }
  memcpy(*buf + *len, s, n);
  *len += n;
  (*buf)[*len] = 0;
  return 0;
}

/* ---- the audit record ---- */

/* The answer's audit record. With wait (audit.durability: group, the answer's last bytes held in final_json or
 * tail), the record is queued with a callback and 1 is returned: the last bytes go out from on_durable. Otherwise
 * it is written now (sync: appended and synced by this thread; async: queued) and 0 is returned. */
static void on_committed(void *ctx, int ok);
static void on_durable(evutil_socket_t fd, short what, void *arg);

/* The facts of the request its record is made of (record.h). */
static record_facts facts_of(const chat_req *c) {
  return (record_facts){.actor = c->actor,
                        .route = c->chat ? "/v1/chat/completions" : "/v1/completions",
                        .verdict = c->verdict,
                        .model = c->model,
                        .response_id = c->id,
                        .stream = c->stream,
                        .upstream_status = c->upstream_status,
                        .upstream_error = c->upstream_error,
                        .finish_reason = c->finish_reason,
                        .client_gone = !c->req,
                        .input_sha256 = c->input_sha,
                        .input_text = c->input_text,
                        .visible = c->visible,
                        .visible_len = c->visible_len,
                        .raw_out = c->raw_out,
                        .calls_text = c->calls_text,
                        .calls_text_len = c->calls_text_len,
                        .retain = c->cfg->retain_text};
}

static int finish_record(chat_req *c, int wait) {
  gateway *gw = c->gw;
  c->recorded = 1;
  record_facts facts = facts_of(c);
  record_built b;
  record_build(&facts, c->detail, c->arena, &b);
  hg_error err;
  int strikes = c->moderated && gw->cfg.auth_required, waits = 0;
  strike_outcome strike;
  /* a blocked prompt is appended at once (its seq is the strike's evidence): synced before its refusal is sent */
  if (wait && gw->aw && !(strikes && c->blocked_input) &&
      (c->durable_ev || (c->durable_ev = event_new(c->w->base, -1, 0, on_durable, c))) &&
      !audit_enqueue_then(gw, &b.r, on_committed, c)) {
    waits = c->waiting = 1;
    if (strikes) record_strike(gw, c->cfg, c->user, 0, 0);
  } else if (gw->aw && !(strikes && c->blocked_input) && !audit_enqueue(gw, &b.r)) {
    /* group commit: the writer thread appends it; an allowed prompt still ends the user's run of blocked ones now */
    if (strikes) record_strike(gw, c->cfg, c->user, 0, 0);
  } else if (record_commit(gw->store, c->cfg, &b.r, c->user, strikes, c->blocked_input, hg_clock_wall_ms(), &strike,
                           &err)) {
    hg_log_write(&c->gw->log, HG_LOG_ERROR, "audit record not written: %s", err.message);
  } else {
    strike_followup(gw, c->user, &strike, b.r.seq);
  }
  record_built_free(&b);
  return waits;
}

/* Stops what could still call back into the request: the upstream call, the guard, the quiet timer. */
static void stop_sources(chat_req *c) {
  if (c->call) {
    upstream_cancel(c->call);
    c->call = NULL;
  }
  guard_cancel(c->guard.job);
  c->guard.job = NULL;
  if (c->quiet_timer) evtimer_del(c->quiet_timer);
}

/* The verdict as recorded: review and an answer's redaction raise an allow. Idempotent. */
static void settle_verdict(chat_req *c) { c->verdict = record_verdict(c->verdict, c->detail); }

static void finish(chat_req *c, int status) {
  if (c->done) return;
  c->done = 1;
  stop_sources(c);
  if (c->req && c->conn) evhttp_connection_set_closecb(c->conn, NULL, NULL);
  if (c->stream && c->started) atomic_fetch_sub(&c->gw->metrics.streams_active, 1), c->w->streams--;
  settle_verdict(c);
  if (!c->recorded) finish_record(c, 0);
  if (c->moderated)
    review_enqueue(c->gw, c->cfg, c->id, c->actor, c->chat ? "/v1/chat/completions" : "/v1/completions", c->verdict,
                   c->detail, c->upstream_status >= 200 && c->upstream_status < 300 && c->visible_len > 0);
  json_t *total = json_object_get(c->usage, "total_tokens");
  if (json_is_integer(total) && json_integer_value(total) > 0)
    admit_tokens_counted(c->gw, c->user, c->key_id, (uint64_t)json_integer_value(total));
  metrics_verdict(&c->gw->metrics, c->verdict, json_string_value(json_object_get(c->detail, "block_category")));
  double up_s = c->upstream_t0 ? (c->upstream_end ? c->upstream_end : hg_clock_mono_s()) - c->upstream_t0 : -1;
  route_finish(c->gw, &c->trace, status, c->verdict, up_s);
  c->w->active--;
  chat_free(c);
}

/* ---- the last bytes, after the record (audit.durability) ---- */

/* Sends what was held: the whole answer, or the stream's tail and its end. */
static void send_final(chat_req *c) {
  if (c->final_json) {
    if (c->req)
      send_json(c->req, 200, c->final_json);
    else
      json_decref(c->final_json);
    c->final_json = NULL;
  }
  if (c->tail) {
    struct evbuffer *tail = c->tail;
    c->tail = NULL;
    if (c->req) {
      evhttp_send_reply_chunk(c->req, tail);
      /* the connection may carry another request: its head gets the usual time again */
      if (c->conn) evhttp_connection_set_timeout(c->conn, (int)((c->gw->cfg.header_timeout_ms + 999) / 1000));
      evhttp_send_reply_end(c->req);
    }
    evbuffer_free(tail);
  }
}

/* The answer is complete and its last bytes are held (final_json or tail): the record first, then the bytes. With
 * group durability the record is queued and on_durable sends them once it is committed; with sync it is appended
 * and synced here; with async it is queued and the bytes go at once. */
static void complete(chat_req *c) {
  stop_sources(c); /* nothing may call back into the request while it waits */
  settle_verdict(c);
  int group = c->cfg->audit_durability == HG_DURABILITY_GROUP && c->req;
  if (finish_record(c, group)) return;
  send_final(c);
  finish(c, 200);
}

/* The audit writer's thread: hand over to the request's loop. */
static void on_committed(void *ctx, int ok) {
  chat_req *c = ctx;
  atomic_store(&c->commit_ok, ok);
  event_active(c->durable_ev, EV_TIMEOUT, 0); /* thread-safe: libevent's pthreads locking is on */
}

/* On the request's loop, once its record is committed: the last bytes, or, when the record could not be written,
 * none of them (a whole answer becomes a 503; a stream is cut short, so the client never takes it for complete). */
static void on_durable(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  chat_req *c = arg;
  c->waiting = 0;
  if (atomic_load(&c->commit_ok)) {
    send_final(c);
    finish(c, c->req ? 200 : 499);
    return;
  }
  json_object_set_new(c->detail, "record_failed", json_true());
  json_decref(c->final_json), c->final_json = NULL;
  if (c->tail) evbuffer_free(c->tail), c->tail = NULL;
  if (c->req && !c->started) {
    send_error(c->req, 503, "server_error", "the answer's record could not be written; it was not sent", NULL);
    finish(c, 503);
  } else if (c->req) {
    struct evhttp_connection *conn = c->conn;
    evhttp_connection_set_closecb(conn, NULL, NULL);
    c->req = NULL, c->conn = NULL;
    evhttp_connection_free(conn);
    finish(c, 503);
  } else {
    finish(c, 499);
  }
}

static void on_client_close(struct evhttp_connection *conn, void *arg) {
  (void)conn;
  chat_req *c = arg;
  struct evhttp_request *req = c->req;
  c->req = NULL;
  c->conn = NULL;
  /* libevent detaches a request still in progress from its dying connection and never frees it: it is ours now
   * (a request still attached is freed with the connection) */
  if (req && !evhttp_request_get_connection(req)) evhttp_request_free(req);
  if (c->waiting) return;     /* the audit writer still holds c: on_durable finishes it */
  if (c->ocr_pending) return; /* its images are being read: on_images_read finishes it */
  finish(c, 499);
}

/* ---- labels ---- */

static json_t *make_label(chat_req *c) {
  char *label = NULL;
  hg_error err;
  if (hg_label_make(c->cfg->content_producer, c->id, c->visible ? c->visible : "", c->visible_len, c->gw->label_sk,
                    &label, &err)) {
    hg_log_write(&c->gw->log, HG_LOG_ERROR, "label not made: %s", err.message);
    return json_null();
  }
  json_t *j = hg_json_loadb(label, strlen(label), 0, NULL);
  free(label);
  return j ? j : json_null();
}

static void add_visible(chat_req *c, const char *s, size_t n) {
  append(&c->visible, &c->visible_len, &c->visible_cap, s, n, (size_t)-1);
}

/* ---- moderation helpers ---- */

/* Every text of a request is judged by the moderator (judge.h) under the policy of the configuration the request
 * holds; what the findings are is recorded in the request's detail. */
static hg_policy *req_policy(const chat_req *c) { return ((live_config *)(void *)c->cfg)->policy; }

static judge judge_of(chat_req *c) {
  return (judge){c->cfg, c->lex, c->takedowns, c->detail, c->input_hits, c->input_pii, c->output_hits, c->arena};
}

/* Span vectors of the judge (in the request's arena): nothing to free one by one. */
static void spans_free(chat_req *c, span_hit *v) {
  judge j = judge_of(c);
  judge_spans_free(&j, v);
}

static int take_reasons(chat_req *c, hg_moderator *m, json_t *hits_log, json_t *pii_log, const char *error_key,
                        span_hit **spans, size_t *nspans, size_t *cap) {
  judge j = judge_of(c);
  return judge_take_reasons(&j, m, hits_log, pii_log, error_key, spans, nspans, cap);
}

static hg_decision moderate_scored(chat_req *c, hg_direction dir, const char *text, size_t len, span_hit **spans,
                                   size_t *nspans, float *scores, size_t *nscores) {
  judge j = judge_of(c);
  return judge_text(&j, dir, text, len, spans, nspans, scores, nscores);
}

static hg_decision moderate_whole(chat_req *c, hg_direction dir, const char *text, size_t len, span_hit **spans,
                                  size_t *nspans) {
  return moderate_scored(c, dir, text, len, spans, nspans, NULL, NULL);
}

/* Moderates one prompt text: the request's strings joined as the model reads them (prompt.c). Returns -1 when it
 * blocks; otherwise 0 with *edits (malloc-ed, sorted, not overlapping; NULL when there are none) saying what to
 * replace before the request leaves: personal data by a placeholder from the vault, other redactions by asterisks. */
static int moderate_input(chat_req *c, const char *text, size_t len, prompt_edit **edits, size_t *nedits) {
  *edits = NULL;
  *nedits = 0;
  span_hit *v;
  size_t nv;
  if (moderate_whole(c, HG_DIR_INPUT, text, len, &v, &nv) == HG_DECIDE_BLOCK) {
    spans_free(c, v);
    return -1;
  }
  if (!nv) return 0;
  prompt_edit *out = calloc(nv, sizeof *out);
  if (!out) { /* what could not be replaced must not leave */
    spans_free(c, v);
    return -1;
  }
  size_t n = 0;
  for (size_t i = 0; i < nv; i++) { /* disjoint (merge_spans) */
    span_hit *s = &v[i];
    prompt_edit *e = &out[n++];
    *e = (prompt_edit){s->start, s->end, s->type < 0, ""};
    if (s->type >= 0 && hg_vault_placeholder(c->vault, (hg_pii_type)s->type, text + s->start, s->end - s->start,
                                             e->replacement, sizeof e->replacement))
      strcpy(e->replacement, "<REDACTED>");
  }
  spans_free(c, v);
  *edits = out;
  *nedits = n;
  return 0;
}

/* The answer's text on its way out: new personal data masked, placeholders back to the user's values. */
static char *render_output(chat_req *c, const char *raw, size_t len, size_t base, const span_hit *pii, size_t npii,
                           size_t *out_len) {
  char *masked = NULL;
  size_t ml = 0, mc = 0, pos = 0;
  hg_redact_options ro;
  hg_redact_options_init(&ro);
  for (size_t i = 0; i < npii; i++) {
    if (pii[i].end <= base || pii[i].start >= base + len) continue;
    size_t s = pii[i].start < base ? 0 : pii[i].start - base, e = pii[i].end - base > len ? len : pii[i].end - base;
    if (s < pos) continue;
    append(&masked, &ml, &mc, raw + pos, s - pos, (size_t)-1);
    if (pii[i].type < 0) { /* a redacted lexicon entry or rule: one asterisk per character */
      for (size_t k = s; k < e; k++)
        if (((unsigned char)raw[k] & 0xC0) != 0x80) append(&masked, &ml, &mc, "*", 1, (size_t)-1);
      pos = e;
      continue;
    }
    char *rep;
    size_t rl;
    if (!hg_redact_value(&ro, NULL, (hg_pii_type)pii[i].type, raw + s, e - s, &rep, &rl, NULL)) {
      append(&masked, &ml, &mc, rep, rl, (size_t)-1);
      free(rep);
    }
    pos = e;
  }
  append(&masked, &ml, &mc, raw + pos, len - pos, (size_t)-1);
  if (!masked) masked = calloc(1, 1);
  char *restored = NULL;
  if (hg_vault_count(c->vault) && !hg_vault_restore(c->vault, masked, ml, &restored, out_len)) {
    free(masked);
    return restored;
  }
  *out_len = ml;
  return masked;
}

/* ---- responses ---- */

static json_t *usage_zero(void) {
  return json_pack("{s:i, s:i, s:i}", "prompt_tokens", 0, "completion_tokens", 0, "total_tokens", 0);
}

static const char *notice_sep(const hg_config *cfg) { return cfg->label_at_end ? "\n\n" : ""; }

/* The content with the explicit notice at its configured place (in the request's arena); without it when the
 * request asked for an unlabeled answer and the policy allowed it (unlabeled_request). */
static char *with_notice(const chat_req *c, const char *content, size_t len, size_t *out_len) {
  const hg_config *cfg = c->cfg;
  const char *n = c->recipient[0] ? "" : cfg->label_notice;
  size_t nl = strlen(n), sl = nl ? strlen(notice_sep(cfg)) : 0;
  char *o = hg_arena_alloc(c->arena, len + nl + 4);
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

static void set_label_header(chat_req *c, json_t *label) {
  if (!c->req || !json_is_object(label)) return;
  char *s = hg_json_dumps_arena(label, JSON_COMPACT, c->arena);
  if (s) evhttp_add_header(evhttp_request_get_output_headers(c->req), "X-AIGC-Label", s);
}

/* The over-reliance reminder (Art. 10) that opens an answer when one is due, "" otherwise. */
static void reminder_text(const chat_req *c, char *out, size_t cap) {
  out[0] = 0;
  if (!c->adm.remind_minutes) return;
    /* the configured text has at most one %d (checked when the configuration was read) */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  int n = snprintf(out, cap, c->cfg->reminder_text, (int)c->adm.remind_minutes);
#pragma GCC diagnostic pop
  if (n > 0 && (size_t)n + 2 < cap) strcat(out, "\n\n");
  atomic_fetch_add(&c->gw->metrics.reminders, 1);
  hg_error err; /* noted as given now that an answer carries it (not when the request was admitted) */
  if (hg_store_usage_reminded(c->gw->store, c->user, hg_clock_wall_ms(), &err))
    hg_log_write(&c->gw->log, HG_LOG_ERROR, "reminder not noted: %s", err.message);
  if (c->req) {
    char h[64];
    snprintf(h, sizeof h, "continuous-use; minutes=%d", (int)c->adm.remind_minutes);
    evhttp_add_header(evhttp_request_get_output_headers(c->req), "X-Hegui-Reminder", h);
  }
}

/* A whole (non-streamed) answer with the given content; calls (taken, may be NULL) holds the message's moderated
 * "tool_calls" or "function_call". */
static void reply_whole(chat_req *c, const char *content, size_t len, const char *finish_reason, json_t *usage,
                        json_t *calls) {
  size_t vl;
  char rem[sizeof c->cfg->reminder_text + 64];
  reminder_text(c, rem, sizeof rem);
  char *joined = NULL;
  if (rem[0] && (joined = hg_arena_alloc(c->arena, strlen(rem) + len + 1))) {
    memcpy(joined, rem, strlen(rem));
    memcpy(joined + strlen(rem), content, len);
    len += strlen(rem);
    content = joined;
  }
  char *v = with_notice(c, content, len, &vl);
  add_visible(c, v, vl);
  json_t *label = make_label(c);
  json_t *choice;
  if (c->chat) {
    json_t *message = json_pack("{s:s, s:s%}", "role", "assistant", "content", v, vl);
    if (message && calls) json_object_update(message, calls);
    choice =
        json_pack("{s:i, s:o, s:n, s:s}", "index", 0, "message", message, "logprobs", "finish_reason", finish_reason);
  } else
    choice = json_pack("{s:i, s:s%, s:n, s:s}", "index", 0, "text", v, vl, "logprobs", "finish_reason", finish_reason);
  json_t *resp =
      json_pack("{s:s, s:s, s:I, s:s, s:[o], s:o, s:O}", "id", c->id, "object",
                c->chat ? "chat.completion" : "text_completion", "created", (json_int_t)c->created, "model", c->model,
                "choices", choice, "usage", usage ? json_incref(usage) : usage_zero(), "aigc", label);
  set_label_header(c, label);
  json_decref(label);
  json_decref(calls);
  snprintf(c->finish_reason, sizeof c->finish_reason, "%s", finish_reason);
  c->final_json = resp;
  complete(c); /* the record first (audit.durability), then the answer */
}

/* ---- streamed answers ---- */

#define MAX_CLIENT_BACKLOG (4u << 20)

/* A client that stops reading must not make the gateway buffer an answer without end: past MAX_CLIENT_BACKLOG
 * unread bytes it is disconnected (the record says so). */
static int client_backlogged(chat_req *c) {
  struct bufferevent *bev = c->conn ? evhttp_connection_get_bufferevent(c->conn) : NULL;
  return bev && evbuffer_get_length(bufferevent_get_output(bev)) > MAX_CLIENT_BACKLOG;
}

static void sse_send(chat_req *c, json_t *obj) {
  if (!c->req) {
    json_decref(obj);
    return;
  }
  if (client_backlogged(c)) {
    json_decref(obj);
    json_object_set_new(c->detail, "client_too_slow", json_true());
    struct evhttp_connection *conn = c->conn;
    evhttp_connection_set_closecb(conn, NULL, NULL);
    c->req = NULL;
    c->conn = NULL;
    evhttp_connection_free(conn);
    return;
  }
  char *s = hg_json_dumps(obj, JSON_COMPACT);
  json_decref(obj);
  if (!s) return;
  if (c->tail) { /* the stream's last chunks wait for the record (complete) */
    evbuffer_add_printf(c->tail, "data: %s\n\n", s);
    free(s);
    return;
  }
  struct evbuffer *b = evbuffer_new();
  evbuffer_add_printf(b, "data: %s\n\n", s);
  evhttp_send_reply_chunk(c->req, b);
  c->last_sent_ms = hg_clock_mono_ms();
  evbuffer_free(b);
  free(s);
}

static json_t *chunk(chat_req *c, const char *content, size_t len, const char *finish_reason, int role) {
  json_t *choice;
  if (c->chat) {
    json_t *delta = json_object();
    if (role) json_object_set_new(delta, "role", json_string("assistant"));
    if (content) json_object_set_new(delta, "content", json_stringn(content, len));
    choice = json_pack("{s:i, s:o, s:n, s:o}", "index", 0, "delta", delta, "logprobs", "finish_reason",
                       finish_reason ? json_string(finish_reason) : json_null());
  } else {
    choice = json_pack("{s:i, s:s%, s:n, s:o}", "index", 0, "text", content ? content : "", content ? len : 0,
                       "logprobs", "finish_reason", finish_reason ? json_string(finish_reason) : json_null());
  }
  return json_pack("{s:s, s:s, s:I, s:s, s:[o]}", "id", c->id, "object",
                   c->chat ? "chat.completion.chunk" : "text_completion", "created", (json_int_t)c->created, "model",
                   c->model, "choices", choice);
}

static void stream_start(chat_req *c) {
  if (c->started || !c->req) return;
  c->started = 1;
  c->w->streams++;
  atomic_fetch_add(&c->gw->metrics.streams_active, 1);
  struct evkeyvalq *h = evhttp_request_get_output_headers(c->req);
  evhttp_add_header(h, "Content-Type", "text/event-stream; charset=utf-8");
  evhttp_add_header(h, "Cache-Control", "no-cache");
  /* the label's fields as far as they are known now; the signed label closes the stream */
  char hdr[512];
  snprintf(hdr, sizeof hdr,
           "{\"Label\":\"1\",\"ContentProducer\":\"%s\",\"ProduceID\":\"%s\",\"ReservedCode1\":\"\","
           "\"ContentPropagator\":\"%s\",\"PropagateID\":\"%s\",\"ReservedCode2\":\"\"}",
           c->cfg->content_producer, c->id, c->cfg->content_producer, c->id);
  evhttp_add_header(h, "X-AIGC-Label", hdr);
  char rem[sizeof c->cfg->reminder_text + 64];
  reminder_text(c, rem, sizeof rem); /* its header goes out with the others */
  evhttp_send_reply_start(c->req, 200, "OK");
  /* libevent's connection timeout (limits.header_timeout_ms) restarts with each write, and would cut a stream whose
   * model pauses longer than that; the keep-alive comments come well within this one, so only a client that
   * stops reading (or a gateway that stops writing) is cut by it, and the upstream's silence is judged apart */
  if (c->conn) evhttp_connection_set_timeout(c->conn, (int)(c->cfg->idle_timeout_ms / 1000) + 2);
  sse_send(c, chunk(c, c->chat ? "" : NULL, 0, NULL, 1));
  if (!c->cfg->label_at_end && !c->recipient[0]) { /* notice, then reminder: the order of a whole answer */
    char *n = with_notice(c, "", 0, &(size_t){0});
    size_t nl = n ? strlen(n) : 0;
    if (n) add_visible(c, n, nl);
    if (n) sse_send(c, chunk(c, n, nl, NULL, 0));
  }
  if (rem[0]) {
    add_visible(c, rem, strlen(rem));
    sse_send(c, chunk(c, rem, strlen(rem), NULL, 0));
  }
}

static void stream_text(chat_req *c, const char *s, size_t n) {
  if (!n) return;
  add_visible(c, s, n);
  sse_send(c, chunk(c, s, n, NULL, 0));
}

static void stream_end(chat_req *c, const char *finish_reason) {
  stream_start(c);
  /* from here the chunks are held: the notice at the end, the signed label, usage and [DONE] go out once the
   * record is durable (complete) */
  if (c->req && !c->tail) c->tail = evbuffer_new();
  if (c->cfg->label_at_end && !c->recipient[0]) {
    size_t vl;
    char *v = with_notice(c, "", 0, &vl);
    if (v) stream_text(c, v, vl);
  }
  json_t *last = chunk(c, c->chat ? NULL : "", 0, finish_reason, 0);
  json_object_set_new(last, "aigc", make_label(c));
  sse_send(c, last);
  if (c->include_usage && c->usage) {
    json_t *u = json_pack("{s:s, s:s, s:I, s:s, s:[], s:O}", "id", c->id, "object",
                          c->chat ? "chat.completion.chunk" : "text_completion", "created", (json_int_t)c->created,
                          "model", c->model, "choices", "usage", c->usage);
    sse_send(c, u);
  }
  if (c->tail) evbuffer_add_printf(c->tail, "data: [DONE]\n\n");
  snprintf(c->finish_reason, sizeof c->finish_reason, "%s", finish_reason);
  complete(c); /* the record first (audit.durability), then the tail */
}

/* ---- the rest of the answer: tool calls, and the members the upstream fills in ---- */

/* Moderates one whole text of the answer: a whole answer's content, or a tool call's name and arguments joined by a
 * line break. Returns 1 when it blocks (c->blocked_output is set and the record says why); otherwise 0 with *pii
 * (in the request's arena, sorted, NULL when empty) the spans to mask. A stream's content goes through
 * stream_content. */
static int moderate_answer_text(chat_req *c, const char *text, size_t len, span_hit **pii, size_t *npii) {
  if (moderate_whole(c, HG_DIR_OUTPUT, text, len, pii, npii) == HG_DECIDE_BLOCK) c->blocked_output = 1;
  return c->blocked_output;
}

/* The finish reasons a client gets as the upstream sent them. The field is text of the upstream's choosing, so any
 * other becomes "stop" (the record keeps what it was). */
static const char *allowed_finish_reason(chat_req *c, const char *reason) {
  static const char *const passed[] = {"stop", "length", "content_filter", "tool_calls", "function_call"};
  if (!reason) return "stop";
  for (size_t i = 0; i < sizeof passed / sizeof *passed; i++)
    if (!strcmp(reason, passed[i])) return passed[i];
  json_object_set_new(c->detail, "upstream_finish_reason",
                      json_stringn(reason, utf8_prefix_len(reason, strlen(reason), 64)));
  return "stop";
}

/* The usage a client gets and the quotas count: OpenAI's counters, by name. Any other member, or member name, would
 * be text of the upstream's choosing that no scanner reads. */
static json_t *usage_known(json_t *usage) {
  static const char *const counters[] = {"prompt_tokens", "completion_tokens", "total_tokens"};
  static const struct {
    const char *object;
    const char *counters[5];
  } details[] = {
      {"prompt_tokens_details", {"cached_tokens", "audio_tokens"}},
      {"completion_tokens_details",
       {"reasoning_tokens", "audio_tokens", "accepted_prediction_tokens", "rejected_prediction_tokens"}},
  };
  json_t *out = json_object();
  for (size_t i = 0; i < sizeof counters / sizeof *counters; i++) {
    json_t *v = json_object_get(usage, counters[i]);
    if (json_is_number(v)) json_object_set(out, counters[i], v);
  }
  for (size_t i = 0; i < sizeof details / sizeof *details; i++) {
    json_t *d = json_object_get(usage, details[i].object), *kept = json_object();
    for (size_t k = 0; d && k < 5 && details[i].counters[k]; k++) {
      json_t *v = json_object_get(d, details[i].counters[k]);
      if (json_is_number(v)) json_object_set(kept, details[i].counters[k], v);
    }
    if (json_object_size(kept))
      json_object_set_new(out, details[i].object, kept);
    else
      json_decref(kept);
  }
  return out;
}

/* Answers name the model the client asked for, which it knows already; what the upstream called it is recorded. */
static void note_upstream_model(chat_req *c, const char *m, size_t n) {
  if (!m || (n == strlen(c->model) && !memcmp(m, c->model, n)) || json_object_get(c->detail, "upstream_model")) return;
  json_object_set_new(c->detail, "upstream_model", json_stringn(m, utf8_prefix_len(m, n, 128)));
}

/* The first choice (index 0). With n > 1, or several prompts, the upstream sends more: they are not passed on. */
static json_t *choice_zero(json_t *choices) {
  for (size_t i = 0; i < json_array_size(choices); i++) {
    json_t *choice = json_array_get(choices, i), *index = json_object_get(choice, "index");
    if (json_is_object(choice) && (!index || (json_is_integer(index) && json_integer_value(index) == 0))) return choice;
  }
  return NULL;
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
static json_t *answer_call(chat_req *c, const tool_call *tc, int position) {
  size_t nl = tc->name_len, al = tc->arguments_len, tl = nl + 1 + al;
  char *t = malloc(tl + 1);
  json_t *call = NULL;
  if (!t) {
    c->blocked_output = 1;
    return NULL;
  }
  if (nl) memcpy(t, tc->name, nl);
  t[nl] = '\n';
  if (al) memcpy(t + nl + 1, tc->arguments, al);
  t[tl] = 0;
  append(&c->raw_out, &c->raw_len, &c->raw_cap, "\n", 1, MAX_AUDIT_TEXT);
  append(&c->raw_out, &c->raw_len, &c->raw_cap, t, tl, MAX_AUDIT_TEXT);
  json_t *pii_log = json_object_get(c->detail, "output_pii");
  size_t hits_from = json_array_size(c->output_hits), pii_from = json_array_size(pii_log);
  span_hit *pii;
  size_t npii;
  if (!moderate_answer_text(c, t, tl, &pii, &npii)) {
    size_t rnl = 0, ral = 0;
    char *name = render_output(c, t, nl, 0, pii, npii, &rnl);
    char *args = render_output(c, t + nl + 1, al, nl + 1, pii, npii, &ral);
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
      append(&c->calls_text, &c->calls_text_len, &c->calls_text_cap, name, rnl, MAX_AUDIT_TEXT);
      append(&c->calls_text, &c->calls_text_len, &c->calls_text_cap, " ", 1, MAX_AUDIT_TEXT);
      append(&c->calls_text, &c->calls_text_len, &c->calls_text_cap, args, ral, MAX_AUDIT_TEXT);
      append(&c->calls_text, &c->calls_text_len, &c->calls_text_cap, "\n", 1, MAX_AUDIT_TEXT);
    } else {
      c->blocked_output = 1;
      json_object_set_new(c->detail, "output_error", json_string("a tool call could not be passed on"));
    }
    free(name);
    free(args);
  }
  char member[40];
  if (tc->index < 0)
    snprintf(member, sizeof member, "function_call");
  else
    snprintf(member, sizeof member, "tool_calls[%d]", tc->index);
  mark_member(c->output_hits, hits_from, member);
  mark_member(pii_log, pii_from, member);
  spans_free(c, pii);
  free(t);
  return call;
}

/* A whole answer's calls are shaped like OpenAI's: objects whose function has a string name and string (or no)
 * arguments. */
static int call_shaped(json_t *function) {
  json_t *args = json_object_get(function, "arguments");
  return json_is_string(json_object_get(function, "name")) && (!args || json_is_null(args) || json_is_string(args));
}

static int calls_shaped(json_t *tool_calls, json_t *function_call) {
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

/* The tool calls of a whole answer (shaped: calls_shaped), each moderated: the message's {"tool_calls": [...]} or
 * {"function_call": {...}}; NULL when one blocks. */
static json_t *whole_calls(chat_req *c, json_t *tool_calls, json_t *function_call) {
  tool_call tc;
  size_t n = json_array_size(tool_calls);
  if (!n) {
    borrow_call(&tc, -1, NULL, function_call);
    json_t *call = answer_call(c, &tc, -1);
    return call ? json_pack("{s:o}", "function_call", call) : NULL;
  }
  json_t *out = json_array();
  for (size_t i = 0; i < n; i++) {
    json_t *item = json_array_get(tool_calls, i);
    borrow_call(&tc, (int)i, json_object_get(item, "id"), json_object_get(item, "function"));
    json_t *call = answer_call(c, &tc, -1);
    if (!call) {
      json_decref(out);
      return NULL;
    }
    json_array_append_new(out, call);
  }
  return json_pack("{s:o}", "tool_calls", out);
}

/* A streamed call is complete: moderated now, kept for the end of the stream. -1 when it blocks. */
static int close_open_call(chat_req *c) {
  c->call_open = 0;
  c->last_call_index = c->open_call.index;
  json_t *call = answer_call(c, &c->open_call, (int)json_array_size(c->calls_out));
  free(c->open_call.name);
  free(c->open_call.arguments);
  memset(&c->open_call, 0, sizeof c->open_call);
  if (!call) return -1;
  json_array_append_new(c->calls_out, call);
  return 0;
}

static int stream_broken(chat_req *c, const char *why) {
  snprintf(c->upstream_error, sizeof c->upstream_error, "%s", why);
  return -1;
}

/* One tool-call delta of a stream (index -1: a legacy function_call's). A call is held while its deltas come; the
 * first delta of another index completes it. Returns -1 (c->upstream_error says why) when the stream is broken. */
static int stream_call_delta(chat_req *c, long long index, json_t *id, json_t *name, json_t *arguments) {
  if (c->call_open && c->open_call.index != index && close_open_call(c)) return 0; /* blocked: the caller sees it */
  if (!c->call_open) {
    if (index <= c->last_call_index) return stream_broken(c, "upstream sent a tool call out of order");
    if (index >= MAX_TOOL_CALLS || json_array_size(c->calls_out) >= MAX_TOOL_CALLS)
      return stream_broken(c, "upstream sent more tool calls than hegui passes on");
    c->open_call.index = (int)index;
    c->call_open = 1;
  }
  if (json_is_string(id) && !c->open_call.id[0])
    snprintf(c->open_call.id, sizeof c->open_call.id, "%s", json_string_value(id));
  size_t nn = json_string_length(name), an = json_string_length(arguments);
  if (c->call_bytes + nn + an > MAX_TOOL_CALL_BYTES)
    return stream_broken(c, "upstream sent tool calls larger than hegui holds");
  c->call_bytes += nn + an;
  tool_call *tc = &c->open_call;
  if ((nn && append(&tc->name, &tc->name_len, &tc->name_cap, json_string_value(name), nn, (size_t)-1)) ||
      (an &&
       append(&tc->arguments, &tc->arguments_len, &tc->arguments_cap, json_string_value(arguments), an, (size_t)-1)))
    return stream_broken(c, "out of memory holding a tool call");
  return 0;
}

/* The tool calls and function_call of one streamed delta. -1 when the stream is broken. */
static int stream_delta_calls(chat_req *c, json_t *delta) {
  json_t *calls = json_object_get(delta, "tool_calls"), *legacy = json_object_get(delta, "function_call");
  for (size_t i = 0; i < json_array_size(calls) && !c->blocked_output; i++) {
    json_t *tc = json_array_get(calls, i), *index = json_object_get(tc, "index");
    json_t *fn = json_object_get(tc, "function");
    if (!json_is_object(tc) || (index && (!json_is_integer(index) || json_integer_value(index) < 0)))
      return stream_broken(c, "upstream sent a tool call that is not one");
    if (stream_call_delta(c, index ? json_integer_value(index) : 0, json_object_get(tc, "id"),
                          json_object_get(fn, "name"), json_object_get(fn, "arguments")))
      return -1;
  }
  if (json_is_object(legacy) && !c->blocked_output &&
      stream_call_delta(c, -1, NULL, json_object_get(legacy, "name"), json_object_get(legacy, "arguments")))
    return -1;
  return 0;
}

/* Sends the held text up to stream offset `to`, rendered. */
static void release(chat_req *c, size_t to) {
  /* a redaction is rendered whole (a mask keeps the last characters of the whole value): never cut one */
  for (size_t i = 0; i < c->npii; i++)
    if (c->pii[i].start < to && c->pii[i].end > to) to = c->pii[i].start;
  if (to <= c->released) return;
  size_t n = to - c->released, ol;
  char *out = render_output(c, c->held, n, c->released, c->pii, c->npii, &ol);
  if (out) stream_text(c, out, ol);
  free(out);
  memmove(c->held, c->held + n, c->held_len - n);
  c->held_len -= n;
  c->released = to;
  /* hits wholly released are no longer needed */
  size_t k = 0;
  for (size_t i = 0; i < c->npii; i++)
    if (c->pii[i].end > c->released) c->pii[k++] = c->pii[i];
  c->npii = k;
}

static void stream_block(chat_req *c) {
  stream_start(c);
  c->verdict = "block";
  const char *r = c->cfg->refusal;
  stream_text(c, "\n", 1);
  stream_text(c, r, strlen(r));
  stream_end(c, "content_filter");
}

/* Takes what the stream's moderator found; a block stops the answer. */
static void stream_reasons(chat_req *c) {
  if (take_reasons(c, c->mod, c->output_hits, json_object_get(c->detail, "output_pii"), "output_error", &c->pii,
                   &c->npii, &c->pii_cap) ||
      hg_moderator_decision(c->mod) == HG_DECIDE_BLOCK)
    c->blocked_output = 1;
  judge_merge_spans(c->pii, &c->npii); /* new spans start at or after what was released: nothing released is merged */
}

static hg_decision guard_reason(chat_req *c, hg_direction dir, const guard_outcome *o);

static int guard_by_sentence(const chat_req *c) {
  return guard_wanted(c->cfg, HG_DIR_OUTPUT) && !c->cfg->guard.stream_at_end;
}

/* Where the text may be released to: what the moderator holds back (and a placeholder cut at the end) stays, and
 * under a guard judging sentences, nothing past what it approved goes out. */
static size_t releasable(chat_req *c, size_t *hold_out) {
  size_t hold = hg_moderator_pending_suffix_len(c->mod);
  size_t vp = hg_vault_pending_len(c->held, c->held_len);
  if (vp > hold) hold = vp;
  if (hold > c->held_len) hold = c->held_len;
  if (hold_out) *hold_out = hold;
  size_t to = c->fed - hold;
  if (guard_by_sentence(c) && to > c->guard.ok) to = c->guard.ok;
  return to;
}

static void on_sentence_guard(void *ctx, const guard_outcome *o);
static void stream_close_guarded(chat_req *c);

/* A guard verdict on the answer up to c->guard.asked: released, or the stream stopped. */
/* may_end: the caller can take the request ending here (stream_block frees it: the caller returns at once when 1
 * comes back). Inside the upstream's data callback it cannot (the call may not be cancelled from its own
 * callback): a block only sets blocked_output there, and the stream ends with the refusal when the upstream does. */
static int sentence_verdict(chat_req *c, const guard_outcome *o, int may_end) {
  if (guard_reason(c, HG_DIR_OUTPUT, o) == HG_DECIDE_BLOCK) {
    c->blocked_output = 1;
    if (may_end && !c->guard.closing) {
      stream_block(c);
      return 1;
    }
    return 0;
  }
  c->guard.ok = c->guard.asked;
  stream_start(c);
  release(c, releasable(c, NULL));
  return 0;
}

/* Asks the guard about the sentences completed since the last question (one question in flight at a time; the
 * guard reads the whole answer so far, with the prompt). Cached verdicts are applied at once. */
static int guard_next(chat_req *c, int may_end) {
  while (guard_by_sentence(c) && !c->guard.job && !c->blocked_output && !c->done) {
    size_t se = hg_moderator_sentence_end(c->mod);
    if (se > c->raw_len) se = c->raw_len; /* the guard reads what the record keeps (MAX_AUDIT_TEXT) */
    if (se <= c->guard.asked) return 0;
    c->guard.asked = se;
    guard_outcome now;
    if (!guard_judge(c->w, c->cfg, HG_DIR_OUTPUT, c->guard.prompt ? c->guard.prompt : "", c->guard.prompt_len,
                     c->raw_out, se, NULL, 0, on_sentence_guard, c, &now, &c->guard.job))
      return 0;
    if (sentence_verdict(c, &now, may_end)) return 1;
  }
  return 0;
}

static void on_sentence_guard(void *ctx, const guard_outcome *o) {
  chat_req *c = ctx;
  c->guard.job = NULL;
  if (sentence_verdict(c, o, 1)) return; /* the stream ended (and c with it) */
  if (c->done) return;
  if (c->guard.closing)
    stream_close_guarded(c);
  else
    guard_next(c, 1);
}

/* New model text: moderate, then release what is certain. */
static void stream_content(chat_req *c, const char *s, size_t n) {
  if (!n || c->blocked_output) return;
  append(&c->raw_out, &c->raw_len, &c->raw_cap, s, n, MAX_AUDIT_TEXT);
  if (append(&c->held, &c->held_len, &c->held_cap, s, n, (size_t)-1)) {
    json_object_set_new(c->detail, "output_error", json_string("out of memory holding the answer"));
    c->blocked_output = 1; /* what cannot be held cannot be judged: fail closed */
    return;
  }
  c->fed += n;
  hg_moderator_feed(c->mod, s, n, NULL); /* a failure is a block reason: what cannot be read is not sent */
  stream_reasons(c);
  if (c->blocked_output) return;
  size_t hold;
  size_t to = releasable(c, &hold);
  atomic_fetch_add(&c->gw->metrics.holdback_bytes_sum, hold);
  atomic_fetch_add(&c->gw->metrics.stream_chunks, 1);
  unsigned long long mx = atomic_load(&c->gw->metrics.holdback_bytes_max);
  while (hold > mx && !atomic_compare_exchange_weak(&c->gw->metrics.holdback_bytes_max, &mx, hold)) {
  }
  stream_start(c);
  release(c, to);
  guard_next(c, 0); /* inside the upstream's data callback: a cached block ends the stream when the upstream does */
}

static void stream_close_rest(chat_req *c, const char *error);

/* The guard's verdict on a whole streamed answer: what was released is out; what is held waits for it. */
static void on_stream_guard(void *ctx, const guard_outcome *o) {
  chat_req *c = ctx;
  c->guard.job = NULL;
  if (guard_reason(c, HG_DIR_OUTPUT, o) == HG_DECIDE_BLOCK) c->blocked_output = 1;
  stream_close_rest(c, c->guard.close_error ? c->upstream_error : NULL);
}

/* The model's answer ended (normally or not): decide what is still held, then close. */
static void stream_close(chat_req *c, const char *error) {
  if (c->done) return;
  if (!c->blocked_output) {
    hg_moderator_finish(c->mod, NULL);
    stream_reasons(c);
  }
  if (!c->blocked_output && !error && c->call_open) close_open_call(c); /* the last call is complete */
  c->guard.closing = 1;
  c->guard.close_error = error != NULL;
  stream_close_guarded(c);
}

/* The guard's last word before the end: under guard.stream: sentence the rest of the answer (the moderator's
 * finish ended its last sentence), under end the whole answer; what is still held waits for it. */
static void stream_close_guarded(chat_req *c) {
  const char *error = c->guard.close_error ? c->upstream_error : NULL;
  if (!c->blocked_output && !error && guard_wanted(c->cfg, HG_DIR_OUTPUT)) {
    if (guard_by_sentence(c)) {
      if (c->guard.job) return; /* its verdict comes back here */
      guard_next(c, 0);         /* closing: a block is handled by stream_close_rest below */
      if (c->guard.job) return;
    } else if (!c->guard.asked_end) {
      c->guard.asked_end = 1;
      guard_outcome now;
      if (!guard_judge(c->w, c->cfg, HG_DIR_OUTPUT, c->guard.prompt ? c->guard.prompt : "", c->guard.prompt_len,
                       c->raw_out ? c->raw_out : "", c->raw_len, NULL, 0, on_stream_guard, c, &now, &c->guard.job))
        return;
      if (guard_reason(c, HG_DIR_OUTPUT, &now) == HG_DECIDE_BLOCK) c->blocked_output = 1;
    }
  }
  stream_close_rest(c, error);
}

static void stream_close_rest(chat_req *c, const char *error) {
  if (c->done) return;
  if (c->blocked_output) {
    stream_block(c);
    return;
  }
  stream_start(c);
  release(c, c->fed);
  if (error) { /* calls of a broken answer, complete or not, are not passed on */
    /* the stream had started: tell the client in OpenAI's in-stream error shape */
    c->verdict = "error";
    if (c->req)
      sse_send(c, json_pack("{s:{s:s, s:s, s:n, s:n}}", "error", "message", error, "type", "upstream_error", "param",
                            "code"));
    stream_end(c, "error");
    return;
  }
  /* the text is decided: now the calls, one delta each */
  for (size_t i = 0; i < json_array_size(c->calls_out); i++) {
    json_t *call = json_array_get(c->calls_out, i), *ch = chunk(c, NULL, 0, NULL, 0);
    json_t *delta = json_object_get(json_array_get(json_object_get(ch, "choices"), 0), "delta");
    if (json_object_get(call, "type"))
      json_object_set_new(delta, "tool_calls", json_pack("[O]", call));
    else
      json_object_set(delta, "function_call", call);
    sse_send(c, ch);
  }
  stream_end(c, c->finish_reason[0] ? c->finish_reason : "stop");
}

/* One SSE event from the model. Returns -1 when the stream must end (invalid data). */
static int stream_event(chat_req *c, const char *data, size_t len) {
  if (len == 6 && !memcmp(data, "[DONE]", 6)) {
    c->saw_done_event = 1;
    return 0;
  }
  stream_chunk *e = &c->events;
  if (stream_chunk_read(e, data, len, c->chat)) { /* the plain shape: the same fields, in the same order, no tree */
    note_upstream_model(c, e->model, e->model_len);
    if (e->text) stream_content(c, e->text, e->text_len);
    if (e->finish) {
      char fr[64]; /* stream_chunk: shorter than 64 bytes, no NUL */
      memcpy(fr, e->finish, e->finish_len);
      fr[e->finish_len] = 0;
      snprintf(c->finish_reason, sizeof c->finish_reason, "%s", allowed_finish_reason(c, fr));
    }
    return 0;
  }
  json_error_t je;
  json_t *j = hg_json_loadb(data, len, 0, &je);
  if (!j || !json_is_object(j)) {
    json_decref(j);
    return -1;
  }
  json_t *u = json_object_get(j, "usage");
  if (json_is_object(u)) {
    json_decref(c->usage);
    c->usage = usage_known(u);
  }
  note_upstream_model(c, json_string_value(json_object_get(j, "model")),
                      json_string_length(json_object_get(j, "model")));
  json_t *choice = choice_zero(json_object_get(j, "choices"));
  int broken = 0;
  if (choice) {
    json_t *delta = json_object_get(choice, "delta");
    json_t *text = c->chat ? json_object_get(delta, "content") : json_object_get(choice, "text");
    if (json_is_string(text)) stream_content(c, json_string_value(text), json_string_length(text));
    if (c->chat && !c->blocked_output) broken = stream_delta_calls(c, delta);
    json_t *fr = json_object_get(choice, "finish_reason");
    if (json_is_string(fr))
      snprintf(c->finish_reason, sizeof c->finish_reason, "%s", allowed_finish_reason(c, json_string_value(fr)));
  }
  if (broken || json_is_object(json_object_get(j, "error"))) {
    json_decref(j);
    return -1;
  }
  json_decref(j);
  return 0;
}

/* One event from the upstream; non-zero stops reading the stream. */
static int on_sse_event(void *ctx, const char *data, size_t len) {
  chat_req *c = ctx;
  int bad = stream_event(c, data, len) < 0;
  if (c->done) return 1;
  if (bad || c->blocked_output) {
    if (c->call) upstream_abort_from_data(c->call);
    if (bad && !c->upstream_error[0])
      snprintf(c->upstream_error, sizeof c->upstream_error, "upstream sent an invalid event");
    return 1;
  }
  return 0;
}

static void on_stream_done(void *ctx, CURLcode result, long status, const char *error);
static void on_whole_done(void *ctx, CURLcode result, long status, const char *error);

/* The interval of keep-alive comments: well inside upstream.idle_timeout_ms and the stream's connection timeout,
 * and short enough for proxies in front that close an idle connection after some seconds. */
static int64_t keepalive_ms(const hg_config *cfg) {
  int64_t k = cfg->idle_timeout_ms / 3;
  return k > 5000 ? 5000 : k < 100 ? 100 : k;
}

static void arm_quiet(chat_req *c, int64_t in_ms) {
  struct timeval tv = {(time_t)(in_ms / 1000), (suseconds_t)((in_ms % 1000) * 1000)};
  evtimer_add(c->quiet_timer, &tv);
}

/* The upstream has been silent a while: past upstream.idle_timeout_ms the answer is broken (and the record says so,
 * rather than blame the client); before that, a started stream gets an SSE comment, which clients ignore. */
static void on_quiet(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  chat_req *c = arg;
  if (c->done || !c->call) return;
  int64_t now = hg_clock_mono_ms(), silent = now - c->last_upstream_ms;
  if (silent >= (int64_t)c->cfg->idle_timeout_ms) {
    snprintf(c->upstream_error, sizeof c->upstream_error, "upstream idle timeout: nothing for %lld ms",
             (long long)silent);
    up_call *call = c->call;
    c->call = NULL;
    upstream_cancel(call);
    if (c->stream)
      on_stream_done(c, CURLE_OPERATION_TIMEDOUT, 0, c->upstream_error);
    else
      on_whole_done(c, CURLE_OPERATION_TIMEDOUT, 0, c->upstream_error);
    return;
  }
  int64_t every = keepalive_ms(c->cfg);
  if (c->stream && c->started && c->req && now - c->last_sent_ms >= every) {
    struct evbuffer *b = evbuffer_new();
    if (b) {
      evbuffer_add(b, ": keep-alive\n\n", 14);
      evhttp_send_reply_chunk(c->req, b);
      evbuffer_free(b);
      c->last_sent_ms = now;
    }
  }
  /* next: whichever comes first, the idle deadline or the next comment due */
  int64_t next = (int64_t)c->cfg->idle_timeout_ms - silent, due = c->last_sent_ms + every - now;
  if (c->stream && c->started && due < next) next = due;
  arm_quiet(c, next > 0 ? next : 1);
}

/* Every byte from the upstream restarts its silence; the first starts the watch. */
static void upstream_heard(chat_req *c) {
  c->last_upstream_ms = hg_clock_mono_ms();
  if (!c->quiet_timer && (c->quiet_timer = evtimer_new(c->w->base, on_quiet, c))) arm_quiet(c, keepalive_ms(c->cfg));
}

static void on_stream_data(void *ctx, const char *data, size_t len) {
  chat_req *c = ctx;
  if (!c->req && c->started && c->call) { /* the client was dropped for not reading: stop the model too */
    upstream_abort_from_data(c->call);
    return;
  }
  c->got_bytes = 1;
  if (c->first_byte_timer) evtimer_del(c->first_byte_timer);
  if (c->done || c->blocked_output) return;
  upstream_heard(c);
  if (c->head_len < MAX_ERROR_BODY) {
    size_t take = len < MAX_ERROR_BODY - c->head_len ? len : MAX_ERROR_BODY - c->head_len;
    append(&c->head, &c->head_len, &c->head_cap, data, take, MAX_ERROR_BODY);
  }
  if (sse_feed(&c->sse, data, len, on_sse_event, c) < 0 && !c->done) {
    if (c->call) upstream_abort_from_data(c->call);
    snprintf(c->upstream_error, sizeof c->upstream_error, "upstream sent an event over 16 MiB");
  }
}

static void on_stream_done(void *ctx, CURLcode result, long status, const char *error) {
  chat_req *c = ctx;
  c->call = NULL;
  c->upstream_end = hg_clock_mono_s();
  c->upstream_status = status;
  if (c->done) return;
  if (c->blocked_output) {
    stream_close(c, NULL);
    return;
  }
  if (!c->started && (result != CURLE_OK || status != 200)) {
    /* nothing was sent yet: a plain OpenAI error */
    atomic_fetch_add(&c->gw->metrics.upstream_errors, 1);
    c->verdict = "error";
    char msg[512];
    if (result != CURLE_OK && c->upstream_error[0]) /* stopped by hegui: it knows why */
      snprintf(msg, sizeof msg, "%s", c->upstream_error);
    else if (result != CURLE_OK)
      snprintf(msg, sizeof msg, "upstream unavailable: %s", error);
    else {
      json_t *j = hg_json_loadb(c->head ? c->head : "", c->head_len, 0, NULL);
      const char *m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
      snprintf(msg, sizeof msg, "upstream returned HTTP %ld%s%s", status, m ? ": " : "", m ? m : "");
      json_decref(j);
    }
    snprintf(c->upstream_error, sizeof c->upstream_error, "%.500s", msg);
    int code = status == 429 ? 429 : result == CURLE_OPERATION_TIMEDOUT ? 504 : 502;
    if (c->req) send_error(c->req, code, "upstream_error", msg, NULL);
    finish(c, code);
    return;
  }
  if (result != CURLE_OK || !c->saw_done_event || c->upstream_error[0]) {
    atomic_fetch_add(&c->gw->metrics.upstream_errors, 1);
    if (!c->upstream_error[0])
      snprintf(c->upstream_error, sizeof c->upstream_error, "upstream stream ended early: %s",
               result != CURLE_OK ? error : "no [DONE]");
    stream_close(c, c->upstream_error);
    return;
  }
  stream_close(c, NULL);
}

/* ---- whole answers ---- */

static void on_whole_data(void *ctx, const char *data, size_t len) {
  chat_req *c = ctx;
  c->got_bytes = 1;
  if (c->first_byte_timer) evtimer_del(c->first_byte_timer);
  upstream_heard(c);
  if (evbuffer_get_length(c->body) + len > MAX_UPSTREAM_BODY) {
    snprintf(c->upstream_error, sizeof c->upstream_error, "upstream answer larger than %u bytes", MAX_UPSTREAM_BODY);
    upstream_abort_from_data(c->call);
    return;
  }
  evbuffer_add(c->body, data, len);
}

/* The guard's verdict on a whole answer: the refusal, or the answer that waited. */
static void on_whole_guard(void *ctx, const guard_outcome *o) {
  chat_req *c = ctx;
  c->guard.job = NULL;
  json_t *calls = c->guard.calls;
  c->guard.calls = NULL;
  if (guard_reason(c, HG_DIR_OUTPUT, o) == HG_DECIDE_BLOCK) {
    c->blocked_output = 1;
    c->verdict = "block";
    json_decref(calls);
    reply_whole(c, c->cfg->refusal, strlen(c->cfg->refusal), "content_filter", c->usage, NULL);
  } else {
    reply_whole(c, c->guard.out ? c->guard.out : "", c->guard.out ? c->guard.out_len : 0, c->guard.finish, c->usage,
                calls);
  }
}

static void on_whole_done(void *ctx, CURLcode result, long status, const char *error) {
  chat_req *c = ctx;
  c->call = NULL;
  c->upstream_end = hg_clock_mono_s();
  c->upstream_status = status;
  if (c->done) return;
  size_t len = evbuffer_get_length(c->body);
  const char *body = (const char *)evbuffer_pullup(c->body, -1);
  json_t *j = result == CURLE_OK ? hg_json_loadb(body ? body : "", len, 0, NULL) : NULL;
  json_t *choice = choice_zero(json_object_get(j, "choices"));
  json_t *message = c->chat ? json_object_get(choice, "message") : NULL;
  json_t *text = c->chat ? json_object_get(message, "content") : json_object_get(choice, "text");
  json_t *tool_calls = c->chat ? json_object_get(message, "tool_calls") : NULL;
  json_t *function_call = c->chat ? json_object_get(message, "function_call") : NULL;
  int has_calls = json_array_size(tool_calls) > 0 || json_is_object(function_call);
  /* the content of an answer that calls tools may be null */
  int answered = (json_is_string(text) || (has_calls && (!text || json_is_null(text)))) &&
                 (!has_calls || calls_shaped(tool_calls, function_call));
  if (result != CURLE_OK || status != 200 || !answered) {
    atomic_fetch_add(&c->gw->metrics.upstream_errors, 1);
    c->verdict = "error";
    char msg[512];
    const char *m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    if (c->upstream_error[0])
      snprintf(msg, sizeof msg, "%s", c->upstream_error);
    else if (result != CURLE_OK)
      snprintf(msg, sizeof msg, "upstream unavailable: %s", error);
    else if (status != 200)
      snprintf(msg, sizeof msg, "upstream returned HTTP %ld%s%s", status, m ? ": " : "", m ? m : "");
    else
      snprintf(msg, sizeof msg, "upstream sent an answer that is not an OpenAI completion");
    snprintf(c->upstream_error, sizeof c->upstream_error, "%.500s", msg);
    int code = status == 429 ? 429 : result == CURLE_OPERATION_TIMEDOUT ? 504 : 502;
    if (c->req) send_error(c->req, code, "upstream_error", msg, NULL);
    json_decref(j);
    finish(c, code);
    return;
  }
  note_upstream_model(c, json_string_value(json_object_get(j, "model")),
                      json_string_length(json_object_get(j, "model")));
  json_t *usage = json_object_get(j, "usage");
  if (json_is_object(usage)) {
    json_decref(c->usage);
    c->usage = usage_known(usage); /* counted against token quotas when the request ends */
  }
  const char *t = json_is_string(text) ? json_string_value(text) : "";
  size_t tl = json_string_length(text);
  append(&c->raw_out, &c->raw_len, &c->raw_cap, t, tl, MAX_AUDIT_TEXT);
  span_hit *pii;
  size_t npii;
  json_t *calls = NULL; /* the same verdict as a stream: the content, then each call, each as one text */
  if (!moderate_answer_text(c, t, tl, &pii, &npii) && has_calls) calls = whole_calls(c, tool_calls, function_call);
  const char *fr = allowed_finish_reason(c, json_string_value(json_object_get(choice, "finish_reason")));
  if (c->blocked_output) {
    c->verdict = "block";
    json_decref(calls);
    reply_whole(c, c->cfg->refusal, strlen(c->cfg->refusal), "content_filter", c->usage, NULL);
  } else if (guard_wanted(c->cfg, HG_DIR_OUTPUT)) {
    /* the answer waits for the guard's verdict on the model's text (placeholders, not personal data) */
    c->guard.out = render_output(c, t, tl, 0, pii, npii, &c->guard.out_len);
    c->guard.calls = calls;
    snprintf(c->guard.finish, sizeof c->guard.finish, "%s", fr ? fr : "stop");
    guard_outcome now;
    if (guard_judge(c->w, c->cfg, HG_DIR_OUTPUT, c->guard.prompt ? c->guard.prompt : "", c->guard.prompt_len, t, tl,
                    NULL, 0, on_whole_guard, c, &now, &c->guard.job))
      on_whole_guard(c, &now);
  } else {
    size_t ol;
    char *out = render_output(c, t, tl, 0, pii, npii, &ol);
    reply_whole(c, out ? out : "", out ? ol : 0, fr, c->usage, calls);
    free(out);
  }
  /* pii is in the request's arena (c may be finished by now, its arena with it) */
  json_decref(j);
}

static void on_first_byte_timeout(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  chat_req *c = arg;
  if (c->got_bytes || c->done) return;
  snprintf(c->upstream_error, sizeof c->upstream_error, "upstream sent nothing within %u ms",
           c->cfg->first_byte_timeout_ms);
  up_call *call = c->call;
  c->call = NULL;
  upstream_cancel(call);
  if (c->stream)
    on_stream_done(c, CURLE_OPERATION_TIMEDOUT, 0, c->upstream_error);
  else
    on_whole_done(c, CURLE_OPERATION_TIMEDOUT, 0, c->upstream_error);
}

/* ---- the request ---- */

/* Adds to each hit logged from index `from` on the request member it fell in. */
static void name_members(json_t *log, size_t from, const prompt_text *pt) {
  for (size_t i = from; i < json_array_size(log); i++) {
    json_t *hit = json_array_get(log, i);
    json_int_t start = json_integer_value(json_object_get(hit, "start"));
    json_object_set_new(hit, "member", json_string(prompt_member(pt, (size_t)start)));
  }
}

/* The prompt's one way through moderation: the strings of the request that the policy selects (prompt.c), joined
 * as the model reads them, go through moderate_input as one text; its edits go back onto the strings they fall in.
 * The record keeps the joined text as it leaves. Returns -1 when the prompt is blocked. */
/* A refused prompt's text is kept in its record as the retention rules keep every other text (audit.retain_text:
 * redacted = personal data replaced by the request's placeholders, full, or none), so that a reviewer hearing an
 * appeal sees what was written. */
static void blocked_input_text(chat_req *c, const prompt_text *pt) {
  if (c->cfg->retain_text == HG_RETAIN_NONE || !pt->joined) return;
  char *kept = NULL;
  size_t kl = 0;
  if (c->cfg->retain_text == HG_RETAIN_FULL) {
    kept = strndup(pt->joined, pt->joined_len);
    kl = pt->joined_len;
  } else {
    hg_pii_options detect;
    hg_pii_options_init(&detect);
    detect.types = c->cfg->pii_types;
    hg_redact_options ro;
    hg_redact_options_init(&ro);
    ro.op = HG_REDACT_PLACEHOLDER;
    size_t count;
    if (hg_pii_redact(&detect, &ro, c->vault, pt->joined, pt->joined_len, &kept, &kl, &count, NULL)) kept = NULL;
  }
  if (!kept) return; /* out of memory: the record goes without the text rather than with it unredacted */
  c->input_text = hg_arena_memdup0(c->arena, kept, utf8_prefix_len(kept, kl, MAX_AUDIT_TEXT));
  free(kept);
}

static int moderate_request(chat_req *c, prompt_text *pt, int *changed) {
  if (prompt_join(pt, c->cfg->input_roles, c->cfg->input_max_turns)) return -1; /* unread text does not leave */
  size_t hits_from = json_array_size(c->input_hits), pii_from = json_array_size(c->input_pii);
  prompt_edit *edits;
  size_t nedits;
  int r = moderate_input(c, pt->joined, pt->joined_len, &edits, &nedits);
  name_members(c->input_hits, hits_from, pt);
  name_members(c->input_pii, pii_from, pt);
  if (!r && nedits) {
    if (prompt_apply(pt, edits, nedits))
      r = -1;
    else
      *changed = 1;
  }
  free(edits);
  if (r) {
    blocked_input_text(c, pt);
    return -1;
  }
  size_t keep = utf8_prefix_len(pt->joined, pt->joined_len, MAX_AUDIT_TEXT);
  c->input_text = hg_arena_memdup0(c->arena, pt->joined, keep);
  return 0;
}

/* A refused prompt: the refusal (代答) instead of an answer; unless a detector failed (not the user's doing), the
 * first step of the strike ladder: the user is told that repeated attempts suspend the account. */
static void refuse_prompt(chat_req *c) {
  c->verdict = "block";
  const char *why = json_string_value(json_object_get(c->detail, "block_category"));
  int engine = why && !strcmp(why, "error");
  c->blocked_input = !engine;
  if (engine) c->moderated = 0;
  char r[sizeof c->cfg->refusal + 400], tail[300] = "";
  int64_t until = 0;
  /* the request that trips the strike ladder says so: the user learns why the next one is refused */
  hg_standing to = !engine && c->moderated && c->gw->cfg.auth_required
                       ? strike_would_move(c->gw, c->cfg, c->user, &until)
                       : HG_STANDING_ACTIVE;
  if (to == HG_STANDING_TERMINATED) {
    snprintf(tail, sizeof tail,
             "\n（本次输入违规，账号已被终止使用。This input was refused again; the account is now "
             "terminated.）");
  } else if (to == HG_STANDING_SUSPENDED) {
    time_t t = (time_t)(until / 1000);
    struct tm tm;
    char when[40] = "";
    if (gmtime_r(&t, &tm)) strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(tail, sizeof tail,
             "\n（本次输入违规，账号已被暂停使用至 %s。This input was refused again; the account is now "
             "suspended until %s.）",
             when, when);
  }
  if (to != HG_STANDING_ACTIVE) json_object_set_new(c->detail, "ladder", json_string(hg_standing_name(to)));
  snprintf(r, sizeof r, "%s%s", c->cfg->refusal,
           engine    ? ""
           : tail[0] ? tail
                     : "\n（提示：多次输入违规内容将导致账号被暂停使用。）");
  if (c->stream) {
    stream_start(c);
    stream_text(c, r, strlen(r));
    stream_end(c, "content_filter");
  } else {
    reply_whole(c, r, strlen(r), "content_filter", NULL, NULL);
  }
}

/* The request goes to the model (out: its body, freed here). */
static void start_upstream(chat_req *c, char *out) {
  worker *w = c->w;
  gateway *gw = c->gw;
  up_handlers h;
  if (c->stream) {
    if (modpool_take(req_policy(c), HG_DIR_OUTPUT, c->lex, c->takedowns, &c->mod, NULL)) c->mod = NULL;
    if (c->mod && guard_by_sentence(c) && hg_moderator_track_sentences(c->mod)) {
      modpool_give(c->mod, req_policy(c), HG_DIR_OUTPUT, c->lex, c->takedowns);
      c->mod = NULL;
    }
    h = (up_handlers){on_stream_data, on_stream_done, c};
  } else {
    c->body = evbuffer_new();
    h = (up_handlers){on_whole_data, on_whole_done, c};
  }
  c->upstream_t0 = hg_clock_mono_s();
  if (out && (!c->stream || c->mod) && (c->stream || c->body)) /* an answer that cannot be judged is not fetched */
    c->call = upstream_start(w->up, "POST", c->chat ? "/v1/chat/completions" : "/v1/completions", out, strlen(out), &h);
  free(out);
  if (!c->call) {
    c->verdict = "error";
    snprintf(c->upstream_error, sizeof c->upstream_error, "could not start the upstream request");
    if (c->req) send_error(c->req, 502, "upstream_error", c->upstream_error, NULL);
    finish(c, 502);
    return;
  }
  c->first_byte_timer = evtimer_new(w->base, on_first_byte_timeout, c);
  struct timeval tv = {gw->cfg.first_byte_timeout_ms / 1000, (gw->cfg.first_byte_timeout_ms % 1000) * 1000};
  evtimer_add(c->first_byte_timer, &tv);
}

/* The guard's verdict as a reason of the policy (hg_policy_effect, like every detector's): listed with the
 * request's findings and in the record; returns its effect. A guard that could not judge follows guard.on_error:
 * the record says why either way, and a block for it counts no strike (it is not the user's doing). */
static hg_decision guard_reason(chat_req *c, hg_direction dir, const guard_outcome *o) {
  judge j = judge_of(c);
  return judge_guard(&j, dir, o);
}

/* Article 19: bulk near-duplicate prompts by one user (a content farm, hype, spam) are a strike once there are
 * strikes.near_duplicates_per_hour of them in an hour (abuse.h); the record is the evidence. Keyless gateways
 * (auth off) count nothing: there is no user. */
static void near_duplicates(chat_req *c, const prompt_text *pt) {
  const hg_config *cfg = c->cfg;
  if (!cfg->near_dups_per_hour || !c->gw->dups || !c->gw->cfg.auth_required || !pt->joined) return;
  unsigned similar = dup_note(c->gw->dups, c->user, dup_fingerprint(pt->joined, pt->joined_len), hg_clock_wall_ms(),
                              cfg->near_dup_bits);
  if (similar < cfg->near_dups_per_hour) return;
  hg_audit_record r = {0};
  r.actor = c->actor;
  r.route = "abuse/near-duplicates";
  r.verdict = "strike";
  json_t *d =
      json_pack("{s:I, s:I, s:I, s:s}", "similar_in_hour", (json_int_t)similar, "threshold",
                (json_int_t)cfg->near_dups_per_hour, "bits", (json_int_t)cfg->near_dup_bits, "response_id", c->id);
  char *ds = hg_json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
  r.detail_json = ds;
  hg_error err;
  if (!hg_store_audit_append(c->gw->store, &r, &err)) record_strike(c->gw, cfg, c->user, 1, r.seq);
  free(ds);
  json_decref(d);
  json_object_set_new(c->detail, "near_duplicates", json_integer(similar));
}

/* Article 19: a prompt the lexicon, rules or classifier place in one of strikes.categories (default malware, fraud,
 * spam) is a strike even when the policy lets it through for review; blocked prompts strike anyway. The guard's
 * verdicts come later (on_input_guard) and go through the same function. */
static void category_strikes(chat_req *c) {
  const hg_config *cfg = c->cfg;
  if (!cfg->strike_categories || !c->gw->cfg.auth_required) return;
  const char *hit = NULL;
  for (size_t i = 0; i < json_array_size(c->input_hits) && !hit; i++) {
    const char *code = json_string_value(json_object_get(json_array_get(c->input_hits, i), "category"));
    hg_category cat;
    if (code && !hg_category_parse(code, strlen(code), &cat) && ((cfg->strike_categories >> cat) & 1u)) hit = code;
  }
  if (!hit || json_object_get(c->detail, "category_strike")) return;
  hg_audit_record r = {0};
  r.actor = c->actor;
  r.route = "abuse/category";
  r.verdict = "strike";
  json_t *d = json_pack("{s:s, s:s}", "category", hit, "response_id", c->id);
  char *ds = hg_json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
  r.detail_json = ds;
  hg_error err;
  if (!hg_store_audit_append(c->gw->store, &r, &err)) record_strike(c->gw, cfg, c->user, 1, r.seq);
  free(ds);
  json_decref(d);
  json_object_set_new(c->detail, "category_strike", json_string(hit));
}

/* The URLs of the image parts in the messages the policy moderates (policy.input.roles, the last max_turns), for a
 * vision guard; at most cap (the caller refuses more). The strings belong to body. */
static size_t prompt_images(const chat_req *c, json_t *body, const char **out, size_t cap) {
  json_t *messages = json_object_get(body, "messages");
  size_t n = json_array_size(messages), from = 0, count = 0;
  if (c->cfg->input_max_turns && n > c->cfg->input_max_turns) from = n - c->cfg->input_max_turns;
  for (size_t i = from; i < n && count < cap; i++) {
    json_t *m = json_array_get(messages, i);
    const char *role = json_string_value(json_object_get(m, "role"));
    int bit = !role                                                   ? -1
              : !strcmp(role, "user")                                 ? 0
              : !strcmp(role, "system") || !strcmp(role, "developer") ? 1
              : !strcmp(role, "assistant")                            ? 2
              : !strcmp(role, "tool") || !strcmp(role, "function")    ? 3
                                                                      : -1;
    if (bit < 0 || !((c->cfg->input_roles >> bit) & 1)) continue;
    json_t *content = json_object_get(m, "content");
    for (size_t k = 0; k < json_array_size(content) && count < cap; k++) {
      json_t *part = json_array_get(content, k);
      const char *type = json_string_value(json_object_get(part, "type"));
      const char *url = json_string_value(json_object_get(json_object_get(part, "image_url"), "url"));
      if (type && !strcmp(type, "image_url") && url) out[count++] = url;
    }
  }
  return count;
}

/* The guard's verdict on the prompt: refused, or on to the model. */
static void on_input_guard(void *ctx, const guard_outcome *o) {
  chat_req *c = ctx;
  c->guard.job = NULL;
  char *out = c->guard.out;
  c->guard.out = NULL;
  if (guard_reason(c, HG_DIR_INPUT, o) == HG_DECIDE_BLOCK) {
    free(out);
    refuse_prompt(c);
    return;
  }
  category_strikes(c); /* a guard's category among strikes.categories, let through for review */
  start_upstream(c, out);
}

static void make_id(chat_req *c) {
  unsigned char r[12];
  randombytes_buf(r, sizeof r);
  char hex[25];
  sodium_bin2hex(hex, sizeof hex, r, sizeof r);
  snprintf(c->id, sizeof c->id, "%s-hg%s", c->chat ? "chatcmpl" : "cmpl", hex);
}

/* POST /v1/chat/completions and /v1/completions (ROUTE_ASYNC: the answer comes from the upstream; every exit
 * records its metrics) */
/* ---- the chat request, stage by stage ----
 *
 * POST /v1/chat/completions and /v1/completions run these stages in order; each either lets the request go on
 * (returns 0) or answers it and returns the status it sent, which handle_completion counts in the metrics — the
 * one exit of a refused request:
 *   admission   the user's standing, real name, minors' hours and limits, the quota (admit.c)
 *   parsing     the body: model, messages or prompt, every string the model reads (prompt.c), a stream slot, the
 *               use counted
 *   opening     the request's state (chat_req): configuration, lexicon and takedowns held to the end
 *   moderation  the prompt through the policy's moderator, near-duplicates and category strikes (abuse.c); a
 *               blocked prompt is refused here with its record
 *   relay       the guard model on the prompt when configured, then the upstream (the answer streamed or whole)
 * The answer's stages follow from the upstream's callbacks: moderation of the answer, labels (make_label), and
 * the record (complete: the audit record durable before the last byte, then strikes, usage, metrics in finish). */

typedef struct chat_input {
  hg_arena *arena;     /* the request's, from parsing on: the chat_req's once it is opened */
  char recipient[128]; /* X-Hegui-Recipient, when the answer goes out without its explicit label; "" otherwise */
  json_t *body;        /* the request body */
  prompt_text pt;      /* every string the model reads */
  admission adm;       /* what admission found */
  const char *raw;     /* the body's bytes, for its digest */
  size_t raw_len;
} chat_input;

/* Frees what parsing made, the arena too unless the chat_req took it. */
static void input_free(chat_input *in) {
  prompt_free(&in->pt);
  json_decref(in->body);
  in->body = NULL;
  hg_arena_destroy(in->arena);
  in->arena = NULL;
}

static int stage_admit(route_req *rq, chat_input *in) {
  return admit_request_http(rq->gw, rq->req, &rq->key, &in->adm);
}

/* Labeling Measures: content handed out without its explicit label only on the user's request, where the policy
 * allows it (labels.unlabeled_on_request), and with a record of who received it: X-Hegui-Explicit-Label: omit and
 * X-Hegui-Recipient: WHO. The implicit label (the signed aigc object) stays whatever is asked. 0, or the status
 * sent. */
int unlabeled_request(route_req *rq, char recipient[128]) {
  struct evkeyvalq *h = evhttp_request_get_input_headers(rq->req);
  const char *ask = evhttp_find_header(h, "X-Hegui-Explicit-Label"), *who = evhttp_find_header(h, "X-Hegui-Recipient");
  if (!ask && !who) return 0;
  if (!ask || strcmp(ask, "omit")) {
    send_error_param(rq->req, 400, "invalid_request_error",
                     "X-Hegui-Explicit-Label takes the value omit, with X-Hegui-Recipient naming who receives the "
                     "content",
                     "X-Hegui-Explicit-Label", NULL);
    return 400;
  }
  if (!live_cfg(rq->gw)->unlabeled_on_request) {
    send_error(rq->req, 403, "permission_error",
               "this service hands out answers only with their explicit label (labels.unlabeled_on_request is off)",
               "unlabeled_not_allowed");
    return 403;
  }
  size_t n = who ? strlen(who) : 0, bad;
  int printable = n > 0 && n < 128 && !hg_utf8_validate(who, n, &bad);
  for (size_t i = 0; printable && i < n; i++)
    printable = (unsigned char)who[i] >= 0x20 && who[i] != 0x7f;
  if (!printable) {
    send_error_param(rq->req, 400, "invalid_request_error",
                     "X-Hegui-Recipient names who receives the content without its explicit label: 1-127 bytes of "
                     "UTF-8 without control characters (it is recorded)",
                     "X-Hegui-Recipient", NULL);
    return 400;
  }
  memcpy(recipient, who, n + 1);
  return 0;
}

static int stage_parse(route_req *rq, int chat, chat_input *in) {
  struct evhttp_request *req = rq->req;
  int refused = unlabeled_request(rq, in->recipient);
  if (refused) return refused;
  if (!(in->arena = hg_arena_new(CHAT_ARENA_CHUNK, 0))) {
    send_error(req, 500, "server_error", "out of memory", NULL);
    return 500;
  }
  struct evbuffer *buf = evhttp_request_get_input_buffer(req);
  in->raw_len = evbuffer_get_length(buf);
  in->raw = (const char *)evbuffer_pullup(buf, -1);
  json_error_t je;
  json_t *body = in->body = hg_json_loadb(in->raw ? in->raw : "", in->raw_len, 0, &je);
  /* the body's shape and every string the model reads (prompt.c, testable without HTTP), or a 400 naming why */
  int shape = prompt_parse(body, &je, chat, in->arena, &in->pt);
  if (shape == PROMPT_REFUSED) {
    send_error_param(req, 400, "invalid_request_error", in->pt.message, in->pt.param[0] ? in->pt.param : NULL,
                     in->pt.code[0] ? in->pt.code : NULL);
    return 400;
  }
  if (shape) {
    send_error(req, 500, "server_error", "out of memory", NULL);
    return 500;
  }
  if (json_is_true(json_object_get(body, "stream")) && rq->w->streams >= (int)rq->gw->cfg.max_streams) {
    send_error(req, 429, "rate_limit_exceeded", "too many streamed answers in progress; try again shortly", NULL);
    return 429;
  }
  /* a valid request counts as use (minors' time, reminders) */
  return admit_count_http(rq->gw, req, &rq->key, &in->adm);
}

/* The request's state, in its arena (taken from in: freed with c). */
static chat_req *stage_open(route_req *rq, int chat, chat_input *in) {
  worker *w = rq->w;
  gateway *gw = rq->gw;
  chat_req *c = hg_arena_calloc(in->arena, 1, sizeof *c);
  char *model = hg_arena_strdup(in->arena, json_string_value(json_object_get(in->body, "model")));
  if (!c || !model || hg_vault_new(&c->vault)) {
    send_error(rq->req, 500, "server_error", "out of memory", NULL);
    return NULL;
  }
  c->arena = in->arena;
  c->model = model;
  w->active++;
  c->w = w;
  c->gw = gw;
  const hg_config *cfg = c->cfg = cfg_acquire(gw); /* held to the end of the request, however long it streams */
  c->req = rq->req;
  c->conn = evhttp_request_get_connection(rq->req);
  c->chat = chat;
  c->route = chat ? R_CHAT : R_COMPLETIONS;
  c->t0 = rq->t0;
  c->created = (long long)(hg_clock_wall_ms() / 1000); /* the test clock too: every time of hegui is one clock */
  c->verdict = "allow";
  c->lex = hg_lexicon_slot_acquire(gw->lexicon);
  c->detail = json_object();
  c->input_hits = json_array();
  c->input_pii = json_array();
  c->output_hits = json_array();
  c->calls_out = json_array();
  json_object_set_new(c->detail, "input_hits", c->input_hits);
  json_object_set_new(c->detail, "input_pii", c->input_pii);
  json_object_set_new(c->detail, "output_hits", c->output_hits);
  json_object_set_new(c->detail, "output_pii", json_array());
  json_object_set_new(c->detail, "profile", json_string(hg_profile_name(cfg->profile)));
  if (in->adm.minor) json_object_set_new(c->detail, "minor", json_true());
  if (in->recipient[0]) { /* the record of who received content without its explicit label (kept like every record) */
    memcpy(c->recipient, in->recipient, sizeof c->recipient);
    json_object_set_new(c->detail, "explicit_label", json_string("omitted"));
    json_object_set_new(c->detail, "recipient", json_string(c->recipient));
    evhttp_add_header(evhttp_request_get_output_headers(rq->req), "X-Hegui-Explicit-Label", "omitted");
  }
  if (in->adm.remind_minutes) json_object_set_new(c->detail, "reminder_minutes", json_integer(in->adm.remind_minutes));
  c->adm = in->adm;
  pseudonym(gw, rq->key.user, c->actor);
  snprintf(c->user, sizeof c->user, "%s", rq->key.user);
  c->key_id = rq->key.key_id;
  route_trace_of(rq, &c->trace);
  c->moderated = 1;
  c->takedowns = acquire_takedowns(gw);
  sha256_hex(in->raw ? in->raw : "", in->raw_len, c->input_sha);
  make_id(c);
  c->last_call_index = -2; /* below every index, the legacy function_call's -1 included */
  c->stream = json_is_true(json_object_get(in->body, "stream"));
  c->include_usage = json_is_true(json_object_get(json_object_get(in->body, "stream_options"), "include_usage"));
  if (c->conn) evhttp_connection_set_closecb(c->conn, on_client_close, c);
  return c;
}

/* 1 when the prompt was refused (the refusal and its record are sent; c is finished) */
static int stage_moderate(chat_req *c, chat_input *in) {
  const hg_config *cfg = c->cfg;
  int changed = 0;
  int blocked = moderate_request(c, &in->pt, &changed);
  if (!blocked && (guard_wanted(cfg, HG_DIR_INPUT) || guard_wanted(cfg, HG_DIR_OUTPUT))) {
    /* the guard reads the prompt as it leaves (redactions applied), for prompts and for the answers to them */
    c->guard.prompt = hg_arena_memdup0(c->arena, in->pt.joined ? in->pt.joined : "", in->pt.joined_len);
    if (c->guard.prompt) c->guard.prompt_len = in->pt.joined_len;
  }
  if (!blocked) near_duplicates(c, &in->pt);
  if (!blocked) category_strikes(c);
  if (blocked) {
    refuse_prompt(c);
    return 1;
  }
  if (changed) c->verdict = "redact";
  return 0;
}

/* The guard model when configured, then the upstream (out: the request for the model, taken). */
static void relay_on(chat_req *c, char *out) {
  const hg_config *cfg = c->cfg;
  if (guard_wanted(cfg, HG_DIR_INPUT)) {
    c->guard.out = out;
    guard_outcome now;
    size_t nimages = cfg->guard.images ? c->nimages : 0;
    int at_once = guard_judge(c->w, cfg, HG_DIR_INPUT, c->guard.prompt ? c->guard.prompt : "", c->guard.prompt_len,
                              NULL, 0, (const char *const *)c->images, nimages, on_input_guard, c, &now, &c->guard.job);
    if (at_once) on_input_guard(c, &now);
    return;
  }
  start_upstream(c, out);
}

/* ---- the prompt's images: their text read by OCR (hegui/ocr.h) and judged as the prompt is ---- */

#define MAX_READ_IMAGES 16 /* images of one prompt read by OCR; the rest count as unjudged */

typedef struct images_read {
  chat_req *c;
  gateway *gw;
  const hg_config *cfg;
  size_t n;
  hg_ocr_result *results;
  int *ok;
  char (*errors)[200];
} images_read;

static void read_images(void *arg) { /* on its own thread */
  images_read *r = arg;
  char why[200];
  hg_ocr *engine = gateway_ocr(r->gw, r->cfg, why, sizeof why);
  for (size_t i = 0; i < r->n; i++) {
    uint8_t *bytes;
    size_t len;
    hg_error err;
    hg_error_clear(&err);
    if (!engine) {
      snprintf(r->errors[i], sizeof r->errors[i], "%s", why);
    } else if (fetch_image_url(r->cfg, r->c->images[i], &r->gw->stopping, &bytes, &len, r->errors[i],
                               sizeof r->errors[i]) == 0) {
      r->ok[i] = !hg_ocr_read(engine, bytes, len, &r->results[i], &err);
      metrics_ocr(&r->gw->metrics, r->ok[i] ? &r->results[i] : NULL);
      if (!r->ok[i]) snprintf(r->errors[i], sizeof r->errors[i], "%.199s", err.message);
      free(bytes);
    }
  }
}

/* What the images say, judged; and the pictures, which only a vision guard judges. 1 when the prompt is refused. */
static int judge_images(chat_req *c, images_read *r) {
  judge j = judge_of(c);
  int vision = c->cfg->guard.images && guard_wanted(c->cfg, HG_DIR_INPUT);
  for (size_t i = 0; i < c->nimages; i++) {
    char what[48];
    snprintf(what, sizeof what, "input image %zu", i + 1);
    int blocked;
    if (!r)
      blocked = judge_unjudged(&j, "text in the prompt's images (media.ocr is off)");
    else if (i >= r->n)
      blocked = judge_unjudged(&j, "text in the prompt's images beyond the 16th");
    else
      blocked = judge_ocr_text(&j, HG_DIR_INPUT, what, r->ok[i] ? &r->results[i] : NULL, r->errors[i]);
    if (!blocked && !vision) {
      atomic_fetch_add(&c->gw->metrics.unjudged, 1);
      char pic[120];
      snprintf(pic, sizeof pic, "the picture of %s (no vision guard)", what);
      blocked = judge_unjudged(&j, pic);
    }
    if (blocked) return 1;
  }
  return 0;
}

static void images_read_free(images_read *r) {
  for (size_t i = 0; r->ok && r->results && i < r->n; i++)
    if (r->ok[i]) hg_ocr_result_free(&r->results[i]);
  free(r->results);
  free(r->ok);
  free(r->errors);
  free(r);
}

static void on_images_read(void *arg) { /* back on the loop */
  images_read *r = arg;
  chat_req *c = r->c;
  c->ocr_pending = 0;
  char *out = c->relay_out;
  c->relay_out = NULL;
  if (!c->req) { /* the client left while they were read */
    images_read_free(r);
    free(out);
    finish(c, 499);
    return;
  }
  int blocked = judge_images(c, r);
  images_read_free(r);
  if (blocked) {
    free(out);
    refuse_prompt(c);
    return;
  }
  relay_on(c, out);
}

static void stage_relay(chat_req *c, json_t *body) {
  char *out = hg_json_dumps(body, JSON_COMPACT);
  const char *urls[64];
  size_t n = prompt_images(c, body, urls, 64);
  c->images = n ? hg_arena_calloc(c->arena, n, sizeof *c->images) : NULL;
  for (size_t i = 0; i < n && c->images; i++)
    if ((c->images[i] = hg_arena_strdup(c->arena, urls[i]))) c->nimages++;
  if (n && c->nimages != n) { /* out of memory: what cannot be judged does not leave */
    free(out);
    json_object_set_new(c->detail, "input_error", json_string("out of memory"));
    json_object_set_new(c->detail, "block_category", json_string("error"));
    refuse_prompt(c);
    return;
  }
  if (!c->nimages) {
    relay_on(c, out);
    return;
  }
  images_read *r = c->cfg->media_ocr ? calloc(1, sizeof *r) : NULL;
  size_t reading = c->nimages < MAX_READ_IMAGES ? c->nimages : MAX_READ_IMAGES;
  if (r) {
    *r = (images_read){c,
                       c->gw,
                       c->cfg,
                       reading,
                       calloc(reading, sizeof *r->results),
                       calloc(reading, sizeof *r->ok),
                       calloc(reading, sizeof *r->errors)};
    c->relay_out = out;
    c->ocr_pending = 1;
    if (r->results && r->ok && r->errors && !run_then(c->w, read_images, on_images_read, r)) return;
    c->ocr_pending = 0;
    c->relay_out = NULL;
    for (size_t i = 0; i < reading; i++) /* the thread did not start: nothing was read */
      if (r->errors) snprintf(r->errors[i], sizeof r->errors[i], "the OCR thread could not start");
  }
  int blocked = judge_images(c, r && r->errors && r->ok && r->results ? r : NULL);
  if (r) images_read_free(r);
  if (blocked) {
    free(out);
    refuse_prompt(c);
    return;
  }
  relay_on(c, out);
}

/* ROUTE_ASYNC: a refusal before the request's state exists is counted here; afterwards finish() counts it */
static void handle_completion(route_req *rq, int chat) {
  chat_input in = {0};
  int status = stage_admit(rq, &in);
  if (!status) status = stage_parse(rq, chat, &in);
  chat_req *c = status ? NULL : stage_open(rq, chat, &in);
  if (!c) {
    input_free(&in);
    route_metrics(rq->gw, chat ? R_CHAT : R_COMPLETIONS, status ? status : 500, rq->t0);
    return;
  }
  in.arena = NULL; /* c's now: the prompt's memory in it goes with c */
  int refused = stage_moderate(c, &in);
  prompt_free(&in.pt);
  if (!refused) stage_relay(c, in.body); /* c may be finished when this returns */
  json_decref(in.body);
}

/* ---- POST /v1/moderations ---- */

#define MAX_MODERATION_INPUTS 256 /* per request: each is a result, and the answer must stay bounded */
#define MAX_LISTED_FINDINGS 16    /* lexicon hits, and personal data, listed per result (the verdict counts all) */

/* The texts of a moderations request, as a new array of strings: a string; an array of strings; or OpenAI's array
 * of parts, which is one input (its text parts joined by line breaks, as a prompt's are). NULL after a 400. */
static json_t *moderation_texts(struct evhttp_request *req, json_t *input) {
  char param[48];
  if (json_is_string(input)) return json_pack("[O]", input);
  if (!json_is_array(input)) {
    send_error_param(req, 400, "invalid_request_error",
                     "'input' must be a string, an array of strings or an array of text parts", "input",
                     "invalid_input");
    return NULL;
  }
  size_t n = json_array_size(input);
  if (n > MAX_MODERATION_INPUTS) {
    char msg[128];
    snprintf(msg, sizeof msg, "'input' has %zu items; hegui moderates at most %d in one request", n,
             MAX_MODERATION_INPUTS);
    send_error_param(req, 400, "invalid_request_error", msg, "input", "invalid_input");
    return NULL;
  }
  int parts = n && json_is_object(json_array_get(input, 0));
  char *joined = NULL;
  size_t jl = 0, jc = 0;
  json_t *texts = json_array();
  for (size_t i = 0; i < n; i++) {
    json_t *item = json_array_get(input, i), *text = json_object_get(item, "text");
    const char *type = json_string_value(json_object_get(item, "type"));
    const char *problem = NULL;
    if (!parts && !json_is_string(item))
      problem = "'input' must be a string, an array of strings or an array of text parts";
    else if (parts && !json_is_object(item))
      problem = "an array of parts must hold only parts";
    else if (parts && type && !strcmp(type, "image_url"))
      problem = "images are not supported: hegui moderates text";
    else if (parts && (!type || strcmp(type, "text") || !json_is_string(text)))
      problem = "a part must be {\"type\": \"text\", \"text\": string}";
    if (problem) {
      snprintf(param, sizeof param, "input[%zu]", i);
      send_error_param(req, 400, "invalid_request_error", problem, param, "invalid_input");
      json_decref(texts);
      free(joined);
      return NULL;
    }
    if (!parts) {
      json_array_append(texts, item);
    } else {
      if (i) append(&joined, &jl, &jc, PROMPT_SEPARATOR, PROMPT_SEPARATOR_LEN, (size_t)-1);
      append(&joined, &jl, &jc, json_string_value(text), json_string_length(text), (size_t)-1);
    }
  }
  if (parts) json_array_append_new(texts, json_stringn(joined ? joined : "", jl));
  free(joined);
  return texts;
}

/* One text through the moderator in the input direction (what a provider checks with this route is what users
 * send; takedowns are about answers coming back and do not run), as a moderation result. flagged is true when the
 * verdict is block or review: what a provider would act on; the verdict itself is in hegui.verdict. */
static json_t *moderation_result(gateway *gw, const hg_config *cfg, hg_lexicon *lex, const char *t, size_t tl) {
  /* OpenAI's categories that hegui's risks map onto (docs/gateway.md) */
  static const struct {
    const char *openai;
    int cats[11];
  } map[] = {
      {"hate",
       {HG_CAT_A1E, HG_CAT_A2A, HG_CAT_A2B, HG_CAT_A2C, HG_CAT_A2D, HG_CAT_A2E, HG_CAT_A2F, HG_CAT_A2G, HG_CAT_A2H,
        HG_CAT_A2I, -1}},
      {"harassment", {HG_CAT_A4C, HG_CAT_A4D, HG_CAT_INSULT, -1}},
      {"self-harm", {HG_CAT_A4A, -1}},
      {"sexual", {HG_CAT_A1F, -1}},
      {"violence", {HG_CAT_A1D, HG_CAT_A1F, -1}},
      {"illicit", {HG_CAT_A1H, HG_CAT_FRAUD, HG_CAT_MALWARE, -1}},
  };
  chat_req tmp = {0};
  tmp.gw = gw;
  tmp.cfg = cfg;
  tmp.lex = lex;
  tmp.input_hits = json_array();
  tmp.input_pii = json_array();
  tmp.detail = json_object();
  span_hit *spans;
  size_t nspans, nscores = 0;
  float best[HG_CLASSIFIER_MAX_LABELS];
  hg_decision d = moderate_scored(&tmp, HG_DIR_INPUT, t, tl, &spans, &nspans, best, &nscores);
  spans_free(&tmp, spans); /* tmp has no arena: malloc-ed */
  /* the classifier's labels by category: a category's score is its highest label's */
  const hg_policy *policy = ((const live_config *)(const void *)cfg)->policy;
  hg_classifier *model = hg_policy_classifier(policy);
  float cat_score[HG_CATEGORY_COUNT] = {0};
  json_t *labels = json_array();
  for (size_t l = 0; l < nscores; l++) {
    hg_classifier_label_info info;
    hg_category cat;
    if (hg_classifier_label(model, l, &info) || hg_category_parse(info.code, strlen(info.code), &cat)) continue;
    if (best[l] > cat_score[cat]) cat_score[cat] = best[l];
    double sc = (double)(int)(best[l] * 10000.0f + 0.5f) / 10000.0;
    double th = (double)(int)(hg_policy_threshold(policy, l) * 10000.0f + 0.5f) / 10000.0;
    json_array_append_new(
        labels, json_pack("{s:s, s:s, s:f, s:f}", "label", info.name, "code", info.code, "score", sc, "threshold", th));
  }
  json_t *cats = json_object(), *scores = json_object();
  int flagged = d == HG_DECIDE_BLOCK || d == HG_DECIDE_REVIEW;
  for (size_t k = 0; k < sizeof map / sizeof *map; k++) {
    int hit = 0;
    double score = 0.0;
    for (size_t h = 0; h < json_array_size(tmp.input_hits); h++) {
      hg_category cat;
      json_t *x = json_array_get(tmp.input_hits, h);
      const char *code = json_string_value(json_object_get(x, "category"));
      if (strcmp(json_string_value(json_object_get(x, "effect")), "record") && code &&
          !hg_category_parse(code, strlen(code), &cat))
        for (int q = 0; q < 11 && map[k].cats[q] >= 0; q++)
          hit |= map[k].cats[q] == (int)cat;
    }
    /* a listed word or a rule is certain (1); otherwise the classifier's highest score in the category */
    for (int q = 0; q < 11 && map[k].cats[q] >= 0; q++)
      if (cat_score[map[k].cats[q]] > score) score = cat_score[map[k].cats[q]];
    if (hit) score = 1.0;
    json_object_set_new(cats, map[k].openai, json_boolean(hit));
    json_object_set_new(scores, map[k].openai, json_real((double)(int)(score * 10000.0 + 0.5) / 10000.0));
  }
  json_t *hits = tmp.input_hits, *pii = tmp.input_pii;
  int truncated = json_array_size(hits) > MAX_LISTED_FINDINGS || json_array_size(pii) > MAX_LISTED_FINDINGS;
  while (json_array_size(hits) > MAX_LISTED_FINDINGS)
    json_array_remove(hits, json_array_size(hits) - 1);
  while (json_array_size(pii) > MAX_LISTED_FINDINGS)
    json_array_remove(pii, json_array_size(pii) - 1);
  json_t *hegui = json_pack("{s:o, s:s, s:O, s:O, s:o}", "flagged", json_boolean(flagged), "verdict",
                            hg_decision_name(d), "hits", hits, "pii", pii, "classifier", labels);
  json_t *error = json_object_get(tmp.detail, "input_error");
  if (error) json_object_set(hegui, "error", error);
  if (truncated) json_object_set_new(hegui, "truncated", json_true());
  json_t *result = json_pack("{s:b, s:o, s:o, s:o}", "flagged", flagged, "categories", cats, "category_scores", scores,
                             "hegui", hegui);
  json_decref(tmp.input_hits);
  json_decref(tmp.input_pii);
  json_decref(tmp.detail);
  return result;
}

/* POST /v1/moderations: OpenAI's request and response shape; hegui's own findings under "hegui". */
void route_chat(route_req *rq) { handle_completion(rq, 1); }

void route_completions(route_req *rq) { handle_completion(rq, 0); }

/* POST /v1/moderations: the dispatcher counts the request */
void route_moderations(route_req *rq) {
  gateway *gw = rq->gw;
  struct evhttp_request *req = rq->req;
  struct evbuffer *in = evhttp_request_get_input_buffer(req);
  size_t blen = evbuffer_get_length(in);
  json_t *body = hg_json_loadb((const char *)evbuffer_pullup(in, -1), blen, 0, NULL);
  json_t *texts = moderation_texts(req, json_object_get(body, "input"));
  if (!texts) {
    json_decref(body);
    return;
  }
  const hg_config *cfg = live_cfg(gw);
  hg_lexicon *lex = hg_lexicon_slot_acquire(gw->lexicon);
  json_t *results = json_array();
  for (size_t i = 0; i < json_array_size(texts); i++) {
    json_t *s = json_array_get(texts, i);
    json_array_append_new(results, moderation_result(gw, cfg, lex, json_string_value(s), json_string_length(s)));
  }
  hg_lexicon_unref(lex);
  unsigned char r[12];
  randombytes_buf(r, sizeof r);
  char hex[25], id[40];
  sodium_bin2hex(hex, sizeof hex, r, sizeof r);
  snprintf(id, sizeof id, "modr-hg%s", hex);
  send_json(req, 200, json_pack("{s:s, s:s, s:o}", "id", id, "model", "hegui-lexicon", "results", results));
  json_decref(texts);
  json_decref(body);
}
