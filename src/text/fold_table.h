/* fold_table.h — layout of the generated tables (tools/gen/gen_tables.py writes fold_data.c).
 *
 * A two-stage table indexed by code point: stage1[cp >> 7] names a block of 128 values in stage2. A value holds
 * in its low 21 bits the folded code point minus the source (mod 2^21) so that identical blocks share storage, or,
 * with FT_EXPAND, an index into hg_fold_expansions ([count, cp, cp, ...]). The flag bits describe the (first)
 * folded code point. */
#ifndef HG_FOLD_TABLE_H
#define HG_FOLD_TABLE_H

#include <stdint.h>

#define FT_BLOCK_SHIFT 7
#define FT_CP_MASK 0x1FFFFFu
#define FT_EXPAND (1u << 21)
#define FT_FLAG_SHIFT 22 /* bits 22-26 are the HG_CHAR_* flags */
#define FT_NOISE (1u << 22)
#define FT_WORD (1u << 23)
#define FT_DIGIT (1u << 24)
#define FT_HAN (1u << 25)
#define FT_ALNUM (1u << 26)
#define FT_BREAK (1u << 27) /* line and paragraph breaks (also noise); the lexicon treats them as any noise */
#define FT_IGNORABLE (1u << 28)
#define FT_CHAR_FLAGS(v) (((v) >> FT_FLAG_SHIFT) & 0x1Fu)

extern const uint16_t hg_fold_stage1[];
extern const uint32_t hg_fold_stage2[];
extern const uint32_t hg_fold_expansions[];
extern const uint16_t hg_pinyin_stage1[];
extern const uint16_t hg_pinyin_stage2[];
extern const char *const hg_pinyin_syllables[];
extern const uint16_t hg_tone_stage1[];
extern const uint8_t hg_tone_stage2[];
extern const unsigned hg_pinyin_syllable_count;
extern const unsigned hg_fold_mapped_count;
extern const unsigned hg_fold_t2s_count;
extern const uint32_t hg_fold_tables_id;

static inline uint32_t hg_fold_value(uint32_t cp) {
  return hg_fold_stage2[((uint32_t)hg_fold_stage1[cp >> FT_BLOCK_SHIFT] << FT_BLOCK_SHIFT) |
                        (cp & ((1u << FT_BLOCK_SHIFT) - 1))];
}

#endif
