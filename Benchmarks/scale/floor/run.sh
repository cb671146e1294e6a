#!/usr/bin/env bash
# Benchmarks/scale/floor/run.sh: the C floor (raw epoll, no framework) for two goals of the scale
# benchmark: a topic publish to N clients in < 250 ms, and idle CPU < 5% at 100,000 (the pings).
# README.md next to this says what is measured and how; floor.c's header says the same in short.
#
#   Benchmarks/scale/floor/run.sh                     # everything (about 10 min of measuring)
#   NS="19000" REPS=1 RATES="0,1000" Benchmarks/scale/floor/run.sh   # quick look
#
# Environment:
#   NS="19000 50000 100000"   publish: N clients; S = 1 server process up to 19,000, else SERVERS
#   SERVERS=6                 server processes (one port, SO_REUSEPORT) above 19,000
#   REPS=3 ROUNDS=3           publish: REPS fresh runs of ROUNDS publishes each, per N
#   PING_RUNS="100000:6:10 100000:6:100 19000:1:10"   ping: N:S:TICK_MS (the servers send the pings
#                             that are due every TICK_MS: 10 = spread evenly, 100 = in bursts)
#   RATES="0,1000,3000,4000,6000"  ping: exchanges a second in all (0 = connections idle, no pings)
#   WINDOW=20                 ping: seconds of measuring per rate (after 2 s of settling)
#   PORT_BASE=24200           one port per run (PORT_BASE, PORT_BASE+1, ...)
#   LOCK=/tmp/courier-swift-build.lock   each measuring run holds this lock (no Swift build meanwhile)
# The raw key=value lines go to .build/results-<UTC time>.txt; the tables to stdout.
set -euo pipefail
cd "$(dirname "$0")"
NS=${NS:-"19000 50000 100000"}
SERVERS=${SERVERS:-6}
REPS=${REPS:-3}
ROUNDS=${ROUNDS:-3}
PING_RUNS=${PING_RUNS:-"100000:6:10 100000:6:100 19000:1:10"}
RATES=${RATES:-"0,1000,3000,4000,6000"}
WINDOW=${WINDOW:-20}
PORT_BASE=${PORT_BASE:-24200}
LOCK=${LOCK:-/tmp/courier-swift-build.lock}

mkdir -p .build
gcc -O2 -Wall -Wextra -o .build/floor floor.c
stamp=$(date -u +%Y%m%dT%H%M%SZ)
raw=.build/results-$stamp.txt
port=$PORT_BASE
measure() { # runs one measurement holding the lock; raw lines go to $raw and stderr
    echo "# uptime before: $(uptime)" >>"$raw"
    flock "$LOCK" timeout 290 ./.build/floor "$@" | tee -a "$raw" >&2
    echo "# uptime after: $(uptime)" >>"$raw"
    port=$((port + 1))
}

echo "# $(date -u '+%Y-%m-%d %H:%M UTC') $(uname -r), $(nproc) cores; sysctl: $(sysctl -n net.core.somaxconn) somaxconn," \
     "ports $(sysctl -n net.ipv4.ip_local_port_range | tr '\t' -), $(sysctl -n net.ipv4.tcp_max_syn_backlog) syn backlog" >"$raw"
for n in $NS; do
    s=$SERVERS; [ "$n" -le 19000 ] && s=1
    for _ in $(seq "$REPS"); do measure publish "$n" "$s" "$ROUNDS" "$port"; done
done
for run in $PING_RUNS; do
    IFS=: read -r n s t <<<"$run"
    measure ping "$n" "$s" "$RATES" "$WINDOW" "$port" "${t:-10}"
done

# ---- tables ----
kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; } # the value of key $1 on each line
median() { sort -n | awk '{v[NR]=$1} END {if (NR==0) print "-"; else if (NR%2) print v[(NR+1)/2]; else printf "%.1f\n", (v[NR/2]+v[NR/2+1])/2}'; }
best() { sort -n | head -1; }
worst() { sort -n | tail -1; }

echo
echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); raw lines: Benchmarks/scale/floor/$raw"
echo "$(grep '^# uptime' "$raw" | head -1 | sed 's/^# //')"
echo "$(grep '^# uptime' "$raw" | tail -1 | sed 's/^# //')"
echo
echo "**Publish: one 80-byte frame to each of N connections, trigger → last client has read it** ($REPS runs × $ROUNDS publishes per N)"
echo
echo "| N | server processes | client processes | publishes | median ms | best ms | worst ms | slowest server's write loop, median ms | server CPU per publish, median ms | client CPU per publish, median ms | server CPU per frame, µs | machine busy per publish, median ms |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for n in $NS; do
    lines=$(grep "^publish N=$n " "$raw" || true)
    [ -z "$lines" ] && continue
    cnt=$(echo "$lines" | wc -l)
    s=$(echo "$lines" | head -1 | sed -n 's/.* S=\([0-9]*\).*/\1/p'); c=$(echo "$lines" | head -1 | sed -n 's/.* C=\([0-9]*\).*/\1/p')
    med=$(echo "$lines" | kv complete_ms | median); b=$(echo "$lines" | kv complete_ms | best); w=$(echo "$lines" | kv complete_ms | worst)
    wl=$(echo "$lines" | kv server_write_loop_ms | median)
    sc=$(echo "$lines" | kv cpu_servers_ms | median); cc=$(echo "$lines" | kv cpu_clients_ms | median)
    per=$(awk -v ms="$sc" -v n="$n" 'BEGIN {printf "%.1f", ms * 1000 / n}')
    mb=$(echo "$lines" | kv machine_busy_ms | median)
    echo "| $n | $s | $c | $cnt | $med | $b | $w | $wl | $sc | $cc | $per | $mb |"
done
echo
echo "**Pings: R exchanges a second in all (server writes a 2-byte ping, client answers a 6-byte masked pong, server reads it); ${WINDOW} s window per rate**"
echo
echo "| N | server processes | tick ms | target/s | measured exchanges/s | servers' CPU, % of a core (utime+stime) | server µs per exchange | server µs per exchange above idle | clients' CPU, % of a core | client µs per exchange | server wakeups/s | machine busy, % of a core (/proc/stat) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for run in $PING_RUNS; do
    IFS=: read -r n s t <<<"$run"; t=${t:-10}
    lines=$(grep "^ping N=$n S=$s .* tick_ms=$t " "$raw" || true)
    idle=$(echo "$lines" | grep ' rate=0 ' | kv server_cpu_pct | head -1); idle=${idle:-0}
    echo "$lines" | while read -r l; do
        [ -z "$l" ] && continue
        r=$(echo "$l" | kv rate); ex=$(echo "$l" | kv exchanges_per_s)
        sp=$(echo "$l" | kv server_cpu_pct); su=$(echo "$l" | kv server_us_per_exchange)
        cp=$(echo "$l" | kv client_cpu_pct); cu=$(echo "$l" | kv client_us_per_exchange); mp=$(echo "$l" | kv machine_busy_pct); wk=$(echo "$l" | kv server_wakeups_per_s)
        marg=$(awk -v p="$sp" -v i="$idle" -v e="$ex" 'BEGIN {if (e > 0) printf "%.1f", (p - i) / 100 * 1e6 / e; else print "-"}')
        [ "$r" = 0 ] && su=- && cu=-
        echo "| $n | $s | $t | $r | $ex | $sp | $su | $marg | $cp | $cu | $wk | $mp |"
    done
done
