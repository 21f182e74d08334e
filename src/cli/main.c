/* main.c — the hegui command: dispatch to subcommands, shared helpers. Each subcommand lives in its own file and
 * returns its exit status; errors go to stderr as "hegui: ..." with exit status 2. */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "cli/cli.h"

extern const unsigned char hg_starter_lexicon[];
extern const size_t hg_starter_lexicon_len;

void cli_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("hegui: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

long cli_parse_uint(const char *s, long max) {
  if (!s || !*s) return -1;
  char *end;
  long v = strtol(s, &end, 10);
  if (*end || v < 0 || v > max) return -1;
  return v;
}

unsigned cli_parse_modes(const char *s) {
  unsigned modes = 0;
  char buf[128];
  if (strlen(s) >= sizeof buf) return 0;
  strcpy(buf, s);
  for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
    unsigned m = 0;
    for (unsigned i = 0; i < 6; i++)
      if (!strcmp(tok, hg_mode_name((hg_mode)(1u << i)))) m = 1u << i;
    if (!strcmp(tok, "all")) m = HG_MODE_ALL;
    if (!m) return 0;
    modes |= m;
  }
  return modes;
}

static int is_image_file(const char *path) {
  FILE *f = fopen(path, "rb");
  char magic[8] = {0};
  int yes = f && fread(magic, 1, 8, f) == 8 && !memcmp(magic, "HGLEXIMG", 8);
  if (f) fclose(f);
  return yes;
}

int cli_load_lexicon(const char *path, const hg_compile_options *opt, const hg_source_defaults *defaults,
                     hg_lexicon **out) {
  hg_error err;
  hg_error_clear(&err);
  hg_status st;
  if (path && is_image_file(path)) {
    st = hg_lexicon_open(path, out, &err); /* an image is used as compiled; options do not apply */
  } else {
    hg_lexicon_source *src;
    if (hg_lexicon_source_new(&src)) {
      cli_error("out of memory");
      return -1;
    }
    if (path)
      st = hg_lexicon_source_add_file(src, path, defaults, &err);
    else
      st = hg_lexicon_source_add_text(src, (const char *)hg_starter_lexicon, hg_starter_lexicon_len,
                                      "starter-lexicon.tsv", defaults, &err);
    if (!st) st = hg_lexicon_compile(src, opt, out, &err);
    hg_lexicon_source_free(src);
  }
  if (st) {
    cli_error("%s", err.message);
    return -1;
  }
  return 0;
}

int cli_pseudonym(const char *dir, const char *user, char out[33], int quiet) {
  char path[PATH_MAX];
  if ((size_t)snprintf(path, sizeof path, "%s/pseudonym.key", dir) >= sizeof path)
    return cli_error("the data directory path is too long"), -1;
  unsigned char key[32], extra;
  FILE *f = fopen(path, "rb");
  if (!f && quiet) return -1;
  if (!f)
    return cli_error("cannot read %s: %s (the gateway makes it on its first start; without it the user's audit "
                     "records cannot be found)",
                     path, strerror(errno)),
           -1;
  size_t n = fread(key, 1, sizeof key, f);
  int longer = fread(&extra, 1, 1, f) == 1;
  fclose(f);
  if (n != sizeof key || longer) {
    sodium_memzero(key, sizeof key);
    return cli_error("%s: a pseudonym key is exactly 32 bytes", path), -1;
  }
  if (sodium_init() < 0) return cli_error("libsodium could not be initialised"), -1;
  unsigned char h[16];
  crypto_generichash(h, sizeof h, (const unsigned char *)user, strlen(user), key, sizeof key);
  sodium_memzero(key, sizeof key);
  sodium_bin2hex(out, 33, h, sizeof h);
  return 0;
}

int cli_record(hg_store *store, const char *route, const char *verdict, const char *detail_json) {
  char actor[160];
  struct passwd pw, *found = NULL;
  char buf[1024];
  if (!getpwuid_r(geteuid(), &pw, buf, sizeof buf, &found) && found)
    snprintf(actor, sizeof actor, "cli:%.100s", found->pw_name);
  else
    snprintf(actor, sizeof actor, "cli:uid-%lu", (unsigned long)geteuid());
  hg_audit_record r = {0};
  r.actor = actor;
  r.route = route;
  r.verdict = verdict;
  r.detail_json = detail_json;
  hg_error err;
  hg_error_clear(&err);
  if (hg_store_audit_append(store, &r, &err)) {
    cli_error("the change is made, but its audit record was not written: %s", err.message);
    return -1;
  }
  return 0;
}

