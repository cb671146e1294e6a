import CourierHTTP
import Testing

/// Incremental UTF-8 validation, checked against the standard library's decoder.
@Suite struct UTF8ValidatorTests {
    static func validate(_ bytes: [UInt8]) -> Bool { UTF8Validator.validate(bytes) }
    static func reference(_ bytes: [UInt8]) -> Bool { String(validating: bytes, as: UTF8.self) != nil }

    @Test func validText() {
        for text in ["", "ascii", "héllo", "€uro", "😀 emoji", "\u{10FFFF}", "\u{FFFD}", "\u{0}", "日本語", "\u{E000}\u{D7FF}"] {
            #expect(Self.validate(Array(text.utf8)), "\(text)")
        }
    }

    @Test(arguments: [
        [0x80],                   // lone continuation
        [0xC0, 0x80],             // overlong NUL
        [0xC1, 0xBF],             // overlong
        [0xE0, 0x80, 0x80],       // overlong three-byte
        [0xE0, 0x9F, 0xBF],       // overlong three-byte
        [0xF0, 0x8F, 0xBF, 0xBF], // overlong four-byte
        [0xED, 0xA0, 0x80],       // surrogate U+D800
        [0xED, 0xBF, 0xBF],       // surrogate U+DFFF
        [0xF4, 0x90, 0x80, 0x80], // past U+10FFFF
        [0xF5, 0x80, 0x80, 0x80],
        [0xFE], [0xFF],
        [0xC3],                   // truncated
        [0xE2, 0x82],             // truncated
        [0xF0, 0x9F, 0x98],       // truncated
        [0xC3, 0x28],             // bad continuation
        [0x61, 0xE2, 0x28, 0xA1],
    ] as [[UInt8]])
    func invalidSequences(bytes: [UInt8]) {
        #expect(!Self.validate(bytes))
        #expect(!Self.reference(bytes), "the reference agrees")
    }

    /// A code point split anywhere across feeds: valid so far, complete only at the end.
    @Test func codePointsSplitAcrossFeeds() {
        let bytes = Array("a€😀é".utf8)
        for split in 0...bytes.count {
            var validator = UTF8Validator()
            #expect(bytes[..<split].withUnsafeBytes { validator.feed($0) })
            let boundaries: Set<Int> = [0, 1, 4, 8, 10]
            #expect(validator.isComplete == boundaries.contains(split), "split at \(split)")
            #expect(bytes[split...].withUnsafeBytes { validator.feed($0) })
            #expect(validator.isComplete)
        }
        do { // one byte at a time
            var validator = UTF8Validator()
            for byte in bytes { #expect([byte].withUnsafeBytes { validator.feed($0) }) }
            #expect(validator.isComplete)
        }
    }

    @Test func errorInASecondFeedIsCaughtAtItsFirstBadByte() {
        var validator = UTF8Validator()
        #expect([UInt8]([0xF0, 0x9F]).withUnsafeBytes { validator.feed($0) })
        #expect(![UInt8]([0x41]).withUnsafeBytes { validator.feed($0) }, "ASCII cannot continue a four-byte sequence")
    }

    @Test func resetForgetsAPartialCodePoint() {
        var validator = UTF8Validator()
        #expect([UInt8]([0xE2]).withUnsafeBytes { validator.feed($0) })
        #expect(!validator.isComplete)
        validator.reset()
        #expect(validator.isComplete)
        #expect([UInt8]([0x41]).withUnsafeBytes { validator.feed($0) })
    }

    /// Every one- and two-byte sequence, and every three- and four-byte lead with every second byte.
    @Test func agreesWithTheStandardLibrary() {
        var disagreements: [[UInt8]] = []
        func check(_ bytes: [UInt8]) {
            if Self.validate(bytes) != Self.reference(bytes) { disagreements.append(bytes) }
        }
        for first in 0...255 {
            check([UInt8(first)])
            for second in 0...255 { check([UInt8(first), UInt8(second)]) }
        }
        for first in 0xE0...0xF7 {
            for second in 0...255 {
                for last in [0x41, 0x80, 0xBF, 0xC0] {
                    check([UInt8(first), UInt8(second), UInt8(last)])
                    check([UInt8(first), UInt8(second), 0x80, UInt8(last)])
                }
            }
        }
        #expect(disagreements.isEmpty, "first disagreements: \(disagreements.prefix(5))")
    }
}
