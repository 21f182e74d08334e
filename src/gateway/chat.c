/* chat.c — the main job, as an orchestrator: an OpenAI completion request through its stages, each in a file of its
 * own with its own state and a header that states its contract, none of them knowing HTTP:
 *   admission   admit.[ch]       the key, the user's standing, real name, minors, the quota
 *   moderation  moderation.[ch]  the prompt judged by the policy's moderator (judge.c) and edited; the answer judged
 *                                whole or as it streams, held back as far as the moderator's pending suffix says, and
 *                                rendered (new personal data masked, placeholders back to the user's values)
 *               prompt_images.[ch] the prompt's images: their text (read by OCR here, on a thread) judged
 *   relay       relay.[ch]       the model's answer read as OpenAI's protocol has it (events, tool calls, usage)
 *   labels      labels.[ch]      the explicit notice, the reminder, the signed implicit label over what was sent
 *   record      record.[ch]      the audit record and the strike it counts
 * What stays here is what they share and what they cannot know: the HTTP request and its client, the upstream call
 * and its timers (upstream.c), the guard model's asynchronous verdicts (guard_client.c), the prompt's images read by
 * OCR on a thread, the record's durability before the answer's last byte (audit_writer.c), and the one exit of every
 * request (finish): its record, review, token quota and metrics. A blocked prompt gets the configured refusal (代答)
 * and finish_reason "content_filter" without the model being called; a blocked answer stops the upstream and ends
 * the same way. Every answer carries the explicit notice and the signed implicit label, and every request leaves one
 * audit record. */
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
#include "labels.h"
#include "moderation.h"
#include "offload.h"
#include "prompt.h"
#include "prompt_images.h"
#include "relay.h"
#include "router.h"

#define MAX_UPSTREAM_BODY (16u << 20)

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
  int64_t key_id;
  int moderated; /* the prompt went through moderation (strikes count it) */
  admission adm; /* what admit_user found: minor, reminder due */
  char id[64];
  char *model; /* the model the client asked for: what every answer names (the upstream's is only recorded) */
  long long created;
  json_t *detail; /* the record's (record.h): every stage adds to it */
  moderation mod; /* the moderation stage: the prompt and the answer judged, the answer held back (moderation.h) */
  char input_sha[65];
  const char *verdict;
  int blocked_input;
  /* upstream */
  up_call *call;
  struct evbuffer *body; /* non-streamed answer */
  relay relay;           /* the relay stage: the model's answer read, its status and what broke it (relay.h) */
  relay_sink sink;       /* where relay puts a streamed answer's text and calls: moderation, then the client */
  struct event *first_byte_timer;
  int got_bytes;
  /* after the first byte: the upstream's silence is measured here, not by curl's low-speed average (which lets a
   * burst hide a stall for seconds), and a started stream gets SSE comments while it lasts (stream_quiet) */
  struct event *quiet_timer;
  int64_t last_upstream_ms, last_sent_ms; /* monotonic */
  /* streamed answer */
  int started;            /* headers and the role chunk are out */
  int done;               /* the reply is complete (or the client is gone) */
  char finish_reason[32]; /* as the client got it */
  label_state labels;     /* the label stage: what the client saw, the notice, the signed label (labels.h) */
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
  moderation_close(&c->mod);
  relay_free(&c->relay);
  json_decref(c->detail);
  labels_free(&c->labels);
  json_decref(c->final_json);
  if (c->tail) evbuffer_free(c->tail);
  if (c->durable_ev) event_free(c->durable_ev);
  cfg_release(c->cfg);
  hg_arena_destroy(c->arena); /* c with it */
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
                        .upstream_status = c->relay.status,
                        .upstream_error = c->relay.error,
                        .finish_reason = c->finish_reason,
                        .client_gone = !c->req,
                        .input_sha256 = c->input_sha,
                        .input_text = c->mod.input_text,
                        .visible = c->labels.visible,
                        .visible_len = c->labels.visible_len,
                        .raw_out = c->mod.raw_out,
                        .calls_text = c->mod.calls_text,
                        .calls_text_len = c->mod.calls_text_len,
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
                   c->detail, c->relay.status >= 200 && c->relay.status < 300 && c->labels.visible_len > 0);
  json_t *total = json_object_get(c->relay.usage, "total_tokens");
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

