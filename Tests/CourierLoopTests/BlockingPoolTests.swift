import CourierLoop
import Glibc
import Synchronization
import Testing

/// A counter closures on other threads can share.
final class SharedCount: Sendable {
    private let value = Atomic<Int>(0)
    func add() { value.add(1, ordering: .relaxed) }
    var current: Int { value.load(ordering: .relaxed) }
}

@Suite struct BlockingPoolTests {
    @Test func workRunsOnThePoolsThreadsAndReturnsItsResult() async throws {
        let pool = BlockingPool(threads: 2)
        defer { pool.shutdown() }
        let caller = pthread_self()
        let (value, thread) = try await pool.run { (6 * 7, pthread_self()) }
        #expect(value == 42)
        #expect(pthread_equal(thread, caller) == 0, "ran on the caller's thread")
    }

    struct Refusal: Error, Equatable {}

    @Test func anErrorReachesTheCaller() async {
        let pool = BlockingPool(threads: 1)
        defer { pool.shutdown() }
        await #expect(throws: Refusal()) { try await pool.run { () throws -> Int in throw Refusal() } }
    }

    /// Blocking jobs run side by side up to the pool's size: four jobs that each wait for all
    /// four to have started finish only if four threads run them at once.
    @Test func asManyJobsRunAtOnceAsThePoolHasThreads() async throws {
        let pool = BlockingPool(threads: 4)
        defer { pool.shutdown() }
        let started = SharedCount()
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    try await pool.run {
                        started.add()
                        for _ in 0..<2_000 where started.current < 4 { usleep(1_000) }
                        return started.current == 4
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results == [true, true, true, true])
    }

    @Test func aShutDownPoolFinishesWhatWasQueuedAndRefusesMore() async throws {
        let pool = BlockingPool(threads: 1)
        let ran = SharedCount()
        for _ in 0..<100 { pool.submit { ran.add() } }
        pool.shutdown()
        for _ in 0..<500 where ran.current < 100 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(ran.current == 100)
        #expect(!pool.submit {})
        await #expect(throws: BlockingPoolError.self) { try await pool.run { 1 } }
    }
}
