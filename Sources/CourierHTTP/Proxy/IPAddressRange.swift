/// A network in CIDR notation ("10.0.0.0/8", "fd00::/8") or one address ("127.0.0.1"): what an
/// operator names to say which peers are their own proxies.
public struct IPAddressRange: Sendable, Hashable, CustomStringConvertible {
    /// The network's first address (host bits cleared).
    public let network: IPAddress
    /// Leading bits that must match: 0...32 for IPv4, 0...128 for IPv6.
    public let prefixLength: Int

    private let maskHigh: UInt64
    private let maskLow: UInt64

    /// Why a range could not be read, in words for the operator who typed it.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        /// The message, quoting (at most the first 64 characters of) what was given.
        public let description: String
    }

    /// The longest text accepted: an IPv6 address, "/" and three digits. A longer one is
    /// refused without being read further.
    static let maxTextBytes = IPAddress.maxTextBytes + 4

    /// `network`'s first `prefixLength` bits (clamped to the family's 0...32 or 0...128).
    public init(_ address: IPAddress, prefixLength: Int) {
        let bits = address.isIPv4 ? 96 + min(max(prefixLength, 0), 32) : min(max(prefixLength, 0), 128)
        maskHigh = bits >= 64 ? .max : (bits == 0 ? 0 : ~(UInt64.max >> UInt64(bits)))
        maskLow = bits <= 64 ? 0 : (bits == 128 ? .max : ~(UInt64.max >> UInt64(bits - 64)))
        network = IPAddress(high: address.high & maskHigh, low: address.low & maskLow)
        self.prefixLength = address.isIPv4 ? bits - 96 : bits
    }

    /// Reads "address" or "address/prefix". Host bits after the prefix are allowed and cleared
    /// ("192.168.1.10/24" is 192.168.1.0/24), as `ip route` reads them.
    public init(parsing text: some StringProtocol) throws(ParseError) {
        let quoted = Self.quote(text)
        guard !text.isEmpty else { throw ParseError(description: "an empty address") }
        guard text.utf8.count <= Self.maxTextBytes else {
            throw ParseError(description: "\(quoted) is too long for an IP address or CIDR range")
        }
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parts[0]) else {
            throw ParseError(description: "\(quoted) is not an IPv4 or IPv6 address (or CIDR range such as 10.0.0.0/8)")
        }
        let limit = address.isIPv4 ? 32 : 128
        guard parts.count == 2 else {
            self.init(address, prefixLength: limit)
            return
        }
        let digits = parts[1].utf8
        guard (1...3).contains(digits.count), digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let length = Int(parts[1]), length <= limit else {
            throw ParseError(description: "\(quoted): the prefix length after / must be 0...\(limit) for \(address.isIPv4 ? "IPv4" : "IPv6")")
        }
        self.init(address, prefixLength: length)
    }

    /// Whether `address` is in this network (an IPv4 address is never in an IPv6 range other
    /// than one covering ::ffff:0:0/96, and the other way round).
    public func contains(_ address: IPAddress) -> Bool {
        address.high & maskHigh == network.high && address.low & maskLow == network.low
    }

    /// "10.0.0.0/8", or the address alone for a single one.
    public var description: String {
        prefixLength == (network.isIPv4 ? 32 : 128) ? network.description : "\(network)/\(prefixLength)"
    }

    private static func quote(_ text: some StringProtocol) -> String {
        // Control characters would reach the operator's terminal as they are.
        let shown = String(text.prefix(64).unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) })
        return "'\(shown)\(text.dropFirst(64).isEmpty ? "" : "...")'"
    }
}
