import Courier
import CourierLoop
@testable import CourierChannel
import CourierTesting
import Synchronization
import Testing

/// Section 4, fan-out: the server subscribes client IDs to named topics and publishes to a
/// topic; each subscriber receives the message through its own channel, in order with the
/// messages sent to it directly (one sequence per client ID), over either transport.
@Suite struct ChannelTopicTests {
    @Test func everySubscriberGetsEachPublishOnceInOrderWithItsDirectMessages() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(pollTimeoutSeconds: 0.5), clock: ManualClock())
        try await withChannelServer(service) { port in
            let a = try ChannelSocket(port: port)
            _ = try await a.opened(token: try service.createChannel(clientID: "a"))
            let b = try ChannelSocket(port: port)
            _ = try await b.opened(token: try service.createChannel(clientID: "b"))
            var c = try PollingSubscriber(port: port, token: try service.createChannel(clientID: "c"))
            #expect(try await c.open().isEmpty)
            let outsider = try ChannelSocket(port: port)
            _ = try await outsider.opened(token: try service.createChannel(clientID: "outsider"))
            for clientID in ["a", "b", "c"] { try service.subscribe(clientID: clientID, topic: "news") }

            try service.sendMessage(clientID: "a", message: "a1")
            #expect(try service.publish(topic: "news", message: "t1") == 3)
            try service.sendMessage(clientID: "c", message: "c1")
            #expect(try service.publish(topic: "news", message: "t2 \"quoted\"\n") == 3)
            try service.sendMessage(clientID: "a", message: "a2")
            try service.sendMessage(clientID: "outsider", message: "o1")

            #expect(try await a.next(4) == [.message(1, "a1"), .message(2, "t1"), .message(3, "t2 \"quoted\"\n"), .message(4, "a2")])
            #expect(try await b.next(2) == [.message(1, "t1"), .message(2, "t2 \"quoted\"\n")])
            #expect(try await c.messages(3) == [.message(1, "t1"), .message(2, "c1"), .message(3, "t2 \"quoted\"\n")])
            #expect(try await outsider.next() == .message(1, "o1"))
            // Nothing twice: each client's next message is the next direct one, with the next number.
            for clientID in ["a", "b", "c", "outsider"] { try service.sendMessage(clientID: clientID, message: "end") }
            #expect(try await a.next() == .message(5, "end"))
            #expect(try await b.next() == .message(3, "end"))
            #expect(try await c.messages(1) == [.message(4, "end")])
            #expect(try await outsider.next() == .message(2, "end"))
        }
    }

    @Test func unsubscribedClientsGetNothingMore() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(pollTimeoutSeconds: 0.5), clock: ManualClock())
        try await withChannelServer(service) { port in
            let stays = try ChannelSocket(port: port)
            _ = try await stays.opened(token: try service.createChannel(clientID: "stays"))
            let leaves = try ChannelSocket(port: port)
            _ = try await leaves.opened(token: try service.createChannel(clientID: "leaves"))
            var pollerLeaves = try PollingSubscriber(port: port, token: try service.createChannel(clientID: "poller-leaves"))
            #expect(try await pollerLeaves.open().isEmpty)
            for clientID in ["stays", "leaves", "poller-leaves"] { try service.subscribe(clientID: clientID, topic: "room") }
            // Subscribing twice is still one subscription: one copy of each message.
            try service.subscribe(clientID: "stays", topic: "room")
            #expect(try service.publish(topic: "room", message: "before") == 3)
            #expect(try await stays.next() == .message(1, "before"))
            #expect(try await leaves.next() == .message(1, "before"))
            #expect(try await pollerLeaves.messages(1) == [.message(1, "before")])

            try service.unsubscribe(clientID: "leaves", topic: "room")
            try service.unsubscribe(clientID: "poller-leaves", topic: "room")
            #expect(service.subscribers(of: "room") == ["stays"])
            #expect(try service.publish(topic: "room", message: "after 1") == 1)
            #expect(try service.publish(topic: "room", message: "after 2") == 1)
            #expect(try await stays.next(2) == [.message(2, "after 1"), .message(3, "after 2")])
            // The channels of the unsubscribed stay open: a direct message is their very next one.
            try service.sendMessage(clientID: "leaves", message: "direct")
            try service.sendMessage(clientID: "poller-leaves", message: "direct")
            #expect(try await leaves.next() == .message(2, "direct"))
            #expect(try await pollerLeaves.messages(1) == [.message(2, "direct")])
            #expect(await leaves.isSilent())
            #expect(try await pollerLeaves.isSilent())

            // Unsubscribing the last subscriber leaves a topic nobody hears.
            try service.unsubscribe(clientID: "stays", topic: "room")
            #expect(service.subscribers(of: "room").isEmpty)
            #expect(try service.publish(topic: "room", message: "to nobody") == 0)
            #expect(await stays.isSilent())
            // Unsubscribing from a topic one is not in is not an error.
            try service.unsubscribe(clientID: "stays", topic: "never-joined")
        }
    }

    /// A topic keeps its subscribers' sessions between publishes: one who joins after a publish
    /// hears the next one, and only that.
    @Test func aClientSubscribedAfterAPublishHearsTheNextOne() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        try await withChannelServer(service) { port in
            let first = try ChannelSocket(port: port)
            _ = try await first.opened(token: try service.createChannel(clientID: "first"))
            let late = try ChannelSocket(port: port)
            _ = try await late.opened(token: try service.createChannel(clientID: "late"))
            try service.subscribe(clientID: "first", topic: "t")
            #expect(try service.publish(topic: "t", message: "one") == 1)
            try service.subscribe(clientID: "late", topic: "t")
            #expect(try service.publish(topic: "t", message: "two \\ \u{7}") == 2)
            #expect(try await first.next(2) == [.message(1, "one"), .message(2, "two \\ \u{7}")])
            #expect(try await late.next() == .message(1, "two \\ \u{7}"))
            #expect(await late.isSilent())
        }
    }

    @Test func publishReturnsTheSubscriberCount() throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        #expect(try service.publish(topic: "empty", message: "hello?") == 0)
        for index in 1...7 { try service.subscribe(clientID: "count-\(index)", topic: "seven") }
        try service.subscribe(clientID: "count-1", topic: "seven")
        try service.subscribe(clientID: "count-1", topic: "other")
        #expect(try service.publish(topic: "seven", message: "m") == 7)
        #expect(try service.publish(topic: "other", message: "m") == 1)
        #expect(Set(service.subscribers(of: "seven")) == Set((1...7).map { "count-\($0)" }))
        // A token names its client ID for subscribe as it does for sendMessage.
        let token = try service.createChannel(clientID: "count-8")
        try service.subscribe(clientID: token, topic: "seven")
        #expect(try service.publish(topic: "seven", message: "m") == 8)
        #expect(service.subscribers(of: "seven").contains("count-8"))
        try service.unsubscribe(clientID: token, topic: "seven")
        #expect(try service.publish(topic: "seven", message: "m") == 7)
    }

    @Test func invalidTopicsAndMessagesThrowChannelErrors() throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        let long = String(repeating: "t", count: 257)
        let wide = String(repeating: "é", count: 129)  // 258 UTF-8 bytes
        for topic in ["", long, wide] {
            #expect(throws: ChannelError.invalidTopic(topic)) { try service.subscribe(clientID: "x", topic: topic) }
            #expect(throws: ChannelError.invalidTopic(topic)) { try service.unsubscribe(clientID: "x", topic: topic) }
            #expect(throws: ChannelError.invalidTopic(topic)) { try service.publish(topic: topic, message: "m") }
        }
        #expect(ChannelError.invalidTopic("").description.contains("256"))
        // 256 bytes is the limit, counted in UTF-8.
        let longest = String(repeating: "é", count: 128)
        try service.subscribe(clientID: "x", topic: longest)
        #expect(try service.publish(topic: longest, message: "m") == 1)
        #expect(throws: ChannelError.invalidMessage(byteCount: 0)) { try service.publish(topic: longest, message: "") }
        let tooLong = String(repeating: "m", count: 32_768)
        #expect(throws: ChannelError.invalidMessage(byteCount: 32_768)) { try service.publish(topic: longest, message: tooLong) }
        #expect(throws: ChannelError.invalidClientID("")) { try service.subscribe(clientID: "", topic: "ok") }
        #expect(throws: ChannelError.invalidClientID(long)) { try service.subscribe(clientID: long, topic: "ok") }
        #expect(throws: ChannelError.invalidClientID("")) { try service.unsubscribe(clientID: "", topic: "ok") }
        // A refused subscribe subscribed nobody.
        #expect(try service.publish(topic: "ok", message: "m") == 0)
    }

    @Test func publishHoldsMessagesForSubscribersNotYetConnected() async throws {
        let clock = ManualClock()
        let service = ChannelService(secret: testSecret, settings: testSettings(pollTimeoutSeconds: 0.5), clock: clock)
        try await withChannelServer(service) { port in
            let wsToken = try service.createChannel(clientID: "late-ws")
            let pollToken = try service.createChannel(clientID: "late-poll")
            try service.subscribe(clientID: "late-ws", topic: "board")
            try service.subscribe(clientID: "late-poll", topic: "board")
            #expect(try service.publish(topic: "board", message: "t1") == 2)
            try service.sendMessage(clientID: "late-ws", message: "direct")
            #expect(try service.publish(topic: "board", message: "t2") == 2)
            clock.advance(by: 60)  // within the recovery window (120 s)

            let socket = try ChannelSocket(port: port)
            _ = try await socket.opened(token: wsToken)
            #expect(try await socket.next(3) == [.message(1, "t1"), .message(2, "direct"), .message(3, "t2")])
            var poller = try PollingSubscriber(port: port, token: pollToken)
            var polled = try await poller.open()
            if polled.count < 2 { polled += try await poller.messages(2 - polled.count) }
            #expect(polled == [.message(1, "t1"), .message(2, "t2")])

            #expect(try service.publish(topic: "board", message: "t3") == 2)
            #expect(try await socket.next() == .message(4, "t3"))
            #expect(try await poller.messages(1) == [.message(3, "t3")])
            #expect(await socket.isSilent())
            #expect(try await poller.isSilent())
        }
    }

    @Test func aClientAwayLongerThanTheRecoveryWindowLosesItsHeldMessagesAndSubscriptions() async throws {
        let clock = ManualClock()
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: clock)
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "too-late")
            try service.subscribe(clientID: "too-late", topic: "board")
            #expect(try service.publish(topic: "board", message: "old") == 1)
            clock.advance(by: 121)
            // The sweep forgets the client: its held message and its subscription go, so
            // abandoned client IDs cannot pile up behind a busy topic.
            service.sweep()
            #expect((service.engine as! InMemoryChannelEngine).sessionCount == 0)
            #expect(try service.publish(topic: "board", message: "unheard") == 0)
            let socket = try ChannelSocket(port: port)
            _ = try await socket.opened(token: token)
            #expect(await socket.isSilent())
            // Subscribed again, it hears the next publish.
            try service.subscribe(clientID: "too-late", topic: "board")
            #expect(try service.publish(topic: "board", message: "new") == 1)
            let frame = try await socket.next()
            #expect(frame.type == "message" && frame.data == "new")
            #expect(await socket.isSilent())
        }
    }

    /// Messages to client IDs that never connect are held, and forgotten after the window even
    /// when no channel has ever connected: the sweep starts with the app's first request.
    @Test func messagesForClientsThatNeverConnectAreForgottenAfterTheWindow() async throws {
        let clock = ManualClock()
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: clock)
        try await withChannelServer(service) { port in
            #expect(try await TestClient(port: port).get("/_ah/channel/jsapi").status == 200)
            try service.sendMessage(clientID: "ghost", message: "never read")
            #expect((service.engine as! InMemoryChannelEngine).sessionCount == 1)
            clock.advance(by: 121)
            let deadline = ContinuousClock.now + .seconds(5)
            while (service.engine as! InMemoryChannelEngine).sessionCount > 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect((service.engine as! InMemoryChannelEngine).sessionCount == 0)
        }
    }

    @Test func publishReachesSubscribersOnEveryLoop() async throws {
        let loops = LoopLog()
        let service = ChannelService(secret: testSecret, settings: testSettings(pollTimeoutSeconds: 0.5), clock: ManualClock())
        let routes: (Application) -> Void = { app in
            app.post("/publish") { request, response in
                response.write(String(try service.publish(topic: request["topic"], message: request["text"])))
            }
        }
        try await withChannelServer(service, workers: 2, middleware: [loops], routes: routes) { port in
            // The kernel spreads connections over the two listeners; open until each loop has some.
            var sockets: [(id: String, socket: ChannelSocket)] = []
            while sockets.count < 64, sockets.count < 4 || loops.distinctLoops(among: sockets.map(\.id)) < 2 {
                let id = "ws-\(sockets.count)"
                let socket = try ChannelSocket(port: port, headers: ["X-Test-Client: \(id)"])
                _ = try await socket.opened(token: try service.createChannel(clientID: id))
                try service.subscribe(clientID: id, topic: "all")
                sockets.append((id, socket))
            }
            #expect(loops.distinctLoops(among: sockets.map(\.id)) == 2)
            var pollers: [(id: String, poller: PollingSubscriber)] = []
            while pollers.count < 32, pollers.count < 2 || loops.distinctLoops(among: pollers.map(\.id)) < 2 {
                let id = "lp-\(pollers.count)"
                var poller = try PollingSubscriber(port: port, token: try service.createChannel(clientID: id),
                                                   headers: ["X-Test-Client: \(id)"])
                #expect(try await poller.open().isEmpty)
                try service.subscribe(clientID: id, topic: "all")
                pollers.append((id, poller))
            }
            #expect(loops.distinctLoops(among: pollers.map(\.id)) == 2)
            let subscriberCount = sockets.count + pollers.count

            // From outside any loop, then from request handlers until both loops have published.
            var published = ["from the test"]
            #expect(try service.publish(topic: "all", message: published[0]) == subscriberCount)
            var publishingLoops: Set<String> = []
            while published.count < 40, publishingLoops.count < 2 || published.count < 4 {
                let text = "from a handler \(published.count)"
                let body = "topic=all&text=" + text.replacingOccurrences(of: " ", with: "+")
                let response = try await rawRequest(port: port, "POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "X-Test-Client: publisher-\(published.count)\r\nConnection: close\r\n"
                    + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body)
                #expect(response.status == 200)
                #expect(String(decoding: response.body, as: UTF8.self) == String(subscriberCount))
                if let loop = loops.loop(of: "publisher-\(published.count)") { publishingLoops.insert(loop) }
                published.append(text)
            }
            #expect(publishingLoops.count == 2)

            let expected = published.enumerated().map { ChannelFrame.message(UInt64($0.offset + 1), $0.element) }
            for (id, socket) in sockets {
                #expect(try await socket.next(expected.count) == expected, "\(id) on \(loops.loop(of: id) ?? "?")")
            }
            for index in pollers.indices {
                #expect(try await pollers[index].poller.messages(expected.count) == expected, "\(pollers[index].id)")
            }
            // Exactly once: the next message each client sees is a direct one numbered right after.
            let next = UInt64(expected.count + 1)
            for (id, _) in sockets { try service.sendMessage(clientID: id, message: "end") }
            for (id, _) in pollers { try service.sendMessage(clientID: id, message: "end") }
            for (id, socket) in sockets { #expect(try await socket.next() == .message(next, "end"), "\(id)") }
            for index in pollers.indices {
                #expect(try await pollers[index].poller.messages(1) == [.message(next, "end")], "\(pollers[index].id)")
            }
        }
    }

    @Test func largeFanOutArrivesExactlyOnceInOrder() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(pollTimeoutSeconds: 0.5), clock: ManualClock())
        try await withChannelServer(service, workers: 2) { port in
            let socketCount = 480, pollerCount = 20
            var sockets: [ChannelSocket] = []
            for index in 0..<socketCount {
                let socket = try ChannelSocket(port: port)
                _ = try await socket.opened(token: try service.createChannel(clientID: "fan-\(index)"))
                try service.subscribe(clientID: "fan-\(index)", topic: "crowd")
                sockets.append(socket)
            }
            var pollers: [PollingSubscriber] = []
            for index in 0..<pollerCount {
                var poller = try PollingSubscriber(port: port, token: try service.createChannel(clientID: "fan-poll-\(index)"))
                #expect(try await poller.open().isEmpty)
                try service.subscribe(clientID: "fan-poll-\(index)", topic: "crowd")
                pollers.append(poller)
            }
            let ids = (0..<socketCount).map { "fan-\($0)" } + (0..<pollerCount).map { "fan-poll-\($0)" }
            // Five publishes, with a direct message to every third client between the second and third.
            var expected = Dictionary(uniqueKeysWithValues: ids.map { ($0, [String]()) })
            for round in 1...5 {
                let text = "crowd \(round) " + String(repeating: "x", count: round * 100)
                #expect(try service.publish(topic: "crowd", message: text) == ids.count)
                for id in ids { expected[id]!.append(text) }
                if round == 2 {
                    for id in ids.enumerated() where id.offset % 3 == 0 {
                        try service.sendMessage(clientID: id.element, message: "direct to \(id.element)")
                        expected[id.element]!.append("direct to \(id.element)")
                    }
                }
            }
            func frames(_ texts: [String]) -> [ChannelFrame] {
                texts.enumerated().map { .message(UInt64($0.offset + 1), $0.element) }
            }
            var wrong: [String] = []
            for (index, socket) in sockets.enumerated() {
                let id = "fan-\(index)"
                if try await socket.next(expected[id]!.count) != frames(expected[id]!) { wrong.append(id) }
            }
            for index in pollers.indices {
                let id = "fan-poll-\(index)"
                if try await pollers[index].messages(expected[id]!.count) != frames(expected[id]!) { wrong.append(id) }
            }
            #expect(wrong.isEmpty, "wrong streams: \(wrong.prefix(10))")
            // Exactly once: a final publish is every client's very next message, numbered right after.
            #expect(try service.publish(topic: "crowd", message: "last") == ids.count)
            var late: [String] = []
            for (index, socket) in sockets.enumerated() {
                let id = "fan-\(index)"
                if try await socket.next() != .message(UInt64(expected[id]!.count + 1), "last") { late.append(id) }
            }
            for index in pollers.indices {
                let id = "fan-poll-\(index)"
                if try await pollers[index].messages(1) != [.message(UInt64(expected[id]!.count + 1), "last")] { late.append(id) }
            }
            #expect(late.isEmpty, "wrong last message: \(late.prefix(10))")
        }
    }
}

