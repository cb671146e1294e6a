import Courier
import CourierChannel
import CourierRedis
import CourierTesting
import Testing

/// With the Redis engine, the app's `/metrics` counts the engine's round trips to Redis.
@Suite(.serialized) struct RedisMetricsTests {
    @Test func roundTripsToRedisAreCountedAndTimed() async throws {
        let redis = try await RedisServerProcess.start()
        defer { redis.stop() }
        let service = ChannelService(secret: Array(0..<32), engine: try .redis(url: redis.url))
        let app = Application()
        app.use(Metrics(path: "/metrics"), Channels(service))
        try await app.test(.live) { client throws in
            let before = try await client.get("/metrics").prometheusSamples["redis_round_trips_total"] ?? 0
            for index in 1...5 {
                try await service.sendMessage(clientID: "r1", message: "m\(index)", idempotencyKey: nil)
            }
            let samples = try await client.get("/metrics").prometheusSamples
            let roundTrips = samples["redis_round_trips_total"] ?? 0
            #expect(roundTrips >= before + 5, "\(samples)")
            #expect((samples["redis_round_trip_duration_seconds_count"] ?? 0) >= before + 5)
            #expect(samples["channel_messages_sent_total"] == 5)
        }
    }
}
