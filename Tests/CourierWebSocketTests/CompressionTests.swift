import CourierTesting
import Courier
import Testing

/// permessage-deflate over a real socket (RFC 7692).
@Suite struct CompressionTests {
    static let text = WebSocketOpcode.text.rawValue
    static let offer = ["Sec-WebSocket-Extensions: permessage-deflate"]
    /// "Hello" compressed, from RFC 7692 §7.2.3.1.
    static let helloCompressed: [UInt8] = [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]

    @Test func compressedMessagesAreInflatedAndLargeRepliesAreCompressed() async throws {
        let server = EchoServer()
        try await withServer(server.app) { http in
            let client = try WebSocketTestClient(port: http.port, headers: Self.offer)
            // By default no LZ77 window outlives a message, in either direction, whatever the
            // offer said: the loop's connections share one pair of zlib streams.
            #expect(client.headers["Sec-WebSocket-Extensions"]
                    == "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
            client.send(Self.text, Self.helloCompressed, rsv1: true)
            #expect(try await client.readFrame() == ServerFrame(fin: true, rsv1: false, opcode: Self.text, payload: Array("Hello".utf8)),
                    "short replies go uncompressed")
            var fresh = PerMessageDeflateParameters()
            fresh.serverNoContextTakeover = true
            fresh.clientNoContextTakeover = true
            try await Self.roundTrips(client, compressingWith: PerMessageDeflate(parameters: fresh),
                                      inflatingWith: PerMessageDeflate(parameters: fresh))
        }
    }

    @Test func aConfiguredContextTakeoverKeepsEachConnectionsWindow() async throws {
        let server = EchoServer(configuration: WebSocketConfiguration(compressionContextTakeover: true))
        try await withServer(server.app) { http in
            let client = try WebSocketTestClient(port: http.port, headers: Self.offer)
            #expect(client.headers["Sec-WebSocket-Extensions"] == "permessage-deflate")
            // Both directions keep their LZ77 context across messages (no *_no_context_takeover).
            try await Self.roundTrips(client, compressingWith: PerMessageDeflate(parameters: PerMessageDeflateParameters()),
                                      inflatingWith: PerMessageDeflate(parameters: PerMessageDeflateParameters()))
        }
    }

    /// Three long compressed messages echoed compressed, then a plain one.
    private static func roundTrips(_ client: WebSocketTestClient, compressingWith clientDeflate: PerMessageDeflate,
                                   inflatingWith serverInflate: PerMessageDeflate) async throws {
        for round in 0..<3 {
            let message = String(repeating: "round \(round) of a compressible message; ", count: 40)
            client.send(Self.text, clientDeflate.compress(Array(message.utf8)), rsv1: true)
            let reply = try await client.readFrame()
            #expect(reply.rsv1, "a long reply is compressed")
            #expect(reply.payload.count < message.utf8.count / 4)
            #expect(try serverInflate.decompress(reply.payload, limit: 1 << 20) == Array(message.utf8))
        }
        // Uncompressed messages stay legal on a compressed connection.
        client.sendText("plain")
        #expect(try await client.readFrame().text == "plain")
    }

    /// Connections of one loop take turns with its zlib streams: interleaved messages, a
    /// corrupt one among them, never bleed into each other.
    @Test func connectionsSharingTheLoopsStreamsStayIndependent() async throws {
        let server = EchoServer()
        try await withServer(server.app) { http in
            let clients = try (0..<3).map { _ in try WebSocketTestClient(port: http.port, headers: Self.offer) }
            var fresh = PerMessageDeflateParameters()
            fresh.serverNoContextTakeover = true
            fresh.clientNoContextTakeover = true
            let codec = PerMessageDeflate(parameters: fresh)
            let broken = try WebSocketTestClient(port: http.port, headers: Self.offer)
            broken.send(Self.text, Array(codec.compress(Array(String(repeating: "half a message ", count: 20).utf8)).prefix(9)), rsv1: true)
            for round in 0..<4 {
                for (index, client) in clients.enumerated() {
                    let message = String(repeating: "client \(index) round \(round) ", count: 30)
                    client.send(Self.text, codec.compress(Array(message.utf8)), rsv1: true)
                }
                for (index, client) in clients.enumerated() {
                    let reply = try await client.readFrame()
                    #expect(reply.rsv1)
                    #expect(try codec.decompress(reply.payload, limit: 1 << 20)
                            == Array(String(repeating: "client \(index) round \(round) ", count: 30).utf8))
                }
            }
        }
    }

    @Test func compressedMessageMayBeFragmentedWithRSV1OnTheFirstFrameOnly() async throws {
        let server = EchoServer()
        try await withServer(server.app) { http in
            let client = try WebSocketTestClient(port: http.port, headers: Self.offer)
            client.send(Self.text, Array(Self.helloCompressed[..<3]), fin: false, rsv1: true)
            client.send(WebSocketOpcode.ping.rawValue, [1])
            client.send(WebSocketOpcode.continuation.rawValue, Array(Self.helloCompressed[3...]), fin: true)
            #expect(try await client.readFrame().opcode == WebSocketOpcode.pong.rawValue)
            #expect(try await client.readFrame().text == "Hello")
        }
    }

    /// A small frame that inflates past maxMessageBytes (a "zip bomb") fails with 1009.
    @Test func inflatingPastTheLimitIs1009() async throws {
        try await ProtocolViolationTests.expectFailure(1009, configuration: WebSocketConfiguration(maxMessageBytes: 10_000), headers: Self.offer) { client in
            let bomb = PerMessageDeflate(parameters: PerMessageDeflateParameters())
                .compress([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))
            #expect(bomb.count < 10_000)
            client.send(Self.text, bomb, rsv1: true)
        }
    }

    @Test func compressedTextThatIsNotUTF8Is1007() async throws {
        try await ProtocolViolationTests.expectFailure(1007, headers: Self.offer) { client in
            let bad = PerMessageDeflate(parameters: PerMessageDeflateParameters()).compress([0x61, 0xFF, 0x62])
            client.send(Self.text, bad, rsv1: true)
        }
    }

    @Test func corruptCompressedDataFailsTheConnection() async throws {
        try await ProtocolViolationTests.expectFailure(1007, headers: Self.offer) { client in
            client.send(Self.text, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF], rsv1: true)
        }
    }
}
