package import Logging

/// Which engine keeps a service's channels. `.inMemory`, the default, serves the loops of one
/// process; a module adding an engine adds its option (`CourierRedis`: `.redis(...)`, channels
/// across processes and machines).
public struct ChannelEngineOption: Sendable {
    package let make: @Sendable (ChannelSettings, any ChannelClock, Logger) -> any ChannelEngine

    package init(make: @escaping @Sendable (ChannelSettings, any ChannelClock, Logger) -> any ChannelEngine) {
        self.make = make
    }

    /// Channels held in this process, shared by all its loops: clients of other processes are not reached.
    public static var inMemory: ChannelEngineOption {
        ChannelEngineOption { settings, clock, logger in InMemoryChannelEngine(settings: settings, clock: clock, logger: logger) }
    }
}
