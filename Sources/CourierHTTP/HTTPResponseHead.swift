/// The status line and header fields of a response.
public struct HTTPResponseHead: Sendable {
    /// The status code and reason phrase.
    public var status: HTTPStatus
    /// The version for the status line. The server always sends HTTP/1.1 whatever this says.
    public var version: HTTPVersion
    /// The app's fields, written in order. The server drops any Connection field and writes its own.
    public var headers: HTTPHeaders

    /// A head with the given status and fields. The server adds the body framing itself (Content-Length or chunked) unless `headers` sets Content-Length.
    public init(status: HTTPStatus, version: HTTPVersion = .http1_1, headers: HTTPHeaders = HTTPHeaders()) {
        self.status = status
        self.version = version
        self.headers = headers
    }
}

/// Writes response heads and chunked framing into the connection's output buffer; the server
/// gathers a head and its body into one write.
package enum HTTPResponseSerializer {
    /// A whole head, as the app gave it (status line, fields, blank line).
    package static func writeHead(_ head: HTTPResponseHead, into writer: inout ByteWriter) {
        writeStatusLine(head.status, version: head.version, into: &writer)
        for field in head.headers.fields { writeField(field, into: &writer) }
        writer.append(staticText: "\r\n")
    }

    /// What the server's own fields depend on in the app's, found while writing them.
    package struct ServerHeadFacts: Sendable {
        package var hasContentLength = false
        /// A Connection field lists `close`.
        package var asksToClose = false
    }

    /// The head as the server sends it: an HTTP/1.1 status line and the app's fields except
    /// Connection (the server writes its own), left open for the server's fields. One pass over
    /// the fields: looking each name up separately cost more than writing them.
    package static func writeServerHead(_ head: HTTPResponseHead, into writer: inout ByteWriter) -> ServerHeadFacts {
        var facts = ServerHeadFacts()
        writeStatusLine(head.status, version: .http1_1, into: &writer)
        for field in head.headers.fields {
            if HTTPHeaders.equalNames(field.name, "Connection") {
                if !facts.asksToClose, HTTPHeaders.listsToken("close", in: field.value) { facts.asksToClose = true }
                continue
            }
            if !facts.hasContentLength, HTTPHeaders.equalNames(field.name, "Content-Length") { facts.hasContentLength = true }
            writeField(field, into: &writer)
        }
        return facts
    }

    static func writeStatusLine(_ status: HTTPStatus, version: HTTPVersion, into writer: inout ByteWriter) {
        if version == .http1_1, let line = commonStatusLine(status) { return writer.append(staticText: line) }
        writer.append(staticText: version == .http1_0 ? "HTTP/1.0 " : "HTTP/1.1 ")
        writer.appendDecimal(status.code)
        writer.append(0x20)
        writer.append(status.reasonPhrase)
        writer.append(staticText: "\r\n")
    }

    /// The lines most responses carry, ready-made (unless the app gave its own reason phrase).
    private static func commonStatusLine(_ status: HTTPStatus) -> StaticString? {
        let line: StaticString
        switch status.code {
        case 200: line = "HTTP/1.1 200 OK\r\n"
        case 201: line = "HTTP/1.1 201 Created\r\n"
        case 204: line = "HTTP/1.1 204 No Content\r\n"
        case 301: line = "HTTP/1.1 301 Moved Permanently\r\n"
        case 302: line = "HTTP/1.1 302 Found\r\n"
        case 304: line = "HTTP/1.1 304 Not Modified\r\n"
        case 400: line = "HTTP/1.1 400 Bad Request\r\n"
        case 404: line = "HTTP/1.1 404 Not Found\r\n"
        case 500: line = "HTTP/1.1 500 Internal Server Error\r\n"
        default: return nil
        }
        return status.reasonPhrase == HTTPStatus.standardReason(status.code) ? line : nil
    }

    private static func writeField(_ field: HTTPHeaders.Field, into writer: inout ByteWriter) {
        writer.append(field.name)
        writer.append(staticText: ": ")
        writer.append(field.value)
        writer.append(staticText: "\r\n")
    }

    /// One chunk of a chunked body. An empty one writes nothing: its `0` would end the body.
    package static func writeChunk(_ bytes: UnsafeRawBufferPointer, into writer: inout ByteWriter) {
        guard !bytes.isEmpty else { return }
        writer.append(String(bytes.count, radix: 16))
        writer.append(staticText: "\r\n")
        writer.append(bytes)
        writer.append(staticText: "\r\n")
    }

    package static func writeLastChunk(into writer: inout ByteWriter) {
        writer.append(staticText: "0\r\n\r\n")
    }
}
