/* policy_rules.c — operator rules for the moderator: policy.rules turned into hg_regex_rule records, and the
 * view records handed to the rule scanner without the ignorable ones (zero-width and format characters fold to
 * nothing; the rules match the folded text, where they are not). */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "hegui/regex.h"
#include "policy_rules.h"

struct policy_rules_scanner {
  hg_regex_scanner *sc;
  hg_regex_set *set;
  policy_rule_fn fn;
  void *ctx;
  hg_norm_char *buf; /* the records without ignorable ones, when a slice has any */
  size_t cap;
};

hg_status policy_rules_from_config(const hg_config *cfg, hg_regex_rule **rules, size_t *n, hg_error *err) {
  *rules = NULL;
  *n = 0;
  if (!cfg->rule_count) return HG_OK;
  hg_regex_rule *v = calloc(cfg->rule_count, sizeof *v);
  if (!v) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  for (unsigned i = 0; i < cfg->rule_count; i++)
    v[i] = (hg_regex_rule){cfg->rules[i].name, cfg->rules[i].pattern, cfg->rules[i].category, cfg->rules[i].action};
  *rules = v;
  *n = cfg->rule_count;
  return HG_OK;
}

hg_status policy_rules_build(const hg_regex_rule *rules, size_t n, hg_regex_set **out, hg_error *err) {
  return hg_regex_set_build(rules, n, out, err);
}

void policy_rules_unref(hg_regex_set *set) { hg_regex_set_unref(set); }

static int on_hit(void *ctx, const hg_regex_hit *h) {
  policy_rules_scanner *sc = ctx;
  const hg_regex_rule *r = hg_regex_set_rule(sc->set, h->rule);
  return sc->fn(sc->ctx, h->rule, r->category, r->action, r->name, h->start, h->end);
}

hg_status policy_rules_scanner_new(hg_regex_set *set, policy_rule_fn fn, void *ctx, policy_rules_scanner **out) {
  policy_rules_scanner *sc = calloc(1, sizeof *sc);
  if (!sc) return HG_ERR_NOMEM;
  sc->set = set;
  sc->fn = fn;
  sc->ctx = ctx;
  hg_status st = hg_regex_scanner_new(set, on_hit, sc, &sc->sc);
  if (st) {
    free(sc);
    return st;
  }
  *out = sc;
  return HG_OK;
}

hg_status policy_rules_scanner_feed(policy_rules_scanner *sc, const hg_norm_char *v, size_t n, hg_error *err) {
  size_t i = 0;
  while (i < n && !(v[i].flags & HG_NORM_IGNORABLE))
    i++;
  if (i == n) return hg_regex_scanner_feed(sc->sc, v, n, err);
  if (n > sc->cap) {
    hg_norm_char *b = realloc(sc->buf, n * sizeof *b);
    if (!b) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
    sc->buf = b;
    sc->cap = n;
  }
  size_t k = 0;
  for (size_t j = 0; j < n; j++)
    if (!(v[j].flags & HG_NORM_IGNORABLE)) sc->buf[k++] = v[j];
  return hg_regex_scanner_feed(sc->sc, sc->buf, k, err);
}

hg_status policy_rules_scanner_finish(policy_rules_scanner *sc, hg_error *err) {
  return hg_regex_scanner_finish(sc->sc, err);
}

size_t policy_rules_scanner_hold_from(const policy_rules_scanner *sc) { return hg_regex_scanner_hold_from(sc->sc); }

void policy_rules_scanner_reset(policy_rules_scanner *sc) { hg_regex_scanner_reset(sc->sc); }

void policy_rules_scanner_free(policy_rules_scanner *sc) {
  if (!sc) return;
  hg_regex_scanner_free(sc->sc);
  free(sc->buf);
  free(sc);
}
