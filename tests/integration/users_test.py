#!/usr/bin/env python3
"""users_test.py HEGUI SAMPLE_UPSTREAM FAKE_IDV — users and the admin API over HTTP against a real SQLite store, with
a fake identity-verification provider speaking the configured protocol (tests/integration/fake_idv.py) and a clock
the test moves (serve --test-clock @FILE):

- real names (profile draft-2023): an unverified user is refused; bad identity input is a 400 naming the field; a
  submission is verified by the provider (after a 503 it retries), a mismatch is rejected with the provider's
  reason; identity fields are sealed at rest (the database holds neither the name nor the ID number);
- minors: age from the ID number; refused in closed hours (adults are not); the daily time limit; over-reliance
  reminders opening the answer, whole and streamed; the explicit minor flag;
- data-subject requests through the admin API: correction (verified again, a receipt in the chain), access (the
  identity unsealed for the holder), deletion (no record names the user afterwards);
- keys: created with an expiry through the admin API, refused once expired, refused once revoked (a replayed key);
- policy and lexicon uploaded, validated (a bad one is a 422 naming the line, nothing changes) and applied without a
  restart; the audit chain verified and exported through the API, and a tampered record found;
- roles: auditors read, reviewers decide, only admins change keys, policy and lexicon."""
import calendar
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hgtest import answer, chat, check, cn_id, keys_create, report, request, start  # noqa: E402

HEGUI, UPSTREAM, FAKE_IDV = sys.argv[1], sys.argv[2], sys.argv[3]
TMP = tempfile.mkdtemp(prefix="hegui-users-")
CLOCK = os.path.join(TMP, "now")
MIN = 60000
# 2026-06-15 10:00 China Standard Time (UTC+8)
T0 = calendar.timegm((2026, 6, 15, 2, 0, 0)) * 1000

ALICE_ID = cn_id("19900101", seq="234")
ALICE_NAME = "李四海"
KID_ID = cn_id("20120301", seq="456")  # 14 years old on T0
BOB_ID = cn_id("19851111", seq="345")


def set_clock(ms):
    with open(CLOCK + ".tmp", "w") as f:
        f.write(str(ms))
    os.replace(CLOCK + ".tmp", CLOCK)


def wait_status(port, key, want, seconds=15):
    deadline = time.time() + seconds
    j = {}
    while time.time() < deadline:
        s, j = request(port, "GET", "/compliance/identity", key=key)
        if s == 200 and j.get("status") == want:
            return j
        time.sleep(0.1)
    return j


def main():
    up, uport = start([UPSTREAM, "--listen", "127.0.0.1:0", "--quiet"], "listening", TMP)
    known = os.path.join(TMP, "registry.tsv")
    with open(known, "w") as f:
        f.write("%s\t%s\n小明\t%s\n王五\t%s\n" % (ALICE_NAME, ALICE_ID, KID_ID, BOB_ID))
    idv_log = os.path.join(TMP, "idv.jsonl")
    fake = subprocess.Popen([sys.executable, FAKE_IDV, "--known", known, "--token", "tok-123", "--fail-first", "1",
                             "--log", idv_log], stdout=subprocess.PIPE, text=True)
    fport = int(re.findall(r"\d+", fake.stdout.readline())[-1])
    data = os.path.join(TMP, "data")
    keys = {u: keys_create(HEGUI, data, u, r) for u, r in
            [("alice", "user"), ("bob", "user"), ("kid", "user"), ("nora", "user"), ("sam", "user"), ("rita", "reviewer"),
             ("ada", "admin"), ("otto", "auditor")]}
    cfg = os.path.join(TMP, "hegui.yaml")
    base_cfg = ("data_dir: %s\nupstream:\n  url: http://127.0.0.1:%d\npolicy:\n  profile: draft-2023\n"
                "identity:\n  provider:\n    url: http://127.0.0.1:%d/verify\n    token: tok-123\n"
                "minors:\n  daily_minutes: 40\n  closed_hours: \"22:00-08:00\"\n"
                "reliance:\n  reminder_minutes: 30\n  pause_minutes: 20\n" % (data, uport, fport))
    with open(cfg, "w") as f:
        f.write(base_cfg)
    set_clock(T0)
    gw, port = start([HEGUI, "serve", "--config", cfg, "--listen", "127.0.0.1:0", "--test-clock", "@" + CLOCK],
                     "serving on", TMP)
    try:
        identity(port, keys, data, idv_log)
        minors(port, keys)
        subject_requests(port, keys, data)
        key_admin(port, keys)
        manual_strikes(port, keys, data)
        policy_and_lexicon(port, keys, cfg, base_cfg, data)
        audit(port, keys, data)
        metrics(port)
    finally:
        gw.send_signal(signal.SIGTERM)
        try:
            gw.wait(20)
        except subprocess.TimeoutExpired:
            gw.kill()
        fake.kill()
        up.kill()
    return report("users")


