#!/usr/bin/python3
"""ocr_eval.py — how many blocked words hegui finds in images of text (OCR + moderation), on a generated set.

  ocr_eval.py HEGUI [--n 60] [--seed 1] [--keep DIR] [--variant NAME=ARGS ...] [--tesseract-cli]

Draws N images with Pillow (ocr_render.py, WenQuanYi Micro Hei): short Chinese (and a few English) sentences, each
with one entry of the starter lexicon in it; font sizes 16-64 px; white, dark, coloured and busy backgrounds;
some with Gaussian noise; PNG and JPEG. Runs `hegui check --image --json` over all of them in one process (one
engine) for each variant of OCR options, and prints per variant: the blocked words found (and the miss rate), the
character accuracy (1 - edit distance / length, whitespace ignored) and the mean time per image; then the same per
background and per size band. --tesseract-cli also runs the `tesseract` program on each image as a baseline for
accuracy (it is given the colour image as is). Needs python3-pil; the figures are in docs/media.md."""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ocr_render  # noqa: E402

WORDS_ZH = ["冰毒", "八九民运", "刺探军情", "焚烧国旗", "西藏独立", "出卖国家机密", "推翻中共", "零八宪章", "策反军人",
            "偷拍军事基地", "台湾共和国", "中共暴政"]
WORDS_EN = ["bomb making", "pipe bomb", "cocaine", "fake passport"]
TEMPLATES_ZH = ["网上有人在讨论{w}的事情", "请不要传播{w}相关内容", "他说{w}是真的", "关于{w}的帖子已被删除",
                "警方通报{w}案件", "这篇文章提到了{w}", "{w}", "今天看到{w}的消息"]
TEMPLATES_EN = ["a guide to {w} was posted", "{w} for sale", "we do not allow {w} here"]
SIZES = [16, 20, 24, 32, 40, 48, 64]
BACKGROUNDS = ["plain", "dark", "colour", "busy"]


def make_set(n, seed, folder):
    rng = random.Random(seed)
    items = []
    for i in range(n):
        english = i % 5 == 4
        word = rng.choice(WORDS_EN if english else WORDS_ZH)
        text = rng.choice(TEMPLATES_EN if english else TEMPLATES_ZH).format(w=word)
        size = SIZES[i % len(SIZES)]
        bg = BACKGROUNDS[(i // len(SIZES)) % len(BACKGROUNDS)] if i >= len(SIZES) else BACKGROUNDS[i % 4]
        noise = rng.choice([0, 0, 6, 12])
        path = os.path.join(folder, "img%03d.%s" % (i, "jpg" if i % 3 == 2 else "png"))
        ocr_render.save(ocr_render.render(text, size, bg, noise, seed=seed * 1000 + i), path)
        items.append({"path": path, "text": text, "word": word, "size": size, "bg": bg, "noise": noise})
    return items


def distance(a, b):
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def squash(s):
    return "".join(s.split())


def accuracy(truth, read):
    t = squash(truth)
    return max(0.0, 1.0 - distance(t, squash(read)) / len(t))


def run_hegui(hegui, items, extra):
    start = time.monotonic()
    p = subprocess.run([hegui, "check", "--image", "--json", "--direction", "output"] + extra +
                       [it["path"] for it in items], capture_output=True, text=True)
    wall = time.monotonic() - start
    if p.returncode not in (0, 1, 2):
        sys.exit("hegui failed: %s" % p.stderr)
    rows = {}
    for line in p.stdout.splitlines():
        o = json.loads(line)
        rows[o["image"]] = o
    out = []
    for it in items:
        o = rows.get(it["path"])
        if o is None:
            out.append({"found": False, "acc": 0.0, "ms": 0, "read": ""})
            continue
        found = any(h["entry"] == it["word"] for h in o["hits"])
        out.append({"found": found, "acc": accuracy(it["text"], o["ocr_text"]), "ms": o["ocr_ms"],
                    "read": o["ocr_text"]})
    return out, wall


def run_cli(items):
    out = []
    start = time.monotonic()
    for it in items:
        p = subprocess.run(["tesseract", it["path"], "-", "-l", "chi_sim+eng"], capture_output=True, text=True)
        out.append({"found": None, "acc": accuracy(it["text"], p.stdout), "ms": 0, "read": p.stdout})
    return out, time.monotonic() - start


def summary(name, items, res, wall):
    n = len(items)
    found = sum(r["found"] for r in res if r["found"] is not None)
    acc = sum(r["acc"] for r in res) / n
    line = "%-22s" % name
    if res[0]["found"] is not None:
        line += " found %2d/%d (miss rate %4.1f%%)" % (found, n, 100.0 * (n - found) / n)
    else:
        line += " %-29s" % "(no moderation)"
    line += "  char accuracy %5.1f%%  %6.0f ms/image (wall, one process)" % (100 * acc, 1000 * wall / n)
    print(line)


def breakdown(items, res):
    for key, values in (("bg", BACKGROUNDS), ("size", None)):
        groups = {}
        for it, r in zip(items, res):
            k = it[key] if key == "bg" else ("16-24 px" if it["size"] <= 24 else "32-40 px" if it["size"] <= 40
                                             else "48-64 px")
            groups.setdefault(k, []).append(r)
        for k in sorted(groups, key=str):
            g = groups[k]
            print("    %-10s %2d images  found %2d  char accuracy %5.1f%%" %
                  (k, len(g), sum(r["found"] for r in g), 100 * sum(r["acc"] for r in g) / len(g)))


def main():
    ap = argparse.ArgumentParser(description="OCR + moderation miss rate on generated images")
    ap.add_argument("hegui")
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", help="write the images here and keep them")
    ap.add_argument("--variant", action="append", default=[],
                    help="NAME=hegui options, e.g. 'upscale=--ocr-upscale-below 400' (default: one run, no options)")
    ap.add_argument("--tesseract-cli", action="store_true")
    ap.add_argument("--misses", action="store_true", help="print what was read where the word was missed")
    a = ap.parse_args()
    folder = a.keep or tempfile.mkdtemp(prefix="hegui-ocr-eval-")
    os.makedirs(folder, exist_ok=True)
    try:
        items = make_set(a.n, a.seed, folder)
        print("%d images (%s), sizes %d-%d px, backgrounds %s" % (len(items), folder if a.keep else "generated",
              min(SIZES), max(SIZES), "/".join(BACKGROUNDS)))
        variants = [v.split("=", 1) for v in a.variant] or [["default", ""]]
        for name, opts in variants:
            res, wall = run_hegui(a.hegui, items, opts.split())
            summary(name, items, res, wall)
            breakdown(items, res)
            if a.misses:
                for it, r in zip(items, res):
                    if not r["found"]:
                        print("    miss %s %s %dpx: %r -> %r" % (os.path.basename(it["path"]), it["bg"], it["size"],
                                                                it["text"], r["read"]))
        if a.tesseract_cli:
            res, wall = run_cli(items)
            summary("tesseract CLI", items, res, wall)
    finally:
        if not a.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
