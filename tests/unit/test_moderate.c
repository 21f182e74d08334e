/* test_moderate.c — the moderator: the policy's rules (each category x entry action x direction against a table
 * written here, not derived from the code), a differential test against a naive reference (fold the whole text,
 * compare substrings with the allowed noise gaps) on random texts, streamed = one-shot on random cuttings, the
 * shared view giving what each scanner finds on its own, and takedowns held back from their first shingle. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hegui/moderate.h"
#include "test_util.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

typedef struct verdict {
  hg_decision decision;
  hg_reason r[512];
  size_t n;
} verdict;

static void moderate_chunks(hg_policy *p, hg_direction dir, hg_lexicon *lex, hg_takedown_set *td, const char *text,
                            size_t len, const size_t *cuts, size_t ncuts, verdict *out) {
  hg_moderator *m;
  hg_error err;
  assert_int_equal(hg_moderator_new(p, dir, lex, td, &m, &err), HG_OK);
  size_t pos = 0;
  for (size_t i = 0; i <= ncuts; i++) {
    size_t end = i < ncuts ? cuts[i] : len;
    hg_moderator_feed(m, text + pos, end - pos, &err);
    pos = end;
  }
  hg_moderator_finish(m, &err);
  size_t n;
  const hg_reason *r = hg_moderator_reasons(m, &n);
  out->n = n < 512 ? n : 512;
  if (out->n) memcpy(out->r, r, out->n * sizeof *r);
  out->decision = hg_moderator_decision(m);
  hg_moderator_free(m);
}

static void moderate_text(hg_policy *p, hg_direction dir, hg_lexicon *lex, const char *text, verdict *out) {
  moderate_chunks(p, dir, lex, NULL, text, strlen(text), NULL, 0, out);
}

/* ---- the rules: category action x entry action x direction ---- */

/* Expected effect of a lexicon entry, written out as docs/moderation.md states it. Rows: category action
 * (allow, review, redact, block); columns: entry action (block, review, redact, log). */
static const hg_decision expected_effect[4][4] = {
    /* category allow  */ {HG_DECIDE_ALLOW, HG_DECIDE_ALLOW, HG_DECIDE_ALLOW, HG_DECIDE_ALLOW},
    /* category review */ {HG_DECIDE_REVIEW, HG_DECIDE_REVIEW, HG_DECIDE_REVIEW, HG_DECIDE_ALLOW},
    /* category redact */ {HG_DECIDE_REDACT, HG_DECIDE_REVIEW, HG_DECIDE_REDACT, HG_DECIDE_ALLOW},
    /* category block  */ {HG_DECIDE_BLOCK, HG_DECIDE_REVIEW, HG_DECIDE_REDACT, HG_DECIDE_ALLOW},
};

static void test_rules_table(void **state) {
  (void)state;
  static const char *const entry_actions[] = {"block", "review", "redact", "log"};
  static const hg_decision cat_actions[] = {HG_DECIDE_ALLOW, HG_DECIDE_REVIEW, HG_DECIDE_REDACT, HG_DECIDE_BLOCK};
  for (int cat = 0; cat < HG_CATEGORY_COUNT; cat++) {
    if (cat == HG_CAT_PII) continue;
    for (int ea = 0; ea < 4; ea++) {
      char src[200];
      snprintf(src, sizeof src, "违禁词\t%s\t3\t%s\n", hg_category_code((hg_category)cat), entry_actions[ea]);
      hg_lexicon *lex = lex_from_text(src, 3);
      for (int ca = 0; ca < 4; ca++) {
        hg_policy_config pc;
        hg_policy_config_init(&pc);
        pc.category_action[cat] = cat_actions[ca];
        hg_policy *p;
        assert_int_equal(hg_policy_new(&pc, &p, NULL), HG_OK);
        for (int dir = 0; dir < 2; dir++) {
          verdict v;
          moderate_text(p, (hg_direction)dir, lex, "这里有违禁词。", &v);
          if (v.n != 1) fail_msg("%s %s: %zu reasons", hg_category_code((hg_category)cat), entry_actions[ea], v.n);
          assert_int_equal(v.r[0].detector, HG_DETECTOR_LEXICON);
          assert_int_equal(v.r[0].category, cat);
          assert_int_equal(v.r[0].start, strlen("这里有"));
          assert_int_equal(v.r[0].end, strlen("这里有违禁词"));
          if (v.r[0].effect != expected_effect[ca][ea])
            fail_msg("category %s=%s, entry %s, %s: got %s, want %s", hg_category_code((hg_category)cat),
                     hg_decision_name(cat_actions[ca]), entry_actions[ea], hg_direction_name((hg_direction)dir),
                     hg_decision_name(v.r[0].effect), hg_decision_name(expected_effect[ca][ea]));
          assert_int_equal(v.decision, expected_effect[ca][ea]);
        }
        hg_policy_unref(p);
      }
      hg_lexicon_unref(lex);
    }
  }
}

