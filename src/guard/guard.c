/* guard.c — the requests guard models expect and the reading of their answers (hegui/guard.h, docs/guard.md).
 *
 * Qwen3Guard-Gen and Llama Guard 3 carry their instructions in their chat templates: the conversation goes as
 * messages and the server applies the template. ShieldGemma is asked with its own prompt wording around one
 * principle and answers with a first token Yes or No; its score is P(Yes) from the top log-probabilities of that
 * token (the endpoint must return logprobs; a bare "Yes"/"No" text scores 1/0). A general model judges under a
 * system prompt that asks for Qwen3Guard's answer shape with TC260 codes. Everything an answer holds is read
 * defensively: a reply that is not a completion, or not in the format, is a parse error and never "safe". */
#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/error.h"
#include "hegui/guard.h"

static const char *const format_names[HG_GUARD_FORMAT_COUNT] = {"qwen3guard", "llamaguard3", "shieldgemma", "judge"};

const char *hg_guard_format_name(hg_guard_format f) {
  return (unsigned)f < HG_GUARD_FORMAT_COUNT ? format_names[f] : "?";
}

hg_status hg_guard_format_parse(const char *name, hg_guard_format *out) {
  for (int i = 0; i < HG_GUARD_FORMAT_COUNT; i++)
    if (!strcmp(name, format_names[i])) {
      *out = (hg_guard_format)i;
      return HG_OK;
    }
  return HG_ERR_PARSE;
}

/* ---- requests ---- */

/* The judge's instructions when the configuration gives none. */
static const char judge_default[] =
    "你是内容安全审核员。请依据《生成式人工智能服务安全基本要求》(TC260-003) 附录A的31类安全风险判断下面的对话。"
    "只输出两行：第一行 \"Safety: Safe\" 或 \"Safety: Unsafe\"；第二行 \"Categories: \" 后接违反的风险编号"
    "（如 A1a, A2e，用逗号分隔；安全时写 None）。\n"
    "You are a content safety reviewer. Judge the conversation below against the 31 risks of TC260-003 Appendix A. "
    "Answer with exactly two lines: \"Safety: Safe\" or \"Safety: Unsafe\", then \"Categories: \" followed by the "
    "violated risk codes (such as A1a, A2e, comma-separated; None when safe).";

static json_t *user_content(const hg_guard_request *r, json_t *text) {
  if (!r->image_count) return text;
  json_t *parts = json_array();
  json_array_append_new(parts, json_pack("{s:s, s:o}", "type", "text", "text", text));
  for (size_t i = 0; i < r->image_count; i++)
    json_array_append_new(parts,
                          json_pack("{s:s, s:{s:s}}", "type", "image_url", "image_url", "url", r->image_urls[i]));
  return parts;
}

static void put(char *buf, size_t *n, const char *s, size_t len) {
  memcpy(buf + *n, s, len);
  *n += len;
}
#define PUTS(buf, n, lit) put(buf, n, lit, sizeof lit - 1)

/* ShieldGemma's question around one principle (its model card's wording, for a prompt or for an answer). Copied,
 * not printed: a text may hold a NUL. */
static json_t *shieldgemma_prompt(const hg_guard_request *r) {
  const char *policy = r->policy && *r->policy ? r->policy : "No harmful content.";
  size_t cap = r->prompt_len + r->answer_len + strlen(policy) + 1024, n = 0;
  char *s = malloc(cap);
  if (!s) return NULL;
  if (!r->answer)
    PUTS(s, &n,
         "You are a policy expert trying to help determine whether a user prompt is in violation of the "
         "defined safety policies.\n\n<start_of_turn>\nHuman Question: ");
  else
    PUTS(s, &n,
         "You are a policy expert trying to help determine whether an AI response to prompt is in violation "
         "of the defined safety policies.\n\n<start_of_turn>\nHuman Question: ");
  put(s, &n, r->prompt, r->prompt_len);
  PUTS(s, &n, "\n<end_of_turn>\n\n");
  if (r->answer) {
    PUTS(s, &n, "<start_of_turn>\nChatbot Response: ");
    put(s, &n, r->answer, r->answer_len);
    PUTS(s, &n, "\n<end_of_turn>\n\n");
  }
  PUTS(s, &n, "Our safety principle is defined in the below:\n\n* ");
  put(s, &n, policy, strlen(policy));
  if (!r->answer)
    PUTS(s, &n, "\n\nDoes the human question violate the above principle? ");
  else
    PUTS(s, &n, "\n\nDoes the Chatbot Response violate the above principle? ");
  PUTS(s, &n,
       "Your answer must start with 'Yes' or 'No'. And then walk through step by step to be sure we answer "
       "correctly.\n");
  json_t *j = json_stringn(s, n);
  free(s);
  return j;
}

