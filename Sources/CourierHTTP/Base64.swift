/// RFC 4648 base64 with the standard alphabet and padding: what the WebSocket handshake's
/// key and accept values are written in.
package enum Base64 {
    private static let codec = Base64Codec(alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                                           padded: true)

    /// Padded to a multiple of four characters, as RFC 6455 writes `Sec-WebSocket-Accept`.
    package static func encode(_ bytes: [UInt8]) -> String { codec.encode(bytes) }

    /// Strict: nil for a missing or misplaced `=`, a character outside the alphabet, or a last
    /// character whose unused bits are set (so each byte string has exactly one spelling).
    package static func decode(_ text: some StringProtocol) -> [UInt8]? { codec.decode(text) }
}

/// RFC 4648 §5 base64url without padding: what tokens and cookies are written in, because
/// `-` and `_` pass through form fields, cookies, JSON and URLs unescaped where `+`, `/` and
/// `=` would not.
package enum Base64URL {
    private static let codec = Base64Codec(alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                                           padded: false)

    /// Unpadded: the length already tells the decoder how many bytes the last group holds.
    package static func encode(_ bytes: [UInt8]) -> String { codec.encode(bytes) }

    /// Strict: nil for `=`, a character outside the alphabet, a length no encoding has
    /// (4n + 1), or a last character whose unused bits are set. A signature check must see
    /// one spelling per token: a decoder that ignored those bits would accept a token with its
    /// last character changed.
    package static func decode(_ text: some StringProtocol) -> [UInt8]? { codec.decode(text) }
}

/// The one base64 implementation behind both spellings, so the strictness rules are written once.
private struct Base64Codec: Sendable {
    /// The 64 characters, by value.
    let alphabet: [UInt8]
    /// Each byte's value in the alphabet, or `invalid`.
    let values: [UInt8]
    let padded: Bool
    static let invalid: UInt8 = 0xFF
    static let pad = UInt8(ascii: "=")

    init(alphabet text: String, padded: Bool) {
        alphabet = Array(text.utf8)
        precondition(alphabet.count == 64, "a base64 alphabet has 64 characters")
        var values = [UInt8](repeating: Self.invalid, count: 256)
        for (value, character) in alphabet.enumerated() { values[Int(character)] = UInt8(value) }
        self.values = values
        self.padded = padded
    }

    func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= bytes.count {
            let group = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            for shift in [18, 12, 6, 0] as [UInt32] { output.append(alphabet[Int(group >> shift & 0x3F)]) }
            index += 3
        }
        let left = bytes.count - index
        if left > 0 {
            let group = UInt32(bytes[index]) << 16 | (left == 2 ? UInt32(bytes[index + 1]) << 8 : 0)
            output.append(alphabet[Int(group >> 18 & 0x3F)])
            output.append(alphabet[Int(group >> 12 & 0x3F)])
            if left == 2 { output.append(alphabet[Int(group >> 6 & 0x3F)]) }
            if padded { output += left == 2 ? [Self.pad] : [Self.pad, Self.pad] }
        }
        return String(decoding: output, as: UTF8.self)
    }

    func decode(_ text: some StringProtocol) -> [UInt8]? {
        var input = Array(text.utf8)
        if padded {
            guard input.count % 4 == 0 else { return nil }
            // At most two `=`, and only at the very end: the characters before them are checked
            // against the alphabet below, which has no `=`.
            var padding = 0
            while padding < 2, input.last == Self.pad {
                input.removeLast()
                padding += 1
            }
            guard padding == (4 - input.count % 4) % 4 else { return nil }
        }
        let tail = input.count % 4
        guard tail != 1 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(input.count / 4 * 3 + 2)
        var group: UInt32 = 0
        for (position, character) in input.enumerated() {
            let value = values[Int(character)]
            guard value != Self.invalid else { return nil }
            group = group << 6 | UInt32(value)
            if position % 4 == 3 {
                output += [UInt8(truncatingIfNeeded: group >> 16), UInt8(truncatingIfNeeded: group >> 8), UInt8(truncatingIfNeeded: group)]
                group = 0
            }
        }
        switch tail {
        case 2:
            // 12 bits for one byte: the low 4 must be zero.
            guard group & 0x0F == 0 else { return nil }
            output.append(UInt8(truncatingIfNeeded: group >> 4))
        case 3:
            // 18 bits for two bytes: the low 2 must be zero.
            guard group & 0x03 == 0 else { return nil }
            output += [UInt8(truncatingIfNeeded: group >> 10), UInt8(truncatingIfNeeded: group >> 2)]
        default:
            break
        }
        return output
    }
}
