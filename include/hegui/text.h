/* hegui/text.h — strict UTF-8, the fold that makes disguised text comparable, and the normalized view.
 *
 * Folding maps a code point to the form hegui compares: width, case, Traditional->Simplified, variant characters,
 * number and letter styles all collapse to one representative (U+FF21 'Ａ' and U+24B6 'Ⓐ' both become 'a'). Some
 * code points fold to several (U+2469 '⑩' -> "10"), some to nothing (zero-width and format characters). Every
 * folded code point also carries class flags: noise (punctuation, spaces, symbols, emoji) that noise-skipping
 * matching may step over, word characters (for whole-word rules), digits, Han. The tables are generated at build
 * time from Unicode and OpenCC data (tools/gen/gen_tables.py). */
#ifndef HEGUI_TEXT_H
#define HEGUI_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "hegui/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HG_FOLD_MAX 6 /* most code points one code point folds to */

enum {
  HG_CHAR_NOISE = 1u << 0, /* punctuation, separators, symbols, emoji, controls */
  HG_CHAR_WORD = 1u << 1,  /* letter or digit of a script that separates words with spaces */
  HG_CHAR_DIGIT = 1u << 2, /* ASCII digit after folding */
  HG_CHAR_HAN = 1u << 3,   /* CJK ideograph */
  HG_CHAR_ALNUM = 1u << 4  /* any letter or number */
};

/* Decodes one code point from s[0..len). Returns its length in bytes (1-4), 0 when the bytes are a valid but
 * incomplete start of a sequence, or -1 when they can never be valid UTF-8 (overlong forms, surrogates, values
 * above U+10FFFF and stray continuation bytes are all invalid). */
int hg_utf8_decode(const uint8_t *s, size_t len, uint32_t *cp);

/* Checks that text is valid UTF-8. On failure *bad_offset is the byte offset of the first invalid sequence. */
hg_status hg_utf8_validate(const char *text, size_t len, size_t *bad_offset);

/* Encodes cp into out (at least 4 bytes); returns the length, 0 for a value that is not a scalar value. */
size_t hg_utf8_encode(uint32_t cp, char *out);

/* Folds one code point. Writes the folded code points to out and returns how many (0 for ignorable ones). */
size_t hg_fold(uint32_t cp, uint32_t out[HG_FOLD_MAX]);

/* Class flags (HG_CHAR_*) of a folded code point. */
unsigned hg_char_flags(uint32_t folded_cp);

/* The toneless Mandarin reading of a character (Unihan kMandarin, first value; 'v' stands for u-umlaut), or NULL.
 * Characters that fold to one with a reading share it. */
const char *hg_pinyin(uint32_t cp);

/* The tone of the character's own first reading (Unihan kMandarin, not folded): 1-4, 5 for the neutral tone, 0 for
 * a character without a reading. What a spoken label says with hg_pinyin. */
unsigned hg_pinyin_tone(uint32_t cp);

/* Index of the reading (1..hg_pinyin_count()-1), 0 when none; stable for one build of the tables. */
unsigned hg_pinyin_id(uint32_t cp);
unsigned hg_pinyin_count(void);
const char *hg_pinyin_syllable(unsigned id);

/* One code point of the normalized view: the folded code point, its class flags and the byte span of the source
 * code point it came from. The streaming view (hg_normalizer) also fills src_cp and the HG_NORM_* bits of flags. */
typedef struct hg_norm_char {
  uint32_t cp;
  uint32_t flags;
  size_t src_start;
  size_t src_end;
  uint32_t src_cp; /* the source code point (its UTF-8 bytes are src_end - src_start long) */
} hg_norm_char;

/* View bits above the HG_CHAR_* class flags. */
enum {
  HG_NORM_FIRST = 1u << 8,     /* the first (or only) folded code point of its source code point */
  HG_NORM_SOLE = 1u << 9,      /* the source folds to exactly this one code point */
  HG_NORM_BREAK = 1u << 10,    /* a line break */
  HG_NORM_IGNORABLE = 1u << 11 /* the source folds to nothing (zero-width, format): cp is 0; kept for byte lanes */
};

/* Builds the normalized view of a whole text. *out is allocated with malloc; the caller frees it. Ignorable code
 * points leave no trace; everything else maps back to exact source bytes. */
hg_status hg_normalize(const char *text, size_t len, hg_norm_char **out, size_t *count, hg_error *err);

/* ---- the streaming normalized view --------------------------------------------------------------------------
 * Decodes and folds a stream once for every detector that reads it (the moderator feeds the lexicon, PII,
 * takedown and rule scanners from one view). Life cycle: hg_normalizer_new -> _feed ... _feed -> _finish -> _free.
 * Chunks may be cut anywhere, also inside a UTF-8 sequence: the cut sequence is completed by the next chunk.
 * Byte offsets count from the start of the stream. */
typedef struct hg_normalizer hg_normalizer;
hg_status hg_normalizer_new(hg_normalizer **out);
/* Normalizes the next chunk. *chars receives the view of every code point the chunk completed, in order,
 * ignorable ones included (cp 0, HG_NORM_IGNORABLE); the array belongs to the normalizer and stays valid until
 * the next call. Invalid UTF-8 is HG_ERR_UTF8 with err->offset at the bad sequence; the normalizer then refuses
 * further input until reset. */
hg_status hg_normalizer_feed(hg_normalizer *nz, const char *chunk, size_t len, const hg_norm_char **chars, size_t *n,
                             hg_error *err);
/* Ends the stream: an incomplete UTF-8 sequence at the end is HG_ERR_UTF8. */
hg_status hg_normalizer_finish(hg_normalizer *nz, hg_error *err);
/* Bytes fed so far (a cut sequence included). */
size_t hg_normalizer_offset(const hg_normalizer *nz);
void hg_normalizer_reset(hg_normalizer *nz);
void hg_normalizer_free(hg_normalizer *nz);

/* Folds a whole UTF-8 text into a new malloc-ed, NUL-terminated UTF-8 string. With skip_noise, noise code points
 * are left out too. */
hg_status hg_fold_text(const char *text, size_t len, int skip_noise, char **out, size_t *out_len, hg_error *err);

#ifdef __cplusplus
}
#endif
#endif
