#!/usr/bin/python3
"""ocr_seeds.py DIR — small seed images for fuzz_ocr_prepare, one per format Leptonica reads, drawn by Pillow."""
import os
import sys

from PIL import Image, ImageDraw

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
img = Image.new("RGB", (24, 12), (250, 240, 230))
ImageDraw.Draw(img).line([0, 0, 23, 11], fill=(10, 20, 30), width=2)
img.save(os.path.join(out, "seed.png"))
img.convert("RGBA").save(os.path.join(out, "seed-rgba.png"))
img.convert("P").save(os.path.join(out, "seed-palette.png"))
img.convert("1").save(os.path.join(out, "seed-1bit.png"))
img.save(os.path.join(out, "seed.jpg"), quality=70)
img.convert("L").save(os.path.join(out, "seed-grey.jpg"), quality=70)
img.save(os.path.join(out, "seed.gif"))
img.save(os.path.join(out, "seed.bmp"))
img.save(os.path.join(out, "seed.tif"))
img.save(os.path.join(out, "seed.ppm"))
try:
    img.save(os.path.join(out, "seed.webp"))
except (KeyError, OSError):
    pass  # Pillow without WebP
