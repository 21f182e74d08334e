/* check.c — `hegui check`: moderate a text, a file or standard input as the gateway would, and print every reason
 * and the verdict.
 *
 * The text goes through the moderator (hegui/moderate.h) with the policy of a configuration file (--policy) or the
 * defaults, so the command line and the gateway judge alike. Input is streamed in chunks, so files of any size run
 * in bounded memory: the program keeps only a window from the moderator's pending suffix onwards, which always
 * contains the span of every reason it can still add, and takes the reasons after each chunk. Exit status like
 * grep: 0 nothing found, 1 something found (see the verdict line for what it means), 2 error.
 *
 * With --image, each file is an image: its text is read by OCR (hegui/ocr.h) and that text goes through the same
 * moderator; the output is the same per image, headed by the image and the text read (JSON: one object a line). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/file.h"
#include "cli/cli.h"

typedef struct check_ctx {
  hg_moderator *m;
  hg_lexicon *lex;
  int json, count_only;
  int compact; /* JSON on one line (one object per image) */
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
    printf("%s%s{\"detector\": \"%s\", \"entry\": ", c->hits > 1 ? "," : "",
           c->compact ? (c->hits > 1 ? " " : "") : "\n    ", hg_detector_name(r->detector));
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

/* ---- images (--image) ---- */

typedef struct image_opts {
  hg_ocr_options ocr;
  hg_direction dir;
} image_opts;

/* The whole file, up to max bytes: an image is decoded from memory. */
static int read_image(const char *path, size_t max, uint8_t **data, size_t *len) {
  struct stat sb;
  hg_error err;
  hg_error_clear(&err);
  int fd = hg_file_open_regular(path, max, &sb, &err);
  if (fd < 0) return cli_error("%s: %s", path, err.message), -1;
  size_t n = (size_t)sb.st_size, got = 0;
  uint8_t *buf = malloc(n ? n : 1);
  if (!buf) {
    close(fd);
    return cli_error("%s: out of memory", path), -1;
  }
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      int e = r < 0 ? errno : 0;
      close(fd);
      free(buf);
      return cli_error("%s: %s", path, e ? strerror(e) : "the file shrank while it was read"), -1;
    }
    got += (size_t)r;
  }
  close(fd);
  *data = buf;
  *len = n;
  return 0;
}

/* OCR, then the moderator over the text read; prints the image's block. 0 allow, 1 found, 2 error. */
static int check_one_image(check_ctx *c, hg_ocr *ocr, const char *path, const image_opts *o) {
  uint8_t *data;
  size_t len;
  size_t max = o->ocr.max_bytes ? o->ocr.max_bytes : HG_OCR_MAX_BYTES_DEFAULT;
  if (read_image(path, max, &data, &len)) return EXIT_ERROR;
  hg_ocr_result res;
  hg_error err;
  hg_error_clear(&err);
  hg_status st = hg_ocr_read(ocr, data, len, &res, &err);
  free(data);
  if (st) return cli_error("%s: %s", path, err.message), EXIT_ERROR;
  hg_moderator_reset(c->m);
  c->hits = 0;
  c->win = res.text;
  c->win_start = 0;
  c->win_len = res.len;
  if (c->json) {
    fputs("{\"image\": ", stdout);
    cli_json_string(stdout, path, strlen(path));
    printf(", \"width\": %u, \"height\": %u, \"ocr_text\": ", res.width, res.height);
    cli_json_string(stdout, res.text, res.len);
    printf(", \"ocr_confidence\": %d, \"ocr_timed_out\": %s, \"ocr_ms\": %u, \"hits\": [", res.confidence,
           res.timed_out ? "true" : "false", res.elapsed_ms);
  } else {
    printf("image\t%s\t%ux%u\tconfidence %d%s\nocr\t", path, res.width, res.height, res.confidence,
           res.timed_out ? "\tcut short by the deadline" : "");
    put_one_line(res.text, res.len);
    putchar('\n');
  }
  st = hg_moderator_feed(c->m, res.text, res.len, &err);
  if (!st) st = hg_moderator_finish(c->m, &err);
  take_reasons(c);
  hg_decision verdict = hg_moderator_decision(c->m);
  if (c->json)
    printf("], \"count\": %zu, \"verdict\": \"%s\", \"direction\": \"%s\"}\n", c->hits, hg_decision_name(verdict),
           hg_direction_name(o->dir));
  else
    printf("verdict\t%s\t%zu reason%s\n", hg_decision_name(verdict), c->hits, c->hits == 1 ? "" : "s");
  c->win = NULL;
  int timed_out = res.timed_out;
  hg_ocr_result_free(&res);
  if (st) return cli_error("%s: %s", path, err.message), EXIT_ERROR;
  if (c->hits) return EXIT_FOUND;
  /* nothing found in part of the text is no verdict on the image */
  if (timed_out)
    return cli_error("%s: OCR was cut short by the deadline; nothing found in the part read", path), EXIT_ERROR;
  return EXIT_NONE_FOUND;
}

