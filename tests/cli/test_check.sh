#!/usr/bin/env bash
# test_check.sh HEGUI — `hegui check` as a user runs it: exit statuses like grep, text/JSON/count output, files,
# standard input, invalid UTF-8 reported with its offset, empty and large inputs, entries split over lines and
# written with homoglyphs.
set -u
HEGUI=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
pass=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect_rc() { # expected-rc description command...
  local want=$1 what=$2
  shift 2
  "$@" >"$T/out" 2>"$T/err"
  local rc=$?
  if [ "$rc" -eq "$want" ]; then ok; else bad "$what: exit $rc, want $want; stderr: $(head -c 300 "$T/err")"; fi
}

expect_rc 0 "clean text" "$HEGUI" check "今天天气很好，我们去公园散步。"
expect_rc 1 "hit in text" "$HEGUI" check "有人在卖冰毒"
grep -q "冰毒" "$T/out" && ok || bad "hit line names the entry"
grep -qP "^12-18\tA1h\tblock\tfolded\t冰毒\t冰毒$" "$T/out" && ok || bad "hit line format: $(cat "$T/out")"
expect_rc 1 "disguised hit" "$HEGUI" check "法 * 轮 _ 功"
grep -q "noise" "$T/out" && ok || bad "mode shown"
# line breaks are noise like spaces: an entry split over lines is found, and the hit is printed on one line
expect_rc 1 "split over lines" "$HEGUI" check $'法\n轮\n功'
grep -qP "^0-11\tA1h\tblock\tnoise\t法轮功\t法 轮 功$" "$T/out" && ok || bad "split over lines: $(cat "$T/out")"
expect_rc 1 "split over CR LF" "$HEGUI" check $'冰\r\n毒'
grep -qP "^0-8\tA1h\tblock\tnoise\t冰毒\t冰  毒$" "$T/out" && ok || bad "CR LF hit on one line: $(cat -A "$T/out")"
printf '有人在卖冰\r\n毒\r\n' >"$T/crlf.txt"
expect_rc 1 "file with CR LF" "$HEGUI" check --count --file "$T/crlf.txt"
[ "$(cat "$T/out")" = 1 ] && ok || bad "CR LF file count: $(cat "$T/out")"
expect_rc 0 "more line breaks than max_noise" "$HEGUI" check $'冰\n\n\n\n毒'
# homoglyphs: a Cyrillic o (U+043E) or a Greek omicron (U+03BF) in a Latin word folds to o
expect_rc 1 "Cyrillic o" "$HEGUI" check $'buy c\xd0\xbecaine'
grep -q $'^4-12\tA1h\tblock\tfolded\tcocaine\tc\xd0\xbecaine$' "$T/out" && ok || bad "Cyrillic o hit: $(cat "$T/out")"
expect_rc 1 "Greek omicron" "$HEGUI" check $'c\xce\xbfcaine'
expect_rc 0 "homoglyphs keep whole words" "$HEGUI" check $'rec\xd0\xbecaine c\xd0\xbecaines'
[ "$("$HEGUI" fold $'\xd0\xa1\xd0\x9e\xd0\xa1\xd0\x90\xd0\x86N\xd0\x95')" = cocaine ] && ok || bad "fold of Cyrillic COCAINE"
expect_rc 1 "traditional + full width" "$HEGUI" check "ＣＯＣＡＩＮＥ 與 臺獨"
[ "$(grep -vc '^verdict' "$T/out")" -eq 2 ] && ok || bad "two hits expected: $(cat "$T/out")"
[ "$(tail -n1 "$T/out")" = "$(printf 'verdict\tblock\t2 reasons')" ] && ok || bad "verdict line: $(tail -n1 "$T/out")"
expect_rc 0 "whole words" "$HEGUI" check "cocaines are not a word but recocaine neither"
expect_rc 0 "allowlist" "$HEGUI" check "大麻哈鱼是一种鱼"

# JSON
expect_rc 1 "json" "$HEGUI" check --json "卖冰毒和大麻，还有大麻哈鱼"
python3 - "$T/out" <<'PY' && ok || bad "json output"
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
assert d["count"] == 2 and len(d["hits"]) == 2, d
h = d["hits"][0]
for k in ("entry", "category", "severity", "action", "mode", "start", "end", "text"):
    assert k in h, k
assert h["entry"] == "冰毒" and h["text"] == "冰毒" and h["category"] == "A1h", h
raw = "卖冰毒和大麻，还有大麻哈鱼".encode()
for h in d["hits"]:
    assert raw[h["start"]:h["end"]].decode() == h["text"], h
PY
expect_rc 0 "json clean" "$HEGUI" check --json "hello"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d=={"hits":[],"count":0,"verdict":"allow","direction":"input"}, d' "$T/out" && ok || bad "json clean output"
expect_rc 1 "json escapes" "$HEGUI" check --json $'冰毒\t"quoted"\n'
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/out" && ok || bad "json escaping"

