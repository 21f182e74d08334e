/* table.c — CSV (RFC 4180), TSV and JSON Lines reading for labelled examples.
 *
 * CSV follows RFC 4180 (quoted fields may hold commas, line breaks and doubled quotes; CRLF or LF) and is lenient
 * only where writers commonly are: a quote inside an unquoted field is kept as text. TSV is the IANA form: no
 * quoting, fields cannot hold tabs or line breaks. Each JSON Lines line is one object. Values are copied into one
 * scratch buffer, checked to be UTF-8 and bounded in size before the callback sees them. */
#include "table.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/error.h"
#include "hegui/text.h"

int hg_table_format_from_name(const char *name, hg_table_format *out) {
  const char *dot = strrchr(name, '.');
  if (!dot) return -1;
  if (!strcasecmp(dot, ".csv"))
    *out = HG_TABLE_CSV;
  else if (!strcasecmp(dot, ".tsv") || !strcasecmp(dot, ".tab"))
    *out = HG_TABLE_TSV;
  else if (!strcasecmp(dot, ".jsonl") || !strcasecmp(dot, ".ndjson") || !strcasecmp(dot, ".json"))
    *out = HG_TABLE_JSONL;
  else
    return -1;
  return 0;
}

/* One record's fields: offsets into a scratch buffer that grows as needed (never beyond the input size plus one
 * NUL per field, so its size is bounded by the input). */
typedef struct record {
  char *buf;
  size_t used, cap;
  size_t *start, *len;
  size_t count, field_cap;
} record;

static hg_status rec_reserve(record *r, size_t more, hg_error *err) {
  if (r->used + more <= r->cap) return HG_OK;
  size_t ncap = r->cap ? r->cap : 4096;
  while (ncap < r->used + more)
    ncap *= 2;
  char *nb = realloc(r->buf, ncap);
  if (!nb) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  r->buf = nb;
  r->cap = ncap;
  return HG_OK;
}

static hg_status rec_field(record *r, const char *name, size_t line, hg_error *err) {
  if (r->count == r->field_cap) {
    if (r->field_cap >= HG_TABLE_MAX_FIELDS)
      return hg_fail(err, HG_ERR_LIMIT, line, 0, "%s:%zu: more than %d fields in a record", name, line,
                     HG_TABLE_MAX_FIELDS);
    size_t nc = r->field_cap ? r->field_cap * 2 : 16;
    size_t *ns = realloc(r->start, nc * sizeof *ns);
    if (!ns) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
    r->start = ns;
    size_t *nl = realloc(r->len, nc * sizeof *nl);
    if (!nl) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
    r->len = nl;
    r->field_cap = nc;
  }
  r->start[r->count] = r->used;
  r->len[r->count] = 0;
  r->count++;
  return HG_OK;
}

static hg_status rec_put(record *r, const char *s, size_t n, const char *name, size_t line, hg_error *err) {
  if (r->len[r->count - 1] + n > HG_TABLE_MAX_VALUE)
    return hg_fail(err, HG_ERR_LIMIT, line, 0, "%s:%zu: a value longer than %u bytes", name, line, HG_TABLE_MAX_VALUE);
  hg_status st = rec_reserve(r, n + 1, err);
  if (st) return st;
  memcpy(r->buf + r->used, s, n);
  r->used += n;
  r->len[r->count - 1] += n;
  return HG_OK;
}

static hg_status rec_end_field(record *r, hg_error *err) {
  hg_status st = rec_reserve(r, 1, err);
  if (st) return st;
  r->buf[r->used++] = 0;
  return HG_OK;
}

/* Parses one CSV record starting at *pos; advances *pos and *line past it. */
static hg_status csv_record(const char *d, size_t len, size_t *pos, size_t *line, record *r, const char *name,
                            hg_error *err) {
  size_t p = *pos, start_line = *line;
  hg_status st;
  r->used = r->count = 0;
  for (;;) {
    if ((st = rec_field(r, name, start_line, err))) return st;
    if (p < len && d[p] == '"') {
      p++;
      for (;;) {
        if (p >= len)
          return hg_fail(err, HG_ERR_PARSE, start_line, p, "%s:%zu: a quoted field is not closed", name, start_line);
        size_t q = p;
        while (q < len && d[q] != '"')
          q++;
        for (size_t k = p; k < q; k++)
          if (d[k] == '\n') ++*line;
        if ((st = rec_put(r, d + p, q - p, name, start_line, err))) return st;
        p = q;
        if (p >= len) continue;
        if (p + 1 < len && d[p + 1] == '"') {
          if ((st = rec_put(r, "\"", 1, name, start_line, err))) return st;
          p += 2;
          continue;
        }
        p++; /* the closing quote */
        break;
      }
      if (p < len && d[p] != ',' && d[p] != '\n' && !(d[p] == '\r' && p + 1 < len && d[p + 1] == '\n'))
        return hg_fail(err, HG_ERR_PARSE, *line, p, "%s:%zu: text after the closing quote of a field", name, *line);
    } else {
      size_t q = p;
      while (q < len && d[q] != ',' && d[q] != '\n')
        q++;
      size_t end = q;
      if (q < len && d[q] == '\n' && end > p && d[end - 1] == '\r') end--;
      if ((st = rec_put(r, d + p, end - p, name, start_line, err))) return st;
      p = q;
    }
    if ((st = rec_end_field(r, err))) return st;
    if (p < len && d[p] == ',') {
      p++;
      continue;
    }
    if (p < len && d[p] == '\r') p++;
    if (p < len && d[p] == '\n') {
      p++;
      ++*line;
    }
    break;
  }
  *pos = p;
  return HG_OK;
}

