// The HTTP/1.1 client side ChannelLoad needs: keep-alive POSTs with a Content-Length body (and
// bodiless GETs, for ChannelNode's /token), and responses framed by Content-Length (or none, for
// 204). Anything else is an error.
#if canImport(Glibc)
import Glibc
#endif

enum HTTP {
    static func post(_ target: String, host: String, body: [UInt8], contentType: String = "text/plain") -> [UInt8] {
        var request = Array("POST \(target) HTTP/1.1\r\nHost: \(host)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n\r\n".utf8)
        request.append(contentsOf: body)
        return request
    }

    static func get(_ target: String, host: String) -> [UInt8] {
        Array("GET \(target) HTTP/1.1\r\nHost: \(host)\r\n\r\n".utf8)
    }

    struct Response {
        var status: Int
        var bodyStart: Int
        var end: Int
    }

    /// Parses a response at the start of `bytes`; nil until all of it has arrived.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws -> Response? {
        guard let headEnd = Handshake.headEnd(bytes) else {
            if bytes.count > 16384 { throw Failure("HTTP response head too long") }
            return nil
        }
        guard headEnd >= 12, bytes[9] >= 0x30, bytes[9] <= 0x39 else { throw Failure("bad HTTP status line") }
        let status = Int(bytes[9] - 0x30) * 100 + Int(bytes[10] - 0x30) * 10 + Int(bytes[11] - 0x30)
        var length: Int?
        let head = String(decoding: UnsafeBufferPointer(rebasing: bytes[0..<headEnd]), as: UTF8.self)
        for line in head.split(separator: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingSpaces
            if name == "content-length" { length = Int(value) }
            if name == "transfer-encoding" { throw Failure("chunked HTTP responses are not supported") }
        }
        if length == nil {
            guard status == 204 || status == 304 || status < 200 else { throw Failure("HTTP response \(status) without Content-Length") }
            length = 0
        }
        let end = headEnd + length!
        guard bytes.count >= end else { return nil }
        return Response(status: status, bodyStart: headEnd, end: end)
    }
}

extension Handshake {
    /// `headEnd` over raw bytes.
    static func headEnd(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4)
        where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return i + 4
        }
        return nil
    }
}

/// One keep-alive connection used in lock step: a request, then its response (setup work).
final class BlockingHTTP {
    let fd: Int32
    let host: String
    private var received: [UInt8] = []

    init(to destination: sockaddr_in, host: String) throws {
        fd = try connectTCP(to: destination, from: nil)
        self.host = host
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func post(_ target: String, body: [UInt8] = []) throws -> (status: Int, body: String) {
        try writeAll(fd, HTTP.post(target, host: host, body: body))
        return try readResponse(target)
    }

    /// Bodiless POSTs (or GETs) to every target, pipelined `depth` at a time; the answers in order.
    /// `between` runs after each batch (the hold mode answers its clients' pings there).
    func postAll(_ targets: [String], depth: Int = 64, method: String = "POST",
                 between: () throws -> Void = {}) throws -> [(status: Int, body: String)] {
        var answers: [(status: Int, body: String)] = []
        answers.reserveCapacity(targets.count)
        var next = 0
        while next < targets.count {
            let batch = targets[next..<min(next + depth, targets.count)]
            var bytes: [UInt8] = []
            for target in batch { bytes += method == "GET" ? HTTP.get(target, host: host) : HTTP.post(target, host: host, body: []) }
            try writeAll(fd, bytes)
            for target in batch { answers.append(try readResponse(target)) }
            next += batch.count
            try between()
        }
        return answers
    }

    private func readResponse(_ target: String) throws -> (status: Int, body: String) {
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            if let response = try received.withUnsafeBufferPointer({ try HTTP.parse($0) }) {
                let body = String(decoding: received[response.bodyStart..<response.end], as: UTF8.self)
                received.removeFirst(response.end)
                return (response.status, body)
            }
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw Failure.errno("HTTP read (\(target))") }
            if n == 0 { throw Failure("server closed the HTTP connection (\(target))") }
            received.append(contentsOf: chunk[0..<n])
        }
    }
}
