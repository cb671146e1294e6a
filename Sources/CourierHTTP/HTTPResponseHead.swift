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
        buffer.append(contentsOf: head.version == .http1_0 ? http10 : http11)
        appendDecimal(head.status.code, into: &buffer)
        buffer.append(0x20)
        append(head.status.reasonPhrase, to: &buffer)
        buffer.append(contentsOf: crlf)
        for field in head.headers.fields {
            append(field.name, to: &buffer)
            buffer.append(0x3A)
            buffer.append(0x20)
            append(field.value, to: &buffer)
            buffer.append(contentsOf: crlf)
        }
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

    static let http11: [UInt8] = Array("HTTP/1.1 ".utf8)
    static let http10: [UInt8] = Array("HTTP/1.0 ".utf8)
    static let crlf: [UInt8] = [0x0D, 0x0A]
    static let lastChunk: [UInt8] = Array("0\r\n\r\n".utf8)
}
