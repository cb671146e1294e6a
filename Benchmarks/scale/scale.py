#!/usr/bin/env python3
"""Benchmarks/scale/scale.py: the orchestrator of Benchmarks/scale/run.sh (read run.sh first).

    scale.py measure   runs every (server, N) of the environment, appending one JSON record per
                       run to $OUT/results.jsonl
    scale.py report    the Markdown section (and, with WRITE_RESULTS=1, Benchmarks/RESULTS.md)
                       and the PNG plots, from $OUT/results.jsonl

For each N and server, started afresh: server RSS before; N channel clients opened through the
real protocol by ceil(N / PER_PROCESS) `ChannelLoad hold` processes (clients unique across
processes by --id-prefix); the time to open them all; RSS with them; the servers' idle CPU over
IDLE_SECONDS; RATE direct messages/s in all for DURATION s (each process POSTs to its own
clients), latency percentiles over every message of every process; every client subscribed to
one topic, then one POST /publish, and the time until the last client has it; the
exactly-once check; then every client closed and RSS watched until it is back within 10% of its
start, or RELEASE_WAIT s.
"""
import datetime
import http.client
import json
import math
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

E = os.environ
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = E.get("OUT", os.path.join(HERE, ".build"))
LOGS = os.path.join(OUT, "logs")
RESULTS = os.path.join(OUT, "results.jsonl")

NS = [int(x) for x in E.get("NS", "1000 10000 19000 50000 100000").split()]
SERVERS = E.get("SERVERS", "courier courier-poll hummingbird").split()
DURATION = float(E.get("DURATION", "10"))
RATE = float(E.get("RATE", "10000"))
IDLE_SECONDS = float(E.get("IDLE_SECONDS", str(min(20.0, 2 * DURATION))))
RELEASE_WAIT = float(E.get("RELEASE_WAIT", "130" if DURATION >= 10 else str(3 * DURATION)))
SINGLE_MAX = int(E.get("SINGLE_MAX", "19000"))      # above: NODES ChannelNode processes on Redis
POLL_MAX = int(E.get("POLL_MAX", "10000"))          # courier-poll runs at the Ns up to this
HB_MAX = int(E.get("HB_MAX", "19000"))              # hummingbird runs at the Ns up to this
NODES = int(E.get("NODES", "6"))
WORKERS = int(E.get("WORKERS", "2"))
# Courier's default maxConnections is the open-file limit less a sixteenth (20,000 → 18,750): one
# process at N = 19,000 needs it raised (the clients, the POST connections, a few more).
MAX_CONNECTIONS = E.get("MAX_CONNECTIONS", "19600")
PER_PROCESS = int(E.get("PER_PROCESS", "18000"))
# A long-poll client answers each message with a new request: more work per message for the one
# thread of a client process, so fewer clients per process.
POLL_PER_PROCESS = int(E.get("POLL_PER_PROCESS", "5000"))
POSTERS = int(E.get("POSTERS", "8"))                  # per client process (in-memory engine, Hummingbird)
# ChannelNode answers POST /send once Redis holds the message: more requests in flight to reach
# the rate (the cluster benchmark's 48), split over the client processes.
NODE_POSTERS_TOTAL = int(E.get("NODE_POSTERS_TOTAL", "48"))
WINDOW = int(E.get("WINDOW", "64"))
SIZE = int(E.get("SIZE", "32"))
PUBLISH_TIMEOUT = float(E.get("PUBLISH_TIMEOUT", "60"))
OPEN_TIMEOUT = float(E.get("OPEN_TIMEOUT", "600"))
PORT_BASE = int(E.get("PORT_BASE", "19300"))
# After the idle window, `perf record` of the first server process (and Redis) for PERF_SECONDS at
# these Ns: where an idle server's CPU goes.
PERF_NS = [int(x) for x in E.get("PERF_NS", "19000 100000").split()]
PERF_SECONDS = float(E.get("PERF_SECONDS", "10"))
# From this N on, a second idle window after the first (and the perf sample).
LATE_IDLE_MIN = int(E.get("LATE_IDLE_MIN", "50000"))
SOURCES = E.get("SOURCES", "127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5 127.0.0.6 127.0.0.7 127.0.0.8 127.0.0.9").split()
LOADER = E.get("CHANNELLOAD_BIN", os.path.join(ROOT, "Benchmarks/channel/client/ChannelLoad/.build/release/ChannelLoad"))
COURIER_BIN = E.get("COURIER_BIN", os.path.join(ROOT, "Benchmarks/channel/courier/ChannelBench/.build/release/ChannelBench"))
NODE_BIN = E.get("CHANNELNODE_BIN", os.path.join(ROOT, ".build/release/ChannelNode"))
HB_BIN = E.get("HUMMINGBIRD_BIN", os.path.join(ROOT, "Benchmarks/channel/hummingbird/HBChannel/.build/release/HBChannel"))
TICK = os.sysconf("SC_CLK_TCK")
TOPIC = "scale"


def log(text):
    print(f"[scale] {text}", file=sys.stderr, flush=True)


# ---- processes -------------------------------------------------------------------------


def rss(pid, field="VmRSS:"):
    """VmRSS (all resident pages); RssAnon: the heap and stacks only, without the binary's and
    libraries' pages (code first run when clients come stays resident, and is no client's)."""
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def ticks(pid):
    try:
        text = open(f"/proc/{pid}/stat").read()
        fields = text[text.rindex(")") + 2:].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, ValueError):
        return 0


