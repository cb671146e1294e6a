import CourierHTTP
import CourierTesting
import Testing

/// Every number a client puts in a WebSocket frame or handshake, fed hostile values: each
/// length form at and past its limits, 64-bit lengths with the high bit set or beyond `Int.max`,
/// fragments adding up past the message limit, every close code. Nothing may trap or allocate
/// what the header merely claims: the outcome is a message or a close code (1002, 1007, 1009).
@Suite struct HostileLengthTests {
    typealias Message = WebSocketParser.Message
    static let text = WebSocketOpcode.text.rawValue
    static let binary = WebSocketOpcode.binary.rawValue
    static let continuation = WebSocketOpcode.continuation.rawValue
    static let close = WebSocketOpcode.close.rawValue
    static let ping = WebSocketOpcode.ping.rawValue
    static let mask: [UInt8] = [0x0F, 0xA5, 0x5A, 0xF0]

    enum LengthForm: Sendable { case sevenBit, sixteenBit, sixtyFourBit }

    /// A masked client frame whose header declares `declared` in exactly `form` (minimal or not),
    /// followed by whatever part of the payload is given.
    static func frame(_ opcode: UInt8, fin: Bool = true, declared: UInt64, form: LengthForm, payload: [UInt8] = []) -> [UInt8] {
        var bytes: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        switch form {
        case .sevenBit:
            bytes.append(0x80 | UInt8(truncatingIfNeeded: declared & 0x7F))
        case .sixteenBit:
            bytes += [0x80 | 126, UInt8(truncatingIfNeeded: declared >> 8), UInt8(truncatingIfNeeded: declared)]
        case .sixtyFourBit:
            bytes.append(0x80 | 127)
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: declared >> UInt64(shift))) }
        }
        bytes += mask
        for (index, byte) in payload.enumerated() { bytes.append(byte ^ mask[index & 3]) }
        return bytes
    }

    /// Feeds `bytes` whole and byte by byte; returns the messages or the close code.
    static func outcome(_ bytes: [UInt8], maxMessageBytes: Int = 64 * 1024, chunk: Int = .max,
                        deflate: PerMessageDeflate? = nil) -> Result<[Message], WebSocketProtocolError> {
        var parser = WebSocketParser(maxMessageBytes: maxMessageBytes, deflate: deflate)
        return Result { () throws(WebSocketProtocolError) in try WebSocketParserTests.parse(bytes, chunk: chunk, parser: &parser) }
    }

    static func expectCode(_ code: UInt16, _ bytes: [UInt8], maxMessageBytes: Int = 64 * 1024,
                           sourceLocation: SourceLocation = #_sourceLocation) {
        for chunk in [Int.max, 1] {
            switch outcome(bytes, maxMessageBytes: maxMessageBytes, chunk: chunk) {
            case .success(let messages):
                Issue.record("chunk \(chunk): accepted \(messages.count) messages, expected close \(code)", sourceLocation: sourceLocation)
            case .failure(let error):
                #expect(error.code == code, "chunk \(chunk): \(error)", sourceLocation: sourceLocation)
            }
        }
    }

    // MARK: Payload lengths

    @Test(arguments: [0, 1, 125])
    func sevenBitLengthsAtTheirEnds(length: Int) throws {
        let payload = [UInt8](repeating: 0x61, count: length)
        try WebSocketParserTests.expectMessages(Self.frame(Self.binary, declared: UInt64(length), form: .sevenBit, payload: payload),
                                                [.binary(payload)])
    }

    /// The 16-bit form's whole range, including values that fit seven bits (a longer form than
    /// needed is read by its value), and its top at and past the message limit.
    @Test(arguments: [0, 5, 125, 126, 65_535])
    func sixteenBitLengthsAreReadByValue(length: Int) throws {
        let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0) }
        let bytes = Self.frame(Self.binary, declared: UInt64(length), form: .sixteenBit, payload: payload)
        #expect(try Self.outcome(bytes, maxMessageBytes: 65_535).get() == [.binary(payload)])
        #expect(try Self.outcome(bytes, maxMessageBytes: 65_535, chunk: 1_000).get() == [.binary(payload)])
    }

    @Test func sixteenBitLengthOnePastTheLimitIs1009() {
        Self.expectCode(1009, Self.frame(Self.binary, declared: 65_535, form: .sixteenBit), maxMessageBytes: 65_534)
        Self.expectCode(1009, Self.frame(Self.text, declared: 101, form: .sixteenBit), maxMessageBytes: 100)
    }

    @Test(arguments: [UInt64(0), 5, 126, 65_536])
    func sixtyFourBitLengthsAreReadByValue(length: UInt64) throws {
        let payload = (0..<Int(length)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let bytes = Self.frame(Self.binary, declared: length, form: .sixtyFourBit, payload: payload)
        #expect(try Self.outcome(bytes, maxMessageBytes: 65_536).get() == [.binary(payload)])
    }

    /// RFC 6455 §5.2: the most significant bit of a 64-bit length MUST be 0.
    @Test(arguments: [UInt64(1) << 63, UInt64.max, UInt64.max - 1, (UInt64(1) << 63) | 5, 0xC000_0000_0000_0000])
    func sixtyFourBitLengthsWithTheHighBitSetAre1002(length: UInt64) {
        Self.expectCode(1002, Self.frame(Self.binary, declared: length, form: .sixtyFourBit))
        Self.expectCode(1002, Self.frame(Self.binary, declared: length, form: .sixtyFourBit), maxMessageBytes: .max)
    }

    /// Lengths no message may have fail on the header alone, with no payload sent.
    @Test(arguments: [UInt64(Int.max), UInt64(Int.max / 2) + 1, UInt64(Int.max / 2), UInt64(UInt32.max) + 1,
                      UInt64(UInt32.max), UInt64(1) << 40, 65_537])
    func lengthsBeyondTheLimitAre1009(length: UInt64) {
        Self.expectCode(1009, Self.frame(Self.binary, declared: length, form: .sixtyFourBit))
        Self.expectCode(1009, Self.frame(Self.text, declared: length, form: .sixtyFourBit))
    }

    /// An app may lift the limit to `Int.max`. A length past half of that is still refused, and
    /// one below it is only a claim: the parser reserves a bounded buffer and waits for bytes,
    /// rather than asking for the claimed size at once (an allocation that would fail and trap).
    @Test func anUnlimitedParserDoesNotReserveWhatAHeaderClaims() throws {
        Self.expectCode(1009, Self.frame(Self.binary, declared: UInt64(Int.max), form: .sixtyFourBit), maxMessageBytes: .max)
        Self.expectCode(1009, Self.frame(Self.binary, declared: UInt64(Int.max / 2) + 1, form: .sixtyFourBit), maxMessageBytes: .max)
        for claimed in [UInt64(Int.max / 2), UInt64(1) << 40, UInt64(UInt32.max)] {
            var parser = WebSocketParser(maxMessageBytes: .max)
            let start = Self.frame(Self.binary, declared: claimed, form: .sixtyFourBit, payload: Array("abc".utf8))
            #expect(try WebSocketParserTests.parse(start, parser: &parser).isEmpty)
            #expect(!parser.isIdle, "the frame's payload is still awaited")
        }
        // A continuation claiming nearly everything after a first fragment: no overflow either.
        var parser = WebSocketParser(maxMessageBytes: .max)
        let fragments = Self.frame(Self.text, fin: false, declared: 10, form: .sevenBit, payload: Array("0123456789".utf8))
            + Self.frame(Self.continuation, declared: UInt64(Int.max / 2), form: .sixtyFourBit, payload: Array("x".utf8))
        #expect(try WebSocketParserTests.parse(fragments, parser: &parser).isEmpty)
        var past = WebSocketParser(maxMessageBytes: .max)
        let pastFragments = Self.frame(Self.text, fin: false, declared: 10, form: .sevenBit, payload: Array("0123456789".utf8))
            + Self.frame(Self.continuation, declared: UInt64(Int.max) - 5, form: .sixtyFourBit)
        let error = #expect(throws: WebSocketProtocolError.self) { _ = try WebSocketParserTests.parse(pastFragments, parser: &past) }
        #expect(error?.code == 1009)
    }

    // MARK: The sum of fragments

    static func fragments(_ sizes: [Int], opcode: UInt8 = HostileLengthTests.text) -> [UInt8] {
        var bytes: [UInt8] = []
        for (index, size) in sizes.enumerated() {
            bytes += ClientFrame.encode(index == 0 ? opcode : Self.continuation, [UInt8](repeating: 0x61, count: size),
                                        fin: index == sizes.count - 1)
        }
        return bytes
    }

    @Test(arguments: [[100], [60, 40], [0, 100], [100, 0, 0], [1, 1, 98], [50, 0, 50]])
    func fragmentsAddingUpToExactlyTheLimitAreOneMessage(sizes: [Int]) throws {
        let result = try Self.outcome(Self.fragments(sizes), maxMessageBytes: 100).get()
        #expect(result == [.text(String(repeating: "a", count: 100))])
    }

    @Test(arguments: [[101], [60, 41], [0, 101], [100, 1], [100, 0, 1], [99, 1, 1], [1, 1, 99]])
    func fragmentsAddingUpToOnePastTheLimitAre1009(sizes: [Int]) {
        Self.expectCode(1009, Self.fragments(sizes), maxMessageBytes: 100)
        Self.expectCode(1009, Self.fragments(sizes, opcode: Self.binary), maxMessageBytes: 100)
    }

    @Test func oneByteFragmentsCountOneByOne() throws {
        #expect(try Self.outcome(Self.fragments(Array(repeating: 1, count: 100)), maxMessageBytes: 100).get()
                == [.text(String(repeating: "a", count: 100))])
        Self.expectCode(1009, Self.fragments(Array(repeating: 1, count: 101)), maxMessageBytes: 100)
    }

    /// A huge continuation after some bytes is refused on its header, whatever it claims.
    @Test(arguments: [UInt64(41), 65_536, UInt64(Int.max / 2), UInt64(Int.max)])
    func aHugeContinuationIs1009(claimed: UInt64) {
        let bytes = ClientFrame.encode(Self.binary, [UInt8](repeating: 1, count: 60), fin: false)
            + Self.frame(Self.continuation, declared: claimed, form: .sixtyFourBit)
        Self.expectCode(1009, bytes, maxMessageBytes: 100)
    }

    /// Control frames between fragments are not part of the message's size.
    @Test func controlFramesBetweenFragmentsDoNotCount() throws {
        let bytes = ClientFrame.encode(Self.binary, [UInt8](repeating: 1, count: 60), fin: false)
            + ClientFrame.encode(Self.ping, [UInt8](repeating: 2, count: 125))
            + ClientFrame.encode(Self.continuation, [UInt8](repeating: 1, count: 40))
        #expect(try Self.outcome(bytes, maxMessageBytes: 100).get() == [.ping([UInt8](repeating: 2, count: 125)),
                                                                        .binary([UInt8](repeating: 1, count: 100))])
    }

    /// Many tiny fragments of a large message are joined without copying the message per frame
    /// (the buffer grows by doubling): 20,000 one-byte fragments of a 20,000-byte limit.
    @Test func manyTinyFragmentsAreJoined() throws {
        let bytes = Self.fragments(Array(repeating: 1, count: 20_000), opcode: Self.binary)
        #expect(try Self.outcome(bytes, maxMessageBytes: 20_000).get() == [.binary([UInt8](repeating: 0x61, count: 20_000))])
        Self.expectCode(1009, Self.fragments(Array(repeating: 1, count: 20_001)), maxMessageBytes: 20_000)
    }

    /// Compressed, the limit applies to the inflated size: a small frame that inflates past it
    /// is 1009 (a deflate bomb), one that inflates to exactly the limit is a message.
    @Test func inflatedSizeIsLimited() throws {
        let zeros = [UInt8](repeating: 0, count: 100_000)
        let compressed = PerMessageDeflate(parameters: PerMessageDeflateParameters()).compress(zeros)
        #expect(compressed.count < 1_000)
        let frame = ClientFrame.encode(Self.binary, compressed, rsv1: true)
        let atLimit = Self.outcome(frame, maxMessageBytes: 100_000, deflate: PerMessageDeflate(parameters: PerMessageDeflateParameters()))
        #expect(try atLimit.get() == [.binary(zeros)])
        let over = Self.outcome(frame, maxMessageBytes: 99_999, deflate: PerMessageDeflate(parameters: PerMessageDeflateParameters()))
        #expect(throws: WebSocketProtocolError.self) { try over.get() }
        if case .failure(let error) = over { #expect(error.code == 1009) }
    }

    // MARK: Control frames

    /// A control frame's length must fit seven bits (at most 125), whatever form claims it.
    @Test(arguments: [(LengthForm.sixteenBit, UInt64(5)), (.sixteenBit, 125), (.sixteenBit, 65_535),
                      (.sixtyFourBit, 0), (.sixtyFourBit, UInt64.max), (.sixtyFourBit, UInt64(Int.max))])
    func controlFrameLengthsInALongerFormAre1002(form: LengthForm, length: UInt64) {
        for opcode in [Self.ping, Self.close, WebSocketOpcode.pong.rawValue] {
            Self.expectCode(1002, Self.frame(opcode, declared: length, form: form))
        }
    }

    /// Every close code a client could send: the valid ones (RFC 6455 §7.4, IANA 1012-1014) come
    /// through, every other (0-999, 1004-1006, 1015, 1016-2999, 5000-65535) is 1002.
    @Test func everyCloseCode() throws {
        var wronglyAccepted: [UInt16] = [], wronglyRefused: [UInt16] = []
        for code in UInt16.min...UInt16.max {
            let valid = (1000...1003).contains(code) || (1007...1014).contains(code) || (3000...4999).contains(code)
            let result = Self.outcome(ClientFrame.encode(Self.close, [UInt8(code >> 8), UInt8(code & 0xFF)]))
            switch result {
            case .success(let messages):
                if !valid || messages != [.close(code: code, reason: "")] { wronglyAccepted.append(code) }
            case .failure(let error):
                if valid || error.code != 1002 { wronglyRefused.append(code) }
            }
        }
        #expect(wronglyAccepted.isEmpty, "accepted: \(wronglyAccepted.prefix(20))")
        #expect(wronglyRefused.isEmpty, "refused or wrong code: \(wronglyRefused.prefix(20))")
    }

    @Test(arguments: [UInt8(0x00), 0x03, 0xE8, 0xFF])
    func aOneByteClosePayloadIs1002(byte: UInt8) {
        Self.expectCode(1002, ClientFrame.encode(Self.close, [byte]))
    }

    @Test func closeReasonsAtTheirLimits() throws {
        let longest = String(repeating: "r", count: 123)
        try WebSocketParserTests.expectMessages(ClientFrame.encode(Self.close, [0x03, 0xE8] + Array(longest.utf8)),
                                                [.close(code: 1000, reason: longest)])
        Self.expectCode(1002, ClientFrame.encode(Self.close, [0x03, 0xE8] + Array(String(repeating: "r", count: 124).utf8)))
        Self.expectCode(1007, ClientFrame.encode(Self.close, [0x0F, 0xA0, 0xC0, 0x80]))
    }
}

