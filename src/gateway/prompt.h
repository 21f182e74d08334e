/* prompt.h — the text of a completion request as the model will read it: which members carry it, the text the
 * moderator reads (every piece joined in order), and the way edits of that text go back onto the request (prompt.c). */
#ifndef HG_PROMPT_H
#define HG_PROMPT_H

#include <jansson.h>
#include <stddef.h>

/* Between two pieces of the joined text: a line break, which is what a chat template puts between turns and parts,
 * so the moderator sees an entry split across them as the model does. */
#define PROMPT_SEPARATOR "\n"
#define PROMPT_SEPARATOR_LEN 1

/* One string of the request that the model reads. It is borrowed from the request: valid while the request is. */
typedef struct prompt_piece {
  json_t *holder;    /* the object or array that holds the string */
  char *key;         /* its member name in holder (owned), NULL for an array item */
  size_t index;      /* its position when holder is an array */
  int is_name;       /* the string is the member name `key` itself (a property of a schema), not its value */
  int message;       /* the message it belongs to, -1 for members of the request itself */
  int role_bit;      /* that message's role as policy.input.roles counts it (0 outside messages) */
  size_t path_at;    /* its path ("messages[2].content[1].text") in prompt_text.paths */
  int selected;      /* moderated under the policy (prompt_join) */
  size_t start, end; /* its bytes in the joined text, when selected */
} prompt_piece;

struct hg_arena;

typedef struct prompt_text {
  struct hg_arena *arena; /* where its memory comes from (base/arena.h), NULL for malloc */
  prompt_piece *pieces;   /* in the order the model reads them */
  size_t npieces, pieces_cap;
  size_t nmessages;
  char *paths; /* NUL-terminated paths, one per piece */
  size_t paths_len, paths_cap;
  size_t *selected; /* indexes of the selected pieces, in order */
  size_t nselected;
  char *joined; /* the selected pieces joined with PROMPT_SEPARATOR; after prompt_apply, as they leave */
  size_t joined_len, joined_cap;
  /* a refused request: the member, why, and OpenAI's error code */
  char param[192];
  char message[384];
  char code[32];
} prompt_text;

/* An edit of the joined text, found by the moderator: [start, end) becomes `replacement`, or with mask set, one
 * '*' per character. Edits given to prompt_apply are sorted by start and do not overlap. */
typedef struct prompt_edit {
  size_t start, end;
  int mask;
  char replacement[48];
} prompt_edit;

enum { PROMPT_OK = 0, PROMPT_REFUSED = -1, PROMPT_NO_MEMORY = -2 };

/* The parsing stage of a completion request, without HTTP: body is the request parsed (NULL when it did not parse,
 * je saying why), checked to be a JSON object with a string model and messages (chat) or a prompt of strings
 * (completions: token ids cannot be moderated, so they are refused), then walked by prompt_collect. PROMPT_OK, or
 * PROMPT_REFUSED with message (and param, code) set for the 400 the caller sends, or PROMPT_NO_MEMORY. pt's memory
 * comes from arena (the request's: it lives as long) or, with arena NULL, from malloc; prompt_free either way. */
int prompt_parse(json_t *body, const json_error_t *je, int chat, struct hg_arena *arena, prompt_text *pt);

/* Walks a chat (chat = 1) or completions request and finds every string the model reads. PROMPT_OK, or
 * PROMPT_REFUSED with param, message and code set for a 400 (a member, role, part type or shape hegui does not pass),
 * or PROMPT_NO_MEMORY. */
int prompt_collect(json_t *body, int chat, struct hg_arena *arena, prompt_text *pt);
/* Selects the pieces the policy moderates (messages of the roles in `roles`, bits as hg_config.input_roles, among
 * the last max_turns messages, 0 = all; members of the request itself always) and joins them. 0, or -1 out of memory.
 */
int prompt_join(prompt_text *pt, int roles, unsigned max_turns);
/* The path of the selected piece that holds byte `offset` of the joined text ("" when none does). */
const char *prompt_member(const prompt_text *pt, size_t offset);
/* Applies edits of the joined text to the request: each piece gets the part of an edit that falls on it (a mask
 * masks each piece it touches; a replacement goes into the first piece it touches, and the rest of its span is
 * removed from the others). The joined text is rebuilt as the pieces now read. 0, or -1 (nothing is half done to
 * the joined text, but the request may be: drop it). */
int prompt_apply(prompt_text *pt, const prompt_edit *edits, size_t n);
void prompt_free(prompt_text *pt);
/* The longest prefix of s[0..len) of at most max bytes that does not cut a UTF-8 sequence in two: for keeping a
 * bounded copy of a string from outside (a path, a member of the upstream's answer in a record). */
size_t utf8_prefix_len(const char *s, size_t len, size_t max);
/* Appends n bytes of s to a malloc-ed text (*buf of *len bytes in *cap, kept NUL-terminated), at most up to limit
 * bytes in all: what passes the limit is dropped, cut between characters. 0, or -1 when out of memory. */
int text_append(char **buf, size_t *len, size_t *cap, const char *s, size_t n, size_t limit);
/* A message's role as policy.input.roles counts it: user 1, system and developer 2, assistant 4, tool and function
 * (its legacy name) 8; 0 for a role OpenAI does not have. */
int prompt_role_bit(const char *role);

#endif
