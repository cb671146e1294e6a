#!/usr/bin/env bash
# Benchmarks/soak/run.sh: the soak test. Channel clients (2/3 WebSocket, 1/3 long-poll) receive
# numbered messages at a steady rate from two ChannelNode processes on one redis-server (the
# Redis engine), through a fault-injecting proxy, while connections are reset (RST) and stalled
# at random, handshakes are abandoned half-way, garbage frames are sent, a few clients are kept
# away past the recovery window, and the nodes are restarted with SIGTERM and SIGKILLed. It
# fails (exit 1) unless every client that stayed within the window got every message exactly
# once and in order, every client kept away got 410 (then reopened and got the rest), never a
# gap; the nodes' RSS and descriptors stayed flat over the second half (least-squares slope
# under a limit); no node crashed; no node logged a warning or error the soak does not expect.
# What each part does: soak.py (the run and the verdict), clients.py (clients, publisher,
# ledgers), fault_proxy.py, vandal.py, plots.py; the clients are Tests/cluster's.
#
#   Benchmarks/soak/run.sh short     # about 2.5 min, 600 clients: what `make test` runs
#   Benchmarks/soak/run.sh long      # 31 min of publishing, 2,400 clients; plots and RESULTS.md
#
# Environment:
#   CHANNELNODE_BIN      the node binary (short default .build/debug/ChannelNode, which `make
#                        test` builds; long default: a release build made here, under the build lock)
#   SOAK_ARGS=""         more soak.py arguments, e.g. "--clients 3000 --duration 600 --seed 7"
#   PORT_BASE=27100      redis on PORT_BASE, nodes on +1 and +2, the proxy on +10
#   WRITE_RESULTS=1      long mode: write the plots (Benchmarks/soak/soak-*.png) and the section
#                        "## Soak (Benchmarks/soak/run.sh)" of Benchmarks/RESULTS.md; 0 = don't
# The run's files (logs, summary.json, summary.txt) are in Benchmarks/soak/.build/<mode>/.
# `python3 Benchmarks/soak/soak.py --mode long --judge Benchmarks/soak/.build/long/summary.json`
# judges a finished run's slopes again (after the rules changed), running nothing.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LOCK=/tmp/courier-swift-build.lock
MODE=${1:-${MODE:-short}}
PORT_BASE=${PORT_BASE:-27100}
WRITE_RESULTS=${WRITE_RESULTS:-1}
SOAK_ARGS=${SOAK_ARGS:-}
log() { printf '[soak] %s\n' "$*" >&2; }
case "$MODE" in short|long) ;; *) log "usage: run.sh short|long"; exit 2 ;; esac

bash "$ROOT/scripts/apt-ensure.sh" redis-server python3 python3-pip
if ! python3 -c 'import sys, websockets; sys.exit(int(websockets.__version__.split(".")[0]) < 15)' 2>/dev/null; then
    python3 -m pip install -q "websockets>=15" 2>/dev/null \
        || python3 -m pip install -q --break-system-packages "websockets>=15"
fi

if [[ -n "${CHANNELNODE_BIN:-}" ]]; then
    NODE_BIN=$CHANNELNODE_BIN
elif [[ "$MODE" == short ]]; then
    NODE_BIN=$ROOT/.build/debug/ChannelNode
else
    NODE_BIN=$ROOT/.build/release/ChannelNode
    log "building ChannelNode (release)"
    (cd "$ROOT" && flock "$LOCK" swift build -c release --product ChannelNode) >/dev/null || { log "build failed"; exit 1; }
fi
[[ -x "$NODE_BIN" ]] || { log "no ChannelNode at $NODE_BIN (swift build --product ChannelNode)"; exit 1; }
NODE_BIN=$(cd "$(dirname "$NODE_BIN")" && pwd)/$(basename "$NODE_BIN")

# Up to 3,000 clients in one worker, the proxy's two sockets per client: well under the limit.
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

OUT=$HERE/.build/$MODE
rm -rf "$OUT"
mkdir -p "$OUT"
CMDLINE="Benchmarks/soak/run.sh $MODE"
[[ -n "$SOAK_ARGS" ]] && CMDLINE="SOAK_ARGS=\"$SOAK_ARGS\" $CMDLINE"
# shellcheck disable=SC2086
PYTHONDONTWRITEBYTECODE=1 timeout --kill-after=20 $([[ $MODE == short ]] && echo 600 || echo 3600) \
    python3 "$HERE/soak.py" --mode "$MODE" --node-bin "$NODE_BIN" --out "$OUT" --port-base "$PORT_BASE" \
    --command "$CMDLINE" $SOAK_ARGS 9>&-
status=$?
[[ -s "$OUT/summary.json" ]] || { log "no summary (exit $status); logs in ${OUT#"$ROOT"/}/run"; exit 1; }

if [[ "$MODE" == long && "$WRITE_RESULTS" == 1 ]]; then
    # The plots need matplotlib: Debian's python3-matplotlib, for whichever python3 has it.
    bash "$ROOT/scripts/apt-ensure.sh" python3-matplotlib
    PLOT_PY=python3
    python3 -c 'import matplotlib' 2>/dev/null || PLOT_PY=/usr/bin/python3
    "$PLOT_PY" "$HERE/plots.py" "$OUT/summary.json" "$HERE" || status=1
    python3 "$HERE/results.py" "$OUT/summary.json" "$ROOT/Benchmarks/RESULTS.md" || status=1
    cp "$OUT/summary.txt" "$HERE/long-summary.txt"
fi
[[ $status == 0 ]] && log "PASS ($MODE)" || log "FAIL ($MODE, exit $status): see ${OUT#"$ROOT"/}/summary.txt and run/*.log"
exit "$status"
