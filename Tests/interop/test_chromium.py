"""Echo against headless Chromium's WebSocket, driven by Selenium with the system chromedriver.

The scripts run in a blank page served from 127.0.0.1: Chromium's Local Network Access checks
refuse a WebSocket to 127.0.0.1 from `about:blank` (net::ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS),
but not from a page that is itself on loopback.
"""

import http.server
import threading

import pytest

from browser import chromium

# Opens ws://127.0.0.1:PORT/, sends every message in order, collects as many echoes, closes with
# 1000, and reports what it saw. Binary messages go as ArrayBuffers and come back as byte arrays.
EXCHANGE = r"""
const [port, messages, done] = arguments;
const result = {echoes: [], extensions: null, protocol: null, close: null, errors: []};
const finish = () => { clearTimeout(watchdog); done(result); };
const watchdog = setTimeout(() => { result.errors.push('watchdog: no close within 15s'); done(result); }, 15000);
const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
ws.binaryType = 'arraybuffer';
ws.onopen = () => {
    result.extensions = ws.extensions;
    result.protocol = ws.protocol;
    for (const m of messages) {
        if (m.binary) ws.send(new Uint8Array(m.binary).buffer);
        else ws.send(m.text);
    }
    if (messages.length === 0) ws.close(1000, 'done');
};
ws.onmessage = (event) => {
    if (typeof event.data === 'string') result.echoes.push({text: event.data});
    else result.echoes.push({binary: Array.from(new Uint8Array(event.data))});
    if (result.echoes.length === messages.length) ws.close(1000, 'done');
};
ws.onerror = () => result.errors.push('error event');
ws.onclose = (event) => { result.close = {code: event.code, reason: event.reason, clean: event.wasClean}; finish(); };
"""

MESSAGES = [
    {"text": "hello from chromium"},
    {"text": "héllo wörld — ☃ 日本語 🚀"},
    {"text": ""},
    {"text": "compress me " * 2000},
    {"text": "x" * (64 * 1024 - 1)},
    {"binary": list(range(256))},
    {"binary": []},
    {"binary": [i * 7 % 251 for i in range(20000)]},
]


class BlankPage(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<!doctype html><title>Courier interop</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_):
        pass


@pytest.fixture(scope="module")
def page_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), BlankPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser(page_url):
    driver = chromium()
    try:
        driver.get(page_url)
        yield driver
    finally:
        driver.quit()


def exchange(browser, port, messages):
    result = browser.execute_async_script(EXCHANGE, port, messages)
    assert result["errors"] == []
    # The server answers the close with code 1000 (it need not repeat the reason).
    assert result["close"]["code"] == 1000
    assert result["close"]["clean"] is True
    return result


def test_compressed_exchange(browser, echo_port):
    result = exchange(browser, echo_port, MESSAGES)
    assert result["extensions"].split(";")[0].strip() == "permessage-deflate"
    assert result["echoes"] == MESSAGES


def test_uncompressed_exchange(browser, echo_port_uncompressed):
    result = exchange(browser, echo_port_uncompressed, MESSAGES)
    assert result["extensions"] == ""
    assert result["echoes"] == MESSAGES


def test_over_limit_message_closes_with_1009(browser, echo_port):
    result = browser.execute_async_script(EXCHANGE, echo_port, [{"text": "y" * (64 * 1024 + 1)}])
    assert result["echoes"] == []
    assert result["close"]["code"] == 1009
    assert result["close"]["clean"] is True

