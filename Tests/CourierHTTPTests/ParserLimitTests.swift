import CourierHTTP
import Testing

private func requestLine(length: Int) -> String {
    let prefix = "GET /", suffix = " HTTP/1.1"
    return prefix + String(repeating: "a", count: length - prefix.count - suffix.count) + suffix
}

private func headWithSection(bytes: Int) -> [UInt8] {
    // The section after the request line: "Host: a\r\n", one padding field, and the empty line.
    let fixed = "Host: a\r\n".utf8.count + "X-Pad: \r\n".utf8.count + 2
    let section = "Host: a\r\nX-Pad: \(String(repeating: "p", count: bytes - fixed))\r\n\r\n"
    return Array("GET / HTTP/1.1\r\n\(section)".utf8)
}

private func headWithFields(_ count: Int) -> [UInt8] {
    request(["GET / HTTP/1.1", "Host: a"] + (1..<count).map { "X-Field-\($0): \($0)" })
}

private func request(_ lines: [String]) -> [UInt8] {
    Array((lines.map { $0 + "\r\n" }.joined() + "\r\n").utf8)
}

@Suite struct ParserLimitTests {
    @Test func aRequestLineOf8KiBIsAccepted() {
        let bytes = request([requestLine(length: 8 * 1024), "Host: a"])
        let whole = parse(bytes)
        #expect(whole.error == nil)
        #expect(whole.requests.first?.target.count == 8 * 1024 - "GET  HTTP/1.1".count)
        #expect(parseIncrementally(bytes) == whole)
    }

    @Test func aRequestLineOver8KiBIs414() {
        expectRejection(request([requestLine(length: 8 * 1024 + 1), "Host: a"]), status: 414)
    }

    @Test func anEndlessRequestLineIs414BeforeItEnds() {
        let bytes = Array("GET /\(String(repeating: "a", count: 20_000))".utf8)
        expectRejection(bytes, status: 414)
        #expect(parseIncrementally(bytes, step: 1000).status == 414)
    }

    @Test func aHeaderSectionUnder16KiBIsAccepted() {
        let bytes = headWithSection(bytes: 16 * 1024 - 100)
        let whole = parse(bytes)
        #expect(whole.error == nil)
        #expect(whole.requests.count == 1)
        #expect(parseIncrementally(bytes) == whole)
    }

    @Test func aHeaderSectionOver16KiBIs431() {
        expectRejection(headWithSection(bytes: 16 * 1024 + 100), status: 431)
    }

    @Test func aHeaderSectionOver16KiBIs431HoweverItArrives() {
        let bytes = headWithSection(bytes: 20 * 1024)
        for step in [1, 7, 1000, 4096, 16 * 1024, 100_000] {
            #expect(parseIncrementally(bytes, step: step).status == 431, "read size \(step)")
        }
    }

    @Test func theHeaderSizeLimitGivesOneAnswerWhateverTheReadSize() {
        // Around the boundary the exact accounting may be anything, but never depend on how
        // the bytes were split into reads.
        for size in (16 * 1024 - 4)...(16 * 1024 + 4) {
            let bytes = headWithSection(bytes: size)
            let whole = parse(bytes)
            #expect(parseIncrementally(bytes, step: 1).status == whole.status, "section of \(size) bytes")
            #expect(parse(bytes, splitAt: bytes.count - 3).status == whole.status, "section of \(size) bytes")
        }
    }

    @Test func anEndlessHeaderSectionIs431BeforeItEnds() {
        let bytes = Array("GET / HTTP/1.1\r\nHost: a\r\nX: \(String(repeating: "v", count: 20_000))".utf8)
        expectRejection(bytes, status: 431)
    }

    @Test func exactly100FieldsAreAccepted() {
        let bytes = headWithFields(100)
        let whole = parse(bytes)
        #expect(whole.error == nil)
        #expect(whole.requests.first?.fields.count == 100)
        #expect(parseIncrementally(bytes) == whole)
    }

    @Test func moreThan100FieldsAre431() {
        expectRejection(headWithFields(101), status: 431)
    }

    @Test func limitsAreConfigurable() {
        let limits = HTTPRequestParser.Limits(maxRequestLineBytes: 20, maxHeaderBytes: 40, maxHeaderCount: 2)
        #expect(parse(request(["GET /012345 HTTP/1.1", "Host: a"]), limits: limits).error == nil)
        expectRejection(request(["GET /0123456 HTTP/1.1", "Host: a"]), status: 414, limits: limits)
        expectRejection(request(["GET / HTTP/1.1", "Host: a", "A: 1", "B: 2"]), status: 431, limits: limits)
        expectRejection(request(["GET / HTTP/1.1", "Host: a", "A: \(String(repeating: "x", count: 40))"]),
                        status: 431, limits: limits)
        #expect(HTTPRequestParser.Limits() == HTTPRequestParser.Limits(maxRequestLineBytes: 8192, maxHeaderBytes: 16_384,
                                                                       maxHeaderCount: 100))
    }

    // Found by FuzzHTTPParser: a line past a limit that also lacked its CR was refused for the
    // CR (400) when it arrived whole, and for its size when it arrived in pieces. The status
    // must not depend on how the bytes were read: sizes are judged first.
    @Test func aHeaderLinePastTheLimitIs431HoweverItEnds() {
        let limits = HTTPRequestParser.Limits(maxRequestLineBytes: 200, maxHeaderBytes: 16, maxHeaderCount: 100)
        expectRejection(Array("GET / HTTP/1.1\r\nX-Long-Field-Name: 4\n\r\n".utf8), status: 431, limits: limits)
    }

    @Test func aRequestLinePastTheLimitIs414HoweverItEnds() {
        let limits = HTTPRequestParser.Limits(maxRequestLineBytes: 8, maxHeaderBytes: 100, maxHeaderCount: 100)
        expectRejection(Array("GET /abcdefgh HTTP/1.1\nHost: a\r\n\r\n".utf8), status: 414, limits: limits)
    }

    @Test func aTrailerLinePastTheLimitIs431HoweverItEnds() {
        let limits = HTTPRequestParser.Limits(maxRequestLineBytes: 100, maxHeaderBytes: 40, maxHeaderCount: 100)
        let bytes = Array(("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "0\r\nX-Long-Trailer-Field-Name-Past-Forty-Bytes: 1\n\r\n").utf8)
        for step in [1, 7, 64, bytes.count] {
            #expect(parseIncrementally(bytes, step: step, limits: limits).status == 431, "read size \(step)")
        }
    }
}
