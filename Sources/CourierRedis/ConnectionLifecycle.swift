/// The connect/reconnect policy of one Redis connection, with no I/O: the connection (or
/// subscriber) reports what happened, this decides what to do next and whether a new command
/// may be sent, wait, or must fail at once. Both `RedisConnection` and `RedisSubscriber` drive
/// their sockets through one `RedisLink` holding one of these.
struct ConnectionLifecycle: Sendable {
    enum State: Equatable, Sendable {
        /// Made, not started yet.
        case idle
        /// Resolving, connecting or logging in (AUTH/SELECT); bounded by the connect timeout.
        case connecting
        /// Logged in; commands go out at once.
        case ready(since: UInt64)
        /// The last attempt failed; the next one starts at `until` (loop milliseconds).
        case backingOff(until: UInt64, reason: String)
        case closed
    }

    enum Admission: Equatable, Sendable {
        case send
        /// Hold it until the attempt in progress ends: sent if it succeeds, failed if not.
        case wait
        case refuse(RedisError)
    }

    enum Next: Equatable, Sendable {
        case connectNow
        case retry(afterMilliseconds: UInt64)
        case nothing
    }

    let backoff: RedisBackoff
    private(set) var state = State.idle
    /// Attempts failed in a row (or connections lost too soon after being made).
    private(set) var failures = 0

    init(backoff: RedisBackoff) {
        self.backoff = backoff
    }

    var isReady: Bool {
        if case .ready = state { return true }
        return false
    }

    var isClosed: Bool { state == .closed }

    func admission(now: UInt64) -> Admission {
        switch state {
        case .idle, .connecting: .wait
        case .ready: .send
        case .backingOff(let until, let reason):
            .refuse(.notConnected(reason: "\(reason) (next attempt in \(until > now ? until - now : 0) ms)"))
        case .closed: .refuse(.closed)
        }
    }

    /// idle → connecting. False when already started or closed.
    mutating func start() -> Bool {
        guard state == .idle else { return false }
        state = .connecting
        return true
    }

    /// connecting → ready.
    mutating func connected(now: UInt64) {
        guard state == .connecting else { return }
        state = .ready(since: now)
    }

    /// connecting → backingOff; returns the delay before the next attempt.
    mutating func attemptFailed(reason: String, now: UInt64, random: Double) -> Next {
        guard state == .connecting else { return .nothing }
        failures += 1
        let delay = backoff.milliseconds(afterFailures: failures, random: random)
        state = .backingOff(until: now &+ delay, reason: reason)
        return .retry(afterMilliseconds: delay)
    }

    /// ready → connecting at once, when the connection had been up for at least the first
    /// backoff delay; a connection lost sooner counts as one more failure and backs off, so a
    /// server that accepts and then drops every connection is not hammered.
    mutating func connectionLost(reason: String, now: UInt64, random: Double) -> Next {
        guard case .ready(let since) = state else { return .nothing }
        if now &- since >= max(1, backoff.initial.wholeMilliseconds) {
            failures = 0
            state = .connecting
            return .connectNow
        }
        state = .connecting
        return attemptFailed(reason: reason, now: now, random: random)
    }

    /// backingOff → connecting.
    mutating func backoffElapsed() -> Bool {
        guard case .backingOff = state else { return false }
        state = .connecting
        return true
    }

    mutating func close() {
        state = .closed
    }
}
