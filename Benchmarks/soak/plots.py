"""The soak's figures: each node process's RSS and open descriptors over the run (restarts and
kills marked), and delivery latency (p50, p99 per 10 s window) over the run."""

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _marks(ax, v):
    for t, name, what, _ in v["node_events"]:
        if what in ("SIGTERM", "SIGKILL"):
            ax.axvline(t / 60, color="red" if what == "SIGKILL" else "orange", lw=0.8, alpha=0.6)


def _per_process(v, column):
    lines = {}
    for s in v["samples"]:
        lines.setdefault((s[1], s[2]), []).append((s[0] / 60, column(s)))
    return lines


def draw(v, out, prefix="soak-"):
    colors = {"node1": "tab:blue", "node2": "tab:green", "redis": "tab:gray"}
    paths = []
    for name, label, column in (("rss", "RSS (MiB)", lambda s: s[3] / 1024),
                                ("fds", "open descriptors", lambda s: s[4])):
        fig, ax = plt.subplots(figsize=(10, 4.2))
        seen = set()
        for (node, pid), points in sorted(_per_process(v, column).items()):
            ax.plot([p[0] for p in points], [p[1] for p in points], color=colors[node], lw=0.8,
                    label=None if node in seen else node)
            seen.add(node)
        if name == "rss":
            # Memory follows connections as clients move between the nodes: show them alongside.
            twin = ax.twinx()
            for (node, pid), points in sorted(_per_process(v, lambda s: s[6]).items()):
                if node != "redis":
                    twin.plot([p[0] for p in points], [p[1] for p in points], color=colors[node], lw=0.5, ls=":",
                              alpha=0.7)
            twin.set_ylabel("connections held to the node (dotted)")
        if name == "fds":
            for node in ("node1", "node2"):
                for (n, pid), points in sorted(_per_process(v, lambda s: s[4] - s[6]).items()):
                    if n == node:
                        ax.plot([p[0] for p in points], [p[1] for p in points], color=colors[node], lw=0.8, ls=":",
                                label=f"{node} beyond its proxied connections" if (node, "x") not in seen else None)
                        seen.add((node, "x"))
        _marks(ax, v)
        ax.set_xlabel("minutes (orange: SIGTERM restart, red: SIGKILL)")
        ax.set_ylabel(label)
        ax.set_title(f"Soak ({v['mode']}, {v['date']}): {label} per process")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
        fig.tight_layout()
        path = os.path.join(out, f"{prefix}{name}.png")
        fig.savefig(path, dpi=90)
        plt.close(fig)
        paths.append(path)
    fig, ax = plt.subplots(figsize=(10, 4.2))
    w = v["latency_windows"]
    ax.plot([x["t"] / 60 for x in w], [x["p50_ms"] for x in w], label="p50", lw=0.9)
    ax.plot([x["t"] / 60 for x in w], [x["p99_ms"] for x in w], label="p99", lw=0.9)
    ax.set_yscale("log")
    _marks(ax, v)
    ax.set_xlabel("minutes (orange: SIGTERM restart, red: SIGKILL)")
    ax.set_ylabel("send to receipt (ms, log scale)")
    ax.set_title(f"Soak ({v['mode']}): delivery latency per 10 s window")
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path = os.path.join(out, f"{prefix}latency.png")
    fig.savefig(path, dpi=90)
    plt.close(fig)
    paths.append(path)
    return paths


if __name__ == "__main__":
    import json
    import sys

    for path in draw(json.load(open(sys.argv[1])), sys.argv[2], *sys.argv[3:4]):
        print(path)
