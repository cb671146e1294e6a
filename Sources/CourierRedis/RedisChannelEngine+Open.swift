package import CourierChannel
import CourierLoop

/// Opening a channel on this node: subscribed to the client's Pub/Sub channel first, then one
/// script reads the session and takes ownership; a fresh open that replaces a connection on
/// another node waits (briefly) for that node to say how far its connection got, so the new
/// one is handed only what follows, as on one node.
extension RedisChannelEngine {
    /// On the connection's loop, with that loop's connections: its client's Pub/Sub messages
    /// arrive there.
    package func attach(_ connection: any ChannelConnection, clientID: String, tokenExpiry: Double, resume: ChannelResume,
                        completion: @escaping (Result<ChannelAttachment, ChannelRefusal>) -> Void) {
        let box = CompletionBox(completion)
        let connectionLoop = connection.loop
        let finish: @Sendable (Result<ChannelAttachment, ChannelRefusal>) -> Void = { result in
            connectionLoop.perform { box.completion(result) }
        }
        let now = clock.now()
        // Offsets past what Lua reads exactly (2^53) are no topic's: refused before they reach it.
        guard resume.topics.count <= ChannelResume.maxTopics, resume.topics.values.allSatisfy({ $0 < 1 << 53 }) else {
            return completion(.failure(.sessionLost))
        }
        let topicArguments = resume.topics.flatMap { [$0.key, String($0.value)] }
        let start: @Sendable () -> Void = { [self] in
            guard !halted.load(ordering: .relaxed) else { return }
            let links = links(on: connectionLoop)
            state.withLock { $0.opening[OpeningKey(clientID, connectionLoop), default: 0] += 1 }
            // Subscribed first: whatever is sent after the open script ran arrives by Pub/Sub,
            // whatever before it is in the script's reply; the overlap is dropped by seq.
            links.subscriber.subscribe(ChannelScripts.channel(clientID), handler: { [self] message in
                clientMessage(message, clientID: clientID, on: connectionLoop)
            }, confirmed: { [self] subscribed in
                guard case .success = subscribed else {
                    doneOpening(clientID, on: links)
                    return finish(.failure(.unavailable))
                }
                let keys = [ChannelScripts.meta(clientID), ChannelScripts.stream(clientID), ChannelScripts.owner(clientID),
                            ChannelScripts.presence, ChannelScripts.topics(clientID), ChannelScripts.nodeClients(nodeID)]
                let arguments = [InMemoryChannelEngine.newID(), "\(nodeID) \(connection.connectionID)", clientID,
                                 String(now + presenceLapseSeconds), String(resume.lastSeq), resume.isFresh ? "1" : "0"]
                    + topicArguments
                links.command.run(ChannelScripts.open, keys: keys.map { Array($0.utf8) },
                                  arguments: arguments.map { Array($0.utf8) }) { [self] result in
                    defer { doneOpening(clientID, on: links) }
                    guard case .success(let reply) = noted(result, on: links) else { return finish(.failure(.unavailable)) }
                    available.store(true, ordering: .relaxed)
                    switch opened(reply, connection: connection, clientID: clientID, tokenExpiry: tokenExpiry,
                                  resume: resume, now: now) {
                    case .refused(let refusal):
                        finish(.failure(refusal))
                    case .attached(let attachment, nil):
                        finish(.success(attachment))
                    case .attached(let attachment, let previous?):
                        replace(previous, by: connection.connectionID, clientID: clientID, attachment: attachment,
                                fresh: resume.isFresh, on: links, finish: finish)
                    }
                }
            })
        }
        connectionLoop.perform(start)
    }

    enum Opened {
        case refused(ChannelRefusal)
        /// With the owner on another node (`<node> <connection>`) the open replaced, if any.
        case attached(ChannelAttachment, replacing: (node: String, connectionID: String)?)
    }

