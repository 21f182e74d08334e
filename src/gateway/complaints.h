/* complaints.h — the complaint routes' shared piece: a ticket as the admin API shows it. The routes themselves are
 * in router.h (complaints.c: the published process, the complainant's own lookup, the reviewers' pages; workflows.c:
 * intake, entry by staff, moves). */
#ifndef HG_GATEWAY_COMPLAINTS_H
#define HG_GATEWAY_COMPLAINTS_H

#include <jansson.h>

#include "hegui/complaints.h"

/* The ticket as JSON for reviewers (every field, the complainant's text and contact included); overdue says whether
 * an open ticket is past its time limit at now_ms. */
json_t *complaint_json(const hg_complaint *c, int64_t now_ms);

#endif
