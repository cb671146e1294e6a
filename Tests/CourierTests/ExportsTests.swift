import Courier
import Foundation
import Testing

/// What `import Courier` puts in an app's namespace: the loop a request runs on and the pool
/// for blocking work, but not CourierLoop's Timer, which made Foundation's ambiguous in every
/// app that imports both (this file would not compile then).
@Suite struct ExportsTests {
    @Test func foundationsTimerIsTheOnlyTimerBesideCourier() {
        let timer = Timer(timeInterval: 2, repeats: true) { _ in }
        #expect(timer.timeInterval == 2)
        timer.invalidate()
    }

    @Test func theTypesAnAppUsesFromTheLoopComeWithCourier() async throws {
        let pool = BlockingPool(threads: 1)
        defer { pool.shutdown() }
        #expect(try await pool.run { 7 } == 7)
        let loops: [EventLoop] = []
        #expect(loops.isEmpty)
    }
}
