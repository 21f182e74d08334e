/* abuse.c — near-duplicate prompts per user (abuse.h has the design). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "abuse.h"
#include "base/mix.h"
#include "hegui/text.h"

#define HOUR_MS 3600000

typedef struct dup_user {
  char name[128]; /* "" = free */
  int64_t last_ms;
  unsigned next, count;
  uint64_t fp[DUP_RING];
  int64_t at[DUP_RING];
} dup_user;

struct dup_table {
  pthread_mutex_t lock;
  dup_user users[DUP_USERS];
};

dup_table *dup_table_new(void) {
  dup_table *t = calloc(1, sizeof *t);
  if (t) pthread_mutex_init(&t->lock, NULL);
  return t;
}

void dup_table_free(dup_table *t) {
  if (!t) return;
  pthread_mutex_destroy(&t->lock);
  free(t);
}

#define mix hg_mix64

uint64_t dup_fingerprint(const char *text, size_t len) {
  char *folded = NULL;
  size_t fl = 0;
  if (hg_fold_text(text, len, 1, &folded, &fl, NULL) || !folded) return 0;
  /* the folded code points, then every 3-gram's hash voting on 64 bits */
  int votes[64] = {0};
  uint32_t win[3] = {0};
  size_t seen = 0;
  for (size_t i = 0; i < fl;) {
    uint32_t cp;
    int n = hg_utf8_decode((const uint8_t *)folded + i, fl - i, &cp);
    if (n <= 0) break;
    i += (size_t)n;
    win[0] = win[1], win[1] = win[2], win[2] = cp;
    if (++seen < 3) continue;
    uint64_t h = mix(((uint64_t)win[0] << 42) ^ ((uint64_t)win[1] << 21) ^ win[2]);
    for (int b = 0; b < 64; b++)
      votes[b] += (h >> b) & 1 ? 1 : -1;
  }
  free(folded);
  if (seen < 3) return 0;
  uint64_t fp = 0;
  for (int b = 0; b < 64; b++)
    if (votes[b] > 0) fp |= 1ull << b;
  return fp ? fp : 1; /* 0 means "none" */
}

static size_t slot_of(const char *name) {
  uint64_t h = 1469598103934665603ull;
  for (const char *p = name; *p; p++)
    h = (h ^ (uint8_t)*p) * 1099511628211ull;
  return (size_t)(mix(h) % DUP_USERS);
}

/* The user's entry: found by probing from its slot; a new user takes a free entry, or the least recently seen
 * one among the probed when none is free. */
static dup_user *user_entry(dup_table *t, const char *name) {
  size_t start = slot_of(name), oldest = start;
  for (size_t k = 0; k < 16; k++) {
    size_t i = (start + k) % DUP_USERS;
    dup_user *u = &t->users[i];
    if (!strcmp(u->name, name)) return u;
    if (!u->name[0]) {
      oldest = i;
      break;
    }
    if (u->last_ms < t->users[oldest].last_ms) oldest = i;
  }
  dup_user *u = &t->users[oldest];
  memset(u, 0, sizeof *u);
  size_t n = strlen(name);
  if (n >= sizeof u->name) n = sizeof u->name - 1;
  memcpy(u->name, name, n);
  return u;
}

unsigned dup_note(dup_table *t, const char *user, uint64_t fp, int64_t now_ms, unsigned max_bits) {
  if (!t || !fp || !user || !*user) return 0;
  pthread_mutex_lock(&t->lock);
  dup_user *u = user_entry(t, user);
  unsigned similar = 0;
  for (unsigned i = 0; i < u->count; i++)
    if (now_ms - u->at[i] < HOUR_MS && (unsigned)__builtin_popcountll(u->fp[i] ^ fp) <= max_bits) similar++;
  u->fp[u->next] = fp;
  u->at[u->next] = now_ms;
  u->next = (u->next + 1) % DUP_RING;
  if (u->count < DUP_RING) u->count++;
  u->last_ms = now_ms;
  pthread_mutex_unlock(&t->lock);
  return similar;
}
