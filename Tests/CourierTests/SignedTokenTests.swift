@testable import Courier
import Testing

/// `SignedToken`, the one signed, expiring token type (session cookies and channel tokens): the
/// session cookie's wire format, tampering, foreign secrets, malformed text, expiry at its
/// boundary and at the extremes of the clock, and hostile numbers inside genuine MACs.

private let secret: [UInt8] = Array(1...32)
private typealias Cookie = SignedToken<SessionCookie.Claims>

/// Claims whose payload is any bytes: signs a genuine MAC over hostile contents, which the
/// cookie's claims must then refuse or read safely.
private struct RawClaims: SignedTokenClaims {
    static var layout: SignedTokenLayout { .macAfterDot }
    let payload: [UInt8]
    var expiry: UInt64 { 0 }
    init(_ text: String) { payload = Array(text.utf8) }
    init?(decoding payload: ArraySlice<UInt8>) { self.payload = Array(payload) }
    func encoded() -> [UInt8] { payload }
}

/// The same with the MAC appended (the channel token's layout); the first byte is the expiry.
private struct AppendedClaims: SignedTokenClaims {
    static var layout: SignedTokenLayout { .macAppended }
    let payload: [UInt8]
    var expiry: UInt64 { payload.first.map(UInt64.init) ?? .max }
    init(_ payload: [UInt8]) { self.payload = payload }
    init?(decoding payload: ArraySlice<UInt8>) { self.init(Array(payload)) }
    func encoded() -> [UInt8] { payload }
}

@Suite struct SignedTokenTests {
    /// A cookie made with Python's `hmac` and `base64.urlsafe_b64encode` from the format
    /// (`base64url("ann@example.com|1060") "." base64url(HMAC-SHA-256)`): cookies browsers
    /// already hold keep verifying, and new ones are spelled the same.
    static let pythonCookie = "YW5uQGV4YW1wbGUuY29tfDEwNjA.ML9YvykMLo3ayOLRtfWtBDPDiEmxX-hDvo22-ftnmUY"

    @Test func theSessionCookieWireFormat() throws {
        let cookie = Cookie(secret: secret)
        #expect(cookie.sign(SessionCookie.Claims(email: "ann@example.com", expiry: 1060)) == Self.pythonCookie)
        let claims = try cookie.verify(Self.pythonCookie, now: 1059.999)
        #expect(claims.email == "ann@example.com" && claims.expiry == 1060)
    }

    /// Valid up to the second before its expiry, expired from the expiry on, by the same rule
    /// for a whole-second clock (Users) and a fractional one (channels).
    @Test(arguments: [(0.0, true), (1059.0, true), (1059.999_9, true), (1060.0, false), (1060.5, false), (1e12, false)])
    func expiryIsExactAtTheBoundary(now: Double, valid: Bool) {
        let cookie = Cookie(secret: secret)
        if valid {
            #expect(throws: Never.self) { try cookie.verify(Self.pythonCookie, now: now) }
        } else {
            #expect(throws: SignedTokenError.expired) { try cookie.verify(Self.pythonCookie, now: now) }
        }
    }

    /// Every single-character change, and every cut, is invalid (never expired, never another
    /// user), with a clock at which the genuine cookie is also expired: tampering is found
    /// before the expiry is read.
    @Test func everyChangedCharacterIsInvalid() {
        let cookie = Cookie(secret: secret)
        let original = Array(Self.pythonCookie)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ")
        var notInvalid: [String] = []
        func check(_ text: String, now: Double) {
            do {
                _ = try cookie.verify(text, now: now)
                notInvalid.append(text)
            } catch {
                if error != .invalid { notInvalid.append(text) }
            }
        }
        for index in original.indices {
            for character in alphabet where character != original[index] {
                var changed = original
                changed[index] = character
                check(String(changed), now: 5_000)
            }
            check(String(original[..<index]), now: 0)
            check(String(original[(index + 1)...]), now: 0)
        }
        #expect(notInvalid.isEmpty)
    }

    @Test func aForeignSecretIsInvalid() {
        let foreign = Cookie(secret: Array(repeating: 7, count: 32)).sign(SessionCookie.Claims(email: "ann@example.com", expiry: .max))
        #expect(throws: SignedTokenError.invalid) { try Cookie(secret: secret).verify(foreign, now: 0) }
    }

    /// Text that is no token at all: empty, wrong number of parts, padding, characters outside
    /// base64url, a MAC cut short or grown, and text past the length limit.
    @Test(arguments: ["", ".", "..", "YW5u", "YW5u.", ".ML9Y", "YW5u.ML9Y.x", pythonCookie + "=", pythonCookie + ".",
                      "YW5uQGV4YW1wbGUuY29tfDEwNjA=.ML9YvykMLo3ayOLRtfWtBDPDiEmxX-hDvo22-ftnmUY",
                      " " + pythonCookie, pythonCookie + "\n", pythonCookie.replacingOccurrences(of: "-", with: "+"),
                      String(pythonCookie.dropLast(2)), pythonCookie + "AA",
                      String(repeating: "A", count: 5_000) + "." + String(pythonCookie.split(separator: ".")[1])])
    func malformedTextIsInvalid(text: String) {
        #expect(throws: SignedTokenError.invalid) { try Cookie(secret: secret).verify(text, now: 0) }
    }

