#!/usr/bin/env python3
"""Loopback round trips between two cores, with a pause between them: what this machine charges
for a message after a quiet spell, with no server framework involved. Benchmarks/channel/NOTES.md
quotes it as the floor under the light-rate latency.

    Benchmarks/channel/pingpong.py            # spin and block, pauses 0 / 1 / 3 / 10 ms
    Benchmarks/channel/pingpong.py spin 10    # one mode, one pause (ms)

"spin": both ends poll a non-blocking socket (never sleep); "block": both ends sleep in recv.
The echo side runs on core 0, the timing side on core 1 (taskset), 500 round trips of 32 bytes.
"""
import os
import socket
import subprocess
import sys
import time

PORT = 18400
COUNT = 500


def echo(spin):
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", PORT))
    listener.listen(1)
    peer, _ = listener.accept()
    peer.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    peer.setblocking(not spin)
    while True:
        try:
            data = peer.recv(64)
        except BlockingIOError:
            continue
        if not data:
            return
        peer.send(data)


def timed(spin, pause_ms):
    for _ in range(100):
        try:
            peer = socket.create_connection(("127.0.0.1", PORT))
            break
        except OSError:
            time.sleep(0.05)
    peer.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    peer.setblocking(not spin)
    trips = []
    for _ in range(COUNT):
        start = time.perf_counter_ns()
        peer.send(b"x" * 32)
        while True:
            try:
                peer.recv(64)
                break
            except BlockingIOError:
                pass
        trips.append(time.perf_counter_ns() - start)
        until = time.perf_counter_ns() + pause_ms * 1e6
        while time.perf_counter_ns() < until:  # a busy pause: this side never sleeps either
            pass
    peer.close()
    trips.sort()
    pick = lambda q: trips[min(len(trips) - 1, int(len(trips) * q))] / 1000
    print(f"{'spin' if spin else 'block'} pause {pause_ms:g} ms: round trip p50 {pick(0.5):.0f} µs, "
          f"p90 {pick(0.9):.0f} µs, p99 {pick(0.99):.0f} µs")


def run(mode, pause_ms):
    me = os.path.abspath(__file__)
    server = subprocess.Popen(["taskset", "-c", "0", sys.executable, me, "--echo", mode])
    try:
        subprocess.run(["taskset", "-c", "1", sys.executable, me, "--time", mode, str(pause_ms)], check=True)
    finally:
        server.wait(10)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--echo":
        echo(sys.argv[2] == "spin")
    elif len(sys.argv) > 1 and sys.argv[1] == "--time":
        timed(sys.argv[2] == "spin", float(sys.argv[3]))
    elif len(sys.argv) == 3:
        run(sys.argv[1], float(sys.argv[2]))
    else:
        for mode in ("spin", "block"):
            for pause in (0, 1, 3, 10):
                run(mode, pause)
