#!/usr/bin/env bash
# test_label_explicit.sh HEGUI — `hegui label add --explicit` on PNG and JPEG files made by ffmpeg and Python PIL,
# read back by independent tools: PIL (a valid picture of the same size; the label found by diffing against the
# original: in the named corner or edge, its text pixels at least the required share of the shortest side, text and
# plate far apart in luminance), exiftool (the XMP AIGC label) and `hegui label verify` (signatures over the labelled
# pixels). Refusals leave the file byte for byte as it was.
set -u
HEGUI=$1
for tool in exiftool ffmpeg; do
  command -v $tool >/dev/null || { echo "skipped: $tool is not installed (scripts/install-deps.sh test)"; exit 77; }
done
PY=python3
$PY -c 'import PIL' 2>/dev/null || PY=/usr/bin/python3
$PY -c 'import PIL' 2>/dev/null || { echo "skipped: python3-pil is not installed"; exit 77; }
[ -r /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || { echo "skipped: fonts-wqy-microhei is not installed"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 2
fails=0
pass=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
ff() { ffmpeg -nostdin -loglevel error -y "$@"; }

# ---- inputs ----
mkdir media
ff -f lavfi -i testsrc=size=640x480 -frames:v 1 media/test.png
ff -f lavfi -i testsrc=size=640x480 -frames:v 1 -q:v 3 media/test.jpg
$PY - <<'PY'
from PIL import Image
import random
random.seed(7)
# a palette PNG with a transparent colour, a wide RGBA strip, a grey portrait JPEG, a CMYK JPEG, random noise
p = Image.new("P", (300, 200))
p.putpalette([0, 0, 0, 255, 255, 255, 200, 30, 30] + [0] * 759)
p.putdata([(x // 20 + y // 20) % 3 for y in range(200) for x in range(300)])
p.save("media/palette.png", transparency=2)
Image.linear_gradient("L").resize((1000, 250)).convert("RGBA").save("media/strip.png")
Image.linear_gradient("L").resize((200, 500)).save("media/grey.jpg", quality=90)
Image.new("CMYK", (300, 300), (10, 200, 30, 0)).save("media/cmyk.jpg", quality=90)
n = Image.new("RGB", (333, 257))
n.putdata([(random.randrange(256), random.randrange(256), random.randrange(256)) for _ in range(333 * 257)])
n.save("media/noise.png")
# colour profiles: kept for RGB originals, dropped where the original's samples were grey
from PIL import ImageCms
icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
n.save("media/icc.png", icc_profile=icc)
n.save("media/icc.jpg", icc_profile=icc, quality=90)
Image.linear_gradient("L").resize((300, 200)).save("media/grey-icc.png", icc_profile=icc)
open("icc.bin", "wb").write(icc)
# JPEGs stored turned, with an EXIF orientation; their upright view (PIL's exif_transpose) is what the label goes on
from PIL import ImageOps
import os
os.makedirs("upright", exist_ok=True)
for o in range(2, 9):
    exif = Image.Exif()
    exif[0x0112] = o
    Image.linear_gradient("L").resize((400, 240)).convert("RGB").save(f"media/turned{o}.jpg", exif=exif, quality=92)
    ImageOps.exif_transpose(Image.open(f"media/turned{o}.jpg")).save(f"upright/turned{o}.jpg", quality=100)
PY
cp -r media orig

# check.py ORIGINAL LABELLED PLACE RATIO: the label read back with PIL, nothing taken from hegui
cat >check.py <<'PY'
import math, sys
from PIL import Image
orig_path, new_path, place, ratio = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
a, b = Image.open(orig_path), Image.open(new_path)
b.load()
if a.size != b.size:
    sys.exit(f"size {a.size} became {b.size}")
lossy = new_path.endswith((".jpg", ".webp"))
w, h = a.size
a, b = a.convert("RGB"), b.convert("RGB")
pa, pb = a.load(), b.load()
lum = lambda p: (299 * p[0] + 587 * p[1] + 114 * p[2]) // 1000
# JPEG re-encoding moves every pixel a little (and saturated colour edges a lot, through chroma subsampling); the
# plate moves luminance a lot, so a lossy file is diffed in luminance with a threshold
if lossy:
    changed = [(x, y) for y in range(h) for x in range(w) if abs(lum(pa[x, y]) - lum(pb[x, y])) > 32]
else:
    changed = [(x, y) for y in range(h) for x in range(w) if pa[x, y] != pb[x, y]]
if not changed:
    sys.exit("no pixel changed")
xs, ys = [c[0] for c in changed], [c[1] for c in changed]
x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
shortest = min(w, h)
near = max(2, shortest // 50) + (4 if lossy else 1)
where = {"bottom-right": (w - 1 - x1 <= near and h - 1 - y1 <= near),
         "bottom-left": (x0 <= near and h - 1 - y1 <= near),
         "top-right": (w - 1 - x1 <= near and y0 <= near),
         "top-left": (x0 <= near and y0 <= near),
         "bottom": (abs((x0 + x1) - (w - 1)) <= 6 and h - 1 - y1 <= near),
         "top": (abs((x0 + x1) - (w - 1)) <= 6 and y0 <= near)}[place]
if not where:
    sys.exit(f"label box {x0},{y0}-{x1},{y1} is not at {place} of {w}x{h}")
# the plate is most of the box: its median luminance; text pixels are nearer the opposite extreme than that
inside = sorted(lum(pb[x, y]) for y in range(y0, y1 + 1) for x in range(x0, x1 + 1))
plate = inside[len(inside) // 2]
extreme = 255 if plate < 128 else 0
text = [(x, y) for y in range(y0, y1 + 1) for x in range(x0, x1 + 1) if abs(lum(pb[x, y]) - extreme) < abs(lum(pb[x, y]) - plate)]
if not text:
    sys.exit("no text pixels in the label box")
ty0, ty1 = min(t[1] for t in text), max(t[1] for t in text)
need = max(8, math.ceil(ratio * shortest - 1e-9))
if ty1 - ty0 + 1 < need:
    sys.exit(f"text {ty1 - ty0 + 1} px high, need {need} ({ratio} of {shortest})")
text_lum = sum(lum(pb[x, y]) for x, y in text) / len(text)
if abs(text_lum - plate) < 128:
    sys.exit(f"text luminance {text_lum:.0f} too close to the plate's {plate}")
print(f"{new_path}: {w}x{h} label {x0},{y0}-{x1},{y1} text {ty1 - ty0 + 1} px (need {need}) text/plate {text_lum:.0f}/{plate}")
PY

label() { "$HEGUI" label add --data-dir keys --producer acme --explicit "$@"; }

# ---- every input, default place and ratio, then read back ----
for f in test.png test.jpg palette.png strip.png grey.jpg cmyk.jpg noise.png; do
  if label "media/$f" >out 2>err; then ok; else bad "label add --explicit $f: $(cat err)"; continue; fi
  grep -q "labelled (explicit and implicit)" out && ok || bad "$f: report: $(cat out)"
  $PY check.py "orig/$f" "media/$f" bottom-right 0.05 >chk 2>&1 && ok || bad "$f: $(cat chk)"
  exiftool -s -s -s -XMP:AIGC "media/$f" | grep -q '"Label":"1","ContentProducer":"acme"' && ok ||
    bad "$f: exiftool finds no AIGC label: $(exiftool -XMP:all "media/$f")"
  "$HEGUI" label verify --data-dir keys "media/$f" >out 2>&1 && grep -q intact out && ok || bad "$f: verify: $(cat out)"
done
file media/test.jpg | grep -q "JPEG image data" && file media/test.png | grep -q "PNG image data" && ok || bad "formats changed"

# ---- the colour profile travels with RGB pictures ----
for f in icc.png icc.jpg grey-icc.png; do
  label "media/$f" >out 2>&1 || { bad "$f: $(cat out)"; continue; }
  $PY -c '
import sys
from PIL import Image
got = Image.open(sys.argv[1]).info.get("icc_profile")
want = open("icc.bin", "rb").read() if sys.argv[2] == "kept" else None
sys.exit(0 if got == want else "icc_profile %s, expected %s" % (got and len(got), sys.argv[2]))' "media/$f" \
    "$([ $f = grey-icc.png ] && echo dropped || echo kept)" >chk 2>&1 && ok || bad "$f: $(cat chk)"
  $PY check.py "orig/$f" "media/$f" bottom-right 0.05 >chk 2>&1 && ok || bad "$f: $(cat chk)"
  "$HEGUI" label verify --data-dir keys "media/$f" >out 2>&1 && ok || bad "$f: verify: $(cat out)"
done

# ---- EXIF orientation: the label lands at the bottom right of the picture as viewers show it ----
for o in 2 3 4 5 6 7 8; do
  f=turned$o.jpg
  label "media/$f" >out 2>&1 || { bad "$f: $(cat out)"; continue; }
  $PY check.py "upright/$f" "media/$f" bottom-right 0.05 >chk 2>&1 && ok || bad "$f (orientation $o): $(cat chk)"
done

# ---- places, ratio and text ----
for place in bottom-left top-right top-left bottom top; do
  cp orig/test.png "media/p-$place.png"
  label --place $place "media/p-$place.png" >out 2>&1 || { bad "--place $place: $(cat out)"; continue; }
  $PY check.py orig/test.png "media/p-$place.png" $place 0.05 >chk 2>&1 && ok || bad "--place $place: $(cat chk)"
done
cp orig/test.jpg media/big.jpg
label --label-text "人工智能合成" --place top-left --height-ratio 0.1 media/big.jpg >out 2>&1 || bad "ratio 0.1: $(cat out)"
$PY check.py orig/test.jpg media/big.jpg top-left 0.1 >chk 2>&1 && ok || bad "ratio 0.1: $(cat chk)"
# ---- WebP, lossy and lossless (libwebp): read back by PIL like the others ----
ff -f lavfi -i testsrc=size=640x480 -frames:v 1 -c:v libwebp -quality 90 orig/w.webp
ff -f lavfi -i testsrc=size=320x240 -frames:v 1 -c:v libwebp -lossless 1 orig/wl.webp
for f in w.webp wl.webp; do
  cp orig/$f media/$f
  label "media/$f" >out 2>&1 || { bad "$f: $(cat out)"; continue; }
  $PY check.py "orig/$f" "media/$f" bottom-right 0.05 >chk 2>&1 && ok || bad "$f: $(cat chk)"
done
cp orig/test.png media/font.png
label --font /usr/share/fonts/truetype/wqy/wqy-microhei.ttc media/font.png >out 2>&1 && ok || bad "--font: $(cat out)"

# ---- refusals leave the file alone ----
printf -- '---\ntitle: t\n---\nbody\n' >media/a.md
cp media/a.md orig/a.md
head -c 3000 orig/test.png >media/cut.png
cp media/cut.png orig/cut.png
$PY -c 'from PIL import Image; Image.new("RGB", (16, 16)).save("media/tiny.png")'
cp media/tiny.png orig/tiny.png
refuse() { # WANT_IN_MESSAGE FILE ARGS...
  local want=$1 file=$2
  shift 2
  label "$@" "media/$file" >out 2>err
  local rc=$?
  [ $rc -eq 2 ] && grep -q -- "$want" err && ok || bad "$file $*: rc $rc, wanted '$want': $(cat err)"
  cmp -s "orig/$file" "media/$file" && ok || bad "$file changed by a refused label add"
}
refuse "no explicit label for markdown files" a.md
refuse "png:" cut.png
refuse "too small" tiny.png
cp orig/test.png media/t2.png && cp orig/test.png orig/t2.png
refuse "/nonexistent.ttf" t2.png --font /nonexistent.ttf
refuse "0.05" t2.png --height-ratio 0.04
refuse "must name" t2.png --label-text "hello"
refuse "exclude each other" t2.png --no-explicit --recipient bob
"$HEGUI" label add --data-dir keys --producer acme --place top media/t2.png >out 2>err
[ $? -eq 2 ] && grep -q "go with --explicit" err && ok || bad "--place without --explicit: $(cat err)"

echo "label explicit: $pass passed, $fails failed"
[ $fails -eq 0 ]
