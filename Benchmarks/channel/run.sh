#!/usr/bin/env bash
# Benchmarks/channel/run.sh: Courier's Channel API vs the same scenario on Hummingbird-websocket.
#
# Builds the two servers (courier/ChannelBench, hummingbird/HBChannel) and the load client
# ChannelLoad (release), then runs interleaved rounds. In each round, each measurement
# below is taken of each server in turn (the order rotates from round to round), the server
# started afresh for each:
#   1. light: LIGHT_CLIENTS WebSocket clients connected; LIGHT_RATE messages/s in all, each
#      an HTTP POST /send?c=ID (keep-alive, POSTERS connections) whose handler calls
#      sendMessage (Courier) or writes to that client's socket (Hummingbird); latency from
#      the message's scheduled send time to its arrival at the client (no coordinated
#      omission), p50/p99/p99.9 with HdrHistogram.
#   2. load: the same with LOAD_CLIENTS clients at LOAD_RATE messages/s.
#   3. fan-out: FANOUT_SUBSCRIBERS clients subscribed to one topic; IN_FLIGHT POST
#      /publish requests kept going; delivered messages per second counted at the clients.
# Prints a Markdown table of the medians over the rounds with the ratio
# Courier/Hummingbird, and writes it into Benchmarks/RESULTS.md under
# "## Channel (Benchmarks/channel/run.sh)" (that section is replaced; the others are kept).
#
#   Benchmarks/channel/run.sh                          # 3 rounds
#   ROUNDS=1 DURATION=3 Benchmarks/channel/run.sh      # quick look
#
# Environment:
#   ROUNDS=3                   rounds
#   LIGHT_CLIENTS=100 LIGHT_RATE=100       the light-rate latency run
#   LOAD_CLIENTS=1000 LOAD_RATE=10000      the loaded latency run
#   FANOUT_SUBSCRIBERS=10000 IN_FLIGHT=64  the fan-out run (publishes kept in flight: enough that
#                              several land in one loop iteration, as under a busy topic)
#   POSTERS=16                 keep-alive HTTP connections the latency runs POST over
#   SIZE=32                    bytes of each message (the POST body)
#   WARMUP=2 DURATION=10       seconds of each run (warm-up not recorded)
#   DRAIN=10                   seconds a latency run waits for late messages; those still
#                              missing are recorded as (end of drain − end of run)
#   SOURCES="127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5"
#                              loopback source addresses the WebSocket clients are spread over
#   RUNS="light load fanout"   which measurements, in this order
#   SERVERS="courier courier-poll courier-awake hummingbird hummingbird-awake"
#                              which servers, and their order. Besides the two servers as they
#                              come, there are variants, each started the same way:
#                              courier-poll      Courier with --busy-poll-us $BUSY_POLL_US: its
#                                                loop polls instead of sleeping (ServerConfiguration
#                                                .busyPollMicroseconds), so it is never woken
#                              courier-awake, hummingbird-awake
#                                                a busy loop at nice 19 shares the server's core,
#                                                so the core never goes idle (what an idle vCPU
#                                                costs to wake on this VM; see NOTES.md)
#   VARIANT_RUNS="light"       the runs the variants take part in: they only differ from their
#                              base while the core would otherwise go idle between messages
#   BUSY_POLL_US=20000         courier-poll's window: longer than the light run's gap (10 ms)
#   SERVER_CPU=0 CLIENT_CPU=1  taskset cores for the server and ChannelLoad
#   NOFILE=65536               ulimit -n wanted (the hard limit if lower)
#   SKIP_BUILD=1               use the binaries already built
#   COURIER_BIN, HUMMINGBIRD_BIN, CHANNELLOAD_BIN   use this binary instead (not built)
#   HOLD_BUILD_LOCK=1          hold /tmp/courier-swift-build.lock while measuring so no
#                              (flock-wrapped) swift build runs beside it; 0 = don't
#   WRITE_RESULTS=1            0 = print the table only, leave RESULTS.md alone
#   PORT_BASE=18190            courier PORT_BASE, hummingbird +1
#
# A server whose build fails, or that does not come up, is skipped with a message; its
# cells show "n/a".
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
RESULTS_MD=${RESULTS_MD:-"$ROOT/Benchmarks/RESULTS.md"}
LOCK=/tmp/courier-swift-build.lock
# shellcheck source=../common.sh
source "$ROOT/Benchmarks/common.sh"

