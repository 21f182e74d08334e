/* test_util.h — helpers shared by the unit tests: compile a lexicon from text, collect hits. */
#ifndef HG_TEST_UTIL_H
#define HG_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hegui/hegui.h"

typedef struct hit_list {
  hg_hit *v;
  size_t n, cap;
} hit_list;

static inline int collect_hit(void *ctx, const hg_hit *h) {
  hit_list *l = ctx;
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 16;
    l->v = realloc(l->v, l->cap * sizeof *l->v);
    if (!l->v) abort();
  }
  l->v[l->n++] = *h;
  return 0;
}

static inline hg_lexicon *lex_from_text(const char *text, unsigned max_noise) {
  hg_lexicon_source *src;
  hg_error err;
  if (hg_lexicon_source_new(&src)) abort();
  if (hg_lexicon_source_add_text(src, text, strlen(text), "test", NULL, &err)) {
    fprintf(stderr, "lexicon: %s\n", err.message);
    abort();
  }
  hg_compile_options o;
  hg_compile_options_init(&o);
  o.max_noise = max_noise;
  hg_lexicon *lex;
  if (hg_lexicon_compile(src, &o, &lex, &err)) {
    fprintf(stderr, "compile: %s\n", err.message);
    abort();
  }
  hg_lexicon_source_free(src);
  return lex;
}

static inline hit_list scan_all(hg_lexicon *lex, const char *text) {
  hit_list l = {0};
  hg_error err;
  if (hg_lexicon_scan(lex, text, strlen(text), collect_hit, &l, &err)) {
    fprintf(stderr, "scan: %s\n", err.message);
    abort();
  }
  return l;
}

#endif
