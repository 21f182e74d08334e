#!/usr/bin/env bash
# test_store.sh HEGUI — `hegui keys` and `hegui audit` as an operator runs them: the key printed last, clear errors,
# a private data directory, keys that expire after whole days and a tab-separated key list; an audit chain written by an independent implementation of docs/store.md (Python) that
# `audit verify` accepts, then tampered with the sqlite3 tool and refused with the right seq; export as JSON Lines
# from which the hashes can be recomputed.
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
D=$T/data

# keys
expect_rc 2 "create without --user" "$HEGUI" keys create --data-dir "$D"
grep -q -- "--user" "$T/err" && ok || bad "missing --user message: $(cat "$T/err")"
expect_rc 2 "bad role" "$HEGUI" keys create --data-dir "$D" --user alice --role root
grep -q "user, reviewer, admin or auditor" "$T/err" && ok || bad "bad role message: $(cat "$T/err")"
expect_rc 2 "create without --data-dir" "$HEGUI" keys create --user alice
[ ! -e "$D" ] && ok || bad "a failed create made the data directory"
expect_rc 0 "create" "$HEGUI" keys create --data-dir "$D" --user alice --role admin
grep -q "created key for user alice (role admin)" "$T/out" && ok || bad "create message: $(cat "$T/out")"
key1=$(tail -n 1 "$T/out")
[[ $key1 =~ ^hg-[A-Za-z0-9_-]{43}$ ]] && ok || bad "key on the last line: $(cat "$T/out")"
[ "$(stat -c %a "$D")" = 700 ] && ok || bad "data directory mode $(stat -c %a "$D")"
[ "$(stat -c %a "$D/hegui.db")" = 600 ] && ok || bad "database mode $(stat -c %a "$D/hegui.db")"
expect_rc 0 "second create, default role" "$HEGUI" keys create --data-dir "$D" --user bob
grep -q "created key for user bob (role user)" "$T/out" && ok || bad "default role: $(cat "$T/out")"
key2=$(tail -n 1 "$T/out")
[ "$key1" != "$key2" ] && ok || bad "two keys alike"
[ "$(sqlite3 "$D/hegui.db" "SELECT COUNT(*) FROM api_keys WHERE key_hash = '$(printf %s "$key2" | sha256sum | cut -c1-64)'")" = 1 ] \
  && ok || bad "key_hash is not the SHA-256 of the key"
grep -qF -- "${key2#hg-}" "$D/hegui.db" && bad "the key itself is in the database" || ok
id2=$(sqlite3 "$D/hegui.db" "SELECT k.id FROM api_keys k JOIN users u ON u.id = k.user_id WHERE u.name = 'bob'")
expect_rc 0 "revoke" "$HEGUI" keys revoke --data-dir "$D" --id "$id2"
[ "$(sqlite3 "$D/hegui.db" "SELECT revoked FROM api_keys WHERE id = $id2")" = 1 ] && ok || bad "revoked flag"
# changes made on the command line are in the audit chain like the API's, the OS user as the actor
me=$(id -un)
[ "$(sqlite3 "$D/hegui.db" "SELECT COUNT(*) FROM audit WHERE actor = 'cli:$me' AND route = 'cli/key-create' AND verdict = 'created'")" = 2 ] \
  && ok || bad "keys create leaves a cli/key-create record: $(sqlite3 "$D/hegui.db" "SELECT actor, route FROM audit")"
sqlite3 "$D/hegui.db" "SELECT detail_json FROM audit WHERE route = 'cli/key-create'" | grep -q '"key_id":2,"role":"user"' \
  && ok || bad "the record has the key's id and role"
sqlite3 "$D/hegui.db" "SELECT detail_json FROM audit" | grep -q 'bob' && bad "a record names the user (not a pseudonym)" || ok
[ "$(sqlite3 "$D/hegui.db" "SELECT detail_json FROM audit WHERE actor = 'cli:$me' AND route = 'cli/key-revoke'")" = "{\"key_id\":$id2}" ] \
  && ok || bad "keys revoke leaves a cli/key-revoke record"
