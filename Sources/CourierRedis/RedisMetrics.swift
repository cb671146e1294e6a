import CoreMetrics
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The Redis engine's series, through swift-metrics, once the app has `Metrics`:
/// `redis_round_trips_total` (a command and its reply, on any of the engine's command
/// connections) and `redis_round_trip_duration_seconds` (from the command's hand-off to the
/// socket to its reply). Until then a command pays an uncontended lock and a nil check.
package final class RedisMetrics: Sendable {
    private let instruments = Mutex<Instruments?>(nil)

    package init() {}

    /// Starts reporting to `factory`; a later call replaces it.
    func start(_ factory: any MetricsFactory) {
        let made = Instruments(factory)
        instruments.withLock { $0 = made }
    }

    /// When a command leaves, in monotonic nanoseconds; 0 while nothing is measured.
    func commandSent() -> Int64 {
        guard instruments.withLock({ $0 != nil }) else { return 0 }
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }

    /// A reply arrived for a command sent at `sentAt` (`commandSent()`'s value).
    func replied(sentAt: Int64) {
        guard sentAt != 0, let instruments = instruments.withLock({ $0 }) else { return }
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        let now = Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
        instruments.roundTrips.increment()
        instruments.duration.recordNanoseconds(now - sentAt)
    }

    private final class Instruments: Sendable {
        let roundTrips: Counter
        let duration: CoreMetrics.Timer

        init(_ factory: any MetricsFactory) {
            roundTrips = Counter(label: "redis_round_trips_total", factory: factory)
            duration = CoreMetrics.Timer(label: "redis_round_trip_duration_seconds", factory: factory)
        }
    }
}
