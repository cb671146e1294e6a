import Courier
import Synchronization

/// Client ID to session, for every loop of the process: one `Mutex`, held only for bookkeeping
/// (never while sending), with delivery done by each connection on its own loop.
final class ChannelHub: Sendable {
    struct Attached {
        let sessionID: String
        /// Messages after this sequence number are this connection's to send.
        let cursor: UInt64
        let lastSeq: UInt64
        let replaced: (any ChannelConnection)?
        let becamePresent: Bool
    }

    enum Refusal: Error {
        case replaced
        case sessionLost
    }

    private struct State {
        var sessions: [String: ChannelSession] = [:]
        var topics: [String: Set<String>] = [:]
        var lastPrune: Double = 0
    }

    private let state = Mutex(State())
    let settings: ChannelSettings
    let clock: any ChannelClock

    init(settings: ChannelSettings, clock: any ChannelClock) {
        self.settings = settings
        self.clock = clock
    }

    // MARK: Messages

    func send(_ text: String, to clientID: String) {
        let now = clock.now()
        let connection = state.withLock { state -> (any ChannelConnection)? in
            hold(text, in: &state.sessions[clientID, default: ChannelSession(sessionID: Self.newID(), now: now)], now: now)
        }
        connection?.schedulePump()
    }

    /// Appends `text` to the session in place (through the dictionary's `_modify`, so the held
    /// messages are not copied: copying the session out and back made every append copy its
    /// whole held array, up to `maxHeldMessages` entries). Returns the connection to wake.
    private func hold(_ text: String, in session: inout ChannelSession, now: Double) -> (any ChannelConnection)? {
        _ = session.append(text, now: now, limits: settings)
        guard let connection = session.connection, !session.pumpScheduled else { return nil }
        session.pumpScheduled = true
        return connection
    }

    /// Messages for `connection` after `cursor`, if it is still the client's connection.
    func take(for clientID: String, connection: any ChannelConnection, after cursor: UInt64) -> [HeldMessage] {
        state.withLock { state in
            guard var session = state.sessions[clientID], session.connection === connection else { return [] }
            session.pumpScheduled = false
            let messages = session.messages(after: cursor)
            if let last = messages.last { session.deliveredThrough = max(session.deliveredThrough, last.seq) }
            state.sessions[clientID] = session
            return messages
        }
    }

    // MARK: Connections

    /// Makes `connection` the client's one connection. `resume` is what a reconnecting client
    /// last saw; a fresh connection (no session ID) gets the messages nobody has been handed yet.
    func attach(_ connection: any ChannelConnection, clientID: String, tokenExpiry: Double,
                resume: (sessionID: String, lastSeq: UInt64)?) throws(Refusal) -> Attached {
        let now = clock.now()
        let result = state.withLock { state -> Result<Attached, Refusal> in
            var session = state.sessions[clientID] ?? ChannelSession(sessionID: Self.newID(), now: now)
            if session.replacedConnectionIDs.contains(connection.connectionID) { return .failure(.replaced) }
            session.trim(now: now, limits: settings)
            let lastSeq = session.nextSeq - 1
            var cursor = session.deliveredThrough
            if let resume, !resume.sessionID.isEmpty {
                guard resume.sessionID == session.sessionID, resume.lastSeq <= lastSeq else { return .failure(.sessionLost) }
                if resume.lastSeq < lastSeq, let oldest = session.oldestHeldSeq, oldest > resume.lastSeq + 1 {
                    return .failure(.sessionLost)
                }
                if resume.lastSeq < lastSeq, session.oldestHeldSeq == nil { return .failure(.sessionLost) }
                cursor = resume.lastSeq
            }
            var replaced: (any ChannelConnection)?
            if let old = session.connection, old !== connection {
                replaced = old
                session.noteReplaced(old.connectionID)
            }
            session.connection = connection
            session.tokenExpiry = tokenExpiry
            session.absentSince = nil
            let becamePresent = !session.present
            session.present = true
            session.pumpScheduled = session.nextSeq - 1 > cursor
            state.sessions[clientID] = session
            return .success(Attached(sessionID: session.sessionID, cursor: cursor, lastSeq: lastSeq,
                                     replaced: replaced, becamePresent: becamePresent))
        }
        return try result.get()
    }

    /// The connection has gone. Returns true when presence should report the disconnect now
    /// (a deliberate close); otherwise the sweep reports it after the grace period.
    @discardableResult
    func detach(_ connection: any ChannelConnection, clientID: String, deliberate: Bool) -> Bool {
        let now = clock.now()
        return state.withLock { state in
            guard var session = state.sessions[clientID], session.connection === connection else { return false }
            session.connection = nil
            session.pumpScheduled = false
            session.absentSince = now
            var reportNow = false
            if deliberate, session.present {
                session.present = false
                reportNow = true
            }
            state.sessions[clientID] = session
            return reportNow
        }
    }