/* The answer is complete (what the client sees of it, labels.visible, and its finish_reason are set): its record
 * goes first. With group durability the record is queued and 1 is returned: on_durable sends the last bytes
 * (final_json or tail) once it is committed, so they may still be made after this returns, while the writer
 * commits (the loop runs on_durable only after the caller returns). With sync it is appended and synced here; with
 * async it is queued; 0 then: the caller sends the last bytes (answer_sent). */
static int record_first(chat_req *c) {
  stop_sources(c); /* nothing may call back into the request while it waits */
  settle_verdict(c);
  int group = c->cfg->audit_durability == HG_DURABILITY_GROUP && c->req;
  return finish_record(c, group);
}

static void answer_sent(chat_req *c, int waiting) {
  if (waiting) return; /* on_durable sends them */
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
  hg_error err;
  hg_error_clear(&err);
  json_t *label = labels_signed(&c->labels, &err);
  if (json_is_null(label) && err.message[0]) hg_log_write(&c->gw->log, HG_LOG_ERROR, "label not made: %s", err.message);
  return label;
}

static void add_visible(chat_req *c, const char *s, size_t n) { labels_saw(&c->labels, s, n); }

/* ---- moderation helpers ---- */

/* ---- responses ---- */

static json_t *usage_zero(void) {
  return json_pack("{s:i, s:i, s:i}", "prompt_tokens", 0, "completion_tokens", 0, "total_tokens", 0);
}

static void set_label_header(chat_req *c, json_t *label) {
  if (!c->req) return;
  char *s = labels_header(&c->labels, label);
  if (s) evhttp_add_header(evhttp_request_get_output_headers(c->req), "X-AIGC-Label", s);
}

