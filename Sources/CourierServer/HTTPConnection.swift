import CourierHTTP
import CourierLoop
import Logging

/// One HTTP/1.1 connection: bytes from the stream go through the parser, complete requests go
/// to the responder one at a time (pipelined requests wait their turn, so responses leave in
/// request order), and everything one read produces leaves in one write.
final class HTTPConnection: LoopConnection {
    let stream: TCPStream
    /// `unowned(unsafe)`: the loop's bookkeeping outlives every connection it tracks, and a
    /// checked `unowned` paid a strong retain and release on each of the ~20 uses per request.
    unowned(unsafe) let serverLoop: ServerLoop
    /// The stream's loop, for the methods that run on it (it is alive while they run); the
    /// stream's checked `unowned` costs a retain and release per use.
    private unowned(unsafe) let loop: EventLoop
    /// The loop's responder, held here: called through the unowned server loop, the existential
    /// was copied out and destroyed around each call.
    private let responder: any HTTPResponder
    // @exclusivity(unchecked) on the stored properties: a connection is used only on its loop, never
    // re-entered with an access open; the runtime checks cost 37% more instructions per request
    // (Benchmarks/http/callgrind.sh).
    /// The connection's rules (keep-alive, pipelining, framing, deadlines); this class performs
    /// what they decide.
    @exclusivity(unchecked) private var machine: HTTP1ConnectionStateMachine
    @exclusivity(unchecked) private var parser: HTTPRequestParser
    @exclusivity(unchecked) private var inbound: [UInt8] = []
    /// What this read's requests answered, sent in one write (a `ByteWriter`: appending the
    /// head's pieces to an array cost ~100 instructions each).
    @exclusivity(unchecked) private var outbound = ByteWriter(capacity: 1024)
    /// The request being read, and what the responder planned for it when its head arrived.
    @exclusivity(unchecked) private var head: HTTPRequestHead?
    @exclusivity(unchecked) private var plan = HTTPRequestPlan()
    @exclusivity(unchecked) private var body: [UInt8] = []
    @exclusivity(unchecked) private var cachedRemoteAddress: String?
    /// The peer as a request's source, made with the address: what every request on the
    /// connection has unless a trusted proxy says otherwise.
    @exclusivity(unchecked) private var directSource: RequestSource?
    /// Read once per connection: nobody (the default) means no request's fields are looked at.
    private let trustedProxies: TrustedProxies
    /// Set while parse() dispatches a request: the input after it, for a synchronous upgrade.
    @exclusivity(unchecked) private var unparsedInput: UnsafeRawBufferPointer?

    init(stream: TCPStream, serverLoop: ServerLoop) {
        self.stream = stream
        self.serverLoop = serverLoop
        loop = stream.loop
        responder = serverLoop.responder
        let configuration = serverLoop.configuration
        let (bufferLimit, overflow) = configuration.parserLimits.maxHeaderBytes.addingReportingOverflow(configuration.maxBodyBytes)
        machine = HTTP1ConnectionStateMachine(
            configuration: .init(headerTimeoutMilliseconds: configuration.headerTimeoutMilliseconds,
                                 idleTimeoutMilliseconds: configuration.idleTimeoutMilliseconds,
                                 maxPendingWriteBytes: configuration.maxPendingWriteBytes,
                                 maxBufferedInputBytes: overflow ? .max : bufferLimit),
            now: stream.loop.now)
        parser = HTTPRequestParser(limits: configuration.parserLimits)
        trustedProxies = configuration.trustedProxies
    }

    private var configuration: ServerConfiguration { serverLoop.configuration }

    func start() {
        stream.onRead = { [unowned self] bytes in received(bytes) }
        stream.onEnd = { [unowned self] error in peerEnded(error) }
        stream.onWritesFlushed = { [unowned self] in pump() }
        stream.onClose = { [unowned self] in
            if !machine.isUpgraded { serverLoop.untrack(self) }
        }
        stream.startReading()
    }

    /// Whether part of a next request is here (buffered, or begun in the parser).
    private var inputPending: Bool { !(inbound.isEmpty && parser.isIdle) }

    // MARK: Input

