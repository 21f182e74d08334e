#!/usr/bin/env bash
# examples/tour.sh BUILD_DIR — the README's first command: starts the sample model server and `hegui serve` in
# front of it on the embedded defaults (SQLite store, starter lexicon), shows what the gateway does with a
# standard OpenAI client call (curl), then the offline tools. When run from a terminal it keeps the gateway
# running at the end until Ctrl-C.
set -u
B=${1:-build}
H=$B/hegui
U=$B/examples/sample_upstream
DATA=${HEGUI_TOUR_DATA:-$(mktemp -d /tmp/hegui-tour.XXXXXX)}
T=$(mktemp -d)
cleanup() { kill "$GW" "$UP" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT INT TERM
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say() { printf '%s\n' "$*"; }
field() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

"$U" --listen 127.0.0.1:0 --quiet >"$T/up.out" 2>/dev/null &
UP=$!
for _ in $(seq 50); do grep -q listening "$T/up.out" && break; sleep 0.1; done
UPORT=$(grep -o '127.0.0.1:[0-9]*' "$T/up.out" | cut -d: -f2)
KEY=$("$H" keys create --data-dir "$DATA" --user tour-user | tail -1)
PORT=${HEGUI_TOUR_PORT:-8080}
"$H" serve --listen "127.0.0.1:$PORT" --upstream "http://127.0.0.1:$UPORT" --data-dir "$DATA" >"$T/gw.out" 2>"$T/gw.err" &
GW=$!
for _ in $(seq 50); do grep -q "serving on" "$T/gw.out" && break; sleep 0.1; done
if ! grep -q "serving on" "$T/gw.out"; then
  say "port $PORT is busy; trying a free one"
  "$H" serve --listen 127.0.0.1:0 --upstream "http://127.0.0.1:$UPORT" --data-dir "$DATA" >"$T/gw.out" 2>"$T/gw.err" &
  GW=$!
  for _ in $(seq 50); do grep -q "serving on" "$T/gw.out" && break; sleep 0.1; done
fi
cat "$T/gw.out"
PORT=$(grep -o '127.0.0.1:[0-9]*' "$T/gw.out" | head -1 | cut -d: -f2)
URL=http://127.0.0.1:$PORT/v1/chat/completions
ask() { curl -sS "$URL" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -d "$1"; }

step "1. An ordinary question passes through; the answer carries the explicit notice and the signed label"
ask '{"model":"sample-1","messages":[{"role":"user","content":"你好"}]}' >"$T/r1.json"
say "answer:        $(field 'd["choices"][0]["message"]["content"]' <"$T/r1.json")"
say "aigc label:    $(field 'json.dumps(d["aigc"])' <"$T/r1.json")"
"$H" label verify-text --data-dir "$DATA" --response "$T/r1.json"

step "2. A prohibited prompt never reaches the model: the refusal (代答), finish_reason content_filter"
ask '{"model":"sample-1","messages":[{"role":"user","content":"哪里能买到冰-毒？"}]}' >"$T/r2.json"
say "answer:        $(field 'd["choices"][0]["message"]["content"]' <"$T/r2.json")"
say "finish_reason: $(field 'd["choices"][0]["finish_reason"]' <"$T/r2.json")"

step "3. A discriminatory prompt with no listed word: the learned classifier refuses it and says why"
ask '{"model":"sample-1","messages":[{"role":"user","content":"女人天生就不适合当领导，只配在家带孩子"}]}' >"$T/r3c.json"
say "answer:        $(field 'd["choices"][0]["message"]["content"].split(chr(10))[0]' <"$T/r3c.json")"
say "the reason:    $("$H" audit export --data-dir "$DATA" | tail -1 | field '"; ".join("%s %s %s score %.2f" % (h["detector"], h["entry"], h["category"], h["score"]) for h in json.loads(d["detail_json"])["input_hits"] if h["detector"] == "classifier")')"
printf 'classifier: {model: none}\n' >"$T/words-only.yaml"
say "words alone:   $("$H" check --policy "$T/words-only.yaml" "女人天生就不适合当领导，只配在家带孩子" | tail -1)   (no listed word)"

step "4. A phone number is replaced before it leaves and restored in the answer"
ask '{"model":"sample-1","messages":[{"role":"user","content":"echo: 好的，我会打 13812345678 联系你"}]}' >"$T/r3.json"
say "the user sees: $(field 'd["choices"][0]["message"]["content"].split(chr(10))[0]' <"$T/r3.json")"
say "the model saw: $("$H" audit export --data-dir "$DATA" | tail -1 | field 'json.loads(d["text"])["input"]')"

step "5. A streamed answer that turns to a prohibited word is cut there: nothing of the word reaches the client"
curl -sSN "$URL" -H "Authorization: Bearer $KEY" \
  -d '{"model":"sample-1","stream":true,"messages":[{"role":"user","content":"讲一个危险的故事"}]}' >"$T/s4.txt"
python3 - "$T/s4.txt" <<'PY'
import json, sys
text, finish = "", None
for block in open(sys.argv[1], encoding="utf-8").read().split("\n\n"):
    if block.startswith("data: {"):
        c = json.loads(block[6:])["choices"][0]
        text += (c.get("delta") or {}).get("content") or ""
        finish = c.get("finish_reason") or finish
print("streamed text: " + text.replace("\n", " / "))
print("finish_reason: %s   (the model went on to say 冰毒: %s)" % (finish, "冰" in text))
PY

step "6. Every request left a record in a hash chain; changing any record is detected"
"$H" audit verify --data-dir "$DATA"
say "$(curl -s "http://127.0.0.1:$PORT/metrics" | grep -E '^hegui_verdicts_total')"

step "7. The provider's duties over HTTP: a public complaint, the reviewers' queue, the chain verified by an auditor"
ADMIN=$("$H" keys create --data-dir "$DATA" --user tour-admin --role admin | tail -1)
AUDITOR=$("$H" keys create --data-dir "$DATA" --user tour-auditor --role auditor | tail -1)
say "complaint:     $(curl -sS "http://127.0.0.1:$PORT/compliance/complaints" \
  -d '{"type":"prohibited_content","produce_id":"'"$(field 'd["id"]' <"$T/r1.json")"'","contact":"reader@example.com"}')"
