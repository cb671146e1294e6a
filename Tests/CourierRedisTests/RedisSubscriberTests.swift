import CourierLoop
import CourierRedis
import Testing

@Suite struct RedisSubscriberTests {
    @Test func messagesArriveInPublishingOrder() async throws {
        try await withRedis { server, loop in
            let subscriber = try RedisSubscriber(loop: loop, url: server.url)
            let publisher = try RedisConnection(loop: loop, url: server.url)
            let received = Recorder<String>()
            let other = Recorder<String>()
            try await subscriber.subscribe("room:1") { message in received.append(message.text ?? "?") }
            try await subscriber.subscribe("room:2") { message in other.append(message.text ?? "?") }
            let count = 1_000
            await loop.run {
                for index in 0..<count { publisher.send(["PUBLISH", "room:1", "message \(index)"]) { _ in } }
                publisher.send(["PUBLISH", "room:2", "elsewhere"]) { _ in }
            }
            #expect(await eventually { received.count == count && other.count == 1 })
            #expect(received.all == (0..<count).map { "message \($0)" })
            #expect(other.all == ["elsewhere"])
            subscriber.close()
            publisher.close()
        }
    }

    @Test func binaryChannelsAndPayloads() async throws {
        try await withRedis { server, loop in
            let subscriber = try RedisSubscriber(loop: loop, url: server.url)
            let publisher = try RedisConnection(loop: loop, url: server.url)
            let channel: [UInt8] = [0, 255, 13, 10]
            let payload = (0...255).map { UInt8($0) }
            let received = Recorder<RedisMessage>()
            try await subscriber.subscribe(channel) { received.append($0) }
            #expect(try await publisher.send([bytes("PUBLISH"), channel, payload]).int == 1)
            #expect(await eventually { received.count == 1 })
            #expect(received.all == [RedisMessage(channel: channel, payload: payload)])
            subscriber.close()
            publisher.close()
        }
    }

    @Test func resubscribesAfterClientKillAndSaysSo() async throws {
        try await withRedis { server, loop in
            let subscriber = try RedisSubscriber(loop: loop, url: server.url)
            let publisher = try RedisConnection(loop: loop, url: server.url)
            let events = Recorder<String>()
            await loop.run {
                subscriber.onDisconnected = { error in events.append("disconnected: \(error)") }
                subscriber.onResubscribed = { events.append("resubscribed") }
            }
            let received = Recorder<String>()
            try await subscriber.subscribe("news") { received.append($0.text ?? "?") }
            try await subscriber.subscribe("sports") { received.append("sports: " + ($0.text ?? "?")) }
            #expect(try await publisher.send("PUBLISH", "news", "before").int == 1)
            #expect(await eventually { received.count == 1 })
            try await Task.sleep(for: .milliseconds(150))

            #expect(try await publisher.send("CLIENT", "KILL", "TYPE", "pubsub").int == 1)
            #expect(await eventually { events.all.contains("resubscribed") })
            #expect(events.all.count == 2)
            #expect(events.all.first?.hasPrefix("disconnected: the connection to Redis was lost") == true, "\(events.all)")
            #expect(try await publisher.send("PUBSUB", "NUMSUB", "news", "sports")
                == .array([.bulk(bytes("news")), .integer(1), .bulk(bytes("sports")), .integer(1)]))
            #expect(try await publisher.send("PUBLISH", "news", "after").int == 1)
            #expect(try await publisher.send("PUBLISH", "sports", "goal").int == 1)
            #expect(await eventually { received.count == 3 })
            #expect(received.all == ["before", "after", "sports: goal"])
            subscriber.close()
            publisher.close()
        }
    }

    @Test func resubscribesAfterTheServerRestarts() async throws {
        try await withRedis { server, loop in
            let subscriber = try RedisSubscriber(loop: loop, url: server.url)
            let resubscribed = Recorder<Bool>()
            await loop.run { subscriber.onResubscribed = { resubscribed.append(true) } }
            let received = Recorder<String>()
            try await subscriber.subscribe("news") { received.append($0.text ?? "?") }
            server.kill()
            try await Task.sleep(for: .milliseconds(300))
            try await server.restart()
            #expect(await eventually { resubscribed.count == 1 })
            let publisher = try RedisConnection(loop: loop, url: server.url)
            #expect(try await publisher.send("PUBLISH", "news", "back").int == 1)
            #expect(await eventually { received.count == 1 })
            #expect(received.all == ["back"])
            subscriber.close()
            publisher.close()
        }
    }

    @Test func unsubscribeStopsDelivery() async throws {
        try await withRedis { server, loop in
            let subscriber = try RedisSubscriber(loop: loop, url: server.url)
            let publisher = try RedisConnection(loop: loop, url: server.url)
            let received = Recorder<String>()
            try await subscriber.subscribe("a") { received.append($0.text ?? "?") }
            subscriber.unsubscribe("a")
            #expect(await eventually { (try? await publisher.send("PUBLISH", "a", "x").int) == 0 })
            // Subscribed again right after unsubscribing: confirmed by its own SUBSCRIBE.
            try await subscriber.subscribe("a") { received.append("again: " + ($0.text ?? "?")) }
            #expect(try await publisher.send("PUBLISH", "a", "y").int == 1)
            #expect(await eventually { received.count == 1 })
            #expect(received.all == ["again: y"])
            subscriber.close()
            publisher.close()
        }
    }

    @Test func subscribingWithNothingListeningFailsButTheChannelIsKept() async throws {
        try await withLoop { loop in
            let port = try RedisServerProcess.freePort()
            let subscriber = try RedisSubscriber(loop: loop, url: "redis://127.0.0.1:\(port)")
            let error = await redisError { try await subscriber.subscribe("news") { _ in } }
            guard case .notConnected(let reason) = error else { throw Failure("\(String(describing: error))") }
            #expect(reason.contains("ECONNREFUSED"))
            let channels = Recorder<[[UInt8]]>()
            await loop.run { channels.append(subscriber.channels) }
            #expect(channels.all == [[bytes("news")]])
            subscriber.close()
        }
    }

    /// Nothing is published and nothing is reset, yet the subscriber must notice that no one
    /// answers any more: its ping does.
    @Test func aFrozenServerIsNoticedByThePing() async throws {
        try await withRedis { server, loop in
            var configuration = RedisConfiguration()
            configuration.subscriberPingInterval = .milliseconds(100)
            let subscriber = try RedisSubscriber(loop: loop, url: server.url, configuration: configuration)
            let events = Recorder<String>()
            await loop.run {
                subscriber.onDisconnected = { error in events.append("\(error)") }
                subscriber.onResubscribed = { events.append("resubscribed") }
            }
            try await subscriber.subscribe("news") { _ in }
            server.pause()
            defer { server.resume() }
            #expect(await eventually(within: .seconds(2)) { events.count == 1 })
            #expect(events.all.first?.contains("no answer to PING") == true, "\(events.all)")
            server.resume()
            #expect(await eventually { events.all.last == "resubscribed" })
            #expect(events.count == 2)
            subscriber.close()
        }
    }
}
