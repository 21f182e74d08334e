/* hegui/label.h — labels on generated content (Labeling Measures, GB 45438-2025).
 *
 * The implicit label is one JSON object with the seven Appendix E fields. hegui writes Label "1" (AI-generated),
 * ContentProducer from the configuration, ProduceID = the response id, and in ReservedCode1 an Ed25519 signature
 * (base64url) over the label's other fields and the SHA-256 of the content, so anyone with the public key can check
 * that neither the label nor the text was changed. Values are printable ASCII without space, '"' or '\\' (bytes
 * 0x21, 0x23-0x5B, 0x5D-0x7E): writers are strict; readers accept the wrapped {"AIGC":{...}} and unwrapped forms. */
#ifndef HEGUI_LABEL_H
#define HEGUI_LABEL_H

#include <stddef.h>
#include <stdint.h>

#include "hegui/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HG_LABEL_PUBLIC_KEY_BYTES 32
#define HG_LABEL_SECRET_KEY_BYTES 64

/* Checks a label value: non-empty, at most 256 bytes, only the allowed bytes. */
int hg_label_value_valid(const char *value);

/* Loads the signing key pair from DIR/label.key (secret, mode 0600) and DIR/label.pub, creating both when absent. */
hg_status hg_label_keys_load(const char *dir, uint8_t pk[HG_LABEL_PUBLIC_KEY_BYTES],
                             uint8_t sk[HG_LABEL_SECRET_KEY_BYTES], hg_error *err);
/* Reads a public key file (32 raw bytes or 64 hex digits). */
hg_status hg_label_public_key_read(const char *path, uint8_t pk[HG_LABEL_PUBLIC_KEY_BYTES], hg_error *err);

/* Builds the implicit label object (unwrapped: {"Label":"1","ContentProducer":...,...}) for content; *json is
 * malloc-ed. ContentPropagator and PropagateID repeat the producer's values on first write; ReservedCode2 is
 * empty. producer and produce_id must pass hg_label_value_valid. */
hg_status hg_label_make(const char *producer, const char *produce_id, const char *content, size_t len,
                        const uint8_t sk[HG_LABEL_SECRET_KEY_BYTES], char **json, hg_error *err);

/* Verifies a label (wrapped or unwrapped JSON) against content and a public key. HG_OK when the signature holds;
 * HG_ERR_CORRUPT with the reason otherwise; HG_ERR_PARSE when the label is not a label. */
hg_status hg_label_verify(const char *label_json, size_t label_len, const char *content, size_t len,
                          const uint8_t pk[HG_LABEL_PUBLIC_KEY_BYTES], hg_error *err);

/* The explicit text label: checks that a notice contains "人工智能" or "AI" and "生成" or "合成". */
int hg_label_notice_valid(const char *notice);

#ifdef __cplusplus
}
#endif
#endif
