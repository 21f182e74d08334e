#!/usr/bin/env python3
"""webhooks_test.py HEGUI SAMPLE_UPSTREAM — notifications (docs/workflows.md, "Notifications") against a receiver in
this process (http.server on 127.0.0.1, an ephemeral port) that checks every signature on its own (hmac, the
webhook's secret) and answers by path:

- /ok accepts everything (it subscribes to every event), unless the test makes it refuse (500) or hang for a while;
- /flaky answers its first delivery 500, then makes the next attempt time out, then accepts;
- /down always answers 503.

It checks that each event (user.suspended by a reviewer and by the strike ladder, identity.rejected,
user.minor_to_adult, complaint.overdue) arrives signed and names users by pseudonym; that retries end delivered; that
an always-failing receiver ends failed after max_attempts and an admin can requeue it; that the overdue ticket is
notified exactly once when the test clock (serve --test-clock @FILE) moves past its due time and again; that a row
pending when the gateway is killed (SIGKILL) or stopped (SIGTERM, with a receiver hanging) is delivered after a
restart; the admin route's roles; the final outcomes in the audit chain and the metric."""
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hgtest import check, cn_id, keys_create, report, request, start  # noqa: E402

HEGUI, UPSTREAM = sys.argv[1], sys.argv[2]
TMP = tempfile.mkdtemp(prefix="hegui-webhooks-")
CLOCK = os.path.join(TMP, "now")
SECRETS = {"/ok": "ok-secret-0123456789abcdef", "/flaky": "flaky-secret-0123456789", "/down": "down-secret-0123456789"}
KID_ID = cn_id("20120301", seq="456")
ADULT_ID = cn_id("19851111", seq="345")
HOUR = 3600000

LOG, LOCK = [], threading.Lock()
MODE = {"ok": "accept", "flaky_first": None, "flaky_seen": 0}


def verify(path, headers, body):
    """The receiver's own check of X-Hegui-Signature: t=<ms>,v1=<hex HMAC-SHA256 of "<t>.<body>">."""
    m = re.fullmatch(r"t=(\d+),v1=([0-9a-f]{64})", headers.get("X-Hegui-Signature", ""))
    if not m:
        return False
    want = hmac.new(SECRETS[path].encode(), m.group(1).encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, m.group(2))


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        entry = {"path": self.path, "signed": verify(self.path, self.headers, body) if self.path in SECRETS else False,
                 "event": self.headers.get("X-Hegui-Event"), "delivery": self.headers.get("X-Hegui-Delivery"),
                 "type": self.headers.get("Content-Type"), "time": time.time()}
        try:
            entry["body"] = json.loads(body)
        except ValueError:
            entry["body"] = None
        status, delay = 200, 0
        if self.path == "/ok":
            mode = MODE["ok"]
            status = 500 if mode == "refuse" else 200
            delay = 4 if mode == "hang" else 0
        elif self.path == "/flaky":
            with LOCK:  # the first delivery it sees: refused, then held past the timeout, then accepted
                if MODE["flaky_first"] is None:
                    MODE["flaky_first"] = entry["delivery"]
                n = 0
                if MODE["flaky_first"] == entry["delivery"]:
                    MODE["flaky_seen"] += 1
                    n = MODE["flaky_seen"]
            status, delay = (500, 0) if n == 1 else (200, 1.5) if n == 2 else (200, 0)
        elif self.path == "/down":
            status = 503
        entry["status"] = "timeout" if delay else status  # a held call: the gateway gives up (or stops) first
        with LOCK:  # logged before the answer: a test that sees the answer finds the line
            LOG.append(entry)
        if delay:
            time.sleep(delay)
        out = b'{"ok":true}' if status == 200 else b'{"error":"not now"}'
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
        except OSError:
            pass  # the gateway gave up waiting (a timeout): nobody reads the answer


def received(pred):
    with LOCK:
        return [e for e in LOG if pred(e)]


def wait_for(what, fn, seconds=30):
    """Polls fn until it returns something true, at most seconds; the last value otherwise."""
    deadline = time.time() + seconds
    v = fn()
    while not v and time.time() < deadline:
        time.sleep(0.05)
        v = fn()
    check(bool(v), "in time: " + what)
    return v


def set_clock(ms):
    with open(CLOCK + ".tmp", "w") as f:
        f.write(str(ms))
    os.replace(CLOCK + ".tmp", CLOCK)