def machine_busy():
    """Busy clock ticks of all cores together (/proc/stat: all but idle and iowait)."""
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return f[0] + f[1] + f[2] + f[5] + f[6] + f[7]


def fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def stop(proc, seconds=10):
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(seconds)
    except subprocess.TimeoutExpired:
        log(f"process {proc.pid} ignored SIGTERM for {seconds} s; SIGKILL")
        proc.kill()
        proc.wait()


def http_request(port, method, target, body=b"", content_type="text/plain", timeout=120):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, target, body=body, headers={"Content-Type": content_type})
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        connection.close()


def wait_http(port, target, seconds=30, proc=None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return None
        try:
            return http_request(port, "GET", target, timeout=2)
        except OSError:
            time.sleep(0.1)
    return None


def tail(path, lines=5):
    try:
        return "".join(open(path, errors="replace").readlines()[-lines:]).strip()
    except OSError:
        return ""


def grep_count(path, pattern):
    try:
        return sum(1 for line in open(path, errors="replace") if re.search(pattern, line))
    except OSError:
        return 0


class Servers:
    """The servers of one run: a ChannelBench, a HBChannel, or NODES ChannelNodes + redis-server."""

    def __init__(self, name, n, tag):
        self.name, self.n, self.tag = name, n, tag
        self.procs, self.redis, self.tmp = [], None, None
        self.logs = []
        self.redis_log = None
        if name == "hummingbird":
            self.kind, self.transport, self.port = "hummingbird", "ws", PORT_BASE + 1
        elif n > SINGLE_MAX:
            self.kind, self.transport, self.port = "node", "ws", PORT_BASE + 2
        else:
            self.kind, self.transport, self.port = "courier", ("poll" if name == "courier-poll" else "ws"), PORT_BASE
        self.redis_port = PORT_BASE + 9

    def describe(self):
        if self.kind == "hummingbird":
            return f"HBChannel --threads {WORKERS}"
        if self.kind == "node":
            return f"{NODES} × ChannelNode --reuse-port --workers 1 --redis, + redis-server"
        return f"ChannelBench --workers {WORKERS}" + (f" --max-connections {MAX_CONNECTIONS}" if MAX_CONNECTIONS else "") + (" (long-poll clients)" if self.transport == "poll" else "")

    def _spawn(self, args, logname):
        path = os.path.join(LOGS, f"{logname}-{self.tag}.log")
        self.logs.append(path)
        return subprocess.Popen(args, stdout=open(path, "w"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                close_fds=True)

    def start(self):
        if self.kind == "hummingbird":
            proc = self._spawn([HB_BIN, "--port", str(self.port), "--threads", str(WORKERS)], "hummingbird")
            self.procs.append(proc)
            up = wait_http(self.port, "/health", proc=proc)
        elif self.kind == "courier":
            args = [COURIER_BIN, "--port", str(self.port), "--workers", str(WORKERS), "--host", "127.0.0.1"]
            if MAX_CONNECTIONS:
                args += ["--max-connections", MAX_CONNECTIONS]
            proc = self._spawn(args, "courier")
            self.procs.append(proc)
            up = wait_http(self.port, "/health", proc=proc)
        else:
            self.tmp = tempfile.mkdtemp(prefix="courier-scale.")
            os.makedirs(f"{self.tmp}/redis")
            os.makedirs(f"{self.tmp}/data")
            self.redis_log = os.path.join(LOGS, f"redis-{self.tag}.log")
            self.redis = subprocess.Popen(
                ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--dir", f"{self.tmp}/redis",
                 "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", self.redis_log],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
            for _ in range(300):
                if subprocess.run(["redis-cli", "-p", str(self.redis_port), "ping"], capture_output=True, text=True).stdout.strip() == "PONG":
                    break
                time.sleep(0.1)
            else:
                return f"redis-server did not answer: {tail(self.redis_log)}"
            args = ["--port", str(self.port), "--host", "127.0.0.1", "--workers", "1", "--reuse-port",
                    "--redis", f"redis://127.0.0.1:{self.redis_port}", "--data-dir", f"{self.tmp}/data",
                    # ChannelNode keeps its app's presence events for GET /presence: unbounded, two
                    # per client would be the app's memory, not the engine's (and pin heap pages).
                    "--presence-log-limit", "1000"]
            first = self._spawn([NODE_BIN] + args, "node1")
            self.procs.append(first)
            up = wait_http(self.port, "/health", proc=first)
            if up:
                for k in range(2, NODES + 1):
                    self.procs.append(self._spawn([NODE_BIN] + args, f"node{k}"))
                # Every node answers on the shared port: see each one's PID in GET /health.
                want = {str(p.pid) for p in self.procs}
                seen, deadline = set(), time.monotonic() + 30
                while seen != want and time.monotonic() < deadline:
                    answer = wait_http(self.port, "/health", seconds=2)
                    if answer and answer[1].startswith("ok "):
                        seen.add(answer[1].split()[1])
                    if any(p.poll() is not None for p in self.procs):
                        break
                if seen != want:
                    up = None
        if not up:
            dead = [p for p in self.procs if p.poll() is not None]
            return f"{self.name} did not come up ({len(dead)} exited): {tail(self.logs[-1])}"
        time.sleep(1)
        return None

    def pids(self):
        return [p.pid for p in self.procs]

    def rss(self):
        return sum(rss(pid) for pid in self.pids())

    def rss_anon(self):
        return sum(rss(pid, "RssAnon:") for pid in self.pids())

    def redis_rss(self):
        return rss(self.redis.pid) if self.redis else None

    def ticks(self):
        return sum(ticks(pid) for pid in self.pids())

    def redis_ticks(self):
        return ticks(self.redis.pid) if self.redis else 0

    def fds(self):
        return [fds(pid) for pid in self.pids()]

    def alive(self):
        return all(p.poll() is None for p in self.procs)

    def redis_info(self):
        if not self.redis:
            return {}
        text = subprocess.run(["redis-cli", "-p", str(self.redis_port), "info"], capture_output=True, text=True).stdout
        info = dict(line.split(":", 1) for line in text.splitlines() if ":" in line and not line.startswith("#"))
        slow = subprocess.run(["redis-cli", "-p", str(self.redis_port), "slowlog", "get", "3"], capture_output=True, text=True).stdout.split("\n")
        keep = ("used_memory", "connected_clients", "pubsub_channels", "client_recent_max_output_buffer",
                "total_commands_processed", "instantaneous_ops_per_sec", "evicted_keys",
                "client_output_buffer_limit_disconnections")
        found = {k: info[k].strip() for k in keep if k in info}
        # SLOWLOG GET: id, time, duration (µs), the command's words...: the slowest commands' words.
        found["slowlog"] = " | ".join(s.strip() for s in slow[:40] if s.strip())[:600]
        return found

    def problems(self):
        """Evidence of trouble in the servers' logs (and Redis's)."""
        found = {}
        for path in self.logs:
            for pattern in ("EMFILE", "Too many open files", "rror", "warning", "Fatal", "crash"):
                c = grep_count(path, pattern)
                if c:
                    found[f"{os.path.basename(path)}:{pattern}"] = c
        if self.redis_log:
            c = grep_count(self.redis_log, "output buffer limits")
            if c:
                found["redis: clients closed for overcoming output buffer limits"] = c
        return found

    def stop(self):
        for proc in self.procs:
            stop(proc, 15)
        if self.redis:
            stop(self.redis, 10)
        if self.tmp:
            subprocess.run(["rm", "-rf", self.tmp])


class Holder:
    """One `ChannelLoad hold` process: commands on its stdin, one answer line each on its stdout."""

    def __init__(self, servers, index, count, posters):
        self.index, self.count = index, count
        self.err_path = os.path.join(LOGS, f"client{index}-{servers.tag}.err")
        self.proc = subprocess.Popen(
            [LOADER, "hold", "--port", str(servers.port), "--kind", servers.kind, "--clients", str(count),
             "--id-prefix", f"p{index}-", "--transport", servers.transport, "--sources", ",".join(SOURCES),
             "--window", str(WINDOW), "--posters", str(posters), "--size", str(SIZE),
             "--open-timeout", str(OPEN_TIMEOUT)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(self.err_path, "w"), close_fds=True)
        self.buffer = b""

    def send(self, line):
        try:
            self.proc.stdin.write((line + "\n").encode())
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass

    def read(self, deadline):
        """One answer line as (status, command, fields), or ("timeout"/"exited", ...)."""
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout", "", {"error": "no answer in time"}
            ready, _, _ = select.select([self.proc.stdout], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    return "exited", "", {"error": f"client {self.index} exited {self.proc.wait()}: {tail(self.err_path, 3)}"}
                self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        words = line.decode(errors="replace").split(" ")
        if words[0] == "error":
            return "error", words[1] if len(words) > 1 else "", {"error": " ".join(words[2:])}
        fields = dict(w.split("=", 1) for w in words[1:] if "=" in w)
        return words[0], (words[1] if len(words) > 1 and "=" not in words[1] else ""), fields

    def cpu_seconds(self):
        return ticks(self.proc.pid) / TICK

    def stop(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        stop(self.proc, 10)


def everyone(holders, line, timeout):
    """Sends `line` to every holder (None: nothing, just read), then one answer from each."""
    if line is not None:
        for h in holders:
            h.send(line)
    deadline = time.monotonic() + timeout
    return [h.read(deadline) for h in holders]


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, math.ceil(p / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


def message_body(topic=False):
    """ChannelLoad's body: "@" + CLOCK_MONOTONIC ns in 19 digits + "#" (+ "T" for a topic) + padding."""
    body = "@%019d#" % time.monotonic_ns() + ("T" if topic else "")
    return body + "abcdefghijklmnopqrstuvwxyz"[: max(0, SIZE - len(body))]


# ---- one run ---------------------------------------------------------------------------


def run_one(name, n):
    tag = f"{name}-{n}"
    servers = Servers(name, n, tag)
    r = {"server": name, "n": n, "kind": servers.kind, "transport": servers.transport, "setup": servers.describe(),
         "started": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
         "command": E.get("CMDLINE", ""), "load_before": open("/proc/loadavg").read().split()[:3], "steps": {}, "failures": []}
    holders = []

    def fail(step, text):
        log(f"  {tag}: {step} FAILED: {text}")
        r["failures"].append(f"{step}: {text}")

    def answers_ok(step, answers, good=("ok",)):
        bad = [a for a in answers if a[0] not in good]
        for status, _, fields in bad[:3]:
            fail(step, f"{status}: {fields.get('error', fields)}")
        return not bad

    try:
        error = servers.start()
        if error:
            fail("start", error)
            return r
        r["rss_before"] = servers.rss()
        r["rss_anon_before"] = servers.rss_anon()
        r["redis_rss_before"] = servers.redis_rss()
        processes = max(1, math.ceil(n / (POLL_PER_PROCESS if servers.transport == "poll" else PER_PROCESS)))
        r["client_processes"] = processes
        counts = [n // processes + (1 if k < n % processes else 0) for k in range(processes)]
        log(f"{tag}: {servers.describe()}; {n} clients in {processes} process(es); server RSS {r['rss_before'] / 2**20:.1f} MiB")

        t0 = time.monotonic()
        posters = max(POSTERS, math.ceil(NODE_POSTERS_TOTAL / processes)) if servers.kind == "node" else POSTERS
        r["posters_per_process"] = posters
        holders = [Holder(servers, k, c, posters) for k, c in enumerate(counts)]
        ready = everyone(holders, None, OPEN_TIMEOUT + 60)
        r["connect_seconds"] = time.monotonic() - t0
        r["steps"]["ready"] = [x[2] for x in ready]
        r["fds"] = servers.fds()
        if not answers_ok("connect", ready, good=("ready",)):
            r["rss_failed_connect"] = servers.rss()
            r["alive"] = servers.alive()
            return r
        log(f"  {tag}: {n} clients open in {r['connect_seconds']:.1f} s")
        time.sleep(2)
        r["rss_with_clients"] = servers.rss()
        r["redis_rss_with_clients"] = servers.redis_rss()
        r["bytes_per_client"] = (r["rss_with_clients"] - r["rss_before"]) / n
        log(f"  {tag}: server RSS {r['rss_with_clients'] / 2**20:.1f} MiB: {r['bytes_per_client']:,.0f} bytes per client"
            + (f"; Redis {r['redis_rss_with_clients'] / 2**20:.1f} MiB" if servers.redis else ""))

        # Idle: nothing sent.
        def idle_window(key):
            """Servers', Redis's and the clients' CPU and the server pings over IDLE_SECONDS, as r[key + "_..."]."""
            pings0 = sum(int(a[2].get("pings", 0)) for a in everyone(holders, "stats", 30))
            s0, rd0, c0, w0 = servers.ticks(), servers.redis_ticks(), sum(h.cpu_seconds() for h in holders), time.monotonic()
            time.sleep(IDLE_SECONDS)
            wall = time.monotonic() - w0
            r[f"{key}_pings_per_s"] = (sum(int(a[2].get("pings", 0)) for a in everyone(holders, "stats", 30)) - pings0) / wall
            r[f"{key}_cpu_pct"] = 100 * (servers.ticks() - s0) / TICK / wall
            r[f"{key}_redis_cpu_pct"] = 100 * (servers.redis_ticks() - rd0) / TICK / wall if servers.redis else None
            r[f"{key}_client_cpu_pct"] = 100 * (sum(h.cpu_seconds() for h in holders) - c0) / wall

        idle_window("idle")
        log(f"  {tag}: idle CPU {r['idle_cpu_pct']:.2f}% of a core"
            + (f", Redis {r['idle_redis_cpu_pct']:.2f}%" if servers.redis else "") + f" (clients {r['idle_client_cpu_pct']:.1f}%); "
            f"WebSocket pings from the server: {r['idle_pings_per_s']:,.0f}/s")

        if n in PERF_NS and shutil.which("perf"):
            r["perf"] = {}
            for label, pid in [("server", servers.pids()[0])] + ([("redis", servers.redis.pid)] if servers.redis else []):
                data = os.path.join(OUT, f"perf-{tag}-{label}.data")
                subprocess.run(["perf", "record", "-g", "-F", "499", "-p", str(pid), "-o", data, "--", "sleep", str(PERF_SECONDS)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                text = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "symbol", "-g", "none",
                                       "--percent-limit", "2"], capture_output=True, text=True).stdout
                if shutil.which("swift"):
                    text = subprocess.run(["swift", "demangle", "--simplified"], input=text, capture_output=True, text=True).stdout or text
                top = [" ".join(w for w in l.split() if w != "-") for l in text.splitlines() if l.strip() and not l.startswith("#")][:12]
                r["perf"][label] = top
                open(os.path.join(LOGS, f"perf-{tag}-{label}.txt"), "w").write(text)
                log(f"  {tag}: perf, idle {label} (pid {pid}): " + " | ".join(top[:6]))

        # A second idle window once what connecting set going has surely finished (at 100,000 the
        # first window begins 2 s after the last open, and the nodes may still be handing the
        # crowd's presence notifications to the app): which of the two is the steady state.
        if n >= LATE_IDLE_MIN:
            idle_window("idle_late")
            log(f"  {tag}: idle CPU, second window: {r['idle_late_cpu_pct']:.2f}% of a core"
                + (f", Redis {r['idle_late_redis_cpu_pct']:.2f}%" if servers.redis else "") + f"; pings {r['idle_late_pings_per_s']:,.0f}/s")

        # Direct messages.
        files = [os.path.join(OUT, f"latency-{tag}-{h.index}.txt") for h in holders]
        s0, rd0, w0, m0 = servers.ticks(), servers.redis_ticks(), time.monotonic(), machine_busy()
        c0 = [h.cpu_seconds() for h in holders]
        for h, f in zip(holders, files):
            h.send(f"send {RATE / len(holders):.3f} {DURATION} {f}")
        sent = everyone(holders, None, DURATION + 120)
        wall = time.monotonic() - w0
        r["send_cpu_cores"] = (servers.ticks() - s0) / TICK / wall
        r["send_redis_cpu_cores"] = (servers.redis_ticks() - rd0) / TICK / wall if servers.redis else None
        client_cores = [(h.cpu_seconds() - c) / wall for h, c in zip(holders, c0)]
        r["send_client_cpu_cores"] = sum(client_cores)
        r["send_client_cpu_cores_max"] = max(client_cores)
        # What everything else on the machine (the other engineer, the kernel's softirqs counted
        # to nobody) took meanwhile.
        r["send_other_cpu_cores"] = (machine_busy() - m0) / TICK / wall - r["send_cpu_cores"] - r["send_client_cpu_cores"] - (r.get("send_redis_cpu_cores") or 0)
        r["steps"]["send"] = [a[2] for a in sent]
        if answers_ok("send", sent):
            values = []
            for f in files:
                values += [int(x) for x in open(f).read().split()]
                os.unlink(f)
            values.sort()
            r["send_recorded"] = len(values)
            for key, p in (("p50", 50), ("p99", 99), ("p999", 99.9)):
                r[f"send_{key}_us"] = percentile(values, p)
            r["send_max_us"] = values[-1] if values else None
            r["send_lost"] = sum(int(a[2].get("lost", 0)) for a in sent)
            r["send_post_errors"] = sum(int(a[2].get("post_errors", 0)) for a in sent)
            r["send_late_p99_us_max"] = max(float(a[2].get("send_late_p99_us", 0)) for a in sent)
            log(f"  {tag}: {RATE:,.0f} msg/s: p50 {r['send_p50_us']} µs, p99 {r['send_p99_us']} µs, p99.9 {r['send_p999_us']} µs, "
                f"lost {r['send_lost']}, POST errors {r['send_post_errors']}, server {r['send_cpu_cores']:.2f} cores")
        else:
            return r

        # Topic: subscribe everyone, one publish.
        t0 = time.monotonic()
        subs = everyone(holders, f"subscribe {TOPIC}", 600)
        r["subscribe_seconds"] = time.monotonic() - t0
        if not answers_ok("subscribe", subs):
            return r
        for h in holders:
            h.send(f"await-publish 1 {PUBLISH_TIMEOUT}")
        body = message_body(topic=True)
        t0 = time.monotonic()
        try:
            if servers.kind == "node":
                form = "topic=" + TOPIC + "&message=" + body.replace("@", "%40").replace("#", "%23")
                status, text = http_request(servers.port, "POST", "/publish", form.encode(), "application/x-www-form-urlencoded",
                                            timeout=PUBLISH_TIMEOUT)
            else:
                status, text = http_request(servers.port, "POST", f"/publish?t={TOPIC}", body.encode(), timeout=PUBLISH_TIMEOUT)
            r["publish_post_ms"] = (time.monotonic() - t0) * 1000
            r["publish_answer"] = f"{status} {text.strip()[:80]}"
        except OSError as e:
            fail("publish", f"POST /publish: {e}")
        got = everyone(holders, None, PUBLISH_TIMEOUT + 10)
        r["steps"]["publish"] = [a[2] for a in got]
        if all(a[0] == "ok" for a in got):
            r["publish_ms"] = max(float(a[2]["max_us"]) for a in got) / 1000
            log(f"  {tag}: publish to {n}: the last copy after {r['publish_ms']:.1f} ms (POST answered after "
                f"{r.get('publish_post_ms', float('nan')):.1f} ms: {r.get('publish_answer')})")
        else:
            answers_ok("publish", got)
            r["publish_reached"] = sum(int(a[2].get("reached", 0)) for a in got)
            log(f"  {tag}: publish reached {r['publish_reached']} of {n}")

        # Exactly once.
        checks = everyone(holders, "check 1", 120)
        r["steps"]["check"] = [a[2] for a in checks]
        if answers_ok("check", checks):
            verdicts = {a[2].get("exactly_once") for a in checks}
            r["exactly_once"] = "no" if "no" in verdicts else verdicts.pop()
            r["check_problems"] = [a[2].get("problem") for a in checks if a[2].get("problem")]
            log(f"  {tag}: exactly once: {r['exactly_once']} {r['check_problems'][:1]}")
    finally:
        r["problems"] = servers.problems()
        r["redis_info"] = servers.redis_info()
        if holders:
            closed = everyone([h for h in holders if h.proc.poll() is None], "close", 60)
            for h in holders:
                h.stop()
            if r.get("rss_with_clients") and servers.alive():
                # Watch RSS come back (Courier keeps a session for its recovery window, 120 s).
                t0 = time.monotonic()
                time.sleep(5)
                r["rss_after_close_5s"] = servers.rss()
                target = r["rss_before"] * 1.10
                while servers.rss() > target and time.monotonic() - t0 < RELEASE_WAIT:
                    time.sleep(5)
                r["rss_after_close"] = servers.rss()
                r["rss_anon_after_close"] = servers.rss_anon()
                r["rss_after_close_seconds"] = time.monotonic() - t0
                r["redis_rss_after_close"] = servers.redis_rss()
                r["redis_info_after_close"] = servers.redis_info()
                r["rss_returned"] = r["rss_after_close"] <= target
                if not r["rss_returned"] and E.get("TRIM_PROBE", "1") == "1":
                    # Freed but kept by the allocator, or still held? Ask glibc to give back what
                    # is free (gdb: malloc_trim(0) in each server process) and look again.
                    for pid in servers.pids():
                        subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex", "call (int)malloc_trim(0)"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
                    time.sleep(1)
                    r["rss_after_trim"] = servers.rss()
                    log(f"  {tag}: RSS after malloc_trim(0) in the server(s): {r['rss_after_trim'] / 2**20:.1f} MiB")
                log(f"  {tag}: RSS after close: {r['rss_after_close_5s'] / 2**20:.1f} MiB at 5 s, "
                    f"{r['rss_after_close'] / 2**20:.1f} MiB at {r['rss_after_close_seconds']:.0f} s "
                    f"(start {r['rss_before'] / 2**20:.1f} MiB): {'back within 10%' if r['rss_returned'] else 'NOT back within 10%'}")
        r["alive_at_end"] = servers.alive()
        servers.stop()
        if r["problems"]:
            log(f"  {tag}: in the logs: {r['problems']}")
    return r


def runs():
    for n in NS:
        for name in SERVERS:
            if name == "courier-poll" and n > POLL_MAX:
                continue
            if name == "hummingbird" and n > HB_MAX:
                continue
            yield name, n


def measure():
    os.makedirs(LOGS, exist_ok=True)
    if E.get("APPEND", "0") != "1":
        open(RESULTS, "w").close()
    for name, n in runs():
        r = run_one(name, n)
        with open(RESULTS, "a") as f:
            f.write(json.dumps(r) + "\n")


# ---- report ----------------------------------------------------------------------------


def load():
    return [json.loads(line) for line in open(RESULTS) if line.strip()]


LABELS = {"courier": "Courier", "courier-poll": "Courier long-poll", "hummingbird": "Hummingbird"}


def mib(x):
    return "n/a" if x is None else f"{x / 2**20:,.1f} MiB"


def us(x):
    if x is None:
        return "n/a"
    return f"{x:,.0f} µs" if x < 10_000 else f"{x / 1000:,.0f} ms"


def report():
    results = load()
    by = {(r["server"], r["n"]): r for r in results}
    ns = sorted({r["n"] for r in results})
    sections = []
    for n in ns:
        cols = [s for s in ("courier", "courier-poll", "hummingbird") if (s, n) in by]
        rs = [by[(s, n)] for s in cols]
        ratio = ("courier" in cols and "hummingbird" in cols)
        head = ["measure"] + [LABELS[s] for s in cols] + (["Courier/Hummingbird"] if ratio else [])
        lines = [f"### N = {n:,}", "", "| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]

        def row(title, key, fmt, ratio_ok=True, fn=None):
            vals = [(fn(r) if fn else r.get(key)) for r in rs]
            if all(v is None for v in vals):
                return
            cells = [title] + [fmt(v) if v is not None else "n/a" for v in vals]
            if ratio:
                a, b = (fn(by[("courier", n)]) if fn else by[("courier", n)].get(key)), (fn(by[("hummingbird", n)]) if fn else by[("hummingbird", n)].get(key))
                cells.append(f"{a / b:.2f}x" if ratio_ok and isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else "")
            lines.append("| " + " | ".join(cells) + " |")

        row("servers", "setup", str, False)
        row("client processes (ChannelLoad hold)", "client_processes", str, False)
        row("time to open all channels", "connect_seconds", lambda x: f"{x:.1f} s")
        row("server RSS before", "rss_before", mib)
        row("server RSS with the clients", "rss_with_clients", mib)
        row("server memory per client (goal ≤ 2 KiB)", "bytes_per_client", lambda x: f"{x / 1024:,.2f} KiB")
        row("Redis RSS before → with the clients", None, str, False,
            fn=lambda r: None if r.get("redis_rss_before") is None else f"{mib(r['redis_rss_before'])} → {mib(r.get('redis_rss_with_clients'))}")
        row(f"idle CPU over {IDLE_SECONDS:.0f} s, servers (% of one core)", "idle_cpu_pct", lambda x: f"{x:.2f}%")
        row("idle CPU, Redis", "idle_redis_cpu_pct", lambda x: f"{x:.2f}%", False)
        row(f"idle CPU, a second {IDLE_SECONDS:.0f} s window after the first and the perf sample: servers / Redis / pings a second", None, str, False,
            fn=lambda r: None if r.get("idle_late_cpu_pct") is None else
            f"{r['idle_late_cpu_pct']:.2f}% / {(r.get('idle_late_redis_cpu_pct') or 0):.2f}% / {r['idle_late_pings_per_s']:,.0f}")
        row("idle: WebSocket pings the server sent (answered), per second", "idle_pings_per_s", lambda x: f"{x:,.0f}/s", False)
        row(f"direct {RATE:,.0f} msg/s for {DURATION:.0f} s: p50", "send_p50_us", us)
        row("direct: p99 (goal < 5 ms)", "send_p99_us", us)
        row("direct: p99.9", "send_p999_us", us)
        row("direct: max", "send_max_us", us)
        row("direct: messages lost / POST errors", None, str, False,
            fn=lambda r: None if r.get("send_lost") is None else f"{r['send_lost']} / {r['send_post_errors']}")
        row("direct: the client's own lateness in sending, p99 (worst process)", "send_late_p99_us_max", us)
        row("direct: server CPU (cores)", "send_cpu_cores", lambda x: f"{x:.2f}")
        row("direct: client CPU (cores, all client processes)", "send_client_cpu_cores", lambda x: f"{x:.2f}")
        row("direct: the rest of the machine (cores: other processes, unattributed softirq)", "send_other_cpu_cores", lambda x: f"{x:.2f}", False)
        row("direct: Redis CPU (cores)", "send_redis_cpu_cores", lambda x: f"{x:.2f}", False)
        row("subscribe every client (pipelined POSTs)", "subscribe_seconds", lambda x: f"{x:.1f} s")
        row("one publish → the last client has it (goal < 250 ms)", "publish_ms", lambda x: f"{x:,.1f} ms")
        row("the publish POST answered after", "publish_post_ms", lambda x: f"{x:,.1f} ms")
        row("exactly once (each seq once, in order)", "exactly_once", str, False)
        row("RSS 5 s after every client left", "rss_after_close_5s", mib)
        row("RSS at the end of the wait", None, str, False,
            fn=lambda r: None if r.get("rss_after_close") is None else
            f"{mib(r['rss_after_close'])} after {r['rss_after_close_seconds']:.0f} s: {'back within 10%' if r['rss_returned'] else 'NOT within 10%'}")
        row("RSS after malloc_trim(0) in the server (gdb), if not back", "rss_after_trim", mib)
        row("anonymous RSS (heap and stacks, not code pages): start → end of the wait", None, str, False,
            fn=lambda r: None if r.get("rss_anon_after_close") is None else
            f"{mib(r['rss_anon_before'])} → {mib(r['rss_anon_after_close'])}")
        row("failures", None, str, False, fn=lambda r: "; ".join(r["failures"])[:300] if r["failures"] else "none")
        sections.append("\n".join(lines))
    return results, "\n\n".join(sections)


def plots(results):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("no matplotlib: plots skipped (apt-get install -y python3-matplotlib)")
        return []
    made = []
    series = {}
    # A run measured again (APPEND=1) replaces the earlier one, as in the tables.
    for r in {(r["server"], r["n"]): r for r in results}.values():
        series.setdefault(r["server"], []).append(r)
    for s in series:
        series[s].sort(key=lambda r: r["n"])
    styles = {"courier": ("tab:blue", "o"), "courier-poll": ("tab:green", "s"), "hummingbird": ("tab:orange", "^")}

    def plot(filename, title, ylabel, key, scale=1.0, goal=None, logy=False, keys=None):
        fig, ax = plt.subplots(figsize=(7, 4.5))
        any_point = False
        for s, rs in series.items():
            for k, dash in (keys or [(key, "-")]):
                pts = [(r["n"], r[k] * scale) for r in rs if r.get(k) is not None]
                if pts:
                    any_point = True
                    color, marker = styles.get(s, ("gray", "x"))
                    ax.plot([p[0] for p in pts], [p[1] for p in pts], dash, color=color, marker=marker,
                            label=LABELS.get(s, s) + ("" if not keys else f" {k.split('_')[1]}"))
        if goal is not None:
            ax.axhline(goal, color="red", linestyle=":", label="goal")
        if not any_point:
            plt.close(fig)
            return
        ax.set_xscale("log")
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel("concurrent channel clients (N)")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = os.path.join(HERE, filename)
        fig.savefig(path, dpi=100)
        plt.close(fig)
        made.append(filename)

    plot("memory-per-client.png", "Server memory per idle channel client", "KiB per client", "bytes_per_client", 1 / 1024, goal=2)
    plot("publish-completion.png", "One topic publish to all N: until the last client has it", "ms", "publish_ms", goal=250, logy=True)
    plot("latency-percentiles.png", f"Direct sendMessage at {RATE:,.0f} msg/s: latency", "µs (log)", None, logy=True, goal=5000,
         keys=[("send_p50_us", "-"), ("send_p99_us", "--"), ("send_p999_us", ":")])
    plot("idle-cpu.png", f"Idle CPU of the server processes over {IDLE_SECONDS:.0f} s", "% of one core", "idle_cpu_pct")
    plot("connect-time.png", "Time to open all N channels", "s", "connect_seconds")
    return made


def write_report():
    results, tables = report()
    made = plots(results)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    failures = [f"- {LABELS.get(r['server'], r['server'])} at N = {r['n']:,}: " + "; ".join(r["failures"]) for r in results if r["failures"]]
    problems = [f"- {LABELS.get(r['server'], r['server'])} at N = {r['n']:,}: " + ", ".join(f"{k} ×{v}" for k, v in r["problems"].items())
                for r in results if r.get("problems")]
    section = f"""## Scale (Benchmarks/scale/run.sh)

- Date: {now}; the runs started {results[0]["started"] if results else "?"} to {results[-1]["started"] if results else "?"}
- Command(s): {"; ".join(f"`{c}`" for c in dict.fromkeys(r.get("command") or E.get("CMDLINE", "Benchmarks/scale/run.sh") for r in results))}
- Machine: {E.get("MACHINE", "")} (load average before measuring: {E.get("LOAD_AT_START", "?")}; after: {E.get("LOAD_AT_END", "?")}; the machine is shared with another engineer, whose builds wait on the build lock this run holds)
- Setup: nothing pinned; servers, Redis and the load clients share the 2 cores. Up to N = {SINGLE_MAX:,}: one Courier process (`Benchmarks/channel/courier/ChannelBench --workers {WORKERS}`, in-memory engine); above: {NODES} `ChannelNode --reuse-port --workers 1 --redis` processes on one port and one `redis-server` (its RSS and CPU reported on their own rows). Hummingbird: `HBChannel --threads {WORKERS}` (one process), up to N = {HB_MAX:,}. Each process may hold at most 20,000 file descriptors, so the clients are spread over ceil(N / {PER_PROCESS:,}) `ChannelLoad hold` processes (IDs unique by prefix), each over {len(SOURCES)} loopback source addresses. Every client opens its channel through the real protocol (Courier: `POST /token?c=ID`, ChannelNode: `GET /token?client=ID`, then `/_ah/channel/ws` and the open frame until `opened`; long-poll: `POST /_ah/channel/poll` with token, session, seq, cid, polling again on each answer; Hummingbird: `/ws?c=ID` until its `opened`).
- Memory: VmRSS summed over the server processes, 1 s after start (before) and 2 s after the last channel opened; per client = the difference / N. Idle CPU: utime + stime of the servers over {IDLE_SECONDS:.0f} s with nothing sent. Direct: {RATE:,.0f} `POST /send` per second in all for {DURATION:.0f} s, split evenly over the client processes, each sending to its own clients round-robin over {POSTERS} keep-alive connections (ChannelNode, which answers once Redis holds the message: {NODE_POSTERS_TOTAL} in all, as Benchmarks/cluster/run.sh), open loop (latency from each message's scheduled time to its arrival; a message still missing after the drain counts as a lower bound); percentiles over every message of every process. Publish: every client subscribed (`POST /subscribe`, pipelined), then one `POST /publish`; the time from just before that POST to the last client's copy (the maximum over the processes). Then every client closes and RSS is watched every 5 s until it is within 10% of the start, at most {RELEASE_WAIT:.0f} s (Courier keeps a session for its 120 s recovery window after its client leaves).

{tables}
"""
    if failures:
        section += "\nWhat failed:\n\n" + "\n".join(failures) + "\n"
    if problems:
        section += "\nIn the server logs (pattern × lines):\n\n" + "\n".join(problems) + "\n"
    details = []
    for r in results:
        label = f"{LABELS.get(r['server'], r['server'])} at N = {r['n']:,}"
        if r.get("fds"):
            details.append(f"- {label}: file descriptors per server process with the clients open: {r['fds']}")
        for step in ("ready", "send", "publish", "check"):
            if r["steps"].get(step):
                details.append(f"- {label}, {step}, per client process: " + "; ".join(
                    " ".join(f"{k}={v}" for k, v in a.items() if k not in ("problem",)) for a in r["steps"][step]))
        for who, top in (r.get("perf") or {}).items():
            details.append(f"- {label}, `perf record -g` of one idle {who} process, {PERF_SECONDS:.0f} s, top symbols: " + " · ".join(f"`{' '.join(w for w in t.split() if w != '-')}`" for t in top[:8]))
        if r.get("redis_info"):
            details.append(f"- {label}, Redis INFO with the clients, after the publish: " + ", ".join(f"{k}={v}" for k, v in r["redis_info"].items()))
        if r.get("redis_info_after_close"):
            details.append(f"- {label}, Redis INFO {r.get('rss_after_close_seconds', 0):.0f} s after every client left: "
                           + ", ".join(f"{k}={v}" for k, v in r["redis_info_after_close"].items() if k != "slowlog")
                           + f"; Redis RSS {mib(r.get('redis_rss_after_close'))}")
    if details:
        section += "\n<details><summary>Each run: the raw answers, profiles and Redis</summary>\n\n" + "\n".join(details) + "\n\n</details>\n"
    if made:
        section += "\nPlots: " + ", ".join(f"[{m}](scale/{m})" for m in made) + "\n"
    try:
        section += "\n" + open(os.path.join(HERE, "NOTES.md")).read().strip() + "\n"
    except FileNotFoundError:
        pass
    print(section)
    if E.get("WRITE_RESULTS", "1") == "1":
        path = E.get("RESULTS_MD", os.path.join(ROOT, "Benchmarks/RESULTS.md"))
        text = open(path).read() if os.path.exists(path) else "# Benchmark results\n"
        pattern = re.compile(r"^## Scale \(Benchmarks/scale/run\.sh\)\n.*?(?=^## |\Z)", re.S | re.M)
        if pattern.search(text):
            text = pattern.sub(lambda m: section + "\n", text, count=1)
        else:
            text = text.rstrip("\n") + "\n\n" + section
        open(path, "w").write(text.rstrip("\n") + "\n")
        log(f"wrote {path}")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if len(sys.argv) != 2 or sys.argv[1] not in ("measure", "report"):
        sys.exit("usage: scale.py measure|report")
    measure() if sys.argv[1] == "measure" else write_report()
