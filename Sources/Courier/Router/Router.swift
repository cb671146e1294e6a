import CourierHTTP

/// Routes in registration order; the first whose template matches and that answers the method
/// wins. Frozen when the app starts.
struct Router: Sendable {
    struct Route: Sendable {
        let template: RouteTemplate
        /// A handful at most: a scan beats hashing the method's string on every request.
        var handlers: [(method: HTTPMethod, handler: Handler)]
        var maxBodyBytes: Int?

        func handler(for method: HTTPMethod) -> Handler? {
            slot(for: method).map { handlers[$0].handler }
        }

        func slot(for method: HTTPMethod) -> Int? {
            handlers.firstIndex { $0.method == method }
        }

        /// What a 405 lists: the route's methods, and HEAD wherever GET is.
        var allowedMethods: Set<HTTPMethod> {
            var methods = Set(handlers.map(\.method))
            if handler(for: .get) != nil { methods.insert(.head) }
            return methods
        }
    }

    enum Match {
        case found(Handler, [String: String])
        case methodNotAllowed(allow: [HTTPMethod])
        case notFound
    }

    private(set) var routes: [Route] = []
    /// The first this many routes were mounted by middleware: they are matched before the app's
    /// own, whichever was added first, so a broad app route cannot shadow `/_ah/...`.
    private var mountedCount = 0

    /// Adds `handlers` to the route with this exact template, or a new route; a method given
    /// twice for one template is a build error naming it.
    mutating func add(_ template: String, _ handlers: [(HTTPMethod, Handler)], maxBodyBytes: Int?,
                      mounted: Bool = false) throws(ApplicationError) {
        if handlers.isEmpty {
            throw ApplicationError("route '\(template)': the handler implements no HTTP method (conform to GetHandler, PostHandler, ...)")
        }
        if let index = routes.firstIndex(where: { $0.template.source == template }) {
            for (method, handler) in handlers {
                if routes[index].handler(for: method) != nil {
                    throw ApplicationError("route '\(template)': \(method) registered twice")
                }
                guard routes[index].handlers.count < 256 else {
                    throw ApplicationError("route '\(template)': more than 256 methods")
                }
                routes[index].handlers.append((method, handler))
            }
            if let maxBodyBytes { routes[index].maxBodyBytes = maxBodyBytes }
            return
        }
        let route = Route(template: try RouteTemplate(template), handlers: handlers.map { ($0, $1) }, maxBodyBytes: maxBodyBytes)
        if mounted {
            routes.insert(route, at: mountedCount)
            mountedCount += 1
        } else {
            routes.append(route)
        }
    }

    /// The one match per request: the first route whose template matches `path` and that
    /// answers `method` (HEAD falls back to GET), with its captured values and body limit. When
    /// none answers, the route is `notFound` or `methodNotAllowed` and the server's default
    /// body limit applies.
    func find(_ method: HTTPMethod, _ path: String) -> Found {
        var matchedAny = false
        for index in routes.indices {
            guard let parameters = routes[index].template.match(path) else { continue }
            if let slot = routes[index].slot(for: method) ?? (method == .head ? routes[index].slot(for: .get) : nil) {
                return Found(route: index << 8 | slot, parameters: parameters, maxBodyBytes: routes[index].maxBodyBytes)
            }
            matchedAny = true
        }
        return Found(route: matchedAny ? Found.methodNotAllowed : Found.notFound, parameters: [:], maxBodyBytes: nil)
    }

    /// What `find` found.
    struct Found {
        /// No route's template matches the path.
        static let notFound = -1
        /// Routes match the path, but none answers the method.
        static let methodNotAllowed = -2
        /// The route's index shifted left by 8 and the slot of its handler for the method (one
        /// number, as the request plan carries it, so the handler is not looked up again), or one
        /// of the two above.
        var route: Int
        var parameters: [String: String]
        var maxBodyBytes: Int?
    }

    /// The handler `find` found (`route` is `Found.route`, not negative).
    func handler(_ route: Int) -> Handler {
        routes[route >> 8].handlers[route & 0xFF].handler
    }

    /// Every method the routes matching `path` answer, for a 405's Allow field.
    func allowedMethods(_ path: String) -> [HTTPMethod] {
        var allowed = Set<HTTPMethod>()
        for index in routes.indices where routes[index].template.match(path) != nil {
            allowed.formUnion(routes[index].allowedMethods)
        }
        return allowed.sorted { $0.rawValue < $1.rawValue }
    }
}
