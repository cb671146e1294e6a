"""The bound on an idle compressed WebSocket: 1,000 connections that negotiated permessage-deflate
(as every browser offers it) and echoed one 100-byte message each cost the Echo server at most
8 KiB apiece, and the memory comes back once they close. Each connection once kept ~100 KiB of
zlib streams of its own, and RSS stayed up after they had gone.

Measured from outside (the server's VmRSS) with Benchmarks/websocket/deflate_memory.py, the
script whose figures Benchmarks/RESULTS.md records."""

import asyncio
import importlib.util
import pathlib

from conftest import ECHO_BIN

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "Benchmarks" / "websocket" / "deflate_memory.py"
spec = importlib.util.spec_from_file_location("deflate_memory", SCRIPT)
deflate_memory = importlib.util.module_from_spec(spec)
spec.loader.exec_module(deflate_memory)

CONNECTIONS = 1000
PER_CONNECTION_BOUND = 8 * 1024


def measure(*flags, compress=True):
    return asyncio.run(deflate_memory.measure_one([ECHO_BIN, "--workers", "1", *flags], "/", CONNECTIONS, compress, settle=1.5))


def test_an_idle_compressed_connection_costs_at_most_8_KiB_and_comes_back_after_close():
    reading = measure()
    assert "server_no_context_takeover" in reading["negotiated"] and "client_no_context_takeover" in reading["negotiated"]
    assert reading["per_connection_bytes"] <= PER_CONNECTION_BOUND, reading
    # What the crowd took is given back, not kept at its peak (glibc keeps freed pages unless asked).
    assert reading["closed_kib"] - reading["before_kib"] <= (reading["loaded_kib"] - reading["before_kib"]) * 0.85, reading


def test_a_dedicated_context_costs_what_it_always_did_and_still_comes_back():
    # The configured per-connection context: the bound above is the shared streams' doing.
    reading = measure("--context-takeover")
    assert reading["negotiated"] == "permessage-deflate"
    assert reading["per_connection_bytes"] > 4 * PER_CONNECTION_BOUND, reading
    assert reading["closed_kib"] - reading["before_kib"] <= (reading["loaded_kib"] - reading["before_kib"]) * 0.25, reading
