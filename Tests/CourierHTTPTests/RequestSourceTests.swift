@testable import CourierHTTP
import Testing

/// Who a request came from, as `RequestSource` decides it from the TCP peer, the trusted proxies
/// and the forwarding fields: believed only from a trusted peer, the nearest untrusted hop is
/// the client, and anything malformed gives `unknown`, never a forged address or `https`.
@Suite struct RequestSourceTests {
    let proxies = try! TrustedProxies(parsing: ["127.0.0.1", "10.0.0.0/8", "::1"])

    func source(peer: String = "127.0.0.1:50000", _ fields: [(String, String)]) -> RequestSource {
        RequestSource(peer: peer, headers: HTTPHeaders(fields), trusting: proxies)
    }

    @Test func aDirectPeerIsItsOwnClientOverHTTP() {
        #expect(RequestSource(peer: "203.0.113.7:443") == RequestSource(clientAddress: "203.0.113.7", scheme: "http", host: nil))
        #expect(RequestSource(peer: "[2001:db8::7]:8080").clientAddress == "2001:db8::7")
        #expect(RequestSource(peer: "in-process").clientAddress == "in-process")
        #expect(RequestSource(peer: "unknown").clientAddress == "unknown")
    }

    @Test func anUntrustedPeerChangesNothingWhateverItSends() {
        let spoofed: [(String, String)] = [("X-Forwarded-For", "1.2.3.4"), ("X-Forwarded-Proto", "https"),
                                           ("X-Forwarded-Host", "bank.example"), ("Forwarded", "for=1.2.3.4;proto=https;host=bank.example")]
        for peer in ["127.0.0.2:1234", "203.0.113.7:1", "[2001:db8::1]:2", "11.0.0.1:3"] {
            #expect(source(peer: peer, spoofed) == RequestSource(peer: peer), "\(peer)")
        }
        // Nobody trusted (the default): not even loopback.
        let untrusting = RequestSource(peer: "127.0.0.1:5", headers: HTTPHeaders(spoofed), trusting: TrustedProxies())
        #expect(untrusting == RequestSource(clientAddress: "127.0.0.1"))
    }

    @Test func xForwardedForIsWalkedFromTheRightPastTrustedHops() {
        #expect(source([("X-Forwarded-For", "203.0.113.7")]).clientAddress == "203.0.113.7")
        // A client's own forged entry sits left of the address nginx appended: never reached.
        #expect(source([("X-Forwarded-For", "6.6.6.6, 203.0.113.7")]).clientAddress == "203.0.113.7")
        // Our own inner proxies are skipped.
        #expect(source([("X-Forwarded-For", "6.6.6.6, 203.0.113.7, 10.1.2.3, 10.0.0.9")]).clientAddress == "203.0.113.7")
        // Several lines are one list, in order.
        #expect(source([("X-Forwarded-For", "6.6.6.6"), ("x-forwarded-for", "203.0.113.7 ,10.0.0.1")]).clientAddress == "203.0.113.7")
        // Every hop trusted: the farthest is the client.
        #expect(source([("X-Forwarded-For", "10.0.0.5, 127.0.0.1")]).clientAddress == "10.0.0.5")
        // Ports and brackets as some balancers write them; IPv6 canonical.
        #expect(source([("X-Forwarded-For", "203.0.113.7:4711")]).clientAddress == "203.0.113.7")
        #expect(source([("X-Forwarded-For", "[2001:DB8::7]:4711")]).clientAddress == "2001:db8::7")
        #expect(source([("X-Forwarded-For", "2001:db8::7")]).clientAddress == "2001:db8::7")
        #expect(source(peer: "[::1]:9", [("X-Forwarded-For", "::ffff:203.0.113.7")]).clientAddress == "203.0.113.7")
        // Garbage or a hidden client at the nearest untrusted hop: unknown, not the hop before it.
        #expect(source([("X-Forwarded-For", "1.2.3.4, not-an-ip")]).clientAddress == "unknown")
        #expect(source([("X-Forwarded-For", "1.2.3.4, unknown")]).clientAddress == "unknown")
        #expect(source([("X-Forwarded-For", "1.2.3.4, 1.2.3.999")]).clientAddress == "unknown")
        // Only the scheme sent: the peer stays the client.
        #expect(source([("X-Forwarded-Proto", "https")]) == RequestSource(clientAddress: "127.0.0.1", scheme: "https"))
    }

    /// Found by FuzzForwarded: a hop whose only ":" carries a combining mark is one Character
    /// that is not ":", and splitting Characters to find the port trapped (a remote kill behind
    /// any proxy that appends the client's X-Forwarded-For). Hops are split on bytes now.
    @Test(arguments: ["1.2.3.4:\u{301}", "1.2.3.4:\u{301}80", ":\u{301}", "_a:\u{301}", "1.2.3.4\u{301}:80", "[::1]:\u{301}"])
    func aColonWithACombiningMarkIsUnknownNotATrap(hop: String) {
        #expect(source([("X-Forwarded-For", hop)]).clientAddress == "unknown")
        #expect(source([("Forwarded", "for=\"\(hop)\"")]).clientAddress == "unknown")
    }

