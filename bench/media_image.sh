#!/usr/bin/env bash
# bench/media_image.sh HEGUI [N] — milliseconds per image of `hegui label add --explicit` (decode, draw the visible
# label, encode, then the signed implicit label, one atomic write per file) on PNG and JPEG pictures of 512², 1024²
# and 2048², against ffmpeg's drawtext filter drawing the same text on the same kind of plate (box=1) into the same
# format. Both run as one process over N files (ffmpeg as an image2 sequence), so start-up is shared the same way,
# and on one core (ffmpeg -threads 1 -filter_threads 1: it would otherwise encode frames of the sequence in parallel).
# ffmpeg writes no implicit label and no signature: the ratio is hegui's whole job against drawing alone.
# A measurement, not a test: the exit status does not depend on the figures.
set -euo pipefail
HEGUI=$(realpath "$1")
N=${2:-20}
FONT=/usr/share/fonts/truetype/wqy/wqy-microhei.ttc
command -v ffmpeg >/dev/null || { echo "needs ffmpeg"; exit 2; }
[ -r $FONT ] || { echo "needs $FONT (fonts-wqy-microhei)"; exit 2; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"
ff() { ffmpeg -nostdin -loglevel error -y "$@"; }
now() { date +%s.%N; }
ms_per() { python3 -c "import sys; print('%.1f' % ((float(sys.argv[2]) - float(sys.argv[1])) * 1000 / int(sys.argv[3])))" "$@"; }
"$HEGUI" label show-key --data-dir keys >/dev/null

printf '%-6s %-5s %14s %14s %8s\n' size fmt "hegui ms/img" "ffmpeg ms/img" ratio
for size in 512 1024 2048; do
  for fmt in png jpg; do
    rm -rf h f && mkdir h f
    # a photo-like picture (smooth areas, detail and sensor-like grain), different per file
    for i in $(seq -f %03g 1 "$N"); do
      if [ "$fmt" = jpg ]; then q=(-q:v 3); else q=(); fi
      ff -f lavfi -i "mandelbrot=size=${size}x${size}:start_scale=$((10#$i + 2)),noise=alls=8:allf=u" -frames:v 1 "${q[@]}" "h/$i.$fmt"
      cp "h/$i.$fmt" "f/in$i.$fmt"
    done
    # the same label geometry as hegui's: text 5% of the side, plate padding 30% of it, margin 2% of the side
    th=$(((size * 5 + 99) / 100))
    pad=$(((th * 3 + 9) / 10))
    margin=$((size / 50))
    # drawtext's fontsize is the em; hegui sizes the ink, about 0.86 em for this text in this font
    fs=$(((th * 100 + 85) / 86))
    draw="drawtext=fontfile=$FONT:text='AI生成':fontsize=$fs:fontcolor=white:box=1:boxcolor=black@0.8:boxborderw=$pad:x=w-tw-$((margin + pad)):y=h-th-$((margin + pad))"
    t0=$(now)
    "$HEGUI" label add --data-dir keys --producer bench --explicit h/* >/dev/null
    t1=$(now)
    if [ "$fmt" = jpg ]; then q=(-q:v 2); else q=(); fi
    ff -threads 1 -filter_threads 1 -start_number 1 -i "f/in%03d.$fmt" -vf "$draw" "${q[@]}" -threads 1 -start_number 1 "f/out%03d.$fmt"
    t2=$(now)
    [ "$(ls f/out* | wc -l)" -eq "$N" ] || { echo "ffmpeg wrote $(ls f/out* | wc -l) files, not $N"; exit 2; }
    h_ms=$(ms_per "$t0" "$t1" "$N")
    f_ms=$(ms_per "$t1" "$t2" "$N")
    printf '%-6s %-5s %14s %14s %8s\n' "${size}²" "$fmt" "$h_ms" "$f_ms" \
      "$(python3 -c "import sys; print('%.2fx' % (float(sys.argv[1]) / float(sys.argv[2])))" "$h_ms" "$f_ms")"
  done
done
echo "(ratio = hegui / ffmpeg: below 1 hegui is faster; N=$N files per row, one process each side)"