grep -qF -- "${key2#hg-}" "$D/hegui.db" && bad "the key itself is in the chain" || ok
expect_rc 2 "revoke an unknown id" "$HEGUI" keys revoke --data-dir "$D" --id 999
grep -q "999" "$T/err" && ok || bad "unknown id message: $(cat "$T/err")"
expect_rc 2 "revoke without --id" "$HEGUI" keys revoke --data-dir "$D"
expect_rc 2 "revoke in a missing store" "$HEGUI" keys revoke --data-dir "$T/none" --id 1
expect_rc 2 "unknown keys command" "$HEGUI" keys rotate --data-dir "$D"
grep -q "create, revoke, list" "$T/err" && ok || bad "unknown keys command message: $(cat "$T/err")"

# keys create --expires-days: whole days from 1 to 36500, kept as Unix ms, shown in the message
nkeys() { sqlite3 "$D/hegui.db" "SELECT COUNT(*) FROM api_keys"; }
for n in 0 36501 -1 1.5 x ""; do
  expect_rc 2 "--expires-days '$n'" "$HEGUI" keys create --data-dir "$D" --user carol --expires-days "$n"
  grep -q "from 1 to 36500" "$T/err" && ok || bad "--expires-days '$n' message: $(cat "$T/err")"
done
expect_rc 2 "--expires-days without a value" "$HEGUI" keys create --data-dir "$D" --user carol --expires-days
[ "$(nkeys)" = 2 ] && ok || bad "a refused create made a key: $(nkeys) keys"
expect_rc 0 "create expiring in 30 days" "$HEGUI" keys create --data-dir "$D" --user carol --expires-days 30
grep -Eq "^created key for user carol \(role user\), id 3, expires 20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z; " \
  "$T/out" && ok || bad "expiring create message: $(cat "$T/out")"
key3=$(tail -n 1 "$T/out")
[[ $key3 =~ ^hg-[A-Za-z0-9_-]{43}$ ]] && ok || bad "expiring key on the last line: $(cat "$T/out")"
expires3=$(sed -n 's/.*, expires \([^;]*\);.*/\1/p' "$T/out")
span=$(sqlite3 "$D/hegui.db" "SELECT expires_ms - created_ms FROM api_keys WHERE id = 3")
[ "$span" -gt $((30 * 86400000 - 5000)) ] && [ "$span" -le $((30 * 86400000)) ] && ok || bad "30 days: span $span ms"
[ "$(sqlite3 "$D/hegui.db" "SELECT strftime('%Y-%m-%dT%H:%M:%SZ', expires_ms / 1000, 'unixepoch') FROM api_keys WHERE id = 3")" \
  = "$expires3" ] && ok || bad "expiry shown $expires3 is not the stored one"
[ "$(sqlite3 "$D/hegui.db" "SELECT expires_ms FROM api_keys WHERE id IN (1, 2)")" = "$(printf '0\n0')" ] && ok \
  || bad "keys made without --expires-days should never expire"
expect_rc 0 "create expiring in 36500 days" "$HEGUI" keys create --data-dir "$D" --user carol --expires-days 36500 \
  --role auditor
grep -q "id 4, expires 2[0-9]" "$T/out" && ok || bad "a century: $(cat "$T/out")"

# keys list: a header, then one tab-separated line per key, oldest first
expect_rc 0 "list" "$HEGUI" keys list --data-dir "$D"
[ "$(head -n 1 "$T/out")" = "$(printf 'id\tuser\trole\tcreated\texpires\trevoked')" ] && ok || bad "list header: $(head -n 1 "$T/out")"
[ "$(wc -l <"$T/out")" = 5 ] && ok || bad "list lines: $(cat "$T/out")"
[ "$(awk -F '\t' 'NF != 6' "$T/out" | wc -l)" = 0 ] && ok || bad "list fields: $(cat "$T/out")"
[ "$(cut -f 1-3,5,6 "$T/out" | tail -n +2 | sed -n 1,3p)" = "$(printf '1\talice\tadmin\tnever\tno\n2\tbob\tuser\tnever\tyes\n3\tcarol\tuser\t%s\tno' "$expires3")" ] \
  && ok || bad "list rows: $(cat "$T/out")"
