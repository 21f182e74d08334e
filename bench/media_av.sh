#!/usr/bin/env bash
# bench/media_av.sh HEGUI [MINUTES] [RUNS] — seconds per minute of media for the explicit labels. Audio, the spoken label: `hegui label add
# --explicit` (espeak-ng's label, joined, the implicit label written, the file replaced and synced) on a WAV and an
# MP3 of MINUTES minutes (default 1), against the ffmpeg command line joining a label made beforehand by espeak-ng
# to the same audio (the MP3 encoded again at the same bit rate), run side by side. Video, the visible label on the
# first 2 s of a 20 s 1280x720 30 fps clip (reported per minute): `hegui label add --explicit` against ffmpeg's
# drawtext with a box on t < 2 s, both encoding with libx264 veryfast CRF 20 and copying the sound. A measurement:
# it prints the figures and ratios, its exit status does not depend on them.
set -euo pipefail
HEGUI=$(realpath "$1")
MIN=${2:-1}
RUNS=${3:-3}
command -v ffmpeg >/dev/null && command -v espeak-ng >/dev/null || { echo "needs ffmpeg and espeak-ng"; exit 2; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"
ffmpeg -nostdin -loglevel error -f lavfi -i "sine=frequency=440:duration=$((MIN * 60))" -ac 2 -ar 44100 m.wav
ffmpeg -nostdin -loglevel error -i m.wav -b:a 128k m.mp3
espeak-ng -v cmn-latn-pinyin -s 130 -w lab.wav "ben3 nei4 rong2 you2 ren2 gong1 zhi4 neng2 sheng1 cheng2"
now() { date +%s.%N; }
per_min() { python3 -c "import sys; print('%.3f' % ((float(sys.argv[2]) - float(sys.argv[1])) / int(sys.argv[3]) / int(sys.argv[4])))" "$@"; }
printf '%-6s %14s %14s %8s\n' format "hegui s/min" "ffmpeg s/min" ratio
for fmt in wav mp3; do
  files=()
  for i in $(seq "$RUNS"); do cp m.$fmt "h$i.$fmt"; files+=("h$i.$fmt"); done
  s=$(now); "$HEGUI" label add --explicit --data-dir d --producer bench "${files[@]}" >/dev/null; e=$(now)
  h=$(per_min "$s" "$e" "$RUNS" "$MIN")
  extra=()
  [ $fmt = mp3 ] && extra=(-b:a 128k)
  s=$(now)
  for i in $(seq "$RUNS"); do
    ffmpeg -nostdin -loglevel error -y -i lab.wav -i m.$fmt -filter_complex \
      "[0:a]aresample=44100,aformat=channel_layouts=stereo[l];[l][1:a]concat=n=2:v=0:a=1" "${extra[@]}" "o.$fmt"
  done
  e=$(now)
  f=$(per_min "$s" "$e" "$RUNS" "$MIN")
  printf '%-6s %14s %14s %8s\n' $fmt "$h" "$f" "$(python3 -c "import sys; print('%.2fx' % (float(sys.argv[2]) / float(sys.argv[1])))" "$h" "$f")"
done
ffmpeg -nostdin -loglevel error -f lavfi -i testsrc2=duration=20:size=1280x720:rate=30 -f lavfi -i sine=duration=20 \
  -shortest -pix_fmt yuv420p -c:v libx264 -preset veryfast -crf 20 -c:a aac v.mp4
cp v.mp4 hv.mp4
s=$(now); "$HEGUI" label add --explicit --data-dir d --producer bench hv.mp4 >/dev/null; e=$(now)
h=$(python3 -c "import sys; print('%.2f' % ((float(sys.argv[2]) - float(sys.argv[1])) * 3))" "$s" "$e")
s=$(now)
ffmpeg -nostdin -loglevel error -y -i v.mp4 -vf "drawtext=fontfile=/usr/share/fonts/truetype/wqy/wqy-microhei.ttc:text=AI生成:fontsize=40:fontcolor=white:box=1:boxcolor=black@0.8:x=w-tw-20:y=h-th-20:enable='lt(t,2)'" \
  -c:v libx264 -preset veryfast -crf 20 -c:a copy o.mp4
e=$(now)
f=$(python3 -c "import sys; print('%.2f' % ((float(sys.argv[2]) - float(sys.argv[1])) * 3))" "$s" "$e")
printf '%-6s %14s %14s %8s\n' video "$h" "$f" "$(python3 -c "import sys; print('%.2fx' % (float(sys.argv[2]) / float(sys.argv[1])))" "$h" "$f")"
echo "(ratio: ffmpeg's time / hegui's; above 1 hegui is faster. hegui also writes and signs the implicit label and syncs the file)"
