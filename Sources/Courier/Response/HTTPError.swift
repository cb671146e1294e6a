import CourierHTTP

/// Thrown by a handler to answer with a status; `message` is shown to the client, so it must be
/// safe to show. Any other error becomes a bare 500 and a log line.
public struct HTTPError: Error, Sendable, CustomStringConvertible {
    /// The status answered.
    public var status: HTTPStatus
    /// The plain-text body shown to the client; nil shows "code reason". Dropped for statuses that carry no body.
    public var message: String?
    /// Fields the answer needs (Allow for 405, WWW-Authenticate for 401, Retry-After for 503).
    public var headers: HTTPHeaders

    /// An answer with `status`; `message` is sent to the client, so it must hold nothing internal.
    public init(_ status: HTTPStatus, _ message: String? = nil, headers: HTTPHeaders = HTTPHeaders()) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    /// For logs: the status and message.
    public var description: String { "HTTPError(\(status)\(message.map { ": \($0)" } ?? ""))" }

    var response: Response {
        var response = Response(status: status, headers: headers)
        if status.allowsBody {
            response.contentType = "text/plain; charset=utf-8"
            response.write(message ?? "\(status.code) \(status.reasonPhrase)")
            response.write("\n")
        }
        return response
    }
}
