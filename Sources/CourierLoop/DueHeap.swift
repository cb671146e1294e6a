/// Items due at a time, earliest first: a min-heap with no I/O, so a sweep pays for what is due
/// rather than walking everything it holds. An entry that no longer matters (its item changed
/// since) is the caller's to recognise and skip when it comes up.
package struct DueHeap<Item, Due: Comparable> {
    private var entries: [(due: Due, item: Item)] = []

    package init() {}

    package var count: Int { entries.count }

    /// Drops every entry, keeping a small array's storage.
    package mutating func removeAll() { entries.removeAll(keepingCapacity: entries.capacity <= 4096) }

    package mutating func push(_ item: Item, due: Due) {
        entries.append((due, item))
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].due < entries[parent].due else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    /// Drops the entries that no longer matter, once they are more than half of the heap: a
    /// client that reconnects leaves one behind each time, and one that left leaves its last,
    /// each holding its item (a session and what it holds) until its time comes, hours away for
    /// a token. Called at every sweep; it walks the heap only when the heap has doubled since.
    package mutating func compactIfMostlyStale(liveCount: Int, isLive: (Due, Item) -> Bool) {
        guard entries.count > max(64, 2 * liveCount) else { return }
        entries = entries.filter { isLive($0.due, $0.item) }
        // A sorted array is a heap.
        entries.sort { $0.due < $1.due }
    }

    /// The earliest item if it is due at `now`, taken out.
    package mutating func popDue(now: Due) -> (due: Due, item: Item)? {
        guard let first = entries.first, first.due <= now else { return nil }
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < entries.count && entries[left].due < entries[smallest].due { smallest = left }
                if right < entries.count && entries[right].due < entries[smallest].due { smallest = right }
                guard smallest != parent else { break }
                entries.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return first
    }
}
