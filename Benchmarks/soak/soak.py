"""The soak: a real redis-server and two ChannelNode processes (the Redis engine), the fault proxy
in front of them, worker processes with a few hundred to a few thousand channel clients
(WebSocket and long-poll) each receiving numbered messages at a steady rate, and the faults:
connections reset and stalled at random (proxy), handshakes abandoned and garbage frames
(vandal), node2 restarted with SIGTERM and SIGKILLed in turn, node1 restarted with SIGTERM once
early on (so that its second half, where the slopes are measured, is one process). At the end:
the workers' exactly-once ledgers, the nodes' memory and descriptors (slopes over the second
half), their exit codes and their logs. Writes summary.json (which plots.py draws) and
summary.txt into --out; exit status 1 on any failure.

    python3 soak.py --mode short|long --node-bin PATH --out DIR [--clients N] [--duration S] ...
"""

import argparse
import asyncio
import json
import os
import random
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "Tests", "cluster"))

import cluster  # noqa: E402
from cluster import Node, Process, tail  # noqa: E402
from fault_proxy import FaultProxy  # noqa: E402
from vandal import Vandal  # noqa: E402

MODES = {
    # clients; publishing seconds; seconds between a client's messages; worker processes; the
    # nodes' recovery window and heartbeat; clients kept away past the window (per worker);
    # resets and stalls per second, the longest stall (kept under the window less what a silent
    # connection takes to be noticed, so that a stall alone never costs a session); node faults
    # at fractions of the publishing time (long mode: see long_node_faults)
    "short": dict(clients=600, duration=100, interval=2.0, workers=1, window=20, heartbeat=10, away=6, drops=3.0,
                  stalls=0.5, stall_max=10.0,
                  node_faults=[(0.2, "node1", "term"), (0.4, "node2", "term"), (0.7, "node2", "kill")]),
    "long": dict(clients=2400, duration=1860, interval=3.0, workers=2, window=120, heartbeat=30, away=15, drops=6.0,
                 stalls=0.5, stall_max=40.0, node_faults=None),
}
WARMUP_FRACTION = 0.5  # slopes over the second half of publishing
# A line a node logs at warning or above that the soak expects, with why. Empty: none is.
EXPECTED_LOG_LINES = []
LEVEL = re.compile(r"^\S+ (warning|error|critical) ")
CRASH = re.compile(r"Fatal error|Segmentation fault|Illegal instruction|Aborted|backtrace|Current stack trace")


def long_node_faults(duration):
    """node1 SIGTERMed once early; node2 SIGTERMed and SIGKILLed in turn every 150 s after."""
    faults = [(duration * 0.15, "node1", "term")]
    at, kind = 90.0, "term"
    while at < duration - 60:
        if abs(at - duration * 0.15) > 20:
            faults.append((at, "node2", kind))
            kind = "kill" if kind == "term" else "term"
        at += 150
    return sorted(faults)


