/* test_prompt_images.c — the prompt's images (src/gateway/prompt_images.c) without HTTP, OCR or threads: the URLs of
 * the messages the policy selects (roles, the last turns), and the verdict on readings made here: text with a listed
 * word refuses the prompt with the word's category, clean text passes, what was not read or not read whole is
 * unjudged (reviewed by default, refused under media.unjudged: block), and a picture without a vision guard is
 * counted and listed as unjudged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "gateway/prompt_images.h"

#include "test_util.h"

#define WORD "炸药配方"

typedef struct fixture {
  live_config lc;
  hg_lexicon *lex;
  json_t *detail;
  judge j;
  metrics m;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  hg_config_init(&f->lc.cfg);
  if (hg_policy_from_config(&f->lc.cfg, &f->lc.policy, NULL)) abort();
  f->lex = lex_from_text(WORD "\tA1D\t3\tblock\n", 0);
  f->detail = json_object();
  f->j = (judge){&f->lc.cfg, f->lex, NULL, f->detail, json_array(), json_array(), json_array(), NULL};
  json_object_set_new(f->detail, "input_hits", f->j.input_hits);
  json_object_set_new(f->detail, "input_pii", f->j.input_pii);
  json_object_set_new(f->detail, "output_hits", f->j.output_hits);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  json_decref(f->detail);
  hg_lexicon_unref(f->lex);
  hg_policy_unref(f->lc.policy);
  free(f);
  return 0;
}

static void urls_of_selected_messages(void **state) {
  fixture *f = *state;
  json_t *body = json_loads(
      "{\"messages\":["
      "{\"role\":\"system\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:s\"}}]},"
      "{\"role\":\"assistant\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:a\"}}]},"
      "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"look\"},"
      "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:u1\"}},{\"type\":\"image_url\",\"image_url\":{}},"
      "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:u2\"}}]}]}",
      0, NULL);
  assert_non_null(body);
  const char *urls[8];
  f->lc.cfg.input_roles = 1 | 2; /* user, system and developer */
  f->lc.cfg.input_max_turns = 0;
  assert_int_equal(prompt_image_urls(&f->lc.cfg, body, urls, 8), 3);
  assert_string_equal(urls[0], "data:s");
  assert_string_equal(urls[1], "data:u1");
  assert_string_equal(urls[2], "data:u2");
  assert_int_equal(prompt_image_urls(&f->lc.cfg, body, urls, 2), 2); /* at most cap */
  f->lc.cfg.input_max_turns = 1;                                     /* the last turn only */
  assert_int_equal(prompt_image_urls(&f->lc.cfg, body, urls, 8), 2);
  assert_string_equal(urls[0], "data:u1");
  f->lc.cfg.input_roles = 4; /* the assistant's */
  f->lc.cfg.input_max_turns = 0;
  assert_int_equal(prompt_image_urls(&f->lc.cfg, body, urls, 8), 1);
  assert_string_equal(urls[0], "data:a");
  json_decref(body);
}

/* A reading of n images made here, as the OCR thread leaves it. */
static images_read *reading(fixture *f, char **urls, size_t n, const char *const *texts) {
  images_read *r = images_read_new(NULL, NULL, &f->lc.cfg, urls, n);
  assert_non_null(r);
  for (size_t i = 0; i < r->n; i++) {
    if (!texts[i]) {
      snprintf(r->errors[i], sizeof r->errors[i], "not fetched");
      continue;
    }
    r->ok[i] = 1;
    r->results[i].text = strdup(texts[i]);
    r->results[i].len = strlen(texts[i]);
    r->results[i].confidence = 90;
  }
  return r;
}

