/// The rules of one HTTP/1.1 connection, kept apart from its sockets so that they can be read in
/// one place and tested without them: which request is being answered, whether the connection
/// stays open after it (keep-alive, `Connection: close`, HTTP/1.0, a half-closed peer, shutdown),
/// how a response is framed, when to read, and which deadline runs. The connection reports what
/// happened (a head parsed, a response finished, the peer closed, the clock moved) and performs
/// the action returned; the byte-level parsing stays in `HTTPRequestParser`.
///
/// The methods are `@inlinable`: the connection calls several per request, and a call across
/// the module boundary was measurable on `Benchmarks/http/callgrind.sh`.
public struct HTTP1ConnectionStateMachine: Sendable {
    /// The limits and timeouts the rules depend on.
    public struct Configuration: Sendable {
        /// From a request's first byte to its last, and between body reads (408 after it).
        public var headerTimeoutMilliseconds: UInt64
        /// How long a kept-alive connection may wait for its next request before it is closed.
        public var idleTimeoutMilliseconds: UInt64
        /// Unsent response bytes past which the connection stops reading (a peer that does not
        /// read its answers must not make memory grow).
        public var maxPendingWriteBytes: Int
        /// Buffered unparsed input past which the connection stops reading.
        public var maxBufferedInputBytes: Int

        /// The server's settings for one connection (`ServerConfiguration` fills them in).
        public init(headerTimeoutMilliseconds: UInt64, idleTimeoutMilliseconds: UInt64, maxPendingWriteBytes: Int,
                    maxBufferedInputBytes: Int) {
            self.headerTimeoutMilliseconds = headerTimeoutMilliseconds
            self.idleTimeoutMilliseconds = idleTimeoutMilliseconds
            self.maxPendingWriteBytes = maxPendingWriteBytes
            self.maxBufferedInputBytes = maxBufferedInputBytes
        }
    }

    /// Where the connection is in its request/response cycle.
    /// (No payloads: the request's facts are kept beside it, in `current`, as comparing and
    /// copying an enum with a payload cost ~50 instructions a request.)
    @usableFromInline
    enum State: UInt8, Sendable {
        /// No request has a complete head (none begun, or one partly read).
        case awaitingRequest
        /// A head arrived; its body is being read (`current`).
        case receivingBody
        /// The request (`current`) went to the responder; its response is not finished.
        case responding
        /// No more requests: the connection closes once what is queued has left.
        case closing
        /// Another protocol (WebSocket) owns the stream.
        case upgraded
    }

    /// What the rules keep of the request being read or answered.
    @usableFromInline
    struct Request: Sendable, Equatable {
        @usableFromInline var sequence: Int
        @usableFromInline var isHead: Bool
        @usableFromInline var isHTTP10: Bool
        @usableFromInline var wantsKeepAlive: Bool
        @usableFromInline var bodyLimit: Int
        @usableFromInline var bodyReceived: Int

        @inlinable
        init(sequence: Int, isHead: Bool, isHTTP10: Bool, wantsKeepAlive: Bool, bodyLimit: Int) {
            self.sequence = sequence
            self.isHead = isHead
            self.isHTTP10 = isHTTP10
            self.wantsKeepAlive = wantsKeepAlive
            self.bodyLimit = bodyLimit
            bodyReceived = 0
        }
    }

    /// How a streamed response's body goes on the wire.
    public enum StreamMode: Sendable, Equatable {
        /// `Transfer-Encoding: chunked` (HTTP/1.1 without a Content-Length from the app).
        case chunked
        /// As given: the app set Content-Length, or the body ends with the connection (HTTP/1.0).
        case raw
        /// Nothing: a HEAD request, or a status that has no body (204, 304, 1xx).
        case bodyless
    }

    /// Which deadline runs: the one for a request to arrive, or the one for an idle connection.
    public enum Deadline: Sendable, Equatable {
        /// No deadline: a request is being answered, or the connection is upgraded or closing.
        case none
        /// The request under way must have arrived whole by then (milliseconds on the loop's clock).
        case header(at: UInt64)
        /// The idle connection is closed then unless a next request begins.
        case idle(at: UInt64)
    }

