/// What a part of a `multipart/form-data` body says about itself in its headers.
public struct MultipartPartHead: Sendable, Equatable {
    /// The form field's name (Content-Disposition's `name`).
    public var name: String
    /// The file's name as the client sent it (`filename*` when given, else `filename`), nil for
    /// a plain field. Never use it as a path: it may hold `/`, `..` or anything else.
    public var filename: String?
    /// The part's Content-Type, when it has one (files do; browsers send none for text fields).
    public var contentType: String?

    /// A part head as given (tests, and parsers of other formats).
    public init(name: String, filename: String? = nil, contentType: String? = nil) {
        self.name = name
        self.filename = filename
        self.contentType = contentType
    }

    /// Reads a part's `Content-Disposition` and `Content-Type` values (RFC 7578 §4.2, §4.4).
    ///
    /// Quoted values end at the next `"`: browsers do not backslash-escape, they write `"`, CR
    /// and LF in names as `%22`, `%0D` and `%0A` (the HTML standard's form encoding), which are
    /// turned back here; no other `%` sequence is touched, so a file really named `100%.txt`
    /// keeps its name. `filename*` (RFC 8187: `UTF-8''%E2%82%AC.txt`) wins over `filename`.
    init(disposition: String?, contentType: String?) throws(MultipartError) {
        guard let disposition else { throw MultipartError("a part has no Content-Disposition header") }
        var text = Substring(disposition)
        let type = text.prefix { $0 != ";" }
        guard type.trimmingOWS.lowercased() == "form-data" else {
            throw MultipartError("a part's Content-Disposition is not form-data")
        }
        text = text[type.endIndex...]
        var parameters: [String: String] = [:]
        while !text.isEmpty {
            text = text.drop { $0 == ";" || $0 == " " || $0 == "\t" }
            guard !text.isEmpty else { break }
            guard let equals = text.firstIndex(of: "=") else {
                throw MultipartError("a part's Content-Disposition has a parameter without a value")
            }
            let key = text[..<equals].trimmingOWS.lowercased()
            text = text[text.index(after: equals)...].drop { $0 == " " || $0 == "\t" }
            let value: Substring
            if text.first == "\"" {
                let afterQuote = text.index(after: text.startIndex)
                guard let close = text[afterQuote...].firstIndex(of: "\"") else {
                    throw MultipartError("a part's Content-Disposition has an unclosed quote")
                }
                value = text[afterQuote..<close]
                text = text[text.index(after: close)...]
                guard text.trimmingOWS.isEmpty || text.trimmingOWS.first == ";" else {
                    throw MultipartError("a part's Content-Disposition has text after a quoted value")
                }
            } else {
                value = text.prefix { $0 != ";" }.trimmingOWS
                text = text.drop { $0 != ";" }
            }
            if parameters[key] == nil { parameters[key] = String(value) }
        }
        guard let name = parameters["name"] else { throw MultipartError("a part's Content-Disposition has no name") }
        self.name = Self.unescapeHTMLFormName(name)
        if let extended = parameters["filename*"], let decoded = Self.decodeExtendedValue(extended) {
            filename = decoded
        } else {
            filename = parameters["filename"].map(Self.unescapeHTMLFormName)
        }
        if let contentType, Substring(contentType).trimmingOWS.lowercased().hasPrefix("multipart/") {
            throw MultipartError("a part is itself multipart, which multipart/form-data does not allow (RFC 7578 §4.3)")
        }
        self.contentType = contentType
    }

    /// `%22`, `%0D` and `%0A` (either case) back to `"`, CR and LF.
    static func unescapeHTMLFormName(_ text: String) -> String {
        guard text.utf8.contains(UInt8(ascii: "%")) else { return text }
        var bytes: [UInt8] = []
        var input = Array(text.utf8)[...]
        while let byte = input.popFirst() {
            if byte == UInt8(ascii: "%"), input.count >= 2 {
                let pair = String(decoding: input.prefix(2), as: UTF8.self).uppercased()
                let replacement: UInt8? = switch pair { case "22": 0x22; case "0D": 0x0D; case "0A": 0x0A; default: nil }
                if let replacement {
                    bytes.append(replacement)
                    input.removeFirst(2)
                    continue
                }
            }
            bytes.append(byte)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// RFC 8187's `charset'language'value`, for UTF-8 and ISO-8859-1; nil for another charset
    /// or a malformed escape, and then `filename` is used.
    static func decodeExtendedValue(_ text: String) -> String? {
        let pieces = text.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
        guard pieces.count == 3 else { return nil }
        let charset = pieces[0].lowercased()
        guard charset == "utf-8" || charset == "iso-8859-1" else { return nil }
        var bytes: [UInt8] = []
        var input = Array(pieces[2].utf8)[...]
        while let byte = input.popFirst() {
            if byte == UInt8(ascii: "%") {
                guard input.count >= 2, let high = hexValue(input.removeFirst()), let low = hexValue(input.removeFirst()) else { return nil }
                bytes.append(high << 4 | low)
            } else {
                bytes.append(byte)
            }
        }
        if charset == "iso-8859-1" { return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) })) }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }
}
