/// Where a Redis server is and how to log in: the parsed form of `--redis redis://...`.
///
/// Parsing is strict, since the URL usually comes from a command line or the environment and a
/// typo should stop the server at startup with a message naming the mistake, not connect to
/// the wrong port or database. Every number is range-checked digit by digit, so no input can
/// overflow into a valid-looking value.
public struct RedisEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// The port used when a URL names none.
    public static let defaultPort = 6379
    /// The ports accepted; 0 is refused.
    public static let ports = 1...65_535
    /// Redis' default `databases 16`.
    public static let databases = 0...15

    /// A name (resolved on every connect, so a fail-over that moves the name is followed) or a
    /// numeric IPv4/IPv6 address, without brackets.
    public let host: String
    /// The TCP port, within `ports`.
    public let port: Int
    /// The database selected after login, within `databases`; 0 sends no `SELECT`.
    public let database: Int
    /// Redis 6 ACL user; nil sends the one-argument `AUTH password`.
    public let username: String?
    /// Sent with `AUTH` on every connect; nil logs in as the default user without `AUTH`. Never empty.
    public let password: String?

    /// Checks every part: throws `invalidEndpoint` for an empty or malformed host, a port or database out of range, a user without a password, or an empty password.
    public init(host: String, port: Int = RedisEndpoint.defaultPort, database: Int = 0,
                username: String? = nil, password: String? = nil) throws(RedisError) {
        try Self.checkHost(host)
        guard Self.ports.contains(port) else {
            throw .invalidEndpoint("port \(port) is outside \(Self.ports.lowerBound)...\(Self.ports.upperBound)")
        }
        guard Self.databases.contains(database) else {
            throw .invalidEndpoint("database \(database) is outside \(Self.databases.lowerBound)...\(Self.databases.upperBound)")
        }
        if username != nil && password == nil { throw .invalidEndpoint("a user name needs a password") }
        if let password, password.isEmpty { throw .invalidEndpoint("the password is empty") }
        self.host = host
        self.port = port
        self.database = database
        self.username = username
        self.password = password
    }

    /// Parses `redis://[[user]:password@]host[:port][/database]`; user and password may be
    /// percent-encoded. IPv6 addresses go in brackets (`redis://[::1]:6380`).
    public init(url: String) throws(RedisError) {
        let bytes = Array(url.utf8)
        func fail(_ reason: String) -> RedisError { .invalidEndpoint("\(reason) in \"\(Self.redacted(url))\"") }
        let scheme = Array("redis://".utf8)
        guard bytes.count >= scheme.count, bytes[..<scheme.count].map(Self.lowercased) == scheme else {
            if bytes.starts(with: Array("rediss://".utf8)) { throw fail("TLS (rediss://) is not supported") }
            throw fail("expected a URL starting with redis://")
        }
        var rest = bytes[scheme.count...]
        if let bad = rest.first(where: { $0 <= 0x20 || $0 >= 0x7F }) {
            throw fail(bad >= 0x7F ? "a non-ASCII character" : "a space or control character")
        }
        if rest.contains(UInt8(ascii: "?")) || rest.contains(UInt8(ascii: "#")) {
            throw fail("query and fragment are not supported")
        }
        var path: ArraySlice<UInt8> = []
        if let slash = rest.firstIndex(of: UInt8(ascii: "/")) {
            path = rest[(slash + 1)...]
            rest = rest[..<slash]
        }
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: UInt8(ascii: "@")) {
            let userInfo = rest[..<at]
            rest = rest[(at + 1)...]
            guard let colon = userInfo.firstIndex(of: UInt8(ascii: ":")) else {
                throw fail("credentials without a colon (write redis://:password@host)")
            }
            guard let user = Self.percentDecoded(userInfo[..<colon]),
                  let secret = Self.percentDecoded(userInfo[(colon + 1)...]) else {
                throw fail("a bad percent-escape in the credentials")
            }
            guard !secret.isEmpty else { throw fail("an empty password") }
            username = user.isEmpty ? nil : user
            password = secret
        }
        var host: String
        var portText: ArraySlice<UInt8>?
        if rest.first == UInt8(ascii: "[") {
            guard let close = rest.firstIndex(of: UInt8(ascii: "]")) else { throw fail("an unclosed [ in the host") }
            host = String(decoding: rest[(rest.startIndex + 1)..<close], as: UTF8.self)
            let after = rest[(close + 1)...]
            if !after.isEmpty {
                guard after.first == UInt8(ascii: ":") else { throw fail("unexpected text after the IPv6 address") }
                portText = after.dropFirst()
            }
            guard host.contains(":"), host.utf8.allSatisfy(Self.isIPv6Character) else {
                throw fail("\"\(host)\" is not an IPv6 address")
            }
        } else {
            let colons = rest.filter { $0 == UInt8(ascii: ":") }.count
            if colons > 1 { throw fail("an IPv6 address must be written in brackets") }
            if let colon = rest.firstIndex(of: UInt8(ascii: ":")) {
                portText = rest[(colon + 1)...]
                rest = rest[..<colon]
            }
            host = String(decoding: rest, as: UTF8.self)
        }
        var port = Self.defaultPort
        if let portText {
            switch Self.parseNumber(portText, maxDigits: 5) {
            case .value(let value): port = value
            case .tooLarge: throw fail("port \(String(decoding: portText, as: UTF8.self)) is outside 1...65535")
            case .malformed: throw fail("the port must be digits")
            }
        }
        var database = 0
        if !path.isEmpty {
            switch Self.parseNumber(path, maxDigits: 2) {
            case .value(let value): database = value
            case .tooLarge: throw fail("database \(String(decoding: path, as: UTF8.self)) is outside 0...15")
            case .malformed: throw fail("the database must be a number (redis://host:port/0)")
            }
        }
        do {
            try self.init(host: host, port: port, database: database, username: username, password: password)
        } catch {
            if case .invalidEndpoint(let reason) = error { throw fail(reason) }
            throw error
        }
    }

    /// The endpoint as a URL with the password masked as `***`, safe for logs.
    public var description: String {
        let credentials = password == nil ? "" : "\(username ?? ""):***@"
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "redis://\(credentials)\(shownHost):\(port)/\(database)"
    }

    // MARK: Parsing pieces

    private static func checkHost(_ host: String) throws(RedisError) {
        guard !host.isEmpty else { throw .invalidEndpoint("the host is empty") }
        guard host.utf8.count <= 253 else { throw .invalidEndpoint("the host name is longer than 253 characters") }
        if host.contains(":") {
            guard host.utf8.allSatisfy(isIPv6Character) else { throw .invalidEndpoint("\"\(host)\" is not an IPv6 address") }
            return
        }
        let allowed = host.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(lowercased(byte))
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_")
        }
        guard allowed else { throw .invalidEndpoint("\"\(host)\" is not a host name or address") }
    }

    private static func isIPv6Character(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(lowercased(byte))
            || byte == UInt8(ascii: ":") || byte == UInt8(ascii: ".")
    }

    private enum Number { case value(Int), tooLarge, malformed }

    /// ASCII digits only (no sign, no spaces), at most `maxDigits` of them: a longer run is
    /// out of range before it is converted, so no input can wrap around into range.
    private static func parseNumber(_ text: ArraySlice<UInt8>, maxDigits: Int) -> Number {
        guard !text.isEmpty, text.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return .malformed }
        guard text.count <= maxDigits else { return .tooLarge }
        return .value(text.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) })
    }

    private static func percentDecoded(_ text: ArraySlice<UInt8>) -> String? {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let byte = text[index]
            if byte == UInt8(ascii: "%") {
                guard text.distance(from: index, to: text.endIndex) >= 3, let high = hexValue(text[index + 1]), let low = hexValue(text[index + 2]) else { return nil }
                bytes.append(high << 4 | low)
                index += 3
            } else {
                bytes.append(byte)
                index += 1
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
    }

    /// The URL with everything before its last `@` hidden, for error messages that may reach a
    /// log: a malformed URL may hold a password where a well-formed one would not.
    private static func redacted(_ url: String) -> String {
        guard let at = url.lastIndex(of: "@") else { return url }
        return "redis://***" + url[at...]
    }
}
