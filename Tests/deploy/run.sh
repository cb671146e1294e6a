#!/usr/bin/env bash
# The deployment of docs/deploy, tested as shipped: a test CA and certificate (openssl), Tic Tac
# Toe started with courier.service's ExecStart, nginx with docs/deploy/nginx.conf, and two headless
# Chromiums (trusting the test CA through an NSS database) playing over https:// and wss://, then
# over long-polling. Installs what is missing (apt: nginx openssl libnss3-tools chromium
# chromium-driver systemd; pip: pytest selenium), builds nothing: point TICTACTOE_BIN at a built binary
# (default .build/debug/TicTacToe, relative to the working directory). Arguments go to pytest.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export TICTACTOE_BIN="${TICTACTOE_BIN:-.build/debug/TicTacToe}"
[ -x "$TICTACTOE_BIN" ] || { echo "deploy: no TicTacToe binary at $TICTACTOE_BIN (swift build --product TicTacToe)" >&2; exit 1; }

# systemd for `systemd-analyze verify` of courier.service (nothing is started).
bash "$here/../../scripts/apt-ensure.sh" nginx openssl libnss3-tools chromium chromium-driver systemd
python3 -m pip --version >/dev/null 2>&1 || bash "$here/../../scripts/apt-ensure.sh" python3-pip
if ! python3 -c 'import pytest, selenium' 2>/dev/null; then
    python3 -m pip install -q pytest selenium 2>/dev/null || python3 -m pip install -q --break-system-packages pytest selenium
fi

# Every test bounds its own waits and stops its processes; this only stops a wedged run.
PYTHONDONTWRITEBYTECODE=1 exec timeout --kill-after=10 300 \
    python3 -m pytest -q -rxX -p no:cacheprovider "$here" "$@"
