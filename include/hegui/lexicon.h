/* hegui/lexicon.h — lexicons: parse, compile to an immutable image, save/map, and scan text in one shot or as a
 * stream that reports hits as soon as they are certain and how many trailing bytes must still be held back.
 *
 * Life cycle (curl-style handles):
 *   hg_lexicon_source_new -> _add_text/_add_file (plain lists and hegui TSV) -> hg_lexicon_compile -> hg_lexicon
 *   hg_lexicon_open (image file, mapped; or a source file, compiled) -> hg_lexicon
 *   hg_scanner_new(lexicon) -> _feed ... _feed -> _finish -> _free   (or hg_lexicon_scan for one buffer)
 * A compiled hg_lexicon is immutable and reference counted: any number of scanners on any threads may share it,
 * and hg_lexicon_slot swaps in a new one while scans on the old one finish. */
#ifndef HEGUI_LEXICON_H
#define HEGUI_LEXICON_H

#include <stddef.h>
#include <stdint.h>

#include "hegui/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Risk categories: the 31 risks of TC260-003 Appendix A, then pii and custom, then hegui's abuse codes (insult,
 * spam, fraud, malware: what the strike ladder acts on beyond the 31 risks; the classifier reports them and a
 * lexicon entry may use them). Codes as written in lexicons. The numbers are stored in lexicon images: new codes
 * are added at the end. */
typedef enum hg_category {
  HG_CAT_A1A,
  HG_CAT_A1B,
  HG_CAT_A1C,
  HG_CAT_A1D,
  HG_CAT_A1E,
  HG_CAT_A1F,
  HG_CAT_A1G,
  HG_CAT_A1H,
  HG_CAT_A2A,
  HG_CAT_A2B,
  HG_CAT_A2C,
  HG_CAT_A2D,
  HG_CAT_A2E,
  HG_CAT_A2F,
  HG_CAT_A2G,
  HG_CAT_A2H,
  HG_CAT_A2I,
  HG_CAT_A3A,
  HG_CAT_A3B,
  HG_CAT_A3C,
  HG_CAT_A3D,
  HG_CAT_A3E,
  HG_CAT_A4A,
  HG_CAT_A4B,
  HG_CAT_A4C,
  HG_CAT_A4D,
  HG_CAT_A4E,
  HG_CAT_A4F,
  HG_CAT_A4G,
  HG_CAT_A5A,
  HG_CAT_A5B,
  HG_CAT_PII,
  HG_CAT_CUSTOM,
  HG_CAT_INSULT,
  HG_CAT_SPAM,
  HG_CAT_FRAUD,
  HG_CAT_MALWARE,
  HG_CATEGORY_COUNT
} hg_category;

/* "A1a" ... "A5b", "pii", "custom", "insult", "spam", "fraud", "malware". */
const char *hg_category_code(hg_category cat);
/* A short English description of the risk. */
const char *hg_category_title(hg_category cat);
/* Parses a code (case-insensitive; "A1a", "A.1a" and "a1a" are the same). Returns HG_ERR_PARSE when unknown. */
hg_status hg_category_parse(const char *code, size_t len, hg_category *out);

typedef enum hg_action {
  HG_ACTION_BLOCK = 0,  /* refuse / stop the output */
  HG_ACTION_REVIEW = 1, /* let through, queue for a person */
  HG_ACTION_REDACT = 2, /* replace the span */
  HG_ACTION_LOG = 3,    /* record only */
  HG_ACTION_ALLOW = 4   /* allowlist: neutralises entries inside the span it matches */
} hg_action;
const char *hg_action_name(hg_action action);

/* Match modes; an entry may have several. */
typedef enum hg_mode {
  HG_MODE_EXACT = 1u << 0,    /* the bytes as written */
  HG_MODE_FOLDED = 1u << 1,   /* after folding (default) */
  HG_MODE_NOISE = 1u << 2,    /* folded, up to max_noise noise code points between any two characters */
  HG_MODE_COLLAPSE = 1u << 3, /* folded, runs of one repeated character count once */
  HG_MODE_PINYIN = 1u << 4,   /* full pinyin or initials of the entry, spaces optional (off by default) */
  HG_MODE_HOMOPHONE = 1u << 5 /* same syllables, any characters (off by default) */
} hg_mode;
#define HG_MODE_ALL 0x3Fu
/* Name of one mode ("exact", "folded", "noise", "collapse", "pinyin", "homophone"). */
const char *hg_mode_name(hg_mode mode);