ROUNDS=${ROUNDS:-3}
LIGHT_CLIENTS=${LIGHT_CLIENTS:-100}
LIGHT_RATE=${LIGHT_RATE:-100}
LOAD_CLIENTS=${LOAD_CLIENTS:-1000}
LOAD_RATE=${LOAD_RATE:-10000}
FANOUT_SUBSCRIBERS=${FANOUT_SUBSCRIBERS:-10000}
IN_FLIGHT=${IN_FLIGHT:-64}
POSTERS=${POSTERS:-16}
SIZE=${SIZE:-32}
WARMUP=${WARMUP:-2}
DURATION=${DURATION:-10}
DRAIN=${DRAIN:-10}
SOURCES=${SOURCES:-"127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5"}
RUNS=${RUNS:-"light load fanout"}
SERVERS=${SERVERS:-"courier courier-poll courier-awake hummingbird hummingbird-awake"}
VARIANT_RUNS=${VARIANT_RUNS:-"light"}
BUSY_POLL_US=${BUSY_POLL_US:-20000}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
NOFILE=${NOFILE:-65536}
SKIP_BUILD=${SKIP_BUILD:-0}
HOLD_BUILD_LOCK=${HOLD_BUILD_LOCK:-1}
WRITE_RESULTS=${WRITE_RESULTS:-1}
PORT_BASE=${PORT_BASE:-18190}

OUT="$HERE/.build"             # ignored by the repo's .gitignore (.build/)
LOGS="$OUT/logs"
mkdir -p "$LOGS"
rm -f "$LOGS"/server-*.log "$LOGS"/light-*.log* "$LOGS"/load-*.log* "$LOGS"/fanout-*.log*
RAW="$OUT/raw.tsv"
: > "$RAW"

# Reconstruct the command line for the report, with the overrides given.
CMDLINE=$(command_line Benchmarks/channel/run.sh ROUNDS LIGHT_CLIENTS LIGHT_RATE LOAD_CLIENTS LOAD_RATE FANOUT_SUBSCRIBERS IN_FLIGHT POSTERS SIZE WARMUP DURATION DRAIN SOURCES RUNS SERVERS VARIANT_RUNS BUSY_POLL_US SERVER_CPU CLIENT_CPU NOFILE SKIP_BUILD COURIER_BIN HUMMINGBIRD_BIN CHANNELLOAD_BIN HOLD_BUILD_LOCK PORT_BASE)


require_tools taskset flock python3

ulimit -n "$NOFILE" 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
if (( $(ulimit -n) < FANOUT_SUBSCRIBERS + 100 )); then
    log "ulimit -n is $(ulimit -n) (hard limit $(ulimit -Hn)): too low for FANOUT_SUBSCRIBERS=$FANOUT_SUBSCRIBERS"
    exit 1
fi

# ---- build -------------------------------------------------------------------

