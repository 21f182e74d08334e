#!/usr/bin/env python3
"""disguise_eval.py — how well does hegui see through disguised lexicon entries, and what does each match mode
cost in false positives on clean text?

Recall: samples entries of a real lexicon, disguises each one (fullwidth, case, Traditional, noise, mixed,
pinyin), scans the disguised variants with an image compiled from the FULL lexicon in the mode the disguise
needs, and counts a variant as recalled when a hit lies inside its line ("strict": the original entry fired;
"any": some entry fired).

False-positive pressure: compiles the full lexicon in each mode set and counts hits on a clean corpus (Chinese
laws and regulations), with the time each scan took.

Python 3 standard library only. Exit 0, also when the shared data is absent (then it prints "skipped: ...");
exit 2 when hegui itself fails. See README.md next to this file for the exact disguise rules.
"""
import argparse
import bisect
import bz2
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_LEXICON = "data/lexicons/houbb-sensitive-word/dict_v20240407.txt"  # under shared/
DEFAULT_CORPUS = "data/corpus/zh-laws/zh_laws.txt"  # under shared/
UNIHAN_READINGS = "/usr/share/unicode/Unihan_Readings.txt.bz2"

# Noise inserted by the noise disguise: ASCII and CJK punctuation, a space, an emoji, and a zero-width space
# (which hegui folds to nothing). Every one is a single code point.
NOISE_CHARS = list(" *·.-_/|~！，。、") + ["\U0001F600", "\u200B"]

# Lines of the variants file are separated by this: 5 newlines, i.e. 5 noise code points, more than the
# default --max-noise of 3, so no match can run from one variant into the next.
SEPARATOR = "\n" * 5

# disguise -> (modes of the image it is checked against, strict-recall target in percent or None)
DISGUISES = [
    ("plain", "folded", None),  # control: the entry as written
    ("width", "folded", 99.0),
    ("case", "folded", 99.0),
    ("traditional", "folded", 99.0),
    ("noise", "folded,noise", 99.0),
    ("mixed", "folded,noise", None),
    ("pinyin", "folded,pinyin", None),
]

FP_MODE_SETS = ["exact", "folded", "folded,noise", "folded,collapse", "folded,pinyin", "folded,homophone"]


class HeguiError(Exception):
    pass


# ---- helpers ---------------------------------------------------------------------------------------------------

def is_content(ch):
    """A letter or number of any script (CJK included): what an entry must contain, and where noise goes."""
    return unicodedata.category(ch)[0] in "LN"


def is_han(ch):
    name = unicodedata.name(ch, "")
    return name.startswith("CJK UNIFIED IDEOGRAPH") or name.startswith("CJK COMPATIBILITY IDEOGRAPH")


def trim(s):
    return s.strip(" \t\r")


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def read_lexicon(path):
    """Entries as hegui reads a plain list: split on LF only, trimmed, '#' comments and blank lines skipped; a line
    with tabs is TSV and its first column is the entry. Returns (entries in order, dropped {reason: [lines]})."""
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    entries, seen = [], set()
    dropped = {"invalid UTF-8": [], "no letter/digit/CJK character": [], "duplicate": []}
    for raw in data.split(b"\n"):
        try:
            line = trim(raw.decode("utf-8"))
        except UnicodeDecodeError:
            dropped["invalid UTF-8"].append(raw.decode("utf-8", "replace"))
            continue
        if not line or line.startswith("#"):
            continue
        entry = trim(line.split("\t", 1)[0])
        if not any(is_content(c) for c in entry):
            dropped["no letter/digit/CJK character"].append(entry)
            continue
        if entry in seen:
            dropped["duplicate"].append(entry)
            continue
        seen.add(entry)
        entries.append(entry)
    return entries, dropped


def write_lines(path, lines, sep="\n"):
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(sep.join(lines))
        f.write("\n")


