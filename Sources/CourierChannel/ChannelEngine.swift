package import CoreMetrics
import CourierLoop

/// Where a channel's bookkeeping lives: sequence numbers, held messages, which connection owns
/// a client ID, presence, topics. The in-memory engine (`InMemoryChannelEngine`, the default)
/// serves the loops of one process; `CourierRedis` has one that spans processes and machines.
///
/// An engine knows connections only as `ChannelConnection` and decides nothing about
/// transports; a transport knows the engine only through this protocol and the shared open
/// path (`ChannelService.open`). Delivery is a pull: the engine wakes a connection
/// (`messageHeld`), which takes what is due on its own loop, so an engine may fill its
/// per-client buffers from anywhere (a send in this process, a message from another node).
package protocol ChannelEngine: AnyObject, Sendable {
    var clock: any ChannelClock { get }

    /// Holds `text` for the client and wakes its connection, wherever it is.
    func send(_ text: String, to clientID: String) throws(ChannelError)
    /// The same, reporting (on any thread) the message's sequence number once the engine holds
    /// it. A key used again within the recovery window sends nothing and reports the first
    /// send's number, so a caller may retry after a failure without a duplicate.
    func send(_ text: String, to clientID: String, idempotencyKey: String?,
              completion: @escaping @Sendable (Result<UInt64, ChannelError>) -> Void)
    func subscribe(_ clientID: String, to topic: String) throws(ChannelError)
    func unsubscribe(_ clientID: String, from topic: String) throws(ChannelError)
    /// Sends `text` to every subscriber through its own sequence; the number of subscribers
    /// (0 from an engine that would have to wait to know it: see the completion form).
    func publish(_ text: String, to topic: String) throws(ChannelError) -> Int
    func subscribers(of topic: String) -> [String]

    /// The topic operations again, each reporting (on any thread) once the engine holds the
    /// change: for an engine with a store elsewhere, the forms above only queue it. A publish
    /// with a key used again within the recovery window sends nothing and reports the first
    /// publish's count.
    func subscribe(_ clientIDs: [String], to topic: String, completion: @escaping @Sendable (Result<Void, ChannelError>) -> Void)
    func unsubscribe(_ clientIDs: [String], from topic: String, completion: @escaping @Sendable (Result<Void, ChannelError>) -> Void)
    func publish(_ text: String, to topic: String, idempotencyKey: String?,
                 completion: @escaping @Sendable (Result<Int, ChannelError>) -> Void)
    func subscribers(of topic: String, completion: @escaping @Sendable (Result<[String], ChannelError>) -> Void)

    /// Makes `connection` the client's one connection; `completion` runs on the connection's
    /// loop (at once, before returning, for an engine that needs no I/O).
    func attach(_ connection: any ChannelConnection, clientID: String, tokenExpiry: Double, resume: ChannelResume,
                completion: @escaping (Result<ChannelAttachment, ChannelRefusal>) -> Void)
    /// Messages for `connection` after `cursor`, if it is still the client's connection. An
    /// engine that numbers topics' messages per topic (`ChannelPayload.topic`) hands those after
    /// `topicCursors` (the offsets a long-poll client acknowledged, so a lost answer is sent
    /// again), or with nil after what it last handed (a WebSocket, whose frames arrive in order
    /// or not at all; its client resumes with the offsets it saw).
    func take(for clientID: String, connection: any ChannelConnection, after cursor: UInt64,
              topicCursors: [String: UInt64]?, maxBytes: Int) -> ChannelTake
    /// The connection has gone. True when presence should report the disconnect now (a
    /// deliberate close); otherwise the sweep reports it after the grace period.
    func detach(_ connection: any ChannelConnection, clientID: String, deliberate: Bool) -> Bool
    /// Presence to report, tokens expired while connected, abandoned connections; called
    /// periodically from one loop.
    func sweep() -> ChannelSweep

    /// The messages held for replay in this process, for `channel_messages_held`; nil for an
    /// engine whose messages are held elsewhere.
    var heldMessageCount: Int? { get }
    /// Reports the engine's own series (an engine with a store: its round trips) to `factory`.
    func measure(with factory: any MetricsFactory)
}

extension ChannelEngine {
    package var heldMessageCount: Int? { nil }
    package func measure(with factory: any MetricsFactory) {}
}

/// What an opening client says it had: `sessionID` "" for a fresh open, the last sequence
/// number it saw, and the last offset it saw in each topic whose messages came numbered by topic.
package struct ChannelResume: Sendable {
    package let sessionID: String
    package let lastSeq: UInt64
    package let topics: [String: UInt64]

    package init(sessionID: String, lastSeq: UInt64, topics: [String: UInt64] = [:]) {
        self.sessionID = sessionID
        self.lastSeq = lastSeq
        self.topics = topics
    }

    /// The most topic offsets a client may name: more than any app subscribes one client to,
    /// and few enough that an open never carries an unbounded list to the engine.
    package static let maxTopics = 256

    package var isFresh: Bool { sessionID.isEmpty }
}

/// A connection made the client's own.
package struct ChannelAttachment: Sendable {
    package let sessionID: String
    /// Messages after this sequence number are this connection's to send.
    package let cursor: UInt64
    package let lastSeq: UInt64
    /// The connection this one replaced, to be ended with 409 (on this process's loops).
    package let replaced: (any ChannelConnection)?
    /// A fresh open (no session to resume) while an earlier connection was still counted
    /// present: that connection's presence ends here, so report it disconnected before this
    /// one connected. A page reload or a second tab is a new connection, not a blip.
    package let endsEarlierPresence: Bool
    package let becamePresent: Bool

    package init(sessionID: String, cursor: UInt64, lastSeq: UInt64, replaced: (any ChannelConnection)?,
                 endsEarlierPresence: Bool, becamePresent: Bool) {
        self.sessionID = sessionID
        self.cursor = cursor
        self.lastSeq = lastSeq
        self.replaced = replaced
        self.endsEarlierPresence = endsEarlierPresence
        self.becamePresent = becamePresent
    }
}

/// Why an engine would not attach a connection.
package enum ChannelRefusal: Error, Sendable {
    /// A newer connection has already replaced this one (its ID was retired).
    case replaced
    /// The session cannot be resumed without a gap (or never existed): 410.
    case sessionLost
    /// The engine cannot reach its store now; the client should retry later.
    case unavailable
}

package enum ChannelTake: Sendable {
    /// The messages (about `maxBytes` of them), and whether more were left for a next take.
    case messages([HeldMessage], more: Bool)
    /// Some messages after the cursor were dropped by the bounds: the connection fell further
    /// behind than the session holds, cannot deliver every message in order any more, and
    /// must end (410) rather than skip them.
    case lost
}

package struct ChannelSweep: Sendable {
    package var disconnected: [String] = []
    /// Clients present again without a new connection (an engine whose presence lapsed while
    /// the client stayed connected): reported connected.
    package var connected: [String] = []
    package var expired: [any ChannelConnection] = []
    package var stale: [(clientID: String, connection: any ChannelConnection)] = []
    /// Clients whose state the engine let go of since the last sweep: after a crowd, the service
    /// hands the freed heap back to the system.
    package var forgotten = 0

    package init() {}
}
