#!/usr/bin/env bash
# test_pii.sh HEGUI — `hegui pii scan|redact|unseal` as a user runs them: exit statuses, JSON, streaming redaction
# of a large file, the operators with keys from a file or the environment, and clear errors.
set -u
HEGUI=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
pass=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
run() { "$@" >"$T/out" 2>"$T/err"; echo $?; }

[ "$(run "$HEGUI" pii scan "今天天气很好")" = 0 ] && ok || bad "clean text"
[ "$(run "$HEGUI" pii scan "手机13812345678")" = 1 ] && ok || bad "phone found"
grep -qP "^6-17\tmobile\t" "$T/out" && ok || bad "hit line: $(cat "$T/out")"
[ "$(run "$HEGUI" pii scan --json "身份证11010519491231002X，邮箱a@b.com")" = 1 ] && ok || bad "json"
python3 - "$T/out" <<'PY' && ok || bad "json content: $(cat "$T/out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert [h["type"] for h in d["hits"]] == ["cn_id", "email"], d
assert d["hits"][0]["text"] == "11010519491231002X" and d["count"] == 2
PY
[ "$(run "$HEGUI" pii scan --types email "手机13812345678 a@b.com")" = 1 ] && ok || bad "types filter"
[ "$(wc -l <"$T/out")" = 1 ] && grep -q email "$T/out" && ok || bad "only email: $(cat "$T/out")"
[ "$(run "$HEGUI" pii scan --types nonsense x)" = 2 ] && ok || bad "bad type"
printf 'x \xff' >"$T/bad.txt"
[ "$(run "$HEGUI" pii scan --file "$T/bad.txt")" = 2 ] && ok || bad "invalid utf-8"
grep -q "invalid UTF-8 at byte offset 2" "$T/err" && ok || bad "utf-8 message: $(cat "$T/err")"

# redaction
[ "$(run "$HEGUI" pii redact "电话138-1234-5678，谢谢")" = 1 ] && ok || bad "redact"
[ "$(cat "$T/out")" = "电话***-****-5678，谢谢" ] && ok || bad "mask: $(cat "$T/out")"
[ "$(run "$HEGUI" pii redact --operator placeholder "打13812345678或13812345678")" = 1 ] && ok || bad "placeholder"
[ "$(cat "$T/out")" = "打<PHONE_1>或<PHONE_1>" ] && ok || bad "placeholder text: $(cat "$T/out")"
[ "$(run "$HEGUI" pii redact --operator hash "13812345678")" = 2 ] && ok || bad "hash without key accepted"
grep -q "needs a key" "$T/err" && ok || bad "key message"
head -c 32 /dev/urandom >"$T/key"
[ "$(run "$HEGUI" pii redact --operator seal --key-file "$T/key" "身份证11010519491231002X")" = 1 ] && ok || bad "seal"
token=$(grep -o '<ID_NUMBER\$[^>]*>' "$T/out")
[ -n "$token" ] && ok || bad "sealed token: $(cat "$T/out")"
[ "$(run "$HEGUI" pii unseal --key-file "$T/key" "$token")" = 0 ] && ok || bad "unseal"
[ "$(cat "$T/out")" = 11010519491231002X ] && ok || bad "unsealed value: $(cat "$T/out")"
head -c 32 /dev/urandom >"$T/key2"
[ "$(run "$HEGUI" pii unseal --key-file "$T/key2" "$token")" = 2 ] && ok || bad "unseal with the wrong key"
export HEGUI_PII_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
[ "$(run "$HEGUI" pii redact --operator hash "a 13812345678 b")" = 1 ] && ok || bad "hash with env key"
grep -qE '^a <PHONE#[0-9a-f]{32}> b$' "$T/out" && ok || bad "hash text: $(cat "$T/out")"
[ "$(export HEGUI_PII_KEY=zz; run "$HEGUI" pii redact --operator hash x)" = 2 ] && ok || bad "bad env key accepted"
unset HEGUI_PII_KEY

# a large file is redacted in a stream: same length of lines, no number left
python3 - "$T/big.txt" <<'PY'
import sys
with open(sys.argv[1], "w", encoding="utf-8") as f:
    for i in range(40000):
        f.write("第%d行：客户手机 138%08d，邮箱 user%d@example.com，无其他信息。\n" % (i, i, i))
PY
[ "$(run "$HEGUI" pii redact --operator drop --file "$T/big.txt")" = 1 ] && ok || bad "large redact"
[ "$(wc -l <"$T/out")" = 40000 ] && ok || bad "lines kept: $(wc -l <"$T/out")"
grep -qE '138[0-9]{8}|@example' "$T/out" && bad "values left in the output" || ok
[ "$(run "$HEGUI" pii scan --count --file "$T/big.txt")" = 1 ] && [ "$(cat "$T/out")" = 80000 ] && ok || bad "count: $(cat "$T/out")"

echo "pii: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
