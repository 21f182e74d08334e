#!/usr/bin/env bash
# test_classify.sh HEGUI — `hegui classifier train|eval` and `hegui classify` on small CSV, TSV and JSON Lines files
# written here: the model learns the task from each format, the same seed gives the same bytes, eval prints its
# figures, and bad input is refused with the file and line.
set -u
HEGUI=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
pass=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
run() { "$@" >"$T/out" 2>"$T/err"; echo $?; }

# A separable task: an insult word makes 'abuse' 1, a contact lure makes 'lure' 1. Quoting, commas and line
# breaks inside CSV fields on purpose.
python3 - "$T" <<'PY'
import json, random, sys
d = sys.argv[1]
r = random.Random(5)
filler = ["今天", "天气", "朋友", "学习", "吃饭", "电影", "hello", "北京"]
insult, lure = ["傻逼", "废物", "脑残"], ["加微信", "vx领取", "兼职刷单"]
rows = []
for i in range(500):
    a, b = r.random() < 0.35, r.random() < 0.35
    w = [r.choice(filler) for _ in range(4)]
    if a: w.insert(r.randrange(5), r.choice(insult))
    if b: w.insert(r.randrange(5), r.choice(lure))
    rows.append(("，".join(w) + (', "引号"\n第二行' if i % 7 == 0 else ""), int(a), int(b)))
with open(d + "/train.csv", "w") as f:
    f.write("id,text,abuse,lure\r\n")
    for i, (t, a, b) in enumerate(rows[:400]):
        f.write('%d,"%s",%d,%d\r\n' % (i, t.replace('"', '""'), a, b))
with open(d + "/test.tsv", "w") as f:
    f.write("text\tabuse\tlure\tkind\n")
    for t, a, b in rows[400:]:
        f.write("%s\t%s\t%s\t%s\n" % (t.replace("\n", " "), "true" if a else "false", "yes" if b else "no",
                                     "abusive" if a else "clean"))
with open(d + "/test.jsonl", "w") as f:
    for t, a, b in rows[400:]:
        f.write(json.dumps({"text": t, "abuse": a, "lure": bool(b)}, ensure_ascii=False) + "\n")
PY

[ "$(run "$HEGUI" classifier train --data "$T/train.csv" --text-column text --label-column abuse=abuse:insult \
  --label-column lure=lure:A1h --out "$T/m.bin" --seed 7 --epochs 8 --bits 14)" = 0 ] && ok || bad "train: $(cat "$T/err")"
grep -q "trained .*400 examples, 2 labels" "$T/out" && ok || bad "train summary: $(cat "$T/out")"
"$HEGUI" classifier train --data "$T/train.csv" --text-column text --label-column abuse=abuse:insult \
  --label-column lure=lure:A1h --out "$T/m2.bin" --seed 7 --epochs 8 --bits 14 >/dev/null
cmp -s "$T/m.bin" "$T/m2.bin" && ok || bad "same seed, different model bytes"

# eval on TSV and JSON Lines: the same rows, so the same figures; the task is easy
for f in test.tsv test.jsonl; do
  [ "$(run "$HEGUI" classifier eval --model "$T/m.bin" --data "$T/$f" --text-column text --label-column abuse \
    --label-column lure)" = 0 ] && ok || bad "eval $f: $(cat "$T/err")"
  cp "$T/out" "$T/eval-$f"
  f1=$(awk '/^macro F1/ {print $3}' "$T/out")
  python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= 0.95 else 1)" "${f1:-0}" && ok || bad "macro F1 $f1 on $f"
  grep -q "threshold sweep" "$T/out" && ok || bad "no sweep in $f"
done
diff <(grep -v scored "$T/eval-test.tsv") <(grep -v scored "$T/eval-test.jsonl") >/dev/null && ok || bad "TSV and JSONL disagree"

