@testable import CourierHTTP
import Testing

/// The word-at-a-time scans against a byte-at-a-time reference, with the sought byte at every
/// position of strings long enough to take both the word and the tail paths.
@Suite struct ByteScanTests {
    private static func naiveEscape(_ bytes: [UInt8], from start: Int) -> Int {
        bytes[start...].firstIndex { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 == 0x2F } ?? bytes.count
    }

    @Test func findsEveryByteJSONEscapesAtEveryPosition() {
        for special: UInt8 in [0x00, 0x01, 0x0A, 0x1F, 0x22, 0x2F, 0x5C] {
            for length in 0...20 {
                for position in 0..<max(length, 1) where position < length {
                    var bytes = [UInt8](repeating: 0x61, count: length)
                    bytes[position] = special
                    for start in 0...length {
                        let found = bytes.withUnsafeBufferPointer { ByteScan.firstJSONEscape(in: $0, from: start) }
                        #expect(found == Self.naiveEscape(bytes, from: start))
                    }
                }
            }
        }
    }

    @Test func passesOverBytesThatNeedNoEscape() {
        // Near the tested values, and bytes of multi-byte UTF-8.
        let bytes: [UInt8] = [0x20, 0x21, 0x23, 0x2E, 0x30, 0x5B, 0x5D, 0x7F, 0x80, 0xC3, 0xA9, 0xFF, 0x20, 0x21, 0x23, 0x2E, 0x30]
        #expect(bytes.withUnsafeBufferPointer { ByteScan.firstJSONEscape(in: $0, from: 0) } == bytes.count)
    }

    @Test func findsLineBreaksAndNULAtEveryPosition() {
        for special: UInt8 in [0x00, 0x0A, 0x0D] {
            for length in 1...20 {
                for position in 0..<length {
                    var bytes = [UInt8](repeating: 0x41, count: length)
                    bytes[position] = special
                    #expect(bytes.withUnsafeBufferPointer(ByteScan.containsLineBreakOrNUL))
                }
            }
        }
        let clean = Array("application/json; charset=utf-8\t\u{0B}\u{0C}\u{0E}\u{7F}é".utf8)
        #expect(!clean.withUnsafeBufferPointer(ByteScan.containsLineBreakOrNUL))
        #expect(![UInt8]().withUnsafeBufferPointer(ByteScan.containsLineBreakOrNUL))
    }
}
