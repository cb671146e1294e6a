import Courier
import CourierLoop
import Foundation
public import Logging
import Synchronization

/// The Channel API: make a token for a client ID, push messages to that client, and hear when
/// it connects and disconnects. Thread-safe: call it from any handler on any loop.
///
///     let channels = try ChannelService()
///     app.use(Channels(channels, presence: true))
///     let token = try channels.createChannel(clientID: user.id + gameKey)
///     try channels.sendMessage(clientID: id, message: json)
public final class ChannelService: Sendable {
    /// The bounds and timings fixed at creation.
    public let settings: ChannelSettings
    let signer: TokenSigner
    package let engine: any ChannelEngine
    let logger: Logger
    /// Each client ID's current long-poll connection, so a poll finds the run it continues.
    let longPolls = LongPollRegistry()
    /// Boxed: a closure stored as `Locked`'s generic value is reabstracted at every `withLock`,
    /// and the write-back wrapped it in one more thunk each time. Every presence event grew the
    /// chain (64 bytes, and one more call deep for the next event) until the stack overflowed.
    private let presenceDispatcher = Locked<PresenceHandler?>(nil)
    private let sweeperStarted = Atomic<Bool>(false)
    /// Clients the engine let go of since the heap was last handed back (see `sweep`).
    private let forgottenSinceTrim = Atomic<Int>(0)
    private let trimWhenQuiet = Atomic<Bool>(false)
    private let quietSweeps = Atomic<Int>(0)
    private let loopsReleasingPolls = Locked<Set<ObjectIdentifier>>([])
    /// Reports once the app serving the channels has `Metrics` (see `measure(with:)`).
    let metrics = ChannelMetrics()

    /// `secret` signs tokens; processes that share it accept each other's tokens. `engine`
    /// keeps the channels: `.inMemory` (one process) or one spanning processes
    /// (`CourierRedis`'s `.redis(...)`).
    public init(secret: [UInt8], settings: ChannelSettings = ChannelSettings(), clock: any ChannelClock = SystemClock(),
                logger: Logger = Logger(label: "courier.channel"), engine: ChannelEngineOption = .inMemory) {
        precondition(secret.count >= 16, "a channel secret needs at least 16 bytes")
        precondition(settings.maxTotalHeldBytes >= ChannelSettings.minimumMaxTotalHeldBytes,
                     "maxTotalHeldBytes must be \(ChannelSettings.minimumMaxTotalHeldBytes)...\(Int.max), not \(settings.maxTotalHeldBytes)")
        self.settings = settings
        signer = TokenSigner(secret: secret, clock: clock)
        self.engine = engine.make(settings, clock, logger)
        self.logger = logger
    }

    /// Reads the secret from `COURIER_CHANNEL_SECRET`, or from (or into) `secretPath`.
    public convenience init(settings: ChannelSettings = ChannelSettings(), secretPath: String = "courier-data/channel-secret",
                            clock: any ChannelClock = SystemClock(), engine: ChannelEngineOption = .inMemory) throws {
        self.init(secret: try ChannelSecret.load(storedAt: secretPath), settings: settings, clock: clock, engine: engine)
    }

    // MARK: The original API

    /// A token the browser opens the channel with. Throws `invalidClientID` or
    /// `invalidTokenDuration` (1...1440 minutes; default 120) before making one.
    public func createChannel(clientID: String, durationMinutes: Int? = nil) throws(ChannelError) -> String {
        try ChannelLimits.checkClientID(clientID)
        let minutes = durationMinutes ?? ChannelLimits.defaultDurationMinutes
        guard ChannelLimits.durationMinutes.contains(minutes) else { throw .invalidTokenDuration(minutes) }
        return signer.issue(clientID: clientID, durationSeconds: minutes * 60).token
    }

    /// Beyond the original: a token that lasts `durationSeconds` (1...86400), for tests and demos
    /// that need a channel whose token expires soon. A refused duration throws
    /// `invalidTokenDuration` with the duration in minutes, rounded up.
    public func createChannel(clientID: String, durationSeconds: Int) throws(ChannelError) -> String {
        try ChannelLimits.checkClientID(clientID)
        let maxSeconds = ChannelLimits.durationMinutes.upperBound * 60
        guard (1...maxSeconds).contains(durationSeconds) else {
            // Rounded up without `durationSeconds + 59`, which traps for a duration near Int.max.
            throw .invalidTokenDuration(durationSeconds / 60 + (durationSeconds % 60 > 0 ? 1 : 0))
        }
        return signer.issue(clientID: clientID, durationSeconds: durationSeconds).token
    }

