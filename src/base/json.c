/* json.c — see base/json.h. The reader is a recursive descent over the bytes with a table of the bytes a string
 * must stop at; the writer copies runs of plain bytes at once. Both give up on anything they do not handle and let
 * jansson answer, so neither has an error path of its own that could disagree with jansson's. */
#include "base/json.h"

#include "base/arena.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 512 /* deeper documents go to jansson (its own limit is 2048) */

/* ---- UTF-8, strictly (no overlong forms, no surrogates, nothing past U+10FFFF), as jansson checks it ---- */

/* The length of the valid sequence at p (at most n bytes), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n) {
  unsigned c = p[0];
  if (c < 0x80) return 1;
  size_t len;
  unsigned lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF)
    len = 2;
  else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else
    return 0;
  if (n < len || p[1] < lo || p[1] > hi) return 0;
  for (size_t i = 2; i < len; i++)
    if ((p[i] & 0xC0) != 0x80) return 0;
  return len;
}

/* ---- reading ---- */

/* 1 for the bytes at which the plain run of a string ends: '"', '\\', controls (invalid unescaped) and non-ASCII
 * (checked as UTF-8) */
static const unsigned char stops[256] = {
    [0 ... 0x1F] = 1,
    ['"'] = 1,
    ['\\'] = 1,
    [0x80 ... 0xFF] = 1,
};

/* ---- plain runs: the bytes a string holds as they are in both directions (printable ASCII but '"' and '\\', and
 * valid UTF-8 sequences) ---- */

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* A byte of w is zero: its high bit in the result. A borrow can also mark bytes above a zero byte, never without
 * one, so a clear result means "no zero byte" exactly. */
static inline uint64_t zero_bytes(uint64_t w) { return (w - ONES) & ~w & HIGHS; }

/* The first byte at or after p that is not plain: '"', '\\', a control, a byte that does not start a valid UTF-8
 * sequence (or one cut by end), or end. Eight ASCII bytes are checked at once; Han text (three-byte sequences) is
 * stepped a character at a time without a call. */
static const unsigned char *skip_plain(const unsigned char *p, const unsigned char *end) {
  for (;;) {
    while (end - p >= 8) {
      uint64_t w;
      memcpy(&w, p, 8);
      /* a byte below 0x20 (with its high bit clear) borrows in w - 0x20...: its high bit is set, not w's */
      uint64_t stop =
          (w & HIGHS) | ((w - 0x20 * ONES) & ~w & HIGHS) | zero_bytes(w ^ ('"' * ONES)) | zero_bytes(w ^ ('\\' * ONES));
      if (stop) break;
      p += 8;
    }
    while (p < end && !stops[*p])
      p++;
    if (p >= end || *p < 0x80) return p;
    /* three-byte sequences whose second byte may be any continuation byte: E1-EC, EE, EF */
    while (end - p >= 3 && p[0] >= 0xE1 && p[0] <= 0xEF && p[0] != 0xED && (p[1] & 0xC0) == 0x80 &&
           (p[2] & 0xC0) == 0x80)
      p += 3;
    if (p >= end) return p;
    if (*p < 0x80) continue;
    size_t k = utf8_seq(p, (size_t)(end - p));
    if (!k) return p;
    p += k;
  }
}

typedef hg_json_cursor reader; /* the fast reader's state is the cursor's (base/json.h) */

static void skip_ws(reader *r) {
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
    r->p++;
}

static int hex4(const unsigned char *p, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    unsigned c = p[i], d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return -1;
    v = v << 4 | d;
  }
  *out = v;
  return 0;
}

static int scratch_put(reader *r, size_t at, const void *src, size_t n) {
  if (!n) return r->scratch || (r->scratch = malloc(r->cap = 256)) ? 0 : -1;
  if (at + n > r->cap) {
    size_t cap = r->cap ? r->cap : 256;
    while (cap < at + n)
      cap *= 2;
    char *s = realloc(r->scratch, cap);
    if (!s) return -1;
    r->scratch = s, r->cap = cap;
  }
  memcpy(r->scratch + at, src, n);
  return 0;
}

/* The string at r->p (its opening quote): its bytes in *s and *n, pointing into the input when it has no escape,
 * else into r->scratch. -1 when the fast path gives up. */
