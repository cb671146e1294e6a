import Courier
import CourierTesting
import Foundation
import Testing

/// A server behind a TLS-terminating proxy, over real loopback sockets: connections from
/// 127.0.0.1 are the trusted proxy, connections from 127.0.0.2 a stranger reaching the server
/// directly. The proxy's `X-Forwarded-*` and `Forwarded` fields change the client address, the
/// scheme, the absolute URLs and the session cookie's `Secure`; the stranger's change nothing.
@Suite struct TrustedProxyTests {
    /// What the app saw of a request, as a route answers it.
    struct Seen: Codable, Equatable {
        var client: String
        var scheme: String
        var secure: Bool
        var host: String
        var baseURL: String
        var remote: String
    }

    static func makeApp() -> Application {
        let app = Application()
        app.use(Users(secret: Array(repeating: 7, count: 32)))
        app.get("/whoami") { request, response in
            try response.json(Seen(client: request.clientAddress, scheme: request.scheme, secure: request.isSecure,
                                   host: request.host, baseURL: request.baseURL, remote: request.remoteAddress))
        }
        return app
    }

    static func configuration(trusting proxies: [String]) throws -> ServerConfiguration {
        ServerConfiguration(host: "127.0.0.1", port: 0, workers: 1, trustedProxies: try TrustedProxies(parsing: proxies))
    }

    func whoami(_ client: TestClient, _ headers: HTTPHeaders = HTTPHeaders()) async throws -> Seen {
        let response = try await client.get("/whoami", headers: headers)
        #expect(response.status == 200)
        return try JSONDecoder().decode(Seen.self, from: Data(response.body))
    }

    static let forwarded: HTTPHeaders = ["X-Forwarded-For": "6.6.6.6, 203.0.113.7", "X-Forwarded-Proto": "https",
                                         "X-Forwarded-Host": "game.example:8443"]

