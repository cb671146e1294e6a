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

/// Keeps each event's metadata too.
final class CollectedEvents: Sendable {
    let events = Mutex<[(message: String, metadata: Logger.Metadata)]>([])
}

struct MetadataLogHandler: LogHandler {
    let collected: CollectedEvents
    var logLevel = Logger.Level.trace
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        collected.events.withLock { $0.append(("\(event.message)", event.metadata ?? [:])) }
    }
}

@Suite struct RequestIDTests {
    /// A sane request ID from the client is kept, echoed and logged; a hostile one (too long,
    /// with spaces or line breaks) is replaced by a fresh one; none at all gets a fresh one.
    @Test(arguments: bothModes)
    func requestIDsAreKeptWhenSaneAndMadeOtherwise(mode: TestMode) async throws {
        let collected = CollectedEvents()
        let logger = Logger(label: "test.access") { _ in MetadataLogHandler(collected: collected) }
        let app = Application()
        app.use(RequestLog(logger: logger))
        app.get("/id") { request, response in response.write(request.storage[RequestID.self] ?? "none") }
        try await app.test(mode) { client throws in
            let kept = try await client.get("/id", headers: ["X-Request-ID": "abc-123.4:5_6"])
            #expect(kept.text == "abc-123.4:5_6")
            #expect(kept.headers["X-Request-ID"] == "abc-123.4:5_6")
            for hostile in [String(repeating: "a", count: 129), "has space", "semi;colon", "quo\"te"] {
                let replaced = try await client.get("/id", headers: ["X-Request-ID": hostile])
                #expect(replaced.text != hostile)
                #expect(replaced.text.count == 32 && replaced.text.allSatisfy(\.isHexDigit))
                #expect(replaced.headers["X-Request-ID"] == replaced.text)
            }
            let made = try await client.get("/id")
            #expect(made.text.count == 32)
            let other = try await client.get("/id")
            #expect(other.text != made.text, "each request gets its own")
        }
        let events = collected.events.withLock { $0 }
        let first = try #require(events.first)
        #expect(first.metadata["request_id"] == "abc-123.4:5_6")
        #expect(first.metadata["method"] == "GET")
        #expect(first.metadata["path"] == "/id")
        #expect(first.metadata["status"] == "200")
        #expect(first.metadata["duration_us"] != nil)
    }
}
