/* prompt_images.h — the prompt's images, judged as the prompt is: the image_url parts of the messages the policy
 * moderates, their text (read by OCR on a thread of its own: chat.c's read_images, fetch.c and hegui/ocr.h) judged by
 * the policy's moderator (judge.h), and the pictures themselves, which only a vision guard judges; without one, or
 * where no text could be read, media.unjudged decides (review by default, or block).
 *
 * No HTTP and no thread here: the URLs found, a reading's results held, and the verdict on them. chat.c fetches and
 * reads on its thread and sends the refusal. tests/unit/test_prompt_images.c drives it with readings made in the
 * test. */
#ifndef HG_GATEWAY_PROMPT_IMAGES_H
#define HG_GATEWAY_PROMPT_IMAGES_H

#include <jansson.h>
#include <stddef.h>

#include "hegui/ocr.h"
#include "judge.h"

#define MAX_PROMPT_IMAGES 64 /* image URLs of one prompt kept; the caller refuses more */
#define MAX_READ_IMAGES 16   /* images of one prompt read by OCR; the rest count as unjudged */

/* The URLs of the image parts in the messages policy.input selects (its roles, the last max_turns), in order, at
 * most cap of them. The strings belong to body. */
size_t prompt_image_urls(const hg_config *cfg, json_t *body, const char **out, size_t cap);

/* The reading of a prompt's first MAX_READ_IMAGES images: for each, the text OCR read (ok[i]) or why not
 * (errors[i]). */
typedef struct images_read {
  void *ctx; /* the caller's: the request the reading is for */
  gateway *gw;
  const hg_config *cfg;
  char **urls; /* borrowed from the caller: n of them */
  size_t n;
  hg_ocr_result *results;
  int *ok;
  char (*errors)[200];
} images_read;

/* A reading of nimages URLs (the first MAX_READ_IMAGES of them), nothing read yet; NULL when out of memory. */
images_read *images_read_new(void *ctx, gateway *gw, const hg_config *cfg, char **urls, size_t nimages);
/* Nothing could be read (the thread did not start, say): each image's error is why. */
void images_read_failed(images_read *r, const char *why);
void images_read_free(images_read *r);

/* What nimages images say, judged in the input direction (r NULL: media.ocr is off, nothing was read); with vision
 * (a vision guard judges the pictures) the pictures are not counted as unjudged, otherwise each is, in m->unjudged.
 * Everything is listed in the judge's detail. 1 when the prompt is refused. */
int images_judge(judge *j, size_t nimages, const images_read *r, int vision, metrics *m);

#endif
