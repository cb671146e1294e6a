import Synchronization

/// The process's connections against `ServerConfiguration.maxConnections`, shared by the
/// server's loops: a connection holds a place from the moment it is accepted until its socket
/// closes, so the limit counts descriptors exactly, whichever loop holds them and whatever
/// protocol they speak by then. Atomics, not a lock: every accept and every close touches it.
final class ConnectionLimit: Sendable {
    let maximum: Int
    private let open = Atomic<Int>(0)
    private let refusedTotal = Atomic<Int>(0)
    private let refusedSinceWarning = Atomic<Int>(0)
    private let lastRefusalWarning = Atomic<UInt64>(0)
    private let lastAcceptFailureWarning = Atomic<UInt64>(0)

    init(maximum: Int) {
        self.maximum = maximum
    }

    /// Takes a place for a connection just accepted; false (and counted) when none is left.
    func admit() -> Bool {
        if open.wrappingAdd(1, ordering: .relaxed).newValue <= maximum { return true }
        open.wrappingSubtract(1, ordering: .relaxed)
        refusedTotal.wrappingAdd(1, ordering: .relaxed)
        refusedSinceWarning.wrappingAdd(1, ordering: .relaxed)
        return false
    }

    /// A connection's socket has closed.
    func release() {
        open.wrappingSubtract(1, ordering: .relaxed)
    }

    /// Connections holding a place now.
    var openCount: Int { open.load(ordering: .relaxed) }
    /// Connections refused since the server started.
    var refusedCount: Int { refusedTotal.load(ordering: .relaxed) }

    /// The refusals to report, when a warning is due now (`now` in a loop's milliseconds): at
    /// most one a second for the whole process, however many loops refuse.
    func refusalsToReport(now: UInt64) -> Int? {
        guard Self.isDue(lastRefusalWarning, now: now) else { return nil }
        return refusedSinceWarning.exchange(0, ordering: .relaxed)
    }

    /// Whether a warning that accepting failed is due now: at most one a second.
    func acceptFailureWarningIsDue(now: UInt64) -> Bool {
        Self.isDue(lastAcceptFailureWarning, now: now)
    }

    /// Claims the second for one warning: true for the first caller a second after the last.
    private static func isDue(_ last: borrowing Atomic<UInt64>, now: UInt64) -> Bool {
        let previous = last.load(ordering: .relaxed)
        guard previous == 0 || now >= previous &+ 1_000 else { return false }
        return last.compareExchange(expected: previous, desired: max(1, now), ordering: .relaxed).exchanged
    }
}
