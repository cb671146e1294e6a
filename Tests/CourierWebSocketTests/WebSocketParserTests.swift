import CourierTesting
import CourierHTTP
import Testing

/// The frame parser without sockets: every input is also fed in small pieces, as TCP may split it.
@Suite struct WebSocketParserTests {
    typealias Message = WebSocketParser.Message
    static let text = WebSocketOpcode.text.rawValue
    static let binary = WebSocketOpcode.binary.rawValue
    static let continuation = WebSocketOpcode.continuation.rawValue
    static let close = WebSocketOpcode.close.rawValue
    static let ping = WebSocketOpcode.ping.rawValue
    static let pong = WebSocketOpcode.pong.rawValue

    /// Feeds `bytes` `chunk` bytes at a time, keeping unconsumed input as a server does.
    static func parse(_ bytes: [UInt8], chunk: Int = Int.max, parser: inout WebSocketParser) throws(WebSocketProtocolError) -> [Message] {
        var messages: [Message] = []
        var pending: [UInt8] = []
        var offset = 0
        while offset < bytes.count {
            let end = offset + min(chunk, bytes.count - offset)
            pending += bytes[offset..<end]
            offset = end
            while true {
                let step = try pending.withUnsafeBytes { raw in
                    Result { () throws(WebSocketProtocolError) in try parser.next(raw) }
                }.get()
                pending.removeFirst(step.consumed)
                if let message = step.message { messages.append(message) }
                if step.consumed == 0 && step.message == nil { break }
            }
        }
        return messages
    }

    static func parse(_ bytes: [UInt8], chunk: Int = Int.max, maxMessageBytes: Int = 64 * 1024) throws(WebSocketProtocolError) -> [Message] {
        var parser = WebSocketParser(maxMessageBytes: maxMessageBytes)
        return try parse(bytes, chunk: chunk, parser: &parser)
    }

    /// The same messages whether the input arrives whole, byte by byte, or in 3- and 7-byte pieces.
    static func expectMessages(_ bytes: [UInt8], _ expected: [Message], sourceLocation: SourceLocation = #_sourceLocation) throws {
        for chunk in [Int.max, 1, 3, 7] {
            #expect(try parse(bytes, chunk: chunk) == expected, "chunk \(chunk)", sourceLocation: sourceLocation)
        }
    }