    @Test func schemeAndHostFromXForwarded() {
        let behindNginx = source([("Host", "127.0.0.1:8080"), ("X-Forwarded-For", "203.0.113.7"),
                                  ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "game.example:8443")])
        #expect(behindNginx == RequestSource(clientAddress: "203.0.113.7", scheme: "https", host: "game.example:8443"))
        #expect(behindNginx.isSecure)
        #expect(source([("X-Forwarded-Proto", "HTTPS")]).scheme == "https")
        for bad in ["ftp", "https ;", "javascript", "", "httpss", "wss"] {
            #expect(source([("X-Forwarded-Proto", bad)]).scheme == "http", "\(bad)")
        }
        // A list parallel to the hops is read at the client's hop; otherwise the last value is
        // the nearest proxy's own.
        #expect(source([("X-Forwarded-For", "203.0.113.7, 10.0.0.2"), ("X-Forwarded-Proto", "https, http")]).scheme == "https")
        #expect(source([("X-Forwarded-For", "6.6.6.6, 203.0.113.7"), ("X-Forwarded-Proto", "https")]).scheme == "https")
        #expect(source([("X-Forwarded-For", "6.6.6.6, 203.0.113.7"), ("X-Forwarded-Proto", "https, http, https")]).scheme == "https")
        #expect(source([("X-Forwarded-For", "6.6.6.6, 203.0.113.7"), ("X-Forwarded-Proto", "https, http")]).scheme == "http")
        for bad in ["bad host", "evil.example/path", "a@b", "\"quoted\"", String(repeating: "a", count: 300), "ex\u{e9}mple.com"] {
            #expect(source([("X-Forwarded-Host", bad)]).host == nil, "\(bad.prefix(20))")
        }
        #expect(source([("X-Forwarded-Host", "[2001:db8::1]:443")]).host == "[2001:db8::1]:443")
    }

    @Test func forwardedIsReadAsRFC7239Writes() {
        #expect(source([("Forwarded", "for=203.0.113.7;proto=https;host=game.example")])
                == RequestSource(clientAddress: "203.0.113.7", scheme: "https", host: "game.example"))
        #expect(source([("Forwarded", #"For="[2001:db8:cafe::17]:4711""#)]).clientAddress == "2001:db8:cafe::17")
        #expect(source([("Forwarded", #"for="203.0.113.7:4711";proto=HTTPS"#)]) == RequestSource(clientAddress: "203.0.113.7", scheme: "https"))
        #expect(source([("Forwarded", "for=_hidden, for=_SEVKISEK")]).clientAddress == "_SEVKISEK")
        #expect(source([("Forwarded", "for=unknown;proto=https")]) == RequestSource(clientAddress: "unknown", scheme: "https"))
        // From the right past our own proxies; each hop's proto and host describe what it was asked.
        let chain = source([("Forwarded", "for=6.6.6.6;proto=https;host=forged.example, for=203.0.113.7;proto=https;host=game.example"),
                            ("Forwarded", "for=10.0.0.4;proto=http;host=inner.local")])
        #expect(chain == RequestSource(clientAddress: "203.0.113.7", scheme: "https", host: "game.example"))
        // Quoted commas and semicolons, escapes, empty elements, "by" and extensions.
        #expect(source([("Forwarded", #"for=203.0.113.7;by="x,;y";ext="a\"b", , ;"#)]).clientAddress == "203.0.113.7")
        // An element without for= hides its client.
        #expect(source([("Forwarded", "proto=https")]) == RequestSource(clientAddress: "unknown", scheme: "https"))
        // The X-Forwarded family, when the proxy sent any, is read instead (one family, never mixed).
        #expect(source([("Forwarded", "for=6.6.6.6;proto=https"), ("X-Forwarded-For", "203.0.113.7")])
                == RequestSource(clientAddress: "203.0.113.7"))
    }

    @Test(arguments: [
        #"for="203.0.113.7"#, "for=203.0.113.7;for=1.2.3.4", "for", "for=", "=1.2.3.4", "for =1.2.3.4", "for= 1.2.3.4",
        "for=203.0.113.7 proto=https", #"for="a\"#, "for=\u{1}", "for=[::1]", "for=1.2.3.4:80", #"for="\#u{7f}""#,
        "f\u{f6}r=1.2.3.4", #"for="1.2.3.4"x"#,
    ])
    func aMalformedForwardedHidesTheClientAndClaimsNoTLS(value: String) {
        let result = source([("Forwarded", value + ";proto=https"), ("Forwarded", "for=203.0.113.7;proto=https")])
        #expect(result == RequestSource(clientAddress: "unknown"), "\(value)")
    }

    @Test func hugeListsAreRefusedBoundedNotWalked() {
        let many = (0..<5000).map { "10.0.\($0 / 256 % 256).\($0 % 256)" }.joined(separator: ",")
        #expect(source([("X-Forwarded-For", many)]).clientAddress == "unknown")
        #expect(source([("Forwarded", (0..<5000).map { _ in "for=10.0.0.1" }.joined(separator: ","))]).clientAddress == "unknown")
        // 64 hops is still a chain; empty elements do not count.
        let sixtyFour = (["203.0.113.7"] + Array(repeating: "10.0.0.1", count: 63)).joined(separator: ", ")
        #expect(source([("X-Forwarded-For", String(repeating: ",", count: 20_000) + sixtyFour)]).clientAddress == "203.0.113.7")
        #expect(source([("X-Forwarded-For", String(repeating: "9", count: 100_000))]).clientAddress == "unknown")
        #expect(source([("X-Forwarded-Host", String(repeating: "h", count: 100_000))]).host == nil)
        #expect(source([("Forwarded", "for=\"" + String(repeating: "\\\"", count: 50_000))]).clientAddress == "unknown")
    }
}
