/// Writes server frames (never masked, RFC 6455 §5.1) into a buffer, so several frames for one
/// socket can leave in a single write.
public enum WebSocketFrameEncoder {
    /// Appends one unmasked frame to `buffer`. `fin: false` starts or continues a fragmented message; `compressed` sets RSV1 and belongs only on a message's first frame, with a payload already compressed. Control frames must be final and at most 125 bytes; this does not check.
    public static func encode(_ opcode: WebSocketOpcode, payload: UnsafeRawBufferPointer, fin: Bool = true,
                              compressed: Bool = false, into buffer: inout [UInt8]) {
        encodeHeader(opcode, payloadCount: payload.count, fin: fin, compressed: compressed, into: &buffer)
        buffer.append(contentsOf: payload)
    }

    /// The header of a frame whose `payloadCount` bytes the caller appends next.
    public static func encodeHeader(_ opcode: WebSocketOpcode, payloadCount count: Int, fin: Bool = true,
                                    compressed: Bool = false, into buffer: inout [UInt8]) {
        buffer.append((fin ? 0x80 : 0) | (compressed ? 0x40 : 0) | opcode.rawValue)
        if count < 126 {
            buffer.append(UInt8(count))
        } else if count <= 0xFFFF {
            buffer.append(126)
            buffer.append(UInt8(count >> 8))
            buffer.append(UInt8(count & 0xFF))
        } else {
            buffer.append(127)
            for shift in stride(from: 56, through: 0, by: -8) { buffer.append(UInt8((count >> shift) & 0xFF)) }
        }
    }

    /// Appends one unmasked frame to `buffer`; as the buffer-pointer variant.
    public static func encode(_ opcode: WebSocketOpcode, payload: [UInt8], fin: Bool = true,
                              compressed: Bool = false, into buffer: inout [UInt8]) {
        payload.withUnsafeBytes { encode(opcode, payload: $0, fin: fin, compressed: compressed, into: &buffer) }
    }

    /// A close frame's payload: the code, then a reason cut to fit 125 bytes on a UTF-8 boundary.
    public static func closePayload(code: UInt16?, reason: String) -> [UInt8] {
        guard let code else { return [] }
        var reasonBytes = Array(reason.utf8.prefix(123))
        while !UTF8Validator.validate(reasonBytes) { reasonBytes.removeLast() }
        return [UInt8(code >> 8), UInt8(code & 0xFF)] + reasonBytes
    }
}
