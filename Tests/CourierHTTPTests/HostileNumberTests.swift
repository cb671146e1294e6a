import CourierHTTP
import Testing

/// Every number a client writes into a request head, fed hostile values: past `Int.max` and
/// `UInt64.max`, signs, hex, spaces, leading zeros, and exactly at and one past each limit.
/// Nothing may trap, wrap or round: a value is either read exactly or refused with a status.

private func post(_ fields: String..., version: String = "HTTP/1.1", body: String = "") -> [UInt8] {
    Array((["POST / \(version)"] + fields).map { $0 + "\r\n" }.joined().utf8) + Array("\r\n\(body)".utf8)
}

private func chunked(_ body: String) -> [UInt8] {
    request("POST /upload HTTP/1.1", "Host: a", "Transfer-Encoding: chunked", body: body)
}

/// A value and the length it must be read as.
struct AcceptedNumber: Sendable, CustomTestStringConvertible {
    let text: String
    let value: Int
    init(_ text: String, _ value: Int) {
        self.text = text
        self.value = value
    }
    var testDescription: String { text.count > 40 ? "\(text.prefix(20))…(\(text.count) characters)" : "'\(text)'" }
}

@Suite struct ContentLengthValueTests {
    static let accepted: [AcceptedNumber] = [
        AcceptedNumber("0", 0),
        AcceptedNumber("00", 0),
        AcceptedNumber("7", 7),
        AcceptedNumber("007", 7),
        // Leading zeros are digits like any other (RFC 9110 §8.6: 1*DIGIT), however many.
        AcceptedNumber("0000000000000000000000000000005", 5),
        AcceptedNumber(String(repeating: "0", count: 2_000) + "12", 12),
        // The largest accepted: 18 significant digits.
        AcceptedNumber("999999999999999999", 999_999_999_999_999_999),
        AcceptedNumber("0999999999999999999", 999_999_999_999_999_999),
        AcceptedNumber("100000000000000000", 100_000_000_000_000_000),
        // Optional whitespace around the field value is not part of it.
        AcceptedNumber("  12\t", 12),
        AcceptedNumber("12, 12", 12),
        AcceptedNumber("12,12,012", 12),
    ]

    @Test(arguments: accepted)
    func exactValuesAreReadExactly(_ number: AcceptedNumber) throws {
        let bytes = post("Host: a", "Content-Length: \(number.text)", body: "x")
        for outcome in [parse(bytes), parseIncrementally(bytes, step: 7)] {
            #expect(outcome.error == nil, "\(String(describing: outcome.error))")
            let only = try #require(outcome.requests.first)
            #expect(only.framing == .length(number.value))
            #expect(only.bodyText == (number.value == 0 ? "" : "x"))
        }
    }

    static let refused: [String] = [
        // One past the accepted range, then every landmark of the integer types.
        "1000000000000000000",
        "9223372036854775807",   // Int.max
        "9223372036854775808",   // Int.max + 1
        "9223372036854775806",
        "18446744073709551615",  // UInt64.max
        "18446744073709551616",  // UInt64.max + 1
        "99999999999999999999",
        String(repeating: "9", count: 400),
        "1" + String(repeating: "0", count: 30),
        "00001000000000000000000",
        // Not decimal digits.
        "-1", "-0", "+5", "+0", "--5", "0x10", "0X10", "1e3", "1E3", "5.0", ".5", "5.", "1_000", "1'000",
        "５", "٥", "5\u{0660}", "inf", "NaN", "0b101", "0o7",
        // Not one number.
        "", " ", "1 0", "5\t5", ",", "5,", ",5", "5,,5", "5, 6", "5, -5", "5, +5", "12, 012, 13",
        "9223372036854775808, 9223372036854775808",
        "18446744073709551616, 0",
    ]

    @Test(arguments: refused)
    func malformedOrOversizedLengthsAre400(_ text: String) {
        expectRejection(post("Host: a", "Content-Length: \(text)", body: "x"), status: 400)
    }

