"""hgtest.py — what the integration tests share: starting processes that print their port, API keys from the CLI,
HTTP requests (headers included), chat calls (whole and streamed), streams read event by event as they arrive (for
acting while one is under way), resident ID numbers made up for tests (valid check digit, never a real person's),
and the pass/fail tally."""
import http.client
import json
import os
import socket
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


class Stream:
    """A streamed chat completion read one server-sent event at a time, as the server sends it, so that a test can
    wait for a part of it and act while the rest is still to come. next_event() returns the next event's data (a
    dict, or "[DONE]"; comments such as keep-alives are skipped), or None once the body is over: `ended` says it
    ended as HTTP says a body ends, `error` how it was cut short instead. `events` keeps every event read."""

    def __init__(self, port, key, text, timeout=60, **extra):
        body = {"model": "sample-1", "messages": [{"role": "user", "content": text}], "stream": True}
        body.update(extra)
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.conn.request("POST", "/v1/chat/completions", body=json.dumps(body).encode(),
                          headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.events, self.ended, self.error = [], False, None
        self._pending = b""

    def next_event(self):
        data = []
        while self.status == 200:
            line = self._next_line()
            if line is None:
                break
            line = line.decode("utf-8").rstrip("\r")
            if line.startswith("data:"):
                data.append(line[6:] if line.startswith("data: ") else line[5:])
            elif line == "" and data:
                event = "\n".join(data)
                event = event if event == "[DONE]" else json.loads(event)
                self.events.append(event)
                return event
        return None

    def _next_line(self):
        """The next line of the body, without its line feed; None at the body's end, clean or not."""
        while b"\n" not in self._pending:
            if self.ended or self.error:
                return None
            try:  # read1 returns what has come, and raises when a chunked body is cut short of its last chunk
                more = self.response.read1(65536)
            except (http.client.HTTPException, OSError) as e:  # cut, reset, or silent past the timeout
                self.error = "%s %s" % (type(e).__name__, e)
                return None
            if not more:
                if self.response.length:  # a body with a Content-Length, short of it
                    self.error = "the body ended %d bytes short" % self.response.length
                else:
                    self.ended = True
                return None
            self._pending += more
        line, _, self._pending = self._pending.partition(b"\n")
        return line

    def next_content(self):
        """Reads up to the next event that carries answer text; returns the text, or None if the stream ended."""
        while True:
            event = self.next_event()
            if event is None:
                return None
            if isinstance(event, dict):
                content = ((event.get("choices") or [{}])[0].get("delta") or {}).get("content")
                if content:
                    return content

    def read_to_end(self):
        while self.next_event() is not None:
            pass
        self.conn.close()
        return self

    def summary(self):
        """What was read: the text, the finish reason, whether [DONE] came last, error events, and the ids seen."""
        text, finish, errors, ids = "", None, [], []
        for event in self.events:
            if not isinstance(event, dict):
                continue
            if "error" in event:
                errors.append(event["error"])
                continue
            ids.append(event.get("id"))
            choice = (event.get("choices") or [{}])[0]
            text += (choice.get("delta") or {}).get("content") or ""
            finish = choice.get("finish_reason") or finish
        return {"text": text, "finish": finish, "done": self.events[-1:] == ["[DONE]"] and
                self.events.count("[DONE]") == 1, "errors": errors, "ids": list(dict.fromkeys(ids))}


def refuses_connections(port):
    """Whether 127.0.0.1:port turns a new connection away: refused, or accepted then closed or reset without an
    answer to GET /healthz. An HTTP answer of any status, or a wait past 10 s, means it does not."""
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", "/healthz")
        c.getresponse().read()
        c.close()
        return False
    except (ConnectionRefusedError, ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected):
        return True
    except socket.timeout:
        return False


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
