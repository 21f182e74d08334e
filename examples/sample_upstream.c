/* sample_upstream.c — a small model server that speaks OpenAI's HTTP API: the upstream behind hegui in the README
 * tour, the fake upstream of the integration tests and the backend of the benchmarks.
 *
 * It serves GET /v1/models, POST /v1/chat/completions and POST /v1/completions, as JSON or as a server-sent event
 * stream shaped like api.openai.com's. The answers are canned and deterministic, chosen from the last user message
 * (the table is in examples/README.md); markers such as __stall__ or __bytes__ in that message make the server
 * misbehave the ways real upstreams do, so that the gateway's handling of each can be tested. "tool: NAME ARGS"
 * asks for a tool call instead of text, and a conversation that ends with a tool's result gets that result back.
 *
 * One libevent loop on one thread. A reply that takes time (a stream, a delay, a pathology) is a `job`: a small
 * state machine advanced by a timer, which owns its answer and learns when the client has gone away — from
 * libevent when a write fails, and from its own look at the socket while it has nothing to write. */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "sample_media.h"

#define MODEL_ID "sample-1"
#define MAX_BODY_BYTES (1 << 20)
#define MAX_HEADER_BYTES (64 << 10)
#define HUGE_ANSWER_BYTES (200 << 10)
#define FLOOD_ANSWER_BYTES (24u << 20) /* __flood__: more than a client that stops reading may leave unread */
#define FLOOD_DELTA_BYTES (64u << 10)
#define SLOWSTART_MS 3000
#define HOLD_AFTER_BYTES 240 /* --hold-file: a stream's first sentences go out before it waits */
#define HOLD_POLL_MS 10
#define PAUSE_MS 2500 /* __pause__: longer than a gateway's short test timeouts, far below its idle timeout */
#define LIVENESS_POLL_MS 200
#define SPLIT_GAP_MS 5      /* between the two halves of a __splitutf8__ event, so they arrive apart */
#define DROP_AFTER_DELTAS 3 /* content deltas a __drop__ stream sends before it hangs up */
#define DROP_RECHECK_MS 10  /* __drop__ waits for what it sent to leave the process before closing */
#define MAX_TOOL_CALLS 8    /* "tool:" requests in one message that are answered */

/* ------------------------------------------------------------------------------------------------------------ */
/* The canned answers.                                                                                          */

static const char answer_greeting[] =
    "你好！我是 sample_upstream 的示例模型，很高兴见到你。Hello! I am the sample model of sample_upstream. "
    "How can I help you today?";
static const char answer_weather[] =
    "今天天气晴朗，气温 18 到 25 摄氏度，微风，适合出门散步。The weather today is sunny, 18 to 25 °C with a "
    "light breeze: a good day for a walk.";
static const char answer_drug[] = "这个问题我可以回答。冰毒是一种毒品，学名甲基苯丙胺，会严重损害大脑和身体，"
                                  "极易成瘾。请远离毒品，珍爱生命。";
static const char answer_default[] = "This is a sample answer from sample_upstream. 这是一个来自示例上游的回答。";
static const char answer_story[] =
    "从前，在海边的一个小渔村里，住着一个名叫阿明的少年。阿明的父亲是村里最好的渔夫，每天天还没亮就驾着小船出海，"
    "直到夕阳西下才回来。阿明最喜欢做的事，就是坐在码头的石阶上，等着父亲的船从远处的海平线上慢慢出现。\n"
    "有一年秋天，海上起了一场大风暴。乌云压得很低，海浪一个接一个地拍打着岸边的礁石。村里的渔船都早早回了港，"
    "只有阿明父亲的船还没有回来。天渐渐黑了，风越刮越大，人们聚在码头上，焦急地望着漆黑的大海，却什么也看不见。\n"
    "阿明想起了村头那座废弃多年的灯塔。灯塔的灯早就坏了，可是塔顶还留着一面大铜镜和一盏旧油灯。他顾不上大人们的"
    "劝阻，提着一桶灯油，顶着风雨向灯塔跑去。塔里的楼梯又窄又陡，木板在脚下吱吱作响，他一连摔了好几跤，膝盖都磕"
    "破了，却始终没有松开手里的油桶。\n"
    "终于，他爬到了塔顶。他用冻得发抖的手点亮了油灯，又把铜镜慢慢转向大海。一束微弱却坚定的光穿过雨幕，照向远方"
    "。过了很久很久，海面上隐约出现了一点回应的灯火，那正是父亲的船。父亲顺着灯光绕开了暗礁，平安地驶进了港湾。\n"
    "第二天，风停了，太阳照在平静的海面上。全村的人一起动手，修好了灯塔，换上了新的灯。从那以后，每到风雨之夜，"
    "灯塔都会亮起来，为晚归的渔船指路。阿明长大以后，成了这座灯塔的守护人。他常常对村里的孩子们说：只要心里有光"
    "，再黑的夜也能找到回家的路。很多年过去了，人们把这座灯塔叫作“阿明的灯塔”，它的光一直亮到了今天。";

/* Markers: anywhere in the last user message, each switches on one misbehaviour. */
enum {
  MARK_BYTES = 1u << 0,
  MARK_SPLITUTF8 = 1u << 1,
  MARK_HUGE = 1u << 2,
  MARK_STALL = 1u << 3,
  MARK_DROP = 1u << 4,
  MARK_BADJSON = 1u << 5,
  MARK_500 = 1u << 6,
  MARK_429 = 1u << 7,
  MARK_SLOWSTART = 1u << 8,
  MARK_ODDFIELDS = 1u << 9,
  MARK_FUNCTION_CALL = 1u << 10,
  MARK_PAUSE = 1u << 11,
  MARK_FLOOD = 1u << 12,
};
static const struct {
  const char *text;
  unsigned flag;
} marker_table[] = {
    {"__bytes__", MARK_BYTES},
    {"__splitutf8__", MARK_SPLITUTF8},
    {"__huge__", MARK_HUGE},
    {"__stall__", MARK_STALL},
    {"__drop__", MARK_DROP},
    {"__badjson__", MARK_BADJSON},
    {"__500__", MARK_500},
    {"__429__", MARK_429},
    {"__slowstart__", MARK_SLOWSTART},
    {"__oddfields__", MARK_ODDFIELDS},
    {"__function_call__", MARK_FUNCTION_CALL},
    {"__pause__", MARK_PAUSE},
    {"__flood__", MARK_FLOOD},
};
#define MARKS_IN_PIECES (MARK_BYTES | MARK_SPLITUTF8)

static void die_out_of_memory(void) {
  fputs("sample_upstream: out of memory\n", stderr);
  abort();
}

