#!/usr/bin/env bash
# Benchmarks/websocket/run.sh: Courier's Echo vs a Hummingbird-websocket echo server.
#
# Builds the two servers and the load client WSLoad (release), then runs
# interleaved rounds. In each round, each measurement below is taken of each
# server in turn (the order rotates from round to round):
#   1. idle memory: start the server pinned to one core, check it echoes (one
#      connection, opened and closed), read its VmRSS, open IDLE_CONNS WebSocket
#      connections (handshake completed) from the client core, let them sit
#      SETTLE seconds, read VmRSS again, close them, stop the server;
#      bytes per connection = (after - before) / connections.
#   2. echo latency, closed loop: start the server again; LAT_CONNS connections
#      each send a SIZE-byte text message and wait for its echo, the next one
#      leaving as soon as the echo is back, for WARMUP + DURATION seconds;
#      p50/p99/p99.9 of the round trips sent after the warm-up (HdrHistogram).
#      This runs the server flat out, so it also gives echoes per second.
#   3. echo latency, paced (PACED_RATE > 0): the same at PACED_RATE messages/s
#      in all, each connection on a fixed schedule, latency counted from the
#      scheduled send time (no coordinated omission): latency at a load both
#      servers can carry.
# Prints a Markdown table of the medians over the rounds with the ratio
# Courier/Hummingbird (lower is better, but for echoes per second), and writes it into
# Benchmarks/RESULTS.md under "## WebSocket (Benchmarks/websocket/run.sh)"
# (that section is replaced; the other sections are kept).
#
#   Benchmarks/websocket/run.sh                                   # 3 rounds
#   ROUNDS=1 DURATION=3 IDLE_CONNS=2000 Benchmarks/websocket/run.sh   # quick look
#
# Environment:
#   ROUNDS=3               rounds; each server is started afresh for each measurement
#   IDLE_CONNS=10000       idle connections held open for the memory reading
#   SOURCES="127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5"
#                          loopback source addresses the idle connections are
#                          spread over (so ephemeral ports never run short)
#   SETTLE=3               seconds between the last handshake and the second reading
#   LAT_CONNS=100          connections in the latency run
#   SIZE=32                bytes of each text message
#   WARMUP=2 DURATION=10   seconds of the latency run (warm-up not recorded)
#   PACED_RATE=10000       messages/s of the paced run (0 = no paced run); the
#                          client spins to keep the schedule, so it shows 1 core
#   SERVERS="courier hummingbird"   which servers, and their order
#   SERVER_CPU=0 CLIENT_CPU=1       taskset cores for the server and WSLoad
#   NOFILE=65536           ulimit -n wanted for servers and client (the hard limit
#                          if lower; it must exceed IDLE_CONNS)
#   SKIP_BUILD=1           use the binaries already built
#   COURIER_BIN, HUMMINGBIRD_BIN, WSLOAD_BIN
#                          use this binary instead (not built); a server gets the
#                          same arguments
#   HOLD_BUILD_LOCK=1      hold /tmp/courier-swift-build.lock while measuring so no
#                          (flock-wrapped) swift build runs beside it; 0 = don't
#   WRITE_RESULTS=1        0 = print the table only, leave RESULTS.md alone
#   PORT_BASE=18180        courier PORT_BASE, hummingbird +1
#
# A server whose build fails, or that does not come up, is skipped with a
# message; its cells show "n/a".
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
RESULTS_MD=${RESULTS_MD:-"$ROOT/Benchmarks/RESULTS.md"}
LOCK=/tmp/courier-swift-build.lock
# shellcheck source=../common.sh
source "$ROOT/Benchmarks/common.sh"

ROUNDS=${ROUNDS:-3}
IDLE_CONNS=${IDLE_CONNS:-10000}
SOURCES=${SOURCES:-"127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5"}
SETTLE=${SETTLE:-3}
LAT_CONNS=${LAT_CONNS:-100}
SIZE=${SIZE:-32}
WARMUP=${WARMUP:-2}
DURATION=${DURATION:-10}
PACED_RATE=${PACED_RATE:-10000}
SERVERS=${SERVERS:-"courier hummingbird"}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
NOFILE=${NOFILE:-65536}
SKIP_BUILD=${SKIP_BUILD:-0}
HOLD_BUILD_LOCK=${HOLD_BUILD_LOCK:-1}
WRITE_RESULTS=${WRITE_RESULTS:-1}
PORT_BASE=${PORT_BASE:-18180}

OUT="$HERE/.build"             # ignored by the repo's .gitignore (.build/)
LOGS="$OUT/logs"
mkdir -p "$LOGS"
rm -f "$LOGS"/server-*.log "$LOGS"/idle-*.log "$LOGS"/latency-*.log "$LOGS"/paced-*.log
RAW="$OUT/raw.tsv"
: > "$RAW"

