#!/usr/bin/env python3
"""train_model.py HEGUI DATA_DIR OUT_MODEL [PROVENANCE_MD] — trains the default classifier from what
build_data.py wrote, calibrates its thresholds on clean text, measures it, and writes the provenance file.

1. `hegui classifier train` on DATA_DIR/train.jsonl, every label of labels.tsv, 2^18 buckets, 6 epochs, seed 1:
   thresholds chosen on the trainer's held-out 10% for the best F1.
2. Calibration: every text of calibration.txt (clean text the model did not train on, ordinary questions) scored
   alone; a label's threshold is raised to the 99.95th percentile of its scores there when that is higher, and to
   at least 0.5 for a label with fewer than 1,000 training positives. F1 on small, one-sided
   positive sets (a few hundred jailbreak prompts) puts thresholds low enough to flag ordinary writing; this keeps
   the share of clean sentences a label flags under about 0.1%.
3. The same training with those thresholds given (--threshold), so the image says what the gateway applies.
4. Figures: per-label precision/recall/F1 on DATA_DIR/heldout.jsonl, COLD dev, the flagged share of the held-out
   clean text (zh-laws, one classic novel), training time, size — printed and written to PROVENANCE_MD.
Deterministic: the same data and hegui give the same bytes."""
import os
import subprocess
import sys
import time

RATE = 0.0005  # share of calibration texts a label may flag
SMALL = 1000  # a label with fewer training positives than this (the safety-prompt labels: a few hundred jailbreak
#              prompts, most in twenty templates) ships with threshold 1.00, which the moderator reads as "scored,
#              never flags": its F1 on so few one-sided examples says little about ordinary text, and measured on
#              ordinary chat it flagged "帮我查一下我的快递到哪了" as personal information. Its scores are still reported
#              (/v1/moderations category_scores, hegui classify), and classifier.thresholds turns it on.
BITS = 17
SEED = 1


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode not in (0, 1):
        raise SystemExit("failed: %s\n%s" % (" ".join(cmd[:4]), r.stderr))
    return r.stdout


def scores(hegui, model, path):
    out = run([hegui, "classify", "--model", model, "--lines", "--file", path]).split("\n")
    names = out[0].split("\t")
    return names, [[float(x) for x in line.split("\t")] for line in out[1:] if line]


def thresholds(hegui, model):
    import json
    j = json.loads(run([hegui, "classify", "--model", model, "--json", "x"]))
    return {lab["name"]: lab["threshold"] for lab in j["labels"]}


def flagged_share(hegui, model, path):
    th = thresholds(hegui, model)
    names, rows = scores(hegui, model, path)
    t = [th[n] for n in names]
    hit = sum(1 for r in rows if any(s >= x for s, x in zip(r, t)))
    return len(rows), hit


def main():
    if len(sys.argv) not in (4, 5):
        print("usage: train_model.py HEGUI DATA_DIR OUT_MODEL [PROVENANCE_MD]", file=sys.stderr)
        return 2
    hegui, d, out = sys.argv[1], sys.argv[2], sys.argv[3]
    prov = sys.argv[4] if len(sys.argv) == 5 else None
    labels = [line.rstrip("\n").split("\t") for line in open(os.path.join(d, "labels.tsv"), encoding="utf-8")]
    cols = []
    for name, code, _ in labels:
        cols += ["--label-column", "%s=%s:%s" % (name, name, code)]
    base = [hegui, "classifier", "train", "--data", os.path.join(d, "train.jsonl"), "--text-column", "text",
            "--bits", str(BITS), "--seed", str(SEED)] + cols
    first = out + ".uncalibrated"
    t0 = time.time()
    run(base + ["--out", first])
    train_s = time.time() - t0
    th = thresholds(hegui, first)
    names, rows = scores(hegui, first, os.path.join(d, "calibration.txt"))
    positives = {name: int(p) for name, _, p in labels}
    final = {}
    for i, n in enumerate(names):
        col = sorted(r[i] for r in rows)
        q = col[min(len(col) - 1, int(len(col) * (1 - RATE)))]
        final[n] = 1.0 if positives[n] < SMALL else min(0.99, max(th[n], round(q + 0.005, 2)))
    extra = []
    for n in names:
        extra += ["--threshold", "%s=%.2f" % (n, final[n])]
    run(base + extra + ["--out", out])
    evcols = sum((["--label-column", "%s=%s" % (n, n)] for n, _, _ in labels), [])
    ev_f1 = run([hegui, "classifier", "eval", "--model", first, "--data", os.path.join(d, "heldout.jsonl"),
                 "--text-column", "text"] + evcols)
    os.unlink(first)
    ev = run([hegui, "classifier", "eval", "--model", out, "--data", os.path.join(d, "heldout.jsonl"),
              "--text-column", "text"] + evcols)
    shared = os.environ.get("HG_SHARED_DATA", "")
    cold = ""
    if shared and os.path.exists(os.path.join(shared, "offensive/cold/dev.csv")):
        cold = run([hegui, "classifier", "eval", "--model", out, "--data", os.path.join(shared, "offensive/cold/dev.csv"),
                    "--text-column", "TEXT", "--label-column", "label=offensive"])
    clean = {}
    for f in ("clean-laws.txt", "clean-classics.txt", "clean-english.txt"):
        n, hit = flagged_share(hegui, out, os.path.join(d, f))
        clean[f] = (n, hit)
    size = os.path.getsize(out)
    lines = ["## Measured (train_model.py)", "",
             "- training %.1f s (one core, %d rows), model %d bytes, 2^%d buckets, %d labels" %
             (train_s, sum(1 for _ in open(os.path.join(d, "train.jsonl"), encoding="utf-8")), size, BITS, len(names)),
             "- thresholds shipped (F1 on the trainer's held-out 10%, raised to the 99.95th percentile of the "
             "calibration texts; 1.00 = scored, never flags, for labels of fewer than 1,000 positives): " + ", ".join("%s %.2f%s" % (n, final[n], "*" if final[n] > th[n] else "") for n in names),
             "  (* raised by the calibration)"]
    for f, (n, hit) in clean.items():
        lines.append("- flagged share of held-out clean sentences, %s: %d of %d (%.2f%%)" % (f, hit, n, 100.0 * hit / n))
    lines += ["", "Held-out 10% of every labeled source (`hegui classifier eval`), at the shipped thresholds:", "",
              "```", ev.strip(), "```", "",
              "The same held-out rows at the trainer's F1 thresholds, before calibration (what the small labels "
              "could do, measured on their own kind of text only):", "", "```", ev_f1.strip(), "```"]
    if cold:
        lines += ["", "COLD dev (offensive → `offensive`):", "", "```", "\n".join(cold.strip().split("\n")[:6]), "```"]
    text = "\n".join(lines) + "\n"
    print(text)
    if prov:
        head = open(prov, encoding="utf-8").read().split("## Measured")[0] if os.path.exists(prov) else ""
        with open(prov, "w", encoding="utf-8") as f:
            f.write(head + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
