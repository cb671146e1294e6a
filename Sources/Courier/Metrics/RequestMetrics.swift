import CoreMetrics
import CourierHTTP
import CourierLoop
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `http_requests_total{method,route,status}` and `http_request_duration_seconds{method,route}`
/// through swift-metrics. The route is the template (`/game/<key>`), never the path, and a
/// method the app does not implement is `other`, so a client cannot add series by inventing
/// paths or methods. Each loop keeps its own cache of the instruments, found by the route's
/// number, the method's and the status, so a request makes no label strings and takes no lock.
final class RequestMetrics: Sendable {
    static let requestsLabel = "http_requests_total"
    static let durationLabel = "http_request_duration_seconds"
    /// What a request that matched no route is labelled with (404, 405, 501).
    static let unmatchedRoute = "unmatched"

    private let factory: any MetricsFactory
    /// The Prometheus endpoint's own duration histograms; nil: the factory's timers.
    private let durations: DurationHistograms?
    /// By route number + 1; 0 for a request that matched no route.
    private let routeLabels: [String]
    /// The methods with a label of their own, GET first (the one most requests have);
    /// any other is counted as `other`.
    private let methods: [HTTPMethod]
    /// For a request answered off its loop (not one Courier's server makes): a cache under a lock.
    private let offLoop: Mutex<Cache>

    init(factory: any MetricsFactory, durations: DurationHistograms?, routeLabels: [String], methods: Set<HTTPMethod>) {
        self.factory = factory
        self.durations = durations
        let labels = [Self.unmatchedRoute] + routeLabels
        self.routeLabels = labels
        self.methods = [.get] + methods.subtracting([.get]).sorted { $0.rawValue < $1.rawValue }
        offLoop = Mutex(Cache(routeCount: labels.count))
    }

    /// Counts one answered request. `route` is the router's number for what it matched
    /// (negative for none), `nanoseconds` how long the app took to answer.
    func record(route: Int, method: HTTPMethod, status: Int, nanoseconds: Int64, on loop: EventLoop?) {
        let routeSlot = route >= 0 ? (route >> 8) + 1 : 0
        let methodSlot = method == .get ? 0 : methods.firstIndex(of: method) ?? methods.count
        guard routeSlot < routeLabels.count else { return }
        if let loop, loop.inEventLoop {
            let cache = loop.local(of: self) { Cache(routeCount: routeLabels.count) }
            cache.instruments(routeSlot, methodSlot, status, make: makeInstruments).record(nanoseconds)
        } else {
            offLoop.withLock { cache in
                cache.instruments(routeSlot, methodSlot, status, make: makeInstruments).record(nanoseconds)
            }
        }
    }

    /// Made once per loop for each route, method and status it sees (the registry hands every
    /// loop the same series).
    private func makeInstruments(_ routeSlot: Int, _ methodSlot: Int, _ status: Int) -> Instruments {
        let method = methodSlot < methods.count ? methods[methodSlot].rawValue : "other"
        let route = routeLabels[routeSlot]
        let timerDimensions = [("method", method), ("route", route)]
        let duration = durations.map {
            CoreMetrics.Timer(label: Self.durationLabel, dimensions: timerDimensions, handler: $0.makeShard(dimensions: timerDimensions),
                              factory: factory)
        } ?? CoreMetrics.Timer(label: Self.durationLabel, dimensions: timerDimensions, factory: factory)
        return Instruments(
            methodSlot: methodSlot, status: status,
            requests: Counter(label: Self.requestsLabel, dimensions: [("method", method), ("route", route), ("status", String(status))],
                              factory: factory),
            duration: duration)
    }

    /// A class: one reference to retain per request, not one per instrument.
    final class Instruments {
        let methodSlot: Int
        let status: Int
        let requests: Counter
        let duration: CoreMetrics.Timer

        init(methodSlot: Int, status: Int, requests: Counter, duration: CoreMetrics.Timer) {
            self.methodSlot = methodSlot
            self.status = status
            self.requests = requests
            self.duration = duration
        }

        func record(_ nanoseconds: Int64) {
            requests.increment()
            duration.recordNanoseconds(nanoseconds)
        }
    }

    /// One loop's instruments by route; a route's few (method, status) pairs are scanned.
    final class Cache {
        /// `@exclusivity(unchecked)`: used by one loop (or under `offLoop`'s lock), never re-entered.
        @exclusivity(unchecked) private var byRoute: [[Instruments]]

        init(routeCount: Int) { byRoute = Array(repeating: [], count: routeCount) }

        func instruments(_ routeSlot: Int, _ methodSlot: Int, _ status: Int,
                         make: (Int, Int, Int) -> Instruments) -> Instruments {
            for entry in byRoute[routeSlot] where entry.status == status && entry.methodSlot == methodSlot { return entry }
            let made = make(routeSlot, methodSlot, status)
            byRoute[routeSlot].append(made)
            return made
        }
    }

    /// The monotonic clock in nanoseconds, for request durations.
    static func now() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }
}
