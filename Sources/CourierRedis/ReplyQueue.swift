/// The commands sent on a pipelined connection and not answered yet, oldest first. Redis
/// answers in the order it was asked, so each reply belongs to the oldest waiter; there is no
/// other way to match them, which is why a command that times out takes the whole connection
/// down with it: its reply may still come, and would then be taken for the next command's.
///
/// A command's time runs from when it became the oldest unanswered (sent to an idle connection,
/// or the reply before it came), not from when it was sent: Redis works through a pipeline one
/// command at a time, so 10,000 opens sent in a burst are answered over seconds while Redis is
/// healthy, and timing each from its sending failed them all (and reset the connection) in the
/// middle of the burst. A Redis that stops answering is still noticed one timeout after its last
/// reply; a blocking read at the head holds the commands behind it without their clocks running.
struct ReplyQueue<Waiter> {
    struct Entry {
        let waiter: Waiter
        let timeout: UInt64
    }

    private var entries = FIFO<Entry>()
    /// When the oldest waiter became the oldest, in loop milliseconds.
    private var headSince: UInt64 = 0

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }

    /// When the oldest waiter runs out of time, in loop milliseconds; nil when none waits.
    var earliestDeadline: UInt64? { entries.first.map { headSince &+ $0.timeout } }

    mutating func append(_ waiter: Waiter, timeout: UInt64, now: UInt64) {
        if entries.isEmpty { headSince = now }
        entries.append(Entry(waiter: waiter, timeout: timeout))
    }

    /// The waiter a reply that just arrived (at `now`) belongs to; nil when nothing was asked (a
    /// protocol violation by the server).
    mutating func popFirst(now: UInt64) -> Waiter? {
        guard let entry = entries.popFirst() else { return nil }
        headSince = now
        return entry.waiter
    }

    /// Every waiter, oldest first, leaving the queue empty: the connection is gone.
    mutating func removeAll() -> [Entry] {
        entries.removeAll()
    }
}
