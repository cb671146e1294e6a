import CourierHTTP

/// Routes in registration order; the first whose template matches and that answers the method
/// wins. Frozen when the app starts.
struct Router: Sendable {
    struct Route: Sendable {
        let template: RouteTemplate
        var handlers: [HTTPMethod: Handler]
        var maxBodyBytes: Int?
    }

    enum Match {
        case found(Handler, [String: String])
        case methodNotAllowed(allow: [HTTPMethod])
        case notFound
    }

    private(set) var routes: [Route] = []

    /// Adds `handlers` to the route with this exact template, or a new route; a method given
    /// twice for one template is a build error naming it.
    mutating func add(_ template: String, _ handlers: [(HTTPMethod, Handler)], maxBodyBytes: Int?) throws(ApplicationError) {
        if handlers.isEmpty {
            throw ApplicationError("route '\(template)': the handler implements no HTTP method (conform to GetHandler, PostHandler, ...)")
        }
        if let index = routes.firstIndex(where: { $0.template.source == template }) {
            for (method, handler) in handlers {
                if routes[index].handlers[method] != nil {
                    throw ApplicationError("route '\(template)': \(method) registered twice")
                }
                routes[index].handlers[method] = handler
            }
            if let maxBodyBytes { routes[index].maxBodyBytes = maxBodyBytes }
            return
        }
        var route = Route(template: try RouteTemplate(template), handlers: [:], maxBodyBytes: maxBodyBytes)
        for (method, handler) in handlers { route.handlers[method] = handler }
        routes.append(route)
    }

    func match(_ method: HTTPMethod, _ path: String) -> Match {
        var allowed: Set<HTTPMethod> = []
        for route in routes {
            guard let parameters = route.template.match(path) else { continue }
            if let handler = route.handlers[method] ?? (method == .head ? route.handlers[.get] : nil) {
                return .found(handler, parameters)
            }
            allowed.formUnion(route.handlers.keys)
            if route.handlers[.get] != nil { allowed.insert(.head) }
        }
        if allowed.isEmpty { return .notFound }
        return .methodNotAllowed(allow: allowed.sorted { $0.rawValue < $1.rawValue })
    }

    func maxBodyBytes(_ path: String) -> Int? {
        for route in routes where route.maxBodyBytes != nil && route.template.match(path) != nil {
            return route.maxBodyBytes
        }
        return nil
    }
}
