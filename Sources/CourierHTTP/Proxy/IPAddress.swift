/// An IPv4 or IPv6 address as a value, so that a peer can be compared with the trusted proxies'
/// networks by its bits rather than by its spelling ("::ffff:127.0.0.1" is 127.0.0.1,
/// "2001:DB8::1" is "2001:db8:0::1"). Text is read strictly: every number is range-checked, no
/// leading zeros in IPv4 (which some resolvers read as octal), no zone, nothing around it.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// The 128 bits, most significant first; IPv4 is kept IPv4-mapped (::ffff:a.b.c.d), so one
    /// mask test serves both families.
    let high: UInt64
    let low: UInt64

    /// Whether this is an IPv4 address, given as one or IPv4-mapped in IPv6 (a dual-stack
    /// socket reports IPv4 peers so).
    public var isIPv4: Bool { high == 0 && low >> 32 == 0xFFFF }

    init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    init(ipv4 value: UInt32) {
        self.init(high: 0, low: 0xFFFF_0000_0000 | UInt64(value))
    }

    /// The longest text either family can be: an IPv6 address ending in a dotted IPv4 one.
    static let maxTextBytes = 45

    /// Reads "192.0.2.7" or "2001:db8::7" (also "::ffff:192.0.2.7"); nil for anything else,
    /// checking no more than `maxTextBytes` bytes of it.
    public init?(_ text: some StringProtocol) {
        let bytes = Array(text.utf8.prefix(Self.maxTextBytes + 1))
        guard bytes.count <= Self.maxTextBytes else { return nil }
        if bytes.contains(UInt8(ascii: ":")) {
            guard let address = Self.parseIPv6(bytes[...]) else { return nil }
            self = address
        } else {
            guard let value = Self.parseIPv4(bytes[...]) else { return nil }
            self.init(ipv4: value)
        }
    }

    /// Dotted decimal for IPv4, RFC 5952's canonical form for IPv6 (lowercase, the longest run
    /// of zero groups shortened to "::"): how it is logged and shown to apps.
    public var description: String {
        if isIPv4 {
            let value = UInt32(truncatingIfNeeded: low)
            return "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
        }
        let groups = (0..<8).map { index -> UInt16 in
            let word = index < 4 ? high : low
            return UInt16(truncatingIfNeeded: word >> (UInt64(3 - index % 4) * 16))
        }
        // The longest run of two or more zero groups, the first of equal ones.
        var best = (start: -1, count: 0), run = (start: -1, count: 0)
        for (index, group) in groups.enumerated() {
            if group == 0 {
                run = run.start < 0 ? (index, 1) : (run.start, run.count + 1)
                if run.count > best.count { best = run }
            } else {
                run = (-1, 0)
            }
        }
        func hex(_ slice: ArraySlice<UInt16>) -> String {
            slice.map { String($0, radix: 16) }.joined(separator: ":")
        }
        guard best.count >= 2 else { return hex(groups[...]) }
        return hex(groups[..<best.start]) + "::" + hex(groups[(best.start + best.count)...])
    }

    // MARK: Parsing

    /// Four decimal parts of 0...255, no leading zeros, nothing else.
    static func parseIPv4(_ bytes: ArraySlice<UInt8>) -> UInt32? {
        var value: UInt32 = 0
        var parts = 0
        for part in bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            parts += 1
            guard parts <= 4, (1...3).contains(part.count), part.allSatisfy(isDigit),
                  part.count == 1 || part.first != UInt8(ascii: "0") else { return nil }
            let number = part.reduce(0) { $0 * 10 + UInt32($1 - UInt8(ascii: "0")) }
            guard number <= 255 else { return nil }
            value = value << 8 | number
        }
        return parts == 4 ? value : nil
    }

    /// RFC 4291 section 2.2: eight groups of 1...4 hex digits, "::" once for one or more zero
    /// groups, the last 32 bits optionally dotted IPv4.
    static func parseIPv6(_ bytes: ArraySlice<UInt8>) -> IPAddress? {
        var head: [UInt16] = [], tail: [UInt16] = []
        var compressed = false
        let colon = UInt8(ascii: ":")
        var index = bytes.startIndex
        if bytes.starts(with: [colon, colon]) {
            compressed = true
            index += 2
            if index == bytes.endIndex { return IPAddress(high: 0, low: 0) }
        } else if bytes.first == colon {
            return nil
        }
        while index < bytes.endIndex {
            let end = bytes[index...].firstIndex(of: colon) ?? bytes.endIndex
            let group = bytes[index..<end]
            if end == bytes.endIndex, group.contains(UInt8(ascii: ".")) {
                guard let value = parseIPv4(group) else { return nil }
                if compressed { tail += [UInt16(value >> 16), UInt16(value & 0xFFFF)] } else { head += [UInt16(value >> 16), UInt16(value & 0xFFFF)] }
                index = end
                break
            }
            guard (1...4).contains(group.count), let value = hexValue(group) else { return nil }
            if compressed { tail.append(value) } else { head.append(value) }
            guard head.count + tail.count <= 8 else { return nil }
            index = end
            guard index < bytes.endIndex else { break }
            // A colon: a single one separates groups; "::" compresses, once, and may end the text.
            index += 1
            if index < bytes.endIndex, bytes[index] == colon {
                guard !compressed else { return nil }
                compressed = true
                index += 1
            } else if index == bytes.endIndex {
                return nil
            }
        }
        let count = head.count + tail.count
        guard compressed ? count <= 7 : count == 8 else { return nil }
        let groups = head + [UInt16](repeating: 0, count: 8 - count) + tail
        let high = groups[0..<4].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        let low = groups[4..<8].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        return IPAddress(high: high, low: low)
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    private static func hexValue(_ bytes: ArraySlice<UInt8>) -> UInt16? {
        var value: UInt16 = 0
        for byte in bytes {
            let digit: UInt16
            switch byte {
            case 0x30...0x39: digit = UInt16(byte - 0x30)
            case 0x41...0x46: digit = UInt16(byte - 0x41 + 10)
            case 0x61...0x66: digit = UInt16(byte - 0x61 + 10)
            default: return nil
            }
            value = value << 4 | digit
        }
        return value
    }
}