/* Personal data: the policy's pii action, in both directions; the detector is not run when it is allow. */
static void test_rules_pii(void **state) {
  (void)state;
  static const hg_decision actions[] = {HG_DECIDE_ALLOW, HG_DECIDE_REVIEW, HG_DECIDE_REDACT, HG_DECIDE_BLOCK};
  const char *text = "我的手机是13812345678，谢谢";
  for (int a = 0; a < 4; a++) {
    hg_policy_config pc;
    hg_policy_config_init(&pc);
    pc.pii_action = actions[a];
    hg_policy *p;
    assert_int_equal(hg_policy_new(&pc, &p, NULL), HG_OK);
    for (int dir = 0; dir < 2; dir++) {
      verdict v;
      moderate_text(p, (hg_direction)dir, NULL, text, &v);
      assert_int_equal(v.decision, actions[a]);
      if (actions[a] == HG_DECIDE_ALLOW) {
        assert_int_equal(v.n, 0);
        continue;
      }
      assert_int_equal(v.n, 1);
      assert_int_equal(v.r[0].detector, HG_DETECTOR_PII);
      assert_string_equal(v.r[0].rule, "mobile");
      assert_int_equal(v.r[0].category, HG_CAT_PII);
      assert_memory_equal(text + v.r[0].start, "13812345678", 11);
    }
    hg_policy_unref(p);
  }
}

/* Takedowns: output only by default; a prompt may quote a reported text. Bad UTF-8 blocks both ways. */
static void test_rules_takedown_and_text(void **state) {
  (void)state;
  const char *taken = "这是一段被举报并且已经下架的违规内容，不得再次生成，任何情况下都不行。";
  hg_takedown_entry e = {7, taken, strlen(taken)};
  hg_takedown_set *td;
  assert_int_equal(hg_takedown_set_build(&e, 1, NULL, &td, NULL), HG_OK);
  hg_policy_config pc;
  hg_policy_config_init(&pc);
  hg_policy *p;
  assert_int_equal(hg_policy_new(&pc, &p, NULL), HG_OK);
  verdict v;
  moderate_chunks(p, HG_DIR_OUTPUT, NULL, td, taken, strlen(taken), NULL, 0, &v);
  assert_int_equal(v.decision, HG_DECIDE_BLOCK);
  assert_int_equal(v.r[0].detector, HG_DETECTOR_TAKEDOWN);
  assert_int_equal(v.r[0].rule_id, 7);
  moderate_chunks(p, HG_DIR_INPUT, NULL, td, taken, strlen(taken), NULL, 0, &v);
  assert_int_equal(v.decision, HG_DECIDE_ALLOW);
  assert_int_equal(v.n, 0);
  for (int dir = 0; dir < 2; dir++) {
    moderate_chunks(p, (hg_direction)dir, NULL, NULL, "ab\xC3(", 4, NULL, 0, &v);
    assert_int_equal(v.decision, HG_DECIDE_BLOCK);
    assert_int_equal(v.r[v.n - 1].detector, HG_DETECTOR_TEXT);
    assert_int_equal(v.r[v.n - 1].start, 2);
  }
  hg_policy_unref(p);
  hg_takedown_set_unref(td);
}

