import Courier
import CourierLoop
import CourierChannel
import CourierRedis
import CourierTesting
import Foundation
import Synchronization
import Testing

/// The Redis channel engine across nodes: each node is its own ChannelService and server, as
/// separate processes would be, sharing one real redis-server and one token secret.
@Suite(.serialized) struct RedisChannelEngineTests {
    static let secret: [UInt8] = Array(0..<32)

    /// One node: a service on the Redis engine, served on its own port, presence recorded.
    final class Node: Sendable {
        let service: ChannelService
        let server: HTTPServer
        let presence = Events()

        init(redis: String, settings: ChannelSettings = ChannelSettings(heartbeatSeconds: 6, presenceGraceSeconds: 1),
             workers: Int = 1) throws {
            service = ChannelService(secret: RedisChannelEngineTests.secret, settings: settings, engine: try .redis(url: redis))
            let app = Application()
            app.use(Channels(service, presence: true))
            let presence = presence
            app.post(Channels.connectedPath) { request, _ in presence.append("+" + request["from"]) }
            app.post(Channels.disconnectedPath) { request, _ in presence.append("-" + request["from"]) }
            server = try app.start(configuration: ServerConfiguration(host: "127.0.0.1", port: 0, workers: workers, handlesSignals: false))
        }

        var port: Int { server.port }
        var events: [String] { presence.all }

        func stop() {
            server.shutdown()
            server.waitUntilStopped()
        }
    }

    final class Events: Sendable {
        private let list = Locked<[String]>([])
        func append(_ event: String) { list.withLock { $0.append(event) } }
        var all: [String] { list.withLock { $0 } }
    }

    /// A channel client over the WebSocket transport.
    final class Client: Sendable {
        let socket: WebSocketTestClient

        init(port: Int) throws { socket = try WebSocketTestClient(port: port, path: "/_ah/channel/ws") }

        /// `topics`: the JSON of the open frame's topic offsets, if any.
        func open(token: String, session: String = "", seq: UInt64 = 0, topics: String? = nil) {
            let offsets = topics.map { ",\"topics\":\($0)" } ?? ""
            socket.sendText("{\"type\":\"open\",\"token\":\"\(token)\",\"session\":\"\(session)\",\"seq\":\(seq)\(offsets)}")
        }

        /// The next frame as JSON fields (a close as `type: close`).
        func next() async throws -> [String: String] {
            while true {
                let frame = try await socket.readFrame()
                if let close = frame.close { return ["type": "close", "code": close.code.map { String($0) } ?? ""] }
                guard frame.opcode == WebSocketOpcode.text.rawValue,
                      let object = try JSONSerialization.jsonObject(with: Data(frame.payload)) as? [String: Any] else { continue }
                return object.mapValues { "\($0)" }
            }
        }
    }

    static func eventually(_ seconds: Double = 10, _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while !condition(), ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        return condition()
    }

    @Test func aMessageSentOnOneNodeReachesAClientOnAnotherInOrder() async throws {
        let redis = try await RedisServerProcess.start()
        defer { redis.stop() }
        let a = try Node(redis: redis.url), b = try Node(redis: redis.url)
        defer { a.stop(); b.stop() }
        let token = try a.service.createChannel(clientID: "alice")
        try b.service.sendMessage(clientID: "alice", message: "before connecting")
        try await Task.sleep(for: .milliseconds(200))
        let client = try Client(port: a.port)
        client.open(token: token)
        let opened = try await client.next()
        #expect(opened["type"] == "opened")
        #expect(try await client.next() == ["type": "message", "seq": "1", "data": "before connecting"])
        for index in 2...200 { try b.service.sendMessage(clientID: "alice", message: "m\(index)") }
        for index in 2...200 {
            let frame = try await client.next()
            #expect(frame["seq"] == "\(index)" && frame["data"] == "m\(index)", "\(frame)")
            if frame["seq"] != "\(index)" { break }
        }
        #expect(await Self.eventually { a.events == ["+alice"] }, "\(a.events) \(b.events)")
    }

