/* source_internal.h — the parsed lexicon source, read by the compiler. */
#ifndef HG_SOURCE_INTERNAL_H
#define HG_SOURCE_INTERNAL_H

#include <stdint.h>

#include "hegui/lexicon.h"

typedef struct src_entry {
  char *text;
  size_t text_len;
  hg_category category;
  unsigned severity;
  hg_action action;
  unsigned modes;
} src_entry;

typedef struct src_slot {
  uint64_t h;
  size_t index;
} src_slot;

struct hg_lexicon_source {
  src_entry *entries;
  size_t count, cap;
  size_t duplicates;
  src_slot *hash; /* open addressing over (text, action) for duplicate detection */
  size_t hash_cap;
  int lenient; /* skip bad lines (hg_lexicon_source_set_lenient) */
  size_t skipped;
  char skip_msg[HG_SOURCE_SKIP_MESSAGES][sizeof(((hg_error *)0)->message)];
};

/* Reads a whole file into a malloc-ed buffer. */
hg_status hg_read_file(const char *path, char **out, size_t *len, hg_error *err);
struct stat;
/* A lexicon file, opened for reading: regular files only, without blocking, size capped (source.c). Returns the
 * descriptor and fills sb, or -1 with err filled. */
int hg_open_lexicon_file(const char *path, struct stat *sb, hg_error *err);

#endif
