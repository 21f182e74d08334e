#!/usr/bin/env python3
"""surface_test.py HEGUI SAMPLE_UPSTREAM — every way text gets into and out of `hegui serve`, over real HTTP.

What the client sends: every string of a chat or completions request that the model reads is moderated (a name, a
tool call's arguments, a tool's description and parameter schema, a prediction, a refusal part, a completion's
suffix ...), or the request is refused with a 400 naming the member (unknown roles, members, part types, content
sent as an object). Strings are moderated as the model reads them, joined in order, and an edit (a placeholder, a
mask) lands in the string it belongs to: the sample upstream records every request it receives, so the test reads
what reached the model. What the upstream sends: the model name, finish_reason and usage come back only in forms
that carry no text of the upstream's choosing; tool calls (whole and streamed, the arguments cut across deltas) are
relayed with their arguments moderated like answer text. /v1/moderations: OpenAI's parts form, bad inputs refused,
the number of inputs and the size of the answer bounded."""
import http.client
import http.server
import json
import os
import socketserver
import subprocess
import sys
import tempfile
import threading

import hgtest
from hgtest import check

HEGUI, UPSTREAM = sys.argv[1], sys.argv[2]
TMP = tempfile.mkdtemp(prefix="hegui-surface-")
REQUESTS = os.path.join(TMP, "requests.jsonl")
WORD = "冰毒"  # blocked by the test lexicon
NOTICE = "本内容由人工智能生成"


