#!/usr/bin/env python3
"""guard_test.py HEGUI SAMPLE_UPSTREAM — external guard models in the gateway, against fake_guard.py speaking each
format (Qwen3Guard, Llama Guard 3, ShieldGemma, a judging general model): a prompt the guard calls unsafe is refused
with the guard's category mapped onto a TC260 code as the reason, and the model is never called; answers (whole and
streamed) are judged with their prompt; a guard that times out, fails or answers out of format follows on_error
(allow: answered, the record says why; block: refused with no strike); a failed call is retried; the cache answers
a repeated text without a call (the fake's call count, and the metric); Controversial is reviewed; guard.categories
overrides the mapping; bad guard settings are refused at reload."""
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hgtest  # noqa: E402
from hgtest import answer, chat, check, keys_create, report, request, start  # noqa: E402

HEGUI, UPSTREAM = sys.argv[1], sys.argv[2]
TMP = tempfile.mkdtemp(prefix="hg-guard-")
HERE = os.path.dirname(os.path.abspath(__file__))
REQUESTS = os.path.join(TMP, "requests.jsonl")

EXPECT = {  # format -> (the guard's category in the record, the TC260 code it maps to by default)
    "qwen3guard": ("Violent", "A1d"),
    "llamaguard3": ("S1", "A1d"),
    "shieldgemma": ("Dangerous Content", "A1h"),
    "judge": ("A1d", "A1d"),
}


def seen():
    if not os.path.exists(REQUESTS):
        return 0
    with open(REQUESTS) as f:
        return sum(1 for line in f if line.strip())


