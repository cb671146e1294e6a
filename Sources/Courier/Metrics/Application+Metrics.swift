package import CoreMetrics
import CourierServer

extension Application {
    /// Makes Courier's own instruments (requests, connections, and those of stages that asked
    /// with `whenMeasured`) report to `factory`. Called by `Metrics` when added; a second
    /// `Metrics` in one app is a build error naming it, as two sets of the same series would be.
    /// `durations`: where request durations go instead of the factory's timers.
    func measure(with factory: any MetricsFactory, durations: DurationHistograms?) {
        let observers = builder.withLock { builder -> [@Sendable (any MetricsFactory) -> Void] in
            guard builder.metricsFactory == nil else {
                builder.errors.append(ApplicationError("Metrics added twice: an app reports its metrics to one place"))
                return []
            }
            builder.metricsFactory = factory
            builder.durationHistograms = durations
            builder.serverMetrics = ServerMetrics(factory: factory)
            defer { builder.metricsObservers = [] }
            return builder.metricsObservers
        }
        for observer in observers { observer(factory) }
    }

    /// Runs `observer` with the app's metrics factory once there is one: now, if `Metrics` was
    /// added already, or when it is. A stage that measures (the channel service) asks here when
    /// mounted, so the order of `app.use` does not matter; without `Metrics` it is never called.
    package func whenMeasured(_ observer: @escaping @Sendable (any MetricsFactory) -> Void) {
        let factory = builder.withLock { builder -> (any MetricsFactory)? in
            if builder.metricsFactory == nil { builder.metricsObservers.append(observer) }
            return builder.metricsFactory
        }
        if let factory { observer(factory) }
    }
}
