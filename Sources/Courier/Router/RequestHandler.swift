import CourierHTTP

/// A webapp2-style handler type: one method per HTTP verb, each from its own protocol, so the
/// router knows at build time which verbs a type answers and lists them in `Allow` on a 405.
///
///     struct MainPage: GetHandler, PostHandler {
///         func get(_ request: Request, _ response: inout Response) async throws { ... }
///         func post(_ request: Request, _ response: inout Response) async throws { ... }
///     }
public protocol RequestHandler: Sendable {}

/// A handler that answers GET, as a webapp2 handler class defines `get`.
public protocol GetHandler: RequestHandler {
    /// Answers a GET request by filling in `response`; a thrown `HTTPError` is the answer.
    func get(_ request: Request, _ response: inout Response) async throws
}
/// A handler that answers POST, as a webapp2 handler class defines `post`.
public protocol PostHandler: RequestHandler {
    /// Answers a POST request by filling in `response`; a thrown `HTTPError` is the answer.
    func post(_ request: Request, _ response: inout Response) async throws
}
/// A handler that answers PUT, as a webapp2 handler class defines `put`.
public protocol PutHandler: RequestHandler {
    /// Answers a PUT request by filling in `response`; a thrown `HTTPError` is the answer.
    func put(_ request: Request, _ response: inout Response) async throws
}
/// A handler that answers DELETE, as a webapp2 handler class defines `delete`.
public protocol DeleteHandler: RequestHandler {
    /// Answers a DELETE request by filling in `response`; a thrown `HTTPError` is the answer.
    func delete(_ request: Request, _ response: inout Response) async throws
}
/// A handler that answers PATCH, as a webapp2 handler class defines `patch`.
public protocol PatchHandler: RequestHandler {
    /// Answers a PATCH request by filling in `response`; a thrown `HTTPError` is the answer.
    func patch(_ request: Request, _ response: inout Response) async throws
}
/// A handler that answers HEAD, as a webapp2 handler class defines `head`.
public protocol HeadHandler: RequestHandler {
    /// Answers a HEAD request by filling in `response`; a thrown `HTTPError` is the answer.
    func head(_ request: Request, _ response: inout Response) async throws
}

/// A closure route that never waits: it runs inline on the connection's loop.
public typealias SyncHandler = @Sendable (Request, inout Response) throws -> Void
/// A closure route that may await: it runs in a Task whose executor is the connection's loop.
public typealias AsyncHandler = @Sendable (Request, inout Response) async throws -> Void

/// A route's handler for one method: synchronous ones run inline on the loop, with no Task.
enum Handler: Sendable {
    case sync(SyncHandler)
    case async(AsyncHandler)

    static func methods(of handler: some RequestHandler) -> [(HTTPMethod, Handler)] {
        var result: [(HTTPMethod, Handler)] = []
        if let typed = handler as? any GetHandler { result.append((.get, .async { try await typed.get($0, &$1) })) }
        if let typed = handler as? any PostHandler { result.append((.post, .async { try await typed.post($0, &$1) })) }
        if let typed = handler as? any PutHandler { result.append((.put, .async { try await typed.put($0, &$1) })) }
        if let typed = handler as? any DeleteHandler { result.append((.delete, .async { try await typed.delete($0, &$1) })) }
        if let typed = handler as? any PatchHandler { result.append((.patch, .async { try await typed.patch($0, &$1) })) }
        if let typed = handler as? any HeadHandler { result.append((.head, .async { try await typed.head($0, &$1) })) }
        return result
    }
}
