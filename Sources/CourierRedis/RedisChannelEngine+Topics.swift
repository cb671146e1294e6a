import CourierChannel
import CourierLoop

/// Topics on this node: a publish reaches Redis once and each node once (the topic's Pub/Sub
/// channel, followed by every loop that holds a subscriber), and the node hands it to the
/// subscribers connected to it, numbered by the topic's own offsets (`ChannelPayload.topic`).
/// Each connected client keeps a `TopicFeed` per topic; the client resumes with the offsets it
/// saw, as it does with its own sequence number.
extension RedisChannelEngine {
    /// On `loop`: follows or stops following the topic's channel to match who on `loop` is
    /// subscribed now (posted after every change, so the last one wins whatever the order), and
    /// once Redis confirms a channel newly followed, reads what was published meanwhile. With
    /// the channel confirmed already, reads the log for `clientIDs` only: clients whose feeds
    /// began from a script's reply (an open), which messages on the channel may have overtaken;
    /// a join announced on the client's own channel needs none (one connection, Redis's order).
    func syncTopic(_ topic: String, on loop: EventLoop, catchUp clientIDs: [String]) {
        loop.perform { [self] in
            guard !halted.load(ordering: .relaxed) else { return }
            let links = links(on: loop)
            let channel = Array(ChannelScripts.topicChannel(topic).utf8)
            let wanted = state.withLock { $0.topicFollowers[TopicLoopKey(topic, loop)] != nil }
            guard wanted else { return links.subscriber.unsubscribe(channel) }
            if links.subscriber.isConfirmed(channel) {
                // Confirmed before: what was published after the feeds began arrives in order.
                if !clientIDs.isEmpty { topicCatchUp(topic, clientIDs: clientIDs, on: links) }
                return
            }
            links.subscriber.subscribe(channel, handler: { [self] message in
                topicMessage(message, topic: topic, on: loop)
            }, confirmed: { [self] result in
                if case .success = result { topicCatchUp(topic, clientIDs: nil, on: links) }
            })
        }
    }

    /// `<offset>:<time>:<text>` on a topic's channel, for the subscribers on `loop`.
    func topicMessage(_ message: RedisMessage, topic: String, on loop: EventLoop) {
        guard let published = PublishedTopicMessage(message.payload) else { return }
        let payload = ChannelPayload(published.text, time: published.time, topic: topic)
        let (wake, gap) = state.withLock { state -> ([any ChannelConnection], Bool) in
            guard let followers = state.topicFollowers[TopicLoopKey(topic, loop)] else { return ([], false) }
            var wake: [any ChannelConnection] = []
            var gap = false
            for client in followers.values {
                guard let feed = client.topics[topic] else { continue }
                let next = feed.session.nextSeq
                if published.offset < next { continue }
                if published.offset > next {
                    gap = true
                    continue
                }
                feed.session.append(payload, limits: settings)
                if !client.session.pumpScheduled {
                    client.session.pumpScheduled = true
                    wake.append(client.connection)
                }
            }
            return (wake, gap)
        }
        for connection in wake { connection.messageHeld() }
        if gap { topicCatchUp(topic, clientIDs: nil, on: links(on: loop)) }
    }

    /// Reads the topic's log from the earliest offset a follower on `links.loop` (or one of
    /// `clientIDs`) still needs, and gives each what it lacks. A follower whose next message
    /// the log no longer holds cannot go on in order: its connection ends with 410.
    func topicCatchUp(_ topic: String, clientIDs: [String]?, on links: Links) {
        let key = TopicLoopKey(topic, links.loop)
        let from = state.withLock { state -> UInt64? in
            guard let followers = state.topicFollowers[key] else { return nil }
            let clients = clientIDs.map { $0.compactMap { followers[$0] } } ?? Array(followers.values)
            return clients.compactMap { $0.topics[topic]?.session.nextSeq }.min()
        }
        guard let from else { return }
        let offsetReply = ReplySlot()
        links.command.send(["GET", ChannelScripts.topicOffset(topic)]) { result in
            if case .success(let reply) = result { offsetReply.value = reply.string ?? "0" }
        }
        links.command.send(["XRANGE", ChannelScripts.topicLog(topic), "\(from)-1", "+"]) { [self] result in
            guard case .success(let reply) = result, let offset = offsetReply.value.flatMap({ UInt64($0) }) else { return }
            let entries = StreamEntry.parse(reply)
            let payloads = entries.map { (offset: $0.seq, payload: ChannelPayload($0.text, time: $0.time, topic: topic)) }
            let wake = state.withLock { state -> [any ChannelConnection] in
                guard let followers = state.topicFollowers[key] else { return [] }
                var wake: [any ChannelConnection] = []
                for client in followers.values {
                    // Only those the read covers: one behind `from` waits for a read of its own.
                    guard let feed = client.topics[topic], feed.session.nextSeq >= from, feed.session.nextSeq <= offset else { continue }
                    for entry in payloads where entry.offset == feed.session.nextSeq {
                        feed.session.append(entry.payload, limits: settings)
                    }
                    // Still short of the topic's offset: the log no longer holds what it needs.
                    if feed.session.nextSeq <= offset { client.lost = true }
                    client.session.pumpScheduled = true
                    wake.append(client.connection)
                }
                return wake
            }
            for connection in wake { connection.messageHeld() }
        }
    }

