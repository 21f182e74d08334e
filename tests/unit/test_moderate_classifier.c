/* test_moderate_classifier.c — the classifier as a detector of the moderator: sentences cut where docs/moderation.md
 * says (checked against a naive splitter written here over code points, with threshold 0 so that every sentence
 * becomes a reason and its span shows the cut), scores equal to scoring each sentence's text alone, streamed =
 * whole on random cuttings, hold: sentence never releasing a byte of a sentence before it was judged (and hold:
 * none releasing it), the policy's thresholds, action, directions and category ceiling, and a reset moderator
 * giving exactly what a new one gives (with every detector on). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hegui/classify.h"
#include "hegui/moderate.h"
#include "hegui/takedown.h"
#include "test_util.h"

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

/* ---- a small model: "bad" when a sentence holds one of two insults ---- */

static const char *const neutral[] = {"今天", "天气", "很好", "我们", "去",   "公园", "散步", "吃饭",
                                      "学习", "工作", "朋友", "电影", "下午", "一起", "喜欢", "看书"};
static const char *const insults[] = {"蠢货", "狗东西"};

static hg_classifier *model;
static hg_classifier *wide; /* ten labels from the same texts, for parts (hg_classifier_part) */
static int want_scores = 1; /* moderate() asks for every label's score */

