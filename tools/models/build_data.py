#!/usr/bin/env python3
"""build_data.py SHARED_DATA OUT_DIR — the training and evaluation data of the default classifier, from the labeled
sets in ../shared/data (their SOURCE.md files give licences and use notes), written as JSON Lines with one column
per label (1, 0, or empty = "not annotated for this label": the trainer then neither trains that label on the row
nor counts it when choosing its threshold). Standard library only; deterministic (seed 1).

Labels and sources: tools/models/label_map.tsv (and MULTIJAIL_TAGS below). Negatives: COLD's non-offensive
comments, CValues responsibility prompts (ordinary questions on sensitive topics, which must pass), and sentences
of the clean corpora: 70% of zh-laws and two of the four classic novels train, the next 10% and the third novel
calibrate the thresholds, the last 20% and the fourth novel measure the flagged share of clean text; the same for
the English novels of corpus/en-gutenberg (70% of the books train, 10% calibrate, 20% measure). English positives
of the offensive label: Davidson et al.'s tweets (hate speech or offensive language; "neither" as negatives). Not used for training, by their use notes or by the issue's
evaluation plan: thu-safety-prompts (evaluation only), MHC HateCheck-zh and CHBias (out-of-distribution tests).

Writes OUT_DIR/train.jsonl, OUT_DIR/heldout.jsonl (10% of every labeled source, same columns), OUT_DIR/labels.tsv
(name, code, positives in train), OUT_DIR/calibration.txt (the clean training sentences and the ordinary questions,
one per line: thresholds are raised until few of them pass), and the clean held-out text OUT_DIR/clean-laws.txt, OUT_DIR/clean-classics.txt
and OUT_DIR/clean-english.txt (one sentence per line)."""
import csv
import json
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 1

# MultiJail's English harm tags (a list in each row) -> label name
MULTIJAIL_TAGS = {
    "Violence & incitement": "violence_porn", "Adult content": "violence_porn",
    "Hate speech & offensive language": "offensive", "Bullying & harassment": "offensive",
    "Discrimination & injustice": "other_discrimination", "Terrorism & organized crime": "terrorism",
    "Fraud & deception": "fraud", "Conspiracy theories & misinformation": "false_information",
    "Theft": "prohibited", "Property crime & vandalism": "prohibited", "Weapons": "prohibited",
    "Substance abuse & banned substances": "prohibited", "Sexual exploitation & human trafficking": "prohibited",
    "Child abuse": "prohibited", "Animal abuse": "prohibited", "Self-harm": "harm_health",
    "Soliciting personally identifiable information": "personal_info",
}


def read_map():
    m, codes = {}, {}
    with open(os.path.join(HERE, "label_map.tsv"), encoding="utf-8") as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            source, value, name, code = line.rstrip("\n").split("\t")
            m[(source, value)] = name
            codes[name] = code
    return m, codes


def sentences(text, min_chars):
    return [s.strip() for s in re.split(r"[。！？；!?;\n]", text) if len(s.strip()) >= min_chars]


def gutenberg_body(text):
    """A Project Gutenberg book without its header and footer (the licence text is not prose)."""
    start = re.search(r"\*\*\* ?START OF[^\n]*\n", text)
    end = re.search(r"\*\*\* ?END OF", text)
    return text[start.end() if start else 0:end.start() if end else len(text)]


def english_sentences(text, min_chars):
    """Sentences of wrapped English prose: lines joined into paragraphs, cut after . ! ? ; or :"""
    out = []
    for para in re.split(r"\n\s*\n", text):
        para = " ".join(para.split())
        out += [s.strip() for s in re.split(r"(?<=[.!?;:])\s+", para) if len(s.strip()) >= min_chars]
    return out


