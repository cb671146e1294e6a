"""Channels across processes: ChannelNode processes on one real redis-server, behind a real nginx
(round robin, no sticky sessions), driven by Python channel clients that behave like the
JavaScript one (channel_client.py). Each test builds its own cluster and stops it at the end.

What a user would see is asserted: every message of a numbered stream arrives once, in order,
counted before any client-side deduplication, through node crashes, Redis hiccups and restarts;
presence says connected once per client and disconnected once per client that really left.
"""

import asyncio
import json
import signal
import time

import pytest

from channel_client import HTTPClient, Publisher
from support import (assert_delivered, by_node, numbered, open_clients, presence_log, run, stop_all, wait_all,
                     wait_until)

DELIVERY_SECONDS = 60
# The engine lets a dead node's clients lapse after max(3, min(heartbeat, 10)) s: 10 s with the
# default 30 s heartbeat. The bound a user is promised here, with room for the sweep.
PRESENCE_BOUND_SECONDS = 20


def test_a_message_sent_on_one_node_reaches_a_client_on_another_in_order(cluster):
    async def scenario():
        (client,) = await open_clients(cluster, ["alice"])
        try:
            serving = cluster.node_at(client.current.upstream)
            assert serving is not None, f"nginx did not say which node served the WebSocket: {client.connections}"
            others = [node for node in cluster.nodes if node is not serving]
            http = HTTPClient(others[0].port)
            try:
                for n in range(1, 101):
                    status, body = await http.request("POST", "/send", {"client": "alice", "message": f"m{n}"})
                    assert (status, body) == (200, str(n)), f"POST /send to {others[0].name}"
            finally:
                http.close()
            await client.wait(lambda c: len(c.frames) >= 100, "100 messages", DELIVERY_SECONDS)
            await asyncio.sleep(0.5)  # a duplicate or a late extra would show now
            assert_delivered([client], lambda c: [(n, f"m{n}") for n in range(1, 101)])
            assert len(client.connections) == 1, client.connections
        finally:
            await client.stop()

    run(scenario(), 90)


async def stream_to_all(publisher, clients, count, key="c", pause=0.0):
    """Each client's numbered stream 1..count, the clients' streams side by side."""
    await asyncio.gather(*(publisher.stream(client.name, range(1, count + 1), f"{key}{i}", pause=pause)
                           for i, client in enumerate(clients)))


async def stream_to_all_from(publisher, clients, first, last, key):
    """Each client's stream on from `first` to `last`, the keys going on from where they were."""
    await asyncio.gather(*(publisher.stream(c.name, range(first, last + 1), f"{key}{i}") for i, c in enumerate(clients)))


async def when_sent(publisher, count, seconds=DELIVERY_SECONDS):
    await wait_until(lambda: publisher.sent >= count, f"{count} messages accepted", seconds, interval=0.01)


