public import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Access log through swift-log (`courier.access`): method, path, status, bytes and duration.
public struct RequestLog: Middleware {
    let logger: Logger

    /// Logs to `logger` at info level, one line per request.
    public init(logger: Logger = Logger(label: "courier.access")) { self.logger = logger }

    /// Times the rest of the chain and logs the outcome; a request whose chain throws is logged as 500 with 0 bytes, and the error is rethrown. Streamed bodies are not counted.
    public func handle(_ request: Request, _ response: inout Response, next: Next) async throws {
        let start = Self.nowMicroseconds()
        do {
            try await next(request, &response)
        } catch {
            log(request, status: 500, bytes: 0, start: start)
            throw error
        }
        log(request, status: response.status.code, bytes: response.body.count, start: start)
    }

    private func log(_ request: Request, status: Int, bytes: Int, start: Int) {
        let micros = Self.nowMicroseconds() - start
        logger.info("\(request.method) \(request.path) \(status)", metadata: [
            "remote": "\(request.remoteAddress)", "bytes": "\(bytes)", "duration_us": "\(micros)",
        ])
    }

    static func nowMicroseconds() -> Int {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return spec.tv_sec * 1_000_000 + spec.tv_nsec / 1_000
    }
}
