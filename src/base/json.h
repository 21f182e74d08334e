/* base/json.h — JSON read and written fast on the request path, as jansson values.
 *
 * jansson parses a byte at a time through a stream of function calls and writes through a callback per piece: a
 * 2 KB chat request costs about 50 µs to read and 25 µs to write on this project's machine, several times the
 * matching of its text. Every request reads its body and the model's answer and writes an answer, chunks and a
 * record, so the gateway reads and writes through these two functions instead. They build and read the same
 * jansson values (the rest of the code is unchanged), and they are held to jansson exactly:
 *
 *  - hg_json_loadb returns what json_loadb(buf, len, flags, err) returns: the fast path handles well-formed
 *    documents of objects, arrays, strings (strict UTF-8, every escape), integers of up to 18 digits, finite reals
 *    and the three literals, with flags 0 or JSON_REJECT_DUPLICATES; anything else — an error of any kind, a
 *    duplicate key, "\u0000", a long integer, nesting deeper than 512, other flags — is handed to json_loadb
 *    itself, so errors, their messages and every corner case are jansson's.
 *  - hg_json_dumps returns the same bytes as json_dumps(v, flags) for JSON_COMPACT with JSON_SORT_KEYS,
 *    JSON_PRESERVE_ORDER and JSON_ENCODE_ANY (NULL where jansson gives NULL: a string that is not UTF-8, a top
 *    level that is not an object or array without JSON_ENCODE_ANY); other flags go to json_dumps.
 *
 * tests/unit/test_json.c and fuzz/fuzz_json.c check both against jansson on generated and mutated documents. */
#ifndef HG_BASE_JSON_H
#define HG_BASE_JSON_H

#include <jansson.h>
#include <stddef.h>

json_t *hg_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *err);
char *hg_json_dumps(const json_t *v, size_t flags);
/* The same bytes as hg_json_dumps, in arena (base/arena.h: freed with it, never with free); with arena NULL, exactly
 * hg_json_dumps (malloc-ed). */
struct hg_arena;
char *hg_json_dumps_arena(const json_t *v, size_t flags, struct hg_arena *arena);

/* A string value of n bytes of text: what json_stringn(s, n) returns (NULL when they are not UTF-8), checked eight
 * ASCII bytes or one Han character at a time instead of jansson's byte at a time. For long texts: answers, prompts. */
json_t *hg_json_text(const char *s, size_t n);

/* ---- a cursor: the fast reader driven by the caller, for a document whose few wanted fields are read where they
 * lie instead of through a tree of values (a streamed answer's events: one per token). It reads exactly what
 * hg_json_loadb's fast path reads, with the same primitives; where it gives up (-1 or NULL) the caller must read the
 * document with hg_json_loadb instead, which decides — jansson's way — whether it is JSON at all. ---- */
typedef struct hg_json_cursor {
  const unsigned char *p, *end;
  size_t flags;
  char *scratch; /* a string with escapes, unescaped: valid until the next string read */
  size_t cap;
} hg_json_cursor;

/* A zeroed cursor is ready and empty. rewind gives it a document, keeping its scratch buffer from the last one (a
 * reader of many small documents allocates once). */
void hg_json_cursor_rewind(hg_json_cursor *c, const char *buf, size_t len);
void hg_json_cursor_free(hg_json_cursor *c); /* its scratch buffer; the cursor may be initialised again */
/* After white space: the next byte, or -1 at the end. */
int hg_json_peek(hg_json_cursor *c);
/* After white space: consumes ch; -1 (nothing consumed) when the next byte is not ch. */
int hg_json_eat(hg_json_cursor *c, char ch);
/* A string: its bytes (escapes resolved) in *s and *n, pointing into the document or the cursor's scratch; -1 when
 * the next value is not a string the fast path reads (not UTF-8, "\u0000", not a string at all). */
int hg_json_string(hg_json_cursor *c, const char **s, size_t *n);
/* A number or literal, checked as the fast path checks it, without making a value: 'i' (an integer, its value in
 * *integer), 'r' (a real), 't', 'f' or 'n' (true, false, null); -1 for anything else (nothing consumed). */
int hg_json_scalar(hg_json_cursor *c, long long *integer);
/* Only white space is left. */
int hg_json_at_end(hg_json_cursor *c);

#endif
