/* complaints.c — the complaint routes around a ticket's life (Art. 13; Interim Art. 15), apart from its intake and
 * moves (workflows.c): the published process in Chinese and in English, the complainant's own lookup by ticket
 * number and secret, a new secret issued by staff, and the reviewers' pages of tickets with their filters. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "complaints.h"
#include "gateway.h"
#include "router.h"

json_t *complaint_json(const hg_complaint *c, int64_t now_ms) {
  int open = !strcmp(c->status, "received") || !strcmp(c->status, "in_review");
  return json_pack("{s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:b, s:s?, s:s?, s:s?, s:s?}", "id", (json_int_t)c->id, "type",
                   c->type, "status", c->status, "channel", c->channel[0] ? c->channel : "web", "created_ms",
                   (json_int_t)c->created_ms, "due_ms", (json_int_t)c->due_ms, "updated_ms", (json_int_t)c->updated_ms,
                   "overdue", open && c->due_ms < now_ms, "produce_id", c->produce_id, "text", c->text, "contact",
                   c->contact, "resolution", c->resolution);
}

/* ---- the published process ---- */

/* Every sentence of the published process, in both languages, once. */
enum { LANG_ZH, LANG_EN, LANGS };
static const char *const process_text[][LANGS] = {
#define P_CHANNEL 0
    {"向 POST /compliance/complaints 提交 JSON：{type, produce_id 或 text, contact}；也可通过电话、电子邮件、信函或当面投诉，"
     "由工作人员登记",
     "POST /compliance/complaints with JSON {type, produce_id or text, contact}; complaints by telephone, e-mail, "
     "letter or in person are entered by staff"},
#define P_RECEIVED 1
    {"received（已受理）：立即返回工单号和查询密钥", "received: the ticket number and a secret to follow it are returned at once"},
#define P_IN_REVIEW 2
    {"in_review（审核中）：审核人员核查 produce_id（回答的 AIGC 标识中的 ProduceID）所指内容或所附文本",
     "in_review: a reviewer examines the content named by produce_id (the ProduceID in the answer's AIGC label) or the "
     "pasted text"},
#define P_UPHELD 3
    {"upheld（成立）：内容下架且不再生成；个人信息按请求更正或删除",
     "upheld: the content is taken down and will not be generated again; personal information is corrected or "
     "deleted"},
#define P_REJECTED 4
    {"rejected（不成立）：记录理由", "rejected: the reason is recorded"},
#define P_CLOSED 5
    {"closed（已办结）：按所留联系方式答复投诉人", "closed: the complainant is answered at the contact given"},
#define P_FOLLOW 6
    {"凭工单号和密钥查询进度：GET /compliance/complaints/{工单号}，请求头 X-Complaint-Secret: {密钥}",
     "follow a ticket with its number and secret: GET /compliance/complaints/{number} with the header "
     "X-Complaint-Secret: {secret}"},
#define P_TAKEDOWN 7
    {"成立的内容经指纹化后，此后每一个回答中都会被拦截",
     "upheld content is fingerprinted and blocked in every answer from then on"},
#define P_AUTHORITIES 8
    {"用户也可以向有关主管部门举报（第十八条）", "users may also report to the competent authorities (Art. 18)"},
};

/* zh when asked by ?lang=zh or by an Accept-Language that prefers Chinese; en by ?lang=en or otherwise. */
static int pick_lang(route_req *rq, int *lang) {
  char v[8];
  int rc = route_param(rq, "lang", v, sizeof v);
  if (rc < 0) return -1;
  if (rc > 0) {
    if (!strcmp(v, "zh")) return *lang = LANG_ZH, 0;
    if (!strcmp(v, "en")) return *lang = LANG_EN, 0;
    send_error_param(rq->req, 400, "invalid_request_error", "lang is zh or en", "lang", NULL);
    return -1;
  }
  const char *al = evhttp_find_header(evhttp_request_get_input_headers(rq->req), "Accept-Language");
  *lang = al && (al[0] == 'z' || al[0] == 'Z') && (al[1] == 'h' || al[1] == 'H') ? LANG_ZH : LANG_EN;
  return 0;
}

