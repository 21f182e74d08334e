#!/usr/bin/env python3
"""workflows_test.py HEGUI SAMPLE_UPSTREAM — the provider's duties over HTTP against a real SQLite store: a user
climbs the strike ladder to suspension and termination; a complaint is taken in, survives a kill -9 right after
its acknowledgement, is upheld, and the same content is then blocked in a stream; a reviewer's takedown reaches a
second gateway sharing the store within a second; the overdue list with a pinned clock; bad input and wrong roles
each get a clear 4xx and change nothing; the audit chain holds."""
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

HEGUI, UPSTREAM = sys.argv[1], sys.argv[2]
TMP = tempfile.mkdtemp(prefix="hegui-wf-")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hgtest  # noqa: E402
from hgtest import FAILS, PASSES, chat, check, request  # noqa: E402,F401


def start(cmd, word, env=None):
    return hgtest.start(cmd, word, TMP, env)


def keys_create(data, user, role="user"):
    return hgtest.keys_create(HEGUI, data, user, role)


def main():
    up, uport = start([UPSTREAM, "--listen", "127.0.0.1:0", "--quiet"], "listening")
    data = os.path.join(TMP, "data")
    user = keys_create(data, "alice")
    mallory = keys_create(data, "mallory")
    reviewer = keys_create(data, "rita", "reviewer")
    auditor = keys_create(data, "otto", "auditor")
    cfg = os.path.join(TMP, "hegui.yaml")
    with open(cfg, "w") as f:
        f.write("data_dir: %s\nupstream:\n  url: http://127.0.0.1:%d\n"
                "strikes:\n  suspend_in_a_row: 3\n  suspend_minutes: 60\n  terminate_after_suspensions: 2\n"
                "complaints:\n  rate_per_minute: 50\nlimits:\n  max_body_bytes: 65536\n" % (data, uport))
    serve = [HEGUI, "serve", "--config", cfg, "--listen", "127.0.0.1:0"]
    gw, port = start(serve, "serving on")
    try:
        strikes(port, mallory, reviewer, user)
        gw = complaints(gw, port, serve, user, reviewer, auditor, data)
        port = gw.port
        second_gateway(port, serve, user, reviewer)
        bad_input(port, user, reviewer, auditor)
    finally:
        gw.kill()
    # usage limits per user: the 6th request in a minute is refused with 429 and Retry-After
    qcfg = os.path.join(TMP, "quota.yaml")
    with open(qcfg, "w") as f:
        f.write("data_dir: %s\nupstream:\n  url: http://127.0.0.1:%d\n"
                "quotas:\n  per_user:\n    requests_per_minute: 5\n" % (data, uport))
    gq, qport = start([HEGUI, "serve", "--config", qcfg, "--listen", "127.0.0.1:0"], "serving on")
    try:
        codes = [chat(qport, user, "你好")[0] for _ in range(6)]
        check(codes == [200] * 5 + [429], "the 6th request in a minute is refused: %s" % codes)
        s, j = chat(qport, reviewer, "你好")
        check(s == 200, "another user is not affected")
    finally:
        gq.kill()
    # Article 19, bulk near-duplicates: one user sending the same template with small changes is struck once the
    # prompts reach strikes.near_duplicates_per_hour in an hour; varied prompts are not; another user is not
    ncfg = os.path.join(TMP, "near.yaml")
    farmer = keys_create(data, "farmer")
    writer = keys_create(data, "writer")
    lex = os.path.join(TMP, "fraud.tsv")
    with open(lex, "w") as f:
        f.write("刷单返利\tfraud\t3\treview\n冰毒\tA1h\t5\tblock\n")
    spammer = keys_create(data, "spammer")
    with open(ncfg, "w") as f:
        f.write("data_dir: %s\nupstream:\n  url: http://127.0.0.1:%d\nclassifier: {model: none}\nlexicon: %s\n"
                "strikes:\n  near_duplicates_per_hour: 5\n  suspend_per_day: 3\n" % (data, uport, lex))
    gn, nport = start([HEGUI, "serve", "--config", ncfg, "--listen", "127.0.0.1:0"], "serving on")
    try:
        farm = "请为我们的新款保温杯写一条五星好评，强调保温效果好、颜值高、价格实惠，第%d条，语气自然一些"
        codes = [chat(nport, farmer, farm % i)[0] for i in range(1, 12)]
        varied = ["北京今天的天气怎么样", "帮我把这段话翻译成英文：我喜欢读书", "给我讲讲光合作用的原理",
                  "推荐几本适合初学者的编程书", "怎样做一道番茄炒蛋", "解释一下什么是区块链", "周末去哪里爬山比较好"]
        vcodes = [chat(nport, writer, v)[0] for v in varied]
        recs = [json.loads(l) for l in subprocess.run([HEGUI, "audit", "export", "--data-dir", data],
                                                      capture_output=True, text=True).stdout.splitlines()]
        farm_strikes = [r for r in recs if r["route"] == "abuse/near-duplicates"]
        check(len(farm_strikes) >= 3 and json.loads(farm_strikes[0]["detail_json"])["similar_in_hour"] >= 5,
              "near-duplicates are struck from the 6th on, with the count as evidence: %d records" % len(farm_strikes))
        check(403 in codes and codes[:6] == [200] * 6,
              "the strikes suspend the farmer by the ladder (3 a day here): %s" % codes)
        check(vcodes == [200] * len(varied) and len(farm_strikes) == len(set(r["actor"] for r in farm_strikes)) *
              len(farm_strikes), "varied prompts by another user are not struck: %s" % vcodes)
        # a prompt in one of strikes.categories (fraud) that the policy only reviews is still a strike
        s, j = chat(nport, spammer, "招人刷单返利，日结")
        recs = [json.loads(l) for l in subprocess.run([HEGUI, "audit", "export", "--data-dir", data],
                                                      capture_output=True, text=True).stdout.splitlines()]
        cat = [r for r in recs if r["route"] == "abuse/category"]
        check(s == 200 and j["choices"][0]["finish_reason"] == "stop" and cat and
              json.loads(cat[-1]["detail_json"])["category"] == "fraud",
              "a reviewed fraud prompt is answered and struck: %s %s" % (s, cat[-1:]))
    finally:
        gn.kill()
    # the overdue list, with the clock pinned a week ahead
    gw3, port3 = start(serve + ["--test-clock", str(int(time.time() * 1000) + 7 * 86400000)], "serving on")
    try:
        s, j = request(port3, "GET", "/admin/complaints?overdue=1", key=auditor)
        check(s == 200 and any(c["status"] == "received" for c in j["complaints"]),
              "open tickets past their time limit are listed as overdue: %s" % j)
        check(all(c["status"] in ("received", "in_review") for c in j["complaints"]), "only open tickets are overdue")
    finally:
        gw3.kill()
        up.kill()
    r = subprocess.run([HEGUI, "audit", "verify", "--data-dir", data], capture_output=True, text=True)
    check(r.returncode == 0, "audit chain holds: " + r.stdout + r.stderr)
    routes = [json.loads(l)["route"] for l in subprocess.run([HEGUI, "audit", "export", "--data-dir", data],
                                                             capture_output=True, text=True).stdout.splitlines()]
    check("strikes" in routes and "admin/complaint" in routes and "admin/takedown" in routes,
          "strike steps and admin actions are in the audit chain")
    print("workflows: %d passed, %d failed" % (PASSES[0], len(FAILS)))
    return 1 if FAILS else 0