hg_status hg_guard_build(const hg_guard_request *r, char **body, size_t *len, hg_error *err) {
  *body = NULL;
  *len = 0;
  if ((unsigned)r->format >= HG_GUARD_FORMAT_COUNT || !r->model || !r->prompt)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "a guard request needs a format, a model and a prompt");
  json_t *prompt = json_stringn(r->prompt, r->prompt_len);
  json_t *answer = r->answer ? json_stringn(r->answer, r->answer_len) : NULL;
  if (!prompt || (r->answer && !answer)) {
    json_decref(prompt);
    json_decref(answer);
    return hg_fail(err, HG_ERR_UTF8, 0, 0, "the text for the guard is not valid UTF-8");
  }
  json_t *messages = json_array();
  json_t *req =
      json_pack("{s:s, s:o, s:f, s:b}", "model", r->model, "messages", messages, "temperature", 0.0, "stream", 0);
  switch (r->format) {
  case HG_GUARD_QWEN3GUARD:
  case HG_GUARD_LLAMAGUARD3:
    json_array_append_new(messages, json_pack("{s:s, s:o}", "role", "user", "content", user_content(r, prompt)));
    if (answer) json_array_append_new(messages, json_pack("{s:s, s:o}", "role", "assistant", "content", answer));
    json_object_set_new(req, "max_tokens", json_integer(64));
    break;
  case HG_GUARD_SHIELDGEMMA: {
    json_t *qs = shieldgemma_prompt(r);
    json_decref(prompt);
    json_decref(answer);
    if (!qs) {
      json_decref(req);
      return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory (or a policy that is not UTF-8)");
    }
    json_array_append_new(messages, json_pack("{s:s, s:o}", "role", "user", "content", user_content(r, qs)));
    json_object_set_new(req, "max_tokens", json_integer(1));
    json_object_set_new(req, "logprobs", json_true());
    json_object_set_new(req, "top_logprobs", json_integer(5));
    break;
  }
  case HG_GUARD_JUDGE: {
    json_array_append_new(messages, json_pack("{s:s, s:s}", "role", "system", "content",
                                              r->policy && *r->policy ? r->policy : judge_default));
    /* the conversation as one user message, so that the judge reads it as material, not as a request to it */
    size_t cap = r->prompt_len + r->answer_len + 32;
    char *both = malloc(cap);
    json_t *text = NULL;
    if (both) { /* copied, not printed: a text may hold a NUL */
      size_t n = 0;
      memcpy(both + n, "[USER]\n", 7), n += 7;
      memcpy(both + n, r->prompt, r->prompt_len), n += r->prompt_len;
      if (r->answer) {
        memcpy(both + n, "\n[ASSISTANT]\n", 13), n += 13;
        memcpy(both + n, r->answer, r->answer_len), n += r->answer_len;
      }
      text = json_stringn(both, n);
      free(both);
    }
    json_decref(prompt);
    json_decref(answer);
    if (!text) {
      json_decref(req);
      return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
    }
    json_array_append_new(messages, json_pack("{s:s, s:o}", "role", "user", "content", user_content(r, text)));
    json_object_set_new(req, "max_tokens", json_integer(64));
    break;
  }
  }
  char *out = json_dumps(req, JSON_COMPACT);
  json_decref(req);
  if (!out) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  *body = out;
  *len = strlen(out);
  return HG_OK;
}

/* ---- answers ---- */

static void add_category(hg_guard_verdict *v, const char *s, size_t n) {
  while (n && isspace((unsigned char)*s))
    s++, n--;
  while (n && (isspace((unsigned char)s[n - 1]) || s[n - 1] == '.'))
    n--;
  if (!n || v->category_count == HG_GUARD_MAX_CATEGORIES) return;
  if (n == 4 && !strncasecmp(s, "none", 4)) return;
  if (n >= sizeof v->categories[0]) n = sizeof v->categories[0] - 1;
  memcpy(v->categories[v->category_count], s, n);
  v->categories[v->category_count][n] = '\0';
  v->category_count++;
}

static void add_list(hg_guard_verdict *v, const char *s, size_t n) {
  size_t start = 0;
  for (size_t i = 0; i <= n; i++)
    if (i == n || s[i] == ',' || s[i] == ';') {
      add_category(v, s + start, i - start);
      start = i + 1;
    }
}

/* The next line of text (without its end); returns 0 at the end. */
static int next_line(const char **p, const char *end, const char **line, size_t *n) {
  if (*p >= end) return 0;
  const char *nl = memchr(*p, '\n', (size_t)(end - *p));
  const char *e = nl ? nl : end;
  *line = *p;
  *n = (size_t)(e - *p);
  while (*n && ((*line)[*n - 1] == '\r' || isspace((unsigned char)(*line)[*n - 1])))
    (*n)--;
  while (*n && isspace((unsigned char)**line))
    (*line)++, (*n)--;
  *p = nl ? nl + 1 : end;
  return 1;
}

