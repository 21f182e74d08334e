/* regex_analyze.c — hegui's own reading of PCRE2 pattern syntax, to bound how far one match can look.
 *
 * Streaming a regex needs a number PCRE2 does not give: the most code points one match attempt may inspect, behind
 * its start (lookbehind, \b, ^) and from its start on (what it consumes plus lookahead and $). PCRE2 has no
 * maximum match length, and PCRE2_INFO_MAXLOOKBEHIND counts only the longest single lookbehind, so
 * "(?<=(?<!b)a)" says one where two characters are inspected. This file walks a pattern once, after PCRE2 has
 * accepted it (syntax errors are PCRE2's to report, with its own message), with a recursive descent parser that
 * follows PCRE2 10.42's rules, and folds every construct into a shape: shortest and longest match, and how far it
 * looks behind its start and ahead of it. A sequence adds, an alternation takes the extremes, {n,m} multiplies.
 *
 * What cannot be bounded (*, +, {n,}, recursion, \X) is refused with the offset of the culprit, and so is
 * anything this parser does not recognise: a bound that is wrong would silently break the guarantee that a
 * stream gives the hits of a one-shot scan. So are a few things whose meaning depends on where a search starts
 * (\G, \K, backtracking verbs), literals that folded text never contains, and a `{` that is not a plain {n} or
 * {n,m} (PCRE2 versions disagree on what "{,3}" and "{ 1}" mean). Sizes saturate at BIG, far above any window
 * accepted, so that nested repeats cannot overflow. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hegui/text.h"
#include "rules/regex_internal.h"

#define BIG ((size_t)1 << 24)

/* Suggested upper bound in the advice for an unbounded repeat. */
#define SUGGEST_SPAN 20

enum { F_CASELESS = 1u << 0, F_MULTILINE = 1u << 1, F_NO_AUTO_CAPTURE = 1u << 2 };

typedef struct shape {
  size_t mn, mx; /* code points consumed */
  size_t ahead;  /* end of the furthest code point inspected, from the start */
  size_t behind; /* code points inspected before the start */
} shape;

typedef struct group_rec {
  size_t mn, mx;
  int closed; /* a backreference may only use a group whose length is already known */
} group_rec;

typedef struct name_rec {
  size_t at, len; /* the name's code points in the pattern */
  size_t number;
  int referenced; /* a backreference has used it: a later group of the same name (?J) would go unseen */
} name_rec;

typedef struct parser {
  const uint32_t *p;
  size_t n, i;
  unsigned flags;
  int quoting;   /* inside \Q...\E */
  size_t opened; /* capturing groups opened so far: the number of the latest */
  group_rec *groups;
  name_rec *names;
  size_t nnames;
  int failed;
  size_t at; /* code point index of the refusal */
  char *why;
  size_t why_cap;
} parser;

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }
static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }
static size_t sat_add(size_t a, size_t b) { return a + b > BIG ? BIG : a + b; }
static size_t sat_mul(size_t a, size_t b) {
  if (!a || !b) return 0;
  if (a >= BIG || b >= BIG || a > BIG / b) return BIG;
  return a * b;
}

static const shape ZERO = {0, 0, 0, 0};
static const shape ONE_CHAR = {1, 1, 1, 0};

static shape zero_width(size_t behind, size_t ahead) { return (shape){0, 0, ahead, behind}; }

/* a then b: b starts anywhere from a.mn to a.mx code points in */
static shape shape_seq(shape a, shape b) {
  shape r;
  r.mn = sat_add(a.mn, b.mn);
  r.mx = sat_add(a.mx, b.mx);
  r.ahead = max_size(a.ahead, sat_add(a.mx, b.ahead));
  r.behind = max_size(a.behind, b.behind > a.mn ? b.behind - a.mn : 0);
  return r;
}

static shape shape_alt(shape a, shape b) {
  return (shape){min_size(a.mn, b.mn), max_size(a.mx, b.mx), max_size(a.ahead, b.ahead), max_size(a.behind, b.behind)};
}

/* x{lo,hi}: iteration k starts at most (k-1)*x.mx in, and the first one reaches furthest back */
static shape shape_repeat(shape x, size_t lo, size_t hi) {
  if (hi == 0) return ZERO;
  return (shape){sat_mul(lo, x.mn), sat_mul(hi, x.mx), sat_add(sat_mul(hi - 1, x.mx), x.ahead), x.behind};
}