/// A long-poll channel client that keeps its session and acknowledges what it has seen, as the
/// JavaScript client does; messages that came in one answer beyond what a test asked for wait
/// for the next ask.
struct PollingSubscriber {
    let client: LongPollClient
    let token: String
    private(set) var session = ""
    private(set) var seen: UInt64 = 0
    private var pending: [ChannelFrame] = []

    init(port: Int, token: String, headers: [String] = []) throws {
        client = try LongPollClient(port: port, headers: headers)
        self.token = token
    }

    /// The first poll: expects `opened`; returns the messages that came with it.
    mutating func open() async throws -> [ChannelFrame] {
        let first = try await client.poll(token: token)
        guard first.status == 200, let opened = first.frames.first, opened.type == "opened", let session = opened.session else {
            throw Unexpected(frame: first.frames.first ?? ChannelFrame(type: "status \(first.status)"))
        }
        self.session = session
        let messages = Array(first.frames.dropFirst())
        try note(messages)
        return messages
    }

    /// Polls until `count` messages have arrived (each poll acknowledging the ones before).
    mutating func messages(_ count: Int, maxPolls: Int = 40) async throws -> [ChannelFrame] {
        var polls = 0
        while pending.count < count, polls < maxPolls {
            polls += 1
            let answer = try await client.poll(token: token, session: session, seq: seen)
            guard answer.status == 200 else { throw Unexpected(frame: answer.frames.first ?? ChannelFrame(type: "status \(answer.status)")) }
            try note(answer.frames)
            pending += answer.frames
        }
        let taken = Array(pending.prefix(count))
        pending.removeFirst(taken.count)
        return taken
    }

