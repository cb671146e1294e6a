import Courier
import CourierLoop
import Synchronization

/// The long-polling transport: one logical connection across a run of POSTs. Each poll says
/// what the client has seen (so a lost response is simply sent again), waits until messages
/// arrive or the poll times out, and answers with the same frames the WebSocket carries.
final class LongPollConnection: ChannelConnection, Sendable {
    let loop: EventLoop
    let connectionID: String
    let clientID: String
    private let service: ChannelService

    /// What one poll is answered with: the frames, and the HTTP status (an error's once ended).
    struct Answer: Sendable {
        var status: HTTPStatus = .ok
        var frames: [String]
    }

    private struct State {
        var waiter: CheckedContinuation<Answer, Never>?
        var waiterID = 0
        var ack: UInt64
        /// Where this connection's messages start; a poll's `seen` never rewinds below it.
        var floor: UInt64 = 0
        /// The last sequence number this connection has handed out: a poll claiming to have
        /// seen more is refused (410), never taken as an acknowledgement past the end.
        var handedOut: UInt64 = 0
        /// The same per topic (messages an engine numbers per topic): the offsets acknowledged
        /// and the highest handed out. A topic not acknowledged starts where the engine's
        /// record of the client does.
        var topicAcks: [String: UInt64] = [:]
        var topicsHandedOut: [String: UInt64] = [:]
        var pendingFrames: [String] = []
        var ended = false
        /// Counted in `channel_clients` (registered as the client's channel, not ended since).
        var counted = false
        /// The status polls get once the connection has ended (the error's code).
        var endStatus: HTTPStatus = .ok
    }

    private let state: Locked<State>
    /// When the latest poll arrived. Read by the hub's sweep while it holds the hub lock, so an
    /// atomic, not `state`.
    private let lastPollBits: Atomic<UInt64>

    init(loop: EventLoop, connectionID: String, clientID: String, service: ChannelService) {
        self.loop = loop
        self.connectionID = connectionID
        self.clientID = clientID
        self.service = service
        state = Locked(State(ack: 0))
        lastPollBits = Atomic(service.engine.clock.now().bitPattern)
    }

    /// Set once attached: where its messages start, and the frame that announces the session.
    func prime(cursor: UInt64, topics: [String: UInt64], opened: String) {
        state.withLock { state in
            state.ack = cursor
            state.floor = cursor
            state.handedOut = cursor
            state.topicAcks = topics
            state.topicsHandedOut = topics
            state.pendingFrames.insert(opened, at: 0)
        }
    }

    /// Counts the connection in `channel_clients` once it is the client's channel.
    func countOpen() {
        state.withLock { $0.counted = true }
        service.metrics.clientOpened(.longPoll)
    }

    /// One poll: answers at once if anything is due, else waits up to the poll timeout, timed
    /// by `loop` (the loop serving the request), so a waiting poll holds no Task of its own.
    func poll(seen: UInt64, topics: [String: UInt64] = [:], on loop: EventLoop) async -> Answer {
        lastPollBits.store(service.engine.clock.now().bitPattern, ordering: .relaxed)
        let impossible = state.withLock { state in
            !state.ended && (seen > state.handedOut || topics.contains { $0.value > state.topicsHandedOut[$0.key] ?? 0 })
        }
        if impossible {
            terminate(code: ChannelFailure.sessionLost.code, description: ChannelFailure.sessionLost.description)
        }
        let ready = state.withLock { state -> Answer? in
            // What the client saw, not what was handed out: a lost answer is sent again.
            state.ack = max(state.floor, min(seen, state.handedOut))
            state.topicAcks = topics
            let frames = state.pendingFrames + collect(&state)
            state.pendingFrames = []
            if state.ended { return Answer(status: state.endStatus, frames: frames) }
            return frames.isEmpty ? nil : Answer(frames: frames)
        }
        if let ready { return ready }
        let timeoutMilliseconds = UInt64(min(service.settings.longPollWaitSeconds, 86_400) * 1000)
        return await withCheckedContinuation { continuation in
            let id = state.withLock { state -> Int? in
                let frames = collect(&state)
                if state.ended {
                    continuation.resume(returning: Answer(status: state.endStatus, frames: frames))
                    return nil
                }
                if !frames.isEmpty {
                    continuation.resume(returning: Answer(frames: frames))
                    return nil
                }
                state.waiter?.resume(returning: Answer(frames: []))
                state.waiterID += 1
                state.waiter = continuation
                return state.waiterID
            }
            guard let id else { return }
            let scheduled = loop.perform { [weak self] in
                loop.schedule(afterMilliseconds: timeoutMilliseconds, isStale: { self?.isWaiting(id) != true }) {
                    self?.expireWaiter(id)
                }
            }
            // A loop already stopped would never time the poll out: answer it now instead.
            if !scheduled { expireWaiter(id) }
        }
    }