    /// Two fields, each valid alone: a disagreement is 400 whatever the values.
    @Test(arguments: [("5", "6"), ("0", "999999999999999999"), ("999999999999999999", "999999999999999998"), ("7", "0007 , 8")])
    func disagreeingLengthsAre400(first: String, second: String) {
        expectRejection(post("Host: a", "Content-Length: \(first)", "Content-Length: \(second)"), status: 400)
    }

    @Test func agreeingLengthsSpelledDifferentlyAreOneLength() throws {
        let outcome = parse(post("Host: a", "Content-Length: 3", "Content-Length: 003", body: "abc"))
        #expect(try #require(outcome.requests.first).framing == .length(3))
        #expect(outcome.requests.first?.bodyText == "abc")
    }

    /// The parser trusts no declared length for memory: the largest one it accepts costs
    /// nothing until bytes arrive, and they are handed on as they come.
    @Test func theLargestAcceptedLengthIsStreamedNotReserved() {
        var feeder = ParserFeeder()
        feeder.feed(post("Host: a", "Content-Length: 999999999999999999", body: "abc"))
        feeder.feed(Array("def".utf8))
        #expect(feeder.outcome.error == nil)
        #expect(feeder.outcome.requests.first?.bodyText == "abcdef")
        #expect(feeder.outcome.requests.first?.ended == false)
        #expect(feeder.outcome.unconsumedBytes == 0)
    }
}

@Suite struct ChunkSizeValueTests {
    static let accepted: [AcceptedNumber] = [
        AcceptedNumber("1", 1),
        AcceptedNumber("0001", 1),
        AcceptedNumber("00000000000000000000000000001", 1),
        AcceptedNumber("A", 10),
        AcceptedNumber("a", 10),
        AcceptedNumber("1e3", 0x1E3),  // hex: "e" is a digit here
        // The largest accepted: 15 significant hex digits (2^60 - 1).
        AcceptedNumber("fffffffffffffff", 0xFFF_FFFF_FFFF_FFFF),
        AcceptedNumber("0fffffffffffffff", 0xFFF_FFFF_FFFF_FFFF),
        AcceptedNumber("100000000000000", 0x100_0000_0000_0000),
        AcceptedNumber(String(repeating: "0", count: 4_000) + "5", 5),
    ]

    /// A small size gets exactly its bytes and the last chunk; a large one gets a start of its
    /// data, which is handed on while the rest is awaited.
    @Test(arguments: accepted)
    func sizesAreReadExactly(_ size: AcceptedNumber) {
        let complete = size.value <= 16
        let data = complete ? String(repeating: "x", count: size.value) + "\r\n0\r\n\r\n" : "hello"
        let bytes = chunked("\(size.text)\r\n\(data)")
        for outcome in [parse(bytes), parseIncrementally(bytes, step: 5)] {
            #expect(outcome.error == nil, "\(String(describing: outcome.error))")
            #expect(outcome.requests.first?.bodyText == (complete ? String(repeating: "x", count: size.value) : "hello"))
            #expect(outcome.requests.first?.ended == complete)
        }
    }

    static let refused: [String] = [
        // One past the accepted range, then the integer types' landmarks in hex.
        "1000000000000000",
        "7fffffffffffffff",   // Int.max
        "8000000000000000",   // Int.max + 1
        "ffffffffffffffff",   // UInt64.max
        "10000000000000000",  // UInt64.max + 1
        String(repeating: "f", count: 40),
        "0001000000000000000",
        // Not hex digits, or not one size.
        "-1", "-0", "+1", "+0", "0x1", "0X1", "g", "1g", " 1", "1 ", "1\t", "1 1", "1.5", "١", "１", "",
        // A size line past its limit, even of zeros.
        String(repeating: "0", count: 4_100) + "1",
    ]

