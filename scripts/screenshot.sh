#!/usr/bin/env bash
# Remakes docs/images/tictactoe.png, the README's picture of Channel Tac Toe in two browsers
# mid-game (scripts/screenshot.py). Installs what is missing (apt: chromium chromium-driver;
# pip: selenium) and builds TicTacToe when there is no binary (TICTACTOE_BIN, default
# .build/debug/TicTacToe), under the shared build lock.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/apt-ensure.sh chromium chromium-driver
if ! python3 -c 'import selenium' 2>/dev/null; then
    python3 -m pip --version >/dev/null 2>&1 || bash scripts/apt-ensure.sh python3-pip
    python3 -m pip install -q selenium 2>/dev/null || python3 -m pip install -q --break-system-packages selenium
fi
export TICTACTOE_BIN="${TICTACTOE_BIN:-.build/debug/TicTacToe}"
if [ ! -x "$TICTACTOE_BIN" ]; then
    lock=${COURIER_BUILD_LOCK-/tmp/courier-swift-build.lock}
    if [ -n "$lock" ]; then flock "$lock" swift build --product TicTacToe; else swift build --product TicTacToe; fi
fi
exec python3 scripts/screenshot.py
