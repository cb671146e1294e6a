import CourierHTTP
#if canImport(Glibc)
import Glibc
#endif

/// A deliberately plain HTTP/1.1 client over a blocking loopback socket, so tests can send
/// exactly the bytes they mean (malformed ones included) and read exactly what came back.
/// Every read has a timeout, so a server that fails to answer fails the test instead of hanging.
// @unchecked Sendable: a blocking socket driven by one test task at a time; its buffer is never
// used by two at once.
public final class RawClient: @unchecked Sendable {
    /// Why a read or connect failed; a test should fail with it.
    public enum Failure: Error, CustomStringConvertible {
        /// The connect failed with this errno (nothing listening, usually).
        case connect(Int32)
        /// No bytes arrived within the read timeout.
        case timedOut
        /// The server closed the connection before the response was complete.
        case closed
        /// The bytes were not an HTTP/1.1 response; the string says what was wrong.
        case malformed(String)

        /// A one-line message for test failure output.
        public var description: String {
            switch self {
            case .connect(let code): "connect failed (errno \(code))"
            case .timedOut: "timed out waiting for the server"
            case .closed: "connection closed by the server"
            case .malformed(let reason): "malformed response: \(reason)"
            }
        }
    }

    private let fd: Int32
    private var buffer: [UInt8] = []
    /// Set once a read saw end of stream or a reset from the server.
    public private(set) var peerClosed = false

    /// Connects at once and blocks until connected; every later read fails with `.timedOut` after `timeoutSeconds`. Throws `.connect` when nothing listens.
    /// `source` (e.g. "127.0.0.2") is the address the server sees it come from: a second peer
    /// on one machine, for what a server decides by its peer's address.
    public init(host: String = "127.0.0.1", port: Int, from source: String? = nil, timeoutSeconds: Int = 10) throws {
        switch LoopbackSocket.connect(host: host, port: port, from: source) {
        case .success(let socket): fd = socket
        case .failure(let error): throw Failure.connect(error.code)
        }
        setTimeout(seconds: timeoutSeconds)
    }

    deinit { Glibc.close(fd) }

    /// Changes the read timeout for later reads; the two parts are added.
    public func setTimeout(seconds: Int, milliseconds: Int = 0) {
        LoopbackSocket.setTimeout(fd, milliseconds: seconds * 1000 + milliseconds)
    }

    /// Sends all of `bytes`; returns false if the server has closed or reset the connection.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool { LoopbackSocket.sendAll(fd, bytes) }

    /// Sends `text` as UTF-8, exactly as given (write the CRLFs yourself); false if the server has closed or reset the connection.
    @discardableResult
    public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Half-closes: the server sees end of input but can still answer.
    public func shutdownWrite() { Glibc.shutdown(fd, Int32(SHUT_WR)) }

    /// Shuts down both directions so the server sees the client go; the descriptor itself is closed on deinit.
    public func close() { Glibc.shutdown(fd, Int32(SHUT_RDWR)) }

    /// Reads more bytes into the buffer; false at end of stream.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count > 0 {
            buffer.append(contentsOf: chunk[0..<count])
            return true
        }
        if count == 0 || errno == ECONNRESET {
            peerClosed = true
            return false
        }
        if errno == EAGAIN || errno == EWOULDBLOCK { throw Failure.timedOut }
        peerClosed = true
        return false
    }

    private func readLine() throws -> String {
        while true {
            if let index = buffer.firstIndex(of: 0x0A) {
                var line = Array(buffer[..<index])
                buffer.removeFirst(index + 1)
                if line.last == 0x0D { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            guard try fill() else { throw Failure.closed }
        }
    }

    private func readExactly(_ count: Int) throws -> [UInt8] {
        while buffer.count < count {
            guard try fill() else { throw Failure.closed }
        }
        let bytes = Array(buffer[..<count])
        buffer.removeFirst(count)
        return bytes
    }

    /// Reads one response. Interim (1xx) responses are returned like any other, so a test can
    /// see `100 Continue`. `forHead` reads no body (the answer to a HEAD request).
    public func readResponse(forHead: Bool = false) throws -> TestResponse {
        let statusLine = try readLine()
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let code = Int(parts[1]) else {
            throw Failure.malformed("status line '\(statusLine)'")
        }
        var headers = HTTPHeaders()
        while true {
            let line = try readLine()
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { throw Failure.malformed("header line '\(line)'") }
            headers.add(String(line[..<colon]), String(line[line.index(after: colon)...].trimmingPrefix(" ")))
        }
        var body: [UInt8] = []
        let noBody = forHead || (100..<200).contains(code) || code == 204 || code == 304
        if !noBody {
            if headers["Transfer-Encoding"]?.lowercased() == "chunked" {
                while true {
                    let sizeLine = try readLine()
                    guard let size = Int(sizeLine.split(separator: ";").first ?? "", radix: 16) else {
                        throw Failure.malformed("chunk size '\(sizeLine)'")
                    }
                    if size == 0 {
                        while try !readLine().isEmpty {}
                        break
                    }
                    body += try readExactly(size)
                    guard try readLine().isEmpty else { throw Failure.malformed("chunk without CRLF") }
                }
            } else if let length = headers["Content-Length"].flatMap({ Int($0) }) {
                body = try readExactly(length)
            } else {
                while try fill() {}
                body = buffer
                buffer = []
            }
        }
        return TestResponse(status: code, reason: parts.count > 2 ? String(parts[2]) : "", headers: headers, body: body)
    }

    /// Waits for the server to close the connection; true if it did within the timeout.
    public func waitForClose() -> Bool {
        do {
            while try fill() {}
            return true
        } catch {
            return false
        }
    }

    /// Everything received until the server closes (or the timeout).
    public func readUntilClose() -> [UInt8] {
        _ = waitForClose()
        let bytes = buffer
        buffer = []
        return bytes
    }
}
