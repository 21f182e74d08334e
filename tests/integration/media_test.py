#!/usr/bin/env python3
"""media_test.py HEGUI SAMPLE_UPSTREAM — images and audio through the gateway (docs/media.md): the routes
/v1/images/generations, /v1/images/edits, /v1/audio/speech and /v1/audio/transcriptions against the sample upstream,
whose images show a text the test chooses (the marker __text:HEX__, examples/sample_media.c).

Independent checks: every image is decoded by Python PIL and compared pixel by pixel with the one the upstream makes
for the same request when asked directly, so the explicit label is measured (where the pixels changed, how high); the
implicit label is read by exiftool (XMP-TC260 in PNG/JPEG, the RIFF AIGC chunk in WAV) and its ProduceID compared
with the answer's; a WAV's length is read by Python's wave module; the audit chain by `hegui audit export`. It checks
the refusals: a prompt with a prohibited word (the model never called), an image whose text (read by OCR) holds one,
an edit whose input image holds one, url answers from a host not allowed or through a redirect to one, audio formats
that cannot carry a label; the policy of what cannot be judged (media.unjudged: block); and content handed out
without its explicit label on request, recorded."""
import base64
import http.client
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import wave

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hgtest import check, keys_create, records, report, request, start  # noqa: E402

try:
    from PIL import Image, ImageChops, ImageDraw, ImageFont
except ImportError:
    # Debian's python3-pil is installed for Debian's python; another python3 first on PATH (pyenv) lacks it
    if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("media_test: python3-pil is missing (scripts/install-deps.sh test installs it)")
    sys.exit(1)

HEGUI, UPSTREAM = sys.argv[1], sys.argv[2]
TMP = tempfile.mkdtemp(prefix="hegui-media-")
FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
BAD = "冰毒"  # a word of the test lexicon (block)


def hexed(text):
    return "__text:%s__" % text.encode().hex()


def png_of(b64):
    return Image.open(io.BytesIO(base64.b64decode(b64)))


def direct_image(up_port, body):
    """The image the upstream makes for this request, asked without the gateway."""
    s, j = request(up_port, "POST", "/v1/images/generations", dict(body, response_format="b64_json"))
    return png_of(j["data"][0]["b64_json"]) if s == 200 else None


def changed_box(a, b):
    """The bounding box (l, t, r, b) of the pixels that differ by more than codec noise, or None."""
    d = ImageChops.difference(a.convert("RGB"), b.convert("RGB")).convert("L").point(lambda v: 255 if v > 40 else 0)
    return d.getbbox()


def exif_aigc(data, suffix):
    path = os.path.join(TMP, "x" + suffix)
    with open(path, "wb") as f:
        f.write(data)
    out = subprocess.run(["exiftool", "-j", "-a", "-u", "-G1", path], capture_output=True, text=True).stdout
    tags = json.loads(out)[0] if out.strip() else {}
    for k, v in tags.items():
        if isinstance(v, str) and v.startswith("(Binary data"):  # RIFF's unknown chunk: asked for by name, in full
            v = subprocess.run(["exiftool", "-b", "-u", "-" + k, path], capture_output=True, text=True).stdout
        if k.lower().endswith(":aigc") or k.lower().endswith("unknown_aigc"):
            try:
                j = json.loads(v) if isinstance(v, str) else v
                return j.get("AIGC", j)
            except ValueError:
                return {"raw": v}
    return None


def form(fields, files):
    """A multipart/form-data body: fields {name: text}, files {name: (filename, type, bytes)}."""
    b = "hgtest-7d1f3a"
    out = b""
    for k, v in fields.items():
        out += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n" % (b, k, v)).encode()
    for k, (fn, ty, data) in files.items():
        out += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\nContent-Type: %s\r\n\r\n"
                % (b, k, fn, ty)).encode() + data + b"\r\n"
    return out + ("--%s--\r\n" % b).encode(), "multipart/form-data; boundary=" + b


