#!/usr/bin/env bash
# test_openai.sh HEGUI SAMPLE_UPSTREAM — `hegui serve` with the official openai npm client and with curl.
# Installs the client from the npm registry into the build tree. It skips (exit 77) only when it cannot get the
# client through no fault of the code: node/npm not installed, or no npm registry reachable from here (a clone
# without network). It fails when the registry answers and the install breaks, and it never skips in CI (CI set to
# anything but 0/false, as CI services set it, or HG_E2E_REQUIRED=1): there a skip would hide a broken install.
set -u
HEGUI=$1
UPSTREAM=$2
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
GW="" UP=""
cleanup() { kill ${GW:+"$GW"} ${UP:+"$UP"} 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT

must_run() {
  case "${HG_E2E_REQUIRED:-}" in "" | 0 | false) ;; *) return 0 ;; esac
  case "${CI:-}" in "" | 0 | false | False | FALSE) return 1 ;; *) return 0 ;; esac
}
# Says why the client is not there, then skips, or fails when skipping is not allowed.
cannot_run() {
  if must_run; then
    echo "FAIL: $1 (not skipped: a skip is not allowed here, CI=${CI:-} HG_E2E_REQUIRED=${HG_E2E_REQUIRED:-})"
    exit 1
  fi
  echo "skipped: $1"
  exit 77
}

command -v node >/dev/null && command -v npm >/dev/null || cannot_run "node/npm not installed"
NODE_DIR=${HG_E2E_NODE_DIR:-$PWD/e2e-node}
mkdir -p "$NODE_DIR"
cp "$HERE/package.json" "$HERE/openai_client.mjs" "$NODE_DIR/"
if [ ! -d "$NODE_DIR/node_modules/openai" ]; then
  # Reachability first, asked explicitly and briefly: only "no registry" may turn into a skip. `npm ping` it is,
  # not `npm view`, which answers from npm's cache when offline; an HTTP error (a proxy or portal answering in the
  # registry's place) counts as no registry.
  registry=$(cd "$NODE_DIR" && npm config get registry 2>/dev/null)
  if ! (cd "$NODE_DIR" && timeout 60 npm ping --fetch-retries=0 --fetch-timeout=20000 >npm-ping.log 2>&1); then
    log="$NODE_DIR/npm-ping.log"
    why=$(grep -m1 -e FetchError -e 'npm error [0-9]' "$log" || grep -m1 'npm error' "$log")
    cannot_run "the npm registry $registry cannot be reached (npm ping: ${why:-no answer within 60 s})"
  fi
  echo "npm registry $registry reachable: installing the openai client"
  if ! (cd "$NODE_DIR" && npm install --no-audit --no-fund --loglevel=error >npm.log 2>&1) ||
    [ ! -d "$NODE_DIR/node_modules/openai" ]; then
    echo "FAIL: the registry $registry answers but npm install of openai failed (log $NODE_DIR/npm.log):"
    tail -5 "$NODE_DIR/npm.log"
    exit 1
  fi
fi

"$UPSTREAM" --listen 127.0.0.1:0 --quiet >"$T/up.out" 2>/dev/null &
UP=$!
for _ in $(seq 50); do grep -q listening "$T/up.out" && break; sleep 0.1; done
UPORT=$(grep -o '127.0.0.1:[0-9]*' "$T/up.out" | cut -d: -f2)
KEY=$("$HEGUI" keys create --data-dir "$T/data" --user e2e | tail -1)
"$HEGUI" serve --listen 127.0.0.1:0 --upstream "http://127.0.0.1:$UPORT" --data-dir "$T/data" >"$T/gw.out" 2>"$T/gw.err" &
GW=$!
for _ in $(seq 50); do grep -q "serving on" "$T/gw.out" && break; sleep 0.1; done
PORT=$(grep -o '127.0.0.1:[0-9]*' "$T/gw.out" | head -1 | cut -d: -f2)
[ -n "$PORT" ] || { echo "gateway did not start: $(cat "$T/gw.err")"; exit 1; }

fails=0
node "$NODE_DIR/openai_client.mjs" "$PORT" "$KEY" || fails=$((fails + 1))

# curl, as people try a gateway first
out=$(curl -sS "http://127.0.0.1:$PORT/v1/chat/completions" -H "Authorization: Bearer $KEY" \
  -H 'Content-Type: application/json' -d '{"model":"m","messages":[{"role":"user","content":"你好"}]}')
echo "$out" | grep -q '"finish_reason":"stop"' || { echo "FAIL: curl whole answer: $out"; fails=$((fails + 1)); }
out=$(curl -sSN "http://127.0.0.1:$PORT/v1/chat/completions" -H "Authorization: Bearer $KEY" \
  -d '{"model":"m","stream":true,"messages":[{"role":"user","content":"讲个故事"}]}')
echo "$out" | tail -2 | grep -q 'data: \[DONE\]' || { echo "FAIL: curl stream ends with [DONE]"; fails=$((fails + 1)); }
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/v1/chat/completions" -d '{}')
[ "$code" = 401 ] || { echo "FAIL: curl without a key: $code"; fails=$((fails + 1)); }
"$HEGUI" audit verify --data-dir "$T/data" >/dev/null || { echo "FAIL: audit chain"; fails=$((fails + 1)); }
echo "curl and openai client: $fails failed"
[ "$fails" -eq 0 ]
