/// Why a request could not be read, with the status the server answers before it closes the
/// connection. The reason is for logs; clients see only the status.
public struct HTTPParseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The status sent to the client before the connection is closed.
    public let status: HTTPStatus
    /// What was wrong, for logs only; never sent to the client.
    public let reason: String

    /// An error answering `status`; `reason` is for logs and must not be shown to the client.
    public init(_ status: HTTPStatus, _ reason: String) {
        self.status = status
        self.reason = reason
    }

    static func bad(_ reason: String) -> HTTPParseError { HTTPParseError(.badRequest, reason) }

    /// "code: reason", for logs.
    public var description: String { "\(status.code): \(reason)" }
}