#define HG_ENTRY_MAX_CHARS 256 /* longest entry, in code points after folding */
/* A lexicon file (source or image) is a regular file of at most this many bytes; anything else is refused on open. */
#define HG_LEXICON_MAX_FILE_BYTES (256ull << 20)

typedef struct hg_entry_info {
  const char *text; /* as written in the lexicon (NUL-terminated) */
  size_t text_len;
  hg_category category;
  unsigned severity; /* 1 (lowest) .. 5 */
  hg_action action;
  unsigned modes; /* HG_MODE_* bits */
} hg_entry_info;

/* ---- sources ---------------------------------------------------------------------------------------------- */

typedef struct hg_lexicon_source hg_lexicon_source;

/* Defaults for lines that leave columns out (plain lists leave all out). */
typedef struct hg_source_defaults {
  hg_category category; /* default HG_CAT_CUSTOM */
  unsigned severity;    /* default 3 */
  hg_action action;     /* default HG_ACTION_BLOCK */
  unsigned modes;       /* default HG_MODE_FOLDED */
  /* Added to the modes of a plain-list line (no columns) whose entry holds two or more CJK ideographs: default
   * HG_MODE_NOISE, so that 法 轮 功 is found by a list that says 法轮功 (docs/lexicon.md has the false-positive cost);
   * 0 when the caller chose the modes itself. Latin entries keep whole-word matching. */
  unsigned plain_cjk_modes;
} hg_source_defaults;

void hg_source_defaults_init(hg_source_defaults *d);

hg_status hg_lexicon_source_new(hg_lexicon_source **out);
void hg_lexicon_source_free(hg_lexicon_source *src);
/* Parses lexicon text: one entry per line; a line with tabs is hegui TSV `entry category severity action modes`
 * (trailing columns optional, empty ones default); '#' starts a comment line. name is used in error messages.
 * Errors name the line. Nothing is added when an error is returned. */
hg_status hg_lexicon_source_add_text(hg_lexicon_source *src, const char *text, size_t len, const char *name,
                                     const hg_source_defaults *defaults, hg_error *err);
hg_status hg_lexicon_source_add_file(hg_lexicon_source *src, const char *path, const hg_source_defaults *defaults,
                                     hg_error *err);
/* Lenient parsing (off by default): a line that cannot be an entry (too long, not UTF-8, bad columns) is skipped
 * and counted instead of failing the whole text; the first HG_SOURCE_SKIP_MESSAGES messages (file:line: why) are
 * kept. Running out of memory still fails. */
#define HG_SOURCE_SKIP_MESSAGES 20
void hg_lexicon_source_set_lenient(hg_lexicon_source *src, int lenient);
size_t hg_lexicon_source_skipped(const hg_lexicon_source *src);
/* The i-th kept message (i < min(skipped, HG_SOURCE_SKIP_MESSAGES)), or NULL. */
const char *hg_lexicon_source_skip_message(const hg_lexicon_source *src, size_t i);
hg_status hg_lexicon_source_add_entry(hg_lexicon_source *src, const hg_entry_info *entry, hg_error *err);
size_t hg_lexicon_source_count(const hg_lexicon_source *src);
/* Entries dropped because the same text with the same action was already present. */
size_t hg_lexicon_source_duplicates(const hg_lexicon_source *src);

/* ---- compiled lexicons ------------------------------------------------------------------------------------ */

typedef struct hg_lexicon hg_lexicon;

typedef struct hg_compile_options {
  unsigned max_noise; /* noise code points allowed between two entry characters in noise mode; default 3 */
} hg_compile_options;
void hg_compile_options_init(hg_compile_options *o);

hg_status hg_lexicon_compile(const hg_lexicon_source *src, const hg_compile_options *options, hg_lexicon **out,
                             hg_error *err);
/* Writes the image (atomically: a temporary file renamed into place). */
hg_status hg_lexicon_save(const hg_lexicon *lex, const char *path, hg_error *err);
/* Opens a compiled image (mapped read-only) or, when the file is not an image, parses and compiles it as a
 * source with default options. A truncated, corrupt or other-version image is refused with HG_ERR_CORRUPT. */
hg_status hg_lexicon_open(const char *path, hg_lexicon **out, hg_error *err);
/* Uses an image already in memory; the bytes are copied. */
hg_status hg_lexicon_from_image(const void *data, size_t len, hg_lexicon **out, hg_error *err);
/* The image bytes of a compiled lexicon (valid while the lexicon lives). */
const void *hg_lexicon_image(const hg_lexicon *lex, size_t *len);