def deliveries(port, key, query=""):
    s, j = request(port, "GET", "/admin/webhooks/deliveries" + query, key=key)
    return j.get("deliveries", []) if s == 200 else []


def delivery(port, key, did):
    return next((d for d in deliveries(port, key, "?limit=1000") if d["id"] == did), None)


def main():
    rx = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=rx.serve_forever, daemon=True).start()
    rport = rx.server_address[1]
    up, uport = start([UPSTREAM, "--listen", "127.0.0.1:0", "--quiet"], "listening", TMP)
    data = os.path.join(TMP, "data")
    keys = {u: keys_create(HEGUI, data, u, r) for u, r in
            [("mallory", "user"), ("eve", "user"), ("bob", "user"), ("kid", "user"), ("carol", "user"),
             ("dave", "user"), ("rita", "reviewer"), ("ada", "admin"), ("otto", "auditor")]}
    cfg = os.path.join(TMP, "hegui.yaml")
    with open(cfg, "w") as f:
        f.write("data_dir: %s\nupstream:\n  url: http://127.0.0.1:%d\n"
                "strikes:\n  suspend_in_a_row: 2\ncomplaints:\n  due_hours:\n    other: 1\n"
                "webhooks:\n"
                "  - url: http://127.0.0.1:%d/ok\n    secret: %s\n    max_attempts: 20\n    retry_base_ms: 100\n"
                "    retry_max_ms: 400\n"
                "  - url: http://127.0.0.1:%d/flaky\n    secret: %s\n    events: [user.suspended]\n"
                "    timeout_ms: 500\n    max_attempts: 5\n    retry_base_ms: 100\n"
                "  - url: http://127.0.0.1:%d/down\n    secret: %s\n    events: [identity.rejected]\n"
                "    max_attempts: 3\n    retry_base_ms: 100\n"
                % (data, uport, rport, SECRETS["/ok"], rport, SECRETS["/flaky"], rport, SECRETS["/down"]))
    serve = [HEGUI, "serve", "--config", cfg, "--listen", "127.0.0.1:0", "--test-clock", "@" + CLOCK]
    gw, port = start(serve, "serving on", TMP)
    try:
        config_errors(rport)
        events(port, keys)
        retries(port, keys)
        overdue(port, keys)
        admin(port, keys)
        gw, port = survives_kill(gw, port, serve, keys)
        gw, port = survives_term(gw, port, serve, keys)
        chain_and_metrics(port, keys, data)
    finally:
        gw.send_signal(signal.SIGTERM)
        try:
            check(gw.wait(20) == 0, "the gateway stops cleanly at the end")
        except subprocess.TimeoutExpired:
            gw.kill()
        up.kill()
        rx.shutdown()
    for name in sorted(os.listdir(TMP)):  # every gateway run's stderr: no sanitizer report
        if name.startswith("log-"):
            text = open(os.path.join(TMP, name), errors="replace").read()
            check("Sanitizer" not in text and "runtime error:" not in text, "%s: no sanitizer report" % name)
    code = report("webhooks")
    if not code:
        shutil.rmtree(TMP, ignore_errors=True)
    return code


def config_errors(rport):
    for text, want in [("webhooks:\n  - url: http://127.0.0.1:%d/ok\n    secret: short\n" % rport,
                        ":3: webhooks[0].secret: expected a secret of at least 16 bytes"),
                       ("webhooks:\n  - url: ftp://x/\n    secret: 0123456789abcdef\n", ":2: webhooks[0].url"),
                       ("webhooks:\n  - url: http://x/\n    secret: 0123456789abcdef\n    events: [user.deleted]\n",
                        ":4: webhooks[0].events[0]: expected complaint.overdue"),
                       ("webhooks:\n  - url: http://x/\n    secret: 0123456789abcdef\n    retries: 3\n",
                        "unknown key 'webhooks[0].retries'"),
                       ("webhooks:\n  - secret: 0123456789abcdef\n", "webhooks[0]: a webhook needs a url and a secret")]:
        bad = os.path.join(TMP, "bad.yaml")
        with open(bad, "w") as f:
            f.write(text)
        p = subprocess.run([HEGUI, "serve", "--config", bad, "--listen", "127.0.0.1:0"], capture_output=True,
                           text=True, timeout=30)
        check(p.returncode != 0 and "bad.yaml" + want in p.stderr + p.stdout if want.startswith(":") else
              p.returncode != 0 and want in p.stderr + p.stdout, "a bad webhook is refused at start: %r" % p.stderr)


