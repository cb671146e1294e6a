import CourierTesting
import Courier
import Testing

/// Frames a server must refuse: the client sees a close frame with the right code, then the
/// TCP connection ends, and the app's onClose gets the same code.
@Suite struct ProtocolViolationTests {
    static let text = WebSocketOpcode.text.rawValue
    static let binary = WebSocketOpcode.binary.rawValue
    static let continuation = WebSocketOpcode.continuation.rawValue

    /// Sends `bytes` and expects a close frame with `code`, the TCP close, and `code` in onClose.
    static func expectFailure(_ code: UInt16, configuration: WebSocketConfiguration = WebSocketConfiguration(),
                              headers: [String] = [], sourceLocation: SourceLocation = #_sourceLocation,
                              sending send: (WebSocketTestClient) -> Void) async throws {
        let server = EchoServer(configuration: configuration)
        try await withServer(server.app) { http in
            let client = try WebSocketTestClient(port: http.port, headers: headers)
            send(client)
            let close = await client.readUntilCloseFrame()
            #expect(close?.close?.code == code, sourceLocation: sourceLocation)
            #expect(await client.waitForTCPClose(), "the server closes TCP after failing the connection", sourceLocation: sourceLocation)
            #expect(await server.closes.wait()?.code == code, sourceLocation: sourceLocation)
        }
    }

    @Test func messageOverMaxMessageBytesIs1009() async throws {
        let configuration = WebSocketConfiguration(maxMessageBytes: 1_000)
        let server = EchoServer(configuration: configuration)
        try await withServer(server.app) { http in
            let client = try WebSocketTestClient(port: http.port)
            client.sendBinary([UInt8](repeating: 1, count: 1_000))
            #expect(try await client.readFrame().payload.count == 1_000, "exactly the limit is accepted")
        }
        try await Self.expectFailure(1009, configuration: configuration) { $0.sendBinary([UInt8](repeating: 1, count: 1_001)) }
    }

    /// The limit is on the message, so fragments that add up past it fail too.
    @Test func fragmentsAddingUpPastTheLimitAre1009() async throws {
        try await Self.expectFailure(1009, configuration: WebSocketConfiguration(maxMessageBytes: 1_000)) { client in
            client.send(Self.text, Array(repeating: UInt8(ascii: "a"), count: 600), fin: false)
            client.send(Self.continuation, Array(repeating: UInt8(ascii: "a"), count: 600), fin: true)
        }
    }

    /// A huge declared length fails at the header, before the server waits for the payload.
    @Test func hugeDeclaredLengthIs1009Immediately() async throws {
        try await Self.expectFailure(1009) { client in
            var header: [UInt8] = [0x82, 0x80 | 127]
            for shift in stride(from: 56, through: 0, by: -8) { header.append(UInt8((1 << 40) >> shift & 0xFF)) }
            client.send(header + [1, 2, 3, 4])
        }
    }

    @Test func invalidUTF8Is1007() async throws {
        try await Self.expectFailure(1007) { $0.send(Self.text, [0x61, 0xC3, 0x28]) }
    }

    @Test func textEndingInsideACodePointIs1007() async throws {
        try await Self.expectFailure(1007) { $0.send(Self.text, [0x61, 0xE2, 0x82]) }
    }

    /// Validation runs as bytes arrive: a bad first fragment fails before the message ends.
    @Test func invalidUTF8InAFirstFragmentFailsBeforeTheMessageEnds() async throws {
        try await Self.expectFailure(1007) { $0.send(Self.text, [0xED, 0xA0, 0x80], fin: false) }
    }

    @Test func closeReasonThatIsNotUTF8Is1007() async throws {
        try await Self.expectFailure(1007) { $0.send(WebSocketOpcode.close.rawValue, [0x03, 0xE8, 0xFF]) }
    }

    @Test func unmaskedClientFrameIs1002() async throws {
        try await Self.expectFailure(1002) { $0.send(Self.text, Array("hi".utf8), masked: false) }
    }

    @Test(arguments: [UInt8(0x3), 0x7, 0xB, 0xF])
    func reservedOpcodeIs1002(opcode: UInt8) async throws {
        try await Self.expectFailure(1002) { $0.send(opcode, [1]) }
    }

    @Test func rsv1WithoutNegotiatedCompressionIs1002() async throws {
        try await Self.expectFailure(1002) { $0.send(Self.text, Array("hi".utf8), rsv1: true) }
    }

    @Test func rsv2Is1002() async throws {
        try await Self.expectFailure(1002) { $0.send(ClientFrame.encode(Self.text, [0x61], rsv2: true)) }
    }

    @Test func continuationWithoutAMessageIs1002() async throws {
        try await Self.expectFailure(1002) { $0.send(Self.continuation, Array("lost".utf8)) }
    }

    @Test func newMessageInsideAFragmentedOneIs1002() async throws {
        try await Self.expectFailure(1002) { client in
            client.send(Self.text, Array("a".utf8), fin: false)
            client.send(Self.binary, [1])
        }
    }

    @Test func fragmentedPingIs1002() async throws {
        try await Self.expectFailure(1002) { $0.send(WebSocketOpcode.ping.rawValue, [1], fin: false) }
    }

    @Test func pingOver125BytesIs1002() async throws {
        try await Self.expectFailure(1002) { $0.send(WebSocketOpcode.ping.rawValue, [UInt8](repeating: 0, count: 126)) }
    }

    @Test func oneByteClosePayloadIs1002() async throws {
        try await Self.expectFailure(1002) { $0.send(WebSocketOpcode.close.rawValue, [0x03]) }
    }

    @Test func nothingIsDeliveredAfterAFailure() async throws {
        let server = EchoServer()
        try await withServer(server.app) { http in
            let client = try WebSocketTestClient(port: http.port)
            client.send(ClientFrame.encode(Self.text, Array("bad".utf8), masked: false) + ClientFrame.text("after"))
            #expect(await client.readUntilCloseFrame()?.close?.code == 1002)
            #expect(await client.waitForTCPClose())
            #expect(server.texts.all.isEmpty)
        }
    }
}
