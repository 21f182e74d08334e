/* base/arena.c — bump allocation in chunks (base/arena.h).
 *
 * A chunk is a header and its data; allocations are carved from the newest chunk at the next suitably aligned
 * offset, and a new chunk (of the arena's chunk size, or larger for a large allocation) becomes the newest when
 * the current one has no room. What is left at the end of a full chunk is not used again: requests are short and
 * their chunks few. Under AddressSanitizer every byte not handed out stays poisoned, including a red zone after
 * each allocation. */
#include "base/arena.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define HG_ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HG_ARENA_ASAN 1
#endif
#endif

#ifdef HG_ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define REDZONE ((size_t)32)
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define REDZONE ((size_t)0)
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define MIN_ALIGN alignof(max_align_t)
#define DEFAULT_CHUNK ((size_t)4096)

struct hg_arena_chunk {
  hg_arena_chunk *next;
  size_t size; /* bytes of data */
  size_t used; /* bytes of data handed out, alignment and red zones included */
  max_align_t data[];
};

static unsigned char *chunk_data(hg_arena_chunk *c) { return (unsigned char *)c->data; }

void hg_arena_init(hg_arena *a, size_t chunk_bytes, size_t limit_bytes) {
  memset(a, 0, sizeof *a);
  a->chunk_bytes = chunk_bytes ? chunk_bytes : DEFAULT_CHUNK;
  a->limit_bytes = limit_bytes;
}

/* The offset in c at which size bytes aligned to align fit, with their red zone; SIZE_MAX when they do not. */
static size_t fit(hg_arena_chunk *c, size_t size, size_t align) {
  uintptr_t base = (uintptr_t)chunk_data(c), at = base + c->used;
  uintptr_t aligned = (at + (align - 1)) & ~(uintptr_t)(align - 1);
  size_t off = (size_t)(aligned - base);
  /* size + REDZONE cannot overflow once size is within a chunk's size */
  if (off > c->size || size > c->size - off || size + REDZONE > c->size - off) return SIZE_MAX;
  return off;
}

/* A new newest chunk with room for size bytes at align; NULL when out of memory, past the limit, or overflowing. */
static hg_arena_chunk *add_chunk(hg_arena *a, size_t size, size_t align) {
  size_t need = size + align + REDZONE; /* enough whatever the data's own alignment */
  if (need < size) return NULL;
  size_t data = need > a->chunk_bytes ? need : a->chunk_bytes;
  size_t total = sizeof(hg_arena_chunk) + data;
  if (total < data) return NULL;
  if (a->limit_bytes && (total > a->limit_bytes || a->taken_bytes > a->limit_bytes - total)) return NULL;
  hg_arena_chunk *c = malloc(total);
  if (!c) return NULL;
  c->next = a->chunks;
  c->size = data;
  c->used = 0;
  POISON(chunk_data(c), data);
  a->chunks = c;
  a->taken_bytes += total;
  return c;
}

void *hg_arena_alloc_aligned(hg_arena *a, size_t size, size_t align) {
  if (!align || (align & (align - 1)) || align > HG_ARENA_MAX_ALIGN) return NULL;
  if (align < MIN_ALIGN) align = MIN_ALIGN;
  hg_arena_chunk *c = a->chunks;
  size_t off = c ? fit(c, size, align) : SIZE_MAX;
  if (off == SIZE_MAX) {
    if (!(c = add_chunk(a, size, align))) return NULL;
    off = fit(c, size, align);
    if (off == SIZE_MAX) return NULL; /* cannot happen: the chunk was sized for it */
  }
  unsigned char *p = chunk_data(c) + off;
  c->used = off + size + REDZONE;
  UNPOISON(p, size);
  a->last = p;
  a->last_size = size;
  return p;
}

void *hg_arena_alloc(hg_arena *a, size_t size) { return hg_arena_alloc_aligned(a, size, MIN_ALIGN); }

void *hg_arena_calloc(hg_arena *a, size_t n, size_t size) {
  if (size && n > SIZE_MAX / size) return NULL;
  void *p = hg_arena_alloc(a, n * size);
  if (p) memset(p, 0, n * size);
  return p;
}

void *hg_arena_grow(hg_arena *a, void *p, size_t old_size, size_t new_size) {
  if (!p) return hg_arena_alloc(a, new_size);
  hg_arena_chunk *c = a->chunks;
  if (p == a->last && c) { /* the latest allocation: in place when its chunk has room */
    size_t off = (size_t)((unsigned char *)p - chunk_data(c));
    if (off <= c->size && new_size <= c->size - off && new_size + REDZONE <= c->size - off) {
      c->used = off + new_size + REDZONE;
      if (new_size > old_size) UNPOISON((unsigned char *)p + old_size, new_size - old_size);
      if (new_size < old_size) POISON((unsigned char *)p + new_size, old_size - new_size);
      a->last_size = new_size;
      return p;
    }
  }
  void *q = hg_arena_alloc(a, new_size);
  if (!q) return NULL;
  memcpy(q, p, old_size < new_size ? old_size : new_size);
  POISON(p, old_size); /* the old block is not to be used again */
  return q;
}

char *hg_arena_memdup0(hg_arena *a, const void *src, size_t len) {
  if (len == SIZE_MAX) return NULL;
  char *p = hg_arena_alloc_aligned(a, len + 1, 1);
  if (!p) return NULL;
  if (len) memcpy(p, src, len);
  p[len] = '\0';
  return p;
}

char *hg_arena_strdup(hg_arena *a, const char *s) { return hg_arena_memdup0(a, s, strlen(s)); }

void hg_arena_free(hg_arena *a) {
  hg_arena_chunk *c = a->chunks;
  while (c) {
    hg_arena_chunk *next = c->next;
    UNPOISON(chunk_data(c), c->size); /* memory goes back to malloc as it came */
    free(c);
    c = next;
  }
  a->chunks = NULL;
  a->taken_bytes = 0;
  a->last = NULL;
  a->last_size = 0;
}

hg_arena *hg_arena_new(size_t chunk_bytes, size_t limit_bytes) {
  hg_arena local;
  hg_arena_init(&local, chunk_bytes, limit_bytes);
  hg_arena *a = hg_arena_alloc(&local, sizeof *a);
  if (!a) return NULL;
  *a = local;
  a->last = NULL; /* the arena itself is never grown */
  a->last_size = 0;
  return a;
}

void hg_arena_destroy(hg_arena *a) {
  if (!a) return;
  hg_arena local = *a; /* a lives in one of the chunks freed */
  hg_arena_free(&local);
}
