/* pii_cmd.c — `hegui pii scan`, `hegui pii redact` and `hegui pii unseal`.
 *
 * Both scan and redact stream their input through the PII scanner in chunks, keeping only the window from the
 * scanner's pending suffix on: redact writes out everything before the pending suffix as soon as it is final,
 * with the hits in it replaced, so a file of any size is redacted in bounded memory. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "hegui/pii.h"

typedef struct pii_ctx {
  int json, count_only, redact;
  size_t hits;
  hg_redact_options ro;
  hg_vault *vault;
  char *win; /* stream bytes [win_start, win_start + win_len) */
  size_t win_start, win_len, win_cap;
  size_t written; /* redact: bytes of the stream already written or replaced */
  int failed;
} pii_ctx;

static int on_pii(void *p, const hg_pii_hit *h) {
  pii_ctx *c = p;
  c->hits++;
  const char *text = c->win + (h->start - c->win_start);
  size_t len = h->end - h->start;
  if (c->redact) {
    if (h->start < c->written) return 0; /* overlapping: the earlier hit won */
    fwrite(c->win + (c->written - c->win_start), 1, h->start - c->written, stdout);
    char *rep;
    size_t rl;
    hg_error err;
    if (hg_redact_value(&c->ro, c->vault, h->type, text, len, &rep, &rl, &err)) {
      cli_error("%s", err.message);
      c->failed = 1;
      return 1;
    }
    fwrite(rep, 1, rl, stdout);
    free(rep);
    c->written = h->end;
    return 0;
  }
  if (c->count_only) return 0;
  if (c->json) {
    printf("%s\n    {\"type\": \"%s\", \"start\": %zu, \"end\": %zu, \"confidence\": %.2f, \"text\": ",
           c->hits > 1 ? "," : "", hg_pii_type_name(h->type), h->start, h->end, (double)h->confidence);
    cli_json_string(stdout, text, len);
    fputc('}', stdout);
  } else {
    printf("%zu-%zu\t%s\t%.2f\t", h->start, h->end, hg_pii_type_name(h->type), (double)h->confidence);
    for (size_t i = 0; i < len; i++)
      putchar(text[i] == '\n' || text[i] == '\t' ? ' ' : text[i]);
    putchar('\n');
  }
  return 0;
}

static int feed(pii_ctx *c, hg_pii_scanner *sc, const char *buf, size_t n, const char *name) {
  size_t keep_from = hg_pii_scanner_offset(sc) - hg_pii_scanner_pending_suffix_len(sc);
  if (c->redact && c->written < keep_from) { /* final text with no hit in it */
    fwrite(c->win + (c->written - c->win_start), 1, keep_from - c->written, stdout);
    c->written = keep_from;
  }
  if (c->redact && c->written < keep_from) keep_from = c->written;
  if (keep_from > c->written && c->redact) keep_from = c->written;
  size_t drop = keep_from - c->win_start;
  if (drop) memmove(c->win, c->win + drop, c->win_len - drop);
  c->win_len -= drop;
  c->win_start = keep_from;
  if (c->win_len + n > c->win_cap) {
    size_t cap = (c->win_len + n) * 2;
    char *w = realloc(c->win, cap);
    if (!w) return cli_error("out of memory"), -1;
    c->win = w;
    c->win_cap = cap;
  }
  if (n) memcpy(c->win + c->win_len, buf, n);
  c->win_len += n;
  hg_error err;
  hg_error_clear(&err);
  if (hg_pii_scanner_feed(sc, buf, n, &err)) return cli_error("%s: %s", name, err.message), -1;
  return c->failed ? -1 : 0;
}

/* cli_pump's callback: one chunk into the scanner, keeping the window */
struct pump {
  pii_ctx *c;
  hg_pii_scanner *sc;
  const char *name;
};

static int pump_feed(void *ctx, const char *buf, size_t n) {
  struct pump *p = ctx;
  return feed(p->c, p->sc, buf, n, p->name);
}

