#!/usr/bin/env bash
# Benchmarks/http/run.sh: Courier's Hello vs Hummingbird vs a C libuv floor.
#
# Builds the three servers (release), then runs interleaved rounds: in each
# round, for each server in turn, start it pinned to one core, wait until it
# answers, warm it up, run wrk pinned to the other core against every
# (route, connections) pair, and stop it. Prints a Markdown table of the
# median Requests/sec per (server, route, connections) with the ratios
# Courier/Hummingbird and Courier/C-floor, and writes it into
# Benchmarks/RESULTS.md under "## HTTP (Benchmarks/http/run.sh)" (that section
# is replaced; the other sections are kept).
#
#   Benchmarks/http/run.sh                         # 3 rounds x 10s
#   ROUNDS=1 DURATION=3s Benchmarks/http/run.sh    # quick look
#
# Environment:
#   ROUNDS=3            rounds; each server is started once per round
#   DURATION=10s        wrk -d for each measurement
#   CONNS="64 256"      wrk -c values
#   ROUTES="plaintext json"
#   WARMUP=2s           wrk run after each start, not measured (0 to skip)
#   SERVERS="courier hummingbird floor"   which servers, and their order; add
#                       courier-metrics for Hello with `--metrics` (Metrics added), and
#                       the table gets a "metrics on/off" column
#                       (ROUNDS=3 DURATION=5s SERVERS="courier courier-metrics floor")
#   SERVER_CPU=0 CLIENT_CPU=1             taskset cores for server and wrk
#   SKIP_BUILD=1        use the binaries already built
#   COURIER_BIN, HUMMINGBIRD_BIN, FLOOR_BIN
#                       measure this binary instead (not built), e.g. a saved
#                       baseline build of Hello; it gets the same arguments
#   HOLD_BUILD_LOCK=1   hold /tmp/courier-swift-build.lock while measuring so
#                       no (flock-wrapped) swift build runs beside wrk; 0 = don't
#   WRITE_RESULTS=1     0 = print the table only, leave RESULTS.md alone
#   PORT_BASE=18080     courier PORT_BASE, hummingbird +1, floor +2
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
DURATION=${DURATION:-10s}
CONNS=${CONNS:-"64 256"}
ROUTES=${ROUTES:-"plaintext json"}
WARMUP=${WARMUP:-2s}
SERVERS=${SERVERS:-"courier hummingbird floor"}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
SKIP_BUILD=${SKIP_BUILD:-0}
HOLD_BUILD_LOCK=${HOLD_BUILD_LOCK:-1}
WRITE_RESULTS=${WRITE_RESULTS:-1}
PORT_BASE=${PORT_BASE:-18080}

OUT="$HERE/.build"             # ignored by the repo's .gitignore (.build/)
LOGS="$OUT/logs"
mkdir -p "$LOGS"
rm -f "$LOGS"/server-*.log "$LOGS"/wrk-*.log
RAW="$OUT/raw.tsv"
: > "$RAW"

# Reconstruct the command line for the report, with the overrides given.
CMDLINE=$(command_line Benchmarks/http/run.sh ROUNDS DURATION CONNS ROUTES WARMUP SERVERS SERVER_CPU CLIENT_CPU SKIP_BUILD COURIER_BIN HUMMINGBIRD_BIN FLOOR_BIN HOLD_BUILD_LOCK PORT_BASE)


require_tools wrk taskset curl gcc pkg-config python3

# ---- servers -----------------------------------------------------------------

KNOWN_SERVERS="courier courier-metrics hummingbird floor"
binary_of() {
    case "$1" in
        courier|courier-metrics) echo "${COURIER_BIN:-$ROOT/.build/release/Hello}" ;;
        hummingbird) echo "${HUMMINGBIRD_BIN:-$HERE/hummingbird/HBHello/.build/release/HBHello}" ;;
        floor) echo "${FLOOR_BIN:-$OUT/floor}" ;;
    esac
}
args_of() {
    case "$1" in
        courier) echo "--port $(port_of courier) --workers 1" ;;
        courier-metrics) echo "--port $(port_of courier) --workers 1 --metrics" ;;
        hummingbird) echo "--port $(port_of hummingbird)" ;;
        floor) echo "--port $(port_of floor)" ;;
    esac
}

