/// Work due at a time, for a loop: a min-heap of deadlines behind one libuv timer armed for the
/// earliest. A thousand waiting long-polls cost a thousand heap entries, not a thousand Tasks
/// sleeping or timer handles to open and close.
final class Deadlines {
    private struct Entry {
        /// The loop's clock (`uv_now`, milliseconds) at which the work runs.
        let due: UInt64
        /// Order of scheduling, so works due in the same millisecond run in that order.
        let sequence: UInt64
        let work: () -> Void
        /// Whether the work is no longer wanted (its long-poll was answered early): such entries
        /// are dropped when the heap is compacted instead of waiting out their delay.
        let isStale: (() -> Bool)?

        func precedes(_ other: Entry) -> Bool {
            (due, sequence) < (other.due, other.sequence)
        }
    }

    private let loop: EventLoop
    private let timer: Timer
    private var heap: [Entry] = []
    private var nextSequence: UInt64 = 0
    /// The deadline the timer is set for, nil while it is stopped.
    private var armedFor: UInt64?
    /// The heap size at which stale entries are dropped: twice what was live at the last
    /// compaction, so the work of compacting is paid for by the pushes since.
    private var compactAt = 1_024

    /// Entries waiting, stale ones included until the next compaction.
    var pendingCount: Int { heap.count }

    init(loop: EventLoop) {
        self.loop = loop
        timer = Timer(loop: loop)
    }

    func schedule(afterMilliseconds delay: UInt64, isStale: (() -> Bool)? = nil, _ work: @escaping () -> Void) {
        guard !timer.isClosed else { return }
        let now = loop.now
        let (due, overflow) = now.addingReportingOverflow(delay)
        if heap.count >= compactAt { compact() }
        push(Entry(due: overflow ? .max : due, sequence: nextSequence, work: work, isStale: isStale))
        nextSequence += 1
        arm(now: now)
    }

    func close() {
        heap = []
        armedFor = nil
        timer.close()
    }

    /// Runs every work that is due, then sets the timer for the next (or stops it).
    private func fire() {
        armedFor = nil
        let now = loop.now
        while let first = heap.first, first.due <= now {
            popFirst()
            first.work()
            // A work that closed the loop's deadlines (by stopping the loop) ends the run.
            if timer.isClosed { return }
        }
        arm(now: now)
    }

    private func arm(now: UInt64) {
        guard let first = heap.first else {
            if armedFor != nil {
                timer.stop()
                armedFor = nil
            }
            return
        }
        if let armedFor, armedFor <= first.due { return }
        armedFor = first.due
        timer.start(after: first.due > now ? first.due - now : 0) { [unowned self] in fire() }
    }

    /// Drops the entries whose work is no longer wanted. Without it, a long-poll answered early
    /// (by a message) would keep its entry until its timeout: at many polls a second the heap
    /// would hold one entry per poll of the last timeout's worth.
    private func compact() {
        heap.removeAll { $0.isStale?() == true }
        // A sorted array is a valid heap.
        heap.sort { $0.precedes($1) }
        compactAt = max(1_024, heap.count * 2)
    }

    private func push(_ entry: Entry) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private func popFirst() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var first = parent
            if left < heap.count, heap[left].precedes(heap[first]) { first = left }
            if right < heap.count, heap[right].precedes(heap[first]) { first = right }
            if first == parent { return }
            heap.swapAt(parent, first)
            parent = first
        }
    }
}

extension EventLoop {
    /// Runs `work` on this loop once `milliseconds` have passed on its clock. Call on the loop
    /// thread. Every pending work of a loop shares one timer, so waiting is cheap enough for
    /// one per request held open. There is no cancel (that would need a hop to the loop from
    /// whichever thread answered first): work that may no longer be wanted checks for itself
    /// (a long-poll's deadline finds its poll already answered and does nothing), holds what it
    /// acts on weakly, and says through `isStale` when it is no longer wanted, so that its
    /// entry is dropped long before its delay. Work still pending when the loop stops never runs.
    package func schedule(afterMilliseconds milliseconds: UInt64, isStale: (() -> Bool)? = nil, _ work: @escaping () -> Void) {
        assertInLoop()
        deadlines.schedule(afterMilliseconds: milliseconds, isStale: isStale, work)
    }

    /// Scheduled works waiting on this loop (stale ones until they are dropped); for tests.
    package var scheduledCount: Int {
        assertInLoop()
        return madeDeadlines?.pendingCount ?? 0
    }
}
