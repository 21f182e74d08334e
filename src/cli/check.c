/* check.c — `hegui check`: moderate a text, a file or standard input as the gateway would, and print every reason
 * and the verdict.
 *
 * The text goes through the moderator (hegui/moderate.h) with the policy of a configuration file (--policy) or the
 * defaults, so the command line and the gateway judge alike. Input is streamed in chunks, so files of any size run
 * in bounded memory: the program keeps only a window from the moderator's pending suffix onwards, which always
 * contains the span of every reason it can still add, and takes the reasons after each chunk. Exit status like
 * grep: 0 nothing found, 1 something found (see the verdict line for what it means), 2 error. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

typedef struct check_ctx {
  hg_moderator *m;
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

static void print_reason(check_ctx *c, const hg_reason *r) {
  c->hits++;
  if (c->count_only) return;
  size_t start = r->start < c->win_start ? c->win_start : r->start;
  size_t end = r->end > c->win_start + c->win_len ? c->win_start + c->win_len : r->end;
  const char *text = c->win + (start - c->win_start);
  size_t len = end > start ? end - start : 0;
  hg_entry_info e = {0};
  int lexicon = r->detector == HG_DETECTOR_LEXICON && !hg_lexicon_entry(c->lex, (size_t)r->rule_id, &e);
  if (c->json) {
    printf("%s\n    {\"detector\": \"%s\", \"entry\": ", c->hits > 1 ? "," : "", hg_detector_name(r->detector));
    cli_json_string(stdout, r->rule, strlen(r->rule));
    printf(", \"category\": \"%s\", \"effect\": \"%s\", \"score\": %.2f", hg_category_code(r->category),
           hg_decision_name(r->effect), (double)r->score);
    if (lexicon)
      printf(", \"severity\": %u, \"action\": \"%s\", \"mode\": \"%s\"", e.severity, hg_action_name(e.action),
             hg_mode_name(r->mode));
    if (r->detector == HG_DETECTOR_TAKEDOWN || r->detector == HG_DETECTOR_RULE)
      printf(", \"rule_id\": %lld", (long long)r->rule_id);
    printf(", \"start\": %zu, \"end\": %zu, \"text\": ", r->start, r->end);
    cli_json_string(stdout, text, len);
    fputc('}', stdout);
  } else {
    printf("%zu-%zu\t%s\t%s\t%s\t%s\t", r->start, r->end, hg_category_code(r->category), hg_decision_name(r->effect),
           lexicon ? hg_mode_name(r->mode) : hg_detector_name(r->detector), r->rule);
    put_one_line(text, len);
    putchar('\n');
  }
}

static void take_reasons(check_ctx *c) {
  size_t n;
  const hg_reason *r = hg_moderator_reasons(c->m, &n);
  for (size_t i = 0; i < n; i++)
    print_reason(c, &r[i]);
  hg_moderator_forget_reasons(c->m);
}

/* Feeds one chunk, keeping the window that reason spans are read from. */
static int feed(check_ctx *c, const char *buf, size_t n, const char *name) {
  size_t keep_from = hg_moderator_offset(c->m) - hg_moderator_pending_suffix_len(c->m);
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
  hg_status st = hg_moderator_feed(c->m, buf, n, &err);
  take_reasons(c);
  if (st) {
    cli_error("%s: %s", name, err.message);
    return -1;
  }
  return 0;
}

struct pump {
  check_ctx *c;
  const char *name;
};

static int pump_feed(void *ctx, const char *buf, size_t n) {
  struct pump *p = ctx;
  return feed(p->c, buf, n, p->name);
}

/* The policy: a configuration file's (its lexicon too, unless --lexicon names one) or the defaults. */
static int load_policy(const char *path, hg_config *cfg, hg_policy **out) {
  hg_config_init(cfg);
  hg_error err;
  hg_error_clear(&err);
  if (path && hg_config_load(cfg, path, &err)) {
    cli_error("%s", err.message);
    return -1;
  }
  if (hg_policy_from_config(cfg, out, &err)) {
    cli_error("%s: %s", path ? path : "policy", err.message);
    return -1;
  }
  return 0;
}

int cmd_check(int argc, char **argv) {
  const char *lexicon = NULL, *file = NULL, *text = NULL, *policy_path = NULL;
  hg_direction dir = HG_DIR_INPUT;
  check_ctx c = {0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--lexicon") || !strcmp(a, "-l")) {
      if (++i >= argc) return cli_error("--lexicon needs a file"), EXIT_ERROR;
      lexicon = argv[i];
    } else if (!strcmp(a, "--policy") || !strcmp(a, "-p")) {
      if (++i >= argc) return cli_error("--policy needs a configuration file (hegui.yaml)"), EXIT_ERROR;
      policy_path = argv[i];
    } else if (!strcmp(a, "--direction")) {
      if (++i >= argc) return cli_error("--direction needs input or output"), EXIT_ERROR;
      if (!strcmp(argv[i], "input"))
        dir = HG_DIR_INPUT;
      else if (!strcmp(argv[i], "output"))
        dir = HG_DIR_OUTPUT;
      else
        return cli_error("--direction: expected input or output, not '%s'", argv[i]), EXIT_ERROR;
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
  static hg_config cfg;
  hg_policy *policy = NULL;
  if (load_policy(policy_path, &cfg, &policy)) return EXIT_ERROR;
  if (!lexicon && cfg.lexicon[0]) lexicon = cfg.lexicon;
  FILE *in = NULL;
  const char *name = "text";
  if (file || !strcmp(text, "-")) {
    name = file ? file : "stdin";
    in = file ? fopen(file, "rb") : stdin;
    if (!in) {
      hg_policy_unref(policy);
      return cli_error("cannot open %s: %s", file, strerror(errno)), EXIT_ERROR;
    }
  }
  if (cli_load_lexicon(lexicon, NULL, NULL, &c.lex)) {
    if (in && in != stdin) fclose(in);
    hg_policy_unref(policy);
    return EXIT_ERROR;
  }
  hg_error err;
  hg_error_clear(&err);
  if (hg_moderator_new(policy, dir, c.lex, NULL, &c.m, &err)) {
    cli_error("%s", err.message);
    if (in && in != stdin) fclose(in);
    hg_lexicon_unref(c.lex);
    hg_policy_unref(policy);
    return EXIT_ERROR;
  }
  if (c.json && !c.count_only) printf("{\"hits\": [");
  struct pump pump = {&c, name};
  int rc = cli_pump(in, text, name, pump_feed, &pump);
  if (!rc) {
    hg_status st = hg_moderator_finish(c.m, &err);
    take_reasons(&c);
    if (st) rc = -1, cli_error("%s: %s", name, err.message);
  }
  hg_decision verdict = hg_moderator_decision(c.m);
  if (c.json && !c.count_only)
    printf("%s], \"count\": %zu, \"verdict\": \"%s\", \"direction\": \"%s\"}\n", c.hits ? "\n  " : "", c.hits,
           hg_decision_name(verdict), hg_direction_name(dir));
  else if (c.count_only)
    printf("%zu\n", c.hits);
  else
    printf("verdict\t%s\t%zu reason%s\n", hg_decision_name(verdict), c.hits, c.hits == 1 ? "" : "s");
  hg_moderator_free(c.m);
  hg_lexicon_unref(c.lex);
  hg_policy_unref(policy);
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
