import Dispatch
import Glibc
import Synchronization

/// Threads for work that blocks: a database call that may wait on a lock, a file read, a long
/// computation. Run on a loop, such work stalls every connection of that loop; run here, it
/// stalls only its own request. A handler awaits `run` and resumes on its loop (its task's
/// executor) when the work is done, as with Vapor's thread pool or NIO's `NIOThreadPool`.
///
/// Jobs run in the order submitted, at most `threadCount` at a time. The threads live until
/// `shutdown()` (for a pool that lives as long as the process, never).
public final class BlockingPool: Sendable {
    /// The number of threads, fixed at creation: at most this many jobs run at once.
    public let threadCount: Int
    private let queue = Locked(JobQueue())
    /// One signal per job submitted (and one per thread at shutdown): a thread waits here idle.
    private let ready = DispatchSemaphore(value: 0)

    private struct JobQueue {
        var jobs: [(@Sendable () -> Void)?] = []
        var head = 0
        var stopping = false

        mutating func popFirst() -> (@Sendable () -> Void)? {
            guard head < jobs.count else { return nil }
            let job = jobs[head]
            jobs[head] = nil
            head += 1
            if head == jobs.count {
                jobs.removeAll(keepingCapacity: jobs.count <= 1_024)
                head = 0
            }
            return job
        }
    }

    /// Starts `threads` threads (1...1024, else it traps), which wait idle for jobs. Size it for the blocking calls you expect at once, not the CPU count.
    public init(threads: Int) {
        precondition((1...1_024).contains(threads), "a blocking pool has 1 to 1024 threads, not \(threads)")
        threadCount = threads
        for _ in 0..<threads { startThread() }
    }

    /// Runs `work` on one of the pool's threads; returns (or throws) what it did.
    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            if !submit({ continuation.resume(with: Result { try work() }) }) {
                continuation.resume(throwing: BlockingPoolError.shutDown)
            }
        }
    }

    /// Queues `job`; false once the pool is shut down.
    @discardableResult
    public func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        let accepted = queue.withLock { queue -> Bool in
            guard !queue.stopping else { return false }
            queue.jobs.append(job)
            return true
        }
        if accepted { ready.signal() }
        return accepted
    }

    /// Lets the threads finish the jobs already queued, then end; later submissions are refused.
    public func shutdown() {
        let first = queue.withLock { queue -> Bool in
            defer { queue.stopping = true }
            return !queue.stopping
        }
        guard first else { return }
        for _ in 0..<threadCount { ready.signal() }
    }

    private func startThread() {
        startDetachedThread { [self] in work() }
    }

    private func work() {
        while true {
            ready.wait()
            let (job, stop) = queue.withLock { queue in (queue.popFirst(), queue.stopping && queue.head >= queue.jobs.count) }
            if let job {
                job()
            } else if stop {
                return
            }
        }
    }
}

/// Why blocking work did not run.
public enum BlockingPoolError: Error, CustomStringConvertible {
    /// The pool was shut down before the work was submitted; it never ran.
    case shutDown

    /// A sentence for logs.
    public var description: String { "the blocking pool was shut down" }
}
