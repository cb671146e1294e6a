import CourierHTTP

/// Thrown by a handler to answer with a status; `message` is shown to the client, so it must be
/// safe to show. Any other error becomes a bare 500 and a log line.
public struct HTTPError: Error, Sendable, CustomStringConvertible {
    public var status: HTTPStatus
    public var message: String?
    public var headers: HTTPHeaders

    public init(_ status: HTTPStatus, _ message: String? = nil, headers: HTTPHeaders = HTTPHeaders()) {
        self.status = status
        self.message = message
        self.headers = headers
    }

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
