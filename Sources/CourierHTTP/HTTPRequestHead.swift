/// The request line and header fields of one request, before its body.
public struct HTTPRequestHead: Sendable {
    /// The request method, case-sensitive as sent.
    public var method: HTTPMethod
    /// The request-target as sent ("/path?query" in origin form).
    public var target: String {
        didSet { shape = TargetShape(RequestTarget.scan(target)) }
    }
    /// The version from the request line; decides the keep-alive default and whether `Expect` counts.
    public var version: HTTPVersion
    /// The header fields in the order received.
    public var headers: HTTPHeaders
    /// Where the target's query starts and whether its path has escapes: found by the parser
    /// while it checks the target's bytes, and packed into 32 bits so that a head stays within
    /// 64 bytes (past that, every copy of a head went through outlined copy functions, ~100
    /// instructions a request).
    @usableFromInline var shape: TargetShape

    /// A head made in code (tests, proxies); the target is scanned once here for its query and escapes.
    public init(method: HTTPMethod, target: String, version: HTTPVersion = .http1_1, headers: HTTPHeaders = HTTPHeaders()) {
        let (queryMark, pathHasEscapes) = RequestTarget.scan(target)
        self.init(method: method, target: target, queryMark: queryMark, pathHasEscapes: pathHasEscapes, version: version,
                  headers: headers)
    }

    init(method: HTTPMethod, target: String, queryMark: Int?, pathHasEscapes: Bool, version: HTTPVersion, headers: HTTPHeaders) {
        self.method = method
        self.target = target
        shape = TargetShape((queryMark, pathHasEscapes))
        self.version = version
        self.headers = headers
    }

    /// The target taken apart.
    @inlinable
    public var split: RequestTarget {
        if shape.isUnknown { return RequestTarget(target) }
        return RequestTarget(target, queryMark: shape.queryMark, pathHasEscapes: shape.pathHasEscapes)
    }

    /// The target up to `?`, still percent-encoded.
    public var path: Substring { split.path }

    /// The target after `?`, or "".
    public var query: Substring { split.query }

    /// HTTP/1.1 keeps the connection unless told to close; 1.0 closes unless told to keep it.
    public var wantsKeepAlive: Bool {
        if headers.containsToken("close", in: "Connection") { return false }
        if version == .http1_0 { return headers.containsToken("keep-alive", in: "Connection") }
        return true
    }

    /// True when an HTTP/1.1 client sent `Expect: 100-continue` and waits for an interim 100 before sending its body; always false for HTTP/1.0.
    public var expectsContinue: Bool {
        guard version != .http1_0, let expect = headers["Expect"] else { return false }
        return HTTPHeaders.equalNames(expect.trimmingSpaces, "100-continue")
    }
}

/// `RequestTarget`'s findings in 32 bits: the query's offset plus one (0 for none) shifted left
/// once, and whether the path has escapes in the low bit. A `?` past 2^30 bytes (a head made in
/// code; the parser's request-line limit is far lower) is `unknown`, and the target is scanned
/// again when it is split.
@usableFromInline
struct TargetShape: Sendable {
    @usableFromInline let bits: UInt32
    @usableFromInline static let unknown = UInt32.max

    init(_ found: (queryMark: Int?, pathHasEscapes: Bool)) {
        let escapes: UInt32 = found.pathHasEscapes ? 1 : 0
        guard let mark = found.queryMark else {
            bits = escapes
            return
        }
        bits = mark < 1 << 30 ? UInt32(mark + 1) << 1 | escapes : Self.unknown
    }

    @inlinable var isUnknown: Bool { bits == Self.unknown }

    @inlinable var queryMark: Int? { bits >> 1 == 0 ? nil : Int(bits >> 1) - 1 }
    @inlinable var pathHasEscapes: Bool { bits & 1 == 1 }
}

/// A request-target in origin form taken apart: the one place that splits a target, in one
/// pass that also notes whether the path has escapes to decode. Pieces are cut only when asked
/// for, and a target without a query is its own path, shared rather than copied (cutting
/// substrings and making strings of them was ~250 instructions a request).
public struct RequestTarget: Sendable {
    /// The whole request-target as sent, query included.
    public let target: String
    /// The byte offset of the `?`, if there is one.
    @usableFromInline let queryMark: Int?
    /// Whether the path holds a `%`, so that decoding it can be skipped when it does not.
    public let pathHasEscapes: Bool

    /// Takes apart `target`, scanning its bytes once for `?` and `%`.
    public init(_ target: String) {
        self.target = target
        (queryMark, pathHasEscapes) = Self.scan(target)
    }

    static func scan(_ target: String) -> (queryMark: Int?, pathHasEscapes: Bool) {
        var scanned = target
        return scanned.withUTF8(scan)
    }

    /// A target whose bytes were already scanned (by the parser).
    @inlinable
    init(_ target: String, queryMark: Int?, pathHasEscapes: Bool) {
        self.target = target
        self.queryMark = queryMark
        self.pathHasEscapes = pathHasEscapes
    }

    private static func scan(_ bytes: UnsafeBufferPointer<UInt8>) -> (queryMark: Int?, pathHasEscapes: Bool) {
        var escaped = false
        for index in bytes.indices {
            if bytes[index] == UInt8(ascii: "?") { return (index, escaped) }
            if bytes[index] == UInt8(ascii: "%") { escaped = true }
        }
        return (nil, escaped)
    }

    /// Up to `?`, still percent-encoded.
    public var path: Substring {
        guard let queryMark else { return target[...] }
        return target[..<target.utf8.index(target.utf8.startIndex, offsetBy: queryMark)]
    }

    /// After `?` (still encoded), or "".
    public var query: Substring {
        guard let queryMark else { return "" }
        return target[target.utf8.index(target.utf8.startIndex, offsetBy: queryMark + 1)...]
    }

    /// `path` as a string: the target itself when it has no query.
    @inlinable public var pathString: String { queryMark == nil ? target : String(path) }

    /// `query` as a string.
    @inlinable public var queryString: String { queryMark == nil ? "" : String(query) }
}
