/* prompt.c — what of a completion request reaches the model as text.
 *
 * The gateway can only moderate what it knows the model will read, so a request is walked against one set of
 * tables of what OpenAI's chat and completions APIs accept. A member that carries text the model reads (a message's
 * content and name, tool call arguments, a tool's description and its parameter schema, ...) becomes a piece; a
 * member that carries no text (temperature, seed) is passed after a type check; anything else — an unknown member,
 * role or content part, a known member whose text or output hegui cannot moderate, a shape OpenAI would refuse —
 * is refused with a 400 whose `param` names it: a string the gateway does not know is a string it cannot moderate.
 * docs/gateway.md lists every member and what happens to it.
 *
 * The pieces the policy selects are joined in order, with a line break between them, into the text the moderator
 * reads: the conversation as the model sees it, so an entry split across turns or parts is still one entry. The
 * tables' order is the join order (tools and other instructions, then the messages, then a prediction), not the
 * order in which a client happened to write the members. Edits found in the joined text (placeholders, masks) are
 * cut back onto the pieces by prompt_apply. */
#include "prompt.h"

#include "base/arena.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Memory of a prompt_text: from its arena when it has one (prompt_free then only forgets it), else malloc. */
static void *pt_grow(prompt_text *pt, void *p, size_t old_size, size_t new_size) {
  return pt->arena ? hg_arena_grow(pt->arena, p, old_size, new_size) : realloc(p, new_size);
}

static char *pt_strndup(prompt_text *pt, const char *s, size_t n) {
  return pt->arena ? hg_arena_memdup0(pt->arena, s, n) : strndup(s, n);
}

static void pt_release(const prompt_text *pt, void *p) {
  if (!pt->arena) free(p);
}

#define MAX_SCHEMA_DEPTH 64 /* deeper parameter schemas are refused rather than walked on the stack */

typedef struct walk {
  prompt_text *pt;
  char path[160]; /* the member being looked at, cut at a character boundary when longer */
  size_t path_len;
  int message, role_bit; /* the message being walked, -1 / 0 outside messages */
  size_t item;           /* the index of the array item walk_array hands to its callback */
  int depth;
  int no_memory;
} walk;

typedef int (*member_fn)(walk *w, json_t *holder, const char *key, json_t *value);
typedef struct member_rule {
  const char *name;
  member_fn check;
} member_rule;
#define RULES(r) r, sizeof r / sizeof *r

/* ---- paths and refusals ---- */

size_t utf8_prefix_len(const char *s, size_t len, size_t max) {
  if (len <= max) return len;
  while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80) /* s[max] continues the character before it */
    max--;
  return max;
}

int text_append(char **buf, size_t *len, size_t *cap, const char *s, size_t n, size_t limit) {
  /* a text cut at the limit is cut between characters: a record's text must stay UTF-8 */
  if (*len + n > limit) n = limit > *len ? utf8_prefix_len(s, n, limit - *len) : 0;
  if (*len + n + 1 > *cap) {
    size_t nc = (*len + n + 1) * 2;
    char *nb = realloc(*buf, nc);
    if (!nb) return -1;
    *buf = nb;
    *cap = nc;
  }
  memcpy(*buf + *len, s, n);
  *len += n;
  (*buf)[*len] = 0;
  return 0;
}

/* dst gets as much of src as fits, not cut inside a character (the texts here come from jansson: valid UTF-8). */
static void copy_clipped(char *dst, size_t cap, const char *src) {
  size_t n = utf8_prefix_len(src, strlen(src), cap - 1);
  memcpy(dst, src, n);
  dst[n] = 0;
}

/* Adds ".member" (or "member" at the start) or "[index]" to the path; returns its length before, for path_pop. */
static size_t path_push(walk *w, const char *member, size_t index) {
  size_t old = w->path_len, at = old;
  char item[32];
  if (!member) {
    snprintf(item, sizeof item, "[%zu]", index);
    member = item;
  } else if (old && at + 1 < sizeof w->path) {
    w->path[at++] = '.';
  }
  copy_clipped(w->path + at, sizeof w->path - at, member); /* a long name is cut between characters */
  w->path_len = at + strlen(w->path + at);
  return old;
}

static void path_pop(walk *w, size_t len) {
  w->path_len = len;
  w->path[len] = 0;
}

/* Refuses the request at the current path. The format's %s arguments must be short or clipped already. */
static int refuse(walk *w, const char *code, const char *fmt, ...) {
  prompt_text *pt = w->pt;
  char msg[sizeof pt->message + 64];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  copy_clipped(pt->message, sizeof pt->message, msg);
  copy_clipped(pt->param, sizeof pt->param, w->path);
  snprintf(pt->code, sizeof pt->code, "%s", code);
  return PROMPT_REFUSED;
}

static int refuse_type(walk *w, const char *expected) {
  return refuse(w, "invalid_type", "Invalid type for '%s': expected %s.", w->path, expected);
}