# Reconstruct the command line for the report, with the overrides given.
CMDLINE=$(command_line Benchmarks/websocket/run.sh ROUNDS IDLE_CONNS SOURCES SETTLE LAT_CONNS SIZE WARMUP DURATION PACED_RATE SERVERS SERVER_CPU CLIENT_CPU NOFILE SKIP_BUILD COURIER_BIN HUMMINGBIRD_BIN WSLOAD_BIN HOLD_BUILD_LOCK PORT_BASE)


require_tools taskset flock python3

# Open files: servers and client inherit this shell's limit.
ulimit -n "$NOFILE" 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
if (( $(ulimit -n) < IDLE_CONNS + 100 )); then
    log "ulimit -n is $(ulimit -n) (hard limit $(ulimit -Hn)): too low for IDLE_CONNS=$IDLE_CONNS"
    exit 1
fi

# ---- build -------------------------------------------------------------------

KNOWN_SERVERS="courier hummingbird"
binary_of() {
    case "$1" in
        courier) echo "${COURIER_BIN:-$ROOT/.build/release/Echo}" ;;
        hummingbird) echo "${HUMMINGBIRD_BIN:-$HERE/hummingbird/HBEcho/.build/release/HBEcho}" ;;
    esac
}
args_of() {
    case "$1" in
        courier) echo "--port $(port_of courier) --workers 1 --no-compression" ;;
        hummingbird) echo "--port $(port_of hummingbird) --threads 1" ;;
    esac
}
build_server() {
    case "$1" in
        courier) build "$ROOT" Echo courier ;;
        hummingbird) build "$HERE/hummingbird/HBEcho" HBEcho hummingbird ;;
    esac
}
WSLOAD=${WSLOAD_BIN:-$HERE/client/WSLoad/.build/release/WSLoad}

if [[ "$SKIP_BUILD" != 1 && -z "${WSLOAD_BIN:-}" ]]; then
    build "$HERE/client/WSLoad" WSLoad wsload || exit 1
fi
[[ -x "$WSLOAD" ]] || { log "no load client at $WSLOAD"; exit 1; }

collect_servers

# ---- measuring ---------------------------------------------------------------

trap 'stop_server' EXIT
trap 'exit 130' INT TERM

# client ARGS...: WSLoad pinned to the client core. 9>&- : it must not hold the build lock.
client() {
    taskset -c "$CLIENT_CPU" "$WSLOAD" "$@" 9>&-
}

# answers SERVER: one connection opened and one message echoed.
answers() {
    client probe --port "$(port_of "$1")" >/dev/null 2>&1
}

# shellcheck disable=SC2086
SOURCES_CSV=$(echo $SOURCES | tr ' ' ',')

measure_idle() {
    local s=$1 round=$2 port f
    port=$(port_of "$s")
    f="$LOGS/idle-$s-r$round.log"
    start_server "$s" || return
    if client idle --port "$port" --server-pid "$SERVER_PID" --connections "$IDLE_CONNS" \
            --sources "$SOURCES_CSV" --settle "$SETTLE" >"$f" 2>"$f.err"; then
        record "$s" "$round" idle "$f"
        local per
        per=$(awk -F= '$1 == "bytes_per_connection" {print $2}' "$f")
        log "  $(label "$s"): $per bytes per idle connection ($(awk -F= '$1 == "connections" {print $2}' "$f") open)"
        if [[ "$(awk -F= '$1 == "stirred_while_idle" {print $2}' "$f")" != 0 ]]; then
            log "  WARNING: $(label "$s") sent something or closed connections while they sat idle ($f)"
        fi
    else
        log "  $(label "$s"): idle run failed: $(tail -n 3 "$f.err")"
    fi
    stop_server
}

# measure_latency SERVER ROUND RATE: RATE 0 is the closed loop (kind "latency"),
# otherwise paced (kind "paced").
measure_latency() {
    local s=$1 round=$2 rate=$3 port f kind=latency
    [[ "$rate" != 0 ]] && kind=paced
    port=$(port_of "$s")
    f="$LOGS/$kind-$s-r$round.log"
    start_server "$s" || return
    if client latency --port "$port" --server-pid "$SERVER_PID" --connections "$LAT_CONNS" --size "$SIZE" \
            --warmup "$WARMUP" --duration "$DURATION" --rate "$rate" >"$f" 2>"$f.err"; then
        record "$s" "$round" "$kind" "$f"
        log "  $(label "$s") $kind: $(awk -F= '$1 ~ /^(p50_us|p99_us|p999_us|rate|server_cpu|client_cpu)$/ {printf "%s=%s ", $1, $2}' "$f")"
    else
        log "  $(label "$s"): $kind run failed: $(tail -n 3 "$f.err")"
    fi
    stop_server
}

