import CoreMetrics
import Synchronization

/// `http_request_duration_seconds` for the Prometheus endpoint: a histogram per route and method
/// whose buckets each loop counts in memory of its own (a `DurationShard`, a swift-metrics
/// `TimerHandler`), summed only when scraped. swift-prometheus' histogram takes a lock and
/// walks every bucket for each value: 500 instructions a request, 5% of a minimal one; a shard
/// finds one bucket and adds to it, with no lock and no contended cache line.
final class DurationHistograms: Sendable {
    let name: String
    /// Upper bounds in nanoseconds, ascending; above the last is +Inf.
    let bounds: [Int64]
    private let series = Mutex<[(labels: String, shards: [DurationShard])]>([])

    init(name: String, buckets: [Duration]) {
        self.name = name
        bounds = buckets.map { $0.components.seconds * 1_000_000_000 + $0.components.attoseconds / 1_000_000_000 }
    }

    /// A shard of the series with these labels, for one loop (or one lock) to record into.
    func makeShard(dimensions: [(String, String)]) -> DurationShard {
        let labels = dimensions.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",")
        let shard = DurationShard(bounds: bounds)
        series.withLock { series in
            if let index = series.firstIndex(where: { $0.labels == labels }) {
                series[index].shards.append(shard)
            } else {
                series.append((labels, [shard]))
            }
        }
        return shard
    }

    /// The series in Prometheus' text format, each shard's counts added up.
    func emit(into text: inout String) {
        let snapshot = series.withLock { $0 }
        guard !snapshot.isEmpty else { return }
        text += "# TYPE \(name) histogram\n"
        for (labels, shards) in snapshot {
            var counts = Array(repeating: 0, count: bounds.count + 1)
            var sum: Int64 = 0
            for shard in shards { shard.add(into: &counts, sum: &sum) }
            var cumulative = 0
            for (index, bound) in bounds.enumerated() {
                cumulative += counts[index]
                text += "\(name)_bucket{\(labels),le=\"\(Self.seconds(bound))\"} \(cumulative)\n"
            }
            cumulative += counts[bounds.count]
            text += "\(name)_bucket{\(labels),le=\"+Inf\"} \(cumulative)\n"
            text += "\(name)_sum{\(labels)} \(Double(sum) / 1e9)\n"
            text += "\(name)_count{\(labels)} \(cumulative)\n"
        }
    }

    private static func seconds(_ nanoseconds: Int64) -> String { "\(Double(nanoseconds) / 1e9)" }

    private static func escape(_ value: String) -> String {
        var escaped = ""
        for character in value {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}

/// One loop's counts for one histogram series. Written by one thread at a time (its loop, or
/// whoever holds the lock of the cache it belongs to), read by a scrape: relaxed atomic loads
/// and stores, so a record is a plain read and write with no lock prefix, and nothing is lost
/// since nobody else writes.
final class DurationShard: TimerHandler, @unchecked Sendable {
    // @unchecked Sendable: the pointers are allocated once and freed in deinit; every access
    // through them is atomic.
    private let bounds: UnsafeMutableBufferPointer<Int64>
    /// Per bucket (not cumulative), the last for values above every bound.
    private let counts: UnsafeMutablePointer<Atomic<Int>>
    private let sum = Atomic<Int64>(0)

    init(bounds: [Int64]) {
        self.bounds = .allocate(capacity: bounds.count)
        _ = self.bounds.initialize(from: bounds)
        counts = .allocate(capacity: bounds.count + 1)
        for index in 0...bounds.count { (counts + index).initialize(to: Atomic(0)) }
    }

    deinit {
        bounds.deallocate()
        counts.deinitialize(count: bounds.count + 1)
        counts.deallocate()
    }

    func recordNanoseconds(_ duration: Int64) {
        var index = 0
        while index < bounds.count, duration > bounds[index] { index += 1 }
        let count = counts + index
        count.pointee.store(count.pointee.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
        sum.store(sum.load(ordering: .relaxed) &+ duration, ordering: .relaxed)
    }

    func add(into totals: inout [Int], sum total: inout Int64) {
        for index in 0...bounds.count { totals[index] += (counts + index).pointee.load(ordering: .relaxed) }
        total += sum.load(ordering: .relaxed)
    }
}