static void *checked(void *p) {
  if (!p) die_out_of_memory();
  return p;
}

static char *copy_bytes(const char *s, size_t len) {
  char *d = checked(malloc(len + 1));
  memcpy(d, s, len);
  d[len] = '\0';
  return d;
}

static size_t utf8_char_count(const char *s, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++)
    n += ((unsigned char)s[i] & 0xC0) != 0x80;
  return n;
}

/* Bytes taken by the first `chars` characters of s (valid UTF-8: jansson checks every string it parses). */
static size_t utf8_prefix_bytes(const char *s, size_t len, size_t chars) {
  size_t i = 0;
  while (i < len && chars > 0) {
    i++;
    while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
      i++;
    chars--;
  }
  return i;
}

static long long tokens_for_chars(size_t chars) { return (long long)((chars + 1) / 2); }

static unsigned find_marks(const char *text) {
  unsigned marks = 0;
  for (size_t i = 0; i < sizeof marker_table / sizeof marker_table[0]; i++)
    if (strstr(text, marker_table[i].text)) marks |= marker_table[i].flag;
  return marks;
}

/* The answer to `text`, first rule that applies wins; the table is documented in examples/README.md. */
static char *choose_answer(const char *text, unsigned marks, size_t *len_out) {
  const char *echo = strstr(text, "echo:");
  const char *base;
  size_t base_len;
  if (echo) {
    base = echo + 5;
    if (*base == ' ') base++; /* "echo: x" says "x" */
    base_len = strlen(base);
  } else {
    /* "危险" (dangerous) or __unsafe__ asks for the same answer with a clean prompt: the gateway must cut it */
    if (strstr(text, "冰毒") || strstr(text, "危险") || strstr(text, "__unsafe__"))
      base = answer_drug;
    else if (strstr(text, "你好") || strcasestr(text, "hello"))
      base = answer_greeting;
    else if (strstr(text, "天气") || strcasestr(text, "weather"))
      base = answer_weather;
    else if (strstr(text, "故事") || strcasestr(text, "story"))
      base = answer_story;
    else
      base = answer_default;
    base_len = strlen(base);
  }
  if (!(marks & (MARK_HUGE | MARK_FLOOD))) {
    *len_out = base_len;
    return copy_bytes(base, base_len);
  }
  if (base_len == 0) base = answer_default, base_len = strlen(answer_default);
  size_t want = marks & MARK_FLOOD ? FLOOD_ANSWER_BYTES : HUGE_ANSWER_BYTES;
  size_t copies = (want + base_len - 1) / base_len;
  char *huge = checked(malloc(copies * base_len + 1));
  for (size_t i = 0; i < copies; i++)
    memcpy(huge + i * base_len, base, base_len);
  huge[copies * base_len] = '\0';
  *len_out = copies * base_len;
  return huge;
}

/* A tool call the answer makes instead of text. */
typedef struct tool_spec {
  char *name, *arguments;
} tool_spec;

/* "tool: NAME ARGUMENTS", once per call: the name is the word after "tool:", the arguments the rest up to the next
 * "tool:" (or the end), without the spaces around them. Returns the number of calls found (at most cap). */