class Soak:
    def __init__(self, args):
        self.args = args
        self.out = os.path.abspath(args.out)
        self.folder = os.path.join(self.out, "run")
        os.makedirs(self.folder, exist_ok=True)
        base = args.port_base
        self.redis_port, self.proxy_port = base, base + 10
        self.node_ports = {"node1": base + 1, "node2": base + 2}
        self.samples = []  # (t, name, pid, rss KiB, fds, cpu seconds, proxied connections)
        self.faults = {}
        self.node_events = []  # (t, node, what, detail)
        self.expected_exit = {}  # node -> True while we are stopping it
        self.crashes = []
        self.failures = []
        self.workers = []
        self.vandal = None

    def fault(self, kind, n=1):
        self.faults[kind] = self.faults.get(kind, 0) + n

    # -- the cluster

    def start_redis(self):
        self.redis = Process("redis", self.folder)
        self.redis.spawn(["redis-server", "--port", self.redis_port, "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no", "--dir", self.folder, "--protected-mode", "no",
                          "--maxclients", "10000"], self.redis_port)

    def make_nodes(self):
        data = os.path.join(self.folder, "data")
        os.makedirs(data, exist_ok=True)
        self.nodes = {}
        for name, port in self.node_ports.items():
            def argv(port, name=name):
                return [self.args.node_bin, "--host", "127.0.0.1", "--port", port, "--redis",
                        f"redis://127.0.0.1:{self.redis_port}", "--data-dir", data, "--workers", 2,
                        "--recovery-window", self.args.window, "--heartbeat", self.args.heartbeat,
                        "--presence-log-limit", 1000]
            node = Node(name, self.folder, argv)
            node.port = port
            self.nodes[name] = node
        # The first alone, so that it writes the channel secret the other reads.
        self.nodes["node1"].start()
        self.nodes["node2"].start()

    def up_ports(self):
        return [n.port for n in self.nodes.values() if n.running]

    async def node_fault(self, name, kind):
        node = self.nodes[name]
        t = self.now()
        self.expected_exit[name] = True
        if kind == "term":
            code = await asyncio.to_thread(self._term, node)
            self.node_events.append((t, name, "SIGTERM", f"exit {code} after {self.now() - t:.1f} s"))
            if code != 0:
                self.failures.append(f"{name} exited with {code} on SIGTERM (a graceful stop exits 0)")
            self.fault("node SIGTERM restarts")
        else:
            await asyncio.to_thread(node.kill)
            self.node_events.append((t, name, "SIGKILL", ""))
            self.fault("node SIGKILLs")
            await asyncio.sleep(3)
        await asyncio.to_thread(node.start)
        self.expected_exit[name] = False
        self.node_events.append((self.now(), name, "started", f"pid {node.pid}"))

    @staticmethod
    def _term(node):
        node.process.send_signal(signal.SIGTERM)
        try:
            return node.process.wait(cluster.STOP_SECONDS)
        except subprocess.TimeoutExpired:
            node.kill()
            return None

    def now(self):
        return time.time() - self.t0

    # -- watching

    async def sample(self):
        clock = os.sysconf("SC_CLK_TCK")
        while True:
            t = self.now()
            for name, node in list(self.nodes.items()) + [("redis", self.redis)]:
                proc = node.process
                if proc is None:
                    continue
                if proc.poll() is not None:
                    if name != "redis" and not self.expected_exit.get(name) and proc not in self.crashes:
                        self.crashes.append(proc)
                        self.failures.append(f"{name} (pid {proc.pid}) exited on its own with {proc.returncode} "
                                             f"at {t:.0f} s:\n{tail(node.log, 30)}")
                    continue
                try:
                    status = open(f"/proc/{proc.pid}/status").read()
                    rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
                    fds = len(os.listdir(f"/proc/{proc.pid}/fd"))
                    stat = open(f"/proc/{proc.pid}/stat").read().rsplit(")", 1)[1].split()
                    cpu = (int(stat[11]) + int(stat[12])) / clock
                except (OSError, AttributeError, IndexError, ValueError):
                    continue
                # The connections the soak holds to it: the proxy's pipes and the vandal's sockets
                # (the publishers' few keep-alive connections are not counted: they are steady).
                held = self.proxy.open_to.get(name, 0)
                if self.vandal and name in self.node_ports:
                    held += self.vandal.open.get(self.node_ports[name], 0)
                self.samples.append((round(t, 2), name, proc.pid, rss, fds, cpu, held))
            await asyncio.sleep(1)

    async def drops(self, until):
        while self.now() < until:
            await asyncio.sleep(random.expovariate(self.args.drops))
            self.fault("connections reset (proxy)", self.proxy.drop_random(1))

    async def stalls(self, until):
        while self.now() < until:
            await asyncio.sleep(random.expovariate(self.args.stalls))
            self.fault("connections stalled (proxy)",
                       self.proxy.stall_random(1, lambda: random.uniform(1, self.args.stall_max)))

    async def vandalize(self, until, action, per_second):
        tasks = set()
        while self.now() < until:
            await asyncio.sleep(random.expovariate(per_second))
            task = asyncio.create_task(action())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks, return_exceptions=True)

    async def node_faults(self, schedule):
        for at, name, kind in schedule:
            await asyncio.sleep(max(0, self.publish_at - self.t0 + at - self.now()))
            await self.node_fault(name, kind)

    # -- the run

    async def run(self):
        a = self.args
        self.t0 = time.time()
        self.start_redis()
        self.make_nodes()
        self.proxy = FaultProxy(self.proxy_port, self.node_ports)
        await self.proxy.start()
        sampler = asyncio.create_task(self.sample())
        per_worker = a.clients // a.workers
        ramp = max(10.0, per_worker / 100)
        self.publish_at = time.time() + ramp + 8
        workers = self.workers = []
        for w in range(a.workers):
            config = {
                "index": w, "t0": self.t0, "prefix": f"soak{w}", "clients": per_worker, "long_poll": True,
                "proxy_port": self.proxy_port, "node_ports": list(self.node_ports.values()),
                "interval": a.interval, "tick": 0.1, "lanes": 4, "post_timeout": 5.0, "ramp": ramp,
                "publish_at": self.publish_at, "duration": a.duration, "drain": a.drain,
                "away_clients": a.away, "away_seconds": a.window + a.heartbeat + 15, "give_up": 600.0,
                "seed": a.seed * 100 + w, "out": os.path.join(self.folder, f"worker{w}.json"),
            }
            path = os.path.join(self.folder, f"worker{w}-config.json")
            json.dump(config, open(path, "w"))
            log = open(os.path.join(self.folder, f"worker{w}.log"), "wb")
            workers.append((subprocess.Popen([sys.executable, os.path.join(HERE, "clients.py"), path], stdout=log,
                                             stderr=subprocess.STDOUT, start_new_session=True), config))
        until = self.publish_at - self.t0 + a.duration
        if MODES[a.mode]["node_faults"]:  # at fractions of the publishing time
            schedule = [(f * a.duration, name, kind) for f, name, kind in MODES[a.mode]["node_faults"]]
        else:
            schedule = long_node_faults(a.duration)
        await asyncio.sleep(max(0, self.publish_at - time.time()))
        print(f"[soak] publishing for {a.duration} s to {a.clients} clients; faults: {schedule}", file=sys.stderr)
        vandal = self.vandal = Vandal(self.up_ports)
        chaos = [asyncio.create_task(x) for x in (
            self.drops(until), self.stalls(until), self.node_faults(schedule),
            self.vandalize(until, vandal.half_handshake, a.vandal_rate),
            self.vandalize(until, vandal.garbage, a.vandal_rate))]
        progress = asyncio.create_task(self.progress(workers))
        while any(p.poll() is None for p, _ in workers):
            await asyncio.sleep(1)
        progress.cancel()
        await asyncio.gather(*chaos, return_exceptions=True)
        self.finished_at = self.now()
        sampler.cancel()
        await self.proxy.stop()
        for name, node in self.nodes.items():
            self.expected_exit[name] = True
            code = await asyncio.to_thread(self._term, node) if node.running else node.process.returncode
            self.node_events.append((self.now(), name, "final SIGTERM", f"exit {code}"))
            if node.process.returncode != 0 and node.process not in self.crashes:
                self.failures.append(f"{name} exited with {code} on the final SIGTERM")
            node.kill_group()
        self.redis.terminate(5)
        reports = []
        for process, config in workers:
            if process.returncode != 0 or not os.path.exists(config["out"]):
                log = os.path.join(self.folder, f"worker{config['index']}.log")
                self.failures.append(f"worker {config['index']} exited with {process.returncode}:\n{tail(log)}")
                continue
            reports.append(json.load(open(config["out"])))
        return reports

    async def progress(self, workers):
        """A line a minute: faults so far, each process's figures, and the CPU the soak's own
        processes take (the proxy and vandal here, the clients in the workers)."""
        def cpu(pid):
            try:
                stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
                return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
            except (OSError, IndexError, ValueError):
                return 0.0
        pids = [os.getpid()] + [p.pid for p, _ in workers]
        before, at = [cpu(pid) for pid in pids], time.monotonic()
        while True:
            await asyncio.sleep(60)
            now_cpu, now = [cpu(pid) for pid in pids], time.monotonic()
            cores = [round((b - a) / (now - at), 2) for a, b in zip(before, now_cpu)]
            before, at = now_cpu, now
            last = {s[1]: s for s in self.samples[-6:]}
            print(f"[soak] {self.now():.0f} s: faults {self.faults}; "
                  + ", ".join(f"{n} rss {s[3] // 1024} MiB fds {s[4]} conns {s[6]}" for n, s in sorted(last.items()))
                  + f"; cores: proxy {cores[0]}, workers {cores[1:]}", file=sys.stderr)


