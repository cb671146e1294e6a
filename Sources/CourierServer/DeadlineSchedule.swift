import CourierLoop

/// When each scheduled connection of a loop is next due, as a min-heap with no I/O. A
/// connection has one live entry: rescheduling leaves the old one in the heap, stale, and a
/// stale entry (its time is not the connection's time any more) is dropped when it comes up.
package struct DeadlineSchedule {
    private var heap = DueHeap<ObjectIdentifier, UInt64>()
    /// Each connection's live time.
    private var dueByID: [ObjectIdentifier: UInt64] = [:]

    package var count: Int { dueByID.count }

    package init() {}

    package mutating func schedule(_ id: ObjectIdentifier, at due: UInt64) {
        dueByID[id] = due
        heap.push(id, due: due)
    }

    /// Moves the connection's time earlier; a later one changes nothing (it is checked at its
    /// current time and asked again then).
    package mutating func scheduleIfEarlier(_ id: ObjectIdentifier, at due: UInt64) {
        if let current = dueByID[id], current <= due { return }
        schedule(id, at: due)
    }

    package mutating func forget(_ id: ObjectIdentifier) {
        dueByID[id] = nil
        dueByID.shrinkIfSparse()
        if dueByID.isEmpty { heap.removeAll() }
    }

    /// The next connection due at `now` (taken out: schedule it again after checking it).
    package mutating func popDue(now: UInt64) -> ObjectIdentifier? {
        while let (due, id) = heap.popDue(now: now) {
            guard dueByID[id] == due else { continue }
            dueByID[id] = nil
            return id
        }
        return nil
    }
}
