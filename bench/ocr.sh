#!/usr/bin/env bash
# bench/ocr.sh BENCH_OCR [ROUNDS] — the cost of reading text in images: hegui's engine (bench_ocr: hg_ocr_read in
# one process, the models loaded once) against the tesseract program (`tesseract IN - -l chi_sim+eng`, one process
# per image, as a shell pipeline would use it) on the same images: 512x512, 1024x1024 and 2048x2048 with a few lines
# of Chinese and English text drawn by Pillow. The tesseract program's start-up (loading the models, measured on a
# 16x16 blank image) is printed and taken out as well, so both the plain ratio and the ratio of recognition alone
# show. A measurement, not a test. Needs python3-pil and tesseract-ocr (scripts/install-deps.sh bench).
set -euo pipefail
BENCH=$(realpath "$1")
ROUNDS=${2:-5}
SRC=$(cd "$(dirname "$0")/.." && pwd)
command -v tesseract >/dev/null || { echo "needs the tesseract program (apt-get install tesseract-ocr)"; exit 2; }
PY=python3; $PY -c 'import PIL' 2>/dev/null || PY=/usr/bin/python3
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
TEXT='生成式人工智能服务管理暂行办法\n本图片由人工智能生成 AI generated\n请勿传播违法和不良信息\nContent moderation test image'
for s in 512 1024 2048; do
  size=$((s / 24))
  $PY "$SRC/tools/eval/ocr_render.py" "$W/text-$s.png" "$TEXT" --size "$size" --width "$s" --height "$s" --bg colour --seed 7
done
$PY -c 'from PIL import Image; Image.new("RGB", (16, 16), "white").save("'"$W"'/blank.png")'
now() { date +%s.%N; }
export OMP_THREAD_LIMIT=1
echo "== hegui (bench_ocr, $ROUNDS rounds, OMP_THREAD_LIMIT=1)"
"$BENCH" --rounds "$ROUNDS" --threads 2 "$W"/text-512.png "$W"/text-1024.png "$W"/text-2048.png | tee "$W/hegui.txt"
echo "== tesseract program (one process per image, $ROUNDS rounds, median)"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_cli() {
  for _ in $(seq "$ROUNDS"); do
    t0=$(now); tesseract "$1" - -l chi_sim+eng >/dev/null 2>&1; t1=$(now)
    echo "($t1 - $t0) * 1000" | bc -l
  done | median
}
startup=$(time_cli "$W/blank.png")
printf "tesseract start-up (16x16 blank image): %.0f ms\n" "$startup"
for s in 512 1024 2048; do
  cli=$(time_cli "$W/text-$s.png")
  hg=$(awk -F'\t' -v f="$W/text-$s.png" '$1 == f { sub(/median /, "", $4); sub(/ ms\/image/, "", $4); print $4 }' "$W/hegui.txt")
  net=$(echo "$cli - $startup" | bc -l)
  printf "%4dx%-4d  hegui %5.0f ms/image   tesseract %5.0f ms/image (%5.0f without start-up)   ratio tesseract/hegui %.2f (%.2f)\n" \
    "$s" "$s" "$hg" "$cli" "$net" "$(echo "$cli / $hg" | bc -l)" "$(echo "$net / $hg" | bc -l)"
done
