/* detect.c — the streaming personal-information detector.
 *
 * Text is folded first (src/text), so full-width digits, ideographic spaces and dashes read as plain ASCII and
 * zero-width characters vanish. Almost every type of personal data is written in ASCII characters, so the
 * detector collects *runs*: maximal stretches of folded printable ASCII (plus the middle dots used in plates).
 * A run ends at any other character — a Han character, a line break, an emoji — and is then examined whole by
 * each detector, which finds its matches inside the run with proper boundaries and validates them (check
 * digits, dates, IIN ranges). The few folded characters before the run serve as context (身份证, 手机, 卡号 raise
 * confidence; a province abbreviation starts a licence plate). Overlapping candidates keep the longest, then the
 * most confident.
 *
 * Streaming falls out of this: nothing inside an unfinished run is decided, so the pending suffix is the run
 * (from a province character right before it, when there is one), or an open private-key block. Runs are cut at a
 * fixed length and private-key blocks at a fixed size, at positions that depend only on the text, so a stream
 * and a one-shot scan see exactly the same runs. Person names (experimental, off by default) are looked for in
 * the Han text between runs with a small window of their own. */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/clock.h"
#include "base/error.h"
#include "hegui/pii.h"
#include "hegui/text.h"

#define RUN_MAX 2048   /* longest run examined at once */
#define CONTEXT_MAX 12 /* folded characters kept before a run */
#define PEM_MAX 65536  /* longest private-key block held back */
#define NAME_WINDOW 12 /* Han characters kept for names */
#define CAND_MAX 256

typedef struct ctx_char {
  uint32_t cp;
  size_t start, end;
} ctx_char;

typedef struct cand {
  hg_pii_type type;
  size_t i0, i1; /* run indexes [i0, i1) */
  float conf;
} cand;

struct hg_pii_scanner {
  hg_pii_options opt;
  int today_auto; /* opt.today_yyyymmdd was 0: the scanner uses today's date, read again on a reset */
  hg_pii_fn fn;
  void *ctx;
  /* The state a reset clears. The arrays below are read only below their counters (run_len, ncontext, nhan,
   * npartial), so a reset clears the counters and leaves the arrays' old bytes unread. */
  size_t fed, offset;
  uint8_t partial[4];
  int npartial;
  int failed, stopped;
  /* the current run */
  char run[RUN_MAX + 1];
  size_t run_start[RUN_MAX], run_end[RUN_MAX];
  size_t run_len;
  /* folded characters before the run (a ring, newest last) */
  ctx_char context[4 * CONTEXT_MAX]; /* the last CONTEXT_MAX are the context; older ones wait for a bulk move */
  size_t ncontext;
  /* an open private-key block */
  int pem_open;
  size_t pem_start;
  /* Han text for names */
  ctx_char han[NAME_WINDOW];
  size_t nhan;
  int name_pending; /* hold back the Han window: a name may be forming */
};

void hg_pii_options_init(hg_pii_options *o) {
  o->types = ((1ull << HG_PII_TYPE_COUNT) - 1) & ~(1ull << HG_PII_PERSON_NAME);
  o->min_confidence = 0.5f;
  o->today_yyyymmdd = 0;
}

