/* test_webhooks.c — the webhook outbox against a real SQLite file in a temporary directory (enqueue for several
 * targets, the once key, due rows soonest first, the claim that keeps a second sender off a row, attempts that wait by
 * the retry schedule and fail when they run out, delivery, requeue, listing by state, rows that outlive the handle),
 * the retry schedule against values written out here, the event and state names, and the webhooks: list of the
 * configuration (defaults, and errors naming file:line:key). Times are injected throughout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hegui/config.h"
#include "hegui/store.h"

#include "store_test_util.h"

#define T0 INT64_C(1709251200000) /* 2024-03-01T00:00:00Z */

static void retry_schedule(void **state) {
  (void)state;
  const hg_webhook_retry r = {1000, 8000, 6};
  /* after the n-th failed attempt: 1 s, 2 s, 4 s, 8 s, then the cap */
  const int64_t want[] = {1000, 1000, 2000, 4000, 8000, 8000, 8000};
  for (unsigned n = 0; n < sizeof want / sizeof want[0]; n++)
    assert_int_equal(hg_webhook_backoff_ms(&r, n), want[n]);
  const hg_webhook_retry fast = {100, 400, 20};
  const int64_t fast_want[] = {100, 100, 200, 400, 400};
  for (unsigned n = 0; n < sizeof fast_want / sizeof fast_want[0]; n++)
    assert_int_equal(hg_webhook_backoff_ms(&fast, n), fast_want[n]);
  /* a huge attempt count never overflows: the doubling stops at the cap */
  const hg_webhook_retry big = {1, INT64_C(1) << 62, 100};
  assert_int_equal(hg_webhook_backoff_ms(&big, 1000), INT64_C(1) << 62);
  /* a cap below the base is the base */
  const hg_webhook_retry odd = {500, 10, 1};
  assert_int_equal(hg_webhook_backoff_ms(&odd, 3), 500);
}

static void names(void **state) {
  (void)state;
  const char *const events[] = {"complaint.overdue", "user.suspended", "user.minor_to_adult", "identity.rejected"};
  for (int i = 0; i < HG_WEBHOOK_EVENTS; i++) {
    hg_webhook_event e;
    assert_string_equal(hg_webhook_event_name((hg_webhook_event)i), events[i]);
    assert_int_equal(hg_webhook_event_parse(events[i], &e), HG_OK);
    assert_int_equal(e, i);
  }
  hg_webhook_event e;
  assert_int_equal(hg_webhook_event_parse("user.deleted", &e), HG_ERR_INVALID);
  assert_int_equal(hg_webhook_event_parse(NULL, &e), HG_ERR_INVALID);
  assert_string_equal(hg_webhook_event_name((hg_webhook_event)9), "unknown");
  hg_webhook_state s;
  assert_int_equal(hg_webhook_state_parse("failed", &s), HG_OK);
  assert_int_equal(s, HG_WEBHOOK_FAILED);
  assert_string_equal(hg_webhook_state_name(HG_WEBHOOK_PENDING), "pending");
  assert_int_equal(hg_webhook_state_parse("lost", &s), HG_ERR_INVALID);
}

/* Collects deliveries (copies, payloads duplicated). */
typedef struct seen {
  hg_webhook_delivery d[16];
  char *payload[16];
  size_t n;
} seen;

static int collect(void *ctx, const hg_webhook_delivery *d) {
  seen *s = ctx;
  if (s->n == 16) return 1;
  s->d[s->n] = *d;
  s->payload[s->n] = strdup(d->payload);
  s->d[s->n].payload = s->payload[s->n];
  s->n++;
  return 0;
}

static void seen_clear(seen *s) {
  for (size_t i = 0; i < s->n; i++)
    free(s->payload[i]);
  memset(s, 0, sizeof *s);
}

static seen due_at(hg_store *st, int64_t now) {
  seen s = {.n = 0};
  hg_error err;
  assert_int_equal(hg_store_webhook_due(st, now, 16, collect, &s, &err), HG_OK);
  return s;
}

static hg_webhook_delivery get(hg_store *st, int64_t id) {
  seen s = {.n = 0};
  hg_error err;
  assert_int_equal(hg_store_webhook_get(st, id, collect, &s, &err), HG_OK);
  assert_int_equal(s.n, 1);
  hg_webhook_delivery d = s.d[0];
  d.payload = NULL;
  seen_clear(&s);
  return d;
}