say "queue:         $(curl -sS -H "Authorization: Bearer $ADMIN" "http://127.0.0.1:$PORT/admin/complaints" |
  field '", ".join("#%d %s %s" % (c["id"], c["type"], c["status"]) for c in d["complaints"])')"
say "audit verify:  $(curl -sS -H "Authorization: Bearer $AUDITOR" "http://127.0.0.1:$PORT/admin/audit/verify")"
say "real names, minors mode, takedowns, strikes, key expiry, policy upload: docs/workflows.md"

step "8. Images and sound: moderated (text in the image read by OCR), labelled on the picture and in the file"
curl -sS "http://127.0.0.1:$PORT/v1/images/generations" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d '{"model":"sample-image","prompt":"一张写着“早上好”的海报 __text:e697a9e4b88ae5a5bd__","size":"512x384","response_format":"b64_json"}' \
  -D "$T/img.h" >"$T/img.json"
python3 -c 'import base64,json,sys; open(sys.argv[2],"wb").write(base64.b64decode(json.load(open(sys.argv[1]))["data"][0]["b64_json"]))' \
  "$T/img.json" "$DATA/tour-image.png" 2>/dev/null && {
  say "image:         $DATA/tour-image.png (the label 'AI生成' is drawn in its bottom-right corner)"
  say "its file label: $("$H" label read "$DATA/tour-image.png" 2>&1 | head -1)"
}
say "record:        $(grep -i '^x-hegui-produce-id' "$T/img.h" | tr -d '\r')"
curl -sS "http://127.0.0.1:$PORT/v1/images/generations" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d '{"prompt":"一张海报 __text:e587bae594aee586b0e6af92__"}' | field '"refused:       " + d["error"]["code"] + " (OCR read 出售冰毒 in the generated image)"'
curl -sS "http://127.0.0.1:$PORT/v1/audio/speech" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d '{"model":"sample-tts","input":"你好，世界","response_format":"wav"}' -o "$DATA/tour-speech.wav"
say "sound:         $DATA/tour-speech.wav ($(python3 -c 'import wave,sys; w=wave.open(sys.argv[1]); print("%.1f s: the spoken label 本内容由人工智能生成, then the model'"'"'s tones" % (w.getnframes()/w.getframerate()))' "$DATA/tour-speech.wav" 2>/dev/null))"

step "9. The same engine offline: hegui check and hegui pii"
"$H" check "法 * 轮 _ 功、臺獨、ＣＯＣＡＩＮＥ"
"$H" check "$(printf '卖冰\n毒，c\xd0\xbecaine（Cyrillic о），电话13812345678')"   # a line break is noise; homoglyphs fold
"$H" pii scan "身份证11010519491231002X，手机＋８６ １３８－１２３４－５６７８"
"$H" pii redact --operator placeholder "请打13812345678，邮箱zhang.san@example.com" 2>/dev/null

say ""
say "data (SQLite store, label and pseudonym keys): $DATA"
if [ -t 0 ] && [ -t 1 ]; then
  say "The gateway keeps serving on http://127.0.0.1:$PORT/v1 with key $KEY — press Ctrl-C to stop."
  wait "$GW"
else
  say "Try it: hegui serve --listen 127.0.0.1:8080 --upstream URL_OF_YOUR_MODEL_SERVER; make test runs every test."
fi
