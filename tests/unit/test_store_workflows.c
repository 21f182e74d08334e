/* test_store_workflows.c — the store's workflows against a real SQLite file in a temporary directory: complaints
 * (add, get, list newest first, overdue, every legal status move and the illegal ones with their messages, the move
 * table for every from x to pair against one written out here, the types, input validation, durability: a complaint
 * written by a process that dies right after the call is read by another), takedowns (add, each, expiry, the version
 * that moves with every add), and users' standing (strikes in a row and per UTC day across a day boundary, the strike
 * ladder's decision at its boundaries, suspensions that end, lifting, termination, the history of changes), plus the
 * migration of a version-1 database and strikes recorded from 4 handles at once; usage quotas (limits per window,
 * roll-over, two subjects, 20,000 subjects against a reference, 4 handles admitting at once). Times are injected
 * throughout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hegui/store.h"

/* 2024-03-01T00:00:00Z, the start of a UTC day */
#define DAY0 INT64_C(1709251200000)
#define DAY_MS INT64_C(86400000)
#define HOUR_MS INT64_C(3600000)

#include "store_test_util.h"

static void tmp_init(tmp_store *t) { tmp_init_named(t, "workflows"); }

static int64_t add_ok(hg_store *s, const char *type, const char *produce_id, const char *text, const char *contact,
                      int64_t created_ms, int64_t due_ms) {
  hg_error err;
  hg_error_clear(&err);
  int64_t id = 0;
  if (hg_store_complaint_add(s, type, produce_id, text, contact, created_ms, due_ms, &id, &err))
    fail_msg("complaint add: %s", err.message);
  assert_true(id > 0);
  return id;
}

static void move_ok(hg_store *s, int64_t id, const char *status, const char *resolution, int64_t now) {
  hg_error err;
  hg_error_clear(&err);
  if (hg_store_complaint_set_status(s, id, status, resolution, now, &err))
    fail_msg("complaint %" PRId64 " -> %s: %s", id, status, err.message);
}

/* Expects an illegal move, with every fragment of want in the message, and the ticket left as it was. */
static void move_refused(hg_store *s, int64_t id, const char *status, const char *want1, const char *want2) {
  hg_complaint before, after;
  hg_error err;
  hg_error_clear(&err);
  assert_int_equal(hg_store_complaint_get(s, id, &before, &err), HG_OK);
  assert_int_equal(hg_store_complaint_set_status(s, id, status, "note", before.updated_ms + 1, &err), HG_ERR_INVALID);
  if (!strstr(err.message, want1) || (want2 && !strstr(err.message, want2)))
    fail_msg("%s -> %s: want '%s' and '%s' in '%s'", before.status, status, want1, want2 ? want2 : "", err.message);
  assert_int_equal(hg_store_complaint_get(s, id, &after, &err), HG_OK);
  assert_string_equal(after.status, before.status);
  assert_int_equal(after.updated_ms, before.updated_ms);
  hg_complaint_clear(&before);
  hg_complaint_clear(&after);
}

/* ---- complaints ------------------------------------------------------------------------------------------- */

typedef struct listing {
  int n;
  int64_t ids[16];
  char status[16][16];
  int stop_after; /* 0: never */
} listing;

static int collect(void *ctx, const hg_complaint *c) {
  listing *l = ctx;
  if (l->n < 16) {
    l->ids[l->n] = c->id;
    snprintf(l->status[l->n], sizeof l->status[0], "%s", c->status);
  }
  l->n++;
  return l->stop_after && l->n >= l->stop_after;
}

static listing list(hg_store *s, int only_overdue, int64_t now) {
  listing l = {0};
  hg_error err;
  hg_error_clear(&err);
  if (hg_store_complaint_list(s, only_overdue, now, collect, &l, &err)) fail_msg("list: %s", err.message);
  return l;
}

static void complaints(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  hg_error err;
  hg_error_clear(&err);

  int64_t a =
      add_ok(s, "prohibited_content", "chatcmpl-1", "一段被举报的回答", "mail:a@example.cn", DAY0, DAY0 + DAY_MS);
  int64_t b = add_ok(s, "privacy", NULL, "my address was shown", NULL, DAY0 + HOUR_MS, DAY0 + 2 * DAY_MS);
  int64_t c = add_ok(s, "other", "chatcmpl-3", "", "", DAY0 + 2 * HOUR_MS, DAY0 + 3 * DAY_MS);

  hg_complaint got;
  assert_int_equal(hg_store_complaint_get(s, a, &got, &err), HG_OK);
  assert_int_equal(got.id, a);
  assert_string_equal(got.type, "prohibited_content");
  assert_string_equal(got.status, "received");
  assert_int_equal(got.created_ms, DAY0);
  assert_int_equal(got.due_ms, DAY0 + DAY_MS);
  assert_int_equal(got.updated_ms, DAY0);
  assert_string_equal(got.produce_id, "chatcmpl-1");
  assert_string_equal(got.text, "一段被举报的回答");
  assert_string_equal(got.contact, "mail:a@example.cn");
  assert_null(got.resolution);
  hg_complaint_clear(&got);
  assert_null(got.text);
  hg_complaint_clear(&got); /* twice is harmless */
  hg_complaint_clear(NULL);

  /* absent and empty strings are both stored as absent */
  assert_int_equal(hg_store_complaint_get(s, b, &got, &err), HG_OK);
  assert_null(got.produce_id);
  assert_null(got.contact);
  hg_complaint_clear(&got);
  assert_int_equal(hg_store_complaint_get(s, c, &got, &err), HG_OK);
  assert_string_equal(got.produce_id, "chatcmpl-3");
  assert_null(got.text);
  assert_null(got.contact);
  hg_complaint_clear(&got);

  assert_int_equal(hg_store_complaint_get(s, c + 100, &got, &err), HG_ERR_NOT_FOUND);
  assert_non_null(strstr(err.message, "no complaint"));
  assert_null(got.text);
  assert_int_equal(hg_store_complaint_get(s, 0, &got, &err), HG_ERR_INVALID);

  /* newest first */
  listing l = list(s, 0, 0);
  assert_int_equal(l.n, 3);
  assert_int_equal(l.ids[0], c);
  assert_int_equal(l.ids[1], b);
  assert_int_equal(l.ids[2], a);
  l = (listing){.stop_after = 2};
  assert_int_equal(hg_store_complaint_list(s, 0, 0, collect, &l, &err), HG_OK);
  assert_int_equal(l.n, 2);

  /* overdue: open and past due; due exactly now is not yet overdue */
  assert_int_equal(list(s, 1, DAY0 + DAY_MS).n, 0);
  l = list(s, 1, DAY0 + DAY_MS + 1);
  assert_int_equal(l.n, 1);
  assert_int_equal(l.ids[0], a);
  l = list(s, 1, DAY0 + 10 * DAY_MS);
  assert_int_equal(l.n, 3);
  move_ok(s, a, "in_review", NULL, DAY0 + 2 * DAY_MS); /* in review is still open */
  move_ok(s, b, "rejected", "not personal information", DAY0 + 2 * DAY_MS);
  l = list(s, 1, DAY0 + 10 * DAY_MS);
  assert_int_equal(l.n, 2);
  assert_int_equal(l.ids[0], c);
  assert_int_equal(l.ids[1], a);
  assert_string_equal(l.status[1], "in_review");
  assert_int_equal(list(s, 0, 0).n, 3);

  assert_int_equal(hg_store_complaint_list(s, 0, 0, NULL, NULL, &err), HG_ERR_INVALID);
  hg_store_close(s);
  tmp_remove(&t);
}

