import Courier
import CourierTesting
import Testing

/// RFC 9110's method rules as a client sees them, and DESIGN.md's order of assembly.
@Suite struct ProtocolEdgeTests {
    private func app() -> Application {
        let app = Application()
        app.get("/thing") { _, response in response.write("thing") }
        app.post("/thing") { _, response in response.status = .created }
        return app
    }

    /// RFC 9110 §9.3.7: OPTIONS on a route that does not handle it says which methods it takes.
    @Test(arguments: bothModes)
    func optionsListsARoutesMethods(mode: TestMode) async throws {
        try await app().test(mode) { client throws in
            let response = try await client.execute(.options, "/thing")
            #expect(response.status == 204)
            #expect(response.tokens("Allow") == ["GET", "HEAD", "POST", "OPTIONS"])
            #expect(try await client.execute(.options, "/nothing-here").status == 404)
        }
    }

    @Test(arguments: bothModes)
    func optionsAsteriskDescribesTheServer(mode: TestMode) async throws {
        try await app().test(mode) { client throws in
            let response = try await client.execute(.options, "*")
            #expect(response.status == 204)
            #expect(response.tokens("Allow").isSuperset(of: ["GET", "HEAD", "POST", "OPTIONS"]))
        }
    }

    /// RFC 9110 §9.1: a method the server does not know is 501, one it knows but the route
    /// does not take is 405.
    @Test(arguments: bothModes)
    func anUnknownMethodIs501(mode: TestMode) async throws {
        try await app().test(mode) { client throws in
            #expect(try await client.execute(HTTPMethod("BREW"), "/thing").status == 501)
            #expect(try await client.execute(HTTPMethod("BREW"), "/nothing-here").status == 501)
            let known = try await client.execute(.put, "/thing")
            #expect(known.status == 405)
            #expect(known.tokens("Allow") == ["GET", "HEAD", "POST"])
        }
    }

    /// "A server MUST accept the absolute-form in requests" (RFC 9112 §3.2.2).
    @Test func absoluteFormReachesTheRoute() async throws {
        try await app().test(.live) { client throws in
            let raw = try RawClient(port: client.port)
            raw.send("GET http://127.0.0.1:\(client.port)/thing HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            let response = try raw.readResponse()
            #expect(response.status == 200 && response.text == "thing")
        }
    }

    /// DESIGN.md adds its routes first and its middleware after: the middleware still wraps
    /// every route, and its own routes win over a broad app route added before them.
    @Test(arguments: bothModes)
    func middlewareAddedAfterTheRoutesWrapsThem(mode: TestMode) async throws {
        let app = Application()
        app.get("/plain") { _, response in response.write("plain") }
        app.get("/<anything:.*>") { _, response in response.write("catch-all") }
        app.use(Health())
        try await app.test(mode) { client throws in
            let plain = try await client.get("/plain")
            #expect(plain.text == "plain" && plain.headers["X-Health-Checked"] == "yes")
            #expect(try await client.get("/_health").text == "ok")
            #expect(try await client.get("/elsewhere").text == "catch-all")
        }
    }

    /// webapp2's `self.redirect(uri)`.
    @Test(arguments: bothModes)
    func redirectTakesTheLocationUnlabelled(mode: TestMode) async throws {
        let app = Application()
        app.get("/old") { _, response in response.redirect("/new") }
        try await app.test(mode) { client throws in
            let response = try await client.get("/old")
            #expect(response.status == 302 && response.headers["Location"] == "/new")
        }
    }
}
