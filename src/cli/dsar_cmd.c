/* dsar_cmd.c — `hegui dsar export|delete` (a data subject's access and erasure requests) and `hegui purge`
 * (retention), over the store in DIR/hegui.db. The user is named in the store but is a pseudonym in the audit
 * chain: the pseudonym is computed here exactly as the gateway does (keyed BLAKE2b-128 of the name, hex) with the
 * key in DIR/pseudonym.key, which the gateway makes on its first start. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/clock.h"
#include "cli/cli.h"
#include "hegui/store.h"

#define DAY_MS INT64_C(86400000)

/* Opens DIR/hegui.db, which must exist: a mistyped --data-dir is an error, not a fresh empty store. */
static int open_existing(const char *dir, hg_store **out) {
  if (!dir) return cli_error("--data-dir DIR is needed (the directory that holds hegui.db)"), -1;
  char path[PATH_MAX];
  if ((size_t)snprintf(path, sizeof path, "%s/hegui.db", dir) >= sizeof path)
    return cli_error("the data directory path is too long"), -1;
  struct stat sb;
  if (stat(path, &sb)) return cli_error("no store at %s: %s (keys create makes one)", path, strerror(errno)), -1;
  char url[PATH_MAX + 8];
  snprintf(url, sizeof url, "sqlite:%s", path);
  hg_error err;
  hg_error_clear(&err);
  if (hg_store_open(url, out, &err)) return cli_error("%s", err.message), -1;
  return 0;
}

/* The gateway's pseudonym of user: 16 bytes of BLAKE2b keyed with the 32 bytes of DIR/pseudonym.key, as hex. */

/* --data-dir DIR --user NAME, nothing else. */
static int parse_user_args(const char *what, int argc, char **argv, const char **dir, const char **user) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--data-dir")) {
      if (++i >= argc) return cli_error("--data-dir needs a directory"), -1;
      *dir = argv[i];
    } else if (!strcmp(a, "--user")) {
      if (++i >= argc) return cli_error("--user needs a name"), -1;
      *user = argv[i];
    } else {
      return cli_error("dsar %s: unknown argument '%s'", what, a), -1;
    }
  }
  if (!*dir) return cli_error("dsar %s needs --data-dir DIR", what), -1;
  if (!*user) return cli_error("dsar %s needs --user NAME", what), -1;
  return 0;
}

static int dsar_run(int delete, int argc, char **argv) {
  const char *dir = NULL, *user = NULL;
  char pseudonym[33];
  if (parse_user_args(delete ? "delete" : "export", argc, argv, &dir, &user)) return EXIT_ERROR;
  hg_store *store;
  if (open_existing(dir, &store)) return EXIT_ERROR;
  if (cli_pseudonym(dir, user, pseudonym, 0)) {
    hg_store_close(store);
    return EXIT_ERROR;
  }
  hg_error err;
  hg_error_clear(&err);
  hg_status st;
  hg_audit_record receipt;
  if (delete)
    st = hg_store_dsar_delete(store, user, pseudonym, hg_clock_wall_ms(), &receipt, &err);
  else
    st = hg_store_dsar_export(store, user, pseudonym, stdout, &err);
  int unrecorded = 0;
  if (!st) { /* who did it, as the admin API records admin/dsar-delete beside the store's receipt; never the name */
    char detail[160];
    snprintf(detail, sizeof detail, "{\"pseudonym\":\"%s\",\"receipt_seq\":%" PRId64 "}", pseudonym,
             delete ? receipt.seq : 0);
    unrecorded =
        cli_record(store, delete ? "cli/dsar-delete" : "cli/dsar-export", delete ? "deleted" : "exported", detail);
  }
  hg_store_close(store);
  if (st) return cli_error("%s", err.message), EXIT_ERROR;
  if (unrecorded) return EXIT_ERROR;
  if (delete) printf("deleted; receipt is audit record %" PRId64 "\n", receipt.seq);
  if (fflush(stdout) || ferror(stdout)) return cli_error("cannot write the output: %s", strerror(errno)), EXIT_ERROR;
  return 0;
}

int cmd_dsar(int argc, char **argv) {
  if (argc < 2) return cli_error("usage: hegui dsar export|delete --data-dir DIR --user NAME"), EXIT_ERROR;
  if (!strcmp(argv[1], "export")) return dsar_run(0, argc - 1, argv + 1);
  if (!strcmp(argv[1], "delete")) return dsar_run(1, argc - 1, argv + 1);
  cli_error("unknown dsar command '%s' (export, delete)", argv[1]);
  return EXIT_ERROR;
}

int cmd_purge(int argc, char **argv) {
  const char *dir = NULL;
  long text_days = 180;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--data-dir")) {
      if (++i >= argc) return cli_error("--data-dir needs a directory"), EXIT_ERROR;
      dir = argv[i];
    } else if (!strcmp(a, "--text-days")) {
      if (++i >= argc || (text_days = cli_parse_uint(argv[i], 100000)) < 0)
        return cli_error("--text-days needs a number of days (0 keeps audit text)"), EXIT_ERROR;
    } else {
      return cli_error("purge: unknown argument '%s'", a), EXIT_ERROR;
    }
  }
  hg_store *store;
  if (open_existing(dir, &store)) return EXIT_ERROR;
  hg_error err;
  hg_error_clear(&err);
  hg_purge_counts c;
  hg_status st = hg_store_purge(store, hg_clock_wall_ms(), (int64_t)text_days * DAY_MS, 0, &c, &err);
  int unrecorded = 0;
  if (!st) {
    char detail[96];
    snprintf(detail, sizeof detail, "{\"text_days\":%ld,\"receipt_seq\":%" PRId64 "}", text_days, c.receipt_seq);
    unrecorded = cli_record(store, "cli/purge", "purged", detail);
  }
  hg_store_close(store);
  if (st) return cli_error("%s", err.message), EXIT_ERROR;
  if (unrecorded) return EXIT_ERROR;
  printf("audit text erased: %" PRId64 "\n"
         "audit text kept (format 1, covered by its hash): %" PRId64 "\n"
         "expired takedowns deleted: %" PRId64 "\n"
         "strikes older than 400 days deleted: %" PRId64 "\n"
         "usage counters idle 2 days deleted: %" PRId64 "\n"
         "finished complaints whose text and contact were erased: %" PRId64 "\n"
         "receipt is audit record %" PRId64 "\n",
         c.audit_text_erased, c.audit_text_kept_v1, c.takedowns_deleted, c.strikes_deleted, c.usage_deleted,
         c.complaint_text_erased, c.receipt_seq);
  if (fflush(stdout) || ferror(stdout)) return cli_error("cannot write the output: %s", strerror(errno)), EXIT_ERROR;
  return 0;
}
