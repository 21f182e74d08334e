/* bench_pii.c — how fast hegui's personal-information detector scans real text, alone and in the same pass as
 * the lexicon scanner, as the gateway runs them. Per corpus: one-shot and 4 KiB-streaming MB/s (best of 3) and
 * hits per type, with the default detectors and again with person names on; then lexicon + PII fed the same
 * chunks in one loop, against the sum of the two separate passes. A generated Chinese corpus dense in valid
 * identifiers measures the case where almost every run holds a value. Slow figures are reported, never turned
 * into a failing exit status: this is a measurement, not a test. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hegui/lexicon.h"
#include "hegui/pii.h"

#define REPEATS 3
#define LONG_RUN_S 60.0 /* a run longer than this is not repeated (names on a busy machine take 20 s) */
#define CHUNK_BYTES 4096
#define MB 1e6 /* decimal megabyte, for MB/s and sizes alike */

#define TARGET_PII_MBPS 200.0 /* default detectors, one core */
#define WATCHDOG_S 300        /* one run still going after this is taken for a hang, and the bench stops */

/* Fixed, so that hit counts do not move with the calendar (IDs with a birth date after it are refused). */
#define TODAY_YYYYMMDD 20260101u

/* The generated dense corpus: about one value every DENSE_SPACING bytes, DENSE_BYTES in all, same bytes every
 * run. */
#define DENSE_NAME "zh-pii-dense"
#define DENSE_BYTES ((size_t)20 * 1000 * 1000)
#define DENSE_SPACING 100
#define DENSE_SEED 0x68656775695f7069ull

enum { CFG_DEFAULT, CFG_NAMES, CFG_COUNT };
static const char *const cfg_names[CFG_COUNT] = {"pii default", "pii +names"};

typedef struct corpus {
  const char *path, *name;
  char *data;
  size_t len;
  int generated;
  size_t planted[HG_PII_TYPE_COUNT]; /* generated corpus: values written, per type */
} corpus;

/* What one pass over a corpus found. */
typedef struct pass {
  size_t pii[HG_PII_TYPE_COUNT], pii_total, lex_hits;
  size_t max_pending; /* streaming: the largest hold-back seen after a chunk */
} pass;

/* One kind of pass, timed REPEATS times. Wall and on-CPU time are each the best of the runs: the machine is
 * shared, and CPU time is what stays put when other work takes the core away. */
typedef struct measure {
  int ok, runs;
  int done; /* no more runs: an error, or a run over LONG_RUN_S */
  double wall_s, cpu_s;
  pass found;      /* the last run's; every run finds the same */
  char error[400]; /* room for a prefix and hg_error.message */
} measure;

typedef struct results {
  measure oneshot[CFG_COUNT], stream[CFG_COUNT];
  /* the lexicon alone and lexicon + PII in one pass; stream[CFG_DEFAULT] is the PII pass they are compared with */
  measure sep_lex, one_pass;
} results;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double mbps(size_t bytes, double s) { return s > 0 && s < 1e299 ? (double)bytes / MB / s : 0; }

/* All timed runs together, for the note on how busy the machine was. */
static double total_wall_s, total_cpu_s;

static char *read_whole(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  struct stat st;
  char *buf = NULL;
  if (fstat(fileno(f), &st) == 0 && st.st_size >= 0 && (buf = malloc((size_t)st.st_size + 1))) {
    *len = fread(buf, 1, (size_t)st.st_size, f);
    if (ferror(f) || *len != (size_t)st.st_size) {
      free(buf);
      buf = NULL;
    } else {
      buf[*len] = 0;
    }
  }
  int saved = errno;
  fclose(f);
  errno = saved;
  return buf;
}

/* ---- watchdog: a scan that never returns (a detector loop that stops advancing) must not hang run.sh ---- */

static char watchdog_msg[300];
static size_t watchdog_len;

static void on_watchdog(int sig) {
  (void)sig;
  ssize_t written = write(STDERR_FILENO, watchdog_msg, watchdog_len);
  (void)written; /* nothing better to do if even this fails */
  _exit(3);
}

static void watchdog_install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_watchdog;
  sigaction(SIGALRM, &sa, NULL);
}

/* The message is formatted here, outside the handler, which may only call async-signal-safe functions. */
static void watchdog_arm(const char *scan, const corpus *c) {
  int n = snprintf(watchdog_msg, sizeof watchdog_msg,
                   "\nbench_pii: %s on %s still running after %d s: taken for a hang in the library; stopping\n", scan,
                   c->name, WATCHDOG_S);
  watchdog_len = n < 0 ? 0 : (size_t)n < sizeof watchdog_msg ? (size_t)n : sizeof watchdog_msg - 1;
  alarm(WATCHDOG_S);
}

static void watchdog_disarm(void) { alarm(0); }

/* ---- the lexicon: a plain list read as bench_matcher reads it, every entry folded, category A1h ---- */

