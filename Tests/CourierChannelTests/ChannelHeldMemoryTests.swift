import Courier
import CourierChannel
import CourierLoop
import CourierTesting
import Foundation
import Testing

/// `maxTotalHeldBytes`: what the messages held for all clients together may take. Reaching
/// it, the clients longest inactive lose what is held for them and get 410 when they come back
/// for it; the newest keep every message, in order; the total never passes the bound.
@Suite struct ChannelHeldMemoryTests {
    private static let bound = ChannelSettings.minimumMaxTotalHeldBytes

    private static func settings(maxTotalHeldBytes: Int = bound) -> ChannelSettings {
        var settings = testSettings()
        settings.maxTotalHeldBytes = maxTotalHeldBytes
        return settings
    }

    private static func heldBytes(_ service: ChannelService) throws -> Int {
        try #require(service.engine as? InMemoryChannelEngine).heldMemoryBytes
    }

    @Test func theLeastRecentlyActiveClientsGet410AndTheNewestKeepEveryMessage() async throws {
        let clock = ManualClock()
        let service = ChannelService(secret: testSecret, settings: Self.settings(), clock: clock)
        try await withChannelServer(service) { port in
            // The oldest client polls (and is then away between polls); the others open a
            // WebSocket and close it, one every half second of the service's clock.
            let clientCount = 24
            var tokens: [String] = []
            var sessions: [String] = []
            let poller = try LongPollClient(port: port)
            for index in 0..<clientCount {
                let token = try service.createChannel(clientID: "c\(index)")
                tokens.append(token)
                if index == 0 {
                    let first = try await poller.poll(token: token)
                    sessions.append(try #require(first.frames.first?.session))
                } else {
                    let socket = try ChannelSocket(port: port)
                    sessions.append(try #require(try await socket.opened(token: token).session))
                    socket.closeLikeTheJavaScriptClient()
                    #expect(try await socket.next().type == "close")
                    try await Task.sleep(for: .milliseconds(20))
                }
                clock.advance(by: 0.5)
            }

            // Five 8 KiB messages for each, round by round: 24 × 5 × ~16 KiB (text and JSON)
            // is nearly twice the 1 MiB bound.
            var highest = 0
            for round in 1...5 {
                for index in 0..<clientCount {
                    try service.sendMessage(clientID: "c\(index)", message: "\(round):" + String(repeating: "m", count: 8_192))
                    let held = try Self.heldBytes(service)
                    highest = max(highest, held)
                    #expect(held <= Self.bound, "held \(held) bytes after a send, over the bound")
                }
            }
            #expect(highest > Self.bound * 3 / 4, "the bound was never approached (\(highest) bytes): the test proves nothing")

            // The poller, the oldest, asks for what it has not seen: 410.
            let lost = try await poller.poll(token: tokens[0], session: sessions[0], seq: 0)
            #expect(lost.status == 410)
            #expect(lost.frames == [.error(410, "Channel+session+expired.")])

            // The others resume from nothing seen: a run of the oldest gets 410, the newest
            // every message in order; none gets part of them.
            var outcomes: [Bool] = []
            for index in 1..<clientCount {
                let socket = try ChannelSocket(port: port)
                socket.open(token: tokens[index], session: sessions[index], seq: 0)
                let first = try await socket.next()
                if first.type == "error" {
                    #expect(first == .error(410, "Channel+session+expired."))
                    outcomes.append(false)
                    continue
                }
                #expect(first.type == "opened" && first.session == sessions[index])
                let messages = try await socket.next(5)
                #expect(messages.map(\.seq) == [1, 2, 3, 4, 5], "client \(index)")
                #expect(messages.map { $0.data?.prefix(2) } == ["1:", "2:", "3:", "4:", "5:"], "client \(index)")
                outcomes.append(true)
            }
            let kept = outcomes.filter { $0 }.count
            #expect(outcomes == Array(repeating: false, count: outcomes.count - kept) + Array(repeating: true, count: kept),
                    "the clients that lost their messages are not the oldest: \(outcomes)")
            #expect(kept >= 6 && kept < clientCount - 1, "\(kept) of \(clientCount - 1) kept everything")
        }
    }

    /// A connected client that has received everything loses nothing when its held messages
    /// go: it is not told to start again.
    @Test func aClientThatHadEverythingGoesOnWhenItsHeldMessagesGo() async throws {
        let clock = ManualClock()
        let service = ChannelService(secret: testSecret, settings: Self.settings(), clock: clock)
        try await withChannelServer(service) { port in
            let socket = try ChannelSocket(port: port)
            _ = try await socket.opened(token: try service.createChannel(clientID: "reader"))
            try service.sendMessage(clientID: "reader", message: "first")
            #expect(try await socket.next() == .message(1, "first"))
            clock.advance(by: 10)
            // Others, more recently active, fill the bound: the reader is the oldest.
            for index in 0..<80 {
                try service.sendMessage(clientID: "other\(index)", message: String(repeating: "o", count: 8_192))
            }
            try service.sendMessage(clientID: "reader", message: "second")
            #expect(try await socket.next() == .message(2, "second"))
            #expect(try Self.heldBytes(service) <= Self.bound)
        }
    }

    /// A message published to a topic is held once, whatever its subscribers: a thousand
    /// subscribers cost a reference each, not a thousand copies.
    @Test func aPublishedMessageCountsOnceForAllItsSubscribers() throws {
        let clock = ManualClock()
        let engine = InMemoryChannelEngine(settings: Self.settings(), clock: clock)
        for index in 0..<1_000 { engine.subscribe("s\(index)", to: "news") }
        let text = String(repeating: "n", count: 10_000)
        #expect(engine.publish(text, to: "news") == 1_000)
        let held = engine.heldMemoryBytes
        #expect(held > 2 * 10_000 && held < 2 * 10_000 + 1_000 * 8 + 1_000, "one copy and a reference each, not \(held) bytes")

        // Gone past the recovery window, the sessions go and so does what they held.
        clock.advance(by: 121)
        _ = engine.sweep()
        #expect(engine.heldMemoryBytes == 0)
    }

    @Test func messagesPastTheRecoveryWindowStopCountingAtTheNextSweep() throws {
        let clock = ManualClock()
        let engine = InMemoryChannelEngine(settings: Self.settings(), clock: clock)
        engine.send("old", to: "client")
        var attached = false
        engine.attach(IdleConnection(), clientID: "client", tokenExpiry: .infinity,
                      resume: ChannelResume(sessionID: "", lastSeq: 0)) { result in
            if case .success = result { attached = true }
        }
        #expect(attached)
        #expect(engine.heldMemoryBytes > 0)
        clock.advance(by: 121)
        _ = engine.sweep()
        #expect(engine.heldMemoryBytes == 0, "a connected client's expired messages are still counted")
    }

    @Test func theDefaultBoundIsAtMostAQuarterOfMemory() {
        #expect(ChannelSettings().maxTotalHeldBytes == ChannelSettings.defaultMaxTotalHeldBytes)
        #expect(ChannelSettings.defaultMaxTotalHeldBytes >= ChannelSettings.minimumMaxTotalHeldBytes)
        var pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
        pages = max(pages, 1)
        size = max(size, 1)
        #expect(ChannelSettings.defaultMaxTotalHeldBytes <= pages * size / 4, "more than a quarter of the machine's memory")
    }
}

/// A connection that never sends: for engine tests that only need one attached.
private final class IdleConnection: ChannelConnection {
    private static let idleLoop = EventLoop(name: "idle")
    var loop: EventLoop { Self.idleLoop }
    let connectionID = "idle-\(UInt32.random(in: 0...UInt32.max))"
    func pump() {}
    func terminate(code: Int, description: String) {}
    func isStale(now: Double) -> Bool { false }
}
