import Courier

/// What a channel token says: `version (1) ‖ expiry (8, big-endian seconds) ‖ nonce (16) ‖
/// client ID (UTF-8)`, signed as a `SignedToken` with the MAC appended, all base64url. The
/// nonce makes two tokens for one client ID and second differ.
struct ChannelTokenClaims: SignedTokenClaims {
    static var layout: SignedTokenLayout { .macAppended }
    static let version: UInt8 = 1
    /// Version, expiry and nonce come before the client ID.
    private static let headerCount = 1 + 8 + 16

    let expiry: UInt64
    let nonce: [UInt8]
    let clientID: String

    init(clientID: String, expiry: UInt64) {
        var generator = SystemRandomNumberGenerator()
        self.init(clientID: clientID, expiry: expiry, nonce: (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    private init(clientID: String, expiry: UInt64, nonce: [UInt8]) {
        self.clientID = clientID
        self.expiry = expiry
        self.nonce = nonce
    }

    func encoded() -> [UInt8] {
        var bytes = [Self.version]
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: expiry >> UInt64(shift))) }
        return bytes + nonce + Array(clientID.utf8)
    }

    /// Every expiry a UInt64 holds is one a genuine token may carry (a test clock issues them
    /// far in the future), so only the version and the length are checked here.
    init?(decoding payload: ArraySlice<UInt8>) {
        guard payload.count > Self.headerCount, payload.first == Self.version else { return nil }
        let start = payload.startIndex
        let expiry = payload[(start + 1)..<(start + 9)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        self.init(clientID: String(decoding: payload[(start + Self.headerCount)...], as: UTF8.self), expiry: expiry,
                  nonce: Array(payload[(start + 9)..<(start + Self.headerCount)]))
    }
}

/// Issues and checks channel tokens with the server secret and the service's clock. Opaque to
/// apps and browsers, unforgeable without the secret, and self-contained, so any process
/// sharing the secret can check one.
struct TokenSigner: Sendable {
    typealias Failure = SignedTokenError
    private let token: SignedToken<ChannelTokenClaims>
    let clock: any ChannelClock

    init(secret: [UInt8], clock: any ChannelClock) {
        token = SignedToken(secret: secret)
        self.clock = clock
    }

    /// A token valid for at least `durationSeconds` (expiry is kept in whole seconds, rounded up).
    func issue(clientID: String, durationSeconds: Int) -> (token: String, expiry: Double) {
        let expiry = SignedToken<ChannelTokenClaims>.expiry(now: clock.now(), lasting: durationSeconds)
        return (token.sign(ChannelTokenClaims(clientID: clientID, expiry: expiry)), Double(expiry))
    }

    /// The client ID and expiry of a genuine token; `.expired` only for a genuine one.
    func verify(_ token: String) throws(Failure) -> (clientID: String, expiry: Double) {
        let claims = try self.token.verify(token, now: clock.now())
        return (claims.clientID, Double(claims.expiry))
    }
}
