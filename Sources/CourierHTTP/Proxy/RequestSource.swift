/// Who a request came from and how the client addressed it: the TCP peer, or, when the peer is
/// a trusted proxy, what that proxy reports. Behind TLS-terminating nginx the peer is nginx on
/// plain HTTP; this is what lets the app still see the browser's address, `https` and the
/// public host, for logs, absolute URLs and `Secure` cookies.
public struct RequestSource: Sendable, Equatable {
    /// The client's IP address ("203.0.113.7", "2001:db8::7") without its port; "unknown" or an
    /// obfuscated `_name` when a trusted proxy could not or would not say; in process, whatever
    /// the caller gave.
    public var clientAddress: String
    /// "http" or "https": the scheme the client used to reach the first trusted proxy, or
    /// "http" for a direct connection (Courier itself speaks no TLS).
    public var scheme: String
    /// The host and port the client asked for, as a trusted proxy reports it; nil to use the
    /// request's own `Host`.
    public var host: String?

    /// Whether the client's connection was TLS.
    public var isSecure: Bool { scheme == "https" }

    /// A source as given (tests, in-process requests).
    public init(clientAddress: String, scheme: String = "http", host: String? = nil) {
        self.clientAddress = clientAddress
        self.scheme = scheme
        self.host = host
    }

    /// The peer itself, believing no header: `peer` is the socket's "ip:port" ("[ip]:port"),
    /// and its address part becomes `clientAddress`; text that is no address is kept whole.
    public init(peer: String) {
        if case .address(let address) = ForwardedNode(peer[...]) {
            self.init(clientAddress: address.description)
        } else {
            self.init(clientAddress: peer)
        }
    }

    /// The source of a request from `peer` with `headers`. Unless `peer` is one of `proxies`,
    /// that is the peer itself and the forwarding fields are not read. From a trusted proxy:
    /// the `X-Forwarded-*` fields if it sent any, else `Forwarded`. The client is the nearest
    /// hop, walking from the proxy outwards, that is not itself a trusted proxy.
    ///
    /// One family, not a mix: a proxy sets one and passes the other on from the client
    /// untouched, so whichever it does not set is the client's to forge. The X-Forwarded family
    /// comes first because nginx, HAProxy and most load balancers set it and pass `Forwarded`
    /// through (docs/deploy/nginx.conf removes it as well).
    public init(peer: String, headers: HTTPHeaders, trusting proxies: TrustedProxies) {
        self.init(peer: peer)
        guard !proxies.isEmpty, case .address(let address) = ForwardedNode(peer[...]), proxies.trusts(address) else { return }
        if headers.contains("X-Forwarded-For") || headers.contains("X-Forwarded-Proto") || headers.contains("X-Forwarded-Host") {
            readXForwarded(headers, proxies)
        } else if headers.contains("Forwarded") {
            readForwarded(headers, proxies)
        }
    }

    /// Hops beyond this many are not read: the request's client is then `unknown`.
    static let maxListElements = 64

    private mutating func readXForwarded(_ headers: HTTPHeaders, _ proxies: TrustedProxies) {
        guard let hops = Self.list(headers, "X-Forwarded-For"), let protos = Self.list(headers, "X-Forwarded-Proto"),
              let hosts = Self.list(headers, "X-Forwarded-Host") else {
            self = RequestSource(clientAddress: ForwardedNode.unknown.text)
            return
        }
        let nodes = hops.map(ForwardedNode.init)
        let index = Self.clientIndex(nodes, proxies)
        if let index { clientAddress = nodes[index].text }
        // Proto and host lists that run parallel to the hops are read at the client's hop;
        // otherwise the last value, which the nearest (trusted) proxy wrote.
        func pick(_ values: [Substring]) -> Substring? {
            if let index, values.count == hops.count { return values[index] }
            return values.last
        }
        scheme = Self.scheme(pick(protos)) ?? "http"
        host = pick(hosts).flatMap(Self.validHost)
    }

    private mutating func readForwarded(_ headers: HTTPHeaders, _ proxies: TrustedProxies) {
        guard let forwarded = ForwardedHeader(headers) else {
            self = RequestSource(clientAddress: ForwardedNode.unknown.text)
            return
        }
        let elements = forwarded.elements
        guard let index = Self.clientIndex(elements.map { $0.node ?? .unknown }, proxies) else { return }
        clientAddress = (elements[index].node ?? .unknown).text
        scheme = Self.scheme(elements[index].proto.map { $0[...] }) ?? "http"
        host = elements[index].host.flatMap { Self.validHost($0[...]) }
    }

    /// The hop to believe as the client: from the right (nearest) end, the first that is not a
    /// trusted proxy, or the farthest when all are; nil for no hops.
    private static func clientIndex(_ nodes: [ForwardedNode], _ proxies: TrustedProxies) -> Int? {
        var index = nodes.count - 1
        while index > 0, case .address(let address) = nodes[index], proxies.trusts(address) { index -= 1 }
        return index >= 0 ? index : nil
    }

    /// Every value of the comma-separated field `name`, all its lines in order, empty elements
    /// dropped; nil when there are more than `maxListElements`.
    private static func list(_ headers: HTTPHeaders, _ name: String) -> [Substring]? {
        var result: [Substring] = []
        for field in headers where HTTPHeaders.equalNames(field.name, name) {
            for part in field.value.split(separator: ",", maxSplits: maxListElements, omittingEmptySubsequences: true) {
                let element = part.trimmingSpaces
                if element.isEmpty { continue }
                result.append(element)
                if result.count > maxListElements { return nil }
            }
        }
        return result
    }

    /// "http" or "https", any case; nil for anything else (a scheme Courier cannot be reached by).
    private static func scheme(_ text: Substring?) -> String? {
        guard let text, text.utf8.count <= 5 else { return nil }
        switch text.lowercased() {
        case "http": return "http"
        case "https": return "https"
        default: return nil
        }
    }

    /// A forwarded host, if it could be a `Host` value (RFC 9112 section 3.2, the parser's own
    /// byte test) and is no longer than a host name and port can be.
    private static func validHost(_ text: Substring) -> String? {
        guard (1...261).contains(text.utf8.count) else { return nil }
        for byte in text.utf8 where HTTPRequestParser.hostByteBit(byte) == 0 { return nil }
        return String(text)
    }
}
