#if canImport(Glibc)
import Glibc
#endif

/// Reads a `multipart/form-data` body (RFC 7578 over RFC 2046 §5.1) as it arrives: a value fed
/// whatever bytes are at hand, answering one event at a time, with no I/O, in the manner of
/// `HTTPRequestParser`. It holds no body bytes itself: a part's data comes back as slices of
/// the input, and the caller keeps what was not consumed for the next call, with more input
/// after it.
///
/// Strict where leniency would let two readers disagree: header lines end in CRLF (a bare CR
/// or LF, a control byte or a folded line is refused); a boundary line has nothing after the
/// boundary but spaces, tabs and CRLF, or `--` for the last; a part must say `form-data` with a
/// name and may not itself be multipart. A preamble before the first boundary and an epilogue
/// after the last are skipped, as RFC 2046 says. Limits bound what one request can make the
/// server do beyond reading its body (the body itself is bounded by the route's limit).
public struct MultipartParser: Sendable {
    /// Bounds on a form's shape.
    public struct Limits: Sendable {
        /// Parts in one body; each is a field or a file the app must then look through.
        public var maxParts: Int
        /// Bytes of one part's header lines.
        public var maxPartHeadBytes: Int

        /// 1,000 parts (Python's `max_num_fields` and Go's form reader allow as many) and 8 KiB of
        /// headers per part (a browser's are under 300 bytes).
        public init(maxParts: Int = 1000, maxPartHeadBytes: Int = 8 * 1024) {
            self.maxParts = maxParts
            self.maxPartHeadBytes = maxPartHeadBytes
        }
    }

    /// What the bytes just read complete.
    public enum Event: Sendable, Equatable {
        /// A part's headers were read; its data follows.
        case partBegan(MultipartPartHead)
        /// Some of the current part's data (a slice of the input given).
        case data(ArraySlice<UInt8>)
        /// The current part's data is complete.
        case partEnded
        /// The closing boundary was read; what follows is epilogue, skipped.
        case finished
    }

    private enum State: Sendable {
        case start, preamble, boundaryLine, partHead, partBody, epilogue
    }

    private let limits: Limits
    /// `--boundary`, which may open the body, and `CRLF--boundary`, which ends a part.
    private let dashBoundary: [UInt8]
    private let delimiter: [UInt8]
    private var state = State.start
    private var parts = 0
    private var headBytes = 0
    private var paddingBytes = 0
    private var disposition: String?
    private var contentType: String?

    /// A parser for a body whose Content-Type gave `boundary` (see `MultipartBoundary`).
    public init(boundary: String, limits: Limits = Limits()) {
        self.limits = limits
        dashBoundary = Array("--\(boundary)".utf8)
        delimiter = [0x0D, 0x0A] + dashBoundary
    }

    /// Whether the closing boundary has been read.
    public var isFinished: Bool { state == .epilogue }

    /// Reads from the front of `input` (the bytes not consumed before, then new ones). Returns
    /// how many bytes it consumed and the event they complete, if any; nil with nothing consumed
    /// means it needs more input to go on.
    public mutating func next(_ input: ArraySlice<UInt8>) throws(MultipartError) -> (consumed: Int, event: Event?) {
        while true {
            switch state {
            case .start:
                let common = min(input.count, dashBoundary.count)
                guard input.prefix(common).elementsEqual(dashBoundary.prefix(common)) else {
                    state = .preamble
                    continue
                }
                guard common == dashBoundary.count else { return (0, nil) }
                state = .boundaryLine
                return (common, nil)

            case .preamble:
                if let found = Self.find(delimiter, in: input) {
                    state = .boundaryLine
                    return (found + delimiter.count, nil)
                }
                return (safePrefix(input), nil)

            case .boundaryLine:
                return try boundaryLine(input)

            case .partHead:
                return try headLine(input)

            case .partBody:
                if let found = Self.find(delimiter, in: input) {
                    if found > 0 { return (found, .data(input.prefix(found))) }
                    state = .boundaryLine
                    return (delimiter.count, .partEnded)
                }
                let safe = safePrefix(input)
                return (safe, safe > 0 ? .data(input.prefix(safe)) : nil)

            case .epilogue:
                return (input.count, nil)
            }
        }
    }

    /// Called when the body has ended: refuses a body whose closing boundary never came.
    public func finish() throws(MultipartError) {
        guard state == .epilogue else {
            throw MultipartError(parts == 0 && state != .boundaryLine
                                 ? "the multipart body has no boundary line"
                                 : "the multipart body ended before its closing boundary")
        }
    }

