import Courier
import CourierChannel
import CourierTesting
import Testing

/// The channel series on the app's `/metrics`, as an operator's scraper reads them.
@Suite struct ChannelMetricsTests {
    /// A message sent to a WebSocket client is counted sent, held and delivered; the client is
    /// counted by its transport while open, and its connect and disconnect as presence events.
    @Test func aChannelMessageIsCountedSentHeldAndDelivered() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings())
        // `Metrics` after `Channels`: the order of `use` does not matter.
        try await withChannelServer(service, presence: PresenceLog(), routes: { app in app.use(Metrics(path: "/metrics")) }) { port in
            let scraper = TestClient(port: port)
            let socket = try ChannelSocket(port: port)
            _ = try await socket.opened(token: try service.createChannel(clientID: "m1"))
            try service.sendMessage(clientID: "m1", message: "hello")
            #expect(try await socket.next() == .message(1, "hello"))
            #expect(await eventually {
                let samples = try await scraper.get("/metrics").prometheusSamples
                return samples["channel_messages_sent_total"] == 1 && samples["channel_messages_delivered_total"] == 1
                    && samples[#"channel_clients{transport="websocket"}"#] == 1
                    && samples[#"channel_presence_events_total{kind="connected"}"#] == 1
                    && samples["channel_messages_held"] == 1  // kept for replay, set by the sweep
            })
            socket.closeLikeTheJavaScriptClient()
            #expect(await eventually {
                let samples = try await scraper.get("/metrics").prometheusSamples
                return samples[#"channel_clients{transport="websocket"}"#] == 0
                    && samples[#"channel_presence_events_total{kind="disconnected"}"#] == 1
            })
        }
    }

    /// A long-poll client is counted under its own transport, and what a poll carries is delivered.
    @Test func aLongPollClientIsCountedByItsTransport() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        try await withChannelServer(service, middleware: [Metrics(path: "/metrics")]) { port in
            let scraper = TestClient(port: port)
            try service.sendMessage(clientID: "lp", message: "waiting")
            let poller = try LongPollClient(port: port)
            let first = try await poller.poll(token: try service.createChannel(clientID: "lp"))
            #expect(first.frames.map(\.type) == ["opened", "message"])
            let samples = try await scraper.get("/metrics").prometheusSamples
            #expect(samples[#"channel_clients{transport="longpoll"}"#] == 1)
            #expect(samples[#"channel_clients{transport="websocket"}"#] == 0)
            #expect(samples["channel_messages_sent_total"] == 1)
            #expect(samples["channel_messages_delivered_total"] == 1)
        }
    }
}

/// Polls `condition` (a scrape) until it holds, for at most three seconds.
func eventually(_ condition: () async throws -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .seconds(3)
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return true }
        try? await Task.sleep(for: .milliseconds(25))
    }
    return false
}
