#!/usr/bin/env bash
# test_dsar.sh HEGUI — `hegui dsar export|delete` and `hegui purge` end to end: keys made with `hegui keys create`,
# audit records written by an independent implementation of the format-2 chain (Python, docs/store.md) with the
# pseudonyms the gateway would compute, then an export, a deletion that leaves no trace of the name and a chain that
# holds, and a purge of old text. Errors: missing options, a missing store (not created), a missing pseudonym key.
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

# errors before there is a store
expect_rc 2 "export without a store" "$HEGUI" dsar export --data-dir "$D" --user alice
grep -q "no store at" "$T/err" && ok || bad "missing store message: $(cat "$T/err")"
[ ! -e "$D/hegui.db" ] && ok || bad "a failed export made a database"
expect_rc 2 "purge without a store" "$HEGUI" purge --data-dir "$D"
expect_rc 2 "dsar without a command" "$HEGUI" dsar
expect_rc 2 "dsar unknown command" "$HEGUI" dsar rename --data-dir "$D" --user alice

expect_rc 0 "key 1" "$HEGUI" keys create --data-dir "$D" --user alice
expect_rc 0 "key 2" "$HEGUI" keys create --data-dir "$D" --user alice --role reviewer
expect_rc 0 "key 3" "$HEGUI" keys create --data-dir "$D" --user bob

expect_rc 2 "export without --user" "$HEGUI" dsar export --data-dir "$D"
grep -q -- "--user" "$T/err" && ok || bad "missing --user message: $(cat "$T/err")"
expect_rc 2 "export without a pseudonym key" "$HEGUI" dsar export --data-dir "$D" --user alice
grep -q "pseudonym.key" "$T/err" && ok || bad "missing key message: $(cat "$T/err")"
head -c 16 /dev/urandom >"$D/pseudonym.key"
expect_rc 2 "a short pseudonym key" "$HEGUI" dsar export --data-dir "$D" --user alice
grep -q "exactly 32 bytes" "$T/err" && ok || bad "short key message: $(cat "$T/err")"
head -c 32 /dev/urandom >"$D/pseudonym.key"

# records as the gateway writes them (format 2), alice's and bob's, two of them older than 180 days
python3 - "$D/pseudonym.key" "$T/insert.sql" "$T/pseudonyms" <<'PY'
import hashlib, sys, time
key = open(sys.argv[1], "rb").read()
p = {u: hashlib.blake2b(u.encode(), digest_size=16, key=key).hexdigest() for u in ("alice", "bob")}
open(sys.argv[3], "w").write("%s %s\n" % (p["alice"], p["bob"]))

def field(v):
    if v is None:
        return b"-"
    b = v if isinstance(v, bytes) else str(v).encode()
    return str(len(b)).encode() + b":" + b

def q(v):
    return "NULL" if v is None else "'" + str(v).replace("'", "''") + "'"

now = int(time.time() * 1000)
day = 86400000
rows = [("alice", now - 200 * day, "alice's old words"), ("bob", now - 190 * day, "bob's old words"),
        ("alice", now - 5 * day, "alice's recent words"), ("bob", now - 4 * day, "bob's recent words"),
        ("alice", now - 3 * day, None), ("bob", now - 2 * day, "bob again")]
prev = "0" * 64
with open(sys.argv[2], "w", encoding="utf-8") as f:
    f.write("BEGIN;\n")
    for seq, (user, t, text) in enumerate(rows, 1):
        digest = None if text is None else hashlib.sha256(text.encode()).hexdigest()
        rec = [seq, t, p[user], "/v1/chat/completions", "allow", '{"hits":[]}', None, None, digest, prev]
        h = hashlib.sha256(b"hegui audit v2\n" + b"".join(field(v) for v in rec)).hexdigest()
        f.write("INSERT INTO audit (seq, time_ms, actor, route, verdict, detail_json, input_sha256, output_sha256, "
                "text, prev_hash, hash, format, text_sha256) VALUES (%s);\n"
                % ", ".join(q(v) for v in rec[:8] + [text, prev, h, 2, digest]))
        prev = h
    f.write("COMMIT;\n")
PY
read -r PA PB <"$T/pseudonyms"
# the chain below is written from seq 1; the records `keys create` made (cli/key-create) are removed first
[ "$(sqlite3 "$D/hegui.db" "SELECT COUNT(*) FROM audit WHERE route = 'cli/key-create' AND actor = 'cli:$(id -un)'")" -ge 2 ] \
  && ok || bad "keys create left its records"
sqlite3 "$D/hegui.db" "DELETE FROM audit"
sqlite3 "$D/hegui.db" <"$T/insert.sql" && ok || bad "inserting the Python chain"
expect_rc 0 "verify the Python format-2 chain" "$HEGUI" audit verify --data-dir "$D"
[ "$(cat "$T/out")" = "audit chain holds: 6 records" ] && ok || bad "verify: $(cat "$T/out")"

