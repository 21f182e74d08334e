#!/usr/bin/env python3
"""operator_test.py HEGUI SAMPLE_UPSTREAM — the operator's tools over HTTP against a gateway with a test clock:
the clock read and moved by an admin call (404 without a test clock; forward only; recorded) and every timed rule
following it (key expiry, suspensions running out, minors' closed hours and daily minutes, complaint deadlines,
retention); complaints paged and filtered (checked against a list kept by the test), the complainant's own lookup by
number and secret, the process in Chinese and English; strikes listed per user with their evidence; takedowns
withdrawn; keys revoked in bulk; the pseudonym lookup with its recorded reason; unknown and deleted users 404; and
the friction fixes (identity 400s name the field, the request that trips the strike ladder says so, the minors'
limit message in plain words, reason phrases such as "Too Many Requests")."""
import http.client
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hgtest  # noqa: E402
from hgtest import answer, chat, check, keys_create, report, request, start  # noqa: E402

HEGUI, UPSTREAM = sys.argv[1], sys.argv[2]
TMP = tempfile.mkdtemp(prefix="hg-operator-")
NOON = 1796097600000  # 2026-12-01 12:00 at +08:00 (04:00 UTC)
HOUR, DAY = 3600000, 86400000


def raw_status(port, method, path, key=None, body=None, headers=None):
    """(status, reason phrase, JSON) of one request."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    h = {"Content-Type": "application/json"}
    if key:
        h["Authorization"] = "Bearer " + key
    h.update(headers or {})
    c.request(method, path, body=json.dumps(body).encode() if body is not None else None, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    try:
        return r.status, r.reason, json.loads(data)
    except ValueError:
        return r.status, r.reason, data


def now(port, admin):
    s, j = request(port, "GET", "/admin/clock", key=admin)
    return j["now_ms"]


def advance(port, admin, step):
    s, j = request(port, "POST", "/admin/clock", {"advance": step}, admin)
    check(s == 200, "the clock moves by %s: %s %s" % (step, s, j))
    return j


def wait_for(cond, what, seconds=15):
    """Polls cond until it holds or the deadline passes (never a sleep standing for an event)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    check(False, "within %d s: %s" % (seconds, what))
    return False


def clock(port, admin, reviewer, data, uport):
    s, j = request(port, "GET", "/admin/clock", key=admin)
    check(s == 200 and j["now_ms"] == NOON and j["mode"] == "pinned" and j["utc"] == "2026-12-01T04:00:00Z",
          "the test clock reads as started: %s" % j)
    s, j = request(port, "GET", "/admin/clock", key=reviewer)
    check(s == 403, "only an admin reads the clock: %s" % s)
    s, j = request(port, "POST", "/admin/clock", {"set_ms": NOON - 1}, admin)
    check(s == 409 and "forward" in j["error"]["message"], "the clock does not go back: %s %s" % (s, j))
    for bad in ({}, {"advance": "8x"}, {"advance": -5}, {"advance": "1d", "set_ms": NOON}, {"advance": "1d", "run": 1}):
        s, j = request(port, "POST", "/admin/clock", bad, admin)
        check(s == 400, "a bad move is refused: %s -> %s" % (bad, s))
    check(now(port, admin) == NOON, "refused moves changed nothing")
    # a gateway without a test clock has no clock route at all
    cfg = os.path.join(TMP, "plain.yaml")
    with open(cfg, "w") as f:
        f.write("data_dir: %s\nupstream:\n  url: http://127.0.0.1:%d\n" % (os.path.join(TMP, "plain"), uport))
    plain, pport = start([HEGUI, "serve", "--config", cfg, "--listen", "127.0.0.1:0"], "serving on", TMP)
    try:
        padmin = keys_create(HEGUI, os.path.join(TMP, "plain"), "root", "admin")
        s, j = request(pport, "GET", "/admin/clock", key=padmin)
        check(s == 404, "no test clock, no clock route: %s" % s)
        s, j = request(pport, "POST", "/admin/clock", {"advance": "1d"}, padmin)
        check(s == 404, "and no way to move it: %s" % s)
        s, r, j = raw_status(pport, "POST", "/v1/chat/completions", padmin,
                             {"model": "sample-1", "messages": [{"role": "user", "content": "你好"}]},
                             headers={"X-Hegui-Explicit-Label": "omit", "X-Hegui-Recipient": "someone"})
        check(s == 403 and j["error"]["code"] == "unlabeled_not_allowed",
              "unlabeled answers are refused unless the policy allows them: %s %s" % (s, j))
    finally:
        plain.kill()


