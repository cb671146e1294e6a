import CourierHTTP
import CourierLoop
import CourierServer
import CourierTesting
import Glibc
import Logging
import Testing

extension HTTPServerTests {
    /// `maxConnections`: the connections the process holds at once. One more is accepted and
    /// closed at once, without a response (so it neither waits in the kernel's backlog nor
    /// wakes the loop again), counted, and logged at most once a second.
    @Suite struct ConnectionLimitTests {
        private static func configuration(maxConnections: Int, workers: Int = 1) -> ServerConfiguration {
            var configuration = ServerConfiguration.forTests(workers: workers)
            configuration.maxConnections = maxConnections
            return configuration
        }

        @Test func theConnectionPastTheLimitIsClosedAtOnceWithoutAResponse() async throws {
            try await withServer(configuration: Self.configuration(maxConnections: 3)) { server in
                let served = try (0..<3).map { _ in try RawClient(port: server.port, timeoutSeconds: 5) }
                for client in served {
                    client.send(request("/hello"))
                    #expect(try client.readResponse().text == "hello")
                }
                #expect(server.refusedConnections == 0)

                let refused = try RawClient(port: server.port, timeoutSeconds: 5)
                var received: [UInt8] = []
                let elapsed = milliseconds {
                    refused.send(request("/hello"))
                    received = refused.readUntilClose()
                }
                #expect(received.isEmpty, "a refused connection got \(received.count) bytes")
                #expect(refused.peerClosed)
                #expect(elapsed < 1_000, "the refused connection was closed after \(elapsed) ms")
                #expect(server.refusedConnections == 1)

                // The ones it holds are served as before.
                for client in served {
                    client.send(request("/n/2"))
                    #expect(try client.readResponse().text == "n=2")
                }
                #expect(server.connectionCount == 3)
            }
        }

        @Test func aPlaceFreedByAClosedConnectionIsTakenByTheNextOne() async throws {
            try await withServer(configuration: Self.configuration(maxConnections: 2)) { server in
                let first = try RawClient(port: server.port, timeoutSeconds: 5)
                let second = try RawClient(port: server.port, timeoutSeconds: 5)
                for client in [first, second] {
                    client.send(request("/hello"))
                    #expect(try client.readResponse().text == "hello")
                }
                let turnedAway = try RawClient(port: server.port, timeoutSeconds: 5)
                #expect(turnedAway.readUntilClose().isEmpty)

                first.close()
                #expect(await eventually { server.connectionCount == 1 }, "the server still holds \(server.connectionCount)")
                let next = try RawClient(port: server.port, timeoutSeconds: 5)
                next.send(request("/hello"))
                #expect(try next.readResponse().text == "hello")
                #expect(server.refusedConnections == 1)
            }
        }

        /// Two loops share one limit: the process holds `maxConnections`, not each loop.
        @Test func theLimitIsForTheProcessNotEachWorker() async throws {
            try await withServer(configuration: Self.configuration(maxConnections: 4, workers: 2)) { server in
                var clients: [RawClient] = []
                for _ in 0..<10 {
                    let client = try RawClient(port: server.port, timeoutSeconds: 5)
                    client.send(request("/hello"))
                    if let response = try? client.readResponse(), response.text == "hello" { clients.append(client) }
                }
                #expect(clients.count == 4)
                #expect(server.refusedConnections == 6)
                #expect(server.connectionCount == 4)
            }
        }

        /// A WebSocket keeps the place its HTTP connection took: an upgrade hands over the
        /// socket, not a second place, and closing the WebSocket gives the place back.
        @Test func anUpgradedConnectionHoldsOnePlaceUntilItCloses() async throws {
            let app = makeTestApp()
            app.webSocket("/ws") { _, socket in
                socket.onText = { socket, text in socket.send(text) }
            }
            try await withServer(app, configuration: Self.configuration(maxConnections: 2)) { server in
                let socket = try WebSocketTestClient(port: server.port, path: "/ws")
                socket.sendText("ping")
                #expect(try await socket.readFrame().payload == Array("ping".utf8))
                let plain = try RawClient(port: server.port, timeoutSeconds: 5)
                plain.send(request("/hello"))
                #expect(try plain.readResponse().text == "hello")
                let third = try RawClient(port: server.port, timeoutSeconds: 5)
                #expect(third.readUntilClose().isEmpty, "a third connection was served past a limit of two")
                socket.sendClose(code: 1000)
                #expect(await eventually { server.connectionCount == 1 })
                let fourth = try RawClient(port: server.port, timeoutSeconds: 5)
                fourth.send(request("/hello"))
                #expect(try fourth.readResponse().text == "hello")
                #expect(server.refusedConnections == 1)
            }
        }

        /// A flood of connections past the limit makes one warning a second, with the count.
        @Test func refusalsAreLoggedAtMostOnceASecond() async throws {
            let log = CapturedLog()
            let server = HTTPServer(configuration: Self.configuration(maxConnections: 1), responder: HelloResponder(),
                                    logger: Logger(label: "test") { _ in log })
            try server.start()
            defer {
                server.shutdown()
                server.waitUntilStopped()
            }
            let held = try RawClient(port: server.port, timeoutSeconds: 5)
            held.send(request("/hello"))
            #expect(try held.readResponse().status == 200)
            let started = ContinuousClock.now
            var refused = 0
            // A few hundred, not as many as the loop could refuse: each leaves the server a
            // socket in TIME_WAIT on a port of the client's range.
            while ContinuousClock.now - started < .milliseconds(1_500) {
                let client = try RawClient(port: server.port, timeoutSeconds: 5)
                if client.readUntilClose().isEmpty { refused += 1 }
                try await Task.sleep(for: .milliseconds(3))
            }
            let warnings = log.messages(containing: "refused connections")
            #expect(server.refusedConnections == refused)
            #expect(refused > 20, "only \(refused) connections were refused in 1.5 s")
            #expect((1...2).contains(warnings.count), "\(warnings.count) warnings for \(refused) refusals in 1.5 s")
            #expect(warnings.first?.level == .warning)
            #expect(warnings.first?.metadata["maxConnections"] == "1")
        }

        @Test func theDefaultFollowsTheDescriptorLimit() {
            var limit = rlimit()
            let status = getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
            #expect(status == 0)
            let descriptors = Int(min(limit.rlim_cur, rlim_t(Int32.max)))
            let expected = descriptors - min(max(64, descriptors / 16), descriptors / 2)
            #expect(ServerConfiguration().maxConnections == expected)
            #expect(ServerConfiguration.defaultMaxConnections < descriptors, "a refusal needs a free descriptor to be accepted and closed")
        }
    }
}

/// Answers every request with "hello", for tests that make an `HTTPServer` themselves.
struct HelloResponder: HTTPResponder {
    func respond(to request: HTTPServerRequest, writer: HTTPResponseWriter) {
        writer.respond(HTTPResponseHead(status: .ok), body: Array("hello".utf8))
    }
}

/// A log handler that keeps what it is given, for tests that check what an operator reads.
final class CapturedLog: LogHandler, @unchecked Sendable {
    // @unchecked Sendable: `entries` is behind its lock; the rest is set once, before use.
    struct Entry: Sendable {
        let level: Logger.Level
        let message: String
        let metadata: [String: String]
    }

    private let entries = Locked<[Entry]>([])
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let flattened = (event.metadata ?? [:]).mapValues { "\($0)" }
        entries.withLock { $0.append(Entry(level: event.level, message: event.message.description, metadata: flattened)) }
    }

    func messages(containing text: String) -> [Entry] {
        entries.withLock { $0.filter { $0.message.contains(text) } }
    }
}
