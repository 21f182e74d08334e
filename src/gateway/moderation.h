/* moderation.h — the moderation stage of a completion request: its prompt and its answer judged by the moderator of
 * the policy the request holds (judge.h), and the answer rendered for the client.
 *
 * Prompt: the strings the model reads, joined as it reads them (prompt.c), judged as one text; a block refuses the
 * request (the refusal's text is made here, the strike ladder's forecast given by the caller); personal data is
 * replaced by placeholders from the request's vault and other redactions by asterisks, in the strings they fell in.
 * Answer: a whole answer's content and each tool call (name and arguments as one text) judged whole; a streamed
 * answer fed to one moderator as it comes, its text held back as far as the moderator's pending suffix (and a
 * placeholder cut at the end) says, and released rendered: new personal data masked, placeholders back to the user's
 * own values, so that the user's data is never judged as new data.
 *
 * No HTTP: text in, a decision, the findings in the record's detail and the text to send out. chat.c sends it,
 * runs the guard model and counts metrics. tests/unit/test_moderation.c drives it against hg_moderator itself. */
#ifndef HG_GATEWAY_MODERATION_H
#define HG_GATEWAY_MODERATION_H

#include <stddef.h>
#include <stdint.h>

#include "judge.h"
#include "prompt.h"

#define MAX_AUDIT_TEXT (64u << 10) /* of the prompt and of the answer, kept for the record and the guard */
#define MAX_TOOL_CALLS 128         /* in one answer */

/* A tool call of the answer as the upstream sent it. A streamed one is built from its deltas. */
typedef struct tool_call {
  int index;   /* the upstream's index; -1 for a legacy function_call */
  char id[80]; /* as the upstream named it (cut; moderation_call decides what the client gets) */
  char *name, *arguments;
  size_t name_len, name_cap, arguments_len, arguments_cap;
} tool_call;

typedef struct moderation {
  judge j;            /* the policy's moderator over the request: it holds lex and takedowns, borrows detail */
  hg_vault *vault;    /* the request's placeholders for personal data */
  char *input_text;   /* the prompt as its record keeps it (in the arena; NULL: none) */
  int blocked_output; /* the answer is refused (the record says why) */
  /* a streamed answer: its moderator, the text from offset `released` on not yet sent, and the spans to render */
  hg_moderator *stream;
  char *held;
  size_t held_len, held_cap, released, fed;
  span_hit *pii;
  size_t npii, pii_cap;
  /* the answer as the record keeps it, both cut at MAX_AUDIT_TEXT: the model's text with placeholders (and its
   * calls as the model wrote them), and the calls as the client got them */
  char *raw_out;
  size_t raw_len, raw_cap;
  char *calls_text;
  size_t calls_text_len, calls_text_cap;
} moderation;

/* Opens the stage: takes the references lex and takedowns (may be NULL) are, adds the lists of findings to detail
 * (input_hits, input_pii, output_hits, output_pii; detail stays the caller's) and makes the vault. Arena: the
 * request's (spans and kept texts; NULL: malloc). HG_ERR_NOMEM when the vault could not be made (the references
 * are released then). */
hg_status moderation_open(moderation *m, const hg_config *cfg, hg_lexicon *lex, hg_takedown_set *takedowns,
                          json_t *detail, struct hg_arena *arena);
void moderation_close(moderation *m);

/* ---- the prompt ---- */

/* Judges the prompt: the strings policy.input selects, joined (prompt_join), as one text; each hit names the member
 * it fell in; the edits go back onto the strings (*changed set when there were some). The record keeps the text as
 * it leaves (input_text). -1 when the prompt is refused (a block, or text that could not be read or replaced); its
 * text is then kept as audit.retain_text keeps every text. */
int moderation_prompt(moderation *m, prompt_text *pt, int *changed);

/* 1 when a refused prompt was refused because a detector failed (block category "error"): not the user's doing. */
int moderation_refused_by_engine(const moderation *m);

/* The refusal (代答) of a prompt: the configured refusal, then unless the engine failed the strike ladder's word:
 * what this refusal does to the account (`to`, from record_strike_would_move: suspended until until_ms, or
 * terminated; also noted in detail's "ladder"), or the warning that repeated attempts suspend it. */
void moderation_refusal(moderation *m, int engine, hg_standing to, int64_t until_ms, char *out, size_t cap);

/* ---- the answer ---- */

/* Judges one whole text of the answer (a whole answer's content, or a tool call's name and arguments joined by a
 * line break), adding it to raw_out. 1 when it blocks (blocked_output is set); otherwise 0 with *pii the spans to
 * render (sorted; moderation_spans_free). */
int moderation_answer_text(moderation *m, const char *text, size_t len, span_hit **pii, size_t *npii);
void moderation_spans_free(const moderation *m, span_hit *spans);

/* The answer's text on its way out (malloc-ed): the spans that fall in raw[0..len) (at offset base of the text they
 * were found in) masked, then placeholders back to the user's values. */
char *moderation_render(const moderation *m, const char *raw, size_t len, size_t base, const span_hit *pii, size_t npii,
                        size_t *out_len);

/* One complete tool call judged and rendered: a tool call object (with "index" = position when position >= 0: a
 * stream's delta) or, for a legacy function_call, {name, arguments}; NULL when it blocks or could not be made (then
 * blocked_output is set: fail closed). The hits found in it name it ("tool_calls[i]", "function_call"). */
json_t *moderation_call(moderation *m, const tool_call *tc, int position);

/* A whole answer's calls are shaped as OpenAI's (each function a string name and string or no arguments, at most
 * MAX_TOOL_CALLS): 1, else 0. */
int moderation_calls_shaped(json_t *tool_calls, json_t *function_call);

/* The calls of a whole answer (shaped), each judged: {"tool_calls": [...]} or {"function_call": {...}}; NULL when
 * one blocks. */
json_t *moderation_whole_calls(moderation *m, json_t *tool_calls, json_t *function_call);

/* ---- a streamed answer ---- */

/* The stream's moderator; with sentences, it also tracks where sentences end (a guard judging them). -1 when it
 * could not be made: an answer that cannot be judged is not fetched. */
int moderation_stream_open(moderation *m, int sentences);

/* New text of the streamed answer: kept for the record, held, fed. 1 when the answer is now blocked. */
int moderation_stream_feed(moderation *m, const char *s, size_t n);

/* The answer has ended: the moderator's last word on what it still held. */
void moderation_stream_finish(moderation *m);

/* How far the text may be released: all that was fed but what the moderator holds back and a placeholder cut at
 * the end (*hold, when asked, says how many bytes that is), and no further than limit. */
size_t moderation_releasable(const moderation *m, size_t limit, size_t *hold);

/* Releases the held text up to offset `to` (never cutting a span to render: it stops before one), rendered
 * (malloc-ed, for the client); NULL when there is nothing to release. */
char *moderation_release(moderation *m, size_t to, size_t *out_len);

/* Where the answer's last complete sentence ends (moderation_stream_open with sentences), within raw_out. */
size_t moderation_sentence_end(const moderation *m);

#endif