cut -f 4 "$T/out" | tail -n +2 | grep -Evq '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' \
  && bad "created column: $(cut -f 4 "$T/out")" || ok
[ "$(sed -n 5p "$T/out" | cut -f 1,3)" = "$(printf '4\tauditor')" ] && ok || bad "list row 4: $(sed -n 5p "$T/out")"
grep -qF -- "${key3#hg-}" "$T/out" && bad "the list shows a key" || ok
expect_rc 0 "list one user" "$HEGUI" keys list --data-dir "$D" --user carol
[ "$(tail -n +2 "$T/out" | cut -f 1 | tr '\n' ' ')" = "3 4 " ] && ok || bad "list --user carol: $(cat "$T/out")"
expect_rc 2 "list an unknown user" "$HEGUI" keys list --data-dir "$D" --user nobody
grep -q "no user is named 'nobody'" "$T/err" && ok || bad "unknown user message: $(cat "$T/err")"
[ ! -s "$T/out" ] && ok || bad "an unknown user printed: $(cat "$T/out")"
expect_rc 2 "list a missing store" "$HEGUI" keys list --data-dir "$T/none"
[ ! -e "$T/none" ] && ok || bad "list created a data directory"
expect_rc 2 "list an unknown argument" "$HEGUI" keys list --data-dir "$D" --role admin
expect_rc 2 "list --user without a name" "$HEGUI" keys list --data-dir "$D" --user

# audit: an empty chain holds; a missing store is an error and is not created. The chain cases below write their
# own records from seq 1: the records the key commands made (checked above) are removed first.
sqlite3 "$D/hegui.db" "DELETE FROM audit"
expect_rc 0 "verify empty" "$HEGUI" audit verify --data-dir "$D"
[ "$(cat "$T/out")" = "audit chain holds: 0 records" ] && ok || bad "empty verify: $(cat "$T/out")"
expect_rc 2 "verify a missing store" "$HEGUI" audit verify --data-dir "$T/none"
[ ! -e "$T/none" ] && ok || bad "verify created a data directory"

# 50 records written by a second implementation of the documented serialization
python3 - "$T/insert.sql" <<'PY'
import hashlib, sys

def field(v):
    if v is None:
        return b"-"
    b = v if isinstance(v, bytes) else str(v).encode()
    return str(len(b)).encode() + b":" + b

def q(v):
    return "NULL" if v is None else "'" + str(v).replace("'", "''") + "'"

prev = "0" * 64
with open(sys.argv[1], "w", encoding="utf-8") as f:
    f.write("BEGIN;\n")
    for seq in range(1, 51):
        rec = [seq, 1700000000000 + seq, "u%d" % (seq % 3), "/v1/chat/completions",
               "block" if seq % 7 == 0 else "allow", '{"hits": [%d]}' % seq,
               hashlib.sha256(b"in%d" % seq).hexdigest(), None if seq % 2 else hashlib.sha256(b"o").hexdigest(),
               None if seq % 5 == 0 else "第%d条 'quoted' 文本\n" % seq, prev]
        h = hashlib.sha256(b"hegui audit v1\n" + b"".join(field(v) for v in rec)).hexdigest()
        f.write("INSERT INTO audit (seq, time_ms, actor, route, verdict, detail_json, input_sha256, output_sha256, "
                "text, prev_hash, hash) VALUES (%s);\n" % ", ".join(q(v) for v in rec + [h]))
        prev = h
    f.write("COMMIT;\n")
PY
sqlite3 "$D/hegui.db" <"$T/insert.sql" && ok || bad "inserting the Python chain"
cp "$D/hegui.db" "$T/good.db"
expect_rc 0 "verify good" "$HEGUI" audit verify --data-dir "$D"
[ "$(cat "$T/out")" = "audit chain holds: 50 records" ] && ok || bad "good verify: $(cat "$T/out")"
expect_rc 0 "verify good --json" "$HEGUI" audit verify --data-dir "$D" --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d=={"holds":True,"records":50,"first_bad":None,"problem":None}, d' \
  "$T/out" && ok || bad "json good: $(cat "$T/out")"

