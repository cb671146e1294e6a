#!/usr/bin/env bash
# Benchmarks/http/callgrind.sh: user-space instructions per request, Courier's Hello vs the C floor.
#
# Wall-clock figures on this shared 2-core VM swing by 2x between rounds; callgrind counts
# instructions, which do not depend on what else the machine is doing. Each server runs under
# `valgrind --tool=callgrind` (debug info stripped from a copy: valgrind 3.19 cannot read the
# DWARF 5 that Swift emits) while `wrk -c64` loads one route; the instructions of a run with a
# single request (start-up and shutdown) are subtracted, and the rest divided by the requests
# served. Kernel time (the larger part of a request here, see RESULTS.md) is not counted.
#
#   Benchmarks/http/callgrind.sh                 # plaintext and json, Courier and the floor
#   ROUTES=json SERVERS=courier Benchmarks/http/callgrind.sh
#   SERVERS="courier courier-metrics" Benchmarks/http/callgrind.sh   # the cost of Metrics
#
# Environment: ROUTES="plaintext json", SERVERS="courier floor", DURATION=8s, CONNS=64,
# COURIER_BIN (default .build/release/Hello, built if missing), FLOOR_BIN (default
# Benchmarks/http/cfloor/floor, built with make if missing), PORT=18990.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
ROUTES=${ROUTES:-"plaintext json"}
SERVERS=${SERVERS:-"courier floor"}
DURATION=${DURATION:-8s}
CONNS=${CONNS:-64}
PORT=${PORT:-18990}
COURIER_BIN=${COURIER_BIN:-$ROOT/.build/release/Hello}
FLOOR_BIN=${FLOOR_BIN:-$HERE/cfloor/floor}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

bash "$ROOT/scripts/apt-ensure.sh" valgrind wrk
[[ -x "$COURIER_BIN" ]] || (cd "$ROOT" && flock /tmp/courier-swift-build.lock swift build -c release --product Hello)
[[ -x "$FLOOR_BIN" ]] || make -C "$HERE/cfloor" >/dev/null

binary_of() { case $1 in courier|courier-metrics) echo "$COURIER_BIN" ;; floor) echo "$FLOOR_BIN" ;; esac; }
args_of() {
    case $1 in
        courier) echo "--port $PORT --workers 1" ;;
        courier-metrics) echo "--port $PORT --workers 1 --metrics" ;;
        floor) echo "--port $PORT" ;;
    esac
}

# Runs one server under callgrind while `load` runs; prints the total instructions.
instructions() {
    local server=$1 load=$2 out="$WORK/callgrind.out"
    cp "$(binary_of "$server")" "$WORK/server" && strip --strip-debug "$WORK/server"
    rm -f "$out"
    # shellcheck disable=SC2046
    valgrind --tool=callgrind --callgrind-out-file="$out" "$WORK/server" $(args_of "$server") >/dev/null 2>&1 &
    local pid=$!
    for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/plaintext" && break; sleep 0.1; done
    eval "$load"
    kill -INT "$pid"; sleep 1; kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
    callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'
}

printf '| server | route | requests | instructions per request |\n|---|---|---:|---:|\n'
for server in $SERVERS; do
    base=$(instructions "$server" "true")
    for route in $ROUTES; do
        requests_file="$WORK/requests"
        total=$(instructions "$server" "wrk -t1 -c$CONNS -d$DURATION http://127.0.0.1:$PORT/$route | awk '/requests in/ {print \$1}' > $requests_file")
        requests=$(cat "$requests_file")
        printf '| %s | /%s | %s | %s |\n' "$server" "$route" "$requests" $(( (total - base) / requests ))
    done
done
