#!/usr/bin/env python3
"""classifier_test.py HEGUI SAMPLE_UPSTREAM — the learned classifier in the gateway, with a model this test trains
(`hegui classifier train` on generated sentences: two insults among neutral words), so that what is flagged is
known without the shipped model: prompts refused with the classifier's reason and score; under hold: sentence no
byte of a flagged sentence reaches the client in any chunking the sample model offers (and on 40 random texts),
under hold: none part of it does before the stream is cut; /v1/moderations returns the classifier's
category_scores; `hegui check --policy` agrees; a threshold for a label the model lacks and a missing model file are
refused with the key named; the built-in model is there with no configuration."""
import json
import os
import random
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hgtest  # noqa: E402
from hgtest import answer, chat, check, keys_create, report, request, start  # noqa: E402

HEGUI, UPSTREAM = sys.argv[1], sys.argv[2]
TMP = tempfile.mkdtemp(prefix="hg-classifier-")

NEUTRAL = ["今天", "天气", "很好", "我们", "去", "公园", "散步", "吃饭", "学习", "工作", "朋友", "电影", "下午", "一起",
           "喜欢", "看书"]
INSULTS = ["蠢货", "狗东西"]
ENDERS = ["。", "！", "？", "；", "\n"]


def train_model(path):
    rng = random.Random(7)
    data = os.path.join(TMP, "train.jsonl")
    with open(data, "w") as f:
        for i in range(800):
            words = [rng.choice(NEUTRAL) for _ in range(rng.randint(3, 8))]
            bad = i % 2
            if bad:
                words.insert(rng.randint(0, len(words)), rng.choice(INSULTS))
            f.write(json.dumps({"text": "".join(words), "abuse": bad}, ensure_ascii=False) + "\n")
    r = subprocess.run([HEGUI, "classifier", "train", "--data", data, "--text-column", "text", "--label-column",
                        "abuse=abuse:insult", "--threshold", "abuse=0.5", "--bits", "12", "--out", path],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("training failed: %s" % r.stderr)


def random_text(rng):
    """Sentences of neutral words, some with an insult; returns the text and the flagged sentences' texts."""
    out, flagged = "", []
    for _ in range(rng.randint(2, 7)):
        words = [rng.choice(NEUTRAL) for _ in range(rng.randint(3, 9))]
        bad = rng.random() < 0.35
        if bad:
            words.insert(rng.randint(0, len(words)), rng.choice(INSULTS))
        sentence = "".join(words) + rng.choice(ENDERS)
        if bad:
            flagged.append(sentence)
        out += sentence
    return out, flagged


def write_config(path, data, lex, up_port, classifier):
    with open(path, "w") as f:
        f.write("data_dir: %s\nlexicon: %s\nupstream:\n  url: http://127.0.0.1:%d\n"
                "strikes: {suspend_in_a_row: 1000, suspend_per_day: 100000}\n"
                "policy:\n  input:\n    roles: [system]\n%s" % (data, lex, up_port, classifier))


def main():
    model = os.path.join(TMP, "abuse.hgcls")
    train_model(model)
    data = os.path.join(TMP, "data")
    lex = os.path.join(TMP, "lexicon.tsv")
    with open(lex, "w") as f:
        f.write("无关的词\tA1h\t5\tblock\n")
    up, up_port = start([UPSTREAM, "--listen", "127.0.0.1:0", "--quiet"], "listening", TMP)
    key = keys_create(HEGUI, data, "alice")
    admin = keys_create(HEGUI, data, "root", "admin")
    gws = []
    try:
        cfg = os.path.join(TMP, "hegui.yaml")
        write_config(cfg, data, lex, up_port, "classifier:\n  model: %s\n  hold: sentence\n" % model)
        gw, port = start([HEGUI, "serve", "--config", cfg, "--listen", "127.0.0.1:0"], "serving on", TMP)
        gws.append(gw)
        hold_sentence(port, key, data, cfg)
        errors(port, admin, cfg, model)
        cfg2 = os.path.join(TMP, "hegui-none.yaml")
        write_config(cfg2, os.path.join(TMP, "data2"), lex, up_port,
                     "classifier:\n  model: %s\n  hold: none\n" % model)
        key2 = keys_create(HEGUI, os.path.join(TMP, "data2"), "bob")
        gw2, port2 = start([HEGUI, "serve", "--config", cfg2, "--listen", "127.0.0.1:0"], "serving on", TMP)
        gws.append(gw2)
        hold_none(port2, key2)
        cfg3 = os.path.join(TMP, "hegui-default.yaml")
        write_config(cfg3, os.path.join(TMP, "data3"), lex, up_port, "")
        key3 = keys_create(HEGUI, os.path.join(TMP, "data3"), "carol")
        gw3, port3 = start([HEGUI, "serve", "--config", cfg3, "--listen", "127.0.0.1:0"], "serving on", TMP)
        gws.append(gw3)
        s, j = request(port3, "POST", "/v1/moderations", {"input": "今天天气很好"}, key3)
        labels = ((j.get("results") or [{}])[0].get("hegui") or {}).get("classifier") or []
        check(s == 200 and labels and all(0.0 <= x["score"] <= 1.0 for x in labels),
              "the built-in model runs with no configuration: %s" % labels)
    finally:
        for g in gws:
            g.kill()
        up.kill()
    return report("classifier")


def hold_sentence(port, key, data, cfg):
    # a prompt (a system message: prompts are moderated there, so that a user's "echo: X" brings X back as the
    # answer): refused by the classifier, with its reason and score in the record
    s, j = request(port, "POST", "/v1/chat/completions",
                   {"model": "sample-1", "messages": [{"role": "system", "content": "你这个蠢货狗东西"},
                                                      {"role": "user", "content": "你好"}]}, key)
    check(s == 200 and j["choices"][0]["finish_reason"] == "content_filter", "a flagged prompt is refused: %s" % j)
    rec = hgtest.records(HEGUI, data)[-1]
    detail = json.loads(rec["detail_json"])
    hits = [h for h in detail.get("input_hits", []) if h.get("detector") == "classifier"]
    check(rec["verdict"] == "block" and detail.get("block_category") == "insult" and hits and
          hits[0]["entry"] == "abuse" and hits[0]["score"] >= 0.5, "the record names the classifier: %s" % detail)
    s, j = request(port, "POST", "/v1/chat/completions",
                   {"model": "sample-1", "messages": [{"role": "system", "content": "我们今天一起去公园散步"},
                                                      {"role": "user", "content": "你好"}]}, key)
    check(s == 200 and j["choices"][0]["finish_reason"] == "stop", "a neutral prompt passes: %s" % j)

    # an answer: the flagged sentence never reaches the client, whole or streamed, in every chunking
    text = "我们今天去公园散步。你这个蠢货狗东西！后面还有话。"
    for marker in ("", "__bytes__ ", "__splitutf8__ ", "__huge__ "):
        for stream in (False, True):
            s, j = chat(port, key, marker + "echo: " + text, stream=stream)
            content = j["text"] if stream else answer(j)
            finish = j["finish"] if stream else j["choices"][0]["finish_reason"]
            check(s == 200 and finish == "content_filter", "flagged answer stopped %r %s: %s" % (marker, stream, finish))
            check(not any(w in content for w in ("你这个", "蠢货", "狗东西", "后面")),
                  "nothing of the flagged sentence leaked %r stream=%s: %r" % (marker, stream, content))
            if stream and not marker.startswith("__huge__"):
                check(content.startswith("我们今天去公园散步。"), "the sentence before was released: %r" % content)

    # random texts, byte by byte: no flagged sentence's words in what was released
    rng = random.Random(11)
    leaks = 0
    flagged_total = 0
    for i in range(40):
        t, flagged = random_text(rng)
        flagged_total += len(flagged)
        s, j = chat(port, key, "__bytes__ echo: " + t, stream=True)
        content = j.get("text", "")
        for sentence in flagged:
            if any(w in content for w in INSULTS) or sentence.rstrip("\n。！？；") in content:
                leaks += 1
        if flagged and j.get("finish") != "content_filter":
            leaks += 1
        if not flagged and j.get("finish") != "stop":
            check(False, "a text without a flagged sentence was stopped: %r %s" % (t, j))
    check(flagged_total > 10 and leaks == 0, "no flagged sentence leaked in 40 random texts (%d flagged, %d leaks)" %
          (flagged_total, leaks))

    # /v1/moderations: the classifier's scores
    s, j = request(port, "POST", "/v1/moderations", {"input": ["你这个蠢货狗东西", "我们今天一起去公园散步"]}, key)
    r0, r1 = j["results"]
    check(r0["flagged"] and r0["categories"]["harassment"] and r0["category_scores"]["harassment"] >= 0.5,
          "moderations: an insult scores as harassment: %s" % r0)
    lab = r0["hegui"]["classifier"][0]
    check(lab["label"] == "abuse" and lab["code"] == "insult" and lab["threshold"] == 0.5 and lab["score"] >= 0.5,
          "moderations: the label, its code, score and threshold: %s" % lab)
    check(not r1["flagged"] and r1["category_scores"]["harassment"] < 0.5 and
          r1["category_scores"]["harassment"] == r1["hegui"]["classifier"][0]["score"],
          "moderations: a neutral text scores low, the category's score is its label's: %s" % r1)

    # hegui check with the same policy: the same verdict
    r = subprocess.run([HEGUI, "check", "--policy", cfg, "我们今天去公园散步。你这个蠢货狗东西！"], capture_output=True,
                       text=True)
    check(r.returncode == 1 and "\tinsult\tblock\tclassifier\tabuse\t你这个蠢货狗东西！" in r.stdout,
          "hegui check --policy reports the sentence: %s" % r.stdout)


def hold_none(port, key):
    # under hold: none the stream releases text as the lexicon allows: part of the flagged sentence goes out
    # before the classifier judges it at its end, and the stream is then cut
    s, j = chat(port, key, "__bytes__ echo: 我们今天去公园散步。你这个蠢货狗东西！后面还有话。", stream=True)
    check(s == 200 and j["finish"] == "content_filter" and "你这个" in j["text"] and "后面" not in j["text"],
          "hold: none releases the sentence before judging it, then cuts: %r" % j)


def errors(port, admin, cfg, model):
    with open(cfg) as f:
        base = f.read()
    # a threshold for a label the model does not have: refused at reload, naming the key; nothing changes
    bad = base.replace("  hold: sentence\n", "  hold: sentence\n  thresholds: {nosuch: 0.3}\n")
    s, j = request(port, "PUT", "/admin/policy", raw=bad.encode(), key=admin, content_type="application/yaml")
    msg = json.dumps(j, ensure_ascii=False)
    check(s == 422 and "classifier.thresholds.nosuch" in msg and "abuse" in msg,
          "an unknown label in thresholds is refused with the labels named: %s %s" % (s, msg))
    bad = base.replace("  hold: sentence\n", "  hold: sentence\n  thresholds: {abuse: 1.5}\n")
    s, j = request(port, "PUT", "/admin/policy", raw=bad.encode(), key=admin, content_type="application/yaml")
    check(s == 422 and re.search(r"upload:\d+: classifier\.thresholds\.abuse: expected a threshold", json.dumps(j)),
          "a threshold out of range is refused with file:line: %s %s" % (s, j))
    bad = base.replace(model, os.path.join(TMP, "missing.hgcls"))
    s, j = request(port, "PUT", "/admin/policy", raw=bad.encode(), key=admin, content_type="application/yaml")
    check(s == 422 and "classifier.model" in json.dumps(j), "a missing model is refused: %s %s" % (s, j))
    r = subprocess.run([HEGUI, "check", "--policy", os.path.join(TMP, "nope.yaml"), "x"], capture_output=True)
    check(r.returncode == 2, "check with a missing policy file fails")


if __name__ == "__main__":
    sys.exit(main())
