/* check.c — `hegui check`: scan a text, a file or standard input with a lexicon and print the hits.
 *
 * Input is streamed through the scanner in chunks, so files of any size run in bounded memory: the program keeps
 * only a window from the scanner's pending suffix onwards, which always contains the span of every hit the
 * scanner can still report (it reports a hit only while its bytes are inside the pending region of the previous
 * chunk or in the current one). Exit status like grep: 0 nothing found, 1 hits found, 2 error. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

typedef struct check_ctx {
  hg_lexicon *lex;
  int json, count_only;
  size_t hits;
  char *win; /* bytes [win_start, win_start + win_len) of the stream */
  size_t win_start, win_len, win_cap;
} check_ctx;

/* Prints a hit's text on one line: a hit may now span line breaks (they are noise), and every control character,
 * CR and the Unicode line and paragraph separators included, would break the one-hit-per-line output or move a
 * terminal's cursor, so each is shown as a space. */
static void put_one_line(const char *text, size_t len) {
  for (size_t i = 0; i < len; i++) {
    unsigned char b = (unsigned char)text[i];
    if (b < 0x20 || b == 0x7F) {
      putchar(' ');
    } else if (b == 0xC2 && i + 1 < len && (unsigned char)text[i + 1] >= 0x80 && (unsigned char)text[i + 1] < 0xA0) {
      putchar(' '); /* C1 controls, NEL among them */
      i++;
    } else if (b == 0xE2 && i + 2 < len && text[i + 1] == '\x80' && (text[i + 2] == '\xA8' || text[i + 2] == '\xA9')) {
      putchar(' '); /* U+2028, U+2029 */
      i += 2;
    } else {
      putchar(b);
    }
  }
}

static int on_hit(void *p, const hg_hit *h) {
  check_ctx *c = p;
  c->hits++;
  if (c->count_only) return 0;
  hg_entry_info e;
  hg_lexicon_entry(c->lex, h->entry, &e);
  const char *text = c->win + (h->start - c->win_start);
  size_t len = h->end - h->start;
  if (c->json) {
    printf("%s\n    {\"entry\": ", c->hits > 1 ? "," : "");
    cli_json_string(stdout, e.text, e.text_len);
    printf(", \"category\": \"%s\", \"severity\": %u, \"action\": \"%s\", \"mode\": \"%s\", \"start\": %zu, "
           "\"end\": %zu, \"text\": ",
           hg_category_code(e.category), e.severity, hg_action_name(e.action), hg_mode_name(h->mode), h->start, h->end);
    cli_json_string(stdout, text, len);
    fputc('}', stdout);
  } else {
    printf("%zu-%zu\t%s\t%s\t%s\t%s\t", h->start, h->end, hg_category_code(e.category), hg_action_name(e.action),
           hg_mode_name(h->mode), e.text);
    put_one_line(text, len);
    putchar('\n');
  }
  return 0;
}

/* Feeds one chunk, keeping the window that hit spans are read from. */
static int feed(check_ctx *c, hg_scanner *sc, const char *buf, size_t n, const char *name) {
  size_t keep_from = hg_scanner_offset(sc) - hg_scanner_pending_suffix_len(sc);
  size_t drop = keep_from - c->win_start;
  if (drop) memmove(c->win, c->win + drop, c->win_len - drop);
  c->win_len -= drop;
  c->win_start = keep_from;
  if (c->win_len + n > c->win_cap) {
    size_t cap = (c->win_len + n) * 2;
    char *w = realloc(c->win, cap);
    if (!w) {
      cli_error("out of memory");
      return -1;
    }
    c->win = w;
    c->win_cap = cap;
  }
  if (n) memcpy(c->win + c->win_len, buf, n);
  c->win_len += n;
  hg_error err;
  hg_error_clear(&err);
  if (hg_scanner_feed(sc, buf, n, &err)) {
    cli_error("%s: %s", name, err.message);
    return -1;
  }
  return 0;
}

