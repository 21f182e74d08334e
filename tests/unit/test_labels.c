/* test_labels.c — the label stage (src/gateway/labels.c) without HTTP: the explicit notice at each place and
 * omitted, a stream's opening and closing notice, the reminder, the stream's first header, and the signed label
 * checked apart from hegui's verifier: its message rebuilt here, hashed and verified with libsodium against the public
 * key, and failing for other content and another key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "base/arena.h"
#include "gateway/labels.h"

#define ID "chatcmpl-hg0123456789abcdef01234567"

typedef struct fixture {
  hg_config cfg;
  hg_arena *arena;
  uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  hg_config_init(&f->cfg);
  snprintf(f->cfg.label_notice, sizeof f->cfg.label_notice, "本内容由人工智能生成");
  snprintf(f->cfg.content_producer, sizeof f->cfg.content_producer, "example-svc");
  f->arena = hg_arena_new(8192, 0);
  crypto_sign_keypair(f->pk, f->sk);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  hg_arena_destroy(f->arena);
  free(f);
  return 0;
}

static void notice_places(void **state) {
  fixture *f = *state;
  label_state l;
  size_t n;
  f->cfg.label_at_end = 1;
  labels_init(&l, &f->cfg, ID, f->sk, 0, f->arena);
  assert_string_equal(labels_with_notice(&l, "答案", 6, &n), "答案\n\n本内容由人工智能生成");
  assert_int_equal(n, strlen("答案\n\n本内容由人工智能生成"));
  assert_null(labels_stream_notice(&l, 0, &n));
  assert_string_equal(labels_stream_notice(&l, 1, &n), "\n\n本内容由人工智能生成");
  f->cfg.label_at_end = 0;
  assert_string_equal(labels_with_notice(&l, "答案", 6, &n), "本内容由人工智能生成\n\n答案");
  assert_string_equal(labels_stream_notice(&l, 0, &n), "本内容由人工智能生成\n\n");
  assert_int_equal(n, strlen("本内容由人工智能生成\n\n"));
  assert_null(labels_stream_notice(&l, 1, &n));
  /* a named recipient's answer: no notice anywhere, the content as it is */
  labels_init(&l, &f->cfg, ID, f->sk, 1, f->arena);
  assert_string_equal(labels_with_notice(&l, "答案", 6, &n), "答案");
  assert_int_equal(n, 6);
  assert_null(labels_stream_notice(&l, 0, &n));
  assert_null(labels_stream_notice(&l, 1, &n));
}

static void reminder(void **state) {
  fixture *f = *state;
  char out[sizeof f->cfg.reminder_text + 64];
  snprintf(f->cfg.reminder_text, sizeof f->cfg.reminder_text, "已连续使用%%d分钟，请注意休息。");
  labels_reminder(&f->cfg, 75, out, sizeof out);
  assert_string_equal(out, "已连续使用75分钟，请注意休息。\n\n");
  labels_reminder(&f->cfg, 0, out, sizeof out);
  assert_string_equal(out, "");
}

static void stream_header(void **state) {
  fixture *f = *state;
  label_state l;
  labels_init(&l, &f->cfg, ID, f->sk, 0, f->arena);
  char hdr[512];
  labels_stream_header(&l, hdr, sizeof hdr);
  json_t *j = json_loads(hdr, 0, NULL);
  assert_non_null(j);
  assert_int_equal(json_object_size(j), 7);
  assert_string_equal(json_string_value(json_object_get(j, "Label")), "1");
  assert_string_equal(json_string_value(json_object_get(j, "ContentProducer")), "example-svc");
  assert_string_equal(json_string_value(json_object_get(j, "ProduceID")), ID);
  assert_string_equal(json_string_value(json_object_get(j, "ReservedCode1")), "");
  assert_string_equal(json_string_value(json_object_get(j, "ContentPropagator")), "example-svc");
  assert_string_equal(json_string_value(json_object_get(j, "PropagateID")), ID);
  assert_string_equal(json_string_value(json_object_get(j, "ReservedCode2")), "");
  json_decref(j);
}

/* The label's signature checked as a reader without hegui would: the message of hegui-aigc-v1 (docs/labels.md) over
 * the fields and the SHA-256 of the content, verified with libsodium. */