class Hegui:
    def __init__(self, exe, workdir):
        self.exe = exe
        self.workdir = workdir
        self.images = {}  # modes -> (path, seconds)

    def compile(self, src, modes, out):
        t0 = time.perf_counter()
        r = run([self.exe, "lexicon", "compile", "--modes", modes, src, out])
        return r, time.perf_counter() - t0

    def filter_accepted(self, entries):
        """Drops the entries `hegui lexicon compile` refuses (it names the line), one at a time, until the rest
        compiles. Returns (accepted entries, [(entry, hegui's message)])."""
        path = os.path.join(self.workdir, "lexicon.txt")
        img = os.path.join(self.workdir, "probe.img")
        entries = list(entries)
        rejected = []
        for _ in range(len(entries) + 1):
            write_lines(path, entries)
            r, _ = self.compile(path, "folded", img)
            if r.returncode == 0:
                return entries, rejected
            msg = r.stderr.decode("utf-8", "replace").strip()
            m = re.search(re.escape(path) + r":(\d+): (.*)", msg)
            if not m:
                raise HeguiError("lexicon compile failed without naming a line: " + msg)
            k = int(m.group(1)) - 1
            rejected.append((entries[k], m.group(2)))
            del entries[k]
        raise HeguiError("lexicon compile keeps failing")

    def image(self, src, modes):
        if modes not in self.images:
            out = os.path.join(self.workdir, "lex_%s.img" % modes.replace(",", "+"))
            r, secs = self.compile(src, modes, out)
            if r.returncode != 0:
                raise HeguiError("lexicon compile --modes %s failed: %s" %
                                 (modes, r.stderr.decode("utf-8", "replace").strip()))
            self.images[modes] = (out, secs)
        return self.images[modes][0]

    def check_json(self, image, path):
        r = run([self.exe, "check", "--lexicon", image, "--json", "--file", path])
        if r.returncode not in (0, 1):
            raise HeguiError("check failed (exit %d): %s" % (r.returncode, r.stderr.decode("utf-8", "replace")))
        return json.loads(r.stdout.decode("utf-8"))["hits"]

    def check_count(self, image, path):
        t0 = time.perf_counter()
        r = run([self.exe, "check", "--lexicon", image, "--count", "--file", path])
        secs = time.perf_counter() - t0
        if r.returncode not in (0, 1):
            raise HeguiError("check failed (exit %d): %s" % (r.returncode, r.stderr.decode("utf-8", "replace")))
        return int(r.stdout.split()[0]), secs

    def fold(self, text, skip_noise=True):
        r = run([self.exe, "fold"] + (["--skip-noise"] if skip_noise else []) + [text])
        return r.stdout.decode("utf-8", "replace").rstrip("\n") if r.returncode == 0 else "?"


# ---- disguises -------------------------------------------------------------------------------------------------

def to_fullwidth(s):
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in s)


def d_width(entry, rng, ctx):
    if not any(c.isascii() and c.isalnum() for c in entry):
        return None
    return to_fullwidth(entry)


def d_case(entry, rng, ctx):
    letters = [i for i, c in enumerate(entry) if c.isascii() and c.isalpha()]
    if not letters:
        return None
    chars = [(c.upper() if rng.random() < 0.5 else c.lower()) if c.isascii() and c.isalpha() else c for c in entry]
    if "".join(chars) == entry:  # make sure at least one letter changed
        i = rng.choice(letters)
        chars[i] = chars[i].swapcase()
    return "".join(chars)


def d_traditional(entry, rng, ctx):
    t = ctx["s2t"].get(entry)
    return t if t is not None and t != entry else None


def insert_noise(s, rng):
    """Inserts 1-3 noise code points into some of the gaps between two adjacent letters/digits/CJK characters
    (each gap with probability 1/2, at least one). None when the text has no such gap."""
    gaps = [i for i in range(len(s) - 1) if is_content(s[i]) and is_content(s[i + 1])]
    if not gaps:
        return None
    chosen = {g for g in gaps if rng.random() < 0.5} or {rng.choice(gaps)}
    out = []
    for i, c in enumerate(s):
        out.append(c)
        if i in chosen:
            out.extend(rng.choice(NOISE_CHARS) for _ in range(rng.randint(1, 3)))
    return "".join(out)


