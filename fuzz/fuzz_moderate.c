/* fuzz_moderate.c — differential libFuzzer target for the moderator and its normalized view. Any input, cut into
 * chunks chosen by the input itself, must give the reasons of the byte-fed scanners run separately over the
 * whole text (the view must decode and fold exactly as each scanner does alone), the same reasons as one-shot
 * (the classifier's sentences and scores included: the built-in model at a low threshold, hold: sentence), and no
 * blocking or redacting reason may cover bytes that pending_suffix_len had already released. Aborts on any
 * difference. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hegui/hegui.h"

static hg_lexicon *lexicon(void) {
  static hg_lexicon *lex;
  if (lex) return lex;
  static const char src_text[] = "法轮功\tA1h\t5\tblock\tfolded,noise,collapse,pinyin\n"
                                 "冰毒\tA1h\t5\tblock\tfolded,noise,homophone\n"
                                 "大麻\tA1h\t4\tredact\n大麻哈鱼\tcustom\t1\tallow\n"
                                 "national\tcustom\t2\treview\tfolded,noise\n"
                                 "cocaine\tA1h\t4\tblock\texact,folded\n64\n08宪章\tA1a\t4\tblock\tall\n"
                                 "ab\tcustom\t1\tblock\tcollapse\naa\tcustom\t1\tlog\nabc\tcustom\t1\tallow\n";
  hg_lexicon_source *src;
  if (hg_lexicon_source_new(&src) ||
      hg_lexicon_source_add_text(src, src_text, sizeof src_text - 1, "fuzz", NULL, NULL) ||
      hg_lexicon_compile(src, NULL, &lex, NULL))
    abort();
  hg_lexicon_source_free(src);
  return lex;
}

static hg_takedown_set *takedowns(void) {
  static hg_takedown_set *set;
  if (set) return set;
  static const hg_takedown_entry e[] = {{1, "这是一段被举报并且已经下架的内容，不得再次生成。", 72},
                                        {2, "abcdefghijklmnop qrstuvwxyz", 27},
                                        {3, "短文", 6}};
  if (hg_takedown_set_build(e, 3, NULL, &set, NULL)) abort();
  return set;
}

static hg_policy *policy(void) {
  static hg_policy *p;
  if (p) return p;
  static const hg_regex_rule rules[] = {{"qq", "qq\\d{5,11}", HG_CAT_A4B, HG_ACTION_REDACT},
                                        {"behind", "(?<=联系)[a-z]{2,8}\\b", HG_CAT_CUSTOM, HG_ACTION_BLOCK},
                                        {"end", "再见$", HG_CAT_CUSTOM, HG_ACTION_REVIEW},
                                        {"ahead", "卡号(?=\\d{4})", HG_CAT_CUSTOM, HG_ACTION_LOG}};
  hg_policy_config pc;
  hg_policy_config_init(&pc);
  pc.pii.today_yyyymmdd = 20260101;
  pc.rules = rules;
  pc.rule_count = sizeof rules / sizeof *rules;
  if (hg_classifier_builtin(&pc.classifier, NULL)) abort();
  for (size_t i = 0; i < HG_CLASSIFIER_MAX_LABELS; i++)
    pc.classifier_threshold[i] = 0.2f; /* many sentences become reasons */
  if (hg_policy_new(&pc, &p, NULL)) abort();
  hg_classifier_unref(pc.classifier);
  return p;
}

typedef struct run {
  hg_reason r[2048];
  size_t n;
  hg_decision d;
  hg_status st;
} run;

static void take(hg_moderator *m, run *r, size_t released) {
  size_t n;
  const hg_reason *v = hg_moderator_reasons(m, &n);
  for (size_t i = 0; i < n; i++) {
    if (v[i].effect >= HG_DECIDE_REDACT && v[i].detector != HG_DETECTOR_TEXT && v[i].start < released) abort();
    if (r->n < 2048) r->r[r->n++] = v[i];
  }
  hg_moderator_forget_reasons(m);
}

static void moderate(const char *text, size_t len, unsigned seed, run *r) {
  hg_moderator *m;
  memset(r, 0, sizeof *r);
  if (hg_moderator_new(policy(), HG_DIR_OUTPUT, lexicon(), takedowns(), &m, NULL)) abort();
  size_t pos = 0, released = 0;
  while (pos < len && !r->st) {
    size_t step = seed ? 1 + (seed * 31u + pos * 7u) % (seed % 16 + 1) : len;
    if (step > len - pos) step = len - pos;
    r->st = hg_moderator_feed(m, text + pos, step, NULL);
    pos += step;
    take(m, r, released);
    if (!r->st && hg_moderator_decision(m) != HG_DECIDE_BLOCK) {
      size_t rel = pos - hg_moderator_pending_suffix_len(m);
      if (rel < released) abort(); /* releasing never goes back */
      released = rel;
    }
  }
  if (!r->st) r->st = hg_moderator_finish(m, NULL);
  take(m, r, hg_moderator_decision(m) == HG_DECIDE_BLOCK ? 0 : released);
  r->d = hg_moderator_decision(m);
  hg_moderator_free(m);
}

static int same(const hg_reason *a, const hg_reason *b) {
  return a->detector == b->detector && a->effect == b->effect && a->rule_id == b->rule_id && a->start == b->start &&
         a->end == b->end && a->mode == b->mode && a->score == b->score;
}

typedef struct lex_run {
  hg_hit v[2048];
  size_t n;
} lex_run;
static int on_hit(void *ctx, const hg_hit *h) {
  lex_run *l = ctx;
  if (l->n < 2048) l->v[l->n++] = *h;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  unsigned seed = data[0];
  const char *text = (const char *)data + 1;
  size_t len = size - 1;
  static run one, streamed;
  static lex_run alone;
  moderate(text, len, 0, &one);
  moderate(text, len, seed | 1, &streamed);
  if (one.st != streamed.st || one.d != streamed.d) abort();
  if (one.st) return 0; /* both stopped at the same bad bytes; the reasons before them may differ in number */
  if (one.n != streamed.n) abort();
  /* the same reasons, in the order they became certain, except that takedown and lexicon may interleave
     differently with chunking: compare per detector */
  for (int det = 0; det <= HG_DETECTOR_CLASSIFIER; det++) {
    size_t i = 0, j = 0;
    for (;;) {
      while (i < one.n && (int)one.r[i].detector != det)
        i++;
      while (j < streamed.n && (int)streamed.r[j].detector != det)
        j++;
      if (i == one.n || j == streamed.n) {
        if (i != one.n || j != streamed.n) abort();
        break;
      }
      if (!same(&one.r[i], &streamed.r[j])) abort();
      i++, j++;
    }
  }
  /* the view decodes and folds as the scanner does alone */
  alone.n = 0;
  if (hg_lexicon_scan(lexicon(), text, len, on_hit, &alone, NULL)) abort();
  size_t k = 0;
  for (size_t i = 0; i < one.n; i++) {
    if (one.r[i].detector != HG_DETECTOR_LEXICON) continue;
    if (k >= alone.n || (size_t)one.r[i].rule_id != alone.v[k].entry || one.r[i].start != alone.v[k].start ||
        one.r[i].end != alone.v[k].end)
      abort();
    k++;
  }
  if (k != alone.n) abort();
  return 0;
}