/* Byte offset of code point i in the UTF-8 the pattern came from. */
static size_t byte_offset(const uint32_t *p, size_t i) {
  size_t off = 0;
  char tmp[4];
  for (size_t k = 0; k < i; k++)
    off += hg_utf8_encode(p[k], tmp);
  return off;
}

/* The pattern's code points [from, to) as UTF-8 for a message, shortened when long. */
static const char *excerpt(const parser *ps, size_t from, size_t to, char *buf, size_t cap) {
  size_t o = 0;
  if (to > ps->n) to = ps->n;
  for (size_t k = from; k < to && o + 8 < cap; k++)
    o += hg_utf8_encode(ps->p[k], buf + o);
  if (to > from && o + 8 >= cap) o += (size_t)snprintf(buf + o, cap - o, "...");
  buf[o] = 0;
  return buf;
}

/* Records a refusal at code point `at`; the message is written with "%zu" for its byte offset first. */
__attribute__((format(printf, 3, 4))) static int refuse(parser *ps, size_t at, const char *fmt, ...) {
  if (ps->failed) return -1;
  ps->failed = 1;
  ps->at = at;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ps->why, ps->why_cap, fmt, ap);
  va_end(ap);
  return -1;
}

static int not_understood(parser *ps, size_t at, size_t len) {
  char ex[48];
  return refuse(ps, at, "the analyzer cannot bound the pattern at offset %zu ('%s'); write it another way",
                byte_offset(ps->p, at), excerpt(ps, at, at + len, ex, sizeof ex));
}