static int load_key(const char *path, uint8_t key[HG_REDACT_KEY_BYTES]) {
  char buf[256];
  size_t n = 0;
  const char *env = getenv("HEGUI_PII_KEY");
  if (path) {
    FILE *f = fopen(path, "rb");
    if (!f) return cli_error("cannot open key file %s: %s", path, strerror(errno)), -1;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
  } else if (env) {
    n = strlen(env) < sizeof buf - 1 ? strlen(env) : sizeof buf - 1;
    memcpy(buf, env, n);
  } else {
    return cli_error("this operator needs a key: --key-file FILE or HEGUI_PII_KEY (64 hex digits)"), -1;
  }
  if (n == HG_REDACT_KEY_BYTES && path) { /* raw bytes */
    memcpy(key, buf, HG_REDACT_KEY_BYTES);
    return 0;
  }
  while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
    n--;
  if (n != 2 * HG_REDACT_KEY_BYTES) return cli_error("a key is 32 raw bytes or 64 hex digits"), -1;
  for (size_t i = 0; i < HG_REDACT_KEY_BYTES; i++) {
    unsigned v;
    char hex[3] = {buf[2 * i], buf[2 * i + 1], 0};
    char *end;
    v = (unsigned)strtoul(hex, &end, 16);
    if (*end) return cli_error("a key is 32 raw bytes or 64 hex digits"), -1;
    key[i] = (uint8_t)v;
  }
  return 0;
}

static int parse_types(const char *list, uint64_t *types) {
  char buf[512];
  if (strlen(list) >= sizeof buf) return -1;
  strcpy(buf, list);
  *types = 0;
  for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
    hg_pii_type ty;
    if (!strcmp(t, "all")) {
      *types = (1ull << HG_PII_TYPE_COUNT) - 1;
      continue;
    }
    if (hg_pii_type_parse(t, &ty)) return cli_error("unknown PII type '%s'", t), -1;
    *types |= 1ull << ty;
  }
  return 0;
}

