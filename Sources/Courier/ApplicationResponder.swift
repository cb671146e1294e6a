import CoreMetrics
import CourierHTTP
import CourierLoop
import CourierServer
import Logging

/// The frozen app: routes and the stages (filters and middleware) as the server calls them.
/// Every request takes one path, `dispatch`, whether it came over a socket or from
/// `handle(_:)` in process: it is matched once (when its head arrives), the filters at the
/// front of the chain run inline, and a synchronous route behind nothing else runs inline too;
/// anything else continues in a Task whose executor is the connection's loop.
public struct ApplicationResponder: HTTPResponder {
    let router: Router
    let stages: [Stage]
    let logger: Logger
    /// How many stages at the front are filters: they run inline, before any Task.
    private let leadingFilters: Int
    /// Methods this server implements: RFC 9110's, and any other a route was added for. Any
    /// other gets 501 (RFC 9110 §9.1), not 405 or 404.
    private let implementedMethods: Set<HTTPMethod>
    /// Counts and times requests from sockets when the app has `Metrics`; nil costs a request
    /// one check.
    private let metrics: RequestMetrics?

    init(router: Router, stages: [Stage], logger: Logger, metricsFactory: (any MetricsFactory)? = nil,
         durations: DurationHistograms? = nil) {
        self.router = router
        self.stages = stages
        self.logger = logger
        leadingFilters = stages.firstIndex { if case .middleware = $0 { true } else { false } } ?? stages.count
        implementedMethods = Set([.get, .head, .post, .put, .delete, .patch, .options, .connect, .trace] as [HTTPMethod])
            .union(router.routes.flatMap(\.allowedMethods))
        let methods = implementedMethods
        metrics = metricsFactory.map {
            RequestMetrics(factory: $0, durations: durations, routeLabels: router.routes.map(\.template.label), methods: methods)
        }
    }

    /// Splits the target, decodes the path and matches the route, once, before the body is
    /// read (the route may allow a larger body than the server's default).
    public func plan(for head: HTTPRequestHead) -> HTTPRequestPlan {
        let found = router.find(head.method, URLEncoding.decodePath(head.split))
        return HTTPRequestPlan(maxBodyBytes: found.maxBodyBytes, route: found.route, parameters: found.parameters)
    }

    /// Runs the stages and the planned route for one request on its loop, and answers through `writer` exactly once; a thrown `HTTPError` becomes the response, any other error a 500.
    public func respond(to serverRequest: HTTPServerRequest, writer: HTTPResponseWriter) {
        let head = serverRequest.head
        let plan = serverRequest.plan
        // The path is taken from the target again rather than carried in the plan: without escapes
        // it is the target's own storage, and a plan with strings cost more to carry.
        var request = Request(method: head.method, path: URLEncoding.decodePath(head.split), query: head.split.queryString,
                              headers: head.headers,
                              body: serverRequest.body, version: head.version, remoteAddress: serverRequest.remoteAddress,
                              source: serverRequest.source, loop: serverRequest.loop, route: plan.route,
                              parameters: plan.parameters)
        let reply = WriterReply(writer: writer, loop: serverRequest.loop, logger: logger)
        if let metrics {
            // Labelled with the route matched when the request arrived (a filter that changes the
            // path does not move it to another series).
            let measured = MeasuredReply(reply: reply, metrics: metrics, route: plan.route, method: head.method,
                                         start: RequestMetrics.now())
            return dispatch(&request, reply: measured)
        }
        dispatch(&request, reply: reply)
    }

    /// Answers a request in process (tests, the channel service's presence posts) along the
    /// path a request from a socket takes.
    public func handle(_ request: Request) async -> Response {
        await withCheckedContinuation { continuation in
            var request = request
            dispatch(&request, reply: ContinuationReply(continuation: continuation))
        }
    }

    /// `inout`: the request is large, and taking it by value copied it (~90 instructions).
    private func dispatch(_ request: inout Request, reply: some ResponseReply) {
        var response = Response()
        do {
            for index in 0..<leadingFilters {
                guard case .filter(let filter) = stages[index] else { break }
                try filter.filter(&request)
            }
            if leadingFilters == stages.count, case .found(.sync(let handler)) = resolve(&request) {
                try request.readMultipartForm()
                try handler(request, &response)
                finish(&response, request)
                // Moved, not copied: a copy and its destroy were a tenth of the route's cost.
                return reply.send(consume response)
            }
        } catch {
            response = errorResponse(error, request)
            finish(&response, request)
            return reply.send(consume response)
        }
        let request = request
        let executor: (any TaskExecutor)? = request.loop
        Task(executorPreference: executor) {
            var response = Response()
            do {
                try await chain(from: leadingFilters)(request, &response)
            } catch {
                response = errorResponse(error, request)
            }
            finish(&response, request)
            reply.send(response)
        }
    }

    private func chain(from index: Int) -> @Sendable (Request, inout Response) async throws -> Void {
        if index == stages.count {
            return { request, response in await route(request, &response) }
        }
        let rest = chain(from: index + 1)
        switch stages[index] {
        case .filter(let filter):
            return { request, response in
                var request = request
                try filter.filter(&request)
                try await rest(request, &response)
            }
        case .middleware(let middleware):
            return { request, response in try await middleware.handle(request, &response, next: Next(rest)) }
        }
    }

    /// What the request's route is: the match made when it arrived, or a new one if middleware
    /// changed its method or path since.
    private enum Resolution {
        case found(Handler)
        case methodNotAllowed
        case notFound
    }

