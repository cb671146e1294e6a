public import CourierLoop

/// One pipelined command connection to Redis, bound to a loop. Commands go out as soon as they
/// are issued, without waiting for earlier replies; replies are matched to commands in order.
///
/// The callback API (`send(_:timeout:completion:)`) is for code already on the loop, as the
/// rest of Courier is: no task, no hop. The `async` API may be called from any thread and hops
/// to the loop. Every state change happens on the loop, which is why the type can be shared
/// between threads.
///
/// While connecting (at first, or again after a loss) commands wait, up to the connect timeout;
/// while backing off after a failed attempt they fail at once with `notConnected`, so a caller
/// is never stuck behind an outage for longer than one attempt.
///
/// A connection lives until `close()` or until its loop stops.
// @unchecked Sendable: every stored `var` is read and written only on `loop` (the callback API
// asserts it; the async API and `close()` hop there first); the `let`s are Sendable.
public final class RedisConnection: @unchecked Sendable {
    /// Called once, on the loop, with the reply or the reason there is none.
    public typealias Completion = (Result<RESPValue, RedisError>) -> Void

    /// The loop every callback runs on and every state change happens on.
    public let loop: EventLoop
    /// The server this connection talks to, the same on every reconnect.
    public let endpoint: RedisEndpoint
    /// The timeouts, backoff and queue limit in force.
    public let configuration: RedisConfiguration

    private let link: RedisLink
    /// Round trips and their durations, when the app measures (shared by an engine's connections).
    private let metrics: RedisMetrics?
    private var replies = ReplyQueue<Pending>()
    private var waiting = FIFO<WaitingCommand>()
    private var waitingBytes = 0
    private var timer: Timer?
    /// When the command timer fires next (loop milliseconds); nil when not armed.
    private var timerDue: UInt64?
    private var started = false
    private var closed = false
    /// Scripts loaded (`SCRIPT LOAD`) on this connection since it last (re)connected: see
    /// `run(_:keys:arguments:timeout:completion:)`.
    var loadedScripts: Set<String> = []

    /// A command sent and not answered: who gets the reply, and when it left (0 unmeasured).
    private struct Pending {
        let completion: Completion
        let sentAt: Int64
    }

    private struct WaitingCommand {
        let arguments: [[UInt8]]
        let size: Int
        let timeoutMilliseconds: UInt64
        let completion: Completion
    }

    /// Starts connecting at once. May be called from any thread.
    public convenience init(loop: EventLoop, endpoint: RedisEndpoint, configuration: RedisConfiguration = RedisConfiguration()) {
        self.init(loop: loop, endpoint: endpoint, configuration: configuration, metrics: nil)
    }

    /// As the public initializer, counting round trips in `metrics`.
    package init(loop: EventLoop, endpoint: RedisEndpoint, configuration: RedisConfiguration, metrics: RedisMetrics?) {
        self.loop = loop
        self.endpoint = endpoint
        self.configuration = configuration
        self.metrics = metrics
        link = RedisLink(loop: loop, endpoint: endpoint, configuration: configuration)
        runOnLoop { [self] in startIfNeeded() }
    }

    /// Parses a `redis://` URL, then starts connecting. Throws `invalidEndpoint` for a bad URL, before anything is started.
    public convenience init(loop: EventLoop, url: String, configuration: RedisConfiguration = RedisConfiguration()) throws(RedisError) {
        self.init(loop: loop, endpoint: try RedisEndpoint(url: url), configuration: configuration)
    }

    /// Logged in and able to send now. Read on the loop.
    public var isConnected: Bool {
        loop.assertInLoop()
        return link.isReady
    }

    // MARK: Callback API (on the loop)

    /// Sends a command; `completion` runs on the loop with its reply, an error reply as
    /// `RedisError.server`. It may run before `send` returns when the command is refused at once.
    /// Do not send `SUBSCRIBE` here: its pushes have no command to match (see `RedisSubscriber`).
    public func send(_ arguments: [[UInt8]], timeout: Duration? = nil, completion: @escaping Completion) {
        loop.assertInLoop()
        precondition(!arguments.isEmpty, "a Redis command needs a name")
        startIfNeeded()
        let timeoutMilliseconds = timeout?.wholeMilliseconds ?? configuration.commandTimeout.wholeMilliseconds
        switch link.admission() {
        case .refuse(let error):
            completion(.failure(error))
        case .wait:
            let size = RESPEncoder.encodedSize(arguments)
            guard waitingBytes + size <= configuration.maximumQueuedBytes else {
                completion(.failure(.overloaded(limitBytes: configuration.maximumQueuedBytes)))
                return
            }
            waitingBytes += size
            waiting.append(WaitingCommand(arguments: arguments, size: size, timeoutMilliseconds: timeoutMilliseconds,
                                          completion: completion))
        case .send:
            guard link.queuedBytes + RESPEncoder.encodedSize(arguments) <= configuration.maximumQueuedBytes else {
                completion(.failure(.overloaded(limitBytes: configuration.maximumQueuedBytes)))
                return
            }
            transmit(arguments, timeoutMilliseconds: timeoutMilliseconds, completion: completion)
        }
    }

