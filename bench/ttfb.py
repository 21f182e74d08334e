#!/usr/bin/env python3
"""bench/ttfb.py BUILD_DIR — what the classifier's hold costs a streamed answer: time to the first content byte
and to the end of the stream, through hegui with classifier.hold: sentence, with hold: none, with the classifier
off (classifier.model: none), and straight from the model server as the baseline, side by side.

The sample model server streams its story (a Chinese text of 13 sentences, 1-3 characters per event) with a pause
of --delay-ms between events, as a real model does (default 20 ms: ~50 events/s). Each configuration is asked
HG_TTFB_RUNS times (default 15), one request at a time; the medians are printed. The first sentence of the story is
26 characters, so hold: sentence should add about the time the model needs to write it.

A measurement, not a test: it prints figures and never fails on them. Installs nothing."""
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def start(cmd, word, log):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True)
    line = p.stdout.readline()
    if word not in line:
        p.kill()
        raise SystemExit("did not start: %r" % line)
    return p, int(line.split("127.0.0.1:")[1].split()[0].rstrip(")").rstrip("/"))


def one(port, key, text):
    """Seconds to the first content byte and to the end of the stream."""
    body = json.dumps({"model": "sample-1", "stream": True, "messages": [{"role": "user", "content": text}]}).encode()
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = "Bearer " + key
    t0 = time.monotonic()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    c.request("POST", "/v1/chat/completions", body=body, headers=headers)
    r = c.getresponse()
    first, buf, finish = None, b"", None
    while True:
        chunk = r.read1(65536)
        if not chunk:
            break
        buf += chunk
        while b"\n\n" in buf:
            event, buf = buf.split(b"\n\n", 1)
            if not event.startswith(b"data: {"):
                continue
            ch = (json.loads(event[6:]).get("choices") or [{}])[0]
            if first is None and (ch.get("delta") or {}).get("content"):
                first = time.monotonic() - t0
            finish = ch.get("finish_reason") or finish
    c.close()
    return first if first is not None else float("nan"), time.monotonic() - t0, finish


def main():
    if len(sys.argv) != 2:
        print("usage: bench/ttfb.py BUILD_DIR", file=sys.stderr)
        return 2
    build = os.path.abspath(sys.argv[1])
    hegui, upstream = os.path.join(build, "hegui"), os.path.join(build, "examples", "sample_upstream")
    runs = int(os.environ.get("HG_TTFB_RUNS", "15"))
    delay = int(os.environ.get("HG_TTFB_DELAY_MS", "20"))
    tmp = tempfile.mkdtemp(prefix="hg-ttfb-")
    log = open(os.path.join(tmp, "log.txt"), "w")
    up, up_port = start([upstream, "--listen", "127.0.0.1:0", "--quiet", "--delay-ms", str(delay)], "listening", log)
    rows = []
    procs = [up]
    try:
        rows.append(("model server, direct", measure(up_port, None, runs)))
        for name, classifier in (("hegui, classifier off", "classifier: {model: none}"),
                                 ("hegui, hold: none", "classifier: {hold: none}"),
                                 ("hegui, hold: sentence", "classifier: {hold: sentence}")):
            data = os.path.join(tmp, "data-%d" % len(rows))
            cfg = os.path.join(tmp, "hegui-%d.yaml" % len(rows))
            with open(cfg, "w") as f:
                f.write("data_dir: %s\nupstream:\n  url: http://127.0.0.1:%d\n%s\n" % (data, up_port, classifier))
            key = subprocess.run([hegui, "keys", "create", "--data-dir", data, "--user", "bench"], capture_output=True,
                                 text=True, check=True).stdout.strip().splitlines()[-1]
            gw, port = start([hegui, "serve", "--config", cfg, "--listen", "127.0.0.1:0"], "serving on", log)
            procs.append(gw)
            rows.append((name, measure(port, key, runs)))
            gw.kill()
    finally:
        for p in procs:
            p.kill()
    base_first, base_total = rows[0][1][0], rows[0][1][1]
    print("streamed story, %d ms between events, median of %d requests" % (delay, runs))
    print("%-24s %14s %14s %12s %12s  %s" % ("", "first byte ms", "+ over direct", "total ms", "+ over direct",
                                             "finish"))
    for name, (first, total, finish) in rows:
        print("%-24s %14.1f %14.1f %12.1f %12.1f  %s" % (name, first * 1e3, (first - base_first) * 1e3, total * 1e3,
                                                         (total - base_total) * 1e3, finish))
    return 0


def measure(port, key, runs):
    firsts, totals, finishes = [], [], set()
    one(port, key, "讲个故事")  # warm up
    for _ in range(runs):
        f, t, fin = one(port, key, "讲个故事")
        firsts.append(f)
        totals.append(t)
        finishes.add(fin)
    return statistics.median(firsts), statistics.median(totals), ",".join(sorted(str(x) for x in finishes))


if __name__ == "__main__":
    sys.exit(main())
