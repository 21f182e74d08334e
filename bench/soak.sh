#!/usr/bin/env bash
# bench/soak.sh BUILD_DIR — a long run of hegui serve at half its measured capacity: whole answers and streams at
# once, the configuration reloaded (SIGHUP) every minute, the process's RSS sampled every 10 s. At the end it says
# whether RSS stayed flat (the last samples within 5% of the level after warm-up, and the last third of the run within
# 1% of its own start: caches may fill for a while, a leak keeps growing), whether any request failed, and
# whether every answer a client received has its audit record (records ≥ answers). A measurement, not a test:
# it prints "met" or "NOT met" and exits 0 either way (non-zero only when it cannot run).
#
# Environment (optional): HG_SOAK_MINUTES (30), HG_SOAK_WARMUP_MINUTES (2, excluded from the RSS level),
# HG_SOAK_RELOAD_S (60), HG_SOAK_SHARE (0.5 of the capacity). Needs wrk (Debian: apt-get install wrk).
# Output: a summary on stdout, saved with the RSS samples under bench/results/ (gitignored).
set -euo pipefail
if [ $# -ne 1 ] || [ ! -d "$1" ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)
bench_dir=$(cd "$(dirname "$0")" && pwd)
hegui="$build_dir/hegui"
upstream_bin="$build_dir/examples/sample_upstream"
command -v wrk >/dev/null 2>&1 || { echo "skipped: wrk not installed (Debian: apt-get install wrk)"; exit 0; }
minutes=${HG_SOAK_MINUTES:-30}
warmup_min=${HG_SOAK_WARMUP_MINUTES:-2}
reload_s=${HG_SOAK_RELOAD_S:-60}
share=${HG_SOAK_SHARE:-0.5}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hegui-soak.XXXXXX")
pids=()
stop_all() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 1
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap stop_all EXIT
log() { echo "soak: $*" >&2; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

uport=$(free_port)
"$upstream_bin" --listen "127.0.0.1:$uport" --quiet >"$tmp/up.log" 2>&1 &
pids+=($!)
wait_port "$uport"
hport=$(free_port)
cat >"$tmp/hegui.yaml" <<EOF
listen: 127.0.0.1:$hport
workers: 2
upstream:
  url: http://127.0.0.1:$uport
data_dir: $tmp/data
audit:
  durability: group
strikes:
  near_duplicates_per_hour: 0
EOF
key=$("$hegui" keys create --data-dir "$tmp/data" --user soak | tail -1)
"$hegui" serve --config "$tmp/hegui.yaml" >"$tmp/hegui.out" 2>"$tmp/hegui.err" &
hpid=$!
pids+=("$hpid")
wait_port "$hport"

# the bodies: a clean ~1 KB answer whole, and a short one streamed
text='一个普通的软件项目每周的安排：周一整理需求，周二编写代码，周三代码评审，周四补充测试，周五发布新版本。The team reviews every change before it is merged and writes tests for each new feature. 文档和代码放在同一个仓库里，每次修改接口时都要同时更新文档。Performance is measured on the same machine with the same data.'
python3 - "$text" "$tmp" <<'EOF'
import json, sys
text, tmp = sys.argv[1], sys.argv[2]
for name, stream, t in (("whole", False, text), ("stream", True, "好的，收到。OK, noted.")):
    with open("%s/%s.json" % (tmp, name), "w") as f:
        json.dump({"model": "sample-1", "stream": stream, "messages": [{"role": "user", "content": "echo: " + t}]}, f)
EOF
# pacing: each connection waits DELAY ms before its next request
cat >"$tmp/paced.lua" <<'EOF'
local delay_ms = 0
function init(args)
  local f = assert(io.open(args[1], "rb"))
  wrk.body = f:read("*a")
  f:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. args[2]
  delay_ms = tonumber(args[3] or "0")
end
function delay() return delay_ms end
EOF
url="http://127.0.0.1:$hport/v1/chat/completions"
wrk -t2 -c64 -d5s -s "$tmp/paced.lua" "$url" -- "$tmp/whole.json" "$key" 0 >"$tmp/cap.txt" 2>&1
cap=$(awk '/^Requests\/sec:/ { print $2 }' "$tmp/cap.txt")
target=$(awk -v c="$cap" -v s="$share" 'BEGIN { printf "%.0f", c * s }')
conns=16
# 80% of the target as whole answers, 20% as streams
delay_whole=$(awk -v t="$target" -v c="$conns" 'BEGIN { printf "%.0f", c * 1000 / (t * 0.8) }')
delay_stream=$(awk -v t="$target" -v c="$conns" 'BEGIN { printf "%.0f", c * 1000 / (t * 0.2) }')
log "capacity $cap req/s; soak at $target req/s for $minutes min ($conns connections each: whole every" \
  "$delay_whole ms, stream every $delay_stream ms), reload every $reload_s s"
records_before=$("$hegui" audit export --data-dir "$tmp/data" | grep -c '"route": "/v1/chat/completions"' || true)

secs=$((minutes * 60))
wrk -t1 -c"$conns" -d"${secs}s" --timeout 10s -s "$tmp/paced.lua" "$url" -- "$tmp/whole.json" "$key" \
  "$delay_whole" >"$tmp/whole.txt" 2>&1 &
w1=$!
wrk -t1 -c"$conns" -d"${secs}s" --timeout 10s -s "$tmp/paced.lua" "$url" -- "$tmp/stream.json" "$key" \
  "$delay_stream" >"$tmp/stream.txt" 2>&1 &
w2=$!
pids+=("$w1" "$w2")
start=$(date +%s)
reloads=0
: >"$tmp/rss.txt"
next_reload=$((start + reload_s))
while kill -0 "$w1" 2>/dev/null || kill -0 "$w2" 2>/dev/null; do
  now=$(date +%s)
  # seconds, VmRSS, and its parts: RssAnon (the heap: what a leak grows), RssFile, RssShmem (SQLite's -shm index)
  echo "$((now - start)) $(awk '/^(VmRSS|RssAnon|RssFile|RssShmem):/ { v[$1] = $2 }
    END { print v["VmRSS:"] + 0, v["RssAnon:"] + 0, v["RssFile:"] + 0, v["RssShmem:"] + 0 }' \
    "/proc/$hpid/status" 2>/dev/null || echo 0 0 0 0)" >>"$tmp/rss.txt"
  if [ "$now" -ge "$next_reload" ]; then
    kill -HUP "$hpid" && reloads=$((reloads + 1))
    next_reload=$((next_reload + reload_s))
  fi
  sleep 10
done
wait "$w1" "$w2" || true
sleep 1 # the last answers' records are committed before the gateway stops
kill -TERM "$hpid"
wait "$hpid" || true

count() { awk -v k="$2" '$0 ~ k { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) { print $i; exit } }' "$1"; }
answers=0 errors=0
for f in "$tmp/whole.txt" "$tmp/stream.txt"; do
  n=$(awk '/ requests in / { print $1 }' "$f")
  bad=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$f")
  sock=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' "$f")
  answers=$((answers + ${n:-0} - ${bad:-0}))
  errors=$((errors + ${bad:-0} + ${sock:-0}))
done
records=$("$hegui" audit export --data-dir "$tmp/data" | grep -c '"route": "/v1/chat/completions"' || true)
records=$((records - records_before))
reload_ok=$("$hegui" audit export --data-dir "$tmp/data" | grep '"route": "/admin/reload"' | grep -c '"verdict": "ok"' || true)
verify=$("$hegui" audit verify --data-dir "$tmp/data" 2>&1 | tail -1)
read -r level peak last <<<"$(awk -v w=$((warmup_min * 60)) '
  $1 >= w && !lv { lv = $2 } $2 > pk && $1 >= w { pk = $2 } { ls = $2 } END { print lv + 0, pk + 0, ls + 0 }' \
  "$tmp/rss.txt")"
growth=$(awk -v a="$level" -v b="$last" 'BEGIN { if (a > 0) printf "%.1f", (b - a) * 100 / a; else print "nan" }')
# the last third of the run on its own: caches that fill for a while after the warm-up (SQLite's page cache per
# connection, the allocator's per-thread arenas) make the first figure grow and then stop; a leak keeps growing
read -r third_start third_end <<<"$(awk -v total=$((minutes * 60)) '
  $1 >= total * 2 / 3 && !s { s = $2 } { e = $2 } END { print s + 0, e + 0 }' "$tmp/rss.txt")"
third=$(awk -v a="$third_start" -v b="$third_end" 'BEGIN { if (a > 0) printf "%.1f", (b - a) * 100 / a; else print "nan" }')
verdict() { if [ "$1" = 1 ]; then echo met; else echo "NOT met"; fi; }
mkdir -p "$bench_dir/results"
out="$bench_dir/results/soak-$(date +%Y%m%d-%H%M%S)"
{
  echo "soak: $minutes min at $target req/s ($share of $cap), whole answers and streams, SIGHUP every $reload_s s"
  echo
  echo "| figure | measured | target | result |"
  echo "| --- | ---: | ---: | --- |"
  echo "| RSS after warm-up → at the end (KiB) | $level → $last (peak $peak, ${growth}%) | within 5% |" \
    "$(verdict "$(awk -v g="$growth" 'BEGIN { print (g != "nan" && g <= 5 && g >= -5) ? 1 : 0 }')") |"
  echo "| RSS over the last third of the run (KiB) | $third_start → $third_end (${third}%) | within 1% |" \
    "$(verdict "$(awk -v g="$third" 'BEGIN { print (g != "nan" && g <= 1 && g >= -1) ? 1 : 0 }')") |"
  echo "| requests that failed (non-2xx, socket errors) | $errors | 0 | $(verdict $((errors == 0))) |"
  echo "| answers received / their records in the chain | $answers / $records | records ≥ answers |" \
    "$(verdict $((records >= answers))) |"
  echo "| reloads sent / recorded ok | $reloads / $reload_ok | all | $(verdict $((reloads == reload_ok))) |"
  echo "| audit verify | $verify | holds | |"
  echo
  echo "RSS by part, KiB, after warm-up → at the end (the heap is where a leak shows; file and shared pages are"
  echo "mapped files such as SQLite's -shm index, which grows with the write-ahead log):"
  awk -v w=$((warmup_min * 60)) '$1 >= w && !n { n = 1; a = $3; f = $4; h = $5 } { ea = $3; ef = $4; eh = $5 }
    END { printf "  heap (RssAnon) %d → %d, file (RssFile) %d → %d, shared (RssShmem) %d → %d\n", a, ea, f, ef, h, eh }' \
    "$tmp/rss.txt"
} | tee "$out.txt"
cp "$tmp/rss.txt" "$out-rss.txt"
echo "saved: $out.txt $out-rss.txt"