    /// `+<offset> <topic>` or `-<topic>` on a client's channel: it joined or left a topic.
    /// Returns false for anything else (a message).
    func topicChange(_ payload: [UInt8], clientID: String, on loop: EventLoop) -> Bool {
        guard let first = payload.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") else { return false }
        let text = String(decoding: payload.dropFirst(), as: UTF8.self)
        if first == UInt8(ascii: "-") {
            let left = state.withLock { state -> Bool in
                guard let client = state.clients[clientID], client.connection.loop === loop,
                      client.topics.removeValue(forKey: text) != nil else { return false }
                state.unfollow(topic: text, clientID: clientID, loop: loop)
                return true
            }
            if left { syncTopic(text, on: loop, catchUp: []) }
            return true
        }
        let parts = text.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let joined = UInt64(parts[0]) else { return true }
        let topic = String(parts[1])
        let joinedHere = state.withLock { state -> Bool in
            guard let client = state.clients[clientID], client.connection.loop === loop, client.topics[topic] == nil else { return false }
            client.topics[topic] = TopicFeed(at: joined, now: clock.now())
            state.follow(topic: topic, clientID: clientID, client: client, loop: loop)
            return true
        }
        if joinedHere { syncTopic(topic, on: loop, catchUp: []) }
        return true
    }

    /// Reads the client's topics from Redis and makes its feeds match: a join or a leave may
    /// have come by Pub/Sub before this node had the client's record.
    func refreshTopics(_ clientID: String, on links: Links) {
        links.command.send(["HGETALL", ChannelScripts.topics(clientID)]) { [self] result in
            guard case .success(let reply) = result, let fields = reply.array?.compactMap(\.string) else { return }
            var positions: [String: UInt64] = [:]
            var index = 0
            while index + 1 < fields.count {
                positions[fields[index]] = TopicPosition(fields[index + 1])?.joined ?? 0
                index += 2
            }
            let loop = links.loop
            let changed = state.withLock { state -> [String] in
                guard let client = state.clients[clientID], client.connection.loop === loop else { return [] }
                var changed: [String] = []
                for topic in client.topics.keys where positions[topic] == nil {
                    client.topics[topic] = nil
                    state.unfollow(topic: topic, clientID: clientID, loop: loop)
                    changed.append(topic)
                }
                for (topic, joined) in positions where client.topics[topic] == nil {
                    client.topics[topic] = TopicFeed(at: joined, now: clock.now())
                    state.follow(topic: topic, clientID: clientID, client: client, loop: loop)
                    changed.append(topic)
                }
                return changed
            }
            for topic in changed { syncTopic(topic, on: loop, catchUp: [clientID]) }
        }
    }

    /// After `loop`'s subscriber reconnected: every topic followed there may have missed messages.
    func topicCatchUpAll(on loop: EventLoop) {
        let topics = state.withLock { state in
            state.topicFollowers.keys.filter { $0.loop == ObjectIdentifier(loop) }.map(\.topic)
        }
        let links = links(on: loop)
        for topic in topics { topicCatchUp(topic, clientIDs: nil, on: links) }
    }
}

/// One client's messages from one topic on this node: a session numbered by the topic's
/// offsets, from where this connection's share of it began.
final class TopicFeed {
    let session: ChannelSession
    /// The offset before this connection's first message of the topic: a long-poll client that
    /// has acknowledged none of them yet is handed them from here.
    var floor: UInt64
    /// The highest offset recorded in Redis as handed out (`progress`).
    var recorded: UInt64

    init(at offset: UInt64, now: Double) {
        session = ChannelSession(sessionID: "", now: now, firstSeq: offset + 1)
        floor = offset
        recorded = offset
    }
}

/// The subscribers of a topic connected on one loop.
struct TopicLoopKey: Hashable {
    let topic: String
    let loop: ObjectIdentifier
    init(_ topic: String, _ loop: EventLoop) {
        self.topic = topic
        self.loop = ObjectIdentifier(loop)
    }
}

/// A client's place in a topic as Redis keeps it: `<joined> <delivered>`.
struct TopicPosition {
    let joined: UInt64
    let delivered: UInt64
    init?(_ text: String) {
        let parts = text.split(separator: " ")
        guard parts.count == 2, let joined = UInt64(parts[0]), let delivered = UInt64(parts[1]) else { return nil }
        self.joined = joined
        self.delivered = delivered
    }
}

extension RedisChannelEngine.State {
    /// Makes `client` the record of `clientID` and a follower of its topics; returns the record
    /// it replaced, no longer following anything.
    mutating func install(_ clientID: String, _ client: RedisChannelEngine.Client) -> RedisChannelEngine.Client? {
        let earlier = remove(clientID)
        clients[clientID] = client
        progressed[clientID] = client
        if client.tokenExpiry.isFinite { tokenExpiries.push((clientID, client), due: client.tokenExpiry) }
        if client.connection.canGoStale { pollers[clientID] = client }
        for topic in client.topics.keys { follow(topic: topic, clientID: clientID, client: client, loop: client.connection.loop) }
        return earlier
    }

    /// Forgets the client's record and its place among its topics' followers.
    mutating func remove(_ clientID: String) -> RedisChannelEngine.Client? {
        guard let client = clients.removeValue(forKey: clientID) else { return nil }
        pollers[clientID] = nil
        clients.shrinkIfSparse()
        pollers.shrinkIfSparse()
        forgotten += 1
        for topic in client.topics.keys { unfollow(topic: topic, clientID: clientID, loop: client.connection.loop) }
        return client
    }

    mutating func follow(topic: String, clientID: String, client: RedisChannelEngine.Client, loop: EventLoop) {
        topicFollowers[TopicLoopKey(topic, loop), default: [:]][clientID] = client
    }

    mutating func unfollow(topic: String, clientID: String, loop: EventLoop) {
        let key = TopicLoopKey(topic, loop)
        topicFollowers[key]?[clientID] = nil
        if topicFollowers[key]?.isEmpty == true { topicFollowers[key] = nil } else { topicFollowers[key]?.shrinkIfSparse() }
    }
}
