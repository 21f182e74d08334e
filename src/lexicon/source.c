/* source.c — reading lexicons as people write them.
 *
 * Two formats share one parser, decided line by line: a plain list (one entry per line, as most public lexicons
 * are) and hegui's TSV, `entry <TAB> category <TAB> severity <TAB> action <TAB> modes`, where trailing columns may
 * be left out and empty ones take the defaults. Lines starting with '#' are comments. A CR before the LF, a UTF-8
 * BOM and surrounding spaces are ignored. Any error names the line and leaves the source as it was. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/file.h"
#include "hegui/lexicon.h"
#include "hegui/text.h"
#include "source_internal.h"

static const struct {
  const char *code, *title;
} categories[HG_CATEGORY_COUNT] = {
    {"A1a", "inciting subversion of state power or the socialist system"},
    {"A1b", "endangering national security and interests, harming the national image"},
    {"A1c", "inciting secession, undermining national unity and social stability"},
    {"A1d", "promoting terrorism or extremism"},
    {"A1e", "promoting ethnic hatred"},
    {"A1f", "promoting violence, obscenity or pornography"},
    {"A1g", "spreading false harmful information"},
    {"A1h", "other content prohibited by laws and regulations"},
    {"A2a", "ethnic discrimination"},
    {"A2b", "discrimination by belief"},
    {"A2c", "discrimination by nationality"},
    {"A2d", "discrimination by region"},
    {"A2e", "discrimination by gender"},
    {"A2f", "discrimination by age"},
    {"A2g", "discrimination by occupation"},
    {"A2h", "discrimination by health"},
    {"A2i", "other discrimination"},
    {"A3a", "infringing intellectual property rights"},
    {"A3b", "violating business ethics"},
    {"A3c", "leaking trade secrets"},
    {"A3d", "monopoly and unfair competition"},
    {"A3e", "other commercial violations"},
    {"A4a", "endangering the physical or mental health of others"},
    {"A4b", "infringing portrait rights"},
    {"A4c", "infringing reputation rights"},
    {"A4d", "infringing honour rights"},
    {"A4e", "infringing privacy rights"},
    {"A4f", "infringing personal information rights"},
    {"A4g", "infringing other legitimate rights"},
    {"A5a", "inaccurate content for the service type"},
    {"A5b", "unreliable content for the service type"},
    {"pii", "personal information"},
    {"custom", "custom category"},
    {"insult", "insults and abuse of a person"},
    {"spam", "spam and unsolicited advertising"},
    {"fraud", "fraud and scams"},
    {"malware", "requests for malware or intrusion"},
};

const char *hg_category_code(hg_category cat) { return (unsigned)cat < HG_CATEGORY_COUNT ? categories[cat].code : "?"; }

const char *hg_category_title(hg_category cat) {
  return (unsigned)cat < HG_CATEGORY_COUNT ? categories[cat].title : "?";
}

hg_status hg_category_parse(const char *code, size_t len, hg_category *out) {
  char norm[16];
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    if (code[i] == '.') continue;
    if (n + 1 >= sizeof norm) return HG_ERR_PARSE;
    norm[n++] = code[i];
  }
  norm[n] = 0;
  for (int i = 0; i < HG_CATEGORY_COUNT; i++)
    if (strcasecmp(norm, categories[i].code) == 0) {
      *out = (hg_category)i;
      return HG_OK;
    }
  return HG_ERR_PARSE;
}

static const char *const action_names[] = {"block", "review", "redact", "log", "allow"};

const char *hg_action_name(hg_action action) {
  return (unsigned)action <= HG_ACTION_ALLOW ? action_names[action] : "?";
}

static const char *const mode_names[] = {"exact", "folded", "noise", "collapse", "pinyin", "homophone"};

const char *hg_mode_name(hg_mode mode) {
  for (int i = 0; i < 6; i++)
    if (mode == (1u << i)) return mode_names[i];
  return "?";
}

void hg_source_defaults_init(hg_source_defaults *d) {
  d->category = HG_CAT_CUSTOM;
  d->severity = 3;
  d->action = HG_ACTION_BLOCK;
  d->modes = HG_MODE_FOLDED;
  d->plain_cjk_modes = HG_MODE_NOISE;
}

void hg_lexicon_source_set_lenient(hg_lexicon_source *src, int lenient) { src->lenient = lenient != 0; }
size_t hg_lexicon_source_skipped(const hg_lexicon_source *src) { return src->skipped; }
const char *hg_lexicon_source_skip_message(const hg_lexicon_source *src, size_t i) {
  return i < src->skipped && i < HG_SOURCE_SKIP_MESSAGES ? src->skip_msg[i] : NULL;
}

/* Two or more CJK ideographs (folded): an entry of Chinese words, for which a plain list adds plain_cjk_modes. */
static int cjk_entry(const char *text, size_t len) {
  size_t han = 0;
  for (size_t i = 0; i < len;) {
    uint32_t cp;
    int n = hg_utf8_decode((const uint8_t *)text + i, len - i, &cp);
    if (n <= 0) return 0;
    i += (size_t)n;
    uint32_t f[HG_FOLD_MAX];
    size_t nf = hg_fold(cp, f);
    han += nf && (hg_char_flags(f[0]) & HG_CHAR_HAN);
  }
  return han >= 2;
}

