/* record.c — the record stage (record.h): the settled verdict, the audit record of a completion request, and the
 * strike it counts with the ladder's decision, written to a store with no HTTP in sight.
 *
 * A blocked prompt's strike names its audit record as evidence, so the record is appended first and the strike
 * counted after it; an allowed prompt's strike only ends a run of blocked ones and needs no evidence (group commit
 * counts it before its record is on disk). */
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/json.h"
#include "base/sha256.h"

const char *record_verdict(const char *verdict, json_t *detail) {
  /* let through, but a person is to look at it (a lexicon entry or rule with review, or policy.actions: review) */
  if (!strcmp(verdict, "allow") && json_is_true(json_object_get(detail, "review"))) verdict = "review";
  /* personal data or a redact entry masked in the answer is a redaction too, not only one in the prompt */
  if (strcmp(verdict, "block") && strcmp(verdict, "error") && json_is_true(json_object_get(detail, "output_redacted")))
    verdict = "redact";
  return verdict;
}

/* {"input", "output"} as retention.text keeps them; NULL with retention none */
static char *retained_text(const record_facts *f, hg_arena *arena) {
  if (f->retain == HG_RETAIN_NONE) return NULL;
  json_t *t = json_object();
  const char *in = f->input_text ? f->input_text : "";
  json_object_set_new(t, "input", hg_json_text(in, strlen(in)));
  const char *out = f->retain == HG_RETAIN_FULL ? f->visible : f->raw_out;
  json_t *o;
  if (f->retain == HG_RETAIN_FULL && f->calls_text_len) /* content, then the calls as sent */
    o = json_pack("s++", out ? out : "", "\n", f->calls_text);
  else /* the raw text has the calls as the model wrote them */
    o = hg_json_text(out ? out : "", out ? strlen(out) : 0);
  json_object_set_new(t, "output", o);
  char *text = hg_json_dumps_arena(t, JSON_COMPACT, arena);
  json_decref(t);
  return text;
}

void record_build(const record_facts *f, json_t *detail, hg_arena *arena, record_built *out) {
  memset(out, 0, sizeof *out);
  out->arena = arena;
  json_object_set_new(detail, "model", json_string(f->model));
  json_object_set_new(detail, "stream", json_boolean(f->stream));
  json_object_set_new(detail, "upstream_status", json_integer(f->upstream_status));
  if (f->upstream_error && f->upstream_error[0])
    json_object_set_new(detail, "upstream_error", json_string(f->upstream_error));
  if (f->finish_reason && f->finish_reason[0])
    json_object_set_new(detail, "finish_reason", json_string(f->finish_reason));
  if (f->client_gone) json_object_set_new(detail, "client_gone", json_true());
  json_object_set_new(detail, "response_id", json_string(f->response_id));
  out->detail = hg_json_dumps_arena(detail, JSON_COMPACT | JSON_SORT_KEYS, arena);
  hg_sha256_hex(f->visible ? f->visible : "", f->visible_len, out->output_sha256);
  out->text = retained_text(f, arena);
  out->r.actor = f->actor;
  out->r.route = f->route;
  out->r.verdict = f->verdict;
  out->r.detail_json = out->detail;
  out->r.input_sha256 = f->input_sha256;
  out->r.output_sha256 = out->output_sha256;
  out->r.text = out->text;
}

void record_built_free(record_built *b) {
  if (!b->arena) {
    free(b->detail);
    free(b->text);
  }
  b->detail = b->text = NULL;
}

/* ---- strikes (Art. 19) ---- */

const char *record_strike_category(const hg_config *cfg, json_t *input_hits) {
  if (!cfg->strike_categories) return NULL;
  for (size_t i = 0; i < json_array_size(input_hits); i++) {
    const char *code = json_string_value(json_object_get(json_array_get(input_hits, i), "category"));
    hg_category cat;
    if (code && !hg_category_parse(code, strlen(code), &cat) && ((cfg->strike_categories >> cat) & 1u)) return code;
  }
  return NULL;
}