# an empty value: the row is not annotated for that label (it trains the others)
python3 - "$T" <<'PY'
import sys
d = sys.argv[1]
lines = open(d + "/train.csv", encoding="utf-8", newline="").read().split("\r\n")
out = [lines[0]] + [l[: l.rindex(",")] + "," if i % 2 and l else l for i, l in enumerate(lines[1:])]
open(d + "/partial.csv", "w", encoding="utf-8", newline="").write("\r\n".join(out))
PY
[ "$(run "$HEGUI" classifier train --data "$T/partial.csv" --text-column text --label-column abuse=abuse:insult \
  --label-column lure=lure:A1h --out "$T/p.bin" --bits 14 --epochs 8)" = 0 ] && ok || bad "partial: $(cat "$T/err")"
grep -q "lure .*unknown 200," "$T/out" && ok || bad "partial summary: $(cat "$T/out")"

# a given threshold is kept
[ "$(run "$HEGUI" classifier train --data "$T/train.csv" --text-column text --label-column abuse=abuse:insult \
  --out "$T/t.bin" --bits 12 --threshold abuse=0.73)" = 0 ] && ok || bad "threshold: $(cat "$T/err")"
grep -q "abuse .*threshold 0.73" "$T/out" && ok || bad "threshold kept: $(cat "$T/out")"
[ "$(run "$HEGUI" classifier train --data "$T/train.csv" --text-column text --label-column abuse=abuse:insult \
  --out "$T/t.bin" --threshold other=0.5)" = 2 ] && ok || bad "threshold of an unknown label accepted"

# a column of class names: COLUMN@VALUE is 1 where the column holds VALUE
"$HEGUI" classifier eval --model "$T/m.bin" --data "$T/test.tsv" --text-column text --label-column abuse | grep "^abuse" >"$T/e1"
"$HEGUI" classifier eval --model "$T/m.bin" --data "$T/test.tsv" --text-column text --label-column kind@abusive=abuse |
  grep "^abuse" >"$T/e2"
[ -s "$T/e1" ] && cmp -s "$T/e1" "$T/e2" && ok || bad "kind@abusive differs: $(cat "$T/e1" "$T/e2")"

# classify: a text argument, standard input, a file, JSON
[ "$(run "$HEGUI" classify --model "$T/m.bin" "朋友，你这个傻逼")" = 1 ] && ok || bad "insult not flagged: $(cat "$T/out" "$T/err")"
grep -q "^abuse .*FLAGGED" "$T/out" && ok || bad "classify output: $(cat "$T/out")"
[ "$(echo "今天天气很好，一起吃饭" | run "$HEGUI" classify --model "$T/m.bin" -)" = 0 ] && ok || bad "clean text flagged: $(cat "$T/out")"
printf '加微信vx领取' >"$T/t.txt"
[ "$(HEGUI_CLASSIFIER_MODEL="$T/m.bin" run "$HEGUI" classify --json --file "$T/t.txt")" = 1 ] && ok || bad "lure: $(cat "$T/out" "$T/err")"
python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
lure = [l for l in j["labels"] if l["name"] == "lure"][0]
assert j["flagged"] and lure["flagged"] and lure["code"] == "A1h" and 0 <= lure["score"] <= 1
' "$T/out" && ok || bad "classify --json: $(cat "$T/out")"

# errors name the file and line
printf 'id,text,abuse\n1,fine,0\n2,"never closed,1\n' >"$T/bad1.csv"
[ "$(run "$HEGUI" classifier train --data "$T/bad1.csv" --text-column text --label-column abuse=a:insult --out "$T/x")" = 2 ] && ok || bad "unclosed quote accepted"
grep -q "bad1.csv:3:" "$T/err" && ok || bad "unclosed quote message: $(cat "$T/err")"
printf 'text\tabuse\nfine\t0\nworse\tmaybe\n' >"$T/bad2.tsv"
[ "$(run "$HEGUI" classifier train --data "$T/bad2.tsv" --text-column text --label-column abuse=a:insult --out "$T/x")" = 2 ] && ok || bad "bad label value accepted"
grep -q "bad2.tsv:3: label value 'maybe'" "$T/err" && ok || bad "label value message: $(cat "$T/err")"
printf '{"text":"a","abuse":0}\n{"text":"b"}\n' >"$T/bad3.jsonl"
[ "$(run "$HEGUI" classifier train --data "$T/bad3.jsonl" --text-column text --label-column abuse=a:insult --out "$T/x")" = 2 ] && ok || bad "missing key accepted"
grep -q "bad3.jsonl:2:" "$T/err" && ok || bad "missing key message: $(cat "$T/err")"
[ "$(run "$HEGUI" classifier train --data "$T/train.csv" --text-column txt --label-column abuse=a:insult --out "$T/x")" = 2 ] && ok || bad "missing column accepted"
grep -q "train.csv:1: no column 'txt'" "$T/err" && ok || bad "missing column message: $(cat "$T/err")"
[ "$(run "$HEGUI" classifier train --data "$T/train.csv" --text-column text --label-column abuse=offensive --out "$T/x")" = 2 ] && ok || bad "label without code accepted"
grep -q "needs a risk code" "$T/err" && ok || bad "no-code message: $(cat "$T/err")"
[ "$(run "$HEGUI" classifier train --data "$T/train.csv" --text-column text --label-column abuse=a:A9z --out "$T/x")" = 2 ] && ok || bad "bad code accepted"
[ ! -e "$T/x" ] && ok || bad "a model was written after an error"

