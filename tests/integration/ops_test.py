#!/usr/bin/env python3
"""ops_test.py HEGUI SAMPLE_UPSTREAM — what an operator of the service relies on (issue 19):
- `hegui config check FILE`: exit 0 for a valid file, 2 with the FILE:LINE: KEY: message `serve` gives at start;
- `hegui config show [FILE]`: the effective configuration as YAML that check accepts and show prints again the same,
  credentials masked (the secret itself never printed);
- logs: log.format json makes every line of standard error a JSON object; one access line per request with the
  request id (the X-Request-Id sent back, or the client's), the key's id and never the key, route, status, verdict,
  upstream and total time; log.access false turns them off, log.level error drops info lines;
- sd_notify: with NOTIFY_SOCKET on a unix datagram socket this test listens on, serve sends READY=1 when it listens,
  RELOADING=1 then READY=1 around a SIGHUP, WATCHDOG=1 when WATCHDOG_USEC asks for it, STOPPING=1 on SIGTERM."""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hgtest import chat, check, keys_create, report, request, start  # noqa: E402

HEGUI, UPSTREAM = sys.argv[1], sys.argv[2]
TMP = tempfile.mkdtemp(prefix="hg-ops-")


def write(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def run(*args):
    return subprocess.run([HEGUI, *args], capture_output=True, text=True)


def config_check_and_show():
    good = write("good.yaml", "upstream:\n  url: http://127.0.0.1:9\n  api_key: sk-upstream-SECRET\n"
                 "policy:\n  rules:\n    - {name: digits, pattern: 'a[0-9]{1,4}', category: A1a, action: review}\n"
                 "  actions: {default: review, A1a: block}\nclassifier:\n  thresholds: {insult: 0.75}\n"
                 "guard:\n  api_key: guard-SECRET\n  categories: {S10: A2a}\nidentity:\n  provider:\n"
                 "    token: idv-SECRET\nminors:\n  closed_hours: \"23:00-07:30\"\ntimezone: \"-05:30\"\n"
                 "log:\n  format: json\n  level: warn\n  access: false\n")
    r = run("config", "check", good)
    check(r.returncode == 0, "config check of a valid file: exit 0 (got %d: %s)" % (r.returncode, r.stderr))
    bad = write("bad.yaml", "upstream:\n  url: http://127.0.0.1:9\n  timeout_ms: 5\n")
    r = run("config", "check", bad)
    check(r.returncode == 2, "config check of a file with an unknown key: exit 2 (got %d)" % r.returncode)
    check("%s:3: unknown key 'upstream.timeout_ms'" % bad in r.stderr, "the message names file:line and key: %r" % r.stderr)
    s = subprocess.run([HEGUI, "serve", "--config", bad], capture_output=True, text=True, timeout=60)
    check(s.returncode == 2 and s.stderr == r.stderr, "serve gives the same message at start: %r" % s.stderr)
    r = run("config", "check", write("range.yaml", "workers: 0\n"))
    check(r.returncode == 2 and ":1: workers: expected a whole number (1-256)" in r.stderr, "a value out of range: %r" % r.stderr)
    r = run("config", "check", os.path.join(TMP, "missing.yaml"))
    check(r.returncode == 2 and "missing.yaml" in r.stderr, "a missing file: exit 2")

    shown = run("config", "show", good)
    check(shown.returncode == 0, "config show: exit 0")
    out = shown.stdout
    check("SECRET" not in out, "config show never prints a credential")
    check(out.count('"********"') == 3, "the three credentials are shown masked: %d" % out.count('"********"'))
    for want in ["timezone: \"-05:30\"", "closed_hours: \"23:00-07:30\"", "thresholds: {\"insult\": 0.75}",
                 "categories: {\"S10\": A2a}", "format: json", "access: false", "level: warn",
                 "{name: \"digits\", pattern: \"a[0-9]{1,4}\", category: A1a, action: review}", "A1b: review",
                 "pii: redact"]:
        check(want in out, "config show has %r" % want)
    again = write("shown.yaml", out)
    r = run("config", "check", again)
    check(r.returncode == 0, "config check accepts what config show printed: %s" % r.stderr)
    twice = run("config", "show", again).stdout
    check(twice.split("\n", 1)[1] == out.split("\n", 1)[1], "config show of config show's output is the same")
    defaults = run("config", "show").stdout
    check("listen: \"127.0.0.1:8080\"" in defaults and "data_dir: \"./hegui-data\"" in defaults, "config show without a file: the defaults")
    keys = run("config", "keys").stdout.splitlines()
    paths = [k.split("\t")[0] for k in keys]
    check({"log.level", "log.format", "log.access", "upstream.url", "guard.policies"} <= set(paths), "config keys lists the keys")


def start_gateway(cfg, env=None):
    return start([HEGUI, "serve", "--config", cfg, "--listen", "127.0.0.1:0"], "serving on", TMP, env=env)


def log_lines(p):
    with open(p.log) as f:
        return f.read().splitlines()


def stop(p):
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=60)


