public import Foundation

/// Every Channel API failure, each with a readable message (App Engine's
/// InvalidChannelClientIdError, InvalidChannelTokenDurationError, InvalidMessageError, ...).
public enum ChannelError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A client ID that is empty or over `ChannelLimits.maxClientIDBytes` UTF-8 bytes.
    case invalidClientID(String)
    /// A token duration, in minutes, outside `ChannelLimits.durationMinutes`.
    case invalidTokenDuration(Int)
    /// A message that is empty or over `ChannelLimits.maxMessageBytes` UTF-8 bytes.
    case invalidMessage(byteCount: Int)
    /// A topic that is empty or over 256 UTF-8 bytes.
    case invalidTopic(String)
    /// `sendJSON` was given a value `JSONEncoder` cannot encode; the encoder's reason.
    case unencodableMessage(String)
    /// `clientID(forToken:)` was given a token this service never issued, or an altered one.
    case invalidToken
    /// `clientID(forToken:)` was given a genuine token whose time is up.
    case expiredToken
    /// The engine's store (Redis) cannot be reached now; nothing was sent. Retry later.
    case unavailable(String)
    /// An idempotency key must be 1...256 UTF-8 bytes.
    case invalidIdempotencyKey(String)

    /// A sentence naming the limit broken, safe to show a developer.
    public var description: String {
        switch self {
        case .invalidClientID(let id):
            "invalid client ID (\(id.utf8.count) bytes): it must be a non-empty string of at most 256 UTF-8 bytes"
        case .invalidTokenDuration(let minutes):
            "invalid token duration \(minutes) minutes: it must be 1...1440"
        case .invalidMessage(let count):
            "invalid message of \(count) bytes: it must be 1...32767 UTF-8 bytes"
        case .invalidTopic(let topic):
            "invalid topic '\(topic.prefix(40))': it must be a non-empty string of at most 256 UTF-8 bytes"
        case .unencodableMessage(let reason):
            "the message could not be encoded as JSON: \(reason)"
        case .invalidToken:
            "invalid channel token: it was not issued by this service"
        case .expiredToken:
            "expired channel token"
        case .unavailable(let reason):
            "the channel service is unavailable: \(reason)"
        case .invalidIdempotencyKey(let key):
            "invalid idempotency key (\(key.utf8.count) bytes): it must be 1...256 UTF-8 bytes"
        }
    }
}

/// So `localizedDescription` reads the same message, not Foundation's generic one.
extension ChannelError: LocalizedError {
    /// The same sentence as `description`.
    public var errorDescription: String? { description }
}

/// The limits of the original API.
public enum ChannelLimits {
    /// Longest client ID, in UTF-8 bytes.
    public static let maxClientIDBytes = 256
    /// Longest message, in UTF-8 bytes; longer ones throw `invalidMessage`.
    public static let maxMessageBytes = 32_767
    /// A token's lifetime, in minutes, when none is given.
    public static let defaultDurationMinutes = 120
    /// Token lifetimes allowed, in minutes (one minute to one day).
    public static let durationMinutes = 1...1440

    static func checkClientID(_ clientID: String) throws(ChannelError) {
        let count = clientID.utf8.count
        guard count > 0, count <= maxClientIDBytes else { throw .invalidClientID(clientID) }
    }

    static func checkMessage(_ message: String) throws(ChannelError) {
        let count = message.utf8.count
        guard count > 0, count <= maxMessageBytes else { throw .invalidMessage(byteCount: count) }
    }
}