# -- the verdict ------------------------------------------------------------------

def slope_per_minute(points):
    """Least-squares slope of (t seconds, value) points, per minute."""
    n = len(points)
    if n < 3:
        return None
    mt = sum(t for t, _ in points) / n
    mv = sum(v for _, v in points) / n
    var = sum((t - mt) ** 2 for t, _ in points)
    if var == 0:
        return None
    return 60 * sum((t - mt) * (v - mv) for t, v in points) / var


def slopes_with_connections(points):
    """Least squares of value ~ a + b*t + c*connections over (t seconds, connections, value):
    (b per minute, c). The clients move between the nodes as each restarts, and a node's memory
    follows its connections; b is the trend at a constant number of connections."""
    n = len(points)
    if n < 3:
        return None, None
    mt, mc, mv = (sum(p[i] for p in points) / n for i in range(3))
    stt = sum((p[0] - mt) ** 2 for p in points)
    scc = sum((p[1] - mc) ** 2 for p in points)
    stc = sum((p[0] - mt) * (p[1] - mc) for p in points)
    stv = sum((p[0] - mt) * (p[2] - mv) for p in points)
    scv = sum((p[1] - mc) * (p[2] - mv) for p in points)
    det = stt * scc - stc * stc
    if det == 0 or stt == 0:
        return slope_per_minute([(p[0], p[2]) for p in points]), None
    return 60 * (stv * scc - scv * stc) / det, (stt * scv - stc * stv) / det