build_server() {
    local blog="$LOGS/build-floor.log"
    case "$1" in
        courier) build "$ROOT" Hello courier ;;
        hummingbird) build "$HERE/hummingbird/HBHello" HBHello hummingbird ;;
        floor)
            log "building the C floor (log: ${blog#"$ROOT"/})"
            # shellcheck disable=SC2046
            gcc -O2 -Wall -o "$OUT/floor" "$HERE/cfloor/floor.c" $(pkg-config --cflags --libs libuv) >"$blog" 2>&1 || {
                log "build of the C floor failed. Last lines of ${blog#"$ROOT"/}:"
                tail -n 15 "$blog" | sed 's/^/    /' >&2
                return 1
            } ;;
    esac
}

collect_servers

# ---- measuring ---------------------------------------------------------------

STOP_SECONDS=5
trap 'stop_server' EXIT
trap 'exit 130' INT TERM

# answers SERVER: it serves /plaintext.
answers() {
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$(port_of "$1")/plaintext"
}

# Check status and body of each route once; a wrong body is only warned about.
check_routes() {
    local s=$1 port route out code body
    port=$(port_of "$s")
    for route in $ROUTES; do
        out=$(curl -s --max-time 2 -w '\n%{http_code}' "http://127.0.0.1:$port/$route")
        code=${out##*$'\n'}
        body=${out%$'\n'*}
        if [[ "$code" != 200 ]]; then
            log "$(label "$s") answered $code on /$route; not measuring it this round"
            return 1
        fi
        case "$route" in
            plaintext) [[ "$body" == "Hello, World!" ]] || log "WARNING: $(label "$s") /plaintext body is '$body'" ;;
            json) python3 -c 'import json,sys; sys.exit(json.loads(sys.argv[1]) != {"message": "Hello, World!"})' "$body" 2>/dev/null \
                    || log "WARNING: $(label "$s") /json body is '$body'" ;;
        esac
    done
}

# run_wrk SERVER ROUTE CONNS ROUND -> appends a row to $RAW
run_wrk() {
    local s=$1 route=$2 c=$3 round=$4 port wlog rps errors
    port=$(port_of "$s")
    wlog="$LOGS/wrk-$s-$route-c$c-r$round.log"
    taskset -c "$CLIENT_CPU" wrk -t1 -c"$c" -d"$DURATION" "http://127.0.0.1:$port/$route" >"$wlog" 2>&1 9>&-
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$wlog")
    # Socket errors and non-2xx/3xx responses, summed (0 when wrk reports none).
    errors=$(awk '/Socket errors:/ {gsub(/,/, ""); n += $4 + $6 + $8 + $10}
                  /Non-2xx or 3xx responses:/ {n += $5}
                  END {print n + 0}' "$wlog")
    if [[ -z "$rps" ]]; then
        log "wrk gave no Requests/sec for $(label "$s") /$route -c$c (log: ${wlog#"$ROOT"/})"
        return
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$route" "$c" "$round" "$rps" "$errors" >>"$RAW"
    printf '[run.sh]   %-12s /%-10s -c%-4s %12s req/s%s\n' "$(label "$s")" "$route" "$c" "$rps" \
        "$([[ "$errors" != 0 ]] && echo "  ($errors errors)")" >&2
}

hold_build_lock

LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "load average before measuring: $LOAD_AT_START"

for round in $(seq "$ROUNDS"); do
    rotate_servers "$round"
    log "round $round/$ROUNDS: ${rotated[*]}"
    for s in "${rotated[@]}"; do
        start_server "$s" || continue
        if check_routes "$s"; then
            if [[ "$WARMUP" != 0 && "$WARMUP" != 0s ]]; then
                max_c=$(tr ' ' '\n' <<<"$CONNS" | sort -n | tail -1)
                taskset -c "$CLIENT_CPU" wrk -t1 -c"$max_c" -d"$WARMUP" "http://127.0.0.1:$(port_of "$s")/plaintext" >/dev/null 2>&1 9>&-
            fi
            for c in $CONNS; do
                for route in $ROUTES; do
                    run_wrk "$s" "$route" "$c" "$round"
                done
            done
        fi
        stop_server
    done
done

if [[ "$HOLD_BUILD_LOCK" == 1 ]]; then
    exec 9>&-
fi

# ---- report ------------------------------------------------------------------

CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
[[ -z "$CPU_MODEL" ]] && CPU_MODEL=$(uname -m)
MACHINE="nproc $(nproc), $CPU_MODEL, Linux $(uname -r)"
WRK_VERSION=$(wrk --version 2>&1 | head -1 | awk '{print $2}')
LIBUV_VERSION=$(pkg-config --modversion libuv)
SWIFT_VERSION=$(swift --version 2>/dev/null | head -1 | sed 's/.*Swift version \([^ ]*\).*/\1/')

AVAILABLE_LIST="${!AVAILABLE[*]}"
export RAW RESULTS_MD WRITE_RESULTS SERVERS ROUTES CONNS AVAILABLE_LIST CMDLINE MACHINE LOAD_AT_START \
    SERVER_CPU CLIENT_CPU LIBUV_VERSION DURATION WRK_VERSION SWIFT_VERSION ROUNDS WARMUP
python3 - <<'PY'
import statistics, sys, datetime, re, os

E = os.environ
raw_path, results_path, write = E["RAW"], E["RESULTS_MD"], E["WRITE_RESULTS"] == "1"
servers = E["SERVERS"].split()
routes = E["ROUTES"].split()
conns = E["CONNS"].split()
labels = {"courier": "Courier", "courier-metrics": "Courier (metrics on)", "hummingbird": "Hummingbird", "floor": "C floor"}
available = set(E["AVAILABLE_LIST"].split())

runs = {}
errors = {}
for line in open(raw_path):
    s, route, c, rnd, rps, err = line.rstrip("\n").split("\t")
    runs.setdefault((s, route, c), []).append(float(rps))
    errors[(s, route, c)] = errors.get((s, route, c), 0) + int(err)

def median(s, route, c):
    v = runs.get((s, route, c))
    return statistics.median(v) if v else None

def fmt(x):
    return "n/a" if x is None else f"{x:,.0f}"

def ratio(a, b):
    return "n/a" if a is None or b is None or b == 0 else f"{a / b:.2f}x"

shown = [s for s in servers if s in labels]
head = ["route", "conns"] + [labels[s] for s in shown]
if "courier" in shown and "hummingbird" in shown:
    head.append("Courier/Hummingbird")
if "courier" in shown and "floor" in shown:
    head.append("Courier/C floor")
if "courier" in shown and "courier-metrics" in shown:
    head.append("metrics on/off")
rows = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + "|"]
for route in routes:
    for c in conns:
        cells = [f"/{route}", c]
        for s in shown:
            m = median(s, route, c)
            cell = fmt(m)
            if m is not None and errors.get((s, route, c), 0):
                cell += f" ({errors[(s, route, c)]} errors)"
            cells.append(cell)
        cm = median("courier", route, c)
        if "courier" in shown and "hummingbird" in shown:
            cells.append(ratio(cm, median("hummingbird", route, c)))
        if "courier" in shown and "floor" in shown:
            cells.append(ratio(cm, median("floor", route, c)))
        if "courier" in shown and "courier-metrics" in shown:
            cells.append(ratio(median("courier-metrics", route, c), cm))
        rows.append("| " + " | ".join(cells) + " |")
