import Courier
import CourierChannel
import CourierLoop
import CourierRedis
import CourierTesting
import Foundation
import Testing

/// Topics on the Redis engine: a publish costs Redis one entry whatever the members, each
/// topic's messages are numbered by the topic's own offsets (`"topic"` in the frame), a client
/// resumes on any node from the offsets it saw, and joins and leaves reach the node that holds
/// the client. Against a real redis-server, with real WebSocket clients.
@Suite(.serialized) struct RedisTopicTests {
    typealias Node = RedisChannelEngineTests.Node
    typealias Client = RedisChannelEngineTests.Client

    /// `INFO commandstats` as command → calls.
    static func calls(_ redis: RedisConnection) async throws -> [String: Int] {
        let text = try #require(try await redis.send("INFO", "commandstats").string)
        var calls: [String: Int] = [:]
        for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("cmdstat_") {
            let name = line.dropFirst("cmdstat_".count).prefix { $0 != ":" }
            if let range = line.range(of: "calls="), let count = Int(line[range.upperBound...].prefix { $0.isNumber }) {
                calls[String(name)] = count
            }
        }
        return calls
    }

    @Test func aPublishCostsRedisOneEntryAndOneMessageWhateverTheMembers() async throws {
        try await withRedis { server, loop in
            let redis = RedisConnection(loop: loop, endpoint: try RedisEndpoint(url: server.url))
            let a = try Node(redis: server.url), b = try Node(redis: server.url)
            defer { a.stop(); b.stop() }
            var readers: [Client] = []
            for (index, node) in [a, b].enumerated() {
                let reader = try Client(port: node.port)
                reader.open(token: try node.service.createChannel(clientID: "reader\(index)"))
                #expect(try await reader.next()["type"] == "opened")
                readers.append(reader)
            }
            let members = ["reader0", "reader1"] + (0..<2000).map { "member\($0)" }
            try await a.service.subscribe(clientIDs: members, topic: "crowd")
            _ = try await redis.send("CONFIG", "RESETSTAT")
            #expect(try await b.service.publish(topic: "crowd", message: "hello all", idempotencyKey: nil) == 2002)
            for reader in readers {
                #expect(try await reader.next() == ["type": "message", "topic": "crowd", "seq": "1", "data": "hello all"])
            }
            let calls = try await Self.calls(redis)
            #expect(calls["xadd"] == 1, "one entry in the topic's log, none per member: \(calls)")
            #expect(calls["publish"] == 1, "one Pub/Sub message for every node: \(calls)")
            #expect(calls["hincrby"] == nil, "no member's sequence touched: \(calls)")
            redis.close()
        }
    }

