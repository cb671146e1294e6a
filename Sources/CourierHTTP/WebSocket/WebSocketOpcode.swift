/// RFC 6455 §5.2 opcodes; the reserved ones are rejected by the parser.
public enum WebSocketOpcode: UInt8, Sendable {
    /// A later fragment of the message a text or binary frame began.
    case continuation = 0x0
    /// Starts a text message; its payload must be valid UTF-8.
    case text = 0x1
    /// Starts a binary message.
    case binary = 0x2
    /// Starts or answers the closing handshake; payload is an optional code and reason.
    case close = 0x8
    /// Asks for a pong carrying the same payload.
    case ping = 0x9
    /// Answers a ping, or is sent unasked as a heartbeat.
    case pong = 0xA

    /// Close, ping and pong: at most 125 bytes, never fragmented, and allowed between a message's fragments.
    public var isControl: Bool { rawValue & 0x8 != 0 }
}

/// Close codes (RFC 6455 §7.4) the server sends, and the rule for codes it accepts.
public enum WebSocketCloseCode {
    /// 1000: the connection is done, nothing went wrong.
    public static let normal: UInt16 = 1000
    /// 1001: the server is shutting down (or the client navigated away).
    public static let goingAway: UInt16 = 1001
    /// 1002: the peer broke RFC 6455 framing rules.
    public static let protocolError: UInt16 = 1002
    /// 1003: a message of a type the endpoint does not accept (text where only binary is, or the reverse).
    public static let unsupportedData: UInt16 = 1003
    /// 1007: a text message was not valid UTF-8, or data did not match its type.
    public static let invalidPayload: UInt16 = 1007
    /// 1008: a message broke the app's policy; a generic refusal when no other code fits.
    public static let policyViolation: UInt16 = 1008
    /// 1009: a message was over the size limit (after decompression).
    public static let messageTooBig: UInt16 = 1009
    /// 1011: the server hit an unexpected error.
    public static let internalError: UInt16 = 1011
    /// The server is overloaded or a store it needs is unreachable: reconnect later (RFC 6455 §7.4.1 registry).
    public static let tryAgainLater: UInt16 = 1013

    /// Codes an endpoint may put in a close frame: 1000-1003, 1007-1011, 3000-4999 (RFC 6455
    /// §7.4), and 1012-1014, which the IANA close code registry assigned later (service restart,
    /// try again later, bad gateway). 1015 and 1004-1006 never appear on the wire.
    public static func isValidOnWire(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1014, 3000...4999: true
        default: false
        }
    }
}

/// Why the server fails a WebSocket connection: the close code it sends and a reason for logs.
public struct WebSocketProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The close code to send (1002, 1007 or 1009 from the parser).
    public let code: UInt16
    /// What was wrong, for logs; the close frame need not carry it.
    public let reason: String

    /// An error closing with `code`; use a `WebSocketCloseCode` constant.
    public init(_ code: UInt16, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    /// "code: reason", for logs.
    public var description: String { "\(code): \(reason)" }
}
