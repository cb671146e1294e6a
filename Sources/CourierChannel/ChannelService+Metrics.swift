import CoreMetrics

extension ChannelService {
    /// Reports the service's series, and its engine's (Redis round trips), to `factory`:
    /// `Channels` asks the app for it when mounted.
    func measure(with factory: any MetricsFactory) {
        metrics.start(factory)
        engine.measure(with: factory)
    }
}