def main():
    if len(sys.argv) != 3:
        print(__doc__.split("\n")[0], file=sys.stderr)
        return 2
    d, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    rng = random.Random(SEED)
    m, codes = read_map()
    for name in set(MULTIJAIL_TAGS.values()):
        assert name in codes, name
    labels = sorted(codes, key=lambda n: (codes[n], n))
    rows = []  # (source, text, {label: 0/1})

    # COLD: offensive for all; the topic's discrimination label from the same annotation; other risks 0
    with open(os.path.join(d, "offensive/cold/train.csv"), encoding="utf-8-sig", newline="") as f:
        for r in csv.DictReader(f):
            off = int(r["label"])
            lab = {"offensive": off, "race": 0, "region": 0, "gender": 0}
            lab[m[("cold", r["topic"])]] = off
            rows.append(("cold", r["TEXT"], lab))
    # SWSR sexism (the comments)
    with open(os.path.join(d, "offensive/swsr-sexism/SexComment.csv"), encoding="utf-8-sig", newline="") as f:
        for r in csv.DictReader(f):
            rows.append(("swsr", r["comment_text"], {"gender": int(r["label"])}))
    # JailBench: seeds and jailbreak-wrapped queries, positives of their sub-class
    for fname, col in (("JailBench_seed.csv", "question_zh"), ("JailBench.csv", "query")):
        with open(os.path.join(d, "safety-prompts/jailbench", fname), encoding="utf-8-sig", newline="") as f:
            for r in csv.DictReader(f):
                name = m.get(("jailbench", (r.get("二级领域") or "").strip()))
                if name and (r.get(col) or "").strip():
                    rows.append(("jailbench", r[col], {name: 1}))
    # JADE (Chinese): positives of their sub-class
    for fname in ("v2_easy_zh.csv", "v2_medium_zh.csv", "v1_high_risk_zh.csv"):
        p = os.path.join(d, "safety-prompts/jade", fname)
        if not os.path.exists(p):
            continue
        with open(p, encoding="utf-8-sig", newline="") as f:
            for r in csv.DictReader(f):
                name = m.get(("jade", (r.get("违规子类") or "").strip()))
                text = r.get("问题") or r.get("question") or ""
                if name and text.strip():
                    rows.append(("jade", text, {name: 1}))
    # MultiJail: the Chinese and English prompts, positives of every tag
    with open(os.path.join(d, "safety-prompts/multijail/MultiJail.csv"), encoding="utf-8-sig", newline="") as f:
        for r in csv.DictReader(f):
            names = {MULTIJAIL_TAGS[t] for t in re.findall(r"'([^']+)'", r["tags"]) if t in MULTIJAIL_TAGS}
            for lang in ("zh", "en"):
                if names and r.get(lang, "").strip():
                    rows.append(("multijail", r[lang], {n: 1 for n in names}))
    # Davidson et al.: English tweets, offensive (hate speech or offensive language) or neither: the English
    # complement of COLD for the offensive label (the only English positives before were MultiJail's prompts)
    with open(os.path.join(d, "offensive/davidson-hate-offensive-en/labeled_data.csv"), encoding="utf-8",
              newline="") as f:
        tweets = [(re.sub(r"&amp;", "&", r["tweet"]), 0 if r["class"] == "2" else 1) for r in csv.DictReader(f)]
    # as many offensive tweets as "neither" ones (about 4,000 each): the full 20,000 offensive tweets outweighed
    # COLD's Chinese comments and cost the label recall on COLD dev
    neither = [t for t in tweets if not t[1]]
    offensive = [t for t in tweets if t[1]]
    rng.shuffle(offensive)
    for text, off in neither + offensive[:len(neither)]:
        rows.append(("davidson", text, {"offensive": off}))
    # XSTest: English prompts, safe ones (which look unsafe) as negatives
    with open(os.path.join(d, "safety-prompts/xstest-en/xstest_prompts.csv"), encoding="utf-8-sig", newline="") as f:
        for r in csv.DictReader(f):
            if r["label"] == "safe":
                rows.append(("xstest", r["prompt"], {n: 0 for n in labels}))
    # CValues: ordinary questions on sensitive topics, negatives for every label
    with open(os.path.join(d, "safety-prompts/cvalues-responsibility/cvalues_responsibility_prompts.jsonl"),
              encoding="utf-8") as f:
        for line in f:
            p = json.loads(line).get("prompt", "")
            if p.strip():
                rows.append(("cvalues", p, {n: 0 for n in labels}))
    # clean text: sentences of 80% of the laws and three of the four novels train; the rest is held out
    # three parts of each clean corpus: training negatives, calibration (thresholds), evaluation (the flagged share)
    laws = open(os.path.join(d, "corpus/zh-laws/zh_laws.txt"), encoding="utf-8").read()
    cut1, cut2 = int(len(laws) * 0.7), int(len(laws) * 0.8)
    books = sorted(p for p in os.listdir(os.path.join(d, "corpus/zh-classics-gutenberg")) if p.endswith(".txt"))
    book = [open(os.path.join(d, "corpus/zh-classics-gutenberg", b), encoding="utf-8").read() for b in books]
    train_clean = sentences(laws[:cut1], 6) + sentences(book[0], 6) + sentences(book[1], 6)
    rng.shuffle(train_clean)
    for s in train_clean[:40000]:
        rows.append(("clean", s, {n: 0 for n in labels}))
    # clean English prose (public-domain novels): without it, any English sentence looked like MultiJail's English
    # harmful prompts to the model (a plain "This answer is a plain sample..." scored 0.77 offensive). Books in
    # file-name order: the first 70% train, the next 10% calibrate, the last 20% measure the flagged share
    en_dir = os.path.join(d, "corpus/en-gutenberg")
    en_books = sorted(p for p in os.listdir(en_dir) if p.endswith(".txt"))
    n_en = len(en_books)
    en_cut1, en_cut2 = int(n_en * 0.7), int(n_en * 0.8)
    en_text = [gutenberg_body(open(os.path.join(en_dir, b), encoding="utf-8", errors="replace").read())
               for b in en_books]
    en_train = [s for t in en_text[:en_cut1] for s in english_sentences(t, 20)]
    rng.shuffle(en_train)
    for s in en_train[:25000]:
        rows.append(("clean", s, {n: 0 for n in labels}))
    en_calib = [s for t in en_text[en_cut1:en_cut2] for s in english_sentences(t, 20)]
    rng.shuffle(en_calib)
    en_held = [s for t in en_text[en_cut2:] for s in english_sentences(t, 20)]
    rng.shuffle(en_held)
    # the texts thresholds are calibrated on (train_model.py): clean text the model did not train on, and the
    # ordinary questions
    calib = sentences(laws[cut1:cut2], 3) + sentences(book[2], 3) + en_calib[:2000]
    with open(os.path.join(out, "calibration.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(s.replace("\n", " ") for s in calib +
                           [t.replace("\n", " ") for src, t, _ in rows if src in ("cvalues", "xstest")]) + "\n")
    with open(os.path.join(out, "clean-laws.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(sentences(laws[cut2:], 3)) + "\n")
    with open(os.path.join(out, "clean-classics.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(sentences(book[3], 3)) + "\n")
    with open(os.path.join(out, "clean-english.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(en_held[:20000]) + "\n")

    # 10% of every labeled source held out (the clean sentences have their own held-out text)
    rng.shuffle(rows)
    train, held = [], []
    seen = {}
    for source, text, lab in rows:
        text = text.replace("\r", " ").strip()
        if not text:
            continue
        k = seen.get(source, 0)
        seen[source] = k + 1
        (held if source != "clean" and k % 10 == 9 else train).append((text, lab))
    positives = {n: 0 for n in labels}
    for path, part in (("train.jsonl", train), ("heldout.jsonl", held)):
        with open(os.path.join(out, path), "w", encoding="utf-8") as f:
            for text, lab in part:
                o = {"text": text}
                for n in labels:
                    o[n] = lab[n] if n in lab else ""
                    if path == "train.jsonl" and lab.get(n) == 1:
                        positives[n] += 1
                f.write(json.dumps(o, ensure_ascii=False) + "\n")
    with open(os.path.join(out, "labels.tsv"), "w", encoding="utf-8") as f:
        for n in labels:
            f.write("%s\t%s\t%d\n" % (n, codes[n], positives[n]))
    print("build_data: %d training rows, %d held out, %d labels" % (len(train), len(held), len(labels)))
    for n in labels:
        print("  %-22s %-8s %6d positives" % (n, codes[n], positives[n]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
