#!/usr/bin/env bash
# test_openai.sh HEGUI SAMPLE_UPSTREAM — `hegui serve` with the official openai npm client and with curl.
# Installs the client from the npm registry into the build tree (skips cleanly, exit 77, when npm or the
# registry is not there).
set -u
HEGUI=$1
UPSTREAM=$2
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
cleanup() { kill "$GW" "$UP" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
command -v node >/dev/null && command -v npm >/dev/null || { echo "skipped: node/npm not installed"; exit 77; }
NODE_DIR=${HG_E2E_NODE_DIR:-$PWD/e2e-node}
mkdir -p "$NODE_DIR"
cp "$HERE/package.json" "$HERE/openai_client.mjs" "$NODE_DIR/"
if [ ! -d "$NODE_DIR/node_modules/openai" ]; then
  (cd "$NODE_DIR" && npm install --no-audit --no-fund --loglevel=error >npm.log 2>&1) ||
    { echo "skipped: npm install openai failed: $(tail -3 "$NODE_DIR/npm.log")"; exit 77; }
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
