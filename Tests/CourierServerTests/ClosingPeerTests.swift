import CourierServer
import CourierTesting
import Dispatch
import Glibc
import Testing

/// Every close finishes within a bound, even when the peer never reads: a closing connection
/// whose peer takes nothing for a header timeout is cut off, whatever is left to send. Once,
/// nothing supervised a closing connection, and a peer that stopped reading held its socket
/// and its queued responses for ever.
extension HTTPServerTests {
    @Suite struct ClosingPeerTests {
        static let configuration = ServerConfiguration.forTests(headerTimeoutMilliseconds: 300, idleTimeoutMilliseconds: 5_000)

        /// Polls the server's connection count until it is `count`, for at most `seconds`.
        static func connections(of server: HTTPServer, reach count: Int, within seconds: Double) async -> Bool {
            let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
            while ContinuousClock.now < deadline {
                if server.connectionCount == count { return true }
                try? await Task.sleep(for: .milliseconds(50))
            }
            return server.connectionCount == count
        }

        @Test func aLastResponseThePeerNeverReadsIsCutOff() async throws {
            try await withServer(configuration: Self.configuration) { server in
                let peer = try WebSocketTestClient(connectingTo: server.port, receiveBufferBytes: 4096)
                #expect(peer.send(Array(request("GET", "/big/8192", headers: ["Connection: close"]).utf8)))
                try await Task.sleep(for: .milliseconds(100))
                #expect(server.connectionCount == 1, "the 8 MiB answer is still queued for the peer")
                #expect(await Self.connections(of: server, reach: 0, within: 3), "still held: \(server.connectionCount)")
                withExtendedLifetime(peer) {}
            }
        }

        /// The attack as it was found: requests pipelined by a peer that never reads, until the
        /// server stops reading, answers the stalled next request with 408 and closes.
        @Test func aPipeliningPeerThatNeverReadsIsCutOff() async throws {
            try await withServer(configuration: Self.configuration) { server in
                let peer = try WebSocketTestClient(connectingTo: server.port, receiveBufferBytes: 4096)
                let pipelined = String(repeating: request("/big/64"), count: 400)
                DispatchQueueSender.send(pipelined, on: peer)
                try await Task.sleep(for: .milliseconds(100))
                #expect(server.connectionCount == 1)
                #expect(await Self.connections(of: server, reach: 0, within: 4), "still held: \(server.connectionCount)")
                withExtendedLifetime(peer) {}
            }
        }

        /// A peer that does read, however slowly, gets its whole last response: only a peer
        /// taking nothing for a whole period is cut off.
        @Test func aSlowReaderStillGetsTheWholeLastResponse() async throws {
            try await withServer(configuration: Self.configuration) { server in
                let peer = try WebSocketTestClient(connectingTo: server.port, receiveBufferBytes: 16 * 1024)
                #expect(peer.send(Array(request("GET", "/big/2048", headers: ["Connection: close"]).utf8)))
                let received = try await peer.blocking { client in client.readSlowly(pauseMicroseconds: 5_000) }
                #expect(received > 2048 * 1024, "got \(received) bytes")
            }
        }
    }
}

/// Sends on a thread of its own: the peer's send blocks once the server stops reading.
enum DispatchQueueSender {
    static func send(_ text: String, on peer: WebSocketTestClient) {
        let bytes = Array(text.utf8)
        DispatchQueue(label: "courier.test.pipelining-peer").async { _ = peer.send(bytes) }
    }
}
