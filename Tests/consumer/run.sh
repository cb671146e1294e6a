#!/usr/bin/env bash
# Builds Tests/consumer, an app that depends on Courier by URL and version (`from: "0.1.0"`),
# against this checkout as it is (tracked and new files, uncommitted changes included) copied
# into a temporary git repository tagged 0.1.0; then starts it and asks one route. SwiftPM
# refuses a versioned dependency that uses unsafe build flags: a build here is the proof.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=$(mktemp -d /tmp/courier-consumer.XXXXXX)
SERVER_PID=""
cleanup() {
    [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/courier" "$WORK/consumer"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard -- . ':!Tests/consumer' \
    | while IFS= read -r -d '' file; do [[ -e "$file" || -L "$file" ]] && printf '%s\0' "$file"; done \
    | tar -cf - --null -T - | tar -xf - -C "$WORK/courier")
git -C "$WORK/courier" init -q
git -C "$WORK/courier" add -A
git -C "$WORK/courier" -c user.name=consumer -c user.email=consumer@localhost commit -qm "Courier as a dependency"
git -C "$WORK/courier" tag 0.1.0
cp -r "$HERE/Package.swift" "$HERE/Sources" "$WORK/consumer/"

echo "consumer: building against file://$WORK/courier at 0.1.0"
export COURIER_GIT_URL="file://$WORK/courier"
(cd "$WORK/consumer" && swift build --scratch-path "$WORK/build" 2>&1 | tail -n 5)
[[ -x "$WORK/build/debug/Consumer" ]] || { echo "consumer: the build made no binary" >&2; exit 1; }

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$WORK/build/debug/Consumer" --host 127.0.0.1 --port "$PORT" --workers 1 >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/hello/x" && break; sleep 0.1; done
answer=$(curl -s "http://127.0.0.1:$PORT/hello/world")
if [[ "$answer" != '{"hello":"world"}' ]]; then
    echo "consumer: GET /hello/world answered ${answer@Q}; server log:" >&2
    cat "$WORK/server.log" >&2
    exit 1
fi
echo "consumer: a versioned dependency on Courier builds and serves ($answer)"