hg_status hg_lexicon_source_new(hg_lexicon_source **out) {
  hg_lexicon_source *s = calloc(1, sizeof *s);
  if (!s) return HG_ERR_NOMEM;
  *out = s;
  return HG_OK;
}

void hg_lexicon_source_free(hg_lexicon_source *src) {
  if (!src) return;
  for (size_t i = 0; i < src->count; i++)
    free(src->entries[i].text);
  free(src->entries);
  free(src->hash);
  free(src);
}

size_t hg_lexicon_source_count(const hg_lexicon_source *src) { return src->count; }
size_t hg_lexicon_source_duplicates(const hg_lexicon_source *src) { return src->duplicates; }

static uint64_t hash_entry(const char *text, size_t len, unsigned action) {
  uint64_t h = 1469598103934665603ull ^ action;
  for (size_t i = 0; i < len; i++)
    h = (h ^ (unsigned char)text[i]) * 1099511628211ull;
  return h | 1; /* 0 marks an empty slot */
}

static hg_status grow_hash(hg_lexicon_source *s) {
  size_t cap = s->hash_cap ? s->hash_cap * 2 : 1024;
  src_slot *h = calloc(cap, sizeof *h);
  if (!h) return HG_ERR_NOMEM;
  for (size_t i = 0; i < s->hash_cap; i++) {
    if (!s->hash[i].h) continue;
    size_t j = s->hash[i].h & (cap - 1);
    while (h[j].h)
      j = (j + 1) & (cap - 1);
    h[j] = s->hash[i];
  }
  free(s->hash);
  s->hash = h;
  s->hash_cap = cap;
  return HG_OK;
}

/* Returns 1 when an entry with the same text and action exists. */
static int find_dup(const hg_lexicon_source *s, const char *text, size_t len, unsigned action, uint64_t h) {
  if (!s->hash_cap) return 0;
  for (size_t j = h & (s->hash_cap - 1); s->hash[j].h; j = (j + 1) & (s->hash_cap - 1)) {
    const src_entry *e = &s->entries[s->hash[j].index];
    if (s->hash[j].h == h && e->text_len == len && e->action == action && memcmp(e->text, text, len) == 0) return 1;
  }
  return 0;
}