    @usableFromInline let configuration: Configuration
    @usableFromInline var state = State.awaitingRequest
    /// The request being read or answered.
    @usableFromInline var current = Request(sequence: 0, isHead: false, isHTTP10: false, wantsKeepAlive: true, bodyLimit: 0)
    /// How the current response's body is written, once it has begun streaming.
    @usableFromInline var streaming: StreamMode?
    /// Whether the connection stays open after the current response.
    @usableFromInline var keepAlive = true
    /// The client half-closed: answer what it sent, then close.
    @usableFromInline var peerFinished = false
    /// The server is shutting down: every response says `Connection: close`.
    @usableFromInline var shuttingDown = false
    /// Inside a read: what the requests produce leaves in one write at its end (corking).
    @usableFromInline var inRead = false
    @usableFromInline var sequence = 0
    /// What the peer had taken of the responses at the last tick, and when that last grew (or
    /// nothing waited for it): the measure of a peer that has stopped reading.
    @usableFromInline var takenAtLastTick: UInt64 = 0
    @usableFromInline var lastWriteProgress: UInt64
    @usableFromInline var running: Deadline

    /// The deadline now running.
    @inlinable
    public var deadline: Deadline { running }

    /// A new connection: the first request's header deadline starts now.
    @inlinable
    public init(configuration: Configuration, now: UInt64) {
        self.configuration = configuration
        running = .header(at: Self.later(now, by: configuration.headerTimeoutMilliseconds))
        lastWriteProgress = now
    }

    // MARK: Reading

    /// Whether the parser may produce the next request: not while one is being answered (so
    /// responses leave in request order), and never after closing or an upgrade.
    @inlinable
    public var canParse: Bool {
        switch state {
        case .awaitingRequest, .receivingBody: return true
        case .responding, .closing, .upgraded: return false
        }
    }

    /// Whether the connection has been handed to another protocol.
    @inlinable
    public var isUpgraded: Bool { state == .upgraded }

    /// Whether the connection is past answering requests (closing, or upgraded).
    @inlinable
    public var isFinished: Bool {
        switch state {
        case .closing, .upgraded: return true
        default: return false
        }
    }

    /// Bytes arrived: an idle connection has a request in progress, so the header deadline runs.
    @inlinable
    public mutating func readBegan(now: UInt64) {
        inRead = true
        if case .idle = running { setHeaderDeadline(now: now) }
    }

    /// Buffered input is parsed outside a read (after a response, or once the write queue emptied):
    /// responses finished meanwhile wait for its end, as within a read.
    @inlinable
    public mutating func parsingBegan() { inRead = true }

    /// The buffered input's requests are parsed.
    @inlinable
    public mutating func parsingEnded() { inRead = false }

    /// Whether output waits for the end of the parse in progress (one write per read).
    @inlinable
    public var isParsing: Bool { inRead }

    /// The read's requests are parsed. Returns whether the connection still speaks HTTP (false
    /// after an upgrade: the new protocol owns the stream).
    @inlinable
    public mutating func readEnded(now: UInt64, inputPending: Bool) -> Bool {
        inRead = false
        if state == .upgraded { return false }
        nextRequestBegun(now: now, inputPending: inputPending)
        return true
    }

    /// Bytes of the next request already here (pipelined behind the last one, or sent during its
    /// response) are a request in progress: the header timeout (408) runs for them, not the idle
    /// one, which would close the connection silently much later.
    @inlinable
    public mutating func nextRequestBegun(now: UInt64, inputPending: Bool) {
        guard inputPending, state == .awaitingRequest, case .idle = running else { return }
        setHeaderDeadline(now: now)
    }

    /// What a parsed head leads to.
    public enum HeadAction: Sendable, Equatable {
        /// Read the body (if any).
        case readBody
        /// Send `100 Continue` first: the client waits for it before sending its body.
        case sendContinueAndReadBody
        /// Refuse the request: send this status and close.
        case reject(HTTPStatus, reason: String)
    }

    /// A request head was parsed; `bodyLimit` is the most body this request may have.
    @inlinable
    public mutating func headReceived(_ head: borrowing HTTPRequestHead, framing: HTTPRequestParser.BodyFraming,
                                      bodyLimit: Int) -> HeadAction {
        guard state == .awaitingRequest else { return rejected(.internalServerError, reason: "head out of turn") }
        if case .length(let length) = framing, length > bodyLimit {
            return rejected(.payloadTooLarge, reason: "Content-Length \(length) over \(bodyLimit)")
        }
        state = .receivingBody
        current = Request(sequence: 0, isHead: head.method == .head, isHTTP10: head.version == .http1_0,
                          wantsKeepAlive: head.wantsKeepAlive, bodyLimit: bodyLimit)
        if head.expectsContinue, framing != .none, framing != .length(0) { return .sendContinueAndReadBody }
        return .readBody
    }