static int refuse_value(walk *w, const char *value, const char *supported) {
  char v[64];
  copy_clipped(v, sizeof v, value ? value : "");
  return refuse(w, "invalid_value", "Invalid value: '%s'. Supported values are: %s.", v, supported);
}

static int refuse_missing(walk *w, const char *member) {
  path_push(w, member, 0); /* it stays on: param names the missing member */
  return refuse(w, "missing_required_parameter", "Missing required parameter: '%s'.", w->path);
}

/* ---- pieces ---- */

static int add_piece(walk *w, json_t *holder, const char *key, size_t index, int is_name) {
  prompt_text *pt = w->pt;
  if (pt->npieces == pt->pieces_cap) {
    size_t cap = pt->pieces_cap ? pt->pieces_cap * 2 : 16;
    prompt_piece *n = pt_grow(pt, pt->pieces, pt->pieces_cap * sizeof *n, cap * sizeof *n);
    if (!n) return w->no_memory = 1, PROMPT_NO_MEMORY;
    pt->pieces = n;
    pt->pieces_cap = cap;
  }
  size_t need = pt->paths_len + w->path_len + 1;
  if (need > pt->paths_cap) {
    size_t cap = pt->paths_cap ? pt->paths_cap : 256;
    while (cap < need)
      cap *= 2;
    char *n = pt_grow(pt, pt->paths, pt->paths_cap, cap);
    if (!n) return w->no_memory = 1, PROMPT_NO_MEMORY;
    pt->paths = n;
    pt->paths_cap = cap;
  }
  char *key_copy = key ? pt_strndup(pt, key, strlen(key)) : NULL;
  if (key && !key_copy) return w->no_memory = 1, PROMPT_NO_MEMORY;
  memcpy(pt->paths + pt->paths_len, w->path, w->path_len + 1);
  pt->pieces[pt->npieces++] =
      (prompt_piece){holder, key_copy, index, is_name, w->message, w->role_bit, pt->paths_len, 0, 0, 0};
  pt->paths_len = need;
  return PROMPT_OK;
}

static const char *piece_text(const prompt_piece *p, size_t *len) {
  if (p->is_name) {
    *len = strlen(p->key);
    return p->key;
  }
  json_t *v = p->key ? json_object_get(p->holder, p->key) : json_array_get(p->holder, p->index);
  *len = json_string_length(v);
  return json_string_value(v) ? json_string_value(v) : "";
}

/* Walks obj's members by the rules, in the rules' order; a member no rule names is refused. */
static int walk_members(walk *w, json_t *obj, const member_rule *rules, size_t nrules) {
  for (size_t i = 0; i < nrules; i++) {
    json_t *v = json_object_get(obj, rules[i].name);
    if (!v) continue;
    size_t at = path_push(w, rules[i].name, 0);
    int r = rules[i].check(w, obj, rules[i].name, v);
    if (r) return r;
    path_pop(w, at);
  }
  const char *key;
  json_t *v;
  json_object_foreach(obj, key, v) {
    size_t i = 0;
    while (i < nrules && strcmp(rules[i].name, key))
      i++;
    if (i < nrules) continue;
    path_push(w, key, 0);
    return refuse(w, "unknown_parameter", "Unknown parameter: '%s'.", w->path);
  }
  return PROMPT_OK;
}

static int walk_object(walk *w, json_t *v, const member_rule *rules, size_t nrules) {
  if (!json_is_object(v)) return refuse_type(w, "an object");
  return walk_members(w, v, rules, nrules);
}

static int walk_array(walk *w, json_t *v, member_fn each) {
  if (!json_is_array(v)) return refuse_type(w, "an array");
  for (size_t i = 0; i < json_array_size(v); i++) {
    size_t at = path_push(w, NULL, i);
    w->item = i;
    int r = each(w, v, NULL, json_array_get(v, i));
    if (r) return r;
    path_pop(w, at);
  }
  return PROMPT_OK;
}

static int require(walk *w, json_t *obj, const char *member) {
  return json_object_get(obj, member) ? PROMPT_OK : refuse_missing(w, member);
}

/* ---- members that carry no text the model reads: passed after a type check ---- */

static int pass_number(walk *w, json_t *h, const char *k, json_t *v) {
  (void)h, (void)k;
  return json_is_number(v) || json_is_null(v) ? PROMPT_OK : refuse_type(w, "a number");
}

static int pass_integer(walk *w, json_t *h, const char *k, json_t *v) {
  (void)h, (void)k;
  return json_is_integer(v) || json_is_null(v) ? PROMPT_OK : refuse_type(w, "an integer");
}

static int pass_bool(walk *w, json_t *h, const char *k, json_t *v) {
  (void)h, (void)k;
  return json_is_boolean(v) || json_is_null(v) ? PROMPT_OK : refuse_type(w, "a boolean");
}

