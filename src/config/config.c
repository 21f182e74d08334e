/* config.c — the gateway's YAML configuration (docs/config.md), read in two steps: libyaml's events become a
 * small tree (bounded in depth and size, aliases refused), then the tree is walked against a table of known keys.
 * Every error names the file, the line and the dotted key; unknown and duplicate keys are errors, since a
 * misspelt key silently left at its default is how a compliance setting goes missing. The walk fills a copy of
 * the caller's hg_config, so a file with an error changes nothing. */
#include "hegui/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "base/error.h"
#include "hegui/label.h"
#include "hegui/regex.h"
#include "hegui/webhooks.h"

#define CONFIG_TEXT_MAX ((size_t)1 << 20)
#define TREE_DEPTH_MAX 16    /* the layout needs 4 */
#define TREE_NODES_MAX 10000 /* the layout needs about 150 */
#define KEY_SHOWN_MAX 64     /* bytes of an unknown key repeated in a message */
#define PATH_MAX_LEN 160
#define TIMEOUT_MS_MAX 3600000ull

const char *hg_profile_name(hg_profile p) {
  switch (p) {
  case HG_PROFILE_DRAFT_2023: return "draft-2023";
  case HG_PROFILE_INTERIM_2023: return "interim-2023";
  case HG_PROFILE_TC260: return "tc260";
  }
  return "unknown";
}

static void default_store_url(const char *data_dir, char *out, size_t size) {
  snprintf(out, size, "sqlite:%s/hegui.db", data_dir);
}

/* The provider's defaults (hegui/config.h), url "" */
void hg_idv_config_init(hg_idv_config *c) {
  memset(c, 0, sizeof *c);
  c->timeout_ms = 5000;
  snprintf(c->field_name, sizeof c->field_name, "name");
  snprintf(c->field_id_number, sizeof c->field_id_number, "id_number");
  snprintf(c->field_phone, sizeof c->field_phone, "phone");
  snprintf(c->result_path, sizeof c->result_path, "result");
  snprintf(c->verified_value, sizeof c->verified_value, "verified");
  snprintf(c->rejected_value, sizeof c->rejected_value, "rejected");
  snprintf(c->reason_path, sizeof c->reason_path, "reason");
}

void hg_config_init(hg_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  strcpy(cfg->listen, "127.0.0.1:8080");
  cfg->workers = 2;
  cfg->max_body_bytes = 1u << 20;
  cfg->max_header_bytes = 16u << 10;
  cfg->header_timeout_ms = 10000;
  cfg->body_timeout_ms = 10000;
  cfg->max_streams = 256;
  cfg->drain_timeout_ms = 10000;
  strcpy(cfg->upstream_url, "http://127.0.0.1:9000");
  cfg->connect_timeout_ms = 3000;
  cfg->first_byte_timeout_ms = 60000;
  cfg->idle_timeout_ms = 30000;
  strcpy(cfg->data_dir, "./hegui-data");
  default_store_url(cfg->data_dir, cfg->store_url, sizeof cfg->store_url);
  cfg->auth_required = 1;
  cfg->profile = HG_PROFILE_TC260;
  cfg->input_max_turns = 0;
  cfg->input_roles = 1 << 0 | 1 << 1;
  for (int c = 0; c < HG_CATEGORY_COUNT; c++)
    cfg->category_action[c] = HG_VERDICT_BLOCK;
  /* personal information is redacted rather than refused, whether the detector or a pii lexicon entry found it */
  cfg->category_action[HG_CAT_PII] = HG_VERDICT_REDACT;
  cfg->pii_action = HG_VERDICT_REDACT;
  hg_pii_options o;
  hg_pii_options_init(&o);
  cfg->pii_types = o.types;
  strcpy(cfg->refusal, "很抱歉，这个问题我无法回答。");
  strcpy(cfg->classifier_model, "builtin");
  cfg->guard.input = cfg->guard.output = 1;
  cfg->guard.timeout_ms = 3000;
  cfg->guard.retries = 1;
  cfg->guard.max_concurrent = 16;
  cfg->guard.cache_entries = 4096;
  cfg->guard.action = HG_ACTION_BLOCK;
  cfg->guard.controversial = HG_ACTION_REVIEW;
  cfg->guard.threshold = 0.5f;
  cfg->classifier_input = cfg->classifier_output = 1;
  cfg->classifier_action = HG_ACTION_BLOCK;
  strcpy(cfg->label_notice, "本内容由人工智能生成");
  cfg->label_at_end = 1;
  strcpy(cfg->content_producer, "hegui");
  strcpy(cfg->label_image_text, "AI生成");
  cfg->label_image_height = 0.05;
  strcpy(cfg->label_audio_text, "本内容由人工智能生成");
  cfg->media_ocr = 1;
  strcpy(cfg->media_ocr_languages, "chi_sim+eng");
  cfg->media_ocr_timeout_ms = 10000;
  cfg->media_unjudged = 1;
  cfg->media_max_bytes = 25u << 20;
  cfg->media_fetch_timeout_ms = 10000;
  cfg->media_max_concurrent = 16;
  cfg->retain_text = HG_RETAIN_REDACTED;
  cfg->audit_durability = HG_DURABILITY_GROUP;
  cfg->strikes_in_a_row = 3;
  cfg->near_dups_per_hour = 30;
  cfg->strike_categories = 1ull << HG_CAT_MALWARE | 1ull << HG_CAT_FRAUD | 1ull << HG_CAT_SPAM;
  cfg->near_dup_bits = 12;
  cfg->review_sample_rate = 0.01;
  cfg->strikes_per_day = 5;
  cfg->suspend_minutes = 1440;
  cfg->terminate_after = 3;
  /* time limits published at GET /compliance/complaints; personal-information requests: 15 days */
  static const unsigned due[5] = {24, 168, 72, 360, 168};
  memcpy(cfg->complaint_due_hours, due, sizeof due);
  cfg->complaint_rate_per_minute = 10;
  cfg->takedown_days = 90;
  cfg->text_retention_days = 180;
  cfg->identity_required = -1;
  hg_idv_config_init(&cfg->idv);
  cfg->utc_offset_minutes = 480;
  cfg->minors_enabled = 1;
  cfg->minors_daily_minutes = 60;
  cfg->minors_closed_from = 22 * 60;
  cfg->minors_closed_to = 8 * 60;
  cfg->reminder_minutes = 120;
  cfg->pause_minutes = 20;
  cfg->reminders_all_users = -1;
  cfg->log_level = 1; /* info */
  cfg->log_access = 1;
  strcpy(cfg->reminder_text, "（提示：您已连续使用%d分钟，请注意休息，合理安排使用时间。）");
  cfg->lexicon_max_age_days = 7; /* TC260-003 asks for the keyword library to be updated at least weekly */
}

int hg_config_identity_required(const hg_config *cfg) {
  return cfg->identity_required >= 0 ? cfg->identity_required : cfg->profile == HG_PROFILE_DRAFT_2023;
}

int hg_config_reminders_all_users(const hg_config *cfg) {
  return cfg->reminders_all_users >= 0 ? cfg->reminders_all_users : cfg->profile == HG_PROFILE_DRAFT_2023;
}

/* ---- step 1: events to a tree ------------------------------------------------------------------------------ */

typedef enum node_kind { NODE_SCALAR, NODE_MAP, NODE_SEQ } node_kind;

typedef struct node {
  node_kind kind;
  size_t line, mark; /* 1-based line, and libyaml's index of the node's start (characters, not bytes) */
  char *text;        /* scalars: the value, NUL-terminated (it may hold a NUL of its own: len tells) */
  size_t len;
  int plain;           /* scalars: unquoted and untagged, so "null", "true" and numbers mean what they say */
  struct node **items; /* maps: key, value, key, value, ...; sequences: the items */
  size_t count, cap;
} node;

static void node_free(node *n) {
  if (!n) return;
  for (size_t i = 0; i < n->count; i++)
    node_free(n->items[i]);
  free(n->items);
  free(n->text);
  free(n);
}

typedef struct loader {
  const char *name, *text;
  size_t len, nodes;
  hg_error *err;
  node *stack[TREE_DEPTH_MAX];
  size_t depth;
  node *root;
} loader;

static size_t line_of_offset(const char *text, size_t len, size_t offset) {
  size_t line = 1;
  for (size_t i = 0; i < offset && i < len; i++)
    line += text[i] == '\n';
  return line;
}

/* A UTF-8 byte order mark is passed over here: libyaml, told the encoding, would read it as a character and
 * then see the first line as indented. */
static size_t bom_len(const char *text, size_t len) { return len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3) ? 3 : 0; }

/* libyaml counts characters after the byte order mark; hg_error wants bytes. Done only for the one error
 * reported, as it walks the text. */
static size_t byte_offset(const char *text, size_t len, size_t mark) {
  size_t pos = bom_len(text, len);
  for (size_t chars = 0; pos < len && chars < mark; chars++)
    for (pos++; pos < len && ((unsigned char)text[pos] & 0xC0) == 0x80;)
      pos++;
  return pos;
}

static hg_status yaml_failure(loader *l, const yaml_parser_t *parser) {
  if (parser->error == YAML_MEMORY_ERROR) return hg_fail(l->err, HG_ERR_NOMEM, 0, 0, "out of memory");
  const char *problem = parser->problem ? parser->problem : "malformed YAML";
  if (parser->error == YAML_READER_ERROR) {
    size_t at = bom_len(l->text, l->len) + parser->problem_offset, line = line_of_offset(l->text, l->len, at);
    return hg_fail(l->err, HG_ERR_PARSE, line, at, "%s:%zu: invalid YAML: %s", l->name, line, problem);
  }
  size_t line = parser->problem_mark.line + 1, at = byte_offset(l->text, l->len, parser->problem_mark.index);
  const char *hint = at < l->len && l->text[at] == '\t' ? "; YAML indents with spaces, not tabs" : "";
  char context[96] = "";
  if (parser->context && parser->context_mark.line + 1 != line)
    snprintf(context, sizeof context, " (%s at line %zu)", parser->context, (size_t)parser->context_mark.line + 1);
  else if (parser->context)
    snprintf(context, sizeof context, " (%s)", parser->context);
  return hg_fail(l->err, HG_ERR_PARSE, line, at, "%s:%zu: invalid YAML: %s%s%s", l->name, line, problem, context, hint);
}

static hg_status add_node(loader *l, const yaml_event_t *ev, node_kind kind, node **out) {
  size_t line = ev->start_mark.line + 1;
  if (++l->nodes > TREE_NODES_MAX)
    return hg_fail(l->err, HG_ERR_LIMIT, line, byte_offset(l->text, l->len, ev->start_mark.index),
                   "%s:%zu: more than %d YAML nodes", l->name, line, TREE_NODES_MAX);
  node *n = calloc(1, sizeof *n);
  if (!n) return hg_fail(l->err, HG_ERR_NOMEM, 0, 0, "out of memory");
  n->kind = kind;
  n->line = line;
  n->mark = ev->start_mark.index;
  if (kind == NODE_SCALAR) {
    n->len = ev->data.scalar.length;
    n->text = malloc(n->len + 1);
    if (!n->text) {
      free(n);
      return hg_fail(l->err, HG_ERR_NOMEM, 0, 0, "out of memory");
    }
    memcpy(n->text, ev->data.scalar.value, n->len);
    n->text[n->len] = '\0';
    n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !ev->data.scalar.tag;
  }
  if (l->depth == 0) {
    l->root = n;
  } else {
    node *parent = l->stack[l->depth - 1];
    if (parent->count == parent->cap) {
      size_t cap = parent->cap ? parent->cap * 2 : 8;
      node **items = realloc(parent->items, cap * sizeof *items);
      if (!items) {
        node_free(n);
        return hg_fail(l->err, HG_ERR_NOMEM, 0, 0, "out of memory");
      }
      parent->items = items;
      parent->cap = cap;
    }
    parent->items[parent->count++] = n;
  }
  *out = n;
  return HG_OK;
}

