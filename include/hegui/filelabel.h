/* hegui/filelabel.h — implicit labels (GB 45438-2025 Appendix E) in real files: images, audio, documents.
 *
 * One format-independent core: the seven-field AIGC object (strict writer, tolerant reader), two Ed25519
 * signatures (ReservedCode1 by the producer, ReservedCode2 by whoever set Label and the propagator fields last),
 * and a content hash that leaves the label's carrier out, so adding or replacing a label never changes it. Each
 * file format only says where its carriers are (src/label/<format>.c). A file is rewritten atomically (temporary
 * file + rename); the original is untouched on any error. Exactly one carrier is written, every carrier is read. */
#ifndef HEGUI_FILELABEL_H
#define HEGUI_FILELABEL_H

#include <stddef.h>
#include <stdint.h>

#include "hegui/label.h"
#include "hegui/status.h"

#ifdef __cplusplus
extern "C" {
#endif

enum hg_aigc_field {
  HG_AIGC_LABEL,
  HG_AIGC_PRODUCER,
  HG_AIGC_PRODUCE_ID,
  HG_AIGC_RESERVED1,
  HG_AIGC_PROPAGATOR,
  HG_AIGC_PROPAGATE_ID,
  HG_AIGC_RESERVED2,
  HG_AIGC_FIELDS
};
#define HG_AIGC_VALUE_MAX 256

/* The label object. Every value is a NUL-terminated string, possibly empty; Appendix E's names in field order. */
typedef struct hg_aigc {
  char value[HG_AIGC_FIELDS][HG_AIGC_VALUE_MAX + 1];
} hg_aigc;

/* Appendix E's name of a field ("Label", "ContentProducer", ...). */
const char *hg_aigc_field_name(enum hg_aigc_field field);

/* Tolerant reader: wrapped {"AIGC":{...}} or unwrapped, a JSON string holding either, member names in any case.
 * Values outside the Appendix E character set are kept out (HG_ERR_CORRUPT); a missing member reads as "". */
hg_status hg_aigc_parse(const char *json, size_t len, hg_aigc *out, hg_error *err);

/* Strict writer: the wrapped form in Appendix E's order; Label must be "1", "2" or "3", every other value empty or
 * Appendix E characters only. *json is malloc-ed. */
hg_status hg_aigc_format(const hg_aigc *label, char **json, hg_error *err);

/* 1 when both labels hold the same values. */
int hg_aigc_equal(const hg_aigc *a, const hg_aigc *b);

typedef enum hg_sig_state { HG_SIG_ABSENT = 0, HG_SIG_VALID = 1, HG_SIG_INVALID = 2 } hg_sig_state;

#define HG_LABEL_CONTENT_HASH_BYTES 32 /* BLAKE2b-256 */

/* What reading a file found. */
typedef struct hg_label_report {
  const char *format;    /* "png", "jpeg", ... */
  int labels_found;      /* label carriers found (the same label in two carriers counts twice) */
  int conflict;          /* two carriers hold different labels */
  int unreadable;        /* carriers whose value is not a label */
  hg_aigc label;         /* the first label found */
  char carrier[48];      /* where it was: "png iTXt XMP", "wav AIGC chunk", ... */
  size_t carrier_offset; /* byte offset of that carrier in the file */
  uint8_t content_hash[HG_LABEL_CONTENT_HASH_BYTES]; /* of the file without its label carriers */
  /* filled by hg_label_report_verify */
  hg_sig_state producer_signature;   /* ReservedCode1: ContentProducer, ProduceID, content hash at labelling */
  hg_sig_state propagator_signature; /* ReservedCode2: all other fields, ReservedCode1, current content hash */
  int content_unchanged;             /* 1 same as when labelled, 0 changed, -1 unknown (no producer hash) */
  int intact;                        /* the verdict: one label, every signature present valid, content unchanged */
  char problem[200];                 /* why intact is 0, for people */
} hg_label_report;

/* Reads the labels of a file. HG_OK even when there is no label (labels_found = 0); HG_ERR_PARSE with the file name
 * and offset when the file is not a well-formed file of a format hegui knows. */
hg_status hg_label_file_read(const char *path, hg_label_report *report, hg_error *err);

/* The same over bytes in memory; format is a name ("png") or NULL to detect it from the first bytes. */
hg_status hg_label_buffer_read(const char *format, const uint8_t *data, size_t len, hg_label_report *report,
                               hg_error *err);

/* Checks the signatures of report->label against up to nkeys public keys (any key may have made either signature)
 * and sets the verdict fields. */
void hg_label_report_verify(hg_label_report *report, const uint8_t (*public_keys)[HG_LABEL_PUBLIC_KEY_BYTES],
                            size_t nkeys);

typedef struct hg_label_add_options {
  /* producer mode (platform = 0): a new label, Label "1", propagator = producer on first write */
  const char *producer;
  const char *produce_id;
  /* platform mode (platform = 1): keep the producer's fields and ReservedCode1, set these */
  int platform;
  const char *label; /* "1", "2" or "3"; NULL keeps the existing one (platform) or "1" (producer) */
  const char *propagator;
  const char *propagate_id;
} hg_label_add_options;

/* Writes the label into the file at path (atomically) and fills report with what the file now carries. */
hg_status hg_label_file_add(const char *path, const hg_label_add_options *options,
                            const uint8_t secret_key[HG_LABEL_SECRET_KEY_BYTES], hg_label_report *report,
                            hg_error *err);

/* hg_label_file_add in two steps, for callers that make many files durable at once (`hegui label add --sync
 * batch`): stage writes the labelled file to a temporary beside the file (the target of a symbolic link), and
 * commit renames it over the file; the file is untouched until commit, and discard removes the temporary.
 * Flags: HG_LABEL_NO_SYNC leaves out the fsync of the temporary (stage) and of the directory (commit): the caller
 * then syncs the file system itself (syncfs) between staging and committing and again after committing.
 * HG_LABEL_FULL_CHECK also hashes the written bytes again and compares the content hash (by default the output is
 * parsed and its label read back, and the content is not hashed twice; hg_label_file_add uses the default). */
#define HG_LABEL_NO_SYNC 1u
#define HG_LABEL_FULL_CHECK 2u
typedef struct hg_label_staged {
  char *tmp, *target; /* malloc-ed; freed by commit or discard */
} hg_label_staged;
hg_status hg_label_file_stage(const char *path, const hg_label_add_options *options,
                              const uint8_t secret_key[HG_LABEL_SECRET_KEY_BYTES], unsigned flags,
                              hg_label_report *report, hg_label_staged *staged, hg_error *err);
hg_status hg_label_staged_commit(hg_label_staged *staged, unsigned flags, hg_error *err);
void hg_label_staged_discard(hg_label_staged *staged);

/* The same over bytes in memory: *out (malloc-ed, *out_len bytes) is the labelled file. */
hg_status hg_label_buffer_add(const char *format, const uint8_t *data, size_t len, const hg_label_add_options *options,
                              const uint8_t secret_key[HG_LABEL_SECRET_KEY_BYTES], uint8_t **out, size_t *out_len,
                              hg_error *err);

/* The format name for a file's first bytes (and its name, for text formats), or NULL. */
const char *hg_label_format_detect(const uint8_t *data, size_t len, const char *path);

#ifdef __cplusplus
}
#endif
#endif