static int is_trim(char c) { return c == ' ' || c == '\t' || c == '\r'; }

typedef struct lexicon_load {
  size_t lines, entries, rejected, duplicates, comments;
  double compile_s;
} lexicon_load;

static hg_lexicon *load_lexicon(const char *path, lexicon_load *ll) {
  memset(ll, 0, sizeof *ll);
  size_t len;
  char *file = read_whole(path, &len);
  if (!file) {
    fprintf(stderr, "bench_pii: cannot read lexicon %s: %s\n", path, strerror(errno));
    return NULL;
  }
  hg_source_defaults d;
  hg_source_defaults_init(&d);
  hg_compile_options opt;
  hg_compile_options_init(&opt);
  hg_lexicon_source *src;
  if (hg_lexicon_source_new(&src)) {
    fprintf(stderr, "bench_pii: out of memory\n");
    free(file);
    return NULL;
  }
  double t0 = now_s();
  const char *p = file, *end = file + len;
  if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) p += 3;
  size_t shown = 0;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *line = p, *line_end = nl ? nl : end;
    p = nl ? nl + 1 : end;
    ll->lines++;
    while (line < line_end && is_trim(*line))
      line++;
    while (line_end > line && is_trim(line_end[-1]))
      line_end--;
    if (line == line_end) continue;
    if (*line == '#') {
      ll->comments++;
      continue;
    }
    hg_entry_info e = {line, (size_t)(line_end - line), HG_CAT_A1H, d.severity, d.action, HG_MODE_FOLDED};
    hg_error err;
    hg_error_clear(&err);
    size_t before = hg_lexicon_source_count(src);
    if (hg_lexicon_source_add_entry(src, &e, &err)) {
      if (shown++ < 3) printf("  rejected line %zu: %s\n", ll->lines, err.message);
      ll->rejected++;
      continue;
    }
    if (hg_lexicon_source_count(src) == before) ll->duplicates++;
  }
  ll->entries = hg_lexicon_source_count(src);
  hg_error err;
  hg_error_clear(&err);
  hg_lexicon *lex = NULL;
  hg_status st = hg_lexicon_compile(src, &opt, &lex, &err);
  ll->compile_s = now_s() - t0;
  hg_lexicon_source_free(src);
  free(file);
  if (st) {
    fprintf(stderr, "bench_pii: lexicon compile failed: %s\n", err.message);
    return NULL;
  }
  return lex;
}

/* ---- the generated dense corpus ---- */

static uint64_t rng_state;

/* splitmix64: small, fast, and the same sequence on every platform for one seed */
static uint64_t rng_next(void) {
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static unsigned rng_below(unsigned n) { return (unsigned)(rng_next() % n); }

static void random_digits(char *out, size_t n) {
  for (size_t i = 0; i < n; i++)
    out[i] = (char)('0' + rng_below(10));
}

/* Han clauses with no digits or Latin letters in them, so that the only values in the corpus are the planted
 * ones. */
static const char *const filler[] = {
    "根据双方签订的服务合同约定", "请于三个工作日内办理相关手续", "如有疑问请及时与我们沟通",
    "本次业务已经登记备案",       "相关材料已按要求提交审核",     "我们将在收到款项后安排发货",
    "此信息仅用于核实身份",       "办理过程中请保持通讯畅通",     "经审核上述资料真实有效",
    "逾期未处理的将视为自动放弃", "客服人员会尽快回复您的咨询",   "该账户已完成实名认证",
    "请妥善保管个人信息不要外传", "以上内容由系统自动生成",       "会议纪要已同步给所有参会人员",
    "物流信息将通过短信发送给您",
};

static const char *const mobile_lead[] = {"客户的手机号码是", "联系电话：", "请致电", "紧急联系人手机", "收件人"};
static const char *const id_lead[] = {"身份证号码为", "公民身份号码", "证件号：", "持证人"};
static const char *const card_lead[] = {"银行卡号", "收款账号为", "信用卡卡号：", "请转账至"};
static const char *const email_lead[] = {"电子邮箱", "请发送邮件至", "联系邮箱：", "回执已发往"};
static const char *const email_domains[] = {"qq.com", "163.com", "126.com", "gmail.com", "sina.com.cn", "example.cn"};

#define PICK(list) (list)[rng_below((unsigned)(sizeof(list) / sizeof *(list)))]

/* Writes a mobile number in one of the forms people type: plain, dashed, +86, or full-width digits. */
static size_t gen_mobile(char *out) {
  static const char *const prefixes[] = {"13", "15", "17", "18", "19", "16", "14"};
  char d[11];
  memcpy(d, PICK(prefixes), 2);
  random_digits(d + 2, 9);
  unsigned form = rng_below(10);
  size_t n = 0;
  if (form == 0) {
    memcpy(out, "+86 ", 4);
    memcpy(out + 4, d, 11);
    n = 15;
  } else if (form == 1) {
    memcpy(out, d, 3);
    out[3] = '-';
    memcpy(out + 4, d + 3, 4);
    out[8] = '-';
    memcpy(out + 9, d + 7, 4);
    n = 13;
  } else if (form == 2) {
    for (int i = 0; i < 11; i++) { /* U+FF10..U+FF19: EF BC 90..99 */
      out[n++] = (char)0xEF;
      out[n++] = (char)0xBC;
      out[n++] = (char)(0x90 + (d[i] - '0'));
    }
  } else {
    memcpy(out, d, 11);
    n = 11;
  }
  return n;
}

/* An 18-character resident ID: a province in use, a real birth date well before TODAY_YYYYMMDD, and the MOD
 * 11-2 check character. */
static size_t gen_cn_id(char *out) {
  static const char *const provinces[] = {"11", "12", "13", "31", "32", "33", "35", "37", "41",
                                          "42", "43", "44", "50", "51", "53", "61", "62", "65"};
  static const unsigned weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  memcpy(out, PICK(provinces), 2);
  random_digits(out + 2, 4);
  unsigned year = 1950 + rng_below(56), month = 1 + rng_below(12), day = 1 + rng_below(mdays[month - 1]);
  unsigned date = year * 10000 + month * 100 + day;
  for (int i = 13; i >= 6; i--, date /= 10)
    out[i] = (char)('0' + date % 10);
  random_digits(out + 14, 3);
  unsigned sum = 0;
  for (int i = 0; i < 17; i++)
    sum += (unsigned)(out[i] - '0') * weights[i];
  out[17] = "10X98765432"[sum % 11];
  return 18;
}

static char luhn_check_digit(const char *d, size_t n) {
  /* the digit that makes d + it pass: double every second digit counting from the one before the check */
  unsigned sum = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned v = (unsigned)(d[n - 1 - i] - '0');
    if (i % 2 == 0) {
      v *= 2;
      if (v > 9) v -= 9;
    }
    sum += v;
  }
  return (char)('0' + (10 - sum % 10) % 10);
}

