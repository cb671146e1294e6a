public import CourierHTTP
public import CourierLoop

/// A server-side WebSocket after the handshake. It lives on its connection's loop: callbacks
/// run there, and `send`/`close` called from another thread are carried there by the loop's
/// mailbox. Sends within one loop iteration leave in one write.
// @unchecked Sendable: every mutable stored property is used only on `loop`: the callbacks
// refuse to be set elsewhere, and `send`/`close` from another thread are carried to the loop.
public final class WebSocket: LoopConnection, @unchecked Sendable {
    /// What became of a send. Backpressure is reported here, not thrown.
    public enum SendResult: Sendable, Equatable {
        /// Queued for the socket.
        case sent
        /// Handed to the connection's loop (called from another thread).
        case forwarded
        /// Not sent: the socket is closing, or the client is not reading (then it is closed, 1008).
        case dropped
    }

    /// The loop the socket lives on: callbacks run here and must be set here.
    public let loop: EventLoop
    /// The subprotocol agreed in the handshake, or nil when none was.
    public let subprotocol: String?
    /// Whether permessage-deflate was agreed for this connection.
    public let isCompressed: Bool

    /// Set these from the upgrade callback, or later on the socket's loop (setting one from
    /// another thread is a programming error and traps: the loop reads them without a lock).
    /// Each gets the socket, so a handler need not capture it.
    public var onText: ((WebSocket, String) -> Void)? { willSet { confined() } }
    /// A binary message arrived.
    public var onBinary: ((WebSocket, [UInt8]) -> Void)? { willSet { confined() } }
    /// A pong arrived (an answer to `ping`, or unsolicited).
    public var onPong: ((WebSocket, [UInt8]) -> Void)? { willSet { confined() } }
    /// Called once: the code the client sent (1005 for none), or 1006 when the connection died.
    public var onClose: ((WebSocket, UInt16, String) -> Void)? { willSet { confined() } }
    /// Called when everything queued for this socket has been handed to the kernel: a sender
    /// with a long backlog (a channel replaying held messages) sends while `unsentBytes` is
    /// low and goes on from here, instead of queueing it all and passing the backpressure bound.
    package var onWritesFlushed: (() -> Void)? { willSet { confined() } }

    private func confined() {
        precondition(loop.inEventLoop, "a WebSocket's callbacks are set on its loop (\(loop.name))")
    }

    private let stream: TCPStream
    /// `unowned(unsafe)`, as in HTTPConnection: the loop's bookkeeping outlives its connections.
    private unowned(unsafe) let serverLoop: ServerLoop
    private let configuration: WebSocketConfiguration
    private let deflate: PerMessageDeflate?
    private var parser: WebSocketParser
    private var inbound: [UInt8] = []
    private var outbound: [UInt8] = []
    private var flushScheduled = false
    /// The protocol's state: this class performs the actions it answers with.
    private var machine: WebSocketStateMachine

    package init(upgraded: UpgradedStream, configuration: WebSocketConfiguration, deflate: PerMessageDeflateParameters?,
                subprotocol: String?) {
        stream = upgraded.stream
        loop = upgraded.stream.loop
        serverLoop = upgraded.serverLoop
        self.configuration = configuration
        self.deflate = deflate.map { PerMessageDeflate(parameters: $0, shared: upgraded.serverLoop.sharedDeflateStreams) }
        self.subprotocol = subprotocol
        isCompressed = deflate != nil
        parser = WebSocketParser(maxMessageBytes: configuration.maxMessageBytes, deflate: self.deflate)
        machine = WebSocketStateMachine(pingIntervalMilliseconds: configuration.pingIntervalMilliseconds,
                                        pongTimeoutMilliseconds: configuration.pongTimeoutMilliseconds,
                                        closeTimeoutMilliseconds: configuration.closeTimeoutMilliseconds,
                                        maxBackpressureBytes: configuration.maxBackpressureBytes, now: upgraded.stream.loop.now)
        inbound = upgraded.leftover
    }

    /// Starts reading; call after setting the callbacks.
    package func start() {
        loop.assertInLoop()
        serverLoop.track(self)
        serverLoop.metrics?.webSocketsOpen.increment()
        stream.onRead = { [unowned self] bytes in received(bytes) }
        stream.onEnd = { [unowned self] _ in connectionLost() }
        stream.onWritesFlushed = { [unowned self] in onWritesFlushed?() }
        stream.onClose = { [unowned self] in streamClosed() }
        stream.startReading()
        if !inbound.isEmpty {
            let pending = inbound
            inbound = []
            pending.withUnsafeBytes { received($0) }
        }
        // Upgraded by a handler still running when shutdown began: go away at once.
        if serverLoop.isShuttingDown { beginShutdown() }
    }

    /// False once a close frame was sent or received or the connection died: sends are then dropped. Read on the loop.
    public var isOpen: Bool { machine.isOpen }

    // MARK: Sending

