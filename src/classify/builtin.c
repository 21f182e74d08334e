/* builtin.c — the default classifier model, embedded in the library so that hegui classifies with no file around
 * it (`classifier.model: builtin`, `hegui classify` without --model). The model is data/models/hegui-risk.hgcls,
 * rebuilt by `make model` (data/models/PROVENANCE.md says from what); the build assembles its bytes into this
 * object with .incbin (a C array of several megabytes compiles slowly; the bytes are the same). */
#include "hegui/classify.h"

#ifndef HG_BUILTIN_MODEL_PATH
#error "HG_BUILTIN_MODEL_PATH must name the model file (CMakeLists.txt sets it)"
#endif

__asm__(".pushsection .rodata.hg_builtin_model,\"a\",@progbits\n"
        ".balign 64\n"
        ".globl hg_builtin_model_start\n"
        ".hidden hg_builtin_model_start\n"
        "hg_builtin_model_start:\n"
        ".incbin \"" HG_BUILTIN_MODEL_PATH "\"\n"
        ".globl hg_builtin_model_end\n"
        ".hidden hg_builtin_model_end\n"
        "hg_builtin_model_end:\n"
        ".popsection\n");

extern const unsigned char hg_builtin_model_start[] __attribute__((visibility("hidden")));
extern const unsigned char hg_builtin_model_end[] __attribute__((visibility("hidden")));

hg_status hg_classifier_builtin(hg_classifier **out, hg_error *err) {
  return hg_classifier_from_image(hg_builtin_model_start, (size_t)(hg_builtin_model_end - hg_builtin_model_start), out,
                                  err);
}
