"""The Chat example (`CHAT_BIN`, default `.build/debug/Chat`) in headless Chromium: the real page
served by the server opens a channel with the goog.appengine.Channel client from /_ah/channel/jsapi,
and Python posts to /send and reads what the page shows.

Pages are loaded from the server itself: Chromium refuses WebSockets to 127.0.0.1 from about:blank.
"""

import os
import re
import socket
import struct
import subprocess
import threading
import time
import urllib.parse
import urllib.request

import pytest

from browser import chromium, wait_for as wait_until

CHAT_BIN = os.environ.get("CHAT_BIN", ".build/debug/Chat")
STARTUP_SECONDS = 10
DELIVERY_SECONDS = 15  # long-polling falls back after a few seconds, so allow for that
SETTLE_SECONDS = 1.0  # how long to keep watching for a duplicate or a late onclose
# The channel token lifetime (Chat --token-seconds) for the expiry tests: long enough to load the
# page and see it open on a busy machine, short enough not to make the test slow.
TOKEN_SECONDS = 10
# SIGTERM lets requests in flight finish for up to 10s (ServerConfiguration.shutdownDeadlineMilliseconds),
# and a held long-poll is one, so the server may take that long to exit.
STOP_SECONDS = 15

# Runs before the page's own scripts: keeps a handle on every WebSocket the channel client makes,
# so a test can drop the transport underneath it.
KEEP_WEBSOCKETS = r"""
(function () {
  var Native = window.WebSocket;
  window.__sockets = [];
  function Tracked(url, protocols) {
    var ws = protocols === undefined ? new Native(url) : new Native(url, protocols);
    window.__sockets.push(ws);
    return ws;
  }
  Tracked.prototype = Native.prototype;
  ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'].forEach(function (k) { Tracked[k] = Native[k]; });
  window.WebSocket = Tracked;
})();
"""

