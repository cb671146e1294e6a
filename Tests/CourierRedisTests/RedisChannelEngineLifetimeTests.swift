import Courier
import CourierChannel
import CourierLoop
import CourierRedis
import CourierTesting
import Foundation
import Testing

/// What the Redis engine keeps and for how long, what a replacing open is handed, and topics
/// confirmed by Redis: each checked against a real redis-server, the keys read back from it.
@Suite(.serialized) struct RedisChannelEngineLifetimeTests {
    typealias Node = RedisChannelEngineTests.Node
    typealias Client = RedisChannelEngineTests.Client

    /// The remaining lifetime of `key` in seconds (-1: none, -2: no such key).
    static func ttl(_ key: String, _ redis: RedisConnection) async throws -> Int {
        try #require(try await redis.send("TTL", key).int)
    }

    /// A connected client's keys live as long as it stays (a quiet client kept its channel for
    /// only the recovery window + 60 s before); once it leaves they expire a key TTL later.
    @Test func aConnectedClientsKeysLastWhileItStaysAndExpireAfterItLeaves() async throws {
        try await withRedis { server, loop in
            let redis = RedisConnection(loop: loop, endpoint: try RedisEndpoint(url: server.url))
            let a = try Node(redis: server.url)
            defer { a.stop() }
            // Sent to before it connects: held, forgotten a key TTL after the send.
            _ = try await a.service.sendMessage(clientID: "quiet", message: "early", idempotencyKey: nil)
            let held = try await Self.ttl("courier:{quiet}:meta", redis)
            #expect(held > 170 && held <= 180, "meta TTL \(held)")

            let client = try Client(port: a.port)
            client.open(token: try a.service.createChannel(clientID: "quiet"))
            #expect(try await client.next()["type"] == "opened")
            #expect(try await client.next()["data"] == "early")
            for key in ["meta", "stream", "owner"] {
                #expect(try await Self.ttl("courier:{quiet}:\(key)", redis) == -1, "\(key) expires while connected")
            }
            // A send while connected does not bring the expiry back.
            _ = try await a.service.sendMessage(clientID: "quiet", message: "later", idempotencyKey: nil)
            #expect(try await client.next()["data"] == "later")
            #expect(try await Self.ttl("courier:{quiet}:meta", redis) == -1)
            #expect(try await Self.ttl("courier:{quiet}:stream", redis) == -1)

            client.socket.sendText("{\"type\":\"close\"}")
            #expect(await RedisChannelEngineTests.eventually { a.events == ["+quiet", "-quiet"] }, "\(a.events)")
            for key in ["meta", "stream"] {
                let left = try await Self.ttl("courier:{quiet}:\(key)", redis)
                #expect(left > 170 && left <= 180, "\(key) TTL \(left) after the close")
            }
            #expect(try await Self.ttl("courier:{quiet}:owner", redis) == -2)
            redis.close()
        }
    }

    /// A node that dies with a client connected: once presence lapses, the client's keys expire.
    @Test func aDeadNodesClientsKeysExpireOnceItsPresenceLapses() async throws {
        try await withRedis { server, loop in
            let redis = RedisConnection(loop: loop, endpoint: try RedisEndpoint(url: server.url))
            let a = try Node(redis: server.url), b = try Node(redis: server.url)
            defer { b.stop() }
            // A node reaps (and reports) once it has served a request: b serves one.
            let page = try RawClient(port: b.port)
            #expect(page.send("GET /_ah/channel/jsapi HTTP/1.1\r\nHost: b\r\n\r\n"))
            #expect(try page.readResponse().status == 200)
            let client = try Client(port: a.port)
            client.open(token: try a.service.createChannel(clientID: "stranded"))
            #expect(try await client.next()["type"] == "opened")
            #expect(try await Self.ttl("courier:{stranded}:meta", redis) == -1)
            (a.service.engine as! RedisChannelEngine).halt()
            a.stop()
            #expect(await RedisChannelEngineTests.eventually(15) { b.events.contains("-stranded") }, "\(b.events)")
            for key in ["meta", "owner"] {
                let left = try await Self.ttl("courier:{stranded}:\(key)", redis)
                #expect(left > 170 && left <= 180, "\(key) TTL \(left) after the node died")
            }
            redis.close()
        }
    }