hg_strike_ladder record_ladder(const hg_config *cfg) {
  return (hg_strike_ladder){cfg->strikes_in_a_row, cfg->strikes_per_day, (int64_t)cfg->suspend_minutes * 60000,
                            cfg->terminate_after};
}

hg_standing record_strike_would_move(hg_store *store, const hg_config *cfg, const char *user, int64_t now_ms,
                                     int64_t *until_ms) {
  hg_user_standing st;
  hg_error err;
  *until_ms = 0;
  if (hg_store_user_standing(store, user, now_ms, &st, &err)) return HG_STANDING_ACTIVE;
  hg_user_standing after = st; /* what hg_store_strike_record will return for one more blocked input */
  after.blocked_in_a_row++;
  after.blocked_today++;
  const hg_strike_ladder ladder = record_ladder(cfg);
  hg_standing to = hg_strike_ladder_decide(&ladder, &after, 1, now_ms, until_ms);
  return to == st.standing ? HG_STANDING_ACTIVE : to;
}

hg_status record_strike_count(hg_store *store, const hg_config *cfg, const char *user, int blocked, int64_t audit_seq,
                              int64_t now_ms, strike_outcome *out, hg_error *err) {
  memset(out, 0, sizeof *out);
  if (!blocked) /* an allowed prompt ends a run of blocked ones and never moves the ladder: no standing back */
    return hg_store_strike_record(store, user, 0, 0, now_ms, NULL, err);
  hg_status st = hg_store_strike_record(store, user, blocked, audit_seq, now_ms, &out->after, err);
  if (st) return st;
  const hg_strike_ladder ladder = record_ladder(cfg);
  hg_standing to = hg_strike_ladder_decide(&ladder, &out->after, blocked, now_ms, &out->until_ms);
  if (to == out->after.standing) return HG_OK; /* the ladder does not move this user */
  snprintf(out->reason, sizeof out->reason, "%lld blocked inputs in a row, %lld today (evidence: audit record %lld)",
           (long long)out->after.blocked_in_a_row, (long long)out->after.blocked_today, (long long)audit_seq);
  st = hg_store_user_set_standing_by(store, user, to, out->until_ms, out->reason, HG_STANDING_BY_LADDER, now_ms, err);
  if (st) return st;
  out->moved = 1;
  out->to = to;
  return HG_OK;
}

hg_status record_standing_moved(hg_store *store, const char *who, const strike_outcome *o, int64_t audit_seq,
                                hg_error *err) {
  hg_audit_record r = {0};
  r.actor = "system:strikes";
  r.route = "strikes";
  r.verdict = hg_standing_name(o->to);
  json_t *d = json_pack("{s:s, s:I, s:I, s:I, s:I}", "user", who, "blocked_in_a_row",
                        (json_int_t)o->after.blocked_in_a_row, "blocked_today", (json_int_t)o->after.blocked_today,
                        "evidence_audit_seq", (json_int_t)audit_seq, "until_ms", (json_int_t)o->until_ms);
  char *ds = hg_json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
  r.detail_json = ds;
  hg_status st = hg_store_audit_append(store, &r, err);
  free(ds);
  json_decref(d);
  return st;
}

hg_status record_commit(hg_store *store, const hg_config *cfg, hg_audit_record *r, const char *user, int strikes,
                        int blocked_input, int64_t now_ms, strike_outcome *strike, hg_error *err) {
  memset(strike, 0, sizeof *strike);
  hg_status st = hg_store_audit_append(store, r, err);
  if (st) return st;
  if (strikes) { /* with its record as evidence; a strike not counted is not the record's failure */
    hg_error strike_err;
    record_strike_count(store, cfg, user, blocked_input, r->seq, now_ms, strike, &strike_err);
  }
  return HG_OK;
}