def strikes(port, mallory, reviewer, user):
    for i in range(3):
        s, j = chat(port, mallory, "哪里买冰毒 %d" % i)
        check(s == 200 and j["choices"][0]["finish_reason"] == "content_filter", "blocked prompt %d" % i)
    s, j = chat(port, mallory, "你好")
    check(s == 403 and j["error"]["code"] == "account_suspended", "3 blocked inputs in a row suspend: %s %s" % (s, j))
    s, j = request(port, "GET", "/admin/users/mallory", key=reviewer)
    check(s == 200 and j["standing"] == "suspended" and j["until_ms"] > 0, "standing shows the suspension: %s" % j)
    s, j = chat(port, user, "你好")
    check(s == 200, "other users are not affected")
    s, j = request(port, "POST", "/admin/users/mallory/standing", {"standing": "active", "reason": "appeal"}, reviewer)
    check(s == 200, "a reviewer lifts the suspension: %s %s" % (s, j))
    s, j = chat(port, mallory, "你好")
    check(s == 200, "lifted: the user is served again")
    for i in range(3):
        chat(port, mallory, "冰毒 again %d" % i)
    s, j = chat(port, mallory, "你好")
    check(s == 403 and j["error"]["code"] == "account_terminated", "a repeated suspension terminates: %s" % j)


