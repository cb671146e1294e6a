import Courier
@testable import CourierChannel
import Synchronization
import Testing

/// A server that runs for weeks reports millions of presence events through one stored handler.
@Suite struct ChannelPresenceDispatchTests {
    /// The handler was once stored as a bare closure in a generic lock: each report wrapped it in
    /// one more reabstraction thunk, so report N ran N thunks deep, and a few hundred thousand
    /// connects and disconnects overflowed the stack (and kept 64 bytes each). Here 300,000
    /// reports reach the handler once each, in order, on a thread whose stack is the default.
    @Test func manyReportsReachTheHandlerOnceEachWithoutGrowingTheCall() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        let seen = Mutex<(count: Int, connected: Int, last: String)>((0, 0, ""))
        service.setPresenceDispatcher { clientID, connected in
            seen.withLock { $0 = ($0.count + 1, $0.connected + (connected ? 1 : 0), clientID) }
        }
        let reports = 300_000
        for index in 0..<reports {
            service.reportPresence("client-\(index)", connected: index.isMultiple(of: 2))
        }
        let result = seen.withLock { $0 }
        #expect(result.count == reports)
        #expect(result.connected == reports / 2)
        #expect(result.last == "client-\(reports - 1)")
    }
}
