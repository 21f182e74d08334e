/* test_config.c — the YAML configuration of docs/config.md: the defaults, examples/hegui.yaml and a file setting
 * every key, each kind of error naming the right line and dotted key (wrong type, out of range, bad enum value,
 * unknown and duplicate keys, invalid YAML), and a configuration left untouched by a file with an error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hegui/complaints.h"
#include "hegui/config.h"
#include "hegui/moderate.h"

#ifndef HG_SOURCE_DIR
#define HG_SOURCE_DIR "."
#endif

static hg_status parse(hg_config *cfg, const char *text, hg_error *err) {
  return hg_config_parse(cfg, text, strlen(text), "t.yaml", err);
}

static void defaults(void **state) {
  (void)state;
  hg_config c;
  hg_config_init(&c);
  assert_string_equal(c.listen, "127.0.0.1:8080");
  assert_int_equal(c.workers, 2);
  assert_int_equal(c.max_body_bytes, 1048576);
  assert_int_equal(c.max_header_bytes, 16384);
  assert_int_equal(c.header_timeout_ms, 10000);
  assert_int_equal(c.body_timeout_ms, 10000);
  assert_int_equal(c.max_streams, 256);
  assert_int_equal(c.drain_timeout_ms, 10000);
  assert_string_equal(c.upstream_url, "http://127.0.0.1:9000");
  assert_string_equal(c.upstream_api_key, "");
  assert_int_equal(c.connect_timeout_ms, 3000);
  assert_int_equal(c.first_byte_timeout_ms, 60000);
  assert_int_equal(c.idle_timeout_ms, 30000);
  assert_string_equal(c.data_dir, "./hegui-data");
  assert_string_equal(c.store_url, "sqlite:./hegui-data/hegui.db");
  assert_string_equal(c.lexicon, "");
  assert_int_equal(c.auth_required, 1);
  assert_int_equal(c.profile, HG_PROFILE_TC260);
  assert_int_equal(c.input_max_turns, 0);
  assert_int_equal(c.input_roles, 3);
  for (int i = 0; i < HG_CATEGORY_COUNT; i++)
    assert_int_equal(c.category_action[i], i == HG_CAT_PII ? HG_VERDICT_REDACT : HG_VERDICT_BLOCK);
  assert_int_equal(c.pii_action, HG_VERDICT_REDACT);
  hg_pii_options o;
  hg_pii_options_init(&o);
  assert_int_equal(c.pii_types, o.types);
  assert_string_equal(c.refusal, "很抱歉，这个问题我无法回答。");
  assert_string_equal(c.label_notice, "本内容由人工智能生成");
  assert_int_equal(c.label_at_end, 1);
  assert_string_equal(c.content_producer, "hegui");
  assert_int_equal(c.retain_text, HG_RETAIN_REDACTED);

  assert_string_equal(hg_profile_name(HG_PROFILE_DRAFT_2023), "draft-2023");
  assert_string_equal(hg_profile_name(HG_PROFILE_INTERIM_2023), "interim-2023");
  assert_string_equal(hg_profile_name(HG_PROFILE_TC260), "tc260");

  /* an empty file, comments only, an empty document and empty sections all mean the defaults */
  static const char *const empty[] = {"", "# nothing\n\n", "---\n", "---\n...\n", "~\n", "limits:\nauth:\n"};
  for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
    hg_config d;
    hg_config_init(&d);
    hg_error err;
    if (parse(&d, empty[i], &err)) fail_msg("'%s': %s", empty[i], err.message);
    assert_memory_equal(&d, &c, sizeof c);
  }
}

static void example_file(void **state) {
  (void)state;
  hg_config c, d;
  hg_config_init(&c);
  hg_config_init(&d);
  hg_error err;
  hg_status s = hg_config_load(&c, HG_SOURCE_DIR "/examples/hegui.yaml", &err);
  if (s) fail_msg("%s", err.message);
  /* the example shows the defaults except where its comments say "not the default" */
  d.category_action[HG_CAT_A4E] = HG_VERDICT_REDACT;
  d.category_action[HG_CAT_A4F] = HG_VERDICT_REDACT;
  assert_memory_equal(&c, &d, sizeof c);

  assert_int_equal(hg_config_load(&c, HG_SOURCE_DIR "/examples/no-such.yaml", &err), HG_ERR_IO);
  assert_non_null(strstr(err.message, "no-such.yaml"));
}

