import Crypto
import Foundation

/// The signed-in user's email, carried by the browser: `base64url(email|expiry).base64url(HMAC)`.
/// The server keeps no session table, so any process with the same secret accepts the cookie,
/// and a restart signs nobody out. The cookie carries no user ID: `Users` derives it again.
/// `@unchecked`: SymmetricKey is an immutable value that swift-crypto has not marked Sendable.
struct SessionCookie: @unchecked Sendable {
    let key: SymmetricKey

    init(secret: [UInt8]) { key = SymmetricKey(data: secret) }

    func value(for user: User, expiresAt expiry: Int) -> String {
        let payload = Array("\(user.email)|\(expiry)".utf8)
        let mac = HMAC<SHA256>.authenticationCode(for: payload, using: key)
        return Base64URL.encode(payload) + "." + Base64URL.encode(Array(mac))
    }

    /// The email, when the cookie is ours, untampered and not expired.
    func email(from value: String, now: Int) -> String? {
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let payload = Base64URL.decode(parts[0]), let mac = Base64URL.decode(parts[1]),
              HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: payload, using: key) else { return nil }
        let text = String(decoding: payload, as: UTF8.self)
        guard let bar = text.lastIndex(of: "|"), let expiry = Int(text[text.index(after: bar)...]), expiry > now else { return nil }
        return String(text[..<bar])
    }
}

enum Base64URL {
    static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ text: Substring) -> [UInt8]? {
        guard text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else { return nil }
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while standard.count % 4 != 0 { standard += "=" }
        return Data(base64Encoded: standard).map(Array.init)
    }
}
