#!/usr/bin/env python3
"""ocr_render.py — draws known text into image files with Pillow and the WenQuanYi font, for the OCR tests, the OCR
evaluation (ocr_eval.py) and the OCR bench. It is independent of hegui (which reads with Tesseract and never draws
with Pillow), so a test that reads back what this wrote checks hegui against an outside renderer.

As a program: ocr_render.py OUT TEXT [--size PX] [--bg plain|dark|colour|busy] [--noise SIGMA] [--width W]
[--height H] [--seed N]; the format follows OUT's suffix (.png, .jpg, .webp, .gif, .bmp, .tif)."""
import argparse
import random
import sys

from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"

BACKGROUNDS = ("plain", "dark", "colour", "busy")


def _colours(bg, rng):
    """Background and text colour for a kind of background."""
    if bg == "dark":
        return (rng.randint(0, 50),) * 3, (rng.randint(215, 255),) * 3
    if bg == "colour":
        base = tuple(rng.randint(150, 255) for _ in range(3))
        ink = tuple(rng.randint(0, 90) for _ in range(3))
        return base, ink
    return (255, 255, 255), (rng.randint(0, 40),) * 3


def _busy(img, rng):
    """Overdraws a busy background: coloured boxes, circles and lines, then blurs it a little."""
    d = ImageDraw.Draw(img)
    w, h = img.size
    for _ in range(40):
        x0, y0 = rng.randrange(w), rng.randrange(h)
        x1, y1 = x0 + rng.randint(10, w // 3 + 10), y0 + rng.randint(10, h // 3 + 10)
        colour = tuple(rng.randint(120, 255) for _ in range(3))
        if rng.random() < 0.5:
            d.rectangle([x0, y0, x1, y1], fill=colour)
        else:
            d.ellipse([x0, y0, x1, y1], fill=colour)
    for _ in range(20):
        d.line([rng.randrange(w), rng.randrange(h), rng.randrange(w), rng.randrange(h)],
               fill=tuple(rng.randint(100, 255) for _ in range(3)), width=rng.randint(1, 3))
    return img.filter(ImageFilter.GaussianBlur(1.5))


def _noise(img, sigma, rng):
    if sigma <= 0:
        return img
    px = img.load()
    w, h = img.size
    for y in range(h):
        for x in range(w):
            r, g, b = px[x, y]
            n = int(rng.gauss(0, sigma))
            px[x, y] = (max(0, min(255, r + n)), max(0, min(255, g + n)), max(0, min(255, b + n)))
    return img


def render(text, size=32, bg="plain", noise=0.0, width=None, height=None, seed=0):
    """An RGB image with text (lines split at '\\n') drawn at size px, on the kind of background asked for."""
    rng = random.Random(seed)
    font = ImageFont.truetype(FONT, size)
    lines = text.split("\n")
    boxes = [font.getbbox(line) for line in lines]
    text_w = max(b[2] - b[0] for b in boxes)
    line_h = int(size * 1.4)
    w = width or text_w + 2 * size
    h = height or line_h * len(lines) + 2 * size
    back, ink = _colours(bg, rng)
    img = Image.new("RGB", (w, h), back)
    if bg == "busy":
        img = _busy(img, rng)
    d = ImageDraw.Draw(img)
    y = (h - line_h * len(lines)) // 2
    for line in lines:
        x = max(0, (w - text_w) // 2)
        if bg == "busy":  # a darker outline keeps the words legible to a person, as a poster would
            d.text((x, y), line, font=font, fill=(0, 0, 0), stroke_width=max(1, size // 16), stroke_fill=(255, 255, 255))
        else:
            d.text((x, y), line, font=font, fill=ink)
        y += line_h
    return _noise(img, noise, rng)


def save(img, path):
    if path.lower().endswith((".jpg", ".jpeg")):
        img.save(path, quality=85)
    else:
        img.save(path)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("text")
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--bg", choices=BACKGROUNDS, default="plain")
    ap.add_argument("--noise", type=float, default=0.0)
    ap.add_argument("--width", type=int)
    ap.add_argument("--height", type=int)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    save(render(a.text.replace("\\n", "\n"), a.size, a.bg, a.noise, a.width, a.height, a.seed), a.out)


if __name__ == "__main__":
    main(sys.argv[1:])
