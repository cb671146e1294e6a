"""A channel client over the long-poll transport (docs/channel-protocol.md), behaving like the
JavaScript client once it has fallen back to polling: `POST /_ah/channel/poll` with token,
session, seq and cid in the form body, the answer a JSON array of server frames. Its `seq` is an
acknowledgement, so a poll whose answer was lost is answered again; a poll that fails without an
error frame (a dropped connection, a 503 while Redis cannot be reached, a node shutting down) is
retried with the JavaScript client's backoff, resuming with the session and the last seq seen,
usually on another node. An error frame ends it, as `onerror` then `onclose` do.

It has ChannelClient's surface (start, stop, drop, go_away, frames, errors, seq, is_open,
on_message), so a test or the soak drives either transport alike.
"""

import asyncio
import json
import random
import time

from channel_client import ChannelClient, Connection, Frame, HTTPClient


class LongPollClient:
    BACKOFF_START = ChannelClient.BACKOFF_START
    BACKOFF_MAX = ChannelClient.BACKOFF_MAX

    def __init__(self, port, token, name="", *, host="127.0.0.1", poll_timeout=60.0, give_up=120.0,
                 backoff_max=BACKOFF_MAX, on_message=None, record=True):
        self.port, self.host = port, host
        self.token = token
        self.name = name
        self.poll_timeout = poll_timeout  # the JavaScript client's xhr.timeout
        self.give_up = give_up
        self.backoff_max = backoff_max
        self.on_message = on_message
        self.record = record
        self.cid = "%016x" % random.getrandbits(64)  # one per Socket: tells its polls from another tab's
        self.session = ""
        self.seq = 0
        self.frames = []
        self.errors = []
        self.connections = []  # one per TCP connection the polls went over
        self.closed = False
        self.opened = None  # the last `opened` frame
        self.polling = False  # the last poll was answered (not dropped)
        self._http = None
        self._task = None
        self._away_until = 0.0

    @property
    def is_open(self):
        return self.opened is not None and self.polling and not self.closed

    @property
    def seqs(self):
        return [f.seq for f in self.frames]

    def __repr__(self):
        return f"<poll client {self.name} seq={self.seq} frames={len(self.frames)} errors={self.errors} conns={len(self.connections)}>"

    def start(self):
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"poll {self.name}")
        return self

    async def stop(self):
        """Ends the client without telling the server."""
        self.closed = True
        if self._task:
            self._task.cancel()
            try:
                await asyncio.wait_for(self._task, 5)
            except (asyncio.CancelledError, asyncio.TimeoutError, Exception):
                pass
        if self._http is not None:
            self._http.close()

    def drop(self):
        """A network blip: the poll's connection is cut; the client polls again on a new one."""
        if self._http is not None:
            self._http.close()

    def go_away(self, seconds):
        self._away_until = time.monotonic() + seconds
        self.drop()

    async def _run(self):
        tries = 0
        lost_at = None
        self._http = HTTPClient(self.port, self.host)
        while not self.closed:
            if self._http.writer is None:
                self.connections.append(Connection(len(self.connections)))
            answered = await self._poll()
            if self.closed:
                return
            if answered:
                tries, lost_at = 0, None
                continue
            self.polling = False
            lost_at = lost_at or time.monotonic()
            if self._away_until > time.monotonic():
                await asyncio.sleep(self._away_until - time.monotonic())
                tries, lost_at = 0, None
                continue
            if time.monotonic() - lost_at > self.give_up:
                self._fail(410, "Channel+session+expired.")
                return
            delay = min(self.backoff_max, self.BACKOFF_START * 2 ** tries) * (0.75 + random.random() / 2)
            tries += 1
            await asyncio.sleep(delay)

    async def _poll(self):
        """One poll; True when it was answered with frames to act on (or an empty 200)."""
        connection = self.connections[-1]
        form = {"token": self.token, "session": self.session, "seq": self.seq, "cid": self.cid}
        try:
            status, body = await self._http.request("POST", "/_ah/channel/poll", form, self.poll_timeout)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as error:
            connection.ended = f"{type(error).__name__}: {error}"
            return False
        try:
            frames = json.loads(body)
        except ValueError:
            frames = None
        if not isinstance(frames, list) or (not frames and status != 200):
            connection.ended = f"status {status}"
            self._http.close()
            return False
        self.polling = True
        for frame in frames:
            if not self._frame(frame, connection):
                return True
        return True

    def _frame(self, frame, connection):
        kind = frame.get("type")
        if kind == "opened":
            self.opened = connection.opened = frame
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
        return True

    def _fail(self, code, description):
        self.errors.append((code, description))
        if code == 410:
            self.session, self.seq = "", 0
        self.closed = True
        if self._http is not None:
            self._http.close()