/* GET /compliance/complaints: the published process and its time limits */
void route_complaints_process(route_req *rq) {
  static const char *const known[] = {"lang", NULL};
  int lang;
  if (route_params_only(rq, known) || pick_lang(rq, &lang)) return;
  const hg_config *cfg = live_cfg(rq->gw);
  json_t *limits = json_object(), *types = json_array();
  for (int i = 0; i < HG_COMPLAINT_TYPES; i++) {
    json_array_append_new(types, json_string(hg_complaint_type_name((hg_complaint_type)i)));
    json_object_set_new(limits, hg_complaint_type_name((hg_complaint_type)i), json_integer(cfg->complaint_due_hours[i]));
  }
  const char *const(*t)[LANGS] = process_text;
  evhttp_add_header(evhttp_request_get_output_headers(rq->req), "Content-Language", lang == LANG_ZH ? "zh-CN" : "en");
  send_json(rq->req, 200,
            json_pack("{s:s, s:[s,s], s:s, s:o, s:[s,s,s,s,s], s:s, s:o, s:s, s:s, s:I, s:s}", "lang",
                      lang == LANG_ZH ? "zh" : "en", "languages", "zh", "en", "channel", t[P_CHANNEL][lang], "types",
                      types, "process", t[P_RECEIVED][lang], t[P_IN_REVIEW][lang], t[P_UPHELD][lang],
                      t[P_REJECTED][lang], t[P_CLOSED][lang], "follow", t[P_FOLLOW][lang], "time_limit_hours", limits,
                      "takedown", t[P_TAKEDOWN][lang], "authorities", t[P_AUTHORITIES][lang], "takedown_keep_days",
                      (json_int_t)cfg->takedown_days, "profile", hg_profile_name(cfg->profile)));
}

/* ---- the complainant's own lookup ---- */

/* GET /compliance/complaints/{id}: with the secret given at intake (X-Complaint-Secret, or ?secret=), the ticket's
 * status, dates and the provider's answer. Not its text or contact: whoever holds a leaked secret learns no more
 * than the progress. Every way of not matching is the same 404. */
void route_complaint_status(route_req *rq) {
  static const char *const known[] = {"secret", NULL};
  if (route_params_only(rq, known)) return;
  char secret[HG_COMPLAINT_SECRET_MAX + 8] = "";
  const char *h = evhttp_find_header(evhttp_request_get_input_headers(rq->req), "X-Complaint-Secret");
  if (h)
    snprintf(secret, sizeof secret, "%s", h);
  else if (route_param(rq, "secret", secret, sizeof secret) < 0)
    return;
  char *end;
  long long id = strtoll(rq->arg, &end, 10);
  hg_complaint c = {0};
  hg_error err;
  hg_status st = *end || id <= 0 ? HG_ERR_NOT_FOUND : hg_store_complaint_lookup(rq->gw->store, id, secret, &c, &err);
  sodium_memzero(secret, sizeof secret);
  if (st == HG_ERR_NOT_FOUND) {
    send_error(rq->req, 404, "invalid_request_error",
               "no complaint has this number and secret (the secret was given when the complaint was made)", NULL);
    return;
  }
  if (st) {
    send_error(rq->req, 503, "server_error", err.message, NULL);
    return;
  }
  int64_t now = hg_clock_wall_ms();
  int open = !strcmp(c.status, "received") || !strcmp(c.status, "in_review");
  send_json(rq->req, 200,
            json_pack("{s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:b, s:s?}", "id", (json_int_t)c.id, "type", c.type,
                      "status", c.status, "channel", c.channel, "created_ms", (json_int_t)c.created_ms, "due_ms",
                      (json_int_t)c.due_ms, "updated_ms", (json_int_t)c.updated_ms, "overdue", open && c.due_ms < now,
                      "resolution", open ? NULL : c.resolution));
  hg_complaint_clear(&c);
}

