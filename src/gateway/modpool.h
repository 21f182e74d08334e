/* modpool.[ch] — moderators kept by a worker thread and reused, so that a text judged costs a reset instead of
 * building a normalizer and every detector's scanner (and freeing them again).
 *
 * Each thread that calls modpool_enable keeps up to MODPOOL_MAX finished moderators, each with the objects it was
 * built for (policy, direction, lexicon, takedowns). modpool_take hands out one built for exactly the objects asked
 * for, reset (hegui/moderate.h: a reset moderator is a new one), or builds a new one; modpool_give takes it back.
 * A pooled moderator holds references to its policy and lexicon (its own) and to its takedowns (the pool's), so none
 * of them is freed, and no new object can take its address, while the moderator waits: a pointer key cannot match
 * an object other than the one the moderator was built for. A configuration or lexicon reload makes new objects:
 * the first take for them drops the pooled moderators built for others, and modpool_tick drops all of them on an
 * idle thread, so an old lexicon is not kept alive for long.
 *
 * A thread that never called modpool_enable (anything but a worker) keeps nothing: take builds, give frees. A
 * moderator may be given back on another thread than the one it was taken on. */
#ifndef HG_GATEWAY_MODPOOL_H
#define HG_GATEWAY_MODPOOL_H

#include "hegui/moderate.h"

#define MODPOOL_MAX 16 /* per thread: a moderator that judged a long text keeps its normalizer's records */

/* Called by a worker thread before its loop, and modpool_drain when it ends (frees what it keeps). */
void modpool_enable(void);
void modpool_drain(void);
/* On a worker's tick (every 100 ms): drops what it keeps once no moderator was taken for MODPOOL_IDLE_TICKS. */
#define MODPOOL_IDLE_TICKS 10
void modpool_tick(void);

/* A moderator for the text, as hg_moderator_new(p, dir, lexicon, takedowns) would build it. */
hg_status modpool_take(hg_policy *p, hg_direction dir, hg_lexicon *lexicon, hg_takedown_set *takedowns,
                       hg_moderator **out, hg_error *err);
/* Gives m back (NULL does nothing); p, dir, lexicon and takedowns must be those it was taken for. It is kept (or
 * freed when the pool is full or off on this thread); the caller must not use it again. */
void modpool_give(hg_moderator *m, hg_policy *p, hg_direction dir, hg_lexicon *lexicon, hg_takedown_set *takedowns);

#endif