# a damaged model is refused
size=$(stat -c %s "$T/m.bin")
head -c $((size - 1)) "$T/m.bin" >"$T/cut.bin"
[ "$(run "$HEGUI" classify --model "$T/cut.bin" x)" = 2 ] && ok || bad "truncated model accepted"
grep -q "truncated" "$T/err" && ok || bad "truncated message: $(cat "$T/err")"
cp "$T/m.bin" "$T/flip.bin"
python3 -c 'import sys; p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 0x55; open(p, "wb").write(b)' "$T/flip.bin"
[ "$(run "$HEGUI" classify --model "$T/flip.bin" x)" = 2 ] && ok || bad "damaged model accepted"
grep -q "checksum" "$T/err" && ok || bad "checksum message: $(cat "$T/err")"
# --lines: one line of scores per input line, under the label names; --optimizer sgd trains; a threshold of 1 is kept
printf 'first line\nsecond line\n' >"$T/two.txt"
[ "$(run "$HEGUI" classify --lines --file "$T/two.txt")" = 0 ] && [ "$(wc -l <"$T/out")" = 3 ] && \
  [ "$(tail -n 1 "$T/out" | tr '\t' '\n' | wc -l)" = "$(head -n 1 "$T/out" | tr '\t' '\n' | wc -l)" ] && ok || bad "classify --lines: $(cat "$T/out" "$T/err")"
# without --model: the built-in model (data/models/hegui-risk.hgcls), every label scored
rc=$(run env -u HEGUI_CLASSIFIER_MODEL "$HEGUI" classify --json "今天天气很好")
{ [ "$rc" = 0 ] || [ "$rc" = 1 ]; } && python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["labels"] and all(0 <= l["score"] <= 1 for l in d["labels"])' "$T/out" && ok || bad "classify with the built-in model: rc $rc $(cat "$T/out" "$T/err")"
# plain English and Chinese prose passes the built-in model: it once flagged a plain English answer as an insult
# (English had been seen only in harmful prompts). Written here, not taken from any data set.
for t in "This answer is a plain sample used to measure the gateway under load." \
         "Performance is measured on the same machine with the same data, so that two runs can be compared fairly." \
         "The team keeps a short list of tasks and reviews every change before it is merged." \
         "Please summarise the meeting notes and send them to everyone by Friday." \
         "我们记录每一次测量的日期、提交版本和机器配置。"; do
  [ "$(run env -u HEGUI_CLASSIFIER_MODEL "$HEGUI" classify "$t")" = 0 ] && ok || bad "plain text flagged: $t: $(cat "$T/out")"
done
# a model path that is not a regular file is refused at once (a FIFO would block an open for reading forever)
mkfifo "$T/model.fifo"
[ "$(run timeout 10 "$HEGUI" classify --model "$T/model.fifo" x)" = 2 ] && ok || bad "a FIFO as the model"
grep -q "not a regular file" "$T/err" && ok || bad "FIFO message: $(cat "$T/err")"

echo "classify cli: $pass passed, $fails failed"
[ "$fails" = 0 ]