    /// What the open script found, made into this node's record of the client.
    private func opened(_ reply: RESPValue, connection: any ChannelConnection, clientID: String, tokenExpiry: Double,
                        resume: ChannelResume, now: Double) -> Opened {
        guard let parts = reply.array, parts.count == 7, let epoch = parts[0].string, let top = parts[1].int,
              let delivered = parts[2].int, let previous = parts[3].string, let wasPresent = parts[4].int else {
            return .refused(.unavailable)
        }
        let entries = StreamEntry.parse(parts[5])
        let lastSeq = UInt64(max(0, top))
        guard resume.lastSeq <= lastSeq else { return .refused(.sessionLost) }
        var cursor: UInt64
        if resume.isFresh {
            // After what was handed out, what the Stream no longer holds, and what has aged out
            // unread, as on one node: the session below drops a held message older than the
            // window, and one dropped after the cursor would be taken for a gap (410) at every
            // fresh open, for as long as the Stream keeps it.
            let firstDue = entries.first { $0.time >= now - settings.recoveryWindowSeconds }?.seq ?? lastSeq + 1
            cursor = max(UInt64(max(0, delivered)), firstDue - 1)
            cursor = min(cursor, lastSeq)
        } else {
            cursor = resume.lastSeq
            // A resume needs every message after its seq still held and young enough.
            let complete = cursor == lastSeq
                || (entries.first?.seq == cursor + 1 && (entries.first?.time ?? 0) >= now - settings.recoveryWindowSeconds)
            guard resume.sessionID == epoch, complete else { return .refused(.sessionLost) }
        }
        let session = ChannelSession(sessionID: epoch, now: now, firstSeq: cursor + 1)
        for entry in entries where entry.seq == session.nextSeq {
            session.append(ChannelPayload(entry.text, time: entry.time), limits: settings)
        }
        session.connection = connection
        session.present = true
        session.absentSince = nil
        let client = Client(epoch: epoch, session: session, connection: connection, tokenExpiry: tokenExpiry,
                            recorded: UInt64(max(0, delivered)))
        guard let feeds = topicFeeds(parts[6], resume: resume, now: now) else { return .refused(.sessionLost) }
        client.topics = feeds
        let (earlier, missed) = state.withLock { state -> (Client?, Bool) in
            let earlier = state.clients[clientID]
            if resume.isFresh, let earlier, earlier.epoch == epoch {
                // The connection replaced here had these already: the new one starts after them.
                cursor = max(cursor, earlier.session.deliveredThrough)
                for (topic, feed) in feeds {
                    guard let handed = earlier.topics[topic]?.session.deliveredThrough, handed > feed.floor else { continue }
                    feed.floor = handed
                    feed.session.deliveredThrough = handed
                }
            }
            _ = state.install(clientID, client)
            return (earlier, state.missedWhileOpening.remove(clientID) != nil)
        }
        let replaced = earlier?.connection === connection ? nil : earlier?.connection
        if let earlier {
            let earlierLoop = earlier.connection.loop
            // The replaced connection's loop follows the client no more (unless it is this one).
            if earlierLoop !== connection.loop { earlierLoop.execute { [self] in unfollowIfDone(clientID, on: earlierLoop) } }
            for topic in earlier.topics.keys { syncTopic(topic, on: earlierLoop, catchUp: []) }
        }
        // What the topics published between the script and the record's install went past it.
        for topic in feeds.keys { syncTopic(topic, on: connection.loop, catchUp: [clientID]) }
        // A message (or a join or leave) that came by Pub/Sub before the record was in place
        // may be missing from it.
        if missed {
            catchUp(clientID, from: session.nextSeq, on: links(on: connection.loop))
            refreshTopics(clientID, on: links(on: connection.loop))
        }
        let endsEarlierPresence = resume.isFresh && wasPresent == 1
        let attachment = ChannelAttachment(sessionID: epoch, cursor: cursor, lastSeq: max(lastSeq, cursor), replaced: replaced,
                                           endsEarlierPresence: endsEarlierPresence,
                                           becamePresent: wasPresent == 0 || endsEarlierPresence)
        let owner = previous.split(separator: " ")
        guard owner.count == 2, owner[0] != Substring(nodeID) else { return .attached(attachment, replacing: nil) }
        return .attached(attachment, replacing: (String(owner[0]), String(owner[1])))
    }

    /// The open script's topics: per topic its offset, the client's position and the messages
    /// after it, made into feeds. Nil when a resume cannot go on in order in some topic (an
    /// offset past the topic's, or a message the log no longer holds): 410, as for its own.
    private func topicFeeds(_ reply: RESPValue, resume: ChannelResume, now: Double) -> [String: TopicFeed]? {
        var feeds: [String: TopicFeed] = [:]
        for item in reply.array ?? [] {
            guard let fields = item.array, fields.count == 4, let topic = fields[0].string,
                  let offsetValue = fields[1].int, let atValue = fields[2].int else { continue }
            let offset = UInt64(max(0, offsetValue))
            var position = UInt64(max(0, atValue))
            let held = StreamEntry.parse(fields[3])
            let oldest = now - settings.recoveryWindowSeconds
            if resume.isFresh {
                // After what was handed out and what has aged out unread, as for its own messages.
                let firstDue = held.first { $0.time >= oldest }?.seq ?? offset + 1
                position = min(max(position, firstDue - 1), offset)
            } else {
                if let given = resume.topics[topic], given > offset { return nil }
                let complete = position >= offset || (held.first?.seq == position + 1 && (held.first?.time ?? 0) >= oldest)
                guard complete else { return nil }
            }
            let feed = TopicFeed(at: position, now: now)
            for entry in held where entry.seq == feed.session.nextSeq {
                feed.session.append(ChannelPayload(entry.text, time: entry.time, topic: topic), limits: settings)
            }
            feeds[topic] = feed
        }
        return feeds
    }