def percentile(sorted_values, q):
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


# Seconds around a node's SIGTERM or SIGKILL left out of the descriptor fit: its clients move to
# the other node at once, and for a few seconds the proxy's count of connections and the node's
# descriptors disagree by hundreds (connections the node has not accepted yet, or has closed
# while the proxy has not yet seen the FIN): noise that would tilt the fit either way.
EVENT_SETTLE = (-2, 30)


def judge_slopes(samples, node_events, start, end, args):
    """Slopes over [start, end] (seconds of the run) per process, and the failures they make.
    Judged, without the seconds around node faults: RSS at a constant number of connections
    (least squares on time and connections) and descriptors beyond the connections the soak
    holds to the node (least squares on time). Reported besides: the plain slopes."""
    faults_at = [t for t, _, what, _ in node_events if what in ("SIGTERM", "SIGKILL")]

    def settled(t):
        return not any(at + EVENT_SETTLE[0] <= t <= at + EVENT_SETTLE[1] for at in faults_at)

    slopes, failures = {}, []
    for name in ("node1", "node2", "redis"):
        series = [s for s in samples if s[1] == name and start <= s[0] <= end]
        for pid in sorted({s[2] for s in series}):
            points = [s for s in series if s[2] == pid]
            if len(points) < 30:
                continue
            calm = [s for s in points if settled(s[0])] or points
            span = points[-1][0] - points[0][0]
            excess = slope_per_minute([(s[0], s[4] - s[6]) for s in calm]) or 0.0
            adjusted, per_connection = slopes_with_connections([(s[0], s[6], s[3]) for s in calm])
            slopes[f"{name} pid {pid}"] = {
                "name": name, "from_s": points[0][0], "to_s": points[-1][0], "minutes": round(span / 60, 1),
                "rss_kib_first": points[0][3], "rss_kib_last": points[-1][3],
                "rss_kib_per_min": round(slope_per_minute([(s[0], s[3]) for s in points]), 1),
                "rss_kib_per_min_adjusted": round(adjusted, 1),
                "rss_kib_per_connection": round(per_connection, 2) if per_connection is not None else None,
                "connections_first": points[0][6], "connections_last": points[-1][6],
                "fds_first": points[0][4], "fds_last": points[-1][4],
                "fds_per_min": round(slope_per_minute([(s[0], s[4]) for s in points]), 2),
                "excess_fds_per_min": round(excess, 3),
                "excess_fds_min_max": [min(s[4] - s[6] for s in calm), max(s[4] - s[6] for s in calm)],
                "excess_samples": len(calm),
                "cpu_cores": round((points[-1][5] - points[0][5]) / span, 3) if span else None,
                "whole_half": span > 0.9 * (end - start),
            }
    for key, s in slopes.items():
        if s["name"] == "redis" or not s["whole_half"]:
            continue
        if s["rss_kib_per_min_adjusted"] > args.max_rss_slope:
            failures.append(f"{key}: RSS grows {s['rss_kib_per_min_adjusted']} KiB/min at a constant number of "
                            f"connections over the second half (limit {args.max_rss_slope})")
        if s["excess_fds_per_min"] * s["minutes"] > args.max_fd_growth:
            failures.append(f"{key}: descriptors beyond its connections grow {s['excess_fds_per_min']}/min, "
                            f"{s['excess_fds_per_min'] * s['minutes']:.1f} over the half (limit {args.max_fd_growth})")
    if not any(s["whole_half"] and s["name"] == "node1" for s in slopes.values()):
        failures.append("no node process lived through the whole second half: no slope to judge")
    return slopes, failures


