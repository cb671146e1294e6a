"""A TCP proxy in front of the channel nodes that the soak controls: each accepted connection goes
to the node holding the fewest (a node that refuses is skipped), and the fault injector can cut a
connection abruptly (RST on both sides: SO_LINGER 0, as a dead NAT or a pulled cable) or stall its
server-to-client direction (the proxy stops reading from the node, so the node's writes back up
as when a client stops reading), then let it flow again.
"""

import asyncio
import random
import socket
import struct

LINGER_ZERO = struct.pack("ii", 1, 0)
HIGH_WATER = 256 * 1024


def reset(transport):
    """Closes with RST rather than FIN: the peer sees ECONNRESET, no goodbye."""
    if transport is None or transport.is_closing():
        return
    try:
        transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_ZERO)
    except (OSError, AttributeError):
        pass
    transport.abort()


class _Side(asyncio.Protocol):
    """One socket of a pipe; what it reads goes to the other side."""

    def __init__(self, pipe, is_client):
        self.pipe, self.is_client = pipe, is_client
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        transport.set_write_buffer_limits(HIGH_WATER)
        if not self.is_client:
            self.pipe.node_side_open(True)

    def data_received(self, data):
        self.pipe.forward(self.is_client, data)

    def eof_received(self):
        if not self.is_client:
            self.pipe.node_side_open(False)
        self.pipe.half_close(self.is_client)
        return True

    def connection_lost(self, exc):
        if not self.is_client:
            self.pipe.node_side_open(False)
        self.pipe.lost(self.is_client)

    def pause_writing(self):
        self.pipe.pause(reader_is_client=not self.is_client)

    def resume_writing(self):
        self.pipe.resume(reader_is_client=not self.is_client)


class Pipe:
    def __init__(self, proxy, node):
        self.proxy, self.node = proxy, node
        self.client = _Side(self, True)
        self.upstream = _Side(self, False)
        self.stalled = False
        self.held = []  # node-to-client bytes read while a stall was starting
        self.closed = False
        self.paused = {True: False, False: False}  # reading of that side paused for backpressure
        self.ended = {True: False, False: False}  # that side sent its end of stream
        self.counted_open = False

    def node_side_open(self, is_open):
        """Counts the node's end as the node holds it: from the connect until its FIN or RST
        (or our reset), for the soak's comparison with the node's descriptors."""
        if is_open != self.counted_open:
            self.counted_open = is_open
            self.proxy.open_to[self.node] += 1 if is_open else -1

    def forward(self, from_client, data):
        if from_client:
            self.upstream.transport.write(data)
        elif self.stalled:
            self.held.append(data)
        else:
            self.client.transport.write(data)

    def half_close(self, from_client):
        """Passes an end of stream on; once both directions have ended the pipe is closed (a
        transport that received EOF stays open for writing until closed)."""
        self.ended[from_client] = True
        if not from_client and self.stalled:
            self.held.append(None)
            return
        self._pass_eof(self.upstream if from_client else self.client)

    def _pass_eof(self, target):
        if target.transport and not target.transport.is_closing() and target.transport.can_write_eof():
            target.transport.write_eof()
        if all(self.ended.values()):
            self.close()

    def lost(self, from_client):
        """One side is gone: the other is closed after what it still has to write."""
        if from_client or not self.stalled:
            self.close()

    def close(self):
        if self.closed:
            return
        self.closed = True
        self.proxy.pipes.discard(self)
        self.proxy.per_node[self.node] -= 1
        for side in (self.client, self.upstream):
            if side.transport and not side.transport.is_closing():
                side.transport.close()

    def reset(self):
        self.node_side_open(False)
        reset(self.client.transport)
        reset(self.upstream.transport)
        self.close()

    def pause(self, reader_is_client):
        side = self.client if reader_is_client else self.upstream
        self.paused[reader_is_client] = True
        if side.transport and not side.transport.is_closing():
            side.transport.pause_reading()

    def resume(self, reader_is_client):
        self.paused[reader_is_client] = False
        if not reader_is_client and self.stalled:
            return
        side = self.client if reader_is_client else self.upstream
        if side.transport and not side.transport.is_closing():
            side.transport.resume_reading()

    def stall(self, seconds):
        if self.closed or self.stalled:
            return False
        self.stalled = True
        self.upstream.transport.pause_reading()
        asyncio.get_running_loop().call_later(seconds, self.unstall)
        return True

    def unstall(self):
        self.stalled = False
        if self.closed:
            return
        held, self.held = self.held, []
        for data in held:
            if data is None:
                self._pass_eof(self.client)
            elif not self.closed:
                self.client.transport.write(data)
        if self.closed:
            return
        if self.upstream.transport.is_closing():
            self.close()  # the node hung up during the stall: what it sent has been passed on
        elif not self.paused[False]:
            self.upstream.transport.resume_reading()


