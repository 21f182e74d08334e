#!/usr/bin/env bash
# test_label_media.sh HEGUI — `hegui label add --explicit` on audio made by ffmpeg (WAV 16-bit and float, MP3, FLAC,
# Ogg Vorbis, Ogg Opus, M4A), read back by independent tools: ffprobe (the duration grew by the spoken label and
# its gap: 10 characters at 120-160 a minute plus 0.3 s, so 4.0-5.6 s; the codec, rate and channels kept), ffmpeg
# (the whole file decodes without an error), `hegui label verify` (the signed implicit label over the labelled
# sound), and for WAV the original samples found unchanged after the label by Python's wave module. Also: the end
# position (the file's first second unchanged), the rhythm; and a video: the visible label on the frames of its first
# 2 s (frames decoded by ffmpeg, diffed against the original's by PIL: where, how high), none on later ones.
set -u
HEGUI=$(realpath "$1")
for tool in ffmpeg ffprobe; do
  command -v $tool >/dev/null || { echo "skipped: $tool is not installed (scripts/install-deps.sh test)"; exit 77; }
done
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 2
fails=0
pass=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
ff() { ffmpeg -nostdin -loglevel error -y "$@"; }
dur() { ffprobe -v error -show_entries format=duration -of csv=p=0 "$1"; }
probe() { ffprobe -v error -select_streams a:0 -show_entries stream=codec_name,sample_rate,channels -of csv=p=0 "$1"; }