def signed_event(event, pred=lambda b: True):
    return lambda: received(lambda e: e["path"] == "/ok" and e["event"] == event and e["status"] == 200 and
                            e["body"] and pred(e["body"]))


def well_formed(e, event):
    b = e["body"]
    return (e["signed"] and e["type"] == "application/json" and b["event"] == event and
            str(b["id"]) == e["delivery"] and isinstance(b["created_ms"], int) and isinstance(b["data"], dict))


def is_pseudonym(v):
    return isinstance(v, str) and re.fullmatch(r"[0-9a-f]{32}", v) is not None


def events(port, keys):
    # user.suspended, by a reviewer
    s, j = request(port, "POST", "/admin/users/mallory/standing", {"standing": "suspended", "reason": "spam"},
                   keys["rita"])
    check(s == 200, "a reviewer suspends mallory: %s %s" % (s, j))
    got = wait_for("user.suspended (reviewer) reaches /ok",
                   signed_event("user.suspended", lambda b: b["data"].get("by") == "reviewer"))
    if got:
        e = got[0]
        d = e["body"]["data"]
        check(well_formed(e, "user.suspended"), "signed and well formed: %s" % e)
        check(is_pseudonym(d["user"]) and d["standing"] == "suspended" and d["reason"] == "spam" and
              "mallory" not in json.dumps(e["body"]), "names the user by pseudonym: %s" % d)
    # user.suspended, by the strike ladder (two strikes in a row suspend here)
    for _ in range(2):
        s, j = request(port, "POST", "/admin/users/eve/strike", {"note": "spam links"}, keys["rita"])
    check(s == 200 and j.get("standing") == "suspended", "the ladder suspends eve: %s" % j)
    got = wait_for("user.suspended (ladder) reaches /ok",
                   signed_event("user.suspended", lambda b: b["data"].get("by") == "ladder"))
    if got:
        d = got[0]["body"]["data"]
        check(well_formed(got[0], "user.suspended") and d["until_ms"] > 0 and "blocked inputs" in d["reason"],
              "the ladder's suspension says until when and why: %s" % d)
    # identity.rejected, by a reviewer (no provider configured)
    s, j = request(port, "POST", "/admin/users/bob/identity", {"name": "王五", "id_number": ADULT_ID}, keys["rita"])
    check(s == 202, "bob's identity is submitted: %s %s" % (s, j))
    s, j = request(port, "POST", "/admin/users/bob/realname", {"status": "rejected", "note": "photo does not match"},
                   keys["rita"])
    check(s == 200, "a reviewer rejects it: %s %s" % (s, j))
    got = wait_for("identity.rejected reaches /ok", signed_event("identity.rejected"))
    if got:
        d = got[0]["body"]["data"]
        check(well_formed(got[0], "identity.rejected") and is_pseudonym(d["user"]) and d["by"] == "reviewer" and
              d["note"] == "photo does not match" and "王五" not in json.dumps(got[0]["body"], ensure_ascii=False),
              "identity.rejected names the user by pseudonym, never the identity: %s" % d)
    # user.minor_to_adult: a minor's identity verified, then an adult's: the change waits for a reviewer
    request(port, "POST", "/admin/users/kid/identity", {"name": "小明", "id_number": KID_ID}, keys["rita"])
    s, j = request(port, "POST", "/admin/users/kid/realname", {"status": "verified"}, keys["rita"])
    check(s == 200 and j.get("adult_change_waits") is False, "the kid is verified as a minor: %s" % j)
    request(port, "POST", "/admin/users/kid/identity", {"name": "王五", "id_number": ADULT_ID}, keys["rita"])
    s, j = request(port, "POST", "/admin/users/kid/realname", {"status": "verified"}, keys["rita"])
    check(s == 200 and j.get("adult_change_waits") is True, "an adult identity for the kid waits: %s" % j)
    got = wait_for("user.minor_to_adult reaches /ok", signed_event("user.minor_to_adult"))
    if got:
        d = got[0]["body"]["data"]
        check(well_formed(got[0], "user.minor_to_adult") and is_pseudonym(d["user"]) and d["by"] == "reviewer",
              "user.minor_to_adult: %s" % d)
    check(not received(lambda e: e["path"] == "/flaky" and e["event"] != "user.suspended"),
          "a webhook gets only the events it subscribes to")


