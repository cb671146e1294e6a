#!/usr/bin/env bash
# Benchmarks/scale/run.sh: Courier at N concurrent channel clients, through the real protocol
# (issue 15, the measuring part), against the Hummingbird peer as far as one process goes.
#
# For each N of NS and each server of SERVERS, started afresh (scale.py, its header says how):
#   memory per idle client (server VmRSS before and with N clients), the time to open them all,
#   idle CPU, direct sendMessage at RATE msg/s in all (p50/p99/p99.9 over every message), one
#   topic publish to all N (until the last client has it), the exactly-once check (each client's
#   seqs), and whether RSS comes back within 10% after every client has left.
# Servers: courier up to N = SINGLE_MAX is one ChannelBench (in-memory engine, --workers WORKERS);
#   above, NODES ChannelNode processes (--reuse-port --workers 1 --redis) on one port with one
#   redis-server (own port, temporary --dir, stopped at the end). courier-poll: ChannelBench with
#   long-poll clients (POST /_ah/channel/poll), up to N = POLL_MAX. hummingbird: HBChannel
#   (--threads WORKERS), up to N = HB_MAX. The clients: ChannelLoad hold processes, at most
#   PER_PROCESS clients each (a process may hold 20,000 file descriptors here).
# Writes a Markdown table per N into Benchmarks/RESULTS.md under "## Scale (Benchmarks/scale/run.sh)"
# (that section is replaced; the others are kept), followed by Benchmarks/scale/NOTES.md, and PNG
# plots into Benchmarks/scale/.
#
#   Benchmarks/scale/run.sh                                  # the whole ladder (about 30 min)
#   NS="1000" DURATION=3 Benchmarks/scale/run.sh              # quick look (under 2 min)
#
# Environment:
#   NS="1000 10000 19000 50000 100000"      concurrent clients
#   SERVERS="courier courier-poll hummingbird"
#   DURATION=10 RATE=10000                  the direct-message run: seconds, messages/s in all
#   IDLE_SECONDS=2×DURATION (at most 20)    the idle CPU window
#   LATE_IDLE_MIN=50000                     from this N on, a second idle window after the first
#   RELEASE_WAIT=130 (3×DURATION when DURATION < 10)   how long RSS is watched after the clients
#                                           leave (Courier forgets a session 120 s after it left)
#   SINGLE_MAX=19000 POLL_MAX=10000 HB_MAX=19000   see above
#   MAX_CONNECTIONS=19600                   ChannelBench --max-connections (its default, the open-file limit
#                                           less a sixteenth, is 18,750 here: too few for N = 19,000); "" = default
#   NODES=6 WORKERS=2 PER_PROCESS=18000 POLL_PER_PROCESS=5000 WINDOW=64 SIZE=32
#   POSTERS=8                               POST connections per client process (in-memory, Hummingbird)
#   NODE_POSTERS_TOTAL=48                   with ChannelNode (answers once Redis holds the message), in all
#   PUBLISH_TIMEOUT=60 OPEN_TIMEOUT=600
#   SOURCES="127.0.0.2 ... 127.0.0.9"       loopback source addresses of the client connections
#   PORT_BASE=19300                         courier +0, hummingbird +1, the nodes +2, redis +9
#   SKIP_BUILD=1                            use the binaries already built
#   COURIER_BIN, CHANNELNODE_BIN, HUMMINGBIRD_BIN, CHANNELLOAD_BIN   use this binary (not built)
#   HOLD_BUILD_LOCK=1                       hold /tmp/courier-swift-build.lock while measuring
#   WRITE_RESULTS=1                         0 = print the tables only, leave RESULTS.md alone
#   REPORT_ONLY=1                           measure nothing: the report of the last run again
#   APPEND=1                                keep the earlier runs' results (Benchmarks/scale/.build/results.jsonl)
#                                           and add these: a ladder measured in several invocations, one report
set -uo pipefail
# The whole script is one block, read before it runs: an edit while it runs cannot change it.
{

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LOCK=/tmp/courier-swift-build.lock
OUT="$HERE/.build"
LOGS="$OUT/logs"
# shellcheck source=../common.sh
source "$ROOT/Benchmarks/common.sh"

SKIP_BUILD=${SKIP_BUILD:-0}
HOLD_BUILD_LOCK=${HOLD_BUILD_LOCK:-1}
REPORT_ONLY=${REPORT_ONLY:-0}
export OUT

# The Python with matplotlib (Debian's python3-matplotlib is for /usr/bin/python3).
PY=python3
if ! python3 -c 'import matplotlib' 2>/dev/null && /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then PY=/usr/bin/python3; fi

if [[ "$REPORT_ONLY" == 1 ]]; then
    [[ -s "$OUT/run.env" ]] && source "$OUT/run.env"
    export CMDLINE MACHINE LOAD_AT_START LOAD_AT_END
    exec "$PY" "$HERE/scale.py" report
fi

mkdir -p "$LOGS"
rm -f "$LOGS"/*.log "$LOGS"/*.err
CMDLINE=$(command_line Benchmarks/scale/run.sh NS SERVERS DURATION RATE IDLE_SECONDS RELEASE_WAIT SINGLE_MAX POLL_MAX HB_MAX MAX_CONNECTIONS NODES WORKERS \
    PER_PROCESS POLL_PER_PROCESS LATE_IDLE_MIN POSTERS NODE_POSTERS_TOTAL WINDOW SIZE PUBLISH_TIMEOUT OPEN_TIMEOUT SOURCES PORT_BASE SKIP_BUILD COURIER_BIN CHANNELNODE_BIN HUMMINGBIRD_BIN \
    CHANNELLOAD_BIN HOLD_BUILD_LOCK APPEND)
export CMDLINE
require_tools redis-server redis-cli flock python3

ulimit -n "$(ulimit -Hn)" 2>/dev/null
log "ulimit -n $(ulimit -n)"

# ---- build -------------------------------------------------------------------

if [[ "$SKIP_BUILD" != 1 ]]; then
    [[ -z "${CHANNELLOAD_BIN:-}" ]] && { build "$ROOT/Benchmarks/channel/client/ChannelLoad" ChannelLoad channelload || exit 1; }
    [[ -z "${COURIER_BIN:-}" ]] && { build "$ROOT/Benchmarks/channel/courier/ChannelBench" ChannelBench courier || exit 1; }
    [[ -z "${HUMMINGBIRD_BIN:-}" ]] && { build "$ROOT/Benchmarks/channel/hummingbird/HBChannel" HBChannel hummingbird || exit 1; }
    if [[ -z "${CHANNELNODE_BIN:-}" ]]; then
        log "building ChannelNode (log: ${LOGS#"$ROOT"/}/build-channelnode.log)"
        (cd "$ROOT" && flock "$LOCK" swift build -c release --product ChannelNode) >"$LOGS/build-channelnode.log" 2>&1 \
            || { log "build of ChannelNode failed"; tail -n 15 "$LOGS/build-channelnode.log" >&2; exit 1; }
    fi
fi

# ---- measuring ---------------------------------------------------------------

hold_build_lock
LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "load average before measuring: $LOAD_AT_START"
# 9>&- : no child may inherit the build lock.
"$PY" "$HERE/scale.py" measure 9>&-
rc=$?
LOAD_AT_END=$(cut -d' ' -f1-3 /proc/loadavg)
[[ "$HOLD_BUILD_LOCK" == 1 ]] && exec 9>&-

CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
MACHINE="nproc $(nproc), ${CPU_MODEL:-$(uname -m)}, $(free -g | awk '/^Mem:/ {print $2}') GiB, Linux $(uname -r), ulimit -n $(ulimit -n)"
declare -p CMDLINE MACHINE LOAD_AT_START LOAD_AT_END >"$OUT/run.env"
export CMDLINE MACHINE LOAD_AT_START LOAD_AT_END
"$PY" "$HERE/scale.py" report
exit $rc
}
