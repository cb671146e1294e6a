import CourierHTTP

/// Refuses requests that could change state (any method but GET, HEAD, OPTIONS and TRACE) sent
/// by another site's page, with 403. A browser attaches this site's cookies to a form another
/// site submits here, and SameSite=Lax is not the whole answer: it lets a sibling subdomain
/// through (same site, another origin), older browsers ignore it, and routes that trust no
/// cookie at all (a page's channel token in a form) are no safer for it. What the browser does
/// send, and a page cannot forge, is `Origin` on every cross-origin POST, PUT, PATCH and
/// DELETE (XHR, fetch, forms), so the check is whether it names the host the request came to.
/// When `Origin` is absent the `Referer`'s origin is checked instead; `Origin: null` (a
/// sandboxed frame, a redirect across sites, a `data:` page) is refused.
///
/// A request with neither header passes: non-browser clients (curl, a test) send none, and no
/// browser lets a page strip both from a cross-site request. `strict: true` refuses those too.
/// Other sites that may post here (an admin console on its own host) go in `trustedOrigins`
/// as `https://admin.example.com`.
///
///     app.use(OriginCheck(), Users(), Channels(channels))
public struct OriginCheck: RequestFilter {
    /// Serialized, default ports left out.
    public let trustedOrigins: Set<String>
    /// Also refuse state-changing requests that carry neither `Origin` nor `Referer` (non-browser clients included).
    public let strict: Bool
    private let configurationError: ApplicationError?

    static let safeMethods: Set<HTTPMethod> = [.get, .head, .options, .trace]

    /// `trustedOrigins` as `scheme://host[:port]` (http or https); an unparsable one is reported by `run()` rather than silently trusting nothing.
    public init(trustedOrigins: [String] = [], strict: Bool = false) {
        let parsed = trustedOrigins.map { ($0, WebOrigin(origin: $0)) }
        self.trustedOrigins = Set(parsed.compactMap { $0.1?.serialized })
        self.strict = strict
        let bad = parsed.filter { $0.1 == nil }.map(\.0)
        configurationError = bad.isEmpty ? nil
            : ApplicationError("OriginCheck: trusted origins must read scheme://host[:port] (http or https), got \(bad)")
    }

    /// A trusted origin that cannot be parsed would silently trust nothing: `run()` says so.
    public func mount(on app: Application) throws {
        if let configurationError { throw configurationError }
    }

    /// Passes safe methods; otherwise throws a 403 `HTTPError` unless the origin is the request's own host or a trusted one.
    public func filter(_ request: inout Request) throws {
        guard !Self.safeMethods.contains(request.method) else { return }
        let method = request.method.rawValue
        let origins = request.headers.values("Origin")
        if !origins.isEmpty {
            guard origins.count == 1, origins[0] != "null" else {
                throw Self.refusal("a \(method) from an opaque origin (Origin: null) may not change anything here.")
            }
            guard let origin = WebOrigin(origin: origins[0]) else {
                throw Self.refusal("a \(method) whose Origin header is not an http(s) origin may not change anything here.")
            }
            guard allows(origin, request) else {
                throw Self.refusal("a \(method) from \(origin.serialized) may not change anything here.")
            }
        } else if let referer = request.headers["Referer"] {
            guard let origin = WebOrigin(url: referer) else {
                throw Self.refusal("a \(method) from a page whose Referer is not an http(s) URL may not change anything here.")
            }
            guard allows(origin, request) else {
                throw Self.refusal("a \(method) from a page of \(origin.serialized) may not change anything here.")
            }
        } else if strict {
            throw HTTPError(.forbidden, "Request refused: a \(method) here must carry an Origin or Referer header naming this site.")
        }
    }

    private func allows(_ origin: WebOrigin, _ request: Request) -> Bool {
        origin.isSameHost(as: request.host) || trustedOrigins.contains(origin.serialized)
    }

    private static func refusal(_ reason: String) -> HTTPError {
        HTTPError(.forbidden, "Cross-site request refused: \(reason)")
    }
}