KNOWN_SERVERS="courier courier-poll courier-awake hummingbird hummingbird-awake"
binary_of() {
    case "$(base_of "$1")" in
        courier) echo "${COURIER_BIN:-$HERE/courier/ChannelBench/.build/release/ChannelBench}" ;;
        hummingbird) echo "${HUMMINGBIRD_BIN:-$HERE/hummingbird/HBChannel/.build/release/HBChannel}" ;;
    esac
}
args_of() {
    case "$1" in
        courier) echo "--port $(port_of courier) --workers 1 --host 127.0.0.1" ;;
        courier-poll) echo "$(args_of courier) --busy-poll-us $BUSY_POLL_US" ;;
        courier-awake) args_of courier ;;
        hummingbird-awake) args_of hummingbird ;;
        hummingbird) echo "--port $(port_of hummingbird) --threads 1" ;;
    esac
}
build_server() {
    case "$1" in
        courier) build "$HERE/courier/ChannelBench" ChannelBench courier ;;
        hummingbird) build "$HERE/hummingbird/HBChannel" HBChannel hummingbird ;;
    esac
}
LOADER=${CHANNELLOAD_BIN:-$HERE/client/ChannelLoad/.build/release/ChannelLoad}

if [[ "$SKIP_BUILD" != 1 && -z "${CHANNELLOAD_BIN:-}" ]]; then
    build "$HERE/client/ChannelLoad" ChannelLoad channelload || exit 1
fi
[[ -x "$LOADER" ]] || { log "no load client at $LOADER"; exit 1; }

collect_servers

# ---- measuring ---------------------------------------------------------------

trap 'stop_server' EXIT
trap 'exit 130' INT TERM

# client ARGS...: ChannelLoad pinned to the client core. 9>&- : it must not hold the build lock.
client() {
    taskset -c "$CLIENT_CPU" "$LOADER" "$@" 9>&-
}

# answers SERVER: one channel opened and one message through it.
answers() {
    client probe --port "$(port_of "$1")" --kind "$(base_of "$1")" >/dev/null 2>&1
}

# shellcheck disable=SC2086
SOURCES_CSV=$(echo $SOURCES | tr ' ' ',')

# measure SERVER ROUND KIND: KIND is light, load or fanout.
measure() {
    local s=$1 round=$2 kind=$3 port f args
    port=$(port_of "$s")
    f="$LOGS/$kind-$s-r$round.log"
    case "$kind" in
        light) args="latency --clients $LIGHT_CLIENTS --rate $LIGHT_RATE --posters $POSTERS --drain $DRAIN" ;;
        load) args="latency --clients $LOAD_CLIENTS --rate $LOAD_RATE --posters $POSTERS --drain $DRAIN" ;;
        fanout) args="fanout --subscribers $FANOUT_SUBSCRIBERS --in-flight $IN_FLIGHT" ;;
    esac
    if [[ "$s" == *-* && " $VARIANT_RUNS " != *" $kind "* ]]; then return; fi
    start_server "$s" || return
    # shellcheck disable=SC2086
    if client $args --port "$port" --kind "$(base_of "$s")" --server-pid "$SERVER_PID" --size "$SIZE" \
            --warmup "$WARMUP" --duration "$DURATION" --sources "$SOURCES_CSV" >"$f" 2>"$f.err"; then
        record "$s" "$round" "$kind" "$f"
        log "  $(label "$s") $kind: $(awk -F= '$1 ~ /^(p50_us|p99_us|p999_us|rate|lost|publish_rate|fanout_p99_us|server_cpu|client_cpu)$/ {printf "%s=%s ", $1, $2}' "$f")"
        [[ -s "$f.err" ]] && log "  $(label "$s") $kind: $(tail -n 2 "$f.err")"
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
    for kind in $RUNS; do
        for s in "${rotated[@]}"; do measure "$s" "$round" "$kind"; done
    done
done
LOAD_AT_END=$(cut -d' ' -f1-3 /proc/loadavg)

if [[ "$HOLD_BUILD_LOCK" == 1 ]]; then
    exec 9>&-
fi

# ---- report ------------------------------------------------------------------

CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
[[ -z "$CPU_MODEL" ]] && CPU_MODEL=$(uname -m)
MACHINE="nproc $(nproc), $CPU_MODEL, Linux $(uname -r)"
SWIFT_VERSION=$(swift --version 2>/dev/null | head -1 | sed 's/.*Swift version \([^ ]*\).*/\1/')
NOTES_FILE="$HERE/NOTES.md"