    /// The head is delivered (it was valid); the request never ends, and the answer is 400.
    static func expectBodyRejection(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        for outcome in [parse(bytes), parseIncrementally(bytes, step: 1)] {
            #expect(outcome.status == 400, "\(String(describing: outcome.error))", sourceLocation: sourceLocation)
            #expect(outcome.requests.count == 1 && outcome.requests.first?.ended == false, sourceLocation: sourceLocation)
            #expect(outcome.requests.first?.body.isEmpty == true, "no body byte before the refusal", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: refused)
    func malformedOrOversizedSizesAre400(_ size: String) {
        Self.expectBodyRejection(chunked("\(size)\r\nhello\r\n0\r\n\r\n"))
    }

    /// Chunk extensions are never read as numbers, however numeric they look.
    @Test(arguments: ["5;n=18446744073709551616", "5;n=-1", "5;len=99999999999999999999999", "5;n=0x10;m=+1", "5;\(String(repeating: "9", count: 3_000))"])
    func numericExtensionsAreSkipped(_ line: String) {
        let outcome = parse(chunked("\(line)\r\nhello\r\n0\r\n\r\n"))
        #expect(outcome.error == nil)
        #expect(outcome.requests.first?.bodyText == "hello")
        #expect(outcome.requests.first?.ended == true)
    }

    @Test func anExtensionPastTheLineLimitIs400() {
        Self.expectBodyRejection(chunked("5;n=\(String(repeating: "9", count: 4_100))\r\nhello\r\n0\r\n\r\n"))
    }

    /// Many chunks of the largest accepted size are each streamed; the sum is the server's to
    /// bound (413 past the route's body limit), and no sum is ever computed here to overflow.
    @Test func chunksOfTheLargestSizeFollowOneAnother() {
        var feeder = ParserFeeder()
        feeder.feed(chunked("fffffffffffffff\r\nabc"))
        #expect(feeder.outcome.error == nil)
        #expect(feeder.outcome.requests.first?.bodyText == "abc")
        #expect(feeder.outcome.requests.first?.ended == false)
    }
}

@Suite struct HTTPVersionValueTests {
    @Test(arguments: ["HTTP/1.0", "HTTP/1.1", "HTTP/1.9"])
    func oneDigitMinorsOfHTTP1AreAccepted(_ version: String) {
        #expect(parse(post("Host: a", "Content-Length: 0", version: version)).error == nil)
    }

    @Test(arguments: ["HTTP/1.10", "HTTP/1.01", "HTTP/01.1", "HTTP/1.-1", "HTTP/-1.1", "HTTP/+1.1", "HTTP/1.+1",
                      "HTTP/4294967297.1", "HTTP/1.4294967297", "HTTP/18446744073709551617.1", "HTTP/1.1.1", "HTTP/1",
                      "HTTP/1.", "HTTP/.1", "HTTP/1,1", "HTTP/１.1", "HTTP/1.１", "HTTP/1.x", "HTTP/x.1", "HTTP/ 1.1",
                      "HTTP/0x1.1", "http/1.1"])
    func malformedVersionsAre400(_ version: String) {
        expectRejection(post("Host: a", version: version), status: 400)
    }

    @Test(arguments: ["HTTP/0.9", "HTTP/2.0", "HTTP/9.9", "HTTP/0.0"])
    func wellFormedOtherVersionsAre505(_ version: String) {
        expectRejection(post("Host: a", version: version), status: 505)
    }
}

/// Cookie expiry dates reach HTTPDate from app code that may compute them from a client's
/// number: every `Int` formats without trapping, and the day boundaries below 1970 hold.
@Suite struct HTTPDateExtremeTests {
    @Test(arguments: [
        (Int.max, "Sun, 04 Dec 292277026596 15:30:07 GMT"),
        (253_402_300_799, "Fri, 31 Dec 9999 23:59:59 GMT"),
        (-86_401, "Tue, 30 Dec 1969 23:59:59 GMT"),
    ])
    func extremes(seconds: Int, expected: String) {
        #expect(HTTPDate.format(secondsSince1970: seconds) == expected)
    }

    @Test(arguments: [Int.min, Int.min + 1, Int.min + 86_399, Int.min + 86_400, -1, Int.max - 86_399])
    func everyIntFormats(seconds: Int) {
        let text = HTTPDate.format(secondsSince1970: seconds)
        #expect(text.hasSuffix(" GMT") && text.count >= 29, "\(text)")
    }
}
