import Crypto
import Foundation

/// Issues and checks channel tokens: HMAC-SHA-256 over (version, expiry, nonce, client ID)
/// with the server secret, base64url-encoded. Opaque to apps and browsers, unforgeable
/// without the secret, and self-contained, so any process sharing the secret can check one.
struct TokenSigner: @unchecked Sendable {
    enum Failure: Error, Equatable {
        case invalid
        case expired
    }

    static let version: UInt8 = 1
    private let key: SymmetricKey
    let clock: any ChannelClock

    init(secret: [UInt8], clock: any ChannelClock) {
        key = SymmetricKey(data: secret)
        self.clock = clock
    }

    /// A token valid for at least `durationSeconds` (expiry is kept in whole seconds, rounded up).
    func issue(clientID: String, durationSeconds: Int) -> (token: String, expiry: Double) {
        let expiry = UInt64(clock.now().rounded(.up)) + UInt64(durationSeconds)
        var payload: [UInt8] = [Self.version]
        for shift in stride(from: 56, through: 0, by: -8) { payload.append(UInt8((expiry >> UInt64(shift)) & 0xFF)) }
        var nonce = SystemRandomNumberGenerator()
        for _ in 0..<16 { payload.append(UInt8.random(in: 0...255, using: &nonce)) }
        payload += Array(clientID.utf8)
        let mac = HMAC<SHA256>.authenticationCode(for: payload, using: key)
        return (Self.base64URL(payload + Array(mac)), Double(expiry))
    }

    /// The client ID and expiry of a genuine token; `.expired` only for a genuine one.
    func verify(_ token: String) throws(Failure) -> (clientID: String, expiry: Double) {
        // Only the canonical spelling: base64 decoders ignore the unused low bits of the last
        // character, so without the round trip a changed last character could still verify.
        guard token.utf8.count < 1024, let bytes = Self.decodeBase64URL(token), bytes.count > 1 + 8 + 16 + 32,
              bytes[0] == Self.version, Self.base64URL(bytes) == token else { throw .invalid }
        let payload = Array(bytes.dropLast(32))
        let mac = Array(bytes.suffix(32))
        guard HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: payload, using: key) else { throw .invalid }
        var expiry: UInt64 = 0
        for index in 1...8 { expiry = expiry << 8 | UInt64(payload[index]) }
        let clientID = String(decoding: payload[25...], as: UTF8.self)
        guard clock.now() < Double(expiry) else { throw .expired }
        return (clientID, Double(expiry))
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decodeBase64URL(_ text: String) -> [UInt8]? {
        guard text.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || $0 == 0x2D || $0 == 0x5F }) else {
            return nil
        }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.utf8.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).map(Array.init)
    }
}
