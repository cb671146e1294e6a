"""The shipped deployment (docs/deploy), run for real on loopback: a test certificate authority
and a certificate for 127.0.0.1 made with openssl, Tic Tac Toe started with courier.service's own
ExecStart, nginx with docs/deploy/nginx.conf itself. Only what must differ on a test machine is
changed (ports, paths, the certificate), each by an exact substitution that fails loudly when
the shipped file no longer contains what it replaces, so the tested file is the shipped one.
"""

import os
import re
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "Tests", "cluster"))  # Process, free_port, ...

from cluster import TICTACTOE_BIN, Node, Process, free_port, tail  # noqa: E402

NGINX_CONF = os.path.join(REPO, "docs", "deploy", "nginx.conf")
UNIT = os.path.join(REPO, "docs", "deploy", "courier.service")
# Courier's drain after SIGTERM (ServerConfiguration.shutdownDeadlineMilliseconds).
DRAIN_SECONDS = 10


class DeployError(RuntimeError):
    pass


def substitute(text, replacements, source):
    """Each (old, new) must occur exactly once in `text`."""
    for old, new in replacements:
        count = text.count(old)
        if count != 1:
            raise DeployError(f"{source} has {count} copies of {old!r}, not 1: update the substitutions in "
                              f"Tests/deploy/deploy.py along with it")
        text = text.replace(old, new)
    return text


def run(argv, **kwargs):
    result = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=60, **kwargs)
    if result.returncode != 0:
        raise DeployError(f"{' '.join(map(str, argv))} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result.stdout


class TestAuthority:
    """A certificate authority made for this run, a certificate it signed for 127.0.0.1 and
    localhost, and a HOME whose NSS database trusts the authority, for Chromium: the browser
    checks the chain as it would a real one (no --ignore-certificate-errors)."""

    def __init__(self, folder):
        self.folder = os.path.join(folder, "tls")
        os.makedirs(self.folder, exist_ok=True)
        path = lambda name: os.path.join(self.folder, name)  # noqa: E731
        self.ca, self.certificate, self.key = path("ca.pem"), path("fullchain.pem"), path("privkey.pem")
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        run(["openssl", "req", "-x509", *ec, "-keyout", path("ca.key"), "-out", self.ca, "-days", "2",
             "-subj", "/CN=Courier deploy test CA", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        run(["openssl", "req", *ec, "-keyout", self.key, "-out", path("server.csr"), "-subj", "/CN=127.0.0.1"])
        with open(path("server.ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
        run(["openssl", "x509", "-req", "-in", path("server.csr"), "-CA", self.ca, "-CAkey", path("ca.key"),
             "-CAcreateserial", "-out", self.certificate, "-days", "2", "-extfile", path("server.ext")])
        self.home = os.path.join(folder, "browser-home")
        database = os.path.join(self.home, ".pki", "nssdb")
        os.makedirs(database, exist_ok=True)
        run(["certutil", "-d", f"sql:{database}", "-N", "--empty-password"])
        run(["certutil", "-d", f"sql:{database}", "-A", "-t", "C,,", "-n", "courier-deploy-test-ca", "-i", self.ca])


class Unit:
    """docs/deploy/courier.service, read as systemd would read the settings the tests rely on."""

    def __init__(self):
        with open(UNIT) as f:
            self.text = f.read()
        self.settings = {}
        for line in self.text.splitlines():
            line = line.strip()
            if line and not line.startswith(("#", ";", "[")) and "=" in line:
                key, value = line.split("=", 1)
                self.settings.setdefault(key.strip(), []).append(value.strip())

    def value(self, key):
        values = self.settings.get(key, [])
        if len(values) != 1:
            raise DeployError(f"courier.service sets {key} {len(values)} times, not once")
        return values[0]

    def seconds(self, key):
        match = re.fullmatch(r"(\d+)\s*(s|sec|min)?", self.value(key))
        if not match:
            raise DeployError(f"courier.service: {key}={self.value(key)} is not a number of seconds")
        return int(match.group(1)) * (60 if match.group(2) == "min" else 1)

    def argv(self, port, data_dir):
        """ExecStart with the binary, port and data directory of this run; everything else as shipped."""
        command = substitute(self.value("ExecStart"), [
            ("/opt/courier/bin/TicTacToe", shlex.quote(TICTACTOE_BIN)),
            ("--port 8080", f"--port {port}"),
            ("--data-dir /var/lib/courier", f"--data-dir {shlex.quote(data_dir)}"),
        ], "courier.service's ExecStart")
        return shlex.split(command)


def tictactoe(folder, unit):
    """Tic Tac Toe as the unit starts it, on a free port, its data in `folder/data`."""
    data_dir = os.path.join(folder, "data")
    os.makedirs(data_dir, exist_ok=True)
    return Node("tictactoe", folder, lambda port: unit.argv(port, data_dir), ready_path="/_ah/login")


WRAPPER = """
daemon off;
master_process on;
worker_processes 1;
{user}
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    # docs/deploy/nginx.conf, as /etc/nginx/conf.d/courier.conf is included on Debian.
    include {folder}/courier.conf;
}}
"""


class TLSNginx(Process):
    """nginx in the foreground with docs/deploy/nginx.conf in its own prefix: HTTPS and the
    HTTP redirect on free loopback ports, Courier at `app_port`."""

    def __init__(self, folder, app_port, authority):
        folder = os.path.join(folder, "nginx")
        os.makedirs(folder, exist_ok=True)
        super().__init__("nginx", folder)
        self.https_port, self.http_port = free_port(), free_port()
        self.access_log_path = os.path.join(folder, "courier.access.log")
        with open(NGINX_CONF) as f:
            site = substitute(f.read(), [
                ("server 127.0.0.1:8080;", f"server 127.0.0.1:{app_port};"),
                ("listen 80;", f"listen 127.0.0.1:{self.http_port};"),
                ("listen [::]:80;", ""),
                ("listen 443 ssl;", f"listen 127.0.0.1:{self.https_port} ssl;"),
                ("listen [::]:443 ssl;", ""),
                ("/etc/letsencrypt/live/example.com/fullchain.pem", authority.certificate),
                ("/etc/letsencrypt/live/example.com/privkey.pem", authority.key),
                ("/var/log/nginx/courier.access.log", self.access_log_path),
                ("/var/log/nginx/courier.error.log", os.path.join(folder, "courier.error.log")),
            ], "docs/deploy/nginx.conf")
        with open(os.path.join(folder, "courier.conf"), "w") as f:
            f.write(site)
        # Run as whoever runs the tests: as root, nginx would hand its workers to `nobody`,
        # who may not read the key.
        user = "user root;" if os.geteuid() == 0 else ""
        self.config = os.path.join(folder, "nginx.conf")
        with open(self.config, "w") as f:
            f.write(WRAPPER.format(folder=folder, user=user))
        run(["nginx", "-t", "-q", "-e", os.path.join(folder, "error.log"), "-p", folder, "-c", self.config])
        self.spawn(["nginx", "-e", os.path.join(folder, "error.log"), "-p", folder, "-c", self.config], self.https_port)

    @property
    def base(self):
        return f"https://127.0.0.1:{self.https_port}"

    def access_log(self):
        return tail(self.access_log_path, 100000)

    def error_log(self):
        return tail(os.path.join(self.folder, "courier.error.log"), 40) + tail(os.path.join(self.folder, "error.log"), 40)

    def stop(self):
        """SIGTERM, nginx's fast shutdown; its workers go with its process group."""
        self.terminate(5)
