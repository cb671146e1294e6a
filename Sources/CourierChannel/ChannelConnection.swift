package import CourierLoop

/// A transport's side of one open channel (a WebSocket, or a run of long-polls). The hub knows
/// connections only through this, so it never learns which transport it is talking to.
/// Methods other than `isStale` are called on `loop`.
package protocol ChannelConnection: AnyObject, Sendable {
    var loop: EventLoop { get }
    var connectionID: String { get }
    /// Pull newly held messages from the engine and send them.
    func pump()
    /// End the connection with an error the client reports as onerror, then onclose.
    func terminate(code: Int, description: String)
    /// A connection the client has silently abandoned (long-poll: no poll within the heartbeat).
    func isStale(now: Double) -> Bool
    /// Whether `isStale` can ever be true: an engine asks only those, not every connection at
    /// every sweep (a WebSocket's silence is the socket's own ping to find).
    var canGoStale: Bool { get }
    /// The sweep found it stale and detached it: let go of what it holds. Called from any thread.
    func abandon()
    /// `sendMessage` held a message for this connection: deliver it now or at the end of the
    /// loop iteration. Called from any thread.
    func messageHeld()
}

extension ChannelConnection {
    package var canGoStale: Bool { false }

    package func messageHeld() { schedulePump() }

    package func abandon() {}

    /// Runs `pump` on the connection's loop, batched to the end of the iteration when already there.
    package func schedulePump() {
        if loop.inEventLoop {
            loop.deferToEndOfIteration { [self] in pump() }
        } else {
            loop.execute { [self] in pump() }
        }
    }

    package func scheduleTerminate(code: Int, description: String) {
        loop.execute { [self] in terminate(code: code, description: description) }
    }
}
