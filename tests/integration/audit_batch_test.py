#!/usr/bin/env python3
"""audit_batch_test.py HEGUI SAMPLE_UPSTREAM — group commit of the audit chain (`audit.batch: true`) against a real
SQLite store: concurrent requests (whole and streamed, allowed, redacted and blocked) each leave exactly one record
and the chain holds; the admin API's verify sees every answered request (it flushes the queue); a data-subject
deletion right after a burst of the user's requests leaves no text of theirs (queued records are written before the
erasure); a graceful stop right after a burst loses nothing; blocked prompts still climb the strike ladder at once."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hgtest import chat, check, keys_create, report, request, start  # noqa: E402

HEGUI, UPSTREAM = sys.argv[1], sys.argv[2]
TMP = tempfile.mkdtemp(prefix="hegui-batch-")


def burst(port, key, prompts, results):
    for i, p in enumerate(prompts):
        s, j = chat(port, key, p, stream=(i % 3 == 0))
        results.append(s)


def export(data):
    out = subprocess.run([HEGUI, "audit", "export", "--data-dir", data], capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def main():
    up, uport = start([UPSTREAM, "--listen", "127.0.0.1:0", "--quiet"], "listening", TMP)
    data = os.path.join(TMP, "data")
    users = ["u%d" % i for i in range(4)]
    keys = {u: keys_create(HEGUI, data, u) for u in users + ["dana", "mal"]}
    admin = keys_create(HEGUI, data, "ada", "admin")
    auditor = keys_create(HEGUI, data, "otto", "auditor")
    cfg = os.path.join(TMP, "hegui.yaml")
    with open(cfg, "w") as f:
        f.write("data_dir: %s\nupstream:\n  url: http://127.0.0.1:%d\naudit:\n  batch: true\n"
                "strikes:\n  suspend_in_a_row: 3\n" % (data, uport))
    serve = [HEGUI, "serve", "--config", cfg, "--listen", "127.0.0.1:0"]
    gw, port = start(serve, "serving on", TMP)
    try:
        # 4 users at once: allowed, with a phone number (redacted), and blocked (two apiece, not in a row)
        results, threads = [], []
        for u in users:
            prompts = []
            for i in range(30):
                prompts.append("哪里买冰毒" if i in (5, 17) else
                               ("echo: 请打 13812345678 %s-%d" % (u, i) if i % 4 == 0 else "echo: 你好 %s-%d" % (u, i)))
            t = threading.Thread(target=burst, args=(port, keys[u], prompts, results))
            threads.append(t)
            t.start()
        for t in threads:
            t.join()
        check(len(results) == 120 and all(s == 200 for s in results), "120 requests answered: %s" % set(results))
        s, j = request(port, "GET", "/admin/audit/verify", key=auditor)
        cli = sum(1 for r in export(data) if r["route"].startswith("cli/"))  # keys create's own records
        check(s == 200 and j["holds"] is True and j["records"] == 120 + cli,
              "verify over the API sees every answered request (flushed): %s, %d made by the CLI" % (j, cli))
        # the strike ladder still acts at once on blocked prompts (their records are written by the worker)
        codes = [chat(port, keys["mal"], "哪里买冰毒 %d" % i)[0] for i in range(3)]
        s, j = chat(port, keys["mal"], "你好")
        check(codes == [200, 200, 200] and s == 403 and j["error"]["code"] == "account_suspended",
              "three blocked prompts in a row suspend at once: %s %s" % (codes, s))
        # a deletion right after a burst: queued records are written before their text is erased
        for i in range(20):
            chat(port, keys["dana"], "echo: dana-secret-marker-%d" % i)
        s, j = request(port, "DELETE", "/admin/users/dana", key=admin)
        check(s == 200, "data-subject deletion: %s" % j)
        # a graceful stop right after a burst loses nothing
        results2, threads = [], []
        for u in users:
            t = threading.Thread(target=burst, args=(port, keys[u], ["echo: 最后 %d" % i for i in range(10)], results2))
            threads.append(t)
            t.start()
        for t in threads:
            t.join()
        check(all(s == 200 for s in results2) and len(results2) == 40, "the last burst answered")
    finally:
        gw.send_signal(signal.SIGTERM)
        try:
            gw.wait(30)
        except subprocess.TimeoutExpired:
            gw.kill()
        up.kill()
    recs = export(data)
    chats = [r for r in recs if r["route"] == "/v1/chat/completions"]
    # 120 + 3 blocked + 1 refused before moderation (no record: standing) + 20 of dana + 40
    check(len(chats) == 120 + 3 + 20 + 40, "one record per answered request, none lost at the stop: %d" % len(chats))
    check([r["seq"] for r in recs] == list(range(1, len(recs) + 1)), "records are numbered without gaps")
    check(not any("dana-secret-marker" in (r.get("text") or "") for r in recs),
          "after the deletion no record keeps the user's text")
    check(sum(1 for r in recs if r["route"] == "strikes") == 1, "the ladder's step is in the chain")
    r = subprocess.run([HEGUI, "audit", "verify", "--data-dir", data], capture_output=True, text=True)
    check(r.returncode == 0, "the chain holds: " + r.stdout + r.stderr)
    err = open(gw.log).read()
    check("AddressSanitizer" not in err and "not written" not in err, "no errors in the gateway's log")
    return report("audit_batch")


if __name__ == "__main__":
    sys.exit(main())