def d_noise(entry, rng, ctx):
    return insert_noise(entry, rng)


def d_mixed(entry, rng, ctx):
    s = ctx["s2t"].get(entry, entry) if ctx["s2t"] else entry
    return insert_noise(to_fullwidth(s), rng)


def d_pinyin(entry, rng, ctx):
    if ctx["readings"] is None or not all(is_han(c) for c in entry):
        return None
    syl = [ctx["readings"].get(c) for c in entry]
    if None in syl:
        ctx["pinyin_no_reading"] += 1
        return None
    out = syl[0]
    for s in syl[1:]:
        out += (" " if rng.random() < 0.5 else "") + s
    return out


def d_plain(entry, rng, ctx):
    return entry


GENERATORS = {"plain": d_plain, "width": d_width, "case": d_case, "traditional": d_traditional,
              "noise": d_noise, "mixed": d_mixed, "pinyin": d_pinyin}


def strip_tone(s):
    """Toneless, lower case, u-umlaut written v (also when it carries a tone mark: nǚ -> nv)."""
    base = unicodedata.normalize("NFD", s.lower()).replace("u\u0308", "v")
    return "".join(c for c in base if not unicodedata.combining(c))


def load_readings(path):
    if not os.path.exists(path):
        return None
    out = {}
    with bz2.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            if "\tkMandarin\t" not in line:
                continue
            cp, _, vals = line.rstrip("\n").split("\t")
            out[chr(int(cp[2:], 16))] = strip_tone(vals.split()[0])
    return out


def opencc_s2t(entries, workdir):
    """Simplified -> Traditional with `opencc -c s2t.json`, one entry per line. None when opencc is missing."""
    exe = shutil.which("opencc")
    if not exe:
        return None
    src, dst = os.path.join(workdir, "s2t_in.txt"), os.path.join(workdir, "s2t_out.txt")
    write_lines(src, entries)
    r = run([exe, "-c", "s2t.json", "-i", src, "-o", dst])
    if r.returncode == 0:
        with open(dst, encoding="utf-8", newline="") as f:
            out = f.read().split("\n")
        if out and out[-1] == "":
            out.pop()
        if len(out) == len(entries):
            return dict(zip(entries, out))
    print("disguise_eval: opencc batch output misaligned, converting one entry at a time", file=sys.stderr)
    res = {}  # line counts disagree: convert one at a time
    for e in entries:
        r = run([exe, "-c", "s2t.json"], input=e.encode("utf-8"))
        res[e] = r.stdout.decode("utf-8").rstrip("\n") if r.returncode == 0 else e
    return res


# ---- evaluation ------------------------------------------------------------------------------------------------