def test_a_node_killed_mid_stream_loses_and_repeats_nothing(cluster):
    messages, crowd = 200, 300

    async def scenario():
        clients = await open_clients(cluster, [f"k{i}" for i in range(crowd)])
        publisher = Publisher(cluster.nginx.port, connections=48)
        try:
            spread = by_node(cluster, clients)
            assert set(spread) == set(cluster.nodes), f"nginx spread the clients {({n.name: len(c) for n, c in spread.items()})}"
            victim = cluster.nodes[1]
            stranded = spread[victim]
            sending = asyncio.ensure_future(stream_to_all(publisher, clients, messages))
            await when_sent(publisher, messages * crowd // 3)
            victim.kill()
            killed_after = publisher.sent
            await asyncio.wait_for(sending, DELIVERY_SECONDS)
            await wait_all(clients, lambda c: len(c.frames) >= messages or c.errors, f"{messages} messages each",
                           DELIVERY_SECONDS)
            await asyncio.sleep(1)
            print(f"killed {victim.name} after {killed_after} sends; {len(stranded)} clients on it; "
                  f"publisher retries {publisher.retries} {publisher.failures}")
            assert not publisher.renumbered, f"POST /send answered other sequence numbers: {publisher.renumbered[:10]}"
            assert_delivered(clients, lambda c: numbered(messages))
            # The victim's clients moved on to the other nodes (and nobody else had to).
            assert all(len(c.connections) >= 2 and cluster.node_at(c.current.upstream) not in (None, victim)
                       for c in stranded), [c for c in stranded if len(c.connections) < 2][:3]
        finally:
            publisher.close()
            await stop_all(clients)

    run(scenario(), 150)


def test_presence_is_one_connected_per_client_and_one_disconnected_per_client_that_left(cluster):
    crowd = 30

    async def scenario():
        clients = await open_clients(cluster, [f"p{i}" for i in range(crowd)])
        try:
            names = {c.name for c in clients}

            async def connected_everywhere():
                events = [e for node in cluster.nodes for e in await presence_log(node)]
                return names <= {client for client, connected in events if connected}

            await wait_until(connected_everywhere, "a connected event for every client", 10)
            spread = by_node(cluster, clients)
            victim = cluster.nodes[0]
            on_victim = spread[victim]
            assert len(on_victim) >= 4, {n.name: len(c) for n, c in spread.items()}
            leavers = on_victim[::2]  # their pages close with the node: they never come back
            returners = on_victim[1::2]
            for client in leavers:
                client.reconnect = False
            victim_log = await presence_log(victim)  # gone with the node once it is killed
            killed_at = time.monotonic()
            victim.kill()
            survivors = [node for node in cluster.nodes if node is not victim]
            await wait_all(returners, lambda c: len(c.connections) >= 2 and c.is_open, "the returners' resume", 30)

            async def survivors_events():
                return [e for node in survivors for e in await presence_log(node)]

            leaver_names = {c.name for c in leavers}
            reported = {}
            while set(reported) != leaver_names and time.monotonic() - killed_at < PRESENCE_BOUND_SECONDS + 1:
                for client, connected in await survivors_events():
                    if not connected and client not in reported:
                        reported[client] = time.monotonic() - killed_at
                await asyncio.sleep(0.2)
            await asyncio.sleep(3)  # a second disconnected, or one for a client still here, would show now
            events = victim_log + await survivors_events()
            print(f"{len(leavers)} leavers, {len(returners)} returners on {victim.name}; "
                  f"disconnected reported after {sorted(round(t, 1) for t in reported.values())} s")
            connected = {name: sum(1 for c, up in events if c == name and up) for name in names}
            assert all(count == 1 for count in connected.values()), \
                f"connected events per client (one each, none for a resume): " \
                f"{ {n: k for n, k in connected.items() if k != 1} }"
            disconnected = {name: sum(1 for c, up in events if c == name and not up) for name in names}
            assert {n for n, k in disconnected.items() if k} == leaver_names, \
                f"disconnected for {sorted(n for n, k in disconnected.items() if k)}, " \
                f"expected exactly the clients that left: {sorted(leaver_names)}"
            assert all(disconnected[n] == 1 for n in leaver_names), disconnected
            late = {n: t for n, t in reported.items() if t > PRESENCE_BOUND_SECONDS}
            assert not late and set(reported) == leaver_names, \
                f"disconnected within {PRESENCE_BOUND_SECONDS}s of the kill: {reported}"
        finally:
            await stop_all(clients)

    run(scenario(), 90)


def test_the_subscriber_connections_killed_in_redis_mid_stream_lose_nothing(cluster):
    messages, crowd = 200, 30

    async def scenario():
        clients = await open_clients(cluster, [f"s{i}" for i in range(crowd)])
        publisher = Publisher(cluster.nginx.port, connections=16)
        try:
            sending = asyncio.ensure_future(stream_to_all(publisher, clients, messages, pause=0.005))
            await when_sent(publisher, messages * crowd // 3)
            # Every node's Pub/Sub connection, cut by Redis itself (as a failover or a proxy would).
            killed = cluster.redis.cli("CLIENT", "KILL", "TYPE", "pubsub").strip()
            killed_after = publisher.sent
            await asyncio.wait_for(sending, DELIVERY_SECONDS)
            await wait_all(clients, lambda c: len(c.frames) >= messages or c.errors, f"{messages} messages each",
                           DELIVERY_SECONDS)
            await asyncio.sleep(1)
            print(f"CLIENT KILL TYPE pubsub: {killed} after {killed_after} sends; "
                  f"publisher retries {publisher.retries} {publisher.failures}")
            # Per node (one server loop each): its loop's subscriber, which carries the clients'
            # channels, and its engine's control subscriber (the node channel).
            assert killed == str(2 * len(cluster.nodes)), f"CLIENT KILL TYPE pubsub answered {killed!r}"
            assert not publisher.renumbered, f"POST /send answered other sequence numbers: {publisher.renumbered[:10]}"
            assert_delivered(clients, lambda c: numbered(messages))
        finally:
            publisher.close()
            await stop_all(clients)

    run(scenario(), 120)


def test_redis_restarted_empty_ends_every_channel_with_410_and_a_fresh_open_works(cluster):
    crowd = 20

    async def scenario():
        names = [f"r{i}" for i in range(crowd)]
        clients = await open_clients(cluster, names)
        publisher = Publisher(cluster.nginx.port, connections=8, deadline=30)
        fresh = []
        try:
            await stream_to_all(publisher, clients, 5, key="before")
            await wait_all(clients, lambda c: len(c.frames) >= 5, "the first 5 messages", DELIVERY_SECONDS)
            cluster.redis.restart_empty()
            # The app goes on sending (retrying while the nodes reconnect to Redis).
            await asyncio.gather(*(publisher.send(c.name, "after the restart", f"after-{c.name}") for c in clients))
            await wait_all(clients, lambda c: c.errors, "an error frame on every channel", 30)
            await asyncio.sleep(1)
            # The held messages are gone with Redis: the client must hear so (410), never see a
            # later message as if nothing had been lost, nor a sequence number starting over.
            wrong = [c for c in clients if c.errors != [(410, "Channel+session+expired.")]
                     or [(f.seq, f.data) for f in c.frames] != numbered(5)]
            assert not wrong, f"{len(wrong)} of {crowd} clients did not get exactly 5 messages then 410: {wrong[:5]}"
        finally:
            await stop_all(clients)
        try:
            # The app's onclose: a fresh token and open() again; the message it sent meanwhile
            # was handed to nobody, so the fresh open receives it, then what follows.
            fresh = await open_clients(cluster, names)
            await asyncio.gather(*(publisher.send(c.name, "after the reopen", f"reopen-{c.name}") for c in fresh))
            await wait_all(fresh, lambda c: len(c.frames) >= 2 or c.errors, "the messages after the reopen", 30)
            await asyncio.sleep(0.5)
            assert_delivered(fresh, lambda c: [(1, "after the restart"), (2, "after the reopen")])
        finally:
            publisher.close()
            await stop_all(fresh)

    run(scenario(), 120)


def test_a_frozen_node_woken_up_repeats_nothing_and_the_newer_connection_stays_owner(cluster):
    crowd = 12

    async def scenario():
        # Clients that notice a silent node quickly: a ping a second, reconnect after 3 s of silence
        # (the JavaScript client's are 15 s and 45 s; the behaviour is the same, only sooner).
        clients = await open_clients(cluster, [f"z{i}" for i in range(crowd)], heartbeat=1.0, silence=3.0)
        publisher = Publisher(cluster.nginx.port, connections=12, timeout=1.5)
        try:
            victim = cluster.nodes[2]
            frozen = by_node(cluster, clients)[victim]
            assert frozen, "no client on the node to freeze"
            frozen_connections = {c.name: c.current.index for c in frozen}
            await stream_to_all(publisher, clients, 40, key="a")
            await wait_all(clients, lambda c: len(c.frames) >= 40, "messages 1-40", DELIVERY_SECONDS)
            # While the node is frozen, nginx still hands it a share of the POSTs: each waits for the
            # publisher's timeout, then goes again (same key) and usually lands elsewhere.

            victim.signal(signal.SIGSTOP)
            stopped_at = time.monotonic()
            # Sends go on while the frozen node's clients notice the silence and move.
            await stream_to_all_from(publisher, clients, 41, 55, key="a")
            await wait_all(frozen, lambda c: c.is_open and cluster.node_at(c.current.upstream) not in (None, victim),
                           "the frozen node's clients on another node", 30)
            await stream_to_all_from(publisher, clients, 56, 60, key="a")
            await wait_all(clients, lambda c: len(c.frames) >= 60 or c.errors, "messages 41-60", DELIVERY_SECONDS)
            moved = {c.name: c.current.index for c in frozen}

            victim.signal(signal.SIGCONT)
            print(f"{victim.name} stopped for {time.monotonic() - stopped_at:.1f}s; {len(frozen)} clients moved; "
                  f"publisher retries {publisher.retries} {publisher.failures}")
            await asyncio.sleep(3)  # the woken node reads what queued up for it: stale sends, Pub/Sub, the kick
            await stream_to_all_from(publisher, clients, 61, 80, key="a")
            await wait_all(clients, lambda c: len(c.frames) >= 80 or c.errors, "messages 61-80", DELIVERY_SECONDS)
            await asyncio.sleep(1)
            assert not publisher.renumbered, f"POST /send answered other sequence numbers: {publisher.renumbered[:10]}"
            assert_delivered(clients, lambda c: numbered(80))
            for client in frozen:
                assert client.current.index == moved[client.name] != frozen_connections[client.name], client
                assert client.is_open, f"the newer connection of {client.name} was ended: {client.connections}"
                after = [f for f in client.frames if f.seq > 60]
                assert all(f.connection == moved[client.name] for f in after), \
                    f"{client.name}: messages after SIGCONT came on {sorted({f.connection for f in after})}, " \
                    f"not the newer connection {moved[client.name]}"
            status, body = await HTTPClient(victim.port).request("GET", "/health")
            assert status == 200, f"the woken node answers /health: {status} {body}"
        finally:
            publisher.close()
            await stop_all(clients)

    run(scenario(), 150)



def test_a_rolling_restart_of_every_node_loses_nothing(cluster):
    crowd = 30

    async def scenario():
        clients = await open_clients(cluster, [f"t{i}" for i in range(crowd)])
        publisher = Publisher(cluster.nginx.port, connections=16)
        restarting = True
        counts = {}

        async def keep_sending(index, client):
            # Messages flow the whole time: one every 20 ms per client until the restarts are
            # over, then 20 more.
            n, tail = 0, 20
            while restarting or tail:
                n += 1
                seq = await publisher.send(client.name, str(n), f"t{index}-{n}")
                if seq != n:
                    publisher.renumbered.append((client.name, n, seq))
                counts[client.name] = n
                if not restarting:
                    tail -= 1
                await asyncio.sleep(0.02)

        try:
            sending = asyncio.gather(*(keep_sending(i, c) for i, c in enumerate(clients)))
            await when_sent(publisher, crowd * 10)
            exits = []
            for node in cluster.nodes:
                # One at a time: SIGTERM (the node closes its WebSockets with 1001 and exits),
                # start it again on its port, and only then the next.
                on_it = by_node(cluster, clients)[node]
                exits.append((node.name, len(on_it), await asyncio.to_thread(node.stop)))
                await asyncio.to_thread(node.start)
                await asyncio.sleep(0.5)
            restarting = False
            await asyncio.wait_for(sending, DELIVERY_SECONDS)
            await wait_all(clients, lambda c: len(c.frames) >= counts[c.name] or c.errors, "every message sent",
                           DELIVERY_SECONDS)
            await asyncio.sleep(1)
            print(f"restarts (node, clients on it, exit status): {exits}; messages per client "
                  f"{min(counts.values())}-{max(counts.values())}; reconnections "
                  f"{sum(len(c.connections) - 1 for c in clients)}; publisher retries {publisher.retries} "
                  f"{publisher.failures}")
            assert [status for _, _, status in exits] == [0, 0, 0], f"SIGTERM exit statuses {exits}"
            assert not publisher.renumbered, f"POST /send answered other sequence numbers: {publisher.renumbered[:10]}"
            assert_delivered(clients, lambda c: numbered(counts[c.name]))
            assert sum(len(c.connections) - 1 for c in clients) >= crowd, "every client had to move at least once"
        finally:
            restarting = False
            publisher.close()
            await stop_all(clients)

    run(scenario(), 150)


def test_a_second_tab_replaces_the_first_and_receives_only_what_follows(cluster):
    async def scenario():
        (first,) = await open_clients(cluster, ["tab"])
        publisher = Publisher(cluster.nginx.port, connections=2)
        second = None
        try:
            await publisher.stream("tab", range(1, 4), "tab")
            await first.wait(lambda c: len(c.frames) >= 3, "messages 1-3", DELIVERY_SECONDS)
            # Another tab of the same user: its own token for the same client ID, a fresh open.
            (second,) = await open_clients(cluster, ["tab"])
            await first.wait(lambda c: c.errors, "the first tab's 409", 10)
            await publisher.stream("tab", range(4, 5), "tab")
            await second.wait(lambda c: any(f.seq == 4 for f in c.frames), "message 4 in the second tab", 10)
            await asyncio.sleep(1)
            assert (first.errors, [(f.seq, f.data) for f in first.frames]) == \
                ([(409, "Replaced+by+another+connection.")], numbered(3)), first
            assert [(f.seq, f.data) for f in second.frames] == [(4, "4")], \
                f"the second tab was handed what the first had already had: {second}"
        finally:
            publisher.close()
            await stop_all([first] + ([second] if second else []))

    run(scenario(), 60)


def test_topics_across_nodes_count_every_subscriber_and_publish_once_per_key(cluster):
    async def scenario():
        names = [f"reader{i}" for i in range(6)]
        clients = await open_clients(cluster, names)
        nodes = [HTTPClient(node.port) for node in cluster.nodes]
        try:
            assert len({c.current.upstream for c in clients}) > 1, "the readers all landed on one node"
            # Each node subscribes a third of them; the answer comes once Redis holds it.
            for i, name in enumerate(names):
                assert await nodes[i % 3].request("POST", "/subscribe", {"client": name, "topic": "news"}) == (204, "")
            for node in nodes:
                status, body = await node.request("GET", "/subscribers?topic=news")
                assert (status, json.loads(body)) == (200, sorted(names)), "every node names every subscriber"
            for n in range(1, 11):
                node = nodes[n % 3]
                assert await node.request("POST", "/publish", {"topic": "news", "message": f"t{n}", "key": f"p{n}"}) == (200, "6")
                # The same publish retried through another node (its answer lost, say): not sent again.
                again = nodes[(n + 1) % 3]
                assert await again.request("POST", "/publish", {"topic": "news", "message": f"t{n}", "key": f"p{n}"}) == (200, "6")
            await wait_all(clients, lambda c: len(c.frames) >= 10, "10 publishes", DELIVERY_SECONDS)
            status, _ = await nodes[0].request("POST", "/subscribe", {"client": "reader0", "topic": ""})
            assert status == 400, "an empty topic"
        finally:
            for node in nodes:
                node.close()
            await asyncio.sleep(0.5)  # a duplicate would show now
            await stop_all(clients)
        assert_delivered(clients, lambda c: [(n, f"t{n}") for n in range(1, 11)])

    run(scenario(), 90)
