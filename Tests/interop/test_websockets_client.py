"""Echo against the Python `websockets` client, which rejects any frame that breaks RFC 6455/7692."""

import asyncio

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError

TIMEOUT = 10  # seconds for a whole test; nothing here should take more than a fraction of that
LIMIT = 64 * 1024  # WebSocketConfiguration's default maxMessageBytes

TEXTS = [
    pytest.param("hello, courier", id="ascii"),
    pytest.param("héllo wörld — ☃ 日本語 🚀" * 3, id="utf8"),
    pytest.param("", id="empty"),
    pytest.param("x" * (LIMIT - 1), id="64KiB-1"),
    pytest.param("€" * ((LIMIT - 1) // 3), id="utf8-near-limit"),
]
BINARIES = [
    pytest.param(bytes(range(256)) * 4, id="all-bytes"),
    pytest.param(b"", id="empty"),
    pytest.param(bytes([0xFF, 0x00, 0xC3]), id="invalid-utf8"),
    pytest.param(bytes(i * 7 % 251 for i in range(LIMIT)), id="64KiB"),
]
COMPRESSION = [pytest.param(None, id="plain"), pytest.param("deflate", id="deflate")]


def run(coroutine):
    async def bounded():
        async with asyncio.timeout(TIMEOUT):
            return await coroutine
    return asyncio.run(bounded())


def open_echo(port, compression):
    return connect(f"ws://127.0.0.1:{port}/", compression=compression, proxy=None,
                   open_timeout=5, close_timeout=5, ping_interval=None, max_size=4 * LIMIT)


def assert_negotiated(ws, compression):
    extensions = ws.response.headers.get_all("Sec-WebSocket-Extensions")
    if compression is None:
        assert extensions == []
    else:
        assert len(extensions) == 1
        assert extensions[0].split(";")[0].strip() == "permessage-deflate"


@pytest.mark.parametrize("compression", COMPRESSION)
@pytest.mark.parametrize("text", TEXTS)
def test_text_echo(echo_port, compression, text):
    async def exchange():
        async with open_echo(echo_port, compression) as ws:
            assert_negotiated(ws, compression)
            await ws.send(text)
            echoed = await ws.recv()
            assert isinstance(echoed, str)
            assert echoed == text
    run(exchange())


@pytest.mark.parametrize("compression", COMPRESSION)
@pytest.mark.parametrize("data", BINARIES)
def test_binary_echo(echo_port, compression, data):
    async def exchange():
        async with open_echo(echo_port, compression) as ws:
            assert_negotiated(ws, compression)
            await ws.send(data)
            echoed = await ws.recv()
            assert isinstance(echoed, bytes)
            assert echoed == data
    run(exchange())


@pytest.mark.parametrize("compression", COMPRESSION)
def test_many_messages_in_order(echo_port, compression):
    messages = [f"message {i} " * (i % 40) for i in range(200)]

    async def exchange():
        async with open_echo(echo_port, compression) as ws:
            for message in messages:
                await ws.send(message)
            assert [await ws.recv() for _ in messages] == messages
    run(exchange())


def test_deflate_really_compresses_the_echo(echo_port):
    """A repetitive 60 KiB message comes back as a few hundred bytes on the wire, not 60 KiB."""
    text = "courier " * 7680

    async def exchange():
        async with open_echo(echo_port, "deflate") as ws:
            received = 0
            receive_data = ws.protocol.receive_data

            def counting(data):
                nonlocal received
                received += len(data)
                receive_data(data)
            ws.protocol.receive_data = counting
            await ws.send(text)
            assert await ws.recv() == text
            assert 0 < received < 4096, f"{received} bytes on the wire for a {len(text)}-byte echo"
    run(exchange())


def test_no_compression_server_declines_deflate(echo_port_uncompressed):
    async def exchange():
        async with open_echo(echo_port_uncompressed, "deflate") as ws:
            assert ws.response.headers.get_all("Sec-WebSocket-Extensions") == []
            await ws.send("plain " * 100)
            assert await ws.recv() == "plain " * 100
    run(exchange())


@pytest.mark.parametrize("compression", COMPRESSION)
def test_ping_pong(echo_port, compression):
    async def exchange():
        async with open_echo(echo_port, compression) as ws:
            for payload in (b"", b"ping-payload", bytes(range(125))):
                latency = await asyncio.wait_for(await ws.ping(payload), 5)
                assert latency >= 0
            # The connection still echoes afterwards.
            await ws.send("after pings")
            assert await ws.recv() == "after pings"
    run(exchange())


@pytest.mark.parametrize("compression", COMPRESSION)
def test_normal_close_is_echoed(echo_port, compression):
    async def exchange():
        async with open_echo(echo_port, compression) as ws:
            await ws.send("bye soon")
            assert await ws.recv() == "bye soon"
            await ws.close(1000, "done")
            assert ws.close_code == 1000
            # The server's close frame (not a connection drop, which websockets reports as 1006).
            assert ws.protocol.close_rcvd is not None
            assert ws.protocol.close_rcvd.code == 1000
    run(exchange())


@pytest.mark.parametrize("compression", COMPRESSION)
@pytest.mark.parametrize("kind", ["text", "binary"])
def test_over_limit_message_closes_with_1009(echo_port, compression, kind):
    message = "y" * (LIMIT + 1) if kind == "text" else b"\x01" * (LIMIT + 1)

    async def exchange():
        async with open_echo(echo_port, compression) as ws:
            await ws.send(message)
            with pytest.raises(ConnectionClosedError) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None, "connection dropped without a close frame"
            assert closed.value.rcvd.code == 1009
    run(exchange())


def test_server_keeps_serving_after_a_1009(echo_port):
    async def exchange():
        async with open_echo(echo_port, None) as ws:
            await ws.send("z" * (LIMIT + 1))
            with pytest.raises(ConnectionClosedError):
                await ws.recv()
        async with open_echo(echo_port, None) as ws:
            await ws.send("still here")
            assert await ws.recv() == "still here"
    run(exchange())
