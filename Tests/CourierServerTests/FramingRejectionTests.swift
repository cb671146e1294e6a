import CourierTesting
import Testing

extension HTTPServerTests {
    /// RFC 9112 ambiguities a proxy and this server could read differently (request smuggling):
    /// each gets 400 and the connection closes, so nothing after it is read as a request.
    @Suite struct FramingRejectionTests {
        struct Case: Sendable, CustomTestStringConvertible {
            let name: String
            let bytes: [UInt8]
            var testDescription: String { name }

            init(_ name: String, _ text: String) {
                self.name = name
                bytes = Array(text.utf8)
            }
        }

        static let cases: [Case] = [
            Case("Content-Length with Transfer-Encoding",
                 "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            Case("Transfer-Encoding before Content-Length",
                 "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"),
            Case("two different Content-Lengths",
                 "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"),
            Case("two different Content-Lengths in one field",
                 "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\nhello!"),
            Case("signed Content-Length", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello"),
            Case("obs-fold with a space", "GET /hello HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n"),
            Case("obs-fold with a tab", "GET /hello HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n\tb\r\n\r\n"),
            Case("chunk size not hex",
                 "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"),
            Case("negative chunk size",
                 "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n"),
            Case("chunk size followed by junk",
                 "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5 x\r\nhello\r\n0\r\n\r\n"),
            Case("chunk size overflowing",
                 "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nhello\r\n0\r\n\r\n"),
            Case("chunk longer than its size",
                 "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n"),
            Case("NUL in a header value", "GET /hello HTTP/1.1\r\nHost: x\r\nX-Nul: a\u{0}b\r\n\r\n"),
            Case("NUL in a header name", "GET /hello HTTP/1.1\r\nHost: x\r\nX-N\u{0}ul: ab\r\n\r\n"),
            Case("control byte in a header value", "GET /hello HTTP/1.1\r\nHost: x\r\nX-Ctl: a\u{1}b\r\n\r\n"),
            Case("space before the colon", "GET /hello HTTP/1.1\r\nHost: x\r\nX-Space : ab\r\n\r\n"),
            Case("bare LF line ending", "GET /hello HTTP/1.1\nHost: x\r\n\r\n"),
            Case("HTTP/1.1 without Host", "GET /hello HTTP/1.1\r\n\r\n"),
            Case("two Hosts", "GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
        ]

        @Test(arguments: cases)
        func ambiguousRequestGets400AndTheConnectionCloses(_ rejected: Case) async throws {
            try await withServer { server in
                let client = try RawClient(port: server.port, timeoutSeconds: 5)
                // A smuggled-looking request follows in the same write: it must never be answered.
                client.send(rejected.bytes + Array("GET /n/smuggled HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
                let response = try client.readResponse()
                #expect(response.status == 400)
                #expect(response.headers["Connection"] == "close")
                #expect(!response.text.contains("smuggled"))
                #expect(client.waitForClose())
                #expect(client.readUntilClose().isEmpty)
            }
        }
    }
}
