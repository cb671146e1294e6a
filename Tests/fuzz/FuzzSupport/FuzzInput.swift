#if canImport(Glibc)
import Glibc
#endif

/// The fuzzer's bytes read as decisions: a target takes what it needs from the front (a
/// configuration, split points, an event sequence) and the rest as payload. Reading past the
/// end yields zeros, so every input, however short, is a complete run.
public struct FuzzInput {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var position = 0

    /// Reads `size` bytes from `data`; the bytes must outlive this value.
    public init(_ data: UnsafePointer<UInt8>?, _ size: Int) {
        bytes = UnsafeBufferPointer(start: size > 0 ? data : nil, count: max(size, 0))
    }

    /// Whether every byte has been read.
    public var isExhausted: Bool { position >= bytes.count }

    /// The bytes not read yet.
    public var remainingCount: Int { max(bytes.count - position, 0) }

    /// The next byte, or 0 past the end.
    public mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    /// A Bool from the low bit of the next byte.
    public mutating func bool() -> Bool { byte() & 1 == 1 }

    /// A value in `0..<count` from the next byte (count at most 256).
    public mutating func choice(_ count: Int) -> Int { Int(byte()) % max(count, 1) }

    /// The next eight bytes, big-endian.
    public mutating func uint64() -> UInt64 {
        var value: UInt64 = 0
        for _ in 0..<8 { value = value << 8 | UInt64(byte()) }
        return value
    }

    /// The next eight bytes as an Int (any value, negative ones included).
    public mutating func int() -> Int { Int(truncatingIfNeeded: uint64()) }

    /// A value that is usually small and sometimes hostile: the next byte chooses between a
    /// small number, a boundary (0, max, max - small) and eight raw bytes.
    public mutating func interestingUInt64() -> UInt64 {
        let kind = byte()
        switch kind % 8 {
        case 0: return 0
        case 1: return .max
        case 2: return .max - UInt64(byte())
        case 3: return UInt64(byte())
        case 4: return UInt64(byte()) << 8 | UInt64(byte())
        case 5: return UInt64(Int.max) &+ UInt64(byte() % 3) &- 1
        case 6: return UInt64(byte()) * 1000
        default: return uint64()
        }
    }

    /// As `interestingUInt64`, for Int parameters (negative values included).
    public mutating func interestingInt() -> Int {
        let kind = byte()
        switch kind % 8 {
        case 0: return 0
        case 1: return .max
        case 2: return .min
        case 3: return Int(byte())
        case 4: return Int(byte()) << 8 | Int(byte())
        case 5: return .max - Int(byte())
        case 6: return -Int(byte())
        default: return int()
        }
    }

    /// Up to `count` next bytes (fewer at the end).
    public mutating func take(_ count: Int) -> [UInt8] {
        let end = min(position + max(count, 0), bytes.count)
        guard end > position else { return [] }
        defer { position = end }
        return Array(bytes[position..<end])
    }

    /// Every byte not read yet.
    public mutating func rest() -> [UInt8] { take(remainingCount) }
}

/// Stops the run when an invariant does not hold: libFuzzer sees the crash and saves the input.
/// The message says which invariant, the input says how.
public func invariant(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
                      file: StaticString = #fileID, line: UInt = #line) {
    if !condition() {
        var text = "invariant failed at \(file):\(line): \(message())\n"
        text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
        abort()
    }
}

/// Splits `payload` into the pieces a connection could have received it in. The lengths come
/// from `lengths` in turn (each byte is a piece of 1...64 bytes, cycling); with no lengths, one
/// byte at a time, the most demanding split.
public func splitPieces(_ payload: [UInt8], lengths: [UInt8]) -> [ArraySlice<UInt8>] {
    var pieces: [ArraySlice<UInt8>] = []
    var start = 0
    var turn = 0
    while start < payload.count {
        let length = lengths.isEmpty ? 1 : Int(lengths[turn % lengths.count] % 64) + 1
        let end = min(start + length, payload.count)
        pieces.append(payload[start..<end])
        start = end
        turn += 1
    }
    return pieces
}

/// The split lengths at the front of an input: one byte giving how many (0...7), then that many.
public extension FuzzInput {
    mutating func splitLengths() -> [UInt8] { take(choice(8)) }
}
