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

/* ---- the command table: dispatch, `hegui help`, `hegui COMMAND --help`, the hegui(1) page and bash completion
 * are all read from it, so none of them can name a command the others do not know ---- */

typedef struct form {
  const char *synopsis; /* after "hegui "; continuation lines start with spaces */
  const char *text;     /* what it does; lines end with \n */
} form;

typedef struct command {
  const char *name;
  int (*run)(int argc, char **argv); /* argv[0] is the command's name */
  const char *summary;               /* one line, for the list of commands */
  const char *subcommands;           /* space-separated, for completion; NULL when none */
  form forms[7];                     /* ends with a NULL synopsis */
} command;

static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const command commands[] = {
    {"serve",
     cmd_serve,
     "the OpenAI-compatible gateway (moderation, labels, records)",
     NULL,
     {{"serve [--config FILE] [--listen HOST:PORT] [--upstream URL] [--lexicon FILE] [--data-dir DIR] [--no-auth]\n"
       "      [--test-clock MS|now|@FILE]",
       "run the gateway; SIGHUP reloads the configuration and the lexicon, SIGTERM drains and stops; under systemd\n"
       "(NOTIFY_SOCKET) it reports READY, RELOADING, STOPPING and feeds the watchdog. --test-clock is for tests and\n"
       "rehearsals: the wall clock pinned at MS, running from now, or read from FILE; an admin then reads and moves\n"
       "it with GET/POST /admin/clock (docs/workflows.md, \"The test clock\")\n"}}},
    {"config",
     cmd_config,
     "check a configuration file, show the effective configuration, list the keys",
     "check show keys",
     {{"config check FILE", "read FILE as serve would and report the first error as FILE:LINE: KEY: problem;\n"
                            "exit 0 valid, 2 not\n"},
      {"config show [FILE]", "print the effective configuration (defaults, then FILE) as YAML that config check\n"
                             "accepts; credentials are shown as \"********\"\n"},
      {"config keys [--man]", "list every key with what it takes and its default (--man: the hegui.yaml(5) page)\n"}}},
    {"check",
     cmd_check,
     "find lexicon entries in text, or in the text of images",
     NULL,
     {{"check [--lexicon FILE] [--policy FILE] [--direction input|output] [--json|--count] [--file PATH | TEXT | -]",
       "find lexicon entries in text; exit 0 none, 1 found, 2 error\n"},
      {"check --image [--lexicon FILE] [--policy FILE] [--direction input|output] [--json] [--ocr-lang LANGS]\n"
       "      [--tessdata DIR] [--ocr-layout column|sparse|auto] [--ocr-deadline MS] [--ocr-retry-below CONF]\n"
       "      [--ocr-upscale-below PX] [--max-pixels N] FILE...",
       "read the text in each image by OCR (Tesseract, chi_sim+eng) and check it the same way; the text read is\n"
       "shown (--json: one object a line with \"ocr_text\"); exit 0 none, 1 found, 2 error or OCR cut short\n"}}},
    {"lexicon",
     cmd_lexicon,
     "compile lexicons and count them against the TC260-003 minimums",
     "compile stats",
     {{"lexicon compile [--max-noise N] [--category CODE] [--modes LIST] IN... OUT",
       "compile lexicon sources into an image\n"},
      {"lexicon stats [--json] FILE", "entries per TC260-003 risk and the keyword-library minimums\n"}}},
    {"pii",
     cmd_pii,
     "find, redact and unseal personal information",
     "scan redact unseal",
     {{"pii scan [--json|--count] [--types LIST] [--names] [--file PATH | TEXT | -]",
       "find personal information; exit 0 none, 1 found, 2 error\n"},
      {"pii redact [--operator mask|placeholder|hash|seal|drop] [--keep-first N] [--keep-last N]\n"
       "           [--key-file FILE] [--file PATH | TEXT | -]",
       "write the text with personal information replaced\n"},
      {"pii unseal [--key-file FILE] TOKEN", "open a value sealed by 'pii redact --operator seal'\n"}}},
    {"label",
     cmd_label,
     "write, read and verify AIGC labels in texts and files",
     "verify-text add read verify show-key",
     {{"label verify-text (--data-dir DIR | --public-key FILE)\n"
       "                  (--response FILE | --label JSON (--text TEXT | --file PATH))",
       "check a text against its signed AIGC label; exit 0 verified, 1 not, 2 error\n"},
      {"label add --data-dir DIR (--producer NAME [--produce-id ID] | --platform --propagator NAME\n"
       "          --propagate-id ID [--label 1|2|3]) [--no-explicit --recipient WHO | --explicit\n"
       "          [--label-text TEXT] [--place bottom-right|bottom-left|top-right|top-left|bottom|top]\n"
       "          [--font PATH] [--height-ratio R] [--spoken-text TEXT] [--spoken-at start|end]\n"
       "          [--spoken speech|rhythm]] [--sync batch|each|none] [--jobs N] [--json] FILE|DIR...",
       "write the signed implicit AIGC label into PNG JPEG WebP MP4 Ogg WAV MP3 FLAC PDF OOXML MD; --explicit first\n"
       "draws the visible label on PNG, JPEG and WebP pictures (by default \"AI generated\" in Chinese, its ink at\n"
       "least R (default 0.05) of the shortest side, on a contrasting plate, bottom-right) or says the spoken label\n"
       "in WAV, MP3, FLAC, Ogg and M4A audio (Mandarin by espeak-ng at 120-160 characters a minute, at the start\n"
       "unless --spoken-at end; or the rhythm short-long-short-short) or draws it on the frames of an MP4/MOV\n"
       "video's first 2 s, and writes both in one replacement of the file. --sync batch (default) syncs files in\n"
       "batches before they replace the originals, each per file, none not at all; --jobs N files at once\n"},
      {"label read [--json] FILE|DIR...",
       "print the labels a file carries; exit 0 labelled, 1 none or two different, 2 error\n"},
      {"label verify (--data-dir DIR | --public-key FILE...) [--jobs N] [--json] FILE|DIR...",
       "check label signatures and content; exit 0 intact, 1 missing or broken, 2 error\n"},
      {"label show-key --data-dir DIR", "print the label public key as hex (creates the key pair when absent)\n"}}},
    {"keys",
     cmd_keys,
     "create, revoke and list API keys",
     "create revoke list",
     {{"keys create --data-dir DIR --user NAME [--role user|reviewer|admin|auditor] [--expires-days N]",
       "create an API key; it is printed once, on the last line (only its hash is kept)\n"},
      {"keys revoke --data-dir DIR --id N", "revoke an API key\n"},
      {"keys list --data-dir DIR [--user NAME]",
       "list API keys (id, user, role, created, expires, revoked; tab-separated)\n"}}},
    {"audit",
     cmd_audit,
     "verify and export the audit chain",
     "verify export",
     {{"audit verify --data-dir DIR [--json]",
       "check the audit chain; exit 0 it holds, 1 a record does not fit, 2 error\n"},
      {"audit export --data-dir DIR [--from SEQ]", "write the audit records as JSON Lines\n"}}},
    {"dsar",
     cmd_dsar,
     "data-subject access and deletion",
     "export delete",
     {{"dsar export --data-dir DIR --user NAME", "write everything the store holds about a user as one JSON object\n"},
      {"dsar delete --data-dir DIR --user NAME",
       "delete a user's rows and erase the text of their audit records (which stay)\n"}}},
    {"purge",
     cmd_purge,
     "apply the retention limits to the store",
     NULL,
     {{"purge --data-dir DIR [--text-days N]",
       "retention: erase audit text older than N days (180; 0 keeps it), expired takedowns, strikes older than\n"
       "400 days and usage counters idle 2 days\n"}}},
    {"identity",
     cmd_identity,
     "check real-name fields, ask an identity-verification provider",
     "check verify",
     {{"identity check --name NAME --id ID_NUMBER [--phone PHONE] [--today YYYYMMDD]",
       "normalise and check real-name fields; exit 0 valid, 1 refused, 2 error\n"},
      {"identity verify --url URL [--timeout-ms N] [--set KEY=VALUE]... --name NAME --id ID_NUMBER [--phone PHONE]",
       "ask an identity-verification provider (token from HEGUI_IDV_TOKEN; KEY as in identity.provider.*);\n"
       "exit 0 verified, 1 rejected or undecided, 2 error\n"}}},
    {"classifier",
     cmd_classifier,
     "train and evaluate classifier models",
     "train eval",
     {{"classifier train --data FILE... --text-column NAME --label-column COLUMN[@VALUE][=NAME[:CODE]]...\n"
       "                 --out MODEL [--seed N] [--epochs N] [--bits N] [--holdout F] [--threshold NAME=F]...\n"
       "                 [--format csv|tsv|jsonl]",
       "train a classifier model from CSV, TSV or JSON Lines (0/1 columns, or @VALUE)\n"},
      {"classifier eval --model MODEL --data FILE... --text-column NAME --label-column COLUMN[@VALUE][=NAME]...",
       "precision, recall and F1 per label, macro F1 and a threshold sweep\n"}}},
    {"classify",
     cmd_classify,
     "score a text with the classifier",
     NULL,
     {{"classify [--model MODEL] [--json] [--file PATH | TEXT | -]",
       "score a text (model also from HEGUI_CLASSIFIER_MODEL); exit 0 none flagged, 1 flagged, 2 error\n"}}},
    {"fold",
     cmd_fold,
     "show the normalized (folded) form of a text",
     NULL,
     {{"fold [--skip-noise] TEXT", "show the normalized (folded) form of a text\n"}}},
    {"version", cmd_version, "print the version", NULL, {{"version", "print the version\n"}}},
    {"help",
     cmd_help,
     "this list, one command's help, or the hegui(1) page",
     NULL,
     {{"help [COMMAND]", "print the commands, or one command's forms (also: hegui COMMAND --help)\n"},
      {"help --man", "print the hegui(1) manual page (troff)\n"},
      {"help --completion", "print the bash completion script\n"}}},
};
#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