    /// Queues `message` for the client (or the holder of a still-valid token). Returns without
    /// error when nobody is connected: the message is held for the recovery window.
    public func sendMessage(clientID: String, message: String) throws(ChannelError) {
        try ChannelLimits.checkMessage(message)
        try engine.send(message, to: try resolve(clientID))
        metrics.sent()
    }

    /// Beyond the original: returns once the engine holds the message (with Redis: once Redis
    /// has it, so it survives this process), with its sequence number. Give an
    /// `idempotencyKey` to make a retry safe: a key used again within the recovery window sends
    /// nothing and returns the first send's number. Throws `unavailable` when the engine's
    /// store cannot be reached (then retry with the same key).
    @discardableResult
    public func sendMessage(clientID: String, message: String, idempotencyKey: String?) async throws(ChannelError) -> UInt64 {
        try ChannelLimits.checkMessage(message)
        if let idempotencyKey, idempotencyKey.isEmpty || idempotencyKey.utf8.count > 256 {
            throw .invalidIdempotencyKey(idempotencyKey)
        }
        let clientID = try resolve(clientID)
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<UInt64, ChannelError>, Never>) in
            engine.send(message, to: clientID, idempotencyKey: idempotencyKey) { continuation.resume(returning: $0) }
        }
        let seq = try result.get()
        metrics.sent()
        return seq
    }

    /// Sends each message to its client, all at once (with Redis: pipelined, not one round
    /// trip after another), and returns their sequence numbers in order once the engine holds
    /// every one. Each is checked before any is sent; if one cannot be sent the first error is
    /// thrown, and the others may have been sent: retry with the same idempotency keys.
    public func sendMessages(_ messages: [(clientID: String, message: String, idempotencyKey: String?)]) async throws(ChannelError) -> [UInt64] {
        var checked: [(clientID: String, message: String, idempotencyKey: String?)] = []
        checked.reserveCapacity(messages.count)
        for item in messages {
            try ChannelLimits.checkMessage(item.message)
            if let key = item.idempotencyKey, key.isEmpty || key.utf8.count > 256 { throw .invalidIdempotencyKey(key) }
            checked.append((try resolve(item.clientID), item.message, item.idempotencyKey))
        }
        guard !checked.isEmpty else { return [] }
        let results = await withCheckedContinuation { (continuation: CheckedContinuation<[Result<UInt64, ChannelError>], Never>) in
            let batch = ResultBatch<UInt64>(count: checked.count) { continuation.resume(returning: $0) }
            for (index, item) in checked.enumerated() {
                engine.send(item.message, to: item.clientID, idempotencyKey: item.idempotencyKey) { batch.set(index, $0) }
            }
        }
        metrics.sent(results.count { if case .success = $0 { true } else { false } })
        return try results.map { (result: Result<UInt64, ChannelError>) throws(ChannelError) -> UInt64 in try result.get() }
    }

    /// Sends `value` encoded as JSON (Go's SendJSON).
    public func sendJSON<T: Encodable>(clientID: String, _ value: T) throws(ChannelError) {
        let data: Data
        do {
            data = try JSONEncoder().encode(value)
        } catch {
            throw .unencodableMessage(String(describing: error))
        }
        try sendMessage(clientID: clientID, message: String(decoding: data, as: UTF8.self))
    }

    // MARK: Topics (fan-out)

    /// Subscribes the client to `topic` (idempotent). The subscription lasts while the client is
    /// connected and through the recovery window after it leaves; a client away longer lapses
    /// with its held messages, so subscribe again when handing it a new token later.
    public func subscribe(clientID: String, topic: String) throws(ChannelError) {
        try Self.checkTopic(topic)
        try engine.subscribe(try resolve(clientID), to: topic)
    }

    /// Removes the client from `topic`; nothing happens if it was not subscribed. With Redis the change is only queued (see `unsubscribe(clientIDs:topic:)`).
    public func unsubscribe(clientID: String, topic: String) throws(ChannelError) {
        try Self.checkTopic(topic)
        try engine.unsubscribe(try resolve(clientID), from: topic)
    }

    /// Sends `message` to every subscriber, each through its own channel, in order. In one
    /// process it takes the next number in each subscriber's sequence; on Redis it is numbered
    /// once, in the topic's own sequence, so a publish costs Redis the same whatever the
    /// subscribers (the client library keeps both numberings). Returns the number of subscribers.
    @discardableResult
    public func publish(topic: String, message: String) throws(ChannelError) -> Int {
        try Self.checkTopic(topic)
        try ChannelLimits.checkMessage(message)
        let count = try engine.publish(message, to: topic)
        metrics.sent()
        return count
    }

    /// The subscribers this process can name without waiting: all of them with the in-memory
    /// engine, none with Redis (use `fetchSubscribers(of:)`).
    public func subscribers(of topic: String) -> [String] { engine.subscribers(of: topic) }

    // MARK: Topics, confirmed

    // The forms above return at once; with the Redis engine they only queue the change, and a
    // publish cannot know its count. These return once the engine holds the change (with Redis:
    // once Redis has it), and throw `unavailable` when its store cannot be reached.

    /// Subscribes every client in `clientIDs` to `topic` (idempotent), in one step for the engine.
    public func subscribe(clientIDs: [String], topic: String) async throws(ChannelError) {
        try Self.checkTopic(topic)
        let clientIDs = try clientIDs.map { (id: String) throws(ChannelError) -> String in try resolve(id) }
        try await confirmed { engine.subscribe(clientIDs, to: topic, completion: $0) }
    }

    /// Removes every client in `clientIDs` from `topic` and returns once the engine holds the change; throws `unavailable` when its store cannot be reached.
    public func unsubscribe(clientIDs: [String], topic: String) async throws(ChannelError) {
        try Self.checkTopic(topic)
        let clientIDs = try clientIDs.map { (id: String) throws(ChannelError) -> String in try resolve(id) }
        try await confirmed { engine.unsubscribe(clientIDs, from: topic, completion: $0) }
    }

    /// Returns the number of subscribers sent to. Give an `idempotencyKey` to make a retry safe:
    /// a key used again within the recovery window sends nothing and returns the first count.
    @discardableResult
    public func publish(topic: String, message: String, idempotencyKey: String?) async throws(ChannelError) -> Int {
        try Self.checkTopic(topic)
        try ChannelLimits.checkMessage(message)
        if let idempotencyKey, idempotencyKey.isEmpty || idempotencyKey.utf8.count > 256 {
            throw .invalidIdempotencyKey(idempotencyKey)
        }
        let count: Int = try await confirmed { engine.publish(message, to: topic, idempotencyKey: idempotencyKey, completion: $0) }
        metrics.sent()
        return count
    }

    /// Every subscriber of `topic`, on every node: with the Redis engine, as Redis holds them.
    public func fetchSubscribers(of topic: String) async throws(ChannelError) -> [String] {
        try Self.checkTopic(topic)
        return try await confirmed { engine.subscribers(of: topic, completion: $0) }
    }

    private func confirmed<T: Sendable>(
        _ start: (@escaping @Sendable (Result<T, ChannelError>) -> Void) -> Void
    ) async throws(ChannelError) -> T {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, ChannelError>, Never>) in
            start { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    // MARK: Internals shared by the transports

    private func resolve(_ clientIDOrToken: String) throws(ChannelError) -> String {
        if clientIDOrToken.utf8.count > 60, let verified = try? signer.verify(clientIDOrToken) {
            return verified.clientID
        }
        try ChannelLimits.checkClientID(clientIDOrToken)
        return clientIDOrToken
    }

    private static func checkTopic(_ topic: String) throws(ChannelError) {
        guard !topic.isEmpty, topic.utf8.count <= 256 else { throw .invalidTopic(topic) }
    }

    func setPresenceDispatcher(_ dispatcher: @escaping @Sendable (String, Bool) -> Void) {
        presenceDispatcher.withLock { $0 = PresenceHandler(dispatch: dispatcher) }
    }

    func reportPresence(_ clientID: String, connected: Bool) {
        logger.debug("presence", metadata: ["client": "\(clientID)", "connected": "\(connected)"])
        metrics.presence(connected: connected)
        presenceDispatcher.withLock { $0 }?.dispatch(clientID, connected)
    }

    /// What a new connection means for presence: the end of an earlier one first, if it ends
    /// one, then this one's connected (none for a resume that recovery covers).
    func reportPresence(of attached: ChannelAttachment, clientID: String) {
        if attached.endsEarlierPresence { reportPresence(clientID, connected: false) }
        if attached.becamePresent { reportPresence(clientID, connected: true) }
    }

    /// Starts the periodic sweep (presence grace, token expiry, abandoned long-polls, clients
    /// gone past the recovery window) on the first loop that serves a request of the app.
    func ensureSweeper(on loop: EventLoop) {
        guard !sweeperStarted.load(ordering: .relaxed),
              sweeperStarted.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
        loop.execute { [self] in
            let timer = Timer(loop: loop)
            timer.start(after: 250, repeating: 250) { [self] in sweep() }
            loop.onStop { timer.close() }
        }
    }

    /// Once per loop (from its thread): when the server on it begins shutting down, waiting
    /// long-polls are answered at once instead of holding shutdown until its deadline.
    func releasePollsOnDrain(of loop: EventLoop) {
        guard loopsReleasingPolls.withLock({ $0.insert(ObjectIdentifier(loop)).inserted }) else { return }
        loop.onDrain { [self] in
            for connection in longPolls.connections(on: loop) { connection.releaseWaiter() }
        }
    }

    func sweep() {
        let result = engine.sweep()
        // After a crowd has gone (a thousand clients let go of since the last time), the freed
        // heap goes back to the system: glibc keeps it otherwise, and the process would stay at
        // the crowd's size (measured: 59 MiB against 21 at the start, 25 after this, at 10,000).
        let forgotten = forgottenSinceTrim.add(result.forgotten, ordering: .relaxed).newValue
        if forgotten >= 1_000 {
            forgottenSinceTrim.store(0, ordering: .relaxed)
            FreeMemory.returnToSystem()
            trimWhenQuiet.store(true, ordering: .relaxed)
        }
        // And once more when the crowd has finished leaving (2 s without a client let go of): what
        // was freed after that trim (the rest of the crowd, the answers to their detaches) would
        // otherwise stay with the process. Measured: 3,000 clients gone left 27.5 to 33.2 MiB
        // (start 23.9), varying with when the last trim ran.
        if result.forgotten > 0 {
            quietSweeps.store(0, ordering: .relaxed)
        } else if trimWhenQuiet.load(ordering: .relaxed), quietSweeps.add(1, ordering: .relaxed).newValue >= 8 {
            trimWhenQuiet.store(false, ordering: .relaxed)
            FreeMemory.returnToSystem()
        }
        if let held = engine.heldMessageCount { metrics.held(held) }
        for clientID in result.disconnected { reportPresence(clientID, connected: false) }
        for clientID in result.connected { reportPresence(clientID, connected: true) }
        for connection in result.expired {
            connection.scheduleTerminate(code: ChannelFailure.tokenTimedOut.code, description: ChannelFailure.tokenTimedOut.description)
        }
        for (clientID, connection) in result.stale {
            connection.abandon()
            if engine.detach(connection, clientID: clientID, deliberate: true) { reportPresence(clientID, connected: false) }
        }
    }
}

/// The app's presence notifications (see `presenceDispatcher`).
struct PresenceHandler: Sendable {
    let dispatch: @Sendable (String, Bool) -> Void
}

/// Collects the results of several completions, whichever thread each arrives on, and hands
/// them over in order once the last has come.
final class ResultBatch<T: Sendable>: Sendable {
    private let state: Locked<(results: [Result<T, ChannelError>?], left: Int)>
    private let done: @Sendable ([Result<T, ChannelError>]) -> Void

    init(count: Int, done: @escaping @Sendable ([Result<T, ChannelError>]) -> Void) {
        state = Locked((Array(repeating: nil, count: count), count))
        self.done = done
    }

    func set(_ index: Int, _ result: Result<T, ChannelError>) {
        let complete = state.withLock { state -> [Result<T, ChannelError>]? in
            state.results[index] = result
            state.left -= 1
            return state.left == 0 ? state.results.map { $0! } : nil
        }
        if let complete { done(complete) }
    }
}