/* An identifier or setting the model server reads and the model does not (model, user, service_tier, a URL). */
static int pass_string(walk *w, json_t *h, const char *k, json_t *v) {
  (void)h, (void)k;
  return json_is_string(v) || json_is_null(v) ? PROMPT_OK : refuse_type(w, "a string");
}

/* stop sequences end the answer; the model never reads them */
static int pass_stop(walk *w, json_t *h, const char *k, json_t *v) {
  (void)h, (void)k;
  if (json_is_string(v) || json_is_null(v)) return PROMPT_OK;
  if (!json_is_array(v)) return refuse_type(w, "a string or an array of strings");
  for (size_t i = 0; i < json_array_size(v); i++)
    if (!json_is_string(json_array_get(v, i))) return refuse_type(w, "a string or an array of strings");
  return PROMPT_OK;
}

/* logit_bias: token ids to numbers */
static int pass_number_map(walk *w, json_t *h, const char *k, json_t *v) {
  (void)h, (void)k;
  if (json_is_null(v)) return PROMPT_OK;
  if (!json_is_object(v)) return refuse_type(w, "an object of numbers");
  const char *key;
  json_t *x;
  json_object_foreach(v, key, x) {
    if (!json_is_number(x)) return refuse_type(w, "an object of numbers");
  }
  return PROMPT_OK;
}

/* metadata: kept by the server for the caller, never shown to the model */
static int pass_string_map(walk *w, json_t *h, const char *k, json_t *v) {
  (void)h, (void)k;
  if (json_is_null(v)) return PROMPT_OK;
  if (!json_is_object(v)) return refuse_type(w, "an object of strings");
  const char *key;
  json_t *x;
  json_object_foreach(v, key, x) {
    if (!json_is_string(x)) return refuse_type(w, "an object of strings");
  }
  return PROMPT_OK;
}

static int check_stream_options(walk *w, json_t *h, const char *k, json_t *v) {
  (void)h, (void)k;
  static const member_rule rules[] = {{"include_usage", pass_bool}, {"include_obfuscation", pass_bool}};
  return json_is_null(v) ? PROMPT_OK : walk_object(w, v, RULES(rules));
}

/* Only text comes back through the gateway's moderation: an audio answer would pass unread. */
static int check_modalities(walk *w, json_t *h, const char *k, json_t *v) {
  (void)h, (void)k;
  if (json_is_null(v)) return PROMPT_OK;
  if (!json_is_array(v)) return refuse_type(w, "an array of strings");
  for (size_t i = 0; i < json_array_size(v); i++) {
    json_t *m = json_array_get(v, i);
    if (!json_is_string(m) || strcmp(json_string_value(m), "text")) {
      path_push(w, NULL, i);
      return refuse_value(w, json_string_value(m), "'text' (hegui moderates text answers only)");
    }
  }
  return PROMPT_OK;
}

static int refuse_unsupported(walk *w, json_t *h, const char *k, json_t *v) {
  (void)h, (void)v;
  const char *why = !strcmp(k, "audio") ? "an audio answer cannot be moderated by hegui"
                    : !strcmp(k, "web_search_options")
                        ? "search results reach the model without passing hegui's moderation"
                        : "it carries content hegui cannot moderate";
  return refuse(w, "unsupported_parameter", "Unsupported parameter: '%s': %s.", w->path, why);
}

static int check_enum(walk *w, json_t *v, const char *const *values, const char *supported) {
  if (!json_is_string(v)) return refuse_type(w, "a string");
  for (size_t i = 0; values[i]; i++)
    if (!strcmp(json_string_value(v), values[i])) return PROMPT_OK;
  return refuse_value(w, json_string_value(v), supported);
}

static int type_function(walk *w, json_t *h, const char *k, json_t *v) {
  (void)h, (void)k;
  static const char *const values[] = {"function", NULL};
  return check_enum(w, v, values, "'function'");
}

/* ---- members that carry text: pieces ---- */

static int text(walk *w, json_t *h, const char *k, json_t *v) {
  if (!json_is_string(v)) return refuse_type(w, "a string");
  return add_piece(w, h, k, 0, 0);
}

static int text_or_null(walk *w, json_t *h, const char *k, json_t *v) {
  return json_is_null(v) ? PROMPT_OK : text(w, h, k, v);
}

static int text_item(walk *w, json_t *array, const char *k, json_t *v) {
  (void)k;
  if (!json_is_string(v)) return refuse_type(w, "a string");
  return add_piece(w, array, NULL, w->item, 0);
}

/* A JSON schema (tool parameters, response_format): every member name and every string in it, at any depth, is
 * read by the model (templates render the schema as JSON). */