static hg_status check_entry(const hg_entry_info *e, hg_error *err, const char *name, size_t line) {
  size_t bad;
  if (e->text_len == 0) return hg_fail(err, HG_ERR_PARSE, line, 0, "%s:%zu: empty entry", name, line);
  if (hg_utf8_validate(e->text, e->text_len, &bad))
    return hg_fail(err, HG_ERR_UTF8, line, bad, "%s:%zu: invalid UTF-8 at byte %zu of the entry", name, line, bad);
  if (e->text_len > 4 * HG_ENTRY_MAX_CHARS)
    return hg_fail(err, HG_ERR_LIMIT, line, 0, "%s:%zu: entry longer than %d bytes", name, line,
                   4 * HG_ENTRY_MAX_CHARS);
  if ((unsigned)e->category >= HG_CATEGORY_COUNT || e->severity < 1 || e->severity > 5 ||
      (unsigned)e->action > HG_ACTION_ALLOW || !e->modes || (e->modes & ~HG_MODE_ALL))
    return hg_fail(err, HG_ERR_INVALID, line, 0, "%s:%zu: entry fields out of range", name, line);
  /* An entry must keep at least one letter or number after folding, or it would match every punctuation mark. */
  char *folded;
  size_t flen;
  hg_status st = hg_fold_text(e->text, e->text_len, 1, &folded, &flen, NULL);
  if (st) return hg_fail(err, st, line, 0, "%s:%zu: cannot fold entry", name, line);
  size_t chars = 0;
  for (size_t i = 0; i < flen; i++)
    chars += ((unsigned char)folded[i] & 0xC0) != 0x80;
  free(folded);
  if (chars == 0)
    return hg_fail(err, HG_ERR_PARSE, line, 0,
                   "%s:%zu: entry has no letters or digits after normalization (only punctuation, symbols or spaces)",
                   name, line);
  if (chars > HG_ENTRY_MAX_CHARS)
    return hg_fail(err, HG_ERR_LIMIT, line, 0, "%s:%zu: entry longer than %d characters", name, line,
                   HG_ENTRY_MAX_CHARS);
  return HG_OK;
}

static hg_status append(hg_lexicon_source *s, const hg_entry_info *e) {
  uint64_t h = hash_entry(e->text, e->text_len, e->action);
  if (find_dup(s, e->text, e->text_len, e->action, h)) {
    s->duplicates++;
    return HG_OK;
  }
  if (s->count == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 256;
    src_entry *ne = realloc(s->entries, cap * sizeof *ne);
    if (!ne) return HG_ERR_NOMEM;
    s->entries = ne;
    s->cap = cap;
  }
  if ((s->count + 1) * 2 > s->hash_cap && grow_hash(s)) return HG_ERR_NOMEM;
  char *t = malloc(e->text_len + 1);
  if (!t) return HG_ERR_NOMEM;
  memcpy(t, e->text, e->text_len);
  t[e->text_len] = 0;
  src_entry *d = &s->entries[s->count];
  d->text = t;
  d->text_len = e->text_len;
  d->category = e->category;
  d->severity = e->severity;
  d->action = e->action;
  d->modes = e->modes;
  size_t j = h & (s->hash_cap - 1);
  while (s->hash[j].h)
    j = (j + 1) & (s->hash_cap - 1);
  s->hash[j].h = h;
  s->hash[j].index = s->count;
  s->count++;
  return HG_OK;
}

hg_status hg_lexicon_source_add_entry(hg_lexicon_source *src, const hg_entry_info *entry, hg_error *err) {
  hg_status st = check_entry(entry, err, "entry", 0);
  if (st) return st;
  st = append(src, entry);
  return st ? hg_fail(err, st, 0, 0, "out of memory") : HG_OK;
}

static void trim(const char **p, size_t *len) {
  while (*len && (**p == ' ' || **p == '\t' || **p == '\r'))
    (*p)++, (*len)--;
  while (*len && ((*p)[*len - 1] == ' ' || (*p)[*len - 1] == '\t' || (*p)[*len - 1] == '\r'))
    (*len)--;
}

static int field_is(const char *f, size_t n, const char *word) { return strlen(word) == n && !strncasecmp(f, word, n); }