static const command *find_command(const char *name) {
  for (size_t i = 0; i < COMMAND_COUNT; i++)
    if (!strcmp(commands[i].name, name)) return &commands[i];
  return NULL;
}

/* Prints text with every line indented. */
static void put_indented(FILE *f, const char *text, const char *indent) {
  for (const char *p = text; *p;) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    fprintf(f, "%s%.*s\n", indent, (int)n, p);
    p += n + (nl != NULL);
  }
}

static void command_help(FILE *f, const command *c) {
  for (const form *fm = c->forms; fm->synopsis; fm++) {
    fprintf(f, "%s", fm == c->forms ? "usage: hegui " : "       hegui ");
    for (const char *p = fm->synopsis; *p; p++)
      fputs(*p == '\n' ? "\n             " : (char[]){*p, 0}, f);
    fputc('\n', f);
  }
  fputc('\n', f);
  for (const form *fm = c->forms; fm->synopsis; fm++) {
    if (c->forms[1].synopsis) {
      const char *sp = strchr(fm->synopsis, ' '), *end = sp ? strpbrk(sp + 1, " \n") : NULL;
      fprintf(f, "  %.*s\n", (int)(end ? end - fm->synopsis : (long)strlen(fm->synopsis)), fm->synopsis);
      put_indented(f, fm->text, "      ");
    } else {
      put_indented(f, fm->text, "");
    }
  }
}