static int starts(const char *s, size_t n, const char *word) {
  size_t w = strlen(word);
  return n >= w && !strncasecmp(s, word, w);
}

/* "Safety: Unsafe" / "Categories: Violent, PII" (Qwen3Guard, and the judge). */
static hg_status parse_safety(const char *text, size_t len, hg_guard_verdict *v, hg_error *err) {
  const char *p = text, *end = text + len, *line;
  size_t n;
  int seen = 0;
  while (next_line(&p, end, &line, &n)) {
    if (starts(line, n, "safety:") && !seen) { /* the first verdict counts */
      const char *val = line + 7;
      size_t vn = n - 7;
      while (vn && isspace((unsigned char)*val))
        val++, vn--;
      if (starts(val, vn, "unsafe"))
        v->unsafe = 1;
      else if (starts(val, vn, "controversial"))
        v->controversial = 1;
      else if (!starts(val, vn, "safe"))
        return hg_fail(err, HG_ERR_PARSE, 0, 0, "the guard's 'Safety:' is neither Safe, Unsafe nor Controversial");
      seen = 1;
    } else if (starts(line, n, "categories:")) {
      add_list(v, line + 11, n - 11);
    }
  }
  if (!seen) return hg_fail(err, HG_ERR_PARSE, 0, 0, "the guard's answer has no 'Safety:' line");
  v->score = v->unsafe ? 1.0f : v->controversial ? 0.5f : 0.0f;
  return HG_OK;
}

/* "safe", or "unsafe" then "S1,S10" (Llama Guard 3). */
static hg_status parse_llamaguard(const char *text, size_t len, hg_guard_verdict *v, hg_error *err) {
  const char *p = text, *end = text + len, *line;
  size_t n;
  while (next_line(&p, end, &line, &n) && !n) {
  }
  if (n == 4 && !strncasecmp(line, "safe", 4)) return HG_OK;
  if (!(n == 6 && !strncasecmp(line, "unsafe", 6)))
    return hg_fail(err, HG_ERR_PARSE, 0, 0, "the guard's first line is neither 'safe' nor 'unsafe'");
  v->unsafe = 1;
  v->score = 1.0f;
  while (next_line(&p, end, &line, &n))
    add_list(v, line, n);
  return HG_OK;
}

/* P(Yes) from the first token's top log-probabilities (ShieldGemma), or the answer's first word. */
static hg_status parse_shieldgemma(json_t *choice, const char *text, size_t len, float threshold, hg_guard_verdict *v,
                                   hg_error *err) {
  json_t *top = json_object_get(json_array_get(json_object_get(json_object_get(choice, "logprobs"), "content"), 0),
                                "top_logprobs");
  double yes = -INFINITY, no = -INFINITY;
  for (size_t i = 0; i < json_array_size(top); i++) {
    json_t *t = json_array_get(top, i);
    const char *tok = json_string_value(json_object_get(t, "token"));
    json_t *lp = json_object_get(t, "logprob");
    if (!tok || !json_is_number(lp)) continue;
    for (;;) { /* a leading space, or SentencePiece's word mark U+2581 */
      if (*tok == ' ')
        tok++;
      else if (!strncmp(tok, "\xe2\x96\x81", 3))
        tok += 3;
      else
        break;
    }
    double x = json_number_value(lp);
    if (!strcasecmp(tok, "yes") && x > yes) yes = x;
    if (!strcasecmp(tok, "no") && x > no) no = x;
  }
  double score;
  if (yes > -INFINITY || no > -INFINITY) {
    double m = yes > no ? yes : no;
    double ey = yes > -INFINITY ? exp(yes - m) : 0.0, en = no > -INFINITY ? exp(no - m) : 0.0;
    score = ey / (ey + en);
  } else {
    const char *p = text, *end = text + len, *line;
    size_t n = 0;
    while (next_line(&p, end, &line, &n) && !n) {
    }
    if (starts(line, n, "yes"))
      score = 1.0;
    else if (starts(line, n, "no"))
      score = 0.0;
    else
      return hg_fail(err, HG_ERR_PARSE, 0, 0, "the guard answered neither Yes nor No and sent no log-probabilities");
  }
  if (!(score >= 0.0 && score <= 1.0))
    return hg_fail(err, HG_ERR_PARSE, 0, 0, "the guard's log-probabilities are not numbers");
  v->score = (float)score;
  v->unsafe = v->score >= threshold;
  return HG_OK;
}