def retries(port, keys):
    # /flaky: 500, then a timeout, then accepted: one delivery, three attempts, the same id and body each time
    first = wait_for("/flaky accepts its first delivery on the third attempt",
                     lambda: (lambda x: x if len(x) >= 3 else None)(
                         received(lambda e: e["path"] == "/flaky" and e["delivery"] == MODE["flaky_first"])))
    if first:
        check([e["status"] for e in first] == [500, "timeout", 200], "500, timeout, accepted: %s" %
              [e["status"] for e in first])
        check(all(e["signed"] for e in first) and first[0]["body"] == first[2]["body"],
              "the same delivery and body, signed in every attempt")
        check(first[1]["time"] - first[0]["time"] >= 0.09, "the second attempt waited the backoff")
        did = int(first[0]["delivery"])
        d = wait_for("the delivery is recorded delivered",
                     lambda: (lambda x: x if x and x["state"] == "delivered" else None)(
                         delivery(port, keys["otto"], did)))
        if d:
            check(d["attempts"] == 3 and d["last_status"] == 200 and d["delivered_ms"] > 0 and
                  d["event"] == "user.suspended" and d["target"] == 1, "delivered after 3 attempts: %s" % d)
    # /down: always 503: failed after max_attempts (3)
    d = wait_for("/down's delivery fails after 3 attempts",
                 lambda: next((x for x in deliveries(port, keys["otto"], "?state=failed") if x["target"] == 2), None))
    if d:
        tries = received(lambda e: e["path"] == "/down" and e["delivery"] == str(d["id"]))
        check(d["attempts"] == 3 and d["last_status"] == 503 and "HTTP 503" in (d["last_error"] or "") and
              len(tries) == 3 and all(e["signed"] for e in tries), "failed: 3 attempts, 503: %s (%d)" % (d, len(tries)))


def overdue(port, keys):
    s, j = request(port, "POST", "/compliance/complaints", {"type": "other", "text": "an answer insulted me",
                                                            "contact": "a@example.com"})
    check(s == 201, "a complaint is filed: %s %s" % (s, j))
    first, due = j.get("id"), j.get("due_ms", 0)
    check(not received(lambda e: e["event"] == "complaint.overdue"), "not overdue yet: nothing sent")
    set_clock(due + HOUR)  # past its time limit
    got = wait_for("complaint.overdue reaches /ok", signed_event(
        "complaint.overdue", lambda b: b["data"].get("complaint_id") == first))
    if got:
        d = got[0]["body"]["data"]
        check(well_formed(got[0], "complaint.overdue") and d["type"] == "other" and d["due_ms"] == due and
              d["status"] == "received" and "contact" not in d and "text" not in d,
              "the ticket without its text or contact: %s" % d)
    # a second ticket, overdue only after the clock moves again: its event shows the check ran again
    s, j = request(port, "POST", "/compliance/complaints", {"type": "other", "text": "another one"})
    second = j.get("id")
    set_clock(j.get("due_ms", 0) + HOUR)
    wait_for("the second ticket's complaint.overdue", signed_event(
        "complaint.overdue", lambda b: b["data"].get("complaint_id") == second))
    ones = received(lambda e: e["event"] == "complaint.overdue" and e["body"]["data"].get("complaint_id") == first)
    check(len(ones) == 1, "the first ticket was notified exactly once: %d" % len(ones))
    os.unlink(CLOCK)  # the system's clock again


def admin(port, keys):
    s, j = request(port, "GET", "/admin/webhooks/deliveries", key=keys["mallory"])
    check(s == 403, "a user key cannot list deliveries: %s" % s)
    s, j = request(port, "GET", "/admin/webhooks/deliveries?state=lost", key=keys["otto"])
    check(s == 400, "an unknown state is a 400: %s" % s)
    s, j = request(port, "GET", "/admin/webhooks/deliveries?limit=2", key=keys["rita"])
    check(s == 200 and len(j["deliveries"]) == 2 and j["deliveries"][0]["id"] > j["deliveries"][1]["id"],
          "a reviewer lists the newest first, limited: %s" % s)
    failed = [d for d in deliveries(port, keys["otto"], "?state=failed") if d["target"] == 2]
    done = deliveries(port, keys["otto"], "?state=delivered")
    if not failed or not done:
        check(False, "a failed and a delivered delivery to requeue")
        return
    did = failed[0]["id"]
    s, j = request(port, "POST", "/admin/webhooks/deliveries/%d/retry" % did, key=keys["rita"])
    check(s == 403, "a reviewer cannot requeue: %s" % s)
    s, j = request(port, "POST", "/admin/webhooks/deliveries/%d/retry" % done[0]["id"], key=keys["ada"])
    check(s == 409, "a delivered one is not requeued: %s %s" % (s, j))
    s, j = request(port, "POST", "/admin/webhooks/deliveries/999999/retry", key=keys["ada"])
    check(s == 404, "an unknown one is a 404: %s" % s)
    before = len(received(lambda e: e["delivery"] == str(did)))
    s, j = request(port, "POST", "/admin/webhooks/deliveries/%d/retry" % did, key=keys["ada"])
    check(s == 200 and j["state"] == "pending", "an admin requeues the failed one: %s %s" % (s, j))
    wait_for("the requeued delivery makes a new round and fails again",
             lambda: (lambda x: x and x["state"] == "failed" and
                      len(received(lambda e: e["delivery"] == str(did))) == before + 3)(delivery(port, keys["otto"],
                                                                                                 did)))


