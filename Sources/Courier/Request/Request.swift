public import CourierHTTP
public import CourierLoop
import Foundation

/// One request as a handler sees it: webapp2's `request`, as a value.
public struct Request: Sendable {
    /// Changing it (in middleware) makes the route be matched again.
    public var method: HTTPMethod { didSet { route = Request.unmatched } }
    /// The percent-decoded path, matched against route templates. Changing it (in middleware)
    /// makes the route be matched again.
    public var path: String { didSet { route = Request.unmatched } }
    /// The raw query string after `?` (still encoded).
    public var query: String
    /// The request's fields, as received.
    public var headers: HTTPHeaders
    /// The whole body, read before the handler runs (within the route's or server's limit).
    public var body: [UInt8]
    /// The HTTP version the client used.
    public var version: HTTPVersion
    /// Values captured by the route template, by name.
    public var parameters: [String: String]
    /// The TCP peer as "ip:port" ("in-process" in tests); behind a proxy, the proxy's address.
    /// `clientAddress` is the client's.
    public var remoteAddress: String
    /// The client's IP address, without its port: the peer's, or, when the peer is a trusted
    /// proxy (`ServerConfiguration.trustedProxies`), the one it reports; "unknown" when a
    /// trusted proxy could not say. For logs and per-client limits.
    public var clientAddress: String
    /// "https" when the client reached us over TLS (as a trusted proxy reports: Courier itself
    /// speaks plain HTTP), else "http". Absolute URLs (`baseURL`) and `Secure` cookies follow it.
    public var scheme: String
    /// The host a trusted proxy says the client asked for, which `host` prefers over `Host`.
    var forwardedHost: String?
    /// The loop that owns the connection (nil for in-process tests).
    public let loop: EventLoop?
    /// Values middleware attaches for handlers after it (the signed-in user, a session).
    public var storage = RequestStorage()
    /// A multipart/form-data body's fields and files, read once the route is found, before its
    /// handler runs (`readMultipartForm`); nil before then and for any other body.
    public internal(set) var multipartForm: MultipartForm?

    /// The route matched for this method and path when the request arrived (`Router.Found.route`):
    /// kept with it so that it is matched once, and matched again only if middleware changes
    /// either; `unmatched` until then.
    var route: Int
    static let unmatched = -3

    /// A request as a client would send it (tests, in-process requests); the target is split
    /// into path and query here.
    /// `source` says who the client is and how it addressed the server (an HTTPS request
    /// through a proxy, say); by default the peer `remoteAddress` over plain HTTP.
    public init(method: HTTPMethod, target: String, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [],
                version: HTTPVersion = .http1_1, remoteAddress: String = "in-process", source: RequestSource? = nil,
                loop: EventLoop? = nil) {
        let split = RequestTarget(target)
        self.init(method: method, path: URLEncoding.decodePath(split), query: split.queryString, headers: headers,
                  body: body, version: version, remoteAddress: remoteAddress,
                  source: source ?? RequestSource(peer: remoteAddress), loop: loop, route: Request.unmatched)
    }

