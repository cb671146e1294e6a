package import CourierChannel
import CourierLoop
package import Logging
import Synchronization

/// Channels across processes and machines, on Redis (see `ChannelScripts` for the keys and
/// the scripts, docs/channel-protocol.md for the design). Sequence numbers, held messages,
/// ownership and presence live in Redis; each node keeps, for the clients connected to it, the
/// messages from where they joined, filled from Pub/Sub (and from the client's Stream after a
/// gap), and its connections take from that as they do from the in-memory engine.
///
/// Each server loop that uses the engine has its own command connection and subscriber: a send
/// from a handler goes out on its loop's connection with no hand-off, and the Pub/Sub messages
/// of a client connected on a loop arrive on that loop, next to its connection. A control loop
/// of the engine's own (one more command connection and subscriber) hears the other nodes
/// (kicks and their answers), keeps presence, and serves callers on no loop.
package final class RedisChannelEngine: ChannelEngine, Sendable {
    package let clock: any ChannelClock
    let settings: ChannelSettings
    let logger: Logger
    let nodeID = InMemoryChannelEngine.newID()
    let endpoint: RedisEndpoint
    let configuration: RedisConfiguration
    /// The control loop.
    let loop: EventLoop
    let control: Links
    private let loopLinks = Locked<[ObjectIdentifier: Links]>([:])
    let state = Locked(State())
    /// Whether the command connection was up when last seen: a send while it is not fails at
    /// once with `unavailable` rather than queue behind an outage.
    let available = Atomic<Bool>(true)
    /// Whether the service collects this engine's presence reports (its sweeper runs once the
    /// server has served a request): until it does, this node leaves reaping to the others,
    /// since a client it reaped would never be reported gone.
    let reported = Atomic<Bool>(false)
    /// Round trips on every command connection of the engine, once the app measures.
    let metrics = RedisMetrics()
    /// Set by `halt()`: the engine does nothing more, as if its process had been killed.
    let halted = Atomic<Bool>(false)
    /// A reap is waiting for Redis (`reap()`); used on the control loop.
    let reaping = Atomic<Bool>(false)

    struct State {
        var clients: [String: Client] = [:]
        /// Per topic and loop, the clients connected there that subscribe to it: what a message
        /// on the topic's channel (followed by that loop's subscriber) is handed to.
        var topicFollowers: [TopicLoopKey: [String: Client]] = [:]
        /// When the clients' tokens expire, earliest first (an entry whose client record has
        /// changed since is skipped), and the clients whose connections can go stale (long-polls):
        /// the sweep looks at these, not at every client.
        var tokenExpiries = DueHeap<(clientID: String, client: Client), Double>()
        var pollers: [String: Client] = [:]
        /// The clients handed something (or installed) since the last refresh: what it records
        /// in Redis as how far their connections got. 100,000 idle clients cost it nothing.
        var progressed: [String: Client] = [:]
        /// Records let go of since the last sweep.
        var forgotten = 0
        /// Opens under way per client ID: its Pub/Sub channel must stay subscribed meanwhile,
        /// whatever a detach that raced with it decides.
        var opening: [OpeningKey: Int] = [:]
        /// Clients a Pub/Sub message arrived for while an open was under way: the new record
        /// may not have it, so it reads the Stream once installed.
        var missedWhileOpening: Set<String> = []
        /// Back in presence after it lapsed under them (a paused node), reported by the next sweep.
        var reconnected: [String] = []
        /// Presence ended (reaped, or a deliberate close confirmed by Redis), reported by the next sweep.
        var disconnected: [String] = []
        /// Fresh opens waiting for the node that held the client to say how far it got, by the
        /// new connection's ID.
        var awaitingRelease: [String: PendingOpen] = [:]
    }

    /// One connected client on this node: its epoch (session ID) and the messages from where
    /// its connection joined.
    final class Client: @unchecked Sendable {
        // @unchecked: touched only under the engine's `state` lock (a lock needs its contents Sendable).
        let epoch: String
        let session: ChannelSession
        var connection: any ChannelConnection
        var tokenExpiry: Double
        /// Messages went missing that Redis no longer holds (a gap, a new epoch after Redis
        /// restarted empty): the connection ends with 410 rather than skip them.
        var lost = false
        /// The highest seq recorded in Redis as handed out (`progress`).
        var recorded: UInt64
        /// The client's topics, each numbered by its own offsets.
        var topics: [String: TopicFeed] = [:]
        init(epoch: String, session: ChannelSession, connection: any ChannelConnection, tokenExpiry: Double, recorded: UInt64) {
            self.epoch = epoch
            self.session = session
            self.connection = connection
            self.tokenExpiry = tokenExpiry
            self.recorded = recorded
        }
    }

    /// One loop's Redis connections, used on that loop only.
    final class Links: @unchecked Sendable {
        // @unchecked: the connections are Sendable; `reconnectWatch` is touched only on `loop`.
        let loop: EventLoop
        let command: RedisConnection
        let subscriber: RedisSubscriber
        var reconnectWatch: Timer?

        init(loop: EventLoop, endpoint: RedisEndpoint, configuration: RedisConfiguration, metrics: RedisMetrics) {
            self.loop = loop
            command = RedisConnection(loop: loop, endpoint: endpoint, configuration: configuration, metrics: metrics)
            subscriber = RedisSubscriber(loop: loop, endpoint: endpoint, configuration: configuration)
        }
    }

    package init(endpoint: RedisEndpoint, settings: ChannelSettings, clock: any ChannelClock, logger: Logger,
                 configuration: RedisConfiguration = RedisConfiguration()) {
        self.clock = clock
        self.settings = settings
        self.logger = logger
        self.endpoint = endpoint
        self.configuration = configuration
        loop = EventLoop(name: "courier-redis")
        loop.startThread()
        control = Links(loop: loop, endpoint: endpoint, configuration: configuration, metrics: metrics)
        let control = control
        let nodeChannel = ChannelScripts.node(nodeID)
        loop.execute { [self] in
            control.subscriber.subscribe(nodeChannel) { [self] message in nodeMessage(message) }
            // Listed among the living before any client opens here: a node that dies before its
            // first refresh still has its clients reaped.
            sayAlive(now: clock.now())
            let timer = Timer(loop: loop)
            let period = UInt64(presenceRefreshSeconds * 1000)
            timer.start(after: period, repeating: period) { [self] in refresh() }
            let reaper = Timer(loop: loop)
            reaper.start(after: Self.reapMilliseconds, repeating: Self.reapMilliseconds) { [self] in reap() }
        }
    }

    /// How many server loops have their own connections (for tests and diagnostics).
    package var serverLoopsConnected: Int { loopLinks.withLock { $0.count } }

    /// The connections of `loop`, made on first use. Call on `loop`.
    func links(on loop: EventLoop) -> Links {
        if loop === self.loop { return control }
        let key = ObjectIdentifier(loop)
        if let links = loopLinks.withLock({ $0[key] }) { return links }
        let links = Links(loop: loop, endpoint: endpoint, configuration: configuration, metrics: metrics)
        // After a reconnect, the clients connected on this loop may have missed messages.
        links.subscriber.onResubscribed = { [self] in catchUpAll(on: loop) }
        loopLinks.withLock { $0[key] = links }
        return links
    }

    /// Runs `work` with the calling loop's connections, at once; from a thread that runs no
    /// loop, on the control loop.
    func withLinks(_ work: @escaping @Sendable (Links) -> Void) {
        guard !halted.load(ordering: .relaxed) else { return }
        if let current = EventLoop.current {
            work(links(on: current))
        } else {
            let control = control
            loop.execute { work(control) }
        }
    }

    /// How long a node's clients stay present in Redis without a refresh: a node that dies
    /// (SIGKILL) has its clients reported gone this long after its last refresh.
    var presenceLapseSeconds: Double { max(3, min(settings.heartbeatSeconds, 10)) }
    var presenceRefreshSeconds: Double { presenceLapseSeconds / 3 }
    /// How long a client's keys outlive its last connection or send.
    var keyTTLSeconds: Int { Int(settings.recoveryWindowSeconds) + 60 }
    /// How long a fresh open waits for the node it replaces to say how far that connection got.
    static let releaseTimeoutMilliseconds: UInt64 = 1000

    /// Stops the engine's loop where it stands, as a killed process would: no detach, no
    /// presence refresh, no goodbye to Redis beyond the kernel closing its sockets. For tests.
    package func halt() {
        halted.store(true, ordering: .relaxed)
        loop.stop()
        loop.waitUntilStopped()
    }

    // MARK: Sending

    package func send(_ text: String, to clientID: String) throws(ChannelError) {
        try checkAvailable()
        run(sendScript(text, to: clientID, idempotencyKey: nil)) { _ in }
    }

    /// `completion` (on the engine's loop) gets the message's sequence number, or the error.
    package func send(_ text: String, to clientID: String, idempotencyKey: String?,
                      completion: @escaping @Sendable (Result<UInt64, ChannelError>) -> Void) {
        guard available.load(ordering: .relaxed) else { return completion(.failure(Self.unreachable)) }
        run(sendScript(text, to: clientID, idempotencyKey: idempotencyKey)) { result in
            completion(result.map { UInt64($0.array?.last?.int ?? 0) })
        }
    }

    private func sendScript(_ text: String, to clientID: String, idempotencyKey: String?) -> ScriptCall {
        ScriptCall(ChannelScripts.send,
                   keys: [ChannelScripts.meta(clientID), ChannelScripts.stream(clientID), ChannelScripts.owner(clientID),
                          ChannelScripts.topics(clientID)],
                   arguments: [text, String(settings.maxHeldMessages), String(keyTTLSeconds), ChannelScripts.channel(clientID),
                               InMemoryChannelEngine.newID(), String(clock.now()),
                               idempotencyKey.map { ChannelScripts.idempotency(clientID, $0) } ?? "", String(keyTTLSeconds)])
    }

    // MARK: Topics

    /// Queued for Redis; a failure is logged. `subscribe(_:to:completion:)` reports it.
    package func subscribe(_ clientID: String, to topic: String) throws(ChannelError) {
        try checkAvailable()
        run(subscribeScript([clientID], to: topic)) { _ in }
    }

    package func subscribe(_ clientIDs: [String], to topic: String,
                           completion: @escaping @Sendable (Result<Void, ChannelError>) -> Void) {
        guard available.load(ordering: .relaxed) else { return completion(.failure(Self.unreachable)) }
        guard !clientIDs.isEmpty else { return completion(.success(())) }
        run(subscribeScript(clientIDs, to: topic)) { completion($0.map { _ in }) }
    }

    private func subscribeScript(_ clientIDs: [String], to topic: String) -> ScriptCall {
        ScriptCall(ChannelScripts.subscribe, keys: [ChannelScripts.topic(topic), ChannelScripts.topicOffset(topic)],
                   arguments: [InMemoryChannelEngine.newID(), String(keyTTLSeconds), topic] + clientIDs)
    }

    package func unsubscribe(_ clientID: String, from topic: String) throws(ChannelError) {
        try checkAvailable()
        run(ScriptCall(ChannelScripts.unsubscribe, keys: [ChannelScripts.topic(topic)], arguments: [topic, clientID])) { _ in }
    }

    package func unsubscribe(_ clientIDs: [String], from topic: String,
                             completion: @escaping @Sendable (Result<Void, ChannelError>) -> Void) {
        guard available.load(ordering: .relaxed) else { return completion(.failure(Self.unreachable)) }
        guard !clientIDs.isEmpty else { return completion(.success(())) }
        run(ScriptCall(ChannelScripts.unsubscribe, keys: [ChannelScripts.topic(topic)], arguments: [topic] + clientIDs)) {
            completion($0.map { _ in })
        }
    }

    /// The count is known only once Redis has run the script, and this must not wait: it is 0
    /// here. `publish(_:to:idempotencyKey:completion:)` reports the count.
    package func publish(_ text: String, to topic: String) throws(ChannelError) -> Int {
        try checkAvailable()
        run(publishScript(text, to: topic, idempotencyKey: nil)) { _ in }
        return 0
    }

    package func publish(_ text: String, to topic: String, idempotencyKey: String?,
                         completion: @escaping @Sendable (Result<Int, ChannelError>) -> Void) {
        guard available.load(ordering: .relaxed) else { return completion(.failure(Self.unreachable)) }
        run(publishScript(text, to: topic, idempotencyKey: idempotencyKey)) { completion($0.map { $0.int ?? 0 }) }
    }

    private func publishScript(_ text: String, to topic: String, idempotencyKey: String?) -> ScriptCall {
        let set = ChannelScripts.topic(topic)
        return ScriptCall(ChannelScripts.publish,
                          keys: [set, idempotencyKey.map { ChannelScripts.publishIdempotency(topic, $0) } ?? set,
                                 ChannelScripts.topicLog(topic), ChannelScripts.topicOffset(topic)],
                          arguments: [text, String(settings.maxHeldMessages), String(clock.now()), String(keyTTLSeconds),
                                      ChannelScripts.topicChannel(topic), String(keyTTLSeconds)])
    }

    /// Only Redis knows; `subscribers(of:completion:)` asks it.
    package func subscribers(of topic: String) -> [String] { [] }

    package func subscribers(of topic: String, completion: @escaping @Sendable (Result<[String], ChannelError>) -> Void) {
        guard available.load(ordering: .relaxed) else { return completion(.failure(Self.unreachable)) }
        run(ScriptCall(ChannelScripts.subscribers, keys: [ChannelScripts.topic(topic)], arguments: [])) { result in
            completion(result.map { $0.array?.compactMap(\.string) ?? [] })
        }
    }

    // MARK: Talking to Redis

    static let unreachable = ChannelError.unavailable("Redis cannot be reached")

    private func checkAvailable() throws(ChannelError) {
        guard available.load(ordering: .relaxed) else { throw Self.unreachable }
    }

    struct ScriptCall: Sendable {
        let script: RedisScript
        let keys: [[UInt8]]
        let arguments: [[UInt8]]
        init(_ script: RedisScript, keys: [String], arguments: [String]) {
            self.script = script
            self.keys = keys.map { Array($0.utf8) }
            self.arguments = arguments.map { Array($0.utf8) }
        }
    }

    /// Runs `call` on the calling loop's connection (see `withLinks`); `completion` runs on
    /// that loop, a failure already noted (logged, and the engine marked unavailable if the
    /// connection is down).
    func run(_ call: ScriptCall, completion: @escaping @Sendable (Result<RESPValue, ChannelError>) -> Void) {
        withLinks { [self] links in
            links.command.run(call.script, keys: call.keys, arguments: call.arguments) { [self] result in
                completion(noted(result, on: links))
            }
        }
    }

    /// On `links.loop`.
    func noted(_ result: Result<RESPValue, RedisError>, on links: Links) -> Result<RESPValue, ChannelError> {
        switch result {
        case .success(let reply):
            return .success(reply)
        case .failure(let error):
            logger.warning("redis command failed", metadata: ["error": "\(error)"])
            let connected = links.command.isConnected
            available.store(connected, ordering: .relaxed)
            if !connected { watchForReconnect(links) }
            return .failure(.unavailable("\(error)"))
        }
    }

    /// While Redis is away, looks every 100 ms whether the connection is back, so sends are
    /// accepted again as soon as it is (a send while away would only fail, or wait).
    private func watchForReconnect(_ links: Links) {
        guard links.reconnectWatch == nil else { return }
        let timer = Timer(loop: links.loop)
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
}
