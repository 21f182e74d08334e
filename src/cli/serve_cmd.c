/* serve_cmd.c — `hegui serve`: the gateway, from a YAML file or on defaults, with command-line overrides. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "cli/cli.h"
#include "gateway/server.h"

static void ready(gateway *gw, void *ctx) {
  (void)ctx;
  const char *colon = strrchr(gw->cfg.listen, ':');
  printf("hegui %s serving on http://%.*s:%u (upstream %s, %u workers, profile %s, data in %s)\n", hg_version(),
         (int)(colon - gw->cfg.listen), gw->cfg.listen, gw->port, gw->cfg.upstream_url, gw->nworkers,
         hg_profile_name(gw->cfg.profile), gw->cfg.data_dir);
  fflush(stdout);
}

int cmd_serve(int argc, char **argv) {
  static gateway gw; /* large; one per process */
  hg_config_init(&gw.cfg);
  const char *config = NULL, *listen = NULL, *up = NULL, *lexicon = NULL, *data_dir = NULL, *test_clock = NULL;
  int no_auth = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char **slot = !strcmp(a, "--config")       ? &config
                        : !strcmp(a, "--listen")     ? &listen
                        : !strcmp(a, "--upstream")   ? &up
                        : !strcmp(a, "--lexicon")    ? &lexicon
                        : !strcmp(a, "--data-dir")   ? &data_dir
                        : !strcmp(a, "--test-clock") ? &test_clock
                                                     : NULL;
    if (slot) {
      if (++i >= argc) return cli_error("%s needs a value", a), EXIT_ERROR;
      *slot = argv[i];
    } else if (!strcmp(a, "--no-auth")) {
      no_auth = 1;
    } else {
      return cli_error("serve: unknown option '%s'", a), EXIT_ERROR;
    }
  }
  /* tests only: the wall clock pinned (MS) or read from a file the test rewrites (@FILE); base/clock.h */
  if (test_clock && hg_clock_set(test_clock))
    return cli_error("--test-clock: expected milliseconds since the epoch, now, or @FILE"), EXIT_ERROR;
  hg_error err;
  hg_error_clear(&err);
  if (config && hg_config_load(&gw.cfg, config, &err)) return cli_error("%s", err.message), EXIT_ERROR;
  gw.file_cfg = gw.cfg; /* what reloads compare the file with: command-line overrides are not changes */
  if (listen) snprintf(gw.cfg.listen, sizeof gw.cfg.listen, "%s", listen);
  if (up) snprintf(gw.cfg.upstream_url, sizeof gw.cfg.upstream_url, "%s", up);
  if (lexicon) snprintf(gw.cfg.lexicon, sizeof gw.cfg.lexicon, "%s", lexicon);
  if (lexicon) snprintf(gw.lexicon_override, sizeof gw.lexicon_override, "%s", lexicon);
  if (config) {
    /* reloads (SIGHUP, POST /admin/reload, PUT /admin/policy) read and write this file: keep it absolute */
    char *abs = realpath(config, NULL);
    snprintf(gw.config_path, sizeof gw.config_path, "%s", abs ? abs : config);
    free(abs);
  }
  if (data_dir) {
    /* a store left at its default follows the data directory */
    char dflt[600];
    snprintf(dflt, sizeof dflt, "sqlite:%s/hegui.db", gw.cfg.data_dir);
    if (!gw.cfg.store_url[0] || !strcmp(gw.cfg.store_url, dflt))
      snprintf(gw.cfg.store_url, sizeof gw.cfg.store_url, "sqlite:%.500s/hegui.db", data_dir);
    snprintf(gw.cfg.data_dir, sizeof gw.cfg.data_dir, "%s", data_dir);
  }
  if (no_auth) gw.cfg.auth_required = 0;
  if (strncmp(gw.cfg.upstream_url, "http://", 7) && strncmp(gw.cfg.upstream_url, "https://", 8))
    return cli_error("--upstream must be an http:// or https:// URL"), EXIT_ERROR;
  char msg[600];
  if (gateway_open(&gw, msg, sizeof msg)) return cli_error("%s", msg), EXIT_ERROR;
  int rc = server_run(&gw, ready, NULL, msg, sizeof msg);
  if (rc)
    hg_log_write(&gw.log, HG_LOG_ERROR, "%s", msg);
  else
    hg_log_write(&gw.log, HG_LOG_INFO, "stopped");
  gateway_close(&gw);
  return rc ? EXIT_ERROR : 0;
}