AVAILABLE_LIST="${!AVAILABLE[*]}"
export RAW RESULTS_MD WRITE_RESULTS SERVERS AVAILABLE_LIST CMDLINE MACHINE LOAD_AT_START LOAD_AT_END SERVER_CPU CLIENT_CPU \
    SWIFT_VERSION ROUNDS LIGHT_CLIENTS LIGHT_RATE LOAD_CLIENTS LOAD_RATE FANOUT_SUBSCRIBERS IN_FLIGHT POSTERS SIZE WARMUP \
    DURATION DRAIN NOTES_FILE BUSY_POLL_US VARIANT_RUNS
python3 - <<'PY'
import statistics, sys, datetime, re, os

E = os.environ
raw_path, results_path, write = E["RAW"], E["RESULTS_MD"], E["WRITE_RESULTS"] == "1"
servers = E["SERVERS"].split()
def label(s):
    base, _, variant = s.partition("-")
    name = {"courier": "Courier", "hummingbird": "Hummingbird"}[base]
    return name + {"": "", "poll": " (busy poll)", "awake": " (core kept awake)"}[variant]
labels = {s: label(s) for s in servers}
# Ratio columns: each Courier against the Hummingbird run the same way, and busy-polling
# Courier also against Hummingbird with its core kept awake (the fairest pairing: neither
# pays for waking an idle core).
pairs = [(a, b) for a, b in (("courier", "hummingbird"), ("courier-poll", "hummingbird"),
                             ("courier-poll", "hummingbird-awake"), ("courier-awake", "hummingbird-awake"))
         if a in servers and b in servers]
available = set(E["AVAILABLE_LIST"].split())

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

def fmt_us(x):
    if x is None:
        return "n/a"
    return f"{x:,.0f} µs" if x < 10_000 else f"{x / 1000:,.0f} ms"

def fmt_rate(x):
    return "n/a" if x is None else f"{x:,.0f}/s"

lc, lr, Lc, Lr = int(E["LIGHT_CLIENTS"]), float(E["LIGHT_RATE"]), int(E["LOAD_CLIENTS"]), float(E["LOAD_RATE"])
fs, inflight, size = int(E["FANOUT_SUBSCRIBERS"]), int(E["IN_FLIGHT"]), int(E["SIZE"])
rows_spec = [
    (f"light ({lr:,.0f} msg/s over {lc:,} clients): POST → arrival p50", "light", "p50_us", fmt_us),
    ("light: p99", "light", "p99_us", fmt_us),
    ("light: p99.9", "light", "p999_us", fmt_us),
    ("light: POST written → arrival p99 (leaves out the client's own lateness)", "light", "from_send_p99_us", fmt_us),
    (f"load ({Lr:,.0f} msg/s over {Lc:,} clients): POST → arrival p50", "load", "p50_us", fmt_us),
    ("load: p99", "load", "p99_us", fmt_us),
    ("load: p99.9", "load", "p999_us", fmt_us),
    ("load: POST written → arrival p99 (leaves out the client's own lateness)", "load", "from_send_p99_us", fmt_us),
    ("load: the client's lateness in writing its POSTs, p99", "load", "send_late_p99_us", fmt_us),
    ("load: messages/s delivered (higher is better)", "load", "rate", fmt_rate),
    ("load: server CPU (cores)", "load", "server_cpu", lambda x: "n/a" if x is None else f"{x:.2f}"),
    (f"fan-out (1 topic, {fs:,} subscribers, {inflight} publishes in flight): delivered messages/s (higher is better)", "fanout", "rate", fmt_rate),
    ("fan-out: publishes/s", "fanout", "publish_rate", lambda x: "n/a" if x is None else f"{x:,.1f}/s"),
    ("fan-out: publish → arrival p99", "fanout", "fanout_p99_us", fmt_us),
]
head = ["measure"] + [labels[s] for s in servers] + [f"{labels[a]}/{labels[b]}" for a, b in pairs]
rows = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
for title, kind, key, fmt in rows_spec:
    if not any(values.get((s, kind, key)) for s in servers):
        continue
    cells = [title] + [fmt(median(s, kind, key)) for s in servers]
    cells += [ratio(median(a, kind, key), median(b, kind, key)) for a, b in pairs]
    rows.append("| " + " | ".join(cells) + " |")