/* The over-reliance reminder (Art. 10) that opens an answer when one is due, "" otherwise. */
static void reminder_text(const chat_req *c, char *out, size_t cap) {
  labels_reminder(c->cfg, c->adm.remind_minutes, out, cap);
  if (!c->adm.remind_minutes) return;
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
  char *v = labels_with_notice(&c->labels, content, len, &vl);
  add_visible(c, v, vl);
  snprintf(c->finish_reason, sizeof c->finish_reason, "%s", finish_reason);
  /* the record first (audit.durability): with group durability its commit runs while the label is signed and the
   * answer is made, which nothing of the record depends on */
  int waiting = record_first(c);
  json_t *label = make_label(c);
  json_t *choice;
  if (c->chat) {
    json_t *message = json_pack("{s:s, s:o}", "role", "assistant", "content", hg_json_text(v, vl));
    if (message && calls) json_object_update(message, calls);
    choice =
        json_pack("{s:i, s:o, s:n, s:s}", "index", 0, "message", message, "logprobs", "finish_reason", finish_reason);
  } else
    choice = json_pack("{s:i, s:o, s:n, s:s}", "index", 0, "text", hg_json_text(v, vl), "logprobs", "finish_reason",
                       finish_reason);
  json_t *resp =
      json_pack("{s:s, s:s, s:I, s:s, s:[o], s:o, s:O}", "id", c->id, "object",
                c->chat ? "chat.completion" : "text_completion", "created", (json_int_t)c->created, "model", c->model,
                "choices", choice, "usage", usage ? json_incref(usage) : usage_zero(), "aigc", label);
  set_label_header(c, label);
  json_decref(label);
  json_decref(calls);
  c->final_json = resp;
  answer_sent(c, waiting);
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
  /* the held last chunks (tail) go to a buffer of their own, a few hundred bytes: only chunks for the socket can
   * find the client too slow, so nothing after the record is made can change it */
  if (!c->tail && client_backlogged(c)) {
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
  if (c->tail) { /* the stream's last chunks wait for the record (record_first) */
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
  labels_stream_header(&c->labels, hdr, sizeof hdr);
  evhttp_add_header(h, "X-AIGC-Label", hdr);
  char rem[sizeof c->cfg->reminder_text + 64];
  reminder_text(c, rem, sizeof rem); /* its header goes out with the others */
  evhttp_send_reply_start(c->req, 200, "OK");
  /* libevent's connection timeout (limits.header_timeout_ms) restarts with each write, and would cut a stream whose
   * model pauses longer than that; the keep-alive comments come well within this one, so only a client that
   * stops reading (or a gateway that stops writing) is cut by it, and the upstream's silence is judged apart */
  if (c->conn) evhttp_connection_set_timeout(c->conn, (int)(c->cfg->idle_timeout_ms / 1000) + 2);
  sse_send(c, chunk(c, c->chat ? "" : NULL, 0, NULL, 1));
  size_t nl; /* notice, then reminder: the order of a whole answer */
  char *n = labels_stream_notice(&c->labels, 0, &nl);
  if (n) add_visible(c, n, nl);
  if (n) sse_send(c, chunk(c, n, nl, NULL, 0));
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
   * record is durable (record_first) */
  if (c->req && !c->tail) c->tail = evbuffer_new();
  size_t vl;
  char *v = labels_stream_notice(&c->labels, 1, &vl);
  if (v) stream_text(c, v, vl);
  snprintf(c->finish_reason, sizeof c->finish_reason, "%s", finish_reason);
  /* the record first (audit.durability): with group durability its commit runs while the label is signed */
  int waiting = record_first(c);
  json_t *last = chunk(c, c->chat ? NULL : "", 0, finish_reason, 0);
  json_object_set_new(last, "aigc", make_label(c));
  sse_send(c, last);
  if (c->include_usage && c->relay.usage) {
    json_t *u = json_pack("{s:s, s:s, s:I, s:s, s:[], s:O}", "id", c->id, "object",
                          c->chat ? "chat.completion.chunk" : "text_completion", "created", (json_int_t)c->created,
                          "model", c->model, "choices", "usage", c->relay.usage);
    sse_send(c, u);
  }
  if (c->tail) evbuffer_add_printf(c->tail, "data: [DONE]\n\n");
  answer_sent(c, waiting);
}

/* ---- the rest of the answer: tool calls, and the members the upstream fills in ---- */

/* Sends the held text up to stream offset `to`, rendered. */
static void release(chat_req *c, size_t to) {
  size_t ol;
  char *out = moderation_release(&c->mod, to, &ol);
  if (out) stream_text(c, out, ol);
  free(out);
}

static void stream_block(chat_req *c) {
  stream_start(c);
  c->verdict = "block";
  const char *r = c->cfg->refusal;
  stream_text(c, "\n", 1);
  stream_text(c, r, strlen(r));
  stream_end(c, "content_filter");
}

static hg_decision guard_reason(chat_req *c, hg_direction dir, const guard_outcome *o);

static int guard_by_sentence(const chat_req *c) {
  return guard_wanted(c->cfg, HG_DIR_OUTPUT) && !c->cfg->guard.stream_at_end;
}

/* Where the text may be released to: what the moderator holds back (and a placeholder cut at the end) stays, and
 * under a guard judging sentences, nothing past what it approved goes out. */
static size_t releasable(chat_req *c, size_t *hold_out) {
  return moderation_releasable(&c->mod, guard_by_sentence(c) ? c->guard.ok : (size_t)-1, hold_out);
}

static void on_sentence_guard(void *ctx, const guard_outcome *o);
static void stream_close_guarded(chat_req *c);

/* A guard verdict on the answer up to c->guard.asked: released, or the stream stopped. */
/* may_end: the caller can take the request ending here (stream_block frees it: the caller returns at once when 1
 * comes back). Inside the upstream's data callback it cannot (the call may not be cancelled from its own
 * callback): a block only sets blocked_output there, and the stream ends with the refusal when the upstream does. */
static int sentence_verdict(chat_req *c, const guard_outcome *o, int may_end) {
  if (guard_reason(c, HG_DIR_OUTPUT, o) == HG_DECIDE_BLOCK) {
    c->mod.blocked_output = 1;
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
  while (guard_by_sentence(c) && !c->guard.job && !c->mod.blocked_output && !c->done) {
    size_t se = moderation_sentence_end(&c->mod);
    if (se <= c->guard.asked) return 0;
    c->guard.asked = se;
    guard_outcome now;
    if (!guard_judge(c->w, c->cfg, HG_DIR_OUTPUT, c->guard.prompt ? c->guard.prompt : "", c->guard.prompt_len,
                     c->mod.raw_out, se, NULL, 0, on_sentence_guard, c, &now, &c->guard.job))
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
  if (!n || c->mod.blocked_output) return;
  if (moderation_stream_feed(&c->mod, s, n)) return;
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

/* The relay's sink (relay.h): a streamed answer's text and complete calls. */
static void sink_content(void *ctx, const char *s, size_t n) { stream_content(ctx, s, n); }

static json_t *sink_call(void *ctx, const tool_call *tc, int position) {
  chat_req *c = ctx;
  return moderation_call(&c->mod, tc, position);
}

static int sink_stopped(void *ctx) {
  chat_req *c = ctx;
  return c->done || c->mod.blocked_output;
}

static void stream_close_rest(chat_req *c, const char *error);

/* The guard's verdict on a whole streamed answer: what was released is out; what is held waits for it. */
static void on_stream_guard(void *ctx, const guard_outcome *o) {
  chat_req *c = ctx;
  c->guard.job = NULL;
  if (guard_reason(c, HG_DIR_OUTPUT, o) == HG_DECIDE_BLOCK) c->mod.blocked_output = 1;
  stream_close_rest(c, c->guard.close_error ? c->relay.error : NULL);
}

/* The model's answer ended (normally or not): decide what is still held, then close. */
static void stream_close(chat_req *c, const char *error) {
  if (c->done) return;
  moderation_stream_finish(&c->mod);
  if (!c->mod.blocked_output && !error) relay_stream_last_call(&c->relay, &c->sink); /* the last call is complete */
  c->guard.closing = 1;
  c->guard.close_error = error != NULL;
  stream_close_guarded(c);
}

/* The guard's last word before the end: under guard.stream: sentence the rest of the answer (the moderator's
 * finish ended its last sentence), under end the whole answer; what is still held waits for it. */
static void stream_close_guarded(chat_req *c) {
  const char *error = c->guard.close_error ? c->relay.error : NULL;
  if (!c->mod.blocked_output && !error && guard_wanted(c->cfg, HG_DIR_OUTPUT)) {
    if (guard_by_sentence(c)) {
      if (c->guard.job) return; /* its verdict comes back here */
      guard_next(c, 0);         /* closing: a block is handled by stream_close_rest below */
      if (c->guard.job) return;
    } else if (!c->guard.asked_end) {
      c->guard.asked_end = 1;
      guard_outcome now;
      if (!guard_judge(c->w, c->cfg, HG_DIR_OUTPUT, c->guard.prompt ? c->guard.prompt : "", c->guard.prompt_len,
                       c->mod.raw_out ? c->mod.raw_out : "", c->mod.raw_len, NULL, 0, on_stream_guard, c, &now,
                       &c->guard.job))
        return;
      if (guard_reason(c, HG_DIR_OUTPUT, &now) == HG_DECIDE_BLOCK) c->mod.blocked_output = 1;
    }
  }
  stream_close_rest(c, error);
}

static void stream_close_rest(chat_req *c, const char *error) {
  if (c->done) return;
  if (c->mod.blocked_output) {
    stream_block(c);
    return;
  }
  stream_start(c);
  release(c, c->mod.fed);
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
  for (size_t i = 0; i < json_array_size(c->relay.calls_out); i++) {
    json_t *call = json_array_get(c->relay.calls_out, i), *ch = chunk(c, NULL, 0, NULL, 0);
    json_t *delta = json_object_get(json_array_get(json_object_get(ch, "choices"), 0), "delta");
    if (json_object_get(call, "type"))
      json_object_set_new(delta, "tool_calls", json_pack("[O]", call));
    else
      json_object_set(delta, "function_call", call);
    sse_send(c, ch);
  }
  stream_end(c, c->relay.finish_reason[0] ? c->relay.finish_reason : "stop");
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
    snprintf(c->relay.error, sizeof c->relay.error, "upstream idle timeout: nothing for %lld ms", (long long)silent);
    up_call *call = c->call;
    c->call = NULL;
    upstream_cancel(call);
    if (c->stream)
      on_stream_done(c, CURLE_OPERATION_TIMEDOUT, 0, c->relay.error);
    else
      on_whole_done(c, CURLE_OPERATION_TIMEDOUT, 0, c->relay.error);
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
  if (c->done || c->mod.blocked_output) return;
  upstream_heard(c);
  if (relay_stream_bytes(&c->relay, data, len, &c->sink) && !c->done && c->call) upstream_abort_from_data(c->call);
}

static void on_stream_done(void *ctx, CURLcode result, long status, const char *error) {
  chat_req *c = ctx;
  c->call = NULL;
  c->upstream_end = hg_clock_mono_s();
  c->relay.status = status;
  if (c->done) return;
  if (c->mod.blocked_output) {
    stream_close(c, NULL);
    return;
  }
  if (!c->started && (result != CURLE_OK || status != 200)) {
    /* nothing was sent yet: a plain OpenAI error */
    atomic_fetch_add(&c->gw->metrics.upstream_errors, 1);
    c->verdict = "error";
    char msg[512];
    int code = relay_stream_failed(&c->relay, result, status, error, msg);
    if (c->req) send_error(c->req, code, "upstream_error", msg, NULL);
    finish(c, code);
    return;
  }
  const char *broken = relay_stream_ended(&c->relay, result, error);
  if (broken) atomic_fetch_add(&c->gw->metrics.upstream_errors, 1);
  stream_close(c, broken);
}

/* ---- whole answers ---- */

static void on_whole_data(void *ctx, const char *data, size_t len) {
  chat_req *c = ctx;
  c->got_bytes = 1;
  if (c->first_byte_timer) evtimer_del(c->first_byte_timer);
  upstream_heard(c);
  if (evbuffer_get_length(c->body) + len > MAX_UPSTREAM_BODY) {
    snprintf(c->relay.error, sizeof c->relay.error, "upstream answer larger than %u bytes", MAX_UPSTREAM_BODY);
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
    c->mod.blocked_output = 1;
    c->verdict = "block";
    json_decref(calls);
    reply_whole(c, c->cfg->refusal, strlen(c->cfg->refusal), "content_filter", c->relay.usage, NULL);
  } else {
    reply_whole(c, c->guard.out ? c->guard.out : "", c->guard.out ? c->guard.out_len : 0, c->guard.finish,
                c->relay.usage, calls);
  }
}

static void on_whole_done(void *ctx, CURLcode result, long status, const char *error) {
  chat_req *c = ctx;
  c->call = NULL;
  c->upstream_end = hg_clock_mono_s();
  c->relay.status = status;
  if (c->done) return;
  size_t len = evbuffer_get_length(c->body);
  const char *body = (const char *)evbuffer_pullup(c->body, -1);
  relay_answer a;
  char msg[512];
  int code = relay_whole(&c->relay, body, len, result, status, error, &a, msg);
  if (code) {
    atomic_fetch_add(&c->gw->metrics.upstream_errors, 1);
    c->verdict = "error";
    if (c->req) send_error(c->req, code, "upstream_error", msg, NULL);
    finish(c, code);
    return;
  }
  const char *t = a.text;
  size_t tl = a.len;
  span_hit *pii;
  size_t npii;
  json_t *calls = NULL; /* the same verdict as a stream: the content, then each call, each as one text */
  if (!moderation_answer_text(&c->mod, t, tl, &pii, &npii) && a.has_calls)
    calls = moderation_whole_calls(&c->mod, a.tool_calls, a.function_call);
  const char *fr = a.finish_reason;
  if (c->mod.blocked_output) {
    c->verdict = "block";
    json_decref(calls);
    reply_whole(c, c->cfg->refusal, strlen(c->cfg->refusal), "content_filter", c->relay.usage, NULL);
  } else if (guard_wanted(c->cfg, HG_DIR_OUTPUT)) {
    /* the answer waits for the guard's verdict on the model's text (placeholders, not personal data) */
    c->guard.out = moderation_render(&c->mod, t, tl, 0, pii, npii, &c->guard.out_len);
    c->guard.calls = calls;
    snprintf(c->guard.finish, sizeof c->guard.finish, "%s", fr ? fr : "stop");
    guard_outcome now;
    if (guard_judge(c->w, c->cfg, HG_DIR_OUTPUT, c->guard.prompt ? c->guard.prompt : "", c->guard.prompt_len, t, tl,
                    NULL, 0, on_whole_guard, c, &now, &c->guard.job))
      on_whole_guard(c, &now);
  } else {
    size_t ol;
    char *out = moderation_render(&c->mod, t, tl, 0, pii, npii, &ol);
    reply_whole(c, out ? out : "", out ? ol : 0, fr, c->relay.usage, calls);
    free(out);
  }
  /* pii is in the request's arena (c may be finished by now, its arena with it) */
  relay_answer_free(&a);
}

static void on_first_byte_timeout(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  chat_req *c = arg;
  if (c->got_bytes || c->done) return;
  snprintf(c->relay.error, sizeof c->relay.error, "upstream sent nothing within %u ms", c->cfg->first_byte_timeout_ms);
  up_call *call = c->call;
  c->call = NULL;
  upstream_cancel(call);
  if (c->stream)
    on_stream_done(c, CURLE_OPERATION_TIMEDOUT, 0, c->relay.error);
  else
    on_whole_done(c, CURLE_OPERATION_TIMEDOUT, 0, c->relay.error);
}

/* ---- the request ---- */

/* A refused prompt: the refusal (代答) instead of an answer; unless a detector failed (not the user's doing), the
 * first step of the strike ladder: the user is told that repeated attempts suspend the account. */
static void refuse_prompt(chat_req *c) {
  c->verdict = "block";
  int engine = moderation_refused_by_engine(&c->mod);
  c->blocked_input = !engine;
  if (engine) c->moderated = 0;
  char r[sizeof c->cfg->refusal + 400];
  int64_t until = 0;
  /* the request that trips the strike ladder says so: the user learns why the next one is refused */
  hg_standing to = !engine && c->moderated && c->gw->cfg.auth_required
                       ? strike_would_move(c->gw, c->cfg, c->user, &until)
                       : HG_STANDING_ACTIVE;
  moderation_refusal(&c->mod, engine, to, until, r, sizeof r);
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
    moderation_stream_open(&c->mod, guard_by_sentence(c));
    h = (up_handlers){on_stream_data, on_stream_done, c};
  } else {
    c->body = evbuffer_new();
    h = (up_handlers){on_whole_data, on_whole_done, c};
  }
  c->upstream_t0 = hg_clock_mono_s();
  if (out && (!c->stream || c->mod.stream) &&
      (c->stream || c->body)) /* an answer that cannot be judged is not fetched */
    c->call = upstream_start(w->up, "POST", c->chat ? "/v1/chat/completions" : "/v1/completions", out, strlen(out), &h);
  free(out);
  if (!c->call) {
    c->verdict = "error";
    snprintf(c->relay.error, sizeof c->relay.error, "could not start the upstream request");
    if (c->req) send_error(c->req, 502, "upstream_error", c->relay.error, NULL);
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
  judge *j = &c->mod.j;
  return judge_guard(j, dir, o);
}

/* A strike for abuse (Article 19) with an audit record of its own as the evidence (route, detail: taken). */
static void abuse_strike(chat_req *c, const char *route, json_t *detail) {
  hg_audit_record r = {0};
  r.actor = c->actor;
  r.route = route;
  r.verdict = "strike";
  char *ds = hg_json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
  r.detail_json = ds;
  hg_error err;
  if (!hg_store_audit_append(c->gw->store, &r, &err)) record_strike(c->gw, c->cfg, c->user, 1, r.seq);
  free(ds);
  json_decref(detail);
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
  abuse_strike(c, "abuse/near-duplicates",
               json_pack("{s:I, s:I, s:I, s:s}", "similar_in_hour", (json_int_t)similar, "threshold",
                         (json_int_t)cfg->near_dups_per_hour, "bits", (json_int_t)cfg->near_dup_bits, "response_id",
                         c->id));
  json_object_set_new(c->detail, "near_duplicates", json_integer(similar));
}

/* Article 19: a prompt the lexicon, rules or classifier place in one of strikes.categories (default malware, fraud,
 * spam) is a strike even when the policy lets it through for review; blocked prompts strike anyway. The guard's
 * verdicts come later (on_input_guard) and go through the same function. */
static void category_strikes(chat_req *c) {
  if (!c->gw->cfg.auth_required) return;
  const char *hit = record_strike_category(c->cfg, c->mod.j.input_hits);
  if (!hit || json_object_get(c->detail, "category_strike")) return;
  abuse_strike(c, "abuse/category", json_pack("{s:s, s:s}", "category", hit, "response_id", c->id));
  json_object_set_new(c->detail, "category_strike", json_string(hit));
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
 *   opening     the request's state (chat_req): the configuration held to the end, each stage's state opened
 *               (moderation_open holds the lexicon and takedowns, relay_init, labels_init)
 *   moderation  the prompt through the moderation stage (moderation_prompt), near-duplicates and category strikes
 *               (abuse.c); a blocked prompt is refused here with its record
 *   relay       the prompt's images read and judged, the guard model on the prompt when configured, then the
 *               upstream (the answer streamed or whole, read by the relay stage)
 * The answer's stages follow from the upstream's callbacks: the relay stage's parts go through the moderation stage
 * (stream_content, the relay_sink), then the labels stage (labels_signed), and the record (complete: the audit
 * record durable before the last byte, then strikes, usage, metrics in finish: the one exit). */

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
  const hg_config *cfg = cfg_acquire(gw); /* held to the end of the request, however long it streams */
  if (!c || !model || !(c->detail = json_object()) ||
      moderation_open(&c->mod, cfg, hg_lexicon_slot_acquire(gw->lexicon), acquire_takedowns(gw), c->detail,
                      in->arena)) {
    if (c) json_decref(c->detail);
    cfg_release(cfg);
    send_error(rq->req, 500, "server_error", "out of memory", NULL);
    return NULL;
  }
  c->arena = in->arena;
  c->model = model;
  w->active++;
  c->w = w;
  c->gw = gw;
  c->cfg = cfg;
  c->req = rq->req;
  c->conn = evhttp_request_get_connection(rq->req);
  c->chat = chat;
  c->route = chat ? R_CHAT : R_COMPLETIONS;
  c->t0 = rq->t0;
  c->created = (long long)(hg_clock_wall_ms() / 1000); /* the test clock too: every time of hegui is one clock */
  c->verdict = "allow";
  json_object_set_new(c->detail, "profile", json_string(hg_profile_name(cfg->profile)));
  if (in->adm.minor) json_object_set_new(c->detail, "minor", json_true());
  if (in->recipient[0]) { /* the record of who received content without its explicit label (kept like every record) */
    json_object_set_new(c->detail, "explicit_label", json_string("omitted"));
    json_object_set_new(c->detail, "recipient", json_string(in->recipient));
    evhttp_add_header(evhttp_request_get_output_headers(rq->req), "X-Hegui-Explicit-Label", "omitted");
  }
  if (in->adm.remind_minutes) json_object_set_new(c->detail, "reminder_minutes", json_integer(in->adm.remind_minutes));
  c->adm = in->adm;
  pseudonym(gw, rq->key.user, c->actor);
  snprintf(c->user, sizeof c->user, "%s", rq->key.user);
  c->key_id = rq->key.key_id;
  route_trace_of(rq, &c->trace);
  c->moderated = 1;
  sha256_hex(in->raw ? in->raw : "", in->raw_len, c->input_sha);
  make_id(c);
  relay_init(&c->relay, chat, c->model, c->detail);
  c->sink = (relay_sink){sink_content, sink_call, sink_stopped, c};
  labels_init(&c->labels, cfg, c->id, gw->label_sk, in->recipient[0] != 0, c->arena);
  c->stream = json_is_true(json_object_get(in->body, "stream"));
  c->include_usage = json_is_true(json_object_get(json_object_get(in->body, "stream_options"), "include_usage"));
  if (c->conn) evhttp_connection_set_closecb(c->conn, on_client_close, c);
  return c;
}

/* 1 when the prompt was refused (the refusal and its record are sent; c is finished) */
static int stage_moderate(chat_req *c, chat_input *in) {
  const hg_config *cfg = c->cfg;
  int changed = 0;
  int blocked = moderation_prompt(&c->mod, &in->pt, &changed);
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

/* The prompt's images judged (prompt_images.h): a vision guard, when on, judges the pictures themselves. */
static int judge_images(chat_req *c, const images_read *r) {
  int vision = c->cfg->guard.images && guard_wanted(c->cfg, HG_DIR_INPUT);
  return images_judge(&c->mod.j, c->nimages, r, vision, &c->gw->metrics);
}

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
    } else if (fetch_image_url(r->cfg, r->urls[i], &r->gw->stopping, &bytes, &len, r->errors[i], sizeof r->errors[i]) ==
               0) {
      r->ok[i] = !hg_ocr_read(engine, bytes, len, &r->results[i], &err);
      metrics_ocr(&r->gw->metrics, r->ok[i] ? &r->results[i] : NULL);
      if (!r->ok[i]) snprintf(r->errors[i], sizeof r->errors[i], "%.199s", err.message);
      free(bytes);
    }
  }
}

static void on_images_read(void *arg) { /* back on the loop */
  images_read *r = arg;
  chat_req *c = r->ctx;
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
  const char *urls[MAX_PROMPT_IMAGES];
  size_t n = prompt_image_urls(c->cfg, body, urls, MAX_PROMPT_IMAGES);
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
  /* out of memory for the reading: judged as if media.ocr were off (unjudged), never passed unread */
  images_read *r = c->cfg->media_ocr ? images_read_new(c, c->gw, c->cfg, c->images, c->nimages) : NULL;
  if (r) {
    c->relay_out = out;
    c->ocr_pending = 1;
    if (!run_then(c->w, read_images, on_images_read, r)) return;
    c->ocr_pending = 0;
    c->relay_out = NULL;
    images_read_failed(r, "the OCR thread could not start"); /* nothing was read */
  }
  int blocked = judge_images(c, r);
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

/* POST /v1/chat/completions and /v1/completions */
void route_chat(route_req *rq) { handle_completion(rq, 1); }

void route_completions(route_req *rq) { handle_completion(rq, 0); }
