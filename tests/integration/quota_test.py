#!/usr/bin/env python3
"""quota_test.py HEGUI SAMPLE_UPSTREAM — usage quotas shared by gateways: two gateways on one data directory (one
SQLite store) with quotas.per_user.requests_per_minute 3 admit 3 requests of a user between them, and refuse the 4th
on either with 429, OpenAI's rate_limit_exceeded and Retry-After to the end of the minute; another user is not
affected; the user's other key is refused too; the next minute admits again. And quotas fail closed: with the store's write lock held by another process the request is refused with 503, not let
through. The gateways' wall clock is read from a file the test moves (serve --test-clock @FILE)."""
import os
import sqlite3
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hgtest import answer, chat, check, keys_create, report, start  # noqa: E402

HEGUI, UPSTREAM = sys.argv[1], sys.argv[2]
TMP = tempfile.mkdtemp(prefix="hg-quota-")
CLOCK = os.path.join(TMP, "clock")
MINUTE0 = 1709251200000 + 10 * 60000  # 2024-03-01T00:10:00Z, the start of a UTC minute


def set_clock(ms):
    with open(CLOCK + ".new", "w") as f:
        f.write("%d\n" % ms)
    os.replace(CLOCK + ".new", CLOCK)


def gateway(cfg):
    return start([HEGUI, "serve", "--config", cfg, "--listen", "127.0.0.1:0", "--test-clock", "@" + CLOCK],
                 "serving on", TMP)


def ask(port, key, what):
    h = {}
    s, j = chat(port, key, "echo: " + what, headers_out=h)
    return s, j, h


def main():
    data = os.path.join(TMP, "data")
    set_clock(MINUTE0 + 1000)
    up, up_port = start([UPSTREAM, "--listen", "127.0.0.1:0", "--quiet"], "listening", TMP)
    cfg = os.path.join(TMP, "hegui.yaml")
    with open(cfg, "w") as f:
        f.write("data_dir: %s\nupstream:\n  url: http://127.0.0.1:%d\n"
                "quotas:\n  per_user:\n    requests_per_minute: 3\n" % (data, up_port))
    alice = keys_create(HEGUI, data, "alice")
    alice2 = keys_create(HEGUI, data, "alice")
    bob = keys_create(HEGUI, data, "bob")
    # started one after the other: the first creates what the data directory needs
    gw_a, port_a = gateway(cfg)
    gw_b, port_b = gateway(cfg)
    try:
        shared(port_a, port_b, alice, alice2, bob)
        fails_closed(port_a, data, bob)
    finally:
        gw_a.kill()
        gw_b.kill()
        up.kill()
    return report("quota")


def shared(port_a, port_b, alice, alice2, bob):
    # three requests spread over both gateways are admitted: the count is one
    for i, port in enumerate([port_a, port_b, port_a]):
        s, j, _ = ask(port, alice, "第%d个" % i)
        check(s == 200 and answer(j).startswith("第%d个" % i), "request %d of the minute admitted: %s %s" % (i, s, j))
    # the 4th is refused on either gateway, with Retry-After to the end of the minute (59 s after 1 s)
    for name, port in (("b", port_b), ("a", port_a)):
        s, j, h = ask(port, alice, "one too many")
        err = j.get("error") if isinstance(j, dict) else None
        check(s == 429, "the 4th request on gateway %s is refused: %s %s" % (name, s, j))
        check(isinstance(err, dict) and err.get("code") == "rate_limit_exceeded"
              and "requests per minute" in err.get("message", "") and "user" in err.get("message", ""),
              "OpenAI's rate-limit error naming the limit: %s" % j)
        check(h.get("retry-after") == "59", "Retry-After to the end of the minute: %s" % h.get("retry-after"))
    # another key of the same user is refused too: the limit is the user's
    s, j, _ = ask(port_b, alice2, "other key")
    check(s == 429, "the user's other key is refused as well: %s" % s)
    # another user is not affected, on either gateway
    for port in (port_a, port_b):
        s, j, _ = ask(port, bob, "bob")
        check(s == 200, "another user is admitted: %s %s" % (s, j))
    # the last millisecond of the minute is still in it; the next minute admits again
    set_clock(MINUTE0 + 59999)
    s, _, h = ask(port_a, alice, "still this minute")
    check(s == 429 and h.get("retry-after") == "1", "refused until the minute ends: %s %s" % (s, h.get("retry-after")))
    set_clock(MINUTE0 + 60000)
    codes = [ask(p, alice, "next minute")[0] for p in (port_b, port_a, port_b, port_a)]
    check(codes == [200, 200, 200, 429], "the next minute admits 3 again over both gateways: %s" % codes)


def fails_closed(port_a, data, bob):
    # another process holds the store's write lock longer than the gateway waits (5 s): the quota cannot be
    # checked, so the request is refused with 503, and nothing reaches the model
    set_clock(MINUTE0 + 3 * 60000)
    db = sqlite3.connect(os.path.join(data, "hegui.db"), isolation_level=None, timeout=30)
    db.execute("BEGIN IMMEDIATE")
    try:
        s, j, _ = ask(port_a, bob, "while the store is locked")
    finally:
        db.execute("ROLLBACK")
        db.close()
    err = j.get("error") if isinstance(j, dict) else None
    check(s == 503, "a quota that cannot be checked refuses the request: %s %s" % (s, j))
    check(isinstance(err, dict) and "usage limits could not be checked" in err.get("message", ""),
          "the 503 says why: %s" % j)
    s, j, _ = ask(port_a, bob, "the store is back")
    check(s == 200, "admitted again once the store answers: %s %s" % (s, j))


if __name__ == "__main__":
    sys.exit(main())