    func connection(of clientID: String) -> (any ChannelConnection)? {
        state.withLock { $0.sessions[clientID]?.connection }
    }

    /// The connections served by `loop`.
    func connections(on loop: EventLoop) -> [any ChannelConnection] {
        state.withLock { state in state.sessions.values.compactMap { $0.connection }.filter { $0.loop === loop } }
    }

    // MARK: Sweeping

    struct SweepResult {
        var disconnected: [String] = []
        var expired: [any ChannelConnection] = []
        var stale: [(clientID: String, connection: any ChannelConnection)] = []
    }

    /// Finds presence to report, tokens that expired while connected, abandoned long-polls, and
    /// drops sessions with nothing left to recover.
    func sweep() -> SweepResult {
        let now = clock.now()
        return state.withLock { state in
            var result = SweepResult()
            for (clientID, var session) in state.sessions {
                var changed = false
                if let connection = session.connection {
                    if now >= session.tokenExpiry {
                        result.expired.append(connection)
                        session.tokenExpiry = .infinity
                        changed = true
                    } else if connection.isStale(now: now) {
                        result.stale.append((clientID, connection))
                    }
                } else if session.present, let since = session.absentSince, now - since >= settings.presenceGraceSeconds {
                    session.present = false
                    result.disconnected.append(clientID)
                    changed = true
                }
                if changed { state.sessions[clientID] = session }
            }
            if now - state.lastPrune >= 5 {
                state.lastPrune = now
                let window = settings.recoveryWindowSeconds
                let gone = state.sessions.filter { _, session in
                    session.connection == nil && !session.present && session.absentSince.map { now - $0 >= window } ?? false
                }
                guard !gone.isEmpty else { return result }
                for clientID in gone.keys { state.sessions[clientID] = nil }
                // A client away longer than the recovery window is gone: its subscriptions lapse
                // with its held messages, or every abandoned client ID would be kept alive (and
                // given a session again) by each publish to its topics.
                for (topic, subscribers) in state.topics {
                    let remaining = subscribers.filter { gone[$0] == nil }
                    if remaining.count != subscribers.count { state.topics[topic] = remaining.isEmpty ? nil : remaining }
                }
            }
            return result
        }
    }

    // MARK: Topics

    func subscribe(_ clientID: String, to topic: String) {
        state.withLock { state in
            _ = state.topics[topic, default: []].insert(clientID)
        }
    }

    func unsubscribe(_ clientID: String, from topic: String) {
        state.withLock { state in
            state.topics[topic]?.remove(clientID)
            if state.topics[topic]?.isEmpty == true { state.topics[topic] = nil }
        }
    }

    func subscribers(of topic: String) -> [String] {
        state.withLock { Array($0.topics[topic] ?? []) }
    }

    /// Sends `text` to every subscriber under one lock; each connection is woken once.
    func publish(_ text: String, to topic: String) -> Int {
        let now = clock.now()
        let (count, wake) = state.withLock { state -> (Int, [any ChannelConnection]) in
            guard let subscribers = state.topics[topic] else { return (0, []) }
            var wake: [any ChannelConnection] = []
            for clientID in subscribers {
                if let connection = hold(text, in: &state.sessions[clientID, default: ChannelSession(sessionID: Self.newID(), now: now)],
                                         now: now) {
                    wake.append(connection)
                }
            }
            return (subscribers.count, wake)
        }
        Self.wake(wake)
        return count
    }

    /// Wakes many connections with one mailbox post per loop rather than one per connection.
    static func wake(_ connections: [any ChannelConnection]) {
        var byLoop: [ObjectIdentifier: [any ChannelConnection]] = [:]
        for connection in connections { byLoop[ObjectIdentifier(connection.loop), default: []].append(connection) }
        for group in byLoop.values {
            guard let loop = group.first?.loop else { continue }
            if loop.inEventLoop {
                for connection in group { connection.schedulePump() }
            } else {
                let batch = ConnectionBatch(group)
                loop.execute { for connection in batch.connections { connection.pump() } }
            }
        }
    }

    var sessionCount: Int { state.withLock { $0.sessions.count } }

    func heldCount(for clientID: String) -> Int {
        state.withLock { $0.sessions[clientID]?.heldMessages.count ?? 0 }
    }

    static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<12).map { _ in String(UInt8.random(in: 0...255, using: &generator), radix: 16) }.joined()
    }
}

private struct ConnectionBatch: Sendable {
    let connections: [any ChannelConnection]
    init(_ connections: [any ChannelConnection]) { self.connections = connections }
}
