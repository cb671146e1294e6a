public import CourierHTTP
import Dispatch
import Glibc

/// A frame as the server put it on the wire.
public struct ServerFrame: Equatable, Sendable, CustomStringConvertible {
    /// The frame ends its message.
    public var fin: Bool
    /// RSV1: set on the first frame of a permessage-deflate compressed message.
    public var rsv1: Bool
    /// The raw 4-bit opcode; compare with `WebSocketOpcode.x.rawValue`.
    public var opcode: UInt8
    /// The payload as sent (still compressed if `rsv1`).
    public var payload: [UInt8]

    /// A frame as given, for expected values in assertions.
    public init(fin: Bool, rsv1: Bool, opcode: UInt8, payload: [UInt8]) {
        self.fin = fin
        self.rsv1 = rsv1
        self.opcode = opcode
        self.payload = payload
    }

    /// The payload decoded as UTF-8, invalid bytes replaced with U+FFFD.
    public var text: String { String(decoding: payload, as: UTF8.self) }

    /// The code and reason of a close frame (nil code for an empty payload).
    public var close: (code: UInt16?, reason: String)? {
        guard opcode == WebSocketOpcode.close.rawValue else { return nil }
        guard payload.count >= 2 else { return (nil, "") }
        return (UInt16(payload[0]) << 8 | UInt16(payload[1]), String(decoding: payload[2...], as: UTF8.self))
    }

    /// A summary for failure messages; the payload's size, not its bytes.
    public var description: String { "frame(opcode \(opcode), fin \(fin), rsv1 \(rsv1), \(payload.count) bytes)" }
}

/// A deliberately plain WebSocket client over a blocking loopback socket: it sends exactly the
/// frames a test builds (any opcode, flags, fragmentation, masked or not) and reads the
/// server's frames one by one. Every read has a timeout, so a silent server fails the test.
/// Reads block a thread of the client's own queue, never one of Swift's cooperative pool
/// (two threads on a two-core machine), so a test waiting seconds for the server does not
/// stall the timers and tests running beside it.
// @unchecked Sendable: a test drives the client from one task at a time; its socket and
// buffers are never used by two at once.
public final class WebSocketTestClient: @unchecked Sendable {
    /// Why the client could not go on; a test should fail with it.
    public enum Failure: Error, CustomStringConvertible {
        /// The connect failed with this errno.
        case connect(Int32)
        /// Nothing arrived within the read timeout.
        case timedOut
        /// The server closed TCP before a whole head or frame arrived.
        case closed
        /// The answer was not 101 with the expected Sec-WebSocket-Accept.
        case handshake(String)
        /// A server frame broke RFC 6455 (a masked one, for instance).
        case malformed(String)

        /// A one-line message for test failure output.
        public var description: String {
            switch self {
            case .connect(let code): "connect failed (errno \(code))"
            case .timedOut: "timed out waiting for the server"
            case .closed: "connection closed by the server"
            case .handshake(let reason): "handshake failed: \(reason)"
            case .malformed(let reason): "malformed server frame: \(reason)"
            }
        }
    }

    /// The key of RFC 6455 §1.3 and its accept value.
    public static let sampleKey = "dGhlIHNhbXBsZSBub25jZQ=="
    /// The Sec-WebSocket-Accept a server must answer to `sampleKey`.
    public static let sampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

    private let fd: Int32
    private let queue = DispatchQueue(label: "courier.websocket-test-client")
    /// Touched only on `queue`, or before the first read.
    private var buffer: [UInt8] = []
    /// The 101 response's status and headers.
    public private(set) var status = 0
    /// The fields of the handshake answer; empty before it is read.
    public private(set) var headers = HTTPHeaders()
    /// When the last frame was read and when the server closed TCP, stamped by the reading
    /// thread, so a test measuring server timing is not misled by how late it resumes.
    public private(set) var lastFrameAt = ContinuousClock.now
    /// When the server's TCP close was seen by `readSlowly` or `waitForTCPClose`; nil until then.
    public private(set) var closedAt: ContinuousClock.Instant?

    /// Connects without a handshake (`init(port:)` does one). `receiveBufferBytes` shrinks the kernel's receive buffer
    /// (set before connecting, so the window is small from the start) for slow-consumer tests.
    public init(connectingTo port: Int, timeoutMilliseconds: Int = 5_000, receiveBufferBytes: Int32? = nil) throws {
        switch LoopbackSocket.connect(port: port, receiveBufferBytes: receiveBufferBytes) {
        case .success(let socket): fd = socket
        case .failure(let error): throw Failure.connect(error.code)
        }
        setTimeout(milliseconds: timeoutMilliseconds)
    }

