/* hegui/guard.h — external guard models as one more detector: the request each guard model expects and the
 * reading of its answer, with the mapping of its categories onto TC260-003 risk codes.
 *
 * A guard model is served by the provider behind any OpenAI-compatible chat endpoint (vLLM, SGLang, TGI, Ollama):
 * Qwen3Guard-Gen, Llama Guard 3 (and its vision variant), ShieldGemma, or a general model with a judging prompt.
 * This header is the pure part: hg_guard_build writes the body of a POST /v1/chat/completions for one judgment,
 * hg_guard_parse reads the completion that comes back. The network side (concurrency cap, timeout, retries,
 * cache, failing open or closed) is the gateway's (docs/guard.md).
 *
 * Life cycle: nothing to create; both calls are re-entrant. A verdict's strings are copied into it. */
#ifndef HEGUI_GUARD_H
#define HEGUI_GUARD_H

#include <stddef.h>

#include "hegui/lexicon.h"
#include "hegui/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hg_guard_format {
  HG_GUARD_QWEN3GUARD,  /* answers "Safety: Safe|Unsafe|Controversial" and "Categories: A, B" */
  HG_GUARD_LLAMAGUARD3, /* answers "safe", or "unsafe" and a line "S1,S10" */
  HG_GUARD_SHIELDGEMMA, /* answers Yes/No to one policy; the score is P(Yes) from the top log-probabilities */
  HG_GUARD_JUDGE        /* a general model told by a system prompt to answer as Qwen3Guard does, with TC260 codes */
} hg_guard_format;
#define HG_GUARD_FORMAT_COUNT 4

const char *hg_guard_format_name(hg_guard_format f); /* "qwen3guard", "llamaguard3", "shieldgemma", "judge" */
hg_status hg_guard_format_parse(const char *name, hg_guard_format *out);

/* One judgment: a prompt (input direction), or a prompt and the answer to it (output direction). */
typedef struct hg_guard_request {
  hg_guard_format format;
  const char *model; /* the model name sent to the endpoint */
  const char *prompt;
  size_t prompt_len;
  const char *answer; /* NULL: the prompt is judged */
  size_t answer_len;
  const char *const *image_urls; /* image parts sent with the prompt (vision guards); data: URLs or https */
  size_t image_count;
  const char *policy; /* shieldgemma: the one principle judged; judge: the system prompt (NULL: the default) */
} hg_guard_request;

/* Writes the JSON body (malloc-ed, NUL-terminated) for POST /v1/chat/completions. Text must be UTF-8. */
hg_status hg_guard_build(const hg_guard_request *r, char **body, size_t *len, hg_error *err);

#define HG_GUARD_MAX_CATEGORIES 16
typedef struct hg_guard_verdict {
  int unsafe;        /* 1: the guard says unsafe (for shieldgemma: score >= the threshold given to parse) */
  int controversial; /* qwen3guard's third answer */
  float score;       /* 1 or 0 for the text formats; P(Yes) for shieldgemma */
  size_t category_count;
  char categories[HG_GUARD_MAX_CATEGORIES][48]; /* as the guard wrote them, trimmed ("Violent", "S10", "A2e") */
} hg_guard_verdict;

/* Reads an OpenAI chat completion (the whole response body) from a guard of the given format. An answer that is
 * not a completion, or whose text does not follow the format, is HG_ERR_PARSE with a message saying what was
 * expected and what came: the caller then applies its on_error rule, never "safe". */
hg_status hg_guard_parse(hg_guard_format f, const char *body, size_t len, float threshold, hg_guard_verdict *out,
                         hg_error *err);

/* The default risk code of a guard category (Qwen3Guard's names, Llama Guard 3's S1-S14, ShieldGemma's harm
 * types, or a TC260/abuse code as the judge writes it); HG_ERR_NOT_FOUND when the format has no such category.
 * The table is in docs/guard.md; guard.categories in the configuration overrides it. */
hg_status hg_guard_default_category(hg_guard_format f, const char *name, hg_category *out);

#ifdef __cplusplus
}
#endif
#endif