    /// Body bytes arrived. Returns nil to keep them, or the rejection when they pass the limit.
    @inlinable
    public mutating func bodyReceived(byteCount: Int, now: UInt64) -> HeadAction? {
        guard state == .receivingBody else { return rejected(.internalServerError, reason: "body out of turn") }
        guard byteCount <= current.bodyLimit - current.bodyReceived else {
            return rejected(.payloadTooLarge, reason: "body over \(current.bodyLimit) bytes")
        }
        current.bodyReceived += byteCount
        setHeaderDeadline(now: now)
        return nil
    }

    /// The request is complete: hand it to the responder with this sequence number (which every
    /// later answer for it must carry), or nil if no head was read.
    @inlinable
    public mutating func requestEnded() -> Int? {
        guard state == .receivingBody else { return nil }
        sequence &+= 1
        current.sequence = sequence
        keepAlive = current.wantsKeepAlive && !shuttingDown
        state = .responding
        streaming = nil
        running = .none
        return sequence
    }

    /// The input could not be parsed: the rejection to send.
    @inlinable
    public mutating func parseFailed(_ status: HTTPStatus, reason: String) -> HeadAction {
        rejected(status, reason: reason)
    }

    @inlinable
    mutating func rejected(_ status: HTTPStatus, reason: String) -> HeadAction {
        state = .closing
        keepAlive = false
        running = .none
        return .reject(status, reason: reason)
    }

    /// Whether reading should go on (true), pause (false), or not matter (nil: closing,
    /// upgraded, or the peer has finished sending). Reading pauses while the peer leaves its
    /// answers unread or while pipelined input piles up.
    @inlinable
    public func shouldRead(pendingWriteBytes: Int, bufferedInputBytes: Int) -> Bool? {
        guard !isFinished, !peerFinished else { return nil }
        return pendingWriteBytes <= configuration.maxPendingWriteBytes
            && bufferedInputBytes <= configuration.maxBufferedInputBytes
    }

    // MARK: Answering

    /// Whether `sequence` is the request being answered (an answer for another, or after an
    /// upgrade or a close, is ignored).
    @inlinable
    public func isCurrent(_ sequence: Int) -> Bool {
        state == .responding && current.sequence == sequence
    }

    /// Whether `sequence` is answered and has not begun streaming.
    @inlinable
    public func canStartResponse(_ sequence: Int) -> Bool {
        state == .responding && streaming == nil && current.sequence == sequence
    }

    /// How the server frames the response and which Connection field it adds.
    public struct ResponsePlan: Sendable, Equatable {
        /// Add a Content-Length field for the body (the app did not set one).
        public var addsContentLength: Bool
        /// Add `Transfer-Encoding: chunked`.
        public var addsChunkedEncoding: Bool
        /// Send the body bytes (not for HEAD, 204, 304).
        public var sendsBody: Bool
        /// `Connection: close`, `Connection: keep-alive` (to an HTTP/1.0 client that keeps the
        /// connection), or nothing.
        public var connection: ConnectionField

        /// A plan as given (the state machine makes them; tests compare with them).
        @inlinable
        public init(addsContentLength: Bool, addsChunkedEncoding: Bool, sendsBody: Bool, connection: ConnectionField) {
            self.addsContentLength = addsContentLength
            self.addsChunkedEncoding = addsChunkedEncoding
            self.sendsBody = sendsBody
            self.connection = connection
        }
    }

    /// How a request that could not be read is refused: its short text body, then close.
    public static let refusalPlan = ResponsePlan(addsContentLength: true, addsChunkedEncoding: false, sendsBody: true,
                                                 connection: .close)

    /// The Connection field the server writes.
    public enum ConnectionField: Sendable, Equatable {
        /// No Connection field: HTTP/1.1 keeps the connection open by default.
        case none
        /// `Connection: close`: this response is the connection's last.
        case close
        /// `Connection: keep-alive`, to an HTTP/1.0 client whose connection stays open.
        case keepAlive
    }

