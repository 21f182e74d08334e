#!/usr/bin/env python3
"""Generate hegui's fold and pinyin tables from authoritative data.

Inputs (Debian packages): unicode-data (UnicodeData.txt, CaseFolding.txt, DerivedCoreProperties.txt,
Scripts.txt, Unihan_Variants/Readings), OpenCC (the `opencc` tool with t2s.json) and ICU's UTS #39 confusables
data (libicu, read through tools/gen/skeletons.c, whose output file is the second argument). Nothing here is typed
by hand: every mapping comes from those files. The output is one C file with two-stage lookup tables; see
src/text/fold.c for how they are read. Usage: gen_tables.py OUT.c SKELETONS.txt

Fold of a code point = fixpoint of: NFKD-style decomposition (canonical and the compatibility tags for width,
circles, fonts, super/subscripts, parenthesised and dotted numbers), combining marks dropped, surrounding
punctuation of number styles dropped, numeric value for styled digits without a decomposition (e.g. U+2776),
full case folding, Traditional->Simplified per character (OpenCC), single-valued Unihan kZVariant and
kSimplifiedVariant. Then homoglyphs of Latin letters and digits in other scripts fold to that letter or digit
(see confusable_folds for the exact rule). The fold must be idempotent; the generator checks that. With
HG_CONFUSABLES_DUMP=FILE it also writes the list of homoglyph folds, and the ones it refused, to FILE.
"""
import bz2
import os
import subprocess
import sys
import unicodedata
import zlib

UNI = os.environ.get("HG_UNICODE_DIR", "/usr/share/unicode")
MAX_CP = 0x110000
BLOCK = 128
MAX_EXPANSION = 6

# value layout (keep in sync with src/text/fold_table.h): low 21 bits are the folded code point minus the
# source code point (mod 2^21), or an index into the expansion table when F_EXPAND is set.
CP_MASK = 0x1FFFFF
F_EXPAND = 1 << 21
# bits 22-26 are the HG_CHAR_* flags of include/hegui/text.h shifted by 22, so that reading them is one shift
F_NOISE = 1 << 22
F_WORD = 1 << 23
F_DIGIT = 1 << 24
F_HAN = 1 << 25
F_ALNUM = 1 << 26
# Line and paragraph breaks. They are noise like any other (the lexicon's noise matching steps over them); the
# flag is there for readers that care about lines.
F_BREAK = 1 << 27
F_IGNORABLE = 1 << 28
BREAKS = {0x0A, 0x0B, 0x0C, 0x0D, 0x85, 0x2028, 0x2029}
# scripts written without spaces between words: their letters are not word characters (HG_CHAR_WORD)
UNSPACED_SCRIPTS = {"Hiragana", "Katakana", "Hangul", "Bopomofo", "Yi", "Thai", "Lao", "Khmer", "Myanmar", "Tibetan"}


def read_lines(path):
    opener = bz2.open if path.endswith(".bz2") else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                yield line


def parse_range(s):
    if ".." in s:
        a, b = s.split("..")
        return int(a, 16), int(b, 16)
    v = int(s, 16)
    return v, v


def load_unicode_data():
    gc = {}
    decomp = {}
    decimal = {}
    numeric = {}
    first = None
    for line in read_lines(os.path.join(UNI, "UnicodeData.txt")):
        f = line.split(";")
        cp = int(f[0], 16)
        name = f[1]
        if name.endswith(", First>"):
            first = cp
            continue
        if name.endswith(", Last>"):
            for c in range(first, cp + 1):
                gc[c] = f[2]
            continue
        gc[cp] = f[2]
        if f[5]:
            parts = f[5].split()
            tag = None
            if parts[0].startswith("<"):
                tag = parts[0]
                parts = parts[1:]
            decomp[cp] = (tag, [int(p, 16) for p in parts])
        if f[6]:
            decimal[cp] = int(f[6])
        if f[8]:
            numeric[cp] = f[8]
    return gc, decomp, decimal, numeric


def load_case_folding():
    fold = {}
    for line in read_lines(os.path.join(UNI, "CaseFolding.txt")):
        f = [x.strip() for x in line.split(";")]
        if f[1] in ("C", "F"):
            fold[int(f[0], 16)] = [int(x, 16) for x in f[2].split()]
    return fold


def load_property(path, name):
    out = set()
    for line in read_lines(path):
        f = [x.strip() for x in line.split(";")]
        if f[1] == name:
            a, b = parse_range(f[0])
            out.update(range(a, b + 1))
    return out


