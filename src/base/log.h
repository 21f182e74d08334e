/* base/log.h — the one log of hegui serve: leveled lines on standard error (journald adds the time and keeps the
 * level), as text for a person or as JSON Lines for a log pipeline (log.format: json), and one access line per
 * request (log.access).
 *
 * An hg_log is a plain value set once at start (from the configuration) and then only read: no environment, no
 * lock, no allocation on the request path. Each line goes out with one write(2), so lines of several threads never
 * interleave (standard error is unbuffered; a pipe keeps writes up to PIPE_BUF whole). The text form keeps the
 * "hegui: message" shape of hegui's earlier messages. */
#ifndef HG_BASE_LOG_H
#define HG_BASE_LOG_H

#include <stdint.h>

typedef enum hg_log_level { HG_LOG_DEBUG, HG_LOG_INFO, HG_LOG_WARN, HG_LOG_ERROR } hg_log_level;

typedef struct hg_log {
  hg_log_level level; /* lines below it are dropped */
  int json;           /* 0: "hegui: message"; 1: {"ts":...,"level":...,"msg":...} */
  int access;         /* access lines on */
  int fd;             /* where lines go, 2 by default */
} hg_log;

/* One request as the access log tells it. Strings may be NULL (left out of JSON, "-" in text). */
typedef struct hg_log_access {
  const char *request_id; /* the response id of a completion, else the dispatcher's */
  int64_t key_id;         /* the API key's id, never the key; 0 for none */
  const char *method, *route; /* route: the path without its query */
  int status;                 /* the HTTP status sent; 499 when the client left first */
  const char *verdict;        /* moderated routes: allow, redact, review, block, error */
  double upstream_ms;         /* time spent on the upstream call; < 0 when there was none */
  double total_ms;            /* from the request's dispatch to its end */
} hg_log_access;

/* info, text, access lines on, standard error */
void hg_log_init(hg_log *log);
const char *hg_log_level_name(hg_log_level level);
/* A message at level (printf format); dropped below the log's level. */
void hg_log_write(const hg_log *log, hg_log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The access line of one request, when access lines are on. */
void hg_log_access_write(const hg_log *log, const hg_log_access *a);

#endif