static int setup(void **state) {
  (void)state;
  enum { N = 600 };
  static char texts[N][128];
  static uint8_t labels[N];
  hg_classifier_example ex[N];
  for (size_t i = 0; i < N; i++) {
    int bad = i % 2;
    size_t words = 3 + rnd() % 5, pos = bad ? rnd() % words : words, len = 0;
    for (size_t w = 0; w < words; w++) {
      const char *t = w == pos ? insults[rnd() % 2] : neutral[rnd() % 16];
      len += (size_t)snprintf(texts[i] + len, sizeof texts[i] - len, "%s", t);
    }
    labels[i] = (uint8_t)bad;
    ex[i] = (hg_classifier_example){texts[i], len, &labels[i]};
  }
  hg_classifier_train_label l = {"abuse", "insult", 0.5f};
  hg_classifier_train_options o;
  hg_classifier_train_options_init(&o);
  o.labels = &l;
  o.label_count = 1;
  o.bucket_bits = 12;
  hg_error err;
  assert_int_equal(hg_classifier_train(ex, N, &o, &model, &err), HG_OK);
  enum { W = 10 };
  static const char *const codes[W] = {"insult", "A1b", "A2a", "A2b", "A2c", "insult", "A2e", "A3a", "A3b", "A4a"};
  static const char *const names[W] = {"w0", "w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "w9"};
  static uint8_t wl[N][W];
  hg_classifier_train_label wlab[W];
  for (size_t l = 0; l < W; l++)
    wlab[l] = (hg_classifier_train_label){names[l], codes[l], 0.5f};
  for (size_t i = 0; i < N; i++) {
    for (size_t l = 0; l < W; l++)
      wl[i][l] = (uint8_t)(l % 3 == 2 ? !labels[i] : labels[i]);
    ex[i].labels = wl[i];
  }
  o.labels = wlab;
  o.label_count = W;
  assert_int_equal(hg_classifier_train(ex, N, &o, &wide, &err), HG_OK);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  hg_classifier_unref(model);
  hg_classifier_unref(wide);
  return 0;
}

static hg_policy *policy_with(float threshold, hg_classifier_hold hold, hg_action action, unsigned directions,
                              hg_decision insult_ceiling) {
  hg_policy_config pc;
  hg_policy_config_init(&pc);
  pc.classifier = model;
  pc.classifier_threshold[0] = threshold;
  pc.classifier_hold = hold;
  pc.classifier_action = action;
  pc.classifier_directions = directions;
  pc.category_action[HG_CAT_INSULT] = insult_ceiling;
  pc.pii_action = HG_DECIDE_ALLOW; /* only the classifier runs */
  hg_policy *p;
  hg_error err;
  assert_int_equal(hg_policy_new(&pc, &p, &err), HG_OK);
  return p;
}

/* ---- the naive reference: sentences over code points, as docs/moderation.md states the rule ---- */

static int is_ender(uint32_t c) {
  return c == 0x3002 || c == 0xFF01 || c == 0xFF1F || c == 0xFF1B || c == 0x2026 || c == '!' || c == '?' || c == ';' ||
         c == '\n' || c == '\r';
}
static int is_soft(uint32_t c) {
  return c == 0xFF0C || c == 0x3001 || c == ',' || c == ' ' || c == '\t' || c == 0x3000;
}
static int is_noise(uint32_t c) { return is_ender(c) || is_soft(c) || c == '.'; }

typedef struct span {
  size_t start, end;
} span;

static size_t decode(const char *s, size_t len, uint32_t *cps, size_t *offs) {
  size_t n = 0, i = 0;
  while (i < len) {
    unsigned char b = (unsigned char)s[i];
    size_t k = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    uint32_t c = k == 1 ? b : b & (0x3Fu >> (k - 1));
    for (size_t j = 1; j < k; j++)
      c = c << 6 | ((unsigned char)s[i + j] & 0x3F);
    cps[n] = c;
    offs[n++] = i;
    i += k;
  }
  offs[n] = len;
  return n;
}

static size_t words_in(const uint32_t *cps, size_t from, size_t to) {
  size_t w = 0;
  for (size_t j = from; j < to; j++)
    w += !is_noise(cps[j]);
  return w;
}

/* The sentences of a text that are judged (at least HG_SENTENCE_MIN_WORDS words), as byte spans. */
static size_t naive_sentences(const char *text, size_t len, span *out) {
  static uint32_t cps[8192];
  static size_t offs[8193];
  size_t n = decode(text, len, cps, offs), count = 0, start = 0;
  for (size_t i = 0; i <= n; i++) {
    size_t cut = 0; /* exclusive end, in code points */
    if (i == n)
      cut = n;
    else if ((is_ender(cps[i]) ||
              (i > 0 && cps[i - 1] == '.' && (cps[i] == ' ' || cps[i] == '\t' || cps[i] == 0x3000))) &&
             words_in(cps, start, i + 1) >= HG_SENTENCE_MIN_WORDS)
      cut = i + 1;
    else if (i + 1 - start >= HG_SENTENCE_SOFT_MAX) {
      for (size_t j = i + 1; j > start + HG_SENTENCE_SOFT_MAX / 2 && !cut; j--)
        if (is_soft(cps[j - 1])) cut = j;
      if (!cut && i + 1 - start == HG_SENTENCE_MAX) cut = i + 1;
    }
    if (!cut || cut <= start) continue;
    if (words_in(cps, start, cut) >= HG_SENTENCE_MIN_WORDS) out[count++] = (span){offs[start], offs[cut]};
    start = cut;
  }
  return count;
}

/* ---- running the moderator ---- */

typedef struct run {
  hg_reason r[1024];
  size_t n;
  hg_decision decision;
  float best;
  int leaked; /* a byte of a flagged sentence was released before its reason */
} run;

/* Feeds text in pieces (cuts: sorted byte offsets); after each piece checks that nothing released lies in a
 * flagged sentence (expected) whose reason has not come yet. */
static void moderate(hg_policy *p, hg_direction dir, const char *text, size_t len, const size_t *cuts, size_t ncuts,
                     const span *flagged, size_t nflagged, run *out) {
  memset(out, 0, sizeof *out);
  hg_moderator *m;
  hg_error err;
  assert_int_equal(hg_moderator_new(p, dir, NULL, NULL, &m, &err), HG_OK);
  if (want_scores) assert_int_equal(hg_moderator_want_scores(m), HG_OK);
  size_t pos = 0;
  for (size_t i = 0; i <= ncuts; i++) {
    size_t end = i < ncuts ? cuts[i] : len;
    assert_int_equal(hg_moderator_feed(m, text + pos, end - pos, &err), HG_OK);
    pos = end;
    size_t n;
    const hg_reason *r = hg_moderator_reasons(m, &n);
    for (size_t k = 0; k < n && out->n < 1024; k++)
      out->r[out->n++] = r[k];
    hg_moderator_forget_reasons(m);
    size_t released = hg_moderator_offset(m) - hg_moderator_pending_suffix_len(m);
    for (size_t f = 0; f < nflagged; f++) {
      if (released <= flagged[f].start) continue;
      int seen = 0;
      for (size_t k = 0; k < out->n; k++)
        seen |= out->r[k].start == flagged[f].start && out->r[k].end == flagged[f].end;
      if (!seen) out->leaked = 1;
    }
  }
  assert_int_equal(hg_moderator_finish(m, &err), HG_OK);
  size_t n;
  const hg_reason *r = hg_moderator_reasons(m, &n);
  for (size_t k = 0; k < n && out->n < 1024; k++)
    out->r[out->n++] = r[k];
  size_t ns;
  const float *best = hg_moderator_scores(m, &ns);
  out->best = ns ? best[0] : -1.0f;
  out->decision = hg_moderator_decision(m);
  hg_moderator_free(m);
}

/* A random text of sentences: neutral words, sometimes an insult, enders and soft breaks, now and then a long run
 * with no punctuation (to reach the soft and hard cuts) and ". " (an English stop). */
static size_t random_text(char *buf, size_t cap) {
  static const char *const punct[] = {"。", "！",   "？", "；", "…", "!", "?",  ";",
                                      "\n", "\r\n", "，", "、", ",", " ", ". ", "."};
  size_t len = 0, sentences = 1 + rnd() % 12;
  for (size_t s = 0; s < sentences; s++) {
    size_t words = rnd() % 4 == 0 ? 60 + rnd() % 140 : 1 + rnd() % 12;
    for (size_t w = 0; w < words && len + 64 < cap; w++) {
      const char *t = rnd() % 9 == 0 ? insults[rnd() % 2] : neutral[rnd() % 16];
      len += (size_t)snprintf(buf + len, cap - len, "%s", t);
      if (rnd() % 11 == 0) len += (size_t)snprintf(buf + len, cap - len, "%s", punct[10 + rnd() % 6]);
    }
    if (len + 8 < cap) len += (size_t)snprintf(buf + len, cap - len, "%s", punct[rnd() % 16]);
  }
  return len;
}

/* ---- tests ---- */

/* Threshold 0: every sentence with a word is a reason, so the reasons' spans are the sentences; they must be the
 * naive splitter's, with the scores of each sentence's text scored alone, however the stream is cut. */
static void test_sentences_match_reference(void **state) {
  (void)state;
  hg_policy *p = policy_with(0.0f, HG_HOLD_SENTENCE, HG_ACTION_LOG, 3, HG_DECIDE_BLOCK);
  static char text[16384];
  static span expect[2048];
  static run got;
  size_t checked = 0;
  for (int iter = 0; iter < 300; iter++) {
    size_t len = random_text(text, sizeof text);
    size_t ne = naive_sentences(text, len, expect);
    size_t cuts[16], nc = rnd() % 16;
    for (size_t i = 0; i < nc; i++)
      cuts[i] = len ? rnd() % len : 0;
    for (size_t i = 1; i < nc; i++) /* insertion sort */
      for (size_t j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
        size_t t = cuts[j];
        cuts[j] = cuts[j - 1];
        cuts[j - 1] = t;
      }
    moderate(p, HG_DIR_OUTPUT, text, len, cuts, nc, NULL, 0, &got);
    if (got.n != ne)
      fail_msg("iteration %d: %zu sentences, the reference has %zu\n%.*s", iter, got.n, ne, (int)len, text);
    float best = 0.0f;
    for (size_t i = 0; i < ne; i++) {
      if (got.r[i].start != expect[i].start || got.r[i].end != expect[i].end)
        fail_msg("iteration %d sentence %zu: [%zu,%zu) instead of [%zu,%zu)", iter, i, got.r[i].start, got.r[i].end,
                 expect[i].start, expect[i].end);
      assert_int_equal(got.r[i].detector, HG_DETECTOR_CLASSIFIER);
      assert_int_equal(got.r[i].category, HG_CAT_INSULT);
      assert_int_equal(got.r[i].effect, HG_DECIDE_ALLOW); /* action log: recorded only */
      assert_string_equal(got.r[i].rule, "abuse");
      float alone;
      hg_error err;
      assert_int_equal(
          hg_classifier_score(model, text + expect[i].start, expect[i].end - expect[i].start, &alone, &err), HG_OK);
      if (fabsf(alone - got.r[i].score) > 1e-6f) fail_msg("score %f, alone %f", (double)got.r[i].score, (double)alone);
      if (alone > best) best = alone;
      checked++;
    }
    if (ne) assert_true(fabsf(got.best - best) <= 1e-6f);
  }
  assert_true(checked > 1000);
  hg_policy_unref(p);
}

/* hold: sentence never releases a byte of a flagged sentence before its reason, in any cutting (the leak
 * property); hold: none does, when the cut falls inside the sentence. */
static void test_hold(void **state) {
  (void)state;
  hg_policy *hold = policy_with(0.5f, HG_HOLD_SENTENCE, HG_ACTION_BLOCK, 3, HG_DECIDE_BLOCK);
  hg_policy *none = policy_with(0.5f, HG_HOLD_NONE, HG_ACTION_BLOCK, 3, HG_DECIDE_BLOCK);
  hg_policy *all = policy_with(0.0f, HG_HOLD_SENTENCE, HG_ACTION_LOG, 3, HG_DECIDE_BLOCK);
  static char text[16384];
  static span sent[2048], flagged[2048];
  static run got;
  size_t nflagged_total = 0, leaks_none = 0;
  for (int iter = 0; iter < 300; iter++) {
    size_t len = random_text(text, sizeof text);
    size_t ns = naive_sentences(text, len, sent), nf = 0;
    for (size_t i = 0; i < ns; i++) {
      float sc;
      hg_error err;
      assert_int_equal(hg_classifier_score(model, text + sent[i].start, sent[i].end - sent[i].start, &sc, &err), HG_OK);
      if (sc >= 0.5f) flagged[nf++] = sent[i];
    }
    nflagged_total += nf;
    /* every byte a cut: the finest stream */
    static size_t cuts[16384];
    for (size_t i = 0; i + 1 < len; i++)
      cuts[i] = i + 1;
    size_t nc = len ? len - 1 : 0;
    moderate(hold, HG_DIR_OUTPUT, text, len, cuts, nc, flagged, nf, &got);
    if (got.leaked) fail_msg("iteration %d: hold: sentence released a flagged sentence\n%.*s", iter, (int)len, text);
    size_t blocks = 0;
    for (size_t k = 0; k < got.n; k++)
      blocks += got.r[k].effect == HG_DECIDE_BLOCK;
    assert_int_equal(blocks, nf);
    assert_int_equal(got.decision, nf ? HG_DECIDE_BLOCK : HG_DECIDE_ALLOW);
    moderate(none, HG_DIR_OUTPUT, text, len, cuts, nc, flagged, nf, &got);
    leaks_none += got.leaked;
    (void)all;
  }
  assert_true(nflagged_total > 50);
  assert_true(leaks_none > 0); /* the difference between the two is real */
  hg_policy_unref(hold);
  hg_policy_unref(none);
  hg_policy_unref(all);
}

/* The policy: thresholds, the classifier's action under the category's ceiling, the directions. */
static void test_policy(void **state) {
  (void)state;
  const char *t = "我们今天去公园散步。你这个蠢货狗东西！";
  size_t len = strlen(t);
  static run got;
  hg_policy *p = policy_with(-1.0f, HG_HOLD_SENTENCE, HG_ACTION_BLOCK, 3, HG_DECIDE_BLOCK); /* the model's 0.5 */
  assert_float_equal(hg_policy_threshold(p, 0), 0.5f, 1e-6);
  moderate(p, HG_DIR_INPUT, t, len, NULL, 0, NULL, 0, &got);
  assert_int_equal(got.n, 1);
  assert_int_equal(got.r[0].start, strlen("我们今天去公园散步。"));
  assert_int_equal(got.r[0].end, len);
  assert_int_equal(got.decision, HG_DECIDE_BLOCK);
  assert_true(got.r[0].score >= 0.5f);
  hg_policy_unref(p);

  p = policy_with(1.0f, HG_HOLD_SENTENCE, HG_ACTION_BLOCK, 3, HG_DECIDE_BLOCK); /* nothing reaches 1 */
  moderate(p, HG_DIR_INPUT, t, len, NULL, 0, NULL, 0, &got);
  assert_int_equal(got.n, 0);
  assert_true(got.best > 0.5f); /* the score is still reported */
  hg_policy_unref(p);

  p = policy_with(-1.0f, HG_HOLD_SENTENCE, HG_ACTION_REVIEW, 3, HG_DECIDE_BLOCK);
  moderate(p, HG_DIR_INPUT, t, len, NULL, 0, NULL, 0, &got);
  assert_int_equal(got.decision, HG_DECIDE_REVIEW);
  hg_policy_unref(p);

  p = policy_with(-1.0f, HG_HOLD_SENTENCE, HG_ACTION_BLOCK, 3, HG_DECIDE_ALLOW); /* policy.actions.insult: allow */
  moderate(p, HG_DIR_INPUT, t, len, NULL, 0, NULL, 0, &got);
  assert_int_equal(got.n, 1);
  assert_int_equal(got.r[0].effect, HG_DECIDE_ALLOW);
  assert_int_equal(got.decision, HG_DECIDE_ALLOW);
  hg_policy_unref(p);

  p = policy_with(-1.0f, HG_HOLD_SENTENCE, HG_ACTION_BLOCK, 1u << HG_DIR_OUTPUT, HG_DECIDE_BLOCK);
  moderate(p, HG_DIR_INPUT, t, len, NULL, 0, NULL, 0, &got);
  assert_int_equal(got.n, 0);
  assert_true(got.best < 0.0f); /* did not run: no scores */
  moderate(p, HG_DIR_OUTPUT, t, len, NULL, 0, NULL, 0, &got);
  assert_int_equal(got.decision, HG_DECIDE_BLOCK);
  hg_policy_unref(p);

  /* a threshold out of range is refused */
  hg_policy_config pc;
  hg_policy_config_init(&pc);
  pc.classifier = model;
  pc.classifier_threshold[0] = 1.5f;
  hg_policy *bad = NULL;
  hg_error err;
  assert_int_equal(hg_policy_new(&pc, &bad, &err), HG_ERR_INVALID);
  assert_null(bad);
}

/* Only the labels that can flag are scored unless every score is asked for, from their rows packed apart: the
 * reasons and the verdict must be the same either way, on random texts and cuttings, for policies where some, all
 * or none of the ten labels act. */
static void test_acting_labels(void **state) {
  (void)state;
  static const float th[][10] = {{0.5f, 1, 1, 1, 1, 0.5f, 1, 1, 1, 1},
                                 {0, 1, 0.3f, 1, 1, 1, 1, 1, 1, 0.9f},
                                 {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f},
                                 {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}};
  static char text[16384];
  static run all, acting;
  size_t reasons = 0;
  for (size_t k = 0; k < sizeof th / sizeof *th; k++) {
    hg_policy_config pc;
    hg_policy_config_init(&pc);
    pc.classifier = wide;
    for (size_t l = 0; l < 10; l++)
      pc.classifier_threshold[l] = th[k][l];
    pc.pii_action = HG_DECIDE_ALLOW;
    hg_policy *p;
    hg_error err;
    assert_int_equal(hg_policy_new(&pc, &p, &err), HG_OK);
    for (int iter = 0; iter < 60; iter++) {
      size_t len = random_text(text, sizeof text);
      size_t cuts[4], nc = rnd() % 4;
      for (size_t i = 0; i < nc; i++)
        cuts[i] = len ? (i + 1) * len / (nc + 1) : 0;
      want_scores = 1;
      moderate(p, HG_DIR_OUTPUT, text, len, cuts, nc, NULL, 0, &all);
      want_scores = 0;
      moderate(p, HG_DIR_OUTPUT, text, len, cuts, nc, NULL, 0, &acting);
      want_scores = 1;
      assert_int_equal(acting.n, all.n);
      assert_int_equal(acting.decision, all.decision);
      for (size_t i = 0; i < all.n; i++) {
        assert_string_equal(acting.r[i].rule, all.r[i].rule);
        assert_int_equal(acting.r[i].start, all.r[i].start);
        assert_int_equal(acting.r[i].end, all.r[i].end);
        assert_memory_equal(&acting.r[i].score, &all.r[i].score, sizeof(float));
      }
      assert_true(acting.best < 0.0f); /* no scores unless asked for */
      reasons += all.n;
    }
    hg_policy_unref(p);
  }
  assert_true(reasons > 100);
}

/* A sentence of punctuation alone is not scored; the prior of an empty sentence would otherwise be a reason. */
static void test_noise_only(void **state) {
  (void)state;
  static run got;
  hg_policy *p = policy_with(0.0f, HG_HOLD_SENTENCE, HG_ACTION_LOG, 3, HG_DECIDE_BLOCK);
  const char *t = "。。！？\n\n…… ，、";
  moderate(p, HG_DIR_OUTPUT, t, strlen(t), NULL, 0, NULL, 0, &got);
  assert_int_equal(got.n, 0);
  hg_policy_unref(p);
}

/* ---- a reset moderator is a new one ---- */

/* Everything a caller can see of one text: per feed its status, the reasons taken, the pending suffix, the
 * sentence end and the offset; at the end the verdict, the total, the scores. */
typedef struct trace {
  hg_reason r[1024];
  char rule[1024][64]; /* the reasons' rule texts (an error's lives in the moderator) */
  size_t n;
  int status[32];
  size_t pending[32], sentence_end[32], offset[32];
  size_t nfeeds;
  hg_decision decision;
  size_t total, nscores;
  float scores[HG_CLASSIFIER_MAX_LABELS];
} trace;

static void take_into(hg_moderator *m, trace *t) {
  size_t n;
  const hg_reason *r = hg_moderator_reasons(m, &n);
  for (size_t k = 0; k < n && t->n < 1024; k++) {
    snprintf(t->rule[t->n], sizeof t->rule[0], "%s", r[k].rule ? r[k].rule : "");
    t->r[t->n++] = r[k];
  }
  hg_moderator_forget_reasons(m);
}

static void run_trace(hg_moderator *m, int scores, int track, const char *text, size_t len, const size_t *cuts,
                      size_t ncuts, trace *t) {
  memset(t, 0, sizeof *t);
  if (scores) assert_int_equal(hg_moderator_want_scores(m), HG_OK);
  if (track) assert_int_equal(hg_moderator_track_sentences(m), HG_OK);
  hg_error err;
  size_t pos = 0;
  for (size_t i = 0; i <= ncuts; i++) {
    size_t end = i < ncuts ? cuts[i] : len;
    t->status[t->nfeeds] = hg_moderator_feed(m, text + pos, end - pos, &err);
    pos = end;
    take_into(m, t);
    t->pending[t->nfeeds] = hg_moderator_pending_suffix_len(m);
    t->sentence_end[t->nfeeds] = hg_moderator_sentence_end(m);
    t->offset[t->nfeeds++] = hg_moderator_offset(m);
  }
  t->status[t->nfeeds] = hg_moderator_finish(m, &err);
  take_into(m, t);
  t->pending[t->nfeeds] = hg_moderator_pending_suffix_len(m);
  t->sentence_end[t->nfeeds] = hg_moderator_sentence_end(m);
  t->offset[t->nfeeds++] = hg_moderator_offset(m);
  t->decision = hg_moderator_decision(m);
  t->total = hg_moderator_reason_total(m);
  const float *best = hg_moderator_scores(m, &t->nscores);
  assert_true(t->nscores <= HG_CLASSIFIER_MAX_LABELS);
  if (t->nscores) memcpy(t->scores, best, t->nscores * sizeof *best);
}

static void assert_same_trace(const trace *a, const trace *b) {
  assert_int_equal(a->nfeeds, b->nfeeds);
  for (size_t i = 0; i < a->nfeeds; i++) {
    assert_int_equal(a->status[i], b->status[i]);
    assert_int_equal(a->pending[i], b->pending[i]);
    assert_int_equal(a->sentence_end[i], b->sentence_end[i]);
    assert_int_equal(a->offset[i], b->offset[i]);
  }
  assert_int_equal(a->n, b->n);
  for (size_t k = 0; k < a->n; k++) {
    const hg_reason *x = &a->r[k], *y = &b->r[k];
    assert_int_equal(x->detector, y->detector);
    assert_int_equal(x->effect, y->effect);
    assert_int_equal(x->category, y->category);
    assert_memory_equal(&x->score, &y->score, sizeof x->score);
    assert_string_equal(a->rule[k], b->rule[k]);
    assert_int_equal(x->rule_id, y->rule_id);
    assert_int_equal(x->mode, y->mode);
    assert_int_equal(x->start, y->start);
    assert_int_equal(x->end, y->end);
  }
  assert_int_equal(a->decision, b->decision);
  assert_int_equal(a->total, b->total);
  assert_int_equal(a->nscores, b->nscores);
  if (a->nscores) assert_memory_equal(a->scores, b->scores, a->nscores * sizeof *a->scores);
}

/* A random text as random_text, with personal data, rule and takedown matches and now and then a bad byte. */
static size_t random_mixed_text(char *buf, size_t cap, const char *taken) {
  static const char *const extra[] = {"13800138000", "user@example.com", "SECRET-42", "秘密代号", "\xC3("};
  size_t len = random_text(buf, cap / 2);
  for (int k = 0; k < 3 && len + 64 < cap; k++) {
    if (rnd() % 3) continue;
    size_t e = rnd() % 5;
    if (e == 4 && rnd() % 3) continue; /* bad bytes in one text of about nine */
    len += (size_t)snprintf(buf + len, cap - len, "%s", extra[e]);
    len += random_text(buf + len, (cap - len) / 4 > 64 ? (cap - len) / 4 : 0);
  }
  if (rnd() % 5 == 0 && len + strlen(taken) + 1 < cap) len += (size_t)snprintf(buf + len, cap - len, "%s", taken);
  return len;
}

static size_t random_cuts(size_t len, size_t *cuts) {
  size_t n = rnd() % 8;
  for (size_t i = 0; i < n; i++)
    cuts[i] = len ? rnd() % (len + 1) : 0;
  for (size_t i = 1; i < n; i++) /* insertion sort */
    for (size_t j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
      size_t x = cuts[j];
      cuts[j] = cuts[j - 1];
      cuts[j - 1] = x;
    }
  return n;
}

/* Every detector on (a lexicon, personal data, a rule, a takedown, the classifier with labels that act and labels
 * that only score), in both directions (the classifier only on output, so that sentences are also tracked without
 * it): one moderator per direction used over and over with reset, each text checked against a fresh moderator
 * (the reference) with the same options, want_scores and track_sentences switched at random between texts; a
 * used moderator was left finished, half fed, or stopped by bad UTF-8. */
static void test_reset_equals_new(void **state) {
  (void)state;
  const char *taken = "这是一段被举报并且已经下架的违规内容，不得再次生成，任何情况下都不行。";
  hg_takedown_entry e = {7, taken, strlen(taken)};
  hg_takedown_set *td;
  assert_int_equal(hg_takedown_set_build(&e, 1, NULL, &td, NULL), HG_OK);
  hg_lexicon *lex = lex_from_text("狗东西\tinsult\t3\tblock\n公园\tA1b\t3\treview\n散步\tA2a\t3\tredact\n", 3);
  hg_regex_rule rules[] = {{"secret", "secret-[0-9]{1,20}", HG_CAT_A1H, HG_ACTION_REDACT},
                           {"codename", "秘密代号", HG_CAT_A1H, HG_ACTION_REVIEW}};
  hg_policy_config pc;
  hg_policy_config_init(&pc);
  pc.classifier = wide;
  for (size_t l = 0; l < 10; l++)
    pc.classifier_threshold[l] = l % 4 == 1 ? 1.0f : l % 4 == 3 ? 0.0f : -1.0f;
  pc.classifier_directions = 1u << HG_DIR_OUTPUT;
  pc.classifier_action = HG_ACTION_REVIEW;
  pc.takedown_directions = 1u << HG_DIR_INPUT | 1u << HG_DIR_OUTPUT;
  pc.rules = rules;
  pc.rule_count = 2;
  hg_policy *p;
  hg_error err;
  if (hg_policy_new(&pc, &p, &err)) fail_msg("policy: %s", err.message);
  hg_moderator *used[2];
  for (int d = 0; d < 2; d++)
    assert_int_equal(hg_moderator_new(p, (hg_direction)d, lex, td, &used[d], &err), HG_OK);
  static char text[8192];
  static trace got, want;
  size_t cuts[8];
  int flagged = 0, scored = 0, failed = 0;
  for (int i = 0; i < 400; i++) {
    hg_direction dir = (hg_direction)(rnd() % 2);
    hg_moderator *m = used[dir];
    size_t len = random_mixed_text(text, sizeof text, taken);
    size_t ncuts = random_cuts(len, cuts);
    int scores = (int)(rnd() % 2), track = (int)(rnd() % 2);
    hg_moderator_reset(m);
    run_trace(m, scores, track, text, len, cuts, ncuts, &got);
    hg_moderator *fresh;
    assert_int_equal(hg_moderator_new(p, dir, lex, td, &fresh, &err), HG_OK);
    run_trace(fresh, scores, track, text, len, cuts, ncuts, &want);
    hg_moderator_free(fresh);
    assert_same_trace(&got, &want);
    flagged += want.n > 0;
    scored += want.nscores > 0;
    failed += want.status[want.nfeeds - 1] != HG_OK;
    if (rnd() % 4 == 0) { /* left half fed, with options on, before its next reset */
      len = random_mixed_text(text, sizeof text, taken);
      hg_moderator_want_scores(m);
      hg_moderator_track_sentences(m);
      hg_moderator_feed(m, text, len / 2, &err);
    }
  }
  /* the texts reached every kind of state that a reset must undo */
  assert_true(flagged > 100);
  assert_true(scored > 50);
  assert_true(failed > 5);
  for (int d = 0; d < 2; d++)
    hg_moderator_free(used[d]);
  hg_policy_unref(p);
  hg_lexicon_unref(lex);
  hg_takedown_set_unref(td);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sentences_match_reference),
      cmocka_unit_test(test_hold),
      cmocka_unit_test(test_policy),
      cmocka_unit_test(test_noise_only),
      cmocka_unit_test(test_acting_labels),
      cmocka_unit_test(test_reset_equals_new),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
