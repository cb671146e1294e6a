import Crypto

/// The opening handshake (RFC 6455 §4.2): checks a client's upgrade request and builds the
/// 101 answer. Refusals carry the status to send: 426 (with the version we speak) when the
/// version is wrong or the request is not an upgrade at all, 400 when it is malformed.
public enum WebSocketHandshake {
    public struct Offer: Sendable {
        public let key: String
        public let protocols: [String]
        public let extensionOffers: [String]
        public let origin: String?
    }

    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public let status: HTTPStatus
        public let reason: String
        public let headers: HTTPHeaders
        public var description: String { "\(status.code): \(reason)" }
    }

    static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    public static func acceptValue(forKey key: String) -> String {
        let digest = Insecure.SHA1.hash(data: Array((key + guid).utf8))
        return Base64.encode(Array(digest))
    }

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

    public static func response(for offer: Offer, subprotocol: String?, deflate: PerMessageDeflateParameters?) -> HTTPResponseHead {
        var headers: HTTPHeaders = ["Upgrade": "websocket", "Connection": "Upgrade",
                                    "Sec-WebSocket-Accept": acceptValue(forKey: offer.key)]
        if let subprotocol { headers.add("Sec-WebSocket-Protocol", subprotocol) }
        if let deflate { headers.add("Sec-WebSocket-Extensions", deflate.responseHeaderValue) }
        return HTTPResponseHead(status: .switchingProtocols, headers: headers)
    }
}
