#if canImport(Glibc)
import Glibc
#endif

/// An incremental, strict HTTP/1.1 request parser (RFC 9112) over raw bytes, with no I/O.
///
/// Feed it what has arrived with `next(_:)`: it returns how many bytes it consumed and at most
/// one event. Bytes it did not consume must be offered again, with more appended, on the next
/// call (a head is parsed only once it is complete, and it never rescans what it has seen).
/// Anything ambiguous throws, with the status to answer before closing the connection.
public struct HTTPRequestParser: Sendable {
    /// Size caps checked while a head is still arriving, so a client cannot make the server buffer an unbounded head.
    public struct Limits: Sendable, Equatable {
        /// Longest request line in bytes, CRLF excluded; past it the parser throws 414 (URI Too Long).
        public var maxRequestLineBytes: Int
        /// Largest header section in bytes after the request line; past it the parser throws 431.
        public var maxHeaderBytes: Int
        /// Most header fields in one request; past it the parser throws 431.
        public var maxHeaderCount: Int

        /// Defaults: an 8 KiB request line, a 16 KiB header section, 100 fields.
        public init(maxRequestLineBytes: Int = 8 * 1024, maxHeaderBytes: Int = 16 * 1024, maxHeaderCount: Int = 100) {
            self.maxRequestLineBytes = maxRequestLineBytes
            self.maxHeaderBytes = maxHeaderBytes
            self.maxHeaderCount = maxHeaderCount
        }
    }

    /// How the request's body is delimited, decided from Transfer-Encoding and Content-Length (RFC 9112 §6.3).
    public enum BodyFraming: Equatable, Sendable {
        /// No body: neither Transfer-Encoding nor Content-Length was sent.
        case none
        /// A Content-Length body of exactly this many bytes (0 ends the message at once).
        case length(Int)
        /// A chunked body; its length is known only at the last chunk.
        case chunked
    }

    /// What one call to `next(_:)` produced. After `.head`, body events follow (none when framing is `.none`), then exactly one `.end`.
    public enum Event {
        /// A complete, validated head and how its body is framed.
        case head(HTTPRequestHead, BodyFraming)
        /// Body bytes, a slice of the input: copy them before the next call.
        case body(UnsafeRawBufferPointer)
        /// The request is over; the parser is ready for the next head on the connection.
        case end
    }

    private enum State {
        case head(scanned: Int, lineStart: Int, requestLineEnd: Int?, fieldCount: Int)
        case fixedBody(remaining: Int)
        case chunkSize(scanned: Int)
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers(scanned: Int, lineStart: Int)
        case messageEnd
    }

    /// The caps this parser enforces.
    public let limits: Limits
    private var state: State = .head(scanned: 0, lineStart: 0, requestLineEnd: nil, fieldCount: 0)
    private static let maxChunkLineBytes = 4096

    /// A parser waiting for a request head. One parser serves every request on a connection in turn.
    public init(limits: Limits = Limits()) { self.limits = limits }

    /// True between messages: nothing of a next request has been seen.
    public var isIdle: Bool {
        if case .head(let scanned, _, _, _) = state { return scanned == 0 }
        return false
    }

