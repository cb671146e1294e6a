"""A channel client in Python that behaves like the JavaScript one served at /_ah/channel/jsapi
(docs/channel-protocol.md), over the WebSocket transport, and an asyncio HTTP/1.1 client for the
publisher.

ChannelClient opens with `{"type":"open","token":T,"session":"","seq":0}`; when its connection
drops without an error frame (a killed node, a 1001 from a node shutting down, a 1013 while Redis
cannot be reached, no `opened` within a few seconds, silence past its heartbeat) it reconnects,
with the same backoff as the JavaScript client, and resumes with its session and the last seq it
saw. Through nginx a reconnection usually lands on another node. An error frame ends it, as
`onerror` then `onclose` do. It records every message frame as it arrives, on every connection,
BEFORE the deduplication the JavaScript client does, so a test can assert exactly-once.
"""

import asyncio
import json
import random
import time

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus


class Frame:
    __slots__ = ("seq", "data", "connection", "at")

    def __init__(self, seq, data, connection, at):
        self.seq, self.data, self.connection, self.at = seq, data, connection, at

    def __repr__(self):
        return f"#{self.seq}:{self.data!r}@{self.connection}"


class Connection:
    """One WebSocket the client made: where nginx sent it and how it ended."""

    def __init__(self, index):
        self.index = index
        self.upstream = None
        self.opened = None  # the `opened` frame
        self.ended = None  # why it ended
        self.started = time.monotonic()

    def __repr__(self):
        return f"<conn {self.index} via {self.upstream} opened={self.opened is not None} ended={self.ended}>"


