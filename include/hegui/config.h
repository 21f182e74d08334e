/* hegui/config.h — the gateway's configuration: YAML (docs/config.md), every key checked at start, errors naming
 * the key and the line. Defaults make `hegui serve` run with no file at all. */
#ifndef HEGUI_CONFIG_H
#define HEGUI_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "hegui/lexicon.h"
#include "hegui/pii.h"
#include "hegui/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hg_profile { HG_PROFILE_DRAFT_2023, HG_PROFILE_INTERIM_2023, HG_PROFILE_TC260 } hg_profile;
const char *hg_profile_name(hg_profile p);

typedef enum hg_retention { HG_RETAIN_REDACTED, HG_RETAIN_NONE, HG_RETAIN_FULL } hg_retention;

/* policy.actions values; review lets the text through and queues it for a person (hegui/moderate.h) */
typedef enum hg_verdict_action {
  HG_VERDICT_ALLOW,
  HG_VERDICT_REDACT,
  HG_VERDICT_BLOCK,
  HG_VERDICT_REVIEW
} hg_verdict_action;

/* policy.rules: an operator rule as a regular expression (docs/rules.md). */
#define HG_CONFIG_MAX_RULES 64
typedef struct hg_config_rule {
  char name[64];
  char pattern[1024];
  hg_category category; /* default custom */
  hg_action action;     /* block (default), review, redact or log */
  size_t line, pattern_line;
} hg_config_rule;

/* classifier.thresholds: a label (its name or its code) and the threshold the policy applies to it. */
#define HG_CONFIG_MAX_THRESHOLDS 64
typedef struct hg_config_threshold {
  char label[64];
  float value; /* [0, 1] */
  size_t line;
} hg_config_threshold;

/* guard: an external guard model (docs/guard.md). */
#define HG_CONFIG_MAX_GUARD_CATEGORIES 32
#define HG_CONFIG_MAX_GUARD_POLICIES 8
/* When the record of an answer is on disk, relative to the answer's last byte (audit.durability). */
typedef enum hg_durability {
  HG_DURABILITY_SYNC = 0,  /* the worker appends and syncs the record, then sends the last byte */
  HG_DURABILITY_GROUP = 1, /* the writer thread commits many records with one sync; the last byte waits for it */
  HG_DURABILITY_ASYNC = 2  /* the last byte goes at once; the record follows (a crash can lose the last moments) */
} hg_durability;

/* The identity-verification provider (docs/identity.md; its protocol in hegui/identity.h). */
typedef struct hg_idv_config {
  char url[512];       /* POST target; "" = no provider (submissions stay pending for a reviewer) */
  char token[256];     /* sent as "Authorization: Bearer <token>" when not "" */
  unsigned timeout_ms; /* whole call, default 5000 */
  char field_name[64]; /* request member names; "" = field not sent. Defaults: name, id_number, phone */
  char field_id_number[64];
  char field_phone[64];
  char result_path[128];   /* dotted path of the verdict in the answer, default "result" ("data.result" etc.) */
  char verified_value[64]; /* verdict meaning verified, default "verified" (compared as string; numbers and */
  char rejected_value[64]; /* booleans in the answer are compared by their JSON text: 1, true). default "rejected" */
  char reason_path[128];   /* dotted path of the provider's reason, default "reason"; "" = none */
} hg_idv_config;

void hg_idv_config_init(hg_idv_config *c); /* the defaults above, url "" */