/* Operator rules: matched on the folded view, effect by the same table as lexicon entries. */
static void test_rules_regex(void **state) {
  (void)state;
  static const hg_regex_rule rules[] = {{"qq", "qq\\d{5,11}", HG_CAT_A4B, HG_ACTION_BLOCK},
                                        {"wx", "微信[:：]?[a-z0-9_]{6,20}", HG_CAT_CUSTOM, HG_ACTION_REVIEW},
                                        {"card-ish", "卡号\\d{4}", HG_CAT_CUSTOM, HG_ACTION_REDACT}};
  hg_policy_config pc;
  hg_policy_config_init(&pc);
  pc.rules = rules;
  pc.rule_count = 3;
  pc.pii.types = 0;
  pc.category_action[HG_CAT_CUSTOM] = HG_DECIDE_REDACT; /* a ceiling: the review rule stays review */
  hg_policy *p;
  assert_int_equal(hg_policy_new(&pc, &p, NULL), HG_OK);
  const char *text = "加ＱＱ１２３４５６或者微信：abc_123，卡号1234";
  for (int dir = 0; dir < 2; dir++) {
    verdict v;
    moderate_text(p, (hg_direction)dir, NULL, text, &v);
    assert_int_equal(v.n, 3);
    assert_int_equal(v.decision, HG_DECIDE_BLOCK);
    assert_int_equal(v.r[0].detector, HG_DETECTOR_RULE);
    assert_string_equal(v.r[0].rule, "qq");
    assert_int_equal(v.r[0].category, HG_CAT_A4B);
    assert_int_equal(v.r[0].effect, HG_DECIDE_BLOCK);
    assert_int_equal(v.r[0].start, strlen("加"));
    assert_int_equal(v.r[0].end, strlen("加ＱＱ１２３４５６"));
    assert_string_equal(v.r[1].rule, "wx");
    assert_int_equal(v.r[1].effect, HG_DECIDE_REVIEW);
    assert_string_equal(v.r[2].rule, "card-ish");
    assert_int_equal(v.r[2].effect, HG_DECIDE_REDACT);
    /* cut anywhere: the same reasons */
    size_t len = strlen(text);
    for (size_t cut = 0; cut <= len; cut++) {
      verdict w;
      moderate_chunks(p, (hg_direction)dir, NULL, NULL, text, len, &cut, 1, &w);
      assert_int_equal(w.n, v.n);
      for (size_t i = 0; i < v.n; i++) {
        assert_int_equal(w.r[i].start, v.r[i].start);
        assert_int_equal(w.r[i].end, v.r[i].end);
        assert_int_equal(w.r[i].rule_id, v.r[i].rule_id);
      }
    }
  }
  hg_policy_unref(p);
  /* a bad rule: the policy is not built, and the error names the rule */
  static const hg_regex_rule bad[] = {{"loose", "a.*b", HG_CAT_CUSTOM, HG_ACTION_BLOCK}};
  pc.rules = bad;
  pc.rule_count = 1;
  hg_error err;
  assert_int_not_equal(hg_policy_new(&pc, &p, &err), HG_OK);
  assert_non_null(strstr(err.message, "rule 'loose'"));
}

/* A detector that fails blocks, and the reason says why; the life cycle is guarded. */
static void test_engine_error_and_life_cycle(void **state) {
  (void)state;
  static const hg_regex_rule rules[] = {{"backtrack", "(a|a){1,40}b", HG_CAT_CUSTOM, HG_ACTION_LOG}};
  hg_policy_config pc;
  hg_policy_config_init(&pc);
  pc.rules = rules;
  pc.rule_count = 1;
  hg_policy *p;
  assert_int_equal(hg_policy_new(&pc, &p, NULL), HG_OK);
  char text[64];
  memset(text, 'a', 63);
  text[63] = 0;
  verdict v;
  moderate_text(p, HG_DIR_INPUT, NULL, text, &v);
  assert_int_equal(v.decision, HG_DECIDE_BLOCK);
  assert_int_equal(v.n, 1);
  assert_int_equal(v.r[0].detector, HG_DETECTOR_ERROR);
  assert_int_equal(v.r[0].effect, HG_DECIDE_BLOCK);
  assert_int_equal(v.r[0].rule_id, HG_ERR_LIMIT); /* the message lived in the moderator, freed by now */
  /* a clean text: finish twice is one finish; feeding after it is refused and changes nothing */
  hg_moderator *m;
  assert_int_equal(hg_moderator_new(p, HG_DIR_INPUT, NULL, NULL, &m, NULL), HG_OK);
  assert_int_equal(hg_moderator_feed(m, "ok", 2, NULL), HG_OK);
  assert_int_equal(hg_moderator_finish(m, NULL), HG_OK);
  assert_int_equal(hg_moderator_finish(m, NULL), HG_OK);
  hg_error err;
  assert_int_equal(hg_moderator_feed(m, "x", 1, &err), HG_ERR_INVALID);
  assert_int_equal(hg_moderator_decision(m), HG_DECIDE_ALLOW);
  hg_moderator_reset(m);
  assert_int_equal(hg_moderator_feed(m, "ok", 2, NULL), HG_OK);
  hg_moderator_free(m);
  hg_policy_unref(p);
}