hold_build_lock

LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "load average before measuring: $LOAD_AT_START; ulimit -n $(ulimit -n)"

for round in $(seq "$ROUNDS"); do
    rotate_servers "$round"
    log "round $round/$ROUNDS: ${rotated[*]}"
    for s in "${rotated[@]}"; do measure_idle "$s" "$round"; done
    for s in "${rotated[@]}"; do measure_latency "$s" "$round" 0; done
    if [[ "$PACED_RATE" != 0 ]]; then
        for s in "${rotated[@]}"; do measure_latency "$s" "$round" "$PACED_RATE"; done
    fi
done

if [[ "$HOLD_BUILD_LOCK" == 1 ]]; then
    exec 9>&-
fi

# ---- report ------------------------------------------------------------------

CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
[[ -z "$CPU_MODEL" ]] && CPU_MODEL=$(uname -m)
MACHINE="nproc $(nproc), $CPU_MODEL, Linux $(uname -r)"
SWIFT_VERSION=$(swift --version 2>/dev/null | head -1 | sed 's/.*Swift version \([^ ]*\).*/\1/')

AVAILABLE_LIST="${!AVAILABLE[*]}"
export RAW RESULTS_MD WRITE_RESULTS SERVERS AVAILABLE_LIST CMDLINE MACHINE LOAD_AT_START SERVER_CPU CLIENT_CPU \
    SWIFT_VERSION ROUNDS IDLE_CONNS SOURCES SETTLE LAT_CONNS SIZE WARMUP DURATION PACED_RATE
python3 - <<'PY'
import statistics, sys, datetime, re, os

E = os.environ
raw_path, results_path, write = E["RAW"], E["RESULTS_MD"], E["WRITE_RESULTS"] == "1"
servers = [s for s in E["SERVERS"].split() if s in ("courier", "hummingbird")]
labels = {"courier": "Courier", "hummingbird": "Hummingbird"}
available = set(E["AVAILABLE_LIST"].split())

# values[(server, kind, key)] -> [value per round]
values = {}
for line in open(raw_path):
    s, rnd, kind, key, value = line.rstrip("\n").split("\t")
    try:
        values.setdefault((s, kind, key), []).append(float(value))
    except ValueError:
        pass

def median(s, kind, key):
    v = values.get((s, kind, key))
    return statistics.median(v) if v else None

def ratio(a, b):
    return "n/a" if a is None or b is None or b == 0 else f"{a / b:.2f}x"

def fmt_bytes(x):
    return "n/a" if x is None else f"{x:,.0f} B ({x / 1024:.2f} KiB)"

def fmt_us(x):
    return "n/a" if x is None else f"{x:,.0f} µs"

def fmt_rate(x):
    return "n/a" if x is None else f"{x:,.0f}/s"

conns, lat_conns, size = int(E["IDLE_CONNS"]), int(E["LAT_CONNS"]), int(E["SIZE"])
paced = float(E["PACED_RATE"])
rows_spec = [
    (f"idle memory per connection ({conns:,} open)", "idle", "bytes_per_connection", fmt_bytes),
    (f"closed loop: echo round trip p50 ({lat_conns} conns, {size} B text)", "latency", "p50_us", fmt_us),
    ("closed loop: p99", "latency", "p99_us", fmt_us),
    ("closed loop: p99.9", "latency", "p999_us", fmt_us),
    ("closed loop: echoes per second (higher is better)", "latency", "rate", fmt_rate),
]
if paced:
    rows_spec += [
        (f"paced {paced:,.0f} msg/s: echo round trip p50", "paced", "p50_us", fmt_us),
        ("paced: p99", "paced", "p99_us", fmt_us),
        ("paced: p99.9", "paced", "p999_us", fmt_us),
    ]
head = ["measure"] + [labels[s] for s in servers]
both = "courier" in servers and "hummingbird" in servers
if both:
    head.append("Courier/Hummingbird")
rows = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
for title, kind, key, fmt in rows_spec:
    cells = [title] + [fmt(median(s, kind, key)) for s in servers]
    if both:
        cells.append(ratio(median("courier", kind, key), median("hummingbird", kind, key)))
    rows.append("| " + " | ".join(cells) + " |")
table = "\n".join(rows)

goals = []
cm = median("courier", "idle", "bytes_per_connection")
if cm is not None:
    goals.append(f"under 4 KiB per idle connection for Courier: {'met' if cm < 4096 else 'NOT met'} ({cm / 1024:.2f} KiB)")
c99, h99 = median("courier", "latency", "p99_us"), median("hummingbird", "latency", "p99_us")
if c99 is not None and h99 is not None:
    goals.append(f"p99 below Hummingbird's, closed loop: {'met' if c99 < h99 else 'NOT met'} ({c99:,.0f} µs vs {h99:,.0f} µs)")
