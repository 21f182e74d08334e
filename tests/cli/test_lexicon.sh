#!/usr/bin/env bash
# test_lexicon.sh HEGUI — `hegui lexicon compile|stats` and images: compiled images give the same hits as their
# source, damaged images are refused with a clear message, parse errors name file and line.
set -u
HEGUI=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
pass=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
run() { "$@" >"$T/out" 2>"$T/err"; echo $?; }

printf '# test lexicon\n冰毒\tA1h\t5\tblock\tfolded,noise\n台独\tA1c\t5\tblock\nnational\tcustom\n大麻\tA1h\n大麻哈鱼\tcustom\t1\tallow\n' >"$T/lex.tsv"
printf 'plainword\n另一个词\n' >"$T/plain.txt"
[ "$(run "$HEGUI" lexicon compile "$T/lex.tsv" "$T/plain.txt" "$T/lex.img")" = 0 ] && ok || bad "compile: $(cat "$T/err")"
grep -q "compiled 7 entries (1 allowlist" "$T/out" && ok || bad "compile summary: $(cat "$T/out")"
text="买冰 毒 national 台獨 plainword 大麻哈鱼 大麻 另一个词"
"$HEGUI" lexicon compile "$T/lex.tsv" "$T/one.img" >/dev/null
"$HEGUI" check --lexicon "$T/lex.tsv" --json "$text" >"$T/a.json"
"$HEGUI" check --lexicon "$T/one.img" --json "$text" >"$T/a2.json"
cmp -s "$T/a.json" "$T/a2.json" && ok || bad "image and source differ"
"$HEGUI" check --lexicon "$T/lex.img" --json "$text" >"$T/b.json"
[ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["count"])' "$T/b.json")" = 6 ] && ok || bad "6 hits: $(cat "$T/b.json")"

# damaged images
size=$(stat -c %s "$T/lex.img")
head -c $((size / 2)) "$T/lex.img" >"$T/half.img"
[ "$(run "$HEGUI" check --lexicon "$T/half.img" x)" = 2 ] && ok || bad "truncated image accepted"
grep -q "truncated" "$T/err" && ok || bad "truncated message: $(cat "$T/err")"
cp "$T/lex.img" "$T/flip.img"
printf '\x55' | dd of="$T/flip.img" bs=1 seek=$((size - 100)) conv=notrunc 2>/dev/null
[ "$(run "$HEGUI" check --lexicon "$T/flip.img" x)" = 2 ] && ok || bad "damaged image accepted"
grep -q "checksum" "$T/err" && ok || bad "checksum message: $(cat "$T/err")"
printf 'HGLEXIMG' >"$T/magic.img"
[ "$(run "$HEGUI" check --lexicon "$T/magic.img" x)" = 2 ] && ok || bad "header-only image accepted"
[ "$(run "$HEGUI" lexicon stats "$T/half.img")" = 2 ] && ok || bad "stats on damaged image"

