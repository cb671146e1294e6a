import Courier
@testable import CourierChannel
import Testing

/// The channel token's bytes, as browsers and other processes already hold them:
/// `base64url(version 1 ‖ expiry (8, big-endian) ‖ nonce (16) ‖ client ID ‖ HMAC-SHA-256)`.
@Suite struct ChannelTokenFormatTests {
    static let secret: [UInt8] = Array(1...32)
    /// Made with Python's `hmac` and `base64.urlsafe_b64encode` from that layout: expiry
    /// 1,700,000,000, nonce A0…AF, client ID "alice-é".
    static let pythonToken = "AQAAAABlU_EAoKGio6SlpqeoqaqrrK2ur2FsaWNlLcOpnBsK_cUAqpmbuvKW-hTg94PXDO22jkTYgUtY8dcEKfA"

    @Test func aTokenIssuedElsewhereVerifies() throws {
        let verified = try TokenSigner(secret: Self.secret, clock: ManualClock(1_699_999_999.5)).verify(Self.pythonToken)
        #expect(verified.clientID == "alice-é")
        #expect(verified.expiry == 1_700_000_000)
        #expect(throws: SignedTokenError.expired) {
            try TokenSigner(secret: Self.secret, clock: ManualClock(1_700_000_000)).verify(Self.pythonToken)
        }
    }

    /// What `issue` writes: the layout above, the expiry the clock rounded up plus the
    /// duration, and a fresh nonce each time.
    @Test func anIssuedTokensBytes() throws {
        let signer = TokenSigner(secret: Self.secret, clock: ManualClock(1_000.25))
        let (token, expiry) = signer.issue(clientID: "bob", durationSeconds: 60)
        #expect(expiry == 1_061)
        let bytes = try #require(Base64URL.decode(token))
        #expect(bytes.count == 1 + 8 + 16 + 3 + 32)
        #expect(bytes[0] == 1)
        #expect(Array(bytes[1...8]) == [0, 0, 0, 0, 0, 0, 0x04, 0x25])
        #expect(Array(bytes[25..<28]) == Array("bob".utf8))
        let again = signer.issue(clientID: "bob", durationSeconds: 60).token
        #expect(again != token)
        #expect(Base64URL.decode(again).map { Array($0[1...8]) } == Array(bytes[1...8]))
    }

    /// The claims read from any slice (its indices need not start at 0), and refuse a payload
    /// without a client ID or of another version.
    @Test func claimsFromPayloads() throws {
        let payload: [UInt8] = [0xEE, 1, 0, 0, 0, 0, 0, 0, 1, 0] + Array(repeating: 7, count: 16) + Array("c".utf8)
        let claims = try #require(ChannelTokenClaims(decoding: payload[1...]))
        #expect(claims.expiry == 256 && claims.clientID == "c" && claims.nonce == Array(repeating: 7, count: 16))
        #expect(claims.encoded() == Array(payload[1...]))
        #expect(ChannelTokenClaims(decoding: payload[1..<26]) == nil)
        let otherVersion: [UInt8] = [2] + payload[2...]
        #expect(ChannelTokenClaims(decoding: otherVersion[...]) == nil)
        #expect(ChannelTokenClaims(decoding: []) == nil)
    }
}