    /// Connects and completes the opening handshake; throws unless the server answers 101
    /// with the right Sec-WebSocket-Accept.
    public convenience init(port: Int, path: String = "/ws", headers extra: [String] = [], timeoutMilliseconds: Int = 5_000,
                     receiveBufferBytes: Int32? = nil) throws {
        try self.init(connectingTo: port, timeoutMilliseconds: timeoutMilliseconds, receiveBufferBytes: receiveBufferBytes)
        send(Array(Self.handshakeRequest(path: path, headers: extra).utf8))
        try readHandshakeResponseBlocking(expectedAccept: Self.sampleAccept)
    }

    deinit { Glibc.close(fd) }

    /// The text of an upgrade request for `path`, ending in the blank line. Each `extra` entry is one whole header line without CRLF ("Origin: https://example.com").
    public static func handshakeRequest(path: String = "/ws", key: String = sampleKey, headers extra: [String] = []) -> String {
        var text = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        text += "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n"
        for header in extra { text += "\(header)\r\n" }
        return text + "\r\n"
    }

    /// Reads the handshake answer; bytes after it stay buffered as frames.
    public func readHandshakeResponse(expectedAccept: String = sampleAccept) async throws {
        try await offPool { try self.readHandshakeResponseBlocking(expectedAccept: expectedAccept) }
    }

    private func readHandshakeResponseBlocking(expectedAccept: String) throws {
        while true {
            if let end = headEnd() {
                let lines = String(decoding: buffer[..<end], as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
                buffer.removeFirst(end + 4)
                let statusParts = lines[0].split(separator: " ")
                status = statusParts.count > 1 ? Int(statusParts[1]) ?? 0 : 0
                for line in lines.dropFirst() {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers.add(String(line[..<colon]), String(line[line.index(after: colon)...].drop { $0 == " " }))
                }
                guard status == 101 else { throw Failure.handshake("status \(status)") }
                guard headers["Sec-WebSocket-Accept"] == expectedAccept else {
                    throw Failure.handshake("Sec-WebSocket-Accept \(headers["Sec-WebSocket-Accept"] ?? "missing")")
                }
                return
            }
            guard try fill() else { throw Failure.closed }
        }
    }

    private func headEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for index in 0...(buffer.count - 4)
        where buffer[index] == 13 && buffer[index + 1] == 10 && buffer[index + 2] == 13 && buffer[index + 3] == 10 {
            return index
        }
        return nil
    }

    /// Changes the read timeout for later reads.
    public func setTimeout(milliseconds: Int) { LoopbackSocket.setTimeout(fd, milliseconds: milliseconds) }

    // MARK: Sending

    /// Sends all of `bytes`; false if the server has closed or reset the connection.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool { LoopbackSocket.sendAll(fd, bytes) }

    /// Sends one frame built by `ClientFrame.encode`.
    @discardableResult
    public func send(_ opcode: UInt8, _ payload: [UInt8], fin: Bool = true, rsv1: Bool = false, masked: Bool = true) -> Bool {
        send(ClientFrame.encode(opcode, payload, fin: fin, rsv1: rsv1, masked: masked))
    }

    /// Sends one final, masked text frame; false if the server has closed the connection.
    @discardableResult
    public func sendText(_ text: String) -> Bool { send(WebSocketOpcode.text.rawValue, Array(text.utf8)) }

    /// Sends one final, masked binary frame; false if the server has closed the connection.
    @discardableResult
    public func sendBinary(_ bytes: [UInt8]) -> Bool { send(WebSocketOpcode.binary.rawValue, bytes) }

    /// Sends a masked close frame; a nil `code` sends an empty payload (and drops `reason`). The reason is not cut to 123 bytes, so a test can send an oversized one.
    @discardableResult
    public func sendClose(code: UInt16? = 1000, reason: String = "") -> Bool {
        var payload: [UInt8] = []
        if let code { payload = [UInt8(code >> 8), UInt8(code & 0xFF)] + Array(reason.utf8) }
        return send(WebSocketOpcode.close.rawValue, payload)
    }

    /// Drops the TCP connection without a close frame.
    public func drop() { Glibc.shutdown(fd, Int32(SHUT_RDWR)) }

    // MARK: Receiving