static int sodium_verifies(const json_t *label, const char *content, size_t len, const uint8_t *pk) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  char hex[2 * crypto_hash_sha256_BYTES + 1];
  crypto_hash_sha256(digest, (const unsigned char *)content, len);
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  const char *f[5] = {"Label", "ContentProducer", "ProduceID", "ContentPropagator", "PropagateID"};
  char msg[1024];
  int n = snprintf(msg, sizeof msg, "hegui-aigc-v1");
  for (int i = 0; i < 5; i++)
    n += snprintf(msg + n, sizeof msg - (size_t)n, "\n%s", json_string_value(json_object_get(label, f[i])));
  n += snprintf(msg + n, sizeof msg - (size_t)n, "\n%s", hex);
  const char *b64 = json_string_value(json_object_get(label, "ReservedCode1"));
  unsigned char sig[crypto_sign_BYTES];
  size_t sig_len;
  if (!b64 ||
      sodium_base642bin(sig, sizeof sig, b64, strlen(b64), NULL, &sig_len, NULL,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) ||
      sig_len != sizeof sig)
    return 0;
  return crypto_sign_verify_detached(sig, (const unsigned char *)msg, (unsigned long long)n, pk) == 0;
}

static void signed_label(void **state) {
  fixture *f = *state;
  label_state l;
  labels_init(&l, &f->cfg, ID, f->sk, 0, f->arena);
  /* what the client saw arrives in pieces, as a stream's chunks do */
  const char *pieces[] = {"本内容由人工智能生成\n\n", "Hello, ", "世界", "!"};
  for (size_t i = 0; i < 4; i++)
    assert_int_equal(labels_saw(&l, pieces[i], strlen(pieces[i])), 0);
  const char *whole = "本内容由人工智能生成\n\nHello, 世界!";
  assert_int_equal(l.visible_len, strlen(whole));
  hg_error err;
  hg_error_clear(&err);
  json_t *label = labels_signed(&l, &err);
  assert_true(json_is_object(label));
  assert_string_equal(json_string_value(json_object_get(label, "Label")), "1");
  assert_string_equal(json_string_value(json_object_get(label, "ContentProducer")), "example-svc");
  assert_string_equal(json_string_value(json_object_get(label, "ProduceID")), ID);
  assert_true(sodium_verifies(label, whole, strlen(whole), f->pk));
  assert_false(sodium_verifies(label, "Hello, 世界!", strlen("Hello, 世界!"), f->pk)); /* without the notice */
  uint8_t other_pk[crypto_sign_PUBLICKEYBYTES], other_sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_keypair(other_pk, other_sk);
  assert_false(sodium_verifies(label, whole, strlen(whole), other_pk));
  /* hegui's own verifier agrees */
  char *text = labels_header(&l, label);
  assert_non_null(text);
  assert_int_equal(hg_label_verify(text, strlen(text), whole, strlen(whole), f->pk, NULL), HG_OK);
  assert_int_not_equal(hg_label_verify(text, strlen(text), whole, strlen(whole) - 1, f->pk, NULL), HG_OK);
  /* the header is the label as compact JSON, field for field */
  json_t *back = json_loads(text, 0, NULL);
  assert_true(json_equal(back, label));
  assert_null(strchr(text, ' '));
  json_decref(back);
  assert_null(labels_header(&l, json_null()));
  json_decref(label);
  labels_free(&l);
  assert_null(l.visible);
}

static void nothing_seen(void **state) {
  fixture *f = *state;
  label_state l;
  labels_init(&l, &f->cfg, ID, f->sk, 0, f->arena);
  json_t *label = labels_signed(&l, NULL);
  assert_true(sodium_verifies(label, "", 0, f->pk));
  json_decref(label);
  labels_free(&l);
}

static void unsigned_when_invalid(void **state) {
  fixture *f = *state;
  label_state l;
  snprintf(f->cfg.content_producer, sizeof f->cfg.content_producer, "has space");
  labels_init(&l, &f->cfg, ID, f->sk, 0, f->arena);
  labels_saw(&l, "x", 1);
  hg_error err;
  hg_error_clear(&err);
  json_t *label = labels_signed(&l, &err);
  assert_true(json_is_null(label));
  assert_non_null(strstr(err.message, "ContentProducer"));
  json_decref(label);
  labels_free(&l);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(notice_places, setup, teardown),
      cmocka_unit_test_setup_teardown(reminder, setup, teardown),
      cmocka_unit_test_setup_teardown(stream_header, setup, teardown),
      cmocka_unit_test_setup_teardown(signed_label, setup, teardown),
      cmocka_unit_test_setup_teardown(nothing_seen, setup, teardown),
      cmocka_unit_test_setup_teardown(unsigned_when_invalid, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
