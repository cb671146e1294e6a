public import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Access log through swift-log (`courier.access`): one line per request, with the request ID,
/// method, path, status, bytes, duration, peer and client address (a trusted proxy's report)
/// and scheme as metadata that a log backend can index. The
/// request ID is the client's (or a proxy's) `X-Request-ID` when it is a sane token, else a
/// new one; it is echoed in the response's `X-Request-ID` and stored on the request
/// (`request.storage[RequestID.self]`) for handlers that log or call other services.
public struct RequestLog: Middleware {
    let logger: Logger
    let header: String

    /// Logs to `logger` at info level; `header` names the request ID header.
    public init(logger: Logger = Logger(label: "courier.access"), header: String = "X-Request-ID") {
        self.logger = logger
        self.header = header
    }

    /// Times the rest of the chain and logs the outcome. A chain that throws is logged with the
    /// status it will be answered with (an `HTTPError`'s own, 500 for any other error), and the
    /// error is rethrown. Streamed bodies are not counted.
    public func handle(_ request: Request, _ response: inout Response, next: Next) async throws {
        let start = Self.nowMicroseconds()
        var request = request
        let id = request.headers[header].flatMap(RequestID.accepting) ?? RequestID.make()
        request.storage[RequestID.self] = id
        do {
            try await next(request, &response)
        } catch {
            let answer = (error as? HTTPError)?.response
            log(request, id: id, status: answer?.status.code ?? 500, bytes: answer?.body.count ?? 0, start: start)
            throw error
        }
        response.headers.set(header, id)
        log(request, id: id, status: response.status.code, bytes: response.body.count, start: start)
    }

    private func log(_ request: Request, id: String, status: Int, bytes: Int, start: Int) {
        let micros = Self.nowMicroseconds() - start
        logger.info("\(request.method) \(request.path) \(status)", metadata: [
            "request_id": "\(id)", "method": "\(request.method)", "path": "\(request.path)", "status": "\(status)",
            "remote": "\(request.remoteAddress)", "client": "\(request.clientAddress)", "scheme": "\(request.scheme)", "bytes": "\(bytes)", "duration_us": "\(micros)",
        ])
    }

    static func nowMicroseconds() -> Int {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return spec.tv_sec * 1_000_000 + spec.tv_nsec / 1_000
    }
}

/// The request's ID as `RequestLog` set it, for handlers: `request.storage[RequestID.self]`.
public enum RequestID: RequestStorageKey {
    /// The ID itself.
    public typealias Value = String

    /// A client's ID is kept only if it is 1–128 characters of letters, digits, `-`, `_`, `.`
    /// or `:`, so a log line or a header can never carry what it should not.
    static func accepting(_ text: String) -> String? {
        guard (1...128).contains(text.utf8.count), text.utf8.allSatisfy(isIDByte) else { return nil }
        return text
    }

    private static func isIDByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: ":"):
            return true
        default:
            return false
        }
    }

    /// 16 random bytes in hex: unique without coordination between processes.
    static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        return hex16(generator.next()) + hex16(generator.next())
    }

    private static func hex16(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
