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



# Smuggling and ambiguity cases (RFC 9112 §6, §7.1, §5, §3), also compared with llhttp's
# decisions by LLHTTPDifferentialTests (scripts/llhttp-decisions.js records them).
def req(*lines, body=b"", version=b"HTTP/1.1", method=b"POST", target=b"/"):
    head = method + b" " + target + b" " + version + b"\r\n" + b"".join(line + b"\r\n" for line in lines)
    return head + b"\r\n" + body


for name, wire in [
    # Framing: Content-Length and Transfer-Encoding.
    ("te-then-cl", req(b"Host: a", b"Transfer-Encoding: chunked", b"Content-Length: 3", body=b"0\r\n\r\n")),
    ("cl-duplicate-same", req(b"Host: a", b"Content-Length: 3", b"Content-Length: 3", body=b"abc")),
    ("cl-duplicate-different", req(b"Host: a", b"Content-Length: 3", b"Content-Length: 4", body=b"abcd")),
    ("cl-list-same", req(b"Host: a", b"Content-Length: 3, 3", body=b"abc")),
    ("cl-list-different", req(b"Host: a", b"Content-Length: 3, 4", body=b"abcd")),
    ("cl-plus", req(b"Host: a", b"Content-Length: +3", body=b"abc")),
    ("cl-negative", req(b"Host: a", b"Content-Length: -1")),
    ("cl-hex", req(b"Host: a", b"Content-Length: 0x3", body=b"abc")),
    ("cl-space-inside", req(b"Host: a", b"Content-Length: 1 0", body=b"0123456789")),
    ("cl-empty", req(b"Host: a", b"Content-Length:")),
    ("cl-leading-zeros", req(b"Host: a", b"Content-Length: 0003", body=b"abc")),
    ("cl-overflow", req(b"Host: a", b"Content-Length: 18446744073709551616")),
    ("cl-beyond-int", req(b"Host: a", b"Content-Length: 9223372036854775808")),
    ("cl-zero-then-request", req(b"Host: a", b"Content-Length: 0", body=b"GET /next HTTP/1.1\r\nHost: a\r\n\r\n")),
    ("cl-short-body", req(b"Host: a", b"Content-Length: 10", body=b"abc")),
    ("te-chunked-identity", req(b"Host: a", b"Transfer-Encoding: chunked, identity", body=b"0\r\n\r\n")),
    ("te-identity-chunked", req(b"Host: a", b"Transfer-Encoding: identity, chunked", body=b"0\r\n\r\n")),
    ("te-identity", req(b"Host: a", b"Transfer-Encoding: identity", body=b"abc")),
    ("te-gzip", req(b"Host: a", b"Transfer-Encoding: gzip", body=b"abc")),
    ("te-chunked-twice", req(b"Host: a", b"Transfer-Encoding: chunked, chunked", body=b"0\r\n\r\n")),
    ("te-two-fields", req(b"Host: a", b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked", body=b"0\r\n\r\n")),
    ("te-empty", req(b"Host: a", b"Transfer-Encoding:", body=b"0\r\n\r\n")),
    ("te-uppercase", req(b"Host: a", b"Transfer-Encoding: CHUNKED", body=b"3\r\nabc\r\n0\r\n\r\n")),
    ("te-chunked-comma", req(b"Host: a", b"Transfer-Encoding: chunked,", body=b"0\r\n\r\n")),
    ("te-xchunked", req(b"Host: a", b"Transfer-Encoding: xchunked", body=b"0\r\n\r\n")),
    ("te-space-before-colon", req(b"Host: a", b"Transfer-Encoding : chunked", body=b"0\r\n\r\n")),
    ("te-tab-value", req(b"Host: a", b"Transfer-Encoding:\tchunked", body=b"0\r\n\r\n")),
    ("te-vertical-tab", req(b"Host: a", b"Transfer-Encoding: \x0bchunked", body=b"0\r\n\r\n")),
    ("te-http10", req(b"Host: a", b"Transfer-Encoding: chunked", body=b"3\r\nabc\r\n0\r\n\r\n", version=b"HTTP/1.0")),
    ("te-http10-with-cl", req(b"Transfer-Encoding: chunked", b"Content-Length: 5", body=b"0\r\n\r\n", version=b"HTTP/1.0")),
    # Chunked bodies.
    ("chunk-size-overflow", req(b"Host: a", b"Transfer-Encoding: chunked", body=b"1ffffffffffffffff\r\nabc\r\n")),
    ("chunk-size-16-digits", req(b"Host: a", b"Transfer-Encoding: chunked", body=b"ffffffffffffffff\r\nabc\r\n")),
    ("chunk-size-leading-zeros", req(b"Host: a", b"Transfer-Encoding: chunked", body=b"0003\r\nabc\r\n0\r\n\r\n")),
    ("chunk-size-0x", req(b"Host: a", b"Transfer-Encoding: chunked", body=b"0x3\r\nabc\r\n0\r\n\r\n")),
    ("chunk-size-negative", req(b"Host: a", b"Transfer-Encoding: chunked", body=b"-3\r\nabc\r\n0\r\n\r\n")),
    ("chunk-size-empty", req(b"Host: a", b"Transfer-Encoding: chunked", body=b"\r\nabc\r\n0\r\n\r\n")),
    ("chunk-size-space-after", req(b"Host: a", b"Transfer-Encoding: chunked", body=b"3 \r\nabc\r\n0\r\n\r\n")),
    ("chunk-size-bare-lf", req(b"Host: a", b"Transfer-Encoding: chunked", body=b"3\nabc\r\n0\r\n\r\n")),
    ("chunk-data-bare-lf", req(b"Host: a", b"Transfer-Encoding: chunked", body=b"3\r\nabc\n0\r\n\r\n")),
    ("chunk-data-too-long", req(b"Host: a", b"Transfer-Encoding: chunked", body=b"3\r\nabcd\r\n0\r\n\r\n")),
    ("chunk-last-bare-lf", req(b"Host: a", b"Transfer-Encoding: chunked", body=b"3\r\nabc\r\n0\n\n")),
    ("chunk-ext", req(b"Host: a", b"Transfer-Encoding: chunked", body=b"3;name\r\nabc\r\n0;last=yes\r\n\r\n")),
    ("chunk-ext-quoted", req(b"Host: a", b"Transfer-Encoding: chunked", body=b'3;a="x;y\\"z"\r\nabc\r\n0\r\n\r\n')),
    ("chunk-ext-space-before", req(b"Host: a", b"Transfer-Encoding: chunked", body=b"3 ;a=b\r\nabc\r\n0\r\n\r\n")),
    ("chunk-ext-no-name", req(b"Host: a", b"Transfer-Encoding: chunked", body=b"3;\r\nabc\r\n0\r\n\r\n")),
    ("chunk-ext-no-value", req(b"Host: a", b"Transfer-Encoding: chunked", body=b"3;a=\r\nabc\r\n0\r\n\r\n")),
    ("chunk-ext-bare-cr", req(b"Host: a", b"Transfer-Encoding: chunked", body=b"3;a\rb\r\nabc\r\n0\r\n\r\n")),
    ("chunk-ext-bare-lf", req(b"Host: a", b"Transfer-Encoding: chunked", body=b"3;a\nabc\r\n0\r\n\r\n")),
    ("chunk-ext-nul", req(b"Host: a", b"Transfer-Encoding: chunked", body=b"3;a\x00\r\nabc\r\n0\r\n\r\n")),
    ("chunk-ext-long", req(b"Host: a", b"Transfer-Encoding: chunked", body=b"3;a=" + b"x" * 5000 + b"\r\nabc\r\n0\r\n\r\n")),
    ("chunk-trailer-fields", req(b"Host: a", b"Transfer-Encoding: chunked", body=b"3\r\nabc\r\n0\r\nX-Sum: 1\r\nY: 2\r\n\r\n")),
    ("chunk-trailer-obs-fold", req(b"Host: a", b"Transfer-Encoding: chunked", body=b"0\r\nX: a\r\n b\r\n\r\n")),
    ("chunk-trailer-no-colon", req(b"Host: a", b"Transfer-Encoding: chunked", body=b"0\r\nnot a field\r\n\r\n")),
    ("chunk-then-request", req(b"Host: a", b"Transfer-Encoding: chunked", body=b"0\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n")),
    # Field syntax (RFC 9112 §5, RFC 9110 §5.5).
    ("obs-fold-tab", req(b"Host: a", b"X: a", b"\tb", method=b"GET")),
    ("obs-fold-first-line", b"GET / HTTP/1.1\r\n Host: a\r\n\r\n"),
    ("space-before-colon", req(b"Host : a", method=b"GET")),
    ("tab-before-colon", req(b"Host\t: a", method=b"GET")),
    ("cl-space-before-colon", req(b"Host: a", b"Content-Length : 3", body=b"abc")),
    ("bare-cr-header", b"GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n"),
    ("bare-cr-request-line", b"GET / HTTP/1.1\rHost: a\r\n\r\n"),
    ("bare-lf-header", b"GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n"),
    ("bare-lf-end", b"GET / HTTP/1.1\r\nHost: a\r\n\n"),
    ("nul-in-value", req(b"Host: a", b"X: a\x00b", method=b"GET")),
    ("nul-in-name", req(b"Host: a", b"X\x00Y: b", method=b"GET")),
    ("del-in-value", req(b"Host: a", b"X: a\x7fb", method=b"GET")),
    ("ctl-in-value", req(b"Host: a", b"X: a\x01b", method=b"GET")),
    ("obs-text-value", req(b"Host: a", b"X: caf\xc3\xa9 \xff", method=b"GET")),
    ("tab-in-value", req(b"Host: a", b"X: a\tb \t", method=b"GET")),
    ("empty-value", req(b"Host: a", b"X:", b"Y: ", method=b"GET")),
    ("empty-name", req(b"Host: a", b": v", method=b"GET")),
    ("no-colon", req(b"Host: a", b"X-No-Colon", method=b"GET")),
    ("bad-name-byte", req(b"Host: a", b"X@Y: 1", method=b"GET")),
    ("name-with-high-byte", req(b"Host: a", b"X\xe9: 1", method=b"GET")),
    ("many-fields", req(b"Host: a", *[b"X-%d: %d" % (i, i) for i in range(40)], method=b"GET")),
    # Host (RFC 9112 §3.2).
    ("host-missing", req(b"Accept: */*", method=b"GET")),
    ("host-missing-http10", req(b"Accept: */*", method=b"GET", version=b"HTTP/1.0")),
    ("host-twice", req(b"Host: a", b"Host: b", method=b"GET")),
    ("host-empty", req(b"Host:", method=b"GET")),
    ("host-invalid", req(b"Host: a b@c", method=b"GET")),
    ("host-ipv6-port", req(b"Host: [::1]:8080", method=b"GET")),
    # Request line (RFC 9112 §3).
    ("method-lowercase", req(b"Host: a", method=b"get")),
    ("method-unknown-token", req(b"Host: a", method=b"BREW")),
    ("method-extension-llhttp-knows", req(b"Host: a", method=b"PURGE")),
    ("method-bad-byte", req(b"Host: a", method=b"GE(T")),
    ("request-line-two-spaces", req(b"Host: a", method=b"GET", target=b" /")),
    ("request-line-tab", b"GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n"),
    ("request-line-trailing-space", b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n"),
    ("request-line-no-version", b"GET /\r\nHost: a\r\n\r\n"),
    ("target-space", req(b"Host: a", method=b"GET", target=b"/a b")),
    ("target-fragment", req(b"Host: a", method=b"GET", target=b"/a#frag")),
    ("target-high-byte", req(b"Host: a", method=b"GET", target=b"/caf\xc3\xa9")),
    ("target-ctl", req(b"Host: a", method=b"GET", target=b"/a\x01b")),
    ("target-del", req(b"Host: a", method=b"GET", target=b"/a\x7fb")),
    ("target-asterisk-get", req(b"Host: a", method=b"GET", target=b"*")),
    ("target-authority-get", req(b"Host: a", method=b"GET", target=b"example.com:80")),
    ("target-absolute-uppercase", req(b"Host: a", method=b"GET", target=b"HTTP://a/b?c")),
    ("target-absolute-no-path", req(b"Host: a", method=b"GET", target=b"http://a")),
    ("target-absolute-query-only", req(b"Host: a", method=b"GET", target=b"http://a?q=1")),
    ("target-absolute-userinfo", req(b"Host: a", method=b"GET", target=b"http://user@a/p")),
    ("target-other-scheme", req(b"Host: a", method=b"GET", target=b"ftp://a/b")),
    ("target-relative", req(b"Host: a", method=b"GET", target=b"a/b")),
    ("target-query-chars", req(b"Host: a", method=b"GET", target=b"/p?a=[1]&b={2}|^`\\\"<>")),
    ("version-1-0", req(b"Host: a", method=b"GET", version=b"HTTP/1.0")),
    ("version-1-2", req(b"Host: a", method=b"GET", version=b"HTTP/1.2")),
    ("version-2-0", req(b"Host: a", method=b"GET", version=b"HTTP/2.0")),
    ("version-0-9", req(b"Host: a", method=b"GET", version=b"HTTP/0.9")),
    ("version-lowercase", req(b"Host: a", method=b"GET", version=b"http/1.1")),
    ("version-two-digits", req(b"Host: a", method=b"GET", version=b"HTTP/1.10")),
    ("version-missing-minor", req(b"Host: a", method=b"GET", version=b"HTTP/1")),
    ("http09-request", b"GET /\r\n\r\n"),
    ("prior-knowledge-h2", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
    # Connections, pipelining and upgrades.
    ("leading-empty-lines", b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
    ("leading-bare-lf", b"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
    ("leading-bare-cr", b"\r\n\rGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
    ("pipelined-keep-alive", req(b"Host: a", method=b"GET", target=b"/1") + req(b"Host: a", b"Content-Length: 2", body=b"hi", target=b"/2")
     + req(b"Host: a", b"Transfer-Encoding: chunked", body=b"2\r\nok\r\n0\r\n\r\n", target=b"/3")),
    ("pipelined-after-close", req(b"Host: a", b"Connection: close", method=b"GET") + req(b"Host: a", method=b"GET", target=b"/2")),
    ("pipelined-after-http10", req(method=b"GET", version=b"HTTP/1.0") + req(method=b"GET", target=b"/2", version=b"HTTP/1.0")),
    ("pipelined-http10-keep-alive", req(b"Connection: keep-alive", method=b"GET", version=b"HTTP/1.0")
     + req(method=b"GET", target=b"/2", version=b"HTTP/1.0")),
    ("pipelined-then-garbage", req(b"Host: a", method=b"GET") + b"\x16\x03\x01\x00\xa5\x01\x00\x00"),
    ("upgrade-websocket", req(b"Host: a", b"Upgrade: websocket", b"Connection: Upgrade", b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                              b"Sec-WebSocket-Version: 13", method=b"GET", target=b"/ws") + b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"),
    ("connect-then-bytes", req(b"Host: example.com:443", method=b"CONNECT", target=b"example.com:443") + b"\x16\x03\x01"),
    ("head-with-length", req(b"Host: a", b"Content-Length: 2", method=b"HEAD", body=b"ok")),
    ("get-with-body", req(b"Host: a", b"Content-Length: 2", method=b"GET", body=b"ok")),
    ("incomplete-head", b"GET / HTTP/1.1\r\nHost: a\r\n"),
    ("bare-cr-unfinished-head", b"GET / HTTP/1.1\r\nHost: a\r@\r\n"),
    # Keep-alive as both parsers read Connection (RFC 9112 §9.3).
    ("connection-close-mixed-case", req(b"Host: a", b"Connection: Close", method=b"GET")),
    ("connection-close-in-list", req(b"Host: a", b"Connection: keep-alive, close", method=b"GET")),
    ("connection-http10-keep-alive-case", req(b"Connection: Keep-Alive", method=b"GET", version=b"HTTP/1.0")),
    ("connection-two-fields", req(b"Host: a", b"Connection: keep-alive", b"Connection: close", method=b"GET")),
    ("connection-upgrade-without-upgrade", req(b"Host: a", b"Connection: upgrade", method=b"GET")
     + req(b"Host: a", method=b"GET", target=b"/2")),
    ("upgrade-h2c-post", req(b"Host: a", b"Connection: Upgrade, HTTP2-Settings", b"Upgrade: h2c", b"HTTP2-Settings: AAMAAABkAAQAAP__",
                             b"Content-Length: 3", body=b"abc")),
    # More framing shapes.
    ("te-gzip-then-chunked-fields", req(b"Host: a", b"Transfer-Encoding: gzip", b"Transfer-Encoding: chunked", body=b"0\r\n\r\n")),
    ("te-chunked-parameter", req(b"Host: a", b"Transfer-Encoding: chunked;q=1", body=b"0\r\n\r\n")),
    ("cl-lowercase-name", req(b"host: a", b"content-length: 3", body=b"abc")),
    ("cl-tab-and-trailing-space", req(b"Host: a", b"Content-Length:\t3 ", body=b"abc")),
    ("chunk-size-uppercase-hex", req(b"Host: a", b"Transfer-Encoding: chunked", body=b"A\r\n0123456789\r\n0\r\n\r\n")),
    ("chunk-body-with-crlf", req(b"Host: a", b"Transfer-Encoding: chunked", body=b"4\r\n\r\n\r\n\r\n0\r\n\r\n")),
    ("body-with-nul", req(b"Host: a", b"Content-Length: 3", body=b"a\x00b")),
    # Targets and fields.
    ("connect-origin-form", req(b"Host: a", method=b"CONNECT", target=b"/")),
    ("target-https-port", req(b"Host: a", method=b"GET", target=b"https://a:8443/p/q?r=s")),
    ("target-nul", req(b"Host: a", method=b"GET", target=b"/a\x00b")),
    ("host-userinfo", req(b"Host: user@a", method=b"GET")),
    ("value-only-whitespace", req(b"Host: a", b"X:   \t ", method=b"GET")),
    ("long-field-name", req(b"Host: a", b"X-" + b"n" * 300 + b": v", method=b"GET")),
    ("name-case-kept", req(b"HOST: a", b"x-MiXeD: Value", method=b"GET")),
    ("connection-close-trailing-tab", req(b"Host: a", b"Connection: keep-alive, close\t", method=b"GET")),
    ("connection-http10-close-and-keep-alive", req(b"Connection: close, keep-alive", method=b"GET", version=b"HTTP/1.0")),
    ("proxy-connection-close", req(b"Host: a", b"Proxy-Connection: close", method=b"GET")),
    ("te-empty-field-and-chunked", req(b"Host: a", b"Transfer-Encoding: chunked", b"Transfer-Encoding:", body=b"0\r\n\r\n")),
    ("te-empty-field-and-length", req(b"Host: a", b"Transfer-Encoding: ", b"Content-Length: 3", body=b"abc")),
    ("connect-with-length", req(b"Host: a:443", b"Content-Length: 2", method=b"CONNECT", target=b"a:443", body=b"\x16\x03\x01")),
    ("connect-with-length-zero", req(b"Host: a:443", b"Content-Length: 0", method=b"CONNECT", target=b"a:443")),
    ("connect-chunked", req(b"Host: a:443", b"Transfer-Encoding: chunked", method=b"CONNECT", target=b"a:443", body=b"0\r\n\r\n")),
    ("upgrade-chunked-then-frames", req(b"Host: a", b"Upgrade: websocket", b"Connection: Upgrade", b"Transfer-Encoding: chunked",
                                        method=b"GET", target=b"/ws") + b"\x81\x85\x37\xfa\x21\x3d\x7f"),
    ("upgrade-length-then-frames", req(b"Host: a", b"Upgrade: websocket", b"Connection: Upgrade", b"Content-Length: 3",
                                       method=b"GET", target=b"/ws", body=b"abc") + b"\x81\x85\x37\xfa\x21\x3d\x7f"),
    ("chunk-trailer-framing-fields", req(b"Host: a", b"Transfer-Encoding: chunked",
                                         body=b"3\r\nabc\r\n0\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n")),
]:
    http(name, wire)
http("split-smuggle", req(b"Host: a", b"Transfer-Encoding: chunked", body=b"3\r\nabc\r\n0\r\n\r\n")
     + req(b"Host: a", b"Content-Length: 5", b"Transfer-Encoding: chunked", body=b"0\r\n\r\n"), splits=(7, 30, 2))
http("limits-target", req(b"Host: a", method=b"GET", target=b"/" + b"p" * 40), limits=2)
http("limits-fields", req(b"Host: a", b"X: 1", b"Y: 2", method=b"GET"), limits=3)


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