static size_t parse_tool_calls(const char *text, tool_spec *out, size_t cap) {
  size_t n = 0;
  const char *at = strstr(text, "tool:");
  while (at && n < cap) {
    const char *p = at + 5, *next = strstr(p, "tool:"), *end = next ? next : p + strlen(p);
    while (p < end && *p == ' ')
      p++;
    const char *name_end = p;
    while (name_end < end && *name_end != ' ' && *name_end != '\n')
      name_end++;
    const char *args = name_end;
    while (args < end && (*args == ' ' || *args == '\n'))
      args++;
    const char *args_end = end;
    while (args_end > args && (args_end[-1] == ' ' || args_end[-1] == '\n'))
      args_end--;
    out[n].name = copy_bytes(p, (size_t)(name_end - p));
    out[n].arguments = copy_bytes(args, (size_t)(args_end - args));
    n++;
    at = next;
  }
  return n;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* The server and its jobs.                                                                                     */

typedef enum api_kind { API_CHAT, API_COMPLETION } api_kind;

typedef struct job job;

typedef struct server {
  struct event_base *base;
  struct evhttp *http;
  unsigned delay_ms;
  int quiet;
  const char *record_path;              /* --record-requests: each request body is appended here, one JSON line */
  const char *hold_path;                /* --hold-file: streams wait after their first text while this is absent */
  unsigned long long responses_started; /* numbers the response ids */
  job *jobs;                            /* every live job, so that shutdown can free them */
} server;

typedef enum job_phase {
  PHASE_START,   /* nothing sent yet: waiting out __slowstart__ or --delay-ms */
  PHASE_ROLE,    /* chat streams open with a delta holding only the role */
  PHASE_CONTENT, /* content deltas until the answer is used up */
  PHASE_FINISH,  /* the chunk with finish_reason "stop" */
  PHASE_USAGE,   /* the usage chunk, when stream_options.include_usage asked for it */
  PHASE_DONE,    /* data: [DONE] */
  PHASE_END,     /* end the HTTP reply */
  PHASE_STALLED, /* __stall__: nothing more, ever */
  PHASE_DROP,    /* __drop__: hang up once what was sent has left the process */
} job_phase;

struct job {
  server *srv;
  job *prev, *next;
  /* The request. Invariant: while client_gone is 0 it is attached to its connection, which frees it if it dies;
   * once client_gone is 1 it is either NULL (freed with the connection) or detached, and then ours to free. */
  struct evhttp_request *req;
  int client_gone;
  struct event *step_timer, *liveness_timer;
  api_kind api;
  int stream, include_usage, slowstart_done, delay_done, reply_started, paused;
  unsigned hold_polls; /* --hold-file: polls while held (a keep-alive comment every 25) */
  unsigned marks;
  job_phase phase;
  char id[64];
  long long created, prompt_tokens, completion_tokens;
  char *model, *answer;
  size_t answer_len, answer_pos;
  unsigned deltas_sent;
  /* tool calls answered instead of text: the one being streamed, and how much of its arguments went out */
  tool_spec calls[MAX_TOOL_CALLS];
  size_t ncalls, call_at, call_pos;
  int call_opened;
  /* The event being written in pieces (__bytes__, __splitutf8__): bytes before piece_pos have been handed over. */
  char *piece_data;
  size_t piece_len, piece_pos, piece_split;
};

static void log_reply(const server *srv, const char *path, int status, const char *what) {
  if (!srv->quiet) fprintf(stderr, "sample_upstream: %s %d %s\n", path, status, what);
}

static const char *request_path(struct evhttp_request *req) {
  const char *uri = evhttp_request_get_uri(req);
  return uri ? uri : "-";
}

static void send_json(server *srv, struct evhttp_request *req, int status, json_t *doc, const char *what) {
  char *text = checked(json_dumps(doc, JSON_COMPACT));
  json_decref(doc);
  struct evbuffer *body = checked(evbuffer_new());
  evbuffer_add(body, text, strlen(text));
  free(text);
  evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
  evhttp_send_reply(req, status, status == 429 ? "Too Many Requests" : NULL, body); /* libevent lacks 429's */
  evbuffer_free(body);
  log_reply(srv, request_path(req), status, what);
}

/* OpenAI's error shape. param and code may be NULL (sent as JSON null). */
static void send_error(server *srv, struct evhttp_request *req, int status, const char *type, const char *param,
                       const char *code, const char *fmt, ...) {
  char message[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  json_t *doc = checked(
      json_pack("{s:{s:s, s:s, s:s?, s:s?}}", "error", "message", message, "type", type, "param", param, "code", code));
  send_json(srv, req, status, doc, message);
}

static void job_step(evutil_socket_t fd, short what, void *arg);
static void job_check_liveness(evutil_socket_t fd, short what, void *arg);

static const char *job_path(const job *j) { return j->api == API_CHAT ? "/v1/chat/completions" : "/v1/completions"; }

static void job_schedule(job *j, unsigned ms) {
  struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
  evtimer_add(j->step_timer, &tv);
}

/* Everything a reply needs, before anything is sent. The job does not run until job_launch(). */
static job *job_new(server *srv, struct evhttp_request *req, api_kind api, const char *model, char *answer,
                    size_t answer_len, unsigned marks) {
  job *j = checked(calloc(1, sizeof *j));
  j->srv = srv;
  j->req = req;
  j->api = api;
  j->marks = marks;
  j->model = copy_bytes(model, strlen(model));
  j->answer = answer;
  j->answer_len = answer_len;
  j->created = (long long)time(NULL);
  snprintf(j->id, sizeof j->id, "%s%08llx%016llx", api == API_CHAT ? "chatcmpl-" : "cmpl-",
           (unsigned long long)j->created & 0xffffffffu, ++srv->responses_started);
  return j;
}

static void job_free(job *j) {
  if (j->step_timer) { /* launched */
    if (j->prev)
      j->prev->next = j->next;
    else
      j->srv->jobs = j->next;
    if (j->next) j->next->prev = j->prev;
    event_free(j->step_timer);
    event_free(j->liveness_timer);
  }
  free(j->model);
  free(j->answer);
  free(j->piece_data);
  for (size_t i = 0; i < j->ncalls; i++) {
    free(j->calls[i].name);
    free(j->calls[i].arguments);
  }
  free(j);
}

/* libevent is closing the connection (a write failed, or timed out). Finish from the loop, not from inside
 * libevent's teardown. */
static void on_connection_close(struct evhttp_connection *evcon, void *arg) {
  (void)evcon;
  job *j = arg;
  j->client_gone = 1;
  if (j->req && evhttp_request_get_connection(j->req) != NULL) j->req = NULL; /* freed with the connection */
  evtimer_del(j->liveness_timer);
  job_schedule(j, 0);
}

static void job_launch(job *j) {
  server *srv = j->srv;
  j->step_timer = checked(evtimer_new(srv->base, job_step, j));
  j->liveness_timer = checked(event_new(srv->base, -1, EV_PERSIST, job_check_liveness, j));
  j->next = srv->jobs;
  if (srv->jobs) srv->jobs->prev = j;
  srv->jobs = j;

  struct evhttp_connection *evcon = evhttp_request_get_connection(j->req);
  evhttp_connection_set_closecb(evcon, on_connection_close, j);
  /* Each event (or piece) leaves in its own segment, as a real streaming server's would. */
  int one = 1;
  evutil_socket_t fd = bufferevent_getfd(evhttp_connection_get_bufferevent(evcon));
  if (fd >= 0) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct timeval poll = {.tv_sec = 0, .tv_usec = LIVENESS_POLL_MS * 1000};
  evtimer_add(j->liveness_timer, &poll);
  job_schedule(j, 0);
}

static void job_detach_from_connection(job *j) {
  struct evhttp_connection *evcon = j->req ? evhttp_request_get_connection(j->req) : NULL;
  if (evcon) evhttp_connection_set_closecb(evcon, NULL, NULL);
}

/* Closes the connection under the request now, with no reply or a partial one. Frees the job. */
static void job_hang_up(job *j, const char *why) {
  struct evhttp_connection *evcon = evhttp_request_get_connection(j->req);
  log_reply(j->srv, job_path(j), j->reply_started ? 200 : 0, why);
  evhttp_connection_set_closecb(evcon, NULL, NULL);
  evhttp_connection_free(evcon); /* frees the request too */
  j->req = NULL;
  job_free(j);
}

static void job_end_reply(job *j) {
  job_detach_from_connection(j);
  log_reply(j->srv, job_path(j), 200, j->stream ? "stream" : "json");
  evhttp_send_reply_end(j->req);
  j->req = NULL;
  job_free(j);
}

/* While the job has nothing to write, libevent does not read the socket either, so it would never notice a client
 * that left; peek at the socket ourselves. */
static void job_check_liveness(evutil_socket_t fd_unused, short what, void *arg) {
  (void)fd_unused, (void)what;
  job *j = arg;
  if (j->client_gone || !j->req) return;
  struct evhttp_connection *evcon = evhttp_request_get_connection(j->req);
  if (!evcon) return;
  evutil_socket_t fd = bufferevent_getfd(evhttp_connection_get_bufferevent(evcon));
  if (fd < 0) return;
  char byte;
  ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
    job_hang_up(j, "client went away");
}

static void job_after_emit(job *j) { job_schedule(j, j->phase == PHASE_END ? 0 : j->srv->delay_ms); }

static void on_piece_written(struct evhttp_connection *evcon, void *arg) {
  (void)evcon;
  job *j = arg;
  if (j->piece_pos < j->piece_len) {
    job_schedule(j, (j->marks & MARK_SPLITUTF8) ? SPLIT_GAP_MS : j->srv->delay_ms);
    return;
  }
  free(j->piece_data);
  j->piece_data = NULL;
  job_after_emit(j);
}

static void job_send_next_piece(job *j) {
  size_t end = j->piece_len;
  if (j->marks & MARK_BYTES)
    end = j->piece_pos + 1;
  else if (j->piece_pos < j->piece_split)
    end = j->piece_split;
  struct evbuffer *piece = checked(evbuffer_new());
  evbuffer_add(piece, j->piece_data + j->piece_pos, end - j->piece_pos);
  j->piece_pos = end;
  /* The callback runs once the piece has left the output buffer: only then does the next one go. */
  evhttp_send_reply_chunk_with_cb(j->req, piece, on_piece_written, j);
  evbuffer_free(piece);
}

/* Sends one event (or a whole non-streaming body); takes ownership of data. The next step is scheduled once it
 * has been handed over. */
static void job_emit(job *j, char *data, size_t len) {
  if (!(j->marks & MARKS_IN_PIECES) || len < 2) {
    struct evbuffer *buf = checked(evbuffer_new());
    evbuffer_add(buf, data, len);
    free(data);
    evhttp_send_reply_chunk(j->req, buf);
    evbuffer_free(buf);
    job_after_emit(j);
    return;
  }
  j->piece_data = data;
  j->piece_len = len;
  j->piece_pos = 0;
  /* __splitutf8__ cuts after the first byte of the first multi-byte character, or in the middle if there is none. */
  j->piece_split = len / 2;
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)data[i] >= 0xC0) {
      j->piece_split = i + 1;
      break;
    }
  job_send_next_piece(j);
}

