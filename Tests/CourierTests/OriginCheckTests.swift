import Courier
import CourierTesting
import Synchronization
import Testing

/// OriginCheck as a browser meets it: another site's page cannot change anything (403, the
/// route never runs), this site's pages and clients that name no origin can.
@Suite struct OriginCheckTests {
    /// Counts the requests that reached the route, so a test sees a refusal changed nothing.
    final class Counter: Sendable {
        private let count = Atomic<Int>(0)
        func increment() { count.add(1, ordering: .relaxed) }
        var value: Int { count.load(ordering: .relaxed) }
    }

    static func app(_ counter: Counter, check: OriginCheck = OriginCheck()) -> Application {
        let app = Application()
        app.use(check)
        for method in [HTTPMethod.get, .post, .put, .patch, .delete] {
            app.on(method, "/thing") { _, response in
                counter.increment()
                response.write("done")
            }
        }
        return app
    }

    @Test func aPostFromThisSitesPagePasses() async throws {
        let counter = Counter()
        try await Self.app(counter).test(.live) { client in
            let own = "http://127.0.0.1:\(client.port)"
            for headers: HTTPHeaders in [["Origin": own], ["Referer": own + "/page?g=1"], ["Origin": "HTTP://127.0.0.1:\(client.port)"]] {
                let response = try await client.post("/thing", headers: headers)
                #expect(response.status == 200, "\(headers)")
            }
        }
        #expect(counter.value == 3)
    }

    @Test(arguments: ["http://evil.example", "https://evil.example", "http://127.0.0.1", "http://127.0.0.1:1",
                      "http://127.0.0.1.evil.example", "null", "file://", "chrome-extension://abcdef",
                      "http://evil.example@127.0.0.1", "http://127.0.0.1:PORT http://evil.example", "garbage"])
    func aPostFromAnotherOriginIsRefused(_ origin: String) async throws {
        let counter = Counter()
        try await Self.app(counter).test(.live) { client in
            let named = origin.replacingOccurrences(of: "PORT", with: "\(client.port)")
            let response = try await client.post("/thing", headers: ["Origin": named])
            #expect(response.status == 403)
            #expect(response.text.hasPrefix("Cross-site request refused: a POST "))
        }
        #expect(counter.value == 0, "the refused request changed nothing")
    }

    @Test func theRefusalNamesTheOtherSite() async throws {
        try await Self.app(Counter()).test(.live) { client in
            let response = try await client.post("/thing", headers: ["Origin": "http://evil.example"])
            #expect(response.text == "Cross-site request refused: a POST from http://evil.example may not change anything here.\n")
            let null = try await client.post("/thing", headers: ["Origin": "null"])
            #expect(null.text.contains("opaque origin (Origin: null)"))
        }
    }

    @Test func twoOriginHeadersAreRefused() async throws {
        let counter = Counter()
        try await Self.app(counter).test(.live) { client in
            let own = "http://127.0.0.1:\(client.port)"
            let response = try await client.post("/thing", headers: HTTPHeaders([("Origin", own), ("Origin", own)]))
            #expect(response.status == 403)
        }
        #expect(counter.value == 0)
    }

    @Test(arguments: ["http://evil.example/page", "https://evil.example/", "http://127.0.0.1:1/", "about:blank",
                      "android-app://com.evil/"])
    func withoutOriginTheReferersSiteIsChecked(_ referer: String) async throws {
        let counter = Counter()
        try await Self.app(counter).test(.live) { client in
            let response = try await client.post("/thing", headers: ["Referer": referer])
            #expect(response.status == 403)
            #expect(response.text.hasPrefix("Cross-site request refused:"))
        }
        #expect(counter.value == 0)
    }

    /// Origin wins over Referer: a browser's Origin is the page that sent the request.
    @Test func originIsCheckedBeforeReferer() async throws {
        try await Self.app(Counter()).test(.live) { client in
            let own = "http://127.0.0.1:\(client.port)"
            let evilOrigin = try await client.post("/thing", headers: ["Origin": "http://evil.example", "Referer": own + "/"])
            #expect(evilOrigin.status == 403)
            let ownOrigin = try await client.post("/thing", headers: ["Origin": own, "Referer": "http://evil.example/"])
            #expect(ownOrigin.status == 200)
        }
    }

