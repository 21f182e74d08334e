#!/usr/bin/env bash
# bench/gateway_instructions.sh BUILD_DIR — what one answer costs hegui serve, counted in instructions by
# valgrind's callgrind: the same on a busy machine as on a quiet one, so that a change to the request path can be
# weighed in minutes where bench/gateway.sh's CPU figures move by 10-20% from run to run on a shared VM.
#
# The gateway runs under callgrind with one worker, in front of the sample upstream, data on /dev/shm; after warm-up
# requests, counting is switched on for N requests sent one after another on one keep-alive connection (Python's
# http.client), then off. Three runs: the bench's 2 KB answer whole (per answer), streamed flat out (per upstream
# event) and streamed with 1 ms between events (paced; per upstream event). Each prints the total and the inclusive
# share of the request path's parts.
#
# Counted: user-space instructions of every hegui thread (the audit writer too). Not counted: the kernel, cache
# misses, waiting. Under valgrind the SHA-256 of this machine's CPU (SHA-NI) is not used and the portable code is
# counted instead, so hashing weighs several times more here than in a real run. A measurement, not a test: it
# never fails on a figure. Needs valgrind, curl and python3; without them it prints "skipped: ..." and exits 0.
#
# Environment: HG_CG_N (requests counted, default 200 whole / 20 streamed / 10 paced); HG_CG_KEEP=DIR keeps each
# run's callgrind dump there as NAME.cg, for callgrind_annotate --auto=yes.
set -euo pipefail

if [ $# -ne 1 ] || [ ! -x "$1/hegui" ]; then
  echo "usage: $0 BUILD_DIR (with hegui and examples/sample_upstream built)" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
bench_dir=$(cd "$(dirname "$0")" && pwd)
for t in valgrind callgrind_control callgrind_annotate curl python3; do
  command -v "$t" >/dev/null 2>&1 || { echo "skipped: $t not installed (Debian: apt-get install valgrind curl python3)"; exit 0; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hegui-cg.XXXXXX")
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# valgrind does not know every instruction of every CPU: a library's start-up code (libhwy, through libavcodec and
# libjxl, on a CPU with AVX-512) stops it with SIGILL before hegui runs. Say so instead of failing on a dead server.
vg_rc=$(
  { valgrind --tool=none -q "$build/hegui" --version >"$tmp/vg.out" 2>&1; echo $?; } 2>/dev/null
)
if [ "$vg_rc" != 0 ]; then
  echo "skipped: valgrind cannot run hegui on this machine: $(grep -m1 -E 'Illegal|unhandled|SIGILL' "$tmp/vg.out" || tail -n 1 "$tmp/vg.out")"
  exit 0
fi

answer=$(sed -n "s/^answer='\(.*\)'$/\1/p" "$bench_dir/gateway.sh")
[ -n "$answer" ] || { echo "gateway_instructions: the answer text was not found in bench/gateway.sh" >&2; exit 2; }

# one_run NAME STREAM DELAY_MS N
one_run() {
  local name=$1 stream=$2 delay=$3 n=$4 dir="$tmp/$1"
  mkdir -p "$dir"
  : >"$dir/up.out"
  "$build/examples/sample_upstream" --listen 127.0.0.1:0 --delay-ms "$delay" --quiet >"$dir/up.out" 2>&1 &
  local up=$! uport="" _
  pids+=("$up")
  for _ in $(seq 50); do
    uport=$(sed -n 's/^sample_upstream listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$dir/up.out")
    [ -n "$uport" ] && break
    sleep 0.1
  done
  [ -n "$uport" ] || { echo "gateway_instructions: sample_upstream did not start" >&2; return 1; }
  local key port
  key=$("$build/hegui" keys create --data-dir "$dir/data" --user bench 2>/dev/null | tail -n 1)
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
  printf 'listen: 127.0.0.1:%s\nworkers: 1\nupstream:\n  url: http://127.0.0.1:%s\ndata_dir: %s\nstrikes:\n  near_duplicates_per_hour: 0\n' \
    "$port" "$uport" "$dir/data" >"$dir/c.yaml"
  printf '{"model":"sample-1","stream":%s,"messages":[{"role":"user","content":"echo: %s"}]}' "$stream" "$answer" \
    >"$dir/body.json"
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$dir/cg.out" \
    "$build/hegui" serve --config "$dir/c.yaml" >"$dir/hg.out" 2>"$dir/hg.err" &
  local hg=$!
  pids+=("$hg")
  for _ in $(seq 300); do
    curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break
    sleep 0.2
  done
  local send="import http.client, sys
port, key, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
body = open(sys.argv[4], 'rb').read()
c = http.client.HTTPConnection('127.0.0.1', port)
bad = 0
for i in range(n):
    c.request('POST', '/v1/chat/completions', body=body,
              headers={'Authorization': 'Bearer ' + key, 'Content-Type': 'application/json'})
    r = c.getresponse()
    r.read()
    bad += r.status != 200
print(bad)"
  python3 -c "$send" "$port" "$key" 10 "$dir/body.json" >/dev/null # warm-up: pools, caches, connections
  callgrind_control -i on "$hg" >/dev/null 2>&1
  local bad
  bad=$(python3 -c "$send" "$port" "$key" "$n" "$dir/body.json")
  callgrind_control -i off "$hg" >/dev/null 2>&1
  callgrind_control -d "$hg" >/dev/null 2>&1
  local events=0
  if [ "$stream" = true ]; then # the upstream's events per answer, counted on its own wire
    events=$(curl -s -N -H 'Content-Type: application/json' --data-binary @"$dir/body.json" \
      "http://127.0.0.1:$uport/v1/chat/completions" | grep -c '^data: ')
  fi
  kill "$hg" "$up" 2>/dev/null || true
  wait "$hg" 2>/dev/null || true
  local out="$dir/cg.out.1" # the dump taken while counting was on (cg.out itself is written at exit, after it)
  [ -s "$out" ] || { echo "gateway_instructions: callgrind wrote no dump" >&2; return 1; }
  if [ -n "${HG_CG_KEEP:-}" ]; then mkdir -p "$HG_CG_KEEP" && cp "$out" "$HG_CG_KEEP/$name.cg"; fi
  local total
  total=$(callgrind_annotate "$out" 2>/dev/null | sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)
  echo "== $name: $n requests, $bad not 200"
  if [ "$stream" = true ]; then
    echo "   instructions per answer: $((total / n)); upstream events per answer: $events; per event: $((total / n / (events > 0 ? events : 1)))"
  else
    echo "   instructions per answer: $((total / n))"
  fi
  echo "   parts (inclusive, per answer):"
  callgrind_annotate --inclusive=yes --auto=no --threshold=100 "$out" 2>/dev/null |
    awk -v n="$n" '/=>/ { next }
      match($0, /:(judge_text|hg_moderator_feed|hg_scanner_feed_view|hg_pii_scanner_feed_view|hg_classifier_part_margins_view|hg_normalizer_feed|hg_label_make|record_build|hg_store_audit_append_many|hg_json_loadb|hg_json_dumps|stream_chunk_read|sse_feed|curl_multi_socket_action|crypto_sign_detached|hg_sha256)( |$)/) {
        k = substr($0, RSTART + 1, RLENGTH - 1); sub(/ $/, "", k); if (seen[k]++) next
        v = $1; gsub(",", "", v); printf "     %-36s %9d\n", k, v / n }'
}

one_run whole false 0 "${HG_CG_N:-200}"
one_run stream true 0 "${HG_CG_N:-20}"
one_run paced true 1 "${HG_CG_N:-10}"
