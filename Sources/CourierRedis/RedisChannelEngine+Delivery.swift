package import CourierChannel
import CourierLoop

/// Handing messages to this node's connections, and letting them go.
extension RedisChannelEngine {
    /// The client's own messages first, then each topic's.
    package func take(for clientID: String, connection: any ChannelConnection, after cursor: UInt64,
                      topicCursors: [String: UInt64]?, maxBytes: Int) -> ChannelTake {
        state.withLock { state in
            guard let client = state.clients[clientID], client.connection === connection else { return .messages([], more: false) }
            let session = client.session
            session.pumpScheduled = false
            guard !client.lost, !session.hasLost(after: cursor) else { return .lost }
            var messages = session.messages(after: cursor, maxBytes: maxBytes)
            var more = false
            if let last = messages.last {
                session.deliveredThrough = max(session.deliveredThrough, last.seq)
                more = last.seq < session.nextSeq - 1
                state.progressed[clientID] = client
            }
            guard !client.topics.isEmpty else { return .messages(messages, more: more) }
            var bytes = messages.reduce(0) { $0 + $1.payload.byteCount }
            for (topic, feed) in client.topics {
                let topicSession = feed.session
                let after = max(topicCursors.map { $0[topic] ?? feed.floor } ?? topicSession.deliveredThrough, feed.floor)
                guard !topicSession.hasLost(after: after) else { return .lost }
                guard after < topicSession.nextSeq - 1 else { continue }
                guard bytes < maxBytes || messages.isEmpty else {
                    more = true
                    continue
                }
                let taken = topicSession.messages(after: after, maxBytes: maxBytes == .max ? .max : maxBytes - bytes)
                guard let last = taken.last else { continue }
                topicSession.deliveredThrough = max(topicSession.deliveredThrough, last.seq)
                state.progressed[clientID] = client
                more = more || last.seq < topicSession.nextSeq - 1
                bytes += taken.reduce(0) { $0 + $1.payload.byteCount }
                messages += taken
            }
            return .messages(messages, more: more)
        }
    }

    package func detach(_ connection: any ChannelConnection, clientID: String, deliberate: Bool) -> Bool {
        let gone = state.withLock { state -> Client? in
            guard let client = state.clients[clientID], client.connection === connection else { return nil }
            return state.remove(clientID)
        }
        guard let gone else { return false }
        let keys = [ChannelScripts.meta(clientID), ChannelScripts.owner(clientID), ChannelScripts.presence,
                    ChannelScripts.stream(clientID), ChannelScripts.topics(clientID), ChannelScripts.nodeClients(nodeID)]
        let arguments = ["\(nodeID) \(connection.connectionID)", clientID, String(gone.session.deliveredThrough), deliberate ? "1" : "0",
                         String(clock.now() + settings.effectivePresenceGraceSeconds), String(keyTTLSeconds)]
            + gone.topics.flatMap { [$0.key, String($0.value.session.deliveredThrough)] }
        let topics = Array(gone.topics.keys)
        let connectionLoop = connection.loop
        let work: @Sendable () -> Void = { [self] in
            guard !halted.load(ordering: .relaxed) else { return }
            let links = links(on: connectionLoop)
            unfollowIfDone(clientID, on: connectionLoop)
            for topic in topics { syncTopic(topic, on: connectionLoop, catchUp: []) }
            links.command.run(ChannelScripts.detach, keys: keys.map { Array($0.utf8) },
                              arguments: arguments.map { Array($0.utf8) }) { [self] result in
                if case .success(let reply) = result, reply.int == 1 {
                    state.withLock { $0.disconnected.append(clientID) }
                }
            }
        }
        connectionLoop.perform(work)
        return false
    }

    package func sweep() -> ChannelSweep {
        reported.store(true, ordering: .relaxed)
        let now = clock.now()
        return state.withLock { state in
            var result = ChannelSweep()
            result.disconnected = state.disconnected
            result.connected = state.reconnected
            result.forgotten = state.forgotten
            state.forgotten = 0
            state.disconnected = []
            state.reconnected = []
            var expired: Set<String> = []
            while let (due, entry) = state.tokenExpiries.popDue(now: now) {
                // Still the client's record, with this expiry (not replaced or ended since).
                let client = entry.client
                guard client.tokenExpiry == due, state.clients[entry.clientID] === client else { continue }
                result.expired.append(client.connection)
                expired.insert(entry.clientID)
                client.tokenExpiry = .infinity
            }
            // Entries of clients that left or reconnected since: their records go once nothing
            // else holds them.
            do {
                let clients = state.clients
                state.tokenExpiries.compactIfMostlyStale(liveCount: clients.count) { due, entry in
                    clients[entry.clientID] === entry.client && entry.client.tokenExpiry == due
                }
            }
            // An expired token ends the connection with its error: not also abandoned as stale.
            for (clientID, client) in state.pollers where !expired.contains(clientID) && client.connection.isStale(now: now) {
                result.stale.append((clientID, client.connection))
            }
            return result
        }
    }