static void outbox(void **state) {
  (void)state;
  tmp_store t;
  tmp_init_named(&t, "webhooks");
  hg_store *st = open_ok(t.url);
  hg_error err;
  const hg_webhook_target targets[] = {{0, "http://127.0.0.1:9/a"}, {3, "https://example.com/hooks"}};
  size_t added = 9;

  /* one event, two targets: two rows, due at once, pending */
  assert_int_equal(
      hg_store_webhook_enqueue(st, HG_WEBHOOK_USER_SUSPENDED, NULL, targets, 2, "{\"user\":\"ab\"}", T0, &added, &err),
      HG_OK);
  assert_int_equal(added, 2);
  seen s = due_at(st, T0 - 1);
  assert_int_equal(s.n, 0); /* not before it was made */
  s = due_at(st, T0);
  assert_int_equal(s.n, 2);
  assert_string_equal(s.d[0].event, "user.suspended");
  assert_string_equal(s.d[0].state, "pending");
  assert_string_equal(s.d[0].payload, "{\"user\":\"ab\"}");
  assert_int_equal(s.d[0].target, 0);
  assert_string_equal(s.d[1].url, "https://example.com/hooks");
  assert_int_equal(s.d[1].target, 3);
  assert_int_equal(s.d[0].attempts, 0);
  assert_int_equal(s.d[0].created_ms, T0);
  int64_t a = s.d[0].id, b = s.d[1].id;
  seen_clear(&s);

  /* a once key: the second enqueue of the same ticket adds nothing; a new target still gets its row */
  assert_int_equal(hg_store_webhook_enqueue(st, HG_WEBHOOK_COMPLAINT_OVERDUE, "complaint.overdue:7", targets, 1,
                                            "{\"complaint_id\":7}", T0 + 10, &added, &err),
                   HG_OK);
  assert_int_equal(added, 1);
  assert_int_equal(hg_store_webhook_enqueue(st, HG_WEBHOOK_COMPLAINT_OVERDUE, "complaint.overdue:7", targets, 2,
                                            "{\"complaint_id\":7}", T0 + 20, &added, &err),
                   HG_OK);
  assert_int_equal(added, 1); /* only target 3 was new */
  assert_int_equal(hg_store_webhook_enqueue(st, HG_WEBHOOK_COMPLAINT_OVERDUE, "complaint.overdue:7", targets, 2,
                                            "{\"complaint_id\":7}", T0 + 30, &added, &err),
                   HG_OK);
  assert_int_equal(added, 0);
  /* without a key the same event may happen again */
  assert_int_equal(hg_store_webhook_enqueue(st, HG_WEBHOOK_USER_SUSPENDED, NULL, targets, 1, "{\"user\":\"ab\"}",
                                            T0 + 40, &added, &err),
                   HG_OK);
  assert_int_equal(added, 1);
  s = due_at(st, T0 + 100);
  assert_int_equal(s.n, 5);
  seen_clear(&s);

  /* bad input changes nothing */
  const hg_webhook_target ftp[] = {{0, "ftp://x/"}};
  assert_int_equal(hg_store_webhook_enqueue(st, HG_WEBHOOK_USER_SUSPENDED, NULL, ftp, 1, "{}", T0, &added, &err),
                   HG_ERR_INVALID);
  assert_int_equal(hg_store_webhook_enqueue(st, HG_WEBHOOK_USER_SUSPENDED, NULL, targets, 1, "[1]", T0, &added, &err),
                   HG_ERR_INVALID);
  assert_int_equal(hg_store_webhook_enqueue(st, (hg_webhook_event)7, NULL, targets, 1, "{}", T0, &added, &err),
                   HG_ERR_INVALID);

  /* the claim: one sender has the row until its lease ends */
  assert_int_equal(hg_store_webhook_claim(st, a, T0 + 100, T0 + 5100, &err), HG_OK);
  assert_int_equal(hg_store_webhook_claim(st, a, T0 + 100, T0 + 5100, &err), HG_ERR_CONFLICT);
  s = due_at(st, T0 + 200);
  for (size_t i = 0; i < s.n; i++)
    assert_true(s.d[i].id != a);
  seen_clear(&s);
  assert_int_equal(hg_store_webhook_claim(st, a, T0 + 5100, T0 + 6000, &err), HG_OK); /* the lease ended */

  /* attempts that fail wait by the schedule, then the row fails */
  const hg_webhook_retry r = {1000, 4000, 4};
  hg_webhook_state after;
  const int64_t waits[] = {1000, 2000, 4000};
  int64_t now = T0 + 6000;
  for (int i = 0; i < 3; i++) {
    assert_int_equal(hg_store_webhook_attempt(st, a, &r, 0, 500, "HTTP 500: busy", now, &after, &err), HG_OK);
    assert_int_equal(after, HG_WEBHOOK_PENDING);
    hg_webhook_delivery d = get(st, a);
    assert_int_equal(d.attempts, i + 1);
    assert_int_equal(d.next_attempt_ms, now + waits[i]);
    assert_int_equal(d.last_status, 500);
    assert_string_equal(d.last_error, "HTTP 500: busy");
    now = d.next_attempt_ms;
  }
  assert_int_equal(hg_store_webhook_attempt(st, a, &r, 0, 0, "timed out", now, &after, &err), HG_OK);
  assert_int_equal(after, HG_WEBHOOK_FAILED);
  hg_webhook_delivery d = get(st, a);
  assert_string_equal(d.state, "failed");
  assert_int_equal(d.attempts, 4);
  assert_int_equal(d.last_status, 0);
  assert_string_equal(d.last_error, "timed out");
  assert_int_equal(hg_store_webhook_attempt(st, a, &r, 1, 200, NULL, now, &after, &err), HG_ERR_CONFLICT);

  /* delivered on the first attempt */
  assert_int_equal(hg_store_webhook_attempt(st, b, &r, 1, 204, NULL, T0 + 7000, &after, &err), HG_OK);
  assert_int_equal(after, HG_WEBHOOK_DELIVERED);
  d = get(st, b);
  assert_string_equal(d.state, "delivered");
  assert_int_equal(d.delivered_ms, T0 + 7000);
  assert_int_equal(d.last_status, 204);
  assert_string_equal(d.last_error, "");

  /* requeue: only a failed row, for a new round */
  assert_int_equal(hg_store_webhook_requeue(st, b, T0 + 8000, &err), HG_ERR_CONFLICT);
  assert_int_equal(hg_store_webhook_requeue(st, 999, T0 + 8000, &err), HG_ERR_NOT_FOUND);
  assert_int_equal(hg_store_webhook_requeue(st, a, T0 + 8000, &err), HG_OK);
  d = get(st, a);
  assert_string_equal(d.state, "pending");
  assert_int_equal(d.attempts, 0);
  assert_int_equal(d.next_attempt_ms, T0 + 8000);
  assert_int_equal(hg_store_webhook_attempt(st, 999, &r, 1, 200, NULL, T0, &after, &err), HG_ERR_NOT_FOUND);

  /* listing: newest first, by state, limited; the soonest due */
  seen l = {.n = 0};
  assert_int_equal(hg_store_webhook_list(st, NULL, 16, collect, &l, &err), HG_OK);
  assert_int_equal(l.n, 5);
  for (size_t i = 1; i < l.n; i++)
    assert_true(l.d[i - 1].id > l.d[i].id);
  seen_clear(&l);
  assert_int_equal(hg_store_webhook_list(st, "delivered", 16, collect, &l, &err), HG_OK);
  assert_int_equal(l.n, 1);
  assert_int_equal(l.d[0].id, b);
  seen_clear(&l);
  assert_int_equal(hg_store_webhook_list(st, "pending", 2, collect, &l, &err), HG_OK);
  assert_int_equal(l.n, 2);
  seen_clear(&l);
  assert_int_equal(hg_store_webhook_list(st, "lost", 2, collect, &l, &err), HG_ERR_INVALID);
  int64_t next = 0;
  assert_int_equal(hg_store_webhook_next_due(st, &next, &err), HG_OK);
  assert_int_equal(next, T0 + 10); /* the overdue row to target 0 */
  seen none = {.n = 0};
  assert_int_equal(hg_store_webhook_get(st, 999, collect, &none, &err), HG_ERR_NOT_FOUND);
  assert_int_equal(none.n, 0);

  /* the rows outlive the handle: a new process finds them pending */
  hg_store_close(st);
  st = open_ok(t.url);
  s = due_at(st, T0 + 9000);
  assert_int_equal(s.n, 4);
  seen_clear(&s);
  hg_store_close(st);
  tmp_remove(&t);
}

