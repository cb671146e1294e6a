public import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Access log through swift-log (`courier.access`): method, path, status, bytes and duration.
public struct RequestLog: Middleware {
    let logger: Logger

    /// Logs to `logger` at info level, one line per request.
    public init(logger: Logger = Logger(label: "courier.access")) { self.logger = logger }

    /// Times the rest of the chain and logs the outcome. A chain that throws is logged with the
    /// status it will be answered with (an `HTTPError`'s own, 500 for any other error), and the
    /// error is rethrown. Streamed bodies are not counted.
    public func handle(_ request: Request, _ response: inout Response, next: Next) async throws {
        let start = Self.nowMicroseconds()
        do {
            try await next(request, &response)
        } catch {
            let answer = (error as? HTTPError)?.response
            log(request, status: answer?.status.code ?? 500, bytes: answer?.body.count ?? 0, start: start)
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