static hg_status load_tree(loader *l) {
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) return hg_fail(l->err, HG_ERR_NOMEM, 0, 0, "out of memory");
  size_t bom = bom_len(l->text, l->len);
  yaml_parser_set_input_string(&parser, (const unsigned char *)l->text + bom, l->len - bom);
  yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
  hg_status s = HG_OK;
  int documents = 0, done = 0;
  while (!s && !done) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&parser, &ev)) {
      s = yaml_failure(l, &parser);
      break;
    }
    size_t line = ev.start_mark.line + 1;
    node *n;
    switch (ev.type) {
    case YAML_STREAM_END_EVENT: done = 1; break;
    case YAML_DOCUMENT_START_EVENT:
      if (++documents > 1)
        s = hg_fail(l->err, HG_ERR_PARSE, line, byte_offset(l->text, l->len, ev.start_mark.index),
                    "%s:%zu: a second YAML document (one file, one configuration)", l->name, line);
      break;
    case YAML_ALIAS_EVENT:
      s = hg_fail(l->err, HG_ERR_PARSE, line, byte_offset(l->text, l->len, ev.start_mark.index),
                  "%s:%zu: aliases (*%s) are not supported in a hegui configuration", l->name, line,
                  (const char *)ev.data.alias.anchor);
      break;
    case YAML_SCALAR_EVENT: s = add_node(l, &ev, NODE_SCALAR, &n); break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
      if (l->depth == TREE_DEPTH_MAX) {
        s = hg_fail(l->err, HG_ERR_LIMIT, line, byte_offset(l->text, l->len, ev.start_mark.index),
                    "%s:%zu: nested more than %d levels deep", l->name, line, TREE_DEPTH_MAX);
        break;
      }
      s = add_node(l, &ev, ev.type == YAML_MAPPING_START_EVENT ? NODE_MAP : NODE_SEQ, &n);
      if (!s) l->stack[l->depth++] = n;
      break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: l->depth--; break;
    default: break;
    }
    yaml_event_delete(&ev);
  }
  yaml_parser_delete(&parser);
  return s;
}

/* ---- step 2: the tree against the known keys --------------------------------------------------------------- */

typedef struct walk {
  const char *name, *text;
  size_t len;
  hg_error *err;
  hg_config *cfg;
  int store_set;
} walk;

static hg_status fail_at(walk *w, const node *n, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static hg_status fail_at(walk *w, const node *n, const char *path, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return hg_fail(w->err, HG_ERR_PARSE, n->line, byte_offset(w->text, w->len, n->mark), "%s:%zu: %s%s%s", w->name,
                 n->line, path, *path ? ": " : "", msg);
}

/* A key from the file, cut short at a UTF-8 boundary, for messages. */
static void key_shown(const node *key, char out[KEY_SHOWN_MAX + 1]) {
  if (key->kind != NODE_SCALAR) {
    strcpy(out, "?");
    return;
  }
  size_t n = key->len < KEY_SHOWN_MAX ? key->len : KEY_SHOWN_MAX;
  while (n < key->len && n > 0 && ((unsigned char)key->text[n] & 0xC0) == 0x80)
    n--;
  memcpy(out, key->text, n);
  out[n] = '\0';
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)out[i] < 0x20) out[i] = '?';
}

static void join_path(char out[PATH_MAX_LEN], const char *path, const char *key) {
  if (snprintf(out, PATH_MAX_LEN, "%s%s%s", path, *path ? "." : "", key) >= PATH_MAX_LEN)
    strcpy(out + PATH_MAX_LEN - 4, "...");
}

static int is_null(const node *n) {
  if (n->kind != NODE_SCALAR || !n->plain) return 0;
  return n->len == 0 || !strcmp(n->text, "~") || !strcmp(n->text, "null") || !strcmp(n->text, "Null") ||
         !strcmp(n->text, "NULL");
}

static hg_status whole_number(walk *w, const node *n, const char *path, unsigned long long min, unsigned long long max,
                              const char *unit, unsigned long long *out) {
  int ok = n->kind == NODE_SCALAR && n->plain && n->len > 0 && n->len <= 19;
  unsigned long long v = 0;
  for (size_t i = 0; ok && i < n->len; i++) {
    ok = n->text[i] >= '0' && n->text[i] <= '9';
    v = v * 10 + (unsigned)(n->text[i] - '0');
  }
  if (!ok || v < min || v > max)
    return fail_at(w, n, path, "expected a whole number%s%s (%llu-%llu)", *unit ? " of " : "", unit, min, max);
  *out = v;
  return HG_OK;
}

/* Copies a string value into a fixed buffer; a null (`key:` or `key: ~`) is the empty string. */
static hg_status string_value(walk *w, const node *n, const char *path, char *out, size_t size) {
  if (n->kind != NODE_SCALAR) return fail_at(w, n, path, "expected a string");
  if (is_null(n)) {
    out[0] = '\0';
    return HG_OK;
  }
  if (memchr(n->text, '\0', n->len)) return fail_at(w, n, path, "a string may not hold a NUL character");
  if (n->len >= size) return fail_at(w, n, path, "longer than %zu bytes", size - 1);
  memcpy(out, n->text, n->len + 1);
  return HG_OK;
}

static hg_status enum_value(walk *w, const node *n, const char *path, const char *const *names, int count, int *out) {
  if (n->kind == NODE_SCALAR)
    for (int i = 0; i < count; i++)
      if (!strcmp(n->text, names[i]) && strlen(names[i]) == n->len) {
        *out = i;
        return HG_OK;
      }
  char expected[160] = "";
  for (int i = 0; i < count; i++) {
    strcat(expected, i == 0 ? "" : i == count - 1 ? " or " : ", ");
    strcat(expected, names[i]);
  }
  return fail_at(w, n, path, "expected %s", expected);
}

/* ---- value checks: NULL when the value is fine, else what was expected ---- */

/* no spaces either: such values go into URLs and HTTP headers */
static int printable_ascii(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7E) return 0;
  return 1;
}

static int no_control(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7F) return 0;
  return 1;
}

static const char *check_listen(char *v) {
  static const char *const expected = "expected HOST:PORT, e.g. 127.0.0.1:8080, 0.0.0.0:8080 or [::1]:8080";
  char *colon;
  if (v[0] == '[') {
    char *close = strchr(v, ']');
    if (!close || close == v + 1 || close[1] != ':') return expected;
    for (char *p = v + 1; p < close; p++)
      if (!strchr("0123456789abcdefABCDEF:.", *p)) return expected;
    colon = close + 1;
  } else {
    colon = strrchr(v, ':');
    if (!colon || colon == v) return expected;
    for (char *p = v; p < colon; p++) {
      if (*p == ':') return "expected HOST:PORT with an IPv6 address in brackets, e.g. [::1]:8080";
      int host_char = *p == '-' || *p == '.' || (*p >= '0' && *p <= '9') || ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z');
      if (!host_char) return expected;
    }
  }
  const char *port = colon + 1;
  size_t digits = strspn(port, "0123456789");
  if (digits == 0 || digits > 5 || port[digits] || atol(port) < 1 || atol(port) > 65535)
    return "expected HOST:PORT with a port from 1 to 65535";
  return NULL;
}

static const char *check_url(char *v) {
  size_t scheme = !strncmp(v, "http://", 7) ? 7 : !strncmp(v, "https://", 8) ? 8 : 0;
  if (!scheme || !v[scheme] || v[scheme] == '/' || !printable_ascii(v))
    return "expected an http:// or https:// URL without spaces, e.g. http://127.0.0.1:9000";
  /* the gateway appends /v1/...; a trailing slash would double it */
  size_t len = strlen(v);
  while (len > scheme + 1 && v[len - 1] == '/')
    v[--len] = '\0';
  return NULL;
}

static const char *check_api_key(char *v) {
  return printable_ascii(v) ? NULL : "expected printable ASCII without spaces (it is sent in an HTTP header)";
}

static const char *check_path(char *v) {
  return *v && no_control(v) ? NULL : "expected a path (not empty, no control characters)";
}

static const char *check_optional_path(char *v) {
  return no_control(v) ? NULL : "expected a path without control characters (empty for the starter lexicon)";
}

static const char *check_store(char *v) {
  return *v && no_control(v) ? NULL : "expected a store URL such as sqlite:./hegui-data/hegui.db";
}

