import Crypto

/// The opening handshake (RFC 6455 §4.2): checks a client's upgrade request and builds the
/// 101 answer. Refusals carry the status to send: 426 (with the version we speak) when the
/// version is wrong or the request is not an upgrade at all, 400 when it is malformed.
public enum WebSocketHandshake {
    /// What a valid upgrade request asked for, to choose a subprotocol and extensions before answering.
    public struct Offer: Sendable {
        /// The client's Sec-WebSocket-Key, trimmed; checked to be 16 bytes of base64.
        public let key: String
        /// The subprotocols offered, in the client's order of preference; [] when none.
        public let protocols: [String]
        /// Each Sec-WebSocket-Extensions value as sent, for `PerMessageDeflateParameters.negotiate`.
        public let extensionOffers: [String]
        /// The Origin header, or nil when absent (non-browser clients). Check it against cross-site WebSocket hijacking.
        public let origin: String?
    }

    /// A request that cannot be upgraded: answer it with `status` and `headers`, then handle it as plain HTTP or close.
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        /// 426 when the request is not an upgrade or asks for another version; 400 when it is malformed.
        public let status: HTTPStatus
        /// What was wrong, for logs.
        public let reason: String
        /// Fields the refusal must carry (Upgrade and Sec-WebSocket-Version with a 426); may be empty.
        public let headers: HTTPHeaders
        /// "code: reason", for logs.
        public var description: String { "\(status.code): \(reason)" }
    }

    static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// The Sec-WebSocket-Accept value for a client key: base64 of SHA-1 of the key and the RFC 6455 GUID.
    public static func acceptValue(forKey key: String) -> String {
        let digest = Insecure.SHA1.hash(data: Array((key + guid).utf8))
        return Base64.encode(Array(digest))
    }

    /// Checks an upgrade request: GET over HTTP/1.1 or later, Upgrade: websocket, Connection: upgrade, version 13 and one valid key.
    /// Throws a `Refusal` carrying the status and fields to answer with.
    public static func validate(_ head: HTTPRequestHead) throws(Refusal) -> Offer {
        let upgradeHeaders: HTTPHeaders = ["Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13"]
        guard head.headers.containsToken("websocket", in: "Upgrade") else {
            throw Refusal(status: .upgradeRequired, reason: "not a WebSocket upgrade request", headers: upgradeHeaders)
        }
        guard head.method == .get, head.version == .http1_1 || head.version.minor > 1 else {
            throw Refusal(status: .badRequest, reason: "WebSocket upgrade needs GET over HTTP/1.1", headers: [:])
        }
        guard head.headers.containsToken("upgrade", in: "Connection") else {
            throw Refusal(status: .badRequest, reason: "Connection header lacks 'upgrade'", headers: [:])
        }
        guard head.headers.values("Sec-WebSocket-Version").count == 1, head.headers["Sec-WebSocket-Version"]?.trimmingSpaces == "13" else {
            throw Refusal(status: .upgradeRequired, reason: "unsupported Sec-WebSocket-Version", headers: ["Sec-WebSocket-Version": "13"])
        }
        let keys = head.headers.values("Sec-WebSocket-Key")
        guard keys.count == 1, let key = keys.first.map({ String($0.trimmingSpaces) }), Base64.decode(key)?.count == 16 else {
            throw Refusal(status: .badRequest, reason: "missing or invalid Sec-WebSocket-Key", headers: [:])
        }
        let protocols = head.headers.values("Sec-WebSocket-Protocol")
            .flatMap { $0.split(separator: ",") }.map { String($0.trimmingSpaces) }.filter { !$0.isEmpty }
        return Offer(key: key, protocols: protocols, extensionOffers: head.headers.values("Sec-WebSocket-Extensions"),
                     origin: head.headers["Origin"])
    }

    /// The 101 head accepting `offer`. `subprotocol` must be one of `offer.protocols` or nil; `deflate` is what `negotiate` accepted, or nil to send uncompressed.
    public static func response(for offer: Offer, subprotocol: String?, deflate: PerMessageDeflateParameters?) -> HTTPResponseHead {
        var headers: HTTPHeaders = ["Upgrade": "websocket", "Connection": "Upgrade",
                                    "Sec-WebSocket-Accept": acceptValue(forKey: offer.key)]
        if let subprotocol { headers.add("Sec-WebSocket-Protocol", subprotocol) }
        if let deflate { headers.add("Sec-WebSocket-Extensions", deflate.responseHeaderValue) }
        return HTTPResponseHead(status: .switchingProtocols, headers: headers)
    }
}