static void complaint_moves(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  hg_error err;
  hg_error_clear(&err);
  hg_complaint got;

  /* received -> in_review -> upheld -> closed; a NULL resolution keeps the one stored */
  int64_t a = add_ok(s, "ip_infringement", "r-1", "copied poem", NULL, DAY0, DAY0 + DAY_MS);
  move_ok(s, a, "in_review", NULL, DAY0 + 10);
  assert_int_equal(hg_store_complaint_get(s, a, &got, &err), HG_OK);
  assert_string_equal(got.status, "in_review");
  assert_int_equal(got.updated_ms, DAY0 + 10);
  assert_null(got.resolution);
  hg_complaint_clear(&got);
  move_ok(s, a, "upheld", "the answer quotes the poem whole", DAY0 + 20);
  move_ok(s, a, "closed", NULL, DAY0 + 30);
  assert_int_equal(hg_store_complaint_get(s, a, &got, &err), HG_OK);
  assert_string_equal(got.status, "closed");
  assert_string_equal(got.resolution, "the answer quotes the poem whole");
  assert_int_equal(got.updated_ms, DAY0 + 30);
  assert_int_equal(got.created_ms, DAY0);
  hg_complaint_clear(&got);

  /* received -> rejected -> closed (a new resolution replaces the old) and received -> upheld */
  int64_t b = add_ok(s, "privacy", NULL, "text", NULL, DAY0, DAY0 + DAY_MS);
  move_ok(s, b, "rejected", "first note", DAY0 + 1);
  move_ok(s, b, "closed", "second note", DAY0 + 2);
  assert_int_equal(hg_store_complaint_get(s, b, &got, &err), HG_OK);
  assert_string_equal(got.resolution, "second note");
  hg_complaint_clear(&got);
  int64_t c = add_ok(s, "personal_info", NULL, "text", NULL, DAY0, DAY0 + DAY_MS);
  move_ok(s, c, "upheld", NULL, DAY0 + 1);
  int64_t d = add_ok(s, "other", NULL, "text", NULL, DAY0, DAY0 + DAY_MS);
  move_ok(s, d, "in_review", NULL, DAY0 + 1);
  move_ok(s, d, "rejected", NULL, DAY0 + 2);

  /* illegal moves name the ones allowed and change nothing */
  int64_t e = add_ok(s, "other", NULL, "text", NULL, DAY0, DAY0 + DAY_MS);
  move_refused(s, e, "closed", "in_review, upheld or rejected", "not to closed");
  move_refused(s, e, "received", "in_review, upheld or rejected", NULL);
  move_ok(s, e, "in_review", NULL, DAY0 + 1);
  move_refused(s, e, "received", "upheld or rejected", NULL);
  move_refused(s, e, "in_review", "upheld or rejected", NULL);
  move_refused(s, e, "closed", "upheld or rejected", NULL);
  move_refused(s, c, "rejected", "can move to closed", NULL);
  move_refused(s, c, "in_review", "can move to closed", NULL);
  move_refused(s, d, "upheld", "can move to closed", NULL);
  move_refused(s, a, "in_review", "is closed, which is final", NULL);
  move_refused(s, a, "closed", "final", NULL);

  /* not a status at all, an unknown ticket, bad arguments */
  assert_int_equal(hg_store_complaint_set_status(s, e, "done", NULL, DAY0, &err), HG_ERR_INVALID);
  assert_non_null(strstr(err.message, "received, in_review, upheld, rejected, closed"));
  assert_int_equal(hg_store_complaint_set_status(s, e, "Upheld", NULL, DAY0, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_complaint_set_status(s, 9999, "upheld", NULL, DAY0, &err), HG_ERR_NOT_FOUND);
  assert_int_equal(hg_store_complaint_set_status(s, -1, "upheld", NULL, DAY0, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_complaint_set_status(s, e, NULL, NULL, DAY0, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_complaint_set_status(s, e, "upheld", "\xff", DAY0, &err), HG_ERR_INVALID);
  assert_non_null(strstr(err.message, "UTF-8"));
  assert_int_equal(hg_store_complaint_set_status(s, e, "upheld", NULL, -5, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_complaint_get(s, e, &got, &err), HG_OK);
  assert_string_equal(got.status, "in_review");
  hg_complaint_clear(&got);

  /* a ticket whose stored status was damaged is reported, not moved */
  raw_sql(t.path, "UPDATE complaints SET status = 'lost' WHERE id = 1");
  assert_int_equal(hg_store_complaint_set_status(s, a, "closed", NULL, DAY0, &err), HG_ERR_STORE);
  assert_non_null(strstr(err.message, "damaged"));
  hg_store_close(s);
  tmp_remove(&t);
}

/* The move table, every from x to pair, against the table written out here from docs/workflows.md: received ->
 * in_review -> upheld | rejected -> closed, and received -> upheld | rejected. Then the store itself: a ticket
 * driven into each status accepts exactly the moves of the table and refuses the rest. */
static const char *const statuses[5] = {"received", "in_review", "upheld", "rejected", "closed"};
static const int moves_expected[5][5] = {
    /* to: received in_review upheld rejected closed */
    {0, 1, 1, 1, 0}, /* from received */
    {0, 0, 1, 1, 0}, /* from in_review */
    {0, 0, 0, 0, 1}, /* from upheld */
    {0, 0, 0, 0, 1}, /* from rejected */
    {0, 0, 0, 0, 0}, /* from closed */
};

static void complaint_move_table(void **state) {
  (void)state;
  for (int f = 0; f < 5; f++)
    for (int t = 0; t < 5; t++)
      if (hg_complaint_move_allowed(statuses[f], statuses[t]) != moves_expected[f][t])
        fail_msg("%s -> %s: table says %d, expected %d", statuses[f], statuses[t],
                 hg_complaint_move_allowed(statuses[f], statuses[t]), moves_expected[f][t]);

  /* names that are no status move nowhere, in either place */
  const char *bad[] = {NULL, "", "Received", "closed ", "done", "upheld\n"};
  for (int i = 0; i < 6; i++)
    for (int s = 0; s < 5; s++) {
      assert_false(hg_complaint_move_allowed(bad[i], statuses[s]));
      assert_false(hg_complaint_move_allowed(statuses[s], bad[i]));
    }

  /* names and numbers of the statuses */
  assert_int_equal(HG_COMPLAINT_STATUSES, 5);
  for (int s = 0; s < 5; s++) {
    hg_complaint_status got;
    assert_string_equal(hg_complaint_status_name((hg_complaint_status)s), statuses[s]);
    assert_int_equal(hg_complaint_status_parse(statuses[s], &got), HG_OK);
    assert_int_equal(got, s);
  }
  assert_string_equal(hg_complaint_status_name((hg_complaint_status)5), "unknown");
  for (int i = 0; i < 6; i++)
    assert_int_equal(hg_complaint_status_parse(bad[i], NULL), HG_ERR_INVALID);

  /* where each status can be reached from, for messages */
  const char *into[5] = {"", "received", "received or in_review", "received or in_review", "upheld or rejected"};
  char buf[96];
  for (int s = 0; s < 5; s++) {
    hg_complaint_moves_into(statuses[s], buf, sizeof buf);
    assert_string_equal(buf, into[s]);
  }
  hg_complaint_moves_into("done", buf, sizeof buf);
  assert_string_equal(buf, "");
  hg_complaint_moves_into("upheld", buf, 9); /* truncated, still terminated */
  assert_string_equal(buf, "received");
  hg_complaint_moves_into("upheld", NULL, 0); /* nothing to write to */

  /* the store follows the same table: one ticket per (from, to), driven into from along a legal path */
  static const char *const path[5][2] = {
      {NULL, NULL}, {"in_review", NULL}, {"upheld", NULL}, {"rejected", NULL}, {"rejected", "closed"}};
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  hg_error err;
  for (int f = 0; f < 5; f++)
    for (int to = 0; to < 5; to++) {
      int64_t id = add_ok(s, "other", NULL, "text", NULL, DAY0, DAY0 + DAY_MS);
      for (int p = 0; p < 2 && path[f][p]; p++)
        move_ok(s, id, path[f][p], NULL, DAY0 + 1 + p);
      hg_error_clear(&err);
      hg_status st = hg_store_complaint_set_status(s, id, statuses[to], NULL, DAY0 + 10, &err);
      if ((st == HG_OK) != moves_expected[f][to])
        fail_msg("store: %s -> %s gave %d (%s), the table says %d", statuses[f], statuses[to], (int)st, err.message,
                 moves_expected[f][to]);
      if (st) assert_int_equal(st, HG_ERR_INVALID);
    }
  hg_store_close(s);
  tmp_remove(&t);
}

/* The complaint types: names in the order of the configuration's time limits, parse, and the list for messages. */
static void complaint_type_table(void **state) {
  (void)state;
  const char *types[5] = {"prohibited_content", "ip_infringement", "privacy", "personal_info", "other"};
  assert_int_equal(HG_COMPLAINT_TYPES, 5);
  for (int i = 0; i < 5; i++) {
    hg_complaint_type got;
    assert_string_equal(hg_complaint_type_name((hg_complaint_type)i), types[i]);
    assert_int_equal(hg_complaint_type_parse(types[i], &got), HG_OK);
    assert_int_equal(got, i);
  }
  assert_int_equal(HG_COMPLAINT_PROHIBITED_CONTENT, 0);
  assert_int_equal(HG_COMPLAINT_PERSONAL_INFO, 3);
  assert_int_equal(HG_COMPLAINT_OTHER, 4);
  assert_string_equal(hg_complaint_type_name((hg_complaint_type)5), "unknown");
  const char *bad[] = {NULL, "", "Other", "spam", "other ", "prohibited_content\n"};
  for (int i = 0; i < 6; i++)
    assert_int_equal(hg_complaint_type_parse(bad[i], NULL), HG_ERR_INVALID);
  char buf[96];
  hg_complaint_type_list(buf, sizeof buf);
  assert_string_equal(buf, "prohibited_content, ip_infringement, privacy, personal_info, other");
  hg_complaint_type_list(buf, 8);
  assert_string_equal(buf, "prohibi");
}

static void complaint_validation(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  hg_error err;
  hg_error_clear(&err);
  int64_t id = 0;

  const char *types[] = {"prohibited_content", "ip_infringement", "privacy", "personal_info", "other"};
  for (int i = 0; i < 5; i++)
    add_ok(s, types[i], "p", NULL, NULL, DAY0, DAY0);
  const char *bad_types[] = {"", "Other", "spam", "other ", "prohibited_content\n"};
  for (int i = 0; i < 5; i++) {
    assert_int_equal(hg_store_complaint_add(s, bad_types[i], "p", "t", NULL, DAY0, DAY0, &id, &err), HG_ERR_INVALID);
    assert_non_null(strstr(err.message, "prohibited_content, ip_infringement, privacy, personal_info, other"));
  }

  /* text and produce_id not both empty */
  assert_int_equal(hg_store_complaint_add(s, "other", NULL, NULL, "c", DAY0, DAY0, &id, &err), HG_ERR_INVALID);
  assert_non_null(strstr(err.message, "both are empty"));
  assert_int_equal(hg_store_complaint_add(s, "other", "", "", "c", DAY0, DAY0, &id, &err), HG_ERR_INVALID);
  assert_non_null(strstr(err.message, "both are empty"));

  /* UTF-8, with the offset of the first bad byte */
  assert_int_equal(hg_store_complaint_add(s, "other", NULL, "ok \xe4\xbd", NULL, DAY0, DAY0, &id, &err),
                   HG_ERR_INVALID);
  assert_non_null(strstr(err.message, "complaint text is not valid UTF-8"));
  assert_int_equal(err.offset, 3);
  assert_int_equal(hg_store_complaint_add(s, "other", "\xc0\x80", "t", NULL, DAY0, DAY0, &id, &err), HG_ERR_INVALID);
  assert_non_null(strstr(err.message, "produce_id"));
  assert_int_equal(hg_store_complaint_add(s, "other", NULL, "t", "\xed\xa0\x80", DAY0, DAY0, &id, &err),
                   HG_ERR_INVALID);
  assert_non_null(strstr(err.message, "contact"));

  /* bounds: text 64 KiB, contact 512 bytes, each accepted at the limit and refused one byte past it */
  size_t big = 64u << 10;
  char *text = malloc(big + 2);
  assert_non_null(text);
  memset(text, 'x', big + 1);
  text[big + 1] = 0;
  assert_int_equal(hg_store_complaint_add(s, "other", NULL, text, NULL, DAY0, DAY0, &id, &err), HG_ERR_INVALID);
  assert_non_null(strstr(err.message, "65537 bytes; the limit is 65536"));
  text[big] = 0;
  int64_t kept = add_ok(s, "other", NULL, text, NULL, DAY0, DAY0);
  hg_complaint got;
  assert_int_equal(hg_store_complaint_get(s, kept, &got, &err), HG_OK);
  assert_int_equal(strlen(got.text), big);
  hg_complaint_clear(&got);
  text[513] = 0;
  assert_int_equal(hg_store_complaint_add(s, "other", NULL, "t", text, DAY0, DAY0, &id, &err), HG_ERR_INVALID);
  assert_non_null(strstr(err.message, "contact is 513 bytes"));
  text[512] = 0;
  add_ok(s, "other", NULL, "t", text, DAY0, DAY0);
  free(text);

  /* times */
  assert_int_equal(hg_store_complaint_add(s, "other", NULL, "t", NULL, DAY0, DAY0 - 1, &id, &err), HG_ERR_INVALID);
  assert_non_null(strstr(err.message, "before it is made"));
  assert_int_equal(hg_store_complaint_add(s, "other", NULL, "t", NULL, -1, DAY0, &id, &err), HG_ERR_INVALID);

  /* NULL arguments */
  assert_int_equal(hg_store_complaint_add(NULL, "other", NULL, "t", NULL, DAY0, DAY0, &id, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_complaint_add(s, NULL, NULL, "t", NULL, DAY0, DAY0, &id, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_complaint_add(s, "other", NULL, "t", NULL, DAY0, DAY0, NULL, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_complaint_add(s, "other", NULL, "t", NULL, DAY0, DAY0, &id, NULL), HG_OK);

  /* nothing refused was stored: 5 types + 64 KiB + 512-byte contact + the one without err */
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM complaints"), 8);
  hg_store_close(s);
  tmp_remove(&t);
}

/* A child process adds a complaint and dies at once (no close, no checkpoint); the parent, with its own handle,
 * finds it. A second handle opened beside the first sees it too. */
static void complaint_durability(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store_close(open_ok(t.url));

  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    hg_store *s = NULL;
    int64_t id = 0;
    if (hg_store_open(t.url, &s, NULL) ||
        hg_store_complaint_add(s, "privacy", "resp-9", "住址泄露", "tel:110", DAY0, DAY0 + DAY_MS, &id, NULL))
      _exit(2);
    _exit(id == 1 ? 0 : 3);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);

  hg_store *first = open_ok(t.url);
  hg_error err;
  hg_error_clear(&err);
  hg_complaint got;
  assert_int_equal(hg_store_complaint_get(first, 1, &got, &err), HG_OK);
  assert_string_equal(got.text, "住址泄露");
  assert_string_equal(got.contact, "tel:110");
  hg_complaint_clear(&got);

  int64_t id = add_ok(first, "other", "resp-10", NULL, NULL, DAY0, DAY0);
  hg_store *second = open_ok(t.url);
  assert_int_equal(hg_store_complaint_get(second, id, &got, &err), HG_OK);
  assert_string_equal(got.produce_id, "resp-10");
  hg_complaint_clear(&got);
  move_ok(second, id, "upheld", "seen by the second handle", DAY0 + 1);
  assert_int_equal(hg_store_complaint_get(first, id, &got, &err), HG_OK);
  assert_string_equal(got.status, "upheld");
  hg_complaint_clear(&got);
  hg_store_close(second);
  hg_store_close(first);

  char mode[16];
  raw_text(t.path, "PRAGMA journal_mode", mode, sizeof mode);
  assert_string_equal(mode, "wal");
  tmp_remove(&t);
}

/* ---- takedowns -------------------------------------------------------------------------------------------- */

typedef struct seen_takedowns {
  int n;
  int64_t ids[16];
  char text[16][64];
  int64_t expires[16];
  int stop_after;
} seen_takedowns;

static int collect_takedown(void *ctx, int64_t id, const char *text, int64_t created_ms, int64_t expires_ms) {
  seen_takedowns *w = ctx;
  (void)created_ms;
  if (w->n < 16) {
    w->ids[w->n] = id;
    snprintf(w->text[w->n], sizeof w->text[0], "%s", text);
    w->expires[w->n] = expires_ms;
  }
  w->n++;
  return w->stop_after && w->n >= w->stop_after;
}

static seen_takedowns takedowns_at(hg_store *s, int64_t now) {
  seen_takedowns w = {0};
  hg_error err;
  hg_error_clear(&err);
  if (hg_store_takedown_each(s, now, collect_takedown, &w, &err)) fail_msg("takedown each: %s", err.message);
  return w;
}

static int64_t version_of(hg_store *s) {
  int64_t v = -1;
  hg_error err;
  hg_error_clear(&err);
  if (hg_store_takedown_version(s, &v, &err)) fail_msg("takedown version: %s", err.message);
  return v;
}

static void takedowns(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  hg_error err;
  hg_error_clear(&err);
  int64_t id = 0;

  assert_int_equal(version_of(s), 0);
  assert_int_equal(takedowns_at(s, DAY0).n, 0);

  int64_t complaint = add_ok(s, "ip_infringement", "r-1", "床前明月光", NULL, DAY0, DAY0 + DAY_MS);
  move_ok(s, complaint, "upheld", "quoted whole", DAY0 + 1);
  int64_t forever = 0, quarter = 0;
  assert_int_equal(hg_store_takedown_add(s, "床前明月光，疑是地上霜", complaint, DAY0, 0, &forever, &err), HG_OK);
  assert_int_equal(version_of(s), 1);
  assert_int_equal(hg_store_takedown_add(s, "a reviewer's takedown", 0, DAY0, DAY0 + 90 * DAY_MS, &quarter, &err),
                   HG_OK);
  assert_int_equal(version_of(s), 2);
  assert_true(quarter > forever);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM takedowns WHERE complaint_id IS NULL"), 1);
  assert_int_equal(raw_int(t.path, "SELECT complaint_id FROM takedowns WHERE id = 1"), complaint);

  seen_takedowns w = takedowns_at(s, DAY0 + 1);
  assert_int_equal(w.n, 2);
  assert_int_equal(w.ids[0], forever);
  assert_string_equal(w.text[0], "床前明月光，疑是地上霜");
  assert_int_equal(w.expires[0], 0);
  assert_int_equal(w.ids[1], quarter);
  assert_int_equal(w.expires[1], DAY0 + 90 * DAY_MS);
  /* expiry: kept until expires_ms, gone from then on; the rows stay in the table */
  assert_int_equal(takedowns_at(s, DAY0 + 90 * DAY_MS - 1).n, 2);
  w = takedowns_at(s, DAY0 + 90 * DAY_MS);
  assert_int_equal(w.n, 1);
  assert_int_equal(w.ids[0], forever);
  assert_int_equal(takedowns_at(s, DAY0 + 1000 * DAY_MS).n, 1);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM takedowns"), 2);
  w = (seen_takedowns){.stop_after = 1};
  assert_int_equal(hg_store_takedown_each(s, DAY0, collect_takedown, &w, &err), HG_OK);
  assert_int_equal(w.n, 1);

  /* refused adds change neither the rows nor the version */
  assert_int_equal(hg_store_takedown_add(s, "x", 9999, DAY0, 0, &id, &err), HG_ERR_NOT_FOUND);
  assert_non_null(strstr(err.message, "no complaint has id 9999"));
  assert_int_equal(hg_store_takedown_add(s, "", 0, DAY0, 0, &id, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_takedown_add(s, NULL, 0, DAY0, 0, &id, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_takedown_add(s, "x", 0, DAY0, DAY0, &id, &err), HG_ERR_INVALID);
  assert_non_null(strstr(err.message, "before it is made"));
  assert_int_equal(hg_store_takedown_add(s, "x", -1, DAY0, 0, &id, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_takedown_add(s, "x", 0, -1, 0, &id, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_takedown_add(s, "\xe4\xbd", 0, DAY0, 0, &id, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_takedown_add(s, "x", 0, DAY0, 0, NULL, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_takedown_each(s, DAY0, NULL, NULL, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_takedown_version(s, NULL, &err), HG_ERR_INVALID);
  assert_int_equal(version_of(s), 2);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM takedowns"), 2);

  /* another handle (another gateway) sees each add in the version */
  hg_store *other = open_ok(t.url);
  assert_int_equal(version_of(other), 2);
  assert_int_equal(hg_store_takedown_add(s, "third", 0, DAY0, 0, &id, &err), HG_OK);
  assert_int_equal(version_of(other), 3);
  assert_int_equal(takedowns_at(other, DAY0).n, 3);
  hg_store_close(other);
  hg_store_close(s);
  tmp_remove(&t);
}

/* ---- users' standing -------------------------------------------------------------------------------------- */

static hg_user_standing strike(hg_store *s, const char *user, int blocked, int64_t seq, int64_t now) {
  hg_user_standing after;
  hg_error err;
  hg_error_clear(&err);
  if (hg_store_strike_record(s, user, blocked, seq, now, &after, &err)) fail_msg("strike: %s", err.message);
  return after;
}

static hg_user_standing standing_of(hg_store *s, const char *user, int64_t now) {
  hg_user_standing st;
  hg_error err;
  hg_error_clear(&err);
  if (hg_store_user_standing(s, user, now, &st, &err)) fail_msg("standing: %s", err.message);
  return st;
}

static void set_ok(hg_store *s, const char *user, hg_standing standing, int64_t until, const char *reason,
                   int64_t now) {
  hg_error err;
  hg_error_clear(&err);
  if (hg_store_user_set_standing(s, user, standing, until, reason, now, &err)) fail_msg("set: %s", err.message);
}

static void strikes(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  hg_error err;
  hg_error_clear(&err);

  /* an unknown user is active with nothing counted, and an allowed input does not create one */
  hg_user_standing u = standing_of(s, "alice", DAY0);
  assert_int_equal(u.standing, HG_STANDING_ACTIVE);
  assert_int_equal(u.blocked_in_a_row + u.blocked_today + u.suspensions + u.until_ms, 0);
  u = strike(s, "alice", 0, 0, DAY0);
  assert_int_equal(u.standing, HG_STANDING_ACTIVE);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM users"), 0);

  /* a run of blocked inputs, ended by an allowed one; the day's count keeps them */
  int64_t now = DAY0 + 20 * HOUR_MS;
  for (int i = 1; i <= 3; i++) {
    u = strike(s, "alice", 1, 100 + i, now + i);
    assert_int_equal(u.blocked_in_a_row, i);
    assert_int_equal(u.blocked_today, i);
    assert_int_equal(u.standing, HG_STANDING_ACTIVE); /* recording only counts; the ladder decides (strike_ladder) */
  }
  u = strike(s, "alice", 0, 0, now + 10);
  assert_int_equal(u.blocked_in_a_row, 0);
  assert_int_equal(u.blocked_today, 3);
  u = strike(s, "alice", 1, 104, now + 11);
  assert_int_equal(u.blocked_in_a_row, 1);
  assert_int_equal(u.blocked_today, 4);
  u = strike(s, "alice", 0, 0, now + 12);
  u = strike(s, "alice", 0, 0, now + 13); /* nothing to end: no write */
  assert_int_equal(u.blocked_in_a_row, 0);
  assert_int_equal(u.blocked_today, 4);

  /* each strike is kept with its time and audit seq as evidence */
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM strikes"), 4);
  assert_int_equal(raw_int(t.path, "SELECT SUM(audit_seq) FROM strikes"), 101 + 102 + 103 + 104);
  assert_int_equal(raw_int(t.path, "SELECT time_ms FROM strikes WHERE audit_seq = 104"), now + 11);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM strikes s JOIN users u ON u.id = s.user_id "
                                   "WHERE u.name = 'alice'"),
                   4);

  /* the UTC day boundary: 23:59:59.999 counts in day 0, 00:00:00.000 starts day 1 */
  int64_t midnight = DAY0 + DAY_MS;
  u = strike(s, "alice", 1, 105, midnight - 1);
  assert_int_equal(u.blocked_today, 5);
  assert_int_equal(u.blocked_in_a_row, 1);
  u = strike(s, "alice", 1, 106, midnight);
  assert_int_equal(u.blocked_today, 1);
  assert_int_equal(u.blocked_in_a_row, 2); /* a run goes on across midnight */
  assert_int_equal(standing_of(s, "alice", midnight - 1).blocked_today, 5);
  assert_int_equal(standing_of(s, "alice", midnight + DAY_MS - 1).blocked_today, 1);
  assert_int_equal(standing_of(s, "alice", midnight + DAY_MS).blocked_today, 0);
  assert_int_equal(standing_of(s, "alice", DAY0).blocked_today, 5);
  assert_int_equal(standing_of(s, "alice", midnight).blocked_in_a_row, 2);

  /* users are counted apart */
  u = strike(s, "bob", 1, 200, midnight + 5);
  assert_int_equal(u.blocked_in_a_row, 1);
  assert_int_equal(u.blocked_today, 1);
  assert_int_equal(standing_of(s, "alice", midnight + 5).blocked_today, 1);

  /* after may be NULL; bad arguments */
  assert_int_equal(hg_store_strike_record(s, "bob", 1, 201, midnight + 6, NULL, &err), HG_OK);
  assert_int_equal(hg_store_strike_record(s, "bob", 1, 0, midnight, &u, &err), HG_ERR_INVALID);
  assert_non_null(strstr(err.message, "audit record"));
  assert_int_equal(hg_store_strike_record(s, "bob", 1, 5, -1, &u, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_strike_record(s, "", 1, 5, midnight, &u, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_strike_record(s, "b\x01", 1, 5, midnight, &u, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_strike_record(s, NULL, 1, 5, midnight, &u, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_user_standing(s, "bob", -1, &u, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_user_standing(s, "bob", midnight, NULL, &err), HG_ERR_INVALID);
  assert_int_equal(standing_of(s, "bob", midnight + 7).blocked_in_a_row, 2);
  /* the run alone, read only: as the standing says; 0 for a user never seen and after an allowed input */
  int64_t run = -1;
  assert_int_equal(hg_store_strike_run(s, "bob", &run, &err), HG_OK);
  assert_int_equal(run, 2);
  assert_int_equal(hg_store_strike_run(s, "nobody-yet", &run, &err), HG_OK);
  assert_int_equal(run, 0);
  assert_int_equal(hg_store_strike_record(s, "bob", 0, 0, midnight + 8, NULL, &err), HG_OK);
  assert_int_equal(hg_store_strike_run(s, "bob", &run, &err), HG_OK);
  assert_int_equal(run, 0);
  assert_int_equal(hg_store_strike_run(s, "b\x01", &run, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_strike_run(s, NULL, &run, &err), HG_ERR_INVALID);
  hg_store_close(s);
  tmp_remove(&t);
}

/* The strike ladder's decision at its boundaries: each threshold reached exactly and missed by one, the
 * suspension that becomes termination, users who are not active, allowed inputs, and the end of a suspension. */
static hg_user_standing counted(hg_standing standing, int64_t in_a_row, int64_t today, int64_t suspensions) {
  hg_user_standing u = {
      .standing = standing, .blocked_in_a_row = in_a_row, .blocked_today = today, .suspensions = suspensions};
  return u;
}

static void strike_ladder(void **state) {
  (void)state;
  const int64_t now = DAY0 + 5 * HOUR_MS, hour = HOUR_MS;
  const hg_strike_ladder ladder = {
      .suspend_in_a_row = 3, .suspend_per_day = 5, .suspend_ms = hour, .terminate_after = 3};
  int64_t until = -1;
  hg_user_standing u;

  /* below both thresholds: nothing moves */
  u = counted(HG_STANDING_ACTIVE, 2, 4, 0);
  assert_int_equal(hg_strike_ladder_decide(&ladder, &u, 1, now, &until), HG_STANDING_ACTIVE);
  assert_int_equal(until, 0);
  u = counted(HG_STANDING_ACTIVE, 0, 0, 0);
  assert_int_equal(hg_strike_ladder_decide(&ladder, &u, 1, now, &until), HG_STANDING_ACTIVE);

  /* either threshold, reached exactly, suspends for suspend_ms */
  u = counted(HG_STANDING_ACTIVE, 3, 3, 0);
  assert_int_equal(hg_strike_ladder_decide(&ladder, &u, 1, now, &until), HG_STANDING_SUSPENDED);
  assert_int_equal(until, now + hour);
  u = counted(HG_STANDING_ACTIVE, 1, 5, 0);
  until = -1;
  assert_int_equal(hg_strike_ladder_decide(&ladder, &u, 1, now, &until), HG_STANDING_SUSPENDED);
  assert_int_equal(until, now + hour);
  u = counted(HG_STANDING_ACTIVE, 2, 5, 0);
  assert_int_equal(hg_strike_ladder_decide(&ladder, &u, 1, now, &until), HG_STANDING_SUSPENDED);
  u = counted(HG_STANDING_ACTIVE, 40, 90, 0); /* past both */
  assert_int_equal(hg_strike_ladder_decide(&ladder, &u, 1, now, &until), HG_STANDING_SUSPENDED);

  /* the terminate_after-th suspension terminates instead: suspensions so far + 1 >= terminate_after */
  u = counted(HG_STANDING_ACTIVE, 3, 3, 1);
  assert_int_equal(hg_strike_ladder_decide(&ladder, &u, 1, now, &until), HG_STANDING_SUSPENDED);
  assert_int_equal(until, now + hour);
  u = counted(HG_STANDING_ACTIVE, 3, 3, 2);
  assert_int_equal(hg_strike_ladder_decide(&ladder, &u, 1, now, &until), HG_STANDING_TERMINATED);
  assert_int_equal(until, 0);
  u = counted(HG_STANDING_ACTIVE, 0, 5, 7);
  assert_int_equal(hg_strike_ladder_decide(&ladder, &u, 1, now, &until), HG_STANDING_TERMINATED);
  u = counted(HG_STANDING_ACTIVE, 2, 4, 7); /* below the thresholds, many suspensions: still nothing */
  assert_int_equal(hg_strike_ladder_decide(&ladder, &u, 1, now, &until), HG_STANDING_ACTIVE);

  /* an allowed input never moves anyone, whatever was counted (the day's count outlives a lifted suspension) */
  u = counted(HG_STANDING_ACTIVE, 0, 9, 0);
  assert_int_equal(hg_strike_ladder_decide(&ladder, &u, 0, now, &until), HG_STANDING_ACTIVE);
  assert_int_equal(until, 0);

  /* a user who is not active stays as is, with the suspension's end */
  u = counted(HG_STANDING_SUSPENDED, 9, 9, 1);
  u.until_ms = now + 7;
  assert_int_equal(hg_strike_ladder_decide(&ladder, &u, 1, now, &until), HG_STANDING_SUSPENDED);
  assert_int_equal(until, now + 7);
  u = counted(HG_STANDING_TERMINATED, 9, 9, 2);
  assert_int_equal(hg_strike_ladder_decide(&ladder, &u, 1, now, &until), HG_STANDING_TERMINATED);
  assert_int_equal(until, 0);

  /* thresholds of 1: the first blocked input suspends; terminate_after 1: the first firing terminates */
  const hg_strike_ladder strict = {1, 1, 1, 1};
  const hg_strike_ladder one = {1, 1, 1, 2};
  u = counted(HG_STANDING_ACTIVE, 1, 1, 0);
  assert_int_equal(hg_strike_ladder_decide(&strict, &u, 1, now, &until), HG_STANDING_TERMINATED);
  assert_int_equal(hg_strike_ladder_decide(&one, &u, 1, now, &until), HG_STANDING_SUSPENDED);
  assert_int_equal(until, now + 1);

  /* the end of a suspension saturates instead of wrapping; until_ms may be NULL; NULL moves nobody */
  u = counted(HG_STANDING_ACTIVE, 3, 3, 0);
  assert_int_equal(hg_strike_ladder_decide(&ladder, &u, 1, INT64_MAX - 10, &until), HG_STANDING_SUSPENDED);
  assert_int_equal(until, INT64_MAX);
  assert_int_equal(hg_strike_ladder_decide(&ladder, &u, 1, now, NULL), HG_STANDING_SUSPENDED);
  assert_int_equal(hg_strike_ladder_decide(NULL, &u, 1, now, &until), HG_STANDING_ACTIVE);
  assert_int_equal(until, 0);
  assert_int_equal(hg_strike_ladder_decide(&ladder, NULL, 1, now, &until), HG_STANDING_ACTIVE);

  /* on the store's own counts: the third blocked input in a row suspends, and the store takes the decision */
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  hg_error err;
  hg_error_clear(&err);
  for (int i = 1; i <= 3; i++) {
    u = strike(s, "carol", 1, i, now + i);
    hg_standing to = hg_strike_ladder_decide(&ladder, &u, 1, now + i, &until);
    assert_int_equal(to, i < 3 ? HG_STANDING_ACTIVE : HG_STANDING_SUSPENDED);
  }
  assert_int_equal(hg_store_user_set_standing_by(s, "carol", HG_STANDING_SUSPENDED, until, "ladder",
                                                 HG_STANDING_BY_LADDER, now + 3, &err),
                   HG_OK);
  u = standing_of(s, "carol", now + 4);
  assert_int_equal(u.standing, HG_STANDING_SUSPENDED);
  assert_int_equal(u.until_ms, now + 3 + hour);
  assert_int_equal(u.suspensions, 1);
  assert_int_equal(hg_strike_ladder_decide(&ladder, &u, 1, now + 4, &until), HG_STANDING_SUSPENDED); /* stays */
  /* once it is over the run starts anew, and the day's count reaches suspend_per_day at the fifth */
  int64_t later = now + 3 + hour;
  u = strike(s, "carol", 1, 4, later);
  assert_int_equal(u.standing, HG_STANDING_ACTIVE);
  assert_int_equal(u.blocked_in_a_row, 1);
  assert_int_equal(u.blocked_today, 4);
  assert_int_equal(hg_strike_ladder_decide(&ladder, &u, 1, later, &until), HG_STANDING_ACTIVE);
  u = strike(s, "carol", 1, 5, later + 1);
  assert_int_equal(hg_strike_ladder_decide(&ladder, &u, 1, later + 1, &until), HG_STANDING_SUSPENDED);
  assert_int_equal(until, later + 1 + hour);
  hg_store_close(s);
  tmp_remove(&t);
}

static void standing(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  hg_error err;
  hg_error_clear(&err);

  assert_string_equal(hg_standing_name(HG_STANDING_ACTIVE), "active");
  assert_string_equal(hg_standing_name(HG_STANDING_SUSPENDED), "suspended");
  assert_string_equal(hg_standing_name(HG_STANDING_TERMINATED), "terminated");
  assert_string_equal(hg_standing_name((hg_standing)7), "unknown");

  /* three in a row; the gateway suspends for a day, which starts a new run */
  int64_t now = DAY0 + HOUR_MS;
  for (int i = 1; i <= 3; i++)
    strike(s, "carol", 1, i, now + i);
  int64_t until = now + DAY_MS;
  set_ok(s, "carol", HG_STANDING_SUSPENDED, until, "3 blocked inputs in a row", now + 4);
  hg_user_standing u = standing_of(s, "carol", now + 5);
  assert_int_equal(u.standing, HG_STANDING_SUSPENDED);
  assert_int_equal(u.until_ms, until);
  assert_int_equal(u.suspensions, 1);
  assert_int_equal(u.blocked_in_a_row, 0);
  assert_int_equal(u.blocked_today, 3);

  /* it ends by itself at until_ms */
  assert_int_equal(standing_of(s, "carol", until - 1).standing, HG_STANDING_SUSPENDED);
  u = standing_of(s, "carol", until);
  assert_int_equal(u.standing, HG_STANDING_ACTIVE);
  assert_int_equal(u.until_ms, 0);
  assert_int_equal(u.suspensions, 1);

  /* extending a running suspension is not a second one; a new one after the first ended is */
  set_ok(s, "carol", HG_STANDING_SUSPENDED, until + HOUR_MS, "extended by a reviewer", now + 6);
  u = standing_of(s, "carol", until);
  assert_int_equal(u.standing, HG_STANDING_SUSPENDED);
  assert_int_equal(u.until_ms, until + HOUR_MS);
  assert_int_equal(u.suspensions, 1);
  u = strike(s, "carol", 1, 10, until + 2 * HOUR_MS);
  assert_int_equal(u.standing, HG_STANDING_ACTIVE);
  assert_int_equal(u.blocked_in_a_row, 1);
  set_ok(s, "carol", HG_STANDING_SUSPENDED, 0, "again, until a reviewer lifts it", until + 2 * HOUR_MS + 1);
  u = standing_of(s, "carol", until + 1000 * DAY_MS);
  assert_int_equal(u.standing, HG_STANDING_SUSPENDED);
  assert_int_equal(u.until_ms, 0);
  assert_int_equal(u.suspensions, 2);

  /* a reviewer lifts it; then terminates */
  set_ok(s, "carol", HG_STANDING_ACTIVE, 0, "appeal accepted", until + 3 * HOUR_MS);
  u = standing_of(s, "carol", until + 3 * HOUR_MS);
  assert_int_equal(u.standing, HG_STANDING_ACTIVE);
  assert_int_equal(u.suspensions, 2);
  set_ok(s, "carol", HG_STANDING_TERMINATED, 0, "repeated serious violations", until + 4 * HOUR_MS);
  u = standing_of(s, "carol", until + 1000 * DAY_MS);
  assert_int_equal(u.standing, HG_STANDING_TERMINATED);
  assert_int_equal(u.until_ms, 0);

  /* every change is kept with its reason, in order */
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM standing_history"), 5);
  char reason[64];
  raw_text(t.path, "SELECT reason FROM standing_history ORDER BY id LIMIT 1", reason, sizeof reason);
  assert_string_equal(reason, "3 blocked inputs in a row");
  raw_text(t.path, "SELECT standing || ':' || reason FROM standing_history ORDER BY id DESC LIMIT 1", reason,
           sizeof reason);
  assert_string_equal(reason, "terminated:repeated serious violations");
  assert_int_equal(raw_int(t.path, "SELECT until_ms FROM standing_history ORDER BY id LIMIT 1"), until);

  /* a user can be suspended before any strike */
  set_ok(s, "dave", HG_STANDING_SUSPENDED, DAY0 + DAY_MS, "reported by the police", DAY0);
  u = standing_of(s, "dave", DAY0);
  assert_int_equal(u.standing, HG_STANDING_SUSPENDED);
  assert_int_equal(u.suspensions, 1);
  /* who decided is kept, so that the user is told the real cause: a person here, the ladder below */
  assert_int_equal(u.set_by, HG_STANDING_BY_REVIEWER);
  assert_int_equal(hg_store_user_set_standing_by(s, "dave", HG_STANDING_SUSPENDED, DAY0 + 2 * DAY_MS, "5 today",
                                                 HG_STANDING_BY_LADDER, DAY0 + 1, &err),
                   HG_OK);
  assert_int_equal(standing_of(s, "dave", DAY0 + 1).set_by, HG_STANDING_BY_LADDER);
  assert_int_equal(
      hg_store_user_set_standing_by(s, "dave", HG_STANDING_ACTIVE, 0, "r", (hg_standing_source)7, DAY0 + 2, &err),
      HG_ERR_INVALID);

  /* refused changes */
  assert_int_equal(hg_store_user_set_standing(s, "erin", HG_STANDING_SUSPENDED, DAY0, "r", DAY0, &err), HG_ERR_INVALID);
  assert_non_null(strstr(err.message, "must end after now"));
  assert_int_equal(hg_store_user_set_standing(s, "erin", HG_STANDING_ACTIVE, DAY0 + 1, "r", DAY0, &err),
                   HG_ERR_INVALID);
  assert_non_null(strstr(err.message, "only for a suspension"));
  assert_int_equal(hg_store_user_set_standing(s, "erin", HG_STANDING_TERMINATED, DAY0 + 1, "r", DAY0, &err),
                   HG_ERR_INVALID);
  assert_int_equal(hg_store_user_set_standing(s, "erin", HG_STANDING_SUSPENDED, 0, "", DAY0, &err), HG_ERR_INVALID);
  assert_non_null(strstr(err.message, "needs a reason"));
  assert_int_equal(hg_store_user_set_standing(s, "erin", HG_STANDING_SUSPENDED, 0, NULL, DAY0, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_user_set_standing(s, "erin", HG_STANDING_SUSPENDED, 0, "\xff", DAY0, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_user_set_standing(s, "erin", (hg_standing)3, 0, "r", DAY0, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_user_set_standing(s, "erin", HG_STANDING_SUSPENDED, -1, "r", DAY0, &err), HG_ERR_INVALID);
  assert_int_equal(standing_of(s, "erin", DAY0).standing, HG_STANDING_ACTIVE);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM users WHERE name = 'erin'"), 0);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM standing_history"), 7);

  /* a damaged standing is reported, not read as active */
  raw_sql(t.path, "UPDATE user_standing SET standing = 'pardoned' WHERE user_id = "
                  "(SELECT id FROM users WHERE name = 'dave')");
  assert_int_equal(hg_store_user_standing(s, "dave", DAY0, &u, &err), HG_ERR_STORE);
  assert_non_null(strstr(err.message, "damaged"));
  hg_store_close(s);
  tmp_remove(&t);
}

/* ---- schema and concurrency ------------------------------------------------------------------------------- */

/* The review queue: items added, listed newest first and by status, read by id, assigned and decided once (a second
 * decision or an assignment after it is HG_ERR_CONFLICT, an unknown id HG_ERR_NOT_FOUND), and the sample's decided
 * items counted per local day, checked against counts made here from what was added. */
typedef struct review_seen {
  int n;
  int64_t ids[16];
  char status[16][16];
  char assignee[32];
} review_seen;

static int review_collect(void *ctx, const hg_review_item *it) {
  review_seen *r = ctx;
  if (r->n < 16) {
    r->ids[r->n] = it->id;
    snprintf(r->status[r->n], sizeof r->status[0], "%s", it->status);
    r->n++;
  }
  snprintf(r->assignee, sizeof r->assignee, "%s", it->assignee ? it->assignee : "");
  return 0;
}

typedef struct review_days {
  int n;
  int64_t start[8], decided[8], allowed[8];
} review_days;

static int review_day(void *ctx, int64_t day_start_ms, int64_t decided, int64_t allowed) {
  review_days *d = ctx;
  if (d->n < 8) d->start[d->n] = day_start_ms, d->decided[d->n] = decided, d->allowed[d->n] = allowed, d->n++;
  return 0;
}

static void review_queue(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  hg_error err;
  hg_error_clear(&err);
  const int64_t day = 86400000, offset = 8 * 3600000;
  /* local days (UTC+8) 0, 0, 1 of six sampled items and two review verdicts, created at known times */
  const int64_t base = 1800000000000 - (1800000000000 + offset) % day; /* a local midnight */
  int64_t ids[8];
  for (int i = 0; i < 8; i++) {
    char rid[32];
    snprintf(rid, sizeof rid, "chatcmpl-%d", i);
    hg_review_item in = {.response_id = rid,
                         .actor = "0123456789abcdef0123456789abcdef",
                         .route = "/v1/chat/completions",
                         .verdict = i < 6 ? "allow" : "review",
                         .sampled = i < 6,
                         .reasons = i < 6 ? NULL : "{\"input_hits\":[]}"};
    int64_t created = base + (i < 4 ? 3600000 * i : day + 3600000 * i);
    assert_int_equal(hg_store_review_add(s, &in, created, &ids[i], &err), HG_OK);
  }
  hg_review_item bad = {.response_id = "", .actor = "x", .route = "r", .verdict = "allow"};
  int64_t bad_id;
  assert_int_equal(hg_store_review_add(s, &bad, base, &bad_id, &err), HG_ERR_INVALID);

  review_seen all = {0};
  assert_int_equal(hg_store_review_list(s, NULL, 100, review_collect, &all, &err), HG_OK);
  assert_int_equal(all.n, 8);
  assert_true(all.ids[0] == ids[7] && all.ids[7] == ids[0]); /* newest first */
  review_seen two = {0};
  assert_int_equal(hg_store_review_list(s, "open", 2, review_collect, &two, &err), HG_OK);
  assert_int_equal(two.n, 2);
  assert_int_equal(hg_store_review_list(s, "closed", 2, review_collect, &two, &err), HG_ERR_INVALID);

  /* decisions: sampled items 0 allowed, 1 blocked (local day 0), 4 allowed, 5 allowed (day 1); 2, 3 stay open */
  assert_int_equal(hg_store_review_assign(s, ids[0], "rita", &err), HG_OK);
  review_seen one = {0};
  assert_int_equal(hg_store_review_get(s, ids[0], review_collect, &one, &err), HG_OK);
  assert_int_equal(one.n, 1);
  assert_string_equal(one.assignee, "rita");
  const char *decisions[6] = {"allowed", "blocked", NULL, NULL, "allowed", "allowed"};
  for (int i = 0; i < 6; i++)
    if (decisions[i])
      assert_int_equal(hg_store_review_decide(s, ids[i], decisions[i], "rita", "ok", base + 9, &err), HG_OK);
  assert_int_equal(hg_store_review_decide(s, ids[0], "blocked", "bob", NULL, base + 10, &err), HG_ERR_CONFLICT);
  assert_int_equal(hg_store_review_assign(s, ids[0], "bob", &err), HG_ERR_CONFLICT);
  assert_int_equal(hg_store_review_decide(s, 424242, "allowed", "bob", NULL, base, &err), HG_ERR_NOT_FOUND);
  assert_int_equal(hg_store_review_assign(s, 424242, "bob", &err), HG_ERR_NOT_FOUND);
  assert_int_equal(hg_store_review_decide(s, ids[2], "maybe", "bob", NULL, base, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_review_get(s, 424242, review_collect, &one, &err), HG_ERR_NOT_FOUND);
  review_seen still = {0};
  assert_int_equal(hg_store_review_get(s, ids[0], review_collect, &still, &err), HG_OK);
  assert_string_equal(still.status[0], "allowed"); /* the first decision stands */

  /* the reference: counted here from the decisions and the creation days */
  int64_t ref_decided[2] = {0}, ref_allowed[2] = {0};
  for (int i = 0; i < 6; i++)
    if (decisions[i]) {
      int d = i < 4 ? 0 : 1;
      ref_decided[d]++;
      ref_allowed[d] += !strcmp(decisions[i], "allowed");
    }
  review_days days = {0};
  int64_t open = -1;
  assert_int_equal(hg_store_review_stats(s, base, offset, &open, review_day, &days, &err), HG_OK);
  assert_int_equal(open, 4); /* 2, 3 and the two review verdicts */
  assert_int_equal(days.n, 2);
  for (int d = 0; d < 2; d++) {
    assert_int_equal(days.start[d], base + d * day);
    assert_int_equal(days.decided[d], ref_decided[d]);
    assert_int_equal(days.allowed[d], ref_allowed[d]);
  }
  review_days later = {0};
  assert_int_equal(hg_store_review_stats(s, base + day, offset, &open, review_day, &later, &err), HG_OK);
  assert_int_equal(later.n, 1);
  hg_store_close(s);
  tmp_remove(&t);
}

/* A database made by the version-1 hegui (keys and audit only) gains the new tables and keeps its data. */
static void migrates_version_1(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  char key[HG_KEY_MAX];
  hg_error err;
  hg_error_clear(&err);
  assert_int_equal(hg_store_key_create(s, "frank", HG_ROLE_REVIEWER, key, &err), HG_OK);
  hg_store_close(s);
  int64_t latest = raw_int(t.path, "SELECT MAX(version) FROM schema_version"); /* what a new database gets */
  assert_true(latest >= 9);
  raw_sql(t.path, "DROP TABLE complaints; DROP TABLE takedowns; DROP TABLE takedown_version; "
                  "DROP TABLE user_standing; DROP TABLE strikes; DROP TABLE standing_history; "
                  "ALTER TABLE audit DROP COLUMN format; ALTER TABLE audit DROP COLUMN text_sha256; "
                  "DROP TABLE user_identity; DROP TABLE user_usage; DROP INDEX api_keys_user; "
                  "ALTER TABLE api_keys DROP COLUMN expires_ms; DROP TABLE review_items; DROP TABLE quota_counters; "
                  "DROP TABLE webhook_deliveries; DROP TABLE versions; "
                  "DELETE FROM schema_version WHERE version > 1");
  assert_int_equal(raw_int(t.path, "SELECT MAX(version) FROM schema_version"), 1);

  s = open_ok(t.url);
  assert_int_equal(raw_int(t.path, "SELECT MAX(version) FROM schema_version"), latest);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM schema_version"), latest);
  hg_key_info info;
  assert_int_equal(hg_store_key_lookup(s, key, strlen(key), &info, &err), HG_OK);
  assert_string_equal(info.user, "frank");
  add_ok(s, "other", "p", NULL, NULL, DAY0, DAY0);
  assert_int_equal(version_of(s), 0);
  strike(s, "frank", 1, 1, DAY0);
  hg_store_close(s);
  tmp_remove(&t);
}

typedef struct striker {
  const char *url;
  int64_t base_seq;
} striker;

static void *strike_50(void *p) {
  striker *w = p;
  hg_store *s = open_ok(w->url);
  for (int i = 0; i < 50; i++)
    if (hg_store_strike_record(s, "mallory", 1, w->base_seq + i, DAY0 + i, NULL, NULL)) fail_msg("strike %d", i);
  hg_store_close(s);
  return NULL;
}

/* Four gateways record strikes for one user at once: none is lost to a read-modify-write race. */
static void strikes_from_four_handles(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store_close(open_ok(t.url));
  pthread_t th[4];
  striker w[4];
  for (int i = 0; i < 4; i++) {
    w[i] = (striker){t.url, 1000 * (i + 1)};
    assert_int_equal(pthread_create(&th[i], NULL, strike_50, &w[i]), 0);
  }
  for (int i = 0; i < 4; i++)
    pthread_join(th[i], NULL);
  hg_store *s = open_ok(t.url);
  hg_user_standing u = standing_of(s, "mallory", DAY0);
  assert_int_equal(u.blocked_in_a_row, 200);
  assert_int_equal(u.blocked_today, 200);
  hg_store_close(s);
  tmp_remove(&t);
}

/* ---- usage quotas ---- */

#define MINUTE_MS INT64_C(60000)

static hg_quota_hit admit(hg_store *s, const hg_quota_subject *subjects, size_t n, int64_t now) {
  hg_quota_hit hit;
  hg_error err;
  hg_error_clear(&err);
  if (hg_store_quota_admit(s, subjects, n, now, &hit, &err)) fail_msg("quota admit: %s", err.message);
  return hit;
}

static hg_quota_hit admit_one(hg_store *s, const char *subject, const hg_quota_limits *limits, int64_t now) {
  hg_quota_subject one = {subject, limits};
  return admit(s, &one, 1, now);
}

static hg_quota_usage quota_of(hg_store *s, const char *subject, int64_t now) {
  hg_quota_usage u;
  hg_error err;
  hg_error_clear(&err);
  if (hg_store_quota_get(s, subject, now, &u, &err)) fail_msg("quota get %s: %s", subject, err.message);
  return u;
}

static void tokens_ok(hg_store *s, const char *subject, uint64_t tokens, int64_t now) {
  hg_quota_subject one = {subject, NULL};
  hg_error err;
  hg_error_clear(&err);
  if (hg_store_quota_add_tokens(s, &one, 1, tokens, now, &err)) fail_msg("quota tokens: %s", err.message);
}

static int64_t quota_rows(const char *path, const char *subject) {
  char sql[300];
  snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM quota_counters WHERE subject = '%s'", subject);
  return raw_int(path, sql);
}

/* Counting, each limit in its window, roll-over of minutes and days, tokens, two subjects in one admission, old
 * windows deleted, a data-subject deletion, bad arguments. Times are passed in. */
static void quotas(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  hg_error err;
  hg_error_clear(&err);

  /* requests per minute: 3 admitted, the 4th refused until the minute ends, and the refusal counts nothing */
  hg_quota_limits per_minute = {.requests_per_minute = 3, .requests_per_day = 5};
  int64_t now = DAY0 + 1000;
  for (int i = 0; i < 3; i++)
    assert_int_equal(admit_one(s, "u:alice", &per_minute, now + i).limit, HG_QUOTA_NONE);
  hg_quota_hit hit = admit_one(s, "u:alice", &per_minute, now + 10);
  assert_int_equal(hit.limit, HG_QUOTA_REQUESTS_PER_MINUTE);
  assert_string_equal(hg_quota_limit_name(hit.limit), "requests per minute");
  assert_int_equal(hit.subject, 0);
  assert_int_equal(hit.used, 3);
  assert_int_equal(hit.retry_after_ms, MINUTE_MS - 1010);
  hg_quota_usage u = quota_of(s, "u:alice", now + 10);
  assert_int_equal(u.requests_minute, 3);
  assert_int_equal(u.requests_day, 3);
  /* the last millisecond of the minute is still in it; the next minute starts afresh, the day goes on */
  assert_int_equal(admit_one(s, "u:alice", &per_minute, DAY0 + MINUTE_MS - 1).limit, HG_QUOTA_REQUESTS_PER_MINUTE);
  assert_int_equal(admit_one(s, "u:alice", &per_minute, DAY0 + MINUTE_MS).limit, HG_QUOTA_NONE);
  assert_int_equal(admit_one(s, "u:alice", &per_minute, DAY0 + MINUTE_MS + 1).limit, HG_QUOTA_NONE);
  /* requests per day: 5 reached in the second minute; retry at the next UTC midnight */
  hit = admit_one(s, "u:alice", &per_minute, DAY0 + 2 * MINUTE_MS);
  assert_int_equal(hit.limit, HG_QUOTA_REQUESTS_PER_DAY);
  assert_int_equal(hit.used, 5);
  assert_int_equal(hit.retry_after_ms, DAY_MS - 2 * MINUTE_MS);
  assert_int_equal(admit_one(s, "u:alice", &per_minute, DAY0 + DAY_MS - 1).limit, HG_QUOTA_REQUESTS_PER_DAY);
  u = quota_of(s, "u:alice", DAY0 + 2 * MINUTE_MS);
  assert_int_equal(u.requests_minute, 0);
  assert_int_equal(u.requests_day, 5);
  /* a new UTC day: admitted again, and only the current minute and day of alice are kept */
  assert_int_equal(admit_one(s, "u:alice", &per_minute, DAY0 + DAY_MS).limit, HG_QUOTA_NONE);
  u = quota_of(s, "u:alice", DAY0 + DAY_MS);
  assert_int_equal(u.requests_minute, 1);
  assert_int_equal(u.requests_day, 1);
  assert_int_equal(quota_rows(t.path, "u:alice"), 2);

  /* tokens: counted when reported, over the limit the next admission is refused; minute and day alike */
  hg_quota_limits tokens = {.tokens_per_minute = 100, .tokens_per_day = 250};
  int64_t d1 = DAY0 + DAY_MS;
  assert_int_equal(admit_one(s, "k:7", &tokens, d1).limit, HG_QUOTA_NONE);
  tokens_ok(s, "k:7", 60, d1 + 1);
  assert_int_equal(admit_one(s, "k:7", &tokens, d1 + 2).limit, HG_QUOTA_NONE);
  tokens_ok(s, "k:7", 40, d1 + 3);
  hit = admit_one(s, "k:7", &tokens, d1 + 4);
  assert_int_equal(hit.limit, HG_QUOTA_TOKENS_PER_MINUTE);
  assert_int_equal(hit.used, 100);
  assert_int_equal(hit.retry_after_ms, MINUTE_MS - 4);
  tokens_ok(s, "k:7", 200, d1 + MINUTE_MS); /* an answer that ends in the next minute counts there */
  hit = admit_one(s, "k:7", &tokens, d1 + MINUTE_MS + 1);
  assert_int_equal(hit.limit, HG_QUOTA_TOKENS_PER_MINUTE);
  hit = admit_one(s, "k:7", &tokens, d1 + 2 * MINUTE_MS);
  assert_int_equal(hit.limit, HG_QUOTA_TOKENS_PER_DAY);
  assert_int_equal(hit.used, 300);
  u = quota_of(s, "k:7", d1 + 2 * MINUTE_MS);
  assert_int_equal(u.requests_day, 2);
  assert_int_equal(u.tokens_day, 300);
  assert_int_equal(u.tokens_minute, 0);
  /* a count from a damaged upstream is bounded */
  tokens_ok(s, "k:huge", UINT64_MAX, d1);
  assert_int_equal(quota_of(s, "k:huge", d1).tokens_day, HG_QUOTA_TOKENS_MAX);
  tokens_ok(s, "k:huge", UINT64_MAX, d1);
  assert_int_equal(quota_of(s, "k:huge", d1).tokens_day, 2 * HG_QUOTA_TOKENS_MAX);

  /* two subjects: the key over its limit refuses the request, and the user is not counted either */
  hg_quota_limits user_limits = {.requests_per_minute = 10}, key_limits = {.requests_per_minute = 2};
  hg_quota_subject both[2] = {{"u:bob", &user_limits}, {"k:42", &key_limits}};
  assert_int_equal(admit(s, both, 2, d1).limit, HG_QUOTA_NONE);
  assert_int_equal(admit(s, both, 2, d1 + 1).limit, HG_QUOTA_NONE);
  hit = admit(s, both, 2, d1 + 2);
  assert_int_equal(hit.limit, HG_QUOTA_REQUESTS_PER_MINUTE);
  assert_int_equal(hit.subject, 1);
  assert_int_equal(quota_of(s, "u:bob", d1).requests_minute, 2);
  assert_int_equal(quota_of(s, "k:42", d1).requests_minute, 2);
  /* bob's other key still works, and counts against bob */
  hg_quota_subject other_key[2] = {{"u:bob", &user_limits}, {"k:43", &key_limits}};
  assert_int_equal(admit(s, other_key, 2, d1 + 3).limit, HG_QUOTA_NONE);
  assert_int_equal(quota_of(s, "u:bob", d1).requests_minute, 3);
  /* the user over the limit: refused as the user (subject 0), the key not counted */
  hg_quota_limits user_one = {.requests_per_minute = 3};
  hg_quota_subject tight[2] = {{"u:bob", &user_one}, {"k:44", &key_limits}};
  hit = admit(s, tight, 2, d1 + 4);
  assert_int_equal(hit.limit, HG_QUOTA_REQUESTS_PER_MINUTE);
  assert_int_equal(hit.subject, 0);
  assert_int_equal(quota_rows(t.path, "k:44"), 0);
  /* no limits: counted only; no subjects: admitted without a store write */
  assert_int_equal(admit_one(s, "u:carol", NULL, d1).limit, HG_QUOTA_NONE);
  assert_int_equal(quota_of(s, "u:carol", d1).requests_day, 1);
  assert_int_equal(admit(s, NULL, 0, d1).limit, HG_QUOTA_NONE);

  /* old windows: a subject seen on day 0 only (dave) is deleted by the first admission of a later day on a handle */
  assert_int_equal(admit_one(s, "u:dave", NULL, DAY0 + 5).limit, HG_QUOTA_NONE);
  hg_store_close(s);
  s = open_ok(t.url);
  assert_int_equal(quota_rows(t.path, "u:dave"), 2);
  assert_int_equal(admit_one(s, "u:erin", NULL, DAY0 + 2 * DAY_MS).limit, HG_QUOTA_NONE);
  assert_int_equal(quota_rows(t.path, "u:dave"), 0);
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM quota_counters WHERE window_kind = 1 AND window_number < "
                                   "(1709251200000 / 86400000 + 2)"),
                   0);

  /* a data-subject deletion takes the user's counters with it */
  assert_int_equal(admit_one(s, "u:frank", &per_minute, DAY0 + 2 * DAY_MS).limit, HG_QUOTA_NONE);
  assert_int_equal(quota_rows(t.path, "u:frank"), 2);
  assert_int_equal(hg_store_dsar_delete(s, "frank", "0123456789abcdef0123456789abcdef", DAY0 + 2 * DAY_MS, NULL, &err),
                   HG_OK);
  assert_int_equal(quota_rows(t.path, "u:frank"), 0);
  assert_int_equal(quota_rows(t.path, "u:erin"), 2);

  /* bad arguments */
  hg_quota_subject empty = {"", NULL}, missing = {NULL, NULL};
  char long_subject[HG_QUOTA_SUBJECT_MAX + 2];
  memset(long_subject, 'x', sizeof long_subject - 1);
  long_subject[sizeof long_subject - 1] = 0;
  hg_quota_subject too_long = {long_subject, NULL};
  assert_int_equal(hg_store_quota_admit(s, &empty, 1, DAY0, &hit, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_quota_admit(s, &missing, 1, DAY0, &hit, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_quota_admit(s, &too_long, 1, DAY0, &hit, &err), HG_ERR_INVALID);
  assert_non_null(strstr(err.message, "1-256 bytes"));
  assert_int_equal(hg_store_quota_admit(s, NULL, 2, DAY0, &hit, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_quota_admit(s, &empty, 0, -1, &hit, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_quota_admit(s, NULL, 0, DAY0, NULL, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_quota_add_tokens(s, &too_long, 1, 5, DAY0, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_quota_get(s, "", DAY0, &u, &err), HG_ERR_INVALID);
  assert_string_equal(hg_quota_limit_name(HG_QUOTA_TOKENS_PER_DAY), "tokens per day");
  hg_store_close(s);
  tmp_remove(&t);
}

/* 20,000 subjects (every name collides with others under any small hash table) in a random order over three
 * minutes, with per-minute and per-day limits: each admission's answer and every final count match a reference
 * counted here. */
#define QUOTA_SUBJECTS 20000
static void quota_subjects_apart(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  static int64_t minute_count[QUOTA_SUBJECTS], day_count[QUOTA_SUBJECTS];
  static unsigned minute_rows[QUOTA_SUBJECTS]; /* bit m: the subject has a row for minute m */
  memset(minute_count, 0, sizeof minute_count);
  memset(day_count, 0, sizeof day_count);
  memset(minute_rows, 0, sizeof minute_rows);
  hg_quota_limits limits = {.requests_per_minute = 2, .requests_per_day = 3};
  uint64_t rng = 0x9E3779B97F4A7C15u;
  char name[32];
  int64_t admitted = 0, refused = 0;
  int admissions = 3 * QUOTA_SUBJECTS;
  for (int i = 0; i < admissions; i++) {
    int minute = i / QUOTA_SUBJECTS; /* three minutes of one day, in order */
    if (i % QUOTA_SUBJECTS == 0) memset(minute_count, 0, sizeof minute_count);
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    int who = (int)(rng % QUOTA_SUBJECTS);
    snprintf(name, sizeof name, "u:user-%d", who);
    int64_t now = DAY0 + minute * MINUTE_MS + (i % QUOTA_SUBJECTS);
    hg_quota_limit want = minute_count[who] >= 2 ? HG_QUOTA_REQUESTS_PER_MINUTE
                          : day_count[who] >= 3  ? HG_QUOTA_REQUESTS_PER_DAY
                                                 : HG_QUOTA_NONE;
    hg_quota_hit hit = admit_one(s, name, &limits, now);
    if (hit.limit != want) fail_msg("admission %d of %s: limit %d, expected %d", i, name, hit.limit, want);
    if (want == HG_QUOTA_NONE) {
      minute_count[who]++, day_count[who]++, admitted++;
      /* a first row of a minute deletes the subject's rows from before the previous minute */
      if (!(minute_rows[who] & (1u << minute)) && minute >= 2) minute_rows[who] &= ~((1u << (minute - 1)) - 1);
      minute_rows[who] |= 1u << minute;
    } else {
      refused++;
    }
  }
  int64_t rows = 0;
  for (int who = 0; who < QUOTA_SUBJECTS; who++)
    rows += __builtin_popcount(minute_rows[who]);
  int64_t end = DAY0 + 2 * MINUTE_MS;
  for (int who = 0; who < QUOTA_SUBJECTS; who++) {
    snprintf(name, sizeof name, "u:user-%d", who);
    hg_quota_usage u = quota_of(s, name, end);
    if (u.requests_day != day_count[who] || u.requests_minute != minute_count[who])
      fail_msg("%s: counted %" PRId64 "/%" PRId64 ", expected %" PRId64 "/%" PRId64, name, u.requests_minute,
               u.requests_day, minute_count[who], day_count[who]);
  }
  assert_true(admitted > 0 && refused > 0);
  assert_int_equal(raw_int(t.path, "SELECT SUM(requests) FROM quota_counters WHERE window_kind = 1"), admitted);
  /* the minute rows left are those the reference keeps: older minutes went when the subject's next one started */
  assert_int_equal(raw_int(t.path, "SELECT COUNT(*) FROM quota_counters WHERE window_kind = 0"), rows);
  assert_true(rows < 2 * QUOTA_SUBJECTS);
  hg_store_close(s);
  tmp_remove(&t);
}

typedef struct quota_racer {
  const char *url;
  int admitted;
} quota_racer;

static void *admit_50(void *p) {
  quota_racer *r = p;
  hg_store *s = open_ok(r->url);
  hg_quota_limits limits = {.requests_per_minute = 100};
  hg_quota_subject one = {"u:shared", &limits};
  for (int i = 0; i < 50; i++) {
    hg_quota_hit hit;
    if (hg_store_quota_admit(s, &one, 1, DAY0 + i, &hit, NULL)) fail_msg("admission %d", i);
    if (hit.limit == HG_QUOTA_NONE) r->admitted++;
  }
  hg_store_close(s);
  return NULL;
}

/* Four gateways (handles) admit for one user at once, 200 tries for a limit of 100: exactly 100 get in. */
static void quota_from_four_handles(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store_close(open_ok(t.url));
  pthread_t th[4];
  quota_racer r[4];
  for (int i = 0; i < 4; i++) {
    r[i] = (quota_racer){t.url, 0};
    assert_int_equal(pthread_create(&th[i], NULL, admit_50, &r[i]), 0);
  }
  int total = 0;
  for (int i = 0; i < 4; i++)
    pthread_join(th[i], NULL), total += r[i].admitted;
  assert_int_equal(total, 100);
  assert_int_equal(raw_int(t.path, "SELECT requests FROM quota_counters WHERE subject = 'u:shared' AND "
                                   "window_kind = 0"),
                   100);
  tmp_remove(&t);
}

/* ---- operator tools: pages of complaints, the complainant's secret, withdrawn takedowns, strikes listed ---- */

typedef struct ref_ticket {
  int64_t id, due;
  const char *type, *status, *channel;
} ref_ticket;

typedef struct page_got {
  int64_t ids[600];
  int n;
} page_got;

static int page_collect(void *ctx, const hg_complaint *c) {
  page_got *g = ctx;
  assert_true(g->n < 600);
  g->ids[g->n++] = c->id;
  return 0;
}

/* 300 tickets of random types, channels, statuses and deadlines; 400 random queries paged through at random page
 * sizes give exactly the tickets a naive filter of the test's own list gives, newest id first, each once. */
static void complaint_pages(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  static const char *const types[] = {"prohibited_content", "ip_infringement", "privacy", "personal_info", "other"};
  static const char *const channels[] = {"web", "phone", "email", "letter", "in_person"};
  static const char *const statuses[] = {"received", "in_review", "upheld", "rejected", "closed"};
  ref_ticket ref[300];
  srand(15);
  hg_error err;
  for (int i = 0; i < 300; i++) {
    ref_ticket *r = &ref[i];
    r->type = types[rand() % 5];
    r->channel = channels[rand() % 5];
    int64_t created = DAY0 + i * 1000;
    r->due = created + (rand() % 100) * HOUR_MS;
    if (hg_store_complaint_add_from(s, r->channel, r->type, NULL, "t", NULL, created, r->due, &r->id, &err))
      fail_msg("add: %s", err.message);
    int moves = rand() % 4; /* received; in_review; in_review+upheld; in_review+rejected+closed */
    r->status = "received";
    if (moves >= 1) move_ok(s, r->id, "in_review", NULL, created + 1), r->status = "in_review";
    if (moves == 2) move_ok(s, r->id, "upheld", "ok", created + 2), r->status = "upheld";
    if (moves == 3) {
      move_ok(s, r->id, "rejected", "no", created + 2);
      move_ok(s, r->id, "closed", NULL, created + 3);
      r->status = "closed";
    }
  }
  for (int q = 0; q < 400; q++) {
    hg_complaint_query query = {0};
    if (rand() % 2) query.type = types[rand() % 5];
    if (rand() % 3 == 0) query.channel = channels[rand() % 5];
    if (rand() % 3 == 0) query.status = statuses[rand() % 5];
    query.overdue = rand() % 4 == 0;
    int64_t now = DAY0 + (rand() % 120) * HOUR_MS;
    query.limit = 1 + rand() % 60;
    /* the reference: the test's list filtered by the documented rules, newest (highest id) first */
    int64_t want[300];
    int nwant = 0;
    for (int i = 299; i >= 0; i--) {
      const ref_ticket *r = &ref[i];
      int open = !strcmp(r->status, "received") || !strcmp(r->status, "in_review");
      if ((query.type && strcmp(query.type, r->type)) || (query.channel && strcmp(query.channel, r->channel)) ||
          (query.status && strcmp(query.status, r->status)) || (query.overdue && !(open && r->due < now)))
        continue;
      want[nwant++] = r->id;
    }
    page_got got = {.n = 0};
    int pages = 0;
    do {
      int64_t next = -1, before_n = got.n;
      if (hg_store_complaint_query(s, &query, now, page_collect, &got, &next, &err)) fail_msg("query: %s", err.message);
      assert_true(got.n - before_n <= query.limit);
      /* a next cursor exactly when more match after the page, and it is the page's last id */
      if (next) assert_int_equal(next, got.ids[got.n - 1]);
      assert_int_equal(next != 0, got.n < nwant);
      query.before_id = next;
      pages++;
    } while (query.before_id && pages < 400);
    assert_int_equal(got.n, nwant);
    for (int i = 0; i < nwant; i++)
      assert_int_equal(got.ids[i], want[i]);
  }
  /* what a query may not be */
  hg_complaint_query bad[] = {{.limit = 0},
                              {.limit = HG_COMPLAINT_PAGE_MAX + 1},
                              {.limit = 5, .status = "lost"},
                              {.limit = 5, .type = "spam"},
                              {.limit = 5, .channel = "fax"},
                              {.limit = 5, .before_id = -1}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    page_got got = {.n = 0};
    int64_t next;
    assert_int_equal(hg_store_complaint_query(s, &bad[i], DAY0, page_collect, &got, &next, &err), HG_ERR_INVALID);
    assert_int_equal(got.n, 0);
  }
  hg_store_close(s);
  tmp_remove(&t);
}

static void complaint_secrets(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  int64_t a = add_ok(s, "privacy", NULL, "text a", "a@example.com", DAY0, DAY0 + DAY_MS);
  int64_t b = add_ok(s, "other", NULL, "text b", NULL, DAY0, DAY0 + DAY_MS);
  int64_t none = add_ok(s, "other", NULL, "text c", NULL, DAY0, DAY0 + DAY_MS);
  char sa[HG_COMPLAINT_SECRET_MAX], sb[HG_COMPLAINT_SECRET_MAX], sa2[HG_COMPLAINT_SECRET_MAX];
  hg_error err;
  assert_int_equal(hg_store_complaint_new_secret(s, a, sa, &err), HG_OK);
  assert_int_equal(hg_store_complaint_new_secret(s, b, sb, &err), HG_OK);
  assert_int_equal(strlen(sa), 32);
  assert_string_not_equal(sa, sb);
  hg_complaint c;
  assert_int_equal(hg_store_complaint_lookup(s, a, sa, &c, &err), HG_OK);
  assert_int_equal(c.id, a);
  assert_string_equal(c.text, "text a");
  hg_complaint_clear(&c);
  /* every way of not matching is the same NOT_FOUND */
  const struct {
    int64_t id;
    const char *secret;
  } miss[] = {{a, sb}, {b, sa}, {a, ""}, {a, NULL}, {none, sa}, {999, sa}, {0, sa}, {a, "x"}};
  for (size_t i = 0; i < sizeof miss / sizeof miss[0]; i++) {
    assert_int_equal(hg_store_complaint_lookup(s, miss[i].id, miss[i].secret, &c, &err), HG_ERR_NOT_FOUND);
    assert_int_equal(c.id, 0);
  }
  char wrong[HG_COMPLAINT_SECRET_MAX];
  memcpy(wrong, sa, sizeof wrong);
  wrong[31] = wrong[31] == 'A' ? 'B' : 'A';
  assert_int_equal(hg_store_complaint_lookup(s, a, wrong, &c, &err), HG_ERR_NOT_FOUND);
  /* a new secret replaces the old; only a digest is on disk */
  assert_int_equal(hg_store_complaint_new_secret(s, a, sa2, &err), HG_OK);
  assert_int_equal(hg_store_complaint_lookup(s, a, sa, &c, &err), HG_ERR_NOT_FOUND);
  assert_int_equal(hg_store_complaint_lookup(s, a, sa2, &c, &err), HG_OK);
  hg_complaint_clear(&c);
  char sql[200], stored[80];
  snprintf(sql, sizeof sql, "SELECT secret_sha256 FROM complaints WHERE id = %" PRId64, a);
  raw_text(t.path, sql, stored, sizeof stored);
  assert_int_equal(strlen(stored), 64);
  assert_null(strstr(stored, sa2));
  assert_int_equal(hg_store_complaint_new_secret(s, 12345, sa2, &err), HG_ERR_NOT_FOUND);
  hg_store_close(s);
  tmp_remove(&t);
}

typedef struct td_seen {
  int64_t ids[16];
  int n;
  int64_t withdrawn_ms[16];
  char by[16][64], reason[16][64];
} td_seen;

static int td_each(void *ctx, int64_t id, const char *text, int64_t created_ms, int64_t expires_ms) {
  (void)text, (void)created_ms, (void)expires_ms;
  td_seen *t = ctx;
  t->ids[t->n++] = id;
  return 0;
}

static int td_list(void *ctx, const hg_takedown_info *i) {
  td_seen *t = ctx;
  t->ids[t->n] = i->id;
  t->withdrawn_ms[t->n] = i->withdrawn_ms;
  snprintf(t->by[t->n], 64, "%s", i->withdrawn_by ? i->withdrawn_by : "");
  snprintf(t->reason[t->n], 64, "%s", i->withdraw_reason ? i->withdraw_reason : "");
  t->n++;
  return 0;
}

static void takedown_withdrawal(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  hg_error err;
  int64_t a, b, v0, v1;
  assert_int_equal(hg_store_takedown_add(s, "第一段被下架的文字", 0, DAY0, 0, &a, &err), HG_OK);
  assert_int_equal(hg_store_takedown_add(s, "第二段被下架的文字", 0, DAY0, 0, &b, &err), HG_OK);
  assert_int_equal(hg_store_takedown_version(s, &v0, &err), HG_OK);
  assert_int_equal(hg_store_takedown_withdraw(s, a, "reviewer:rita", "", DAY0 + 5, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_takedown_withdraw(s, a, NULL, "why", DAY0 + 5, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_takedown_withdraw(s, a, "reviewer:rita", "appeal upheld", DAY0 + 5, &err), HG_OK);
  assert_int_equal(hg_store_takedown_version(s, &v1, &err), HG_OK);
  assert_true(v1 > v0); /* every gateway rebuilds without it */
  assert_int_equal(hg_store_takedown_withdraw(s, a, "reviewer:rita", "again", DAY0 + 6, &err), HG_ERR_CONFLICT);
  assert_int_equal(hg_store_takedown_withdraw(s, 999, "reviewer:rita", "none", DAY0 + 6, &err), HG_ERR_NOT_FOUND);
  td_seen in_force = {.n = 0}, all = {.n = 0};
  assert_int_equal(hg_store_takedown_each(s, DAY0 + 10, td_each, &in_force, &err), HG_OK);
  assert_int_equal(in_force.n, 1);
  assert_int_equal(in_force.ids[0], b);
  assert_int_equal(hg_store_takedown_list(s, td_list, &all, &err), HG_OK);
  assert_int_equal(all.n, 2);
  assert_int_equal(all.ids[0], b); /* newest first */
  assert_int_equal(all.withdrawn_ms[0], 0);
  assert_int_equal(all.ids[1], a);
  assert_int_equal(all.withdrawn_ms[1], DAY0 + 5);
  assert_string_equal(all.by[1], "reviewer:rita");
  assert_string_equal(all.reason[1], "appeal upheld");
  hg_store_close(s);
  tmp_remove(&t);
}

typedef struct strike_seen {
  int64_t time[8], seq[8];
  int n;
} strike_seen;

static int strike_collect(void *ctx, int64_t time_ms, int64_t audit_seq) {
  strike_seen *s = ctx;
  s->time[s->n] = time_ms, s->seq[s->n] = audit_seq, s->n++;
  return 0;
}

static void strike_listing(void **state) {
  (void)state;
  tmp_store t;
  tmp_init(&t);
  hg_store *s = open_ok(t.url);
  hg_error err;
  hg_user_standing after;
  int64_t times[] = {DAY0 + 30, DAY0 + 10, DAY0 + 20};
  for (int i = 0; i < 3; i++)
    assert_int_equal(hg_store_strike_record(s, "eve", 1, 100 + i, times[i], &after, &err), HG_OK);
  assert_int_equal(hg_store_strike_record(s, "eve", 0, 0, DAY0 + 40, &after, &err), HG_OK); /* allowed: no strike */
  assert_int_equal(hg_store_strike_record(s, "bob", 1, 7, DAY0 + 15, &after, &err), HG_OK);
  strike_seen seen = {.n = 0};
  assert_int_equal(hg_store_strike_list(s, "eve", strike_collect, &seen, &err), HG_OK);
  assert_int_equal(seen.n, 3);
  const int64_t want_t[] = {DAY0 + 10, DAY0 + 20, DAY0 + 30}, want_s[] = {101, 102, 100}; /* oldest first */
  for (int i = 0; i < 3; i++) {
    assert_int_equal(seen.time[i], want_t[i]);
    assert_int_equal(seen.seq[i], want_s[i]);
  }
  seen.n = 0;
  assert_int_equal(hg_store_strike_list(s, "nobody", strike_collect, &seen, &err), HG_ERR_NOT_FOUND);
  assert_int_equal(seen.n, 0);
  hg_store_close(s);
  tmp_remove(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(complaints),
      cmocka_unit_test(complaint_moves),
      cmocka_unit_test(complaint_move_table),
      cmocka_unit_test(complaint_type_table),
      cmocka_unit_test(complaint_validation),
      cmocka_unit_test(complaint_durability),
      cmocka_unit_test(takedowns),
      cmocka_unit_test(strikes),
      cmocka_unit_test(strike_ladder),
      cmocka_unit_test(standing),
      cmocka_unit_test(review_queue),
      cmocka_unit_test(migrates_version_1),
      cmocka_unit_test(strikes_from_four_handles),
      cmocka_unit_test(quotas),
      cmocka_unit_test(quota_subjects_apart),
      cmocka_unit_test(quota_from_four_handles),
      cmocka_unit_test(complaint_pages),
      cmocka_unit_test(complaint_secrets),
      cmocka_unit_test(takedown_withdrawal),
      cmocka_unit_test(strike_listing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
