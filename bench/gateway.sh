#!/usr/bin/env bash
# bench/gateway.sh BUILD_DIR — how much hegui serve costs in front of a model server, against nginx as a plain
# reverse proxy. Everything runs on 127.0.0.1 on this machine:
#
#   wrk ──► sample_upstream                      (a) direct
#   wrk ──► nginx (proxy_pass, keepalive) ──► sample_upstream   (b)
#   wrk ──► hegui serve (all moderation on) ──► sample_upstream (c), data dir on disk, and again on /dev/shm
#
# Non-streaming: a chat completion whose answer is a clean ~2 KB Chinese+English text (`echo:`), 64 connections,
# and 1 connection for the added latency. Streaming: the same answer with "stream": true (the sample upstream
# cuts it into 1-3 character chunks), and hegui's CPU time per streamed chunk, read from /proc/PID/stat and
# hegui_stream_chunks_total around fixed-length runs, with the upstream flat out and paced (--delay-ms 1 between
# events, so that each chunk arrives on its own, as from a real model); nginx is measured the same way for scale.
#
# This is a measurement, not a test: targets not met are printed as "NOT met" and never make it exit non-zero.
# Needs wrk, nginx and curl (Debian: wrk nginx-light curl); without them it prints "skipped: ..." and exits 0.
# Installs nothing. Output: a table on stdout, saved with the raw wrk output under bench/results/ (gitignored).
#
# Environment (all optional): HG_BENCH_DURATION (s per measured run, default 15), HG_BENCH_WARMUP (s, 3),
# HG_BENCH_CONNS (64), HG_BENCH_THREADS (2), HG_BENCH_LAT_DURATION (s for the 1-connection runs, 10),
# HG_BENCH_DURABILITY (audit.durability of the hegui under test: group, the default, sync or async),
# HG_BENCH_CHUNK_DURATION (s for the per-chunk runs, 10), HG_BENCH_TMPFS (1: also run hegui with its data dir
# on /dev/shm), HG_BENCH_PACED_CONNS (16), HG_BENCH_PERF (1: afterwards, profile hegui with
# `perf record -g` and with `--call-graph dwarf` during two more non-streaming runs and save the reports; needs perf).
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
if [ ! -d "$1" ]; then
  echo "bench: build directory $1 not found" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)
bench_dir=$(cd "$(dirname "$0")" && pwd)
hegui="$build_dir/hegui"
upstream_bin="$build_dir/examples/sample_upstream"
lua="$bench_dir/wrk_chat.lua"
for b in "$hegui" "$upstream_bin"; do
  if [ ! -x "$b" ]; then
    echo "bench: $b not found; build first (cmake --build $1)" >&2
    exit 2
  fi
done
missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
nginx_bin=$(command -v nginx 2>/dev/null || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true)
[ -n "$nginx_bin" ] || missing+=(nginx)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  echo "skipped: ${missing[*]} not installed (Debian: apt-get install wrk nginx-light curl)"
  exit 0
fi

duration=${HG_BENCH_DURATION:-15}
warmup=${HG_BENCH_WARMUP:-3}
conns=${HG_BENCH_CONNS:-64}
threads=${HG_BENCH_THREADS:-2}
lat_duration=${HG_BENCH_LAT_DURATION:-10}
chunk_duration=${HG_BENCH_CHUNK_DURATION:-10}
paced_conns=${HG_BENCH_PACED_CONNS:-16}
use_tmpfs=${HG_BENCH_TMPFS:-1}
use_perf=${HG_BENCH_PERF:-0}
durability=${HG_BENCH_DURABILITY:-group}
[ -d /dev/shm ] && [ -w /dev/shm ] || use_tmpfs=0
clk_tck=$(getconf CLK_TCK)

# ---- processes: every one started is recorded and stopped on exit ------------------------------------------
pids=()
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hegui-gwbench.XXXXXX")
shm=""
stop_all() {
  local p _
  cd /
  local kids=()
  read -r -a kids <<<"$(child_pids $$ | tr '\n' ' ')" # also a wrk (under timeout) still running
  pids+=("${kids[@]}")
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 50); do
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" -eq 0 ] && break
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
  [ -z "$shm" ] || rm -rf "$shm"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$tmp" # nothing of this script's is written into the source tree except under bench/results/

log() { echo "gateway bench: $*" >&2; }
# bg COMMAND...: runs it in the background and waits for it, so that a TERM or INT reaches the trap at once
# instead of after the command (stop_all then stops it with the other children); its status is ignored
bg() {
  "$@" &
  wait $! || true
}

free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
    return
  fi
  local p _
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
  echo "gateway bench: no free port found" >&2
  return 1
}

