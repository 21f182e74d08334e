/* classify_internal.h — the classifier image layout and the feature hashing shared by scoring and training.
 *
 * The image is little-endian and position-independent: a fixed header, a section table, then the sections at
 * 8-aligned offsets. Training and scoring must hash exactly the same features, so both go through
 * cls_features(); a change to it is a change of the image version. */
#ifndef HG_CLASSIFY_INTERNAL_H
#define HG_CLASSIFY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "hegui/classify.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the classifier image is read in place: little-endian only");

#define CLS_MAGIC "HGCLSF\x1a\x01"
#define CLS_VERSION 1u
#define CLS_NGRAM_MAX 3u
#define CLS_FEATURES_CHAR123 1u /* character 1-3-grams of the folded text, noise left out */

enum { CS_LABELS, CS_STRINGS, CS_WEIGHTS, CS_COUNT };

typedef struct cls_header {
  char magic[8];
  uint32_t version;
  uint32_t header_size; /* this header plus the section table */
  uint64_t total_size;
  uint32_t crc; /* CRC-32 of every byte after this header: the section table and the sections */
  uint32_t section_count;
  uint32_t label_count;
  uint32_t bucket_bits;
  uint32_t ngram_max;
  uint32_t feature_set;
  uint32_t tables_id; /* the fold tables the features were hashed with */
  uint32_t reserved;
  uint64_t reserved2;
} cls_header;
_Static_assert(sizeof(cls_header) == 64, "header layout");

typedef struct cls_section {
  uint64_t offset;
  uint64_t size;
} cls_section;

typedef struct cls_label {
  uint32_t name_off; /* into the strings section; NUL-terminated there */
  uint32_t name_len;
  char code[8];    /* canonical code, NUL-padded */
  float threshold; /* [0,1] */
  float scale;     /* weight = int8 * scale; finite, >= 0 */
  float bias;      /* finite */
  uint32_t reserved;
} cls_label;
_Static_assert(sizeof(cls_label) == 32, "label layout");

struct hg_classifier {
  int refs; /* atomic */
  unsigned char *owned;
  void *map;
  size_t map_len;
  const unsigned char *base;
  size_t size;
  const cls_header *hdr;
  const cls_label *labels;
  const char *strings;
  const int8_t *weights; /* [bucket][label] */
  uint32_t label_count;
};

uint32_t hg_tables_id(void);

/* Hashes the features of UTF-8 text into buckets (< 2^bits) and hands them to sink in batches. The text is folded
 * chunk_bytes at a time (cut at code point boundaries, the n-gram state carried across), so memory stays bounded
 * whatever the text's length; the features do not depend on chunk_bytes. Invalid UTF-8 is HG_ERR_UTF8 with
 * err->offset in the whole text. */
#define CLS_CHUNK_BYTES 65536
typedef void (*cls_sink)(void *ctx, const uint32_t *buckets, size_t n);
hg_status cls_walk(const char *text, size_t len, unsigned bits, size_t chunk_bytes, cls_sink sink, void *ctx,
                   hg_error *err);

/* All features of a text in one malloc-ed array (*out; NULL when there are none). */
hg_status cls_features(const char *text, size_t len, unsigned bits, uint32_t **out, size_t *count, hg_error *err);

/* Takes an image (owned or mapped), checks it and returns a model. */
hg_status cls_adopt_image(unsigned char *owned, void *map, size_t len, hg_classifier **out, hg_error *err);

#endif
