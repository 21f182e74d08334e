#!/usr/bin/env bash
# bench/label_files.sh HEGUI [FILES_1MB] [FILES_20MB] — files per second of `hegui label add` and `hegui label
# verify` on ~1 MB and ~20 MB files of each format, against exiftool writing (and reading) the same XMP property
# in -stay_open mode: one exiftool process for the whole run, one command per file, as a platform would keep it.
# exiftool's start-up is taken out (each command list runs once and twice; the difference is timed). hegui runs as one process over all files too.
# exiftool writes XMP into PNG, JPEG, WebP, MP4 and PDF; for WAV, MP3, FLAC and Ogg hegui's figures are printed alone.
# A measurement, not a test: the 10x target is reported as met or NOT met, the exit status does not depend on it.
set -euo pipefail
HEGUI=$(realpath "$1")
N1=${2:-40}
N20=${3:-6}
command -v exiftool >/dev/null && command -v ffmpeg >/dev/null || { echo "needs exiftool and ffmpeg"; exit 2; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"
cat >tc260.config <<'EOF'
%Image::ExifTool::UserDefined = (
  'Image::ExifTool::XMP::Main' => { TC260 => { SubDirectory => { TagTable => 'Image::ExifTool::UserDefined::TC260' } } },
);
%Image::ExifTool::UserDefined::TC260 = (
  GROUPS => { 0 => 'XMP', 1 => 'XMP-TC260', 2 => 'Image' },
  NAMESPACE => { 'TC260' => 'http://www.tc260.org.cn/ns/AIGC/1.0/' },
  WRITABLE => 'string',
  AIGC => { },
);
1;
EOF
now() { date +%s.%N; }
LABEL='{"AIGC":{"Label":"1","ContentProducer":"bench","ProduceID":"b-1","ReservedCode1":"","ContentPropagator":"bench","PropagateID":"b-1","ReservedCode2":""}}'

# make_file FORMAT MB OUT: one file of about MB megabytes, generated here
make_file() {
  local fmt=$1 mb=$2 out=$3
  case $fmt in
  png) python3 - "$mb" "$out" <<'PY' ;;
import os, struct, sys, zlib
mb, out = int(sys.argv[1]), sys.argv[2]
w = 1024; h = mb * 1024 * 1024 // (w * 3)
raw = b"".join(b"\0" + os.urandom(w * 3) for _ in range(h))
c = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
open(out, "wb").write(b"\x89PNG\r\n\x1a\n" + c(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + c(b"IDAT", zlib.compress(raw, 0)) + c(b"IEND", b""))
PY
  jpeg) local side=$((mb == 1 ? 1100 : 5000))
    ffmpeg -nostdin -loglevel error -y -f lavfi -i "color=gray:s=${side}x${side},noise=alls=60:allf=t" -frames:v 1 -q:v 2 "$out" ;;
  pdf) python3 - "$mb" "$out" <<'PY' ;;
import os, sys
mb, out = int(sys.argv[1]), sys.argv[2]
data = os.urandom(mb * 1024 * 1024)
objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream", b"<< /Producer (bench) >>"]
o, offs = bytearray(b"%PDF-1.4\n"), []
for i, x in enumerate(objs):
    offs.append(len(o)); o += b"%d 0 obj\n" % (i + 1) + x + b"\nendobj\n"
x = len(o)
o += b"xref\n0 6\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % v for v in offs)
o += b"trailer\n<< /Size 6 /Root 1 0 R /Info 5 0 R >>\nstartxref\n%d\n%%%%EOF\n" % x
open(out, "wb").write(o)
PY
  webp) local side=$((mb == 1 ? 700 : 3200))
    ffmpeg -nostdin -loglevel error -y -f lavfi -i "color=gray:s=${side}x${side},noise=alls=80:allf=t" -frames:v 1 -lossless 1 "$out" ;;
  mp4) ffmpeg -nostdin -loglevel error -y -f lavfi -i "color=gray:s=320x240:d=$((mb * 2)),noise=alls=60:allf=t" \
      -c:v libx264 -b:v 4M -maxrate 4M -bufsize 1M -preset ultrafast "$out" ;;
  ogg) ffmpeg -nostdin -loglevel error -y -f lavfi -i "anoisesrc=d=$((mb * 16)):r=44100" -ac 2 -c:a libvorbis -q:a 10 "$out" ;;
  wav) ffmpeg -nostdin -loglevel error -y -f lavfi -i "anoisesrc=d=$((mb * 6)):r=44100" -ac 2 "$out" ;;
  mp3) ffmpeg -nostdin -loglevel error -y -f lavfi -i "anoisesrc=d=$((mb * 32)):r=44100" -b:a 256k "$out" ;;
  flac) ffmpeg -nostdin -loglevel error -y -f lavfi -i "anoisesrc=d=$((mb * 6)):r=44100" -ac 2 "$out" ;;
  esac
}

