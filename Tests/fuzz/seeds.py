#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target (Tests/fuzz/corpus/<Target>/<name>).

Each target reads its input as decisions first (a configuration, split lengths, an event
script), then payload; the seeds here spell valid and near-valid inputs in those formats, so
that fuzzing starts from requests, frames and event sequences that reach deep states. Run it
again after changing how a target reads its input: python3 Tests/fuzz/seeds.py
"""
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(target, name, data):
    folder = os.path.join(ROOT, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(bytes(data))


# FuzzHTTPParser: limits choice, split count and lengths, then the bytes on the wire.
def http(name, wire, limits=0, splits=()):
    write("FuzzHTTPParser", name, bytes([limits, len(splits)]) + bytes(splits) + wire)


http("get", b"GET /index.html?x=1&y=%20 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n")
http("post-length", b"POST /form HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\n"
     b"Content-Length: 11\r\n\r\nname=value!", splits=(3, 17, 40))
http("chunked", b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"5;ext=1\r\nhello\r\n0a\r\n0123456789\r\n0\r\nTrailer: yes\r\n\r\n", splits=(1, 2, 7))
http("pipelined", b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nHEAD /2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
     b"POST /3 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc", splits=(9,))
http("http10", b"\r\nGET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
http("absolute", b"GET http://example.com:8080/p?q HTTP/1.1\r\nHost: example.com:8080\r\n\r\n"
     b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\nCONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
http("expect", b"PUT /upload HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nbody")
http("small-limits", b"GET /a-long-path-over-the-limit HTTP/1.1\r\nHost: a\r\nX: 1\r\nY: 2\r\nZ: 3\r\n\r\n", limits=1)
http("ambiguous", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
http("obs-fold", b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", splits=(5,))
http("bare-lf", b"GET / HTTP/1.1\nHost: a\n\n")
http("big-chunk", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\nffffffffffffffff\r\n")


# FuzzWebSocketParser: settings (limit index in bits 0-2, compression in bits 3-4, raw wire
# in bit 5), split count and lengths, then a frame script or the wire bytes.
def ws(name, body, limit=6, compression=0, raw=False, splits=()):
    settings = limit | compression << 3 | (0x20 if raw else 0)
    write("FuzzWebSocketParser", name, bytes([settings, len(splits)]) + bytes(splits) + body)


def frame(opcode, payload, fin=True, rsv1=False, mask=b"\x37\xfa\x21\x3d"):
    out = bytes([(0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode])
    n = len(payload)
    if n <= 125:
        out += bytes([0x80 | n])
    elif n <= 0xFFFF:
        out += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        out += bytes([0x80 | 127]) + struct.pack(">Q", n)
    return out + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


ws("raw-hello", frame(1, b"Hello"), raw=True)
ws("raw-fragments", frame(1, b"Hel", fin=False) + frame(9, b"ping") + frame(0, b"lo \xe2\x82", fin=False)
   + frame(0, b"\xac") + frame(2, bytes(range(200))) + frame(8, b"\x03\xe8bye"), raw=True, splits=(1, 3, 8))
# RFC 7692 §7.2.3.1: "Hello" compressed, then the same again with the window (context takeover).
ws("raw-deflate", frame(1, b"\xf2\x48\xcd\xc9\xc9\x07\x00", rsv1=True) + frame(1, b"\xf2\x00\x11\x00\x00", rsv1=True),
   compression=1, raw=True)
ws("raw-bad-utf8", frame(1, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"), raw=True, splits=(2,))
ws("raw-too-big", frame(2, bytes(300)), limit=3, raw=True)
# Scripts: kind, then its choices (see Script in FuzzWebSocketParser.swift).
ws("script-text", bytes([0, 0, 0x20, 12]) + b"hello world!" + bytes([1, 0x11, 0x22, 0x33, 0x44, 0]))
ws("script-fragmented", bytes([2, 3, 0x40, 40]) + bytes(range(40)) + bytes([10, 0, 0, 20, 0, 0, 0, 0, 0, 6, 5]) + b"ping!")
ws("script-compressed", bytes([0, 1, 0x21, 30]) + b"aaaaaaaaaabbbbbbbbbbaaaaaaaaaa" + bytes([0, 0]) * 4
   + bytes([1, 0, 0x21, 30]) + b"aaaaaaaaaabbbbbbbbbbaaaaaaaaaa", compression=2)
ws("script-close", bytes([8, 2, 0, 5]) + b"done!" + bytes([7, 3]) + b"pong")


# FuzzHTTP1StateMachine: configuration, then events (see the switch in the target).
def small(value):  # interestingUInt64 / interestingInt kind 3: one byte
    return bytes([3, value])


def thousands(value):  # interestingUInt64 kind 6: value * 1000
    return bytes([6, value])


def advance(step):  # Clock.next: forward by step * 100
    return bytes([1, step])


config = thousands(10) + thousands(60) + bytes([4, 0x10, 0]) + bytes([4, 0x10, 0]) + thousands(1)


def head(method=0, http11=True, flags=0, framing=0, length=b"", limit=bytes([4, 0x10, 0])):
    return bytes([5, method, 1 if http11 else 0, flags, framing]) + length + limit


cycle = (bytes([0]) + advance(1) + head() + bytes([7])
         + bytes([11, 0, 2, 0, 0, 0, 0]) + bytes([13]) + advance(1) + bytes([0]) + bytes([3]) + advance(1) + bytes([0]))
write("FuzzHTTP1StateMachine", "keep-alive", config + cycle * 3 + bytes([20]) + advance(250) + small(0))
write("FuzzHTTP1StateMachine", "streamed-close", config + bytes([0]) + advance(1) + head(flags=1, framing=2) + bytes([6]) + advance(2)
      + small(20) + bytes([7, 11, 0, 2, 1, 0, 0, 1, 12, 0, 14]) + advance(1) + bytes([0, 18, 0, 0]))
write("FuzzHTTP1StateMachine", "upgrade", config + bytes([0]) + advance(1) + head(flags=8) + bytes([7, 16, 0, 13]) + advance(1)
      + bytes([0, 19, 3]) + advance(1) + bytes([1]))
write("FuzzHTTP1StateMachine", "timeouts", config + bytes([0]) + advance(1) + bytes([20]) + advance(200) + small(0)
      + bytes([21, 1]) + small(0))
write("FuzzHTTP1StateMachine", "hostile", bytes([1, 1, 2, 0, 1, 2]) + bytes([1]) + head(framing=1, length=bytes([1]), limit=bytes([2]))
      + bytes([6]) + bytes([0]) + bytes([1]) + bytes([7, 13, 0, 1]) + bytes([1]))


# FuzzWebSocketStateMachine: now, ping interval, pong timeout, close timeout, backpressure, seed, then events.
ws_config = thousands(1) + thousands(30) + thousands(30) + thousands(5) + bytes([4, 0x10, 0]) + bytes(8)
write("FuzzWebSocketStateMachine", "ping-pong", ws_config + bytes([1, 9, 1, 120, 9, 1, 1, 0, 1, 0, 1, 40, 9, 1, 1, 3, 1, 200, 9]))
write("FuzzWebSocketStateMachine", "close-handshake", ws_config + bytes([1, 1, 1, 0, 1, 2, 2, 1, 6, 1, 1, 0, 1, 1, 4, 0, 1, 0, 1, 4]))
write("FuzzWebSocketStateMachine", "slow-client", ws_config + bytes([1, 5, 1, 0x10, 1, 5, 1, 0x20, 1, 9, 1, 30, 9, 1, 3]))
write("FuzzWebSocketStateMachine", "hostile", bytes([1, 1, 1, 1, 2]) + bytes(8) + bytes([0, 9, 0, 6, 0, 9, 0, 2, 1]))


# FuzzForms: the case (0 percent-encoding, 1 pairs, 2 request fields, 3 cookies, 4 routes, 5 target), then its input.
write("FuzzForms", "percent", bytes([0]) + "a b+c%2B%zz%e2%82%ac€/?&=".encode())
write("FuzzForms", "pairs", bytes([1]) + b"a=1&b=%20two+words&&=empty&c&a=again&%FF=x")
write("FuzzForms", "fields", bytes([2, 1, 1]) + b"a" + b"a=q&b=2\x00a=body&c=3")
write("FuzzForms", "cookie-header", bytes([3, 0]) + b'session="abc"; theme=dark; session=second;; =x; y\x00a=b')
write("FuzzForms", "cookie-round-trip", bytes([3, 1, 5]) + b"namex" + bytes([20]) + bytes(range(20)) + bytes([1]))
write("FuzzForms", "cookie-attributes", bytes([3, 2, 0, 1, 1, 1, 1, 7, 0, 1, 0, 1, 2]))
write("FuzzForms", "route", bytes([4, 3, 4]) + b"game" + bytes([1, 3]) + b"abc" + bytes([1, 2]) + b".j" + bytes([0, 0]) + b"/gamex/ab")
write("FuzzForms", "target", bytes([5]) + b"/a%20b/c?d=e?f#g")


# FuzzChannel: the case (0 channel token, 1 any token, 2 session cookie, 3 long-poll fields, 4 frames, 5 base64).
write("FuzzChannel", "token", bytes([0, 7, 9, 3, 120, 12]) + b"player-1abcd" + bytes([1, 0, 5, 0x41]))
write("FuzzChannel", "token-expired", bytes([0, 7, 9, 3, 5, 4]) + b"user" + bytes([0, 7, 250, 2, 10]))
write("FuzzChannel", "any-token", bytes([1, 7, 0]) + b"AQAAAABlU_EAAAAAAAAAAAAAAAAAAAAAAHVzZXI.abc")
write("FuzzChannel", "cookie", bytes([2, 3, 100, 6, 30, 1, 17]) + b"Someone@Example.com" + bytes([2, 40]))
write("FuzzChannel", "poll-fields", bytes([3, 3]) + b"123" + bytes([8]) + b"s3ss10n_" + bytes([4]) + b"cid1" + bytes([5]) + b"tok.n" + b"seq=9&x=y")
write("FuzzChannel", "poll-seq-overflow", bytes([3, 25]) + b"9999999999999999999999999" + bytes([0, 1]) + b"c" + bytes([0]) + b"t")
write("FuzzChannel", "frames", bytes([4, 1, 4, 2, 0x50]) + 'he said "hi"\n\t\\ </script> \u2028 \x00 €'.encode())
write("FuzzChannel", "base64", bytes([5]) + b"SGVsbG8_-w")


# FuzzForwarded: the case (0 an address, 1 a range, 2 forwarding fields), then its input; for 2,
# the field count and names (0 X-Forwarded-For, 1 -Proto, 2 -Host, 3 Forwarded, 4 forwarded,
# 5 Host, 6 x-forwarded-for, 7 X-Other), then NUL-separated values, the peer's address first.
write("FuzzForwarded", "ipv4", bytes([0]) + b"192.0.2.7")
write("FuzzForwarded", "ipv6", bytes([0]) + b"2001:db8::ffff:1.2.3.4")
write("FuzzForwarded", "range", bytes([1]) + b"fd00::/8")
write("FuzzForwarded", "range-bad", bytes([1]) + b"10.0.0.0/999")
write("FuzzForwarded", "x-forwarded", bytes([2, 3, 0, 1, 2]) + b"127.0.0.1:5\x006.6.6.6, 203.0.113.7, 10.0.0.1\x00https\x00game.example:8443")
write("FuzzForwarded", "forwarded", bytes([2, 2, 3, 5]) + b'[::1]:9\x00for="[2001:db8::1]:80";proto=https;host=a.example, for=_x;by=y\x00a.example')
write("FuzzForwarded", "untrusted", bytes([2, 2, 0, 3]) + b"203.0.113.9:1\x001.2.3.4\x00for=1.2.3.4;proto=https")