def text_png(text, size=(480, 200)):
    """An image drawn here, by PIL, with text in it (an edit's input)."""
    im = Image.new("RGB", size, (250, 250, 245))
    ImageDraw.Draw(im).text((20, 60), text, fill=(10, 10, 10), font=ImageFont.truetype(FONT, 64))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def last_record(data, route):
    rs = [r for r in records(HEGUI, data) if r.get("route") == route]
    return rs[-1] if rs else {}


def detail(r):
    d = r.get("detail_json", r.get("detail"))
    return json.loads(d) if isinstance(d, str) else (d or {})


def images(port, up_port, key, data):
    body = {"model": "sample-image", "prompt": "一只在海边看日出的猫 " + hexed("海边日出"), "size": "512x384",
            "response_format": "b64_json"}
    h = {}
    s, j = request(port, "POST", "/v1/images/generations", body, key, headers_out=h)
    check(s == 200 and len(j.get("data", [])) == 1, "an image is generated through the gateway: %s %s" % (s, str(j)[:300]))
    if s != 200:
        return
    raw = base64.b64decode(j["data"][0]["b64_json"])
    got, want = Image.open(io.BytesIO(raw)), direct_image(up_port, body)
    check(got.format == "PNG" and got.size == (512, 384), "a PNG of the size asked: %s %s" % (got.format, got.size))
    box = changed_box(got, want)
    check(box is not None, "the explicit label changed the picture")
    if box:
        l, t, r, b = box
        check(l >= 512 / 2 and t >= 384 / 2, "the label sits in the bottom-right corner: %s" % (box,))
        check(b - t >= 0.05 * 384, "the label's box is at least 5%% of the shortest side high: %d px" % (b - t))
    produce_id = h.get("x-hegui-produce-id")
    check(produce_id and produce_id == j.get("id"), "the answer names its ProduceID: %s %s" % (produce_id, j.get("id")))
    label = exif_aigc(raw, ".png")
    check(label and label.get("ProduceID") == produce_id and label.get("ContentProducer"),
          "exiftool reads the implicit label with ProduceID = the response id: %s" % label)
    path = os.path.join(TMP, "out.png")
    with open(path, "wb") as f:
        f.write(raw)
    v = subprocess.run([HEGUI, "label", "verify", "--data-dir", data, path], capture_output=True, text=True)
    check(v.returncode == 0, "hegui label verify: the image's label is intact: %s %s" % (v.stdout, v.stderr))
    rec = last_record(data, "/v1/images/generations")
    d = detail(rec)
    check(rec.get("verdict") in ("allow", "review") and d.get("response_id") == produce_id,
          "the request's record, with its response id: %s" % rec)
    check(d.get("images") and d["images"][0].get("explicit_label") is True, "the record lists the labelled image: %s" % d)
    check("海边日出" in json.dumps(rec, ensure_ascii=False), "the record keeps the text read in the image (OCR)")

    # a url answer (OpenAI's default) from the upstream's own host: fetched, returned as b64_json
    s, j = request(port, "POST", "/v1/images/generations", {"prompt": "a cat " + hexed("早安")}, key)
    check(s == 200 and "b64_json" in j.get("data", [{}])[0] and "url" not in j["data"][0],
          "a url answer is fetched and returned as b64_json: %s %s" % (s, str(j)[:200]))
    # a JPEG, n = 2
    s, j = request(port, "POST", "/v1/images/generations",
                   {"prompt": "two cats __jpeg__ " + hexed("你好"), "n": 2, "response_format": "b64_json"}, key)
    ok = s == 200 and len(j.get("data", [])) == 2
    check(ok, "two JPEG images: %s %s" % (s, str(j)[:200]))
    if ok:
        raw = base64.b64decode(j["data"][1]["b64_json"])
        check(Image.open(io.BytesIO(raw)).format == "JPEG", "the second is a JPEG")
        lab = exif_aigc(raw, ".jpg")
        check(lab and lab.get("ProduceID") == j.get("id"), "exiftool reads the JPEG's label: %s" % lab)

    # refusals
    s, j = request(port, "POST", "/v1/images/generations", {"prompt": "画一张%s的海报" % BAD}, key)
    err = j.get("error", {}) if isinstance(j, dict) else {}
    check(s == 400 and err.get("code") == "content_policy_violation", "a prohibited prompt is refused: %s %s" % (s, j))
    d = detail(last_record(data, "/v1/images/generations"))
    check("upstream_status" not in d and d.get("input_hits"), "the model was never called for it: %s" % d)
    s, j = request(port, "POST", "/v1/images/generations", {"prompt": "一张海报 " + hexed("出售" + BAD)}, key)
    err = j.get("error", {}) if isinstance(j, dict) else {}
    check(s == 400 and err.get("code") == "content_policy_violation",
          "an image with a prohibited word in it (read by OCR) is withheld: %s %s" % (s, j))
    rec = last_record(data, "/v1/images/generations")
    d = detail(rec)
    check(rec.get("verdict") == "block" and any(h.get("entry") == BAD for h in d.get("output_hits", [])),
          "its record: blocked, the word read in the image: %s" % d)
    s, j = request(port, "POST", "/v1/images/generations", {"prompt": "a cat __otherhost__"}, key)
    check(s == 502 and "fetch_hosts" in json.dumps(j), "a url on a host not allowed is not fetched: %s %s" % (s, j))
    s, j = request(port, "POST", "/v1/images/generations", {"prompt": "a cat __redirect__"}, key)
    check(s == 502 and "fetch_hosts" in json.dumps(j), "a redirect to a host not allowed is not followed: %s %s" % (s, j))
    s, j = request(port, "POST", "/v1/images/generations", {"prompt": "x", "n": 11}, key)
    check(s == 400 and j.get("error", {}).get("param") == "n", "n above 10 is a 400 naming n: %s %s" % (s, j))
    s, j = request(port, "POST", "/v1/images/generations", {"prompt": 5}, key)
    check(s == 400 and j.get("error", {}).get("param") == "prompt", "a prompt that is not a string: %s" % s)

    # edits: the input image's text is judged too
    body, ctype = form({"model": "sample-image", "prompt": "把背景换成蓝色"}, {"image": ("in.png", "image/png", text_png("天气晴朗"))})
    s, j = request(port, "POST", "/v1/images/edits", raw=body, key=key, content_type=ctype)
    check(s == 200 and j.get("data"), "an edit goes through: %s %s" % (s, str(j)[:200]))
    body, ctype = form({"model": "sample-image", "prompt": "把背景换成蓝色"}, {"image": ("in.png", "image/png", text_png(BAD))})
    s, j = request(port, "POST", "/v1/images/edits", raw=body, key=key, content_type=ctype)
    check(s == 400 and j.get("error", {}).get("code") == "content_policy_violation",
          "an edit whose input image shows a prohibited word is refused: %s %s" % (s, j))
    s, j = request(port, "POST", "/v1/images/edits", raw=b"not a form", key=key, content_type="multipart/form-data; boundary=zz")
    check(s == 400, "a malformed form is a 400: %s %s" % (s, j))


