#!/usr/bin/env python3
"""identity_test.py HEGUI — the identity-verification call (src/gateway/idv.c, through `hegui identity verify`)
against fake_idv.py over real HTTP: what is sent (normalised fields, JSON, the bearer token), verified and rejected
answers, 401 and 503 as undecided with the provider's reason, a retry after 503, configured member names, the
timeout, a refused connection, a disallowed protocol, an oversized answer, and fields refused before anything is
sent. Every ID number here is synthetic: built from a date and a sequence with its MOD 11-2 check digit."""
import json
import os
import subprocess
import sys
import tempfile

HEGUI = sys.argv[1]
FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_idv.py")
TMP = tempfile.mkdtemp(prefix="hegui-idv-")
PROCS = []
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hgtest  # noqa: E402
from hgtest import FAILS, PASSES, check  # noqa: E402,F401


def cn_id(region, birth, sequence):
    return hgtest.cn_id(birth, region=region, seq=sequence)


def fake(*args):
    log = os.path.join(TMP, "log-%d.jsonl" % len(PROCS))
    p = subprocess.Popen([sys.executable, FAKE, "--log", log, *args], stdout=subprocess.PIPE, text=True)
    PROCS.append(p)
    line = p.stdout.readline()
    if not line.startswith("port "):
        raise SystemExit("fake_idv did not start: %r" % line)
    return "http://127.0.0.1:%d/verify" % int(line.split()[1]), log