def rejudge(path, args):
    """Judges a finished run's slopes again with this file's rules (the delivery checks, logs and
    faults stand as the run found them); rewrites its summary.json and summary.txt."""
    v = json.load(open(path))
    if "publish_start_s" not in v:  # a summary written before it was recorded
        config = json.load(open(os.path.join(os.path.dirname(os.path.abspath(path)), "run", "worker0-config.json")))
        v["publish_start_s"] = round(config["publish_at"] - config["t0"], 2)
    start = v["publish_start_s"] + v["publish_seconds"] * WARMUP_FRACTION
    end = v["publish_start_s"] + v["publish_seconds"]
    slopes, slope_failures = judge_slopes(v["samples"], v["node_events"], start, end, args)
    slope_words = ("RSS grows", "descriptors beyond", "no node process lived", "unexpected warning")
    unexpected = v.get("unexpected_log_lines", [])
    if unexpected:
        slope_words = slope_words[:3]
    v["failures"] = [f for f in v["failures"] if not any(w in f for w in slope_words)] + slope_failures
    v["slopes"] = slopes
    v["thresholds"] = {"rss_kib_per_min": args.max_rss_slope, "excess_fds_over_half": args.max_fd_growth}
    v["ok"] = not v["failures"]
    folder = os.path.dirname(os.path.abspath(path))
    json.dump(v, open(path, "w"), indent=1)
    text = text_summary(v)
    open(os.path.join(folder, "summary.txt"), "w").write(text + "\n")
    print(text)
    return v["ok"]


def log_findings(soak):
    unexpected, expected = [], {}
    for node in soak.nodes.values():
        try:
            lines = open(node.log, errors="replace").read().splitlines()
        except OSError:
            continue
        for line in lines:
            if LEVEL.match(line) or CRASH.search(line):
                why = next((why for pattern, why in EXPECTED_LOG_LINES if re.search(pattern, line)), None)
                if why:
                    expected[why] = expected.get(why, 0) + 1
                else:
                    unexpected.append(f"{node.name}: {line[:300]}")
    return unexpected, expected


