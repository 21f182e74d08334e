/* label/carrier.h — what a file format tells the label core: where its label carriers are (scan) and how to put one
 * label in (write). The core (filelabel.c) owns the label object, the signatures and the atomic write.
 *
 * Invariant every format keeps: the bytes a scan feeds to lf_hash() are the same before and after its write, so the
 * content hash does not depend on the label. Size fields that change with the label (a RIFF size, a block's
 * last-flag) are therefore never hashed; the content they frame is. */
#ifndef HG_LABEL_CARRIER_H
#define HG_LABEL_CARRIER_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "hegui/filelabel.h"

#define LF_MAX_LABELS 8

typedef struct lf_scan {
  crypto_generichash_state hash;
  int no_hash;                   /* 1: lf_hash does nothing (a read-back check of a writer's output, see filelabel.c) */
  int found;                     /* carriers found that hold a label */
  int unreadable;                /* carriers that hold something that is not a label */
  hg_aigc labels[LF_MAX_LABELS]; /* the first LF_MAX_LABELS found */
  char carriers[LF_MAX_LABELS][48];
  size_t offsets[LF_MAX_LABELS];
} lf_scan;

typedef struct lf_buf {
  uint8_t *data;
  size_t len, cap;
} lf_buf;

hg_status lf_put(lf_buf *b, const void *data, size_t len);
hg_status lf_put_u32be(lf_buf *b, uint32_t v);
hg_status lf_put_u32le(lf_buf *b, uint32_t v);

void lf_hash(lf_scan *s, const void *data, size_t len);
/* Records a carrier's text (a label in any form Appendix E's readers accept). */
void lf_found_text(lf_scan *s, const char *carrier, size_t offset, const char *text, size_t len);
/* Records the label inside an XMP packet, when it holds one (TC260:AIGC, attribute or element). */
void lf_found_xmp(lf_scan *s, const char *carrier, size_t offset, const char *xmp, size_t len);
/* Undoes XML's character escapes into out (cap bytes, NUL-terminated); the length, or -1 when the value does not
 * fit, is malformed, or holds a character outside ASCII (a label is ASCII). */
long lf_xml_unescape(const char *v, size_t len, char *out, size_t cap);
/* 1 when an XMP packet holds a TC260 AIGC property. */
int lf_xmp_has_label(const char *xmp, size_t len);
/* Builds an XMP packet carrying label_json as TC260:AIGC: a new packet, or the existing one (may be NULL) with its
 * TC260:AIGC replaced or a description added, every other property kept. */
hg_status lf_xmp_build(const char *existing, size_t existing_len, const char *label_json, lf_buf *out, hg_error *err);

static inline uint32_t lf_u32be(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint32_t lf_u32le(const uint8_t *p) {
  return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}
static inline uint16_t lf_u16be(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

typedef struct lf_format {
  const char *name;
  int (*sniff)(const uint8_t *data, size_t len, const char *path);
  hg_status (*scan)(const uint8_t *data, size_t len, lf_scan *s, hg_error *err);
  /* Writes the whole file with every existing carrier of a label removed and label_json in the preferred one. */
  hg_status (*write)(const uint8_t *data, size_t len, const char *label_json, lf_buf *out, hg_error *err);
} lf_format;

extern const lf_format lf_png, lf_jpeg, lf_webp, lf_mp4, lf_ogg, lf_ooxml, lf_wav, lf_mp3, lf_flac, lf_pdf, lf_markdown;

#endif
