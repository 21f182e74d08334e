/* store_cmd.c — `hegui keys create|revoke|list` and `hegui audit verify|export`, over the store in DIR/hegui.db.
 *
 * keys create makes the data directory (mode 0700) and the database when they are missing; the other commands
 * need an existing database, so that a mistyped --data-dir is an error and not a fresh, empty chain that "holds". */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/clock.h"
#include "cli/cli.h"
#include "hegui/store.h"

static int open_store(const char *dir, int create, hg_store **out) {
  if (!dir) return cli_error("--data-dir DIR is needed (the directory that holds hegui.db)"), -1;
  if (create && mkdir(dir, 0700) && errno != EEXIST)
    return cli_error("cannot create the data directory %s: %s", dir, strerror(errno)), -1;
  char path[PATH_MAX];
  if ((size_t)snprintf(path, sizeof path, "%s/hegui.db", dir) >= sizeof path)
    return cli_error("the data directory path is too long"), -1;
  struct stat sb;
  if (!create && stat(path, &sb))
    return cli_error("no store at %s: %s (keys create makes one)", path, strerror(errno)), -1;
  char url[PATH_MAX + 8];
  snprintf(url, sizeof url, "sqlite:%s", path);
  hg_error err;
  hg_error_clear(&err);
  if (hg_store_open(url, out, &err)) return cli_error("%s", err.message), -1;
  return 0;
}

#define DAY_MS INT64_C(86400000)
#define KEY_EXPIRES_DAYS_MAX 36500 /* a hundred years: beyond that, say never (no --expires-days) */

/* Unix ms as "2026-11-29T13:24:46Z" (UTC, to the second). */
static void utc_time(int64_t ms, char out[32]) {
  time_t secs = (time_t)(ms / 1000);
  struct tm tm;
  if (!gmtime_r(&secs, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm)) snprintf(out, 32, "%" PRId64, ms);
}

static int keys_create(int argc, char **argv) {
  const char *dir = NULL, *user = NULL;
  hg_role role = HG_ROLE_USER;
  long expires_days = 0; /* never */
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--data-dir")) {
      if (++i >= argc) return cli_error("--data-dir needs a directory"), EXIT_ERROR;
      dir = argv[i];
    } else if (!strcmp(a, "--user")) {
      if (++i >= argc) return cli_error("--user needs a name"), EXIT_ERROR;
      user = argv[i];
    } else if (!strcmp(a, "--role")) {
      if (++i >= argc || hg_role_parse(argv[i], &role))
        return cli_error("--role needs user, reviewer, admin or auditor"), EXIT_ERROR;
    } else if (!strcmp(a, "--expires-days")) {
      if (++i >= argc || (expires_days = cli_parse_uint(argv[i], KEY_EXPIRES_DAYS_MAX)) < 1)
        return cli_error("--expires-days needs a whole number of days from 1 to %d", KEY_EXPIRES_DAYS_MAX), EXIT_ERROR;
    } else {
      return cli_error("keys create: unknown argument '%s'", a), EXIT_ERROR;
    }
  }
  if (!user) return cli_error("keys create needs --user NAME"), EXIT_ERROR;
  int64_t expires_ms = expires_days ? hg_clock_wall_ms() + expires_days * DAY_MS : 0;
  hg_store *store;
  if (open_store(dir, 1, &store)) return EXIT_ERROR;
  char key[HG_KEY_MAX];
  hg_key_info info;
  hg_error err;
  hg_error_clear(&err);
  int rc = 0;
  if (hg_store_key_create_ex(store, user, role, expires_ms, key, &err) ||
      hg_store_key_lookup(store, key, strlen(key), &info, &err)) {
    rc = EXIT_ERROR, cli_error("%s", err.message);
  } else {
    /* recorded as the admin API records it (admin/key-create), with the operating-system user as the actor */
    /* the user as the API records it, by pseudonym (never the name: a deletion must leave no record naming them);
     * before the gateway's first start there is no pseudonym key yet, and the key id says whose key it is */
    char who[33];
    json_t *d = json_pack("{s:I, s:s, s:I}", "key_id", (json_int_t)info.key_id, "role", hg_role_name(role),
                          "expires_ms", (json_int_t)info.expires_ms);
    if (d && !cli_pseudonym(dir, user, who, 1)) json_object_set_new(d, "user", json_string(who));
    char *detail = d ? json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(d);
    if (!detail || cli_record(store, "cli/key-create", "created", detail)) rc = EXIT_ERROR;
    free(detail);
  }
  hg_store_close(store);
  if (rc) return rc;
  char expires[48] = "";
  if (info.expires_ms) {
    char when[32];
    utc_time(info.expires_ms, when);
    snprintf(expires, sizeof expires, ", expires %s", when);
  }
  /* the key last and alone on its line, so that scripts can take it with `tail -n 1` */
  printf("created key for user %s (role %s), id %" PRId64 "%s; only its hash is stored, so keep it now:\n%s\n", user,
         hg_role_name(role), info.key_id, expires, key);
  return 0;
}

