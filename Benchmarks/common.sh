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
stop_server() {
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
