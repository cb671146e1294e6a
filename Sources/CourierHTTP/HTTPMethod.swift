/// A request method token. Open (any RFC 9110 token is accepted) with the usual ones named.
public struct HTTPMethod: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The method token exactly as sent; methods are case-sensitive, so "get" is not `.get`.
    public let rawValue: String

    /// A method from its token; the token is not validated.
    public init(_ rawValue: String) { self.rawValue = rawValue }
    /// A method from a literal such as `"PURGE"`.
    public init(stringLiteral value: String) { self.rawValue = value }

    /// GET: safe and idempotent.
    public static let get: HTTPMethod = "GET"
    /// HEAD: as GET, but the response carries no body.
    public static let head: HTTPMethod = "HEAD"
    /// POST: neither safe nor idempotent.
    public static let post: HTTPMethod = "POST"
    /// PUT: replaces the target's state; idempotent.
    public static let put: HTTPMethod = "PUT"
    /// DELETE: removes the target; idempotent.
    public static let delete: HTTPMethod = "DELETE"
    /// PATCH (RFC 5789): a partial update; not idempotent.
    public static let patch: HTTPMethod = "PATCH"
    /// OPTIONS: asks what the target supports (CORS preflight uses it).
    public static let options: HTTPMethod = "OPTIONS"
    /// CONNECT: asks a proxy for a tunnel; its target is authority-form, not a path.
    public static let connect: HTTPMethod = "CONNECT"
    /// TRACE: a loop-back test of the request path.
    public static let trace: HTTPMethod = "TRACE"

    /// The token as sent.
    public var description: String { rawValue }

    /// The common methods without building a String per request.
    static func known(_ bytes: UnsafeRawBufferPointer) -> HTTPMethod? {
        switch bytes.count {
        case 3:
            if bytes[0] == 0x47, bytes[1] == 0x45, bytes[2] == 0x54 { return .get }
            if bytes[0] == 0x50, bytes[1] == 0x55, bytes[2] == 0x54 { return .put }
        case 4:
            if bytes[0] == 0x50, bytes[1] == 0x4F, bytes[2] == 0x53, bytes[3] == 0x54 { return .post }
            if bytes[0] == 0x48, bytes[1] == 0x45, bytes[2] == 0x41, bytes[3] == 0x44 { return .head }
        default: break
        }
        return nil
    }
}
