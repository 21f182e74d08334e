/* test_json.c — base/json.h held to jansson, its reference: hg_json_loadb must give what json_loadb gives (the same
 * value, or NULL with the same error text) and hg_json_dumps the same bytes as json_dumps, on written edge cases,
 * on 20,000 generated documents written by jansson and by hand (random spacing, escapes, numbers), and on 50,000
 * mutations of them (bytes flipped, cut, inserted). hg_json_dumps_arena must give hg_json_dumps's bytes, written into
 * a small-chunked arena (base/arena.h) so that its buffer grows in place and by copy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/json.h"

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return rng;
}
static unsigned pick(unsigned n) { return (unsigned)(next() % n); }

/* The reader against json_loadb, and (for what parses) the writer against json_dumps under every flag set the
 * gateway uses. */
static hg_arena arena; /* chunks of 64 bytes: most documents outgrow one */

static void same_in_arena(const json_t *v, size_t flags, const char *want) {
  char *got = hg_json_dumps_arena(v, flags, &arena);
  if (!want != !got || (want && strcmp(want, got)))
    fail_msg("arena writer differs (flags %zx): %s, in the arena %s", flags, want ? want : "NULL", got ? got : "NULL");
  hg_arena_free(&arena);
}

static void same(const char *buf, size_t len, size_t flags) {
  json_error_t e1, e2;
  json_t *want = json_loadb(buf, len, flags, &e1);
  json_t *got = hg_json_loadb(buf, len, flags, &e2);
  if (!want != !got || (want && !json_equal(want, got))) {
    char *w = want ? json_dumps(want, JSON_ENCODE_ANY) : NULL, *g = got ? json_dumps(got, JSON_ENCODE_ANY) : NULL;
    fail_msg("reader differs on %.*s: jansson %s (%s), ours %s", (int)(len > 200 ? 200 : len), buf, w ? w : "NULL",
             e1.text, g ? g : "NULL");
  }
  if (!want) assert_string_equal(e1.text, e2.text);
  if (want) {
    static const size_t dump_flags[] = {JSON_COMPACT, JSON_COMPACT | JSON_SORT_KEYS, JSON_COMPACT | JSON_PRESERVE_ORDER,
                                        JSON_COMPACT | JSON_ENCODE_ANY};
    for (size_t i = 0; i < sizeof dump_flags / sizeof dump_flags[0]; i++) {
      char *a = json_dumps(want, dump_flags[i]), *b = hg_json_dumps(got, dump_flags[i]);
      if (!a != !b || (a && strcmp(a, b)))
        fail_msg("writer differs (flags %zx): jansson %s, ours %s", dump_flags[i], a, b);
      same_in_arena(got, dump_flags[i], b);
      free(a);
      free(b);
    }
  }
  json_decref(want);
  json_decref(got);
}

static void same_s(const char *s) {
  same(s, strlen(s), 0);
  same(s, strlen(s), JSON_REJECT_DUPLICATES);
}

