/// A response status: the code and its reason phrase.
public struct HTTPStatus: Hashable, Sendable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    /// The three-digit status code; not range-checked.
    public let code: Int
    /// The reason phrase sent after the code; clients should ignore it.
    public let reasonPhrase: String

    /// A status with `code`; a nil phrase takes the standard one ("Status <code>" for codes it does not know).
    public init(code: Int, reasonPhrase: String? = nil) {
        self.code = code
        self.reasonPhrase = reasonPhrase ?? HTTPStatus.standardReason(code)
    }

    /// A status from a literal such as `404`, with its standard phrase.
    public init(integerLiteral value: Int) { self.init(code: value) }

    /// "code phrase", as in a status line.
    public var description: String { "\(code) \(reasonPhrase)" }

    /// 1xx, 204 and 304 responses never carry a body (RFC 9110 §6.4.1).
    public var allowsBody: Bool { !(100..<200).contains(code) && code != 204 && code != 304 }

    /// 100: the client may send the body it announced with `Expect: 100-continue`.
    public static let `continue` = HTTPStatus(code: 100)
    /// 101: the connection switches protocol (a WebSocket upgrade); no body.
    public static let switchingProtocols = HTTPStatus(code: 101)
    /// 200: success with a body.
    public static let ok = HTTPStatus(code: 200)
    /// 201: a resource was created; send its Location.
    public static let created = HTTPStatus(code: 201)
    /// 202: accepted for processing that has not finished.
    public static let accepted = HTTPStatus(code: 202)
    /// 204: success with no body; any body given is not sent.
    public static let noContent = HTTPStatus(code: 204)
    /// 206: one range of the representation, as `Range` asked; send Content-Range.
    public static let partialContent = HTTPStatus(code: 206)
    /// 301: moved for good; clients may turn a POST into a GET (use 308 to keep the method).
    public static let movedPermanently = HTTPStatus(code: 301)
    /// 302: a temporary redirect; clients may turn a POST into a GET (use 307 to keep the method).
    public static let found = HTTPStatus(code: 302)
    /// 303: fetch the Location with GET, as after a form POST.
    public static let seeOther = HTTPStatus(code: 303)
    /// 304: the client's cached copy is current; no body.
    public static let notModified = HTTPStatus(code: 304)
    /// 307: a temporary redirect that keeps the method and body.
    public static let temporaryRedirect = HTTPStatus(code: 307)
    /// 308: a permanent redirect that keeps the method and body.
    public static let permanentRedirect = HTTPStatus(code: 308)
    /// 400: the request is malformed; the parser answers it for anything ambiguous.
    public static let badRequest = HTTPStatus(code: 400)
    /// 401: credentials are missing or wrong; send WWW-Authenticate.
    public static let unauthorized = HTTPStatus(code: 401)
    /// 403: understood but refused; other credentials would not help.
    public static let forbidden = HTTPStatus(code: 403)
    /// 404: no route or resource at this target.
    public static let notFound = HTTPStatus(code: 404)
    /// 405: the target exists but not for this method; send Allow.
    public static let methodNotAllowed = HTTPStatus(code: 405)
    /// 408: the client took too long to send its request.
    public static let requestTimeout = HTTPStatus(code: 408)
    /// 409: the request conflicts with the resource's current state.
    public static let conflict = HTTPStatus(code: 409)
    /// 410: the resource was here and is gone for good.
    public static let gone = HTTPStatus(code: 410)
    /// 411: a body was sent without Content-Length where one is needed.
    public static let lengthRequired = HTTPStatus(code: 411)
    /// 413: the body is over the size limit (phrase "Content Too Large", RFC 9110).
    public static let payloadTooLarge = HTTPStatus(code: 413)
    /// 414: the request line is over `Limits.maxRequestLineBytes`.
    public static let uriTooLong = HTTPStatus(code: 414)
    /// 415: the body's Content-Type or Content-Encoding is not accepted.
    public static let unsupportedMediaType = HTTPStatus(code: 415)
    /// 416: no range the client asked for overlaps the representation; send `Content-Range: bytes */length`.
    public static let rangeNotSatisfiable = HTTPStatus(code: 416)
    /// 417: an Expect field the server will not meet.
    public static let expectationFailed = HTTPStatus(code: 417)
    /// 426: this target needs another protocol (such as a WebSocket upgrade); send Upgrade.
    public static let upgradeRequired = HTTPStatus(code: 426)
    /// 429: rate limited; send Retry-After.
    public static let tooManyRequests = HTTPStatus(code: 429)
    /// 431: the header section is over `Limits.maxHeaderBytes` or `maxHeaderCount`.
    public static let requestHeaderFieldsTooLarge = HTTPStatus(code: 431)
    /// 500: the handler failed; the details belong in the log, not the response.
    public static let internalServerError = HTTPStatus(code: 500)
    /// 501: a feature the server does not support, such as an unknown transfer coding.
    public static let notImplemented = HTTPStatus(code: 501)
    /// 502: an upstream server gave a bad answer.
    public static let badGateway = HTTPStatus(code: 502)
    /// 503: temporarily unable to serve (overloaded, shutting down); send Retry-After if known.
    public static let serviceUnavailable = HTTPStatus(code: 503)
    /// 505: a major version other than 1; the parser answers it.
    public static let httpVersionNotSupported = HTTPStatus(code: 505)

    static func standardReason(_ code: Int) -> String {
        switch code {
        case 100: "Continue"
        case 101: "Switching Protocols"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 206: "Partial Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 303: "See Other"
        case 304: "Not Modified"
        case 307: "Temporary Redirect"
        case 308: "Permanent Redirect"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 406: "Not Acceptable"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 410: "Gone"
        case 411: "Length Required"
        case 412: "Precondition Failed"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 415: "Unsupported Media Type"
        case 416: "Range Not Satisfiable"
        case 417: "Expectation Failed"
        case 422: "Unprocessable Content"
        case 426: "Upgrade Required"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        default: "Status \(code)"
        }
    }
}
