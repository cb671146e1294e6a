import Courier
import CourierChannel
import Testing

/// A client's `seq` is a number from outside: one past the top (`UInt64.max`) once killed the
/// server with an overflow trap. Any value no session ever reached is a lost session (410), on
/// both transports and on every kind of open; text that is not a number is a bad request.
@Suite struct ChannelSequenceBoundsTests {
    private func body(token: String, session: String = "", seq: String, cid: String = "bounds") -> String {
        URLEncoding.form([("token", token), ("cid", cid), ("seq", seq), ("session", session)])
    }

    private func poll(port: Int, _ form: String) async throws -> TestResponseSummary {
        let response = try await rawRequest(port: port, "POST /_ah/channel/poll HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(form.utf8.count)\r\n\r\n" + form)
        return TestResponseSummary(status: response.status, body: String(decoding: response.body, as: UTF8.self))
    }

    /// The server still opens channels and delivers after the hostile request.
    private func expectStillServing(_ service: ChannelService, port: Int) async throws {
        let socket = try ChannelSocket(port: port)
        _ = try await socket.opened(token: try service.createChannel(clientID: "after"))
        try service.sendMessage(clientID: "after", message: "still here")
        #expect(try await socket.next() == .message(1, "still here"))
    }

    @Test(arguments: ["18446744073709551615", "18446744073709551616", "99999999999999999999999999999", "1"])
    func aFreshLongPollClaimingASequenceNumberNeverSentGets410(seq: String) async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        try await withChannelServer(service) { port in
            let answer = try await poll(port: port, body(token: try service.createChannel(clientID: "victim"), seq: seq))
            #expect(answer.status == 410)
            #expect(answer.body == #"[{"type":"error","code":410,"description":"Channel+session+expired."}]"#)
            try await expectStillServing(service, port: port)
        }
    }

    @Test func aLongPollAcknowledgingMoreThanItWasHandedGets410() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(pollTimeoutSeconds: 0.3), clock: ManualClock())
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "liar")
            try service.sendMessage(clientID: "liar", message: "one")
            let poller = try LongPollClient(port: port)
            let first = try await poller.poll(token: token)
            let session = try #require(first.frames.first?.session)
            #expect(first.frames.dropFirst().map(\.seq) == [1])
            // Sent, but not yet handed to this connection: acknowledging it is still a lie.
            try service.sendMessage(clientID: "liar", message: "two")
            let lie = try await poller.poll(token: token, session: session, seq: 2)
            #expect(lie.status == 410 && lie.frames == [.error(410, "Channel+session+expired.")])
            let top = try await poller.poll(token: token, session: session, seq: .max)
            #expect(top.status == 410)
            try await expectStillServing(service, port: port)
        }
    }

    @Test func anOpenLongPollConnectionSentTheTopSequenceNumberGets410() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(pollTimeoutSeconds: 0.3), clock: ManualClock())
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "top")
            let poller = try LongPollClient(port: port)
            let session = try #require(try await poller.poll(token: token).frames.first?.session)
            let answer = try await poller.poll(token: token, session: session, seq: .max)
            #expect(answer.status == 410 && answer.frames == [.error(410, "Channel+session+expired.")])
            try await expectStillServing(service, port: port)
        }
    }

    @Test(arguments: ["-1", "+1", "0x10", "1e3", " 1", "1 ", "1.5", "１", "NaN"])
    func aSequenceNumberThatIsNotDecimalDigitsIs400(seq: String) async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        try await withChannelServer(service) { port in
            let answer = try await poll(port: port, body(token: try service.createChannel(clientID: "digits"), seq: seq))
            #expect(answer.status == 400)
            #expect(answer.body.contains(#""code":400"#))
        }
    }

    @Test func anEmptySequenceNumberIsAFreshStart() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "empty")
            try service.sendMessage(clientID: "empty", message: "held")
            let answer = try await poll(port: port, body(token: token, seq: ""))
            #expect(answer.status == 200)
            #expect(answer.body.contains(#""type":"opened""#) && answer.body.contains(#""data":"held""#))
        }
    }

    @Test(arguments: [UInt64.max, 5])
    func aWebSocketOpenClaimingASequenceNumberNeverSentGets410(seq: UInt64) async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "ws-top")
            try service.sendMessage(clientID: "ws-top", message: "one")
            for session in ["", "not-the-session"] {
                let socket = try ChannelSocket(port: port)
                socket.open(token: token, session: session, seq: seq)
                #expect(try await socket.next() == .error(410, "Channel+session+expired."))
                #expect(try await socket.next() == ChannelFrame(type: "close", code: 4410))
            }
            try await expectStillServing(service, port: port)
        }
    }
}

struct TestResponseSummary {
    let status: Int
    let body: String
}
