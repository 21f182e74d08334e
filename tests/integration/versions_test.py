#!/usr/bin/env python3
"""versions_test.py HEGUI SAMPLE_UPSTREAM — policy and lexicon versions end to end, on a gateway whose configuration
file and its directory are read-only (as /etc/hegui is in a package) and whose clock the test moves (serve
--test-clock @FILE): uploads wait for a second admin (versions.require_approval), the author cannot approve, the diff
against the version in force, reject, rollback (itself approved), every step in the audit chain; the lexicon's age
in /readyz and /metrics, stale after 8 days (versions.lexicon_max_age_days: 7), not after 6; and after a restart the
versions are still in force, the file untouched."""
import hashlib
import json
import os
import stat
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hgtest import answer, chat, check, keys_create, report, request, start  # noqa: E402

HEGUI, UPSTREAM = sys.argv[1], sys.argv[2]
TMP = tempfile.mkdtemp(prefix="hg-versions-")
CLOCK = os.path.join(TMP, "now")
DAY = 86400000
T0 = 1767261600000  # 2026-01-01 10:00 UTC
DEFAULT_REFUSAL_START = "很抱歉"


def set_clock(ms):
    with open(CLOCK + ".tmp", "w") as f:
        f.write(str(ms))
    os.replace(CLOCK + ".tmp", CLOCK)


def metric(port, name):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=30) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return int(line.split()[-1])
    return None


def refusal(port, key):
    s, j = chat(port, key, "哪里买冰毒")
    check(s == 200 and j["choices"][0]["finish_reason"] == "content_filter", "the prompt is refused: %s %s" % (s, j))
    return answer(j)


def blocked(port, key, text):
    s, j = chat(port, key, text)
    return s == 200 and j["choices"][0]["finish_reason"] == "content_filter"


def version(port, key, vid):
    s, j = request(port, "GET", "/admin/versions/%d" % vid, key=key)
    check(s == 200, "version %d can be read: %s %s" % (vid, s, j))
    return j


def main():
    etc = os.path.join(TMP, "etc")
    data = os.path.join(TMP, "data")
    os.makedirs(etc)
    up, up_port = start([UPSTREAM, "--listen", "127.0.0.1:0", "--quiet"], "listening", TMP)
    lex = os.path.join(etc, "lexicon.tsv")
    with open(lex, "w") as f:
        f.write("冰毒\tA1h\t5\tblock\tfolded,noise\n")
    os.utime(lex, ((T0 - DAY) / 1000, (T0 - DAY) / 1000))  # the file was updated a day before the test's now
    cfg = os.path.join(etc, "hegui.yaml")
    base = ("data_dir: %s\nlexicon: %s\nupstream:\n  url: http://127.0.0.1:%d\naudit:\n  retain_text: full\n"
            "versions:\n  require_approval: true\n  lexicon_max_age_days: 7\n"
            "strikes:\n  suspend_per_day: 1000\n  suspend_in_a_row: 1000\n" % (data, lex, up_port))
    with open(cfg, "w") as f:
        f.write(base)
    # read-only, the file and its directory, as a package installs /etc/hegui
    os.chmod(cfg, 0o444)
    os.chmod(lex, 0o444)
    os.chmod(etc, 0o555)
    before = (hashlib.sha256(open(cfg, "rb").read()).hexdigest(), os.stat(cfg).st_mtime_ns, sorted(os.listdir(etc)))
    keys = {name: keys_create(HEGUI, data, name, role) for name, role in
            (("ada", "admin"), ("bob", "admin"), ("otto", "auditor"), ("alice", "user"))}
    set_clock(T0)
    cmd = [HEGUI, "serve", "--config", cfg, "--listen", "127.0.0.1:0", "--test-clock", "@" + CLOCK]
    gw, port = start(cmd, "serving on", TMP)
    try:
        ids = cases(port, keys, data, base)
    finally:
        gw.kill()
        gw.wait()
    # a restart: the versions are in the store, the file as it was
    gw, port = start(cmd, "serving on", TMP)
    try:
        after_restart(port, keys, ids)
    finally:
        gw.kill()
        up.kill()
    after = (hashlib.sha256(open(cfg, "rb").read()).hexdigest(), os.stat(cfg).st_mtime_ns, sorted(os.listdir(etc)))
    check(after == before, "the configuration file and its directory were never written: %s %s" % (before, after))
    os.chmod(etc, 0o755)
    return report("versions")