printf '%-5s %6s %5s | %12s %12s %7s | %12s %12s %7s\n' format size files "hegui add/s" "exiftool/s" ratio \
  "hegui vfy/s" "exiftool/s" ratio
# exiftool's start-up is paid once per run: each list runs once with N commands and once with 2N (every file
# twice), and the difference is the time of N files
ex_rate() { # ARGS_FILE COUNT: files per second of one stay_open exiftool over the commands in ARGS_FILE
  cat "$1" "$1" >"$1.twice"
  printf -- '-stay_open\nFalse\n' | tee -a "$1" >>"$1.twice"
  local a b c
  a=$(now); exiftool -config tc260.config -stay_open True -@ "$1" >/dev/null 2>&1; b=$(now)
  exiftool -config tc260.config -stay_open True -@ "$1.twice" >/dev/null 2>&1; c=$(now)
  echo "$2 / (($c - $b) - ($b - $a))" | bc -l
}
for mb in 1 20; do
  n=$([ $mb = 1 ] && echo "$N1" || echo "$N20")
  for fmt in png jpeg webp mp4 pdf wav mp3 flac ogg; do
    ext=$([ $fmt = jpeg ] && echo jpg || echo $fmt)
    make_file $fmt $mb base.$ext
    size=$(du -k base.$ext | cut -f1)
    rm -rf h x && mkdir h x
    for i in $(seq $n); do cp base.$ext h/$i.$ext; cp base.$ext x/$i.$ext; done
    sync
    a=$(now); "$HEGUI" label add --data-dir keys --producer bench h >/dev/null; b=$(now)
    h_add=$(echo "$n / ($b - $a)" | bc -l)
    a=$(now); "$HEGUI" label verify --data-dir keys h >/dev/null; b=$(now)
    h_vfy=$(echo "$n / ($b - $a)" | bc -l)
    x_add=- x_vfy=- r_add=- r_vfy=-
    if [ $fmt = png ] || [ $fmt = jpeg ] || [ $fmt = webp ] || [ $fmt = mp4 ] || [ $fmt = pdf ]; then
      : >write.args; : >read.args
      for i in $(seq $n); do
        printf -- '-overwrite_original\n-XMP-TC260:AIGC=%s\nx/%s\n-execute\n' "$LABEL" "$i.$ext" >>write.args
        printf -- '-s3\n-XMP-TC260:AIGC\nx/%s\n-execute\n' "$i.$ext" >>read.args
      done
      x_add=$(ex_rate write.args "$n"); x_vfy=$(ex_rate read.args "$n")
      [ "$(exiftool -config tc260.config -s3 -XMP-TC260:AIGC x/1.$ext)" = "$LABEL" ] || echo "warning: exiftool did not write $fmt"
      r_add=$(printf '%.1fx' "$(echo "$h_add / $x_add" | bc -l)"); r_vfy=$(printf '%.1fx' "$(echo "$h_vfy / $x_vfy" | bc -l)")
      x_add=$(printf '%.1f' "$x_add"); x_vfy=$(printf '%.1f' "$x_vfy")
    fi
    printf '%-5s %5sK %5s | %12.1f %12s %7s | %12.1f %12s %7s\n' $fmt "$size" "$n" "$h_add" "$x_add" "$r_add" "$h_vfy" \
      "$x_vfy" "$r_vfy"
    rm -rf h x base.$ext
  done
done
echo "target: hegui >= 10x exiftool -stay_open files/s (add and verify; exiftool's verify column only reads the tag)"
