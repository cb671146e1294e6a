"""Fixtures: the deployment of docs/deploy (test CA, Tic Tac Toe started as courier.service
starts it, nginx with docs/deploy/nginx.conf) per test, stopped when the test ends whatever
happened; on a failure the tail of each log is printed with the report."""

import os
import signal
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "interop"))  # browser.py, the Tic Tac Toe game helpers

from deploy import TestAuthority, TLSNginx, Unit, tictactoe  # noqa: E402
from cluster import stop_everything, tail  # noqa: E402  (deploy put Tests/cluster on the path)


def pytest_configure(config):
    # run.sh's `timeout` sends SIGTERM: stop every process the tests started, then let pytest
    # tear its fixtures down (browsers) and report, as it does for Ctrl-C.
    def stop(signum, frame):
        stop_everything()
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)


class Deployment:
    def __init__(self, folder):
        self.folder = str(folder)
        self.unit = Unit()
        self.authority = TestAuthority(self.folder)
        self.app = tictactoe(self.folder, self.unit)
        self.nginx = None
        try:
            self.app.start()
            self.nginx = TLSNginx(self.folder, self.app.port, self.authority)
        except BaseException:
            self.stop()
            raise

    @property
    def base(self):
        """What the browsers open: nginx's HTTPS port (the Tic Tac Toe helpers call it `base`)."""
        return self.nginx.base

    def logs(self):
        parts = [f"--- {self.app.name}\n{tail(self.app.log)}"]
        if self.nginx:
            parts.append(f"--- nginx\n{self.nginx.error_log()}\n--- nginx access\n{tail(self.nginx.access_log_path, 30)}")
        return "\n".join(parts)

    def stop(self):
        if self.nginx:
            self.nginx.stop()
        return self.app.stop()


@pytest.fixture
def deployment(tmp_path, request):
    running = Deployment(tmp_path)
    yield running
    code = running.stop()
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        print(running.logs())
    assert code == 0, f"Tic Tac Toe did not exit cleanly on SIGTERM (exit {code}):\n{running.logs()}"


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)
