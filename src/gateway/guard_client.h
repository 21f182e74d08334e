/* guard_client.[ch] — calls to an external guard model (hegui/guard.h, docs/guard.md) from a worker's loop.
 *
 * One judgment is one call to the guard's /v1/chat/completions (ShieldGemma: one per policy, in parallel), each with
 * guard.timeout_ms and guard.retries; calls in flight in the whole gateway are capped by guard.max_concurrent (a
 * judgment beyond the cap fails at once: it never queues behind a slow guard); verdicts are cached by a hash of
 * everything that decides them (url, model, format, prompt, policies, direction, text), shared by the workers.
 *
 * Callback contract: guard_judge either answers at once — returns 1 and fills *now (a cached verdict, or a request that
 * cannot be built) — or returns 0, sets *job, and later calls done exactly once from the worker's loop (never from
 * inside guard_judge), unless guard_cancel(job) comes first (after which done is never called). The calls start
 * from a zero timer on the loop, so guard_judge may be called from inside a curl callback (a streamed answer's
 * data), where curl refuses to add transfers; the cap is checked then (a judgment over it fails, via done). The outcome
 * passed to done lives only during the call. */
#ifndef HG_GATEWAY_GUARD_CLIENT_H
#define HG_GATEWAY_GUARD_CLIENT_H

#include "gateway.h"
#include "hegui/guard.h"

typedef struct guard_outcome {
  int failed; /* the guard could not judge; error says why, and guard.on_error decides */
  char error[200];
  int cached;
  int unsafe, controversial;
  float score;
  char category[48]; /* the guard's own category name (the first it gave, or the ShieldGemma policy) */
  hg_category risk;  /* mapped by guard.categories over the format's defaults; custom when unmapped */
} guard_outcome;

typedef void (*guard_done)(void *ctx, const guard_outcome *o);
typedef struct guard_job guard_job;

/* Whether the configuration asks the guard about this direction. */
int guard_wanted(const hg_config *cfg, hg_direction dir);
/* images: URLs of the prompt's image parts, sent to a vision guard (guard.images) with the prompt; may be NULL.
 * More than GUARD_MAX_IMAGES is a failure (on_error decides): what is not judged is not passed as judged. */
#define GUARD_MAX_IMAGES 8
int guard_judge(worker *w, const hg_config *cfg, hg_direction dir, const char *prompt, size_t prompt_len,
                const char *answer, size_t answer_len, const char *const *images, size_t nimages, guard_done done,
                void *ctx, guard_outcome *now, guard_job **job);
void guard_cancel(guard_job *job);
/* The same, blocking, for a thread that is not an event loop (the media routes): the calls are made one after the
 * other with their retries, under guard.max_concurrent, and out is the outcome. */
void guard_judge_wait(gateway *gw, const hg_config *cfg, hg_direction dir, const char *prompt, size_t prompt_len,
                      const char *answer, size_t answer_len, const char *const *images, size_t nimages,
                      guard_outcome *out);

/* The verdict cache (gateway-wide; entries fixed at start). */
typedef struct guard_cache guard_cache;
guard_cache *guard_cache_new(unsigned entries);
void guard_cache_free(guard_cache *c);

#endif
