/* identity_cmd.c — `hegui identity check` and `hegui identity verify`: the real-name checks and the provider call of
 * the gateway, run by hand, so that an operator can try a provider's configuration (and the tests can drive
 * idv_verify) without a gateway. Exit status: 0 valid / verified, 1 refused / rejected / undecided, 2 error. */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "cli/cli.h"
#include "gateway/idv.h"
#include "hegui/identity.h"

/* Today's date in China Standard Time, as YYYYMMDD. */
static unsigned today_cst(void) {
  time_t now = (time_t)(hg_clock_wall_ms() / 1000) + 8 * 3600;
  struct tm tm;
  gmtime_r(&now, &tm);
  return (unsigned)((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday);
}

typedef struct identity_args {
  const char *name, *id_number, *phone;
  unsigned today;
} identity_args;

/* Takes --name, --id, --phone and --today; returns 1 when argv[*i] was one of them, -1 on a missing value. */
static int take_identity_arg(int argc, char **argv, int *i, identity_args *a) {
  const char *opt = argv[*i];
  const char **slot = !strcmp(opt, "--name")    ? &a->name
                      : !strcmp(opt, "--id")    ? &a->id_number
                      : !strcmp(opt, "--phone") ? &a->phone
                                                : NULL;
  if (!slot && strcmp(opt, "--today")) return 0;
  if (++*i >= argc) return cli_error("%s needs a value", opt), -1;
  if (slot) {
    *slot = argv[*i];
    return 1;
  }
  long v = cli_parse_uint(argv[*i], 99991231);
  if (v < 19000101) return cli_error("--today needs a date as YYYYMMDD"), -1;
  a->today = (unsigned)v;
  return 1;
}

/* Normalises and checks the fields; prints the message and returns non-zero when they are refused. */
static int checked_fields(const identity_args *a, hg_identity_fields *f, int64_t *adult_from_ms) {
  hg_error err;
  hg_error_clear(&err);
  if (!a->name || !a->id_number) return cli_error("give --name and --id"), EXIT_ERROR;
  if (hg_identity_fields_set(f, a->name, a->id_number, a->phone, &err) ||
      hg_identity_check(f, a->today ? a->today : today_cst(), adult_from_ms, &err))
    return cli_error("%s", err.message), EXIT_FOUND;
  return 0;
}

static int identity_check(int argc, char **argv) {
  identity_args a = {0};
  for (int i = 1; i < argc; i++) {
    int took = take_identity_arg(argc, argv, &i, &a);
    if (took < 0) return EXIT_ERROR;
    if (!took) return cli_error("identity check: unknown argument '%s'", argv[i]), EXIT_ERROR;
  }
  hg_identity_fields f;
  int64_t adult_from_ms = 0;
  int rc = checked_fields(&a, &f, &adult_from_ms);
  if (rc) return rc;
  time_t adult_day = (time_t)(adult_from_ms / 1000 + 8 * 3600);
  struct tm tm;
  gmtime_r(&adult_day, &tm);
  fputs("{\"name\": ", stdout);
  cli_json_string(stdout, f.name, strlen(f.name));
  printf(", \"id_number\": \"%s\", \"phone\": \"%s\", \"adult_from_ms\": %lld, \"adult_from\": "
         "\"%04d-%02d-%02dT00:00+08:00\"}\n",
         f.id_number, f.phone, (long long)adult_from_ms, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  return 0;
}

/* --set KEY=VALUE with the names of the configuration (identity.provider.*). */
static int set_provider_option(hg_idv_config *c, const char *assignment) {
  const char *eq = strchr(assignment, '=');
  if (!eq) return cli_error("--set needs KEY=VALUE"), -1;
  size_t klen = (size_t)(eq - assignment);
  const char *value = eq + 1;
  struct {
    const char *key;
    char *field;
    size_t size;
  } fields[] = {
      {"url", c->url, sizeof c->url},
      {"token", c->token, sizeof c->token},
      {"request.name", c->field_name, sizeof c->field_name},
      {"request.id_number", c->field_id_number, sizeof c->field_id_number},
      {"request.phone", c->field_phone, sizeof c->field_phone},
      {"result_path", c->result_path, sizeof c->result_path},
      {"verified_value", c->verified_value, sizeof c->verified_value},
      {"rejected_value", c->rejected_value, sizeof c->rejected_value},
      {"reason_path", c->reason_path, sizeof c->reason_path},
  };
  if (klen == strlen("timeout_ms") && !memcmp(assignment, "timeout_ms", klen)) {
    long v = cli_parse_uint(value, 600000);
    if (v <= 0) return cli_error("timeout_ms needs 1 to 600000"), -1;
    c->timeout_ms = (unsigned)v;
    return 0;
  }
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    if (klen != strlen(fields[i].key) || memcmp(assignment, fields[i].key, klen)) continue;
    if (strlen(value) >= fields[i].size)
      return cli_error("%s: longer than %zu bytes", fields[i].key, fields[i].size - 1), -1;
    memcpy(fields[i].field, value, strlen(value) + 1);
    return 0;
  }
  return cli_error("--set: unknown key '%.*s'", (int)klen, assignment), -1;
}

static int identity_verify(int argc, char **argv) {
  identity_args a = {0};
  hg_idv_config c;
  hg_idv_config_init(&c);
  const char *token = getenv("HEGUI_IDV_TOKEN");
  if (token && strlen(token) < sizeof c.token) memcpy(c.token, token, strlen(token) + 1);
  for (int i = 1; i < argc; i++) {
    int took = take_identity_arg(argc, argv, &i, &a);
    if (took < 0) return EXIT_ERROR;
    if (took) continue;
    const char *opt = argv[i];
    const char *key = !strcmp(opt, "--url") ? "url" : !strcmp(opt, "--timeout-ms") ? "timeout_ms" : NULL;
    if (!key && strcmp(opt, "--set")) return cli_error("identity verify: unknown argument '%s'", opt), EXIT_ERROR;
    if (++i >= argc) return cli_error("%s needs a value", opt), EXIT_ERROR;
    char assignment[1024];
    if (key)
      snprintf(assignment, sizeof assignment, "%s=%s", key, argv[i]);
    else
      snprintf(assignment, sizeof assignment, "%s", argv[i]);
    if (set_provider_option(&c, assignment)) return EXIT_ERROR;
  }
  if (!c.url[0]) return cli_error("identity verify needs --url URL"), EXIT_ERROR;
  hg_identity_fields f;
  int rc = checked_fields(&a, &f, NULL);
  if (rc) return rc == EXIT_FOUND ? EXIT_ERROR : rc; /* nothing was asked of the provider */

  curl_global_init(CURL_GLOBAL_DEFAULT);
  hg_idv_result result;
  char reason[256];
  hg_error err;
  hg_error_clear(&err);
  hg_status st = idv_verify(&c, &f, &result, reason, &err);
  curl_global_cleanup();
  if (st) return cli_error("%s", err.message), EXIT_ERROR;
  static const char *const names[] = {"verified", "rejected", "undecided"};
  printf("{\"result\": \"%s\", \"reason\": ", names[result]);
  cli_json_string(stdout, reason, strlen(reason));
  fputs("}\n", stdout);
  return result == HG_IDV_VERIFIED ? 0 : EXIT_FOUND;
}

int cmd_identity(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "check")) return identity_check(argc - 1, argv + 1);
  if (argc >= 2 && !strcmp(argv[1], "verify")) return identity_verify(argc - 1, argv + 1);
  cli_error("usage: hegui identity check|verify ... (see hegui help)");
  return EXIT_ERROR;
}
