#!/usr/bin/env bash
# Builds vigil, starts `vigil serve` on a free loopback port with a random API key, and runs the
# JS compatibility tests (official Azure Anomaly Detector clients) against it.
# Usage: bash compat/js/run.sh   (from anywhere; needs go, node >= 20, npm)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/vigil-compat-js.XXXXXX")"
server_pid=""

cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

echo "== building vigil"
(cd "$root" && CGO_ENABLED=0 go build -o "$tmp/vigil" ./cmd/vigil)

if [[ ! -d "$here/node_modules" ]]; then
  echo "== npm ci"
  (cd "$here" && npm ci --no-audit --no-fund </dev/null)
fi

port="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();});')"
key="$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
url="http://127.0.0.1:$port"
mkdir -p "$tmp/data"

echo "== starting vigil serve on $url"
env -u VIGIL_API_KEY_FILE VIGIL_API_KEY="$key" "$tmp/vigil" serve --addr "127.0.0.1:$port" --data "$tmp/data" --metrics-addr 127.0.0.1:0 \
  </dev/null >"$tmp/server.log" 2>&1 &
server_pid=$!

ready=0
for _ in $(seq 1 300); do # 30 s
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "vigil exited before becoming ready" >&2
    break
  fi
  code="$(node -e '
    fetch(process.argv[1]).then(r => console.log(r.status), () => console.log(0));
  ' "$url/ready" 2>/dev/null || echo 0)"
  if [[ "$code" == "200" ]]; then ready=1; break; fi
  sleep 0.1
done
if [[ "$ready" != 1 ]]; then
  echo "vigil did not answer 200 on /ready within 30 s; server log:" >&2
  cat "$tmp/server.log" >&2 || true
  exit 1
fi

echo "== running node --test"
status=0
VIGIL_URL="$url" VIGIL_API_KEY="$key" \
  node --test --test-reporter=spec "$here"/*.test.mjs </dev/null || status=$?

if [[ "$status" != 0 ]]; then
  echo "== tests failed (exit $status); last lines of the server log:"
  tail -n 50 "$tmp/server.log" || true
fi
exit "$status"
