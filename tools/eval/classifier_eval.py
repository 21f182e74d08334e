#!/usr/bin/env python3
"""classifier_eval.py [--hegui PATH] [--shared DIR] — how hegui's classifier generalizes, against a fixed baseline,
on the labeled sets of ../shared/data (docs/classifier.md, "Out of distribution"). Printed by `make bench`.

Every experiment trains two models on exactly the same rows and tests both on the same rows:
  hegui     as the shipped model is trained: hashed character 1-3-grams, 2^17 buckets, AdaGrad, 6 epochs, seed 1
  baseline  FIXED here so that it cannot be weakened: hashed character 1-3-grams, 2^20 buckets, logistic regression
            by plain SGD (constant step 0.5), 6 epochs, seed 1 (`--optimizer sgd --bits 20`)
Both pick their threshold on their own held-out 10% for the best F1. "Flagged" for a COLD-trained model is its
one label, offensive, at or above its threshold.

Experiments: COLD by topic (train on two of race/region/gender, test on the third, COLD dev rows); COLD to other
sets (train on all of COLD train; test on SWSR sexist comments, MHC HateCheck-zh cases, CHBias originals and their
counterfactuals — CHBias has no per-sentence label, so only flagged shares are given); then the default model's
flagged share of held-out clean text, its classification speed and the training time of 32,000 texts.
A measurement: it prints figures and never fails on them. Skips (exit 0) when ../shared is absent."""
import argparse
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
BASELINE = ["--optimizer", "sgd", "--bits", "20", "--learning-rate", "0.5", "--epochs", "6"]
HEGUI = ["--bits", "17"]  # as the shipped model is trained (tools/models/train_model.py)
SEEDS = (1, 2, 3, 4, 5)  # seed 1 is the comparison the issue fixed; all five give the spread the seed alone makes


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode not in (0, 1):
        raise SystemExit("classifier_eval: %s failed: %s" % (" ".join(cmd[:3]), r.stderr.strip()))
    return r.stdout


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for text, y in rows:
            f.write(json.dumps({"text": text, "label": y}, ensure_ascii=False) + "\n")


def train(hegui, data, out, extra):
    run([hegui, "classifier", "train", "--data", data, "--text-column", "text", "--label-column",
         "label=offensive:insult", "--out", out] + extra)


def evaluate(hegui, model, data):
    """(accuracy, F1 of the positive class, flagged share) on a JSON Lines file of text/label."""
    out = run([hegui, "classifier", "eval", "--model", model, "--data", data, "--text-column", "text",
               "--label-column", "label=offensive"])
    acc = re.search(r"offensive: accuracy ([0-9.]+)", out)
    f1 = re.search(r"^offensive\s+insult\s+[0-9.]+\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)", out, re.M)
    return float(acc.group(1)) if acc else float("nan"), float(f1.group(3)) if f1 else float("nan")


