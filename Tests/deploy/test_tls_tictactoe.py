"""Channel Tac Toe deployed as docs/deploy says: nginx terminating TLS with docs/deploy/nginx.conf,
Tic Tac Toe started with courier.service's ExecStart (`--trusted-proxy 127.0.0.1`), two headless
Chromiums that trust the test CA. The game of Tests/interop/test_tictactoe_chromium.py is played
over https:// with its channel on wss://, then again with WebSocket unavailable so the channel
long-polls through nginx across a whole poll timeout; the session cookie is Secure, the invite
link is https, plain HTTP is redirected, and what a browser puts in X-Forwarded-* is replaced by
nginx, not believed.
"""

import http.client
import os
import re
import ssl
import subprocess
import time
import urllib.parse

import pytest

from browser import chromium, wait_for
from deploy import DRAIN_SECONDS, TICTACTOE_BIN, Unit
from test_tictactoe_chromium import channel_opens, start_game

# Installed before any page script: records every WebSocket the page opens, and which opened.
RECORD_WEBSOCKETS = """
(function () {
  var Native = window.WebSocket;
  window.webSocketsMade = []; window.webSocketsOpened = [];
  function Recorded(url, protocols) {
    var socket = protocols === undefined ? new Native(url) : new Native(url, protocols);
    window.webSocketsMade.push(String(socket.url));
    socket.addEventListener('open', function () { window.webSocketsOpened.push(String(socket.url)); });
    return socket;
  }
  Recorded.prototype = Native.prototype;
  ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'].forEach(function (k) { Recorded[k] = Native[k]; });
  window.WebSocket = Recorded;
})();
"""
# A network where WebSocket cannot be had: the channel client long-polls.
NO_WEBSOCKET = "window.WebSocket = undefined;"
POLL_SECONDS = 20  # ChannelSettings.pollTimeoutSeconds


@pytest.fixture
def browsers(deployment):
    first = chromium(home=deployment.authority.home)
    try:
        second = chromium(home=deployment.authority.home)
        try:
            yield first, second
        finally:
            second.quit()
    finally:
        first.quit()


def before_every_page(browser, script):
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": script})


def session_cookie(browser):
    cookie = browser.get_cookie("courier_user")
    assert cookie, f"no session cookie in {browser.get_cookies()}"
    return cookie


def access_log_lines(deployment, pattern):
    return [line for line in deployment.nginx.access_log().splitlines() if re.search(pattern, line)]


def https(deployment):
    """An HTTPS connection to nginx that checks the certificate against the test CA."""
    context = ssl.create_default_context(cafile=deployment.authority.ca)
    return http.client.HTTPSConnection("127.0.0.1", deployment.nginx.https_port, context=context, timeout=10)


def test_two_browsers_play_over_https_and_wss(deployment, browsers):
    x, o = browsers
    for browser in browsers:
        before_every_page(browser, RECORD_WEBSOCKETS)
    game = start_game(deployment, x, o)  # asserts the invite link starts with https://127.0.0.1:<nginx>/?g=
    game.play([0, 1, 4, 2, 8], final=("you-won", "you-lost"))

    for browser in browsers:
        assert browser.execute_script("return location.protocol;") == "https:"
        assert browser.execute_script("return window.isSecureContext;") is True
        # The channel went over WebSocket, through nginx's TLS port.
        channel = f"wss://127.0.0.1:{deployment.nginx.https_port}/_ah/channel/ws"
        opened = browser.execute_script("return window.webSocketsOpened;")
        assert opened and all(url == channel for url in opened), opened
        cookie = session_cookie(browser)
        assert cookie["secure"] is True and cookie["httpOnly"] is True, cookie
    # SIGTERM, as `systemctl stop` sends it, with both channels open: Courier drains within
    # its deadline, well inside the unit's TimeoutStopSec, so systemd never needs SIGKILL.
    unit = Unit()
    assert unit.value("KillSignal") == "SIGTERM"
    assert unit.seconds("TimeoutStopSec") > DRAIN_SECONDS
    started = time.monotonic()
    assert deployment.app.stop() == 0
    assert time.monotonic() - started < min(unit.seconds("TimeoutStopSec"), DRAIN_SECONDS + 2)
    # nginx logs a proxied WebSocket when it ends: both upgrades went through its TLS port.
    wait_for(lambda: len(access_log_lines(deployment, r'"GET /_ah/channel/ws HTTP/1\.1" 101 ')) >= 2,
             "nginx to log both pages' WebSocket upgrades (101)")
    assert not access_log_lines(deployment, r'"POST /_ah/channel/poll '), "a page fell back to long-polling"