/* A UnionPay (62, 16 or 19 digits) or Visa (4, 16 digits) number with its Luhn digit, sometimes in groups of
 * four. Returns the type it should be detected as through *type. */
static size_t gen_card(char *out, hg_pii_type *type) {
  char d[19];
  size_t n;
  unsigned kind = rng_below(10);
  if (kind < 6) {
    n = kind < 4 ? 16 : 19;
    memcpy(d, "62", 2);
    random_digits(d + 2, n - 3);
    *type = HG_PII_BANK_CARD;
  } else {
    n = 16;
    d[0] = '4';
    random_digits(d + 1, n - 2);
    *type = HG_PII_PAYMENT_CARD;
  }
  d[n - 1] = luhn_check_digit(d, n - 1);
  if (rng_below(10) < 3) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
      if (i && i % 4 == 0) out[k++] = ' ';
      out[k++] = d[i];
    }
    return k;
  }
  memcpy(out, d, n);
  return n;
}

static size_t gen_email(char *out) {
  static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  size_t n = 0, local = 4 + rng_below(9);
  for (size_t i = 0; i < local; i++) {
    if (i == local / 2 && rng_below(3) == 0) out[n++] = '.';
    out[n++] = alnum[i == 0 ? rng_below(26) : rng_below(36)];
  }
  out[n++] = '@';
  const char *dom = PICK(email_domains);
  memcpy(out + n, dom, strlen(dom));
  return n + strlen(dom);
}

static void append(char *buf, size_t *len, const char *s, size_t n) {
  memcpy(buf + *len, s, n);
  *len += n;
}

static void append_str(char *buf, size_t *len, const char *s) { append(buf, len, s, strlen(s)); }

/* Sentences of a lead-in, one value, Han clauses up to about DENSE_SPACING bytes, and a full stop; a paragraph
 * break now and then. A value's type follows a fixed mix: mobile 35%, ID 25%, card 20%, email 20%. */
