/* test_record.c — the record stage (src/gateway/record.c) without HTTP, against a real SQLite store in a temporary
 * directory: the settled verdict, the audit record of a completion request read back from the store field by field
 * (detail, the SHA-256 of what the client saw against libsodium's, the text as each retention keeps it), and strikes:
 * counted on a blocked prompt with its record as evidence, a run ended by an allowed one, nothing counted for an
 * unmoderated request, the ladder's move predicted, decided and recorded. Times are injected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "base/arena.h"
#include "gateway/record.h"

#include "store_test_util.h"

#define DAY0 INT64_C(1709251200000) /* 2024-03-01T00:00:00Z */
#define MINUTE_MS INT64_C(60000)

typedef struct fixture {
  tmp_store t;
  hg_store *s;
  hg_config cfg;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  tmp_init_named(&f->t, "record");
  f->s = open_ok(f->t.url);
  hg_config_init(&f->cfg);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  hg_store_close(f->s);
  tmp_remove(&f->t);
  free(f);
  return 0;
}

/* The stored record with seq, its strings copied. */
typedef struct stored {
  int64_t want;
  int found;
  char actor[80], route[80], verdict[32], in_sha[65], out_sha[65];
  char *detail, *text;
} stored;

static int take(void *ctx, const hg_audit_record *r) {
  stored *s = ctx;
  if (r->seq != s->want) return 0;
  s->found = 1;
  snprintf(s->actor, sizeof s->actor, "%s", r->actor);
  snprintf(s->route, sizeof s->route, "%s", r->route);
  snprintf(s->verdict, sizeof s->verdict, "%s", r->verdict);
  snprintf(s->in_sha, sizeof s->in_sha, "%s", r->input_sha256 ? r->input_sha256 : "");
  snprintf(s->out_sha, sizeof s->out_sha, "%s", r->output_sha256 ? r->output_sha256 : "");
  s->detail = r->detail_json ? strdup(r->detail_json) : NULL;
  s->text = r->text ? strdup(r->text) : NULL;
  return 1;
}

static stored read_back(fixture *f, int64_t seq) {
  stored s = {.want = seq};
  hg_error err;
  if (hg_store_audit_each(f->s, seq, take, &s, &err)) fail_msg("audit each: %s", err.message);
  assert_true(s.found);
  return s;
}

static void stored_free(stored *s) {
  free(s->detail);
  free(s->text);
}

static void sodium_hex(const char *data, size_t len, char out[65]) {
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, (const unsigned char *)data, len);
  sodium_bin2hex(out, 65, h, sizeof h);
}

static record_facts answer_facts(void) {
  static const char input_sha[] = "0000000000000000000000000000000000000000000000000000000000000001";
  return (record_facts){.actor = "a1b2c3",
                        .route = "/v1/chat/completions",
                        .verdict = "allow",
                        .model = "m-1",
                        .response_id = "chatcmpl-hg1",
                        .stream = 1,
                        .upstream_status = 200,
                        .upstream_error = "",
                        .finish_reason = "stop",
                        .input_sha256 = input_sha,
                        .input_text = "hello [PHONE_1]",
                        .visible = "你好, 13800000000",
                        .visible_len = strlen("你好, 13800000000"),
                        .raw_out = "你好, [PHONE_1]",
                        .retain = HG_RETAIN_REDACTED};
}

static void verdicts(void **state) {
  (void)state;
  json_t *d = json_object();
  assert_string_equal(record_verdict("allow", d), "allow");
  json_object_set_new(d, "review", json_true());
  assert_string_equal(record_verdict("allow", d), "review");
  assert_string_equal(record_verdict("redact", d), "redact");
  json_object_set_new(d, "output_redacted", json_true());
  assert_string_equal(record_verdict("allow", d), "redact"); /* the answer's masking outranks review */
  assert_string_equal(record_verdict("review", d), "redact");
  assert_string_equal(record_verdict("block", d), "block");
  assert_string_equal(record_verdict("error", d), "error");
  assert_string_equal(record_verdict(record_verdict("allow", d), d), "redact"); /* idempotent */
  json_decref(d);
}