static int walk_schema_value(walk *w, json_t *holder, const char *key, size_t index, json_t *v) {
  if (json_is_string(v)) return add_piece(w, holder, key, index, 0);
  if (!json_is_object(v) && !json_is_array(v)) return PROMPT_OK;
  if (w->depth >= MAX_SCHEMA_DEPTH)
    return refuse(w, "invalid_value", "Invalid value for '%s': nested deeper than %d levels.", w->path,
                  MAX_SCHEMA_DEPTH);
  w->depth++;
  int r = PROMPT_OK;
  if (json_is_object(v)) {
    const char *name;
    json_t *x;
    json_object_foreach(v, name, x) {
      size_t at = path_push(w, name, 0);
      if ((r = add_piece(w, v, name, 0, 1)) || (r = walk_schema_value(w, v, name, 0, x))) break;
      path_pop(w, at);
    }
  } else {
    for (size_t i = 0; i < json_array_size(v) && !r; i++) {
      size_t at = path_push(w, NULL, i);
      if (!(r = walk_schema_value(w, v, NULL, i, json_array_get(v, i)))) path_pop(w, at);
    }
  }
  w->depth--;
  return r;
}

static int schema(walk *w, json_t *h, const char *k, json_t *v) { return walk_schema_value(w, h, k, 0, v); }

/* ---- messages ---- */

static int check_part(walk *w, json_t *array, const char *k, json_t *part) {
  (void)array, (void)k;
  static const member_rule text_part[] = {{"type", pass_string}, {"text", text}};
  static const member_rule refusal_part[] = {{"type", pass_string}, {"refusal", text}};
  static const member_rule image_url[] = {{"url", pass_string}, {"detail", pass_string}};
  static const member_rule input_audio[] = {{"data", pass_string}, {"format", pass_string}};
  static const member_rule file[] = {{"filename", text}, {"file_data", pass_string}, {"file_id", pass_string}};
  if (!json_is_object(part)) return refuse_type(w, "an object");
  json_t *type = json_object_get(part, "type");
  if (!type) return refuse_missing(w, "type");
  const char *t = json_string_value(type);
  if (t && !strcmp(t, "text")) {
    int r = require(w, part, "text");
    return r ? r : walk_members(w, part, RULES(text_part));
  }
  if (t && !strcmp(t, "refusal")) {
    int r = require(w, part, "refusal");
    return r ? r : walk_members(w, part, RULES(refusal_part));
  }
  /* images, sound and files carry no text hegui can read; what they hold is passed (docs/gateway.md) */
  const member_rule *inner = NULL;
  size_t ninner = 0;
  if (t && !strcmp(t, "image_url")) inner = image_url, ninner = sizeof image_url / sizeof *image_url;
  if (t && !strcmp(t, "input_audio")) inner = input_audio, ninner = sizeof input_audio / sizeof *input_audio;
  if (t && !strcmp(t, "file")) inner = file, ninner = sizeof file / sizeof *file;
  if (!inner) {
    path_push(w, "type", 0);
    return json_is_string(type) ? refuse_value(w, t, "'text', 'image_url', 'input_audio', 'file' and 'refusal'")
                                : refuse_type(w, "a string");
  }
  const char *name;
  json_t *x;
  json_object_foreach(part, name, x) {
    size_t at = path_push(w, name, 0);
    int r = PROMPT_OK;
    if (!strcmp(name, t))
      r = walk_object(w, x, inner, ninner);
    else if (strcmp(name, "type"))
      r = refuse(w, "unknown_parameter", "Unknown parameter: '%s'.", w->path);
    if (r) return r;
    path_pop(w, at);
  }
  return require(w, part, t);
}

static int check_content(walk *w, json_t *m, const char *k, json_t *v) {
  if (json_is_string(v)) return add_piece(w, m, k, 0, 0);
  if (json_is_null(v)) return PROMPT_OK;
  if (!json_is_array(v)) return refuse_type(w, "a string or an array of content parts");
  return walk_array(w, v, check_part);
}

static int check_call_function(walk *w, json_t *h, const char *k, json_t *v) {
  (void)h, (void)k;
  static const member_rule rules[] = {{"name", text}, {"arguments", text}};
  return walk_object(w, v, RULES(rules));
}

static int check_tool_call(walk *w, json_t *array, const char *k, json_t *v) {
  (void)array, (void)k;
  static const member_rule rules[] = {{"id", text}, {"type", type_function}, {"function", check_call_function}};
  int r = walk_object(w, v, RULES(rules));
  return r ? r : require(w, v, "function");
}

static int check_tool_calls(walk *w, json_t *h, const char *k, json_t *v) {
  (void)h, (void)k;
  return json_is_null(v) ? PROMPT_OK : walk_array(w, v, check_tool_call);
}

/* An assistant message's audio is a reference to an earlier spoken answer, which hegui never let through. */
static int refuse_audio_reference(walk *w, json_t *h, const char *k, json_t *v) {
  (void)h, (void)k, (void)v;
  return refuse(w, "unsupported_parameter", "Unsupported parameter: '%s': audio answers are not passed by hegui.",
                w->path);
}