def log_lines(log):
    if not os.path.exists(log):
        return []
    with open(log, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def verify(url, name, id_number, *extra, token=None, phone=None):
    env = dict(os.environ)
    env.pop("HEGUI_IDV_TOKEN", None)
    if token is not None:
        env["HEGUI_IDV_TOKEN"] = token
    cmd = [HEGUI, "identity", "verify", "--url", url, "--name", name, "--id", id_number, *extra]
    if phone is not None:
        cmd += ["--phone", phone]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    try:
        out = json.loads(r.stdout) if r.stdout.strip() else {}
    except ValueError:
        out = {"unparsed": r.stdout}
    return r.returncode, out, r.stderr


def main():
    known_id = cn_id("110101", "19900307", "123")  # a 1990 birth: an adult
    # an ID with check character X, born on 29 February
    x_id = next(i for i in (cn_id("310104", "20040229", "%03d" % s) for s in range(1000)) if i.endswith("X"))
    other_id = cn_id("440305", "19851120", "456")
    registry = os.path.join(TMP, "known.tsv")
    with open(registry, "w", encoding="utf-8") as f:
        f.write("张三\t%s\n李四\t%s\n" % (known_id, x_id))

    url, log = fake("--known", registry, "--token", "s3cret")

    # verified, with everything sent as the protocol says
    rc, out, err = verify(url, "张三", known_id, token="s3cret", phone="13800138000")
    check(rc == 0 and out.get("result") == "verified", "verified: %r %r %r" % (rc, out, err))
    entries = log_lines(log)
    check(len(entries) == 1, "one request logged: %r" % entries)
    if entries:
        e = entries[0]
        check(e["body"] == {"name": "张三", "id_number": known_id, "phone": "13800138000"}, "body: %r" % e["body"])
        check(e["content_type"] == "application/json", "content type: %r" % e["content_type"])
        check(e["authorization"] == "Bearer s3cret", "authorization: %r" % e["authorization"])
        check(e["path"] == "/verify", "path: %r" % e["path"])

    # typed forms are normalised before they are sent: full width, lower-case x, +86 with dashes, spaces
    full_width = "".join(chr(ord(ch) + 0xFEE0) for ch in x_id[:-1]) + "ｘ"
    rc, out, err = verify(url, "  李四 ", full_width, token="s3cret", phone="+86 138-0013-8000")
    check(rc == 0 and out.get("result") == "verified", "normalised verified: %r %r %r" % (rc, out, err))
    e = log_lines(log)[-1]
    check(e["body"] == {"name": "李四", "id_number": x_id, "phone": "13800138000"}, "normalised body: %r" % e["body"])

    # no phone: the member is left out
    rc, out, err = verify(url, "张三", known_id, token="s3cret")
    check(rc == 0 and "phone" not in log_lines(log)[-1]["body"], "no phone: %r" % log_lines(log)[-1]["body"])

    # rejected: a name that does not match, and a number the registry does not hold
    rc, out, err = verify(url, "王五", known_id, token="s3cret")
    check(rc == 1 and out == {"result": "rejected", "reason": "name and ID number do not match"},
          "rejected: %r %r %r" % (rc, out, err))
    rc, out, err = verify(url, "张三", other_id, token="s3cret")
    check(rc == 1 and out.get("result") == "rejected", "unknown number rejected: %r %r" % (rc, out))

    # a wrong or missing token is the provider refusing to answer, not a verdict
    rc, out, err = verify(url, "张三", known_id, token="wrong")
    check(rc == 1 and out == {"result": "undecided", "reason": "provider answered HTTP 401: bad or missing token"},
          "401: %r %r %r" % (rc, out, err))
    check(log_lines(log)[-1]["authorization"] == "Bearer wrong", "wrong token sent as is")
    rc, out, err = verify(url, "张三", known_id)
    check(rc == 1 and out.get("result") == "undecided", "no token: %r %r" % (rc, out))
    check(log_lines(log)[-1]["authorization"] is None, "no Authorization header without a token")

    # fields refused before anything is sent
    before = len(log_lines(log))
    bad_check = known_id[:-1] + ("0" if known_id[-1] != "0" else "1")
    rc, out, err = verify(url, "张三", bad_check, token="s3cret")
    check(rc == 2 and "id_number: the check digit does not match" in err, "bad check digit: %r %r" % (rc, err))
    rc, out, err = verify(url, "张三", known_id, token="s3cret", phone="12345")
    check(rc == 2 and "phone:" in err, "bad phone: %r %r" % (rc, err))
    rc, out, err = verify(url, "", known_id, token="s3cret")
    check(rc == 2 and "name: missing" in err, "empty name: %r %r" % (rc, err))
    check(len(log_lines(log)) == before, "nothing sent for refused fields")

    # configured member names: the fake wants the defaults, so it answers 400, which is undecided
    rc, out, err = verify(url, "张三", known_id, "--set", "request.name=full_name", "--set", "request.phone=",
                          token="s3cret", phone="13800138000")
    e = log_lines(log)[-1]
    check(e["body"] == {"full_name": "张三", "id_number": known_id}, "renamed members: %r" % e["body"])
    check(rc == 1 and out == {"result": "undecided",
                              "reason": "provider answered HTTP 400: expected name and id_number strings"},
          "400: %r %r" % (rc, out))

    # a verdict read from elsewhere: the fake's "result" seen as the reason path, the verdict path missing
    rc, out, err = verify(url, "张三", known_id, "--set", "result_path=data.result", token="s3cret")
    check(rc == 2 and "nothing at 'data.result'" in err, "missing result path: %r %r" % (rc, err))

    # 503 first, then an answer: the caller's retry gets the verdict
    url2, log2 = fake("--known", registry, "--fail-first", "1")
    rc, out, err = verify(url2, "张三", known_id)
    check(rc == 1 and out == {"result": "undecided", "reason": "provider answered HTTP 503: temporarily unavailable"},
          "503: %r %r %r" % (rc, out, err))
    rc, out, err = verify(url2, "张三", known_id)
    check(rc == 0 and out.get("result") == "verified", "after 503: %r %r" % (rc, out))
    check(len(log_lines(log2)) == 2, "two requests to the flaky provider")

    # the timeout bounds the whole call: the provider would answer "verified" after 3 s, so a 300 ms timeout that
    # did not hold shows as that answer (no assertion on how long it took: a loaded machine is slow)
    url3, _ = fake("--known", registry, "--delay-ms", "3000")
    rc, out, err = verify(url3, "张三", known_id, "--timeout-ms", "300")
    check(rc == 2 and "timed out" in err.lower() and out.get("result") != "verified", "timeout: %r %r" % (rc, err))

    # an answer larger than 1 MiB is not read
    url4, _ = fake("--known", registry, "--pad-bytes", str(2 << 20))
    rc, out, err = verify(url4, "张三", known_id)
    check(rc == 2 and "larger than 1 MiB" in err, "large answer: %r %r" % (rc, err))
    url5, _ = fake("--known", registry, "--pad-bytes", str(500 << 10))
    rc, out, err = verify(url5, "张三", known_id)
    check(rc == 0 and out.get("result") == "verified", "half-MiB answer read: %r %r" % (rc, err))

    # nothing listening, and protocols other than http and https
    closed = url.rsplit(":", 1)[0] + ":1/verify"
    rc, out, err = verify(closed, "张三", known_id)
    check(rc == 2 and "identity provider:" in err, "refused connection: %r %r" % (rc, err))
    rc, out, err = verify("file:///etc/passwd", "张三", known_id)
    check(rc == 2 and "identity provider:" in err, "file: URL refused: %r %r" % (rc, err))

    # the check command on its own
    r = subprocess.run([HEGUI, "identity", "check", "--name", "李四", "--id", x_id.lower(), "--phone",
                        "0086 13800138000"], capture_output=True, text=True)
    out = json.loads(r.stdout) if r.returncode == 0 else {}
    check(r.returncode == 0 and out.get("id_number") == x_id and out.get("phone") == "13800138000"
          and out.get("adult_from") == "2022-03-01T00:00+08:00", "identity check: %r %r" % (r.stdout, r.stderr))
    r = subprocess.run([HEGUI, "identity", "check", "--name", "李四", "--id", known_id[:6] + known_id[8:17]],
                       capture_output=True, text=True)
    check(r.returncode == 1 and "15-digit" in r.stderr, "15 digits refused: %r" % r.stderr)


try:
    main()
finally:
    for p in PROCS:
        p.terminate()
        p.wait(timeout=10)
print("%d checks passed, %d failed" % (PASSES[0], len(FAILS)))
sys.exit(1 if FAILS else 0)
