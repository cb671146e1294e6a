/// The `Forwarded` field (RFC 7239) read into its elements, one per proxy that handled the
/// request, oldest first. Strict: a syntax error anywhere (an unclosed quote, a parameter twice
/// in one element, a control byte) makes the whole field unusable, since where one element ends
/// and the next begins can no longer be told, and then no hop of it is believed.
struct ForwardedHeader {
    /// What one proxy reported about the request it received.
    struct Element: Equatable {
        /// Who connected to that proxy (`for=`); nil when the proxy did not say.
        var node: ForwardedNode?
        /// The scheme it was asked with (`proto=`), lowercased, as written.
        var proto: String?
        /// The Host it was asked for (`host=`), as written.
        var host: String?
    }

    /// Oldest (nearest the client) first.
    private(set) var elements: [Element] = []

    /// More proxies than any real chain has; a longer field is unusable rather than read in
    /// full, so the work done for a request stays small whatever it carries.
    static let maxElements = 64

    /// Reads every `Forwarded` field of `headers` as one list, in order (RFC 9110 section 5.3);
    /// nil when there is none, or when it is malformed or too long.
    init?(_ headers: HTTPHeaders) {
        var seen = false
        for field in headers where HTTPHeaders.equalNames(field.name, "Forwarded") {
            seen = true
            guard parse(Array(field.value.utf8)) else { return nil }
        }
        guard seen, !elements.isEmpty else { return nil }
    }

    private mutating func parse(_ bytes: [UInt8]) -> Bool {
        var index = 0
        var element = Element()
        var names: Set<String> = []
        var pairs = 0
        func finishElement() -> Bool {
            if pairs > 0 { elements.append(element) }
            element = Element()
            names = []
            pairs = 0
            return elements.count <= Self.maxElements
        }
        while true {
            skipSpaces(bytes, &index)
            guard index < bytes.count else { return finishElement() }
            switch bytes[index] {
            case UInt8(ascii: ","):
                index += 1
                guard finishElement() else { return false }
                continue
            case UInt8(ascii: ";"):
                index += 1
                continue
            default:
                break
            }
            // forwarded-pair = token "=" value
            let nameStart = index
            while index < bytes.count, HTTPRequestParser.isTokenByte(bytes[index]) { index += 1 }
            guard index > nameStart, index < bytes.count, bytes[index] == UInt8(ascii: "=") else { return false }
            let name = String(decoding: bytes[nameStart..<index], as: UTF8.self).lowercased()
            index += 1
            guard let value = readValue(bytes, &index), names.insert(name).inserted else { return false }
            pairs += 1
            switch name {
            case "for": element.node = ForwardedNode(Substring(value))
            case "proto": element.proto = value.lowercased()
            case "host": element.host = value
            default: break  // "by" and extensions: nothing Courier uses.
            }
            skipSpaces(bytes, &index)
            guard index == bytes.count || bytes[index] == UInt8(ascii: ";") || bytes[index] == UInt8(ascii: ",") else {
                return false
            }
        }
    }

    /// value = token / quoted-string; nil when neither.
    private func readValue(_ bytes: [UInt8], _ index: inout Int) -> String? {
        guard index < bytes.count else { return nil }
        guard bytes[index] == UInt8(ascii: "\"") else {
            let start = index
            while index < bytes.count, HTTPRequestParser.isTokenByte(bytes[index]) { index += 1 }
            return index > start ? String(decoding: bytes[start..<index], as: UTF8.self) : nil
        }
        index += 1
        var value: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: value, as: UTF8.self)
            case UInt8(ascii: "\\"):
                // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
                guard index < bytes.count, Self.isQuotable(bytes[index]) else { return nil }
                value.append(bytes[index])
                index += 1
            default:
                guard Self.isQuotable(byte) else { return nil }
                value.append(byte)
            }
        }
        return nil  // No closing quote.
    }

    private static func isQuotable(_ byte: UInt8) -> Bool {
        byte == 0x09 || (byte >= 0x20 && byte != 0x7F)
    }

    private func skipSpaces(_ bytes: [UInt8], _ index: inout Int) {
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 { index += 1 }
    }
}