/* ---- differential: the moderator against a naive reference ---- */

static const char *const entries[] = {"法轮功", "冰毒", "赌博", "轮功", "毒品交易", "博彩"};
/* text pieces: entry characters (also in Traditional, full-width and variant forms), noise, ignorables, others */
static const char *const pieces[] = {"法",           "轮", "輪", "功", "冰", "毒", "赌", "賭",   "博", "品",
                                     "交",           "易", "彩", "的", "是", " ",  "*",  "、",   "\t", "__",
                                     "\xE2\x80\x8B", "a",  "1",  "😀",  "．", "。", "\n", "\r\n", "\r"};

typedef struct naive_hit {
  size_t entry, start, end;
  int strict; /* no noise between the characters */
} naive_hit;

/* Fold the whole text, keep the non-noise code points with their source spans, and compare every entry at every
 * position, allowing up to max_noise noise code points between two characters. */
static size_t naive_hits(const char *text, unsigned max_noise, naive_hit *out, size_t cap) {
  hg_norm_char *v;
  size_t n;
  if (hg_normalize(text, strlen(text), &v, &n, NULL)) abort();
  size_t *skel = malloc((n + 1) * sizeof *skel), ns = 0; /* indexes of non-noise folded code points */
  for (size_t i = 0; i < n; i++)
    if (!(v[i].flags & HG_CHAR_NOISE)) skel[ns++] = i;
  size_t found = 0;
  for (size_t e = 0; e < sizeof entries / sizeof *entries; e++) {
    hg_norm_char *ev;
    size_t en;
    if (hg_normalize(entries[e], strlen(entries[e]), &ev, &en, NULL)) abort();
    for (size_t k = 0; k + en <= ns; k++) {
      int ok = 1, strict = 1;
      for (size_t j = 0; j < en && ok; j++) {
        ok = v[skel[k + j]].cp == ev[j].cp;
        if (ok && j) {
          size_t gap = skel[k + j] - skel[k + j - 1] - 1;
          /* a line break is noise like a space; CR LF counts once */
          for (size_t q = skel[k + j - 1] + 2; q < skel[k + j]; q++)
            if (v[q].cp == '\n' && v[q - 1].cp == '\r') gap--;
          if (gap) strict = 0;
          ok = gap <= max_noise;
        }
      }
      if (ok && found < cap) out[found++] = (naive_hit){e, v[skel[k]].src_start, v[skel[k + en - 1]].src_end, strict};
    }
    free(ev);
  }
  free(skel);
  free(v);
  return found;
}

static int hit_order(const void *a, const void *b) {
  const naive_hit *x = a, *y = b;
  if (x->start != y->start) return x->start < y->start ? -1 : 1;
  if (x->end != y->end) return x->end < y->end ? -1 : 1;
  return x->entry < y->entry ? -1 : x->entry > y->entry;
}

