import CourierHTTP
import Testing

private func head(_ fields: String..., version: String = "HTTP/1.1", body: String = "") -> [UInt8] {
    Array((["POST / \(version)"] + fields).map { $0 + "\r\n" }.joined().utf8) + Array("\r\n\(body)".utf8)
}

/// RFC 9112 §6 and §3.2: every way a request could be framed ambiguously, or smuggle a second.
@Suite struct FramingRejectionTests {
    static let cases: [RejectionCase] = [
        RejectionCase("Content-Length with Transfer-Encoding",
                      bytes: head("Host: a", "Content-Length: 5", "Transfer-Encoding: chunked", body: "0\r\n\r\n")),
        RejectionCase("Transfer-Encoding with Content-Length",
                      bytes: head("Host: a", "Transfer-Encoding: chunked", "Content-Length: 5", body: "0\r\n\r\n")),
        RejectionCase("two different Content-Lengths", bytes: head("Host: a", "Content-Length: 5", "Content-Length: 6")),
        RejectionCase("two different lengths in one field", bytes: head("Host: a", "Content-Length: 5, 6")),
        RejectionCase("a zero and a non-zero length", bytes: head("Host: a", "Content-Length: 0", "Content-Length: 1")),
        RejectionCase("non-numeric length", bytes: head("Host: a", "Content-Length: abc")),
        RejectionCase("digits then letters", bytes: head("Host: a", "Content-Length: 5a")),
        RejectionCase("hex length", bytes: head("Host: a", "Content-Length: 0x5")),
        RejectionCase("negative length", bytes: head("Host: a", "Content-Length: -1")),
        RejectionCase("signed length", bytes: head("Host: a", "Content-Length: +5")),
        RejectionCase("fractional length", bytes: head("Host: a", "Content-Length: 1.0")),
        RejectionCase("empty length", bytes: head("Host: a", "Content-Length: ")),
        RejectionCase("trailing comma in length", bytes: head("Host: a", "Content-Length: 5,")),
        RejectionCase("space inside the length", bytes: head("Host: a", "Content-Length: 1 0")),
        RejectionCase("length past Int", bytes: head("Host: a", "Content-Length: 9223372036854775808")),
        RejectionCase("length of twenty nines", bytes: head("Host: a", "Content-Length: 99999999999999999999")),
        RejectionCase("Transfer-Encoding gzip alone", bytes: head("Host: a", "Transfer-Encoding: gzip")),
        RejectionCase("chunked not last", bytes: head("Host: a", "Transfer-Encoding: chunked, gzip")),
        RejectionCase("identity", bytes: head("Host: a", "Transfer-Encoding: identity")),
        RejectionCase("empty Transfer-Encoding", bytes: head("Host: a", "Transfer-Encoding: ")),
        RejectionCase("chunked twice", bytes: head("Host: a", "Transfer-Encoding: chunked, chunked")),
        RejectionCase("chunked in two fields", bytes: head("Host: a", "Transfer-Encoding: chunked", "Transfer-Encoding: chunked")),
        RejectionCase("empty coding before chunked", bytes: head("Host: a", "Transfer-Encoding: , chunked")),
        RejectionCase("chunked in HTTP/1.0", bytes: head("Transfer-Encoding: chunked", version: "HTTP/1.0", body: "0\r\n\r\n")),
        RejectionCase("chunked in HTTP/1.0 with a Host", bytes: head("Host: a", "Transfer-Encoding: chunked", version: "HTTP/1.0")),
        RejectionCase("missing Host in HTTP/1.1", bytes: head("Content-Length: 0")),
        RejectionCase("two Hosts", bytes: head("Host: a", "Host: b")),
        RejectionCase("two identical Hosts", bytes: head("Host: a", "host: a")),
        RejectionCase("gzip then chunked", bytes: head("Host: a", "Transfer-Encoding: gzip, chunked"), 501),
        RejectionCase("deflate then chunked", bytes: head("Host: a", "Transfer-Encoding: deflate,chunked"), 501),
        RejectionCase("codings over two fields", bytes: head("Host: a", "Transfer-Encoding: gzip", "Transfer-Encoding: chunked"), 501),
        RejectionCase("CONNECT with a length", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nContent-Length: 2\r\n\r\n\u{16}\u{3}"),
        RejectionCase("CONNECT chunked", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ]

    @Test(arguments: cases)
    func ambiguousFramingIsRejected(_ bad: RejectionCase) {
        expectRejection(bad.bytes, status: bad.status)
    }

    @Test func http10NeedsNoHostAndMayHaveALength() {
        let outcome = parse(head("Content-Length: 2", version: "HTTP/1.0", body: "ok"))
        #expect(outcome.error == nil)
        #expect(outcome.requests.first?.bodyText == "ok")
    }

    /// RFC 9110 §9.3.6: no content, and a zero length says just that.
    @Test func connectWithAZeroLengthHasNoBody() {
        let outcome = parse("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nContent-Length: 0\r\n\r\n")
        #expect(outcome.error == nil)
        #expect(outcome.requests.map(\.target) == ["a:443"])
        #expect(outcome.requests.first?.framing == .length(0))
        #expect(outcome.requests.first?.ended == true)
    }

    @Test func anEmptyHostIsStillOneHost() {
        #expect(parse(head("Host:", "Content-Length: 0")).error == nil)
    }
}
