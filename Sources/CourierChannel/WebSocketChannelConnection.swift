import Courier
import Foundation

/// The WebSocket transport: the client's first frame carries the token (never the URL), then
/// the server pushes message frames and answers heartbeats.
final class WebSocketChannelConnection: ChannelConnection, @unchecked Sendable {
    let socket: WebSocket
    let service: ChannelService
    let connectionID = InMemoryChannelEngine.newID()
    var loop: EventLoop { socket.loop }
    private var clientID: String?
    /// An open is under way (an engine may answer later): a second open frame is a bad request.
    private var opening = false
    private var cursor: UInt64 = 0
    private var closingDeliberately = false
    private var ended = false
    private var sentThisIteration = false
    /// Counted in `channel_clients` (from its open to its close).
    private var counted = false

    private struct ClientFrame: Decodable {
        let type: String
        let token: String?
        let session: String?
        let seq: UInt64?
        let topics: [String: UInt64]?
    }

    init(socket: WebSocket, service: ChannelService) {
        self.socket = socket
        self.service = service
        service.ensureSweeper(on: socket.loop)
        socket.onText = { [self] _, text in received(text) }
        socket.onClose = { [self] _, _, _ in closed() }
        socket.onWritesFlushed = { [self] in pump() }
    }

    /// Frames queued on the socket beyond this wait in the session until its queue empties: a replay
    /// of many held messages (up to 1000 of 32 KiB) goes out in steps, never past the socket's
    /// backpressure bound (1 MiB), which would close a client that is reading.
    static let sendWindowBytes = 256 * 1024

    private func received(_ text: String) {
        guard let frame = try? JSONDecoder().decode(ClientFrame.self, from: Data(text.utf8)) else {
            terminate(code: ChannelFailure.badRequest.code, description: ChannelFailure.badRequest.description)
            return
        }
        switch frame.type {
        case "open" where clientID == nil && !opening && (frame.topics?.count ?? 0) <= ChannelResume.maxTopics:
            open(token: frame.token ?? "", resume: ChannelResume(sessionID: frame.session ?? "", lastSeq: frame.seq ?? 0,
                                                                 topics: frame.topics ?? [:]))
        case "ping":
            socket.send(ChannelFrames.pong)
        case "close":
            closingDeliberately = true
            socket.close(code: 1000)
        default:
            terminate(code: ChannelFailure.badRequest.code, description: ChannelFailure.badRequest.description)
        }
    }

    private func open(token: String, resume: ChannelResume) {
        opening = true
        service.open(self, token: token, resume: resume) { [self] outcome in
            switch outcome {
            case .refused(.unavailable):
                // Not the channel's end: the client reconnects with backoff and resumes.
                ended = true
                socket.close(code: WebSocketCloseCode.tryAgainLater, reason: "channel store unavailable")
            case .refused(let failure):
                terminate(code: failure.code, description: failure.description)
            case .opened(let clientID, let attachment):
                self.clientID = clientID
                // The socket closed while the engine was attaching it (an engine with I/O
                // answers later): let go of what it was given at once.
                if ended { return closed() }
                counted = true
                service.metrics.clientOpened(.webSocket)
                cursor = attachment.cursor
                socket.send(ChannelFrames.opened(sessionID: attachment.sessionID, seq: attachment.lastSeq))
                pump()
            }
        }
    }

    /// The first message of a loop iteration leaves at once rather than after the iteration's
    /// other work (a route that sends and then answers its own request would otherwise write
    /// the answer first): under 10,000 sends a second that put each frame behind the
    /// iteration's HTTP responses. Later ones in the same iteration go together at its end.
    func messageHeld() {
        guard loop.inEventLoop else { return schedulePump() }
        guard !sentThisIteration else { return }
        sentThisIteration = true
        loop.deferToEndOfIteration { [self] in
            sentThisIteration = false
            pump()
        }
        pump()
        socket.flushNow()
    }

    func pump() {
        guard let clientID, !ended else { return }
        while true {
            if socket.unsentBytes >= Self.sendWindowBytes {
                // A full window goes to the kernel now. What it does not take, `onWritesFlushed`
                // follows (it fires once the socket's queue empties); if it took it all, go on:
                // nothing else would call `pump` again.
                socket.flushNow()
                if socket.unsentBytes > 0 { return }
            }
            let messages: [HeldMessage], more: Bool
            switch service.engine.take(for: clientID, connection: self, after: cursor, topicCursors: nil,
                                    maxBytes: Self.sendWindowBytes - socket.unsentBytes) {
            case .lost:
                return terminate(code: ChannelFailure.sessionLost.code, description: ChannelFailure.sessionLost.description)
            case .messages(let taken, let left):
                (messages, more) = (taken, left)
            }
            guard !messages.isEmpty else { return }
            var delivered = 0
            defer { service.metrics.delivered(delivered) }
            // A hint: a frame header is 2 or 4 bytes unless escaping made the message over 64 KiB.
            socket.reserveSendCapacity(messages.reduce(0) { $0 + 4 + ChannelFrames.messageByteCount(seq: $1.seq, payload: $1.payload) })
            for message in messages {
                let byteCount = ChannelFrames.messageByteCount(seq: message.seq, payload: message.payload)
                let sent = socket.sendText(byteCount: byteCount) { out in
                    ChannelFrames.appendMessage(seq: message.seq, payload: message.payload, to: &out)
                }
                if sent == .dropped { return }
                delivered += 1
                if message.payload.topic == nil { cursor = message.seq }
            }
            guard more else { return }
        }
    }

    func terminate(code: Int, description: String) {
        guard !ended else { return }
        ended = true
        socket.send(ChannelFrames.error(code: code, description: description))
        socket.close(code: UInt16(4000 + code))
    }

    func isStale(now: Double) -> Bool { false }

    private func closed() {
        ended = true
        if counted {
            counted = false
            service.metrics.clientClosed(.webSocket)
        }
        guard let clientID else { return }
        if service.engine.detach(self, clientID: clientID, deliberate: closingDeliberately) {
            service.reportPresence(clientID, connected: false)
        }
    }
}