# export
expect_rc 0 "export" "$HEGUI" dsar export --data-dir "$D" --user alice
python3 - "$T/out" "$PA" <<'PY' && ok || bad "export content: $(head -c 800 "$T/out")"
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
assert d["user"] == "alice" and d["pseudonym"] == sys.argv[2], d
assert d["user_row"]["name"] == "alice"
assert [k["role"] for k in d["keys"]] == ["user", "reviewer"] and all("hash" not in k for k in d["keys"]), d["keys"]
assert [r["seq"] for r in d["audit"]] == [1, 3, 5], d["audit"]
assert all(r["actor"] == sys.argv[2] for r in d["audit"])
assert d["audit"][0]["text"] == "alice's old words" and d["audit"][0]["format"] == 2
assert "bob" not in open(sys.argv[1], encoding="utf-8").read()
PY

# delete
expect_rc 0 "delete" "$HEGUI" dsar delete --data-dir "$D" --user alice
[ "$(cat "$T/out")" = "deleted; receipt is audit record 8" ] && ok || bad "delete output: $(cat "$T/out")"
expect_rc 0 "verify after delete" "$HEGUI" audit verify --data-dir "$D"
[ "$(cat "$T/out")" = "audit chain holds: 9 records" ] && ok || bad "verify after delete: $(cat "$T/out")"
[ "$(sqlite3 "$D/hegui.db" "SELECT actor || ' ' || route || ' ' || detail_json FROM audit WHERE seq = 9")" = \
  "cli:$(id -un) cli/dsar-delete {\"pseudonym\":\"$PA\",\"receipt_seq\":8}" ] && ok \
  || bad "the deletion is recorded with its operator: $(sqlite3 "$D/hegui.db" "SELECT * FROM audit WHERE seq = 9")"
sqlite3 "$D/hegui.db" .dump >"$T/dump"
! grep -q alice "$T/dump" && ok || bad "the dump still names alice: $(grep alice "$T/dump" | head -3)"
[ "$(sqlite3 "$D/hegui.db" "SELECT COUNT(*) FROM audit WHERE actor = '$PA' AND text IS NULL")" = 3 ] && ok \
  || bad "alice's text not erased"
[ "$(sqlite3 "$D/hegui.db" "SELECT actor || ' ' || route FROM audit WHERE seq = 7")" = "cli:$(id -un) cli/dsar-export" ] \
  && ok || bad "the export is recorded with its operator"
[ "$(sqlite3 "$D/hegui.db" "SELECT actor || ' ' || route FROM audit WHERE seq = 8")" = "system:dsar dsar/delete" ] \
  && ok || bad "receipt: $(sqlite3 "$D/hegui.db" "SELECT * FROM audit WHERE seq = 8")"
[ "$(sqlite3 "$D/hegui.db" "SELECT COUNT(*) FROM api_keys")" = 1 ] && ok || bad "bob's key should stay"

# purge
expect_rc 2 "purge bad --text-days" "$HEGUI" purge --data-dir "$D" --text-days x
expect_rc 0 "purge" "$HEGUI" purge --data-dir "$D"
grep -q "^audit text erased: 1$" "$T/out" && ok || bad "purge counts: $(cat "$T/out")"
grep -q "^receipt is audit record 10$" "$T/out" && ok || bad "purge receipt: $(cat "$T/out")"
[ "$(sqlite3 "$D/hegui.db" "SELECT COUNT(*) FROM audit WHERE text IS NOT NULL")" = 2 ] && ok \
  || bad "recent text should stay: $(sqlite3 "$D/hegui.db" "SELECT seq, text FROM audit")"
expect_rc 0 "verify after purge" "$HEGUI" audit verify --data-dir "$D"
[ "$(cat "$T/out")" = "audit chain holds: 11 records" ] && ok || bad "verify after purge: $(cat "$T/out")"
[ "$(sqlite3 "$D/hegui.db" "SELECT actor || ' ' || route FROM audit WHERE seq = 11")" = "cli:$(id -un) cli/purge" ] && ok \
  || bad "the purge is recorded with its operator"
expect_rc 0 "audit export after purge" "$HEGUI" audit export --data-dir "$D"
python3 - "$T/out" <<'PY' && ok || bad "export after purge: $(head -c 600 "$T/out")"
import hashlib, json, sys
names = ["seq", "time_ms", "actor", "route", "verdict", "detail_json", "input_sha256", "output_sha256"]
prev = "0" * 64
for line in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(line)
    assert r["format"] == 2 and r["prev_hash"] == prev
    if r["text"] is not None:
        assert hashlib.sha256(r["text"].encode()).hexdigest() == r["text_sha256"]
    ser = b"hegui audit v2\n"
    for v in [r[n] for n in names] + [r["text_sha256"], r["prev_hash"]]:
        ser += b"-" if v is None else (lambda b: str(len(b)).encode() + b":" + b)(str(v).encode())
    assert hashlib.sha256(ser).hexdigest() == r["hash"], r["seq"]
    prev = r["hash"]
PY

echo "dsar: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