/* POST /admin/complaints/{id}/secret: a new secret for the complainant (one who came by telephone or letter, or who
 * lost theirs); the old one stops working. The secret is in the answer only, never in a record. */
void route_complaint_secret(route_req *rq) {
  char *end;
  long long id = strtoll(rq->arg, &end, 10);
  char secret[HG_COMPLAINT_SECRET_MAX];
  hg_error err;
  hg_status st = *end || id <= 0 ? HG_ERR_NOT_FOUND : hg_store_complaint_new_secret(rq->gw->store, id, secret, &err);
  if (st) {
    send_error(rq->req, st == HG_ERR_NOT_FOUND ? 404 : 503,
               st == HG_ERR_NOT_FOUND ? "invalid_request_error" : "server_error",
               st == HG_ERR_NOT_FOUND ? "no such complaint" : err.message, NULL);
    return;
  }
  admin_record(rq->gw, &rq->key, "admin/complaint-secret", "issued", json_pack("{s:I}", "complaint_id", (json_int_t)id));
  send_json(rq->req, 200, json_pack("{s:I, s:s}", "id", (json_int_t)id, "secret", secret));
  sodium_memzero(secret, sizeof secret);
}

/* ---- the reviewers' pages ---- */

typedef struct page_ctx {
  json_t *arr;
  int64_t now;
} page_ctx;

static int page_complaint(void *ctx, const hg_complaint *c) {
  page_ctx *p = ctx;
  json_array_append_new(p->arr, complaint_json(c, p->now));
  return 0;
}

/* GET /admin/complaints[?status=&type=&channel=&overdue=&limit=&before=]: newest first, a page at a time; "next"
 * is the query of the next page (null on the last). */
void route_complaints_list(route_req *rq) {
  static const char *const known[] = {"status", "type", "channel", "overdue", "limit", "before", NULL};
  char status[24], type[32], channel[16];
  hg_complaint_query q = {.limit = 100};
  int rs, rt, rc;
  if (route_params_only(rq, known) || (rs = route_param(rq, "status", status, sizeof status)) < 0 ||
      (rt = route_param(rq, "type", type, sizeof type)) < 0 ||
      (rc = route_param(rq, "channel", channel, sizeof channel)) < 0 ||
      route_param_bool(rq, "overdue", &q.overdue) < 0 ||
      route_param_int(rq, "limit", 1, HG_COMPLAINT_PAGE_MAX, &q.limit) < 0 ||
      route_param_int(rq, "before", 1, INT64_MAX, &q.before_id) < 0)
    return;
  q.status = rs ? status : NULL;
  q.type = rt ? type : NULL;
  q.channel = rc ? channel : NULL;
  page_ctx p = {json_array(), hg_clock_wall_ms()};
  int64_t next = 0;
  hg_error err;
  hg_status st = hg_store_complaint_query(read_store(rq->gw), &q, p.now, page_complaint, &p, &next, &err);
  if (st) {
    json_decref(p.arr);
    send_error(rq->req, st == HG_ERR_INVALID ? 400 : 503, st == HG_ERR_INVALID ? "invalid_request_error" : "server_error",
               err.message, NULL);
    return;
  }
  json_t *out = json_pack("{s:o, s:I}", "complaints", p.arr, "limit", (json_int_t)q.limit);
  if (next) {
    char link[300];
    snprintf(link, sizeof link, "/admin/complaints?limit=%lld%s%s%s%s%s%s%s&before=%lld", (long long)q.limit,
             q.status ? "&status=" : "", q.status ? q.status : "", q.type ? "&type=" : "", q.type ? q.type : "",
             q.channel ? "&channel=" : "", q.channel ? q.channel : "", q.overdue ? "&overdue=true" : "",
             (long long)next);
    json_object_set_new(out, "next_before", json_integer(next));
    json_object_set_new(out, "next", json_string(link));
  } else {
    json_object_set_new(out, "next_before", json_null());
    json_object_set_new(out, "next", json_null());
  }
  send_json(rq->req, 200, out);
}
