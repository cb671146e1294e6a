import CourierHTTP
import Testing

private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

@Suite struct ResponseSerializerTests {
    @Test func aHeadWithFieldsInOrder() {
        var buffer: [UInt8] = []
        let head = HTTPResponseHead(status: .ok, headers: ["Content-Type": "text/plain", "Content-Length": "5", "X-A": "1"])
        HTTPResponseSerializer.writeHead(head, into: &buffer)
        #expect(text(buffer) == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nX-A: 1\r\n\r\n")
    }

    @Test(arguments: [
        (HTTPStatus.notFound, "HTTP/1.1 404 Not Found"),
        (HTTPStatus.continue, "HTTP/1.1 100 Continue"),
        (HTTPStatus.requestHeaderFieldsTooLarge, "HTTP/1.1 431 Request Header Fields Too Large"),
        (HTTPStatus(code: 299, reasonPhrase: "Mostly Fine"), "HTTP/1.1 299 Mostly Fine"),
        (HTTPStatus(code: 599, reasonPhrase: ""), "HTTP/1.1 599 "),
    ])
    func statusLines(status: HTTPStatus, expected: String) {
        var buffer: [UInt8] = []
        HTTPResponseSerializer.writeHead(HTTPResponseHead(status: status), into: &buffer)
        #expect(text(buffer) == expected + "\r\n\r\n")
    }

    @Test func anHTTP10Head() {
        var buffer: [UInt8] = []
        HTTPResponseSerializer.writeHead(HTTPResponseHead(status: .badRequest, version: .http1_0), into: &buffer)
        #expect(text(buffer) == "HTTP/1.0 400 Bad Request\r\n\r\n")
    }

    @Test func anOpenHeadTakesMoreFieldsAndAppendsToTheBuffer() {
        var buffer = Array("previous".utf8)
        HTTPResponseSerializer.writeHeadWithoutEnd(HTTPResponseHead(status: .created, headers: ["A": "1"]), into: &buffer)
        buffer += Array("Date: now\r\n\r\n".utf8)
        #expect(text(buffer) == "previousHTTP/1.1 201 Created\r\nA: 1\r\nDate: now\r\n\r\n")
    }

    @Test(arguments: [0, 7, 9, 10, 99, 100, 404, 65_536, 1_234_567_890, Int.max])
    func decimals(value: Int) {
        var buffer: [UInt8] = [0x2A]
        HTTPResponseSerializer.appendDecimal(value, into: &buffer)
        #expect(text(buffer) == "*\(value)")
    }

    @Test func chunksAreHexSizedAndTheLastChunkEndsTheBody() {
        var buffer: [UInt8] = []
        for size in [1, 15, 16, 255, 4096] {
            Array(repeating: UInt8(ascii: "x"), count: size).withUnsafeBytes {
                HTTPResponseSerializer.writeChunk($0, into: &buffer)
            }
        }
        HTTPResponseSerializer.writeLastChunk(into: &buffer)
        let x = { (count: Int) in String(repeating: "x", count: count) }
        #expect(text(buffer) == "1\r\n\(x(1))\r\nf\r\n\(x(15))\r\n10\r\n\(x(16))\r\nff\r\n\(x(255))\r\n1000\r\n\(x(4096))\r\n0\r\n\r\n")
    }

    @Test func anEmptyChunkWritesNothingSoItCannotEndTheBodyEarly() {
        var buffer: [UInt8] = []
        [UInt8]().withUnsafeBytes { HTTPResponseSerializer.writeChunk($0, into: &buffer) }
        #expect(buffer.isEmpty)
    }

    @Test func theParserReadsBackWhatTheSerializerChunks() {
        let pieces: [[UInt8]] = [Array("hello".utf8), [], Array(0...255), Array(repeating: 0x0A, count: 300)]
        var bytes = request("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked")
        for piece in pieces { piece.withUnsafeBytes { HTTPResponseSerializer.writeChunk($0, into: &bytes) } }
        HTTPResponseSerializer.writeLastChunk(into: &bytes)
        let outcome = parse(bytes)
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