/// The handshake's one number: Sec-WebSocket-Version must be exactly 13, never a value that
/// parses or wraps to it.
@Suite struct HandshakeVersionValueTests {
    static func head(version: String?) -> HTTPRequestHead {
        var headers: HTTPHeaders = ["Host": "a", "Upgrade": "websocket", "Connection": "Upgrade",
                                    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="]
        if let version { headers.add("Sec-WebSocket-Version", version) }
        return HTTPRequestHead(method: .get, target: "/", version: .http1_1, headers: headers)
    }

    @Test(arguments: ["13", " 13", "13\t"])
    func thirteenIsAccepted(_ version: String) throws {
        #expect(throws: Never.self) { _ = try WebSocketHandshake.validate(Self.head(version: version)) }
    }

    @Test(arguments: ["013", "+13", "-13", "13.0", "1e1", "0xD", "0x0D", "D", "4294967309", "18446744073709551629",
                      "9223372036854775821", "1 3", "13, 13", "13,8", "", "12", "14", "8", "0", "-0", "１３", "13a"])
    func anyOtherValueIs426(_ version: String) {
        let refusal = #expect(throws: WebSocketHandshake.Refusal.self) { _ = try WebSocketHandshake.validate(Self.head(version: version)) }
        #expect(refusal?.status.code == 426)
        #expect(refusal?.headers["Sec-WebSocket-Version"] == "13")
    }

    @Test func aMissingOrRepeatedVersionIs426() {
        for head in [Self.head(version: nil), { var twice = Self.head(version: "13"); twice.headers.add("Sec-WebSocket-Version", "13"); return twice }()] {
            let refusal = #expect(throws: WebSocketHandshake.Refusal.self) { _ = try WebSocketHandshake.validate(head) }
            #expect(refusal?.status.code == 426)
        }
    }
}

/// RFC 7692 §7.1.2: `server_max_window_bits` and `client_max_window_bits` are decimal integers
/// 8-15 (9-15 for the server's: zlib cannot honour 8) with no leading zeros. Any other value
/// declines the offer (the connection goes on without compression); none may trap.
@Suite struct DeflateWindowBitsValueTests {
    static func negotiate(_ offer: String) -> PerMessageDeflateParameters? {
        PerMessageDeflateParameters.negotiate(offers: [offer])
    }

