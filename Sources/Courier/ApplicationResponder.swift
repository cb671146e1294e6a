import CourierHTTP
import CourierLoop
import CourierServer
import Logging

/// The frozen app: routes and middleware as the server calls them. A synchronous route behind
/// no middleware, or only `RequestFilter`s, runs inline on the loop; anything else runs in a
/// Task whose executor is the connection's loop.
public struct ApplicationResponder: HTTPResponder {
    let router: Router
    let middleware: [any Middleware]
    let logger: Logger
    private let hasBodyLimits: Bool
    /// The middleware, when every one is a filter (empty when there is none).
    private let filters: [any RequestFilter]?
    /// Methods this server implements: RFC 9110's, and any other a route was added for. Any
    /// other gets 501 (RFC 9110 §9.1), not 405 or 404.
    private let implementedMethods: Set<HTTPMethod>

    init(router: Router, middleware: [any Middleware], logger: Logger) {
        self.router = router
        self.middleware = middleware
        self.logger = logger
        hasBodyLimits = router.routes.contains { $0.maxBodyBytes != nil }
        let filters = middleware.compactMap { $0 as? any RequestFilter }
        self.filters = filters.count == middleware.count ? filters : nil
        implementedMethods = Set([.get, .head, .post, .put, .delete, .patch, .options, .connect, .trace] as [HTTPMethod])
            .union(router.routes.flatMap(\.allowedMethods))
    }

    public func maxBodyBytes(for head: HTTPRequestHead) -> Int? {
        guard hasBodyLimits else { return nil }
        return router.maxBodyBytes(URLEncoding.decodePath(head.path))
    }

    public func respond(to serverRequest: HTTPServerRequest, writer: HTTPResponseWriter) {
        let head = serverRequest.head
        var request = Request(method: head.method, target: head.target, headers: head.headers, body: serverRequest.body,
                              version: head.version, remoteAddress: serverRequest.remoteAddress, loop: serverRequest.loop)
        guard let filters else {
            let box = RequestBox(request: request)
            Task(executorPreference: serverRequest.loop) {
                let response = await handle(box.request)
                send(response, writer: writer, loop: serverRequest.loop)
            }
            return
        }
        var response = Response()
        do {
            for filter in filters { try filter.filter(&request) }
            // Matched after the filters, which may have changed the request.
            guard case .found(.sync(let handler), let parameters) = router.match(request.method, request.path) else {
                let box = RequestBox(request: request)
                Task(executorPreference: serverRequest.loop) {
                    var response = Response()
                    await route(box.request, &response)
                    refuseSplitHeaders(&response, box.request)
                    send(response, writer: writer, loop: serverRequest.loop)
                }
                return
            }
            request.parameters = parameters
            try handler(request, &response)
        } catch {
            response = errorResponse(error, request)
        }
        refuseSplitHeaders(&response, request)
        // Moved, not copied: a copy and its destroy were a tenth of the route's cost.
        send(consume response, writer: writer, loop: serverRequest.loop)
    }

    /// The whole chain for one request, errors turned into responses; used in-process by tests.
    public func handle(_ request: Request) async -> Response {
        var response = Response()
        do {
            try await chain(from: 0)(request, &response)
        } catch {
            response = errorResponse(error, request)
        }
        refuseSplitHeaders(&response, request)
        return response
    }

    private func chain(from index: Int) -> @Sendable (Request, inout Response) async throws -> Void {
        if index == middleware.count {
            return { request, response in await route(request, &response) }
        }
        let item = middleware[index]
        let rest = chain(from: index + 1)
        return { request, response in try await item.handle(request, &response, next: Next(rest)) }
    }

    /// The innermost step: the router, with handler errors already turned into responses so
    /// that middleware sees every outcome as a response.
    private func route(_ request: Request, _ response: inout Response) async {
        var request = request
        switch router.match(request.method, request.path) {
        case .found(let handler, let parameters):
            request.parameters = parameters
            do {
                switch handler {
                case .sync(let run): try run(request, &response)
                case .async(let run): try await run(request, &response)
                }
            } catch {
                response = errorResponse(error, request)
            }
        case .methodNotAllowed(let allow) where request.method == .options:
            // OPTIONS on a route that does not handle it: which methods it takes (RFC 9110 §9.3.7).
            response.status = .noContent
            response.headers.set("Allow", (allow + [.options]).map(\.rawValue).joined(separator: ", "))
        case .methodNotAllowed where !implementedMethods.contains(request.method),
             .notFound where !implementedMethods.contains(request.method):
            response = HTTPError(.notImplemented).response
        case .methodNotAllowed(let allow):
            var error = HTTPError(.methodNotAllowed)
            error.headers.set("Allow", allow.map(\.rawValue).joined(separator: ", "))
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

    /// A header with CR, LF or NUL would let a value taken from the request (a redirect target,
    /// a cookie) write headers of its own (response splitting), so such a response is never sent.
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

    private func send(_ response: consuming Response, writer: HTTPResponseWriter, loop: EventLoop) {
        var head = HTTPResponseHead(status: response.status, headers: response.headers)
        if head.headers["Content-Type"] == nil, !response.body.isEmpty || response.bodyStream != nil {
            head.headers.add("Content-Type", "text/html; charset=utf-8")
        }
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

/// Moves a request into the Task that handles it.
private struct RequestBox: @unchecked Sendable {
    let request: Request
}
