#!/usr/bin/env bash
# `make cluster`: Channel Tac Toe on three nodes behind nginx, channels in Redis.
#
#   redis-server on 127.0.0.1:$REDIS_PORT (data in $DIR/redis, no persistence: see
#     docs/channel-protocol.md for what "nothing lost" needs from Redis in production)
#   TicTacToe --redis ... on 127.0.0.1:8081, 8082, 8083, sharing $DIR/tictactoe.sqlite and
#     the secrets in $DIR
#   nginx on http://localhost:$PORT, round-robin over the three, WebSocket upgrade proxied,
#     no sticky sessions
#
# Kill a node to see the game go on: `kill -9 $(cat $DIR/node-8082.pid)`, and start it again
# with the command in $DIR/node-8082.cmd. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-8080}
REDIS_PORT=${REDIS_PORT:-6390}
DIR=${DIR:-courier-data/cluster}
NODES=${NODES:-"8081 8082 8083"}
BIN=${TICTACTOE_BIN:-.build/release/TicTacToe}
mkdir -p "$DIR/redis" "$DIR/nginx"
DIR=$(cd "$DIR" && pwd)

pids=()
stop() {
    trap - INT TERM EXIT
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap stop INT TERM EXIT

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$DIR/redis" --save "" --appendonly no \
    --daemonize no >"$DIR/redis/redis.log" 2>&1 &
pids+=($!)
redis_pid=$!
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

upstream=""
for node in $NODES; do
    cmd="$BIN --host 127.0.0.1 --port $node --redis redis://127.0.0.1:$REDIS_PORT --db $DIR/tictactoe.sqlite --data-dir $DIR"
    echo "$cmd" >"$DIR/node-$node.cmd"
    $cmd >"$DIR/node-$node.log" 2>&1 &
    pids+=($!)
    echo $! >"$DIR/node-$node.pid"
    upstream+="        server 127.0.0.1:$node max_fails=1 fail_timeout=2s;"$'\n'
done

cat >"$DIR/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $DIR/nginx/nginx.pid;
error_log $DIR/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $DIR/nginx/body;
    proxy_temp_path $DIR/nginx/proxy;
    fastcgi_temp_path $DIR/nginx/fastcgi;
    uwsgi_temp_path $DIR/nginx/uwsgi;
    scgi_temp_path $DIR/nginx/scgi;
    map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }
    upstream courier {
$upstream    }
    server {
        listen 127.0.0.1:$PORT;
        location / {
            proxy_pass http://courier;
            proxy_http_version 1.1;
            proxy_set_header Host \$http_host;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \$connection_upgrade;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_read_timeout 120s;
            proxy_next_upstream error timeout http_502 http_503;
        }
    }
}
CONF
nginx -c "$DIR/nginx/nginx.conf" -p "$DIR/nginx" &
pids+=($!)
nginx_pid=$!
echo "Channel Tac Toe on http://localhost:$PORT (nodes $NODES, Redis 127.0.0.1:$REDIS_PORT, data in $DIR)"
second=$(echo $NODES | cut -d' ' -f2)
echo "Kill a node mid-game: kill -9 \$(cat $DIR/node-$second.pid); restart it: \$(cat $DIR/node-$second.cmd) &"
# A node may be killed and restarted at will; the cluster ends with Redis or nginx.
wait -n "$redis_pid" "$nginx_pid" || true
echo "redis-server or nginx exited; stopping the rest" >&2
