import CourierHTTP
import Testing

/// RFC 9112 §3.2: the four forms of request target, and the Host field's value.
@Suite struct RequestTargetTests {
    static let refused: [RejectionCase] = [
        RejectionCase("a path without its slash", "GET hello HTTP/1.1\r\nHost: a\r\n\r\n"),
        RejectionCase("a fragment", "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n"),
        RejectionCase("a fragment in the query", "GET /a?x=1#b HTTP/1.1\r\nHost: a\r\n\r\n"),
        RejectionCase("asterisk-form with GET", "GET * HTTP/1.1\r\nHost: a\r\n\r\n"),
        RejectionCase("an absolute URI of another scheme", "GET ftp://a/b HTTP/1.1\r\nHost: a\r\n\r\n"),
        RejectionCase("an absolute URI without a host", "GET http:///b HTTP/1.1\r\nHost: a\r\n\r\n"),
        RejectionCase("a Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n"),
        RejectionCase("a Host with userinfo", "GET / HTTP/1.1\r\nHost: user@a\r\n\r\n"),
        RejectionCase("a Host with a path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"),
        RejectionCase("a Host with a quote", "GET / HTTP/1.1\r\nHost: \"a\"\r\n\r\n"),
    ]

    @Test(arguments: refused)
    func malformedTargetsAndHostsAreRefused(_ bad: RejectionCase) {
        expectRejection(bad.bytes, status: bad.status)
    }

    /// "A server MUST accept the absolute-form in requests": it reaches the app as its path.
    @Test(arguments: [("http://example.com/a/b?x=1", "/a/b?x=1"), ("HTTP://Example.com:8080/", "/"),
                      ("https://example.com", "/"), ("http://example.com?q", "/?q"), ("/plain?x", "/plain?x")])
    func absoluteFormBecomesAPath(target: String, expected: String) throws {
        let outcome = parse("GET \(target) HTTP/1.1\r\nHost: example.com\r\n\r\n")
        #expect(outcome.error == nil)
        #expect(outcome.requests.first?.target == expected)
    }

    @Test func asteriskFormIsForOptionsOnly() {
        #expect(parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").requests.first?.target == "*")
    }

    @Test(arguments: ["example.com", "example.com:8080", "127.0.0.1:80", "[::1]:8080", "xn--bcher-kva.example", "a_b.example", ""])
    func validHostsAreAccepted(host: String) {
        let outcome = parse("GET / HTTP/1.1\r\nHost: \(host)\r\n\r\n")
        #expect(outcome.error == nil, "\(host)")
        #expect(outcome.requests.count == 1)
    }
}
