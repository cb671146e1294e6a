import CourierHTTP
import Testing

/// Base64 (RFC 4648) and the Sec-WebSocket-Accept value (RFC 6455 §4.2.2).
@Suite struct HandshakeValueTests {
    /// RFC 6455 §1.3 (SHA-1 of the key and GUID, checked independently: b37a4f2c…b2bec4ea).
    @Test func acceptValueOfTheRFCExample() {
        #expect(WebSocketHandshake.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        #expect(Base64.decode("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == [0xB3, 0x7A, 0x4F, 0x2C, 0xC0, 0x62, 0x4F, 0x16, 0x90, 0xF6,
                                                              0x46, 0x06, 0xCF, 0x38, 0x59, 0x45, 0xB2, 0xBE, 0xC4, 0xEA])
    }

    /// RFC 4648 §10 test vectors.
    @Test(arguments: [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="),
                      ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")])
    func rfc4648Vectors(plain: String, encoded: String) {
        #expect(Base64.encode(Array(plain.utf8)) == encoded)
        #expect(Base64.decode(encoded) == Array(plain.utf8))
    }

    @Test func everyByteValueRoundTrips() {
        let bytes = (0...255).map { UInt8($0) }
        for length in [0, 1, 2, 3, 16, 255, 256] {
            let slice = Array(bytes.prefix(length))
            #expect(Base64.decode(Base64.encode(slice)) == slice)
        }
        #expect(Base64.encode([0xFB, 0xFF, 0xBF]) == "+/+/")
    }

    @Test(arguments: ["Zg", "Zg=", "Zm9", "Z===", "====", "=Zm9", "Zg==Zm8=", "Zm9v!A==", "Zm9v\nYg==", "Zm9-", "Zm9_"])
    func strictDecodingRefuses(text: String) {
        #expect(Base64.decode(text) == nil)
    }
}
