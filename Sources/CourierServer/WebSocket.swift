import CourierHTTP
import CourierLoop

/// A server-side WebSocket after the handshake. It lives on its connection's loop: callbacks
/// run there, and `send`/`close` called from another thread are carried there by the loop's
/// mailbox. Sends within one loop iteration leave in one write.
public final class WebSocket: LoopConnection, @unchecked Sendable {
    public enum SendResult: Sendable, Equatable {
        /// Queued for the socket.
        case sent
        /// Handed to the connection's loop (called from another thread).
        case forwarded
        /// Not sent: the socket is closing, or the client is not reading (then it is closed, 1008).
        case dropped
    }

    public let loop: EventLoop
    public let subprotocol: String?
    public let isCompressed: Bool

    /// Set these from the upgrade callback (on the loop). Each gets the socket, so a handler
    /// need not capture it.
    public var onText: ((WebSocket, String) -> Void)?
    public var onBinary: ((WebSocket, [UInt8]) -> Void)?
    public var onPong: ((WebSocket, [UInt8]) -> Void)?
    /// Called once: the code the client sent (1005 for none), or 1006 when the connection died.
    public var onClose: ((WebSocket, UInt16, String) -> Void)?
    /// Called when everything queued for this socket has been handed to the kernel: a sender
    /// with a long backlog (a channel replaying held messages) sends while `unsentBytes` is
    /// low and goes on from here, instead of queueing it all and passing the backpressure bound.
    package var onSendDrained: (() -> Void)?

    private let stream: TCPStream
    /// `unowned(unsafe)`, as in HTTPConnection: the loop's bookkeeping outlives its connections.
    private unowned(unsafe) let context: ServerLoop
    private let configuration: WebSocketConfiguration
    private let deflate: PerMessageDeflate?
    private var parser: WebSocketParser
    private var inbound: [UInt8] = []
    private var outbound: [UInt8] = []
    private var flushScheduled = false

    private enum State { case open, closeSent(at: UInt64), closed }
    private var state = State.open
    private var lastReceived: UInt64
    /// How long this connection may be silent before its next ping: the interval plus up to
    /// half of it, drawn anew after each ping. Sockets opened together (a restart, a crowd
    /// joining) are then pinged over a spread of sweeps, not in one: 1,000 pings in one loop
    /// iteration held the loop for about 15 ms on the channel benchmark's machine.
    private var pingDelay: UInt64
    private var pingSentAt: UInt64?
    private var closeReported = false

    public init(upgraded: UpgradedStream, configuration: WebSocketConfiguration, deflate: PerMessageDeflateParameters?,
                subprotocol: String?) {
        stream = upgraded.stream
        loop = upgraded.stream.loop
        context = upgraded.context
        self.configuration = configuration
        self.deflate = deflate.map { PerMessageDeflate(parameters: $0, shared: upgraded.context.sharedDeflateStreams) }
        self.subprotocol = subprotocol
        isCompressed = deflate != nil
        parser = WebSocketParser(maxMessageBytes: configuration.maxMessageBytes, deflate: self.deflate)
        lastReceived = upgraded.stream.loop.now
        pingDelay = Self.pingDelay(configuration)
        inbound = upgraded.leftover
    }

    /// Starts reading; call after setting the callbacks.
    public func start() {
        loop.assertInLoop()
        context.track(self)
        stream.onRead = { [unowned self] bytes in received(bytes) }
        stream.onEnd = { [unowned self] _ in connectionLost() }
        stream.onDrain = { [unowned self] in onSendDrained?() }
        stream.onClose = { [unowned self] in streamClosed() }
        stream.startReading()
        if !inbound.isEmpty {
            let pending = inbound
            inbound = []
            pending.withUnsafeBytes { received($0) }
        }
        // Upgraded by a handler still running when shutdown began: go away at once.
        if context.isShuttingDown { beginShutdown() }
    }

    public var isOpen: Bool {
        if case .open = state { return true }
        return false
    }

    // MARK: Sending

    @discardableResult
    public func send(_ text: String) -> SendResult {
        send(.text, Array(text.utf8))
    }

    @discardableResult
    public func send(binary: [UInt8]) -> SendResult {
        send(.binary, binary)
    }