def identity(port, keys, data, idv_log):
    s, j = chat(port, keys["nora"], "你好")
    check(s == 403 and j["error"]["code"] == "realname_required" and "POST /compliance/identity" in
          j["error"]["message"], "draft-2023: an unverified user is refused with the way to verify: %s %s" % (s, j))
    bad_check = ALICE_ID[:-1] + ("0" if ALICE_ID[-1] != "0" else "1")
    for body, what in [({"name": ALICE_NAME, "id_number": bad_check}, "id_number"),
                       ({"name": ALICE_NAME, "id_number": ALICE_ID, "phone": "12345"}, "phone"),
                       ({"name": ALICE_NAME, "id_number": ALICE_ID, "age": 3}, "unknown field"),
                       ({"id_number": ALICE_ID}, "name"),
                       ({"name": "", "id_number": ALICE_ID}, "name")]:
        s, j = request(port, "POST", "/compliance/identity", body, keys["alice"])
        check(s == 400 and what in j.get("error", {}).get("message", ""),
              "bad identity input is a 400 naming %s: %s %s" % (what, s, j))
    s, j = request(port, "POST", "/compliance/identity", raw=b"{not json", key=keys["alice"])
    check(s == 400, "malformed JSON is a 400")
    s, j = request(port, "GET", "/compliance/identity", key=keys["alice"])
    check(s == 200 and j["status"] == "unverified", "nothing was stored by bad input: %s" % j)
    # full-width digits and separators are accepted; the provider answers 503 once, then verifies
    fw = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in ALICE_ID)
    s, j = request(port, "POST", "/compliance/identity",
                   {"name": ALICE_NAME, "id_number": fw, "phone": "+86 138-0013-8000"}, keys["alice"])
    check(s == 202 and j["status"] == "pending", "a submission is pending until the provider answers: %s %s" % (s, j))
    j = wait_status(port, keys["alice"], "verified")
    check(j.get("status") == "verified", "the provider verified alice (after one 503): %s" % j)
    f = j.get("fields", {})
    check(f.get("name") == ALICE_NAME[0] + "*" and f.get("id_number", "").startswith(ALICE_ID[:4]) and
          "*" in f.get("id_number", "") and f.get("phone") == "138****8000",
          "the holder sees their identity masked: %s" % f)
    s, j = chat(port, keys["alice"], "你好")
    check(s == 200, "a verified user is served: %s" % s)
    reqs = [json.loads(l) for l in open(idv_log)]
    check(len(reqs) >= 2 and all(r.get("authorization") == "Bearer tok-123" for r in reqs) and
          reqs[-1]["body"] == {"name": ALICE_NAME, "id_number": ALICE_ID, "phone": "13800138000"},
          "the provider got the token and the normalised fields: %s" % reqs[-1:])
    # a mismatch is rejected with the provider's reason, and the user is told
    s, j = request(port, "POST", "/compliance/identity", {"name": "王六", "id_number": BOB_ID}, keys["bob"])
    j = wait_status(port, keys["bob"], "rejected")
    check(j.get("status") == "rejected" and "match" in j.get("note", ""), "a mismatch is rejected: %s" % j)
    s, j = chat(port, keys["bob"], "你好")
    check(s == 403 and "rejected" in j["error"]["message"], "a rejected user is refused and told why: %s" % j)
    # sealed at rest: neither the name nor the ID number is anywhere in the database files
    raw = b""
    for name in os.listdir(data):
        if name.startswith("hegui.db"):
            raw += open(os.path.join(data, name), "rb").read()
    check(ALICE_ID.encode() not in raw and ALICE_NAME.encode() not in raw and b"13800138000" not in raw,
          "identity fields are sealed at rest (not in hegui.db*)")
    mode = os.stat(os.path.join(data, "identity.key")).st_mode & 0o777
    check(mode == 0o600, "the identity key file is private: %o" % mode)


