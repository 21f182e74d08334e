#!/usr/bin/env python3
"""hostile_test.py HEGUI SAMPLE_UPSTREAM — what an attacker tried against `hegui serve`, each case as it was found.

Timeouts are configured short (a second or two) so that every case is decided by what the client receives, never
by sleeping and hoping: streams that pause (kept open with SSE comments, cut only by the upstream idle timeout),
clients that trickle a request head or body (a total deadline, not one that restarts on every byte), request heads
a front proxy could read another way (400), lexicon paths that are not regular files, user names with format
characters, a reviewer's own standing, and limiters that count per gateway rather than per worker thread."""
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

HEGUI, UPSTREAM = sys.argv[1], sys.argv[2]
TMP = tempfile.mkdtemp(prefix="hegui-hostile-")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hgtest  # noqa: E402
from hgtest import FAILS, PASSES, check, request  # noqa: E402,F401

IDLE_MS = 4000  # upstream.idle_timeout_ms of the gateway under test
HEAD_MS = 1000  # limits.header_timeout_ms and limits.body_timeout_ms


def start(cmd, word, env=None):
    return hgtest.start(cmd, word, TMP, env)


def keys_create(data, user, role="user"):
    return hgtest.keys_create(HEGUI, data, user, role)


def raw_stream(port, key, text, timeout=30):
    """A streamed chat answer read as raw bytes until the server ends it; returns (status, body text, seconds)."""
    body = json.dumps({"model": "sample-1", "messages": [{"role": "user", "content": text}], "stream": True})
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    t0 = time.time()
    c.request("POST", "/v1/chat/completions", body=body.encode(),
              headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    r = c.getresponse()
    out = b""
    try:
        while True:
            piece = r.read1(65536) if hasattr(r, "read1") else r.read(1)
            if not piece:
                break
            out += piece
    except (http.client.IncompleteRead, ConnectionError) as e:
        out += getattr(e, "partial", b"") or b""
    c.close()
    return r.status, out.decode("utf-8", "replace"), time.time() - t0


def last_record(data, route="/v1/chat/completions"):
    recs = [r for r in hgtest.records(HEGUI, data) if r.get("route") == route]
    return recs[-1] if recs else {}


def count_records(data, route="/v1/chat/completions"):
    return len([r for r in hgtest.records(HEGUI, data) if r.get("route") == route])


def record_after(data, before, route="/v1/chat/completions", seconds=15):
    """The first record of route after the first `before` ones, waiting for it to be written: an error answer
    (a 504, a stream cut with an error event) may reach the client before its record is committed."""
    end = time.monotonic() + seconds
    while True:
        recs = [r for r in hgtest.records(HEGUI, data) if r.get("route") == route]
        if len(recs) > before or time.monotonic() > end:
            return recs[before] if len(recs) > before else {}
        time.sleep(0.05)


def stream_text(raw):
    """The answer text of a raw event stream."""
    text = ""
    for block in raw.split("\n\n"):
        if block.startswith("data: {"):
            choice = (json.loads(block[6:]).get("choices") or [{}])[0]
            text += (choice.get("delta") or {}).get("content") or ""
    return text


def detail_of(rec):
    d = rec.get("detail_json")
    return json.loads(d) if isinstance(d, str) else (d or {})


def raw_exchange(port, chunks, gap=0.0, timeout=5.0):
    """Sends chunks over one connection (gap seconds apart, stopping if the server closes) and reads until it
    closes; returns (status or None, the whole answer, seconds from the first byte sent to the end)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    t0 = time.time()
    out = b""
    try:
        for i, piece in enumerate(chunks):
            if i and gap:
                time.sleep(gap)
            try:
                s.sendall(piece)
            except OSError:
                break
            s.setblocking(False)
            try:  # an answer already there ends the trickle
                got = s.recv(65536)
                out += got
                if not got or b"\r\n\r\n" in out:
                    break
            except BlockingIOError:
                pass
            finally:
                s.setblocking(True)
                s.settimeout(timeout)
        while True:
            got = s.recv(65536)
            if not got:
                break
            out += got
    except OSError:
        pass
    secs = time.time() - t0
    s.close()
    status = int(out.split(b" ")[1]) if out.startswith(b"HTTP/1.") else None
    return status, out, secs


def slow_clients(port, key):
    # 2. a head trickled one byte every 0.1 s: the deadline counts from its first byte, so it is cut near 1 s with
    # a 408, long before it would be complete (evhttp's own timeout restarts on every byte)
    head = b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-Slow: " + b"a" * 40 + b"\r\n\r\n"
    status, out, secs = raw_exchange(port, [head[i:i + 1] for i in range(len(head))], gap=0.1)
    check(status == 408 and secs < HEAD_MS / 1000 + 1.5,
          "a trickled head is answered 408 at limits.header_timeout_ms (%.1f s): %r" % (secs, out[:120]))
    # the body: a whole head, then one byte every 0.1 s of a 60-byte body
    head = ("POST /v1/moderations HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: application/json\r\nContent-Length: 60\r\n\r\n" % key).encode()
    body = json.dumps({"input": "x" * 45}).encode().ljust(60)
    status, out, secs = raw_exchange(port, [head] + [body[i:i + 1] for i in range(len(body))], gap=0.1)
    check(status == 408 and secs < HEAD_MS / 1000 + 1.5,
          "a trickled body is answered 408 at limits.body_timeout_ms (%.1f s): %r" % (secs, out[:120]))
    # a client as fast as it should be is not troubled, on a connection kept alive for three requests
    good = ("POST /v1/moderations HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer %s\r\n"
            "Transfer-Encoding: chunked\r\n\r\n" % key).encode()
    b = json.dumps({"input": "hello"}).encode()
    chunked = good + b"%x\r\n%s\r\n0\r\n\r\n" % (len(b), b)  # (evhttp answers 413 to chunk extensions)
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    answers = 0
    for _ in range(3):
        s.sendall(chunked)
        got = b""
        while b'"results"' not in got or not got.rstrip().endswith(b"}"):
            piece = s.recv(65536)
            if not piece:
                break
            got += piece
        answers += got.startswith(b"HTTP/1.1 200")
        time.sleep(0.6)  # between requests: the idle wait is not a head deadline
    s.close()
    check(answers == 3, "a chunked body is read, and a kept-alive connection serves request after request")


BAD_HEADS = [
    ("two different Content-Length headers",
     b"POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 4\r\n\r\nabcd"),
    ("Content-Length: +4", b"POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: +4\r\n\r\nabcd"),
    ("Transfer-Encoding : chunked", b"POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n"),
    ("a NUL byte in a header value", b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-Note: a\x00b\r\n\r\n"),
    ("two Authorization headers",
     b"GET /healthz HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n"),
    ("Content-Length and Transfer-Encoding",
     b"POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("Transfer-Encoding: gzip, chunked",
     b"POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"),
    ("a folded header line", b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n"),
    ("a bare LF", b"GET /healthz HTTP/1.1\nHost: a\n\n"),
]


def lenient_heads(port):
    # 3. heads a front proxy could read otherwise: 400, in OpenAI's error shape, and the connection closed
    for what, head in BAD_HEADS:
        status, out, secs = raw_exchange(port, [head], timeout=3)
        # evhttp itself refuses a head with both Content-Length and Transfer-Encoding (its own HTML 400) before
        # the router; every other case reaches the router, which answers from the strict reader's verdict
        shaped = b'"invalid_request_error"' in out or what == "Content-Length and Transfer-Encoding"
        check(status == 400 and shaped and b"Connection: close" in out, "%s is a 400: %r" % (what, out[:160]))
    status, out, secs = raw_exchange(port, [b"GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"])
    check(status == 200, "a plain head is still served: %r" % out[:80])


def pauses(port, key, data):
    # 1. a pause inside a stream, longer than the head/body timeouts and shorter than the idle timeout: the client
    # stays connected, gets keep-alive comments while the upstream is silent, and the whole answer with [DONE]
    before = count_records(data)
    status, raw, secs = raw_stream(port, key, "你好 __pause__")
    check(status == 200 and "data: [DONE]" in raw, "a stream that pauses 2.5 s is not cut (%.1f s): %r" % (secs, raw[-300:]))
    check(": keep-alive\n\n" in raw, "keep-alive comments are sent while the upstream is silent: %r" % raw)
    check('"error"' not in raw, "no error event in a paused stream")
    d = detail_of(record_after(data, before))
    check(not d.get("client_gone") and not d.get("upstream_error"), "the record of a paused stream is clean: %s" % d)
    whole = stream_text(raw)
    # the upstream silent from the start (after its role chunk) past the idle timeout: nothing was sent to the
    # client yet, so an HTTP error that names the idle timeout, at the idle timeout
    before = count_records(data)
    t0 = time.time()
    status, j = hgtest.chat(port, key, "你好 __stall__", stream=True)
    secs = time.time() - t0
    msg = json.dumps(j, ensure_ascii=False)
    check(status == 504 and "idle" in msg, "a stall before any text is a 504 naming the idle timeout: %s %s" % (status, msg))
    # not before the idle timeout; and at all (the stall itself never ends: only the timeout can end the request)
    check(IDLE_MS / 1000 - 0.5 < secs, "the stall is not cut before the idle timeout: %.1f s" % secs)
    d = detail_of(record_after(data, before))
    check(not d.get("client_gone") and "idle" in d.get("upstream_error", ""),
          "the record says the upstream went idle, not that the client left: %s" % d)
    return whole


def idle_mid_stream(port, key, data, whole):
    # a pause longer than upstream.idle_timeout_ms after text was sent: an error event and [DONE], and the record
    # names the upstream's silence
    before = count_records(data)
    status, raw, secs = raw_stream(port, key, "你好 __pause__")
    check(status == 200 and '"error"' in raw and "idle" in raw and raw.rstrip().endswith("data: [DONE]"),
          "a pause past the idle timeout ends with an error event and [DONE]: %r" % raw[-300:])
    # ended at the idle timeout, not when the upstream went on: the text after the pause never came
    notice = "\n\n本内容由人工智能生成"  # labels.notice, added to every answer, a cut one too
    text, whole = stream_text(raw).split(notice)[0], (whole or "").split(notice)[0]
    check(whole and whole.startswith(text) and len(text) < len(whole),
          "the stream is ended at the idle timeout, before the rest of the answer (%d of %d characters, %.1f s)"
          % (len(text), len(whole or ""), secs))
    d = detail_of(record_after(data, before))
    check(not d.get("client_gone") and "idle" in d.get("upstream_error", ""),
          "the record says the upstream went idle mid-stream: %s" % d)


def limiters(port):
    # 6. the complaint intake's limit (3 a minute here) is the gateway's, whatever worker a connection lands on:
    # twelve complaints on twelve connections (SO_REUSEPORT spreads them over both workers) get 3 tickets, and each
    # refusal says when to come back
    if time.time() % 60 > 55:  # one window for the whole burst
        time.sleep(61 - time.time() % 60)
    codes, retry = [], []
    for i in range(12):
        h = {}
        st, j = request(port, "POST", "/compliance/complaints", {"type": "other", "text": "complaint %d" % i,
                                                                 "contact": "x@example.com"}, headers_out=h)
        codes.append(st)
        if st == 429:
            retry.append(h.get("retry-after", ""))
    check(sum(c in (200, 201) for c in codes) == 3, "3 complaints a minute for the whole gateway: %s" % codes)
    check(retry and all(r.isdigit() and 1 <= int(r) <= 60 for r in retry),
          "the intake's 429 carries Retry-After: %s" % retry)


def names_and_standing(port, data, admin, reviewer):
    # 5. names with format characters (U+202E turns "eve\u202ecod.exe" around) or controls are refused: the CLI,
    # the admin key route and the admin user routes
    for name in ("eve\u202e", "a\u200bb", "x\u0085y", "tag\U000e0041"):
        r = subprocess.run([HEGUI, "keys", "create", "--data-dir", data, "--user", name], capture_output=True, text=True)
        check(r.returncode != 0 and ("format character" in r.stderr or "control character" in r.stderr),
              "hegui keys create refuses %r: %s" % (name, r.stderr.strip()))
        st, j = request(port, "POST", "/admin/keys", {"user": name, "role": "user"}, admin)
        check(st == 400, "POST /admin/keys refuses %r: %s %s" % (name, st, j))
    st, j = request(port, "POST", "/admin/users/eve%E2%80%AE/minor", {"minor": True}, admin)
    check(st in (400, 404), "the admin user routes refuse such a name too: %s %s" % (st, j))
    # a reviewer, suspended, cannot lift the suspension; nobody changes their own standing
    st, j = request(port, "POST", "/admin/users/rita/standing", {"standing": "suspended", "reason": "test"}, admin)
    check(st == 200, "an admin suspends a reviewer: %s %s" % (st, j))
    # the suspended user is told the real cause: a person's decision, not "repeatedly submitting prohibited content"
    st, j = request(port, "POST", "/v1/chat/completions",
                    {"model": "sample-1", "messages": [{"role": "user", "content": "你好"}]}, reviewer)
    msg = (j.get("error") or {}).get("message", "") if isinstance(j, dict) else ""
    check(st == 403 and "reviewer" in msg and "prohibited" not in msg,
          "a reviewer's suspension names its real cause: %s %r" % (st, msg))
    # and a timed one too (the ladder's are timed: the message must still tell them apart)
    until = int(time.time() * 1000) + 3600 * 1000
    st, j = request(port, "POST", "/admin/users/bob/standing",
                    {"standing": "suspended", "until_ms": until, "reason": "abuse of the complaint channel"}, admin)
    check(st == 200, "an admin suspends bob for an hour: %s %s" % (st, j))
    bob = keys_create(data, "bob")
    st, j = request(port, "POST", "/v1/chat/completions",
                    {"model": "sample-1", "messages": [{"role": "user", "content": "你好"}]}, bob)
    msg = (j.get("error") or {}).get("message", "") if isinstance(j, dict) else ""
    check(st == 403 and "reviewers" in msg and "prohibited" not in msg and "suspended until" in msg,
          "a timed suspension by a person names its cause: %s %r" % (st, msg))
    st, j = request(port, "POST", "/admin/users/rita/standing", {"standing": "active", "reason": "mine"}, reviewer)
    check(st == 403, "a reviewer cannot lift their own suspension: %s %s" % (st, j))
    st, j = request(port, "POST", "/admin/users/ada/standing", {"standing": "terminated", "reason": "oops"}, admin)
    check(st == 403, "an admin cannot change their own standing either: %s %s" % (st, j))
    st, j = request(port, "POST", "/admin/users/rita/standing", {"standing": "active", "reason": "back"}, admin)
    check(st == 200, "another person can: %s %s" % (st, j))


def upload_off_loop(data, uport):
    # a configuration whose lexicon is large is loaded off the event loop: on a gateway of one worker, /healthz is
    # answered while the policy upload compiles its 100,000-entry lexicon. The upload is a small body (the YAML
    # names the lexicon file), so that the time between sending it and its answer is the compile, and what is
    # counted is an ordering (answers that came back in that window), not a duration.
    cfg = os.path.join(TMP, "one-worker.yaml")
    base = "data_dir: %s\nworkers: 1\nupstream:\n  url: http://127.0.0.1:%d\n" % (data, uport)
    with open(cfg, "w") as f:
        f.write(base)
    big = os.path.join(TMP, "big-lexicon.tsv")
    with open(big, "w") as f:
        f.write("".join("词条%07d\tA1h\t3\tblock\tfolded,noise\n" % i for i in range(100000)))
    admin = keys_create(data, "ollie", "admin")
    gw, port = start([HEGUI, "serve", "--config", cfg, "--listen", "127.0.0.1:0"], "serving on")
    try:
        done = {}

        def upload():
            done["r"] = request(port, "PUT", "/admin/policy", raw=(base + "lexicon: %s\n" % big).encode(), key=admin,
                                content_type="text/yaml")[0]

        t = threading.Thread(target=upload)
        t.start()
        during = 0
        while "r" not in done and t.is_alive():  # /healthz until the upload has answered
            st, _ = request(port, "GET", "/healthz")
            during += st == 200 and "r" not in done
        t.join(120)
        # compiled on the loop, at most the one /healthz already waiting could come back before the upload's answer
        check(done.get("r") == 200 and during >= 5,
              "a policy with a 100,000-entry lexicon is loaded off the loop: %d /healthz answered meanwhile (%s)"
              % (during, done.get("r")))
    finally:
        gw.kill()


def lexicon_paths(port, data, admin, cfg):
    # a lexicon path that is not a regular file, or names an empty one, is refused at once (422), the running
    # configuration stays, and the gateway keeps answering
    with open(cfg) as f:
        base = f.read()
    fifo = os.path.join(TMP, "lexicon.fifo")
    os.mkfifo(fifo)
    empty = os.path.join(TMP, "empty.txt")
    open(empty, "w").close()
    for path, want in (("/dev/zero", "not a regular file"), (fifo, "not a regular file"), (TMP, "not a regular file"),
                       (empty, "no entries")):
        t0 = time.time()
        st, j = request(port, "PUT", "/admin/policy", raw=(base + "lexicon: %s\n" % path).encode(), key=admin,
                        content_type="text/yaml")
        took = time.time() - t0
        # a read that never ends would time the request out (60 s in hgtest.request): no assertion on the time
        check(st == 422 and want in json.dumps(j, ensure_ascii=False),
              "lexicon: %s is refused (%s) in %.1f s: %s %s" % (path, want, took, st, j))
        st, _ = request(port, "GET", "/healthz")
        check(st == 200, "the gateway still answers after lexicon: %s" % path)
    st, j = request(port, "PUT", "/admin/policy",
                    raw=(base + "lexicon: %s\npolicy:\n  allow_empty_lexicon: true\n" % empty).encode(), key=admin,
                    content_type="text/yaml")
    check(st == 200, "an empty lexicon on purpose (policy.allow_empty_lexicon: true) is taken: %s %s" % (st, j))
    st, j = request(port, "PUT", "/admin/policy", raw=base.encode(), key=admin, content_type="text/yaml")
    check(st == 200, "the configuration goes back: %s %s" % (st, j))
    # the command line and the server refuse them the same way
    r = subprocess.run([HEGUI, "check", "--lexicon", "/dev/zero", "x"], capture_output=True, text=True, timeout=20)
    check(r.returncode == 2 and "not a regular file" in r.stderr, "hegui check --lexicon /dev/zero: %r" % r.stderr)
    r = subprocess.run([HEGUI, "serve", "--data-dir", data, "--listen", "127.0.0.1:0", "--lexicon", empty],
                       capture_output=True, text=True, timeout=20)
    check(r.returncode != 0 and "no entries" in r.stderr, "hegui serve refuses an empty lexicon: %r" % r.stderr[-300:])


def main():
    up, uport = start([UPSTREAM, "--listen", "127.0.0.1:0", "--quiet"], "listening")
    data = os.path.join(TMP, "data")
    user = keys_create(data, "alice")
    admin = keys_create(data, "ada", "admin")
    reviewer = keys_create(data, "rita", "reviewer")
    cfg = os.path.join(TMP, "hegui.yaml")
    with open(cfg, "w") as f:
        f.write("data_dir: %s\nworkers: 2\nupstream:\n  url: http://127.0.0.1:%d\n  idle_timeout_ms: %d\n"
                "limits:\n  header_timeout_ms: %d\n  body_timeout_ms: %d\ncomplaints:\n  rate_per_minute: 3\n"
                % (data, uport, IDLE_MS, HEAD_MS, HEAD_MS))
    serve = [HEGUI, "serve", "--config", cfg, "--listen", "127.0.0.1:0"]
    gw, port = start(serve, "serving on")
    try:
        names_and_standing(port, data, admin, reviewer)
        lexicon_paths(port, data, admin, cfg)
        limiters(port)
        lenient_heads(port)
        slow_clients(port, user)
        whole = pauses(port, user, data)
    finally:
        gw.kill()
    upload_off_loop(data, uport)
    # a second gateway whose idle timeout (1.5 s) is shorter than the upstream's __pause__ (2.5 s)
    cfg2 = os.path.join(TMP, "idle.yaml")
    with open(cfg2, "w") as f:
        f.write("data_dir: %s\nupstream:\n  url: http://127.0.0.1:%d\n  idle_timeout_ms: 1500\n" % (data, uport))
    gw, port = start([HEGUI, "serve", "--config", cfg2, "--listen", "127.0.0.1:0"], "serving on")
    try:
        idle_mid_stream(port, user, data, whole)
    finally:
        gw.kill()
        up.kill()
    return hgtest.report("hostile")


if __name__ == "__main__":
    sys.exit(main())
