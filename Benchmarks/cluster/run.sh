#!/usr/bin/env bash
# Benchmarks/cluster/run.sh: the Channel API across processes: NODES ChannelNode processes
# (Examples/ChannelNode, `--redis`, `--workers 1`, one shared data directory for the channel
# secret, each on its own port) on one real redis-server (its own port and temporary
# directory, `--save "" --appendonly no`), all on this machine, driven by the load client
# ChannelLoad (`--kind node --ports ...`) through the real protocol: GET /token?client=ID, then
# the channel's WebSocket (/_ah/channel/ws, the open frame), POST /send (form fields client,
# message; answered with the seq once Redis holds the message), /subscribe and /publish.
#
# Each measurement starts the whole cluster afresh (an empty Redis, new nodes) and stops it:
#   throughput  CLIENTS WebSocket clients spread over the nodes (client i on node i mod NODES);
#               POSTERS keep-alive connections (spread over the nodes) each keeping one POST
#               /send in flight (closed loop), the target client round-robin, the node posted
#               to moving on by one each round over the clients (a third of the messages to the
#               client's own node, the rest to the others); delivered messages/s counted at the
#               clients. Then, on the same Redis (database 1, nodes idle), Redis's own ceiling
#               for the same work: redis-benchmark running the engine's send script (SCRIPT LOAD
#               of the exact source in Sources/CourierRedis/ChannelScripts.swift, then EVALSHA
#               with the engine's arguments) over REDIS_CONNS connections, pipeline
#               REDIS_PIPELINE. The ratio is cluster / Redis.
#   batch       as throughput, with BATCH messages in each POST /send (for the next BATCH
#               clients in turn) over BATCH_POSTERS connections: each message still its own
#               send script, Pub/Sub message and frame; the HTTP cost shared. Ratio against the
#               same round's Redis ceiling.
#   latency     CLIENTS clients, LATENCY_RATE messages/s in all on a fixed schedule, each POSTed
#               to the node after the client's own (never the node it is connected to), over
#               LATENCY_POSTERS connections; latency from each message's scheduled time to its
#               arrival (no coordinated omission), p50/p99/p99.9.
#   fanout      FANOUT_SUBSCRIBERS clients spread over the nodes, subscribed to one topic
#               (POST /subscribe); POST /publish to the nodes in turn, FANOUT_IN_FLIGHT publishes
#               at a time (a publish counts until all its copies arrived: ChannelNode answers
#               /publish once Redis has run it); delivered messages/s. Then Redis's ceiling: the
#               engine's publish script by redis-benchmark over a topic of as many members
#               (database 1, FANOUT_IN_FLIGHT connections), copies/s = scripts/s x members.
# Every client checks its sequence numbers (each seq once, in order, exactly the messages
# acknowledged or published); a run where one is off is reported in the table.
#
# Prints a Markdown table of the medians over the rounds and writes it into
# Benchmarks/RESULTS.md under "## Cluster (Benchmarks/cluster/run.sh)" (that section is
# replaced; the others are kept), followed by Benchmarks/cluster/NOTES.md.
#
#   Benchmarks/cluster/run.sh                          # 3 rounds of 10 s (about 2.5 min)
#   ROUNDS=1 DURATION=3 WRITE_RESULTS=0 Benchmarks/cluster/run.sh    # quick look
#
# Environment:
#   ROUNDS=3                     rounds (each runs every measurement of RUNS once)
#   RUNS="throughput batch latency fanout"   which measurements, in this order
#   NODES=3                      ChannelNode processes
#   CLIENTS=300                  WebSocket clients of the throughput and latency runs
#   POSTERS=48                   keep-alive POST connections of the throughput run
#   BATCH=32 BATCH_POSTERS=12    the batch run: messages per POST /send, POST connections
#   REDIS_CONNS=$POSTERS REDIS_PIPELINE=16 REDIS_REQUESTS=200000   redis-benchmark, send script
#   LATENCY_RATE=5000 LATENCY_POSTERS=48   the latency run
#   LATENCY_SPIN=0               1: the load client spins between messages (a core of its own,
#                                which leaves the cluster one core of two); 0: it sleeps in
#                                epoll_pwait2 until the next message is due
#   FANOUT_SUBSCRIBERS=1000 FANOUT_IN_FLIGHT=16   the fan-out run (its Redis ceiling runs
#                                FANOUT_REDIS_REQUESTS publish scripts, default 300000 / subscribers)
#   SIZE=32                      bytes of each message
#   WARMUP=2 DURATION=10         seconds of each run (warm-up not counted)
#   DRAIN=10                     seconds a run waits at its end for messages still on their way
#   NODE_ARGS=""                 more ChannelNode arguments (e.g. "--busy-poll-us 20000")
#   QUIET_CORES=0.3 QUIET_WAIT=300   before each measurement, wait (at most QUIET_WAIT s) until
#                                other processes use less than QUIET_CORES of the machine over a
#                                second; what they take during a run is reported either way
#   NOFILE=65536                 ulimit -n wanted (the hard limit if lower)
#   SKIP_BUILD=1                 use the binaries already built
#   CHANNELNODE_BIN, CHANNELLOAD_BIN   use this binary instead (not built)
#   HOLD_BUILD_LOCK=1            hold /tmp/courier-swift-build.lock while measuring so no
#                                (flock-wrapped) swift build runs beside it; 0 = don't
#   WRITE_RESULTS=1              0 = print the table only, leave RESULTS.md alone
#   REPORT_ONLY=1                measure nothing: write the report of the last run again (its
#                                figures and settings, kept in Benchmarks/cluster/.build), e.g.
#                                after editing NOTES.md
#   PORT_BASE=18300              redis-server on PORT_BASE, the nodes on PORT_BASE+1...
#
# Nothing is pinned: Redis, the nodes, the load client and redis-benchmark share the machine's
# cores as the scheduler decides. Every process started is stopped on exit (also on Ctrl-C).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
RESULTS_MD=${RESULTS_MD:-"$ROOT/Benchmarks/RESULTS.md"}
LOCK=/tmp/courier-swift-build.lock
# shellcheck source=../common.sh
source "$ROOT/Benchmarks/common.sh"

