#!/usr/bin/env python3
"""fake_idv.py [--port N] [--known FILE] [--token T] [--fail-first N] [--delay-ms N] [--pad-bytes N] [--log FILE] — an
identity-verification provider for tests, speaking the protocol of docs/identity.md with the default field names.

POST (any path) a JSON object {"name", "id_number", "phone"?}; the answer is {"result": "verified"} when the ID number
is in the registry (--known: lines "name<TAB>id_number") under that name, else {"result": "rejected", "reason":
"name and ID number do not match"}. With --token, a request without "Authorization: Bearer T" gets HTTP 401; a body
that is not such an object gets 400; the first N requests (--fail-first) get 503; --pad-bytes makes every answer
that much larger. Each request is logged as one JSON line (--log) so that tests can check what hegui sent. Binds
127.0.0.1 on --port N (default 0: a free port, what tests use) and prints "port N" as its first line, so that an operator
trying docs/identity.md can put a fixed URL such as http://127.0.0.1:8091/verify in identity.provider.url."""
import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
REGISTRY = {}
LOCK = threading.Lock()
STATE = {"requests": 0}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # the JSON log is the record; keep stderr quiet
        pass

    def answer(self, status, obj, entry):
        if ARGS.pad_bytes:
            obj = dict(obj, padding="x" * ARGS.pad_bytes)
        payload = json.dumps(obj, ensure_ascii=False).encode()
        entry["status"] = status
        entry["answer"] = {k: v for k, v in obj.items() if k != "padding"}
        # logged before the answer goes out: a test reads the log as soon as its call returns
        if ARGS.log:
            with LOCK, open(ARGS.log, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self):
        self.answer(405, {"error": "POST only"}, {"method": "GET", "path": self.path})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        with LOCK:
            STATE["requests"] += 1
            number = STATE["requests"]
        auth = self.headers.get("Authorization")
        entry = {
            "n": number,
            "method": "POST",
            "path": self.path,
            "content_type": self.headers.get("Content-Type"),
            "authorization": auth,
            "raw": raw.decode("utf-8", "replace"),
        }
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        entry["body"] = body
        if ARGS.delay_ms:
            time.sleep(ARGS.delay_ms / 1000.0)
        if number <= ARGS.fail_first:
            return self.answer(503, {"reason": "temporarily unavailable"}, entry)
        if ARGS.token and auth != "Bearer " + ARGS.token:
            return self.answer(401, {"error": "unauthorized", "reason": "bad or missing token"}, entry)
        if (not isinstance(body, dict) or not isinstance(body.get("name"), str)
                or not isinstance(body.get("id_number"), str)
                or not isinstance(body.get("phone", ""), str)):
            return self.answer(400, {"error": "bad request", "reason": "expected name and id_number strings"}, entry)
        if REGISTRY.get(body["id_number"]) == body["name"]:
            return self.answer(200, {"result": "verified"}, entry)
        return self.answer(200, {"result": "rejected", "reason": "name and ID number do not match"}, entry)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # a client that gave up (timeout, an answer too large for it) is part of what the tests do
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def main():
    global ARGS
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default 0: a free one)")
    p.add_argument("--known", help='registry file: lines "name<TAB>id_number"')
    p.add_argument("--token", help="required bearer token")
    p.add_argument("--fail-first", type=int, default=0, help="answer HTTP 503 to the first N requests")
    p.add_argument("--delay-ms", type=int, default=0, help="wait this long before answering")
    p.add_argument("--pad-bytes", type=int, default=0, help="add a member of this many bytes to every answer")
    p.add_argument("--log", help="append one JSON line per request to this file")
    ARGS = p.parse_args()
    if ARGS.known:
        with open(ARGS.known, encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\r\n")
                if line and not line.startswith("#"):
                    name, id_number = line.split("\t", 1)
                    REGISTRY[id_number.strip().upper()] = name.strip()
    server = Server(("127.0.0.1", ARGS.port), Handler)
    print("port %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
