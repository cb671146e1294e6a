/// Unsigned integers as ASCII decimal, for every output path that writes a number by hand
/// (Content-Length, status codes, channel sequence numbers, Redis lengths): `String(n)` makes a
/// string to copy from, and these paths run once per response or message.
@usableFromInline package enum DecimalText {
    /// How many digits `value` takes: frame and command sizes are announced before they are written.
    @inlinable package static func digitCount(_ value: UInt64) -> Int {
        var digits = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            digits += 1
        }
        return digits
    }

    /// Hands each digit of `value` to `store`, last digit first, with its offset from the first
    /// digit (`digitCount` of them): the one digit loop, shared by every kind of buffer.
    @inlinable package static func writeDigits(of value: UInt64, count: Int, _ store: (_ offset: Int, _ digit: UInt8) -> Void) {
        var rest = value
        var offset = count
        repeat {
            offset -= 1
            store(offset, UInt8(truncatingIfNeeded: 0x30 &+ rest % 10))
            rest /= 10
        } while rest > 0
    }
}

extension [UInt8] {
    /// `value` in decimal, for code whose output is an array (a WebSocket frame being built).
    @inlinable package mutating func appendDecimal(_ value: UInt64) {
        let start = count
        let digits = DecimalText.digitCount(value)
        append(contentsOf: repeatElement(0x30, count: digits))
        DecimalText.writeDigits(of: value, count: digits) { self[start + $0] = $1 }
    }
}
