import Courier
import CourierChannel
import CourierTesting
import Testing

/// Section 4: ordered, recoverable delivery over the WebSocket transport.
@Suite struct ChannelDeliveryTests {
    @Test func messagesArriveInOrder() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        try await withChannelServer(service) { port in
            let socket = try ChannelSocket(port: port)
            let opened = try await socket.opened(token: try service.createChannel(clientID: "order"))
            #expect(opened.seq == 0)
            let texts = (1...50).map { "m\($0) \"quoted\"\n" }
            for text in texts { try service.sendMessage(clientID: "order", message: text) }
            let frames = try await socket.next(50)
            #expect(frames == texts.enumerated().map { .message(UInt64($0.offset + 1), $0.element) })
            #expect(await socket.isSilent())
        }
    }

    /// A route on the client's own loop sends several messages in one go: the first leaves at
    /// once, the rest at the end of the loop iteration; all arrive, in order, once each, and a
    /// later request's message follows them.
    @Test func messagesSentByARouteOnTheClientsLoopArriveInOrder() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        let routes: (Application) -> Void = { app in
            app.post("/burst") { request, response in
                let count = Int(request["n"]) ?? 0
                for index in 1...count { try service.sendMessage(clientID: "burst", message: "\(request["tag"])\(index)") }
                response.status = .noContent
            }
        }
        try await withChannelServer(service, routes: routes) { port in
            let socket = try ChannelSocket(port: port)
            _ = try await socket.opened(token: try service.createChannel(clientID: "burst"))
            let client = TestClient(port: port)
            #expect(try await client.post("/burst?n=5&tag=a").status == 204)
            #expect(try await client.post("/burst?n=1&tag=b").status == 204)
            #expect(try await client.post("/burst?n=3&tag=c").status == 204)
            let expected = ["a1", "a2", "a3", "a4", "a5", "b1", "c1", "c2", "c3"]
            #expect(try await socket.next(9) == expected.enumerated().map { .message(UInt64($0.offset + 1), $0.element) })
            #expect(await socket.isSilent())
        }
    }

    @Test func largestMessageIsDelivered() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        try await withChannelServer(service) { port in
            let socket = try ChannelSocket(port: port)
            _ = try await socket.opened(token: try service.createChannel(clientID: "big"))
            let text = String(repeating: "z", count: 32_767)
            try service.sendMessage(clientID: "big", message: text)
            #expect(try await socket.next() == .message(1, text))
        }
    }

    @Test func messagesSentBeforeConnectArriveOnConnect() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "early")
            try service.sendMessage(clientID: "early", message: "one")
            try service.sendMessage(clientID: "early", message: "two")
            let socket = try ChannelSocket(port: port)
            _ = try await socket.opened(token: token)
            #expect(try await socket.next(2) == [.message(1, "one"), .message(2, "two")])
            try service.sendMessage(clientID: "early", message: "three")
            #expect(try await socket.next() == .message(3, "three"))
            #expect(await socket.isSilent())
        }
    }

    @Test func reconnectAfterDroppedTCPGetsExactlyTheMissedMessages() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "blip")
            let first = try ChannelSocket(port: port)
            let session = try #require(try await first.opened(token: token).session)
            for index in 1...3 { try service.sendMessage(clientID: "blip", message: "m\(index)") }
            #expect(try await first.next(3).map(\.seq) == [1, 2, 3])
            first.client.drop()
            for index in 4...6 { try service.sendMessage(clientID: "blip", message: "m\(index)") }
            let second = try ChannelSocket(port: port)
            let reopened = try await second.opened(token: token, session: session, seq: 3)
            #expect(reopened.session == session)
            #expect(try await second.next(3) == [.message(4, "m4"), .message(5, "m5"), .message(6, "m6")])
            try service.sendMessage(clientID: "blip", message: "m7")
            #expect(try await second.next() == .message(7, "m7"))
            #expect(await second.isSilent())
        }
    }

    @Test func reconnectBeforeServerNoticesTheDropStillHasNoGapsOrDuplicates() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "race")
            let first = try ChannelSocket(port: port)
            let session = try #require(try await first.opened(token: token).session)
            try service.sendMessage(clientID: "race", message: "m1")
            #expect(try await first.next() == .message(1, "m1"))
            // The client saw m1 only; m2 and m3 may be written to the old socket as it dies.
            try service.sendMessage(clientID: "race", message: "m2")
            try service.sendMessage(clientID: "race", message: "m3")
            first.client.drop()
            let second = try ChannelSocket(port: port)
            _ = try await second.opened(token: token, session: session, seq: 1)
            #expect(try await second.next(2) == [.message(2, "m2"), .message(3, "m3")])
            #expect(await second.isSilent())
        }
    }

    @Test func secondConnectionReplacesTheFirst() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        try await withChannelServer(service) { port in
            let first = try ChannelSocket(port: port)
            _ = try await first.opened(token: try service.createChannel(clientID: "tab"))
            let second = try ChannelSocket(port: port)
            _ = try await second.opened(token: try service.createChannel(clientID: "tab"))
            #expect(try await first.next() == .error(409, "Replaced+by+another+connection."))
            #expect(try await first.next().type == "close")
            try service.sendMessage(clientID: "tab", message: "to the new tab")
            #expect(try await second.next() == .message(1, "to the new tab"))
        }
    }

    @Test func heldMessagesAreBoundedByMaxHeldMessages() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(maxHeldMessages: 5), clock: ManualClock())
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "slow")
            let first = try ChannelSocket(port: port)
            let session = try #require(try await first.opened(token: token).session)
            try service.sendMessage(clientID: "slow", message: "m1")
            #expect(try await first.next() == .message(1, "m1"))
            first.client.drop()
            for index in 2...21 { try service.sendMessage(clientID: "slow", message: "m\(index)") }
            // Only the last five are held: resuming from 1 cannot be done without a gap.
            let lost = try ChannelSocket(port: port)
            lost.open(token: token, session: session, seq: 1)
            #expect(try await lost.next() == .error(410, "Channel+session+expired."))
            // Resuming from 16 gets exactly the five held ones.
            let resumed = try ChannelSocket(port: port)
            _ = try await resumed.opened(token: token, session: session, seq: 16)
            #expect(try await resumed.next(5).map(\.seq) == [17, 18, 19, 20, 21])
            #expect(await resumed.isSilent())
        }
    }

    @Test func neverConnectedClientGetsOnlyTheHeldTail() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(maxHeldMessages: 3), clock: ManualClock())
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "late")
            for index in 1...10 { try service.sendMessage(clientID: "late", message: "m\(index)") }
            let socket = try ChannelSocket(port: port)
            _ = try await socket.opened(token: token)
            #expect(try await socket.next(3) == [.message(8, "m8"), .message(9, "m9"), .message(10, "m10")])
            #expect(await socket.isSilent())
        }
    }
}
