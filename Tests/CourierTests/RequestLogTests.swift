import Courier
import CourierTesting
import Logging
import Synchronization
import Testing

/// Keeps what was logged, so a test reads the access log's lines.
final class CollectedLines: Sendable {
    let lines = Mutex<[String]>([])
}

struct CollectingLogHandler: LogHandler {
    let collected: CollectedLines
    var logLevel = Logger.Level.trace
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        collected.lines.withLock { $0.append("\(event.message)") }
    }
}

@Suite struct RequestLogTests {
    /// The access log shows the status the client got: an `HTTPError` thrown by a handler or a
    /// middleware is answered with its own status, and logged with it, not as 500.
    @Test(arguments: bothModes)
    func theLoggedStatusIsTheOneAnswered(mode: TestMode) async throws {
        let collected = CollectedLines()
        let logger = Logger(label: "test.access") { _ in CollectingLogHandler(collected: collected) }
        let app = Application()
        app.use(RequestLog(logger: logger))
        app.use(MiddlewareFunction { request, response, next in
            if request.path == "/teapot" { throw HTTPError(.init(code: 418)) }
            try await next(request, &response)
        })
        app.get("/ok") { _, response in response.write("fine") }
        app.get("/gone") { _, _ in throw HTTPError(.notFound) }
        app.get("/broken") { _, _ in throw CancellationError() }
        try await app.test(mode) { client throws in
            #expect(try await client.get("/ok").status == 200)
            #expect(try await client.get("/gone").status == 404)
            #expect(try await client.get("/teapot").status == 418)
            #expect(try await client.get("/broken").status == 500)
        }
        let lines = collected.lines.withLock { $0 }
        #expect(lines.contains("GET /ok 200"))
        #expect(lines.contains("GET /gone 404"))
        #expect(lines.contains("GET /teapot 418"))
        #expect(lines.contains("GET /broken 500"))
    }
}
