/* log.c — leveled text or JSON Lines on one descriptor (base/log.h). A line is built in a stack buffer and written
 * with one write(2); a message longer than the line is cut (ending in "...") rather than split over two lines, and
 * a JSON line stays one valid object however much its message grew by escaping. */
#include "base/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"

#define LINE_MAX_BYTES 4096

typedef struct line {
  char buf[LINE_MAX_BYTES];
  size_t len;
} line;

static void put(line *l, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (l->len >= sizeof l->buf - 1) return; /* not reached: messages stop TAIL_ROOM before; the newline's room */
    l->buf[l->len++] = s[i];
  }
}

static void puts_(line *l, const char *s) { put(l, s, strlen(s)); }

static void putf(line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(line *l, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n > 0) put(l, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* A message is cut with "..." where fewer than this many bytes of the line are left, so that what follows it (the
 * closing quote and brace) always fits and a JSON line stays valid. */
#define TAIL_ROOM 32

static int near_end(const line *l) { return l->len + TAIL_ROOM > sizeof l->buf; }

/* s as a JSON string; bytes that are not valid UTF-8 are not checked here: hegui's messages and routes are its own
 * or already bounded, and control characters are escaped so that a line stays one line */
static void put_json_string(line *l, const char *s) {
  put(l, "\"", 1);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (near_end(l)) {
      put(l, "...", 3);
      break;
    }
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', (char)c};
      put(l, e, 2);
    } else if (c < 0x20 || c == 0x7F) {
      putf(l, "\\u%04x", c);
    } else {
      put(l, (const char *)&c, 1);
    }
  }
  put(l, "\"", 1);
}

/* in text, a message's line breaks would start lines a reader takes for new messages */
static void put_text(line *l, const char *s) {
  for (; *s; s++) {
    if (near_end(l)) {
      put(l, "...", 3);
      break;
    }
    char c = (unsigned char)*s < 0x20 ? ' ' : *s;
    put(l, &c, 1);
  }
}

static void put_time(line *l) {
  int64_t ms = hg_clock_wall_ms();
  time_t sec = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&sec, &tm);
  char ts[40];
  strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
  putf(l, "{\"ts\":\"%s.%03dZ\"", ts, (int)(ms % 1000));
}

static void flush(const hg_log *log, line *l) {
  l->buf[l->len++] = '\n';
  for (size_t off = 0; off < l->len;) {
    ssize_t n = write(log->fd, l->buf + off, l->len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return; /* nowhere to say so */
    off += (size_t)n;
  }
}

void hg_log_init(hg_log *log) {
  log->level = HG_LOG_INFO;
  log->json = 0;
  log->access = 1;
  log->fd = 2;
}

const char *hg_log_level_name(hg_log_level level) {
  static const char *const names[] = {"debug", "info", "warn", "error"};
  return level >= HG_LOG_DEBUG && level <= HG_LOG_ERROR ? names[level] : "info";
}

void hg_log_write(const hg_log *log, hg_log_level level, const char *fmt, ...) {
  if (level < log->level) return;
  char msg[LINE_MAX_BYTES];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (n >= (int)sizeof msg) memcpy(msg + sizeof msg - 4, "...", 4); /* longer than any line: cut, and say so */
  line l = {.len = 0};
  if (log->json) {
    put_time(&l);
    putf(&l, ",\"level\":\"%s\",\"msg\":", hg_log_level_name(level));
    put_json_string(&l, msg);
    put(&l, "}", 1);
  } else {
    puts_(&l, "hegui: ");
    if (level != HG_LOG_INFO) putf(&l, "%s: ", hg_log_level_name(level));
    put_text(&l, msg);
  }
  flush(log, &l);
}

void hg_log_access_write(const hg_log *log, const hg_log_access *a) {
  if (!log->access || log->level > HG_LOG_INFO) return;
  line l = {.len = 0};
  if (log->json) {
    put_time(&l);
    puts_(&l, ",\"level\":\"info\",\"event\":\"access\",\"request_id\":");
    put_json_string(&l, a->request_id ? a->request_id : "");
    if (a->key_id > 0) putf(&l, ",\"key_id\":%lld", (long long)a->key_id);
    puts_(&l, ",\"method\":");
    put_json_string(&l, a->method ? a->method : "");
    puts_(&l, ",\"route\":");
    put_json_string(&l, a->route ? a->route : "");
    putf(&l, ",\"status\":%d", a->status);
    if (a->verdict) {
      puts_(&l, ",\"verdict\":");
      put_json_string(&l, a->verdict);
    }
    if (a->upstream_ms >= 0) putf(&l, ",\"upstream_ms\":%.3f", a->upstream_ms);
    putf(&l, ",\"total_ms\":%.3f}", a->total_ms);
  } else {
    puts_(&l, "hegui: access ");
    put_text(&l, a->method ? a->method : "-");
    puts_(&l, " ");
    put_text(&l, a->route ? a->route : "-");
    putf(&l, " %d id=", a->status);
    put_text(&l, a->request_id && *a->request_id ? a->request_id : "-");
    if (a->key_id > 0)
      putf(&l, " key=%lld", (long long)a->key_id);
    else
      puts_(&l, " key=-");
    puts_(&l, " verdict=");
    put_text(&l, a->verdict ? a->verdict : "-");
    if (a->upstream_ms >= 0)
      putf(&l, " upstream_ms=%.1f", a->upstream_ms);
    else
      puts_(&l, " upstream_ms=-");
    putf(&l, " total_ms=%.1f", a->total_ms);
  }
  flush(log, &l);
}