/* "data: {json}\n\n"; takes the chunk. */
static char *sse_event(json_t *chunk, int break_json, size_t *len_out) {
  char *text = checked(json_dumps(chunk, JSON_COMPACT));
  json_decref(chunk);
  size_t len = strlen(text);
  if (break_json) len--; /* __badjson__: without its closing brace the data is no longer JSON */
  char *event = checked(malloc(len + 9));
  memcpy(event, "data: ", 6);
  memcpy(event + 6, text, len);
  memcpy(event + 6 + len, "\n\n", 3);
  free(text);
  *len_out = len + 8;
  return event;
}

static json_t *usage_object(const job *j) {
  json_t *usage = checked(json_pack("{s:I, s:I, s:I}", "prompt_tokens", j->prompt_tokens, "completion_tokens",
                                    j->completion_tokens, "total_tokens", j->prompt_tokens + j->completion_tokens));
  if (j->marks & MARK_ODDFIELDS) { /* members no client expects, some holding text */
    json_t *odd =
        checked(json_pack("{s:s, s:{s:i, s:s, s:i}, s:{s:i}, s:{s:i}}", "note", "冰毒", "prompt_tokens_details",
                          "cached_tokens", 0, "冰毒", "毒品", "毒", 1, "completion_tokens_details", "reasoning_tokens",
                          0, "bingdu_tokens_details", "bingdu_tokens", 1));
    json_object_update(usage, odd);
    json_decref(odd);
  }
  return usage;
}

/* __oddfields__ answers with a finish reason no client expects, holding a word the gateway blocks. */
static const char *finish_reason_of(const job *j) {
  if (j->marks & MARK_ODDFIELDS) return "冰毒";
  if (j->ncalls) return (j->marks & MARK_FUNCTION_CALL) ? "function_call" : "tool_calls";
  return "stop";
}

/* The model name in answers: the request's own, or with __oddfields__ one holding a word the gateway blocks. */
static const char *model_of(const job *j) { return (j->marks & MARK_ODDFIELDS) ? "sample-1-冰毒" : j->model; }

static const char *call_id(const job *j, size_t i, char *out, size_t cap) {
  snprintf(out, cap, "call_%zu%s", i, j->id + strlen(j->id) - 8);
  return out;
}

/* The message's tool calls ("tool_calls", or "function_call" with __function_call__) for a whole answer. */
static json_t *calls_member(const job *j) {
  char id[48];
  if (j->marks & MARK_FUNCTION_CALL)
    return checked(
        json_pack("{s:{s:s, s:s}}", "function_call", "name", j->calls[0].name, "arguments", j->calls[0].arguments));
  json_t *calls = checked(json_array());
  for (size_t i = 0; i < j->ncalls; i++)
    json_array_append_new(
        calls, checked(json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", call_id(j, i, id, sizeof id), "type", "function",
                                 "function", "name", j->calls[i].name, "arguments", j->calls[i].arguments)));
  return checked(json_pack("{s:o}", "tool_calls", calls));
}

/* One streamed chunk with one choice: for chat, `delta` is the delta object (taken); for completions, `text` is the
 * choice's text. */
static json_t *stream_chunk(const job *j, json_t *delta, const char *text, size_t text_len, const char *finish_reason) {
  json_t *choice = j->api == API_CHAT ? json_pack("{s:i, s:o, s:n, s:s?}", "index", 0, "delta", delta, "logprobs",
                                                  "finish_reason", finish_reason)
                                      : json_pack("{s:s%, s:i, s:n, s:s?}", "text", text, text_len, "index", 0,
                                                  "logprobs", "finish_reason", finish_reason);
  json_t *chunk =
      j->api == API_CHAT
          ? json_pack("{s:s, s:s, s:I, s:s, s:n, s:[o]}", "id", j->id, "object", "chat.completion.chunk", "created",
                      j->created, "model", model_of(j), "system_fingerprint", "choices", checked(choice))
          : json_pack("{s:s, s:s, s:I, s:s, s:[o]}", "id", j->id, "object", "text_completion", "created", j->created,
                      "model", model_of(j), "choices", checked(choice));
  checked(chunk);
  /* With include_usage, OpenAI puts "usage": null in every chunk before the last. */
  if (j->include_usage) json_object_set_new(chunk, "usage", json_null());
  return chunk;
}

/* The chunk after the last choice: no choices, the usage of the whole request. */
static json_t *usage_chunk(const job *j) {
  json_t *chunk =
      j->api == API_CHAT
          ? json_pack("{s:s, s:s, s:I, s:s, s:n, s:[], s:o}", "id", j->id, "object", "chat.completion.chunk", "created",
                      j->created, "model", model_of(j), "system_fingerprint", "choices", "usage", usage_object(j))
          : json_pack("{s:s, s:s, s:I, s:s, s:[], s:o}", "id", j->id, "object", "text_completion", "created",
                      j->created, "model", model_of(j), "choices", "usage", usage_object(j));
  return checked(chunk);
}

