/// The RFC 6455 state of one server-side WebSocket, kept apart from its socket: the connection
/// feeds it events (bytes arrived, a message parsed, a sweep of the clock, the app closing) and
/// performs the actions it answers with. With no I/O inside, every transition is tested alone,
/// against a clock the test sets and a seeded ping jitter.
package struct WebSocketStateMachine {
    private enum State {
        /// When the client last sent anything, and the ping still waiting for an answer: only an
        /// open connection is pinged, so the rest of the liveness bookkeeping lives here.
        case open(lastReceived: UInt64, pingSentAt: UInt64?)
        /// Our close frame is out; the client has the close timeout to answer with its own.
        case closeSent(at: UInt64)
        /// Nothing the client sends means anything any more.
        case closed
    }

    private let pingInterval: UInt64
    private let pongTimeout: UInt64
    private let closeTimeout: UInt64
    private let maxBackpressureBytes: Int
    private var state: State
    /// How long this connection may be silent before its next ping: the interval plus up to half
    /// of it, drawn anew after each ping. Sockets opened together (a restart, a crowd joining)
    /// are then pinged over a spread of sweeps, not in one: 1,000 pings in one loop iteration
    /// held the loop for about 15 ms on the channel benchmark's machine.
    private var pingDelay: UInt64 = 0
    private var jitter: SplitMix64
    /// The app hears of the close once, whichever of the paths to it comes first.
    private var closeReported = false

    /// Times are milliseconds on the connection's loop clock. `seed` draws the ping jitter: the
    /// default is random, a test passes one so the ping schedule is reproducible.
    package init(pingIntervalMilliseconds: UInt64, pongTimeoutMilliseconds: UInt64, closeTimeoutMilliseconds: UInt64,
                 maxBackpressureBytes: Int, now: UInt64, seed: UInt64 = .random(in: .min ... .max)) {
        pingInterval = pingIntervalMilliseconds
        pongTimeout = pongTimeoutMilliseconds
        closeTimeout = closeTimeoutMilliseconds
        self.maxBackpressureBytes = maxBackpressureBytes
        state = .open(lastReceived: now, pingSentAt: nil)
        jitter = SplitMix64(seed: seed)
        pingDelay = drawPingDelay()
    }

    /// Messages may still be sent and delivered: neither side has begun the close.
    package var isOpen: Bool {
        if case .open = state { return true }
        return false
    }

    /// Past the close handshake: the connection stops parsing what the client still sends.
    package var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    // MARK: Receiving

    /// Any bytes at all prove the client alive, a pong or not: the ping clock starts over.
    package mutating func receivedData(now: UInt64) {
        guard case .open = state else { return }
        state = .open(lastReceived: now, pingSentAt: nil)
    }

    /// A whole message parsed. Once our close is out only the client's close (and a pong, which
    /// is harmless) still counts; data and pings are dropped unanswered (RFC 6455 §1.4).
    package mutating func received(_ message: WebSocketParser.Message) -> Action {
        switch (state, message) {
        case (.closed, _):
            return .none
        case (.open, .text(let text)):
            return .deliverText(text)
        case (.open, .binary(let bytes)):
            return .deliverBinary(bytes)
        case (.open, .ping(let payload)):
            return .sendPong(payload)
        case (_, .pong(let payload)):
            return .deliverPong(payload)
        case (.closeSent, .text), (.closeSent, .binary), (.closeSent, .ping):
            return .none
        case (.open, .close(let code, let reason)):
            // Echo the client's code (RFC 6455 §5.5.1); the server closes the TCP connection first.
            state = .closed
            return .finish(sending: CloseFrame(code: code, reason: ""), report: report(code ?? 1005, reason))
        case (.closeSent, .close(let code, let reason)):
            state = .closed
            return .finish(sending: nil, report: report(code ?? 1005, reason))
        }
    }

    /// Fails the connection (RFC 6455 §7.1.7): a close frame with the error's code unless ours
    /// is already out, and the app hears the error's reason, which never goes on the wire.
    package mutating func protocolError(_ error: WebSocketProtocolError) -> Action {
        switch state {
        case .open:
            state = .closed
            return .finish(sending: CloseFrame(code: error.code, reason: ""), report: report(error.code, error.reason))
        case .closeSent:
            state = .closed
            return .finish(sending: nil, report: report(error.code, error.reason))
        case .closed:
            return .none
        }
    }

    /// The client hung up or the read failed: no handshake is possible any more.
    package mutating func connectionLost() -> Action {
        state = .closed
        return .closeStream(report: report(1006, ""))
    }

    /// The socket is gone, by whatever path: the app hears 1006 unless it heard the close already.
    package mutating func streamClosed() -> Action {
        state = .closed
        return report(1006, "").map { .report($0) } ?? .none
    }

    // MARK: Sending

    /// Asked before each frame is queued. A client whose unsent bytes have passed the bound is
    /// not reading: it is closed (1008) rather than let its queue grow.
    package mutating func sendRequested(unsentBytes: Int, now: UInt64) -> SendDecision {
        guard case .open = state else { return .drop }
        guard unsentBytes > maxBackpressureBytes else { return .send }
        let frame = CloseFrame(code: WebSocketCloseCode.policyViolation, reason: "client too slow")
        state = .closeSent(at: now)
        return .dropAndClose(frame)
    }

    /// Starts the closing handshake (RFC 6455 §7.1.2); only the first request sends a frame.
    package mutating func closeRequested(code: UInt16, reason: String, now: UInt64) -> Action {
        guard case .open = state else { return .none }
        state = .closeSent(at: now)
        return .sendClose(CloseFrame(code: code, reason: reason))
    }

    /// The server is stopping: clients are told to go away (1001) and may reconnect elsewhere.
    package mutating func shutdownBegan(now: UInt64) -> Action {
        closeRequested(code: WebSocketCloseCode.goingAway, reason: "server shutting down", now: now)
    }

    // MARK: Time

    /// The connection's periodic sweep: pings a silent client, gives up on one that never
    /// answered, and cuts a client that never answered our close.
    package mutating func tick(now: UInt64) -> Action {
        switch state {
        case .closed:
            return .none
        case .closeSent(let sentAt):
            guard now >= Self.later(sentAt, by: closeTimeout) else { return .none }
            state = .closed
            return .closeStream(report: nil)
        case .open(_, let pingSentAt?):
            guard now >= Self.later(pingSentAt, by: pongTimeout) else { return .none }
            state = .closed
            return .closeStream(report: report(1006, "no answer to ping"))
        case .open(let lastReceived, nil):
            guard now >= Self.later(lastReceived, by: pingDelay) else { return .none }
            state = .open(lastReceived: lastReceived, pingSentAt: now)
            pingDelay = drawPingDelay()
            return .sendPing
        }
    }

    /// When `tick` can next have something to do: a loop with many idle sockets checks each
    /// only then.
    package var nextDeadline: UInt64 {
        switch state {
        case .closed: .max
        case .closeSent(let sentAt): Self.later(sentAt, by: closeTimeout)
        case .open(_, let pingSentAt?): Self.later(pingSentAt, by: pongTimeout)
        case .open(let lastReceived, nil): Self.later(lastReceived, by: pingDelay)
        }
    }

    // MARK: Helpers

    /// The close to report, or nil when the app has heard of it already.
    private mutating func report(_ code: UInt16, _ reason: String) -> CloseReport? {
        guard !closeReported else { return nil }
        closeReported = true
        return CloseReport(code: code, reason: reason)
    }

    private mutating func drawPingDelay() -> UInt64 {
        Self.later(pingInterval, by: UInt64.random(in: 0...pingInterval / 2, using: &jitter))
    }

    /// `time` plus `delay`, saturating: a setting or clock near UInt64.max (pings off, in effect)
    /// trapped here on every upgrade or sweep (found by fuzzing).
    private static func later(_ time: UInt64, by delay: UInt64) -> UInt64 {
        let (sum, overflow) = time.addingReportingOverflow(delay)
        return overflow ? .max : sum
    }
}

/// Sebastiano Vigna's SplitMix64: a few operations per draw, and the same draws for the same seed.
private struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