static void empty_outbox(void **state) {
  (void)state;
  tmp_store t;
  tmp_init_named(&t, "webhooks-empty");
  hg_store *st = open_ok(t.url);
  hg_error err;
  int64_t next = 5;
  assert_int_equal(hg_store_webhook_next_due(st, &next, &err), HG_OK);
  assert_int_equal(next, 0);
  size_t added = 7;
  assert_int_equal(hg_store_webhook_enqueue(st, HG_WEBHOOK_USER_SUSPENDED, NULL, NULL, 0, "{}", T0, &added, &err),
                   HG_OK); /* no webhook subscribed: nothing to do */
  assert_int_equal(added, 0);
  hg_store_close(st);
  tmp_remove(&t);
}

static void config(void **state) {
  (void)state;
  hg_config cfg;
  hg_error err;
  hg_config_init(&cfg);
  assert_int_equal(cfg.webhook_count, 0);
  const char *text = "webhooks:\n"
                     "  - url: https://tickets.example.com/hooks\n"
                     "    secret: 0123456789abcdef\n"
                     "  - url: http://127.0.0.1:9000/x\n"
                     "    secret: another-secret-0123\n"
                     "    events: [identity.rejected, complaint.overdue]\n"
                     "    timeout_ms: 250\n"
                     "    max_attempts: 3\n"
                     "    retry_base_ms: 50\n"
                     "    retry_max_ms: 200\n";
  assert_int_equal(hg_config_parse(&cfg, text, strlen(text), "w.yaml", &err), HG_OK);
  assert_int_equal(cfg.webhook_count, 2);
  assert_string_equal(cfg.webhooks[0].url, "https://tickets.example.com/hooks");
  assert_int_equal(cfg.webhooks[0].events, HG_WEBHOOK_ALL_EVENTS);
  assert_int_equal(cfg.webhooks[0].timeout_ms, 5000);
  assert_int_equal(cfg.webhooks[0].max_attempts, 8);
  assert_int_equal(cfg.webhooks[0].retry_base_ms, 1000);
  assert_int_equal(cfg.webhooks[0].retry_max_ms, 600000);
  assert_int_equal(cfg.webhooks[1].events, 1u << HG_WEBHOOK_IDENTITY_REJECTED | 1u << HG_WEBHOOK_COMPLAINT_OVERDUE);
  assert_int_equal(cfg.webhooks[1].timeout_ms, 250);
  assert_int_equal(cfg.webhooks[1].max_attempts, 3);
  assert_int_equal(cfg.webhooks[1].retry_base_ms, 50);
  assert_int_equal(cfg.webhooks[1].retry_max_ms, 200);
  struct {
    const char *text, *message;
  } bad[] = {
      {"webhooks:\n  - url: http://x/\n    secret: short\n",
       "w.yaml:3: webhooks[0].secret: expected a secret of at least 16"},
      {"webhooks:\n  - url: file:///etc/passwd\n    secret: 0123456789abcdef\n",
       "w.yaml:2: webhooks[0].url: expected an http"},
      {"webhooks:\n  - url: http://x/\n", "w.yaml:2: webhooks[0]: a webhook needs a url and a secret"},
      {"webhooks:\n  - url: http://x/\n    secret: 0123456789abcdef\n    events: []\n",
       "w.yaml:4: webhooks[0].events: expected at least one event"},
      {"webhooks:\n  - url: http://x/\n    secret: 0123456789abcdef\n    events: [user.suspend]\n",
       "w.yaml:4: webhooks[0].events[0]: expected complaint.overdue"},
      {"webhooks:\n  - url: http://x/\n    secret: 0123456789abcdef\n    max_attempt: 3\n",
       "unknown key 'webhooks[0].max_attempt' (did you mean 'webhooks[0].max_attempts'?)"},
      {"webhooks:\n  - url: http://x/\n    secret: 0123456789abcdef\n    max_attempts: 0\n",
       "w.yaml:4: webhooks[0].max_attempts: expected a whole number (1-100)"},
      {"webhooks:\n  - url: http://x/\n    secret: 0123456789abcdef\n    retry_base_ms: 500\n    retry_max_ms: 100\n",
       "webhooks[0].retry_max_ms: must be at least retry_base_ms (500)"},
      {"webhooks: {url: http://x/}\n", "w.yaml:1: webhooks: expected a list"},
      {"webhooks:\n  - url: http://x/\n    secret: 0123456789abcdef\n    secret: 0123456789abcdef\n",
       "w.yaml:4: webhooks[0].secret: duplicate key"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    hg_config c;
    hg_config_init(&c);
    assert_int_not_equal(hg_config_parse(&c, bad[i].text, strlen(bad[i].text), "w.yaml", &err), HG_OK);
    if (!strstr(err.message, bad[i].message)) fail_msg("case %zu: '%s' lacks '%s'", i, err.message, bad[i].message);
    assert_int_equal(c.webhook_count, 0); /* a file with an error changes nothing */
  }
  char many[4096] = "webhooks:\n";
  for (int i = 0; i < HG_CONFIG_MAX_WEBHOOKS + 1; i++)
    strcat(many, "  - url: http://x/\n    secret: 0123456789abcdef\n");
  assert_int_not_equal(hg_config_parse(&cfg, many, strlen(many), "w.yaml", &err), HG_OK);
  assert_non_null(strstr(err.message, "at most 8 webhooks"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(retry_schedule), cmocka_unit_test(names),  cmocka_unit_test(outbox),
      cmocka_unit_test(empty_outbox),   cmocka_unit_test(config),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
