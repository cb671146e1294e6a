import CourierTesting
import Courier
import Testing

/// Data and control frames over a real socket: echo, length encodings, fragmentation, ping/pong.
@Suite struct MessageTests {
    static let text = WebSocketOpcode.text.rawValue
    static let binary = WebSocketOpcode.binary.rawValue
    static let continuation = WebSocketOpcode.continuation.rawValue
    static let ping = WebSocketOpcode.ping.rawValue
    static let pong = WebSocketOpcode.pong.rawValue

    @Test func textAndBinaryAreEchoedAsSingleUnmaskedFrames() async throws {
        let server = EchoServer()
        try await withServer(server.app) { http in
            let client = try WebSocketTestClient(port: http.port)
            client.sendText("héllo wörld ✓")
            let text = try await client.readFrame()
            #expect(text == ServerFrame(fin: true, rsv1: false, opcode: Self.text, payload: Array("héllo wörld ✓".utf8)))
            client.sendBinary([0, 1, 2, 0xFF])
            #expect(try await client.readFrame() == ServerFrame(fin: true, rsv1: false, opcode: Self.binary, payload: [0, 1, 2, 0xFF]))
            client.sendText("")
            #expect(try await client.readFrame() == ServerFrame(fin: true, rsv1: false, opcode: Self.text, payload: []))
        }
    }

    /// 125, 126 and 65535/65536 bytes straddle the 7-bit, 16-bit and 64-bit length forms.
    @Test(arguments: [125, 126, 65_535, 65_536, 300_000])
    func lengthEncodingsRoundTrip(size: Int) async throws {
        let server = EchoServer(configuration: WebSocketConfiguration(maxMessageBytes: 512 * 1024, compression: false))
        try await withServer(server.app) { http in
            let client = try WebSocketTestClient(port: http.port)
            let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            client.sendBinary(payload)
            let frame = try await client.readFrame()
            #expect(frame.opcode == Self.binary)
            #expect(frame.payload == payload)
        }
    }

    @Test func aFrameTrickledOneByteAtATimeIsAssembled() async throws {
        let server = EchoServer()
        try await withServer(server.app) { http in
            let client = try WebSocketTestClient(port: http.port)
            let frame = ClientFrame.encode(Self.text, Array(String(repeating: "trickle ", count: 20).utf8))
            for byte in frame {
                client.send([byte])
                try await Task.sleep(for: .milliseconds(1))
            }
            #expect(try await client.readFrame().text == String(repeating: "trickle ", count: 20))
        }
    }

    @Test func fragmentsWithPingsBetweenAreReassembledAndPongsComeBackFirst() async throws {
        let server = EchoServer()
        try await withServer(server.app) { http in
            let client = try WebSocketTestClient(port: http.port)
            client.send(Self.text, Array("Hel".utf8), fin: false)
            client.send(Self.ping, Array("one".utf8))
            client.send(Self.continuation, Array("lo, ".utf8), fin: false)
            client.send(Self.ping, Array("two".utf8))
            client.send(Self.continuation, [], fin: false)
            client.send(Self.continuation, Array("world".utf8), fin: true)
            #expect(try await client.readFrame() == ServerFrame(fin: true, rsv1: false, opcode: Self.pong, payload: Array("one".utf8)))
            #expect(try await client.readFrame() == ServerFrame(fin: true, rsv1: false, opcode: Self.pong, payload: Array("two".utf8)))
            #expect(try await client.readFrame() == ServerFrame(fin: true, rsv1: false, opcode: Self.text, payload: Array("Hello, world".utf8)))
            #expect(server.texts.all == ["Hello, world"], "the app sees one message, not fragments")
        }
    }

    @Test func fragmentedBinaryAndACodePointSplitAcrossFragmentsAreJoined() async throws {
        let server = EchoServer()
        try await withServer(server.app) { http in
            let client = try WebSocketTestClient(port: http.port)
            client.send(Self.binary, [1, 2], fin: false)
            client.send(Self.continuation, [3], fin: true)
            #expect(try await client.readFrame().payload == [1, 2, 3])

            let euro = Array("€".utf8) // E2 82 AC
            client.send(Self.text, [UInt8(ascii: "a"), euro[0]], fin: false)
            client.send(Self.continuation, [euro[1]], fin: false)
            client.send(Self.continuation, [euro[2], UInt8(ascii: "b")], fin: true)
            #expect(try await client.readFrame().text == "a€b")
        }
    }

    @Test func pingPayloadIsEchoedInThePongAndUnsolicitedPongsReachTheApp() async throws {
        let server = EchoServer()
        try await withServer(server.app) { http in
            let client = try WebSocketTestClient(port: http.port)
            let payload = (0..<125).map { UInt8($0) }
            client.send(Self.ping, payload)
            #expect(try await client.readFrame() == ServerFrame(fin: true, rsv1: false, opcode: Self.pong, payload: payload))
            client.send(Self.pong, [9, 9])
            #expect(await server.pongs.wait() == [9, 9])
            client.sendText("still open")
            #expect(try await client.readFrame().text == "still open")
        }
    }

    /// What onUpgrade sends leaves right behind the 101, before anything from the client.
    @Test func messageSentFromOnUpgradeArrivesFirst() async throws {
        let app = Application()
        app.webSocket("/ws") { request, socket in
            socket.send("welcome \(request.path)")
            socket.onText = { socket, text in socket.send("echo \(text)") }
        }
        try await withServer(app) { http in
            let client = try WebSocketTestClient(port: http.port)
            #expect(try await client.readFrame().text == "welcome /ws")
            client.sendText("hi")
            #expect(try await client.readFrame().text == "echo hi")
        }
    }

    @Test func serverPingReachesTheClientAndItsPongReachesTheApp() async throws {
        let server = EchoServer()
        try await withServer(server.app) { http in
            let client = try WebSocketTestClient(port: http.port)
            let socket = try #require(await server.sockets.wait())
            socket.ping([7, 7, 7])
            let ping = try await client.readFrame()
            #expect(ping.opcode == Self.ping)
            #expect(ping.payload == [7, 7, 7])
            client.send(Self.pong, ping.payload)
            #expect(await server.pongs.wait() == [7, 7, 7])
        }
    }
}