    @Test(arguments: [HTTPMethod.put, .patch, .delete])
    func everyStateChangingMethodIsChecked(_ method: HTTPMethod) async throws {
        let counter = Counter()
        try await Self.app(counter).test(.live) { client in
            let refused = try await client.execute(method, "/thing", headers: ["Origin": "http://evil.example"])
            #expect(refused.status == 403)
            #expect(refused.text.contains("a \(method.rawValue) from http://evil.example"))
            let own = try await client.execute(method, "/thing", headers: ["Origin": "http://127.0.0.1:\(client.port)"])
            #expect(own.status == 200)
        }
        #expect(counter.value == 1)
    }

    /// A GET changes nothing, and cross-site GETs are how links and images work.
    @Test func aGetFromAnotherSitePasses() async throws {
        let counter = Counter()
        try await Self.app(counter).test(.live) { client in
            let response = try await client.get("/thing", headers: ["Origin": "http://evil.example",
                                                                    "Referer": "http://evil.example/"])
            #expect(response.status == 200)
        }
        #expect(counter.value == 1)
    }

    @Test func aPostNamingNoOriginPassesUnlessStrict() async throws {
        let counter = Counter()
        try await Self.app(counter).test(.live) { client in
            let response = try await client.post("/thing")
            #expect(response.status == 200, "curl, a test, an old browser")
        }
        #expect(counter.value == 1)
        try await Self.app(counter, check: OriginCheck(strict: true)).test(.live) { client in
            let response = try await client.post("/thing")
            #expect(response.status == 403)
            #expect(response.text.contains("must carry an Origin or Referer header naming this site"))
            #expect(try await client.post("/thing", headers: ["Origin": "http://127.0.0.1:\(client.port)"]).status == 200)
        }
        #expect(counter.value == 2)
    }

    @Test func trustedOriginsPass() async throws {
        let counter = Counter()
        let check = OriginCheck(trustedOrigins: ["https://admin.example.com", "http://localhost:3000/"])
        try await Self.app(counter, check: check).test(.live) { client in
            let passing: [HTTPHeaders] = [["Origin": "https://admin.example.com"], ["Origin": "https://ADMIN.example.com:443"],
                                          ["Origin": "http://localhost:3000"], ["Referer": "https://admin.example.com/x"]]
            for headers in passing {
                let response = try await client.post("/thing", headers: headers)
                #expect(response.status == 200, "\(headers)")
            }
            for origin in ["http://admin.example.com", "https://admin.example.com:8443", "http://localhost:3001"] {
                let response = try await client.post("/thing", headers: ["Origin": origin])
                #expect(response.status == 403, "\(origin)")
            }
        }
        #expect(counter.value == 4)
    }

    @Test func aTrustedOriginThatIsNoOriginStopsTheAppFromStarting() {
        let app = Self.app(Counter(), check: OriginCheck(trustedOrigins: ["admin.example.com"]))
        let error = #expect(throws: ApplicationError.self) { _ = try app.responder() }
        #expect(error?.description.contains("admin.example.com") == true)
    }

    /// The request's own `Host`: a port only when it names one, the scheme's default otherwise,
    /// and IPv6 literals in brackets.
    @Test(arguments: [
        ("example.com", "https://example.com", 200), ("example.com", "http://example.com", 200),
        ("example.com", "http://example.com:8080", 403), ("example.com:8080", "http://example.com:8080", 200),
        ("example.com:8080", "http://example.com", 403), ("Example.COM", "https://example.com", 200),
        ("example.com:443", "https://example.com", 200), ("[::1]:8080", "http://[::1]:8080", 200),
        ("[::1]:8080", "http://[::2]:8080", 403), ("example.com", "http://example.com.evil.example", 403),
    ])
    func theOriginIsComparedWithTheHost(_ host: String, _ origin: String, _ status: Int) async throws {
        try await Self.app(Counter()).test(.inProcess) { client in
            let response = try await client.post("/thing", headers: ["Host": host, "Origin": origin])
            #expect(response.status == status)
        }
    }
}