    /// Tells the node that held the client that `connectionID` replaced its connection; for a
    /// fresh open, waits for its answer (how far the old connection got) unless nobody there
    /// listens (the node is gone), at most `releaseTimeoutMilliseconds` (the node is paused).
    private func replace(_ previous: (node: String, connectionID: String), by connectionID: String, clientID: String,
                         attachment: ChannelAttachment, fresh: Bool, on links: Links,
                         finish: @escaping @Sendable (Result<ChannelAttachment, ChannelRefusal>) -> Void) {
        let kick = "kick \(previous.connectionID) \(nodeID) \(connectionID) \(clientID)"
        guard fresh else {
            links.command.send(["PUBLISH", ChannelScripts.node(previous.node), kick]) { _ in }
            return finish(.success(attachment))
        }
        state.withLock { $0.awaitingRelease[connectionID] = PendingOpen(attachment: attachment, clientID: clientID, finish: finish) }
        loop.execute { [self] in
            let timer = Timer(loop: loop)
            timer.start(after: Self.releaseTimeoutMilliseconds) { [self] in
                timer.close()
                released(connectionID, epoch: nil, delivered: 0)
            }
        }
        links.command.send(["PUBLISH", ChannelScripts.node(previous.node), kick]) { [self] result in
            // Nobody subscribed to that node's channel: it is gone, and its answer will not come.
            if case .success(let receivers) = result, receivers.int == 0 { released(connectionID, epoch: nil, delivered: 0) }
        }
    }

    /// The replaced connection's node answered (or will not): the open goes on after what that
    /// connection was handed. Any thread; the first call for an open wins.
    func released(_ connectionID: String, epoch: String?, delivered: UInt64) {
        guard let pending = state.withLock({ $0.awaitingRelease.removeValue(forKey: connectionID) }) else { return }
        var attachment = pending.attachment
        if epoch == attachment.sessionID, delivered > attachment.cursor {
            attachment = ChannelAttachment(sessionID: attachment.sessionID, cursor: delivered,
                                           lastSeq: max(attachment.lastSeq, delivered), replaced: attachment.replaced,
                                           endsEarlierPresence: attachment.endsEarlierPresence,
                                           becamePresent: attachment.becamePresent)
        }
        pending.finish(.success(attachment))
    }

    /// An open on `links.loop` has ended: that loop drops the client's channel if nothing on
    /// it follows the client any more.
    private func doneOpening(_ clientID: String, on links: Links) {
        state.withLock { state in
            let key = OpeningKey(clientID, links.loop)
            let left = (state.opening[key] ?? 1) - 1
            state.opening[key] = left > 0 ? left : nil
            if left <= 0 { state.missedWhileOpening.remove(clientID) }
        }
        unfollowIfDone(clientID, on: links.loop)
    }

    /// Whether a connection on `loop` holds the client, or an open on `loop` is under way:
    /// then its subscriber must keep the client's channel. Under the state lock.
    static func follows(_ clientID: String, on loop: EventLoop, in state: State) -> Bool {
        state.clients[clientID]?.connection.loop === loop || state.opening[OpeningKey(clientID, loop)] != nil
    }

    /// Drops the client's channel from `loop`'s subscriber if nothing there follows it. On `loop`.
    func unfollowIfDone(_ clientID: String, on loop: EventLoop) {
        guard !state.withLock({ Self.follows(clientID, on: loop, in: $0) }) else { return }
        links(on: loop).subscriber.unsubscribe(ChannelScripts.channel(clientID))
    }
}

/// An open under way for a client on a loop.
struct OpeningKey: Hashable {
    let clientID: String
    let loop: ObjectIdentifier
    init(_ clientID: String, _ loop: EventLoop) {
        self.clientID = clientID
        self.loop = ObjectIdentifier(loop)
    }
}

/// A fresh open waiting for the node it replaced.
struct PendingOpen {
    let attachment: ChannelAttachment
    let clientID: String
    let finish: @Sendable (Result<ChannelAttachment, ChannelRefusal>) -> Void
}

/// Moves a transport's completion to the engine's loop and back; it is only ever called on the
/// connection's own loop.
final class CompletionBox: @unchecked Sendable {
    // @unchecked: created on the connection's loop, stored, and called only on that loop.
    let completion: (Result<ChannelAttachment, ChannelRefusal>) -> Void
    init(_ completion: @escaping (Result<ChannelAttachment, ChannelRefusal>) -> Void) { self.completion = completion }
}