static const char key_list_header[] = "id\tuser\trole\tcreated\texpires\trevoked\n";

static int print_key(void *ctx, const hg_key_info *k) {
  int *rows = ctx;
  if (!(*rows)++) fputs(key_list_header, stdout); /* with the first row: an unknown user prints only the error */
  char created[32], expires[32] = "never";
  utc_time(k->created_ms, created);
  if (k->expires_ms) utc_time(k->expires_ms, expires);
  printf("%" PRId64 "\t%s\t%s\t%s\t%s\t%s\n", k->key_id, k->user, hg_role_name(k->role), created, expires,
         k->revoked ? "yes" : "no");
  return ferror(stdout) != 0; /* a closed pipe: stop */
}

/* One line per key, tab-separated under a header; names hold no tabs or newlines (the store refuses controls). */
static int keys_list(int argc, char **argv) {
  const char *dir = NULL, *user = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--data-dir")) {
      if (++i >= argc) return cli_error("--data-dir needs a directory"), EXIT_ERROR;
      dir = argv[i];
    } else if (!strcmp(a, "--user")) {
      if (++i >= argc) return cli_error("--user needs a name"), EXIT_ERROR;
      user = argv[i];
    } else {
      return cli_error("keys list: unknown argument '%s'", a), EXIT_ERROR;
    }
  }
  hg_store *store;
  if (open_store(dir, 0, &store)) return EXIT_ERROR;
  hg_error err;
  hg_error_clear(&err);
  int rows = 0;
  hg_status st = hg_store_key_list(store, user, print_key, &rows, &err);
  hg_store_close(store);
  if (st) return cli_error("%s", err.message), EXIT_ERROR;
  if (!rows) fputs(key_list_header, stdout);
  if (fflush(stdout) || ferror(stdout)) return cli_error("cannot write the list: %s", strerror(errno)), EXIT_ERROR;
  return 0;
}

static int keys_revoke(int argc, char **argv) {
  const char *dir = NULL;
  long id = -1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--data-dir")) {
      if (++i >= argc) return cli_error("--data-dir needs a directory"), EXIT_ERROR;
      dir = argv[i];
    } else if (!strcmp(a, "--id")) {
      if (++i >= argc || (id = cli_parse_uint(argv[i], LONG_MAX)) <= 0)
        return cli_error("--id needs a key id (a positive number)"), EXIT_ERROR;
    } else {
      return cli_error("keys revoke: unknown argument '%s'", a), EXIT_ERROR;
    }
  }
  if (id <= 0) return cli_error("keys revoke needs --id N"), EXIT_ERROR;
  hg_store *store;
  if (open_store(dir, 0, &store)) return EXIT_ERROR;
  hg_error err;
  hg_error_clear(&err);
  int rc = 0;
  if (hg_store_key_revoke(store, id, &err)) {
    rc = EXIT_ERROR, cli_error("%s", err.message);
  } else {
    char detail[64];
    snprintf(detail, sizeof detail, "{\"key_id\":%ld}", id);
    printf("revoked key %ld\n", id);
    if (cli_record(store, "cli/key-revoke", "revoked", detail)) rc = EXIT_ERROR;
  }
  hg_store_close(store);
  return rc;
}

int cmd_keys(int argc, char **argv) {
  if (argc < 2) return cli_error("usage: hegui keys create|revoke|list --data-dir DIR ..."), EXIT_ERROR;
  if (!strcmp(argv[1], "create")) return keys_create(argc - 1, argv + 1);
  if (!strcmp(argv[1], "revoke")) return keys_revoke(argc - 1, argv + 1);
  if (!strcmp(argv[1], "list")) return keys_list(argc - 1, argv + 1);
  cli_error("unknown keys command '%s' (create, revoke, list)", argv[1]);
  return EXIT_ERROR;
}

