/* fuzz_takedown.c — differential libFuzzer target for takedown fingerprints: the first half of the input, split on
 * newlines, is the takedowns (the ones a set refuses on their own are left out, and the rest must then build); the
 * second half is scanned one-shot and as a stream cut where the input says. The decisions must agree, and the
 * stream must report at the chunk that completes the match, never later. Aborts on any difference. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hegui/takedown.h"
#include "hegui/text.h"

#define MAX_ENTRIES 256

static int64_t one_shot(hg_takedown_set *set, const char *text, size_t len) {
  int64_t id;
  hg_status st = hg_takedown_match(set, text, len, &id, NULL);
  if (st != HG_OK && st != HG_ERR_UTF8) abort();
  return id;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  unsigned seed = data[0];
  hg_takedown_options o;
  hg_takedown_options_init(&o);
  if (seed % 4) {
    o.shingle_chars = 1 + seed % 8;
    o.min_shingles = seed % 5;
    o.min_ratio = (float)(seed % 11) / 10.0f;
  }

  static hg_takedown_entry entries[MAX_ENTRIES];
  size_t n = 0, half = size / 2;
  const char *lines = (const char *)data;
  for (size_t start = 0; start <= half && n < MAX_ENTRIES;) {
    const char *nl = memchr(lines + start, '\n', half - start);
    size_t end = nl ? (size_t)(nl - lines) : half;
    hg_takedown_entry e = {(int64_t)n + 1, lines + start, end - start};
    hg_takedown_set *alone;
    hg_error err;
    hg_status st = hg_takedown_set_build(&e, 1, &o, &alone, &err);
    if (st == HG_OK) {
      hg_takedown_set_unref(alone);
      entries[n++] = e;
    } else if (st != HG_ERR_UTF8 && st != HG_ERR_INVALID) {
      abort();
    }
    start = end + 1;
  }
  hg_takedown_set *set;
  if (hg_takedown_set_build(entries, n, &o, &set, NULL)) abort();

  const char *text = (const char *)data + half;
  size_t len = size - half;
  hg_error e1, e2;
  int64_t id1;
  hg_status s1 = hg_takedown_match(set, text, len, &id1, &e1);

  hg_takedown_scanner *sc;
  if (hg_takedown_scanner_new(set, &sc)) abort();
  hg_status s2 = HG_OK;
  int64_t id2 = 0;
  size_t pos = 0, before = 0, after = 0;
  while (pos < len && !s2) {
    size_t step = 1 + (seed * 31u + pos * 7u) % (seed % 16 + 1);
    if (step > len - pos) step = len - pos;
    int64_t id;
    s2 = hg_takedown_scanner_feed(sc, text + pos, step, &id, &e2);
    if (!s2 && id && !id2) {
      id2 = id;
      before = pos;
      after = pos + step;
    }
    if (!s2 && id2 && id != id2) abort(); /* a decision stays */
    pos += step;
  }
  hg_takedown_scanner_free(sc);

  if (s1 == HG_OK) {
    if (s2 != HG_OK || id1 != id2) abort();
  } else if (s1 == HG_ERR_UTF8) {
    if (id1 || id2) abort();
    uint32_t cp;
    /* a stream cannot know that a sequence cut at its very end will never be completed; a whole text can */
    int truncated_tail = hg_utf8_decode((const uint8_t *)text + e1.offset, len - e1.offset, &cp) == 0;
    if (s2 == HG_ERR_UTF8 ? e1.offset != e2.offset : !(s2 == HG_OK && truncated_tail)) abort();
  } else {
    abort();
  }
  if (id2 && (one_shot(set, text, before) != 0 || one_shot(set, text, after) != id2)) abort();
  hg_takedown_set_unref(set);
  return 0;
}
