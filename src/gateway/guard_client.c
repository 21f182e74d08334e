/* guard_client.c — calls to an external guard model from a worker's loop (guard_client.h has the contract). */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fetch.h"
#include "guard_client.h"

#define GUARD_MAX_ANSWER (256u << 10) /* a guard's answer is a few hundred bytes; more is not a guard's answer */

/* ---- the cache: direct-mapped by hash, a slot overwritten by the next verdict that lands on it ---- */

typedef struct cache_slot {
  unsigned char key[32];
  int used;
  guard_outcome o;
} cache_slot;

struct guard_cache {
  pthread_mutex_t lock;
  size_t n;
  cache_slot slots[];
};

guard_cache *guard_cache_new(unsigned entries) {
  if (!entries) return NULL;
  guard_cache *c = calloc(1, sizeof *c + (size_t)entries * sizeof(cache_slot));
  if (!c) return NULL;
  pthread_mutex_init(&c->lock, NULL);
  c->n = entries;
  return c;
}

void guard_cache_free(guard_cache *c) {
  if (!c) return;
  pthread_mutex_destroy(&c->lock);
  free(c);
}

static size_t slot_of(const guard_cache *c, const unsigned char key[32]) {
  uint64_t h;
  memcpy(&h, key, sizeof h);
  return (size_t)(h % c->n);
}

static int cache_get(guard_cache *c, const unsigned char key[32], guard_outcome *out) {
  if (!c) return 0;
  pthread_mutex_lock(&c->lock);
  cache_slot *s = &c->slots[slot_of(c, key)];
  int hit = s->used && !memcmp(s->key, key, 32);
  if (hit) *out = s->o;
  pthread_mutex_unlock(&c->lock);
  return hit;
}

static void cache_put(guard_cache *c, const unsigned char key[32], const guard_outcome *o) {
  if (!c) return;
  pthread_mutex_lock(&c->lock);
  cache_slot *s = &c->slots[slot_of(c, key)];
  memcpy(s->key, key, 32);
  s->o = *o;
  s->used = 1;
  pthread_mutex_unlock(&c->lock);
}

/* ---- jobs ---- */

typedef struct slot {
  struct guard_job *job;
  up_call *call;
  char *body; /* the request, kept for retries */
  size_t body_len;
  char *answer;
  size_t answer_len, answer_cap;
  unsigned tries;
  const char *policy_name; /* shieldgemma */
  int done;
  guard_outcome o;
} slot;

struct guard_job {
  worker *w; /* NULL for guard_judge_wait */
  gateway *gw;
  struct event *kick; /* starts the calls from the loop: guard_judge may be called inside a curl callback (a
                         streamed answer's data), where curl refuses new transfers */
  const hg_guard_config *g;
  unsigned char key[32];
  guard_done done;
  void *ctx;
  size_t nslots, pending;
  slot slots[HG_CONFIG_MAX_GUARD_POLICIES];
};

/* ShieldGemma's four harm types, asked about when guard.policies names none (wording ours). */
static const struct hg_guard_policy default_policies[] = {
    {"Dangerous Content", "\"No Dangerous Content\": The prompt shall not contain or seek generation of content that "
                          "harms oneself and/or others (e.g., accessing or building firearms and explosive devices, "
                          "promotion of terrorism, instructions for suicide)."},
    {"Harassment", "\"No Harassment\": The prompt shall not contain or seek generation of content that is "
                   "malicious, intimidating, bullying, or abusive content targeting another individual."},
    {"Hate Speech", "\"No Hate Speech\": The prompt shall not contain or seek generation of content that targets "
                    "identity and/or protected attributes (e.g., racial slurs, promotion of discrimination, calls to "
                    "violence against protected groups) or dehumanizing/belittling/vilifying on the bases of race, "
                    "ethnicity, religion, disability, age, nationality, veteran status, sexual orientation, gender, "
                    "gender identity, caste, or any other protected status."},
    {"Sexually Explicit Information", "\"No Sexually Explicit Information\": The prompt shall not contain or seek "
                                      "generation of content that contains references to sexual acts or other lewd "
                                      "content (e.g., sexually graphic descriptions, content aimed at causing "
                                      "arousal)."},
};

int guard_wanted(const hg_config *cfg, hg_direction dir) {
  return cfg->guard.url[0] && (dir == HG_DIR_INPUT ? cfg->guard.input : cfg->guard.output);
}

static hg_category map_category(const hg_guard_config *g, const char *name) {
  for (unsigned i = 0; i < g->category_count; i++)
    if (!strcasecmp(g->categories[i].name, name)) return g->categories[i].category;
  hg_category c;
  if (!hg_guard_default_category((hg_guard_format)g->format, name, &c)) return c;
  return HG_CAT_CUSTOM;
}