static void every_key(void **state) {
  (void)state;
  const char *text = "listen: '[::1]:9090'\n"
                     "workers: 8\n"
                     "limits:\n"
                     "  max_body_bytes: 2048\n"
                     "  max_header_bytes: 4096\n"
                     "  header_timeout_ms: 1\n"
                     "  body_timeout_ms: 3600000\n"
                     "  max_streams: 7\n"
                     "  drain_timeout_ms: 0\n"
                     "upstream:\n"
                     "  url: https://model.example:8443/base//\n"
                     "  api_key: \"sk-abc_123\"\n"
                     "  connect_timeout_ms: 11\n"
                     "  first_byte_timeout_ms: 12\n"
                     "  idle_timeout_ms: 13\n"
                     "data_dir: /var/lib/hegui\n"
                     "store: postgres://db/hegui\n"
                     "lexicon: /etc/hegui/lex.img\n"
                     "auth: {required: false}\n"
                     "policy:\n"
                     "  profile: interim-2023\n"
                     "  input:\n"
                     "    max_turns: 4\n"
                     "    roles:\n"
                     "      - assistant\n"
                     "      - tool\n"
                     "  actions: {a.1a: allow, A2b: redact, default: redact, pii: block, custom: allow}\n"
                     "  pii_types: [cn_id, EMAIL]\n"
                     "  refusal: |\n"
                     "    不能回答。\n"
                     "    请换个问题。\n"
                     "labels:\n"
                     "  notice: AI合成\n"
                     "  position: start\n"
                     "  producer: corp.example\n"
                     "audit:\n"
                     "  retain_text: full\n"
                     "  batch: true\n";
  hg_config c;
  hg_config_init(&c);
  hg_error err;
  if (parse(&c, text, &err)) fail_msg("%s", err.message);
  assert_string_equal(c.listen, "[::1]:9090");
  assert_int_equal(c.workers, 8);
  assert_int_equal(c.max_body_bytes, 2048);
  assert_int_equal(c.max_header_bytes, 4096);
  assert_int_equal(c.header_timeout_ms, 1);
  assert_int_equal(c.body_timeout_ms, 3600000);
  assert_int_equal(c.max_streams, 7);
  assert_int_equal(c.drain_timeout_ms, 0);
  assert_string_equal(c.upstream_url, "https://model.example:8443/base"); /* trailing slashes dropped */
  assert_string_equal(c.upstream_api_key, "sk-abc_123");
  assert_int_equal(c.connect_timeout_ms, 11);
  assert_int_equal(c.first_byte_timeout_ms, 12);
  assert_int_equal(c.idle_timeout_ms, 13);
  assert_string_equal(c.data_dir, "/var/lib/hegui");
  assert_string_equal(c.store_url, "postgres://db/hegui");
  assert_string_equal(c.lexicon, "/etc/hegui/lex.img");
  assert_int_equal(c.auth_required, 0);
  assert_int_equal(c.profile, HG_PROFILE_INTERIM_2023);
  assert_int_equal(c.input_max_turns, 4);
  assert_int_equal(c.input_roles, 1 << 2 | 1 << 3);
  for (int i = 0; i < HG_CATEGORY_COUNT; i++) {
    hg_verdict_action want = i == HG_CAT_A1A || i == HG_CAT_CUSTOM ? HG_VERDICT_ALLOW
                             : i == HG_CAT_PII                     ? HG_VERDICT_BLOCK
                                                                   : HG_VERDICT_REDACT;
    if (c.category_action[i] != want)
      fail_msg("category %s: %d, want %d", hg_category_code(i), c.category_action[i], want);
  }
  assert_int_equal(c.pii_action, HG_VERDICT_BLOCK);
  assert_int_equal(c.pii_types, 1ull << HG_PII_CN_ID | 1ull << HG_PII_EMAIL);
  assert_string_equal(c.refusal, "不能回答。\n请换个问题。\n");
  assert_string_equal(c.label_notice, "AI合成");
  assert_int_equal(c.label_at_end, 0);
  assert_string_equal(c.content_producer, "corp.example");
  assert_int_equal(c.retain_text, HG_RETAIN_FULL);
  assert_int_equal(c.audit_durability, HG_DURABILITY_GROUP);
}

