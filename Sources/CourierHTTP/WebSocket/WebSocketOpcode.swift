/// RFC 6455 §5.2 opcodes; the reserved ones are rejected by the parser.
public enum WebSocketOpcode: UInt8, Sendable {
    case continuation = 0x0
    case text = 0x1
    case binary = 0x2
    case close = 0x8
    case ping = 0x9
    case pong = 0xA

    public var isControl: Bool { rawValue & 0x8 != 0 }
}

/// Close codes (RFC 6455 §7.4) the server sends, and the rule for codes it accepts.
public enum WebSocketCloseCode {
    public static let normal: UInt16 = 1000
    public static let goingAway: UInt16 = 1001
    public static let protocolError: UInt16 = 1002
    public static let unsupportedData: UInt16 = 1003
    public static let invalidPayload: UInt16 = 1007
    public static let policyViolation: UInt16 = 1008
    public static let messageTooBig: UInt16 = 1009
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
    public let code: UInt16
    public let reason: String

    public init(_ code: UInt16, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "\(code): \(reason)" }
}