static int generate_dense(corpus *c) {
  /* the last sentence starts below DENSE_BYTES; no sentence reaches 2 * DENSE_SPACING + 100 bytes */
  char *buf = malloc(DENSE_BYTES + 2 * DENSE_SPACING + 100 + 1);
  if (!buf) return -1;
  rng_state = DENSE_SEED;
  size_t len = 0;
  while (len < DENSE_BYTES) {
    size_t start = len;
    char value[64];
    size_t vn;
    hg_pii_type type;
    unsigned pick = rng_below(100);
    const char *lead;
    if (pick < 35) {
      lead = PICK(mobile_lead), vn = gen_mobile(value), type = HG_PII_MOBILE;
    } else if (pick < 60) {
      lead = PICK(id_lead), vn = gen_cn_id(value), type = HG_PII_CN_ID;
    } else if (pick < 80) {
      lead = PICK(card_lead), vn = gen_card(value, &type);
    } else {
      lead = PICK(email_lead), vn = gen_email(value), type = HG_PII_EMAIL;
    }
    append_str(buf, &len, lead);
    append(buf, &len, value, vn);
    c->planted[type]++;
    append_str(buf, &len, "，");
    /* at least one clause, then another while it brings the sentence (with its full stop) nearer the spacing */
    for (int clauses = 0;; clauses++) {
      const char *clause = PICK(filler);
      size_t now = len - start + 3, with = now + strlen(clause);
      if (clauses && (now >= DENSE_SPACING || (with > DENSE_SPACING && with - DENSE_SPACING > DENSE_SPACING - now)))
        break;
      append_str(buf, &len, clause);
    }
    append_str(buf, &len, rng_below(8) ? "。" : "。\n");
  }
  buf[len] = 0;
  c->data = buf;
  c->len = len;
  c->path = "(generated in process)";
  c->name = DENSE_NAME;
  c->generated = 1;
  return 0;
}

/* ---- scanning ---- */

static int on_pii(void *ctx, const hg_pii_hit *hit) {
  pass *p = ctx;
  if ((unsigned)hit->type < HG_PII_TYPE_COUNT) p->pii[hit->type]++;
  p->pii_total++;
  return 0;
}

static int on_lex(void *ctx, const hg_hit *hit) {
  (void)hit;
  ((pass *)ctx)->lex_hits++;
  return 0;
}

static void pii_options(int cfg, hg_pii_options *o) {
  hg_pii_options_init(o);
  o->today_yyyymmdd = TODAY_YYYYMMDD;
  if (cfg == CFG_NAMES) o->types |= 1ull << HG_PII_PERSON_NAME;
}

/* One streaming pass, as the gateway runs it: each 4 KiB chunk goes to the lexicon scanner, the PII scanner or
 * both (a NULL leaves one out), and after each chunk the gateway asks how much to hold back; with both, it may
 * forward only the bytes before the longer of the two hold-backs. */
static hg_status stream_pass(hg_lexicon *lex, const hg_pii_options *pii, const corpus *c, pass *out, hg_error *err) {
  hg_scanner *lsc = NULL;
  hg_pii_scanner *psc = NULL;
  hg_status st = HG_OK;
  if (lex) st = hg_scanner_new(lex, on_lex, out, &lsc);
  if (!st && pii) st = hg_pii_scanner_new(pii, on_pii, out, &psc);
  for (size_t off = 0; !st && off < c->len; off += CHUNK_BYTES) {
    size_t n = c->len - off < CHUNK_BYTES ? c->len - off : CHUNK_BYTES, pending = 0;
    if (lsc) {
      st = hg_scanner_feed(lsc, c->data + off, n, err);
      pending = hg_scanner_pending_suffix_len(lsc);
    }
    if (!st && psc) {
      st = hg_pii_scanner_feed(psc, c->data + off, n, err);
      size_t pii_pending = hg_pii_scanner_pending_suffix_len(psc);
      if (pii_pending > pending) pending = pii_pending;
    }
    if (pending > out->max_pending) out->max_pending = pending;
  }
  if (!st && lsc) st = hg_scanner_finish(lsc, err);
  if (!st && psc) st = hg_pii_scanner_finish(psc, err);
  if (lsc) hg_scanner_free(lsc);
  if (psc) hg_pii_scanner_free(psc);
  return st;
}

/* Times one run into m. Returns 1 when another run should follow, 0 (and marks m done) after an error or a long
 * run. */
static int timed_run(measure *m, const char *label, const corpus *c, int oneshot, hg_lexicon *lex,
                     const hg_pii_options *pii) {
  pass found;
  memset(&found, 0, sizeof found);
  hg_error err;
  hg_error_clear(&err);
  if (!m->runs) m->wall_s = m->cpu_s = 1e300;
  watchdog_arm(label, c);
  double t0 = now_s(), c0 = cpu_now_s();
  hg_status st =
      oneshot ? hg_pii_scan(pii, c->data, c->len, on_pii, &found, &err) : stream_pass(lex, pii, c, &found, &err);
  double cpu = cpu_now_s() - c0, wall = now_s() - t0;
  watchdog_disarm();
  if (st) {
    m->ok = 0;
    m->done = 1;
    snprintf(m->error, sizeof m->error, "%s: %s", label, err.message);
    return 0;
  }
  m->ok = 1;
  m->runs++;
  if (wall < m->wall_s) m->wall_s = wall;
  if (cpu < m->cpu_s) m->cpu_s = cpu;
  m->found = found;
  total_wall_s += wall;
  total_cpu_s += cpu;
  if (wall > LONG_RUN_S) m->done = 1;
  return !m->done;
}

