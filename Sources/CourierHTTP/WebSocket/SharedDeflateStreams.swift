import CZlib

/// One thread's zlib streams for the connections that carry no LZ77 window from one message
/// to the next: each message is compressed or inflated whole, then the stream is reset, so
/// connections can take turns with it. Not thread-safe: one per event loop, used on it alone.
public final class SharedDeflateStreams {
    /// One deflater per window size a client asked for (9...15), made when first needed.
    private var deflaters: [Int: UnsafeMutablePointer<z_stream>] = [:]
    private var sharedInflater: UnsafeMutablePointer<z_stream>?

    /// Makes no stream yet; each is made on first use. Create one per event loop.
    public init() {}

    deinit {
        for stream in deflaters.values { ZlibStream.endDeflate(stream) }
        ZlibStream.endInflate(sharedInflater)
    }

    func deflater(windowBits: Int) -> UnsafeMutablePointer<z_stream> {
        if let stream = deflaters[windowBits] { return stream }
        let stream = ZlibStream.makeDeflater(windowBits: windowBits)
        deflaters[windowBits] = stream
        return stream
    }

    func inflater() -> UnsafeMutablePointer<z_stream> {
        if let sharedInflater { return sharedInflater }
        let stream = ZlibStream.makeInflater()
        sharedInflater = stream
        return stream
    }
}

/// Raw deflate streams (no zlib header), as RFC 7692 frames them, or gzip members (`Gzip`).
enum ZlibStream {
    static func makeDeflater(windowBits: Int, gzip: Bool = false, level: Int32 = Z_DEFAULT_COMPRESSION) -> UnsafeMutablePointer<z_stream> {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        courier_deflate_init(stream, level, gzip ? 16 + Int32(windowBits) : -Int32(windowBits), 8)
        return stream
    }

    /// Always a 32 KiB window: it inflates whatever window the client compressed with.
    static func makeInflater() -> UnsafeMutablePointer<z_stream> {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        courier_inflate_init(stream, -15)
        return stream
    }

    static func endDeflate(_ stream: UnsafeMutablePointer<z_stream>?) {
        guard let stream else { return }
        deflateEnd(stream)
        stream.deallocate()
    }

    static func endInflate(_ stream: UnsafeMutablePointer<z_stream>?) {
        guard let stream else { return }
        inflateEnd(stream)
        stream.deallocate()
    }
}
