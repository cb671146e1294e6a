#!/usr/bin/env bash
# Multi-node tests: ChannelNode (and TicTacToe) processes on a real redis-server behind a real nginx
# (round robin, no sticky sessions), driven by Python channel clients and headless Chromium. Nodes
# are SIGKILLed, SIGSTOPped, SIGTERMed in turn; Redis has its Pub/Sub connections killed and is
# restarted empty. Installs what is missing (apt: redis-server nginx chromium chromium-driver; pip:
# pytest websockets selenium), builds nothing: point CHANNELNODE_BIN and TICTACTOE_BIN at built
# binaries (defaults .build/debug/ChannelNode and .build/debug/TicTacToe, relative to the working
# directory). Arguments go to pytest, e.g. `run.sh -k presence`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export CHANNELNODE_BIN="${CHANNELNODE_BIN:-.build/debug/ChannelNode}"
[ -x "$CHANNELNODE_BIN" ] || { echo "cluster: no ChannelNode binary at $CHANNELNODE_BIN (swift build --product ChannelNode)" >&2; exit 1; }
export TICTACTOE_BIN="${TICTACTOE_BIN:-.build/debug/TicTacToe}"
[ -x "$TICTACTOE_BIN" ] || { echo "cluster: no TicTacToe binary at $TICTACTOE_BIN (swift build --product TicTacToe)" >&2; exit 1; }

bash "$here/../../scripts/apt-ensure.sh" redis-server redis-tools nginx chromium chromium-driver
python3 -m pip --version >/dev/null 2>&1 || bash "$here/../../scripts/apt-ensure.sh" python3-pip

if ! python3 -c 'import sys, pytest, selenium, websockets; sys.exit(int(websockets.__version__.split(".")[0]) < 15)' 2>/dev/null; then
    requirements=(pytest selenium "websockets>=15")
    python3 -m pip install -q "${requirements[@]}" 2>/dev/null \
        || python3 -m pip install -q --break-system-packages "${requirements[@]}"
fi

# The publisher, 300 channel clients and nginx's two sockets per client, with room to spare.
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# Every test bounds its own waits and stops its processes; this only stops a wedged run.
PYTHONDONTWRITEBYTECODE=1 exec timeout --kill-after=10 420 \
    python3 -m pytest -q -rxX -p no:cacheprovider "$here" "$@"