def key_expiry(port, admin):
    s, j = request(port, "POST", "/admin/keys", {"user": "kate", "expires_days": 1}, admin)
    kate = j["key"]
    check(j["expires_ms"] == now(port, admin) + DAY, "the expiry counts from the test clock: %s" % j)
    s, j = chat(port, kate, "你好")
    check(s == 200, "a fresh key works: %s" % s)
    advance(port, admin, "25h")
    s, j = chat(port, kate, "你好")
    check(s == 401 and "expired" in j["error"]["message"], "a day later the key has expired: %s %s" % (s, j))


def standing_and_strikes(port, admin, reviewer, mallory):
    answers = []
    for i in range(3):
        s, j = chat(port, mallory, "哪里买冰毒 %d" % i)
        answers.append(answer(j))
    check("suspended until" not in answers[0] and "暂停使用至" not in answers[1],
          "the first refusals only warn: %s" % answers[:2])
    check("suspended until" in answers[2] and "暂停使用至" in answers[2],
          "the refusal that trips the ladder says the account is now suspended: %s" % answers[2])
    s, j = chat(port, mallory, "你好")
    check(s == 403 and j["error"]["code"] == "account_suspended", "then suspended: %s %s" % (s, j))
    s, j = request(port, "GET", "/admin/users/mallory/strikes", key=reviewer)
    strikes = j.get("strikes", [])
    check(s == 200 and j["count"] == 3 and len(strikes) == 3 and j["standing"] == "suspended",
          "the strikes are listed: %s %s" % (s, j))
    check(all(x["audit_seq"] > 0 and x["route"] == "/v1/chat/completions" and x["verdict"] == "block"
              for x in strikes), "each with the record that is its evidence: %s" % strikes)
    check([x["time_ms"] for x in strikes] == sorted(x["time_ms"] for x in strikes), "oldest first")
    check(len(j.get("pseudonym", "")) == 32, "with the pseudonym the records use")
    s, j = request(port, "GET", "/admin/users/nobody-here/strikes", key=reviewer)
    check(s == 404, "an unknown user's strikes: %s" % s)
    # the suspension runs out by the clock (workflows default 60 minutes here)
    advance(port, admin, "61m")
    s, j = chat(port, mallory, "你好")
    check(s == 200, "61 minutes later the suspension is over: %s %s" % (s, j))