    @Test(arguments: [("9", 9), ("15", 15), ("\"9\"", 9), ("\"15\"", 15), ("12", 12)])
    func serverWindowBitsInRangeAreHonoured(value: String, bits: Int) throws {
        let accepted = try #require(Self.negotiate("permessage-deflate; server_max_window_bits=\(value)"))
        #expect(accepted.serverMaxWindowBits == bits)
        #expect(accepted.responseHeaderValue == "permessage-deflate; server_max_window_bits=\(bits)")
    }

    static let outOfRange = ["8", "16", "0", "00", "09", "015", "-9", "-15", "-0", "7", "255", "256", "65545",
                             "4294967305", "18446744073709551615", "18446744073709551616", "9223372036854775807",
                             "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
                             String(repeating: "9", count: 100), "0x9", "0xF", "9.0", "1e1", "９", "", "\"\"", "\"",
                             "\"9", "9\"", "\"0x9\"", "\"09\"", "nine", "9 9", "\"1\"5"]

    @Test(arguments: outOfRange)
    func serverWindowBitsOutOfRangeDecline(value: String) {
        #expect(Self.negotiate("permessage-deflate; server_max_window_bits=\(value)") == nil)
    }

    @Test(arguments: ["", "=8", "=15", "=\"8\"", "=10"])
    func clientWindowBitsInRangeAreAccepted(suffix: String) {
        #expect(Self.negotiate("permessage-deflate; client_max_window_bits\(suffix)") != nil)
    }

    @Test(arguments: outOfRange.filter { $0 != "8" && !$0.isEmpty })
    func clientWindowBitsOutOfRangeDecline(value: String) {
        #expect(Self.negotiate("permessage-deflate; client_max_window_bits=\(value)") == nil)
    }

    /// A sign is not part of RFC 7692's `1*DIGIT` (`Int("+9")` reads 9), and
    /// `client_max_window_bits=` with nothing after the "=" is a malformed value, not an absent one.
    @Test(arguments: ["server_max_window_bits=+9", "server_max_window_bits=+15", "server_max_window_bits=\"+12\"",
                      "client_max_window_bits=+8", "client_max_window_bits=+15", "client_max_window_bits=",
                      "server_max_window_bits=", "client_max_window_bits=\"\""])
    func signedOrEmptyWindowBitsDecline(parameter: String) {
        #expect(Self.negotiate("permessage-deflate; \(parameter)") == nil)
    }
}
