#!/usr/bin/env python3
"""durability_test.py HEGUI SAMPLE_UPSTREAM — audit.durability under kill -9: clients hammer the gateway with whole
and streamed answers; the gateway is killed with SIGKILL while requests are in flight; every answer a client
received whole (a complete JSON body, or a stream through its [DONE]) must have its audit record in the chain.
Checked for `group` (the default: many records per sync, the last byte after the commit) and `sync`. `async` is
run too and its losses are printed, not checked: it promises no more (docs/store.md, "Durability")."""
import http.client
import json
import os
import signal
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hgtest  # noqa: E402
from hgtest import check, keys_create, report, start  # noqa: E402

HEGUI, UPSTREAM = sys.argv[1], sys.argv[2]
TMP = tempfile.mkdtemp(prefix="hg-durability-")
CLIENTS = 6
KILL_AFTER = 150  # completed answers before the kill


def one(port, key, i, stream):
    """One request; returns its response id when the answer arrived whole, else None."""
    body = {"model": "sample-1", "stream": stream,
            "messages": [{"role": "user", "content": "echo: 第%d个回答，需要完整记录" % i}]}
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("POST", "/v1/chat/completions", body=json.dumps(body).encode(),
                  headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
        r = c.getresponse()
        raw = r.read().decode("utf-8", "replace")
        c.close()
    except (OSError, http.client.HTTPException):
        return None
    if r.status != 200:
        return None
    if not stream:
        try:
            j = json.loads(raw)
        except ValueError:
            return None
        return j.get("id") if j.get("choices") else None
    if not raw.rstrip().endswith("data: [DONE]"):
        return None
    rid = None
    for block in raw.split("\n\n"):
        if block.startswith("data: {"):
            rid = json.loads(block[6:]).get("id") or rid
    return rid


def run(mode):
    data = os.path.join(TMP, mode)
    up, up_port = start([UPSTREAM, "--listen", "127.0.0.1:0", "--quiet"], "listening", TMP)
    cfg = os.path.join(TMP, mode + ".yaml")
    with open(cfg, "w") as f:
        f.write("data_dir: %s\nupstream:\n  url: http://127.0.0.1:%d\naudit:\n  durability: %s\n"
                "strikes: {suspend_in_a_row: 1000, suspend_per_day: 100000}\n" % (data, up_port, mode))
    key = keys_create(HEGUI, data, "loader")
    gw, port = start([HEGUI, "serve", "--config", cfg, "--listen", "127.0.0.1:0"], "serving on", TMP)
    done, lock, stop = [], threading.Lock(), threading.Event()
    enough = threading.Event()

    def client(n):
        i = 0
        while not stop.is_set():
            rid = one(port, key, n * 100000 + i, stream=(i % 2 == 1))
            i += 1
            if rid:
                with lock:
                    done.append(rid)
                    if len(done) >= KILL_AFTER:
                        enough.set()
            elif stop.is_set():
                break

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    if not enough.wait(120):
        check(False, "%s: %d answers in 120 s before the kill" % (mode, len(done)))
    gw.send_signal(signal.SIGKILL)  # requests are in flight: the clients never stopped
    gw.wait()
    stop.set()
    for t in threads:
        t.join(15)
    up.kill()
    with lock:
        completed = list(done)
    recorded = set()
    for r in hgtest.records(HEGUI, data):
        try:
            rid = json.loads(r.get("detail_json") or "{}").get("response_id")
        except ValueError:
            rid = None
        if rid:
            recorded.add(rid)
    lost = [rid for rid in completed if rid not in recorded]
    print("%s: %d answers completed before kill -9, %d records in the chain, %d completed answers without one" %
          (mode, len(completed), len(recorded), len(lost)), flush=True)
    return completed, lost


def main():
    for mode in ("group", "sync"):
        completed, lost = run(mode)
        check(len(completed) >= KILL_AFTER and not lost,
              "%s: every answer received whole has its record after kill -9 (%d lost of %d: %s)" %
              (mode, len(lost), len(completed), lost[:3]))
    completed, lost = run("async")
    check(len(completed) >= KILL_AFTER, "async: the load ran")
    return report("durability")


if __name__ == "__main__":
    sys.exit(main())