    /// A text message written straight into the socket's outgoing buffer: `write` appends
    /// exactly `byteCount` bytes of valid UTF-8. For a sender that builds frames from shared
    /// parts (a channel publish delivers one payload to thousands of sockets) and would
    /// otherwise make a String and an array per copy. Call on the socket's loop.
    @discardableResult
    package func sendText(byteCount: Int, _ write: (inout [UInt8]) -> Void) -> SendResult {
        loop.assertInLoop()
        guard case .open = state else { return .dropped }
        if deflate != nil && byteCount >= configuration.compressionThresholdBytes {
            var payload: [UInt8] = []
            payload.reserveCapacity(byteCount)
            write(&payload)
            return send(.text, payload)
        }
        guard !overBackpressureLimit() else { return .dropped }
        WebSocketFrameEncoder.encodeHeader(.text, payloadCount: byteCount, into: &outbound)
        let start = outbound.count
        write(&outbound)
        precondition(outbound.count - start == byteCount, "sendText wrote \(outbound.count - start) bytes, not \(byteCount)")
        scheduleFlush()
        return .sent
    }

    /// Writes what is queued now instead of at the end of the loop iteration, for a sender
    /// that knows nothing more is coming for this socket in this iteration.
    package func flushNow() {
        loop.assertInLoop()
        flush()
    }

    /// Bytes sent on this socket that the kernel has not taken yet.
    package var unsentBytes: Int { stream.pendingWriteBytes + outbound.count }

    /// Makes room for `byteCount` more bytes of frames, for a sender about to write many, so
    /// the buffer grows once rather than doubling its way there.
    package func reserveSendCapacity(_ byteCount: Int) {
        outbound.reserveCapacity(outbound.count + byteCount)
    }

    @discardableResult
    public func ping(_ payload: [UInt8] = []) -> SendResult {
        send(.ping, Array(payload.prefix(125)))
    }

    /// Starts the closing handshake (RFC 6455 §7.1.2).
    public func close(code: UInt16 = WebSocketCloseCode.normal, reason: String = "") {
        guard loop.inEventLoop else {
            loop.execute { [self] in close(code: code, reason: reason) }
            return
        }
        guard case .open = state else { return }
        sendClose(code: code, reason: reason)
    }

    private func send(_ opcode: WebSocketOpcode, _ payload: [UInt8]) -> SendResult {
        guard loop.inEventLoop else {
            loop.execute { [self] in _ = send(opcode, payload) }
            return .forwarded
        }
        guard case .open = state else { return .dropped }
        guard !overBackpressureLimit() else { return .dropped }
        if let deflate, !opcode.isControl, payload.count >= configuration.compressionThresholdBytes {
            WebSocketFrameEncoder.encode(opcode, payload: deflate.compress(payload), compressed: true, into: &outbound)
        } else {
            WebSocketFrameEncoder.encode(opcode, payload: payload, into: &outbound)
        }
        scheduleFlush()
        return .sent
    }

    /// The client is not reading: what waits for it has passed the bound, so it is closed (1008)
    /// rather than let its queue grow.
    private func overBackpressureLimit() -> Bool {
        guard stream.pendingWriteBytes + outbound.count > configuration.maxBackpressureBytes else { return false }
        sendClose(code: WebSocketCloseCode.policyViolation, reason: "client too slow")
        return true
    }

    private func sendClose(code: UInt16?, reason: String) {
        WebSocketFrameEncoder.encode(.close, payload: WebSocketFrameEncoder.closePayload(code: code, reason: reason), into: &outbound)
        state = .closeSent(at: loop.now)
        flush()
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
        guard !outbound.isEmpty, !stream.isClosed else { return }
        stream.write(outbound)
        outbound.removeAll(keepingCapacity: outbound.capacity <= 4096)
    }

    // MARK: Receiving

