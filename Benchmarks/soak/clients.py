"""One soak worker process: its share of the channel clients (WebSocket and long-poll, through the
fault proxy), the publisher that sends each of them numbered messages at a steady rate (POST
/send straight to the nodes, batched, retried with idempotency keys), and the ledger that checks
every message frame as it arrives, before any deduplication: within a client's session each
message is the next number, once, in order; a client may skip numbers only across a 410 (the
recovery window passed: it then opens afresh), never silently.

    python3 clients.py CONFIG.json   (written by soak.py; the result goes to config["out"])
"""

import asyncio
import json
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "Tests", "cluster"))

from channel_client import ChannelClient, HTTPClient  # noqa: E402
from long_poll_client import LongPollClient  # noqa: E402
from support import fetch_tokens  # noqa: E402

WINDOW_SECONDS = 10  # latency percentiles per window of this many seconds


class Ledger:
    """What one client ID was sent and what it saw, checked frame by frame."""

    def __init__(self, worker, name, transport):
        self.worker, self.name, self.transport = worker, name, transport
        self.sent = 0  # the last number the publisher got accepted
        self.next = 1  # the number the next frame must carry
        self.last_seq = None
        self.received = 0
        self.fresh = False  # the next frame is the first after a fresh open that followed a 410
        self.sent_away = 0  # times it was kept away past the recovery window on purpose
        self.away_until = 0.0
        self.errors = []  # error frames' codes, in order
        self.skipped = 0  # numbers never delivered, each time right after a 410
        self.problems = []
        self.client = None
        self.opens = 0
        self.reconnects = 0  # transports after the first, over every client object it had

    def on_message(self, client, seq, data):
        if client is not self.client:
            self.problem(f"a frame on a client object already replaced: seq {seq} {data!r}")
            return
        now = time.time()
        try:
            number, sent_ms = data.split(" ")
            number, sent_ms = int(number), int(sent_ms)
        except ValueError:
            self.problem(f"unexpected payload {data!r}")
            return
        if self.fresh:
            self.fresh = False
            if number < self.next:
                self.problem(f"after a fresh open, {number} again (had up to {self.next - 1})")
                return
            self.skipped += number - self.next
        elif number != self.next:
            what = "a gap" if number > self.next else "a duplicate or reordering"
            self.problem(f"{what}: got {number} (seq {seq}) where {self.next} was due (last seq {self.last_seq})")
            if number < self.next:
                return
        elif self.last_seq is not None and seq != self.last_seq + 1:
            self.problem(f"seq {seq} after {self.last_seq} for message {number}")
        self.next = number + 1
        self.last_seq = seq
        self.received += 1
        # Clients sent away are left out: what a fresh open hands them after the 410 is up to
        # a recovery window old by design, which says nothing about delivery.
        if not self.sent_away:
            self.worker.latency(now, now - sent_ms / 1000)

    def problem(self, text):
        self.worker.problem_count += 1
        if len(self.problems) < 10:
            self.problems.append(f"{time.time() - self.worker.t0:.1f}s: {text}")

    @property
    def complete(self):
        return self.next - 1 == self.sent


