public import CourierHTTP
public import CourierLoop

/// A request whose body has been read in full (up to its limit).
public struct HTTPServerRequest: Sendable {
    /// The request line and fields as parsed.
    public var head: HTTPRequestHead
    /// The whole body, chunked framing removed; [] when none was sent.
    public var body: [UInt8]
    /// The peer as "ip:port" ("[ip]:port" for IPv6), or "unknown"; the direct peer, so a proxy's address behind one.
    public var remoteAddress: String
    /// The client behind the peer: the peer itself, or what a trusted proxy reports
    /// (`ServerConfiguration.trustedProxies`).
    public var source: RequestSource
    /// The loop that owns the connection; async work started with it as task executor resumes
    /// next to the connection.
    public let loop: EventLoop
    /// What the responder's `plan(for:)` decided when the head arrived, handed back with it.
    public var plan: HTTPRequestPlan

    /// A request as given, for tests and in-process callers; the server makes its own.
    /// `source` defaults to the peer, believing no forwarding field.
    public init(head: HTTPRequestHead, body: [UInt8], remoteAddress: String, loop: EventLoop,
                plan: HTTPRequestPlan = HTTPRequestPlan(), source: RequestSource? = nil) {
        self.head = head
        self.body = body
        self.remoteAddress = remoteAddress
        self.source = source ?? RequestSource(peer: remoteAddress)
        self.loop = loop
        self.plan = plan
    }
}

/// What a responder decides from a request's head, before its body is read: the body limit,
/// and the route it matched, so that the request is matched once and the match travels with it
/// to `respond`.
public struct HTTPRequestPlan: Sendable {
    /// The most body this request may have (413 beyond it); nil for the server's default.
    public var maxBodyBytes: Int?
    /// The responder's own number for what it matched (a route's index), or -1 for none.
    public var route: Int
    /// The values the route captured from the path.
    public var parameters: [String: String]

    /// The default: the server's body limit, no route, no parameters.
    public init(maxBodyBytes: Int? = nil, route: Int = -1, parameters: [String: String] = [:]) {
        self.maxBodyBytes = maxBodyBytes
        self.route = route
        self.parameters = parameters
    }
}

/// What the server calls for each request: the seam between the connection machinery and an
/// application. It is called on the connection's loop and must, now or later, finish the
/// response through `writer` exactly once.
public protocol HTTPResponder: Sendable {
    /// Decides, from the head alone, the body limit and the route; called once per request.
    func plan(for head: HTTPRequestHead) -> HTTPRequestPlan
    /// Answers a request whose body has been read, through `writer`, now or later.
    func respond(to request: HTTPServerRequest, writer: HTTPResponseWriter)
}

extension HTTPResponder {
    /// No route of its own and the server's default body limit.
    public func plan(for head: HTTPRequestHead) -> HTTPRequestPlan { HTTPRequestPlan() }
}
