/* pdf.c — labels in PDF: the document information dictionary's key /AIGC, written by an incremental update (a new
 * revision of the Info object, an xref section and a trailer appended), so that no byte of the original changes.
 *
 * hegui's update is bracketed by the comments "%hegui-aigc-begin" and "%hegui-aigc-end"; the content hash leaves
 * those ranges out, and labelling again replaces hegui's update when it is the last one (overwrite, never append).
 * The reader follows the last /Info reference in the file (the newest trailer or cross-reference stream) to the
 * newest definition of that object; an Info dictionary inside a compressed object stream is not read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "label/carrier.h"

static const char BEGIN[] = "\n%hegui-aigc-begin\n";
static const char END[] = "%hegui-aigc-end\n";
#define DEPTH_MAX 32
#define STRING_MAX 4096

static int sniff(const uint8_t *d, size_t n, const char *path) {
  (void)path;
  return n >= 5 && !memcmp(d, "%PDF-", 5);
}

static int is_ws(uint8_t c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0; }
static int is_delim(uint8_t c) { return strchr("()<>[]{}/%", c) != NULL; }
static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

static size_t skip_ws(const uint8_t *d, size_t n, size_t at) {
  while (at < n) {
    if (is_ws(d[at]))
      at++;
    else if (d[at] == '%')
      while (at < n && d[at] != '\n' && d[at] != '\r')
        at++;
    else
      break;
  }
  return at;
}

/* Reads an unsigned integer token at at; returns the position after it or 0. */
static size_t read_uint(const uint8_t *d, size_t n, size_t at, unsigned long *v) {
  size_t start = at;
  *v = 0;
  while (at < n && is_digit(d[at]) && at - start < 10)
    *v = *v * 10 + (unsigned long)(d[at++] - '0');
  return at > start && (at >= n || !is_digit(d[at])) ? at : 0;
}

/* Skips one object (string, dictionary, array, name, number, keyword, "N G R"); returns the end or 0 on error. */
static size_t skip_value(const uint8_t *d, size_t n, size_t at, int depth) {
  if (depth > DEPTH_MAX) return 0;
  at = skip_ws(d, n, at);
  if (at >= n) return 0;
  if (d[at] == '(') {
    int nest = 0;
    for (; at < n; at++) {
      if (d[at] == '\\')
        at++;
      else if (d[at] == '(')
        nest++;
      else if (d[at] == ')' && --nest == 0)
        return at + 1;
    }
    return 0;
  }
  if (d[at] == '<' && at + 1 < n && d[at + 1] == '<') {
    at += 2;
    for (;;) {
      at = skip_ws(d, n, at);
      if (at + 1 < n && d[at] == '>' && d[at + 1] == '>') return at + 2;
      size_t next = skip_value(d, n, at, depth + 1);
      if (!next) return 0;
      at = next;
    }
  }
  if (d[at] == '<') {
    const uint8_t *gt = memchr(d + at, '>', n - at);
    return gt ? (size_t)(gt - d) + 1 : 0;
  }
  if (d[at] == '[') {
    at++;
    for (;;) {
      at = skip_ws(d, n, at);
      if (at < n && d[at] == ']') return at + 1;
      size_t next = skip_value(d, n, at, depth + 1);
      if (!next) return 0;
      at = next;
    }
  }
  if (d[at] == '/')
    at++;
  else if (is_delim(d[at]))
    return 0;
  size_t start = at;
  while (at < n && !is_ws(d[at]) && !is_delim(d[at]))
    at++;
  if (at == start && d[start - 1] != '/') return 0;
  /* an indirect reference: N G R */
  unsigned long v;
  if (start < n && is_digit(d[start]) && read_uint(d, n, start, &v) == at) {
    size_t g = skip_ws(d, n, at), g_end = read_uint(d, n, g, &v);
    if (g_end) {
      size_t r = skip_ws(d, n, g_end);
      if (r < n && d[r] == 'R' && (r + 1 >= n || is_ws(d[r + 1]) || is_delim(d[r + 1]))) return r + 1;
    }
  }
  return at;
}

