import CourierHTTP
import CourierLoop

/// A request whose body has been read in full (up to its limit).
public struct HTTPServerRequest: Sendable {
    public var head: HTTPRequestHead
    public var body: [UInt8]
    public var remoteAddress: String
    /// The loop that owns the connection; async work started with it as task executor resumes
    /// next to the connection.
    public let loop: EventLoop

    public init(head: HTTPRequestHead, body: [UInt8], remoteAddress: String, loop: EventLoop) {
        self.head = head
        self.body = body
        self.remoteAddress = remoteAddress
        self.loop = loop
    }
}

/// What the server calls for each request: the seam between the connection machinery and an
/// application. It is called on the connection's loop and must, now or later, finish the
/// response through `writer` exactly once.
public protocol HTTPResponder: Sendable {
    /// The body limit for this request, decided from its head before any body is read.
    func maxBodyBytes(for head: HTTPRequestHead) -> Int?
    func respond(to request: HTTPServerRequest, writer: HTTPResponseWriter)
}

extension HTTPResponder {
    public func maxBodyBytes(for head: HTTPRequestHead) -> Int? { nil }
}