static void record_fields(void **state) {
  fixture *f = *state;
  record_facts facts = answer_facts();
  json_t *detail = json_pack("{s:[], s:s}", "input_hits", "profile", "tc260");
  record_built b;
  record_build(&facts, detail, NULL, &b);
  strike_outcome strike;
  hg_error err;
  assert_int_equal(record_commit(f->s, &f->cfg, &b.r, "alice", 0, 0, DAY0, &strike, &err), HG_OK);
  assert_true(b.r.seq > 0);
  assert_int_equal(strike.moved, 0);
  stored s = read_back(f, b.r.seq);
  assert_string_equal(s.actor, "a1b2c3");
  assert_string_equal(s.route, "/v1/chat/completions");
  assert_string_equal(s.verdict, "allow");
  assert_string_equal(s.in_sha, facts.input_sha256);
  char want_sha[65];
  sodium_hex(facts.visible, facts.visible_len, want_sha);
  assert_string_equal(s.out_sha, want_sha);
  json_error_t je;
  json_t *d = json_loads(s.detail, 0, &je);
  assert_non_null(d);
  assert_string_equal(json_string_value(json_object_get(d, "model")), "m-1");
  assert_true(json_is_true(json_object_get(d, "stream")));
  assert_int_equal(json_integer_value(json_object_get(d, "upstream_status")), 200);
  assert_string_equal(json_string_value(json_object_get(d, "finish_reason")), "stop");
  assert_string_equal(json_string_value(json_object_get(d, "response_id")), "chatcmpl-hg1");
  assert_string_equal(json_string_value(json_object_get(d, "profile")), "tc260"); /* what the request put there */
  assert_null(json_object_get(d, "upstream_error"));                              /* "" is none */
  assert_null(json_object_get(d, "client_gone"));
  json_decref(d);
  /* the redacted retention keeps the model's text with its placeholders, never the user's values */
  json_t *t = json_loads(s.text, 0, &je);
  assert_string_equal(json_string_value(json_object_get(t, "input")), "hello [PHONE_1]");
  assert_string_equal(json_string_value(json_object_get(t, "output")), "你好, [PHONE_1]");
  json_decref(t);
  stored_free(&s);
  record_built_free(&b);
  json_decref(detail);

  /* full retention: what the client saw, then its tool calls; a client gone and an upstream error are said */
  facts.retain = HG_RETAIN_FULL;
  facts.calls_text = "lookup {\"q\":1}";
  facts.calls_text_len = strlen(facts.calls_text);
  facts.client_gone = 1;
  facts.upstream_error = "timed out";
  facts.verdict = "error";
  detail = json_object();
  hg_arena arena; /* the JSON texts in an arena, as chat.c builds them */
  hg_arena_init(&arena, 0, 0);
  record_build(&facts, detail, &arena, &b);
  assert_true(arena.taken_bytes > 0);
  assert_int_equal(record_commit(f->s, &f->cfg, &b.r, "alice", 0, 0, DAY0, &strike, &err), HG_OK);
  s = read_back(f, b.r.seq);
  assert_string_equal(s.verdict, "error");
  d = json_loads(s.detail, 0, &je);
  assert_true(json_is_true(json_object_get(d, "client_gone")));
  assert_string_equal(json_string_value(json_object_get(d, "upstream_error")), "timed out");
  json_decref(d);
  t = json_loads(s.text, 0, &je);
  assert_string_equal(json_string_value(json_object_get(t, "output")), "你好, 13800000000\nlookup {\"q\":1}");
  json_decref(t);
  stored_free(&s);
  record_built_free(&b);
  hg_arena_free(&arena);
  json_decref(detail);

  /* retention none: no text at all; an empty answer hashes as "" */
  facts.retain = HG_RETAIN_NONE;
  facts.visible = NULL;
  facts.visible_len = 0;
  detail = json_object();
  record_build(&facts, detail, NULL, &b);
  assert_null(b.text);
  assert_int_equal(record_commit(f->s, &f->cfg, &b.r, "alice", 0, 0, DAY0, &strike, &err), HG_OK);
  s = read_back(f, b.r.seq);
  assert_null(s.text);
  sodium_hex("", 0, want_sha);
  assert_string_equal(s.out_sha, want_sha);
  stored_free(&s);
  record_built_free(&b);
  json_decref(detail);
}

/* Evidence seqs of a user's strikes, in order. */
typedef struct evidence {
  int64_t seq[16];
  size_t n;
} evidence;

static int note_strike(void *ctx, int64_t time_ms, int64_t audit_seq) {
  (void)time_ms;
  evidence *e = ctx;
  if (e->n < 16) e->seq[e->n++] = audit_seq;
  return 0;
}

/* One blocked (or allowed) prompt's record and strike, as chat.c writes it at once. */
static int64_t prompt(fixture *f, const char *user, int blocked, int moderated, int64_t now, strike_outcome *strike) {
  record_facts facts = answer_facts();
  facts.verdict = blocked ? "block" : "allow";
  json_t *detail = json_object();
  record_built b;
  record_build(&facts, detail, NULL, &b);
  hg_error err;
  if (record_commit(f->s, &f->cfg, &b.r, user, moderated, blocked, now, strike, &err))
    fail_msg("commit: %s", err.message);
  int64_t seq = b.r.seq;
  record_built_free(&b);
  json_decref(detail);
  return seq;
}

