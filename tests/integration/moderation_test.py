#!/usr/bin/env python3
"""moderation_test.py HEGUI SAMPLE_UPSTREAM — the policy in the gateway: operator rules (policy.rules) on prompts,
whole and streamed answers; review verdicts recorded and counted; redact entries masked before the model sees them
and in answers; the same verdict from /v1/moderations, `hegui check --policy` and a chat request for the same text;
homoglyphs and line breaks; a bad rule refused at reload with the line named, nothing changed."""
import json
import os
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hgtest  # noqa: E402
from hgtest import answer, chat, check, keys_create, report, request, start  # noqa: E402

# Prompts are moderated in system messages (policy.input.roles: [system]), so that a user message "echo: X" makes
# the sample model answer X unmoderated on the way in: answers are tested with it.

HEGUI, UPSTREAM = sys.argv[1], sys.argv[2]
TMP = tempfile.mkdtemp(prefix="hg-moderation-")
REQUESTS = os.path.join(TMP, "requests.jsonl")

LEXICON = "冰毒\tA1h\t5\tblock\tfolded,noise\n法轮功\tA1h\t5\tblock\tfolded,noise\ncocaine\tA1h\t4\tblock\n" \
          "内部代号\tcustom\t2\tredact\n代号是\tcustom\t2\tredact\n敏感话题\tA3a\t2\treview\n"
POLICY = """strikes: {suspend_in_a_row: 1000, suspend_per_day: 100000}
policy:
  input:
    roles: [system]
  actions: {default: block, A5a: review}
  rules:
    - {name: qq, pattern: 'qq\\d{5,11}', category: A4b, action: block}
    - {name: wechat, pattern: '(?:微信|vx)[:：]?[a-z0-9_]{6,20}', category: A5a, action: block}
    - {name: ticket, pattern: '工单[0-9]{6}', action: redact}
    - {name: tel, pattern: '电话\\d{3}', action: redact}
    - {name: backtrack, pattern: '(a|a){1,40}b', action: log}
"""


def seen():
    if not os.path.exists(REQUESTS):
        return []
    with open(REQUESTS) as f:
        return [json.loads(line) for line in f if line.strip()]


def records(data):
    return hgtest.records(HEGUI, data)


def metrics(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=30) as r:
        return r.read().decode()


def ask(port, key, text):
    """A prompt the policy reads (a system message), and a user message the sample model answers."""
    return request(port, "POST", "/v1/chat/completions",
                   {"model": "sample-1", "messages": [{"role": "system", "content": text},
                                                      {"role": "user", "content": "你好"}]}, key)


def finish(j):
    return ((j.get("choices") or [{}])[0]).get("finish_reason")


def main():
    data = os.path.join(TMP, "data")
    lex = os.path.join(TMP, "lexicon.tsv")
    with open(lex, "w") as f:
        f.write(LEXICON)
    cfg = os.path.join(TMP, "hegui.yaml")
    with open(cfg, "w") as f:
        f.write("data_dir: %s\nlexicon: %s\nupstream:\n  url: http://127.0.0.1:%%d\n%s" % (data, lex, POLICY))
    up, up_port = start([UPSTREAM, "--listen", "127.0.0.1:0", "--quiet", "--record-requests", REQUESTS], "listening",
                        TMP)
    with open(cfg) as f:
        text = f.read() % up_port
    with open(cfg, "w") as f:
        f.write(text)
    key = keys_create(HEGUI, data, "alice")
    admin = keys_create(HEGUI, data, "root", "admin")
    gw, port = start([HEGUI, "serve", "--config", cfg, "--listen", "127.0.0.1:0"], "serving on", TMP)
    try:
        cases(port, key, admin, data, cfg)
    finally:
        gw.kill()
        up.kill()
    return report("moderation")