static void test_differential_naive(void **state) {
  (void)state;
  char src[512] = "";
  for (size_t e = 0; e < sizeof entries / sizeof *entries; e++) {
    strcat(src, entries[e]);
    strcat(src, "\tA1h\t5\tblock\tfolded,noise\n");
  }
  hg_lexicon *lex = lex_from_text(src, 3);
  hg_policy_config pc;
  hg_policy_config_init(&pc);
  pc.pii.types = 0; /* lexicon only: the reference is for the lexicon */
  hg_policy *p;
  assert_int_equal(hg_policy_new(&pc, &p, NULL), HG_OK);
  static naive_hit want[512], got[512];
  size_t total_hits = 0;
  for (int round = 0; round < 3000; round++) {
    char text[1024] = "";
    size_t parts = 1 + rnd() % 30;
    for (size_t i = 0; i < parts; i++)
      strcat(text, pieces[rnd() % (sizeof pieces / sizeof *pieces)]);
    size_t nw = naive_hits(text, 3, want, 512);
    size_t len = strlen(text), cuts[8], ncuts = rnd() % 8;
    for (size_t i = 0; i < ncuts; i++)
      cuts[i] = len ? rnd() % (len + 1) : 0;
    for (size_t i = 1; i < ncuts; i++) /* sorted cut points */
      for (size_t j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
        size_t t = cuts[j];
        cuts[j] = cuts[j - 1];
        cuts[j - 1] = t;
      }
    verdict v;
    moderate_chunks(p, (hg_direction)(round & 1), lex, NULL, text, len, cuts, ncuts, &v);
    size_t ng = 0;
    for (size_t i = 0; i < v.n; i++) {
      size_t e = 0;
      while (strcmp(entries[e], v.r[i].rule))
        e++;
      got[ng++] = (naive_hit){e, v.r[i].start, v.r[i].end, v.r[i].mode == HG_MODE_FOLDED};
    }
    qsort(want, nw, sizeof *want, hit_order);
    qsort(got, ng, sizeof *got, hit_order);
    if (nw != ng) fail_msg("text '%s': naive %zu hits, moderator %zu", text, nw, ng);
    for (size_t i = 0; i < nw; i++)
      if (hit_order(&want[i], &got[i]) || want[i].strict != got[i].strict)
        fail_msg("text '%s': hit %zu differs (%s %zu-%zu vs %s %zu-%zu)", text, i, entries[want[i].entry],
                 want[i].start, want[i].end, entries[got[i].entry], got[i].start, got[i].end);
    assert_int_equal(v.decision, nw ? HG_DECIDE_BLOCK : HG_DECIDE_ALLOW);
    total_hits += nw;
  }
  if (total_hits < 300) fail_msg("only %zu hits: the texts did not exercise the matcher", total_hits);
  hg_policy_unref(p);
  hg_lexicon_unref(lex);
}

/* ---- the shared view finds what each scanner finds alone ---- */

typedef struct pii_list {
  hg_pii_hit v[256];
  size_t n;
} pii_list;
static int collect_pii(void *ctx, const hg_pii_hit *h) {
  pii_list *l = ctx;
  if (l->n < 256) l->v[l->n++] = *h;
  return 0;
}

static void test_view_equals_scanners(void **state) {
  (void)state;
  static const char *const bits[] = {"手机13812345678",
                                     "身份证11010519491231002X",
                                     "ｅｍａｉｌ：ａ＠ｂ．ｃｏｍ",
                                     "法轮功",
                                     "法*轮\t功",
                                     "卡号6222 0202 0000 0000 003",
                                     "，",
                                     "冰毒",
                                     "\xE2\x80\x8B",
                                     "ⅰⅱ",
                                     "⑩",
                                     "Ａ",
                                     "\n",
                                     "192.168.1.1",
                                     "sk-abcdefghijklmnopqrstuvwx"};
  hg_lexicon *lex = lex_from_text("法轮功\tA1h\t5\tblock\tfolded,noise,exact\n冰毒\tA1h\t5\tblock\n", 3);
  hg_policy_config pc;
  hg_policy_config_init(&pc);
  pc.pii.today_yyyymmdd = 20260101;
  hg_policy *p;
  assert_int_equal(hg_policy_new(&pc, &p, NULL), HG_OK);
  for (int round = 0; round < 500; round++) {
    char text[2048] = "";
    for (size_t i = 0, k = 1 + rnd() % 12; i < k; i++)
      strcat(text, bits[rnd() % (sizeof bits / sizeof *bits)]);
    size_t len = strlen(text);
    hit_list lh = {0};
    assert_int_equal(hg_lexicon_scan(lex, text, len, collect_hit, &lh, NULL), HG_OK);
    pii_list ph = {0};
    assert_int_equal(hg_pii_scan(&pc.pii, text, len, collect_pii, &ph, NULL), HG_OK);
    size_t cut = rnd() % (len + 1);
    verdict v;
    moderate_chunks(p, HG_DIR_INPUT, lex, NULL, text, len, &cut, 1, &v);
    size_t nl = 0, np = 0;
    for (size_t i = 0; i < v.n; i++) {
      if (v.r[i].detector == HG_DETECTOR_LEXICON) {
        assert_true(nl < lh.n);
        assert_int_equal(v.r[i].rule_id, lh.v[nl].entry);
        assert_int_equal(v.r[i].start, lh.v[nl].start);
        assert_int_equal(v.r[i].end, lh.v[nl].end);
        assert_int_equal(v.r[i].mode, lh.v[nl].mode);
        nl++;
      } else {
        assert_int_equal(v.r[i].detector, HG_DETECTOR_PII);
        assert_true(np < ph.n);
        assert_int_equal(v.r[i].rule_id, ph.v[np].type);
        assert_int_equal(v.r[i].start, ph.v[np].start);
        assert_int_equal(v.r[i].end, ph.v[np].end);
        np++;
      }
    }
    assert_int_equal(nl, lh.n);
    assert_int_equal(np, ph.n);
    free(lh.v);
  }
  hg_policy_unref(p);
  hg_lexicon_unref(lex);
}

