/* markdown.c — labels in Markdown: a line `AIGC: '<label>'` in the YAML front matter (a front matter is created
 * when the file has none). Read from every top-level AIGC: line, single-, double- or not quoted. The content hash
 * covers the file without those lines, and without the delimiters of a front matter that holds nothing else, so
 * that a file labelled and a file never labelled hash alike. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "label/carrier.h"

#define VALUE_MAX 4096

static int sniff(const uint8_t *d, size_t n, const char *path) {
  (void)d;
  (void)n;
  if (!path) return 0;
  const char *dot = strrchr(path, '.');
  return dot && (!strcasecmp(dot, ".md") || !strcasecmp(dot, ".markdown"));
}

typedef struct front {
  int present;
  size_t open_end;    /* end of the opening "---" line */
  size_t close_start; /* start of the closing line */
  size_t close_end;   /* end of the closing line */
  int others;         /* lines other than AIGC: lines */
} front;

static size_t line_end(const uint8_t *d, size_t n, size_t at) {
  const uint8_t *nl = memchr(d + at, '\n', n - at);
  return nl ? (size_t)(nl - d) + 1 : n;
}

static int is_delimiter(const uint8_t *d, size_t start, size_t end, const char *mark) {
  size_t len = end - start;
  while (len && (d[start + len - 1] == '\n' || d[start + len - 1] == '\r' || d[start + len - 1] == ' '))
    len--;
  return len == 3 && !memcmp(d + start, mark, 3);
}

static int is_label_line(const uint8_t *d, size_t start, size_t end) {
  return end - start >= 5 && !strncasecmp((const char *)d + start, "aigc", 4) &&
         (d[start + 4] == ':' || d[start + 4] == ' ');
}

static void find_front(const uint8_t *d, size_t n, front *f) {
  memset(f, 0, sizeof *f);
  if (n < 3 || !is_delimiter(d, 0, line_end(d, n, 0), "---")) return;
  f->open_end = line_end(d, n, 0);
  for (size_t at = f->open_end; at < n;) {
    size_t end = line_end(d, n, at);
    if (is_delimiter(d, at, end, "---") || is_delimiter(d, at, end, "...")) {
      f->present = 1;
      f->close_start = at;
      f->close_end = end;
      return;
    }
    if (!is_label_line(d, at, end)) f->others++;
    at = end;
  }
}

/* The YAML scalar after "AIGC:", unquoted into out. */
static size_t label_value(const uint8_t *d, size_t start, size_t end, char *out) {
  size_t at = start + 4;
  while (at < end && d[at] == ' ')
    at++;
  if (at < end && d[at] == ':') at++;
  while (at < end && (d[at] == ' ' || d[at] == '\t'))
    at++;
  while (end > at && (d[end - 1] == '\n' || d[end - 1] == '\r' || d[end - 1] == ' ' || d[end - 1] == '\t'))
    end--;
  size_t k = 0;
  if (at < end && (d[at] == '\'' || d[at] == '"')) {
    uint8_t q = d[at++];
    while (at < end && k + 1 < VALUE_MAX) {
      if (q == '\'' && d[at] == '\'' && at + 1 < end && d[at + 1] == '\'') { /* '' is one quote */
        out[k++] = '\'';
        at += 2;
      } else if (q == '"' && d[at] == '\\' && at + 1 < end) {
        out[k++] = (char)d[at + 1];
        at += 2;
      } else if (d[at] == q) {
        break;
      } else {
        out[k++] = (char)d[at++];
      }
    }
  } else {
    while (at < end && k + 1 < VALUE_MAX)
      out[k++] = (char)d[at++];
  }
  out[k] = '\0';
  return k;
}

static hg_status scan(const uint8_t *d, size_t n, lf_scan *s, hg_error *err) {
  front f;
  find_front(d, n, &f);
  if (!f.present) {
    lf_hash(s, d, n);
    return HG_OK;
  }
  char *value = malloc(VALUE_MAX);
  if (!value) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  if (f.others) lf_hash(s, d, f.open_end);
  for (size_t at = f.open_end; at < f.close_start;) {
    size_t end = line_end(d, n, at);
    if (is_label_line(d, at, end))
      lf_found_text(s, "markdown front matter AIGC", at, value, label_value(d, at, end, value));
    else
      lf_hash(s, d + at, end - at);
    at = end;
  }
  free(value);
  if (f.others) lf_hash(s, d + f.close_start, f.close_end - f.close_start);
  lf_hash(s, d + f.close_end, n - f.close_end);
  return HG_OK;
}

static hg_status put_line(lf_buf *out, const char *label_json) {
  hg_status st = lf_put(out, "AIGC: '", 7);
  for (const char *p = label_json; *p && !st; p++) /* YAML single quotes: only ' needs escaping, as '' */
    st = *p == '\'' ? lf_put(out, "''", 2) : lf_put(out, p, 1);
  if (!st) st = lf_put(out, "'\n", 2);
  return st;
}

static hg_status put_label(const uint8_t *d, size_t n, const char *label_json, lf_buf *out, hg_error *err) {
  front f;
  find_front(d, n, &f);
  hg_status st;
  if (!f.present) {
    st = lf_put(out, "---\n", 4);
    if (!st) st = put_line(out, label_json);
    if (!st) st = lf_put(out, "---\n", 4);
    if (!st) st = lf_put(out, d, n);
  } else {
    st = lf_put(out, d, f.open_end);
    for (size_t at = f.open_end; at < f.close_start && !st;) {
      size_t end = line_end(d, n, at);
      if (!is_label_line(d, at, end)) st = lf_put(out, d + at, end - at);
      if (!st && end == f.close_start && d[end - 1] != '\n') st = lf_put(out, "\n", 1);
      at = end;
    }
    if (!st) st = put_line(out, label_json);
    if (!st) st = lf_put(out, d + f.close_start, n - f.close_start);
  }
  if (st) return hg_fail(err, st, 0, 0, "out of memory");
  return HG_OK;
}

const lf_format lf_markdown = {"markdown", sniff, scan, put_label};