/* Every image, one engine; exit 2 if any image failed, else 1 if any had a hit, else 0. */
static int check_images(check_ctx *c, char **paths, int npaths, const image_opts *o) {
  hg_ocr *ocr;
  hg_error err;
  hg_error_clear(&err);
  if (hg_ocr_new(&o->ocr, &ocr, &err)) return cli_error("OCR: %s", err.message), EXIT_ERROR;
  int worst = EXIT_NONE_FOUND;
  for (int i = 0; i < npaths; i++) {
    int rc = check_one_image(c, ocr, paths[i], o);
    if (rc == EXIT_ERROR || (rc == EXIT_FOUND && worst == EXIT_NONE_FOUND)) worst = rc;
    fflush(stdout);
  }
  hg_ocr_free(ocr);
  return worst;
}

static int parse_ms_option(const char *name, const char *value, long max, long *out) {
  if (!value) return cli_error("%s needs a number", name), -1;
  *out = cli_parse_uint(value, max);
  if (*out < 0) return cli_error("%s: expected a whole number up to %ld, not '%s'", name, max, value), -1;
  return 0;
}

/* Parses check's arguments; -1 to go on, else the exit status. */
static int check_args(int argc, char **argv, const char **lexicon_out, const char **policy_out, hg_direction *dir_out,
                      const char **file_out, const char **text_out, check_ctx *cp, image_opts *io, int *images,
                      char **image_paths, int *nimages) {
  const char *lexicon = NULL, *file = NULL, *text = NULL, *policy_path = NULL;
  hg_direction dir = HG_DIR_INPUT;
  check_ctx c = {0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    long v;
    if (!strcmp(a, "--image")) {
      *images = 1;
    } else if (!strcmp(a, "--tessdata")) {
      if (++i >= argc) return cli_error("--tessdata needs a directory"), EXIT_ERROR;
      io->ocr.tessdata_dir = argv[i];
    } else if (!strcmp(a, "--ocr-lang")) {
      if (++i >= argc) return cli_error("--ocr-lang needs Tesseract languages (chi_sim+eng)"), EXIT_ERROR;
      io->ocr.languages = argv[i];
    } else if (!strcmp(a, "--ocr-deadline")) {
      if (parse_ms_option(a, ++i < argc ? argv[i] : NULL, 3600000, &v)) return EXIT_ERROR;
      io->ocr.deadline_ms = (unsigned)v;
    } else if (!strcmp(a, "--ocr-upscale-below")) {
      if (parse_ms_option(a, ++i < argc ? argv[i] : NULL, 32767, &v)) return EXIT_ERROR;
      io->ocr.upscale_below = (unsigned)v;
    } else if (!strcmp(a, "--ocr-layout")) {
      const char *l = ++i < argc ? argv[i] : "";
      if (!strcmp(l, "sparse"))
        io->ocr.layout = HG_OCR_LAYOUT_SPARSE;
      else if (!strcmp(l, "column"))
        io->ocr.layout = HG_OCR_LAYOUT_COLUMN;
      else if (!strcmp(l, "auto"))
        io->ocr.layout = HG_OCR_LAYOUT_AUTO;
      else
        return cli_error("--ocr-layout: expected column, sparse or auto, not '%s'", l), EXIT_ERROR;
    } else if (!strcmp(a, "--ocr-retry-below")) {
      if (parse_ms_option(a, ++i < argc ? argv[i] : NULL, 100, &v)) return EXIT_ERROR;
      io->ocr.retry_below_confidence = v ? (unsigned)v : HG_OCR_RETRY_NEVER;
    } else if (!strcmp(a, "--max-pixels")) {
      if (parse_ms_option(a, ++i < argc ? argv[i] : NULL, 1000000000, &v) || !v) return EXIT_ERROR;
      io->ocr.max_pixels = (uint64_t)v;
    } else if (!strcmp(a, "--lexicon") || !strcmp(a, "-l")) {
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
    } else if (*images) {
      image_paths[(*nimages)++] = argv[i];
    } else {
      if (text) return cli_error("check takes one text (quote it, or use --file)"), EXIT_ERROR;
      text = a;
    }
  }
  *lexicon_out = lexicon, *policy_out = policy_path, *dir_out = dir, *file_out = file, *text_out = text;
  cp->json = c.json, cp->count_only = c.count_only;
  io->dir = dir;
  if (*images) {
    if (file || text) return cli_error("check --image takes image files only (no --file or text)"), EXIT_ERROR;
    if (!*nimages) return cli_error("check --image: give one or more image files"), EXIT_ERROR;
    if (c.count_only) return cli_error("check --image: --count is not available (use --json)"), EXIT_ERROR;
    return -1;
  }
  if (file && text) return cli_error("check: give either --file or a text, not both"), EXIT_ERROR;
  if (!file && !text)
    return cli_error("check: nothing to check (give a TEXT, --file PATH, or - for stdin)"), EXIT_ERROR;
  return -1;
}

