import Courier
import CourierChannel
import Testing

/// Section 4: the long-poll transport carries the same frames as the WebSocket one.
@Suite struct LongPollTests {
    @Test func longPollGetsTheSameStreamAsAWebSocket() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        try await withChannelServer(service) { port in
            let socket = try ChannelSocket(port: port)
            _ = try await socket.opened(token: try service.createChannel(clientID: "ws"))
            let pollToken = try service.createChannel(clientID: "lp")
            let poller = try LongPollClient(port: port)
            let texts = ["a", "b \"c\"", "ü\n", "back\\slash\ttab\r\u{01}\u{1F}\u{7F} 🎲 \u{2028}", String(repeating: "x", count: 5_000)]
            for text in texts {
                try service.sendMessage(clientID: "ws", message: text)
                try service.sendMessage(clientID: "lp", message: text)
            }
            let first = try await poller.poll(token: pollToken)
            #expect(first.status == 200)
            let opened = try #require(first.frames.first)
            #expect(opened.type == "opened")
            let session = try #require(opened.session)
            var polled = Array(first.frames.dropFirst())
            var seen = polled.last?.seq ?? 0
            while polled.count < texts.count {
                let next = try await poller.poll(token: pollToken, session: session, seq: seen)
                #expect(next.status == 200)
                polled += next.frames
                seen = polled.last?.seq ?? seen
                if next.frames.isEmpty { break }
            }
            let pushed = try await socket.next(texts.count)
            #expect(polled == pushed)
            #expect(pushed == texts.enumerated().map { .message(UInt64($0.offset + 1), $0.element) })
        }
    }

    @Test func waitingPollIsAnsweredWhenAMessageArrives() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(pollTimeoutSeconds: 5), clock: ManualClock())
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "wait")
            let poller = try LongPollClient(port: port)
            let first = try await poller.poll(token: token)
            let session = try #require(first.frames.first?.session)
            #expect(first.frames.count == 1)
            async let answer = poller.poll(token: token, session: session, seq: 0)
            try await Task.sleep(for: .milliseconds(300))
            let sentAt = ContinuousClock.now
            try service.sendMessage(clientID: "wait", message: "ping")
            let result = try await answer
            #expect(result.frames == [.message(1, "ping")])
            #expect(ContinuousClock.now - sentAt < .seconds(2))
        }
    }

    @Test func emptyPollTimesOutWithEmptyArray() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(pollTimeoutSeconds: 0.5), clock: ManualClock())
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "idle")
            let poller = try LongPollClient(port: port)
            let session = try #require(try await poller.poll(token: token).frames.first?.session)
            let result = try await poller.poll(token: token, session: session, seq: 0)
            #expect(result.status == 200 && result.frames.isEmpty)
        }
    }

    @Test func lostPollResponseIsSentAgain() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(pollTimeoutSeconds: 0.5), clock: ManualClock())
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "again")
            let poller = try LongPollClient(port: port)
            let session = try #require(try await poller.poll(token: token).frames.first?.session)
            try service.sendMessage(clientID: "again", message: "one")
            try service.sendMessage(clientID: "again", message: "two")
            #expect(try await poller.poll(token: token, session: session, seq: 0).frames.map(\.seq) == [1, 2])
            // The client says it saw only seq 1 (the answer was lost in part): seq 2 comes again.
            #expect(try await poller.poll(token: token, session: session, seq: 1).frames == [.message(2, "two")])
        }
    }

    @Test func badTokensOnLongPoll() async throws {
        let clock = ManualClock()
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: clock)
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "lpbad", durationMinutes: 1)
            let poller = try LongPollClient(port: port)
            let invalid = try await poller.poll(token: tampered(token))
            #expect(invalid.status == 401 && invalid.frames == [.error(401, "Invalid+token.")])
            clock.advance(by: 61)
            let expired = try await poller.poll(token: token)
            #expect(expired.status == 401 && expired.frames == [.error(401, "Token+timed+out.")])
        }
    }

    /// A waiting long-poll is answered (empty) when the server begins shutting down, so
    /// shutdown does not wait for the poll timeout or the deadline: the client polls again and
    /// finds the server gone, as after any restart.
    @Test func shutdownAnswersAWaitingLongPollAtOnce() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(pollTimeoutSeconds: 60), clock: ManualClock())
        let app = Application()
        app.use(Channels(service))
        let server = try app.start(configuration: ServerConfiguration(host: "127.0.0.1", port: 0, workers: 1,
                                                                      shutdownDeadlineMilliseconds: 60_000, handlesSignals: false))
        let client = try LongPollClient(port: server.port)
        let token = try service.createChannel(clientID: "leaving")
        let first = try await client.poll(token: token)
        #expect(first.frames.first?.type == "opened")
        let session = try #require(first.frames.first?.session)
        let waiting = Task { try await client.poll(token: token, session: session, seq: 0) }
        try await Task.sleep(for: .milliseconds(300))
        let started = ContinuousClock.now
        server.shutdown()
        let answer = try await waiting.value
        #expect(answer.status == 200)
        #expect(answer.frames.isEmpty)
        await Task.detached { server.waitUntilStopped() }.value
        // Far below the 60 s poll timeout and deadline; generous for a loaded machine.
        #expect(ContinuousClock.now - started < .seconds(15))
    }
}