mkdir a
ff -f lavfi -i "sine=frequency=440:duration=3" -ac 2 -ar 44100 a/s16.wav
ff -f lavfi -i "sine=frequency=440:duration=3" -ac 1 -ar 16000 -c:a pcm_f32le a/f32.wav
ff -f lavfi -i "sine=frequency=440:duration=3" -ac 2 -ar 44100 -b:a 128k a/t.mp3
ff -f lavfi -i "sine=frequency=440:duration=3" -ac 2 -ar 48000 a/t.flac
ff -f lavfi -i "sine=frequency=440:duration=3" -ac 2 -ar 44100 -c:a libvorbis a/vorbis.ogg
ff -f lavfi -i "sine=frequency=440:duration=3" -ac 1 -ar 48000 -c:a libopus a/opus.ogg
ff -f lavfi -i "sine=frequency=440:duration=3" -ac 2 -ar 44100 -c:a aac a/t.m4a
mkdir orig && cp a/* orig/

"$HEGUI" label add --explicit --data-dir data --producer test-producer a/* >out.txt 2>err.txt
[ $? -eq 0 ] && ok || bad "label add --explicit on audio: $(cat err.txt)"
for f in s16.wav f32.wav t.mp3 t.flac vorbis.ogg opus.ogg t.m4a; do
  before=$(dur orig/$f) after=$(dur a/$f)
  if python3 -c "import sys; d=float(sys.argv[2])-float(sys.argv[1]); sys.exit(0 if 4.0<=d<=5.6 else 1)" "$before" "$after"; then ok
  else bad "$f: duration $before -> $after, not longer by the spoken label (4.0-5.6 s)"; fi
  [ "$(probe orig/$f)" = "$(probe a/$f)" ] && ok || bad "$f: codec, rate or channels changed: $(probe orig/$f) -> $(probe a/$f)"
  ffmpeg -nostdin -v error -xerror -i a/$f -f null - 2>dec.txt && [ ! -s dec.txt ] && ok || bad "$f does not decode cleanly: $(head -3 dec.txt)"
done
"$HEGUI" label verify --data-dir data a/* >ver.txt 2>&1 && ok || bad "label verify: $(cat ver.txt)"

# WAV: the original samples follow the label and the gap, byte for byte
PYCHECK='
import sys, wave
o, l, at_end = wave.open(sys.argv[1]), wave.open(sys.argv[2]), sys.argv[3] == "end"
a, b = o.readframes(o.getnframes()), l.readframes(l.getnframes())
w = o.getsampwidth() * o.getnchannels()
extra = len(b) - len(a)
ok = extra > 0 and (b[:len(a)] == a if at_end else b[extra:] == a)
print(extra // w, "frames added"); sys.exit(0 if ok else 1)'
python3 -c "$PYCHECK" orig/s16.wav a/s16.wav start >/dev/null && ok || bad "s16.wav: the original samples are not intact after the label"
cp orig/s16.wav end.wav
"$HEGUI" label add --explicit --spoken-at end --data-dir data --producer test-producer end.wav >/dev/null 2>&1 && ok || bad "--spoken-at end"
python3 -c "$PYCHECK" orig/s16.wav end.wav end >/dev/null && ok || bad "--spoken-at end: the original is not the file's start"
cp orig/s16.wav rhythm.wav
"$HEGUI" label add --explicit --spoken rhythm --data-dir data --producer test-producer rhythm.wav >/dev/null 2>&1 && ok || bad "--spoken rhythm"
d=$(python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 2))" "$(dur orig/s16.wav)" "$(dur rhythm.wav)")
python3 -c "import sys; sys.exit(0 if 1.3 <= float(sys.argv[1]) <= 1.9 else 1)" "$d" && ok || bad "the rhythm adds $d s, not 1.35 + 0.3"

# a video: the visible label on the frames of its first 2 s, measured against the original by PIL; sound copied
PY=python3
$PY -c 'import PIL' 2>/dev/null || PY=/usr/bin/python3
ff -f lavfi -i testsrc2=duration=4:size=640x360:rate=25 -f lavfi -i "sine=frequency=300:duration=4" -shortest \
  -pix_fmt yuv420p -c:a aac v.mp4
cp v.mp4 v-orig.mp4
"$HEGUI" label add --explicit --data-dir data --producer test-producer v.mp4 >/dev/null 2>err.txt && ok || bad "video: $(cat err.txt)"
[ "$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height,nb_frames -of csv=p=0 v.mp4)" = \
  "$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height,nb_frames -of csv=p=0 v-orig.mp4)" ] && ok ||
  bad "video: size or frame count changed"
[ "$(probe v.mp4)" = "$(probe v-orig.mp4)" ] && ok || bad "video: its sound changed codec, rate or channels"
ffmpeg -nostdin -v error -xerror -i v.mp4 -f null - 2>dec.txt && [ ! -s dec.txt ] && ok || bad "video does not decode: $(head -3 dec.txt)"
for n in 0 12 45 75; do
  ff -i v-orig.mp4 -vf "select=eq(n\,$n)" -frames:v 1 o$n.png
  ff -i v.mp4 -vf "select=eq(n\,$n)" -frames:v 1 l$n.png
done
if $PY -c 'import PIL' 2>/dev/null; then
  $PY - <<'PYV' && ok || bad "video: the label is not where and as high as it should be (see above)"
import sys
from PIL import Image, ImageChops
bad = 0
for n, labelled in ((0, True), (12, True), (45, True), (75, False)):  # 25 frames a second: 0, 0.48, 1.8, 3.0 s
    a, b = Image.open("o%d.png" % n).convert("L"), Image.open("l%d.png" % n).convert("L")
    box = ImageChops.difference(a, b).point(lambda v: 255 if v > 60 else 0).getbbox()
    w, h = a.size
    if labelled:
        ok = box is not None and box[0] >= w / 2 and box[1] >= h / 2 and box[3] - box[1] >= 0.05 * min(w, h)
    else:
        ok = box is None
    if not ok:
        print("frame %d: changed box %s" % (n, box))
        bad = 1
sys.exit(bad)
PYV
fi
"$HEGUI" label verify --data-dir data v.mp4 >/dev/null 2>&1 && ok || bad "video: label verify"
"$HEGUI" label add --spoken-at end --data-dir data --producer p orig/t.mp3 >/dev/null 2>&1
[ $? -eq 2 ] && ok || bad "--spoken-at without --explicit is an error"

echo "label_media: $pass passed, $fails failed"
[ $fails -eq 0 ]