    static func expectError(_ code: UInt16, _ bytes: [UInt8], maxMessageBytes: Int = 64 * 1024,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        for chunk in [Int.max, 1] {
            let error = #expect(throws: WebSocketProtocolError.self, "chunk \(chunk)", sourceLocation: sourceLocation) {
                _ = try parse(bytes, chunk: chunk, maxMessageBytes: maxMessageBytes)
            }
            #expect(error?.code == code, "chunk \(chunk): \(String(describing: error))", sourceLocation: sourceLocation)
        }
    }

    @Test func singleFramesOfEachKind() throws {
        try Self.expectMessages(ClientFrame.encode(Self.text, Array("héllo".utf8)), [.text("héllo")])
        try Self.expectMessages(ClientFrame.encode(Self.binary, [0, 255]), [.binary([0, 255])])
        try Self.expectMessages(ClientFrame.encode(Self.text, []), [.text("")])
        try Self.expectMessages(ClientFrame.encode(Self.ping, [1, 2]), [.ping([1, 2])])
        try Self.expectMessages(ClientFrame.encode(Self.pong, []), [.pong([])])
        try Self.expectMessages(ClientFrame.encode(Self.close, []), [.close(code: nil, reason: "")])
        try Self.expectMessages(ClientFrame.encode(Self.close, [0x03, 0xE8] + Array("bye".utf8)), [.close(code: 1000, reason: "bye")])
    }

    @Test(arguments: [125, 126, 127, 65_535, 65_536, 100_000])
    func lengthForms(size: Int) throws {
        let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0) }
        let frame = ClientFrame.encode(Self.binary, payload)
        #expect(try Self.parse(frame, maxMessageBytes: 200_000) == [.binary(payload)])
        #expect(try Self.parse(frame, chunk: 1_000, maxMessageBytes: 200_000) == [.binary(payload)])
    }

    @Test func severalFramesInOneRead() throws {
        let bytes = ClientFrame.text("a") + ClientFrame.encode(Self.ping, [1]) + ClientFrame.encode(Self.binary, [2])
        try Self.expectMessages(bytes, [.text("a"), .ping([1]), .binary([2])])
    }

    @Test func fragmentsWithControlFramesBetween() throws {
        let bytes = ClientFrame.encode(Self.text, Array("Hel".utf8), fin: false)
            + ClientFrame.encode(Self.ping, Array("p".utf8))
            + ClientFrame.encode(Self.continuation, [], fin: false)
            + ClientFrame.encode(Self.pong, [])
            + ClientFrame.encode(Self.continuation, Array("lo".utf8), fin: true)
        try Self.expectMessages(bytes, [.ping(Array("p".utf8)), .pong([]), .text("Hello")])
    }

    @Test func codePointSplitAcrossFragments() throws {
        let emoji = Array("😀".utf8)
        let bytes = ClientFrame.encode(Self.text, [emoji[0]], fin: false)
            + ClientFrame.encode(Self.continuation, [emoji[1], emoji[2]], fin: false)
            + ClientFrame.encode(Self.continuation, [emoji[3]], fin: true)
        try Self.expectMessages(bytes, [.text("😀")])
    }

    @Test func idleOnlyBetweenMessages() throws {
        var parser = WebSocketParser()
        #expect(parser.isIdle)
        _ = try Self.parse(ClientFrame.encode(Self.text, Array("a".utf8), fin: false), parser: &parser)
        #expect(!parser.isIdle)
        _ = try Self.parse(Array(ClientFrame.encode(Self.continuation, Array("bc".utf8)).prefix(4)), parser: &parser)
        #expect(!parser.isIdle)
        var rest = WebSocketParser()
        #expect(try Self.parse(ClientFrame.text("x"), parser: &rest) == [.text("x")])
        #expect(rest.isIdle)
    }

    @Test func parserCarriesOnAfterAMessage() throws {
        var parser = WebSocketParser()
        #expect(try Self.parse(ClientFrame.encode(Self.text, [0xE2, 0x82, 0xAC]), parser: &parser) == [.text("€")])
        #expect(try Self.parse(ClientFrame.encode(Self.binary, [1]), parser: &parser) == [.binary([1])])
        #expect(try Self.parse(ClientFrame.text("again"), parser: &parser) == [.text("again")])
    }

    @Test func protocolErrorsAre1002() {
        Self.expectError(1002, ClientFrame.encode(Self.text, [0x61], masked: false))
        Self.expectError(1002, ClientFrame.encode(Self.text, [0x61], rsv2: true))
        Self.expectError(1002, ClientFrame.encode(Self.text, [0x61], rsv1: true))
        for reserved: UInt8 in [0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF] {
            Self.expectError(1002, ClientFrame.encode(reserved, []))
        }
        Self.expectError(1002, ClientFrame.encode(Self.ping, [], fin: false))
        Self.expectError(1002, ClientFrame.encode(Self.ping, [UInt8](repeating: 0, count: 126)))
        Self.expectError(1002, ClientFrame.encode(Self.close, [UInt8](repeating: 0x41, count: 126)))
        Self.expectError(1002, ClientFrame.encode(Self.ping, [], rsv1: true))
        Self.expectError(1002, ClientFrame.encode(Self.continuation, [0x61]))
        Self.expectError(1002, ClientFrame.encode(Self.text, [0x61], fin: false) + ClientFrame.encode(Self.text, [0x62]))
        Self.expectError(1002, ClientFrame.encode(Self.text, [0x61], fin: false) + ClientFrame.encode(Self.continuation, [0x62], rsv1: true))
        Self.expectError(1002, ClientFrame.encode(Self.close, [0x03]))
        // A 64-bit length with its most significant bit set.
        Self.expectError(1002, [0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0])
    }

    @Test(arguments: [UInt16(0), 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535])
    func invalidCloseCodesAre1002(code: UInt16) {
        Self.expectError(1002, ClientFrame.encode(Self.close, [UInt8(code >> 8), UInt8(code & 0xFF)]))
    }

    @Test(arguments: [UInt16(1000), 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999])
    func validCloseCodes(code: UInt16) throws {
        try Self.expectMessages(ClientFrame.encode(Self.close, [UInt8(code >> 8), UInt8(code & 0xFF)]), [.close(code: code, reason: "")])
    }

    @Test func sizeLimitIs1009() throws {
        #expect(try Self.parse(ClientFrame.encode(Self.binary, [UInt8](repeating: 0, count: 100)), maxMessageBytes: 100).count == 1)
        Self.expectError(1009, ClientFrame.encode(Self.binary, [UInt8](repeating: 0, count: 101)), maxMessageBytes: 100)
        Self.expectError(1009, ClientFrame.encode(Self.text, [UInt8](repeating: 0x61, count: 60), fin: false)
            + ClientFrame.encode(Self.continuation, [UInt8](repeating: 0x61, count: 41)), maxMessageBytes: 100)
        // Fails on the header alone: no payload needed.
        Self.expectError(1009, [0x82, 0xFF, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4])
        Self.expectError(1009, [0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4])
    }

    @Test func invalidUTF8Is1007() {
        Self.expectError(1007, ClientFrame.encode(Self.text, [0xC3, 0x28]))
        Self.expectError(1007, ClientFrame.encode(Self.text, [0xE2, 0x82]))
        Self.expectError(1007, ClientFrame.encode(Self.text, [0xED, 0xA0, 0x80]))
        Self.expectError(1007, ClientFrame.encode(Self.text, [0xE2], fin: false) + ClientFrame.encode(Self.continuation, [0x82]))
        Self.expectError(1007, ClientFrame.encode(Self.close, [0x03, 0xE8, 0xC0, 0xAF]))
    }

    @Test func invalidUTF8FailsBeforeTheMessageEnds() {
        var parser = WebSocketParser()
        let error = #expect(throws: WebSocketProtocolError.self) {
            _ = try Self.parse(ClientFrame.encode(Self.text, [0x61, 0xFF], fin: false), parser: &parser)
        }
        #expect(error?.code == 1007)
        // And within a frame, before its payload is complete.
        var partial = WebSocketParser()
        let frame = ClientFrame.encode(Self.text, [0x61, 0xFF] + [UInt8](repeating: 0x61, count: 100))
        let partialError = #expect(throws: WebSocketProtocolError.self) { _ = try Self.parse(Array(frame.prefix(10)), parser: &partial) }
        #expect(partialError?.code == 1007)
    }

    @Test func binaryIsNotValidatedAsUTF8() throws {
        try Self.expectMessages(ClientFrame.encode(Self.binary, [0xFF, 0xC3, 0x28]), [.binary([0xFF, 0xC3, 0x28])])
    }

    @Test func compressedMessagesAreInflated() throws {
        let deflate = PerMessageDeflate(parameters: PerMessageDeflateParameters())
        var parser = WebSocketParser(deflate: deflate)
        let hello: [UInt8] = [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]
        #expect(try Self.parse(ClientFrame.encode(Self.text, hello, rsv1: true), parser: &parser) == [.text("Hello")])
        // The second "Hello" of RFC 7692 §7.2.3.2 refers back to the first (context takeover).
        let again: [UInt8] = [0xF2, 0x00, 0x11, 0x00, 0x00]
        #expect(try Self.parse(ClientFrame.encode(Self.text, again, rsv1: true), parser: &parser) == [.text("Hello")])
        let fragmented = ClientFrame.encode(Self.binary, Array(hello[..<2]), fin: false, rsv1: true)
            + ClientFrame.encode(Self.continuation, Array(hello[2...]))
        var fresh = WebSocketParser(deflate: PerMessageDeflate(parameters: PerMessageDeflateParameters()))
        #expect(try Self.parse(fragmented, chunk: 1, parser: &fresh) == [.binary(Array("Hello".utf8))])
    }
}
