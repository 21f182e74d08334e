/* fuzz_config.c — libFuzzer target for the YAML configuration loader: any bytes either give a configuration whose
 * values keep the documented rules, or an error that names the file and leaves the configuration untouched. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hegui/config.h"
#include "hegui/label.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  hg_config before, cfg;
  hg_config_init(&before);
  memcpy(&cfg, &before, sizeof cfg);
  hg_error err;
  hg_error_clear(&err);
  hg_status s = hg_config_parse(&cfg, (const char *)data, size, "f.yaml", &err);
  if (s != HG_OK) {
    if (memcmp(&cfg, &before, sizeof cfg) != 0) abort();
    if (strncmp(err.message, "f.yaml", 6) != 0) abort();
    return 0;
  }
  /* every string member is terminated inside its buffer, and the checked values hold */
  if (!memchr(cfg.listen, 0, sizeof cfg.listen) || !memchr(cfg.upstream_url, 0, sizeof cfg.upstream_url) ||
      !memchr(cfg.store_url, 0, sizeof cfg.store_url) || !memchr(cfg.refusal, 0, sizeof cfg.refusal))
    abort();
  if (!hg_label_notice_valid(cfg.label_notice) || !hg_label_value_valid(cfg.content_producer)) abort();
  if (cfg.workers < 1 || cfg.workers > 256 || !cfg.input_roles || !cfg.refusal[0] || !cfg.data_dir[0]) abort();
  if (strncmp(cfg.upstream_url, "http://", 7) != 0 && strncmp(cfg.upstream_url, "https://", 8) != 0) abort();
  return 0;
}