static int pii_run(int argc, char **argv, int redact) {
  pii_ctx c = {0};
  hg_pii_options opt;
  hg_pii_options_init(&opt);
  hg_redact_options_init(&c.ro);
  c.redact = redact;
  const char *file = NULL, *text = NULL, *key_file = NULL;
  uint8_t key[HG_REDACT_KEY_BYTES];
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--file") || !strcmp(a, "-f")) {
      if (++i >= argc) return cli_error("--file needs a path"), EXIT_ERROR;
      file = argv[i];
    } else if (!strcmp(a, "--json") && !redact) {
      c.json = 1;
    } else if (!strcmp(a, "--count") && !redact) {
      c.count_only = 1;
    } else if (!strcmp(a, "--types")) {
      if (++i >= argc || parse_types(argv[i], &opt.types)) return cli_error("--types needs a comma list"), EXIT_ERROR;
    } else if (!strcmp(a, "--names")) {
      opt.types |= 1ull << HG_PII_PERSON_NAME;
    } else if (!strcmp(a, "--min-confidence")) {
      if (++i >= argc) return cli_error("--min-confidence needs a number"), EXIT_ERROR;
      char *end;
      double v = strtod(argv[i], &end);
      if (*end || v < 0 || v > 1) return cli_error("--min-confidence needs a number from 0 to 1"), EXIT_ERROR;
      opt.min_confidence = (float)v;
    } else if (!strcmp(a, "--today")) {
      long v = i + 1 < argc ? cli_parse_uint(argv[++i], 99991231) : -1;
      if (v < 19000101) return cli_error("--today needs a date as YYYYMMDD"), EXIT_ERROR;
      opt.today_yyyymmdd = (unsigned)v;
    } else if (!strcmp(a, "--operator") && redact) {
      if (++i >= argc || hg_redact_op_parse(argv[i], &c.ro.op))
        return cli_error("--operator needs mask, placeholder, hash, seal or drop"), EXIT_ERROR;
    } else if ((!strcmp(a, "--keep-last") || !strcmp(a, "--keep-first")) && redact) {
      long v = i + 1 < argc ? cli_parse_uint(argv[++i], 64) : -1;
      if (v < 0) return cli_error("%s needs a number from 0 to 64", a), EXIT_ERROR;
      if (a[7] == 'l')
        c.ro.keep_last = (unsigned)v;
      else
        c.ro.keep_first = (unsigned)v;
    } else if (!strcmp(a, "--key-file") && redact) {
      if (++i >= argc) return cli_error("--key-file needs a path"), EXIT_ERROR;
      key_file = argv[i];
    } else if (a[0] == '-' && a[1]) {
      return cli_error("pii %s: unknown option '%s'", redact ? "redact" : "scan", a), EXIT_ERROR;
    } else {
      if (text) return cli_error("give one text (quote it, or use --file)"), EXIT_ERROR;
      text = a;
    }
  }
  if (file && text) return cli_error("give either --file or a text, not both"), EXIT_ERROR;
  if (!file && !text) return cli_error("nothing to scan (give a TEXT, --file PATH, or - for stdin)"), EXIT_ERROR;
  if (redact && (c.ro.op == HG_REDACT_HASH || c.ro.op == HG_REDACT_SEAL)) {
    if (load_key(key_file, key)) return EXIT_ERROR;
    c.ro.key = key;
  }
  FILE *in = NULL;
  const char *name = "text";
  if (file || !strcmp(text, "-")) {
    name = file ? file : "stdin";
    in = file ? fopen(file, "rb") : stdin;
    if (!in) return cli_error("cannot open %s: %s", file, strerror(errno)), EXIT_ERROR;
  }
  hg_pii_scanner *sc;
  if (hg_pii_scanner_new(&opt, on_pii, &c, &sc) || hg_vault_new(&c.vault)) {
    if (in && in != stdin) fclose(in);
    return cli_error("out of memory"), EXIT_ERROR;
  }
  if (c.json && !c.count_only) printf("{\"hits\": [");
  struct pump pump = {&c, sc, name};
  int rc = cli_pump(in, text, name, pump_feed, &pump);
  if (!rc) {
    hg_error err;
    hg_error_clear(&err);
    if (hg_pii_scanner_finish(sc, &err)) rc = -1, cli_error("%s: %s", name, err.message);
    if (c.failed) rc = -1;
  }
  if (!rc && redact) {
    size_t end = c.win_start + c.win_len;
    fwrite(c.win + (c.written - c.win_start), 1, end - c.written, stdout);
    if (!in) putchar('\n');
  }
  if (c.json && !c.count_only)
    printf("%s], \"count\": %zu}\n", c.hits ? "\n  " : "", c.hits);
  else if (c.count_only)
    printf("%zu\n", c.hits);
  if (redact && c.vault && hg_vault_count(c.vault))
    fprintf(stderr, "hegui: %zu distinct values behind placeholders (restore needs the vault: gateway only)\n",
            hg_vault_count(c.vault));
  hg_pii_scanner_free(sc);
  hg_vault_free(c.vault);
  free(c.win);
  fflush(stdout);
  if (rc) return EXIT_ERROR;
  return c.hits ? EXIT_FOUND : EXIT_NONE_FOUND;
}

static int pii_unseal(int argc, char **argv) {
  const char *key_file = NULL, *token = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--key-file") && i + 1 < argc)
      key_file = argv[++i];
    else if (!token)
      token = argv[i];
    else
      return cli_error("unseal takes one token"), EXIT_ERROR;
  }
  if (!token) return cli_error("usage: hegui pii unseal [--key-file FILE] '<TYPE$token>'"), EXIT_ERROR;
  uint8_t key[HG_REDACT_KEY_BYTES];
  if (load_key(key_file, key)) return EXIT_ERROR;
  const char *dollar = strchr(token, '$');
  const char *t = dollar ? dollar + 1 : token;
  size_t len = strlen(t);
  if (len && t[len - 1] == '>') len--;
  char *out;
  size_t ol;
  hg_error err;
  if (hg_unseal(key, t, len, &out, &ol, &err)) return cli_error("%s", err.message), EXIT_ERROR;
  fwrite(out, 1, ol, stdout);
  putchar('\n');
  free(out);
  return 0;
}

int cmd_pii(int argc, char **argv) {
  if (argc < 2) return cli_error("usage: hegui pii scan|redact|unseal ..."), EXIT_ERROR;
  if (!strcmp(argv[1], "scan")) return pii_run(argc - 1, argv + 1, 0);
  if (!strcmp(argv[1], "redact")) return pii_run(argc - 1, argv + 1, 1);
  if (!strcmp(argv[1], "unseal")) return pii_unseal(argc - 1, argv + 1);
  cli_error("unknown pii command '%s' (scan, redact, unseal)", argv[1]);
  return EXIT_ERROR;
}
