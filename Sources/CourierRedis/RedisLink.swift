import CourierLoop

/// The one socket of a `RedisConnection` or a `RedisSubscriber`, and its upkeep: connecting
/// (resolve, TCP, then `AUTH`/`SELECT`/`CLIENT SETNAME`/`PING`, all within the connect timeout),
/// reconnecting with backoff as `ConnectionLifecycle` decides, decoding replies and writing
/// commands. Commands written in one loop iteration leave in one `write`.
///
/// The owner sets the three callbacks, then calls `start()`. The link keeps itself and its
/// owner alive through its handles' callbacks until `close()`: a connection is a resource to
/// close, like a socket, and dropping the last reference to it must not free it under libuv.
final class RedisLink {
    let loop: EventLoop
    let endpoint: RedisEndpoint
    let configuration: RedisConfiguration
    private(set) var lifecycle: ConnectionLifecycle
    private var random = SystemRandomNumberGenerator()

    /// Logged in: replies go to the owner. Called after the state became ready.
    var onReady: (() -> Void)?
    /// A reply that is not part of logging in.
    var onReply: ((RESPValue) -> Void)?
    /// The link went down: `notConnected` when an attempt failed, `connectionLost` when a ready
    /// connection went. The lifecycle has already moved on (connecting again, or backing off),
    /// so what the owner sends from here is admitted by the new state.
    var onDown: ((RedisError) -> Void)?

    private var stream: TCPStream?
    private var attempt: TCPConnectAttempt?
    private var decoder: RESPDecoder?
    private var attemptTimer: Timer?
    private var backoffTimer: Timer?
    /// Names of the login commands whose replies are still due.
    private var loginSteps = FIFO<String>()
    private var outgoing: [UInt8] = []
    private var flushScheduled = false
    /// Bumped whenever a socket is dropped, so a loop over replies from the old one stops.
    private var generation = 0

    init(loop: EventLoop, endpoint: RedisEndpoint, configuration: RedisConfiguration) {
        self.loop = loop
        self.endpoint = endpoint
        self.configuration = configuration
        lifecycle = ConnectionLifecycle(backoff: configuration.backoff)
    }

    /// Starts connecting. Call on the loop, once the callbacks are set.
    func start() {
        loop.assertInLoop()
        guard lifecycle.start() else { return }
        attemptTimer = Timer(loop: loop)
        backoffTimer = Timer(loop: loop)
        beginAttempt()
    }

    var isReady: Bool { lifecycle.isReady }

    func admission() -> ConnectionLifecycle.Admission { lifecycle.admission(now: loop.now) }

    /// Bytes not yet taken by the kernel: written this iteration, or queued by the stream.
    var queuedBytes: Int { outgoing.count + (stream?.pendingWriteBytes ?? 0) }

    /// Queues a command for the end of this loop iteration. Only while ready.
    func send(_ arguments: [[UInt8]]) {
        RESPEncoder.append(arguments, to: &outgoing)
        scheduleFlush()
    }

    /// Drops a ready connection on the owner's behalf (a command timed out, a reply nobody
    /// asked for) and reconnects as after any loss.
    func drop(reason: String) {
        lost(reason: reason)
    }

    func close() {
        guard !lifecycle.isClosed else { return }
        lifecycle.close()
        teardown()
        attemptTimer?.close()
        backoffTimer?.close()
        onReady = nil
        onReply = nil
        onDown = nil
    }

    // MARK: Connecting

    private func beginAttempt() {
        attemptTimer?.start(after: configuration.connectTimeout.wholeMilliseconds) { [self] in
            attemptFailed(reason: "no connection within \(configuration.connectTimeout)")
        }
        let started = TCPStream.connect(loop: loop, resolving: endpoint.host, port: endpoint.port) { [self] result in
            attempt = nil
            switch result {
            case .success(let stream): socketConnected(stream)
            case .failure(let error): attemptFailed(reason: error.description)
            }
        }
        if !started.isFinished { attempt = started }
    }

