import CourierTesting
import Courier
import Testing

/// The closing handshake from both sides, and what `onClose` reports.
@Suite struct CloseTests {
    @Test func clientCloseIsEchoedThenTheServerClosesTCP() async throws {
        let server = EchoServer()
        try await withServer(server.app) { http in
            let client = try WebSocketTestClient(port: http.port)
            client.sendClose(code: 1000, reason: "bye")
            let close = try await client.readFrame()
            #expect(close.close?.code == 1000)
            #expect(await client.waitForTCPClose(), "the server closes the TCP connection after the handshake")
            #expect(await server.closes.wait() == CloseEvent(code: 1000, reason: "bye"))
        }
    }

    @Test(arguments: [UInt16(1001), 1003, 1011, 3000, 4999])
    func clientCloseCodeIsEchoedAndReported(code: UInt16) async throws {
        let server = EchoServer()
        try await withServer(server.app) { http in
            let client = try WebSocketTestClient(port: http.port)
            client.sendClose(code: code, reason: "")
            #expect(try await client.readFrame().close?.code == code)
            #expect(await server.closes.wait()?.code == code)
        }
    }

    @Test func closeWithoutACodeIsAnsweredEmptyAndReportedAs1005() async throws {
        let server = EchoServer()
        try await withServer(server.app) { http in
            let client = try WebSocketTestClient(port: http.port)
            client.sendClose(code: nil)
            let close = try await client.readFrame()
            #expect(close.opcode == WebSocketOpcode.close.rawValue)
            #expect(close.payload.isEmpty)
            #expect(await client.waitForTCPClose())
            #expect(await server.closes.wait() == CloseEvent(code: 1005, reason: ""))
        }
    }

    @Test func serverCloseWithACustomCodeReachesTheClient() async throws {
        let server = EchoServer()
        try await withServer(server.app) { http in
            let client = try WebSocketTestClient(port: http.port)
            client.sendText("close 4000 game over")
            let close = try await client.readFrame()
            #expect(close.close?.code == 4000)
            #expect(close.close?.reason == "game over")
            // Messages after the server's close frame are ignored; the reply completes the handshake.
            client.sendText("too late")
            client.sendClose(code: 4000)
            #expect(await client.waitForTCPClose())
            #expect(await server.closes.wait()?.code == 4000)
            #expect(server.texts.all == ["close 4000 game over"], "no message is delivered after the server closed")
        }
    }

    @Test func serverCloseWithoutAnAnswerIsCutAfterTheCloseTimeout() async throws {
        let server = EchoServer(configuration: WebSocketConfiguration(closeTimeoutMilliseconds: 300))
        try await withServer(server.app, configuration: .webSocketTests(headerTimeoutMilliseconds: 400)) { http in
            let client = try WebSocketTestClient(port: http.port)
            client.sendText("close 1000 done")
            let start = ContinuousClock.now
            #expect(try await client.readFrame().close?.code == 1000)
            #expect(await client.waitForTCPClose())
            let elapsed = milliseconds(from: start, to: try #require(client.closedAt))
            #expect(elapsed >= 200 && elapsed < 2_000, "cut after about 300 ms (+ a 100 ms sweep), took \(elapsed) ms")
            #expect(await server.closes.wait()?.code == 1006)
        }
    }

    @Test func droppingTCPWithoutACloseFrameReports1006() async throws {
        let server = EchoServer()
        try await withServer(server.app) { http in
            let client = try WebSocketTestClient(port: http.port)
            client.sendText("hi")
            #expect(try await client.readFrame().text == "hi")
            client.drop()
            #expect(await server.closes.wait() == CloseEvent(code: 1006, reason: ""))
            #expect(await server.sockets.wait()?.isOpen == false)
        }
    }

    @Test func onCloseIsCalledExactlyOnce() async throws {
        let server = EchoServer()
        try await withServer(server.app) { http in
            let client = try WebSocketTestClient(port: http.port)
            client.sendClose(code: 1000)
            _ = try await client.readFrame()
            #expect(await client.waitForTCPClose())
            #expect(await server.closes.wait() != nil)
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(server.closes.all.count == 1)
    }

    /// RFC 6455 §7.4.1: 1005, 1006 and 1015 never appear on the wire; others are unassigned.
    @Test(arguments: [UInt16(999), 1004, 1005, 1006, 1015, 1016, 2999, 5000])
    func invalidCloseCodeFailsWith1002(code: UInt16) async throws {
        let server = EchoServer()
        try await withServer(server.app) { http in
            let client = try WebSocketTestClient(port: http.port)
            client.sendClose(code: code)
            #expect(try await client.readFrame().close?.code == 1002)
            #expect(await client.waitForTCPClose())
        }
    }
}
