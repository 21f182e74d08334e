#!/usr/bin/env python3
"""fake_guard.py FORMAT — a stand-in for a guard model server (the one part of the guard path that lives outside
hegui), speaking OpenAI's /v1/chat/completions and answering in FORMAT's own way: qwen3guard ("Safety: ..." and
"Categories: ..."), llamaguard3 ("safe" / "unsafe" + "S1,S9"), shieldgemma (a one-token Yes/No with top_logprobs),
judge (like qwen3guard, with TC260 codes). It reads the conversation it is sent, so that tests steer it by words:

  炸弹 -> unsafe (violence)      争议 -> controversial (qwen3guard; others: unsafe)    SLOW -> answers after 3 s
  MALFORMED -> an answer not in the format      FAIL500 -> HTTP 500      FLAKY -> HTTP 500 on the first call only
  an image part whose URL holds "unsafe-image" -> unsafe (a vision guard)

It checks that the request has the shape the format needs (messages, roles, the ShieldGemma question, logprobs) and
answers 400 otherwise. GET /calls gives the number of chat calls so far; prints "listening on 127.0.0.1:PORT"."""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FORMAT = sys.argv[1]
LOCK = threading.Lock()
STATE = {"calls": 0, "flaky": set(), "images": 0}


def verdict_text(kind, policy=""):
    if FORMAT in ("qwen3guard", "judge"):
        if kind == "safe":
            return "Safety: Safe\nCategories: None"
        if kind == "controversial" and FORMAT == "qwen3guard":
            return "Safety: Controversial\nCategories: Politically Sensitive Topics"
        return "Safety: Unsafe\nCategories: " + ("Violent" if FORMAT == "qwen3guard" else "A1d, A1h")
    if FORMAT == "llamaguard3":
        return "safe" if kind == "safe" else "unsafe\nS1,S9"
    return "No" if kind == "safe" else "Yes"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/calls":
            with LOCK:
                self.send(200, {"calls": STATE["calls"], "images": STATE["images"]})
        else:
            self.send(404, {"error": {"message": "no such route"}})

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        req = json.loads(self.rfile.read(n) or b"{}")
        if self.path != "/v1/chat/completions":
            return self.send(404, {"error": {"message": "no such route"}})
        with LOCK:
            STATE["calls"] += 1
        msgs = req.get("messages") or []
        roles = [m.get("role") for m in msgs]
        text = "\n".join(m["content"] if isinstance(m.get("content"), str) else
                         " ".join(p.get("text", "") for p in m.get("content") or []) for m in msgs)
        images = [p.get("image_url", {}).get("url", "") for m in msgs if isinstance(m.get("content"), list)
                  for p in m["content"] if p.get("type") == "image_url"]
        with LOCK:
            STATE["images"] = len(images)
        problem = None
        if not req.get("model"):
            problem = "no model"
        elif FORMAT in ("qwen3guard", "llamaguard3") and roles not in (["user"], ["user", "assistant"]):
            problem = "expected a user message and maybe the assistant's answer, got %s" % roles
        elif FORMAT == "shieldgemma" and (roles != ["user"] or "Our safety principle is defined" not in text or
                                          not req.get("logprobs") or req.get("max_tokens") != 1):
            problem = "not a ShieldGemma question with logprobs"
        elif FORMAT == "judge" and (roles != ["system", "user"] or "[USER]" not in text):
            problem = "not a judging prompt"
        if problem:
            return self.send(400, {"error": {"message": problem}})
        # the words steer; ShieldGemma is asked one policy per call: only "Dangerous Content" sees the bomb
        if "FAIL500" in text:
            return self.send(500, {"error": {"message": "guard failed"}})
        if "FLAKY" in text:
            key = text
            with LOCK:
                first = key not in STATE["flaky"]
                STATE["flaky"].add(key)
            if first:
                return self.send(500, {"error": {"message": "flaky"}})
        if "SLOW" in text:
            time.sleep(3)
        kind = "safe"
        if any("unsafe-image" in u for u in images):
            kind = "unsafe"
        elif "炸弹" in text and (FORMAT != "shieldgemma" or "Dangerous Content" in text):
            kind = "unsafe"
        elif "争议" in text:
            kind = "controversial"
        content = verdict_text(kind)
        if "MALFORMED" in text:
            content = "I think this is fine, probably."
        choice = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        if FORMAT == "shieldgemma":
            yes = -0.05 if kind != "safe" else -4.0
            no = -3.0 if kind != "safe" else -0.02
            choice["logprobs"] = {"content": [{"token": content, "logprob": yes if content == "Yes" else no,
                                               "top_logprobs": [{"token": "Yes", "logprob": yes},
                                                                {"token": "No", "logprob": no}]}]}
        self.send(200, {"id": "guard-1", "object": "chat.completion", "model": req["model"], "choices": [choice]})


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print("listening on 127.0.0.1:%d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
