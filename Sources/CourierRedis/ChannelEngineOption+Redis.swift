public import ArgumentParser
import Courier
public import CourierChannel
import Foundation

/// The Redis engine, `.redis(url:)`, beside `.inMemory`.
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

/// `--redis URL` (or `REDIS_URL`), for any app's command: the Redis engine when given, else the
/// in-memory one. Every example embeds it, so any of them runs as a cluster node.
public struct RedisOptions: ParsableArguments, Sendable {
    /// The Redis URL from `--redis`, or from `REDIS_URL` once validated; nil keeps channels in this process.
    @Option(help: ArgumentHelp("Keep the channels in Redis (redis://[:password@]host[:port][/db]; default: $REDIS_URL, else in this process only).",
                               valueName: "url"))
    public var redis: String?

    /// No URL; ArgumentParser fills the option in.
    public init() {}

    /// Falls back to `REDIS_URL` and parses the URL now, so a bad one stops the command with a message naming `--redis` before anything starts.
    public mutating func validate() throws {
        if redis == nil { redis = ServerOptions.environment("REDIS_URL") }
        if let redis {
            do {
                _ = try RedisEndpoint(url: redis)
            } catch {
                throw ValidationError("--redis: \(error)")
            }
        }
    }

    /// The engine the options ask for.
    public var engine: ChannelEngineOption {
        get throws {
            guard let redis else { return .inMemory }
            return try .redis(url: redis)
        }
    }
}