def load_scripts():
    script = {}
    for line in read_lines(os.path.join(UNI, "Scripts.txt")):
        f = [x.strip() for x in line.split(";")]
        a, b = parse_range(f[0])
        for c in range(a, b + 1):
            script[c] = f[1]
    return script


def unihan(field_names):
    out = {n: {} for n in field_names}
    for fname in ("Unihan_Variants.txt.bz2", "Unihan_Readings.txt.bz2"):
        path = os.path.join(UNI, fname)
        if not os.path.exists(path):
            path = path[:-4]
        for line in read_lines(path):
            f = line.split("\t")
            if len(f) < 3 or f[1] not in out:
                continue
            out[f[1]][int(f[0][2:], 16)] = f[2].split()
    return out


def opencc_t2s(chars):
    text = "\n".join(chr(c) for c in chars) + "\n"
    res = subprocess.run(["opencc", "-c", "t2s.json"], input=text.encode("utf-8"), capture_output=True, check=True)
    lines = res.stdout.decode("utf-8").split("\n")
    out = {}
    for c, line in zip(chars, lines):
        if len(line) == 1 and ord(line) != c:
            out[c] = ord(line)
    return out


def strip_tone(s):
    base = unicodedata.normalize("NFD", s.lower()).replace("u\u0308", "v")
    return "".join(ch for ch in base if not unicodedata.combining(ch)).lower()


def load_skeletons(path):
    """UTS #39 skeletons as printed by tools/gen/skeletons.c: code point -> list of code points."""
    if not path or not os.path.exists(path):
        sys.exit("gen_tables: no confusable skeletons file (%r); it is written by the skeletons tool, built "
                 "with ICU (libicu-dev)" % path)
    out = {}
    for line in read_lines(path):
        cp, skel = line.split(";")
        out[int(cp, 16)] = [int(x, 16) for x in skel.split()]
    if len(out) < 1000:
        sys.exit("gen_tables: %s has only %d skeletons; ICU's confusables data looks missing" % (path, len(out)))
    return out


def confusable_folds(skeletons, base_fold, gc, scripts):
    """Homoglyphs of Latin letters and digits, from the UTS #39 skeletons (ICU's confusables data).

    The rule, applied to every assigned code point c that the other folds leave alone (its fold is itself, so a
    code point that already folds somewhere, like U+24B6 or U+FF41 or U+0966, keeps that fold):
      1. c is a letter or number (general category L* or N*), or a symbol of the Letterlike Symbols block
         (U+2100..U+214F, e.g. U+212E). Other symbols, punctuation and marks stay noise, because a noise code point
         that became a letter could no longer be stepped over in noise mode (U+00D7 looks like x, U+2228 like v).
      2. c is not ASCII and not of the Latin script (never l/I/1, 0/O, rn/m or any Latin letter into another), nor
         Han, nor of a script written without spaces (Hiragana, Katakana, Hangul, Bopomofo, Yi, Thai, Lao, Khmer,
         Myanmar, Tibetan): their letters are not word characters, and a Latin letter in their midst would be.
      3. The skeleton of c is one ASCII letter or digit P. c then folds to the fold of P (a lowercase letter or a
         digit). Skeletons to other Latin letters (U+043A -> U+0138) or to several code points are left alone.
      4. Every code point that already folds to c (its capital, its styled forms) must not look like a different
         Latin letter or digit: when its skeleton is one ASCII letter or digit Q, the fold of P must be the fold of
         some ASCII character whose skeleton is Q (Q = 'l' stands for 1, I and l). Greek nu looks like v but its
         capital like N, so neither folds; Cyrillic i (U+0456) looks like i and its capital (U+0406) like I, so
         both fold to i. A capital that looks like no Latin letter (Greek capital gamma) follows its small letter.
    Code points that fold to such a c (by case, width or style) fold on to its Latin letter, so folding stays
    idempotent and case-insensitive, and every other existing fold is unchanged. Capitals whose small letter looks
    like no Latin letter (Cyrillic K, Greek Eta) are not folded: that would split a case pair.
    With ICU 72.1 (Unicode 15.0) this gives 211 folds, 388 more code points that reach them (capitals, accented
    and styled forms), and 8 refused by rule 4. Examples: U+043E CYRILLIC SMALL LETTER O -> o, U+03BF GREEK SMALL
    LETTER OMICRON -> o, U+13AA CHEROKEE LETTER GO -> a (and U+0431 CYRILLIC SMALL LETTER BE -> 6).
    Returns {c: Latin code point} and the code points refused by rule 4 with the ones they clash with.
    """
    ascii_alnum = [c for c in range(0x30, 0x7B) if chr(c).isalnum()]

    def single_ascii(c):
        s = skeletons.get(c, [c])
        return s[0] if len(s) == 1 and s[0] in ascii_alnum else None

    looks_like = {}  # skeleton -> folds of the ASCII letters and digits with that skeleton
    for a in ascii_alnum:
        looks_like.setdefault(single_ascii(a), set()).add(base_fold(a)[0])
    folded_from = {}  # code point -> the other code points whose fold is exactly it
    for c in gc:
        f = base_fold(c)
        if len(f) == 1 and f[0] != c:
            folded_from.setdefault(f[0], []).append(c)
    conf = {}
    refused = []
    for c in sorted(gc):
        category = gc[c]
        if not (category[0] in "LN" or (category[0] == "S" and 0x2100 <= c <= 0x214F)):
            continue
        script = scripts.get(c, "Common")
        if c < 0x80 or script in ("Latin", "Han") or script in UNSPACED_SCRIPTS or base_fold(c) != [c]:
            continue
        p = single_ascii(c)
        if p is None:
            continue
        target = base_fold(p)[0]
        clash = [x for x in folded_from.get(c, [])
                 if single_ascii(x) is not None and target not in looks_like[single_ascii(x)]]
        if clash:
            refused.append((c, target, clash))
        else:
            conf[c] = target
    return conf, refused