# parse errors name file and line: --strict writes nothing; by default the line is named, skipped and counted
printf 'ok\n坏\tA9z\n' >"$T/badcat.tsv"
[ "$(run "$HEGUI" lexicon compile --strict "$T/badcat.tsv" "$T/never.img")" = 2 ] && ok || bad "bad category accepted"
grep -q "badcat.tsv:2: unknown risk category 'A9z'" "$T/err" && ok || bad "category message: $(cat "$T/err")"
[ ! -e "$T/never.img" ] && ok || bad "image written despite error"
printf 'x\t\t\tzap\n' >"$T/badact.tsv"
[ "$(run "$HEGUI" lexicon compile --strict "$T/badact.tsv" "$T/never.img")" = 2 ] && ok || bad "bad action accepted"
grep -q "badact.tsv:1: bad action 'zap'" "$T/err" && ok || bad "action message: $(cat "$T/err")"
[ "$(run "$HEGUI" lexicon compile "$T/badcat.tsv" "$T/some.img")" = 0 ] && ok || bad "a bad line fails the whole list"
grep -q "skipped .*badcat.tsv:2: unknown risk category" "$T/err" && ok || bad "skip message: $(cat "$T/err")"
grep -q "compiled 1 entries (0 allowlist, 0 duplicates dropped, 1 lines skipped)" "$T/out" && ok || bad "skip count: $(cat "$T/out")"
# an entry of 256 characters is taken, one of 257 skipped (named)
python3 -c 'print("长" * 256); print("长" * 257); print("短词")' >"$T/long.txt"
[ "$(run "$HEGUI" lexicon compile "$T/long.txt" "$T/long.img")" = 0 ] && ok || bad "long entries: $(cat "$T/err")"
grep -q "long.txt:2: entry longer than 256 characters" "$T/err" && grep -q "2 entries" "$T/out" && ok || bad "257: $(cat "$T/out" "$T/err")"
# plain lines of two or more CJK characters catch spaced-out text; --modes folded does not add it
printf '法轮功\nhello world\n' >"$T/plain2.txt"
printf 'classifier: {model: none}\n' >"$T/words.yaml"  # the words alone
[ "$(run "$HEGUI" check --policy "$T/words.yaml" --lexicon "$T/plain2.txt" "法 轮 功")" = 1 ] && grep -qP "\tnoise\t法轮功" "$T/out" && ok || bad "plain CJK noise: $(cat "$T/out")"
[ "$(run "$HEGUI" check --policy "$T/words.yaml" --lexicon "$T/plain2.txt" "hel lo world")" = 0 ] && ok || bad "Latin entries stay whole words: $(cat "$T/out")"
"$HEGUI" lexicon compile --modes folded "$T/plain2.txt" "$T/plain2.img" >/dev/null 2>&1
[ "$(run "$HEGUI" check --policy "$T/words.yaml" --lexicon "$T/plain2.img" "法 轮 功")" = 0 ] && ok || bad "--modes folded added noise: $(cat "$T/out")"
[ "$(run "$HEGUI" lexicon compile "$T/lex.tsv")" = 2 ] && ok || bad "compile without output accepted"
[ "$(run "$HEGUI" lexicon compile --category Q1 "$T/lex.tsv" "$T/x.img")" = 2 ] && ok || bad "bad --category accepted"
[ "$(run "$HEGUI" lexicon compile --max-noise 999 "$T/lex.tsv" "$T/x.img")" = 2 ] && ok || bad "bad --max-noise accepted"

# defaults for plain lists
[ "$(run "$HEGUI" lexicon compile --category A1f --modes folded,noise "$T/plain.txt" "$T/plain.img")" = 0 ] && ok || bad "compile with defaults"
[ "$(run "$HEGUI" check --lexicon "$T/plain.img" --json "plain-word")" = 1 ] && ok || bad "noise default applied"
grep -q '"category": "A1f"' "$T/out" && ok || bad "category default applied"

# stats
[ "$(run "$HEGUI" lexicon stats "$T/lex.img")" = 0 ] && ok || bad "stats"
grep -q "entries: 6 (+ 1 allowlist)" "$T/out" && ok || bad "stats total: $(head -3 "$T/out")"
grep -q "does NOT meet the minimums" "$T/out" && ok || bad "stats verdict"
[ "$(run "$HEGUI" lexicon stats --json "$T/lex.tsv")" = 0 ] && ok || bad "stats json"
python3 - "$T/out" <<'PY' && ok || bad "stats json content: $(cat "$T/out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["total"] == 4 and d["allowlist"] == 1
assert d["per_category"]["A1h"] == 2 and d["per_category"]["A1c"] == 1 and d["per_category"]["custom"] == 1
assert d["tc260"]["meets_minimums"] is False and len(d["per_category"]) == 37
assert [k for k in d["per_category"]][-4:] == ["insult", "spam", "fraud", "malware"]
PY
# a lexicon that meets the TC260-003 minimums (generated: 200 per A.1 risk, 100 per A.2 risk, 10,000 in all)
python3 - "$T/big.tsv" <<'PY'
import sys
cats = ["A1" + c for c in "abcdefgh"] + ["A2" + c for c in "abcdefghi"]
with open(sys.argv[1], "w") as f:
    n = 0
    for c in cats:
        for i in range(200 if c.startswith("A1") else 100):
            f.write("w%dx%s\t%s\n" % (n, c, c)); n += 1
    while n < 10000:
        f.write("w%dy\tA3a\n" % n); n += 1
PY
[ "$(run "$HEGUI" lexicon stats --json "$T/big.tsv")" = 0 ] && ok || bad "stats big"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["tc260"]["meets_minimums"] is True and d["total"]==10000, d' "$T/out" && ok || bad "big lexicon meets minimums"
[ "$(run "$HEGUI" lexicon stats)" = 2 ] && ok || bad "stats without file"

echo "lexicon: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
