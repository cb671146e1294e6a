import Synchronization

/// What `app.use` takes: a `Middleware`, which wraps the rest of the chain, or a
/// `RequestFilter`, which only works on the request before it. A type is one or the other:
/// the server calls a filter's `filter` and nothing else, so a `handle` beside it would be
/// skipped without a word; `app.use` refuses a type that is both.
public protocol RequestStage: Sendable {
    /// Called once by `app.use`; add the stage's own routes here.
    func mount(on app: Application) throws
}

extension RequestStage {
    /// No routes of its own.
    public func mount(on app: Application) throws {}
}

/// Wraps every request: sees it before `next` and the response after, may answer by itself
/// (not calling `next`), and may mount routes of its own when added to an app.
public protocol Middleware: RequestStage {
    /// Runs this stage: call `next` at most once to run the rest of the chain and the route.
    func handle(_ request: Request, _ response: inout Response, next: Next) async throws
}

/// The rest of the chain. Calling it twice is a programming error (Koa's rule) and throws.
public struct Next: Sendable {
    private let run: @Sendable (Request, inout Response) async throws -> Void
    private let called = CallFlag()

    init(_ run: @escaping @Sendable (Request, inout Response) async throws -> Void) { self.run = run }

    /// Runs the rest of the chain and the route, filling `response`. Throws `ApplicationError` if called a second time, and rethrows what the rest threw.
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
    /// `body` is the middleware's `handle`: call `next` at most once.
    public init(_ body: @escaping @Sendable (Request, inout Response, Next) async throws -> Void) { self.body = body }
    /// Calls the closure.
    public func handle(_ request: Request, _ response: inout Response, next: Next) async throws {
        try await body(request, &response, next)
    }
}

/// A stage whose work is all before the route and never waits: it may change the request
/// (set the user from a cookie) or refuse it by throwing (an `HTTPError` becomes the answer).
/// A synchronous route behind nothing but filters runs inline on the loop, with no Task:
/// through an async middleware, each request of the channel benchmark paid a Task and its
/// trips through the executor.
public protocol RequestFilter: RequestStage {
    /// Changes or refuses the request; a thrown `HTTPError` is the answer.
    func filter(_ request: inout Request) throws
}

/// A stage that only adds routes and settings when added to an app (`Metrics`): the chain
/// never calls it, so requests it does not serve cost nothing more, and a synchronous route
/// behind it still runs inline.
public protocol RouteProvider: RequestStage {}

/// A stage as the responder runs it.
enum Stage: Sendable {
    case filter(any RequestFilter)
    case middleware(any Middleware)

    /// Sorts what `app.use` was given, refusing a type that is both kinds (its `handle` would
    /// never run) or neither; nil for a `RouteProvider`, which has no place in the chain.
    init?(_ stage: any RequestStage) throws(ApplicationError) {
        if stage is any RouteProvider {
            if stage is any RequestFilter || stage is any Middleware {
                throw ApplicationError("\(type(of: stage)) is a RouteProvider and also runs per request: the chain would skip it; conform to one")
            }
            return nil
        }
        switch stage {
        case let filter as any RequestFilter:
            if stage is any Middleware {
                throw ApplicationError("\(type(of: stage)) is both a RequestFilter and a Middleware: its handle(_:_:next:) would never run; conform to one")
            }
            self = .filter(filter)
        case let middleware as any Middleware:
            self = .middleware(middleware)
        default:
            throw ApplicationError("\(type(of: stage)) is neither a Middleware nor a RequestFilter")
        }
    }
}
