/// One hop a proxy reports: a `Forwarded: for=` value (RFC 7239 section 6) or an
/// `X-Forwarded-For` entry. Either an address, which may be one of our own proxies, or a name
/// that hides the client (`unknown`, or an obfuscated `_identifier`), which never is; text that
/// is neither is read as `unknown`, so a malformed hop can never pass for a trusted one.
enum ForwardedNode: Equatable {
    case address(IPAddress)
    /// "unknown" or an obfuscated identifier, as the proxy wrote it (at most 64 bytes).
    case hidden(String)

    static let unknown = ForwardedNode.hidden("unknown")

    /// Reads "192.0.2.7", "192.0.2.7:4711", "[2001:db8::7]", "[2001:db8::7]:4711", a bare
    /// "2001:db8::7" (X-Forwarded-For's usual spelling), "unknown" or "_hidden", ports numeric
    /// (0...65535) or obfuscated; anything else is `unknown`.
    init(_ text: Substring) {
        self = Self.parse(text) ?? .unknown
    }

    private static func parse(_ text: Substring) -> ForwardedNode? {
        guard !text.isEmpty, text.utf8.count <= 64 else { return nil }
        if text.lowercased() == "unknown" { return .unknown }
        if text.first == "_" {
            guard isObfuscated(text) else { return nil }
            return .hidden(String(text))
        }
        if text.first == "[" {
            guard let close = text.firstIndex(of: "]"), let address = IPAddress(text[text.index(after: text.startIndex)..<close]),
                  !address.isIPv4 || text[text.index(after: text.startIndex)..<close].contains(":") else { return nil }
            let rest = text[text.index(after: close)...]
            guard rest.isEmpty || (rest.first == ":" && isPort(rest.dropFirst())) else { return nil }
            return .address(address)
        }
        let bytes = text.utf8
        let colons = bytes.lazy.filter { $0 == UInt8(ascii: ":") }.count
        if colons == 1, let colon = bytes.firstIndex(of: UInt8(ascii: ":")) {
            // IPv4 with a port, split on the byte: a ":" followed by a combining mark is one
            // Character that is not ":", so splitting the Characters would find no second part.
            guard isPort(bytes[bytes.index(after: colon)...]), let value = IPAddress.parseIPv4(Array(bytes[..<colon])[...]) else {
                return nil
            }
            return .address(IPAddress(ipv4: value))
        }
        return IPAddress(text).map(ForwardedNode.address)
    }

    /// RFC 7239 node-port: five digits at most, 0...65535, or an obfuscated port.
    private static func isPort(_ text: Substring) -> Bool { isPort(text.utf8) }

    private static func isPort(_ bytes: Substring.UTF8View) -> Bool {
        if bytes.first == UInt8(ascii: "_") { return isObfuscated(bytes) }
        guard (1...5).contains(bytes.count), bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return false }
        return bytes.reduce(0) { $0 * 10 + Int($1 - 0x30) } <= 65535
    }

    /// RFC 7239 obfnode / obfport: "_" then letters, digits, ".", "_" or "-".
    private static func isObfuscated(_ text: Substring) -> Bool { isObfuscated(text.utf8) }

    private static func isObfuscated(_ bytes: Substring.UTF8View) -> Bool {
        bytes.count >= 2 && bytes.first == UInt8(ascii: "_") && bytes.dropFirst().allSatisfy { byte in
            switch byte {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"): true
            default: false
            }
        }
    }

    /// What apps see as the client address: the address's canonical text, or the name.
    var text: String {
        switch self {
        case .address(let address): address.description
        case .hidden(let name): name
        }
    }
}