    @Test func aClientResumesOnAnotherNodeFromTheOffsetsItSaw() async throws {
        let server = try await RedisServerProcess.start()
        defer { server.stop() }
        let a = try Node(redis: server.url), b = try Node(redis: server.url)
        defer { a.stop(); b.stop() }
        let first = try Client(port: a.port)
        first.open(token: try a.service.createChannel(clientID: "r"))
        let opened = try await first.next()
        let session = try #require(opened["session"])
        try await b.service.subscribe(clientIDs: ["r"], topic: "news")
        _ = try await b.service.publish(topic: "news", message: "n1", idempotencyKey: nil)
        _ = try await b.service.sendMessage(clientID: "r", message: "d1", idempotencyKey: nil)
        _ = try await b.service.publish(topic: "news", message: "n2", idempotencyKey: nil)
        var seen: Set<[String: String]> = []
        for _ in 0..<3 { seen.insert(try await first.next()) }
        #expect(seen == [["type": "message", "topic": "news", "seq": "1", "data": "n1"],
                         ["type": "message", "seq": "1", "data": "d1"],
                         ["type": "message", "topic": "news", "seq": "2", "data": "n2"]])
        first.socket.drop()
        // While it is away: more of both, then it resumes on the other node with what it saw.
        _ = try await a.service.publish(topic: "news", message: "n3", idempotencyKey: nil)
        _ = try await a.service.sendMessage(clientID: "r", message: "d2", idempotencyKey: nil)
        _ = try await a.service.publish(topic: "news", message: "n4", idempotencyKey: nil)
        let second = try Client(port: b.port)
        second.open(token: try b.service.createChannel(clientID: "r"), session: session, seq: 1, topics: "{\"news\":2}")
        #expect(try await second.next()["type"] == "opened")
        var resumed: [[String: String]] = []
        for _ in 0..<3 { resumed.append(try await second.next()) }
        #expect(resumed == [["type": "message", "seq": "2", "data": "d2"],
                            ["type": "message", "topic": "news", "seq": "3", "data": "n3"],
                            ["type": "message", "topic": "news", "seq": "4", "data": "n4"]], "\(resumed)")
        // Live again after the resume, each in its own numbering.
        _ = try await a.service.publish(topic: "news", message: "n5", idempotencyKey: nil)
        #expect(try await second.next() == ["type": "message", "topic": "news", "seq": "5", "data": "n5"])
    }

    /// Offsets a client cannot have seen end the channel (410); ones that are not offsets at all
    /// are a bad request (400). Neither reaches Lua as a number it would misread.
    @Test func impossibleTopicOffsetsAreRefused() async throws {
        let server = try await RedisServerProcess.start()
        defer { server.stop() }
        let a = try Node(redis: server.url)
        defer { a.stop() }
        let client = try Client(port: a.port)
        client.open(token: try a.service.createChannel(clientID: "h"))
        let session = try #require(try await client.next()["session"])
        try await a.service.subscribe(clientIDs: ["h"], topic: "t")
        _ = try await a.service.publish(topic: "t", message: "one", idempotencyKey: nil)
        #expect(try await client.next()["seq"] == "1")
        client.socket.drop()
        let many = "{" + (0...ChannelResume.maxTopics).map { "\"t\($0)\":1" }.joined(separator: ",") + "}"
        let cases: [(topics: String, code: String)] = [
            ("{\"t\":2}", "410"), ("{\"t\":9007199254740993}", "410"), ("{\"t\":18446744073709551615}", "410"),
            ("{\"t\":18446744073709551616}", "400"), ("{\"t\":-1}", "400"), ("{\"t\":1.5}", "400"), ("{\"t\":\"1\"}", "400"),
            ("[1]", "400"), (many, "400"),
        ]
        for (topics, code) in cases {
            let hostile = try Client(port: a.port)
            hostile.open(token: try a.service.createChannel(clientID: "h"), session: session, seq: 0, topics: topics)
            let frame = try await hostile.next()
            #expect(frame["type"] == "error" && frame["code"] == code, "\(topics.prefix(60)): \(frame)")
        }
        // The server is fine, and an honest resume still works.
        let honest = try Client(port: a.port)
        honest.open(token: try a.service.createChannel(clientID: "h"), session: session, seq: 0, topics: "{\"t\":1}")
        #expect(try await honest.next()["type"] == "opened")
        _ = try await a.service.publish(topic: "t", message: "two", idempotencyKey: nil)
        #expect(try await honest.next() == ["type": "message", "topic": "t", "seq": "2", "data": "two"])
    }

    /// A join or leave made on one node reaches the node that holds the client, at once.
    @Test func joinsAndLeavesReachTheNodeHoldingTheClient() async throws {
        let server = try await RedisServerProcess.start()
        defer { server.stop() }
        let a = try Node(redis: server.url), b = try Node(redis: server.url)
        defer { a.stop(); b.stop() }
        let client = try Client(port: b.port)
        client.open(token: try b.service.createChannel(clientID: "j"))
        #expect(try await client.next()["type"] == "opened")
        _ = try await a.service.publish(topic: "room", message: "before joining", idempotencyKey: nil)
        try await a.service.subscribe(clientIDs: ["j"], topic: "room")
        #expect(try await a.service.publish(topic: "room", message: "after joining", idempotencyKey: nil) == 1)
        #expect(try await client.next() == ["type": "message", "topic": "room", "seq": "1", "data": "after joining"])
        try await a.service.unsubscribe(clientIDs: ["j"], topic: "room")
        #expect(try await a.service.publish(topic: "room", message: "after leaving", idempotencyKey: nil) == 0)
        try await a.service.subscribe(clientIDs: ["j", "other"], topic: "room")
        _ = try await a.service.publish(topic: "room", message: "back", idempotencyKey: nil)
        #expect(try await client.next() == ["type": "message", "topic": "room", "seq": "2", "data": "back"],
                "nothing published while it was out")
    }

    /// Long-polling: a poll acknowledges per topic, so an answer lost on the way is handed again,
    /// and an offset the connection never handed ends it (410).
    @Test func longPollsAcknowledgeEachTopic() async throws {
        let server = try await RedisServerProcess.start()
        defer { server.stop() }
        let a = try Node(redis: server.url)
        defer { a.stop() }
        let raw = try RawClient(port: a.port, timeoutSeconds: 10)
        let token = try a.service.createChannel(clientID: "lp")
        let queue = DispatchQueue(label: "courier.redis-topic-test.long-poll")
        func poll(session: String, topics: String) async throws -> (status: Int, frames: [[String: String]]) {
            let body = URLEncoding.form([("token", token), ("session", session), ("seq", "0"), ("topics", topics), ("cid", "lp1")])
            let request = "POST /_ah/channel/poll HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n" + body
            let response = try await withCheckedThrowingContinuation { continuation in
                queue.async {
                    continuation.resume(with: Result {
                        guard raw.send(request) else { throw Failure("the poll was not sent") }
                        return try raw.readResponse()
                    })
                }
            }
            let array = try JSONSerialization.jsonObject(with: Data(response.body)) as? [[String: Any]] ?? []
            return (response.status, array.map { $0.mapValues { "\($0)" } })
        }
        let opened = try await poll(session: "", topics: "{}")
        let session = try #require(opened.frames.first?["session"])
        try await a.service.subscribe(clientIDs: ["lp"], topic: "t")
        _ = try await a.service.publish(topic: "t", message: "one", idempotencyKey: nil)
        let first = try await poll(session: session, topics: "{}")
        #expect(first.frames == [["type": "message", "topic": "t", "seq": "1", "data": "one"]])
        let again = try await poll(session: session, topics: "{}")
        #expect(again.frames == first.frames, "an answer the client never acknowledged is handed again")
        _ = try await a.service.publish(topic: "t", message: "two", idempotencyKey: nil)
        let next = try await poll(session: session, topics: "{\"t\":1}")
        #expect(next.frames == [["type": "message", "topic": "t", "seq": "2", "data": "two"]])
        #expect(try await poll(session: session, topics: "{\"t\":x}").status == 400)
        let impossible = try await poll(session: session, topics: "{\"t\":7}")
        #expect(impossible.status == 410 && impossible.frames.first?["code"] == "410", "\(impossible)")
    }
}
