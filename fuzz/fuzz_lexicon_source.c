/* fuzz_lexicon_source.c — libFuzzer target for the lexicon source parser and compiler: any bytes either parse
 * (and then compile and scan) or are refused with an error; nothing crashes, leaks or reads out of bounds. */
#include <stddef.h>
#include <stdint.h>

#include "hegui/hegui.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  hg_lexicon_source *src;
  if (hg_lexicon_source_new(&src)) return 0;
  hg_error err;
  if (hg_lexicon_source_add_text(src, (const char *)data, size, "fuzz", NULL, &err) == HG_OK) {
    hg_compile_options o;
    hg_compile_options_init(&o);
    o.max_noise = size % 5;
    hg_lexicon *lex;
    if (hg_lexicon_compile(src, &o, &lex, &err) == HG_OK) {
      static const char text[] = "法 轮 功 falungong flg 冰毒 兵读 national 64 ⑥④ 大麻哈鱼 abc ＡＢＣ";
      hg_lexicon_scan(lex, text, sizeof text - 1, NULL, NULL, &err);
      if (size) hg_lexicon_scan(lex, (const char *)data, size, NULL, NULL, &err);
      hg_lexicon_unref(lex);
    }
  }
  hg_lexicon_source_free(src);
  return 0;
}
