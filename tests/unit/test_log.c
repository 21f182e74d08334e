/* test_log.c — base/log: levels drop what is below them, a JSON line is one JSON object whatever the message holds
 * (quotes, backslashes, line breaks, control characters), a text line stays one line, access lines carry what the
 * log pipeline needs and nothing when turned off, and an overlong message is cut, not split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/clock.h"
#include "base/log.h"

/* Everything the log wrote to a pipe, NUL-terminated. */
static size_t drain(int fd, char *out, size_t cap) {
  size_t n = 0;
  ssize_t k;
  while (n < cap - 1 && (k = read(fd, out + n, cap - 1 - n)) > 0)
    n += (size_t)k;
  out[n] = 0;
  return n;
}

static hg_log pipe_log(int fds[2]) {
  assert_int_equal(pipe(fds), 0);
  hg_log log;
  hg_log_init(&log);
  log.fd = fds[1];
  return log;
}

static void levels_and_text(void **state) {
  (void)state;
  int fds[2];
  hg_log log = pipe_log(fds);
  log.level = HG_LOG_WARN;
  hg_log_write(&log, HG_LOG_INFO, "dropped");
  hg_log_write(&log, HG_LOG_ERROR, "two\nlines %d", 7);
  close(fds[1]);
  char buf[512];
  drain(fds[0], buf, sizeof buf);
  close(fds[0]);
  assert_string_equal(buf, "hegui: error: two lines 7\n");
}

static void json_lines(void **state) {
  (void)state;
  hg_clock_pin(1700000000123);
  int fds[2];
  hg_log log = pipe_log(fds);
  log.json = 1;
  hg_log_write(&log, HG_LOG_INFO, "quote \" backslash \\ newline \n tab \t bell \a 中文");
  hg_log_access a = {.request_id = "r1", .key_id = 42, .method = "POST", .route = "/v1/chat/completions",
                     .status = 200, .verdict = "block", .upstream_ms = 12.5, .total_ms = 20.25};
  hg_log_access_write(&log, &a);
  hg_log_access b = {.request_id = "r2", .method = "GET", .route = "/healthz", .status = 200, .upstream_ms = -1};
  hg_log_access_write(&log, &b);
  close(fds[1]);
  char buf[4096];
  drain(fds[0], buf, sizeof buf);
  close(fds[0]);
  hg_clock_real();
  char *save = NULL, *line = strtok_r(buf, "\n", &save);
  json_t *j = json_loads(line, 0, NULL);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "msg")), "quote \" backslash \\ newline \n tab \t bell \a 中文");
  assert_string_equal(json_string_value(json_object_get(j, "ts")), "2023-11-14T22:13:20.123Z");
  assert_string_equal(json_string_value(json_object_get(j, "level")), "info");
  json_decref(j);
  j = json_loads(strtok_r(NULL, "\n", &save), 0, NULL);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "event")), "access");
  assert_int_equal(json_integer_value(json_object_get(j, "key_id")), 42);
  assert_int_equal(json_integer_value(json_object_get(j, "status")), 200);
  assert_string_equal(json_string_value(json_object_get(j, "verdict")), "block");
  assert_true(json_real_value(json_object_get(j, "upstream_ms")) == 12.5);
  assert_true(json_real_value(json_object_get(j, "total_ms")) == 20.25);
  json_decref(j);
  j = json_loads(strtok_r(NULL, "\n", &save), 0, NULL);
  assert_non_null(j);
  assert_null(json_object_get(j, "key_id"));
  assert_null(json_object_get(j, "verdict"));
  assert_null(json_object_get(j, "upstream_ms"));
  json_decref(j);
  assert_null(strtok_r(NULL, "\n", &save));
}

static void access_off_and_cut(void **state) {
  (void)state;
  int fds[2];
  hg_log log = pipe_log(fds);
  log.access = 0;
  hg_log_access a = {.route = "/x", .status = 200, .upstream_ms = -1};
  hg_log_access_write(&log, &a);
  log.json = 1;
  static char big[20000];
  memset(big, 'a', sizeof big - 1);
  hg_log_write(&log, HG_LOG_WARN, "%s", big);
  close(fds[1]);
  static char buf[32768];
  size_t n = drain(fds[0], buf, sizeof buf);
  close(fds[0]);
  assert_true(n > 1000 && n <= 4096);
  assert_int_equal(buf[n - 1], '\n');
  assert_null(memchr(buf, '\n', n - 1)); /* one line */
  assert_non_null(strstr(buf, "..."));
  json_t *j = json_loads(buf, 0, NULL); /* cut, and still one JSON object */
  assert_non_null(j);
  json_decref(j);

  /* a message that grows sixfold when escaped is cut inside its JSON string, not through the closing brace */
  hg_log esc = pipe_log(fds);
  esc.json = 1;
  memset(big, '\a', 3000);
  big[3000] = 0;
  hg_log_write(&esc, HG_LOG_ERROR, "%s", big);
  close(fds[1]);
  n = drain(fds[0], buf, sizeof buf);
  close(fds[0]);
  j = json_loads(buf, 0, NULL);
  assert_non_null(j);
  const char *msg = json_string_value(json_object_get(j, "msg"));
  assert_non_null(msg);
  assert_string_equal(msg + strlen(msg) - 3, "...");
  json_decref(j);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(levels_and_text), cmocka_unit_test(json_lines),
                                     cmocka_unit_test(access_off_and_cut)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