    private func received(_ bytes: UnsafeRawBufferPointer) {
        lastReceived = loop.now
        pingSentAt = nil
        if inbound.isEmpty {
            let consumed = parse(bytes)
            if consumed < bytes.count, !isFinished {
                inbound.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[consumed...]))
            }
        } else {
            inbound.append(contentsOf: bytes)
            let consumed = inbound.withUnsafeBytes { parse($0) }
            if isFinished { inbound = [] } else { inbound.removeFirst(consumed) }
        }
        if inbound.isEmpty && inbound.capacity > 0 { inbound = [] }
    }

    private var isFinished: Bool {
        if case .closed = state { return true }
        return stream.isClosed
    }

    private func parse(_ input: UnsafeRawBufferPointer) -> Int {
        var offset = 0
        while !isFinished {
            let step: (consumed: Int, message: WebSocketParser.Message?)
            do {
                step = try parser.next(UnsafeRawBufferPointer(rebasing: input[offset...]))
            } catch {
                fail(error)
                return input.count
            }
            offset += step.consumed
            guard let message = step.message else {
                if step.consumed == 0 { break }
                continue
            }
            handle(message)
        }
        return offset
    }

    private func handle(_ message: WebSocketParser.Message) {
        switch message {
        case .text(let text):
            if case .open = state { onText?(self, text) }
        case .binary(let bytes):
            if case .open = state { onBinary?(self, bytes) }
        case .ping(let payload):
            if case .open = state { _ = send(.pong, payload) }
        case .pong(let payload):
            onPong?(self, payload)
        case .close(let code, let reason):
            if case .open = state {
                // Echo the client's code (RFC 6455 §5.5.1), then close the TCP connection first.
                WebSocketFrameEncoder.encode(.close, payload: WebSocketFrameEncoder.closePayload(code: code, reason: ""), into: &outbound)
            }
            state = .closed
            flush()
            reportClose(code ?? 1005, reason)
            closeAfterFlush()
        }
    }

    /// Fails the connection (RFC 6455 §7.1.7): a close frame with the error's code, then close.
    private func fail(_ error: WebSocketProtocolError) {
        context.logger.debug("websocket failed", metadata: ["code": "\(error.code)", "reason": "\(error.reason)"])
        if case .open = state {
            WebSocketFrameEncoder.encode(.close, payload: WebSocketFrameEncoder.closePayload(code: error.code, reason: ""), into: &outbound)
        }
        state = .closed
        flush()
        reportClose(error.code, error.reason)
        closeAfterFlush()
    }

    private func connectionLost() {
        state = .closed
        reportClose(1006, "")
        stream.close()
    }

    private func reportClose(_ code: UInt16, _ reason: String) {
        guard !closeReported else { return }
        closeReported = true
        let callback = onClose
        onClose = nil
        callback?(self, code, reason)
    }

    /// A method, not closure statements: untracking drops the last owning reference, and the
    /// method call keeps `self` alive until it returns.
    private func streamClosed() {
        context.untrack(self)
        reportClose(1006, "")
        releaseCallbacks()
    }

    private func releaseCallbacks() {
        onText = nil
        onBinary = nil
        onPong = nil
        onClose = nil
        onSendDrained = nil
    }

    // MARK: LoopConnection

    public func checkDeadline(now: UInt64) {
        switch state {
        case .closed:
            return
        case .closeSent(let sentAt):
            if now >= sentAt + configuration.closeTimeoutMilliseconds { stream.close() }
        case .open:
            if let pingSentAt {
                if now >= pingSentAt + configuration.pongTimeoutMilliseconds {
                    state = .closed
                    reportClose(1006, "no answer to ping")
                    stream.close()
                }
            } else if now >= lastReceived + pingDelay {
                pingSentAt = now
                pingDelay = Self.pingDelay(configuration)
                _ = send(.ping, [])
            }
        }
    }

    private static func pingDelay(_ configuration: WebSocketConfiguration) -> UInt64 {
        configuration.pingIntervalMilliseconds + UInt64.random(in: 0...configuration.pingIntervalMilliseconds / 2)
    }

    public func beginShutdown() { close(code: WebSocketCloseCode.goingAway, reason: "server shutting down") }

    public func forceClose() { stream.close() }

    /// Sends the close frame and what is queued before it, then closes; a peer that stops
    /// reading is cut off once it has taken nothing for the close timeout.
    private func closeAfterFlush() {
        stream.closeGracefully(lingerMilliseconds: 1_000, stallTimeoutMilliseconds: configuration.closeTimeoutMilliseconds)
    }
}