    init(method: HTTPMethod, path: String, query: String, headers: HTTPHeaders, body: [UInt8], version: HTTPVersion,
         remoteAddress: String, source: RequestSource, loop: EventLoop?, route: Int, parameters: [String: String] = [:]) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.version = version
        self.parameters = parameters
        self.remoteAddress = remoteAddress
        clientAddress = source.clientAddress
        scheme = source.scheme
        forwardedHost = source.host
        self.loop = loop
        self.route = route
    }

    /// webapp2's `request.get(name)`: the first query or form value of `name`, or "".
    public subscript(name: String) -> String {
        all(name).first ?? ""
    }

    /// Every query value of `name`, then every form value (urlencoded or multipart text fields).
    public func all(_ name: String) -> [String] {
        queryValues(name) + formValues(name)
    }

    private func queryValues(_ name: String) -> [String] {
        URLEncoding.values(named: name, in: query[...])
    }

    private func formValues(_ name: String) -> [String] {
        if let multipartForm { return multipartForm.fields.filter { $0.name == name }.map(\.value) }
        guard isFormEncoded else { return [] }
        return URLEncoding.values(named: name, in: Substring(decoding: body, as: UTF8.self))
    }

    /// The first value of `name` in the form body only (urlencoded or multipart), never the
    /// query (webapp2's `request.POST.get(name)`), or "": for values that must not travel in a URL.
    public func formValue(_ name: String) -> String {
        formValues(name).first ?? ""
    }

    /// Whether the query string names `name` at all.
    public func queryContains(_ name: String) -> Bool {
        !queryValues(name).isEmpty
    }

    /// Query and form fields merged, first value of each name.
    public var fields: [String: String] {
        var result: [String: String] = [:]
        var pairs = URLEncoding.pairs(in: query[...])
        if let multipartForm {
            pairs += multipartForm.fields.map { ($0.name, $0.value) }
        } else if isFormEncoded {
            pairs += URLEncoding.pairs(in: Substring(decoding: body, as: UTF8.self))
        }
        for (name, value) in pairs where result[name] == nil { result[name] = value }
        return result
    }

    /// The files of a multipart/form-data body, in the order sent (webapp2's `request.POST`
    /// values that have a `filename`); empty for any other body.
    public var files: [UploadedFile] { multipartForm?.files ?? [] }

    /// The first file sent under the form field `name`, or nil.
    public func file(_ name: String) -> UploadedFile? {
        multipartForm?.files.first { $0.fieldName == name }
    }

    /// Reads a multipart/form-data body into `multipartForm`, once; the responder calls it when
    /// the route is found, so a handler sees the fields in `request[name]` as for an urlencoded
    /// form. A malformed body is the client's fault: 400 with what was wrong.
    mutating func readMultipartForm() throws(HTTPError) {
        guard multipartForm == nil, !body.isEmpty, isMultipartForm, let type = headers["Content-Type"] else { return }
        do {
            multipartForm = try MultipartForm.read(body, contentType: type)
        } catch {
            throw HTTPError(.badRequest, "The multipart/form-data body is malformed: \(error.reason).")
        }
    }

    /// True when Content-Type is `multipart/form-data`: its text fields are read by
    /// `request[name]`, `all`, `fields` and `formValue`, its files by `files` and `file(_:)`.
    public var isMultipartForm: Bool {
        guard let type = headers["Content-Type"] else { return false }
        return type.lowercased().hasPrefix("multipart/form-data")
    }

    /// True when Content-Type is `application/x-www-form-urlencoded`: only then, or for
    /// `isMultipartForm`, are body fields read by `request[name]`, `all` and `fields`.
    public var isFormEncoded: Bool {
        guard let type = headers["Content-Type"] else { return false }
        return type.lowercased().hasPrefix("application/x-www-form-urlencoded")
    }

    /// The body as UTF-8, invalid bytes replaced with U+FFFD.
    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// Decodes a JSON body; a malformed one is the client's fault (400).
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(body))
        } catch {
            throw HTTPError(.badRequest, "The request body is not valid JSON for \(T.self).")
        }
    }

    /// The host (and port) the client asked for: as a trusted proxy reports it, else the
    /// `Host` header, else "localhost".
    public var host: String { forwardedHost ?? headers["Host"] ?? "localhost" }

    /// Whether the client reached us over TLS: `scheme` is "https".
    public var isSecure: Bool { scheme == "https" }

    /// Scheme and host of this server as the client addressed it ("https://example.com"),
    /// for the absolute URLs an app hands out (invitations, redirects to itself).
    public var baseURL: String { "\(scheme)://\(host)" }

    /// The path with its query, as a client would request it again.
    public var url: String { query.isEmpty ? "\(baseURL)\(URLEncoding.encodePath(path))" : "\(baseURL)\(URLEncoding.encodePath(path))?\(query)" }
}

/// Typed values attached to a request by middleware, keyed by type.
public struct RequestStorage: Sendable {
    private var values: [ObjectIdentifier: any Sendable] = [:]

    /// Empty storage.
    public init() {}

    /// The value stored under `key`, or nil if no middleware set it; setting nil removes it.
    public subscript<Key: RequestStorageKey>(_ key: Key.Type) -> Key.Value? {
        get { values[ObjectIdentifier(key)] as? Key.Value }
        set { values[ObjectIdentifier(key)] = newValue }
    }
}

/// Names a value middleware attaches to requests; `Value` is what it holds.
public protocol RequestStorageKey {
    /// The type of the value stored under this key.
    associatedtype Value: Sendable
}