ROUNDS=${ROUNDS:-3}
RUNS=${RUNS:-"throughput batch latency fanout"}
NODES=${NODES:-3}
CLIENTS=${CLIENTS:-300}
POSTERS=${POSTERS:-48}
BATCH=${BATCH:-32}
BATCH_POSTERS=${BATCH_POSTERS:-12}
REDIS_CONNS=${REDIS_CONNS:-$POSTERS}
REDIS_PIPELINE=${REDIS_PIPELINE:-16}
REDIS_REQUESTS=${REDIS_REQUESTS:-200000}
LATENCY_RATE=${LATENCY_RATE:-5000}
LATENCY_POSTERS=${LATENCY_POSTERS:-48}
LATENCY_SPIN=${LATENCY_SPIN:-0}
FANOUT_SUBSCRIBERS=${FANOUT_SUBSCRIBERS:-1000}
FANOUT_IN_FLIGHT=${FANOUT_IN_FLIGHT:-16}
FANOUT_REDIS_REQUESTS=${FANOUT_REDIS_REQUESTS:-$(( 300000 / FANOUT_SUBSCRIBERS > 20 ? 300000 / FANOUT_SUBSCRIBERS : 20 ))}
SIZE=${SIZE:-32}
WARMUP=${WARMUP:-2}
DURATION=${DURATION:-10}
DRAIN=${DRAIN:-10}
NODE_ARGS=${NODE_ARGS:-}
QUIET_CORES=${QUIET_CORES:-0.3}
QUIET_WAIT=${QUIET_WAIT:-300}
NOFILE=${NOFILE:-65536}
SKIP_BUILD=${SKIP_BUILD:-0}
HOLD_BUILD_LOCK=${HOLD_BUILD_LOCK:-1}
WRITE_RESULTS=${WRITE_RESULTS:-1}
REPORT_ONLY=${REPORT_ONLY:-0}
PORT_BASE=${PORT_BASE:-18300}

OUT="$HERE/.build"             # ignored by the repo's .gitignore (.build/)
LOGS="$OUT/logs"
mkdir -p "$LOGS"
RAW="$OUT/raw.tsv"
RUN_ENV="$OUT/run.env"
if [[ "$REPORT_ONLY" == 1 ]]; then
    [[ -s "$RAW" && -s "$RUN_ENV" ]] || { log "REPORT_ONLY=1: no earlier run in ${OUT#"$ROOT"/}"; exit 1; }
    # shellcheck disable=SC1090
    source "$RUN_ENV"
