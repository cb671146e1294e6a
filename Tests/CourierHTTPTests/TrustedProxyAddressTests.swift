@testable import CourierHTTP
import Testing

/// Addresses and ranges as an operator types them for `--trusted-proxy`: read strictly, every
/// number range-checked, hostile text refused with a message and never a trap.
@Suite struct TrustedProxyAddressTests {
    @Test(arguments: [
        ("127.0.0.1", "127.0.0.1"), ("0.0.0.0", "0.0.0.0"), ("255.255.255.255", "255.255.255.255"),
        ("::", "::"), ("::1", "::1"), ("1::", "1::"), ("2001:DB8::7", "2001:db8::7"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"), ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"), ("1:0:3:4:5:6:7:8", "1:0:3:4:5:6:7:8"),
        ("::ffff:192.0.2.7", "192.0.2.7"), ("::FFFF:10.1.2.3", "10.1.2.3"), ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),
        ("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"),
    ])
    func addressesAreReadAndWrittenCanonically(text: String, canonical: String) throws {
        let address = try #require(IPAddress(text))
        #expect(address.description == canonical)
        #expect(IPAddress(canonical) == address)
    }

    @Test(arguments: [
        "", " 127.0.0.1", "127.0.0.1 ", "1.2.3.999", "256.0.0.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.04", "1..3.4",
        "1.2.3.", ".1.2.3", "1.2.3.-4", "1.2.3.4/", "localhost", "::1%eth0", ":::", "1:::2", "1::2::3", ":1::", "1::2:",
        "12345::", "g::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7::8", "::1.2.3", "1.2.3.4::", "::1.2.3.4:5",
        "[::1]", "1:2:3:4:5:6:7:1.2.3.4", "１.2.3.4", "1.2.3.4\u{0}",
        String(repeating: "1", count: 10_000), String(repeating: ":", count: 100_000), String(repeating: "1.", count: 5000) + "1",
    ])
    func anythingElseIsNoAddress(text: String) {
        #expect(IPAddress(text) == nil, "\(text.prefix(40))")
    }

    @Test func rangesContainWhatTheirPrefixCovers() throws {
        let ten = try IPAddressRange(parsing: "10.0.0.0/8")
        #expect(ten.contains(IPAddress("10.255.1.2")!))
        #expect(!ten.contains(IPAddress("11.0.0.0")!))
        #expect(ten.contains(IPAddress("::ffff:10.0.0.1")!), "an IPv4-mapped peer (dual-stack socket) is IPv4")
        #expect(!ten.contains(IPAddress("a00::1")!))
        #expect(try IPAddressRange(parsing: "192.168.1.77/24").description == "192.168.1.0/24", "host bits cleared")
        #expect(try IPAddressRange(parsing: "127.0.0.1").description == "127.0.0.1")
        let single = try IPAddressRange(parsing: "127.0.0.1")
        #expect(single.contains(IPAddress("127.0.0.1")!) && !single.contains(IPAddress("127.0.0.2")!))
        let everyIPv4 = try IPAddressRange(parsing: "0.0.0.0/0")
        #expect(everyIPv4.contains(IPAddress("203.0.113.9")!) && !everyIPv4.contains(IPAddress("::1")!))
        let ula = try IPAddressRange(parsing: "fd00::/8")
        #expect(ula.contains(IPAddress("fd12:3456::1")!) && !ula.contains(IPAddress("fe80::1")!))
        let odd = try IPAddressRange(parsing: "2001:db8::/33")
        #expect(odd.contains(IPAddress("2001:db8:7fff::1")!) && !odd.contains(IPAddress("2001:db8:8000::1")!))
        let loopback6 = try IPAddressRange(parsing: "::1/128")
        #expect(loopback6.contains(IPAddress("::1")!) && !loopback6.contains(IPAddress("127.0.0.1")!))
        #expect(try IPAddressRange(parsing: "::/0").contains(IPAddress("2001:db8::1")!))
    }

    @Test(arguments: [
        ("", "empty"), ("1.2.3.999", "not an IPv4 or IPv6 address"), ("10.0.0.0/999", "0...32"), ("10.0.0.0/33", "0...32"),
        ("::/129", "0...128"), ("10.0.0.0/", "0...32"), ("10.0.0.0/-1", "0...32"), ("10.0.0.0/+8", "0...32"),
        ("10.0.0.0/8/8", "0...32"), ("10.0.0.0/ 8", "0...32"), ("10.0.0.0/0x8", "0...32"), ("/8", "not an IPv4"),
        ("10.0.0.0/99999999999999999999999", "0...32"), ("10.0.0.0/" + String(repeating: "9", count: 60), "too long"), ("example.com", "not an IPv4"), ("10.0.0.0\n/8", "not an IPv4"),
        (String(repeating: "9", count: 1_000_000), "too long"),
    ])
    func badRangesSayWhatIsWrong(text: String, words: String) {
        do {
            _ = try IPAddressRange(parsing: text)
            Issue.record("\(text.prefix(40)) was accepted")
        } catch {
            #expect(error.description.contains(words), "\(error.description)")
            #expect(error.description.count < 200, "the message quotes a bounded part of the input")
            #expect(!error.description.contains("\n"), "control characters are not echoed")
        }
    }

    @Test func trustedProxiesFromTheCommandLineForm() throws {
        let proxies = try TrustedProxies(parsing: ["127.0.0.1", "10.0.0.0/8", "::1"])
        #expect(proxies.trusts(IPAddress("10.1.1.1")!) && proxies.trusts(IPAddress("::1")!))
        #expect(!proxies.trusts(IPAddress("127.0.0.2")!))
        #expect(proxies.description == "127.0.0.1, 10.0.0.0/8, ::1")
        #expect(TrustedProxies().isEmpty && TrustedProxies().description == "nobody")
        #expect(throws: IPAddressRange.ParseError.self) { try TrustedProxies(parsing: ["127.0.0.1", "1.2.3.999"]) }
    }
}