/* The non-streaming body; with __badjson__ it is cut short of its closing brace. */
static char *full_response_text(const job *j, size_t *len_out) {
  json_t *doc =
      j->api == API_CHAT
          ? json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:{s:s, s:s%}, s:n, s:s}], s:o, s:n}", "id", j->id, "object",
                      "chat.completion", "created", j->created, "model", model_of(j), "choices", "index", 0, "message",
                      "role", "assistant", "content", j->answer, j->answer_len, "logprobs", "finish_reason",
                      finish_reason_of(j), "usage", usage_object(j), "system_fingerprint")
          : json_pack("{s:s, s:s, s:I, s:s, s:[{s:s%, s:i, s:n, s:s}], s:o}", "id", j->id, "object", "text_completion",
                      "created", j->created, "model", model_of(j), "choices", "text", j->answer, j->answer_len, "index",
                      0, "logprobs", "finish_reason", finish_reason_of(j), "usage", usage_object(j));
  checked(doc);
  if (j->ncalls) { /* a tool call's message has no content */
    json_t *message = json_object_get(json_array_get(json_object_get(doc, "choices"), 0), "message");
    json_t *calls = calls_member(j);
    json_object_set_new(message, "content", json_null());
    json_object_update(message, calls);
    json_decref(calls);
  }
  char *text = checked(json_dumps(doc, JSON_COMPACT));
  json_decref(doc);
  *len_out = strlen(text);
  if (j->marks & MARK_BADJSON) (*len_out)--;
  return text;
}

static void job_emit_content_delta(job *j) {
  static const unsigned char chars_per_delta[] = {2, 1, 3, 2, 3, 1, 1, 2};
  size_t left = j->answer_len - j->answer_pos;
  const char *piece = j->answer + j->answer_pos;
  size_t take = (j->marks & MARK_HUGE) ? left
                : (j->marks & MARK_FLOOD)
                    ? utf8_prefix_bytes(piece, left, FLOOD_DELTA_BYTES / 3)
                    : utf8_prefix_bytes(piece, left, chars_per_delta[j->deltas_sent % sizeof chars_per_delta]);
  j->answer_pos += take;
  j->deltas_sent++;

  if ((j->marks & MARK_DROP) && (j->deltas_sent >= DROP_AFTER_DELTAS || j->answer_pos == j->answer_len))
    j->phase = PHASE_DROP;
  else if (j->marks & MARK_STALL)
    j->phase = PHASE_STALLED; /* completions have no role chunk to stall after */
  else if (j->answer_pos == j->answer_len)
    j->phase = PHASE_FINISH;

  json_t *chunk = j->api == API_CHAT
                      ? stream_chunk(j, checked(json_pack("{s:s%}", "content", piece, take)), NULL, 0, NULL)
                      : stream_chunk(j, NULL, piece, take, NULL);
  size_t len;
  char *event = sse_event(chunk, (j->marks & MARK_BADJSON) != 0, &len);
  job_emit(j, event, len);
}

/* One delta of the tool calls: a call opens with its id and name and empty arguments, then the arguments follow in
 * pieces of 1 to 3 characters (the content's cycle), so that they arrive cut across several deltas. */
static void job_emit_tool_delta(job *j) {
  static const unsigned char chars_per_delta[] = {2, 1, 3, 2, 3, 1, 1, 2};
  tool_spec *call = &j->calls[j->call_at];
  size_t args_len = strlen(call->arguments);
  int legacy = (j->marks & MARK_FUNCTION_CALL) != 0, opening = !j->call_opened;
  json_t *function;
  char id[48];
  if (opening) {
    j->call_opened = 1;
    function = checked(json_pack("{s:s, s:s}", "name", call->name, "arguments", ""));
  } else {
    size_t take = utf8_prefix_bytes(call->arguments + j->call_pos, args_len - j->call_pos,
                                    chars_per_delta[j->deltas_sent++ % sizeof chars_per_delta]);
    function = checked(json_pack("{s:s%}", "arguments", call->arguments + j->call_pos, take));
    j->call_pos += take;
  }
  json_t *delta;
  if (legacy)
    delta = checked(json_pack("{s:o}", "function_call", function));
  else if (opening)
    delta = checked(json_pack("{s:[{s:I, s:s, s:s, s:o}]}", "tool_calls", "index", (json_int_t)j->call_at, "id",
                              call_id(j, j->call_at, id, sizeof id), "type", "function", "function", function));
  else
    delta = checked(json_pack("{s:[{s:I, s:o}]}", "tool_calls", "index", (json_int_t)j->call_at, "function", function));
  /* once a call is out, the next one (a legacy answer has only one) */
  if (opening ? args_len == 0 : j->call_pos == args_len) {
    j->call_at = legacy ? j->ncalls : j->call_at + 1;
    j->call_opened = 0;
    j->call_pos = 0;
  }
  if (j->call_at == j->ncalls) j->phase = PHASE_FINISH;
  size_t len;
  char *event = sse_event(stream_chunk(j, delta, NULL, 0, NULL), 0, &len);
  job_emit(j, event, len);
}

static void job_start_reply(job *j) {
  struct evkeyvalq *headers = evhttp_request_get_output_headers(j->req);
  evhttp_add_header(headers, "x-request-id", j->id);
  if (j->stream) {
    evhttp_add_header(headers, "Content-Type", "text/event-stream; charset=utf-8");
    evhttp_add_header(headers, "Cache-Control", "no-cache");
  } else {
    evhttp_add_header(headers, "Content-Type", "application/json");
  }
  evhttp_send_reply_start(j->req, 200, "OK");
  j->reply_started = 1;
}

/* Before the first byte: wait out __slowstart__ and --delay-ms, then misbehave or open the reply. */
static void job_begin(job *j) {
  if ((j->marks & MARK_SLOWSTART) && !j->slowstart_done) {
    j->slowstart_done = 1;
    job_schedule(j, SLOWSTART_MS);
    return;
  }
  if (!j->stream && j->srv->delay_ms && !j->delay_done) {
    j->delay_done = 1;
    job_schedule(j, j->srv->delay_ms);
    return;
  }
  if (!j->stream && (j->marks & MARK_DROP)) {
    job_hang_up(j, "__drop__ before any reply");
    return;
  }
  if (!j->stream && (j->marks & MARK_STALL)) {
    j->phase = PHASE_STALLED;
    return;
  }
  if (j->stream) {
    job_start_reply(j);
    j->phase = j->api == API_CHAT ? PHASE_ROLE : PHASE_CONTENT;
    job_schedule(j, 0);
    return;
  }
  /* A JSON body sent through the job (to be late, or in pieces) has a Content-Length, so it is not chunked. */
  size_t len;
  char *body = full_response_text(j, &len);
  char length[32];
  snprintf(length, sizeof length, "%zu", len);
  evhttp_add_header(evhttp_request_get_output_headers(j->req), "Content-Length", length);
  job_start_reply(j);
  j->phase = PHASE_END;
  job_emit(j, body, len);
}