def audio(port, up_port, key, data):
    # the audio's bytes as they came (request() decodes bodies as text)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("POST", "/v1/audio/speech", body=json.dumps({"model": "sample-tts", "input": "你好，世界", "response_format": "wav"}),
              headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    r = c.getresponse()
    raw = r.read()
    ctype = r.getheader("Content-Type")
    c.close()
    c = http.client.HTTPConnection("127.0.0.1", up_port, timeout=60)
    c.request("POST", "/v1/audio/speech", body=json.dumps({"model": "sample-tts", "input": "你好，世界", "response_format": "wav"}),
              headers={"Content-Type": "application/json"})
    direct = c.getresponse().read()
    c.close()
    check(r.status == 200 and ctype == "audio/wav", "speech through the gateway: %s %s" % (r.status, ctype))
    if r.status == 200:
        got, want = wave.open(io.BytesIO(raw)), wave.open(io.BytesIO(direct))
        extra = got.getnframes() / got.getframerate() - want.getnframes() / want.getframerate()
        # 本内容由人工智能生成: 10 characters at 120-160 a minute is 3.75-5 s of speech, with a short gap
        check(3.0 <= extra <= 6.5, "the spoken label adds %.2f s to the audio" % extra)
        lab = exif_aigc(raw, ".wav")
        check(lab and lab.get("ProduceID") == r.getheader("X-Hegui-Produce-Id"), "exiftool reads the WAV's label: %s" % lab)
    s, j = request(port, "POST", "/v1/audio/speech", {"model": "sample-tts", "input": "hi", "response_format": "pcm"}, key)
    check(s == 400 and j.get("error", {}).get("param") == "response_format",
          "pcm cannot carry a label: refused before the model is called: %s %s" % (s, j))
    s, j = request(port, "POST", "/v1/audio/speech", {"model": "sample-tts", "input": "说说%s怎么做" % BAD}, key)
    check(s == 400 and j.get("error", {}).get("code") == "content_policy_violation", "a prohibited input is refused: %s" % s)
    rec = last_record(data, "/v1/audio/speech")
    check(rec.get("verdict") == "block", "its record: %s" % rec.get("verdict"))

    wav = direct
    body, ctype = form({"model": "sample-asr"}, {"file": ("a.wav", "audio/wav", wav)})
    h = {}
    s, j = request(port, "POST", "/v1/audio/transcriptions", raw=body, key=key, content_type=ctype, headers_out=h)
    check(s == 200 and "这是示例转写" in j.get("text", "") and "本内容由人工智能生成" in j.get("text", ""),
          "a transcription, with the notice: %s %s" % (s, j))
    check(isinstance(j.get("aigc"), dict) and "x-aigc-label" in h, "with the implicit label: %s" % j.get("aigc"))
    body, ctype = form({"model": "sample-asr", "response_format": "text"},
                       {"file": ("a.wav", "audio/wav", wav + hexed("他在卖" + BAD).encode())})
    s, t = request(port, "POST", "/v1/audio/transcriptions", raw=body, key=key, content_type=ctype)
    check(s == 200 and BAD not in t and "无法回答" in t, "a transcript with a prohibited word is replaced by the refusal: %s %s" % (s, t))
    rec = last_record(data, "/v1/audio/transcriptions")
    check(rec.get("verdict") == "block", "its record is a block: %s" % rec.get("verdict"))


