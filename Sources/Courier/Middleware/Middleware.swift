import Synchronization

/// Wraps every request: sees it before `next` and the response after, may answer by itself
/// (not calling `next`), and may mount routes of its own when added to an app.
public protocol Middleware: Sendable {
    func handle(_ request: Request, _ response: inout Response, next: Next) async throws
    /// Called once by `app.use`; add the middleware's own routes here.
    func mount(on app: Application) throws
}

extension Middleware {
    public func mount(on app: Application) throws {}
}

/// The rest of the chain. Calling it twice is a programming error (Koa's rule) and throws.
public struct Next: Sendable {
    private let run: @Sendable (Request, inout Response) async throws -> Void
    private let called = CallFlag()

    init(_ run: @escaping @Sendable (Request, inout Response) async throws -> Void) { self.run = run }

    public func callAsFunction(_ request: Request, _ response: inout Response) async throws {
        guard called.markCalled() else { throw ApplicationError("middleware called next twice for \(request.method) \(request.path)") }
        try await run(request, &response)
    }
}

private final class CallFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func markCalled() -> Bool { !flag.exchange(true, ordering: .relaxed) }
}

/// A middleware from a closure.
public struct MiddlewareFunction: Middleware {
    let body: @Sendable (Request, inout Response, Next) async throws -> Void
    public init(_ body: @escaping @Sendable (Request, inout Response, Next) async throws -> Void) { self.body = body }
    public func handle(_ request: Request, _ response: inout Response, next: Next) async throws {
        try await body(request, &response, next)
    }
}

/// Middleware whose work is all before the route and never waits: it may change the request
/// (set the user from a cookie) or refuse it by throwing (an `HTTPError` becomes the answer).
/// A synchronous route behind nothing but filters runs inline on the loop, with no Task:
/// through an async middleware, each request of the channel benchmark paid a Task and its
/// trips through the executor. The server may call `filter` without `handle`, so a filter
/// keeps all its work in `filter` (the `handle` given here calls it, then `next`).
public protocol RequestFilter: Middleware {
    func filter(_ request: inout Request) throws
}

extension RequestFilter {
    public func handle(_ request: Request, _ response: inout Response, next: Next) async throws {
        var request = request
        try filter(&request)
        try await next(request, &response)
    }
}