child_pids() { # the direct children of a process, from /proc (no procps needed)
  local f rest fields
  for f in /proc/[0-9]*/stat; do
    { read -r rest <"$f"; } 2>/dev/null || continue
    read -r -a fields <<<"${rest##*) }"
    [ "${fields[1]}" = "$1" ] || continue
    f=${f#/proc/}
    echo "${f%/stat}"
  done
}

# wait_port PORT PID: until something accepts on 127.0.0.1:PORT (at most 10 s), failing if PID died.
wait_port() {
  local _
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || { echo "gateway bench: process $2 exited before listening on $1" >&2; return 1; }
    sleep 0.1
  done
  echo "gateway bench: nothing listening on 127.0.0.1:$1 after 10 s" >&2
  return 1
}

# start_upstream DELAY_MS -> sets up_pid, up_port
start_upstream() {
  local out="$tmp/upstream-$1.out" _
  "$upstream_bin" --listen 127.0.0.1:0 --delay-ms "$1" --quiet >"$out" 2>"$tmp/upstream-$1.err" &
  up_pid=$!
  pids+=("$up_pid")
  up_port=""
  for _ in $(seq 100); do
    up_port=$(sed -n 's/^sample_upstream listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$out")
    [ -n "$up_port" ] && return 0
    kill -0 "$up_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "gateway bench: sample_upstream did not start: $(cat "$tmp/upstream-$1.err")" >&2
  return 1
}

# start_hegui NAME DATA_DIR UPSTREAM_PORT -> sets hg_pid, hg_port, hg_key
start_hegui() {
  local name=$1 dir=$2 uport=$3
  mkdir -p "$dir"
  hg_key=$("$hegui" keys create --data-dir "$dir" --user bench 2>"$tmp/$name-keys.err" | tail -n 1)
  hg_port=$(free_port)
  cat >"$tmp/$name.yaml" <<EOF
listen: 127.0.0.1:$hg_port
workers: 2
limits:
  drain_timeout_ms: 1000
upstream:
  url: http://127.0.0.1:$uport
data_dir: $dir
EOF
  printf 'audit:\n  durability: %s\n' "$durability" >>"$tmp/$name.yaml"
  # one prompt sent again and again is what a load test does and what the near-duplicate strike is for (a spam
  # farm): without this, the bench's user is suspended after 35 requests and the rest are 403s
  printf 'strikes:\n  near_duplicates_per_hour: 0\n' >>"$tmp/$name.yaml"
  "$hegui" serve --config "$tmp/$name.yaml" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  hg_pid=$!
  pids+=("$hg_pid")
  wait_port "$hg_port" "$hg_pid" || { cat "$tmp/$name.err" >&2; return 1; }
}

# ---- the request bodies ------------------------------------------------------------------------------------
# A clean text (no lexicon entry, no personal data), 2,033 bytes of UTF-8: the answer hegui scans, labels and
# records. No quotes, backslashes or newlines, so it goes into JSON as it is.
answer='网关基准测试使用的示例回答。This answer is a plain sample used to measure the gateway under load. 本段文字介绍一个普通的软件项目如何安排每周的工作：周一整理需求，周二编写代码，周三进行代码评审，周四补充测试，周五发布新版本并写下发布说明。The team keeps a short list of tasks, reviews every change before it is merged, and writes tests for each new feature. 在编写代码的时候，我们尽量让每个函数只做一件事情，并且给变量起清楚的名字，这样其他同事在阅读代码时能够很快理解它的用途。When a bug is found, the first step is to write a small test that shows the problem, and only then to change the code until the test passes. 文档和代码放在同一个仓库里，每次修改接口时都要同时更新文档，避免说明和实际行为不一致。Performance is measured on the same machine with the same data, so that two runs can be compared fairly. 我们记录每一次测量的日期、提交版本和机器配置，这样以后回头查看时可以知道数字是在什么条件下得到的。The build uses a release configuration with optimisation turned on, and the results are saved in a folder that is not tracked by version control. 最后，团队每个月会回顾一次工作流程，讨论哪些做法有效，哪些地方还可以改进，然后把结论写进项目的说明文件里。Good habits make the project easier to maintain over many years. 春天的公园里开满了花，孩子们在草地上放风筝，老人们在树下下棋聊天。秋天的时候，山上的树叶慢慢变成红色和黄色，很多人周末会去郊外散步，呼吸新鲜的空气。Reading a good book in the evening is a simple way to relax after a long day of work. 学习一门新的编程语言时，先从小程序开始练习，再逐步尝试更大的项目。 Small steps, taken every day, add up to real progress. 每天进步一点点，日积月累就会看到变化。'
short_answer='好的，收到。OK.'
body() { # body STREAM TEXT
  printf '{"model":"sample-1","stream":%s,"messages":[{"role":"user","content":"echo: %s"}]}' "$1" "$2"
}
body "false" "$answer" >"$tmp/chat.json"
body "true" "$answer" >"$tmp/stream.json"
body "true" "$short_answer" >"$tmp/stream-short.json"
answer_bytes=$(printf '%s' "$answer" | wc -c)

# ---- start everything ----------------------------------------------------------------------------------------
start_upstream 0
up0_pid=$up_pid up0_port=$up_port
start_upstream 1
up1_pid=$up_pid up1_port=$up_port

ngx_port=$(free_port)
ngx2_port=$(free_port)
while [ "$ngx2_port" = "$ngx_port" ]; do ngx2_port=$(free_port); done
mkdir -p "$tmp/nginx"
cat >"$tmp/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 2;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx/client_body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  upstream model {
    server 127.0.0.1:$up0_port;
    keepalive 128;
  }
  upstream model_paced {
    server 127.0.0.1:$up1_port;
    keepalive 128;
  }
  server {
    listen 127.0.0.1:$ngx_port;
    location / {
      proxy_pass http://model;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
  server {
    listen 127.0.0.1:$ngx2_port;
    location / {
      proxy_pass http://model_paced;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
EOF
"$nginx_bin" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/error.log" 2>"$tmp/nginx/start.err" &
ngx_pid=$!
pids+=("$ngx_pid")
if ! wait_port "$ngx_port" "$ngx_pid" || ! wait_port "$ngx2_port" "$ngx_pid"; then
  cat "$tmp/nginx/start.err" "$tmp/nginx/error.log" >&2 2>/dev/null
  exit 1
fi

# nginx's CPU is its master's and its workers' (the workers are counted from here on)
for _ in $(seq 50); do
  ngx_workers=$(child_pids "$ngx_pid" | tr '\n' ' ')
  [ "$(wc -w <<<"$ngx_workers")" -ge 2 ] && break
  sleep 0.1
done
ngx_pids="$ngx_pid $ngx_workers"

start_hegui hegui-disk "$tmp/data-disk" "$up0_port"
hgd_pid=$hg_pid hgd_port=$hg_port hgd_key=$hg_key
disk_fs=$(df -PT "$tmp/data-disk" 2>/dev/null | awk 'NR == 2 { print $2 }')
[ -n "$disk_fs" ] || disk_fs="disk"
if [ "$use_tmpfs" = 1 ]; then
  shm=$(mktemp -d /dev/shm/hegui-gwbench.XXXXXX)
  start_hegui hegui-tmpfs "$shm/data" "$up0_port"
  hgt_pid=$hg_pid hgt_port=$hg_port hgt_key=$hg_key
fi
start_hegui hegui-paced "$tmp/data-paced" "$up1_port"
hgp_pid=$hg_pid hgp_port=$hg_port hgp_key=$hg_key

direct_url="http://127.0.0.1:$up0_port/v1/chat/completions"
nginx_url="http://127.0.0.1:$ngx_port/v1/chat/completions"
hgd_url="http://127.0.0.1:$hgd_port/v1/chat/completions"
[ "$use_tmpfs" = 1 ] && hgt_url="http://127.0.0.1:$hgt_port/v1/chat/completions"
hgp_url="http://127.0.0.1:$hgp_port/v1/chat/completions"
paced_direct_url="http://127.0.0.1:$up1_port/v1/chat/completions"
paced_nginx_url="http://127.0.0.1:$ngx2_port/v1/chat/completions"

# ---- sanity: each path answers the 2 KB text, hegui lets it through and labels it ---------------------------
probe="每天进步一点点，日积月累就会看到变化。"
check_answer() { # check_answer NAME URL KEY
  local auth=() out
  [ -z "$3" ] || auth=(-H "Authorization: Bearer $3")
  out=$(curl -s --max-time 10 "${auth[@]}" -H 'Content-Type: application/json' --data-binary @"$tmp/chat.json" "$2" \
    -w '\n%{http_code} %{size_download}')
  local status size
  read -r status size <<<"$(tail -n 1 <<<"$out")"
  if [ "$status" != 200 ] || ! grep -qF "$probe" <<<"$out" || grep -q content_filter <<<"$out"; then
    echo "gateway bench: $1 did not answer the 2 KB text as expected (HTTP $status):" >&2
    head -c 600 <<<"$out" >&2
    echo >&2
    return 1
  fi
  echo "$size"
}
size_direct=$(check_answer direct "$direct_url" "")
size_nginx=$(check_answer nginx "$nginx_url" "")
size_hegui=$(check_answer hegui "$hgd_url" "$hgd_key")
grep -qF '本内容由人工智能生成' <<<"$(curl -s --max-time 10 -H "Authorization: Bearer $hgd_key" \
  --data-binary @"$tmp/chat.json" "$hgd_url")" || { echo "gateway bench: hegui's answer has no notice" >&2; exit 1; }
[ "$use_tmpfs" = 1 ] && check_answer hegui-tmpfs "$hgt_url" "$hgt_key" >/dev/null
check_answer hegui-paced "$hgp_url" "$hgp_key" >/dev/null
# content chunks per stream, as the upstream sends them: data events minus role chunk, finish chunk and [DONE]
stream_chunks_of() {
  local n
  n=$(curl -sN --max-time 20 --data-binary @"$1" "$direct_url" | grep -c '^data: ')
  echo $((n - 3))
}
chunks_long=$(stream_chunks_of "$tmp/stream.json")
chunks_short=$(stream_chunks_of "$tmp/stream-short.json")

# ---- measuring -------------------------------------------------------------------------------------------------
ticks() { # CPU ticks (user + system, all threads) of the given processes
  local t=0 p rest fields
  for p in "$@"; do
    { read -r rest <"/proc/$p/stat"; } 2>/dev/null || continue
    read -r -a fields <<<"${rest##*) }"
    t=$((t + fields[11] + fields[12]))
  done
  echo "$t"
}
machine() { awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; } # idle, total
metric() { # metric PORT NAME_REGEX: sum of the matching series in hegui's /metrics
  curl -s --max-time 5 "http://127.0.0.1:$1/metrics" | awk -v re="$2" '$1 ~ re { s += $2 } END { printf "%.0f\n", s }'
}
to_ms() { # wrk's "1.23ms" / "456.78us" / "1.02s" / "1.50m" -> milliseconds
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.3f", v * 60000 }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
    else printf "nan" }'
}
to_bytes() { # wrk's "9.32MB" (binary units) -> bytes
  awk -v v="$1" 'BEGIN { m = 1
    if (v ~ /KB$/) m = 1024; else if (v ~ /MB$/) m = 1048576; else if (v ~ /GB$/) m = 1073741824
    sub(/[KMG]?B$/, "", v); printf "%.0f", v * m }'
}
# the bytes wrk reads for one whole answer (status line, headers, chunked framing and body)
wire_size() { # wire_size URL KEY BODY
  local auth=()
  [ -z "$2" ] || auth=(-H "Authorization: Bearer $2")
  curl -s --raw -N --max-time 30 "${auth[@]}" --data-binary @"$3" -D - -o - "$1" | wc -c
}

raw="$tmp/raw.txt"
: >"$raw"
# run_wrk LABEL URL BODY KEY CONNS DURATION [PIDS...]
#   -> R_RPS R_P50 R_P99 R_REQS R_BYTES R_ERR, R_CPU (CPU s of PIDS), R_IDLE (% of the machine idle)
run_wrk() {
  local label=$1 url=$2 bodyf=$3 key=$4 c=$5 d=$6
  shift 6
  local t=$threads
  [ "$c" -lt "$t" ] && t=$c
  local out="$tmp/wrk.out" t0 t1 m0 m1
  t0=$(ticks "$@")
  m0=$(machine)
  bg timeout $((d + 30)) wrk -t"$t" -c"$c" -d"${d}s" --timeout 10s --latency -s "$lua" "$url" -- "$bodyf" "$key" \
    >"$out" 2>&1
  m1=$(machine)
  sleep 0.5 # the requests wrk cut off at the end are finished (and recorded) before the CPU is read
  t1=$(ticks "$@")
  { echo "=== $label: wrk -t$t -c$c -d${d}s $url ($(basename "$bodyf"))"; cat "$out"; echo; } >>"$raw"
  R_RPS=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
  R_REQS=$(awk '/ requests in / { print $1 }' "$out")
  R_BYTES=$(to_bytes "$(awk '/ requests in / { print $(NF - 1) }' "$out")")
  R_P50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
  R_P99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
  local non2xx sock
  non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
  sock=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' "$out")
  R_ERR=$((${non2xx:-0} + ${sock:-0}))
  R_CPU=$(awk -v a="$t0" -v b="$t1" -v k="$clk_tck" 'BEGIN { printf "%.3f", (b - a) / k }')
  R_IDLE=$(awk -v a="$m0" -v b="$m1" 'BEGIN { split(a, x, " "); split(b, y, " ")
    printf "%.0f%%", (y[2] > x[2]) ? (y[1] - x[1]) * 100 / (y[2] - x[2]) : 0 }')
  if [ -z "$R_RPS" ]; then
    R_RPS=0 R_REQS=0 R_BYTES=0 R_P50=nan R_P99=nan
    log "$label: wrk gave no result (see the raw output)"
  fi
}
warm() { # warm URL BODY KEY [CONNS]
  bg timeout $((warmup + 20)) wrk -t"$threads" -c"${4:-$conns}" -d"${warmup}s" --timeout 10s -s "$lua" "$1" -- "$2" \
    "$3" >/dev/null 2>&1
  sleep 0.5
}

rows=()
total_errors=0 # non-2xx answers and socket errors over every measured run: the figures mean nothing unless 0
# add_row MODE TARGET CONNS DURATION [ANSWERS]: ANSWERS is how many whole answers the measured CPU served
add_row() {
  local cpu_us="-" cpu_pct="-"
  total_errors=$((total_errors + ${R_ERR:-0}))
  if [ -n "${5:-}" ]; then
    cpu_us=$(awk -v c="$R_CPU" -v n="$5" 'BEGIN { if (n > 0) printf "%.0f", c * 1e6 / n; else printf "-" }')
    cpu_pct=$(awk -v c="$R_CPU" -v d="$4" 'BEGIN { printf "%.0f%%", c * 100 / d }')
  fi
  rows+=("$(printf '| %-10s | %-24s | %5s | %8.0f | %9.3f | %9.3f | %6s | %10s | %7s | %6s |' "$1" "$2" "$3" \
    "$R_RPS" "$R_P50" "$R_P99" "$R_ERR" "$cpu_us" "$cpu_pct" "$R_IDLE")")
  log "$(printf '%-10s %-24s c=%-3s %8.0f req/s  p50 %8.3f ms  p99 %8.3f ms  errors %s  CPU %s µs/answer' "$1" \
    "$2" "$3" "$R_RPS" "$R_P50" "$R_P99" "$R_ERR" "$cpu_us")"
}

stamp=$(date +%Y%m%d-%H%M%S)
log "upstream :$up0_port (paced :$up1_port), nginx :$ngx_port, hegui :$hgd_port (data on $disk_fs)$(
  [ "$use_tmpfs" = 1 ] && echo ", hegui :$hgt_port (data on /dev/shm)"), hegui-paced :$hgp_port"
log "each run ${duration}s after ${warmup}s warm-up; about $(((duration + warmup + 1) * 7 + (lat_duration + 2) * 4 + \
  (chunk_duration + warmup + 1) * 5))s in all"

declare -A RPS P99 P50 CPUA SCPU SCHUNK SREQ
# (1) non-streaming, $conns connections
nonstream() { # nonstream KEY NAME URL APIKEY PID
  warm "$3" "$tmp/chat.json" "$4"
  run_wrk "non-stream $2" "$3" "$tmp/chat.json" "$4" "$conns" "$duration" $5 # (unquoted: a list of pids)
  RPS[$1]=$R_RPS P99[$1]=$R_P99 P50[$1]=$R_P50
  CPUA[$1]=$(awk -v c="$R_CPU" -v n="$R_REQS" 'BEGIN { printf "%.0f", n ? c * 1e6 / n : 0 }')
  add_row "non-stream" "$2" "$conns" "$duration" "$R_REQS"
}
nonstream direct "direct" "$direct_url" "" "$up0_pid"
nonstream nginx "nginx" "$nginx_url" "" "$ngx_pids"
nonstream hegui "hegui, data on $disk_fs" "$hgd_url" "$hgd_key" "$hgd_pid"
[ "$use_tmpfs" = 1 ] && nonstream hegui_tmpfs "hegui, data on tmpfs" "$hgt_url" "$hgt_key" "$hgt_pid"

# (2) non-streaming, 1 connection: the latency each hop adds, without queueing
latency1() { # latency1 KEY NAME URL APIKEY
  bg timeout 30 wrk -t1 -c1 -d1s -s "$lua" "$3" -- "$tmp/chat.json" "$4" >/dev/null 2>&1
  run_wrk "1-conn $2" "$3" "$tmp/chat.json" "$4" 1 "$lat_duration"
  RPS[${1}_1]=$R_RPS P99[${1}_1]=$R_P99 P50[${1}_1]=$R_P50
  add_row "non-stream" "$2" 1 "$lat_duration"
}
latency1 direct "direct" "$direct_url" ""
latency1 nginx "nginx" "$nginx_url" ""
latency1 hegui "hegui, data on $disk_fs" "$hgd_url" "$hgd_key"
[ "$use_tmpfs" = 1 ] && latency1 hegui_tmpfs "hegui, data on tmpfs" "$hgt_url" "$hgt_key"

# (3) streaming. CPU per answer divides by the bytes read over the bytes of one whole answer, since a stream run
# ends with up to CONNS answers cut off half-way; hegui's runs also count chunks in its /metrics.
stream_run() { # stream_run KEY NAME URL APIKEY BODY PID [HEGUI_PORT]
  local sc=${SCONNS:-$conns} d=${SDUR:-$duration} wire c0=0 r0=0 c1 r1
  wire=$(wire_size "$3" "$4" "$5")
  warm "$3" "$5" "$4" "$sc"
  if [ -n "${7:-}" ]; then
    c0=$(metric "$7" '^hegui_stream_chunks_total$')
    r0=$(metric "$7" '^hegui_requests_total[{]route="/v1/chat/completions"')
  fi
  run_wrk "stream $2" "$3" "$5" "$4" "$sc" "$d" $6 # (unquoted: a list of pids)
  if [ -n "${7:-}" ]; then
    c1=$(metric "$7" '^hegui_stream_chunks_total$')
    r1=$(metric "$7" '^hegui_requests_total[{]route="/v1/chat/completions"')
    SCHUNK[$1]=$((c1 - c0)) SREQ[$1]=$((r1 - r0))
  fi
  SCPU[$1]=$R_CPU
  local answers
  answers=$(awk -v b="$R_BYTES" -v w="$wire" 'BEGIN { printf "%.1f", (w > 0 ? b / w : 0) }')
  CPUA[s_$1]=$(awk -v c="$R_CPU" -v n="$answers" 'BEGIN { printf "%.0f", (n > 0 ? c * 1e6 / n : 0) }')
  RPS[s_$1]=$R_RPS P99[s_$1]=$R_P99 P50[s_$1]=$R_P50
  add_row "stream" "$2" "$sc" "$d" "$answers"
}
stream_run direct "direct" "$direct_url" "" "$tmp/stream.json" "$up0_pid"
stream_run nginx "nginx" "$nginx_url" "" "$tmp/stream.json" "$ngx_pids"
stream_run hegui "hegui, data on $disk_fs" "$hgd_url" "$hgd_key" "$tmp/stream.json" "$hgd_pid" "$hgd_port"
[ "$use_tmpfs" = 1 ] &&
  stream_run hegui_tmpfs "hegui, data on tmpfs" "$hgt_url" "$hgt_key" "$tmp/stream.json" "$hgt_pid" "$hgt_port"
# the per-request part of hegui's cost, to be taken out of the per-chunk figure: a ~5-chunk answer
SDUR=$chunk_duration stream_run hegui_short "hegui, short answer" "$hgd_url" "$hgd_key" "$tmp/stream-short.json" \
  "$hgd_pid" "$hgd_port"
# paced: 1 ms between the upstream's events, so that every chunk reaches hegui in a read of its own, as from a
# real model, and fewer connections, so that the single-threaded upstream keeps its pace
SCONNS=$paced_conns SDUR=$chunk_duration stream_run paced_direct "direct, paced 1 ms" "$paced_direct_url" "" \
  "$tmp/stream.json" "$up1_pid"
SCONNS=$paced_conns SDUR=$chunk_duration stream_run paced_nginx "nginx, paced 1 ms" "$paced_nginx_url" "" \
  "$tmp/stream.json" "$ngx_pids"
SCONNS=$paced_conns SDUR=$chunk_duration stream_run paced "hegui, paced 1 ms" "$hgp_url" "$hgp_key" \
  "$tmp/stream.json" "$hgp_pid" "$hgp_port"
SCONNS=$paced_conns SDUR=$chunk_duration stream_run paced_short "hegui, paced, short" "$hgp_url" "$hgp_key" \
  "$tmp/stream-short.json" "$hgp_pid" "$hgp_port"

# hegui must have let every answer through: a block would make the figures meaningless
blocks=0
for port in "$hgd_port" ${hgt_port:+"$hgt_port"} "$hgp_port"; do
  blocks=$((blocks + $(metric "$port" '^hegui_verdicts_total[{]verdict="block"[}]')))
done

# ---- perf (optional): where hegui's time goes in a non-streaming run -------------------------------------------
# Two profiles of hegui (data on disk) under the same load: `perf record -g` (frame pointers: cheap, so the self
# time per function is that of normal operation) and `--call-graph dwarf` at a low rate (costly, but it unwinds
# the libraries built without frame pointers, so the time including callees is right).
perf_note=""
if [ "$use_perf" = 1 ]; then
  if command -v perf >/dev/null 2>&1; then
    pd=$((duration < 10 ? duration : 10))
    perf_out="$bench_dir/results/gateway-$stamp-perf.txt"
    : >"$perf_out"
    for mode in fp dwarf; do
      log "perf record ($mode) on hegui (data on $disk_fs) during a ${pd}s non-streaming run"
      if [ "$mode" = fp ]; then popt=(-g -F 999); else popt=(--call-graph "dwarf,16384" -F 99); fi
      warm "$hgd_url" "$tmp/chat.json" "$hgd_key"
      timeout $((pd + 60)) perf record "${popt[@]}" -p "$hgd_pid" -o "$tmp/perf-$mode.data" -- sleep "$((pd + 1))" \
        >"$tmp/perf-$mode.log" 2>&1 &
      perf_pid=$!
      sleep 0.5
      run_wrk "perf ($mode): non-stream hegui" "$hgd_url" "$tmp/chat.json" "$hgd_key" "$conns" "$pd"
      wait "$perf_pid" || true
      if [ "$mode" = fp ]; then
        perf_rps=$R_RPS
        {
          echo "== perf record -g -F 999, $R_RPS req/s while profiled: self time by object"
          perf report -i "$tmp/perf-fp.data" --no-children --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9.]+%' |
            head -n 12
          echo "== self time by function"
          perf report -i "$tmp/perf-fp.data" --no-children --sort dso,symbol --stdio 2>/dev/null |
            grep -E '^ +[0-9.]+%' | head -n 40
        } >>"$perf_out" || true
      else
        {
          echo "== perf record --call-graph dwarf -F 99, $R_RPS req/s while profiled: time including callees"
          perf report -i "$tmp/perf-dwarf.data" --children --sort symbol --stdio --no-call-graph 2>/dev/null |
            grep -E '^ +[0-9.]+%' | grep -v ' 0x0000' | head -n 80
        } >>"$perf_out" || true
      fi
    done
    perf_note="perf record -g on hegui, data on $disk_fs ($perf_rps req/s while profiled), self time, top functions:"
  else
    perf_note="(perf not installed: no profile)"
  fi
fi

# ---- the report ------------------------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "nan" }'; }
diff_ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.3f", a - b }'; }
verdict() { # verdict VALUE OP TARGET
  awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
    if (v == "nan" || v == "") { print "not measured"; exit }
    ok = (op == ">=") ? v + 0 >= t : v + 0 <= t; print (ok ? "met" : "NOT met") }'
}
per_chunk() { # per_chunk KEY -> all-in µs per chunk, chunks per request, µs per request
  awk -v c="${SCPU[$1]:-0}" -v n="${SCHUNK[$1]:-0}" -v r="${SREQ[$1]:-0}" 'BEGIN {
    if (n > 0 && r > 0) printf "%.1f %.0f %.0f", c * 1e6 / n, n / r, c * 1e6 / r; else print "nan 0 0" }'
}
slope() { # slope LONG SHORT -> marginal µs per chunk
  awk -v cl="${SCPU[$1]:-0}" -v nl="${SCHUNK[$1]:-0}" -v rl="${SREQ[$1]:-0}" \
    -v cs="${SCPU[$2]:-0}" -v ns="${SCHUNK[$2]:-0}" -v rs="${SREQ[$2]:-0}" 'BEGIN {
      if (rl == 0 || rs == 0 || nl / rl == ns / rs) { print "nan"; exit }
      printf "%.1f", (cl / rl - cs / rs) * 1e6 / (nl / rl - ns / rs) }'
}
ref_chunk() { # CPU µs per chunk of a process that is not hegui, from its CPU per whole answer
  awk -v a="${CPUA[$1]:-0}" -v n="$chunks_long" 'BEGIN { printf "%.1f", (n > 0 ? a / n : 0) }'
}

