/// Incremental UTF-8 validation (RFC 3629), fed in pieces as bytes arrive, so an invalid text
/// message is refused at the first bad byte, even inside a split code point or a fragment.
public struct UTF8Validator: Sendable {
    private var needed = 0
    private var lower: UInt8 = 0x80
    private var upper: UInt8 = 0xBF

    /// A validator at a code point boundary, nothing fed yet.
    public init() {}

    /// False as soon as `bytes` cannot continue valid UTF-8.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            index += 1
            if needed == 0 {
                if byte < 0x80 { continue }
                switch byte {
                case 0xC2...0xDF: needed = 1
                case 0xE0: needed = 2; lower = 0xA0
                case 0xE1...0xEC, 0xEE...0xEF: needed = 2
                case 0xED: needed = 2; upper = 0x9F
                case 0xF0: needed = 3; lower = 0x90
                case 0xF1...0xF3: needed = 3
                case 0xF4: needed = 3; upper = 0x8F
                default: return false
                }
            } else {
                guard byte >= lower, byte <= upper else { return false }
                needed -= 1
                lower = 0x80
                upper = 0xBF
            }
        }
        return true
    }

    /// True when the bytes so far end on a code point boundary.
    public var isComplete: Bool { needed == 0 }

    /// Forgets any partial code point, ready for the next message.
    public mutating func reset() { self = UTF8Validator() }

    /// True when `bytes` is whole, valid UTF-8 (no code point cut off at the end).
    public static func validate(_ bytes: [UInt8]) -> Bool {
        var validator = UTF8Validator()
        return bytes.withUnsafeBytes { validator.feed($0) } && validator.isComplete
    }
}
