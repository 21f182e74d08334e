#!/usr/bin/env bash
# bench/run.sh BUILD_DIR — runs bench_matcher on the houbb lexicon over the zh-laws corpus and the English
# Gutenberg texts, adds a rough `grep -F` reference timed in the same script, then runs bench_pii (the PII
# detector, alone and in one pass with the lexicon) on the same files, and saves everything under
# bench/results/ (gitignored). The data lives outside the repository in ../shared (or $HG_SHARED); without it
# the bench is skipped, not failed.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
build_dir=$1
bench_dir=$(cd "$(dirname "$0")" && pwd)
bin="$build_dir/bench/bench_matcher"
pii_bin="$build_dir/bench/bench_pii"
for b in "$bin" "$pii_bin"; do
  if [ ! -x "$b" ]; then
    echo "bench: $b not found; configure with -DHG_BENCH=ON and build first" >&2
    exit 2
  fi
done

if [ -n "${HG_SHARED:-}" ]; then
  shared=$HG_SHARED
else
  top=$(git -C "$bench_dir" rev-parse --show-toplevel 2>/dev/null || (cd "$bench_dir/.." && pwd))
  shared="$top/../shared"
fi
lexicon="$shared/data/lexicons/houbb-sensitive-word/dict_v20240407.txt"
zh="$shared/data/corpus/zh-laws/zh_laws.txt"
en_dir="$shared/data/corpus/en-gutenberg"
if [ ! -f "$lexicon" ] || [ ! -f "$zh" ] || ! compgen -G "$en_dir/*.txt" >/dev/null; then
  echo "skipped: ../shared/data not found (looked in $shared/data; set HG_SHARED to the shared directory)"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Named for what it is, because bench_matcher labels corpora by file name.
en="$tmp/en-gutenberg.txt"
cat "$en_dir"/*.txt >"$en"

mkdir -p "$bench_dir/results"
stamp=$(date +%Y%m%d-%H%M%S)
out="$bench_dir/results/bench-$stamp.txt"
json="$bench_dir/results/bench-$stamp.json"
pii_json="$bench_dir/results/bench-pii-$stamp.json"

{
  echo "hegui matcher and PII bench, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')"
  echo "commit: $(git -C "$bench_dir" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$bench_dir" diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
  echo
} | tee "$out"

# A failed bench still gets the grep reference, the PII bench and the saved files; the first non-zero exit status
# is passed on at the end.
bench_rc=0
"$bin" --json "$json" "$lexicon" "$zh" "$en" 2>&1 | tee -a "$out" || bench_rc=$?

# grep -F is only a rough reference: it counts matching lines, not matches, and stops at the first match on a
# line. Blank and CR-ended lines are cleaned out first, since an empty pattern would match every line.
patterns="$tmp/patterns.txt"
sed 's/\r$//; s/[[:blank:]]*$//; /^$/d' "$lexicon" >"$patterns"
grep_line() {
  local corpus=$1 name=$2 bytes start end rc count secs
  bytes=$(wc -c <"$corpus")
  start=$(date +%s%N)
  rc=0
  count=$(LC_ALL=C timeout 120 grep -c -F -f "$patterns" "$corpus") || rc=$?
  end=$(date +%s%N)
  secs=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", (e - s) / 1e9 }')
  if [ "$rc" -eq 124 ]; then
    printf '%-20s %-20s gave up after 120 s (< %.1f MB/s)\n' "grep -F (LC_ALL=C)" "$name" \
      "$(awk -v b="$bytes" 'BEGIN { print b / 1e6 / 120 }')"
  elif [ "$rc" -le 1 ]; then
    printf '%-20s %-20s %12.1f MB/s %10s s %12s matching lines\n' "grep -F (LC_ALL=C)" "$name" \
      "$(awk -v b="$bytes" -v s="$secs" 'BEGIN { print (s > 0 ? b / 1e6 / s : 0) }')" "$secs" "${count:-0}"
  else
    printf '%-20s %-20s failed (exit %d)\n' "grep -F (LC_ALL=C)" "$name" "$rc"
  fi
}
{
  echo
  echo "reference, one run each: grep -c -F -f LEXICON CORPUS ($(grep --version | head -1))"
  grep_line "$zh" "$(basename "$zh")"
  grep_line "$en" "$(basename "$en")"
  echo
} | tee -a "$out"

pii_rc=0
"$pii_bin" --json "$pii_json" "$lexicon" "$zh" "$en" 2>&1 | tee -a "$out" || pii_rc=$?
[ "$bench_rc" -ne 0 ] || bench_rc=$pii_rc

# The moderator's one pass: lexicon + PII + takedowns on one normalized view, against the three run separately.
# Takedowns are cut from the classics corpus, so that the laws corpus does not match them.
mod_rc=0
classics=$(compgen -G "$shared/data/corpus/zh-classics-gutenberg/*.txt" | head -1 || true)
if [ -n "$classics" ]; then
  { echo; "$build_dir/bench/bench_moderate" "$lexicon" "$classics" "$zh" "$en" 2>&1; } | tee -a "$out" || mod_rc=$?
else
  echo "bench_moderate: skipped (no zh-classics-gutenberg corpus for takedowns)" | tee -a "$out"
fi
[ "$bench_rc" -ne 0 ] || bench_rc=$mod_rc

# The near-duplicate abuse signal (strikes.near_duplicates_per_hour / near_duplicate_bits): what it would strike if
# one user sent each prompt set within an hour (the false-positive cost of its defaults, 30 and 12).
if [ -x "$build_dir/bench/near_dups" ]; then
  python3 - "$shared/data" "$tmp" <<'PY'
import csv, os, sys
d, out = sys.argv[1], sys.argv[2]
for rel, key, name in (("safety-prompts/jailbench/JailBench.csv", "query", "jailbench"),
                       ("safety-prompts/xstest-en/xstest_prompts.csv", "prompt", "xstest-en"),
                       ("safety-prompts/jade/v2_medium_zh.csv", "问题", "jade-medium-zh"),
                       ("safety-prompts/multijail/MultiJail.csv", "zh", "multijail-zh"),
                       ("offensive/cold/dev.csv", "TEXT", "cold-dev-comments")):
    p = os.path.join(d, rel)
    if not os.path.exists(p):
        continue
    with open(p, encoding="utf-8-sig", newline="") as f:
        rows = [(r.get(key) or "").replace("\n", " ").strip() for r in csv.DictReader(f)]
    with open(os.path.join(out, name + ".prompts"), "w", encoding="utf-8") as f:
        f.write("\n".join(r for r in rows if r) + "\n")
PY
  { echo; echo "near-duplicate strikes, each set sent by one user within an hour (bits/threshold; defaults 12/30):";
    "$build_dir/bench/near_dups" "$tmp"/*.prompts 2>&1; } | tee -a "$out" || true
fi

{
  echo
  echo "saved: $out"
  echo "       $json"
  echo "       $pii_json"
} | tee -a "$out"
exit "$bench_rc"