static void job_step(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  job *j = arg;
  size_t len;
  char *event;
  if (j->client_gone) {
    if (j->req) evhttp_request_free(j->req); /* detached from its dead connection by libevent: ours */
    j->req = NULL;
    log_reply(j->srv, job_path(j), j->reply_started ? 200 : 0, "client went away");
    job_free(j);
    return;
  }
  if (j->piece_data) {
    job_send_next_piece(j);
    return;
  }
  switch (j->phase) {
  case PHASE_START: job_begin(j); break;
  case PHASE_ROLE:
    j->phase = (j->marks & MARK_STALL) ? PHASE_STALLED : PHASE_CONTENT;
    event = sse_event(
        stream_chunk(j, checked(json_pack("{s:s, s:s}", "role", "assistant", "content", "")), NULL, 0, NULL), 0, &len);
    job_emit(j, event, len);
    break;
  case PHASE_CONTENT:
    if ((j->marks & MARK_PAUSE) && !j->paused && j->answer_pos) { /* once, after the first text: silence */
      j->paused = 1;
      job_schedule(j, PAUSE_MS);
    } else if (j->srv->hold_path && j->answer_pos >= HOLD_AFTER_BYTES && access(j->srv->hold_path, F_OK) != 0) {
      /* --hold-file: a test acts while the stream is surely under way. The stream stays alive meanwhile (an SSE
       * comment every quarter of a second, as servers that keep connections alive send), so that a busy machine
       * slowing the test down cannot make the gateway's idle timeout end it */
      if (++j->hold_polls % 25 == 0) {
        struct evbuffer *buf = checked(evbuffer_new());
        static const char comment[] = ": held\n\n";
        evbuffer_add(buf, comment, sizeof comment - 1); /* without the NUL: "\0data: ..." would hide the next event */
        evhttp_send_reply_chunk(j->req, buf);
        evbuffer_free(buf);
      }
      job_schedule(j, HOLD_POLL_MS);
    } else if (j->call_at < j->ncalls) {
      job_emit_tool_delta(j);
    } else if (j->answer_pos < j->answer_len) {
      job_emit_content_delta(j);
    } else { /* an empty answer has no content deltas */
      j->phase = (j->marks & MARK_DROP) ? PHASE_DROP : (j->marks & MARK_STALL) ? PHASE_STALLED : PHASE_FINISH;
      job_schedule(j, 0);
    }
    break;
  case PHASE_FINISH:
    j->phase = j->include_usage ? PHASE_USAGE : PHASE_DONE;
    event = sse_event(j->api == API_CHAT ? stream_chunk(j, checked(json_object()), NULL, 0, finish_reason_of(j))
                                         : stream_chunk(j, NULL, "", 0, finish_reason_of(j)),
                      0, &len);
    job_emit(j, event, len);
    break;
  case PHASE_USAGE:
    j->phase = PHASE_DONE;
    event = sse_event(usage_chunk(j), 0, &len);
    job_emit(j, event, len);
    break;
  case PHASE_DONE:
    j->phase = PHASE_END;
    job_emit(j, copy_bytes("data: [DONE]\n\n", 14), 14);
    break;
  case PHASE_END: job_end_reply(j); break;
  case PHASE_STALLED: break; /* until the client leaves: see job_check_liveness */
  case PHASE_DROP: {
    struct evhttp_connection *evcon = evhttp_request_get_connection(j->req);
    if (evbuffer_get_length(bufferevent_get_output(evhttp_connection_get_bufferevent(evcon))) > 0)
      job_schedule(j, DROP_RECHECK_MS);
    else
      job_hang_up(j, "__drop__ mid-stream");
    break;
  }
  }
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Requests.                                                                                                    */

/* Appends the text of a message's content: a string, or an array of parts of which the text parts count. */
static void append_content(json_t *content, struct evbuffer *out) {
  if (json_is_string(content)) {
    evbuffer_add(out, json_string_value(content), json_string_length(content));
    return;
  }
  size_t i;
  json_t *part;
  json_array_foreach(content, i, part) {
    json_t *text = json_object_get(part, "text");
    if (!json_is_string(text)) continue;
    if (evbuffer_get_length(out) > 0) evbuffer_add(out, "\n", 1);
    evbuffer_add(out, json_string_value(text), json_string_length(text));
  }
}

static char *buffer_to_string(struct evbuffer *buf) {
  size_t len = evbuffer_get_length(buf);
  char *s = checked(malloc(len + 1));
  evbuffer_remove(buf, s, len);
  s[len] = '\0';
  return s;
}

typedef struct prompt_problem {
  const char *message, *param, *code;
} prompt_problem;

/* Finds the text the answer is chosen from (the last user message, or the last prompt string) and counts the
 * characters of the whole prompt; *tool_result_out gets the content of the last message when it is a tool's (or a
 * function's) result, NULL otherwise. Returns 0, or -1 with *problem set for a request OpenAI would refuse. */
static int read_prompt(json_t *root, api_kind api, char **text_out, char **tool_result_out, size_t *prompt_chars,
                       prompt_problem *problem) {
  struct evbuffer *last = checked(evbuffer_new()), *all = checked(evbuffer_new());
  size_t i;
  json_t *item;
  *problem = (prompt_problem){0};
  *tool_result_out = NULL;
  if (api == API_CHAT) {
    json_t *messages = json_object_get(root, "messages");
    if (!messages) {
      *problem = (prompt_problem){"Missing required parameter: 'messages'.", "messages", "missing_required_parameter"};
    } else if (!json_is_array(messages)) {
      *problem =
          (prompt_problem){"Invalid type for 'messages': expected an array of objects.", "messages", "invalid_type"};
    } else if (json_array_size(messages) == 0) {
      *problem = (prompt_problem){"Invalid 'messages': empty array. Expected an array with minimum length 1, but got "
                                  "an empty array instead.",
                                  "messages", "empty_array"};
    } else {
      json_array_foreach(messages, i, item) {
        json_t *role = json_object_get(item, "role");
        if (!json_is_string(role)) {
          *problem = (prompt_problem){"Invalid value for 'messages': each message must be an object with a string "
                                      "'role'.",
                                      "messages", "invalid_value"};
          break;
        }
        append_content(json_object_get(item, "content"), all);
        if (strcmp(json_string_value(role), "user") == 0) {
          evbuffer_drain(last, evbuffer_get_length(last));
          append_content(json_object_get(item, "content"), last);
        }
      }
      json_t *final = json_array_get(messages, json_array_size(messages) - 1);
      const char *final_role = json_string_value(json_object_get(final, "role"));
      if (!problem->message && final_role && (!strcmp(final_role, "tool") || !strcmp(final_role, "function"))) {
        struct evbuffer *result = checked(evbuffer_new());
        append_content(json_object_get(final, "content"), result);
        *tool_result_out = buffer_to_string(result);
        evbuffer_free(result);
      }
    }
  } else {
    json_t *prompt = json_object_get(root, "prompt");
    if (json_is_string(prompt)) {
      append_content(prompt, last);
      append_content(prompt, all);
    } else if (json_is_array(prompt)) {
      json_array_foreach(prompt, i, item) {
        if (!json_is_string(item)) continue; /* token arrays are accepted and not read */
        evbuffer_drain(last, evbuffer_get_length(last));
        append_content(item, last);
        append_content(item, all);
      }
    } else {
      *problem = (prompt_problem){"Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter"};
    }
  }
  if (!problem->message) {
    size_t all_len = evbuffer_get_length(all);
    *prompt_chars = all_len ? utf8_char_count((const char *)evbuffer_pullup(all, -1), all_len) : 0;
    *text_out = buffer_to_string(last);
  }
  evbuffer_free(last);
  evbuffer_free(all);
  return problem->message ? -1 : 0;
}

static void handle_completion(server *srv, struct evhttp_request *req, api_kind api) {
  struct evbuffer *input = evhttp_request_get_input_buffer(req);
  size_t body_len = evbuffer_get_length(input);
  json_error_t parse_error;
  json_t *root = body_len ? json_loadb((const char *)evbuffer_pullup(input, -1), body_len, 0, &parse_error) : NULL;
  json_t *model = json_object_get(root, "model");
  char *text = NULL, *tool_result = NULL;
  size_t prompt_chars = 0;
  prompt_problem problem;
  if (srv->record_path && json_is_object(root)) { /* what reached the model, for the tests to read */
    FILE *f = fopen(srv->record_path, "a");
    char *line = json_dumps(root, JSON_COMPACT);
    if (f && line) fprintf(f, "%s\n", line);
    if (f) fclose(f);
    free(line);
  }
  if (!json_is_object(root)) {
    send_error(srv, req, 400, "invalid_request_error", NULL, NULL,
               "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
               "HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid "
               "JSON.)");
  } else if (!json_is_string(model) || json_string_length(model) == 0) {
    send_error(srv, req, 400, "invalid_request_error", NULL, NULL, "you must provide a model parameter");
  } else if (read_prompt(root, api, &text, &tool_result, &prompt_chars, &problem) != 0) {
    send_error(srv, req, 400, "invalid_request_error", problem.param, problem.code, "%s", problem.message);
  } else {
    unsigned marks = find_marks(text);
    if (marks & MARK_500) {
      send_error(srv, req, 500, "server_error", NULL, NULL,
                 "The server had an error while processing your request. Sorry about that!");
    } else if (marks & MARK_429) {
      evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
      send_error(srv, req, 429, "requests", NULL, "rate_limit_exceeded",
                 "Rate limit reached for %s on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try "
                 "again in 1s.",
                 MODEL_ID);
    } else {
      size_t answer_len;
      char *answer;
      tool_spec calls[MAX_TOOL_CALLS];
      size_t ncalls = api == API_CHAT && !tool_result ? parse_tool_calls(text, calls, MAX_TOOL_CALLS) : 0;
      if (tool_result) { /* the tool answered: say what it said */
        answer_len = strlen("tool result: ") + strlen(tool_result);
        answer = checked(malloc(answer_len + 1));
        snprintf(answer, answer_len + 1, "tool result: %s", tool_result);
      } else if (ncalls) {
        answer = copy_bytes("", 0), answer_len = 0;
      } else {
        answer = choose_answer(text, marks, &answer_len);
      }
      job *j = job_new(srv, req, api, json_string_value(model), answer, answer_len, marks);
      memcpy(j->calls, calls, ncalls * sizeof *calls);
      j->ncalls = ncalls;
      j->stream = json_is_true(json_object_get(root, "stream"));
      j->include_usage =
          j->stream && json_is_true(json_object_get(json_object_get(root, "stream_options"), "include_usage"));
      j->prompt_tokens = tokens_for_chars(prompt_chars);
      j->completion_tokens = tokens_for_chars(utf8_char_count(answer, answer_len));
      if (j->stream || srv->delay_ms || (marks & (MARKS_IN_PIECES | MARK_STALL | MARK_DROP | MARK_SLOWSTART))) {
        job_launch(j);
      } else { /* the common case, a plain JSON answer, goes out at once */
        size_t len;
        char *body = full_response_text(j, &len);
        struct evbuffer *buf = checked(evbuffer_new());
        evbuffer_add(buf, body, len);
        free(body);
        evhttp_add_header(evhttp_request_get_output_headers(req), "x-request-id", j->id);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
        evhttp_send_reply(req, 200, "OK", buf);
        evbuffer_free(buf);
        log_reply(srv, request_path(req), 200, "json");
        job_free(j);
      }
    }
  }
  free(text);
  free(tool_result);
  json_decref(root);
}

static json_t *model_object(void) {
  return checked(
      json_pack("{s:s, s:s, s:i, s:s}", "id", MODEL_ID, "object", "model", "created", 1700000000, "owned_by", "hegui"));
}

static const char *method_name(enum evhttp_cmd_type cmd) {
  switch (cmd) {
  case EVHTTP_REQ_GET: return "GET";
  case EVHTTP_REQ_POST: return "POST";
  case EVHTTP_REQ_HEAD: return "HEAD";
  default: return "OTHER";
  }
}

static void on_request(struct evhttp_request *req, void *arg) {
  server *srv = arg;
  const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
  const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
  enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
  if (!path) path = "";
  if (cmd == EVHTTP_REQ_GET && strcmp(path, "/v1/models") == 0) {
    send_json(srv, req, 200, checked(json_pack("{s:s, s:[o]}", "object", "list", "data", model_object())), "models");
  } else if (cmd == EVHTTP_REQ_GET && strncmp(path, "/v1/models/", 11) == 0 && strcmp(path + 11, MODEL_ID) == 0) {
    send_json(srv, req, 200, model_object(), "model");
  } else if (cmd == EVHTTP_REQ_GET && strncmp(path, "/v1/models/", 11) == 0) {
    send_error(srv, req, 404, "invalid_request_error", "model", "model_not_found",
               "The model '%.200s' does not exist or you do not have access to it.", path + 11);
  } else if (cmd == EVHTTP_REQ_POST && strcmp(path, "/v1/chat/completions") == 0) {
    handle_completion(srv, req, API_CHAT);
  } else if (cmd == EVHTTP_REQ_POST && strcmp(path, "/v1/completions") == 0) {
    handle_completion(srv, req, API_COMPLETION);
  } else if (cmd == EVHTTP_REQ_POST && strcmp(path, "/v1/images/generations") == 0) {
    sample_images(req, 0, srv->hold_path);
    log_reply(srv, path, 200, "image");
  } else if (cmd == EVHTTP_REQ_POST && strcmp(path, "/v1/images/edits") == 0) {
    sample_images(req, 1, srv->hold_path);
    log_reply(srv, path, 200, "image");
  } else if (cmd == EVHTTP_REQ_POST && strcmp(path, "/v1/audio/speech") == 0) {
    sample_speech(req);
    log_reply(srv, path, 200, "audio");
  } else if (cmd == EVHTTP_REQ_POST && strcmp(path, "/v1/audio/transcriptions") == 0) {
    sample_transcription(req);
    log_reply(srv, path, 200, "text");
  } else if (cmd == EVHTTP_REQ_GET && strncmp(path, "/files/", 7) == 0) {
    sample_files(req, path + 7);
  } else {
    send_error(srv, req, 404, "invalid_request_error", NULL, NULL, "Invalid URL (%s %.200s)", method_name(cmd), path);
  }
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Startup and shutdown.                                                                                        */

static void on_signal(evutil_socket_t sig, short what, void *arg) {
  (void)sig, (void)what;
  event_base_loopexit(arg, NULL);
}

static void free_jobs(server *srv) {
  while (srv->jobs) {
    job *j = srv->jobs;
    if (j->client_gone && j->req)
      evhttp_request_free(j->req);
    else
      job_detach_from_connection(j); /* evhttp_free frees the request with its connection */
    j->req = NULL;
    job_free(j);
  }
}

static void usage(FILE *to) {
  fputs(
      "usage: sample_upstream --listen HOST:PORT [--delay-ms N] [--quiet] [--record-requests FILE] [--hold-file PATH]\n"
      "  A small OpenAI-protocol model server with canned answers (see examples/README.md).\n"
      "  --listen HOST:PORT  address to bind, e.g. 127.0.0.1:8000; port 0 picks a free one; [::1]:PORT for IPv6\n"
      "  --delay-ms N        pause N ms between streamed events, and before a non-streaming reply\n"
      "  --quiet             do not log each request on stderr\n"
      "  --hold-file PATH    (tests) a stream waits after its first sentences until PATH exists, so that a test\n"
      "                      can act while it is surely under way\n"
      "  --record-requests FILE  append each completion request's body to FILE, one JSON object a line\n",
      to);
}

/* Splits HOST:PORT or [HOST]:PORT in place. */
static int parse_listen(char *spec, char **host, unsigned *port) {
  char *colon;
  if (spec[0] == '[') {
    char *close = strchr(spec, ']');
    if (!close || close[1] != ':') return -1;
    *close = '\0';
    *host = spec + 1;
    colon = close + 1;
  } else {
    colon = strrchr(spec, ':');
    if (!colon || colon == spec) return -1;
    *colon = '\0';
    *host = spec;
  }
  char *end;
  errno = 0;
  unsigned long value = strtoul(colon + 1, &end, 10);
  if (errno || end == colon + 1 || *end || value > 65535) return -1;
  *port = (unsigned)value;
  return 0;
}

int main(int argc, char **argv) {
  static const struct option options[] = {{"listen", required_argument, NULL, 'l'},
                                          {"delay-ms", required_argument, NULL, 'd'},
                                          {"quiet", no_argument, NULL, 'q'},
                                          {"record-requests", required_argument, NULL, 'r'},
                                          {"hold-file", required_argument, NULL, 'H'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
  server srv = {0};
  char *listen_spec = NULL, *host = NULL, *end;
  unsigned port = 0;
  unsigned long delay;
  int opt;
  while ((opt = getopt_long(argc, argv, "l:d:qr:H:h", options, NULL)) != -1) {
    switch (opt) {
    case 'l': listen_spec = optarg; break;
    case 'd':
      errno = 0;
      delay = strtoul(optarg, &end, 10);
      if (errno || end == optarg || *end || delay > 600000) {
        fprintf(stderr, "sample_upstream: --delay-ms wants a number of milliseconds up to 600000, not '%s'\n", optarg);
        return 2;
      }
      srv.delay_ms = (unsigned)delay;
      break;
    case 'q': srv.quiet = 1; break;
    case 'r': srv.record_path = optarg; break;
    case 'H': srv.hold_path = optarg; break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
  }
  if (optind != argc || !listen_spec || parse_listen(listen_spec, &host, &port) != 0) {
    usage(stderr);
    return 2;
  }

  signal(SIGPIPE, SIG_IGN);
  srv.base = event_base_new();
  srv.http = srv.base ? evhttp_new(srv.base) : NULL;
  if (!srv.http) {
    fputs("sample_upstream: could not start libevent\n", stderr);
    return 1;
  }
  evhttp_set_max_body_size(srv.http, MAX_BODY_BYTES);
  evhttp_set_max_headers_size(srv.http, MAX_HEADER_BYTES);
  /* Read an oversized body to its end before answering 413, so that the client gets to see the answer. */
  evhttp_set_flags(srv.http, EVHTTP_SERVER_LINGERING_CLOSE);
  evhttp_set_allowed_methods(srv.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD);
  evhttp_set_gencb(srv.http, on_request, &srv);
  struct evhttp_bound_socket *bound = evhttp_bind_socket_with_handle(srv.http, host, (ev_uint16_t)port);
  if (!bound) {
    fprintf(stderr, "sample_upstream: cannot listen on %s:%u: %s\n", host, port, strerror(errno));
    evhttp_free(srv.http);
    event_base_free(srv.base);
    return 1;
  }
  struct sockaddr_storage addr;
  socklen_t addr_len = sizeof addr;
  if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&addr, &addr_len) == 0)
    port = ntohs(addr.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&addr)->sin6_port
                                            : ((struct sockaddr_in *)&addr)->sin_port);

  struct event *sigterm = evsignal_new(srv.base, SIGTERM, on_signal, srv.base);
  struct event *sigint = evsignal_new(srv.base, SIGINT, on_signal, srv.base);
  evsignal_add(sigterm, NULL);
  evsignal_add(sigint, NULL);

  printf(strchr(host, ':') ? "sample_upstream listening on [%s]:%u\n" : "sample_upstream listening on %s:%u\n", host,
         port);
  fflush(stdout);
  event_base_dispatch(srv.base);

  free_jobs(&srv);
  evhttp_free(srv.http);
  event_free(sigterm);
  event_free(sigint);
  event_base_free(srv.base);
  libevent_global_shutdown();
  if (!srv.quiet) fputs("sample_upstream: stopped\n", stderr);
  return 0;
}
