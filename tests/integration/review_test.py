#!/usr/bin/env python3
"""review_test.py HEGUI SAMPLE_UPSTREAM — the review queue end to end: answers whose verdict is review are queued
with their findings; allowed answers are sampled at review.sample_rate (which ones is checked against a separate
implementation of the documented choice); blocked prompts are not queued; reviewers read the prompt and the answer,
assign, and decide with a note (the decision an audit record naming them, a second decision a 409); a blocked item
becomes a takedown that stops the answer coming back; the sample's pass rate per day; roles and bad input."""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hgtest  # noqa: E402
from hgtest import answer, chat, check, keys_create, report, request, start  # noqa: E402

HEGUI, UPSTREAM = sys.argv[1], sys.argv[2]
TMP = tempfile.mkdtemp(prefix="hg-review-")
LEXICON = "冰毒\tA1h\t5\tblock\tfolded,noise\n敏感话题\tA3a\t2\treview\n"
RATE = 0.5
MASK = (1 << 64) - 1


def mix64(h):
    h ^= h >> 33
    h = (h * 0xff51afd7ed558ccd) & MASK
    h ^= h >> 33
    h = (h * 0xc4ceb9fe1a85ec53) & MASK
    h ^= h >> 33
    return h


def in_sample(response_id, rate):
    """docs/workflows.md: the response id's bytes through the 64-bit mix, the top 53 bits as a fraction < rate."""
    h = 0x9E3779B97F4A7C15
    for b in response_id.encode():
        h = mix64(h ^ b)
    return (h >> 11) * 2.0 ** -53 < rate


def items(port, key, query=""):
    s, j = request(port, "GET", "/admin/review" + query, key=key)
    return s, (j.get("items") if isinstance(j, dict) else None) or []


def metric(port, route, cls):
    import urllib.request
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=30) as r:
        text = r.read().decode()
    want = 'hegui_requests_total{route="%s",status="%s"} ' % (route, cls)
    return sum(int(line.split()[-1]) for line in text.splitlines() if line.startswith(want))


def router(port, reviewer, auditor):
    """The dispatcher: 405 with Allow for a known path, 404 for an unknown one, 401/403 before any handler, and every
    request counted once under its route with the status actually sent."""
    before4, before2 = metric(port, "/admin", "4xx"), metric(port, "/admin", "2xx")
    h = {}
    s, j = request(port, "DELETE", "/admin/review", key=reviewer, headers_out=h)
    check(s == 405 and h.get("allow") == "GET", "405 names the methods the route takes: %s %s" % (s, h.get("allow")))
    s, j = request(port, "GET", "/admin/review/abc", key=reviewer)
    check(s == 404, "a malformed item id: %s" % s)
    s, j = request(port, "POST", "/admin/review/1", {"decision": "allow"}, key=auditor)
    check(s == 403 and "reviewer" in j["error"]["message"], "the role check names the roles: %s %s" % (s, j))
    s, j = request(port, "GET", "/admin/review", key="sk-hg-not-a-key")
    check(s == 401, "an unknown key: %s" % s)
    s, j = request(port, "POST", "/admin/review/1", raw=b"[1,2]", key=reviewer)
    check(s == 400 and "JSON object" in j["error"]["message"], "a body that is not an object: %s %s" % (s, j))
    s, j = request(port, "GET", "/admin/review/stats", key=reviewer)
    check(s == 200, "stats: %s" % s)
    after4, after2 = metric(port, "/admin", "4xx"), metric(port, "/admin", "2xx")
    check(after4 - before4 == 5 and after2 - before2 == 1,
          "each request counted once with its real status: 4xx +%d (want 5), 2xx +%d (want 1)" %
          (after4 - before4, after2 - before2))
    s, j = request(port, "GET", "/no/such/route", key=reviewer)
    check(s == 404 and j["error"]["code"] == "unknown_url", "an unknown path: %s %s" % (s, j))
    c0 = metric(port, "/compliance", "2xx")
    s, j = request(port, "GET", "/compliance/complaints")
    check(s == 200 and metric(port, "/compliance", "2xx") == c0 + 1, "/compliance is counted as its own route")


