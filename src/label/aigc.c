/* aigc.c — the seven-field AIGC object of GB 45438-2025 Appendix E as a value: a strict writer (the wrapped form,
 * Appendix E's order and character set) and a tolerant reader (wrapped or not, inside a JSON string, member names
 * in any case), as the standard asks of writers and readers. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/error.h"
#include "hegui/filelabel.h"

/* the forms carriers produce nest at most: a string holding {"AIGC": {...}} */
#define AIGC_NESTING_MAX 4

static const char *const FIELD_NAMES[HG_AIGC_FIELDS] = {
    "Label", "ContentProducer", "ProduceID", "ReservedCode1", "ContentPropagator", "PropagateID", "ReservedCode2"};

const char *hg_aigc_field_name(enum hg_aigc_field field) {
  return (unsigned)field < HG_AIGC_FIELDS ? FIELD_NAMES[field] : "?";
}

/* "" or Appendix E characters only (0x21, 0x23-0x5B, 0x5D-0x7E), at most HG_AIGC_VALUE_MAX bytes */
static int value_allowed(const char *v, size_t len) {
  if (len > HG_AIGC_VALUE_MAX) return 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)v[i];
    if (c < 0x21 || c > 0x7E || c == '"' || c == '\\') return 0;
  }
  return 1;
}

static json_t *member_nocase(json_t *obj, const char *name) {
  const char *key;
  json_t *value;
  json_object_foreach(obj, key, value) {
    if (!strcasecmp(key, name)) return value;
  }
  return NULL;
}

static hg_status find_object(json_t *node, int depth, json_t *owned, json_t **label, hg_error *err) {
  if (depth > AIGC_NESTING_MAX) return hg_fail(err, HG_ERR_PARSE, 0, 0, "AIGC label nested too deeply");
  if (json_is_string(node)) {
    json_t *inner = json_loadb(json_string_value(node), json_string_length(node), JSON_REJECT_DUPLICATES, NULL);
    if (!inner) return hg_fail(err, HG_ERR_PARSE, 0, 0, "AIGC value is a string that is not JSON");
    json_array_append_new(owned, inner);
    node = inner;
  }
  if (!json_is_object(node)) return hg_fail(err, HG_ERR_PARSE, 0, 0, "AIGC label is not a JSON object");
  if (member_nocase(node, "Label")) {
    *label = node;
    return HG_OK;
  }
  json_t *found = NULL;
  const char *key;
  json_t *value;
  json_object_foreach(node, key, value) {
    if (!strcasestr(key, "aigc")) continue;
    if (found) return hg_fail(err, HG_ERR_PARSE, 0, 0, "two AIGC members in one label object");
    found = value;
  }
  if (!found) return hg_fail(err, HG_ERR_PARSE, 0, 0, "no AIGC label (no \"Label\" or \"AIGC\" member)");
  return find_object(found, depth + 1, owned, label, err);
}

hg_status hg_aigc_parse(const char *json, size_t len, hg_aigc *out, hg_error *err) {
  memset(out, 0, sizeof *out);
  json_error_t jerr;
  json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
  if (!root)
    return hg_fail(err, HG_ERR_PARSE, 0, (size_t)(jerr.position > 0 ? jerr.position : 0), "AIGC label is not JSON: %s",
                   jerr.text);
  json_t *owned = json_array();
  json_t *label = NULL;
  hg_status s = owned ? find_object(root, 0, owned, &label, err) : hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  for (int f = 0; !s && f < HG_AIGC_FIELDS; f++) {
    json_t *v = member_nocase(label, FIELD_NAMES[f]);
    if (!v) continue;
    if (!json_is_string(v) && !json_is_integer(v)) {
      s = hg_fail(err, HG_ERR_CORRUPT, 0, 0, "AIGC field %s is not a string", FIELD_NAMES[f]);
      break;
    }
    char number[24];
    const char *text = json_string_value(v);
    size_t n = json_string_length(v);
    if (json_is_integer(v)) { /* "Label": 1 is common enough among other writers to accept */
      n = (size_t)snprintf(number, sizeof number, "%lld", (long long)json_integer_value(v));
      text = number;
    }
    if (!value_allowed(text, n) || strlen(text) != n) {
      s = hg_fail(err, HG_ERR_CORRUPT, 0, 0, "AIGC field %s holds bytes Appendix E does not allow", FIELD_NAMES[f]);
      break;
    }
    memcpy(out->value[f], text, n + 1);
  }
  if (!s && !out->value[HG_AIGC_LABEL][0]) s = hg_fail(err, HG_ERR_CORRUPT, 0, 0, "AIGC label has an empty Label");
  json_decref(owned);
  json_decref(root);
  return s;
}

hg_status hg_aigc_format(const hg_aigc *label, char **json, hg_error *err) {
  *json = NULL;
  const char *l = label->value[HG_AIGC_LABEL];
  if (strcmp(l, "1") && strcmp(l, "2") && strcmp(l, "3"))
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "AIGC Label must be \"1\", \"2\" or \"3\", not \"%.16s\"", l);
  size_t cap = 32;
  for (int f = 0; f < HG_AIGC_FIELDS; f++) {
    size_t n = strnlen(label->value[f], HG_AIGC_VALUE_MAX + 1);
    if (!value_allowed(label->value[f], n))
      return hg_fail(err, HG_ERR_INVALID, 0, 0,
                     "AIGC %s must be at most %d printable ASCII bytes without space, '\"' or '\\'", FIELD_NAMES[f],
                     HG_AIGC_VALUE_MAX);
    cap += strlen(FIELD_NAMES[f]) + n + 8;
  }
  /* values need no escaping (the character set has no '"' or '\\'), so the object is printed directly */
  char *buf = malloc(cap);
  if (!buf) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  size_t at = (size_t)snprintf(buf, cap, "{\"AIGC\":{");
  for (int f = 0; f < HG_AIGC_FIELDS; f++)
    at += (size_t)snprintf(buf + at, cap - at, "%s\"%s\":\"%s\"", f ? "," : "", FIELD_NAMES[f], label->value[f]);
  snprintf(buf + at, cap - at, "}}");
  *json = buf;
  return HG_OK;
}

int hg_aigc_equal(const hg_aigc *a, const hg_aigc *b) {
  for (int f = 0; f < HG_AIGC_FIELDS; f++)
    if (strcmp(a->value[f], b->value[f])) return 0;
  return 1;
}
