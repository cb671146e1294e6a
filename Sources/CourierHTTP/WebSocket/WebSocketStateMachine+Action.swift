extension WebSocketStateMachine {
    /// What the connection does in answer to an event. One action per event, carrying all of
    /// its effects, so their order (the close frame out before the close is reported, the
    /// report before the socket goes) is decided here and not by each caller.
    package enum Action: Equatable, Sendable {
        /// The event changes nothing the connection must act on.
        case none
        /// A message for the app; only while open, as after our close the client's data is moot.
        case deliverText(String)
        /// A message for the app; only while open, as after our close the client's data is moot.
        case deliverBinary([UInt8])
        /// Hand the pong to the app, which may time its own pings by it.
        case deliverPong([UInt8])
        /// Answer a ping with its payload (RFC 6455 §5.5.3), as any other send.
        case sendPong([UInt8])
        /// The client has been silent past its ping delay.
        case sendPing
        /// Queue the close frame and write at once: the handshake's clock is already running.
        case sendClose(CloseFrame)
        /// The handshake is over: write `sending` (when ours was not out yet) and what is queued,
        /// report the close, then close the socket once the kernel has taken it all.
        case finish(sending: CloseFrame?, report: CloseReport?)
        /// Report the close (when the app has not heard of it), then close the socket at once,
        /// dropping what is queued: the client is gone or will not answer.
        case closeStream(report: CloseReport?)
        /// Tell the app of a close it has not heard of; the socket is already gone.
        case report(CloseReport)
    }

    /// The answer to `sendRequested`: the bound on unsent bytes is checked for every frame, so
    /// its answer is a value, not an error (uWebSockets' `dropped`).
    package enum SendDecision: Equatable, Sendable {
        /// Queue the frame.
        case send
        /// Not sent: the connection is closing or closed.
        case drop
        /// Not sent, and the client is too slow to keep: send this close frame now.
        case dropAndClose(CloseFrame)
    }

    /// A close frame the server sends. `code` nil is an empty close frame, the echo of a client
    /// close that carried no code.
    package struct CloseFrame: Equatable, Sendable {
        /// The status code on the wire, or nil for none.
        package var code: UInt16?
        /// Sent to the client; the reason for a failure stays in the report.
        package var reason: String

        /// Spelled out because the memberwise one is internal, and tests build frames to compare.
        package init(code: UInt16?, reason: String) {
            self.code = code
            self.reason = reason
        }
    }

    /// What the app's close callback hears, exactly once: the client's code (1005 when its close
    /// carried none), the error's code on a protocol failure, 1006 when the connection died.
    package struct CloseReport: Equatable, Sendable {
        /// The close code, which may be one never sent on the wire (1005, 1006).
        package var code: UInt16
        /// The client's reason, or why the server ended the connection.
        package var reason: String

        /// Spelled out because the memberwise one is internal, and tests build reports to compare.
        package init(code: UInt16, reason: String) {
            self.code = code
            self.reason = reason
        }
    }
}