class Worker:
    def __init__(self, config):
        self.config = config
        self.t0 = config["t0"]
        self.ledgers = []
        self.windows = {}  # window index -> [latency ms]
        self.problem_count = 0
        self.posts = 0
        self.post_failures = {}
        self.renumbered = 0
        self.reopened = 0
        self.stopping = False

    def latency(self, now, seconds):
        self.windows.setdefault(int((now - self.t0) // WINDOW_SECONDS), []).append(round(seconds * 1000, 1))

    # -- clients

    def make_client(self, ledger, token):
        c = self.config
        if ledger.transport == "ws":
            client = ChannelClient(f"ws://127.0.0.1:{c['proxy_port']}/_ah/channel/ws", token, ledger.name,
                                   on_message=ledger.on_message, record=False, give_up=c["give_up"])
        else:
            client = LongPollClient(c["proxy_port"], token, ledger.name, on_message=ledger.on_message, record=False,
                                    give_up=c["give_up"])
        ledger.client = client
        ledger.opens += 1
        return client.start()

    async def watch(self, ledger, token):
        """The app's side: a channel that ended (onerror, onclose) is opened again afresh, as Tic
        Tac Toe's page would on its next load."""
        while not self.stopping:
            await asyncio.sleep(0.5 + random.random() * 0.2)
            client = ledger.client
            if not client.closed or self.stopping:
                continue
            ledger.errors += [code for code, _ in client.errors]
            ledger.reconnects += len(client.connections) - 1
            if not client.errors:
                ledger.problem("the client stopped without an error frame")
            elif client.errors[-1][0] != 410:
                ledger.problem(f"error {client.errors[-1]} (its last connections: {self.history(client)})")
            elif time.monotonic() < ledger.away_until or not ledger.sent_away:
                ledger.problem(f"410 although it was never kept away past the recovery window "
                               f"(its last connections: {self.history(client)})")
            ledger.fresh = True
            await client.stop()
            self.reopened += 1
            self.make_client(ledger, token)

    def history(self, client):
        """The client's last connections: when each started (seconds into the run) and how it ended."""
        offset = time.time() - self.t0 - time.monotonic()
        return [(round(c.started + offset, 1), c.opened is not None, c.ended) for c in client.connections[-4:]]

    # -- the publisher

    async def publish(self, lane_ledgers, start, stop):
        """Sends each ledger's next number every `interval` seconds (its phase random), in order,
        one POST per tick for the lane's due clients; a failed POST is retried, on the next node,
        with the same idempotency keys, before the lane moves on (so order holds)."""
        c = self.config
        interval, tick = c["interval"], c["tick"]
        slots = max(1, round(interval / tick))
        due = [[] for _ in range(slots)]
        for ledger in lane_ledgers:
            due[random.randrange(slots)].append(ledger)
        ports = list(c["node_ports"])
        connections = {port: HTTPClient(port) for port in ports}
        which = random.randrange(len(ports))
        k = 0
        while True:
            at = start + k * tick
            if at >= stop:
                break
            delay = at - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            batch = due[k % slots]
            k += 1
            if not batch:
                continue
            sent_ms = int(time.time() * 1000)
            form = []
            for ledger in batch:
                n = ledger.sent + 1
                form += [("client", ledger.name), ("message", f"{n} {sent_ms}"), ("key", f"{ledger.name}-{n}")]
            attempt = 0
            while True:
                port = ports[which % len(ports)]
                try:
                    status, body = await connections[port].request("POST", "/send", form, c["post_timeout"])
                    if status == 200:
                        seqs = [int(s) for s in body.split(",")]
                        break
                    why = str(status)
                except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as error:
                    why = type(error).__name__
                self.post_failures[why] = self.post_failures.get(why, 0) + 1
                which += 1
                attempt += 1
                await asyncio.sleep(min(1.0, 0.05 * attempt))
            self.posts += 1
            for ledger, seq in zip(batch, seqs):
                ledger.sent += 1
                if seq != ledger.sent and not ledger.sent_away:
                    self.renumbered += 1
        for http in connections.values():
            http.close()

    # -- the deliberate absences

    async def send_away(self, ledgers, start, stop):
        """Keeps a few clients away past the recovery window (the transport cut, nothing tried),
        spread over the run and ending early enough that they reopen before it ends."""
        c = self.config
        away = c["away_seconds"]
        chosen = random.sample(ledgers, min(c["away_clients"], len(ledgers)))
        latest = stop - away - 30
        if latest <= start + 5:
            return
        times = sorted(random.uniform(start + 5, latest) for _ in chosen)
        for ledger, at in zip(chosen, times):
            await asyncio.sleep(max(0, at - time.time()))
            for _ in range(40):  # it must be open to be sent away (not mid-reconnect)
                if ledger.client.is_open or self.stopping:
                    break
                await asyncio.sleep(0.5)
            ledger.sent_away += 1
            ledger.away_until = time.monotonic() + away
            ledger.client.go_away(away)

    async def run(self):
        c = self.config
        names = [f"{c['prefix']}-{i}" for i in range(c["clients"])]
        kinds = ["lp" if i % 3 == 2 and c["long_poll"] else "ws" for i in range(c["clients"])]
        tokens = await fetch_tokens(c["node_ports"][0], names)
        self.ledgers = [Ledger(self, name, kind) for name, kind in zip(names, kinds)]
        ramp = c["ramp"] / max(1, len(self.ledgers))
        for ledger, token in zip(self.ledgers, tokens):
            self.make_client(ledger, token)
            await asyncio.sleep(ramp)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all(l.client.is_open for l in self.ledgers):
            await asyncio.sleep(0.2)
        not_open = [l.name for l in self.ledgers if not l.client.is_open]
        if not_open:
            print(f"worker {c['index']}: {len(not_open)} clients not open after the ramp, e.g. {not_open[:5]}",
                  file=sys.stderr)
        watchers = [asyncio.create_task(self.watch(l, t)) for l, t in zip(self.ledgers, tokens)]
        start, stop = c["publish_at"], c["publish_at"] + c["duration"]
        lanes = c["lanes"]
        publishers = [asyncio.create_task(self.publish(self.ledgers[i::lanes], start, stop)) for i in range(lanes)]
        away = asyncio.create_task(self.send_away(self.ledgers, start, stop))
        await asyncio.gather(*publishers)
        away.cancel()
        # Drain: every client must end holding its last number.
        deadline = time.monotonic() + c["drain"]
        while time.monotonic() < deadline and not all(l.complete for l in self.ledgers):
            await asyncio.sleep(0.5)
        self.stopping = True
        for task in watchers:
            task.cancel()
        await asyncio.gather(*(l.client.stop() for l in self.ledgers), return_exceptions=True)
        return self.report()

    def report(self):
        incomplete = [l for l in self.ledgers if not l.complete]
        for ledger in incomplete:
            ledger.problem(f"ended holding {ledger.next - 1} of {ledger.sent} (client {ledger.client!r})")
        stayed = [l for l in self.ledgers if not l.sent_away]
        away = [l for l in self.ledgers if l.sent_away]

        def reconnects(ledger):
            return ledger.reconnects + len(ledger.client.connections) - 1

        errors = {}
        for ledger in self.ledgers:
            for code in ledger.errors:
                errors[str(code)] = errors.get(str(code), 0) + 1
        return {
            "worker": self.config["index"],
            "clients": len(self.ledgers),
            "websocket": sum(1 for l in self.ledgers if l.transport == "ws"),
            "long_poll": sum(1 for l in self.ledgers if l.transport == "lp"),
            "sent": sum(l.sent for l in self.ledgers),
            "received": sum(l.received for l in self.ledgers),
            "skipped_after_410": sum(l.skipped for l in self.ledgers),
            "stayed": len(stayed),
            "stayed_exact": sum(1 for l in stayed if l.complete and not l.problems and l.received == l.sent),
            "sent_away": len(away),
            "away_got_410": sum(1 for l in away if 410 in l.errors),
            "away_reopened_complete": sum(1 for l in away if l.complete and not l.problems),
            "errors": errors,
            "reopened": self.reopened,
            "reconnects": sum(reconnects(l) for l in self.ledgers),
            "problems": self.problem_count,
            "problem_clients": [{"name": l.name, "transport": l.transport, "problems": l.problems}
                                for l in self.ledgers if l.problems][:50],
            "posts": self.posts,
            "post_failures": self.post_failures,
            "renumbered": self.renumbered,
            "latency_windows": {str(k): v for k, v in sorted(self.windows.items())},
        }


def main():
    config = json.load(open(sys.argv[1]))
    random.seed(config.get("seed"))
    worker = Worker(config)
    report = asyncio.run(worker.run())
    with open(config["out"], "w") as f:
        json.dump(report, f)


if __name__ == "__main__":
    main()
