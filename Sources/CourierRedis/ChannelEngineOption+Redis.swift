import Courier
import CourierChannel
import Foundation

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

extension ChannelEngineOption {
    /// `--redis URL` (or `REDIS_URL`) from a server's command line: the Redis engine when given,
    /// else the in-memory one. Every example takes it, so any of them runs as a cluster node.
    public static func fromCommandLine(_ options: CommandLineOptions = CommandLineOptions()) throws -> ChannelEngineOption {
        let url = options.value("redis") ?? ProcessInfo.processInfo.environment["REDIS_URL"].flatMap { $0.isEmpty ? nil : $0 }
        guard let url else { return .inMemory }
        do {
            return try .redis(url: url)
        } catch {
            throw ApplicationError("--redis: \(error)")
        }
    }
}
