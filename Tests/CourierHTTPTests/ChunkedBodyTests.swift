import CourierHTTP
import Testing

private func chunked(_ body: String, host: String = "a") -> [UInt8] {
    request("POST /upload HTTP/1.1", "Host: \(host)", "Transfer-Encoding: chunked", body: body)
}

@Suite struct ChunkedBodyTests {
    @Test func chunksAreJoinedIntoTheBody() throws {
        let outcome = parse(chunked("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"))
        #expect(outcome.error == nil)
        let only = try #require(outcome.requests.first)
        #expect(only.framing == .chunked)
        #expect(only.bodyText == "hello world")
        #expect(only.ended)
        #expect(outcome.unconsumedBytes == 0)
        #expect(outcome.parserIsIdle)
    }

    @Test func sizesAreHexInEitherCaseWithLeadingZeros() {
        let body = String(repeating: "x", count: 26) + String(repeating: "y", count: 10) + String(repeating: "z", count: 171)
        let outcome = parse(chunked("1a\r\n\(body.prefix(26))\r\n00A\r\n\(body.dropFirst(26).prefix(10))\r\nAb\r\n\(body.suffix(171))\r\n000\r\n\r\n"))
        #expect(outcome.error == nil)
        #expect(outcome.requests.first?.bodyText == body)
        #expect(outcome.requests.first?.ended == true)
    }

    @Test func anEmptyBodyIsJustTheLastChunk() throws {
        let only = try #require(parse(chunked("0\r\n\r\n")).requests.first)
        #expect(only.body.isEmpty)
        #expect(only.ended)
    }

    @Test(arguments: ["5;name=value", "5;flag", "5 ;a=b", "5\t;a=b", "5;a=b;c=d", "5;a=\"quoted value\"", "5;a=b "])
    func chunkExtensionsAreSkipped(sizeLine: String) {
        let outcome = parse(chunked("\(sizeLine)\r\nhello\r\n0;last=1\r\n\r\n"))
        #expect(outcome.error == nil)
        #expect(outcome.requests.first?.bodyText == "hello")
        #expect(outcome.requests.first?.ended == true)
    }

    @Test func trailersAreReadAndTheNextRequestFollows() {
        let bytes = chunked("3\r\nabc\r\n0\r\nX-Checksum: 900150983cd24fb0\r\nX-Other:\tvalue \r\n\r\n")
            + request("GET /next HTTP/1.1", "Host: a")
        let outcome = parse(bytes)
        #expect(outcome.error == nil)
        #expect(outcome.requests.map(\.target) == ["/upload", "/next"])
        #expect(outcome.requests.first?.bodyText == "abc")
        #expect(outcome.requests.allSatisfy { $0.ended })
    }

    @Test func theTransferCodingIsCaseInsensitive() {
        let outcome = parse(request("POST / HTTP/1.1", "Host: a", "transfer-encoding: Chunked", body: "1\r\nz\r\n0\r\n\r\n"))
        #expect(outcome.requests.first?.framing == .chunked)
        #expect(outcome.requests.first?.bodyText == "z")
    }

    @Test func aChunkArrivingInPiecesIsDeliveredAsItComes() {
        var feeder = ParserFeeder()
        feeder.feed(chunked("a\r\n01234"))
        #expect(feeder.outcome.requests.first?.bodyText == "01234")
        #expect(feeder.outcome.requests.first?.ended == false)
        feeder.feed(Array("56789\r".utf8))
        #expect(feeder.outcome.requests.first?.bodyText == "0123456789")
        feeder.feed(Array("\n0\r\n\r".utf8))
        #expect(feeder.outcome.requests.first?.ended == false)
        feeder.feed(Array("\n".utf8))
        #expect(feeder.outcome.requests.first?.ended == true)
        #expect(feeder.outcome.error == nil)
        #expect(feeder.outcome.parserIsIdle)
    }

    @Test func fifteenHexDigitsAreAccepted() {
        let outcome = parse(chunked("fffffffffffffff\r\nsome"))
        #expect(outcome.error == nil)
        #expect(outcome.requests.first?.bodyText == "some")
        #expect(outcome.requests.first?.ended == false)
    }

    @Test func splitAtEveryByteBoundaryGivesTheSameResult() {
        let bytes = chunked("4;ext=\"v\"\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Sum: 1\r\nX-Two: 2\r\n\r\n")
            + request("GET /after HTTP/1.1", "Host: a")
        let whole = parse(bytes)
        #expect(whole.error == nil)
        #expect(whole.requests.map(\.bodyText) == ["Wikipedia in\r\n\r\nchunks.", ""])
        for index in 0...bytes.count {
            let split = parse(bytes, splitAt: index)
            #expect(split == whole, "split at \(index)")
            if split != whole { break }
        }
        #expect(parseIncrementally(bytes, step: 1) == whole)
    }
}

