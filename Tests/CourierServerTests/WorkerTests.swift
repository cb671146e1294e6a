import CourierTesting
import CourierLoop
import Dispatch
import Synchronization
import Testing

extension HTTPServerTests {
    @Suite struct WorkerTests {
        /// Two loops share the port through SO_REUSEPORT: many concurrent connections are all
        /// answered, and the kernel hands some to each loop.
        @Test func twoWorkersServeManyConnections() async throws {
            try await withServer(configuration: .forTests(workers: 2)) { server in
                let port = server.port
                let servedBy = Locked<[String: Int]>([:])
                let failures = Locked<[String]>([])
                DispatchQueue.concurrentPerform(iterations: 4) { lane in
                    for round in 0..<3 {
                        do {
                            // Fifty connections open at once per lane, two requests on each.
                            let clients = try (0..<50).map { _ in try RawClient(port: port, timeoutSeconds: 5) }
                            for (index, client) in clients.enumerated() {
                                client.send(request("/n/\(lane)-\(round)-\(index)") + request("/whoami"))
                            }
                            for (index, client) in clients.enumerated() {
                                let numbered = try client.readResponse()
                                let loopName = try client.readResponse()
                                if numbered.text != "n=\(lane)-\(round)-\(index)" || loopName.status != 200 {
                                    failures.withLock { $0.append("\(lane)-\(round)-\(index): \(numbered.text) / \(loopName.status)") }
                                }
                                servedBy.withLock { $0[loopName.text, default: 0] += 1 }
                            }
                        } catch {
                            failures.withLock { $0.append("lane \(lane) round \(round): \(error)") }
                        }
                    }
                }
                let problems = failures.withLock { $0 }
                #expect(problems.isEmpty, "\(problems.prefix(5))")
                let counts = servedBy.withLock { $0 }
                #expect(counts.values.reduce(0, +) == 600)
                #expect(Set(counts.keys) == ["courier-0", "courier-1"], "connections per loop: \(counts)")
            }
        }
    }
}
