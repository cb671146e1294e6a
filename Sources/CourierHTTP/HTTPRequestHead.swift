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
    public var path: Substring {
        if let mark = target.utf8.firstIndex(of: UInt8(ascii: "?")) { return target[..<mark] }
        return target[...]
    }

    /// The target after `?`, or "".
    public var query: Substring {
        if let mark = target.utf8.firstIndex(of: UInt8(ascii: "?")) { return target[target.index(after: mark)...] }
        return ""
    }

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