static hg_status parse_modes(const char *f, size_t n, unsigned *out) {
  unsigned modes = 0;
  while (n) {
    size_t k = 0;
    while (k < n && f[k] != ',' && f[k] != '+' && f[k] != '|')
      k++;
    const char *w = f;
    size_t wl = k;
    trim(&w, &wl);
    int found = 0;
    for (int i = 0; i < 6 && wl; i++)
      if (field_is(w, wl, mode_names[i])) modes |= 1u << i, found = 1;
    if (wl && field_is(w, wl, "all")) modes |= HG_MODE_ALL, found = 1;
    if (wl && !found) return HG_ERR_PARSE;
    f += k < n ? k + 1 : k;
    n -= k < n ? k + 1 : k;
  }
  if (!modes) return HG_ERR_PARSE;
  *out = modes;
  return HG_OK;
}

static hg_status parse_line(const char *line, size_t len, const hg_source_defaults *d, hg_entry_info *e,
                            const char *name, size_t lineno, hg_error *err) {
  const char *col[6];
  size_t clen[6];
  int ncol = 0;
  const char *p = line, *end = line + len;
  while (ncol < 6) {
    const char *tab = memchr(p, '\t', (size_t)(end - p));
    col[ncol] = p;
    clen[ncol] = (size_t)((tab ? tab : end) - p);
    ncol++;
    if (!tab) break;
    p = tab + 1;
  }
  if (ncol > 5)
    return hg_fail(err, HG_ERR_PARSE, lineno, 0,
                   "%s:%zu: too many columns (expected entry, category, severity, "
                   "action, modes)",
                   name, lineno);
  for (int i = 0; i < ncol; i++)
    trim(&col[i], &clen[i]);
  e->text = col[0];
  e->text_len = clen[0];
  e->category = d->category;
  e->severity = d->severity;
  e->action = d->action;
  e->modes = d->modes;
  if (ncol > 1 && clen[1] && hg_category_parse(col[1], clen[1], &e->category))
    return hg_fail(err, HG_ERR_PARSE, lineno, 0,
                   "%s:%zu: unknown risk category '%.*s' (expected a TC260-003 code A1a..A5b, pii or custom)", name,
                   lineno, (int)(clen[1] > 40 ? 40 : clen[1]), col[1]);
  if (ncol > 2 && clen[2]) {
    if (clen[2] == 1 && col[2][0] >= '1' && col[2][0] <= '5')
      e->severity = (unsigned)(col[2][0] - '0');
    else if (field_is(col[2], clen[2], "low"))
      e->severity = 1;
    else if (field_is(col[2], clen[2], "medium"))
      e->severity = 3;
    else if (field_is(col[2], clen[2], "high"))
      e->severity = 4;
    else if (field_is(col[2], clen[2], "critical"))
      e->severity = 5;
    else
      return hg_fail(err, HG_ERR_PARSE, lineno, 0,
                     "%s:%zu: bad severity '%.*s' (expected 1-5, low, medium, high or critical)", name, lineno,
                     (int)(clen[2] > 40 ? 40 : clen[2]), col[2]);
  }
  if (ncol > 3 && clen[3]) {
    int found = 0;
    for (unsigned i = 0; i <= HG_ACTION_ALLOW; i++)
      if (field_is(col[3], clen[3], action_names[i])) e->action = (hg_action)i, found = 1;
    if (!found)
      return hg_fail(err, HG_ERR_PARSE, lineno, 0,
                     "%s:%zu: bad action '%.*s' (expected block, review, redact, log or allow)", name, lineno,
                     (int)(clen[3] > 40 ? 40 : clen[3]), col[3]);
  }
  size_t bad_at;
  if (ncol == 1 && d->plain_cjk_modes && !hg_utf8_validate(e->text, e->text_len, &bad_at) &&
      cjk_entry(e->text, e->text_len))
    e->modes |= d->plain_cjk_modes;
  if (ncol > 4 && clen[4] && parse_modes(col[4], clen[4], &e->modes))
    return hg_fail(err, HG_ERR_PARSE, lineno, 0,
                   "%s:%zu: bad modes '%.*s' (expected a comma list of exact, folded, noise, collapse, pinyin, "
                   "homophone, all)",
                   name, lineno, (int)(clen[4] > 60 ? 60 : clen[4]), col[4]);
  return check_entry(e, err, name, lineno);
}

