import CourierTesting
import Courier
import Testing

/// `server.shutdown()` says goodbye to open WebSockets with 1001 and then stops.
@Suite struct GracefulShutdownTests {
    @Test func shutdownSendsGoingAwayAndStopsOnceClientsAnswer() async throws {
        let server = EchoServer()
        let http = try server.app.start(configuration: .webSocketTests(shutdownDeadlineMilliseconds: 5_000))
        defer {
            http.shutdown()
            http.waitUntilStopped()
        }
        let first = try WebSocketTestClient(port: http.port)
        let second = try WebSocketTestClient(port: http.port)
        first.sendText("ready")
        #expect(try await first.readFrame().text == "ready")
        #expect(await server.sockets.wait(for: 2) != nil)

        http.shutdown()
        for client in [first, second] {
            let close = try await client.readFrame()
            #expect(close.close?.code == 1001)
            client.sendClose(code: 1001)
            #expect(await client.waitForTCPClose())
        }
        #expect(await completes(within: 3) { http.waitUntilStopped() }, "stops well before the 5 s deadline once clients answered")
        #expect(server.closes.all.map(\.code) == [1001, 1001])
    }

    /// An upgrade still in a handler when shutdown begins opens and is told to go away at once.
    @Test func upgradeFinishingDuringShutdownGetsGoingAway() async throws {
        struct SlowGate: Middleware {
            let entered: Recorded<Bool>
            func handle(_ request: Request, _ response: inout Response, next: Next) async throws {
                entered.record(true)
                try await Task.sleep(for: .milliseconds(300))
                try await next(request, &response)
            }
        }
        let entered = Recorded<Bool>()
        let server = EchoServer(middleware: [SlowGate(entered: entered)])
        let http = try server.app.start(configuration: .webSocketTests(shutdownDeadlineMilliseconds: 5_000))
        defer {
            http.shutdown()
            http.waitUntilStopped()
        }
        let client = try WebSocketTestClient(connectingTo: http.port)
        client.send(Array(WebSocketTestClient.handshakeRequest().utf8))
        #expect(await entered.wait() == true)
        http.shutdown()
        try await client.readHandshakeResponse()
        #expect(try await client.readFrame().close?.code == 1001)
        client.sendClose(code: 1001)
        #expect(await client.waitForTCPClose())
        #expect(await completes(within: 3) { http.waitUntilStopped() })
        #expect(await server.closes.wait()?.code == 1001)
    }

    @Test func clientThatNeverAnswersIsCutAndTheServerStillStops() async throws {
        let server = EchoServer(configuration: WebSocketConfiguration(closeTimeoutMilliseconds: 10_000))
        let http = try server.app.start(configuration: .webSocketTests(shutdownDeadlineMilliseconds: 500))
        defer {
            http.shutdown()
            http.waitUntilStopped()
        }
        let client = try WebSocketTestClient(port: http.port)
        #expect(await server.sockets.wait() != nil)
        http.shutdown()
        #expect(try await client.readFrame().close?.code == 1001)
        #expect(await client.waitForTCPClose(), "cut at the shutdown deadline")
        #expect(await completes(within: 5) { http.waitUntilStopped() })
        #expect(await server.closes.wait()?.code == 1006)
    }
}