def cases(port, keys, data, base):
    ada, bob, otto, alice = keys["ada"], keys["bob"], keys["otto"], keys["alice"]
    # the lexicon file, a day old: ready, no warning
    s, j = request(port, "GET", "/readyz")
    check(s == 200 and j.get("lexicon_age_seconds") == 86400 and "warnings" not in j,
          "a day-old lexicon: ready, no warning: %s %s" % (s, j))
    check(metric(port, "hegui_lexicon_stale") == 0, "hegui_lexicon_stale 0")
    check(refusal(port, alice).startswith(DEFAULT_REFUSAL_START), "the default refusal to start with")

    # an upload waits for a second admin; only the keys it changes are sent: it is laid over the file
    v1_text = "policy:\n  refusal: \"版本一：这个问题无法回答。\"\n"
    s, j = request(port, "PUT", "/admin/policy", raw=v1_text.encode(), key=ada, content_type="text/yaml")
    check(s == 202 and j.get("status") == "pending" and j.get("version"), "an upload is pending: %s %s" % (s, j))
    v1 = j.get("version", 0)
    check(refusal(port, alice).startswith(DEFAULT_REFUSAL_START), "a pending version is not in force")
    s, j = request(port, "GET", "/admin/versions?state=pending&kind=policy", key=otto)
    check(s == 200 and [v["id"] for v in j["versions"]] == [v1] and j["versions"][0]["author"] == "ada" and
          j["versions"][0]["sha256"] == hashlib.sha256(v1_text.encode()).hexdigest() and
          j["versions"][0]["size"] == len(v1_text.encode()), "the auditor lists it with author, hash, size: %s" % j)
    s, j = request(port, "GET", "/admin/versions/%d" % v1, key=otto)
    check(s == 200 and "content" not in j, "an auditor does not read a policy's text (credentials): %s" % j)
    s, j = request(port, "GET", "/admin/versions/%d/diff" % v1, key=otto)
    check(s == 403, "nor its diff: %s" % s)
    s, j = request(port, "GET", "/admin/versions", key=alice)
    check(s == 403, "a user cannot list versions: %s" % s)
    s, j = request(port, "GET", "/admin/versions/%d/diff" % v1, key=bob)
    check(s == 200 and j["against_version"] is None and "+  refusal: \"版本一：这个问题无法回答。\"\n" in j["diff"] and
          j["added"] == 2 and j["removed"] == len(base.splitlines()) and j["minimal"] is True,
          "with no version in force the diff is against the file: %s %s" % (s, j))

    # the author cannot approve; another admin can
    s, j = request(port, "POST", "/admin/versions/%d/approve" % v1, key=ada)
    check(s == 403 and j["error"]["code"] == "self_approval", "self-approval is refused: %s %s" % (s, j))
    check(version(port, ada, v1)["state"] == "pending", "and the version still waits")
    s, j = request(port, "POST", "/admin/versions/%d/approve" % v1, key=otto)
    check(s == 403, "an auditor cannot approve: %s" % s)
    s, j = request(port, "POST", "/admin/versions/%d/approve" % v1, key=bob)
    check(s == 200 and j["status"] == "applied", "a second admin approves: %s %s" % (s, j))
    check(refusal(port, alice).startswith("版本一"), "the approved policy is in force at once")
    j = version(port, ada, v1)
    check(j["state"] == "active" and j["approver"] == "bob" and j["activated_ms"] == T0 and j["content"] == v1_text,
          "active, approved by bob, at the test clock's time, its content kept: %s" % j)
    s, j = request(port, "PUT", "/admin/policy", raw=b"policy:\n  refsual: x\n", key=ada, content_type="text/yaml")
    check(s == 422 and "refsual" in j["error"]["message"], "a bad upload is refused at once, no version: %s" % j)

    # a second upload: diffed against the version in force, rejected
    v2_text = "policy:\n  refusal: \"版本二：不予回答。\"\n"
    s, j = request(port, "PUT", "/admin/policy", raw=v2_text.encode(), key=bob, content_type="text/yaml")
    v2 = j.get("version", 0)
    check(s == 202, "a second upload waits: %s %s" % (s, j))
    s, j = request(port, "GET", "/admin/versions/%d/diff" % v2, key=ada)
    check(s == 200 and j["against_version"] == v1 and j["added"] == 1 and j["removed"] == 1 and
          j["diff"].endswith("@@ -1,2 +1,2 @@\n policy:\n-  refusal: \"版本一：这个问题无法回答。\"\n"
                             "+  refusal: \"版本二：不予回答。\"\n"),
          "the diff against the version in force: one line changed: %s %s" % (s, j))
    s, j = request(port, "POST", "/admin/versions/%d/reject" % v2, {"note": "wording not agreed"}, key=ada)
    check(s == 200 and j["status"] == "rejected", "another admin rejects it: %s %s" % (s, j))
    j = version(port, ada, v2)
    check(j["state"] == "rejected" and j["note"] == "wording not agreed" and j["approver"] == "ada",
          "rejected, with the note and who: %s" % j)
    s, j = request(port, "POST", "/admin/versions/%d/approve" % v2, key=ada)
    check(s == 409, "a rejected version cannot be approved: %s %s" % (s, j))
    check(refusal(port, alice).startswith("版本一"), "the rejected version never took effect")

    # a third, approved; then a rollback to the first, itself approved by a second admin
    v3_text = "policy:\n  refusal: \"版本三：无法回答。\"\n"
    s, j = request(port, "PUT", "/admin/policy", raw=v3_text.encode(), key=bob, content_type="text/yaml")
    v3 = j.get("version", 0)
    s, j = request(port, "POST", "/admin/versions/%d/approve" % v3, key=ada)
    check(s == 200 and refusal(port, alice).startswith("版本三"), "version 3 in force: %s %s" % (s, j))
    check(version(port, ada, v1)["state"] == "superseded", "version 1 superseded")
    s, j = request(port, "POST", "/admin/versions/%d/rollback" % v2, key=ada)
    check(s == 422 and "never in force" in j["error"]["message"], "no rollback to what was never in force: %s" % j)
    s, j = request(port, "POST", "/admin/versions/%d/rollback" % v3, key=ada)
    check(s == 409, "no rollback to the version in force: %s %s" % (s, j))
    s, j = request(port, "POST", "/admin/versions/%d/rollback" % v1, key=ada)
    v4 = j.get("version", 0)
    check(s == 202 and j.get("rollback_of") == v1, "a rollback is a new version, pending too: %s %s" % (s, j))
    s, j = request(port, "POST", "/admin/versions/%d/approve" % v4, key=ada)
    check(s == 403, "its author cannot approve the rollback either: %s" % s)
    s, j = request(port, "POST", "/admin/versions/%d/approve" % v4, key=bob)
    check(s == 200 and refusal(port, alice).startswith("版本一"), "rolled back: version 1's text in force again")
    j = version(port, ada, v4)
    check(j["state"] == "active" and j["rollback_of"] == v1 and j["content"] == v1_text,
          "the rollback's version points at the old content: %s" % j)
    check(version(port, ada, v3)["state"] == "rolled_back", "version 3 rolled back")
    s, j = request(port, "POST", "/admin/reload", key=ada)
    check(s == 200 and "policy version %d" % v4 in j.get("status", "") and refusal(port, alice).startswith("版本一"),
          "a reload reads the file and lays the active version over it again: %s %s" % (s, j))
    s, j = request(port, "GET", "/admin/policy", key=ada)
    check(s == 200 and j["version"] == v4 and j["text"] == v1_text and "require_approval" in j["file_text"],
          "GET /admin/policy names the version in force, its text, the file under it: %s" % j)

    # the lexicon: pending, approved, in force
    s, j = request(port, "PUT", "/admin/lexicon", raw="冰毒\n紫色大象\n".encode(), key=ada)
    lv = j.get("version", 0)
    check(s == 202 and j["entries"] == 2, "a lexicon upload waits too: %s %s" % (s, j))
    check(not blocked(port, alice, "我喜欢紫色大象"), "a pending lexicon is not in force")
    s, j = request(port, "GET", "/admin/versions/%d/diff" % lv, key=otto)
    check(s == 200 and j["against"].endswith("lexicon.tsv") and "+紫色大象\n" in j["diff"],
          "an auditor diffs a lexicon against the configured file: %s %s" % (s, j))
    set_clock(T0 + DAY)
    s, j = request(port, "POST", "/admin/versions/%d/approve" % lv, key=bob)
    check(s == 200, "approved: %s %s" % (s, j))
    check(blocked(port, alice, "我喜欢紫色大象"), "the new entry blocks at once")
    s, j = request(port, "GET", "/admin/lexicon", key=otto)
    check(s == 200 and j["version"] == lv and j["updated_ms"] == T0 + DAY and j["stale"] is False,
          "the lexicon in force is the version, updated when approved: %s" % j)
    s, j = request(port, "DELETE", "/admin/lexicon", key=ada)
    check(s == 409, "withdrawing the lexicon version alone is refused under require_approval: %s %s" % (s, j))

    # the stale alarm: 8 days after the last update, warned (still ready); 6 days after, not
    set_clock(T0 + 9 * DAY)
    s, j = request(port, "GET", "/readyz")
    check(s == 200 and j.get("lexicon_age_seconds") == 8 * 86400 and
          any("lexicon_stale" in w for w in j.get("warnings", [])), "8 days: ready with a warning: %s %s" % (s, j))
    check(metric(port, "hegui_lexicon_stale") == 1 and metric(port, "hegui_lexicon_age_seconds") == 8 * 86400,
          "8 days: hegui_lexicon_stale 1, the age in seconds")
    set_clock(T0 + 7 * DAY)
    s, j = request(port, "GET", "/readyz")
    check(s == 200 and j.get("lexicon_age_seconds") == 6 * 86400 and "warnings" not in j,
          "6 days: no warning: %s %s" % (s, j))
    check(metric(port, "hegui_lexicon_stale") == 0, "6 days: hegui_lexicon_stale 0")

    # every step in the chain, naming the admin
    out = subprocess.run([HEGUI, "audit", "export", "--data-dir", data], capture_output=True, text=True).stdout
    rows = [json.loads(line) for line in out.split("\n") if line.strip()]
    steps = [(r["actor"], r["route"], r["verdict"]) for r in rows if "version" in r["route"] or
             r["route"] in ("admin/policy", "admin/lexicon")]
    for want in (("admin:ada", "admin/policy", "pending"), ("admin:ada", "admin/version-approve", "refused"),
                 ("admin:bob", "admin/version-approve", "applied"), ("admin:ada", "admin/version-reject", "rejected"),
                 ("admin:ada", "admin/version-rollback", "pending"), ("admin:ada", "admin/lexicon", "pending"),
                 ("admin:ada", "admin/policy", "refused")):
        check(want in steps, "in the audit chain: %s" % (want,))
    return {"policy": v4, "lexicon": lv}


def after_restart(port, keys, ids):
    ada, alice = keys["ada"], keys["alice"]
    check(refusal(port, alice).startswith("版本一"), "after a restart the rolled-back policy is still in force")
    check(blocked(port, alice, "我喜欢紫色大象"), "and the lexicon version")
    s, j = request(port, "GET", "/admin/policy", key=ada)
    check(s == 200 and j["version"] == ids["policy"], "the policy version in force after the restart: %s" % j)
    s, j = request(port, "GET", "/admin/lexicon", key=ada)
    check(s == 200 and j["version"] == ids["lexicon"] and j["updated_ms"] == T0 + DAY,
          "the lexicon version, its age from its approval: %s" % j)
    s, j = request(port, "GET", "/readyz")
    check(s == 200 and j.get("lexicon_age_seconds") == 6 * 86400, "the age carries across the restart: %s" % j)


if __name__ == "__main__":
    sys.exit(main())