    private func received(_ bytes: UnsafeRawBufferPointer) {
        machine.readBegan(now: loop.now)
        if inbound.isEmpty {
            let consumed = parse(bytes)
            if consumed < bytes.count, !machine.isFinished {
                inbound.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[consumed...]))
            }
        } else {
            inbound.append(contentsOf: bytes)
            parseInbound()
        }
        guard machine.readEnded(now: loop.now, inputPending: inputPending) else { return }
        flush()
        updateReading()
    }

    private func parseInbound() {
        guard !inbound.isEmpty else { return }
        let consumed = inbound.withUnsafeBytes { parse($0) }
        if machine.isFinished {
            inbound = []
        } else if consumed > 0 {
            inbound.removeFirst(consumed)
        }
    }

    /// Parses requests from `input` until one is awaiting its response or input runs out, and
    /// returns how many bytes it consumed.
    private func parse(_ input: UnsafeRawBufferPointer) -> Int {
        var offset = 0
        while machine.canParse {
            // The event is taken apart once and its head moved along: holding it in a tuple and
            // an optional binding made copies and destroys of the head per request.
            let consumed: Int
            let event: HTTPRequestParser.Event?
            do {
                (consumed, event) = try parser.next(UnsafeRawBufferPointer(rebasing: input[offset...]))
            } catch {
                perform(machine.parseFailed(error.status, reason: error.reason))
                return input.count
            }
            offset += consumed
            switch consume event {
            case nil:
                if consumed == 0 { return offset }
            case .head(let requestHead, let framing)?:
                plan = responder.plan(for: requestHead)
                let action = machine.headReceived(requestHead, framing: framing,
                                                  bodyLimit: plan.maxBodyBytes ?? configuration.maxBodyBytes)
                guard perform(action) else { return input.count }
                head = consume requestHead
                body = []
            case .body(let bytes)?:
                if let rejection = machine.bodyReceived(byteCount: bytes.count, now: loop.now) {
                    perform(rejection)
                    return input.count
                }
                body.append(contentsOf: bytes)
            case .end?:
                unparsedInput = UnsafeRawBufferPointer(rebasing: input[offset...])
                dispatch()
                unparsedInput = nil
                // A peer pipelining requests without reading the answers must not make one read
                // produce unbounded output: the rest waits in `inbound` until onWritesFlushed pumps it.
                if outbound.count > configuration.maxPendingWriteBytes {
                    flush()
                    if stream.pendingWriteBytes > configuration.maxPendingWriteBytes { return offset }
                }
            }
        }
        return offset
    }

    /// Performs a head's action; false when the request was refused.
    @discardableResult
    private func perform(_ action: HTTP1ConnectionStateMachine.HeadAction) -> Bool {
        switch action {
        case .readBody:
            return true
        case .sendContinueAndReadBody:
            outbound.append(staticText: "HTTP/1.1 100 Continue\r\n\r\n")
            return true
        case .reject(let status, let reason):
            reject(status, reason: reason)
            return false
        }
    }

    private func dispatch() {
        // Swapped out of the optional, not copied from it (a copy went through outlined copy functions).
        var taken: HTTPRequestHead?
        swap(&taken, &head)
        guard let requestHead = consume taken, let sequence = machine.requestEnded() else { return }
        if cachedRemoteAddress == nil {
            cachedRemoteAddress = stream.remoteAddress
            directSource = RequestSource(peer: cachedRemoteAddress!)
        }
        // Swapped out, not copied: the plan's strings and dictionary then need no retain.
        var requestPlan = HTTPRequestPlan()
        swap(&requestPlan, &plan)
        let source = trustedProxies.isEmpty ? directSource!
            : RequestSource(peer: cachedRemoteAddress!, headers: requestHead.headers, trusting: trustedProxies)
        let request = HTTPServerRequest(head: requestHead, body: body, remoteAddress: cachedRemoteAddress!, loop: loop,
                                        plan: requestPlan, source: source)
        body = []
        responder.respond(to: request, writer: HTTPResponseWriter(connection: self, sequence: sequence))
    }

    private func peerEnded(_ error: UVError?) {
        switch machine.peerEnded(failed: error != nil, inputBuffered: !inbound.isEmpty) {
        case .close:
            stream.close()
        case .closeAfterFlush:
            // A response may still be queued: it goes out before the close.
            closeAfterFlush()
        case .answerThenClose(let pumpNow):
            // The client half-closed after its requests (`printf ... | nc`): answer every one it
            // sent, then close (pump closes once nothing complete is left).
            if pumpNow { pump() }
        }
    }

    // MARK: Output

    private func canStartResponse(_ sequence: Int) -> Bool {
        machine.canStartResponse(sequence) && !stream.isClosed
    }

    func respond(sequence: Int, head responseHead: HTTPResponseHead, body responseBody: [UInt8]) {
        guard canStartResponse(sequence) else { return }
        let plan = writeHead(responseHead, streamed: false, contentLength: responseBody.count)
        if plan.sendsBody { outbound.append(responseBody) }
        perform(machine.responseFinished(sequence, now: loop.now))
    }

    func startStreaming(sequence: Int, head responseHead: HTTPResponseHead) {
        guard canStartResponse(sequence) else { return }
        writeHead(responseHead, streamed: true, contentLength: 0)
        flushUnlessParsing()
    }

    func writeChunk(sequence: Int, bytes: [UInt8]) {
        guard !stream.isClosed, let mode = machine.streamMode(sequence) else { return }
        bytes.withUnsafeBytes { raw in
            switch mode {
            case .chunked: HTTPResponseSerializer.writeChunk(raw, into: &outbound)
            case .raw: outbound.append(raw)
            case .bodyless: break
            }
        }
        flushUnlessParsing()
    }

    func finishStreaming(sequence: Int) {
        guard !stream.isClosed else { return }
        let (writesLastChunk, then) = machine.streamFinished(sequence, now: loop.now)
        if writesLastChunk { HTTPResponseSerializer.writeLastChunk(into: &outbound) }
        perform(then)
    }

    func abortStreaming(sequence: Int) {
        guard !stream.isClosed, machine.streamAborted(sequence) else { return }
        flush()
        closeAfterFlush()
    }

    func upgrade(sequence: Int, head responseHead: HTTPResponseHead,
                 takeOver: @escaping @Sendable (UpgradedStream) -> Void) {
        guard !stream.isClosed, machine.upgraded(sequence) else { return }
        HTTPResponseSerializer.writeHead(responseHead, into: &outbound)
        flush()
        // A synchronous handler upgrades from inside parse(): the bytes after the request are
        // then parse's unconsumed input (which may be `inbound` itself; parseInbound clears it).
        let leftover = unparsedInput.map { Array($0) } ?? inbound
        if unparsedInput == nil { inbound = [] }
        stream.onRead = nil
        stream.onEnd = nil
        stream.onWritesFlushed = nil
        stream.onClose = nil
        stream.stopReading()
        takeOver(UpgradedStream(stream: stream, leftover: leftover, serverLoop: serverLoop))
        // After the new protocol has tracked itself: untracking first could leave a stopping
        // loop with no connections, so it would stop under the upgraded one.
        serverLoop.untrack(self)
    }

    /// Writes the status line, the app's headers but Connection, then the fields the rules
    /// decide: the one place a response head gets Content-Length, Transfer-Encoding, Date and
    /// Connection (a refusal's head comes through here too).
    @discardableResult
    private func writeHead(_ responseHead: HTTPResponseHead, streamed: Bool, contentLength: Int) -> HTTP1ConnectionStateMachine.ResponsePlan {
        let facts = HTTPResponseSerializer.writeServerHead(responseHead, into: &outbound)
        let plan = machine.responseHead(status: responseHead.status, appSetContentLength: facts.hasContentLength,
                                        asksToClose: facts.asksToClose, responseIsHTTP10: responseHead.version == .http1_0,
                                        streamed: streamed)
        writeServerFields(plan, contentLength: contentLength)
        return plan
    }

    private func writeServerFields(_ plan: HTTP1ConnectionStateMachine.ResponsePlan, contentLength: Int) {
        if plan.addsContentLength {
            outbound.append(staticText: "Content-Length: ")
            outbound.appendDecimal(contentLength)
            outbound.append(staticText: "\r\n")
        }
        if plan.addsChunkedEncoding { outbound.append(staticText: "Transfer-Encoding: chunked\r\n") }
        outbound.append(serverLoop.dateCache.current())
        switch plan.connection {
        case .close: outbound.append(staticText: "Connection: close\r\n")
        case .keepAlive: outbound.append(staticText: "Connection: keep-alive\r\n")
        case .none: break
        }
        outbound.append(staticText: "\r\n")
    }

    private func perform(_ action: HTTP1ConnectionStateMachine.FinishAction) {
        switch action {
        case .ignore, .awaitInput:
            break
        case .closeAfterFlush:
            flush()
            closeAfterFlush()
        case .continueWithInput:
            pump()
            machine.nextRequestBegun(now: loop.now, inputPending: inputPending)
        }
    }

    /// Sends an error status for a request that could not be read (the rules have already
    /// marked the connection closing), then closes.
    private func reject(_ status: HTTPStatus, reason: String) {
        serverLoop.logger.debug("rejected request", metadata: ["status": "\(status.code)", "reason": "\(reason)"])
        var head = HTTPResponseHead(status: status)
        head.headers.add("Content-Type", "text/plain; charset=utf-8")
        let text = Array("\(status.code) \(status.reasonPhrase)\n".utf8)
        _ = HTTPResponseSerializer.writeServerHead(head, into: &outbound)
        writeServerFields(HTTP1ConnectionStateMachine.refusalPlan, contentLength: text.count)
        outbound.append(text)
        flush()
        closeAfterFlush()
    }

    private func flushUnlessParsing() {
        if !machine.isParsing { flush() }
    }

    private func flush() {
        guard !outbound.isEmpty, !stream.isClosed else { return }
        stream.write(outbound.bytes)
        outbound.removeAll(retainedCapacity: 64 * 1024)
    }

    /// Continues with pipelined input after a response or an emptied write queue.
    private func pump() {
        guard !stream.isClosed else { return }
        var parsed = false
        while true {
            switch machine.pump(inputBuffered: !inbound.isEmpty, pendingWriteBytes: stream.pendingWriteBytes, parsed: parsed) {
            case .nothing:
                flush()
                return
            case .parseInput:
                machine.parsingBegan()
                parseInbound()
                machine.parsingEnded()
                parsed = true
            case .closeAfterFlush:
                flush()
                closeAfterFlush()
                return
            case .flushAndRead:
                flush()
                updateReading()
                return
            }
        }
    }

    /// Reads only while the peer reads what we send and pipelined input stays bounded.
    private func updateReading() {
        guard !stream.isClosed,
              let shouldRead = machine.shouldRead(pendingWriteBytes: stream.pendingWriteBytes, bufferedInputBytes: inbound.count)
        else { return }
        if shouldRead { stream.startReading() } else { stream.stopReading() }
    }

    // MARK: Deadlines and shutdown

    /// Checked at every sweep: its deadlines move with every request.
    var nextDeadline: UInt64? { nil }

    func checkDeadline(now: UInt64) {
        let delivery = stream.delivery()
        switch machine.tick(now: now, unsentBytes: delivery.waiting, takenBytes: delivery.taken) {
        case .nothing: break
        case .reject(let status, let reason): reject(status, reason: reason)
        case .close: stream.close()
        case .abort:
            serverLoop.logger.debug("peer stopped reading", metadata: ["unsent": "\(delivery.waiting)"])
            stream.closeAbortively()
        }
    }

    func beginShutdown() {
        switch machine.shutdownBegan(inputIdle: !inputPending, pendingWriteBytes: stream.pendingWriteBytes) {
        case .finishCurrentRequest: break
        case .closeAfterFlush: closeAfterFlush()
        case .close: stream.close()
        }
    }

    func forceClose() {
        machine.closed()
        stream.close()
    }

    /// Sends what is queued, then closes; a peer that stops reading is cut off once it has
    /// taken nothing for a header timeout.
    private func closeAfterFlush() {
        stream.closeGracefully(stallTimeoutMilliseconds: configuration.headerTimeoutMilliseconds)
    }
}
