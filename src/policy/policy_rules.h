/* policy_rules.h — the moderator's side of the operator rules (hegui/regex.h): building them from the
 * configuration, and a scanner that takes the moderator's view records (ignorable ones left out, as the rules
 * never see them) and reports rule hits with their risk code and action. */
#ifndef HG_POLICY_RULES_H
#define HG_POLICY_RULES_H

#include "hegui/config.h"
#include "hegui/moderate.h"
#include "hegui/text.h"

typedef int (*policy_rule_fn)(void *ctx, uint32_t rule, hg_category cat, hg_action action, const char *name,
                              size_t start, size_t end);
typedef struct policy_rules_scanner policy_rules_scanner;

/* The rules of policy.rules as hg_regex_rule records pointing into cfg; *rules is malloc-ed (NULL when none). */
hg_status policy_rules_from_config(const hg_config *cfg, hg_regex_rule **rules, size_t *n, hg_error *err);
hg_status policy_rules_build(const hg_regex_rule *rules, size_t n, hg_regex_set **out, hg_error *err);
void policy_rules_unref(hg_regex_set *set);

hg_status policy_rules_scanner_new(hg_regex_set *set, policy_rule_fn fn, void *ctx, policy_rules_scanner **out);
hg_status policy_rules_scanner_feed(policy_rules_scanner *sc, const hg_norm_char *v, size_t n, hg_error *err);
hg_status policy_rules_scanner_finish(policy_rules_scanner *sc, hg_error *err);
/* Source byte offset from which a rule hit could still come; SIZE_MAX when none. */
size_t policy_rules_scanner_hold_from(const policy_rules_scanner *sc);
void policy_rules_scanner_reset(policy_rules_scanner *sc);
void policy_rules_scanner_free(policy_rules_scanner *sc);

#endif
