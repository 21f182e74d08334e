/* testclock.c — GET and POST /admin/clock: the test clock (base/clock.h) read and moved over HTTP, so that an
 * operator trying the timed rules (key expiry, complaint deadlines, minors' closed hours and daily minutes,
 * suspensions, takedown expiry, retention) and a test need not edit the database or wait.
 *
 * The routes exist only in a gateway started with a test clock (`serve --test-clock MS|now|@FILE`, or
 * HEGUI_TEST_NOW_MS): in production the wall clock is the system's and both answer 404 like any unknown path, and no
 * setting turns them on while running. The clock moves forward only (records in the chain keep their order), and
 * each move is recorded. A move runs at once what the new time makes due and would otherwise wait for its timer:
 * the retention job, and a rebuild of the takedowns (expiry); other rules read the clock when they are asked. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway.h"
#include "offload.h"
#include "router.h"

/* 0 when the gateway has a test clock, else a 404 sent and -1. */
static int no_test_clock(route_req *rq) {
  if (hg_clock_is_test()) return 0;
  send_error(rq->req, 404, "invalid_request_error",
             "Unknown request URL. Please check the URL and method. (/admin/clock exists only in a gateway started "
             "with --test-clock)",
             "unknown_url");
  return -1;
}

static json_t *clock_json(int64_t now) {
  time_t t = (time_t)(now / 1000);
  struct tm tm;
  char iso[40] = "";
  if (gmtime_r(&t, &tm)) strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return json_pack("{s:I, s:s, s:s}", "now_ms", (json_int_t)now, "utc", iso, "mode", hg_clock_mode());
}

void route_clock_get(route_req *rq) {
  if (no_test_clock(rq)) return;
  send_json(rq->req, 200, clock_json(hg_clock_wall_ms()));
}

/* "90s", "15m", "8h", "8d" or a number of milliseconds: the step in ms, or -1. */
static int64_t parse_step(json_t *v) {
  if (json_is_integer(v)) return json_integer_value(v) > 0 ? json_integer_value(v) : -1;
  const char *s = json_string_value(v);
  if (!s) return -1;
  char *end;
  long long n = strtoll(s, &end, 10);
  if (end == s || n <= 0 || n > 36500LL * 86400) return -1;
  static const struct {
    const char *unit;
    int64_t ms;
  } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
    if (!strcmp(end, units[i].unit)) return n * units[i].ms;
  return -1;
}

typedef struct clock_job {
  gateway *gw;
  hg_key_info key;
  int64_t from, to;
} clock_job;

/* on a thread of its own: the retention job at the new time can take a while on a large store */
static void clock_moved(void *arg, reply *out) {
  clock_job *j = arg;
  hg_purge_counts pc = {0};
  hg_error err;
  hg_status st = retention_run(j->gw, &pc, &err);
  atomic_store(&j->gw->takedown_refresh, 1);
  admin_record(j->gw, &j->key, "admin/clock", "moved",
               json_pack("{s:I, s:I, s:s}", "from_ms", (json_int_t)j->from, "to_ms", (json_int_t)j->to, "mode",
                         hg_clock_mode()));
  json_t *o = clock_json(hg_clock_wall_ms());
  json_object_set_new(o, "from_ms", json_integer(j->from));
  if (st)
    json_object_set_new(o, "retention_error", json_string(err.message));
  else
    json_object_set_new(o, "retention",
                        json_pack("{s:I, s:I, s:I, s:I, s:I}", "audit_text_erased", (json_int_t)pc.audit_text_erased,
                                  "complaint_text_erased", (json_int_t)pc.complaint_text_erased, "takedowns_deleted",
                                  (json_int_t)pc.takedowns_deleted, "strikes_deleted", (json_int_t)pc.strikes_deleted,
                                  "usage_deleted", (json_int_t)pc.usage_deleted));
  reply_json(out, 200, o);
}

/* POST /admin/clock {"advance": "8d" | ms} or {"set_ms": N}, with "running": true|false to let time pass on the
 * new clock or hold it still (default: as it was). */
void route_clock_set(route_req *rq) {
  static const char *const allowed[] = {"advance", "set_ms", "running", NULL};
  if (no_test_clock(rq) || only_members(rq->req, rq->body, allowed)) goto sent;
  json_t *adv = json_object_get(rq->body, "advance"), *set = json_object_get(rq->body, "set_ms"),
         *run = json_object_get(rq->body, "running");
  if (!!adv == !!set) {
    send_error(rq->req, 400, "invalid_request_error",
               "give one of advance (\"90s\", \"15m\", \"8h\", \"8d\" or milliseconds) and set_ms (Unix milliseconds)",
               NULL);
    goto sent;
  }
  if (run && !json_is_boolean(run)) {
    send_error_param(rq->req, 400, "invalid_request_error", "running is true or false", "running", NULL);
    goto sent;
  }
  if (!strcmp(hg_clock_mode(), "file")) {
    send_error(rq->req, 409, "invalid_request_error",
               "this gateway's clock follows a file (--test-clock @FILE): write the new time into the file", NULL);
    goto sent;
  }
  int64_t from = hg_clock_wall_ms(), to;
  if (adv) {
    int64_t step = parse_step(adv);
    if (step < 0) {
      send_error_param(rq->req, 400, "invalid_request_error",
                       "advance is a positive step: \"90s\", \"15m\", \"8h\", \"8d\" or a number of milliseconds",
                       "advance", NULL);
      goto sent;
    }
    to = from + step;
  } else {
    to = json_is_integer(set) ? json_integer_value(set) : -1;
    if (to < from) {
      send_error_param(rq->req, 409, "invalid_request_error",
                       "the test clock moves forward only (records keep their order): set_ms must be at least now_ms",
                       "set_ms", NULL);
      goto sent;
    }
  }
  clock_job *j = calloc(1, sizeof *j);
  if (!j) {
    send_error(rq->req, 503, "server_error", "out of memory", NULL);
    goto sent;
  }
  int running = run ? json_is_true(run) : !strcmp(hg_clock_mode(), "running");
  if (running)
    hg_clock_run_from(to);
  else
    hg_clock_pin(to);
  *j = (clock_job){rq->gw, rq->key, from, to};
  if (offload(rq->w, rq->req, rq->metric, rq->t0, clock_moved, j, free)) {
    free(j);
    send_error(rq->req, 503, "server_error", "the clock moved, but its due jobs could not be started", NULL);
    goto sent;
  }
  return;
sent:
  route_metrics(rq->gw, rq->metric, last_status, rq->t0);
}