/* identity, minors, reliance, timezone; the profile's defaults and its 3-month takedown rule */
static void users_sections(void **state) {
  (void)state;
  hg_config c;
  hg_error err;
  hg_config_init(&c);
  assert_int_equal(c.identity_required, -1);
  assert_int_equal(hg_config_identity_required(&c), 0); /* tc260: real names are not a GenAI duty */
  assert_int_equal(hg_config_reminders_all_users(&c), 0);
  assert_int_equal(c.utc_offset_minutes, 480);
  assert_int_equal(c.minors_enabled, 1);
  assert_int_equal(c.minors_daily_minutes, 60);
  assert_int_equal(c.minors_closed_from, 1320);
  assert_int_equal(c.minors_closed_to, 480);
  assert_int_equal(c.reminder_minutes, 120);
  assert_int_equal(c.pause_minutes, 20);
  assert_string_equal(c.idv.url, "");
  assert_string_equal(c.idv.result_path, "result");
  assert_int_equal(parse(&c, "policy: {profile: draft-2023}\n", &err), HG_OK);
  assert_int_equal(hg_config_identity_required(&c), 1);
  assert_int_equal(hg_config_reminders_all_users(&c), 1);
  const char *text = "identity:\n"
                     "  required: false\n"
                     "  key_file: /etc/hegui/id.key\n"
                     "  provider:\n"
                     "    url: https://idv.example/v2/check/\n"
                     "    token: abc.def\n"
                     "    timeout_ms: 2500\n"
                     "    request: {name: xm, id_number: sfzh, phone: ~}\n"
                     "    result_path: data.res\n"
                     "    verified_value: '1'\n"
                     "    rejected_value: '2'\n"
                     "    reason_path: ''\n"
                     "minors: {enabled: false, daily_minutes: 0, daily_requests: 50, closed_hours: '21:30-06:00'}\n"
                     "reliance: {reminder_minutes: 45, pause_minutes: 5, all_users: true, reminder: '休息%d分钟了'}\n"
                     "timezone: '-05:30'\n";
  if (parse(&c, text, &err)) fail_msg("%s", err.message);
  assert_int_equal(hg_config_identity_required(&c), 0);
  assert_string_equal(c.identity_key_file, "/etc/hegui/id.key");
  assert_string_equal(c.idv.url, "https://idv.example/v2/check");
  assert_string_equal(c.idv.token, "abc.def");
  assert_int_equal(c.idv.timeout_ms, 2500);
  assert_string_equal(c.idv.field_name, "xm");
  assert_string_equal(c.idv.field_id_number, "sfzh");
  assert_string_equal(c.idv.field_phone, "");
  assert_string_equal(c.idv.result_path, "data.res");
  assert_string_equal(c.idv.verified_value, "1");
  assert_string_equal(c.idv.rejected_value, "2");
  assert_string_equal(c.idv.reason_path, "");
  assert_int_equal(c.minors_enabled, 0);
  assert_int_equal(c.minors_daily_minutes, 0);
  assert_int_equal(c.minors_daily_requests, 50);
  assert_int_equal(c.minors_closed_from, 21 * 60 + 30);
  assert_int_equal(c.minors_closed_to, 360);
  assert_int_equal(c.reminder_minutes, 45);
  assert_int_equal(c.pause_minutes, 5);
  assert_int_equal(hg_config_reminders_all_users(&c), 1);
  assert_string_equal(c.reminder_text, "休息%d分钟了");
  assert_int_equal(c.utc_offset_minutes, -330);
  assert_int_equal(parse(&c, "minors: {closed_hours: none}\ntimezone: UTC\n", &err), HG_OK);
  assert_int_equal(c.minors_closed_from, c.minors_closed_to);
  assert_int_equal(c.utc_offset_minutes, 0);

  static const struct {
    const char *text, *want;
  } bad[] = {
      {"minors:\n  closed_hours: 22-8\n", "t.yaml:2: minors.closed_hours: expected \"HH:MM-HH:MM\""},
      {"minors:\n  closed_hours: '22:00-22:00'\n", "t.yaml:2: minors.closed_hours"},
      {"minors:\n  closed_hours: '25:00-08:00'\n", "t.yaml:2: minors.closed_hours"},
      {"timezone: '+8'\n", "t.yaml:1: timezone: expected a UTC offset"},
      {"timezone: '+15:00'\n", "t.yaml:1: timezone"},
      {"identity: {required: maybe}\n", "t.yaml:1: identity.required: expected auto, false or true"},
      {"identity:\n  provider: {url: ftp://x}\n", "t.yaml:2: identity.provider.url"},
      {"identity:\n  provider: {result_path: a..b}\n", "t.yaml:2: identity.provider.result_path"},
      {"identity:\n  provider: {verified_value: ''}\n", "t.yaml:2: identity.provider.verified_value"},
      {"reliance: {reminder: '%s'}\n", "t.yaml:1: reliance.reminder: the only placeholder is %d"},
      {"reliance: {reminder: '%d %d'}\n", "t.yaml:1: reliance.reminder: use %d at most once"},
      {"reliance: {pause_minutes: 0}\n", "t.yaml:1: reliance.pause_minutes"},
      {"policy: {profile: draft-2023}\ntakedowns: {keep_days: 30}\n", "3 months profile draft-2023 requires"},
      {"review: {sample_rate: 1.5}\n", "t.yaml:1: review.sample_rate: expected a share between 0 and 1"},
      {"review: {sample_rate: '0.1'}\n", "t.yaml:1: review.sample_rate"},
      {"review: {sample_rat: 0.1}\n", "did you mean"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    hg_config d;
    hg_config_init(&d);
    if (parse(&d, bad[i].text, &err) == HG_OK) fail_msg("accepted: %s", bad[i].text);
    if (!strstr(err.message, bad[i].want)) fail_msg("'%s': got '%s', want '%s'", bad[i].text, err.message, bad[i].want);
  }
  /* draft-2023 with takedowns kept for good, or 90 days and more, is fine; other profiles take any value */
  hg_config_init(&c);
  assert_int_equal(parse(&c, "policy: {profile: draft-2023}\ntakedowns: {keep_days: 0}\n", &err), HG_OK);
  assert_int_equal(parse(&c, "takedowns: {keep_days: 90}\n", &err), HG_OK);
  hg_config_init(&c);
  assert_int_equal(parse(&c, "takedowns: {keep_days: 30}\n", &err), HG_OK);
  /* complaints.due_hours has a key for every complaint type, at the type's index (the store's table is the one
   * list of types; the configuration's keys must follow it) */
  for (int t = 0; t < HG_COMPLAINT_TYPES; t++) {
    char yaml[160];
    snprintf(yaml, sizeof yaml, "complaints:\n  due_hours:\n    %s: %d\n", hg_complaint_type_name((hg_complaint_type)t),
             700 + t);
    hg_config_init(&c);
    if (parse(&c, yaml, &err)) fail_msg("%s: %s", yaml, err.message);
    for (int u = 0; u < HG_COMPLAINT_TYPES; u++)
      if ((c.complaint_due_hours[u] == (unsigned)(700 + t)) != (u == t))
        fail_msg("due_hours of type %d set index %d", t, u);
  }
  /* the review sample: 1% by default, any share from 0 (none) to 1 (every allowed answer) */
  hg_config_init(&c);
  assert_true(c.review_sample_rate == 0.01);
  assert_int_equal(parse(&c, "review: {sample_rate: 0}\n", &err), HG_OK);
  assert_true(c.review_sample_rate == 0.0);
  assert_int_equal(parse(&c, "review: {sample_rate: 0.25}\n", &err), HG_OK);
  assert_true(c.review_sample_rate == 0.25);
  /* versions: applied at once and a weekly lexicon by default; a layer parsed over a file keeps what it leaves out */
  hg_config_init(&c);
  assert_int_equal(c.versions_require_approval, 0);
  assert_int_equal(c.lexicon_max_age_days, 7);
  assert_int_equal(parse(&c, "versions:\n  require_approval: true\n  lexicon_max_age_days: 14\n", &err), HG_OK);
  assert_int_equal(parse(&c, "policy:\n  refusal: \"x\"\n", &err), HG_OK);
  assert_int_equal(c.versions_require_approval, 1);
  assert_int_equal(c.lexicon_max_age_days, 14);
  assert_string_equal(c.refusal, "x");
  assert_int_equal(parse(&c, "versions: {lexicon_max_age_days: 0}\n", &err), HG_OK);
  assert_int_equal(c.lexicon_max_age_days, 0);
  assert_int_not_equal(parse(&c, "versions: {lexicon_max_age_days: 4000}\n", &err), HG_OK);
  assert_non_null(strstr(err.message, "versions.lexicon_max_age_days"));
  assert_int_not_equal(parse(&c, "versions: {require_aproval: true}\n", &err), HG_OK);
  assert_non_null(strstr(err.message, "did you mean 'versions.require_approval'"));
}

static void store_follows_data_dir(void **state) {
  (void)state;
  hg_config c;
  hg_error err;
  hg_config_init(&c);
  assert_int_equal(parse(&c, "data_dir: /srv/h\n", &err), HG_OK);
  assert_string_equal(c.store_url, "sqlite:/srv/h/hegui.db");
  /* a second file over the first: the store still follows, until it is set apart */
  assert_int_equal(parse(&c, "data_dir: /srv/i\n", &err), HG_OK);
  assert_string_equal(c.store_url, "sqlite:/srv/i/hegui.db");
  assert_int_equal(parse(&c, "store: sqlite:/db/x.db\n", &err), HG_OK);
  assert_int_equal(parse(&c, "data_dir: /srv/j\n", &err), HG_OK);
  assert_string_equal(c.store_url, "sqlite:/db/x.db");

  /* null and quoted-empty strings */
  hg_config_init(&c);
  assert_int_equal(parse(&c, "lexicon: x\n", &err), HG_OK);
  assert_int_equal(parse(&c, "lexicon:\nupstream: {api_key: ''}\n", &err), HG_OK);
  assert_string_equal(c.lexicon, "");
  /* the actions' default leaves pii alone; pii alone leaves the others */
  hg_config_init(&c);
  assert_int_equal(parse(&c, "policy: {actions: {default: allow}}\n", &err), HG_OK);
  assert_int_equal(c.category_action[HG_CAT_A3C], HG_VERDICT_ALLOW);
  assert_int_equal(c.category_action[HG_CAT_CUSTOM], HG_VERDICT_ALLOW);
  assert_int_equal(c.category_action[HG_CAT_PII], HG_VERDICT_REDACT);
  assert_int_equal(c.pii_action, HG_VERDICT_REDACT);
  hg_config_init(&c);
  assert_int_equal(parse(&c, "policy: {actions: {pii: allow}, pii_types: []}\n", &err), HG_OK);
  assert_int_equal(c.category_action[HG_CAT_A3C], HG_VERDICT_BLOCK);
  assert_int_equal(c.category_action[HG_CAT_PII], HG_VERDICT_ALLOW);
  assert_int_equal(c.pii_action, HG_VERDICT_ALLOW);
  assert_int_equal(c.pii_types, 0);
}

typedef struct bad_case {
  const char *yaml;
  const char *message; /* the whole message */
} bad_case;

static const bad_case bad_cases[] = {
    /* wrong types */
    {"workers: two\n", "t.yaml:1: workers: expected a whole number (1-256)"},
    {"workers: \"2\"\n", "t.yaml:1: workers: expected a whole number (1-256)"},
    {"workers: [2]\n", "t.yaml:1: workers: expected a whole number (1-256)"},
    {"limits: 5\n", "t.yaml:1: limits: expected a mapping of keys"},
    {"listen:\n  host: x\n", "t.yaml:2: listen: expected a string"},
    {"auth:\n  required: yes\n", "t.yaml:2: auth.required: expected true or false"},
    {"policy:\n  input:\n    roles: user\n", "t.yaml:3: policy.input.roles: expected a list, e.g. [a, b]"},
    {"- listen\n", "t.yaml:1: expected a mapping of keys"},
    {"[a, b]: 1\n", "t.yaml:1: keys must be plain names"},
    /* numbers out of range */
    {"workers: 0\n", "t.yaml:1: workers: expected a whole number (1-256)"},
    {"workers: -1\n", "t.yaml:1: workers: expected a whole number (1-256)"},
    {"workers: 99999999999999999999999\n", "t.yaml:1: workers: expected a whole number (1-256)"},
    {"limits:\n  max_body_bytes: 1023\n",
     "t.yaml:2: limits.max_body_bytes: expected a whole number of bytes (1024-1073741824)"},
    {"# comment\n\nlisten: 127.0.0.1:8080\nworkers: 2\nlimits:\n  max_streams: 10\n\ndata_dir: ./d\n"
     "auth:\n  required: true\nupstream:\n  connect_timeout_ms: 3600001\n",
     "t.yaml:12: upstream.connect_timeout_ms: expected a whole number of milliseconds (1-3600000)"},
    {"upstream: {idle_timeout_ms: 0}\n",
     "t.yaml:1: upstream.idle_timeout_ms: expected a whole number of milliseconds (1-3600000)"},
    {"policy:\n  input: {max_turns: 1.5}\n", "t.yaml:2: policy.input.max_turns: expected a whole number (0-1000000)"},
    /* enum values */
    {"policy:\n  profile: tc261\n", "t.yaml:2: policy.profile: expected draft-2023, interim-2023 or tc260"},
    {"policy:\n  actions:\n    A1a: deny\n", "t.yaml:3: policy.actions.A1a: expected allow, redact, block or review"},
    {"policy:\n  rules:\n    - name: qq\n      pattern: 'qq\\d+'\n",
     "t.yaml:4: policy.rules[0].pattern: rule 'qq': pattern is unbounded at offset 4 ('+'); write {1,20} instead"},
    {"policy:\n  rules:\n    - {name: a, pattern: 'x', categroy: A1a}\n",
     "t.yaml:3: unknown key 'policy.rules[0].categroy' (did you mean 'policy.rules[0].category'?)"},
    {"policy:\n  rules:\n    - {name: a, pattern: 'x', action: deny}\n",
     "t.yaml:3: policy.rules[0].action: expected block, review, redact or log"},
    {"policy:\n  rules:\n    - {name: a}\n", "t.yaml:3: policy.rules[0]: a rule needs a name and a pattern"},
    {"policy:\n  rules:\n    - {name: a, pattern: x}\n    - {name: a, pattern: y}\n",
     "t.yaml:4: policy.rules[1]: a second rule named 'a' (first at line 3)"},
    {"policy:\n  actions:\n    A9z: block\n",
     "t.yaml:3: policy.actions.A9z: unknown risk code (expected A1a-A5b as in TC260-003, pii, custom or default)"},
    {"policy:\n  input:\n    roles: [user, admin]\n",
     "t.yaml:3: policy.input.roles[1]: expected user, system, assistant or tool"},
    {"policy: {input: {roles: []}}\n",
     "t.yaml:1: policy.input.roles: expected at least one of user, system, assistant or tool"},
    {"policy:\n  pii_types:\n    - cn_id\n    - phone\n",
     "t.yaml:4: policy.pii_types[1]: expected a PII type name such as cn_id, mobile or email (docs/pii.md)"},
    {"labels: {position: middle}\n", "t.yaml:1: labels.position: expected start or end"},
    {"audit:\n  retain_text: all\n", "t.yaml:2: audit.retain_text: expected redacted, none or full"},
    /* value rules */
    {"listen: localhost\n", "t.yaml:1: listen: expected HOST:PORT, e.g. 127.0.0.1:8080, 0.0.0.0:8080 or [::1]:8080"},
    {"listen: '::1:8080'\n", "t.yaml:1: listen: expected HOST:PORT with an IPv6 address in brackets, e.g. [::1]:8080"},
    {"listen: 127.0.0.1:65536\n", "t.yaml:1: listen: expected HOST:PORT with a port from 1 to 65535"},
    {"upstream: {url: ftp://x}\n",
     "t.yaml:1: upstream.url: expected an http:// or https:// URL without spaces, e.g. http://127.0.0.1:9000"},
    {"upstream: {api_key: 'a b'}\n",
     "t.yaml:1: upstream.api_key: expected printable ASCII without spaces (it is sent in an HTTP header)"},
    {"data_dir: ''\n", "t.yaml:1: data_dir: expected a path (not empty, no control characters)"},
    {"policy: {refusal: ''}\n", "t.yaml:1: policy.refusal: expected the text to answer with (not empty)"},
    {"labels:\n  notice: 由模型生成\n",
     "t.yaml:2: labels.notice: expected a notice that says 人工智能 or AI and 生成 or 合成 (GB 45438), e.g. "
     "本内容由人工智能生成"},
    {"labels:\n  producer: he gui\n",
     "t.yaml:2: labels.producer: expected printable ASCII without space, '\"' or '\\' (GB 45438 Appendix E), e.g. "
     "hegui"},
    {"labels:\n  producer: "
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
     "t.yaml:2: labels.producer: longer than 127 bytes"},
    {"lexicon: \"a\\0b\"\n", "t.yaml:1: lexicon: a string may not hold a NUL character"},
    /* unknown and duplicate keys */
    {"upstrem:\n  url: http://x\n", "t.yaml:1: unknown key 'upstrem' (did you mean 'upstream'?)"},
    {"upstream:\n  url: http://x\n  conect_timeout_ms: 5\n",
     "t.yaml:3: unknown key 'upstream.conect_timeout_ms' (did you mean 'upstream.connect_timeout_ms'?)"},
    {"colour: blue\n", "t.yaml:1: unknown key 'colour'"},
    {"Listen: 127.0.0.1:1\n", "t.yaml:1: unknown key 'Listen' (did you mean 'listen'?)"},
    {"listen: 127.0.0.1:1\nworkers: 2\nlisten: 127.0.0.1:2\n", "t.yaml:3: listen: duplicate key (first at line 1)"},
    {"limits:\n  max_streams: 1\nlimits:\n  max_streams: 2\n", "t.yaml:3: limits: duplicate key (first at line 1)"},
    {"policy:\n  actions:\n    A1a: block\n    a.1A: allow\n",
     "t.yaml:4: policy.actions.a.1A: duplicate key (first at line 3)"},
    /* invalid YAML, in libyaml's words */
    {"listen: a: b\n", "t.yaml:1: invalid YAML: mapping values are not allowed in this context"},
    {"limits:\n\tmax_streams: 3\n", "t.yaml:2: invalid YAML: found character that cannot start any token (while "
                                    "scanning for the next token); YAML indents with spaces, not tabs"},
    {"workers: 2\npolicy: {profile: tc260\n",
     "t.yaml:3: invalid YAML: did not find expected ',' or '}' (while parsing a flow mapping at line 2)"},
    {"workers: 2\nlisten: \"\xff\"\n", "t.yaml:2: invalid YAML: invalid leading UTF-8 octet"},
    {"workers: 2\n---\nworkers: 3\n", "t.yaml:2: a second YAML document (one file, one configuration)"},
    {"workers: &w 2\nmax: *w\n", "t.yaml:2: aliases (*w) are not supported in a hegui configuration"},
    {"a: [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]\n", "t.yaml:1: nested more than 16 levels deep"},
};

static void policy_rules(void **state) {
  (void)state;
  hg_config c;
  hg_config_init(&c);
  hg_error err;
  hg_error_clear(&err);
  const char *y = "policy:\n  rules:\n    - {name: qq, pattern: 'qq\\d{5,11}', category: A4b, action: review}\n"
                  "    - name: wx\n      pattern: '(?:微信|vx)[:：]?[a-z0-9_-]{6,20}'\n";
  assert_int_equal(parse(&c, y, &err), HG_OK);
  assert_int_equal(c.rule_count, 2);
  assert_string_equal(c.rules[0].name, "qq");
  assert_string_equal(c.rules[0].pattern, "qq\\d{5,11}");
  assert_int_equal(c.rules[0].category, HG_CAT_A4B);
  assert_int_equal(c.rules[0].action, HG_ACTION_REVIEW);
  assert_int_equal(c.rules[1].category, HG_CAT_CUSTOM);
  assert_int_equal(c.rules[1].action, HG_ACTION_BLOCK);
  hg_policy *p;
  assert_int_equal(hg_policy_from_config(&c, &p, &err), HG_OK);
  assert_int_equal(hg_regex_set_count(hg_policy_rules(p)), 2);
  hg_policy_unref(p);
}

static void errors_name_line_and_key(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
    hg_config c;
    hg_config_init(&c);
    hg_error err;
    hg_error_clear(&err);
    hg_status s = parse(&c, bad_cases[i].yaml, &err);
    if (s == HG_OK) fail_msg("case %zu accepted:\n%s", i, bad_cases[i].yaml);
    if (strcmp(err.message, bad_cases[i].message) != 0)
      fail_msg("case %zu:\n%s\n  got  '%s'\n  want '%s'", i, bad_cases[i].yaml, err.message, bad_cases[i].message);
    /* the line is also in the record, for callers that point at it */
    char want_prefix[32];
    snprintf(want_prefix, sizeof want_prefix, "t.yaml:%zu:", err.line);
    assert_int_equal(strncmp(err.message, want_prefix, strlen(want_prefix)), 0);
  }
}