def chat_images(port, key, data):
    """Image parts of a chat prompt: their text read by OCR and judged with the prompt."""
    def ask(png):
        url = "data:image/png;base64," + base64.b64encode(png).decode()
        body = {"model": "sample-1", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "图片里写的是什么？"}, {"type": "image_url", "image_url": {"url": url}}]}]}
        return request(port, "POST", "/v1/chat/completions", body, key)
    s, j = ask(text_png(BAD))
    fin = (j.get("choices") or [{}])[0].get("finish_reason") if isinstance(j, dict) else None
    check(s == 200 and fin == "content_filter", "a chat prompt whose image shows a prohibited word is refused: %s %s" % (s, fin))
    d = detail(last_record(data, "/v1/chat/completions"))
    check(any(h.get("entry") == BAD for h in d.get("input_hits", [])) and d.get("ocr"),
          "its record names the word read in the image: %s" % d)
    s, j = ask(text_png("天气晴朗"))
    fin = (j.get("choices") or [{}])[0].get("finish_reason") if isinstance(j, dict) else None
    d = detail(last_record(data, "/v1/chat/completions"))
    check(s == 200 and fin == "stop" and d.get("ocr") and d.get("unjudged"),
          "a harmless image passes; its text was read, its picture left to media.unjudged: %s %s" % (fin, d))