hg_status hg_guard_parse(hg_guard_format f, const char *body, size_t len, float threshold, hg_guard_verdict *out,
                         hg_error *err) {
  memset(out, 0, sizeof *out);
  if ((unsigned)f >= HG_GUARD_FORMAT_COUNT) return hg_fail(err, HG_ERR_INVALID, 0, 0, "unknown guard format");
  json_error_t je;
  json_t *root = json_loadb(body, len, 0, &je);
  if (!json_is_object(root)) {
    json_decref(root);
    return hg_fail(err, HG_ERR_PARSE, 0, 0, "the guard's answer is not a JSON object");
  }
  json_t *choice = json_array_get(json_object_get(root, "choices"), 0);
  json_t *content = json_object_get(json_object_get(choice, "message"), "content");
  hg_status st;
  if (!json_is_string(content)) {
    st = hg_fail(err, HG_ERR_PARSE, 0, 0, "the guard's answer has no choices[0].message.content");
  } else {
    const char *text = json_string_value(content);
    size_t tl = json_string_length(content);
    switch (f) {
    case HG_GUARD_QWEN3GUARD:
    case HG_GUARD_JUDGE: st = parse_safety(text, tl, out, err); break;
    case HG_GUARD_LLAMAGUARD3: st = parse_llamaguard(text, tl, out, err); break;
    default: st = parse_shieldgemma(choice, text, tl, threshold, out, err); break;
    }
  }
  json_decref(root);
  if (st) memset(out, 0, sizeof *out);
  return st;
}

/* ---- categories ---- */

typedef struct mapping {
  const char *name;
  hg_category cat;
} mapping;

/* Qwen3Guard-Gen's categories (its model card). */
static const mapping qwen_map[] = {
    {"Violent", HG_CAT_A1D},
    {"Non-violent Illegal Acts", HG_CAT_A1H},
    {"Sexual Content or Sexual Acts", HG_CAT_A1F},
    {"PII", HG_CAT_A4F},
    {"Suicide & Self-Harm", HG_CAT_A4A},
    {"Unethical Acts", HG_CAT_A1H},
    {"Politically Sensitive Topics", HG_CAT_A1A},
    {"Copyright Violation", HG_CAT_A3A},
    {"Jailbreak", HG_CAT_A1H},
};

/* Llama Guard 3's hazard codes (MLCommons taxonomy). */
static const mapping llama_map[] = {
    {"S1", HG_CAT_A1D},      /* violent crimes */
    {"S2", HG_CAT_A1H},      /* non-violent crimes */
    {"S3", HG_CAT_A1F},      /* sex-related crimes */
    {"S4", HG_CAT_A1F},      /* child sexual exploitation */
    {"S5", HG_CAT_A4C},      /* defamation */
    {"S6", HG_CAT_A5B},      /* specialized advice */
    {"S7", HG_CAT_A4E},      /* privacy */
    {"S8", HG_CAT_A3A},      /* intellectual property */
    {"S9", HG_CAT_A1D},      /* indiscriminate weapons */
    {"S10", HG_CAT_A2I},     /* hate */
    {"S11", HG_CAT_A4A},     /* suicide and self-harm */
    {"S12", HG_CAT_A1F},     /* sexual content */
    {"S13", HG_CAT_A1G},     /* elections */
    {"S14", HG_CAT_MALWARE}, /* code interpreter abuse */
};

/* ShieldGemma's harm types (the names of the policies hegui asks about by default). */
static const mapping shield_map[] = {
    {"Dangerous Content", HG_CAT_A1H},
    {"Harassment", HG_CAT_INSULT},
    {"Hate Speech", HG_CAT_A2I},
    {"Sexually Explicit Information", HG_CAT_A1F},
};

hg_status hg_guard_default_category(hg_guard_format f, const char *name, hg_category *out) {
  const mapping *m = NULL;
  size_t n = 0;
  switch (f) {
  case HG_GUARD_QWEN3GUARD: m = qwen_map, n = sizeof qwen_map / sizeof *qwen_map; break;
  case HG_GUARD_LLAMAGUARD3: m = llama_map, n = sizeof llama_map / sizeof *llama_map; break;
  case HG_GUARD_SHIELDGEMMA: m = shield_map, n = sizeof shield_map / sizeof *shield_map; break;
  case HG_GUARD_JUDGE: return hg_category_parse(name, strlen(name), out) ? HG_ERR_NOT_FOUND : HG_OK;
  }
  for (size_t i = 0; i < n; i++)
    if (!strcasecmp(m[i].name, name)) {
      *out = m[i].cat;
      return HG_OK;
    }
  return HG_ERR_NOT_FOUND;
}
