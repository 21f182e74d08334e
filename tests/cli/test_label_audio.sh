#!/usr/bin/env bash
# test_label_audio.sh HEGUI — `hegui label add --explicit` on audio made by ffmpeg (WAV 16-bit and float, MP3, FLAC,
# Ogg Vorbis, Ogg Opus, M4A), read back by independent tools: ffprobe (the duration grew by the spoken label and
# its gap: 10 characters at 120-160 a minute plus 0.3 s, so 4.0-5.6 s; the codec, rate and channels kept), ffmpeg
# (the whole file decodes without an error), `hegui label verify` (the signed implicit label over the labelled
# sound), and for WAV the original samples found unchanged after the label by Python's wave module. Also: the end
# position (the file's first second unchanged), the rhythm, a video file refused and left as it was.
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

# a video is refused (its label belongs on its pictures), the file left as it was
ff -f lavfi -i testsrc=duration=1:size=160x120 -f lavfi -i sine=duration=1 -shortest v.mp4
sum=$(sha256sum v.mp4)
"$HEGUI" label add --explicit --data-dir data --producer test-producer v.mp4 >/dev/null 2>err.txt
[ $? -eq 2 ] && grep -q video err.txt && ok || bad "a video is refused with a reason: $(cat err.txt)"
[ "$(sha256sum v.mp4)" = "$sum" ] && ok || bad "the refused video was changed"
"$HEGUI" label add --spoken-at end --data-dir data --producer p orig/t.mp3 >/dev/null 2>&1
[ $? -eq 2 ] && ok || bad "--spoken-at without --explicit is an error"

echo "label_audio: $pass passed, $fails failed"
[ $fails -eq 0 ]