/* One round: every kind of pass once over one corpus. The bench runs REPEATS rounds over all corpora rather than
 * repeating each pass back to back, so that the best of the runs is taken from moments far apart: on a shared
 * machine a burst of other work then spoils one run of a pass, not all of them. */
static void scan_round(hg_lexicon *lex, const corpus *c, results *r) {
  hg_pii_options opt[CFG_COUNT];
  char label[64];
  for (int k = 0; k < CFG_COUNT; k++) {
    pii_options(k, &opt[k]);
    snprintf(label, sizeof label, "%s one-shot", cfg_names[k]);
    if (!r->oneshot[k].done) timed_run(&r->oneshot[k], label, c, 1, NULL, &opt[k]);
  }
  measure *names = &r->stream[CFG_NAMES], *pii = &r->stream[CFG_DEFAULT];
  if (!names->done) timed_run(names, "pii +names streaming", c, 0, NULL, &opt[CFG_NAMES]);
  /* The PII stream, the lexicon stream and the one pass run back to back, so that the comparison of the one
   * pass with the sum of the other two compares like moments. */
  if (!pii->done) timed_run(pii, "pii default streaming", c, 0, NULL, &opt[CFG_DEFAULT]);
  if (!r->sep_lex.done) timed_run(&r->sep_lex, "lexicon streaming", c, 0, lex, NULL);
  if (!r->one_pass.done) timed_run(&r->one_pass, "lexicon + pii one pass", c, 0, lex, &opt[CFG_DEFAULT]);
}

/* ---- reporting ---- */

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\')
      fprintf(f, "\\%c", ch);
    else if (ch < 0x20)
      fprintf(f, "\\u%04x", ch);
    else
      fputc(ch, f);
  }
  fputc('"', f);
}

static void json_num(FILE *f, double v, int available) {
  if (available)
    fprintf(f, "%.6g", v);
  else
    fputs("null", f);
}

static void json_types(FILE *f, const size_t *counts) {
  fputc('{', f);
  int first = 1;
  for (int t = 0; t < HG_PII_TYPE_COUNT; t++) {
    if (!counts[t]) continue;
    fprintf(f, "%s\"%s\": %zu", first ? "" : ", ", hg_pii_type_name((hg_pii_type)t), counts[t]);
    first = 0;
  }
  fputc('}', f);
}

static void json_measure(FILE *f, const char *name, const measure *m, const corpus *c) {
  fprintf(f, "\"%s\": {\"ok\": %s, \"runs\": %d, \"wall_s\": ", name, m->ok ? "true" : "false", m->runs);
  json_num(f, m->wall_s, m->ok);
  fprintf(f, ", \"cpu_s\": ");
  json_num(f, m->cpu_s, m->ok);
  fprintf(f, ", \"mbps\": ");
  json_num(f, mbps(c->len, m->wall_s), m->ok);
  fprintf(f, ", \"cpu_mbps\": ");
  json_num(f, mbps(c->len, m->cpu_s), m->ok);
  fprintf(f, ", \"pii_hits\": %zu, \"pii_hits_by_type\": ", m->found.pii_total);
  json_types(f, m->found.pii);
  fprintf(f, ", \"lexicon_hits\": %zu, \"max_pending_bytes\": %zu", m->found.lex_hits, m->found.max_pending);
  if (m->error[0]) {
    fprintf(f, ", \"error\": ");
    json_str(f, m->error);
  }
  fputc('}', f);
}