class ChannelClient:
    BACKOFF_START = 0.25  # the JavaScript client's: 250 ms doubling up to 10 s, +-25% jitter
    BACKOFF_MAX = 10.0

    def __init__(self, url, token, name="", *, open_timeout=3.0, heartbeat=15.0, silence=45.0, give_up=120.0,
                 backoff_max=BACKOFF_MAX, on_message=None, record=True):
        self.url = url
        self.token = token
        self.name = name
        self.open_timeout = open_timeout  # the JavaScript client's WS_WAIT
        self.heartbeat = heartbeat  # ping every `heartbeat`...
        self.silence = silence  # ...and reconnect after this long without a frame
        self.give_up = give_up
        self.backoff_max = backoff_max
        self.session = ""
        self.seq = 0  # the last seq seen (the JavaScript client's channel.seq)
        self.frames = []  # every message frame, duplicates and all, in arrival order
        self.errors = []  # (code, description) of error frames
        self.connections = []
        self.closed = False  # ended by an error frame or close()
        self.reconnect = True  # False: a dropped connection ends the client (a page closed with its node)
        # on_message(client, seq, data), for every message frame as it arrives (before any
        # deduplication); record=False keeps `frames` empty, for runs too long to keep them all.
        self.on_message = on_message
        self.record = record
        self._away_until = 0.0
        self._ws = None
        self._task = None
        self._changed = asyncio.Event()

    # -- what a test reads

    @property
    def seqs(self):
        return [f.seq for f in self.frames]

    @property
    def data(self):
        return [f.data for f in self.frames]

    @property
    def current(self):
        return self.connections[-1] if self.connections else None

    @property
    def is_open(self):
        c = self.current
        return c is not None and c.opened is not None and c.ended is None

    def __repr__(self):
        return f"<client {self.name} seq={self.seq} frames={len(self.frames)} errors={self.errors} conns={self.connections}>"

    # -- lifecycle

    def start(self):
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"channel {self.name}")
        return self

    async def stop(self):
        """Ends the client without telling the server (the test is over)."""
        self.closed = True
        if self._task:
            self._task.cancel()
            try:
                await asyncio.wait_for(self._task, 5)
            except (asyncio.CancelledError, asyncio.TimeoutError, Exception):
                pass
        if self._ws is not None:
            self._ws.transport.abort()

    async def close(self):
        """socket.close(): a deliberate close, then no reconnect."""
        self.closed = True
        ws = self._ws
        if ws is not None:
            try:
                await ws.send('{"type":"close"}')
                await asyncio.wait_for(ws.close(), 2)
            except Exception:
                pass
        await self.stop()

    def drop(self):
        """A network blip: the current transport is cut (no close frame); the client reconnects."""
        if self._ws is not None:
            self._ws.transport.abort()

    def go_away(self, seconds):
        """A laptop closed: the transport is cut and the client tries nothing for `seconds`, then
        resumes with its session and seq (which the server may answer with 410)."""
        self._away_until = time.monotonic() + seconds
        self.drop()

    async def wait(self, condition, what, seconds):
        """Waits until condition(self) is true; raises AssertionError with the client's state if not."""
        deadline = time.monotonic() + seconds
        while not condition(self):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{self.name}: timed out after {seconds}s waiting for {what}: {self!r}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))
            except asyncio.TimeoutError:
                pass

    def _notify(self):
        self._changed.set()

    # -- the protocol

    async def _run(self):
        tries = 0
        lost_at = None
        while not self.closed:
            connection = Connection(len(self.connections))
            self.connections.append(connection)
            opened = await self._connect(connection)
            self._notify()
            if self.closed or not self.reconnect:
                return
            if opened:
                tries, lost_at = 0, None
            lost_at = lost_at or time.monotonic()
            if self._away_until > time.monotonic():
                await asyncio.sleep(self._away_until - time.monotonic())
                tries, lost_at = 0, None  # asleep, the page counted no failed reconnects
                continue
            if time.monotonic() - lost_at > self.give_up:
                self._fail(410, "Channel+session+expired.")
                return
            delay = min(self.backoff_max, self.BACKOFF_START * 2 ** tries) * (0.75 + random.random() / 2)
            tries += 1
            await asyncio.sleep(delay)

    async def _connect(self, connection):
        """One WebSocket, from the handshake to its end; True when it got as far as `opened`."""
        try:
            ws = await connect(self.url, compression=None, ping_interval=None, close_timeout=2,
                               open_timeout=self.open_timeout, max_size=2 ** 20, max_queue=None)
        except InvalidStatus as error:
            connection.ended = f"handshake {error.response.status_code}"
            return False
        except (OSError, InvalidHandshake, asyncio.TimeoutError, EOFError) as error:
            connection.ended = f"handshake {type(error).__name__}: {error}"
            return False
        self._ws = ws
        connection.upstream = ws.response.headers.get("X-Upstream")
        heart = None
        try:
            await ws.send(json.dumps({"type": "open", "token": self.token, "session": self.session, "seq": self.seq}))
            try:
                first = await asyncio.wait_for(ws.recv(), self.open_timeout)
            except asyncio.TimeoutError:
                connection.ended = "no opened in time"
                return False
            if not self._frame(json.loads(first), connection):
                return connection.opened is not None
            heart = asyncio.get_running_loop().create_task(self._heartbeat(ws, connection))
            async for text in ws:
                if not self._frame(json.loads(text), connection):
                    break
                connection.last = time.monotonic()
            if connection.ended is None:
                connection.ended = f"closed {ws.close_code}"
            return connection.opened is not None
        except ConnectionClosed as closed:
            if connection.ended is None:
                connection.ended = f"closed {closed.rcvd.code if closed.rcvd else 'abnormally'}"
            return connection.opened is not None
        except (OSError, asyncio.TimeoutError) as error:
            connection.ended = f"{type(error).__name__}: {error}"
            return connection.opened is not None
        finally:
            if heart:
                heart.cancel()
            self._ws = None
            ws.transport.abort()

    async def _heartbeat(self, ws, connection):
        """Pings every `heartbeat`; silence for `silence` is a lost connection (cut, then resumed)."""
        connection.last = time.monotonic()
        try:
            while True:
                await asyncio.sleep(min(self.heartbeat, self.silence) / 2)
                if time.monotonic() - connection.last > self.silence:
                    connection.ended = "silent"
                    ws.transport.abort()
                    return
                if time.monotonic() - getattr(connection, "pinged", 0) >= self.heartbeat:
                    connection.pinged = time.monotonic()
                    await ws.send('{"type":"ping"}')
        except (ConnectionClosed, OSError):
            pass

    def _frame(self, frame, connection):
        """Handles one server frame; False when it ends the channel."""
        connection.last = time.monotonic()
        kind = frame.get("type")
        if kind == "opened":
            connection.opened = frame
            self.session = frame["session"]
        elif kind == "message":
            if self.record:
                self.frames.append(Frame(frame["seq"], frame["data"], connection.index, time.monotonic()))
            if self.on_message:
                self.on_message(self, frame["seq"], frame["data"])
            if frame["seq"] > self.seq:
                self.seq = frame["seq"]
        elif kind == "error":
            connection.ended = f"error {frame['code']}"
            self._fail(frame["code"], frame["description"])
            return False
        self._notify()
        return True

    def _fail(self, code, description):
        self.errors.append((code, description))
        if code == 410:  # nothing to resume: the app's next open() starts afresh
            self.session, self.seq = "", 0
        self.closed = True
        self._notify()


