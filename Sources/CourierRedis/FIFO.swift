/// A queue with O(1) appends and removals at both ends, for the pipeline's waiting replies:
/// `Array.removeFirst` is O(n), and 10,000 pipelined commands would make answering them O(n²).
/// Slots are cleared as they are taken, so an answered command's completion is released at once.
struct FIFO<Element> {
    private var storage: [Element?] = []
    private var head = 0

    var isEmpty: Bool { head == storage.count }
    var count: Int { storage.count - head }
    var first: Element? { isEmpty ? nil : storage[head] }
    var last: Element? { isEmpty ? nil : storage[storage.count - 1] }

    mutating func append(_ element: Element) {
        storage.append(element)
    }

    mutating func popFirst() -> Element? {
        guard !isEmpty else { return nil }
        let element = storage[head]
        storage[head] = nil
        head += 1
        if head == storage.count {
            storage.removeAll(keepingCapacity: storage.count <= 4_096)
            head = 0
        } else if head >= 1_024 && head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return element
    }

    mutating func popLast() -> Element? {
        guard !isEmpty else { return nil }
        let element = storage.removeLast()
        if head == storage.count {
            storage.removeAll(keepingCapacity: storage.count <= 4_096)
            head = 0
        }
        return element
    }

    /// Empties the queue, returning its elements oldest first.
    mutating func removeAll() -> [Element] {
        let elements = storage[head...].map { $0! }
        storage = []
        head = 0
        return elements
    }
}