mkdir -p "$bench_dir/results"
out="$bench_dir/results/gateway-$stamp.txt"
{
  echo "hegui gateway bench, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')"
  echo "commit: $(git -C "$bench_dir" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$bench_dir" diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "tools: $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2), $("$nginx_bin" -v 2>&1 | sed 's/^nginx version: //'); hegui and sample_upstream from $build_dir"
  echo "load: wrk -t$threads, ${duration}s per run after ${warmup}s warm-up (1-connection runs ${lat_duration}s," \
    "per-chunk runs ${chunk_duration}s); everything on 127.0.0.1, sharing the same $(nproc) cores"
  echo "answer: ${answer_bytes} bytes of clean Chinese+English text (echo:); HTTP body: direct ${size_direct} B," \
    "nginx ${size_nginx} B, hegui ${size_hegui} B (notice and signed label added)"
  echo "stream: the upstream sends ${chunks_long} content chunks of 1-3 characters per answer; the short answer ${chunks_short}"
  echo "hegui: workers 2, starter lexicon, PII redaction, labels, one audit record per request (SQLite, WAL," \
    "synchronous=FULL); data dir on $disk_fs$([ "$use_tmpfs" = 1 ] && echo ", and again on tmpfs (/dev/shm)")"
  echo
  echo "| mode       | target                   | conns |    req/s |    p50 ms |    p99 ms | errors | CPU µs/ans | CPU use | idle   |"
  echo "| ---------- | ------------------------ | ----: | -------: | --------: | --------: | -----: | ---------: | ------: | -----: |"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Latency is wrk's, from the request to the end of the answer (streams: to [DONE]). CPU is the process's own"
  echo "user+system time during the run (direct: sample_upstream; nginx: master and workers; hegui: all threads) per"
  echo "whole answer (streams: bytes read ÷ bytes of one whole answer), and as a share of one core. idle: the"
  echo "whole machine's idle+iowait during the run; wrk runs on the same cores."
  echo
  if [ "$total_errors" -gt 0 ]; then
    echo "INVALID RUN: $total_errors requests were answered with an error or failed (see the errors column):" \
      "the figures below do not measure the gateway's work."
  fi
  echo "| target | measured | target | result |"
  echo "| --- | ---: | ---: | --- |"
  # the targets of issue 12: CPU per answer <= 100 µs, throughput >= 0.6 x nginx's, p99 added at one connection
  # <= 1 ms, CPU per streamed chunk <= nginx's per chunk in the same run
  echo "| hegui CPU per answer, non-stream, data on $disk_fs | ${CPUA[hegui]:-?} µs | ≤ 100 µs | $(verdict "${CPUA[hegui]:-999999}" "<=" 100) |"
  if [ "$use_tmpfs" = 1 ]; then
    echo "| hegui CPU per answer, non-stream, data on tmpfs | ${CPUA[hegui_tmpfs]:-?} µs | ≤ 100 µs | $(verdict "${CPUA[hegui_tmpfs]:-999999}" "<=" 100) |"
  fi
  echo "| (nginx CPU per answer, non-stream) | ${CPUA[nginx]:-?} µs | | |"
  r=$(ratio "${RPS[hegui]}" "${RPS[nginx]}")
  echo "| hegui ÷ nginx throughput, non-stream, data on $disk_fs | $r | ≥ 0.6 | $(verdict "$r" ">=" 0.6) |"
  if [ "$use_tmpfs" = 1 ]; then
    r=$(ratio "${RPS[hegui_tmpfs]}" "${RPS[nginx]}")
    echo "| hegui ÷ nginx throughput, non-stream, data on tmpfs | $r | ≥ 0.6 | $(verdict "$r" ">=" 0.6) |"
  fi
  r=$(ratio "${RPS[s_hegui]}" "${RPS[s_nginx]}")
  echo "| hegui ÷ nginx throughput, stream (bound by the upstream: see its CPU use) | $r | ≥ 0.6 | $(verdict "$r" ">=" 0.6) |"
  for k in hegui hegui_tmpfs; do
    [ -n "${P99[$k]:-}" ] || continue
    where=$([ "$k" = hegui ] && echo "$disk_fs" || echo tmpfs)
    d=$(diff_ms "${P99[${k}_1]}" "${P99[direct_1]}")
    echo "| hegui p99 − direct p99, 1 connection, data on $where | $d ms | ≤ 1 ms | $(verdict "$d" "<=" 1) |"
    d=$(diff_ms "${P50[${k}_1]}" "${P50[direct_1]}")
    echo "| (hegui p50 − direct p50, 1 connection, data on $where) | $d ms | | |"
    d=$(diff_ms "${P99[$k]}" "${P99[direct]}")
    echo "| hegui p99 − direct p99, $conns connections, data on $where | $d ms | ≤ 1 ms | $(verdict "$d" "<=" 1) |"
  done
  echo "| (nginx p99 − direct p99, 1 connection) | $(diff_ms "${P99[nginx_1]}" "${P99[direct_1]}") ms | | |"
  read -r pc_all pc_per pc_req <<<"$(per_chunk hegui)"
  read -r _ ps_per ps_req <<<"$(per_chunk hegui_short)"
  read -r pp_all pp_per pp_req <<<"$(per_chunk paced)"
  read -r _ qs_per qs_req <<<"$(per_chunk paced_short)"
  s=$(slope hegui hegui_short)
  s2=$(slope paced paced_short)
  n_flat=$(ref_chunk s_nginx)
  n_paced=$(ref_chunk s_paced_nginx)
  echo "| hegui CPU per streamed chunk, paced 1 ms, marginal mean | $s2 µs | ≤ nginx's $n_paced µs | $(verdict "$s2" "<=" "$n_paced") |"
  echo "| hegui CPU per streamed chunk, upstream flat out, marginal mean | $s µs | ≤ nginx's $n_flat µs | $(verdict "$s" "<=" "$n_flat") |"
  echo "| (hegui, all-in mean: paced / flat out) | $pp_all / $pc_all µs | | |"
  echo "| (for scale, CPU per chunk, flat out / paced: nginx) | $(ref_chunk s_nginx) / $(ref_chunk s_paced_nginx) µs | | |"
  echo "| (for scale, CPU per chunk, flat out / paced: sample_upstream) | $(ref_chunk s_direct) / $(ref_chunk s_paced_direct) µs | | |"
  echo
  echo "Per chunk: hegui's utime+stime (/proc/PID/stat, ${clk_tck} Hz ticks) over hegui_stream_chunks_total (model"
  echo "chunks moderated) in the same window. All-in divides all of hegui's CPU by the chunks, so it includes the"
  echo "per-request work (HTTP, key, prompt scan, label, audit record); marginal is the slope between the long and"
  echo "the short answer, (CPU/request long − short) ÷ (chunks/request long − short), which takes that work out."
  echo "Both are means over every chunk of the run: a median per chunk cannot be seen from outside the process."
  echo "  flat out: ${pc_per} chunks ${pc_req} µs per request (long), ${ps_per} chunks ${ps_req} µs (short)"
  echo "  paced:    ${pp_per} chunks ${pp_req} µs per request (long), ${qs_per} chunks ${qs_req} µs (short)"
  echo "Blocked answers during the runs (must be 0): $blocks"
  if [ -n "$perf_note" ]; then
    echo
    echo "$perf_note"
    [ -z "${perf_out:-}" ] || sed -n '/^== self time by function/,/^== perf record --call-graph/p' "$perf_out" |
      grep -E '^ +[0-9.]+%' | head -n 10
  fi
} >"$tmp/report.txt"

tee "$out" <"$tmp/report.txt"
cp "$raw" "$bench_dir/results/gateway-$stamp-wrk.txt"
echo
echo "saved: $out"
echo "       $bench_dir/results/gateway-$stamp-wrk.txt"
[ -z "${perf_out:-}" ] || echo "       $perf_out"
exit 0
