/// The peers whose `X-Forwarded-*` and `Forwarded` fields are believed: the operator's own
/// reverse proxies. Anyone can send those fields, so from any other peer they are ignored, and
/// the default trusts nobody: a server reached directly must not let a client choose the
/// address it is logged under, or make a plain-HTTP request pass for HTTPS.
public struct TrustedProxies: Sendable, Equatable, CustomStringConvertible {
    /// The networks trusted, in the order given.
    public private(set) var ranges: [IPAddressRange]

    /// Trusts nobody.
    public init() { ranges = [] }

    /// Trusts every address in `ranges`.
    public init(_ ranges: [IPAddressRange]) { self.ranges = ranges }

    /// Reads each of `specifications` as an address or CIDR range ("127.0.0.1", "10.0.0.0/8",
    /// "::1", "fd00::/8"); the first that cannot be read is the error, naming it.
    public init(parsing specifications: some Sequence<some StringProtocol>) throws(IPAddressRange.ParseError) {
        var ranges: [IPAddressRange] = []
        for specification in specifications {
            ranges.append(try IPAddressRange(parsing: specification))
        }
        self.init(ranges)
    }

    /// True when nobody is trusted: forwarding fields are then never even looked at.
    public var isEmpty: Bool { ranges.isEmpty }

    /// Whether `address` is one of the trusted proxies.
    public func trusts(_ address: IPAddress) -> Bool {
        ranges.contains { $0.contains(address) }
    }

    /// The ranges, comma-separated, or "nobody".
    public var description: String {
        ranges.isEmpty ? "nobody" : ranges.map(\.description).joined(separator: ", ")
    }
}
