import CZlib

/// gzip (RFC 1952) of a whole body, through the zlib that permessage-deflate uses.
public enum Gzip {
    /// `bytes` as one gzip member. A stream is made and ended per call: the body is compressed
    /// at once, on the loop, so the cost (about a quarter of a megabyte of zlib state, set up in
    /// microseconds) lasts only as long as the call. `level` is zlib's, 1 (fastest) to 9 (smallest).
    public static func compress(_ bytes: [UInt8], level: Int = 6) -> [UInt8] {
        let stream = ZlibStream.makeDeflater(windowBits: 15, gzip: true, level: Int32(min(max(level, 1), 9)))
        defer { ZlibStream.endDeflate(stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(stream, uLong(bytes.count))))
        var produced = 0
        bytes.withUnsafeBytes { input in
            output.withUnsafeMutableBytes { out in
                stream.pointee.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress)
                stream.pointee.avail_in = uInt(input.count)
                stream.pointee.next_out = out.bindMemory(to: Bytef.self).baseAddress
                stream.pointee.avail_out = uInt(out.count)
                // deflateBound is enough room for the whole member, so one call finishes it.
                _ = deflate(stream, Z_FINISH)
                produced = out.count - Int(stream.pointee.avail_out)
            }
        }
        output.removeSubrange(produced...)
        return output
    }

    /// The bytes of one gzip member, or nil when it is malformed, truncated, or inflates past
    /// `limit` bytes. For tests and tools that check what a server sent.
    package static func decompress(_ bytes: [UInt8], limit: Int) -> [UInt8]? {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        courier_inflate_init(stream, 16 + 15)
        defer {
            inflateEnd(stream)
            stream.deallocate()
        }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        var status: Int32 = Z_OK
        bytes.withUnsafeBytes { raw in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: raw.bindMemory(to: Bytef.self).baseAddress)
            stream.pointee.avail_in = uInt(raw.count)
            while status == Z_OK, output.count <= limit {
                let produced = chunk.withUnsafeMutableBytes { out -> Int in
                    stream.pointee.next_out = out.bindMemory(to: Bytef.self).baseAddress
                    stream.pointee.avail_out = uInt(out.count)
                    status = inflate(stream, Z_NO_FLUSH)
                    return out.count - Int(stream.pointee.avail_out)
                }
                output.append(contentsOf: chunk[0..<produced])
                if produced == 0, status == Z_OK { status = Z_BUF_ERROR }
            }
        }
        return status == Z_STREAM_END && output.count <= limit ? output : nil
    }
}
