/* modpool.c — a worker's moderators kept for reuse (modpool.h has the contract). Thread-local: no lock, and a
 * thread's pool is only ever touched by that thread. */
#include <string.h>

#include "modpool.h"

typedef struct slot {
  hg_moderator *m;
  hg_policy *policy;
  hg_direction dir;
  hg_lexicon *lex;
  hg_takedown_set *takedowns; /* referenced by the slot (the moderator references it only when it scans them) */
} slot;

typedef struct pool {
  int on;
  int taken;     /* a take since the last tick */
  unsigned idle; /* ticks without one */
  size_t n;
  slot s[MODPOOL_MAX]; /* the most recently given last */
} pool;

static _Thread_local pool tp;

static void drop(size_t i) {
  hg_moderator_free(tp.s[i].m);
  if (tp.s[i].takedowns) hg_takedown_set_unref(tp.s[i].takedowns);
  memmove(&tp.s[i], &tp.s[i + 1], (tp.n - i - 1) * sizeof *tp.s);
  tp.n--;
}

void modpool_enable(void) { tp.on = 1; }

void modpool_drain(void) {
  while (tp.n)
    drop(tp.n - 1);
}

void modpool_tick(void) {
  tp.idle = tp.taken ? 0 : tp.idle + 1;
  if (tp.idle >= MODPOOL_IDLE_TICKS) modpool_drain();
  tp.taken = 0;
}

hg_status modpool_take(hg_policy *p, hg_direction dir, hg_lexicon *lexicon, hg_takedown_set *takedowns,
                       hg_moderator **out, hg_error *err) {
  tp.taken = 1;
  for (size_t i = tp.n; i-- > 0;) {
    slot *s = &tp.s[i];
    if (s->policy != p || s->lex != lexicon || s->takedowns != takedowns) {
      drop(i); /* built for objects a reload replaced: what this thread's requests hold now is newer */
      continue;
    }
    if (s->dir != dir) continue;
    hg_moderator *m = s->m;
    if (s->takedowns) hg_takedown_set_unref(s->takedowns);
    memmove(s, s + 1, (tp.n - i - 1) * sizeof *s);
    tp.n--;
    hg_moderator_reset(m);
    *out = m;
    return HG_OK;
  }
  return hg_moderator_new(p, dir, lexicon, takedowns, out, err);
}

void modpool_give(hg_moderator *m, hg_policy *p, hg_direction dir, hg_lexicon *lexicon, hg_takedown_set *takedowns) {
  if (!m) return;
  if (!tp.on || tp.n == MODPOOL_MAX) {
    hg_moderator_free(m);
    return;
  }
  tp.s[tp.n++] = (slot){m, p, dir, lexicon, takedowns ? hg_takedown_set_ref(takedowns) : NULL};
}