    /// Runs `work` on the client's own thread: for exchanges whose timing matters (answering
    /// pings in time), where a test resuming late on a busy pool would change the outcome.
    public func blocking<Result: Sendable>(_ work: @escaping @Sendable (WebSocketTestClient) throws -> Result) async throws -> Result {
        try await offPool { try work(self) }
    }

    private func offPool<Result: Sendable>(_ work: @escaping @Sendable () throws -> Result) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Swift.Result { try work() }) }
        }
    }

    /// Reads more bytes into the buffer; false at end of stream.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count > 0 {
            buffer.append(contentsOf: chunk[0..<count])
            return true
        }
        if count == 0 || errno == ECONNRESET { return false }
        if errno == EAGAIN || errno == EWOULDBLOCK { throw Failure.timedOut }
        return false
    }

    private func need(_ count: Int) throws {
        while buffer.count < count {
            guard try fill() else { throw Failure.closed }
        }
    }

    /// The next frame from the server. Server frames must not be masked (RFC 6455 §5.1).
    public func readFrame() async throws -> ServerFrame {
        try await offPool { try self.readFrameBlocking() }
    }

    /// `readFrame` on the calling thread: use it inside `blocking`, never on Swift's cooperative pool. Throws `.timedOut`, `.closed` or `.malformed`.
    public func readFrameBlocking() throws -> ServerFrame {
        try need(2)
        let first = buffer[0], second = buffer[1]
        guard second & 0x80 == 0 else { throw Failure.malformed("server frame is masked") }
        var length = Int(second & 0x7F)
        var header = 2
        if length == 126 {
            try need(4)
            length = Int(buffer[2]) << 8 | Int(buffer[3])
            header = 4
        } else if length == 127 {
            try need(10)
            length = buffer[2..<10].reduce(0) { $0 << 8 | Int($1) }
            header = 10
        }
        try need(header + length)
        let frame = ServerFrame(fin: first & 0x80 != 0, rsv1: first & 0x40 != 0, opcode: first & 0x0F,
                                payload: Array(buffer[header..<(header + length)]))
        buffer.removeFirst(header + length)
        lastFrameAt = .now
        return frame
    }

    /// Reads frames until a close frame, skipping pings and data; nil if none came.
    public func readUntilCloseFrame() async -> ServerFrame? {
        try? await offPool {
            while let frame = try? self.readFrameBlocking() {
                if frame.opcode == WebSocketOpcode.close.rawValue { return frame }
            }
            return nil
        }
    }

    /// Reads everything until the server closes, pausing between reads (a peer on a slow
    /// link); returns how many bytes arrived. Call through `blocking`.
    public func readSlowly(pauseMicroseconds: UInt32) -> Int {
        var total = buffer.count
        buffer = []
        while (try? fill()) == true {
            total += buffer.count
            buffer = []
            usleep(pauseMicroseconds)
        }
        closedAt = .now
        return total
    }

    /// True if the server closes the TCP connection (EOF or reset) before the timeout;
    /// frames still arriving are discarded.
    public func waitForTCPClose() async -> Bool {
        (try? await offPool {
            self.buffer = []
            do {
                while try self.fill() { self.buffer = [] }
                self.closedAt = .now
                return true
            } catch {
                return false
            }
        }) ?? false
    }
}

/// Builds client frames: masked by default, with any opcode (reserved ones included) and flags.
public enum ClientFrame {
    /// One frame's bytes with the flags given and no checks, so tests can build invalid frames. Masked with the fixed `mask` unless `masked` is false (which a server must refuse).
    public static func encode(_ opcode: UInt8, _ payload: [UInt8], fin: Bool = true, rsv1: Bool = false,
                       rsv2: Bool = false, masked: Bool = true, mask: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]) -> [UInt8] {
        var bytes: [UInt8] = [(fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | (rsv2 ? 0x20 : 0) | opcode]
        let maskBit: UInt8 = masked ? 0x80 : 0
        if payload.count < 126 {
            bytes.append(maskBit | UInt8(payload.count))
        } else if payload.count <= 0xFFFF {
            bytes += [maskBit | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        } else {
            bytes.append(maskBit | 127)
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8((payload.count >> shift) & 0xFF)) }
        }
        guard masked else { return bytes + payload }
        bytes += mask
        for (index, byte) in payload.enumerated() { bytes.append(byte ^ mask[index & 3]) }
        return bytes
    }

    /// A masked text frame; `fin: false` starts a fragmented message.
    public static func text(_ text: String, fin: Bool = true) -> [UInt8] {
        encode(WebSocketOpcode.text.rawValue, Array(text.utf8), fin: fin)
    }
}
