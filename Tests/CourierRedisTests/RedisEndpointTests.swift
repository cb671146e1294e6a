import CourierRedis
import Testing

@Suite struct RedisEndpointTests {
    @Test func defaultsArePort6379AndDatabase0() throws {
        let endpoint = try RedisEndpoint(url: "redis://localhost")
        #expect(endpoint.host == "localhost")
        #expect(endpoint.port == 6379)
        #expect(endpoint.database == 0)
        #expect(endpoint.password == nil)
        #expect(try RedisEndpoint(url: "redis://cache.internal/").database == 0)
    }

    @Test func everyPartIsRead() throws {
        let endpoint = try RedisEndpoint(url: "redis://:s3cr%40t@10.0.0.7:6380/15")
        #expect(endpoint.host == "10.0.0.7")
        #expect(endpoint.port == 6380)
        #expect(endpoint.database == 15)
        #expect(endpoint.username == nil)
        #expect(endpoint.password == "s3cr@t")
        let withUser = try RedisEndpoint(url: "REDIS://app:pw@redis-1.example.com:1/0")
        #expect(withUser.username == "app")
        #expect(withUser.password == "pw")
        #expect(withUser.port == 1)
        #expect(try RedisEndpoint(url: "redis://h:65535").port == 65535)
        #expect(try RedisEndpoint(url: "redis://h:06379/07").port == 6379)
    }

    @Test func ipv6GoesInBrackets() throws {
        let endpoint = try RedisEndpoint(url: "redis://[::1]:6390/2")
        #expect(endpoint.host == "::1")
        #expect(endpoint.port == 6390)
        #expect(endpoint.database == 2)
        #expect(endpoint.description == "redis://[::1]:6390/2")
        #expect(throws: RedisError.self) { try RedisEndpoint(url: "redis://::1:6379") }
        #expect(throws: RedisError.self) { try RedisEndpoint(url: "redis://[::1") }
        #expect(throws: RedisError.self) { try RedisEndpoint(url: "redis://[zz::1]") }
        #expect(throws: RedisError.self) { try RedisEndpoint(url: "redis://[::1]x") }
    }

    @Test func theDescriptionHidesThePassword() throws {
        let endpoint = try RedisEndpoint(url: "redis://:hunter2@h:7000/3")
        #expect(endpoint.description == "redis://:***@h:7000/3")
        #expect(!endpoint.description.contains("hunter2"))
    }

    /// Each refused with a message naming the problem; none may wrap around into range.
    @Test(arguments: [
        ("redis://h:0", "port 0 is outside 1...65535"),
        ("redis://h:65536", "port 65536 is outside 1...65535"),
        ("redis://h:99999999999999999999999", "port 99999999999999999999999 is outside 1...65535"),
        ("redis://h:18446744073709551617", "is outside 1...65535"),
        ("redis://h:-1", "the port must be digits"),
        ("redis://h:+1", "the port must be digits"),
        ("redis://h:0x10", "the port must be digits"),
        ("redis://h:1e3", "the port must be digits"),
        ("redis://h:", "the port must be digits"),
        ("redis://h:６３７９", "non-ASCII"),
        ("redis://h:80 ", "space or control"),
        ("redis://h/16", "database 16 is outside 0...15"),
        ("redis://h/999", "database 999 is outside 0...15"),
        ("redis://h/9223372036854775808", "is outside 0...15"),
        ("redis://h/-1", "the database must be a number"),
        ("redis://h/1/2", "the database must be a number"),
        ("redis://h/db", "the database must be a number"),
        ("redis://", "the host is empty"),
        ("redis://:6379", "the host is empty"),
        ("redis://h?timeout=1", "query and fragment"),
        ("redis://h#x", "query and fragment"),
        ("rediss://h", "TLS"),
        ("http://h", "redis://"),
        ("h:6379", "redis://"),
        ("", "redis://"),
        ("redis://pass@h", "credentials without a colon"),
        ("redis://:@h", "an empty password"),
        ("redis://:%zz@h", "percent-escape"),
        ("redis://:%4@h", "percent-escape"),
        ("redis://:%ff@h", "percent-escape"),
        ("redis://h\u{0}", "space or control"),
        ("redis://h\r\n:1", "space or control"),
        ("redis://a_b!c", "is not a host name"),
        ("redis://" + String(repeating: "a", count: 254), "longer than 253"),
    ])
    func malformedURLsAreRefused(url: String, expected: String) {
        do {
            let endpoint = try RedisEndpoint(url: url)
            Issue.record("accepted \(url) as \(endpoint)")
        } catch {
            guard case .invalidEndpoint(let reason) = error else {
                Issue.record("wrong error \(error)")
                return
            }
            #expect(reason.contains(expected), "\(reason)")
        }
    }

    @Test func errorsNeverShowThePassword() {
        do {
            _ = try RedisEndpoint(url: "redis://:topsecret@h:70000")
            Issue.record("accepted")
        } catch {
            #expect(!error.description.contains("topsecret"))
            #expect(error.description.contains("70000"))
        }
    }

    @Test func theMemberwiseInitChecksRangesToo() {
        #expect(throws: RedisError.self) { try RedisEndpoint(host: "h", port: 0) }
        #expect(throws: RedisError.self) { try RedisEndpoint(host: "h", port: Int.max) }
        #expect(throws: RedisError.self) { try RedisEndpoint(host: "h", port: Int.min) }
        #expect(throws: RedisError.self) { try RedisEndpoint(host: "h", database: -1) }
        #expect(throws: RedisError.self) { try RedisEndpoint(host: "h", database: 16) }
        #expect(throws: RedisError.self) { try RedisEndpoint(host: "", port: 1) }
        #expect(throws: RedisError.self) { try RedisEndpoint(host: "h", username: "u") }
        #expect(throws: RedisError.self) { try RedisEndpoint(host: "h h") }
    }
}