def unlabeled(port, up_port, key, data):
    body = {"prompt": "a quiet lake " + hexed("湖"), "response_format": "b64_json"}
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("POST", "/v1/images/generations", body=json.dumps(body),
              headers={"Authorization": "Bearer " + key, "Content-Type": "application/json",
                       "X-Hegui-Explicit-Label": "omit", "X-Hegui-Recipient": "editor@example.com"})
    r = c.getresponse()
    j = json.loads(r.read())
    c.close()
    check(r.status == 200 and r.getheader("X-Hegui-Explicit-Label") == "omitted", "an image without its explicit label, on request")
    if r.status == 200:
        raw = base64.b64decode(j["data"][0]["b64_json"])
        check(changed_box(Image.open(io.BytesIO(raw)), direct_image(up_port, body)) is None, "the picture is untouched")
        check(exif_aigc(raw, ".png"), "the implicit label stays")
    d = detail(last_record(data, "/v1/images/generations"))
    check(d.get("recipient") == "editor@example.com" and d.get("explicit_label") == "omitted",
          "the record names who received it: %s" % d)


def stopping_gateway(key, data):
    """A gateway told to stop does not wait for an image call the upstream holds: the call is abandoned (and
    recorded), the process exits while the upstream still holds the answer. No clock is asserted on: the upstream
    holds until the test releases it, after the gateway is gone; the wait for the exit is only a guard."""
    import signal
    import threading
    hold = os.path.join(TMP, "release")
    up, up_port = start([UPSTREAM, "--listen", "127.0.0.1:0", "--quiet", "--hold-file", hold], "listening", TMP)
    cfg = os.path.join(TMP, "stop.yaml")
    with open(cfg, "w") as f:
        f.write("data_dir: %s\nupstream:\n  url: http://127.0.0.1:%d\nlimits:\n  drain_timeout_ms: 500\n" % (data, up_port))
    gw, port = start([HEGUI, "serve", "--config", cfg, "--listen", "127.0.0.1:0"], "serving on", TMP)
    got = {}

    def call():
        try:
            got["r"] = request(port, "POST", "/v1/images/generations",
                               {"prompt": "a cat __hold__", "response_format": "b64_json"}, key)
        except OSError as e:  # the connection closed without an answer: what a stopping gateway may do
            got["r"] = (None, str(e))
    t = threading.Thread(target=call)
    try:
        t.start()
        for _ in range(3000):  # until the upstream holds the call (a guard, not a measurement)
            if os.path.exists(hold + ".waiting"):
                break
            t.join(0.01)
        check(os.path.exists(hold + ".waiting"), "the upstream holds the image call")
        gw.send_signal(signal.SIGTERM)
        try:
            gw.wait(60)
        except subprocess.TimeoutExpired:
            pass
        check(gw.poll() is not None and not os.path.exists(hold),
              "the gateway exited while the upstream still held the image call")
        t.join(60)
        s = got.get("r", (None, None))[0]
        check(s in (None, 502, 503), "the held call got an error or a closed connection, not an image: %s" % s)
    finally:
        open(hold, "w").close()
        if gw.poll() is None:
            gw.kill()
        up.kill()


