"""The real parts of a Courier cluster on one machine, each in its own temporary directory and on
its own free loopback port: a redis-server (no persistence, so a restart comes back empty), an
nginx load balancer (round robin, no sticky sessions, WebSocket upgrade proxied, a dead node's
requests passed to the others) and ChannelNode or TicTacToe processes. Every wait is bounded,
every process is stopped by whoever started it (the fixtures in conftest.py), and a process that
does not stop in time is killed.
"""

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

CHANNELNODE_BIN = os.path.abspath(os.environ.get("CHANNELNODE_BIN", ".build/debug/ChannelNode"))
TICTACTOE_BIN = os.path.abspath(os.environ.get("TICTACTOE_BIN", ".build/debug/TicTacToe"))
STARTUP_SECONDS = 15
# SIGTERM: a node finishes requests in flight and closes its WebSockets with 1001, within its
# shutdown deadline (10 s); held long-polls are answered at once.
STOP_SECONDS = 15


class ClusterError(RuntimeError):
    pass


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def tail(path, lines=40):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


# Every process spawned and not yet reaped, so a run stopped from outside (SIGTERM from
# `timeout`) can still stop them: see conftest.py.
LIVE = set()


def stop_everything():
    for process in list(LIVE):
        process.kill_group()


class Process:
    """A child process with its output in `folder/<name>.log`, in a process group of its own (so
    nginx's workers are stopped with their master, whatever happens to it)."""

    def __init__(self, name, folder):
        self.name = name
        self.folder = folder
        self.log = os.path.join(folder, f"{name}.log")
        self.process = None

    def spawn(self, argv, port, ready=None):
        with open(self.log, "ab") as log:
            log.write(f"\n=== {' '.join(map(str, argv))}\n".encode())
            log.flush()
            self.process = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT, cwd=self.folder, start_new_session=True)
        LIVE.add(self)
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if self.process.poll() is not None:
                raise ClusterError(f"{self.name} exited with {self.process.returncode} before listening on {port}:\n"
                                   f"{tail(self.log)}")
            if port_open(port) and (ready is None or ready()):
                return
            if time.monotonic() > deadline:
                self.kill()
                raise ClusterError(f"{self.name} did not listen on {port} within {STARTUP_SECONDS}s:\n{tail(self.log)}")
            time.sleep(0.05)

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self):
        return self.process.pid

    def signal(self, number):
        if self.running:
            self.process.send_signal(number)

    def kill(self):
        """SIGKILL, as a crash or an OOM kill would; no goodbye to anyone."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(5)
        self.kill_group()

    def kill_group(self):
        """SIGKILL to whatever is left of the process group this process leads."""
        if self.process is None or self not in LIVE:
            return
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        LIVE.discard(self)

    def terminate(self, seconds=STOP_SECONDS):
        """SIGTERM, then waits for the exit; returns the exit code (None when it had to be killed)."""
        if self.process is None or self.process.poll() is not None:
            self.kill_group()
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGCONT)  # a stopped process would not act on SIGTERM
        self.process.terminate()
        try:
            return self.process.wait(seconds)
        except subprocess.TimeoutExpired:
            return None
        finally:
            self.kill_group()


class Redis(Process):
    """redis-server with nothing persisted: `restart_empty()` brings it back on the same port with
    no data at all, as a replacement machine would."""

    def __init__(self, folder):
        super().__init__("redis", folder)
        self.port = free_port()
        self.start()

    def start(self):
        self.spawn(["redis-server", "--port", self.port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                    "--dir", self.folder, "--protected-mode", "no", "--maxclients", "10000"], self.port,
                   ready=lambda: self.cli("PING").strip() == "PONG")

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def cli(self, *args, check=False):
        result = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), *map(str, args)],
                                capture_output=True, text=True, timeout=10)
        if check and result.returncode != 0:
            raise ClusterError(f"redis-cli {' '.join(map(str, args))}: {result.stderr}")
        return result.stdout

    def restart_empty(self):
        self.kill()
        self.start()
        assert self.cli("DBSIZE").strip() == "0"

    def stop(self):
        self.terminate(5)


class Node(Process):
    """One server process of the cluster on its own fixed port (kept across restarts)."""

    def __init__(self, name, folder, argv_for_port, ready_path="/health"):
        super().__init__(name, folder)
        self.ready_path = ready_path
        self.port = free_port()
        self.argv_for_port = argv_for_port
        self.starts = 0

    def start(self):
        self.starts += 1
        self.spawn(self.argv_for_port(self.port), self.port, ready=self._healthy)

    def _healthy(self):
        try:
            with urllib.request.urlopen(self.base + self.ready_path, timeout=1) as response:
                return response.status == 200
        except (OSError, urllib.error.URLError):
            return False

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def stop(self):
        return self.terminate()


def channel_node(name, folder, redis, data_dir, workers=1):
    return Node(name, folder, lambda port: [CHANNELNODE_BIN, "--host", "127.0.0.1", "--port", port, "--redis", redis.url,
                                            "--data-dir", data_dir, "--workers", workers])


def tictactoe_node(name, folder, redis, data_dir, db):
    return Node(name, folder, lambda port: [TICTACTOE_BIN, "--host", "127.0.0.1", "--port", port, "--redis", redis.url,
                                            "--db", db, "--data-dir", data_dir, "--workers", 1],
                ready_path="/_ah/login")


NGINX_CONFIG = """
daemon off;
master_process on;
worker_processes 1;
{user}
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
worker_rlimit_nofile 8192;
events {{ worker_connections 4096; }}
http {{
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    log_format upstreams '$msec $request_method $uri $status $upstream_addr $upstream_status "$http_user_agent"';
    access_log {folder}/access.log upstreams;

    # WebSocket: pass the upgrade on; other requests keep their upstream connection alive.
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      '';
    }}

    # Round robin, no stickiness. A node that refuses a connection is skipped for a second.
    upstream nodes {{
{servers}
        keepalive 64;
    }}

    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://nodes;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $http_host;
            proxy_buffering off;
            proxy_connect_timeout 2s;
            # Long-polls answer within 20 s, idle WebSockets are pinged well within this.
            proxy_read_timeout 75s;
            proxy_send_timeout 75s;
            proxy_next_upstream error timeout;
            proxy_next_upstream_timeout 10s;
            # Which node served a request (the WebSocket handshake's 101 too).
            add_header X-Upstream $upstream_addr always;
        }}
    }}
}}
"""


class Nginx(Process):
    """nginx in the foreground with its own configuration, pid file, logs and temp paths."""

    def __init__(self, folder, nodes):
        folder = os.path.join(folder, "nginx")
        os.makedirs(folder, exist_ok=True)
        super().__init__("nginx", folder)
        self.port = free_port()
        servers = "\n".join(f"        server {node.address} max_fails=1 fail_timeout=1s;" for node in nodes)
        # Run as whoever runs the tests: as root, nginx would hand its workers to `nobody`.
        user = "user root;" if os.geteuid() == 0 else ""
        self.config = os.path.join(folder, "nginx.conf")
        with open(self.config, "w") as f:
            f.write(NGINX_CONFIG.format(folder=folder, port=self.port, servers=servers, user=user))
        self.spawn(["nginx", "-e", os.path.join(folder, "error.log"), "-p", folder, "-c", self.config], self.port)

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self):
        return f"ws://127.0.0.1:{self.port}/_ah/channel/ws"

    def access_log(self):
        return tail(os.path.join(self.folder, "access.log"), 100000)

    def error_log(self):
        return tail(os.path.join(self.folder, "error.log"), 40)

    def stop(self):
        """SIGTERM, nginx's fast shutdown (SIGQUIT, the graceful one, would wait for every proxied
        WebSocket to end); its workers go with its process group."""
        self.terminate(5)

    def kill(self):
        self.stop()


def http(method, url, form=None, timeout=5):
    """(status, body text); an HTTP error status is returned, not raised."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def get(url, timeout=5):
    return http("GET", url, timeout=timeout)


def post(url, timeout=5, **form):
    return http("POST", url, form=form, timeout=timeout)
