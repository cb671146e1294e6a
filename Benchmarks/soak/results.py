"""Writes the long soak's summary.json as the section "## Soak (Benchmarks/soak/run.sh)" of
Benchmarks/RESULTS.md (replacing that section, keeping the others), followed by
Benchmarks/soak/NOTES.md (written by hand).

    python3 results.py SUMMARY.json RESULTS.md
"""

import os
import platform
import re
import subprocess
import sys


def machine():
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"nproc {os.cpu_count()}, {cpu}, Linux {platform.release()}"


def redis_version():
    try:
        return subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()[2]
    except (OSError, IndexError):
        return "?"


def section(v):
    t = v["totals"]
    f = v["faults"]
    lines = [
        "## Soak (Benchmarks/soak/run.sh)",
        "",
        f"- Date: {v['date']} ({v['run_seconds'] // 60} min {v['run_seconds'] % 60} s in all, "
        f"{v['publish_seconds'] // 60} min {v['publish_seconds'] % 60} s of publishing)",
        f"- Command: `{v['command']}`",
        f"- Machine: {machine()}; redis-server {redis_version()}; release build",
        f"- Setup: two `Examples/ChannelNode` processes (`--workers 2 --redis ... --recovery-window "
        f"{v['recovery_window_s']}`) on one redis-server, behind the soak's fault proxy (each new connection to "
        f"the node with fewer); {t['clients']:,} channel clients ({t['websocket']:,} WebSocket, {t['long_poll']:,} "
        f"long-poll, Tests/cluster's Python clients) in 2 worker processes, each client sent one numbered message "
        f"every {v['interval_s']} s (batched POST /send straight to the nodes, retried with idempotency keys); "
        "every message frame checked as it arrived, before any deduplication.",
        f"- Verdict: **{'PASS' if v['ok'] else 'FAIL'}**" + ("" if v["ok"] else ": " + "; ".join(v["failures"])),
        "",
        "| what | figure |",
        "|---|---:|",
        f"| messages sent (accepted by a node) | {t['sent']:,} |",
        f"| messages received, in order, once | {t['received']:,} |",
        f"| gaps, duplicates, reorderings, unexpected errors | {t['problems']} |",
        f"| clients that stayed within the window and got every message exactly once, in order | "
        f"{t['stayed_exact']:,} of {t['stayed']:,} |",
        f"| clients kept away past the window: got 410, then reopened and got the rest | "
        f"{t['away_got_410']} and {t['away_reopened_complete']} of {t['sent_away']} |",
        f"| numbers never delivered, all right after a 410 (sent while those clients were away) | "
        f"{t['skipped_after_410']:,} |",
        f"| reconnections (resumes) | {t['reconnects']:,} |",
        f"| POST /send retried (node restarting or killed) | {sum(v['post_failures'].values()):,} |",
    ]
    for kind in ("connections reset (proxy)", "connections stalled (proxy)", "handshakes abandoned half-way",
                 "garbage WebSockets", "node SIGTERM restarts", "node SIGKILLs",
                 "clients kept away past the recovery window"):
        lines.append(f"| fault: {kind} | {f.get(kind, 0):,} |")
    lo = v["latency_overall"]
    lines.append(f"| delivery latency (send to receipt) p50 / p90 / p99 / p99.9 / max | {lo['p50_ms']} / "
                 f"{lo['p90_ms']} / {lo['p99_ms']} / {lo['p999_ms']} / {lo['max_ms']:,} ms |")
    lines += ["", "Memory and descriptors over the second half of publishing (least-squares slopes of one sample a "
              "second; \"beyond connections\" is the node's descriptors less the connections the soak holds to it; "
              "node1 served the whole half, each node2 process a part of it, between its restarts):",
              "", "| process | minutes | RSS first → last | RSS slope | RSS slope at constant connections (judged) | "
              "fds first → last | fds slope | fds beyond connections: slope (range; judged) | CPU (cores) |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for key, s in sorted(v["slopes"].items()):
        lines.append(f"| {key}{'' if s['whole_half'] else ' (part)'} | {s['minutes']} | "
                     f"{s['rss_kib_first'] / 1024:.1f} → {s['rss_kib_last'] / 1024:.1f} MiB | "
                     f"{s['rss_kib_per_min']} KiB/min | {s.get('rss_kib_per_min_adjusted', '–')} KiB/min | "
                     f"{s['fds_first']} → {s['fds_last']} | {s['fds_per_min']}/min | "
                     f"{s['excess_fds_per_min']}/min ({s['excess_fds_min_max'][0]}…{s['excess_fds_min_max'][1]}) | "
                     f"{s['cpu_cores']} |")
    lines += ["", f"Limits: RSS {v['thresholds']['rss_kib_per_min']} KiB/min, descriptors beyond connections "
              f"growing by at most {v['thresholds']['excess_fds_over_half']} over the half (fitted), judged for node "
              "processes that lived through the whole half.",
              "", "![RSS per node process](soak/soak-rss.png)", "",
              "![Descriptors per node process](soak/soak-fds.png)", "",
              "![Delivery latency, p50 and p99 per 10 s](soak/soak-latency.png)", "",
              "<details><summary>Node events, error frames, vandal outcomes</summary>", "",
              "- node events: " + "; ".join(f"{t:.0f} s {n} {w} {d}".strip() for t, n, w, d in v["node_events"]),
              f"- error frames seen by clients: {v['error_frames']}",
              f"- POST /send retries by cause: {v['post_failures']}",
              "- what the nodes did with the vandal's connections: "
              + "; ".join(f"{k} ×{n}" for k, n in sorted(v["vandal_outcomes"].items())),
              f"- expected warning lines: {v['expected_log_lines'] or 'none'}; unexpected: "
              f"{len(v['unexpected_log_lines'])}", "", "</details>", ""]
    return "\n".join(lines)


def main():
    import json
    v = json.load(open(sys.argv[1]))
    path = sys.argv[2]
    text = section(v)
    notes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "NOTES.md")
    if os.path.exists(notes):
        text += "\n" + open(notes).read().strip() + "\n"
    try:
        results = open(path).read()
    except FileNotFoundError:
        results = "# Benchmark results\n"
    pattern = re.compile(r"^## Soak \(Benchmarks/soak/run\.sh\)\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(results):
        results = pattern.sub(lambda m: text + "\n", results, count=1)
    else:
        results = results.rstrip("\n") + "\n\n" + text
    open(path, "w").write(results.rstrip("\n") + "\n")
    print(f"[soak] wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