class HTTPClient:
    """A keep-alive HTTP/1.1 connection; any error or timeout closes it, the next request reopens."""

    def __init__(self, port, host="127.0.0.1"):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def request(self, method, path, form=None, timeout=5.0):
        """(status, body); raises OSError or asyncio.TimeoutError (the connection is then closed)."""
        try:
            return await asyncio.wait_for(self._request(method, path, form), timeout)
        except BaseException:
            self.close()
            raise

    async def _request(self, method, path, form):
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        body = b""
        if form is not None:
            from urllib.parse import urlencode
            body = urlencode(form).encode()
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Length: {len(body)}\r\n"
                + ("Content-Type: application/x-www-form-urlencoded\r\n" if form is not None else "") + "\r\n")
        self.writer.write(head.encode() + body)
        status_line = await self.reader.readuntil(b"\r\n")
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise OSError(f"bad status line {status_line!r}")
        status = int(parts[1])
        headers = {}
        while True:
            line = await self.reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                chunks.append(chunk[:-2])
            content = b"".join(chunks)
        else:
            content = await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, content.decode(errors="replace")

    def close(self):
        if self.writer is not None:
            self.writer.transport.abort()
        self.reader = self.writer = None


class Publisher:
    """Sends numbered messages with POST /send through a pool of keep-alive connections, retrying
    a failed or timed-out POST with the same idempotency key until it is accepted."""

    def __init__(self, port, connections=32, timeout=3.0, deadline=120.0):
        self.port = port
        self.pool = asyncio.Queue()
        for _ in range(connections):
            self.pool.put_nowait(HTTPClient(port))
        self.timeout = timeout
        self.deadline = deadline
        self.retries = 0
        self.failures = {}  # status or exception name -> count
        self.sent = 0
        self.renumbered = []  # (client, n, seq) where stream() saw a sequence number other than n

    async def send(self, client, message, key):
        """The sequence number Redis gave the message."""
        started = time.monotonic()
        attempt = 0
        while True:
            http = await self.pool.get()
            try:
                status, body = await http.request("POST", "/send", {"client": client, "message": message, "key": key},
                                                  self.timeout)
                if status == 200:
                    self.sent += 1
                    return int(body)
                why = status
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as error:
                why = type(error).__name__
            finally:
                self.pool.put_nowait(http)
            self.failures[why] = self.failures.get(why, 0) + 1
            self.retries += 1
            if time.monotonic() - started > self.deadline:
                raise AssertionError(f"POST /send {client} {key} not accepted within {self.deadline}s: {self.failures}")
            attempt += 1
            await asyncio.sleep(min(0.5, 0.02 * attempt))

    async def stream(self, client, numbers, key_prefix, pause=0.0, on_sent=None):
        """Sends str(n) for each n in order, each only after the previous was accepted. The
        streams in these tests are a client's only messages, so Redis must number message n as n
        (a retried key sent twice would show here first)."""
        for n in numbers:
            seq = await self.send(client, str(n), f"{key_prefix}-{n}")
            if seq != n:
                self.renumbered.append((client, n, seq))
            if on_sent:
                on_sent(n)
            if pause:
                await asyncio.sleep(pause)

    def close(self):
        while not self.pool.empty():
            self.pool.get_nowait().close()