    @Test func theTrustedProxyIsBelievedAndTheStrangerIsNot() async throws {
        try await Self.makeApp().test(.live, configuration: try Self.configuration(trusting: ["127.0.0.1"])) { proxy in
            let throughProxy = try await whoami(proxy, Self.forwarded)
            #expect(throughProxy.client == "203.0.113.7")
            #expect(throughProxy.scheme == "https" && throughProxy.secure)
            #expect(throughProxy.host == "game.example:8443")
            #expect(throughProxy.baseURL == "https://game.example:8443")
            #expect(throughProxy.remote.hasPrefix("127.0.0.1:"), "the peer is still the proxy: \(throughProxy.remote)")

            // The same fields sent straight to the server by someone else: ignored.
            let stranger = TestClient(port: proxy.port, from: "127.0.0.2")
            let direct = try await whoami(stranger, Self.forwarded)
            #expect(direct.client == "127.0.0.2")
            #expect(direct.scheme == "http" && !direct.secure)
            #expect(direct.host == "127.0.0.1:\(proxy.port)")
            #expect(direct.baseURL == "http://127.0.0.1:\(proxy.port)")
            let spoofed = try await whoami(stranger, ["Forwarded": "for=1.2.3.4;proto=https;host=bank.example"])
            #expect(spoofed.client == "127.0.0.2" && spoofed.scheme == "http" && spoofed.host == "127.0.0.1:\(proxy.port)")

            // RFC 7239 from the proxy, IPv6 quoted in brackets.
            let rfc7239 = try await whoami(proxy, ["Forwarded": #"for="[2001:db8:cafe::17]:4711";proto=https;host=game.example"#])
            #expect(rfc7239.client == "2001:db8:cafe::17" && rfc7239.secure && rfc7239.baseURL == "https://game.example")
            // No forwarding fields from the proxy: the proxy is the client, over HTTP.
            let plain = try await whoami(proxy)
            #expect(plain.client == "127.0.0.1" && plain.scheme == "http")
        }
    }

    @Test func nobodyIsTrustedByDefault() async throws {
        try await Self.makeApp().test(.live) { client in
            let seen = try await whoami(client, Self.forwarded)
            #expect(seen.client == "127.0.0.1" && seen.scheme == "http" && seen.host == "127.0.0.1:\(client.port)")
        }
    }

    @Test func theSessionCookieIsSecureExactlyWhenTheSignInCameOverHTTPS() async throws {
        try await Self.makeApp().test(.live, configuration: try Self.configuration(trusting: ["127.0.0.0/31"])) { proxy in
            func signIn(_ client: TestClient, _ headers: HTTPHeaders) async throws -> String {
                let response = try await client.post("/_ah/login", form: [("email", "ada@example.com"), ("action", "Login"),
                                                                         ("continue", "/")], headers: headers)
                #expect(response.status == 302)
                return try #require(response.headers["Set-Cookie"])
            }
            func attributes(_ cookie: String) -> Set<String> {
                Set(cookie.split(separator: ";").dropFirst().map { $0.trimmingCharacters(in: .whitespaces) })
            }
            #expect(attributes(try await signIn(proxy, ["X-Forwarded-Proto": "https"])).contains("Secure"))
            #expect(attributes(try await signIn(proxy, ["Forwarded": "for=203.0.113.7;proto=https"])).contains("Secure"))
            #expect(!attributes(try await signIn(proxy, [:])).contains("Secure"))
            #expect(!attributes(try await signIn(proxy, ["X-Forwarded-Proto": "http"])).contains("Secure"))
            // 127.0.0.1 is in 127.0.0.0/31, 127.0.0.2 is not: its https claim makes nothing Secure.
            let stranger = TestClient(port: proxy.port, from: "127.0.0.2")
            #expect(!attributes(try await signIn(stranger, ["X-Forwarded-Proto": "https"])).contains("Secure"))
            // Signing out over HTTPS clears the cookie with a Secure one too (a browser would not
            // let a plain one replace it).
            let out = try await proxy.get("/_ah/logout?continue=/", headers: ["X-Forwarded-Proto": "https"])
            #expect(attributes(try #require(out.headers["Set-Cookie"])).contains("Secure"))
        }
    }

    /// What a proxy passes on unchanged from a hostile client: the server answers, names the
    /// client `unknown` where it cannot tell, never claims HTTPS it cannot vouch for, and serves
    /// the next request on the same connection.
    @Test func hostileForwardingFieldsFromBehindTheProxy() async throws {
        try await Self.makeApp().test(.live, configuration: try Self.configuration(trusting: ["127.0.0.1"])) { proxy in
            let garbage = String(repeating: "x,", count: 6000)
            let cases: [(HTTPHeaders, String)] = [
                (["X-Forwarded-For": garbage], "unknown"),
                (["X-Forwarded-For": String(repeating: "10.0.0.1,", count: 1500) + "203.0.113.7"], "unknown"),
                (["X-Forwarded-For": "1.2.3.999"], "unknown"),
                (["X-Forwarded-For": "::ffff:999.1.1.1"], "unknown"),
                (["X-Forwarded-For": "[::1"], "unknown"),
                (["Forwarded": "for=\"" + String(repeating: "\\\"", count: 5000)], "unknown"),
                (["Forwarded": "for=1.2.3.4;for=5.6.7.8;proto=https"], "unknown"),
                (["Forwarded": String(repeating: "for=10.0.0.1,", count: 900)], "unknown"),
                (HTTPHeaders((0..<40).map { ("X-Forwarded-For", "10.0.0.\($0)") }), "10.0.0.39"),
            ]
            for (headers, client) in cases {
                let seen = try await whoami(proxy, headers)
                #expect(seen.client == client, "\(headers.description.prefix(60))")
                #expect(seen.scheme == "http")
            }
            let after = try await whoami(proxy, Self.forwarded)
            #expect(after.client == "203.0.113.7")
        }
    }
}