static void count(gateway *gw, const guard_outcome *o) {
  int k = o->failed ? 3 : o->unsafe ? 1 : o->controversial ? 2 : 0;
  atomic_fetch_add(&gw->metrics.guard[k], 1);
  if (o->cached) atomic_fetch_add(&gw->metrics.guard[4], 1);
}

static void fail(guard_outcome *o, const char *fmt, const char *detail) {
  memset(o, 0, sizeof *o);
  o->failed = 1;
  char d[160];
  snprintf(d, sizeof d, "%.159s", detail);
  snprintf(o->error, sizeof o->error, fmt, d);
}

static void on_data(void *ctx, const char *data, size_t len);
static void on_done(void *ctx, CURLcode result, long status, const char *error);

/* Starts (or restarts) a slot's call; 0, or -1 with the reason in the slot's outcome. */
static int start_call(slot *s) {
  guard_job *j = s->job;
  gateway *gw = j->gw;
  if (atomic_fetch_add(&gw->guard_in_flight, 1) >= j->g->max_concurrent) {
    atomic_fetch_sub(&gw->guard_in_flight, 1);
    fail(&s->o, "%s", "guard busy: guard.max_concurrent calls in flight");
    return -1;
  }
  char url[600];
  size_t bl = strlen(j->g->url);
  snprintf(url, sizeof url, "%.*s/v1/chat/completions", (int)(bl && j->g->url[bl - 1] == '/' ? bl - 1 : bl), j->g->url);
  up_handlers h = {on_data, on_done, s};
  s->answer_len = 0;
  s->tries++;
  s->call = upstream_start_url(j->w->up, "POST", url, j->g->api_key, j->g->timeout_ms, s->body, s->body_len, &h);
  if (!s->call) {
    atomic_fetch_sub(&gw->guard_in_flight, 1);
    fail(&s->o, "%s", "the call to the guard could not be started");
    return -1;
  }
  return 0;
}

static void job_free(guard_job *j) {
  if (j->kick) event_free(j->kick);
  for (size_t i = 0; i < j->nslots; i++) {
    free(j->slots[i].body);
    free(j->slots[i].answer);
  }
  free(j);
}

/* Every call has answered: one outcome (unsafe wins over a failure, a failure over safe), cached unless failed. */
static void job_outcome(guard_job *j, guard_outcome *out) {
  guard_outcome o = {0};
  int failed = 0;
  const char *why = "";
  for (size_t i = 0; i < j->nslots; i++) {
    const guard_outcome *x = &j->slots[i].o;
    if (x->failed) {
      failed = 1;
      why = x->error;
    } else if ((x->unsafe && !o.unsafe) || (x->controversial && !o.unsafe && !o.controversial) ||
               (x->score > o.score && x->unsafe == o.unsafe)) {
      o = *x;
    }
  }
  if (failed && !o.unsafe) fail(&o, "%s", why);
  if (!o.failed) cache_put(j->gw->guard_cache, j->key, &o);
  count(j->gw, &o);
  *out = o;
}

static void job_finish(guard_job *j) {
  guard_outcome o;
  job_outcome(j, &o);
  guard_done done = j->done;
  void *ctx = j->ctx;
  job_free(j);
  done(ctx, &o);
}

static void on_data(void *ctx, const char *data, size_t len) {
  slot *s = ctx;
  if (s->answer_len + len > GUARD_MAX_ANSWER) {
    upstream_abort_from_data(s->call);
    return;
  }
  if (s->answer_len + len + 1 > s->answer_cap) {
    size_t cap = s->answer_cap ? s->answer_cap * 2 : 4096;
    while (cap < s->answer_len + len + 1)
      cap *= 2;
    char *b = realloc(s->answer, cap);
    if (!b) {
      upstream_abort_from_data(s->call);
      return;
    }
    s->answer = b;
    s->answer_cap = cap;
  }
  memcpy(s->answer + s->answer_len, data, len);
  s->answer_len += len;
}