typedef struct hg_guard_config {
  char url[512]; /* base URL of an OpenAI-compatible server; "" (default): no guard */
  char api_key[256];
  char model[128];         /* the model name sent; default the format's name */
  int format;              /* hg_guard_format (hegui/guard.h), default qwen3guard */
  int input, output;       /* judge prompts / answers; default 1, 1 */
  int images;              /* the guard sees images (a vision model): image parts of prompts go to it; default 0 */
  int stream_at_end;       /* guard.stream: sentence (0, default: each sentence held until judged) or end (1) */
  unsigned timeout_ms;     /* per call, default 3000 */
  unsigned retries;        /* after a failed call, default 1 */
  unsigned max_concurrent; /* calls in flight in the whole gateway, default 16; beyond: a failure (on_error) */
  unsigned cache_entries;  /* verdicts kept by content hash, default 4096; 0: none */
  int on_error_block;      /* on_error: allow (0, default: fail open) or block (1: fail closed) */
  hg_action action;        /* what an unsafe verdict does under policy.actions: block (default), review, log */
  hg_action controversial; /* Qwen3Guard's Controversial: review (default), block or log */
  float threshold;         /* ShieldGemma's P(Yes) at or above which it is unsafe, default 0.5 */
  char prompt[2048];       /* judge: the system prompt ("" = hegui's) */
  struct hg_guard_category_map {
    char name[48];
    hg_category category;
    size_t line;
  } categories[HG_CONFIG_MAX_GUARD_CATEGORIES]; /* guard category -> risk code, over the format's defaults */
  unsigned category_count;
  struct hg_guard_policy {
    char name[48];                          /* the guard category it reports (mapped like the others) */
    char text[512];                         /* the principle ShieldGemma is asked about */
  } policies[HG_CONFIG_MAX_GUARD_POLICIES]; /* shieldgemma: one call each; none = the four harm types */
  unsigned policy_count;
} hg_guard_config;

/* webhooks: notifications to the operator's own systems (docs/workflows.md, "Notifications"). */
#define HG_CONFIG_MAX_WEBHOOKS 8
typedef struct hg_webhook_config {
  char url[512];          /* http:// or https://, POSTed to as it is (no redirects followed) */
  char secret[256];       /* the HMAC-SHA256 key of X-Hegui-Signature, at least 16 bytes */
  unsigned events;        /* bit mask of (1 << hg_webhook_event) (hegui/webhooks.h); default all */
  unsigned timeout_ms;    /* the whole call, default 5000 */
  unsigned max_attempts;  /* attempts before a delivery is failed, default 8 */
  unsigned retry_base_ms; /* the wait after the first failed attempt, doubled after each, default 1000 */
  unsigned retry_max_ms;  /* the longest wait between attempts, default 600000 (10 minutes) */
  size_t line;
} hg_webhook_config;