/* Parses one TSV line (without its line break). */
static hg_status tsv_record(const char *d, size_t len, record *r, const char *name, size_t line, hg_error *err) {
  hg_status st;
  r->used = r->count = 0;
  size_t p = 0;
  for (;;) {
    size_t q = p;
    while (q < len && d[q] != '\t')
      q++;
    if ((st = rec_field(r, name, line, err)) || (st = rec_put(r, d + p, q - p, name, line, err)) ||
        (st = rec_end_field(r, err)))
      return st;
    if (q >= len) break;
    p = q + 1;
  }
  return HG_OK;
}

static hg_status check_utf8(const char *s, size_t n, const char *name, size_t line, hg_error *err) {
  size_t bad;
  if (hg_utf8_validate(s, n, &bad))
    return hg_fail(err, HG_ERR_UTF8, line, bad, "%s:%zu: invalid UTF-8 at byte %zu of a value", name, line, bad);
  return HG_OK;
}

/* Maps the header's names to the wanted columns. */
static hg_status map_header(const record *r, const char *name, const char *const *columns, size_t ncols, size_t *index,
                            hg_error *err) {
  for (size_t c = 0; c < ncols; c++) {
    index[c] = (size_t)-1;
    for (size_t f = 0; f < r->count; f++)
      if (!strcmp(r->buf + r->start[f], columns[c])) {
        index[c] = f;
        break;
      }
    if (index[c] == (size_t)-1)
      return hg_fail(err, HG_ERR_PARSE, 1, 0, "%s:1: no column '%.60s' in the header", name, columns[c]);
  }
  return HG_OK;
}

static hg_status deliver(const record *r, size_t header_fields, const size_t *index, size_t ncols, const char *name,
                         size_t line, hg_table_row_fn fn, void *ctx, const char **values, size_t *lens, hg_error *err) {
  if (r->count != header_fields)
    return hg_fail(err, HG_ERR_PARSE, line, 0, "%s:%zu: %zu fields, the header has %zu", name, line, r->count,
                   header_fields);
  for (size_t c = 0; c < ncols; c++) {
    values[c] = r->buf + r->start[index[c]];
    lens[c] = r->len[index[c]];
    hg_status st = check_utf8(values[c], lens[c], name, line, err);
    if (st) return st;
  }
  return fn(ctx, line, values, lens, err);
}

static hg_status read_delimited(const char *d, size_t len, int csv, const char *name, const char *const *columns,
                                size_t ncols, hg_table_row_fn fn, void *ctx, record *r, const char **values,
                                size_t *lens, size_t *index, hg_error *err) {
  size_t pos = 0, line = 1, header_fields = 0;
  int have_header = 0;
  hg_status st;
  if (len >= 3 && !memcmp(d, "\xEF\xBB\xBF", 3)) pos = 3;
  while (pos < len) {
    size_t rec_line = line;
    if (d[pos] == '\n' || (d[pos] == '\r' && pos + 1 < len && d[pos + 1] == '\n')) { /* a blank line */
      pos += d[pos] == '\r' ? 2 : 1;
      line++;
      continue;
    }
    if (csv) {
      if ((st = csv_record(d, len, &pos, &line, r, name, err))) return st;
    } else {
      const char *nl = memchr(d + pos, '\n', len - pos);
      size_t end = nl ? (size_t)(nl - d) : len, stop = end;
      if (stop > pos && d[stop - 1] == '\r') stop--;
      if ((st = tsv_record(d + pos, stop - pos, r, name, line, err))) return st;
      pos = nl ? end + 1 : len;
      line++;
    }
    if (!have_header) {
      for (size_t f = 0; f < r->count; f++)
        if ((st = check_utf8(r->buf + r->start[f], r->len[f], name, rec_line, err))) return st;
      if ((st = map_header(r, name, columns, ncols, index, err))) return st;
      header_fields = r->count;
      have_header = 1;
      continue;
    }
    if ((st = deliver(r, header_fields, index, ncols, name, rec_line, fn, ctx, values, lens, err))) return st;
  }
  if (!have_header) return hg_fail(err, HG_ERR_PARSE, 1, 0, "%s: empty file, no header", name);
  return HG_OK;
}