# the verdict: one moderator for every caller, so the policy decides what a hit does
expect_rc 0 "clean verdict" "$HEGUI" check "今天天气很好"
[ "$(cat "$T/out")" = "$(printf 'verdict\tallow\t0 reasons')" ] && ok || bad "allow verdict: $(cat "$T/out")"
expect_rc 1 "personal data" "$HEGUI" check "我的手机是13812345678"
grep -qP "^15-26\tpii\tredact\tpii\tmobile\t13812345678$" "$T/out" && ok || bad "pii reason: $(cat "$T/out")"
grep -qP "^verdict\tredact\t1 reason$" "$T/out" && ok || bad "redact verdict: $(cat "$T/out")"
cat >"$T/policy.yaml" <<'YAML'
policy:
  actions: {A1h: review, pii: allow}
YAML
expect_rc 1 "--policy review" "$HEGUI" check --policy "$T/policy.yaml" "有人在卖冰毒，电话13812345678"
grep -qP "^12-18\tA1h\treview\tfolded\t冰毒\t冰毒$" "$T/out" && ok || bad "policy applied: $(cat "$T/out")"
grep -q "mobile" "$T/out" && bad "pii: allow runs no detector: $(cat "$T/out")" || ok
grep -qP "^verdict\treview\t1 reason$" "$T/out" && ok || bad "review verdict: $(cat "$T/out")"
printf 'policy:\n  actoins: {A1h: review}\n' >"$T/bad.yaml"
expect_rc 2 "bad policy file" "$HEGUI" check --policy "$T/bad.yaml" "x"
grep -q "bad.yaml:2" "$T/err" && grep -q "did you mean 'policy.actions'" "$T/err" && ok || bad "policy error names file:line: $(cat "$T/err")"
expect_rc 2 "bad direction" "$HEGUI" check --direction sideways "x"
expect_rc 1 "direction output" "$HEGUI" check --json --direction output "冰毒"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["verdict"]=="block" and d["direction"]=="output" and d["hits"][0]["detector"]=="lexicon" and d["hits"][0]["effect"]=="block", d' "$T/out" && ok || bad "json verdict: $(cat "$T/out")"

# files and stdin
printf '第一行\n第二行有冰毒\n第三行有 cocaine\n' >"$T/in.txt"
expect_rc 1 "file" "$HEGUI" check --file "$T/in.txt"
[ "$(grep -vc '^verdict' "$T/out")" -eq 2 ] && ok || bad "file hits"
expect_rc 1 "stdin" sh -c "\"$HEGUI\" check - < \"$T/in.txt\""
expect_rc 1 "count" "$HEGUI" check --count --file "$T/in.txt"
[ "$(cat "$T/out")" = 2 ] && ok || bad "count prints 2: $(cat "$T/out")"
: >"$T/empty.txt"
expect_rc 0 "empty file" "$HEGUI" check --file "$T/empty.txt"
expect_rc 0 "empty text" "$HEGUI" check ""

# errors: exit 2 with a clear message
printf 'good text\n\xff bad\n' >"$T/bad.txt"
expect_rc 2 "invalid utf-8 file" "$HEGUI" check --file "$T/bad.txt"
grep -q "invalid UTF-8 at byte offset 10" "$T/err" && ok || bad "utf-8 message: $(cat "$T/err")"
printf 'ends inside \xe4\xb8' >"$T/trunc.txt"
expect_rc 2 "truncated utf-8" "$HEGUI" check --file "$T/trunc.txt"
grep -q "ends inside a UTF-8 sequence" "$T/err" && ok || bad "truncated message: $(cat "$T/err")"
expect_rc 2 "missing file" "$HEGUI" check --file "$T/nope.txt"
grep -q "cannot open" "$T/err" && ok || bad "missing file message"
expect_rc 2 "unknown option" "$HEGUI" check --frobnicate x
expect_rc 2 "no input" "$HEGUI" check
expect_rc 2 "missing lexicon" "$HEGUI" check --lexicon "$T/none.tsv" x
expect_rc 2 "unknown command" "$HEGUI" frobnicate

# a large file streams in bounded memory and finds every planted hit
python3 - "$T/big.txt" <<'PY'
import sys
line = "这是一段很普通的中文文字，用来测试大文件的流式扫描。其中有冰毒这个词。\n"
with open(sys.argv[1], "w", encoding="utf-8") as f:
    for i in range(60000):
        f.write(line)
PY
expect_rc 1 "large file" "$HEGUI" check --count --file "$T/big.txt"
[ "$(cat "$T/out")" = 60000 ] && ok || bad "large file count: $(cat "$T/out")"

echo "check: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