int prompt_role_bit(const char *role) {
  if (!role) return 0;
  if (!strcmp(role, "user")) return 1;
  if (!strcmp(role, "system") || !strcmp(role, "developer")) return 2;
  if (!strcmp(role, "assistant")) return 4;
  if (!strcmp(role, "tool") || !strcmp(role, "function")) return 8; /* function: the legacy name of a tool result */
  return 0;
}

static int check_message(walk *w, json_t *array, const char *k, json_t *m) {
  (void)array, (void)k;
  /* name first: a template writes it before the turn's text */
  static const member_rule rules[] = {
      {"role", pass_string},
      {"name", text},
      {"content", check_content},
      {"refusal", text_or_null},
      {"tool_calls", check_tool_calls},
      {"function_call", check_call_function},
      {"tool_call_id", text},
      {"audio", refuse_audio_reference},
  };
  if (!json_is_object(m)) return refuse_type(w, "an object");
  json_t *role = json_object_get(m, "role");
  if (!role) return refuse_missing(w, "role");
  int bit = prompt_role_bit(json_string_value(role));
  if (!bit) {
    path_push(w, "role", 0);
    if (!json_is_string(role)) return refuse_type(w, "a string");
    return refuse_value(w, json_string_value(role),
                        "'system', 'assistant', 'user', 'function', 'tool', and 'developer'");
  }
  w->message = (int)w->item;
  w->role_bit = bit;
  int r = walk_members(w, m, RULES(rules));
  w->message = -1;
  w->role_bit = 0;
  return r;
}

static int check_messages(walk *w, json_t *h, const char *k, json_t *v) {
  (void)h, (void)k;
  if (!json_is_array(v)) return refuse_type(w, "an array");
  w->pt->nmessages = json_array_size(v);
  return walk_array(w, v, check_message);
}

/* ---- tools and other instructions of the request ---- */

static int check_tool_function(walk *w, json_t *h, const char *k, json_t *v) {
  (void)h, (void)k;
  static const member_rule rules[] = {
      {"name", text}, {"description", text}, {"parameters", schema}, {"strict", pass_bool}};
  int r = walk_object(w, v, RULES(rules));
  return r ? r : require(w, v, "name");
}

static int check_tool(walk *w, json_t *array, const char *k, json_t *v) {
  (void)array, (void)k;
  static const member_rule rules[] = {{"type", type_function}, {"function", check_tool_function}};
  int r = walk_object(w, v, RULES(rules));
  if (!r) r = require(w, v, "type");
  return r ? r : require(w, v, "function");
}

static int check_tools(walk *w, json_t *h, const char *k, json_t *v) {
  (void)h, (void)k;
  return json_is_null(v) ? PROMPT_OK : walk_array(w, v, check_tool);
}

static int check_function(walk *w, json_t *array, const char *k, json_t *v) {
  (void)array, (void)k;
  static const member_rule rules[] = {{"name", text}, {"description", text}, {"parameters", schema}};
  int r = walk_object(w, v, RULES(rules));
  return r ? r : require(w, v, "name");
}

static int check_functions(walk *w, json_t *h, const char *k, json_t *v) {
  (void)h, (void)k;
  return json_is_null(v) ? PROMPT_OK : walk_array(w, v, check_function);
}

static int check_named_function(walk *w, json_t *h, const char *k, json_t *v) {
  (void)h, (void)k;
  static const member_rule rules[] = {{"name", text}};
  int r = walk_object(w, v, RULES(rules));
  return r ? r : require(w, v, "name");
}

static int check_tool_choice(walk *w, json_t *h, const char *k, json_t *v) {
  (void)h, (void)k;
  static const char *const modes[] = {"none", "auto", "required", NULL};
  static const member_rule rules[] = {{"type", type_function}, {"function", check_named_function}};
  if (json_is_null(v)) return PROMPT_OK;
  if (json_is_string(v)) return check_enum(w, v, modes, "'none', 'auto', 'required' or a named function");
  int r = walk_object(w, v, RULES(rules));
  return r ? r : require(w, v, "function");
}

static int check_function_choice(walk *w, json_t *h, const char *k, json_t *v) {
  static const char *const modes[] = {"none", "auto", NULL};
  if (json_is_null(v)) return PROMPT_OK;
  if (json_is_string(v)) return check_enum(w, v, modes, "'none', 'auto' or a named function");
  return check_named_function(w, h, k, v);
}

static int check_json_schema(walk *w, json_t *h, const char *k, json_t *v) {
  (void)h, (void)k;
  static const member_rule rules[] = {{"name", text}, {"description", text}, {"schema", schema}, {"strict", pass_bool}};
  return walk_object(w, v, RULES(rules));
}

static int check_response_format(walk *w, json_t *h, const char *k, json_t *v) {
  (void)h, (void)k;
  static const char *const types[] = {"text", "json_object", "json_schema", NULL};
  static const member_rule rules[] = {{"type", pass_string}, {"json_schema", check_json_schema}};
  if (json_is_null(v)) return PROMPT_OK;
  if (!json_is_object(v)) return refuse_type(w, "an object");
  json_t *type = json_object_get(v, "type");
  if (!type) return refuse_missing(w, "type");
  size_t at = path_push(w, "type", 0);
  int r = check_enum(w, type, types, "'text', 'json_object' and 'json_schema'");
  if (r) return r;
  path_pop(w, at);
  return walk_members(w, v, RULES(rules));
}