def evaluate(hg, src, name, modes, target, sample, ctx, workdir, n_examples):
    rng = random.Random("%s:%s" % (ctx["seed"], name))
    pairs = [(e, GENERATORS[name](e, rng, ctx)) for e in sample]
    pairs = [(e, v) for e, v in pairs if v is not None]
    res = {"disguise": name, "modes": modes, "target": target, "sampled": len(sample), "applicable": len(pairs)}
    if not pairs:
        res.update(strict=0, any=0, strict_pct=None, any_pct=None, met=None, failures=[])
        return res
    path = os.path.join(workdir, "variants_%s.txt" % name)
    write_lines(path, [v for _, v in pairs], SEPARATOR)
    starts, ends, off = [], [], 0
    sep_len = len(SEPARATOR.encode("utf-8"))
    for _, v in pairs:
        n = len(v.encode("utf-8"))
        starts.append(off)
        ends.append(off + n)
        off += n + sep_len
    t0 = time.perf_counter()
    hits = hg.check_json(hg.image(src, modes), path)
    res["check_seconds"] = round(time.perf_counter() - t0, 3)
    per_line = [[] for _ in pairs]
    for h in hits:
        i = bisect.bisect_right(starts, h["start"]) - 1
        if i >= 0 and h["end"] <= ends[i]:
            per_line[i].append(h)
    strict = anyhit = 0
    failures = []
    for (entry, variant), hs in zip(pairs, per_line):
        ok = any(h["entry"] == entry for h in hs)
        strict += ok
        anyhit += bool(hs)
        if not ok:
            failures.append({"entry": entry, "variant": variant,
                             "hits": [{"entry": h["entry"], "mode": h["mode"], "text": h["text"]} for h in hs]})
    for f in failures[:n_examples]:  # folded forms help tell a folding gap from a generator issue
        f["fold_entry"] = hg.fold(f["entry"])
        f["fold_variant"] = hg.fold(f["variant"])
    n = len(pairs)
    res.update(strict=strict, any=anyhit, strict_pct=100.0 * strict / n, any_pct=100.0 * anyhit / n,
               met=(100.0 * strict / n >= target) if target is not None else None, failures=failures)
    return res


def false_positives(hg, src, corpus, workdir, top, prefix_mb):
    size = os.path.getsize(corpus)
    rows = []
    for modes in FP_MODE_SETS:
        img = hg.image(src, modes)
        hits, secs = hg.check_count(img, corpus)
        rows.append({"modes": modes, "hits": hits, "hits_per_mb": hits / (size / 1e6), "seconds": round(secs, 3),
                     "mb_per_s": (size / 1e6) / secs if secs > 0 else None,
                     "compile_seconds": round(hg.images[modes][1], 3)})
    base = next(r["hits"] for r in rows if r["modes"] == "folded")
    for r in rows:
        r["vs_folded"] = r["hits"] - base
    res = {"corpus": corpus, "bytes": size, "rows": rows, "top": None}
    if top > 0 and prefix_mb > 0:
        res["top"] = top_hits(hg, src, corpus, workdir, top, prefix_mb)
    return res


def top_hits(hg, src, corpus, workdir, top, prefix_mb):
    """What the hits are, on the first prefix_mb MB of the corpus: the commonest entries in folded mode, and for
    each other mode set the commonest hits that only that mode makes (entry, matched text, count)."""
    with open(corpus, "rb") as f:
        data = f.read(int(prefix_mb * 1e6))
    cut = data.rfind(b"\n")
    if cut > 0:
        data = data[:cut + 1]
    path = os.path.join(workdir, "corpus_prefix.txt")
    with open(path, "wb") as f:
        f.write(data)
    out = {"prefix_bytes": len(data), "modes": {}}
    for modes in FP_MODE_SETS:
        if modes == "exact":
            continue
        counts = {}
        for h in hg.check_json(hg.image(src, modes), path):
            if modes == "folded":
                key = (h["entry"], None, h["mode"])
            elif h["mode"] in ("folded", "exact"):
                continue
            else:
                key = (h["entry"], h["text"], h["mode"])
            counts[key] = counts.get(key, 0) + 1
        best = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1] or ""))[:top]
        out["modes"][modes] = [{"entry": e, "text": t, "mode": m, "count": n} for (e, t, m), n in best]
    return out


def fmt_pct(x):
    return "-" if x is None else "%.2f" % x