static int write_json(const char *path, const char *lex_path, const lexicon_load *ll, const corpus *cs, int nc,
                      const results *res) {
  FILE *f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "bench_pii: cannot write %s: %s\n", path, strerror(errno));
    return -1;
  }
  fprintf(f, "{\n  \"lexicon\": {\"path\": ");
  json_str(f, lex_path);
  fprintf(f,
          ", \"lines\": %zu, \"entries\": %zu, \"rejected\": %zu, \"duplicates\": %zu, \"mode\": \"folded\", "
          "\"category\": \"A1h\", \"compile_s\": %.6g},\n",
          ll->lines, ll->entries, ll->rejected, ll->duplicates, ll->compile_s);
  fprintf(f,
          "  \"repeats\": %d,\n  \"chunk_bytes\": %d,\n  \"today_yyyymmdd\": %u,\n  \"target_mbps\": %g,\n"
          "  \"timed_wall_s\": %.6g,\n  \"timed_cpu_s\": %.6g,\n",
          REPEATS, CHUNK_BYTES, TODAY_YYYYMMDD, TARGET_PII_MBPS, total_wall_s, total_cpu_s);
  fprintf(f, "  \"corpora\": [");
  for (int i = 0; i < nc; i++) {
    const corpus *c = &cs[i];
    const results *r = &res[i];
    fprintf(f, "%s\n    {\"name\": ", i ? "," : "");
    json_str(f, c->name);
    fprintf(f, ", \"path\": ");
    json_str(f, c->path);
    fprintf(f, ", \"bytes\": %zu, \"generated\": %s", c->len, c->generated ? "true" : "false");
    if (c->generated) {
      fprintf(f, ", \"planted\": ");
      json_types(f, c->planted);
    }
    const char *keys[CFG_COUNT][2] = {{"pii_default_oneshot", "pii_default_stream"},
                                      {"pii_names_oneshot", "pii_names_stream"}};
    for (int k = 0; k < CFG_COUNT; k++) {
      fprintf(f, ",\n     ");
      json_measure(f, keys[k][0], &r->oneshot[k], c);
      fprintf(f, ",\n     ");
      json_measure(f, keys[k][1], &r->stream[k], c);
    }
    fprintf(f, ",\n     ");
    json_measure(f, "lexicon_stream", &r->sep_lex, c);
    fprintf(f, ",\n     ");
    json_measure(f, "one_pass", &r->one_pass, c);
    const measure *pii = &r->stream[CFG_DEFAULT];
    int all = r->sep_lex.ok && pii->ok && r->one_pass.ok;
    fprintf(f, ",\n     \"one_pass_over_sum\": ");
    json_num(f, all ? r->one_pass.wall_s / (r->sep_lex.wall_s + pii->wall_s) : 0, all);
    fprintf(f, ", \"one_pass_over_sum_cpu\": ");
    json_num(f, all ? r->one_pass.cpu_s / (r->sep_lex.cpu_s + pii->cpu_s) : 0, all);
    fputc('}', f);
  }
  fprintf(f, "\n  ]\n}\n");
  if (fclose(f)) {
    fprintf(stderr, "bench_pii: cannot write %s\n", path);
    return -1;
  }
  return 0;
}

static void fmt_mbps(char *buf, size_t size, const measure *m, const corpus *c, int cpu) {
  if (m->ok)
    snprintf(buf, size, "%.1f", mbps(c->len, cpu ? m->cpu_s : m->wall_s));
  else
    snprintf(buf, size, "error");
}

static void note_runs(const char *what, const measure *m) {
  if (m->ok && m->runs < REPEATS)
    printf("  note: one run of %s took %.1f s, so it ran %d time(s), not %d\n", what, m->wall_s, m->runs, REPEATS);
}

static void print_pii_row(int cfg, const corpus *c, const results *r) {
  const measure *o = &r->oneshot[cfg], *s = &r->stream[cfg];
  char ow[32], oc[32], sw[32], scpu[32], shits[32], hold[32];
  fmt_mbps(ow, sizeof ow, o, c, 0);
  fmt_mbps(oc, sizeof oc, o, c, 1);
  fmt_mbps(sw, sizeof sw, s, c, 0);
  fmt_mbps(scpu, sizeof scpu, s, c, 1);
  snprintf(shits, sizeof shits, s->ok ? "%zu" : "-", s->found.pii_total);
  snprintf(hold, sizeof hold, s->ok ? "%zu" : "-", s->found.max_pending);
  char hits[32];
  snprintf(hits, sizeof hits, o->ok ? "%zu" : "-", o->found.pii_total);
  printf("%-12s %-18s %11s %9s %11s %9s %11s %11s %10s\n", cfg_names[cfg], c->name, ow, oc, sw, scpu, hits, shits,
         hold);
  if (!o->ok) printf("  %s\n", o->error);
  if (!s->ok) printf("  %s\n", s->error);
  if (o->ok && s->ok && memcmp(o->found.pii, s->found.pii, sizeof o->found.pii))
    printf("  WARNING: streaming found %zu hits, one-shot %zu (or the types differ): they must be equal\n",
           s->found.pii_total, o->found.pii_total);
  note_runs("one-shot", o);
  note_runs("streaming", s);
}

/* Types as rows, corpus x config as columns; only types some scan found (or the generator planted). */
static void print_type_table(const corpus *cs, int nc, const results *res) {
  printf("\nhits per type (one-shot; streaming agrees unless warned above):\n%-14s", "type");
  for (int i = 0; i < nc; i++) {
    int width = cs[i].generated ? 32 : 21;
    printf(" | %-*.*s", width, width, cs[i].name);
  }
  printf("\n%-14s", "");
  for (int i = 0; i < nc; i++) {
    printf(" | %10s %10s", "default", "+names");
    if (cs[i].generated) printf(" %10s", "planted");
  }
  printf("\n");
  for (int t = 0; t < HG_PII_TYPE_COUNT; t++) {
    int any = 0;
    for (int i = 0; i < nc; i++)
      for (int k = 0; k < CFG_COUNT; k++)
        any |= res[i].oneshot[k].found.pii[t] != 0 || cs[i].planted[t] != 0;
    if (!any) continue;
    printf("%-14s", hg_pii_type_name((hg_pii_type)t));
    for (int i = 0; i < nc; i++) {
      printf(" | %10zu %10zu", res[i].oneshot[CFG_DEFAULT].found.pii[t], res[i].oneshot[CFG_NAMES].found.pii[t]);
      if (cs[i].generated) printf(" %10zu", cs[i].planted[t]);
    }
    printf("\n");
  }
  for (int i = 0; i < nc; i++) {
    if (!cs[i].generated || !res[i].oneshot[CFG_DEFAULT].ok) continue;
    const size_t *hits = res[i].oneshot[CFG_DEFAULT].found.pii;
    int same = 1;
    for (int t = 0; t < HG_PII_TYPE_COUNT; t++)
      same &= hits[t] == cs[i].planted[t];
    printf("%s: the default detectors %s the planted values, type for type\n", cs[i].name,
           same ? "found exactly" : "did NOT find exactly");
  }
}