    /// True when nothing is waiting and one poll (up to the poll timeout) brings nothing.
    mutating func isSilent() async throws -> Bool {
        guard pending.isEmpty else { return false }
        let answer = try await client.poll(token: token, session: session, seq: seen)
        try note(answer.frames)
        pending += answer.frames
        return answer.status == 200 && answer.frames.isEmpty
    }

    private mutating func note(_ frames: [ChannelFrame]) throws {
        for frame in frames {
            guard frame.type == "message", let seq = frame.seq else { throw Unexpected(frame: frame) }
            seen = max(seen, seq)
        }
    }
}

/// Notes which loop served each request carrying an `X-Test-Client` header (a WebSocket's
/// upgrade request, a long-poll client's polls), so a test can tell where its clients live.
final class LoopLog: Middleware {
    private let loops = Locked<[String: String]>([:])

    func handle(_ request: Request, _ response: inout Response, next: Next) async throws {
        if let client = request.headers["X-Test-Client"], let loop = request.loop {
            loops.withLock { $0[client] = loop.name }
        }
        try await next(request, &response)
    }

    func loop(of client: String) -> String? { loops.withLock { $0[client] } }

    func distinctLoops(among clients: [String]) -> Int {
        loops.withLock { loops in Set(clients.compactMap { loops[$0] }).count }
    }
}