    /// The facts of the app's response head that the framing depends on, and whether the body
    /// streams. Call after `canStartResponse`; returns the plan (for a streamed body, also
    /// `streamMode` from then on).
    @inlinable
    public mutating func responseHead(status: HTTPStatus, appSetContentLength: Bool, asksToClose: Bool,
                                      responseIsHTTP10: Bool, streamed: Bool) -> ResponsePlan {
        guard state == .responding, streaming == nil else {
            return ResponsePlan(addsContentLength: false, addsChunkedEncoding: false, sendsBody: false, connection: .close)
        }
        let allowsBody = status.allowsBody
        var plan = ResponsePlan(addsContentLength: false, addsChunkedEncoding: false, sendsBody: false, connection: .none)
        if streamed {
            let mode: StreamMode
            if current.isHead || !allowsBody {
                mode = .bodyless
            } else if !appSetContentLength && !current.isHTTP10 && !responseIsHTTP10 {
                // RFC 9112 §6.1: never chunked to a client that did not say HTTP/1.1.
                mode = .chunked
            } else {
                mode = .raw
                // No length and no chunks: the body ends when the connection does.
                if !appSetContentLength { keepAlive = false }
            }
            plan.addsChunkedEncoding = mode == .chunked
            plan.sendsBody = mode != .bodyless
            streaming = mode
        } else {
            plan.addsContentLength = allowsBody && !appSetContentLength
            plan.sendsBody = allowsBody && !current.isHead
        }
        if !keepAlive || shuttingDown || asksToClose {
            keepAlive = false
            plan.connection = .close
        } else if current.isHTTP10 {
            plan.connection = .keepAlive
        }
        return plan
    }

    /// How a chunk of a streamed body for `sequence` is written, or nil to drop it.
    @inlinable
    public func streamMode(_ sequence: Int) -> StreamMode? {
        guard state == .responding, current.sequence == sequence else { return nil }
        return streaming
    }

    /// What to do once a response has been written in full.
    public enum FinishAction: Sendable, Equatable {
        /// The answer for another request, or one already finished: nothing.
        case ignore
        /// Keep the connection: carry on with pipelined input now (outside a read).
        case continueWithInput
        /// Keep the connection: the read in progress carries on with its input.
        case awaitInput
        /// Close once what is queued has left.
        case closeAfterFlush
    }

    /// A complete (not streamed) response for `sequence` has been written.
    @inlinable
    public mutating func responseFinished(_ sequence: Int, now: UInt64) -> FinishAction {
        guard isCurrent(sequence) else { return .ignore }
        return finish(now: now)
    }

    /// The streamed body of `sequence` ended; the first value says whether to write the last
    /// chunk (`0\r\n\r\n`).
    @inlinable
    public mutating func streamFinished(_ sequence: Int, now: UInt64) -> (writesLastChunk: Bool, then: FinishAction) {
        guard let mode = streamMode(sequence) else { return (false, .ignore) }
        return (mode == .chunked, finish(now: now))
    }

    @inlinable
    mutating func finish(now: UInt64) -> FinishAction {
        guard keepAlive else {
            state = .closing
            running = .none
            return .closeAfterFlush
        }
        state = .awaitingRequest
        running = .idle(at: Self.later(now, by: configuration.idleTimeoutMilliseconds))
        return inRead ? .awaitInput : .continueWithInput
    }

    /// The producer of a streamed body failed: what was sent stays sent, but the body must not
    /// look complete, so there is no last chunk and the connection closes (a chunked client sees
    /// the body cut short; RFC 9112 §8). Returns whether to flush and close.
    @inlinable
    public mutating func streamAborted(_ sequence: Int) -> Bool {
        guard streamMode(sequence) != nil else { return false }
        state = .closing
        keepAlive = false
        running = .none
        return true
    }

    /// The responder switches protocols for `sequence` (after sending 101). Returns whether the
    /// stream is handed over; from then on these rules no longer apply.
    @inlinable
    public mutating func upgraded(_ sequence: Int) -> Bool {
        guard isCurrent(sequence) else { return false }
        state = .upgraded
        running = .none
        return true
    }

    /// What to do after a response or an emptied write queue, when no request is being parsed:
    /// go on with buffered input, close a connection whose peer has finished, or read more.
    public enum PumpAction: Sendable, Equatable {
        /// Nothing more: the connection is finished.
        case nothing
        /// Parse buffered input, then ask again.
        case parseInput
        /// The peer finished and every request is answered: close once the answers have left.
        case closeAfterFlush
        /// Flush and decide about reading.
        case flushAndRead
    }

    /// The next step of a pump; `inputBuffered` tells whether unparsed input waits.
    @inlinable
    public mutating func pump(inputBuffered: Bool, pendingWriteBytes: Int, parsed: Bool) -> PumpAction {
        guard !isFinished else { return .nothing }
        let answering = state == .responding
        if !answering, inputBuffered, !parsed { return .parseInput }
        if peerFinished, !answering, !isFinished, pendingWriteBytes <= configuration.maxPendingWriteBytes {
            state = .closing
            running = .none
            return .closeAfterFlush
        }
        return .flushAndRead
    }

    // MARK: Closing