static void print_one_pass(const corpus *cs, int nc, const results *res) {
  printf("\nlexicon + pii in one pass (each 4 KiB chunk fed to an hg_scanner and an hg_pii_scanner, default types)\n"
         "against the two streaming passes run separately (pii s: the pii default stream above); the three run back\n"
         "to back in each round; s = best wall time\n");
  printf("%-18s %9s %9s %9s %10s %11s %10s %10s %12s %10s %10s\n", "corpus", "lexicon s", "pii s", "sum s",
         "one-pass s", "1-pass MB/s", "1-pass/sum", "(by cpu)", "lexicon hits", "pii hits", "max hold B");
  for (int i = 0; i < nc; i++) {
    const results *r = &res[i];
    const measure *pii = &r->stream[CFG_DEFAULT], *ms[3] = {&r->sep_lex, pii, &r->one_pass};
    int bad = 0;
    for (int k = 0; k < 3; k++)
      if (!ms[k]->ok) {
        printf("%-18s error: %s\n", cs[i].name, ms[k]->error);
        bad = 1;
        break;
      }
    if (bad) continue;
    double sum = r->sep_lex.wall_s + pii->wall_s, sum_cpu = r->sep_lex.cpu_s + pii->cpu_s;
    printf("%-18s %9.3f %9.3f %9.3f %10.3f %11.1f %10.3f %10.3f %12zu %10zu %10zu\n", cs[i].name, r->sep_lex.wall_s,
           pii->wall_s, sum, r->one_pass.wall_s, mbps(cs[i].len, r->one_pass.wall_s), r->one_pass.wall_s / sum,
           r->one_pass.cpu_s / sum_cpu, r->one_pass.found.lex_hits, r->one_pass.found.pii_total,
           r->one_pass.found.max_pending);
    if (r->one_pass.found.lex_hits != r->sep_lex.found.lex_hits || r->one_pass.found.pii_total != pii->found.pii_total)
      printf("  WARNING: one pass found %zu lexicon / %zu pii hits, separate passes %zu / %zu: they must be equal\n",
             r->one_pass.found.lex_hits, r->one_pass.found.pii_total, r->sep_lex.found.lex_hits, pii->found.pii_total);
    note_runs("the one pass", &r->one_pass);
  }
}

static void print_targets(const corpus *cs, int nc, const results *res) {
  printf("\ntargets (pii default, one core; cpu = the same bytes over on-CPU time):\n");
  for (int i = 0; i < nc; i++) {
    const measure *ms[2] = {&res[i].oneshot[CFG_DEFAULT], &res[i].stream[CFG_DEFAULT]};
    const char *what[2] = {"one-shot", "streaming"};
    for (int w = 0; w < 2; w++) {
      char label[160];
      snprintf(label, sizeof label, "pii %s MB/s on %s", what[w], cs[i].name);
      if (!ms[w]->ok) {
        printf("  %-46s %8s               (target >= %g)   n/a\n", label, "-", TARGET_PII_MBPS);
        continue;
      }
      double v = mbps(cs[i].len, ms[w]->wall_s);
      printf("  %-46s %8.1f (cpu %6.1f)   (target >= %g)   %s\n", label, v, mbps(cs[i].len, ms[w]->cpu_s),
             TARGET_PII_MBPS, v >= TARGET_PII_MBPS ? "target met" : "target NOT met");
    }
  }
}

static void usage(void) {
  fprintf(stderr, "usage: bench_pii [--json FILE] LEXICON CORPUS...\n"
                  "  LEXICON  plain list, one entry per line (compiled folded, category A1h)\n"
                  "  CORPUS   UTF-8 text, read whole into memory before timing\n"
                  "A generated Chinese corpus dense in personal data (" DENSE_NAME ", 20 MB) is added last.\n");
}

