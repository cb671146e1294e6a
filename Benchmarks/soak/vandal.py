"""The soak's misbehaving peers, straight to a node: handshakes abandoned half-way (then a close, a
reset, or silence past the header timeout), and WebSockets that send garbage after a good
handshake (malformed frames, invalid UTF-8, lengths no frame may have, junk on the channel
protocol). Each attempt records what the node did; any answer but an orderly refusal or close is
for the log scan and the exactly-once check to catch, so a vandal fails nothing by itself.
"""

import asyncio
import base64
import os
import random
import struct

from fault_proxy import reset

UPGRADE = ("GET /_ah/channel/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")


def frame(opcode, payload, fin=True, masked=True, rsv=0, length=None):
    """A WebSocket frame from client to server; `length` overrides the declared payload length."""
    first = (0x80 if fin else 0) | rsv << 4 | opcode
    n = len(payload) if length is None else length
    mask_bit = 0x80 if masked else 0
    if n < 126:
        head = bytes([first, mask_bit | n])
    elif n < 1 << 16:
        head = bytes([first, mask_bit | 126]) + struct.pack("!H", n)
    else:
        head = bytes([first, mask_bit | 127]) + struct.pack("!Q", n)
    if not masked:
        return head + payload
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


# What a garbage WebSocket sends after its handshake: (name, bytes).
GARBAGE = [
    ("random bytes", lambda: os.urandom(random.randint(1, 200))),
    ("unmasked frame", lambda: frame(1, b'{"type":"ping"}', masked=False)),
    ("reserved opcode", lambda: frame(random.choice([3, 4, 5, 6, 7, 11, 12, 13, 14, 15]), b"x")),
    ("reserved bits", lambda: frame(1, b'{"type":"ping"}', rsv=random.choice([1, 2, 4]))),
    ("invalid UTF-8", lambda: frame(1, b'{"type":"open","token":"\xff\xfe\xc3\x28"}')),
    ("oversized length", lambda: frame(2, b"", length=(1 << 63) - 1)),
    ("length past the limit", lambda: frame(1, b"", length=64 << 20)),
    ("long control frame", lambda: frame(9, b"p" * 126)),
    ("fragmented control frame", lambda: frame(9, b"p", fin=False)),
    ("continuation without start", lambda: frame(0, b"x")),
    ("bad close code", lambda: frame(8, struct.pack("!H", 999))),
    ("not JSON", lambda: frame(1, b"hello, server")),
    ("forged token", lambda: frame(1, b'{"type":"open","token":"' + base64.urlsafe_b64encode(os.urandom(48)) +
                                   b'","session":"","seq":0}')),
    ("resume of another session", lambda: frame(1, b'{"type":"open","token":"x","session":"nope","seq":99999999}')),
    ("truncated frame then silence", lambda: frame(1, b'{"type":"ping"}')[:5]),
    ("upgraded, then no open frame", lambda: b""),
]


class Vandal:
    def __init__(self, node_ports):
        self.node_ports = node_ports  # callable: the ports of the nodes up now
        self.counts = {}
        self.outcomes = {}
        self.open = {}  # port -> connections open to it now (the soak's descriptor accounting)

    def count(self, kind, outcome):
        self.counts[kind] = self.counts.get(kind, 0) + 1
        key = f"{kind}: {outcome}"
        self.outcomes[key] = self.outcomes.get(key, 0) + 1

    async def _open(self):
        ports = self.node_ports()
        if not ports:
            return None, None
        port = random.choice(ports)
        self.open[port] = self.open.get(port, 0) + 1
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 2)
        except BaseException:
            self.open[port] -= 1
            raise
        writer.soak_port = port
        return reader, writer

    def _closed(self, writer):
        self.open[writer.soak_port] -= 1

    async def half_handshake(self):
        """Half an upgrade request, then a reset, a close, or silence past the node's 10 s
        header timeout (it should answer 408 and close)."""
        try:
            reader, writer = await self._open()
        except (OSError, asyncio.TimeoutError):
            return self.count("half handshake", "node unreachable")
        if writer is None:
            return
        key = base64.b64encode(os.urandom(16)).decode()
        request = UPGRADE.format(key=key).encode()
        writer.write(request[:random.randint(4, len(request) - 3)])
        how = random.choice(["reset", "close", "silence"])
        try:
            if how == "silence":
                answer = await asyncio.wait_for(reader.read(200), 15)
                outcome = answer.split(b"\r\n", 1)[0].decode(errors="replace") or "closed without an answer"
            else:
                await asyncio.sleep(random.uniform(0, 1))
                outcome = how
        except asyncio.TimeoutError:
            outcome = "no answer within 15 s"
        except OSError as error:
            outcome = type(error).__name__
        if how == "reset":
            reset(writer.transport)
        else:
            writer.transport.abort() if how == "silence" else writer.close()
        self._closed(writer)
        self.count(f"half handshake, then {how}", outcome)

    async def garbage(self):
        """A good handshake, then one piece of garbage; records how the node ended it."""
        name, make = random.choice(GARBAGE)
        try:
            reader, writer = await self._open()
        except (OSError, asyncio.TimeoutError):
            return self.count("garbage", "node unreachable")
        if writer is None:
            return
        try:
            key = base64.b64encode(os.urandom(16)).decode()
            writer.write(UPGRADE.format(key=key).encode())
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            if b" 101 " not in head.split(b"\r\n", 1)[0]:
                return self.count(f"garbage: {name}", "handshake refused " + head.split(b"\r\n", 1)[0].decode())
            writer.write(make())
            outcome = await asyncio.wait_for(self._until_closed(reader), 20)
        except asyncio.TimeoutError:
            outcome = "still open after 20 s"
        except (OSError, asyncio.IncompleteReadError) as error:
            outcome = type(error).__name__
        finally:
            writer.transport.abort()
            self._closed(writer)
        self.count(f"garbage: {name}", outcome)

    @staticmethod
    async def _until_closed(reader):
        """Reads the node's frames to the end; the close code it sent, if any."""
        data = b""
        while True:
            chunk = await reader.read(4096)
            if not chunk:
                break
            data += chunk
        if len(data) >= 4 and data[0] & 0x0F == 8:
            return f"close {struct.unpack('!H', data[2:4])[0]}" if data[1] >= 2 else "close"
        for at in range(len(data) - 1):
            if data[at] == 0x88 and at + 4 <= len(data) and data[at + 1] >= 2:
                return f"close {struct.unpack('!H', data[at + 2:at + 4])[0]}"
        return "closed" if data else "closed without a frame"