static int audit_verify(int argc, char **argv) {
  const char *dir = NULL;
  int json = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--data-dir")) {
      if (++i >= argc) return cli_error("--data-dir needs a directory"), EXIT_ERROR;
      dir = argv[i];
    } else if (!strcmp(a, "--json")) {
      json = 1;
    } else {
      return cli_error("audit verify: unknown argument '%s'", a), EXIT_ERROR;
    }
  }
  hg_store *store;
  if (open_store(dir, 0, &store)) return EXIT_ERROR;
  hg_audit_check check;
  hg_error err;
  hg_error_clear(&err);
  hg_status st = hg_store_audit_verify(store, &check, &err);
  hg_store_close(store);
  if (st) return cli_error("%s", err.message), EXIT_ERROR;
  if (json) {
    printf("{\"holds\": %s, \"records\": %" PRId64 ", \"first_bad\": ", check.first_bad ? "false" : "true",
           check.records);
    if (check.first_bad) {
      printf("%" PRId64 ", \"problem\": ", check.first_bad);
      cli_json_string(stdout, check.problem, strlen(check.problem));
    } else {
      printf("null, \"problem\": null");
    }
    printf("}\n");
  } else if (check.first_bad) {
    printf("audit chain broken at record %" PRId64 ": %s\n", check.first_bad, check.problem);
  } else {
    printf("audit chain holds: %" PRId64 " records\n", check.records);
  }
  return check.first_bad ? EXIT_FOUND : 0;
}

static void json_field(const char *name, hg_store_text t) {
  printf(", \"%s\": ", name);
  if (t.ptr)
    cli_json_string(stdout, t.ptr, t.len);
  else
    fputs("null", stdout);
}

static int export_row(void *ctx, const hg_audit_row *row) {
  (void)ctx;
  printf("{\"seq\": %" PRId64 ", \"time_ms\": %" PRId64, row->seq, row->time_ms);
  json_field("actor", row->actor);
  json_field("route", row->route);
  json_field("verdict", row->verdict);
  json_field("detail_json", row->detail_json); /* as a string: the exact bytes the hash covers */
  json_field("input_sha256", row->input_sha256);
  json_field("output_sha256", row->output_sha256);
  json_field("text", row->text);
  json_field("prev_hash", row->prev_hash);
  json_field("hash", row->hash);
  /* format 2 hashes text_sha256 in text's place (docs/store.md), so erased text can still be checked */
  printf(", \"format\": %" PRId64, row->format);
  json_field("text_sha256", row->text_sha256);
  fputs("}\n", stdout);
  return ferror(stdout) != 0; /* a closed pipe: stop */
}

static int audit_export(int argc, char **argv) {
  const char *dir = NULL;
  long from = LONG_MIN; /* everything stored, a stray record below seq 1 included */
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--data-dir")) {
      if (++i >= argc) return cli_error("--data-dir needs a directory"), EXIT_ERROR;
      dir = argv[i];
    } else if (!strcmp(a, "--from")) {
      if (++i >= argc || (from = cli_parse_uint(argv[i], LONG_MAX)) < 0)
        return cli_error("--from needs a record number"), EXIT_ERROR;
    } else {
      return cli_error("audit export: unknown argument '%s'", a), EXIT_ERROR;
    }
  }
  hg_store *store;
  if (open_store(dir, 0, &store)) return EXIT_ERROR;
  hg_error err;
  hg_error_clear(&err);
  hg_status st = hg_store_audit_rows(store, from, export_row, NULL, &err);
  hg_store_close(store);
  if (st) return cli_error("%s", err.message), EXIT_ERROR;
  if (fflush(stdout) || ferror(stdout)) return cli_error("cannot write the export: %s", strerror(errno)), EXIT_ERROR;
  return 0;
}

int cmd_audit(int argc, char **argv) {
  if (argc < 2) return cli_error("usage: hegui audit verify|export --data-dir DIR ..."), EXIT_ERROR;
  if (!strcmp(argv[1], "verify")) return audit_verify(argc - 1, argv + 1);
  if (!strcmp(argv[1], "export")) return audit_export(argc - 1, argv + 1);
  cli_error("unknown audit command '%s' (verify, export)", argv[1]);
  return EXIT_ERROR;
}
