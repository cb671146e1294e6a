import CZlib

/// The zlib streams of one connection, made on first use so connections that never send a
/// compressed message pay nothing for them. With no context takeover in a direction, that
/// direction uses the loop's `SharedDeflateStreams` when given one, reset after each message.
public final class PerMessageDeflate {
    /// What was agreed in the handshake; decides when each direction's stream is reset and whether the shared streams are used.
    public let parameters: PerMessageDeflateParameters
    private let shared: SharedDeflateStreams?
    private var deflater: UnsafeMutablePointer<z_stream>?
    private var inflater: UnsafeMutablePointer<z_stream>?
    private static let tail: [UInt8] = [0x00, 0x00, 0xFF, 0xFF]

    /// No zlib stream is made until the first message needs one. `shared` must belong to the loop this connection runs on; it is used only in a direction with no context takeover.
    public init(parameters: PerMessageDeflateParameters, shared: SharedDeflateStreams? = nil) {
        self.parameters = parameters
        self.shared = shared
    }

    deinit {
        ZlibStream.endDeflate(deflater)
        ZlibStream.endInflate(inflater)
    }

    /// Compresses one message payload (RFC 7692 §7.2.1: sync flush, trailing 00 00 FF FF removed).
    public func compress(_ message: [UInt8]) -> [UInt8] {
        let stream = deflateStream()
        // A shared stream must be clean for the next connection whatever happens here.
        defer { if parameters.serverNoContextTakeover { deflateReset(stream) } }
        var output = [UInt8](repeating: 0, count: max(64, message.count + message.count / 8 + 64))
        var produced = 0
        message.withUnsafeBytes { input in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress)
            stream.pointee.avail_in = uInt(input.count)
            repeat {
                if produced == output.count { output += [UInt8](repeating: 0, count: output.count) }
                output.withUnsafeMutableBytes { out in
                    let room = out.count - produced
                    stream.pointee.next_out = out.bindMemory(to: Bytef.self).baseAddress! + produced
                    stream.pointee.avail_out = uInt(room)
                    deflate(stream, Z_SYNC_FLUSH)
                    produced += room - Int(stream.pointee.avail_out)
                }
            } while stream.pointee.avail_out == 0
        }
        stream.pointee.next_in = nil
        stream.pointee.next_out = nil
        output.removeSubrange(produced...)
        if output.count >= 4, Array(output.suffix(4)) == Self.tail { output.removeLast(4) }
        if output.isEmpty { output = [0x00] }
        return output
    }

    /// Inflates one message payload, failing with 1009 past `limit` bytes of output.
    public func decompress(_ payload: [UInt8], limit: Int) throws(WebSocketProtocolError) -> [UInt8] {
        let stream = inflateStream()
        var status: Int32 = Z_OK
        defer {
            // Reset on every path out, a failed message too: a shared stream serves the next
            // connection, and a dedicated one must not carry a broken window into the next message.
            // Z_BUF_ERROR is no failure: it means the input was used up, and the window stays.
            if parameters.clientNoContextTakeover || (status != Z_OK && status != Z_BUF_ERROR) { inflateReset(stream) }
        }
        let input = payload + Self.tail
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        var tooBig = false
        input.withUnsafeBytes { raw in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: raw.bindMemory(to: Bytef.self).baseAddress)
            stream.pointee.avail_in = uInt(raw.count)
            repeat {
                let produced = chunk.withUnsafeMutableBytes { out -> Int in
                    stream.pointee.next_out = out.bindMemory(to: Bytef.self).baseAddress
                    stream.pointee.avail_out = uInt(out.count)
                    status = inflate(stream, Z_SYNC_FLUSH)
                    return out.count - Int(stream.pointee.avail_out)
                }
                output.append(contentsOf: chunk[0..<produced])
                if output.count > limit {
                    tooBig = true
                    break
                }
                if status != Z_OK { break }
            } while stream.pointee.avail_in > 0 || stream.pointee.avail_out == 0
        }
        stream.pointee.next_in = nil
        stream.pointee.next_out = nil
        if tooBig { throw WebSocketProtocolError(WebSocketCloseCode.messageTooBig, "message over \(limit) bytes after inflating") }
        guard status == Z_OK || status == Z_BUF_ERROR || status == Z_STREAM_END else {
            throw WebSocketProtocolError(WebSocketCloseCode.invalidPayload, "invalid compressed data")
        }
        return output
    }

    private func deflateStream() -> UnsafeMutablePointer<z_stream> {
        if parameters.serverNoContextTakeover, let shared { return shared.deflater(windowBits: parameters.serverMaxWindowBits) }
        if let deflater { return deflater }
        let stream = ZlibStream.makeDeflater(windowBits: parameters.serverMaxWindowBits)
        deflater = stream
        return stream
    }

    private func inflateStream() -> UnsafeMutablePointer<z_stream> {
        if parameters.clientNoContextTakeover, let shared { return shared.inflater() }
        if let inflater { return inflater }
        let stream = ZlibStream.makeInflater()
        inflater = stream
        return stream
    }
}
