import Courier
import CourierLoop
import CourierTesting
import Glibc
import Synchronization
import Testing

/// Blocking work in a handler, run on `app.blocking`, leaves the handler's loop free: with one
/// loop, a request that needs no blocking work is answered while the slow one still waits.
@Suite struct BlockingWorkTests {
    @Test func aHandlersBlockingWorkDoesNotHoldUpOtherRequestsOnItsLoop() async throws {
        let app = Application()
        let slowStarted = Flag()
        app.get("/slow") { _, response in
            let text = try await app.blocking.run {
                slowStarted.set()
                usleep(500_000)
                return "slow"
            }
            response.write(text)
        }
        app.get("/fast") { _, response in response.write("fast") }
        let server = try app.start(configuration: ServerConfiguration(host: "127.0.0.1", port: 0, workers: 1, handlesSignals: false))
        defer {
            server.shutdown()
            server.waitUntilStopped()
        }
        let order = Arrivals()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                let response = try await TestClient(port: server.port).get("/slow")
                order.append(response.text)
            }
            group.addTask {
                // Asked once the slow one is under way on the pool.
                while !slowStarted.isSet { try await Task.sleep(for: .milliseconds(5)) }
                let response = try await TestClient(port: server.port).get("/fast")
                order.append(response.text)
            }
            try await group.waitForAll()
        }
        #expect(order.all == ["fast", "slow"], "the fast request waited for the slow one's blocking work")
    }
}

final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}

final class Arrivals: Sendable {
    private let list = Locked<[String]>([])
    func append(_ text: String) { list.withLock { $0.append(text) } }
    var all: [String] { list.withLock { $0 } }
}