def test_the_channel_long_polls_through_nginx_across_a_poll_timeout(deployment, browsers):
    x, o = browsers
    for browser in browsers:
        before_every_page(browser, NO_WEBSOCKET)
    game = start_game(deployment, x, o)
    game.play([4, 0])
    # Longer than a poll is held: each page's poll is answered empty through nginx and renewed,
    # and the channel stays the same one (no reconnect, no reopen).
    time.sleep(POLL_SECONDS + 4)
    assert (channel_opens(x), channel_opens(o)) == (1, 1)
    game.play([2, 1, 6], final=("you-won", "you-lost"))  # X: 4, 2, 6
    for browser in browsers:
        assert session_cookie(browser)["secure"] is True
    polls = access_log_lines(deployment, r'"POST /_ah/channel/poll HTTP/1\.1" ')
    assert polls and all(' 200 ' in line for line in polls), "\n".join(polls)
    held = [float(line.split()[-2]) for line in polls]
    assert max(held) >= POLL_SECONDS - 1, f"no poll was held for its timeout: {held}"
    assert not access_log_lines(deployment, r'/_ah/channel/ws'), "WebSocket was used after all"


def test_plain_http_redirects_and_forged_forwarding_fields_are_replaced(deployment):
    # HTTP only redirects, keeping the path and query.
    plain = http.client.HTTPConnection("127.0.0.1", deployment.nginx.http_port, timeout=10)
    plain.request("GET", "/?g=abc")
    response = plain.getresponse()
    assert response.status == 301
    assert response.getheader("Location") == "https://127.0.0.1/?g=abc"
    plain.close()

    # A client that claims, through nginx, to be someone else over plain HTTP on another host.
    forged = {"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "http", "X-Forwarded-Host": "evil.example",
              "Forwarded": "for=6.6.6.6;proto=http;host=evil.example"}
    connection = https(deployment)
    form = urllib.parse.urlencode({"email": "mallory@example.com", "action": "Login", "continue": "/"})
    connection.request("POST", "/_ah/login", body=form,
                       headers={**forged, "Content-Type": "application/x-www-form-urlencoded"})
    response = connection.getresponse()
    response.read()
    assert response.status == 302
    cookie = response.getheader("Set-Cookie")
    attributes = {part.strip() for part in cookie.split(";")[1:]}
    assert "Secure" in attributes and "HttpOnly" in attributes, cookie
    connection.request("GET", "/", headers={**forged, "Cookie": cookie.split(";")[0]})
    response = connection.getresponse()
    page = response.read().decode()
    assert response.status == 200
    # Absolute URLs name the host and scheme nginx vouched for, not the forged ones.
    assert f'https://127.0.0.1:{deployment.nginx.https_port}/?g=' in page
    assert "evil.example" not in page
    connection.close()


def test_bad_trusted_proxies_stop_the_server_with_the_reason(tmp_path):
    for arguments, environment, words in (
        (["--trusted-proxy", "1.2.3.999"], {}, "not an IPv4 or IPv6 address"),
        (["--trusted-proxy", "10.0.0.0/999"], {}, "0...32"),
        ([], {"COURIER_TRUSTED_PROXIES": "127.0.0.1, ::1/200"}, "COURIER_TRUSTED_PROXIES"),
    ):
        result = subprocess.run([TICTACTOE_BIN, "--port", "0", "--data-dir", str(tmp_path), *arguments],
                                capture_output=True, text=True, timeout=30, env={**os.environ, **environment})
        assert result.returncode == 64, (arguments, environment, result.stderr)
        assert words in result.stderr, result.stderr


def test_the_unit_runs_a_dedicated_user_and_restarts_on_failure(tmp_path):
    unit = Unit()
    # systemd's own reading of the file: no unknown key, no bad value (only the binary's path is
    # this machine's).
    checked = tmp_path / "courier.service"
    checked.write_text(unit.text.replace("/opt/courier/bin/TicTacToe", os.path.abspath(TICTACTOE_BIN)))
    verify = subprocess.run(["systemd-analyze", "verify", "--man=no", str(checked)], capture_output=True, text=True,
                            timeout=60)
    assert verify.returncode == 0 and not verify.stderr.strip() and not verify.stdout.strip(), verify.stdout + verify.stderr
    assert unit.value("Restart") == "on-failure"
    assert unit.value("User") not in ("", "root", "0")
    assert int(unit.value("LimitNOFILE")) >= 4096
    assert "--trusted-proxy 127.0.0.1" in unit.value("ExecStart")
    assert "--host 127.0.0.1" in unit.value("ExecStart"), "Courier listens on loopback only; nginx is the way in"

