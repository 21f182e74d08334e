/* classify_cmd.c — `hegui classifier train|eval` and `hegui classify`: training a classifier model from labelled
 * CSV/TSV/JSON Lines files, measuring it on held-out files, and scoring a text with it.
 *
 * Label columns are named on the command line as COLUMN[@VALUE][=NAME[:CODE]]: the column holds 0/1 (or
 * true/false, yes/no) for one label, or with @VALUE the label is 1 where the column equals VALUE (for columns of
 * class names); an empty value means the row was not annotated for that label (HG_CLASSIFIER_UNKNOWN); NAME is the
 * label's name in the model (the column's name by default) and CODE the risk it stands for (TC260 A1a..A5b or insult,
 * spam, fraud, malware; may be left out when NAME is itself a code). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/clock.h"
#include "classify/table.h"
#include "cli/cli.h"

#define MAX_DATA_FILES 64
#define MAX_DATA_BYTES ((size_t)1 << 30)  /* one data file */
#define MAX_TEXT_BYTES ((size_t)64 << 20) /* one text to classify */

/* Reads a whole file (or stdin for "-") into a malloc-ed buffer of at most max bytes. */
static char *read_all(const char *path, size_t max, size_t *len) {
  FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
  if (!f) return cli_error("cannot open %s: %s", path, strerror(errno)), NULL;
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  while (buf) {
    if (n == cap) {
      if (cap > max) break;
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb, cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (!got) break;
  }
  int bad = !buf || ferror(f) || n > max;
  if (f != stdin) fclose(f);
  if (bad) {
    if (buf && n > max)
      cli_error("%s is larger than %zu bytes", path, max);
    else
      cli_error("cannot read %s", path);
    free(buf);
    return NULL;
  }
  *len = n;
  return buf;
}

typedef struct label_col {
  char column[128];
  char match[128]; /* with has_match: the value that means 1 */
  int has_match;
  char name[HG_CLASSIFIER_MAX_NAME + 1];
  char code[8];
  int has_code;
} label_col;

static int parse_label_col(const char *spec, label_col *out) {
  memset(out, 0, sizeof *out);
  const char *eq = strchr(spec, '='), *colon = eq ? strchr(eq + 1, ':') : NULL;
  size_t cl = eq ? (size_t)(eq - spec) : strlen(spec);
  const char *at = memchr(spec, '@', cl);
  size_t ml = at ? cl - (size_t)(at - spec) - 1 : 0;
  if (at) cl = (size_t)(at - spec);
  const char *name = eq ? eq + 1 : spec;
  size_t nl = colon ? (size_t)(colon - name) : eq ? strlen(name) : cl;
  if (!cl || cl >= sizeof out->column || !nl || nl > HG_CLASSIFIER_MAX_NAME || ml >= sizeof out->match || (at && !ml))
    return cli_error("--label-column '%s': expected COLUMN[@VALUE][=NAME[:CODE]]", spec), -1;
  memcpy(out->column, spec, cl);
  if (at) {
    memcpy(out->match, at + 1, ml);
    out->has_match = 1;
  }
  memcpy(out->name, name, nl);
  if (colon) {
    if (hg_classifier_code_parse(colon + 1, strlen(colon + 1), out->code))
      return cli_error("--label-column '%s': '%s' is not a risk code (A1a..A5b, insult, spam, fraud, malware)", spec,
                       colon + 1),
             -1;
    out->has_code = 1;
  } else if (!hg_classifier_code_parse(out->name, nl, out->code)) {
    out->has_code = 1;
  }
  return 0;
}

typedef struct data_args {
  const char *files[MAX_DATA_FILES];
  int nfiles;
  const char *text_column;
  label_col labels[HG_CLASSIFIER_MAX_LABELS];
  size_t nlabels;
  int format_set;
  hg_table_format format;
} data_args;

/* Takes the options shared by train and eval; returns 1 when argv[*i] was one of them, -1 on error, 0 if not. */
static int data_option(data_args *d, int argc, char **argv, int *i) {
  const char *a = argv[*i];
  if (!strcmp(a, "--data")) {
    int before = d->nfiles;
    while (*i + 1 < argc && (argv[*i + 1][0] != '-' || !argv[*i + 1][1])) {
      if (d->nfiles == MAX_DATA_FILES) return cli_error("at most %d data files", MAX_DATA_FILES), -1;
      d->files[d->nfiles++] = argv[++*i];
    }
    if (d->nfiles == before) return cli_error("--data needs one or more files"), -1;
    return 1;
  }
  if (!strcmp(a, "--text-column")) {
    if (++*i >= argc) return cli_error("--text-column needs a column name"), -1;
    d->text_column = argv[*i];
    return 1;
  }
  if (!strcmp(a, "--label-column")) {
    if (++*i >= argc) return cli_error("--label-column needs COLUMN[@VALUE][=NAME[:CODE]]"), -1;
    if (d->nlabels == HG_CLASSIFIER_MAX_LABELS) return cli_error("at most %d labels", HG_CLASSIFIER_MAX_LABELS), -1;
    if (parse_label_col(argv[*i], &d->labels[d->nlabels])) return -1;
    for (size_t k = 0; k < d->nlabels; k++)
      if (!strcmp(d->labels[k].name, d->labels[d->nlabels].name))
        return cli_error("label '%s' is named twice", d->labels[k].name), -1;
    d->nlabels++;
    return 1;
  }
  if (!strcmp(a, "--format")) {
    if (++*i >= argc) return cli_error("--format needs csv, tsv or jsonl"), -1;
    const char *f = argv[*i];
    if (!strcmp(f, "csv"))
      d->format = HG_TABLE_CSV;
    else if (!strcmp(f, "tsv"))
      d->format = HG_TABLE_TSV;
    else if (!strcmp(f, "jsonl"))
      d->format = HG_TABLE_JSONL;
    else
      return cli_error("--format: expected csv, tsv or jsonl, not '%s'", f), -1;
    d->format_set = 1;
    return 1;
  }
  return 0;
}

static int check_data_args(const data_args *d, const char *cmd) {
  if (!d->nfiles || !d->text_column || !d->nlabels)
    return cli_error("usage: hegui classifier %s --data FILE... --text-column NAME --label-column "
                     "COLUMN[@VALUE][=NAME[:CODE]]...",
                     cmd),
           -1;
  return 0;
}

/* The examples of all data files: texts in one growing buffer, one 0/1 per label per example. */
typedef struct example_set {
  char *text;
  size_t text_len, text_cap;
  size_t *off, *len;
  uint8_t *truth;
  size_t count, cap;
  size_t nlabels;
  const char *file;
  const label_col *labels;
} example_set;

static int truth_value(const char *v, size_t n, uint8_t *out) {
  while (n && (*v == ' ' || *v == '\t'))
    v++, n--;
  while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
    n--;
  if (!n) return *out = HG_CLASSIFIER_UNKNOWN, 0; /* not annotated for this label */
  static const char *const yes[] = {"1", "true", "yes", "y", "1.0"}, *const no[] = {"0", "false", "no", "n", "0.0"};
  for (size_t i = 0; i < 5; i++) {
    if (n == strlen(yes[i]) && !strncasecmp(v, yes[i], n)) return *out = 1, 0;
    if (n == strlen(no[i]) && !strncasecmp(v, no[i], n)) return *out = 0, 0;
  }
  return -1;
}

static hg_status add_row(void *ctx, size_t line, const char *const *values, const size_t *lens, hg_error *err) {
  example_set *s = ctx;
  if (s->count == s->cap) {
    size_t nc = s->cap ? s->cap * 2 : 1024;
    size_t *no = realloc(s->off, nc * sizeof *no);
    if (!no) goto nomem;
    s->off = no;
    size_t *nl = realloc(s->len, nc * sizeof *nl);
    if (!nl) goto nomem;
    s->len = nl;
    uint8_t *nt = realloc(s->truth, nc * s->nlabels);
    if (!nt) goto nomem;
    s->truth = nt;
    s->cap = nc;
  }
  uint8_t *truth = s->truth + s->count * s->nlabels;
  for (size_t l = 0; l < s->nlabels; l++) {
    if (s->labels[l].has_match) {
      truth[l] = !lens[1 + l] ? HG_CLASSIFIER_UNKNOWN
                              : lens[1 + l] == strlen(s->labels[l].match) &&
                                    !memcmp(values[1 + l], s->labels[l].match, lens[1 + l]);
      continue;
    }
    if (truth_value(values[1 + l], lens[1 + l], &truth[l])) {
      if (err) {
        hg_error_clear(err);
        err->status = HG_ERR_PARSE;
        err->line = line;
        snprintf(err->message, sizeof err->message, "%s:%zu: label value '%.40s' is not 0/1, true/false or yes/no",
                 s->file, line, values[1 + l]);
      }
      return HG_ERR_PARSE;
    }
  }
  if (s->text_len + lens[0] > s->text_cap) {
    size_t nc = s->text_cap ? s->text_cap : 1 << 20;
    while (nc < s->text_len + lens[0])
      nc *= 2;
    char *nt = realloc(s->text, nc);
    if (!nt) goto nomem;
    s->text = nt, s->text_cap = nc;
  }
  memcpy(s->text + s->text_len, values[0], lens[0]);
  s->off[s->count] = s->text_len;
  s->len[s->count] = lens[0];
  s->text_len += lens[0];
  s->count++;
  return HG_OK;
nomem:
  if (err) {
    hg_error_clear(err);
    err->status = HG_ERR_NOMEM;
    snprintf(err->message, sizeof err->message, "out of memory");
  }
  return HG_ERR_NOMEM;
}

static void example_set_free(example_set *s) {
  free(s->text);
  free(s->off);
  free(s->len);
  free(s->truth);
}

static int load_examples(const data_args *d, example_set *s) {
  memset(s, 0, sizeof *s);
  s->nlabels = d->nlabels;
  s->labels = d->labels;
  const char *columns[1 + HG_CLASSIFIER_MAX_LABELS];
  columns[0] = d->text_column;
  for (size_t l = 0; l < d->nlabels; l++)
    columns[1 + l] = d->labels[l].column;
  for (int f = 0; f < d->nfiles; f++) {
    hg_table_format fmt = d->format;
    if (!d->format_set && hg_table_format_from_name(d->files[f], &fmt))
      return cli_error("%s: cannot tell the format from the name (.csv, .tsv, .jsonl): use --format", d->files[f]), -1;
    size_t len;
    char *data = read_all(d->files[f], MAX_DATA_BYTES, &len);
    if (!data) return -1;
    hg_error err;
    hg_error_clear(&err);
    s->file = d->files[f];
    hg_status st = hg_table_read(data, len, fmt, d->files[f], columns, 1 + d->nlabels, add_row, s, &err);
    free(data);
    if (st) return cli_error("%s", err.message), -1;
  }
  if (!s->count) return cli_error("no examples in the data files"), -1;
  return 0;
}

static int classifier_train(int argc, char **argv) {
  data_args d = {0};
  const char *out_path = NULL;
  hg_classifier_train_options o;
  hg_classifier_train_options_init(&o);
  const char *thresholds[HG_CLASSIFIER_MAX_LABELS];
  size_t nthresholds = 0;
  for (int i = 1; i < argc; i++) {
    int r = data_option(&d, argc, argv, &i);
    if (r < 0) return EXIT_ERROR;
    if (r) continue;
    const char *a = argv[i];
    long v;
    if (!strcmp(a, "--out")) {
      if (++i >= argc) return cli_error("--out needs a file"), EXIT_ERROR;
      out_path = argv[i];
    } else if (!strcmp(a, "--seed")) {
      if (i + 1 >= argc || (v = cli_parse_uint(argv[++i], 0x7fffffffL)) < 0)
        return cli_error("--seed needs a non-negative number"), EXIT_ERROR;
      o.seed = (uint64_t)v;
    } else if (!strcmp(a, "--epochs")) {
      if (i + 1 >= argc || (v = cli_parse_uint(argv[++i], 1000)) < 1)
        return cli_error("--epochs needs a number from 1 to 1000"), EXIT_ERROR;
      o.epochs = (unsigned)v;
    } else if (!strcmp(a, "--bits")) {
      if (i + 1 >= argc ||
          (v = cli_parse_uint(argv[++i], HG_CLASSIFIER_MAX_BUCKET_BITS)) < HG_CLASSIFIER_MIN_BUCKET_BITS)
        return cli_error("--bits needs a number from %d to %d", HG_CLASSIFIER_MIN_BUCKET_BITS,
                         HG_CLASSIFIER_MAX_BUCKET_BITS),
               EXIT_ERROR;
      o.bucket_bits = (unsigned)v;
    } else if (!strcmp(a, "--optimizer")) {
      if (++i >= argc || (strcmp(argv[i], "adagrad") && strcmp(argv[i], "sgd")))
        return cli_error("--optimizer needs adagrad (default) or sgd (plain, constant step: the baseline)"), EXIT_ERROR;
      o.plain_sgd = !strcmp(argv[i], "sgd");
    } else if (!strcmp(a, "--threshold")) {
      if (++i >= argc || !strchr(argv[i], '=')) return cli_error("--threshold needs NAME=VALUE"), EXIT_ERROR;
      if (nthresholds == HG_CLASSIFIER_MAX_LABELS) return cli_error("too many --threshold"), EXIT_ERROR;
      thresholds[nthresholds++] = argv[i];
    } else if (!strcmp(a, "--holdout") || !strcmp(a, "--learning-rate")) {
      char *end;
      double x = i + 1 < argc ? strtod(argv[++i], &end) : NAN;
      if (isnan(x) || *end) return cli_error("%s needs a number", a), EXIT_ERROR;
      if (a[2] == 'h')
        o.holdout = (float)x;
      else
        o.learning_rate = (float)x;
    } else {
      return cli_error("classifier train: unknown option '%s'", a), EXIT_ERROR;
    }
  }
  if (check_data_args(&d, "train")) return EXIT_ERROR;
  if (!out_path) return cli_error("classifier train needs --out MODEL"), EXIT_ERROR;
  hg_classifier_train_label labels[HG_CLASSIFIER_MAX_LABELS];
  for (size_t l = 0; l < d.nlabels; l++) {
    if (!d.labels[l].has_code)
      return cli_error("label '%s' needs a risk code: --label-column %s=%s:CODE (A1a..A5b, insult, spam, fraud, "
                       "malware)",
                       d.labels[l].name, d.labels[l].column, d.labels[l].name),
             EXIT_ERROR;
    labels[l] = (hg_classifier_train_label){d.labels[l].name, d.labels[l].code, -1.0f};
  }
  for (size_t t = 0; t < nthresholds; t++) { /* a given threshold is kept; the others come from the held-out split */
    const char *eq = strchr(thresholds[t], '=');
    char *end;
    double v = strtod(eq + 1, &end);
    size_t l = 0;
    while (l < d.nlabels && (strlen(d.labels[l].name) != (size_t)(eq - thresholds[t]) ||
                             strncmp(d.labels[l].name, thresholds[t], (size_t)(eq - thresholds[t]))))
      l++;
    if (l == d.nlabels) return cli_error("--threshold %s: no such label", thresholds[t]), EXIT_ERROR;
    if (*end || !(v > 0.0 && v <= 1.0))
      return cli_error("--threshold %s: a threshold is a number above 0, at most 1 (1: scored, never flags)",
                       thresholds[t]),
             EXIT_ERROR;
    labels[l].threshold = (float)v;
  }
  o.labels = labels;
  o.label_count = d.nlabels;
  example_set s;
  double t0 = hg_clock_mono_s();
  if (load_examples(&d, &s)) return example_set_free(&s), EXIT_ERROR;
  hg_classifier_example *ex = malloc(s.count * sizeof *ex);
  if (!ex) return example_set_free(&s), cli_error("out of memory"), EXIT_ERROR;
  for (size_t i = 0; i < s.count; i++)
    ex[i] = (hg_classifier_example){s.text + s.off[i], s.len[i], s.truth + i * s.nlabels};
  double t1 = hg_clock_mono_s();
  hg_classifier *m;
  hg_error err;
  hg_error_clear(&err);
  hg_status st = hg_classifier_train(ex, s.count, &o, &m, &err);
  double t2 = hg_clock_mono_s();
  free(ex);
  if (st) {
    example_set_free(&s);
    return cli_error("%s", err.message), EXIT_ERROR;
  }
  if (hg_classifier_save(m, out_path, &err)) {
    hg_classifier_unref(m);
    example_set_free(&s);
    return cli_error("%s", err.message), EXIT_ERROR;
  }
  size_t size;
  hg_classifier_image(m, &size);
  printf("trained %s: %zu examples, %zu labels, 2^%u buckets, %u epochs, seed %llu\n", out_path, s.count, d.nlabels,
         o.bucket_bits, o.epochs, (unsigned long long)o.seed);
  for (size_t l = 0; l < d.nlabels; l++) {
    size_t pos = 0, unknown = 0;
    for (size_t i = 0; i < s.count; i++) {
      pos += s.truth[i * s.nlabels + l] == 1;
      unknown += s.truth[i * s.nlabels + l] == HG_CLASSIFIER_UNKNOWN;
    }
    hg_classifier_label_info info;
    hg_classifier_label(m, l, &info);
    printf("  %-20s %-8s positives %zu, unknown %zu, threshold %.2f\n", info.name, info.code, pos, unknown,
           info.threshold);
  }
  printf("read %.2f s, trained %.2f s, model %zu bytes\n", t1 - t0, t2 - t1, size);
  hg_classifier_unref(m);
  example_set_free(&s);
  return 0;
}

typedef struct counts {
  size_t tp, fp, fn, known; /* known: examples annotated for the label */
} counts;

static void prf(counts c, double *p, double *r, double *f1) {
  *p = c.tp + c.fp ? (double)c.tp / (double)(c.tp + c.fp) : 0.0;
  *r = c.tp + c.fn ? (double)c.tp / (double)(c.tp + c.fn) : 0.0;
  *f1 = 2 * c.tp + c.fp + c.fn ? 2.0 * (double)c.tp / (double)(2 * c.tp + c.fp + c.fn) : 0.0;
}

#define SWEEP_STEPS 9 /* thresholds 0.1 .. 0.9 */

static int classifier_eval(int argc, char **argv) {
  data_args d = {0};
  const char *model_path = NULL;
  for (int i = 1; i < argc; i++) {
    int r = data_option(&d, argc, argv, &i);
    if (r < 0) return EXIT_ERROR;
    if (r) continue;
    if (!strcmp(argv[i], "--model")) {
      if (++i >= argc) return cli_error("--model needs a file"), EXIT_ERROR;
      model_path = argv[i];
    } else {
      return cli_error("classifier eval: unknown option '%s'", argv[i]), EXIT_ERROR;
    }
  }
  if (check_data_args(&d, "eval")) return EXIT_ERROR;
  if (!model_path) return cli_error("classifier eval needs --model MODEL"), EXIT_ERROR;
  hg_classifier *m;
  hg_error err;
  hg_error_clear(&err);
  /* without --model (or HEGUI_CLASSIFIER_MODEL): the model built into hegui (docs/classifier.md) */
  if (model_path ? hg_classifier_open(model_path, &m, &err) : hg_classifier_builtin(&m, &err))
    return cli_error("%s", err.message), EXIT_ERROR;
  size_t L = hg_classifier_label_count(m), map[HG_CLASSIFIER_MAX_LABELS];
  for (size_t k = 0; k < d.nlabels; k++) {
    map[k] = (size_t)-1;
    for (size_t l = 0; l < L; l++) {
      hg_classifier_label_info info;
      hg_classifier_label(m, l, &info);
      if (!strcmp(info.name, d.labels[k].name)) map[k] = l;
    }
    if (map[k] == (size_t)-1) {
      hg_classifier_unref(m);
      return cli_error("the model has no label '%s'", d.labels[k].name), EXIT_ERROR;
    }
  }
  example_set s;
  if (load_examples(&d, &s)) {
    hg_classifier_unref(m);
    example_set_free(&s);
    return EXIT_ERROR;
  }
  counts at[HG_CLASSIFIER_MAX_LABELS] = {0}, sweep[HG_CLASSIFIER_MAX_LABELS][SWEEP_STEPS] = {0};
  float scores[HG_CLASSIFIER_MAX_LABELS];
  double t0 = hg_clock_mono_s();
  for (size_t i = 0; i < s.count; i++) {
    if (hg_classifier_score(m, s.text + s.off[i], s.len[i], scores, &err)) {
      cli_error("example %zu: %s", i + 1, err.message);
      hg_classifier_unref(m);
      example_set_free(&s);
      return EXIT_ERROR;
    }
    for (size_t k = 0; k < d.nlabels; k++) {
      hg_classifier_label_info info;
      hg_classifier_label(m, map[k], &info);
      int y = s.truth[i * s.nlabels + k];
      if (y == HG_CLASSIFIER_UNKNOWN) continue;
      at[k].known++;
      float sc = scores[map[k]];
      int pred = sc >= info.threshold;
      at[k].tp += pred && y, at[k].fp += pred && !y, at[k].fn += !pred && y;
      for (int t = 0; t < SWEEP_STEPS; t++) {
        pred = sc >= (float)(t + 1) / 10.0f;
        sweep[k][t].tp += pred && y, sweep[k][t].fp += pred && !y, sweep[k][t].fn += !pred && y;
      }
    }
  }
  double t1 = hg_clock_mono_s();
  printf("%zu examples, scored in %.2f s (%.1f MB/s)\n", s.count, t1 - t0,
         t1 > t0 ? (double)s.text_len / (t1 - t0) / 1e6 : 0.0);
  printf("%-20s %-8s %9s %9s %9s %9s %9s\n", "label", "code", "threshold", "precision", "recall", "F1", "positives");
  double macro = 0.0;
  for (size_t k = 0; k < d.nlabels; k++) {
    hg_classifier_label_info info;
    hg_classifier_label(m, map[k], &info);
    double p, r, f1;
    prf(at[k], &p, &r, &f1);
    macro += f1;
    printf("%-20s %-8s %9.2f %9.4f %9.4f %9.4f %9zu\n", info.name, info.code, info.threshold, p, r, f1,
           at[k].tp + at[k].fn);
  }
  printf("macro F1 %.4f\n", macro / (double)d.nlabels);
  /* the figure binary-task papers quote: F1 of a label and of its complement, averaged */
  for (size_t k = 0; k < d.nlabels; k++) {
    hg_classifier_label_info info;
    hg_classifier_label(m, map[k], &info);
    size_t tn = at[k].known - at[k].tp - at[k].fp - at[k].fn;
    double p, r, f1,
        f1_neg = 2 * tn + at[k].fp + at[k].fn ? 2.0 * (double)tn / (double)(2 * tn + at[k].fp + at[k].fn) : 0.0;
    prf(at[k], &p, &r, &f1);
    printf("%s: accuracy %.4f, two-class macro F1 %.4f\n", info.name,
           at[k].known ? (double)(at[k].tp + tn) / (double)at[k].known : 0.0, (f1 + f1_neg) / 2.0);
  }
  printf("threshold sweep (precision/recall/F1):\n");
  for (size_t k = 0; k < d.nlabels; k++) {
    hg_classifier_label_info info;
    hg_classifier_label(m, map[k], &info);
    printf("  %s\n", info.name);
    for (int t = 0; t < SWEEP_STEPS; t++) {
      double p, r, f1;
      prf(sweep[k][t], &p, &r, &f1);
      printf("    %.1f  %.4f %.4f %.4f\n", (t + 1) / 10.0, p, r, f1);
    }
  }
  hg_classifier_unref(m);
  example_set_free(&s);
  return 0;
}

int cmd_classifier(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "train")) return classifier_train(argc - 1, argv + 1);
  if (argc >= 2 && !strcmp(argv[1], "eval")) return classifier_eval(argc - 1, argv + 1);
  cli_error("usage: hegui classifier train|eval ...");
  return EXIT_ERROR;
}