hg_status hg_lexicon_source_add_text(hg_lexicon_source *src, const char *text, size_t len, const char *name,
                                     const hg_source_defaults *defaults, hg_error *err) {
  hg_source_defaults dflt;
  if (!defaults) {
    hg_source_defaults_init(&dflt);
    defaults = &dflt;
  }
  if (!name) name = "lexicon";
  size_t old_count = src->count, old_dups = src->duplicates;
  if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) text += 3, len -= 3;
  hg_status st = HG_OK;
  size_t lineno = 0;
  for (size_t pos = 0; pos < len && !st;) {
    const char *nl = memchr(text + pos, '\n', len - pos);
    size_t llen = (size_t)((nl ? nl : text + len) - (text + pos));
    const char *line = text + pos;
    pos += llen + (nl ? 1 : 0);
    lineno++;
    trim(&line, &llen);
    if (!llen || line[0] == '#') continue;
    hg_entry_info e;
    hg_error line_err;
    hg_error_clear(&line_err);
    st = parse_line(line, llen, defaults, &e, name, lineno, &line_err);
    if (st && src->lenient && st != HG_ERR_NOMEM) { /* skipped, counted, the first messages kept */
      if (src->skipped < HG_SOURCE_SKIP_MESSAGES)
        snprintf(src->skip_msg[src->skipped], sizeof src->skip_msg[0], "%s", line_err.message);
      src->skipped++;
      st = HG_OK;
      continue;
    }
    if (st && err) *err = line_err;
    if (!st && append(src, &e)) st = hg_fail(err, HG_ERR_NOMEM, lineno, 0, "out of memory");
    if (st && err && !err->offset) err->offset = (size_t)(line - text);
  }
  if (st) { /* leave the source as it was */
    for (size_t i = old_count; i < src->count; i++)
      free(src->entries[i].text);
    src->count = old_count;
    src->duplicates = old_dups;
    if (src->hash_cap) memset(src->hash, 0, src->hash_cap * sizeof *src->hash);
    for (size_t i = 0; i < src->count; i++) {
      const src_entry *e = &src->entries[i];
      uint64_t h = hash_entry(e->text, e->text_len, e->action);
      size_t j = h & (src->hash_cap - 1);
      while (src->hash[j].h)
        j = (j + 1) & (src->hash_cap - 1);
      src->hash[j].h = h;
      src->hash[j].index = i;
    }
  }
  return st;
}

/* A lexicon file, opened as every file from outside is (base/file.h), with the lexicons' size bound. */
int hg_open_lexicon_file(const char *path, struct stat *sb, hg_error *err) {
  return hg_file_open_regular(path, HG_LEXICON_MAX_FILE_BYTES, sb, err);
}

hg_status hg_read_file(const char *path, char **out, size_t *len, hg_error *err) {
  struct stat sb;
  int fd = hg_open_lexicon_file(path, &sb, err);
  if (fd < 0) return err ? err->status : HG_ERR_IO;
  size_t cap = (size_t)sb.st_size + 1, n = 0;
  char *buf = malloc(cap);
  if (!buf) {
    close(fd);
    return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory reading %s", path);
  }
  for (;;) { /* bounded by the size it had when opened, plus one byte to see that it grew */
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      free(buf);
      close(fd);
      return hg_fail(err, HG_ERR_IO, 0, 0, "cannot read %s: %s", path, strerror(errno));
    }
    if (r == 0) break;
    n += (size_t)r;
    if (n == cap) {
      free(buf);
      close(fd);
      return hg_fail(err, HG_ERR_IO, 0, 0, "%s changed while it was read", path);
    }
  }
  close(fd);
  *out = buf;
  *len = n;
  return HG_OK;
}

hg_status hg_lexicon_source_add_file(hg_lexicon_source *src, const char *path, const hg_source_defaults *defaults,
                                     hg_error *err) {
  char *buf;
  size_t len;
  hg_status st = hg_read_file(path, &buf, &len, err);
  if (st) return st;
  st = hg_lexicon_source_add_text(src, buf, len, path, defaults, err);
  free(buf);
  return st;
}
