import CourierHTTP
import Crypto

/// The fields a `SignedToken` carries, as the bytes its MAC covers. Each kind of token lays its
/// fields out its own way (the session cookie as text, the channel token as binary), fixed by
/// the tokens browsers already hold; signing, checking and expiring them is the same for all,
/// and lives in `SignedToken`.
package protocol SignedTokenClaims {
    /// Whole seconds since 1970 from which the token is refused as expired.
    var expiry: UInt64 { get }
    /// The bytes the MAC covers.
    func encoded() -> [UInt8]
    /// The claims in `payload`, or nil when it is malformed. Called only on a payload whose MAC
    /// checked out, so a changed field is refused as tampering before anything reads it.
    init?(decoding payload: ArraySlice<UInt8>)
    /// Where the MAC goes in the token.
    static var layout: SignedTokenLayout { get }
}

/// How a token spells its payload and MAC. Tokens already issued fix each kind's layout.
package enum SignedTokenLayout: Sendable {
    /// `base64url(payload ‖ mac)`: one opaque word (channel tokens).
    case macAppended
    /// `base64url(payload) "." base64url(mac)` (session cookies).
    case macAfterDot
}

/// Why a token was refused. `expired` only for a genuine token: anything altered, foreign or
/// malformed is `invalid`, whatever its expiry field says.
package enum SignedTokenError: Error, Equatable, Sendable {
    case invalid
    case expired
}

/// A value the server hands out and later takes back as proof (a session cookie, a channel
/// token): HMAC-SHA-256 over its claims with a server secret, so it cannot be forged or
/// altered without the secret, and any process sharing the secret accepts it with no table
/// of issued tokens. Both the session cookie and the channel token are this type, so the
/// rules (MAC compared in constant time, MAC checked before any field is read, expiry
/// compared with no conversion that traps or rounds the wrong way) are written once.
/// `@unchecked`: SymmetricKey is an immutable value that swift-crypto has not marked Sendable.
package struct SignedToken<Claims: SignedTokenClaims>: @unchecked Sendable {
    private let key: SymmetricKey

    /// Longer text is refused before decoding: no token or cookie of ours is near it (browsers
    /// keep cookies under 4 KiB), and a hostile one then costs no work in proportion to its size.
    package static var maxLength: Int { 4096 }

    /// The MAC key is the secret itself, as tokens already issued were signed.
    package init(secret: [UInt8]) {
        key = SymmetricKey(data: secret)
    }

    /// The token for `claims`, in its kind's layout; anyone holding it can read the claims
    /// (they are signed, not encrypted), nobody without the secret can change them.
    package func sign(_ claims: Claims) -> String {
        let payload = claims.encoded()
        let mac = Array(HMAC<SHA256>.authenticationCode(for: payload, using: key))
        switch Claims.layout {
        case .macAppended: return Base64URL.encode(payload + mac)
        case .macAfterDot: return Base64URL.encode(payload) + "." + Base64URL.encode(mac)
        }
    }

    /// The claims of a genuine token that has not expired at `now` (seconds since 1970).
    package func verify(_ token: some StringProtocol, now: Double) throws(SignedTokenError) -> Claims {
        guard token.utf8.count <= Self.maxLength, let parts = Self.split(token), !parts.payload.isEmpty,
              // Constant time: swift-crypto compares the whole MAC whatever the first difference.
              HMAC<SHA256>.isValidAuthenticationCode(parts.mac, authenticating: parts.payload, using: key),
              let claims = Claims(decoding: parts.payload[...]) else { throw .invalid }
        guard !Self.hasPassed(claims.expiry, now: now) else { throw .expired }
        return claims
    }

    private static func split(_ token: some StringProtocol) -> (payload: [UInt8], mac: [UInt8])? {
        switch Claims.layout {
        case .macAppended:
            guard let bytes = Base64URL.decode(token), bytes.count > SHA256.byteCount else { return nil }
            return (Array(bytes.dropLast(SHA256.byteCount)), Array(bytes.suffix(SHA256.byteCount)))
        case .macAfterDot:
            let parts = token.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 2, let payload = Base64URL.decode(parts[0]), let mac = Base64URL.decode(parts[1]),
                  mac.count == SHA256.byteCount else { return nil }
            return (payload, mac)
        }
    }

    /// Whether `now` has reached `expiry`, exactly: a clock reading in seconds (any Double, NaN
    /// and infinities included) against whole seconds up to UInt64.max, where `Double(expiry)`
    /// would round and `UInt64(now)` would trap. A NaN clock refuses the token.
    package static func hasPassed(_ expiry: UInt64, now: Double) -> Bool {
        if now.isNaN { return true }
        if now < 0 { return false }
        guard now < 0x1p64 else { return true }
        // For a whole-second expiry, now < expiry exactly when floor(now) < expiry.
        return UInt64(now.rounded(.down)) >= expiry
    }

    /// The expiry of a token issued at `now` that lasts `seconds`: at least that long (`now`
    /// rounded up to a whole second), saturating at 0 and UInt64.max rather than overflowing
    /// for a hostile clock or duration.
    package static func expiry(now: Double, lasting seconds: Int) -> UInt64 {
        let start: UInt64
        if now.isNaN || now <= 0 {
            start = 0
        } else {
            let up = now.rounded(.up)
            start = up < 0x1p64 ? UInt64(up) : .max
        }
        let duration = UInt64(seconds.magnitude)
        if seconds >= 0 {
            let (sum, overflow) = start.addingReportingOverflow(duration)
            return overflow ? .max : sum
        }
        return start > duration ? start - duration : 0
    }
}