# A second channel on the chat page, with a token the server never issued.
BOGUS_TOKEN = r"""
const done = arguments[arguments.length - 1];
const events = [];
const socket = new goog.appengine.Channel('bogus').open({
  onopen: () => events.push({kind: 'open'}),
  onmessage: (m) => events.push({kind: 'message', data: m.data}),
  onerror: (e) => events.push({kind: 'error', code: e.code, description: e.description}),
  onclose: () => {
    events.push({kind: 'close', readyState: socket.readyState});
    setTimeout(() => done(events), 1000);  // watch for a second onclose or a retry
  },
});
setTimeout(() => { events.push({kind: "watchdog"}); done(events); }, 15000);
"""


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_chat(secret_dir, *flags):
    if not os.access(CHAT_BIN, os.X_OK):
        raise RuntimeError(f"no Chat binary at {CHAT_BIN} (swift build --product Chat, or set CHAT_BIN)")
    port = _free_port()
    process = subprocess.Popen([CHAT_BIN, "--host", "127.0.0.1", "--port", str(port),
                                "--secret-file", str(secret_dir / "channel-secret"), *flags],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"Chat exited with {process.returncode}: {process.stderr.read().decode(errors='replace')}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, port
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                process.wait(5)
                raise RuntimeError(f"Chat did not listen on {port} within {STARTUP_SECONDS}s")
            time.sleep(0.05)


def _stop_chat(process):
    if process.poll() is not None:
        pytest.fail(f"Chat died during the tests (exit {process.returncode}): {process.stderr.read().decode(errors='replace')}")
    process.terminate()
    try:
        process.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
        pytest.fail(f"Chat did not exit within {STOP_SECONDS}s of SIGTERM")


@pytest.fixture(scope="module")
def chat_port(tmp_path_factory):
    process, port = _start_chat(tmp_path_factory.mktemp("chat"))
    yield port
    _stop_chat(process)


@pytest.fixture(scope="module")
def long_poll_chat_port(tmp_path_factory):
    process, port = _start_chat(tmp_path_factory.mktemp("chat-long-poll"), "--long-poll-only")
    yield port
    _stop_chat(process)


@pytest.fixture(scope="module")
def short_token_chat_port(tmp_path_factory):
    process, port = _start_chat(tmp_path_factory.mktemp("chat-short-token"), "--token-seconds", str(TOKEN_SECONDS))
    yield port
    _stop_chat(process)


@pytest.fixture(scope="module")
def short_token_long_poll_chat_port(tmp_path_factory):
    process, port = _start_chat(tmp_path_factory.mktemp("chat-short-token-long-poll"), "--long-poll-only",
                                "--token-seconds", str(TOKEN_SECONDS))
    yield port
    _stop_chat(process)


class KillableProxy:
    """A loopback TCP proxy in front of the server whose connections a test can reset at once,
    as a network blip would: the browser sees its WebSocket or long-poll drop mid-flight."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.sockets = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _pipe(source, destination):
        try:
            while data := source.recv(65536):
                destination.sendall(data)
        except OSError:
            pass
        try:
            destination.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def kill_all(self):
        """Resets every proxied connection (RST to both ends)."""
        with self.lock:
            sockets, self.sockets = self.sockets, []
        for s in sockets:
            try:
                # Linger 0 makes the close a reset; SHUT_RD wakes the pipe thread blocked in recv,
                # which holds the socket open until it returns.
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.shutdown(socket.SHUT_RD)
                s.close()
            except OSError:
                pass
        return len(sockets) // 2

    def close(self):
        self.listener.close()
        self.kill_all()


@pytest.fixture
def browser():
    driver = chromium()
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(condition, what, seconds=DELIVERY_SECONDS):
    return wait_until(condition, what, seconds, interval=0.05)


def open_chat(browser, port):
    """Loads the chat page and waits for its channel's onopen; returns the page's client ID."""
    browser.get(f"http://127.0.0.1:{port}/")
    wait_for(lambda: browser.find_element("id", "status").text == "connected", "the page's onopen")
    return browser.find_element("id", "me").text


class Sender:
    """A chat page loaded without a browser: the client ID the server gave it, which its messages
    appear under, and the token that proves it (/send takes the sender from the token alone)."""

    def __init__(self, port):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            page = response.read().decode()
        self.id, self.token = re.search(r'var me = "([^"]+)", token = "([^"]+)"', page).groups()


def post(port, sender, text):
    body = urllib.parse.urlencode({"token": sender.token, "text": text}).encode()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/send", data=body, timeout=5) as response:
        assert response.status == 204


def log_lines(browser, kind):
    return browser.execute_script(
        "return Array.from(document.querySelectorAll('#log .' + arguments[0]), e => e.textContent);", kind)


def wait_for_messages(browser, expected):
    wait_for(lambda: len(log_lines(browser, "message")) >= len(expected), f"{len(expected)} messages")
    time.sleep(SETTLE_SECONDS)
    assert log_lines(browser, "message") == expected


def assert_never_closed(browser):
    assert browser.find_element("id", "status").text == "connected"
    assert log_lines(browser, "status") == []  # the page logs every onerror here


def test_page_receives_messages_in_order_exactly_once(browser, chat_port):
    me = open_chat(browser, chat_port)
    assert me.startswith("user-")
    # Presence: the page's own connect is published to the room it is subscribed to.
    wait_for(lambda: f"{me} joined" in log_lines(browser, "join"), "the page's own join line")
    tester = Sender(chat_port)
    expected = []
    for i in range(20):
        post(chat_port, tester, f"message {i:02d} <b>&amp;</b> ☃")
        expected.append(f"{tester.id}: message {i:02d} <b>&amp;</b> ☃")
    wait_for_messages(browser, expected)
    assert log_lines(browser, "join").count(f"{me} joined") == 1
    assert_never_closed(browser)


def test_send_form_posts_to_the_room(browser, chat_port):
    me = open_chat(browser, chat_port)
    browser.find_element("id", "input").send_keys("typed in the page")
    browser.find_element("id", "send").click()
    wait_for_messages(browser, [f"{me}: typed in the page"])


def test_send_form_shows_why_a_message_was_refused(browser, chat_port):
    me = open_chat(browser, chat_port)
    # Over a channel message's 32,767 bytes: the server answers 413 and the page says why.
    browser.execute_script("document.getElementById('input').value = 'x'.repeat(40000);")
    browser.find_element("id", "send").click()
    wait_for(lambda: any(line.startswith("not sent: This message is too long")
                         for line in log_lines(browser, "status")), "the refusal in the log")
    browser.find_element("id", "input").send_keys("a short one")
    browser.find_element("id", "send").click()
    wait_for_messages(browser, [f"{me}: a short one"])


def test_other_tabs_join_and_leave(browser, chat_port):
    me = open_chat(browser, chat_port)
    first = browser.current_window_handle
    browser.switch_to.new_window("tab")
    other = open_chat(browser, chat_port)
    assert other != me
    browser.close()  # the tab's WebSocket drops without a goodbye
    browser.switch_to.window(first)
    wait_for(lambda: f"{other} joined" in log_lines(browser, "join"), "the other tab's join")
    # CHANNEL_API.md: disconnect within 2s of a closed WebSocket (plus slack for the sweep).
    wait_for(lambda: f"{other} left" in log_lines(browser, "leave"), "the other tab's leave", seconds=5)
    time.sleep(SETTLE_SECONDS)
    assert log_lines(browser, "join").count(f"{other} joined") == 1
    # Tabs of earlier tests on the same server may leave too; this one leaves exactly once.
    assert log_lines(browser, "leave").count(f"{other} left") == 1
    assert f"{me} left" not in log_lines(browser, "leave")
    assert_never_closed(browser)


def test_bogus_token_gets_401_then_one_onclose(browser, chat_port):
    open_chat(browser, chat_port)
    events = browser.execute_async_script(BOGUS_TOKEN)
    assert events == [
        {"kind": "error", "code": 401, "description": "Invalid+token."},
        {"kind": "close", "readyState": 3},
    ]


def test_long_poll_fallback_delivers_in_order(browser, long_poll_chat_port):
    me = open_chat(browser, long_poll_chat_port)
    wait_for(lambda: f"{me} joined" in log_lines(browser, "join"), "the page's own join line")
    tester = Sender(long_poll_chat_port)
    expected = []
    for i in range(20):
        post(long_poll_chat_port, tester, f"polled {i:02d}")
        expected.append(f"{tester.id}: polled {i:02d}")
    wait_for_messages(browser, expected)
    polls = browser.execute_script(
        "return performance.getEntriesByType('resource').filter(e => e.name.endsWith('/_ah/channel/poll')).length;")
    assert polls >= 1
    assert_never_closed(browser)


def test_long_poll_bogus_token_gets_401_then_one_onclose(browser, long_poll_chat_port):
    open_chat(browser, long_poll_chat_port)
    events = browser.execute_async_script(BOGUS_TOKEN)
    assert events == [
        {"kind": "error", "code": 401, "description": "Invalid+token."},
        {"kind": "close", "readyState": 3},
    ]


def test_dropped_websocket_resumes_without_loss_or_onclose(browser, chat_port):
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": KEEP_WEBSOCKETS})
    me = open_chat(browser, chat_port)
    wait_for(lambda: f"{me} joined" in log_lines(browser, "join"), "the page's own join line")
    assert browser.execute_script("return window.__sockets.length") == 1
    tester = Sender(chat_port)
    expected = []

    def send(count):
        for _ in range(count):
            text = f"m{len(expected):03d}"
            post(chat_port, tester, text)
            expected.append(f"{tester.id}: {text}")

    send(5)
    wait_for(lambda: len(log_lines(browser, "message")) == 5, "the first 5 messages")
    for drop in range(1, 4):
        # Kill the live transport under the client, then keep sending while it is away.
        browser.execute_script("window.__sockets[window.__sockets.length - 1].close();")
        for _ in range(10):
            send(1)
            time.sleep(0.03)
        wait_for(lambda: browser.execute_script(
            "const s = window.__sockets; return s.length === arguments[0] + 1 && s[s.length - 1].readyState === 1;",
            drop), f"reconnect #{drop}")
        send(5)
    wait_for_messages(browser, expected)
    assert_never_closed(browser)
    # A blip that recovery covers produces no presence events.
    assert log_lines(browser, "join").count(f"{me} joined") == 1
    assert f"{me} left" not in log_lines(browser, "leave")


def test_second_connection_for_the_client_replaces_the_first(browser, chat_port):
    me = open_chat(browser, chat_port)
    # Open the page's own token again: the same client ID, as a second tab would.
    browser.execute_script("""
        window.second = {events: []};
        window.second.socket = new goog.appengine.Channel(token).open({
          onopen: () => second.events.push({kind: 'open'}),
          onmessage: (m) => second.events.push({kind: 'message', data: JSON.parse(m.data)}),
          onerror: (e) => second.events.push({kind: 'error', code: e.code}),
          onclose: () => second.events.push({kind: 'close'}),
        });""")
    wait_for(lambda: browser.find_element("id", "status").text.startswith("disconnected"), "the first socket's onclose")
    assert log_lines(browser, "status") == ["error 409: Replaced by another connection."]
    tester = Sender(chat_port)
    post(chat_port, tester, "after the replacement")
    wait_for(lambda: any(e["kind"] == "message" and e["data"].get("text") == "after the replacement"
                         for e in browser.execute_script("return second.events")), "the second socket's message")
    time.sleep(2 * SETTLE_SECONDS)  # the replaced socket must not reconnect and take the client back
    post(chat_port, tester, "still the second")
    wait_for(lambda: any(e["kind"] == "message" and e["data"].get("text") == "still the second"
                         for e in browser.execute_script("return second.events")), "the second socket's next message")
    events = browser.execute_script("return second.events")
    assert events[0] == {"kind": "open"}
    assert [e for e in events if e["kind"] in ("open", "error", "close")] == [{"kind": "open"}]
    texts = [e["data"]["text"] for e in events if e["kind"] == "message" and e["data"]["kind"] == "message"]
    assert texts == ["after the replacement", "still the second"]
    assert f"{tester.id}: after the replacement" not in log_lines(browser, "message")
    # CHANNEL_API.md 5: one connected per connection and one disconnected after it. The second
    # socket is a new connection, not a blip: the first one's leave, then the second one's join.
    second_joined = lambda: browser.execute_script(
        "return second.events.filter(e => e.kind === 'message' && e.data.kind === 'join' && e.data.from === arguments[0]).length",
        me)
    wait_for(lambda: second_joined() >= 1, "the second connection's join")
    time.sleep(SETTLE_SECONDS)
    room = [(e["data"]["kind"], e["data"]["from"]) for e in browser.execute_script("return second.events")
            if e["kind"] == "message" and e["data"]["kind"] in ("join", "leave") and e["data"]["from"] == me]
    assert room == [("leave", me), ("join", me)]


@pytest.mark.parametrize("transport", ["websocket", "long-poll"])
def test_killed_connections_resume_without_loss_or_onclose(browser, transport, request):
    server_port = request.getfixturevalue("chat_port" if transport == "websocket" else "long_poll_chat_port")
    proxy = KillableProxy(server_port)
    try:
        me = open_chat(browser, proxy.port)
        wait_for(lambda: f"{me} joined" in log_lines(browser, "join"), "the page's own join line")
        tester = Sender(server_port)  # straight to the server, past the proxy
        expected = []

        def send(count, pause=0.0):
            for _ in range(count):
                text = f"k{len(expected):03d}"
                post(server_port, tester, text)
                expected.append(f"{tester.id}: {text}")
                time.sleep(pause)

        send(5)
        wait_for(lambda: len(log_lines(browser, "message")) == 5, "the first 5 messages")
        for blip in range(3):
            assert proxy.kill_all() >= 1, "the channel had no connection open to kill"
            send(10, pause=0.03)
            wait_for(lambda: len(log_lines(browser, "message")) >= len(expected), f"the messages after blip {blip + 1}")
        wait_for_messages(browser, expected)
        assert_never_closed(browser)
        assert log_lines(browser, "join").count(f"{me} joined") == 1
        assert f"{me} left" not in log_lines(browser, "leave")
    finally:
        proxy.close()


@pytest.mark.parametrize("transport", ["websocket", "long-poll"])
def test_socket_close_reports_leave_and_one_onclose(browser, transport, request):
    port = request.getfixturevalue("chat_port" if transport == "websocket" else "long_poll_chat_port")
    me = open_chat(browser, port)
    watcher = browser.current_window_handle
    browser.switch_to.new_window("tab")
    other = open_chat(browser, port)
    browser.execute_script("""
        window.closes = 0;
        socket.onclose = () => { window.closes += 1; };
        socket.close();
        window.stateAfterClose = socket.readyState;""")
    assert browser.execute_script("return [window.closes, window.stateAfterClose]") == [1, 3]
    browser.switch_to.window(watcher)
    wait_for(lambda: f"{other} left" in log_lines(browser, "leave"), "the closed socket's leave", seconds=3)
    tester = Sender(port)
    post(port, tester, "after the close")
    wait_for(lambda: f"{tester.id}: after the close" in log_lines(browser, "message"), "the watcher's message")
    browser.switch_to.window(browser.window_handles[-1])
    time.sleep(SETTLE_SECONDS)
    # A closed socket stays closed: no reconnect, no second onclose, nothing more delivered.
    assert browser.execute_script("return window.closes") == 1
    assert f"{tester.id}: after the close" not in log_lines(browser, "message")
    browser.switch_to.window(watcher)
    assert log_lines(browser, "leave").count(f"{other} left") == 1
    assert f"{me} left" not in log_lines(browser, "leave")


@pytest.mark.parametrize("transport", ["websocket", "long-poll"])
def test_token_expiring_while_connected_gets_401_timed_out_then_one_onclose(browser, transport, request):
    # CHANNEL_API.md 2 and 3: a token expiring while connected gives onerror 401 'Token+timed+out.'
    # (the exact string, with '+'), then exactly one onclose, and the socket stays closed.
    port = request.getfixturevalue("short_token_chat_port" if transport == "websocket" else "short_token_long_poll_chat_port")
    requested_at = time.monotonic()  # the page's token is made after this
    open_chat(browser, port)
    browser.execute_script("""
        window.events = [];
        var pageOnError = socket.onerror, pageOnClose = socket.onclose;
        socket.onerror = function (e) {
          events.push({kind: 'error', code: e.code, description: e.description});
          pageOnError(e);
        };
        socket.onclose = function () {
          events.push({kind: 'close', readyState: socket.readyState});
          pageOnClose();
        };""")
    # Open and delivering until the token runs out.
    tester = Sender(port)
    post(port, tester, "before expiry")
    wait_for(lambda: f"{tester.id}: before expiry" in log_lines(browser, "message"), "the message sent before expiry")
    assert browser.execute_script("return [socket.readyState, events.length]") == [1, 0]
    wait_for(lambda: browser.execute_script("return events.length") >= 2, "onerror and onclose after expiry",
             seconds=TOKEN_SECONDS + DELIVERY_SECONDS)
    ended_after = time.monotonic() - requested_at
    # Not before the token expired (a little slack: the server reads the wall clock).
    assert ended_after >= TOKEN_SECONDS - 0.5, f"the channel ended {ended_after:.1f}s after the page was requested"
    # Enforced by the server while connected: not only when the client next presents the token
    # (a long-poll client does so every 20s).
    assert ended_after < TOKEN_SECONDS + 8, f"the channel ended only {ended_after:.1f}s after the page was requested"
    late = Sender(port)  # the first sender's token has expired too
    post(port, late, "after expiry")
    time.sleep(2 * SETTLE_SECONDS)  # watch for a second onclose, a reconnect or a late message
    assert browser.execute_script("return events") == [
        {"kind": "error", "code": 401, "description": "Token+timed+out."},
        {"kind": "close", "readyState": 3},
    ]
    assert browser.execute_script("return socket.readyState") == 3
    assert browser.find_element("id", "status").text == "disconnected (reload to rejoin)"
    assert log_lines(browser, "status") == ["error 401: Token timed out."]
    assert f"{late.id}: after expiry" not in log_lines(browser, "message")


def test_open_again_after_the_session_is_gone_starts_afresh(browser, chat_port):
    # CHANNEL_API.md 3 and 4: when recovery is impossible the client gets onerror (410) then
    # onclose, and "the app reopens as in the original": channel.open() again must open, not
    # try to resume the lost session forever.
    me = open_chat(browser, chat_port)
    browser.execute_script("""
        socket.close();
        window.events = [];
        window.reopened = null;
        const channel = new goog.appengine.Channel(token);
        channel.session = 'a-session-the-server-never-had';  // what a resume after a restart sends
        channel.seq = 7;
        channel.open({
          onopen: () => events.push({kind: 'open'}),
          onerror: (e) => events.push({kind: 'error', code: e.code, description: e.description}),
          onclose: () => {
            events.push({kind: 'close'});
            window.reopened = channel.open({
              onopen: () => events.push({kind: 'open again'}),
              onmessage: (m) => events.push({kind: 'message', data: JSON.parse(m.data)}),
              onerror: (e) => events.push({kind: 'error again', code: e.code}),
              onclose: () => events.push({kind: 'close again'}),
            });
          },
        });""")
    wait_for(lambda: {"kind": "open again"} in browser.execute_script("return events"), "the second open's onopen")
    post(chat_port, Sender(chat_port), "after the reopen")
    wait_for(lambda: any(e["kind"] == "message" and e["data"].get("text") == "after the reopen"
                         for e in browser.execute_script("return events")), "a message on the reopened socket")
    events = browser.execute_script("return events")
    assert [e for e in events if e["kind"] != "message"] == [
        {"kind": "error", "code": 410, "description": "Channel+session+expired."},
        {"kind": "close"},
        {"kind": "open again"},
    ]
    assert browser.execute_script("return reopened.readyState") == 1