table = "\n".join(rows)

goals = []
for a, b in pairs:
    c, h = median(a, "light", "p99_us"), median(b, "light", "p99_us")
    if c is not None and h is not None:
        goals.append(f"light-rate p99 at most half of Hummingbird's, {labels[a]} vs {labels[b]}: "
                     f"{'met' if c <= h / 2 else 'NOT met'} ({c:,.0f} µs vs {h:,.0f} µs)")
c = median("courier", "load", "p99_us")
if c is not None:
    goals.append(f"p99 under 1 ms at {Lr:,.0f} msg/s: {'met' if c < 1000 else 'NOT met'} ({fmt_us(c)})")
c = median("courier", "load", "from_send_p99_us")
if c is not None:
    goals.append(f"the same from the POST being written: {'met' if c < 1000 else 'NOT met'} ({fmt_us(c)})")
c = median("courier", "fanout", "rate")
if c is not None:
    goals.append(f"at least 1,000,000 delivered messages/s in fan-out: {'met' if c >= 1e6 else 'NOT met'} ({c:,.0f}/s)")

def per_round(s, kind, key, fmt):
    v = values.get((s, kind, key))
    return ", ".join(fmt(x) for x in v) if v else "n/a"

raw_lines = []
for s in servers:
    if not any(k[0] == s for k in values):
        continue
    L = labels[s]
    for kind in ("light", "load"):
        if not values.get((s, kind, "p50_us")):
            continue
        raw_lines.append(f"- {L} {kind} p50 / p99 / p99.9 / max µs: " + ", ".join(
            f"{a:,.0f} / {b:,.0f} / {c:,.0f} / {d:,.0f}" for a, b, c, d in zip(*(values.get((s, kind, k), []) for k in ("p50_us", "p99_us", "p999_us", "max_us")))))
        raw_lines.append(f"- {L} {kind} POST round trip p50 / p99 µs: " + ", ".join(
            f"{a:,.0f} / {b:,.0f}" for a, b in zip(*(values.get((s, kind, k), []) for k in ("post_p50_us", "post_p99_us")))))
        raw_lines.append(f"- {L} {kind} messages late past the drain (counted as lower bounds): " + per_round(s, kind, "missing_in_window", lambda x: f"{x:,.0f}"))
        raw_lines.append(f"- {L} {kind} CPU, server / client (cores): " + ", ".join(
            f"{a:.2f} / {b:.2f}" for a, b in zip(values.get((s, kind, "server_cpu"), []), values.get((s, kind, "client_cpu"), []))))
    if values.get((s, "fanout", "rate")):
        raw_lines.append(f"- {L} fan-out delivered/s: " + per_round(s, "fanout", "rate", lambda x: f"{x:,.0f}"))
        raw_lines.append(f"- {L} fan-out publishes/s: " + per_round(s, "fanout", "publish_rate", lambda x: f"{x:,.1f}"))
        raw_lines.append(f"- {L} fan-out publish → arrival p50 / p99 µs: " + ", ".join(
            f"{a:,.0f} / {b:,.0f}" for a, b in zip(*(values.get((s, "fanout", k), []) for k in ("fanout_p50_us", "fanout_p99_us")))))
        raw_lines.append(f"- {L} fan-out copies lost: " + per_round(s, "fanout", "lost", lambda x: f"{x:,.0f}"))
        raw_lines.append(f"- {L} fan-out CPU, server / client (cores): " + ", ".join(
            f"{a:.2f} / {b:.2f}" for a, b in zip(values.get((s, "fanout", "server_cpu"), []), values.get((s, "fanout", "client_cpu"), []))))