static int check_prediction_part(walk *w, json_t *array, const char *k, json_t *part) {
  (void)array, (void)k;
  static const char *const types[] = {"text", NULL};
  static const member_rule rules[] = {{"type", pass_string}, {"text", text}};
  if (!json_is_object(part)) return refuse_type(w, "an object");
  size_t at = path_push(w, "type", 0);
  int r = check_enum(w, json_object_get(part, "type"), types, "'text'");
  if (r) return r;
  path_pop(w, at);
  r = require(w, part, "text");
  return r ? r : walk_members(w, part, RULES(rules));
}

static int check_prediction_content(walk *w, json_t *h, const char *k, json_t *v) {
  if (json_is_string(v)) return add_piece(w, h, k, 0, 0);
  if (!json_is_array(v)) return refuse_type(w, "a string or an array of text parts");
  return walk_array(w, v, check_prediction_part);
}

static int check_prediction(walk *w, json_t *h, const char *k, json_t *v) {
  (void)h, (void)k;
  static const char *const types[] = {"content", NULL};
  static const member_rule rules[] = {{"type", pass_string}, {"content", check_prediction_content}};
  if (json_is_null(v)) return PROMPT_OK;
  if (!json_is_object(v)) return refuse_type(w, "an object");
  size_t at = path_push(w, "type", 0);
  int r = check_enum(w, json_object_get(v, "type"), types, "'content'");
  if (r) return r;
  path_pop(w, at);
  r = require(w, v, "content");
  return r ? r : walk_members(w, v, RULES(rules));
}

static int check_prompt(walk *w, json_t *h, const char *k, json_t *v) {
  if (json_is_string(v)) return add_piece(w, h, k, 0, 0);
  return walk_array(w, v, text_item); /* token ids cannot be moderated */
}

/* The request's members in the order the model reads their text (a template puts tools in the system turn, before
 * the conversation; a prediction is the answer expected after it). Members not listed are refused. */
static const member_rule chat_rules[] = {
    {"model", pass_string},
    {"tools", check_tools},
    {"functions", check_functions},
    {"tool_choice", check_tool_choice},
    {"function_call", check_function_choice},
    {"response_format", check_response_format},
    {"messages", check_messages},
    {"prediction", check_prediction},
    {"frequency_penalty", pass_number},
    {"presence_penalty", pass_number},
    {"temperature", pass_number},
    {"top_p", pass_number},
    {"logit_bias", pass_number_map},
    {"logprobs", pass_bool},
    {"top_logprobs", pass_integer},
    {"max_tokens", pass_integer},
    {"max_completion_tokens", pass_integer},
    {"n", pass_integer},
    {"seed", pass_integer},
    {"stop", pass_stop},
    {"stream", pass_bool},
    {"stream_options", check_stream_options},
    {"parallel_tool_calls", pass_bool},
    {"store", pass_bool},
    {"metadata", pass_string_map},
    {"user", pass_string},
    {"safety_identifier", pass_string},
    {"prompt_cache_key", pass_string},
    {"service_tier", pass_string},
    {"reasoning_effort", pass_string},
    {"verbosity", pass_string},
    {"modalities", check_modalities},
    {"top_k", pass_number}, /* sampling extras of vLLM, llama.cpp and SGLang: numbers */
    {"min_p", pass_number},
    {"repetition_penalty", pass_number},
    {"audio", refuse_unsupported},
    {"web_search_options", refuse_unsupported},
};

static const member_rule completion_rules[] = {
    {"model", pass_string},
    {"prompt", check_prompt},
    {"suffix", text_or_null},
    {"best_of", pass_integer},
    {"echo", pass_bool},
    {"frequency_penalty", pass_number},
    {"presence_penalty", pass_number},
    {"temperature", pass_number},
    {"top_p", pass_number},
    {"logit_bias", pass_number_map},
    {"logprobs", pass_integer},
    {"max_tokens", pass_integer},
    {"n", pass_integer},
    {"seed", pass_integer},
    {"stop", pass_stop},
    {"stream", pass_bool},
    {"stream_options", check_stream_options},
    {"user", pass_string},
    {"top_k", pass_number},
    {"min_p", pass_number},
    {"repetition_penalty", pass_number},
};

int prompt_collect(json_t *body, int chat, hg_arena *arena, prompt_text *pt) {
  memset(pt, 0, sizeof *pt);
  pt->arena = arena;
  walk w = {.pt = pt, .message = -1};
  int r = chat ? walk_object(&w, body, RULES(chat_rules)) : walk_object(&w, body, RULES(completion_rules));
  return w.no_memory ? PROMPT_NO_MEMORY : r;
}

