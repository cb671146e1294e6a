import CZlib

/// The permessage-deflate parameters agreed with a client (RFC 7692 §7).
public struct PerMessageDeflateParameters: Sendable, Equatable {
    public var serverNoContextTakeover = false
    public var clientNoContextTakeover = false
    /// The LZ77 window the server compresses with (9...15; 8 is declined, zlib cannot honour it).
    public var serverMaxWindowBits = 15
    public var requestedServerMaxWindowBits = false

    public init() {}

    /// The Sec-WebSocket-Extensions value that accepts these parameters.
    public var responseHeaderValue: String {
        var parts = ["permessage-deflate"]
        if serverNoContextTakeover { parts.append("server_no_context_takeover") }
        if clientNoContextTakeover { parts.append("client_no_context_takeover") }
        if requestedServerMaxWindowBits { parts.append("server_max_window_bits=\(serverMaxWindowBits)") }
        return parts.joined(separator: "; ")
    }

    /// Accepts the first permessage-deflate offer the server can honour, or nil. Offers with
    /// unknown, repeated or out-of-range parameters are declined, as §7 requires.
    public static func negotiate(offers headerValues: [String]) -> PerMessageDeflateParameters? {
        for offer in headerValues.flatMap({ $0.split(separator: ",") }) {
            var parts = offer.split(separator: ";").map { $0.trimmingSpaces }
            guard let name = parts.first, name == "permessage-deflate" else { continue }
            parts.removeFirst()
            if let accepted = accept(parts) { return accepted }
        }
        return nil
    }

    private static func accept(_ parameters: [Substring]) -> PerMessageDeflateParameters? {
        var result = PerMessageDeflateParameters()
        var seen: Set<Substring> = []
        for parameter in parameters {
            let pieces = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingSpaces }
            guard let name = pieces.first, seen.insert(name).inserted else { return nil }
            var value = pieces.count > 1 ? pieces[1] : nil
            if let quoted = value, quoted.count >= 2, quoted.first == "\"", quoted.last == "\"" {
                value = quoted.dropFirst().dropLast()
            }
            switch name {
            case "server_no_context_takeover":
                guard value == nil else { return nil }
                result.serverNoContextTakeover = true
            case "client_no_context_takeover":
                guard value == nil else { return nil }
                result.clientNoContextTakeover = true
            case "server_max_window_bits":
                guard let value, let bits = Int(value), (9...15).contains(bits), value.first != "0" else { return nil }
                result.serverMaxWindowBits = bits
                result.requestedServerMaxWindowBits = true
            case "client_max_window_bits":
                if let value {
                    guard let bits = Int(value), (8...15).contains(bits), value.first != "0" else { return nil }
                }
            default:
                return nil
            }
        }
        return result
    }
}

/// The zlib streams of one connection, made on first use so connections that never send a
/// compressed message pay nothing for them.
public final class PerMessageDeflate {
    public let parameters: PerMessageDeflateParameters
    private var deflater: UnsafeMutablePointer<z_stream>?
    private var inflater: UnsafeMutablePointer<z_stream>?
    private static let tail: [UInt8] = [0x00, 0x00, 0xFF, 0xFF]

    public init(parameters: PerMessageDeflateParameters) { self.parameters = parameters }

    deinit {
        if let deflater {
            deflateEnd(deflater)
            deflater.deallocate()
        }
        if let inflater {
            inflateEnd(inflater)
            inflater.deallocate()
        }
    }

    /// Compresses one message payload (RFC 7692 §7.2.1: sync flush, trailing 00 00 FF FF removed).
    public func compress(_ message: [UInt8]) -> [UInt8] {
        let stream = deflateStream()
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
        if parameters.serverNoContextTakeover { deflateReset(stream) }
        output.removeSubrange(produced...)
        if output.count >= 4, Array(output.suffix(4)) == Self.tail { output.removeLast(4) }
        if output.isEmpty { output = [0x00] }
        return output
    }

    /// Inflates one message payload, failing with 1009 past `limit` bytes of output.
    public func decompress(_ payload: [UInt8], limit: Int) throws(WebSocketProtocolError) -> [UInt8] {
        let stream = inflateStream()
        let input = payload + Self.tail
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        var status: Int32 = Z_OK
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
        if tooBig { throw WebSocketProtocolError(WebSocketCloseCode.messageTooBig, "message over \(limit) bytes after inflating") }
        guard status == Z_OK || status == Z_BUF_ERROR || status == Z_STREAM_END else {
            throw WebSocketProtocolError(WebSocketCloseCode.invalidPayload, "invalid compressed data")
        }
        if parameters.clientNoContextTakeover || status == Z_STREAM_END { inflateReset(stream) }
        return output
    }

    private func deflateStream() -> UnsafeMutablePointer<z_stream> {
        if let deflater { return deflater }
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        courier_deflate_init(stream, Z_DEFAULT_COMPRESSION, -Int32(parameters.serverMaxWindowBits), 8)
        deflater = stream
        return stream
    }

    private func inflateStream() -> UnsafeMutablePointer<z_stream> {
        if let inflater { return inflater }
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        courier_inflate_init(stream, -15)
        inflater = stream
        return stream
    }
}