    /// Sends a command given as strings (sent as UTF-8); as the byte variant, on the loop only.
    public func send(_ arguments: [String], timeout: Duration? = nil, completion: @escaping Completion) {
        send(arguments.map { Array($0.utf8) }, timeout: timeout, completion: completion)
    }

    // MARK: Async API (any thread)

    /// Sends a command from any thread and waits for its reply. Cancelling the task does not
    /// recall a command already handed to the loop.
    public func send(_ arguments: [[UInt8]], timeout: Duration? = nil) async throws(RedisError) -> RESPValue {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<RESPValue, RedisError>, Never>) in
            let posted = runOnLoop { [self] in
                send(arguments, timeout: timeout) { continuation.resume(returning: $0) }
            }
            if !posted { continuation.resume(returning: .failure(.closed)) }
        }
        return try result.get()
    }

    /// Sends a command given as strings (sent as UTF-8) from any thread and waits for its reply.
    public func send(_ arguments: [String], timeout: Duration? = nil) async throws(RedisError) -> RESPValue {
        try await send(arguments.map { Array($0.utf8) }, timeout: timeout)
    }

    /// `try await redis.send("SET", "key", "value")`
    public func send(_ arguments: String...) async throws(RedisError) -> RESPValue {
        try await send(arguments.map { Array($0.utf8) }, timeout: nil)
    }

    /// Fails every waiting command with `closed` and closes the socket. Any thread.
    public func close() {
        runOnLoop { [self] in closeOnLoop() }
    }

    // MARK: Internals

    /// Runs `work` now when on the loop, else posts it there; false when the loop has stopped.
    @discardableResult
    func runOnLoop(_ work: @escaping @Sendable () -> Void) -> Bool {
        loop.perform(work)
    }

    private func startIfNeeded() {
        guard !started, !closed else { return }
        started = true
        timer = Timer(loop: loop)
        loop.onStop { [weak self] in self?.closeOnLoop() }
        link.onReady = { [self] in sendWaiting() }
        link.onReply = { [self] reply in received(reply) }
        link.onDown = { [self] error in linkWentDown(error) }
        link.start()
    }

    private func transmit(_ arguments: [[UInt8]], timeoutMilliseconds: UInt64, completion: @escaping Completion) {
        link.send(arguments)
        replies.append(Pending(completion: completion, sentAt: metrics?.commandSent() ?? 0), timeout: timeoutMilliseconds, now: loop.now)
        if let deadline = replies.earliestDeadline { armTimer(for: deadline) }
    }

    private func sendWaiting() {
        let commands = waiting.removeAll()
        waitingBytes = 0
        for command in commands {
            transmit(command.arguments, timeoutMilliseconds: command.timeoutMilliseconds, completion: command.completion)
        }
    }

    private func received(_ reply: RESPValue) {
        guard let pending = replies.popFirst(now: loop.now) else {
            link.drop(reason: "a reply with no command waiting for it: \(reply)")
            return
        }
        metrics?.replied(sentAt: pending.sentAt)
        let completion = pending.completion
        if case .error(let message) = reply {
            completion(.failure(.server(message: message)))
        } else {
            completion(.success(reply))
        }
    }

    private func linkWentDown(_ error: RedisError) {
        // Redis may come back without them (restarted, or another server behind the address).
        loadedScripts.removeAll()
        let inFlight = replies.removeAll()
        var refused: [WaitingCommand] = []
        var refusal = error
        if case .refuse(let reason) = link.admission() {
            refused = waiting.removeAll()
            waitingBytes = 0
            refusal = reason
        }
        for entry in inFlight { entry.waiter.completion(.failure(error)) }
        for command in refused { command.completion(.failure(refusal)) }
    }

    // MARK: Timeouts

    /// One timer for all commands, armed for the oldest command's deadline. Each reply moves that
    /// deadline later, so the timer is re-armed when it fires early, not at every reply.
    private func armTimer(for deadline: UInt64) {
        if let due = timerDue, due <= deadline { return }
        timerDue = deadline
        let now = loop.now
        timer?.start(after: deadline > now ? deadline - now : 0) { [self] in timerFired() }
    }

    private func timerFired() {
        timerDue = nil
        guard let earliest = replies.earliestDeadline else { return }
        let now = loop.now
        guard earliest <= now else {
            armTimer(for: earliest)
            return
        }
        // Every reply still due would now be matched to the wrong command: give them all up,
        // and reconnect first, so what their completions send waits for the new connection.
        let abandoned = replies.removeAll()
        link.drop(reason: "a command got no reply within its timeout")
        for (index, entry) in abandoned.enumerated() {
            entry.waiter.completion(.failure(index == 0 ? .timedOut : .connectionLost(reason: "reset because an earlier command timed out")))
        }
    }

    private func closeOnLoop() {
        guard !closed else { return }
        closed = true
        link.close()
        timer?.close()
        let inFlight = replies.removeAll()
        let queued = waiting.removeAll()
        waitingBytes = 0
        for entry in inFlight { entry.waiter.completion(.failure(.closed)) }
        for command in queued { command.completion(.failure(.closed)) }
    }
}
