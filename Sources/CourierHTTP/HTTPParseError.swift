/// Why a request could not be read, with the status the server answers before it closes the
/// connection. The reason is for logs; clients see only the status.
public struct HTTPParseError: Error, Equatable, Sendable, CustomStringConvertible {
    public let status: HTTPStatus
    public let reason: String

    public init(_ status: HTTPStatus, _ reason: String) {
        self.status = status
        self.reason = reason
    }

    static func bad(_ reason: String) -> HTTPParseError { HTTPParseError(.badRequest, reason) }

    public var description: String { "\(status.code): \(reason)" }
}