static void usage(FILE *f) {
  fputs("usage: hegui COMMAND [OPTIONS]   (hegui COMMAND --help for one command)\n\ncommands:\n", f);
  for (size_t i = 0; i < COMMAND_COUNT; i++)
    fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].summary);
  fputs("\nWithout --lexicon, the starter lexicon built into hegui is used.\n", f);
}

/* troff needs its own escapes: a backslash doubled, a leading dot or quote guarded, hyphens as \- */
static void man_text(FILE *f, const char *s) {
  int line_start = 1;
  for (; *s; s++) {
    if (line_start && (*s == '.' || *s == '\'')) fputs("\\&", f);
    if (*s == '\\')
      fputs("\\e", f);
    else if (*s == '-')
      fputs("\\-", f);
    else
      fputc(*s, f);
    line_start = *s == '\n';
  }
}

static void man_page(FILE *f) {
  fprintf(f,
          ".\\\" generated by `hegui help --man` from the command table of src/cli/main.c; do not edit\n"
          ".TH HEGUI 1 \"\" \"hegui %s\" \"User Commands\"\n"
          ".SH NAME\nhegui \\- compliance gateway and engine for generative\\-AI services\n"
          ".SH SYNOPSIS\n.B hegui\n.I COMMAND\n.RI [ OPTIONS ]\n.br\n.B hegui\n.I COMMAND\n.B \\-\\-help\n"
          ".SH DESCRIPTION\n"
          "hegui moderates every prompt and every streamed answer of an OpenAI\\-compatible model server, protects\n"
          "personal information, labels generated content and keeps a tamper\\-evident record of every request.\n"
          "The gateway is\n.BR \"hegui serve\" ;\nthe other commands work on texts, files and the store.\n"
          ".SH COMMANDS\n",
          hg_version());
  for (size_t i = 0; i < COMMAND_COUNT; i++) {
    fputs(".SS ", f);
    man_text(f, commands[i].name);
    fputs("\n", f);
    man_text(f, commands[i].summary);
    fputs(".\n", f);
    for (const form *fm = commands[i].forms; fm->synopsis; fm++) {
      fputs(".TP\n.B hegui ", f);
      for (const char *p = fm->synopsis; *p; p++) {
        if (*p == '\n') {
          while (p[1] == ' ')
            p++;
          fputc(' ', f);
          continue;
        }
        char one[2] = {*p, 0};
        man_text(f, one);
      }
      fputs("\n", f);
      man_text(f, fm->text);
    }
  }
  fputs(".SH EXIT STATUS\n"
        "Commands that look for something exit 0 when nothing was found, 1 when something was, and 2 on an error;\n"
        "the others exit 0 on success and 2 on an error. Errors are written to standard error as\n"
        ".IR \"hegui: message\" .\n"
        ".SH ENVIRONMENT\n"
        ".TP\n.B NOTIFY_SOCKET\n.RB \"set by systemd for \" Type=notify ;\n"
        "serve reports READY=1, RELOADING=1, STOPPING=1 and WATCHDOG=1 (with WATCHDOG_USEC) to it.\n"
        ".TP\n.B HEGUI_IDENTITY_KEY\nthe key that seals identity fields (64 hex digits), over identity.key_file.\n"
        ".TP\n.B HEGUI_IDV_TOKEN\nthe identity provider's token for identity verify.\n"
        ".TP\n.B HEGUI_CLASSIFIER_MODEL\nthe model classify uses without \\-\\-model.\n"
        ".SH FILES\n"
        ".TP\n.I /etc/hegui/hegui.yaml\nthe configuration of the packaged service; see\n.BR hegui.yaml (5).\n"
        ".TP\n.I /var/lib/hegui\nthe packaged service's data directory: the store and its keys.\n"
        ".SH SEE ALSO\n.BR hegui.yaml (5),\n.BR systemd.service (5)\n",
        f);
}