    /// What the peer's end of input leads to.
    public enum PeerEndAction: Sendable, Equatable {
        /// The read failed (reset): close now.
        case close
        /// Nothing in progress: close once any queued response has left.
        case closeAfterFlush
        /// Requests are buffered or being answered: answer them, then close (half-close, as
        /// `printf ... | nc` does).
        case answerThenClose(pumpNow: Bool)
    }

    /// The peer ended its side of the connection, cleanly or with an error.
    @inlinable
    public mutating func peerEnded(failed: Bool, inputBuffered: Bool) -> PeerEndAction {
        if failed {
            closed()
            return .close
        }
        let answering = state == .responding
        if !answering && !inputBuffered {
            state = .closing
            running = .none
            return .closeAfterFlush
        }
        peerFinished = true
        if !inputBuffered { keepAlive = false }
        return .answerThenClose(pumpNow: !answering)
    }

    /// The connection was closed (by a deadline, a reset, or the server).
    @inlinable
    public mutating func closed() {
        if state != .upgraded { state = .closing }
        running = .none
    }

    /// What a deadline's passing leads to.
    public enum TimerAction: Sendable, Equatable {
        /// Not yet, or not any more: the deadline has not passed, none runs, the request is
        /// being answered, or an idle connection still has bytes to send (its deadline moves on).
        case nothing
        /// The request did not arrive in time: 408, then close.
        case reject(HTTPStatus, reason: String)
        /// Idle too long: close.
        case close
        /// The peer has taken nothing of a waiting response for a header timeout (it stopped
        /// reading): close with a reset, so the kernel drops what is queued for it too.
        case abort
    }

    /// The clock moved (the server's sweep). `unsentBytes` is what waits for the peer to take it
    /// (in the server's queue or the kernel's), `takenBytes` what the peer has taken in all (it
    /// only grows). Whatever the state, a peer that takes nothing of a waiting response for a
    /// header timeout is cut off: a client that never reads would otherwise hold its connection
    /// and its queued responses (a streamed one growing) for as long as it likes. A response
    /// still being taken, however slowly, is not idleness: the idle deadline waits for it.
    @inlinable
    public mutating func tick(now: UInt64, unsentBytes: Int, takenBytes: UInt64) -> TimerAction {
        if !isFinished {
            if unsentBytes == 0 || takenBytes != takenAtLastTick {
                takenAtLastTick = takenBytes
                lastWriteProgress = now
            } else if now >= Self.later(lastWriteProgress, by: configuration.headerTimeoutMilliseconds) {
                closed()
                return .abort
            }
        }
        switch running {
        case .none:
            return .nothing
        case .header(let at):
            guard now >= at, !isFinished, !isCurrentlyAnswering else { return .nothing }
            _ = rejected(.requestTimeout, reason: "request not received in time")
            return .reject(.requestTimeout, reason: "request not received in time")
        case .idle(let at):
            guard now >= at, !isFinished else { return .nothing }
            if unsentBytes > 0 {
                running = .idle(at: Self.later(now, by: configuration.idleTimeoutMilliseconds))
                return .nothing
            }
            closed()
            return .close
        }
    }

    @inlinable
    var isCurrentlyAnswering: Bool {
        state == .responding
    }

    /// What the start of a graceful shutdown does to this connection.
    public enum ShutdownAction: Sendable, Equatable {
        /// A request is in progress: it is answered with `Connection: close`.
        case finishCurrentRequest
        /// Idle, with the last response still leaving: close once it has.
        case closeAfterFlush
        /// Idle: close now.
        case close
    }

    /// The server began shutting down. `inputIdle` says no part of a next request has arrived.
    @inlinable
    public mutating func shutdownBegan(inputIdle: Bool, pendingWriteBytes: Int) -> ShutdownAction {
        shuttingDown = true
        guard state == .awaitingRequest, inputIdle else {
            keepAlive = false
            return .finishCurrentRequest
        }
        if pendingWriteBytes > 0 {
            state = .closing
            running = .none
            return .closeAfterFlush
        }
        closed()
        return .close
    }

    /// A deadline `by` after `now`, never wrapping round to one already past.
    @inlinable
    static func later(_ now: UInt64, by milliseconds: UInt64) -> UInt64 {
        let (sum, overflow) = now.addingReportingOverflow(milliseconds)
        return overflow ? .max : sum
    }

    @inlinable
    mutating func setHeaderDeadline(now: UInt64) {
        running = .header(at: Self.later(now, by: configuration.headerTimeoutMilliseconds))
    }
}
