import Courier
import CourierServer
import CourierTesting
import Dispatch

extension ServerConfiguration {
    /// A loopback server on a free port, one loop, no signal handlers, and timeouts short
    /// enough that a test waiting on one stays quick.
    static func forTests(workers: Int = 1, headerTimeoutMilliseconds: UInt64 = 5_000,
                         idleTimeoutMilliseconds: UInt64 = 5_000) -> ServerConfiguration {
        ServerConfiguration(host: "127.0.0.1", port: 0, workers: workers,
                            headerTimeoutMilliseconds: headerTimeoutMilliseconds,
                            idleTimeoutMilliseconds: idleTimeoutMilliseconds,
                            shutdownDeadlineMilliseconds: 2_000, handlesSignals: false)
    }
}

/// Starts `app` on loopback, runs `body` with the server, then shuts it down and waits for it.
func withServer(_ app: Application = makeTestApp(), configuration: ServerConfiguration = .forTests(),
                _ body: (HTTPServer) async throws -> Void) async throws {
    let server = try app.start(configuration: configuration)
    defer {
        server.shutdown()
        server.waitUntilStopped()
    }
    try await body(server)
}

/// The routes most tests talk to.
func makeTestApp() -> Application {
    let app = Application()
    app.get("/hello") { _, response in response.write("hello") }
    app.get("/n/<n>") { request, response in response.write("n=\(request.parameters["n"] ?? "")") }
    app.post("/echo") { request, response in response.write(request.body) }
    app.post("/small", maxBodyBytes: 10) { request, response in response.write(request.body) }
    app.get("/slow") { _, response in
        try await Task.sleep(for: .milliseconds(300))
        response.write("slow")
    }
    app.get("/stream") { _, response in
        response.stream { writer in
            for index in 0..<5 {
                writer.write("part \(index)\n")
                try await Task.sleep(for: .milliseconds(5))
            }
        }
    }
    app.get("/big/<kib>") { request, response in
        let kib = Int(request.parameters["kib"] ?? "") ?? 0
        response.write([UInt8](repeating: UInt8(ascii: "x"), count: kib * 1024))
    }
    app.get("/missing") { _, _ in throw HTTPError(.notFound) }
    app.get("/boom") { _, _ in throw DatabaseFailure() }
    app.get("/boom-async") { _, _ in
        await Task.yield()
        throw DatabaseFailure()
    }
    app.get("/whoami") { request, response in response.write(request.loop?.name ?? "no loop") }
    return app
}

/// An error whose text must never reach a client.
struct DatabaseFailure: Error, CustomStringConvertible {
    static let secret = "password=hunter2 host=db.internal"
    var description: String { "connection refused: \(Self.secret)" }
}

/// The text of a request; `body` adds a Content-Length unless `headers` frame it themselves.
func request(_ method: String, _ target: String, version: String = "HTTP/1.1",
             headers: [String] = [], body: String? = nil) -> String {
    var text = "\(method) \(target) \(version)\r\nHost: 127.0.0.1\r\n"
    for header in headers { text += "\(header)\r\n" }
    let framed = headers.contains { $0.lowercased().hasPrefix("content-length:") || $0.lowercased().hasPrefix("transfer-encoding:") }
    if let body, !framed { text += "Content-Length: \(body.utf8.count)\r\n" }
    return text + "\r\n" + (body ?? "")
}

/// A GET request for `target`.
func request(_ target: String, headers: [String] = []) -> String {
    request("GET", target, headers: headers)
}

/// Runs `work` on another thread and waits for it at most `seconds`; false if it did not return.
func completes(within seconds: Double, _ work: @escaping @Sendable () -> Void) -> Bool {
    let done = DispatchSemaphore(value: 0)
    DispatchQueue.global().async {
        work()
        done.signal()
    }
    return done.wait(timeout: .now() + seconds) == .success
}

/// Milliseconds `work` took.
func milliseconds(_ work: () throws -> Void) rethrows -> Int {
    let start = ContinuousClock.now
    try work()
    let elapsed = ContinuousClock.now - start
    return Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
}
