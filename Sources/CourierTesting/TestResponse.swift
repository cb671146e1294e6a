public import CourierHTTP

/// A response as a client saw it.
public struct TestResponse: Sendable {
    /// The status code.
    public var status: Int
    /// The reason phrase from the status line ("" if none was sent).
    public var reason: String
    /// The fields as received, including those the server adds (live mode only: Content-Length, Connection, Date and the like).
    public var headers: HTTPHeaders
    /// The whole body, chunked framing removed; [] for HEAD, 1xx, 204 and 304.
    public var body: [UInt8]

    /// A response as given, for tests that build expectations by hand.
    public init(status: Int, reason: String = "", headers: HTTPHeaders, body: [UInt8]) {
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
    }

    /// The body decoded as UTF-8, invalid bytes replaced with U+FFFD.
    public var text: String { String(decoding: body, as: UTF8.self) }
}