/* Decodes a PDF string object (literal or hex; UTF-16BE with a BOM reduced to ASCII) into out. */
static long decode_string(const uint8_t *d, size_t start, size_t end, char *out, size_t cap) {
  uint8_t *raw = malloc(end - start + 1);
  if (!raw) return -1;
  size_t k = 0;
  if (d[start] == '(') {
    for (size_t i = start + 1; i + 1 < end; i++) {
      uint8_t c = d[i];
      if (c == '\\' && i + 2 < end) {
        c = d[++i];
        if (c >= '0' && c <= '7') {
          unsigned v = 0;
          for (int j = 0; j < 3 && i < end - 1 && d[i] >= '0' && d[i] <= '7'; j++)
            v = v * 8 + (unsigned)(d[i++] - '0');
          i--;
          c = (uint8_t)v;
        } else if (c == 'n')
          c = '\n';
        else if (c == 'r')
          c = '\r';
        else if (c == 't')
          c = '\t';
        else if (c == '\r' || c == '\n')
          continue; /* a line continuation */
      }
      raw[k++] = c;
    }
  } else {
    int hi = -1;
    for (size_t i = start + 1; i < end - 1; i++) {
      int v = d[i] >= '0' && d[i] <= '9'   ? d[i] - '0'
              : d[i] >= 'a' && d[i] <= 'f' ? d[i] - 'a' + 10
              : d[i] >= 'A' && d[i] <= 'F' ? d[i] - 'A' + 10
                                           : -1;
      if (v < 0) continue;
      if (hi < 0)
        hi = v;
      else {
        raw[k++] = (uint8_t)(hi * 16 + v);
        hi = -1;
      }
    }
    if (hi >= 0) raw[k++] = (uint8_t)(hi * 16);
  }
  size_t m = 0;
  int utf16 = k >= 2 && raw[0] == 0xFE && raw[1] == 0xFF;
  for (size_t i = utf16 ? 2 : 0; i < k && m + 1 < cap; i += utf16 ? 2 : 1) {
    unsigned c = utf16 ? (i + 1 < k ? (unsigned)(raw[i] << 8 | raw[i + 1]) : 0) : raw[i];
    out[m++] = c > 0 && c < 0x80 ? (char)c : '?';
  }
  out[m] = '\0';
  free(raw);
  return (long)m;
}

typedef struct info {
  int found;
  unsigned long num, gen;
  size_t dict_start, dict_end; /* the << ... >> of its newest definition */
} info;

/* The last "/Info N G R" in d[0..n) and the newest "N G obj" that defines it. */
static void find_info(const uint8_t *d, size_t n, info *inf) {
  memset(inf, 0, sizeof *inf);
  for (size_t at = n; at-- > 0;) {
    if (d[at] != '/' || n - at < 5 || memcmp(d + at, "/Info", 5)) continue;
    size_t p = skip_ws(d, n, at + 5), e;
    if (!(e = read_uint(d, n, p, &inf->num))) continue;
    p = skip_ws(d, n, e);
    if (!(e = read_uint(d, n, p, &inf->gen))) continue;
    p = skip_ws(d, n, e);
    if (p < n && d[p] == 'R') break;
  }
  if (!inf->num) return;
  char head[48];
  int hl = snprintf(head, sizeof head, "%lu %lu obj", inf->num, inf->gen);
  for (size_t at = n; at-- > 0;) {
    if (d[at] != (uint8_t)head[0] || n - at < (size_t)hl || memcmp(d + at, head, (size_t)hl)) continue;
    if (at > 0 && !is_ws(d[at - 1])) continue;
    size_t p = skip_ws(d, n, at + (size_t)hl);
    if (p + 1 >= n || d[p] != '<' || d[p + 1] != '<') return;
    size_t end = skip_value(d, n, p, 0);
    if (!end) return;
    inf->found = 1;
    inf->dict_start = p;
    inf->dict_end = end;
    return;
  }
}

