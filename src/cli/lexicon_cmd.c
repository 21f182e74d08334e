/* lexicon_cmd.c — `hegui lexicon compile` and `hegui lexicon stats`. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "cli/cli.h"

static int lexicon_compile(int argc, char **argv) {
  hg_compile_options opt;
  hg_compile_options_init(&opt);
  hg_source_defaults d;
  hg_source_defaults_init(&d);
  const char *paths[256];
  int np = 0, strict = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--strict")) {
      strict = 1;
    } else if (!strcmp(a, "--max-noise")) {
      long v = i + 1 < argc ? cli_parse_uint(argv[++i], 64) : -1;
      if (v < 0) return cli_error("--max-noise needs a number from 0 to 64"), EXIT_ERROR;
      opt.max_noise = (unsigned)v;
    } else if (!strcmp(a, "--category")) {
      if (++i >= argc || hg_category_parse(argv[i], strlen(argv[i]), &d.category))
        return cli_error("--category needs a risk code (A1a..A5b, pii, custom)"), EXIT_ERROR;
    } else if (!strcmp(a, "--modes")) {
      if (++i >= argc || !(d.modes = cli_parse_modes(argv[i])))
        return cli_error("--modes needs a comma list of exact, folded, noise, collapse, pinyin, homophone"), EXIT_ERROR;
      d.plain_cjk_modes = 0; /* the modes asked for, and nothing added to plain lines */
    } else if (a[0] == '-' && a[1]) {
      return cli_error("lexicon compile: unknown option '%s'", a), EXIT_ERROR;
    } else {
      if (np == 256) return cli_error("too many inputs"), EXIT_ERROR;
      paths[np++] = a;
    }
  }
  if (np < 2) return cli_error("usage: hegui lexicon compile [options] IN... OUT"), EXIT_ERROR;
  const char *out_path = paths[np - 1];
  hg_lexicon_source *src;
  if (hg_lexicon_source_new(&src)) return cli_error("out of memory"), EXIT_ERROR;
  /* public lists have the odd line that cannot be an entry (the houbb list has 7 longer than 256 characters...):
   * each is named and skipped, with a count at the end; --strict makes the first fatal */
  hg_lexicon_source_set_lenient(src, !strict);
  hg_error err;
  hg_error_clear(&err);
  double t0 = hg_clock_mono_s();
  for (int i = 0; i < np - 1; i++)
    if (hg_lexicon_source_add_file(src, paths[i], &d, &err)) {
      cli_error("%s", err.message);
      hg_lexicon_source_free(src);
      return EXIT_ERROR;
    }
  double t1 = hg_clock_mono_s();
  hg_lexicon *lex;
  hg_status st = hg_lexicon_compile(src, &opt, &lex, &err);
  double t2 = hg_clock_mono_s();
  size_t dups = hg_lexicon_source_duplicates(src), skipped = hg_lexicon_source_skipped(src);
  for (size_t i = 0; i < skipped && i < HG_SOURCE_SKIP_MESSAGES; i++)
    fprintf(stderr, "hegui: skipped %s\n", hg_lexicon_source_skip_message(src, i));
  if (skipped > HG_SOURCE_SKIP_MESSAGES)
    fprintf(stderr, "hegui: ... and %zu more lines skipped\n", skipped - HG_SOURCE_SKIP_MESSAGES);
  hg_lexicon_source_free(src);
  if (st) return cli_error("%s", err.message), EXIT_ERROR;
  if (hg_lexicon_save(lex, out_path, &err)) {
    cli_error("%s", err.message);
    hg_lexicon_unref(lex);
    return EXIT_ERROR;
  }
  hg_lexicon_stats s;
  hg_lexicon_stats_get(lex, &s);
  printf("compiled %zu entries (%zu allowlist, %zu duplicates dropped, %zu lines skipped) into %s: %zu states, %zu "
         "bytes; parse %.3f s, compile %.3f s\n",
         s.total + s.allow, s.allow, dups, skipped, out_path, s.states, s.image_bytes, t1 - t0, t2 - t1);
  hg_lexicon_unref(lex);
  return 0;
}