skipped = [labels[s] for s in servers if s not in available or not any(k[0] == s for k in values)]

now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
section = f"""## Channel (Benchmarks/channel/run.sh)

- Date: {now}
- Command: `{E["CMDLINE"]}`
- Machine: {E["MACHINE"]} (load average before measuring: {E["LOAD_AT_START"]}; after: {E["LOAD_AT_END"]})
- Setup: each server alone on core {E["SERVER_CPU"]} (`taskset -c {E["SERVER_CPU"]}`; Courier's `Benchmarks/channel/courier/ChannelBench`, `app.use(Channels(service))` with `--workers 1`; Hummingbird 2.28.1 + hummingbird-websocket 2.8.1 `Benchmarks/channel/hummingbird/HBChannel`, one NIO event loop thread, no WebSocket extensions, a `Mutex`-guarded dictionary client ID → `WebSocketOutboundWriter`), the load client ChannelLoad (Swift, epoll, HdrHistogram 0.2.0) on core {E["CLIENT_CPU"]}, loopback only (Swift {E["SWIFT_VERSION"]}, release builds). {E["ROUNDS"]} interleaved round(s), each server started afresh for each measurement; cells are medians over the rounds.
- Latency: the clients open their channels (Courier: token from `POST /token`, then the channel protocol over `/_ah/channel/ws`; Hummingbird: `/ws?c=ID`), then {E["WARMUP"]} s warm-up and {E["DURATION"]} s recorded of `POST /send?c=ID` with a {size}-byte body over {E["POSTERS"]} keep-alive connections (one request in flight on each), the target client round-robin. Each message is due at a fixed time on the schedule and carries it; latency runs from that time to the message's arrival at its client, so a POST that had to wait counts its wait (no coordinated omission). A message still missing {E["DRAIN"]} s after the run counts with that wait as a lower bound. The rows "POST written → arrival" time the same messages from the moment the client began writing their POST instead: the difference is the client's own lateness (its core taken by the host, or no free poster), shown as its own row.
- Variants, measured in the {E["VARIANT_RUNS"]} run(s) only: *busy poll* is the same Courier binary with `--busy-poll-us {E["BUSY_POLL_US"]}` (`ServerConfiguration.busyPollMicroseconds`: after a read the loop keeps polling, without sleeping, for that long, so its core stays busy and a message finds it awake); *core kept awake* runs a busy loop at nice 19 on the server's core beside the server, so the core never goes idle but the server still sleeps and is woken.
- Fan-out: {fs:,} clients subscribed to one topic (`POST /subscribe`), {inflight} `POST /publish` requests kept in flight for {E["WARMUP"]} s + {E["DURATION"]} s; the rate is the message frames that arrived at the clients during the {E["DURATION"]} s, and every copy is checked to arrive in the end.

{table}
"""
if goals:
    section += "\nGoals from the issue (Courier): " + "; ".join(goals) + ".\n"
if skipped:
    section += "\nNot measured (build failed or server did not come up): " + ", ".join(skipped) + ".\n"
section += "\n<details><summary>Each round</summary>\n\n" + "\n".join(raw_lines) + "\n\n</details>\n"
try:
    notes = open(E["NOTES_FILE"]).read().strip()
    section += "\n" + notes + "\n"
except FileNotFoundError:
    pass

print()
print(section)

if write:
    try:
        text = open(results_path).read()
    except FileNotFoundError:
        text = "# Benchmark results\n"
    pattern = re.compile(r"^## Channel \(Benchmarks/channel/run\.sh\)\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda m: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    text = text.rstrip("\n") + "\n"
    open(results_path, "w").write(text)
    print(f"[run.sh] wrote {results_path}", file=sys.stderr)
PY