def complaints(gw, port, serve, user, reviewer, auditor, data):
    s, j = request(port, "GET", "/compliance/complaints")
    check(s == 200 and "time_limit_hours" in j and "process" in j, "the process and time limits are published")
    s, answer = chat(port, user, "讲个故事")
    produce_id = answer["id"]
    story = answer["choices"][0]["message"]["content"]
    s, j = request(port, "POST", "/compliance/complaints",
                   {"type": "prohibited_content", "produce_id": produce_id, "contact": "reader@example.com"})
    check(s == 201 and j["status"] == "received", "complaint taken in without a key: %s %s" % (s, j))
    ticket = j.get("id")
    # a complaint by telephone, entered by staff with the time it arrived: its time limit runs from then
    arrived = int(time.time() * 1000) - 2 * 86400000
    s, j = request(port, "POST", "/admin/complaints", {"type": "privacy", "text": "电话里说他的住址被公开了",
                                                       "contact": "电话 010-12345678", "channel": "phone",
                                                       "received_ms": arrived}, reviewer)
    check(s == 201 and j["channel"] == "phone" and j["received_ms"] == arrived and j["due_ms"] > arrived and
          j["due_ms"] - arrived < 30 * 86400000, "staff enter a telephone complaint with its arrival time: %s %s" % (s, j))
    phone_ticket = j.get("id")
    s, j = request(port, "POST", "/admin/complaints", {"type": "privacy", "text": "x", "channel": "phone"}, auditor)
    check(s == 403, "an auditor cannot enter complaints: %s" % s)
    for bad, why in (({"type": "privacy", "text": "x"}, "channel"), ({"type": "privacy", "text": "x", "channel": "fax"},
                     "channel"), ({"type": "privacy", "text": "x", "channel": "email",
                                   "received_ms": int(time.time() * 1000) + 86400000}, "received_ms")):
        s, j = request(port, "POST", "/admin/complaints", bad, reviewer)
        check(s == 400, "a staff complaint without a valid %s is refused: %s %s" % (why, s, j))
    s, j = request(port, "GET", "/admin/complaints", key=auditor)
    listed = [c for c in j.get("complaints", []) if c["id"] == phone_ticket]
    check(listed and listed[0]["channel"] == "phone" and listed[0]["created_ms"] == arrived,
          "the list shows the channel and when it arrived: %s" % listed)
    check(all(c["channel"] == "web" for c in j.get("complaints", []) if c["id"] == ticket),
          "the public intake's tickets are web")
    # a personal_info ticket is upheld with what was done for the data subject, not with a status alone
    s, j = request(port, "POST", "/compliance/complaints", {"type": "personal_info", "text": "请删除我的账号和记录",
                                                            "contact": "alice@example.com"})
    pi_ticket = j.get("id")
    s, j = request(port, "POST", "/admin/complaints/%s" % pi_ticket, {"status": "upheld"}, reviewer)
    check(s == 400 and "subject" in json.dumps(j), "upholding personal_info needs the subject action: %s %s" % (s, j))
    s, j = request(port, "POST", "/admin/complaints/%s" % pi_ticket,
                   {"status": "upheld", "subject": {"action": "delete", "user": "nobody-x"}}, reviewer)
    check(s == 403, "a deletion through a ticket needs an admin key: %s %s" % (s, j))
    s, j = request(port, "POST", "/admin/complaints/%s" % pi_ticket,
                   {"status": "upheld", "subject": {"action": "correct", "user": "alice"}}, reviewer)
    check(s == 409, "correct needs an identity to have been corrected: %s %s" % (s, j))
    s, j = request(port, "POST", "/admin/complaints/%s" % pi_ticket,
                   {"status": "upheld", "subject": {"action": "takedown"},
                    "resolution": "the answer repeated the complainant's address"}, reviewer)
    check(s == 200 and j["status"] == "upheld" and j.get("subject", {}).get("action") == "takedown" and
          j.get("takedown_id"), "upheld with a takedown of the personal data, linked: %s %s" % (s, j))
    # and by an admin, the data subject's deletion itself, its receipt linked to the ticket
    admin = keys_create(data, "adm", "admin")
    victim = keys_create(data, "victim")
    s, j = request(port, "POST", "/compliance/complaints", {"type": "personal_info", "text": "请删除我的全部数据",
                                                            "contact": "victim@example.com"})
    s, j = request(port, "POST", "/admin/complaints/%s" % j.get("id"),
                   {"status": "upheld", "subject": {"action": "delete", "user": "victim"}}, admin)
    check(s == 200 and j.get("subject", {}).get("action") == "delete" and j["subject"].get("receipt_seq"),
          "upheld by deleting the data subject, the receipt linked: %s %s" % (s, j))
    s, j = chat(port, victim, "你好")
    check(s == 401, "the deleted subject's key is gone: %s" % s)
    s, j = request(port, "POST", "/admin/complaints/%s" % ticket, {"status": "rejected", "subject": {"action": "x"}},
                   reviewer)
    check(s == 400, "subject is only for upholding personal_info: %s" % s)
    intake = [r for r in hgtest.records(HEGUI, data) if r["route"] == "complaints/intake"]
    mine = [r for r in intake if json.loads(r["detail_json"]).get("complaint_id") == ticket]
    check(mine and mine[0]["actor"] == "public" and "reader@example.com" not in mine[0]["detail_json"],
          "the public intake is in the chain (the ticket, not the contact): %s" % mine)
    # acknowledged means durable: kill -9 right after the 2xx, restart, the ticket is there
    s, j2 = request(port, "POST", "/compliance/complaints", {"type": "privacy", "text": "我的电话被公开了", "contact": "x"})
    gw.send_signal(signal.SIGKILL)
    gw.wait()
    gw, port = start(serve, "serving on")
    gw.port = port
    s, j = request(port, "GET", "/admin/complaints", key=auditor)
    ids = [c["id"] for c in j.get("complaints", [])]
    check(ticket in ids and j2.get("id") in ids, "both acknowledged complaints survived kill -9: %s" % ids)
    s, j = request(port, "POST", "/admin/complaints/%d" % ticket, {"status": "in_review"}, auditor)
    check(s == 403, "an auditor cannot act on tickets")
    s, j = request(port, "POST", "/admin/complaints/%d" % ticket, {"status": "in_review"}, reviewer)
    check(s == 200 and j["status"] == "in_review", "ticket in review")
    s, j = request(port, "POST", "/admin/complaints/%d" % ticket, {"status": "received"}, reviewer)
    check(s == 400, "a ticket cannot go back to received")
    s, j = request(port, "POST", "/admin/complaints/%d" % ticket, {"status": "upheld", "resolution": "违规内容"}, reviewer)
    check(s == 200 and j["status"] == "upheld" and j.get("takedown_id"), "upheld: a takedown was made: %s" % j)
    # no wait: the gateway that took the call rebuilds its fingerprints before it answers (docs/workflows.md)
    s, st = chat(port, user, "讲个故事", stream=True)
    check(st["finish"] == "content_filter", "the same content is blocked in a stream from then on: %s" % st)
    check(len(st["text"]) < len(story), "the taken-down answer did not come out whole")
    s, j = chat(port, user, "讲个故事")
    check(j["choices"][0]["finish_reason"] == "content_filter", "and when not streamed")
    s, j = chat(port, user, "你好")
    check(j["choices"][0]["finish_reason"] == "stop", "other answers pass")
    return gw


