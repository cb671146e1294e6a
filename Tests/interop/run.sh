#!/usr/bin/env bash
# Interop tests: the Echo example against the Python `websockets` client and headless Chromium (and
# its /upload form submitted by Chromium: multipart/form-data with files), the
# Chat example's channel client in headless Chromium, and TicTacToe played by two Chromium sessions.
# Installs what is missing (pip: websockets selenium pytest; apt: chromium chromium-driver), builds
# nothing: point ECHO_BIN, CHAT_BIN and TICTACTOE_BIN at built binaries (defaults .build/debug/Echo,
# .build/debug/Chat and .build/debug/TicTacToe, relative to the working directory). Arguments go
# to pytest, e.g. `run.sh -k channel` for the channel tests only, `run.sh -k tictactoe`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export ECHO_BIN="${ECHO_BIN:-.build/debug/Echo}"
[ -x "$ECHO_BIN" ] || { echo "interop: no Echo binary at $ECHO_BIN (swift build --product Echo)" >&2; exit 1; }
export CHAT_BIN="${CHAT_BIN:-.build/debug/Chat}"
[ -x "$CHAT_BIN" ] || { echo "interop: no Chat binary at $CHAT_BIN (swift build --product Chat)" >&2; exit 1; }
export TICTACTOE_BIN="${TICTACTOE_BIN:-.build/debug/TicTacToe}"
[ -x "$TICTACTOE_BIN" ] || { echo "interop: no TicTacToe binary at $TICTACTOE_BIN (swift build --product TicTacToe)" >&2; exit 1; }

bash "$here/../../scripts/apt-ensure.sh" chromium chromium-driver
python3 -m pip --version >/dev/null 2>&1 || bash "$here/../../scripts/apt-ensure.sh" python3-pip

# websockets 15 brought the `proxy` option the tests pass; Debian's python3-websockets is older.
if ! python3 -c 'import sys, pytest, selenium, websockets; sys.exit(int(websockets.__version__.split(".")[0]) < 15)' 2>/dev/null; then
    requirements=(pytest selenium "websockets>=15")
    python3 -m pip install -q "${requirements[@]}" 2>/dev/null \
        || python3 -m pip install -q --break-system-packages "${requirements[@]}"
fi

# Every test bounds itself; this only stops a wedged browser or server from hanging `make test`.
PYTHONDONTWRITEBYTECODE=1 exec timeout --kill-after=10 900 \
    python3 -m pytest -q -p no:cacheprovider "$here" "$@"
