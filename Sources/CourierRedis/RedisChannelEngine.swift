import CourierChannel
import CourierLoop
import Logging
import Synchronization

/// Channels across processes and machines, on Redis (see `ChannelScripts` for the keys and
/// the scripts, docs/channel-protocol.md for the design). Sequence numbers, held messages,
/// ownership and presence live in Redis; each node keeps, for the clients connected to it, the
/// messages from where they joined, filled from Pub/Sub (and from the client's Stream after a
/// gap), and its connections take from that as they do from the in-memory engine.
///
/// All Redis traffic of a node runs on one loop of the engine's own (one command connection,
/// one subscriber): the server's loops hand it work through its mailbox.
package final class RedisChannelEngine: ChannelEngine, Sendable {
    package let clock: any ChannelClock
    let settings: ChannelSettings
    let logger: Logger
    let nodeID = InMemoryChannelEngine.newID()
    let loop: EventLoop
    private let links: Links
    private let state = Mutex(State())
    /// Whether the command connection was up when last seen: a send while it is not fails at
    /// once with `unavailable` rather than queue behind an outage.
    private let available = Atomic<Bool>(true)

    private struct State {
        var clients: [String: Client] = [:]
        /// Opens under way per client ID: its Pub/Sub channel must stay subscribed meanwhile,
        /// whatever a detach that raced with it decides.
        var opening: [String: Int] = [:]
        /// Back in presence after it lapsed under them (a paused node), reported by the next sweep.
        var reconnected: [String] = []
        /// Presence ended (reaped, or a deliberate close confirmed by Redis), reported by the next sweep.
        var disconnected: [String] = []
    }

    /// One connected client on this node: its epoch (session ID) and the messages from where
    /// its connection joined.
    private final class Client: @unchecked Sendable {
        // @unchecked: touched only under the engine's `state` lock (Mutex needs its contents Sendable).
        let epoch: String
        let session: ChannelSession
        var connection: any ChannelConnection
        var tokenExpiry: Double
        /// Messages went missing that Redis no longer holds (a gap, a new epoch after Redis
        /// restarted empty): the connection ends with 410 rather than skip them.
        var lost = false
        init(epoch: String, session: ChannelSession, connection: any ChannelConnection, tokenExpiry: Double) {
            self.epoch = epoch
            self.session = session
            self.connection = connection
            self.tokenExpiry = tokenExpiry
        }
    }

    /// The Redis connections, used on `loop` only.
    private final class Links: @unchecked Sendable {
        // @unchecked: created on `loop` and used only there (every use is inside loop.execute).
        var command: RedisConnection!
        var subscriber: RedisSubscriber!
        var reconnectWatch: Timer?
    }

    package init(endpoint: RedisEndpoint, settings: ChannelSettings, clock: any ChannelClock, logger: Logger,
                 configuration: RedisConfiguration = RedisConfiguration()) {
        self.clock = clock
        self.settings = settings
        self.logger = logger
        loop = EventLoop(name: "courier-redis")
        loop.startThread()
        links = Links()
        let links = links
        let nodeChannel = ChannelScripts.node(nodeID)
        loop.execute { [self] in
            links.command = RedisConnection(loop: loop, endpoint: endpoint, configuration: configuration)
            links.subscriber = RedisSubscriber(loop: loop, endpoint: endpoint, configuration: configuration)
            links.subscriber.onResubscribed = { [self] in catchUpAll() }
            links.subscriber.subscribe(nodeChannel) { [self] message in nodeMessage(message) }
            let timer = Timer(loop: loop)
            let period = UInt64(presenceRefreshSeconds * 1000)
            timer.start(after: period, repeating: period) { [self] in refreshAndReap() }
        }
    }

    /// How long a node's clients stay present in Redis without a refresh: a node that dies
    /// (SIGKILL) has its clients reported gone this long after its last refresh.
    var presenceLapseSeconds: Double { max(3, min(settings.heartbeatSeconds, 10)) }
    var presenceRefreshSeconds: Double { presenceLapseSeconds / 3 }
    var keyTTLSeconds: Int { Int(settings.recoveryWindowSeconds) + 60 }

    /// Stops the engine's loop where it stands, as a killed process would: no detach, no
    /// presence refresh, no goodbye to Redis beyond the kernel closing its sockets. For tests.
    package func halt() {
        loop.stop()
        loop.waitUntilStopped()
    }

    // MARK: Sending

    package func send(_ text: String, to clientID: String) throws(ChannelError) {
        try send(text, to: clientID, idempotencyKey: nil, completion: nil)
    }

    package func send(_ text: String, to clientID: String, idempotencyKey: String?,
                      completion: @escaping @Sendable (Result<UInt64, ChannelError>) -> Void) {
        do {
            try send(text, to: clientID, idempotencyKey: idempotencyKey, completion: Optional(completion))
        } catch {
            completion(.failure(error))
        }
    }

    /// `completion` (on the engine's loop) gets the message's sequence number, or the error.
    func send(_ text: String, to clientID: String, idempotencyKey: String?,
              completion: (@Sendable (Result<UInt64, ChannelError>) -> Void)?) throws(ChannelError) {
        guard available.load(ordering: .relaxed) else { throw .unavailable("Redis cannot be reached") }
        let now = clock.now()
        let keys = [ChannelScripts.meta(clientID), ChannelScripts.stream(clientID)]
        let arguments = [text, String(settings.maxHeldMessages), String(keyTTLSeconds), ChannelScripts.channel(clientID),
                         InMemoryChannelEngine.newID(), String(now),
                         idempotencyKey.map { ChannelScripts.idempotency(clientID, $0) } ?? "", String(keyTTLSeconds)]
        let links = links
        loop.execute { [self] in
            links.command.run(ChannelScripts.send, keys: keys.map { Array($0.utf8) }, arguments: arguments.map { Array($0.utf8) }) { [self] result in
                switch result {
                case .success(let reply):
                    completion?(.success(UInt64(reply.array?.last?.int ?? 0)))
                case .failure(let error):
                    noteFailure(error)
                    completion?(.failure(.unavailable("\(error)")))
                }
            }
        }
    }

    package func subscribe(_ clientID: String, to topic: String) throws(ChannelError) {
        try command(["SADD", ChannelScripts.topic(topic), clientID])
    }

    package func unsubscribe(_ clientID: String, from topic: String) throws(ChannelError) {
        try command(["SREM", ChannelScripts.topic(topic), clientID])
    }

    /// The count is not known until Redis has run the script: the number returned is the
    /// subscribers this node knew of, 0 when none is connected here (the sends still happen).
    package func publish(_ text: String, to topic: String) throws(ChannelError) -> Int {
        guard available.load(ordering: .relaxed) else { throw .unavailable("Redis cannot be reached") }
        let arguments = [text, String(settings.maxHeldMessages), String(keyTTLSeconds), InMemoryChannelEngine.newID(),
                         String(clock.now())]
        let links = links
        loop.execute { [self] in
            links.command.run(ChannelScripts.publish, keys: [Array(ChannelScripts.topic(topic).utf8)],
                              arguments: arguments.map { Array($0.utf8) }) { [self] result in
                if case .failure(let error) = result { noteFailure(error) }
            }
        }
        return 0
    }

    package func subscribers(of topic: String) -> [String] { [] }

    private func command(_ arguments: [String]) throws(ChannelError) {
        guard available.load(ordering: .relaxed) else { throw .unavailable("Redis cannot be reached") }
        let links = links
        loop.execute { [self] in
            links.command.send(arguments) { [self] result in
                if case .failure(let error) = result { noteFailure(error) }
            }
        }
    }

    private func noteFailure(_ error: RedisError) {
        logger.warning("redis command failed", metadata: ["error": "\(error)"])
        let connected = links.command.isConnected
        available.store(connected, ordering: .relaxed)
        if !connected { watchForReconnect() }
    }

    /// While Redis is away, looks every 100 ms whether the connection is back, so sends are
    /// accepted again as soon as it is (a send while away would only fail, or wait).
    private func watchForReconnect() {
        guard links.reconnectWatch == nil else { return }
        let timer = Timer(loop: loop)
        links.reconnectWatch = timer
        timer.start(after: 100, repeating: 100) { [self] in
            // A command gets the connection going again when it is idle after a failure.
            links.command.send(["PING"]) { _ in }
            guard links.command.isConnected else { return }
            available.store(true, ordering: .relaxed)
            links.reconnectWatch?.close()
            links.reconnectWatch = nil
        }
    }

    // MARK: Connections

    package func attach(_ connection: any ChannelConnection, clientID: String, tokenExpiry: Double, resume: ChannelResume,
                        completion: @escaping (Result<ChannelAttachment, ChannelRefusal>) -> Void) {
        let box = CompletionBox(completion)
        let connectionLoop = connection.loop
        let finish: @Sendable (Result<ChannelAttachment, ChannelRefusal>) -> Void = { result in
            connectionLoop.execute { box.completion(result) }
        }
        let links = links
        let now = clock.now()
        loop.execute { [self] in
            state.withLock { $0.opening[clientID, default: 0] += 1 }
            // Subscribed first: whatever is sent after the open script ran arrives by Pub/Sub,
            // whatever before it is in the script's reply; the overlap is dropped by seq.
            links.subscriber.subscribe(ChannelScripts.channel(clientID), handler: { [self] message in
                clientMessage(message, clientID: clientID)
            }, confirmed: { [self] subscribed in
                guard case .success = subscribed else {
                    doneOpening(clientID)
                    return finish(.failure(.unavailable))
                }
                let keys = [ChannelScripts.meta(clientID), ChannelScripts.stream(clientID), ChannelScripts.owner(clientID),
                            ChannelScripts.presence]
                let arguments = [InMemoryChannelEngine.newID(), "\(nodeID) \(connection.connectionID)", String(keyTTLSeconds),
                                 clientID, String(now + presenceLapseSeconds), String(resume.lastSeq), resume.isFresh ? "1" : "0"]
                links.command.run(ChannelScripts.open, keys: keys.map { Array($0.utf8) },
                                  arguments: arguments.map { Array($0.utf8) }) { [self] result in
                    switch result {
                    case .failure(let error):
                        noteFailure(error)
                        finish(.failure(.unavailable))
                    case .success(let reply):
                        available.store(true, ordering: .relaxed)
                        finish(opened(reply, connection: connection, clientID: clientID, tokenExpiry: tokenExpiry,
                                      resume: resume, now: now))
                    }
                    doneOpening(clientID)
                }
            })
        }
    }

    /// An open has ended: its channel is dropped if nothing here follows the client any more.
    private func doneOpening(_ clientID: String) {
        let unfollowed = state.withLock { state -> Bool in
            let left = (state.opening[clientID] ?? 1) - 1
            state.opening[clientID] = left > 0 ? left : nil
            return left <= 0 && state.clients[clientID] == nil
        }
        if unfollowed { links.subscriber.unsubscribe(ChannelScripts.channel(clientID)) }
    }

    /// What the open script found, made into this node's record of the client.
    private func opened(_ reply: RESPValue, connection: any ChannelConnection, clientID: String, tokenExpiry: Double,
                        resume: ChannelResume, now: Double) -> Result<ChannelAttachment, ChannelRefusal> {
        guard let parts = reply.array, parts.count == 6, let epoch = parts[0].string, let top = parts[1].int,
              let delivered = parts[2].int, let previous = parts[3].string, let wasPresent = parts[4].int else {
            return .failure(.unavailable)
        }
        let entries = StreamEntry.parse(parts[5])
        let lastSeq = UInt64(max(0, top))
        guard resume.lastSeq <= lastSeq else { return .failure(.sessionLost) }
        var cursor: UInt64
        if resume.isFresh {
            // After what was handed out, or what the Stream no longer holds.
            cursor = max(UInt64(max(0, delivered)), (entries.first?.seq ?? lastSeq + 1) - 1)
            cursor = min(cursor, lastSeq)
        } else {
            cursor = resume.lastSeq
            // A resume needs every message after its seq still held and young enough.
            let complete = cursor == lastSeq
                || (entries.first?.seq == cursor + 1 && (entries.first?.time ?? 0) >= now - settings.recoveryWindowSeconds)
            guard resume.sessionID == epoch, complete else { return .failure(.sessionLost) }
        }
        let session = ChannelSession(sessionID: epoch, now: now, firstSeq: cursor + 1)
        for entry in entries where entry.seq == session.nextSeq {
            session.append(ChannelPayload(entry.text, time: entry.time), limits: settings)
        }
        session.connection = connection
        session.present = true
        session.absentSince = nil
        let client = Client(epoch: epoch, session: session, connection: connection, tokenExpiry: tokenExpiry)
        let replaced = state.withLock { state -> (any ChannelConnection)? in
            let earlier = state.clients[clientID]?.connection
            state.clients[clientID] = client
            return earlier === connection ? nil : earlier
        }
        let owner = previous.split(separator: " ")
        if owner.count == 2, owner[0] != Substring(nodeID) {
            kick(node: String(owner[0]), clientID: clientID, connectionID: String(owner[1]))
        }
        let endsEarlierPresence = resume.isFresh && wasPresent == 1
        return .success(ChannelAttachment(sessionID: epoch, cursor: cursor, lastSeq: lastSeq, replaced: replaced,
                                          endsEarlierPresence: endsEarlierPresence,
                                          becamePresent: wasPresent == 0 || endsEarlierPresence))
    }

    package func take(for clientID: String, connection: any ChannelConnection, after cursor: UInt64, maxBytes: Int) -> ChannelTake {
        state.withLock { state in
            guard let client = state.clients[clientID], client.connection === connection else { return .messages([], more: false) }
            let session = client.session
            session.pumpScheduled = false
            guard !client.lost, !session.hasLost(after: cursor) else { return .lost }
            let messages = session.messages(after: cursor, maxBytes: maxBytes)
            guard let last = messages.last else { return .messages([], more: false) }
            session.deliveredThrough = max(session.deliveredThrough, last.seq)
            return .messages(messages, more: last.seq < session.nextSeq - 1)
        }
    }

    package func detach(_ connection: any ChannelConnection, clientID: String, deliberate: Bool) -> Bool {
        let delivered = state.withLock { state -> UInt64? in
            guard let client = state.clients[clientID], client.connection === connection else { return nil }
            state.clients[clientID] = nil
            return client.session.deliveredThrough
        }
        guard let delivered else { return false }
        let keys = [ChannelScripts.meta(clientID), ChannelScripts.owner(clientID), ChannelScripts.presence]
        let arguments = ["\(nodeID) \(connection.connectionID)", clientID, String(delivered), deliberate ? "1" : "0",
                         String(clock.now() + settings.effectivePresenceGraceSeconds)]
        let links = links
        loop.execute { [self] in
            if state.withLock({ $0.clients[clientID] == nil && $0.opening[clientID] == nil }) {
                links.subscriber.unsubscribe(ChannelScripts.channel(clientID))
            }
            links.command.run(ChannelScripts.detach, keys: keys.map { Array($0.utf8) },
                              arguments: arguments.map { Array($0.utf8) }) { [self] result in
                if case .success(let reply) = result, reply.int == 1 {
                    state.withLock { $0.disconnected.append(clientID) }
                }
            }
        }
        return false
    }

    package func sweep() -> ChannelSweep {
        let now = clock.now()
        return state.withLock { state in
            var result = ChannelSweep()
            result.disconnected = state.disconnected
            result.connected = state.reconnected
            state.disconnected = []
            state.reconnected = []
            for (clientID, client) in state.clients {
                if now >= client.tokenExpiry {
                    result.expired.append(client.connection)
                    client.tokenExpiry = .infinity
                } else if client.connection.isStale(now: now) {
                    result.stale.append((clientID, client.connection))
                }
            }
            return result
        }
    }

    // MARK: On the engine's loop

    /// `<epoch>:<seq>:<time>:<text>` for a client connected here.
    private func clientMessage(_ message: RedisMessage, clientID: String) {
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
        if let from = outcome.gapFrom { catchUp(clientID, from: from) }
    }

    /// Reads what the client's Stream holds from `from` on (a gap in Pub/Sub, a resubscribe),
    /// with the session's epoch: a new one means Redis lost the session.
    private func catchUp(_ clientID: String, from: UInt64) {
        // Both replies come on this loop, in order (one pipelined connection).
        let epochReply = ReplySlot()
        links.command.send(["HGET", ChannelScripts.meta(clientID), "epoch"]) { result in
            if case .success(let reply) = result { epochReply.value = reply.string ?? "" }
        }
        links.command.send(["XRANGE", ChannelScripts.stream(clientID), "\(from)-1", "+"]) { [self] result in
            guard case .success(let reply) = result, let epoch = epochReply.value else { return }
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

    /// After the subscriber reconnected: every client here may have missed messages.
    private func catchUpAll() {
        let clients = state.withLock { state in state.clients.map { ($0.key, $0.value.session.nextSeq) } }
        for (clientID, next) in clients { catchUp(clientID, from: next) }
    }

    private func kick(node: String, clientID: String, connectionID: String) {
        links.command.send(["PUBLISH", ChannelScripts.node(node), "kick \(clientID) \(connectionID)"]) { _ in }
    }

    /// `kick <client ID> <connection>`: a newer connection on another node took the client.
    private func nodeMessage(_ message: RedisMessage) {
        let parts = message.payload.split(separator: UInt8(ascii: " "), maxSplits: 2).map { String(decoding: $0, as: UTF8.self) }
        guard parts.count == 3, parts[0] == "kick" else { return }
        let replaced = state.withLock { state -> (any ChannelConnection)? in
            guard let client = state.clients[parts[1]], client.connection.connectionID == parts[2] else { return nil }
            state.clients[parts[1]] = nil
            return client.connection
        }
        guard let replaced else { return }
        links.subscriber.unsubscribe(ChannelScripts.channel(parts[1]))
        replaced.scheduleTerminate(code: 409, description: "Replaced+by+another+connection.")
    }

    /// Keeps this node's clients present, and reports the ones any node let lapse.
    private func refreshAndReap() {
        let now = clock.now()
        let here = state.withLock { Array($0.clients.keys) }
        available.store(links.command.isConnected, ordering: .relaxed)
        if !here.isEmpty {
            let lapse = String(now + presenceLapseSeconds)
            links.command.run(ChannelScripts.refresh, keys: [Array(ChannelScripts.presence.utf8)],
                              arguments: ([lapse] + here).map { Array($0.utf8) }) { [self] result in
                guard case .success(let reply) = result, let back = reply.array?.compactMap(\.string), !back.isEmpty else { return }
                // Reaped while this node could not refresh them (paused, cut off), yet still
                // connected here: a new presence episode, announced as such.
                state.withLock { state in state.reconnected += back.filter { state.clients[$0] != nil } }
            }
        }
        links.command.run(ChannelScripts.reap, keys: [Array(ChannelScripts.presence.utf8)],
                          arguments: [Array(String(now).utf8), Array("1000".utf8)]) { [self] result in
            guard case .success(let reply) = result, let gone = reply.array?.compactMap(\.string), !gone.isEmpty else { return }
            state.withLock { $0.disconnected += gone }
        }
    }
}

/// The first of two pipelined replies, read by the second's completion on the same loop.
private final class ReplySlot {
    var value: String?
}

/// Moves a transport's completion to the engine's loop and back; it is only ever called on the
/// connection's own loop.
private final class CompletionBox: @unchecked Sendable {
    // @unchecked: created on the connection's loop, stored, and called only on that loop.
    let completion: (Result<ChannelAttachment, ChannelRefusal>) -> Void
    init(_ completion: @escaping (Result<ChannelAttachment, ChannelRefusal>) -> Void) { self.completion = completion }
}