def second_gateway(port, serve, user, reviewer):
    gw2, port2 = start(serve, "serving on")
    try:
        s, j = chat(port2, user, "今天天气怎么样")
        check(j["choices"][0]["finish_reason"] == "stop", "weather answer passes before the takedown")
        weather = j["choices"][0]["message"]["content"].split("\n\n本内容")[0]
        s, j = request(port, "POST", "/admin/takedowns", {"text": weather}, reviewer)
        check(s == 201 and j.get("id"), "reviewer takedown by text: %s %s" % (s, j))
        t0 = time.time()
        finish = None
        while time.time() - t0 < 15:  # a deadline, not a measurement: the poll runs every second
            s, j = chat(port2, user, "今天天气怎么样")
            finish = j["choices"][0]["finish_reason"]
            if finish == "content_filter":
                break
            time.sleep(0.05)
        elapsed = time.time() - t0
        check(finish == "content_filter", "the other gateway blocks it (after %.2f s; it polls every second)" % elapsed)
    finally:
        gw2.kill()


def bad_input(port, user, reviewer, auditor):
    before = request(port, "GET", "/admin/complaints", key=auditor)[1]["complaints"]
    cases = [
        ("POST", "/compliance/complaints", None, b"{broken", None, 400, "malformed JSON"),
        ("POST", "/compliance/complaints", {"type": "privacy", "text": "x", "colour": "red"}, None, None, 400,
         "unknown field"),
        ("POST", "/compliance/complaints", {"type": "nonsense", "text": "x"}, None, None, 400, "unknown type"),
        ("POST", "/compliance/complaints", {"type": "privacy"}, None, None, 400, "nothing to complain about"),
        ("POST", "/compliance/complaints", None, b'{"type":"other","text":"' + b"x" * 100000 + b'"}', None, 413,
         "oversized body"),
        ("GET", "/admin/complaints", None, None, user, 403, "a user key on an admin route"),
        ("GET", "/admin/complaints", None, None, None, 401, "no key on an admin route"),
        ("GET", "/admin/complaints", None, None, "hg-forged", 401, "a forged key"),
        ("POST", "/admin/takedowns", {"text": "x", "extra": 1}, None, reviewer, 400, "unknown field in a takedown"),
        ("POST", "/admin/takedowns", {"text": "x"}, None, auditor, 403, "an auditor cannot take down"),
        ("POST", "/admin/takedowns", {"text": "。。。"}, None, reviewer, 422, "a takedown with no letters"),
        ("POST", "/admin/complaints/999999", {"status": "upheld"}, None, reviewer, 404, "an unknown ticket"),
    ]
    for method, path, body, raw, key, want, what in cases:
        s, j = request(port, method, path, body, key, raw)
        check(s == want and (s == 413 or "message" in j.get("error", {})), "%s -> %d (got %s %s)" % (what, want, s, j))
    after = request(port, "GET", "/admin/complaints", key=auditor)[1]["complaints"]
    check(len(after) == len(before), "bad input changed nothing")


if __name__ == "__main__":
    sys.exit(main())