static int is_digit(uint32_t c) { return c >= '0' && c <= '9'; }
static int is_alnum(uint32_t c) { return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'); }
static int hex_value(uint32_t c) {
  if (is_digit(c)) return (int)(c - '0');
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') return (int)((c | 0x20) - 'a' + 10);
  return -1;
}

static uint32_t peek(const parser *ps, size_t k) { return ps->i + k < ps->n ? ps->p[ps->i + k] : 0; }

/* Index of the first `close` at or after k, or n. */
static size_t find_char(const parser *ps, size_t k, uint32_t close) {
  while (k < ps->n && ps->p[k] != close)
    k++;
  return k;
}

/* A literal code point: folded text contains only fixed points of folding, so anything else can never match.
 * Under (?i) PCRE2 compares case variants itself; there a code point that folds to one other is let through. */
static int literal(parser *ps, uint32_t c, size_t at, size_t len, shape *out) {
  uint32_t f[HG_FOLD_MAX];
  size_t nf = hg_fold(c, f);
  int ok = (ps->flags & F_CASELESS) ? nf == 1 : (nf == 1 && f[0] == c);
  if (!ok) {
    char ex[48], folded[HG_FOLD_MAX * 4 + 1];
    size_t o = 0;
    for (size_t k = 0; k < nf; k++)
      o += hg_utf8_encode(f[k], folded + o);
    folded[o] = 0;
    if (nf)
      return refuse(ps, at, "'%s' at offset %zu never occurs in folded text (it folds to '%s'); write the folded form",
                    excerpt(ps, at, at + len, ex, sizeof ex), byte_offset(ps->p, at), folded);
    return refuse(ps, at, "'%s' at offset %zu never occurs in folded text (folding removes it)",
                  excerpt(ps, at, at + len, ex, sizeof ex), byte_offset(ps->p, at));
  }
  *out = ONE_CHAR;
  return 0;
}

static int group_closed_shape(parser *ps, size_t number, size_t at, size_t len, shape *out) {
  if (number == 0 || number > ps->opened || !ps->groups[number].closed) {
    char ex[48];
    return refuse(ps, at,
                  "backreference '%s' at offset %zu refers to a group that is not closed before it, so its "
                  "length cannot be bounded",
                  excerpt(ps, at, at + len, ex, sizeof ex), byte_offset(ps->p, at));
  }
  const group_rec *g = &ps->groups[number];
  *out = (shape){g->mn, g->mx, g->mx, 0};
  return 0;
}

/* A backreference by name: with (?J) several groups may share it, any of them may be the one set. */
static int named_backref(parser *ps, size_t name_at, size_t name_len, size_t at, size_t len, shape *out) {
  int found = 0;
  shape acc = ZERO;
  for (size_t k = 0; k < ps->nnames; k++) {
    const name_rec *nr = &ps->names[k];
    if (nr->len != name_len || memcmp(ps->p + nr->at, ps->p + name_at, name_len * sizeof *ps->p)) continue;
    shape s = ZERO;
    if (group_closed_shape(ps, nr->number, at, len, &s)) return -1;
    acc = found ? shape_alt(acc, s) : s;
    found = 1;
    ps->names[k].referenced = 1;
  }
  if (!found) return group_closed_shape(ps, 0, at, len, out);
  *out = acc;
  return 0;
}

/* \1 ... \9, \10 ...: PCRE2 reads all the digits; it is a backreference when the number is below 10, starts with
 * 8 or 9, or that many groups were opened before it; otherwise up to three octal digits make a character. */
static int digit_escape(parser *ps, shape *out) {
  size_t at = ps->i, k = ps->i + 1, number = 0;
  while (k < ps->n && is_digit(ps->p[k])) {
    number = number > BIG ? BIG : number * 10 + (ps->p[k] - '0');
    k++;
  }
  if (number < 10 || ps->p[at + 1] >= '8' || number <= ps->opened) {
    ps->i = k;
    return group_closed_shape(ps, number, at, k - at, out);
  }
  uint32_t value = 0;
  k = at + 1;
  for (int d = 0; d < 3 && k < ps->n && ps->p[k] >= '0' && ps->p[k] <= '7'; d++, k++)
    value = value * 8 + (ps->p[k] - '0');
  ps->i = k;
  return literal(ps, value, at, k - at, out);
}

/* \g forms: \gN \g{N} \g-N \g{-N} \g+N \g{+N} \g{name} are backreferences; \g<..> and \g'..' are calls. */
static int g_escape(parser *ps, shape *out) {
  size_t at = ps->i, k = ps->i + 2;
  uint32_t c = k < ps->n ? ps->p[k] : 0;
  if (c == '<' || c == '\'') {
    size_t end = find_char(ps, k + 1, c == '<' ? '>' : '\'');
    char ex[48];
    return refuse(ps, at, "pattern is unbounded at offset %zu ('%s'): subroutine calls and recursion are not supported",
                  byte_offset(ps->p, at), excerpt(ps, at, end + 1, ex, sizeof ex));
  }
  size_t from = k, to, end;
  if (c == '{') {
    from = k + 1;
    to = find_char(ps, from, '}');
    end = to + 1;
  } else {
    to = from;
    if (to < ps->n && (ps->p[to] == '-' || ps->p[to] == '+')) to++;
    while (to < ps->n && is_digit(ps->p[to]))
      to++;
    end = to;
  }
  ps->i = end;
  int sign = 0;
  size_t d = from;
  if (d < to && (ps->p[d] == '-' || ps->p[d] == '+')) sign = ps->p[d++] == '-' ? -1 : 1;
  if (d < to && is_digit(ps->p[d])) {
    size_t number = 0;
    for (; d < to && is_digit(ps->p[d]); d++)
      number = number > BIG ? BIG : number * 10 + (ps->p[d] - '0');
    if (d != to) return not_understood(ps, at, end - at);
    if (sign < 0) number = number <= ps->opened ? ps->opened - number + 1 : 0;
    if (sign > 0) number = sat_add(ps->opened, number); /* forward: never closed yet */
    return group_closed_shape(ps, number, at, end - at, out);
  }
  if (sign) return not_understood(ps, at, end - at);
  return named_backref(ps, from, to - from, at, end - at, out);
}

/* Escapes outside a class. Returns 1 for an item a quantifier may follow, 0 for nothing (\E, \Q), -1 refused. */
static int escape(parser *ps, shape *out) {
  size_t at = ps->i;
  if (at + 1 >= ps->n) return not_understood(ps, at, 1);
  uint32_t c = ps->p[at + 1];
  switch (c) {
  case 'd':
  case 'D':
  case 'w':
  case 'W':
  case 's':
  case 'S':
  case 'h':
  case 'H':
  case 'v':
  case 'V':
    ps->i += 2;
    *out = ONE_CHAR;
    return 1;
  case 'N':
    if (peek(ps, 2) == '{' && peek(ps, 3) == 'U' && peek(ps, 4) == '+') {
      size_t k = ps->i + 5, end = find_char(ps, k, '}');
      uint32_t v = 0;
      for (; k < end; k++)
        v = v > 0x10FFFF ? v : v * 16 + (uint32_t)hex_value(ps->p[k]);
      ps->i = end + 1;
      return literal(ps, v, at, ps->i - at, out) ? -1 : 1;
    }
    ps->i += 2; /* any character but a newline; "\N{3}" is that, repeated */
    *out = ONE_CHAR;
    return 1;
  case 'p':
  case 'P':
    ps->i = peek(ps, 2) == '{' ? find_char(ps, ps->i + 3, '}') + 1 : ps->i + 3;
    *out = ONE_CHAR;
    return 1;
  case 'R': /* a newline sequence: \r\n is two */
    ps->i += 2;
    *out = (shape){1, 2, 2, 0};
    return 1;
  case 'X':
    return refuse(ps, at,
                  "pattern is unbounded at offset %zu ('\\X'): a grapheme cluster has no length limit; write "
                  "\\P{M}\\p{M}{0,3} instead",
                  byte_offset(ps->p, at));
  case 'C': return refuse(ps, at, "'\\C' at offset %zu is not supported", byte_offset(ps->p, at));
  case 'G':
    return refuse(ps, at,
                  "'\\G' at offset %zu is not supported: it depends on where a search starts, which streaming "
                  "changes",
                  byte_offset(ps->p, at));
  case 'K':
    return refuse(ps, at, "'\\K' at offset %zu is not supported: it moves the start of a match",
                  byte_offset(ps->p, at));
  case 'b':
  case 'B': /* the character before and the one after */
    ps->i += 2;
    *out = zero_width(1, 1);
    return 1;
  case 'A': /* needs to know that nothing comes before */
    ps->i += 2;
    *out = zero_width(1, 0);
    return 1;
  case 'Z': /* the end, or a newline that ends the subject: the next two positions */
    ps->i += 2;
    *out = zero_width(0, 2);
    return 1;
  case 'z':
    ps->i += 2;
    *out = zero_width(0, 1);
    return 1;
  case 'Q':
    ps->i += 2;
    ps->quoting = 1;
    return 0;
  case 'E': ps->i += 2; return 0;
  case 'g': return g_escape(ps, out) ? -1 : 1;
  case 'k': {
    uint32_t open = peek(ps, 2), close = open == '<' ? '>' : open == '\'' ? '\'' : open == '{' ? '}' : 0;
    if (!close) return not_understood(ps, at, 2);
    size_t from = ps->i + 3, to = find_char(ps, from, close);
    ps->i = to + 1;
    return named_backref(ps, from, to - from, at, ps->i - at, out) ? -1 : 1;
  }
  case 'x': {
    uint32_t v = 0;
    size_t k = ps->i + 2;
    if (peek(ps, 2) == '{') {
      size_t end = find_char(ps, k + 1, '}');
      for (k++; k < end; k++)
        v = v > 0x10FFFF ? v : v * 16 + (uint32_t)hex_value(ps->p[k]);
      k = end + 1;
    } else {
      for (int d = 0; d < 2 && k < ps->n && hex_value(ps->p[k]) >= 0; d++, k++)
        v = v * 16 + (uint32_t)hex_value(ps->p[k]);
    }
    ps->i = k;
    return literal(ps, v, at, k - at, out) ? -1 : 1;
  }
  case 'o': {
    size_t end = find_char(ps, ps->i + 3, '}');
    uint32_t v = 0;
    for (size_t k = ps->i + 3; k < end; k++)
      v = v > 0x10FFFF ? v : v * 8 + (ps->p[k] - '0');
    ps->i = end + 1;
    return literal(ps, v, at, ps->i - at, out) ? -1 : 1;
  }
  case '0': {
    size_t k = ps->i + 2;
    uint32_t v = 0;
    for (int d = 0; d < 2 && k < ps->n && ps->p[k] >= '0' && ps->p[k] <= '7'; d++, k++)
      v = v * 8 + (ps->p[k] - '0');
    ps->i = k;
    return literal(ps, v, at, k - at, out) ? -1 : 1;
  }
  case 'c': {
    uint32_t x = peek(ps, 2);
    if (x >= 'a' && x <= 'z') x -= 32;
    ps->i += 3;
    return literal(ps, x ^ 0x40, at, 3, out) ? -1 : 1;
  }
  case 'a':
  case 'e':
  case 'f':
  case 'n':
  case 'r':
  case 't': {
    uint32_t v = c == 'a' ? 7 : c == 'e' ? 0x1B : c == 'f' ? 0x0C : c == 'n' ? 0x0A : c == 'r' ? 0x0D : 0x09;
    ps->i += 2;
    return literal(ps, v, at, 2, out) ? -1 : 1;
  }
  default:
    if (is_digit(c)) return digit_escape(ps, out) ? -1 : 1;
    if (is_alnum(c)) return not_understood(ps, at, 2);
    ps->i += 2; /* an escaped punctuation or other character stands for itself */
    return literal(ps, c, at, 2, out) ? -1 : 1;
  }
}

/* PCRE2's test for a POSIX name inside a class: from `[:` (or `[.` `[=`) a matching `:]` must come before any
 * `]` or another `[:`; a backslash before `]` or `\` skips it. k is the index of the ':' after '['. */
static int posix_name_end(const parser *ps, size_t k, size_t *end) {
  uint32_t term = ps->p[k];
  for (k++; k + 1 < ps->n; k++) {
    if (ps->p[k] == '\\' && (ps->p[k + 1] == ']' || ps->p[k + 1] == '\\')) {
      k++;
    } else if ((ps->p[k] == '[' && ps->p[k + 1] == term) || ps->p[k] == ']') {
      return 0;
    } else if (ps->p[k] == term && ps->p[k + 1] == ']') {
      *end = k + 2;
      return 1;
    }
  }
  return 0;
}

static int matches_text(const parser *ps, size_t k, const char *s) {
  for (; *s; s++, k++)
    if (k >= ps->n || ps->p[k] != (uint32_t)(unsigned char)*s) return 0;
  return 1;
}

/* A character class is one code point, whatever is inside; the work is finding where it ends exactly as PCRE2
 * does. "[[:<:]]" and "[[:>:]]" are the old word-start and word-end assertions. */
static int char_class(parser *ps, shape *out) {
  size_t at = ps->i;
  if (matches_text(ps, at, "[[:<:]]") || matches_text(ps, at, "[[:>:]]")) {
    ps->i += 7;
    *out = zero_width(1, 1);
    return 0;
  }
  size_t k = at + 1;
  if (k < ps->n && ps->p[k] == '^') k++;
  for (;;) { /* \Q\E and \E at the start do not count as content */
    if (matches_text(ps, k, "\\Q\\E"))
      k += 4;
    else if (matches_text(ps, k, "\\E"))
      k += 2;
    else
      break;
  }
  if (k < ps->n && ps->p[k] == ']') k++; /* a ']' first is a literal */
  int quoting = 0;
  while (k < ps->n) {
    uint32_t c = ps->p[k];
    if (quoting) {
      if (c == '\\' && k + 1 < ps->n && ps->p[k + 1] == 'E') {
        quoting = 0;
        k += 2;
      } else {
        k++;
      }
      continue;
    }
    if (c == '\\') {
      if (k + 1 < ps->n && ps->p[k + 1] == 'Q') quoting = 1;
      k += 2;
      continue;
    }
    if (c == '[' && k + 1 < ps->n && (ps->p[k + 1] == ':' || ps->p[k + 1] == '.' || ps->p[k + 1] == '=')) {
      size_t end;
      if (posix_name_end(ps, k + 1, &end)) {
        k = end;
        continue;
      }
    }
    if (c == ']') {
      ps->i = k + 1;
      *out = ONE_CHAR;
      return 0;
    }
    k++;
  }
  return not_understood(ps, at, 1);
}

/* Reads a quantifier at ps->i. Returns 1 with the bounds, 0 when there is none, -1 when refused. */
static int quantifier(parser *ps, size_t *lo, size_t *hi) {
  size_t at = ps->i;
  uint32_t c = peek(ps, 0);
  int unbounded = 0;
  char bounded[64] = "";
  if (c == '?') {
    *lo = 0;
    *hi = 1;
    ps->i++;
  } else if (c == '*' || c == '+') {
    unbounded = 1;
    snprintf(bounded, sizeof bounded, "{%d,%d}", c == '+', SUGGEST_SPAN);
    ps->i++;
  } else if (c == '{') {
    size_t k = at + 1, a = 0, b = 0;
    int have_a = 0, comma = 0, have_b = 0;
    for (; k < ps->n && is_digit(ps->p[k]); k++, have_a = 1)
      a = a > BIG ? BIG : a * 10 + (ps->p[k] - '0');
    if (k < ps->n && ps->p[k] == ',') {
      comma = 1;
      for (k++; k < ps->n && is_digit(ps->p[k]); k++, have_b = 1)
        b = b > BIG ? BIG : b * 10 + (ps->p[k] - '0');
    }
    if (!have_a || k >= ps->n || ps->p[k] != '}') {
      return refuse(ps, at, "'{' at offset %zu is not a quantifier {n} or {n,m}; write \\{ for a literal brace",
                    byte_offset(ps->p, at));
    }
    ps->i = k + 1;
    *lo = a;
    *hi = comma ? b : a;
    if (comma && !have_b) {
      unbounded = 1;
      snprintf(bounded, sizeof bounded, "{%zu,%zu}", a, a + SUGGEST_SPAN);
    }
  } else {
    return 0;
  }
  uint32_t mod = peek(ps, 0);
  if (mod == '?' || mod == '+') ps->i++; /* lazy or possessive: other order of trying, same lengths */
  if (unbounded) {
    char ex[48];
    if (mod == '?' || mod == '+') snprintf(bounded + strlen(bounded), sizeof bounded - strlen(bounded), "%c", mod);
    return refuse(ps, at, "pattern is unbounded at offset %zu ('%s'); write %s instead", byte_offset(ps->p, at),
                  excerpt(ps, at, ps->i, ex, sizeof ex), bounded);
  }
  return 1;
}

static int alternation(parser *ps, int lookbehind, shape *out);

/* Option letters of (?imnsxUJ-^...): updates *flags; refuses extended mode, which this parser does not read. */
static int option_letters(parser *ps, size_t from, size_t to, unsigned *flags) {
  int unset = 0;
  for (size_t k = from; k < to; k++) {
    uint32_t c = ps->p[k];
    unsigned bit = c == 'i' ? F_CASELESS : c == 'm' ? F_MULTILINE : c == 'n' ? F_NO_AUTO_CAPTURE : 0;
    if (c == '^') {
      *flags &= ~(F_CASELESS | F_MULTILINE | F_NO_AUTO_CAPTURE);
    } else if (c == '-') {
      unset = 1;
    } else if (c == 'x') {
      if (!unset)
        return refuse(ps, k, "extended mode (?x) at offset %zu is not supported; write the pattern without it",
                      byte_offset(ps->p, k));
    } else if (bit) {
      *flags = unset ? *flags & ~bit : *flags | bit;
    } else if (c != 's' && c != 'U' && c != 'J') {
      return not_understood(ps, from - 2, to - from + 3);
    }
  }
  return 0;
}

enum group_kind { G_PLAIN, G_CAPTURE, G_LOOKAHEAD, G_LOOKBEHIND };

/* A group at '('. Returns 1 for an item a quantifier may follow, 0 for a comment (the item before it stays
 * quantifiable), 2 for an option setting (nothing to quantify after it), -1 refused. */
static int group(parser *ps, shape *out) {
  size_t at = ps->i;
  char ex[48];
  enum group_kind kind = G_PLAIN;
  size_t name_at = 0, name_len = 0, body;
  unsigned saved = ps->flags, inner = ps->flags;
  if (peek(ps, 1) == '*')
    return refuse(ps, at,
                  "'%s' at offset %zu is not supported: backtracking verbs and (*...) options change how a search "
                  "proceeds, which streaming cannot follow",
                  excerpt(ps, at, find_char(ps, at, ')') + 1, ex, sizeof ex), byte_offset(ps->p, at));
  if (peek(ps, 1) != '?') {
    kind = (ps->flags & F_NO_AUTO_CAPTURE) ? G_PLAIN : G_CAPTURE;
    body = at + 1;
  } else {
    uint32_t c = peek(ps, 2), d = peek(ps, 3);
    body = at + 3;
    if (c == '#') {
      ps->i = find_char(ps, at, ')') + 1;
      return 0;
    } else if (c == ':' || c == '>') {
      kind = G_PLAIN;
    } else if (c == '=' || c == '!' || c == '*') {
      kind = G_LOOKAHEAD;
    } else if (c == '<' && (d == '=' || d == '!' || d == '*')) {
      kind = G_LOOKBEHIND;
      body = at + 4;
    } else if (c == '<' || c == '\'' || (c == 'P' && d == '<')) {
      name_at = at + (c == 'P' ? 4 : 3);
      size_t end = find_char(ps, name_at, c == '\'' ? '\'' : '>');
      name_len = end - name_at;
      kind = G_CAPTURE;
      body = end + 1;
    } else if (c == 'P' && d == '=') {
      size_t from = at + 4, to = find_char(ps, from, ')');
      ps->i = to + 1;
      return named_backref(ps, from, to - from, at, ps->i - at, out) ? -1 : 1;
    } else if (c == 'R' || c == '&' || is_digit(c) || (c == 'P' && d == '>') ||
               ((c == '+' || c == '-') && is_digit(d))) {
      return refuse(ps, at,
                    "pattern is unbounded at offset %zu ('%s'): subroutine calls and recursion are not supported",
                    byte_offset(ps->p, at), excerpt(ps, at, find_char(ps, at, ')') + 1, ex, sizeof ex));
    } else if (c == '|') {
      return refuse(ps, at, "branch reset group '(?|' at offset %zu is not supported", byte_offset(ps->p, at));
    } else if (c == '(') {
      return refuse(ps, at, "conditional group '(?(' at offset %zu is not supported", byte_offset(ps->p, at));
    } else if (c == 'C') {
      return refuse(ps, at, "callout '(?C' at offset %zu is not supported", byte_offset(ps->p, at));
    } else {
      size_t k = at + 2;
      while (k < ps->n && ps->p[k] != ')' && ps->p[k] != ':')
        k++;
      if (k >= ps->n) return not_understood(ps, at, 2);
      if (option_letters(ps, at + 2, k, &inner)) return -1;
      if (ps->p[k] == ')') { /* lasts to the end of the enclosing group */
        ps->flags = inner;
        ps->i = k + 1;
        return 2;
      }
      body = k + 1;
    }
  }
  size_t number = 0;
  if (kind == G_CAPTURE) {
    number = ++ps->opened;
    for (size_t k = 0; name_len && k < ps->nnames; k++)
      if (ps->names[k].referenced && ps->names[k].len == name_len &&
          !memcmp(ps->p + ps->names[k].at, ps->p + name_at, name_len * sizeof *ps->p))
        return refuse(ps, at,
                      "group '%s' at offset %zu repeats a name already used by a backreference before it; give it "
                      "another name",
                      excerpt(ps, name_at, name_at + name_len, ex, sizeof ex), byte_offset(ps->p, at));
    if (name_len) ps->names[ps->nnames++] = (name_rec){name_at, name_len, number, 0};
  }
  ps->i = body;
  ps->flags = inner;
  shape content;
  int r = alternation(ps, kind == G_LOOKBEHIND, &content);
  ps->flags = saved;
  if (r) return -1;
  if (ps->i >= ps->n || ps->p[ps->i] != ')') return not_understood(ps, at, 1);
  ps->i++;
  switch (kind) {
  case G_CAPTURE:
    ps->groups[number] = (group_rec){content.mn, content.mx, 1};
    *out = content;
    break;
  case G_LOOKAHEAD: *out = zero_width(content.behind, content.ahead); break;
  case G_LOOKBEHIND: *out = zero_width(content.behind, content.ahead); break; /* already placed before */
  default: *out = content;
  }
  return 1;
}

/* One item of a sequence. Returns 1 for an item a quantifier may follow, 0 for one that leaves the previous
 * item quantifiable (comments, \E, empty \Q\E), 2 for an option setting (nothing to quantify), -1 refused. */
static int item(parser *ps, shape *out) {
  size_t at = ps->i;
  uint32_t c = ps->p[at];
  if (ps->quoting) {
    if (c == '\\' && peek(ps, 1) == 'E') {
      ps->quoting = 0;
      ps->i += 2;
      return 0;
    }
    ps->i++;
    return literal(ps, c, at, 1, out) ? -1 : 1;
  }
  switch (c) {
  case '(': return group(ps, out);
  case '[': return char_class(ps, out) ? -1 : 1;
  case '\\': return escape(ps, out);
  case '.':
    ps->i++;
    *out = ONE_CHAR;
    return 1;
  case '^': /* the character before: a newline under (?m), none at all otherwise */
    ps->i++;
    *out = zero_width(1, 0);
    return 1;
  case '$': /* under (?m) a newline or the end here; otherwise also a newline that is the last character */
    ps->i++;
    *out = zero_width(0, (ps->flags & F_MULTILINE) ? 1 : 2);
    return 1;
  case '{':
    return refuse(ps, at, "'{' at offset %zu is not a quantifier {n} or {n,m}; write \\{ for a literal brace",
                  byte_offset(ps->p, at));
  case '*':
  case '+':
  case '?': return not_understood(ps, at, 1);
  default: ps->i++; return literal(ps, c, at, 1, out) ? -1 : 1;
  }
}

static int sequence(parser *ps, shape *out) {
  shape acc = ZERO, pending = ZERO;
  int have_pending = 0;
  while (ps->i < ps->n) {
    uint32_t c = ps->p[ps->i];
    if (!ps->quoting && (c == '|' || c == ')')) break;
    if (have_pending && !ps->quoting) {
      size_t lo = 0, hi = 0;
      int q = quantifier(ps, &lo, &hi);
      if (q < 0) return -1;
      if (q > 0) {
        acc = shape_seq(acc, shape_repeat(pending, lo, hi));
        have_pending = 0;
        continue;
      }
    }
    shape s = ZERO;
    int r = item(ps, &s);
    if (r < 0) return -1;
    if (r == 0) continue;
    if (have_pending) acc = shape_seq(acc, pending);
    have_pending = 0;
    if (r == 1) {
      pending = s;
      have_pending = 1;
    }
  }
  if (have_pending) acc = shape_seq(acc, pending);
  *out = acc;
  return 0;
}

/* Alternatives up to ')' or the end. Inside a lookbehind each alternative is placed to end where the assertion
 * stands, so its own reach is measured back from there. */
static int alternation(parser *ps, int lookbehind, shape *out) {
  shape acc = ZERO;
  for (int first = 1;; first = 0) {
    shape s = ZERO;
    if (sequence(ps, &s)) return -1;
    if (lookbehind) {
      size_t behind = sat_add(s.mx, s.behind), ahead = s.ahead > s.mn ? s.ahead - s.mn : 0;
      s = zero_width(behind, ahead);
    }
    acc = first ? s : shape_alt(acc, s);
    if (ps->i < ps->n && ps->p[ps->i] == '|' && !ps->quoting) {
      ps->i++;
      continue;
    }
    break;
  }
  *out = acc;
  return 0;
}

hg_status hg_regex_analyze(const uint32_t *pattern, size_t n, hg_regex_shape *out, size_t *at, char *why,
                           size_t why_cap) {
  parser ps = {0};
  ps.p = pattern;
  ps.n = n;
  ps.why = why;
  ps.why_cap = why_cap;
  ps.groups = calloc(n + 2, sizeof *ps.groups);
  ps.names = calloc(n + 1, sizeof *ps.names);
  if (!ps.groups || !ps.names) {
    free(ps.groups);
    free(ps.names);
    snprintf(why, why_cap, "out of memory");
    *at = 0;
    return HG_ERR_NOMEM;
  }
  shape s = ZERO;
  int r = alternation(&ps, 0, &s);
  if (!r && ps.i < ps.n) r = not_understood(&ps, ps.i, 1); /* a ')' without its '(' */
  if (!r && s.mn == 0)
    r = refuse(&ps, 0, "pattern can match the empty string (offset %zu); every rule must match at least one character",
               (size_t)0);
  free(ps.groups);
  free(ps.names);
  if (r) {
    *at = byte_offset(pattern, ps.at);
    return HG_ERR_PARSE;
  }
  out->min_len = s.mn;
  out->max_len = s.mx;
  out->behind = s.behind;
  out->ahead = max_size(s.ahead, s.mx);
  out->groups = ps.opened;
  return HG_OK;
}
