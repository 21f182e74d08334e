/* fuzz_lexicon_image.c — libFuzzer target for the image loader. The checksum is recomputed over the mutated
 * bytes before loading, so the fuzzer reaches the structural checks behind it: whatever an image claims, a
 * loaded image must scan without reading out of bounds or looping. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/crc32.h"
#include "hegui/hegui.h"

#define HEADER_CRC_OFFSET 24 /* img_header: magic[8], version, header_size, total_size, crc */
#define HEADER_SIZE 48

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *copy = malloc(size ? size : 1);
  if (!copy) return 0;
  memcpy(copy, data, size);
  if (size >= HEADER_SIZE && (size & 1)) { /* half the inputs keep their checksum as it is */
    uint32_t crc = hg_crc32(0, copy + HEADER_SIZE, size - HEADER_SIZE);
    memcpy(copy + HEADER_CRC_OFFSET, &crc, 4);
  }
  hg_lexicon *lex;
  hg_error err;
  if (hg_lexicon_from_image(copy, size, &lex, &err) == HG_OK) {
    static const char text[] =
        "法 轮 功 falungong flg 冰毒 兵读 national 64 ⑥④ 大麻哈鱼 abc ＡＢＣ 中国人民 中华人民共和国 the x ﬀ";
    hg_lexicon_scan(lex, text, sizeof text - 1, NULL, NULL, &err);
    hg_lexicon_stats s;
    hg_lexicon_stats_get(lex, &s);
    for (size_t i = 0; i < hg_lexicon_entry_count(lex); i++) {
      hg_entry_info e;
      hg_lexicon_entry(lex, i, &e);
    }
    hg_lexicon_unref(lex);
  }
  free(copy);
  return 0;
}