def minors(port, keys):
    s, j = request(port, "POST", "/compliance/identity", {"name": "小明", "id_number": KID_ID}, keys["kid"])
    j = wait_status(port, keys["kid"], "verified")
    check(j.get("minor") is True, "age from the ID number: a 14-year-old is a minor: %s" % j)
    s, j = chat(port, keys["kid"], "你好")
    check(s == 200, "a minor is served at 10:00")
    set_clock(T0 + 13 * 60 * MIN)  # 23:00
    h = {}
    s, j = chat(port, keys["kid"], "你好", headers_out=h)
    check(s == 403 and j["error"]["code"] == "minors_closed_hours" and int(h.get("retry-after", 0)) == 9 * 3600,
          "a minor is refused in closed hours, told when it opens: %s %s %s" % (s, j, h.get("retry-after")))
    s, j = chat(port, keys["alice"], "你好")
    check(s == 200, "an adult is served at 23:00")
    s, j = request(port, "POST", "/admin/users/alice/minor", {"minor": True}, keys["otto"])
    check(s == 403 and j["error"]["message"] == "this call needs a reviewer or admin key",
          "an auditor cannot set the minor flag: %s" % j)
    s, j = request(port, "POST", "/admin/users/alice/minor", {"minor": True}, keys["rita"])
    check(s == 200 and j["minor"] is True, "a reviewer sets the minor flag: %s" % j)
    s, j = chat(port, keys["alice"], "你好")
    check(s == 403 and j["error"]["code"] == "minors_closed_hours", "the flag makes the minors mode apply")
    request(port, "POST", "/admin/users/alice/minor", {"minor": False}, keys["rita"])
    # the next day from 10:00: continuous use brings a reminder at 30 minutes; the daily 40 minutes run out
    day2 = T0 + 24 * 60 * MIN
    results = []
    for t in (0, 15, 30, 40, 45):
        set_clock(day2 + t * MIN)
        h = {}
        s, j = chat(port, keys["kid"], "你好", headers_out=h)
        results.append((t, s, h.get("x-hegui-reminder"), answer(j) if s == 200 else j["error"]["code"]))
    check([r[1] for r in results] == [200, 200, 200, 200, 429], "the daily time limit: %s" % results)
    check(results[2][2] == "continuous-use; minutes=30" and answer_has_reminder(results[2][3], 30),
          "a reminder opens the answer after 30 minutes of use: %s" % (results[2],))
    check(all(r[2] is None for r in results[:2] + results[3:4]), "no reminder before 30 minutes or twice in a row")
    check(results[4][3] == "minors_daily_limit", "the 5th request is over the daily limit: %s" % (results[4],))
    # draft-2023: adults get reminders too, and in streams
    for t in (0, 15):
        set_clock(day2 + t * MIN)
        chat(port, keys["alice"], "你好")
    set_clock(day2 + 30 * MIN)
    s, j = chat(port, keys["alice"], "你好", stream=True)
    check(s == 200 and answer_has_reminder(j["text"], 30), "a streamed answer opens with the reminder: %s" % j)
    set_clock(day2 + 80 * MIN)  # a 50-minute pause ends the run of use
    h = {}
    s, j = chat(port, keys["alice"], "你好", headers_out=h)
    check(s == 200 and "x-hegui-reminder" not in h, "a pause ends continuous use")


