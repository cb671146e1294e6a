import Courier
import CourierChannel
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
