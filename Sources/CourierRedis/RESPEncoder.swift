import CHiredis
import CourierHTTP

/// Commands in RESP's wire form, made by hiredis' `redisFormatCommandArgv`: every argument goes
/// with its length, so values are binary-safe (NUL bytes, CRLF, any byte at all).
enum RESPEncoder {
    /// Appends one command to `buffer` and returns how many bytes it added.
    @discardableResult
    static func append(_ arguments: [[UInt8]], to buffer: inout [UInt8]) -> Int {
        precondition(!arguments.isEmpty && arguments.count <= Int(Int32.max), "a Redis command needs 1...Int32.max arguments")
        // Lay the arguments end to end so one allocation gives each a stable address for C.
        let total = arguments.reduce(0) { $0 + $1.count }
        let joined = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, total), alignment: 1)
        defer { joined.deallocate() }
        var pointers: [UnsafePointer<CChar>?] = []
        var lengths: [Int] = []
        pointers.reserveCapacity(arguments.count)
        lengths.reserveCapacity(arguments.count)
        var offset = 0
        for argument in arguments {
            let start = joined.baseAddress! + offset
            argument.withUnsafeBytes { bytes in
                if bytes.count > 0 { start.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
            }
            pointers.append(UnsafePointer(start.assumingMemoryBound(to: CChar.self)))
            lengths.append(argument.count)
            offset += argument.count
        }
        var formatted: UnsafeMutablePointer<CChar>?
        let length = redisFormatCommandArgv(&formatted, Int32(arguments.count), &pointers, lengths)
        guard length >= 0, let formatted else { fatalError("hiredis could not format a command (out of memory)") }
        defer { redisFreeCommand(formatted) }
        buffer.append(contentsOf: UnsafeRawBufferPointer(start: formatted, count: Int(length)))
        return Int(length)
    }

    /// The exact length `append` will add, for the queue bound, without encoding: `*N\r\n`,
    /// then `$len\r\n` + bytes + `\r\n` per argument.
    static func encodedSize(_ arguments: [[UInt8]]) -> Int {
        var size = 3 + DecimalText.digitCount(UInt64(arguments.count))
        for argument in arguments { size += 5 + DecimalText.digitCount(UInt64(argument.count)) + argument.count }
        return size
    }

    static func encode(_ arguments: [[UInt8]]) -> [UInt8] {
        var buffer: [UInt8] = []
        append(arguments, to: &buffer)
        return buffer
    }
}