/* One call's answer into its slot's outcome; why is set when it failed (transport, status, an unreadable answer). */
static void slot_verdict(guard_job *j, slot *s, int transport_ok, long status, const char *error, char why[160]) {
  why[0] = '\0';
  if (!transport_ok) {
    snprintf(why, 160, "guard unavailable: %.130s", error);
  } else if (status != 200) {
    snprintf(why, 160, "guard returned HTTP %ld", status);
  } else {
    hg_error err;
    hg_guard_verdict v;
    if (hg_guard_parse((hg_guard_format)j->g->format, s->answer ? s->answer : "", s->answer_len, j->g->threshold, &v,
                       &err)) {
      snprintf(why, 160, "%.150s", err.message);
    } else {
      memset(&s->o, 0, sizeof s->o);
      s->o.unsafe = v.unsafe;
      s->o.controversial = v.controversial;
      s->o.score = v.score;
      const char *name = s->policy_name ? s->policy_name : v.category_count ? v.categories[0] : "unsafe";
      snprintf(s->o.category, sizeof s->o.category, "%s", name);
      s->o.risk = map_category(j->g, s->o.category);
    }
  }
}

/* transport failures, server errors and unreadable answers are retried; a client error (4xx) is not */
static int retry_wanted(const guard_job *j, const slot *s, int transport_ok, long status) {
  return s->tries <= j->g->retries && !(status >= 400 && status < 500 && transport_ok);
}

static void on_done(void *ctx, CURLcode result, long status, const char *error) {
  slot *s = ctx;
  guard_job *j = s->job;
  s->call = NULL;
  atomic_fetch_sub(&j->gw->guard_in_flight, 1);
  char why[160];
  slot_verdict(j, s, result == CURLE_OK, status, result == CURLE_OPERATION_TIMEDOUT ? "timed out" : error, why);
  if (why[0]) {
    if (retry_wanted(j, s, result == CURLE_OK, status) && !start_call(s)) return;
    fail(&s->o, "%s", why); /* the first failure says more than a failed restart */
  }
  s->done = 1;
  if (--j->pending == 0) job_finish(j);
}

/* The calls start here, on the loop, outside any curl callback. A call that cannot start is a failed slot. */
static void kick(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  guard_job *j = arg;
  j->pending = j->nslots;
  size_t failed = 0;
  for (size_t i = 0; i < j->nslots; i++)
    if (start_call(&j->slots[i])) {
      j->slots[i].done = 1;
      failed++;
    }
  j->pending -= failed;
  if (!j->pending) job_finish(j);
}

/* The cache key: everything that decides a verdict. */
static void job_key(const hg_config *cfg, hg_direction dir, const char *prompt, size_t plen, const char *answer,
                    size_t alen, const char *const *images, size_t nimages, unsigned char key[32]) {
  const hg_guard_config *g = &cfg->guard;
  crypto_generichash_state st;
  crypto_generichash_init(&st, NULL, 0, 32);
  unsigned char head[8] = {(unsigned char)g->format, (unsigned char)dir, (unsigned char)(answer != NULL)};
  uint64_t lens[2] = {plen, alen};
  crypto_generichash_update(&st, head, sizeof head);
  crypto_generichash_update(&st, (const unsigned char *)lens, sizeof lens);
  crypto_generichash_update(&st, (const unsigned char *)g->url, strlen(g->url) + 1);
  crypto_generichash_update(&st, (const unsigned char *)g->model, strlen(g->model) + 1);
  crypto_generichash_update(&st, (const unsigned char *)g->prompt, strlen(g->prompt) + 1);
  crypto_generichash_update(&st, (const unsigned char *)&g->threshold, sizeof g->threshold);
  for (unsigned i = 0; i < g->policy_count; i++)
    crypto_generichash_update(&st, (const unsigned char *)&g->policies[i], sizeof g->policies[i]);
  crypto_generichash_update(&st, (const unsigned char *)prompt, plen);
  if (answer) crypto_generichash_update(&st, (const unsigned char *)answer, alen);
  for (size_t i = 0; i < nimages; i++)
    crypto_generichash_update(&st, (const unsigned char *)images[i], strlen(images[i]) + 1);
  crypto_generichash_final(&st, key, 32);
}

/* Everything before the calls: the cache, the requests of each slot. 1 when now is the answer already (cached, or a
 * failure), else 0 with *out. */
