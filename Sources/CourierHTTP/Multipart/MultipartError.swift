/// Why a multipart body was refused. `reason` is written for the client (a 400's text): it
/// names what was wrong with what they sent, nothing about the server.
public struct MultipartError: Error, Sendable, Equatable, CustomStringConvertible {
    /// One sentence, safe to show the client.
    public let reason: String

    /// A refusal for `reason`.
    public init(_ reason: String) { self.reason = reason }

    /// The reason.
    public var description: String { reason }
}