/* One JSON value as text: strings as they are, numbers printed, booleans as "true"/"false". */
static hg_status json_value_text(json_t *v, record *r, const char *name, size_t line, const char *key, hg_error *err) {
  char num[64];
  const char *s = NULL;
  size_t n = 0;
  if (json_is_string(v)) {
    s = json_string_value(v);
    n = json_string_length(v);
  } else if (json_is_integer(v)) {
    n = (size_t)snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
    s = num;
  } else if (json_is_real(v)) {
    n = (size_t)snprintf(num, sizeof num, "%.17g", json_real_value(v));
    s = num;
  } else if (json_is_boolean(v)) {
    s = json_is_true(v) ? "true" : "false";
    n = strlen(s);
  } else
    return hg_fail(err, HG_ERR_PARSE, line, 0, "%s:%zu: '%.60s' is not a string, number or boolean", name, line, key);
  hg_status st = rec_field(r, name, line, err);
  if (!st) st = rec_put(r, s, n, name, line, err);
  if (!st) st = rec_end_field(r, err);
  return st;
}

static hg_status read_jsonl(const char *d, size_t len, const char *name, const char *const *columns, size_t ncols,
                            hg_table_row_fn fn, void *ctx, record *r, const char **values, size_t *lens,
                            hg_error *err) {
  size_t pos = 0, line = 1;
  if (len >= 3 && !memcmp(d, "\xEF\xBB\xBF", 3)) pos = 3;
  for (; pos < len; line++) {
    const char *nl = memchr(d + pos, '\n', len - pos);
    size_t end = nl ? (size_t)(nl - d) : len;
    size_t a = pos, b = end;
    pos = nl ? end + 1 : len;
    while (a < b && (d[a] == ' ' || d[a] == '\t' || d[a] == '\r'))
      a++;
    while (b > a && (d[b - 1] == ' ' || d[b - 1] == '\t' || d[b - 1] == '\r'))
      b--;
    if (a == b) continue;
    json_error_t jerr;
    json_t *obj = json_loadb(d + a, b - a, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!obj)
      return hg_fail(err, HG_ERR_PARSE, line, a, "%s:%zu: not JSON: %.120s (column %d)", name, line, jerr.text,
                     jerr.column);
    hg_status st = HG_OK;
    if (!json_is_object(obj))
      st = hg_fail(err, HG_ERR_PARSE, line, a, "%s:%zu: a line must be a JSON object", name, line);
    r->used = r->count = 0;
    for (size_t c = 0; !st && c < ncols; c++) {
      json_t *v = json_object_get(obj, columns[c]);
      if (!v || json_is_null(v))
        st = hg_fail(err, HG_ERR_PARSE, line, a, "%s:%zu: no '%.60s' in the object", name, line, columns[c]);
      else
        st = json_value_text(v, r, name, line, columns[c], err);
    }
    json_decref(obj);
    if (st) return st;
    for (size_t c = 0; c < ncols; c++) {
      values[c] = r->buf + r->start[c];
      lens[c] = r->len[c];
    }
    if ((st = fn(ctx, line, values, lens, err))) return st;
  }
  return HG_OK;
}

hg_status hg_table_read(const char *data, size_t len, hg_table_format fmt, const char *name, const char *const *columns,
                        size_t ncols, hg_table_row_fn fn, void *ctx, hg_error *err) {
  if (ncols < 1 || ncols > HG_TABLE_MAX_FIELDS) return hg_fail(err, HG_ERR_INVALID, 0, 0, "bad column list");
  record r = {0};
  const char **values = calloc(ncols, sizeof *values);
  size_t *lens = calloc(ncols, sizeof *lens), *index = calloc(ncols, sizeof *index);
  hg_status st;
  if (!values || !lens || !index)
    st = hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  else if (fmt == HG_TABLE_JSONL)
    st = read_jsonl(data, len, name, columns, ncols, fn, ctx, &r, values, lens, err);
  else
    st = read_delimited(data, len, fmt == HG_TABLE_CSV, name, columns, ncols, fn, ctx, &r, values, lens, index, err);
  free(values);
  free(lens);
  free(index);
  free(r.buf);
  free(r.start);
  free(r.len);
  return st;
}