static int read_string(reader *r, const char **s, size_t *n) {
  const unsigned char *p = ++r->p, *end = r->end, *run = p;
  size_t out = 0;
  int escaped = 0;
  for (;;) {
    p = skip_plain(p, end);
    if (p >= end) return -1;
    unsigned c = *p;
    if (c >= 0x80 || c < 0x20) return -1; /* not UTF-8, or a control unescaped */
    if (escaped && scratch_put(r, out, run, (size_t)(p - run))) return -1;
    out += (size_t)(p - run);
    if (c == '"') break;
    /* an escape */
    if (!escaped) { /* the plain bytes before the first escape were counted in out but not copied: copy them */
      if (scratch_put(r, 0, r->p, out)) return -1;
      escaped = 1;
    }
    if (end - p < 2) return -1;
    unsigned e = p[1];
    char one;
    switch (e) {
    case '"': one = '"'; break;
    case '\\': one = '\\'; break;
    case '/': one = '/'; break;
    case 'b': one = '\b'; break;
    case 'f': one = '\f'; break;
    case 'n': one = '\n'; break;
    case 'r': one = '\r'; break;
    case 't': one = '\t'; break;
    case 'u': one = 0; break;
    default: return -1;
    }
    if (e != 'u') {
      if (scratch_put(r, out, &one, 1)) return -1;
      out++;
      p += 2;
    } else {
      unsigned cp, lo;
      if (end - p < 6 || hex4(p + 2, &cp)) return -1;
      p += 6;
      if (cp >= 0xDC00 && cp <= 0xDFFF) return -1; /* a lone low surrogate */
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF) return -1;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        p += 6;
      }
      if (cp == 0) return -1; /* jansson refuses NUL unless JSON_ALLOW_NUL: its own message */
      unsigned char u[4];
      size_t k;
      if (cp < 0x80)
        u[0] = (unsigned char)cp, k = 1;
      else if (cp < 0x800)
        u[0] = (unsigned char)(0xC0 | cp >> 6), u[1] = (unsigned char)(0x80 | (cp & 0x3F)), k = 2;
      else if (cp < 0x10000)
        u[0] = (unsigned char)(0xE0 | cp >> 12), u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F)),
        u[2] = (unsigned char)(0x80 | (cp & 0x3F)), k = 3;
      else
        u[0] = (unsigned char)(0xF0 | cp >> 18), u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F)),
        u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F)), u[3] = (unsigned char)(0x80 | (cp & 0x3F)), k = 4;
      if (scratch_put(r, out, u, k)) return -1;
      out += k;
    }
    run = p;
  }
  *s = escaped ? r->scratch : (const char *)r->p;
  *n = out;
  r->p = p + 1;
  return 0;
}

static json_t *read_value(reader *r, int depth);

/* A number as jansson reads it: 'i' with *iv (integers of up to 18 digits), 'r' with *dv (finite reals), or 0 when
 * the fast path leaves it to jansson. r->p moves past it only when read. */
static int scan_number(reader *r, long long *iv, double *dv) {
  const unsigned char *p = r->p, *start = p, *end = r->end;
  int neg = p < end && *p == '-';
  if (neg) p++;
  if (p >= end || *p < '0' || *p > '9') return 0;
  const unsigned char *digits = p;
  if (*p == '0')
    p++;
  else
    while (p < end && *p >= '0' && *p <= '9')
      p++;
  size_t ndigits = (size_t)(p - digits);
  int real = 0;
  if (p < end && *p == '.') {
    real = 1, p++;
    const unsigned char *f = p;
    while (p < end && *p >= '0' && *p <= '9')
      p++;
    if (p == f) return 0;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    real = 1, p++;
    if (p < end && (*p == '+' || *p == '-')) p++;
    const unsigned char *x = p;
    while (p < end && *p >= '0' && *p <= '9')
      p++;
    if (p == x) return 0;
  }
  /* jansson's lexer reads a number up to a byte that cannot continue it; a letter right after one is its error */
  if (p < end && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '.' || *p == '-' || *p == '+'))
    return 0;
  if (!real) {
    if (ndigits > 18) return 0; /* may not fit: jansson's "too big integer" */
    long long v = 0;
    for (const unsigned char *d = digits; d < p; d++)
      v = v * 10 + (*d - '0');
    *iv = neg ? -v : v;
    r->p = p;
    return 'i';
  }
  char tok[64];
  size_t n = (size_t)(p - start);
  if (n >= sizeof tok) return 0;
  memcpy(tok, start, n);
  tok[n] = 0;
  errno = 0;
  double v = strtod(tok, NULL);
  if (!isfinite(v)) return 0; /* jansson: "real number overflow" */
  *dv = v;
  r->p = p;
  return 'r';
}