static int lexicon_stats(int argc, char **argv) {
  int json = 0;
  const char *path = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--json"))
      json = 1;
    else if (argv[i][0] == '-' && argv[i][1])
      return cli_error("lexicon stats: unknown option '%s'", argv[i]), EXIT_ERROR;
    else if (!path)
      path = argv[i];
    else
      return cli_error("lexicon stats takes one file"), EXIT_ERROR;
  }
  if (!path) return cli_error("usage: hegui lexicon stats [--json] FILE"), EXIT_ERROR;
  hg_lexicon *lex;
  if (cli_load_lexicon(path, NULL, NULL, &lex)) return EXIT_ERROR;
  hg_lexicon_stats s;
  hg_lexicon_stats_get(lex, &s);
  int a1_ok = 1, a2_ok = 1;
  for (int c = HG_CAT_A1A; c <= HG_CAT_A1H; c++)
    a1_ok &= s.per_category[c] >= HG_TC260_MIN_A1;
  for (int c = HG_CAT_A2A; c <= HG_CAT_A2I; c++)
    a2_ok &= s.per_category[c] >= HG_TC260_MIN_A2;
  int total_ok = s.total >= HG_TC260_MIN_TOTAL;
  if (json) {
    printf("{\"file\": ");
    cli_json_string(stdout, path, strlen(path));
    printf(", \"total\": %zu, \"allowlist\": %zu, \"per_category\": {", s.total, s.allow);
    for (int c = 0; c < HG_CATEGORY_COUNT; c++)
      printf("%s\"%s\": %zu", c ? ", " : "", hg_category_code((hg_category)c), s.per_category[c]);
    printf("}, \"tc260\": {\"min_total\": %d, \"min_a1\": %d, \"min_a2\": %d, \"total_ok\": %s, \"a1_ok\": %s, "
           "\"a2_ok\": %s, \"meets_minimums\": %s}}\n",
           HG_TC260_MIN_TOTAL, HG_TC260_MIN_A1, HG_TC260_MIN_A2, total_ok ? "true" : "false", a1_ok ? "true" : "false",
           a2_ok ? "true" : "false", hg_lexicon_stats_meets_tc260(&s) ? "true" : "false");
  } else {
    printf("lexicon %s\n  entries: %zu (+ %zu allowlist)\n  per risk category:\n", path, s.total, s.allow);
    for (int c = 0; c < HG_CATEGORY_COUNT; c++) {
      const char *mark = "";
      if (c <= HG_CAT_A1H)
        mark = s.per_category[c] >= HG_TC260_MIN_A1 ? "" : "  < 200 required";
      else if (c <= HG_CAT_A2I)
        mark = s.per_category[c] >= HG_TC260_MIN_A2 ? "" : "  < 100 required";
      printf("    %-6s %8zu  %s%s\n", hg_category_code((hg_category)c), s.per_category[c],
             hg_category_title((hg_category)c), mark);
    }
    printf("  TC260-003 keyword library minimums:\n");
    printf("    >= %d entries in total:       %s (%zu)\n", HG_TC260_MIN_TOTAL, total_ok ? "yes" : "NO", s.total);
    printf("    >= %d for each A.1 risk (8):  %s\n", HG_TC260_MIN_A1, a1_ok ? "yes" : "NO");
    printf("    >= %d for each A.2 risk (9):  %s\n", HG_TC260_MIN_A2, a2_ok ? "yes" : "NO");
    printf("  verdict: %s\n", hg_lexicon_stats_meets_tc260(&s) ? "meets the minimums" : "does NOT meet the minimums");
  }
  hg_lexicon_unref(lex);
  return 0;
}

int cmd_lexicon(int argc, char **argv) {
  if (argc < 2) return cli_error("usage: hegui lexicon compile|stats ..."), EXIT_ERROR;
  if (!strcmp(argv[1], "compile")) return lexicon_compile(argc - 1, argv + 1);
  if (!strcmp(argv[1], "stats")) return lexicon_stats(argc - 1, argv + 1);
  cli_error("unknown lexicon command '%s' (compile, stats)", argv[1]);
  return EXIT_ERROR;
}
