/* labels.h — the label stage of a completion request: what marks its answer as generated (Labeling Measures,
 * GB 45438-2025) and what opens it. The explicit notice at its configured place (labels.notice, labels.at_end; left
 * out only for a recipient who asked and was allowed: unlabeled_request in chat.c), the over-reliance reminder that
 * opens an answer (Art. 10), the unsigned label header a stream starts with, and the implicit label signed over
 * everything the client saw (the "aigc" object and the X-AIGC-Label header).
 *
 * No HTTP: a label_state gathers what the client saw and makes the texts; chat.c puts them into the answer and its
 * headers, and notes a reminder as given. tests/unit/test_labels.c checks the texts and verifies the signature with
 * libsodium against the public key, apart from hg_label_verify. */
#ifndef HG_GATEWAY_LABELS_H
#define HG_GATEWAY_LABELS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "hegui/config.h"
#include "hegui/label.h"
#include "hegui/status.h"

struct hg_arena;

typedef struct label_state {
  const hg_config *cfg;   /* labels.producer, labels.notice, labels.at_end, reliance.reminder_text */
  const char *id;         /* the response id: the label's ProduceID (borrowed; lives as long as the state) */
  const uint8_t *sk;      /* the signing key (HG_LABEL_SECRET_KEY_BYTES, borrowed) */
  int omit_notice;        /* the answer goes out without its explicit notice (a recipient was named) */
  struct hg_arena *arena; /* the request's: notices and header texts come from it */
  /* what the client saw, as the implicit label signs it: malloc-ed, since it grows with a stream */
  char *visible;
  size_t visible_len, visible_cap;
} label_state;

/* A state for one answer; nothing is allocated until the client sees something. */
void labels_init(label_state *l, const hg_config *cfg, const char *id, const uint8_t *sk, int omit_notice,
                 struct hg_arena *arena);
void labels_free(label_state *l);

/* Notes text the client was sent (the label signs all of it). -1 when it could not be kept (out of memory). */
int labels_saw(label_state *l, const char *s, size_t n);

/* The content with the explicit notice at its configured place: before it (then a blank line) or after it (after a
 * blank line), or nothing added with omit_notice. In the arena; NULL when out of memory. */
char *labels_with_notice(const label_state *l, const char *content, size_t len, size_t *out_len);

/* A stream's notice, as its own chunk: the opening one (labels.at_end off) or the closing one (at_end on), each
 * with its separator; NULL when the notice does not go at that end (or is omitted, or out of memory). */
char *labels_stream_notice(const label_state *l, int at_end, size_t *out_len);

/* The reminder that opens an answer after `minutes` of continuous use (reliance.reminder_text, at most one %d,
 * checked when the configuration was read), with a blank line after it; "" when minutes is 0. */
void labels_reminder(const hg_config *cfg, int minutes, char *out, size_t cap);

/* The X-AIGC-Label value a stream starts with, before its content exists: the label's fields as far as they are
 * known, ReservedCode1 empty (the signed label closes the stream). */
void labels_stream_header(const label_state *l, char *out, size_t cap);

/* The implicit label over what the client saw (labels_saw), as a JSON object; json_null() when it could not be made
 * (the answer goes without it): err says why when signing failed, and stays clear when memory ran out after. */
json_t *labels_signed(const label_state *l, hg_error *err);

/* A signed label as the X-AIGC-Label value (compact JSON, in the arena); NULL when label is not an object. */
char *labels_header(const label_state *l, const json_t *label);

#endif