    /// Sends a text message, from any thread (compressed when the connection is and the message is long enough). `.dropped` when closing or over the backpressure bound.
    @discardableResult
    public func send(_ text: String) -> SendResult {
        send(.text, Array(text.utf8))
    }

    /// Sends a binary message, from any thread; as `send(_:)` for text.
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
        guard machine.isOpen else { return .dropped }
        if deflate != nil && byteCount >= configuration.compressionThresholdBytes {
            var payload: [UInt8] = []
            payload.reserveCapacity(byteCount)
            write(&payload)
            return send(.text, payload)
        }
        guard mayQueue() else { return .dropped }
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

    /// Sends a ping (payload cut to 125 bytes); the answer arrives through `onPong`. The server already pings silent connections itself.
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
        perform(machine.closeRequested(code: code, reason: reason, now: loop.now))
    }

    private func send(_ opcode: WebSocketOpcode, _ payload: [UInt8]) -> SendResult {
        guard loop.inEventLoop else {
            loop.execute { [self] in _ = send(opcode, payload) }
            return .forwarded
        }
        guard mayQueue() else { return .dropped }
        if let deflate, !opcode.isControl, payload.count >= configuration.compressionThresholdBytes {
            WebSocketFrameEncoder.encode(opcode, payload: deflate.compress(payload), compressed: true, into: &outbound)
        } else {
            WebSocketFrameEncoder.encode(opcode, payload: payload, into: &outbound)
        }
        scheduleFlush()
        return .sent
    }

    /// Whether a frame may be queued: not once closing, and not for a client that has stopped
    /// reading (the machine closes it, 1008).
    private func mayQueue() -> Bool {
        switch machine.sendRequested(unsentBytes: unsentBytes, now: loop.now) {
        case .send:
            return true
        case .drop:
            return false
        case .dropAndClose(let frame):
            perform(.sendClose(frame))
            return false
        }
    }

    private func queueClose(_ frame: WebSocketStateMachine.CloseFrame) {
        WebSocketFrameEncoder.encode(.close, payload: WebSocketFrameEncoder.closePayload(code: frame.code, reason: frame.reason),
                                     into: &outbound)
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
        machine.receivedData(now: loop.now)
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

    private var isFinished: Bool { machine.isClosed || stream.isClosed }

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
            perform(machine.received(message))
        }
        return offset
    }

    /// Fails the connection (RFC 6455 §7.1.7).
    private func fail(_ error: WebSocketProtocolError) {
        serverLoop.logger.debug("websocket failed", metadata: ["code": "\(error.code)", "reason": "\(error.reason)"])
        perform(machine.protocolError(error))
    }

    private func connectionLost() {
        perform(machine.connectionLost())
    }

    /// A method, not closure statements: untracking drops the last owning reference, and the
    /// method call keeps `self` alive until it returns.
    private func streamClosed() {
        serverLoop.metrics?.webSocketsOpen.decrement()
        serverLoop.untrack(self)
        perform(machine.streamClosed())
        releaseCallbacks()
    }

    private func releaseCallbacks() {
        onText = nil
        onBinary = nil
        onPong = nil
        onClose = nil
        onWritesFlushed = nil
    }

    // MARK: LoopConnection

    package func checkDeadline(now: UInt64) {
        perform(machine.tick(now: now))
    }

    package var nextDeadline: UInt64? { machine.nextDeadline }

    package func beginShutdown() {
        guard loop.inEventLoop else {
            loop.execute { [self] in beginShutdown() }
            return
        }
        perform(machine.shutdownBegan(now: loop.now))
    }

    package func forceClose() { stream.close() }

    /// Sends the close frame and what is queued before it, then closes; a peer that stops
    /// reading is cut off once it has taken nothing for the close timeout.
    private func closeAfterFlush() {
        stream.closeGracefully(lingerMilliseconds: 1_000, stallTimeoutMilliseconds: configuration.closeTimeoutMilliseconds)
    }

    // MARK: Performing the machine's actions

    private func perform(_ action: WebSocketStateMachine.Action) {
        switch action {
        case .none:
            break
        case .deliverText(let text):
            onText?(self, text)
        case .deliverBinary(let bytes):
            onBinary?(self, bytes)
        case .deliverPong(let payload):
            onPong?(self, payload)
        case .sendPong(let payload):
            _ = send(.pong, payload)
        case .sendPing:
            _ = send(.ping, [])
        case .sendClose(let frame):
            queueClose(frame)
            flush()
            // The close timeout now runs: sooner, maybe, than the ping the loop expected.
            serverLoop.reschedule(self)
        case .finish(let frame, let close):
            if let frame { queueClose(frame) }
            flush()
            if let close { report(close) }
            closeAfterFlush()
        case .closeStream(let close):
            if let close { report(close) }
            stream.close()
        case .report(let close):
            report(close)
        }
    }

    private func report(_ close: WebSocketStateMachine.CloseReport) {
        let callback = onClose
        onClose = nil
        callback?(self, close.code, close.reason)
    }
}