/* --lines: every line of the text scored on its own, one tab-separated line of scores (the model's label order,
 * six decimals) per input line; a header names the labels. For calibrating thresholds on many texts at once. */
static int classify_lines(hg_classifier *m, const char *text, size_t len, char *buf) {
  size_t L = hg_classifier_label_count(m);
  for (size_t l = 0; l < L; l++) {
    hg_classifier_label_info info;
    hg_classifier_label(m, l, &info);
    printf("%s%s", l ? "\t" : "", info.name);
  }
  putchar('\n');
  float scores[HG_CLASSIFIER_MAX_LABELS];
  hg_error err;
  int rc = EXIT_NONE_FOUND;
  for (size_t pos = 0; pos < len;) {
    const char *nl = memchr(text + pos, '\n', len - pos);
    size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
    if (hg_classifier_score(m, text + pos, n, scores, &err)) {
      cli_error("line at byte %zu: %s", pos, err.message);
      rc = EXIT_ERROR;
      break;
    }
    for (size_t l = 0; l < L; l++)
      printf("%s%.6f", l ? "\t" : "", scores[l]);
    putchar('\n');
    pos += n + (nl ? 1 : 0);
  }
  free(buf);
  hg_classifier_unref(m);
  return rc;
}

int cmd_classify(int argc, char **argv) {
  const char *model_path = getenv("HEGUI_CLASSIFIER_MODEL"), *file = NULL, *text = NULL;
  int json = 0, lines = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--lines")) {
      lines = 1;
    } else if (!strcmp(a, "--model")) {
      if (++i >= argc) return cli_error("--model needs a file"), EXIT_ERROR;
      model_path = argv[i];
    } else if (!strcmp(a, "--file") || !strcmp(a, "-f")) {
      if (++i >= argc) return cli_error("--file needs a path"), EXIT_ERROR;
      file = argv[i];
    } else if (!strcmp(a, "--json")) {
      json = 1;
    } else if (!strcmp(a, "--")) {
      if (i + 1 < argc) text = argv[++i];
      if (i + 1 < argc) return cli_error("classify takes one text"), EXIT_ERROR;
    } else if (a[0] == '-' && a[1]) {
      return cli_error("classify: unknown option '%s'", a), EXIT_ERROR;
    } else {
      if (text || file) return cli_error("classify takes one text"), EXIT_ERROR;
      if (!strcmp(a, "-"))
        file = "-";
      else
        text = a;
    }
  }
  if (!text && !file)
    return cli_error("usage: hegui classify [--model MODEL] [--json | --lines] TEXT|-|--file PATH"), EXIT_ERROR;
  hg_classifier *m;
  hg_error err;
  hg_error_clear(&err);
  /* without --model (or HEGUI_CLASSIFIER_MODEL): the model built into hegui (docs/classifier.md) */
  if (model_path ? hg_classifier_open(model_path, &m, &err) : hg_classifier_builtin(&m, &err))
    return cli_error("%s", err.message), EXIT_ERROR;
  size_t len;
  char *buf = NULL;
  if (file) {
    if (!(buf = read_all(file, MAX_TEXT_BYTES, &len))) return hg_classifier_unref(m), EXIT_ERROR;
    text = buf;
  } else {
    len = strlen(text);
  }
  float scores[HG_CLASSIFIER_MAX_LABELS];
  if (lines) return classify_lines(m, text, len, buf);
  hg_status st = hg_classifier_score(m, text, len, scores, &err);
  free(buf);
  if (st) {
    hg_classifier_unref(m);
    return cli_error("%s", err.message), EXIT_ERROR;
  }
  size_t L = hg_classifier_label_count(m);
  int any = 0;
  if (json) printf("{\"labels\":[");
  for (size_t l = 0; l < L; l++) {
    hg_classifier_label_info info;
    hg_classifier_label(m, l, &info);
    int pass = scores[l] >= info.threshold;
    any |= pass;
    if (json) {
      printf("%s{\"name\":", l ? "," : "");
      cli_json_string(stdout, info.name, strlen(info.name));
      printf(",\"code\":\"%s\",\"score\":%.6f,\"threshold\":%.2f,\"flagged\":%s}", info.code, scores[l], info.threshold,
             pass ? "true" : "false");
    } else {
      printf("%-20s %-8s %.4f %s\n", info.name, info.code, scores[l], pass ? "FLAGGED" : "-");
    }
  }
  if (json) printf("],\"flagged\":%s}\n", any ? "true" : "false");
  hg_classifier_unref(m);
  return any ? EXIT_FOUND : EXIT_NONE_FOUND;
}
