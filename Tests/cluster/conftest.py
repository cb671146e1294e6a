"""Fixtures: a cluster (redis-server, ChannelNode processes, nginx in front) per test, stopped
when the test ends whatever happened; on a failure, the tail of every process's log is printed
with the report."""

import os
import signal
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "interop"))  # browser.py

from cluster import CHANNELNODE_BIN, Nginx, Redis, channel_node, stop_everything, tail  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "runs_last: a test whose scenario starts in the background when the "
                            "session starts (its module's begin()) and which collects it at the end")
    # run.sh's `timeout` sends SIGTERM: stop every process the tests started, then let pytest
    # tear its fixtures down (browsers) and report, as it does for Ctrl-C.
    def stop(signum, frame):
        stop_everything()
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)


class Cluster:
    """redis-server, `size` ChannelNode processes sharing it and one data dir (so one token
    secret), and nginx spreading requests over them round robin."""

    def __init__(self, folder, size=3, make_node=None):
        self.folder = str(folder)
        self.processes = []
        self.redis = Redis(self.folder)
        self.processes.append(self.redis)
        self.data_dir = os.path.join(self.folder, "data")
        os.makedirs(self.data_dir, exist_ok=True)
        make_node = make_node or (lambda cluster, name: channel_node(name, cluster.folder, cluster.redis, cluster.data_dir))
        self.nodes = [make_node(self, f"node{i}") for i in range(size)]
        for node in self.nodes:
            self.processes.append(node)
            node.start()
        self.nginx = Nginx(self.folder, self.nodes)
        self.processes.append(self.nginx)

    def node_at(self, upstream):
        """The node an `X-Upstream` value names (nginx lists every address it tried; the last served)."""
        address = (upstream or "").split(",")[-1].strip()
        for node in self.nodes:
            if node.address == address:
                return node
        return None

    def stop(self):
        """Stops everything; returns the nodes that exited on their own (crashed) meanwhile."""
        crashed = [node for node in getattr(self, "nodes", [])
                   if node.process and node.process.poll() not in (None, -9, -15, 0)]
        for process in reversed(self.processes):
            try:
                process.stop() if process is getattr(self, "nginx", None) else process.terminate(10)
            except Exception:
                pass
        return crashed

    def logs(self):
        parts = []
        for process in self.processes:
            parts.append(f"--- {process.name} ({process.log})\n{tail(process.log, 30)}")
        parts.append(f"--- nginx error.log\n{self.nginx.error_log() if hasattr(self, 'nginx') else ''}")
        return "\n".join(parts)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    items.sort(key=lambda item: item.get_closest_marker("runs_last") is not None)  # stable: the rest keep their order


def pytest_collection_finish(session):
    """Starts the background scenario of each selected `runs_last` test, so its long wait runs
    while the other tests do."""
    for module in {item.module for item in session.items if item.get_closest_marker("runs_last")}:
        module.begin()


def pytest_sessionfinish(session):
    for module in {item.module for item in getattr(session, "items", []) if item.get_closest_marker("runs_last")}:
        module.end()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)


def _require_binary(path, product):
    if not os.access(path, os.X_OK):
        pytest.fail(f"no {product} binary at {path} (swift build --product {product}, or set the env var)")


@pytest.fixture
def make_cluster(tmp_path, request):
    """make_cluster(size=3[, make_node=lambda cluster, name: Node]) -> Cluster (ChannelNode processes
    unless make_node says otherwise); every cluster made is stopped at the end of the test."""
    made = []

    def make(size=3, **kwargs):
        if "make_node" not in kwargs:
            _require_binary(CHANNELNODE_BIN, "ChannelNode")
        folder = tmp_path / f"cluster{len(made)}"
        folder.mkdir()
        cluster = Cluster.__new__(Cluster)
        made.append(cluster)  # before it starts anything, so a failed start is stopped too
        cluster.__init__(folder, size, **kwargs)
        return cluster

    yield make
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    crashes = []
    for cluster in made:
        if failed:
            print(cluster.logs())
        crashes += cluster.stop()
    if crashes:
        pytest.fail("node(s) exited during the test: " + "; ".join(
            f"{node.name} exit {node.process.returncode}:\n{tail(node.log)}" for node in crashes))


@pytest.fixture
def cluster(make_cluster):
    return make_cluster(3)
