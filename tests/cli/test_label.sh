#!/usr/bin/env bash
# test_label.sh HEGUI — `hegui label show-key` and `hegui label verify-text` as a user runs them. The labels are
# signed here by an independent Ed25519 (Python's cryptography) over the message form documented in
# src/label/label.c, with the key hegui created, so the test also pins the signed format and the key files' layout.
set -u
HEGUI=$1
python3 -c 'import cryptography.hazmat.primitives.asymmetric.ed25519' 2>/dev/null || {
  echo "skipped: python3-cryptography is not installed"
  exit 77
}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
pass=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
run() { "$@" >"$T/out" 2>"$T/err"; echo $?; }

# keys: created on first use, the same afterwards, label.key private
[ "$(run "$HEGUI" label show-key --data-dir "$T/data")" = 0 ] && ok || bad "show-key: $(cat "$T/err")"
pub=$(cat "$T/out")
[[ $pub =~ ^[0-9a-f]{64}$ ]] && ok || bad "show-key output '$pub'"
[ "$(od -An -tx1 -v "$T/data/label.pub" | tr -d ' \n')" = "$pub" ] && ok || bad "label.pub differs from show-key"
[ "$("$HEGUI" label show-key --data-dir "$T/data")" = "$pub" ] && ok || bad "second show-key"
[ "$(stat -c %a "$T/data/label.key")" = 600 ] && ok || bad "label.key mode $(stat -c %a "$T/data/label.key")"
echo "$pub" >"$T/pub.hex"

# a chat response, a completions response and a bare label, signed outside hegui
python3 - "$T" <<'PY' || bad "signing in python"
import base64, hashlib, json, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
t = sys.argv[1]
sk = open(t + "/data/label.key", "rb").read()
assert len(sk) == 64
key = Ed25519PrivateKey.from_private_bytes(sk[:32])  # libsodium's secret key is seed || public key
assert key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw) == sk[32:] == open(t + "/data/label.pub", "rb").read()

def label(producer, pid, text):
    digest = hashlib.sha256(text.encode()).hexdigest()
    msg = "\n".join(["hegui-aigc-v1", "1", producer, pid, producer, pid, digest]).encode()
    sig = base64.urlsafe_b64encode(key.sign(msg)).rstrip(b"=").decode()
    return {"Label": "1", "ContentProducer": producer, "ProduceID": pid, "ReservedCode1": sig,
            "ContentPropagator": producer, "PropagateID": pid, "ReservedCode2": ""}

text = "北京是中国的首都。\n\n本内容由人工智能生成"
chat = {"id": "chatcmpl-7", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "aigc": label("hegui", "chatcmpl-7", text)}
json.dump(chat, open(t + "/chat.json", "w"), ensure_ascii=False)
comp = {"id": "cmpl-8", "object": "text_completion",
        "choices": [{"index": 0, "text": "AI生成的诗", "finish_reason": "stop"}], "aigc": label("corp", "cmpl-8", "AI生成的诗")}
json.dump(comp, open(t + "/comp.json", "w"))
json.dump({"AIGC": label("hegui", "id-9", text)}, open(t + "/label.json", "w"))
open(t + "/text.txt", "w").write(text)
chat["choices"][0]["message"]["content"] = text.replace("北京", "上海")
json.dump(chat, open(t + "/changed.json", "w"), ensure_ascii=False)
del chat["aigc"]
json.dump(chat, open(t + "/unlabelled.json", "w"), ensure_ascii=False)
PY

V=("$HEGUI" label verify-text)
[ "$(run "${V[@]}" --data-dir "$T/data" --response "$T/chat.json")" = 0 ] && ok || bad "chat: $(cat "$T/out" "$T/err")"
grep -q "^label verified: ContentProducer=hegui ProduceID=chatcmpl-7, " "$T/out" && ok || bad "message: $(cat "$T/out")"
[ "$(run "${V[@]}" --public-key "$T/pub.hex" --response "$T/comp.json")" = 0 ] && ok || bad "completions: $(cat "$T/out" "$T/err")"
[ "$(run "${V[@]}" --public-key "$T/data/label.pub" --label "$(cat "$T/label.json")" --file "$T/text.txt")" = 0 ] &&
  ok || bad "label + file: $(cat "$T/out" "$T/err")"
[ "$(run "${V[@]}" --data-dir "$T/data" --label "$(cat "$T/label.json")" --text "$(cat "$T/text.txt")")" = 0 ] &&
  ok || bad "label + text: $(cat "$T/out" "$T/err")"

# what does not verify: exit 1 with the reason
[ "$(run "${V[@]}" --data-dir "$T/data" --response "$T/changed.json")" = 1 ] && ok || bad "changed text accepted"
grep -q "^label does NOT verify: the signature does not match" "$T/out" && ok || bad "reason: $(cat "$T/out")"
[ "$(run "${V[@]}" --data-dir "$T/data" --label "$(cat "$T/label.json")" --text "other text")" = 1 ] && ok ||
  bad "other text accepted"
[ "$(run "${V[@]}" --data-dir "$T/data" --response "$T/unlabelled.json")" = 1 ] && ok || bad "no label accepted"
grep -q "no AIGC label" "$T/out" && ok || bad "no-label reason: $(cat "$T/out")"
"$HEGUI" label show-key --data-dir "$T/other" >"$T/other.hex"
[ "$(run "${V[@]}" --public-key "$T/other.hex" --response "$T/chat.json")" = 1 ] && ok || bad "other key accepted"

# errors: exit 2, and verifying never creates keys
[ "$(run "${V[@]}" --data-dir "$T/none" --response "$T/chat.json")" = 2 ] && ok || bad "missing key dir"
[ ! -e "$T/none" ] && ok || bad "verify-text created $T/none"
echo "not json" >"$T/bad.json"
[ "$(run "${V[@]}" --data-dir "$T/data" --response "$T/bad.json")" = 2 ] && ok || bad "bad response file"
[ "$(run "${V[@]}" --data-dir "$T/data" --response "$T/chat.json" --text x)" = 2 ] && ok || bad "both inputs"
[ "$(run "${V[@]}" --response "$T/chat.json")" = 2 ] && ok || bad "no key"
[ "$(run "${V[@]}" --data-dir "$T/data" --label x)" = 2 ] && ok || bad "label without text"
[ "$(run "$HEGUI" label show-key)" = 2 ] && ok || bad "show-key without dir"
[ "$(run "$HEGUI" label frobnicate)" = 2 ] && ok || bad "unknown subcommand"

echo "label: $pass passed, $fails failed"
[ "$fails" = 0 ]