static void strikes(void **state) {
  fixture *f = *state;
  f->cfg.strikes_in_a_row = 3;
  f->cfg.strikes_per_day = 100;
  f->cfg.suspend_minutes = 60;
  f->cfg.terminate_after = 3;
  strike_outcome o;
  hg_user_standing st;
  hg_error err;
  int64_t now = DAY0;
  /* an unmoderated request counts nothing */
  prompt(f, "bob", 1, 0, now, &o);
  assert_int_equal(hg_store_user_standing(f->s, "bob", now, &st, &err), HG_OK);
  assert_int_equal(st.blocked_in_a_row, 0);
  /* two blocked, then an allowed one ends the run */
  int64_t e1 = prompt(f, "bob", 1, 1, now, &o);
  assert_int_equal(o.after.blocked_in_a_row, 1);
  int64_t e2 = prompt(f, "bob", 1, 1, now + 1, &o);
  assert_int_equal(o.after.blocked_in_a_row, 2);
  assert_int_equal(o.moved, 0);
  prompt(f, "bob", 0, 1, now + 2, &o);
  assert_int_equal(hg_store_user_standing(f->s, "bob", now + 2, &st, &err), HG_OK);
  assert_int_equal(st.blocked_in_a_row, 0);
  assert_int_equal(st.blocked_today, 2);
  /* three in a row: the third is predicted, then suspends for an hour with its record as evidence */
  int64_t until = 0;
  prompt(f, "bob", 1, 1, now + 3, &o);
  prompt(f, "bob", 1, 1, now + 4, &o);
  assert_int_equal(record_strike_would_move(f->s, &f->cfg, "bob", now + 5, &until), HG_STANDING_SUSPENDED);
  assert_int_equal(until, now + 5 + 60 * MINUTE_MS);
  int64_t e5 = prompt(f, "bob", 1, 1, now + 5, &o);
  assert_int_equal(o.moved, 1);
  assert_int_equal(o.to, HG_STANDING_SUSPENDED);
  assert_int_equal(o.until_ms, now + 5 + 60 * MINUTE_MS);
  char want[200];
  snprintf(want, sizeof want, "3 blocked inputs in a row, 5 today (evidence: audit record %lld)", (long long)e5);
  assert_string_equal(o.reason, want);
  assert_int_equal(hg_store_user_standing(f->s, "bob", now + 6, &st, &err), HG_OK);
  assert_int_equal(st.standing, HG_STANDING_SUSPENDED);
  assert_int_equal(st.set_by, HG_STANDING_BY_LADDER);
  assert_int_equal(st.until_ms, o.until_ms);
  evidence ev = {0};
  assert_int_equal(hg_store_strike_list(f->s, "bob", note_strike, &ev, &err), HG_OK);
  assert_int_equal(ev.n, 5);
  assert_int_equal(ev.seq[0], e1);
  assert_int_equal(ev.seq[1], e2);
  assert_int_equal(ev.seq[4], e5);
  /* the move's own record names the user as given (a pseudonym) and its evidence */
  assert_int_equal(record_standing_moved(f->s, "pseudo-bob", &o, e5, &err), HG_OK);
  stored s = read_back(f, e5 + 1);
  assert_string_equal(s.actor, "system:strikes");
  assert_string_equal(s.route, "strikes");
  assert_string_equal(s.verdict, "suspended");
  json_error_t je;
  json_t *d = json_loads(s.detail, 0, &je);
  assert_string_equal(json_string_value(json_object_get(d, "user")), "pseudo-bob");
  assert_int_equal(json_integer_value(json_object_get(d, "evidence_audit_seq")), e5);
  assert_int_equal(json_integer_value(json_object_get(d, "blocked_in_a_row")), 3);
  json_decref(d);
  stored_free(&s);
  /* after the suspension the run starts afresh (the move ended it) */
  assert_int_equal(record_strike_would_move(f->s, &f->cfg, "bob", o.until_ms, &until), HG_STANDING_ACTIVE);
}

/* Which of a prompt's findings is a strike by its category (strikes.categories): the first listed, by code, in
 * the order found; none without categories or when none is listed. */
static void strike_categories(void **state) {
  (void)state;
  hg_config cfg;
  hg_config_init(&cfg); /* the default: malware, fraud, spam */
  char hits_text[512];
  snprintf(hits_text, sizeof hits_text,
           "[{\"category\":\"%s\"},{\"detector\":\"pii\"},{\"category\":\"%s\"},"
           "{\"category\":\"%s\"}]",
           hg_category_code(HG_CAT_A1D), hg_category_code(HG_CAT_SPAM), hg_category_code(HG_CAT_FRAUD));
  json_t *hits = json_loads(hits_text, 0, NULL);
  assert_non_null(hits);
  assert_string_equal(record_strike_category(&cfg, hits), hg_category_code(HG_CAT_SPAM));
  cfg.strike_categories = 1ull << HG_CAT_FRAUD;
  assert_string_equal(record_strike_category(&cfg, hits), hg_category_code(HG_CAT_FRAUD));
  cfg.strike_categories = 1ull << HG_CAT_MALWARE;
  assert_null(record_strike_category(&cfg, hits));
  cfg.strike_categories = 0;
  assert_null(record_strike_category(&cfg, hits));
  cfg.strike_categories = 1ull << HG_CAT_A1D;
  assert_string_equal(record_strike_category(&cfg, hits), hg_category_code(HG_CAT_A1D));
  json_t *none = json_array();
  assert_null(record_strike_category(&cfg, none));
  json_decref(none);
  json_decref(hits);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(verdicts),
      cmocka_unit_test_setup_teardown(record_fields, setup, teardown),
      cmocka_unit_test_setup_teardown(strikes, setup, teardown),
      cmocka_unit_test(strike_categories),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
