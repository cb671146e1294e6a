/// The commands sent on a pipelined connection and not answered yet, oldest first. Redis
/// answers in the order it was asked, so each reply belongs to the oldest waiter; there is no
/// other way to match them, which is why a command that times out takes the whole connection
/// down with it: its reply may still come, and would then be taken for the next command's.
///
/// Each waiter has a deadline; `earliestDeadline` is kept in O(1) amortised per command with a
/// monotonic queue (commands with different timeouts need not expire in sending order).
struct ReplyQueue<Waiter> {
    struct Entry {
        let waiter: Waiter
        let deadline: UInt64
    }

    private var entries = FIFO<Entry>()
    /// Candidates for the minimum deadline: (sequence, deadline) with deadlines strictly rising.
    private var minima = FIFO<(sequence: UInt64, deadline: UInt64)>()
    /// Sequence number of `entries.first`.
    private var headSequence: UInt64 = 0

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }

    /// The soonest any waiting command runs out of time, in loop milliseconds.
    var earliestDeadline: UInt64? { minima.first?.deadline }

    mutating func append(_ waiter: Waiter, deadline: UInt64) {
        let sequence = headSequence &+ UInt64(entries.count)
        entries.append(Entry(waiter: waiter, deadline: deadline))
        while let last = minima.last, last.deadline >= deadline { _ = minima.popLast() }
        minima.append((sequence, deadline))
    }

    /// The waiter a reply that just arrived belongs to; nil when nothing was asked (a protocol
    /// violation by the server).
    mutating func popFirst() -> Waiter? {
        guard let entry = entries.popFirst() else { return nil }
        if minima.first?.sequence == headSequence { _ = minima.popFirst() }
        headSequence &+= 1
        return entry.waiter
    }

    /// Every waiter, oldest first, leaving the queue empty: the connection is gone.
    mutating func removeAll() -> [Entry] {
        headSequence &+= UInt64(entries.count)
        _ = minima.removeAll()
        return entries.removeAll()
    }
}
