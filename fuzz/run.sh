#!/usr/bin/env bash
# fuzz/run.sh BUILD_DIR [SECONDS] — runs each libFuzzer target for a while (default 60 s each) on its seeds.
set -euo pipefail
B=$1
S=${2:-60}
D=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
"$B/hegui" lexicon compile "$D/corpus/lexicon_source/tsv.txt" "$work/seed.img" >/dev/null 2>&1 || true
mkdir -p "$work/image" && cp "$work/seed.img" "$work/image/" 2>/dev/null || true
for t in lexicon_source scan pii config label takedown sse idv regex prompt moderate classifier_table \
  label_png label_jpeg label_webp label_mp4 label_ogg label_ooxml label_wav label_mp3 label_flac label_pdf label_markdown; do
  mkdir -p "$work/$t" && cp "$D/corpus/$t/"* "$work/$t/"
  "$B/fuzz/fuzz_$t" -max_total_time="$S" "$work/$t"
done
"$B/fuzz/fuzz_lexicon_image" -max_total_time="$S" "$work/image"
mkdir -p "$work/model"
"$B/hegui" classifier train --data "$D/corpus/classifier_table/seed.csv" --text-column text \
  --label-column label=abuse:insult --bits 10 --out "$work/model/seed.img" >/dev/null
"$B/fuzz/fuzz_classifier_image" -max_total_time="$S" "$work/model"