def flagged(hegui, model, rows, tmp):
    path = os.path.join(tmp, "lines.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(t.replace("\n", " ") for t in rows) + "\n")
    th = json.loads(run([hegui, "classify", "--model", model, "--json", "x"]))["labels"][0]["threshold"]
    out = run([hegui, "classify", "--model", model, "--lines", "--file", path]).split("\n")[1:]
    s = [float(x) for x in out if x]
    return sum(1 for v in s if v >= th) / max(1, len(s))


def cold(shared, split):
    with open(os.path.join(shared, "offensive/cold/%s.csv" % split), encoding="utf-8-sig", newline="") as f:
        return [(r["TEXT"], int(r["label"]), r["topic"]) for r in csv.DictReader(f)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hegui", default=os.path.join(TOP, "build", "hegui"))
    ap.add_argument("--shared", default=os.environ.get("HG_SHARED", os.path.join(TOP, "..", "shared")))
    a = ap.parse_args()
    shared = os.path.join(a.shared, "data")
    if not os.path.exists(os.path.join(shared, "offensive/cold/train.csv")):
        print("classifier_eval: skipped: %s not found (set HG_SHARED)" % shared)
        return 0
    tmp = tempfile.mkdtemp(prefix="hg-clseval-")
    tr, dev = cold(shared, "train"), cold(shared, "dev")
    rows = []  # (experiment, test, hegui acc, f1, baseline acc, f1) at seed 1
    spread = {}  # (experiment, test) -> ([hegui F1 per seed], [baseline F1 per seed])

    def both(name, train_rows, tests):
        data = os.path.join(tmp, "train.jsonl")
        write_jsonl(data, train_rows)
        mh, mb = os.path.join(tmp, "h.hgcls"), os.path.join(tmp, "b.hgcls")
        tps = []
        for k, (tname, test) in enumerate(tests):
            tps.append(os.path.join(tmp, "test%d.jsonl" % k))
            write_jsonl(tps[-1], test)
        for seed in reversed(SEEDS):  # seed 1 last, so that its models are the ones returned
            sd = ["--seed", str(seed)]
            train(a.hegui, data, mh, HEGUI + sd)
            train(a.hegui, data, mb, BASELINE + sd)
            for (tname, _), tp in zip(tests, tps):
                h, b = evaluate(a.hegui, mh, tp), evaluate(a.hegui, mb, tp)
                hs, bs = spread.setdefault((name, tname), ([], []))
                hs.append(h[1])
                bs.append(b[1])
                if seed == 1:
                    rows.append((name, tname) + h + b)
        return mh, mb

    for held in ("race", "region", "gender"):
        both("COLD without %s" % held, [(t, y) for t, y, tp in tr if tp != held],
             [("COLD dev, %s" % held, [(t, y) for t, y, tp in dev if tp == held])])
    with open(os.path.join(shared, "offensive/swsr-sexism/SexComment.csv"), encoding="utf-8-sig", newline="") as f:
        swsr = [(r["comment_text"], int(r["label"])) for r in csv.DictReader(f)]
    with open(os.path.join(shared, "offensive/mhc-hatecheck-zh/hatecheck_cases_final_mandarin.csv"),
              encoding="utf-8-sig", newline="") as f:
        mhc = [(r["test_case"], 1 if r["label_gold"] == "hateful" else 0) for r in csv.DictReader(f)]
    mh, mb = both("COLD train", [(t, y) for t, y, _ in tr],
                  [("COLD dev", [(t, y) for t, y, _ in dev]), ("SWSR sexist comments", swsr),
                   ("MHC HateCheck-zh", mhc)])
    with open(os.path.join(shared, "offensive/chbias/chbias_zh.csv"), encoding="utf-8-sig", newline="") as f:
        ch = list(csv.DictReader(f))
    orig = [r["text"] for r in ch if r["counterfactual"] == "0" and r["split"] != "train"]
    cf = [r["text"] for r in ch if r["counterfactual"] == "1"]

    print("classifier_eval: out of distribution, hegui's trainer vs the fixed baseline (same rows, same tests)")
    print("%-22s %-22s %9s %9s %9s %9s %7s" % ("trained on", "tested on", "hegui acc", "F1", "base acc", "F1",
                                                "F1 x"))
    for name, tname, ha, hf, ba, bf in rows:
        ratio = hf / bf if bf == bf and bf > 0 else float("nan")
        print("%-22s %-22s %9.3f %9.3f %9.3f %9.3f %7.2f" % (name, tname, ha, hf, ba, bf, ratio))
    print("the same over seeds %s (F1 mean +- standard deviation; the seed orders the examples and the held-out "
          "split):" % ",".join(map(str, SEEDS)))
    print("%-22s %-22s %15s %15s %7s %s" % ("trained on", "tested on", "hegui F1", "baseline F1", "mean x",
                                            "hegui above in"))
    for name, tname, _, _, _, _ in rows:
        hs, bs = spread[(name, tname)]
        mh_, mb_ = sum(hs) / len(hs), sum(bs) / len(bs)
        sdh = (sum((x - mh_) ** 2 for x in hs) / max(1, len(hs) - 1)) ** 0.5
        sdb = (sum((x - mb_) ** 2 for x in bs) / max(1, len(bs) - 1)) ** 0.5
        above = sum(1 for x, y in zip(hs, bs) if x > y)
        print("%-22s %-22s %7.3f +-%.3f %7.3f +-%.3f %7.2f %d of %d seeds" %
              (name, tname, mh_, sdh, mb_, sdb, mh_ / mb_ if mb_ > 0 else float("nan"), above, len(hs)))
    print("CHBias (no labels): flagged share of originals %.3f (hegui) / %.3f (baseline); of counterfactuals "
          "%.3f / %.3f" % (flagged(a.hegui, mh, orig, tmp), flagged(a.hegui, mb, orig, tmp),
                           flagged(a.hegui, mh, cf, tmp), flagged(a.hegui, mb, cf, tmp)))

    # the default model: clean text it never saw, speed, training time
    md = os.path.join(tmp, "model-data")
    run([sys.executable, os.path.join(TOP, "tools/models/build_data.py"), shared, md])
    default = os.path.join(TOP, "data/models/hegui-risk.hgcls")
    for f in ("clean-laws.txt", "clean-classics.txt"):
        p = os.path.join(md, f)
        labels = json.loads(run([a.hegui, "classify", "--model", default, "--json", "x"]))["labels"]
        th = [l["threshold"] for l in labels]
        out = run([a.hegui, "classify", "--model", default, "--lines", "--file", p]).split("\n")[1:]
        sc = [[float(x) for x in line.split("\t")] for line in out if line]
        hit = sum(1 for r in sc if any(s >= t and t < 1.0 for s, t in zip(r, th)))
        print("default model, held-out clean %s: %d of %d sentences flagged (%.2f%%; target <= 1%%)" %
              (f[6:-4], hit, len(sc), 100.0 * hit / max(1, len(sc))))
    size = os.path.getsize(default)
    # speed where it runs: the moderator judging every sentence of 8 MB of text, with and without the classifier
    # (hegui check --count; the lexicon and PII detectors off), best of three; the difference is the classifier's
    text = open(os.path.join(shared, "corpus/zh-laws/zh_laws.txt"), encoding="utf-8").read()[:2800000]
    big = os.path.join(tmp, "speed.txt")
    with open(big, "w", encoding="utf-8") as f:
        f.write(text)
    mb = os.path.getsize(big) / 1e6
    with open(os.path.join(tmp, "tiny.tsv"), "w") as f:
        f.write("xqzj\tcustom\n")
    times = {}
    for name, model in (("on", "builtin"), ("off", "none")):
        cfg = os.path.join(tmp, "speed-%s.yaml" % name)
        with open(cfg, "w") as f:
            f.write("classifier: {model: %s}\npolicy:\n  pii_types: []\n" % model)
        best = None
        for _ in range(3):
            t0 = time.time()
            run([a.hegui, "check", "--policy", cfg, "--lexicon", os.path.join(tmp, "tiny.tsv"), "--count", "--file",
                 big])
            dt = time.time() - t0
            best = dt if best is None or dt < best else best
        times[name] = best
    cls_s = max(1e-9, times["on"] - times["off"])
    print("default model: %d labels, %d bytes (target <= 16 MB); in the moderator, every sentence of %.1f MB of "
          "laws: %.2f s with, %.2f s without: %.1f MB/s for the classifier (target >= 100)" %
          (len(labels), size, mb, times["on"], times["off"], mb / cls_s))
    t32 = os.path.join(tmp, "t32.jsonl")
    with open(os.path.join(md, "train.jsonl"), encoding="utf-8") as f, open(t32, "w", encoding="utf-8") as g:
        for i, line in enumerate(f):
            if i >= 32000:
                break
            g.write(line)
    cols = []
    for line in open(os.path.join(md, "labels.tsv"), encoding="utf-8"):
        n, c, _ = line.rstrip("\n").split("\t")
        cols += ["--label-column", "%s=%s:%s" % (n, n, c)]
    t0 = time.time()
    run([a.hegui, "classifier", "train", "--data", t32, "--text-column", "text", "--bits", "17", "--out",
         os.path.join(tmp, "t32.hgcls")] + cols)
    print("training 32,000 texts, %d labels, 2^17: %.1f s wall (target <= 60)" % (len(cols) // 2, time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
