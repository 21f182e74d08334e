"""hgtest.py — what the integration tests share: starting processes that print their port, API keys from the CLI,
HTTP requests (headers included), chat calls (whole and streamed), resident ID numbers made up for tests (valid
check digit, never a real person's), and the pass/fail tally."""
import http.client
import json
import os
import subprocess

FAILS, PASSES = [], [0]


def check(cond, what):
    if cond:
        PASSES[0] += 1
    else:
        FAILS.append(what)
        print("FAIL:", what, flush=True)


def report(name):
    print("%s: %d passed, %d failed" % (name, PASSES[0], len(FAILS)))
    return 1 if FAILS else 0


def start(cmd, word, tmp, env=None):
    """Starts cmd and reads its first line, which must hold word and 127.0.0.1:PORT; returns (process, port)."""
    log = open(os.path.join(tmp, "log-%d.txt" % len(os.listdir(tmp))), "w")
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    line = p.stdout.readline()
    if word not in line:
        p.kill()
        raise SystemExit("did not start: %r (%s)" % (line, log.name))
    p.log = log.name
    return p, int(line.split("127.0.0.1:")[1].split()[0].rstrip(")").rstrip("/"))


def keys_create(hegui, data, user, role="user", extra=()):
    out = subprocess.run([hegui, "keys", "create", "--data-dir", data, "--user", user, "--role", role, *extra],
                         capture_output=True, text=True, check=True).stdout
    return out.strip().splitlines()[-1]


def request(port, method, path, body=None, key=None, raw=None, headers_out=None, content_type="application/json"):
    """One HTTP request; returns (status, parsed JSON or {} or the text); headers_out (a dict) gets the headers."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": content_type}
    if key:
        headers["Authorization"] = "Bearer " + key
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    c.request(method, path, body=data, headers=headers)
    r = c.getresponse()
    p = r.read()
    c.close()
    if headers_out is not None:
        headers_out.update({k.lower(): v for k, v in r.getheaders()})
    try:
        return r.status, json.loads(p)
    except ValueError:
        return r.status, p.decode("utf-8", "replace")


def chat(port, key, text, stream=False, headers_out=None):
    """A chat completion; returns (status, JSON) for whole answers and (status, {text, finish}) for streams."""
    body = {"model": "sample-1", "messages": [{"role": "user", "content": text}], "stream": stream}
    if not stream:
        return request(port, "POST", "/v1/chat/completions", body, key, headers_out=headers_out)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("POST", "/v1/chat/completions", body=json.dumps(body).encode(),
              headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    r = c.getresponse()
    raw = r.read().decode()
    c.close()
    if headers_out is not None:
        headers_out.update({k.lower(): v for k, v in r.getheaders()})
    if r.status != 200:
        try:
            return r.status, json.loads(raw)
        except ValueError:
            return r.status, {}
    text, finish = "", None
    for block in raw.split("\n\n"):
        if block.startswith("data: {"):
            ch = (json.loads(block[6:]).get("choices") or [{}])[0]
            text += (ch.get("delta") or {}).get("content") or ""
            finish = ch.get("finish_reason") or finish
    return r.status, {"text": text, "finish": finish}


def records(hegui, data):
    """The audit chain as `hegui audit export` gives it (split on "\n" only: a text may hold U+2028)."""
    out = subprocess.run([hegui, "audit", "export", "--data-dir", data], capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.split("\n") if line.strip()]


def answer(j):
    """The text of a whole chat answer ("" when there is none)."""
    try:
        return j["choices"][0]["message"]["content"] or ""
    except (KeyError, IndexError, TypeError):
        return ""


def cn_id(birth, region="110105", seq="123"):
    """A resident ID number with a valid GB 11643 check digit for a birth date "YYYYMMDD" (made up for tests)."""
    body = region + birth + seq
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights)) % 11]