static json_t *read_number(reader *r) {
  long long iv = 0;
  double dv = 0;
  switch (scan_number(r, &iv, &dv)) {
  case 'i': return json_integer(iv);
  case 'r': return json_real(dv);
  default: return NULL;
  }
}

static json_t *read_object(reader *r, int depth) {
  json_t *o = json_object();
  if (!o) return NULL;
  r->p++;
  skip_ws(r);
  if (r->p < r->end && *r->p == '}') {
    r->p++;
    return o;
  }
  for (;;) {
    if (r->p >= r->end || *r->p != '"') break;
    const char *k;
    size_t kn;
    if (read_string(r, &k, &kn)) break;
    /* the key is copied before the value is read: the value's strings may reuse the scratch buffer */
    char kbuf[256], *key = kn < sizeof kbuf ? kbuf : malloc(kn + 1);
    if (!key) break;
    memcpy(key, k, kn);
    key[kn] = 0;
    skip_ws(r);
    json_t *v = NULL;
    int dup = json_object_getn(o, key, kn) != NULL; /* jansson's own handling (and message, or last-wins) */
    if (!dup && r->p < r->end && *r->p == ':') {
      r->p++;
      skip_ws(r);
      v = read_value(r, depth + 1);
    }
    int bad = !v || json_object_setn_new_nocheck(o, key, kn, v);
    if (key != kbuf) free(key);
    if (bad) break;
    skip_ws(r);
    if (r->p < r->end && *r->p == ',') {
      r->p++;
      skip_ws(r);
      continue;
    }
    if (r->p < r->end && *r->p == '}') {
      r->p++;
      return o;
    }
    break;
  }
  json_decref(o);
  return NULL;
}

static json_t *read_array(reader *r, int depth) {
  json_t *a = json_array();
  if (!a) return NULL;
  r->p++;
  skip_ws(r);
  if (r->p < r->end && *r->p == ']') {
    r->p++;
    return a;
  }
  for (;;) {
    json_t *v = read_value(r, depth + 1);
    if (!v || json_array_append_new(a, v)) break;
    skip_ws(r);
    if (r->p < r->end && *r->p == ',') {
      r->p++;
      skip_ws(r);
      continue;
    }
    if (r->p < r->end && *r->p == ']') {
      r->p++;
      return a;
    }
    break;
  }
  json_decref(a);
  return NULL;
}

static json_t *literal(reader *r, const char *word, json_t *value) {
  size_t n = strlen(word);
  if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n)) return NULL;
  r->p += n;
  return value;
}

static json_t *read_value(reader *r, int depth) {
  if (depth > MAX_DEPTH || r->p >= r->end) return NULL;
  switch (*r->p) {
  case '{': return read_object(r, depth);
  case '[': return read_array(r, depth);
  case '"': {
    const char *s;
    size_t n;
    return read_string(r, &s, &n) ? NULL : json_stringn_nocheck(s, n);
  }
  case 't': return literal(r, "true", json_true());
  case 'f': return literal(r, "false", json_false());
  case 'n': return literal(r, "null", json_null());
  default: return read_number(r);
  }
}

json_t *hg_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *err) {
  if (buf && !(flags & ~(size_t)JSON_REJECT_DUPLICATES)) {
    reader r = {(const unsigned char *)buf, (const unsigned char *)buf + len, flags, NULL, 0};
    skip_ws(&r);
    json_t *v = r.p < r.end && (*r.p == '{' || *r.p == '[') ? read_value(&r, 1) : NULL;
    free(r.scratch);
    if (v) {
      skip_ws(&r);
      if (r.p == r.end) {
        if (err) { /* what jansson leaves in a success */
          err->line = -1, err->column = -1, err->position = 0;
          err->text[0] = 0, err->source[0] = 0;
        }
        return v;
      }
      json_decref(v);
    }
  }
  return json_loadb(buf, len, flags, err);
}

/* ---- the cursor: the same reader, driven by the caller ---- */

void hg_json_cursor_rewind(hg_json_cursor *c, const char *buf, size_t len) {
  c->p = (const unsigned char *)buf;
  c->end = c->p + len;
  c->flags = 0;
}

void hg_json_cursor_free(hg_json_cursor *c) {
  free(c->scratch);
  c->scratch = NULL;
  c->cap = 0;
}

int hg_json_peek(hg_json_cursor *c) {
  skip_ws(c);
  return c->p < c->end ? *c->p : -1;
}

