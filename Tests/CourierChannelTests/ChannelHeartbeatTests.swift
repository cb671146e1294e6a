import Courier
import CourierChannel
import CourierTesting
import Testing

/// Section 5: "Disconnect is reported ... within one heartbeat interval (default 30 s,
/// configurable) of a silently dead client". A short heartbeat (2 s) makes that observable: the
/// report must come within one heartbeat of the client going silent, plus a second for a busy
/// machine; and a client that is still alive is never reported gone.
@Suite struct ChannelHeartbeatTests {
    static let heartbeat: Double = 2
    static var reportBound: Duration { .milliseconds(Int((heartbeat + 1) * 1000)) }

    @Test func webSocketThatStopsAnsweringPingsIsReportedGoneOnce() async throws {
        let log = PresenceLog()
        let service = ChannelService(secret: testSecret, settings: testSettings(heartbeatSeconds: Self.heartbeat))
        try await withChannelServer(service, presence: log) { port in
            let socket = try ChannelSocket(port: port)
            _ = try await socket.opened(token: try service.createChannel(clientID: "quiet-ws"))
            #expect(await log.wait(forCount: 1) == [event("quiet-ws", true)])

            // Alive for two and a half heartbeats: the server pings, the client answers, and
            // nothing is reported.
            let pings = try await socket.client.blocking { client in
                try answerPings(client, forSeconds: Self.heartbeat * 2.5)
            }
            #expect(pings >= 2, "the server should ping a client that sends nothing")
            #expect(log.all == [event("quiet-ws", true)])

            // Silent from now on: no pong, no data, no close, the TCP connection left open.
            let silentAt = ContinuousClock.now
            let events = await log.wait(forCount: 2, seconds: Self.heartbeat * 3 + 4)
            #expect(events == [event("quiet-ws", true), event("quiet-ws", false)])
            if events.count == 2 {
                #expect(events[1].at > silentAt)
                #expect(events[1].at - silentAt < Self.reportBound, "reported \(events[1].at - silentAt) after the client went silent")
            }
            // The server has given up on the connection.
            #expect(await socket.client.waitForTCPClose())
            try await Task.sleep(for: .seconds(Self.heartbeat))
            #expect(log.all == [event("quiet-ws", true), event("quiet-ws", false)])
        }
    }

    @Test func longPollClientThatStopsPollingIsReportedGoneOnce() async throws {
        let log = PresenceLog()
        let service = ChannelService(secret: testSecret,
                                     settings: testSettings(heartbeatSeconds: Self.heartbeat, pollTimeoutSeconds: 0.5))
        try await withChannelServer(service, presence: log) { port in
            let token = try service.createChannel(clientID: "quiet-lp")
            var poller = try PollingSubscriber(port: port, token: token)
            #expect(try await poller.open().isEmpty)
            #expect(await log.wait(forCount: 1) == [event("quiet-lp", true)])

            // Polling for two and a half heartbeats: each poll waits out the poll timeout.
            let aliveUntil = ContinuousClock.now + .milliseconds(Int(Self.heartbeat * 2.5 * 1000))
            var polls = 0
            while ContinuousClock.now < aliveUntil {
                #expect(try await poller.isSilent())
                polls += 1
            }
            #expect(polls >= 3)
            #expect(log.all == [event("quiet-lp", true)])

            // No more polls (and no close).
            let silentAt = ContinuousClock.now
            let events = await log.wait(forCount: 2, seconds: Self.heartbeat * 3 + 4)
            #expect(events == [event("quiet-lp", true), event("quiet-lp", false)])
            if events.count == 2 {
                #expect(events[1].at > silentAt)
                #expect(events[1].at - silentAt < Self.reportBound, "reported \(events[1].at - silentAt) after the client went silent")
            }
            try await Task.sleep(for: .seconds(Self.heartbeat))
            #expect(log.all == [event("quiet-lp", true), event("quiet-lp", false)])
        }
    }