def cases(port, key, admin, data, cfg):
    # operator rules on a prompt: matched on the folded text (full width), the model never called
    n0 = len(seen())
    s, j = ask(port, key, "加我ＱＱ１２３４５６７谈")
    check(s == 200 and finish(j) == "content_filter" and len(seen()) == n0,
          "a rule blocks a prompt (full-width QQ number): %s %s" % (s, j))
    rec = records(data)[-1]
    detail = json.loads(rec["detail_json"])
    rule_hits = [h for h in detail["input_hits"] if h.get("detector") == "rule"]
    check(rec["verdict"] == "block" and detail.get("block_category") == "A4b" and rule_hits and
          rule_hits[0]["entry"] == "qq", "the record names the rule and its risk code: %s" % detail)

    # a refused prompt keeps its text in the record (personal data as placeholders, audit.retain_text: redacted),
    # so that a reviewer hearing an appeal sees what was written
    s, j = ask(port, key, "有人在卖冰毒，电话13812345678")
    rec = records(data)[-1]
    kept = json.loads(rec["text"] or "{}").get("input", "")
    check(rec["verdict"] == "block" and "有人在卖冰毒" in kept and "<PHONE_1>" in kept and "13812345678" not in kept,
          "a blocked prompt's text is kept, personal data replaced: %r" % kept)

    # a redact rule and a redact entry: masked before the model sees them
    s, j = ask(port, key, "请查工单123456，内部代号是X")
    sent = seen()[-1]["messages"][0]["content"]
    check(s == 200 and "123456" not in sent and "内部代号" not in sent and "请查********，*****X" == sent,
          "redactions are masked before the request leaves: %r" % sent)
    check(records(data)[-1]["verdict"] == "redact", "the record says redact")

    # overlapping redactions (a rule over the start of a phone number; two entries that overlap) are merged and
    # applied whole: nothing of either goes out
    s, j = ask(port, key, "电话13812345678")
    sent = seen()[-1]["messages"][0]["content"]
    check(s == 200 and not any(ch.isdigit() for ch in sent) and sent == "*" * 13,
          "overlapping rule and phone number masked whole before the model: %r" % sent)
    for stream in (False, True):
        s, j = chat(port, key, "echo: 电话13812345678，内部代号是X", stream=stream)
        txt = j.get("text") if stream else answer(j)
        check(s == 200 and txt.startswith("*************，*****X"),
              "overlapping redactions masked whole in the answer (stream=%s): %r" % (stream, txt))

    # a detector that fails (a rule over its step limit) blocks, says why, and counts no strike
    s, j = ask(port, key, "a" * 63)
    rec = records(data)[-1]
    detail = json.loads(rec["detail_json"])
    refusal = answer(j)
    check(s == 200 and finish(j) == "content_filter" and "多次输入" not in refusal and
          detail.get("block_category") == "error" and "too many steps" in detail.get("input_error", ""),
          "an engine error blocks with its reason and no strike warning: %r %s" % (refusal, detail))
    s, j = request(port, "POST", "/v1/moderations", {"input": "a" * 63}, key)
    r = (j.get("results") or [{}])[0]
    check(r.get("hegui", {}).get("verdict") == "block" and "too many steps" in r.get("hegui", {}).get("error", ""),
          "/v1/moderations says why: %s" % r.get("hegui"))

    # review: let through, the record says review, the metric counts it
    before = metrics(port)
    s, j = ask(port, key, "聊聊敏感话题吧")
    check(s == 200 and finish(j) == "stop", "a review entry lets the prompt through: %s %s" % (s, j))
    rec = records(data)[-1]
    check(rec["verdict"] == "review" and json.loads(rec["detail_json"]).get("review") is True,
          "the record says review: %s" % rec["verdict"])
    after = metrics(port)
    count = lambda m: sum(float(line.split()[-1]) for line in m.splitlines()
                          if line.startswith('hegui_verdicts_total{verdict="review"}'))
    check(count(after) == count(before) + 1, "hegui_verdicts_total{verdict=\"review\"} counts it")
    # A5a is review in policy.actions: the wechat rule's block becomes review (the category is a ceiling)
    s, j = ask(port, key, "我的微信：abc_12345")
    check(s == 200 and finish(j) == "stop" and records(data)[-1]["verdict"] == "review",
          "a category set to review caps a block rule: %s %s" % (s, finish(j)))

    # answers: a rule in a streamed and in a whole answer (the echo says what follows "echo:")
    for stream in (False, True):
        s, j = chat(port, key, "echo: 联系qq1234567吧", stream=stream)
        fin = j.get("finish") if stream else finish(j)
        txt = j.get("text") if stream else answer(j)
        check(s == 200 and fin == "content_filter" and "1234567" not in txt,
              "a rule stops an answer (stream=%s): %s %r" % (stream, fin, txt))
        s, j = chat(port, key, "echo: 工单654321已处理", stream=stream)
        txt = j.get("text") if stream else answer(j)
        check(s == 200 and "654321" not in txt and txt.startswith("********已处理"),
              "a redact rule masks an answer (stream=%s): %r" % (stream, txt))
        check(records(data)[-1]["verdict"] == "redact", "an answer's redaction makes the record's verdict redact")

    # homoglyphs and line breaks: folded like everything else
    for text in ("c\u043ecaine", "c\u03bfcaine", "冰\n毒", "法\r\n轮\n功"):
        s, j = ask(port, key, text)
        check(s == 200 and finish(j) == "content_filter", "%r is blocked in a prompt: %s" % (text, finish(j)))

    # one moderator for every caller: the API, the command line and a chat request agree
    for text, want in (("加qq1234567", "block"), ("聊聊敏感话题吧", "review"), ("今天天气很好", "allow"),
                       ("请查工单123456", "redact"), ("电话13812345678", "redact")):
        s, j = request(port, "POST", "/v1/moderations", {"input": text}, key)
        r = (j.get("results") or [{}])[0] if isinstance(j, dict) else {}
        api = (r.get("hegui") or {}).get("verdict")
        out = subprocess.run([HEGUI, "check", "--policy", cfg, "--", text], capture_output=True, text=True).stdout
        cli = out.strip().splitlines()[-1].split("\t")[1] if out.strip() else None
        check(api == want and cli == want, "%r: /v1/moderations says %s, hegui check says %s, want %s" %
              (text, api, cli, want))
        check(r.get("flagged") == (want in ("block", "review")), "%r: flagged for block and review only" % text)

    # a bad rule: refused at reload, with the line, and the running policy stays
    with open(cfg) as f:
        good = f.read()
    bad = good.replace("'qq\\d{5,11}'", "'qq\\d+'")
    line = next(i for i, l in enumerate(bad.splitlines(), 1) if "qq\\d+" in l)
    check(bad != good, "the test made a bad rule")
    s, j = request(port, "PUT", "/admin/policy", raw=bad.encode(), key=admin, content_type="text/yaml")
    msg = json.dumps(j, ensure_ascii=False)
    check(s == 422 and "unbounded" in msg and ":%d:" % line in msg,
          "an unbounded rule is refused naming line %d: %s %s" % (line, s, j))
    s, j = ask(port, key, "加qq1234567")
    check(finish(j) == "content_filter", "the running policy still blocks after a refused upload")


if __name__ == "__main__":
    sys.exit(main())