    // MARK: On the loop of the client's connection

    /// `<epoch>:<seq>:<time>:<text>` for a client connected (or connecting) on `loop`.
    /// Or a topic joined or left (`topicChange`).
    func clientMessage(_ message: RedisMessage, clientID: String, on loop: EventLoop) {
        state.withLock { state in
            if state.opening[OpeningKey(clientID, loop)] != nil { state.missedWhileOpening.insert(clientID) }
        }
        if topicChange(message.payload, clientID: clientID, on: loop) { return }
        guard let published = PublishedMessage(message.payload) else { return }
        let outcome = state.withLock { state -> (wake: (any ChannelConnection)?, gapFrom: UInt64?) in
            guard let client = state.clients[clientID] else { return (nil, nil) }
            guard client.epoch == published.epoch else {
                client.lost = true
                return (client.connection, nil)
            }
            let session = client.session
            if published.seq < session.nextSeq { return (nil, nil) }
            if published.seq > session.nextSeq { return (nil, session.nextSeq) }
            session.append(ChannelPayload(published.text, time: published.time), limits: settings)
            guard !session.pumpScheduled else { return (nil, nil) }
            session.pumpScheduled = true
            return (client.connection, nil)
        }
        outcome.wake?.messageHeld()
        if let from = outcome.gapFrom { catchUp(clientID, from: from, on: links(on: loop)) }
    }

    /// Reads what the client's Stream holds from `from` on (a gap in Pub/Sub, a resubscribe),
    /// with the session's epoch: a new one means Redis lost the session.
    /// Until Redis answers (it may be restarting, the connection backing off), it tries again
    /// every `catchUpRetryMilliseconds` while the client stays on this loop: a connection must
    /// not wait for a next message to learn of a gap or of a lost session.
    func catchUp(_ clientID: String, from: UInt64, on links: Links) {
        // Both replies come on this loop, in order (one pipelined connection).
        let epochReply = ReplySlot()
        links.command.send(["HGET", ChannelScripts.meta(clientID), "epoch"]) { result in
            if case .success(let reply) = result { epochReply.value = reply.string ?? "" }
        }
        links.command.send(["XRANGE", ChannelScripts.stream(clientID), "\(from)-1", "+"]) { [self] result in
            guard case .success(let reply) = result, let epoch = epochReply.value else {
                return retryCatchUp(clientID, on: links)
            }
            let entries = StreamEntry.parse(reply)
            let wake = state.withLock { state -> (any ChannelConnection)? in
                guard let client = state.clients[clientID] else { return nil }
                let session = client.session
                if epoch != client.epoch || (entries.first.map { $0.seq > session.nextSeq } ?? false) {
                    // Redis lost the session, or dropped messages before this node read them:
                    // the connection cannot go on in order.
                    client.lost = true
                    return client.connection
                }
                for entry in entries where entry.seq == session.nextSeq {
                    session.append(ChannelPayload(entry.text, time: entry.time), limits: settings)
                }
                session.pumpScheduled = true
                return client.connection
            }
            wake?.messageHeld()
        }
    }

    static let catchUpRetryMilliseconds: UInt64 = 200

    private func retryCatchUp(_ clientID: String, on links: Links) {
        guard !halted.load(ordering: .relaxed) else { return }
        let timer = Timer(loop: links.loop)
        timer.start(after: Self.catchUpRetryMilliseconds) { [self] in
            timer.close()
            let next = state.withLock { state -> UInt64? in
                guard let client = state.clients[clientID], client.connection.loop === links.loop, !client.lost else { return nil }
                return client.session.nextSeq
            }
            if let next { catchUp(clientID, from: next, on: links) }
        }
    }

    /// After `loop`'s subscriber reconnected: every client connected on it may have missed messages.
    func catchUpAll(on loop: EventLoop) {
        let clients = state.withLock { state in
            state.clients.filter { $0.value.connection.loop === loop }.map { ($0.key, $0.value.session.nextSeq) }
        }
        let links = links(on: loop)
        for (clientID, next) in clients { catchUp(clientID, from: next, on: links) }
        topicCatchUpAll(on: loop)
    }
}

/// The first of two pipelined replies, read by the second's completion on the same loop.
final class ReplySlot {
    var value: String?
}