@Suite struct ChunkedBodyRejectionTests {
    static let cases: [RejectionCase] = [
        RejectionCase("non-hex size", "xyz\r\nhello\r\n0\r\n\r\n"),
        RejectionCase("hex then junk", "5x\r\nhello\r\n0\r\n\r\n"),
        RejectionCase("0x prefix", "0x5\r\nhello\r\n0\r\n\r\n"),
        RejectionCase("negative size", "-5\r\nhello\r\n0\r\n\r\n"),
        RejectionCase("signed size", "+5\r\nhello\r\n0\r\n\r\n"),
        RejectionCase("empty size line", "\r\nhello\r\n0\r\n\r\n"),
        RejectionCase("extension without size", ";a=b\r\nhello\r\n0\r\n\r\n"),
        RejectionCase("space inside the size", "5 5\r\nhello\r\n0\r\n\r\n"),
        RejectionCase("sixteen hex digits", "ffffffffffffffff\r\nhello\r\n0\r\n\r\n"),
        RejectionCase("overflowing size", "10000000000000000000\r\nhello\r\n0\r\n\r\n"),
        RejectionCase("size line ends in bare LF", "5\nhello\r\n0\r\n\r\n"),
        RejectionCase("size line is a bare LF", "\nhello\r\n0\r\n\r\n"),
        RejectionCase("bare CR in size line", "5\r5\r\nhello\r\n0\r\n\r\n"),
        RejectionCase("control byte in extension", "5;a=\u{01}\r\nhello\r\n0\r\n\r\n"),
        RejectionCase("NUL in extension", "5;a\u{00}\r\nhello\r\n0\r\n\r\n"),
        // RFC 9112 §7.1: whitespace (BWS) only in front of an extension, and no nameless one.
        RejectionCase("whitespace after the size", "5 \r\nhello\r\n0\r\n\r\n"),
        RejectionCase("tab after the size", "5\t\r\nhello\r\n0\r\n\r\n"),
        RejectionCase("extension without a name", "5;\r\nhello\r\n0\r\n\r\n"),
        RejectionCase("extension with only an equals sign", "5;=x\r\nhello\r\n0\r\n\r\n"),
        RejectionCase("data longer than its size", "5\r\nhello!\r\n0\r\n\r\n"),
        RejectionCase("data not followed by CRLF", "5\r\nhelloX0\r\n\r\n"),
        RejectionCase("data followed by bare LF", "5\r\nhello\n0\r\n\r\n"),
        RejectionCase("data followed by CR and junk", "5\r\nhello\rX0\r\n\r\n"),
        RejectionCase("last chunk line in bare LF", "5\r\nhello\r\n0\n\r\n"),
        RejectionCase("trailer section ends in bare LF", "0\r\n\n"),
        RejectionCase("trailer without a colon", "0\r\nNoColon\r\n\r\n"),
        RejectionCase("trailer with space before colon", "0\r\nX-Sum : 1\r\n\r\n"),
        RejectionCase("trailer folded", "0\r\nX-Sum: 1\r\n continued\r\n\r\n"),
        RejectionCase("trailer with NUL", "0\r\nX-Sum: 1\u{00}\r\n\r\n"),
        RejectionCase("trailer with bare CR", "0\r\nX-Sum: 1\r2\r\n\r\n"),
        RejectionCase("trailer line ends in bare LF", "0\r\nX-Sum: 1\n\r\n"),
    ]

    /// Each case's text is the body after a chunked POST head.
    @Test(arguments: cases)
    func badChunkedBodiesAreRejected(_ bad: RejectionCase) {
        let bytes = chunked(String(decoding: bad.bytes, as: UTF8.self))
        let whole = parse(bytes)
        #expect(whole.status == bad.status, "all at once")
        #expect(whole.requests.count == 1, "the head was delivered")
        #expect(whole.requests.first?.ended == false, "the request never ended")
        #expect(parseIncrementally(bytes).status == bad.status, "byte at a time")
    }

    @Test func anOverlongChunkLineIsRejectedHoweverItArrives() {
        let bytes = chunked("5;ext=\(String(repeating: "v", count: 5_000))\r\nhello\r\n0\r\n\r\n")
        #expect(parse(bytes).status == 400)
        #expect(parseIncrementally(bytes, step: 700).status == 400)
    }

    @Test func anOverlongTrailerSectionIsRejectedHoweverItArrives() {
        let bytes = chunked("0\r\nX-Big: \(String(repeating: "v", count: 20_000))\r\n\r\n")
        #expect(parse(bytes).status == 431)
        #expect(parseIncrementally(bytes, step: 700).status == 431)
    }

    @Test func theChunkLineLimitGivesOneAnswerWhateverTheReadSize() {
        var answers: Set<Int?> = []
        for length in 4_090...4_100 {
            let bytes = chunked("1;\(String(repeating: "e", count: length - 4))\r\nx\r\n0\r\n\r\n")
            let whole = parse(bytes)
            answers.insert(whole.status)
            #expect(parseIncrementally(bytes).status == whole.status, "chunk line of \(length) bytes")
        }
        #expect(answers == [nil, 400], "short lines pass and long ones fail")
    }

    @Test func theTrailerLimitGivesOneAnswerWhateverTheReadSize() {
        var answers: Set<Int?> = []
        for length in (16 * 1024 - 4)...(16 * 1024 + 4) {
            let bytes = chunked("0\r\nX: \(String(repeating: "t", count: length - 7))\r\n\r\n")
            let whole = parse(bytes)
            answers.insert(whole.status)
            #expect(parseIncrementally(bytes).status == whole.status, "trailer section of \(length) bytes")
        }
        #expect(answers == [nil, 431], "short sections pass and long ones fail")
    }
}
