/* test_classify.c — the learned classifier: it learns a small separable task, the same seed gives the same bytes,
 * an image survives a save/open round trip and every truncation, flipped byte or inconsistent field is refused,
 * scores stay in [0,1]; and the CSV/TSV/JSON Lines reader that feeds training (quoting, errors with file:line). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/crc32.h"
#include "classify/classify_internal.h"
#include "classify/table.h"
#include "hegui/classify.h"

/* A synthetic task: label 0 (insult) when a text holds an insult word, label 1 (spam) when it holds a contact
 * lure; filler words otherwise. Separable by character bigrams. */
static const char *const FILLER[] = {"今天", "天气", "朋友", "学习", "吃饭", "公园", "电影", "hello", "world", "北京"};
static const char *const INSULT[] = {"傻逼", "废物", "滚蛋", "脑残"};
static const char *const SPAM[] = {"加微信", "vx领取", "免费代开发票", "兼职刷单"};

typedef struct dataset {
  hg_classifier_example *ex;
  char **texts;
  uint8_t *truth;
  size_t n;
} dataset;

static uint64_t rnd(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static dataset make_data(size_t n, uint64_t seed) {
  dataset d = {calloc(n, sizeof(hg_classifier_example)), calloc(n, sizeof(char *)), calloc(n, 2), n};
  assert_non_null(d.ex);
  for (size_t i = 0; i < n; i++) {
    char buf[256] = "";
    int insult = rnd(&seed) % 3 == 0, spam = rnd(&seed) % 3 == 0;
    int words = 3 + (int)(rnd(&seed) % 4), at_i = (int)(rnd(&seed) % (unsigned)words),
        at_s = (int)(rnd(&seed) % (unsigned)words);
    for (int w = 0; w < words; w++) {
      strcat(buf, FILLER[rnd(&seed) % 10]);
      if (insult && w == at_i) strcat(buf, INSULT[rnd(&seed) % 4]);
      if (spam && w == at_s) strcat(buf, SPAM[rnd(&seed) % 4]);
    }
    d.texts[i] = strdup(buf);
    d.truth[2 * i] = (uint8_t)insult;
    d.truth[2 * i + 1] = (uint8_t)spam;
    d.ex[i] = (hg_classifier_example){d.texts[i], strlen(buf), d.truth + 2 * i};
  }
  return d;
}

static void free_data(dataset *d) {
  for (size_t i = 0; i < d->n; i++)
    free(d->texts[i]);
  free(d->texts);
  free(d->ex);
  free(d->truth);
}

static const hg_classifier_train_label LABELS[] = {{"insult", "insult", -1.0f}, {"lure", "a.1H", -1.0f}};

static hg_classifier *train(const dataset *d, unsigned bits, uint64_t seed) {
  hg_classifier_train_options o;
  hg_classifier_train_options_init(&o);
  o.labels = LABELS;
  o.label_count = 2;
  o.bucket_bits = bits;
  o.seed = seed;
  hg_classifier *m = NULL;
  hg_error err;
  hg_status st = hg_classifier_train(d->ex, d->n, &o, &m, &err);
  if (st) fprintf(stderr, "train: %s\n", err.message);
  assert_int_equal(st, HG_OK);
  return m;
}

static void test_learns_separable_task(void **state) {
  (void)state;
  dataset tr = make_data(1200, 7), te = make_data(300, 99);
  hg_classifier *m = train(&tr, 16, 1);
  assert_int_equal(hg_classifier_label_count(m), 2);
  hg_classifier_label_info info;
  assert_int_equal(hg_classifier_label(m, 1, &info), HG_OK);
  assert_string_equal(info.name, "lure");
  assert_string_equal(info.code, "A1h"); /* canonical spelling */
  assert_true(info.threshold > 0.0f && info.threshold < 1.0f);
  assert_int_equal(hg_classifier_label(m, 2, &info), HG_ERR_INVALID);
  size_t wrong[2] = {0};
  for (size_t i = 0; i < te.n; i++) {
    float s[2];
    assert_int_equal(hg_classifier_score(m, te.ex[i].text, te.ex[i].len, s, NULL), HG_OK);
    for (int l = 0; l < 2; l++) {
      hg_classifier_label(m, (size_t)l, &info);
      wrong[l] += (s[l] >= info.threshold) != te.truth[2 * i + l];
    }
  }
  assert_true(wrong[0] <= te.n / 50); /* at least 98% right */
  assert_true(wrong[1] <= te.n / 50);
  /* width, case and Traditional variants fold to the same features, hence the same scores */
  float a[2], b[2];
  assert_int_equal(hg_classifier_score(m, "朋友加微信VX领取", strlen("朋友加微信VX领取"), a, NULL), HG_OK);
  assert_int_equal(hg_classifier_score(m, "朋友加微信ｖｘ領取", strlen("朋友加微信ｖｘ領取"), b, NULL), HG_OK);
  assert_true(a[1] == b[1] && a[0] == b[0]);
  hg_classifier_label(m, 1, &info);
  assert_true(a[1] >= info.threshold);
  hg_classifier_unref(m);
  free_data(&tr);
  free_data(&te);
}

/* Unknown values neither train a label nor choose its threshold: a label unknown everywhere stays at its prior
 * (bias 0, no weights: exactly 0.5, threshold 0.5); one unknown for half the examples still learns. */
static void test_unknown_labels(void **state) {
  (void)state;
  dataset tr = make_data(1200, 21), te = make_data(300, 22);
  for (size_t i = 0; i < tr.n; i++)
    tr.truth[2 * i + 1] = HG_CLASSIFIER_UNKNOWN;
  hg_classifier *m = train(&tr, 14, 1);
  hg_classifier_label_info info;
  hg_classifier_label(m, 1, &info);
  assert_true(info.threshold == 0.5f);
  float s[2];
  assert_int_equal(hg_classifier_score(m, "加微信vx领取", strlen("加微信vx领取"), s, NULL), HG_OK);
  assert_true(s[1] == 0.5f);
  hg_classifier_unref(m);
  for (size_t i = 0; i < tr.n; i += 2) /* half annotated again, from the same generator's truth */
    tr.truth[2 * i + 1] = (uint8_t)(strstr(tr.texts[i], "微信") || strstr(tr.texts[i], "vx") ||
                                    strstr(tr.texts[i], "发票") || strstr(tr.texts[i], "刷单"));
  m = train(&tr, 14, 1);
  hg_classifier_label(m, 1, &info);
  size_t wrong = 0;
  for (size_t i = 0; i < te.n; i++) {
    assert_int_equal(hg_classifier_score(m, te.ex[i].text, te.ex[i].len, s, NULL), HG_OK);
    wrong += (s[1] >= info.threshold) != te.truth[2 * i + 1];
  }
  assert_true(wrong <= te.n / 50);
  hg_classifier_unref(m);
  free_data(&tr);
  free_data(&te);
}

/* The view entry point gives the very scores of the text entry point, from the whole-text view and from the
 * streaming normalizer's (which keeps ignorable code points as cp 0), chunks cut anywhere. */
static void test_score_view(void **state) {
  (void)state;
  dataset tr = make_data(300, 31);
  hg_classifier *m = train(&tr, 12, 1);
  const char *texts[] = {"", "加微信 VX领取！", "傻\xe2\x80\x8b逼 ⑩ＡＢＣ", "a", "朋友。\r\n吃饭 😀 領取"};
  char *big = malloc(100000);
  for (size_t i = 0; i + 10 <= 100000; i += 10)
    memcpy(big + i, "傻逼, ok\xe2\x80\x8b", 10);
  for (size_t t = 0; t < 6; t++) {
    const char *text = t < 5 ? texts[t] : big;
    size_t len = t < 5 ? strlen(text) : 100000;
    float a[2], b[2], c[2];
    assert_int_equal(hg_classifier_score(m, text, len, a, NULL), HG_OK);
    hg_norm_char *v;
    size_t n;
    assert_int_equal(hg_normalize(text, len, &v, &n, NULL), HG_OK);
    hg_classifier_score_view(m, v, n, b);
    free(v);
    assert_memory_equal(a, b, sizeof a);
    hg_normalizer *nz;
    assert_int_equal(hg_normalizer_new(&nz), HG_OK);
    hg_norm_char *all = malloc((len + 1) * sizeof *all);
    size_t total = 0;
    for (size_t pos = 0; pos < len; pos += 7) {
      const hg_norm_char *chars;
      size_t k;
      assert_int_equal(hg_normalizer_feed(nz, text + pos, len - pos < 7 ? len - pos : 7, &chars, &k, NULL), HG_OK);
      memcpy(all + total, chars, k * sizeof *chars);
      total += k;
    }
    assert_int_equal(hg_normalizer_finish(nz, NULL), HG_OK);
    hg_normalizer_free(nz);
    hg_classifier_score_view(m, all, total, c);
    free(all);
    assert_memory_equal(a, c, sizeof a);
  }
  free(big);
  hg_classifier_unref(m);
  free_data(&tr);
}

/* A part's margins are the model's margins of the same labels, bit for bit, for parts of every width (the narrow
 * 8-byte rows, the 32-byte lanes past 8 labels) and texts short and long; bad label lists are refused. */
static void test_part(void **state) {
  (void)state;
  enum { L = 12 };
  static const char *const codes[L] = {"insult", "A1b", "A2a", "A2b", "A2c", "A2d",
                                       "A2e",    "A3a", "A3b", "A4a", "A4b", "spam"};
  static char names[L][8];
  hg_classifier_train_label labels[L];
  dataset d = make_data(300, 77);
  uint8_t *truth = calloc(d.n * L, 1);
  for (size_t i = 0; i < d.n; i++) {
    for (size_t l = 0; l < L; l++)
      truth[i * L + l] = d.truth[2 * i + (l % 2)];
    d.ex[i].labels = truth + i * L;
  }
  for (size_t l = 0; l < L; l++) {
    snprintf(names[l], sizeof names[l], "l%zu", l);
    labels[l] = (hg_classifier_train_label){names[l], codes[l], -1.0f};
  }
  hg_classifier_train_options o;
  hg_classifier_train_options_init(&o);
  o.labels = labels;
  o.label_count = L;
  o.bucket_bits = 11;
  hg_classifier *m = NULL;
  hg_error err;
  assert_int_equal(hg_classifier_train(d.ex, d.n, &o, &m, &err), HG_OK);
  char *big = malloc(60000);
  for (size_t i = 0; i + 10 <= 60000; i += 10)
    memcpy(big + i, "傻逼, ok\xe2\x80\x8b", 10);
  const char *texts[] = {"", "加微信 VX领取！", "今天天气好，朋友学习。", "傻逼废物", big};
  static const size_t picks[][L + 1] = {/* count, then the labels */
                                        {1, 0},
                                        {1, 11},
                                        {2, 0, 5},
                                        {4, 0, 2, 6, 11},
                                        {8, 0, 1, 2, 3, 4, 5, 6, 7},
                                        {9, 1, 2, 3, 4, 5, 6, 7, 8, 11},
                                        {12, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}};
  for (size_t k = 0; k < sizeof picks / sizeof *picks; k++) {
    hg_classifier_part *part = NULL;
    assert_int_equal(hg_classifier_part_new(m, picks[k] + 1, picks[k][0], &part, &err), HG_OK);
    assert_int_equal(hg_classifier_part_label_count(part), picks[k][0]);
    for (size_t t = 0; t < 5; t++) {
      size_t len = t < 4 ? strlen(texts[t]) : 60000;
      hg_norm_char *v;
      size_t n;
      assert_int_equal(hg_normalize(texts[t], len, &v, &n, NULL), HG_OK);
      float all[L], got[L];
      hg_classifier_margins_view(m, v, n, all);
      hg_classifier_part_margins_view(part, v, n, got);
      free(v);
      for (size_t i = 0; i < picks[k][0]; i++)
        assert_memory_equal(&got[i], &all[picks[k][1 + i]], sizeof(float));
    }
    hg_classifier_part_free(part);
  }
  hg_classifier_part *bad = NULL;
  static const size_t unordered[] = {3, 1}, too_big[] = {0, 12};
  assert_int_equal(hg_classifier_part_new(m, unordered, 2, &bad, &err), HG_ERR_INVALID);
  assert_int_equal(hg_classifier_part_new(m, too_big, 2, &bad, &err), HG_ERR_INVALID);
  assert_int_equal(hg_classifier_part_new(m, unordered, 0, &bad, &err), HG_ERR_INVALID);
  assert_null(bad);
  hg_classifier_part_free(NULL);
  free(big);
  hg_classifier_unref(m);
  free(truth);
  free_data(&d);
}

static void test_deterministic(void **state) {
  (void)state;
  dataset tr = make_data(400, 3);
  hg_classifier *m1 = train(&tr, 12, 42), *m2 = train(&tr, 12, 42), *m3 = train(&tr, 12, 43);
  size_t l1, l2, l3;
  const void *i1 = hg_classifier_image(m1, &l1), *i2 = hg_classifier_image(m2, &l2), *i3 = hg_classifier_image(m3, &l3);
  assert_int_equal(l1, l2);
  assert_memory_equal(i1, i2, l1);
  assert_int_equal(l1, l3);
  assert_true(memcmp(i1, i3, l1) != 0); /* another seed, another split and order */
  hg_classifier_unref(m1);
  hg_classifier_unref(m2);
  hg_classifier_unref(m3);
  free_data(&tr);
}

static void test_round_trip(void **state) {
  (void)state;
  dataset tr = make_data(300, 5);
  hg_classifier *m = train(&tr, 12, 1);
  char path[] = "/tmp/hg-classify-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  hg_error err;
  assert_int_equal(hg_classifier_save(m, path, &err), HG_OK);
  hg_classifier *opened, *copied;
  assert_int_equal(hg_classifier_open(path, &opened, &err), HG_OK);
  size_t len;
  const void *img = hg_classifier_image(m, &len);
  assert_int_equal(hg_classifier_from_image(img, len, &copied, &err), HG_OK);
  assert_ptr_equal(hg_classifier_ref(copied), copied);
  hg_classifier_unref(copied);
  assert_int_equal(hg_classifier_bucket_bits(opened), 12);
  for (size_t i = 0; i < tr.n; i++) {
    float a[2], b[2], c[2];
    hg_classifier_score(m, tr.ex[i].text, tr.ex[i].len, a, NULL);
    hg_classifier_score(opened, tr.ex[i].text, tr.ex[i].len, b, NULL);
    hg_classifier_score(copied, tr.ex[i].text, tr.ex[i].len, c, NULL);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_equal(a, c, sizeof a);
  }
  for (size_t l = 0; l < 2; l++) {
    hg_classifier_label_info x, y;
    hg_classifier_label(m, l, &x);
    hg_classifier_label(opened, l, &y);
    assert_string_equal(x.name, y.name);
    assert_string_equal(x.code, y.code);
    assert_true(x.threshold == y.threshold);
  }
  hg_classifier_unref(opened);
  /* a truncated file is refused on open too */
  assert_int_equal(truncate(path, (off_t)len - 1), 0);
  assert_int_equal(hg_classifier_open(path, &opened, &err), HG_ERR_CORRUPT);
  assert_non_null(strstr(err.message, path));
  assert_int_equal(hg_classifier_open("/nonexistent/model", &opened, &err), HG_ERR_IO);
  unlink(path);
  hg_classifier_unref(copied);
  hg_classifier_unref(m);
  free_data(&tr);
}

static hg_status load(const unsigned char *img, size_t len) {
  hg_classifier *m = NULL;
  hg_error err;
  hg_status st = hg_classifier_from_image(img, len, &m, &err);
  if (!st) {
    float s[HG_CLASSIFIER_MAX_LABELS];
    assert_int_equal(hg_classifier_score(m, "你好", 6, s, NULL), HG_OK);
    hg_classifier_unref(m);
  } else {
    assert_int_equal(err.status, st);
  }
  return st;
}

static void refix_crc(unsigned char *img, size_t len) {
  uint32_t crc = hg_crc32(0, img + sizeof(cls_header), len - sizeof(cls_header));
  memcpy(img + offsetof(cls_header, crc), &crc, 4);
}

static void test_every_corruption_refused(void **state) {
  (void)state;
  dataset tr = make_data(200, 11);
  hg_classifier *m = train(&tr, 10, 1);
  size_t len;
  const unsigned char *orig = hg_classifier_image(m, &len);
  unsigned char *img = malloc(len + 8);
  assert_int_equal(load(orig, len), HG_OK);
  for (size_t cut = 0; cut < len; cut++) /* every truncation */
    assert_int_equal(load(orig, cut), HG_ERR_CORRUPT);
  memcpy(img, orig, len);
  memset(img + len, 0, 8);
  assert_int_equal(load(img, len + 8), HG_ERR_CORRUPT); /* padded */
  for (size_t i = 0; i < len; i++) /* every byte, two kinds of flip: magic, header, checksum or body */
    for (int bit = 0; bit < 8; bit += 7) {
      memcpy(img, orig, len);
      img[i] ^= (unsigned char)(1u << bit);
      assert_int_equal(load(img, len), HG_ERR_CORRUPT);
    }
  /* with the checksum recomputed, the structural checks alone must catch inconsistent fields */
  const cls_header *h = (const cls_header *)orig;
  const cls_section *tab = (const cls_section *)(orig + sizeof *h);
  size_t lab = tab[CS_LABELS].offset;
  struct {
    size_t at;
    uint32_t value;
  } edits[] = {
      {offsetof(cls_header, version), 2},
      {offsetof(cls_header, label_count), 3},
      {offsetof(cls_header, label_count), 0},
      {offsetof(cls_header, bucket_bits), 11},
      {offsetof(cls_header, bucket_bits), 40},
      {offsetof(cls_header, ngram_max), 4},
      {offsetof(cls_header, feature_set), 2},
      {offsetof(cls_header, tables_id), h->tables_id + 1},
      {offsetof(cls_header, section_count), 2},
      {offsetof(cls_header, header_size), 64},
      {sizeof *h + CS_WEIGHTS * sizeof(cls_section), (uint32_t)len}, /* weights offset past the end */
      {sizeof *h + CS_STRINGS * sizeof(cls_section), 4},             /* strings inside the header */
      {sizeof *h + CS_LABELS * sizeof(cls_section) + 8, 31},         /* labels size not whole records */
      {lab + offsetof(cls_label, name_off), 1000},                   /* name out of the strings */
      {lab + offsetof(cls_label, name_len), 0},                      /* empty name */
      {lab + offsetof(cls_label, name_len), 3},                      /* no NUL after the name */
      {lab + offsetof(cls_label, code), 0x7878},                     /* code "xx" */
      {lab + offsetof(cls_label, code), 0x32413261},                 /* "a2A2": not canonical */
      {lab + offsetof(cls_label, threshold), 0x7fc00000},            /* NaN */
      {lab + offsetof(cls_label, threshold), 0x40000000},            /* 2.0 */
      {lab + offsetof(cls_label, scale), 0xbf800000},                /* -1 */
      {lab + offsetof(cls_label, bias), 0x7f800000},                 /* inf */
      {lab + offsetof(cls_label, reserved), 1},
  };
  for (size_t e = 0; e < sizeof edits / sizeof *edits; e++) {
    memcpy(img, orig, len);
    memcpy(img + edits[e].at, &edits[e].value, 4);
    refix_crc(img, len);
    if (load(img, len) != HG_ERR_CORRUPT) fail_msg("edit %zu was accepted", e);
  }
  free(img);
  hg_classifier_unref(m);
  free_data(&tr);
}

static void test_scores_in_range(void **state) {
  (void)state;
  dataset tr = make_data(300, 13);
  hg_classifier *m = train(&tr, 12, 1);
  uint64_t seed = 77;
  char buf[4096];
  float s[2];
  assert_int_equal(hg_classifier_score(m, "", 0, s, NULL), HG_OK);
  assert_true(s[0] >= 0.0f && s[0] <= 1.0f);
  for (int r = 0; r < 300; r++) {
    size_t n = rnd(&seed) % sizeof buf;
    for (size_t i = 0; i < n; i++)
      buf[i] = (char)(0x20 + rnd(&seed) % 0x5f);
    if (r % 3 == 0) /* many copies of an insult: a long, confident text */
      for (size_t i = 0; i + 6 <= n; i += 6)
        memcpy(buf + i, "傻逼", 6);
    assert_int_equal(hg_classifier_score(m, buf, n, s, NULL), HG_OK);
    for (int l = 0; l < 2; l++)
      assert_true(s[l] >= 0.0f && s[l] <= 1.0f && !isnan(s[l]));
  }
  /* a text of many chunks: the insult label stays confident */
  size_t big_len = 300000;
  char *big = malloc(big_len);
  for (size_t i = 0; i < big_len; i += 12)
    memcpy(big + i, "朋友傻逼", 12);
  assert_int_equal(hg_classifier_score(m, big, big_len, s, NULL), HG_OK);
  hg_classifier_label_info info;
  hg_classifier_label(m, 0, &info);
  assert_true(s[0] >= info.threshold && s[0] <= 1.0f);
  free(big);
  hg_error err;
  assert_int_equal(hg_classifier_score(m, "ab\xff", 3, s, &err), HG_ERR_UTF8);
  assert_int_equal(err.offset, 2);
  hg_classifier_unref(m);
  free_data(&tr);
}

static void test_bad_options(void **state) {
  (void)state;
  dataset tr = make_data(10, 1);
  hg_classifier_train_options o;
  hg_classifier_train_options_init(&o);
  hg_classifier *m;
  hg_error err;
  assert_int_equal(hg_classifier_train(tr.ex, tr.n, &o, &m, &err), HG_ERR_INVALID); /* no labels */
  hg_classifier_train_label bad[2] = {{"x", "A9z", -1.0f}, {"x", "spam", -1.0f}};
  o.labels = bad;
  o.label_count = 1;
  assert_int_equal(hg_classifier_train(tr.ex, tr.n, &o, &m, &err), HG_ERR_INVALID);
  assert_non_null(strstr(err.message, "A9z"));
  bad[0].code = "pii"; /* not one of the 31 risks nor an abuse code */
  assert_int_equal(hg_classifier_train(tr.ex, tr.n, &o, &m, &err), HG_ERR_INVALID);
  bad[0].code = "fraud";
  o.label_count = 2;
  assert_int_equal(hg_classifier_train(tr.ex, tr.n, &o, &m, &err), HG_ERR_INVALID); /* the same name twice */
  o.label_count = 1;
  o.bucket_bits = 30;
  assert_int_equal(hg_classifier_train(tr.ex, tr.n, &o, &m, &err), HG_ERR_INVALID);
  o.bucket_bits = 12;
  assert_int_equal(hg_classifier_train(tr.ex, 0, &o, &m, &err), HG_ERR_INVALID);
  uint8_t y = 1;
  hg_classifier_example badtext = {"ok\xc3", 3, &y};
  assert_int_equal(hg_classifier_train(&badtext, 1, &o, &m, &err), HG_ERR_UTF8);
  assert_int_equal(err.line, 1);
  assert_non_null(strstr(err.message, "example 1: invalid UTF-8"));
  bad[0].threshold = 0.7f; /* a given threshold is kept */
  assert_int_equal(hg_classifier_train(tr.ex, tr.n, &o, &m, &err), HG_OK);
  hg_classifier_label_info info;
  hg_classifier_label(m, 0, &info);
  assert_true(info.threshold == 0.7f);
  hg_classifier_unref(m);
  free_data(&tr);
}

static void collect_buckets(void *ctx, const uint32_t *b, size_t n) {
  uint32_t **cursor = ctx;
  memcpy(*cursor, b, n * sizeof *b);
  *cursor += n;
}

/* Texts are folded a chunk at a time; the features must not depend on where the chunks are cut. */
static void test_features_chunk_independent(void **state) {
  (void)state;
  const char text[] = "加微信 VX领取！⑩傻*逼\xe2\x80\x8b😀ＡＢＣ abc 領取。\r\n第二行 ok";
  size_t len = sizeof text - 1;
  uint32_t *whole, ref[1024], got[1024];
  size_t n;
  assert_int_equal(cls_features(text, len, 18, &whole, &n, NULL), HG_OK);
  assert_true(n > 30 && n < 1024);
  memcpy(ref, whole, n * sizeof *ref);
  free(whole);
  for (size_t chunk = 1; chunk < 40; chunk++) {
    uint32_t *cursor = got;
    assert_int_equal(cls_walk(text, len, 18, chunk, collect_buckets, &cursor, NULL), HG_OK);
    assert_int_equal((size_t)(cursor - got), n);
    assert_memory_equal(got, ref, n * sizeof *ref);
  }
  /* the noise-free fold: punctuation and spaces between characters change nothing */
  uint32_t *a, *b;
  size_t na, nb;
  assert_int_equal(cls_features("傻逼", 6, 18, &a, &na, NULL), HG_OK);
  assert_int_equal(cls_features("傻 * 逼", 9, 18, &b, &nb, NULL), HG_OK);
  assert_int_equal(na, 3);
  assert_int_equal(nb, 3);
  assert_memory_equal(a, b, 3 * sizeof *a);
  free(a);
  free(b);
  /* an error past the first chunk reports its offset in the whole text */
  char bad[200];
  memset(bad, 'a', sizeof bad);
  bad[150] = (char)0xff;
  hg_error err;
  uint32_t *cursor = got;
  uint32_t *big = malloc(sizeof bad * 3 * sizeof *big);
  cursor = big;
  assert_int_equal(cls_walk(bad, sizeof bad, 18, 16, collect_buckets, &cursor, &err), HG_ERR_UTF8);
  assert_int_equal(err.offset, 150);
  assert_non_null(strstr(err.message, "150"));
  free(big);
}

/* ---- the table reader ---- */

typedef struct rows {
  char text[8][128];
  char label[8][16];
  size_t line[8];
  size_t n;
} rows;

static hg_status collect(void *ctx, size_t line, const char *const *values, const size_t *lens, hg_error *err) {
  (void)err;
  rows *r = ctx;
  if (r->n == 8) return HG_ERR_LIMIT;
  snprintf(r->text[r->n], sizeof r->text[0], "%.*s", (int)lens[0], values[0]);
  snprintf(r->label[r->n], sizeof r->label[0], "%.*s", (int)lens[1], values[1]);
  r->line[r->n++] = line;
  return HG_OK;
}

static const char *const COLS[] = {"text", "label"};

static void test_csv(void **state) {
  (void)state;
  const char csv[] = "\xEF\xBB\xBF"
                     "id,text,label\r\n"
                     "1,plain,0\r\n"
                     "\r\n"
                     "2,\"a, \"\"quoted\"\"\nline\",1\n"
                     "3,say \"hi\",1\n"
                     "4,,0";
  rows r = {0};
  hg_error err;
  assert_int_equal(hg_table_read(csv, sizeof csv - 1, HG_TABLE_CSV, "t.csv", COLS, 2, collect, &r, &err), HG_OK);
  assert_int_equal(r.n, 4);
  assert_string_equal(r.text[0], "plain");
  assert_string_equal(r.text[1], "a, \"quoted\"\nline");
  assert_int_equal(r.line[1], 4);
  assert_string_equal(r.text[2], "say \"hi\"");
  assert_int_equal(r.line[2], 6);
  assert_string_equal(r.text[3], "");
  assert_string_equal(r.label[3], "0");
  struct {
    const char *data;
    const char *where;
  } bad[] = {
      {"text,label\na,1\n\"open,1\n", "t.csv:3:"},
      {"text,label\na,1\nb\n", "t.csv:3:"},
      {"txt,label\na,1\n", "t.csv:1:"},
      {"text,label\n\"a\"x,1\n", "t.csv:2:"},
      {"text,label\na,1\n\xff,1\n", "t.csv:3:"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    memset(&r, 0, sizeof r);
    assert_int_not_equal(
        hg_table_read(bad[i].data, strlen(bad[i].data), HG_TABLE_CSV, "t.csv", COLS, 2, collect, &r, &err), HG_OK);
    if (!strstr(err.message, bad[i].where)) fail_msg("case %zu: '%s' lacks '%s'", i, err.message, bad[i].where);
  }
}

static void test_tsv_and_jsonl(void **state) {
  (void)state;
  const char tsv[] = "label\ttext\n1\tone \"two\"\n0\tthree\n";
  rows r = {0};
  hg_error err;
  assert_int_equal(hg_table_read(tsv, sizeof tsv - 1, HG_TABLE_TSV, "t.tsv", COLS, 2, collect, &r, &err), HG_OK);
  assert_int_equal(r.n, 2);
  assert_string_equal(r.text[0], "one \"two\"");
  assert_string_equal(r.label[1], "0");
  const char jsonl[] = "{\"text\":\"a\\nb\",\"label\":true}\n\n{\"label\":0,\"text\":\"中文\",\"x\":[1]}\n";
  memset(&r, 0, sizeof r);
  assert_int_equal(hg_table_read(jsonl, sizeof jsonl - 1, HG_TABLE_JSONL, "t.jsonl", COLS, 2, collect, &r, &err),
                   HG_OK);
  assert_int_equal(r.n, 2);
  assert_string_equal(r.text[0], "a\nb");
  assert_string_equal(r.label[0], "true");
  assert_string_equal(r.label[1], "0");
  assert_int_equal(r.line[1], 3);
  const char *bad_jsonl[] = {"{\"text\":\"a\",\"label\":1}\n{\"text\":\"b\"}\n", "{\"text\":\"a\",\"label\":1}\n[1]\n",
                             "{\"text\":\"a\",\"label\":1}\n{oops\n",
                             "{\"text\":\"a\",\"label\":1}\n{\"text\":{},\"label\":1}\n"};
  for (size_t i = 0; i < 4; i++) {
    assert_int_equal(
        hg_table_read(bad_jsonl[i], strlen(bad_jsonl[i]), HG_TABLE_JSONL, "t.jsonl", COLS, 2, collect, &r, &err),
        HG_ERR_PARSE);
    assert_non_null(strstr(err.message, "t.jsonl:2:"));
  }
  hg_table_format f;
  assert_int_equal(hg_table_format_from_name("a/b.CSV", &f), 0);
  assert_int_equal(f, HG_TABLE_CSV);
  assert_int_equal(hg_table_format_from_name("x.ndjson", &f), 0);
  assert_int_equal(f, HG_TABLE_JSONL);
  assert_int_equal(hg_table_format_from_name("x.txt", &f), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_learns_separable_task),
      cmocka_unit_test(test_unknown_labels),
      cmocka_unit_test(test_score_view),
      cmocka_unit_test(test_part),
      cmocka_unit_test(test_deterministic),
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_every_corruption_refused),
      cmocka_unit_test(test_scores_in_range),
      cmocka_unit_test(test_bad_options),
      cmocka_unit_test(test_features_chunk_independent),
      cmocka_unit_test(test_csv),
      cmocka_unit_test(test_tsv_and_jsonl),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