def main():
    data = os.path.join(TMP, "data")
    up, up_port = start([UPSTREAM, "--listen", "127.0.0.1:0", "--quiet"], "listening", TMP)
    lex = os.path.join(TMP, "lexicon.tsv")
    with open(lex, "w") as f:
        f.write("%s\tA1h\t5\tblock\tfolded,noise\n" % BAD)
    base = ("data_dir: %s\nlexicon: %s\nupstream:\n  url: http://127.0.0.1:%d\naudit:\n  retain_text: full\n"
            "labels:\n  unlabeled_on_request: true\nlimits:\n  max_body_bytes: 8388608\n"
            "strikes:\n  suspend_per_day: 1000\n  suspend_in_a_row: 1000\n" % (data, lex, up_port))
    cfg = os.path.join(TMP, "hegui.yaml")
    with open(cfg, "w") as f:
        f.write(base)
    key = keys_create(HEGUI, data, "alice")
    gw, port = start([HEGUI, "serve", "--config", cfg, "--listen", "127.0.0.1:0"], "serving on", TMP)
    try:
        images(port, up_port, key, data)
        audio(port, up_port, key, data)
        unlabeled(port, up_port, key, data)
        chat_images(port, key, data)
        s, m = request(port, "GET", "/metrics")
        check(isinstance(m, str) and 'route="/v1/images"' in m and 'route="/v1/audio"' in m, "the media routes are counted")

        def metric(name):
            for line in (m if isinstance(m, str) else "").splitlines():
                if line.startswith(name + " "):
                    return float(line.split()[-1])
            return -1
        check(metric('hegui_ocr_images_total{result="read"}') >= 5 and metric("hegui_unjudged_total") >= 5 and
              metric('hegui_media_labelled_total{explicit="yes"}') >= 5 and
              metric('hegui_media_labelled_total{explicit="omitted"}') == 1,
              "OCR readings, unjudged content and labelled files are counted: %s" % [
                  l for l in (m if isinstance(m, str) else "").splitlines() if "ocr" in l or "unjudged" in l or "labelled" in l])
    finally:
        gw.kill()
        gw.wait()
    # what cannot be judged, blocked by policy: a picture without a vision guard
    with open(cfg, "w") as f:
        f.write(base + "media:\n  unjudged: block\n")
    gw, port = start([HEGUI, "serve", "--config", cfg, "--listen", "127.0.0.1:0"], "serving on", TMP)
    try:
        s, j = request(port, "POST", "/v1/images/generations", {"prompt": "a cat", "response_format": "b64_json"}, key)
        check(s == 400 and j.get("error", {}).get("code") == "content_policy_violation",
              "media.unjudged: block withholds a picture no detector judged: %s %s" % (s, j))
        d = detail(last_record(data, "/v1/images/generations"))
        check(d.get("block_category") == "unjudged" and d.get("unjudged"), "its record says why: %s" % d)
    finally:
        gw.kill()
        gw.wait()
    # a vision guard (guard.images) judges the pictures, with the prompt that asked for them
    fg, fg_port = start([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_guard.py"),
                         "qwen3guard"], "listening", TMP)
    with open(cfg, "w") as f:
        f.write(base + "guard:\n  url: http://127.0.0.1:%d\n  input: false\n  output: true\n  images: true\n" % fg_port)
    gw, port = start([HEGUI, "serve", "--config", cfg, "--listen", "127.0.0.1:0"], "serving on", TMP)
    try:
        s, j = request(port, "POST", "/v1/images/generations", {"prompt": "a cat " + hexed("猫"), "response_format": "b64_json"}, key)
        c = http.client.HTTPConnection("127.0.0.1", fg_port, timeout=10)
        c.request("GET", "/calls")
        calls = json.loads(c.getresponse().read())
        c.close()
        d = detail(last_record(data, "/v1/images/generations"))
        check(s == 200 and calls.get("images") == 1 and d.get("output_guard", {}).get("verdict") == "safe"
              and not d.get("unjudged"), "the vision guard judged the picture safe: %s %s %s" % (s, calls, d))
        s, j = request(port, "POST", "/v1/images/generations", {"prompt": "画一个炸弹 " + hexed("图"), "response_format": "b64_json"}, key)
        d = detail(last_record(data, "/v1/images/generations"))
        check(s == 400 and d.get("output_guard", {}).get("verdict") == "unsafe",
              "the vision guard's unsafe verdict withholds the picture: %s %s" % (s, d))
    finally:
        gw.kill()
        fg.kill()
        up.kill()
    stopping_gateway(key, data)
    code = report("media")
    if not code:
        shutil.rmtree(TMP, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
