/* prompt_images.c — the prompt's images (prompt_images.h): their URLs found, a reading held, and the verdict on what
 * they say and on the pictures no detector reads. */
#include "prompt_images.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The URLs of the image parts in the messages the policy moderates (policy.input.roles, the last max_turns), for a
 * vision guard; at most cap (the caller refuses more). The strings belong to body. */
size_t prompt_image_urls(const hg_config *cfg, json_t *body, const char **out, size_t cap) {
  json_t *messages = json_object_get(body, "messages");
  size_t n = json_array_size(messages), from = 0, count = 0;
  if (cfg->input_max_turns && n > cfg->input_max_turns) from = n - cfg->input_max_turns;
  for (size_t i = from; i < n && count < cap; i++) {
    json_t *m = json_array_get(messages, i);
    const char *role = json_string_value(json_object_get(m, "role"));
    int bit = !role                                                   ? -1
              : !strcmp(role, "user")                                 ? 0
              : !strcmp(role, "system") || !strcmp(role, "developer") ? 1
              : !strcmp(role, "assistant")                            ? 2
              : !strcmp(role, "tool") || !strcmp(role, "function")    ? 3
                                                                      : -1;
    if (bit < 0 || !((cfg->input_roles >> bit) & 1)) continue;
    json_t *content = json_object_get(m, "content");
    for (size_t k = 0; k < json_array_size(content) && count < cap; k++) {
      json_t *part = json_array_get(content, k);
      const char *type = json_string_value(json_object_get(part, "type"));
      const char *url = json_string_value(json_object_get(json_object_get(part, "image_url"), "url"));
      if (type && !strcmp(type, "image_url") && url) out[count++] = url;
    }
  }
  return count;
}

/* What the images say, judged; and the pictures, which only a vision guard judges. 1 when the prompt is refused. */
int images_judge(judge *j, size_t nimages, const images_read *r, int vision, metrics *m) {
  for (size_t i = 0; i < nimages; i++) {
    char what[48];
    snprintf(what, sizeof what, "input image %zu", i + 1);
    int blocked;
    if (!r)
      blocked = judge_unjudged(j, "text in the prompt's images (media.ocr is off)");
    else if (i >= r->n)
      blocked = judge_unjudged(j, "text in the prompt's images beyond the 16th");
    else
      blocked = judge_ocr_text(j, HG_DIR_INPUT, what, r->ok[i] ? &r->results[i] : NULL, r->errors[i]);
    if (!blocked && !vision) {
      atomic_fetch_add(&m->unjudged, 1);
      char pic[120];
      snprintf(pic, sizeof pic, "the picture of %s (no vision guard)", what);
      blocked = judge_unjudged(j, pic);
    }
    if (blocked) return 1;
  }
  return 0;
}

void images_read_free(images_read *r) {
  for (size_t i = 0; r->ok && r->results && i < r->n; i++)
    if (r->ok[i]) hg_ocr_result_free(&r->results[i]);
  free(r->results);
  free(r->ok);
  free(r->errors);
  free(r);
}

images_read *images_read_new(void *ctx, gateway *gw, const hg_config *cfg, char **urls, size_t nimages) {
  images_read *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  size_t reading = nimages < MAX_READ_IMAGES ? nimages : MAX_READ_IMAGES;
  *r = (images_read){ctx,
                     gw,
                     cfg,
                     urls,
                     reading,
                     calloc(reading, sizeof *r->results),
                     calloc(reading, sizeof *r->ok),
                     calloc(reading, sizeof *r->errors)};
  if (!r->results || !r->ok || !r->errors) {
    images_read_free(r);
    return NULL;
  }
  return r;
}

void images_read_failed(images_read *r, const char *why) {
  for (size_t i = 0; i < r->n; i++)
    snprintf(r->errors[i], sizeof r->errors[i], "%s", why);
}