def suspend(port, keys, user):
    s, j = request(port, "POST", "/admin/users/%s/standing" % user, {"standing": "suspended"}, keys["rita"])
    check(s == 200, "%s suspended: %s" % (user, s))
    return wait_for("%s's delivery to /ok is enqueued" % user,
                    lambda: next((d for d in deliveries(port, keys["otto"], "?limit=1000")
                                  if d["event"] == "user.suspended" and d["target"] == 0 and d["id"] not in SEEN),
                                 None))


SEEN = set()


def survives_kill(gw, port, serve, keys):
    for d in deliveries(port, keys["otto"], "?limit=1000"):
        SEEN.add(d["id"])
    MODE["ok"] = "refuse"
    d = suspend(port, keys, "carol")
    if not d:
        return gw, port
    did = d["id"]
    wait_for("carol's delivery was refused at least once", lambda: (lambda x: x and x["attempts"] >= 1 and
                                                                     x["state"] == "pending")(delivery(port, keys["otto"], did)))
    gw.kill()  # SIGKILL: no chance to do anything
    gw.wait(10)
    MODE["ok"] = "accept"
    gw, port = start(serve, "serving on", TMP)
    wait_for("after a restart the row pending at SIGKILL is delivered",
             lambda: received(lambda e: e["delivery"] == str(did) and e["status"] == 200 and e["signed"]))
    SEEN.add(did)
    return gw, port


def survives_term(gw, port, serve, keys):
    MODE["ok"] = "hang"  # the receiver holds the call for 4 s (the webhook's timeout is 5 s)
    d = suspend(port, keys, "dave")
    if not d:
        return gw, port
    did = d["id"]
    wait_for("the call to the hanging receiver is under way", lambda: received(lambda e: e["delivery"] == str(did)))
    t0 = time.time()
    gw.send_signal(signal.SIGTERM)
    try:
        rc = gw.wait(20)
    except subprocess.TimeoutExpired:
        gw.kill()
        rc = None
    check(rc == 0 and time.time() - t0 < 3.5, "SIGTERM stops at once, the call aborted: rc %s in %.1f s" %
          (rc, time.time() - t0))
    MODE["ok"] = "accept"
    gw, port = start(serve, "serving on", TMP)
    wait_for("after a restart the row in flight at SIGTERM is delivered",
             lambda: received(lambda e: e["delivery"] == str(did) and e["status"] == 200), seconds=40)
    return gw, port


def chain_and_metrics(port, keys, data):
    out = subprocess.run([HEGUI, "audit", "export", "--data-dir", data], capture_output=True, text=True).stdout
    recs = [json.loads(line) for line in out.split("\n") if line.strip()]
    hooks = [r for r in recs if r.get("route") == "webhooks/delivery"]
    check(any(r["verdict"] == "delivered" for r in hooks) and any(r["verdict"] == "failed" for r in hooks),
          "final outcomes are in the chain: %s" % sorted({r["verdict"] for r in hooks}))
    check(any(r.get("route") == "admin/webhook-retry" for r in recs), "the requeue is in the chain")
    s, text = request(port, "GET", "/metrics")
    # the counts of this run of the gateway (restarted): a delivery of dave's suspension at least
    check('hegui_webhook_deliveries_total{event="user.suspended",result="delivered"}' in text and
          re.search(r'hegui_webhook_deliveries_total\{event="user.suspended",result="delivered"\} [1-9]', text),
          "the metric counts deliveries")


if __name__ == "__main__":
    sys.exit(main())