static void unchanged_on_error(void **state) {
  (void)state;
  hg_config before, c;
  hg_error err;
  hg_config_init(&c);
  assert_int_equal(parse(&c, "workers: 5\nlabels: {notice: AI生成}\n", &err), HG_OK);
  memcpy(&before, &c, sizeof c);
  /* the first keys are good and would change c; the error comes last */
  const char *text = "workers: 9\n"
                     "data_dir: /elsewhere\n"
                     "policy:\n"
                     "  actions: {default: allow}\n"
                     "  pii_types: [email]\n"
                     "labels: {notice: AI合成, producer: x}\n"
                     "audit: {retain_text: forever}\n";
  assert_int_equal(parse(&c, text, &err), HG_ERR_PARSE);
  assert_string_equal(err.message, "t.yaml:7: audit.retain_text: expected redacted, none or full");
  assert_int_equal(err.line, 7);
  assert_memory_equal(&c, &before, sizeof c);
  /* invalid YAML after good keys */
  assert_int_equal(parse(&c, "workers: 9\nlisten: [\n", &err), HG_ERR_PARSE);
  assert_memory_equal(&c, &before, sizeof c);
  /* a file that is too large */
  size_t big = (1u << 20) + 1;
  char *huge = malloc(big);
  memset(huge, '#', big);
  assert_int_equal(hg_config_parse(&c, huge, big, "big.yaml", &err), HG_ERR_LIMIT);
  free(huge);
  assert_memory_equal(&c, &before, sizeof c);
}