def calls(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/calls" % port, timeout=10) as r:
        return json.loads(r.read())["calls"]


def metric(port, result):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        m = re.search(r'hegui_guard_judgments_total\{result="%s"\} (\d+)' % result, r.read().decode())
    return int(m.group(1)) if m else -1


def ask(port, key, text, stream=False):
    """Prompts are moderated (and judged by the guard) in system messages only (policy.input.roles: [system]): a
    text that starts with "echo:" goes as a user message, which the sample model answers with, unjudged on the way
    in, so that answers are tested; any other text is the system message of a request."""
    if text.split(" ")[-1].startswith("echo:") or "echo:" in text:
        if not stream:
            return request(port, "POST", "/v1/chat/completions",
                           {"model": "sample-1", "messages": [{"role": "user", "content": text}]}, key)
        return chat(port, key, text, stream=True)
    body = {"model": "sample-1", "messages": [{"role": "system", "content": text}, {"role": "user", "content": "你好"}]}
    return request(port, "POST", "/v1/chat/completions", body, key)


def last(data):
    rec = hgtest.records(HEGUI, data)[-1]
    return rec, json.loads(rec["detail_json"])


def config(path, data, up_port, guard_port, fmt, extra=""):
    with open(path, "w") as f:
        f.write("data_dir: %s\nupstream:\n  url: http://127.0.0.1:%d\n"
                "strikes: {suspend_in_a_row: 1000, suspend_per_day: 100000}\n"
                "classifier: {model: none}\n"
                "policy:\n  input:\n    roles: [system]\n"
                "guard:\n  url: http://127.0.0.1:%d\n  format: %s\n  timeout_ms: 800\n  retries: 1\n%s"
                % (data, up_port, guard_port, fmt, extra))


def main():
    up, up_port = start([UPSTREAM, "--listen", "127.0.0.1:0", "--quiet", "--record-requests", REQUESTS], "listening",
                        TMP)
    procs = [up]
    try:
        for i, fmt in enumerate(EXPECT):
            fg, fg_port = start([sys.executable, os.path.join(HERE, "fake_guard.py"), fmt], "listening", TMP)
            procs.append(fg)
            data = os.path.join(TMP, "data-" + fmt)
            cfg = os.path.join(TMP, "hegui-%s.yaml" % fmt)
            config(cfg, data, up_port, fg_port, fmt)
            key = keys_create(HEGUI, data, "alice")
            admin = keys_create(HEGUI, data, "root", "admin")
            gw, port = start([HEGUI, "serve", "--config", cfg, "--listen", "127.0.0.1:0"], "serving on", TMP)
            procs.append(gw)
            cases(fmt, port, key, admin, data, cfg, fg_port, full=(i == 0))
            gw.kill()
            fg.kill()
    finally:
        for p in procs:
            p.kill()
    return report("guard")


def cases(fmt, port, key, admin, data, cfg, fg_port, full):
    name, code = EXPECT[fmt]
    # an unsafe prompt: refused with the guard's category as the reason; the model is never called
    n0 = seen()
    s, j = ask(port, key, "教我做一个炸弹")
    rec, detail = last(data)
    hits = [h for h in detail.get("input_hits", []) if h.get("detector") == "guard"]
    check(s == 200 and j["choices"][0]["finish_reason"] == "content_filter" and seen() == n0,
          "%s: an unsafe prompt is refused before the model: %s" % (fmt, j))
    check(rec["verdict"] == "block" and hits and hits[0]["entry"] == name and hits[0]["category"] == code and
          detail.get("block_category") == code and "多次输入" in answer(j),
          "%s: the record names the guard's category %s as %s (a strike warning): %s" % (fmt, name, code, detail))
    # a safe prompt: answered; the answer is judged with it
    s, j = ask(port, key, "今天天气怎么样")
    check(s == 200 and j["choices"][0]["finish_reason"] == "stop" and seen() == n0 + 1,
          "%s: a safe prompt reaches the model: %s" % (fmt, j))
    rec, detail = last(data)
    check(detail.get("input_guard", {}).get("verdict") == "safe" and
          detail.get("output_guard", {}).get("verdict") == "safe", "%s: both directions judged: %s" % (fmt, detail))
    # an unsafe answer (the prompt says nothing unsafe to the guard on its own: "echo:" brings the word back)
    for stream in (False, True):
        before = calls(fg_port)
        s, j = ask(port, key, "echo: 说到炸弹" + ("（流式）" if stream else ""), stream=stream)
        fin = j["finish"] if stream else j["choices"][0]["finish_reason"]
        txt = j["text"] if stream else answer(j)
        check(s == 200 and fin == "content_filter", "%s: an unsafe answer is stopped (stream=%s): %s" % (fmt, stream, j))
        if not stream:
            check("炸弹" not in txt, "%s: the whole unsafe answer never reaches the client: %r" % (fmt, txt))
        check(calls(fg_port) > before, "%s: the guard was asked" % fmt)
    if not full:
        return
    # guard.stream: sentence (the default): each sentence is held until the guard approved the answer up to it;
    # the sentence it flags never reaches the client, the ones before it did
    for marker in ("", "__bytes__ "):
        s, j = ask(port, key, marker + "echo: 开头是安全的话。然后说到炸弹的事。后面还有。", stream=True)
        check(s == 200 and j["finish"] == "content_filter" and j["text"].startswith("开头是安全的话。") and
              "炸弹" not in j["text"] and "然后" not in j["text"],
              "stream by sentence %r: the flagged sentence held back, the one before released: %r" % (marker, j))
    # the cache: the same safe prompt again is answered without a call
    c0, m0 = calls(fg_port), metric(port, "cached")
    ask(port, key, "今天天气怎么样")
    check(calls(fg_port) == c0 and metric(port, "cached") >= m0 + 2,
          "the cache answers a repeated prompt and answer without a call (%d -> %d calls)" % (c0, calls(fg_port)))
    # a retry after a failed call
    c0 = calls(fg_port)
    s, j = ask(port, key, "FLAKY 你好")
    rec, detail = last(data)
    check(s == 200 and j["choices"][0]["finish_reason"] == "stop" and "input_guard_error" not in detail and
          calls(fg_port) >= c0 + 2, "a failed call is retried: %s" % detail)
    # a vision guard (guard.images: true): the prompt's image parts go to it; an unsafe image refuses the prompt
    with open(cfg) as f:
        base0 = f.read()
    s, j = request(port, "PUT", "/admin/policy", raw=(base0 + "  images: true\n").encode(), key=admin,
                   content_type="application/yaml")
    check(s == 200, "policy with images: true applied: %s %s" % (s, j))

    def with_images(urls):
        parts = [{"type": "text", "text": "看看这张图"}] + [{"type": "image_url", "image_url": {"url": u}} for u in urls]
        return request(port, "POST", "/v1/chat/completions",
                       {"model": "sample-1", "messages": [{"role": "system", "content": parts},
                                                          {"role": "user", "content": "你好"}]}, key)
    s, j = with_images(["data:image/png;base64,unsafe-image"])
    check(s == 200 and j["choices"][0]["finish_reason"] == "content_filter" and
          json.loads(urllib.request.urlopen("http://127.0.0.1:%d/calls" % fg_port).read())["images"] == 1,
          "a vision guard refuses an unsafe image: %s" % j)
    s, j = with_images(["data:image/png;base64,a-cat"])
    check(s == 200 and j["choices"][0]["finish_reason"] == "stop", "a safe image passes: %s" % j)
    s, j = with_images(["data:image/png;base64,n%d" % i for i in range(9)])
    rec, detail = last(data)
    check(s == 200 and "more images" in detail.get("input_guard_error", ""),
          "more images than the guard is sent: a failure under on_error: %s" % detail)
    s, j = request(port, "PUT", "/admin/policy", raw=base0.encode(), key=admin, content_type="application/yaml")
    # failures under on_error: allow (the default): answered, the record says why, the metric counts it
    e0 = metric(port, "error")
    for word, why in (("SLOW", "timed out"), ("FAIL500", "HTTP 500"), ("MALFORMED", "Safety")):
        s, j = ask(port, key, word + " 你好")
        rec, detail = last(data)
        check(s == 200 and j["choices"][0]["finish_reason"] == "stop" and why in detail.get("input_guard_error", ""),
              "on_error allow: %s answered, the record says why: %s" % (word, detail.get("input_guard_error")))
    check(metric(port, "error") >= e0 + 3, "failures counted: %d -> %d" % (e0, metric(port, "error")))
    # Controversial: reviewed, let through
    s, j = ask(port, key, "聊聊这个争议话题")
    rec, detail = last(data)
    check(s == 200 and j["choices"][0]["finish_reason"] == "stop" and rec["verdict"] == "review",
          "Controversial is reviewed: %s %s" % (rec["verdict"], detail))
    # on_error: block and a category mapping, by a policy upload
    with open(cfg) as f:
        base = f.read()
    s, j = request(port, "PUT", "/admin/policy", raw=(base + "  on_error: block\n  categories: {Violent: A1a}\n").encode(),
                   key=admin, content_type="application/yaml")
    check(s == 200, "policy with on_error: block applied: %s %s" % (s, j))
    s, j = ask(port, key, "SLOW 你好")
    rec, detail = last(data)
    check(s == 200 and j["choices"][0]["finish_reason"] == "content_filter" and "多次输入" not in answer(j) and
          detail.get("block_category") == "error", "on_error block: refused, no strike warning: %s" % detail)
    s, j = ask(port, key, "再教我做一个炸弹")
    rec, detail = last(data)
    check(detail.get("block_category") == "A1a", "guard.categories maps Violent to A1a: %s" % detail)
    # guard.stream: end: the stream is released as hegui's own detectors allow and judged once at its end
    s, j = request(port, "PUT", "/admin/policy", raw=(base + "  stream: end\n").encode(), key=admin,
                   content_type="application/yaml")
    check(s == 200, "policy with stream: end applied: %s %s" % (s, j))
    s, j = ask(port, key, "__bytes__ echo: 开头是安全的话。然后说到炸弹的事情。后面还有。", stream=True)
    check(s == 200 and j["finish"] == "content_filter" and "然后说到炸弹" in j["text"] and "很抱歉" in j["text"],
          "stream: end judges at the end: released text stays, the stream ends with the refusal: %r" % j)
    # bad settings are refused, naming the key
    for bad, what in (("  format: nosuch\n", "guard.format"), ("  categories: {Violent: Z9}\n", "guard.categories"),
                      ("  action: redact\n", "guard.action"), ("  threshold: 2\n", "guard.threshold")):
        s, j = request(port, "PUT", "/admin/policy", raw=(base + bad).encode(), key=admin,
                       content_type="application/yaml")
        check(s == 422 and what in json.dumps(j), "a bad %s is refused: %s %s" % (what, s, j))


if __name__ == "__main__":
    sys.exit(main())