def post(port, key, path, body):
    """(status, JSON, raw bytes) of a POST; a stream's raw text is in raw."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("POST", path, body=json.dumps(body).encode(), headers={"Authorization": "Bearer " + key,
                                                                     "Content-Type": "application/json"})
    r = c.getresponse()
    raw = r.read()
    c.close()
    try:
        j = json.loads(raw)
    except ValueError:
        j = None
    return r.status, j, raw


def stream(port, key, body):
    """A streamed chat answer: (status, {content, finish, calls, function_call, models, usage, error, raw})."""
    body = dict(body, stream=True)
    s, j, raw = post(port, key, "/v1/chat/completions", body)
    if s != 200:
        return s, j or {}
    out = {"content": "", "finish": None, "calls": {}, "function_call": None, "models": set(), "usage": None,
           "error": None, "raw": raw.decode(), "call_deltas": 0}
    for block in raw.decode().split("\n\n"):
        if not block.startswith("data: {"):
            continue
        ev = json.loads(block[6:])
        if "error" in ev:
            out["error"] = ev["error"]
            continue
        out["models"].add(ev.get("model"))
        if ev.get("usage"):
            out["usage"] = ev["usage"]
        for ch in ev.get("choices") or []:
            d = ch.get("delta") or {}
            out["content"] += d.get("content") or ""
            for tc in d.get("tool_calls") or []:
                out["call_deltas"] += 1
                acc = out["calls"].setdefault(tc["index"], {"id": "", "name": "", "arguments": ""})
                acc["id"] += tc.get("id") or ""
                acc["name"] += (tc.get("function") or {}).get("name") or ""
                acc["arguments"] += (tc.get("function") or {}).get("arguments") or ""
            if d.get("function_call"):
                fc = out["function_call"] or {"name": "", "arguments": ""}
                fc["name"] += d["function_call"].get("name") or ""
                fc["arguments"] += d["function_call"].get("arguments") or ""
                out["function_call"] = fc
            out["finish"] = ch.get("finish_reason") or out["finish"]
    return s, out


def chat(port, key, messages, **extra):
    return post(port, key, "/v1/chat/completions", dict({"model": "sample-1", "messages": messages}, **extra))


def requests_seen():
    if not os.path.exists(REQUESTS):
        return []
    with open(REQUESTS) as f:
        return [json.loads(line) for line in f if line.strip()]


def records(data):
    return hgtest.records(HEGUI, data)


def finish_of(j):
    try:
        return j["choices"][0]["finish_reason"]
    except (KeyError, IndexError, TypeError):
        return None


def flagged(port, key, text):
    s, j, _ = post(port, key, "/v1/moderations", {"input": text})
    return s == 200 and j["results"][0]["flagged"]


# ---- 1. every string the model reads is moderated, or the request is refused ----

def user(text):
    return {"role": "user", "content": text}


TOOL = {"type": "function", "function": {"name": "search", "description": "search the web", "parameters": {
    "type": "object", "properties": {"q": {"type": "string", "description": "what to look for"}}}}}


def with_tool(**function):
    t = json.loads(json.dumps(TOOL))
    t["function"].update(function)
    return t


def call(name="search", arguments='{"q":"天气"}', id="call_1"):
    return {"id": id, "type": "function", "function": {"name": name, "arguments": arguments}}


MODERATED = [  # (what, request members): the word sits in one member; the prompt must be blocked
    ("messages[].name", {"messages": [{"role": "user", "content": "你好", "name": WORD}]}),
    ("assistant tool_calls[].function.arguments", {"messages": [
        user("你好"), {"role": "assistant", "content": None, "tool_calls": [call(arguments='{"q":"%s"}' % WORD)]},
        {"role": "tool", "tool_call_id": "call_1", "content": "没有结果"}, user("谢谢")]}),
    ("assistant tool_calls[].function.name", {"messages": [
        user("你好"), {"role": "assistant", "content": None, "tool_calls": [call(name=WORD)]},
        {"role": "tool", "tool_call_id": "call_1", "content": "没有结果"}, user("谢谢")]}),
    ("assistant function_call.arguments (legacy)", {"messages": [
        user("你好"), {"role": "assistant", "content": None, "function_call": {"name": "f", "arguments": WORD}},
        user("谢谢")]}),
    ("role function", {"messages": [user("你好"), {"role": "function", "name": "f", "content": WORD}]}),
    ("tool message tool_call_id", {"messages": [{"role": "tool", "tool_call_id": WORD, "content": "ok"}, user("好")]}),
    ("assistant refusal member", {"messages": [{"role": "assistant", "content": "好", "refusal": WORD}, user("好")]}),
    ("content part of type refusal", {"messages": [
        {"role": "assistant", "content": [{"type": "refusal", "refusal": WORD}]}, user("好")]}),
    ("file part filename", {"messages": [{"role": "user", "content": [
        {"type": "text", "text": "看看这个"}, {"type": "file", "file": {"filename": WORD + ".pdf", "file_id": "f1"}}]}]}),
    ("tools[].function.description", {"messages": [user("你好")], "tools": [with_tool(description=WORD)]}),
    ("tools[].function.name", {"messages": [user("你好")], "tools": [with_tool(name=WORD)]}),
    ("tools[] parameter description", {"messages": [user("你好")], "tools": [with_tool(parameters={
        "type": "object", "properties": {"q": {"type": "string", "description": "关于" + WORD}}})]}),
    ("tools[] parameter property name", {"messages": [user("你好")], "tools": [with_tool(parameters={
        "type": "object", "properties": {WORD: {"type": "string"}}})]}),
    ("tools[] parameter enum", {"messages": [user("你好")], "tools": [with_tool(parameters={
        "type": "object", "properties": {"q": {"type": "string", "enum": ["天气", WORD]}}})]}),
    ("functions[] (legacy)", {"messages": [user("你好")], "functions": [{"name": "f", "description": WORD}]}),
    ("tool_choice function name", {"messages": [user("你好")], "tools": [TOOL],
                                   "tool_choice": {"type": "function", "function": {"name": WORD}}}),
    ("response_format.json_schema.description", {"messages": [user("你好")], "response_format": {
        "type": "json_schema", "json_schema": {"name": "a", "description": WORD, "schema": {"type": "object"}}}}),
    ("response_format.json_schema.schema", {"messages": [user("你好")], "response_format": {
        "type": "json_schema", "json_schema": {"name": "a", "schema": {"type": "object", "title": WORD}}}}),
    ("prediction.content (string)", {"messages": [user("你好")], "prediction": {"type": "content", "content": WORD}}),
    ("prediction.content (parts)", {"messages": [user("你好")], "prediction": {
        "type": "content", "content": [{"type": "text", "text": WORD}]}}),
]

REFUSED = [  # (what, request members, the param the 400 names)
    ("role 'User'", {"messages": [{"role": "User", "content": WORD}]}, "messages[0].role"),
    ("role 'user '", {"messages": [{"role": "user ", "content": WORD}]}, "messages[0].role"),
    ("role missing", {"messages": [{"content": WORD}]}, "messages[0].role"),
    ("content sent as an object", {"messages": [{"role": "user", "content": {"text": WORD}}]}, "messages[0].content"),
    ("unknown content part type", {"messages": [{"role": "user", "content": [{"type": "input_text", "text": WORD}]}]},
     "messages[0].content[0].type"),
    ("a text part with more members", {"messages": [{"role": "user", "content": [
        {"type": "text", "text": "你好", "extra": WORD}]}]}, "messages[0].content[0].extra"),
    ("unknown message member", {"messages": [{"role": "user", "content": "你好", "reasoning_content": WORD}]},
     "messages[0].reasoning_content"),
    ("unknown request member", {"messages": [user("你好")], "documents": [{"text": WORD}]}, "documents"),
    ("a chat template from the client", {"messages": [user("你好")], "chat_template": WORD}, "chat_template"),
    ("text where a number goes", {"messages": [user("你好")], "temperature": WORD}, "temperature"),
    ("audio answers", {"messages": [user("你好")], "audio": {"voice": "alloy", "format": "wav"}}, "audio"),
    ("audio modality", {"messages": [user("你好")], "modalities": ["text", "audio"]}, "modalities[1]"),
    ("a tool that is not a function", {"messages": [user("你好")], "tools": [{"type": "custom", "custom": {
        "name": "x", "description": WORD}}]}, "tools[0].type"),
    ("response_format of an unknown type", {"messages": [user("你好")], "response_format": {"type": WORD}},
     "response_format.type"),
]


def surface_cases(port, key, data):
    for what, members in MODERATED:
        n0 = len(requests_seen())
        s, j, _ = chat(port, key, **members)
        check(s == 200 and finish_of(j) == "content_filter" and len(requests_seen()) == n0,
              "%s is moderated: the prompt is blocked before the model: %s %s" % (what, s, finish_of(j) or j))
    # the same members with harmless text pass (nothing is refused for being there)
    ok = {"messages": [
        {"role": "system", "content": "你是助手"}, {"role": "developer", "content": "简短回答"},
        {"role": "user", "content": [{"type": "text", "text": "你好"}, {"type": "image_url", "image_url": {
            "url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}}], "name": "alice"},
        {"role": "assistant", "content": None, "tool_calls": [call()]},
        {"role": "tool", "tool_call_id": "call_1", "content": "晴"},
        {"role": "function", "name": "search", "content": "晴"},
        {"role": "assistant", "content": [{"type": "text", "text": "好的"}], "refusal": None},
        user("你好")], "tools": [TOOL], "functions": [{"name": "f", "description": "天气"}],
        "tool_choice": "auto", "response_format": {"type": "json_schema", "json_schema": {
            "name": "a", "description": "天气", "schema": {"type": "object"}, "strict": True}},
        "prediction": {"type": "content", "content": "你好"}, "temperature": 0.2, "top_p": 1, "max_tokens": 50,
        "max_completion_tokens": 50, "stop": ["\n\n"], "seed": 1, "n": 1, "user": "u1", "metadata": {"k": "v"},
        "logit_bias": {"50256": -100}, "parallel_tool_calls": True, "stream_options": None, "top_k": 40}
    s, j, _ = chat(port, key, **ok)
    check(s == 200 and finish_of(j) == "stop", "every member a client may send passes with harmless text: %s %s" %
          (s, j))
    for what, members, param in REFUSED:
        n0 = len(requests_seen())
        s, j, _ = chat(port, key, **members)
        err = (j or {}).get("error") or {}
        check(s == 400 and err.get("type") == "invalid_request_error" and err.get("param") == param and
              len(requests_seen()) == n0, "%s is refused with a 400 naming %s: %s %s" % (what, param, s, j))
    # completions: the prompt (already) and the suffix
    s, j, _ = post(port, key, "/v1/completions", {"model": "sample-1", "prompt": "你好", "suffix": WORD})
    check(s == 200 and finish_of(j) == "content_filter", "completions: suffix is moderated: %s %s" % (s, j))
    s, j, _ = post(port, key, "/v1/completions", {"model": "sample-1", "prompt": "你好", "documents": WORD})
    check(s == 400 and (j or {}).get("error", {}).get("param") == "documents",
          "completions: an unknown member is refused: %s %s" % (s, j))


# ---- 2. the conversation as the model reads it ----

def join_cases(port, key, data):
    # an entry split across turns or parts gets the verdict of the joined text (turns and parts joined by "\n")
    joined_flagged = flagged(port, key, "法轮\n功")
    check(joined_flagged, "a line break inside an entry is noise: 法轮\\n功 is flagged by /v1/moderations")
    for what, messages in (("two user messages", [user("法轮"), user("功")]),
                           ("two text parts", [{"role": "user", "content": [{"type": "text", "text": "法轮"},
                                                                            {"type": "text", "text": "功"}]}]),
                           ("a system and a user message", [{"role": "system", "content": "法轮"}, user("功")])):
        s, j, _ = chat(port, key, messages)
        blocked = s == 200 and finish_of(j) == "content_filter"
        check(s == 200 and blocked == joined_flagged,
              "an entry split across %s is judged as the joined text 法轮\\n功 (flagged: %s): %s" %
              (what, joined_flagged, finish_of(j)))
    # edits land in the string they belong to; the record holds the joined text as it left
    messages = [user("echo: 我的电话"), {"role": "user", "content": [
        {"type": "text", "text": "是 13812345678"}, {"type": "text", "text": "内部代号是X"}]}]
    s, j, _ = chat(port, key, messages)
    seen = requests_seen()[-1]["messages"]
    check(seen[1]["content"][0]["text"] == "是 <PHONE_1>" and seen[1]["content"][1]["text"] == "****是X" and
          seen[0]["content"] == "echo: 我的电话", "placeholder and mask in the right part: %s" % seen)
    rec = records(data)[-1]
    text = json.loads(rec["text"])["input"]
    check(text == "echo: 我的电话\n是 <PHONE_1>\n****是X", "the record's input is the joined text: %r" % text)
    detail = json.loads(rec["detail_json"])
    members = [h.get("member") for h in detail["input_pii"]] + [h.get("member") for h in detail["input_hits"]]
    check(members == ["messages[1].content[0].text", "messages[1].content[1].text"],
          "hits name the member they fell in: %s" % members)
    # a schema's property name with personal data is renamed to its placeholder
    s, j, _ = chat(port, key, [user("你好")], tools=[with_tool(parameters={
        "type": "object", "properties": {"13812345678": {"type": "string", "description": "号码 13812345678"}}})])
    props = requests_seen()[-1]["tools"][0]["function"]["parameters"]["properties"]
    check(s == 200 and list(props) == ["<PHONE_1>"] and props["<PHONE_1>"]["description"] == "号码 <PHONE_1>",
          "placeholders in a schema, its property names too: %s" % props)
    # the policy still chooses the messages: with max_turns 1 only the last one is read
    # (members of the request itself always are: see the tool cases above)


# ---- 3. members of the answer the upstream controls ----

KNOWN_USAGE = {"prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details",
               "completion_tokens_details"}


def upstream_field_cases(port, key, data):
    s, j, raw = chat(port, key, [user("__oddfields__ 你好")], model="my-model")
    check(s == 200 and j["model"] == "my-model", "whole: the model is the one asked for: %s" % (j or {}).get("model"))
    check(finish_of(j) == "stop", "whole: an unknown finish_reason becomes stop: %s" % finish_of(j))
    usage = j.get("usage") or {}
    check(set(usage) <= KNOWN_USAGE and usage.get("total_tokens") and
          set(usage.get("prompt_tokens_details", {})) <= {"cached_tokens", "audio_tokens"},
          "whole: only the known usage counters: %s" % usage)
    check(WORD.encode() not in raw and "毒".encode() not in raw, "whole: nothing of the upstream's text got through")
    detail = json.loads(records(data)[-1]["detail_json"])
    check(detail.get("upstream_finish_reason") == WORD and detail.get("upstream_model") == "sample-1-" + WORD,
          "the record notes the finish_reason and model the upstream sent: %s" % detail)
    s, st = stream(port, key, {"model": "my-model", "messages": [user("__oddfields__ 你好")],
                               "stream_options": {"include_usage": True}})
    check(s == 200 and st["models"] == {"my-model"}, "stream: the model is the one asked for: %s" % st.get("models"))
    check(st["finish"] == "stop", "stream: an unknown finish_reason becomes stop: %s" % st.get("finish"))
    check(st["usage"] and set(st["usage"]) <= KNOWN_USAGE, "stream: only the known usage counters: %s" % st["usage"])
    check("毒" not in st["raw"], "stream: nothing of the upstream's text got through")


# ---- 4. tool calls ----

def tool_cases(out_port, all_port, key, data):
    args = '{"city":"北京","days":3}'
    s, j, _ = chat(out_port, key, [user("tool: get_weather " + args)], tools=[TOOL])
    msg = (j or {}).get("choices", [{}])[0].get("message", {})
    calls = msg.get("tool_calls") or []
    check(s == 200 and finish_of(j) == "tool_calls" and len(calls) == 1, "whole: a tool call answer: %s %s" % (s, j))
    check(calls and calls[0]["function"] == {"name": "get_weather", "arguments": args} and
          calls[0]["type"] == "function" and calls[0]["id"].startswith("call_"), "whole: the call as made: %s" % calls)
    check((msg.get("content") or "").endswith(NOTICE), "whole: the notice is the content: %r" % msg.get("content"))
    s, st = stream(out_port, key, {"model": "sample-1", "messages": [user("tool: get_weather " + args)]})
    check(s == 200 and st["finish"] == "tool_calls" and list(st["calls"]) == [0] and
          st["calls"][0]["name"] == "get_weather" and st["calls"][0]["arguments"] == args,
          "stream: the call, its arguments whole: %s" % st.get("calls"))
    check(st["call_deltas"] == 1, "stream: held until complete, then one delta: %s" % st["call_deltas"])
    s, st = stream(out_port, key, {"model": "sample-1", "messages": [user('tool: a {"x":1} tool: b {"y":"二"}')]})
    check(s == 200 and [st["calls"].get(i, {}).get("name") for i in (0, 1)] == ["a", "b"] and
          st["calls"][1]["arguments"] == '{"y":"二"}', "stream: two calls, in order: %s" % st.get("calls"))
    # legacy function_call
    s, j, _ = chat(out_port, key, [user('__function_call__ tool: f {"a":1}')])
    fc = (j or {}).get("choices", [{}])[0].get("message", {}).get("function_call")
    check(finish_of(j) == "function_call" and fc == {"name": "f", "arguments": '{"a":1}'},
          "whole: a legacy function_call: %s" % j)
    s, st = stream(out_port, key, {"model": "sample-1", "messages": [user('__function_call__ tool: f {"a":1}')]})
    check(st["finish"] == "function_call" and st["function_call"] == {"name": "f", "arguments": '{"a":1}'},
          "stream: a legacy function_call: %s" % st.get("function_call"))
    # a blocked argument (or name) blocks the call: the refusal, content_filter, nothing of the call
    for what, text in (("argument", 'tool: search {"q":"%s"}' % WORD), ("name", "tool: %s {}" % WORD),
                       ("second call's argument", 'tool: a {} tool: search {"q":"哪里买%s"}' % WORD)):
        s, j, raw = chat(out_port, key, [user(text)])
        msg = (j or {}).get("choices", [{}])[0].get("message", {})
        check(finish_of(j) == "content_filter" and "tool_calls" not in msg and "毒".encode() not in raw,
              "whole: a blocked %s blocks the calls: %s" % (what, j))
        s, st = stream(out_port, key, {"model": "sample-1", "messages": [user(text)]})
        check(st["finish"] == "content_filter" and not st["calls"] and "毒" not in st["raw"] and
              "很抱歉" in st["content"], "stream: a blocked %s blocks the calls: %s" % (what, st.get("raw", "")[-300:]))
    # personal data: new data masked, the user's own restored (prompts moderated: the upstream saw a placeholder)
    s, j, _ = chat(out_port, key, [user('tool: call {"phone":"13912345678"}')])
    a = (j or {}).get("choices", [{}])[0].get("message", {}).get("tool_calls", [{}])[0].get("function", {})
    check("13912345678" not in a.get("arguments", "x") and "*" in a.get("arguments", ""),
          "whole: new personal data in arguments is masked: %s" % a)
    s, st = stream(out_port, key, {"model": "sample-1", "messages": [user('tool: call {"phone":"13912345678"}')]})
    a = st["calls"].get(0, {}).get("arguments", "")
    check("13912345678" not in a and "*" in a, "stream: masked: %s" % st["calls"])
    s, j, _ = chat(all_port, key, [user('tool: call {"phone":"13812345678"}')])
    a = (j or {}).get("choices", [{}])[0].get("message", {}).get("tool_calls", [{}])[0].get("function", {})
    check("<PHONE_1>" in requests_seen()[-1]["messages"][0]["content"] and
          a.get("arguments") == '{"phone":"13812345678"}', "whole: the user's own number restored: %s" % a)
    s, st = stream(all_port, key, {"model": "sample-1", "messages": [user('tool: call {"phone":"13812345678"}')]})
    check(st["calls"].get(0, {}).get("arguments") == '{"phone":"13812345678"}', "stream: restored: %s" % st["calls"])
    # the round trip: the call goes back with its result and the model answers from it
    s, j, _ = chat(all_port, key, [user("tool: get_weather " + args)], tools=[TOOL])
    m = j["choices"][0]["message"]
    rec = json.loads(records(data)[-1]["text"] or "{}").get("output", "")
    check("get_weather" in rec and '"北京"' in rec, "the record keeps the call: %r" % rec)
    s, j, _ = chat(all_port, key, [user("tool: get_weather " + args),
                                   {"role": "assistant", "content": m["content"], "tool_calls": m["tool_calls"]},
                                   {"role": "tool", "tool_call_id": m["tool_calls"][0]["id"], "content": "晴，25度"}],
                   tools=[TOOL])
    check(s == 200 and finish_of(j) == "stop" and hgtest.answer(j).startswith("tool result: 晴，25度"),
          "round trip: the tool's result reaches the model and the answer: %s %s" % (s, j))


# ---- answers no sample model gives: a scripted upstream ----

class Scripted(http.server.BaseHTTPRequestHandler):
    """Answers the next request with Scripted.events (streamed) or Scripted.whole (JSON)."""
    protocol_version = "HTTP/1.1"
    events, whole = [], {}

    def log_message(self, *a):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if body.get("stream"):
            raw = b"".join(b"data: " + json.dumps(e, ensure_ascii=False).encode() + b"\n\n" for e in Scripted.events)
            raw += b"data: [DONE]\n\n"
            ctype = "text/event-stream"
        else:
            raw, ctype = json.dumps(Scripted.whole, ensure_ascii=False).encode(), "application/json"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


def chunk(choices, **extra):
    return dict({"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m", "choices": choices}, **extra)


def scripted_cases(port, key):
    # n > 1: only the first choice is passed on, and another choice's text is not mixed into it
    Scripted.events = [chunk([{"index": 1, "delta": {"content": WORD}}, {"index": 0, "delta": {"content": "你好"}}]),
                       chunk([{"index": 0, "delta": {}, "finish_reason": "stop"},
                              {"index": 1, "delta": {}, "finish_reason": "stop"}])]
    s, st = stream(port, key, {"model": "m", "messages": [user("hi")], "n": 2})
    check(s == 200 and st["content"].startswith("你好") and st["finish"] == "stop" and "毒" not in st["raw"],
          "n > 1: the first choice only: %s" % st.get("content"))
    # tool calls whose deltas interleave cannot be held one at a time: the stream ends as broken, no call passes
    Scripted.events = [chunk([{"index": 0, "delta": {"tool_calls": [
        {"index": 0, "id": "a", "type": "function", "function": {"name": "f", "arguments": "{"}}]}}]),
        chunk([{"index": 0, "delta": {"tool_calls": [
            {"index": 1, "id": "b", "type": "function", "function": {"name": "g", "arguments": "{}"}}]}}]),
        chunk([{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "}"}}]}}]),
        chunk([{"index": 0, "delta": {}, "finish_reason": "tool_calls"}])]
    s, st = stream(port, key, {"model": "m", "messages": [user("hi")]})
    err = (st.get("error") or {}).get("message", "")  # before any text: a 502; after: an error event
    check(s in (200, 502) and "out of order" in err and not st.get("calls") and "tool_calls" not in st.get("raw", ""),
          "interleaved tool-call deltas end the answer as broken, no call passes: %s %s" % (s, st))
    # an id that is not an identifier is replaced; a whole answer's call with null content passes
    Scripted.whole = {"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": [{
        "index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call " + WORD, "type": "function", "function": {"name": "f", "arguments": "{}"}}]}}]}
    s, j, raw = chat(port, key, [user("hi")])
    calls = (j or {}).get("choices", [{}])[0].get("message", {}).get("tool_calls") or [{}]
    check(s == 200 and calls[0].get("id", "").startswith("call_hg") and "毒".encode() not in raw,
          "an id with text in it is replaced: %s" % calls)


# ---- 5. /v1/moderations ----

def moderation_cases(port, key):
    s, j, _ = post(port, key, "/v1/moderations", {"input": [{"type": "text", "text": "哪里买"},
                                                            {"type": "text", "text": WORD}]})
    r = (j or {}).get("results") or []
    check(s == 200 and len(r) == 1 and r[0]["flagged"] and r[0]["categories"]["illicit"] and
          set(r[0]) == {"flagged", "categories", "category_scores", "hegui"},
          "parts form: one result for the parts, flagged: %s %s" % (s, j))
    s, j, _ = post(port, key, "/v1/moderations", {"input": [{"type": "text", "text": "你好"}]})
    check(s == 200 and not j["results"][0]["flagged"], "parts form: a clean text is not flagged")
    s, j, _ = post(port, key, "/v1/moderations", {"input": [{"type": "text", "text": "看图"}, {
        "type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]})
    check(s == 400 and "images are not supported" in j["error"]["message"] and j["error"]["param"] == "input[1]",
          "an image part: 400 images are not supported: %s %s" % (s, j))
    for bad in ([1, 2], ["你好", 1], [{"type": "text", "text": "a"}, "b"], [{"type": "text"}], {"text": WORD}, 7):
        s, j, _ = post(port, key, "/v1/moderations", {"input": bad})
        check(s == 400 and (j or {}).get("error", {}).get("type") == "invalid_request_error",
              "input %r is refused with 400: %s %s" % (bad, s, j))
    s, j, _ = post(port, key, "/v1/moderations", {"input": ["你好"] * 256})
    check(s == 200 and len(j["results"]) == 256, "256 inputs are moderated: %s" % s)
    s, j, raw = post(port, key, "/v1/moderations", {"input": [WORD] * 40000})
    check(s == 400 and len(raw) < 1000 and j["error"]["param"] == "input",
          "40000 inputs: 400, not an answer of megabytes: %s %d bytes" % (s, len(raw)))
    s, j, raw = post(port, key, "/v1/moderations", {"input": [(WORD + "，13812345678；") * 300] * 8})
    h = j["results"][0]["hegui"] if s == 200 else {}
    check(s == 200 and len(h.get("hits", [])) <= 16 and len(h.get("pii", [])) <= 16 and h.get("truncated") is True and
          j["results"][0]["flagged"], "hits listed per input are capped: %d hits" % len(h.get("hits", [])))
    check(len(raw) < 200000, "the answer stays small: %d bytes" % len(raw))


def main():
    up, up_port = hgtest.start([UPSTREAM, "--listen", "127.0.0.1:0", "--quiet", "--record-requests", REQUESTS],
                               "listening", TMP)
    data = os.path.join(TMP, "data")
    key = hgtest.keys_create(HEGUI, data, "alice")
    lex = os.path.join(TMP, "lexicon.tsv")
    with open(lex, "w") as f:
        f.write("冰毒\tA1h\t5\tblock\tfolded,noise\n法轮功\tA1h\t5\tblock\tfolded,noise\n内部代号\tcustom\t3\tredact\n")
    gws = []
    try:
        ports = {}
        for name, roles in (("all", "[user, system, assistant, tool]"), ("out", "[system]")):
            cfg = os.path.join(TMP, name + ".yaml")
            with open(cfg, "w") as f:
                f.write("workers: 1\ndata_dir: %s\nlexicon: %s\nupstream:\n  url: http://127.0.0.1:%d\n"
                        "policy:\n  input:\n    roles: %s\n"  # this user is blocked on purpose, many times
                        "strikes:\n  suspend_in_a_row: 1000\n  suspend_per_day: 100000\n" % (data, lex, up_port, roles))
            gw, port = hgtest.start([HEGUI, "serve", "--config", cfg, "--listen", "127.0.0.1:0"], "serving on", TMP)
            gws.append(gw)
            ports[name] = port
        surface_cases(ports["all"], key, data)
        join_cases(ports["all"], key, data)
        upstream_field_cases(ports["out"], key, data)
        tool_cases(ports["out"], ports["all"], key, data)
        moderation_cases(ports["all"], key)
        srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Scripted)
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        cfg = os.path.join(TMP, "scripted.yaml")
        with open(cfg, "w") as f:
            f.write("workers: 1\ndata_dir: %s\nlexicon: %s\nupstream:\n  url: http://127.0.0.1:%d\n"
                    "policy:\n  input:\n    roles: [system]\n" % (data, lex, srv.server_address[1]))
        gw, port = hgtest.start([HEGUI, "serve", "--config", cfg, "--listen", "127.0.0.1:0"], "serving on", TMP)
        gws.append(gw)
        scripted_cases(port, key)
        srv.shutdown()
    finally:
        for gw in gws:
            gw.terminate()
            try:
                gw.wait(15)
            except subprocess.TimeoutExpired:
                gw.kill()
        up.terminate()
    for gw in gws:
        check(gw.returncode == 0, "gateway exits cleanly (ASan quiet): %s, see %s" % (gw.returncode, gw.log))
    verify = subprocess.run([HEGUI, "audit", "verify", "--data-dir", data], capture_output=True, text=True)
    check(verify.returncode == 0, "audit chain holds: " + verify.stdout + verify.stderr)
    return hgtest.report("surface")


if __name__ == "__main__":
    sys.exit(main())