    private func resolve(_ request: inout Request) -> Resolution {
        if request.route == Request.unmatched {
            let found = router.find(request.method, request.path)
            request.route = found.route
            request.parameters = found.parameters
        }
        let route = request.route
        if route >= 0 { return .found(router.handler(route)) }
        return route == Router.Found.methodNotAllowed ? .methodNotAllowed : .notFound
    }

    /// The innermost step: the route, with handler errors already turned into responses so
    /// that middleware sees every outcome as a response.
    private func route(_ request: Request, _ response: inout Response) async {
        var request = request
        switch resolve(&request) {
        case .found(let handler):
            do {
                try request.readMultipartForm()
                switch handler {
                case .sync(let run): try run(request, &response)
                case .async(let run): try await run(request, &response)
                }
            } catch {
                response = errorResponse(error, request)
            }
        case .methodNotAllowed where request.method == .options:
            // OPTIONS on a route that does not handle it: which methods it takes (RFC 9110 §9.3.7).
            response.status = .noContent
            response.headers.set("Allow", (router.allowedMethods(request.path) + [.options]).map(\.rawValue).joined(separator: ", "))
        case .methodNotAllowed where !implementedMethods.contains(request.method),
             .notFound where !implementedMethods.contains(request.method):
            response = HTTPError(.notImplemented).response
        case .methodNotAllowed:
            var error = HTTPError(.methodNotAllowed)
            error.headers.set("Allow", router.allowedMethods(request.path).map(\.rawValue).joined(separator: ", "))
            response = error.response
        case .notFound where request.method == .options && request.path == "*":
            // `OPTIONS *`: what the server as a whole supports.
            response.status = .noContent
            response.headers.set("Allow", implementedMethods.subtracting([.connect, .trace]).map(\.rawValue).sorted().joined(separator: ", "))
        case .notFound:
            response = HTTPError(.notFound).response
        }
    }

    private func errorResponse(_ error: any Error, _ request: Request) -> Response {
        if let error = error as? HTTPError { return error.response }
        logger.error("handler failed", metadata: ["method": "\(request.method)", "path": "\(request.path)", "error": "\(error)"])
        return HTTPError(.internalServerError).response
    }

    /// The app's side of the response head, decided in one place for every path: no header
    /// with CR, LF or NUL (a value taken from the request, such as a redirect target or a
    /// cookie, would otherwise write headers of its own: response splitting), and webapp2's
    /// default Content-Type for a body. The server adds Content-Length, Date and Connection.
    private func finish(_ response: inout Response, _ request: Request) {
        refuseSplitHeaders(&response, request)
        if response.headers["Content-Type"] == nil, !response.body.isEmpty || response.bodyStream != nil {
            response.headers.add("Content-Type", "text/html; charset=utf-8")
        }
    }

    private func refuseSplitHeaders(_ response: inout Response, _ request: Request) {
        for field in response.headers.fields where Self.splitsHeaders(field.name) || Self.splitsHeaders(field.value) {
            logger.error("handler set a header containing CR, LF or NUL", metadata: [
                "method": "\(request.method)", "path": "\(request.path)", "header": "\(field.name)",
            ])
            response = HTTPError(.internalServerError).response
            return
        }
    }

    private static func splitsHeaders(_ text: String) -> Bool {
        // The contiguous bytes without copying the string (`withUTF8` needs a mutable copy).
        if let found = text.utf8.withContiguousStorageIfAvailable(ByteScan.containsLineBreakOrNUL) { return found }
        var text = text
        return text.withUTF8(ByteScan.containsLineBreakOrNUL)
    }
}

/// Where a dispatched request's response goes: the connection, or an in-process caller.
private protocol ResponseReply: Sendable {
    func send(_ response: consuming Response)
}

/// Writes the response to the connection: whole, streamed, or as a protocol switch.
private struct WriterReply: ResponseReply {
    let writer: HTTPResponseWriter
    let loop: EventLoop
    let logger: Logger

    func send(_ response: consuming Response) {
        let head = HTTPResponseHead(status: response.status, headers: response.headers)
        if let takeOver = response.upgrade, response.status == .switchingProtocols {
            writer.upgrade(head, takeOver: takeOver)
            return
        }
        guard let producer = response.bodyStream else {
            writer.respond(head, body: response.body)
            return
        }
        writer.startStreaming(head)
        let logger = logger
        let writer = writer
        Task(executorPreference: loop) {
            do {
                try await producer(ResponseBodyWriter { writer.writeChunk($0) })
                writer.finishStreaming()
            } catch {
                logger.error("response stream failed", metadata: ["error": "\(error)"])
                writer.abortStreaming()
            }
        }
    }
}

/// Counts the request and its duration (to the response's head), then writes the response.
private struct MeasuredReply: ResponseReply {
    let reply: WriterReply
    let metrics: RequestMetrics
    let route: Int
    let method: HTTPMethod
    let start: Int64

    func send(_ response: consuming Response) {
        metrics.record(route: route, method: method, status: response.status.code,
                       nanoseconds: RequestMetrics.now() - start, on: reply.loop)
        reply.send(response)
    }
}

/// Hands the response to an in-process caller waiting in `handle(_:)`.
private struct ContinuationReply: ResponseReply {
    let continuation: CheckedContinuation<Response, Never>

    func send(_ response: consuming Response) { continuation.resume(returning: response) }
}
