import CourierTesting
import Courier
import CourierChannel
import Foundation
import Testing

/// Section 4: the bounds of recovery, and the transports sharing one client ID.
@Suite struct ChannelRecoveryTests {
    @Test func resumeAfterTheRecoveryWindowIsRefused() async throws {
        let clock = ManualClock()
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: clock)
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "window")
            let first = try ChannelSocket(port: port)
            let session = try #require(try await first.opened(token: token).session)
            try service.sendMessage(clientID: "window", message: "m1")
            #expect(try await first.next() == .message(1, "m1"))
            first.client.drop()
            try service.sendMessage(clientID: "window", message: "m2")
            clock.advance(by: 121)
            let second = try ChannelSocket(port: port)
            second.open(token: token, session: session, seq: 1)
            #expect(try await second.next() == .error(410, "Channel+session+expired."))
            #expect(try await second.next().type == "close")
        }
    }

    @Test func clientThatNeverReadsHoldsOnlyMaxHeldMessages() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(maxHeldMessages: 10), clock: ManualClock())
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "stuck")
            let stuck = try WebSocketTestClient(port: port, path: "/_ah/channel/ws", receiveBufferBytes: 4_096)
            stuck.sendText("{\"type\":\"open\",\"token\":\"\(token)\",\"session\":\"\",\"seq\":0}")
            let opened = try JSONDecoderFrame.decode(try await stuck.readFrame())
            let session = try #require(opened.session)
            let payload = String(repeating: "p", count: 1_000)
            for index in 1...2_000 { try service.sendMessage(clientID: "stuck", message: "\(index) \(payload)") }
            // A client resuming far back finds those messages gone; one resuming near the end
            // gets exactly the ten that are held.
            let far = try ChannelSocket(port: port)
            far.open(token: token, session: session, seq: 100)
            #expect(try await far.next() == .error(410, "Channel+session+expired."))
            let near = try ChannelSocket(port: port)
            _ = try await near.opened(token: token, session: session, seq: 1_990)
            #expect(try await near.next(10).map(\.seq) == Array(1_991...2_000))
            #expect(await near.isSilent())
        }
    }

    @Test func longPollReplacesAWebSocketForTheSameClient() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        try await withChannelServer(service) { port in
            let socket = try ChannelSocket(port: port)
            _ = try await socket.opened(token: try service.createChannel(clientID: "both"))
            let poller = try LongPollClient(port: port)
            let token = try service.createChannel(clientID: "both")
            let first = try await poller.poll(token: token)
            #expect(first.frames.first?.type == "opened")
            #expect(try await socket.next() == .error(409, "Replaced+by+another+connection."))
            try service.sendMessage(clientID: "both", message: "to the poller")
            let session = try #require(first.frames.first?.session)
            #expect(try await poller.poll(token: token, session: session, seq: 0).frames == [.message(1, "to the poller")])
        }
    }

    @Test func longPollPresenceAndClose() async throws {
        let log = PresenceLog()
        let service = ChannelService(secret: testSecret, settings: testSettings())
        try await withChannelServer(service, presence: log) { port in
            let token = try service.createChannel(clientID: "lpp")
            let poller = try LongPollClient(port: port)
            #expect(try await poller.poll(token: token).status == 200)
            #expect(await log.wait(forCount: 1) == [event("lpp", true)])
            let body = "token=\(token)&cid=\(poller.cid)"
            let closed = try await rawRequest(port: port, "POST /_ah/channel/close HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body)
            #expect(closed.status == 204)
            #expect(await log.wait(forCount: 2) == [event("lpp", true), event("lpp", false)])
            try await Task.sleep(for: .milliseconds(500))
            #expect(log.all.count == 2)
        }
    }
}

enum JSONDecoderFrame {
    static func decode(_ frame: ServerFrame) throws -> ChannelFrame {
        try JSONDecoder().decode(ChannelFrame.self, from: Data(frame.payload))
    }
}
