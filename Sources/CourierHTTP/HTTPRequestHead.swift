/// The request line and header fields of one request, before its body.
public struct HTTPRequestHead: Sendable {
    public var method: HTTPMethod
    /// The request-target as sent ("/path?query" in origin form).
    public var target: String
    public var version: HTTPVersion
    public var headers: HTTPHeaders

    public init(method: HTTPMethod, target: String, version: HTTPVersion = .http1_1, headers: HTTPHeaders = HTTPHeaders()) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
    }

    /// The target up to `?`, still percent-encoded.
    public var path: Substring { RequestTarget(target).path }

    /// The target after `?`, or "".
    public var query: Substring { RequestTarget(target).query }

    /// HTTP/1.1 keeps the connection unless told to close; 1.0 closes unless told to keep it.
    public var wantsKeepAlive: Bool {
        if headers.containsToken("close", in: "Connection") { return false }
        if version == .http1_0 { return headers.containsToken("keep-alive", in: "Connection") }
        return true
    }

    public var expectsContinue: Bool {
        guard version != .http1_0, let expect = headers["Expect"] else { return false }
        return HTTPHeaders.equalNames(expect.trimmingSpaces, "100-continue")
    }
}

/// A request-target in origin form taken apart: the one place that splits a target, in one
/// pass that also notes whether the path has escapes to decode (two generic scans of the UTF-8
/// view cost more than building the request's strings).
public struct RequestTarget: Sendable {
    /// Up to `?`, still percent-encoded.
    public var path: Substring
    /// After `?` (still encoded), or "".
    public var query: Substring
    /// Whether `path` holds a `%`, so that decoding it can be skipped when it does not.
    public var pathHasEscapes: Bool

    public init(_ target: String) {
        var scanned = target
        let (mark, escaped) = scanned.withUTF8 { bytes -> (Int?, Bool) in
            var escaped = false
            for index in bytes.indices {
                if bytes[index] == UInt8(ascii: "?") { return (index, escaped) }
                if bytes[index] == UInt8(ascii: "%") { escaped = true }
            }
            return (nil, escaped)
        }
        pathHasEscapes = escaped
        if let mark {
            let end = target.utf8.index(target.utf8.startIndex, offsetBy: mark)
            path = target[..<end]
            query = target[target.utf8.index(after: end)...]
        } else {
            path = target[...]
            query = ""
        }
    }
}
