"""Starts the Courier Echo example (`ECHO_BIN`, default `.build/debug/Echo`) on a free loopback port."""

import os
import socket
import subprocess
import time

import pytest

ECHO_BIN = os.environ.get("ECHO_BIN", ".build/debug/Echo")
STARTUP_SECONDS = 10


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_listening(process, port):
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{ECHO_BIN} exited with {process.returncode} before listening on {port}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{ECHO_BIN} did not listen on {port} within {STARTUP_SECONDS}s")


def _start(*flags):
    if not os.access(ECHO_BIN, os.X_OK):
        raise RuntimeError(f"no Echo binary at {ECHO_BIN} (build it or set ECHO_BIN)")
    port = _free_port()
    process = subprocess.Popen([ECHO_BIN, "--host", "127.0.0.1", "--port", str(port), "--workers", "1", *flags],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_until_listening(process, port)
    except Exception:
        process.kill()
        process.wait(5)
        raise
    return process, port


def _stop(process):
    if process.poll() is not None:
        pytest.fail(f"Echo died during the tests (exit {process.returncode}): {process.stderr.read().decode(errors='replace')}")
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
        pytest.fail("Echo did not exit within 5s of SIGTERM")


@pytest.fixture(scope="module")
def echo_port():
    """An Echo server that accepts permessage-deflate."""
    process, port = _start()
    yield port
    _stop(process)


@pytest.fixture(scope="module")
def echo_port_uncompressed():
    """An Echo server started with `--no-compression`."""
    process, port = _start("--no-compression")
    yield port
    _stop(process)