static void written_cases(void **state) {
  (void)state;
  static const char *const cases[] = {
      "{}",
      "[]",
      " { } ",
      "\t[\n]\r\n",
      "{\"a\":1}",
      "[1,2,3]",
      "[true,false,null]",
      "{\"a\":{\"b\":[{}]}}",
      "[\"\"]",
      "[\"plain\"]",
      "[\"中文字符，还有 emoji 😀\"]",
      "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]",
      "[\"\\u0041\\u00e9\\u4e2d\"]",
      "[\"\\uD83D\\uDE00\"]",
      "[\"\\ud83d\\ude00x\"]",
      "[\"a\\u0000b\"]",
      "[\"\\uD800\"]",
      "[\"\\uDC00\"]",
      "[\"\\uD800\\u0041\"]",
      "[\"\\u12\"]",
      "[\"\\x\"]",
      "[\"tab\there\"]",
      "[\"\x01\"]",
      "[\"\x7f\"]",
      "[\"\xc0\x80\"]",
      "[\"\xed\xa0\x80\"]",
      "[\"\xf4\x90\x80\x80\"]",
      "[\"\xe4\xb8\"]",
      "[\"\xff\"]",
      "[0]",
      "[-0]",
      "[12]",
      "[-12]",
      "[01]",
      "[1.]",
      "[.5]",
      "[1.5]",
      "[-1.5e10]",
      "[1e5]",
      "[1E+5]",
      "[1e-5]",
      "[2.5e-400]",
      "[1e400]",
      "[-1e400]",
      "[123456789012345678]",
      "[1234567890123456789]",
      "[9223372036854775807]",
      "[9223372036854775808]",
      "[-9223372036854775808]",
      "[0.1]",
      "[1.7976931348623157e308]",
      "[5e-324]",
      "[1x]",
      "[1 2]",
      "[1,]",
      "[,1]",
      "{\"a\"}",
      "{\"a\":}",
      "{\"a\":1,}",
      "{\"a\":1 \"b\":2}",
      "{a:1}",
      "{\"a\":1,\"a\":2}",
      "{\"a\":1,\"b\":2,\"a\":3}",
      "{\"\":0}",
      "{\"\\u0000\":1}",
      "[tru]",
      "[truex]",
      "[nul]",
      "[null ]",
      "true",
      "1",
      "\"s\"",
      "",
      " ",
      "[",
      "]",
      "{",
      "[}",
      "{]",
      "[1]x",
      "[1] [2]",
      "[1]\n",
      "\xef\xbb\xbf[]",
      "[\"a\"]\0",
      "{\"k\":\"v\",\"k2\":[1,{\"x\":\"y\"}],\"z\":-3.25}",
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    same_s(cases[i]);
  same("[\"a\"]\0", 6, 0);  /* a NUL after the document */
  same("[\"a\0b\"]", 7, 0); /* and inside a string */
  /* nesting past the fast path's depth, and past jansson's own */
  for (int depth = 500; depth <= 2100; depth += 800) {
    char *s = malloc((size_t)depth * 2 + 1);
    memset(s, '[', (size_t)depth);
    memset(s + depth, ']', (size_t)depth);
    s[depth * 2] = 0;
    same_s(s);
    free(s);
  }
}

/* ---- generated documents ---- */

static void gen_string(char *out, size_t cap, size_t *n) {
  static const char *const pieces[] = {"a",  "Z",    " ",    "中",   "文",  "😀", "é", "\"", "\\", "/", "\n",
                                       "\t", "\x01", "\x1f", "\x7f", "key", "0", "{", "}",  "[",  ":", ","};
  unsigned k = pick(12);
  for (unsigned i = 0; i < k; i++) {
    const char *p = pieces[pick(sizeof pieces / sizeof pieces[0])];
    size_t l = strlen(p);
    if (*n + l >= cap) return;
    memcpy(out + *n, p, l);
    *n += l;
  }
}

static json_t *gen(int depth) {
  switch (depth > 5 ? 2 + pick(6) : pick(8)) {
  case 0: {
    json_t *o = json_object();
    unsigned k = pick(5);
    for (unsigned i = 0; i < k; i++) {
      char key[64];
      size_t n = 0;
      gen_string(key, sizeof key, &n);
      json_object_setn_new_nocheck(o, key, n, gen(depth + 1));
    }
    return o;
  }
  case 1: {
    json_t *a = json_array();
    unsigned k = pick(5);
    for (unsigned i = 0; i < k; i++)
      json_array_append_new(a, gen(depth + 1));
    return a;
  }
  case 2: {
    char s[128];
    size_t n = 0;
    gen_string(s, sizeof s, &n);
    return json_stringn(s, n);
  }
  case 3: {
    static const long long ints[] = {0, 1, -1, 42, 1000000, -99999999, 123456789012345678LL, 9223372036854775807LL};
    return json_integer(ints[pick(8)] / (long long)(1 + pick(3)));
  }
  case 4: {
    static const double reals[] = {0.5, -0.25, 3.14159, 1e300, 1e-300, 2.5e-10, 123456789.125, 1e21, 0.1, -0.0};
    return json_real(reals[pick(10)] * (pick(2) ? 1 : 3));
  }
  case 5: return json_true();
  case 6: return json_false();
  default: return json_null();
  }
}

/* A document written by hand from a value: random spacing, and strings with escapes where jansson writes bytes. */
static void write_loose(const json_t *v, char *out, size_t cap, size_t *n) {
#define PUT(s, l)                                                                                                      \
  do {                                                                                                                 \
    if (*n + (l) < cap) memcpy(out + *n, s, l), *n += (l);                                                             \
  } while (0)
  static const char *const ws[] = {"", " ", "\n", "\t ", "\r\n"};
  const char *w = ws[pick(5)];
  PUT(w, strlen(w));
  if (json_is_string(v)) {
    const char *s = json_string_value(v);
    PUT("\"", 1);
    for (size_t i = 0; i < json_string_length(v); i++) {
      unsigned char c = (unsigned char)s[i];
      char e[8];
      if (c == '"' || c == '\\' || c < 0x20 || (c < 0x80 && pick(6) == 0)) {
        int l = snprintf(e, sizeof e, pick(2) ? "\\u%04x" : "\\u%04X", c);
        PUT(e, (size_t)l);
      } else {
        PUT(s + i, 1);
      }
    }
    PUT("\"", 1);
  } else if (json_is_object(v)) {
    PUT("{", 1);
    const char *k;
    json_t *x;
    int first = 1;
    json_object_foreach((json_t *)v, k, x) {
      if (!first) PUT(",", 1);
      first = 0;
      json_t *ks = json_string(k);
      write_loose(ks, out, cap, n);
      json_decref(ks);
      PUT(":", 1);
      write_loose(x, out, cap, n);
    }
    PUT("}", 1);
  } else if (json_is_array(v)) {
    PUT("[", 1);
    for (size_t i = 0; i < json_array_size(v); i++) {
      if (i) PUT(",", 1);
      write_loose(json_array_get(v, i), out, cap, n);
    }
    PUT("]", 1);
  } else {
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    PUT(s, strlen(s));
    free(s);
  }
  w = ws[pick(5)];
  PUT(w, strlen(w));
#undef PUT
}

static void generated(void **state) {
  (void)state;
  static char buf[1 << 16];
  for (int i = 0; i < 20000; i++) {
    json_t *v = json_object();
    json_object_set_new(v, "doc", gen(0));
    char *s = json_dumps(v, JSON_COMPACT);
    same_s(s);
    size_t n = 0;
    write_loose(v, buf, sizeof buf, &n);
    same(buf, n, 0);
    /* mutations: a byte changed, the document cut, a byte inserted */
    for (int m = 0; m < 3 && n > 2; m++) {
      char mut[1 << 16];
      size_t ml = n;
      memcpy(mut, buf, n);
      switch (pick(3)) {
      case 0: mut[pick((unsigned)n)] = (char)next(); break;
      case 1: ml = pick((unsigned)n); break;
      default: {
        size_t at = pick((unsigned)n);
        if (n + 1 < sizeof mut) {
          memmove(mut + at + 1, mut + at, n - at);
          mut[at] = "\"\\{}[],:0e.-u\x80\xe4 "[pick(17)];
          ml = n + 1;
        }
      }
      }
      same(mut, ml, 0);
    }
    free(s);
    json_decref(v);
  }
}

/* The plain-run scan reads eight ASCII bytes at a time and steps three-byte sequences in a loop of its own: every
 * byte that must stop it (or must not), at every offset within and across those steps, in a run of ASCII or of Han,
 * read against jansson and, where the reader gives a string, written back by both and made with the _nocheck
 * constructor for the writer alone (jansson refuses the invalid ones, so must ours); hg_json_text against json_stringn.
 */
static void plain_runs(void **state) {
  (void)state;
  static const char *const odd[] = {"\"",
                                    "\\",
                                    "\x01",
                                    "\x1f",
                                    "\x7f",
                                    "\x80",
                                    "\xbf",
                                    "\xc2\xa9",
                                    "\xc0\xaf",
                                    "\xe0\x9f\xbf",
                                    "\xe0\xa0\x80",
                                    "\xed\x9f\xbf",
                                    "\xed\xa0\x80",
                                    "\xef\xbf\xbf",
                                    "\xe4\xb8",
                                    "\xe4",
                                    "\xf0\x9f\x98\x80",
                                    "\xf4\x90\x80\x80",
                                    "\xf8",
                                    " "};
  static const char *const fill[] = {"a", "中", "é"};
  char doc[256], str[256];
  size_t checked = 0;
  for (size_t f = 0; f < sizeof fill / sizeof *fill; f++)
    for (size_t o = 0; o < sizeof odd / sizeof *odd; o++)
      for (size_t before = 0; before < 20; before++)
        for (size_t after = 0; after < 12; after += 5) {
          size_t n = 0;
          for (size_t i = 0; i < before; i++)
            n += (size_t)snprintf(str + n, sizeof str - n, "%s", fill[f]);
          n += (size_t)snprintf(str + n, sizeof str - n, "%s", odd[o]);
          for (size_t i = 0; i < after; i++)
            n += (size_t)snprintf(str + n, sizeof str - n, "%s", fill[f]);
          int dl = snprintf(doc, sizeof doc, "[\"%s\"]", str);
          same(doc, (size_t)dl, 0);
          json_t *want = json_stringn(str, n), *got = hg_json_text(str, n); /* a text value: jansson's check */
          if (!want != !got || (want && !json_equal(want, got))) fail_msg("hg_json_text differs on '%s'", str);
          json_decref(want);
          json_decref(got);
          json_t *v = json_stringn_nocheck(str, n);
          char *a = json_dumps(v, JSON_ENCODE_ANY), *b = hg_json_dumps(v, JSON_ENCODE_ANY);
          if (!a != !b || (a && strcmp(a, b))) fail_msg("writer differs on a string: jansson %s, ours %s", a, b);
          free(a);
          free(b);
          json_decref(v);
          checked++;
        }
  print_message("%zu strings read and written as jansson does\n", checked);
}

/* What only the writer sees: strings that are not UTF-8 (made with the _nocheck constructors), and top levels. */
static void writer_cases(void **state) {
  (void)state;
  json_t *bad = json_pack("{s:o}", "x", json_stringn_nocheck("\xff\xfe", 2));
  assert_null(json_dumps(bad, JSON_COMPACT));
  assert_null(hg_json_dumps(bad, JSON_COMPACT));
  same_in_arena(bad, JSON_COMPACT, NULL);
  json_decref(bad);
  json_t *nul = json_pack("[o]", json_stringn("a\0b", 3));
  char *a = json_dumps(nul, JSON_COMPACT), *b = hg_json_dumps(nul, JSON_COMPACT);
  assert_string_equal(a, b);
  free(a), free(b), json_decref(nul);
  json_t *s = json_string("top");
  assert_null(hg_json_dumps(s, JSON_COMPACT));
  a = json_dumps(s, JSON_COMPACT | JSON_ENCODE_ANY), b = hg_json_dumps(s, JSON_COMPACT | JSON_ENCODE_ANY);
  assert_string_equal(a, b);
  free(a), free(b), json_decref(s);
  /* flags it does not handle go to jansson */
  json_t *o = json_pack("{s:s}", "k", "中");
  a = json_dumps(o, JSON_INDENT(2) | JSON_ENSURE_ASCII), b = hg_json_dumps(o, JSON_INDENT(2) | JSON_ENSURE_ASCII);
  assert_string_equal(a, b);
  same_in_arena(o, JSON_INDENT(2) | JSON_ENSURE_ASCII, a); /* jansson's text, copied into the arena */
  free(a), free(b), json_decref(o);
  /* many keys, sorted */
  json_t *many = json_object();
  for (int i = 0; i < 200; i++) {
    char k[16];
    snprintf(k, sizeof k, "k%03d", (i * 37) % 200);
    json_object_set_new(many, k, json_integer(i));
  }
  a = json_dumps(many, JSON_COMPACT | JSON_SORT_KEYS), b = hg_json_dumps(many, JSON_COMPACT | JSON_SORT_KEYS);
  assert_string_equal(a, b);
  same_in_arena(many, JSON_COMPACT | JSON_SORT_KEYS, a);
  hg_arena small; /* a limit the text does not fit in: NULL, as out of memory */
  hg_arena_init(&small, 64, 200);
  assert_null(hg_json_dumps_arena(many, JSON_COMPACT, &small));
  hg_arena_free(&small);
  free(a), free(b), json_decref(many);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(written_cases),
      cmocka_unit_test(generated),
      cmocka_unit_test(writer_cases),
      cmocka_unit_test(plain_runs),
  };
  hg_arena_init(&arena, 64, 0);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