/* bash completion: the commands, then each command's subcommands, then files */
static void completion_script(FILE *f) {
  fputs("# bash completion for hegui; generated by `hegui help --completion` from its command table\n"
        "_hegui() {\n"
        "  local cur=${COMP_WORDS[COMP_CWORD]}\n"
        "  if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
        "    COMPREPLY=($(compgen -W '",
        f);
  for (size_t i = 0; i < COMMAND_COUNT; i++)
    fprintf(f, "%s%s", i ? " " : "", commands[i].name);
  fputs("' -- \"$cur\"))\n    return\n  fi\n  if [ \"$COMP_CWORD\" -eq 2 ]; then\n    case ${COMP_WORDS[1]} in\n", f);
  for (size_t i = 0; i < COMMAND_COUNT; i++)
    if (commands[i].subcommands)
      fprintf(f, "    %s) COMPREPLY=($(compgen -W '%s --help' -- \"$cur\")); return ;;\n", commands[i].name,
              commands[i].subcommands);
  fputs("    esac\n  fi\n  COMPREPLY=($(compgen -f -- \"$cur\"))\n}\ncomplete -o filenames -F _hegui hegui\n", f);
}

static int cmd_version(int argc, char **argv) {
  (void)argc, (void)argv;
  printf("hegui %s\n", hg_version());
  return 0;
}

static int cmd_help(int argc, char **argv) {
  if (argc < 2) {
    usage(stdout);
    return 0;
  }
  if (!strcmp(argv[1], "--man")) return man_page(stdout), 0;
  if (!strcmp(argv[1], "--completion")) return completion_script(stdout), 0;
  const command *c = find_command(!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ? "help" : argv[1]);
  if (!c) return cli_error("help: no command '%s' (try 'hegui help')", argv[1]), EXIT_ERROR;
  command_help(stdout, c);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return EXIT_ERROR;
  }
  const char *name = argv[1];
  if (!strcmp(name, "--help") || !strcmp(name, "-h")) name = "help";
  if (!strcmp(name, "--version")) name = "version";
  const command *c = find_command(name);
  if (!c) {
    cli_error("unknown command '%s' (try 'hegui help')", name);
    return EXIT_ERROR;
  }
  /* `hegui COMMAND --help`, also after a subcommand (`hegui keys create --help`) */
  for (int i = 2; i < argc && c->run != cmd_help; i++)
    if (!strcmp(argv[i], "--help") || (i == 2 && !strcmp(argv[i], "-h"))) {
      command_help(stdout, c);
      return 0;
    }
  /* a test's clock, read once (base/clock.h); `serve --test-clock` sets it too */
  if (hg_clock_from_env()) {
    cli_error("HEGUI_TEST_NOW_MS: expected milliseconds since the epoch, or @FILE");
    return EXIT_ERROR;
  }
  return c->run(argc - 1, argv + 1);
}