    private func socketConnected(_ stream: TCPStream) {
        guard lifecycle.state == .connecting else {
            stream.close()
            return
        }
        self.stream = stream
        decoder = RESPDecoder()
        stream.setNoDelay(true)
        stream.onRead = { [self] bytes in received(bytes) }
        stream.onEnd = { [self] error in lost(reason: error?.description ?? "the server closed the connection") }
        stream.startReading()
        if let password = endpoint.password {
            var auth = [Array("AUTH".utf8)]
            if let username = endpoint.username { auth.append(Array(username.utf8)) }
            auth.append(Array(password.utf8))
            RESPEncoder.append(auth, to: &outgoing)
            loginSteps.append("AUTH")
        }
        if endpoint.database != 0 {
            RESPEncoder.append([Array("SELECT".utf8), Array(String(endpoint.database).utf8)], to: &outgoing)
            loginSteps.append("SELECT \(endpoint.database)")
        }
        if let name = configuration.clientName {
            RESPEncoder.append([Array("CLIENT".utf8), Array("SETNAME".utf8), Array(name.utf8)], to: &outgoing)
            loginSteps.append("CLIENT SETNAME")
        }
        // Always one round trip before commands flow: it proves the peer speaks RESP and
        // surfaces a refusal sent at accept ("max number of clients reached") as a failed
        // attempt, which backs off, rather than as the failure of someone's command.
        RESPEncoder.append([Array("PING".utf8)], to: &outgoing)
        loginSteps.append("PING")
        flush()
    }

    private func loginReply(_ reply: RESPValue) {
        let step = loginSteps.popFirst() ?? "login"
        if case .error(let message) = reply {
            attemptFailed(reason: "\(step) refused: \(message)")
            return
        }
        guard loginSteps.isEmpty else { return }
        attemptTimer?.stop()
        lifecycle.connected(now: loop.now)
        onReady?()
    }

    // MARK: Going down

    private func attemptFailed(reason: String) {
        guard lifecycle.state == .connecting else { return }
        teardown()
        let text = "\(endpoint): \(reason)"
        let next = lifecycle.attemptFailed(reason: text, now: loop.now, random: Double.random(in: 0..<1, using: &random))
        onDown?(.notConnected(reason: text))
        perform(next)
    }

    private func lost(reason: String) {
        guard lifecycle.isReady else {
            attemptFailed(reason: reason)
            return
        }
        teardown()
        let next = lifecycle.connectionLost(reason: "\(endpoint): \(reason)", now: loop.now,
                                            random: Double.random(in: 0..<1, using: &random))
        onDown?(.connectionLost(reason: reason))
        perform(next)
    }

    private func perform(_ next: ConnectionLifecycle.Next) {
        guard !lifecycle.isClosed else { return }  // the owner closed from onDown
        switch next {
        case .connectNow:
            beginAttempt()
        case .retry(let milliseconds):
            backoffTimer?.start(after: milliseconds) { [self] in
                if lifecycle.backoffElapsed() { beginAttempt() }
            }
        case .nothing:
            break
        }
    }

    /// Forgets the socket or attempt in progress; nothing of it can call back afterwards.
    private func teardown() {
        generation &+= 1
        attempt?.cancel()
        attempt = nil
        attemptTimer?.stop()
        if let stream {
            stream.onRead = nil
            stream.onEnd = nil
            stream.close()
        }
        stream = nil
        decoder = nil
        outgoing = []
        loginSteps = FIFO()
    }

    // MARK: Bytes

    private func received(_ bytes: UnsafeRawBufferPointer) {
        guard let decoder else { return }
        let current = generation
        do throws(RedisError) {
            try decoder.feed(bytes)
            while generation == current, let reply = try decoder.next() {
                if loginSteps.isEmpty { onReply?(reply) } else { loginReply(reply) }
            }
        } catch {
            guard generation == current else { return }
            lost(reason: error.description)
        }
    }

    private func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        loop.deferToEndOfIteration { [self] in
            flushScheduled = false
            flush()
        }
    }

    private func flush() {
        guard let stream, !outgoing.isEmpty else { return }
        var bytes: [UInt8] = []
        swap(&bytes, &outgoing)
        stream.write(bytes)
        // The stream copied what the kernel did not take, so the buffer can serve again
        // (unless it grew for a large value, which it should not keep holding).
        if outgoing.isEmpty && bytes.capacity <= 64 * 1024 {
            bytes.removeAll(keepingCapacity: true)
            outgoing = bytes
        }
    }
}
