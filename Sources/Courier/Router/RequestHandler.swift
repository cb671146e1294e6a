import CourierHTTP

/// A webapp2-style handler type: one method per HTTP verb, each from its own protocol, so the
/// router knows at build time which verbs a type answers and lists them in `Allow` on a 405.
///
///     struct MainPage: GetHandler, PostHandler {
///         func get(_ request: Request, _ response: inout Response) async throws { ... }
///         func post(_ request: Request, _ response: inout Response) async throws { ... }
///     }
public protocol RequestHandler: Sendable {}

public protocol GetHandler: RequestHandler {
    func get(_ request: Request, _ response: inout Response) async throws
}
public protocol PostHandler: RequestHandler {
    func post(_ request: Request, _ response: inout Response) async throws
}
public protocol PutHandler: RequestHandler {
    func put(_ request: Request, _ response: inout Response) async throws
}
public protocol DeleteHandler: RequestHandler {
    func delete(_ request: Request, _ response: inout Response) async throws
}
public protocol PatchHandler: RequestHandler {
    func patch(_ request: Request, _ response: inout Response) async throws
}
public protocol HeadHandler: RequestHandler {
    func head(_ request: Request, _ response: inout Response) async throws
}

public typealias SyncHandler = @Sendable (Request, inout Response) throws -> Void
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
