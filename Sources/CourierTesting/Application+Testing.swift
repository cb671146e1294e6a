public import Courier
public import CourierHTTP
public import CourierServer

/// How `app.test` drives the app: straight through its responder with no sockets, or through
/// a real server on an ephemeral loopback port.
public enum TestMode: Sendable {
    /// Calls the app's responder directly: no sockets, no parser, no server framing.
    case inProcess
    /// Starts a real one-worker server on an ephemeral loopback port and talks HTTP/1.1 to it.
    case live
}

/// Sends requests to an app under test; the same calls work in both modes.
// @unchecked Sendable: a test drives one client from one task at a time, and `app.test` hands
// it to its body across an await; the kept-alive `connection` is never used by two at once.
public final class TestClient: @unchecked Sendable {
    private let responder: ApplicationResponder?
    /// The loopback port of the live server; 0 in process.
    public let port: Int
    /// The address live connections come from (nil: the system's choice, 127.0.0.1).
    private let source: String?
    private var connection: RawClient?

    init(responder: ApplicationResponder?, port: Int, source: String? = nil) {
        self.responder = responder
        self.port = port
        self.source = source
    }

    /// A client of its own (its own keep-alive connection) for a server already listening on
    /// loopback `port`: one per simulated browser when a test needs several at once. `source`
    /// (say "127.0.0.2") is the peer address the server sees: a proxy, or a stranger.
    public convenience init(port: Int, from source: String? = nil) {
        self.init(responder: nil, port: port, source: source)
    }

    /// Sends one request and waits for the whole response (a streamed body is collected). Live, it reuses one keep-alive connection, adds Host and (for bodies and POST/PUT/PATCH) Content-Length, and reconnects after the server answers `Connection: close`.
    /// Send one request at a time: the client is not safe for concurrent calls. Throws `RawClient.Failure` when the live server closes, times out or answers malformed bytes.
    public func execute(_ method: HTTPMethod, _ target: String, headers: HTTPHeaders = HTTPHeaders(),
                        body: [UInt8] = []) async throws -> TestResponse {
        if let responder {
            let request = Request(method: method, target: target, headers: headers, body: body)
            let response = await responder.handle(request)
            var responseBody = response.body
            if let producer = response.bodyStream {
                let collected = Collected()
                try await producer(collected.writer)
                responseBody += collected.bytes
            }
            return TestResponse(status: response.status.code, reason: response.status.reasonPhrase,
                                headers: response.headers, body: method == .head ? [] : responseBody)
        }
        var text = "\(method.rawValue) \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
        for field in headers { text += "\(field.name): \(field.value)\r\n" }
        if !body.isEmpty || method == .post || method == .put || method == .patch {
            text += "Content-Length: \(body.count)\r\n"
        }
        text += "\r\n"
        let client = try connection ?? RawClient(port: port, from: source)
        connection = client
        var bytes = Array(text.utf8)
        bytes += body
        if !client.send(bytes) {
            connection = nil
            throw RawClient.Failure.closed
        }
        let response = try client.readResponse(forHead: method == .head)
        if response.headers.containsToken("close", in: "Connection") { connection = nil }
        return response
    }

    /// A GET of `target` (path and query, percent-encoded as on the wire).
    public func get(_ target: String, headers: HTTPHeaders = HTTPHeaders()) async throws -> TestResponse {
        try await execute(.get, target, headers: headers)
    }

    /// A POST of raw `body` bytes; set Content-Type in `headers` yourself.
    public func post(_ target: String, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) async throws -> TestResponse {
        try await execute(.post, target, headers: headers, body: body)
    }

    /// POSTs `fields` as an urlencoded form.
    public func post(_ target: String, form fields: [(String, String)], headers: HTTPHeaders = HTTPHeaders()) async throws -> TestResponse {
        var headers = headers
        headers.set("Content-Type", "application/x-www-form-urlencoded")
        return try await execute(.post, target, headers: headers, body: Array(URLEncoding.form(fields).utf8))
    }
}

// @unchecked Sendable: the body producer writes its chunks one after another, awaited, and
// the bytes are read only after it returns.
private final class Collected: @unchecked Sendable {
    var bytes: [UInt8] = []
    var writer: ResponseBodyWriter { ResponseBodyWriter(sendChunk: { [self] in bytes += $0 }) }
}

/// `app.test(_:configuration:_:)`: the app under test, in process or live.
extension Application {
    /// Runs `body` with a client for this app; a live server is stopped afterwards.
    public func test(_ mode: TestMode, configuration: ServerConfiguration? = nil,
                     _ body: (TestClient) async throws -> Void) async throws {
        switch mode {
        case .inProcess:
            try await body(TestClient(responder: try responder(), port: 0))
        case .live:
            var settings = configuration ?? ServerConfiguration(host: "127.0.0.1", port: 0, workers: 1)
            settings.handlesSignals = false
            settings.port = 0
            let server = try start(configuration: settings)
            defer {
                server.shutdown()
                server.waitUntilStopped()
            }
            try await body(TestClient(responder: nil, port: server.port))
        }
    }
}