hg_lexicon *hg_lexicon_ref(hg_lexicon *lex);
void hg_lexicon_unref(hg_lexicon *lex);

size_t hg_lexicon_entry_count(const hg_lexicon *lex);
hg_status hg_lexicon_entry(const hg_lexicon *lex, size_t index, hg_entry_info *out);
unsigned hg_lexicon_max_noise(const hg_lexicon *lex);

typedef struct hg_lexicon_stats {
  size_t total;                           /* entries that are not allowlist entries */
  size_t allow;                           /* allowlist entries */
  size_t per_category[HG_CATEGORY_COUNT]; /* non-allowlist entries per category */
  size_t states;                          /* automaton states over all lanes */
  size_t image_bytes;
} hg_lexicon_stats;
void hg_lexicon_stats_get(const hg_lexicon *lex, hg_lexicon_stats *out);

/* TC260-003 keyword-library minimums: >= 10,000 entries, >= 200 for each A.1 risk, >= 100 for each A.2 risk. */
#define HG_TC260_MIN_TOTAL 10000
#define HG_TC260_MIN_A1 200
#define HG_TC260_MIN_A2 100
int hg_lexicon_stats_meets_tc260(const hg_lexicon_stats *stats);

/* A slot holding the current lexicon for many readers: acquire returns a new reference (release it with
 * hg_lexicon_unref); replace installs a new lexicon, and the old one lives until its last reader lets go. */
typedef struct hg_lexicon_slot hg_lexicon_slot;
hg_status hg_lexicon_slot_new(hg_lexicon *initial, hg_lexicon_slot **out);
hg_lexicon *hg_lexicon_slot_acquire(hg_lexicon_slot *slot);
void hg_lexicon_slot_replace(hg_lexicon_slot *slot, hg_lexicon *next);
void hg_lexicon_slot_free(hg_lexicon_slot *slot);

/* ---- scanning --------------------------------------------------------------------------------------------- */

typedef struct hg_hit {
  uint32_t entry; /* index for hg_lexicon_entry */
  hg_mode mode;   /* how it matched */
  size_t start;   /* byte span in the whole input stream, [start, end) */
  size_t end;
} hg_hit;

/* Called for each hit as soon as it is certain, in order of start (then longer first). Return non-zero to stop:
 * the feed or finish call then returns HG_OK and the scanner ignores further input. */
typedef int (*hg_hit_fn)(void *ctx, const hg_hit *hit);

typedef struct hg_scanner hg_scanner;

hg_status hg_scanner_new(hg_lexicon *lex, hg_hit_fn on_hit, void *ctx, hg_scanner **out);
/* Feeds the next chunk, of any size, cut anywhere (also inside a UTF-8 sequence). Invalid UTF-8 stops the scan
 * with HG_ERR_UTF8 and the stream offset of the bad sequence in err->offset. */
hg_status hg_scanner_feed(hg_scanner *sc, const char *chunk, size_t len, hg_error *err);
/* Feeds the next records of a normalized view (hegui/text.h, hg_normalizer) instead of bytes, so that several
 * scanners share one decoding and folding of the text. Records of one source code point are never split between
 * calls. stream_bytes is the number of bytes fed to the view so far (it counts a cut UTF-8 sequence, so that
 * pending_suffix_len stays right). Hits are exactly those hg_scanner_feed finds in the same bytes. */
typedef struct hg_norm_char hg_norm_char;
hg_status hg_scanner_feed_view(hg_scanner *sc, const hg_norm_char *v, size_t n, size_t stream_bytes, hg_error *err);
/* Ends the stream: pending hits are decided and reported. An incomplete UTF-8 sequence at the end is an error. */
hg_status hg_scanner_finish(hg_scanner *sc, hg_error *err);
/* Number of trailing bytes of the input fed so far that could still become part of a hit (or are an incomplete
 * UTF-8 sequence). Every byte before them is final: it can never be part of a hit not yet reported. */
size_t hg_scanner_pending_suffix_len(const hg_scanner *sc);
/* Bytes fed so far. */
size_t hg_scanner_offset(const hg_scanner *sc);
/* Starts a new stream on the same lexicon. */
void hg_scanner_reset(hg_scanner *sc);
void hg_scanner_free(hg_scanner *sc);

/* One-shot scan of a buffer. */
hg_status hg_lexicon_scan(hg_lexicon *lex, const char *text, size_t len, hg_hit_fn on_hit, void *ctx, hg_error *err);

#ifdef __cplusplus
}
#endif
#endif
