import CourierHTTP
import CourierServer
import Foundation

/// What a handler builds: webapp2's `response`, as a value the handler mutates.
public struct Response: Sendable {
    /// The status to send; 200 unless set.
    public var status: HTTPStatus = .ok
    /// The app's fields; the server adds Content-Length (or chunked framing), Date and Connection.
    public var headers = HTTPHeaders()
    /// The body as built so far; not sent for HEAD, 1xx, 204 or 304.
    public var body: [UInt8] = []
    /// Set by `stream(_:)`: the body is produced after the head is sent.
    public var bodyStream: (@Sendable (ResponseBodyWriter) async throws -> Void)?
    /// Set with a 101 status: after the head is sent the connection leaves HTTP and this takes
    /// it over, on its loop (WebSocket routes set it).
    package var upgrade: (@Sendable (UpgradedStream) -> Void)?

    /// An empty 200, built in place: through the defaulted initializer below, the server's
    /// inline path copied the new value and destroyed the original.
    public init() {}

    /// A response as given, for middleware that answers by itself and for tests.
    public init(status: HTTPStatus = .ok, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// Appends `text` to the body as UTF-8; set `contentType` yourself.
    public mutating func write(_ text: String) { body.append(contentsOf: text.utf8) }
    /// Appends `bytes` to the body.
    public mutating func write(_ bytes: [UInt8]) { body.append(contentsOf: bytes) }

    /// The Content-Type field; setting nil removes it.
    public var contentType: String? {
        get { headers["Content-Type"] }
        set {
            if let newValue { headers.set("Content-Type", newValue) } else { headers.remove("Content-Type") }
        }
    }

    /// Replaces the body with `value` as JSON.
    public mutating func json<T: Encodable>(_ value: T, status: HTTPStatus = .ok) throws {
        self.status = status
        if let fast = try? StreamingJSONEncoder.encode(value) {
            body = fast
        } else {
            body = Array(try JSONEncoder().encode(value))
        }
        contentType = "application/json"
    }

    /// webapp2's `redirect`: 302 (or `status`) to `location`.
    public mutating func redirect(to location: String, status: HTTPStatus = .found) {
        self.status = status
        headers.set("Location", location)
        body = []
    }

    /// webapp2's `self.redirect(uri)`.
    public mutating func redirect(_ location: String, status: HTTPStatus = .found) {
        redirect(to: location, status: status)
    }

    /// Adds a Set-Cookie field; earlier cookies, even of the same name, are kept.
    public mutating func setCookie(_ cookie: Cookie) {
        headers.add("Set-Cookie", cookie.headerValue)
    }

    /// Expires a cookie in the browser.
    public mutating func deleteCookie(_ name: String, path: String = "/") {
        setCookie(Cookie(name: name, value: "", path: path, maxAge: 0))
    }

    /// Streams the body (chunked) from `producer` once the head is sent.
    public mutating func stream(_ producer: @escaping @Sendable (ResponseBodyWriter) async throws -> Void) {
        bodyStream = producer
    }
}

/// Writes a streamed body; each write goes out as one chunk.
public struct ResponseBodyWriter: Sendable {
    let sendChunk: @Sendable ([UInt8]) -> Void

    /// A writer handing each write to `sendChunk` (the server's own, or a test's collector).
    public init(sendChunk: @escaping @Sendable ([UInt8]) -> Void) { self.sendChunk = sendChunk }

    /// Sends `bytes` as one chunk, from any thread; an empty write sends nothing.
    public func write(_ bytes: [UInt8]) { sendChunk(bytes) }
    /// Sends `text` as UTF-8 in one chunk, from any thread.
    public func write(_ text: String) { sendChunk(Array(text.utf8)) }
}