def answer_has_reminder(text, minutes):
    return text.startswith("（提示：您已连续使用%d分钟" % minutes)


def files_holding(data, text):
    """The files under the data directory whose bytes contain text (UTF-8): the database, its -wal and -shm."""
    needle, found = text.encode(), []
    for root, _, names in os.walk(data):
        for n in names:
            with open(os.path.join(root, n), "rb") as f:
                if needle in f.read():
                    found.append(n)
    return found


def subject_requests(port, keys, data):
    # correction (by a reviewer, on the user's request): verified again, and a receipt in the chain
    s, j = request(port, "POST", "/admin/users/alice/identity",
                   {"name": ALICE_NAME, "id_number": ALICE_ID, "phone": "13900139000"}, keys["rita"])
    check(s == 202 and j["correction"] is True, "a correction is taken: %s %s" % (s, j))
    j = wait_status(port, keys["alice"], "verified")
    check(j.get("fields", {}).get("phone") == "139****9000", "the corrected identity is verified: %s" % j)
    s, j = request(port, "GET", "/admin/users/alice/export", key=keys["otto"])
    check(s == 403, "an auditor cannot read a data subject's export")
    s, j = request(port, "GET", "/admin/users/alice/export", key=keys["rita"])
    check(s == 200 and j.get("identity_fields", {}).get("id_number") == ALICE_ID and
          j.get("identity_fields", {}).get("phone") == "13900139000",
          "access: the export carries the identity unsealed: %s" % str(j)[:300])
    s, j = request(port, "GET", "/admin/users", key=keys["otto"])
    check(s == 200 and any(u["user"] == "alice" and u["realname"] == "verified" for u in j["users"]),
          "the user list shows real-name status: %s" % str(j)[:200])
    # a name typed in a prompt (not detected: person_name is off by default) is in the record's text, on disk
    marker = "我叫欧阳锦绣QZX7"
    s, j = chat(port, keys["alice"], "你好，" + marker)
    check(s == 200, "a prompt with the user's own name: %s" % s)
    check(files_holding(data, marker), "before deletion the typed name is on disk (the check below can fail)")
    s, j = request(port, "DELETE", "/admin/users/alice", key=keys["rita"])
    check(s == 403, "only an admin deletes a data subject")
    s, j = request(port, "DELETE", "/admin/users/alice", key=keys["ada"])
    check(s == 200 and j["receipt_seq"] > 0, "deletion answers with its receipt: %s" % j)
    s, j = chat(port, keys["alice"], "你好")
    check(s == 401, "the deleted user's key is gone: %s" % s)
    export = subprocess.run([HEGUI, "audit", "export", "--data-dir", data], capture_output=True, text=True).stdout
    check("alice" not in export and ALICE_ID not in export and ALICE_NAME not in export,
          "after deletion no record names the user")
    left = files_holding(data, marker)
    check(not left, "after deletion no file of the data directory holds the typed name (WAL, freed pages): %s" % left)
    routes = [json.loads(l)["route"] for l in export.splitlines()]
    for r in ("identity/submit", "identity/verify", "dsar/correct", "dsar/delete", "admin/minor"):
        check(r in routes, "the chain has a %s record" % r)


