import Courier
import CourierTesting
import Testing

/// A close finishes within the close timeout even when the peer never reads: once the close
/// handshake was done, nothing supervised the socket, and a peer that left megabytes unread and
/// then sent its close frame held the connection (and the queue) for ever.
@Suite struct ClosingPeerTests {
    @Test func aPeerThatClosesWithoutReadingIsCutOffAfterTheCloseTimeout() async throws {
        let server = EchoServer(configuration: WebSocketConfiguration(maxBackpressureBytes: 64 << 20, closeTimeoutMilliseconds: 300,
                                                                      compression: false))
        try await withServer(server.app) { http in
            let client = try WebSocketTestClient(port: http.port, receiveBufferBytes: 4096)
            let message = String(repeating: "x", count: 60_000)
            for _ in 0..<128 { client.sendText(message) }
            #expect(await server.texts.wait(for: 128) != nil)
            client.sendClose(code: 1000)
            #expect(await server.closes.wait()?.code == 1000)
            let deadline = ContinuousClock.now + .seconds(3)
            while http.connectionCount > 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(http.connectionCount == 0, "the closed socket is still held with its unread echoes")
            withExtendedLifetime(client) {}
        }
    }
}
