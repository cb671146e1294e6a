import Crypto
import Foundation

/// Turns an email into its user ID with HMAC-SHA-256 under a key derived (HKDF) from the session
/// secret. The derivation keeps the ID key apart from the cookie key, so no MAC one produces
/// can stand for the other; the shared secret keeps IDs stable across restarts and processes.
/// `@unchecked`: SymmetricKey is an immutable value that swift-crypto has not marked Sendable.
struct UserIDKey: @unchecked Sendable {
    private let key: SymmetricKey

    init(secret: [UInt8]) {
        key = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: secret),
                                     info: Array("courier user id v1".utf8), outputByteCount: 32)
    }

    /// "1" and 20 digits: the first 64 bits of the MAC, zero-padded.
    func id(for normalizedEmail: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array(normalizedEmail.utf8), using: key)
        let number = mac.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let digits = String(number)
        return "1" + String(repeating: "0", count: 20 - digits.count) + digits
    }
}
