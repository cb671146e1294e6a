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
    unowned(unsafe) let context: ServerLoop
    /// The stream's loop, for the methods that run on it (it is alive while they run); the
    /// stream's checked `unowned` costs a retain and release per use.
    private unowned(unsafe) let loop: EventLoop
    /// The loop's responder, held here: called through the unowned context, the existential was
    /// copied out and destroyed around each call.
    private let responder: any HTTPResponder
    // @exclusivity(unchecked) on the stored properties: a connection is used only on its loop, never
    // re-entered with an access open; the runtime checks cost 37% more instructions per request
    // (Benchmarks/http/callgrind.sh), which the project's unsafe flag used to remove for all.
    @exclusivity(unchecked) private var parser: HTTPRequestParser
    @exclusivity(unchecked) private var inbound: [UInt8] = []
    /// What this read's requests answered, sent in one write (a `ByteWriter`: appending the
    /// head's pieces to an array cost ~100 instructions each).
    @exclusivity(unchecked) private var outbound = ByteWriter(capacity: 1024)

    @exclusivity(unchecked) private var head: HTTPRequestHead?
    @exclusivity(unchecked) private var body: [UInt8] = []
    @exclusivity(unchecked) private var bodyLimit = 0
    @exclusivity(unchecked) private var sequence = 0
    @exclusivity(unchecked) private var responding = false
    @exclusivity(unchecked) private var isHeadRequest = false
    @exclusivity(unchecked) private var keepAlive = true
    @exclusivity(unchecked) private var streaming: (chunked: Bool, bodyless: Bool)?
    @exclusivity(unchecked) private var parsing = false
    @exclusivity(unchecked) private var closing = false
    @exclusivity(unchecked) private var upgraded = false
    @exclusivity(unchecked) private var peerFinished = false
    @exclusivity(unchecked) private var cachedRemoteAddress: String?
    /// Set while parse() dispatches a request: the input after it, for a synchronous upgrade.
    @exclusivity(unchecked) private var unparsedInput: UnsafeRawBufferPointer?

    private enum Deadline { case none, header, idle }
    @exclusivity(unchecked) private var deadlineKind = Deadline.header
    @exclusivity(unchecked) private var deadline: UInt64 = 0

    init(stream: TCPStream, context: ServerLoop) {
        self.stream = stream
        self.context = context
        loop = stream.loop
        responder = context.responder
        parser = HTTPRequestParser(limits: context.configuration.parserLimits)
    }

    private var configuration: ServerConfiguration { context.configuration }

    func start() {
        stream.onRead = { [unowned self] bytes in received(bytes) }
        stream.onEnd = { [unowned self] error in peerEnded(error) }
        stream.onDrain = { [unowned self] in pump() }
        stream.onClose = { [unowned self] in
            if !upgraded { context.untrack(self) }
        }
        setDeadline(.header)
        stream.startReading()
    }

    // MARK: Input

    private func received(_ bytes: UnsafeRawBufferPointer) {
        if deadlineKind == .idle { setDeadline(.header) }
        parsing = true
        if inbound.isEmpty {
            let consumed = parse(bytes)
            if consumed < bytes.count, !closing, !upgraded {
                inbound.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[consumed...]))
            }
        } else {
            inbound.append(contentsOf: bytes)
            parseInbound()
        }
        parsing = false
        if upgraded { return }
        timeNextRequest()
        flush()
        updateReading()
    }

    /// Bytes of the next request already here (pipelined behind the last one, or sent during
    /// its response) are a request in progress: the header timeout (408) runs for them, not
    /// the idle one, which would close the connection silently much later.
    private func timeNextRequest() {
        guard !responding, !closing, deadlineKind == .idle, !(inbound.isEmpty && parser.isIdle) else { return }
        setDeadline(.header)
    }

    private func parseInbound() {
        guard !inbound.isEmpty else { return }
        let consumed = inbound.withUnsafeBytes { parse($0) }
        if closing || upgraded {
            inbound = []
        } else if consumed > 0 {
            inbound.removeFirst(consumed)
        }
    }

    /// Parses requests from `input` until one is awaiting its response or input runs out, and
    /// returns how many bytes it consumed.
    private func parse(_ input: UnsafeRawBufferPointer) -> Int {
        var offset = 0
        while !responding, !closing, !upgraded {
            // The event is taken apart once and its head moved along: holding it in a tuple and
            // an optional binding made copies and destroys of the head per request.
            let consumed: Int
            let event: HTTPRequestParser.Event?
            do {
                (consumed, event) = try parser.next(UnsafeRawBufferPointer(rebasing: input[offset...]))
            } catch {
                reject(error.status, reason: error.reason)
                return input.count
            }
            offset += consumed
            switch consume event {
            case nil:
                if consumed == 0 { return offset }
            case .head(let requestHead, let framing)?:
                begin(requestHead, framing: framing)
            case .body(let bytes)?:
                guard body.count + bytes.count <= bodyLimit else {
                    reject(.payloadTooLarge, reason: "body over \(bodyLimit) bytes")
                    return input.count
                }
                body.append(contentsOf: bytes)
                setDeadline(.header)
            case .end?:
                unparsedInput = UnsafeRawBufferPointer(rebasing: input[offset...])
                dispatch()
                unparsedInput = nil
                // A peer pipelining requests without reading the answers must not make one read
                // produce unbounded output: the rest waits in `inbound` until onDrain pumps it.
                if outbound.count > configuration.maxPendingWriteBytes {
                    flush()
                    if stream.pendingWriteBytes > configuration.maxPendingWriteBytes { return offset }
                }
            }
        }
        return offset
    }

    private func begin(_ requestHead: consuming HTTPRequestHead, framing: HTTPRequestParser.BodyFraming) {
        bodyLimit = responder.maxBodyBytes(for: requestHead) ?? configuration.maxBodyBytes
        if case .length(let length) = framing, length > bodyLimit {
            reject(.payloadTooLarge, reason: "Content-Length \(length) over \(bodyLimit)")
            return
        }
        if requestHead.expectsContinue, framing != .none, framing != .length(0) {
            outbound.append(staticText: "HTTP/1.1 100 Continue\r\n\r\n")
        }
        head = consume requestHead
        body = []
    }

    private func dispatch() {
        guard let requestHead = head else { return }
        head = nil
        responding = true
        sequence += 1
        isHeadRequest = requestHead.method == .head
        requestWasHTTP10 = requestHead.version == .http1_0
        keepAlive = requestHead.wantsKeepAlive && !context.isShuttingDown
        setDeadline(.none)
        if cachedRemoteAddress == nil { cachedRemoteAddress = stream.remoteAddress }
        let request = HTTPServerRequest(head: requestHead, body: body, remoteAddress: cachedRemoteAddress!, loop: loop)
        body = []
        responder.respond(to: request, writer: HTTPResponseWriter(connection: self, sequence: sequence))
    }

    private func peerEnded(_ error: UVError?) {
        if error != nil {
            close()
            return
        }
        if !responding && inbound.isEmpty {
            // A response may still be queued: it goes out before the close.
            closing = true
            closeAfterFlush()
            return
        }
        // The client half-closed after its requests (`printf ... | nc`): answer every one it
        // sent, then close (pump closes once nothing complete is left).
        peerFinished = true
        if inbound.isEmpty { keepAlive = false }
        if !responding { pump() }
    }

    // MARK: Output

    private func isCurrent(_ requestSequence: Int) -> Bool {
        requestSequence == sequence && responding && !stream.isClosed && !upgraded
    }

    func respond(sequence requestSequence: Int, head responseHead: HTTPResponseHead, body responseBody: [UInt8]) {
        guard isCurrent(requestSequence), streaming == nil else { return }
        let sendsBody = responseHead.status.allowsBody
        writeHead(responseHead) { hasContentLength in
            if sendsBody, !hasContentLength {
                outbound.append(staticText: "Content-Length: ")
                HTTPResponseSerializer.appendDecimal(responseBody.count, into: &outbound)
                outbound.append(staticText: "\r\n")
            }
        }
        if sendsBody, !isHeadRequest { outbound.append(responseBody) }
        finishResponse()
    }

    func startStreaming(sequence requestSequence: Int, head responseHead: HTTPResponseHead) {
        guard isCurrent(requestSequence), streaming == nil else { return }
        let bodyless = isHeadRequest || !responseHead.status.allowsBody
        // RFC 9112 §6.1: never chunked to a client that did not say HTTP/1.1.
        let chunked = !bodyless && !requestWasHTTP10 && responseHead.version != .http1_0
            && !responseHead.headers.contains("Content-Length")
        if !bodyless && !chunked && !responseHead.headers.contains("Content-Length") { keepAlive = false }
        streaming = (chunked, bodyless)
        writeHead(responseHead) { _ in
            if chunked { outbound.append(staticText: "Transfer-Encoding: chunked\r\n") }
        }
        flushUnlessParsing()
    }

    func writeChunk(sequence requestSequence: Int, bytes: [UInt8]) {
        guard isCurrent(requestSequence), let streaming, !streaming.bodyless else { return }
        bytes.withUnsafeBytes { raw in
            if streaming.chunked {
                HTTPResponseSerializer.writeChunk(raw, into: &outbound)
            } else {
                outbound.append(raw)
            }
        }
        flushUnlessParsing()
    }

    func finishStreaming(sequence requestSequence: Int) {
        guard isCurrent(requestSequence), let streaming else { return }
        if streaming.chunked { HTTPResponseSerializer.writeLastChunk(into: &outbound) }
        self.streaming = nil
        finishResponse()
    }

    /// The body's producer failed: what was sent stays sent, but the body must not look
    /// complete, so there is no last chunk and the connection closes (a chunked client sees the
    /// body cut short; RFC 9112 §8).
    func abortStreaming(sequence requestSequence: Int) {
        guard isCurrent(requestSequence), streaming != nil else { return }
        streaming = nil
        responding = false
        keepAlive = false
        closing = true
        flush()
        closeAfterFlush()
    }

    func upgrade(sequence requestSequence: Int, head responseHead: HTTPResponseHead,
                 takeOver: @escaping @Sendable (UpgradedStream) -> Void) {
        guard isCurrent(requestSequence) else { return }
        HTTPResponseSerializer.writeHead(responseHead, into: &outbound)
        flush()
        upgraded = true
        responding = false
        // A synchronous handler upgrades from inside parse(): the bytes after the request are
        // then parse's unconsumed input (which may be `inbound` itself; parseInbound clears it).
        let leftover = unparsedInput.map { Array($0) } ?? inbound
        if unparsedInput == nil { inbound = [] }
        stream.onRead = nil
        stream.onEnd = nil
        stream.onDrain = nil
        stream.onClose = nil
        stream.stopReading()
        takeOver(UpgradedStream(stream: stream, leftover: leftover, context: context))
        // After the new protocol has tracked itself: untracking first could leave a stopping
        // loop with no connections, so it would stop under the upgraded one.
        context.untrack(self)
    }

    /// Writes the status line, the app's headers but Connection, what `extra` adds (told whether
    /// the app set Content-Length), then Date and Connection.
    private func writeHead(_ responseHead: HTTPResponseHead, extra: (_ hasContentLength: Bool) -> Void) {
        let facts = HTTPResponseSerializer.writeServerHead(responseHead, into: &outbound)
        let closeAfter = !keepAlive || context.isShuttingDown || facts.asksToClose
        if closeAfter { keepAlive = false }
        extra(facts.hasContentLength)
        outbound.append(context.dateCache.current())
        if closeAfter {
            outbound.append(staticText: "Connection: close\r\n")
        } else if requestWasHTTP10 {
            outbound.append(staticText: "Connection: keep-alive\r\n")
        }
        outbound.append(staticText: "\r\n")
    }

    @exclusivity(unchecked) private var requestWasHTTP10 = false

    private func finishResponse() {
        responding = false
        if !keepAlive {
            closing = true
            flush()
            closeAfterFlush()
            return
        }
        setDeadline(.idle)
        if !parsing {
            pump()
            timeNextRequest()
        }
    }

    /// Sends an error status for a request that could not be read, then closes.
    private func reject(_ status: HTTPStatus, reason: String) {
        context.logger.debug("rejected request", metadata: ["status": "\(status.code)", "reason": "\(reason)"])
        responding = false
        streaming = nil
        closing = true
        var head = HTTPResponseHead(status: status)
        head.headers.add("Content-Type", "text/plain; charset=utf-8")
        let text = Array("\(status.code) \(status.reasonPhrase)\n".utf8)
        keepAlive = false
        writeHead(head) { _ in
            outbound.append(staticText: "Content-Length: ")
            HTTPResponseSerializer.appendDecimal(text.count, into: &outbound)
            outbound.append(staticText: "\r\n")
        }
        outbound.append(text)
        flush()
        closeAfterFlush()
    }

    private func flushUnlessParsing() {
        if !parsing { flush() }
    }

    private func flush() {
        guard !outbound.isEmpty, !stream.isClosed else { return }
        stream.write(outbound.bytes)
        outbound.removeAll(retainedCapacity: 64 * 1024)
    }

    /// Continues with pipelined input after a response or a drained write queue.
    private func pump() {
        guard !closing, !upgraded, !stream.isClosed else { return }
        if !responding, !inbound.isEmpty {
            parsing = true
            parseInbound()
            parsing = false
        }
        if peerFinished, !responding, !closing, stream.pendingWriteBytes <= configuration.maxPendingWriteBytes {
            closing = true
            flush()
            closeAfterFlush()
            return
        }
        flush()
        updateReading()
    }

    /// Reads only while the peer drains what we send and pipelined input stays bounded.
    private func updateReading() {
        guard !closing, !upgraded, !stream.isClosed, !peerFinished else { return }
        let shouldRead = stream.pendingWriteBytes <= configuration.maxPendingWriteBytes
            && inbound.count - configuration.parserLimits.maxHeaderBytes <= configuration.maxBodyBytes
        if shouldRead { stream.startReading() } else { stream.stopReading() }
    }

    // MARK: Deadlines and shutdown

    private func setDeadline(_ kind: Deadline) {
        deadlineKind = kind
        switch kind {
        case .none: deadline = 0
        case .header: deadline = loop.now + configuration.headerTimeoutMilliseconds
        case .idle: deadline = loop.now + configuration.idleTimeoutMilliseconds
        }
    }

    func checkDeadline(now: UInt64) {
        guard deadline != 0, now >= deadline, !closing else { return }
        switch deadlineKind {
        case .header where !responding: reject(.requestTimeout, reason: "request not received in time")
        case .idle:
            // A response still draining to a client that is reading is not idleness: give it
            // another period for as long as the queue keeps shrinking.
            let pending = stream.unsentBytes
            if pending > 0, pending != pendingAtIdleCheck {
                pendingAtIdleCheck = pending
                setDeadline(.idle)
            } else {
                close()
            }
        default: break
        }
    }

    @exclusivity(unchecked) private var pendingAtIdleCheck = 0

    func beginShutdown() {
        if !responding, inbound.isEmpty, parser.isIdle, stream.pendingWriteBytes > 0 {
            // The last response is still leaving: send it, then close (forceClose bounds the wait).
            closing = true
            closeAfterFlush()
        } else if !responding, inbound.isEmpty, parser.isIdle {
            close()
        } else {
            keepAlive = false
        }
    }

    func forceClose() { close() }

    /// Sends what is queued, then closes; a peer that stops reading is cut off once it has
    /// taken nothing for a header timeout.
    private func closeAfterFlush() {
        stream.closeGracefully(stallTimeoutMilliseconds: configuration.headerTimeoutMilliseconds)
    }

    private func close() {
        closing = true
        stream.close()
    }

}