    /// The frames due after what the client has acknowledged. When some were dropped by the
    /// bounds before it polled for them, the connection ends here with 410 (and the sweep
    /// reports the client gone): skipping them would break in-order, exactly-once delivery.
    private func collect(_ state: inout State) -> [String] {
        guard case .messages(let messages, _) = service.engine.take(for: clientID, connection: self, after: state.ack,
                                                                    topicCursors: state.topicAcks, maxBytes: .max) else {
            state.ended = true
            state.endStatus = HTTPStatus(code: ChannelFailure.sessionLost.code)
            return [ChannelFrames.error(code: ChannelFailure.sessionLost.code, description: ChannelFailure.sessionLost.description)]
        }
        service.metrics.delivered(messages.count)
        for message in messages {
            if let topic = message.payload.topic {
                state.topicAcks[topic] = message.seq
                state.topicsHandedOut[topic] = max(state.topicsHandedOut[topic] ?? 0, message.seq)
            } else {
                state.ack = message.seq
                state.handedOut = max(state.handedOut, message.seq)
            }
        }
        return messages.map { ChannelFrames.message(seq: $0.seq, payload: $0.payload) }
    }

    /// Answers a waiting poll now with whatever is due (maybe nothing), as its timeout would:
    /// the client polls again at once, and the server shutting down does not wait for it.
    func releaseWaiter() {
        state.withLock { state in
            guard let waiter = state.waiter else { return }
            state.waiter = nil
            let frames = collect(&state)
            waiter.resume(returning: Answer(status: state.ended ? state.endStatus : .ok, frames: frames))
        }
    }

    /// Whether poll `id` is still waiting (not answered by a message, replaced or released).
    private func isWaiting(_ id: Int) -> Bool {
        state.withLock { $0.waiterID == id && $0.waiter != nil }
    }

    private func expireWaiter(_ id: Int) {
        state.withLock { state in
            guard state.waiterID == id, let waiter = state.waiter else { return }
            state.waiter = nil
            waiter.resume(returning: Answer(frames: []))
        }
    }

    func pump() {
        state.withLock { state in
            guard let waiter = state.waiter else { return }
            let frames = collect(&state)
            guard !frames.isEmpty else { return }
            state.waiter = nil
            waiter.resume(returning: Answer(status: state.ended ? state.endStatus : .ok, frames: frames))
        }
    }

    func terminate(code: Int, description: String) {
        end(with: [ChannelFrames.error(code: code, description: description)], status: HTTPStatus(code: code))
        if service.engine.detach(self, clientID: clientID, deliberate: false) {
            service.reportPresence(clientID, connected: false)
        }
    }

    var hasEnded: Bool { state.withLock { $0.ended } }

    func abandon() { end(with: []) }

    /// Ends the connection; a waiting poll (or the next one) receives `frames` with `status`.
    func end(with frames: [String], status: HTTPStatus = .ok) {
        service.longPolls.forget(self)
        let wasCounted = state.withLock { state -> Bool in
            defer { state.counted = false }
            state.ended = true
            state.endStatus = status
            if let waiter = state.waiter {
                state.waiter = nil
                waiter.resume(returning: Answer(status: status, frames: frames))
            } else {
                state.pendingFrames += frames
            }
            return state.counted
        }
        if wasCounted { service.metrics.clientClosed(.longPoll) }
    }

    /// Gone when no poll has arrived for a heartbeat. Counted from the poll's arrival, not its
    /// answer: a client is almost always inside a poll, so that is where it dies (a closed tab, a
    /// lost network), and its last poll, still waiting, is no sign of life. A live client starts
    /// a new poll at least every poll timeout, which `longPollStaleSeconds` allows for.
    var canGoStale: Bool { true }

    func isStale(now: Double) -> Bool {
        now - Double(bitPattern: lastPollBits.load(ordering: .relaxed)) > service.settings.longPollStaleSeconds
    }
}