typedef struct hg_config {
  /* server */
  char listen[128];                            /* "127.0.0.1:8080" */
  unsigned workers;                            /* event-loop threads, default 2 */
  size_t max_body_bytes;                       /* default 1 MiB */
  size_t max_header_bytes;                     /* default 16 KiB */
  unsigned header_timeout_ms, body_timeout_ms; /* default 10000 each */
  unsigned max_streams;                        /* concurrent streamed answers per worker, default 256 */
  unsigned drain_timeout_ms;                   /* graceful shutdown, default 10000 */
  /* upstream */
  char upstream_url[512]; /* base URL, e.g. http://127.0.0.1:9000 (the /v1/... path is appended) */
  char upstream_api_key[256];
  unsigned connect_timeout_ms, first_byte_timeout_ms, idle_timeout_ms; /* default 3000, 60000, 30000 */
  /* state */
  char data_dir[512];  /* default ./hegui-data: store, label keys, pseudonym key */
  char store_url[600]; /* default sqlite:<data_dir>/hegui.db */
  char lexicon[512];   /* lexicon file or image; empty = the starter lexicon */
  int auth_required;   /* default 1: requests need an API key */
  /* policy */
  hg_profile profile;       /* default tc260 */
  unsigned input_max_turns; /* last N messages are moderated, default 0 = all */
  int input_roles;          /* bit 0 user, 1 system, 2 assistant, 3 tool; default user|system */
  hg_verdict_action category_action[HG_CATEGORY_COUNT]; /* default: block for lexicon categories */
  hg_verdict_action pii_action;                         /* default redact */
  uint64_t pii_types;                                   /* default: hg_pii_options_init's */
  char refusal[1024];                                   /* 代答 text for a blocked prompt or answer */
  hg_config_rule rules[HG_CONFIG_MAX_RULES];            /* policy.rules */
  unsigned rule_count;
  int allow_empty_lexicon; /* policy.allow_empty_lexicon, default 0: a lexicon of no entries is refused */
  /* the learned classifier (docs/classifier.md, docs/moderation.md) */
  char classifier_model[512];  /* "builtin" (default), "none", or a model file */
  int classifier_hold;         /* hg_classifier_hold: 0 sentence (default), 1 none */
  int classifier_input;        /* default 1: prompts are classified */
  int classifier_output;       /* default 1: answers are classified, sentence by sentence */
  hg_action classifier_action; /* block (default), review, redact or log; under policy.actions like an entry's */
  hg_config_threshold classifier_thresholds[HG_CONFIG_MAX_THRESHOLDS];
  unsigned classifier_threshold_count;
  hg_guard_config guard;
  /* media (docs/media.md): images and audio through the gateway */
  int media_ocr;                 /* media.ocr: text in images read (Tesseract) and moderated, default 1 */
  char media_ocr_languages[64];  /* default "chi_sim+eng" */
  char media_tessdata[512];      /* "" (default): Tesseract's own data directory */
  unsigned media_ocr_timeout_ms; /* per image, default 10000 */
  int media_unjudged;            /* what no detector could judge (an image's picture without a vision guard, sound):
                                    0 allow, 1 review (default), 2 block */
#define HG_CONFIG_MAX_FETCH_HOSTS 8
  char media_fetch_hosts[HG_CONFIG_MAX_FETCH_HOSTS][256]; /* hosts an image url may be fetched from; none (default):
                                                             the upstream's host only */
  unsigned media_fetch_host_count;
  size_t media_max_bytes;          /* one image or audio file (fetched, uploaded or answered), default 25 MiB */
  unsigned media_fetch_timeout_ms; /* default 10000 */
  unsigned media_max_concurrent;   /* media requests in progress at once in one gateway (each a thread), default 16 */
  /* labels */
  char label_notice[256];     /* explicit label text, default "本内容由人工智能生成" */
  int label_at_end;           /* default 1 */
  int unlabeled_on_request;   /* labels.unlabeled_on_request: a request may ask for answers without the explicit
                                 label, naming who receives them (recorded); default 0 */
  char content_producer[128]; /* implicit label ContentProducer, default "hegui" */
  /* explicit labels of media (docs/media.md): the text on images and video frames, where and how high; the spoken
   * label of audio and where it goes */
  char label_image_text[128]; /* labels.image_text, default "AI生成" */
  int label_image_place;      /* labels.image_place: hg_label_place (hegui/media.h), default bottom-right */
  double label_image_height;  /* labels.image_height: text height / shortest side, 0.05-0.5, default 0.05 */
  char label_audio_text[256]; /* labels.audio_text, default "本内容由人工智能生成" */
  int label_audio_at_end;     /* labels.audio_position: start (0, default) or end */
  int label_audio_rhythm;     /* labels.audio_kind: speech (0, default) or rhythm (short-long-short-short) */
  /* records */
  hg_retention retain_text;       /* default redacted */
  hg_durability audit_durability; /* audit.durability, default group (docs/store.md, "Durability") */
  /* workflows: strikes (Art. 19), complaints (Art. 13), takedowns (Art. 15) */
  unsigned strikes_in_a_row;       /* blocked inputs in a row that suspend, default 12 */
  uint64_t strike_categories;      /* bit (1 << hg_category): a prompt with a reason of these is a strike even when
                                      the policy only reviews it; default malware, fraud, spam */
  unsigned near_dups_per_hour;     /* a prompt this many near-duplicates in an hour is a strike; default 30, 0 off */
  unsigned near_dup_bits;          /* near-duplicate: SimHash fingerprints this many bits apart at most, default 12 */
  unsigned strikes_per_day;        /* blocked inputs in a UTC day that suspend, default 5 */
  unsigned suspend_minutes;        /* default 1440 */
  unsigned terminate_after;        /* the N-th time the ladder fires terminates, default 12 */
  unsigned complaint_due_hours[5]; /* prohibited_content, ip_infringement, privacy, personal_info, other */
  unsigned complaint_rate_per_minute; /* public intake, per client address, default 10 */
  /* usage limits (Art. 10): 0 = no limit; per user and per API key; tokens as the model reports them */
  struct hg_quota {
    unsigned requests_per_minute, requests_per_day, tokens_per_minute, tokens_per_day;
  } quota_user, quota_key;
  unsigned text_retention_days; /* audit text kept this long, then erased by the purge job; default 180 */
  double review_sample_rate;    /* the share of allowed answers queued for review (docs/workflows.md), default 0.01 */
  unsigned takedown_days;       /* how long a takedown blocks, default 90 (>= 3 months); 0 = forever */
  /* real-name identity (draft Art. 9) */
  int identity_required;       /* -1 (default): as the profile says (draft-2023 requires it), 0 no, 1 yes */
  char identity_key_file[512]; /* sealing key; "" (default) = <data_dir>/identity.key; env HEGUI_IDENTITY_KEY wins */
  hg_idv_config idv;           /* the verification provider; url "" = none (a reviewer decides) */
  /* minors and over-reliance (Art. 10) */
  int utc_offset_minutes;         /* local time for days and closed hours, default +480 (China Standard Time) */
  int minors_enabled;             /* default 1 */
  unsigned minors_daily_minutes;  /* time in use per local day, default 60; 0 = no limit */
  unsigned minors_daily_requests; /* default 0 = no limit */
  int minors_closed_from;         /* minutes after local midnight, default 22:00 (1320) */
  int minors_closed_to;           /* default 08:00 (480); from == to: no closed hours */
  unsigned reminder_minutes;      /* continuous use that brings a reminder, default 120; 0 = none */
  unsigned pause_minutes;         /* a pause this long ends continuous use, default 20 */
  int reminders_all_users;        /* -1 (default): as the profile says (draft-2023: everyone; else minors) */
  char reminder_text[256];        /* "%d" is replaced by the minutes of continuous use */
  hg_webhook_config webhooks[HG_CONFIG_MAX_WEBHOOKS]; /* webhooks: none by default */
  unsigned webhook_count;
  /* the gateway's log (docs/install.md, "Logs"); not reloadable */
  int log_level;  /* 0 debug, 1 info (default), 2 warn, 3 error */
  int log_json;   /* log.format: 0 text (default), 1 JSON Lines */
  int log_access; /* one line per request, default 1 */
  /* versions of the policy and the lexicon (docs/workflows.md, "Versions") */
  int versions_require_approval; /* versions.require_approval, default 0: an upload is applied at once; 1: it waits
                                    for a second admin */
  unsigned lexicon_max_age_days; /* versions.lexicon_max_age_days, default 7 (TC260-003: weekly); 0 = no alarm */
} hg_config;