/* cli_pump's callback: one chunk into the scanner, keeping the window */
struct pump {
  check_ctx *c;
  hg_scanner *sc;
  const char *name;
};

static int pump_feed(void *ctx, const char *buf, size_t n) {
  struct pump *p = ctx;
  return feed(p->c, p->sc, buf, n, p->name);
}

int cmd_check(int argc, char **argv) {
  const char *lexicon = NULL, *file = NULL, *text = NULL;
  check_ctx c = {0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--lexicon") || !strcmp(a, "-l")) {
      if (++i >= argc) return cli_error("--lexicon needs a file"), EXIT_ERROR;
      lexicon = argv[i];
    } else if (!strcmp(a, "--file") || !strcmp(a, "-f")) {
      if (++i >= argc) return cli_error("--file needs a path"), EXIT_ERROR;
      file = argv[i];
    } else if (!strcmp(a, "--json")) {
      c.json = 1;
    } else if (!strcmp(a, "--count") || !strcmp(a, "-c")) {
      c.count_only = 1;
    } else if (!strcmp(a, "--")) {
      if (i + 1 < argc) text = argv[++i];
      if (i + 1 < argc) return cli_error("check takes one text"), EXIT_ERROR;
    } else if (a[0] == '-' && a[1]) {
      return cli_error("check: unknown option '%s'", a), EXIT_ERROR;
    } else {
      if (text) return cli_error("check takes one text (quote it, or use --file)"), EXIT_ERROR;
      text = a;
    }
  }
  if (file && text) return cli_error("check: give either --file or a text, not both"), EXIT_ERROR;
  if (!file && !text)
    return cli_error("check: nothing to check (give a TEXT, --file PATH, or - for stdin)"), EXIT_ERROR;
  FILE *in = NULL;
  const char *name = "text";
  if (file || !strcmp(text, "-")) {
    name = file ? file : "stdin";
    in = file ? fopen(file, "rb") : stdin;
    if (!in) return cli_error("cannot open %s: %s", file, strerror(errno)), EXIT_ERROR;
  }
  if (cli_load_lexicon(lexicon, NULL, NULL, &c.lex)) {
    if (in && in != stdin) fclose(in);
    return EXIT_ERROR;
  }
  hg_scanner *sc;
  if (hg_scanner_new(c.lex, on_hit, &c, &sc)) {
    cli_error("out of memory");
    hg_lexicon_unref(c.lex);
    return EXIT_ERROR;
  }
  if (c.json && !c.count_only) printf("{\"hits\": [");
  struct pump pump = {&c, sc, name};
  int rc = cli_pump(in, text, name, pump_feed, &pump);
  if (!rc) {
    hg_error err;
    hg_error_clear(&err);
    if (hg_scanner_finish(sc, &err)) rc = -1, cli_error("%s: %s", name, err.message);
  }
  if (c.json && !c.count_only)
    printf("%s], \"count\": %zu}\n", c.hits ? "\n  " : "", c.hits);
  else if (c.count_only)
    printf("%zu\n", c.hits);
  hg_scanner_free(sc);
  hg_lexicon_unref(c.lex);
  free(c.win);
  fflush(stdout);
  if (rc) return EXIT_ERROR;
  return c.hits ? EXIT_FOUND : EXIT_NONE_FOUND;
}

int cmd_fold(int argc, char **argv) {
  int skip = 0;
  const char *text = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--skip-noise"))
      skip = 1;
    else if (!text)
      text = argv[i];
    else
      return cli_error("fold takes one text"), EXIT_ERROR;
  }
  if (!text) return cli_error("fold: give a text"), EXIT_ERROR;
  char *out;
  size_t len;
  hg_error err;
  hg_error_clear(&err);
  if (hg_fold_text(text, strlen(text), skip, &out, &len, &err)) return cli_error("%s", err.message), EXIT_ERROR;
  fwrite(out, 1, len, stdout);
  putchar('\n');
  free(out);
  return 0;
}
