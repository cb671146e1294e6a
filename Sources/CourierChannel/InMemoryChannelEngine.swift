import Courier
import CourierLoop
package import Logging
import Synchronization

/// The default engine: client ID to session, for every loop of the process, under one lock
/// held only for bookkeeping (never while sending), with delivery done by each connection on
/// its own loop. Attaching needs no I/O, so it completes before `attach` returns.
package final class InMemoryChannelEngine: ChannelEngine {
    private struct Topic {
        var members: Set<String> = []
        /// The members' sessions, made by the first publish after the membership changed. Valid
        /// because a session is only ever removed by the prune, which drops these too; and
        /// unretained, because `State.sessions` owns them: a publish then costs no reference
        /// counting per subscriber (a retain and release each were 8% of a 10,000-subscriber
        /// fan-out's time).
        var sessions: [Unmanaged<ChannelSession>]?
    }

    private struct State {
        var sessions: [String: ChannelSession] = [:]
        var topics: [String: Topic] = [:]
        var lastPrune: Double = 0
        /// Idempotency keys of sends within the recovery window (client ID, NUL, key): what
        /// sequence number each got.
        var sentKeys: [String: (seq: UInt64, time: Double)] = [:]
        var publishedKeys: [PublishKey: (count: Int, time: Double)] = [:]
        /// What every session holds together, against `maxTotalHeldBytes`.
        let heldMemory = HeldMemory()
        /// What the sweep has to look at, so that it pays for what is due, not for every
        /// session four times a second: tokens by expiry, absent clients by the end of their
        /// presence grace (an entry whose session changed since is skipped), and the clients
        /// whose connections can go stale (long-polls).
        var tokenExpiries = DueHeap<(clientID: String, session: ChannelSession), Double>()
        var graceEnds = DueHeap<(clientID: String, session: ChannelSession), Double>()
        var pollers: [String: ChannelSession] = [:]
        /// Sessions with a connection: what the token heap's live entries number at most.
        var connectedCount = 0

        /// The client's session, made (with no connection yet) if it has none: messages sent
        /// before the first connect are held in it.
        mutating func session(for clientID: String, now: Double) -> ChannelSession {
            if let session = sessions[clientID] { return session }
            let session = ChannelSession(sessionID: InMemoryChannelEngine.newID(), now: now, heldMemory: heldMemory)
            sessions[clientID] = session
            return session
        }

        mutating func subscriberSessions(of topic: String, now: Double) -> [Unmanaged<ChannelSession>]? {
            guard let entry = topics[topic] else { return nil }
            if let sessions = entry.sessions { return sessions }
            let sessions = entry.members.map { Unmanaged.passUnretained(session(for: $0, now: now)) }
            topics[topic]?.sessions = sessions
            return sessions
        }
    }

    private let state = Locked(State())
    let settings: ChannelSettings
    package let clock: any ChannelClock
    private let logger: Logger

    package init(settings: ChannelSettings, clock: any ChannelClock, logger: Logger = Logger(label: "courier.channel")) {
        self.settings = settings
        self.clock = clock
        self.logger = logger
    }

    // MARK: Messages

    package func send(_ text: String, to clientID: String) {
        _ = send(text, to: clientID, idempotencyKey: nil)
    }

    package func send(_ text: String, to clientID: String, idempotencyKey: String?,
                      completion: @escaping @Sendable (Result<UInt64, ChannelError>) -> Void) {
        completion(.success(send(text, to: clientID, idempotencyKey: idempotencyKey)))
    }

    /// The message's sequence number; a key already used within the window sends nothing and
    /// answers the sequence number it got then.
    private func send(_ text: String, to clientID: String, idempotencyKey: String?) -> UInt64 {
        let now = clock.now()
        let payload = ChannelPayload(text, time: now)
        let key = idempotencyKey.map { clientID + "\u{0}" + $0 }
        let (seq, connection) = state.withLock { state -> (UInt64, (any ChannelConnection)?) in
            if let key, let earlier = state.sentKeys[key] { return (earlier.seq, nil) }
            let session = state.session(for: clientID, now: now)
            session.lastSentDirectly = now
            let seq = session.nextSeq
            let connection = hold(payload, in: session)
            if let key { state.sentKeys[key] = (seq, now) }
            shedIfOverBound(&state)
            return (seq, connection)
        }
        connection?.messageHeld()
        return seq
    }

    /// Appends the message to the session; returns the connection to wake, if it is not
    /// already due to pump.
    private func hold(_ payload: ChannelPayload, in session: ChannelSession) -> (any ChannelConnection)? {
        session.append(payload, limits: settings)
        guard !session.pumpScheduled, let connection = session.connection else { return nil }
        session.pumpScheduled = true
        return connection
    }

    /// Messages for `connection` after `cursor`, if it is still the client's connection.
    /// Topics' messages are in each subscriber's own sequence here: `topicCursors` has nothing to say.
    package func take(for clientID: String, connection: any ChannelConnection, after cursor: UInt64,
                      topicCursors: [String: UInt64]?, maxBytes: Int) -> ChannelTake {
        state.withLock { state in
            guard let session = state.sessions[clientID], session.connection === connection else { return .messages([], more: false) }
            session.pumpScheduled = false
            session.lastActivity = clock.now()
            guard !session.hasLost(after: cursor) else { return .lost }
            let messages = session.messages(after: cursor, maxBytes: maxBytes)
            guard let last = messages.last else { return .messages([], more: false) }
            session.deliveredThrough = max(session.deliveredThrough, last.seq)
            return .messages(messages, more: last.seq < session.nextSeq - 1)
        }
    }

    // MARK: Connections

    package func attach(_ connection: any ChannelConnection, clientID: String, tokenExpiry: Double, resume: ChannelResume,
                        completion: @escaping (Result<ChannelAttachment, ChannelRefusal>) -> Void) {
        completion(attach(connection, clientID: clientID, tokenExpiry: tokenExpiry, resume: resume))
    }

    /// A sequence number beyond any this client ID was given is refused as a lost session on
    /// either kind of open: no honest client sends one, and it would otherwise become a cursor
    /// past the end.
    func attach(_ connection: any ChannelConnection, clientID: String, tokenExpiry: Double,
                resume: ChannelResume) -> Result<ChannelAttachment, ChannelRefusal> {
        let now = clock.now()
        return state.withLock { state -> Result<ChannelAttachment, ChannelRefusal> in
            let session = state.sessions[clientID] ?? ChannelSession(sessionID: Self.newID(), now: now, heldMemory: state.heldMemory)
            session.lastActivity = now
            if session.replacedConnectionIDs.contains(connection.connectionID) { return .failure(.replaced) }
            session.trim(now: now, limits: settings)
            let lastSeq = session.nextSeq - 1
            // A fresh open starts after what was handed out or has aged out unread.
            var cursor = max(session.deliveredThrough, session.lastDroppedSeq)
            guard resume.lastSeq <= lastSeq else { return .failure(.sessionLost) }
            if !resume.isFresh {
                guard resume.sessionID == session.sessionID,
                      !session.hasLost(after: resume.lastSeq) else { return .failure(.sessionLost) }
                cursor = resume.lastSeq
            }
            var replaced: (any ChannelConnection)?
            if let old = session.connection, old !== connection {
                replaced = old
                session.noteReplaced(old.connectionID)
            }
            if session.connection == nil { state.connectedCount += 1 }
            session.connection = connection
            session.tokenExpiry = tokenExpiry
            if tokenExpiry.isFinite { state.tokenExpiries.push((clientID, session), due: tokenExpiry) }
            state.pollers[clientID] = connection.canGoStale ? session : nil
            session.absentSince = nil
            let endsEarlierPresence = resume.isFresh && session.present
            let becamePresent = !session.present || endsEarlierPresence
            session.present = true
            session.pumpScheduled = session.nextSeq - 1 > cursor
            state.sessions[clientID] = session
            return .success(ChannelAttachment(sessionID: session.sessionID, cursor: cursor, lastSeq: lastSeq,
                                              replaced: replaced, endsEarlierPresence: endsEarlierPresence,
                                              becamePresent: becamePresent))
        }
    }

    /// The connection has gone. Returns true when presence should report the disconnect now
    /// (a deliberate close); otherwise the sweep reports it after the grace period.
    @discardableResult
    package func detach(_ connection: any ChannelConnection, clientID: String, deliberate: Bool) -> Bool {
        let now = clock.now()
        return state.withLock { state in
            guard let session = state.sessions[clientID], session.connection === connection else { return false }
            session.connection = nil
            state.connectedCount -= 1
            session.pumpScheduled = false
            session.absentSince = now
            session.lastActivity = now
            state.pollers[clientID] = nil
            state.pollers.shrinkIfSparse()
            if session.present && !deliberate {
                state.graceEnds.push((clientID, session), due: now + settings.effectivePresenceGraceSeconds)
            }
            guard deliberate, session.present else { return false }
            session.present = false
            return true
        }
    }

    // MARK: Sweeping

    /// Finds presence to report, tokens that expired while connected, abandoned long-polls, and
    /// drops sessions with nothing left to recover.
    package func sweep() -> ChannelSweep {
        let now = clock.now()
        return state.withLock { state in
            var result = ChannelSweep()
            var expired: Set<String> = []
            while let (due, entry) = state.tokenExpiries.popDue(now: now) {
                // Still the client's session, connected, with this expiry (not reattached since).
                let session = entry.session
                guard state.sessions[entry.clientID] === session, session.tokenExpiry == due,
                      let connection = session.connection else { continue }
                result.expired.append(connection)
                expired.insert(entry.clientID)
                session.tokenExpiry = .infinity
            }
            // Entries of sessions that left or were given a new token since: their sessions go
            // once nothing else holds them.
            do {
                // In a scope of its own: the copy of the table must be gone before the prune
                // below changes it, or the change would copy it whole.
                let sessions = state.sessions
                state.tokenExpiries.compactIfMostlyStale(liveCount: state.connectedCount) { due, entry in
                    sessions[entry.clientID] === entry.session && entry.session.tokenExpiry == due && entry.session.connection != nil
                }
            }
            // An expired token ends the connection with its error: not also abandoned as stale.
            for (clientID, session) in state.pollers where !expired.contains(clientID) {
                if let connection = session.connection, connection.isStale(now: now) { result.stale.append((clientID, connection)) }
            }
            while let (_, entry) = state.graceEnds.popDue(now: now) {
                // Still away, and still counted present, since the grace began.
                let session = entry.session
                guard state.sessions[entry.clientID] === session, session.connection == nil, session.present,
                      let since = session.absentSince, now - since >= settings.effectivePresenceGraceSeconds else { continue }
                session.present = false
                result.disconnected.append(entry.clientID)
            }
            if now - state.lastPrune >= 5 {
                state.lastPrune = now
                // Messages past the window go now, not at the session's next message: the held
                // total then counts only what a returning client could still be given.
                for session in state.sessions.values { session.trim(now: now, limits: settings) }
                let window = settings.recoveryWindowSeconds
                if !state.sentKeys.isEmpty { state.sentKeys = state.sentKeys.filter { now - $0.value.time < window } }
                if !state.publishedKeys.isEmpty { state.publishedKeys = state.publishedKeys.filter { now - $0.value.time < window } }
                // Gone: away for the window, and nothing sent to it directly within the window
                // (those messages are still owed to it: a client that has not connected yet
                // gets them when it does). Publishes do not count, or a busy topic would keep
                // every abandoned subscriber alive.
                let gone = state.sessions.filter { _, session in
                    guard session.connection == nil, !session.present, let since = session.absentSince else { return false }
                    return now - max(since, session.lastSentDirectly) >= window
                }
                guard !gone.isEmpty else { return result }
                result.forgotten = gone.count
                for (clientID, session) in gone {
                    session.dropAllHeld()
                    state.sessions[clientID] = nil
                }
                state.sessions.shrinkIfSparse()
                // A client away longer than the recovery window is gone: its subscriptions lapse
                // with its held messages, or every abandoned client ID would be kept alive (and
                // given a session again) by each publish to its topics.
                for (name, topic) in state.topics {
                    let remaining = topic.members.filter { gone[$0] == nil }
                    state.topics[name] = remaining.isEmpty ? nil : Topic(members: remaining)
                }
            }
            return result
        }
    }

    // MARK: Topics

    package func subscribe(_ clientID: String, to topic: String) {
        state.withLock { state in
            if state.topics[topic, default: Topic()].members.insert(clientID).inserted { state.topics[topic]?.sessions = nil }
        }
    }

    package func unsubscribe(_ clientID: String, from topic: String) {
        state.withLock { state in
            guard state.topics[topic]?.members.remove(clientID) != nil else { return }
            state.topics[topic]?.sessions = nil
            if state.topics[topic]?.members.isEmpty == true { state.topics[topic] = nil }
        }
    }

    package func subscribers(of topic: String) -> [String] {
        state.withLock { Array($0.topics[topic]?.members ?? []) }
    }

    package func subscribe(_ clientIDs: [String], to topic: String, completion: @escaping @Sendable (Result<Void, ChannelError>) -> Void) {
        for clientID in clientIDs { subscribe(clientID, to: topic) }
        completion(.success(()))
    }

    package func unsubscribe(_ clientIDs: [String], from topic: String, completion: @escaping @Sendable (Result<Void, ChannelError>) -> Void) {
        for clientID in clientIDs { unsubscribe(clientID, from: topic) }
        completion(.success(()))
    }

    package func subscribers(of topic: String, completion: @escaping @Sendable (Result<[String], ChannelError>) -> Void) {
        completion(.success(subscribers(of: topic)))
    }

    package func publish(_ text: String, to topic: String, idempotencyKey: String?,
                         completion: @escaping @Sendable (Result<Int, ChannelError>) -> Void) {
        completion(.success(publish(text, to: topic, key: idempotencyKey.map { PublishKey(topic: topic, key: $0) })))
    }

    /// Sends `text` to every subscriber under one lock; each connection is woken once.
    package func publish(_ text: String, to topic: String) -> Int {
        publish(text, to: topic, key: nil)
    }

    /// A key already used within the window publishes nothing and answers the count it got then.
    private func publish(_ text: String, to topic: String, key: PublishKey?) -> Int {
        let now = clock.now()
        let payload = ChannelPayload(text, time: now)
        let (count, wake) = state.withLock { state -> (Int, [any ChannelConnection]) in
            if let key, let earlier = state.publishedKeys[key] { return (earlier.count, []) }
            let sessions = state.subscriberSessions(of: topic, now: now) ?? []
            if let key { state.publishedKeys[key] = (sessions.count, now) }
            guard !sessions.isEmpty else { return (0, []) }
            var wake: [any ChannelConnection] = []
            for session in sessions {
                if let connection = session._withUnsafeGuaranteedRef({ hold(payload, in: $0) }) { wake.append(connection) }
            }
            shedIfOverBound(&state)
            return (sessions.count, wake)
        }
        Self.wake(wake)
        return count
    }

    // MARK: The bound on everything held

    /// Past `maxTotalHeldBytes`, the sessions longest inactive drop everything they hold, one
    /// after another, until the total is a tenth under the bound, so that the messages after
    /// this one do not each pay for the sort. A client that still needed a dropped message gets
    /// 410 when it takes or resumes (the gap rule), never a silent gap; one that had them all
    /// goes on; the newest sessions keep every message. The process's memory stays bounded
    /// whatever the clients do: many held backlogs fail the oldest clients, not the process.
    private func shedIfOverBound(_ state: inout State) {
        let bound = settings.maxTotalHeldBytes
        guard state.heldMemory.bytes > bound else { return }
        let target = bound - bound / 10
        let before = state.heldMemory.bytes
        let oldestFirst = state.sessions.values.filter { $0.heldCount > 0 }.sorted { $0.lastActivity < $1.lastActivity }
        var sessionsShed = 0, messagesShed = 0
        for session in oldestFirst {
            guard state.heldMemory.bytes > target else { break }
            messagesShed += session.dropAllHeld()
            sessionsShed += 1
        }
        logger.warning("held messages reached maxTotalHeldBytes: the least recently active sessions dropped theirs", metadata: [
            "maxTotalHeldBytes": "\(bound)", "heldBytesBefore": "\(before)", "heldBytesAfter": "\(state.heldMemory.bytes)",
            "sessions": "\(sessionsShed)", "messages": "\(messagesShed)",
        ])
    }

    /// What the held messages of every session take together (see `HeldMemory`).
    package var heldMemoryBytes: Int { state.withLock { $0.heldMemory.bytes } }
    /// Messages held by any session, each counted once however many sessions hold it.
    package var heldMessageCount: Int? { state.withLock { $0.heldMemory.messages } }

    /// Wakes many connections with one mailbox post per loop rather than one per connection.
    package static func wake(_ connections: [any ChannelConnection]) {
        var byLoop: [ObjectIdentifier: [any ChannelConnection]] = [:]
        for connection in connections {
            let loop = connection.loop
            if loop.inEventLoop {
                connection.schedulePump()
            } else {
                byLoop[ObjectIdentifier(loop), default: []].append(connection)
            }
        }
        for group in byLoop.values {
            guard let loop = group.first?.loop else { continue }
            let batch = ConnectionBatch(group)
            loop.execute { for connection in batch.connections { connection.pump() } }
        }
    }

    var sessionCount: Int { state.withLock { $0.sessions.count } }

    /// 96 random bits as text. Drawn as two 64-bit words, not byte by byte: each draw is a
    /// `getrandom` call, and the Redis engine makes an ID per send (4-5% of a node's samples
    /// in the cluster benchmark's profile with twelve draws).
    package static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        let words = (generator.next() as UInt64, generator.next() as UInt64)
        return withUnsafeBytes(of: words) { bytes in bytes.prefix(12).map { String($0, radix: 16) }.joined() }
    }
}

private struct ConnectionBatch: Sendable {
    let connections: [any ChannelConnection]
    init(_ connections: [any ChannelConnection]) { self.connections = connections }
}

/// A publish's idempotency key, kept per topic.
struct PublishKey: Hashable {
    let topic: String
    let key: String
}