int hg_json_eat(hg_json_cursor *c, char ch) {
  skip_ws(c);
  if (c->p >= c->end || *c->p != (unsigned char)ch) return -1;
  c->p++;
  return 0;
}

int hg_json_string(hg_json_cursor *c, const char **s, size_t *n) {
  skip_ws(c);
  if (c->p >= c->end || *c->p != '"') return -1;
  return read_string(c, s, n);
}

int hg_json_scalar(hg_json_cursor *c, long long *integer) {
  skip_ws(c);
  if (c->p >= c->end) return -1;
  static const struct {
    char first;
    const char *word;
  } literals[] = {{'t', "true"}, {'f', "false"}, {'n', "null"}};
  for (size_t i = 0; i < sizeof literals / sizeof *literals; i++)
    if (*c->p == (unsigned char)literals[i].first) {
      size_t n = strlen(literals[i].word);
      if ((size_t)(c->end - c->p) < n || memcmp(c->p, literals[i].word, n)) return -1;
      c->p += n;
      return literals[i].first;
    }
  double dv;
  int kind = scan_number(c, integer, &dv);
  return kind ? kind : -1;
}

int hg_json_at_end(hg_json_cursor *c) {
  skip_ws(c);
  return c->p == c->end;
}

json_t *hg_json_text(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s, *end = p + n;
  while (p < end) {
    p = skip_plain(p, end);
    if (p < end && *p >= 0x80) return json_stringn(s, n); /* not UTF-8: jansson's answer (NULL) */
    if (p < end) p++;                                     /* '"', '\\' and controls are text too */
  }
  return json_stringn_nocheck(s, n);
}

/* ---- writing ---- */

typedef struct writer {
  char *s;
  size_t n, cap;
  int failed;
  hg_arena *arena; /* the buffer's home: NULL for malloc */
} writer;

static void put(writer *w, const void *src, size_t n) {
  if (w->failed) return;
  if (w->n + n + 1 > w->cap) {
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->n + n + 1)
      cap *= 2;
    char *s = w->arena ? hg_arena_grow(w->arena, w->s, w->cap, cap) : realloc(w->s, cap);
    if (!s) {
      w->failed = 1;
      return;
    }
    w->s = s, w->cap = cap;
  }
  memcpy(w->s + w->n, src, n);
  w->n += n;
}

static void put_string(writer *w, const char *str, size_t len) {
  const unsigned char *p = (const unsigned char *)str, *end = p + len, *run = p;
  put(w, "\"", 1);
  while (p < end) {
    p = skip_plain(p, end);
    if (p >= end) break;
    if (*p >= 0x80) {
      w->failed = 1; /* jansson: not UTF-8, no output */
      return;
    }
    put(w, run, (size_t)(p - run));
    char esc[8];
    size_t k = 2;
    switch (*p) {
    case '"': memcpy(esc, "\\\"", 2); break;
    case '\\': memcpy(esc, "\\\\", 2); break;
    case '\b': memcpy(esc, "\\b", 2); break;
    case '\f': memcpy(esc, "\\f", 2); break;
    case '\n': memcpy(esc, "\\n", 2); break;
    case '\r': memcpy(esc, "\\r", 2); break;
    case '\t': memcpy(esc, "\\t", 2); break;
    default: k = (size_t)snprintf(esc, sizeof esc, "\\u%04X", (unsigned)*p); break;
    }
    put(w, esc, k);
    run = ++p;
  }
  put(w, run, (size_t)(p - run));
  put(w, "\"", 1);
}

/* A real as jansson writes it: %.17g, a ".0" when it would read back as an integer, and the exponent without "+"
 * and leading zeros. */
static void put_real(writer *w, double v) {
  char b[64];
  int len = snprintf(b, sizeof b, "%.17g", v);
  if (len < 0 || (size_t)len >= sizeof b - 3) {
    w->failed = 1;
    return;
  }
  size_t n = (size_t)len;
  if (!strchr(b, '.') && !strchr(b, 'e')) {
    b[n++] = '.', b[n++] = '0', b[n] = 0;
  }
  char *start = strchr(b, 'e');
  if (start) {
    start++;
    char *e = start + 1;
    if (*start == '-') start++;
    while (*e == '0')
      e++;
    if (e != start) {
      memmove(start, e, n - (size_t)(e - b) + 1);
      n -= (size_t)(e - start);
    }
  }
  put(w, b, n);
}

