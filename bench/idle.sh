#!/usr/bin/env bash
# bench/idle.sh [connections]: starts a release herald (memory broker) on free
# loopback ports, opens N idle SSE connections with bench/idle_connections and
# prints the server's RSS per connection and its thread count. Bounded: at most
# N connections, about a minute.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-10000}
build=${HERALD_BUILD_DIR:-$root/build/release}
cmake --build "$build" --target herald idle_connections >/dev/null
port=$((30000 + RANDOM % 20000))
api=$((port + 1))
ulimit -n "$(ulimit -Hn)"
"$build/herald" --stream-listen 127.0.0.1:$port --api-listen 127.0.0.1:$api --log-level warn &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf http://127.0.0.1:$api/healthz >/dev/null && break; sleep 0.1; done
"$build/bench/idle_connections" --port $port --pid $pid --connections "$n" --channels 100 --hold 3
