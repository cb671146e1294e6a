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

    /// Section 4: messages sent before the first connect are delivered "within the window"
    /// of each message: one sent at 100 s is still owed at 126 s, though the client ID has
    /// had no connection since 0 s. The one sent at 0 s has aged out.
    @Test func aMessageSentLateInTheWindowOutlivesTheFirstOne() async throws {
        let clock = ManualClock()
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: clock)
        try await withChannelServer(service) { port in
            // Any request starts the service's sweep, which forgets clients gone past the window.
            _ = try await ChannelSocket(port: port).opened(token: try service.createChannel(clientID: "someone else"))
            let token = try service.createChannel(clientID: "late", durationMinutes: 10)
            try service.sendMessage(clientID: "late", message: "at 0 s")
            clock.advance(by: 100)
            try service.sendMessage(clientID: "late", message: "at 100 s")
            clock.advance(by: 26)
            try await Task.sleep(for: .milliseconds(800))  // a few sweeps
            let socket = try ChannelSocket(port: port)
            _ = try await socket.opened(token: token)
            #expect(try await socket.next() == .message(2, "at 100 s"))
            #expect(await socket.isSilent())
            // Once the window has passed since the last message, the client ID is forgotten.
            socket.closeLikeTheJavaScriptClient()
            try await Task.sleep(for: .milliseconds(300))  // the server takes the close first
            clock.advance(by: 121)
            try await Task.sleep(for: .milliseconds(800))
            let later = try ChannelSocket(port: port)
            let opened = try await later.opened(token: token)
            #expect(opened.seq == 0)
        }
    }

    /// Section 4 bounds holding by count (1000) and age; the default byte budget fits 1000
    /// messages of the largest size, so 200 of them sent to an absent client all come back.
    @Test func twoHundredLargestMessagesAreAllHeld() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "large")
            let body = String(repeating: "x", count: ChannelLimits.maxMessageBytes - 4)
            for index in 1...200 { try service.sendMessage(clientID: "large", message: String(format: "%04d", index) + body) }
            let socket = try ChannelSocket(port: port, timeoutMilliseconds: 20_000)
            _ = try await socket.opened(token: token)
            let frames = try await socket.next(200)
            #expect(frames.map(\.seq) == (1...200).map { Optional(UInt64($0)) })
            #expect(frames.last?.data == "0200" + body)
            #expect(await socket.isSilent())
        }
    }

    /// A connected client that reads too slowly for the bounds: it gets its messages in order
    /// for as long as the session holds them, then 410 and the close, never a silent gap.
    @Test func aWebSocketThatFallsBehindTheBoundsEndsWith410NotAGap() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(maxHeldMessages: 20), clock: ManualClock())
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "slow")
            let slow = try WebSocketTestClient(port: port, path: "/_ah/channel/ws", receiveBufferBytes: 4_096)
            slow.sendText("{\"type\":\"open\",\"token\":\"\(token)\",\"session\":\"\",\"seq\":0}")
            #expect(try JSONDecoderFrame.decode(try await slow.readFrame()).type == "opened")
            // 16 MB before the client reads a byte: more than loopback's socket buffers (4 MB at
            // most) and the server's send window can take, so most of it must wait in the
            // session, which holds 20 messages.
            let payload = String(repeating: "s", count: 16_000)
            for index in 1...1_000 { try service.sendMessage(clientID: "slow", message: "\(index) \(payload)") }
            var seqs: [UInt64] = []
            var last = ChannelFrame(type: "none")
            while seqs.count < 1_000 {
                let frame = try await slow.readFrame()
                guard frame.opcode == 1 else { break }
                last = try JSONDecoderFrame.decode(frame)
                guard last.type == "message", let seq = last.seq else { break }
                seqs.append(seq)
            }
            #expect(seqs == (0..<seqs.count).map { UInt64($0 + 1) }, "messages out of order or with a gap")
            #expect(seqs.count < 1_000)
            #expect(last == .error(410, "Channel+session+expired."))
        }
    }

    /// The same for long-polling: more messages than the session holds arrive between two polls.
    @Test func aLongPollThatFallsBehindTheBoundsEndsWith410NotAGap() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(maxHeldMessages: 10, pollTimeoutSeconds: 0.5),
                                     clock: ManualClock())
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "slow-lp")
            let poller = try LongPollClient(port: port)
            let opened = try await poller.poll(token: token)
            #expect(opened.frames.first?.type == "opened")
            try service.sendMessage(clientID: "slow-lp", message: "first")
            #expect(try await poller.poll(token: token, seq: 0).frames == [.message(1, "first")])
            for index in 2...30 { try service.sendMessage(clientID: "slow-lp", message: "m\(index)") }
            let behind = try await poller.poll(token: token, seq: 1)
            #expect(behind.status == 410 && behind.frames == [.error(410, "Channel+session+expired.")])
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