int cli_pump(FILE *in, const char *text, const char *name, int (*fn)(void *ctx, const char *buf, size_t n), void *ctx) {
  if (!in) return fn(ctx, text, strlen(text));
  static char buf[1 << 16];
  size_t n;
  int rc = 0;
  while (!rc && (n = fread(buf, 1, sizeof buf, in)) > 0)
    rc = fn(ctx, buf, n);
  if (!rc && ferror(in)) rc = -1, cli_error("cannot read %s", name);
  if (in != stdin) fclose(in);
  return rc;
}

void cli_json_string(FILE *f, const char *s, size_t len) {
  fputc('"', f);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    switch (c) {
    case '"': fputs("\\\"", f); break;
    case '\\': fputs("\\\\", f); break;
    case '\n': fputs("\\n", f); break;
    case '\r': fputs("\\r", f); break;
    case '\t': fputs("\\t", f); break;
    default:
      if (c < 0x20 || c == 0x7F)
        fprintf(f, "\\u%04x", c);
      else
        fputc(c, f);
    }
  }
  fputc('"', f);
}

static void usage(FILE *f) {
  fputs("usage: hegui COMMAND [OPTIONS]\n"
        "\n"
        "commands:\n"
        "  serve [--config FILE] [--listen HOST:PORT] [--upstream URL] [--lexicon FILE] [--data-dir DIR]\n"
        "        [--test-clock MS|@FILE]   (tests: the wall clock pinned, or read from FILE)\n"
        "                      the OpenAI-compatible gateway (moderation, labels, records)\n"
        "  check [--lexicon FILE] [--json|--count] [--file PATH | TEXT | -]\n"
        "                      find lexicon entries in text; exit 0 none, 1 found, 2 error\n"
        "  lexicon compile [--max-noise N] [--category CODE] [--modes LIST] IN... OUT\n"
        "                      compile lexicon sources into an image\n"
        "  lexicon stats [--json] FILE\n"
        "                      entries per TC260-003 risk and the keyword-library minimums\n"
        "  pii scan [--json|--count] [--types LIST] [--names] [--file PATH | TEXT | -]\n"
        "                      find personal information; exit 0 none, 1 found, 2 error\n"
        "  pii redact [--operator mask|placeholder|hash|seal|drop] [--keep-first N] [--keep-last N]\n"
        "             [--key-file FILE] [--file PATH | TEXT | -]\n"
        "                      write the text with personal information replaced\n"
        "  pii unseal [--key-file FILE] TOKEN\n"
        "                      open a value sealed by 'pii redact --operator seal'\n"
        "  label verify-text (--data-dir DIR | --public-key FILE)\n"
        "                    (--response FILE | --label JSON (--text TEXT | --file PATH))\n"
        "                      check a text against its signed AIGC label; exit 0 verified, 1 not, 2 error\n"
        "  label add --data-dir DIR (--producer NAME [--produce-id ID] | --platform --propagator NAME\n"
        "            --propagate-id ID [--label 1|2|3]) [--no-explicit --recipient WHO] [--json] FILE|DIR...\n"
        "                      write the signed implicit AIGC label into PNG JPEG WebP MP4 Ogg WAV MP3 FLAC PDF OOXML "
        "MD\n"
        "  label read [--json] FILE|DIR...\n"
        "                      print the labels a file carries; exit 0 labelled, 1 none or two different, 2 error\n"
        "  label verify (--data-dir DIR | --public-key FILE...) [--json] FILE|DIR...\n"
        "                      check label signatures and content; exit 0 intact, 1 missing or broken, 2 error\n"
        "  label show-key --data-dir DIR\n"
        "                      print the label public key as hex (creates the key pair when absent)\n"
        "  keys create --data-dir DIR --user NAME [--role user|reviewer|admin|auditor] [--expires-days N]\n"
        "                      create an API key; it is printed once, on the last line (only its hash is kept)\n"
        "  keys revoke --data-dir DIR --id N\n"
        "                      revoke an API key\n"
        "  keys list --data-dir DIR [--user NAME]\n"
        "                      list API keys (id, user, role, created, expires, revoked; tab-separated)\n"
        "  audit verify --data-dir DIR [--json]\n"
        "                      check the audit chain; exit 0 it holds, 1 a record does not fit, 2 error\n"
        "  audit export --data-dir DIR [--from SEQ]\n"
        "                      write the audit records as JSON Lines\n"
        "  dsar export --data-dir DIR --user NAME\n"
        "                      write everything the store holds about a user as one JSON object\n"
        "  dsar delete --data-dir DIR --user NAME\n"
        "                      delete a user's rows and erase the text of their audit records (which stay)\n"
        "  purge --data-dir DIR [--text-days N]\n"
        "                      retention: erase audit text older than N days (180; 0 keeps it), expired\n"
        "                      takedowns, strikes older than 400 days and usage counters idle 2 days\n"
        "  identity check --name NAME --id ID_NUMBER [--phone PHONE] [--today YYYYMMDD]\n"
        "                      normalise and check real-name fields; exit 0 valid, 1 refused, 2 error\n"
        "  identity verify --url URL [--timeout-ms N] [--set KEY=VALUE]... --name NAME --id ID_NUMBER\n"
        "                  [--phone PHONE]\n"
        "                      ask an identity-verification provider (token from HEGUI_IDV_TOKEN; KEY as in\n"
        "                      identity.provider.*); exit 0 verified, 1 rejected or undecided, 2 error\n"
        "  classifier train --data FILE... --text-column NAME --label-column COLUMN[@VALUE][=NAME[:CODE]]...\n"
        "                   --out MODEL [--seed N] [--epochs N] [--bits N] [--holdout F] [--threshold NAME=F]...\n"
        "                   [--format csv|tsv|jsonl]\n"
        "                      train a classifier model from CSV, TSV or JSON Lines (0/1 columns, or @VALUE)\n"
        "  classifier eval --model MODEL --data FILE... --text-column NAME --label-column COLUMN[@VALUE][=NAME]...\n"
        "                      precision, recall and F1 per label, macro F1 and a threshold sweep\n"
        "  classify [--model MODEL] [--json] [--file PATH | TEXT | -]\n"
        "                      score a text (model also from HEGUI_CLASSIFIER_MODEL); exit 0 none flagged,\n"
        "                      1 flagged, 2 error\n"
        "  fold [--skip-noise] TEXT\n"
        "                      show the normalized (folded) form of a text\n"
        "  version             print the version\n"
        "\n"
        "Without --lexicon, the starter lexicon built into hegui is used.\n",
        f);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return EXIT_ERROR;
  }
  const char *cmd = argv[1];
  /* a test's clock, read once (base/clock.h); `serve --test-clock` sets it too */
  if (hg_clock_from_env()) {
    cli_error("HEGUI_TEST_NOW_MS: expected milliseconds since the epoch, or @FILE");
    return EXIT_ERROR;
  }
  if (!strcmp(cmd, "check")) return cmd_check(argc - 1, argv + 1);
  if (!strcmp(cmd, "lexicon")) return cmd_lexicon(argc - 1, argv + 1);
  if (!strcmp(cmd, "fold")) return cmd_fold(argc - 1, argv + 1);
  if (!strcmp(cmd, "pii")) return cmd_pii(argc - 1, argv + 1);
  if (!strcmp(cmd, "serve")) return cmd_serve(argc - 1, argv + 1);
  if (!strcmp(cmd, "keys")) return cmd_keys(argc - 1, argv + 1);
  if (!strcmp(cmd, "audit")) return cmd_audit(argc - 1, argv + 1);
  if (!strcmp(cmd, "dsar")) return cmd_dsar(argc - 1, argv + 1);
  if (!strcmp(cmd, "purge")) return cmd_purge(argc - 1, argv + 1);
  if (!strcmp(cmd, "label")) return cmd_label(argc - 1, argv + 1);
  if (!strcmp(cmd, "identity")) return cmd_identity(argc - 1, argv + 1);
  if (!strcmp(cmd, "classifier")) return cmd_classifier(argc - 1, argv + 1);
  if (!strcmp(cmd, "classify")) return cmd_classify(argc - 1, argv + 1);
  if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
    printf("hegui %s\n", hg_version());
    return 0;
  }
  if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
    usage(stdout);
    return 0;
  }
  cli_error("unknown command '%s' (try 'hegui help')", cmd);
  return EXIT_ERROR;
}
