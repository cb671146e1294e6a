"""Helpers shared by the cluster tests: bounded asyncio runs, many clients at once, presence logs,
and delivery checks that say exactly what a client saw when it is not what it should have."""

import asyncio
import collections
import json
import time
import urllib.parse

from channel_client import ChannelClient, HTTPClient


def run(coroutine, seconds):
    """Runs a scenario on a fresh event loop; it fails (never hangs) after `seconds`."""
    async def bounded():
        try:
            return await asyncio.wait_for(coroutine, seconds)
        except asyncio.TimeoutError:
            raise AssertionError(f"the scenario did not finish within {seconds}s") from None
    return asyncio.run(bounded())


async def fetch_tokens(port, names, connections=16):
    """GET /token?client=NAME for each name, over a few keep-alive connections."""
    pool = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(HTTPClient(port))

    async def one(name):
        http = await pool.get()
        try:
            for attempt in range(20):
                try:
                    status, body = await http.request("GET", "/token?client=" + urllib.parse.quote(name))
                    if status == 200:
                        return body.strip()
                except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
                    pass
                await asyncio.sleep(0.1)
            raise AssertionError(f"no token for {name}")
        finally:
            pool.put_nowait(http)

    try:
        return await asyncio.gather(*(one(name) for name in names))
    finally:
        while not pool.empty():
            pool.get_nowait().close()


async def open_clients(cluster, names, seconds=30, **options):
    """Channel clients through nginx, each open (its `opened` received) before this returns."""
    tokens = await fetch_tokens(cluster.nginx.port, names)
    clients = []
    for name, token in zip(names, tokens):
        clients.append(ChannelClient(cluster.nginx.ws_url, token, name, **options).start())
        await asyncio.sleep(0)  # opens one after another, as pages load: nginx's round robin spreads them
    await wait_all(clients, lambda c: c.is_open, "every client's first open", seconds)
    return clients


async def stop_all(clients):
    await asyncio.gather(*(client.stop() for client in clients), return_exceptions=True)


async def wait_all(clients, condition, what, seconds):
    deadline = time.monotonic() + seconds
    while True:
        behind = [c for c in clients if not condition(c)]
        if not behind:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds}s waiting for {what}: {len(behind)} of {len(clients)} "
                                 f"clients not there, e.g. {behind[:3]}")
        await asyncio.sleep(0.05)


async def wait_until(condition, what, seconds, interval=0.1):
    deadline = time.monotonic() + seconds
    while True:
        value = await condition() if asyncio.iscoroutinefunction(condition) else condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds}s waiting for {what}")
        await asyncio.sleep(interval)


def by_node(cluster, clients):
    """{node: [clients whose current connection it serves]}."""
    spread = collections.defaultdict(list)
    for client in clients:
        spread[cluster.node_at(client.current.upstream)].append(client)
    return spread


async def presence_log(node):
    """The presence events a node's app received, as (client, connected) pairs."""
    http = HTTPClient(node.port)
    try:
        status, body = await http.request("GET", "/presence")
    finally:
        http.close()
    assert status == 200, f"GET /presence on {node.name}: {status} {body}"
    return [(event["client"], event["connected"]) for event in json.loads(body)]


def delivery_problems(client, expected):
    """What is wrong with what `client` received (every frame, duplicates included) against
    `expected` [(seq, data)], or None."""
    got = [(f.seq, f.data) for f in client.frames]
    if got == expected and not client.errors:
        return None
    seen = collections.Counter(got)
    duplicates = sorted(k for k, n in seen.items() if n > 1)
    missing = [e for e in expected if e not in seen]
    extra = [g for g in seen if g not in set(expected)]
    first_difference = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))
    return (f"{client.name}: {len(got)} frames for {len(expected)} expected; errors {client.errors}; "
            f"duplicates {duplicates[:10]}; missing {missing[:10]}{'...' if len(missing) > 10 else ''}; "
            f"unexpected {extra[:10]}; first difference at index {first_difference}: "
            f"got {got[first_difference:first_difference + 3]} expected {expected[first_difference:first_difference + 3]}; "
            f"connections {client.connections}")


def assert_delivered(clients, expected_for):
    """Every client received exactly expected_for(client), in order, once each, with no error."""
    problems = [p for p in (delivery_problems(c, expected_for(c)) for c in clients) if p]
    assert not problems, f"{len(problems)} of {len(clients)} clients did not get exactly what was sent:\n" + \
        "\n".join(problems[:10])


def numbered(count, start=1):
    return [(n, str(n)) for n in range(start, start + count)]
