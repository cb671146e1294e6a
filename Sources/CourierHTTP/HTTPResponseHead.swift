/// The status line and header fields of a response.
public struct HTTPResponseHead: Sendable {
    public var status: HTTPStatus
    public var version: HTTPVersion
    public var headers: HTTPHeaders

    public init(status: HTTPStatus, version: HTTPVersion = .http1_1, headers: HTTPHeaders = HTTPHeaders()) {
        self.status = status
        self.version = version
        self.headers = headers
    }
}

/// Writes response heads and chunked framing into a byte buffer; the server gathers a head and
/// its body into one write.
public enum HTTPResponseSerializer {
    public static func writeHead(_ head: HTTPResponseHead, into buffer: inout [UInt8]) {
        writeHeadWithoutEnd(head, into: &buffer)
        buffer.append(contentsOf: crlf)
    }

    /// The status line and fields, leaving the head open for the server's own fields.
    public static func writeHeadWithoutEnd(_ head: HTTPResponseHead, into buffer: inout [UInt8]) {
        writeStatusLine(head.status, version: head.version, into: &buffer)
        for field in head.headers.fields { writeField(field, into: &buffer) }
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
    package static func writeServerHead(_ head: HTTPResponseHead, into buffer: inout [UInt8]) -> ServerHeadFacts {
        var facts = ServerHeadFacts()
        writeStatusLine(head.status, version: .http1_1, into: &buffer)
        for field in head.headers.fields {
            if HTTPHeaders.equalNames(field.name, "Connection") {
                if !facts.asksToClose, HTTPHeaders.listsToken("close", in: field.value) { facts.asksToClose = true }
                continue
            }
            if !facts.hasContentLength, HTTPHeaders.equalNames(field.name, "Content-Length") { facts.hasContentLength = true }
            writeField(field, into: &buffer)
        }
        return facts
    }

    static func writeStatusLine(_ status: HTTPStatus, version: HTTPVersion, into buffer: inout [UInt8]) {
        if version == .http1_1, let line = commonStatusLine(status) { return buffer.append(staticText: line) }
        buffer.append(staticText: version == .http1_0 ? "HTTP/1.0 " : "HTTP/1.1 ")
        appendDecimal(status.code, into: &buffer)
        buffer.append(0x20)
        append(status.reasonPhrase, to: &buffer)
        buffer.append(staticText: "\r\n")
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

    private static func writeField(_ field: HTTPHeaders.Field, into buffer: inout [UInt8]) {
        append(field.name, to: &buffer)
        buffer.append(staticText: ": ")
        append(field.value, to: &buffer)
        buffer.append(staticText: "\r\n")
    }

    /// A String's bytes in one copy (appending its `utf8` view goes element by element).
    static func append(_ text: String, to buffer: inout [UInt8]) {
        var text = text
        text.withUTF8 { buffer.append(contentsOf: $0) }
    }

    public static func writeChunk(_ bytes: UnsafeRawBufferPointer, into buffer: inout [UInt8]) {
        guard !bytes.isEmpty else { return }
        appendHex(bytes.count, into: &buffer)
        buffer.append(contentsOf: crlf)
        buffer.append(contentsOf: bytes)
        buffer.append(contentsOf: crlf)
    }

    public static func writeLastChunk(into buffer: inout [UInt8]) {
        buffer.append(contentsOf: lastChunk)
    }

    public static func appendDecimal(_ value: Int, into buffer: inout [UInt8]) {
        if value < 10 {
            buffer.append(UInt8(truncatingIfNeeded: 0x30 + value))
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var rest = value
        withUnsafeMutableBytes(of: &digits) { raw in
            while rest > 0 {
                raw[19 - count] = UInt8(truncatingIfNeeded: 0x30 + rest % 10)
                rest /= 10
                count += 1
            }
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[(20 - count)...]))
        }
    }

    static func appendHex(_ value: Int, into buffer: inout [UInt8]) {
        let text = String(value, radix: 16)
        buffer.append(contentsOf: text.utf8)
    }

    static let crlf: [UInt8] = [0x0D, 0x0A]
    static let lastChunk: [UInt8] = Array("0\r\n\r\n".utf8)
}

extension Array where Element == UInt8 {
    /// Appends a literal's bytes: no array to retain, release or make once.
    package mutating func append(staticText text: StaticString) {
        append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }
}
