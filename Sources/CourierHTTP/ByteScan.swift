#if canImport(Glibc)
import Glibc
#endif

/// Byte-class searches eight bytes at a time, for the scans every response makes (header values
/// for CR, LF and NUL; JSON strings for what needs escaping). A byte at a time cost ~8
/// instructions per byte, the largest part of those checks; a word with none of the bytes is
/// passed over in a few instructions. The word tests answer "is there such a byte" exactly;
/// where one is, the bytes are looked at one by one.
package enum ByteScan {
    /// True when `bytes` holds a CR, an LF or a NUL.
    /// The offset of a target's first `?`, and whether a `%` comes before it.
    package static func queryMarkAndEscapes(_ bytes: UnsafeRawBufferPointer) -> (queryMark: Int?, pathHasEscapes: Bool) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return (nil, false) }
        let mark = memchr(base, 0x3F, bytes.count).map { $0 - UnsafeMutableRawPointer(mutating: base) }
        return (mark, memchr(base, 0x25, mark ?? bytes.count) != nil)
    }

    package static func containsLineBreakOrNUL(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        if let base = bytes.baseAddress {
            while bytes.count - index >= 8 {
                let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
                if hasZero(word) || hasByte(word, 0x0A) || hasByte(word, 0x0D) { break }
                index += 8
            }
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte <= 0x0D, byte == 0x0D || byte == 0x0A || byte == 0x00 { return true }
            index += 1
        }
        return false
    }

    /// The index of the first byte at or after `start` that JSON escapes (a control byte, `"`,
    /// `\` or `/`), or `bytes.count`.
    package static func firstJSONEscape(in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var index = start
        if let base = bytes.baseAddress {
            while bytes.count - index >= 8 {
                let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
                if hasLess(word, 0x20) || hasByte(word, 0x22) || hasByte(word, 0x5C) || hasByte(word, 0x2F) { break }
                index += 8
            }
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte < 0x20 || byte == 0x22 || byte == 0x5C || byte == 0x2F { return index }
            index += 1
        }
        return bytes.count
    }

    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// Some byte of `word` is below `limit` (at most 0x80).
    @inline(__always) private static func hasLess(_ word: UInt64, _ limit: UInt8) -> Bool {
        (word &- ones &* UInt64(limit)) & ~word & highBits != 0
    }

    @inline(__always) private static func hasZero(_ word: UInt64) -> Bool { hasLess(word, 1) }

    @inline(__always) private static func hasByte(_ word: UInt64, _ byte: UInt8) -> Bool {
        hasZero(word ^ (ones &* UInt64(byte)))
    }
}