def verdict(soak, reports, args):
    total = {k: sum(r[k] for r in reports) for k in (
        "clients", "websocket", "long_poll", "sent", "received", "skipped_after_410", "stayed", "stayed_exact",
        "sent_away", "away_got_410", "away_reopened_complete", "reopened", "reconnects", "problems", "posts",
        "renumbered")}
    errors, post_failures = {}, {}
    for r in reports:
        for k, v in r["errors"].items():
            errors[k] = errors.get(k, 0) + v
        for k, v in r["post_failures"].items():
            post_failures[k] = post_failures.get(k, 0) + v
    problems = [p for r in reports for p in r["problem_clients"]]
    failures = list(soak.failures)
    if total["problems"]:
        failures.append(f"{total['problems']} delivery problems (gaps, duplicates, unexpected errors); e.g. "
                        + json.dumps(problems[:5]))
    if total["stayed_exact"] != total["stayed"]:
        failures.append(f"{total['stayed'] - total['stayed_exact']} clients that stayed within the window did not "
                        "get every message exactly once in order")
    if total["away_got_410"] != total["sent_away"] or total["away_reopened_complete"] != total["sent_away"]:
        failures.append(f"of {total['sent_away']} clients kept away past the window, {total['away_got_410']} got 410 "
                        f"and {total['away_reopened_complete']} reopened and got the rest")
    if total["renumbered"]:
        failures.append(f"{total['renumbered']} messages to clients never sent away got a seq other than their number")

    # Latency per window of 10 s.
    windows = {}
    for r in reports:
        for k, v in r["latency_windows"].items():
            windows.setdefault(int(k), []).extend(v)
    latency = []
    everything = []
    for k in sorted(windows):
        values = sorted(windows[k])
        everything.extend(values)
        latency.append({"t": k * 10, "count": len(values), "p50_ms": percentile(values, 0.5),
                        "p99_ms": percentile(values, 0.99), "max_ms": values[-1]})
    everything.sort()
    overall = {q: percentile(everything, p) for q, p in
               (("p50_ms", 0.5), ("p90_ms", 0.9), ("p99_ms", 0.99), ("p999_ms", 0.999))}
    overall["max_ms"] = everything[-1] if everything else None

    start = soak.publish_at - soak.t0 + args.duration * WARMUP_FRACTION
    end = soak.publish_at - soak.t0 + args.duration
    slopes, slope_failures = judge_slopes(soak.samples, soak.node_events, start, end, args)
    failures += slope_failures

    unexpected, expected = log_findings(soak)
    if unexpected:
        failures.append(f"{len(unexpected)} unexpected warning/error log lines, e.g.:\n  " + "\n  ".join(unexpected[:10]))

    faults = dict(soak.faults)
    for kind, n in soak.vandal.counts.items():
        group = "handshakes abandoned half-way" if kind.startswith("half") else "garbage WebSockets"
        faults[group] = faults.get(group, 0) + n
    faults["clients kept away past the recovery window"] = total["sent_away"]
    for kind in ("connections reset (proxy)", "connections stalled (proxy)", "node SIGTERM restarts",
                 "node SIGKILLs", "handshakes abandoned half-way", "garbage WebSockets",
                 "clients kept away past the recovery window"):
        if faults.get(kind, 0) < 1:
            failures.append(f"fault kind never injected: {kind}")
    return {
        "mode": args.mode, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(soak.t0)),
        "command": args.command, "publish_seconds": args.duration,
        "publish_start_s": round(soak.publish_at - soak.t0, 2), "run_seconds": round(soak.finished_at),
        "interval_s": args.interval, "recovery_window_s": args.window, "totals": total, "error_frames": errors,
        "post_failures": post_failures, "faults": faults, "vandal_outcomes": soak.vandal.outcomes,
        "node_events": soak.node_events, "latency_overall": overall, "latency_windows": latency,
        "slopes": slopes, "thresholds": {"rss_kib_per_min": args.max_rss_slope, "excess_fds_over_half": args.max_fd_growth},
        "expected_log_lines": expected, "unexpected_log_lines": unexpected[:50], "failures": failures,
        "ok": not failures,
    }