/* Calls fn for each key/value of the dictionary d[start..end). */
static void each_entry(const uint8_t *d, size_t start, size_t end,
                       void (*fn)(void *ctx, const uint8_t *d, size_t key, size_t key_end, size_t value,
                                  size_t value_end),
                       void *ctx) {
  size_t at = start + 2;
  for (;;) {
    at = skip_ws(d, end, at);
    if (at >= end - 2 || d[at] != '/') return;
    size_t key = at, key_end = at + 1;
    while (key_end < end && !is_ws(d[key_end]) && !is_delim(d[key_end]))
      key_end++;
    size_t value = skip_ws(d, end, key_end), value_end = skip_value(d, end - 2, value, 1);
    if (!value_end) return;
    fn(ctx, d, key, key_end, value, value_end);
    at = value_end;
  }
}

static int is_aigc_key(const uint8_t *d, size_t key, size_t key_end) {
  return key_end - key == 5 && !strncasecmp((const char *)d + key, "/AIGC", 5);
}

typedef struct read_ctx {
  lf_scan *s;
  char *text;
} read_ctx;

static void read_entry(void *ctx, const uint8_t *d, size_t key, size_t key_end, size_t value, size_t value_end) {
  read_ctx *rc = ctx;
  if (!is_aigc_key(d, key, key_end)) return;
  if (d[value] != '(' && d[value] != '<') {
    rc->s->unreadable++;
    return;
  }
  long len = decode_string(d, value, value_end, rc->text, STRING_MAX);
  if (len >= 0) lf_found_text(rc->s, "pdf Info /AIGC", key, rc->text, (size_t)len);
}

/* hegui's update ranges: [start, end) from the newline before BEGIN to the end of END */
static int next_update(const uint8_t *d, size_t n, size_t from, size_t *start, size_t *end) {
  if (from >= n) return 0;
  const uint8_t *b = memmem(d + from, n - from, BEGIN, sizeof BEGIN - 1);
  if (!b) return 0;
  const uint8_t *e = memmem(b, n - (size_t)(b - d), END, sizeof END - 1);
  if (!e) return 0;
  *start = (size_t)(b - d);
  *end = (size_t)(e - d) + sizeof END - 1;
  return 1;
}

static hg_status scan(const uint8_t *d, size_t n, lf_scan *s, hg_error *err) {
  if (!sniff(d, n, NULL)) return hg_fail(err, HG_ERR_PARSE, 0, 0, "not a PDF file (no %%PDF- header)");
  size_t at = 0, start, end;
  while (next_update(d, n, at, &start, &end)) {
    lf_hash(s, d + at, start - at);
    at = end;
  }
  lf_hash(s, d + at, n - at);
  info inf;
  find_info(d, n, &inf);
  if (!inf.found) return HG_OK;
  read_ctx rc = {s, malloc(STRING_MAX)};
  if (!rc.text) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  each_entry(d, inf.dict_start, inf.dict_end, read_entry, &rc);
  free(rc.text);
  return HG_OK;
}

typedef struct copy_ctx {
  lf_buf *out;
  hg_status st;
} copy_ctx;

static void copy_entry(void *ctx, const uint8_t *d, size_t key, size_t key_end, size_t value, size_t value_end) {
  copy_ctx *cc = ctx;
  if (cc->st || is_aigc_key(d, key, key_end)) return;
  cc->st = lf_put(cc->out, d + key, value_end - key);
  if (!cc->st) cc->st = lf_put(cc->out, "\n", 1);
  (void)value;
}

/* The number after the last occurrence of key ("/Size", "startxref") in d[0..n); 0 when absent. */
static int last_number(const uint8_t *d, size_t n, const char *key, unsigned long *v, size_t *ref_gen_end) {
  size_t klen = strlen(key);
  for (size_t at = n; at-- > 0;) {
    if (d[at] != (uint8_t)key[0] || n - at < klen || memcmp(d + at, key, klen)) continue;
    size_t p = skip_ws(d, n, at + klen), e = read_uint(d, n, p, v);
    if (!e) continue;
    if (ref_gen_end) *ref_gen_end = p; /* start of "N G R" for /Root */
    return 1;
  }
  return 0;
}