def print_report(meta, recall, fp, n_examples):
    print("hegui disguise evaluation")
    print("  hegui    %s (%s)" % (meta["hegui"], meta["hegui_version"] or "version unknown"))
    print("  lexicon  %s" % meta["lexicon"])
    print("           %d entries accepted (%d rejected by hegui, %d dropped before: %s)" %
          (meta["accepted"], len(meta["rejected"]), sum(meta["dropped"].values()),
           ", ".join("%s %d" % kv for kv in meta["dropped"].items())))
    for e, msg in meta["rejected"][:5]:
        print("           rejected: %r — %s" % (e, msg))
    print("  sample   %d entries, seed %s" % (meta["sample"], meta["seed"]))
    for note in meta["notes"]:
        print("  note     " + note)
    print()
    print("Recall on disguised entries (strict: the original entry hit; any: some entry hit in the variant)")
    hdr = "%-12s %-14s %10s %10s %9s %9s %7s  %s" % ("disguise", "image modes", "applicable", "strict", "strict %",
                                                       "any %", "target", "met?")
    print(hdr)
    print("-" * len(hdr))
    for r in recall:
        tgt = "-" if r["target"] is None else ">=%g" % r["target"]
        met = "-" if r["met"] is None else ("yes" if r["met"] else "NO")
        if r["disguise"] == "plain":
            met = "(control)"
        print("%-12s %-14s %5d/%-4d %10d %9s %9s %7s  %s" % (r["disguise"], r["modes"], r["applicable"], r["sampled"],
                                                              r["strict"], fmt_pct(r["strict_pct"]),
                                                              fmt_pct(r["any_pct"]), tgt, met))
    if fp:
        print()
        print("False-positive pressure on clean text: %s (%.1f MB)" % (fp["corpus"], fp["bytes"] / 1e6))
        hdr = "%-18s %10s %10s %11s %9s %8s %10s" % ("modes", "hits", "hits/MB", "vs folded", "scan s", "MB/s",
                                                     "compile s")
        print(hdr)
        print("-" * len(hdr))
        for r in fp["rows"]:
            print("%-18s %10d %10.1f %+11d %9.2f %8.1f %10.2f" % (r["modes"], r["hits"], r["hits_per_mb"],
                                                                   r["vs_folded"], r["seconds"], r["mb_per_s"] or 0,
                                                                   r["compile_seconds"]))
        if fp["top"]:
            print()
            print("Commonest hits on the first %.1f MB of the corpus (folded: all hits; others: only the hits that "
                  "mode adds)" % (fp["top"]["prefix_bytes"] / 1e6))
            for modes, items in fp["top"]["modes"].items():
                cells = ["%s%s %d" % (it["entry"], "" if it["text"] is None else "<-%r" % it["text"], it["count"])
                         for it in items]
                print("  %-17s %s" % (modes, ", ".join(cells) or "-"))
    shown = False
    for r in recall:
        if not r["failures"] or n_examples <= 0:
            continue
        if not shown:
            print()
            print("Strict misses (first %d per disguise)" % n_examples)
            shown = True
        print("  %s: %d of %d" % (r["disguise"], len(r["failures"]), r["applicable"]))
        for f in r["failures"][:n_examples]:
            got = ", ".join("%s[%s]" % (h["entry"], h["mode"]) for h in f["hits"][:4]) or "nothing"
            if len(f["hits"]) > 4:
                got += ", ..."
            print("    %r -> %r   fold: %r vs %r   hegui: %s" % (f["entry"], f["variant"], f.get("fold_entry"),
                                                                 f.get("fold_variant"), got))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hegui", default=os.path.join(REPO, "build", "hegui"), help="hegui binary (build/hegui)")
    ap.add_argument("--lexicon", help="plain-list lexicon (default: shared/%s)" % DEFAULT_LEXICON)
    ap.add_argument("--corpus", help="clean corpus for false positives (default: shared/%s)" % DEFAULT_CORPUS)
    ap.add_argument("--sample", type=int, default=2000, help="entries to sample (2000)")
    ap.add_argument("--seed", default="1", help="random seed (1)")
    ap.add_argument("--examples", type=int, default=10, help="strict misses to print per disguise (10)")
    ap.add_argument("--no-fp", action="store_true", help="skip the false-positive scans")
    ap.add_argument("--fp-top", type=int, default=8, help="commonest false-positive hits to list per mode (8)")
    ap.add_argument("--fp-prefix-mb", type=float, default=4.0,
                    help="MB of the corpus scanned with --json for --fp-top (4)")
    ap.add_argument("--json", metavar="OUT", help="also write all results, every miss included, as JSON")
    ap.add_argument("--keep-temp", action="store_true", help="keep the work directory (variants, images)")
    args = ap.parse_args()

    shared = os.environ.get("HG_SHARED") or os.path.join(os.path.dirname(REPO), "shared")
    lexicon = args.lexicon or os.path.join(shared, DEFAULT_LEXICON)
    corpus = args.corpus or os.path.join(shared, DEFAULT_CORPUS)
    if not args.lexicon and not os.path.isdir(os.path.join(shared, "data")):
        print("skipped: ../shared/data not found")
        return 0
    if not os.path.isfile(lexicon):
        print("skipped: %s not found" % lexicon)
        return 0
    exe = args.hegui if os.path.isabs(args.hegui) or os.path.exists(args.hegui) else os.path.join(REPO, args.hegui)
    if not os.access(exe, os.X_OK):
        print("disguise_eval: hegui not found at %s (build it first)" % exe, file=sys.stderr)
        return 2

    workdir = tempfile.mkdtemp(prefix="hegui-eval-")
    try:
        # Run a private copy, so that a rebuild during the run cannot mix two versions of hegui (and their image
        # formats). The stale-build check below still looks at the original.
        run_exe = os.path.join(workdir, "hegui")
        shutil.copy2(exe, run_exe)
        hg = Hegui(run_exe, workdir)
        entries, dropped = read_lexicon(lexicon)
        accepted, rejected = hg.filter_accepted(entries)
        src = os.path.join(workdir, "lexicon.txt")  # the accepted entries, written by filter_accepted
        seed = args.seed
        sample = random.Random(seed).sample(accepted, min(args.sample, len(accepted)))
        notes = []
        newest = max((os.path.getmtime(os.path.join(d, f)) for top in ("src", "include")
                      for d, _, fs in os.walk(os.path.join(REPO, top)) for f in fs), default=0)
        if newest > os.path.getmtime(exe):
            notes.append("%s is older than the sources in %s (rebuild?)" % (exe, REPO))
        s2t = opencc_s2t(sample, workdir)
        if s2t is None:
            notes.append("opencc not found: traditional n/a, mixed without Traditional")
        readings = load_readings(UNIHAN_READINGS)
        if readings is None:
            notes.append("%s not found: pinyin n/a" % UNIHAN_READINGS)
        ctx = {"seed": seed, "s2t": s2t or {}, "readings": readings, "pinyin_no_reading": 0}
        recall = [evaluate(hg, src, name, modes, target, sample, ctx, workdir, args.examples)
                  for name, modes, target in DISGUISES]
        if ctx["pinyin_no_reading"]:
            notes.append("pinyin: %d all-Han entries skipped, a character has no kMandarin reading"
                         % ctx["pinyin_no_reading"])
        fp = None
        if not args.no_fp:
            if os.path.isfile(corpus):
                fp = false_positives(hg, src, corpus, workdir, args.fp_top, args.fp_prefix_mb)
            else:
                notes.append("corpus %s not found: no false-positive scans" % corpus)
        ver = run([run_exe, "version"]).stdout.decode("utf-8", "replace").strip()
        meta = {"hegui": exe, "hegui_version": ver, "lexicon": lexicon, "accepted": len(accepted),
                "rejected": rejected, "dropped": {k: len(v) for k, v in dropped.items()}, "sample": len(sample),
                "seed": seed, "separator": SEPARATOR, "notes": notes}
        print_report(meta, recall, fp, args.examples)
        if args.json:
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump({"meta": meta, "recall": recall, "false_positives": fp}, f, ensure_ascii=False, indent=1)
            print("\nwrote %s" % args.json)
    except HeguiError as e:
        print("disguise_eval: hegui error: %s" % e, file=sys.stderr)
        return 2
    finally:
        if args.keep_temp:
            print("work directory kept: %s" % workdir, file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