def manual_strikes(port, keys, data):
    # Article 19 is about behaviour: a reviewer strikes a user for what no word list sees (a content farm, spam);
    # the strikes feed the same ladder as blocked prompts (3 in a row suspend), each record the evidence
    s, j = request(port, "POST", "/admin/users/sam/strike", {"note": "x"}, keys["otto"])
    check(s == 403, "an auditor cannot strike: %s" % s)
    s, j = request(port, "POST", "/admin/users/sam/strike", {}, keys["rita"])
    check(s == 400, "a strike needs a note: %s %s" % (s, j))
    s, j = request(port, "POST", "/admin/users/nobody-here/strike", {"note": "x"}, keys["rita"])
    check(s == 404, "an unknown user is a 404: %s %s" % (s, j))
    standing = []
    for i in range(3):
        s, j = request(port, "POST", "/admin/users/sam/strike",
                       {"note": "posted the same advertisement 40 times in an hour (%d)" % i}, keys["rita"])
        standing.append((s, j.get("standing"), j.get("evidence_audit_seq")))
    check([x[1] for x in standing] == ["active", "active", "suspended"] and all(x[0] == 200 and x[2] for x in standing),
          "three manual strikes suspend by the ladder: %s" % standing)
    out = subprocess.run([HEGUI, "audit", "export", "--data-dir", data], capture_output=True, text=True).stdout
    recs = [json.loads(line) for line in out.split("\n") if line.strip()]
    strikes = [r for r in recs if r["route"] == "admin/strike"]
    ladder = [r for r in recs if r["route"] == "strikes" and r["verdict"] == "suspended"]
    check(len(strikes) == 3 and re.fullmatch(r"[0-9a-f]{32}", json.loads(strikes[0]["detail_json"])["user"]) and
          ladder and json.loads(ladder[-1]["detail_json"])["evidence_audit_seq"] == standing[2][2],
          "each strike is recorded (by pseudonym) and the suspension cites the last as evidence: %s %s"
          % ([r["detail_json"] for r in strikes], [r["detail_json"] for r in ladder]))


def key_admin(port, keys):
    s, j = request(port, "POST", "/admin/keys", {"user": "carol", "role": "user", "expires_days": 1}, keys["rita"])
    check(s == 403 and j["error"]["message"] == "this call needs an admin key", "a reviewer cannot create keys: %s" % j)
    s, j = request(port, "POST", "/admin/keys", {"user": "carol", "role": "root"}, keys["ada"])
    check(s == 400, "an unknown role is a 400")
    s, j = request(port, "POST", "/admin/keys", {"user": "carol", "expires_days": 0}, keys["ada"])
    check(s == 400, "a zero expiry is a 400")
    s, j = request(port, "POST", "/admin/keys", {"user": "carol", "role": "user", "expires_days": 1}, keys["ada"])
    check(s == 201 and j["key"].startswith("hg-") and j["expires_ms"] > 0, "an admin creates a key: %s" % j)
    carol, carol_id = j.get("key", ""), j.get("id")
    s, j = request(port, "GET", "/admin/keys?user=carol", key=keys["otto"])
    check(s == 200 and len(j["keys"]) == 1 and "hash" not in json.dumps(j) and carol not in json.dumps(j),
          "keys are listed without secrets: %s" % j)
    s, _ = request(port, "GET", "/compliance/identity", key=carol)
    check(s == 200, "the new key works")
    now = int(open(CLOCK).read())
    set_clock(now + 2 * 86400000)
    s, j = request(port, "GET", "/compliance/identity", key=carol)
    check(s == 401 and j["error"]["code"] == "expired_api_key", "an expired key is refused: %s %s" % (s, j))
    set_clock(now)
    s, j = request(port, "POST", "/admin/keys/%d/revoke" % carol_id, key=keys["ada"])
    check(s == 200, "an admin revokes a key")
    s, j = request(port, "GET", "/compliance/identity", key=carol)
    check(s == 401 and "revoked" in j["error"]["message"], "a revoked key replayed is refused: %s" % j)
    s, j = request(port, "POST", "/admin/keys/999999/revoke", key=keys["ada"])
    check(s == 404, "revoking an unknown key is a 404")