int main(int argc, char **argv) {
  const char *json_path = NULL, *lex_path = NULL;
  const char **corpus_paths = calloc((size_t)argc, sizeof *corpus_paths);
  int nfiles = 0;
  if (!corpus_paths) return 1;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--json")) {
      if (++i >= argc) return usage(), 2;
      json_path = argv[i];
    } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      return usage(), 0;
    } else if (argv[i][0] == '-' && argv[i][1]) {
      fprintf(stderr, "bench_pii: unknown option '%s'\n", argv[i]);
      return usage(), 2;
    } else if (!lex_path) {
      lex_path = argv[i];
    } else {
      corpus_paths[nfiles++] = argv[i];
    }
  }
  if (!lex_path || nfiles == 0) return usage(), 2;
  /* run.sh pipes the output through tee; progress should show while a long scan runs */
  setvbuf(stdout, NULL, _IOLBF, 0);
  watchdog_install();

  int nc = nfiles + 1;
  corpus *cs = calloc((size_t)nc, sizeof *cs);
  results *res = calloc((size_t)nc, sizeof *res);
  if (!cs || !res) return 1;
  for (int i = 0; i < nfiles; i++) {
    cs[i].path = corpus_paths[i];
    const char *slash = strrchr(cs[i].path, '/');
    cs[i].name = slash ? slash + 1 : cs[i].path;
    if (!(cs[i].data = read_whole(cs[i].path, &cs[i].len))) {
      fprintf(stderr, "bench_pii: cannot read corpus %s: %s\n", cs[i].path, strerror(errno));
      return 1;
    }
  }
  if (generate_dense(&cs[nfiles])) {
    fprintf(stderr, "bench_pii: out of memory\n");
    return 1;
  }

  printf("bench_pii: hegui personal-information detector, alone and in one pass with the lexicon scanner\n");
  printf("lexicon: %s\n", lex_path);
  lexicon_load ll;
  hg_lexicon *lex = load_lexicon(lex_path, &ll);
  if (!lex) return 1;
  printf("  %zu lines -> %zu entries (%zu rejected by hegui, %zu duplicates, %zu comment lines), folded, A1h;\n"
         "  source + compile %.3f s\n",
         ll.lines, ll.entries, ll.rejected, ll.duplicates, ll.comments, ll.compile_s);
  for (int i = 0; i < nc; i++)
    printf("corpus: %s, %.2f MB\n", cs[i].generated ? cs[i].name : cs[i].path, (double)cs[i].len / MB);
  size_t planted = 0;
  for (int t = 0; t < HG_PII_TYPE_COUNT; t++)
    planted += cs[nfiles].planted[t];
  printf("  %s: generated, %zu values planted (one per %.0f bytes), seed %#llx\n", DENSE_NAME, planted,
         planted ? (double)cs[nfiles].len / (double)planted : 0.0, (unsigned long long)DENSE_SEED);
  printf("each scan: best of %d rounds over all corpora (a run over %.0f s is not repeated), one thread;\n"
         "streaming feeds %d-byte chunks and asks pending_suffix_len after each; today_yyyymmdd = %u; MB/s by\n"
         "wall time, and (cpu) by the thread's on-CPU time; max hold B = largest pending_suffix_len seen\n\n",
         REPEATS, LONG_RUN_S, CHUNK_BYTES, TODAY_YYYYMMDD);

  for (int round = 0; round < REPEATS; round++)
    for (int i = 0; i < nc; i++) {
      printf("round %d of %d: %s\n", round + 1, REPEATS, cs[i].name);
      scan_round(lex, &cs[i], &res[i]);
    }

  printf("\n%-12s %-18s %11s %9s %11s %9s %11s %11s %10s\n", "scan", "corpus", "1-shot MB/s", "(cpu)", "stream MB/s",
         "(cpu)", "hits", "stream hits", "max hold B");
  for (int i = 0; i < nc; i++)
    for (int k = 0; k < CFG_COUNT; k++)
      print_pii_row(k, &cs[i], &res[i]);
  print_one_pass(cs, nc, res);
  print_type_table(cs, nc, res);
  print_targets(cs, nc, res);

  double on_cpu = total_wall_s > 0 ? total_cpu_s / total_wall_s : 1;
  printf("\ntimed runs: %.1f s wall, %.1f s on the CPU (%.0f%%)%s\n", total_wall_s, total_cpu_s, 100 * on_cpu,
         on_cpu < 0.95 ? ": the machine was busy, so the wall-time figures are low; the (cpu) ones less so" : "");
  if (json_path && write_json(json_path, lex_path, &ll, cs, nc, res) == 0) printf("figures written to %s\n", json_path);

  int failed = 0;
  for (int i = 0; i < nc; i++) {
    for (int k = 0; k < CFG_COUNT; k++)
      failed |= !res[i].oneshot[k].ok || !res[i].stream[k].ok;
    failed |= !res[i].sep_lex.ok || !res[i].stream[CFG_DEFAULT].ok || !res[i].one_pass.ok;
  }
  hg_lexicon_unref(lex);
  for (int i = 0; i < nc; i++)
    free(cs[i].data);
  free(cs);
  free(res);
  free(corpus_paths);
  return failed;
}
