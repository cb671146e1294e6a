/// A web origin (scheme, host, port) as browsers name it in `Origin` and `Referer`, and the
/// same comparison for the request's own `Host`. Only http and https: a page of any other
/// scheme (a browser extension, a file) is no page of this site.
struct WebOrigin: Hashable, Sendable {
    let scheme: String
    /// Lowercased; an IPv6 address keeps its brackets.
    let host: String
    /// Explicit or the scheme's default.
    let port: Int

    /// `scheme://host[:port]` with nothing after it: the `Origin` header's form.
    init?(origin text: String) {
        guard let (origin, rest) = Self.parsePrefix(of: Substring(text)), rest.isEmpty || rest == "/" else { return nil }
        self = origin
    }

    /// The origin of an absolute http(s) URL: the `Referer` header's form.
    init?(url text: String) {
        guard let (origin, rest) = Self.parsePrefix(of: Substring(text)),
              rest.isEmpty || rest.first == "/" || rest.first == "?" || rest.first == "#" else { return nil }
        self = origin
    }

    private init(scheme: String, host: String, port: Int) {
        self.scheme = scheme
        self.host = host
        self.port = port
    }

    /// How the origin serializes, the default port left out: `http://example.com`.
    var serialized: String {
        port == Self.defaultPort(scheme) ? "\(scheme)://\(host)" : "\(scheme)://\(host):\(port)"
    }

    /// Whether this origin names the host a request was sent to. The scheme is not compared:
    /// behind a proxy that ends TLS the server cannot tell which one the browser used. A `Host`
    /// without a port matches the scheme's default port only.
    func isSameHost(as hostHeader: String) -> Bool {
        guard let (host, port) = Self.splitAuthority(Substring(hostHeader)) else { return false }
        return host == self.host && (port ?? Self.defaultPort(scheme)) == self.port
    }

    private static func defaultPort(_ scheme: String) -> Int { scheme == "https" ? 443 : 80 }

    private static func parsePrefix(of text: Substring) -> (WebOrigin, Substring)? {
        guard let separator = text.range(of: "://") else { return nil }
        let scheme = text[..<separator.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { return nil }
        let afterScheme = text[separator.upperBound...]
        let authority = afterScheme.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        // Browsers never put credentials in either header; `user@host` is a disguise.
        guard !authority.contains("@"), let (host, port) = splitAuthority(authority) else { return nil }
        return (WebOrigin(scheme: scheme, host: host, port: port ?? defaultPort(scheme)),
                afterScheme[authority.endIndex...])
    }

    /// `host`, `host:port` or `[v6]:port`, the host lowercased; nil when malformed.
    private static func splitAuthority(_ authority: Substring) -> (String, Int?)? {
        let host: Substring, portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[...close]
            let rest = authority[authority.index(after: close)...]
            guard rest.isEmpty || rest.first == ":" else { return nil }
            portText = rest.isEmpty ? nil : rest.dropFirst()
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
            portText = nil
        }
        guard !host.isEmpty, host.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "\\" }),
              host.hasPrefix("[") || !host.contains(":") else { return nil }
        guard let portText else { return (host.lowercased(), nil) }
        guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy(\.isASCIIDigit),
              let port = Int(portText), port <= 65_535 else { return nil }
        return (host.lowercased(), port)
    }
}

private extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