def text_summary(v):
    t = v["totals"]
    lines = [
        f"soak ({v['mode']}), {v['date']}: {'PASS' if v['ok'] else 'FAIL'}",
        f"  {t['clients']} clients ({t['websocket']} WebSocket, {t['long_poll']} long-poll), one message every "
        f"{v['interval_s']} s each for {v['publish_seconds']} s; recovery window {v['recovery_window_s']} s",
        f"  messages sent {t['sent']:,}, received {t['received']:,}, delivery problems {t['problems']}; "
        f"never lost within the window: {t['stayed_exact']} of {t['stayed']} clients exact",
        f"  kept away past the window: {t['sent_away']}, got 410: {t['away_got_410']}, reopened and complete: "
        f"{t['away_reopened_complete']} (numbers skipped across those 410s: {t['skipped_after_410']})",
        f"  reconnects {t['reconnects']:,}; error frames {v['error_frames']}; POST /send retries {v['post_failures']}",
        "  faults: " + ", ".join(f"{k} {n}" for k, n in sorted(v["faults"].items())),
        "  latency (send to receipt, clients never sent away): " + ", ".join(f"{k} {x}" for k, x in v["latency_overall"].items()),
    ]
    for key, s in sorted(v["slopes"].items()):
        lines.append(f"  {key} over {s['minutes']} min{'' if s['whole_half'] else ' (part of the half)'}: RSS "
                     f"{s['rss_kib_first']} -> {s['rss_kib_last']} KiB, slope {s['rss_kib_per_min']} KiB/min, at "
                     f"constant connections {s['rss_kib_per_min_adjusted']} KiB/min ({s['rss_kib_per_connection']} "
                     f"KiB per connection; {s['connections_first']} -> {s['connections_last']}); fds "
                     f"{s['fds_first']} -> {s['fds_last']}, slope {s['fds_per_min']}/min, beyond connections "
                     f"{s['excess_fds_per_min']}/min (range {s['excess_fds_min_max']}); CPU {s['cpu_cores']} cores")
    lines.append("  node events: " + "; ".join(f"{t:.0f}s {n} {w} {d}".strip() for t, n, w, d in v["node_events"]))
    if v["expected_log_lines"]:
        lines.append(f"  expected log lines: {v['expected_log_lines']}")
    for f in v["failures"]:
        lines.append("  FAILURE: " + f)
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=MODES, default="short")
    parser.add_argument("--node-bin")
    parser.add_argument("--out")
    parser.add_argument("--port-base", type=int, default=27100)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--drain", type=float, default=60)
    parser.add_argument("--vandal-rate", type=float, default=0.5, help="of each kind, per second")
    parser.add_argument("--max-rss-slope", type=float, default=None)
    # A leak per fault or per connection would add hundreds of descriptors over the half (faults
    # come several a second); a handful is the noise of sampling counts that change as we read.
    parser.add_argument("--max-fd-growth", type=float, default=5.0,
                        help="descriptors beyond connections the fitted slope may add over the half")
    parser.add_argument("--command", default="")
    parser.add_argument("--judge", metavar="SUMMARY", help="judge a finished run's slopes again; runs nothing")
    for key, value in MODES["short"].items():
        if key != "node_faults":
            parser.add_argument("--" + key.replace("_", "-"), type=type(value), default=None)
    args = parser.parse_args()
    for key, value in MODES[args.mode].items():
        if key != "node_faults" and getattr(args, key) is None:
            setattr(args, key, value)
    if args.max_rss_slope is None:
        # Long: 256 KiB/min is under 4 MiB over the 15-minute half (a tenth of a node), and
        # what a leak of 1 KiB per reconnection or 10 bytes per message would add. Short: the
        # half is under a minute of a process just restarted and filling with connections, so
        # only a gross leak is judged.
        args.max_rss_slope = 8192 if args.mode == "short" else 256
    if args.judge:
        sys.exit(0 if rejudge(args.judge, args) else 1)
    if not args.node_bin or not args.out:
        parser.error("--node-bin and --out are needed to run")
    random.seed(args.seed)
    soak = Soak(args)

    def stop(signum, frame):
        cluster.stop_everything()
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    try:
        reports = asyncio.run(soak.run())
    finally:
        cluster.stop_everything()
        for process, _ in soak.workers:
            if process.poll() is None:
                process.kill()
    v = verdict(soak, reports, args)
    v["samples"] = soak.samples
    json.dump(v, open(os.path.join(soak.out, "summary.json"), "w"), indent=1)
    text = text_summary(v)
    open(os.path.join(soak.out, "summary.txt"), "w").write(text + "\n")
    print(text)
    sys.exit(0 if v["ok"] else 1)


if __name__ == "__main__":
    main()