/* Loads policy and lexicon, then checks the text, the file or the images. */
static int check_run(const char *lexicon, const char *policy_path, hg_direction dir, const char *file, const char *text,
                     check_ctx *cp, const image_opts *io, int images, char **image_paths, int nimages) {
  check_ctx c = *cp;
  static hg_config cfg;
  hg_policy *policy = NULL;
  if (load_policy(policy_path, &cfg, &policy)) return EXIT_ERROR;
  if (!lexicon && cfg.lexicon[0]) lexicon = cfg.lexicon;
  FILE *in = NULL;
  const char *name = "text";
  if (!images && (file || !strcmp(text, "-"))) {
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
  if (images) {
    c.compact = 1;
    int irc = check_images(&c, image_paths, nimages, io);
    hg_moderator_free(c.m);
    hg_lexicon_unref(c.lex);
    hg_policy_unref(policy);
    fflush(stdout);
    return irc;
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

int cmd_check(int argc, char **argv) {
  const char *lexicon = NULL, *file = NULL, *text = NULL, *policy_path = NULL;
  hg_direction dir = HG_DIR_INPUT;
  check_ctx c = {0};
  image_opts io = {0};
  int images = 0, nimages = 0;
  char **image_paths = calloc((size_t)argc, sizeof *image_paths);
  if (!image_paths) return cli_error("out of memory"), EXIT_ERROR;
  int rc = check_args(argc, argv, &lexicon, &policy_path, &dir, &file, &text, &c, &io, &images, image_paths, &nimages);
  if (rc >= 0) {
    free(image_paths);
    return rc;
  }
  rc = check_run(lexicon, policy_path, dir, file, text, &c, &io, images, image_paths, nimages);
  free(image_paths);
  return rc;
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