    /// After a boundary: `--` closes the body; otherwise optional padding and CRLF open a part.
    private mutating func boundaryLine(_ input: ArraySlice<UInt8>) throws(MultipartError) -> (consumed: Int, event: Event?) {
        if paddingBytes == 0, input.first == UInt8(ascii: "-") {
            guard input.count >= 2 else { return (0, nil) }
            guard input[input.startIndex + 1] == UInt8(ascii: "-") else { throw Self.textAfterBoundary }
            state = .epilogue
            return (2, .finished)
        }
        let padding = input.prefix { $0 == 0x20 || $0 == 0x09 }.count
        paddingBytes += padding
        guard paddingBytes <= 64 else { throw Self.textAfterBoundary }
        let rest = input.dropFirst(padding)
        guard let first = rest.first else { return (padding, nil) }
        guard first == 0x0D else { throw Self.textAfterBoundary }
        guard rest.count >= 2 else { return (padding, nil) }
        guard rest[rest.startIndex + 1] == 0x0A else { throw Self.textAfterBoundary }
        parts += 1
        guard parts <= limits.maxParts else { throw MultipartError("the form has more than \(limits.maxParts) parts") }
        state = .partHead
        paddingBytes = 0
        headBytes = 0
        disposition = nil
        contentType = nil
        return (padding + 2, nil)
    }

    /// One header line of a part, or the empty line that ends them.
    private mutating func headLine(_ input: ArraySlice<UInt8>) throws(MultipartError) -> (consumed: Int, event: Event?) {
        guard let end = Self.find([0x0D, 0x0A], in: input) else {
            guard headBytes + input.count <= limits.maxPartHeadBytes else { throw tooLongHead }
            // A CR may be the last byte, its LF still to come; any other CR or LF is bare.
            for index in input.indices where input[index] == 0x0A || (input[index] == 0x0D && index != input.endIndex - 1) {
                throw MultipartError("a part's header has a control character (a bare CR or LF, or NUL)")
            }
            return (0, nil)
        }
        headBytes += end + 2
        guard headBytes <= limits.maxPartHeadBytes else { throw tooLongHead }
        let line = input.prefix(end)
        if line.isEmpty {
            let head = try MultipartPartHead(disposition: disposition, contentType: contentType)
            state = .partBody
            return (2, .partBegan(head))
        }
        guard !line.contains(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }) else {
            throw MultipartError("a part's header has a control character (a bare CR or LF, or NUL)")
        }
        guard line.first != 0x20, line.first != 0x09 else { throw MultipartError("a part's header is folded over lines") }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw MultipartError("a part's header line has no colon") }
        let name = String(decoding: line[..<colon], as: UTF8.self)
        guard !name.isEmpty, name.utf8.allSatisfy(Self.isTokenByte) else { throw MultipartError("a part's header has a malformed name") }
        let value = String(decoding: line[(colon + 1)...], as: UTF8.self)
        let trimmed = String(Substring(value).trimmingOWS)
        switch name.lowercased() {
        case "content-disposition":
            guard disposition == nil else { throw MultipartError("a part has two Content-Disposition headers") }
            disposition = trimmed
        case "content-type":
            guard contentType == nil else { throw MultipartError("a part has two Content-Type headers") }
            contentType = trimmed
        default:
            break
        }
        return (end + 2, nil)
    }

    private var tooLongHead: MultipartError { MultipartError("a part's headers are over \(limits.maxPartHeadBytes) bytes") }
    private static let textAfterBoundary = MultipartError("a multipart boundary line has text after the boundary")

    /// How much of `input` cannot be the start of a delimiter cut off by the end of the input:
    /// all but the longest tail that is a beginning of the delimiter.
    private func safePrefix(_ input: ArraySlice<UInt8>) -> Int {
        let earliest = max(0, input.count - (delimiter.count - 1))
        for offset in earliest..<input.count {
            let tail = input.dropFirst(offset)
            if tail.elementsEqual(delimiter.prefix(tail.count)) { return offset }
        }
        return input.count
    }

    /// The offset of the first whole `pattern` in `input` (CR first, found with memchr).
    static func find(_ pattern: [UInt8], in input: ArraySlice<UInt8>) -> Int? {
        input.withUnsafeBytes { haystack -> Int? in
            pattern.withUnsafeBytes { needle -> Int? in
                guard let base = haystack.baseAddress, let first = needle.first else { return nil }
                var offset = 0
                while haystack.count - offset >= needle.count {
                    guard let hit = memchr(base + offset, Int32(first), haystack.count - offset - needle.count + 1) else { return nil }
                    let at = base.distance(to: UnsafeRawPointer(hit))
                    if memcmp(base + at, needle.baseAddress!, needle.count) == 0 { return at }
                    offset = at + 1
                }
                return nil
            }
        }
    }

    /// RFC 9110's `tchar`.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
             UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"): true
        default: false
        }
    }
}
