/// The boundary of a `multipart/form-data` body, taken from its Content-Type (RFC 2046 §5.1.1,
/// RFC 7578 §4.1): 1 to 70 characters of `bchars`, not ending in a space, quoted or not.
public enum MultipartBoundary {
    /// The boundary in `contentType`, or a reason to refuse the request: another media type, no
    /// boundary parameter, or one that breaks RFC 2046's grammar.
    public static func parse(contentType: String) throws(MultipartError) -> String {
        let parameters = contentType.split(separator: ";", omittingEmptySubsequences: false)
        guard let type = parameters.first, type.trimmingOWS.lowercased() == "multipart/form-data" else {
            throw MultipartError("the Content-Type is not multipart/form-data")
        }
        for parameter in parameters.dropFirst() {
            let trimmed = parameter.trimmingOWS
            guard let equals = trimmed.firstIndex(of: "="),
                  trimmed[..<equals].trimmingOWS.lowercased() == "boundary" else { continue }
            var value = trimmed[trimmed.index(after: equals)...].trimmingOWS
            if value.hasPrefix("\"") {
                guard value.count >= 2, value.hasSuffix("\"") else { throw MultipartError("the multipart boundary has an unclosed quote") }
                value = value.dropFirst().dropLast()
            }
            guard (1...70).contains(value.utf8.count), value.utf8.allSatisfy(isBoundaryCharacter), value.last != " " else {
                throw MultipartError("the multipart boundary must be 1 to 70 characters of RFC 2046's set, not ending in a space")
            }
            return String(value)
        }
        throw MultipartError("the multipart/form-data Content-Type has no boundary")
    }

    /// RFC 2046's `bchars`: digits, letters, `'()+_,-./:=?` and space.
    static func isBoundaryCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        case UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "+"), UInt8(ascii: "_"), UInt8(ascii: ","),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "/"), UInt8(ascii: ":"), UInt8(ascii: "="), UInt8(ascii: "?"),
             UInt8(ascii: " "): true
        default: false
        }
    }
}