def main():
    out_c = sys.argv[1]
    skeletons = load_skeletons(sys.argv[2] if len(sys.argv) > 2 else None)
    gc, decomp, decimal, numeric = load_unicode_data()
    casefold = load_case_folding()
    ignorable = load_property(os.path.join(UNI, "DerivedCoreProperties.txt"), "Default_Ignorable_Code_Point")
    scripts = load_scripts()
    uh = unihan(["kZVariant", "kSimplifiedVariant", "kMandarin"])
    han = [c for c, s in scripts.items() if s == "Han"]
    t2s = opencc_t2s(sorted(han))

    def cat(c):
        return gc.get(c, "Cn")

    def is_alnum(c):
        return cat(c)[0] in "LN"

    def is_mark(c):
        return cat(c) in ("Mn", "Me")

    def decompose(c, depth=0):
        if c not in decomp or depth > 8 or 0xAC00 <= c <= 0xD7A3:
            return [c]
        tag, parts = decomp[c]
        if tag == "<fraction>":
            return [c]
        out = []
        for p in parts:
            out.extend(decompose(p, depth + 1))
        return out

    # Variant characters: OpenCC t2s pairs and single-valued Unihan kZVariant / kSimplifiedVariant links are
    # unioned into classes, and every member folds to one representative. Following the links one by one would
    # bounce (Unihan lists 税 <-> 稅 both ways) and never settle; classes cannot.
    parent = {}

    def find(x):
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    nodes = set()

    def union(a, b):
        nodes.add(a)
        nodes.add(b)
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[ra] = rb

    for c, t in t2s.items():
        union(c, t)
    for field in ("kZVariant", "kSimplifiedVariant"):
        for c, vals in uh[field].items():
            if len(vals) == 1:
                v = int(vals[0].split("<")[0][2:], 16)
                if v != c and v not in decomp and c not in decomp:
                    union(c, v)
    simplified_targets = set(t2s.values())
    members = {}
    for c in nodes:
        members.setdefault(find(c), []).append(c)
    rep = {}
    for root, group in members.items():
        # prefer the form OpenCC produces (a simplified character that t2s leaves alone), then one with a
        # Mandarin reading, then the lowest code point
        def rank(x):
            return (0 if (x in simplified_targets and x not in t2s) else 1,
                    0 if x in uh["kMandarin"] else 1, x)
        best = min(group, key=rank)
        for x in group:
            rep[x] = best

    def variant(c):
        return rep.get(c, c)

    def step(c):
        if c in ignorable or is_mark(c):
            return []
        seq = [x for x in decompose(c) if not is_mark(x) and x not in ignorable]
        if not seq:
            return []
        if any(is_alnum(x) for x in seq):
            seq = [x for x in seq if is_alnum(x)]
        if len(seq) == 1 and cat(seq[0]) in ("No", "Nl", "Nd") and not (0x30 <= seq[0] <= 0x39):
            x = seq[0]
            if x in decimal:
                seq = [0x30 + decimal[x]]
            elif x in numeric and numeric[x].isdigit() and int(numeric[x]) <= 50 and scripts.get(x) != "Han":
                seq = [ord(d) for d in numeric[x]]
        res = []
        for x in seq:
            for y in casefold.get(x, [x]):
                res.append(variant(y))
        return res

    memo = {}

    def base_fold(c):
        if c in memo:
            return memo[c]
        memo[c] = [c]  # guard against cycles
        seq = [c]
        for _ in range(8):
            nxt = []
            for x in seq:
                nxt.extend(step(x))
            if nxt == seq:
                break
            seq = nxt
        else:
            sys.exit("fold of U+%04X does not settle" % c)
        memo[c] = seq
        return seq

    conf, conf_refused = confusable_folds(skeletons, base_fold, gc, scripts)

    def fold(c):
        return [conf.get(x, x) for x in base_fold(c)]

    conf_followers = sum(1 for c in gc if c not in conf and fold(c) != base_fold(c))

    values = [0] * MAX_CP
    expansions = [0]  # index 0 unused so that an expansion index is never 0
    exp_index = {}

    def flags_of(c):
        f = 0
        if cat(c)[0] in "LN":
            f |= F_ALNUM
            s = scripts.get(c, "Common")
            if s == "Han":
                f |= F_HAN
            elif s not in UNSPACED_SCRIPTS:
                f |= F_WORD
            if 0x30 <= c <= 0x39:
                f |= F_DIGIT
        elif c not in ignorable:
            f |= F_NOISE
            if c in BREAKS:
                f |= F_BREAK
        return f

    mapped_special = 0
    for c in range(MAX_CP):
        if 0xD800 <= c <= 0xDFFF:
            values[c] = F_IGNORABLE
            continue
        if c not in gc:
            values[c] = flags_of(c)  # unassigned: itself (delta 0), noise
            continue
        seq = fold(c)
        if not seq:
            values[c] = F_IGNORABLE
        elif len(seq) == 1:
            values[c] = ((seq[0] - c) & CP_MASK) | flags_of(seq[0])
            if seq[0] != c:
                mapped_special += 1
        elif len(seq) <= MAX_EXPANSION:
            key = tuple(seq)
            if key not in exp_index:
                exp_index[key] = len(expansions)
                expansions.append(len(seq))
                expansions.extend(seq)
            values[c] = exp_index[key] | F_EXPAND | flags_of(seq[0])
            mapped_special += 1
        else:
            values[c] = flags_of(c)

    # idempotence: folding a folded code point changes nothing
    for c in range(MAX_CP):
        v = values[c]
        if v & (F_IGNORABLE | F_EXPAND):
            targets = [] if v & F_IGNORABLE else expansions[(v & CP_MASK) + 1:(v & CP_MASK) + 1 + expansions[v & CP_MASK]]
        else:
            targets = [(c + v) & CP_MASK]
        for t in targets:
            tv = values[t]
            if tv & (F_EXPAND | F_IGNORABLE) or (tv & CP_MASK) != 0:
                sys.exit("fold not idempotent at U+%04X -> U+%04X" % (c, t))

    # pinyin per (folded) character, toneless; 'v' for u-umlaut
    syllables = [""]
    syl_index = {}
    pinyin = [0] * MAX_CP
    for c, vals in uh["kMandarin"].items():
        s = strip_tone(vals[0])
        if s not in syl_index:
            syl_index[s] = len(syllables)
            syllables.append(s)
        pinyin[c] = syl_index[s]
    # Text and entries are compared after folding, so what matters is the reading of the folded character. When
    # OpenCC folds to a character Unihan gives no reading (踚 -> U+2C9A7), it takes the reading of the lowest
    # source that folds to it; then every source shares its target's reading.
    for c in sorted(uh["kMandarin"]):
        v = values[c]
        if not v & (F_EXPAND | F_IGNORABLE):
            t = (c + v) & CP_MASK
            if not pinyin[t]:
                pinyin[t] = pinyin[c]
    for c in range(MAX_CP):
        v = values[c]
        if not v & (F_EXPAND | F_IGNORABLE):
            t = (c + v) & CP_MASK
            if pinyin[t]:
                pinyin[c] = pinyin[t]

    # the tone of a character's own first reading (1-4, 5 for the neutral tone; 0 without a reading), unfolded: what
    # the spoken label says (src/media/spoken.c). Not part of the tables' identity: matching never reads it.
    tone_marks = {"\u0304": 1, "\u0301": 2, "\u030c": 3, "\u0300": 4}
    tones = [0] * MAX_CP
    for c, vals in uh["kMandarin"].items():
        marks = [tone_marks[ch] for ch in unicodedata.normalize("NFD", vals[0].lower()) if ch in tone_marks]
        tones[c] = marks[0] if marks else 5

    def two_stage(vals, ctype, name):
        blocks = {}
        stage1 = []
        stage2 = []
        for b in range(0, MAX_CP, BLOCK):
            blk = tuple(vals[b:b + BLOCK])
            if blk not in blocks:
                blocks[blk] = len(blocks)
                stage2.extend(blk)
            stage1.append(blocks[blk])
        s1type = "uint16_t"
        lines = ["const %s %s_stage1[%d] = {" % (s1type, name, len(stage1))]
        for i in range(0, len(stage1), 16):
            lines.append("  " + ",".join(str(x) for x in stage1[i:i + 16]) + ",")
        lines.append("};")
        lines.append("const %s %s_stage2[%d] = {" % (ctype, name, len(stage2)))
        for i in range(0, len(stage2), 12):
            lines.append("  " + ",".join("0x%x" % x for x in stage2[i:i + 12]) + ",")
        lines.append("};")
        return lines, len(blocks)

    out = ["/* Generated by tools/gen/gen_tables.py from unicode-data and OpenCC. Do not edit. */",
           "#include \"fold_table.h\"", ""]
    lines, nb = two_stage(values, "uint32_t", "hg_fold")
    out += lines
    out.append("const uint32_t hg_fold_expansions[%d] = {" % len(expansions))
    for i in range(0, len(expansions), 12):
        out.append("  " + ",".join("0x%x" % x for x in expansions[i:i + 12]) + ",")
    out.append("};")
    lines, nb2 = two_stage(pinyin, "uint16_t", "hg_pinyin")
    out += lines
    out.append("const char *const hg_pinyin_syllables[%d] = {" % len(syllables))
    for i in range(0, len(syllables), 10):
        out.append("  " + ",".join('"%s"' % s for s in syllables[i:i + 10]) + ",")
    out.append("};")
    out.append("const unsigned hg_pinyin_syllable_count = %d;" % len(syllables))
    lines, _ = two_stage(tones, "uint8_t", "hg_tone")
    out += lines
    # format characters (general category Cf: bidi controls, zero-width joiners, tags), as sorted ranges: names a
    # person reads (user names) must not hold them, for they change how the text around them is shown
    fmt = sorted(c for c, g in gc.items() if g == "Cf")
    ranges = []
    for c in fmt:
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1][1] = c
        else:
            ranges.append([c, c])
    out.append("const uint32_t hg_format_ranges[%d][2] = {" % len(ranges))
    for i in range(0, len(ranges), 6):
        out.append("  " + ",".join("{0x%x,0x%x}" % (a, b) for a, b in ranges[i:i + 6]) + ",")
    out.append("};")
    out.append("const unsigned hg_format_range_count = %d;" % len(ranges))
    out.append("const unsigned hg_fold_mapped_count = %d;" % mapped_special)
    out.append("const unsigned hg_fold_t2s_count = %d;" % len(t2s))
    ident = zlib.crc32(repr((values, expansions, pinyin, syllables)).encode("utf-8"))
    out.append("const uint32_t hg_fold_tables_id = 0x%08xu;" % ident)
    dump = os.environ.get("HG_CONFUSABLES_DUMP")
    if dump:  # for review: every homoglyph fold, then the refused ones with the code points they clash with
        with open(dump, "w", encoding="utf-8") as f:
            for c, t in sorted(conf.items()):
                f.write("U+%04X\t%s\t%s\t%s\t%s\t%s\n"
                        % (c, chr(c), chr(t), cat(c), scripts.get(c, "Common"), unicodedata.name(chr(c), "?")))
            for c, t, clash in conf_refused:
                f.write("refused U+%04X\t%s\t%s\tclashes with %s\n"
                        % (c, chr(c), chr(t), " ".join("U+%04X %s" % (x, chr(x)) for x in clash)))
    tmp = out_c + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    os.replace(tmp, out_c)
    print("gen_tables: %d folded code points (%d T->S), %d fold blocks, %d pinyin syllables, %d pinyin blocks"
          % (mapped_special, len(t2s), nb, len(syllables) - 1, nb2), file=sys.stderr)
    print("gen_tables: %d homoglyph folds (%d more code points reach them by case or style, %d refused), e.g. %s"
          % (len(conf), conf_followers, len(conf_refused),
             ", ".join("U+%04X->%s" % (c, chr(conf[c])) for c in (0x043E, 0x03BF, 0x13AA) if c in conf)),
          file=sys.stderr)


if __name__ == "__main__":
    main()