    /// A long-poll client is almost always inside a poll, so that is where it dies (a closed tab,
    /// a lost network): its waiting poll must not keep it "connected" past the heartbeat. The
    /// poll timeout here is most of a heartbeat, as with the defaults (20 s of 30 s), and the bound
    /// is one heartbeat plus slack: the poll timeout added to the heartbeat would exceed it.
    @Test func longPollClientThatDiesMidPollIsReportedGoneWithinAHeartbeat() async throws {
        let log = PresenceLog()
        let heartbeat: Double = 6
        let service = ChannelService(secret: testSecret,
                                     settings: testSettings(heartbeatSeconds: heartbeat, pollTimeoutSeconds: 5))
        try await withChannelServer(service, presence: log) { port in
            let token = try service.createChannel(clientID: "dies-polling")
            var poller = try PollingSubscriber(port: port, token: token)
            #expect(try await poller.open().isEmpty)
            #expect(await log.wait(forCount: 1) == [event("dies-polling", true)])
            // Alive: two polls that each wait out the whole poll timeout, back to back.
            #expect(try await poller.isSilent())
            #expect(try await poller.isSilent())
            #expect(log.all == [event("dies-polling", true)])
            #expect(poller.client.sendPoll(token: token, session: poller.session, seq: 0))
            let silentAt = ContinuousClock.now
            try await Task.sleep(for: .milliseconds(200))
            poller.client.raw.close()
            let events = await log.wait(forCount: 2, seconds: heartbeat + 8)
            #expect(events == [event("dies-polling", true), event("dies-polling", false)])
            if events.count == 2 {
                #expect(events[1].at > silentAt)
                #expect(events[1].at - silentAt < .seconds(heartbeat + 1), "reported \(events[1].at - silentAt) after the last poll")
            }
            try await Task.sleep(for: .seconds(2))
            #expect(log.all.count == 2)
        }
    }

    @Test func clientThatKeepsPingingLikeTheJavaScriptClientStaysConnected() async throws {
        let log = PresenceLog()
        // A longer heartbeat than the others: the pong timeout (a quarter of it) must outlast a
        // test thread starved while every suite starts at once.
        let heartbeat = Self.heartbeat * 3
        let service = ChannelService(secret: testSecret, settings: testSettings(heartbeatSeconds: heartbeat))
        try await withChannelServer(service, presence: log) { port in
            let socket = try ChannelSocket(port: port)
            _ = try await socket.opened(token: try service.createChannel(clientID: "chatty"))
            #expect(await log.wait(forCount: 1) == [event("chatty", true)])
            // The channel's own ping frame every half heartbeat, answered with pong; the
            // WebSocket-level pings of the server are answered too (as a browser does).
            let until = ContinuousClock.now + .milliseconds(Int(heartbeat * 3 * 1000))
            while ContinuousClock.now < until {
                socket.client.sendText("{\"type\":\"ping\"}")
                let pong = try await socket.client.blocking { client in try nextChannelFrame(client) }
                #expect(pong == "{\"type\":\"pong\"}")
                try await Task.sleep(for: .milliseconds(Int(heartbeat * 1000 / 4)))
            }
            #expect(log.all == [event("chatty", true)])
            try service.sendMessage(clientID: "chatty", message: "still here")
            #expect(try await socket.next() == .message(1, "still here"))
        }
    }
}

/// Reads frames for `seconds`, answering each WebSocket ping with a pong; returns how many
/// pings came. Runs on the client's own thread so the answers are prompt.
private func answerPings(_ client: WebSocketTestClient, forSeconds seconds: Double) throws -> Int {
    let until = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    client.setTimeout(milliseconds: 100)
    defer { client.setTimeout(milliseconds: 5_000) }
    var pings = 0
    while ContinuousClock.now < until {
        let frame: ServerFrame
        do {
            frame = try client.readFrameBlocking()
        } catch WebSocketTestClient.Failure.timedOut {
            continue
        }
        if frame.opcode == WebSocketOpcode.ping.rawValue {
            pings += 1
            client.send(WebSocketOpcode.pong.rawValue, frame.payload)
        }
    }
    return pings
}

/// The next text frame, answering WebSocket pings on the way.
private func nextChannelFrame(_ client: WebSocketTestClient) throws -> String {
    while true {
        let frame = try client.readFrameBlocking()
        if frame.opcode == WebSocketOpcode.ping.rawValue {
            client.send(WebSocketOpcode.pong.rawValue, frame.payload)
        } else if frame.opcode == WebSocketOpcode.text.rawValue {
            return frame.text
        }
    }
}
