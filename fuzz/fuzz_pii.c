/* fuzz_pii.c — differential libFuzzer target for the PII detector: any input, cut into chunks chosen by the input
 * itself, gives exactly the hits of a one-shot scan (or the same UTF-8 error), no hit covers bytes already
 * released by pending_suffix_len, and redacting the input never fails on valid UTF-8. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hegui/pii.h"

typedef struct run {
  hg_pii_hit hits[1024];
  size_t n, released;
  int violation;
} run;

static int on_hit(void *ctx, const hg_pii_hit *h) {
  run *r = ctx;
  if (h->start < r->released) r->violation = 1;
  if (r->n < 1024) r->hits[r->n++] = *h;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  unsigned seed = data[0];
  const char *text = (const char *)data + 1;
  size_t len = size - 1;
  hg_pii_options o;
  hg_pii_options_init(&o);
  o.today_yyyymmdd = 20261129;
  if (seed & 1) o.types |= 1ull << HG_PII_PERSON_NAME;
  static run one, streamed;
  memset(&one, 0, sizeof one);
  memset(&streamed, 0, sizeof streamed);
  hg_error e1, e2;
  hg_status s1 = hg_pii_scan(&o, text, len, on_hit, &one, &e1);
  hg_pii_scanner *sc;
  if (hg_pii_scanner_new(&o, on_hit, &streamed, &sc)) return 0;
  hg_status s2 = HG_OK;
  for (size_t pos = 0; pos < len && !s2;) {
    size_t step = 1 + (seed * 17u + pos * 13u) % (seed % 32 + 1);
    if (step > len - pos) step = len - pos;
    s2 = hg_pii_scanner_feed(sc, text + pos, step, &e2);
    pos += step;
    if (!s2) {
      size_t rel = hg_pii_scanner_offset(sc) - hg_pii_scanner_pending_suffix_len(sc);
      if (rel < streamed.released) abort();
      streamed.released = rel;
    }
  }
  if (!s2) s2 = hg_pii_scanner_finish(sc, &e2);
  hg_pii_scanner_free(sc);
  if (s1 != s2 || (s1 == HG_ERR_UTF8 && e1.offset != e2.offset)) abort();
  if (!s1) {
    if (one.n != streamed.n || streamed.violation) abort();
    for (size_t i = 0; i < one.n; i++)
      if (one.hits[i].type != streamed.hits[i].type || one.hits[i].start != streamed.hits[i].start ||
          one.hits[i].end != streamed.hits[i].end)
        abort();
    hg_redact_options ro;
    hg_redact_options_init(&ro);
    hg_vault *v;
    if (hg_vault_new(&v)) return 0;
    ro.op = (hg_redact_op)(seed % 2 ? HG_REDACT_PLACEHOLDER : HG_REDACT_MASK);
    char *out;
    size_t ol, count;
    if (hg_pii_redact(&o, &ro, v, text, len, &out, &ol, &count, NULL) != HG_OK) abort();
    char *back;
    size_t bl;
    if (ro.op == HG_REDACT_PLACEHOLDER && hg_vault_restore(v, out, ol, &back, &bl) == HG_OK) free(back);
    free(out);
    hg_vault_free(v);
  }
  return 0;
}
