# Benchmarks/common.sh: the shell the benchmark scripts (http, websocket, channel) share.
# Sourced after the script has set ROOT, LOGS and LOCK.

log() { printf '[run.sh] %s\n' "$*" >&2; }

# command_line SCRIPT VAR...: the command that reproduces this run, with the overrides given.
command_line() {
    local script=$1 line="" v val
    shift
    for v in "$@"; do
        if [[ -n "$(printenv "$v" 2>/dev/null)" ]]; then
            val=$(printenv "$v")
            [[ "$val" == *" "* ]] && val="\"$val\""
            line+="$v=$val "
        fi
    done
    echo "$line$script"
}

# require_tools TOOL...: exits naming the first one missing.
require_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { log "missing tool: $tool"; exit 1; }
    done
}

# build DIR PRODUCT NAME: one flock-wrapped release build, log in $LOGS.
build() {
    local dir=$1 product=$2 name=$3 blog="$LOGS/build-$3.log" rc
    log "building $product (log: ${blog#"$ROOT"/})"
    # SwiftPM reuses its cached build plan when no manifest changed, so a source file added to
    # Courier (a path dependency here) was not compiled into the benchmark; plan afresh.
    rm -f "$dir/.build/release.yaml" "$dir"/.build/*/release/description.json
    (cd "$dir" && flock "$LOCK" swift build -c release --product "$product") >"$blog" 2>&1
    rc=$?
    if [[ $rc -ne 0 ]]; then
        log "build of $product failed (exit $rc). Last lines of ${blog#"$ROOT"/}:"
        tail -n 15 "$blog" | sed 's/^/    /' >&2
        return 1
    fi
}

# stop_server: SIGTERM the server in $SERVER_PID, SIGKILL it after $STOP_SECONDS (default 10).
SERVER_PID=""
SPINNER_PID=""
stop_server() {
    if [[ -n "$SPINNER_PID" ]]; then
        kill "$SPINNER_PID" 2>/dev/null
        wait "$SPINNER_PID" 2>/dev/null
        SPINNER_PID=""
    fi
    [[ -z "$SERVER_PID" ]] && return
    local seconds=${STOP_SECONDS:-10}
    kill -TERM "$SERVER_PID" 2>/dev/null
    for _ in $(seq $((seconds * 10))); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        log "server $SERVER_PID ignored SIGTERM for $seconds s; sending SIGKILL"
        kill -KILL "$SERVER_PID" 2>/dev/null
    fi
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
}

# ---- the servers a run compares ------------------------------------------------
# A script defines binary_of NAME and args_of NAME, build_server NAME (builds it; non-zero on
# failure) and answers NAME (true when the server on NAME's port serves), and sets
# KNOWN_SERVERS; the rest is here.

# A server name may carry a variant: NAME-poll (run with busy polling, a script's args_of says
# how) or NAME-awake (a busy loop at nice 19 shares its core, so the core never goes idle: a
# diagnostic of what waking an idle vCPU costs). base_of strips the variant.
base_of() { echo "${1%%-*}"; }
label() {
    case "$1" in
        *-poll) echo "$(label "${1%-poll}") (busy poll)"; return ;;
        *-awake) echo "$(label "${1%-awake}") (core kept awake)"; return ;;
        *-metrics) echo "$(label "${1%-metrics}") (metrics on)"; return ;;
    esac
    case "$1" in
        courier) echo "Courier" ;;
        hummingbird) echo "Hummingbird" ;;
        floor) echo "C floor" ;;
    esac
}
port_of() {
    case "$(base_of "$1")" in
        courier) echo $((PORT_BASE)) ;;
        hummingbird) echo $((PORT_BASE + 1)) ;;
        floor) echo $((PORT_BASE + 2)) ;;
    esac
}
# bin_overridden NAME: its binary was given (COURIER_BIN, ...), so it is not built.
bin_overridden() {
    case "$(base_of "$1")" in
        courier) [[ -n "${COURIER_BIN:-}" ]] ;;
        hummingbird) [[ -n "${HUMMINGBIRD_BIN:-}" ]] ;;
        floor) [[ -n "${FLOOR_BIN:-}" ]] ;;
    esac
}

# collect_servers: AVAILABLE[NAME]=1 for each server of $SERVERS with a binary, building it
# first unless SKIP_BUILD=1 or its binary was given; one whose build fails is skipped. A
# variant shares its base's binary, built once.
declare -A AVAILABLE=()
collect_servers() {
    local s bin base
    local -A built=()
    for s in $SERVERS; do
        if [[ " $KNOWN_SERVERS " != *" $s "* ]]; then log "unknown server '$s' (know: $KNOWN_SERVERS)"; exit 1; fi
        base=$(base_of "$s")
        if [[ "$SKIP_BUILD" != 1 ]] && ! bin_overridden "$s"; then
            if [[ -z "${built[$base]:-}" ]]; then
                if build_server "$base"; then built[$base]=ok; else built[$base]=failed; fi
            fi
            [[ "${built[$base]}" == ok ]] || { log "SKIPPING $(label "$s")"; continue; }
        fi
        bin=$(binary_of "$s")
        if [[ -x "$bin" ]]; then
            AVAILABLE[$s]=1
        else
            log "SKIPPING $(label "$s"): no binary at $bin"
        fi
    done
    if [[ ${#AVAILABLE[@]} -eq 0 ]]; then
        log "no server to measure"
        exit 1
    fi
}

# start_server NAME: starts it pinned to $SERVER_CPU (SERVER_PID); non-zero unless it answers
# within 30 s, or when something else already answers on its port.
start_server() {
    local s=$1 port bin
    port=$(port_of "$s")
    bin=$(binary_of "$s")
    if answers "$s"; then
        log "port $port already answers before $(label "$s") started: something else is there"
        return 1
    fi
    # 9>&- : a server must not inherit the build lock held on fd 9.
    # shellcheck disable=SC2046
    taskset -c "$SERVER_CPU" "$bin" $(args_of "$s") >>"$LOGS/server-$s.log" 2>&1 9>&- &
    SERVER_PID=$!
    for _ in $(seq 300); do
        if answers "$s"; then
            if [[ "$s" == *-awake ]]; then
                taskset -c "$SERVER_CPU" nice -n 19 bash -c 'while :; do :; done' 9>&- &
                SPINNER_PID=$!
            fi
            return 0
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            log "$(label "$s") exited before answering (log: ${LOGS#"$ROOT"/}/server-$s.log):"
            tail -n 5 "$LOGS/server-$s.log" | sed 's/^/    /' >&2
            SERVER_PID=""
            return 1
        fi
        sleep 0.1
    done
    log "$(label "$s") did not answer on port $port within 30 s"
    stop_server
    return 1
}

# record SERVER ROUND KIND LOGFILE: appends the client's "key=value" lines to $RAW as
# "server round kind key value" rows.
record() {
    local s=$1 round=$2 kind=$3 file=$4
    awk -F= -v s="$s" -v r="$round" -v k="$kind" 'NF == 2 {printf "%s\t%s\t%s\t%s\t%s\n", s, r, k, $1, $2}' "$file" >>"$RAW"
}

# hold_build_lock: with HOLD_BUILD_LOCK=1, takes the swift build lock on fd 9 for the rest of
# the run, so no (flock-wrapped) build runs beside the measurements.
hold_build_lock() {
    [[ "$HOLD_BUILD_LOCK" == 1 ]] || return 0
    exec 9>"$LOCK"
    if ! flock -n 9; then
        log "waiting for $LOCK (a swift build is running)"
        flock 9
    fi
    log "holding $LOCK while measuring (HOLD_BUILD_LOCK=0 to not)"
}

# rotate_servers ROUND: rotated=(the available servers, in $SERVERS order turned by ROUND - 1),
# so no server always goes first.
rotate_servers() {
    local round=$1 order=() s i n
    for s in $SERVERS; do [[ -n "${AVAILABLE[$s]:-}" ]] && order+=("$s"); done
    n=${#order[@]}
    rotated=()
    for i in $(seq 0 $((n - 1))); do rotated+=("${order[$(( (i + round - 1) % n ))]}"); done
}