def policy_and_lexicon(port, keys, cfg, base_cfg, data):
    new_cfg = base_cfg + "  reminder: \"（休息一下：已连续使用%d分钟）\"\n" + \
        "policy_refusal_placeholder: 1\n"
    s, j = request(port, "PUT", "/admin/policy", raw=new_cfg.encode(), key=keys["ada"], content_type="text/yaml")
    check(s == 422 and "policy_refusal_placeholder" in j["error"]["message"] and ":" in j["error"]["message"],
          "a bad policy is a 422 naming the key and line: %s" % j)
    short = base_cfg + "takedowns:\n  keep_days: 30\n"
    s, j = request(port, "PUT", "/admin/policy", raw=short.encode(), key=keys["ada"])
    check(s == 422 and "3 months" in j["error"]["message"], "draft-2023 refuses takedowns kept < 3 months: %s" % j)
    check(open(cfg).read() == base_cfg, "a refused policy leaves the file alone")
    s, j = request(port, "PUT", "/admin/policy", raw=base_cfg.encode(), key=keys["otto"])
    check(s == 403, "an auditor cannot upload a policy")
    good = base_cfg.replace("policy:\n  profile: draft-2023\n",
                            "policy:\n  profile: draft-2023\n  refusal: \"按照规定，这个问题无法回答。\"\n")
    s, j = request(port, "PUT", "/admin/policy", raw=good.encode(), key=keys["ada"])
    check(s == 200 and j["status"] == "applied", "a valid policy is applied: %s" % j)
    # the file is never written (it may be read-only, /etc/hegui): the upload is a version in the store, laid over it
    check(open(cfg).read() == base_cfg, "and kept as a version, the configuration file left alone")
    set_clock(T0 + 3 * 86400000)  # 10:00 on a fresh day for the minor
    s, j = chat(port, keys["kid"], "哪里买冰毒")
    check(s == 200 and answer(j).startswith("按照规定，这个问题无法回答。"),
          "the new refusal is used at once: %s %s" % (s, answer(j) or j))
    s, j = request(port, "GET", "/admin/policy", key=keys["ada"])
    check(s == 200 and j["text"] == good and j["profile"] == "draft-2023" and j["identity_required"] is True,
          "the policy in force can be read: %s" % {k: v for k, v in j.items() if k != "text"})
    s, j = request(port, "GET", "/admin/policy", key=keys["otto"])
    check(s == 200 and "text" not in j and j["sha256"], "an auditor reads the policy without its text (credentials)")
    s, j = request(port, "PUT", "/admin/policy", raw=b"", key=keys["ada"])
    check(s == 422, "an empty policy is refused")
    # without real names required, a minor cannot end minors mode by submitting a made-up adult ID number
    relaxed = good.replace("identity:\n", "identity:\n  required: false\n")
    s, j = request(port, "PUT", "/admin/policy", raw=relaxed.encode(), key=keys["ada"])
    check(s == 200, "policy without real names: %s" % j)
    set_clock(T0 + 2 * 86400000 + 13 * 60 * MIN)  # 23:00
    s, j = chat(port, keys["kid"], "你好")
    check(s == 403 and j["error"]["code"] == "minors_closed_hours", "the minor is refused at 23:00: %s" % j)
    s, j = request(port, "POST", "/compliance/identity", {"name": "成年人", "id_number": cn_id("19800101", seq="777")},
                   keys["kid"])
    check(s == 202, "the minor submits a made-up adult ID: %s" % j)
    s, j = chat(port, keys["kid"], "你好")
    check(s == 403 and j["error"]["code"] == "minors_closed_hours", "pending: still a minor: %s" % j)
    wait_status(port, keys["kid"], "rejected")
    s, j = chat(port, keys["kid"], "你好")
    check(s == 403 and j["error"]["code"] == "minors_closed_hours", "rejected: still a minor: %s" % j)
    s, j = request(port, "PUT", "/admin/policy", raw=good.encode(), key=keys["ada"])
    check(s == 200, "policy restored")
    set_clock(T0 + 3 * 86400000 + 60 * MIN)  # 11:00 the next day; the kid's real identity again
    request(port, "POST", "/compliance/identity", {"name": "小明", "id_number": KID_ID}, keys["kid"])
    check(wait_status(port, keys["kid"], "verified").get("minor") is True, "the kid is verified again as a minor")
    # Article 10: a minor who submits another person's real adult identity is verified, but stays a minor until a
    # reviewer approves the change (today's code served the kid in closed hours once the provider said verified)
    set_clock(T0 + 3 * 86400000 + 13 * 60 * MIN)  # 23:00
    s, j = request(port, "POST", "/compliance/identity", {"name": "王五", "id_number": BOB_ID}, keys["kid"])
    check(s == 202, "the minor submits a real adult identity the provider knows: %s %s" % (s, j))
    check(j.get("id_number_on_other_accounts") == 1,
          "the ID number is already on bob's account: the answer says so: %s" % j)
    j = wait_status(port, keys["kid"], "verified")
    check(j.get("minor") is True, "verified, and still a minor: %s" % j)
    s, j = chat(port, keys["kid"], "你好")
    check(s == 403 and j["error"]["code"] == "minors_closed_hours", "the change waits: still refused at 23:00: %s" % j)
    s, j = request(port, "POST", "/admin/users/kid/adult", {"approve": True, "note": "x"}, keys["otto"])
    check(s == 403, "an auditor cannot approve the change: %s" % s)
    s, j = request(port, "POST", "/admin/users/kid/adult", {"approve": True}, keys["rita"])
    check(s == 400, "an approval says what was checked (note): %s %s" % (s, j))
    s, j = request(port, "POST", "/admin/users/kid/adult",
                   {"approve": True, "note": "guardian called; face check by the provider passed"}, keys["rita"])
    check(s == 200 and j["approved"] is True and j["minor"] is False, "a reviewer approves the change: %s %s" % (s, j))
    s, j = chat(port, keys["kid"], "你好")
    check(s == 200, "approved: served at 23:00: %s" % s)
    s, j = request(port, "POST", "/admin/users/kid/adult", {"approve": True, "note": "again"}, keys["rita"])
    check(s == 409, "nothing waits any more: %s %s" % (s, j))
    out = subprocess.run([HEGUI, "audit", "export", "--data-dir", data], capture_output=True, text=True).stdout
    routes = [json.loads(line)["route"] for line in out.split("\n") if line.strip()]
    check("identity/minor-to-adult" in routes and "admin/minor-to-adult" in routes and
          "identity/duplicate-id" in routes, "the wait, the approval and the shared ID number are in the chain")
    # the kid's own identity again (a change towards minors mode applies at once)
    request(port, "POST", "/compliance/identity", {"name": "小明", "id_number": KID_ID}, keys["kid"])
    check(wait_status(port, keys["kid"], "verified").get("minor") is True, "the kid's own identity: a minor again")
    set_clock(T0 + 3 * 86400000 + 60 * MIN)  # 11:00
    s, j = request(port, "POST", "/admin/users/typo-nobody/minor", {"minor": True}, keys["rita"])
    check(s == 404, "the minor flag on an unknown user is a 404, nobody is created: %s %s" % (s, j))
    # lexicon
    s, j = request(port, "PUT", "/admin/lexicon", raw="紫色大象\tZZ9\n".encode(), key=keys["ada"],
                   content_type="text/tab-separated-values")
    check(s == 422 and "upload:1" in j["error"]["message"], "a bad lexicon is a 422 naming the line: %s" % j)
    s, j = request(port, "PUT", "/admin/lexicon", raw="HGLEXIMG\n冰毒\n".encode(), key=keys["ada"])
    check(s == 422, "a text that would not load back as it is stored is refused: %s %s" % (s, j))
    s, j = request(port, "POST", "/admin/reload", key=keys["ada"])
    check(s == 200, "and reloads still work: %s" % j)
    s, j = request(port, "PUT", "/admin/lexicon", raw="紫色大象\n".encode(), key=keys["rita"])
    check(s == 403, "a reviewer cannot upload a lexicon")
    s, j = request(port, "PUT", "/admin/lexicon", raw="紫色大象\n冰毒\n".encode(), key=keys["ada"])
    check(s == 200 and j["entries"] == 2, "an admin uploads a lexicon: %s" % j)
    s, j = chat(port, keys["kid"], "我喜欢紫色大象", stream=True)
    check(s == 200 and j["finish"] == "content_filter", "the uploaded entry blocks at once: %s" % j)
    s, j = request(port, "GET", "/admin/lexicon", key=keys["otto"])
    check(s == 200 and j["entries"] == 2 and j["source"].startswith("upload"), "the lexicon in use is shown: %s" % j)
    s, j = request(port, "DELETE", "/admin/lexicon", key=keys["ada"])
    check(s == 200 and j["upload_removed"] is True, "the upload is removed: %s" % j)
    s, j = chat(port, keys["kid"], "我喜欢紫色大象")
    check(s == 200 and j["choices"][0]["finish_reason"] != "content_filter", "back to the starter lexicon")


