/// A reply from Redis (RESP2), converted from hiredis' reply as soon as it is read, so no C
/// memory outlives the read that produced it.
public enum RESPValue: Sendable, Hashable {
    /// A status reply such as `OK` or `PONG`.
    case simpleString(String)
    /// An error nested in an array (the reply to `EXEC`, say). A top-level error reply never
    /// arrives as a value: it fails the command with `RedisError.server`.
    case error(String)
    /// An integer reply (`INCR`, `DEL`, `EXISTS`).
    case integer(Int64)
    /// Binary-safe: any bytes, not necessarily UTF-8.
    case bulk([UInt8])
    /// A missing key, a timed-out blocking read: RESP2's null bulk string and null array alike.
    case null
    /// An array reply (`LRANGE`, `XREAD`, `EXEC`), elements of any kind.
    case array([RESPValue])
}

extension RESPValue {
    /// The text of a status or bulk reply; nil for other replies and for bytes that are not
    /// UTF-8, so a binary value is never silently mangled into replacement characters.
    public var string: String? {
        switch self {
        case .simpleString(let text): text
        case .bulk(let bytes): String(validating: bytes, as: UTF8.self)
        default: nil
        }
    }

    /// The bytes of a bulk or status reply.
    public var bytes: [UInt8]? {
        switch self {
        case .bulk(let bytes): bytes
        case .simpleString(let text): Array(text.utf8)
        default: nil
        }
    }

    /// An integer reply, or a bulk or status reply holding a decimal integer (Redis answers
    /// `GET` on a counter with its digits as a bulk string).
    public var int: Int? {
        switch self {
        case .integer(let value): Int(exactly: value)
        case .bulk(let bytes): Self.parseInteger(bytes)
        case .simpleString(let text): Self.parseInteger(Array(text.utf8))
        default: nil
        }
    }

    /// The elements of an array reply; nil for any other reply, a null array included.
    public var array: [RESPValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// True for a null reply (a missing key, a blocking read that timed out).
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The message of an error nested in an array reply; nil otherwise (a top-level error fails the command instead).
    public var errorMessage: String? {
        if case .error(let message) = self { return message }
        return nil
    }

    /// Strict: an optional minus and ASCII digits only, nil on overflow. `Int("+1")` accepts a
    /// plus sign Redis never writes.
    static func parseInteger(_ bytes: [UInt8]) -> Int? {
        var digits = bytes[...]
        let negative = digits.first == UInt8(ascii: "-")
        if negative { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.count <= 20 else { return nil }
        var value = 0
        for byte in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            let digit = Int(byte - UInt8(ascii: "0"))
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = negative ? times10.subtractingReportingOverflow(digit) : times10.addingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { return nil }
            value = next
        }
        return value
    }
}

extension RESPValue: CustomStringConvertible {
    /// As `redis-cli` shows replies, for logs; binary bulk strings show only their size.
    public var description: String {
        switch self {
        case .simpleString(let text): return text
        case .error(let message): return "(error) \(message)"
        case .integer(let value): return "(integer) \(value)"
        case .bulk(let bytes):
            if let text = String(validating: bytes, as: UTF8.self) { return "\"\(text)\"" }
            return "(\(bytes.count) bytes)"
        case .null: return "(nil)"
        case .array(let elements): return "[" + elements.map(\.description).joined(separator: ", ") + "]"
        }
    }
}
