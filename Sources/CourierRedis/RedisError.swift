/// Every way a Redis call can fail. The cases tell a caller what it may assume: a command that
/// failed with `notConnected` or `overloaded` was never sent; one that failed with `timedOut` or
/// `connectionLost` was sent and may or may not have run.
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not sent: no connection now (connecting failed, or it is backing off before the next
    /// try). The reason says what the last attempt ran into.
    case notConnected(reason: String)
    /// Sent, and no reply came within the command's timeout. The connection was reset, since the
    /// replies of the commands behind it could no longer be matched.
    case timedOut
    /// Sent, and the connection went away before its reply came.
    case connectionLost(reason: String)
    /// Redis answered with an error reply (`WRONGTYPE ...`, `NOSCRIPT ...`).
    case server(message: String)
    /// The bytes from the server were not RESP; the connection was reset.
    case protocolError(String)
    /// Not sent: more than `limitBytes` are already waiting to be written, so the server (or the
    /// network) is not keeping up; failing now beats queueing without bound.
    case overloaded(limitBytes: Int)
    /// The connection or subscriber was closed by its owner or its loop stopped; for a
    /// subscription's confirmation, the channel was unsubscribed before Redis confirmed it.
    case closed
    /// A `redis://` URL or endpoint that cannot be used.
    case invalidEndpoint(String)

    /// A sentence for logs; server messages are included as Redis sent them.
    public var description: String {
        switch self {
        case .notConnected(let reason): "not connected to Redis: \(reason)"
        case .timedOut: "Redis did not answer in time; the connection was reset"
        case .connectionLost(let reason): "the connection to Redis was lost before the reply: \(reason)"
        case .server(let message): "Redis error: \(message)"
        case .protocolError(let detail): "Redis protocol error: \(detail)"
        case .overloaded(let limit): "too much waiting to be sent to Redis (over \(limit) bytes); command refused"
        case .closed: "the Redis connection is closed"
        case .invalidEndpoint(let detail): "invalid Redis endpoint: \(detail)"
        }
    }
}