/* libyaml counts characters; the error record holds the byte offset, past Chinese text and a byte order mark */
static void offsets_are_bytes(void **state) {
  (void)state;
  hg_config c;
  hg_error err;
  const char *texts[] = {"labels: {notice: 本内容由人工智能生成}\nworkers: x\n",
                         "\xEF\xBB\xBFlabels: {notice: 本内容由人工智能生成}\nworkers: x\n",
                         "labels: {notice: 本内容由人工智能生成}\nlimits:\n\tmax_streams: 3\n"};
  const char *at[] = {"x\n", "x\n", "\t"};
  for (size_t i = 0; i < 3; i++) {
    hg_config_init(&c);
    assert_int_equal(parse(&c, texts[i], &err), HG_ERR_PARSE);
    assert_int_equal(err.offset, (size_t)(strstr(texts[i], at[i]) - texts[i]));
  }
  assert_non_null(strstr(err.message, "YAML indents with spaces, not tabs"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(defaults),           cmocka_unit_test(example_file),
      cmocka_unit_test(every_key),          cmocka_unit_test(store_follows_data_dir),
      cmocka_unit_test(users_sections),     cmocka_unit_test(errors_name_line_and_key),
      cmocka_unit_test(unchanged_on_error), cmocka_unit_test(offsets_are_bytes),
      cmocka_unit_test(policy_rules),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
