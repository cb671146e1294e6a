import Courier
import CourierChannel
import Testing

/// Section 5: presence goes through the app's own routes, once per connection, promptly, and
/// cannot be forged from outside.
@Suite struct ChannelPresenceTests {
    @Test func connectedAndDeliberateCloseReportedOnceEach() async throws {
        let log = PresenceLog()
        let service = ChannelService(secret: testSecret, settings: testSettings())
        try await withChannelServer(service, presence: log) { port in
            let socket = try ChannelSocket(port: port)
            _ = try await socket.opened(token: try service.createChannel(clientID: "p1"))
            #expect(await log.wait(forCount: 1) == [event("p1", true)])
            socket.closeLikeTheJavaScriptClient()
            #expect(await log.wait(forCount: 2) == [event("p1", true), event("p1", false)])
            try await Task.sleep(for: .milliseconds(1_500))
            #expect(log.all == [event("p1", true), event("p1", false)])
        }
    }

    @Test func closedWebSocketReportedWithinTwoSeconds() async throws {
        let log = PresenceLog()
        let service = ChannelService(secret: testSecret, settings: testSettings())
        try await withChannelServer(service, presence: log) { port in
            let socket = try ChannelSocket(port: port)
            _ = try await socket.opened(token: try service.createChannel(clientID: "p2"))
            #expect(await log.wait(forCount: 1) == [event("p2", true)])
            let closedAt = ContinuousClock.now
            socket.client.sendClose(code: 1001)
            let events = await log.wait(forCount: 2, seconds: 4)
            #expect(events == [event("p2", true), event("p2", false)])
            if events.count == 2 { #expect(events[1].at - closedAt < .seconds(2)) }
            try await Task.sleep(for: .milliseconds(700))
            #expect(log.all.count == 2)
        }
    }

    @Test func droppedTCPReportedWithinTwoSeconds() async throws {
        let log = PresenceLog()
        let service = ChannelService(secret: testSecret, settings: testSettings())
        try await withChannelServer(service, presence: log) { port in
            let socket = try ChannelSocket(port: port)
            _ = try await socket.opened(token: try service.createChannel(clientID: "p3"))
            #expect(await log.wait(forCount: 1) == [event("p3", true)])
            let droppedAt = ContinuousClock.now
            socket.client.drop()
            let events = await log.wait(forCount: 2, seconds: 4)
            #expect(events == [event("p3", true), event("p3", false)])
            if events.count == 2 { #expect(events[1].at - droppedAt < .seconds(2)) }
        }
    }

    @Test func reconnectWithinGraceProducesNoPresence() async throws {
        let log = PresenceLog()
        let service = ChannelService(secret: testSecret, settings: testSettings())
        try await withChannelServer(service, presence: log) { port in
            let token = try service.createChannel(clientID: "p4")
            let first = try ChannelSocket(port: port)
            let session = try #require(try await first.opened(token: token).session)
            #expect(await log.wait(forCount: 1) == [event("p4", true)])
            first.client.drop()
            try await Task.sleep(for: .milliseconds(200))
            let second = try ChannelSocket(port: port)
            _ = try await second.opened(token: token, session: session, seq: 0)
            // Well past the grace period (1 s) and a few sweeps.
            try await Task.sleep(for: .milliseconds(1_800))
            #expect(log.all == [event("p4", true)])
            second.closeLikeTheJavaScriptClient()
            #expect(await log.wait(forCount: 2) == [event("p4", true), event("p4", false)])
        }
    }

    /// A page reload: the old connection drops and a fresh open (no session to resume) comes
    /// within the grace. That is a new connection, not a blip: the old one's disconnected, then
    /// the new one's connected.
    @Test func aFreshOpenWithinTheGraceIsANewConnection() async throws {
        let log = PresenceLog()
        let service = ChannelService(secret: testSecret, settings: testSettings())
        try await withChannelServer(service, presence: log) { port in
            let token = try service.createChannel(clientID: "p6")
            let first = try ChannelSocket(port: port)
            _ = try await first.opened(token: token)
            #expect(await log.wait(forCount: 1) == [event("p6", true)])
            first.client.drop()
            try await Task.sleep(for: .milliseconds(200))
            let second = try ChannelSocket(port: port)
            _ = try await second.opened(token: token)
            #expect(await log.wait(forCount: 3) == [event("p6", true), event("p6", false), event("p6", true)])
            try await Task.sleep(for: .milliseconds(1_500))
            #expect(log.all.count == 3)
            second.closeLikeTheJavaScriptClient()
            #expect(await log.wait(forCount: 4) == [event("p6", true), event("p6", false), event("p6", true), event("p6", false)])
        }
    }

    /// A second tab: a fresh connection replaces a live one (which gets 409). Each connection
    /// has its connected and its disconnected, in order.
    @Test func aFreshConnectionReplacingALiveOneEndsItsPresence() async throws {
        let log = PresenceLog()
        let service = ChannelService(secret: testSecret, settings: testSettings())
        try await withChannelServer(service, presence: log) { port in
            let token = try service.createChannel(clientID: "p7")
            let first = try ChannelSocket(port: port)
            _ = try await first.opened(token: token)
            #expect(await log.wait(forCount: 1) == [event("p7", true)])
            let second = try ChannelSocket(port: port)
            _ = try await second.opened(token: token)
            #expect(try await first.next() == .error(409, "Replaced+by+another+connection."))
            #expect(await log.wait(forCount: 3) == [event("p7", true), event("p7", false), event("p7", true)])
            try await Task.sleep(for: .milliseconds(1_500))
            #expect(log.all.count == 3)
        }
    }

    @Test func eachConnectionAfterAnAbsenceIsReportedAgain() async throws {
        let log = PresenceLog()
        let service = ChannelService(secret: testSecret, settings: testSettings())
        try await withChannelServer(service, presence: log) { port in
            let token = try service.createChannel(clientID: "p5")
            for round in 1...2 {
                let socket = try ChannelSocket(port: port)
                _ = try await socket.opened(token: token)
                #expect(await log.wait(forCount: round * 2 - 1).count == round * 2 - 1)
                socket.closeLikeTheJavaScriptClient()
                #expect(await log.wait(forCount: round * 2).count == round * 2)
            }
            try await Task.sleep(for: .milliseconds(500))
            #expect(log.all == [event("p5", true), event("p5", false), event("p5", true), event("p5", false)])
        }
    }

    @Test func presencePathsAreForbiddenFromOutside() async throws {
        let log = PresenceLog()
        let service = ChannelService(secret: testSecret, settings: testSettings())
        try await withChannelServer(service, presence: log) { port in
            for path in [Channels.connectedPath, Channels.disconnectedPath, "/_ah/channel/connected", "/_ah/channel/disconnected/x"] {
                let response = try await rawRequest(port: port, "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 11\r\n\r\nfrom=forged")
                #expect(response.status == 403, "\(path)")
            }
            try await Task.sleep(for: .milliseconds(200))
            #expect(log.all.isEmpty)
        }
    }
}