static void listed_word_in_an_image_refuses(void **state) {
  fixture *f = *state;
  char *urls[] = {"data:1", "data:2"};
  const char *texts[] = {"a sign that says hello", "step one: " WORD};
  images_read *r = reading(f, urls, 2, texts);
  assert_int_equal(images_judge(&f->j, 2, r, 1, &f->m), 1);
  assert_string_equal(json_string_value(json_object_get(f->detail, "block_category")), hg_category_code(HG_CAT_A1D));
  json_t *hit = json_array_get(f->j.input_hits, 0);
  assert_string_equal(json_string_value(json_object_get(hit, "entry")), WORD);
  json_t *ocr = json_object_get(f->detail, "ocr");
  assert_int_equal(json_array_size(ocr), 2);
  assert_string_equal(json_string_value(json_object_get(json_array_get(ocr, 1), "image")), "input image 2");
  assert_int_equal(atomic_load(&f->m.unjudged), 0); /* a vision guard judges the pictures */
  images_read_free(r);
}

static void clean_images_and_unjudged_pictures(void **state) {
  fixture *f = *state;
  char *urls[] = {"data:1", "data:2"};
  const char *texts[] = {"a sign that says hello", NULL};
  images_read *r = reading(f, urls, 2, texts);
  f->lc.cfg.media_unjudged = 1; /* review */
  assert_int_equal(images_judge(&f->j, 2, r, 0, &f->m), 0);
  assert_null(json_object_get(f->detail, "block_category"));
  assert_true(json_is_true(json_object_get(f->detail, "review")));
  json_t *unjudged = json_object_get(f->detail, "unjudged");
  /* image 1: its picture; image 2: its text not read, then its picture */
  assert_int_equal(json_array_size(unjudged), 3);
  assert_string_equal(json_string_value(json_array_get(unjudged, 0)), "the picture of input image 1 (no vision guard)");
  assert_non_null(strstr(json_string_value(json_array_get(unjudged, 1)), "not fetched"));
  assert_int_equal(atomic_load(&f->m.unjudged), 2);
  images_read_free(r);
}

static void unread_text_refused_when_unjudged_blocks(void **state) {
  fixture *f = *state;
  f->lc.cfg.media_unjudged = 2;                                /* block */
  assert_int_equal(images_judge(&f->j, 1, NULL, 1, &f->m), 1); /* media.ocr off: nothing was read */
  assert_string_equal(json_string_value(json_object_get(f->detail, "block_category")), "unjudged");
  assert_string_equal(json_string_value(json_array_get(json_object_get(f->detail, "unjudged"), 0)),
                      "text in the prompt's images (media.ocr is off)");
}

static void beyond_the_read_ones(void **state) {
  fixture *f = *state;
  char *urls[MAX_READ_IMAGES + 2];
  const char *texts[MAX_READ_IMAGES];
  for (size_t i = 0; i < MAX_READ_IMAGES + 2; i++)
    urls[i] = "data:x";
  for (size_t i = 0; i < MAX_READ_IMAGES; i++)
    texts[i] = "fine";
  images_read *r = reading(f, urls, MAX_READ_IMAGES + 2, texts);
  assert_int_equal(r->n, MAX_READ_IMAGES);
  f->lc.cfg.media_unjudged = 1;
  assert_int_equal(images_judge(&f->j, MAX_READ_IMAGES + 2, r, 1, &f->m), 0);
  json_t *unjudged = json_object_get(f->detail, "unjudged");
  assert_int_equal(json_array_size(unjudged), 2);
  assert_string_equal(json_string_value(json_array_get(unjudged, 0)), "text in the prompt's images beyond the 16th");
  /* the thread could not start: every image says why, and is unjudged */
  images_read_failed(r, "the OCR thread could not start");
  for (size_t i = 0; i < r->n; i++)
    assert_string_equal(r->errors[i], "the OCR thread could not start");
  images_read_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(urls_of_selected_messages, setup, teardown),
      cmocka_unit_test_setup_teardown(listed_word_in_an_image_refuses, setup, teardown),
      cmocka_unit_test_setup_teardown(clean_images_and_unjudged_pictures, setup, teardown),
      cmocka_unit_test_setup_teardown(unread_text_refused_when_unjudged_blocks, setup, teardown),
      cmocka_unit_test_setup_teardown(beyond_the_read_ones, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
