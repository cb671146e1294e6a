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

/// RFC 4648 base64, for the handshake key and accept values.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let b0 = bytes[index]
            let b1 = index + 1 < bytes.count ? bytes[index + 1] : 0
            let b2 = index + 2 < bytes.count ? bytes[index + 2] : 0
            output.append(alphabet[Int(b0 >> 2)])
            output.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            output.append(index + 1 < bytes.count ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            output.append(index + 2 < bytes.count ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Strict decoding (padding required); nil for anything else.
    public static func decode(_ text: String) -> [UInt8]? {
        let input = Array(text.utf8)
        guard input.count % 4 == 0 else { return nil }
        var output: [UInt8] = []
        var index = 0
        while index < input.count {
            var values: [UInt8] = []
            var padding = 0
            for offset in 0..<4 {
                let byte = input[index + offset]
                if byte == UInt8(ascii: "=") {
                    guard index + 4 == input.count, offset >= 2 else { return nil }
                    padding += 1
                    values.append(0)
                } else {
                    guard padding == 0, let value = alphabet.firstIndex(of: byte) else { return nil }
                    values.append(UInt8(value))
                }
            }
            output.append(values[0] << 2 | values[1] >> 4)
            if padding < 2 { output.append(values[1] << 4 | values[2] >> 2) }
            if padding < 1 { output.append(values[2] << 6 | values[3]) }
            index += 4
        }
        return output
    }
}
