/* fuzz_regex.c — libFuzzer target for operator regex rules. The input is a cut seed byte, up to eight patterns
 * one per line, a NUL, then the text. Every pattern set is either built or refused with a message and an offset
 * inside the pattern, never a crash (a refused rule is dropped and the rest built again); a built set scans the text
 * one-shot and as a stream cut where the seed says, and the two must give the same hits (or the same error), no hit may
 * cover bytes hold_from had released, and a scanner must never find PCRE2 looking further than the analyzer's window.
 * Aborts on any difference. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hegui/hegui.h"

#define MAX_RULES 8
#define MAX_HITS 4096

typedef struct run {
  hg_regex_hit hits[MAX_HITS];
  size_t n;
  size_t released;
  int violation;
} run;

static int on_hit(void *ctx, const hg_regex_hit *h) {
  run *r = ctx;
  if (h->start < r->released) r->violation = 1;
  if (r->n < MAX_HITS) r->hits[r->n++] = *h;
  return 0;
}

/* A window overrun means the analyzer under-counted a pattern: that is the bug this target hunts. */
static int analyzer_wrong(hg_status st, const hg_error *e) {
  return st == HG_ERR_LIMIT && strstr(e->message, "analyzed window") != NULL;
}

static int too_many_steps(hg_status st, const hg_error *e) {
  return st == HG_ERR_LIMIT && strstr(e->message, "too many steps") != NULL;
}

static void scan_both(hg_regex_set *set, unsigned seed, const char *text, size_t len) {
  static run one, streamed;
  memset(&one, 0, sizeof one);
  memset(&streamed, 0, sizeof streamed);
  hg_error e1, e2;
  hg_status s1 = hg_regex_scan(set, text, len, on_hit, &one, &e1);
  if (analyzer_wrong(s1, &e1)) abort();
  hg_norm_char *view;
  size_t n;
  if (hg_normalize(text, len, &view, &n, NULL)) {
    if (s1 != HG_ERR_UTF8) abort();
    return;
  }
  hg_regex_scanner *sc;
  if (hg_regex_scanner_new(set, on_hit, &streamed, &sc)) abort();
  hg_status s2 = HG_OK;
  size_t pos = 0;
  while (pos < n && !s2) {
    size_t step = 1 + (seed * 31u + pos * 7u) % (seed % 16 + 1);
    if (step > n - pos) step = n - pos;
    s2 = hg_regex_scanner_feed(sc, view + pos, step, &e2);
    pos += step;
    if (!s2 && (pos == n || view[pos].src_start >= view[pos - 1].src_end)) {
      size_t hold = hg_regex_scanner_hold_from(sc);
      size_t released = hold == SIZE_MAX ? view[pos - 1].src_end : hold;
      if (released < streamed.released || released > view[pos - 1].src_end) abort();
      streamed.released = released;
    }
  }
  if (!s2) s2 = hg_regex_scanner_finish(sc, &e2);
  hg_regex_scanner_free(sc);
  free(view);
  if (analyzer_wrong(s2, &e2)) abort();
  if (too_many_steps(s1, &e1) || too_many_steps(s2, &e2)) return; /* a step limit may trip in one and not the other */
  if (s1 != s2) abort();
  if (s1) return;
  if (one.n != streamed.n || streamed.violation) abort();
  for (size_t i = 0; i < one.n; i++)
    if (one.hits[i].rule != streamed.hits[i].rule || one.hits[i].start != streamed.hits[i].start ||
        one.hits[i].end != streamed.hits[i].end)
      abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  unsigned seed = data[0];
  const char *in = (const char *)data + 1;
  size_t len = size - 1;
  const char *nul = memchr(in, 0, len);
  size_t plen = nul ? (size_t)(nul - in) : len;
  const char *text = nul ? nul + 1 : "联系ＱＱ１２３４５６７ or 13812345678\nabc";
  size_t tlen = nul ? len - plen - 1 : strlen(text);

  char *patterns = malloc(plen + 1);
  if (!patterns) abort();
  memcpy(patterns, in, plen);
  patterns[plen] = 0;
  hg_regex_rule rules[MAX_RULES];
  char names[MAX_RULES][8];
  size_t nrules = 0;
  for (char *line = patterns; line && nrules < MAX_RULES;) {
    char *end = strchr(line, '\n');
    if (end) *end = 0;
    names[nrules][0] = 'r';
    names[nrules][1] = (char)('0' + nrules);
    names[nrules][2] = 0;
    rules[nrules] = (hg_regex_rule){names[nrules], line, HG_CAT_CUSTOM, HG_ACTION_BLOCK};
    nrules++;
    line = end ? end + 1 : NULL;
  }

  /* a refused rule is dropped and the rest built again, so that one broken pattern does not stop the scan */
  while (nrules) {
    hg_regex_set *set = NULL;
    hg_error err;
    hg_status st = hg_regex_set_build(rules, nrules, &set, &err);
    if (!st) {
      if (hg_regex_set_window(set) > HG_REGEX_MAX_WINDOW || hg_regex_set_count(set) != nrules) abort();
      scan_both(set, seed, text, tlen);
      hg_regex_set_unref(set);
      break;
    }
    /* a refusal names a rule that exists and points inside its pattern */
    if (set || !err.message[0] || err.line < 1 || err.line > nrules) abort();
    if (err.offset > strlen(rules[err.line - 1].pattern)) abort();
    memmove(&rules[err.line - 1], &rules[err.line], (nrules - err.line) * sizeof *rules);
    nrules--;
  }
  free(patterns);
  return 0;
}
