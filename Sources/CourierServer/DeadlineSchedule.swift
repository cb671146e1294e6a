/// When each scheduled connection of a loop is next due, as a min-heap with no I/O. A
/// connection has one live entry: rescheduling leaves the old one in the heap, stale, and a
/// stale entry (its time is not the connection's time any more) is dropped when it comes up.
package struct DeadlineSchedule {
    private struct Entry {
        let due: UInt64
        let id: ObjectIdentifier
    }

    private var heap: [Entry] = []
    /// Each connection's live time.
    private var dueByID: [ObjectIdentifier: UInt64] = [:]

    package var count: Int { dueByID.count }

    package init() {}

    package mutating func schedule(_ id: ObjectIdentifier, at due: UInt64) {
        dueByID[id] = due
        push(Entry(due: due, id: id))
    }

    /// Moves the connection's time earlier; a later one changes nothing (it is checked at its
    /// current time and asked again then).
    package mutating func scheduleIfEarlier(_ id: ObjectIdentifier, at due: UInt64) {
        if let current = dueByID[id], current <= due { return }
        schedule(id, at: due)
    }

    package mutating func forget(_ id: ObjectIdentifier) {
        dueByID[id] = nil
        if dueByID.isEmpty { heap.removeAll(keepingCapacity: heap.capacity <= 4096) }
    }

    /// The next connection due at `now` (taken out: schedule it again after checking it).
    package mutating func popDue(now: UInt64) -> ObjectIdentifier? {
        while let first = heap.first, first.due <= now {
            popFirst()
            guard dueByID[first.id] == first.due else { continue }
            dueByID[first.id] = nil
            return first.id
        }
        return nil
    }

    private mutating func push(_ entry: Entry) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].due < heap[parent].due else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func popFirst() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count && heap[left].due < heap[smallest].due { smallest = left }
            if right < heap.count && heap[right].due < heap[smallest].due { smallest = right }
            guard smallest != parent else { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