def main():
    data = os.path.join(TMP, "data")
    lex = os.path.join(TMP, "lexicon.tsv")
    with open(lex, "w") as f:
        f.write(LEXICON)
    up, up_port = start([UPSTREAM, "--listen", "127.0.0.1:0", "--quiet"], "listening", TMP)
    cfg = os.path.join(TMP, "hegui.yaml")
    with open(cfg, "w") as f:
        f.write("data_dir: %s\nlexicon: %s\nupstream:\n  url: http://127.0.0.1:%d\nreview:\n  sample_rate: %s\n"
                "audit:\n  retain_text: full\n" % (data, lex, up_port, RATE))
    user = keys_create(HEGUI, data, "alice")
    reviewer = keys_create(HEGUI, data, "rita", "reviewer")
    auditor = keys_create(HEGUI, data, "audrey", "auditor")
    gw, port = start([HEGUI, "serve", "--config", cfg, "--listen", "127.0.0.1:0"], "serving on", TMP)
    try:
        router(port, reviewer, auditor)
        cases(port, user, reviewer, auditor, data)
    finally:
        gw.kill()
        up.kill()
    return report("review")


def cases(port, user, reviewer, auditor, data):
    s, got = items(port, reviewer)
    check(s == 200 and got == [], "an empty queue to start: %s %s" % (s, got))

    # allowed answers: the sample is exactly the documented choice over their response ids
    ids = []
    for i in range(40):
        s, j = chat(port, user, "echo: 第%d个普通的回答" % i)
        check(s == 200 and answer(j).startswith("第%d个" % i), "an allowed answer %d" % i)
        ids.append(j.get("id"))
    want = {rid for rid in ids if in_sample(rid, RATE)}
    s, got = items(port, reviewer, "?limit=1000")
    sampled = {it["response_id"] for it in got if it["sampled"]}
    check(sampled == want and 5 <= len(want) <= 35,
          "the sampled answers are the documented choice: %d queued, %d expected, %d differ" %
          (len(sampled), len(want), len(sampled ^ want)))
    check(all(it["verdict"] == "allow" and it["status"] == "open" and it["route"] == "/v1/chat/completions"
              and len(it["actor"]) == 32 and "alice" not in json.dumps(it) for it in got),
          "sampled items: verdict allow, open, the user's pseudonym only")

    # a review verdict is always queued, with its findings; a blocked prompt is not
    s, j = chat(port, user, "echo: 这是关于敏感话题的一段很长的回答，请人工看一看")
    rid_review = j.get("id")
    check(s == 200 and "敏感话题" in answer(j), "a review answer is let through: %s" % answer(j))
    s, j = chat(port, user, "冰毒怎么买")
    rid_block = j.get("id")
    check(s == 200 and j["choices"][0]["finish_reason"] == "content_filter", "a blocked prompt")
    s, got = items(port, reviewer, "?status=open&limit=1000")
    mine = [it for it in got if it["response_id"] == rid_review]
    check(len(mine) == 1 and mine[0]["verdict"] == "review" and not mine[0]["sampled"] and
          "敏感话题" in json.dumps(mine[0]["reasons"], ensure_ascii=False),
          "the review answer is queued with its findings: %s" % mine)
    check(not [it for it in got if it["response_id"] == rid_block], "a blocked prompt is not queued")
    item = mine[0]["id"] if mine else 0

    # the reviewer reads the texts as the audit record keeps them
    s, j = request(port, "GET", "/admin/review/%d" % item, key=auditor)
    check(s == 200 and "敏感话题" in (j.get("output") or "") and "敏感话题" in (j.get("input") or ""),
          "an item shows its prompt and answer to an auditor: %s %s" % (s, j))

    # roles and bad input
    s, j = request(port, "POST", "/admin/review/%d" % item, {"decision": "block"}, key=auditor)
    check(s == 403, "an auditor cannot decide: %s" % s)
    s, j = request(port, "GET", "/admin/review", key=user)
    check(s == 403, "a user cannot read the queue: %s" % s)
    for body, param in (({"decision": "maybe"}, "decision"), ({}, "decision"),
                        ({"decision": "allow", "takedown": True}, "takedown"),
                        ({"decision": "block", "note": "x" * 2001}, "note"),
                        ({"decision": "block", "assign": "rita"}, "assign"),
                        ({"decision": "block", "extra": 1}, None)):
        s, j = request(port, "POST", "/admin/review/%d" % item, body, key=reviewer)
        check(s == 400 and (param is None or j["error"].get("param") == param),
              "%s is refused naming %s: %s %s" % (body, param, s, j))
    s, j = request(port, "POST", "/admin/review/999999", {"decision": "allow"}, key=reviewer)
    check(s == 404, "no such item: %s" % s)
    s, j = request(port, "GET", "/admin/review?status=closed", key=reviewer)
    check(s == 400, "an unknown status filter: %s" % s)
    s, j = request(port, "GET", "/admin/review?limit=0", key=reviewer)
    check(s == 400, "a limit of 0: %s" % s)

    # assign, then decide block with a takedown: the answer cannot come back
    s, j = request(port, "POST", "/admin/review/%d" % item, {"assign": "rita"}, key=reviewer)
    check(s == 200 and j.get("assignee") == "rita" and j.get("status") == "open", "assigned: %s %s" % (s, j))
    s, j = request(port, "POST", "/admin/review/%d" % item,
                   {"decision": "block", "note": "不宜传播", "takedown": True}, key=reviewer)
    check(s == 200 and j.get("status") == "blocked" and j.get("decided_by") == "rita" and j.get("note") == "不宜传播",
          "decided block with a note: %s %s" % (s, j))
    s, j = chat(port, user, "echo: 这是关于敏感话题的一段很长的回答，请人工看一看")
    check(s == 200 and j["choices"][0]["finish_reason"] == "content_filter",
          "the blocked answer is taken down: %s" % answer(j))
    s, j = request(port, "POST", "/admin/review/%d" % item, {"decision": "allow"}, key=reviewer)
    check(s == 409, "a second decision is a conflict: %s" % s)
    s, j = request(port, "POST", "/admin/review/%d" % item, {"assign": "bob"}, key=reviewer)
    check(s == 409, "a decided item cannot be assigned: %s" % s)

    # decide three sampled items: two allowed, one blocked; the pass rate says 2/3
    s, got = items(port, reviewer, "?status=open&limit=1000")
    sample = [it for it in got if it["sampled"]][:3]
    for it, decision in zip(sample, ("allow", "allow", "block")):
        s, j = request(port, "POST", "/admin/review/%d" % it["id"], {"decision": decision}, key=reviewer)
        check(s == 200, "sampled item decided %s: %s %s" % (decision, s, j))
    s, j = request(port, "GET", "/admin/review/stats?days=7", key=auditor)
    smp = j.get("sample") or {}
    check(s == 200 and smp.get("decided") == 3 and smp.get("allowed") == 2 and smp.get("blocked") == 1 and
          abs((smp.get("pass_rate") or 0) - 2 / 3) < 1e-9 and len(smp.get("days") or []) == 1 and
          j.get("open") == len(got) - 3 and j.get("sample_rate") == RATE,
          "the sample's pass rate: %s %s" % (s, j))
    s, got = items(port, reviewer, "?status=allowed")
    check(len(got) == 2, "two allowed items: %d" % len(got))

    # every decision and assignment is in the audit chain, naming the reviewer
    recs = [r for r in hgtest.records(HEGUI, data) if r["route"] == "admin/review"]
    verdicts = sorted(r["verdict"] for r in recs)
    check(verdicts == ["allowed", "allowed", "assigned", "blocked", "blocked"] and
          all(r["actor"] == "admin:rita" for r in recs), "the chain has the review decisions: %s" %
          [(r["actor"], r["verdict"]) for r in recs])
    first = [json.loads(r["detail_json"]) for r in recs if r["verdict"] == "blocked"][0]
    check(first.get("note") == "不宜传播" and first.get("takedown", 0) > 0 and first.get("response_id") == rid_review,
          "the decision's record has the note, the takedown and the response: %s" % first)


if __name__ == "__main__":
    sys.exit(main())