typedef struct key_ref {
  const char *key;
  size_t len;
  json_t *value;
} key_ref;

static int key_cmp(const void *a, const void *b) {
  const key_ref *x = a, *y = b;
  size_t m = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->key, y->key, m);
  return c ? c : (x->len > y->len) - (x->len < y->len);
}

static void put_value(writer *w, const json_t *v, size_t flags, int depth);

static void put_object(writer *w, const json_t *o, size_t flags, int depth) {
  put(w, "{", 1);
  size_t n = json_object_size(o), i = 0;
  if (flags & JSON_SORT_KEYS) {
    key_ref small[16], *keys = n <= 16 ? small : malloc(n * sizeof *keys);
    if (!keys) {
      w->failed = 1;
      return;
    }
    const char *k;
    size_t klen;
    json_t *v;
    json_object_keylen_foreach((json_t *)o, k, klen, v) keys[i++] = (key_ref){k, klen, v};
    qsort(keys, i, sizeof *keys, key_cmp);
    for (size_t j = 0; j < i; j++) {
      if (j) put(w, ",", 1);
      put_string(w, keys[j].key, keys[j].len);
      put(w, ":", 1);
      put_value(w, keys[j].value, flags, depth + 1);
    }
    if (keys != small) free(keys);
  } else {
    const char *k;
    size_t klen;
    json_t *v;
    json_object_keylen_foreach((json_t *)o, k, klen, v) {
      if (i++) put(w, ",", 1);
      put_string(w, k, klen);
      put(w, ":", 1);
      put_value(w, v, flags, depth + 1);
    }
  }
  put(w, "}", 1);
}

static void put_value(writer *w, const json_t *v, size_t flags, int depth) {
  if (w->failed) return;
  if (depth > MAX_DEPTH) {
    w->failed = 2; /* jansson decides (its depth and cycle rules) */
    return;
  }
  char b[32];
  switch (json_typeof(v)) {
  case JSON_OBJECT: put_object(w, v, flags, depth); break;
  case JSON_ARRAY:
    put(w, "[", 1);
    for (size_t i = 0; i < json_array_size(v); i++) {
      if (i) put(w, ",", 1);
      put_value(w, json_array_get(v, i), flags, depth + 1);
    }
    put(w, "]", 1);
    break;
  case JSON_STRING: put_string(w, json_string_value(v), json_string_length(v)); break;
  case JSON_INTEGER: put(w, b, (size_t)snprintf(b, sizeof b, "%" JSON_INTEGER_FORMAT, json_integer_value(v))); break;
  case JSON_REAL: put_real(w, json_real_value(v)); break;
  case JSON_TRUE: put(w, "true", 4); break;
  case JSON_FALSE: put(w, "false", 5); break;
  case JSON_NULL: put(w, "null", 4); break;
  }
}

/* The writer's fast path into w (its arena set or not): the text, NULL when jansson gives NULL, or *fallback set
 * when jansson decides (other flags, depth). */
static char *dump(writer *w, const json_t *v, size_t flags, int *fallback) {
  const size_t ours = JSON_COMPACT | JSON_SORT_KEYS | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY;
  *fallback = 0;
  if (!v || (flags & ~ours) || !(flags & JSON_COMPACT)) return *fallback = 1, NULL;
  if (!(flags & JSON_ENCODE_ANY) && !json_is_object(v) && !json_is_array(v)) return NULL;
  put_value(w, v, flags, 1);
  if (w->failed == 2) *fallback = 1;
  if (w->failed) {
    if (!w->arena) free(w->s);
    return NULL;
  }
  w->s[w->n] = 0;
  return w->s;
}

char *hg_json_dumps(const json_t *v, size_t flags) {
  writer w = {0};
  int fallback;
  char *s = dump(&w, v, flags, &fallback);
  return fallback ? json_dumps(v, flags) : s;
}

char *hg_json_dumps_arena(const json_t *v, size_t flags, hg_arena *arena) {
  if (!arena) return hg_json_dumps(v, flags);
  writer w = {.arena = arena};
  int fallback;
  char *s = dump(&w, v, flags, &fallback);
  if (fallback) {
    char *heap = json_dumps(v, flags);
    s = heap ? hg_arena_memdup0(arena, heap, strlen(heap)) : NULL;
    free(heap);
  } else if (s) { /* the unused end of the buffer back to the arena (it is the latest allocation) */
    s = hg_arena_grow(arena, s, w.cap, w.n + 1);
  }
  return s;
}
