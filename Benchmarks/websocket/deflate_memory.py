#!/usr/bin/env python3
"""Server memory per idle WebSocket connection, compressed and plain.

For each variant: start the server, read its VmRSS, open N connections (a browser's
permessage-deflate offer, or none), send one 100-byte text message on each and read its echo,
let them sit, read VmRSS again, close them all, let the server settle, read VmRSS a third time.
Per connection = (loaded - before) / N; "kept after close" = (closed - before) / N.

    python3 Benchmarks/websocket/deflate_memory.py --echo .build/release/Echo [--connections 1000] [--rounds 3]

Variants (each started afresh for each round, the order rotating from round to round):
    courier-shared     Echo, compression negotiated without context takeover (the default):
                       the loop's connections take turns with one pair of zlib streams
    courier-takeover   Echo --context-takeover: each connection its own zlib streams (what
                       every compressed connection cost before the shared streams)
    courier-plain      Echo --no-compression, the client offering no extension
    hummingbird-deflate, hummingbird-deflate-no-context, hummingbird-plain
                       HBEcho (Benchmarks/websocket/hummingbird) with its permessage-deflate
                       extension as its docs show it, with noContextTakeover (its lightest),
                       and without; when --hbecho names the binary

Prints a Markdown table of the medians; `--json FILE` also writes every reading.
"""
import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import time

import websockets
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

MESSAGE = "m" * 100


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_listening(port, process, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start listening")


async def load(port, path, connections, compress, settle):
    """Opens the connections, one echoed message each; returns them open."""
    # Chromium's offer: permessage-deflate; client_max_window_bits
    extensions = [ClientPerMessageDeflateFactory(client_max_window_bits=True)] if compress else None
    sockets = []
    sources = [f"127.0.0.{2 + index % 4}" for index in range(connections)]
    for start in range(0, connections, 100):
        batch = [websockets.connect(f"ws://127.0.0.1:{port}{path}", compression=None, extensions=extensions,
                                    max_size=None, ping_interval=None, open_timeout=20,
                                    local_addr=(sources[index], 0))
                 for index in range(start, min(start + 100, connections))]
        sockets += await asyncio.gather(*batch)
    negotiated = sockets[0].response.headers.get("Sec-WebSocket-Extensions", "")

    async def exchange(ws):
        await ws.send(MESSAGE)
        reply = await ws.recv()
        assert reply == MESSAGE, "echo differs"

    await asyncio.gather(*(exchange(ws) for ws in sockets))
    await asyncio.sleep(settle)
    return sockets, negotiated


async def measure_one(command, path, connections, compress, settle):
    port = free_port()
    process = subprocess.Popen(command + ["--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, process)
        await asyncio.sleep(0.5)
        before = rss_kib(process.pid)
        sockets, negotiated = await load(port, path, connections, compress, settle)
        loaded = rss_kib(process.pid)
        await asyncio.gather(*(ws.close() for ws in sockets))
        await asyncio.sleep(settle)
        closed = rss_kib(process.pid)
        return {"before_kib": before, "loaded_kib": loaded, "closed_kib": closed,
                "per_connection_bytes": (loaded - before) * 1024 / connections,
                "kept_after_close_bytes": (closed - before) * 1024 / connections,
                "negotiated": negotiated}
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def variants(echo, hbecho):
    found = {
        "courier-shared": ([echo, "--workers", "1"], "/", True),
        "courier-takeover": ([echo, "--workers", "1", "--context-takeover"], "/", True),
        "courier-plain": ([echo, "--workers", "1", "--no-compression"], "/", False),
    }
    if hbecho:
        found["hummingbird-deflate"] = ([hbecho, "--deflate"], "/", True)
        found["hummingbird-deflate-no-context"] = ([hbecho, "--deflate-no-context-takeover"], "/", True)
        found["hummingbird-plain"] = ([hbecho], "/", False)
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--echo", default=".build/release/Echo")
    parser.add_argument("--hbecho", default=None)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--settle", type=float, default=2.0)
    parser.add_argument("--only", nargs="*", default=None, help="variant names to run")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    table = variants(args.echo, args.hbecho)
    names = [name for name in table if args.only is None or name in args.only]
    readings = {name: [] for name in names}
    for round_index in range(args.rounds):
        order = names[round_index % len(names):] + names[:round_index % len(names)]
        for name in order:
            command, path, compress = table[name]
            reading = asyncio.run(measure_one(command, path, args.connections, compress, args.settle))
            readings[name].append(reading)
            print(f"round {round_index + 1} {name}: {reading['per_connection_bytes'] / 1024:.1f} KiB/connection, "
                  f"{reading['kept_after_close_bytes'] / 1024:.1f} KiB kept after close; {reading['negotiated']!r}",
                  file=sys.stderr)

    def median(name, key):
        return statistics.median(reading[key] for reading in readings[name])

    print(f"| server ({args.connections} idle connections, one 100-byte echo each) | KiB per connection "
          f"| KiB per connection kept after all closed | extension answered |")
    print("| --- | ---: | ---: | --- |")
    for name in names:
        print(f"| {name} | {median(name, 'per_connection_bytes') / 1024:.1f} | {median(name, 'kept_after_close_bytes') / 1024:.1f} "
              f"| {readings[name][0]['negotiated'] or '(none)'} |")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(readings, out, indent=1)


if __name__ == "__main__":
    main()