static hg_status put_label(const uint8_t *d, size_t n, const char *label_json, lf_buf *out, hg_error *err) {
  if (!sniff(d, n, NULL)) return hg_fail(err, HG_ERR_PARSE, 0, 0, "not a PDF file (no %%PDF- header)");
  /* relabelling: hegui's own update at the end is replaced */
  size_t base = n, at = 0, start, end;
  while (next_update(d, n, at, &start, &end)) {
    size_t tail = skip_ws(d, n, end);
    if (tail == n) base = start;
    at = end;
  }
  /* strings of an encrypted file are encrypted: a plain /AIGC would read as noise */
  if (memmem(d, base, "/Encrypt", 8))
    return hg_fail(err, HG_ERR_PARSE, 0, 0, "PDF is encrypted: hegui does not write labels into encrypted PDFs");
  unsigned long prev, size, root_num, root_gen;
  size_t root_at;
  if (!last_number(d, base, "startxref", &prev, NULL) || prev >= base)
    return hg_fail(err, HG_ERR_PARSE, 0, 0, "PDF has no usable startxref; it cannot be updated incrementally");
  if (!last_number(d, base, "/Size", &size, NULL) || !size)
    return hg_fail(err, HG_ERR_PARSE, 0, 0, "PDF trailer has no /Size");
  if (!last_number(d, base, "/Root", &root_num, &root_at))
    return hg_fail(err, HG_ERR_PARSE, 0, 0, "PDF trailer has no /Root");
  size_t g = skip_ws(d, base, read_uint(d, base, root_at, &root_num));
  if (!read_uint(d, base, g, &root_gen)) return hg_fail(err, HG_ERR_PARSE, 0, root_at, "PDF /Root is not a reference");

  info inf;
  find_info(d, base, &inf);
  unsigned long num = inf.found ? inf.num : size, gen = inf.found ? inf.gen : 0;
  if (num >= size) size = num + 1;

  hg_status st = lf_put(out, d, base);
  if (!st) st = lf_put(out, BEGIN, sizeof BEGIN - 1);
  size_t obj_offset = out->len;
  char line[160];
  int len = snprintf(line, sizeof line, "%lu %lu obj\n<<\n", num, gen);
  if (!st) st = lf_put(out, line, (size_t)len);
  copy_ctx cc = {out, HG_OK};
  if (!st && inf.found) each_entry(d, inf.dict_start, inf.dict_end, copy_entry, &cc);
  if (!st) st = cc.st;
  if (!st) st = lf_put(out, "/AIGC (", 7);
  for (const char *p = label_json; *p && !st; p++) { /* a literal string: ( ) and \ escaped */
    if (*p == '(' || *p == ')' || *p == '\\') st = lf_put(out, "\\", 1);
    if (!st) st = lf_put(out, p, 1);
  }
  if (!st) st = lf_put(out, ")\n>>\nendobj\n", 12);
  size_t xref_offset = out->len;
  len = snprintf(line, sizeof line, "xref\n%lu 1\n%010zu %05lu n \ntrailer\n", num, obj_offset, gen);
  if (!st) st = lf_put(out, line, (size_t)len);
  len =
      snprintf(line, sizeof line, "<< /Size %lu /Root %lu %lu R /Info %lu %lu R /Prev %lu >>\nstartxref\n%zu\n%%%%EOF",
               size, root_num, root_gen, num, gen, prev, xref_offset);
  if (!st) st = lf_put(out, line, (size_t)len);
  if (!st) st = lf_put(out, "\n", 1);
  if (!st) st = lf_put(out, END, sizeof END - 1);
  if (st) return hg_fail(err, st, 0, 0, "out of memory");
  return HG_OK;
}

const lf_format lf_pdf = {"pdf", sniff, scan, put_label};
