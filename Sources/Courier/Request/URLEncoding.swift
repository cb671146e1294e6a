/// Percent-encoding as forms and paths use it (RFC 3986, with `+` as space in forms).
public enum URLEncoding {
    /// Decodes `%XX` and, when `plusIsSpace`, `+`. Invalid escapes are kept as they are.
    public static func decode<S: StringProtocol>(_ text: S, plusIsSpace: Bool = true) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = Array(text.utf8)[...]
        while let byte = iterator.popFirst() {
            if byte == UInt8(ascii: "%"), iterator.count >= 2,
               let high = hex(iterator[iterator.startIndex]), let low = hex(iterator[iterator.startIndex + 1]) {
                bytes.append(high << 4 | low)
                iterator.removeFirst(2)
            } else if byte == UInt8(ascii: "+"), plusIsSpace {
                bytes.append(0x20)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The path of a split target, decoded only when it has escapes.
    static func decodePath(_ target: RequestTarget) -> String {
        target.pathHasEscapes ? decode(target.path, plusIsSpace: false) : target.pathString
    }

    static func decodePath<S: StringProtocol>(_ path: S) -> String {
        guard path.utf8.contains(UInt8(ascii: "%")) else { return String(path) }
        return decode(path, plusIsSpace: false)
    }

    /// Encodes everything but RFC 3986 unreserved characters.
    public static func encode(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                result.unicodeScalars.append(UnicodeScalar(byte))
            default:
                result += "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 0xF, radix: 16, uppercase: true)
            }
        }
        return result
    }

    static func encodePath(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { encode(String($0)) }.joined(separator: "/")
    }

    /// `name=value` pairs of an urlencoded string, decoded, in order. Split at the `&` and `=`
    /// bytes, as browsers and the URL standard do, not at Characters: "&" followed by a
    /// combining mark is one Character that is not "&" (found by FuzzChannel).
    public static func pairs(in text: Substring) -> [(String, String)] {
        guard !text.isEmpty else { return [] }
        return text.utf8.split(separator: UInt8(ascii: "&")).map { part in
            if let equals = part.firstIndex(of: UInt8(ascii: "=")) {
                return (decode(Substring(part[..<equals])), decode(Substring(part[part.index(after: equals)...])))
            }
            return (decode(Substring(part)), "")
        }
    }

    static func values(named name: String, in text: Substring) -> [String] {
        pairs(in: text).filter { $0.0 == name }.map(\.1)
    }

    /// Encodes pairs as a form body or query string.
    public static func form(_ pairs: [(String, String)]) -> String {
        pairs.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }
}
