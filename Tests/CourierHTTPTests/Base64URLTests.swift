import CourierHTTP
import Testing

/// base64url without padding (RFC 4648 §5), the spelling of tokens and cookies: every byte
/// string has exactly one spelling, and anything else decodes to nil.
@Suite struct Base64URLTests {
    /// RFC 4648 §10's vectors, padding dropped.
    @Test(arguments: [("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"),
                      ("fooba", "Zm9vYmE"), ("foobar", "Zm9vYmFy")])
    func rfc4648Vectors(plain: String, encoded: String) {
        #expect(Base64URL.encode(Array(plain.utf8)) == encoded)
        #expect(Base64URL.decode(encoded) == Array(plain.utf8))
    }

    /// The two characters where the alphabets differ: `-` for `+`, `_` for `/`.
    @Test func theURLSafeAlphabet() {
        #expect(Base64URL.encode([0xFB, 0xFF, 0xBF]) == "-_-_")
        #expect(Base64URL.decode("-_-_") == [0xFB, 0xFF, 0xBF])
        #expect(Base64URL.decode("+/+/") == nil)
    }

    @Test func everyLengthAndByteValueRoundTrips() {
        let bytes = (0...255).map { UInt8($0) } + (0...255).map { UInt8(255 - $0) }
        for length in 0...bytes.count {
            let slice = Array(bytes.prefix(length))
            let encoded = Base64URL.encode(slice)
            #expect(encoded.utf8.count == (length * 4 + 2) / 3)
            #expect(Base64URL.decode(encoded) == slice)
        }
    }

    /// Hostile spellings: padding, characters from the other alphabet or none, whitespace, NUL,
    /// non-ASCII (including a character whose UTF-8 bytes look like nothing base64 knows),
    /// lengths no encoding has.
    @Test(arguments: ["Zg==", "Zg=", "Zm8=", "=", "Z", "Zm9vY", "Zm9vYmFyZ", "Zm9v+A", "Zm9v/A", "Zm9v A", " Zm9v", "Zm9v\n",
                      "Zm9v\0", "Zm9vé", "Zm9v\u{FF21}", "Zm.9v", "Zm9v%3D", "\u{7F}AAA"])
    func malformedTextIsRefused(text: String) {
        #expect(Base64URL.decode(text) == nil)
    }

    /// A last character whose unused low bits are set names the same bytes as the canonical
    /// one; a signature check would then accept a changed token. Only the canonical spelling
    /// decodes.
    @Test func onlyTheCanonicalLastCharacterDecodes() {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        for (length, canonicalCount) in [(1, 4), (2, 16)] {
            let encoded = Base64URL.encode(Array(repeating: 0xA5, count: length))
            var accepted = 0
            for character in alphabet where Base64URL.decode(String(encoded.dropLast()) + String(character)) != nil {
                accepted += 1
            }
            // One byte leaves 4 unused bits (4 of 64 last characters are canonical), two leave 2 (16).
            #expect(accepted == canonicalCount, "length \(length)")
        }
    }

    /// Long hostile input costs a pass and returns nil; a long genuine one decodes.
    @Test func longInput() {
        #expect(Base64URL.decode(String(repeating: "A", count: 100_001)) == nil)
        #expect(Base64URL.decode(String(repeating: "A", count: 100_000) + "!") == nil)
        #expect(Base64URL.decode(String(repeating: "A", count: 100_000))?.count == 75_000)
    }

    /// Substrings decode as their text (a cookie's two parts are slices of it).
    @Test func substrings() {
        let cookie = "Zm9v.YmFy"
        let parts = cookie.split(separator: ".")
        #expect(parts.map { Base64URL.decode($0) } == [Array("foo".utf8), Array("bar".utf8)])
    }

    /// The padded standard spelling (WebSocket handshake values) shares the codec: strict the
    /// same way, with padding required.
    @Test(arguments: ["Zh==", "Zm9=", "Zm8", "Zg", "Zg=", "Z===", "Zg==="])
    func thePaddedSpellingIsStrictToo(text: String) {
        #expect(Base64.decode(text) == nil)
    }
}
