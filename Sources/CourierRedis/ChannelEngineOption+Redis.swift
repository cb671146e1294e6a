import CourierChannel

extension ChannelEngineOption {
    /// Channels kept in Redis, so any number of processes on any number of machines serve the
    /// same clients behind any load balancer: `ChannelService(..., engine: .redis(endpoint))`.
    public static func redis(_ endpoint: RedisEndpoint, configuration: RedisConfiguration = RedisConfiguration()) -> ChannelEngineOption {
        ChannelEngineOption { settings, clock, logger in
            RedisChannelEngine(endpoint: endpoint, settings: settings, clock: clock, logger: logger, configuration: configuration)
        }
    }

    /// `redis://[:password@]host[:port][/db]`; a malformed URL throws before anything starts.
    public static func redis(url: String, configuration: RedisConfiguration = RedisConfiguration()) throws(RedisError) -> ChannelEngineOption {
        redis(try RedisEndpoint(url: url), configuration: configuration)
    }
}
