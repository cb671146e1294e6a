/// Swift's hash tables never shrink: a table that held 16,700 clients kept their buckets for
/// good after they left, in every table a client passes through, and its pages with them (part of
/// why a node's memory did not come back). Rebuilt once an eighth full, which costs O(count) after
/// at least seven eighths of the capacity was removed: amortised O(1) per removal.
extension Dictionary {
    package mutating func shrinkIfSparse() {
        guard capacity > 64, count < capacity / 8 else { return }
        var smaller = Dictionary(minimumCapacity: count)
        for (key, value) in self { smaller[key] = value }
        self = smaller
    }
}