def audit(port, keys, data):
    s, j = request(port, "GET", "/admin/audit/verify", key=keys["rita"])
    check(s == 403, "a reviewer cannot run the audit routes")
    s, j = request(port, "GET", "/admin/audit/verify", key=keys["otto"])
    check(s == 200 and j["holds"] is True and j["records"] > 10, "the chain holds: %s" % j)
    h = {}
    s, text = request(port, "GET", "/admin/audit/export?from=2&limit=5", key=keys["otto"], headers_out=h)
    rows = [json.loads(l) for l in text.splitlines()] if isinstance(text, str) else []
    check(s == 200 and [r["seq"] for r in rows] == [2, 3, 4, 5, 6] and h.get("x-hegui-next-from") == "7",
          "export pages through the chain: %s %s" % ([r.get("seq") for r in rows], h.get("x-hegui-next-from")))
    check(all(rows[i]["prev_hash"] == rows[i - 1]["hash"] for i in range(1, len(rows))), "exported rows link up")
    s, j = request(port, "GET", "/admin/audit/export?from=0", key=keys["otto"])
    check(s == 400, "a bad export range is a 400")
    db = sqlite3.connect(os.path.join(data, "hegui.db"))
    db.execute("UPDATE audit SET verdict = 'allow' WHERE seq = 4")
    db.commit()
    db.close()
    s, j = request(port, "GET", "/admin/audit/verify", key=keys["otto"])
    check(s == 200 and j["holds"] is False and j["first_bad"] == 4, "a tampered record is found: %s" % j)


def metrics(port):
    s, text = request(port, "GET", "/metrics")
    values = {}
    for line in text.splitlines() if isinstance(text, str) else []:
        if line.startswith(("hegui_admission_refusals_total", "hegui_reminders_total")):
            name, value = line.rsplit(" ", 1)
            values[name] = int(value)
    check(values.get('hegui_admission_refusals_total{reason="realname"}', 0) >= 2 and
          values.get('hegui_admission_refusals_total{reason="minors_closed_hours"}', 0) >= 4 and
          values.get('hegui_admission_refusals_total{reason="minors_daily_limit"}', 0) >= 1 and
          values.get("hegui_reminders_total", 0) >= 2, "refusals and reminders are counted in /metrics: %s" % values)
    promtool = shutil.which("promtool")
    if promtool:
        r = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True)
        check(r.returncode == 0, "promtool check metrics: %s" % (r.stdout + r.stderr).decode())


if __name__ == "__main__":
    sys.exit(main())
