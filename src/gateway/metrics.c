/* metrics.c — counters and latency histograms for /metrics, in Prometheus' text format (version 0.0.4). Workers
 * update them with relaxed atomics; a scrape reads them without stopping anyone. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "hegui/ocr.h"

static const char *const route_names[ROUTE_METRICS] = {
    "/v1/chat/completions", "/v1/completions", "/v1/models", "/v1/moderations", "health", "/metrics", "/admin", "other",
    "/compliance",          "/v1/images",      "/v1/audio"};
static const double bounds[METRIC_LATENCY_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,   0.5,   1,    2.5,   10};

void metrics_request(metrics *m, int route, int status, double seconds) {
  if (route < 0 || route >= ROUTE_METRICS) route = R_OTHER;
  int cls = status >= 100 && status < 600 ? status / 100 - 1 : 5;
  atomic_fetch_add_explicit(&m->requests[route][cls], 1, memory_order_relaxed);
  int b = 0;
  while (b < METRIC_LATENCY_BUCKETS && seconds > bounds[b])
    b++;
  atomic_fetch_add_explicit(&m->latency_bucket[route][b], 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&m->latency_sum_us[route], (unsigned long long)(seconds * 1e6), memory_order_relaxed);
  atomic_fetch_add_explicit(&m->latency_count[route], 1, memory_order_relaxed);
}

typedef struct out {
  char *s;
  size_t n, cap;
} out;

static void put(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out *o, const char *fmt, ...) {
  va_list ap;
  for (;;) {
    va_start(ap, fmt);
    int k = vsnprintf(o->s ? o->s + o->n : NULL, o->s ? o->cap - o->n : 0, fmt, ap);
    va_end(ap);
    if (k < 0) return;
    if (o->s && o->n + (size_t)k < o->cap) {
      o->n += (size_t)k;
      return;
    }
    size_t cap = (o->cap + (size_t)k + 1) * 2;
    char *ns = realloc(o->s, cap);
    if (!ns) return;
    o->s = ns;
    o->cap = cap;
  }
}

void metrics_ocr(metrics *m, const hg_ocr_result *r) {
  atomic_fetch_add(&m->ocr[!r ? 2 : r->timed_out ? 1 : 0], 1);
  if (r) atomic_fetch_add(&m->ocr_ms_sum, r->elapsed_ms);
}

void metrics_verdict(metrics *m, const char *verdict, const char *block_category) {
  int v = !strcmp(verdict, "block")    ? 2
          : !strcmp(verdict, "redact") ? 1
          : !strcmp(verdict, "review") ? 3
          : !strcmp(verdict, "allow")  ? 0
                                       : -1;
  if (v >= 0) atomic_fetch_add(&m->verdicts[v], 1);
  if (v == 2 && block_category) {
    hg_category cat;
    if (!strcmp(block_category, "pii"))
      atomic_fetch_add(&m->verdict_category[HG_CATEGORY_COUNT], 1);
    else if (!hg_category_parse(block_category, strlen(block_category), &cat))
      atomic_fetch_add(&m->verdict_category[cat], 1);
  }
}

char *metrics_render(const metrics *m) {
  out o = {0};
  static const char *const cls[6] = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};
  put(&o, "# HELP hegui_requests_total HTTP requests by route and status class.\n"
          "# TYPE hegui_requests_total counter\n");
  for (int r = 0; r < ROUTE_METRICS; r++)
    for (int c = 0; c < 6; c++) {
      unsigned long long v = atomic_load(&m->requests[r][c]);
      if (v) put(&o, "hegui_requests_total{route=\"%s\",status=\"%s\"} %llu\n", route_names[r], cls[c], v);
    }
  put(&o, "# HELP hegui_verdicts_total Moderation verdicts of completion requests.\n"
          "# TYPE hegui_verdicts_total counter\n");
  static const char *const vnames[4] = {"allow", "redact", "block", "review"};
  for (int v = 0; v < 4; v++)
    put(&o, "hegui_verdicts_total{verdict=\"%s\"} %llu\n", vnames[v], atomic_load(&m->verdicts[v]));
  put(&o, "# HELP hegui_blocks_by_category_total Blocked prompts and answers by risk category.\n"
          "# TYPE hegui_blocks_by_category_total counter\n");
  for (int c = 0; c <= HG_CATEGORY_COUNT; c++) {
    unsigned long long v = atomic_load(&m->verdict_category[c]);
    if (v)
      put(&o, "hegui_blocks_by_category_total{category=\"%s\"} %llu\n",
          c < HG_CATEGORY_COUNT ? hg_category_code((hg_category)c) : "pii", v);
  }
  put(&o, "# HELP hegui_request_duration_seconds Time from request to the end of the answer.\n"
          "# TYPE hegui_request_duration_seconds histogram\n");
  for (int r = 0; r < ROUTE_METRICS; r++) {
    unsigned long long count = atomic_load(&m->latency_count[r]);
    if (!count) continue;
    unsigned long long cum = 0;
    for (int b = 0; b < METRIC_LATENCY_BUCKETS; b++) {
      cum += atomic_load(&m->latency_bucket[r][b]);
      put(&o, "hegui_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n", route_names[r], bounds[b], cum);
    }
    cum += atomic_load(&m->latency_bucket[r][METRIC_LATENCY_BUCKETS]);
    put(&o, "hegui_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n", route_names[r], cum);
    put(&o, "hegui_request_duration_seconds_sum{route=\"%s\"} %.6f\n", route_names[r],
        (double)atomic_load(&m->latency_sum_us[r]) / 1e6);
    put(&o, "hegui_request_duration_seconds_count{route=\"%s\"} %llu\n", route_names[r], count);
  }
  put(&o,
      "# HELP hegui_upstream_errors_total Upstream failures (unreachable, HTTP errors, broken streams).\n"
      "# TYPE hegui_upstream_errors_total counter\nhegui_upstream_errors_total %llu\n",
      atomic_load(&m->upstream_errors));
  put(&o,
      "# HELP hegui_streams_active Streamed answers in progress.\n# TYPE hegui_streams_active gauge\n"
      "hegui_streams_active %llu\n",
      atomic_load(&m->streams_active));
  put(&o,
      "# HELP hegui_stream_chunks_total Model chunks moderated in streamed answers.\n"
      "# TYPE hegui_stream_chunks_total counter\nhegui_stream_chunks_total %llu\n",
      atomic_load(&m->stream_chunks));
  put(&o,
      "# HELP hegui_stream_holdback_bytes_total Bytes held back after each chunk, summed.\n"
      "# TYPE hegui_stream_holdback_bytes_total counter\nhegui_stream_holdback_bytes_total %llu\n",
      atomic_load(&m->holdback_bytes_sum));
  put(&o,
      "# HELP hegui_stream_holdback_bytes_max Largest hold-back seen.\n"
      "# TYPE hegui_stream_holdback_bytes_max gauge\nhegui_stream_holdback_bytes_max %llu\n",
      atomic_load(&m->holdback_bytes_max));
  put(&o,
      "# HELP hegui_lexicon_reloads_total Lexicon reloads.\n# TYPE hegui_lexicon_reloads_total counter\n"
      "hegui_lexicon_reloads_total %llu\n",
      atomic_load(&m->reloads));
  static const char *const reasons[5] = {"standing", "realname", "minors_closed_hours", "minors_daily_limit",
                                         "store_unavailable"};
  put(&o, "# HELP hegui_admission_refusals_total Completion requests refused before moderation, by reason.\n"
          "# TYPE hegui_admission_refusals_total counter\n");
  for (int i = 0; i < 5; i++)
    put(&o, "hegui_admission_refusals_total{reason=\"%s\"} %llu\n", reasons[i], atomic_load(&m->refusals[i]));
  put(&o,
      "# HELP hegui_reminders_total Over-reliance reminders given (answers opened with one).\n"
      "# TYPE hegui_reminders_total counter\nhegui_reminders_total %llu\n",
      atomic_load(&m->reminders));
  put(&o, "# HELP hegui_guard_judgments_total Guard model verdicts (docs/guard.md): safe, unsafe, controversial, "
          "error (the guard could not judge; guard.on_error decided), cached (answered from the cache, also counted "
          "by its verdict).\n# TYPE hegui_guard_judgments_total counter\n");
  static const char *const gnames[5] = {"safe", "unsafe", "controversial", "error", "cached"};
  for (int g = 0; g < 5; g++)
    put(&o, "hegui_guard_judgments_total{result=\"%s\"} %llu\n", gnames[g], atomic_load(&m->guard[g]));
  put(&o,
      "# HELP hegui_ocr_images_total Images read by OCR (docs/media.md): read, cut short by media.ocr_timeout_ms, "
      "not read (undecodable, beyond the limits, no engine).\n# TYPE hegui_ocr_images_total counter\n"
      "hegui_ocr_images_total{result=\"read\"} %llu\nhegui_ocr_images_total{result=\"timed_out\"} %llu\n"
      "hegui_ocr_images_total{result=\"failed\"} %llu\n"
      "# HELP hegui_ocr_seconds_total Time spent reading images by OCR.\n# TYPE hegui_ocr_seconds_total counter\n"
      "hegui_ocr_seconds_total %.3f\n"
      "# HELP hegui_unjudged_total Content no detector could judge (a picture without a vision guard, a sound, text "
      "OCR could not read), handled as media.unjudged says.\n# TYPE hegui_unjudged_total counter\n"
      "hegui_unjudged_total %llu\n"
      "# HELP hegui_media_labelled_total Images and audio handed out by the media routes, by explicit label.\n"
      "# TYPE hegui_media_labelled_total counter\nhegui_media_labelled_total{explicit=\"yes\"} %llu\n"
      "hegui_media_labelled_total{explicit=\"omitted\"} %llu\n",
      atomic_load(&m->ocr[0]), atomic_load(&m->ocr[1]), atomic_load(&m->ocr[2]),
      (double)atomic_load(&m->ocr_ms_sum) / 1000.0, atomic_load(&m->unjudged), atomic_load(&m->media_labels[0]),
      atomic_load(&m->media_labels[1]));
  put(&o, "# HELP hegui_webhook_deliveries_total Webhook attempts by event and result: delivered, failed (attempts ran "
          "out), retried (an attempt failed; another follows).\n# TYPE hegui_webhook_deliveries_total counter\n");
  static const char *const wnames[3] = {"delivered", "failed", "retried"};
  for (int e = 0; e < HG_WEBHOOK_EVENTS; e++)
    for (int r = 0; r < 3; r++)
      put(&o, "hegui_webhook_deliveries_total{event=\"%s\",result=\"%s\"} %llu\n",
          hg_webhook_event_name((hg_webhook_event)e), wnames[r], atomic_load(&m->webhooks[e][r]));
  return o.s;
}