    /// A fresh open (another tab) replacing a live connection is handed only what follows what
    /// the replaced connection had, whether that connection is on another node or this one.
    @Test(arguments: [true, false])
    func aFreshOpenReplacingALiveConnectionIsHandedOnlyWhatFollows(onAnotherNode: Bool) async throws {
        let server = try await RedisServerProcess.start()
        defer { server.stop() }
        let a = try Node(redis: server.url), b = try Node(redis: server.url)
        defer { a.stop(); b.stop() }
        let token = try a.service.createChannel(clientID: "tabs")
        let first = try Client(port: a.port)
        first.open(token: token)
        #expect(try await first.next()["type"] == "opened")
        for index in 1...3 { _ = try await b.service.sendMessage(clientID: "tabs", message: "m\(index)", idempotencyKey: nil) }
        for index in 1...3 { #expect(try await first.next()["seq"] == "\(index)") }
        let second = try Client(port: onAnotherNode ? b.port : a.port)
        second.open(token: try a.service.createChannel(clientID: "tabs"))
        #expect(try await second.next()["type"] == "opened")
        let kicked = try await first.next()
        #expect(kicked["type"] == "error" && kicked["code"] == "409", "\(kicked)")
        _ = try await a.service.sendMessage(clientID: "tabs", message: "m4", idempotencyKey: nil)
        let frame = try await second.next()
        #expect(frame["seq"] == "4" && frame["data"] == "m4", "the second tab was handed \(frame)")
    }

    /// After the node holding a client died, a fresh open elsewhere is handed what that node
    /// had not handed out as last recorded (each presence refresh records it).
    @Test func aFreshOpenAfterItsNodeDiedIsNotHandedWhatWasRecordedAsDelivered() async throws {
        let server = try await RedisServerProcess.start()
        defer { server.stop() }
        let a = try Node(redis: server.url), b = try Node(redis: server.url)
        defer { b.stop() }
        let token = try a.service.createChannel(clientID: "crash")
        let first = try Client(port: a.port)
        first.open(token: token)
        #expect(try await first.next()["type"] == "opened")
        for index in 1...3 { _ = try await b.service.sendMessage(clientID: "crash", message: "m\(index)", idempotencyKey: nil) }
        for index in 1...3 { #expect(try await first.next()["seq"] == "\(index)") }
        // One refresh (every 2 s here) records how far the connection got.
        try await Task.sleep(for: .milliseconds(2500))
        (a.service.engine as! RedisChannelEngine).halt()
        a.stop()
        _ = try await b.service.sendMessage(clientID: "crash", message: "m4", idempotencyKey: nil)
        let second = try Client(port: b.port)
        second.open(token: token)
        #expect(try await second.next()["type"] == "opened")
        let frame = try await second.next()
        #expect(frame["seq"] == "4" && frame["data"] == "m4", "after the crash the new tab was handed \(frame)")
    }

    /// Topic operations confirmed by Redis: counts and subscribers as Redis holds them, across
    /// nodes; a retried publish key sends nothing twice; a member whose session lapsed leaves.
    @Test func topicsAreConfirmedByRedisAcrossNodes() async throws {
        try await withRedis { server, loop in
            let redis = RedisConnection(loop: loop, endpoint: try RedisEndpoint(url: server.url))
            let a = try Node(redis: server.url), b = try Node(redis: server.url)
            defer { a.stop(); b.stop() }
            let reader = try Client(port: b.port)
            reader.open(token: try b.service.createChannel(clientID: "reader"))
            #expect(try await reader.next()["type"] == "opened")
            try await a.service.subscribe(clientIDs: ["reader", "away", "gone"], topic: "news")
            #expect(try await b.service.fetchSubscribers(of: "news").sorted() == ["away", "gone", "reader"])
            #expect(a.service.subscribers(of: "news") == [], "the synchronous form cannot know")

            #expect(try await b.service.publish(topic: "news", message: "one", idempotencyKey: "p1") == 3)
            #expect(try await a.service.publish(topic: "news", message: "one", idempotencyKey: "p1") == 3)
            #expect(try await reader.next() == ["type": "message", "topic": "news", "seq": "1", "data": "one"])
            // A publish keeps no member alive: "away" (never connected) keeps its send-time expiry.
            let before = try await Self.ttl("courier:{away}:meta", redis)
            try await Task.sleep(for: .milliseconds(1100))
            _ = try await a.service.publish(topic: "news", message: "two", idempotencyKey: nil)
            #expect(try await Self.ttl("courier:{away}:meta", redis) < before)
            #expect(try await Self.ttl("courier:{away}:topics", redis) > 0, "its subscription lapses with it")
            #expect(try await redis.send("EXISTS", "courier:{away}:stream").int == 0, "a publish writes to no member's keys")
            #expect(try await reader.next() == ["type": "message", "topic": "news", "seq": "2", "data": "two"])

            // "gone" lapsed (its keys expired): the next publish leaves it out, and the set with it.
            _ = try await redis.send("DEL", "courier:{gone}:meta", "courier:{gone}:stream")
            #expect(try await a.service.publish(topic: "news", message: "three", idempotencyKey: nil) == 2)
            #expect(try await a.service.fetchSubscribers(of: "news").sorted() == ["away", "reader"])
            #expect(try await redis.send("EXISTS", "courier:{gone}:meta").int == 0)

            try await b.service.unsubscribe(clientIDs: ["away"], topic: "news")
            #expect(try await a.service.publish(topic: "news", message: "four", idempotencyKey: nil) == 1)
            #expect(try await reader.next() == ["type": "message", "topic": "news", "seq": "3", "data": "three"])
            #expect(try await reader.next() == ["type": "message", "topic": "news", "seq": "4", "data": "four"])
            redis.close()
        }
    }

    /// A batch of sends from one node: every message its own seq, answered in the batch's order
    /// once Redis holds them all; retried keys send nothing twice; a bad message sends none.
    @Test func aBatchOfSendsIsHeldInOrderAndRetriedSafely() async throws {
        let server = try await RedisServerProcess.start()
        defer { server.stop() }
        let a = try Node(redis: server.url), b = try Node(redis: server.url)
        defer { a.stop(); b.stop() }
        let client = try Client(port: b.port)
        client.open(token: try b.service.createChannel(clientID: "many"))
        #expect(try await client.next()["type"] == "opened")
        let batch: [(clientID: String, message: String, idempotencyKey: String?)] = (1...50).map { (n: Int) in
            (clientID: n % 2 == 0 ? "many" : "other", message: "m\(n)", idempotencyKey: "k\(n)")
        }
        let seqs = try await a.service.sendMessages(batch)
        let expected: [UInt64] = (1...50).map { (n: Int) -> UInt64 in UInt64((n + 1) / 2) }
        #expect(seqs == expected)
        #expect(try await a.service.sendMessages(batch) == seqs, "the same keys again")
        for n in 1...25 { #expect(try await client.next() == ["type": "message", "seq": "\(n)", "data": "m\(2 * n)"]) }
        let bad: [(clientID: String, message: String, idempotencyKey: String?)] = [("many", "fine", nil), ("many", "", nil)]
        await #expect(throws: ChannelError.self) { try await a.service.sendMessages(bad) }
        _ = try await a.service.sendMessage(clientID: "many", message: "after", idempotencyKey: nil)
        #expect(try await client.next() == ["type": "message", "seq": "26", "data": "after"], "the bad batch sent nothing")
    }

    /// A node with two loops, each with its own Redis connections: clients on both get every
    /// message in order, and a client moving between the node's loops (a fresh open replacing
    /// its connection) is followed on the new loop and handed only what follows.
    @Test func clientsOnEveryLoopOfANodeGetEverythingInOrder() async throws {
        let server = try await RedisServerProcess.start()
        defer { server.stop() }
        let a = try Node(redis: server.url, workers: 2), b = try Node(redis: server.url)
        defer { a.stop(); b.stop() }
        let names = (0..<8).map { "loop\($0)" }
        var clients: [Client] = []
        for name in names {
            let client = try Client(port: a.port)
            client.open(token: try a.service.createChannel(clientID: name))
            #expect(try await client.next()["type"] == "opened")
            clients.append(client)
        }
        #expect((a.service.engine as! RedisChannelEngine).serverLoopsConnected == 2, "the clients landed on one loop")
        for round in 1...20 {
            for name in names { _ = try await b.service.sendMessage(clientID: name, message: "r\(round)", idempotencyKey: nil) }
        }
        for client in clients {
            for round in 1...20 { #expect(try await client.next() == ["type": "message", "seq": "\(round)", "data": "r\(round)"]) }
        }
        // Each client opens again (a reload): the old connection ends with 409 and, wherever the
        // new one lands, it gets only what follows.
        for (index, name) in names.enumerated() {
            let again = try Client(port: a.port)
            again.open(token: try a.service.createChannel(clientID: name))
            #expect(try await again.next()["type"] == "opened")
            #expect(try await clients[index].next()["code"] == "409")
            clients[index] = again
        }
        for name in names { try a.service.sendMessage(clientID: name, message: "after") }
        for client in clients { #expect(try await client.next() == ["type": "message", "seq": "21", "data": "after"]) }
    }

    /// Confirmed topic operations on the in-memory engine, with the same answers.
    @Test func topicsAreConfirmedInMemoryToo() async throws {
        let service = ChannelService(secret: RedisChannelEngineTests.secret)
        try await service.subscribe(clientIDs: ["x", "y"], topic: "t")
        #expect(try await service.fetchSubscribers(of: "t").sorted() == ["x", "y"])
        #expect(try await service.publish(topic: "t", message: "m", idempotencyKey: "k") == 2)
        try await service.unsubscribe(clientIDs: ["y"], topic: "t")
        #expect(try await service.publish(topic: "t", message: "m", idempotencyKey: "k") == 2, "a retried key")
        #expect(try await service.publish(topic: "t", message: "m", idempotencyKey: "k2") == 1)
        await #expect(throws: ChannelError.self) { try await service.publish(topic: "t", message: "m", idempotencyKey: "") }
        await #expect(throws: ChannelError.self) { try await service.subscribe(clientIDs: ["x"], topic: "") }
    }
}