    @Test func aClientResumesOnAnotherNodeWithNothingLostOrRepeated() async throws {
        let redis = try await RedisServerProcess.start()
        defer { redis.stop() }
        let a = try Node(redis: redis.url), b = try Node(redis: redis.url)
        defer { a.stop(); b.stop() }
        let token = try a.service.createChannel(clientID: "bob")
        let first = try Client(port: a.port)
        first.open(token: token)
        let session = try #require(try await first.next()["session"])
        for index in 1...5 { try a.service.sendMessage(clientID: "bob", message: "m\(index)") }
        for index in 1...5 { #expect(try await first.next()["seq"] == "\(index)") }
        first.socket.drop()
        for index in 6...10 { try b.service.sendMessage(clientID: "bob", message: "m\(index)") }
        let second = try Client(port: b.port)
        second.open(token: token, session: session, seq: 5)
        let reopened = try await second.next()
        #expect(reopened["type"] == "opened" && reopened["session"] == session, "\(reopened)")
        for index in 6...12 {
            // Sends from two nodes are ordered by when Redis runs them: one at a time here.
            if index == 11 { try a.service.sendMessage(clientID: "bob", message: "m11") }
            if index == 12 { try b.service.sendMessage(clientID: "bob", message: "m12") }
            let frame = try await second.next()
            #expect(frame["seq"] == "\(index)" && frame["data"] == "m\(index)", "\(frame)")
        }
        // The blip was covered by recovery: one connected, no disconnected, on either node.
        try await Task.sleep(for: .seconds(2))
        #expect((a.events + b.events).filter { $0.hasSuffix("bob") } == ["+bob"], "\(a.events) \(b.events)")
    }

    /// Section 5 at the default heartbeat (30 s: presence refreshed every 3.3 s): a dropped
    /// WebSocket's `disconnected` within 2 s, for a crowd larger than one reap's batch too.
    @Test func droppedConnectionsAreReportedWithinTwoSecondsAtTheDefaultHeartbeat() async throws {
        let redis = try await RedisServerProcess.start()
        defer { redis.stop() }
        let a = try Node(redis: redis.url, settings: ChannelSettings())
        defer { a.stop() }
        let count = 1_200
        var clients: [Client] = []
        for index in 0..<count {
            let client = try Client(port: a.port)
            client.open(token: try a.service.createChannel(clientID: "crowd\(index)"))
            clients.append(client)
        }
        for client in clients { #expect(try await client.next()["type"] == "opened") }
        #expect(await Self.eventually(30) { a.events.count == count }, "\(a.events.count) connected")
        let dropped = ContinuousClock.now
        for client in clients { client.socket.drop() }
        let gone = { a.events.filter { $0.hasPrefix("-") }.count }
        let all = await Self.eventually(10) { gone() == count }
        let elapsed = ContinuousClock.now - dropped
        #expect(all, "\(gone()) of \(count) reported gone")
        #expect(elapsed < .seconds(2), "the last disconnected came \(elapsed) after the drop")
    }

    /// A blip that reconnects to the same node at once: the detach of the dropped connection
    /// must not unsubscribe the client's channel under the open that follows it.
    @Test func anImmediateReconnectToTheSameNodeKeepsReceiving() async throws {
        let redis = try await RedisServerProcess.start()
        defer { redis.stop() }
        let a = try Node(redis: redis.url)
        defer { a.stop() }
        let token = try a.service.createChannel(clientID: "hank")
        var session = ""
        var seen: UInt64 = 0
        for round in 0..<20 {
            let client = try Client(port: a.port)
            client.open(token: token, session: session, seq: seen)
            let opened = try await client.next()
            #expect(opened["type"] == "opened", "round \(round): \(opened)")
            session = opened["session"] ?? ""
            try a.service.sendMessage(clientID: "hank", message: "r\(round)")
            let frame = try await client.next()
            #expect(frame["data"] == "r\(round)", "round \(round): \(frame)")
            seen = UInt64(frame["seq"] ?? "") ?? seen
            client.socket.drop()
        }
        #expect(seen == 20)
    }

    @Test func theNewestConnectionWinsAcrossNodes() async throws {
        let redis = try await RedisServerProcess.start()
        defer { redis.stop() }
        let a = try Node(redis: redis.url), b = try Node(redis: redis.url)
        defer { a.stop(); b.stop() }
        let token = try a.service.createChannel(clientID: "carol")
        let older = try Client(port: a.port)
        older.open(token: token)
        #expect(try await older.next()["type"] == "opened")
        let newer = try Client(port: b.port)
        newer.open(token: token)
        #expect(try await newer.next()["type"] == "opened")
        let kicked = try await older.next()
        #expect(kicked["type"] == "error" && kicked["code"] == "409", "\(kicked)")
        try a.service.sendMessage(clientID: "carol", message: "to the newer")
        let frame = try await newer.next()
        #expect(frame["data"] == "to the newer", "\(frame)")
    }

    @Test func aDeliberateCloseIsReportedOnceAndADeadNodesClientsLapse() async throws {
        let redis = try await RedisServerProcess.start()
        defer { redis.stop() }
        let a = try Node(redis: redis.url), b = try Node(redis: redis.url)
        defer { b.stop() }
        let closing = try Client(port: b.port)
        closing.open(token: try b.service.createChannel(clientID: "dave"))
        #expect(try await closing.next()["type"] == "opened")
        closing.socket.sendText("{\"type\":\"close\"}")
        #expect(await Self.eventually { b.events == ["+dave", "-dave"] }, "\(b.events)")

        let stranded = try Client(port: a.port)
        stranded.open(token: try a.service.createChannel(clientID: "erin"))
        #expect(try await stranded.next()["type"] == "opened")
        // Node a stops refreshing its clients' presence (as a killed node would): another node
        // reports the client gone, once, within the lapse (3 s here).
        (a.service.engine as! RedisChannelEngine).halt()
        a.stop()
        #expect(await Self.eventually(15) { (a.events + b.events).contains("-erin") }, "\(a.events) \(b.events)")
        try await Task.sleep(for: .seconds(2))
        #expect((a.events + b.events).filter { $0 == "-erin" }.count == 1, "\(a.events) \(b.events)")
    }

    /// A connection open while Redis restarts empty: the next message belongs to a new
    /// session, so the connection ends with 410 instead of going on with a gap.
    @Test func aConnectionOpenWhileRedisRestartsEmptyEndsWith410() async throws {
        let redis = try await RedisServerProcess.start()
        defer { redis.stop() }
        let a = try Node(redis: redis.url)
        defer { a.stop() }
        let client = try Client(port: a.port)
        client.open(token: try a.service.createChannel(clientID: "gina"))
        #expect(try await client.next()["type"] == "opened")
        try a.service.sendMessage(clientID: "gina", message: "one")
        #expect(try await client.next()["seq"] == "1")
        try await redis.restart()
        var sent = false
        for _ in 0..<100 where !sent {
            sent = (try? await a.service.sendMessage(clientID: "gina", message: "after", idempotencyKey: "after")) != nil
            if !sent { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(sent)
        let frame = try await client.next()
        #expect(frame["type"] == "error" && frame["code"] == "410", "\(frame)")
    }

    @Test func redisRestartedEmptyIsA410NotAGap() async throws {
        let redis = try await RedisServerProcess.start()
        defer { redis.stop() }
        let a = try Node(redis: redis.url)
        defer { a.stop() }
        let token = try a.service.createChannel(clientID: "frank")
        let client = try Client(port: a.port)
        client.open(token: token)
        let session = try #require(try await client.next()["session"])
        try a.service.sendMessage(clientID: "frank", message: "one")
        #expect(try await client.next()["seq"] == "1")
        client.socket.drop()
        try await redis.restart()
        var answer: [String: String] = [:]
        for _ in 0..<50 {
            let again = try Client(port: a.port)
            again.open(token: token, session: session, seq: 1)
            answer = try await again.next()
            if answer["code"] != "1013" { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(answer["type"] == "error" && answer["code"] == "410", "\(answer)")
        let fresh = try Client(port: a.port)
        fresh.open(token: token)
        #expect(try await fresh.next()["type"] == "opened")
    }
}