    /// Parses from the start of `input`: returns the bytes consumed and at most one event (nil means more input is needed, or only framing was consumed).
    /// Call again with the unconsumed bytes plus anything new. `.body` slices `input`, so copy them before the next call.
    /// Throws `HTTPParseError` for anything malformed or over a limit; the connection must then answer its status and close, not keep parsing.
    public mutating func next(_ input: UnsafeRawBufferPointer) throws(HTTPParseError) -> (consumed: Int, event: Event?) {
        switch state {
        case .head(let scanned, let lineStart, let requestLineEnd, let fieldCount):
            return try parseHead(input, scanned: scanned, lineStart: lineStart, requestLineEnd: requestLineEnd, fieldCount: fieldCount)
        case .fixedBody(let remaining):
            guard !input.isEmpty else { return (0, nil) }
            let take = min(remaining, input.count)
            state = take == remaining ? .messageEnd : .fixedBody(remaining: remaining - take)
            return (take, .body(UnsafeRawBufferPointer(rebasing: input[0..<take])))
        case .chunkSize(let scanned):
            return try parseChunkSize(input, scanned: scanned)
        case .chunkData(let remaining):
            guard !input.isEmpty else { return (0, nil) }
            let take = min(remaining, input.count)
            state = take == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - take)
            return (take, .body(UnsafeRawBufferPointer(rebasing: input[0..<take])))
        case .chunkDataEnd:
            if input.count >= 1, input[0] != cr { throw .bad("chunk data not followed by CRLF") }
            guard input.count >= 2 else { return (0, nil) }
            guard input[1] == lf else { throw .bad("chunk data not followed by CRLF") }
            state = .chunkSize(scanned: 0)
            return (2, nil)
        case .trailers(let scanned, let lineStart):
            return try parseTrailers(input, scanned: scanned, lineStart: lineStart)
        case .messageEnd:
            state = .head(scanned: 0, lineStart: 0, requestLineEnd: nil, fieldCount: 0)
            return (0, .end)
        }
    }

    // MARK: Head

    private mutating func parseHead(_ input: UnsafeRawBufferPointer, scanned: Int, lineStart: Int,
                                    requestLineEnd: Int?, fieldCount: Int) throws(HTTPParseError) -> (consumed: Int, event: Event?) {
        var position = scanned
        var lineStart = lineStart
        var requestLineEnd = requestLineEnd
        var fieldCount = fieldCount
        let base = input.baseAddress
        while position < input.count, let base {
            guard let found = memchr(base + position, Int32(lf), input.count - position) else {
                position = input.count
                break
            }
            let newline = UnsafeRawPointer(found) - base
            // Sizes before syntax, as when the line is still arriving (found by fuzzing: the status must not depend on the reads).
            if let requestLineEnd {
                guard newline - requestLineEnd - 2 <= limits.maxHeaderBytes else {
                    throw HTTPParseError(.requestHeaderFieldsTooLarge, "header section too large")
                }
            } else if newline > limits.maxRequestLineBytes + 1 {
                throw HTTPParseError(.uriTooLong, "request line too long")
            }
            guard newline > lineStart, input[newline - 1] == cr else { throw .bad("line ends without CR") }
            let lineEnd = newline - 1
            position = newline + 1
            if requestLineEnd == nil {
                if lineEnd == lineStart {
                    // RFC 9112 §2.2: ignore empty lines before the request line.
                    state = .head(scanned: 0, lineStart: 0, requestLineEnd: nil, fieldCount: 0)
                    return (position, nil)
                }
                requestLineEnd = lineEnd
            } else if lineEnd == lineStart {
                // A head that arrived whole is held to the same limit as one still arriving.
                guard position - requestLineEnd! - 2 <= limits.maxHeaderBytes else {
                    throw HTTPParseError(.requestHeaderFieldsTooLarge, "header section too large")
                }
                let head = try Self.buildHead(input, requestLineEnd: requestLineEnd!, headEnd: position)
                let framing = try Self.framing(of: head)
                switch framing {
                case .none: state = .messageEnd
                case .length(let length): state = length == 0 ? .messageEnd : .fixedBody(remaining: length)
                case .chunked: state = .chunkSize(scanned: 0)
                }
                return (position, .head(head, framing))
            } else {
                fieldCount += 1
                guard fieldCount <= limits.maxHeaderCount else {
                    throw HTTPParseError(.requestHeaderFieldsTooLarge, "more than \(limits.maxHeaderCount) header fields")
                }
            }
            lineStart = position
        }
        if let requestLineEnd {
            guard input.count - requestLineEnd - 2 <= limits.maxHeaderBytes else {
                throw HTTPParseError(.requestHeaderFieldsTooLarge, "header section too large")
            }
        } else if input.count > limits.maxRequestLineBytes + 1 {
            throw HTTPParseError(.uriTooLong, "request line too long")
        }
        state = .head(scanned: position, lineStart: lineStart, requestLineEnd: requestLineEnd, fieldCount: fieldCount)
        return (0, nil)
    }

    private static func buildHead(_ input: UnsafeRawBufferPointer, requestLineEnd: Int, headEnd: Int) throws(HTTPParseError) -> HTTPRequestHead {
        // request-line = method SP request-target SP HTTP-version
        var index = 0
        while index < requestLineEnd, input[index] != space {
            guard isTokenByte(input[index]) else { throw .bad("invalid byte in method") }
            index += 1
        }
        guard index > 0, index < requestLineEnd else { throw .bad("malformed request line") }
        let methodBytes = UnsafeRawBufferPointer(rebasing: input[0..<index])
        let method = HTTPMethod.known(methodBytes) ?? HTTPMethod(String(decoding: methodBytes, as: UTF8.self))
        index += 1
        let targetStart = index
        while index < requestLineEnd, input[index] != space {
            let byte = input[index]
            // No fragment either: "#" never belongs in a request target (RFC 9112 §3.2).
            guard byte > space, byte < 0x7F, byte != 0x23 else { throw .bad("invalid byte in request target") }
            index += 1
        }
        guard index > targetStart, index < requestLineEnd else { throw .bad("malformed request line") }
        let targetBytes = UnsafeRawBufferPointer(rebasing: input[targetStart..<index])
        let target = try originForm(of: targetBytes, method: method)
        // The target is split here, while its bytes are at hand (memchr: a test per byte in the
        // loop above cost more); an absolute-form target was rewritten, so what it became is.
        let (queryMark, escaped) = targetBytes[0] == 0x2F ? ByteScan.queryMarkAndEscapes(targetBytes) : RequestTarget.scan(target)
        index += 1
        let version = try parseVersion(UnsafeRawBufferPointer(rebasing: input[index..<requestLineEnd]))

        var headers = HTTPHeaders()
        var lineStart = requestLineEnd + 2
        while lineStart < headEnd - 2 {
            var lineEnd = lineStart
            while input[lineEnd] != cr { lineEnd += 1 }
            guard input[lineEnd + 1] == lf else { throw .bad("CR without LF in header") }
            headers.append(try parseField(UnsafeRawBufferPointer(rebasing: input[lineStart..<lineEnd])))
            lineStart = lineEnd + 2
        }
        return HTTPRequestHead(method: method, target: target, queryMark: queryMark, pathHasEscapes: escaped, version: version,
                               headers: headers)
    }

    /// RFC 9112 §3.2: the request target as a path (and query). Origin-form is kept; the
    /// absolute-form a server MUST accept becomes its path and query; `*` only with OPTIONS, an
    /// authority only with CONNECT (answered by the router); anything else, or a fragment, is 400.
    private static func originForm(of bytes: UnsafeRawBufferPointer, method: HTTPMethod) throws(HTTPParseError) -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        if bytes[0] == 0x2F { return text }
        if method == .options, bytes.count == 1, bytes[0] == 0x2A { return text }
        if method == .connect { return text }
        let lowered = text.lowercased()
        for scheme in ["http://", "https://"] where lowered.hasPrefix(scheme) {
            let rest = text.dropFirst(scheme.count)
            let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
            guard authorityEnd > rest.startIndex else { throw .bad("absolute-form target without a host") }
            let pathAndQuery = rest[authorityEnd...]
            return pathAndQuery.first == "/" ? String(pathAndQuery) : "/" + pathAndQuery
        }
        throw .bad("request target is neither a path nor an absolute URI")
    }

    private static func parseVersion(_ bytes: UnsafeRawBufferPointer) throws(HTTPParseError) -> HTTPVersion {
        guard bytes.count == 8, bytes[0] == 0x48, bytes[1] == 0x54, bytes[2] == 0x54, bytes[3] == 0x50,
              bytes[4] == 0x2F, isDigit(bytes[5]), bytes[6] == 0x2E, isDigit(bytes[7]) else {
            throw .bad("malformed HTTP version")
        }
        let major = Int(bytes[5] - 0x30), minor = Int(bytes[7] - 0x30)
        guard major == 1 else { throw HTTPParseError(.httpVersionNotSupported, "HTTP/\(major).\(minor) not supported") }
        return minor == 0 ? .http1_0 : HTTPVersion(major: 1, minor: minor)
    }

    private static func parseField(_ line: UnsafeRawBufferPointer) throws(HTTPParseError) -> HTTPHeaders.Field {
        guard let first = line.first else { throw .bad("empty header line") }
        if first == space || first == tab { throw .bad("obsolete line folding") }
        var colon = 0
        while colon < line.count, line[colon] != colon_ {
            guard isTokenByte(line[colon]) else { throw .bad("invalid byte in header name") }
            colon += 1
        }
        guard colon > 0, colon < line.count else { throw .bad("header line without a name and colon") }
        var start = colon + 1
        var end = line.count
        while start < end, line[start] == space || line[start] == tab { start += 1 }
        while end > start, line[end - 1] == space || line[end - 1] == tab { end -= 1 }
        for index in start..<end {
            let byte = line[index]
            guard byte >= space || byte == tab, byte != 0x7F else { throw .bad("control byte in header value") }
        }
        // RFC 9112 §3.2: 400 for an invalid Host: uri-host [":" port], possibly empty. Checked
        // here, on the bytes, while they are at hand.
        if colon == 4, line[0] | 0x20 == 0x68, line[1] | 0x20 == 0x6F, line[2] | 0x20 == 0x73, line[3] | 0x20 == 0x74 {
            var valid: UInt64 = 1
            for byte in UnsafeRawBufferPointer(rebasing: line[start..<end]) { valid &= hostByteBit(byte) }
            guard valid == 1 else { throw .bad("invalid Host") }
        }
        return HTTPHeaders.Field(name: String(decoding: UnsafeRawBufferPointer(rebasing: line[0..<colon]), as: UTF8.self),
                                 value: String(decoding: UnsafeRawBufferPointer(rebasing: line[start..<end]), as: UTF8.self))
    }

    /// RFC 9112 §6: how the body is delimited, refusing every ambiguous combination.
    static func framing(of head: HTTPRequestHead) throws(HTTPParseError) -> BodyFraming {
        var hosts = 0
        var transferCodings: [Substring] = []
        var length: Int?
        var sawLength = false
        for field in head.headers {
            if HTTPHeaders.equalNames(field.name, "Host") {
                hosts += 1
            } else if HTTPHeaders.equalNames(field.name, "Transfer-Encoding") {
                for coding in field.value.split(separator: ",", omittingEmptySubsequences: false) {
                    transferCodings.append(coding.trimmingSpaces)
                }
            } else if HTTPHeaders.equalNames(field.name, "Content-Length") {
                sawLength = true
                for part in field.value.split(separator: ",", omittingEmptySubsequences: false) {
                    let value = try parseLength(part.trimmingSpaces)
                    if let length, length != value { throw .bad("conflicting Content-Length values") }
                    length = value
                }
            }
        }
        if hosts > 1 { throw .bad("more than one Host") }
        if hosts == 0, head.version != .http1_0 { throw .bad("HTTP/1.1 request without Host") }
        // RFC 9110 §9.3.6: a CONNECT request has no content, and what follows its head is the
        // tunnel's; a length or coding on one frames the same bytes two ways (llhttp reads them
        // as tunnel data, Courier read them as a body: found by LLHTTPDifferentialTests).
        if !transferCodings.isEmpty || (length ?? 0) > 0, head.method == .connect { throw .bad("CONNECT with content") }
        if !transferCodings.isEmpty {
            if head.version == .http1_0 { throw .bad("Transfer-Encoding in an HTTP/1.0 request") }
            if sawLength { throw .bad("both Transfer-Encoding and Content-Length") }
            guard let last = transferCodings.last, HTTPHeaders.equalNames(last, "chunked") else {
                throw .bad("chunked is not the final transfer coding")
            }
            if transferCodings.count > 1 {
                if transferCodings.dropLast().contains(where: { HTTPHeaders.equalNames($0, "chunked") || $0.isEmpty }) {
                    throw .bad("chunked applied more than once")
                }
                throw HTTPParseError(.notImplemented, "unsupported transfer coding")
            }
            return .chunked
        }
        if let length { return .length(length) }
        return .none
    }

    /// RFC 9110 §8.6: `1*DIGIT`, any number of leading zeros. At most 18 significant digits,
    /// so the value always fits an `Int` (19 nines would not); more is refused with 400 rather
    /// than rounded, clamped or wrapped, and a body that long would be over any limit anyway.
    private static func parseLength(_ text: Substring) throws(HTTPParseError) -> Int {
        guard !text.isEmpty else { throw .bad("invalid Content-Length") }
        var value = 0
        var significantDigits = 0
        for byte in text.utf8 {
            guard isDigit(byte) else { throw .bad("invalid Content-Length") }
            if value == 0 && byte == 0x30 { continue }
            significantDigits += 1
            guard significantDigits <= maxLengthDigits else { throw .bad("Content-Length too large") }
            value = value * 10 + Int(byte - 0x30)
        }
        return value
    }

    /// 18 decimal digits stay below `Int.max` (9,223,372,036,854,775,807).
    static let maxLengthDigits = 18
    /// 15 hex digits stay below `Int.max` (0x7FFF_FFFF_FFFF_FFFF has 16).
    static let maxChunkSizeDigits = 15

    // MARK: Chunked body

    private mutating func parseChunkSize(_ input: UnsafeRawBufferPointer, scanned: Int) throws(HTTPParseError) -> (consumed: Int, event: Event?) {
        var newline: Int?
        for index in scanned..<input.count where input[index] == lf {
            newline = index
            break
        }
        guard let newline else {
            guard input.count <= Self.maxChunkLineBytes else { throw .bad("chunk size line too long") }
            state = .chunkSize(scanned: input.count)
            return (0, nil)
        }
        guard newline > 0, input[newline - 1] == cr else { throw .bad("chunk size line ends without CR") }
        // A line that arrived whole is held to the same limit as one still arriving.
        guard newline <= Self.maxChunkLineBytes else { throw .bad("chunk size line too long") }
        let lineEnd = newline - 1
        var index = 0
        var size = 0
        var significantDigits = 0
        // RFC 9112 §7.1: `1*HEXDIG`, leading zeros allowed (the line limit bounds them).
        while index < lineEnd, let digit = Self.hexValue(input[index]) {
            if size != 0 || digit != 0 {
                significantDigits += 1
                guard significantDigits <= Self.maxChunkSizeDigits else { throw .bad("chunk size too large") }
                size = size * 16 + digit
            }
            index += 1
        }
        guard index > 0 else { throw .bad("missing chunk size") }
        // RFC 9112 §7.1: whitespace only before an extension, and an extension has a name.
        let sizeEnd = index
        while index < lineEnd, input[index] == space || input[index] == tab { index += 1 }
        if index == lineEnd, index > sizeEnd { throw .bad("whitespace after chunk size") }
        if index < lineEnd {
            guard input[index] == semicolon else { throw .bad("invalid chunk size") }
            var name = index + 1
            while name < lineEnd, input[name] == space || input[name] == tab { name += 1 }
            guard name < lineEnd, Self.isTokenByte(input[name]) else { throw .bad("chunk extension without a name") }
            for byte in input[index..<lineEnd] where (byte < space && byte != tab) || byte == 0x7F {
                throw .bad("control byte in chunk extension")
            }
        }
        state = size == 0 ? .trailers(scanned: 0, lineStart: 0) : .chunkData(remaining: size)
        return (newline + 1, nil)
    }

    private mutating func parseTrailers(_ input: UnsafeRawBufferPointer, scanned: Int, lineStart: Int) throws(HTTPParseError) -> (consumed: Int, event: Event?) {
        var lineStart = lineStart
        var index = scanned
        while index < input.count {
            if input[index] == lf {
                // Size before syntax, as for the head: the status must not depend on how the bytes arrive.
                guard index <= limits.maxHeaderBytes else {
                    throw HTTPParseError(.requestHeaderFieldsTooLarge, "trailer section too large")
                }
                guard index > lineStart, input[index - 1] == cr else { throw .bad("trailer line ends without CR") }
                if index - 1 == lineStart {
                    state = .messageEnd
                    return (index + 1, nil)
                }
                _ = try Self.parseField(UnsafeRawBufferPointer(rebasing: input[lineStart..<(index - 1)]))
                lineStart = index + 1
            }
            index += 1
        }
        guard input.count <= limits.maxHeaderBytes else {
            throw HTTPParseError(.requestHeaderFieldsTooLarge, "trailer section too large")
        }
        state = .trailers(scanned: index, lineStart: lineStart)
        return (0, nil)
    }

    // MARK: Bytes

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case 0x30...0x39: Int(byte - 0x30)
        case 0x41...0x46: Int(byte - 0x41 + 10)
        case 0x61...0x66: Int(byte - 0x61 + 10)
        default: nil
        }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    /// What a Host value may hold (RFC 3986 reg-name, IP literal, port): unreserved, sub-delims,
    /// pct-encoded, ":" and brackets. 1 for such a byte, else 0: a bit per ASCII byte and no
    /// branch, so checking every request's Host costs a few instructions a byte.
    @inline(__always)
    static func hostByteBit(_ byte: UInt8) -> UInt64 {
        let low: UInt64 = 0x2FFF7FF200000000, high: UInt64 = 0x47FFFFFEAFFFFFFE
        let bit = ((byte < 64 ? low : high) >> UInt64(byte & 63)) & 1
        return byte < 128 ? bit : 0
    }

    /// RFC 9110 tchar.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x5E, 0x5F, 0x60, 0x7C, 0x7E: true
        default: false
        }
    }
}

private let cr: UInt8 = 0x0D
private let lf: UInt8 = 0x0A
private let space: UInt8 = 0x20
private let tab: UInt8 = 0x09
private let colon_: UInt8 = 0x3A
private let semicolon: UInt8 = 0x3B
