/// One struct of settings per WebSocket route, as uWebSockets has it.
public struct WebSocketConfiguration: Sendable {
    /// Larger messages (after inflating) fail the connection with 1009.
    public var maxMessageBytes: Int
    /// Unsent bytes allowed to pile up for a client that does not read; past it a send is
    /// dropped and the connection is closed with 1008.
    public var maxBackpressureBytes: Int
    /// A connection silent this long is pinged (after up to half as long again, a random spread so
    /// that connections opened together are not all pinged at once)...
    public var pingIntervalMilliseconds: UInt64
    /// ...and closed if nothing at all arrives this long after the ping.
    public var pongTimeoutMilliseconds: UInt64
    /// After sending a close frame, how long to wait for the client's before cutting the socket.
    public var closeTimeoutMilliseconds: UInt64
    /// Accept permessage-deflate (RFC 7692) when the client offers it.
    public var compression: Bool
    /// Messages shorter than this are sent uncompressed even on a compressed connection.
    public var compressionThresholdBytes: Int
    /// Off (the default): compression carries no LZ77 window from one message to the next in
    /// either direction, so every connection of a loop uses that loop's one pair of zlib streams
    /// and an idle compressed connection costs about what a plain one does. On: each connection
    /// keeps its own streams (~300 KiB once it has sent and received a compressed message) and
    /// compresses a stream of similar messages better.
    public var compressionContextTakeover: Bool

    /// Defaults: 64 KiB messages, 1 MiB backpressure, a ping after 30 s of silence with 30 s to answer, 5 s for the closing handshake, compression above 64 bytes without context takeover.
    public init(maxMessageBytes: Int = 64 * 1024, maxBackpressureBytes: Int = 1 << 20,
                pingIntervalMilliseconds: UInt64 = 30_000, pongTimeoutMilliseconds: UInt64 = 30_000,
                closeTimeoutMilliseconds: UInt64 = 5_000, compression: Bool = true, compressionThresholdBytes: Int = 64,
                compressionContextTakeover: Bool = false) {
        self.maxMessageBytes = maxMessageBytes
        self.maxBackpressureBytes = maxBackpressureBytes
        self.pingIntervalMilliseconds = pingIntervalMilliseconds
        self.pongTimeoutMilliseconds = pongTimeoutMilliseconds
        self.closeTimeoutMilliseconds = closeTimeoutMilliseconds
        self.compression = compression
        self.compressionThresholdBytes = compressionThresholdBytes
        self.compressionContextTakeover = compressionContextTakeover
    }
}