table = "\n".join(rows)

raw_lines = []
for s in shown:
    for route in routes:
        for c in conns:
            v = runs.get((s, route, c))
            if v:
                raw_lines.append(f"- {labels[s]} /{route} -c{c}: " + ", ".join(f"{x:,.0f}" for x in v))
skipped = [labels[s] for s in shown if s not in available or not any(k[0] == s for k in runs)]

now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
section = f"""## HTTP (Benchmarks/http/run.sh)

- Date: {now}
- Command: `{E["CMDLINE"]}`
- Machine: {E["MACHINE"]} (load average before measuring: {E["LOAD_AT_START"]})
- Setup: each server alone on core {E["SERVER_CPU"]} (`taskset -c {E["SERVER_CPU"]}`; Courier `--workers 1`, Hummingbird 2.28.1 with one NIO event loop thread, the C floor single-threaded libuv {E["LIBUV_VERSION"]}), `taskset -c {E["CLIENT_CPU"]} wrk -t1 -cN -d{E["DURATION"]}` on loopback (wrk {E["WRK_VERSION"]}, Swift {E["SWIFT_VERSION"]}, release builds). {E["ROUNDS"]} interleaved round(s), each server restarted and warmed up ({E["WARMUP"]}) every round; cells are the median Requests/sec over the rounds.

{table}
"""
if skipped:
    section += "\nNot measured (build failed or server did not come up): " + ", ".join(skipped) + ".\n"
section += "\n<details><summary>Requests/sec of each round</summary>\n\n" + "\n".join(raw_lines) + "\n\n</details>\n"

print()
print(section)

if write:
    try:
        text = open(results_path).read()
    except FileNotFoundError:
        text = "# Benchmark results\n"
    # Replace from our heading up to the next level-2 heading (or the end).
    pattern = re.compile(r"^## HTTP \(Benchmarks/http/run\.sh\)\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda m: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    text = text.rstrip("\n") + "\n"
    open(results_path, "w").write(text)
    print(f"[run.sh] wrote {results_path}", file=sys.stderr)
PY