# export: JSON Lines, every field, hashes recomputable from the lines alone
expect_rc 0 "export" "$HEGUI" audit export --data-dir "$D"
[ "$(wc -l <"$T/out")" = 50 ] && ok || bad "export lines: $(wc -l <"$T/out")"
python3 - "$T/out" <<'PY' && ok || bad "export content: $(head -c 600 "$T/out")"
import hashlib, json, sys
names = ["seq", "time_ms", "actor", "route", "verdict", "detail_json", "input_sha256", "output_sha256", "text",
         "prev_hash"]
prev = "0" * 64
for i, line in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    r = json.loads(line)
    assert list(r) == names + ["hash", "format", "text_sha256"], list(r)
    assert r["seq"] == i and r["prev_hash"] == prev and r["format"] == 1
    ser = b"hegui audit v1\n"
    for n in names:
        v = r[n]
        ser += b"-" if v is None else (lambda b: str(len(b)).encode() + b":" + b)(str(v).encode())
    assert hashlib.sha256(ser).hexdigest() == r["hash"], i
    prev = r["hash"]
assert i == 50
PY
expect_rc 0 "export --from" "$HEGUI" audit export --data-dir "$D" --from 48
[ "$(wc -l <"$T/out")" = 3 ] && head -c 12 "$T/out" | grep -q '"seq": 48' && ok || bad "export --from: $(cat "$T/out")"
expect_rc 2 "export --from junk" "$HEGUI" audit export --data-dir "$D" --from x

# tampering with the sqlite3 tool
sqlite3 "$D/hegui.db" "UPDATE audit SET verdict = 'allow' WHERE seq = 14"
expect_rc 1 "verify changed" "$HEGUI" audit verify --data-dir "$D"
grep -q "record 14: changed" "$T/out" && ok || bad "changed report: $(cat "$T/out")"
expect_rc 1 "verify changed --json" "$HEGUI" audit verify --data-dir "$D" --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert not d["holds"] and d["first_bad"]==14 and d["problem"].startswith("changed"), d' \
  "$T/out" && ok || bad "json changed: $(cat "$T/out")"
cp "$T/good.db" "$D/hegui.db"
sqlite3 "$D/hegui.db" "DELETE FROM audit WHERE seq = 30"
expect_rc 1 "verify deleted" "$HEGUI" audit verify --data-dir "$D"
grep -q "record 31: missing before" "$T/out" && ok || bad "deleted report: $(cat "$T/out")"
cp "$T/good.db" "$D/hegui.db"
sqlite3 "$D/hegui.db" "UPDATE audit SET text = NULL WHERE seq = 3"
expect_rc 1 "verify text removed" "$HEGUI" audit verify --data-dir "$D"
grep -q "record 3: changed" "$T/out" && ok || bad "text removed report: $(cat "$T/out")"
cp "$T/good.db" "$D/hegui.db"
sqlite3 "$D/hegui.db" "DELETE FROM audit WHERE seq = 50"
expect_rc 0 "the known limit: the newest record removed" "$HEGUI" audit verify --data-dir "$D"
[ "$(cat "$T/out")" = "audit chain holds: 49 records" ] && ok || bad "known limit: $(cat "$T/out")"
printf 'not a database at all, but long enough to be looked at by sqlite .........................' >"$D/hegui.db"
rm -f "$D/hegui.db-wal" "$D/hegui.db-shm"
expect_rc 2 "verify a file that is not a database" "$HEGUI" audit verify --data-dir "$D"
grep -q "hegui.db" "$T/err" && ok || bad "not-a-database message: $(cat "$T/err")"
expect_rc 2 "unknown audit command" "$HEGUI" audit append --data-dir "$D"

echo "store: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
