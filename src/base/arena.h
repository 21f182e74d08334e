/* base/arena.h — a per-request arena: bump allocation in chunks, everything freed at once at the end.
 *
 * A request allocates a few dozen small things (its state, copies of names, the prompt's pieces, the record's JSON)
 * that all die together when it ends. Taking them from an arena costs a pointer bump each instead of a malloc and a
 * free, and the request's end is one walk over a handful of chunks. Nothing is freed on its own: hg_arena_grow
 * extends the latest allocation in place when it can, and otherwise copies (the old block stays until the end).
 *
 * Every allocation is aligned for any type (alignof(max_align_t)) unless asked otherwise; sizes are checked for
 * overflow, and an arena may have a limit on the bytes it takes from malloc, past which it returns NULL (a request
 * that tries to hold more than it may is refused, not the process). Out of memory is NULL too.
 *
 * Under AddressSanitizer (HG_SANITIZE builds) the unused part of every chunk is poisoned and each allocation is
 * followed by a poisoned red zone, so a read or write past the end of an allocation, or into memory not handed out,
 * is reported as it would be for malloc; freed chunks go back to malloc, so a use after hg_arena_free is reported
 * too.
 *
 * Not thread-safe: an arena belongs to one request on one thread. */
#ifndef HG_BASE_ARENA_H
#define HG_BASE_ARENA_H

#include <stddef.h>

typedef struct hg_arena_chunk hg_arena_chunk;

typedef struct hg_arena {
  hg_arena_chunk *chunks; /* newest first: allocations come from the first */
  size_t chunk_bytes;     /* the size of an ordinary chunk (larger allocations get a chunk of their own) */
  size_t limit_bytes;     /* most bytes the arena takes from malloc; 0: no limit */
  size_t taken_bytes;     /* bytes taken from malloc so far (chunks and their headers) */
  void *last;             /* the latest allocation, which hg_arena_grow may extend in place */
  size_t last_size;
} hg_arena;

#define HG_ARENA_MAX_ALIGN 4096 /* the largest alignment hg_arena_alloc_aligned accepts */

/* An empty arena: nothing is allocated until the first allocation. chunk_bytes 0 means 4096. */
void hg_arena_init(hg_arena *a, size_t chunk_bytes, size_t limit_bytes);

/* An arena that lives in its own first chunk (so a request's arena and its state cost one malloc); NULL when out of
 * memory. hg_arena_destroy frees it with everything it holds. */
hg_arena *hg_arena_new(size_t chunk_bytes, size_t limit_bytes);
void hg_arena_destroy(hg_arena *a);

/* size bytes aligned for any type; NULL when out of memory or past the limit. size 0 gives a valid pointer that
 * must not be read or written. */
void *hg_arena_alloc(hg_arena *a, size_t size);
/* The same with align, a power of two up to HG_ARENA_MAX_ALIGN (NULL otherwise). */
void *hg_arena_alloc_aligned(hg_arena *a, size_t size, size_t align);
/* n * size zeroed bytes; NULL when the product overflows. */
void *hg_arena_calloc(hg_arena *a, size_t n, size_t size);
/* p (an allocation of old_size bytes from this arena, or NULL) with room for new_size bytes, its first
 * min(old_size, new_size) bytes kept: in place when p is the latest allocation and its chunk has room, else a copy.
 * NULL when out of memory or past the limit (p is then unchanged). */
void *hg_arena_grow(hg_arena *a, void *p, size_t old_size, size_t new_size);
/* Copies with a NUL after them. */
char *hg_arena_strdup(hg_arena *a, const char *s);
char *hg_arena_memdup0(hg_arena *a, const void *src, size_t len);

/* Frees every chunk: the arena is empty again (its chunk size and limit kept) and every pointer it gave is gone.
 * Not for an arena made by hg_arena_new (hg_arena_destroy). */
void hg_arena_free(hg_arena *a);

#endif