/* Whether the configuration asks for real-name users, and reminders for every user (not only minors), with the
 * profile's default applied. */
int hg_config_identity_required(const hg_config *cfg);
int hg_config_reminders_all_users(const hg_config *cfg);

/* Fills the defaults. */
void hg_config_init(hg_config *cfg);
/* Reads a YAML file over the defaults. Unknown keys, wrong types and values out of range are errors that name
 * the key and the line: "hegui.yaml:12: upstream.timeout_ms: expected a number of milliseconds". */
hg_status hg_config_load(hg_config *cfg, const char *path, hg_error *err);
/* Same for YAML text in memory (name is used in messages). */
hg_status hg_config_parse(hg_config *cfg, const char *text, size_t len, const char *name, hg_error *err);

/* One key of the configuration, as the parser's own key table has it (so that `hegui config keys`, `config show`
 * and the hegui.yaml(5) page cannot drift from what is read). */
typedef struct hg_config_key {
  const char *path;  /* dotted: "upstream.url" */
  const char *name;  /* its last part: "url" */
  unsigned depth;    /* 0 for a top-level key */
  int section;       /* a section: its keys follow, one deeper */
  int secret;        /* a credential: its value is shown as "********" when set */
  int alias;         /* another spelling of a key listed elsewhere: no value of its own */
  const char *type;  /* what it takes, in words: "whole number of milliseconds 1-3600000", "true or false", ... */
  const char *value; /* with a configuration: its value as YAML (flow style for lists and maps), else NULL; NULL
                        for sections and aliases */
} hg_config_key;
typedef void (*hg_config_key_fn)(const hg_config_key *key, void *ctx);

/* Calls fn for every key in the order of the table, sections before their keys. With cfg, each key's value in cfg
 * is given too. Returns HG_OK or HG_ERR_NOMEM. */
hg_status hg_config_keys(const hg_config *cfg, hg_config_key_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