static const char *check_refusal(char *v) {
  for (const char *p = v; *p; p++)
    if (((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7F)
      return "expected a text without control characters other than line breaks and tabs";
  return *v ? NULL : "expected the text to answer with (not empty)";
}

static const char *check_notice(char *v) {
  return hg_label_notice_valid(v) ? NULL
                                  : "expected a notice that says 人工智能 or AI and 生成 or 合成 (GB 45438), e.g. "
                                    "本内容由人工智能生成";
}

static const char *check_producer(char *v) {
  return hg_label_value_valid(v) ? NULL
                                 : "expected printable ASCII without space, '\"' or '\\' (GB 45438 Appendix E), "
                                   "e.g. hegui";
}

static const char *check_optional_url(char *v) { return *v ? check_url(v) : NULL; }

static const char *check_member_name(char *v) {
  return no_control(v) ? NULL : "expected a JSON member name without control characters (empty: not sent)";
}

static const char *check_json_path(char *v) {
  if (!*v || !no_control(v) || *v == '.' || v[strlen(v) - 1] == '.' || strstr(v, ".."))
    return "expected a dotted path into the answer, e.g. result or data.result";
  return NULL;
}

static const char *check_optional_json_path(char *v) { return *v ? check_json_path(v) : NULL; }

static const char *check_verdict_value(char *v) {
  return *v && no_control(v) ? NULL : "expected the provider's value for this verdict, e.g. verified or 1";
}

static const char *check_reminder(char *v) {
  if (!*v) return "expected the reminder text (not empty)";
  for (const char *p = v; *p; p++) {
    if (((unsigned char)*p < 0x20 && *p != '\n') || *p == 0x7F) return "expected a text without control characters";
    if (*p == '%' && p[1] != 'd' && p[1] != '%') return "the only placeholder is %d (the minutes); write %% for %";
    if (*p == '%') p++;
  }
  int d = 0;
  for (const char *p = v; (p = strchr(p, '%')); p += 2)
    d += p[1] == 'd';
  return d <= 1 ? NULL : "use %d at most once";
}

/* ---- the key table ---- */

typedef enum field_kind { FIELD_SECTION, FIELD_NUMBER, FIELD_BOOL, FIELD_STRING, FIELD_CUSTOM } field_kind;

typedef struct field field;
struct field {
  const char *name;
  field_kind kind;
  size_t offset, size;               /* NUMBER, BOOL, STRING: the member of hg_config */
  unsigned long long min, max;       /* NUMBER */
  const char *unit;                  /* NUMBER: "milliseconds", "bytes" or "" */
  const char *(*check)(char *value); /* STRING: may also tidy the value */
  const field *children;             /* SECTION: ends with a NULL name */
  hg_status (*custom)(walk *w, const node *value, const char *path);
  /* hg_config_keys (config check, config show, the hegui.yaml(5) page) reads these: */
  int secret;                                    /* STRING: masked when shown */
  void (*show)(const hg_config *cfg, FILE *out); /* CUSTOM: the value as YAML; NULL for an alias (audit.batch) */
  const char *values;                            /* CUSTOM: what the key takes, in words */
};

#define MEMBER(m) .offset = offsetof(hg_config, m), .size = sizeof(((hg_config *)0)->m)
#define NUMBER(key, m, lo, hi, u)                                                                                      \
  { .name = key, .kind = FIELD_NUMBER, MEMBER(m), .min = lo, .max = hi, .unit = u }
#define STRING(key, m, fn)                                                                                             \
  { .name = key, .kind = FIELD_STRING, MEMBER(m), .unit = "", .check = fn }
#define SECRET(key, m, fn)                                                                                             \
  { .name = key, .kind = FIELD_STRING, MEMBER(m), .unit = "", .check = fn, .secret = 1 }
#define BOOL(key, m)                                                                                                   \
  { .name = key, .kind = FIELD_BOOL, MEMBER(m), .unit = "" }
#define SECTION(key, fields)                                                                                           \
  { .name = key, .kind = FIELD_SECTION, .unit = "", .children = fields }
#define CUSTOM(key, fn, shown, what)                                                                                   \
  { .name = key, .kind = FIELD_CUSTOM, .unit = "", .custom = fn, .show = shown, .values = what }
#define END                                                                                                            \
  { .name = NULL, .kind = FIELD_CUSTOM, .unit = "" }

/* the names of enumerated values, in the order of the values they stand for (parsed and shown alike) */
static const char *const profile_names[] = {"draft-2023", "interim-2023", "tc260"};
static const char *const position_names[] = {"start", "end"};
static const char *const retention_names[] = {"redacted", "none", "full"};
static const char *const durability_names[] = {"sync", "group", "async"};
static const char *const verdict_names[] = {"allow", "redact", "block", "review"};
static const char *const tristate_names[] = {"auto", "false", "true"};
static const char *const role_names[] = {"user", "system", "assistant", "tool"};
static const char *const hold_names[] = {"sentence", "none"};
static const char *const action_names[] = {"block", "review", "redact", "log"};
static const char *const guard_format_names[] = {"qwen3guard", "llamaguard3", "shieldgemma", "judge"};
static const char *const on_error_names[] = {"allow", "block"};
static const char *const guard_stream_names[] = {"sentence", "end"};
static const char *const log_level_names[] = {"debug", "info", "warn", "error"}; /* the order of base/log.h's levels */
static const char *const log_format_names[] = {"text", "json"};
static const char *const place_names[] = {"bottom-right", "bottom-left", "top-right", "top-left", "bottom", "top"};
static const char *const unjudged_names[] = {"allow", "review", "block"};
static const char *const audio_kind_names[] = {"speech", "rhythm"};

static hg_status parse_store(walk *w, const node *n, const char *path) {
  hg_status s = string_value(w, n, path, w->cfg->store_url, sizeof w->cfg->store_url);
  if (s) return s;
  const char *problem = check_store(w->cfg->store_url);
  if (problem) return fail_at(w, n, path, "%s", problem);
  w->store_set = 1;
  return HG_OK;
}

static hg_status parse_profile(walk *w, const node *n, const char *path) {
  const char *const *names = profile_names;
  int v = 0;
  hg_status s = enum_value(w, n, path, names, 3, &v);
  if (!s) w->cfg->profile = (hg_profile)v;
  return s;
}

static hg_status parse_position(walk *w, const node *n, const char *path) {
  const char *const *names = position_names;
  int v = 0;
  hg_status s = enum_value(w, n, path, names, 2, &v);
  if (!s) w->cfg->label_at_end = v;
  return s;
}

static hg_status parse_retention(walk *w, const node *n, const char *path) {
  const char *const *names = retention_names;
  int v = 0;
  hg_status s = enum_value(w, n, path, names, 3, &v);
  if (!s) w->cfg->retain_text = (hg_retention)v;
  return s;
}

/* audit.durability: when an answer's record must be on disk (hg_durability) */
static hg_status parse_durability(walk *w, const node *n, const char *path) {
  const char *const *names = durability_names;
  int v = 0;
  hg_status s = enum_value(w, n, path, names, 3, &v);
  if (!s) w->cfg->audit_durability = (hg_durability)v;
  return s;
}

/* audit.batch, the older spelling: true is group, false sync */
static hg_status parse_batch(walk *w, const node *n, const char *path) {
  static const char *const names[] = {"false", "true"};
  int v = 0;
  hg_status s = enum_value(w, n, path, names, 2, &v);
  if (!s) w->cfg->audit_durability = v ? HG_DURABILITY_GROUP : HG_DURABILITY_SYNC;
  return s;
}

static hg_status parse_verdict(walk *w, const node *n, const char *path, hg_verdict_action *out) {
  const char *const *names = verdict_names;
  int v = 0;
  hg_status s = enum_value(w, n, path, names, 4, &v);
  if (!s) *out = (hg_verdict_action)v;
  return s;
}

/* auto | true | false -> -1 | 1 | 0 */
static hg_status tristate(walk *w, const node *n, const char *path, int *out) {
  const char *const *names = tristate_names;
  int v = 0;
  hg_status s = enum_value(w, n, path, names, 3, &v);
  if (!s) *out = v - 1;
  return s;
}

static hg_status parse_identity_required(walk *w, const node *n, const char *path) {
  return tristate(w, n, path, &w->cfg->identity_required);
}

static hg_status parse_all_users(walk *w, const node *n, const char *path) {
  return tristate(w, n, path, &w->cfg->reminders_all_users);
}

/* "HH:MM" -> minutes after midnight, -1 when malformed; "24:00" is midnight at the end of the day */
static int clock_minutes(const char *s, size_t len) {
  if (len != 5 || s[2] != ':') return -1;
  for (int i = 0; i < 5; i++)
    if (i != 2 && (s[i] < '0' || s[i] > '9')) return -1;
  int h = (s[0] - '0') * 10 + s[1] - '0', m = (s[3] - '0') * 10 + s[4] - '0';
  if (m > 59 || h > 24 || (h == 24 && m)) return -1;
  return h * 60 + m;
}

/* minors.closed_hours: "22:00-08:00" (may wrap past midnight) or none */
static hg_status parse_closed_hours(walk *w, const node *n, const char *path) {
  if (n->kind == NODE_SCALAR && (is_null(n) || (n->plain && !strcmp(n->text, "none")))) {
    w->cfg->minors_closed_from = w->cfg->minors_closed_to = 0;
    return HG_OK;
  }
  int from = -1, to = -1;
  if (n->kind == NODE_SCALAR && n->len == 11 && n->text[5] == '-') {
    from = clock_minutes(n->text, 5);
    to = clock_minutes(n->text + 6, 5);
  }
  if (from < 0 || to < 0 || from == to)
    return fail_at(w, n, path, "expected \"HH:MM-HH:MM\" local time, e.g. \"22:00-08:00\", or none");
  w->cfg->minors_closed_from = from % 1440;
  w->cfg->minors_closed_to = to % 1440;
  return HG_OK;
}

/* timezone: "+08:00", "-05:30", "UTC" */
static hg_status parse_timezone(walk *w, const node *n, const char *path) {
  if (n->kind == NODE_SCALAR && (!strcmp(n->text, "UTC") || !strcmp(n->text, "Z"))) {
    w->cfg->utc_offset_minutes = 0;
    return HG_OK;
  }
  int m = -1;
  if (n->kind == NODE_SCALAR && n->len == 6 && (n->text[0] == '+' || n->text[0] == '-'))
    m = clock_minutes(n->text + 1, 5);
  if (m < 0 || m > 14 * 60)
    return fail_at(w, n, path, "expected a UTC offset such as \"+08:00\" (China Standard Time) or UTC");
  w->cfg->utc_offset_minutes = n->text[0] == '-' ? -m : m;
  return HG_OK;
}

static hg_status expect_list(walk *w, const node *n, const char *path) {
  return n->kind == NODE_SEQ ? HG_OK : fail_at(w, n, path, "expected a list, e.g. [a, b]");
}

static hg_status parse_roles(walk *w, const node *n, const char *path) {
  const char *const *names = role_names;
  hg_status s = expect_list(w, n, path);
  if (s) return s;
  if (n->count == 0) return fail_at(w, n, path, "expected at least one of user, system, assistant or tool");
  int roles = 0;
  for (size_t i = 0; i < n->count; i++) {
    char item_path[PATH_MAX_LEN + 24];
    snprintf(item_path, sizeof item_path, "%s[%zu]", path, i);
    int v = 0;
    if ((s = enum_value(w, n->items[i], item_path, names, 4, &v))) return s;
    roles |= 1 << v;
  }
  w->cfg->input_roles = roles;
  return HG_OK;
}

/* strikes.categories: risk codes whose reasons in a prompt are a strike whatever the policy does with them. */
static hg_status parse_strike_categories(walk *w, const node *n, const char *path) {
  hg_status s = expect_list(w, n, path);
  if (s) return s;
  uint64_t cats = 0;
  for (size_t i = 0; i < n->count; i++) {
    const node *item = n->items[i];
    hg_category c;
    if (item->kind != NODE_SCALAR || strlen(item->text) != item->len || hg_category_parse(item->text, item->len, &c)) {
      char item_path[PATH_MAX_LEN + 24];
      snprintf(item_path, sizeof item_path, "%s[%zu]", path, i);
      return fail_at(w, item, item_path, "expected a risk code (A1a-A5b, insult, spam, fraud, malware, custom)");
    }
    cats |= 1ull << c;
  }
  w->cfg->strike_categories = cats;
  return HG_OK;
}

static hg_status parse_pii_types(walk *w, const node *n, const char *path) {
  hg_status s = expect_list(w, n, path);
  if (s) return s;
  uint64_t types = 0; /* an empty list turns the detector off */
  for (size_t i = 0; i < n->count; i++) {
    const node *item = n->items[i];
    hg_pii_type t;
    if (item->kind != NODE_SCALAR || strlen(item->text) != item->len || hg_pii_type_parse(item->text, &t)) {
      char item_path[PATH_MAX_LEN + 24];
      snprintf(item_path, sizeof item_path, "%s[%zu]", path, i);
      return fail_at(w, item, item_path, "expected a PII type name such as cn_id, mobile or email (docs/pii.md)");
    }
    types |= 1ull << t;
  }
  w->cfg->pii_types = types;
  return HG_OK;
}

/* policy.actions: one entry per TC260-003 code, "pii" for personal information, "default" for every lexicon
 * category not named (pii keeps its own). Codes match as hg_category_parse reads them, so A1a and a1a are one. */
static hg_status parse_actions(walk *w, const node *n, const char *path) {
  if (is_null(n)) return HG_OK;
  if (n->kind != NODE_MAP) return fail_at(w, n, path, "expected keys such as A1a: block, pii: redact, default: block");
  size_t first_line[HG_CATEGORY_COUNT + 1] = {0}; /* the last slot is "default" */
  hg_verdict_action actions[HG_CATEGORY_COUNT + 1];
  for (size_t i = 0; i + 1 < n->count; i += 2) {
    const node *key = n->items[i], *value = n->items[i + 1];
    char shown[KEY_SHOWN_MAX + 1], key_path[PATH_MAX_LEN];
    key_shown(key, shown);
    join_path(key_path, path, shown);
    size_t slot;
    hg_category cat;
    if (key->kind == NODE_SCALAR && !strcmp(key->text, "default") && key->len == 7)
      slot = HG_CATEGORY_COUNT;
    else if (key->kind == NODE_SCALAR && strlen(key->text) == key->len &&
             hg_category_parse(key->text, key->len, &cat) == HG_OK)
      slot = (size_t)cat;
    else
      return fail_at(w, key, key_path, "unknown risk code (expected A1a-A5b as in TC260-003, pii, custom or default)");
    if (first_line[slot]) return fail_at(w, key, key_path, "duplicate key (first at line %zu)", first_line[slot]);
    first_line[slot] = key->line;
    hg_status s = parse_verdict(w, value, key_path, &actions[slot]);
    if (s) return s;
  }
  for (size_t c = 0; c < HG_CATEGORY_COUNT; c++) {
    if (first_line[c])
      w->cfg->category_action[c] = actions[c];
    else if (first_line[HG_CATEGORY_COUNT] && c != HG_CAT_PII)
      w->cfg->category_action[c] = actions[HG_CATEGORY_COUNT];
  }
  if (first_line[HG_CAT_PII]) w->cfg->pii_action = actions[HG_CAT_PII];
  return HG_OK;
}

/* policy.rules: operator rules as regular expressions (docs/rules.md), each a map of name, pattern, category and
 * action. The pattern is compiled here too, so that a bad or unbounded one is an error naming file:line. */
static hg_status unknown_key(walk *w, const node *key, const field *fields, const char *path);

/* Builds the one rule alone, so that its errors name the line of its pattern. */
static hg_status check_rule(walk *w, const node *map, const char *path, const hg_config_rule *rule) {
  hg_regex_rule r = {rule->name, rule->pattern, rule->category, rule->action};
  hg_regex_set *set = NULL;
  hg_error e;
  if (hg_regex_set_build(&r, 1, &set, &e) == HG_OK) {
    hg_regex_set_unref(set);
    return HG_OK;
  }
  char key_path[PATH_MAX_LEN];
  join_path(key_path, path, "pattern");
  (void)map;
  return hg_fail(w->err, HG_ERR_PARSE, rule->pattern_line, 0, "%s:%zu: %s: %s", w->name, rule->pattern_line, key_path,
                 e.message);
}

#define KEY_NAME(key)                                                                                                  \
  { .name = key, .kind = FIELD_CUSTOM, .unit = "" }
static const field rule_fields[] = {KEY_NAME("name"), KEY_NAME("pattern"), KEY_NAME("category"), KEY_NAME("action"),
                                    END};

static hg_status parse_rule(walk *w, const node *map, const char *path, hg_config_rule *rule) {
  if (map->kind != NODE_MAP)
    return fail_at(w, map, path, "expected a rule: {name: ..., pattern: ..., category: A1a, action: block}");
  static const char *const actions[] = {"block", "review", "redact", "log"};
  int seen[4] = {0};
  memset(rule, 0, sizeof *rule);
  rule->category = HG_CAT_CUSTOM;
  rule->action = HG_ACTION_BLOCK;
  rule->line = map->line;
  for (size_t i = 0; i + 1 < map->count; i += 2) {
    const node *key = map->items[i], *value = map->items[i + 1];
    if (key->kind != NODE_SCALAR) return fail_at(w, key, path, "keys must be plain names");
    int f = -1;
    for (int k = 0; k < 4; k++)
      if (strlen(rule_fields[k].name) == key->len && !memcmp(rule_fields[k].name, key->text, key->len)) f = k;
    if (f < 0) return unknown_key(w, key, rule_fields, path);
    char key_path[PATH_MAX_LEN];
    join_path(key_path, path, rule_fields[f].name);
    if (seen[f]++) return fail_at(w, key, key_path, "duplicate key");
    hg_status s = HG_OK;
    int v = 0;
    hg_category cat;
    switch (f) {
    case 0:
      if (!(s = string_value(w, value, key_path, rule->name, sizeof rule->name)) && !rule->name[0])
        s = fail_at(w, value, key_path, "a rule needs a name");
      break;
    case 1:
      if (!(s = string_value(w, value, key_path, rule->pattern, sizeof rule->pattern)) && !rule->pattern[0])
        s = fail_at(w, value, key_path, "a rule needs a pattern");
      rule->pattern_line = value->line;
      break;
    case 2:
      if (value->kind != NODE_SCALAR || strlen(value->text) != value->len ||
          hg_category_parse(value->text, value->len, &cat))
        s = fail_at(w, value, key_path, "unknown risk code (expected A1a-A5b as in TC260-003, pii or custom)");
      else
        rule->category = cat;
      break;
    case 3:
      if (!(s = enum_value(w, value, key_path, actions, 4, &v)))
        rule->action = v == 0 ? HG_ACTION_BLOCK : v == 1 ? HG_ACTION_REVIEW : v == 2 ? HG_ACTION_REDACT : HG_ACTION_LOG;
      break;
    }
    if (s) return s;
  }
  if (!seen[0] || !seen[1]) return fail_at(w, map, path, "a rule needs a name and a pattern");
  return check_rule(w, map, path, rule);
}

static hg_status parse_rules(walk *w, const node *n, const char *path) {
  if (is_null(n)) {
    w->cfg->rule_count = 0;
    return HG_OK;
  }
  hg_status s = expect_list(w, n, path);
  if (s) return s;
  if (n->count > HG_CONFIG_MAX_RULES) return fail_at(w, n, path, "at most %d rules", HG_CONFIG_MAX_RULES);
  for (size_t i = 0; i < n->count; i++) {
    char item_path[PATH_MAX_LEN + 24];
    snprintf(item_path, sizeof item_path, "%s[%zu]", path, i);
    if ((s = parse_rule(w, n->items[i], item_path, &w->cfg->rules[i]))) return s;
    for (size_t k = 0; k < i; k++)
      if (!strcmp(w->cfg->rules[k].name, w->cfg->rules[i].name))
        return fail_at(w, n->items[i], item_path, "a second rule named '%s' (first at line %zu)", w->cfg->rules[i].name,
                       w->cfg->rules[k].line);
  }
  w->cfg->rule_count = (unsigned)n->count;
  return HG_OK;
}

/* webhooks: a list of {url, secret, events, timeout_ms, max_attempts, retry_base_ms, retry_max_ms}
 * (docs/config.md). A secret shorter than 16 bytes is refused: a signature is only as good as its key. */
static const field webhook_fields[] = {
    KEY_NAME("url"),          KEY_NAME("secret"),        KEY_NAME("events"),       KEY_NAME("timeout_ms"),
    KEY_NAME("max_attempts"), KEY_NAME("retry_base_ms"), KEY_NAME("retry_max_ms"), END};

static const char *check_webhook_url(char *v) {
  size_t scheme = !strncmp(v, "http://", 7) ? 7 : !strncmp(v, "https://", 8) ? 8 : 0;
  if (!scheme || !v[scheme] || v[scheme] == '/' || !printable_ascii(v))
    return "expected an http:// or https:// URL without spaces, e.g. https://tickets.example.com/hooks/hegui";
  return NULL;
}

static hg_status parse_webhook_events(walk *w, const node *n, const char *path, unsigned *out) {
  hg_status s = expect_list(w, n, path);
  if (s) return s;
  if (!n->count) return fail_at(w, n, path, "expected at least one event (leave events out for all of them)");
  unsigned events = 0;
  for (size_t i = 0; i < n->count; i++) {
    const node *item = n->items[i];
    hg_webhook_event e;
    if (item->kind != NODE_SCALAR || strlen(item->text) != item->len || hg_webhook_event_parse(item->text, &e)) {
      char item_path[PATH_MAX_LEN + 24];
      snprintf(item_path, sizeof item_path, "%s[%zu]", path, i);
      return fail_at(w, item, item_path,
                     "expected complaint.overdue, user.suspended, user.minor_to_adult or identity.rejected");
    }
    events |= 1u << e;
  }
  *out = events;
  return HG_OK;
}

static hg_status parse_webhook(walk *w, const node *map, const char *path, hg_webhook_config *hook) {
  if (map->kind != NODE_MAP) return fail_at(w, map, path, "expected a webhook: {url: https://..., secret: ...}");
  int seen[7] = {0};
  memset(hook, 0, sizeof *hook);
  hook->events = HG_WEBHOOK_ALL_EVENTS;
  hook->timeout_ms = 5000;
  hook->max_attempts = 8;
  hook->retry_base_ms = 1000;
  hook->retry_max_ms = 600000;
  hook->line = map->line;
  for (size_t i = 0; i + 1 < map->count; i += 2) {
    const node *key = map->items[i], *value = map->items[i + 1];
    if (key->kind != NODE_SCALAR) return fail_at(w, key, path, "keys must be plain names");
    int f = -1;
    for (int k = 0; k < 7; k++)
      if (strlen(webhook_fields[k].name) == key->len && !memcmp(webhook_fields[k].name, key->text, key->len)) f = k;
    if (f < 0) return unknown_key(w, key, webhook_fields, path);
    char key_path[PATH_MAX_LEN];
    join_path(key_path, path, webhook_fields[f].name);
    if (seen[f]++) return fail_at(w, key, key_path, "duplicate key");
    hg_status s = HG_OK;
    unsigned long long v = 0;
    const char *problem;
    switch (f) {
    case 0:
      if (!(s = string_value(w, value, key_path, hook->url, sizeof hook->url)) &&
          (problem = check_webhook_url(hook->url)))
        s = fail_at(w, value, key_path, "%s", problem);
      break;
    case 1:
      if (!(s = string_value(w, value, key_path, hook->secret, sizeof hook->secret)) &&
          (strlen(hook->secret) < 16 || !no_control(hook->secret)))
        s = fail_at(w, value, key_path, "expected a secret of at least 16 bytes without control characters");
      break;
    case 2: s = parse_webhook_events(w, value, key_path, &hook->events); break;
    case 3:
      if (!(s = whole_number(w, value, key_path, 1, 600000, "milliseconds", &v))) hook->timeout_ms = (unsigned)v;
      break;
    case 4:
      if (!(s = whole_number(w, value, key_path, 1, 100, "", &v))) hook->max_attempts = (unsigned)v;
      break;
    case 5:
      if (!(s = whole_number(w, value, key_path, 1, TIMEOUT_MS_MAX, "milliseconds", &v)))
        hook->retry_base_ms = (unsigned)v;
      break;
    case 6:
      if (!(s = whole_number(w, value, key_path, 1, 86400000, "milliseconds", &v))) hook->retry_max_ms = (unsigned)v;
      break;
    }
    if (s) return s;
  }
  if (!seen[0] || !seen[1]) return fail_at(w, map, path, "a webhook needs a url and a secret");
  if (hook->retry_max_ms < hook->retry_base_ms) {
    char key_path[PATH_MAX_LEN];
    join_path(key_path, path, "retry_max_ms");
    return fail_at(w, map, key_path, "must be at least retry_base_ms (%u)", hook->retry_base_ms);
  }
  return HG_OK;
}

static hg_status parse_webhooks(walk *w, const node *n, const char *path) {
  if (is_null(n)) {
    w->cfg->webhook_count = 0;
    return HG_OK;
  }
  hg_status s = expect_list(w, n, path);
  if (s) return s;
  if (n->count > HG_CONFIG_MAX_WEBHOOKS) return fail_at(w, n, path, "at most %d webhooks", HG_CONFIG_MAX_WEBHOOKS);
  for (size_t i = 0; i < n->count; i++) {
    char item_path[PATH_MAX_LEN + 24];
    snprintf(item_path, sizeof item_path, "%s[%zu]", path, i);
    if ((s = parse_webhook(w, n->items[i], item_path, &w->cfg->webhooks[i]))) return s;
  }
  w->cfg->webhook_count = (unsigned)n->count;
  return HG_OK;
}

static hg_status parse_classifier_hold(walk *w, const node *n, const char *path) {
  const char *const *names = hold_names;
  int v = 0;
  hg_status s = enum_value(w, n, path, names, 2, &v);
  if (!s) w->cfg->classifier_hold = v;
  return s;
}

static hg_status parse_classifier_action(walk *w, const node *n, const char *path) {
  const char *const *names = action_names;
  int v = 0;
  hg_status s = enum_value(w, n, path, names, 4, &v);
  if (!s) w->cfg->classifier_action = (hg_action)v; /* the names are in hg_action's order */
  return s;
}

static const char *check_model(char *v) {
  return *v && no_control(v) ? NULL : "expected builtin, none, or the path of a model file (hegui classifier train)";
}

/* A number in [0, 1] (a threshold). */
static hg_status fraction_value(walk *w, const node *n, const char *path, float *out) {
  char *end = NULL;
  double v = n->kind == NODE_SCALAR && n->plain && n->len ? strtod(n->text, &end) : -1.0;
  if (!end || *end || !(v >= 0.0 && v <= 1.0))
    return fail_at(w, n, path, "expected a threshold between 0 and 1, such as 0.7");
  *out = (float)v;
  return HG_OK;
}

/* A map of short names to values (classifier.thresholds, guard.categories): every key a scalar of 1..name_cap-1
 * bytes without control characters, no key twice (compared without case), at most max of them; each pair handed to
 * each() with its index. A null value is an empty map. */
typedef hg_status (*named_pair_fn)(walk *w, const node *key, const node *value, const char *key_path, size_t index);

static hg_status walk_named_map(walk *w, const node *n, const char *path, size_t max, size_t name_cap,
                                const char *example, named_pair_fn each, unsigned *count) {
  *count = 0;
  if (is_null(n)) return HG_OK;
  if (n->kind != NODE_MAP) return fail_at(w, n, path, "expected keys such as %s", example);
  if (n->count / 2 > max) return fail_at(w, n, path, "at most %zu keys", max);
  for (size_t i = 0; i + 1 < n->count; i += 2) {
    const node *key = n->items[i], *value = n->items[i + 1];
    char shown[KEY_SHOWN_MAX + 1], key_path[PATH_MAX_LEN];
    key_shown(key, shown);
    join_path(key_path, path, shown);
    if (key->kind != NODE_SCALAR || !key->len || key->len >= name_cap || strlen(key->text) != key->len ||
        !no_control(key->text))
      return fail_at(w, key, key_path, "expected a name of at most %zu bytes", name_cap - 1);
    for (size_t k = 0; k < i; k += 2)
      if (!strcasecmp(n->items[k]->text, key->text))
        return fail_at(w, key, key_path, "duplicate key (first at line %zu)", n->items[k]->line);
    hg_status s = each(w, key, value, key_path, i / 2);
    if (s) return s;
  }
  *count = (unsigned)(n->count / 2);
  return HG_OK;
}

/* classifier.thresholds: label name or code -> a number in [0, 1]. Whether the model has the label is checked when
 * the policy is built (the model is loaded then), with the line kept here. */
static hg_status threshold_pair(walk *w, const node *key, const node *value, const char *key_path, size_t index) {
  hg_config_threshold *t = &w->cfg->classifier_thresholds[index];
  hg_status s = fraction_value(w, value, key_path, &t->value);
  if (s) return s;
  memcpy(t->label, key->text, key->len + 1);
  t->line = key->line;
  return HG_OK;
}

static hg_status parse_thresholds(walk *w, const node *n, const char *path) {
  return walk_named_map(w, n, path, HG_CONFIG_MAX_THRESHOLDS, sizeof w->cfg->classifier_thresholds[0].label,
                        "insult: 0.7, A2e: 0.6", threshold_pair, &w->cfg->classifier_threshold_count);
}

static hg_status parse_guard_format(walk *w, const node *n, const char *path) {
  const char *const *names = guard_format_names;
  int v = 0;
  hg_status s = enum_value(w, n, path, names, 4, &v);
  if (!s) w->cfg->guard.format = v;
  return s;
}

static hg_status parse_guard_on_error(walk *w, const node *n, const char *path) {
  const char *const *names = on_error_names;
  int v = 0;
  hg_status s = enum_value(w, n, path, names, 2, &v);
  if (!s) w->cfg->guard.on_error_block = v;
  return s;
}

static hg_status guard_action(walk *w, const node *n, const char *path, hg_action *out) {
  const char *const *names = action_names;
  int v = 0;
  hg_status s = enum_value(w, n, path, names, 4, &v);
  if (!s && v == HG_ACTION_REDACT) return fail_at(w, n, path, "a guard judges a whole text: block, review or log");
  if (!s) *out = (hg_action)v;
  return s;
}

static hg_status parse_guard_stream(walk *w, const node *n, const char *path) {
  const char *const *names = guard_stream_names;
  int v = 0;
  hg_status s = enum_value(w, n, path, names, 2, &v);
  if (!s) w->cfg->guard.stream_at_end = v;
  return s;
}

static hg_status parse_guard_action(walk *w, const node *n, const char *path) {
  return guard_action(w, n, path, &w->cfg->guard.action);
}

static hg_status parse_guard_controversial(walk *w, const node *n, const char *path) {
  return guard_action(w, n, path, &w->cfg->guard.controversial);
}

static hg_status parse_guard_threshold(walk *w, const node *n, const char *path) {
  return fraction_value(w, n, path, &w->cfg->guard.threshold);
}

/* labels.image_place, labels.image_height, labels.audio_position, labels.audio_kind, media.unjudged, media.fetch_hosts
 */
static hg_status parse_image_place(walk *w, const node *n, const char *path) {
  return enum_value(w, n, path, place_names, 6, &w->cfg->label_image_place);
}

static hg_status parse_image_height(walk *w, const node *n, const char *path) {
  char *end = NULL;
  double v = n->kind == NODE_SCALAR && n->plain && n->len ? strtod(n->text, &end) : -1.0;
  if (!end || *end || !(v >= 0.05 && v <= 0.5))
    return fail_at(w, n, path,
                   "expected the text height as a share of the shortest side, 0.05 (GB 45438's "
                   "least) to 0.5");
  w->cfg->label_image_height = v;
  return HG_OK;
}

static hg_status parse_audio_position(walk *w, const node *n, const char *path) {
  return enum_value(w, n, path, position_names, 2, &w->cfg->label_audio_at_end);
}

static hg_status parse_audio_kind(walk *w, const node *n, const char *path) {
  return enum_value(w, n, path, audio_kind_names, 2, &w->cfg->label_audio_rhythm);
}

static hg_status parse_unjudged(walk *w, const node *n, const char *path) {
  return enum_value(w, n, path, unjudged_names, 3, &w->cfg->media_unjudged);
}

static hg_status parse_fetch_hosts(walk *w, const node *n, const char *path) {
  hg_status s = expect_list(w, n, path);
  if (s) return s;
  if (n->count > HG_CONFIG_MAX_FETCH_HOSTS) return fail_at(w, n, path, "at most %d hosts", HG_CONFIG_MAX_FETCH_HOSTS);
  for (size_t i = 0; i < n->count; i++) {
    char item_path[PATH_MAX_LEN + 24];
    snprintf(item_path, sizeof item_path, "%s[%zu]", path, i);
    const node *item = n->items[i];
    char *h = w->cfg->media_fetch_hosts[i];
    if ((s = string_value(w, item, item_path, h, sizeof w->cfg->media_fetch_hosts[i]))) return s;
    int ok = h[0] != '\0';
    for (char *c = h; ok && *c; c++) {
      *c = (char)((*c >= 'A' && *c <= 'Z') ? *c + 32 : *c);
      ok = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '.' || *c == ':' || *c == '[' ||
           *c == ']';
    }
    if (!ok) return fail_at(w, item, item_path, "expected a host name or address, such as images.example.com");
  }
  w->cfg->media_fetch_host_count = (unsigned)n->count;
  return HG_OK;
}

/* review.sample_rate: the share of allowed answers queued for people, in [0, 1] */
static hg_status parse_review_sample(walk *w, const node *n, const char *path) {
  char *end = NULL;
  double v = n->kind == NODE_SCALAR && n->plain && n->len ? strtod(n->text, &end) : -1.0;
  if (!end || *end || !(v >= 0.0 && v <= 1.0))
    return fail_at(w, n, path, "expected a share between 0 and 1, such as 0.01 for one answer in a hundred");
  w->cfg->review_sample_rate = v;
  return HG_OK;
}

/* Tesseract's language list: names of traineddata files joined by '+' */
static const char *check_ocr_languages(char *v) {
  int ok = v[0] != '\0' && v[0] != '+';
  for (char *c = v; ok && *c; c++)
    ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_' ||
         (*c == '+' && c[1] && c[1] != '+');
  return ok ? NULL : "expected Tesseract language names joined by +, such as chi_sim+eng";
}

static const char *check_guard_prompt(char *v) {
  for (const char *p = v; *p; p++)
    if (((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7F)
      return "expected a text without control characters other than line breaks and tabs";
  return NULL;
}

static const char *check_model_name(char *v) {
  return no_control(v) ? NULL : "expected a model name without control characters";
}

/* guard.categories: a guard's category name -> a risk code (over the format's defaults, docs/guard.md). */
static hg_status guard_category_pair(walk *w, const node *key, const node *value, const char *key_path, size_t index) {
  struct hg_guard_category_map *m = &w->cfg->guard.categories[index];
  if (value->kind != NODE_SCALAR || hg_category_parse(value->text, value->len, &m->category))
    return fail_at(w, value, key_path, "expected a risk code (A1a-A5b, insult, spam, fraud, malware, custom)");
  memcpy(m->name, key->text, key->len + 1);
  m->line = key->line;
  return HG_OK;
}

static hg_status parse_guard_categories(walk *w, const node *n, const char *path) {
  return walk_named_map(w, n, path, HG_CONFIG_MAX_GUARD_CATEGORIES, sizeof w->cfg->guard.categories[0].name,
                        "S10: A2a, Violent: A1d", guard_category_pair, &w->cfg->guard.category_count);
}

/* guard.policies: [{name, text}] — the principles ShieldGemma is asked about, one call each. */
static hg_status parse_guard_policies(walk *w, const node *n, const char *path) {
  hg_guard_config *g = &w->cfg->guard;
  if (is_null(n)) {
    g->policy_count = 0;
    return HG_OK;
  }
  hg_status s = expect_list(w, n, path);
  if (s) return s;
  if (n->count > HG_CONFIG_MAX_GUARD_POLICIES)
    return fail_at(w, n, path, "at most %d policies", HG_CONFIG_MAX_GUARD_POLICIES);
  for (size_t i = 0; i < n->count; i++) {
    const node *item = n->items[i];
    char item_path[PATH_MAX_LEN + 24];
    snprintf(item_path, sizeof item_path, "%s[%zu]", path, i);
    struct hg_guard_policy *p = &g->policies[i];
    memset(p, 0, sizeof *p);
    if (item->kind != NODE_MAP) return fail_at(w, item, item_path, "expected {name: ..., text: ...}");
    for (size_t k = 0; k + 1 < item->count; k += 2) {
      const node *key = item->items[k], *value = item->items[k + 1];
      char key_path[PATH_MAX_LEN];
      join_path(key_path, item_path, key->kind == NODE_SCALAR ? key->text : "?");
      if (key->kind == NODE_SCALAR && !strcmp(key->text, "name"))
        s = string_value(w, value, key_path, p->name, sizeof p->name);
      else if (key->kind == NODE_SCALAR && !strcmp(key->text, "text"))
        s = string_value(w, value, key_path, p->text, sizeof p->text);
      else
        s = fail_at(w, key, key_path, "unknown key (a policy has name and text)");
      if (s) return s;
    }
    if (!p->name[0] || !p->text[0]) return fail_at(w, item, item_path, "a policy needs a name and a text");
  }
  g->policy_count = (unsigned)n->count;
  return HG_OK;
}

/* ---- values shown: each custom key's value as YAML, so that `hegui config show` can be read back ---- */

/* A string as a YAML double-quoted scalar (JSON's escapes are YAML's too). */
static void put_quoted(FILE *out, const char *s) {
  fputc('"', out);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(out, "\\%c", c);
    else if (c == '\n')
      fputs("\\n", out);
    else if (c == '\t')
      fputs("\\t", out);
    else if (c < 0x20 || c == 0x7F)
      fprintf(out, "\\u%04x", c);
    else
      fputc(c, out);
  }
  fputc('"', out);
}

static void show_store(const hg_config *cfg, FILE *out) { put_quoted(out, cfg->store_url); }
static void show_profile(const hg_config *cfg, FILE *out) { fputs(profile_names[cfg->profile], out); }
static void show_position(const hg_config *cfg, FILE *out) { fputs(position_names[cfg->label_at_end != 0], out); }
static void show_retention(const hg_config *cfg, FILE *out) { fputs(retention_names[cfg->retain_text], out); }
static void show_durability(const hg_config *cfg, FILE *out) { fputs(durability_names[cfg->audit_durability], out); }
static void show_identity_required(const hg_config *cfg, FILE *out) {
  fputs(tristate_names[cfg->identity_required + 1], out);
}
static void show_all_users(const hg_config *cfg, FILE *out) {
  fputs(tristate_names[cfg->reminders_all_users + 1], out);
}
static void show_hold(const hg_config *cfg, FILE *out) { fputs(hold_names[cfg->classifier_hold != 0], out); }
static void show_classifier_action(const hg_config *cfg, FILE *out) {
  fputs(action_names[cfg->classifier_action], out);
}
static void show_guard_format(const hg_config *cfg, FILE *out) { fputs(guard_format_names[cfg->guard.format], out); }
static void show_on_error(const hg_config *cfg, FILE *out) {
  fputs(on_error_names[cfg->guard.on_error_block != 0], out);
}
static void show_guard_stream(const hg_config *cfg, FILE *out) {
  fputs(guard_stream_names[cfg->guard.stream_at_end != 0], out);
}
static void show_guard_action(const hg_config *cfg, FILE *out) { fputs(action_names[cfg->guard.action], out); }
static void show_controversial(const hg_config *cfg, FILE *out) { fputs(action_names[cfg->guard.controversial], out); }
static void show_guard_threshold(const hg_config *cfg, FILE *out) { fprintf(out, "%g", cfg->guard.threshold); }
static void show_image_place(const hg_config *cfg, FILE *out) { fputs(place_names[cfg->label_image_place], out); }
static void show_image_height(const hg_config *cfg, FILE *out) { fprintf(out, "%.15g", cfg->label_image_height); }
static void show_audio_position(const hg_config *cfg, FILE *out) {
  fputs(position_names[cfg->label_audio_at_end != 0], out);
}
static void show_audio_kind(const hg_config *cfg, FILE *out) {
  fputs(audio_kind_names[cfg->label_audio_rhythm != 0], out);
}
static void show_unjudged(const hg_config *cfg, FILE *out) { fputs(unjudged_names[cfg->media_unjudged], out); }
static void show_fetch_hosts(const hg_config *cfg, FILE *out) {
  fputc('[', out);
  for (unsigned i = 0; i < cfg->media_fetch_host_count; i++)
    fprintf(out, "%s%s", i ? ", " : "", cfg->media_fetch_hosts[i]);
  fputc(']', out);
}
static void show_review_sample(const hg_config *cfg, FILE *out) { fprintf(out, "%.15g", cfg->review_sample_rate); }

static void show_roles(const hg_config *cfg, FILE *out) {
  fputc('[', out);
  for (int i = 0, n = 0; i < 4; i++)
    if (cfg->input_roles & 1 << i) fprintf(out, "%s%s", n++ ? ", " : "", role_names[i]);
  fputc(']', out);
}

static void show_categories(uint64_t cats, FILE *out) {
  fputc('[', out);
  for (int c = 0, n = 0; c < HG_CATEGORY_COUNT; c++)
    if (cats & 1ull << c) fprintf(out, "%s%s", n++ ? ", " : "", hg_category_code((hg_category)c));
  fputc(']', out);
}
static void show_strike_categories(const hg_config *cfg, FILE *out) { show_categories(cfg->strike_categories, out); }

static void show_pii_types(const hg_config *cfg, FILE *out) {
  fputc('[', out);
  for (int t = 0, n = 0; t < HG_PII_TYPE_COUNT; t++)
    if (cfg->pii_types & 1ull << t) fprintf(out, "%s%s", n++ ? ", " : "", hg_pii_type_name((hg_pii_type)t));
  fputc(']', out);
}

/* every code with its action: what the file said and the defaults it left */
static void show_actions(const hg_config *cfg, FILE *out) {
  fputc('{', out);
  for (int c = 0; c < HG_CATEGORY_COUNT; c++) {
    hg_verdict_action a = c == HG_CAT_PII ? cfg->pii_action : cfg->category_action[c];
    fprintf(out, "%s%s: %s", c ? ", " : "", hg_category_code((hg_category)c), verdict_names[a]);
  }
  fputc('}', out);
}

static void show_rules(const hg_config *cfg, FILE *out) {
  fputc('[', out);
  for (unsigned i = 0; i < cfg->rule_count; i++) {
    const hg_config_rule *r = &cfg->rules[i];
    fputs(i ? ", {name: " : "{name: ", out);
    put_quoted(out, r->name);
    fputs(", pattern: ", out);
    put_quoted(out, r->pattern);
    fprintf(out, ", category: %s, action: %s}", hg_category_code(r->category), action_names[r->action]);
  }
  fputc(']', out);
}

static void show_thresholds(const hg_config *cfg, FILE *out) {
  fputc('{', out);
  for (unsigned i = 0; i < cfg->classifier_threshold_count; i++) {
    fputs(i ? ", " : "", out);
    put_quoted(out, cfg->classifier_thresholds[i].label);
    fprintf(out, ": %g", cfg->classifier_thresholds[i].value);
  }
  fputc('}', out);
}

static void show_guard_categories(const hg_config *cfg, FILE *out) {
  fputc('{', out);
  for (unsigned i = 0; i < cfg->guard.category_count; i++) {
    fputs(i ? ", " : "", out);
    put_quoted(out, cfg->guard.categories[i].name);
    fprintf(out, ": %s", hg_category_code(cfg->guard.categories[i].category));
  }
  fputc('}', out);
}

static void show_guard_policies(const hg_config *cfg, FILE *out) {
  fputc('[', out);
  for (unsigned i = 0; i < cfg->guard.policy_count; i++) {
    fputs(i ? ", {name: " : "{name: ", out);
    put_quoted(out, cfg->guard.policies[i].name);
    fputs(", text: ", out);
    put_quoted(out, cfg->guard.policies[i].text);
    fputc('}', out);
  }
  fputc(']', out);
}

static void show_closed_hours(const hg_config *cfg, FILE *out) {
  int from = cfg->minors_closed_from, to = cfg->minors_closed_to;
  if (from == to)
    fputs("none", out);
  else
    fprintf(out, "\"%02d:%02d-%02d:%02d\"", from / 60, from % 60, to / 60, to % 60);
}

static void show_timezone(const hg_config *cfg, FILE *out) {
  int m = cfg->utc_offset_minutes, a = m < 0 ? -m : m;
  fprintf(out, "\"%c%02d:%02d\"", m < 0 ? '-' : '+', a / 60, a % 60);
}

/* webhooks as a YAML flow list, the secrets masked like every other credential */
static void show_webhooks(const hg_config *cfg, FILE *out) {
  fputc('[', out);
  for (unsigned i = 0; i < cfg->webhook_count; i++) {
    const hg_webhook_config *h = &cfg->webhooks[i];
    fputs(i ? ", {url: " : "{url: ", out);
    put_quoted(out, h->url);
    fputs(", secret: ", out);
    put_quoted(out, h->secret[0] ? "********" : "");
    fputs(", events: [", out);
    int first = 1;
    for (unsigned e = 0; e < HG_WEBHOOK_EVENTS; e++)
      if (h->events >> e & 1u)
        fprintf(out, "%s%s", first ? "" : ", ", hg_webhook_event_name((hg_webhook_event)e)), first = 0;
    fprintf(out, "], timeout_ms: %u, max_attempts: %u, retry_base_ms: %u, retry_max_ms: %u}", h->timeout_ms,
            h->max_attempts, h->retry_base_ms, h->retry_max_ms);
  }
  fputc(']', out);
}

static void show_log_level(const hg_config *cfg, FILE *out) { fputs(log_level_names[cfg->log_level], out); }
static void show_log_format(const hg_config *cfg, FILE *out) { fputs(log_format_names[cfg->log_json != 0], out); }

#define VERDICTS "allow, review, redact or block"
#define ACTIONS "block, review, redact or log"
#define CODES "risk codes (A1a-A5b, pii, custom, insult, spam, fraud, malware)"

#define GMEMBER(m) guard.m
static const field guard_fields[] = {
    STRING("url", GMEMBER(url), check_optional_url),
    SECRET("api_key", GMEMBER(api_key), check_api_key),
    STRING("model", GMEMBER(model), check_model_name),
    CUSTOM("format", parse_guard_format, show_guard_format, "qwen3guard, llamaguard3, shieldgemma or judge"),
    BOOL("input", GMEMBER(input)),
    BOOL("output", GMEMBER(output)),
    CUSTOM("stream", parse_guard_stream, show_guard_stream, "sentence or end"),
    BOOL("images", GMEMBER(images)),
    NUMBER("timeout_ms", GMEMBER(timeout_ms), 1, TIMEOUT_MS_MAX, "milliseconds"),
    NUMBER("retries", GMEMBER(retries), 0, 5, ""),
    NUMBER("max_concurrent", GMEMBER(max_concurrent), 1, 4096, ""),
    NUMBER("cache_entries", GMEMBER(cache_entries), 0, 1u << 20, ""),
    CUSTOM("on_error", parse_guard_on_error, show_on_error, "allow or block"),
    CUSTOM("action", parse_guard_action, show_guard_action, "block, review or log"),
    CUSTOM("controversial", parse_guard_controversial, show_controversial, "block, review or log"),
    CUSTOM("threshold", parse_guard_threshold, show_guard_threshold, "number 0-1"),
    STRING("prompt", GMEMBER(prompt), check_guard_prompt),
    CUSTOM("categories", parse_guard_categories, show_guard_categories, "map of guard category to risk code"),
    CUSTOM("policies", parse_guard_policies, show_guard_policies, "list of {name, text}"),
    END};

static const field classifier_fields[] = {
    STRING("model", classifier_model, check_model),
    CUSTOM("hold", parse_classifier_hold, show_hold, "sentence or none"),
    BOOL("input", classifier_input),
    BOOL("output", classifier_output),
    CUSTOM("action", parse_classifier_action, show_classifier_action, ACTIONS),
    CUSTOM("thresholds", parse_thresholds, show_thresholds, "map of label name or code to a number 0-1"),
    END};

static const field limits_fields[] = {NUMBER("max_body_bytes", max_body_bytes, 1024, 1ull << 30, "bytes"),
                                      NUMBER("max_header_bytes", max_header_bytes, 1024, 1ull << 20, "bytes"),
                                      NUMBER("header_timeout_ms", header_timeout_ms, 1, TIMEOUT_MS_MAX, "milliseconds"),
                                      NUMBER("body_timeout_ms", body_timeout_ms, 1, TIMEOUT_MS_MAX, "milliseconds"),
                                      NUMBER("max_streams", max_streams, 1, 65536, ""),
                                      NUMBER("drain_timeout_ms", drain_timeout_ms, 0, TIMEOUT_MS_MAX, "milliseconds"),
                                      END};

static const field upstream_fields[] = {
    STRING("url", upstream_url, check_url),
    SECRET("api_key", upstream_api_key, check_api_key),
    NUMBER("connect_timeout_ms", connect_timeout_ms, 1, TIMEOUT_MS_MAX, "milliseconds"),
    NUMBER("first_byte_timeout_ms", first_byte_timeout_ms, 1, TIMEOUT_MS_MAX, "milliseconds"),
    NUMBER("idle_timeout_ms", idle_timeout_ms, 1, TIMEOUT_MS_MAX, "milliseconds"),
    END};

static const field auth_fields[] = {BOOL("required", auth_required), END};

static const field input_fields[] = {NUMBER("max_turns", input_max_turns, 0, 1000000, ""),
                                     CUSTOM("roles", parse_roles, show_roles, "list of user, system, assistant, tool"),
                                     END};

static const field policy_fields[] = {
    CUSTOM("profile", parse_profile, show_profile, "draft-2023, interim-2023 or tc260"),
    SECTION("input", input_fields),
    CUSTOM("actions", parse_actions, show_actions, "map of " CODES " or default to " VERDICTS),
    CUSTOM("pii_types", parse_pii_types, show_pii_types, "list of PII type names"),
    STRING("refusal", refusal, check_refusal),
    CUSTOM("rules", parse_rules, show_rules, "list of {name, pattern, category, action}"),
    BOOL("allow_empty_lexicon", allow_empty_lexicon),
    END};

static const field labels_fields[] = {
    STRING("notice", label_notice, check_notice),
    CUSTOM("position", parse_position, show_position, "start or end"),
    STRING("producer", content_producer, check_producer),
    BOOL("unlabeled_on_request", unlabeled_on_request),
    STRING("image_text", label_image_text, check_notice),
    CUSTOM("image_place", parse_image_place, show_image_place,
           "bottom-right, bottom-left, top-right, top-left, bottom or top"),
    CUSTOM("image_height", parse_image_height, show_image_height, "number 0.05-0.5"),
    STRING("audio_text", label_audio_text, check_notice),
    CUSTOM("audio_position", parse_audio_position, show_audio_position, "start or end"),
    CUSTOM("audio_kind", parse_audio_kind, show_audio_kind, "speech or rhythm"),
    END};

static const field media_fields[] = {
    BOOL("ocr", media_ocr),
    STRING("ocr_languages", media_ocr_languages, check_ocr_languages),
    STRING("tessdata", media_tessdata, check_optional_path),
    NUMBER("ocr_timeout_ms", media_ocr_timeout_ms, 100, TIMEOUT_MS_MAX, "milliseconds"),
    CUSTOM("unjudged", parse_unjudged, show_unjudged, "allow, review or block"),
    CUSTOM("fetch_hosts", parse_fetch_hosts, show_fetch_hosts, "list of host names"),
    NUMBER("max_bytes", media_max_bytes, 1024, 1ull << 30, "bytes"),
    NUMBER("fetch_timeout_ms", media_fetch_timeout_ms, 100, TIMEOUT_MS_MAX, "milliseconds"),
    NUMBER("max_concurrent", media_max_concurrent, 1, 1024, ""),
    END};

static const field audit_fields[] = {CUSTOM("retain_text", parse_retention, show_retention, "redacted, none or full"),
                                     CUSTOM("durability", parse_durability, show_durability, "group, sync or async"),
                                     CUSTOM("batch", parse_batch, NULL, "true or false (older spelling of durability)"),
                                     NUMBER("text_retention_days", text_retention_days, 1, 36500, ""), END};

static const field strikes_fields[] = {
    NUMBER("suspend_in_a_row", strikes_in_a_row, 1, 1000, ""),
    NUMBER("near_duplicates_per_hour", near_dups_per_hour, 0, 128, ""),
    CUSTOM("categories", parse_strike_categories, show_strike_categories, "list of " CODES),
    NUMBER("near_duplicate_bits", near_dup_bits, 0, 16, ""),
    NUMBER("suspend_per_day", strikes_per_day, 1, 100000, ""),
    NUMBER("suspend_minutes", suspend_minutes, 1, 5256000, ""),
    NUMBER("terminate_after_suspensions", terminate_after, 1, 1000, ""),
    END};

static const field due_fields[] = {NUMBER("prohibited_content", complaint_due_hours[0], 1, 8760, ""),
                                   NUMBER("ip_infringement", complaint_due_hours[1], 1, 8760, ""),
                                   NUMBER("privacy", complaint_due_hours[2], 1, 8760, ""),
                                   NUMBER("personal_info", complaint_due_hours[3], 1, 8760, ""),
                                   NUMBER("other", complaint_due_hours[4], 1, 8760, ""),
                                   END};

static const field complaints_fields[] = {SECTION("due_hours", due_fields),
                                          NUMBER("rate_per_minute", complaint_rate_per_minute, 1, 100000, ""), END};

static const field quota_user_fields[] = {NUMBER("requests_per_minute", quota_user.requests_per_minute, 0, 1000000, ""),
                                          NUMBER("requests_per_day", quota_user.requests_per_day, 0, 100000000, ""),
                                          NUMBER("tokens_per_minute", quota_user.tokens_per_minute, 0, 4000000000u, ""),
                                          NUMBER("tokens_per_day", quota_user.tokens_per_day, 0, 4000000000u, ""), END};
static const field quota_key_fields[] = {NUMBER("requests_per_minute", quota_key.requests_per_minute, 0, 1000000, ""),
                                         NUMBER("requests_per_day", quota_key.requests_per_day, 0, 100000000, ""),
                                         NUMBER("tokens_per_minute", quota_key.tokens_per_minute, 0, 4000000000u, ""),
                                         NUMBER("tokens_per_day", quota_key.tokens_per_day, 0, 4000000000u, ""), END};
static const field quotas_fields[] = {SECTION("per_user", quota_user_fields), SECTION("per_key", quota_key_fields),
                                      END};

static const field review_fields[] = {CUSTOM("sample_rate", parse_review_sample, show_review_sample, "number 0-1"),
                                      END};

static const field takedowns_fields[] = {NUMBER("keep_days", takedown_days, 0, 36500, ""), END};

static const field idv_request_fields[] = {STRING("name", idv.field_name, check_member_name),
                                           STRING("id_number", idv.field_id_number, check_member_name),
                                           STRING("phone", idv.field_phone, check_member_name), END};
static const field idv_fields[] = {STRING("url", idv.url, check_optional_url),
                                   SECRET("token", idv.token, check_api_key),
                                   NUMBER("timeout_ms", idv.timeout_ms, 1, TIMEOUT_MS_MAX, "milliseconds"),
                                   SECTION("request", idv_request_fields),
                                   STRING("result_path", idv.result_path, check_json_path),
                                   STRING("verified_value", idv.verified_value, check_verdict_value),
                                   STRING("rejected_value", idv.rejected_value, check_verdict_value),
                                   STRING("reason_path", idv.reason_path, check_optional_json_path),
                                   END};
static const field identity_fields[] = {
    CUSTOM("required", parse_identity_required, show_identity_required, "auto, true or false"),
    STRING("key_file", identity_key_file, check_optional_path), SECTION("provider", idv_fields), END};

static const field minors_fields[] = {
    BOOL("enabled", minors_enabled), NUMBER("daily_minutes", minors_daily_minutes, 0, 1440, ""),
    NUMBER("daily_requests", minors_daily_requests, 0, 100000000, ""),
    CUSTOM("closed_hours", parse_closed_hours, show_closed_hours, "\"HH:MM-HH:MM\" local time, or none"), END};

static hg_status parse_log_level(walk *w, const node *n, const char *path) {
  return enum_value(w, n, path, log_level_names, 4, &w->cfg->log_level);
}

static hg_status parse_log_format(walk *w, const node *n, const char *path) {
  return enum_value(w, n, path, log_format_names, 2, &w->cfg->log_json);
}

static const field log_fields[] = {CUSTOM("level", parse_log_level, show_log_level, "debug, info, warn or error"),
                                   CUSTOM("format", parse_log_format, show_log_format, "text or json"),
                                   BOOL("access", log_access), END};

static const field reliance_fields[] = {NUMBER("reminder_minutes", reminder_minutes, 0, 1440, ""),
                                        NUMBER("pause_minutes", pause_minutes, 1, 1440, ""),
                                        CUSTOM("all_users", parse_all_users, show_all_users, "auto, true or false"),
                                        STRING("reminder", reminder_text, check_reminder), END};

static const field versions_fields[] = {BOOL("require_approval", versions_require_approval),
                                        NUMBER("lexicon_max_age_days", lexicon_max_age_days, 0, 3650, ""), END};

static const field top_fields[] = {
    STRING("listen", listen, check_listen),
    NUMBER("workers", workers, 1, 256, ""),
    SECTION("limits", limits_fields),
    SECTION("upstream", upstream_fields),
    STRING("data_dir", data_dir, check_path),
    CUSTOM("store", parse_store, show_store, "sqlite:PATH or a path"),
    STRING("lexicon", lexicon, check_optional_path),
    SECTION("auth", auth_fields),
    SECTION("policy", policy_fields),
    SECTION("classifier", classifier_fields),
    SECTION("guard", guard_fields),
    SECTION("labels", labels_fields),
    SECTION("media", media_fields),
    SECTION("audit", audit_fields),
    SECTION("strikes", strikes_fields),
    SECTION("complaints", complaints_fields),
    SECTION("takedowns", takedowns_fields),
    SECTION("review", review_fields),
    SECTION("quotas", quotas_fields),
    SECTION("identity", identity_fields),
    SECTION("minors", minors_fields),
    SECTION("reliance", reliance_fields),
    SECTION("log", log_fields),
    CUSTOM("timezone", parse_timezone, show_timezone, "UTC offset \"+HH:MM\" or UTC"),
    CUSTOM("webhooks", parse_webhooks, show_webhooks,
           "a list of {url, secret, events, timeout_ms, max_attempts, retry_base_ms, retry_max_ms}"),
    SECTION("versions", versions_fields),
    END};

#define SECTION_FIELDS_MAX 32
_Static_assert(sizeof top_fields / sizeof top_fields[0] <= SECTION_FIELDS_MAX + 1, "parse_section tracks every key");

/* Edit distance between two short keys, for "did you mean". */
static size_t distance(const char *a, size_t la, const char *b) {
  size_t lb = strlen(b), row[KEY_SHOWN_MAX + 1];
  for (size_t j = 0; j <= lb; j++)
    row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j];
      size_t best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

static hg_status unknown_key(walk *w, const node *key, const field *fields, const char *path) {
  char shown[KEY_SHOWN_MAX + 1], key_path[PATH_MAX_LEN];
  key_shown(key, shown);
  join_path(key_path, path, shown);
  const char *best = NULL;
  size_t best_distance = (size_t)-1;
  for (const field *f = fields; f->name && key->len <= KEY_SHOWN_MAX; f++) {
    size_t d = distance(key->text, key->len, f->name);
    if (d < best_distance) best_distance = d, best = f->name;
  }
  if (best && (best_distance <= 2 || best_distance * 3 <= strlen(best))) {
    char suggestion[PATH_MAX_LEN];
    join_path(suggestion, path, best);
    return fail_at(w, key, "", "unknown key '%s' (did you mean '%s'?)", key_path, suggestion);
  }
  return fail_at(w, key, "", "unknown key '%s'", key_path);
}

static hg_status parse_section(walk *w, const node *map, const field *fields, const char *path) {
  if (is_null(map)) return HG_OK; /* `limits:` with every key commented out */
  if (map->kind != NODE_MAP) return fail_at(w, map, path, "expected a mapping of keys");
  size_t first_line[SECTION_FIELDS_MAX] = {0};
  for (size_t i = 0; i + 1 < map->count; i += 2) {
    const node *key = map->items[i], *value = map->items[i + 1];
    if (key->kind != NODE_SCALAR) return fail_at(w, key, path, "keys must be plain names");
    size_t index = 0;
    const field *f = fields;
    for (; f->name; f++, index++)
      if (strlen(f->name) == key->len && !memcmp(f->name, key->text, key->len)) break;
    if (!f->name) return unknown_key(w, key, fields, path);
    char key_path[PATH_MAX_LEN];
    join_path(key_path, path, f->name);
    if (first_line[index]) return fail_at(w, key, key_path, "duplicate key (first at line %zu)", first_line[index]);
    first_line[index] = key->line;

    unsigned char *member = (unsigned char *)w->cfg + f->offset;
    hg_status s = HG_OK;
    unsigned long long number = 0;
    switch (f->kind) {
    case FIELD_SECTION: s = parse_section(w, value, f->children, key_path); break;
    case FIELD_CUSTOM: s = f->custom(w, value, key_path); break;
    case FIELD_NUMBER:
      if ((s = whole_number(w, value, key_path, f->min, f->max, f->unit, &number))) break;
      if (f->size == sizeof(size_t)) {
        size_t v = (size_t)number;
        memcpy(member, &v, sizeof v);
      } else {
        unsigned v = (unsigned)number;
        memcpy(member, &v, sizeof v);
      }
      break;
    case FIELD_BOOL: {
      int v = -1;
      if (value->kind == NODE_SCALAR && value->plain) {
        if (!strcmp(value->text, "true") || !strcmp(value->text, "True") || !strcmp(value->text, "TRUE")) v = 1;
        if (!strcmp(value->text, "false") || !strcmp(value->text, "False") || !strcmp(value->text, "FALSE")) v = 0;
      }
      if (v < 0)
        s = fail_at(w, value, key_path, "expected true or false");
      else
        memcpy(member, &v, sizeof v);
      break;
    }
    case FIELD_STRING: {
      char buf[1024];
      if ((s = string_value(w, value, key_path, buf, f->size))) break;
      const char *problem = f->check ? f->check(buf) : NULL;
      if (problem)
        s = fail_at(w, value, key_path, "%s", problem);
      else
        memcpy(member, buf, strlen(buf) + 1);
      break;
    }
    }
    if (s) return s;
  }
  return HG_OK;
}

_Static_assert(sizeof(((hg_config *)0)->refusal) <= 1024, "FIELD_STRING's buffer holds every string member");

/* ---- entry points ------------------------------------------------------------------------------------------- */

hg_status hg_config_parse(hg_config *cfg, const char *text, size_t len, const char *name, hg_error *err) {
  if (!cfg || (!text && len)) return hg_fail(err, HG_ERR_INVALID, 0, 0, "config: bad arguments");
  if (!name) name = "<config>";
  if (len > CONFIG_TEXT_MAX)
    return hg_fail(err, HG_ERR_LIMIT, 0, 0, "%s: larger than %zu KiB; this is not a hegui configuration", name,
                   CONFIG_TEXT_MAX >> 10);
  loader l = {.name = name, .text = text ? text : "", .len = len, .err = err};
  hg_status s = load_tree(&l);
  hg_config work = *cfg;
  walk w = {.name = name, .text = l.text, .len = len, .err = err, .cfg = &work};
  if (!s && l.root) s = parse_section(&w, l.root, top_fields, "");
  node_free(l.root);
  if (s) return s;

  /* the store follows data_dir unless it was set apart, in this file or before */
  if (!s && work.profile == HG_PROFILE_DRAFT_2023 && work.takedown_days && work.takedown_days < 90)
    s = hg_fail(err, HG_ERR_INVALID, 0, 0,
                "%s: takedowns.keep_days: %u days is less than the 3 months profile draft-2023 requires (draft Art. "
                "15); set 90 or more, or 0 to keep takedowns for good",
                name, work.takedown_days);
  if (s) return s;
  char old_default[sizeof cfg->store_url];
  default_store_url(cfg->data_dir, old_default, sizeof old_default);
  if (!w.store_set && !strcmp(cfg->store_url, old_default))
    default_store_url(work.data_dir, work.store_url, sizeof work.store_url);
  *cfg = work;
  return HG_OK;
}

hg_status hg_config_load(hg_config *cfg, const char *path, hg_error *err) {
  if (!cfg || !path) return hg_fail(err, HG_ERR_INVALID, 0, 0, "config: bad arguments");
  FILE *f = fopen(path, "rb");
  if (!f) return hg_fail(err, HG_ERR_IO, 0, 0, "%s: %s", path, strerror(errno));
  char *text = malloc(CONFIG_TEXT_MAX + 1);
  if (!text) return fclose(f), hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  size_t len = fread(text, 1, CONFIG_TEXT_MAX + 1, f);
  int bad = ferror(f);
  fclose(f);
  hg_status s =
      bad ? hg_fail(err, HG_ERR_IO, 0, 0, "%s: read error", path) : hg_config_parse(cfg, text, len, path, err);
  free(text);
  return s;
}

/* ---- the key table, walked: `hegui config keys|show|check` and the hegui.yaml(5) page ---------------------- */

static void describe_type(const field *f, char *out, size_t cap) {
  switch (f->kind) {
  case FIELD_SECTION: snprintf(out, cap, "section"); break;
  case FIELD_BOOL: snprintf(out, cap, "true or false"); break;
  case FIELD_STRING: snprintf(out, cap, "string, up to %zu bytes", f->size - 1); break;
  case FIELD_NUMBER:
    snprintf(out, cap, "whole number%s%s %llu-%llu", *f->unit ? " of " : "", f->unit, f->min, f->max);
    break;
  case FIELD_CUSTOM: snprintf(out, cap, "%s", f->values ? f->values : ""); break;
  }
}

static void show_value(const field *f, const hg_config *cfg, FILE *out) {
  const unsigned char *member = (const unsigned char *)cfg + f->offset;
  switch (f->kind) {
  case FIELD_NUMBER:
    if (f->size == sizeof(size_t)) {
      size_t v;
      memcpy(&v, member, sizeof v);
      fprintf(out, "%zu", v);
    } else {
      unsigned v;
      memcpy(&v, member, sizeof v);
      fprintf(out, "%u", v);
    }
    break;
  case FIELD_BOOL: {
    int v;
    memcpy(&v, member, sizeof v);
    fputs(v ? "true" : "false", out);
    break;
  }
  case FIELD_STRING:
    /* a secret is masked, but whether one is set shows */
    put_quoted(out, f->secret && *(const char *)member ? "********" : (const char *)member);
    break;
  case FIELD_CUSTOM: f->show(cfg, out); break;
  case FIELD_SECTION: break;
  }
}

static hg_status walk_keys(const field *fields, const char *path, unsigned depth, const hg_config *cfg,
                           hg_config_key_fn fn, void *ctx) {
  for (const field *f = fields; f->name; f++) {
    char key_path[PATH_MAX_LEN], type[160];
    join_path(key_path, path, f->name);
    describe_type(f, type, sizeof type);
    char *value = NULL;
    size_t value_len = 0;
    if (cfg && f->kind != FIELD_SECTION && (f->kind != FIELD_CUSTOM || f->show)) {
      FILE *out = open_memstream(&value, &value_len);
      if (!out) return HG_ERR_NOMEM;
      show_value(f, cfg, out);
      if (fclose(out)) return free(value), HG_ERR_NOMEM;
    }
    hg_config_key key = {.path = key_path,
                         .name = f->name,
                         .depth = depth,
                         .section = f->kind == FIELD_SECTION,
                         .secret = f->secret,
                         .alias = f->kind == FIELD_CUSTOM && !f->show,
                         .type = type,
                         .value = value};
    fn(&key, ctx);
    free(value);
    if (f->kind == FIELD_SECTION) {
      hg_status s = walk_keys(f->children, key_path, depth + 1, cfg, fn, ctx);
      if (s) return s;
    }
  }
  return HG_OK;
}

hg_status hg_config_keys(const hg_config *cfg, hg_config_key_fn fn, void *ctx) {
  if (!fn) return HG_ERR_INVALID;
  return walk_keys(top_fields, "", 0, cfg, fn, ctx);
}
