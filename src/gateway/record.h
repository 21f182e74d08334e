/* record.h — the record, the last stage of a completion request: its verdict settled, its audit record built from
 * what the request found and what the client saw, and the strike it counts (Art. 19: a blocked prompt counts one, an
 * allowed one ends a run of them) with the strike ladder's decision.
 *
 * No HTTP and no gateway here: record_facts in, an hg_audit_record and a strike_outcome out, written to the store
 * given. The gateway decides how the record reaches the disk (appended at once, or queued for group commit:
 * chat.c's finish_record) and what follows a ladder's move (a webhook, the standing's own record under the user's
 * pseudonym: workflows.c's record_strike). tests/unit/test_record.c drives it against a real store. */
#ifndef HG_GATEWAY_RECORD_H
#define HG_GATEWAY_RECORD_H

#include <jansson.h>
#include <stdint.h>

#include "hegui/audit.h"
#include "hegui/config.h"
#include "hegui/standing.h"
#include "hegui/store.h"

/* What the record of a completion request is made of. Strings may be NULL where said; none is kept. */
typedef struct record_facts {
  const char *actor;   /* the user's pseudonym */
  const char *route;   /* "/v1/chat/completions" or "/v1/completions" */
  const char *verdict; /* as settled (record_verdict) */
  const char *model;   /* as the client asked */
  const char *response_id;
  int stream;
  long upstream_status;       /* 0: never called */
  const char *upstream_error; /* NULL or "": none */
  const char *finish_reason;  /* NULL or "": none */
  int client_gone;
  const char *input_sha256; /* of the request body, hex */
  const char *input_text;   /* the prompt as retained (NULL: "") */
  const char *visible;      /* what the client saw (NULL: nothing) */
  size_t visible_len;
  const char *raw_out;    /* the model's text with placeholders, not values (the redacted record) */
  const char *calls_text; /* the tool calls as the client got them (NULL or calls_text_len 0: none) */
  size_t calls_text_len;
  hg_retention retain; /* retention.text */
} record_facts;

/* A built record: r points into detail, text and output_sha256, which it owns (in its arena when it has one). */
typedef struct record_built {
  hg_audit_record r;
  char output_sha256[65];
  char *detail, *text;
  struct hg_arena *arena;
} record_built;

/* The verdict as recorded: an allow with a "review" mark in detail is "review" (a lexicon entry or rule with review,
 * policy.actions: review), and anything but a block or an error whose answer was masked (detail's
 * "output_redacted") is "redact". Idempotent. */
const char *record_verdict(const char *verdict, json_t *detail);

/* Adds the facts to detail (model, stream, upstream_status, upstream_error, finish_reason, client_gone,
 * response_id) and builds the record: detail as compact JSON with sorted keys, the SHA-256 of what the client saw,
 * and the text retention.text keeps ({"input", "output"}: the full answer with its calls, or the raw text; none with
 * retention none). A part that could not be made (out of memory) is left NULL: the record is still written, without
 * it. The JSON texts are made in arena (the request's, base/arena.h), or with arena NULL by malloc. */
void record_build(const record_facts *f, json_t *detail, struct hg_arena *arena, record_built *out);
void record_built_free(record_built *b);

/* What counting a prompt did to its user's standing. */
typedef struct strike_outcome {
  int moved;              /* the ladder moved the user: the standing is set (HG_STANDING_BY_LADDER) */
  hg_standing to;         /* suspended or terminated when moved */
  int64_t until_ms;       /* the suspension's end (0: terminated) */
  hg_user_standing after; /* the counts after this prompt (blocked prompts only) */
  char reason[200];       /* the standing's reason, naming the evidence */
} strike_outcome;

/* The first category among a prompt's findings (input_hits, as judge.h lists them) that strikes.categories makes a
 * strike (Article 19: malware, fraud and spam by default, a strike even when the policy lets the prompt through for
 * review; blocked prompts strike anyway); NULL when none. The code belongs to input_hits. */
const char *record_strike_category(const hg_config *cfg, json_t *input_hits);

/* The strike ladder of the configuration (strikes.*). */
hg_strike_ladder record_ladder(const hg_config *cfg);

/* Counts a blocked prompt (with its audit record's seq as evidence) or an allowed one (ends a run of blocked ones and
 * never moves the ladder), and applies the ladder: out says whether the user's standing moved. */
hg_status record_strike_count(hg_store *store, const hg_config *cfg, const char *user, int blocked, int64_t audit_seq,
                              int64_t now_ms, strike_outcome *out, hg_error *err);

/* What one more blocked prompt would do to the user's standing at now_ms: HG_STANDING_ACTIVE when nothing (or when
 * the store cannot be read), else the suspension (with *until_ms) or termination the ladder would decide. */
hg_standing record_strike_would_move(hg_store *store, const hg_config *cfg, const char *user, int64_t now_ms,
                                     int64_t *until_ms);

/* The record of a ladder's move ("system:strikes", route "strikes", verdict the new standing), naming the user by
 * who (a pseudonym: the chain keeps records for years), appended to store. */
hg_status record_standing_moved(hg_store *store, const char *who, const strike_outcome *o, int64_t audit_seq,
                                hg_error *err);

/* The record stage written at once: the record appended (the store syncs it), then, when strikes count (the prompt
 * was moderated and keys are required), the strike with the record's seq as a blocked prompt's evidence. r->seq is the
 * record's (0 when it was not written: the error is returned and no strike is counted). */
hg_status record_commit(hg_store *store, const hg_config *cfg, hg_audit_record *r, const char *user, int strikes,
                        int blocked_input, int64_t now_ms, strike_outcome *strike, hg_error *err);

#endif