def logs(up_port):
    data = os.path.join(TMP, "data")
    key = keys_create(HEGUI, data, "alice")
    cfg = write("json.yaml", "data_dir: %s\nupstream:\n  url: http://127.0.0.1:%d\n"
                "log:\n  format: json\n" % (data, up_port))
    gw, port = start_gateway(cfg)
    h = {}
    try:
        s, _ = request(port, "GET", "/healthz", headers_out=h)
        check(s == 200 and len(h.get("x-request-id", "")) == 16, "a request id is sent back: %r" % h.get("x-request-id"))
        health_id = h.get("x-request-id")
        s, j = chat(port, key, "echo: hello there")
        check(s == 200, "a chat answer: %d" % s)
        s, _ = request(port, "GET", "/v1/models", key="not-a-key")
        check(s == 401, "a wrong key: 401")
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        c.request("GET", "/no/such/path?q=1", headers={"X-Request-Id": "client-chosen.id_1"})
        r = c.getresponse()
        r.read()
        c.close()
        check(r.status == 404 and r.getheader("X-Request-Id") == "client-chosen.id_1", "the client's request id is kept")
        s, _ = request(port, "POST", "/v1/chat/completions", body={"model": "m", "messages": "x"}, key=key)
        check(s == 400, "a malformed chat request: 400 (%d)" % s)
    finally:
        stop(gw)
    lines = log_lines(gw)
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            check(False, "every line is JSON under log.format json: %r" % line)
    check(all("ts" in o and o.get("level") in ("debug", "info", "warn", "error") for o in parsed), "every line has ts and level")
    access = [o for o in parsed if o.get("event") == "access"]
    check(len(access) == 5, "one access line per request: %d" % len(access))
    check(key not in "\n".join(lines) and key[8:] not in "\n".join(lines), "the key itself is never logged")
    by_route = {o["route"]: o for o in access}
    hz = by_route.get("/healthz", {})
    check(hz.get("request_id") == health_id and hz.get("status") == 200 and hz.get("method") == "GET", "healthz: %r" % hz)
    ch = [o for o in access if o["route"] == "/v1/chat/completions" and o["status"] == 200]
    check(len(ch) == 1, "the chat answer has its line")
    ch = ch[0] if ch else {}
    check(ch.get("verdict") == "allow" and isinstance(ch.get("key_id"), int) and ch["key_id"] > 0, "chat: verdict and key id: %r" % ch)
    check(ch.get("upstream_ms", -1) >= 0 and ch.get("total_ms", -1) >= ch.get("upstream_ms", 0), "chat: upstream and total time: %r" % ch)
    bad = [o for o in access if o["route"] == "/v1/chat/completions" and o["status"] == 400]
    check(len(bad) == 1 and bad[0].get("key_id", 0) > 0 and "upstream_ms" not in bad[0], "a refused chat request: %r" % bad)
    models = by_route.get("/v1/models", {})
    check(models.get("status") == 401 and "key_id" not in models, "a wrong key: 401, no key id: %r" % models)
    nf = by_route.get("/no/such/path", {})
    check(nf.get("status") == 404 and nf.get("request_id") == "client-chosen.id_1", "the path without its query: %r" % nf)

    # access lines off, and info dropped below the level; text format keeps "hegui: " lines
    cfg = write("quiet.yaml", "data_dir: %s\nupstream:\n  url: http://127.0.0.1:%d\n"
                "log:\n  access: false\n" % (data, up_port))
    gw, port = start_gateway(cfg)
    request(port, "GET", "/healthz")
    stop(gw)
    check(not any(" access " in l for l in log_lines(gw)), "log.access false: no access lines")
    cfg = write("text.yaml", "data_dir: %s\nupstream:\n  url: http://127.0.0.1:%d\n" % (data, up_port))
    gw, port = start_gateway(cfg)
    request(port, "GET", "/readyz")
    stop(gw)
    text = [l for l in log_lines(gw) if l.startswith("hegui: access GET /readyz 200 id=")]
    check(len(text) == 1 and " key=- verdict=- upstream_ms=- total_ms=" in text[0], "text access line: %r" % text)


class Notify:
    """The systemd side of sd_notify: a unix datagram socket and the messages sent to it."""

    def __init__(self):
        self.path = os.path.join(TMP, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(30)

    def wait_for(self, word):
        """Reads messages until one has the line word; returns the messages read (a timeout fails)."""
        seen = []
        try:
            while True:
                msg = self.sock.recv(4096).decode()
                seen.append(msg)
                if word in msg.split("\n"):
                    return seen
        except socket.timeout:
            check(False, "no %s from serve (got %r)" % (word, seen))
            return seen


def sd_notify(up_port):
    n = Notify()
    data = os.path.join(TMP, "data-notify")
    cfg = write("notify.yaml", "data_dir: %s\nupstream:\n  url: http://127.0.0.1:%d\n" % (data, up_port))
    env = dict(os.environ, NOTIFY_SOCKET=n.path, WATCHDOG_USEC="200000")
    gw, port = start_gateway(cfg, env=env)
    try:
        seen = n.wait_for("READY=1")
        check(any("READY=1" in m for m in seen), "READY=1 once serving")
        s, _ = request(port, "GET", "/readyz")
        check(s == 200, "ready when it said so")
        n.wait_for("WATCHDOG=1")
        n.wait_for("WATCHDOG=1")  # fed again: the loop keeps feeding it
        gw.send_signal(signal.SIGHUP)
        seen = n.wait_for("RELOADING=1")
        seen = n.wait_for("READY=1")
        check(len(seen) >= 1, "READY=1 after the reload")
        gw.send_signal(signal.SIGTERM)
        n.wait_for("STOPPING=1")
        check(gw.wait(timeout=60) == 0, "stopped cleanly")
    finally:
        if gw.poll() is None:
            gw.kill()


def main():
    config_check_and_show()
    up, up_port = start([UPSTREAM, "--listen", "127.0.0.1:0", "--quiet"], "listening", TMP)
    try:
        logs(up_port)
        sd_notify(up_port)
    finally:
        up.kill()
    return report("ops")


if __name__ == "__main__":
    sys.exit(main())