static unsigned today(void) {
  time_t t = (time_t)(hg_clock_wall_ms() / 1000); /* the one clock: a test clock moves ages too */
  struct tm tm;
  gmtime_r(&t, &tm);
  return (unsigned)((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday);
}

/* ---- character classes over the run ---- */

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_upper(char c) { return c >= 'A' && c <= 'Z'; }
static int is_alpha(char c) { return (c >= 'a' && c <= 'z') || is_upper(c); }
static int is_alnum(char c) { return is_digit(c) || is_alpha(c); }
static int is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
static int is_token(char c) { return is_alnum(c) || c == '_' || c == '-'; }

/* ---- context words ---- */

static const char *const context_words[HG_PII_TYPE_COUNT][8] = {
    [HG_PII_CN_ID] = {"身份证", "证件号", "身份号", "公民身份", "id", NULL},
    [HG_PII_MOBILE] = {"手机", "电话", "联系", "致电", "phone", "mobile", "tel", NULL},
    [HG_PII_LANDLINE] = {"电话", "座机", "固话", "联系", "传真", "phone", "tel", "fax"},
    [HG_PII_BANK_CARD] = {"卡号", "银行卡", "账号", "储蓄卡", "借记卡", "银联", "card", "account"},
    [HG_PII_PAYMENT_CARD] = {"信用卡", "卡号", "card", "visa", "mastercard", "credit", NULL},
    [HG_PII_USCC] = {"信用代码", "统一社会", "税号", "营业执照", "uscc", "credit code", "tax id", NULL},
    [HG_PII_PASSPORT] = {"护照", "passport", NULL},
    [HG_PII_HKMO_PERMIT] = {"通行证", "回乡证", "往来内地", NULL},
    [HG_PII_TW_PERMIT] = {"台胞证", "通行证", NULL},
    [HG_PII_HK_ID] = {"香港身份证", "身份证", "hkid", NULL},
    [HG_PII_MO_ID] = {"澳门", "macao", "macau", NULL},
    [HG_PII_TW_ID] = {"身分证", "身份证", "统一编号", NULL},
    [HG_PII_LICENSE_PLATE] = {"车牌", NULL},
};

/* Looks for a context word of the type in the folded text just before run index i0 (the run's own text before
 * it, then the characters before the run). */
static int has_context(const hg_pii_scanner *sc, hg_pii_type type, size_t i0) {
  char buf[CONTEXT_MAX * 4 + 64 + 1];
  size_t n = 0;
  for (size_t k = sc->ncontext > CONTEXT_MAX ? sc->ncontext - CONTEXT_MAX : 0; k < sc->ncontext; k++)
    n += hg_utf8_encode(sc->context[k].cp, buf + n);
  size_t from = i0 > 64 ? i0 - 64 : 0;
  for (size_t k = from; k < i0; k++)
    buf[n++] = sc->run[k];
  buf[n] = 0;
  for (size_t k = 0; k < n; k++)
    if (buf[k] >= 'A' && buf[k] <= 'Z') buf[k] = (char)(buf[k] - 'A' + 'a');
  for (int w = 0; w < 8 && context_words[type][w]; w++)
    if (strstr(buf, context_words[type][w])) return 1;
  return 0;
}

/* ---- candidates ---- */

typedef struct cands {
  cand v[CAND_MAX];
  size_t n;
} cands;

static void add(hg_pii_scanner *sc, cands *cs, hg_pii_type type, size_t i0, size_t i1, float conf, int ctx_bonus) {
  if (!(sc->opt.types & (1ull << type))) return;
  if (ctx_bonus && has_context(sc, type, i0)) conf += 0.3f;
  if (conf > 1.0f) conf = 1.0f;
  if (conf < sc->opt.min_confidence || cs->n == CAND_MAX) return;
  cs->v[cs->n++] = (cand){type, i0, i1, conf};
}

/* An 18-digit string whose first 17 digits make a resident ID with some check character: with the wrong check
 * character it is a mistyped ID, not a card or a credit code. */
static int id_shaped(const char *d, unsigned today_yyyymmdd) {
  char t[18];
  memcpy(t, d, 17);
  static const char checks[] = "0123456789X";
  for (int k = 0; k < 11; k++) {
    t[17] = checks[k];
    if (hg_cn_id_valid(t, 18, today_yyyymmdd, NULL)) return 1;
  }
  return 0;
}

/* Digits with single spaces or dashes between them: the numeric detectors. The group is tried whole, then split
 * at its separators, longest first, so "13812345678 13912345678" gives two phone numbers. */
static int classify_digits(hg_pii_scanner *sc, cands *cs, size_t i0, size_t i1, int plus) {
  char d[64];
  size_t nd = 0, first_sep = 0, group = 0, min_group = 64;
  int x = 0;
  for (size_t k = i0; k < i1; k++) {
    char c = sc->run[k];
    if (is_digit(c)) {
      if (nd == sizeof d - 1) return 0;
      d[nd++] = c;
      group++;
    } else if (c == 'X' || c == 'x') {
      x = 1;
      d[nd++] = 'X';
    } else {
      if (!first_sep && nd) first_sep = nd;
      if (group < min_group) min_group = group;
      group = 0;
    }
  }
  if (group && group < min_group) min_group = group;
  d[nd] = 0;
  if (nd == 18 || (nd == 15 && !x)) {
    if (hg_cn_id_valid(d, nd, sc->opt.today_yyyymmdd, NULL)) {
      add(sc, cs, HG_PII_CN_ID, i0, i1, nd == 18 ? 0.9f : 0.6f, 1);
      return 1;
    }
  }
  if (x) return 0;
  /* mobile: 11 digits, or 86 / 0086 / +86 in front */
  const char *m = d;
  size_t mn = nd;
  if (plus && strncmp(d, "86", 2)) return 0; /* another country's number */
  if (plus && nd == 13)
    m += 2, mn -= 2;
  else if (nd == 15 && !strncmp(d, "0086", 4))
    m += 4, mn -= 4;
  else if (nd == 13 && !strncmp(d, "86", 2) && first_sep == 2)
    m += 2, mn -= 2;
  if (mn == 11 && hg_cn_mobile_valid(m, mn)) {
    add(sc, cs, HG_PII_MOBILE, i0 - (plus ? 1 : 0), i1, 0.85f, 1);
    return 1;
  }
  if (plus) return 0;
  /* cards: Luhn and issuer ranges */
  if (nd >= 13 && nd <= 19 && !(nd == 18 && id_shaped(d, sc->opt.today_yyyymmdd))) {
    int t = hg_card_type(d, nd);
    if (t >= 0) {
      add(sc, cs, (hg_pii_type)t, i0, i1, 0.8f, 1);
      return 1;
    }
  }
  /* landline: 0 + area code (010, 02x: 3 digits; others 4) + 7-8 digit subscriber number not starting 0/1 */
  if (nd >= 10 && nd <= 12 && d[0] == '0' && d[1] != '0' && min_group >= 3) {
    size_t area = (d[1] == '1' || d[1] == '2') ? 3 : 4;
    size_t sub = nd - area;
    if ((sub == 8 || (sub == 7 && area == 4)) && d[area] >= '2') {
      add(sc, cs, HG_PII_LANDLINE, i0, i1, first_sep == area ? 0.8f : 0.45f, 1);
      return 1;
    }
  }
  /* Mainland Travel Permit for Taiwan Residents: 8 digits, only with its name nearby */
  if (nd == 8 && !first_sep) {
    add(sc, cs, HG_PII_TW_PERMIT, i0, i1, 0.3f, 1);
    return 0;
  }
  return 0;
}

static void detect_numbers(hg_pii_scanner *sc, cands *cs) {
  const char *r = sc->run;
  size_t n = sc->run_len;
  for (size_t i = 0; i < n;) {
    /* a landline with its area code in brackets: (025)87442505, (010) 6234-5678 */
    if (r[i] == '(' && i + 1 < n && r[i + 1] == '0' && (i == 0 || !is_alnum(r[i - 1]))) {
      size_t k = i + 1;
      while (k < n && is_digit(r[k]) && k - i <= 4)
        k++;
      size_t area = k - i - 1;
      if (k < n && r[k] == ')' && (area == 3 || area == 4) && r[i + 2] != '0') {
        size_t m = k + 1, digits = 0;
        if (m < n && (r[m] == ' ' || r[m] == '-')) m++;
        size_t sub_start = m;
        while (m < n && (is_digit(r[m]) || (r[m] == '-' && m + 1 < n && is_digit(r[m + 1]) && m > sub_start))) {
          digits += is_digit(r[m]);
          m++;
        }
        int three = r[i + 2] == '1' || r[i + 2] == '2';
        if ((three ? area == 3 && digits == 8 : area == 4 && (digits == 7 || digits == 8)) && sub_start < n &&
            r[sub_start] >= '2' && !(m < n && (is_alnum(r[m]) || r[m] == '.'))) {
          add(sc, cs, HG_PII_LANDLINE, i, m, 0.8f, 1);
          i = m;
          continue;
        }
      }
    }
    int plus = r[i] == '+' && i + 1 < n && is_digit(r[i + 1]);
    if (!is_digit(r[i]) && !plus) {
      i++;
      continue;
    }
    /* a number glued to letters, dots or underscores is part of something else (a word, a version, a key) */
    if (i > 0 && (is_alnum(r[i - 1]) || r[i - 1] == '.' || r[i - 1] == '_')) {
      i++; /* always move on: a '+' is not part of the word it follows */
      while (i < n && (is_alnum(r[i]) || r[i] == '_'))
        i++;
      continue;
    }
    size_t s = i + (plus ? 1 : 0), e = s, seps[24], nseps = 0;
    while (e < n) {
      if (is_digit(r[e]))
        e++;
      else if ((r[e] == ' ' || r[e] == '-') && e + 1 < n && is_digit(r[e + 1]) && e > s && is_digit(r[e - 1])) {
        if (nseps < 24) seps[nseps++] = e;
        e++;
      } else {
        break;
      }
    }
    size_t end = e;
    if (end < n && (r[end] == 'X' || r[end] == 'x') && !(end + 1 < n && is_alnum(r[end + 1]))) end++;
    if (end < n && (is_alpha(r[end]) || r[end] == '_' || (r[end] == '.' && end + 1 < n && is_digit(r[end + 1])))) {
      while (end < n && (is_alnum(r[end]) || r[end] == '_' || r[end] == '.'))
        end++;
      i = end;
      continue;
    }
    if (!classify_digits(sc, cs, s, end, plus) && nseps) {
      /* Segments between separators, for several numbers in a row ("13812345678 13912345678"): take the longest
       * classifiable span from each segment start. The split only counts when every segment ends up inside a
       * value; otherwise a mistyped card would leave a phone number or an old ID in its pieces. */
      size_t starts[25], ends[25], ns = 0, before = cs->n;
      starts[0] = s;
      for (size_t k = 0; k < nseps; k++)
        ends[ns] = seps[k], starts[++ns] = seps[k] + 1;
      ends[ns++] = end;
      int all = 1;
      for (size_t a = 0; a < ns;) {
        size_t took = 0;
        for (size_t b = ns; b-- > a;) {
          if (a == 0 && b == ns - 1) continue; /* the whole group was tried */
          if (classify_digits(sc, cs, starts[a], ends[b], 0)) {
            took = b + 1 - a;
            break;
          }
        }
        if (!took) all = 0;
        a += took ? took : 1;
      }
      if (!all) cs->n = before;
    }
    i = end;
  }
}

static void detect_ipv4(hg_pii_scanner *sc, cands *cs) {
  const char *r = sc->run;
  size_t n = sc->run_len;
  for (size_t i = 0; i < n; i++) {
    if (!is_digit(r[i]) || (i > 0 && (is_alnum(r[i - 1]) || r[i - 1] == '.'))) continue;
    size_t k = i;
    int parts = 0, ok = 1;
    while (parts < 4 && ok) {
      size_t s = k;
      unsigned v = 0;
      while (k < n && is_digit(r[k]) && k - s < 4)
        v = v * 10 + (unsigned)(r[k++] - '0');
      if (k == s || k - s > 3 || v > 255 || (k - s > 1 && r[s] == '0')) ok = 0;
      parts++;
      if (parts < 4) {
        if (k < n && r[k] == '.')
          k++;
        else
          ok = 0;
      }
    }
    if (ok && !(k < n && (is_alnum(r[k]) || (r[k] == '.' && k + 1 < n && is_digit(r[k + 1]))))) {
      add(sc, cs, HG_PII_IPV4, i, k, 0.8f, 0);
      i = k;
    }
  }
}

static void detect_ipv6(hg_pii_scanner *sc, cands *cs) {
  const char *r = sc->run;
  size_t n = sc->run_len;
  for (size_t i = 0; i < n; i++) {
    if (!(is_hex(r[i]) || r[i] == ':') || (i > 0 && (is_hex(r[i - 1]) || r[i - 1] == ':' || is_alnum(r[i - 1]))))
      continue;
    size_t k = i, colons = 0, hexd = 0;
    while (k < n && (is_hex(r[k]) || r[k] == ':' || r[k] == '.') && k - i < 45) {
      colons += r[k] == ':';
      hexd += is_hex(r[k]);
      k++;
    }
    while (k > i && (r[k - 1] == '.' || (r[k - 1] == ':' && !(k - i >= 2 && r[k - 2] == ':'))))
      k--;
    if (colons < 2 || hexd < 2 || (k < n && is_alnum(r[k]))) continue;
    char buf[64];
    memcpy(buf, r + i, k - i);
    buf[k - i] = 0;
    unsigned char addr[16];
    if (inet_pton(AF_INET6, buf, addr) == 1) {
      add(sc, cs, HG_PII_IPV6, i, k, 0.8f, 0);
      i = k;
    }
  }
}

static int email_local(char c) { return is_alnum(c) || strchr("._%+-", c) != NULL; }
static int email_domain(char c) { return is_alnum(c) || c == '-' || c == '.'; }

static void detect_email(hg_pii_scanner *sc, cands *cs) {
  const char *r = sc->run;
  size_t n = sc->run_len;
  for (size_t at = 1; at + 1 < n; at++) {
    if (r[at] != '@') continue;
    size_t s = at;
    while (s > 0 && email_local(r[s - 1]))
      s--;
    while (s < at && r[s] == '.')
      s++;
    size_t e = at + 1;
    while (e < n && email_domain(r[e]))
      e++;
    while (e > at + 1 && (r[e - 1] == '.' || r[e - 1] == '-'))
      e--;
    if (s == at || e == at + 1 || r[at - 1] == '.') continue;
    /* the domain needs a dot and a top-level label of two or more letters */
    size_t dot = e;
    while (dot > at + 1 && r[dot - 1] != '.')
      dot--;
    if (dot == at + 1 || e - dot < 2) continue;
    int tld_alpha = 1;
    for (size_t k = dot; k < e; k++)
      tld_alpha &= is_alpha(r[k]);
    if (!tld_alpha) continue;
    add(sc, cs, HG_PII_EMAIL, s, e, 0.9f, 0);
  }
}

static void detect_url_credentials(hg_pii_scanner *sc, cands *cs) {
  const char *r = sc->run;
  size_t n = sc->run_len;
  for (size_t i = 1; i + 3 < n; i++) {
    if (r[i] != ':' || r[i + 1] != '/' || r[i + 2] != '/') continue;
    size_t s = i;
    while (s > 0 && (is_alnum(r[s - 1]) || r[s - 1] == '+' || r[s - 1] == '.' || r[s - 1] == '-'))
      s--;
    if (s == i || !is_alpha(r[s])) continue;
    size_t k = i + 3, colon = 0, at = 0;
    while (k < n && r[k] != '/' && r[k] != ' ' && r[k] != '?' && r[k] != '#') {
      if (r[k] == '@')
        at = k;
      else if (r[k] == ':' && !at && !colon)
        colon = k;
      k++;
    }
    if (!at || !colon || colon == i + 3 || colon + 1 == at || at + 1 == k) continue;
    add(sc, cs, HG_PII_URL_CREDENTIALS, s, k, 0.95f, 0);
  }
}

static const struct {
  const char *prefix;
  int (*cls)(char);
  size_t min, max;
} secret_forms[] = {
    {"AKIA", is_alnum, 16, 16},   {"ASIA", is_alnum, 16, 16},         {"LTAI", is_alnum, 12, 28},
    {"AKID", is_alnum, 32, 36},   {"sk-", is_token, 20, 200},         {"ghp_", is_alnum, 36, 36},
    {"gho_", is_alnum, 36, 36},   {"ghu_", is_alnum, 36, 36},         {"ghs_", is_alnum, 36, 36},
    {"ghr_", is_alnum, 36, 36},   {"github_pat_", is_token, 60, 120}, {"glpat-", is_token, 20, 20},
    {"xoxb-", is_token, 10, 200}, {"xoxp-", is_token, 10, 200},       {"xoxa-", is_token, 10, 200},
    {"AIza", is_token, 35, 35},
};

static int is_b64url(char c) { return is_alnum(c) || c == '_' || c == '-'; }

static void detect_secrets(hg_pii_scanner *sc, cands *cs) {
  const char *r = sc->run;
  size_t n = sc->run_len;
  for (size_t i = 0; i < n; i++) {
    if (i > 0 && is_token(r[i - 1])) continue;
    char c0 = r[i];
    if (c0 != 'A' && c0 != 'L' && c0 != 's' && c0 != 'g' && c0 != 'x' && c0 != 'e') continue; /* no key starts so */
    for (size_t f = 0; f < sizeof secret_forms / sizeof *secret_forms; f++) {
      if (secret_forms[f].prefix[0] != c0) continue;
      size_t pl = strlen(secret_forms[f].prefix);
      if (i + pl > n || memcmp(r + i, secret_forms[f].prefix, pl)) continue;
      size_t k = i + pl;
      while (k < n && secret_forms[f].cls(r[k]))
        k++;
      size_t body = k - i - pl;
      if (body < secret_forms[f].min || body > secret_forms[f].max || (k < n && is_token(r[k]))) continue;
      add(sc, cs, HG_PII_SECRET, i, k, 0.9f, 0);
      break;
    }
    /* JSON Web Token: three base64url parts, the first two JSON objects ("eyJ" is '{"' encoded) */
    if (i + 3 < n && !memcmp(r + i, "eyJ", 3)) {
      size_t k = i, parts = 0, len[3] = {0};
      while (parts < 3) {
        size_t s = k;
        while (k < n && is_b64url(r[k]))
          k++;
        len[parts++] = k - s;
        if (parts < 3) {
          if (k < n && r[k] == '.' && k + 3 < n && (parts == 2 || !memcmp(r + k + 1, "eyJ", 3)))
            k++;
          else
            break;
        }
      }
      if (parts == 3 && len[0] >= 10 && len[1] >= 10 && len[2] >= 10 && !(k < n && is_token(r[k])))
        add(sc, cs, HG_PII_SECRET, i, k, 0.9f, 0);
    }
  }
}

/* Identity documents written as letters and digits: checked types first, format-only ones need context. */
static void detect_documents(hg_pii_scanner *sc, cands *cs) {
  const char *r = sc->run;
  size_t n = sc->run_len;
  for (size_t i = 0; i < n;) {
    if (!is_alnum(r[i])) {
      i++;
      continue;
    }
    size_t e = i;
    while (e < n && is_alnum(r[e]))
      e++;
    size_t t = e; /* token, with a bracketed check character as in A123456(3) */
    if (e + 2 < n && r[e] == '(' && is_alnum(r[e + 1]) && r[e + 2] == ')') t = e + 3;
    int glued = (i > 0 && (r[i - 1] == '_' || r[i - 1] == '-' || r[i - 1] == '.')) ||
                (t < n && (r[t] == '_' || (r[t] == '-' && t + 1 < n && is_alnum(r[t + 1]))));
    size_t len = e - i;
    const char *s = r + i;
    int letters = 0;
    for (size_t k = i; k < e; k++)
      letters += is_alpha(r[k]);
    if (!glued) {
      if (len == 18 && hg_uscc_valid(s, len)) {
        /* Seventeen digits and an X, or eighteen digits that make an ID, are identity numbers (mistyped or
         * not); an all-digit code is a credit code only with its name nearby. */
        int digits17 = 1;
        for (size_t k = 0; k < 17; k++)
          digits17 &= is_digit(s[k]);
        int id_like = digits17 && (s[17] == 'X' || s[17] == 'x' || id_shaped(s, sc->opt.today_yyyymmdd));
        add(sc, cs, HG_PII_USCC, i, e, id_like ? 0.2f : letters ? 0.85f : 0.4f, 1);
      }
      if (hg_hk_id_valid(s, t - i) && (t > e || letters)) add(sc, cs, HG_PII_HK_ID, i, t, t > e ? 0.85f : 0.6f, 1);
      if (len == 10 && is_upper(s[0]) && hg_tw_id_valid(s, len)) add(sc, cs, HG_PII_TW_ID, i, e, 0.8f, 1);
      if (hg_mo_id_valid(s, t - i) && !letters) add(sc, cs, HG_PII_MO_ID, i, t, t > e ? 0.45f : 0.2f, 1);
      int all_digits_after_1 = len > 1;
      for (size_t k = 1; k < len; k++)
        all_digits_after_1 &= is_digit(s[k]);
      if (((s[0] == 'E' || s[0] == 'G') && len == 9 && all_digits_after_1) ||
          (s[0] == 'E' && len == 9 && is_upper(s[1]) && s[1] != 'I' && s[1] != 'O' && letters == 2))
        add(sc, cs, HG_PII_PASSPORT, i, e, 0.6f, 1);
      if ((s[0] == 'H' || s[0] == 'M') && (len == 9 || len == 11) && all_digits_after_1)
        add(sc, cs, HG_PII_HKMO_PERMIT, i, e, 0.5f, 1);
    }
    i = t > e ? t : e;
  }
}

/* Province abbreviations that open a mainland licence plate (and 使/领 for diplomatic plates). */
static int is_province(uint32_t cp) {
  /* the first character of a plate: the provinces' abbreviations, 使 (embassy) and 领 (consulate) */
  static const uint32_t provinces[] = {U'京', U'津', U'沪', U'渝', U'冀', U'豫', U'云', U'辽', U'黑', U'湘', U'皖',
                                       U'鲁', U'新', U'苏', U'浙', U'赣', U'鄂', U'桂', U'甘', U'晋', U'蒙', U'陕',
                                       U'吉', U'闽', U'贵', U'粤', U'青', U'藏', U'川', U'宁', U'琼', U'使', U'领'};
  if (cp < 0x4E00 || cp > 0x9FFF) return 0; /* all of them are in the unified block: most text is decided here */
  for (size_t i = 0; i < sizeof provinces / sizeof *provinces; i++)
    if (provinces[i] == cp) return 1;
  return 0;
}

static int plate_letter(char c) { return is_upper(c) && c != 'I' && c != 'O'; }

/* A plate starts in the context (its province character) and continues at the very start of the run. */
static void detect_plate(hg_pii_scanner *sc, cands *cs, size_t *plate_start_byte) {
  const char *r = sc->run;
  size_t n = sc->run_len;
  *plate_start_byte = (size_t)-1;
  if (!sc->ncontext || !is_province(sc->context[sc->ncontext - 1].cp) ||
      sc->context[sc->ncontext - 1].end != sc->run_start[0] || n < 6 || !plate_letter(r[0]))
    return;
  size_t k = 1;
  if (r[k] == '.' || r[k] == ' ' || r[k] == '-') k++;
  size_t s = k;
  while (k < n && (is_upper(r[k]) || is_digit(r[k])) && k - s < 7)
    k++;
  size_t body = k - s;
  if (k < n && is_alnum(r[k])) return;
  int ok = 0;
  for (size_t j = s; j < k; j++)
    if (!plate_letter(r[j]) && !is_digit(r[j])) return;
  if (body == 5) ok = 1; /* conventional: letter + 5 */
  if (body == 6 && (r[s] == 'D' || r[s] == 'F' || r[k - 1] == 'D' || r[k - 1] == 'F')) ok = 1; /* new energy */
  if (!ok) return;
  add(sc, cs, HG_PII_LICENSE_PLATE, 0, k, 0.8f, 0);
  *plate_start_byte = sc->context[sc->ncontext - 1].start;
}

static int cand_cmp(const void *a, const void *b) {
  const cand *x = a, *y = b;
  if (x->i0 != y->i0) return x->i0 < y->i0 ? -1 : 1;
  if (x->i1 != y->i1) return x->i1 > y->i1 ? -1 : 1;
  return x->conf > y->conf ? -1 : x->conf < y->conf;
}

/* Examines the finished run and reports its hits. */
static void flush_run(hg_pii_scanner *sc) {
  if (!sc->run_len) return;
  static const char *const pem_begin = "-----BEGIN ";
  sc->run[sc->run_len] = 0;
  if (!sc->pem_open && strstr(sc->run, pem_begin) && strstr(sc->run, "PRIVATE KEY-----")) {
    sc->pem_open = 1;
    sc->pem_start = sc->run_start[strstr(sc->run, pem_begin) - sc->run];
  }
  if (sc->pem_open) {
    const char *end = strstr(sc->run, "-----END ");
    if (end && strstr(end, "PRIVATE KEY-----")) {
      const char *close = strstr(end, "PRIVATE KEY-----") + 16;
      hg_pii_hit h = {HG_PII_SECRET, sc->pem_start, sc->run_end[close - sc->run - 1], 0.99f};
      sc->pem_open = 0;
      if ((sc->opt.types & (1ull << HG_PII_SECRET)) && sc->fn && sc->fn(sc->ctx, &h)) sc->stopped = 1;
    }
    sc->run_len = 0;
    return;
  }
  cands cs;
  cs.n = 0;
  size_t plate_byte = (size_t)-1;
  /* Most runs are plain words: what a run lacks rules whole detectors out (every number-like type needs a digit,
   * e-mail an '@', URLs and IPv6 a ':'). Secrets are looked for always: a key may be letters only. */
  int digit = 0, at = 0, colon = 0;
  for (size_t k = 0; k < sc->run_len; k++) {
    char ch = sc->run[k];
    digit |= ch >= '0' && ch <= '9';
    at |= ch == '@';
    colon |= ch == ':';
  }
  if (digit) detect_plate(sc, &cs, &plate_byte);
  detect_secrets(sc, &cs);
  if (colon) detect_url_credentials(sc, &cs);
  if (at) detect_email(sc, &cs);
  if (colon) detect_ipv6(sc, &cs);
  if (digit) {
    detect_ipv4(sc, &cs);
    detect_documents(sc, &cs);
    detect_numbers(sc, &cs);
  }
  qsort(cs.v, cs.n, sizeof *cs.v, cand_cmp);
  /* keep the longest (then most confident) of overlapping candidates */
  size_t covered = 0;
  for (size_t k = 0; k < cs.n && !sc->stopped; k++) {
    cand *c = &cs.v[k];
    if (c->i0 < covered) continue;
    int longer_later = 0;
    for (size_t j = k + 1; j < cs.n && cs.v[j].i0 < c->i1; j++)
      if (cs.v[j].i1 - cs.v[j].i0 > c->i1 - c->i0) longer_later = 1;
    if (longer_later) continue;
    covered = c->i1;
    size_t start = sc->run_start[c->i0];
    if (c->type == HG_PII_LICENSE_PLATE && c->i0 == 0) start = plate_byte;
    hg_pii_hit h = {c->type, start, sc->run_end[c->i1 - 1], c->conf};
    if (sc->fn && sc->fn(sc->ctx, &h)) sc->stopped = 1;
  }
  sc->run_len = 0;
}

/* ---- person names (experimental) ---- */

static const char surnames[] =
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛"
    "郝龚邵万钱严覃武戴莫孔向汤";
static const char *const name_before[] = {"我叫",   "名叫",   "姓名", "名字是", "叫做", "联系人",
                                          "收件人", "收货人", "患者", "客户",   NULL};
static const char *const name_after[] = {"先生", "女士", "小姐", "老师", "医生", "经理", "同学", "教授", NULL};
static const char name_stop[] = "的了是在和与及我你他她它们这那有也就都说去来到给对从被把今明昨";

/* Membership in a small set of Han characters: the sets are turned into bitmaps over the BMP once, since the
 * test runs for every Han character of the text. */
typedef struct han_set {
  const char *chars;
  uint8_t bits[0x10000 / 8];
} han_set;

static han_set set_surnames = {surnames, {0}}, set_stop = {name_stop, {0}}, set_not_after = {"感多致答道", {0}};
static pthread_once_t sets_once = PTHREAD_ONCE_INIT;

static void build_sets(void) {
  han_set *all[] = {&set_surnames, &set_stop, &set_not_after};
  for (int k = 0; k < 3; k++)
    for (const char *p = all[k]->chars; *p;) {
      uint32_t c;
      int n = hg_utf8_decode((const uint8_t *)p, 4, &c);
      if (n <= 0) break;
      if (c < 0x10000) all[k]->bits[c >> 3] |= (uint8_t)(1u << (c & 7));
      p += n;
    }
}

static int in_set(const han_set *set, uint32_t cp) {
  pthread_once(&sets_once, build_sets);
  return cp < 0x10000 && (set->bits[cp >> 3] >> (cp & 7) & 1);
}

static int window_has(const hg_pii_scanner *sc, size_t at, const char *word) {
  /* does the Han window hold `word` ending right before index at? */
  uint32_t cps[8];
  size_t n = 0;
  for (const char *p = word; *p && n < 8;) {
    int k = hg_utf8_decode((const uint8_t *)p, 4, &cps[n++]);
    p += k;
  }
  if (n > at) return 0;
  for (size_t k = 0; k < n; k++)
    if (sc->han[at - n + k].cp != cps[k]) return 0;
  return 1;
}

/* Called with the Han window complete up to a break or when it is full: finds names and reports them. */
static void flush_names(hg_pii_scanner *sc, int final) {
  size_t n = sc->nhan, done_to = 0;
  for (size_t i = 0; i < n && !sc->stopped; i++) {
    if (i < done_to || !in_set(&set_surnames, sc->han[i].cp)) continue;
    int before = 0;
    for (int w = 0; name_before[w]; w++)
      before |= window_has(sc, i, name_before[w]);
    /* surname + 0-2 given characters + a title: 李先生, 张伟先生, 王小明老师 */
    size_t len = 0;
    if (i > 0 && sc->han[i - 1].end == sc->han[i].start && in_set(&set_not_after, sc->han[i - 1].cp))
      continue; /* 感谢 */
    for (size_t g = 0; g <= 2 && !len && i + g + 2 < n; g++) {
      int contiguous = 1;
      for (size_t k = i + 1; k <= i + g + 2; k++)
        contiguous &= sc->han[k].start == sc->han[k - 1].end;
      if (!contiguous) continue;
      for (int w = 0; name_after[w]; w++) {
        uint32_t c0, c1;
        hg_utf8_decode((const uint8_t *)name_after[w], 3, &c0);
        hg_utf8_decode((const uint8_t *)name_after[w] + 3, 3, &c1);
        if (sc->han[i + 1 + g].cp == c0 && sc->han[i + 2 + g].cp == c1) len = 1 + g;
      }
    }
    if (!len && before) {
      len = 1;
      for (size_t g = 1; g <= 2 && i + g < n && !in_set(&set_stop, sc->han[i + g].cp) &&
                         sc->han[i + g].start == sc->han[i + g - 1].end;
           g++)
        len = g + 1;
      if (len == 1) len = 0;
      if (len && i + len == n && !final) return; /* the given name may go on in the next chunk */
    }
    if (len) {
      hg_pii_hit h = {HG_PII_PERSON_NAME, sc->han[i].start, sc->han[i + len - 1].end, before ? 0.7f : 0.6f};
      if (h.confidence >= sc->opt.min_confidence && sc->fn && sc->fn(sc->ctx, &h)) sc->stopped = 1;
      done_to = i + len;
    }
  }
  sc->nhan = 0;
}

static void push_han(hg_pii_scanner *sc, uint32_t cp, size_t bs, size_t be) {
  if (sc->nhan == NAME_WINDOW) {
    /* keep the last four characters as the context of what follows */
    size_t keep = 4;
    ctx_char tail[4];
    memcpy(tail, sc->han + NAME_WINDOW - keep, sizeof tail);
    sc->nhan = NAME_WINDOW - keep;
    flush_names(sc, 1);
    memcpy(sc->han, tail, sizeof tail);
    sc->nhan = keep;
  }
  sc->han[sc->nhan++] = (ctx_char){cp, bs, be};
}

/* ---- the stream ---- */

static int run_char(uint32_t cp) { return (cp >= 0x20 && cp < 0x7F) || cp == 0xB7 || cp == 0x2022 || cp == 0x30FB; }

static void push_context(hg_pii_scanner *sc, uint32_t cp, size_t bs, size_t be) {
  if (sc->ncontext == 4 * CONTEXT_MAX) { /* one move per 3 x CONTEXT_MAX characters, not one per character */
    memmove(sc->context, sc->context + sc->ncontext - (CONTEXT_MAX - 1), (CONTEXT_MAX - 1) * sizeof *sc->context);
    sc->ncontext = CONTEXT_MAX - 1;
  }
  sc->context[sc->ncontext++] = (ctx_char){cp, bs, be};
}

/* One folded code point c of source code point cp (sole: cp folds to c alone). */
static void process_folded(hg_pii_scanner *sc, uint32_t c, uint32_t cp, int sole, size_t bs, size_t be) {
  {
    if (run_char(c)) {
      if (sc->nhan) flush_names(sc, 1); /* keep hits in order of position */
      if (sc->run_len == RUN_MAX) flush_run(sc);
      /* keep the case as written (keys, plates and passports are upper case), but not the width */
      uint32_t keep = cp < 0x80 ? cp : (cp >= 0xFF01 && cp <= 0xFF5E) ? cp - 0xFEE0 : c;
      sc->run[sc->run_len] = (keep < 0x80 && sole) ? (char)keep : (c < 0x80) ? (char)c : '.';
      sc->run_start[sc->run_len] = bs;
      sc->run_end[sc->run_len] = be;
      sc->run_len++;
      return;
    }
    if (sc->run_len) flush_run(sc);
    if (sc->pem_open && be - sc->pem_start > PEM_MAX) { /* an unterminated block: report what was held */
      hg_pii_hit h = {HG_PII_SECRET, sc->pem_start, bs, 0.9f};
      sc->pem_open = 0;
      if ((sc->opt.types & (1ull << HG_PII_SECRET)) && sc->fn && sc->fn(sc->ctx, &h)) sc->stopped = 1;
    }
    if (c == '\n' || c == '\r' || c == 0x2028 || c == 0x2029)
      sc->ncontext = 0; /* context stays on its line */
    else
      push_context(sc, c, bs, be);
    if (sc->opt.types & (1ull << HG_PII_PERSON_NAME)) {
      if (hg_char_flags(c) & HG_CHAR_HAN)
        push_han(sc, c, bs, be);
      else if (sc->nhan)
        flush_names(sc, 1);
    }
  }
}

static void process_cp(hg_pii_scanner *sc, uint32_t cp, size_t bs, size_t be) {
  uint32_t f[HG_FOLD_MAX];
  size_t nf = hg_fold(cp, f);
  for (size_t i = 0; i < nf && !sc->stopped; i++)
    process_folded(sc, f[i], cp, nf == 1, bs, be);
}

hg_status hg_pii_scanner_new(const hg_pii_options *options, hg_pii_fn on_hit, void *ctx, hg_pii_scanner **out) {
  hg_pii_scanner *sc = calloc(1, sizeof *sc);
  if (!sc) return HG_ERR_NOMEM;
  if (options)
    sc->opt = *options;
  else
    hg_pii_options_init(&sc->opt);
  sc->today_auto = !sc->opt.today_yyyymmdd;
  if (sc->today_auto) sc->opt.today_yyyymmdd = today();
  sc->fn = on_hit;
  sc->ctx = ctx;
  *out = sc;
  return HG_OK;
}

void hg_pii_scanner_reset(hg_pii_scanner *sc) {
  /* not a memset of the whole scanner: its windows are 36 KB, and a pooled moderator resets it for every text */
  if (sc->today_auto) sc->opt.today_yyyymmdd = today(); /* a scanner kept across midnight ages people from today */
  sc->fed = sc->offset = 0;
  sc->npartial = 0;
  sc->failed = sc->stopped = 0;
  sc->run_len = 0;
  sc->ncontext = 0;
  sc->pem_open = 0;
  sc->pem_start = 0;
  sc->nhan = 0;
  sc->name_pending = 0;
}

void hg_pii_scanner_free(hg_pii_scanner *sc) { free(sc); }

hg_status hg_pii_scanner_feed(hg_pii_scanner *sc, const char *chunk, size_t len, hg_error *err) {
  if (sc->failed) return hg_fail(err, HG_ERR_INVALID, 0, sc->offset, "scanner stopped after an error; reset it");
  const uint8_t *s = (const uint8_t *)chunk;
  size_t i = 0;
  sc->fed += len;
  if (sc->stopped) return HG_OK;
  uint32_t cp;
  while (sc->npartial && i < len) {
    sc->partial[sc->npartial++] = s[i++];
    int r = hg_utf8_decode(sc->partial, (size_t)sc->npartial, &cp);
    if (r < 0) {
      sc->failed = 1;
      return hg_fail(err, HG_ERR_UTF8, 0, sc->offset, "invalid UTF-8 at byte offset %zu", sc->offset);
    }
    if (r > 0) {
      sc->npartial = 0;
      process_cp(sc, cp, sc->offset, sc->offset + (size_t)r);
      sc->offset += (size_t)r;
    }
  }
  while (i < len && !sc->stopped) {
    int r = hg_utf8_decode(s + i, len - i, &cp);
    if (r < 0) {
      sc->failed = 1;
      return hg_fail(err, HG_ERR_UTF8, 0, sc->offset, "invalid UTF-8 at byte offset %zu", sc->offset);
    }
    if (r == 0) {
      memcpy(sc->partial, s + i, len - i);
      sc->npartial = (int)(len - i);
      break;
    }
    process_cp(sc, cp, sc->offset, sc->offset + (size_t)r);
    sc->offset += (size_t)r;
    i += (size_t)r;
  }
  return HG_OK;
}

hg_status hg_pii_scanner_feed_view(hg_pii_scanner *sc, const hg_norm_char *v, size_t n, size_t stream_bytes,
                                   hg_error *err) {
  if (sc->failed) return hg_fail(err, HG_ERR_INVALID, 0, sc->offset, "scanner stopped after an error; reset it");
  sc->fed = stream_bytes;
  for (size_t i = 0; i < n && !sc->stopped; i++) {
    const hg_norm_char *r = &v[i];
    if (!(r->flags & HG_NORM_IGNORABLE))
      process_folded(sc, r->cp, r->src_cp, (r->flags & HG_NORM_SOLE) != 0, r->src_start, r->src_end);
    sc->offset = r->src_end;
  }
  return HG_OK;
}

hg_status hg_pii_scanner_finish(hg_pii_scanner *sc, hg_error *err) {
  if (sc->failed) return hg_fail(err, HG_ERR_INVALID, 0, sc->offset, "scanner stopped after an error; reset it");
  if (sc->npartial && !sc->stopped) {
    sc->failed = 1;
    return hg_fail(err, HG_ERR_UTF8, 0, sc->offset, "input ends inside a UTF-8 sequence at byte offset %zu",
                   sc->offset);
  }
  if (!sc->stopped) flush_run(sc);
  if (sc->pem_open && !sc->stopped) {
    hg_pii_hit h = {HG_PII_SECRET, sc->pem_start, sc->offset, 0.9f};
    sc->pem_open = 0;
    if ((sc->opt.types & (1ull << HG_PII_SECRET)) && sc->fn) sc->fn(sc->ctx, &h);
  }
  if (sc->nhan && !sc->stopped) flush_names(sc, 1);
  return HG_OK;
}

size_t hg_pii_scanner_pending_suffix_len(const hg_pii_scanner *sc) {
  size_t bound = sc->offset;
  /* a province character right before the run (or at the very end) may open a plate */
  const ctx_char *last = sc->ncontext ? &sc->context[sc->ncontext - 1] : NULL;
  int province = last && last->end == (sc->run_len ? sc->run_start[0] : sc->offset) && is_province(last->cp);
  if (sc->run_len) bound = sc->run_start[0];
  if (province) bound = last->start;
  if (sc->pem_open && sc->pem_start < bound) bound = sc->pem_start;
  if (sc->nhan && sc->han[0].start < bound) bound = sc->han[0].start;
  return sc->fed - bound;
}

size_t hg_pii_scanner_offset(const hg_pii_scanner *sc) { return sc->fed; }

hg_status hg_pii_scan(const hg_pii_options *options, const char *text, size_t len, hg_pii_fn on_hit, void *ctx,
                      hg_error *err) {
  hg_pii_scanner *sc;
  if (hg_pii_scanner_new(options, on_hit, ctx, &sc)) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  hg_status st = hg_pii_scanner_feed(sc, text, len, err);
  if (!st) st = hg_pii_scanner_finish(sc, err);
  hg_pii_scanner_free(sc);
  return st;
}
