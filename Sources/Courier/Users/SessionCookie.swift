/// The signed-in user's email, carried by the browser: `base64url(email|expiry).base64url(HMAC)`.
/// The server keeps no session table, so any process with the same secret accepts the cookie,
/// and a restart signs nobody out. The cookie carries no user ID: `Users` derives it again.
struct SessionCookie: Sendable {
    /// `email|expiry`, the expiry in decimal seconds since 1970.
    struct Claims: SignedTokenClaims {
        static var layout: SignedTokenLayout { .macAfterDot }
        let email: String
        let expiry: UInt64

        init(email: String, expiry: UInt64) {
            self.email = email
            self.expiry = expiry
        }

        func encoded() -> [UInt8] {
            Array("\(email)|\(expiry)".utf8)
        }

        /// The expiry is digits only and at most UInt64.max: a sign, a space or a number past
        /// that is malformed, never wrapped or trapped on.
        init?(decoding payload: ArraySlice<UInt8>) {
            guard let bar = payload.lastIndex(of: UInt8(ascii: "|")) else { return nil }
            let digits = payload[(bar + 1)...]
            guard !digits.isEmpty, digits.count <= 20, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                  let expiry = UInt64(String(decoding: digits, as: UTF8.self)) else { return nil }
            self.email = String(decoding: payload[..<bar], as: UTF8.self)
            self.expiry = expiry
        }
    }

    let token: SignedToken<Claims>

    init(secret: [UInt8]) { token = SignedToken(secret: secret) }

    /// The cookie for `user`, good for `lifetimeSeconds` from `now`.
    func value(for user: User, now: Int, lifetimeSeconds: Int) -> String {
        token.sign(Claims(email: user.email, expiry: SignedToken<Claims>.expiry(now: Double(now), lasting: lifetimeSeconds)))
    }

    /// The email, when the cookie is ours, untampered and not expired.
    func email(from value: String, now: Int) -> String? {
        try? token.verify(value, now: Double(now)).email
    }
}
