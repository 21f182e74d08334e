#!/bin/sh
# test_check_image.sh HEGUI SOURCE_DIR — `hegui check --image`: images of known text, drawn at test time by Pillow
# with the WenQuanYi font (tools/eval/ocr_render.py, independent of hegui's Tesseract path), are read by OCR and
# moderated like text: a blocked Chinese word and a blocked English phrase are found and named (exit 1), a clean
# image passes (exit 0), damaged and non-image files fail with a message (exit 2), the word is found on a busy
# background, several images give one JSON object each and the worst exit status, limits and the deadline hold.
# Skips (77) without Pillow, the font or the Tesseract language data.
HEGUI=$1 SRC=$2
RENDER=$SRC/tools/eval/ocr_render.py
fail=0
ok() { :; }
bad() { echo "FAIL: $*"; fail=1; }

PY=python3
$PY -c 'import PIL' 2>/dev/null || PY=/usr/bin/python3
$PY -c 'import PIL' 2>/dev/null || { echo "skipped: python3-pil missing"; exit 77; }
[ -r /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || { echo "skipped: fonts-wqy-microhei missing"; exit 77; }
for l in chi_sim eng; do
  [ -r /usr/share/tesseract-ocr/5/tessdata/$l.traineddata ] || { echo "skipped: tesseract-ocr-$l missing"; exit 77; }
done

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 2
render() { $PY "$RENDER" "$@" || { echo "FAIL: rendering $1"; exit 1; }; }

# entries of data/starter-lexicon.tsv: 冰毒 (A1h, block) and "bomb making" (A1d, block)
render zh.png "网上有人在卖冰毒，请注意" --size 32
render en.png "How to do bomb making at home" --size 28
render clean.png "今天天气很好，我们去公园散步" --size 32
render busy.png "警方查获一批冰毒" --bg busy --size 36 --seed 3
render dark.jpg "禁止冰毒交易" --bg dark --size 40 --noise 8
render long.png "这里有人在卖冰毒，请注意\n今天天气很好我们去公园散步\nHow to do bomb making at home\n今天天气很好我们去公园散步" --size 30

# a blocked Chinese word: exit 1, the hit names the entry, the text read is shown
"$HEGUI" check --image zh.png >out 2>err
[ $? -eq 1 ] && ok || bad "zh.png: exit 1 expected: $(cat out err)"
grep -qP "^image\tzh.png\t448x108\t" out && ok || bad "zh.png: image line: $(cat out)"
grep -qP "^ocr\t.*冰毒" out && ok || bad "zh.png: the text read: $(cat out)"
grep -qP "\tA1h\tblock\t[a-z]+\t冰毒\t冰毒$" out && ok || bad "zh.png: hit line names 冰毒: $(cat out)"
grep -qP "^verdict\tblock\t1 reason$" out && ok || bad "zh.png: verdict: $(cat out)"

# the same as JSON: one object, with the OCR text; hits in check's format
"$HEGUI" check --image --json --direction output zh.png >out 2>err
[ $? -eq 1 ] && ok || bad "zh.png --json: exit"
$PY - out <<'PY' || bad "zh.png --json: $(cat out)"
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
assert len(lines) == 1, lines
o = json.loads(lines[0])
assert o["image"] == "zh.png" and o["width"] == 448 and o["height"] == 108, o
assert "冰毒" in o["ocr_text"] and " " not in o["ocr_text"], o["ocr_text"]
assert o["ocr_timed_out"] is False and 0 < o["ocr_confidence"] <= 100, o
assert o["verdict"] == "block" and o["direction"] == "output" and o["count"] == 1, o
h = o["hits"][0]
assert h["entry"] == "冰毒" and h["category"] == "A1h" and h["detector"] == "lexicon", h
assert o["ocr_text"].encode()[h["start"]:h["end"]].decode() == "冰毒" == h["text"], h
PY

# a blocked English phrase
"$HEGUI" check --image en.png >out 2>err
[ $? -eq 1 ] && ok || bad "en.png: exit 1 expected: $(cat out err)"
grep -qP "\tA1d\tblock\t[a-z]+\tbomb making\tbomb making$" out && ok || bad "en.png: hit: $(cat out)"

# a clean image: exit 0, allow, the text still shown
"$HEGUI" check --image clean.png >out 2>err
[ $? -eq 0 ] && ok || bad "clean.png: exit 0 expected: $(cat out err)"
grep -qP "^ocr\t今天天气很好" out && ok || bad "clean.png: text read: $(cat out)"
grep -qP "^verdict\tallow\t0 reasons$" out && ok || bad "clean.png: verdict: $(cat out)"

# the word on a busy background, and light text on dark with noise (JPEG)
"$HEGUI" check --image busy.png >out 2>err
[ $? -eq 1 ] && ok || bad "busy.png: exit 1 expected: $(cat out err)"
grep -qP "\t冰毒\t冰毒$" out && ok || bad "busy.png: hit: $(cat out)"
"$HEGUI" check --image dark.jpg >out 2>err
[ $? -eq 1 ] && ok || bad "dark.jpg: exit 1 expected: $(cat out err)"

# damaged and non-image files: exit 2, a message naming the file
head -c 300 zh.png >truncated.png
"$HEGUI" check --image truncated.png >out 2>err
[ $? -eq 2 ] && ok || bad "truncated.png: exit 2 expected"
grep -q "^hegui: truncated.png: the PNG image cannot be decoded" err && ok || bad "truncated.png: message: $(cat err)"
echo "not an image at all, just text" >text.png
"$HEGUI" check --image text.png >out 2>err
[ $? -eq 2 ] && ok || bad "text.png: exit 2 expected"
grep -q "^hegui: text.png: not an image" err && ok || bad "text.png: message: $(cat err)"
"$HEGUI" check --image nosuch.png >out 2>err
[ $? -eq 2 ] && ok || bad "nosuch.png: exit 2 expected"
grep -q "nosuch.png" err && ok || bad "nosuch.png: message: $(cat err)"

# several images, one engine: one JSON object each, in order; the worst status wins (error > found > none)
"$HEGUI" check --image --json clean.png zh.png >out 2>err
[ $? -eq 1 ] && ok || bad "clean+zh: exit 1 expected"
[ "$($PY -c 'import json,sys; print(" ".join(json.loads(l)["verdict"] for l in open(sys.argv[1])))' out)" = "allow block" ] &&
  ok || bad "clean+zh: verdicts: $(cat out)"
"$HEGUI" check --image clean.png text.png zh.png >out 2>err
[ $? -eq 2 ] && ok || bad "clean+text+zh: exit 2 expected"
[ "$(grep -c '^verdict' out)" -eq 2 ] && ok || bad "clean+text+zh: the good images are still checked: $(cat out)"

# limits: an image over --max-pixels is refused before decoding
"$HEGUI" check --image --max-pixels 1000 zh.png >out 2>err
[ $? -eq 2 ] && ok || bad "--max-pixels: exit 2 expected"
grep -q "448x108 pixels, more than the limit of 1000" err && ok || bad "--max-pixels: message: $(cat err)"

# the deadline: 1 ms cannot read four lines; the image is flagged as cut short and is no pass (exit 2)
"$HEGUI" check --image --json --ocr-deadline 1 long.png >out 2>err
[ $? -eq 2 ] && ok || bad "--ocr-deadline 1: exit 2 expected: $(cat out err)"
grep -q '"ocr_timed_out": true' out && ok || bad "--ocr-deadline 1: flag: $(cat out)"
grep -q "cut short by the deadline" err && ok || bad "--ocr-deadline 1: message: $(cat err)"
# and with time enough it reads every line
"$HEGUI" check --image --json long.png >out 2>err
[ $? -eq 1 ] && ok || bad "long.png: exit 1 expected"
$PY -c 'import json,sys; o=json.loads(open(sys.argv[1]).read()); t=o["ocr_text"]; assert t.count("\n") >= 3 and "bomb making" in t and not o["ocr_timed_out"], o' out ||
  bad "long.png: every line: $(cat out)"

# a language that is not installed, and usage errors
"$HEGUI" check --image --ocr-lang chi_sim+xx_nosuch zh.png >out 2>err
[ $? -eq 2 ] && ok || bad "--ocr-lang: exit 2 expected"
grep -q "apt-get install tesseract-ocr-xx-nosuch" err && ok || bad "--ocr-lang: message: $(cat err)"
"$HEGUI" check --image >out 2>err
[ $? -eq 2 ] && ok || bad "--image without files: exit 2"
"$HEGUI" check --image --count zh.png >out 2>err
[ $? -eq 2 ] && ok || bad "--image --count: exit 2"
"$HEGUI" check --help | grep -q -- "--image" && ok || bad "check --help shows --image"

[ $fail -eq 0 ] && echo "check --image: all passed"
exit $fail
