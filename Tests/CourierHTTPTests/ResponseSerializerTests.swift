import CourierHTTP
import Testing

/// What `write` puts in a fresh output buffer, as text.
private func written(_ write: (inout ByteWriter) -> Void) -> String {
    var writer = ByteWriter()
    write(&writer)
    return String(decoding: writer.bytes, as: UTF8.self)
}

@Suite struct ResponseSerializerTests {
    @Test func aHeadWithFieldsInOrder() {
        let head = HTTPResponseHead(status: .ok, headers: ["Content-Type": "text/plain", "Content-Length": "5", "X-A": "1"])
        #expect(written { HTTPResponseSerializer.writeHead(head, into: &$0) } == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nX-A: 1\r\n\r\n")
    }

    @Test(arguments: [
        (HTTPStatus.notFound, "HTTP/1.1 404 Not Found"),
        (HTTPStatus.continue, "HTTP/1.1 100 Continue"),
        (HTTPStatus.requestHeaderFieldsTooLarge, "HTTP/1.1 431 Request Header Fields Too Large"),
        (HTTPStatus(code: 299, reasonPhrase: "Mostly Fine"), "HTTP/1.1 299 Mostly Fine"),
        (HTTPStatus(code: 599, reasonPhrase: ""), "HTTP/1.1 599 "),
    ])
    func statusLines(status: HTTPStatus, expected: String) {
        #expect(written { HTTPResponseSerializer.writeHead(HTTPResponseHead(status: status), into: &$0) } == expected + "\r\n\r\n")
    }

    @Test func anHTTP10Head() {
        let head = HTTPResponseHead(status: .badRequest, version: .http1_0)
        #expect(written { HTTPResponseSerializer.writeHead(head, into: &$0) } == "HTTP/1.0 400 Bad Request\r\n\r\n")
    }

    /// The server's head stays open for its own fields, drops the app's Connection field (the
    /// server writes its own) and reports what the server's fields depend on.
    @Test func theServerHeadTakesMoreFieldsAndAppendsToTheBuffer() {
        var facts: HTTPResponseSerializer.ServerHeadFacts?
        let text = written { writer in
            writer.append("previous")
            let head = HTTPResponseHead(status: .created, headers: ["A": "1", "Connection": "keep-alive, close", "Content-Length": "0"])
            facts = HTTPResponseSerializer.writeServerHead(head, into: &writer)
            writer.append("Date: now\r\n\r\n")
        }
        #expect(text == "previousHTTP/1.1 201 Created\r\nA: 1\r\nContent-Length: 0\r\nDate: now\r\n\r\n")
        #expect(facts?.asksToClose == true && facts?.hasContentLength == true)
    }

    @Test(arguments: [0, 7, 9, 10, 99, 100, 404, 65_536, 1_234_567_890, Int.max, -1, -10, Int.min])
    func decimals(value: Int) {
        #expect(written { $0.append(0x2A); $0.appendDecimal(value) } == "*\(value)")
    }

    /// The array writer (channel frames) and the buffer writer give the same digits, and both
    /// add to what is there.
    @Test(arguments: [0, 9, 10, 99, 100, 12_345, UInt64(UInt32.max), UInt64.max - 1, UInt64.max])
    func decimalsIntoAnArray(value: UInt64) {
        var array: [UInt8] = [0x2A]
        array.appendDecimal(value)
        #expect(String(decoding: array, as: UTF8.self) == "*\(value)")
        #expect(DecimalText.digitCount(value) == String(value).count)
        #expect(written { $0.appendDecimal(UInt(value)) } == String(value))
    }

    @Test func chunksAreHexSizedAndTheLastChunkEndsTheBody() {
        let text = written { writer in
            for size in [1, 15, 16, 255, 4096] {
                Array(repeating: UInt8(ascii: "x"), count: size).withUnsafeBytes {
                    HTTPResponseSerializer.writeChunk($0, into: &writer)
                }
            }
            HTTPResponseSerializer.writeLastChunk(into: &writer)
        }
        let x = { (count: Int) in String(repeating: "x", count: count) }
        #expect(text == "1\r\n\(x(1))\r\nf\r\n\(x(15))\r\n10\r\n\(x(16))\r\nff\r\n\(x(255))\r\n1000\r\n\(x(4096))\r\n0\r\n\r\n")
    }

    @Test func anEmptyChunkWritesNothingSoItCannotEndTheBodyEarly() {
        #expect(written { writer in [UInt8]().withUnsafeBytes { HTTPResponseSerializer.writeChunk($0, into: &writer) } }.isEmpty)
    }

    @Test func theParserReadsBackWhatTheSerializerChunks() {
        let pieces: [[UInt8]] = [Array("hello".utf8), [], Array(0...255), Array(repeating: 0x0A, count: 300)]
        var writer = ByteWriter()
        writer.append(request("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked"))
        for piece in pieces { piece.withUnsafeBytes { HTTPResponseSerializer.writeChunk($0, into: &writer) } }
        HTTPResponseSerializer.writeLastChunk(into: &writer)
        let outcome = parse(Array(writer.bytes))
        #expect(outcome.error == nil)
        #expect(outcome.requests.first?.body == pieces.flatMap { $0 })
        #expect(outcome.requests.first?.ended == true)
    }

    @Test func onlyInformationalNoContentAndNotModifiedForbidABody() {
        #expect(!HTTPStatus.continue.allowsBody)
        #expect(!HTTPStatus.switchingProtocols.allowsBody)
        #expect(!HTTPStatus.noContent.allowsBody)
        #expect(!HTTPStatus.notModified.allowsBody)
        #expect(HTTPStatus.ok.allowsBody)
        #expect(HTTPStatus.created.allowsBody)
        #expect(HTTPStatus.notFound.allowsBody)
    }

    @Test func statusesByLiteralGetTheirStandardReason() {
        let status: HTTPStatus = 413
        #expect(status == .payloadTooLarge)
        #expect(status.description == "413 Content Too Large")
        #expect(HTTPStatus(code: 404) == .notFound)
    }
}