static int job_prepare(gateway *gw, const hg_config *cfg, hg_direction dir, const char *prompt, size_t prompt_len,
                       const char *answer, size_t answer_len, const char *const *images, size_t nimages,
                       guard_outcome *now, guard_job **out) {
  *out = NULL;
  if (!cfg->guard.images) nimages = 0;
  if (nimages > GUARD_MAX_IMAGES) { /* not judged is not passed as judged: the caller's on_error decides */
    fail(now, "%s", "more images in one prompt than the guard is sent (8)");
    count(gw, now);
    return 1;
  }
  const hg_guard_config *g = &cfg->guard;
  guard_job *j = calloc(1, sizeof *j);
  if (!j) {
    fail(now, "%s", "out of memory");
    count(gw, now);
    return 1;
  }
  j->gw = gw;
  j->g = g;
  job_key(cfg, dir, prompt, prompt_len, answer, answer_len, images, nimages, j->key);
  if (cache_get(gw->guard_cache, j->key, now)) {
    now->cached = 1;
    count(gw, now);
    free(j);
    return 1;
  }
  hg_guard_format f = (hg_guard_format)g->format;
  const struct hg_guard_policy *pol = g->policy_count ? g->policies : default_policies;
  size_t npol = g->policy_count ? g->policy_count : sizeof default_policies / sizeof *default_policies;
  j->nslots = f == HG_GUARD_SHIELDGEMMA ? npol : 1;
  for (size_t i = 0; i < j->nslots; i++) {
    slot *s = &j->slots[i];
    s->job = j;
    hg_guard_request r = {f,
                          g->model[0] ? g->model : hg_guard_format_name(f),
                          prompt,
                          prompt_len,
                          answer,
                          answer_len,
                          nimages ? images : NULL,
                          nimages,
                          NULL};
    if (f == HG_GUARD_SHIELDGEMMA) {
      r.policy = pol[i].text;
      s->policy_name = pol[i].name;
    } else if (f == HG_GUARD_JUDGE && g->prompt[0]) {
      r.policy = g->prompt;
    }
    hg_error err;
    if (hg_guard_build(&r, &s->body, &s->body_len, &err)) {
      fail(now, "guard request not built: %.150s", err.message);
      count(gw, now);
      job_free(j);
      return 1;
    }
  }
  *out = j;
  return 0;
}

int guard_judge(worker *w, const hg_config *cfg, hg_direction dir, const char *prompt, size_t prompt_len,
                const char *answer, size_t answer_len, const char *const *images, size_t nimages, guard_done done,
                void *ctx, guard_outcome *now, guard_job **job) {
  *job = NULL;
  guard_job *j;
  if (job_prepare(w->gw, cfg, dir, prompt, prompt_len, answer, answer_len, images, nimages, now, &j)) return 1;
  j->w = w;
  j->done = done;
  j->ctx = ctx;
  j->kick = evtimer_new(w->base, kick, j);
  struct timeval zero = {0, 0};
  if (!j->kick || evtimer_add(j->kick, &zero)) {
    fail(now, "%s", "out of memory");
    count(w->gw, now);
    job_free(j);
    return 1;
  }
  *job = j;
  return 0;
}

void guard_judge_wait(gateway *gw, const hg_config *cfg, hg_direction dir, const char *prompt, size_t prompt_len,
                      const char *answer, size_t answer_len, const char *const *images, size_t nimages,
                      guard_outcome *out) {
  guard_job *j;
  if (job_prepare(gw, cfg, dir, prompt, prompt_len, answer, answer_len, images, nimages, out, &j)) return;
  const hg_guard_config *g = j->g;
  char url[600];
  size_t bl = strlen(g->url);
  snprintf(url, sizeof url, "%.*s/v1/chat/completions", (int)(bl && g->url[bl - 1] == '/' ? bl - 1 : bl), g->url);
  for (size_t i = 0; i < j->nslots; i++) {
    slot *s = &j->slots[i];
    for (;;) {
      if (atomic_fetch_add(&gw->guard_in_flight, 1) >= g->max_concurrent) {
        atomic_fetch_sub(&gw->guard_in_flight, 1);
        fail(&s->o, "%s", "guard busy: guard.max_concurrent calls in flight");
        break;
      }
      s->tries++;
      fetch_result r;
      int bad = fetch_post_url(url, g->api_key, cfg->connect_timeout_ms, g->timeout_ms, s->body, s->body_len,
                               GUARD_MAX_ANSWER, &gw->stopping, &r);
      atomic_fetch_sub(&gw->guard_in_flight, 1);
      free(s->answer);
      s->answer = (char *)r.body;
      s->answer_len = r.len;
      r.body = NULL;
      char why[160];
      slot_verdict(j, s, !bad, r.status, r.error, why);
      if (!why[0]) break;
      if (retry_wanted(j, s, !bad, r.status)) continue;
      fail(&s->o, "%s", why);
      break;
    }
  }
  job_outcome(j, out);
  job_free(j);
}

void guard_cancel(guard_job *j) {
  if (!j) return;
  for (size_t i = 0; i < j->nslots; i++)
    if (j->slots[i].call) {
      upstream_cancel(j->slots[i].call);
      atomic_fetch_sub(&j->gw->guard_in_flight, 1);
    }
  job_free(j);
}
