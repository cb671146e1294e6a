import Courier
import CourierChannel
import CourierTesting
import Testing

/// Section 2: tokens are checked on open, and expiry is enforced before and during a connection.
@Suite struct ChannelTokenTests {
    @Test func tamperedTokenGetsInvalidTokenThenClose() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "alice")
            let socket = try ChannelSocket(port: port)
            socket.open(token: tampered(token))
            #expect(try await socket.next() == .error(401, "Invalid+token."))
            let close = try await socket.next()
            #expect(close.type == "close" && close.code == 4401)
            socket.client.sendClose(code: 4401)
            #expect(await socket.client.waitForTCPClose())
        }
    }

    @Test func garbageAndForeignSecretTokensAreInvalid() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        let other = ChannelService(secret: Array(repeating: 7, count: 32), settings: testSettings(), clock: ManualClock())
        try await withChannelServer(service) { port in
            for token in ["not-a-token", "", try other.createChannel(clientID: "alice")] {
                let socket = try ChannelSocket(port: port)
                socket.open(token: token)
                #expect(try await socket.next() == .error(401, "Invalid+token."), "token \(token)")
                #expect(try await socket.next().type == "close")
            }
        }
    }

    /// Base64 leaves unused bits in a token's last character; a decoder that ignores them would
    /// accept a changed last character. Every other spelling of the last character is refused.
    @Test func everyOtherLastCharacterIsInvalid() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "alice")
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
            let poller = try LongPollClient(port: port)
            var accepted: [String] = []
            for character in alphabet where character != token.last {
                let changed = String(token.dropLast()) + String(character)
                let answer = try await poller.poll(token: changed)
                if answer.status != 401 || answer.frames != [.error(401, "Invalid+token.")] { accepted.append(String(character)) }
            }
            #expect(accepted.isEmpty, "a token ending in \(accepted) instead of \(token.last!) was not refused")
            #expect(try await poller.poll(token: token).status == 200)
        }
    }

    /// Section 2: a token never appears in a URL. A long-poll naming one in its query is
    /// refused (400), even when the body carries it too, and a close naming it only there closes
    /// nothing.
    @Test func aTokenInTheURLIsRefused() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(pollTimeoutSeconds: 0.5), clock: ManualClock())
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "url")
            func post(_ target: String, _ body: String) async throws -> TestResponse {
                try await rawRequest(port: port, "POST \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            }
            for body in ["cid=a1", "cid=a2&token=\(token)"] {
                let response = try await post("/_ah/channel/poll?token=\(token)", body)
                #expect(response.status == 400, "\(body)")
                #expect(response.text == "[{\"type\":\"error\",\"code\":400,\"description\":\"Bad+request.\"}]")
            }
            let poller = try LongPollClient(port: port, cid: "live")
            #expect(try await poller.poll(token: token).status == 200)
            #expect(try await post("/_ah/channel/close?token=\(token)", "cid=live").status == 204)
            try service.sendMessage(clientID: "url", message: "still open")
            let next = try await poller.poll(token: token, seq: 0)
            #expect(next.status == 200 && next.frames == [.message(1, "still open")])
        }
    }

    @Test func expiredTokenGetsTimedOut() async throws {
        let clock = ManualClock()
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: clock)
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "bob", durationMinutes: 1)
            clock.advance(by: 61)
            let socket = try ChannelSocket(port: port)
            socket.open(token: token)
            #expect(try await socket.next() == .error(401, "Token+timed+out."))
            #expect(try await socket.next().type == "close")
        }
    }

    @Test func tokenStillValidJustBeforeExpiry() async throws {
        let clock = ManualClock()
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: clock)
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "bob", durationMinutes: 1)
            clock.advance(by: 58)
            let socket = try ChannelSocket(port: port)
            _ = try await socket.opened(token: token)
        }
    }

    @Test func defaultDurationIsOneHundredTwentyMinutes() async throws {
        let clock = ManualClock()
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: clock)
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "default")
            clock.advance(by: 119 * 60)
            let early = try ChannelSocket(port: port)
            _ = try await early.opened(token: token)
            clock.advance(by: 2 * 60)
            let late = try ChannelSocket(port: port)
            late.open(token: token)
            #expect(try await late.next() == .error(401, "Token+timed+out."))
        }
    }

    @Test func expiryWhileConnectedEndsTheChannel() async throws {
        let clock = ManualClock()
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: clock)
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "carol", durationMinutes: 1)
            let socket = try ChannelSocket(port: port)
            _ = try await socket.opened(token: token)
            try service.sendMessage(clientID: "carol", message: "before")
            #expect(try await socket.next() == .message(1, "before"))
            clock.advance(by: 61)
            // The sweep runs every 250 ms; the socket's read timeout (5 s) bounds the wait.
            #expect(try await socket.next() == .error(401, "Token+timed+out."))
            #expect(try await socket.next().type == "close")
        }
    }

    @Test func expiryWhileConnectedEndsAWaitingLongPoll() async throws {
        let clock = ManualClock()
        let service = ChannelService(secret: testSecret, settings: testSettings(pollTimeoutSeconds: 10), clock: clock)
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "erin", durationMinutes: 1)
            var poller = try PollingSubscriber(port: port, token: token)
            #expect(try await poller.open().isEmpty)
            try service.sendMessage(clientID: "erin", message: "before")
            #expect(try await poller.messages(1) == [.message(1, "before")])
            let (client, session, seen) = (poller.client, poller.session, poller.seen)
            async let waiting = client.poll(token: token, session: session, seq: seen)
            try await Task.sleep(for: .milliseconds(300))  // let the poll reach the server and wait
            clock.advance(by: 61)
            // Answered well before its 10 s poll timeout, with the error's status and frame.
            let answer = try await waiting
            #expect(answer.status == 401)
            #expect(answer.frames == [.error(401, "Token+timed+out.")])
            try service.sendMessage(clientID: "erin", message: "after")
            let again = try await poller.client.poll(token: token, session: poller.session, seq: poller.seen)
            #expect(again.status == 401 && again.frames == [.error(401, "Token+timed+out.")])
        }
    }

    @Test func expiryBetweenPollsEndsTheLongPollChannel() async throws {
        let clock = ManualClock()
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: clock)
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "frank", durationMinutes: 1)
            var poller = try PollingSubscriber(port: port, token: token)
            #expect(try await poller.open().isEmpty)
            clock.advance(by: 61)
            try await Task.sleep(for: .milliseconds(600))  // a sweep or two (every 250 ms)
            try service.sendMessage(clientID: "frank", message: "after")
            let next = try await poller.client.poll(token: token, session: poller.session, seq: poller.seen)
            #expect(next.status == 401 && next.frames == [.error(401, "Token+timed+out.")])
        }
    }

    @Test func replacedWaitingLongPollGetsConflict() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(pollTimeoutSeconds: 10), clock: ManualClock())
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "gina")
            var poller = try PollingSubscriber(port: port, token: token)
            #expect(try await poller.open().isEmpty)
            let (client, session) = (poller.client, poller.session)
            async let waiting = client.poll(token: token, session: session, seq: 0)
            try await Task.sleep(for: .milliseconds(300))
            let socket = try ChannelSocket(port: port)
            _ = try await socket.opened(token: token)
            let answer = try await waiting
            #expect(answer.status == 409)
            #expect(answer.frames == [.error(409, "Replaced+by+another+connection.")])
        }
    }

    @Test func tokenInSecondsExpiresOnTime() async throws {
        let clock = ManualClock()
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: clock)
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "brief", durationSeconds: 5)
            clock.advance(by: 4)
            let early = try ChannelSocket(port: port)
            _ = try await early.opened(token: token)
            clock.advance(by: 2)
            #expect(try await early.next() == .error(401, "Token+timed+out."))
            let late = try ChannelSocket(port: port)
            late.open(token: token)
            #expect(try await late.next() == .error(401, "Token+timed+out."))
        }
    }

    /// A real short-lived token (seconds, not minutes) on the system clock, over both transports:
    /// the connected client gets the error once the token has expired, and presence reports the
    /// disconnect once.
    @Test(arguments: ["websocket", "long-poll"])
    func shortTokenExpiresWhileConnected(transport: String) async throws {
        let log = PresenceLog()
        let service = ChannelService(secret: testSecret, settings: testSettings(pollTimeoutSeconds: 10))
        try await withChannelServer(service, presence: log) { port in
            let issuedAt = ContinuousClock.now
            let token = try service.createChannel(clientID: "short", durationSeconds: 2)
            let frame: ChannelFrame
            if transport == "websocket" {
                let socket = try ChannelSocket(port: port, timeoutMilliseconds: 10_000)
                _ = try await socket.opened(token: token)
                frame = try await socket.next()
                #expect(try await socket.next() == ChannelFrame(type: "close", code: 4401))
            } else {
                var poller = try PollingSubscriber(port: port, token: token)
                #expect(try await poller.open().isEmpty)
                let answer = try await poller.client.poll(token: token, session: poller.session, seq: 0)
                #expect(answer.status == 401)
                frame = try #require(answer.frames.first)
            }
            let endedAfter = ContinuousClock.now - issuedAt
            #expect(frame == .error(401, "Token+timed+out."))
            #expect(endedAfter >= .seconds(2), "ended \(endedAfter) after the token was made")
            #expect(endedAfter < .seconds(8), "ended \(endedAfter) after the token was made")
            #expect(await log.wait(forCount: 2) == [event("short", true), event("short", false)])
            try await Task.sleep(for: .milliseconds(1_500))
            #expect(log.all.count == 2)
        }
    }

    @Test func sendMessageAcceptsATokenAsClientID() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "dave")
            let socket = try ChannelSocket(port: port)
            _ = try await socket.opened(token: token)
            try service.sendMessage(clientID: token, message: "via token")
            try service.sendMessage(clientID: "dave", message: "via id")
            #expect(try await socket.next(2) == [.message(1, "via token"), .message(2, "via id")])
        }
    }
}
