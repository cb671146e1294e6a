public import CoreMetrics
public import Prometheus

/// Turns on Courier's metrics, through swift-metrics, and serves them to Prometheus:
///
///     app.use(Metrics(path: "/metrics"))
///
/// Off until added: an app without it makes no instrument and its requests pay one check.
/// Once added, the app reports requests by method, route template and status, their duration,
/// the open connections and WebSockets, and (from `Channels` and the Redis engine) channel
/// clients, messages, presence and Redis round trips; README's "Metrics" lists every series.
///
/// The endpoint is refused (404, as if it were not there) to anyone `allow` turns away: by
/// default everyone but this machine, and anything that came through a proxy, which names the
/// client it forwards in `X-Forwarded-For`, `X-Real-IP` or `Forwarded`. Counts of routes,
/// statuses and clients are for operators, not visitors, as presence is for the app alone.
public struct Metrics: RouteProvider {
    /// Where the Prometheus text is served; nil when reporting to another backend only.
    public let path: String?
    /// The registry the endpoint serves. Bootstrap `MetricsSystem` with a
    /// `PrometheusMetricsFactory` over the same registry and the app's own swift-metrics
    /// instruments are served beside Courier's.
    public let registry: PrometheusCollectorRegistry?
    let factory: any MetricsFactory
    let allow: @Sendable (Request) -> Bool
    /// Request durations, rendered by the endpoint itself (see `DurationHistograms`).
    let durations: DurationHistograms?

    /// Serves `registry` (a new one unless given) in Prometheus' text format at `path`, to
    /// requests `allow` accepts (`fromThisMachine` unless given); others get 404.
    public init(path: String = "/metrics", registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
                allow: @escaping @Sendable (Request) -> Bool = Metrics.fromThisMachine) {
        var factory = PrometheusMetricsFactory(registry: registry)
        // Prometheus' default buckets start at 5 ms: a Redis round trip in 100 µs would fall in the first.
        factory.durationHistogramBuckets["redis_round_trip_duration_seconds"] = Self.durationBuckets
        durations = DurationHistograms(name: "http_request_duration_seconds", buckets: Self.durationBuckets)
        self.path = path
        self.registry = registry
        self.factory = factory
        self.allow = allow
    }

    /// Reports to `factory` (a StatsD or OpenTelemetry backend, or `MetricsSystem.factory`)
    /// and serves nothing: for a backend that pushes, or an app that serves the text itself.
    public init(reportingTo factory: any MetricsFactory) {
        path = nil
        registry = nil
        self.factory = factory
        allow = { _ in false }
        durations = nil
    }

    /// The default `allow`: a peer on this machine (127.0.0.0/8, ::1, or an in-process test)
    /// that no proxy forwarded. Behind a proxy on the same machine every request comes from
    /// loopback, and the forwarding header is what tells an outside client from a scraper.
    @Sendable public static func fromThisMachine(_ request: Request) -> Bool {
        for header in ["X-Forwarded-For", "X-Real-IP", "Forwarded"] where request.headers[header] != nil { return false }
        let address = request.remoteAddress
        return address.hasPrefix("127.") || address.hasPrefix("[::1]:") || address.hasPrefix("[::ffff:127.")
            || address == "in-process"
    }

    /// Points the app's instruments at the factory and routes GET `path` (HEAD too).
    public func mount(on app: Application) throws {
        app.measure(with: factory, durations: durations)
        guard let path, let registry else { return }
        let allow = allow
        let durations = durations
        app.get(path) { request, response in
            guard allow(request) else { throw HTTPError(.notFound) }
            response.contentType = "text/plain; version=0.0.4; charset=utf-8"
            response.headers.set("Cache-Control", "no-store")
            var text = registry.emitToString()
            durations?.emit(into: &text)
            response.write(text)
        }
    }

    /// 100 µs to 5 s, two to a decade (a request of Hello takes 10 µs; a Redis round trip 100 µs).
    static let durationBuckets: [Duration] = [
        .microseconds(100), .microseconds(500), .microseconds(2_500), .milliseconds(10), .milliseconds(50),
        .milliseconds(250), .seconds(1), .seconds(5),
    ]
}
