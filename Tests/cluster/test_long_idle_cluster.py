"""A client that stays connected, and quiet, for longer than the Redis engine's key lifetime
(recovery window 120 s + 60 s). Being connected must keep its channel alive, as it does with the
in-memory engine (a client ID is forgotten only once the window has passed since it was last
connected and since the last send): the next message arrives, a network blip resumes, a second
connection still replaces it (409), and a deliberate close is reported at once.

The wait is real (no clock is faked: the TTLs are Redis's own), so the scenario starts in the
background when the session starts (conftest.py) and this test, run last, collects what it saw.
"""

import asyncio
import os
import shutil
import tempfile
import threading
import time

import pytest

from channel_client import ChannelClient, HTTPClient
from cluster import Redis, channel_node
from support import presence_log

KEY_TTL_SECONDS = 120 + 60  # ChannelSettings.recoveryWindowSeconds default + the engine's 60 s
QUIET_SECONDS = KEY_TTL_SECONDS + 10
SCENARIO_SECONDS = QUIET_SECONDS + 90


class QuietClients(threading.Thread):
    """Two ChannelNode processes on one Redis; four clients connected to the first, each sent one
    message, then nothing for QUIET_SECONDS; then what a user does next, and what they see."""

    def __init__(self):
        super().__init__(name="quiet clients", daemon=True)
        self.folder = tempfile.mkdtemp(prefix="courier-cluster-quiet-")
        self.processes = []
        self.seen = {}
        self.error = None
        self.cancelled = threading.Event()

    def run(self):
        try:
            asyncio.run(asyncio.wait_for(self.scenario(), SCENARIO_SECONDS))
        except BaseException as error:  # reported by the test
            self.error = error
        finally:
            for process in self.processes:
                process.kill()
            shutil.rmtree(self.folder, ignore_errors=True)

    async def send(self, node, client, message):
        http = HTTPClient(node.port)
        try:
            return await http.request("POST", "/send", {"client": client, "message": message})
        finally:
            http.close()

    async def scenario(self):
        redis = Redis(self.folder)
        self.processes.append(redis)
        data = os.path.join(self.folder, "data")
        os.makedirs(data)
        a = channel_node("a", self.folder, redis, data)
        self.processes.append(a)
        a.start()
        b = channel_node("b", self.folder, redis, data)
        self.processes.append(b)
        b.start()
        names = ["quiet-send", "quiet-blip", "quiet-replace", "quiet-close"]
        tokens = {}
        for name in names:
            http = HTTPClient(a.port)
            tokens[name] = (await http.request("GET", f"/token?client={name}"))[1]
            http.close()
        url = f"ws://127.0.0.1:{a.port}/_ah/channel/ws"
        clients = {name: ChannelClient(url, tokens[name], name).start() for name in names}
        try:
            for client in clients.values():
                await client.wait(lambda c: c.is_open, "open", 15)
                assert await self.send(b, client.name, "before") == (200, "1")
                await client.wait(lambda c: len(c.frames) == 1, "the first message", 15)
            quiet_from = time.monotonic()
            while time.monotonic() - quiet_from < QUIET_SECONDS:
                if self.cancelled.is_set():
                    return
                await asyncio.sleep(0.5)
            # The JavaScript client pings every 15 s; ours do too, so nobody went silent meanwhile.
            self.seen["still open after the quiet"] = {n: c.is_open for n, c in clients.items()}

            # 1. The app sends again.
            send = clients["quiet-send"]
            self.seen["send: POST /send"] = await self.send(b, send.name, "after")
            await asyncio.sleep(2)
            self.seen["send: frames"] = [(f.seq, f.data) for f in send.frames]
            self.seen["send: errors"] = list(send.errors)

            # 2. A network blip: the client resumes with its session and seq.
            blip = clients["quiet-blip"]
            blip.drop()
            await asyncio.sleep(3)
            await self.send(b, blip.name, "after")
            await asyncio.sleep(2)
            self.seen["blip: frames"] = [(f.seq, f.data) for f in blip.frames]
            self.seen["blip: errors"] = list(blip.errors)
            self.seen["blip: connections"] = list(blip.connections)

            # 3. The same client ID opens on the other node: the newer connection wins.
            older = clients["quiet-replace"]
            newer = ChannelClient(f"ws://127.0.0.1:{b.port}/_ah/channel/ws", tokens[older.name], "quiet-replace newer")
            newer.start()
            clients["quiet-replace newer"] = newer
            await newer.wait(lambda c: c.is_open, "open", 15)
            await asyncio.sleep(2)
            self.seen["replace: older errors"] = list(older.errors)
            await self.send(a, older.name, "to the newer")
            await asyncio.sleep(2)
            self.seen["replace: newer frames"] = [(f.seq, f.data) for f in newer.frames]
            self.seen["replace: older frames"] = [(f.seq, f.data) for f in older.frames]

            # 4. socket.close(): reported disconnected at once (CHANNEL_API.md 5: within 2 s).
            closing = clients["quiet-close"]
            closed_at = time.monotonic()
            await closing.close()
            reported = None
            while time.monotonic() - closed_at < 15:
                if ("quiet-close", False) in await presence_log(a) + await presence_log(b):
                    reported = round(time.monotonic() - closed_at, 1)
                    break
                await asyncio.sleep(0.1)
            self.seen["close: disconnected reported after (s)"] = reported
        finally:
            await asyncio.gather(*(c.stop() for c in clients.values()), return_exceptions=True)


RUNNING = []


def begin():
    """Called by conftest.py when the session starts, if this test is selected."""
    scenario = QuietClients()
    RUNNING.append(scenario)
    scenario.start()


def end():
    for scenario in RUNNING:
        scenario.cancelled.set()
        scenario.join(30)


@pytest.mark.runs_last
def test_a_client_connected_longer_than_the_key_lifetime_keeps_its_channel():
    assert RUNNING, "the scenario was not started (conftest.py starts it when the session starts)"
    scenario = RUNNING[0]
    scenario.join(SCENARIO_SECONDS + 30)
    assert not scenario.is_alive(), "the quiet-client scenario did not finish"
    if scenario.error is not None:
        raise AssertionError(f"the scenario failed: {scenario.error!r}; saw {scenario.seen}")
    seen = scenario.seen
    print(seen)
    assert all(seen["still open after the quiet"].values()), seen
    assert seen["send: POST /send"] == (200, "2"), seen
    assert (seen["send: frames"], seen["send: errors"]) == ([(1, "before"), (2, "after")], []), seen
    assert (seen["blip: frames"], seen["blip: errors"]) == ([(1, "before"), (2, "after")], []), seen
    assert seen["replace: older errors"] == [(409, "Replaced+by+another+connection.")], seen
    assert seen["replace: older frames"] == [(1, "before")], seen
    assert seen["replace: newer frames"] == [(2, "to the newer")], seen
    assert seen["close: disconnected reported after (s)"] is not None, seen
    assert seen["close: disconnected reported after (s)"] <= 3, seen