class FaultProxy:
    def __init__(self, port, nodes, host="127.0.0.1"):
        """nodes: {name: port}; a name whose port is None is skipped."""
        self.host, self.port = host, port
        self.nodes = dict(nodes)
        self.pipes = set()
        self.per_node = {name: 0 for name in nodes}  # pipes per node, for picking the one with fewer
        self.open_to = {name: 0 for name in nodes}  # node ends still open (see Pipe.node_side_open)
        self.accepted = 0
        self.refused = 0  # no node took the connection: the client's was reset
        self.server = None

    async def start(self):
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(self._accept_factory, self.host, self.port, backlog=4096,
                                               reuse_address=True)

    def _accept_factory(self):
        return _Accepted(self)

    async def connect(self, client_transport):
        """Picks a node for a newly accepted client connection and joins them."""
        loop = asyncio.get_running_loop()
        order = sorted(self.nodes, key=lambda name: (self.per_node[name], random.random()))
        for name in order:
            pipe = Pipe(self, name)
            self.per_node[name] += 1
            try:
                await loop.create_connection(lambda: pipe.upstream, "127.0.0.1", self.nodes[name])
            except OSError:
                self.per_node[name] -= 1
                continue
            if client_transport.is_closing():
                pipe.close()
                pipe.upstream.transport.close()
                return None
            self.pipes.add(pipe)
            return pipe
        self.refused += 1
        reset(client_transport)
        return None

    def drop_random(self, count):
        """Resets `count` random connections; returns how many it cut."""
        chosen = random.sample(list(self.pipes), min(count, len(self.pipes)))
        for pipe in chosen:
            pipe.reset()
        return len(chosen)

    def stall_random(self, count, seconds):
        chosen = random.sample(list(self.pipes), min(count, len(self.pipes)))
        return sum(1 for pipe in chosen if pipe.stall(seconds()))

    async def stop(self):
        if self.server:
            self.server.close()
        for pipe in list(self.pipes):
            pipe.reset()


class _Accepted(asyncio.Protocol):
    """The client's side until its node connection is made: its bytes wait, then it becomes the
    pipe's client side."""

    def __init__(self, proxy):
        self.proxy = proxy
        self.pending = []
        self.pipe = None
        self.eof = False
        self.gone = False

    def connection_made(self, transport):
        self.transport = transport
        self.proxy.accepted += 1
        transport.pause_reading()
        asyncio.get_running_loop().create_task(self._join())

    async def _join(self):
        pipe = await self.proxy.connect(self.transport)
        if pipe is None:
            return
        if self.gone:
            pipe.close()
            return
        self.pipe = pipe
        pipe.client.transport = self.transport
        self.transport.set_write_buffer_limits(HIGH_WATER)
        self.transport.resume_reading()

    def data_received(self, data):
        self.pipe.forward(True, data)

    def eof_received(self):
        if self.pipe:
            self.pipe.half_close(True)
        return True

    def connection_lost(self, exc):
        self.gone = True
        if self.pipe:
            self.pipe.lost(True)

    def pause_writing(self):
        if self.pipe:
            self.pipe.pause(reader_is_client=False)

    def resume_writing(self):
        if self.pipe:
            self.pipe.resume(reader_is_client=False)