c99, h99 = median("courier", "paced", "p99_us"), median("hummingbird", "paced", "p99_us")
if c99 is not None and h99 is not None:
    goals.append(f"paced: {'met' if c99 < h99 else 'NOT met'} ({c99:,.0f} µs vs {h99:,.0f} µs)")

def per_round(s, kind, key, fmt):
    v = values.get((s, kind, key))
    return ", ".join(fmt(x) for x in v) if v else "n/a"

raw_lines = []
for s in servers:
    if not any(k[0] == s for k in values):
        continue
    L = labels[s]
    raw_lines.append(f"- {L} bytes per idle connection: " + per_round(s, "idle", "bytes_per_connection", lambda x: f"{x:,.0f}"))
    raw_lines.append(f"- {L} VmRSS before / after opening: " + ", ".join(
        f"{b / 1048576:.1f} / {a / 1048576:.1f} MiB" for b, a in zip(values.get((s, "idle", "rss_before"), []), values.get((s, "idle", "rss_after"), []))))
    raw_lines.append(f"- {L} seconds to open them all: " + per_round(s, "idle", "open_seconds", lambda x: f"{x:.2f}"))
    for kind in ("latency", "paced"):
        if not values.get((s, kind, "p50_us")):
            continue
        name = "closed loop" if kind == "latency" else "paced"
        raw_lines.append(f"- {L} {name} p50 / p99 / p99.9 / max µs: " + ", ".join(
            f"{a:,.0f} / {b:,.0f} / {c:,.0f} / {d:,.0f}" for a, b, c, d in zip(*(values.get((s, kind, k), []) for k in ("p50_us", "p99_us", "p999_us", "max_us")))))
        raw_lines.append(f"- {L} {name} echoes/s: " + per_round(s, kind, "rate", lambda x: f"{x:,.0f}"))
        raw_lines.append(f"- {L} {name} CPU, server / client (cores): " + ", ".join(
            f"{a:.2f} / {b:.2f}" for a, b in zip(values.get((s, kind, "server_cpu"), []), values.get((s, kind, "client_cpu"), []))))
skipped = [labels[s] for s in servers if s not in available or not any(k[0] == s for k in values)]

sources = E["SOURCES"].split()
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
section = f"""## WebSocket (Benchmarks/websocket/run.sh)

- Date: {now}
- Command: `{E["CMDLINE"]}`
- Machine: {E["MACHINE"]} (load average before measuring: {E["LOAD_AT_START"]})
- Setup: each server alone on core {E["SERVER_CPU"]} (`taskset -c {E["SERVER_CPU"]}`; Courier's Echo `--workers 1 --no-compression`, Hummingbird 2.28.1 + hummingbird-websocket 2.8.1 echo with one NIO event loop thread and no WebSocket extensions), the load client WSLoad (Swift, POSIX sockets, HdrHistogram 0.2.0) on core {E["CLIENT_CPU"]}, loopback only (Swift {E["SWIFT_VERSION"]}, release builds). {E["ROUNDS"]} interleaved round(s), each server started afresh for each measurement; cells are medians over the rounds.
- Idle memory: VmRSS of the server (/proc/PID/status) after one echoed probe connection, then again {E["SETTLE"]} s after {conns:,} handshakes have completed (connections from {len(sources)} loopback source address(es), {sources[0]}…, nothing sent after the handshake); (after − before) / connections.
- Latency: {lat_conns} connections, each sending a {size}-byte text frame and waiting for its echo, {E["WARMUP"]} s warm-up then {E["DURATION"]} s recorded, the server started afresh. Closed loop: a connection sends its next message as soon as the echo is back, so the server runs flat out and the round trip is the client's write to the echo's arrival.{"" if not paced else f" Paced: {paced:,.0f} messages/s in all, each connection on a fixed schedule, the round trip counted from the scheduled send time (no coordinated omission); the client spins to keep time."}

{table}
"""
if goals:
    section += "\nGoals from the issue: " + "; ".join(goals) + ".\n"
if skipped:
    section += "\nNot measured (build failed or server did not come up): " + ", ".join(skipped) + ".\n"
section += "\n<details><summary>Each round</summary>\n\n" + "\n".join(raw_lines) + "\n\n</details>\n"

print()
print(section)

if write:
    try:
        text = open(results_path).read()
    except FileNotFoundError:
        text = "# Benchmark results\n"
    pattern = re.compile(r"^## WebSocket \(Benchmarks/websocket/run\.sh\)\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda m: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    text = text.rstrip("\n") + "\n"
    open(results_path, "w").write(text)
    print(f"[run.sh] wrote {results_path}", file=sys.stderr)
PY