def minors(port, admin, reviewer, kid):
    s, j = request(port, "POST", "/admin/users/kid/minor", {"minor": True}, reviewer)
    check(s == 200, "a reviewer flags a minor: %s %s" % (s, j))
    t = now(port, admin)
    local_hour = ((t // 1000 + 8 * 3600) % 86400) // 3600
    # move to 21:00 local the same day (the earlier steps moved the clock a day and some)
    advance(port, admin, "%dms" % ((21 - local_hour) % 24 * HOUR - (t % HOUR)))
    s, j = chat(port, kid, "你好")
    check(s == 200, "a minor at 21:00 is served: %s %s" % (s, j))
    advance(port, admin, "10m")
    s, j = chat(port, kid, "你好")  # 10 minutes of use (daily_minutes: 15)
    check(s == 200, "a minor after 10 minutes of use is served: %s" % s)
    advance(port, admin, "10m")
    s, j = chat(port, kid, "你好")  # counted before this one: 10 of 15 minutes
    check(s == 200, "a minor with 10 of 15 minutes used is served: %s" % s)
    advance(port, admin, "5m")
    s, r, j = raw_status(port, "POST", "/v1/chat/completions", kid,
                         {"model": "sample-1", "messages": [{"role": "user", "content": "你好"}]})
    msg = j["error"]["message"] if isinstance(j, dict) and "error" in j else ""
    check(s == 429 and r == "Too Many Requests" and j["error"]["code"] == "minors_daily_limit",
          "25 minutes of use pass the 15 a day: %s %s %s" % (s, r, j))
    check("15 minutes a day" in msg and "每日 15 分钟" in msg and "0 = none" not in msg and "requests" not in msg,
          "the limit in plain words, without configuration words: %s" % msg)
    advance(port, admin, "80m")  # 22:25 local: closed hours
    s, j = chat(port, kid, "你好")
    check(s == 403 and j["error"]["code"] == "minors_closed_hours", "closed hours follow the clock: %s %s" % (s, j))
    advance(port, admin, "10h")  # 08:20 the next day: a new day, open again
    s, j = chat(port, kid, "你好")
    check(s == 200, "the next morning the minor is served again: %s %s" % (s, j))


def complaints(port, admin, reviewer, auditor):
    made = []  # (id, type, channel), as the test made them
    for i, (typ, chan) in enumerate([("privacy", "web"), ("other", "web"), ("privacy", "phone"),
                                     ("prohibited_content", "web"), ("privacy", "email"), ("other", "letter"),
                                     ("prohibited_content", "web")]):
        if chan == "web":
            s, j = request(port, "POST", "/compliance/complaints", {"type": typ, "text": "投诉 %d" % i,
                                                                    "contact": "c%d@example.com" % i})
        else:
            s, j = request(port, "POST", "/admin/complaints", {"type": typ, "text": "投诉 %d" % i, "channel": chan,
                                                               "contact": "电话 %d" % i}, reviewer)
        check(s == 201 and len(j.get("secret") or "") == 32 and j.get("follow") == "/compliance/complaints/%d" % j["id"],
              "every new ticket gets a secret to follow it: %s" % j)
        made.append((j["id"], typ, chan, j["secret"]))
    ids_desc = sorted((m[0] for m in made), reverse=True)
    # pages of 3, followed by their next link, give every ticket once, newest first
    seen, path, pages = [], "/admin/complaints?limit=3", 0
    while path and pages < 10:
        s, j = request(port, "GET", path, key=auditor)
        seen += [c["id"] for c in j["complaints"]]
        check(len(j["complaints"]) <= 3, "a page holds at most its limit")
        path, pages = j["next"], pages + 1
    mine = [i for i in seen if i in ids_desc]
    check(mine == ids_desc and len(seen) == len(set(seen)), "the pages list each ticket once, newest first: %s" % seen)
    for q, want in (("type=privacy", [m[0] for m in made if m[1] == "privacy"]),
                    ("channel=phone", [m[0] for m in made if m[2] == "phone"]),
                    ("type=prohibited_content&channel=web", [m[0] for m in made if m[1] == "prohibited_content"])):
        s, j = request(port, "GET", "/admin/complaints?limit=500&" + q, key=auditor)
        got = [c["id"] for c in j["complaints"] if c["id"] in ids_desc]
        check(s == 200 and got == sorted(want, reverse=True), "filter %s: %s, want %s" % (q, got, want))
    first = made[0][0]
    request(port, "POST", "/admin/complaints/%d" % first, {"status": "in_review"}, reviewer)
    s, j = request(port, "GET", "/admin/complaints?status=in_review", key=auditor)
    check(s == 200 and [c["id"] for c in j["complaints"]] == [first], "filter by status: %s" % j)
    s, j = request(port, "GET", "/admin/complaints?overdue=true", key=auditor)
    check(s == 200 and not [c for c in j["complaints"] if c["id"] in ids_desc], "nothing overdue yet: %s" % j)
    advance(port, admin, "25h")  # past prohibited_content's 24 hours, within privacy's 72
    s, j = request(port, "GET", "/admin/complaints?overdue=1&limit=500", key=auditor)
    got = sorted(c["id"] for c in j["complaints"] if c["id"] in ids_desc)
    check(got == sorted(m[0] for m in made if m[1] == "prohibited_content") and
          all(c["overdue"] for c in j["complaints"]), "the 24-hour tickets are overdue by the clock: %s" % got)
    for bad in ("status=lost", "type=spam", "channel=fax", "overdue=maybe", "limit=0", "limit=501", "before=x",
                "colour=red"):
        s, j = request(port, "GET", "/admin/complaints?" + bad, key=auditor)
        check(s == 400 and j["error"].get("param") in (bad.split("=")[0], None), "a bad filter %s: %s %s" % (bad, s, j))
    # the complainant's own lookup
    tid, secret = made[3][0], made[3][3]
    s, r, j = raw_status(port, "GET", "/compliance/complaints/%d" % tid, headers={"X-Complaint-Secret": secret})
    check(s == 200 and j["id"] == tid and j["status"] == "received" and j["overdue"] is True,
          "the complainant sees the status with number and secret: %s %s" % (s, j))
    check("text" not in j and "contact" not in j, "but not the text or contact: %s" % j)
    s, r, j = raw_status(port, "GET", "/compliance/complaints/%d?secret=%s" % (tid, secret))
    check(s == 200 and j["id"] == tid, "the secret also as a parameter: %s" % s)
    for path, hdr, why in (("/compliance/complaints/%d" % tid, {}, "no secret"),
                           ("/compliance/complaints/%d" % tid, {"X-Complaint-Secret": made[4][3]}, "another's secret"),
                           ("/compliance/complaints/%d" % tid, {"X-Complaint-Secret": secret[:-1] + "A"},
                            "a wrong secret"),
                           ("/compliance/complaints/999999", {"X-Complaint-Secret": secret}, "an unknown number")):
        s, r, j = raw_status(port, "GET", path, headers=hdr)
        check(s == 404 and r == "Not Found", "%s: one 404 for all: %s %s" % (why, s, j))
    phone_id = made[2][0]
    s, j = request(port, "POST", "/admin/complaints/%d/secret" % phone_id, key=reviewer)
    check(s == 200 and len(j.get("secret", "")) == 32 and j["secret"] != made[2][3], "staff issue a new secret")
    s, r, old = raw_status(port, "GET", "/compliance/complaints/%d" % phone_id, headers={"X-Complaint-Secret": made[2][3]})
    s2, r, new = raw_status(port, "GET", "/compliance/complaints/%d" % phone_id,
                            headers={"X-Complaint-Secret": j.get("secret", "")})
    check(s == 404 and s2 == 200, "the old secret stops working, the new one works: %s %s" % (s, s2))
    s, j = request(port, "POST", "/admin/complaints/%d/secret" % phone_id, key=auditor)
    check(s == 403, "an auditor cannot issue secrets: %s" % s)
    # the published process, in both languages
    s, r, zh = raw_status(port, "GET", "/compliance/complaints?lang=zh")
    s2, r, en = raw_status(port, "GET", "/compliance/complaints", headers={"Accept-Language": "en-US"})
    s3, r, zh2 = raw_status(port, "GET", "/compliance/complaints", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    check(s == 200 and zh["lang"] == "zh" and "受理" in zh["process"][0] and "投诉" in zh["channel"],
          "the process in Chinese: %s" % zh.get("process"))
    check(s2 == 200 and en["lang"] == "en" and en["process"][0].startswith("received"), "and in English")
    check(s3 == 200 and zh2 == zh, "Accept-Language chooses Chinese too")
    check(zh["time_limit_hours"] == en["time_limit_hours"] and len(zh["process"]) == len(en["process"]),
          "the same process in both")
    s, r, j = raw_status(port, "GET", "/compliance/complaints?lang=fr")
    check(s == 400, "an unknown language: %s" % s)


def takedown_withdraw(port, admin, reviewer, auditor, user):
    s, j = chat(port, user, "讲个故事")
    story = answer(j)
    s, j = request(port, "POST", "/admin/takedowns", {"text": story}, reviewer)
    td = j.get("id")
    check(s == 201 and td, "a takedown: %s %s" % (s, j))
    wait_for(lambda: chat(port, user, "讲个故事")[1]["choices"][0]["finish_reason"] == "content_filter",
             "the takedown blocks the story")
    s, j = request(port, "POST", "/admin/takedowns/%s/withdraw" % td, {}, reviewer)
    check(s == 400 and j["error"]["param"] == "reason", "a withdrawal says why: %s %s" % (s, j))
    s, j = request(port, "POST", "/admin/takedowns/%s/withdraw" % td, {"reason": "x"}, auditor)
    check(s == 403, "an auditor cannot withdraw: %s" % s)
    s, j = request(port, "POST", "/admin/takedowns/%s/withdraw" % td, {"reason": "complaint reversed on appeal"},
                   reviewer)
    check(s == 200 and j["state"] == "withdrawn", "withdrawn: %s %s" % (s, j))
    wait_for(lambda: chat(port, user, "讲个故事")[1]["choices"][0]["finish_reason"] == "stop",
             "the story is answered again once the takedown is withdrawn")
    s, j = request(port, "POST", "/admin/takedowns/%s/withdraw" % td, {"reason": "again"}, reviewer)
    check(s == 409, "a second withdrawal: %s" % s)
    s, j = request(port, "POST", "/admin/takedowns/99999/withdraw", {"reason": "nothing"}, reviewer)
    check(s == 404, "an unknown takedown: %s" % s)
    s, j = request(port, "GET", "/admin/takedowns?state=withdrawn", key=auditor)
    w = [t for t in j.get("takedowns", []) if t["id"] == td]
    check(w and w[0]["withdrawn"]["reason"] == "complaint reversed on appeal" and
          w[0]["withdrawn"]["by"] == "reviewer:rita", "listed as withdrawn, with who and why: %s" % w)
    s, j = request(port, "GET", "/admin/takedowns?state=in_force", key=auditor)
    check(s == 200 and td not in [t["id"] for t in j["takedowns"]], "and no longer in force")


def keys_bulk(port, admin, data):
    bobs = [keys_create(HEGUI, data, "bob") for _ in range(3)]
    admin2 = keys_create(HEGUI, data, "ada", "admin")
    s, j = request(port, "POST", "/admin/keys/revoke", {}, admin)
    check(s == 400, "a bulk revocation names its keys: %s %s" % (s, j))
    s, j = request(port, "POST", "/admin/keys/revoke", {"role": "king"}, admin)
    check(s == 400 and j["error"]["param"] == "role", "an unknown role: %s" % j)
    s, j = request(port, "POST", "/admin/keys/revoke", {"user": "bob"}, admin)
    check(s == 200 and j["revoked"] == 3 and len(j["key_ids"]) == 3, "bob's three keys in one call: %s" % j)
    check(all(chat(port, k, "你好")[0] == 401 for k in bobs), "none of them works any more")
    s, j = request(port, "POST", "/admin/keys/revoke", {"user": "bob"}, admin)
    check(s == 200 and j["revoked"] == 0, "revoked keys are not revoked twice: %s" % j)
    s, j = request(port, "POST", "/admin/keys/revoke", {"role": "admin"}, admin)
    check(s == 200 and j["revoked"] == 1, "every admin key but the caller's: %s" % j)
    s, j = request(port, "GET", "/admin/clock", key=admin2)
    check(s == 401, "the other admin's key is revoked: %s" % s)
    s, j = request(port, "GET", "/admin/clock", key=admin)
    check(s == 200, "the caller's own key is spared: %s" % s)
    rec = [r for r in hgtest.records(HEGUI, data) if r["route"] == "admin/keys-revoke"]
    check(rec and "bob" not in rec[0]["detail_json"] and json.loads(rec[0]["detail_json"])["count"] == 3,
          "the record names the keys and the user by pseudonym: %s" % rec[:1])


def users_and_pseudonyms(port, admin, reviewer, auditor, data):
    s, j = request(port, "GET", "/admin/users/never-was", key=reviewer)
    check(s == 404, "an unknown user is 404: %s %s" % (s, j))
    s, j = request(port, "GET", "/admin/users/mallory/strikes", key=reviewer)
    p = j["pseudonym"]
    s, j = request(port, "POST", "/admin/pseudonyms/%s" % p, {"reason": "police request 2026-117"}, reviewer)
    check(s == 403, "a reviewer cannot look pseudonyms up: %s" % s)
    s, j = request(port, "POST", "/admin/pseudonyms/%s" % p, {}, auditor)
    check(s == 400 and j["error"]["param"] == "reason", "a lookup needs a reason: %s %s" % (s, j))
    s, j = request(port, "POST", "/admin/pseudonyms/%s" % p, {"reason": "police request 2026-117"}, auditor)
    check(s == 200 and j["user"] == "mallory", "an auditor finds the name behind a pseudonym: %s %s" % (s, j))
    s, j = request(port, "POST", "/admin/pseudonyms/%s" % ("0" * 32), {"reason": "checking a stray record"}, auditor)
    check(s == 404, "a pseudonym nobody has: %s" % s)
    s, j = request(port, "POST", "/admin/pseudonyms/XYZ", {"reason": "checking a stray record"}, auditor)
    check(s == 404, "not a pseudonym: %s" % s)
    rec = [r for r in hgtest.records(HEGUI, data) if r["route"] == "admin/pseudonym-lookup"]
    check(len(rec) == 2 and "police request 2026-117" in rec[0]["detail_json"] and "mallory" not in
          rec[0]["detail_json"] and rec[0]["actor"] == "admin:otto", "each lookup is recorded with its reason: %s" % rec)
    keys_create(HEGUI, data, "gone")
    s, j = request(port, "GET", "/admin/users/gone", key=reviewer)
    check(s == 200, "a user is there: %s" % s)
    s, j = request(port, "DELETE", "/admin/users/gone", key=admin)
    check(s == 200, "deleted: %s %s" % (s, j))
    s, j = request(port, "GET", "/admin/users/gone", key=reviewer)
    check(s == 404, "a deleted user is 404: %s %s" % (s, j))


def identity_params(port, user):
    s, j = request(port, "POST", "/compliance/identity", {"id_number": "110101199003070000"}, user)
    check(s == 400 and j["error"]["param"] == "name", "a missing name is named: %s" % j)
    s, j = request(port, "POST", "/compliance/identity", {"name": "张三", "id_number": "12345"}, user)
    check(s == 400 and j["error"]["param"] == "id_number", "a bad ID number is named: %s" % j)
    s, j = request(port, "POST", "/compliance/identity", {"name": "张三", "id_number": hgtest.cn_id("19900307"),
                                                          "phone": "12"}, user)
    check(s == 400 and j["error"]["param"] == "phone", "a bad phone is named: %s" % j)


def unlabeled(port, user, data):
    body = {"model": "sample-1", "messages": [{"role": "user", "content": "讲个故事"}]}
    s, r, j = raw_status(port, "POST", "/v1/chat/completions", user, body)
    notice = "本内容由人工智能生成"
    check(s == 200 and notice in answer(j), "an answer carries the explicit label by default")
    hdr = {"X-Hegui-Explicit-Label": "omit", "X-Hegui-Recipient": "编辑部 王五 (press kit 12)"}
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("POST", "/v1/chat/completions", body=json.dumps(body).encode(),
              headers={"Authorization": "Bearer " + user, "Content-Type": "application/json",
                       **{k: v.encode() for k, v in hdr.items()}})
    resp = c.getresponse()
    j = json.loads(resp.read())
    c.close()
    check(resp.status == 200 and notice not in answer(j) and answer(j) and j.get("aigc", {}).get("ProduceID") == j["id"],
          "on request, the answer without the explicit label and still with the implicit one: %s" % j)
    check(resp.getheader("X-Hegui-Explicit-Label") == "omitted", "the answer says the label was omitted")
    rec = [x for x in hgtest.records(HEGUI, data) if x["route"] == "/v1/chat/completions" and
           json.loads(x["detail_json"]).get("explicit_label") == "omitted"]
    check(len(rec) == 1 and json.loads(rec[0]["detail_json"])["recipient"] == hdr["X-Hegui-Recipient"],
          "the record names who received it: %s" % rec)
    st = {}
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("POST", "/v1/chat/completions", body=json.dumps(dict(body, stream=True)).encode(),
              headers={"Authorization": "Bearer " + user, "Content-Type": "application/json",
                       **{k: v.encode() for k, v in hdr.items()}})
    raw = c.getresponse().read().decode()
    c.close()
    text = "".join(((json.loads(b[6:]).get("choices") or [{}])[0].get("delta") or {}).get("content") or ""
                   for b in raw.split("\n\n") if b.startswith("data: {"))
    check(text and notice not in text and '"aigc"' in raw, "and streamed the same: %s" % text[-40:])
    for bad, param in (({"X-Hegui-Explicit-Label": "omit"}, "X-Hegui-Recipient"),
                       ({"X-Hegui-Explicit-Label": "none", "X-Hegui-Recipient": "x"}, "X-Hegui-Explicit-Label"),
                       ({"X-Hegui-Recipient": "x"}, "X-Hegui-Explicit-Label")):
        s, r, j = raw_status(port, "POST", "/v1/chat/completions", user, body, headers=bad)
        check(s == 400 and j["error"]["param"] == param, "%s: %s %s" % (bad, s, j))


def retention(port, admin, data):
    out = advance(port, admin, "2d")
    erased = out.get("retention", {}).get("audit_text_erased", -1)
    check(erased > 0, "moving the clock past audit.text_retention_days runs the retention job at once: %s" % out)
    recs = [r for r in hgtest.records(HEGUI, data) if r["route"] == "/v1/chat/completions"]
    old = [r for r in recs if r["time_ms"] < now(port, admin) - DAY]
    check(old and all(r.get("text") is None for r in old), "records older than a day keep no text: %d" % len(old))
    moves = [r for r in hgtest.records(HEGUI, data) if r["route"] == "admin/clock"]
    check(len(moves) >= 5 and all(json.loads(r["detail_json"])["to_ms"] > json.loads(r["detail_json"])["from_ms"]
                                  for r in moves), "every move of the clock is recorded: %d" % len(moves))


def main():
    up, uport = start([UPSTREAM, "--listen", "127.0.0.1:0", "--quiet"], "listening", TMP)
    data = os.path.join(TMP, "data")
    admin = keys_create(HEGUI, data, "root", "admin")
    reviewer = keys_create(HEGUI, data, "rita", "reviewer")
    auditor = keys_create(HEGUI, data, "otto", "auditor")
    user = keys_create(HEGUI, data, "alice")
    mallory = keys_create(HEGUI, data, "mallory")
    kid = keys_create(HEGUI, data, "kid")
    cfg = os.path.join(TMP, "hegui.yaml")
    with open(cfg, "w") as f:
        f.write("data_dir: %s\nupstream:\n  url: http://127.0.0.1:%d\n"
                "strikes:\n  suspend_in_a_row: 3\n  suspend_minutes: 60\n  near_duplicates_per_hour: 0\n"
                "complaints:\n  rate_per_minute: 50\nminors:\n  daily_minutes: 15\n"
                "audit:\n  retain_text: full\n  text_retention_days: 1\nlabels:\n  unlabeled_on_request: true\n"
                % (data, uport))
    gw, port = start([HEGUI, "serve", "--config", cfg, "--listen", "127.0.0.1:0", "--test-clock", str(NOON)],
                     "serving on", TMP)
    try:
        clock(port, admin, reviewer, data, uport)
        key_expiry(port, admin)
        standing_and_strikes(port, admin, reviewer, mallory)
        minors(port, admin, reviewer, kid)
        complaints(port, admin, reviewer, auditor)
        takedown_withdraw(port, admin, reviewer, auditor, user)
        users_and_pseudonyms(port, admin, reviewer, auditor, data)
        keys_bulk(port, admin, data)
        identity_params(port, user)
        unlabeled(port, user, data)
        retention(port, admin, data)
    finally:
        gw.kill()
        up.kill()
    return report("operator")


if __name__ == "__main__":
    sys.exit(main())