/* ---- the joined text ---- */

static int joined_add(prompt_text *pt, const char *s, size_t n) {
  if (pt->joined_len + n + 1 > pt->joined_cap) {
    size_t cap = pt->joined_cap ? pt->joined_cap : 256;
    while (cap < pt->joined_len + n + 1)
      cap *= 2;
    char *j = pt_grow(pt, pt->joined, pt->joined_cap, cap);
    if (!j) return -1;
    pt->joined = j;
    pt->joined_cap = cap;
  }
  memcpy(pt->joined + pt->joined_len, s, n);
  pt->joined_len += n;
  pt->joined[pt->joined_len] = 0;
  return 0;
}

int prompt_join(prompt_text *pt, int roles, unsigned max_turns) {
  size_t first = max_turns && pt->nmessages > max_turns ? pt->nmessages - max_turns : 0;
  pt_release(pt, pt->selected);
  pt->selected = pt->npieces ? pt_grow(pt, NULL, 0, pt->npieces * sizeof *pt->selected) : NULL;
  if (pt->npieces && !pt->selected) return -1;
  pt->nselected = 0;
  pt->joined_len = 0;
  if (joined_add(pt, "", 0)) return -1;
  for (size_t i = 0; i < pt->npieces; i++) {
    prompt_piece *p = &pt->pieces[i];
    p->selected = p->message < 0 || ((size_t)p->message >= first && (p->role_bit & roles));
    if (!p->selected) continue;
    if (pt->nselected && joined_add(pt, PROMPT_SEPARATOR, PROMPT_SEPARATOR_LEN)) return -1;
    size_t len;
    const char *s = piece_text(p, &len);
    p->start = pt->joined_len;
    if (joined_add(pt, s, len)) return -1;
    p->end = pt->joined_len;
    pt->selected[pt->nselected++] = i;
  }
  return 0;
}

const char *prompt_member(const prompt_text *pt, size_t offset) {
  /* the last selected piece that starts at or before offset (a separator belongs to the piece before it) */
  size_t lo = 0, hi = pt->nselected;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (pt->pieces[pt->selected[mid]].start <= offset)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo ? pt->paths + pt->pieces[pt->selected[lo - 1]].path_at : "";
}

typedef struct strbuf {
  char *s;
  size_t len, cap;
  hg_arena *arena; /* NULL: malloc */
} strbuf;

static int sb_add(strbuf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + n + 1)
      cap *= 2;
    char *x = b->arena ? hg_arena_grow(b->arena, b->s, b->cap, cap) : realloc(b->s, cap);
    if (!x) return -1;
    b->s = x;
    b->cap = cap;
  }
  memcpy(b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = 0;
  return 0;
}

/* The piece's new text under the edits that touch it; *edit_at is the first edit that may still touch this piece
 * or a later one. Returns 1 when the piece changed (out filled), 0 when not, -1 out of memory. */
static int edit_piece(const prompt_piece *p, const char *text, const prompt_edit *e, size_t n, size_t *edit_at,
                      char *placed, strbuf *out) {
  while (*edit_at < n && e[*edit_at].end <= p->start)
    (*edit_at)++;
  if (*edit_at == n || e[*edit_at].start >= p->end) return 0;
  size_t pos = p->start;
  for (size_t j = *edit_at; j < n && e[j].start < p->end; j++) {
    size_t s0 = e[j].start > p->start ? e[j].start : p->start, s1 = e[j].end < p->end ? e[j].end : p->end;
    if (s1 <= s0) continue;
    if (sb_add(out, text + (pos - p->start), s0 - pos)) return -1;
    if (e[j].mask) {
      for (size_t b = s0; b < s1; b++)
        if (((unsigned char)text[b - p->start] & 0xC0) != 0x80 && sb_add(out, "*", 1)) return -1;
    } else if (!placed[j]) { /* the value once, where it begins; its rest in later pieces goes with it */
      placed[j] = 1;
      if (sb_add(out, e[j].replacement, strlen(e[j].replacement))) return -1;
    }
    pos = s1;
  }
  return sb_add(out, text + (pos - p->start), p->end - pos) ? -1 : 1;
}

/* Sets a piece's new text. `next` is the piece after it (NULL for the last): when p renames a schema property whose
 * value is a string, next is that value's piece, which from now on finds it under the new name. */
