package import CoreMetrics

extension RedisChannelEngine {
    /// Reports round trips to `factory` (`redis_round_trips_total`, `redis_round_trip_duration_seconds`).
    package func measure(with factory: any MetricsFactory) { metrics.start(factory) }
}