/* ---- streams: hold-back never releases what a later reason covers ---- */

static void test_stream_holdback(void **state) {
  (void)state;
  const char *taken = "这是一段被举报并且已经下架的违规内容，不得再次生成，任何情况下都不行。";
  hg_takedown_entry e = {42, taken, strlen(taken)};
  hg_takedown_set *td;
  assert_int_equal(hg_takedown_set_build(&e, 1, NULL, &td, NULL), HG_OK);
  hg_lexicon *lex = lex_from_text("法轮功\tA1h\t5\tblock\tfolded,noise\n", 3);
  static const hg_regex_rule rules[] = {{"qq", "qq\\d{5,11}", HG_CAT_A4B, HG_ACTION_REDACT}};
  hg_policy_config pc;
  hg_policy_config_init(&pc);
  pc.rules = rules;
  pc.rule_count = 1;
  hg_policy *p;
  assert_int_equal(hg_policy_new(&pc, &p, NULL), HG_OK);
  static const char *const leads[] = {"好的，下面是回答：", "加qq12345678，", "你好。电话13812345678，", "法 轮 功 "};
  for (int round = 0; round < 2000; round++) {
    char text[1024];
    snprintf(text, sizeof text, "%s%s%s", leads[rnd() % 4], rnd() % 3 ? taken : "完全无关的一段普通文字，没有问题。",
             rnd() % 2 ? "谢谢。" : "");
    size_t len = strlen(text);
    hg_moderator *m;
    assert_int_equal(hg_moderator_new(p, HG_DIR_OUTPUT, lex, td, &m, NULL), HG_OK);
    size_t pos = 0, released = 0, seen = 0;
    for (int last = 0; !last;) {
      size_t step = 1 + rnd() % 7;
      if (pos < len) {
        if (step > len - pos) step = len - pos;
        hg_moderator_feed(m, text + pos, step, NULL);
        pos += step;
      } else {
        hg_moderator_finish(m, NULL);
        last = 1;
      }
      size_t n;
      const hg_reason *rs = hg_moderator_reasons(m, &n);
      for (; seen < n; seen++) /* nothing a new reason covers went out before it was known */
        if (rs[seen].effect >= HG_DECIDE_REDACT && rs[seen].start < released)
          fail_msg("round %d: %s reason at %zu-%zu but %zu bytes were already released", round,
                   hg_detector_name(rs[seen].detector), rs[seen].start, rs[seen].end, released);
      if (hg_moderator_decision(m) == HG_DECIDE_BLOCK) break;
      size_t r = last ? len : pos - hg_moderator_pending_suffix_len(m);
      assert_true(r >= released);
      released = r;
    }
    if (strstr(text, taken)) {
      assert_int_equal(hg_moderator_decision(m), HG_DECIDE_BLOCK);
      /* the taken-down text: not one byte of it went out */
      assert_true(released <= (size_t)(strstr(text, taken) - text));
    }
    hg_moderator_free(m);
  }
  hg_policy_unref(p);
  hg_lexicon_unref(lex);
  hg_takedown_set_unref(td);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rules_table),
      cmocka_unit_test(test_rules_pii),
      cmocka_unit_test(test_rules_takedown_and_text),
      cmocka_unit_test(test_rules_regex),
      cmocka_unit_test(test_engine_error_and_life_cycle),
      cmocka_unit_test(test_differential_naive),
      cmocka_unit_test(test_view_equals_scanners),
      cmocka_unit_test(test_stream_holdback),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
