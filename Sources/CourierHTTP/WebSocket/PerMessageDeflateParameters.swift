/// The permessage-deflate parameters agreed with a client (RFC 7692 §7).
public struct PerMessageDeflateParameters: Sendable, Equatable {
    /// The server resets its compressor after each message, so no window outlives a message (and the loop's shared deflater can be used).
    public var serverNoContextTakeover = false
    /// The client resets its compressor after each message, so the server resets its inflater too (and may use the loop's shared one).
    public var clientNoContextTakeover = false
    /// The LZ77 window the server compresses with (9...15; 8 is declined, zlib cannot honour it).
    public var serverMaxWindowBits = 15
    /// The client's offer named `server_max_window_bits`, so the answer must state `serverMaxWindowBits`.
    public var requestedServerMaxWindowBits = false

    /// The defaults: context takeover both ways and a 15-bit window.
    public init() {}

    /// The Sec-WebSocket-Extensions value that accepts these parameters.
    public var responseHeaderValue: String {
        var parts = ["permessage-deflate"]
        if serverNoContextTakeover { parts.append("server_no_context_takeover") }
        if clientNoContextTakeover { parts.append("client_no_context_takeover") }
        if requestedServerMaxWindowBits { parts.append("server_max_window_bits=\(serverMaxWindowBits)") }
        return parts.joined(separator: "; ")
    }

    /// Accepts the first permessage-deflate offer the server can honour, or nil. Offers with
    /// unknown, repeated or out-of-range parameters are declined, as §7 requires.
    ///
    /// Without `contextTakeover` (the server's default) the answer always says
    /// `server_no_context_takeover; client_no_context_takeover`, which RFC 7692 lets a server
    /// add to any offer (§7.1.1.1, §7.1.1.2): no LZ77 window then outlives a message, so one
    /// loop's connections can take turns with one pair of zlib streams (`SharedDeflateStreams`)
    /// instead of each keeping ~300 KiB of its own, as uWebSockets' shared compressor does.
    public static func negotiate(offers headerValues: [String], contextTakeover: Bool = true) -> PerMessageDeflateParameters? {
        for offer in headerValues.flatMap({ $0.split(separator: ",") }) {
            var parts = offer.split(separator: ";").map { $0.trimmingSpaces }
            guard let name = parts.first, name == "permessage-deflate" else { continue }
            parts.removeFirst()
            if var accepted = accept(parts) {
                if !contextTakeover {
                    accepted.serverNoContextTakeover = true
                    accepted.clientNoContextTakeover = true
                }
                return accepted
            }
        }
        return nil
    }

    /// RFC 7692's `1*DIGIT` with no leading zero: `Int(_:)` alone would take "+9", and an empty
    /// value is a malformed parameter, not an absent one.
    private static func windowBits(_ value: Substring) -> Int? {
        guard !value.isEmpty, value.first != "0", value.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        return Int(value)
    }

    private static func accept(_ parameters: [Substring]) -> PerMessageDeflateParameters? {
        var result = PerMessageDeflateParameters()
        var seen: Set<Substring> = []
        for parameter in parameters {
            let pieces = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { $0.trimmingSpaces }
            guard let name = pieces.first, seen.insert(name).inserted else { return nil }
            var value = pieces.count > 1 ? pieces[1] : nil
            if let quoted = value, quoted.count >= 2, quoted.first == "\"", quoted.last == "\"" {
                value = quoted.dropFirst().dropLast()
            }
            switch name {
            case "server_no_context_takeover":
                guard value == nil else { return nil }
                result.serverNoContextTakeover = true
            case "client_no_context_takeover":
                guard value == nil else { return nil }
                result.clientNoContextTakeover = true
            case "server_max_window_bits":
                guard let value, let bits = windowBits(value), (9...15).contains(bits) else { return nil }
                result.serverMaxWindowBits = bits
                result.requestedServerMaxWindowBits = true
            case "client_max_window_bits":
                if let value {
                    guard let bits = windowBits(value), (8...15).contains(bits) else { return nil }
                }
            default:
                return nil
            }
        }
        return result
    }
}