static int set_piece(prompt_text *pt, prompt_piece *p, prompt_piece *next, const char *s, size_t len) {
  if (!p->is_name) {
    json_t *str = json_stringn(s, len);
    if (!str) return -1;
    return p->key ? json_object_set_new(p->holder, p->key, str) : json_array_set_new(p->holder, p->index, str);
  }
  /* A schema property renamed: the same value under the new name (the value's own pieces come later in the order
   * and were applied already). A name another property has already cannot be taken: replacing that property would
   * free strings other pieces point into. Only a schema that names properties both by a value and by its
   * placeholder (or its mask) gets there, and it is not sent. */
  if (len == strlen(p->key) && !memcmp(s, p->key, len)) return 0;
  char *name = pt_strndup(pt, s, len);
  json_t *value = json_object_get(p->holder, p->key);
  if (!name || !value || json_object_get(p->holder, name)) {
    pt_release(pt, name);
    return -1;
  }
  json_incref(value);
  if (json_object_del(p->holder, p->key)) {
    json_decref(value);
    pt_release(pt, name);
    return -1;
  }
  if (json_object_set_new(p->holder, name, value)) { /* takes value, even when it fails */
    pt_release(pt, name);
    return -1;
  }
  if (next && !next->is_name && next->holder == p->holder && next->key && !strcmp(next->key, p->key)) {
    char *copy = pt_strndup(pt, name, len);
    if (!copy) {
      pt_release(pt, name);
      return -1;
    }
    pt_release(pt, next->key);
    next->key = copy;
  }
  pt_release(pt, p->key);
  p->key = name;
  return 0;
}

int prompt_apply(prompt_text *pt, const prompt_edit *edits, size_t n) {
  size_t nout = pt->nselected ? pt->nselected : 1, nplaced = n ? n : 1;
  strbuf *out = pt->arena ? hg_arena_calloc(pt->arena, nout, sizeof *out) : calloc(nout, sizeof *out);
  char *placed = pt->arena ? hg_arena_calloc(pt->arena, nplaced, 1) : calloc(nplaced, 1);
  int r = out && placed ? 0 : -1;
  for (size_t s = 0; out && s < pt->nselected; s++)
    out[s].arena = pt->arena;
  size_t edit_at = 0;
  for (size_t s = 0; s < pt->nselected && !r; s++) {
    prompt_piece *p = &pt->pieces[pt->selected[s]];
    size_t len;
    const char *text = piece_text(p, &len);
    if (edit_piece(p, text, edits, n, &edit_at, placed, &out[s]) < 0) r = -1;
  }
  /* last to first: a schema property's value is a later piece than its name, and must be set before the rename */
  for (size_t s = pt->nselected; s-- > 0 && !r;) {
    size_t i = pt->selected[s];
    if (out[s].s &&
        set_piece(pt, &pt->pieces[i], i + 1 < pt->npieces ? &pt->pieces[i + 1] : NULL, out[s].s, out[s].len))
      r = -1;
  }
  for (size_t s = 0; out && s < pt->nselected; s++)
    pt_release(pt, out[s].s);
  pt_release(pt, out);
  pt_release(pt, placed);
  if (r) return -1;
  pt->joined_len = 0;
  for (size_t s = 0; s < pt->nselected; s++) {
    prompt_piece *p = &pt->pieces[pt->selected[s]];
    size_t len;
    const char *text = piece_text(p, &len);
    if ((s && joined_add(pt, PROMPT_SEPARATOR, PROMPT_SEPARATOR_LEN)) || joined_add(pt, text, len)) return -1;
  }
  return 0;
}

void prompt_free(prompt_text *pt) {
  if (!pt->arena) {
    for (size_t i = 0; i < pt->npieces; i++)
      free(pt->pieces[i].key);
    free(pt->pieces);
    free(pt->paths);
    free(pt->selected);
    free(pt->joined);
  }
  memset(pt, 0, sizeof *pt);
}

int prompt_parse(json_t *body, const json_error_t *je, int chat, hg_arena *arena, prompt_text *pt) {
  const char *problem = NULL, *param = NULL;
  if (!json_is_object(body))
    problem = "the request body is not a JSON object";
  else if (!json_is_string(json_object_get(body, "model")))
    problem = "you must provide a model parameter", param = "model";
  else if (chat && !json_is_array(json_object_get(body, "messages")))
    problem = "'messages' must be an array", param = "messages";
  else if (!chat && !json_object_get(body, "prompt"))
    problem = "'prompt' is required", param = "prompt";
  else if (!chat && !json_is_string(json_object_get(body, "prompt"))) {
    json_t *p = json_object_get(body, "prompt");
    for (size_t i = 0; !problem && i < json_array_size(p); i++)
      if (!json_is_string(json_array_get(p, i))) problem = "'prompt' must be a string or an array of strings";
    if (!json_is_array(p)) problem = "'prompt' must be a string or an array of strings";
    if (problem) param = "prompt";
  }
  if (problem) {
    if (!body && je)
      snprintf(pt->message, sizeof pt->message, "%s (%.200s at line %d)", problem, je->text, je->line);
    else
      snprintf(pt->message, sizeof pt->message, "%s", problem);
    /* the member named only where OpenAI names one (a body that is not an object has none) */
    snprintf(pt->param, sizeof pt->param, "%s", body && param ? param : "");
    pt->code[0] = '\0';
    return PROMPT_REFUSED;
  }
  return prompt_collect(body, chat, arena, pt);
}