else
rm -f "$LOGS"/*.log "$LOGS"/*.log.err "$RUN_ENV"
: > "$RAW"

CMDLINE=$(command_line Benchmarks/cluster/run.sh ROUNDS RUNS NODES CLIENTS POSTERS BATCH BATCH_POSTERS REDIS_CONNS REDIS_PIPELINE REDIS_REQUESTS \
    LATENCY_RATE LATENCY_POSTERS LATENCY_SPIN FANOUT_SUBSCRIBERS FANOUT_IN_FLIGHT FANOUT_REDIS_REQUESTS SIZE WARMUP DURATION DRAIN NODE_ARGS \
    QUIET_CORES QUIET_WAIT NOFILE SKIP_BUILD CHANNELNODE_BIN CHANNELLOAD_BIN HOLD_BUILD_LOCK PORT_BASE)

require_tools redis-server redis-cli redis-benchmark curl flock python3

ulimit -n "$NOFILE" 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
if (( $(ulimit -n) < FANOUT_SUBSCRIBERS + CLIENTS + 200 )); then
    log "ulimit -n is $(ulimit -n) (hard limit $(ulimit -Hn)): too low for FANOUT_SUBSCRIBERS=$FANOUT_SUBSCRIBERS"
    exit 1
fi

# ---- build -------------------------------------------------------------------

NODE_BIN=${CHANNELNODE_BIN:-$ROOT/.build/release/ChannelNode}
LOADER=${CHANNELLOAD_BIN:-$ROOT/Benchmarks/channel/client/ChannelLoad/.build/release/ChannelLoad}
if [[ "$SKIP_BUILD" != 1 ]]; then
    if [[ -z "${CHANNELNODE_BIN:-}" ]]; then
        log "building ChannelNode (log: ${LOGS#"$ROOT"/}/build-channelnode.log)"
        if ! (cd "$ROOT" && flock "$LOCK" swift build -c release --product ChannelNode) >"$LOGS/build-channelnode.log" 2>&1; then
            log "build of ChannelNode failed:"; tail -n 15 "$LOGS/build-channelnode.log" | sed 's/^/    /' >&2; exit 1
        fi
    fi
    if [[ -z "${CHANNELLOAD_BIN:-}" ]]; then
        build "$ROOT/Benchmarks/channel/client/ChannelLoad" ChannelLoad channelload || exit 1
    fi
fi
[[ -x "$NODE_BIN" ]] || { log "no ChannelNode at $NODE_BIN"; exit 1; }
[[ -x "$LOADER" ]] || { log "no load client at $LOADER"; exit 1; }

# ---- the engine's scripts, as Redis gets them ----------------------------------

# The Lua source of a `static let NAME = RedisScript("""...""")` in ChannelScripts.swift, with
# the indentation of the closing delimiter stripped as Swift does; and its SHA-1, which is what
# the engine sends EVALSHA with.
extract_script() {
    python3 - "$ROOT/Sources/CourierRedis/ChannelScripts.swift" "$1" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r'static let ' + sys.argv[2] + r' = RedisScript\("""\n(.*?)\n([ ]*)"""\)', text, re.S)
if not m:
    sys.exit(f"no script {sys.argv[2]} in {sys.argv[1]}")
body, indent = m.group(1), m.group(2)
if "\\" in body:
    sys.exit("the script has a backslash escape: extract_script does not handle it")
lines = [l[len(indent):] if l.startswith(indent) else l.lstrip(" ") for l in body.split("\n")]
sys.stdout.write("\n".join(lines))
PY
}
extract_script send >"$OUT/send.lua" || exit 1
extract_script publish >"$OUT/publish.lua" || exit 1
SEND_SHA=$(sha1sum <"$OUT/send.lua" | cut -d' ' -f1)
PUBLISH_SHA=$(sha1sum <"$OUT/publish.lua" | cut -d' ' -f1)

# ---- the cluster ---------------------------------------------------------------

REDIS_PORT=$PORT_BASE
NODE_PORTS=()
for k in $(seq 1 "$NODES"); do NODE_PORTS+=($((PORT_BASE + k))); done
PORTS_CSV=$(IFS=,; echo "${NODE_PORTS[*]}")
TMP=$(mktemp -d /tmp/courier-cluster-bench.XXXXXX)
REDIS_PID=""
NODE_PIDS=()
# The load client or the redis-benchmark helper running now: started in the background and
# waited for, so that a signal runs the trap at once instead of after them.
CHILD_PID=""

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

stop_pid() {
    local pid=$1 seconds=$2
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq $((seconds * 10))); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "process $pid ignored SIGTERM for $seconds s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
}

stop_cluster() {
    local pid
    if [[ -n "$CHILD_PID" ]]; then stop_pid "$CHILD_PID" 5; CHILD_PID=""; fi
    for pid in "${NODE_PIDS[@]}"; do stop_pid "$pid" 15; done
    NODE_PIDS=()
    if [[ -n "$REDIS_PID" ]]; then stop_pid "$REDIS_PID" 10; REDIS_PID=""; fi
}

cleanup() {
    stop_cluster
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# busy_cores SECONDS: how many cores the machine kept busy over SECONDS (/proc/stat).
busy_cores() {
    python3 - "$1" <<'PY'
import os, sys, time
def busy():
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return f[0] + f[1] + f[2] + f[5] + f[6] + f[7]
b0, t0 = busy(), time.monotonic()
time.sleep(float(sys.argv[1]))
print(f"{(busy() - b0) / os.sysconf('SC_CLK_TCK') / (time.monotonic() - t0):.2f}")
PY
}

# wait_quiet: before a measurement (nothing of ours running), until other processes take less
# than QUIET_CORES, at most QUIET_WAIT seconds.
wait_quiet() {
    local start=$SECONDS busy
    while :; do
        busy=$(busy_cores 1)
        if python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)" "$busy" "$QUIET_CORES"; then
            (( SECONDS - start > 2 )) && log "  the machine is quiet again (other processes: $busy cores) after $((SECONDS - start)) s"
            return 0
        fi
        if (( SECONDS - start >= QUIET_WAIT )); then
            log "  other processes still take $busy cores after ${QUIET_WAIT} s of waiting; measuring anyway"
            return 0
        fi
        (( SECONDS - start < 2 )) && log "  other processes take $busy cores: waiting (at most $QUIET_WAIT s) for them to calm down"
        sleep 2
    done
}

# start_cluster NAME: an empty redis-server, then the nodes (the first alone, so that it writes
# the channel secret the others read). Non-zero when a part does not come up within 30 s.
start_cluster() {
    local name=$1 dir="$TMP/$1" port k pid
    wait_quiet
    for port in "$REDIS_PORT" "${NODE_PORTS[@]}"; do
        if port_busy "$port"; then log "port $port is already taken: PORT_BASE=... to move"; return 1; fi
    done
    mkdir -p "$dir/redis" "$dir/data"
    # 9>&- : no child may inherit the build lock held on fd 9.
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$dir/redis" --save "" --appendonly no \
        --daemonize no --logfile "" >"$LOGS/redis-$name.log" 2>&1 9>&- &
    REDIS_PID=$!
    for _ in $(seq 300); do
        [[ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]] && break
        kill -0 "$REDIS_PID" 2>/dev/null || { log "redis-server exited: $(tail -n 3 "$LOGS/redis-$name.log")"; REDIS_PID=""; return 1; }
        sleep 0.1
    done
    [[ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]] || { log "redis-server did not answer"; return 1; }
    for k in "${!NODE_PORTS[@]}"; do
        port=${NODE_PORTS[$k]}
        # shellcheck disable=SC2086
        "$NODE_BIN" --port "$port" --host 127.0.0.1 --workers 1 --redis "redis://127.0.0.1:$REDIS_PORT" \
            --data-dir "$dir/data" $NODE_ARGS >"$LOGS/node$((k + 1))-$name.log" 2>&1 9>&- &
        pid=$!
        NODE_PIDS+=("$pid")
        local up=0
        for _ in $(seq 300); do
            if curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1; then up=1; break; fi
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if [[ $up != 1 ]]; then
            log "node $((k + 1)) on port $port did not come up: $(tail -n 3 "$LOGS/node$((k + 1))-$name.log")"
            return 1
        fi
    done
}

CPU_PIDS=""
cpu_pids() {
    local k
    CPU_PIDS="redis:$REDIS_PID"
    for k in "${!NODE_PIDS[@]}"; do CPU_PIDS+=",node$((k + 1)):${NODE_PIDS[$k]}"; done
}

# in_background COMMAND...: runs it as CHILD_PID and waits for it; its exit status.
in_background() {
    "$@" &
    CHILD_PID=$!
    wait "$CHILD_PID"
    local rc=$?
    CHILD_PID=""
    return $rc
}

# client ARGS...: ChannelLoad (exec: run in the background, the subshell becomes ChannelLoad, so
# CHILD_PID is the client itself). 9>&- : it must not hold the build lock.
client() {
    exec "$LOADER" "$@" 9>&-
}

# The helper ceiling runs (a file: a command run in the background gets /dev/null for stdin).
cat >"$OUT/ceiling.py" <<'PY'
import os, resource, signal, subprocess, sys, time, csv, io
pid, args = sys.argv[1], sys.argv[2:]
child = None
def stop(*_):
    if child is not None:
        child.terminate()
    sys.exit(143)
signal.signal(signal.SIGTERM, stop)
tick = os.sysconf("SC_CLK_TCK")
def proc_ticks():
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])
def machine():
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return f[0] + f[1] + f[2] + f[5] + f[6] + f[7]
r0, m0, t0 = proc_ticks(), machine(), time.monotonic()
u0 = resource.getrusage(resource.RUSAGE_CHILDREN)
child = subprocess.Popen(["redis-benchmark"] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
stdout, stderr = child.communicate()
run = subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)
t1 = time.monotonic()
u1 = resource.getrusage(resource.RUSAGE_CHILDREN)
r1, m1 = proc_ticks(), machine()
sys.stderr.write(run.stderr)
if run.returncode != 0:
    sys.exit(f"redis-benchmark failed ({run.returncode}): {run.stdout[-500:]}")
rows = list(csv.reader(io.StringIO(run.stdout)))
data = [r for r in rows if r and r[0] != "test"]
if not data:
    sys.exit(f"no result from redis-benchmark: {run.stdout[-500:]}")
seconds = t1 - t0
print(f"rate={float(data[-1][1]):.0f}")
if len(data[-1]) > 4:
    print(f"p50_ms={data[-1][4]}")
print(f"seconds={seconds:.2f}")
print(f"redis_cpu={(r1 - r0) / tick / seconds:.2f}")
bench = (u1.ru_utime - u0.ru_utime) + (u1.ru_stime - u0.ru_stime)
print(f"bench_cpu={bench / seconds:.2f}")
print(f"cpu_machine={(m1 - m0) / tick / seconds:.2f}")
PY

# ceiling OUTFILE REDIS-BENCHMARK-ARGS...: (once the machine is quiet) runs redis-benchmark against the
# cluster's Redis and writes key=value lines: rate (requests/s, from --csv), redis_cpu and
# bench_cpu (cores while it ran), cpu_machine, seconds.
ceiling() {
    local out=$1
    shift
    wait_quiet
    in_background python3 "$OUT/ceiling.py" "$REDIS_PID" "$@" >"$out" 2>"$out.err" 9>&-
}

# script_check NAME SHA: whether the nodes ran the script whose source this script
# extracted (Redis holds it under that SHA-1 only then: the Redis is fresh and nothing else
# loaded it yet).
script_check() {
    local name=$1 sha=$2 answer
    answer=$(redis-cli -p "$REDIS_PORT" SCRIPT EXISTS "$sha" 2>&1)
    if [[ "$answer" == 1 ]]; then
        echo "script_${name}_matches=1"
    else
        log "  the nodes did not run the $name script extracted from ChannelScripts.swift (SCRIPT EXISTS $sha: $answer)"
        echo "script_${name}_matches=0"
    fi
}

# record_file KIND ROUND FILE
record_file() { record cluster "$2" "$1" "$3"; }

summary() {
    awk -F= '$1 ~ /^(rate|send_rate|p50_us|p99_us|p999_us|from_send_p99_us|send_late_p99_us|publish_rate|cpu_redis|cpus_total|client_cpu|cpu_machine|redis_cpu|bench_cpu|seq_duplicates|seq_gaps|seq_incomplete_clients|lost)$/ {printf "%s=%s ", $1, $2}' "$1"
}

run_client() {
    local f=$1
    shift
    in_background client "$@" >"$f" 2>"$f.err"
    local rc=$?
    echo "client_exit=$rc" >>"$f"
    [[ -s "$f.err" ]] && log "  ChannelLoad: $(tail -n 3 "$f.err")"
    return 0
}

measure_throughput() {
    local round=$1 f="$LOGS/throughput-r$1.log" g="$LOGS/redis-send-r$1.log"
    start_cluster "throughput-r$round" || { stop_cluster; return; }
    cpu_pids
    run_client "$f" throughput --kind node --ports "$PORTS_CSV" --clients "$CLIENTS" --posters "$POSTERS" \
        --size "$SIZE" --warmup "$WARMUP" --duration "$DURATION" --drain "$DRAIN" --cpu-pids "$CPU_PIDS"
    script_check send "$SEND_SHA" >>"$f"
    record_file throughput "$round" "$f"
    log "  cluster throughput: $(summary "$f")"
    local loaded text now
    loaded=$(redis-cli -p "$REDIS_PORT" SCRIPT LOAD "$(cat "$OUT/send.lua")")
    if [[ "$loaded" != "$SEND_SHA" ]]; then log "  SCRIPT LOAD answered $loaded, not $SEND_SHA"; fi
    text=$(python3 -c "import sys; n=int(sys.argv[1]); b='@'+'1'*19+'#'; print(b + ''.join(chr(97 + i % 26) for i in range(len(b), max(n, 21))))" "$SIZE")
    now=$(date +%s.%N | cut -c1-14)
    # The engine's arguments (ChannelScripts.send): KEYS meta, stream, owner; ARGV text, max
    # held count, key TTL, Pub/Sub channel, new epoch, now, idempotency key (none), its TTL.
    # Database 1 and client ID "rb": nothing the nodes hold or subscribe to (no owner: the
    # script also sets the keys' expiry, the costlier case).
    ceiling "$g" -p "$REDIS_PORT" --dbnum 1 -c "$REDIS_CONNS" -P "$REDIS_PIPELINE" -n "$REDIS_REQUESTS" --csv \
        EVALSHA "$SEND_SHA" 3 'courier:{rb}:meta' 'courier:{rb}:stream' 'courier:{rb}:owner' "$text" 1000 180 'courier:{rb}' \
        0123456789abcdef "$now" "" 180
    [[ -s "$g.err" ]] && log "  redis-benchmark: $(tail -n 2 "$g.err")"
    record_file redis-send "$round" "$g"
    log "  Redis ceiling (send script): $(summary "$g")"
    stop_cluster
}

# The same closed loop with BATCH messages per POST /send (for the next BATCH clients in turn):
# the HTTP cost of a message shared by BATCH, each message still its own send script in Redis,
# its own Pub/Sub message and its own frame. Its ratio is against the same round's ceiling.
measure_batch() {
    local round=$1 f="$LOGS/batch-r$1.log"
    start_cluster "batch-r$round" || { stop_cluster; return; }
    cpu_pids
    run_client "$f" throughput --kind node --ports "$PORTS_CSV" --clients "$CLIENTS" --posters "$BATCH_POSTERS" \
        --batch "$BATCH" --size "$SIZE" --warmup "$WARMUP" --duration "$DURATION" --drain "$DRAIN" --cpu-pids "$CPU_PIDS"
    record_file batch "$round" "$f"
    log "  cluster throughput, $BATCH messages per POST: $(summary "$f")"
    stop_cluster
}

measure_latency() {
    local round=$1 f="$LOGS/latency-r$1.log"
    start_cluster "latency-r$round" || { stop_cluster; return; }
    cpu_pids
    run_client "$f" latency --kind node --ports "$PORTS_CSV" --clients "$CLIENTS" --rate "$LATENCY_RATE" \
        --posters "$LATENCY_POSTERS" --post-offset 1 --spin "$LATENCY_SPIN" --size "$SIZE" --warmup "$WARMUP" --duration "$DURATION" \
        --drain "$DRAIN" --cpu-pids "$CPU_PIDS"
    record_file latency "$round" "$f"
    log "  latency: $(summary "$f")"
    stop_cluster
}

measure_fanout() {
    local round=$1 f="$LOGS/fanout-r$1.log" g="$LOGS/redis-publish-r$1.log"
    start_cluster "fanout-r$round" || { stop_cluster; return; }
    cpu_pids
    run_client "$f" fanout --kind node --ports "$PORTS_CSV" --subscribers "$FANOUT_SUBSCRIBERS" \
        --in-flight "$FANOUT_IN_FLIGHT" --size "$SIZE" --warmup "$WARMUP" --duration "$DURATION" --cpu-pids "$CPU_PIDS"
    script_check publish "$PUBLISH_SHA" >>"$f"
    record_file fanout "$round" "$f"
    log "  fan-out: $(summary "$f")"
    local loaded text now
    seq -f 'rb%.0f' 0 $((FANOUT_SUBSCRIBERS - 1)) | xargs -n 1000 redis-cli -p "$REDIS_PORT" -n 1 SADD courier:topic:rbfan >/dev/null
    # Each member has a session (a member without one leaves the set at the first publish).
    seq -f 'HSET courier:{rb%.0f}:meta epoch e top 0 delivered 0' 0 $((FANOUT_SUBSCRIBERS - 1)) \
        | redis-cli -p "$REDIS_PORT" -n 1 >/dev/null
    loaded=$(redis-cli -p "$REDIS_PORT" SCRIPT LOAD "$(cat "$OUT/publish.lua")")
    if [[ "$loaded" != "$PUBLISH_SHA" ]]; then log "  SCRIPT LOAD answered $loaded, not $PUBLISH_SHA"; fi
    text=$(python3 -c "import sys; n=int(sys.argv[1]); b='@'+'1'*19+'#'; print(b + ''.join(chr(97 + i % 26) for i in range(len(b), max(n, 21))))" "$SIZE")
    now=$(date +%s.%N | cut -c1-14)
    # ChannelScripts.publish: KEYS the topic's set, and it again (no idempotency key); ARGV
    # text, max held count, now, the key's TTL.
    ceiling "$g" -p "$REDIS_PORT" --dbnum 1 -c "$FANOUT_IN_FLIGHT" -P 1 -n "$FANOUT_REDIS_REQUESTS" --csv \
        EVALSHA "$PUBLISH_SHA" 2 courier:topic:rbfan courier:topic:rbfan "$text" 1000 "$now" 180
    echo "members=$(redis-cli -p "$REDIS_PORT" -n 1 SCARD courier:topic:rbfan)" >>"$g"
    [[ -s "$g.err" ]] && log "  redis-benchmark: $(tail -n 2 "$g.err")"
    record_file redis-publish "$round" "$g"
    log "  Redis ceiling (publish script): $(summary "$g") members=$FANOUT_SUBSCRIBERS"
    stop_cluster
}

hold_build_lock

LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "load average before measuring: $LOAD_AT_START; ulimit -n $(ulimit -n)"
STARTED=$(date +%s)
for round in $(seq "$ROUNDS"); do
    log "round $round/$ROUNDS"
    for kind in $RUNS; do
        case "$kind" in
            throughput) measure_throughput "$round" ;;
            batch) measure_batch "$round" ;;
            latency) measure_latency "$round" ;;
            fanout) measure_fanout "$round" ;;
            *) log "unknown run '$kind' (know: throughput batch latency fanout)"; exit 1 ;;
        esac
    done
done
LOAD_AT_END=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(( $(date +%s) - STARTED ))
trap - EXIT
cleanup
if [[ "$HOLD_BUILD_LOCK" == 1 ]]; then
    exec 9>&-
fi
MEASURED_AT=$(date -u '+%Y-%m-%d %H:%M UTC')
declare -p CMDLINE LOAD_AT_START LOAD_AT_END ELAPSED MEASURED_AT ROUNDS RUNS NODES CLIENTS POSTERS BATCH BATCH_POSTERS REDIS_CONNS REDIS_PIPELINE \
    REDIS_REQUESTS LATENCY_RATE LATENCY_POSTERS LATENCY_SPIN FANOUT_SUBSCRIBERS FANOUT_IN_FLIGHT FANOUT_REDIS_REQUESTS SIZE \
    WARMUP DURATION DRAIN NODE_ARGS >"$RUN_ENV"
fi   # REPORT_ONLY

# ---- report ------------------------------------------------------------------

CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
[[ -z "$CPU_MODEL" ]] && CPU_MODEL=$(uname -m)
MACHINE="nproc $(nproc), $CPU_MODEL, Linux $(uname -r)"
SWIFT_VERSION=$(swift --version 2>/dev/null | head -1 | sed 's/.*Swift version \([^ ]*\).*/\1/')
REDIS_VERSION=$(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/')
NOTES_FILE="$HERE/NOTES.md"

export RAW RESULTS_MD WRITE_RESULTS CMDLINE MEASURED_AT MACHINE LOAD_AT_START LOAD_AT_END ELAPSED SWIFT_VERSION REDIS_VERSION ROUNDS \
    NODES CLIENTS POSTERS BATCH BATCH_POSTERS REDIS_CONNS REDIS_PIPELINE REDIS_REQUESTS LATENCY_RATE LATENCY_POSTERS FANOUT_SUBSCRIBERS \
    FANOUT_IN_FLIGHT FANOUT_REDIS_REQUESTS SIZE WARMUP DURATION DRAIN NODE_ARGS NOTES_FILE
python3 - <<'PY'
import datetime, os, re, statistics, sys

E = os.environ
write = E["WRITE_RESULTS"] == "1"
nodes = int(E["NODES"])
values = {}
for line in open(E["RAW"]):
    _, rnd, kind, key, value = line.rstrip("\n").split("\t")
    try:
        values.setdefault((kind, key), []).append(float(value))
    except ValueError:
        pass

def all_of(kind, key):
    return values.get((kind, key), [])

def med(kind, key):
    v = all_of(kind, key)
    return statistics.median(v) if v else None

def node_cpu(kind):
    per_round = [sum(x) for x in zip(*(all_of(kind, f"cpu_node{k}") for k in range(1, nodes + 1)))]
    return per_round

def fmt_rate(x):
    return "n/a" if x is None else f"{x:,.0f}/s"

def fmt_us(x):
    if x is None:
        return "n/a"
    return f"{x:,.0f} µs" if x < 10_000 else f"{x / 1000:,.0f} ms"

def ratio(a, b):
    return "n/a" if a is None or not b else f"{a / b:.2f}"

def each(kind, key, fmt):
    v = all_of(kind, key)
    return ", ".join(fmt(x) for x in v) if v else "n/a"

def cpu_line(kind):
    rows = []
    for r, redis in enumerate(all_of(kind, "cpu_redis")):
        def at(key):
            v = all_of(kind, key)
            return v[r] if r < len(v) else float("nan")
        nodes_cpu = node_cpu(kind)
        n = nodes_cpu[r] if r < len(nodes_cpu) else float("nan")
        client, machine = at("client_cpu"), at("cpu_machine")
        rows.append(f"Redis {redis:.2f}, nodes {n:.2f}, client {client:.2f}, other processes {max(0.0, machine - redis - n - client):.2f}; machine {machine:.2f} of {os.cpu_count()}")
    return "; ".join(rows) if rows else "n/a"

def cpu_cell(kind):
    """Medians over the rounds of Redis / nodes / client / other processes, in cores."""
    redis, nodes_cpu, client, machine = all_of(kind, "cpu_redis"), node_cpu(kind), all_of(kind, "client_cpu"), all_of(kind, "cpu_machine")
    if not redis or not nodes_cpu or not client or not machine:
        return "n/a"
    # /proc/stat and the processes' own counters are read a moment apart: "other" can come out
    # a hair below zero.
    other = [max(0.0, m - r - n - c) for r, n, c, m in zip(redis, nodes_cpu, client, machine)]
    return " / ".join(f"{statistics.median(v):.2f}" for v in (redis, nodes_cpu, client, other))

def seq_cell(kind):
    dup, gaps, inc = all_of(kind, "seq_duplicates"), all_of(kind, "seq_gaps"), all_of(kind, "seq_incomplete_clients")
    if not dup:
        return "n/a"
    if sum(dup) + sum(gaps) + sum(inc) == 0:
        return "every seq exactly once, in order (all rounds)"
    return "; ".join(f"round {r + 1}: {d:.0f} duplicates, {g:.0f} seqs skipped, {i:.0f} clients incomplete"
                     for r, (d, g, i) in enumerate(zip(dup, gaps, inc)))

C, P, S, IF = int(E["CLIENTS"]), int(E["POSTERS"]), int(E["FANOUT_SUBSCRIBERS"]), int(E["FANOUT_IN_FLIGHT"])
LR = float(E["LATENCY_RATE"])
rows = []
goals = []
if all_of("throughput", "rate") or all_of("redis-send", "rate"):
    c, r = med("throughput", "rate"), med("redis-send", "rate")
    per_round = [a / b for a, b in zip(all_of("throughput", "rate"), all_of("redis-send", "rate")) if b]
    rows += [
        (f"end to end: messages/s delivered to {C:,} WebSocket clients on {nodes} nodes, {P} POST /send in flight (higher is better)", fmt_rate(c)),
        (f"Redis alone: the send script by redis-benchmark, {E['REDIS_CONNS']} connections, pipeline {E['REDIS_PIPELINE']} (scripts/s)", fmt_rate(r)),
        ("cluster / Redis (goal ≥ 0.5)", (f"{statistics.median(per_round):.2f}" if per_round else "n/a")),
        ("end to end: POST answered p50 / p99 (saturated)", f"{fmt_us(med('throughput', 'post_p50_us'))} / {fmt_us(med('throughput', 'post_p99_us'))}"),
        ("end to end: POST sent → message arrived p50 / p99 (saturated)", f"{fmt_us(med('throughput', 'e2e_p50_us'))} / {fmt_us(med('throughput', 'e2e_p99_us'))}"),
        (f"end to end: CPU in cores, Redis / {nodes} nodes / load client / other processes (of {os.cpu_count()})", cpu_cell("throughput")),
    ]
    if per_round:
        m = statistics.median(per_round)
        goals.append(f"cluster at least half of Redis's own ceiling: {'met' if m >= 0.5 else 'NOT met'} ({m:.2f})")
if all_of("batch", "rate"):
    B, BP = int(E["BATCH"]), int(E["BATCH_POSTERS"])
    c, r = med("batch", "rate"), med("redis-send", "rate")
    per_round = [a / b for a, b in zip(all_of("batch", "rate"), all_of("redis-send", "rate")) if b]
    rows += [
        (f"end to end, {B} messages per POST /send: messages/s delivered to {C:,} clients on {nodes} nodes, {BP} POSTs in flight (higher is better)", fmt_rate(c)),
        ("batched cluster / Redis (goal ≥ 0.5)", (f"{statistics.median(per_round):.2f}" if per_round else "n/a")),
        ("batched: POST sent → message arrived p50 / p99 (saturated)", f"{fmt_us(med('batch', 'e2e_p50_us'))} / {fmt_us(med('batch', 'e2e_p99_us'))}"),
        (f"batched: CPU in cores, Redis / {nodes} nodes / load client / other processes (of {os.cpu_count()})", cpu_cell("batch")),
    ]
    if per_round:
        m = statistics.median(per_round)
        goals.append(f"with {B} messages per POST, at least half of Redis's ceiling: {'met' if m >= 0.5 else 'NOT met'} ({m:.2f})")
if all_of("latency", "p50_us"):
    p99 = med("latency", "p99_us")
    rows += [
        (f"latency at {LR:,.0f} msg/s, POSTed to another node than the client's: scheduled → arrival p50", fmt_us(med("latency", "p50_us"))),
        ("latency: p99 (goal < 2 ms)", fmt_us(p99)),
        ("latency: p99.9", fmt_us(med("latency", "p999_us"))),
        ("latency: POST written → arrival p99 (leaves out the client's own lateness)", fmt_us(med("latency", "from_send_p99_us"))),
        ("latency: the client's lateness in writing its POSTs, p99", fmt_us(med("latency", "send_late_p99_us"))),
        ("latency: POST answered (the message held in Redis) p50 / p99", f"{fmt_us(med('latency', 'post_p50_us'))} / {fmt_us(med('latency', 'post_p99_us'))}"),
        (f"latency: CPU in cores, Redis / {nodes} nodes / load client / other processes (of {os.cpu_count()})", cpu_cell("latency")),
    ]
    goals.append(f"p99 under 2 ms at {LR:,.0f} msg/s across nodes: {'met' if p99 < 2000 else 'NOT met'} ({fmt_us(p99)})")
if all_of("fanout", "rate") or all_of("redis-publish", "rate"):
    c = med("fanout", "rate")
    members = med("redis-publish", "members") or S
    ceilings = [x * members for x in all_of("redis-publish", "rate")]
    r = statistics.median(ceilings) if ceilings else None
    per_round = [a / b for a, b in zip(all_of("fanout", "rate"), ceilings) if b]
    rows += [
        (f"fan-out: 1 topic, {S:,} subscribers on {nodes} nodes, {IF} publishes in flight: messages/s delivered (higher is better)", fmt_rate(c)),
        ("fan-out: publishes/s", "n/a" if med("fanout", "publish_rate") is None else f"{med('fanout', 'publish_rate'):,.1f}/s"),
        (f"Redis alone: the publish script by redis-benchmark over {members:,.0f} members, {IF} connections (copies/s = scripts/s × members)", fmt_rate(r)),
        ("fan-out cluster / Redis", f"{statistics.median(per_round):.2f}" if per_round else "n/a"),
        ("fan-out: publish sent → copy arrived p50 / p99", f"{fmt_us(med('fanout', 'fanout_p50_us'))} / {fmt_us(med('fanout', 'fanout_p99_us'))}"),
        (f"fan-out: CPU in cores, Redis / {nodes} nodes / load client / other processes (of {os.cpu_count()})", cpu_cell("fanout")),
    ]
table = "| measure | value |\n|---|---:|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows)

checks = []
for kind, label in (("throughput", "throughput"), ("batch", "batched throughput"), ("latency", "latency"), ("fanout", "fan-out")):
    if all_of(kind, "seq_duplicates"):
        checks.append(f"- Sequence check, {label}: {seq_cell(kind)}; messages lost: {each(kind, 'lost', lambda x: f'{x:,.0f}')}; "
                      f"ChannelLoad exit status: {each(kind, 'client_exit', lambda x: f'{x:.0f}')}")
for kind, key, label in (("throughput", "script_send_matches", "send"), ("fanout", "script_publish_matches", "publish")):
    v = all_of(kind, key)
    if v:
        checks.append(f"- The {label} script redis-benchmark ran is the one the nodes ran (Redis held its SHA-1 after the cluster run, before it was loaded): "
                      + ("yes, every round" if all(x == 1 for x in v) else "NO in some round"))

raw = []
if all_of("throughput", "rate"):
    raw += [f"- end to end delivered/s: {each('throughput', 'rate', lambda x: f'{x:,.0f}')}; POSTs answered/s: {each('throughput', 'answered_rate', lambda x: f'{x:,.0f}')}",
            f"- end to end CPU (cores, over the counted window): {cpu_line('throughput')}"]
if all_of("batch", "rate"):
    raw += [f"- batched delivered/s: {each('batch', 'rate', lambda x: f'{x:,.0f}')}; messages answered/s: {each('batch', 'answered_rate', lambda x: f'{x:,.0f}')}",
            f"- batched CPU (cores, over the counted window): {cpu_line('batch')}"]
if all_of("redis-send", "rate"):
    raw += [f"- Redis send-script ceiling/s: {each('redis-send', 'rate', lambda x: f'{x:,.0f}')}; CPU while it ran, Redis / redis-benchmark / machine: "
            + ", ".join(f"{a:.2f} / {b:.2f} / {c:.2f}" for a, b, c in zip(all_of('redis-send', 'redis_cpu'), all_of('redis-send', 'bench_cpu'), all_of('redis-send', 'cpu_machine')))]
if all_of("latency", "p50_us"):
    raw += ["- latency p50 / p99 / p99.9 / max µs: " + ", ".join(f"{a:,.0f} / {b:,.0f} / {c:,.0f} / {d:,.0f}" for a, b, c, d in zip(*(all_of("latency", k) for k in ("p50_us", "p99_us", "p999_us", "max_us")))),
            f"- latency messages/s delivered: {each('latency', 'rate', lambda x: f'{x:,.0f}')}; late past the drain: {each('latency', 'missing_in_window', lambda x: f'{x:,.0f}')}",
            f"- latency CPU: {cpu_line('latency')}"]
if all_of("fanout", "rate"):
    raw += [f"- fan-out delivered/s: {each('fanout', 'rate', lambda x: f'{x:,.0f}')}; publishes/s: {each('fanout', 'publish_rate', lambda x: f'{x:,.1f}')}",
            f"- fan-out CPU: {cpu_line('fanout')}"]
if all_of("redis-publish", "rate"):
    raw += [f"- Redis publish-script ceiling, scripts/s: {each('redis-publish', 'rate', lambda x: f'{x:,.1f}')}; CPU Redis / redis-benchmark / machine: "
            + ", ".join(f"{a:.2f} / {b:.2f} / {c:.2f}" for a, b, c in zip(all_of('redis-publish', 'redis_cpu'), all_of('redis-publish', 'bench_cpu'), all_of('redis-publish', 'cpu_machine')))]

now = E["MEASURED_AT"]
node_args = f" {E['NODE_ARGS']}" if E["NODE_ARGS"] else ""
section = f"""## Cluster (Benchmarks/cluster/run.sh)

- Date: {now} ({int(E['ELAPSED']) // 60} min {int(E['ELAPSED']) % 60} s of measuring)
- Command: `{E["CMDLINE"]}`
- Machine: {E["MACHINE"]} (load average before measuring: {E["LOAD_AT_START"]}; after: {E["LOAD_AT_END"]})
- Setup: {nodes} `Examples/ChannelNode` processes (`--workers 1 --redis redis://127.0.0.1:PORT --data-dir <one shared temporary directory>{node_args}`, each on its own port; each node talks to Redis from its server loop over that loop's command connection and subscriber, and from its engine's control loop for presence and node messages) on one `redis-server` {E["REDIS_VERSION"]} (`--save "" --appendonly no`, its own port and temporary directory), the load client ChannelLoad (Swift, epoll, one thread, `--kind node --ports ...`) and `redis-benchmark`, all on this machine, nothing pinned: they share its {os.cpu_count()} cores (Swift {E["SWIFT_VERSION"]}, release builds). Each measurement starts the cluster afresh (an empty Redis); {E["ROUNDS"]} round(s), cells are medians over the rounds. Every client opens its channel through the real protocol (GET /token?client=ID, WebSocket `/_ah/channel/ws`, the open frame) on node i mod {nodes}, and checks every `seq` it gets: each once, in order, and in the end exactly the messages the nodes acknowledged (POST /send answers the seq) or, in fan-out, one per publish.
- End to end: {C:,} clients; {P} keep-alive connections spread over the nodes, each keeping one `POST /send` (form fields client, message: {E["SIZE"]} bytes) in flight, answered once Redis holds the message; the target client round-robin, the node posted to moving on by one each round over the clients (a third of the messages to the client's own node, two thirds to another). {E["WARMUP"]} s warm-up, {E["DURATION"]} s counted: messages arrived at the clients per second. Redis's own ceiling for the same work, measured in the same run on the same Redis right after (database 1, the nodes idle): `redis-benchmark --dbnum 1 -c {E["REDIS_CONNS"]} -P {E["REDIS_PIPELINE"]} -n {int(E["REDIS_REQUESTS"]):,} EVALSHA <sha> 3 courier:{{rb}}:meta courier:{{rb}}:stream courier:{{rb}}:owner <text> 1000 180 courier:{{rb}} <epoch> <now> "" 180` after `SCRIPT LOAD` of the exact source in `Sources/CourierRedis/ChannelScripts.swift` (the engine's arguments; nobody subscribes to `courier:{{rb}}`).
- Batched: the same, with {E["BATCH"]} messages in each `POST /send` (repeated client and message fields, for the next {E["BATCH"]} clients in turn; answered with their seqs once Redis holds all of them) over {E["BATCH_POSTERS"]} connections: each message is still its own send script in Redis (pipelined), its own Pub/Sub message and its own frame, so the ceiling is the same; only the HTTP request is shared, as when an app sends to many clients from one request or one event.
- Latency: {C:,} clients; {LR:,.0f} messages/s in all on a fixed schedule, each `POST /send` to the node after the client's own (so every message crosses nodes through Redis Pub/Sub) over {E["LATENCY_POSTERS"]} keep-alive connections (one request in flight on each); latency from the message's scheduled time to its arrival at the client (no coordinated omission), {E["WARMUP"]} s warm-up, {E["DURATION"]} s recorded; a message still missing {E["DRAIN"]} s after the run would count with that wait.
- Fan-out: {S:,} clients subscribed to one topic (`POST /subscribe`, answered once Redis has the subscription), `POST /publish` to the nodes in turn with {IF} publishes in flight, a publish counting as in flight until all its copies arrived; copies arrived per second over {E["DURATION"]} s. Redis's ceiling: `redis-benchmark --dbnum 1 -c {IF} -P 1 -n {int(E["FANOUT_REDIS_REQUESTS"]):,} EVALSHA <sha> 2 courier:topic:rbfan courier:topic:rbfan <text> 1000 <now> 180` over a set of {S:,} members, each with a session (nobody subscribed to their channels).

{table}

Goals: {"; ".join(goals) if goals else "n/a"}.

{chr(10).join(checks)}

<details><summary>Each round</summary>

{chr(10).join(raw)}

</details>
"""
try:
    notes = open(E["NOTES_FILE"]).read().strip()
    section += "\n" + notes + "\n"
except FileNotFoundError:
    pass

print()
print(section)

if write:
    path = E["RESULTS_MD"]
    try:
        text = open(path).read()
    except FileNotFoundError:
        text = "# Benchmark results\n"
    pattern = re.compile(r"^## Cluster \(Benchmarks/cluster/run\.sh\)\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda m: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    text = text.rstrip("\n") + "\n"
    open(path, "w").write(text)
    print(f"[run.sh] wrote {path}", file=sys.stderr)
PY