    /// Hostile contents under a genuine MAC: the expiry must be digits and fit a UInt64,
    /// never wrapped, trapped on or read with a sign; the email is everything before the last `|`.
    @Test(arguments: [
        ("a|18446744073709551615", "a"), ("a|1|5000", "a|1"), ("|5000", ""),
        ("a|18446744073709551616", nil), ("a|99999999999999999999999999999", nil), ("a|" + String(repeating: "9", count: 3_000), nil),
        ("a|-1", nil), ("a|+5000", nil), ("a| 5000", nil), ("a|5000 ", nil), ("a|0x5000", nil), ("a|", nil), ("a", nil), ("", nil),
        ("a|５０００", nil),
    ] as [(String, String?)])
    func hostileExpiryFieldsUnderAGenuineMAC(payload: String, email: String?) {
        let forged = SignedToken<RawClaims>(secret: secret).sign(RawClaims(payload))
        #expect((try? Cookie(secret: secret).verify(forged, now: 1_000))?.email == email)
    }

    /// Genuine expiries at the field's ends: 0 is expired at any clock from 1970 on, UInt64.max
    /// at no finite clock below 2^64.
    @Test func genuineExpiriesAtTheExtremes() throws {
        let cookie = Cookie(secret: secret)
        let epoch = cookie.sign(SessionCookie.Claims(email: "a@b", expiry: 0))
        #expect(throws: SignedTokenError.expired) { try cookie.verify(epoch, now: 0) }
        let forever = cookie.sign(SessionCookie.Claims(email: "a@b", expiry: .max))
        #expect(try cookie.verify(forever, now: 1.8e19).expiry == .max)
        #expect(throws: SignedTokenError.expired) { try cookie.verify(forever, now: 0x1p64) }
    }

    /// `now` against a whole-second expiry, exactly, for every kind of Double a clock could give.
    @Test(arguments: [
        (UInt64(0), 0.0, true), (0, -0.0, true), (0, -1, false), (1, 0.999_999, false), (1, 1, true), (5, -.infinity, false),
        (5, .infinity, true), (5, .nan, true), (.max, 1.8e19, false), (.max, 0x1p64, true), (.max, Double(UInt64.max), true),
        (9_007_199_254_740_993, 9_007_199_254_740_992, false), (9_007_199_254_740_992, 9_007_199_254_740_992, true),
        (UInt64(Int64.max) + 1, 0x1p63, true), (UInt64(Int64.max), 0x1p63, true), (UInt64(Int64.max) + 2, 0x1p63, false),
    ] as [(UInt64, Double, Bool)])
    func expiryComparison(expiry: UInt64, now: Double, passed: Bool) {
        #expect(Cookie.hasPassed(expiry, now: now) == passed)
    }

    /// The expiry of a token issued now: now rounded up plus the duration, saturating at both
    /// ends for a hostile clock or duration, never trapping.
    @Test(arguments: [
        (1_000.0, 60, UInt64(1_060)), (999.2, 60, 1_060), (0, 0, 0), (0, Int.max, UInt64(Int.max)), (1e19, Int.max, .max),
        (1.8e19, 1_000_000_000_000_000_000, .max), (.infinity, 1, .max), (.nan, 5, 5), (-1e300, 5, 5), (-.infinity, 0, 0),
        (100, -200, 0), (100, -60, 40), (100, Int.min, 0), (0x1p64, 0, .max), (Double(Int.max), 0, 0x8000_0000_0000_0000),
    ] as [(Double, Int, UInt64)])
    func expiryOfANewToken(now: Double, seconds: Int, expiry: UInt64) {
        #expect(Cookie.expiry(now: now, lasting: seconds) == expiry)
    }

    /// The appended layout: the last 32 bytes are the MAC, at least one byte before them.
    @Test func theAppendedLayout() throws {
        let signer = SignedToken<AppendedClaims>(secret: secret)
        let token = signer.sign(AppendedClaims([1, 2, 3]))
        #expect(token.utf8.count == ((3 + 32) * 4 + 2) / 3)
        #expect(try signer.verify(token, now: 0).payload == [1, 2, 3])
        // The MAC of an empty payload alone is no token.
        let macOnly = signer.sign(AppendedClaims([]))
        #expect(throws: SignedTokenError.invalid) { try signer.verify(macOnly, now: 0) }
        #expect(throws: SignedTokenError.invalid) { try signer.verify(String(token.dropLast()), now: 0) }
        #expect(throws: SignedTokenError.expired) { try signer.verify(signer.sign(AppendedClaims([10])), now: 10) }
        // A cookie is not a channel token, nor the reverse, even under one secret.
        #expect(throws: SignedTokenError.invalid) { try signer.verify(Self.pythonCookie, now: 0) }
        #expect(throws: SignedTokenError.invalid) { try Cookie(secret: secret).verify(token, now: 0) }
    }

    /// Signing in with absurd lifetimes and clocks makes a cookie, never a trap.
    @Test(arguments: [(Int.max, Int.max), (Int.min, Int.max), (Int.max, Int.min), (Int.min, Int.min), (0, -1)])
    func absurdLifetimesDoNotTrap(now: Int, lifetime: Int) {
        let users = Users(secret: secret)
        let value = SessionCookie(secret: secret).value(for: users.user(email: "a@b"), now: now, lifetimeSeconds: lifetime)
        #expect(!value.isEmpty)
    }
}
